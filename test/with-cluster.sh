#!/usr/bin/env bash
# test/with-cluster.sh — run one command against a throwaway cluster, then stop and remove it.
#
#   test/with-cluster.sh [--db NAME] [--preload LIBS] [--conf 'key = value']... -- COMMAND [ARG]...
#
# COMMAND sees PGHOST, PGPORT, PGUSER, PGDATABASE, PGDATA, CLUSTER_DIR and CLUSTER_LOG (see
# test/lib/cluster.sh).  The command's exit status is this script's.  With CLUSTER_SHOW_LOG=1
# the server log is printed when the command fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/cluster.sh"

opts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [options] -- COMMAND [ARG]..." >&2; exit 2; }

cluster_start "${opts[@]}" || exit 1
"$@"
rc=$?
if [ $rc -ne 0 ] && [ "${CLUSTER_SHOW_LOG:-0}" = 1 ]; then
  echo "---- server log ($CLUSTER_LOG) ----" >&2
  tail -n 60 "$CLUSTER_LOG" >&2
fi
exit $rc
