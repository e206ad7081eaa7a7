#!/usr/bin/python3
"""test/parity/merge_parity.py — merge_points (src/detect/merge.c) against its references.

MERGE_ITERATIVE_MEAN against merge_similar_sites from earthrise-media/plastics
(scripts/candidate_detect.py), ported below as it is written — the scikit-learn KDTree with
leaf_size=2, query_radius, set(tuple(...)) to drop repeated neighbourhoods, np.mean, the loop until
the count stops changing — without its h3 ids, GeoDataFrame and plot, and with the lineage that
merge.h defines for membership tracked alongside.  On random point sets (uniform, clustered, with
duplicates, on a lattice where distances tie with the radius): the same number of sites, the same
positions (sorted; within 1e-12 relative to the coordinates' scale) and the same membership
partition.

MERGE_SINGLE_LINK against sklearn.cluster.DBSCAN(eps, min_samples=1) (connected components of
distance <= eps): the same partition.  MERGE_DBSCAN against sklearn.cluster.DBSCAN(eps,
min_samples): the same core points and the same partition of the core points (border points
may differ: PostGIS gives a border point to the first core in input order, scikit-learn to the
first cluster that expands over it), except that with n <= min_points PostGIS — and so
merge_points — calls every point noise.

--bench N (default off): times the reference and the kernel (through
test/bench/kernels/merge_bench.c) on N clustered points, 100,000 in the issue.

Usage: /usr/bin/python3 test/parity/merge_parity.py [--bench N] [--tap-offset N] [--no-plan]   (Debian's python3-sklearn)
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.neighbors import KDTree
from sklearn.cluster import DBSCAN

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
        if detail is not None:
            print("#   " + str(detail))


def merge_similar_sites(candidate_sites, search_radius=0.0025):
    """earthrise-media/plastics scripts/candidate_detect.py, minus h3, geopandas and the plot;
    plus `chain` (point -> final neighbourhood, the lineage merge.h defines)."""
    coords = np.array(candidate_sites)

    # Create a KD tree for efficient lookup of points within a radius
    tree = KDTree(coords, leaf_size=2)

    # Initialize a mean_coords array for the search
    mean_coords = []
    for elem in tree.query_radius(coords, search_radius):
        mean_coords.append(np.mean(coords[elem], axis=0))
    mean_coords = np.array(mean_coords)
    chain = list(range(len(coords)))

    num_coords = len(mean_coords)
    while True:
        search = tree.query_radius(mean_coords, search_radius)
        uniques = [list(x) for x in set(tuple(elem) for elem in search)]
        index = {tuple(u): k for k, u in enumerate(uniques)}
        chain = [index[tuple(search[c])] for c in chain]
        mean_coords = []
        for elem in uniques:
            mean_coords.append(np.mean(coords[elem], axis=0))
        if len(mean_coords) == num_coords:
            mean_coords = np.array(mean_coords)
            break
        num_coords = len(mean_coords)
    return mean_coords, chain


def build():
    d = tempfile.mkdtemp(prefix="merge_parity.")
    exe = os.path.join(d, "driver")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/parity/contours_driver.c"),
                    os.path.join(ROOT, "src/detect/contours.c"),
                    os.path.join(ROOT, "src/detect/merge.c"),
                    os.path.join(ROOT, "src/detect/merge_iterative.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    return exe


def kernel(exe, pts, radius, method, min_points=1):
    n = len(pts)
    data = np.ascontiguousarray(pts[:, 0], dtype=np.float64).tobytes() + \
        np.ascontiguousarray(pts[:, 1], dtype=np.float64).tobytes()
    out = subprocess.run([exe, "merge", method, repr(float(radius)), str(min_points), str(n)],
                         input=data, capture_output=True, check=True).stdout.decode().split("\n")
    ns = int(out[0])
    site_of = [int(v) for v in out[1:1 + n]]
    xy = np.array([[float(v) for v in line.split()] for line in out[1 + n:1 + n + ns]]).reshape(-1, 2)
    return site_of, xy


def canon(labels):
    """A partition as first-occurrence numbering (noise -1 stays -1)."""
    m = {}
    out = []
    for v in labels:
        if v < 0:
            out.append(-1)
            continue
        if v not in m:
            m[v] = len(m)
        out.append(m[v])
    return out


def point_sets():
    for t in range(60):
        kind = t % 4
        n = int(rng.integers(1, 400))
        if kind == 0:                                   # uniform
            pts = rng.uniform(0, 1, (n, 2))
            r = float(rng.uniform(0.01, 0.1))
        elif kind == 1:                                 # clustered detections, degrees
            k = max(1, n // 8)
            centres = rng.uniform([100.0, -10.0], [101.0, -9.0], (k, 2))
            pts = centres[rng.integers(0, k, n)] + rng.normal(0, 0.002, (n, 2))
            r = 0.0025 * float(rng.choice([1, 2, 4]))
        elif kind == 2:                                 # duplicates
            base = rng.uniform(0, 10, (max(1, n // 3), 2))
            pts = base[rng.integers(0, len(base), n)]
            r = float(rng.uniform(0.2, 1.5))
        else:                                           # lattice: distances equal to r
            side = int(np.ceil(np.sqrt(n)))
            g = np.array([(i % side, i // side) for i in range(n)], dtype=float)
            pts = g
            r = 1.0
        yield pts, r


def test_iterative(exe):
    bad_n = bad_pos = bad_part = None
    cases = 0
    for pts, r in point_sets():
        cases += 1
        ref_xy, ref_chain = merge_similar_sites(pts, search_radius=r)
        site_of, xy = kernel(exe, pts, r, "iterative")
        if len(ref_xy) != len(xy):
            bad_n = bad_n or (len(pts), r, len(ref_xy), len(xy))
            continue
        scale = max(1.0, float(np.max(np.abs(pts))))
        a = ref_xy[np.lexsort((ref_xy[:, 1], ref_xy[:, 0]))]
        b = xy[np.lexsort((xy[:, 1], xy[:, 0]))]
        err = float(np.max(np.abs(a - b))) / scale if len(a) else 0.0
        if err > 1e-12:
            bad_pos = bad_pos or (len(pts), r, err)
        if canon(ref_chain) != canon(site_of):
            bad_part = bad_part or (len(pts), r)
    tap(bad_n is None, "iterative mean: as many sites as merge_similar_sites (%d sets)" % cases, bad_n)
    tap(bad_pos is None, "iterative mean: the same site positions within 1e-12", bad_pos)
    tap(bad_part is None, "iterative mean: the same membership (lineage) partition", bad_part)


def test_dbscan(exe):
    bad_single = bad_core = None
    cases = 0
    for pts, r in point_sets():
        cases += 1
        site_of, _ = kernel(exe, pts, r, "single")
        ref = DBSCAN(eps=r, min_samples=1).fit(pts).labels_
        if canon(site_of) != canon(list(ref)):
            bad_single = bad_single or (len(pts), r)
        for mp in (2, 3, 5):
            site_of, _ = kernel(exe, pts, r, "dbscan", mp)
            db = DBSCAN(eps=r, min_samples=mp).fit(pts)
            core = np.zeros(len(pts), bool)
            core[db.core_sample_indices_] = True
            if len(pts) <= mp:
                ok = all(s == -1 for s in site_of)
            else:
                ok = canon([site_of[i] for i in range(len(pts)) if core[i]]) == \
                    canon([int(db.labels_[i]) for i in range(len(pts)) if core[i]])
                # every non-core point of ours is noise exactly when scikit-learn's is
                ok = ok and all((site_of[i] == -1) == (db.labels_[i] == -1) for i in range(len(pts)))
            if not ok:
                bad_core = bad_core or (len(pts), r, mp)
    tap(bad_single is None, "single link: the partition of DBSCAN(min_samples=1) (%d sets)" % cases,
        bad_single)
    tap(bad_core is None, "dbscan: same core partition and same noise as sklearn DBSCAN", bad_core)


def bench(n):
    k = n // 10
    centres = rng.uniform([100.0, -10.0], [110.0, 0.0], (k, 2))
    pts = centres[rng.integers(0, k, n)] + rng.normal(0, 0.001, (n, 2))
    r = 0.0025
    d = tempfile.mkdtemp(prefix="merge_bench.")
    path = os.path.join(d, "points.bin")
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(pts[:, 0]).tobytes() + np.ascontiguousarray(pts[:, 1]).tobytes())
    exe = os.path.join(d, "bench")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/bench/kernels/merge_bench.c"),
                    os.path.join(ROOT, "src/detect/merge.c"),
                    os.path.join(ROOT, "src/detect/merge_iterative.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    t0 = time.perf_counter()
    ref_xy, _ = merge_similar_sites(pts, search_radius=r)
    t_py = time.perf_counter() - t0
    out = subprocess.run([exe, path, str(n), repr(r)], capture_output=True, check=True).stdout.decode()
    print("# " + out.strip().replace("\n", "\n# "))
    best_ms = float(out.split("best ")[1].split(" ms")[0])
    sites = int(out.split(" sites")[0].split()[-1])
    print("# merge_similar_sites (python): %d sites in %.0f ms; kernel best %.1f ms: %.0fx"
          % (len(ref_xy), t_py * 1e3, best_ms, t_py * 1e3 / best_ms))
    tap(sites == len(ref_xy), "bench: the kernel finds as many sites as the reference on %d points" % n)


def main():
    exe = build()
    test_iterative(exe)
    test_dbscan(exe)
    if "--bench" in sys.argv:
        bench(int(sys.argv[sys.argv.index("--bench") + 1]))
    if "--no-plan" not in sys.argv:
        print("1..%d" % count)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
