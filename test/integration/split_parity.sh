#!/usr/bin/env bash
# split_parity.sh — the splitting kernel (src/datasets/split*.c) against scikit-learn 1.2, with
# no cluster: test/parity/split_parity.py builds test/parity/split_driver.c with the kernel,
# compares SPLIT_SKLEARN's index sets with train_test_split, ShuffleSplit,
# StratifiedShuffleSplit, GroupShuffleSplit, KFold and StratifiedKFold computed live, and
# checks the other methods' guarantees.  It prints the TAP itself.
set -uo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 test/parity/split_parity.py
