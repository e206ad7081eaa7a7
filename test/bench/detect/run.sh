#!/usr/bin/env bash
# test/bench/detect/run.sh — the detect kernels against the tools a user would use otherwise, one
# thread, no cluster (the kernels are timed on their own):
# - blob detection (src/detect/blobs.c) against scikit-image 0.19.3 on a 2048 x 2048 image, each
#   method with skimage's defaults, one run each (blobs_bench.py);
# - contours mode opencv (src/detect/contours_opencv.c) against cv2.findContours(RETR_CCOMP,
#   CHAIN_APPROX_SIMPLE) on a 4096 x 4096 mask with ~940 blobs (contours_opencv_bench.py).
# Needs /usr/bin/python3 with skimage and cv2.  Arguments go to blobs_bench.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
/usr/bin/python3 "$root/test/bench/detect/blobs_bench.py" "$@"
/usr/bin/python3 "$root/test/bench/detect/contours_opencv_bench.py"
