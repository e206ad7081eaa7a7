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

CREATE FUNCTION mlops.heatmap_png(r raster, options jsonb DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'mlops_heatmap_png'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.heatmap_png(raster, jsonb) IS
'Band 1 of a raster as a PNG a person can read: a colour map (rdylgn_r: green low, red high; or viridis) between vmin and vmax (default the data''s range), cells enlarged (scale, default to about 600 px), nodata and NaN transparent. Options colormap, vmin, vmax, scale';

CREATE FUNCTION mlops.heatmap_svg(r raster, sensors geometry DEFAULT NULL, options jsonb DEFAULT '{}', area geometry DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'mlops_heatmap_svg'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.heatmap_svg(raster, geometry, jsonb, geometry) IS
'An SVG picture of band 1 of a raster around its PNG: title, subtitle, a colour bar with ticks and units, the sensors (points in the raster''s coordinates, labels from options.labels) marked, the area (polygons or lines in the raster''s coordinates) outlined, and a legend saying transparent cells have no estimate. Options colormap, vmin, vmax, scale, title, subtitle, units, nodata_note, labels, points_label and outline_label (the legend''s words for the points and outlines)';

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

-- jsonb aggregates: a JSON null label is an error (an SQL NULL row is still skipped).
COMMENT ON AGGREGATE mlops.confusion_agg(jsonb, jsonb) IS
'Confusion state of one prediction per row (rows with an SQL NULL label are skipped; a JSON null label is an error); feed it to any classification metric';
COMMENT ON AGGREGATE mlops.accuracy_agg(jsonb, jsonb) IS
'Share of rows whose prediction equals the label (rows with an SQL NULL label are skipped; a JSON null label is an error)';

-- make_grid: sizes in the units of the area's CRS; a geographic CRS needs cell_size; min_cell_size may be 0.
COMMENT ON FUNCTION mlops.make_grid(geometry, double precision, int, double precision, text, double precision) IS
'An empty one-band raster covering the extent of area (upper-left corner at its xmin, ymax; square cells), sizes in the units of its CRS. Without cell_size the cell is ceil(max(min_cell_size, sqrt(extent area / max_cells))), at least 1; a geographic CRS (degrees) needs cell_size. Pixels are nodata when it is given, else 0.';

-- Metric schedules keep their last run; the metrics a schedule computes come from one registry;
-- schedules are checked before pg_cron stores them, and their jobs CALL mlops.run_metric_schedule.
ALTER TABLE mlops.metrics_executions ADD COLUMN last_run_at timestamptz, ADD COLUMN last_error text;
COMMENT ON TABLE mlops.metrics_executions IS
'One metric schedule per model and owner: its cron expression, metric, source table and options, the pg_cron job that runs it (as its owner), and its last run (last_run_at; last_error, NULL when it succeeded)';

-- mlops.metric_registry is the one list of the metrics a schedule can compute:
-- mlops.metric_names, mlops.metric_call (and so schedule_metric and
-- compute_metric) read it.  A new metric is one row here, beside its
-- json / jsonb / text functions.
CREATE FUNCTION mlops.metric_registry(OUT metric text, OUT sql_function text, OUT average text,
                                      OUT kind text, OUT options text[])
RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT m.metric, m.sql_function, m.average, m.kind, m.options
    FROM (
        SELECT r.i, 0 AS j, r.metric, r.sql_function, r.average, r.kind, r.options
        FROM (VALUES
            (1, 'accuracy', 'accuracy', NULL, 'classification', '{}'::text[]),
            (2, 'mae', 'mae', NULL, 'regression', '{}'),
            (3, 'mse', 'mse', NULL, 'regression', '{}'),
            (4, 'rmse', 'rmse', NULL, 'regression', '{}'),
            (5, 'r2', 'r2', NULL, 'regression', '{}')) r(i, metric, sql_function, average, kind, options)
        UNION ALL
        -- precision, recall and f1 with each average: f1 is binary, f1_macro macro, ...
        SELECT 5 + fn.i, av.j, fn.f || av.s, fn.f, av.a, 'classification', '{pos_label,zero_division}'
        FROM (VALUES (1, 'precision'), (2, 'recall'), (3, 'f1')) fn(i, f),
             (VALUES (1, '', 'binary'), (2, '_binary', 'binary'), (3, '_micro', 'micro'), (4, '_macro', 'macro'),
                     (5, '_weighted', 'weighted'), (6, '_samples', 'samples')) av(j, s, a)
    ) m
    ORDER BY m.i, m.j
$$;
COMMENT ON FUNCTION mlops.metric_registry() IS
'The metrics mlops.schedule_metric and mlops.compute_metric accept: name, the SQL function it calls, its average, classification or regression, and the schedule options it takes';

CREATE OR REPLACE FUNCTION mlops.metric_names()
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT r.metric FROM mlops.metric_registry() r
$$;
COMMENT ON FUNCTION mlops.metric_names() IS
'The metric names mlops.schedule_metric and mlops.compute_metric accept (the names of mlops.metric_registry())';

-- mlops.metric_call returns the SQL call of a metric on two quoted columns, as
-- mlops.metric_registry() describes it.
CREATE OR REPLACE FUNCTION mlops.metric_call(metric text, y_true text, y_pred text, options jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
    k text;
    extra text := '';
BEGIN
    SELECT r.* INTO m FROM mlops.metric_registry() r WHERE r.metric OPERATOR(pg_catalog.=) metric_call.metric;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown metric "%"', metric
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Valid metrics are ' || (SELECT string_agg(r.metric, ', ') FROM mlops.metric_registry() r) || '.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF k IN ('pos_label', 'zero_division') AND NOT (k = ANY (m.options)) THEN
            RAISE EXCEPTION 'option % does not apply to metric %', k, metric
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = CASE WHEN m.options = '{}' THEN format('Metric %s takes no options but the column names.', metric)
                             ELSE format('Metric %s takes %s.', metric, array_to_string(m.options, ' and ')) END;
        END IF;
    END LOOP;
    IF m.average IS NOT NULL THEN
        extra := format(', average => %L', m.average);
    END IF;
    IF options ? 'pos_label' THEN
        -- a JSON scalar: 1, true or "spam", passed as the json/jsonb literal it is
        extra := extra || format(', pos_label => %L', (options -> 'pos_label')::text);
    END IF;
    IF options ? 'zero_division' THEN
        IF jsonb_typeof(options -> 'zero_division') <> 'number' AND options ->> 'zero_division' <> 'NaN' THEN
            RAISE EXCEPTION 'option zero_division must be 0, 1 or "NaN"'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        extra := extra || format(', zero_division => %L::float8', options ->> 'zero_division');
    END IF;
    RETURN format('mlops.%I(%s, %s%s)', m.sql_function, y_true, y_pred, extra);
END
$$;
COMMENT ON FUNCTION mlops.metric_call(text, text, text, jsonb) IS
'The SQL call of a named metric of mlops.metric_registry() (accuracy, f1_macro, ...) on two column expressions';

-- mlops.cron_schedule checks a cron expression before pg_cron stores it (pg_cron
-- 1.4 keeps a 6-field expression as it is, and says only "invalid schedule"),
-- then schedules the command as the calling role.
CREATE FUNCTION mlops.cron_schedule(job_name name, cron_expression text, command text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fields text[] := regexp_split_to_array(btrim(cron_expression), '\s+');
    hint constant text := 'A cron expression has 5 fields: minute hour day-of-month month day-of-week, '
        'such as ''* * * * *'' (every minute), ''*/5 * * * *'' (every 5 minutes) or ''30 2 * * 1'' (Mondays at 02:30); '
        '@hourly, @daily, @weekly, @monthly and @yearly work too.';
BEGIN
    IF btrim(cron_expression) ~ '^@[a-z]+$' THEN
        NULL;       -- pg_cron's macros: it checks the name
    ELSIF array_length(fields, 1) = 6 THEN
        RAISE EXCEPTION 'cron expression "%" has 6 fields', cron_expression
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'pg_cron schedules by the minute: there is no seconds (or year) field.',
                  HINT = hint;
    ELSIF array_length(fields, 1) IS DISTINCT FROM 5 THEN
        RAISE EXCEPTION 'invalid cron expression "%"', cron_expression
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END IF;
    BEGIN
        RETURN cron.schedule(job_name, cron_expression, command);
    EXCEPTION WHEN invalid_parameter_value OR internal_error THEN
        -- pg_cron's "invalid schedule: ...", without a hint
        IF SQLERRM NOT LIKE 'invalid schedule%' THEN
            RAISE;
        END IF;
        RAISE EXCEPTION 'invalid cron expression "%"', cron_expression
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END;
END
$$;
COMMENT ON FUNCTION mlops.cron_schedule(name, text, text) IS
'Schedules a pg_cron job of the calling role after checking its expression (5 fields, or @hourly and the like); a bad one is refused with the syntax as a hint';

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

    -- the expression is checked (then pg_cron checks it too); on error nothing is written.
    -- pg_cron names jobs per role and runs each as the role that scheduled it.
    job := mlops.cron_schedule(('mlops_metric_' || model_id::text)::name, cron_expression,
                               format('CALL mlops.run_metric_schedule(%L::uuid)', model_id));
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
    scheduled boolean;
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
    scheduled := FOUND;
    IF NOT scheduled THEN
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
        IF scheduled THEN
            RAISE EXCEPTION 'model % has no rows in % yet', model_id, src.relation
                USING ERRCODE = 'no_data_found',
                      HINT = 'The schedule computes its metric on the model''s newest row; insert the model''s predictions and true labels there.';
        END IF;
        RAISE EXCEPTION 'unknown model %: it has no metric schedule and no rows in %', model_id, src.relation
            USING ERRCODE = 'undefined_object',
                  HINT = 'Insert its predictions and true labels into mlops.results, or schedule it with mlops.schedule_metric(model_id, cron_expression, metric, source).';
    END IF;

    -- a tick that finds the same newest row and the same value stores nothing new
    SELECT x.* INTO result
    FROM mlops.metric_values x
    WHERE x.model_id OPERATOR(pg_catalog.=) compute_metric.model_id
      AND x.owner OPERATOR(pg_catalog.=) mlops.calling_role()
    ORDER BY x.computed_at DESC, x.id DESC
    LIMIT 1;
    IF NOT FOUND OR result.metric IS DISTINCT FROM cfg.metric OR result.source_row_id IS DISTINCT FROM row_id
       OR result.value IS DISTINCT FROM v OR result.n_samples IS DISTINCT FROM n
       OR result.details ->> 'source' IS DISTINCT FROM src.relation THEN
        INSERT INTO mlops.metric_values (model_id, metric, value, n_samples, source_row_id, details, owner)
        VALUES (compute_metric.model_id, cfg.metric, v, n, row_id,
                jsonb_build_object('source', src.relation, 'row_time', row_time), mlops.calling_role())
        RETURNING * INTO result;
        -- ids only: every role that listens gets the notification; the value is
        -- read through mlops.metric_values, which shows each role its own rows
        PERFORM pg_notify('mlops_metrics', json_build_object(
            'id', result.id, 'model_id', result.model_id)::text);
    END IF;

    IF scheduled THEN
        UPDATE mlops.metrics_executions e SET last_run_at = now(), last_error = NULL
        WHERE e.model_id OPERATOR(pg_catalog.=) compute_metric.model_id
          AND e.owner OPERATOR(pg_catalog.=) mlops.calling_role();
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION mlops.compute_metric(uuid) IS
'Computes the calling role''s metric of a model on its newest source row and stores it in mlops.metric_values (owned by the caller) with NOTIFY mlops_metrics of its ids, unless the newest stored value is the same value of the same row (then returns that one); sets the schedule''s last_run_at; an error when the model has no rows';

-- mlops.run_metric_schedule is what a metric schedule's pg_cron job calls: a
-- procedure, so that a failing run can still record its error in
-- metrics_executions.last_error (committed) before failing the pg_cron run.
-- No SET clause: a procedure with one cannot commit; every name is qualified.
CREATE PROCEDURE mlops.run_metric_schedule(model_id uuid)
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    msg text;
    detail text;
    hint text;
BEGIN
    BEGIN
        PERFORM mlops.compute_metric(model_id);
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    END;
    UPDATE mlops.metrics_executions e
    SET last_run_at = pg_catalog.now(), last_error = msg
    WHERE e.model_id OPERATOR(pg_catalog.=) run_metric_schedule.model_id
      AND e.owner OPERATOR(pg_catalog.=) mlops.calling_role();
    COMMIT;
    -- the same error again, for cron.job_run_details (an empty DETAIL or HINT is left out)
    IF detail = '' AND hint = '' THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg;
    ELSIF hint = '' THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg, DETAIL = detail;
    ELSIF detail = '' THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg, DETAIL = detail, HINT = hint;
END
$$;
COMMENT ON PROCEDURE mlops.run_metric_schedule(uuid) IS
'The command of a metric schedule''s pg_cron job: mlops.compute_metric, recording a failure in mlops.metrics_executions.last_error (and last_run_at) before failing the run';

-- existing schedules' pg_cron jobs call the procedure that records their errors
SELECT cron.alter_job(e.cron_job_id, command => format('CALL mlops.run_metric_schedule(%L::uuid)', e.model_id))
FROM mlops.metrics_executions e
WHERE e.cron_job_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM cron.job j WHERE j.jobid OPERATOR(pg_catalog.=) e.cron_job_id);

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
AS 'MODULE_PATHNAME', 'mlops_jobs_notify'
LANGUAGE C;
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

-- mlops.dependency_blockers: how many of these dependencies have not succeeded (what a job
-- depending on them waits for), and the first failed or cancelled one.  It locks them first
-- (FOR SHARE): a dependency that ends meanwhile waits for the caller's commit and then finds the
-- new job among its dependents; one that ended before is read as it ended.  A dependency deleted
-- by retention had finished long ago and blocks nothing.
CREATE FUNCTION mlops.dependency_blockers(dependencies bigint[], OUT blockers int, OUT failed_id bigint,
                                          OUT failed_state text)
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    blockers := 0;
    IF cardinality(dependencies) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) ANY (dependencies) FOR SHARE;
    -- a new statement, a new snapshot: the states as they are after the locks
    SELECT count(*) FILTER (WHERE j.state <> 'succeeded') INTO blockers
    FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT DISTINCT unnest(dependencies)));
    SELECT j.id, j.state INTO failed_id, failed_state
    FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) ANY (dependencies) AND j.state IN ('failed', 'cancelled')
    ORDER BY j.id LIMIT 1;
END
$$;
COMMENT ON FUNCTION mlops.dependency_blockers(bigint[]) IS
'Locks a job''s dependencies and counts those not yet succeeded (its blockers); names the first failed or cancelled one';

-- mlops.jobs_release_dependents: when a job succeeds, each job waiting on it has one blocker
-- fewer (at none it is runnable, and the worker is woken); when it fails or is cancelled, every
-- job waiting on it, directly or through others, fails with the dependency named.  In the
-- transaction that ends the job, so no claim ever re-checks dependencies.
CREATE FUNCTION mlops.jobs_release_dependents() RETURNS trigger
AS 'MODULE_PATHNAME', 'mlops_jobs_release_dependents'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION mlops.jobs_release_dependents() IS
'Trigger: a job''s success unblocks the jobs waiting on it; its failure or cancellation fails them (and theirs)';

-- mlops.lock_runnable_job: the one definition of a runnable job (pending, unblocked, due),
-- shared by mlops.claim_job and mlops.worker_claim.  Takes the oldest few of each kind from
-- jobs_ready (an index scan per kind: jobs of other kinds and blocked jobs are never read),
-- then locks the oldest of those that no one else holds (SKIP LOCKED); looks further only when
-- all of them were taken.  Returns its id, locked, or NULL.
CREATE FUNCTION mlops.lock_runnable_job(kinds text[])
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int := 4;
    candidates bigint[];
    picked bigint;
BEGIN
    LOOP
        candidates := ARRAY(
            SELECT c.id
            FROM (SELECT DISTINCT k.kind FROM unnest(kinds) k(kind)) ks
            CROSS JOIN LATERAL (SELECT j.id FROM mlops.jobs j
                                WHERE j.kind OPERATOR(pg_catalog.=) ks.kind AND j.state = 'pending'
                                  AND j.blockers = 0 AND j.run_after <= now()
                                ORDER BY j.run_after, j.id LIMIT n) c);
        IF cardinality(candidates) = 0 THEN
            RETURN NULL;
        END IF;
        SELECT j.id INTO picked FROM mlops.jobs j
        WHERE j.id OPERATOR(pg_catalog.=) ANY (candidates) AND j.state = 'pending'
          AND j.blockers = 0 AND j.run_after <= now()
        ORDER BY j.run_after, j.id
        FOR UPDATE SKIP LOCKED LIMIT 1;
        -- fewer than n of every kind: none left that another claimer does not hold
        IF picked IS NOT NULL OR cardinality(candidates) < n THEN
            RETURN picked;
        END IF;
        n := n * 8;
    END LOOP;
END
$$;
COMMENT ON FUNCTION mlops.lock_runnable_job(text[]) IS
'Locks the oldest runnable job (pending, every dependency succeeded, due) of these kinds that no one else holds; its id, or NULL (claim_job and worker_claim)';

-- mlops.check_submit_kind and mlops.check_submit_deps: the checks submit_job and submit_jobs
-- share, in one place so the two cannot drift apart.  check_submit_kind: the kind is a
-- lower-case identifier the worker serves or an administrator declared (a typo such as
-- "downlaod" is refused here instead of waiting forever for a worker that never comes), and
-- max_attempts is at least 1.
CREATE FUNCTION mlops.check_submit_kind(kind text, max_attempts int)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid job kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A kind is a lower-case identifier such as sql, download or train.';
    END IF;
    IF NOT (kind OPERATOR(pg_catalog.=) ANY (mlops.worker_kinds()))
       AND NOT EXISTS (SELECT 1 FROM mlops.declared_kinds d WHERE d.kind OPERATOR(pg_catalog.=) check_submit_kind.kind) THEN
        RAISE EXCEPTION 'unknown job kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('The worker serves %s; declared for external workers: %s. An administrator declares a kind with mlops.declare_kind(%L).',
                                           pg_catalog.array_to_string(mlops.worker_kinds(), ', '),
                                           coalesce((SELECT pg_catalog.string_agg(d.kind, ', ' ORDER BY d.kind) FROM mlops.declared_kinds d), 'none'),
                                           kind);
    END IF;
    IF max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts must be at least 1, not %', max_attempts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION mlops.check_submit_kind(text, int) IS
'submit_job''s and submit_jobs'' checks of the kind (a lower-case identifier, the worker''s or declared) and of max_attempts';
REVOKE ALL ON FUNCTION mlops.check_submit_kind(text, int) FROM PUBLIC;

-- check_submit_deps: a worker kind needs a running worker; each dependency must be a job the
-- caller may see (another role's job is as unknown as one that does not exist); then the
-- dependencies are locked and counted (mlops.dependency_blockers).  Called by submit_job and
-- submit_jobs, which run as the extension's owner: mlops.may_manage_job judges the calling role.
CREATE FUNCTION mlops.check_submit_deps(kind text, depends_on bigint[],
                                        OUT blockers int, OUT failed_id bigint, OUT failed_state text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing bigint;
BEGIN
    IF kind OPERATOR(pg_catalog.=) ANY (mlops.worker_kinds()) AND NOT mlops.worker_running() THEN
        RAISE EXCEPTION 'no pg_mlops worker serves database "%"', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pg_mlops to shared_preload_libraries, set mlops.database_name to this database and restart the server.';
    END IF;
    SELECT d INTO missing FROM unnest(depends_on) d
    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs j
                      WHERE j.id OPERATOR(pg_catalog.=) d AND mlops.may_manage_job(j.submitted_by))
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'job % does not exist', missing
            USING ERRCODE = 'foreign_key_violation', DETAIL = 'depends_on names jobs of the calling role that must exist.';
    END IF;
    SELECT b.blockers, b.failed_id, b.failed_state INTO blockers, failed_id, failed_state
    FROM mlops.dependency_blockers(depends_on) b;
END
$$;
COMMENT ON FUNCTION mlops.check_submit_deps(text, bigint[]) IS
'submit_job''s and submit_jobs'' checks of the worker and of depends_on (jobs the calling role may see), then the dependencies locked and counted';
REVOKE ALL ON FUNCTION mlops.check_submit_deps(text, bigint[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION mlops.submit_job(kind text, params jsonb DEFAULT '{}',
                                 depends_on bigint[] DEFAULT '{}', max_attempts int DEFAULT 3,
                                 run_after timestamptz DEFAULT now(), run_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id bigint;
    blocked_by int;
    failed_id bigint;
    failed_state text;
BEGIN
    IF kind IS NULL OR params IS NULL OR depends_on IS NULL OR max_attempts IS NULL OR run_after IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.submit_job must not be NULL (but run_id)'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM mlops.check_submit_kind(kind, max_attempts);
    PERFORM mlops.validate_job(kind, params);
    SELECT c.blockers, c.failed_id, c.failed_state INTO blocked_by, failed_id, failed_state
    FROM mlops.check_submit_deps(kind, depends_on) c;
    -- the owner is the calling role (this function runs as its owner); behind a failed or
    -- cancelled dependency the job fails at once, as its dependents would
    INSERT INTO mlops.jobs (kind, params, depends_on, max_attempts, run_after, run_id, submitted_by,
                            blockers, state, finished_at, error)
    VALUES (kind, params, depends_on, max_attempts, run_after, run_id, mlops.calling_role(),
            CASE WHEN failed_id IS NULL THEN blocked_by ELSE 0 END,
            CASE WHEN failed_id IS NULL THEN 'pending' ELSE 'failed' END,
            CASE WHEN failed_id IS NOT NULL THEN now() END,
            CASE WHEN failed_id IS NOT NULL THEN format('dependency %s %s', failed_id, failed_state) END)
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
    deps record;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) retry_job.id FOR UPDATE;
    IF NOT FOUND OR NOT mlops.may_manage_job(j.submitted_by) THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF j.state NOT IN ('failed', 'cancelled') THEN
        RETURN false;
    END IF;
    SELECT * INTO deps FROM mlops.dependency_blockers(j.depends_on);
    IF deps.failed_id IS NOT NULL THEN
        RAISE EXCEPTION 'job % depends on job %, which %', id, deps.failed_id,
            CASE deps.failed_state WHEN 'failed' THEN 'failed' ELSE 'was cancelled' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Retry job %s first.', deps.failed_id);
    END IF;
    UPDATE mlops.jobs
    SET state = 'pending', attempts = 0, error = NULL, result = NULL, progress = 0,
        progress_message = NULL, run_after = now(), finished_at = NULL, started_at = NULL,
        cancel_requested = false, claimed_by = NULL, worker_pid = NULL, lease_until = NULL,
        lease_token = NULL, blockers = deps.blockers
    WHERE jobs.id OPERATOR(pg_catalog.=) retry_job.id;
    PERFORM mlops.wake_workers();
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.retry_job(bigint) IS 'Queues a failed or cancelled job again, with its attempts reset (it waits for dependencies not yet succeeded; a failed dependency is refused); false for other states';

-- mlops.xid_in_progress: whether the transaction with this 32-bit id (a row's xmin) is still in
-- progress; the id is placed in the epoch of the current snapshot.
CREATE FUNCTION mlops.xid_in_progress(writer bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    horizon bigint := pg_snapshot_xmax(pg_current_snapshot())::text::bigint;
    full_xid bigint := (horizon OPERATOR(pg_catalog.>>) 32 OPERATOR(pg_catalog.<<) 32) OPERATOR(pg_catalog.+) writer;
BEGIN
    IF writer OPERATOR(pg_catalog.<) 3 THEN
        RETURN false;    -- bootstrap and frozen ids
    END IF;
    -- ids of this transaction may lie past the snapshot's horizon; live ids lie within 2^31 of it
    IF full_xid OPERATOR(pg_catalog.>) (horizon OPERATOR(pg_catalog.+) 2147483648) THEN
        full_xid := full_xid OPERATOR(pg_catalog.-) 4294967296;
    ELSIF full_xid OPERATOR(pg_catalog.<) (horizon OPERATOR(pg_catalog.-) 2147483648) THEN
        full_xid := full_xid OPERATOR(pg_catalog.+) 4294967296;
    END IF;
    RETURN full_xid OPERATOR(pg_catalog.>=) 0
       AND pg_xact_status(full_xid::text::xid8) IS NOT DISTINCT FROM 'in progress';
END
$$;
COMMENT ON FUNCTION mlops.xid_in_progress(bigint) IS
'Whether the transaction that wrote a row (its xmin, as a number) is still in progress (mlops.wait_job: a job queued in this transaction)';
REVOKE ALL ON FUNCTION mlops.xid_in_progress(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION mlops.wait_job(id bigint, timeout interval DEFAULT '1 minute')
RETURNS text
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
    st text;
    submitter oid;
    row_xid bigint;
BEGIN
    SELECT j.state, j.submitted_by, j.xmin::text::bigint INTO st, submitter, row_xid
    FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) wait_job.id;
    IF NOT FOUND OR NOT mlops.may_manage_job(submitter) THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    -- the worker cannot see a job before the transaction that queued (or changed) it commits:
    -- a row this session sees whose writer is still in progress was written by this very
    -- transaction (or one of its subtransactions)
    IF mlops.xid_in_progress(row_xid) THEN
        RAISE EXCEPTION 'job % was queued or changed in this transaction, which the worker cannot see yet', id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Commit first, then wait for the job.';
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
       j.created_at, j.started_at, j.finished_at, j.run_id, j.params, j.result
FROM mlops.jobs j
LEFT JOIN mlops.live_progress() l ON l.id OPERATOR(pg_catalog.=) j.id AND j.state = 'running'
CROSS JOIN LATERAL (SELECT coalesce(l.progress, j.progress) AS progress,
                           CASE WHEN l.id IS NULL THEN j.progress_message ELSE l.message END AS message) p
WHERE mlops.may_manage_job(j.submitted_by);
COMMENT ON VIEW mlops.job_progress IS
'Jobs of the calling role with a text progress bar, for people in psql; a running sql job''s progress shows as soon as it reports it; params (which never hold secrets: credentials are named), result and error';

CREATE OR REPLACE FUNCTION mlops.claim_job(kinds text[], lease interval DEFAULT '5 minutes')
RETURNS mlops.jobs
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
    picked bigint;
BEGIN
    IF lease <= interval '0' THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kinds OPERATOR(pg_catalog.&&) mlops.worker_kinds() THEN
        RAISE EXCEPTION 'kinds % are served by the pg_mlops worker', mlops.worker_kinds()
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'External workers claim kinds of their own, such as train.';
    END IF;
    picked := mlops.lock_runnable_job(kinds);
    IF picked IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'external',
        claimed_role = mlops.calling_role(), worker_pid = pg_backend_pid(),
        lease_until = now() + lease, lease_token = gen_random_uuid(), heartbeat_at = now(), error = NULL
    WHERE u.id OPERATOR(pg_catalog.=) picked
    RETURNING u.* INTO j;
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
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
    picked bigint := mlops.lock_runnable_job(kinds);
BEGIN
    IF picked IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'worker',
        worker_pid = pid, heartbeat_at = now(), error = NULL
    WHERE u.id OPERATOR(pg_catalog.=) picked
    RETURNING u.* INTO j;
    RETURN j;
END
$$;
COMMENT ON FUNCTION mlops.worker_claim(text[], int) IS 'The background worker takes the oldest runnable job of its kinds';

CREATE FUNCTION mlops.worker_succeed(id bigint, attempt int, result jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE mlops.jobs j SET state = 'succeeded', result = $3, progress = 1, finished_at = now()
    WHERE j.id OPERATOR(pg_catalog.=) $1 AND j.state = 'running' AND j.claimed_by = 'worker'
      AND j.attempts OPERATOR(pg_catalog.=) $2;
    RETURN FOUND;
END
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
    -- (dependents of a failed or cancelled job fail at once: mlops.jobs_release_dependents)
    -- finished jobs past their retention, in batches
    DELETE FROM mlops.jobs
    WHERE id IN (SELECT id FROM mlops.jobs WHERE finished_at < now() - retention LIMIT 1000);
    GET DIAGNOSTICS c = ROW_COUNT;
    n := n + c;
    -- geocode answers older than mlops.geocode_cache_max_age (which no job may use any more),
    -- in batches; a setting of 0 (the cache unused for now) removes nothing
    SELECT s.setting::int INTO c FROM pg_settings s WHERE s.name = 'mlops.geocode_cache_max_age';
    IF c > 0 THEN
        DELETE FROM mlops.geocode_cache
        WHERE ctid IN (SELECT g.ctid FROM mlops.geocode_cache g
                       WHERE g.fetched_at < now() - make_interval(secs => c) LIMIT 1000);
        GET DIAGNOSTICS c = ROW_COUNT;
        n := n + c;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION mlops.worker_maintain(interval) IS
'The background worker''s periodic pass: jobs of dead workers and expired leases back to pending, old jobs and geocode answers past mlops.geocode_cache_max_age deleted';

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
        WHEN 'http' THEN required := '{url}'; allowed := '{url,username,password,bearer_token,key}';
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
'Creates or replaces a storage credential (webdav: url, username, password; s3: endpoint, bucket, access_key, secret_key, region, path_style, part_size_mb; http: url, username, password, bearer_token, key (a geocoding service''s API key)). Administrators only';

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

-- Pipelines (new in 0.2.0): jobs learn which step of a run they are.
ALTER TABLE mlops.jobs ADD COLUMN step text;
------------------------------------------------------------------------------
-- Pipelines: templates of steps (jobs) with config defaults, runs whose id is a
-- hash of the pipeline and its merged config (the same config is the same run),
-- steps that pass results on through {"$ref": "..."}, fan-out over arrays, and
-- reruns of only what failed or is missing.  Steps run as jobs of the role that
-- started the run; the run advances when a step's job ends (a trigger on
-- mlops.jobs, in the same transaction).
------------------------------------------------------------------------------

-- mlops.canonical_json: objects with keys sorted by their UTF-8 bytes, no
-- spaces, strings and numbers as PostgreSQL's jsonb prints them.
CREATE FUNCTION mlops.canonical_json(value jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE jsonb_typeof($1)
        WHEN 'object' THEN '{' || coalesce((SELECT string_agg(to_json(e.key)::text || ':' || mlops.canonical_json(e.value),
                                                             ',' ORDER BY e.key COLLATE "C")
                                            FROM jsonb_each($1) e), '') || '}'
        WHEN 'array' THEN '[' || coalesce((SELECT string_agg(mlops.canonical_json(e.value), ',' ORDER BY e.n)
                                           FROM jsonb_array_elements($1) WITH ORDINALITY e(value, n)), '') || ']'
        ELSE $1::text
    END
$$;
COMMENT ON FUNCTION mlops.canonical_json(jsonb) IS
'Canonical JSON text: object keys sorted by their UTF-8 bytes, no spaces, strings and numbers as jsonb prints them (run ids hash it)';

-- mlops.json_merge: objects merge key by key (recursively); arrays, scalars and
-- null in "over" replace what "base" has.
CREATE FUNCTION mlops.json_merge(base jsonb, over jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN $2 IS NULL THEN $1
        WHEN jsonb_typeof($1) = 'object' AND jsonb_typeof($2) = 'object' THEN
            (SELECT coalesce(jsonb_object_agg(k, CASE WHEN b.value IS NULL THEN o.value
                                                      WHEN o.value IS NULL THEN b.value
                                                      ELSE mlops.json_merge(b.value, o.value) END), '{}')
             FROM jsonb_each($1) b FULL JOIN jsonb_each($2) o USING (key), LATERAL (SELECT key) x(k))
        ELSE $2
    END
$$;
COMMENT ON FUNCTION mlops.json_merge(jsonb, jsonb) IS
'Deep merge of two JSON values: objects merge key by key, arrays and scalars of the second replace the first''s (a run''s config is its template''s defaults merged with its params)';

-- mlops.luigi_task_id: the id Luigi gives a task (luigi.task.task_id_str): the
-- family, the first 16 characters of the values of the first three parameters
-- by name (other than letters, digits and "_" made "_"), and the first 10 hex
-- digits of the MD5 of json.dumps(params, separators=(',', ':'), sort_keys=True)
-- (ASCII only, as Python writes it).
CREATE FUNCTION mlops.python_json_string(s text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '"' || coalesce(string_agg(
        CASE
            WHEN c = '"' THEN '\"'
            WHEN c = '\' THEN '\\'
            WHEN c = E'\n' THEN '\n'
            WHEN c = E'\r' THEN '\r'
            WHEN c = E'\t' THEN '\t'
            WHEN c = E'\b' THEN '\b'
            WHEN c = E'\f' THEN '\f'
            WHEN ascii(c) BETWEEN 32 AND 126 THEN c
            WHEN ascii(c) < 65536 THEN '\u' || lpad(to_hex(ascii(c)), 4, '0')
            ELSE '\u' || lpad(to_hex(55296 + ((ascii(c) - 65536) >> 10)), 4, '0')
                 || '\u' || lpad(to_hex(56320 + ((ascii(c) - 65536) & 1023)), 4, '0')
        END, '' ORDER BY n), '') || '"'
    FROM regexp_split_to_table($1, '') WITH ORDINALITY t(c, n)
    WHERE c <> ''
$$;
COMMENT ON FUNCTION mlops.python_json_string(text) IS
'A string as Python''s json.dumps writes it (ensure_ascii: \uXXXX escapes, surrogate pairs beyond the BMP)';

CREATE FUNCTION mlops.luigi_task_id(family text, params jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad text;
    param_str text;
    summary text;
BEGIN
    IF jsonb_typeof(params) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object of parameter names and values'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT e.key INTO bad FROM jsonb_each(params) e WHERE jsonb_typeof(e.value) <> 'string' LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'parameter "%" is not a string', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Luigi identifies a task by its parameters serialized as strings (Parameter.serialize): pass them so.';
    END IF;
    SELECT '{' || coalesce(string_agg(mlops.python_json_string(e.key) || ':' || mlops.python_json_string(e.value #>> '{}'),
                                      ',' ORDER BY e.key COLLATE "C"), '') || '}'
    INTO param_str FROM jsonb_each(params) e;
    SELECT coalesce(string_agg(left(v, 16), '_' ORDER BY k COLLATE "C"), '')
    INTO summary
    FROM (SELECT e.key AS k, e.value #>> '{}' AS v FROM jsonb_each(params) e ORDER BY e.key COLLATE "C" LIMIT 3) s;
    RETURN family || '_' || regexp_replace(summary, '[^A-Za-z0-9_]', '_', 'g') || '_' || left(md5(param_str), 10);
END
$$;
COMMENT ON FUNCTION mlops.luigi_task_id(text, jsonb) IS
'The task id Luigi gives a task of this family and these (string) parameters (luigi.task.task_id_str), so existing folder names can be kept';

CREATE TABLE mlops.pipeline_versions (
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    version int NOT NULL CHECK (version >= 1),
    steps jsonb NOT NULL,
    defaults jsonb NOT NULL DEFAULT '{}',
    description text,
    options jsonb NOT NULL DEFAULT '{}',
    owner regrole NOT NULL DEFAULT mlops.calling_role(),
    dropped boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    builtin boolean NOT NULL DEFAULT false,
    PRIMARY KEY (name, version)
);
COMMENT ON TABLE mlops.pipeline_versions IS
'Every version of every pipeline template (mlops.define_pipeline); runs keep the version they started with';
REVOKE ALL ON mlops.pipeline_versions FROM PUBLIC;
-- the templates the extension installs are made again by CREATE EXTENSION, not dumped
SELECT pg_catalog.pg_extension_config_dump('mlops.pipeline_versions', 'WHERE NOT builtin');

CREATE VIEW mlops.pipelines AS
    SELECT DISTINCT ON (v.name) v.name, v.version, v.description, jsonb_array_length(v.steps) AS steps,
           v.defaults, v.options, v.owner, v.created_at
    FROM mlops.pipeline_versions v
    WHERE NOT v.dropped
    ORDER BY v.name, v.version DESC;
COMMENT ON VIEW mlops.pipelines IS 'The current version of every pipeline template';
GRANT SELECT ON mlops.pipelines TO PUBLIC;

-- mlops.pipeline_refs lists the {"$ref": "..."} paths in a JSON value.
CREATE FUNCTION mlops.pipeline_refs(value jsonb)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN jsonb_typeof(value -> '$ref') = 'string' THEN value ->> '$ref' ELSE '' END
    WHERE jsonb_typeof(value) = 'object' AND value ? '$ref'
    UNION ALL
    SELECT r FROM jsonb_each(CASE WHEN jsonb_typeof(value) = 'object' AND NOT value ? '$ref' THEN value ELSE '{}' END) e,
                  mlops.pipeline_refs(e.value) r
    UNION ALL
    SELECT r FROM jsonb_array_elements(CASE WHEN jsonb_typeof(value) = 'array' THEN value ELSE '[]' END) e,
                  mlops.pipeline_refs(e) r
$$;
COMMENT ON FUNCTION mlops.pipeline_refs(jsonb) IS 'The paths of the {"$ref": "..."} objects in a JSON value';

CREATE FUNCTION mlops.define_pipeline(name text, steps jsonb, defaults jsonb DEFAULT '{}',
                                      description text DEFAULT NULL, options jsonb DEFAULT '{}')
RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb;
    k text;
    r text;
    names text[] := '{}';
    step_keys text[] := '{name,kind,params,depends_on,for_each,retries,timeout,external,output}';
    ordered jsonb := '[]';
    done text[] := '{}';
    progress boolean;
    ancestors jsonb := '{}';
    anc text[];
    current record;
    v int;
BEGIN
    IF name IS NULL OR steps IS NULL OR defaults IS NULL OR options IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.define_pipeline must not be NULL (but description)'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid pipeline name "%"', name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A pipeline name is a lower-case identifier.';
    END IF;
    IF jsonb_typeof(defaults) <> 'object' THEN
        RAISE EXCEPTION 'defaults must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF k NOT IN ('allow_extra_keys', 'rerun') THEN
            RAISE EXCEPTION 'unknown pipeline option "%"', k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid options are allow_extra_keys and rerun.';
        END IF;
    END LOOP;
    IF options ? 'rerun' AND options ->> 'rerun' IS DISTINCT FROM 'never' AND options ->> 'rerun' IS DISTINCT FROM 'always' THEN
        RAISE EXCEPTION 'option rerun must be "never" or "always"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF options ? 'allow_extra_keys' AND jsonb_typeof(options -> 'allow_extra_keys') <> 'boolean' THEN
        RAISE EXCEPTION 'option allow_extra_keys must be true or false' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(steps) <> 'array' OR jsonb_array_length(steps) = 0 THEN
        RAISE EXCEPTION 'steps must be a non-empty JSON array of step objects' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- each step on its own
    FOR s IN SELECT jsonb_array_elements(steps) LOOP
        IF jsonb_typeof(s) <> 'object' THEN
            RAISE EXCEPTION 'a step must be a JSON object, not %', s USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR k IN SELECT jsonb_object_keys(s) LOOP
            IF NOT k = ANY (step_keys) THEN
                RAISE EXCEPTION 'unknown key "%" in step %', k, coalesce(s ->> 'name', '?')
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid keys are ' || array_to_string(step_keys, ', ') || '.';
            END IF;
        END LOOP;
        IF jsonb_typeof(s -> 'name') IS DISTINCT FROM 'string' OR s ->> 'name' !~ '^[a-z][a-z0-9_]{0,62}$' THEN
            RAISE EXCEPTION 'every step needs a name, a lower-case identifier (got %)', coalesce(s -> 'name', 'none')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ->> 'name' = ANY (names) THEN
            RAISE EXCEPTION 'two steps are named %', s ->> 'name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        names := names || (s ->> 'name');
        IF jsonb_typeof(s -> 'kind') IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'step % needs a kind', s ->> 'name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NOT (s ->> 'kind' = ANY (mlops.worker_kinds())) AND NOT coalesce((s ->> 'external')::boolean, false) THEN
            RAISE EXCEPTION 'step % has an unknown kind "%"', s ->> 'name', s ->> 'kind'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Kinds the worker serves are ' || array_to_string(mlops.worker_kinds(), ', ')
                             || '; a kind for external workers needs "external": true.';
        END IF;
        IF s ? 'external' AND jsonb_typeof(s -> 'external') <> 'boolean' THEN
            RAISE EXCEPTION 'external of step % must be true or false', s ->> 'name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'params' AND jsonb_typeof(s -> 'params') <> 'object' THEN
            RAISE EXCEPTION 'params of step % must be a JSON object', s ->> 'name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'depends_on' AND (jsonb_typeof(s -> 'depends_on') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(s -> 'depends_on') d WHERE jsonb_typeof(d) <> 'string')) THEN
            RAISE EXCEPTION 'depends_on of step % must be an array of step names', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'retries' AND (jsonb_typeof(s -> 'retries') <> 'number' OR (s ->> 'retries')::numeric NOT BETWEEN 0 AND 100
                              OR (s ->> 'retries')::numeric <> trunc((s ->> 'retries')::numeric)) THEN
            RAISE EXCEPTION 'retries of step % must be a whole number from 0 to 100', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'timeout' AND (jsonb_typeof(s -> 'timeout') <> 'number' OR (s ->> 'timeout')::numeric <= 0) THEN
            RAISE EXCEPTION 'timeout of step % must be a positive number of seconds', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'timeout' AND s ->> 'kind' NOT IN ('sql', 'export') THEN
            RAISE EXCEPTION 'step % has a timeout, which only sql and export steps take', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'for_each' AND (jsonb_typeof(s -> 'for_each') <> 'object' OR jsonb_typeof(s -> 'for_each' -> '$ref') <> 'string') THEN
            RAISE EXCEPTION 'for_each of step % must be a reference, such as {"$ref": "config.files"}', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'output' AND (jsonb_typeof(s -> 'output') <> 'object'
                             OR NOT (s -> 'output') ?& ARRAY['credential', 'object']
                             OR EXISTS (SELECT 1 FROM jsonb_each(s -> 'output') e
                                        WHERE e.key NOT IN ('credential', 'object')
                                           OR (jsonb_typeof(e.value) <> 'string'
                                               AND NOT (jsonb_typeof(e.value) = 'object'
                                                        AND jsonb_typeof(e.value -> '$ref') = 'string')))) THEN
            RAISE EXCEPTION 'output of step % must be {"credential": ..., "object": ...}, each a string or a reference', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Valid keys of output are credential and object: the object in storage whose existence means the step is done.';
        END IF;
        IF s ? 'output' AND coalesce((s ->> 'external')::boolean, false) THEN
            RAISE EXCEPTION 'step % is external and has an output: only steps the worker serves may have one', s ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;

    -- dependencies name steps; the graph has no cycle: order the steps topologically
    FOR s IN SELECT jsonb_array_elements(steps) LOOP
        FOR k IN SELECT jsonb_array_elements_text(coalesce(s -> 'depends_on', '[]')) LOOP
            IF NOT k = ANY (names) THEN
                RAISE EXCEPTION 'step % depends on an unknown step "%"', s ->> 'name', k
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Steps are ' || array_to_string(names, ', ') || '.';
            END IF;
        END LOOP;
    END LOOP;
    LOOP
        progress := false;
        FOR s IN SELECT e FROM jsonb_array_elements(steps) e WHERE NOT (e ->> 'name') = ANY (done) LOOP
            IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(s -> 'depends_on', '[]')) d
                           WHERE NOT d = ANY (done)) THEN
                -- its ancestors: its dependencies and theirs
                SELECT coalesce(array_agg(DISTINCT a), '{}') INTO anc
                FROM (SELECT d AS a FROM jsonb_array_elements_text(coalesce(s -> 'depends_on', '[]')) d
                      UNION ALL
                      SELECT jsonb_array_elements_text(ancestors -> d)
                      FROM jsonb_array_elements_text(coalesce(s -> 'depends_on', '[]')) d) x;
                ancestors := ancestors || jsonb_build_object(s ->> 'name', to_jsonb(anc));
                ordered := ordered || jsonb_build_array(jsonb_build_object(
                    'name', s -> 'name', 'kind', s -> 'kind', 'params', coalesce(s -> 'params', '{}'),
                    'depends_on', coalesce(s -> 'depends_on', '[]'), 'for_each', s -> 'for_each',
                    'retries', coalesce(s -> 'retries', '0'), 'timeout', s -> 'timeout', 'output', s -> 'output'));
                done := done || (s ->> 'name');
                progress := true;
            END IF;
        END LOOP;
        EXIT WHEN NOT progress;
    END LOOP;
    IF cardinality(done) < cardinality(names) THEN
        RAISE EXCEPTION 'the steps form a cycle: % depend on each other',
            (SELECT string_agg(n, ', ') FROM unnest(names) n WHERE NOT n = ANY (done))
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- references: config.*, run.id, item (in a for_each step), steps.<ancestor>.result...
    FOR current IN SELECT e AS s, e ->> 'name' AS n FROM jsonb_array_elements(ordered) e LOOP
        FOR r IN SELECT mlops.pipeline_refs(jsonb_build_object('params', current.s -> 'params', 'for_each', current.s -> 'for_each',
                                                               'output', current.s -> 'output')) LOOP
            IF r !~ '^(config(\.[^.]+)*|run\.id|item(\.[^.]+)*|steps\.[a-z][a-z0-9_]*\.result(\.[^.]+)*)$' THEN
                RAISE EXCEPTION 'step % has an invalid reference "%"', current.n, r
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A reference is {"$ref": "config.<key>..."}, {"$ref": "steps.<step>.result..."}, {"$ref": "item..."} or {"$ref": "run.id"}.';
            END IF;
            IF r ~ '^item' AND (jsonb_typeof(current.s -> 'for_each') IS DISTINCT FROM 'object'
                                OR (current.s -> 'for_each' ->> '$ref') ~ '^item') THEN
                RAISE EXCEPTION 'step % refers to "%" but has no for_each', current.n, r
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF r ~ '^steps\.' AND NOT (split_part(r, '.', 2) IN (SELECT jsonb_array_elements_text(ancestors -> current.n))) THEN
                RAISE EXCEPTION 'step % refers to step "%", which is not among the steps it depends on', current.n, split_part(r, '.', 2)
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Add it to depends_on (a result exists only once its step has run).';
            END IF;
        END LOOP;
    END LOOP;

    -- a new version; replacing another role's pipeline is for administrators
    PERFORM pg_advisory_xact_lock(hashtext('mlops.pipeline:' || name));
    IF EXISTS (SELECT 1 FROM mlops.pipeline_versions p
               WHERE p.name OPERATOR(pg_catalog.=) define_pipeline.name AND NOT p.dropped
                 AND NOT mlops.owns(p.owner)) THEN
        RAISE EXCEPTION 'pipeline "%" belongs to another role', name USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT coalesce(max(p.version), 0) + 1 INTO v FROM mlops.pipeline_versions p
    WHERE p.name OPERATOR(pg_catalog.=) define_pipeline.name;
    INSERT INTO mlops.pipeline_versions (name, version, steps, defaults, description, options, owner)
    VALUES (name, v, ordered, defaults, description, options, mlops.calling_role());
    RETURN v;
END
$$;
COMMENT ON FUNCTION mlops.define_pipeline(text, jsonb, jsonb, text, jsonb) IS
'Defines (or replaces, as a new version) a pipeline template: steps (name, kind, params, depends_on, for_each, retries, timeout, external, output), config defaults, options allow_extra_keys and rerun (scheduled runs: never = the same config is the same run, always = a run per tick); refuses unknown steps, kinds and references and cycles; returns the version';

CREATE FUNCTION mlops.drop_pipeline(name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM mlops.pipeline_versions p
               WHERE p.name OPERATOR(pg_catalog.=) drop_pipeline.name AND NOT p.dropped AND NOT mlops.owns(p.owner)) THEN
        RAISE EXCEPTION 'pipeline "%" belongs to another role', name USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE mlops.pipeline_versions p SET dropped = true
    WHERE p.name OPERATOR(pg_catalog.=) drop_pipeline.name AND NOT p.dropped;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mlops.drop_pipeline(text) IS
'Drops a pipeline template (its versions stay for the runs that used them); false when there was none';

CREATE TABLE mlops.runs (
    owner regrole NOT NULL,
    run_id text NOT NULL CHECK (run_id ~ '^[A-Za-z0-9_.-]{1,100}$'),
    pipeline text NOT NULL,
    version int NOT NULL,
    config jsonb NOT NULL,
    state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (owner, run_id),
    FOREIGN KEY (pipeline, version) REFERENCES mlops.pipeline_versions (name, version)
);
CREATE INDEX runs_finished ON mlops.runs (finished_at) WHERE finished_at IS NOT NULL;
COMMENT ON TABLE mlops.runs IS
'Pipeline runs: the role that started each, its pipeline version, merged config and state; kept apart from job retention (mlops.run_retention)';
SELECT pg_catalog.pg_extension_config_dump('mlops.runs', '');

CREATE TABLE mlops.run_steps (
    owner regrole NOT NULL,
    run_id text NOT NULL,
    step text NOT NULL,
    ord int NOT NULL,
    state text NOT NULL DEFAULT 'waiting'
        CHECK (state IN ('waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')),
    job_ids bigint[] NOT NULL DEFAULT '{}',
    jobs_ended int NOT NULL DEFAULT 0,
    jobs_succeeded int NOT NULL DEFAULT 0,
    jobs_cancelled int NOT NULL DEFAULT 0,
    checking boolean NOT NULL DEFAULT false,   -- its jobs are the stat jobs of its output
    result jsonb,
    error text,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (owner, run_id, step),
    FOREIGN KEY (owner, run_id) REFERENCES mlops.runs (owner, run_id) ON DELETE CASCADE
);
COMMENT ON TABLE mlops.run_steps IS
'Each step of each run: its state, its jobs (one, or one per element of a fan-out) and its result; deleting a step''s row makes rerun(..., ''missing'') run it again';
SELECT pg_catalog.pg_extension_config_dump('mlops.run_steps', '');

ALTER TABLE mlops.runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.run_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY runs_owner ON mlops.runs USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
CREATE POLICY run_steps_owner ON mlops.run_steps USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
REVOKE ALL ON mlops.runs, mlops.run_steps FROM PUBLIC;
GRANT SELECT ON mlops.runs, mlops.run_steps TO mlops_admin;

-- mlops.resolve_refs replaces each {"$ref": "a.b.c"} in value by ctx #> {a,b,c};
-- a reference without a value is an error.
CREATE FUNCTION mlops.resolve_refs(value jsonb, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found jsonb;
BEGIN
    IF jsonb_typeof(value) = 'object' AND value ? '$ref' THEN
        found := ctx #> string_to_array(value ->> '$ref', '.');
        IF found IS NULL THEN
            RAISE EXCEPTION 'reference "%" has no value', value ->> '$ref'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN found;
    ELSIF jsonb_typeof(value) = 'object' THEN
        RETURN (SELECT coalesce(jsonb_object_agg(e.key, mlops.resolve_refs(e.value, ctx)), '{}')
                FROM jsonb_each(value) e);
    ELSIF jsonb_typeof(value) = 'array' THEN
        RETURN (SELECT coalesce(jsonb_agg(mlops.resolve_refs(e.value, ctx) ORDER BY e.n), '[]')
                FROM jsonb_array_elements(value) WITH ORDINALITY e(value, n));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION mlops.resolve_refs(jsonb, jsonb) IS
'Replaces every {"$ref": "path.to.value"} in a JSON value by that path in a context (config, steps, item, run)';

-- mlops.resolve_refs(value, ctx, item): the same with the element of a for_each
-- step apart ("item..." references), so that a fan-out does not copy the whole
-- context (every earlier result, a listing of thousands of objects) per element:
-- 10,000 elements took minutes with ctx || {"item": ...}, now a fraction of a second.
CREATE FUNCTION mlops.resolve_refs(value jsonb, ctx jsonb, item jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found jsonb;
    path text[];
BEGIN
    IF jsonb_typeof(value) = 'object' AND value ? '$ref' THEN
        path := string_to_array(value ->> '$ref', '.');
        found := CASE WHEN path[1] = 'item' THEN jsonb_build_object('item', item) #> path ELSE ctx #> path END;
        IF found IS NULL THEN
            RAISE EXCEPTION 'reference "%" has no value', value ->> '$ref'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN found;
    ELSIF jsonb_typeof(value) = 'object' THEN
        RETURN (SELECT coalesce(jsonb_object_agg(e.key, mlops.resolve_refs(e.value, ctx, item)), '{}')
                FROM jsonb_each(value) e);
    ELSIF jsonb_typeof(value) = 'array' THEN
        RETURN (SELECT coalesce(jsonb_agg(mlops.resolve_refs(e.value, ctx, item) ORDER BY e.n), '[]')
                FROM jsonb_array_elements(value) WITH ORDINALITY e(value, n));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION mlops.resolve_refs(jsonb, jsonb, jsonb) IS
'Replaces every {"$ref": ...} in a JSON value: "item..." references by the given for_each element, the others by that path in a context (config, steps, run)';

-- mlops.run_notify: NOTIFY mlops_runs with the run's id and state.
CREATE FUNCTION mlops.runs_notify() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
        PERFORM pg_notify('mlops_runs', json_build_object('run_id', NEW.run_id, 'state', NEW.state)::text);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION mlops.runs_notify() IS 'Trigger: NOTIFY mlops_runs with {run_id, state} when a run starts or changes state';
CREATE TRIGGER runs_notify AFTER INSERT OR UPDATE ON mlops.runs
    FOR EACH ROW EXECUTE FUNCTION mlops.runs_notify();

-- mlops.run_advance queues every step of a run whose dependencies all
-- succeeded, skips those behind a failed one, and ends the run when no step
-- can move.  Runs as the extension's owner, for the run's owner.
CREATE FUNCTION mlops.run_advance(run_owner oid, id text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r mlops.runs;
    tmpl jsonb;
    st record;
    s jsonb;
    ctx jsonb;
    items jsonb;
    params jsonb;
    jobs bigint[];
    new_job bigint;
    moved boolean;
    err text;
    item jsonb;
BEGIN
    SELECT * INTO r FROM mlops.runs WHERE owner OPERATOR(pg_catalog.=) run_owner AND run_id OPERATOR(pg_catalog.=) id FOR UPDATE;
    IF NOT FOUND OR r.state <> 'running' THEN
        RETURN;
    END IF;
    SELECT v.steps INTO tmpl FROM mlops.pipeline_versions v
    WHERE v.name OPERATOR(pg_catalog.=) r.pipeline AND v.version OPERATOR(pg_catalog.=) r.version;
    LOOP
        moved := false;
        -- steps behind a failed, cancelled or skipped dependency are skipped
        UPDATE mlops.run_steps rs SET state = 'skipped', finished_at = now()
        FROM jsonb_array_elements(tmpl) t
        WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id
          AND rs.state = 'waiting' AND rs.step = t ->> 'name'
          AND EXISTS (SELECT 1 FROM mlops.run_steps d
                      WHERE d.owner OPERATOR(pg_catalog.=) run_owner AND d.run_id OPERATOR(pg_catalog.=) id
                        AND d.step = ANY (ARRAY(SELECT jsonb_array_elements_text(t -> 'depends_on')))
                        AND d.state IN ('failed', 'cancelled', 'skipped'));
        IF FOUND THEN
            moved := true;
        END IF;
        FOR st IN SELECT rs.step, t AS def FROM mlops.run_steps rs JOIN jsonb_array_elements(tmpl) t ON t ->> 'name' = rs.step
                  WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id AND rs.state = 'waiting'
                    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(t -> 'depends_on') d
                                    WHERE NOT EXISTS (SELECT 1 FROM mlops.run_steps ds
                                                      WHERE ds.owner OPERATOR(pg_catalog.=) run_owner
                                                        AND ds.run_id OPERATOR(pg_catalog.=) id
                                                        AND ds.step = d AND ds.state = 'succeeded'))
                  ORDER BY rs.ord LOOP
            s := st.def;
            SELECT jsonb_build_object('config', r.config, 'run', jsonb_build_object('id', r.run_id),
                                      'steps', coalesce(jsonb_object_agg(ds.step, jsonb_build_object('result', ds.result)), '{}'))
            INTO ctx
            FROM mlops.run_steps ds
            WHERE ds.owner OPERATOR(pg_catalog.=) run_owner AND ds.run_id OPERATOR(pg_catalog.=) id AND ds.state = 'succeeded';
            jobs := '{}';
            BEGIN
                IF s -> 'for_each' IS NOT NULL AND jsonb_typeof(s -> 'for_each') <> 'null' THEN
                    items := mlops.resolve_refs(s -> 'for_each', ctx);
                    IF jsonb_typeof(items) <> 'array' THEN
                        RAISE EXCEPTION 'for_each of step % is not an array but %', st.step, jsonb_typeof(items)
                            USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                ELSE
                    items := NULL;
                END IF;
                FOR item IN
                    SELECT i.value FROM jsonb_array_elements(coalesce(items, '[null]')) WITH ORDINALITY i(value, n) ORDER BY i.n LOOP
                    params := mlops.resolve_refs(s -> 'params', ctx, item);
                    IF s ? 'timeout' AND jsonb_typeof(s -> 'timeout') = 'number' THEN
                        params := params || jsonb_build_object('timeout', s -> 'timeout');
                    END IF;
                    IF jsonb_typeof(s -> 'output') = 'object' THEN
                        -- Luigi's rule: first a stat job looks for the output; the step's own
                        -- params are checked only if it runs (mlops.step_checked): its input
                        -- may be gone when its output is there
                        params := mlops.resolve_refs(s -> 'output', ctx, item);
                        PERFORM mlops.validate_job_for('stat', params, run_owner);
                        INSERT INTO mlops.jobs (kind, params, max_attempts, run_id, submitted_by, step)
                        VALUES ('stat', params, 1 + (s ->> 'retries')::int, id, run_owner, st.step)
                        RETURNING jobs.id INTO new_job;
                    ELSE
                        PERFORM mlops.validate_job_for(s ->> 'kind', params, run_owner);
                        INSERT INTO mlops.jobs (kind, params, max_attempts, run_id, submitted_by, step)
                        VALUES (s ->> 'kind', params, 1 + (s ->> 'retries')::int, id, run_owner, st.step)
                        RETURNING jobs.id INTO new_job;
                    END IF;
                    jobs := jobs || new_job;
                END LOOP;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
                UPDATE mlops.run_steps rs SET state = 'failed', error = err, finished_at = now()
                WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id AND rs.step = st.step;
                moved := true;
                CONTINUE;
            END;
            IF cardinality(jobs) = 0 THEN
                -- an empty fan-out has nothing to do
                UPDATE mlops.run_steps rs SET state = 'succeeded', result = '[]', started_at = now(), finished_at = now()
                WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id AND rs.step = st.step;
            ELSE
                UPDATE mlops.run_steps rs SET state = 'queued', job_ids = jobs, started_at = now(),
                                              checking = jsonb_typeof(s -> 'output') = 'object'
                WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id AND rs.step = st.step;
                PERFORM mlops.wake_workers();
            END IF;
            moved := true;
        END LOOP;
        EXIT WHEN NOT moved;
    END LOOP;
    -- the run ends when every step has
    IF NOT EXISTS (SELECT 1 FROM mlops.run_steps rs
                   WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id
                     AND rs.state IN ('waiting', 'queued', 'running')) THEN
        UPDATE mlops.runs u
        SET state = CASE WHEN EXISTS (SELECT 1 FROM mlops.run_steps rs
                                      WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id
                                        AND rs.state <> 'succeeded') THEN 'failed' ELSE 'succeeded' END,
            error = (SELECT format('step %s %s: %s', rs.step, rs.state, rs.error) FROM mlops.run_steps rs
                     WHERE rs.owner OPERATOR(pg_catalog.=) run_owner AND rs.run_id OPERATOR(pg_catalog.=) id
                       AND rs.state IN ('failed', 'cancelled') ORDER BY rs.ord LIMIT 1),
            finished_at = now()
        WHERE u.owner OPERATOR(pg_catalog.=) run_owner AND u.run_id OPERATOR(pg_catalog.=) id;
    END IF;
END
$$;
COMMENT ON FUNCTION mlops.run_advance(oid, text) IS
'Queues the steps of a run whose dependencies succeeded (references resolved, fan-out over for_each; a step with an output gets stat jobs first), skips those behind a failure, and ends the run when nothing can move';

-- mlops.step_checked: the stat jobs of a step with an output ended.  Where the
-- object exists the stat job stands for the step's job (its result gets
-- "skipped": true); elsewhere the step's own job is queued now, and the steps
-- that depend on it (run before, in a rerun) are made to wait for it again.
-- True when the step is still going (or failed here), false when every
-- object exists and the step ends as any step does.
CREATE FUNCTION mlops.step_checked(rs mlops.run_steps)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r mlops.runs;
    tmpl jsonb;
    s jsonb;
    ctx jsonb;
    items jsonb;
    chk mlops.jobs;
    params jsonb;
    ids bigint[] := '{}';
    new_job bigint;
    kept int := 0;
    dependents text[];
    err text;
BEGIN
    SELECT * INTO r FROM mlops.runs x
    WHERE x.owner OPERATOR(pg_catalog.=) rs.owner AND x.run_id OPERATOR(pg_catalog.=) rs.run_id;
    SELECT v.steps INTO tmpl FROM mlops.pipeline_versions v
    WHERE v.name OPERATOR(pg_catalog.=) r.pipeline AND v.version OPERATOR(pg_catalog.=) r.version;
    SELECT t INTO s FROM jsonb_array_elements(tmpl) t WHERE t ->> 'name' = rs.step;
    BEGIN
        SELECT jsonb_build_object('config', r.config, 'run', jsonb_build_object('id', r.run_id),
                                  'steps', coalesce(jsonb_object_agg(ds.step, jsonb_build_object('result', ds.result)), '{}'))
        INTO ctx
        FROM mlops.run_steps ds
        WHERE ds.owner OPERATOR(pg_catalog.=) rs.owner AND ds.run_id OPERATOR(pg_catalog.=) rs.run_id AND ds.state = 'succeeded';
        items := CASE WHEN jsonb_typeof(s -> 'for_each') = 'object' THEN mlops.resolve_refs(s -> 'for_each', ctx) END;
        FOR i IN 1 .. cardinality(rs.job_ids) LOOP
            SELECT * INTO chk FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) rs.job_ids[i];
            IF (chk.result ->> 'exists')::boolean THEN
                UPDATE mlops.jobs j SET result = j.result || '{"skipped": true, "reason": "the step''s output exists"}'
                WHERE j.id OPERATOR(pg_catalog.=) chk.id;
                ids := ids || chk.id;
                kept := kept + 1;
            ELSE
                params := mlops.resolve_refs(s -> 'params', ctx, items -> (i - 1));
                IF jsonb_typeof(s -> 'timeout') = 'number' THEN
                    params := params || jsonb_build_object('timeout', s -> 'timeout');
                END IF;
                PERFORM mlops.validate_job_for(s ->> 'kind', params, rs.owner);
                INSERT INTO mlops.jobs (kind, params, max_attempts, run_id, submitted_by, step)
                VALUES (s ->> 'kind', params, 1 + (s ->> 'retries')::int, rs.run_id, rs.owner, rs.step)
                RETURNING jobs.id INTO new_job;
                ids := ids || new_job;
            END IF;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
        UPDATE mlops.run_steps x SET state = 'failed', error = err, finished_at = now()
        WHERE x.owner OPERATOR(pg_catalog.=) rs.owner AND x.run_id OPERATOR(pg_catalog.=) rs.run_id AND x.step = rs.step;
        RETURN true;
    END;
    IF kept = cardinality(rs.job_ids) THEN
        RETURN false;
    END IF;
    UPDATE mlops.run_steps x
    SET checking = false, job_ids = ids, jobs_ended = kept, jobs_succeeded = kept, jobs_cancelled = 0
    WHERE x.owner OPERATOR(pg_catalog.=) rs.owner AND x.run_id OPERATOR(pg_catalog.=) rs.run_id AND x.step = rs.step;
    -- the step runs again: what depends on it, and ran before, runs after it again
    WITH RECURSIVE dep(name) AS (
        SELECT t ->> 'name' FROM jsonb_array_elements(tmpl) t WHERE t -> 'depends_on' ? rs.step
        UNION
        SELECT t ->> 'name' FROM jsonb_array_elements(tmpl) t, dep WHERE t -> 'depends_on' ? dep.name)
    SELECT coalesce(array_agg(name), '{}') INTO dependents FROM dep;
    UPDATE mlops.run_steps x
    SET state = 'waiting', job_ids = '{}', jobs_ended = 0, jobs_succeeded = 0, jobs_cancelled = 0, checking = false,
        result = NULL, error = NULL, started_at = NULL, finished_at = NULL
    WHERE x.owner OPERATOR(pg_catalog.=) rs.owner AND x.run_id OPERATOR(pg_catalog.=) rs.run_id
      AND x.step = ANY (dependents) AND x.state IN ('succeeded', 'failed', 'cancelled', 'skipped');
    PERFORM mlops.wake_workers();
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.step_checked(mlops.run_steps) IS
'After the stat jobs of a step with an output: where the object exists the step is done for that element (its result says skipped), elsewhere the step''s job is queued and its dependents wait for it again; false when every object exists';

-- mlops.jobs_advance_run: when a step's job ends, the step ends once all its
-- jobs have, and the run moves on, in the same transaction.
CREATE FUNCTION mlops.jobs_advance_run() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rs mlops.run_steps;
    fan_out boolean;
BEGIN
    IF NEW.state = 'running' THEN
        UPDATE mlops.run_steps s SET state = 'running'
        WHERE s.owner OPERATOR(pg_catalog.=) NEW.submitted_by AND s.run_id OPERATOR(pg_catalog.=) NEW.run_id
          AND s.step OPERATOR(pg_catalog.=) NEW.step AND s.state = 'queued';
        RETURN NULL;
    END IF;
    IF NEW.state NOT IN ('succeeded', 'failed', 'cancelled') THEN
        RETURN NULL;
    END IF;
    -- count the job's end (a fan-out of n jobs costs n small updates, not n scans of n jobs)
    UPDATE mlops.run_steps s
    SET jobs_ended = s.jobs_ended + 1,
        jobs_succeeded = s.jobs_succeeded + (NEW.state = 'succeeded')::int,
        jobs_cancelled = s.jobs_cancelled + (NEW.state = 'cancelled')::int,
        error = coalesce(s.error, CASE WHEN NEW.state <> 'succeeded' THEN NEW.error END)
    WHERE s.owner OPERATOR(pg_catalog.=) NEW.submitted_by AND s.run_id OPERATOR(pg_catalog.=) NEW.run_id
      AND s.step OPERATOR(pg_catalog.=) NEW.step AND s.state IN ('queued', 'running')
      AND NEW.id OPERATOR(pg_catalog.=) ANY (s.job_ids)
    RETURNING * INTO rs;
    IF NOT FOUND OR rs.jobs_ended < cardinality(rs.job_ids) THEN
        RETURN NULL;
    END IF;
    -- a step's output was looked for: it is done (its result says so), or it runs now
    IF rs.checking AND rs.jobs_succeeded = cardinality(rs.job_ids) AND mlops.step_checked(rs) THEN
        PERFORM mlops.run_advance(rs.owner, rs.run_id);
        RETURN NULL;
    END IF;
    SELECT jsonb_typeof(t -> 'for_each') = 'object' INTO fan_out
    FROM mlops.runs r
    JOIN mlops.pipeline_versions v ON v.name OPERATOR(pg_catalog.=) r.pipeline AND v.version OPERATOR(pg_catalog.=) r.version,
         jsonb_array_elements(v.steps) t
    WHERE r.owner OPERATOR(pg_catalog.=) rs.owner AND r.run_id OPERATOR(pg_catalog.=) rs.run_id
      AND t ->> 'name' = rs.step;
    UPDATE mlops.run_steps s
    SET state = CASE WHEN rs.jobs_succeeded = cardinality(rs.job_ids) THEN 'succeeded'
                     WHEN rs.jobs_cancelled > 0 THEN 'cancelled' ELSE 'failed' END,
        -- one job: its result; a fan-out: the results in element order
        result = CASE WHEN rs.jobs_succeeded < cardinality(rs.job_ids) THEN NULL
                      WHEN NOT coalesce(fan_out, false)
                          THEN (SELECT j.result FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) rs.job_ids[1])
                      ELSE (SELECT jsonb_agg(j.result ORDER BY u.n) FROM unnest(rs.job_ids) WITH ORDINALITY u(id, n)
                            JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) u.id) END,
        finished_at = now()
    WHERE s.owner OPERATOR(pg_catalog.=) rs.owner AND s.run_id OPERATOR(pg_catalog.=) rs.run_id
      AND s.step OPERATOR(pg_catalog.=) rs.step;
    PERFORM mlops.run_advance(rs.owner, rs.run_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION mlops.jobs_advance_run() IS
'Trigger: when a pipeline step''s last job ends, records the step''s outcome and result and advances its run';
CREATE TRIGGER jobs_advance_run AFTER UPDATE OF state ON mlops.jobs
    FOR EACH ROW WHEN (NEW.step IS NOT NULL AND NEW.state IS DISTINCT FROM OLD.state)
    EXECUTE FUNCTION mlops.jobs_advance_run();

-- mlops.pipeline_config: the current version of a pipeline and the config of a
-- run with these params, checked (mlops.start_run, mlops.schedule_pipeline).
CREATE FUNCTION mlops.pipeline_config(pipeline text, params jsonb, OUT name text, OUT version int,
                                      OUT config jsonb, OUT options jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p mlops.pipeline_versions;
    k text;
BEGIN
    IF pipeline IS NULL OR params IS NULL THEN
        RAISE EXCEPTION 'pipeline and params must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT v.* INTO p FROM mlops.pipeline_versions v
    WHERE v.name OPERATOR(pg_catalog.=) pipeline_config.pipeline AND NOT v.dropped ORDER BY v.version DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline
            USING ERRCODE = 'undefined_object',
                  HINT = coalesce('Pipelines are ' || (SELECT string_agg(x.name, ', ' ORDER BY x.name) FROM mlops.pipelines x) || '.',
                                  'Define one with mlops.define_pipeline.');
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT coalesce((p.options ->> 'allow_extra_keys')::boolean, false) THEN
        FOR k IN SELECT jsonb_object_keys(params) LOOP
            IF NOT p.defaults ? k THEN
                RAISE EXCEPTION 'pipeline % has no config key "%"', pipeline, k
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = coalesce('Its keys are ' || (SELECT string_agg(d, ', ' ORDER BY d) FROM jsonb_object_keys(p.defaults) d) || '.',
                                          'It takes no config.');
            END IF;
        END LOOP;
    END IF;
    name := p.name;
    version := p.version;
    config := mlops.json_merge(p.defaults, params);
    options := p.options;
END
$$;
COMMENT ON FUNCTION mlops.pipeline_config(text, jsonb) IS
'The current version of a pipeline and the config a run with these params would have (defaults deep-merged with params; unknown keys refused unless allow_extra_keys)';

CREATE FUNCTION mlops.start_run(pipeline text, params jsonb DEFAULT '{}', run_id text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    id text;
    existing mlops.runs;
    me oid := mlops.calling_role();
BEGIN
    p := mlops.pipeline_config(pipeline, params);
    id := coalesce(run_id, left(encode(sha256(convert_to(mlops.canonical_json(
                jsonb_build_object('pipeline', p.name, 'config', p.config)), 'UTF8')), 'hex'), 20));
    IF id !~ '^[A-Za-z0-9_.-]{1,100}$' THEN
        RAISE EXCEPTION 'invalid run id "%"', id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use letters, digits, "_", "." and "-", at most 100.';
    END IF;
    INSERT INTO mlops.runs (owner, run_id, pipeline, version, config)
    VALUES (me, id, p.name, p.version, p.config)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        -- the same run: nothing is queued again
        SELECT * INTO existing FROM mlops.runs r WHERE r.owner OPERATOR(pg_catalog.=) me AND r.run_id OPERATOR(pg_catalog.=) id;
        IF existing.pipeline <> p.name OR existing.config <> p.config THEN
            RAISE EXCEPTION 'run "%" exists with another pipeline or config', id
                USING ERRCODE = 'unique_violation', HINT = 'Give another run_id, or none (the id is then the config''s hash).';
        END IF;
        RETURN id;
    END IF;
    INSERT INTO mlops.run_steps (owner, run_id, step, ord)
    SELECT me, id, t.value ->> 'name', t.n
    FROM mlops.pipeline_versions v, jsonb_array_elements(v.steps) WITH ORDINALITY t(value, n)
    WHERE v.name OPERATOR(pg_catalog.=) p.name AND v.version OPERATOR(pg_catalog.=) p.version;
    PERFORM mlops.run_advance(me, id);
    RETURN id;
END
$$;
COMMENT ON FUNCTION mlops.start_run(text, jsonb, text) IS
'Starts a run of a pipeline with params merged into its defaults; the run id is left(sha256(canonical JSON of {"config", "pipeline"}), 20) unless given. The same config again returns the same run and queues nothing';

CREATE FUNCTION mlops.rerun(run_id text, step text DEFAULT NULL, mode text DEFAULT 'failed')
RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me oid := mlops.calling_role();
    r mlops.runs;
    tmpl jsonb;
    picked text[];
    closure text[];
    checked text[];
    n int;
BEGIN
    IF run_id IS NULL OR mode IS NULL THEN
        RAISE EXCEPTION 'run_id and mode must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF mode NOT IN ('failed', 'missing', 'all') THEN
        RAISE EXCEPTION 'unknown rerun mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Modes are failed, missing and all.';
    END IF;
    SELECT * INTO r FROM mlops.runs x WHERE x.owner OPERATOR(pg_catalog.=) me AND x.run_id OPERATOR(pg_catalog.=) rerun.run_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run "%" does not exist', run_id USING ERRCODE = 'no_data_found';
    END IF;
    IF r.state = 'running' THEN
        RAISE EXCEPTION 'run "%" is still running', run_id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Wait for it to end, or cancel it with mlops.cancel_run.';
    END IF;
    SELECT v.steps INTO tmpl FROM mlops.pipeline_versions v WHERE v.name = r.pipeline AND v.version = r.version;
    IF rerun.step IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(tmpl) t WHERE t ->> 'name' = rerun.step) THEN
        RAISE EXCEPTION 'run "%" has no step "%"', run_id, step
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Its steps are ' || (SELECT string_agg(t ->> 'name', ', ') FROM jsonb_array_elements(tmpl) t) || '.';
    END IF;
    -- the steps the mode picks (within the given step and its dependents, if one is given)
    SELECT coalesce(array_agg(t ->> 'name'), '{}') INTO picked
    FROM jsonb_array_elements(tmpl) t
    LEFT JOIN mlops.run_steps rs ON rs.owner OPERATOR(pg_catalog.=) me AND rs.run_id OPERATOR(pg_catalog.=) rerun.run_id
                                AND rs.step = t ->> 'name'
    WHERE CASE mode WHEN 'all' THEN true
                    WHEN 'failed' THEN rs.state IN ('failed', 'cancelled', 'skipped')
                    ELSE rs.step IS NULL END
      AND (rerun.step IS NULL OR t ->> 'name' = rerun.step);
    -- and every step that depends on them, transitively
    SELECT coalesce(array_agg(x), '{}') INTO closure FROM (
        WITH RECURSIVE dep(name) AS (
            SELECT unnest(picked)
            UNION
            SELECT t ->> 'name' FROM jsonb_array_elements(tmpl) t, dep
            WHERE t -> 'depends_on' ? dep.name)
        SELECT name AS x FROM dep) d;
    -- missing: a step whose output is an object in storage is looked for again; it runs (and
    -- then its dependents) only if its object is gone (mlops.step_checked)
    SELECT coalesce(array_agg(t ->> 'name'), '{}') INTO checked
    FROM jsonb_array_elements(tmpl) t
    WHERE mode = 'missing' AND jsonb_typeof(t -> 'output') = 'object' AND NOT (t ->> 'name') = ANY (closure)
      AND (rerun.step IS NULL OR t ->> 'name' = rerun.step);
    closure := closure || checked;
    IF cardinality(closure) = 0 THEN
        RETURN 0;
    END IF;
    DELETE FROM mlops.run_steps rs
    WHERE rs.owner OPERATOR(pg_catalog.=) me AND rs.run_id OPERATOR(pg_catalog.=) rerun.run_id AND rs.step = ANY (closure);
    INSERT INTO mlops.run_steps (owner, run_id, step, ord)
    SELECT me, rerun.run_id, t.value ->> 'name', t.n FROM jsonb_array_elements(tmpl) WITH ORDINALITY t(value, n)
    WHERE t.value ->> 'name' = ANY (closure);
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE mlops.runs x SET state = 'running', error = NULL, finished_at = NULL
    WHERE x.owner OPERATOR(pg_catalog.=) me AND x.run_id OPERATOR(pg_catalog.=) rerun.run_id;
    PERFORM mlops.run_advance(me, rerun.run_id);
    RETURN n;
END
$$;
COMMENT ON FUNCTION mlops.rerun(text, text, text) IS
'Runs again, in an ended run, the steps the mode picks and every step that depends on them: failed (failed, cancelled and skipped steps), missing (steps whose run_steps row was deleted, as Luigi reruns a task whose output is gone, and steps whose output object is looked for again: they run, with their dependents, only if it is gone) or all; step narrows it to that step. Steps that succeeded and are not picked never run again. Returns how many steps were queued again';

CREATE FUNCTION mlops.cancel_run(run_id text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me oid := mlops.calling_role();
    r mlops.runs;
BEGIN
    SELECT * INTO r FROM mlops.runs x WHERE x.owner OPERATOR(pg_catalog.=) me AND x.run_id OPERATOR(pg_catalog.=) cancel_run.run_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run "%" does not exist', run_id USING ERRCODE = 'no_data_found';
    END IF;
    IF r.state <> 'running' THEN
        RETURN false;
    END IF;
    UPDATE mlops.runs x SET state = 'cancelled', error = 'cancelled', finished_at = now()
    WHERE x.owner OPERATOR(pg_catalog.=) me AND x.run_id OPERATOR(pg_catalog.=) cancel_run.run_id;
    UPDATE mlops.run_steps rs SET state = 'cancelled', finished_at = now()
    WHERE rs.owner OPERATOR(pg_catalog.=) me AND rs.run_id OPERATOR(pg_catalog.=) cancel_run.run_id AND rs.state = 'waiting';
    -- queued steps' jobs are cancelled at once, running ones stopped by the worker
    UPDATE mlops.jobs j SET state = 'cancelled', finished_at = now(), error = 'run cancelled'
    WHERE j.submitted_by OPERATOR(pg_catalog.=) me AND j.run_id OPERATOR(pg_catalog.=) cancel_run.run_id
      AND j.step IS NOT NULL AND j.state = 'pending';
    UPDATE mlops.jobs j SET cancel_requested = true
    WHERE j.submitted_by OPERATOR(pg_catalog.=) me AND j.run_id OPERATOR(pg_catalog.=) cancel_run.run_id
      AND j.step IS NOT NULL AND j.state = 'running';
    PERFORM mlops.wake_workers();
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.cancel_run(text) IS
'Cancels a running run of the calling role: its waiting steps, its queued jobs at once and its running jobs within a second; false when it had ended';

CREATE VIEW mlops.run_progress WITH (security_barrier) AS
SELECT r.run_id, r.pipeline, r.version, r.state,
       s.done, s.total,
       '[' || repeat('#', (20 * s.done / greatest(s.total, 1))::int)
           || repeat('.', 20 - (20 * s.done / greatest(s.total, 1))::int) || '] '
           || s.done || '/' || s.total AS bar,
       f.step AS failed_step, f.error AS failed_error,
       r.created_at, r.finished_at, r.owner
FROM mlops.runs r
CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE rs.state = 'succeeded')::int AS done, count(*)::int AS total
                    FROM mlops.run_steps rs WHERE rs.owner = r.owner AND rs.run_id = r.run_id) s
LEFT JOIN LATERAL (SELECT rs.step, rs.error FROM mlops.run_steps rs
                   WHERE rs.owner = r.owner AND rs.run_id = r.run_id AND rs.state IN ('failed', 'cancelled')
                   ORDER BY rs.ord LIMIT 1) f ON true
WHERE mlops.owns(r.owner);
COMMENT ON VIEW mlops.run_progress IS
'One line per run of the calling role: steps done of total with a text bar, and the first failing step with its error';
GRANT SELECT ON mlops.run_progress TO PUBLIC;

CREATE FUNCTION mlops.worker_maintain_runs(retention interval)
RETURNS int
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM mlops.runs
               WHERE (owner, run_id) IN (SELECT owner, run_id FROM mlops.runs
                                         WHERE finished_at < now() - retention LIMIT 1000)
               RETURNING 1)
    SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mlops.worker_maintain_runs(interval) IS
'The background worker deletes runs (and their steps) that ended longer ago than mlops.run_retention, in batches';

CREATE FUNCTION mlops.validate_job_for(kind text, params jsonb, owner oid)
RETURNS void
AS 'MODULE_PATHNAME', 'mlops_validate_job'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.validate_job_for(text, jsonb, oid) IS
'Checks a job''s parameters for a given owner (a pipeline step of that role''s run)';

-- Schedules of pipelines through pg_cron: the job (mlops_pipeline_<name>, one per role
-- and pipeline) runs as the role that scheduled it.
CREATE FUNCTION mlops.start_scheduled_run(pipeline text, params jsonb)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := mlops.pipeline_config(pipeline, params);
BEGIN
    IF p.options ->> 'rerun' = 'always' THEN
        -- a run of its own for every tick: the config's hash and the tick's minute
        RETURN mlops.start_run(pipeline, params,
            left(encode(sha256(convert_to(mlops.canonical_json(
                jsonb_build_object('pipeline', p.name, 'config', p.config)), 'UTF8')), 'hex'), 20)
            || '-' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MI'));
    END IF;
    RETURN mlops.start_run(pipeline, params);
END
$$;
COMMENT ON FUNCTION mlops.start_scheduled_run(text, jsonb) IS
'What a pipeline schedule runs: start_run, with a run per tick (the config''s hash and the minute, UTC) when the template says rerun: always';

CREATE FUNCTION mlops.schedule_pipeline(name text, cron_expression text, params jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR cron_expression IS NULL OR params IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.schedule_pipeline must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- checked before anything is written: the pipeline, its params, then the expression (pg_cron)
    PERFORM mlops.pipeline_config(name, params);
    RETURN mlops.cron_schedule(('mlops_pipeline_' || name)::name, cron_expression,
                               format('SELECT mlops.start_scheduled_run(%L, %L::jsonb)', name, params::text));
END
$$;
COMMENT ON FUNCTION mlops.schedule_pipeline(text, text, jsonb) IS
'Starts a run of a pipeline on a cron schedule (pg_cron job mlops_pipeline_<name> of the calling role, which it runs as); replaces the role''s schedule of that pipeline; everything is checked before anything is written; returns the pg_cron job id';

CREATE FUNCTION mlops.unschedule_pipeline(name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    SELECT j.jobid INTO job FROM cron.job j
    WHERE j.jobname OPERATOR(pg_catalog.=) ('mlops_pipeline_' || name) AND j.username OPERATOR(pg_catalog.=) current_user;
    IF job IS NULL THEN
        RETURN false;
    END IF;
    PERFORM cron.unschedule(job);
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.unschedule_pipeline(text) IS
'Removes the calling role''s schedule of a pipeline; false when there was none (its runs stay)';

REVOKE ALL ON FUNCTION mlops.define_pipeline(text, jsonb, jsonb, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.drop_pipeline(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.start_run(text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.rerun(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.cancel_run(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.run_advance(oid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.step_checked(mlops.run_steps) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_maintain_runs(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.validate_job_for(text, jsonb, oid) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.schedule_pipeline(text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.unschedule_pipeline(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.start_scheduled_run(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.define_pipeline(text, jsonb, jsonb, text, jsonb), mlops.drop_pipeline(text),
                          mlops.start_run(text, jsonb, text), mlops.rerun(text, text, text),
                          mlops.cancel_run(text), mlops.schedule_pipeline(text, text, jsonb),
                          mlops.unschedule_pipeline(text), mlops.start_scheduled_run(text, jsonb) TO mlops_admin;

------------------------------------------------------------------------------
-- The heatmap pipeline (the heatmap service, seed 000): readings of the sensors
-- in an area and a time window -> preprocessing (sentinels dropped before the
-- per-sensor aggregate, duplicate readings dropped before the minimum-sensor
-- check) -> a grid over the area -> interpolation masked to the area -> a
-- row of mlops.heatmaps -> the outputs the config asks for -> uploads.
------------------------------------------------------------------------------

CREATE TABLE mlops.heatmaps (
    id bigserial PRIMARY KEY,
    owner regrole NOT NULL DEFAULT mlops.calling_role(),
    run_id text,
    area_id text,
    window_from timestamptz,
    window_to timestamptz,
    raster raster NOT NULL,
    sensors geometry,
    area geometry,
    sensor_count int NOT NULL,
    min double precision,
    max double precision,
    mean double precision,
    config jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX heatmaps_run ON mlops.heatmaps (owner, run_id);
COMMENT ON TABLE mlops.heatmaps IS
'Heatmaps computed by the heatmap pipeline: the raster with the run, area (id and outline), time window, the sensors used and the value range';
SELECT pg_catalog.pg_extension_config_dump('mlops.heatmaps', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.heatmaps_id_seq', '');
ALTER TABLE mlops.heatmaps ENABLE ROW LEVEL SECURITY;
CREATE POLICY heatmaps_owner ON mlops.heatmaps USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
REVOKE ALL ON mlops.heatmaps FROM PUBLIC;
GRANT SELECT ON mlops.heatmaps TO mlops_admin;

-- mlops.current_run: the run (owner, id, config) of the job this session runs.
CREATE FUNCTION mlops.current_run(OUT owner oid, OUT run_id text, OUT config jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.owner, r.run_id, r.config
    FROM mlops.jobs j JOIN mlops.runs r ON r.owner OPERATOR(pg_catalog.=) j.submitted_by AND r.run_id OPERATOR(pg_catalog.=) j.run_id
    WHERE j.id OPERATOR(pg_catalog.=) mlops.current_job_id() AND j.step IS NOT NULL
$$;
COMMENT ON FUNCTION mlops.current_run() IS
'Inside a pipeline step''s session: its run''s owner, id and config (no row elsewhere)';

-- mlops.heatmap_store keeps a computed heatmap for the calling role.
CREATE FUNCTION mlops.heatmap_store(run_id text, area_id text, window_from timestamptz, window_to timestamptz,
                                    raster raster, sensors geometry, area geometry, sensor_count int,
                                    min double precision, max double precision, mean double precision, config jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id bigint;
BEGIN
    INSERT INTO mlops.heatmaps (owner, run_id, area_id, window_from, window_to, raster, sensors, area, sensor_count,
                                min, max, mean, config)
    VALUES (mlops.calling_role(), run_id, area_id, window_from, window_to, raster, sensors, area, sensor_count,
            min, max, mean, config)
    RETURNING heatmaps.id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION mlops.heatmap_store(text, text, timestamptz, timestamptz, raster, geometry, geometry, int, double precision, double precision, double precision, jsonb) IS
'Stores a heatmap owned by the calling role (the heatmap pipeline''s compute step)';

-- mlops.heatmap_compute: the compute step.  Runs with the caller's rights (the
-- run's owner, in the step's session): it reads the readings and areas tables
-- the config names.  Its search_path is set to PostGIS's schema at install.
CREATE FUNCTION mlops.heatmap_compute(config jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rd jsonb := config -> 'readings';
    ar jsonb := config -> 'areas';
    readings regclass;
    areas regclass;
    area geometry;
    t_from timestamptz;
    t_to timestamptz;
    sentinels float8[];
    agg text := coalesce(config ->> 'aggregate', 'mean');
    raw_count int;
    valid_count int;
    sensor_count int;
    pts geometry;
    grid raster;
    heat raster;
    hm_id bigint;
    st record;
    run record;
BEGIN
    IF jsonb_typeof(rd) IS DISTINCT FROM 'object' OR jsonb_typeof(ar) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the config needs "readings" and "areas" objects naming tables and columns'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF config ->> 'area_id' IS NULL THEN
        RAISE EXCEPTION 'the config needs an area_id' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF agg NOT IN ('mean', 'median', 'max', 'min', 'last') THEN
        RAISE EXCEPTION 'unknown aggregate "%"', agg
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Aggregates are mean, median, max, min and last.';
    END IF;
    readings := to_regclass(rd ->> 'table');
    areas := to_regclass(ar ->> 'table');
    IF readings IS NULL OR areas IS NULL THEN
        RAISE EXCEPTION 'table % does not exist', CASE WHEN readings IS NULL THEN rd ->> 'table' ELSE ar ->> 'table' END
            USING ERRCODE = 'undefined_table', HINT = 'Name the tables with their schema, as public.readings.';
    END IF;
    t_from := (config ->> 'from')::timestamptz;
    t_to := (config ->> 'to')::timestamptz;
    SELECT coalesce(array_agg(x::float8), '{}') INTO sentinels FROM jsonb_array_elements_text(coalesce(config -> 'sentinels', '[]')) x;

    EXECUTE format('SELECT %I FROM %s WHERE %I::text = $1', coalesce(ar ->> 'geom', 'geom'), areas, coalesce(ar ->> 'id', 'id'))
    INTO area USING config ->> 'area_id';
    IF area IS NULL THEN
        RAISE EXCEPTION 'area % is not in %', config ->> 'area_id', areas USING ERRCODE = 'no_data_found';
    END IF;

    -- readings of the area's sensors in the window; sentinel values out first, then one reading
    -- per sensor and time (duplicates), then one value per sensor
    DROP TABLE IF EXISTS pg_temp.heat_readings;
    EXECUTE format($q$
        CREATE TEMP TABLE heat_readings ON COMMIT DROP AS
        SELECT DISTINCT ON (s, t) s, t, v, g
        FROM (SELECT r.%1$I::text AS s, r.%2$I AS t, r.%3$I::float8 AS v, r.%4$I AS g
              FROM %5$s r
              WHERE ST_Intersects(r.%4$I, $1)
                AND ($2 IS NULL OR r.%2$I >= $2) AND ($3 IS NULL OR r.%2$I < $3)) x
        WHERE v IS NOT NULL AND v = v AND v <> ALL ($4)
        ORDER BY s, t$q$,
        coalesce(rd ->> 'sensor', 'sensor_id'), coalesce(rd ->> 'time', 'observed_at'),
        coalesce(rd ->> 'value', 'value'), coalesce(rd ->> 'geom', 'geom'), readings)
    USING area, t_from, t_to, sentinels;
    SELECT count(*), count(DISTINCT s) INTO valid_count, sensor_count FROM pg_temp.heat_readings;
    IF sensor_count < coalesce((config ->> 'min_sensors')::int, 3) THEN
        RAISE EXCEPTION 'area % has % sensors with valid readings in the window, fewer than min_sensors %',
            config ->> 'area_id', sensor_count, coalesce((config ->> 'min_sensors')::int, 3)
            USING ERRCODE = 'data_exception',
                  DETAIL = format('%s readings left after dropping sentinel values and duplicates.', valid_count);
    END IF;
    SELECT ST_Collect(ST_MakePoint(ST_X(g), ST_Y(g), v)) INTO pts
    FROM (SELECT s, (array_agg(g ORDER BY t DESC))[1] AS g,
                 CASE agg WHEN 'mean' THEN avg(v)
                          WHEN 'median' THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY v)
                          WHEN 'max' THEN max(v) WHEN 'min' THEN min(v)
                          ELSE (array_agg(v ORDER BY t DESC))[1] END AS v
          FROM pg_temp.heat_readings GROUP BY s) per_sensor;
    pts := ST_SetSRID(pts, ST_SRID(area));

    grid := mlops.make_grid(area, max_cells => coalesce((config #>> '{grid,max_cells}')::int, 40000),
                            min_cell_size => coalesce((config #>> '{grid,min_cell_size}')::float8, 10),
                            nodata => -9999);
    heat := mlops.interpolate_raster(pts, grid, coalesce(config #>> '{interpolation,method}', 'idw'),
                                     coalesce(config #> '{interpolation,options}', '{}'));
    -- masked to the area, and to where the fade leaves an estimate (within fade_distance plus
    -- three fade_smoothing of a sensor, where the fade factor is above exp(-4.5)): cells
    -- outside are nodata, drawn transparent, not as low values
    heat := ST_Clip(heat, 1,
                    CASE WHEN config #> '{interpolation,options,fade_distance}' IS NOT NULL
                         THEN ST_Intersection(area, ST_Buffer(pts, (config #>> '{interpolation,options,fade_distance}')::float8
                                                                 + 3 * coalesce((config #>> '{interpolation,options,fade_smoothing}')::float8, 0)))
                         ELSE area END,
                    -9999, false);
    SELECT r.run_id INTO run FROM mlops.current_run() r;
    st := ST_SummaryStats(heat, 1, true);
    hm_id := mlops.heatmap_store(run.run_id, config ->> 'area_id', t_from, t_to, heat,
                                 (SELECT ST_Collect(g ORDER BY s) FROM (SELECT DISTINCT ON (s) s, g FROM pg_temp.heat_readings ORDER BY s, t DESC) d),
                                 ST_CurveToLine(area), sensor_count, st.min, st.max, st.mean, config);
    RETURN jsonb_build_object('heatmap_id', hm_id, 'sensors', sensor_count, 'readings', valid_count,
                              'width', ST_Width(heat), 'height', ST_Height(heat), 'cell_size', ST_ScaleX(heat),
                              'min', st.min, 'max', st.max, 'mean', st.mean);
END
$$;
COMMENT ON FUNCTION mlops.heatmap_compute(jsonb) IS
'The heatmap pipeline''s compute step: readings of the area''s sensors in the window (sentinels dropped before the per-sensor aggregate, duplicate readings before the minimum-sensor check), a grid over the area, interpolation masked to the area, stored in mlops.heatmaps; returns its id and statistics';

-- mlops.heatmap_output: the current run's heatmap as a file's content.
CREATE FUNCTION mlops.heatmap_output(format text)
RETURNS bytea
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h record;
    cfg jsonb;
BEGIN
    SELECT x.* INTO h FROM mlops.heatmaps x, mlops.current_run() r
    WHERE x.owner OPERATOR(pg_catalog.=) r.owner AND x.run_id OPERATOR(pg_catalog.=) r.run_id
    ORDER BY x.id DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no heatmap of this run' USING ERRCODE = 'no_data_found',
            HINT = 'mlops.heatmap_output is for the heatmap pipeline''s output steps.';
    END IF;
    cfg := coalesce(h.config -> 'picture', '{}') || jsonb_strip_nulls(jsonb_build_object(
        'title', coalesce(h.config #>> '{picture,title}', format('%s, area %s', coalesce(h.config ->> 'quantity', 'heatmap'), h.area_id)),
        'subtitle', coalesce(h.config #>> '{picture,subtitle}',
                             format('%s sensors, %s to %s', h.sensor_count, coalesce(h.window_from::text, '-'), coalesce(h.window_to::text, '-'))),
        'units', concat_ws(' ', h.config ->> 'quantity', h.config ->> 'units')));
    CASE format
        WHEN 'geotiff' THEN
            RETURN ST_AsGDALRaster(h.raster, 'GTiff');
        WHEN 'png' THEN
            RETURN mlops.heatmap_png(h.raster, cfg - 'title' - 'subtitle' - 'units' - 'nodata_note' - 'labels');
        WHEN 'svg' THEN
            RETURN convert_to(mlops.heatmap_svg(h.raster, h.sensors, cfg, h.area), 'UTF8');
        WHEN 'json' THEN
            -- as the service returned it: bounding box, cell size, rows of values (nodata null)
            RETURN convert_to(jsonb_build_object(
                'area_id', h.area_id, 'run_id', h.run_id, 'srid', ST_SRID(h.raster),
                'bbox', jsonb_build_array(ST_UpperLeftX(h.raster),
                                          ST_UpperLeftY(h.raster) + ST_ScaleY(h.raster) * ST_Height(h.raster),
                                          ST_UpperLeftX(h.raster) + ST_ScaleX(h.raster) * ST_Width(h.raster),
                                          ST_UpperLeftY(h.raster)),
                'cell_size', ST_ScaleX(h.raster), 'width', ST_Width(h.raster), 'height', ST_Height(h.raster),
                'min', h.min, 'max', h.max, 'mean', h.mean, 'sensors', h.sensor_count,
                'values', to_jsonb(ST_DumpValues(h.raster, 1, true)))::text, 'UTF8');
        ELSE
            RAISE EXCEPTION 'unknown heatmap output format "%"', format
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Formats are geotiff, png, svg and json.';
    END CASE;
END
$$;
COMMENT ON FUNCTION mlops.heatmap_output(text) IS
'The current run''s heatmap as geotiff, png, svg (title, colour bar with units, sensors) or json (bounding box, cell size, rows of values with nodata as null), for the heatmap pipeline''s export steps';

-- PostGIS's functions are found in PostGIS's schema, whatever it is, by these two.
DO $$
DECLARE
    postgis_schema name := (SELECT n.nspname FROM pg_catalog.pg_extension e
                            JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
                            WHERE e.extname OPERATOR(pg_catalog.=) 'postgis');
BEGIN
    EXECUTE format('ALTER FUNCTION mlops.heatmap_compute(jsonb) SET search_path = %I, pg_catalog, pg_temp', postgis_schema);
    EXECUTE format('ALTER FUNCTION mlops.heatmap_output(text) SET search_path = %I, pg_catalog, pg_temp', postgis_schema);
END
$$;

-- heatmap_store and current_run stay callable by every role: the compute step runs as the run's
-- owner, and both touch only that role's own rows.

-- The template, installed with the extension (owned by the extension's owner; every role may
-- start runs of it).  Its steps: compute, then the outputs the config lists, then the uploads.
SELECT mlops.define_pipeline('heatmap', $$[
  {"name": "compute", "kind": "sql", "timeout": 600,
   "params": {"command": "SELECT mlops.heatmap_compute((SELECT config FROM mlops.current_run()))"}},
  {"name": "geotiff", "kind": "export", "depends_on": ["compute"], "for_each": {"$ref": "config.outputs.geotiff"},
   "params": {"query": "SELECT mlops.heatmap_output('geotiff')", "path": {"$ref": "item"}, "overwrite": true}},
  {"name": "png", "kind": "export", "depends_on": ["compute"], "for_each": {"$ref": "config.outputs.png"},
   "params": {"query": "SELECT mlops.heatmap_output('png')", "path": {"$ref": "item"}, "overwrite": true}},
  {"name": "svg", "kind": "export", "depends_on": ["compute"], "for_each": {"$ref": "config.outputs.svg"},
   "params": {"query": "SELECT mlops.heatmap_output('svg')", "path": {"$ref": "item"}, "overwrite": true}},
  {"name": "json", "kind": "export", "depends_on": ["compute"], "for_each": {"$ref": "config.outputs.json"},
   "params": {"query": "SELECT mlops.heatmap_output('json')", "path": {"$ref": "item"}, "overwrite": true}},
  {"name": "upload", "kind": "upload", "depends_on": ["geotiff", "png", "svg", "json"], "for_each": {"$ref": "config.upload"},
   "params": {"path": {"$ref": "item.path"}, "credential": {"$ref": "item.credential"}, "target": {"$ref": "item.target"}}}
]$$, $$ {
  "area_id": null, "from": null, "to": null,
  "readings": {"table": "public.readings", "sensor": "sensor_id", "time": "observed_at", "value": "value", "geom": "geom"},
  "areas": {"table": "public.areas", "id": "id", "geom": "geom"},
  "sentinels": [-9999, 9999, -999, 999], "aggregate": "mean", "min_sensors": 3,
  "grid": {"max_cells": 40000, "min_cell_size": 10},
  "interpolation": {"method": "idw", "options": {"power": 4, "fade_distance": 800, "fade_smoothing": 200, "gaussian_sigma": 1.5}},
  "quantity": "NO2", "units": "µg/m³",
  "picture": {"colormap": "rdylgn_r", "nodata_note": "no estimate (outside the area, or beyond the fade distance)"},
  "outputs": {"geotiff": [], "png": [], "svg": [], "json": []},
  "upload": []
} $$, 'The heatmap service: readings of an area''s sensors in a window -> IDW (power 4, fading beyond 800 m, Gaussian sigma 1.5) masked to the area -> mlops.heatmaps -> GeoTIFF, PNG, SVG, JSON files -> uploads');
UPDATE mlops.pipeline_versions SET builtin = true WHERE name OPERATOR(pg_catalog.=) 'heatmap';

-- >>> new in 0.2.0 after the pipelines (kept in step with sql/pg_mlops.sql)
------------------------------------------------------------------------------
-- Jobs: the kinds' registry, read from C
------------------------------------------------------------------------------

CREATE FUNCTION mlops.job_kinds(OUT kind text, OUT params text[], OUT uses_transfer boolean,
                                OUT uses_session boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_job_kinds_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.job_kinds() IS
'The kinds the pg_mlops background worker serves, read from its registry in C: the params keys each accepts (others are refused at submit), whether it is a transfer (held to mlops.max_transfers) and whether it runs in a session of its own (held to mlops.max_sql_jobs)';

------------------------------------------------------------------------------
-- Datasets: splitting and manifests
------------------------------------------------------------------------------

CREATE FUNCTION mlops.split_manifest(manifest jsonb, options jsonb DEFAULT '{}',
                                     OUT ord int, OUT item jsonb, OUT split text, OUT fold int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_split_manifest'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION mlops.split_manifest(jsonb, jsonb) IS
'Splits a JSON array of items (objects) into train and test (split; fold with options.folds): one row per item in input order (ord from 1). Options method (random, stratified, group, stratified_group, iterative, hash, sklearn), label (a key, or an array of indicator keys), group, id, test_size, train_size, n_test_per_label, folds, seed, shuffle. Items must be distinct (by id, or as a whole); the kernel checks every split before it is returned';

CREATE FUNCTION mlops.split_table(source regclass, options jsonb,
                                  OUT id text, OUT split text, OUT fold int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_split_table'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION mlops.split_table(regclass, jsonb) IS
'Splits the rows of a table or view as split_manifest splits items, reading the columns the options name (id required; label: a column, an array column for multilabel, or an array of boolean/numeric indicator columns; group) with the caller''s rights; one row per source row: its id as text, split, fold';

CREATE FUNCTION mlops.split_table_ids(source regclass, options jsonb,
                                      OUT split text, OUT fold int, OUT ids text[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_split_table_ids'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED ROWS 3;
COMMENT ON FUNCTION mlops.split_table_ids(regclass, jsonb) IS
'split_table''s split (the same options, the same sides) as one row a side (train, test, and unused when some rows are on neither) or a fold (split null): the ids of its rows as one text array, in the order the rows were read; an array holds at most 1 GB';

CREATE FUNCTION mlops.read_manifest(path text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_read_manifest'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlops.read_manifest(text) IS
'A JSON manifest file from the caller''s file area (or a granted @area), checked by json-c (a syntax error names its line and column), as jsonb; symbolic links are refused; at most 256 MB';
REVOKE ALL ON FUNCTION mlops.read_manifest(text) FROM PUBLIC;


------------------------------------------------------------------------------
-- Detection: blobs and contours of model heatmaps
------------------------------------------------------------------------------

CREATE FUNCTION mlops.detect_blobs_xy(r raster, method text, options jsonb, band int,
                                      OUT blob_id int, OUT pixel_row float8, OUT pixel_col float8,
                                      OUT sigma float8, OUT radius float8, OUT value float8,
                                      OUT x float8, OUT y float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_detect_blobs_xy'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION mlops.detect_blobs_xy(raster, text, jsonb, int) IS
'mlops.detect_blobs without the geometry: each blob''s pixel centre as x, y in the raster''s coordinates';

CREATE FUNCTION mlops.detect_blobs(r raster, method text DEFAULT 'doh', options jsonb DEFAULT '{}', band int DEFAULT 1)
RETURNS TABLE(blob_id int, pixel_row float8, pixel_col float8, sigma float8, radius float8, value float8, geom geometry)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 100
AS $$
    SELECT b.blob_id, b.pixel_row, b.pixel_col, b.sigma, b.radius, b.value,
           ST_SetSRID(ST_MakePoint(b.x, b.y), ST_SRID(r))
    FROM mlops.detect_blobs_xy(r, method, options, band) b
$$;
COMMENT ON FUNCTION mlops.detect_blobs(raster, text, jsonb, int) IS
'Blobs of a raster band as scikit-image 0.19.3''s blob_doh, blob_log or blob_dog find them (row, column, sigma), with the point at the pixel centre in the raster''s SRID, the radius in map units (sigma for doh, sigma*sqrt(2) for log and dog) and the detector''s response; nodata cells read as 0. Options min_sigma, max_sigma, num_sigma, sigma_ratio, threshold, threshold_rel, overlap, log_scale, exclude_border, pred_threshold';

CREATE FUNCTION mlops.contours_ewkb(r raster, level float8, options jsonb, band int,
                                    OUT contour_id int, OUT ewkb bytea, OUT area float8, OUT max_value float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_contours_ewkb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION mlops.contours_ewkb(raster, float8, jsonb, int) IS
'mlops.contours with each outline as EWKB, before simplify and geodesic areas';

CREATE FUNCTION mlops.contours(r raster, level float8, options jsonb DEFAULT '{}', band int DEFAULT 1)
RETURNS TABLE(contour_id int, geom geometry, area float8, max_value float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 100
AS $$
    SELECT c.contour_id,
           CASE WHEN options ? 'simplify' AND (options ->> 'simplify')::float8 > 0
                THEN ST_SimplifyPreserveTopology(g.geom, (options ->> 'simplify')::float8) ELSE g.geom END,
           CASE WHEN (options ->> 'geodesic')::boolean THEN ST_Area(g.geom::geography) ELSE c.area END,
           c.max_value
    FROM mlops.contours_ewkb(r, level, options, band) c
    CROSS JOIN LATERAL (SELECT ST_GeomFromEWKB(c.ewkb) AS geom) g
    WHERE NOT coalesce((options ->> 'geodesic')::boolean, false)
       OR ST_Area(g.geom::geography) >= coalesce((options ->> 'min_area')::float8, 0)
$$;
COMMENT ON FUNCTION mlops.contours(raster, float8, jsonb, int) IS
'Outlines of the cells of a raster band at or above level. Mode cells (the default): one valid polygon with holes per connected component (a MultiPolygon where an 8-connected component''s parts meet at corners only), area exactly cells x cell area, and the largest cell value. Mode opencv: the contours of OpenCV 4.6''s findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE) on the mask, one polygon per outer contour with its holes, vertices at pixel centres, area the polygon''s. Mode subpixel: the iso-lines of scikit-image 0.19.3''s measure.find_contours (marching squares), closed ones as polygons and open ones as linestrings (area 0), no max_value. Options mode, connectivity (4 or 8, default 8; cells only), blur (OpenCV box blur size), min_area (map units, or square metres on the spheroid with geodesic on EPSG:4326), geodesic, simplify, fully_connected and positive_orientation (low or high; subpixel only)';

CREATE FUNCTION mlops.merge_detections_xy(points geometry[], radius float8, method text, options jsonb,
                                          OUT site_id int, OUT x float8, OUT y float8, OUT srid int,
                                          OUT n_members int, OUT members int[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_merge_detections_xy'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION mlops.merge_detections_xy(geometry[], float8, text, jsonb) IS
'mlops.merge_detections without the geometry: each site''s position as x, y and the points'' SRID';

CREATE FUNCTION mlops.merge_detections(points geometry[], radius float8, method text DEFAULT 'iterative_mean',
                                       options jsonb DEFAULT '{}')
RETURNS TABLE(site_id int, geom geometry, n_members int, members int[])
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100
AS 'MODULE_PATHNAME', 'mlops_merge_detections';
COMMENT ON FUNCTION mlops.merge_detections(geometry[], float8, text, jsonb) IS
'Merges detection points into sites: iterative_mean (the detection workflow''s merge_similar_sites, exactly: neighbourhoods within radius replaced by their means until the count stops changing), single_link (the partition of ST_ClusterDBSCAN(geom, radius, minpoints => 1)) or dbscan (options.min_points, as ST_ClusterDBSCAN; noise points belong to no site). With options.geodesic true (single_link and dbscan, EPSG:4326 points) the radius is in metres on the WGS84 ellipsoid, neighbours as ST_DWithin(geography, geography, radius, true) decides them. members are 1-based positions in the array; per group: merge_detections(array_agg(geom ORDER BY id), radius)';

CREATE FUNCTION mlops.confirm_detections(candidates geometry[], models int[], min_models int DEFAULT 2,
                                         tolerance float8 DEFAULT 0)
RETURNS TABLE(candidate int, geom geometry, n_models int, confirmed_by int[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF candidates IS NULL OR models IS NULL THEN
        RETURN;
    END IF;
    IF cardinality(candidates) <> cardinality(models) THEN
        RAISE EXCEPTION 'candidates has % elements, models %: they must match', cardinality(candidates), cardinality(models)
            USING ERRCODE = 'array_subscript_error';
    END IF;
    IF min_models IS NULL OR min_models < 1 THEN
        RAISE EXCEPTION 'min_models must be at least 1, got %', min_models USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tolerance IS NULL OR tolerance < 0 OR tolerance = 'NaN'::float8 OR tolerance = 'Infinity'::float8 THEN
        RAISE EXCEPTION 'tolerance must be a finite number >= 0, got %', tolerance USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(candidates, models) u(g, m) WHERE g IS NULL OR m IS NULL) THEN
        RAISE EXCEPTION 'candidates and models must not hold NULLs' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN QUERY
    WITH c AS (SELECT g, m, i::int AS i FROM unnest(candidates, models) WITH ORDINALITY u(g, m, i))
    SELECT a.i, a.g, count(DISTINCT b.m)::int, array_agg(DISTINCT b.m ORDER BY b.m)
    FROM c a
    JOIN c b ON (b.m = a.m AND b.i = a.i)
             OR (b.m <> a.m AND CASE WHEN tolerance = 0 THEN ST_Intersects(a.g, b.g) ELSE ST_DWithin(a.g, b.g, tolerance) END)
    GROUP BY a.i, a.g
    HAVING count(DISTINCT b.m) >= min_models
    ORDER BY a.i;
END
$$;
COMMENT ON FUNCTION mlops.confirm_detections(geometry[], int[], int, float8) IS
'Keeps the candidates (one geometry per element, models[i] the model run that found candidates[i]) that at least min_models model runs found, its own included: another run confirms a candidate when one of its candidates intersects it exactly (ST_Intersects: shapes, never bounding boxes) or, with tolerance > 0, lies within that distance. Returns each kept candidate''s 1-based position, geometry, count and the confirming runs';


------------------------------------------------------------------------------
-- Active learning: batch selection over a pool
------------------------------------------------------------------------------

CREATE FUNCTION mlops.select_topk_trans(internal, bigint, "any", int, bigint, bigint, bigint, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_select_topk_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.select_topk_trans(internal, bigint, "any", int, bigint, bigint, bigint, boolean) IS
'Transition function of mlops.select_topk_agg';
CREATE FUNCTION mlops.select_topk_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'mlops_select_topk_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.select_topk_final(internal) IS
'Final function of mlops.select_topk_agg';
CREATE FUNCTION mlops.select_topk_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_select_topk_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.select_topk_combine(internal, internal) IS
'Combine function of mlops.select_topk_agg (merges two partial heaps)';
CREATE FUNCTION mlops.select_topk_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'mlops_select_topk_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.select_topk_serialize(internal) IS
'Serial function of mlops.select_topk_agg';
CREATE FUNCTION mlops.select_topk_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_select_topk_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.select_topk_deserialize(bytea, internal) IS
'Deserial function of mlops.select_topk_agg';
CREATE AGGREGATE mlops.select_topk_agg(bigint, "any", int, bigint, bigint, bigint, boolean) (
    SFUNC = mlops.select_topk_trans, STYPE = internal, FINALFUNC = mlops.select_topk_final,
    COMBINEFUNC = mlops.select_topk_combine, SERIALFUNC = mlops.select_topk_serialize,
    DESERIALFUNC = mlops.select_topk_deserialize, PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlops.select_topk_agg(bigint, "any", int, bigint, bigint, bigint, boolean) IS
'select_batch''s per-row strategies as an aggregate (id, probs, strategy number, k, per_class, seed, normalize): the heap as (id, score) pairs; call mlops.select_batch instead';

CREATE FUNCTION mlops.select_batch(source regclass, options jsonb, OUT id bigint, OUT score float8, OUT rank int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlops_select_batch'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION mlops.select_batch(regclass, jsonb) IS
'The k pool rows to label next, read from a table or view with the caller''s rights: strategy entropy, least_confidence, margin (per row, streaming through a bounded heap, ties to the lowest id; score is the entropy in nats, 1 - max p, or the margin), random (a keyed hash of seed and id: the same batch for the same seed), coreset (greedy k-centre from the labelled rows, exact), badge (k-means++ on factorised gradient embeddings, seeded) or cluster_margin. Options id (a bigint column), probs (float4[], float8[] or jsonb; rows must sum to 1), embedding (float4[] or float8[]), exclude (a boolean column: labelled or handed out), labelled (coreset''s labelled set), k, per_class, seed';


------------------------------------------------------------------------------
-- Training history: metrics per epoch of a job
------------------------------------------------------------------------------

CREATE TABLE mlops.job_metrics (
    id bigserial PRIMARY KEY,
    owner regrole NOT NULL,
    job_id bigint NOT NULL,
    step int NOT NULL CHECK (step >= 0),
    metrics jsonb NOT NULL CHECK (jsonb_typeof(metrics) = 'object'),
    reported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, step)
);
COMMENT ON TABLE mlops.job_metrics IS
'Metrics a job reported per step (an epoch of a training: loss, accuracy, ...), owned by the job''s submitter; kept after the job itself is deleted';
SELECT pg_catalog.pg_extension_config_dump('mlops.job_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_metrics_id_seq', '');
CREATE INDEX ON mlops.job_metrics (owner, job_id);
ALTER TABLE mlops.job_metrics ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_metrics_owner ON mlops.job_metrics USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
REVOKE ALL ON mlops.job_metrics FROM PUBLIC;
GRANT SELECT ON mlops.job_metrics TO PUBLIC;

-- mlops.store_metrics: checks one step's metrics and keeps them for the job's submitter (a step
-- reported again is replaced: a retried epoch).
CREATE FUNCTION mlops.store_metrics(job mlops.jobs, step int, metrics jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad text;
BEGIN
    IF step IS NULL OR step < 0 THEN
        RAISE EXCEPTION 'step must be 0 or more, not %', coalesce(step::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(metrics) IS DISTINCT FROM 'object' OR metrics = '{}' THEN
        RAISE EXCEPTION 'metrics must be a non-empty JSON object of numbers, such as {"loss": 0.4, "accuracy": 0.9}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO bad FROM jsonb_each(metrics) e(k, v) WHERE jsonb_typeof(v) NOT IN ('number', 'null') LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'metric "%" is not a number', bad USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_column_size(metrics) > 65536 THEN
        RAISE EXCEPTION 'metrics of one step take % bytes, more than 64 kB', pg_column_size(metrics)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    INSERT INTO mlops.job_metrics AS m (owner, job_id, step, metrics)
    VALUES (job.submitted_by::regrole, job.id, store_metrics.step, store_metrics.metrics)
    ON CONFLICT ON CONSTRAINT job_metrics_job_id_step_key DO UPDATE SET metrics = EXCLUDED.metrics, reported_at = now();
END
$$;
COMMENT ON FUNCTION mlops.store_metrics(mlops.jobs, int, jsonb) IS
'Checks one step''s metrics (a non-empty object of numbers) and keeps them for the job''s submitter, replacing a step reported before';
REVOKE ALL ON FUNCTION mlops.store_metrics(mlops.jobs, int, jsonb) FROM PUBLIC;

CREATE FUNCTION mlops.report_metrics(id bigint, lease_token uuid, step int, metrics jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM mlops.store_metrics(mlops.external_job(id, lease_token), step, metrics);
    UPDATE mlops.jobs SET heartbeat_at = now() WHERE jobs.id OPERATOR(pg_catalog.=) report_metrics.id;
END
$$;
COMMENT ON FUNCTION mlops.report_metrics(bigint, uuid, int, jsonb) IS
'An external worker reports one step''s metrics (an epoch: {"loss": ..., "accuracy": ...}) of the job it holds, with its lease token; read them with mlops.job_metrics(id)';
REVOKE ALL ON FUNCTION mlops.report_metrics(bigint, uuid, int, jsonb) FROM PUBLIC;

CREATE FUNCTION mlops.report_metrics(id bigint, step int, metrics jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
BEGIN
    IF id IS NULL OR id IS DISTINCT FROM mlops.current_job_id() THEN
        RAISE EXCEPTION 'job % is not the job this session runs', id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Inside an sql job, report on mlops.current_job_id(); external workers call report_metrics(id, lease_token, step, metrics).';
    END IF;
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) report_metrics.id;
    PERFORM mlops.store_metrics(j, step, metrics);
END
$$;
COMMENT ON FUNCTION mlops.report_metrics(bigint, int, jsonb) IS
'Inside an sql job: reports one step''s metrics of the job this session runs';

CREATE FUNCTION mlops.job_metrics(job_id bigint)
RETURNS TABLE(step int, metrics jsonb, reported_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.step, m.metrics, m.reported_at FROM mlops.job_metrics m
    WHERE m.job_id OPERATOR(pg_catalog.=) job_metrics.job_id ORDER BY m.step
$$;
COMMENT ON FUNCTION mlops.job_metrics(bigint) IS
'The metrics a job of the calling role reported, step by step (row-level security: another role''s job shows nothing)';


------------------------------------------------------------------------------
-- The dataset pipeline (the diatom builder)
------------------------------------------------------------------------------

-- mlops.current_step_result: inside a pipeline step's session, the result of another step of the
-- same run (an array of results for a fanned-out step).
CREATE FUNCTION mlops.current_step_result(step text)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.result
    FROM mlops.current_run() r
    JOIN mlops.run_steps s ON s.owner OPERATOR(pg_catalog.=) r.owner::regrole AND s.run_id OPERATOR(pg_catalog.=) r.run_id
    WHERE s.step OPERATOR(pg_catalog.=) current_step_result.step
$$;
COMMENT ON FUNCTION mlops.current_step_result(text) IS
'Inside a pipeline step''s session: the result of a step of the same run (an array for a fanned-out step); NULL elsewhere';

-- mlops.dataset_plan: the dataset pipeline's first step.  Checks the original's file list and
-- returns where each archive goes: downloads, extracts (one folder per archive, by position, so
-- equal folder names in two archives cannot collide), the results folder, the package's name,
-- the uploads and the folders to clean.
CREATE FUNCTION mlops.dataset_plan(config jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    work text := coalesce(config ->> 'work', 'dataset');
    list jsonb := config -> 'file_list';
    e jsonb;
    i int := 0;
    downloads jsonb := '[]';
    extracts jsonb := '[]';
    uploads jsonb;
    seen text[] := '{}';
    name text;
BEGIN
    IF jsonb_typeof(list) IS DISTINCT FROM 'array' OR jsonb_array_length(list) = 0 THEN
        RAISE EXCEPTION 'config.file_list must be a non-empty array of {file_url, downloaded_file_name, exploded_folder_name, species_label}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR e IN SELECT value FROM jsonb_array_elements(list) LOOP
        i := i OPERATOR(pg_catalog.+) 1;
        IF jsonb_typeof(e) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'config.file_list[%] is not an object', i - 1 USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_object_keys(e) k
                   WHERE k <> ALL (ARRAY['file_url', 'downloaded_file_name', 'exploded_folder_name', 'species_label'])) THEN
            RAISE EXCEPTION 'config.file_list[%] has an unknown key', i - 1
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'An entry''s keys are file_url, downloaded_file_name, exploded_folder_name and species_label.';
        END IF;
        IF jsonb_typeof(e -> 'file_url') IS DISTINCT FROM 'string' OR jsonb_typeof(e -> 'species_label') IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'config.file_list[%] needs file_url and species_label (strings)', i - 1
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        name := coalesce(e ->> 'downloaded_file_name', 'file_' || i || '.zip');
        IF name !~ '^[A-Za-z0-9._~-]+$' OR name IN ('.', '..') THEN
            RAISE EXCEPTION 'config.file_list[%].downloaded_file_name "%" is not a file name', i - 1, name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A name of letters, digits and . _ ~ -, without folders.';
        END IF;
        IF name = ANY (seen) THEN
            RAISE EXCEPTION 'config.file_list[%].downloaded_file_name "%" is given twice', i - 1, name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        seen := seen || name;
        downloads := downloads || jsonb_build_array(jsonb_build_object(
            'url', e ->> 'file_url', 'path', work || '/downloads/' || name));
        extracts := extracts || jsonb_build_array(jsonb_build_object(
            'archive', work || '/downloads/' || name, 'dest', work || '/extracted/' || i,
            'split_command', 'SELECT mlops.dataset_split(' || i || ')'));
    END LOOP;
    uploads := CASE jsonb_typeof(config -> 'upload') WHEN 'object' THEN jsonb_build_array(config -> 'upload')
                                                     WHEN 'array' THEN config -> 'upload' ELSE '[]' END;
    RETURN jsonb_build_object('downloads', downloads, 'extracts', extracts,
                              'results', work || '/results',
                              'package', work || '/' || coalesce(config ->> 'package', 'diatom_set-%Y-%m-%d-%H-%M-%S.zip'),
                              'uploads', uploads,
                              'clean', jsonb_build_array(work || '/downloads', work || '/extracted', work || '/results'));
END
$$;
COMMENT ON FUNCTION mlops.dataset_plan(jsonb) IS
'The dataset pipeline''s plan step: checks config.file_list (the original''s entries) and returns the downloads, extracts, results folder, package name, uploads and folders to clean';

-- mlops.dataset_split: the split step for archive i (1-based) of the current run: the files
-- extracted from it (under its exploded_folder_name when given), split as the original did per
-- folder — n_test_per_label test files, the rest train — or by test_size, with the run's seed;
-- returns the layout items.
CREATE FUNCTION mlops.dataset_split(i int)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    config jsonb := (SELECT r.config FROM mlops.current_run() r);
    entry jsonb := config -> 'file_list' -> (i - 1);
    extracted jsonb := mlops.current_step_result('extract') -> (i - 1);
    folder text := nullif(entry ->> 'exploded_folder_name', '');
    items jsonb;
    opts jsonb;
BEGIN
    IF config IS NULL OR extracted IS NULL THEN
        RAISE EXCEPTION 'mlops.dataset_split runs as a step of a dataset run, after its extract step'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- every archive's files of this species, in archive order then path order: a name that an
    -- earlier file of the species already has becomes <stem>-2<ext>, -3, ... (so two zips with the
    -- same file names lose nothing, and every split step names them alike)
    WITH listing AS (
        SELECT a.n AS archive, f ->> 'path' AS path, (a.x ->> 'dest') || '/' || (f ->> 'path') AS full_path,
               regexp_replace(f ->> 'path', '^.*/', '') AS base
        FROM jsonb_array_elements(mlops.current_step_result('extract')) WITH ORDINALITY a(x, n)
        CROSS JOIN LATERAL jsonb_array_elements(a.x -> 'files') f
        WHERE config -> 'file_list' -> (a.n::int - 1) ->> 'species_label' = entry ->> 'species_label'
          AND (nullif(config -> 'file_list' -> (a.n::int - 1) ->> 'exploded_folder_name', '') IS NULL
               OR starts_with(f ->> 'path', (config -> 'file_list' -> (a.n::int - 1) ->> 'exploded_folder_name') || '/'))
    ), numbered AS (
        SELECT archive, path, full_path, base,
               row_number() OVER (PARTITION BY base ORDER BY archive, path) AS k
        FROM listing
    )
    SELECT jsonb_agg(jsonb_build_object('path', full_path, 'label', entry ->> 'species_label',
                                        'name', CASE WHEN k = 1 THEN base
                                                     WHEN base ~ '.\.[^.]*$' THEN regexp_replace(base, '(\.[^.]*)$', '-' || k || '\1')
                                                     ELSE base || '-' || k END)
                     ORDER BY path)
    INTO items
    FROM numbered
    WHERE archive = i;
    IF items IS NULL THEN
        RAISE EXCEPTION 'archive % (%) has no files%', i, entry ->> 'downloaded_file_name',
            CASE WHEN folder IS NULL THEN '' ELSE format(' under "%s/"', folder) END
            USING ERRCODE = 'no_data_found';
    END IF;
    opts := jsonb_strip_nulls(jsonb_build_object(
        'label', 'label', 'id', 'path', 'seed', coalesce(config -> 'seed', '0'),
        'n_test_per_label', config -> 'n_test_per_label', 'test_size', config -> 'test_size',
        'method', config -> 'method'));
    IF NOT opts ? 'n_test_per_label' AND NOT opts ? 'test_size' THEN
        opts := opts || '{"test_size": 0.25}';
    END IF;
    RETURN (SELECT jsonb_agg(jsonb_build_object('path', s.item ->> 'path', 'split', s.split,
                                                'label', s.item ->> 'label', 'name', s.item ->> 'name') ORDER BY s.ord)
            FROM mlops.split_manifest(items, opts) s);
END
$$;
COMMENT ON FUNCTION mlops.dataset_split(int) IS
'The dataset pipeline''s split step for archive i: its extracted files split per folder (n_test_per_label, or test_size), as layout items';

-- The template, installed with the extension.
SELECT mlops.define_pipeline('dataset', $$[
  {"name": "plan", "kind": "sql",
   "params": {"command": "SELECT mlops.dataset_plan((SELECT config FROM mlops.current_run()))"}},
  {"name": "download", "kind": "download", "depends_on": ["plan"], "for_each": {"$ref": "steps.plan.result.value.downloads"},
   "params": {"url": {"$ref": "item.url"}, "path": {"$ref": "item.path"}}},
  {"name": "extract", "kind": "extract", "depends_on": ["download"], "for_each": {"$ref": "steps.plan.result.value.extracts"},
   "params": {"archive": {"$ref": "item.archive"}, "dest": {"$ref": "item.dest"}}},
  {"name": "split", "kind": "sql", "depends_on": ["extract"], "for_each": {"$ref": "steps.plan.result.value.extracts"},
   "params": {"command": {"$ref": "item.split_command"}}},
  {"name": "layout", "kind": "layout", "depends_on": ["split"], "for_each": {"$ref": "steps.split.result"},
   "params": {"items": {"$ref": "item.value"}, "dest": {"$ref": "steps.plan.result.value.results"}}},
  {"name": "package", "kind": "package", "depends_on": ["layout"],
   "params": {"source": {"$ref": "steps.plan.result.value.results"}, "path": {"$ref": "steps.plan.result.value.package"}}},
  {"name": "upload", "kind": "upload", "depends_on": ["package"], "for_each": {"$ref": "steps.plan.result.value.uploads"},
   "params": {"path": {"$ref": "steps.package.result.path"}, "credential": {"$ref": "item.credential"},
              "target": {"$ref": "item.target"}, "delete_after": true}},
  {"name": "clean", "kind": "delete", "depends_on": ["package"], "for_each": {"$ref": "steps.plan.result.value.clean"},
   "params": {"path": {"$ref": "item"}, "recursive": true}}
]$$, $$ {
  "file_list": [], "n_test_per_label": null, "test_size": null, "seed": 0, "method": null,
  "work": "dataset", "package": "diatom_set-%Y-%m-%d-%H-%M-%S.zip", "upload": null
} $$, 'The diatom builder: the file list''s zips downloaded in parallel -> extracted (one folder each) -> split per folder (n_test_per_label or test_size, seeded) -> laid out as results/<split>/<species>/ by hard links -> zipped as diatom_set-<UTC time>.zip -> uploaded, the zip deleted only after a confirmed upload -> working folders cleaned');
UPDATE mlops.pipeline_versions SET builtin = true WHERE name OPERATOR(pg_catalog.=) 'dataset';
------------------------------------------------------------------------------
-- Untyped literals: mlops.accuracy('[1,0,1]', '[1,1,1]')
--
-- A quoted literal has no type, and json, jsonb and float8[] all accept it:
-- without these text forms PostgreSQL cannot choose ("function is not
-- unique").  Given unknown literals it prefers text, so these take them and
-- read them as jsonb; a json, jsonb or float8[] argument still calls its own
-- form.  Plain SQL, inlined into the caller.  Test 04_classification checks
-- that every metric of mlops.metric_registry() has its json, jsonb and text
-- form, each with a comment.
------------------------------------------------------------------------------

CREATE FUNCTION mlops.accuracy(y_true text, y_pred text, "normalize" boolean DEFAULT true,
                               sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.accuracy($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3, $4::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.accuracy(text, text, boolean, text) IS
'accuracy of untyped literals (read as jsonb): mlops.accuracy(''[1,0,1]'', ''[1,1,1]'')';

CREATE FUNCTION mlops.precision(y_true text, y_pred text, average text DEFAULT 'binary',
                                pos_label text DEFAULT '1', labels text DEFAULT NULL,
                                zero_division double precision DEFAULT 0, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.precision($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3, $4::pg_catalog.jsonb,
                             $5::pg_catalog.jsonb, $6, $7::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.precision(text, text, text, text, text, double precision, text) IS
'precision of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.recall(y_true text, y_pred text, average text DEFAULT 'binary',
                             pos_label text DEFAULT '1', labels text DEFAULT NULL,
                             zero_division double precision DEFAULT 0, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.recall($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3, $4::pg_catalog.jsonb,
                          $5::pg_catalog.jsonb, $6, $7::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.recall(text, text, text, text, text, double precision, text) IS
'recall of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.f1(y_true text, y_pred text, average text DEFAULT 'binary',
                         pos_label text DEFAULT '1', labels text DEFAULT NULL,
                         zero_division double precision DEFAULT 0, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.f1($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3, $4::pg_catalog.jsonb,
                      $5::pg_catalog.jsonb, $6, $7::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.f1(text, text, text, text, text, double precision, text) IS
'F1 of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.fbeta(y_true text, y_pred text, beta double precision,
                            average text DEFAULT 'binary', pos_label text DEFAULT '1',
                            labels text DEFAULT NULL, zero_division double precision DEFAULT 0,
                            sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.fbeta($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3, $4, $5::pg_catalog.jsonb,
                         $6::pg_catalog.jsonb, $7, $8::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.fbeta(text, text, double precision, text, text, text, double precision, text) IS
'F-beta of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.precision_recall_fscore_support(y_true text, y_pred text,
                            beta double precision DEFAULT 1, average text DEFAULT NULL,
                            pos_label text DEFAULT '1', labels text DEFAULT NULL,
                            zero_division double precision DEFAULT 0, sample_weight text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.precision_recall_fscore_support($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3, $4,
                  $5::pg_catalog.jsonb, $6::pg_catalog.jsonb, $7, $8::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.precision_recall_fscore_support(text, text, double precision, text, text, text, double precision, text) IS
'precision_recall_fscore_support of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.confusion_matrix(y_true text, y_pred text, labels text DEFAULT NULL,
                                       sample_weight text DEFAULT NULL, "normalize" text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.confusion_matrix($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3::pg_catalog.jsonb,
                                    $4::pg_catalog.jsonb, $5) $$;
COMMENT ON FUNCTION mlops.confusion_matrix(text, text, text, text, text) IS
'confusion_matrix of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.classification_report(y_true text, y_pred text, labels text DEFAULT NULL,
                                            sample_weight text DEFAULT NULL,
                                            zero_division double precision DEFAULT 0)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.classification_report($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3::pg_catalog.jsonb,
                                         $4::pg_catalog.jsonb, $5) $$;
COMMENT ON FUNCTION mlops.classification_report(text, text, text, text, double precision) IS
'classification_report of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.mae(y_true text, y_pred text, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.mae($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.mae(text, text, text) IS 'mae of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.mse(y_true text, y_pred text, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.mse($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.mse(text, text, text) IS 'mse of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.rmse(y_true text, y_pred text, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.rmse($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.rmse(text, text, text) IS 'rmse of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.r2(y_true text, y_pred text, sample_weight text DEFAULT NULL)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT mlops.r2($1::pg_catalog.jsonb, $2::pg_catalog.jsonb, $3::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.r2(text, text, text) IS 'r2 of untyped literals (read as jsonb)';

CREATE FUNCTION mlops.entropy(probs text, base double precision DEFAULT 2)
RETURNS double precision[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT mlops.entropy($1::pg_catalog.jsonb, $2) $$;
COMMENT ON FUNCTION mlops.entropy(text, double precision) IS 'entropy of an untyped literal (read as jsonb)';

CREATE FUNCTION mlops.least_confidence(probs text)
RETURNS double precision[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT mlops.least_confidence($1::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.least_confidence(text) IS 'least_confidence of an untyped literal (read as jsonb)';

CREATE FUNCTION mlops.margin(probs text)
RETURNS double precision[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT mlops.margin($1::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.margin(text) IS 'margin of an untyped literal (read as jsonb)';

CREATE FUNCTION mlops.softmax(logits text)
RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT mlops.softmax($1::pg_catalog.jsonb) $$;
COMMENT ON FUNCTION mlops.softmax(text) IS 'softmax of an untyped literal (read as jsonb)';

-- The queue at scale (0.2.0): a count of the dependencies each job waits for, so that claims
-- read only runnable jobs (by kind) and never re-check dependencies.
ALTER TABLE mlops.jobs ADD COLUMN blockers int NOT NULL DEFAULT 0 CHECK (blockers >= 0);
DROP INDEX mlops.jobs_runnable;
CREATE INDEX jobs_ready ON mlops.jobs (kind, run_after, id) WHERE state = 'pending' AND blockers = 0;
CREATE INDEX jobs_blocked ON mlops.jobs USING gin (depends_on) WHERE state = 'pending' AND blockers > 0;
DO $$
DECLARE
    c int;
BEGIN
    -- jobs behind a failed or cancelled dependency fail now (0.1.0's worker did it on its next pass)
    LOOP
        UPDATE mlops.jobs d
        SET state = 'failed', finished_at = now(), error = format('dependency %s %s', dep.id, dep.state)
        FROM mlops.jobs dep
        WHERE d.state = 'pending' AND dep.id OPERATOR(pg_catalog.=) ANY (d.depends_on)
          AND dep.state IN ('failed', 'cancelled');
        GET DIAGNOSTICS c = ROW_COUNT;
        EXIT WHEN c = 0;
    END LOOP;
    UPDATE mlops.jobs d
    SET blockers = (SELECT count(*) FROM mlops.jobs dep
                    WHERE dep.id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT DISTINCT unnest(d.depends_on)))
                      AND dep.state <> 'succeeded')
    WHERE d.state = 'pending' AND d.depends_on <> '{}';
END
$$;
CREATE TRIGGER jobs_release_dependents AFTER UPDATE OF state ON mlops.jobs
    FOR EACH ROW WHEN (NEW.state IN ('succeeded', 'failed', 'cancelled') AND NEW.state IS DISTINCT FROM OLD.state)
    EXECUTE FUNCTION mlops.jobs_release_dependents();
REVOKE ALL ON FUNCTION mlops.lock_runnable_job(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.dependency_blockers(bigint[]) FROM PUBLIC;
------------------------------------------------------------------------------
-- Declared job kinds: the kinds of external workers
--
-- submit_job takes a kind the worker serves (mlops.worker_kinds(), from the
-- C registry) or one an administrator declared here, for external workers
-- (claim_job); any other kind is refused, listing the valid ones.
------------------------------------------------------------------------------
CREATE TABLE mlops.declared_kinds (
    kind        text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    description text,
    declared_by oid NOT NULL,
    declared_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mlops.declared_kinds IS
'Job kinds declared for external workers (mlops.declare_kind); submit_job refuses kinds that are neither these nor the worker''s';
REVOKE ALL ON mlops.declared_kinds FROM PUBLIC;
GRANT SELECT ON mlops.declared_kinds TO PUBLIC;

CREATE FUNCTION mlops.declare_kind(kind text, description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF kind IS NULL THEN
        RAISE EXCEPTION 'the kind must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid job kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A kind is a lower-case identifier such as train or label.';
    END IF;
    IF kind OPERATOR(pg_catalog.=) ANY (mlops.worker_kinds()) THEN
        RAISE EXCEPTION 'job kind "%" is the worker''s own', kind
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Only kinds for external workers are declared.';
    END IF;
    INSERT INTO mlops.declared_kinds AS d (kind, description, declared_by)
    VALUES (declare_kind.kind, declare_kind.description, session_user::regrole::oid)
    ON CONFLICT ON CONSTRAINT declared_kinds_pkey DO UPDATE SET description = EXCLUDED.description;
END
$$;
COMMENT ON FUNCTION mlops.declare_kind(text, text) IS
'Declares a job kind for external workers (administrators, or roles granted EXECUTE): submit_job refuses kinds that are neither declared nor the worker''s; declaring again replaces the description';

CREATE FUNCTION mlops.undeclare_kind(kind text)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM mlops.declared_kinds d WHERE d.kind OPERATOR(pg_catalog.=) $1 RETURNING true
$$;
COMMENT ON FUNCTION mlops.undeclare_kind(text) IS
'Removes a declared kind (new jobs of it are refused; jobs already queued stay claimable); true if it was declared';
REVOKE ALL ON FUNCTION mlops.declare_kind(text, text), mlops.undeclare_kind(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.declare_kind(text, text), mlops.undeclare_kind(text) TO mlops_admin;
-- the kinds of external workers that 0.1.0's queue already holds are declared, so their jobs
-- and their submitters go on as before
INSERT INTO mlops.declared_kinds (kind, description, declared_by)
SELECT DISTINCT j.kind, 'declared by the update from 0.1.0 (jobs of this kind were queued)', j.submitted_by
FROM mlops.jobs j
WHERE NOT (j.kind OPERATOR(pg_catalog.=) ANY (mlops.worker_kinds()))
ON CONFLICT DO NOTHING;
CREATE FUNCTION mlops.heatmap_overlay_png(r raster, points geometry DEFAULT NULL, outlines geometry DEFAULT NULL,
                                          options jsonb DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'mlops_heatmap_overlay_png'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.heatmap_overlay_png(raster, geometry, geometry, jsonb) IS
'mlops.heatmap_png''s picture of band 1 with outlines (polygons or lines in the raster''s coordinates) drawn over it as lines and points as markers (discs ringed in black), e.g. contours and sites over a model''s heatmap. Options colormap, vmin, vmax, scale, point_color and line_color ("#RRGGBB"; magenta and white by default), marker_radius (6) and line_width (2), in pixels';

------------------------------------------------------------------------------
-- The detection pipeline (the detection workflow's post-processing, seed 004):
-- model heatmaps -> blobs per model (mlops.detections) -> candidates per model
-- (mlops.sites) -> cross-model confirmation -> contours of the heatmap around
-- each confirmed candidate (mlops.site_contours); with config.geocode, the
-- confirmed candidates reverse-geocoded (the geocode job kind, its cache) into
-- mlops.sites.address.  Every step writes its rows
-- for the run and its owner, replacing what an earlier attempt of the same
-- run wrote, so a rerun never duplicates a row.
------------------------------------------------------------------------------

CREATE TABLE mlops.detections (
    owner regrole NOT NULL DEFAULT mlops.calling_role(),
    run_id text NOT NULL,
    model text NOT NULL,
    blob_id int NOT NULL,
    pixel_row float8 NOT NULL,
    pixel_col float8 NOT NULL,
    sigma float8 NOT NULL,
    radius float8 NOT NULL,
    value float8,
    geom geometry NOT NULL,
    PRIMARY KEY (owner, run_id, model, blob_id)
);
CREATE INDEX detections_geom ON mlops.detections USING gist (geom);
COMMENT ON TABLE mlops.detections IS
'The detection pipeline''s blobs, per run and model: blob_id from 1 per model (heatmaps in order of their upper-left corner, north to south then west to east), row and column in the heatmap the blob came from, sigma, radius in map units, the detector''s response and the point at the pixel centre';

CREATE TABLE mlops.sites (
    owner regrole NOT NULL DEFAULT mlops.calling_role(),
    run_id text NOT NULL,
    site_id int NOT NULL,
    model text NOT NULL,
    geom geometry NOT NULL,
    n_members int NOT NULL,
    members int[] NOT NULL,
    n_models int,
    confirmed_by text[],
    confirmed boolean,
    address jsonb,
    PRIMARY KEY (owner, run_id, site_id)
);
CREATE INDEX sites_model ON mlops.sites (owner, run_id, model);
CREATE INDEX sites_geom ON mlops.sites USING gist (geom);
COMMENT ON TABLE mlops.sites IS
'The detection pipeline''s candidate sites: one per group of a model''s blobs merged within the radius (members are the blob_ids of mlops.detections of that model), then confirmed when at least min_models models found a candidate there (n_models, confirmed_by); address: a confirmed site''s reverse-geocoding answer ({display_name, address}, or {error}) when the run''s config.geocode is set, else NULL';

CREATE TABLE mlops.site_contours (
    owner regrole NOT NULL DEFAULT mlops.calling_role(),
    run_id text NOT NULL,
    site_id int NOT NULL,
    contour_id int NOT NULL,
    geom geometry NOT NULL,
    area float8 NOT NULL,
    max_value float8,
    PRIMARY KEY (owner, run_id, site_id, contour_id)
);
CREATE INDEX site_contours_geom ON mlops.site_contours USING gist (geom);
COMMENT ON TABLE mlops.site_contours IS
'The detection pipeline''s outlines of a confirmed site: the contours (mlops.contours at the run''s level) of its model''s heatmap in a window around the site that lie within the radius of it';

SELECT pg_catalog.pg_extension_config_dump('mlops.detections', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.sites', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.site_contours', '');
ALTER TABLE mlops.detections ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.site_contours ENABLE ROW LEVEL SECURITY;
CREATE POLICY detections_owner ON mlops.detections USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
CREATE POLICY sites_owner ON mlops.sites USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
CREATE POLICY site_contours_owner ON mlops.site_contours USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
REVOKE ALL ON mlops.detections, mlops.sites, mlops.site_contours FROM PUBLIC;
GRANT SELECT ON mlops.detections, mlops.sites, mlops.site_contours TO mlops_admin;

-- mlops.detection_check: the detection pipeline's config, checked before anything runs (the
-- plan step calls it, and so does every later step) and turned into the settings the steps use.
-- The detection functions themselves check their options: they are called here on a one-cell
-- raster and an empty array, so an unknown option, method or a NaN is refused with their words.
CREATE FUNCTION mlops.detection_check(config jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keys constant text[] := ARRAY['heatmaps', 'models', 'method', 'blob_options', 'pred_threshold', 'radius',
                                  'merge_method', 'merge_options', 'min_models', 'tolerance', 'level',
                                  'contour_options', 'window', 'min_area', 'geocode'];
    geo_keys constant text[] := ARRAY['credential', 'endpoint', 'zoom', 'language', 'max_age'];
    src jsonb := config -> 'heatmaps';
    geo jsonb := nullif(config -> 'geocode', 'null');
    k text;
    n text;
    num jsonb;
    radius float8;
    blob_opts jsonb;
    contour_opts jsonb;
    cell raster;
BEGIN
    IF jsonb_typeof(config) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the detection config must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(config) LOOP
        IF NOT k = ANY (keys) THEN
            RAISE EXCEPTION 'unknown detection config key "%"', k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid keys are ' || array_to_string(keys, ', ') || '.';
        END IF;
    END LOOP;
    IF jsonb_typeof(src) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'config.heatmaps must be an object naming a table or a query'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"table": "public.heatmaps", "raster": "raster", "model": "model"}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(src) LOOP
        IF k NOT IN ('table', 'query', 'raster', 'model') THEN
            RAISE EXCEPTION 'unknown key "%" in config.heatmaps', k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid keys are table, query, raster and model.';
        END IF;
    END LOOP;
    IF (jsonb_typeof(src -> 'table') IS NOT DISTINCT FROM 'string') = (jsonb_typeof(src -> 'query') IS NOT DISTINCT FROM 'string')
       OR coalesce(jsonb_typeof(src -> 'table'), 'null') NOT IN ('string', 'null')
       OR coalesce(jsonb_typeof(src -> 'query'), 'null') NOT IN ('string', 'null') THEN
        RAISE EXCEPTION 'config.heatmaps needs exactly one of table and query (a string)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH k IN ARRAY ARRAY['raster', 'model'] LOOP
        IF jsonb_typeof(src -> k) IS DISTINCT FROM 'string' OR src ->> k = '' THEN
            RAISE EXCEPTION 'config.heatmaps.% must name a column', k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF jsonb_typeof(config -> 'models') IS NOT NULL AND jsonb_typeof(config -> 'models') <> 'null'
       AND (jsonb_typeof(config -> 'models') <> 'array'
            OR EXISTS (SELECT 1 FROM jsonb_array_elements(config -> 'models') e WHERE jsonb_typeof(e) <> 'string')
            OR jsonb_array_length(config -> 'models') = 0) THEN
        RAISE EXCEPTION 'config.models must be null (every model of the heatmaps) or a non-empty array of model names'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- numbers: finite JSON numbers (JSON has no NaN: "NaN" is a string and refused here)
    FOREACH n IN ARRAY ARRAY['pred_threshold', 'radius', 'min_models', 'level', 'min_area', 'window', 'tolerance'] LOOP
        num := config -> n;
        IF n IN ('window', 'tolerance') AND (num IS NULL OR num = 'null') THEN
            CONTINUE;
        END IF;
        IF jsonb_typeof(num) IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'config.% must be a finite number, got %', n, coalesce(num::text, 'nothing')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    radius := (config ->> 'radius')::float8;
    IF radius <= 0 THEN
        RAISE EXCEPTION 'config.radius must be positive, got %', radius USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (config ->> 'min_models')::numeric < 1 OR (config ->> 'min_models')::numeric <> trunc((config ->> 'min_models')::numeric) THEN
        RAISE EXCEPTION 'config.min_models must be a whole number of at least 1, got %', config ->> 'min_models'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (config ->> 'window')::float8 <= 0 THEN
        RAISE EXCEPTION 'config.window must be positive, got %', config ->> 'window' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH n IN ARRAY ARRAY['tolerance', 'min_area'] LOOP
        IF (config ->> n)::float8 < 0 THEN
            RAISE EXCEPTION 'config.% must not be negative, got %', n, config ->> n USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF jsonb_typeof(config -> 'method') IS DISTINCT FROM 'string' OR jsonb_typeof(config -> 'merge_method') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'config.method and config.merge_method must be strings' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH n IN ARRAY ARRAY['blob_options', 'merge_options', 'contour_options'] LOOP
        IF jsonb_typeof(config -> n) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'config.% must be an object', n USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF config -> 'blob_options' ? 'pred_threshold' OR config -> 'contour_options' ? 'min_area' THEN
        RAISE EXCEPTION 'give pred_threshold and min_area at the top of the config, not in blob_options or contour_options'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- geocoding: off (null) or the geocode job kind's params but the points; the kind checks the
    -- rest (the credential's grant, mlops.user_agent, max_age) when the geocode step is queued
    IF geo IS NOT NULL THEN
        IF jsonb_typeof(geo) <> 'object' THEN
            RAISE EXCEPTION 'config.geocode must be null (no geocoding) or an object naming a credential or an endpoint'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"credential": "nominatim"}.';
        END IF;
        FOR k IN SELECT jsonb_object_keys(geo) LOOP
            IF NOT k = ANY (geo_keys) THEN
                RAISE EXCEPTION 'unknown key "%" in config.geocode', k
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid keys are ' || array_to_string(geo_keys, ', ') || '.';
            END IF;
        END LOOP;
        IF geo ? 'credential' AND geo ? 'endpoint' THEN
            RAISE EXCEPTION 'config.geocode names either a credential or an endpoint, not both'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(coalesce(geo -> 'credential', geo -> 'endpoint')) IS DISTINCT FROM 'string'
           OR coalesce(geo ->> 'credential', geo ->> 'endpoint') = '' THEN
            RAISE EXCEPTION 'config.geocode needs a credential or an endpoint (a string)'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A credential of kind http granted to you holds the service''s url (and key); an endpoint is a public service''s base URL.';
        END IF;
        IF geo ? 'zoom' AND (jsonb_typeof(geo -> 'zoom') IS DISTINCT FROM 'number' OR (geo ->> 'zoom')::numeric NOT BETWEEN 0 AND 18
                             OR (geo ->> 'zoom')::numeric <> trunc((geo ->> 'zoom')::numeric)) THEN
            RAISE EXCEPTION 'config.geocode.zoom must be a whole number from 0 to 18, got %', geo -> 'zoom'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF geo ? 'language' AND jsonb_typeof(geo -> 'language') IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'config.geocode.language must be language tags such as "en" or "de,en"'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF geo ? 'max_age' AND coalesce(jsonb_typeof(geo -> 'max_age'), 'null') NOT IN ('string', 'number') THEN
            RAISE EXCEPTION 'config.geocode.max_age must be a duration such as "7d" or a number of seconds'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    blob_opts := (config -> 'blob_options') || jsonb_build_object('pred_threshold', config -> 'pred_threshold');
    contour_opts := config -> 'contour_options';
    IF (config ->> 'min_area')::float8 > 0 THEN
        contour_opts := contour_opts || jsonb_build_object('min_area', config -> 'min_area');
    END IF;
    -- the detection functions' own checks, on a one-cell raster and no points
    cell := ST_AddBand(ST_MakeEmptyRaster(1, 1, 0, 1, 1, -1, 0, 0, 0), '32BF'::text, 0, NULL);
    PERFORM 1 FROM mlops.detect_blobs(cell, config ->> 'method', blob_opts);
    PERFORM 1 FROM mlops.merge_detections(ARRAY[]::geometry[], radius, config ->> 'merge_method', config -> 'merge_options');
    PERFORM 1 FROM mlops.contours(cell, (config ->> 'level')::float8, contour_opts);
    RETURN jsonb_build_object(
        'source', CASE WHEN src ? 'table' AND jsonb_typeof(src -> 'table') = 'string'
                       THEN jsonb_build_object('table', src -> 'table') ELSE jsonb_build_object('query', src -> 'query') END
                  || jsonb_build_object('raster', src -> 'raster', 'model', src -> 'model'),
        'models', CASE WHEN jsonb_typeof(config -> 'models') = 'array' THEN config -> 'models' END,
        'method', config -> 'method', 'blob_options', blob_opts,
        'radius', radius, 'merge_method', config -> 'merge_method', 'merge_options', config -> 'merge_options',
        'min_models', (config ->> 'min_models')::int,
        'tolerance', coalesce((config ->> 'tolerance')::float8, radius),
        'level', (config ->> 'level')::float8, 'contour_options', contour_opts,
        'window', coalesce((config ->> 'window')::float8, 4 * radius),
        'geocode', geo);
END
$$;
COMMENT ON FUNCTION mlops.detection_check(jsonb) IS
'Checks a detection pipeline config (keys, the heatmaps source, finite numbers, a positive radius, min_models >= 1, the blob, merge and contour methods and options through the detection functions'' own checks, and geocode: null or exactly one of credential and endpoint with zoom, language, max_age) and returns the settings its steps use';

-- mlops.detection_heatmaps: the SQL that reads (model, raster) from the config's source.  A table
-- must exist; a query is the run owner's own SQL.  Either runs with the owner's rights.
CREATE FUNCTION mlops.detection_heatmaps(settings jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src jsonb := settings -> 'source';
    t regclass;
BEGIN
    IF src ? 'table' THEN
        t := to_regclass(src ->> 'table');
        IF t IS NULL THEN
            RAISE EXCEPTION 'table % does not exist', src ->> 'table'
                USING ERRCODE = 'undefined_table', HINT = 'Name the table with its schema, as public.heatmaps.';
        END IF;
        RETURN format('SELECT h.%I::text AS model, h.%I AS raster FROM %s h', src ->> 'model', src ->> 'raster', t);
    END IF;
    RETURN format('SELECT h.%I::text AS model, h.%I AS raster FROM (%s) h', src ->> 'model', src ->> 'raster', src ->> 'query');
END
$$;
COMMENT ON FUNCTION mlops.detection_heatmaps(jsonb) IS
'The detection pipeline''s source of heatmaps as SQL returning (model text, raster), from a table and its columns or from a query; it runs with the rights of the run''s owner';

-- mlops.detection_settings: the current run's id and settings, inside a detection step.
CREATE FUNCTION mlops.detection_settings(OUT run_id text, OUT settings jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT r.run_id, r.config INTO run_id, settings FROM mlops.current_run() r;
    IF run_id IS NULL THEN
        RAISE EXCEPTION 'the detection functions run as steps of a detection run'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Start one with mlops.start_run(''detection'', ...).';
    END IF;
    settings := mlops.detection_check(settings);
END
$$;
COMMENT ON FUNCTION mlops.detection_settings() IS
'Inside a detection pipeline step: the run''s id and its checked settings';

-- mlops.detection_plan: the plan step.  Checks the config, reads which models the source has (as
-- the run's owner: a table it may not read fails the step) and returns each model's commands.
CREATE FUNCTION mlops.detection_plan(config jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb := mlops.detection_check(config);
    have text[];
    missing text;
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT model ORDER BY model) FROM (%s) x WHERE model IS NOT NULL AND raster IS NOT NULL',
                   mlops.detection_heatmaps(s))
    INTO have;
    have := coalesce(have, '{}');
    IF s -> 'models' IS NOT NULL AND jsonb_typeof(s -> 'models') = 'array' THEN
        SELECT string_agg(m, ', ') INTO missing FROM jsonb_array_elements_text(s -> 'models') m WHERE NOT m = ANY (have);
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'no heatmap of model % in the source', missing
                USING ERRCODE = 'no_data_found', HINT = coalesce('Its models are ' || array_to_string(have, ', ') || '.', 'It has no heatmap.');
        END IF;
        SELECT array_agg(DISTINCT m ORDER BY m) INTO have FROM jsonb_array_elements_text(s -> 'models') m;
    END IF;
    IF cardinality(have) = 0 THEN
        RAISE EXCEPTION 'the detection source has no heatmap' USING ERRCODE = 'no_data_found';
    END IF;
    RETURN jsonb_build_object('models', (
        SELECT jsonb_agg(jsonb_build_object('model', m,
                                            'blobs', format('SELECT mlops.detection_blobs(%L)', m),
                                            'contours', format('SELECT mlops.detection_contours(%L)', m)) ORDER BY m)
        FROM unnest(have) m));
END
$$;
COMMENT ON FUNCTION mlops.detection_plan(jsonb) IS
'The detection pipeline''s plan step: checks the config and lists the models of the heatmap source (read with the run owner''s rights) with their blobs and contours commands';

-- mlops.detection_blobs: the blobs step of one model: every heatmap of the model through
-- mlops.detect_blobs; replaces the run's rows of that model.
CREATE FUNCTION mlops.detection_blobs(model text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record := mlops.detection_settings();
    n int;
    rasters int;
BEGIN
    DELETE FROM mlops.detections d
    WHERE d.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND d.run_id = r.run_id AND d.model = detection_blobs.model;
    EXECUTE format($q$
        INSERT INTO mlops.detections (run_id, model, blob_id, pixel_row, pixel_col, sigma, radius, value, geom)
        SELECT $1, $2, row_number() OVER (ORDER BY h.n, b.blob_id), b.pixel_row, b.pixel_col, b.sigma, b.radius, b.value, b.geom
        FROM (SELECT raster, row_number() OVER (ORDER BY ST_UpperLeftY(raster) DESC, ST_UpperLeftX(raster)) AS n
              FROM (%s) x WHERE model = $2 AND raster IS NOT NULL) h,
             LATERAL mlops.detect_blobs(h.raster, $3, $4) b$q$, mlops.detection_heatmaps(r.settings))
    USING r.run_id, model, r.settings ->> 'method', r.settings -> 'blob_options';
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('SELECT count(*) FROM (%s) x WHERE model = $1 AND raster IS NOT NULL', mlops.detection_heatmaps(r.settings))
    INTO rasters USING model;
    RETURN jsonb_build_object('model', model, 'heatmaps', rasters, 'blobs', n);
END
$$;
COMMENT ON FUNCTION mlops.detection_blobs(text) IS
'The detection pipeline''s blobs step for one model: mlops.detect_blobs on each of its heatmaps (pred_threshold applied), stored in mlops.detections for the run (replacing an earlier attempt''s rows)';

-- mlops.detection_merge: the merge step: each model's blobs merged into candidate sites, site ids
-- numbered over the run by model then the merge's order; replaces the run's sites.
CREATE FUNCTION mlops.detection_merge()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record := mlops.detection_settings();
    n int;
BEGIN
    -- the run's sites, and the contours drawn around them, are replaced
    DELETE FROM mlops.site_contours c WHERE c.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND c.run_id = r.run_id;
    DELETE FROM mlops.sites s WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id;
    INSERT INTO mlops.sites (run_id, site_id, model, geom, n_members, members)
    SELECT r.run_id, row_number() OVER (ORDER BY d.model, m.site_id), d.model, m.geom, m.n_members, m.members
    FROM (SELECT x.model, array_agg(x.geom ORDER BY x.blob_id) AS pts
          FROM mlops.detections x
          WHERE x.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND x.run_id = r.run_id
          GROUP BY x.model) d,
         LATERAL mlops.merge_detections(d.pts, (r.settings ->> 'radius')::float8, r.settings ->> 'merge_method',
                                        r.settings -> 'merge_options') m;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN jsonb_build_object('sites', n);
END
$$;
COMMENT ON FUNCTION mlops.detection_merge() IS
'The detection pipeline''s merge step: each model''s blobs merged (mlops.merge_detections with the run''s radius, method and options) into candidate sites in mlops.sites, replacing the run''s sites and their contours; members are the blob ids (blob_id is the position in the merged array)';

-- mlops.detection_confirm: the confirm step: how many models found each candidate (exact
-- intersection, or within the tolerance; the radius by default) and whether that is min_models.
CREATE FUNCTION mlops.detection_confirm()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record := mlops.detection_settings();
    models text[];
    total int;
    kept int;
BEGIN
    SELECT array_agg(DISTINCT s.model ORDER BY s.model) INTO models
    FROM mlops.sites s WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id;
    -- confirm_detections once (materialized: the update must not run it again per site)
    WITH c AS MATERIALIZED (
        SELECT ids[c.candidate] AS site_id, c.n_models, c.confirmed_by
        FROM (SELECT array_agg(x.site_id ORDER BY x.site_id) AS ids, array_agg(x.geom ORDER BY x.site_id) AS geoms,
                     array_agg(array_position(models, x.model) ORDER BY x.site_id) AS model_no
              FROM mlops.sites x
              WHERE x.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND x.run_id = r.run_id) a,
             LATERAL mlops.confirm_detections(a.geoms, a.model_no, 1, (r.settings ->> 'tolerance')::float8) c)
    UPDATE mlops.sites s
    SET n_models = c.n_models,
        confirmed_by = (SELECT array_agg(models[k] ORDER BY k) FROM unnest(c.confirmed_by) k),
        confirmed = c.n_models >= (r.settings ->> 'min_models')::int
    FROM c
    WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id AND s.site_id = c.site_id;
    GET DIAGNOSTICS total = ROW_COUNT;
    SELECT count(*) INTO kept FROM mlops.sites s
    WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id AND s.confirmed;
    RETURN jsonb_build_object('sites', total, 'confirmed', kept, 'models', coalesce(cardinality(models), 0));
END
$$;
COMMENT ON FUNCTION mlops.detection_confirm() IS
'The detection pipeline''s confirm step: mlops.confirm_detections over every model''s candidate sites (exact intersection, or within config.tolerance, by default the radius); sets n_models, confirmed_by and confirmed (n_models >= min_models) in mlops.sites';

-- mlops.detection_contours: the contours step of one model: for each confirmed site of the
-- model, the window of its heatmaps around the site (config.window, by default 4 radii, each
-- way), its contours at the level, those within the radius of the site; replaces the rows.
CREATE FUNCTION mlops.detection_contours(model text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record := mlops.detection_settings();
    n int;
BEGIN
    DELETE FROM mlops.site_contours c
    USING mlops.sites s
    WHERE c.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND c.run_id = r.run_id
      AND s.owner OPERATOR(pg_catalog.=) c.owner AND s.run_id = c.run_id AND s.site_id = c.site_id
      AND s.model = detection_contours.model;
    EXECUTE format($q$
        INSERT INTO mlops.site_contours (run_id, site_id, contour_id, geom, area, max_value)
        SELECT $1, s.site_id, row_number() OVER (PARTITION BY s.site_id ORDER BY c.contour_id), c.geom, c.area, c.max_value
        FROM mlops.sites s
        CROSS JOIN LATERAL (SELECT ST_Union(ST_Clip(h.raster, ST_Expand(s.geom, $3))) AS raster
                            FROM (%s) h
                            WHERE h.model = $2 AND h.raster IS NOT NULL AND ST_Intersects(h.raster, ST_Expand(s.geom, $3))) w
        CROSS JOIN LATERAL mlops.contours(w.raster, $4, $5) c
        WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = $1 AND s.model = $2 AND s.confirmed
          AND w.raster IS NOT NULL AND ST_DWithin(c.geom, s.geom, $6)$q$, mlops.detection_heatmaps(r.settings))
    USING r.run_id, model, (r.settings ->> 'window')::float8, (r.settings ->> 'level')::float8,
          r.settings -> 'contour_options', (r.settings ->> 'radius')::float8;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN jsonb_build_object('model', model, 'contours', n);
END
$$;
COMMENT ON FUNCTION mlops.detection_contours(text) IS
'The detection pipeline''s contours step for one model: for each of its confirmed sites, mlops.contours of its heatmaps clipped to the window around the site, the contours within the radius of it, stored in mlops.site_contours';

-- mlops.detection_points: the points step: the run's confirmed sites as the geocode job kind's
-- points ({id: site_id, lon, lat} in EPSG:4326), in batches of at most 10,000 (a geocode job's
-- limit), each batch the params of one geocode job, and the address step's command.  No batch
-- and no command when geocoding is off or no site is confirmed: the geocode and address steps'
-- fan-outs are then empty, they start no job (and no session).
CREATE FUNCTION mlops.detection_points()
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record := mlops.detection_settings();
    geo jsonb := r.settings -> 'geocode';
    batches jsonb;
    n int;
BEGIN
    IF geo IS NULL OR jsonb_typeof(geo) <> 'object' THEN
        RETURN jsonb_build_object('geocode', false, 'points', 0, 'batches', '[]'::jsonb, 'address', '[]'::jsonb);
    END IF;
    IF EXISTS (SELECT 1 FROM mlops.sites s
               WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id AND s.confirmed
                 AND ST_SRID(s.geom) = 0) THEN
        RAISE EXCEPTION 'the sites of this run have no SRID, so they cannot be geocoded'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the heatmaps an SRID (ST_SetSRID), or set config.geocode to null.';
    END IF;
    SELECT coalesce(jsonb_agg(geo || jsonb_build_object('points', b.points) ORDER BY b.k), '[]'), coalesce(sum(b.n), 0)
    INTO batches, n
    FROM (SELECT p.k, jsonb_agg(jsonb_build_object('id', p.site_id, 'lon', ST_X(p.g), 'lat', ST_Y(p.g)) ORDER BY p.site_id) AS points,
                 count(*) AS n
          FROM (SELECT s.site_id, (row_number() OVER (ORDER BY s.site_id) - 1) / 10000 AS k, ST_Transform(s.geom, 4326) AS g
                FROM mlops.sites s
                WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id AND s.confirmed) p
          GROUP BY p.k) b;
    RETURN jsonb_build_object('geocode', true, 'points', n, 'batches', batches,
                              'address', CASE WHEN n > 0 THEN '["SELECT mlops.detection_address()"]'::jsonb ELSE '[]' END);
END
$$;
COMMENT ON FUNCTION mlops.detection_points() IS
'The detection pipeline''s points step: the run''s confirmed sites as geocode points {id: site_id, lon, lat} (EPSG:4326), in batches of at most 10,000, each the params of one geocode job (config.geocode and the points), and the address step''s command; neither when config.geocode is null or no site is confirmed';

-- mlops.detection_address: the address step: each geocoded point's answer written to its site
-- (the run's own rows, as the run's owner: row-level security applies).  It runs only when the
-- points step had points to geocode.
CREATE FUNCTION mlops.detection_address()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record := mlops.detection_settings();
    answers jsonb := coalesce(mlops.current_step_result('geocode'), '[]');
    n int;
    unplaced int;
BEGIN
    IF jsonb_typeof(answers) <> 'array' THEN
        RAISE EXCEPTION 'the geocode step''s result is not an array of job results' USING ERRCODE = 'data_exception';
    END IF;
    WITH p AS MATERIALIZED (
        SELECT (pt ->> 'id')::int AS site_id,
               jsonb_strip_nulls(jsonb_build_object('display_name', pt -> 'display_name', 'address', pt -> 'address',
                                                    'error', pt -> 'error')) AS address
        FROM jsonb_array_elements(answers) b, jsonb_array_elements(b -> 'points') pt)
    UPDATE mlops.sites s SET address = p.address
    FROM p
    WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id AND s.site_id = p.site_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    SELECT count(*) INTO unplaced FROM mlops.sites s
    WHERE s.owner OPERATOR(pg_catalog.=) mlops.calling_role() AND s.run_id = r.run_id AND s.address ? 'error';
    RETURN jsonb_build_object('sites', n, 'unplaced', unplaced);
END
$$;
COMMENT ON FUNCTION mlops.detection_address() IS
'The detection pipeline''s address step: each point the geocode step answered written to mlops.sites.address of the run''s site with that id ({display_name, address}, or {error} for a point the service cannot place), as the run''s owner';

-- A detection run's config is checked when the run is started: mlops.start_run inserts the run,
-- and this trigger refuses it (so nothing is written or queued) when mlops.detection_check does.
CREATE FUNCTION mlops.runs_check_detection()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM mlops.pipeline_versions v
               WHERE v.name OPERATOR(pg_catalog.=) NEW.pipeline AND v.version OPERATOR(pg_catalog.=) NEW.version AND v.builtin) THEN
        PERFORM mlops.detection_check(NEW.config);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION mlops.runs_check_detection() IS
'Trigger: a run of the builtin detection pipeline is refused at mlops.start_run when its config fails mlops.detection_check';
CREATE TRIGGER runs_check_detection BEFORE INSERT ON mlops.runs
    FOR EACH ROW WHEN (NEW.pipeline = 'detection')
    EXECUTE FUNCTION mlops.runs_check_detection();

DO $$
DECLARE
    postgis_schema name := (SELECT n.nspname FROM pg_catalog.pg_extension e
                            JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
                            WHERE e.extname OPERATOR(pg_catalog.=) 'postgis');
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['mlops.detection_check(jsonb)', 'mlops.detection_plan(jsonb)', 'mlops.detection_blobs(text)', 'mlops.detection_merge()',
                             'mlops.detection_confirm()', 'mlops.detection_contours(text)', 'mlops.detection_points()',
                             'mlops.detection_address()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_catalog, pg_temp', f, postgis_schema);
    END LOOP;
END
$$;

-- The template, installed with the extension; every role with the application grants may start
-- runs of it.  Its defaults are the original workflow's (blob_doh on cells >= 0.75, sites merged
-- within 0.005 degrees by iterative means).
SELECT mlops.define_pipeline('detection', $$[
  {"name": "plan", "kind": "sql",
   "params": {"command": "SELECT mlops.detection_plan((SELECT config FROM mlops.current_run()))"}},
  {"name": "blobs", "kind": "sql", "depends_on": ["plan"], "for_each": {"$ref": "steps.plan.result.value.models"},
   "timeout": 3600, "params": {"command": {"$ref": "item.blobs"}}},
  {"name": "merge", "kind": "sql", "depends_on": ["blobs"], "timeout": 3600,
   "params": {"command": "SELECT mlops.detection_merge()"}},
  {"name": "confirm", "kind": "sql", "depends_on": ["merge"], "timeout": 3600,
   "params": {"command": "SELECT mlops.detection_confirm()"}},
  {"name": "contours", "kind": "sql", "depends_on": ["confirm"], "for_each": {"$ref": "steps.plan.result.value.models"},
   "timeout": 3600, "params": {"command": {"$ref": "item.contours"}}},
  {"name": "points", "kind": "sql", "depends_on": ["confirm"], "timeout": 3600,
   "params": {"command": "SELECT mlops.detection_points()"}},
  {"name": "geocode", "kind": "geocode", "depends_on": ["points"], "for_each": {"$ref": "steps.points.result.value.batches"},
   "params": {"$ref": "item"}},
  {"name": "address", "kind": "sql", "depends_on": ["geocode"], "for_each": {"$ref": "steps.points.result.value.address"},
   "timeout": 3600, "params": {"command": {"$ref": "item"}}}
]$$, $$ {
  "heatmaps": {"table": null, "query": null, "raster": "raster", "model": "model"},
  "models": null,
  "method": "doh", "blob_options": {"min_sigma": 3.5, "max_sigma": 100, "threshold": 0.0025},
  "pred_threshold": 0.75,
  "radius": 0.005, "merge_method": "iterative_mean", "merge_options": {},
  "min_models": 2, "tolerance": null,
  "level": 0.75, "contour_options": {}, "window": null, "min_area": 0,
  "geocode": null
} $$, 'The detection workflow: model heatmaps -> blobs per model (blob_doh on cells >= pred_threshold) -> mlops.detections -> each model''s blobs merged within the radius -> mlops.sites -> confirmed by min_models models -> contours of the heatmap around each confirmed site -> mlops.site_contours; with config.geocode, the confirmed sites reverse-geocoded (geocode job kind, cached) -> mlops.sites.address');
UPDATE mlops.pipeline_versions SET builtin = true WHERE name OPERATOR(pg_catalog.=) 'detection';
------------------------------------------------------------------------------
-- Geocoding (the geocode job kind, src/jobs/kind_geocode.c): answers of a
-- Nominatim-compatible service cached per owner, and the pacing of requests
-- per host shared by every worker.
------------------------------------------------------------------------------

-- Per owner: a role's query points are its own (no role sees them, and no
-- role's answer is "from cache" because of another role's question), at the
-- price of one request per role for a point two roles ask for.
CREATE TABLE mlops.geocode_cache (
    owner regrole NOT NULL,
    endpoint text NOT NULL,
    lon numeric(8,5) NOT NULL,
    lat numeric(7,5) NOT NULL,
    response jsonb NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, endpoint, lon, lat)
);
CREATE INDEX geocode_cache_fetched ON mlops.geocode_cache (fetched_at);
COMMENT ON TABLE mlops.geocode_cache IS
'Answers of reverse geocoding (geocode jobs) per owner, service endpoint and coordinates rounded to 5 decimals (about 1 m), with when they were fetched';
SELECT pg_catalog.pg_extension_config_dump('mlops.geocode_cache', '');
ALTER TABLE mlops.geocode_cache ENABLE ROW LEVEL SECURITY;
CREATE POLICY geocode_cache_owner ON mlops.geocode_cache USING (mlops.owns(owner)) WITH CHECK (mlops.owns(owner));
REVOKE ALL ON mlops.geocode_cache FROM PUBLIC;
GRANT SELECT, DELETE ON mlops.geocode_cache TO mlops_admin;

-- When the next request to a host may start: one row per host, updated by
-- every worker in a short transaction (its row lock orders them).
CREATE TABLE mlops.geocode_pacing (
    host text PRIMARY KEY,
    next_at timestamptz NOT NULL
);
COMMENT ON TABLE mlops.geocode_pacing IS
'The geocode kind''s pacing: per host, the earliest start of its next request (mlops.geocode_rate, across all workers and sessions)';
REVOKE ALL ON mlops.geocode_pacing FROM PUBLIC;
GRANT SELECT ON mlops.geocode_pacing TO mlops_admin;

-- mlops.worker_geocode_slot reserves the host's next request slot, spacing_ms
-- after the one before (hold_ms: not before that long from now, a 429's
-- Retry-After), and returns how many milliseconds from now it starts.
CREATE FUNCTION mlops.worker_geocode_slot(host text, spacing_ms double precision, hold_ms double precision DEFAULT 0)
RETURNS double precision
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO mlops.geocode_pacing AS p (host, next_at)
    VALUES ($1, pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => ($2 + $3) / 1000))
    ON CONFLICT (host) DO UPDATE
        SET next_at = GREATEST(p.next_at, pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => $3 / 1000))
                      + pg_catalog.make_interval(secs => $2 / 1000)
    RETURNING GREATEST(0, pg_catalog.date_part('epoch', p.next_at - pg_catalog.clock_timestamp()) * 1000 - $2)
$$;
COMMENT ON FUNCTION mlops.worker_geocode_slot(text, double precision, double precision) IS
'The worker''s: reserves the next geocode request slot of a host; milliseconds until it starts';

-- mlops.worker_geocode_cached: a cached answer not older than max_age_s, or NULL.
CREATE FUNCTION mlops.worker_geocode_cached(owner oid, endpoint text, lon double precision, lat double precision,
                                            max_age_s double precision)
RETURNS jsonb
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.response FROM mlops.geocode_cache c
    WHERE c.owner OPERATOR(pg_catalog.=) $1::regrole AND c.endpoint OPERATOR(pg_catalog.=) $2
      AND c.lon OPERATOR(pg_catalog.=) pg_catalog.round($3::numeric, 5)
      AND c.lat OPERATOR(pg_catalog.=) pg_catalog.round($4::numeric, 5)
      AND c.fetched_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $5))
$$;
COMMENT ON FUNCTION mlops.worker_geocode_cached(oid, text, double precision, double precision, double precision) IS
'The worker''s: a cached geocode answer of the owner for the rounded coordinates, not older than max_age_s';

-- mlops.worker_geocode_store keeps (or replaces) an answer in the owner's cache.
CREATE FUNCTION mlops.worker_geocode_store(owner oid, endpoint text, lon double precision, lat double precision,
                                           response jsonb)
RETURNS void
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO mlops.geocode_cache AS c (owner, endpoint, lon, lat, response, fetched_at)
    VALUES ($1::regrole, $2, pg_catalog.round($3::numeric, 5), pg_catalog.round($4::numeric, 5), $5, pg_catalog.now())
    ON CONFLICT (owner, endpoint, lon, lat) DO UPDATE SET response = EXCLUDED.response, fetched_at = EXCLUDED.fetched_at
$$;
COMMENT ON FUNCTION mlops.worker_geocode_store(oid, text, double precision, double precision, jsonb) IS
'The worker''s: keeps a geocode answer in the owner''s cache';
REVOKE ALL ON FUNCTION mlops.worker_geocode_slot(text, double precision, double precision),
                       mlops.worker_geocode_cached(oid, text, double precision, double precision, double precision),
                       mlops.worker_geocode_store(oid, text, double precision, double precision, jsonb) FROM PUBLIC;
-- mlops.worker_claim_many: the worker takes up to max_jobs runnable jobs of these kinds in one
-- transaction (its transfers: one commit for a batch, not one per job), the oldest first, with
-- FOR UPDATE SKIP LOCKED as worker_claim takes one; each has its own attempt and ends on its own.
CREATE FUNCTION mlops.worker_claim_many(kinds text[], pid int, max_jobs int)
RETURNS SETOF mlops.jobs
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- Planned once, not at every call (a custom plan for each claim's values cost more than the
-- claim itself), and every row read through an index or its tuple id: the worker keeps these
-- plans for its whole life, and one made while the queue was small read the whole table at
-- every claim once it had grown.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    n int := greatest(coalesce(max_jobs, 0), 0);
    candidates bigint[];
    picked tid[];
    got bigint;
    one mlops.jobs;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    -- the oldest runnable jobs of each kind (as lock_runnable_job reads them), then as many as
    -- wanted of those no one else holds, locked and claimed in one statement each
    candidates := ARRAY(
        SELECT c.id
        FROM (SELECT DISTINCT k.kind FROM unnest(kinds) k(kind)) ks
        CROSS JOIN LATERAL (SELECT j.id FROM mlops.jobs j
                            WHERE j.kind OPERATOR(pg_catalog.=) ks.kind AND j.state = 'pending'
                              AND j.blockers = 0 AND j.run_after <= now()
                            ORDER BY j.run_after, j.id LIMIT n) c);
    IF cardinality(candidates) = 0 THEN
        RETURN;
    END IF;
    -- the locked rows by their tuple ids (a TID scan)
    picked := ARRAY(
        SELECT j.ctid FROM mlops.jobs j
        WHERE j.id OPERATOR(pg_catalog.=) ANY (candidates) AND j.state = 'pending'
          AND j.blockers = 0 AND j.run_after <= now()
        ORDER BY j.run_after, j.id
        FOR UPDATE SKIP LOCKED LIMIT n);
    RETURN QUERY
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'worker',
        worker_pid = pid, heartbeat_at = now(), error = NULL
    WHERE u.ctid OPERATOR(pg_catalog.=) ANY (picked)
    RETURNING u.*;
    got := cardinality(picked);
    -- another claimer held some of them and more may wait: the rest one at a time
    WHILE got < n AND cardinality(candidates) >= n LOOP
        one := mlops.worker_claim(kinds, pid);
        EXIT WHEN one.id IS NULL;
        RETURN NEXT one;
        got := got + 1;
    END LOOP;
END
$$;
COMMENT ON FUNCTION mlops.worker_claim_many(text[], int, int) IS
'The background worker takes up to max_jobs of the oldest runnable jobs of its kinds in one transaction, each claimed as worker_claim claims one';
REVOKE ALL ON FUNCTION mlops.worker_claim_many(text[], int, int) FROM PUBLIC;

-- mlops.worker_succeed_many: the worker ends a batch of jobs successfully in one statement, each
-- with its own result and only at the attempt it claimed (as worker_succeed does for one).
CREATE FUNCTION mlops.worker_succeed_many(ids bigint[], attempts int[], results jsonb[])
RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- as worker_claim_many: planned once, the jobs read through an index
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    n int;
BEGIN
    UPDATE mlops.jobs j SET state = 'succeeded', result = r.result, progress = 1, finished_at = now()
    FROM unnest($1, $2, $3) r(id, attempt, result)
    WHERE j.id OPERATOR(pg_catalog.=) r.id AND j.state = 'running' AND j.claimed_by = 'worker'
      AND j.attempts OPERATOR(pg_catalog.=) r.attempt;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION mlops.worker_succeed_many(bigint[], int[], jsonb[]) IS
'The background worker ends a batch of jobs successfully, each with its own result and only at the attempt it claimed; returns how many were current';
REVOKE ALL ON FUNCTION mlops.worker_succeed_many(bigint[], int[], jsonb[]) FROM PUBLIC;

-- mlops.submit_jobs: many jobs of one kind in one call and one INSERT (a user with 500 URLs
-- calls it once instead of submit_job 500 times: the statement is started, and the table's
-- constraints and policy prepared, once instead of per job).  The same checks as submit_job,
-- the kind's and the shared arguments' once, each element's params in order; an error names
-- the element (1-based) and nothing is inserted.  Every job is its own row: its own id, attempts,
-- retries, cancel and outcome.  The ids come back in the order of the params.
CREATE FUNCTION mlops.submit_jobs(kind text, params jsonb[],
                                  depends_on bigint[] DEFAULT '{}', max_attempts int DEFAULT 3,
                                  run_after timestamptz DEFAULT now(), run_id text DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    blocked_by int;
    failed_id bigint;
    failed_state text;
    i int := 0;
    one jsonb;
    st text;
    msg text;
    det text;
    hnt text;
    ids bigint[];
BEGIN
    IF kind IS NULL OR params IS NULL OR depends_on IS NULL OR max_attempts IS NULL OR run_after IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.submit_jobs must not be NULL (but run_id)'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.array_ndims(params) > 1 THEN
        RAISE EXCEPTION 'params must be a one-dimensional array of jsonb'
            USING ERRCODE = 'array_subscript_error';
    END IF;
    PERFORM mlops.check_submit_kind(kind, max_attempts);
    -- each element as submit_job checks its params; the first refusal is raised again with the
    -- element's position in front (one subtransaction for the whole loop, not one per element)
    BEGIN
        FOREACH one IN ARRAY params LOOP
            i := i + 1;
            IF one IS NULL THEN
                RAISE EXCEPTION 'is NULL' USING ERRCODE = 'null_value_not_allowed';
            END IF;
            PERFORM mlops.validate_job(kind, one);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
        msg := pg_catalog.format('params element %s: %s', i, msg);
        IF det <> '' AND hnt <> '' THEN
            RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det, HINT = hnt;
        ELSIF det <> '' THEN
            RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det;
        ELSIF hnt <> '' THEN
            RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, HINT = hnt;
        ELSE
            RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg;
        END IF;
    END;
    IF i = 0 THEN
        RETURN '{}';
    END IF;
    SELECT c.blockers, c.failed_id, c.failed_state INTO blocked_by, failed_id, failed_state
    FROM mlops.check_submit_deps(kind, depends_on) c;
    -- one INSERT for all; ids are drawn in the order of the rows, so ordered by id they are in
    -- the order of the params
    WITH ins AS (
        INSERT INTO mlops.jobs (kind, params, depends_on, max_attempts, run_after, run_id, submitted_by,
                                blockers, state, finished_at, error)
        SELECT kind, p.elem, depends_on, max_attempts, run_after, run_id, mlops.calling_role(),
               CASE WHEN failed_id IS NULL THEN blocked_by ELSE 0 END,
               CASE WHEN failed_id IS NULL THEN 'pending' ELSE 'failed' END,
               CASE WHEN failed_id IS NOT NULL THEN now() END,
               CASE WHEN failed_id IS NOT NULL THEN format('dependency %s %s', failed_id, failed_state) END
        FROM unnest(params) WITH ORDINALITY p(elem, ord)
        ORDER BY p.ord
        RETURNING mlops.jobs.id)
    SELECT pg_catalog.array_agg(ins.id ORDER BY ins.id) INTO ids FROM ins;
    PERFORM mlops.wake_workers();
    RETURN ids;
END
$$;
COMMENT ON FUNCTION mlops.submit_jobs(text, jsonb[], bigint[], int, timestamptz, text) IS
'Queues one job of a kind per element of params, in one INSERT, with the checks of submit_job (an error names the element and queues nothing); returns their ids in the order of params. Each job is its own row, attempts, retries and cancel';
REVOKE ALL ON FUNCTION mlops.submit_jobs(text, jsonb[], bigint[], int, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.submit_jobs(text, jsonb[], bigint[], int, timestamptz, text) TO mlops_admin;

-- <<< new in 0.2.0
