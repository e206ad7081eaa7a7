#!/usr/bin/python3
"""test/parity/merge_geodesic_parity.py — mlops.merge_detections with geodesic: true (radius in
metres, EPSG:4326 points; src/detect/merge_geo.c) against PostGIS's
ST_DWithin(a::geography, b::geography, r, true) (the WGS84 spheroid) deciding the neighbourhoods.

Needs a server with pg_mlops and PostGIS (PGHOST etc. set, as test/integration/
merge_geodesic_parity.sh does).  On random point sets (clumps of points at random places: the
equator, mid and high latitudes up to 89.9°, across the antimeridian; radii of 50 m to 20 km) it
takes every pair PostGIS finds within r, builds from them the single-link partition and the
DBSCAN clustering (PostGIS's union_dbscan rules: a point is core with at least min_points
neighbours, itself included; cores join; a border point joins the first core in input order that
reaches it), and requires mlops.merge_detections(points, r, 'single_link' | 'dbscan',
'{"geodesic": true, ...}') to give the same groups (and noise).  Then the hardest cases: the
radius set to a pair's own ST_Distance(geography) plus or minus 1 micrometre and 0.1 micrometre
must decide that pair as PostGIS does.  (Our Vincenty distance and PROJ's Karney distance, which
PostGIS uses, differ by about 1e-10 relative, so a radius closer than that to a distance can be
decided differently.)  Prints TAP.

Usage: /usr/bin/python3 test/parity/merge_geodesic_parity.py [--tap-offset N] [--no-plan]
"""
import math
import os
import subprocess
import sys

import numpy as np

SEED = int(os.environ.get("MLOPS_PARITY_SEED", "20261207"))
rng = np.random.default_rng(SEED)
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
            print("#   " + str(detail)[:2000])


def psql(sql):
    return subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, check=True).stdout


def points_sql(lon, lat):
    return "ARRAY[%s]::geometry[]" % ",".join(
        "ST_SetSRID(ST_MakePoint(%r, %r), 4326)" % (float(x), float(y)) for x, y in zip(lon, lat))


def pairs(lon, lat, r):
    """PostGIS: the pairs (i, j), i < j, 0-based, with ST_DWithin on the spheroid."""
    out = psql("""WITH p AS (SELECT i - 1 AS i, g::geography AS g FROM unnest(%s) WITH ORDINALITY u(g, i))
                  SELECT a.i, b.i FROM p a JOIN p b ON a.i < b.i AND ST_DWithin(a.g, b.g, %r, true)"""
               % (points_sql(lon, lat), float(r)))
    return [tuple(int(v) for v in line.split("|")) for line in out.split()]


def reference(n, prs, min_points):
    nb = [[i] for i in range(n)]
    for i, j in prs:
        nb[i].append(j)
        nb[j].append(i)
    for l in nb:
        l.sort()
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    if min_points <= 1:
        in_cluster = [True] * n
        for i, j in prs:
            union(i, j)
    else:
        in_cluster = [False] * n
        core = [False] * n
        if n > min_points:
            for p in range(n):
                if len(nb[p]) < min_points:
                    continue
                core[p] = in_cluster[p] = True
                for q in nb[p]:
                    if in_cluster[q]:
                        if core[q]:
                            union(p, q)
                    else:
                        union(p, q)
                        in_cluster[q] = True
    groups = {}
    for i in range(n):
        if in_cluster[i]:
            groups.setdefault(find(i), []).append(i + 1)
    return sorted(tuple(g) for g in groups.values())


def ours(lon, lat, r, method, min_points):
    opts = '{"geodesic": true%s}' % (', "min_points": %d' % min_points if method == "dbscan" else "")
    out = psql("SELECT members FROM mlops.merge_detections(%s, %r, '%s', '%s')"
               % (points_sql(lon, lat), float(r), method, opts))
    return sorted(tuple(int(v) for v in line.strip("{}").split(",")) for line in out.split())


def point_set(t):
    n = int(rng.integers(30, 250))
    r = float(np.exp(rng.uniform(math.log(50), math.log(20000))))
    place = t % 5
    lat0 = [0.0, float(rng.uniform(-60, 60)), float(rng.choice([-1, 1]) * rng.uniform(70, 89.9)),
            float(rng.uniform(-50, 50)), float(rng.uniform(-80, 80))][place]
    lon0 = 179.9 if place == 3 else float(rng.uniform(-180, 180))
    lon, lat = [], []
    for _ in range(int(rng.integers(3, 15))):
        # a clump of a few radii; degrees of longitude shrink with latitude
        cy = lat0 + rng.normal(0, 3 * r / 111000)
        cx = lon0 + rng.normal(0, 3 * r / (111000 * max(0.02, math.cos(math.radians(lat0)))))
        for _ in range(n // 10 + 1):
            y = cy + rng.normal(0, r / 111000)
            x = cx + rng.normal(0, r / (111000 * max(0.02, math.cos(math.radians(lat0)))))
            lat.append(float(np.clip(y, -90, 90)))
            lon.append(float((x + 180) % 360 - 180))
    return np.array(lon), np.array(lat), r


def main():
    bad = {"single": None, "dbscan": None, "edge": None}
    n_pairs = n_sets = 0
    for t in range(25):
        lon, lat, r = point_set(t)
        prs = pairs(lon, lat, r)
        n_pairs += len(prs)
        n_sets += 1
        want = reference(len(lon), prs, 1)
        got = ours(lon, lat, r, "single_link", 1)
        if want != got:
            bad["single"] = bad["single"] or (t, len(lon), r, len(want), len(got))
        mp = int(rng.integers(2, 6))
        want = reference(len(lon), prs, mp)
        got = ours(lon, lat, r, "dbscan", mp)
        if want != got:
            bad["dbscan"] = bad["dbscan"] or (t, len(lon), r, mp, len(want), len(got))
    tap(bad["single"] is None, "geodesic single_link: the partition PostGIS's ST_DWithin(geography, r, true) "
        "gives, on %d point sets (%d pairs within r)" % (n_sets, n_pairs), bad["single"])
    tap(bad["dbscan"] is None, "geodesic dbscan: the clusters and noise of PostGIS's neighbourhoods",
        bad["dbscan"])
    # pairs right at the radius
    edges = 0
    for t in range(40):
        lat1 = float(rng.uniform(-89, 89))
        lon1 = float(rng.uniform(-180, 180))
        d = float(np.exp(rng.uniform(math.log(1), math.log(50000))))
        az = rng.uniform(0, 2 * math.pi)
        lat2 = lat1 + d * math.cos(az) / 111000
        lon2 = lon1 + d * math.sin(az) / (111000 * max(0.02, math.cos(math.radians(lat1))))
        lat2 = float(np.clip(lat2, -90, 90))
        exact = float(psql("SELECT ST_Distance(ST_Point(%r, %r, 4326)::geography, ST_Point(%r, %r, 4326)::geography, true)"
                           % (lon1, lat1, lon2, lat2)))
        for r in (exact + 1e-6, exact - 1e-6, exact + 1e-7, exact - 1e-7):
            if r <= 0:
                continue
            want = reference(2, pairs([lon1, lon2], [lat1, lat2], r), 1)
            got = ours([lon1, lon2], [lat1, lat2], r, "single_link", 1)
            edges += 1
            if want != got:
                bad["edge"] = bad["edge"] or (lon1, lat1, lon2, lat2, exact, r, want, got)
    tap(bad["edge"] is None, "geodesic: %d pairs at their own PostGIS distance (ST_Distance(geography), which "
        "PostGIS rounds to 1e-8 m) +- 1 micrometre and +- 0.1 micrometre are decided as ST_DWithin "
        "decides them" % edges, bad["edge"])
    if "--no-plan" not in sys.argv:
        print("1..%d" % count)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
