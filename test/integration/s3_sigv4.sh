#!/usr/bin/env bash
# s3_sigv4.sh — S3 uploads and downloads through the worker against an S3 endpoint that verifies
# every SigV4 signature: test/lib/s3verify.py (botocore's signer, Debian's python3-botocore) in
# front of s3rver, which does not check V4 signatures itself.
#   1. the verifier can fail: a request botocore signs passes; a tampered header, a wrong secret,
#      an unknown key, a wrong region or service, a tampered body, no signature are refused with
#      S3's codes;
#   2. as a non-superuser role with the grants of docs/security.md and granted credentials: upload (single
#      PUT and multipart) and download pass with the right secret; a wrong secret, a wrong region
#      and a wrong service fail the job with an error naming the credential and the host, never
#      the secret; object names with spaces, UTF-8, "+" and "=" pass the verifier;
#   3. a large upload's hashing (before its first request) holds up neither a small download
#      nor the upload's cancel;
#   4. the two long, distinct secrets appear in no job row (params, result, error), no NOTIFY
#      payload and no server log (PostgreSQL's, the verifiers', s3rver's).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh
. test/lib/s3rver.sh
. test/lib/s3verify.sh

PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_s3v4.XXXXXX")
chmod 755 "$tmp"
LISTENER_PID=
cluster_start || { rm -rf "$tmp"; exit 1; }
# after cluster_start, whose own EXIT trap this one replaces (it calls cluster_stop too)
trap '[ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null; s3verify_stop; s3rver_stop; cluster_stop; rm -rf "$tmp"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"
s3rver_start models
ok $? "s3rver started at ${S3RVER_URL:-}"

# two long, distinct secrets (and an access key that is neither)
ACCESS=AKIDPGMLOPSTEST0001
SECRET=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | cut -c1-36)
SECRET="good-$SECRET"
WRONG=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | cut -c1-36)
WRONG="wrong-$WRONG"
printf '%s %s\n' "$ACCESS" "$SECRET" > "$tmp/keys"
s3verify_start "$tmp/keys" "$tmp/verify.log" --region us-east-1 --service s3
ok $? "verifier (us-east-1, s3) in front of s3rver"
V=$S3VERIFY_URL
s3verify_start "$tmp/keys" "$tmp/verify-other.log" --region us-east-1 --service s3-object-lambda
ok $? "a second verifier whose endpoint belongs to another service (s3-object-lambda)"
V_OTHER=$S3VERIFY_URL
HOSTPORT=${V#http://}
HOSTPORT_OTHER=${V_OTHER#http://}

# ---- 1. the verifier itself: botocore signs, the verifier must tell right from wrong ----
"$PY" - "$V" "$ACCESS" "$SECRET" > "$tmp/self.out" 2>&1 <<'PY'
import http.client, re, sys, urllib.parse
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

base, access, secret = sys.argv[1:4]

def send(name, method, key, body=b"", access=access, secret=secret, region="us-east-1",
         service="s3", tamper=None, sign=True):
    url = base + "/models/" + urllib.parse.quote(key, safe="/~")
    req = AWSRequest(method=method, url=url, data=body,
                     headers={"Content-Type": "application/octet-stream", "x-amz-meta-note": "signed"})
    if sign:
        S3SigV4Auth(Credentials(access, secret), service, region).add_auth(req)
    p = req.prepare()
    headers = dict(p.headers)
    if tamper:
        body = tamper(headers, body)
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    m = re.search(rb"<Code>(.*?)</Code>", data)
    print(name, r.status, m.group(1).decode() if m else "-")

def header(h, b):
    h["x-amz-meta-note"] = "changed"
    return b

def body(h, b):
    return b"tampered!"

send("right", "PUT", "self/a b+c=d é.bin", b"payload")
send("right-get", "GET", "self/a b+c=d é.bin")
send("tampered-header", "PUT", "self/x.bin", b"payload", tamper=header)
send("wrong-secret", "PUT", "self/y.bin", b"payload", secret=secret + "x")
send("unknown-key", "GET", "self/a b+c=d é.bin", access="AKIDNOSUCHKEY")
send("wrong-region", "GET", "self/a b+c=d é.bin", region="eu-west-1")
send("wrong-service", "GET", "self/a b+c=d é.bin", service="s3-object-lambda")
send("tampered-body", "PUT", "self/z.bin", b"payload", tamper=body)
send("unsigned", "GET", "self/a b+c=d é.bin", sign=False)
PY
res() { sed -n "s/^$1 //p" "$tmp/self.out"; }
is "$(res right)" "200 -" "verifier: a PUT botocore signs (key with space, +, =, UTF-8) passes"
is "$(res right-get)" "200 -" "verifier: the GET of it passes"
is "$(res tampered-header)" "403 SignatureDoesNotMatch" "verifier: a signed header changed after signing fails"
is "$(res wrong-secret)" "403 SignatureDoesNotMatch" "verifier: a wrong secret fails"
is "$(res unknown-key)" "403 InvalidAccessKeyId" "verifier: an unknown access key fails"
is "$(res wrong-region)" "400 AuthorizationHeaderMalformed" "verifier: a wrong region fails"
is "$(res wrong-service)" "400 AuthorizationHeaderMalformed" "verifier: a wrong service fails"
is "$(res tampered-body)" "400 XAmzContentSHA256Mismatch" "verifier: a body that is not the signed payload fails"
is "$(res unsigned)" "403 AccessDenied" "verifier: an unsigned request fails"
curl -s -o /dev/null -w '%{http_code}' "$S3RVER_URL/models/self/x.bin" | grep -qx 404 \
  && curl -s -o /dev/null -w '%{http_code}' "$S3RVER_URL/models/self/y.bin" | grep -qx 404
ok $? "verifier: refused PUTs never reached s3rver"
[ "$(grep -c . "$tmp/self.out")" = 9 ] || sed 's/^/# /' "$tmp/self.out"

# ---- 2. jobs of a role with the grants of docs/security.md ----
awk -v m="<!-- grants: application -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
  | sed -E 's/\bapp\b/s3user/g' > "$tmp/grants.sql"
psql -XAtq -v ON_ERROR_STOP=1 -f "$tmp/grants.sql" >/dev/null
ok $? "role s3user made with the application grants of docs/security.md"
cred() {  # cred NAME ENDPOINT REGION SECRET
  psql -XAtq -v ON_ERROR_STOP=1 -o /dev/null \
    -c "SET log_statement = 'none'" \
    -c "SELECT mlops.set_credential('$1', 's3', jsonb_build_object('endpoint', '$2', 'bucket', 'models', 'region', '$3', 'access_key', '$ACCESS', 'secret_key', '$4', 'part_size_mb', 5))" \
    -c "SELECT mlops.grant_credential('$1', 's3user')"
}
cred s3 "$V" us-east-1 "$SECRET" && cred s3-wrong-secret "$V" us-east-1 "$WRONG" \
  && cred s3-wrong-region "$V" eu-west-1 "$SECRET" && cred s3-other-service "$V_OTHER" us-east-1 "$SECRET"
ok $? "four S3 credentials stored by the administrator and granted to s3user"

uid=$(psql -XAtq -c "SELECT 's3user'::regrole::oid")
work="$PGDATA/pg_mlops/roles/$uid"
as_owner mkdir -p "$work"
as_owner bash -c 'head -c 300001 /dev/urandom > "$1/model.bin"; head -c $((12 * 1024 * 1024 + 5)) /dev/urandom > "$1/weights.bin"' _ "$work"

# NOTIFY payloads, collected by a listener until the jobs are over
"$PY" - "$PGHOST" "$PGPORT" "$tmp/notify.out" "$tmp/stop" <<'PY' &
import os, select, sys, psycopg2
host, port, out, stop = sys.argv[1:5]
c = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres")
c.autocommit = True
c.cursor().execute("LISTEN mlops_jobs; LISTEN mlops_runs; LISTEN mlops_metrics")
with open(out, "w") as f:
    f.write("listening\n"); f.flush()
    while not os.path.exists(stop):
        if select.select([c], [], [], 0.2)[0]:
            c.poll()
            while c.notifies:
                n = c.notifies.pop(0)
                f.write(f"{n.channel} {n.payload}\n"); f.flush()
PY
LISTENER_PID=$!
for _ in $(seq 1 100); do [ -s "$tmp/notify.out" ] && break; sleep 0.05; done

job() {  # job PARAMS -> "state|error|result" of a job s3user submits and waits for
  local id
  id=$(psql -XAtq -U s3user -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('$1', \$p\$$2\$p\$::jsonb, max_attempts => 1)") || return 1
  psql -XAtq -U s3user -c "SELECT mlops.wait_job($id, '90 seconds')" >/dev/null
  psql -XAtq -U s3user -c "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result::text, '') FROM mlops.job_progress WHERE id = $id"
}

out=$(job upload '{"path": "model.bin", "credential": "s3", "target": "runs/r1/model.bin"}')
is "${out%%|*}" succeeded "upload with the right secret: single PUT signed and verified"
curl -sf "$S3RVER_URL/models/runs/r1/model.bin" -o "$tmp/model.back" && cmp -s "$work/model.bin" "$tmp/model.back"
ok $? "upload: the object in s3rver is byte-identical"
out=$(job upload '{"path": "weights.bin", "credential": "s3", "target": "runs/r1/weights.bin"}')
is "${out%%|*}" succeeded "multipart upload (3 parts of 5 MiB) with the right secret"
grep -q '^PUT /models/runs/r1/weights.bin?partNumber=3&uploadId=[^ ]* 200 forwarded$' "$tmp/verify.log"
ok $? "multipart: part 3 signed (with its query) and verified"
out=$(job download '{"credential": "s3", "object": "runs/r1/weights.bin", "path": "back/weights.bin"}')
is "${out%%|*}" succeeded "download with the right secret: signed GET verified"
cmp -s "$work/weights.bin" "$work/back/weights.bin"
ok $? "download: byte-identical"

# names that need escaping: spaces, UTF-8, + and =, single PUT, multipart and GET
ODD='runs/a b/c+d=e é ü½.bin'
out=$(job upload "{\"path\": \"model.bin\", \"credential\": \"s3\", \"target\": \"$ODD\"}")
is "${out%%|*}" succeeded "upload to \"$ODD\": signature verified (${out#*|})"
enc=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/~"))' "$ODD")
curl -sf "$S3RVER_URL/models/$enc" -o "$tmp/odd.back" && cmp -s "$work/model.bin" "$tmp/odd.back"
ok $? "the object is stored under its own name (read back as $enc)"
out=$(job upload "{\"path\": \"weights.bin\", \"credential\": \"s3\", \"target\": \"multi/$ODD\"}")
is "${out%%|*}" succeeded "multipart upload to \"multi/$ODD\": every request verified"
out=$(job download "{\"credential\": \"s3\", \"object\": \"multi/$ODD\", \"path\": \"back/odd.bin\"}")
is "${out%%|*}" succeeded "download of \"multi/$ODD\": verified"
cmp -s "$work/weights.bin" "$work/back/odd.bin"
ok $? "download of the odd name: byte-identical"

# wrong secret, region, service: the job fails, naming the credential and the host
check_refusal() {  # check_refusal OUT CREDENTIAL HOSTPORT PATTERN WHAT
  local out=$1 err
  err=$(cut -d'|' -f2 <<<"$out")
  is "${out%%|*}" failed "$5: the job fails"
  grep -qF "credential \"$2\" was refused by $3 (" <<<"$err"
  ok $? "$5: the error names the credential and the host ($err)"
  grep -q "$4" <<<"$err"
  ok $? "$5: the error says why ($4)"
  ! grep -qF -e "$SECRET" -e "$WRONG" <<<"$out"
  ok $? "$5: no secret in the job row"
}
out=$(job upload '{"path": "model.bin", "credential": "s3-wrong-secret", "target": "runs/r2/model.bin"}')
check_refusal "$out" s3-wrong-secret "$HOSTPORT" "SignatureDoesNotMatch" "upload with a wrong secret"
grep -qF "(put /models/runs/r2/model.bin)" <<<"$out"
ok $? "upload with a wrong secret: the request is named"
curl -s -o /dev/null -w '%{http_code}' "$S3RVER_URL/models/runs/r2/model.bin" | grep -qx 404
ok $? "upload with a wrong secret: nothing stored"
out=$(job upload '{"path": "weights.bin", "credential": "s3-wrong-secret", "target": "runs/r2/weights.bin"}')
check_refusal "$out" s3-wrong-secret "$HOSTPORT" "SignatureDoesNotMatch" "multipart upload with a wrong secret"
out=$(job download '{"credential": "s3-wrong-secret", "object": "runs/r1/model.bin", "path": "back/wrong.bin"}')
check_refusal "$out" s3-wrong-secret "$HOSTPORT" "SignatureDoesNotMatch" "download with a wrong secret"
[ ! -e "$work/back/wrong.bin" ] && [ ! -e "$work/back/wrong.bin.part" ]
ok $? "download with a wrong secret: no file, no .part"
out=$(job upload '{"path": "model.bin", "credential": "s3-wrong-region", "target": "runs/r3/model.bin"}')
check_refusal "$out" s3-wrong-region "$HOSTPORT" "AuthorizationHeaderMalformed.*region 'eu-west-1' is wrong" "upload with a wrong region"
out=$(job download '{"credential": "s3-wrong-region", "object": "runs/r1/model.bin", "path": "back/region.bin"}')
check_refusal "$out" s3-wrong-region "$HOSTPORT" "region 'eu-west-1' is wrong" "download with a wrong region"
out=$(job upload '{"path": "model.bin", "credential": "s3-other-service", "target": "runs/r4/model.bin"}')
check_refusal "$out" s3-other-service "$HOSTPORT_OTHER" 'incorrect service "s3"' "upload to an endpoint of another service"
out=$(job download '{"credential": "s3-other-service", "object": "runs/r1/model.bin", "path": "back/service.bin"}')
check_refusal "$out" s3-other-service "$HOSTPORT_OTHER" 'incorrect service "s3"' "download from an endpoint of another service"
grep -q ' 403 SignatureDoesNotMatch$' "$tmp/verify.log" && grep -q ' 400 AuthorizationHeaderMalformed$' "$tmp/verify-other.log"
ok $? "the verifiers' logs show the refusals"

# ---- hashing does not hold the worker up ----
# An S3 upload hashes its whole file before its first request (SigV4 signs the payload hash).
# With a 4 GiB sparse file that takes seconds; meanwhile a small download must run to its end
# and a cancel must stop the upload before any request of it reaches the store.  (Hashed in
# the worker's loop, the download and the cancel waited for the hash, and the upload's first
# request came before the download's.)
as_owner truncate -s 4G "$work/sparse.bin"
big=$(psql -XAtq -U s3user -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('upload', '{\"path\": \"sparse.bin\", \"credential\": \"s3\", \"target\": \"big/sparse.bin\"}'::jsonb, max_attempts => 1)")
poll_sql "SELECT state FROM mlops.jobs WHERE id = $big" running 30
ok $? "a 4 GiB upload is running (hashing its file)"
out=$(job download '{"credential": "s3", "object": "runs/r1/model.bin", "path": "back/during.bin"}')
is "${out%%|*}" succeeded "a small download runs to its end meanwhile"
is "$(psql -XAtq -c "SELECT state FROM mlops.jobs WHERE id = $big")" running "the upload still runs when the download has ended"
! grep -q ' /models/big/sparse\.bin' "$tmp/verify.log"
ok $? "no request of the upload has reached the store yet: it was still hashing"
grep ' /models/big/sparse\.bin' "$tmp/verify.log" | sed 's/^/# /'

psql -XAtq -U s3user -o /dev/null -c "SELECT mlops.cancel_job($big)"
is "$(psql -XAtq -U s3user -c "SELECT mlops.wait_job($big, '30 seconds')")" cancelled "the upload is cancelled while it hashes"
sleep 0.5
! grep -q ' /models/big/sparse\.bin' "$tmp/verify.log"
ok $? "the cancelled upload sent no request at all"
as_owner rm -f "$work/sparse.bin"

# ---- 4. the secrets are nowhere ----
touch "$tmp/stop"
wait "$LISTENER_PID"
LISTENER_PID=
[ "$(grep -c '^mlops_jobs ' "$tmp/notify.out")" -ge 20 ]
ok $? "NOTIFY mlops_jobs payloads were collected ($(grep -c '^mlops_jobs ' "$tmp/notify.out"))"
psql -XAtq -c "SELECT params::text || ' ' || coalesce(result::text, '') || ' ' || coalesce(error, '') FROM mlops.jobs" > "$tmp/rows.out"
[ "$(wc -l < "$tmp/rows.out")" -ge 15 ]
ok $? "job rows read ($(wc -l < "$tmp/rows.out"))"
for s in SECRET WRONG; do
  for f in rows.out notify.out verify.log verify-other.log; do
    ! grep -qF "${!s}" "$tmp/$f"
    ok $? "the $s secret is not in $f"
  done
  ! grep -qF "${!s}" "$CLUSTER_LOG"
  ok $? "the $s secret is not in PostgreSQL's log"
  ! grep -qF "${!s}" "$S3RVER_DIR/s3rver.log"
  ok $? "the $s secret is not in s3rver's log"
done

done_testing
