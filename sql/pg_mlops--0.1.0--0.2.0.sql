-- pg_mlops 0.1.0 -> 0.2.0: job isolation and multi-role security.
--
-- Rows get owners and row-level security; sql jobs run in sessions of their own; external
-- workers' leases are fenced by a token; credentials and shared file areas are granted per
-- role; NOTIFY payloads carry ids and states only.  Existing rows are given to their owners:
-- a metric schedule to the role its pg_cron job runs as, results and values to the owner of
-- their model's schedule (else the extension's owner).  Functions whose signature changed
-- (heartbeat_job, complete_job, fail_job take the lease token) lose their grants: grant them
-- again, as the README's security section shows.

\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.2.0'" to load this file. \quit

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'mlops_admin') THEN
        CREATE ROLE mlops_admin NOLOGIN;
        COMMENT ON ROLE mlops_admin IS 'pg_mlops administrators: see every role''s jobs, schedules and values; use every credential and file area';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION mlops.is_admin(role oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) $1), false)
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a
                   WHERE a.rolname OPERATOR(pg_catalog.=) 'mlops_admin'
                     AND pg_catalog.pg_has_role($1, a.oid, 'MEMBER'))
$$;
COMMENT ON FUNCTION mlops.is_admin(oid) IS 'True for superusers and members of mlops_admin: pg_mlops administrators';

CREATE FUNCTION mlops.owns(owner oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.pg_has_role(mlops.calling_role(), $1, 'MEMBER') OR mlops.is_admin(mlops.calling_role())
$$;
COMMENT ON FUNCTION mlops.owns(oid) IS
'True when the calling role owns rows of that owner (it is that role or a member of it) or is an administrator: the row-level security rule';

COMMENT ON FUNCTION mlops.calling_role() IS
'The role the session acts as (after SET ROLE), unchanged inside SECURITY DEFINER functions: whose privileges a job gets and who owns what it writes';

-- Owners of existing rows.  A schedule belongs to the role its pg_cron job runs as.
ALTER TABLE mlops.metrics_executions ADD COLUMN owner regrole;
UPDATE mlops.metrics_executions e
SET owner = coalesce((SELECT r.oid FROM cron.job j JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) j.username
                      WHERE j.jobid OPERATOR(pg_catalog.=) e.cron_job_id),
                     (SELECT x.extowner FROM pg_catalog.pg_extension x WHERE x.extname OPERATOR(pg_catalog.=) 'pg_mlops'))::regrole;
ALTER TABLE mlops.metrics_executions ALTER COLUMN owner SET NOT NULL,
    ALTER COLUMN owner SET DEFAULT mlops.calling_role(),
    DROP CONSTRAINT metrics_executions_model_id_key,
    ADD CONSTRAINT metrics_executions_owner_model_key UNIQUE (owner, model_id);

-- Results and values belong to the owner of their model's schedule, else the extension's owner.
ALTER TABLE mlops.results ADD COLUMN owner regrole;
UPDATE mlops.results t
SET owner = coalesce((SELECT e.owner FROM mlops.metrics_executions e WHERE e.model_id OPERATOR(pg_catalog.=) t.model_id),
                     (SELECT x.extowner FROM pg_catalog.pg_extension x WHERE x.extname OPERATOR(pg_catalog.=) 'pg_mlops')::regrole);
ALTER TABLE mlops.results ALTER COLUMN owner SET NOT NULL, ALTER COLUMN owner SET DEFAULT mlops.calling_role();

ALTER TABLE mlops.metric_values ADD COLUMN owner regrole;
UPDATE mlops.metric_values t
SET owner = coalesce((SELECT e.owner FROM mlops.metrics_executions e WHERE e.model_id OPERATOR(pg_catalog.=) t.model_id),
                     (SELECT x.extowner FROM pg_catalog.pg_extension x WHERE x.extname OPERATOR(pg_catalog.=) 'pg_mlops')::regrole);
ALTER TABLE mlops.metric_values ALTER COLUMN owner SET NOT NULL, ALTER COLUMN owner SET DEFAULT mlops.calling_role();

ALTER TABLE mlops.results ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.metrics_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.metric_values ENABLE ROW LEVEL SECURITY;
CREATE POLICY results_owner ON mlops.results
    USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
CREATE POLICY metrics_executions_owner ON mlops.metrics_executions
    USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
CREATE POLICY metric_values_owner ON mlops.metric_values
    USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
COMMENT ON TABLE mlops.metrics_executions IS
'One metric schedule per model and owner: its cron expression, metric, source table and options, and the pg_cron job that runs it (as its owner)';

CREATE OR REPLACE FUNCTION mlops.metric_source(source regclass, options jsonb,
    OUT relation text, OUT model_column text, OUT y_true_column text, OUT y_pred_column text,
    OUT time_column text, OUT id_column text, OUT data_type text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    col text;
    typ text;
    names text[] := ARRAY['model_column', 'y_true_column', 'y_pred_column', 'time_column', 'id_column'];
    defaults text[] := ARRAY['model_id', 'y_true', 'y_pred', 'timestamp', 'id'];
    found_cols text[] := ARRAY[]::text[];
    types text[] := ARRAY[]::text[];
    kind "char";
    rel_owner oid;
BEGIN
    IF jsonb_typeof(options) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF NOT (k = ANY (names || ARRAY['pos_label', 'zero_division'])) THEN
            RAISE EXCEPTION 'unknown option "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Valid options are model_column, y_true_column, y_pred_column, time_column, id_column, pos_label and zero_division.';
        END IF;
    END LOOP;
    SELECT format('%I.%I', n.nspname, c.relname), c.relkind, c.relowner INTO relation, kind, rel_owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = source AND c.relkind IN ('r', 'p', 'v', 'm', 'f');
    IF relation IS NULL THEN
        RAISE EXCEPTION 'source % is not a table or view', source
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF kind = 'v' AND NOT pg_has_role(mlops.calling_role(), rel_owner, 'MEMBER') THEN
        RAISE EXCEPTION 'source % is a view of role %', relation, rel_owner::regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A view runs the functions it calls with the rights of whoever reads it: every run of the schedule would run them with yours.',
                  HINT = 'Point the schedule at a table, or at a view of your own.';
    END IF;
    FOR i IN 1 .. array_length(names, 1) LOOP
        IF options ? names[i] AND jsonb_typeof(options -> names[i]) IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'option % must be a column name (a JSON string)', names[i]
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        col := coalesce(options ->> names[i], defaults[i]);
        SELECT format_type(a.atttypid, NULL) INTO typ
        FROM pg_attribute a
        WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        IF typ IS NULL THEN
            RAISE EXCEPTION 'source % has no column "%" (%)', relation, col, names[i]
                USING ERRCODE = 'undefined_column',
                      HINT = format('Name the column with options => ''{"%s": "..."}''.', names[i]);
        END IF;
        found_cols := found_cols || quote_ident(col);
        types := types || typ;
    END LOOP;
    IF types[2] NOT IN ('json', 'jsonb') OR types[3] <> types[2] THEN
        RAISE EXCEPTION 'columns % and % of % must both be json or both jsonb, not % and %',
            found_cols[2], found_cols[3], relation, types[2], types[3]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF types[1] <> 'uuid' THEN
        RAISE EXCEPTION 'model column % of % must be uuid, not %', found_cols[1], relation, types[1]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF types[4] NOT IN ('timestamp without time zone', 'timestamp with time zone', 'date') THEN
        RAISE EXCEPTION 'time column % of % must be a timestamp, not %', found_cols[4], relation, types[4]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF types[5] NOT IN ('bigint', 'integer', 'smallint') THEN
        RAISE EXCEPTION 'id column % of % must be an integer, not %', found_cols[5], relation, types[5]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    model_column := found_cols[1];
    y_true_column := found_cols[2];
    y_pred_column := found_cols[3];
    time_column := found_cols[4];
    id_column := found_cols[5];
    data_type := types[2];
END
$$;
COMMENT ON FUNCTION mlops.metric_source(regclass, jsonb) IS
'Checks a metric source table and its column options; returns the quoted relation and column names';

CREATE OR REPLACE FUNCTION mlops.schedule_metric(model_id uuid, cron_expression text,
                                      metric text DEFAULT 'accuracy',
                                      source regclass DEFAULT 'mlops.results',
                                      options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src record;
    old_job bigint;
    job bigint;
BEGIN
    IF model_id IS NULL OR cron_expression IS NULL OR metric IS NULL OR source IS NULL OR options IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.schedule_metric must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- everything is checked before anything is written
    src := mlops.metric_source(source, options);
    PERFORM mlops.metric_call(metric, 'y_true', 'y_pred', options);

    SELECT e.cron_job_id INTO old_job
    FROM mlops.metrics_executions e
    WHERE e.model_id OPERATOR(pg_catalog.=) schedule_metric.model_id
      AND e.owner OPERATOR(pg_catalog.=) mlops.calling_role()
    FOR UPDATE;

    -- pg_cron validates the expression; on error it writes nothing, and neither do we.
    -- pg_cron names jobs per role and runs each as the role that scheduled it.
    job := cron.schedule(('mlops_metric_' || model_id::text)::name, cron_expression,
                         format('SELECT mlops.compute_metric(%L::uuid)', model_id));
    IF old_job IS NOT NULL AND old_job <> job
       AND EXISTS (SELECT 1 FROM cron.job j WHERE j.jobid OPERATOR(pg_catalog.=) old_job) THEN
        PERFORM cron.unschedule(old_job);
    END IF;

    INSERT INTO mlops.metrics_executions AS e
           (model_id, owner, cron_expression, metric, source, options, cron_job_id)
    VALUES (schedule_metric.model_id, mlops.calling_role(), schedule_metric.cron_expression,
            schedule_metric.metric, src.relation, schedule_metric.options, job)
    ON CONFLICT ON CONSTRAINT metrics_executions_owner_model_key DO UPDATE
       SET cron_expression = EXCLUDED.cron_expression, metric = EXCLUDED.metric,
           source = EXCLUDED.source, options = EXCLUDED.options,
           cron_job_id = EXCLUDED.cron_job_id, updated_at = now();
    RETURN job;
END
$$;
COMMENT ON FUNCTION mlops.schedule_metric(uuid, text, text, regclass, jsonb) IS
'Computes a metric of a model on a cron schedule (pg_cron job mlops_metric_<model_id>); replaces the model''s schedule; returns the pg_cron job id';

CREATE OR REPLACE FUNCTION mlops.unschedule_metric(model_id uuid)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    DELETE FROM mlops.metrics_executions e
    WHERE e.model_id OPERATOR(pg_catalog.=) unschedule_metric.model_id
      AND e.owner OPERATOR(pg_catalog.=) mlops.calling_role()
    RETURNING e.cron_job_id INTO job;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF job IS NOT NULL AND EXISTS (SELECT 1 FROM cron.job j WHERE j.jobid OPERATOR(pg_catalog.=) job) THEN
        PERFORM cron.unschedule(job);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.unschedule_metric(uuid) IS
'Removes a model''s metric schedule and its pg_cron job; false when there was none.  Computed values stay';

CREATE OR REPLACE FUNCTION mlops.compute_metric(model_id uuid)
RETURNS mlops.metric_values
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg record;
    src record;
    source_rel regclass;
    row_id bigint;
    row_time jsonb;
    n bigint;
    v double precision;
    result mlops.metric_values;
BEGIN
    -- the caller's own schedule (pg_cron runs it as the role that scheduled it);
    -- the source is read with the caller's rights, checked again now
    SELECT e.metric, e.source, e.options INTO cfg
    FROM mlops.metrics_executions e
    WHERE e.model_id OPERATOR(pg_catalog.=) compute_metric.model_id
      AND e.owner OPERATOR(pg_catalog.=) mlops.calling_role();
    IF NOT FOUND THEN
        -- no schedule: the defaults of mlops.schedule_metric
        SELECT 'accuracy'::text AS metric, 'mlops.results'::text AS source, '{}'::jsonb AS options INTO cfg;
    END IF;
    source_rel := to_regclass(cfg.source);
    IF source_rel IS NULL THEN
        RAISE EXCEPTION 'source % of the metric schedule of model % no longer exists', cfg.source, model_id
            USING ERRCODE = 'undefined_table';
    END IF;
    src := mlops.metric_source(source_rel, cfg.options);

    -- the newest row by time, ties broken by the highest id
    EXECUTE format(
        'SELECT t.%4$s::bigint, pg_catalog.to_jsonb(t.%5$s), %6$s, pg_catalog.%7$s_array_length(t.%2$s) '
        'FROM %1$s t WHERE t.%3$s OPERATOR(pg_catalog.=) $1 '
        'ORDER BY t.%5$s DESC NULLS LAST, t.%4$s DESC LIMIT 1',
        src.relation, src.y_true_column, src.model_column, src.id_column, src.time_column,
        mlops.metric_call(cfg.metric, 't.' || src.y_true_column, 't.' || src.y_pred_column, cfg.options),
        src.data_type)
    INTO row_id, row_time, v, n
    USING model_id;
    IF row_id IS NULL THEN
        RETURN NULL;
    END IF;

    INSERT INTO mlops.metric_values (model_id, metric, value, n_samples, source_row_id, details, owner)
    VALUES (compute_metric.model_id, cfg.metric, v, n, row_id,
            jsonb_build_object('source', src.relation, 'row_time', row_time), mlops.calling_role())
    RETURNING * INTO result;

    -- ids only: every role that listens gets the notification; the value is
    -- read through mlops.metric_values, which shows each role its own rows
    PERFORM pg_notify('mlops_metrics', json_build_object(
        'id', result.id, 'model_id', result.model_id)::text);
    RETURN result;
END
$$;
COMMENT ON FUNCTION mlops.compute_metric(uuid) IS
'Computes the calling role''s metric of a model on its newest source row, stores it in mlops.metric_values (owned by the caller) and sends NOTIFY mlops_metrics with its ids; NULL when the model has no rows';

-- Jobs: a lease token fences external workers; owners already recorded (submitted_by).
ALTER TABLE mlops.jobs ADD COLUMN lease_token uuid;
UPDATE mlops.jobs SET lease_token = gen_random_uuid() WHERE state = 'running' AND claimed_by = 'external';

-- Functions whose signature or result changed.
DROP FUNCTION mlops.heartbeat_job(bigint, interval);
DROP FUNCTION mlops.complete_job(bigint, jsonb);
DROP FUNCTION mlops.fail_job(bigint, text, boolean);
DROP FUNCTION mlops.external_job(bigint);
DROP FUNCTION mlops.worker_succeed(bigint, jsonb);
DROP FUNCTION mlops.worker_kinds();

COMMENT ON TABLE mlops.jobs IS
'The durable job queue: one row per job, its owner (submitted_by), state, progress, result or error, attempts and lease';
ALTER TABLE mlops.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_owner ON mlops.jobs
    USING (mlops.owns(submitted_by)) WITH CHECK (mlops.owns(submitted_by));

CREATE OR REPLACE FUNCTION mlops.jobs_notify() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state
       OR NEW.progress IS DISTINCT FROM OLD.progress
       OR NEW.progress_message IS DISTINCT FROM OLD.progress_message THEN
        PERFORM pg_notify('mlops_jobs', json_build_object(
            'id', NEW.id, 'state', NEW.state)::text);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION mlops.jobs_notify() IS 'Trigger: NOTIFY mlops_jobs with {id, state} on every change of state or progress';

COMMENT ON FUNCTION mlops.validate_job(text, jsonb) IS
'Checks a job''s parameters for the calling role before it is queued: known keys only, URLs http(s) and within mlops.allowed_hosts, paths in the role''s file areas, credentials granted to it';

CREATE FUNCTION mlops.worker_kinds()
RETURNS text[]
AS 'MODULE_PATHNAME', 'mlops_worker_kinds'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.worker_kinds() IS 'The job kinds the pg_mlops background worker serves (its registry in C); other kinds are for external workers';

CREATE FUNCTION mlops.current_job_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'mlops_current_job_id'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mlops.current_job_id() IS
'The id of the sql job this session runs; NULL outside a job''s session';

CREATE FUNCTION mlops.set_live_progress(fraction real, message text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mlops_set_live_progress'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mlops.set_live_progress(real, text) IS
'Writes the progress of the sql job this session runs into shared memory (mlops.report_progress calls it); false outside a job''s session';

CREATE FUNCTION mlops.live_progress(OUT id bigint, OUT owner oid, OUT progress real, OUT message text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_live_progress'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mlops.live_progress() IS
'The progress running sql jobs of the current user (of everyone, for administrators) reported, from shared memory, before their transactions commit';

CREATE OR REPLACE FUNCTION mlops.submit_job(kind text, params jsonb DEFAULT '{}',
                                 depends_on bigint[] DEFAULT '{}', max_attempts int DEFAULT 3,
                                 run_after timestamptz DEFAULT now(), run_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing bigint;
    new_id bigint;
BEGIN
    IF kind IS NULL OR params IS NULL OR depends_on IS NULL OR max_attempts IS NULL OR run_after IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.submit_job must not be NULL (but run_id)'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid job kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A kind is a lower-case identifier such as sql, download or train.';
    END IF;
    IF max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts must be at least 1, not %', max_attempts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mlops.validate_job(kind, params);
    IF kind OPERATOR(pg_catalog.=) ANY (mlops.worker_kinds()) AND NOT mlops.worker_running() THEN
        RAISE EXCEPTION 'no pg_mlops worker serves database "%"', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pg_mlops to shared_preload_libraries, set mlops.database_name to this database and restart the server.';
    END IF;
    -- a dependency must be a job the caller may see: another role's job is as
    -- unknown as one that does not exist
    SELECT d INTO missing FROM unnest(depends_on) d
    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs j
                      WHERE j.id OPERATOR(pg_catalog.=) d AND mlops.may_manage_job(j.submitted_by))
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'job % does not exist', missing
            USING ERRCODE = 'foreign_key_violation', DETAIL = 'depends_on names jobs of the calling role that must exist.';
    END IF;
    -- the owner is the calling role (this function runs as its owner)
    INSERT INTO mlops.jobs (kind, params, depends_on, max_attempts, run_after, run_id, submitted_by)
    VALUES (kind, params, depends_on, max_attempts, run_after, run_id, mlops.calling_role())
    RETURNING id INTO new_id;
    PERFORM mlops.wake_workers();
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text) IS
'Queues a job owned by the calling role; mlops.worker_kinds() are served by the worker, other kinds by external workers; returns its id. sql jobs run in a session of their own as their owner';

CREATE OR REPLACE FUNCTION mlops.may_manage_job(submitter oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT mlops.owns($1)
$$;
COMMENT ON FUNCTION mlops.may_manage_job(oid) IS 'True when the calling role may see, cancel, retry or wait for a job of that submitter';

CREATE OR REPLACE FUNCTION mlops.cancel_job(id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j record;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) cancel_job.id FOR UPDATE;
    IF NOT FOUND OR NOT mlops.may_manage_job(j.submitted_by) THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF j.state = 'pending' THEN
        UPDATE mlops.jobs SET state = 'cancelled', finished_at = now(), error = 'cancelled before it ran'
        WHERE jobs.id OPERATOR(pg_catalog.=) cancel_job.id;
        RETURN true;
    ELSIF j.state = 'running' THEN
        -- the worker stops it within a second; an external worker sees it in heartbeat_job
        UPDATE mlops.jobs SET cancel_requested = true WHERE jobs.id OPERATOR(pg_catalog.=) cancel_job.id;
        PERFORM mlops.wake_workers();
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION mlops.cancel_job(bigint) IS
'Cancels a pending job at once, or asks the worker to stop a running one (an sql job''s statement is cancelled; within a second); false when it had already ended';

CREATE OR REPLACE FUNCTION mlops.retry_job(id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j record;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) retry_job.id FOR UPDATE;
    IF NOT FOUND OR NOT mlops.may_manage_job(j.submitted_by) THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF j.state NOT IN ('failed', 'cancelled') THEN
        RETURN false;
    END IF;
    UPDATE mlops.jobs
    SET state = 'pending', attempts = 0, error = NULL, result = NULL, progress = 0,
        progress_message = NULL, run_after = now(), finished_at = NULL, started_at = NULL,
        cancel_requested = false, claimed_by = NULL, worker_pid = NULL, lease_until = NULL,
        lease_token = NULL
    WHERE jobs.id OPERATOR(pg_catalog.=) retry_job.id;
    PERFORM mlops.wake_workers();
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.retry_job(bigint) IS 'Queues a failed or cancelled job again, with its attempts reset; false for other states';

CREATE OR REPLACE FUNCTION mlops.wait_job(id bigint, timeout interval DEFAULT '1 minute')
RETURNS text
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
    st text;
    submitter oid;
BEGIN
    SELECT j.state, j.submitted_by INTO st, submitter FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) wait_job.id;
    IF NOT FOUND OR NOT mlops.may_manage_job(submitter) THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    LOOP
        SELECT j.state INTO st FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) wait_job.id;
        EXIT WHEN st IN ('succeeded', 'failed', 'cancelled') OR clock_timestamp() >= deadline;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN st;
END
$$;
COMMENT ON FUNCTION mlops.wait_job(bigint, interval) IS
'Waits until the job ends or the timeout passes; returns its state (for psql and tests; not in a transaction that must stay short)';

CREATE OR REPLACE VIEW mlops.job_progress WITH (security_barrier) AS
SELECT j.id, j.kind, j.state,
       round((p.progress * 100)::numeric, 1) AS percent,
       '[' || repeat('#', (p.progress * 20)::int) || repeat('.', 20 - (p.progress * 20)::int) || '] '
           || lpad(round((p.progress * 100)::numeric)::text, 3) || '%' AS bar,
       p.message, j.attempts, j.max_attempts, j.error,
       j.created_at, j.started_at, j.finished_at, j.run_id
FROM mlops.jobs j
LEFT JOIN mlops.live_progress() l ON l.id OPERATOR(pg_catalog.=) j.id AND j.state = 'running'
CROSS JOIN LATERAL (SELECT coalesce(l.progress, j.progress) AS progress,
                           CASE WHEN l.id IS NULL THEN j.progress_message ELSE l.message END AS message) p
WHERE mlops.may_manage_job(j.submitted_by);
COMMENT ON VIEW mlops.job_progress IS
'Jobs of the calling role with a text progress bar, for people in psql; a running sql job''s progress shows as soon as it reports it';

CREATE OR REPLACE FUNCTION mlops.claim_job(kinds text[], lease interval DEFAULT '5 minutes')
RETURNS mlops.jobs
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
BEGIN
    IF lease <= interval '0' THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kinds OPERATOR(pg_catalog.&&) mlops.worker_kinds() THEN
        RAISE EXCEPTION 'kinds % are served by the pg_mlops worker', mlops.worker_kinds()
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'External workers claim kinds of their own, such as train.';
    END IF;
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'external',
        claimed_role = mlops.calling_role(), worker_pid = pg_backend_pid(),
        lease_until = now() + lease, lease_token = gen_random_uuid(), heartbeat_at = now(), error = NULL
    WHERE u.id = (SELECT c.id FROM mlops.jobs c
                  -- runnable: pending, due, and every dependency succeeded
                  WHERE c.state = 'pending' AND c.kind OPERATOR(pg_catalog.=) ANY (kinds) AND c.run_after <= now()
                    AND NOT EXISTS (SELECT 1 FROM unnest(c.depends_on) d
                                    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs dj
                                                      WHERE dj.id OPERATOR(pg_catalog.=) d AND dj.state = 'succeeded'))
                  ORDER BY c.run_after, c.id
                  FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING u.* INTO j;
    IF j.id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION mlops.claim_job(text[], interval) IS
'For external workers: takes the oldest runnable job of these kinds (FOR UPDATE SKIP LOCKED) with a lease; its lease_token must be shown by every later call; NULL when there is none';

CREATE FUNCTION mlops.external_job(id bigint, lease_token uuid)
RETURNS mlops.jobs
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
BEGIN
    IF id IS NULL OR lease_token IS NULL THEN
        RAISE EXCEPTION 'id and lease_token must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) external_job.id FOR UPDATE;
    IF NOT FOUND OR NOT (pg_has_role(mlops.calling_role(), coalesce(j.claimed_role, j.submitted_by), 'MEMBER')
                         OR mlops.may_manage_job(j.submitted_by)) THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF j.state <> 'running' OR j.claimed_by IS DISTINCT FROM 'external'
       OR j.lease_token IS DISTINCT FROM external_job.lease_token THEN
        RAISE EXCEPTION 'the lease of job % is not held with this token', id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The job is %s.', j.state),
                  HINT = 'The lease expired or the job was cancelled, and it may have been claimed again: stop working on it.';
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION mlops.external_job(bigint, uuid) IS 'Locks a running external job for a report, checking the caller and the lease token';

CREATE FUNCTION mlops.heartbeat_job(id bigint, lease_token uuid, lease interval DEFAULT '5 minutes')
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs := mlops.external_job(id, lease_token);
BEGIN
    IF lease <= interval '0' THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE mlops.jobs SET heartbeat_at = now(), lease_until = now() + lease
    WHERE jobs.id OPERATOR(pg_catalog.=) heartbeat_job.id;
    -- false asks the external worker to stop: the job was cancelled
    RETURN NOT j.cancel_requested;
END
$$;
COMMENT ON FUNCTION mlops.heartbeat_job(bigint, uuid, interval) IS
'Extends an external job''s lease (the token from claim_job); returns false when the job was cancelled and the worker should stop (then call fail_job); a stale token is refused';

CREATE FUNCTION mlops.report_progress(id bigint, lease_token uuid, fraction real, message text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF fraction IS NULL OR NOT (fraction >= 0 AND fraction <= 1) THEN
        RAISE EXCEPTION 'progress must be between 0 and 1, not %', fraction USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mlops.external_job(id, lease_token);
    UPDATE mlops.jobs SET progress = fraction, progress_message = message, heartbeat_at = now()
    WHERE jobs.id OPERATOR(pg_catalog.=) report_progress.id;
END
$$;
COMMENT ON FUNCTION mlops.report_progress(bigint, uuid, real, text) IS
'An external worker reports a running job''s progress (0..1) and a message, with its lease token';

CREATE OR REPLACE FUNCTION mlops.report_progress(id bigint, fraction real, message text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF fraction IS NULL OR NOT (fraction >= 0 AND fraction <= 1) THEN
        RAISE EXCEPTION 'progress must be between 0 and 1, not %', fraction USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF id IS NULL OR id IS DISTINCT FROM mlops.current_job_id() THEN
        RAISE EXCEPTION 'job % is not the job this session runs', id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Inside an sql job, report on mlops.current_job_id(); external workers call report_progress(id, lease_token, fraction, message).';
    END IF;
    PERFORM mlops.set_live_progress(fraction, message);
END
$$;
COMMENT ON FUNCTION mlops.report_progress(bigint, real, text) IS
'Inside an sql job: reports its progress (0..1) and a message, visible in mlops.job_progress at once';

CREATE FUNCTION mlops.complete_job(id bigint, lease_token uuid, result jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM mlops.external_job(id, lease_token);
    UPDATE mlops.jobs
    SET state = 'succeeded', result = coalesce(complete_job.result, '{}'), progress = 1, finished_at = now(),
        lease_until = NULL, lease_token = NULL
    WHERE jobs.id OPERATOR(pg_catalog.=) complete_job.id;
END
$$;
COMMENT ON FUNCTION mlops.complete_job(bigint, uuid, jsonb) IS 'Ends a running external job successfully with a result; a stale lease token is refused';

CREATE OR REPLACE FUNCTION mlops.finish_failed(id bigint, error text, retry boolean)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
    delay double precision;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id FOR UPDATE;
    IF j.cancel_requested THEN
        UPDATE mlops.jobs SET state = 'cancelled', error = finish_failed.error, finished_at = now(),
               lease_until = NULL, lease_token = NULL, worker_pid = NULL
        WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id;
        RETURN 'cancelled';
    END IF;
    IF retry AND j.attempts < j.max_attempts THEN
        -- exponential backoff with jitter: 1 s, 2 s, 4 s ... (x 0.5..1.5), at most 5 minutes
        delay := least(300, power(2, greatest(j.attempts - 1, 0))) * (0.5 + random());
        UPDATE mlops.jobs
        SET state = 'pending', error = finish_failed.error, run_after = now() + delay * interval '1 second',
            claimed_by = NULL, worker_pid = NULL, lease_until = NULL, lease_token = NULL
        WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id;
        RETURN 'pending';
    END IF;
    UPDATE mlops.jobs SET state = 'failed', error = finish_failed.error, finished_at = now(),
           lease_until = NULL, lease_token = NULL
    WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id;
    RETURN 'failed';
END
$$;
COMMENT ON FUNCTION mlops.finish_failed(bigint, text, boolean) IS
'A failed attempt: pending again after a backoff while attempts remain and retry is asked, else failed; cancelled when a cancel was asked';

CREATE FUNCTION mlops.fail_job(id bigint, lease_token uuid, error text, retry boolean DEFAULT true)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM mlops.external_job(id, lease_token);
    RETURN mlops.finish_failed(id, coalesce(error, 'failed'), coalesce(retry, true));
END
$$;
COMMENT ON FUNCTION mlops.fail_job(bigint, uuid, text, boolean) IS
'Ends a running external job''s attempt with an error (with its lease token); it is retried with backoff while attempts remain (retry => false: failed now). Returns the new state';

CREATE OR REPLACE FUNCTION mlops.worker_claim(kinds text[], pid int)
RETURNS mlops.jobs
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'worker',
        worker_pid = pid, heartbeat_at = now(), error = NULL
    WHERE u.id = (SELECT c.id FROM mlops.jobs c
                  -- runnable: pending, due, and every dependency succeeded
                  WHERE c.state = 'pending' AND c.kind OPERATOR(pg_catalog.=) ANY (kinds) AND c.run_after <= now()
                    AND NOT EXISTS (SELECT 1 FROM unnest(c.depends_on) d
                                    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs dj
                                                      WHERE dj.id OPERATOR(pg_catalog.=) d AND dj.state = 'succeeded'))
                  ORDER BY c.run_after, c.id
                  FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING u.*
$$;
COMMENT ON FUNCTION mlops.worker_claim(text[], int) IS 'The background worker takes the oldest runnable job of its kinds';

CREATE FUNCTION mlops.worker_succeed(id bigint, attempt int, result jsonb)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE mlops.jobs SET state = 'succeeded', result = $3, progress = 1, finished_at = now()
        WHERE jobs.id OPERATOR(pg_catalog.=) $1 AND state = 'running' AND claimed_by = 'worker'
          AND attempts OPERATOR(pg_catalog.=) $2
        RETURNING 1)
    SELECT count(*) > 0 FROM u
$$;
COMMENT ON FUNCTION mlops.worker_succeed(bigint, int, jsonb) IS
'The background worker ends a job successfully; only the attempt it claimed (false for a stale one)';

CREATE FUNCTION mlops.worker_fail(id bigint, attempt int, error text, retry boolean)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM mlops.jobs j
    WHERE j.id OPERATOR(pg_catalog.=) worker_fail.id AND j.state = 'running' AND j.claimed_by = 'worker'
      AND j.attempts OPERATOR(pg_catalog.=) worker_fail.attempt
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN mlops.finish_failed(id, error, retry);
END
$$;
COMMENT ON FUNCTION mlops.worker_fail(bigint, int, text, boolean) IS
'The background worker ends a failed attempt of a job (retried while attempts remain); only the attempt it claimed (NULL for a stale one)';

CREATE OR REPLACE FUNCTION mlops.worker_maintain(retention interval)
RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int := 0;
    c int;
    j record;
BEGIN
    -- jobs left running by a worker process that is gone (kill -9, crash): an attempt spent
    FOR j IN SELECT id FROM mlops.jobs
             WHERE state = 'running' AND claimed_by = 'worker'
               AND worker_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker')
             FOR UPDATE SKIP LOCKED LOOP
        PERFORM mlops.finish_failed(j.id, 'the worker running it stopped', true);
        n := n + 1;
    END LOOP;
    -- external jobs whose lease expired
    FOR j IN SELECT id FROM mlops.jobs
             WHERE state = 'running' AND claimed_by = 'external' AND lease_until < now()
             FOR UPDATE SKIP LOCKED LOOP
        PERFORM mlops.finish_failed(j.id, 'lease expired', true);
        n := n + 1;
    END LOOP;
    -- a failed or cancelled dependency fails its dependents
    UPDATE mlops.jobs d
    SET state = 'failed', finished_at = now(),
        error = format('dependency %s %s', dep.id, dep.state)
    FROM mlops.jobs dep
    WHERE d.state = 'pending' AND dep.id OPERATOR(pg_catalog.=) ANY (d.depends_on) AND dep.state IN ('failed', 'cancelled');
    GET DIAGNOSTICS c = ROW_COUNT;
    n := n + c;
    -- finished jobs past their retention, in batches
    DELETE FROM mlops.jobs
    WHERE id IN (SELECT id FROM mlops.jobs WHERE finished_at < now() - retention LIMIT 1000);
    GET DIAGNOSTICS c = ROW_COUNT;
    RETURN n + c;
END
$$;
COMMENT ON FUNCTION mlops.worker_maintain(interval) IS
'The background worker''s periodic pass: jobs of dead workers and expired leases back to pending, dependents of failed jobs failed, old jobs deleted';

CREATE OR REPLACE FUNCTION mlops.worker_progress(ids bigint[], fractions real[], messages text[])
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE mlops.jobs j SET progress = p.f, progress_message = p.m, heartbeat_at = now()
    FROM unnest($1, $2, $3) p(id, f, m)
    WHERE j.id OPERATOR(pg_catalog.=) p.id AND j.state = 'running'
      AND (j.progress IS DISTINCT FROM p.f OR j.progress_message IS DISTINCT FROM p.m)
$$;
COMMENT ON FUNCTION mlops.worker_progress(bigint[], real[], text[]) IS 'The background worker records the progress of its running transfers and sql jobs';

REVOKE ALL ON FUNCTION mlops.set_live_progress(real, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.heartbeat_job(bigint, uuid, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.report_progress(bigint, uuid, real, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.complete_job(bigint, uuid, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.fail_job(bigint, uuid, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_succeed(bigint, int, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_fail(bigint, int, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.external_job(bigint, uuid) FROM PUBLIC;

ALTER TABLE mlops.credentials ENABLE ROW LEVEL SECURITY;
CREATE POLICY credentials_admin ON mlops.credentials
    USING (mlops.is_admin(mlops.calling_role())) WITH CHECK (mlops.is_admin(mlops.calling_role()));

CREATE OR REPLACE FUNCTION mlops.set_credential(name text, kind text, secret jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    required text[];
    allowed text[];
    k text;
BEGIN
    IF name IS NULL OR kind IS NULL OR secret IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.set_credential must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name !~ '^[A-Za-z0-9_.-]{1,63}$' THEN
        RAISE EXCEPTION 'invalid credential name "%"', name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use letters, digits, "_", "." and "-", at most 63.';
    END IF;
    IF jsonb_typeof(secret) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'secret must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    CASE kind
        WHEN 'webdav' THEN required := '{url,username,password}'; allowed := required;
        WHEN 's3' THEN required := '{endpoint,bucket,access_key,secret_key}';
                       allowed := required || '{region,path_style,part_size_mb}'::text[];
        WHEN 'http' THEN required := '{url}'; allowed := '{url,username,password,bearer_token}';
        ELSE RAISE EXCEPTION 'unknown credential kind "%"', kind
                 USING ERRCODE = 'invalid_parameter_value', HINT = 'Kinds are webdav, s3 and http.';
    END CASE;
    FOREACH k IN ARRAY required LOOP
        IF NOT secret ? k THEN
            RAISE EXCEPTION 'a % credential needs the key "%"', kind, k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOR k IN SELECT jsonb_object_keys(secret) LOOP
        IF NOT k = ANY (allowed) THEN
            -- the key's name only: never a value
            RAISE EXCEPTION 'a % credential has no key "%"', kind, k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Keys are ' || array_to_string(allowed, ', ') || '.';
        END IF;
    END LOOP;
    FOREACH k IN ARRAY '{url,endpoint}'::text[] LOOP
        IF secret ? k AND (secret ->> k) !~* '^https?://' THEN
            RAISE EXCEPTION 'the % of a credential must be an http:// or https:// URL', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    INSERT INTO mlops.credentials AS c (name, kind, secret) VALUES (name, kind, secret)
    ON CONFLICT ON CONSTRAINT credentials_pkey DO UPDATE
        SET kind = EXCLUDED.kind, secret = EXCLUDED.secret, updated_at = now();
END
$$;
COMMENT ON FUNCTION mlops.set_credential(text, text, jsonb) IS
'Creates or replaces a storage credential (webdav: url, username, password; s3: endpoint, bucket, access_key, secret_key, region, path_style, part_size_mb; http: url, username, password, bearer_token). Administrators only';

CREATE OR REPLACE FUNCTION mlops.drop_credential(name text)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM mlops.credentials c WHERE c.name OPERATOR(pg_catalog.=) $1 RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mlops.drop_credential(text) IS 'Removes a storage credential; false when there was none. Administrators only';

CREATE TABLE mlops.credential_grants (
    credential text NOT NULL REFERENCES mlops.credentials (name) ON DELETE CASCADE ON UPDATE CASCADE,
    grantee regrole NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credential, grantee)
);
REVOKE ALL ON mlops.credential_grants FROM PUBLIC;
COMMENT ON TABLE mlops.credential_grants IS 'The roles each credential is granted to (mlops.grant_credential); administrators use every credential';
SELECT pg_catalog.pg_extension_config_dump('mlops.credential_grants', '');
ALTER TABLE mlops.credential_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY credential_grants_admin ON mlops.credential_grants
    USING (mlops.is_admin(mlops.calling_role())) WITH CHECK (mlops.is_admin(mlops.calling_role()));

CREATE FUNCTION mlops.grant_credential(name text, role regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM mlops.credentials c WHERE c.name OPERATOR(pg_catalog.=) grant_credential.name) THEN
        RAISE EXCEPTION 'credential "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO mlops.credential_grants (credential, grantee) VALUES (name, role)
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION mlops.grant_credential(text, regrole) IS
'Lets a role (and its members) name a credential in its jobs. Administrators only';

CREATE FUNCTION mlops.revoke_credential(name text, role regrole)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM mlops.credential_grants g
               WHERE g.credential OPERATOR(pg_catalog.=) $1 AND g.grantee OPERATOR(pg_catalog.=) $2 RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mlops.revoke_credential(text, regrole) IS
'Takes a credential back from a role; jobs of that role that have not run yet fail when they do. Administrators only';

CREATE OR REPLACE VIEW mlops.credential_names WITH (security_barrier) AS
    SELECT c.name, c.kind, c.created_at, c.updated_at
    FROM mlops.credentials c
    WHERE mlops.is_admin(mlops.calling_role())
       OR EXISTS (SELECT 1 FROM mlops.credential_grants g
                  WHERE g.credential OPERATOR(pg_catalog.=) c.name
                    AND pg_catalog.pg_has_role(mlops.calling_role(), g.grantee, 'MEMBER'));
COMMENT ON VIEW mlops.credential_names IS 'The names and kinds of the credentials the calling role may use (administrators: all), without their secrets';
GRANT SELECT ON mlops.credential_names TO PUBLIC;
REVOKE ALL ON FUNCTION mlops.grant_credential(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.revoke_credential(text, regrole) FROM PUBLIC;

CREATE TABLE mlops.area_grants (
    area text NOT NULL CHECK (area ~ '^[a-z0-9_][a-z0-9_.-]{0,62}$'),
    grantee regrole NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area, grantee)
);
REVOKE ALL ON mlops.area_grants FROM PUBLIC;
COMMENT ON TABLE mlops.area_grants IS 'Shared file areas (work_dir/areas/<area>) and the roles that may use them (mlops.grant_area)';
SELECT pg_catalog.pg_extension_config_dump('mlops.area_grants', '');
ALTER TABLE mlops.area_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY area_grants_admin ON mlops.area_grants
    USING (mlops.is_admin(mlops.calling_role())) WITH CHECK (mlops.is_admin(mlops.calling_role()));

CREATE FUNCTION mlops.grant_area(area text, role regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF area !~ '^[a-z0-9_][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid file area name "%"', area
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use lower-case letters, digits, "_", "." and "-" (not first), at most 63.';
    END IF;
    INSERT INTO mlops.area_grants (area, grantee) VALUES (area, role) ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION mlops.grant_area(text, regrole) IS
'Lets a role''s jobs read and write the shared file area work_dir/areas/<area> as "@<area>/..."; the folder is made by the first job that writes there. Administrators only';

CREATE FUNCTION mlops.revoke_area(area text, role regrole)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM mlops.area_grants g
               WHERE g.area OPERATOR(pg_catalog.=) $1 AND g.grantee OPERATOR(pg_catalog.=) $2 RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mlops.revoke_area(text, regrole) IS 'Takes a shared file area back from a role (its files stay). Administrators only';

CREATE VIEW mlops.file_areas WITH (security_barrier) AS
    SELECT ''::text AS area, '(own files)'::text AS used_as,
           CASE WHEN mlops.is_admin(mlops.calling_role()) THEN '.'
                ELSE 'roles/' || mlops.calling_role()::oid::text END AS directory
    UNION ALL
    SELECT DISTINCT g.area, '@' || g.area || '/...', 'areas/' || g.area
    FROM mlops.area_grants g
    WHERE mlops.is_admin(mlops.calling_role())
       OR pg_catalog.pg_has_role(mlops.calling_role(), g.grantee, 'MEMBER');
COMMENT ON VIEW mlops.file_areas IS
'The file areas the calling role''s jobs may use: its own (paths as given) and the shared ones ("@area/..."), with their folders relative to mlops.work_dir';
GRANT SELECT ON mlops.file_areas TO PUBLIC;
REVOKE ALL ON FUNCTION mlops.grant_area(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.revoke_area(text, regrole) FROM PUBLIC;

GRANT SELECT ON mlops.jobs, mlops.results, mlops.metrics_executions, mlops.metric_values,
                mlops.credential_grants, mlops.area_grants TO mlops_admin;
GRANT EXECUTE ON FUNCTION mlops.set_credential(text, text, jsonb), mlops.drop_credential(text),
                          mlops.grant_credential(text, regrole), mlops.revoke_credential(text, regrole),
                          mlops.grant_area(text, regrole), mlops.revoke_area(text, regrole),
                          mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text),
                          mlops.cancel_job(bigint), mlops.retry_job(bigint),
                          mlops.wait_job(bigint, interval) TO mlops_admin;
