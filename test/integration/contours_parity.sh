#!/usr/bin/env bash
# contours_parity.sh — the contour modes against their references, as one TAP stream, with no
# cluster: test/parity/contours_opencv_parity.py (mode opencv against OpenCV 4.6's
# cv2.findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE): contours, vertex sequences, hierarchy, max
# values, with the box blur) and test/parity/contours_subpixel_parity.py (mode subpixel against
# scikit-image 0.19.3's measure.find_contours: contours, order, vertices within 1e-9, closed
# ones), both computed live on random images and options.  Both build
# test/parity/contours_modes_driver.c with the kernels.
# Needs Debian's python3-opencv and python3-skimage (test/install-deps.sh installs them).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

PY=/usr/bin/python3
for script in test/parity/contours_opencv_parity.py test/parity/contours_subpixel_parity.py; do
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
