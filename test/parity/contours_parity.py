#!/usr/bin/python3
"""test/parity/contours_parity.py — the contour kernel (src/detect/contours.c) against OpenCV and
scikit-image.

Builds test/parity/contours_driver.c with the kernels, then prints TAP:
- contour_box_blur against cv2.blur(img, (k, k)) (BORDER_REFLECT_101, the default) on random
  float64 images of many shapes (1 x 1 up to 61 x 47, k from 1 to larger than the image, even k
  included): equal within 1e-12 relative (|a - b| <= 1e-12 * max(1, |b|));
- contour_cells on random masks (several densities, blobby and salt-and-pepper, NaN cells): the
  number of polygons equals skimage.measure.label(mask, connectivity=1)'s component count, the
  number of components (part_of) equals label(mask, connectivity=2)'s under connectivity 8 and
  connectivity=1's under 4; the multiset of (cells, max value, bounding box) per polygon equals
  the per-label one from skimage.measure.regionprops; every polygon's shoelace areas (exterior
  positive, holes negative) add up to its cell count;
- with PGHOST set (a server with PostGIS, e.g. under test/with-cluster.sh): every component's
  geometry — a POLYGON, or a MULTIPOLYGON of the polygons sharing part_of — on random masks and
  on pinch-heavy ones, for both connectivities, is ST_IsValid, its ST_Area is its cell count and
  ST_NumGeometries its number of polygons.

Usage: /usr/bin/python3 test/parity/contours_parity.py [--tap-offset N] [--no-plan]   (Debian's python3-opencv and
       python3-skimage; MLOPS_PARITY_SEED overrides the seed)
       test/with-cluster.sh -- /usr/bin/python3 test/parity/contours_parity.py   (adds PostGIS)
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

# --tap-offset N numbers the lines from N + 1; --no-plan leaves the plan to the caller
# (test/integration/detect_parity.sh runs both scripts as one TAP stream).
OFFSET = int(sys.argv[sys.argv.index("--tap-offset") + 1]) if "--tap-offset" in sys.argv else 0
count = OFFSET
failures = 0


def tap(ok, what, detail=None):
    global count, failures
    count += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (count, what))
    if not ok:
        failures += 1
        if detail:
            print("#   " + str(detail))


def build():
    d = tempfile.mkdtemp(prefix="contours_parity.")
    exe = os.path.join(d, "driver")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/parity/contours_driver.c"),
                    os.path.join(ROOT, "src/detect/contours.c"),
                    os.path.join(ROOT, "src/detect/merge.c"),
                    os.path.join(ROOT, "src/detect/merge_iterative.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    return exe


def blur(exe, img, k):
    rows, cols = img.shape
    out = subprocess.run([exe, "blur", str(rows), str(cols), str(k)],
                         input=np.ascontiguousarray(img, dtype=np.float64).tobytes(),
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float64).reshape(rows, cols)


def cells(exe, img, level, conn):
    rows, cols = img.shape
    out = subprocess.run([exe, "cells", str(rows), str(cols), repr(level), str(conn)],
                         input=np.ascontiguousarray(img, dtype=np.float64).tobytes(),
                         capture_output=True, check=True).stdout.decode()
    lines = out.split("\n")
    npoly, ncomp = map(int, lines[0].split())
    polys = []
    for line in lines[1:1 + npoly]:
        f = line.split()
        polys.append(dict(cells=int(f[0]), part_of=int(f[1]), max=float(f[2]),
                          bbox=tuple(int(v) for v in f[3:7]), n_rings=int(f[7]),
                          area2=[float(v) for v in f[8:]]))
    return npoly, ncomp, polys


def test_blur(exe):
    shapes = [(1, 1), (1, 9), (7, 1), (2, 2), (5, 8), (16, 16), (33, 20), (61, 47)]
    ks = [1, 2, 3, 4, 5, 7, 8, 11, 31]
    worst = 0.0
    cases = 0
    bad = None
    for (r, c) in shapes:
        for k in ks:
            for scale in (1.0, 1e6):
                img = rng.standard_normal((r, c)) * scale + rng.uniform(-3, 3) * scale
                ref = cv2.blur(img, (k, k))
                got = blur(exe, img, k)
                err = np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref)))
                cases += 1
                if err > worst:
                    worst = err
                if err > 1e-12 and bad is None:
                    bad = (r, c, k, scale, err)
    tap(bad is None, "box blur equals cv2.blur within 1e-12 relative (%d images, worst %.3g)"
        % (cases, worst), bad)


def masks():
    """Random test images: (values, level)."""
    for t in range(120):
        rows = int(rng.integers(1, 40))
        cols = int(rng.integers(1, 40))
        kind = t % 4
        if kind == 0:                       # salt and pepper
            v = rng.uniform(0, 1, (rows, cols))
            level = float(rng.uniform(0.2, 0.8))
        elif kind == 1:                     # blobs: blurred noise
            v = cv2.blur(rng.uniform(0, 1, (rows, cols)), (3, 3)) if min(rows, cols) > 1 \
                else rng.uniform(0, 1, (rows, cols))
            level = float(np.quantile(v, rng.uniform(0.3, 0.8)))
        elif kind == 2:                     # NaN cells
            v = rng.uniform(0, 1, (rows, cols))
            v[rng.uniform(0, 1, (rows, cols)) < 0.2] = np.nan
            level = 0.4
        else:                               # checkerboard-ish with holes
            v = ((np.add.outer(np.arange(rows), np.arange(cols)) % 2) == 0).astype(float)
            v = np.where(rng.uniform(0, 1, (rows, cols)) < 0.3, 1.0 - v, v) + rng.uniform(0, 0.1, (rows, cols))
            level = 0.5
        yield v, level


def test_cells(exe):
    bad = {"count4": None, "comp": None, "stats": None, "area": None}
    n = 0
    for v, level in masks():
        mask = np.where(np.isnan(v), False, v >= level)
        lab1 = measure.label(mask, connectivity=1)
        want = sorted((int(p.area), float(np.max(v[lab1 == p.label])),
                       (p.bbox[1], p.bbox[0], p.bbox[3], p.bbox[2]))
                      for p in measure.regionprops(lab1))
        for conn in (4, 8):
            n += 1
            npoly, ncomp, polys = cells(exe, v, level, conn)
            n1 = int(lab1.max())
            n2 = int(measure.label(mask, connectivity=2).max())
            if npoly != n1 and bad["count4"] is None:
                bad["count4"] = (v.shape, conn, npoly, n1)
            if ncomp != (n2 if conn == 8 else n1) and bad["comp"] is None:
                bad["comp"] = (v.shape, conn, ncomp, n2 if conn == 8 else n1)
            got = sorted((p["cells"], p["max"], p["bbox"]) for p in polys)
            if got != want and bad["stats"] is None:
                bad["stats"] = (v.shape, conn, got[:3], want[:3])
            for p in polys:
                a = p["area2"]
                if not (a and a[0] > 0 and all(h < 0 for h in a[1:]) and sum(a) == 2 * p["cells"]):
                    if bad["area"] is None:
                        bad["area"] = (v.shape, conn, p)
    tap(bad["count4"] is None, "cells: polygons == label(connectivity=1) components (%d runs)" % n,
        bad["count4"])
    tap(bad["comp"] is None, "cells: components == label(connectivity=2) under 8, =1 under 4",
        bad["comp"])
    tap(bad["stats"] is None, "cells: per-polygon cells, max value and bounding box == regionprops",
        bad["stats"])
    tap(bad["area"] is None, "cells: shoelace areas (exterior > 0, holes < 0) sum to the cell count",
        bad["area"])


def wkt(exe, img, level, conn):
    rows, cols = img.shape
    out = subprocess.run([exe, "wkt", str(rows), str(cols), repr(level), str(conn)],
                         input=np.ascontiguousarray(img, dtype=np.float64).tobytes(),
                         capture_output=True, check=True).stdout.decode()
    return [line.split("\t") for line in out.split("\n") if line]


def test_postgis(exe):
    rows_sql = []
    case = 0
    images = list(masks())
    for t in range(80):                     # pinch-heavy: sparse salt and pepper, diagonals
        r, c = int(rng.integers(2, 25)), int(rng.integers(2, 25))
        v = (rng.uniform(0, 1, (r, c)) < rng.uniform(0.3, 0.6)).astype(float)
        images.append((v, 0.5))
    for v, level in images:
        for conn in (4, 8):
            case += 1
            for part_of, cells_, geom in wkt(exe, v, level, conn):
                parts = geom.count("((")  # each polygon opens with "((" exactly once
                rows_sql.append("(%d,%d,%s,%d,'%s')" % (case, conn, cells_, parts, geom))
    sql = ("CREATE EXTENSION IF NOT EXISTS postgis;\n"
           "SELECT count(*), count(*) FILTER (WHERE NOT ST_IsValid(g)),"
           " count(*) FILTER (WHERE ST_Area(g) <> cells),"
           " count(*) FILTER (WHERE ST_NumGeometries(g) <> parts),"
           " coalesce(min(CASE WHEN NOT ST_IsValid(g) THEN ST_IsValidReason(g) || ' ' || ST_AsText(g) END), '')"
           " FROM (SELECT c, conn, cells, parts, ST_GeomFromText(w) AS g FROM (VALUES %s) AS v(c, conn, cells, parts, w)) s;\n"
           % ",".join(rows_sql))
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql)
        path = f.name
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", path],
                         capture_output=True, text=True)
    os.unlink(path)
    if out.returncode != 0:
        tap(False, "postgis: the validity query runs", out.stderr.strip()[:500])
        return
    total, invalid, bad_area, bad_parts, reason = out.stdout.strip().split("\n")[-1].split("|")
    tap(int(total) > 0 and int(invalid) == 0,
        "postgis: every component's geometry is ST_IsValid (%s geometries, %d images x 2)"
        % (total, len(images)), reason[:300])
    tap(int(bad_area) == 0, "postgis: ST_Area equals the cell count", bad_area)
    tap(int(bad_parts) == 0, "postgis: ST_NumGeometries equals the number of polygons", bad_parts)


def main():
    exe = build()
    test_blur(exe)
    test_cells(exe)
    if os.environ.get("PGHOST"):
        test_postgis(exe)
    else:
        print("# PGHOST not set: the PostGIS validity checks are skipped")
    if "--no-plan" not in sys.argv:
        print("1..%d" % count)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
