#!/usr/bin/env bash
# step_outputs.sh — pipeline steps whose output is an object in storage (Luigi's rule), against a
# real nginx WebDAV, as a role with the grants of docs/security.md: a step whose object already exists is
# done without running (a stat job's HEAD, its result says skipped) and its dependents go on;
# rerun 'missing' while the object is there runs nothing again; after the object is deleted it
# reruns that step (the upload puts the object back) and its dependents, not the steps before
# it; an output naming an ungranted credential fails the step with the credential's error.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh

cluster_start --conf "mlops.allowed_hosts = '127.0.0.1:*'" || exit 1
served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_outputs.XXXXXX")
trap 'cluster_stop; rm -rf "$served"' EXIT
mkdir -p "$served/dav/models"
printf 'owner:{PLAIN}secret\n' > "$served/htpasswd"
chmod -R a+rwX "$served"
nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path off; client_max_body_size 0; auth_basic dav; auth_basic_user_file $served/htpasswd; }" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, nginx WebDAV at $NGINX_URL/dav/"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
readme_grants application app trainer | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT mlops.set_credential('dav', 'webdav', '{"url": "$NGINX_URL/dav/", "username": "owner", "password": "secret"}');
SELECT mlops.set_credential('other', 'webdav', '{"url": "$NGINX_URL/dav/", "username": "owner", "password": "secret"}');
SELECT mlops.grant_credential('dav', 'trainer');
SQL
ok $? "role trainer with the grants of docs/security.md and a WebDAV credential"
trainer=$(psql -XAtq -c "SELECT 'trainer'::regrole::oid")
AREA="$PGDATA/pg_mlops/roles/$trainer"
as_owner mkdir -p "$AREA/out"
as_owner bash -c "head -c 20000 /dev/urandom > '$AREA/out/model.bin'"

psql -XAtq -U trainer -v ON_ERROR_STOP=1 -o /dev/null -c "SELECT mlops.define_pipeline('publish', \$\$[
  {\"name\": \"prep\", \"kind\": \"sql\", \"params\": {\"command\": \"SELECT 1\"}},
  {\"name\": \"put\", \"kind\": \"upload\", \"depends_on\": [\"prep\"],
   \"params\": {\"path\": \"out/model.bin\", \"credential\": \"dav\", \"target\": {\"\$ref\": \"config.target\"}},
   \"output\": {\"credential\": \"dav\", \"object\": {\"\$ref\": \"config.target\"}}},
  {\"name\": \"after\", \"kind\": \"sql\", \"depends_on\": [\"put\"], \"params\": {\"command\": \"SELECT 2\"}}
]\$\$, '{\"target\": \"models/model.bin\"}')"
ok $? "trainer defines a pipeline whose upload step declares its output object"

steps() { psql -XAtq -c "SELECT string_agg(step || ':' || state, ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$1'"; }
jobs_of() { psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$1' AND kind = '$2'"; }
step_jobs() { psql -XAtq -c "SELECT job_ids FROM mlops.run_steps WHERE run_id = '$1' AND step = '$2'"; }

# 1. the object is there before the run: the upload does not run
printf 'made elsewhere\n' > "$served/dav/models/model.bin"
chmod a+rw "$served/dav/models/model.bin"
run=$(psql -XAtq -U trainer -c "SELECT mlops.start_run('publish')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 60
ok $? "a run whose upload's object already exists succeeds ($run)"
is "$(steps "$run")" "prep:succeeded put:succeeded after:succeeded" "every step succeeded, the dependent too"
is "$(jobs_of "$run" upload) $(jobs_of "$run" stat)" "0 1" "the upload never ran: one stat job looked for the object"
is "$(psql -XAtq -c "SELECT result ->> 'exists', result ->> 'skipped', result ->> 'object' FROM mlops.run_steps WHERE run_id = '$run' AND step = 'put'")" \
   "true|true|models/model.bin" "the step's result says its output exists and it was skipped"
is "$(cat "$served/dav/models/model.bin")" "made elsewhere" "the object on the server is untouched"

# 2. rerun 'missing' while the object is still there: nothing runs again (even with the
#    upload's local file gone: a step that does not run needs no input)
prep_jobs=$(step_jobs "$run" prep); after_jobs=$(step_jobs "$run" after)
as_owner mv "$AREA/out/model.bin" "$AREA/out/model.away"
is "$(psql -XAtq -U trainer -c "SELECT mlops.rerun('$run', mode => 'missing')")" 1 "rerun missing looks for the one output again"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 60
ok $? "the rerun ends"
is "$(jobs_of "$run" upload) $(jobs_of "$run" stat)" "0 2" "the object is still there: a second stat job, no upload"
is "$(step_jobs "$run" after)" "$after_jobs" "its dependent did not run again"
is "$(steps "$run")" "prep:succeeded put:succeeded after:succeeded" "the step is done though its input file is gone"
as_owner mv "$AREA/out/model.away" "$AREA/out/model.bin"

# 3. the object is deleted: rerun 'missing' uploads it again, then runs its dependent
rm -f "$served/dav/models/model.bin"
is "$(psql -XAtq -U trainer -c "SELECT mlops.rerun('$run', mode => 'missing')")" 1 "after the object is deleted, rerun missing"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 60
ok $? "the rerun succeeds"
is "$(jobs_of "$run" upload) $(jobs_of "$run" stat)" "1 3" "the stat job found the object gone and the upload ran"
cmp -s "$AREA/out/model.bin" "$served/dav/models/model.bin"
ok $? "the object is back on the server, byte-identical to the local file"
[ "$(step_jobs "$run" after)" != "$after_jobs" ] && [ -n "$(step_jobs "$run" after)" ]
ok $? "its dependent ran again ($after_jobs -> $(step_jobs "$run" after))"
is "$(step_jobs "$run" prep)" "$prep_jobs" "the step before it did not"
is "$(steps "$run")" "prep:succeeded put:succeeded after:succeeded" "every step succeeded"
psql -XAtq -c "SELECT result::text FROM mlops.run_steps WHERE run_id = '$run' AND step = 'put'" | grep -q '"etag"\|"size"'
ok $? "the step's result is now the upload's"

# 4. a fan-out: each element's output is looked for; only the missing ones run
as_owner bash -c "printf 'one\n' > '$AREA/out/one.txt'; printf 'two\n' > '$AREA/out/two.txt'"
printf 'already\n' > "$served/dav/models/one.txt"; chmod a+rw "$served/dav/models/one.txt"
psql -XAtq -U trainer -v ON_ERROR_STOP=1 -o /dev/null -c "SELECT mlops.define_pipeline('fan', \$\$[
  {\"name\": \"put\", \"kind\": \"upload\", \"for_each\": {\"\$ref\": \"config.files\"},
   \"params\": {\"path\": {\"\$ref\": \"item.local\"}, \"credential\": \"dav\", \"target\": {\"\$ref\": \"item.remote\"}},
   \"output\": {\"credential\": \"dav\", \"object\": {\"\$ref\": \"item.remote\"}}}]\$\$,
  '{\"files\": [{\"local\": \"out/one.txt\", \"remote\": \"models/one.txt\"}, {\"local\": \"out/two.txt\", \"remote\": \"models/two.txt\"}]}')"
run3=$(psql -XAtq -U trainer -c "SELECT mlops.start_run('fan')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run3'" succeeded 60
ok $? "a fan-out step with an output per element succeeds"
is "$(jobs_of "$run3" stat) $(jobs_of "$run3" upload)" "2 1" "two stat jobs, one upload: only the missing object was uploaded"
is "$(psql -XAtq -c "SELECT string_agg(coalesce(e ->> 'skipped', 'ran'), ' ' ORDER BY n) FROM mlops.run_steps, jsonb_array_elements(result) WITH ORDINALITY x(e, n) WHERE run_id = '$run3' AND step = 'put'")" \
   "true ran" "the step's result, in element order: the first skipped, the second uploaded"
is "$(cat "$served/dav/models/one.txt") $(cat "$served/dav/models/two.txt")" "already two" "the existing object is untouched, the missing one uploaded"

# 5. an output through a credential the role was not granted fails the step, not the worker
psql -XAtq -U trainer -v ON_ERROR_STOP=1 -o /dev/null -c "SELECT mlops.define_pipeline('sneaky', \$\$[
  {\"name\": \"put\", \"kind\": \"sql\", \"params\": {\"command\": \"SELECT 1\"},
   \"output\": {\"credential\": \"other\", \"object\": \"models/x\"}}]\$\$)"
run2=$(psql -XAtq -U trainer -c "SELECT mlops.start_run('sneaky')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run2'" failed 30
ok $? "a step whose output names an ungranted credential fails"
psql -XAtq -c "SELECT error FROM mlops.run_steps WHERE run_id = '$run2' AND step = 'put'" | grep -q 'credential "other" does not exist or is not granted to role "trainer"'
ok $? "... with the credential's error"
is "$(jobs_of "$run2" sql)" 0 "... and its job never ran"

done_testing
