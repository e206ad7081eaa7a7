#!/usr/bin/env bash
# install_existing.sh — the README's "install into an existing PostgreSQL" steps, on a cluster
# that starts without pg_mlops: preload it with ALTER SYSTEM, restart, CREATE EXTENSION CASCADE.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --preload pg_cron || exit 1
control_version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_mlops.control)

is "$(psql -XAtc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'")" 0 \
  "no worker before pg_mlops is preloaded"

psql -XAtqc "ALTER SYSTEM SET shared_preload_libraries = 'pg_cron', 'pg_mlops'"
cluster_restart
ok $? "server restarts with pg_mlops preloaded"

psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_mlops CASCADE" 2>/dev/null
ok $? "CREATE EXTENSION pg_mlops CASCADE"
is "$(psql -XAtc 'SELECT mlops.version()')" "$control_version" "mlops.version() is the control file's version"
is "$(psql -XAtc "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlops'")" "$control_version" \
  "installed version is the control file's version"
poll_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'" 1 30
ok $? "the worker runs after the restart"
grep -q 'pg_mlops worker 1 started in database "postgres"' "$CLUSTER_LOG"
ok $? "the server log says where the worker started"

done_testing
