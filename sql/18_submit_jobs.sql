-- mlops.submit_jobs: many jobs of one kind in one call.  The ids come back in the order of the
-- params; each job is its own row (its own outcome, cancel, retry); every refusal names the
-- element, keeps submit_job's SQLSTATE and hint, and queues nothing; privileges as submit_job's.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.refusal(kind text, params jsonb[], depends_on bigint[] DEFAULT '{}',
                                max_attempts int DEFAULT 3,
                                OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mlops.submit_jobs(kind, params, depends_on, max_attempts);
    state := 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END
$$;

SELECT mlops.declare_kind('batch_ext', 'jobs for an external worker (18_submit_jobs)');
SELECT count(*) AS jobs_before FROM mlops.jobs \gset

-- Refused, nothing queued: one bad element among good ones, a NULL element, the arguments.
SELECT * FROM pg_temp.refusal('download', ARRAY['{"url": "http://127.0.0.1/a", "path": "a"}',
                                                '{"url": "http://127.0.0.1/b", "path": "b", "delete_afer": true}',
                                                '{"url": "http://127.0.0.1/c", "path": "c"}']::jsonb[]);
SELECT * FROM pg_temp.refusal('download', ARRAY['{"url": "http://127.0.0.1/a", "path": "a"}',
                                                '{"url": "file:///etc/passwd", "path": "b"}']::jsonb[]);
SELECT * FROM pg_temp.refusal('download', ARRAY['{"url": "http://127.0.0.1/a", "path": "a"}',
                                                '{"url": "http://127.0.0.1/b", "path": "../../b"}']::jsonb[]);
SELECT * FROM pg_temp.refusal('sql', ARRAY['{"command": "SELECT 1"}', NULL, '{"command": "SELECT 3"}']::jsonb[]);
SELECT * FROM pg_temp.refusal('sql', ARRAY['{"command": "SELECT 1"}', '[1]']::jsonb[]);
SELECT * FROM pg_temp.refusal('sql', ARRAY[ARRAY['{"command": "SELECT 1"}'], ARRAY['{"command": "SELECT 2"}']]::jsonb[]);
SELECT * FROM pg_temp.refusal('downlaod', ARRAY['{}']::jsonb[]);
SELECT * FROM pg_temp.refusal('Bad Kind', ARRAY['{}']::jsonb[]);
SELECT * FROM pg_temp.refusal('batch_ext', NULL);
SELECT * FROM pg_temp.refusal(NULL, ARRAY['{}']::jsonb[]);
SELECT * FROM pg_temp.refusal('batch_ext', ARRAY['{}']::jsonb[], max_attempts => 0);
SELECT * FROM pg_temp.refusal('batch_ext', ARRAY['{}']::jsonb[], depends_on => '{424242}');
SELECT count(*) - :jobs_before AS queued_by_refusals FROM mlops.jobs;

-- Nothing to queue: no ids, no rows.
SELECT mlops.submit_jobs('batch_ext', '{}') AS none;
SELECT count(*) - :jobs_before AS queued_by_empty FROM mlops.jobs;

-- Queued: one row per element, in order, each pending with the shared arguments.
SELECT mlops.submit_jobs('batch_ext', ARRAY['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}']::jsonb[],
                         max_attempts => 2, run_id => 'batch-1') AS ids \gset
SELECT cardinality(:'ids'::bigint[]) AS n_ids,
       (SELECT array_agg((params ->> 'n')::int ORDER BY array_position(:'ids'::bigint[], id))
        FROM mlops.jobs WHERE id = ANY (:'ids'::bigint[])) AS n_in_id_order,
       (SELECT bool_and(state = 'pending' AND max_attempts = 2 AND run_id = 'batch-1'
                        AND submitted_by = current_user::regrole AND blockers = 0)
        FROM mlops.jobs WHERE id = ANY (:'ids'::bigint[])) AS all_pending;
-- one job of the batch is cancelled, claimed or failed on its own
SELECT mlops.cancel_job((:'ids'::bigint[])[2]) AS cancelled_second;
SELECT lease_token AS tok FROM mlops.claim_job('{batch_ext}') \gset
SELECT mlops.fail_job((:'ids'::bigint[])[1], :'tok', 'transient', true) AS first_failed;
SELECT (params ->> 'n')::int AS n, state, attempts, error
FROM mlops.jobs WHERE id = ANY (:'ids'::bigint[]) ORDER BY id;

-- Behind a failed dependency every job of the batch fails at once, as submit_job's would.
DELETE FROM mlops.jobs WHERE id = ANY (:'ids'::bigint[]);
SELECT mlops.submit_job('batch_ext', '{}') AS dep \gset
SELECT id = :dep AS claimed_dep, lease_token AS deptok FROM mlops.claim_job('{batch_ext}') \gset
SELECT :'claimed_dep' AS claimed_dep;
SELECT mlops.fail_job(:dep, :'deptok', 'broken', false) AS dep_failed;
SELECT mlops.submit_jobs('batch_ext', ARRAY['{}', '{}']::jsonb[], depends_on => ARRAY[:dep]::bigint[]) AS behind \gset
SELECT state, error = format('dependency %s failed', :dep) AS names_dependency
FROM mlops.jobs WHERE id = ANY (:'behind'::bigint[]) ORDER BY id;

-- The worker runs each job of a batch in a session of its own: one succeeds, one fails.
SELECT mlops.submit_jobs('sql', ARRAY['{"command": "SELECT 6 * 7"}', '{"command": "SELECT 1 / 0"}']::jsonb[]) AS sq \gset
SELECT mlops.wait_job((:'sq'::bigint[])[1], '30 seconds') AS first, mlops.wait_job((:'sq'::bigint[])[2], '30 seconds') AS second;
SELECT state, result ->> 'value' AS value, error FROM mlops.jobs WHERE id = ANY (:'sq'::bigint[]) ORDER BY id;

-- Privileges: not granted to PUBLIC; a grantee's jobs are its own, and another role's job is
-- no dependency of theirs.
CREATE ROLE mlops_regress_batch LOGIN;
SET ROLE mlops_regress_batch;
SELECT * FROM pg_temp.refusal('batch_ext', ARRAY['{}']::jsonb[]);
RESET ROLE;
GRANT EXECUTE ON FUNCTION mlops.submit_jobs(text, jsonb[], bigint[], int, timestamptz, text) TO mlops_regress_batch;
SET ROLE mlops_regress_batch;
SELECT cardinality(mlops.submit_jobs('batch_ext', ARRAY['{}', '{}', '{}']::jsonb[], run_id => 'batch-role'))
    AS queued_by_grantee;
SELECT state, message = format('job %s does not exist', :dep) AS not_theirs
FROM pg_temp.refusal('batch_ext', ARRAY['{}']::jsonb[], depends_on => ARRAY[:dep]::bigint[]);
RESET ROLE;
SELECT count(*) AS rows, bool_and(submitted_by = 'mlops_regress_batch'::regrole) AS owned_by_grantee
FROM mlops.jobs WHERE run_id = 'batch-role';
SELECT obj_description('mlops.submit_jobs(text, jsonb[], bigint[], int, timestamptz, text)'::regprocedure) IS NOT NULL AS commented;

DELETE FROM mlops.jobs WHERE kind = 'batch_ext';
SELECT mlops.undeclare_kind('batch_ext');
REVOKE EXECUTE ON FUNCTION mlops.submit_jobs(text, jsonb[], bigint[], int, timestamptz, text) FROM mlops_regress_batch;
DROP ROLE mlops_regress_batch;
