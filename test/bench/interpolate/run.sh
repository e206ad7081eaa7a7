#!/usr/bin/env bash
# test/bench/interpolate/run.sh — mlops.interpolate_raster against PostGIS's ST_InterpolateRaster
# (GDAL 3.6, with its default SSE/AVX code and all CPUs) on the same 1000 x 1000 template, in the
# same backend (`make bench`, or BENCH=interpolate):
#   1. idw over all 2,000 points (GDAL invdist power 2: vectorised and threaded);
#   2. idw with max_points 12 (radius 50) on 100,000 points (GDAL invdistnn);
#   3. nearest with a radius of 50 on 100,000 points (GDAL nearest, about a minute);
#   4. linear on 100,000 points (GDAL linear, qhull);
#   5. kriging's own time (fitted spherical variogram, 16 neighbours) at 2,000 and 20,000 points.
# Points are uniform over the template with values in [1, 100]; each geometry is read from a
# table through ST_Force3DZ on both sides (PostGIS 3.3 needs it).  Medians of BENCH_RUNS runs
# (default 3) for ours and the fast GDAL cases, one run for the GDAL cases that take minutes;
# each series runs in one session after a warm-up call, so no library loading is timed.
# mlops.compute_threads is 0 (a thread per CPU), as GDAL uses all CPUs.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh

RUNS=${BENCH_RUNS:-3}
cluster_start --db mlops_bench || exit 1
trap 'cluster_stop' EXIT
err=$(psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' 2>&1 >/dev/null) \
  || { echo "interpolate bench: CREATE EXTENSION failed: $err" >&2; exit 1; }

psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SELECT setseed(0.5);
CREATE TABLE bench_points (n int PRIMARY KEY, geom geometry);
INSERT INTO bench_points
SELECT n, (SELECT ST_SetSRID(ST_Collect(ST_MakePoint(random() * 1000, random() * 1000, 1 + 99 * random())), 3857)
           FROM generate_series(1, n))
FROM unnest(ARRAY[2000, 20000, 100000]) AS n;
CREATE TABLE bench_template AS
SELECT ST_AddBand(ST_MakeEmptyRaster(1000, 1000, 0, 1000, 1, -1, 0, 0, 3857), '32BF'::text, 0, -9999) AS r;
-- seconds to evaluate expr once (the raster is built in full: its width is read)
CREATE FUNCTION bench_time(expr text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; w int;
BEGIN
  t0 := clock_timestamp();
  EXECUTE 'SELECT ST_Width(' || expr || ') FROM bench_template t' INTO w;
  IF w IS NULL THEN RAISE EXCEPTION 'no raster from %', expr; END IF;
  RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
SQL

# time_median RUNS EXPR -> median seconds of RUNS evaluations, in one session whose libraries
# (pg_mlops, PostGIS, GDAL) were loaded by a small warm-up call on both sides first
time_median() {
  local runs=$1 expr=$2
  psql -XAtq -v ON_ERROR_STOP=1 \
    -c "SELECT ST_Width(mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r)),
               ST_Width(ST_InterpolateRaster('SRID=3857;POINT Z (1 1 1)'::geometry, 'invdist', r))
        FROM (SELECT ST_AddBand(ST_MakeEmptyRaster(2, 2, 0, 2, 1, -1, 0, 0, 3857), '32BF'::text) AS r) t" \
    -c "SELECT bench_time(\$e\$$expr\$e\$) FROM generate_series(1, $runs)" | tail -n "$runs" \
    | sort -g | awk '{a[NR] = $1} END {printf "%.3f", a[int((NR + 1) / 2)]}'
}

pts() { echo "(SELECT ST_Force3DZ(geom) FROM bench_points WHERE n = $1)"; }

printf '%-46s %10s %10s %8s %6s\n' "case (1000 x 1000 cells)" "pg_mlops" "PostGIS" "ratio" "aim"
row() {  # row NAME OURS_EXPR GDAL_EXPR GDAL_RUNS AIM
  local ours gdal
  ours=$(time_median "$RUNS" "$2") || { echo "$1: pg_mlops failed"; return 1; }
  gdal=$(time_median "$4" "$3") || { echo "$1: PostGIS failed"; return 1; }
  printf '%-46s %9ss %9ss %7sx %5sx\n' "$1" "$ours" "$gdal" "$(echo "scale=1; $gdal / $ours" | bc)" "$5"
}

row "idw, all 2,000 points (power 2)" \
  "mlops.interpolate_raster($(pts 2000), t.r, 'idw', '{\"power\": 2}')" \
  "ST_InterpolateRaster($(pts 2000), 'invdist:power=2.0:smoothing=0.0', t.r)" "$RUNS" 1.5
row "idw, power 3 smoothing 1, all 2,000 points" \
  "mlops.interpolate_raster($(pts 2000), t.r, 'idw', '{\"power\": 3, \"smoothing\": 1}')" \
  "ST_InterpolateRaster($(pts 2000), 'invdist:power=3.0:smoothing=1.0', t.r)" 1 -
row "idw, max_points 12 radius 50, 100,000 points" \
  "mlops.interpolate_raster($(pts 100000), t.r, 'idw', '{\"max_points\": 12, \"radius\": 50}')" \
  "ST_InterpolateRaster($(pts 100000), 'invdistnn:power=2.0:max_points=12:radius=50', t.r)" 1 2
row "nearest, radius 50, 100,000 points" \
  "mlops.interpolate_raster($(pts 100000), t.r, 'nearest', '{\"radius\": 50}')" \
  "ST_InterpolateRaster($(pts 100000), 'nearest:radius1=50:radius2=50', t.r)" 1 50
row "linear, 100,000 points" \
  "mlops.interpolate_raster($(pts 100000), t.r, 'linear', '{\"radius\": -1}')" \
  "ST_InterpolateRaster($(pts 100000), 'linear', t.r)" "$RUNS" 2

for n in 2000 20000; do
  k=$(time_median "$RUNS" "mlops.interpolate_raster($(pts $n), t.r, 'kriging', '{\"max_points\": 16}')") || exit 1
  printf '%-46s %9ss\n' "kriging, $n points, 16 neighbours (fitted)" "$k"
done
k=$(time_median "$RUNS" "mlops.interpolate_raster($(pts 2000), t.r, 'kriging', '{\"max_points\": 0}')") || exit 1
printf '%-46s %9ss\n' "kriging, 2000 points, global system" "$k"
echo "threads: $(psql -XAtqc "SELECT current_setting('mlops.compute_threads')") (0: one per CPU, $(nproc) here)"
