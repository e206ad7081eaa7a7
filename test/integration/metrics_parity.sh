#!/usr/bin/env bash
# metrics_parity.sh — pg_mlops's metric functions against scikit-learn 1.2 (Debian's
# python3-sklearn): test/parity/metrics_parity.py generates a few hundred random cases from a
# fixed seed (MLOPS_PARITY_SEED overrides it) and compares every one, json and jsonb forms,
# mlops.confusion_agg over text / bigint / boolean / jsonb columns and its parallel plan, within
# 1e-12; untyped literals too.  Where scikit-learn raises, the SQL must raise an error of SQLSTATE
# class 22 (data exception), not any error.  One TAP line per case.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

PY=/usr/bin/python3   # Debian's python, the one python3-sklearn installs into

if ! "$PY" -c 'import sklearn, numpy, scipy' 2>/dev/null; then
  ok 1 "$PY imports sklearn, numpy and scipy (test/install-deps.sh installs python3-sklearn)"
  done_testing
fi

cluster_start --db mlops_parity || { echo "not ok 1 - cluster starts"; echo "1..1"; exit 1; }

err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null)
status=$?
ok $status "CREATE EXTENSION pg_mlops CASCADE"
if [ $status -ne 0 ]; then
  echo "# $err"
  done_testing
fi

# The script prints the remaining TAP lines and the plan; its status is the test's.
"$PY" test/parity/metrics_parity.py --tap-offset "$TAP_N"
