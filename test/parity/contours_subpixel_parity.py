#!/usr/bin/python3
"""test/parity/contours_subpixel_parity.py — the subpixel contour mode
(src/detect/contours_subpixel.c) against scikit-image 0.19.3's
skimage.measure.find_contours(image, level, fully_connected, positive_orientation).

Builds test/parity/contours_modes_driver.c with the kernels, then prints TAP.  On random images
(2 x 2 up to 200 x 200: noise, blurred noise, small integers so that many cells equal the level
exactly, NaN cells, smooth Gaussian bumps) with both values of fully_connected and
positive_orientation (the box blur that mlops.contours may apply first is checked against
cv2.blur by contours_parity.py):
- the same number of contours, in the same order;
- every contour has the same number of points and each vertex is within 1e-9 of skimage's
  (they are in fact bit for bit the same; the test also counts exact equality);
- closed contours (last point == first) are the same ones.

Usage: /usr/bin/python3 test/parity/contours_subpixel_parity.py [--tap-offset N] [--no-plan] [--cases N]
       (Debian's python3-skimage and python3-opencv; MLOPS_PARITY_SEED overrides the seed)
"""
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
CASES = int(sys.argv[sys.argv.index("--cases") + 1]) if "--cases" in sys.argv else 500
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
    d = tempfile.mkdtemp(prefix="contours_subpixel_parity.")
    exe = os.path.join(d, "driver")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/parity/contours_modes_driver.c"),
                    os.path.join(ROOT, "src/detect/contours_opencv.c"),
                    os.path.join(ROOT, "src/detect/contours_subpixel.c"),
                    os.path.join(ROOT, "src/detect/contours.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    return exe


def ours(exe, img, level, blur, high_connected, high_oriented):
    rows, cols = img.shape
    out = subprocess.run([exe, "subpixel", str(rows), str(cols), repr(level), str(blur),
                          str(int(high_connected)), str(int(high_oriented))],
                         input=np.ascontiguousarray(img, dtype=np.float64).tobytes(),
                         capture_output=True, check=True).stdout.decode().split("\n")
    n = int(out[0])
    res = []
    for line in out[1:1 + n]:
        f = line.split()
        k = int(f[1])
        res.append((f[0] == "1", np.array([float(v) for v in f[2:2 + 2 * k]]).reshape(k, 2)))
    return res


def image(t):
    big = t % 7 == 0
    rows = int(rng.integers(2, 201 if big else 41))
    cols = int(rng.integers(2, 201 if big else 41))
    kind = t % 5
    if kind == 0:
        v, level = rng.uniform(0, 1, (rows, cols)), float(rng.uniform(0.2, 0.8))
    elif kind == 1:
        v = cv2.blur(rng.uniform(0, 1, (rows, cols)), (3, 3))
        level = float(np.quantile(v, rng.uniform(0.2, 0.8)))
    elif kind == 2:                         # ties: many cells exactly at the level
        v, level = rng.integers(0, 3, (rows, cols)).astype(float), 1.0
    elif kind == 3:                         # NaN cells
        v = rng.uniform(0, 1, (rows, cols))
        v[rng.uniform(0, 1, (rows, cols)) < 0.15] = np.nan
        level = 0.5
    else:                                   # smooth bumps: long closed and open contours
        yy, xx = np.mgrid[0:rows, 0:cols]
        v = np.zeros((rows, cols))
        for _ in range(int(rng.integers(1, 6))):
            cy, cx, s = rng.uniform(0, rows), rng.uniform(0, cols), rng.uniform(1, max(rows, cols) / 3)
            v += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        level = float(rng.uniform(0.2, 0.9))
    return v, level, 0


def main():
    exe = build()
    bad = {"count": None, "points": None, "closed": None}
    exact = total = n_closed = n_open = 0
    for t in range(CASES):
        v, level, blur = image(t)
        hc, ho = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
        b = cv2.blur(v, (blur, blur)) if blur > 1 else v
        want = measure.find_contours(b, level, fully_connected="high" if hc else "low",
                                     positive_orientation="high" if ho else "low")
        got = ours(exe, v, level, blur, hc, ho)
        if len(want) != len(got):
            bad["count"] = bad["count"] or (t, v.shape, blur, hc, ho, len(want), len(got))
            continue
        for w, (closed, g) in zip(want, got):
            total += 1
            if w.shape != g.shape or np.max(np.abs(w - g)) > 1e-9:
                bad["points"] = bad["points"] or (t, v.shape, blur, hc, ho, w.tolist()[:6], g.tolist()[:6])
                break
            exact += bool(np.array_equal(w, g))
            want_closed = len(w) >= 3 and bool(np.array_equal(w[0], w[-1]))
            n_closed += want_closed
            n_open += not want_closed
            if closed != want_closed:
                bad["closed"] = bad["closed"] or (t, v.shape, w.tolist()[:4])
    tap(bad["count"] is None, "subpixel mode: as many contours as skimage.measure.find_contours, "
        "in the same order, on %d random images (both fully_connected, both positive_orientation)"
        % CASES, bad["count"])
    tap(bad["points"] is None, "subpixel mode: every contour's vertices equal skimage's within 1e-9 "
        "(%d contours, %d of them bit for bit)" % (total, exact), bad["points"])
    tap(bad["closed"] is None and n_closed > 0 and n_open > 0,
        "subpixel mode: the same contours are closed (%d closed, %d open)" % (n_closed, n_open),
        bad["closed"])
    if "--no-plan" not in sys.argv:
        print("1..%d" % count)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
