#!/usr/bin/env bash
# storage_jobs.sh — package, extract and upload jobs run by the worker against a real nginx with
# WebDAV and basic auth: a folder packaged into a timestamped zip (UTC), the zip extracted back
# byte-identical, the zip uploaded into nested WebDAV folders and deleted locally only after the
# upload succeeded; a wrong password fails the job and keeps the file; downloads read objects back
# with the same credentials; uploads to s3rver, single
# and multipart, and a multipart upload cancelled mid-way aborted on the server; hostile archives
# (zip slip, absolute path, symbolic link, a zip bomb) are refused with nothing left behind.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh
. test/lib/s3rver.sh
. test/lib/s3verify.sh

PY=/usr/bin/python3
cluster_start --conf "mlops.max_extract_bytes = '50MB'" || exit 1
served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_dav.XXXXXX")
trap 's3verify_stop; s3rver_stop; cluster_stop; rm -rf "$served"' EXIT
mkdir -p "$served/dav"
printf 'alice:{PLAIN}wonderland\n' > "$served/htpasswd"
chmod -R a+rwX "$served"
nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path off; client_max_body_size 0; auth_basic dav; auth_basic_user_file $served/htpasswd; }" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, nginx WebDAV at $NGINX_URL/dav/"

work="$PGDATA/pg_mlops"
job() {  # job KIND PARAMS -> prints "state|error"
  local id
  id=$(psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('$1', '$2'::jsonb)") || return 1
  psql -XAtq -c "SELECT mlops.wait_job($id, '60 seconds')" >/dev/null
  psql -XAtc "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result::text, '') FROM mlops.jobs WHERE id = $id"
}

# a folder to package, written as the cluster owner (the worker's user)
as_owner mkdir -p "$work/set/sub"
as_owner bash -c "printf 'alpha\n' > '$work/set/a.txt'; head -c 50000 /dev/urandom > '$work/set/b.png'; printf 'gamma\n' > '$work/set/sub/c.txt'"

out=$(job package '{"source": "set", "path": "out/set-%Y-%m-%d-%H-%M-%S.zip"}')
is "${out%%|*}" succeeded "package: the folder is zipped"
zip_rel=$(sed -n 's/.*"path": "\([^"]*\)".*/\1/p' <<<"$out")
[[ "$zip_rel" =~ ^out/set-$(date -u +%Y-%m-%d)-[0-9]{2}-[0-9]{2}-[0-9]{2}\.zip$ ]]
ok $? "package: the name is the UTC time template filled in ($zip_rel)"
ok $([ -f "$work/$zip_rel" ] && [ ! -e "$work/$zip_rel.part" ]; echo $?) "package: the zip is in place, no .part left"
"$PY" - "$work/$zip_rel" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
m = {i.filename: i.compress_type for i in z.infolist()}
assert m.get("b.png") == zipfile.ZIP_STORED, m
assert m.get("a.txt") == zipfile.ZIP_DEFLATED, m
assert "sub/c.txt" in m, m
PY
ok $? "package: the png is stored, the text deflated, subfolders kept"

# a package name already taken: the same files again are a rerun (already there), other files get
# the first free suffix and the existing zip is kept
as_owner bash -c "mkdir -p '$work/set2' && printf 'one\n' > '$work/set2/one.txt'"
out=$(job package '{"source": "set2", "path": "out/fixed.zip"}')
sum1=$(sha256sum "$work/out/fixed.zip" | cut -d' ' -f1)
out=$(job package '{"source": "set2", "path": "out/fixed.zip"}')
grep -q '"path": "out/fixed.zip".*"already_there": true' <<<"$out" && [ ! -e "$work/out/fixed-1.zip" ]
ok $? "package again over the same files: the zip is already there, nothing new ($(cut -d'|' -f3 <<<"$out"))"
as_owner bash -c "printf 'two\n' > '$work/set2/two.txt'"
out=$(job package '{"source": "set2", "path": "out/fixed.zip"}')
grep -q '"path": "out/fixed-1.zip".*"already_there": false' <<<"$out" && [ -f "$work/out/fixed-1.zip" ] \
  && [ "$(sha256sum "$work/out/fixed.zip" | cut -d' ' -f1)" = "$sum1" ]
ok $? "package of other files under a taken name: out/fixed-1.zip, the first zip untouched"

out=$(job extract "{\"archive\": \"$zip_rel\", \"dest\": \"back\"}")
is "${out%%|*}" succeeded "extract: the zip is extracted"
ok $(diff -r "$work/set" "$work/back" >/dev/null; echo $?) "extract: every file byte-identical"
grep -q '"count": 3' <<<"$out"
ok $? "extract: the result lists the 3 files"

psql -XAtq -o /dev/null -c "SELECT mlops.set_credential('dav', 'webdav', jsonb_build_object('url', '$NGINX_URL/dav/', 'username', 'alice', 'password', 'wonderland'))"
psql -XAtq -o /dev/null -c "SELECT mlops.set_credential('dav-wrong', 'webdav', jsonb_build_object('url', '$NGINX_URL/dav/', 'username', 'alice', 'password', 'looking-glass'))"
out=$(job upload "{\"path\": \"$zip_rel\", \"credential\": \"dav-wrong\", \"target\": \"datasets/2026/set.zip\", \"delete_after\": true}")
is "${out%%|*}" failed "upload: a wrong password fails the job"
ok $([ -f "$work/$zip_rel" ]; echo $?) "upload: the local file is kept after a failed upload"
ok $([ ! -e "$served/dav/datasets/2026/set.zip" ]; echo $?) "upload: nothing was written on the server"
ok $(! grep -q 'looking-glass' <<<"$out"; echo $?) "upload: the error does not show the password"
cp "$work/$zip_rel" "$served/expected.zip"
out=$(job upload "{\"path\": \"$zip_rel\", \"credential\": \"dav\", \"target\": \"datasets/2026/set.zip\", \"delete_after\": true}")
is "${out%%|*}" succeeded "upload: into nested WebDAV folders"
ok $(cmp -s "$served/expected.zip" "$served/dav/datasets/2026/set.zip"; echo $?) "upload: the file on the server is byte-identical"
ok $([ ! -e "$work/$zip_rel" ]; echo $?) "upload: delete_after removed the local file after the success"
as_owner bash -c 'head -c 100000 /dev/urandom > "$1/plain.bin"' _ "$work"
out=$(job upload '{"path": "plain.bin", "credential": "dav", "target": "plain/a.bin", "sha256": true}')
grep -q "\"sha256\": \"$(sha256sum "$work/plain.bin" | cut -d' ' -f1)\"" <<<"$out"
ok $? "upload with \"sha256\": true: the result has the file's sha256"
out=$(job upload '{"path": "plain.bin", "credential": "dav", "target": "plain/b.bin"}')
grep -q '"sha256": null' <<<"$out"
ok $? "upload: no sha256 in the result unless asked"

# download with a credential: the object read back from the same WebDAV store, authenticated
out=$(job download '{"credential": "dav", "object": "plain/a.bin", "path": "back/a.bin"}')
is "${out%%|*}" succeeded "download with a credential: plain/a.bin from WebDAV"
ok $(cmp -s "$work/plain.bin" "$work/back/a.bin"; echo $?) "download with a credential: byte-identical to what was uploaded"
out=$(job download '{"credential": "dav-wrong", "object": "plain/a.bin", "path": "back/wrong.bin"}')
is "${out%%|*}" failed "download with a wrong password fails ($(cut -d'|' -f2 <<<"$out" | cut -c1-60))"
ok $([ ! -e "$work/back/wrong.bin" ] && [ ! -e "$work/back/wrong.bin.part" ]; echo $?) "download with a wrong password: no file, no .part"
ok $(! grep -q 'looking-glass\|wonderland' <<<"$out"; echo $?) "download with a credential: no password in the job row"
err=$(psql -XAtq -c "SELECT mlops.submit_job('download', '{\"url\": \"$NGINX_URL/dav/plain/a.bin\", \"credential\": \"dav\", \"object\": \"plain/a.bin\", \"path\": \"x\"}')" 2>&1)
grep -q 'either params.url or both params.credential and params.object' <<<"$err"
ok $? "download: url together with credential is refused at submit"
err=$(psql -XAtq -c "SELECT mlops.submit_job('download', '{\"credential\": \"dav\", \"object\": \"../../etc/passwd\", \"path\": \"x\"}')" 2>&1)
grep -q 'params.object "../../etc/passwd" is not allowed' <<<"$err"
ok $? "download: an object with .. is refused at submit"
err=$(psql -XAtq -c "SELECT mlops.submit_job('download', '{\"credential\": \"nope\", \"object\": \"a\", \"path\": \"x\"}')" 2>&1)
grep -q 'nope' <<<"$err" && ! grep -q '^[0-9]' <<<"$err"
ok $? "download: an unknown credential is refused at submit"

# S3 through the worker: a single PUT and a multipart upload (part size 5 MiB) to s3rver, behind
# the endpoint that verifies SigV4 (test/lib/s3verify.py); the secret is long and random
S3_ACCESS=AKIDSTORAGEJOBS01
S3_SECRET="s3-secret-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
printf '%s %s\n' "$S3_ACCESS" "$S3_SECRET" > "$served/s3keys"
if s3rver_start models && s3verify_start "$served/s3keys" "$served/s3verify.log"; then
  psql -XAtq -o /dev/null -c "SELECT mlops.set_credential('s3', 's3', jsonb_build_object('endpoint', '$S3VERIFY_URL', 'bucket', 'models', 'region', 'us-east-1', 'access_key', '$S3_ACCESS', 'secret_key', '$S3_SECRET', 'part_size_mb', 5))"
  as_owner bash -c 'head -c 300000 /dev/urandom > "$1/model.bin"; head -c $((12 * 1024 * 1024 + 7)) /dev/urandom > "$1/weights.bin"' _ "$work"
  for f in model.bin weights.bin; do
    out=$(job upload "{\"path\": \"$f\", \"credential\": \"s3\", \"target\": \"runs/r1/$f\"}")
    is "${out%%|*}" succeeded "upload to S3: $f"
    curl -sf "$S3RVER_URL/models/runs/r1/$f" -o "$served/$f.back"
    ok $(cmp -s "$work/$f" "$served/$f.back"; echo $?) "upload to S3: $f reads back byte-identical"
  done
  out=$(job download '{"credential": "s3", "object": "runs/r1/weights.bin", "path": "back/weights.bin"}')
  is "${out%%|*}" succeeded "download with an S3 credential (SigV4-signed GET)"
  ok $(cmp -s "$work/weights.bin" "$work/back/weights.bin"; echo $?) "download from S3: byte-identical"

  # a multipart upload cancelled while its parts are sent is aborted on the server (DELETE
  # ?uploadId=) before the job ends cancelled.  s3rver 3 answers the abort 405 (it does not
  # implement it) and keeps the upload's folder: what is checked is that the abort reached it.
  as_owner bash -c 'head -c $((256 * 1024 * 1024)) /dev/urandom > "$1/huge.bin"' _ "$work"
  id=$(psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('upload', '{\"path\": \"huge.bin\", \"credential\": \"s3\", \"target\": \"runs/r1/huge.bin\"}'::jsonb)")
  poll_sql "SELECT progress > 0 FROM mlops.jobs WHERE id = $id" t 60
  ok $? "cancelled S3 upload: 256 MiB in parts of 5 MiB under way"
  psql -XAtq -o /dev/null -c "SELECT mlops.cancel_job($id)"
  is "$(psql -XAtq -c "SELECT mlops.wait_job($id, '30 seconds')")" cancelled "cancelled S3 upload: the job is cancelled"
  error=$(psql -XAtc "SELECT error FROM mlops.jobs WHERE id = $id")
  ok $([[ "$error" == cancelled* ]]; echo $?) "cancelled S3 upload: error '$error'"
  upload_dir=$(grep -lx 'runs/r1/huge.bin' "$S3RVER_DIR"/data/models/._S3rver_uploads/*/key 2>/dev/null | head -n 1)
  upload_id=$(basename "$(dirname "${upload_dir:-/none/none}")")
  n=$(sed 's/\x1b\[[0-9;]*m//g' "$S3RVER_DIR/s3rver.log" | grep -c "huge\.bin?uploadId=$upload_id ")
  is "$n" 1 "cancelled S3 upload: the abort of upload ${upload_id} reached the server"
  curl -s -o /dev/null -w '%{http_code}' "$S3RVER_URL/models/runs/r1/huge.bin" | grep -qx 404
  ok $? "cancelled S3 upload: no object was completed"
  rm -f "$work/huge.bin"
  grep -q '^PUT /models/runs/r1/weights.bin?partNumber=3&uploadId=[^ ]* 200 forwarded$' "$served/s3verify.log"
  ok $? "upload to S3: every part's signature was verified"
else
  ok 1 "s3rver or the verifier could not start (see above)"
fi

# no secret anywhere: the job rows (params, result, error), the NOTIFY payloads of a job, the
# server logs, for each of the three secrets (two WebDAV passwords, the S3 secret)
rows=$(psql -XAtc "SELECT params::text || ' ' || coalesce(result::text, '') || ' ' || coalesce(error, '') FROM mlops.jobs")
notify=$(psql -Xq -c 'LISTEN mlops_jobs' \
  -c "SELECT mlops.submit_job('upload', '{\"path\": \"plain.bin\", \"credential\": \"dav-wrong\", \"target\": \"n/a.bin\"}'::jsonb, max_attempts => 1) AS nid" \
  -c "SELECT mlops.wait_job(max(id), '30 seconds') FROM mlops.jobs" 2>&1)
grep -q 'Asynchronous notification "mlops_jobs"' <<<"$notify"
ok $? "NOTIFY payloads of a failing upload collected"
# the payloads are exactly the text json_build_object gives (the trigger is C since 0.2.0)
nid=$(psql -XAtc "SELECT max(id) FROM mlops.jobs")
for st in pending running failed; do
  want=$(psql -XAtc "SELECT json_build_object('id', $nid::bigint, 'state', '$st'::text)::text")
  grep -qF "with payload \"$want\" received" <<<"$notify"
  ok $? "NOTIFY mlops_jobs payload when the job is $st: $want"
done
for name in "dav password" "dav-wrong password" "s3 secret"; do
  case $name in
    "dav password") secret=wonderland ;;
    "dav-wrong password") secret=looking-glass ;;
    *) secret=$S3_SECRET ;;
  esac
  ok $(! grep -qF "$secret" <<<"$rows"; echo $?) "the $name is in no job row"
  ok $(! grep -qF "$secret" <<<"$notify"; echo $?) "the $name is in no NOTIFY payload"
  ok $(! cat "$CLUSTER_LOG" "$NGINX_DIR"/logs/*.log "$served/s3verify.log" "${S3RVER_DIR:-/none}/s3rver.log" 2>/dev/null | grep -qF "$secret"; echo $?) \
    "the $name is in no server log"
done

# hostile archives, made with Python's zipfile/tarfile
as_owner "$PY" - "$work" <<'PY'
import io, os, sys, tarfile, zipfile
w = sys.argv[1]
with zipfile.ZipFile(os.path.join(w, "slip.zip"), "w") as z:
    z.writestr("ok.txt", "fine")
    z.writestr("../../evil.txt", "evil")
with zipfile.ZipFile(os.path.join(w, "abs.zip"), "w") as z:
    z.writestr("/tmp/evil-abs.txt", "evil")
with tarfile.open(os.path.join(w, "link.tar.gz"), "w:gz") as t:
    i = tarfile.TarInfo("escape"); i.type = tarfile.SYMTYPE; i.linkname = "/etc"; t.addfile(i)
    data = b"x"; i = tarfile.TarInfo("escape/passwd"); i.size = 1; t.addfile(i, io.BytesIO(data))
with zipfile.ZipFile(os.path.join(w, "bomb.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("zeros.bin", b"\0" * (80 * 1024 * 1024))
PY
for a in slip.zip abs.zip link.tar.gz bomb.zip; do
  out=$(job extract "{\"archive\": \"$a\", \"dest\": \"x-$a\"}")
  is "${out%%|*}" failed "extract: $a is refused (${out#*|})"
  ok $([ ! -e "$work/x-$a" ] && [ ! -e "$work/x-$a.part" ]; echo $?) "extract: nothing left behind for $a"
done
ok $([ ! -e "$work/../evil.txt" ] && [ ! -e /tmp/evil-abs.txt ]; echo $?) "extract: nothing was written outside the work directory"

done_testing
