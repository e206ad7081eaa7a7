#!/usr/bin/env bash
# test/bench/active/run.sh — active-learning selection (`make bench`, or BENCH=active):
#   a) entropy top-100 over a pool of 1,000,000 rows x 50 classes (float4[]): mlops.select_batch
#      end to end, reading the column alone (parallel and serial), and the kernel alone on one
#      thread (entropy_kernel.c, on the matrix in memory), against numpy on the same matrix in memory
#      (what modAL runs: entropy of the whole matrix, then argpartition); best of 3 runs each;
#   b) core-set greedy k-centre on 100,000 x 128 embeddings with 1,000 labelled, a batch of 100:
#      mlops.select_batch against numpy's greedy k-centre (one min-distance vector), same picks;
#   c) badge on 20,000 rows of 100 class probabilities and 768-d embeddings, a batch of 100: the
#      time and the backend's peak memory (VmHWM) against the 6.1 GB that materialised gradient
#      embeddings (20,000 x 76,800 float32) would take.
# ACTIVE_PARTS=entropy runs a) only.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
PY=/usr/bin/python3
kdir=$(mktemp -d)
trap 'rm -rf "$kdir"' EXIT
# the kernel alone: built like the extension (-O2, no -march: the screen picks its width at run time)
cc -std=c11 -O2 -Isrc -o "$kdir/entropy_kernel" test/bench/active/entropy_kernel.c src/active/select.c \
  src/active/select_entropy.c src/metrics/uncertainty.c src/datasets/rng.c src/util/errbuf.c -lm \
  || { echo "active bench: entropy_kernel.c does not build" >&2; exit 1; }
export ENTROPY_KERNEL=$kdir/entropy_kernel
cluster_start --db mlops_bench --conf 'work_mem = 256MB' || exit 1
trap 'rm -rf "$kdir"; cluster_stop' EXIT   # cluster_start's trap, and the kernel's folder
err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null) \
  || { echo "active bench: CREATE EXTENSION pg_mlops CASCADE failed: $err" >&2; exit 1; }
"$PY" test/bench/active/bench.py
