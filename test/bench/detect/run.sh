#!/usr/bin/env bash
# test/bench/detect/run.sh — the detect kernels against the tools a user would use otherwise, one
# thread; the first two time the kernels on their own (no cluster):
# - blob detection (src/detect/blobs.c) against scikit-image 0.19.3 on a 2048 x 2048 image, each
#   method with skimage's defaults, one run each (blobs_bench.py);
# - contours mode opencv (src/detect/contours_opencv.c) against cv2.findContours(RETR_CCOMP,
#   CHAIN_APPROX_SIMPLE) on a 4096 x 4096 mask with ~940 blobs (contours_opencv_bench.py);
# - contours mode cells (src/detect/contours.c, rings built) against GDAL's Polygonize into an
#   in-memory layer on a 4096 x 4096 mask with ~940 blobs (test/bench/kernels/contours_gdal.py);
# - merge iterative_mean (src/detect/merge.c) against the original's merge_similar_sites, ported
#   in test/parity/merge_parity.py, on 100,000 clustered points (its --bench);
# - merge_detections single_link against ST_ClusterDBSCAN(minpoints 1) on 100,000 points, in SQL on
#   a cluster of its own (merge_bench.sh).
# Needs /usr/bin/python3 with skimage and cv2.  Arguments go to blobs_bench.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
/usr/bin/python3 "$root/test/bench/detect/blobs_bench.py" "$@"
/usr/bin/python3 "$root/test/bench/detect/contours_opencv_bench.py"
echo "# cells contours against GDAL Polygonize (4096 x 4096, ~940 blobs)"
/usr/bin/python3 "$root/test/bench/kernels/contours_gdal.py"
echo "# iterative_mean against the original's merge_similar_sites (100,000 clustered points)"
/usr/bin/python3 "$root/test/parity/merge_parity.py" --bench 100000 | grep '^#'
bash "$root/test/bench/detect/merge_bench.sh"
