#!/usr/bin/env bash
# test/bench/detect/merge_bench.sh — mlops.merge_detections single_link against what a PostGIS user
# runs for the same partition, ST_ClusterDBSCAN(geom, radius, minpoints => 1) OVER (), on 100,000
# EPSG:4326 points in 20,000 clumps (radius 0.005°, as the detection workflow merges), on a
# cluster of its own: each query BENCH_RUNS times (default 3), the best times, the ratio, and
# whether both found the same number of sites; then the geodesic single_link (500 m) and
# iterative_mean (0.005°) on the same points, timed alone in SQL (iterative_mean's peer, the
# original's merge_similar_sites, is Python: test/parity/merge_parity.py --bench times it against
# the kernel, on points of its own).
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
echo "iterative_mean, 0.005 degrees, in SQL (reading the array, building the rows): ${t_iter} ms, $n_iter sites"
