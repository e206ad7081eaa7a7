# test/lib/s3verify.sh — S3 endpoints that verify SigV4 (test/lib/s3verify.py, Debian's
# /usr/bin/python3 with python3-botocore) in front of an s3rver started with s3rver_start
# (test/lib/s3rver.sh).  Each listens on 127.0.0.1 on a free port; all are stopped by PID.
#
#   s3verify_start KEYS_FILE LOG [--region R] [--service S]
#                          start one in front of $S3RVER_URL; KEYS_FILE holds "ACCESS SECRET"
#                          lines; sets S3VERIFY_URL (and S3VERIFY_PIDS gets its PID)
#   s3verify_stop          stop every one started here

S3VERIFY_PY=${S3VERIFY_PY:-/usr/bin/python3}
S3VERIFY_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S3VERIFY_PIDS=()

s3verify_start() {
  local keys=$1 log=$2 portfile pid port
  shift 2
  [ -n "${S3RVER_URL:-}" ] || { echo "s3verify_start: start s3rver first (s3rver_start)" >&2; return 1; }
  if ! "$S3VERIFY_PY" -c 'import botocore.auth' 2>/dev/null; then
    echo "s3verify_start: $S3VERIFY_PY cannot import botocore (Debian package python3-botocore, test/install-deps.sh)" >&2
    return 1
  fi
  portfile=$(mktemp -u "${TMPDIR:-/tmp}/pg_mlops_s3verify.XXXXXX")
  "$S3VERIFY_PY" "$S3VERIFY_LIB/s3verify.py" --upstream "$S3RVER_URL" --keys "$keys" \
    --port-file "$portfile" --log "$log" "$@" 2>>"$log" &
  pid=$!
  S3VERIFY_PIDS+=("$pid")
  for _ in $(seq 1 200); do
    if [ -s "$portfile" ]; then
      port=$(cat "$portfile")
      rm -f "$portfile"
      S3VERIFY_URL="http://127.0.0.1:$port"
      export S3VERIFY_URL
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  rm -f "$portfile"
  echo "s3verify_start: the verifier did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

s3verify_stop() {
  local pid
  for pid in "${S3VERIFY_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${S3VERIFY_PIDS[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  S3VERIFY_PIDS=()
}
