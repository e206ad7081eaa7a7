#!/usr/bin/env bash
# test/bench/active/run.sh — active-learning selection (`make bench`, or BENCH=active):
#   a) entropy top-100 over a pool of 1,000,000 rows x 50 classes (float4[]): mlops.select_batch
#      against numpy (what modAL runs: entropy of the whole matrix, then argpartition);
#   b) core-set greedy k-centre on 100,000 x 128 embeddings with 1,000 labelled, a batch of 100:
#      mlops.select_batch against numpy's greedy k-centre (one min-distance vector), same picks;
#   c) badge on 20,000 rows of 100 class probabilities and 768-d embeddings, a batch of 100: the
#      time and the backend's peak memory (VmHWM) against the 6.1 GB that materialised gradient
#      embeddings (20,000 x 76,800 float32) would take.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
PY=/usr/bin/python3
cluster_start --db mlops_bench --conf 'work_mem = 256MB' || exit 1
err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null) \
  || { echo "active bench: CREATE EXTENSION pg_mlops CASCADE failed: $err" >&2; exit 1; }
"$PY" test/bench/active/bench.py
