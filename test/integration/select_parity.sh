#!/usr/bin/env bash
# select_parity.sh — mlops.select_batch's entropy top-k over float4[] columns against numpy and
# against the float8[] path, serial and parallel: test/parity/select_parity.py (seeded;
# MLOPS_PARITY_SEED overrides it) loads three pools (softmax rows, adversarial rows at the
# heap's floor, rows shorter than a vector) and checks ids, order and scores.  One TAP line per check.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

PY=/usr/bin/python3

if ! "$PY" -c 'import numpy' 2>/dev/null; then
  ok 1 "$PY imports numpy (test/install-deps.sh installs python3-numpy)"
  done_testing
fi

cluster_start --db mlops_parity || { echo "not ok 1 - cluster starts"; echo "1..1"; exit 1; }

err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null)
status=$?
ok $status "CREATE EXTENSION pg_mlops CASCADE"
if [ $status -ne 0 ]; then
  echo "# $err"
  done_testing
fi

# The script prints the remaining TAP lines and the plan; its status is the test's.
"$PY" test/parity/select_parity.py --tap-offset "$TAP_N"
