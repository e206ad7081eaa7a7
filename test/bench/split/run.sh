#!/usr/bin/env bash
# test/bench/split/run.sh — the splitting benchmark (`make bench`, or BENCH=split): on a table of
# 1,000,000 images in 50 classes (a Zipf-like mix) and 100,000 specimen groups,
#   a) mlops.split_table stratified_group (20% test) against scikit-learn 1.2's
#      StratifiedGroupKFold(5) (one fold taken as the test side) and GroupShuffleSplit, with the
#      class-share error and groups on both sides of each;
#   b) method sklearn against train_test_split(stratify=y) itself, and with folds and groups
#      against StratifiedGroupKFold(5) itself: the time and whether the index sets are identical;
#   c) iterative (multilabel) on 100,000 items x 100 labels.
# Times are medians of BENCH_RUNS runs (default 3; StratifiedGroupKFold once: it takes ~20 s).
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh

PY=/usr/bin/python3
"$PY" -c 'import sklearn' 2>/dev/null || { echo "split bench: $PY cannot import sklearn (test/install-deps.sh)" >&2; exit 1; }
cluster_start --db mlops_bench --conf 'work_mem = 256MB' || exit 1
err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null) \
  || { echo "split bench: CREATE EXTENSION pg_mlops CASCADE failed: $err" >&2; exit 1; }
"$PY" test/bench/split/bench.py
