#!/usr/bin/env bash
# upgrade.sh — ALTER EXTENSION pg_mlops UPDATE from 0.1.0, the released script kept in the tree:
# install 0.1.0 with rows in every table (a metric schedule of an application role, results,
# values, jobs, a credential), update, then compare the whole mlops schema — every function's
# definition, comment and privileges, every table's columns, constraints, indexes, policies,
# triggers and row-level security, every view, and extension membership — with a fresh 0.2.0
# install (in the same database afterwards: pg_cron lives in one database only); and check that
# the rows survived and were given their owners.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

# no worker: the 0.1.0 schema must not be served by the 0.2.0 worker while it waits for UPDATE
cluster_start --db upgraded --conf "mlops.workers = 0" || exit 1

psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops VERSION '0.1.0' CASCADE;
CREATE ROLE app1 LOGIN;
GRANT USAGE ON SCHEMA cron TO app1;
GRANT SELECT, INSERT ON mlops.results, mlops.metric_values TO app1;
GRANT SELECT, INSERT, UPDATE, DELETE ON mlops.metrics_executions TO app1;
GRANT USAGE ON SEQUENCE mlops.results_id_seq, mlops.metric_values_id_seq, mlops.metrics_executions_id_seq TO app1;
GRANT EXECUTE ON FUNCTION mlops.schedule_metric(uuid, text, text, regclass, jsonb), mlops.compute_metric(uuid) TO app1;
SET ROLE app1;
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000a1', '0 * * * *');
INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000a1', '[1, 0, 1]', '[1, 1, 1]');
SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000a1');
RESET ROLE;
-- a model without a schedule, computed by the superuser
INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000b2', '[0]', '[0]');
SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000b2');
-- jobs in every state, one of them held by an external worker
INSERT INTO mlops.jobs (kind, params, state, submitted_by) VALUES
  ('sql', '{"command": "SELECT 1"}', 'succeeded', 'app1'::regrole),
  ('train', '{}', 'pending', 'app1'::regrole),
  ('train', '{}', 'failed', 'postgres'::regrole);
INSERT INTO mlops.jobs (kind, state, submitted_by, claimed_by, claimed_role, lease_until, attempts)
VALUES ('train', 'running', 'app1'::regrole, 'external', 'postgres'::regrole, now() + interval '1 hour', 1);
SELECT mlops.set_credential('store', 's3', '{"endpoint": "http://127.0.0.1:9", "bucket": "b", "access_key": "AK", "secret_key": "SK-upgrade"}');
SQL
ok $? "0.1.0 installed from sql/pg_mlops--0.1.0.sql, with rows in every table"
is "$(psql -XAtq -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")" 0.1.0 "the installed version is 0.1.0"

out=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'ALTER EXTENSION pg_mlops UPDATE' 2>&1)
ok $? "ALTER EXTENSION pg_mlops UPDATE ($out)"
is "$(psql -XAtq -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")" 0.2.0 "the installed version is 0.2.0"

# schema_of DB: every object of schema mlops with its definition, one per line, sorted
# (privileges as granted, defaults spelt out, without the test's own grants to app1)
schema_of() {
  psql -XAtq -d "$1" <<'SQL'
CREATE FUNCTION pg_temp.acl(a aclitem[], kind "char", owner oid) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END
                             || '=' || x.privilege_type, ',' ORDER BY 1), '-')
  FROM aclexplode(coalesce(a, acldefault(kind, owner))) x
  WHERE x.grantee NOT IN (SELECT oid FROM pg_roles WHERE rolname = 'app1')
$$;
SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
       || E'\ncomment: ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
       || E'\nacl: ' || (SELECT pg_temp.acl(p.proacl, 'f', p.proowner))
FROM pg_proc p WHERE p.pronamespace = 'mlops'::regnamespace AND p.prokind = 'f'
UNION ALL
SELECT 'aggregate ' || p.oid::regprocedure || ' ' || a.aggtransfn || ' ' || a.aggfinalfn || ' '
       || a.aggcombinefn || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid WHERE p.pronamespace = 'mlops'::regnamespace
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
       || ' acl=' || (SELECT pg_temp.acl(c.relacl, (CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)) || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
       || coalesce(E'\n' || pg_get_viewdef(c.oid), '')
FROM pg_class c WHERE c.relnamespace = 'mlops'::regnamespace
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' #' || a.attnum || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'mlops'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'mlops'::regnamespace
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'mlops'::regnamespace
UNION ALL
SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text
       || ' using ' || coalesce(qual, '-') || ' check ' || coalesce(with_check, '-')
FROM pg_policies WHERE schemaname = 'mlops'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'mlops'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text FROM pg_type t
WHERE t.typnamespace = 'mlops'::regnamespace AND t.typtype NOT IN ('c') AND t.typelem = 0
UNION ALL
SELECT 'member ' || pg_describe_object(classid, objid, objsubid)
FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_mlops')
UNION ALL
SELECT 'config dump ' || unnest(extconfig)::regclass FROM pg_extension WHERE extname = 'pg_mlops'
ORDER BY 1
SQL
}
# the rows survived, with their owners
is "$(psql -XAtq -c "SELECT owner || ' ' || metric FROM mlops.metrics_executions")" "app1 accuracy" \
   "the schedule belongs to the role its pg_cron job runs as"
is "$(psql -XAtq -c "SELECT string_agg(model_id::text || ' ' || owner, ', ' ORDER BY model_id) FROM mlops.results")" \
   "00000000-0000-0000-0000-0000000000a1 app1, 00000000-0000-0000-0000-0000000000b2 postgres" \
   "results belong to their model's schedule owner, else the extension's owner"
is "$(psql -XAtq -c "SELECT string_agg(value || ' ' || owner, ', ' ORDER BY model_id) FROM mlops.metric_values")" \
   "0.6666666666666666 app1, 1 postgres" "values survived, with the same owners"
is "$(psql -XAtq -c "SELECT string_agg(kind || ' ' || state || ' ' || submitted_by::regrole || ' ' || (lease_token IS NOT NULL), ', ' ORDER BY id) FROM mlops.jobs")" \
   "sql succeeded app1 false, train pending app1 false, train failed postgres false, train running app1 true" \
   "jobs survived; the running external job got a lease token"
is "$(psql -XAtq -c "SELECT string_agg(kind, ', ') FROM mlops.declared_kinds")" "train" \
   "the external kind 0.1.0's queue held is declared, so it may still be submitted"
is "$(psql -XAtq -c "SELECT mlops.submit_job('etl', '{}')" 2>&1 | head -1)" 'ERROR:  unknown job kind "etl"' \
   "a kind neither the worker's nor declared is refused"
is "$(psql -XAtq -c "SELECT name || ' ' || (secret ->> 'secret_key') FROM mlops.credentials")" "store SK-upgrade" "the credential survived"
is "$(psql -XAtq -U app1 -c "SELECT count(*) FROM mlops.results")" 1 "after the update app1 sees only its own results"
out=$(psql -XAtq -U app1 -c "SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000a1')" 2>&1)
grep -q '0.666' <<<"$out"
ok $? "app1's schedule still computes after the update ($out)"
is "$(psql -XAtq -c "SELECT j.command FROM cron.job j JOIN mlops.metrics_executions e ON e.cron_job_id = j.jobid")" \
   "CALL mlops.run_metric_schedule('00000000-0000-0000-0000-0000000000a1'::uuid)" \
   "the schedule's pg_cron job now calls the procedure that records its last run"
out=$(psql -XAtq -U app1 -c "CALL mlops.run_metric_schedule('00000000-0000-0000-0000-0000000000a1')" \
           -c "SELECT (last_run_at IS NOT NULL) || ' ' || coalesce(last_error, '-') || ' ' || (SELECT count(*) FROM mlops.metric_values) FROM mlops.metrics_executions" 2>&1)
is "$out" "true - 1" "a run after the update records last_run_at and stores no second value for the same row"

schema_of upgraded > "$CLUSTER_DIR/upgraded.schema"
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'DROP EXTENSION pg_mlops' -c 'CREATE EXTENSION pg_mlops' >/dev/null
ok $? "then a fresh 0.2.0 install in its place"
schema_of upgraded > "$CLUSTER_DIR/fresh.schema"
lines=$(wc -l < "$CLUSTER_DIR/fresh.schema")
if diff -u "$CLUSTER_DIR/fresh.schema" "$CLUSTER_DIR/upgraded.schema" > "$CLUSTER_DIR/schema.diff"; then
  ok 0 "the updated schema equals a fresh 0.2.0 install ($lines lines of definitions compared)"
else
  ok 1 "the updated schema equals a fresh 0.2.0 install"
  head -n 80 "$CLUSTER_DIR/schema.diff" | sed 's/^/# /'
fi
[ "$lines" -gt 1000 ]
ok $? "the comparison covers the whole schema ($lines lines)"

done_testing
