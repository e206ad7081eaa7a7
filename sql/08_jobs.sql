-- The job queue: submitting (and every rejection), the worker running sql jobs in sessions of
-- their submitters, external workers (claim, progress, heartbeat, complete, fail, leases fenced
-- by a token), cancel, retry, dependencies, the progress view and privileges.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;

-- Kinds: the worker's own, or declared (by an administrator) for external workers.
SELECT mlops.submit_job('downlaod', '{"url": "http://127.0.0.1/x", "path": "x"}');
SELECT mlops.submit_job('train', '{}');
SELECT mlops.declare_kind('train', 'model training on the GPU box');
SELECT mlops.declare_kind('etl');
SELECT mlops.declare_kind('label');
SELECT mlops.declare_kind('train', 'model training (replaced)');
SELECT kind, description FROM mlops.declared_kinds ORDER BY kind;
SELECT mlops.declare_kind('download');
SELECT mlops.declare_kind('Bad Kind');
SELECT mlops.declare_kind(NULL);
SELECT mlops.declare_kind('scratch');
SELECT mlops.undeclare_kind('scratch'), mlops.undeclare_kind('scratch');
SELECT mlops.submit_job('scratch', '{}');
CREATE ROLE mlops_kind_app LOGIN;
SET ROLE mlops_kind_app;
SELECT mlops.declare_kind('mine');
SELECT count(*) > 0 AS app_sees_declared_kinds FROM mlops.declared_kinds;
RESET ROLE;
DROP ROLE mlops_kind_app;

-- Rejected at submit time, nothing queued.
SELECT mlops.submit_job('SQL', '{"command": "SELECT 1"}');
SELECT mlops.submit_job('sql', '{}');
SELECT mlops.submit_job('sql', '{"command": "  "}');
SELECT mlops.submit_job('sql', '{"command": 42}');
SELECT mlops.submit_job('sql', '[1]');
SELECT mlops.submit_job('download', '{"url": "file:///etc/passwd", "path": "x"}');
SELECT mlops.submit_job('download', '{"url": "ftp://example.com/x", "path": "x"}');
SELECT mlops.submit_job('download', '{"url": "example.com/x", "path": "x"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "/etc/passwd"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "../../x"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "a/../../x"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "x", "sha256": "abc"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x"}');
SELECT mlops.submit_job('download', '{"url": "http://user:pw@127.0.0.1/x", "path": "x"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "x", "delete_afer": true}');
SELECT mlops.submit_job('sql', '{"command": "SELECT 1", "timeout": -1}');
SELECT mlops.submit_job('sql', '{"command": "SELECT 1", "timeout": "1 minute"}');
SELECT mlops.submit_job('extract', '{"archive": "@Bad Area/a.zip", "dest": "x"}');
-- the network policy is the server's: a session cannot loosen it
SET mlops.allowed_hosts = '';
SELECT mlops.submit_job('train', '{}', max_attempts => 0);
SELECT mlops.submit_job('train', '{}', depends_on => '{424242}');
SELECT mlops.submit_job(NULL, '{}');
SELECT count(*) AS queued FROM mlops.jobs;

-- sql jobs: run by the worker, woken on commit; the result holds rows and a single value.
SELECT mlops.submit_job('sql', '{"command": "SELECT 6 * 7"}') AS j1 \gset
SELECT mlops.wait_job(:j1, '30 seconds');
SELECT state, result, attempts, error FROM mlops.jobs WHERE id = :j1;
SELECT mlops.submit_job('sql', '{"command": "CREATE TABLE job_made (x int); INSERT INTO job_made SELECT generate_series(1, 5)"}') AS j2 \gset
SELECT mlops.wait_job(:j2, '30 seconds');
SELECT result FROM mlops.jobs WHERE id = :j2;
SELECT count(*) FROM job_made;
-- an error that another attempt would not fix fails at once
SELECT mlops.submit_job('sql', '{"command": "SELECT 1 / 0"}') AS j3 \gset
SELECT mlops.wait_job(:j3, '30 seconds');
SELECT error, attempts FROM mlops.jobs WHERE id = :j3;
-- an sql job reports its own progress
SELECT mlops.submit_job('sql', '{"command": "SELECT mlops.report_progress(mlops.current_job_id(), 0.5, ''half way'')"}') AS j4 \gset
SELECT mlops.wait_job(:j4, '30 seconds');
SELECT state, progress_message, error FROM mlops.jobs WHERE id = :j4;

-- waiting for a job queued in the same transaction would wait for nothing: refused at once
BEGIN;
SELECT mlops.submit_job('sql', '{"command": "SELECT 1"}') AS same_tx \gset
SELECT mlops.wait_job(:same_tx, '30 seconds');
ROLLBACK;
-- outside a job's session there is no current job
SELECT mlops.current_job_id() IS NULL AS no_job_here;

-- The submitter's privileges, never the worker's: a session of its own as that role.
CREATE TABLE secret (s text);
INSERT INTO secret VALUES ('classified');
CREATE ROLE mlops_regress_alice LOGIN;
GRANT EXECUTE ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text),
                          mlops.wait_job(bigint, interval), mlops.cancel_job(bigint),
                          mlops.retry_job(bigint) TO mlops_regress_alice;
SET ROLE mlops_regress_alice;
SELECT mlops.submit_job('sql', '{"command": "SELECT s FROM secret"}') AS a1 \gset
SELECT mlops.wait_job(:a1, '30 seconds');
SELECT mlops.submit_job('sql', '{"command": "SET ROLE postgres; SELECT s FROM secret"}') AS a2 \gset
SELECT mlops.wait_job(:a2, '30 seconds');
SELECT mlops.submit_job('sql', '{"command": "RESET ROLE; SELECT s FROM secret"}') AS a3 \gset
SELECT mlops.wait_job(:a3, '30 seconds');
SELECT mlops.submit_job('sql', '{"command": "SET SESSION AUTHORIZATION postgres; SELECT s FROM secret"}') AS a5 \gset
SELECT mlops.wait_job(:a5, '30 seconds');
SELECT mlops.submit_job('sql', '{"command": "SELECT set_config(''role'', ''postgres'', false)"}') AS a6 \gset
SELECT mlops.wait_job(:a6, '30 seconds');
SELECT mlops.submit_job('sql', '{"command": "SELECT session_user::text || '' '' || current_user::text || '' '' || mlops.calling_role()::text"}') AS a4 \gset
SELECT mlops.wait_job(:a4, '30 seconds');
SELECT id, kind, state, percent, error FROM mlops.job_progress ORDER BY id;
SELECT count(*) FROM mlops.jobs;
SELECT mlops.claim_job('{train}');
RESET ROLE;
SELECT id = :a1 AS a1, error FROM mlops.jobs WHERE id IN (:a1, :a2, :a3, :a5, :a6) ORDER BY id;
SELECT result ->> 'value' AS who FROM mlops.jobs WHERE id = :a4;
-- a role that cannot log in cannot have a session: its sql jobs are refused at submit
CREATE ROLE mlops_regress_group NOLOGIN;
GRANT mlops_regress_group TO mlops_regress_alice;
GRANT EXECUTE ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text) TO mlops_regress_group;
SET ROLE mlops_regress_group;
SELECT mlops.submit_job('sql', '{"command": "SELECT 1"}');
RESET ROLE;
-- another role cannot cancel or wait for alice's jobs, nor learn that they exist
CREATE ROLE mlops_regress_bob;
GRANT EXECUTE ON FUNCTION mlops.cancel_job(bigint), mlops.wait_job(bigint, interval) TO mlops_regress_bob;
SET ROLE mlops_regress_bob;
SELECT mlops.cancel_job(:a1);
SELECT mlops.wait_job(:a1);
SELECT count(*) AS bob_sees FROM mlops.job_progress;
SELECT mlops.submit_job('train', '{}', depends_on => ARRAY[:a1]::bigint[]);
RESET ROLE;
GRANT EXECUTE ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text) TO mlops_regress_bob;
SET ROLE mlops_regress_bob;
SELECT mlops.submit_job('train', '{}', depends_on => ARRAY[:a1]::bigint[]);
RESET ROLE;

-- External workers: claim (with a lease token), progress, heartbeat, complete.
SELECT mlops.submit_job('train', '{"epochs": 3}', run_id => 'run-1') AS t1 \gset
SELECT lease_token AS tok1 FROM mlops.claim_job('{train}') \gset
SELECT id = :t1 AS claimed, state, attempts, claimed_by, lease_token = :'tok1' AS token_kept FROM mlops.jobs WHERE id = :t1;
SELECT mlops.claim_job('{train}') IS NULL AS nothing_left;
SELECT mlops.report_progress(:t1, :'tok1', 0.25, 'epoch 1');
SELECT bar, message FROM mlops.job_progress WHERE id = :t1;
SELECT mlops.heartbeat_job(:t1, :'tok1');
SELECT mlops.heartbeat_job(:t1, gen_random_uuid());
SELECT mlops.report_progress(:t1, :'tok1', 1.5);
SELECT mlops.report_progress(:t1, 0.5);
SELECT mlops.complete_job(:t1, :'tok1', '{"loss": 0.1}');
SELECT state, progress, result, lease_token FROM mlops.jobs WHERE id = :t1;
SELECT mlops.complete_job(:t1, :'tok1');
SELECT mlops.claim_job('{sql}');
-- fail_job retries with backoff while attempts remain; retry => false fails now
SELECT mlops.submit_job('train', '{}', max_attempts => 2) AS t2 \gset
SELECT lease_token AS tok2 FROM mlops.claim_job('{train}') \gset
SELECT mlops.fail_job(:t2, :'tok2', 'GPU out of memory');
SELECT state, error, run_after > now() AS backing_off FROM mlops.jobs WHERE id = :t2;
UPDATE mlops.jobs SET run_after = now() WHERE id = :t2;
SELECT lease_token AS tok2b FROM mlops.claim_job('{train}') \gset
SELECT attempts AS claimed_again_attempts FROM mlops.jobs WHERE id = :t2;
SELECT :'tok2' <> :'tok2b' AS new_token;
-- the first attempt's holder is fenced off: its token no longer counts
SELECT mlops.complete_job(:t2, :'tok2', '{"stale": true}');
SELECT mlops.fail_job(:t2, :'tok2b', 'GPU out of memory again');
SELECT state, attempts, result FROM mlops.jobs WHERE id = :t2;
SELECT mlops.submit_job('train', '{}') AS t3 \gset
SELECT lease_token AS tok3 FROM mlops.claim_job('{train}') \gset
SELECT mlops.fail_job(:t3, :'tok3', 'bad input', retry => false);
-- an expired lease puts the job back (the worker's periodic pass)
SELECT mlops.submit_job('train', '{}') AS t4 \gset
SELECT lease_token AS tok4 FROM mlops.claim_job('{train}', lease => '10 ms') \gset
DO $$
BEGIN
  -- the worker's periodic pass (every second) puts it back; wait at most 30 s
  FOR i IN 1 .. 300 LOOP
    EXIT WHEN (SELECT state FROM mlops.jobs WHERE id = (SELECT max(id) FROM mlops.jobs WHERE kind = 'train')) = 'pending';
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT state, error, attempts FROM mlops.jobs WHERE id = :t4;
-- claimed again by another holder: the expired lease's token is refused everywhere
UPDATE mlops.jobs SET run_after = now() WHERE id = :t4;
SELECT lease_token AS tok4b FROM mlops.claim_job('{train}') \gset
SELECT mlops.heartbeat_job(:t4, :'tok4');
SELECT mlops.report_progress(:t4, :'tok4', 0.9);
SELECT mlops.complete_job(:t4, :'tok4', '{"by": "stale"}');
SELECT mlops.fail_job(:t4, :'tok4', 'stale');
SELECT mlops.complete_job(:t4, :'tok4b', '{"by": "current"}');
SELECT state, attempts, result FROM mlops.jobs WHERE id = :t4;

-- Cancel and retry.
SELECT mlops.submit_job('train', '{}', run_after => now() + interval '1 hour') AS c1 \gset
SELECT mlops.cancel_job(:c1), mlops.cancel_job(:c1);
SELECT state FROM mlops.jobs WHERE id = :c1;
SELECT mlops.retry_job(:c1);
SELECT state FROM mlops.jobs WHERE id = :c1;
SELECT mlops.retry_job(:c1);
SELECT mlops.cancel_job(424242);

-- Dependencies: runnable only after every dependency succeeded; a failed one fails them.
SELECT mlops.submit_job('etl', '{}') AS d1 \gset
SELECT mlops.submit_job('etl', '{}', depends_on => ARRAY[:d1]::bigint[]) AS d2 \gset
SELECT id = :d1 AS first_claims_the_dependency FROM mlops.claim_job('{etl}');
SELECT lease_token AS tokd FROM mlops.jobs WHERE id = :d1 \gset
SELECT mlops.claim_job('{etl}') IS NULL AS dependent_waits;
SELECT mlops.fail_job(:d1, :'tokd', 'broken', retry => false);
SELECT mlops.wait_job(:d2, '30 seconds');
SELECT state, error FROM mlops.jobs WHERE id = :d2;
-- A job waits on a count of unfinished dependencies (a repeated one counts once): claims never
-- look at it until the count is 0.  A failure or cancel fails the dependents, and theirs, in
-- the same transaction (not on the worker's next pass).
SELECT mlops.submit_job('etl', '{}') AS e1 \gset
SELECT mlops.submit_job('etl', '{}', depends_on => ARRAY[:e1, :e1]::bigint[]) AS e2 \gset
SELECT mlops.submit_job('etl', '{}', depends_on => ARRAY[:e2]::bigint[]) AS e3 \gset
SELECT array_agg(blockers ORDER BY id) AS blockers FROM mlops.jobs WHERE id IN (:e1, :e2, :e3);
BEGIN;
SELECT mlops.cancel_job(:e1);
SELECT id = :e2 AS second, state, error = format('dependency %s cancelled', :e1) AS names_its_dependency
FROM mlops.jobs WHERE id IN (:e2, :e3) ORDER BY id;
COMMIT;
SELECT state, error = format('dependency %s failed', :e2) AS names_e2 FROM mlops.jobs WHERE id = :e3;
-- behind a job that already failed or was cancelled, a new job fails at once
SELECT mlops.submit_job('etl', '{}', depends_on => ARRAY[:e1]::bigint[]) AS e4 \gset
SELECT state, error = format('dependency %s cancelled', :e1) AS names_e1, finished_at IS NOT NULL AS finished
FROM mlops.jobs WHERE id = :e4;
-- a job behind a failed dependency cannot be retried before it; retried after it, it waits
SELECT mlops.retry_job(:e2);
SELECT state FROM mlops.jobs WHERE id = :e2;
SELECT mlops.retry_job(:e1), mlops.retry_job(:e2);
SELECT array_agg(state || ':' || blockers ORDER BY id) AS waiting FROM mlops.jobs WHERE id IN (:e1, :e2);
SELECT id = :e1 AS claims_the_dependency, lease_token AS toke FROM mlops.claim_job('{etl}') \gset
SELECT :'claims_the_dependency' AS claims_the_dependency, mlops.claim_job('{etl}') IS NULL AS dependent_waits;
-- a success unblocks its dependents in the same transaction
BEGIN;
SELECT mlops.complete_job(:e1, :'toke');
SELECT state, blockers FROM mlops.jobs WHERE id = :e2;
COMMIT;
SELECT id = :e2 AS dependent_claimed, lease_token AS toke2 FROM mlops.claim_job('{etl}') \gset
SELECT :'dependent_claimed' AS dependent_claimed;
SELECT mlops.complete_job(:e2, :'toke2');
-- behind a job that already succeeded, a new job is runnable at once
SELECT mlops.submit_job('etl', '{}', depends_on => ARRAY[:e1, :e2]::bigint[]) AS e5 \gset
SELECT state, blockers FROM mlops.jobs WHERE id = :e5;
SELECT id = :e5 AS claimed_at_once, lease_token AS toke5 FROM mlops.claim_job('{etl}') \gset
SELECT :'claimed_at_once' AS claimed_at_once, mlops.complete_job(:e5, :'toke5');

-- A session hands its outcome over before its process has exited, but nothing of it survives
-- into the next job: its session-level advisory locks are gone when the dependent starts.
SELECT mlops.submit_job('sql', '{"command": "SELECT pg_advisory_lock(4242)"}') AS l1 \gset
SELECT mlops.submit_job('sql', '{"command": "SELECT pg_try_advisory_lock(4242)"}',
                        depends_on => ARRAY[:l1]::bigint[]) AS l2 \gset
SELECT mlops.wait_job(:l2, '30 seconds');
SELECT result -> 'value' AS dependent_got_the_lock FROM mlops.jobs WHERE id = :l2;

-- Privileges: without grants, nothing.
CREATE ROLE mlops_regress_nobody;
SET ROLE mlops_regress_nobody;
SELECT mlops.submit_job('train', '{}');
SELECT mlops.claim_job('{train}');
SELECT mlops.complete_job(:t1, :'tok1');
SELECT count(*) FROM mlops.jobs;
SELECT mlops.report_progress(:t4, 0.5);
SELECT mlops.report_progress(:t4, :'tok4b', 0.5);
SELECT mlops.wake_workers();
RESET ROLE;
-- A role granted the table itself still sees and changes only its own rows.
GRANT SELECT, UPDATE, DELETE ON mlops.jobs TO mlops_regress_nobody, mlops_regress_alice;
SET ROLE mlops_regress_nobody;
SELECT count(*) AS nobody_sees FROM mlops.jobs;
UPDATE mlops.jobs SET params = '{"command": "SELECT 666"}', state = 'pending';
DELETE FROM mlops.jobs;
RESET ROLE;
SELECT count(*) AS rewritten, count(*) FILTER (WHERE state = 'pending') AS pending FROM mlops.jobs WHERE params ->> 'command' = 'SELECT 666';
SET ROLE mlops_regress_alice;
SELECT count(*) > 0 AS alice_sees_her_own, bool_and(submitted_by = 'mlops_regress_alice'::regrole) AS only_hers
FROM mlops.jobs;
RESET ROLE;
REVOKE ALL ON mlops.jobs FROM mlops_regress_nobody, mlops_regress_alice;
DROP OWNED BY mlops_regress_alice, mlops_regress_bob, mlops_regress_nobody, mlops_regress_group;
DROP ROLE mlops_regress_alice, mlops_regress_bob, mlops_regress_nobody, mlops_regress_group;

-- waiting for a job queued in a subtransaction of this transaction: refused at once too
BEGIN;
SAVEPOINT s1;
SELECT mlops.submit_job('sql', '{"command": "SELECT 1"}') AS same_tx \gset
RELEASE SAVEPOINT s1;
SELECT mlops.wait_job(:same_tx, '30 seconds');
ROLLBACK;
