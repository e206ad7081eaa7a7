#!/usr/bin/env bash
# test/integration/upload_servers.sh — uploads through the transfer kernel (src/jobs/transfer*.c)
# against real servers: nginx WebDAV with basic auth, and s3rver (an S3-compatible server) for
# SigV4 single PUTs, multipart uploads and the abort of a cancelled multipart upload, through
# test/lib/s3verify.py (which checks every signature with botocore before s3rver sees the
# request).  Drives them with test/upload_probe, compiled here like the unit tests.  No cluster.
# Installs nothing but s3rver, into test/.cache/s3rver; when npm cannot get it the test fails
# and says so.  The WebDAV password and the S3 secret are long, distinct random values, looked
# for in every probe output and every server log.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=../lib/tap.sh
source test/lib/tap.sh
# shellcheck source=../lib/cluster.sh
source test/lib/cluster.sh
# shellcheck source=../lib/nginx.sh
source test/lib/nginx.sh
# shellcheck source=../lib/s3rver.sh
source test/lib/s3rver.sh
# shellcheck source=../lib/s3verify.sh
source test/lib/s3verify.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_upload.XXXXXX")
SERVER_PIDS=()
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  s3verify_stop
  s3rver_stop
  [ -n "${NGINX_DIR:-}" ] && rm -rf "$NGINX_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT

PROBE=$WORK/upload_probe
cc -std=c11 -O1 -g -Wall -Wextra -Isrc -o "$PROBE" test/upload_probe.c src/jobs/transfer*.c src/jobs/sigv4.c src/jobs/netpolicy.c \
  src/util/sha256.c src/util/md5.c src/util/errbuf.c $(pkg-config --libs libcurl) -lm
ok $? "upload_probe compiled"

# probe OUT ARGS...: run the probe, its key=value output in OUT; returns its exit status.
probe() {
  local out=$1
  shift
  "$PROBE" "$@" >"$out" 2>&1
}
field() { sed -n "s/^$1=//p" "$2"; }

head -c 300001 /dev/urandom >"$WORK/small.bin"
head -c $((12 * 1024 * 1024 + 12345)) /dev/urandom >"$WORK/big.bin"
SMALL_SHA=$(sha256sum "$WORK/small.bin" | cut -d' ' -f1)
BIG_SHA=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)

# ---- nginx WebDAV with basic auth ----
DAV_ROOT=$WORK/www
mkdir -p "$DAV_ROOT/dav"
chmod 755 "$WORK" "$DAV_ROOT" "$DAV_ROOT/dav"
DAV_PASSWORD="dav-pw-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
printf 'alice:%s\n' "$(openssl passwd -apr1 "$DAV_PASSWORD")" >"$WORK/htpasswd"
chmod 644 "$WORK/htpasswd"
nginx_start "$DAV_ROOT" "location /dav/ {
      dav_methods PUT DELETE MKCOL;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path off;
      client_max_body_size 0;
      auth_basic \"dav\";
      auth_basic_user_file $WORK/htpasswd;
    }"
ok $? "nginx with WebDAV started"

UPLOAD_PASSWORD=$DAV_PASSWORD probe "$WORK/dav1.out" webdav "$NGINX_URL/dav/a/b/model.bin" "$WORK/small.bin" \
  --user alice --mkcol "$NGINX_URL/dav/a/" --mkcol "$NGINX_URL/dav/a/b/" --sha256
ok $? "webdav upload into nested collections DONE"
is "$(field state "$WORK/dav1.out")" DONE "webdav: state DONE"
is "$(field sha256 "$WORK/dav1.out")" "$SMALL_SHA" "webdav: sha256 of the file (--sha256)"
is "$(field bytes "$WORK/dav1.out")" 300001 "webdav: bytes"
cmp -s "$WORK/small.bin" "$DAV_ROOT/dav/a/b/model.bin"
ok $? "webdav: the file under nginx's root is byte-identical"
grep -q "$DAV_PASSWORD" "$WORK/dav1.out"
ok $((! $?)) "webdav: no password in the probe's output"

# again: the collections exist (405) and the file is replaced
UPLOAD_PASSWORD=$DAV_PASSWORD probe "$WORK/dav2.out" webdav "$NGINX_URL/dav/a/b/model.bin" "$WORK/big.bin" \
  --user alice --mkcol "$NGINX_URL/dav/a/" --mkcol "$NGINX_URL/dav/a/b/"
ok $? "webdav upload again over existing collections DONE"
cmp -s "$WORK/big.bin" "$DAV_ROOT/dav/a/b/model.bin"
ok $? "webdav: the replaced file is byte-identical"
is "$(field sha256 "$WORK/dav2.out")" "" "webdav: no sha256 unless asked"

UPLOAD_PASSWORD="wrong-$DAV_PASSWORD" probe "$WORK/dav3.out" webdav "$NGINX_URL/dav/c/d/x.bin" "$WORK/small.bin" \
  --user alice --mkcol "$NGINX_URL/dav/c/" --mkcol "$NGINX_URL/dav/c/d/" --credential dav-alice
is "$?" 1 "webdav wrong password: FAILED"
is "$(field error "$WORK/dav3.out")" "credential \"dav-alice\" was refused by ${NGINX_URL#http://} (mkcol /dav/c/): http status 401" \
  "webdav wrong password: the credential, the host and the request are named"
is "$(field retryable "$WORK/dav3.out")" 0 "webdav wrong password: not retryable"
[ ! -e "$DAV_ROOT/dav/c" ]
ok $? "webdav wrong password: nothing created"
grep -q "$DAV_PASSWORD" "$WORK/dav3.out"
ok $((! $?)) "webdav wrong password: no password in the output"

# without MKCOL, a missing folder fails the put (nginx 1.22 answers 500 with create_full_put_path off)
UPLOAD_PASSWORD=$DAV_PASSWORD probe "$WORK/dav4.out" webdav "$NGINX_URL/dav/missing/x.bin" "$WORK/small.bin" --user alice
[ $? = 1 ]
ok $? "webdav put into a missing collection (no MKCOL) FAILED"
case "$(field error "$WORK/dav4.out")" in "put failed: http status "*) r=0 ;; *) r=1 ;; esac
ok $r "webdav put into a missing collection: the put step and its status are named"

# plain HTTP PUT with basic auth to the same server
UPLOAD_PASSWORD=$DAV_PASSWORD probe "$WORK/http1.out" http "$NGINX_URL/dav/plain.bin" "$WORK/small.bin" --user alice
ok $? "http put with basic auth DONE"
cmp -s "$WORK/small.bin" "$DAV_ROOT/dav/plain.bin"
ok $? "http put: byte-identical"

# ---- s3rver ----
S3_ACCESS=AKIDUPLOADPROBE01
S3_SECRET="s3-secret-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
printf '%s %s\n' "$S3_ACCESS" "$S3_SECRET" > "$WORK/s3keys"
if s3rver_start test && s3verify_start "$WORK/s3keys" "$WORK/s3verify.log"; then
  ok 0 "s3rver started, behind a SigV4-verifying endpoint"
  S3_ARGS=(--region us-east-1 --access "$S3_ACCESS")
  S3_URL=$S3VERIFY_URL
  UPLOAD_S3_SECRET=$S3_SECRET probe "$WORK/s3a.out" s3 "$S3_URL/test/models/small.bin" "$WORK/small.bin" \
    "${S3_ARGS[@]}" --part-size $((5 * 1024 * 1024))
  ok $? "s3 single put DONE"
  is "$(field sha256 "$WORK/s3a.out")" "$SMALL_SHA" "s3 single put: sha256"
  is "$(field etag "$WORK/s3a.out")" "$(md5sum "$WORK/small.bin" | cut -d' ' -f1)" "s3 single put: etag is the md5"
  curl -sf "$S3RVER_URL/test/models/small.bin" -o "$WORK/small.back"
  cmp -s "$WORK/small.bin" "$WORK/small.back"
  ok $? "s3 single put: the object is byte-identical"

  UPLOAD_S3_SECRET=$S3_SECRET probe "$WORK/s3b.out" s3 "$S3_URL/test/models/big.bin" "$WORK/big.bin" \
    "${S3_ARGS[@]}" --part-size $((5 * 1024 * 1024))
  ok $? "s3 multipart upload (3 parts of 5 MiB) DONE"
  is "$(field sha256 "$WORK/s3b.out")" "$BIG_SHA" "s3 multipart: sha256"
  is "$(field bytes "$WORK/s3b.out")" $((12 * 1024 * 1024 + 12345)) "s3 multipart: bytes"
  grep -c 'partNumber=' "$S3RVER_DIR/s3rver.log" | grep -qx 3
  ok $? "s3 multipart: three parts sent"
  curl -sf "$S3RVER_URL/test/models/big.bin" -o "$WORK/big.back"
  cmp -s "$WORK/big.bin" "$WORK/big.back"
  ok $? "s3 multipart: the object is byte-identical"

  UPLOAD_S3_SECRET=$S3_SECRET probe "$WORK/s3c.out" s3 "$S3_URL/no-such-bucket/x.bin" "$WORK/small.bin" "${S3_ARGS[@]}"
  is "$(field error "$WORK/s3c.out")" "put failed: http status 404 (NoSuchBucket: The specified bucket does not exist)" \
    "s3 put into a missing bucket: 404 with S3's code and message"

  # a wrong secret: refused by the verifier, the credential and host named
  UPLOAD_S3_SECRET="wrong-$S3_SECRET" probe "$WORK/s3e.out" s3 "$S3_URL/test/models/wrong.bin" "$WORK/small.bin" \
    "${S3_ARGS[@]}" --credential s3-probe
  is "$?" 1 "s3 put with a wrong secret: FAILED"
  case "$(field error "$WORK/s3e.out")" in
    "credential \"s3-probe\" was refused by ${S3_URL#http://} (put /test/models/wrong.bin): http status 403, SignatureDoesNotMatch: "*) r=0 ;;
    *) r=1 ;;
  esac
  ok $r "s3 put with a wrong secret: $(field error "$WORK/s3e.out")"

  # a multipart upload (13 parts of 5 MiB) cancelled while part 2 is sent must be aborted
  # (DELETE ?uploadId=) before it is reported CANCELLED.  s3rver 3 implements neither
  # ListMultipartUploads (501) nor AbortMultipartUpload (405 MethodNotAllowed), so what is
  # checked is that the abort reached it: after the cancel, one more request carried the
  # upload's id without a part number, and it was no complete (the object does not exist).
  # With a server that lists uploads, the listing must not hold the upload any more.
  head -c $((64 * 1024 * 1024)) /dev/urandom >"$WORK/huge.bin"
  UPLOAD_S3_SECRET=$S3_SECRET probe "$WORK/s3d.out" s3 "$S3_URL/test/models/cancelled.bin" "$WORK/huge.bin" \
    "${S3_ARGS[@]}" --part-size $((5 * 1024 * 1024)) --cancel-after-bytes $((6 * 1024 * 1024))
  is "$?" 1 "s3 multipart cancelled mid-way: the probe ends not DONE"
  is "$(field state "$WORK/s3d.out")" CANCELLED "s3 multipart cancelled mid-way: CANCELLED"
  sent=$(field bytes "$WORK/s3d.out")
  [ "${sent:-0}" -ge $((5 * 1024 * 1024)) ] && [ "${sent:-0}" -lt $((64 * 1024 * 1024)) ]
  ok $? "s3 multipart cancelled mid-way: some parts stored, not all ($sent bytes)"
  [ "$(field cancel_ms "$WORK/s3d.out")" -lt 6000 ] 2>/dev/null
  ok $? "s3 multipart cancelled mid-way: reported $(field cancel_ms "$WORK/s3d.out") ms after the cancel"
  log=$(sed 's/\x1b\[[0-9;]*m//g' "$S3RVER_DIR/s3rver.log")
  upload_id=$(grep -o 'cancelled\.bin?partNumber=1&uploadId=[0-9a-zA-Z._-]*' <<<"$log" | head -n 1 | sed 's/.*uploadId=//')
  [ -n "$upload_id" ]
  ok $? "s3 multipart cancelled mid-way: its first part was stored (upload id ${upload_id:-none})"
  n_other=$(grep -c "cancelled\.bin?uploadId=$upload_id " <<<"$log")
  is "$n_other" 1 "s3 multipart cancelled mid-way: the abort (DELETE ?uploadId=) reached the server"
  curl -s -o /dev/null -w '%{http_code}' "$S3RVER_URL/test/models/cancelled.bin" | grep -qx 404
  ok $? "s3 multipart cancelled mid-way: no object was completed"
  case "$(field error "$WORK/s3d.out")" in
    "") r=0 ;;                                                          # the abort was accepted
    "s3 abort multipart upload failed: http status 405") r=0 ;;         # s3rver 3: not implemented
    *) r=1 ;;
  esac
  ok $r "s3 multipart cancelled mid-way: the abort was answered ($(field error "$WORK/s3d.out"))"
  listing=$(curl -s -w '\n%{http_code}' "$S3RVER_URL/test?uploads")
  if [ "${listing##*$'\n'}" = 200 ]; then
    grep -q "<UploadId>$upload_id</UploadId>" <<<"$listing"
    ok $((! $?)) "s3 multipart cancelled mid-way: ListMultipartUploads no longer shows the upload"
  else
    echo "# this server does not list multipart uploads (http ${listing##*$'\n'}): the abort request is the observable"
  fi
  grep -q ' 200 forwarded$' "$WORK/s3verify.log" && grep -q ' 403 SignatureDoesNotMatch$' "$WORK/s3verify.log"
  ok $? "the verifier passed the right signatures and refused the wrong one"
else
  ok 1 "s3rver and the verifier started (npm install of s3rver@3 failed, or they did not start: see above)"
fi

# no secret anywhere: each one looked for in every probe output and every server log
for s in DAV_PASSWORD S3_SECRET; do
  for f in "$WORK"/*.out "$WORK/s3verify.log" "${S3RVER_DIR:-/nonexistent}/s3rver.log" "$NGINX_DIR"/logs/*.log; do
    [ -e "$f" ] || continue
    ! grep -qF "${!s}" "$f"
    ok $? "$s is not in ${f##*/}"
  done
done

done_testing
