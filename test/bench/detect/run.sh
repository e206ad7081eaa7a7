#!/usr/bin/env bash
# test/bench/detect/run.sh — blob detection (src/detect/blobs.c) against scikit-image 0.19.3 on a
# 2048 x 2048 image, each method with skimage's defaults, one run each, one thread.  No cluster:
# the kernel is timed on its own (blobs_bench.c).  Needs /usr/bin/python3 with skimage.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
exec /usr/bin/python3 "$root/test/bench/detect/blobs_bench.py" "$@"
