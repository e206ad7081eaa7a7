# test/lib/s3rver.sh — a real S3-compatible server (s3rver 3, Node.js) on 127.0.0.1 for the
# upload tests.  Needs node and npm; installs s3rver once into a cache folder of the repository
# (test/.cache/s3rver, not tracked) and nothing anywhere else.
#
#   s3rver_install         npm install --prefix test/.cache/s3rver s3rver@3 unless it is there;
#                          non-zero with a message when npm cannot get it (no registry)
#   s3rver_start BUCKET    start it on a free port with a fresh data folder and that bucket;
#                          sets S3RVER_URL, S3RVER_DIR (data), S3RVER_PID; credentials S3RVER/S3RVER
#   s3rver_stop            stop it by PID and remove its data folder

S3RVER_CACHE=${S3RVER_CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/s3rver}
S3RVER_BIN=$S3RVER_CACHE/node_modules/.bin/s3rver
S3RVER_ACCESS_KEY=S3RVER
S3RVER_SECRET_KEY=S3RVER
S3RVER_PID=
S3RVER_DIR=
# s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy
# provider: without it every listing that needs a second page answers 500
S3RVER_NODE_FLAGS=$(node --openssl-legacy-provider -e 0 >/dev/null 2>&1 && echo --openssl-legacy-provider)

s3rver_install() {
  if [ -x "$S3RVER_BIN" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "s3rver_install: node and npm are needed (test/install-deps.sh)" >&2
    return 1
  fi
  mkdir -p "$S3RVER_CACHE" || return 1
  if ! npm install --prefix "$S3RVER_CACHE" --no-audit --no-fund --loglevel=error s3rver@3 >"$S3RVER_CACHE/npm.log" 2>&1 \
     || [ ! -x "$S3RVER_BIN" ]; then
    echo "s3rver_install: npm could not install s3rver@3 (is the npm registry reachable?); its output:" >&2
    sed 's/^/  /' "$S3RVER_CACHE/npm.log" >&2
    return 1
  fi
}

s3rver_start() {
  local bucket=${1:-test} port attempt
  s3rver_install || return 1
  S3RVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_s3rver.XXXXXX") || return 1
  for attempt in 1 2 3 4 5; do
    port=$(_s3rver_free_port) || return 1
    node $S3RVER_NODE_FLAGS "$S3RVER_CACHE/node_modules/s3rver/bin/s3rver.js" -d "$S3RVER_DIR/data" -a 127.0.0.1 -p "$port" \
      --configure-bucket "$bucket" >"$S3RVER_DIR/s3rver.log" 2>&1 &
    S3RVER_PID=$!
    for _ in $(seq 1 200); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        S3RVER_URL="http://127.0.0.1:$port"
        export S3RVER_URL S3RVER_DIR
        return 0
      fi
      kill -0 "$S3RVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill "$S3RVER_PID" 2>/dev/null
    wait "$S3RVER_PID" 2>/dev/null
    S3RVER_PID=
  done
  echo "s3rver_start: s3rver did not start; its log:" >&2
  cat "$S3RVER_DIR/s3rver.log" >&2
  return 1
}

s3rver_stop() {
  if [ -n "$S3RVER_PID" ]; then
    kill "$S3RVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$S3RVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$S3RVER_PID" 2>/dev/null
    wait "$S3RVER_PID" 2>/dev/null
    S3RVER_PID=
  fi
  if [ -n "$S3RVER_DIR" ]; then
    rm -rf "$S3RVER_DIR"
    S3RVER_DIR=
  fi
}

# _s3rver_free_port: a TCP port on 127.0.0.1 nothing listens on (cluster.sh's when sourced).
_s3rver_free_port() {
  if declare -F _cluster_free_port >/dev/null; then
    _cluster_free_port
    return
  fi
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}
