#!/usr/bin/python3
"""test/parity/contours_opencv_parity.py — the opencv contour mode (src/detect/contours_opencv.c)
against OpenCV 4.6's cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE).

Builds test/parity/contours_modes_driver.c with the kernels, then prints TAP.  On random images
with random options (shape 1 x 1 up to 300 x 300, level, the optional box blur of 1 .. 9 cells
applied before the threshold, as mlops.contours does; salt and pepper, blurred noise, NaN cells,
rings with holes and islands, full and empty masks, masks touching the image's edge):
- the same number of contours, in the same order;
- the same vertex sequence for each (same starting point, same orientation, same points);
- the same hierarchy: cv2's [next, previous, first child, parent] for every contour, rebuilt from
  the kernel's parent list (outer contours at the top, each hole under its outer contour);
- each outer contour's max_value equals the largest value over its 8-connected component
  (skimage.measure.label(connectivity=2)) of the (blurred) image, exactly without blur and within
  1e-12 relative with it (our box blur's agreement with cv2.blur); holes' is NaN.
Images of more than 126 contours exercise OpenCV's seven-bit border numbers wrapping around.

Usage: /usr/bin/python3 test/parity/contours_opencv_parity.py [--tap-offset N] [--no-plan] [--cases N]
       (Debian's python3-opencv and python3-skimage; MLOPS_PARITY_SEED overrides the seed)
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import cv2
from skimage import measure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = int(os.environ.get("MLOPS_PARITY_SEED", "20261207"))
rng = np.random.default_rng(SEED)
OFFSET = int(sys.argv[sys.argv.index("--tap-offset") + 1]) if "--tap-offset" in sys.argv else 0
CASES = int(sys.argv[sys.argv.index("--cases") + 1]) if "--cases" in sys.argv else 600
count = OFFSET
failures = 0


def tap(ok, what, detail=None):
    global count, failures
    count += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (count, what))
    if not ok:
        failures += 1
        if detail:
            print("#   " + str(detail)[:2000])


def build():
    d = tempfile.mkdtemp(prefix="contours_opencv_parity.")
    exe = os.path.join(d, "driver")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/parity/contours_modes_driver.c"),
                    os.path.join(ROOT, "src/detect/contours_opencv.c"),
                    os.path.join(ROOT, "src/detect/contours_subpixel.c"),
                    os.path.join(ROOT, "src/detect/contours.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    return exe


def ours(exe, img, level, blur):
    rows, cols = img.shape
    out = subprocess.run([exe, "opencv", str(rows), str(cols), repr(level), str(blur)],
                         input=np.ascontiguousarray(img, dtype=np.float64).tobytes(),
                         capture_output=True, check=True).stdout.decode().split("\n")
    n = int(out[0])
    res = []
    for line in out[1:1 + n]:
        f = line.split()
        k = int(f[2])
        res.append((int(f[0]), float(f[1]), np.array([int(v) for v in f[3:3 + 2 * k]]).reshape(k, 2)))
    return res


def hierarchy_of(parents):
    """cv2's [next, prev, first_child, parent] from a parent list in cv2's order."""
    n = len(parents)
    h = [[-1, -1, -1, p] for p in parents]
    last = {}
    for i, p in enumerate(parents):
        if p in last:
            h[last[p]][0] = i
            h[i][1] = last[p]
        elif p >= 0:
            h[p][2] = i
        last[p] = i
    return h


def image(t):
    rows = int(rng.integers(1, 41)) if t % 5 else int(rng.integers(40, 301))
    cols = int(rng.integers(1, 41)) if t % 5 else int(rng.integers(40, 301))
    kind = t % 6
    level = 0.5
    if kind == 0:                           # salt and pepper
        v = rng.uniform(0, 1, (rows, cols))
        level = float(rng.uniform(0.2, 0.8))
    elif kind == 1:                         # blobs
        v = cv2.blur(rng.uniform(0, 1, (rows, cols)), (3, 3))
        level = float(np.quantile(v, rng.uniform(0.2, 0.8)))
    elif kind == 2:                         # NaN cells
        v = rng.uniform(0, 1, (rows, cols))
        v[rng.uniform(0, 1, (rows, cols)) < 0.2] = np.nan
        level = 0.4
    elif kind == 3:                         # rings with holes and islands
        yy, xx = np.mgrid[0:rows, 0:cols]
        v = np.zeros((rows, cols))
        for _ in range(int(rng.integers(1, 6))):
            cy, cx = rng.uniform(0, rows), rng.uniform(0, cols)
            r = rng.uniform(1, max(rows, cols) / 2)
            d = np.hypot(yy - cy, xx - cx)
            v = np.maximum(v, ((d < r) & (d > r * rng.uniform(0.2, 0.8))).astype(float))
            v = np.maximum(v, (d < r * rng.uniform(0, 0.3)).astype(float))
        v = np.where(rng.uniform(0, 1, v.shape) < 0.05, 1 - v, v)
    elif kind == 4:                         # full or empty
        v = np.full((rows, cols), float(t % 12 == 4))
    else:                                   # sparse dots and lines
        v = (rng.uniform(0, 1, (rows, cols)) < 0.15).astype(float)
        if rows > 2:
            v[int(rng.integers(0, rows)), :] = 1.0
    blur = int(rng.choice([0, 0, 1, 2, 3, 5, 9]))
    return v, level, blur


def main():
    exe = build()
    bad = {"count": None, "points": None, "hier": None, "max": None}
    wrapped = 0
    biggest = 0
    for t in range(CASES):
        v, level, blur = image(t)
        b = cv2.blur(np.where(np.isnan(v), 0.0, v), (blur, blur)) if blur > 1 else v
        mask = np.where(np.isnan(b), False, b >= level)
        cs, h = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        got = ours(exe, v, level, blur)
        biggest = max(biggest, len(cs))
        wrapped += len(cs) > 126
        if len(cs) != len(got):
            bad["count"] = bad["count"] or (t, v.shape, blur, len(cs), len(got))
            continue
        for i, c in enumerate(cs):
            if not np.array_equal(c.reshape(-1, 2), got[i][2]):
                bad["points"] = bad["points"] or (t, v.shape, blur, i, c.reshape(-1, 2).tolist(),
                                                  got[i][2].tolist())
                break
        want_h = [] if h is None else h[0].tolist()
        if want_h != hierarchy_of([g[0] for g in got]):
            bad["hier"] = bad["hier"] or (t, v.shape, blur, want_h, [g[0] for g in got])
        lab = measure.label(mask, connectivity=2)
        for i, c in enumerate(cs):
            par, mx = got[i][0], got[i][1]
            if par >= 0 or (h is not None and h[0][i][3] >= 0):
                ok = math.isnan(mx)
            else:
                x, y = c.reshape(-1, 2)[0]
                want = float(np.max(b[lab == lab[y, x]]))
                # exact without blur; our box blur equals cv2.blur within 1e-12 relative
                ok = mx == want if blur <= 1 else abs(mx - want) <= 1e-12 * max(1.0, abs(want))
            if not ok:
                bad["max"] = bad["max"] or (t, v.shape, i, mx)
                break
    tap(bad["count"] is None, "opencv mode: as many contours as cv2.findContours(RETR_CCOMP, "
        "CHAIN_APPROX_SIMPLE) on %d random images (up to %d contours, %d images over 126)"
        % (CASES, biggest, wrapped), bad["count"])
    tap(bad["points"] is None, "opencv mode: every contour's vertex sequence equals cv2's (start, "
        "orientation, points)", bad["points"])
    tap(bad["hier"] is None, "opencv mode: the hierarchy equals cv2's [next, prev, child, parent]",
        bad["hier"])
    tap(bad["max"] is None, "opencv mode: max_value is the max over the outer contour's "
        "8-connected component (NaN for holes)", bad["max"])
    tap(wrapped > 0, "the random images include some with more than 126 contours (border numbers wrap)")
    if "--no-plan" not in sys.argv:
        print("1..%d" % count)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
