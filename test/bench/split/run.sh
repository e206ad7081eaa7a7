#!/usr/bin/env bash
# test/bench/split/run.sh — the splitting benchmark (`make bench`, or BENCH=split): on a table of
# 1,000,000 images in 50 classes (a Zipf-like mix) and 100,000 specimen groups,
#   a) mlops.split_table stratified_group (20% test) against scikit-learn 1.2's
#      StratifiedGroupKFold(5) (one fold taken as the test side) and GroupShuffleSplit, with the
#      class-share error and groups on both sides of each;
#   b) method sklearn against train_test_split(stratify=y) itself, and with folds and groups
#      against StratifiedGroupKFold(5) itself: the time and whether the index sets are identical;
#      three lines for the first, each saying what it measures: kernel to kernel (our C kernel,
#      test/bench/kernels/split_bench.c built here with cc -O2 as the extension is: label values
#      in memory interned and renumbered as the glue does, split, index arrays built; against
#      train_test_split on the same int64 labels as a numpy array; no I/O on either side), end to end in SQL (split_table and split_table_ids reading the table, against
#      train_test_split on arrays already in memory), and end to end from a client (psycopg2
#      fetching the id and label columns, then train_test_split);
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
bin=$(mktemp "${TMPDIR:-/tmp}/split_bench.XXXXXX")
trap 'rm -f "$bin"; cluster_stop' EXIT
cc -std=c11 -O2 -Isrc -o "$bin" test/bench/kernels/split_bench.c src/datasets/split.c src/datasets/split_group.c \
  src/datasets/split_iterative.c src/datasets/split_sklearn.c src/datasets/split_sklearn_group.c \
  src/datasets/rng.c src/metrics/labels.c src/util/errbuf.c -lm \
  || { echo "split bench: building test/bench/kernels/split_bench.c failed" >&2; exit 1; }
SPLIT_BENCH_BIN="$bin" "$PY" test/bench/split/bench.py
