#!/usr/bin/env bash
# detect_parity.sh — the detect kernels (src/detect) against their references, as one TAP
# stream: test/parity/contours_parity.py (box blur against cv2.blur; cells mode against
# skimage.measure.label and regionprops; every component's POLYGON / MULTIPOLYGON ST_IsValid in
# PostGIS with ST_Area == cells) and test/parity/merge_parity.py (merge_similar_sites from
# earthrise-media/plastics, ported; single link and DBSCAN against sklearn.cluster.DBSCAN).
# Needs Debian's python3-opencv, python3-skimage and python3-sklearn; skips without them.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

PY=/usr/bin/python3

if ! "$PY" -c 'import numpy, cv2, skimage, sklearn' 2>/dev/null; then
  ok 0 "# SKIP $PY cannot import cv2, skimage and sklearn (python3-opencv, python3-skimage, python3-sklearn)"
  done_testing
fi

cluster_start --db mlops_detect || { echo "not ok 1 - cluster starts"; echo "1..1"; exit 1; }

for script in test/parity/contours_parity.py test/parity/merge_parity.py; do
  out=$("$PY" "$script" --tap-offset "$TAP_N" --no-plan 2>&1)
  status=$?
  echo "$out"
  n=$(grep -cE '^(not )?ok [0-9]+' <<<"$out")
  TAP_N=$((TAP_N + n))
  if [ "$status" -ne 0 ]; then
    TAP_FAILED=$((TAP_FAILED + 1))
    [ "$n" -eq 0 ] && ok 1 "$script runs"
  fi
done
done_testing
