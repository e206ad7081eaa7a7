#!/usr/bin/env bash
# test/bench/metrics/run.sh — the metrics benchmark (`make bench`, or BENCH=metrics):
#   a) mlops.accuracy on one row of two 1,000,000-label json / jsonb arrays against the fastest
#      of several plain SQL forms (the ROWS FROM zip, an ORDINALITY join, ...),
#      json_array_length and Python (json.loads + scikit-learn's accuracy_score);
#   b) mlops.f1(mlops.confusion_agg(...)) over 10,000,000 rows against count(*) FILTER, with
#      two parallel workers, and whether its plan is a parallel (partial) aggregate;
#   c) the JSON scanner kernel on its own: ns per label (test/bench/kernels/jsonscan_bench.c).
# Runs on a throwaway cluster (test/lib/cluster.sh); prints a table and ratios (bench.py).
# BENCH_RUNS=N changes the number of runs per median (default 7).  About 1-2 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh

PY=/usr/bin/python3   # Debian's python with python3-sklearn
"$PY" -c 'import sklearn' 2>/dev/null || { echo "metrics bench: $PY cannot import sklearn (test/install-deps.sh)" >&2; exit 1; }

# work_mem generous enough that the plain-SQL join of two 1,000,000-row sets runs in memory.
cluster_start --db mlops_bench --conf 'work_mem = 256MB' --conf 'max_parallel_workers_per_gather = 2' || exit 1
err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null) \
  || { echo "metrics bench: CREATE EXTENSION pg_mlops CASCADE failed: $err" >&2; exit 1; }
# c) the JSON scanner kernel alone (no server): ns per label of a 1,000,000-integer array, the
#    figure the README quotes.
bin=$(mktemp "${TMPDIR:-/tmp}/jsonscan_bench.XXXXXX")
cc -std=c11 -O2 -Isrc -o "$bin" test/bench/kernels/jsonscan_bench.c src/util/jsonscan.c -lm \
  || { echo "metrics bench: building test/bench/kernels/jsonscan_bench.c failed" >&2; rm -f "$bin"; exit 1; }
echo "c) JSON scanner kernel (src/util/jsonscan.c, cc -O2, best and median of ${BENCH_RUNS:-7} runs):"
"$bin" "${BENCH_RUNS:-7}" | sed 's/^/   /'
rm -f "$bin"
echo

"$PY" test/bench/metrics/bench.py
