-- The job kinds' registry (src/jobs/kinds.c) as SQL reads it: mlops.job_kinds() and
-- mlops.worker_kinds() list the same kinds, and every kind refuses a params key it does not
-- list, naming exactly the keys mlops.job_kinds() gives.  Written so that a new kind changes
-- no line of the expected output: each check covers every kind of the registry.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;

-- One list: the same kinds, in the same order, from both functions; names are identifiers.
SELECT (SELECT array_agg(k.kind ORDER BY k.n)
        FROM mlops.job_kinds() WITH ORDINALITY k(kind, params, uses_transfer, uses_session, n))
       = mlops.worker_kinds() AS same_list,
       (SELECT count(*) FROM mlops.job_kinds()) >= 11 AS at_least_the_kinds_of_0_2_0,
       (SELECT bool_and(kind ~ '^[a-z][a-z0-9_]*$' AND cardinality(params) > 0) FROM mlops.job_kinds())
         AS names_and_keys;

-- Flags of kinds whose nature is known: transfers and session kinds.
SELECT kind, params, uses_transfer, uses_session
FROM mlops.job_kinds()
WHERE kind IN ('sql', 'export', 'download', 'upload', 'extract', 'copy')
ORDER BY kind;

-- Every kind refuses an unknown key with invalid_parameter_value, naming the key and its kind,
-- and hints exactly the keys the registry lists for it.
CREATE FUNCTION pg_temp.refusal(kind text, params jsonb, OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mlops.validate_job(kind, params);
    state := 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
END
$$;

SELECT count(*) >= 11 AS kinds_checked,
       count(*) FILTER (WHERE r.state <> '22023') AS wrong_sqlstate,
       count(*) FILTER (WHERE r.message <> format('unknown key "delete_afer" in params of a job of kind %s', k.kind))
         AS wrong_message,
       count(*) FILTER (WHERE r.hint IS DISTINCT FROM 'Valid keys are ' || array_to_string(k.params, ', ') || '.')
         AS wrong_hint
FROM mlops.job_kinds() k, pg_temp.refusal(k.kind, '{"delete_afer": true}') r;

-- ... and a key that is a key of another kind, not of this one.
SELECT k.kind, r.state, r.message
FROM mlops.job_kinds() k, pg_temp.refusal(k.kind, '{"command": "SELECT 1", "url": "http://127.0.0.1/x"}') r
WHERE k.kind IN ('sql', 'download')
ORDER BY k.kind;

-- Every key a kind lists passes the key check (what fails then is the values, not the keys).
SELECT count(*) AS kinds_refusing_their_own_keys
FROM mlops.job_kinds() k,
     pg_temp.refusal(k.kind, (SELECT jsonb_object_agg(p, 'x') FROM unnest(k.params) p)) r
WHERE r.message LIKE 'unknown key%';
