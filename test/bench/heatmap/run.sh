#!/usr/bin/env bash
# test/bench/heatmap/run.sh — the heatmap pipeline at scale (`make bench`, or BENCH=heatmap):
# 2,000 sensors with three readings each (plus sentinels and duplicates) over a 20 km square,
# a 1000 x 1000 grid, IDW power 4 fading beyond 800 m with Gaussian sigma 1.5, masked to the
# area, then a GeoTIFF, a PNG, an SVG and the JSON.  Prints the run's total time and each step's
# share (its job's time, from claim to end; the export steps run side by side).
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
. test/lib/tap.sh    # poll_sql

cluster_start --db mlops_bench --conf "postgis.gdal_enabled_drivers = 'GTiff PNG'" || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null || exit 1
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SELECT setseed(0.25);
CREATE TABLE public.areas (id int PRIMARY KEY, geom geometry(Polygon, 32632));
INSERT INTO public.areas VALUES (1, ST_MakeEnvelope(670000, 4840000, 690000, 4860000, 32632));
CREATE TABLE public.readings (sensor_id text, observed_at timestamptz, value float8, geom geometry(Point, 32632));
INSERT INTO public.readings
SELECT 's' || i, '2026-01-01 10:00+00'::timestamptz + k * interval '10 minutes', v + k,
       ST_SetSRID(ST_MakePoint(x, y), 32632)
FROM (SELECT i, 670000 + 20000 * random() AS x, 4840000 + 20000 * random() AS y, 10 + 50 * random() AS v
      FROM generate_series(1, 2000) i) s, generate_series(0, 2) k;
INSERT INTO public.readings SELECT sensor_id, '2026-01-01 10:05+00', -9999, geom FROM public.readings WHERE observed_at = '2026-01-01 10:00+00';
ANALYZE public.readings;
SQL

config='{"area_id": 1, "from": "2026-01-01 09:00+00", "to": "2026-01-01 12:00+00",
  "grid": {"max_cells": 1000000, "min_cell_size": 1},
  "outputs": {"geotiff": ["b/h.tif"], "png": ["b/h.png"], "svg": ["b/h.svg"], "json": ["b/h.json"]}}'
t0=$(date +%s.%N)
run=$(psql -XAtq -c "SELECT mlops.start_run('heatmap', '$config')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 600 >/dev/null \
  || { psql -XAtc "SELECT step || ' ' || state || ' ' || coalesce(error, '') FROM mlops.run_steps WHERE run_id = '$run'"; exit 1; }
t1=$(date +%s.%N)
total=$(echo "$t1 - $t0" | bc)

echo
psql -XAt -F ' | ' -c "SELECT 'grid ' || ST_Width(raster) || ' x ' || ST_Height(raster) || ' cells of ' || ST_ScaleX(raster) || ' m, '
                               || sensor_count || ' sensors' FROM mlops.heatmaps"
printf '%-40s %8.2f s\n' "heatmap run, start_run to its end" "$total"
psql -XAt -F ' ' -c "
  SELECT s.step, sum(extract(epoch FROM j.finished_at - j.started_at))
  FROM mlops.run_steps s JOIN mlops.jobs j ON j.id = ANY (s.job_ids)
  WHERE s.run_id = '$run' GROUP BY s.step, s.ord ORDER BY s.ord" |
while read -r step secs; do
  printf '  %-38s %8.2f s  %5.1f%%\n' "$step" "$secs" "$(echo "100 * $secs / $total" | bc -l)"
done
