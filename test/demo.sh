#!/usr/bin/env bash
# test/demo.sh — what `make demo` runs: install what is missing, build, install, start a
# throwaway cluster and print a short tour of every feature (test/demo.sql).  The cluster is
# stopped and removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash test/install-deps.sh
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "== building and installing pg_mlops"
make -s >/dev/null
$SUDO make -s install >/dev/null

echo "== starting a throwaway cluster (shared_preload_libraries = 'pg_cron,pg_mlops')"
exec test/with-cluster.sh --db mlops_demo -- \
  bash -c 'echo "   PGHOST=$PGHOST PGPORT=$PGPORT PGDATABASE=$PGDATABASE"; psql -X -q -f test/demo.sql'
