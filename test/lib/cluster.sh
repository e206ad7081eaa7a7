# test/lib/cluster.sh — the throwaway-cluster harness, sourced by every test, the demo and every
# benchmark (through test/with-cluster.sh or directly).
#
#   cluster_start [--db NAME] [--preload LIBS] [--durable] [--conf 'key = value']...
#       initdb (trust auth, superuser "postgres") into a fresh temporary folder, as the
#       "postgres" OS user when run as root; listen on 127.0.0.1 on a free port; socket in the
#       temporary folder; shared_preload_libraries = LIBS (default 'pg_cron,pg_mlops');
#       cron.database_name and mlops.database_name = NAME (default postgres), created before
#       the first start so that no worker ever finds it missing.  fsync, synchronous_commit and
#       full_page_writes are off for the tests' speed, unless --durable (what every benchmark
#       of the job queue uses: its figures are of commits that survive a crash).  Exports
#       PGHOST, PGPORT, PGUSER, PGDATABASE, PGDATA, CLUSTER_DIR, CLUSTER_LOG and CLUSTER_OWNER.
#   cluster_restart            restart with the same settings (pg_ctl restart)
#   cluster_stop               stop it (fast, then kill -9 of the postmaster's PID) and remove it;
#                              CLUSTER_KEEP=1 keeps the folder for a look afterwards
#   as_owner CMD...            run CMD as the cluster's OS owner (postgres when root)
#   static_http_start DIR      serve DIR over HTTP on 127.0.0.1 (Debian's python3 http.server);
#                              sets STATIC_HTTP_URL; the server is stopped by PID with the cluster
#
# cluster_start installs an EXIT trap that calls cluster_stop, so a cluster never outlives the
# shell that made it.

PG_BINDIR=${PG_BINDIR:-$( (/usr/lib/postgresql/15/bin/pg_config --bindir || pg_config --bindir) 2>/dev/null)}

if [ "$(id -u)" -eq 0 ]; then
  CLUSTER_OWNER=postgres
else
  CLUSTER_OWNER=$(id -un)
fi
export CLUSTER_OWNER

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- env PATH="$PATH" "$@"
  else
    "$@"
  fi
}

# _cluster_free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
_cluster_free_port() {
  local port i
  for i in $(seq 1 100); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

cluster_start() {
  local db=postgres preload='pg_cron,pg_mlops' extra=() attempt durable=off
  while [ $# -gt 0 ]; do
    case "$1" in
      --db) db=$2; shift 2 ;;
      --preload) preload=$2; shift 2 ;;
      --durable) durable=on; shift ;;
      --conf) extra+=("$2"); shift 2 ;;
      *) echo "cluster_start: unknown option $1" >&2; return 2 ;;
    esac
  done
  [ -x "$PG_BINDIR/initdb" ] || { echo "cluster_start: no initdb in '$PG_BINDIR' (run test/install-deps.sh)" >&2; return 1; }

  CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_cluster.XXXXXX")
  chmod 755 "$CLUSTER_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$CLUSTER_OWNER" "$CLUSTER_DIR"
  export CLUSTER_DIR PGDATA="$CLUSTER_DIR/data" CLUSTER_LOG="$CLUSTER_DIR/postgresql.log"
  trap cluster_stop EXIT
  trap 'exit 130' INT TERM

  as_owner "$PG_BINDIR/initdb" -D "$PGDATA" -U postgres --auth=trust --no-sync \
    --encoding=UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 \
    || { cat "$CLUSTER_DIR/initdb.log" >&2; return 1; }

  # The database the workers and pg_cron connect to exists before the first start.
  if [ "$db" != postgres ] && [ "$db" != template1 ]; then
    echo "CREATE DATABASE \"$db\"" | as_owner "$PG_BINDIR/postgres" --single -D "$PGDATA" -j template1 \
      >"$CLUSTER_DIR/createdb.log" 2>&1 || { cat "$CLUSTER_DIR/createdb.log" >&2; return 1; }
  fi

  {
    echo "# written by test/lib/cluster.sh"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$CLUSTER_DIR'"
    echo "shared_preload_libraries = '$preload'"
    echo "cron.database_name = '$db'"
    echo "cron.host = '$CLUSTER_DIR'"
    echo "mlops.database_name = '$db'"
    echo "max_worker_processes = 32"
    echo "fsync = $durable"
    echo "synchronous_commit = $durable"
    echo "full_page_writes = $durable"
    echo "log_line_prefix = '%m [%p] %q%a '"
    echo "log_min_messages = log"
    for line in "${extra[@]}"; do echo "$line"; done
  } | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null

  for attempt in 1 2 3 4 5; do
    PGPORT=$(_cluster_free_port) || { echo "cluster_start: no free port" >&2; return 1; }
    as_owner sed -i "/^port = /d" "$PGDATA/postgresql.conf"
    echo "port = $PGPORT" | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null
    if as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_LOG" -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    if ! grep -q 'could not bind\|could not create any TCP/IP sockets' "$CLUSTER_LOG" 2>/dev/null || [ "$attempt" = 5 ]; then
      echo "cluster_start: the server did not start; its log:" >&2
      tail -n 30 "$CLUSTER_LOG" >&2
      return 1
    fi
  done

  export PGHOST="$CLUSTER_DIR" PGPORT PGUSER=postgres PGDATABASE="$db"
  export PATH="$PG_BINDIR:$PATH"
}

SERVER_PIDS=()
SERVER_DIRS=()   # removed with the cluster (servers' configuration and logs)

static_http_start() {
  local dir=$1 log port
  log=$(mktemp "${TMPDIR:-/tmp}/pg_mlops_http.XXXXXX")
  /usr/bin/python3 -m http.server --bind 127.0.0.1 0 --directory "$dir" >"$log" 2>&1 &
  SERVER_PIDS+=($!)
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  rm -f "$log"
  [ -n "$port" ] || { echo "static_http_start: the server did not start" >&2; return 1; }
  STATIC_HTTP_URL="http://127.0.0.1:$port"
  export STATIC_HTTP_URL
}

cluster_restart() {
  as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_LOG" -w -t 60 -m fast restart >/dev/null
}

cluster_stop() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  done
  SERVER_PIDS=()
  [ "${CLUSTER_KEEP:-0}" = 1 ] || rm -rf "${SERVER_DIRS[@]}"
  SERVER_DIRS=()
SERVER_DIRS=()   # removed with the cluster (servers' configuration and logs)
  [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ] || return 0
  if [ -f "$PGDATA/postmaster.pid" ]; then
    pid=$(head -n 1 "$PGDATA/postmaster.pid")
    if ! as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
      kill -9 "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  if [ "${CLUSTER_KEEP:-0}" = 1 ]; then
    echo "cluster kept in $CLUSTER_DIR" >&2
  else
    rm -rf "$CLUSTER_DIR"
  fi
  CLUSTER_DIR=
}
