#!/usr/bin/env bash
# storage_list.sh — the list job kind against real servers, as a role with the grants of docs/security.md:
# an S3 prefix on s3rver listed over several pages (page_size 2 forces continuation tokens),
# with and without sub-folders; a WebDAV folder on nginx listed with PROPFIND (depth 1, and
# recursively); a pipeline that lists a WebDAV prefix and fans out downloads over the result;
# refusals: an ungranted credential, an http credential, unknown params keys, more objects than
# max_entries, hostile or malformed XML (a DTD with entities, a key with ".."), a host outside
# mlops.allowed_hosts and a redirect to one.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh
. test/lib/s3rver.sh

cluster_start --conf "mlops.allowed_hosts = '127.0.0.1:*'" || exit 1
served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_list.XXXXXX")
trap 's3rver_stop; cluster_stop; rm -rf "$served"' EXIT
mkdir -p "$served/dav/sets/sub/deeper" "$served/dav/empty" "$served/s3fake"
printf 'alpha\n' > "$served/dav/sets/a.txt"
printf 'bravo bravo\n' > "$served/dav/sets/b b.txt"
head -c 3000 /dev/urandom > "$served/dav/sets/sub/c.bin"
printf 'delta\n' > "$served/dav/sets/sub/deeper/d.txt"
printf 'outside\n' > "$served/dav/other.txt"
printf 'lister:{PLAIN}secret\n' > "$served/htpasswd"
# answers a static server gives to any query: a "bucket" that is a hostile document
cat > "$served/s3fake/laughs" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ListBucketResult><Contents><Key>&lol3;</Key></Contents></ListBucketResult>
XML
cat > "$served/s3fake/escape" <<'XML'
<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>../../etc/passwd</Key><Size>1</Size></Contents></ListBucketResult>
XML
printf '<ListBucketResult><Contents><Key>a</Key>' > "$served/s3fake/cut"
chmod -R a+rwX "$served"
nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path off; auth_basic dav; auth_basic_user_file $served/htpasswd; }
    location = /s3fake/moved { return 302 http://192.0.2.1/s3fake/laughs; }" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, nginx WebDAV at $NGINX_URL/dav/"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
readme_grants application app lister | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT mlops.set_credential('dav', 'webdav', '{"url": "$NGINX_URL/dav/", "username": "lister", "password": "secret"}');
SELECT mlops.set_credential('dav-hidden', 'webdav', '{"url": "$NGINX_URL/dav/", "username": "lister", "password": "secret"}');
SELECT mlops.set_credential('plain', 'http', '{"url": "$NGINX_URL/dav/"}');
SELECT mlops.set_credential('fake', 's3', '{"endpoint": "$NGINX_URL/s3fake", "bucket": "laughs", "region": "us-east-1", "access_key": "k", "secret_key": "s"}');
SELECT mlops.set_credential('fake-escape', 's3', '{"endpoint": "$NGINX_URL/s3fake", "bucket": "escape", "region": "us-east-1", "access_key": "k", "secret_key": "s"}');
SELECT mlops.set_credential('fake-cut', 's3', '{"endpoint": "$NGINX_URL/s3fake", "bucket": "cut", "region": "us-east-1", "access_key": "k", "secret_key": "s"}');
SELECT mlops.set_credential('fake-moved', 's3', '{"endpoint": "$NGINX_URL/s3fake", "bucket": "moved", "region": "us-east-1", "access_key": "k", "secret_key": "s"}');
SELECT mlops.grant_credential(c, 'lister') FROM unnest(ARRAY['dav', 'plain', 'fake', 'fake-escape', 'fake-cut', 'fake-moved']) c;
SQL
ok $? "role lister with the grants of docs/security.md; credentials granted to it (not dav-hidden)"
lister=$(psql -XAtq -c "SELECT 'lister'::regrole::oid")
AREA="$PGDATA/pg_mlops/roles/$lister"

job() {  # job PARAMS -> "state|error|result", a list job submitted by lister
  local id
  id=$(psql -XAtq -U lister -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('list', '$1'::jsonb)") || return 1
  psql -XAtq -U lister -c "SELECT mlops.wait_job($id, '60 seconds')" >/dev/null
  psql -XAtc "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result::text, '') FROM mlops.jobs WHERE id = $id"
}
names() { /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read().split("|",2)[2]); print(" ".join(o["name"] for o in r["objects"]))'; }
field() { /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read().split("|",2)[2]); print(r[sys.argv[1]])' "$1"; }

# --- WebDAV
out=$(job '{"credential": "dav", "prefix": "sets"}')
is "${out%%|*}" succeeded "webdav: a folder is listed"
is "$(names <<<"$out")" "sets/a.txt sets/b b.txt" "webdav: depth 1, files only, sorted, names relative to the credential's url"
grep -q '"size": 12' <<<"$out" && grep -q '"modified": "[A-Z][a-z][a-z], ' <<<"$out"
ok $? "webdav: sizes and modified times"
out=$(job '{"credential": "dav", "prefix": "sets/", "recursive": true}')
is "$(names <<<"$out") $(field requests <<<"$out")" "sets/a.txt sets/b b.txt sets/sub/c.bin sets/sub/deeper/d.txt 3" \
   "webdav recursive: every sub-folder listed, one PROPFIND each"
out=$(job '{"credential": "dav", "prefix": "empty/"}')
is "${out%%|*} $(field count <<<"$out")" "succeeded 0" "webdav: an empty folder is an empty list"
out=$(job '{"credential": "dav", "prefix": "nowhere/"}')
is "${out%%|*}" failed "webdav: a missing folder fails the job"
grep -q 'folder "nowhere/" was not found' <<<"$out"
ok $? "webdav: ... saying the folder was not found"

# --- S3 (s3rver), several pages
got=
if s3rver_start models; then
  psql -XAtq -v ON_ERROR_STOP=1 -o /dev/null -c "SELECT mlops.set_credential('s3', 's3', jsonb_build_object('endpoint', '$S3RVER_URL', 'bucket', 'models', 'region', 'us-east-1', 'access_key', '$S3RVER_ACCESS_KEY', 'secret_key', '$S3RVER_SECRET_KEY'))" \
    -c "SELECT mlops.grant_credential('s3', 'lister')"
  for k in runs/r1/e.bin runs/r1/a.bin runs/r1/c.bin runs/r1/b.bin runs/r1/d.bin runs/r1/sub/f.bin runs/r1/sub/g.bin runs/r2/x.bin; do
    printf '%s' "$k" > "$served/obj"
    curl -sf -X PUT --data-binary @"$served/obj" "$S3RVER_URL/models/$k" >/dev/null || echo "# could not put $k"
  done
  out=$(job '{"credential": "s3", "prefix": "runs/r1/", "recursive": true, "page_size": 2}')
  is "${out%%|*}" succeeded "s3: a prefix is listed with ListObjectsV2 ($(cut -d'|' -f2 <<<"$out" | cut -c1-120))"
  is "$(names <<<"$out")" "runs/r1/a.bin runs/r1/b.bin runs/r1/c.bin runs/r1/d.bin runs/r1/e.bin runs/r1/sub/f.bin runs/r1/sub/g.bin" \
     "s3 recursive: every key under the prefix, sorted"
  is "$(field requests <<<"$out")" 4 "s3: 7 keys at page_size 2 took 4 pages (continuation tokens followed)"
  /usr/bin/python3 -c '
import json, re, sys
o = json.loads(sys.stdin.read().split("|", 2)[2])["objects"][0]
assert o["size"] == 13 and o["etag"] == sys.argv[1] and re.match(r"20\d\d-\d\d-\d\dT[0-9:.]+Z$", o["modified"]), o
' "$(printf 'runs/r1/a.bin' | md5sum | cut -d' ' -f1)" <<<"$out"
  ok $? "s3: size, modified time and the ETag (the MD5, quotes stripped)"
  out=$(job '{"credential": "s3", "prefix": "runs/r1/", "page_size": 3}')
  is "$(names <<<"$out")" "runs/r1/a.bin runs/r1/b.bin runs/r1/c.bin runs/r1/d.bin runs/r1/e.bin" \
     "s3 without recursive: only the keys directly under the prefix"
  out=$(job '{"credential": "s3", "prefix": "runs/r1/", "recursive": true, "max_entries": 3, "page_size": 2}')
  is "${out%%|*}" failed "s3: more objects than max_entries fail the job"
  grep -q 'more than 3 objects' <<<"$out"
  ok $? "s3: ... saying how many were allowed"
  out=$(job '{"credential": "s3", "prefix": "nothing/"}')
  is "${out%%|*} $(field count <<<"$out")" "succeeded 0" "s3: an empty prefix is an empty list"
  # stat (what a step's output check runs): a signed HEAD
  for o in runs/r1/a.bin runs/r1/nope.bin; do
    id=$(psql -XAtq -U lister -c "SELECT mlops.submit_job('stat', '{\"credential\": \"s3\", \"object\": \"$o\"}')")
    psql -XAtq -U lister -c "SELECT mlops.wait_job($id, '60 seconds')" >/dev/null
    got="$got $(psql -XAtq -c "SELECT state || ':' || (result ->> 'exists') FROM mlops.jobs WHERE id = $id")"
  done
  is "$got" " succeeded:true succeeded:false" "s3 stat: a signed HEAD tells an existing object from a missing one"
else
  ok 1 "s3rver could not start"
fi

# --- a pipeline that lists a prefix and fans out downloads over it
psql -XAtq -U lister -v ON_ERROR_STOP=1 -o /dev/null -c "SELECT mlops.define_pipeline('fetch_all', '[
  {\"name\": \"ls\", \"kind\": \"list\", \"params\": {\"credential\": \"dav\", \"prefix\": {\"\$ref\": \"config.prefix\"}, \"recursive\": true}},
  {\"name\": \"get\", \"kind\": \"download\", \"depends_on\": [\"ls\"], \"for_each\": {\"\$ref\": \"steps.ls.result.objects\"},
   \"params\": {\"credential\": \"dav\", \"object\": {\"\$ref\": \"item.name\"}, \"path\": {\"\$ref\": \"item.name\"}}}]', '{\"prefix\": \"sets/sub/\"}')"
ok $? "lister defines a pipeline: list a prefix, then download each object"
run=$(psql -XAtq -U lister -c "SELECT mlops.start_run('fetch_all')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 60
ok $? "the run succeeds ($run)"
cmp -s "$AREA/sets/sub/c.bin" "$served/dav/sets/sub/c.bin" && cmp -s "$AREA/sets/sub/deeper/d.txt" "$served/dav/sets/sub/deeper/d.txt"
ok $? "every listed object was downloaded, byte-identical, under its name"
is "$(psql -XAtq -c "SELECT cardinality(job_ids) FROM mlops.run_steps WHERE run_id = '$run' AND step = 'get'" 2>/dev/null || echo '?')" 2 \
   "the fan-out ran one download per object"

# --- refusals
err=$(psql -XAtq -U lister -c "SELECT mlops.submit_job('list', '{\"credential\": \"dav-hidden\"}')" 2>&1)
grep -q 'credential "dav-hidden" does not exist or is not granted to role "lister"' <<<"$err"
ok $? "an ungranted credential is refused at submit"
err=$(psql -XAtq -U lister -c "SELECT mlops.submit_job('list', '{\"credential\": \"dav\", \"depth\": 2}')" 2>&1)
grep -q 'depth' <<<"$err" && grep -q 'credential, prefix, recursive, max_entries, page_size' <<<"$err"
ok $? "an unknown params key is refused, listing the valid ones"
err=$(psql -XAtq -U lister -c "SELECT mlops.submit_job('list', '{\"credential\": \"plain\"}')" 2>&1)
grep -q 'credential "plain" is of kind http, which has no listing' <<<"$err"
ok $? "an http credential is refused: plain HTTP has no listing"
err=$(psql -XAtq -U lister -c "SELECT mlops.submit_job('list', '{\"credential\": \"dav\", \"prefix\": \"../etc\"}')" 2>&1)
grep -q 'params.prefix "../etc" is not allowed' <<<"$err"
ok $? "a prefix with .. is refused"
err=$(psql -XAtq -U lister -c "SELECT mlops.submit_job('list', '{\"credential\": \"dav\", \"max_entries\": 20000}')" 2>&1)
grep -q 'max_entries' <<<"$err" && ! grep -q '^[0-9]' <<<"$err"
ok $? "max_entries above mlops.max_list_entries is refused"
out=$(job '{"credential": "fake"}')
is "${out%%|*}" failed "hostile XML: a DTD with nested entities fails the job"
grep -q 'a document type declaration is not accepted' <<<"$out"
ok $? "hostile XML: ... saying a DTD is not accepted"
out=$(job '{"credential": "fake-escape"}')
grep -q '^failed|the listing names "../../etc/passwd"' <<<"$out"
ok $? "a listing naming ../../etc/passwd is refused ($(cut -d'|' -f2 <<<"$out"))"
out=$(job '{"credential": "fake-cut"}')
grep -q '^failed|malformed listing: the document ends inside an element' <<<"$out"
ok $? "a cut-off listing is refused as malformed"
out=$(job '{"credential": "fake-moved"}')
grep -q '^failed|listing failed: redirect to "http://192.0.2.1/s3fake/laughs" refused' <<<"$out"
ok $? "a redirect to a host outside mlops.allowed_hosts is refused ($(cut -d'|' -f2 <<<"$out" | cut -c1-150))"
ls "$PGDATA/pg_mlops/.list" | grep -q . && ok 1 "scratch files are removed" || ok 0 "scratch files are removed"
# scratch files a worker that died left behind are removed when a worker starts
as_owner bash -c "printf x > '$PGDATA/pg_mlops/.list/999999.xml'; printf x > '$PGDATA/pg_mlops/.list/999998.head.part'"
cluster_restart
poll_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_mlops%'" 1 30 >/dev/null
for _ in $(seq 1 50); do [ -e "$PGDATA/pg_mlops/.list/999999.xml" ] || break; sleep 0.1; done
ok $([ ! -e "$PGDATA/pg_mlops/.list/999999.xml" ] && [ ! -e "$PGDATA/pg_mlops/.list/999998.head.part" ]; echo $?) \
   "a restarted worker removes the scratch files of list and stat jobs that are not running"
psql -XAtq -c "ALTER SYSTEM SET mlops.allowed_hosts = 'example.org'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
out=$(job '{"credential": "dav", "prefix": "sets/"}')
grep -q "^failed|.*host \"127.0.0.1:[0-9]*\" is not in mlops.allowed_hosts" <<<"$out"
ok $? "a credential's host outside mlops.allowed_hosts is refused ($(cut -d'|' -f2 <<<"$out" | cut -c1-100))"
psql -XAtq -c "ALTER SYSTEM SET mlops.allowed_hosts = '127.0.0.1:*'" -c "SELECT pg_reload_conf()" >/dev/null

done_testing
