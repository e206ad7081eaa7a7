#!/usr/bin/env bash
# test/bench/run.sh — what `make bench` runs: every benchmark test/bench/NAME/run.sh, each on its
# own throwaway cluster (it calls test/with-cluster.sh itself), printing its ratios against the
# tool a user would use instead.  BENCH="metrics jobs" picks some.  Benchmarks time things;
# tests never do.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

bash test/install-deps.sh || exit 1
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
make -s >/dev/null && $SUDO make -s install >/dev/null || exit 1

found=0
status=0
for b in test/bench/*/run.sh; do
  [ -f "$b" ] || continue
  name=$(basename "$(dirname "$b")")
  if [ -n "${BENCH:-}" ] && [[ " $BENCH " != *" $name "* ]]; then continue; fi
  found=1
  echo "== benchmark $name"
  bash "$b" || { echo "benchmark $name failed"; status=1; }
done
[ $found = 1 ] || echo "no benchmark matched (test/bench/*/run.sh)"
exit $status
