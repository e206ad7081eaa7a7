#!/usr/bin/env bash
# test/bench/detect/merge_bench.sh — mlops.merge_detections single_link against what a PostGIS user
# runs for the same partition, ST_ClusterDBSCAN(geom, radius, minpoints => 1) OVER (), on 100,000
# EPSG:4326 points in 20,000 clumps (radius 0.005°, as the detection workflow merges), on a
# cluster of its own: each query BENCH_RUNS times (default 3), the best times, the ratio, and
# whether both found the same number of sites; then the geodesic single_link (500 m) alone; then
# iterative_mean (0.005°) in SQL, reading the array and building the rows included, against the
# original's merge_similar_sites (as test/parity/merge_parity.py ports it, scikit-learn's KD-tree)
# on the same points, as doubles in a numpy array, timed once (it takes seconds).
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh

runs=${BENCH_RUNS:-3}
cluster_start --db mlops_merge_bench --conf 'work_mem = 256MB' || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null || exit 1
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SELECT setseed(0.14);
CREATE TABLE centres AS SELECT c, 20 * random() AS x, 40 + 20 * random() AS y FROM generate_series(1, 20000) c;
CREATE TABLE pts AS
SELECT row_number() OVER () AS id,
       ST_SetSRID(ST_MakePoint(x + 0.003 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()),
                               y + 0.003 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())), 4326) AS geom
FROM centres, generate_series(1, 5);
CREATE TABLE arr AS SELECT array_agg(geom ORDER BY id) AS a FROM pts;
ANALYZE;
SQL

# best of $runs: prints "ms result"
best() {
  local sql=$1 b= r out
  for _ in $(seq "$runs"); do
    out=$(psql -XAtq -v ON_ERROR_STOP=1 -c '\timing on' -c "$sql" 2>&1) || { echo "failed: $out" >&2; exit 1; }
    r=$(grep -oE 'Time: [0-9.]+' <<<"$out" | awk '{print $2}')
    if [ -z "$b" ] || awk -v r="$r" -v b="$b" 'BEGIN{exit !(r < b)}'; then b=$r; fi
    res=$(grep -vE '^Time|^Timing|^$' <<<"$out" | tail -n 1)
  done
  echo "$b $res"
}

read -r t_ours n_ours < <(best "SELECT count(*) FROM mlops.merge_detections((SELECT a FROM arr), 0.005, 'single_link')")
read -r t_pg n_pg < <(best "SELECT count(DISTINCT c) FROM (SELECT ST_ClusterDBSCAN(geom, 0.005, 1) OVER () AS c FROM pts) x")
read -r t_geo n_geo < <(best "SELECT count(*) FROM mlops.merge_detections((SELECT a FROM arr), 500, 'single_link', '{\"geodesic\": true}')")
read -r t_iter n_iter < <(best "SELECT count(*) FROM mlops.merge_detections((SELECT a FROM arr), 0.005, 'iterative_mean')")
echo "# 100,000 points in 20,000 clumps, radius 0.005 degrees; best of $runs"
awk -v a="$t_ours" -v b="$t_pg" -v na="$n_ours" -v nb="$n_pg" 'BEGIN {
  printf "single_link: mlops.merge_detections %.0f ms, ST_ClusterDBSCAN(minpoints 1) %.0f ms: %.1fx faster; sites %d / %d%s\n",
         a, b, b / a, na, nb, (na == nb ? "" : "  MISMATCH") }'
echo "geodesic single_link, 500 m: ${t_geo} ms, $n_geo sites"
pts_csv=$(mktemp /tmp/merge_bench.XXXXXX.csv)
psql -XAtq -c "COPY (SELECT ST_X(geom), ST_Y(geom) FROM pts ORDER BY id) TO STDOUT WITH (FORMAT csv)" >"$pts_csv" || exit 1
read -r t_py n_py < <(/usr/bin/python3 - "$pts_csv" <<'PY'
import importlib.util, sys, time
import numpy as np
spec = importlib.util.spec_from_file_location("merge_parity", "test/parity/merge_parity.py")
mp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mp)
pts = np.loadtxt(sys.argv[1], delimiter=",")
t0 = time.perf_counter()
xy, _ = mp.merge_similar_sites(pts, search_radius=0.005)
print("%.0f %d" % ((time.perf_counter() - t0) * 1e3, len(xy)))
PY
)
rm -f "$pts_csv"
awk -v a="$t_iter" -v b="$t_py" -v na="$n_iter" -v nb="$n_py" 'BEGIN {
  printf "iterative_mean: mlops.merge_detections %.0f ms in SQL, merge_similar_sites (python, points in memory, one run) %.0f ms: %.0fx faster; sites %d / %d%s\n",
         a, b, b / a, na, nb, (na == nb ? "" : "  MISMATCH") }'
