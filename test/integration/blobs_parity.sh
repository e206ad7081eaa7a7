#!/usr/bin/env bash
# blobs_parity.sh — blob detection against scikit-image, with no cluster:
# test/parity/blobs_parity.py builds test/parity/blobs_driver.c with src/detect/blobs*.c and
# compares blob_doh, blob_log and blob_dog with scikit-image 0.19.3 computed live on random
# images and options (whole and tiled).  It prints the TAP itself.
set -uo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 test/parity/blobs_parity.py
