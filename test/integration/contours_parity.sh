#!/usr/bin/env bash
# contours_parity.sh — the contour modes against their references, with no cluster:
# test/parity/contours_opencv_parity.py builds test/parity/contours_opencv_driver.c with
# src/detect/contours_opencv.c and compares mode opencv with OpenCV 4.6's
# cv2.findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE) computed live on random images and options
# (contours, vertex sequences, hierarchy, max values).  It prints the TAP itself.
# Needs Debian's python3-opencv and python3-skimage (test/install-deps.sh installs them).
set -uo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 test/parity/contours_opencv_parity.py
