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

# The machine every figure below belongs to, printed first so a published number can name it.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cpu="$cpu, family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1) model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)"
simd=$(grep -o -w -E 'avx512f|avx512_vnni|avx2|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
pgv=$("$(${PG_CONFIG:-pg_config} --bindir)/postgres" --version 2>/dev/null)
echo "== machine: ${cpu:-unknown CPU} (${simd% }), $(nproc) CPUs, $mem, ${os:-unknown OS}, kernel $(uname -r), $pgv"
echo "== load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

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
