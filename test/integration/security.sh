#!/usr/bin/env bash
# security.sh — every attack of the job-isolation issue, replayed as roles that hold exactly the
# grants docs/security.md gives (its "grants:" blocks are run as written, with the role names
# replaced), against a real cluster, a real worker and a real HTTP server (test/lib/httpd.py):
#
#   - an sql job cannot become superuser through the worker (a pg_temp.jsonb domain whose CHECK
#     runs ALTER ROLE), nor set its way to another role;
#   - nothing a job leaves in its session survives it: temp tables, settings, advisory locks,
#     prepared statements, a read-only default; two roles' jobs running at once see none of each
#     other's;
#   - a role reaches none of another role's schedules, results, values, jobs, files or secrets,
#     even when granted SELECT and UPDATE on every mlops table;
#   - redirects to hosts or ports outside mlops.allowed_hosts get no request at all (the server
#     counts them); resolved addresses in mlops.denied_networks are refused; user:password URLs
#     are refused;
#   - cancel of a running sql job ends it cancelled within a second; a timeout fails it; a result
#     too large to store fails it and its dependents;
#   - a stale lease holder is refused; NOTIFY payloads carry ids and states only; errors show no
#     server directory; a symbolic link named like the download's .part file is not followed;
#   - kill -9 during a running sql job leaves the job failed or retried, never stuck;
#   - warm sessions (mlops.sql_session_idle): a session takes only the next job of its own role,
#     and that job sees nothing of the last one (search_path, settings, SET ROLE, prepared
#     statements, advisory locks, LISTEN, sequences, temporary objects); a role whose pg_authid
#     row or memberships changed, a failed job and mlops.sql_session_max_jobs end the session.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

# synchronous_commit on: the kill -9 case below must not lose the submit it waits for
# a long mlops.sql_session_idle: every sql job below that may run in a warm session does
cluster_start --conf "mlops.max_sql_jobs = 2" --conf "restart_after_crash = on" --conf "synchronous_commit = on" \
  --conf "mlops.sql_session_idle = 30s" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_security.XXXXXX")
chmod 755 "$tmp"
HTTPD_PID=
trap '[ -n "$HTTPD_PID" ] && kill $HTTPD_PID 2>/dev/null; cluster_stop; rm -rf "$tmp"' EXIT

/usr/bin/python3 test/lib/httpd.py "$tmp/port" "$tmp/httpd.log" &
HTTPD_PID=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
P=$(cat "$tmp/port")
BASE="http://127.0.0.1:$P"

psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, HTTP server at $BASE"

# readme_grants BLOCK FROM TO: the grants of docs/security.md block, with the role name FROM replaced by TO
readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
{
  readme_grants application app alice
  readme_grants application app bob
  readme_grants "external worker" gpu_worker gpu
  readme_grants administrator ops ops
} > "$tmp/grants.sql"
grep -q 'GRANT EXECUTE ON FUNCTION mlops.submit_job' "$tmp/grants.sql" && grep -q 'GRANT mlops_admin TO ops' "$tmp/grants.sql"
ok $? "the grants of docs/security.md blocks were found"
psql -XAtq -v ON_ERROR_STOP=1 -f "$tmp/grants.sql" >/dev/null
ok $? "roles alice and bob (application), gpu (external worker), ops (administrator) made with the grants of docs/security.md"
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE public.orders (x int);
GRANT SELECT, INSERT ON public.orders TO alice, bob;
SQL

# as ROLE SQL: run SQL as ROLE, print its output and errors
as() { psql -XAtq -U "$1" -c "$2" 2>&1; }
# job ROLE KIND PARAMS [EXTRA ARGS]: submit as ROLE, print the id (or the error)
job() { psql -XAtq -U "$1" -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('$2', \$p\$$3\$p\$::jsonb${4:+, $4})" 2>&1; }
# sqljob ROLE COMMAND [EXTRA ARGS]: an sql job of COMMAND, as written
sqljob() { psql -XAtq -U "$1" -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('sql', jsonb_build_object('command', \$c\$$2\$c\$)${3:+, $3})" 2>&1; }
# finish ROLE ID: wait for the job, print "state|error|result value"
finish() {
  psql -XAtq -U "$1" -c "SELECT mlops.wait_job($2, '60 seconds')" >/dev/null 2>&1
  psql -XAtq -c "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result ->> 'value', '') FROM mlops.jobs WHERE id = $2"
}
alice_oid=$(psql -XAtq -c "SELECT 'alice'::regrole::oid")
bob_oid=$(psql -XAtq -c "SELECT 'bob'::regrole::oid")
WORK="$PGDATA/pg_mlops"

# ---------------------------------------------------------------------------------------------
# 1. Superuser in one job: the worker's session never runs a job, and never resolves a type
#    through a job's pg_temp.
id=$(sqljob bob 'CREATE FUNCTION pg_temp.evil(x text) RETURNS boolean LANGUAGE plpgsql AS $f$BEGIN ALTER ROLE bob SUPERUSER; RETURN true; EXCEPTION WHEN OTHERS THEN RETURN true; END$f$; CREATE DOMAIN pg_temp.jsonb AS text CHECK (pg_temp.evil(VALUE)); CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.evil(VALUE)); SELECT 1')
out=$(finish bob "$id")
is "${out%%|*}" succeeded "a job that plants pg_temp.jsonb and pg_temp.text domains with a privileged CHECK ran"
id2=$(job bob sql '{"command": "SELECT 2"}')
finish bob "$id2" >/dev/null
is "$(psql -XAtq -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'bob'")" f "bob is not a superuser after his job and the next one ended"
out=$(finish bob "$(sqljob bob "SELECT session_user || ' ' || current_user || ' ' || (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")")
is "$out" "succeeded||bob bob false" "an sql job's session is bob's own: session_user and current_user are bob, without superuser"
out=$(finish bob "$(job bob sql '{"command": "SET SESSION AUTHORIZATION postgres; SELECT 1"}')")
is "$out" 'failed|permission denied to set session authorization "postgres"|' "SET SESSION AUTHORIZATION postgres is refused"
out=$(finish bob "$(job bob sql '{"command": "SET ROLE postgres; SELECT 1"}')")
is "$out" 'failed|permission denied to set role "postgres"|' "SET ROLE postgres is refused"

# 2. Nothing survives a job's session.
out=$(finish alice "$(job alice sql '{"command": "CREATE TEMP TABLE orders (x int); SELECT 1"}')")
is "${out%%|*}" succeeded "alice's job made a temporary table named orders"
finish bob "$(job bob sql '{"command": "INSERT INTO orders VALUES (7)"}')" >/dev/null
is "$(psql -XAtq -c 'SELECT count(*) FROM public.orders WHERE x = 7')" 1 "bob's later INSERT INTO orders went to public.orders, not into alice's temporary table"
finish bob "$(job bob sql '{"command": "SET default_transaction_read_only = on; SELECT 1"}')" >/dev/null
out=$(finish alice "$(job alice sql '{"command": "INSERT INTO orders VALUES (8)"}')")
is "${out%%|*}" succeeded "a job that set default_transaction_read_only does not wedge the next one"
finish bob "$(job bob sql '{"command": "SELECT pg_advisory_lock(4242)"}')" >/dev/null
out=$(finish alice "$(job alice sql '{"command": "SELECT pg_try_advisory_lock(4242)"}')")
is "$out" "succeeded||t" "an advisory lock taken by a job is released when it ends"
finish bob "$(job bob sql '{"command": "PREPARE p AS SELECT 1"}')" >/dev/null
out=$(finish alice "$(job alice sql '{"command": "EXECUTE p"}')")
is "$out" 'failed|prepared statement "p" does not exist|' "a prepared statement of a job does not outlive it"
# two roles' jobs at once: neither sees the other's temporary table or settings
a=$(sqljob alice "CREATE TEMP TABLE t_alice (x int); SET work_mem = '77MB'; SELECT pg_sleep(2)")
for _ in $(seq 1 100); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $a")" = running ] && break; sleep 0.05; done
sleep 0.3
b=$(sqljob bob "SELECT current_setting('work_mem') || ' ' || (to_regclass('pg_temp.t_alice') IS NULL)::text")
out=$(finish bob "$b")
finish alice "$a" >/dev/null
is "$out" "succeeded||4MB true" "bob's job sees the default work_mem and no t_alice ..."
is "$(psql -XAtq -c "SELECT a.started_at < b.finished_at AND b.started_at < a.finished_at FROM mlops.jobs a, mlops.jobs b WHERE a.id = $a AND b.id = $b")" t \
   "... while alice's job ran at the same time"

# 3. Rows of other roles: schedules, results, values, jobs, credentials.
as alice "INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000a1', '[1, 0]', '[1, 1]')" >/dev/null
as alice "SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000a1', '0 0 * * *')" >/dev/null
as alice "SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000a1')" >/dev/null
is "$(as bob "SELECT count(*) FROM mlops.metrics_executions") $(as bob "SELECT count(*) FROM mlops.results") $(as bob "SELECT count(*) FROM mlops.metric_values")" \
   "0 0 0" "bob sees none of alice's schedules, results and values"
as bob "UPDATE mlops.metrics_executions SET source = 'pg_catalog.pg_class', metric = 'mae'" >/dev/null
as bob "DELETE FROM mlops.metrics_executions" >/dev/null
out=$(as bob "INSERT INTO mlops.metric_values (model_id, metric, value, owner) VALUES ('00000000-0000-0000-0000-0000000000a1', 'accuracy', 1, 'alice')")
grep -q 'row-level security' <<<"$out"
ok $? "bob cannot insert a value in alice's name ($out)"
is "$(psql -XAtq -c "SELECT source || ' ' || metric || ' ' || owner FROM mlops.metrics_executions")" "mlops.results accuracy alice" \
   "alice's schedule is unchanged after bob's UPDATE and DELETE"
out=$(as bob "SELECT mlops.submit_job('train', '{}', depends_on => ARRAY[$a]::bigint[])")
grep -q "job $a does not exist" <<<"$out"
ok $? "depends_on alice's job tells bob only that it does not exist"
out=$(as bob "SELECT mlops.cancel_job($a)")
grep -q "job $a does not exist" <<<"$out"
ok $? "bob cannot cancel alice's job, nor learn that it exists"
# SELECT and UPDATE on every mlops table still reach only bob's own rows
psql -XAtq -c "GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA mlops TO bob" >/dev/null
before=$(psql -XAtq -c "SELECT md5(string_agg(id || params::text || max_attempts, ',' ORDER BY id)) FROM mlops.jobs WHERE submitted_by <> 'bob'::regrole")
as bob "UPDATE mlops.jobs SET max_attempts = 9, params = '{\"command\": \"SELECT 666\"}'" >/dev/null
after=$(psql -XAtq -c "SELECT md5(string_agg(id || params::text || max_attempts, ',' ORDER BY id)) FROM mlops.jobs WHERE submitted_by <> 'bob'::regrole")
is "$after" "$before" "granted UPDATE on mlops.jobs, bob changes only his own jobs"
is "$(as bob "SELECT count(*) FROM mlops.jobs WHERE submitted_by <> 'bob'::regrole")" 0 "granted SELECT on mlops.jobs, bob sees only his own"
psql -XAtq -c "SELECT mlops.set_credential('dav', 'webdav', '{\"url\": \"$BASE/dav/\", \"username\": \"u\", \"password\": \"Pw-$RANDOM-not-for-bob\"}')" >/dev/null
is "$(as bob "SELECT count(*) FROM mlops.credentials")" 0 "granted SELECT on mlops.credentials, bob reads no secret"
as bob "UPDATE mlops.metrics_executions SET metric = 'mae'" >/dev/null
is "$(psql -XAtq -c "SELECT metric FROM mlops.metrics_executions")" accuracy "granted UPDATE on mlops.metrics_executions, bob changes nothing of alice's"
psql -XAtq -c "REVOKE SELECT, UPDATE ON ALL TABLES IN SCHEMA mlops FROM bob" >/dev/null
readme_grants application app bob | grep -v '^CREATE ROLE' | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null

# 4. Credentials are granted; files stay in their owner's area.
out=$(job bob upload '{"path": "x.zip", "credential": "dav", "target": "x.zip"}')
grep -q 'credential "dav" does not exist or is not granted to role "bob"' <<<"$out"
ok $? "bob cannot use a credential not granted to him"
out2=$(job bob upload '{"path": "x.zip", "credential": "nope", "target": "x.zip"}')
is "$(sed 's/"nope"/"dav"/' <<<"$out2")" "$out" "an unknown credential and an ungranted one give the same error"
out=$(job bob download '{"credential": "dav", "object": "x.zip", "path": "x.zip"}')
grep -q 'credential "dav" does not exist or is not granted to role "bob"' <<<"$out"
ok $? "bob cannot download with a credential not granted to him"
id=$(job alice download "{\"url\": \"$BASE/file/1000/alice\", \"path\": \"mine/data.bin\"}")
is "$(finish alice "$id" | cut -d'|' -f1)" succeeded "alice downloads into her own area"
[ -f "$WORK/roles/$alice_oid/mine/data.bin" ]
ok $? "alice's file is under work_dir/roles/<alice's oid>/"
out=$(job bob extract "{\"archive\": \"../$alice_oid/mine/data.bin\", \"dest\": \"stolen\"}")
grep -q 'is not allowed' <<<"$out"
ok $? "bob cannot name alice's file with .."
id=$(job bob package "{\"source\": \"roles/$alice_oid/mine\", \"path\": \"stolen.zip\"}")
out=$(finish bob "$id")
grep -q '^failed|' <<<"$out" && [ ! -e "$WORK/roles/$bob_oid/stolen.zip" ]
ok $? "bob's paths resolve inside his own area: alice's folder is not there for him"
out=$(job bob extract '{"archive": "@datasets/a.zip", "dest": "x"}')
grep -q 'file area "datasets" does not exist or is not granted to role "bob"' <<<"$out"
ok $? "a shared area not granted to bob is refused"
as ops "SELECT mlops.grant_area('datasets', 'bob')" >/dev/null
id=$(job bob download "{\"url\": \"$BASE/file/100/shared\", \"path\": \"@datasets/shared.bin\"}")
is "$(finish bob "$id" | cut -d'|' -f1)" succeeded "once the administrator grants it, bob writes into @datasets"
[ -f "$WORK/areas/datasets/shared.bin" ]
ok $? "the shared area is work_dir/areas/datasets/"
out=$(psql -XAtq -c "SELECT error FROM mlops.jobs WHERE error IS NOT NULL AND (error LIKE '%' || current_setting('data_directory') || '%')")
is "$out" "" "no job error shows the server's data directory"
id=$(job alice extract '{"archive": "missing.zip", "dest": "out"}')
out=$(finish alice "$id")
grep -q '<work_dir>/roles/' <<<"$out" && ! grep -q "$PGDATA" <<<"$out"
ok $? "a file error names the path under <work_dir> ($out)"
# a symbolic link where the download's .part file goes is not followed
mkdir -p "$WORK/roles/$alice_oid/dl"
echo "outside" > "$tmp/outside.txt"
chmod 666 "$tmp/outside.txt"
ln -s "$tmp/outside.txt" "$WORK/roles/$alice_oid/dl/f.bin.part"
chown -h "$CLUSTER_OWNER" "$WORK/roles/$alice_oid/dl" "$WORK/roles/$alice_oid/dl/f.bin.part" 2>/dev/null
id=$(job alice download "{\"url\": \"$BASE/file/5000/x\", \"path\": \"dl/f.bin\"}" "max_attempts => 1")
out=$(finish alice "$id")
grep -q '^failed|' <<<"$out" && [ "$(cat "$tmp/outside.txt")" = outside ]
ok $? "a symbolic link named like the .part file is refused and the file it points to is untouched ($out)"
ln -s "$tmp" "$WORK/roles/$alice_oid/link"
out=$(job alice download "{\"url\": \"$BASE/file/10/x\", \"path\": \"link/f.bin\"}")
grep -q 'symbolic link' <<<"$out"
ok $? "a path through a symbolic link is refused at submit"

# 5. The network: every redirect hop and every connection.
psql -XAtq -c "ALTER SYSTEM SET mlops.allowed_hosts = '127.0.0.1:$P'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
for target in "http://localhost:$P/counted/k1" "http://0.0.0.0:$P/counted/k2" "http://[::ffff:127.0.0.1]:$P/counted/k3" "http://127.0.0.1:5432/counted/k6"; do
  key=$(sed 's/.*counted\///' <<<"$target")
  enc=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$target")
  id=$(job alice download "{\"url\": \"$BASE/redirect?to=$enc\", \"path\": \"r/$key\"}" "max_attempts => 1")
  out=$(finish alice "$id")
  hits=$(curl -s "$BASE/hits/$key" | cut -d' ' -f1)
  grep -q '^failed|.*allowed_hosts' <<<"$out" && [ "$hits" = 0 ]
  ok $? "a redirect from an allowed host to $target fails without a request to it ($out; $hits requests)"
done
enc=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$BASE/counted/k4")
out=$(finish alice "$(job alice download "{\"url\": \"$BASE/redirect?to=$enc\", \"path\": \"r/k4\"}")")
is "${out%%|*}|$(curl -s "$BASE/hits/k4" | cut -d' ' -f1)" "succeeded|1" "a redirect to an allowed host:port is followed"
out=$(job alice download '{"url": "http://127.0.0.1:5432/x", "path": "x"}')
grep -q 'allowed_hosts' <<<"$out"
ok $? "another port of an allowed host is refused at submit"
out=$(job alice download "{\"url\": \"http://user:secret-pw@127.0.0.1:$P/counted/k7\", \"path\": \"x\"}")
grep -q 'user name or password' <<<"$out" && ! grep -q 'secret-pw' <<<"$out"
ok $? "a URL with user:password is refused, without echoing the password"
psql -XAtq -c "ALTER SYSTEM SET mlops.allowed_hosts = ''" -c "ALTER SYSTEM SET mlops.denied_networks = '127.0.0.0/8'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
for host in 127.0.0.1 localhost; do
  id=$(job alice download "{\"url\": \"http://$host:$P/counted/k5$host\", \"path\": \"d/$host\"}" "max_attempts => 1")
  out=$(finish alice "$id")
  grep -q '^failed|.*denied_networks' <<<"$out" && [ "$(curl -s "$BASE/hits/k5$host" | cut -d' ' -f1)" = 0 ]
  ok $? "$host resolves into mlops.denied_networks: refused at connect time ($out)"
done
psql -XAtq -c "ALTER SYSTEM RESET mlops.allowed_hosts" -c "ALTER SYSTEM RESET mlops.denied_networks" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
out=$(as bob "SET mlops.max_raster_cells = 2000000000")
grep -q 'permission denied' <<<"$out"
ok $? "mlops.max_raster_cells cannot be raised by a user"

# 6. Cancel, timeout, results that cannot be stored.
id=$(job alice sql '{"command": "SELECT pg_sleep(30)"}')
for _ in $(seq 1 200); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $id")" = running ] && break; sleep 0.02; done
t0=$(date +%s.%N)
as alice "SELECT mlops.cancel_job($id)" >/dev/null
for _ in $(seq 1 300); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $id")" = cancelled ] && break; sleep 0.01; done
t1=$(date +%s.%N)
state=$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $id")
took=$(echo "$t1 - $t0" | bc)
[ "$state" = cancelled ] && [ "$(echo "$took < 1.0" | bc)" = 1 ]
ok $? "cancel of a running pg_sleep(30) ends it cancelled in ${took} s"
# (a warm session, idle, may remain: its state is 'idle')
is "$(psql -XAtq -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops sql job' AND state <> 'idle'")" 0 "no session is left running"
out=$(finish alice "$(job alice sql '{"command": "SELECT pg_sleep(30)", "timeout": 0.5}')")
is "$out" "failed|timed out after 0.5 s|" "a job past its timeout fails"
big=$(sqljob alice "SELECT repeat('x', 300 * 1024 * 1024)")
dep=$(job alice sql '{"command": "SELECT 1"}' "depends_on => ARRAY[$big]::bigint[]")
out=$(finish alice "$big")
grep -q '^failed|the job.s result (314572800 bytes) is larger than mlops.max_job_result_size' <<<"$out"
ok $? "a result too large to store fails the job clearly (${out:0:110})"
for _ in $(seq 1 100); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $dep")" = failed ] && break; sleep 0.1; done
is "$(psql -XAtq -c "SELECT state || ' ' || error FROM mlops.jobs WHERE id = $dep")" "failed dependency $big failed" "its dependent fails instead of waiting forever"

# 7. Leases, progress, notifications.
t=$(job alice train '{}')
tok=$(as gpu "SELECT lease_token FROM mlops.claim_job('{train}', lease => '1 second')")
for _ in $(seq 1 100); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $t")" = pending ] && break; sleep 0.1; done
psql -XAtq -c "UPDATE mlops.jobs SET run_after = now() WHERE id = $t" >/dev/null
tok2=$(as gpu "SELECT lease_token FROM mlops.claim_job('{train}')")
out=$(as gpu "SELECT mlops.heartbeat_job($t, '$tok')")
grep -q 'not held with this token' <<<"$out"
ok $? "after its lease expired and the job was claimed again, the first holder's heartbeat is refused"
out=$(as gpu "SELECT mlops.complete_job($t, '$tok', '{\"by\": \"stale\"}')")
grep -q 'not held with this token' <<<"$out"
ok $? "... and so is its complete_job"
as gpu "SELECT mlops.complete_job($t, '$tok2', '{\"by\": \"current\"}')" >/dev/null
is "$(psql -XAtq -c "SELECT state || ' ' || (result ->> 'by') FROM mlops.jobs WHERE id = $t")" "succeeded current" "the current holder completes it"
# a job's progress is visible to its owner while it runs, and to nobody else
id=$(sqljob alice "SELECT mlops.report_progress(mlops.current_job_id(), 0.4, 'secret step'), pg_sleep(1.5)")
for _ in $(seq 1 100); do [ "$(as alice "SELECT message FROM mlops.job_progress WHERE id = $id")" = "secret step" ] && break; sleep 0.05; done
is "$(as alice "SELECT percent || ' ' || message FROM mlops.job_progress WHERE id = $id")" "40.0 secret step" "alice sees her running job's progress at once"
is "$(as bob "SELECT count(*) FROM mlops.live_progress()")" 0 "bob sees no live progress of alice's job"
finish alice "$id" >/dev/null
psql -XAtq -U bob -c "LISTEN mlops_jobs" -c "LISTEN mlops_metrics" -c "SELECT pg_sleep(2.5)" > "$tmp/notify.out" 2>&1 &
listener=$!
sleep 0.5
id=$(sqljob alice "SELECT mlops.report_progress(mlops.current_job_id(), 0.5, 'secret message'), pg_sleep(0.4)" "run_id => 'secret-run'")
# a new row: compute_metric stores (and notifies) only a value it has not stored already
as alice "INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000a1', '[1, 1]', '[1, 1]')" >/dev/null
as alice "SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000a1')" >/dev/null
wait $listener
grep -q 'Asynchronous notification "mlops_jobs"' "$tmp/notify.out" && grep -q 'Asynchronous notification "mlops_metrics"' "$tmp/notify.out"
ok $? "bob, listening, gets notifications on mlops_jobs and mlops_metrics"
! grep -qE 'secret|"kind"|"message"|"value"|"metric"' "$tmp/notify.out"
ok $? "their payloads carry ids and states only"

# 8. Pipelines: a run and its steps are their owner's; the same config is a run of each role's own.
as alice "SELECT mlops.define_pipeline('two', '[{\"name\": \"a\", \"kind\": \"sql\", \"params\": {\"command\": \"SELECT current_user\"}}]', '{\"x\": 1}')" >/dev/null
arun=$(as alice "SELECT mlops.start_run('two')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$arun' AND owner = 'alice'::regrole" succeeded 30
is "$(psql -XAtq -c "SELECT result ->> 'value' FROM mlops.run_steps WHERE run_id = '$arun' AND owner = 'alice'::regrole")" alice \
   "alice's run ran its step as alice"
is "$(as bob "SELECT count(*) FROM mlops.run_progress")|$(as bob "SELECT count(*) FROM mlops.run_steps")" "0|0" "bob sees none of alice's runs and steps"
as bob "DELETE FROM mlops.run_steps" >/dev/null
is "$(psql -XAtq -c "SELECT count(*) FROM mlops.run_steps WHERE owner = 'alice'::regrole")" 1 "bob's DELETE leaves alice's steps alone"
out=$(as bob "SELECT mlops.rerun('$arun', mode => 'all')")
grep -q "run \"$arun\" does not exist" <<<"$out"
ok $? "bob cannot rerun alice's run, nor learn that it exists"
out=$(as bob "SELECT mlops.define_pipeline('two', '[{\"name\": \"b\", \"kind\": \"sql\"}]')")
grep -q 'belongs to another role' <<<"$out"
ok $? "bob cannot redefine alice's pipeline"
brun=$(as bob "SELECT mlops.start_run('two')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$brun' AND owner = 'bob'::regrole" succeeded 30
is "$brun|$(psql -XAtq -c "SELECT result ->> 'value' FROM mlops.run_steps WHERE run_id = '$brun' AND owner = 'bob'::regrole")" "$arun|bob" \
   "bob starting the same config gets a run of his own (same id, his rows), run as bob"

# 9. kill -9 during a running sql job: failed (its attempts spent) or retried, never stuck.
id=$(job alice sql '{"command": "SELECT pg_sleep(20)"}' "max_attempts => 1")
for _ in $(seq 1 200); do
  pid=$(psql -XAtq -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops sql job' AND query LIKE '%pg_sleep(20)%' AND state = 'active'")
  [ -n "$pid" ] && break; sleep 0.05
done
kill -9 "$pid"
ok $? "killed the job's session (pid $pid) with SIGKILL"
poll_sql "SELECT state FROM mlops.jobs WHERE id = $id" failed 60
ok $? "after the crash restart the job is failed, not stuck running"
id=$(job alice sql '{"command": "SELECT 41 + 1"}')
is "$(finish alice "$id")" "succeeded||42" "the queue serves jobs again after the crash"

# 10. Warm sessions: the next job of the same role only, after a reset it cannot see through.
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE ROLE alice_grp NOLOGIN;
GRANT alice_grp TO alice;
CREATE SEQUENCE public.seq_a;
GRANT USAGE, SELECT ON public.seq_a TO alice;
-- try_sql(q): q's single value as text, or 'error: ' and the message (so a probe never fails its job)
CREATE FUNCTION public.try_sql(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text;
BEGIN
  EXECUTE q INTO r;
  RETURN coalesce(r, 'null');
EXCEPTION WHEN OTHERS THEN
  RETURN 'error: ' || SQLERRM;
END $f$;
SQL
# val ROLE COMMAND: run COMMAND as ROLE's sql job, print its value (or "state|error")
val() {
  local out
  out=$(finish "$1" "$(sqljob "$1" "$2")")
  if [ "${out%%|*}" = succeeded ]; then echo "${out##*|}"; else echo "$out"; fi
}
p0=$(val alice "SELECT pg_backend_pid()")
p1=$(val alice "SELECT pg_backend_pid()")
[ -n "$p0" ] && [ "$p0" = "$p1" ]
ok $? "two jobs of alice in a row run in one warm session (pid $p0, then $p1)"
# reuse ATTACK PROBE EXPECTED WHAT: ATTACK (ending in a query of pg_backend_pid()) as alice, then
# PROBE as alice's next job: same session, and PROBE gives EXPECTED
reuse() {
  local a b
  a=$(val alice "$1")
  b=$(val alice "SELECT pg_backend_pid() || ' ' || ($2)")
  is "$b" "$a $3" "$4 (pid $a, then ${b%% *})"
}
reuse "SET search_path = pg_temp, public, pg_catalog; SELECT pg_backend_pid()" "current_setting('search_path')" '"$user", public' \
  "a search_path set by a job is reset for the next one"
reuse "SELECT pg_backend_pid() FROM (SELECT set_config('work_mem', '77MB', false), set_config('statement_timeout', '1h', false)) s" \
  "current_setting('work_mem') || ' ' || current_setting('statement_timeout')" "4MB 0" \
  "settings set with set_config(..., false) are reset"
reuse "SET default_transaction_read_only = on; SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT pg_backend_pid()" \
  "current_setting('default_transaction_read_only') || ' ' || current_setting('default_transaction_isolation')" "off read committed" \
  "a read-only or serializable default is reset"
reuse "SET ROLE alice_grp; SELECT pg_backend_pid()" "current_user || ' ' || session_user || ' ' || current_setting('role')" "alice alice none" \
  "a SET ROLE to a granted role does not outlive the job"
reuse "SELECT pg_backend_pid() FROM (SELECT set_config('role', 'alice_grp', false)) s" "current_user" "alice" \
  "nor does set_config('role', ...)"
reuse "PREPARE p_a AS SELECT 1; SELECT pg_backend_pid()" "(SELECT count(*) FROM pg_prepared_statements)" "0" \
  "a prepared statement is gone"
reuse "SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock(77), pg_advisory_lock_shared(78)) s" \
  "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())" "0" \
  "advisory locks are released"
out=$(val alice "LISTEN chan_a; SELECT pg_backend_pid()")
is "$out" "failed|cannot execute LISTEN within a background process|" "LISTEN is refused in a job's session (a background process)"
is "$(val alice "SELECT count(*) FROM pg_listening_channels()")" 0 "... and the next job listens to nothing"
reuse "SELECT pg_backend_pid() FROM (SELECT nextval('public.seq_a')) s" \
  "try_sql('SELECT currval(''public.seq_a'')::text') || ' / ' || try_sql('SELECT lastval()::text')" \
  'error: currval of sequence "seq_a" is not yet defined in this session / error: lastval is not yet defined in this session' \
  "currval and lastval of the last job are not defined"
r1=$(val alice "SELECT pg_backend_pid() FROM (SELECT setseed(0.5)) s")
r2=$(val alice "SELECT pg_backend_pid() || ' ' || random()")
r3v=$(psql -XAtq -c "SELECT setseed(0.5)" -c "SELECT random()" | tail -n 1)
[ "${r2%% *}" = "$r1" ] && [ "${r2#* }" != "$r3v" ]
ok $? "random() does not continue the sequence a job seeded (${r2#* } is not $r3v)"
# temporary objects end the session: the next job is in a new one and finds none
a=$(val alice "CREATE TEMP TABLE tt_a (x int); CREATE FUNCTION pg_temp.f_a() RETURNS int LANGUAGE sql AS 'SELECT 7'; SELECT pg_backend_pid()")
b=$(val alice "SELECT pg_backend_pid() || ' ' || (to_regclass('pg_temp.tt_a') IS NULL)::text || ' ' || try_sql('SELECT pg_temp.f_a()::text')")
[ -n "$a" ] && [ "${b%% *}" != "$a" ] && grep -q ' true error: ' <<<"$b"
ok $? "a job that made a temporary table and function ends its session; the next sees neither ($a, then $b)"
a=$(val alice "SELECT pg_backend_pid() FROM (SELECT set_config('myapp.secret', 'x1', false)) s")
b=$(val alice "SELECT pg_backend_pid() || ' ' || coalesce(current_setting('myapp.secret', true), 'none')")
[ "${b%% *}" != "$a" ] && [ "${b#* }" = none ]
ok $? "a job that created a setting ends its session; the next does not know it ($a, then $b)"
# a job of another role never runs in alice's warm session
a=$(val alice "SELECT pg_backend_pid()")
b=$(val bob "SELECT pg_backend_pid() || ' ' || session_user || ' ' || current_user")
c=$(val alice "SELECT pg_backend_pid()")
[ "${b%% *}" != "$a" ] && [ "${b#* }" = "bob bob" ] && [ "$c" = "$a" ]
ok $? "bob's job runs in a session of his own ($b) while alice's stays warm ($a, then $c)"
is "$(psql -XAtq -c "SELECT string_agg(DISTINCT usename, ' ') FROM pg_stat_activity WHERE pid IN ($a, ${b%% *})")" "alice bob" \
  "the two warm sessions are alice's and bob's own"
# a failed job ends its session
a=$(val alice "SELECT pg_backend_pid()")
val alice "SELECT 1 / 0" >/dev/null
b=$(val alice "SELECT pg_backend_pid()")
[ -n "$b" ] && [ "$b" != "$a" ]
ok $? "a failed job ends its session ($a, then $b)"
# role changes: NOLOGIN (then LOGIN again), a revoked membership
a=$(val alice "SELECT pg_backend_pid()")
psql -XAtq -c "ALTER ROLE alice NOLOGIN" >/dev/null
out=$(psql -XAtq -c "SET ROLE alice" -c "SELECT mlops.submit_job('sql', '{\"command\": \"SELECT 1\"}')" 2>&1)
grep -q 'cannot log in' <<<"$out"
ok $? "while alice has NOLOGIN her sql jobs are refused (${out%%$'\n'*})"
psql -XAtq -c "ALTER ROLE alice LOGIN" >/dev/null
b=$(val alice "SELECT pg_backend_pid()")
[ -n "$b" ] && [ "$b" != "$a" ] && poll_sql "SELECT count(*) FROM pg_stat_activity WHERE pid = $a" 0 5
ok $? "after ALTER ROLE alice NOLOGIN (and LOGIN again) her warm session is not reused, and it is gone ($a, then $b)"
a=$(val alice "SELECT pg_backend_pid() || ' ' || try_sql('SELECT set_config(''role'', ''alice_grp'', true)')")
psql -XAtq -c "REVOKE alice_grp FROM alice" >/dev/null
b=$(val alice "SELECT pg_backend_pid() || ' ' || try_sql('SELECT set_config(''role'', ''alice_grp'', true)')")
[ "${a#* }" = alice_grp ] && [ "${b%% *}" != "${a%% *}" ] && grep -q 'error: permission denied to set role "alice_grp"' <<<"$b"
ok $? "after REVOKE alice_grp FROM alice the warm session is not reused, and the new one cannot SET ROLE ($a; $b)"
# a cancel and a timeout work in a warm session, and end it
a=$(val alice "SELECT pg_backend_pid()")
id=$(job alice sql '{"command": "SELECT pg_sleep(30)"}')
for _ in $(seq 1 200); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $id")" = running ] && break; sleep 0.02; done
is "$(psql -XAtq -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops sql job' AND state = 'active' AND query LIKE '%pg_sleep(30)%'")" "$a" \
  "alice's pg_sleep(30) runs in her warm session"
t0=$(date +%s.%N)
as alice "SELECT mlops.cancel_job($id)" >/dev/null
for _ in $(seq 1 300); do [ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $id")" = cancelled ] && break; sleep 0.01; done
took=$(echo "$(date +%s.%N) - $t0" | bc)
[ "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $id")" = cancelled ] && [ "$(echo "$took < 1.0" | bc)" = 1 ]
ok $? "cancel in a warm session ends the job cancelled in ${took} s"
b=$(val alice "SELECT pg_backend_pid()")
[ -n "$b" ] && [ "$b" != "$a" ]
ok $? "the cancelled job's session is not reused ($a, then $b)"
is "$(finish alice "$(job alice sql '{"command": "SELECT pg_sleep(30)", "timeout": 0.5}')")" "failed|timed out after 0.5 s|" \
  "a timeout in a warm session fails the job"
# a result too large to store fails the job in a warm session too; the next job runs
a=$(val alice "SELECT pg_backend_pid()")
out=$(val alice "SELECT repeat('x', 2 * 1024 * 1024)")
grep -q "^failed|the job.s result (2097152 bytes) is larger than mlops.max_job_result_size" <<<"$out"
ok $? "after a warm session's job, a result too large to store fails the next one (${out:0:90})"
b=$(val alice "SELECT pg_backend_pid()")
[ -n "$b" ] && [ "$b" != "$a" ]
ok $? "... its session ends, and the next job runs in a new one ($a, then $b)"
# a dropped role's warm session is retired at the worker's next hand-over, whoever's job it is
readme_grants application app carol | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
c=$(val carol "SELECT pg_backend_pid()")
[ -n "$c" ] && [ "$(psql -XAtq -c "SELECT usename || ' ' || state FROM pg_stat_activity WHERE pid = $c")" = "carol idle" ]
ok $? "carol's session waits, warm (pid $c)"
psql -XAtq -v ON_ERROR_STOP=1 -c "DROP OWNED BY carol" -c "DROP ROLE carol" >/dev/null
ok $? "carol dropped while her session is warm"
val alice "SELECT 1" >/dev/null
poll_sql "SELECT count(*) FROM pg_stat_activity WHERE pid = $c" 0 5
ok $? "the next hand-over (alice's job) retires the dropped role's session"

# three roles' jobs strictly alternating (alice, bob, dave, alice, ...; two sessions at most, so
# warm sessions are retired and started all the time): every job runs as its owner, and no
# session ever serves two roles
readme_grants application app dave | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$
DECLARE r text[] := ARRAY['alice', 'bob', 'dave'];
BEGIN
  FOR i IN 0..449 LOOP
    EXECUTE format('SET ROLE %I', r[i % 3 + 1]);   -- after SET ROLE, the role set is the submitter
    PERFORM mlops.submit_job('sql', jsonb_build_object('command',
      'SELECT session_user || '' '' || current_user || '' '' || pg_backend_pid()'), run_id => 'mix');
    RESET ROLE;
  END LOOP;
END $$;
SQL
poll_sql "SELECT count(*) FROM mlops.jobs WHERE run_id = 'mix' AND state IN ('pending', 'running')" 0 120
is "$(psql -XAtq -c "SELECT count(*) FILTER (WHERE state = 'succeeded') || ' ' || count(*) FILTER (WHERE split_part(result ->> 'value', ' ', 1) <> pg_get_userbyid(submitted_by) OR split_part(result ->> 'value', ' ', 2) <> pg_get_userbyid(submitted_by)) || ' ' || count(*) FILTER (WHERE attempts > 1) FROM mlops.jobs WHERE run_id = 'mix'")" "450 0 0" \
   "450 jobs of alice, bob and dave interleaved: all succeeded at their first attempt, each as its owner (session_user and current_user)"
read -r n_pids n_shared <<<"$(psql -XAt -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE roles > 1) FROM (SELECT split_part(result ->> 'value', ' ', 3) AS pid, count(DISTINCT submitted_by) AS roles FROM mlops.jobs WHERE run_id = 'mix' GROUP BY 1) x")"
[ "$n_shared" = 0 ] && [ "$n_pids" -lt 450 ]
ok $? "no session served two roles ($n_pids sessions for 450 jobs, $n_shared shared)"

# a warm session terminated while idle is not handed the next job
a=$(val alice "SELECT pg_backend_pid()")
psql -XAtq -c "SELECT pg_terminate_backend($a)" >/dev/null
poll_sql "SELECT count(*) FROM pg_stat_activity WHERE pid = $a" 0 5 >/dev/null
id=$(sqljob alice "SELECT pg_backend_pid()")
out=$(finish alice "$id")
is "${out%%|*} $(psql -XAtq -c "SELECT attempts FROM mlops.jobs WHERE id = $id") $([ "${out##*|}" != "$a" ] && echo new)" "succeeded 1 new" \
  "after pg_terminate_backend of alice's idle warm session, her next job runs at its first attempt in a new one"

# a warm session reads a reloaded configuration before its next job, as a new session would
a=$(val alice "SELECT pg_backend_pid()")
psql -XAtq -c "ALTER SYSTEM SET work_mem = '5MB'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
is "$(val alice "SELECT pg_backend_pid() || ' ' || current_setting('work_mem')")" "$a 5MB" "after a reload the warm session's next job has the new default work_mem"
psql -XAtq -c "ALTER SYSTEM RESET work_mem" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1

# mlops.sql_session_max_jobs ends a session after that many jobs
psql -XAtq -c "ALTER SYSTEM SET mlops.sql_session_max_jobs = 3" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
val alice "SELECT 1 / 0" >/dev/null    # a failed job: the next one starts a new session
pids=$(for _ in 1 2 3 4; do val alice "SELECT pg_backend_pid()"; done | tr '\n' ' ')
read -r q1 q2 q3 q4 <<<"$pids"
[ "$q1" = "$q2" ] && [ "$q2" = "$q3" ] && [ "$q4" != "$q3" ]
ok $? "with mlops.sql_session_max_jobs = 3 a session runs 3 jobs, the 4th starts a new one ($pids)"
psql -XAtq -c "ALTER SYSTEM RESET mlops.sql_session_max_jobs" -c "SELECT pg_reload_conf()" >/dev/null

done_testing
