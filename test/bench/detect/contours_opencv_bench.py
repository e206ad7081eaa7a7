#!/usr/bin/python3
"""contours_opencv_bench.py - the opencv contour mode (src/detect/contours_opencv.c) against
cv2.findContours(mask, RETR_CCOMP, CHAIN_APPROX_SIMPLE) (OpenCV 4.6) on a 4096 x 4096 image with
~940 ragged blobs: the tracer on the same uint8 mask as cv2 (the like-for-like ratio), and the
whole kernel on the doubles (thresholding and each component's max value included: it reads 8
times the bytes); best and median of RUNS runs each, one thread (cv2.setNumThreads(1);
findContours is serial anyway), ratios of the best times, and whether both gave the same number
of contours and points.
Usage: /usr/bin/python3 test/bench/detect/contours_opencv_bench.py [runs]"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SIDE = 4096


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    cv2.setNumThreads(1)
    tmp = tempfile.mkdtemp(prefix="contours_opencv_bench")
    exe = os.path.join(tmp, "bench")
    path = os.path.join(tmp, "img.f64")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/bench/detect/contours_opencv_bench.c"),
                    os.path.join(ROOT, "src/detect/contours_opencv.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    out = subprocess.run([exe, str(runs), path], capture_output=True, text=True, check=True).stdout.split()
    kb, km, fb, fm = map(float, out[:4])
    kn, kp = int(out[4]), int(out[5])
    mask = (np.fromfile(path, dtype=np.float64).reshape(SIDE, SIDE) >= 0.5).astype(np.uint8)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        cs, _h = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    cn, cp = len(cs), sum(len(c) for c in cs)
    print("# %dx%d mask, ~940 blobs; OpenCV %s; %d runs each" % (SIDE, SIDE, cv2.__version__, runs))
    print("opencv contours: cv2.findContours best %.2f ms (median %.2f); tracer on the mask best "
          "%.2f ms (median %.2f): %.2fx cv2's time; from the doubles best %.2f ms (median %.2f): "
          "%.2fx; contours %d / %d, points %d / %d%s" % (
              times[0], times[runs // 2], kb, km, kb / times[0], fb, fm, fb / times[0], cn, kn,
              cp, kp, "" if (cn, cp) == (kn, kp) else "  MISMATCH"))


if __name__ == "__main__":
    main()
