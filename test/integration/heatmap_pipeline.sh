#!/usr/bin/env bash
# heatmap_pipeline.sh — the heatmap pipeline (the heatmap service, seed 000) end to end, started
# by an analyst role that holds the grants of docs/security.md and may read the readings and areas tables:
# readings of 40 sample sensors (test/data/sensors_sample.sql) three times each plus sentinel
# values and duplicate readings; the run computes the raster masked to the area, stores it in
# mlops.heatmaps, writes a GeoTIFF (gdalinfo: SRID, size, nodata), a PNG, an SVG (rendered) and
# the service's JSON, and uploads the SVG to a real nginx WebDAV with a granted credential.  The
# same request again is the same run, nothing recomputed.  An area with too few sensors after
# duplicates are dropped fails the run with the reason and uploads nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh

cluster_start --conf "postgis.gdal_enabled_drivers = 'GTiff PNG'" || exit 1
served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_heat.XXXXXX")
trap 'cluster_stop; rm -rf "$served"' EXIT
mkdir -p "$served/dav"
printf 'carto:{PLAIN}maps-and-more\n' > "$served/htpasswd"
chmod -R a+rwX "$served"
nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path off; client_max_body_size 0; auth_basic dav; auth_basic_user_file $served/htpasswd; }" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, nginx WebDAV at $NGINX_URL/dav/"
is "$(psql -XAtq -c "SELECT name || ' ' || steps FROM mlops.pipelines WHERE name = 'heatmap'")" "heatmap 6" \
   "the heatmap pipeline is installed with the extension"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
readme_grants application app analyst | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TABLE public.areas (id int PRIMARY KEY, name text, geom geometry(Polygon, 32632));
CREATE TABLE public.readings (sensor_id text, observed_at timestamptz, value float8, geom geometry(Point, 32632));
\i test/data/sensors_sample.sql
INSERT INTO public.areas SELECT 7, 'Florence', ST_Buffer(ST_ConvexHull(ST_Collect(geom)), 300) FROM sensor_readings;
INSERT INTO public.areas SELECT 8, 'one street', ST_Buffer(geom, 50) FROM sensor_readings WHERE id = 1;
-- three readings a sensor in the window, one outside it
INSERT INTO public.readings SELECT name, '2026-01-01 10:00+00'::timestamptz + k * interval '10 minutes', value + k, geom
FROM sensor_readings, generate_series(0, 2) k;
INSERT INTO public.readings SELECT name, '2026-01-02 10:00+00', 500, geom FROM sensor_readings;
-- sentinel values, which must go before the per-sensor maximum, and duplicate readings
INSERT INTO public.readings SELECT name, '2026-01-01 10:05+00', s, geom FROM sensor_readings, unnest(ARRAY[9999, -9999, 999, -999]) s;
INSERT INTO public.readings SELECT name, '2026-01-01 10:00+00', value, geom FROM sensor_readings;
GRANT SELECT ON public.readings, public.areas TO analyst;
SELECT mlops.set_credential('maps', 'webdav', '{"url": "$NGINX_URL/dav/", "username": "carto", "password": "maps-and-more"}');
SELECT mlops.grant_credential('maps', 'analyst');
SQL
ok $? "sample readings (40 sensors, sentinels, duplicates), areas, and a WebDAV credential granted to analyst"

config='{"area_id": 7, "from": "2026-01-01 09:00+00", "to": "2026-01-01 12:00+00", "aggregate": "max",
  "outputs": {"geotiff": ["heat/florence.tif"], "png": ["heat/florence.png"], "svg": ["heat/florence.svg"], "json": ["heat/florence.json"]},
  "upload": [{"path": "heat/florence.svg", "credential": "maps", "target": "heatmaps/2026/florence.svg"}]}'
run=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('heatmap', '$config')")
ok $? "analyst starts a heatmap run ($run)"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 120
poll_status=$?; ok $poll_status "the run succeeds"; [ $poll_status -eq 0 ] || psql -XAtc "SELECT step || ' ' || state || ' ' || coalesce(error, '') FROM mlops.run_steps WHERE run_id = '$run' ORDER BY ord" | sed 's/^/# /'
is "$(psql -XAtq -c "SELECT owner || ' ' || sensor_count || ' ' || area_id FROM mlops.heatmaps")" "analyst 40 7" \
   "one heatmap, owned by analyst, from 40 sensors"
is "$(psql -XAtq -c "SELECT (result ->> 'value')::jsonb ->> 'readings' FROM mlops.run_steps WHERE run_id = '$run' AND step = 'compute'")" 120 \
   "120 readings used: the window's three a sensor, sentinels and duplicates dropped"
is "$(psql -XAtq -c "SELECT max < 100 FROM mlops.heatmaps")" t \
   "the per-sensor maximum never picked a sentinel value"
area="$PGDATA/pg_mlops/roles/$(psql -XAtq -c "SELECT 'analyst'::regrole::oid")/heat"
info=$(gdalinfo "$area/florence.tif" 2>&1)
grep -q 'ID\["EPSG",32632\]' <<<"$info" && grep -q 'NoData Value=-9999' <<<"$info" \
  && grep -q "Size is $(psql -XAtq -c "SELECT ST_Width(raster) || ', ' || ST_Height(raster) FROM mlops.heatmaps")" <<<"$info"
ok $? "the GeoTIFF opens with gdalinfo: EPSG:32632, the raster's size, nodata -9999"
[ "$(head -c 8 "$area/florence.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
ok $? "the PNG is a PNG"
rsvg-convert "$area/florence.svg" -o "$served/rendered.png" 2>/dev/null && [ -s "$served/rendered.png" ] \
  && grep -q 'NO2 µg/m³' "$area/florence.svg" && [ "$(grep -o '<circle' "$area/florence.svg" | wc -l)" -ge 40 ]
ok $? "the SVG renders, with its units and the 40 sensors"
n_area=$(psql -XAtq -c "SELECT ST_NPoints(area) FROM mlops.heatmaps")
n_path=$(grep -o '<path d="[^"]*" fill="none"' "$area/florence.svg" | head -n 1 | grep -o '[ML][0-9.-]* ' | wc -l)
ok $([ -n "$n_area" ] && [ "$n_area" -gt 3 ] && [ "$n_path" = "$n_area" ]; echo $?) "the SVG outlines the area: a path of its $n_area vertices (drawn: $n_path)"
/usr/bin/python3 - "$area/florence.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["srid"] == 32632 and len(d["bbox"]) == 4 and d["cell_size"] > 0, d.keys()
rows = d["values"]
assert len(rows) == d["height"] and all(len(r) == d["width"] for r in rows)
flat = [v for r in rows for v in r]
assert any(v is None for v in flat), "cells outside the area are null"
assert all(v is None or d["min"] - 1e-6 <= v <= d["max"] + 1e-6 for v in flat)
PY
ok $? "the JSON has the bounding box, the cell size and rows of values with nodata as null"
cmp -s "$area/florence.svg" "$served/dav/heatmaps/2026/florence.svg"
ok $? "the SVG was uploaded to WebDAV, byte-identical"

# the same request again: the same run, nothing recomputed
again=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('heatmap', '$config')")
is "$again|$(psql -XAtq -c 'SELECT count(*) FROM mlops.heatmaps')|$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run'")" \
   "$run|1|$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run'")" "the same config again is the same run: one heatmap, no job queued"

# too few sensors once duplicates are dropped: the run fails with the reason, nothing uploaded
few='{"area_id": 8, "from": "2026-01-01 09:00+00", "to": "2026-01-01 12:00+00", "min_sensors": 2,
  "outputs": {"svg": ["heat/street.svg"]}, "upload": [{"path": "heat/street.svg", "credential": "maps", "target": "heatmaps/street.svg"}]}'
run2=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('heatmap', '$few')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run2'" failed 60
ok $? "an area with one sensor fails the run"
is "$(psql -XAtq -c "SELECT failed_step || ': ' || failed_error FROM mlops.run_progress WHERE run_id = '$run2'")" \
   "compute: area 8 has 1 sensors with valid readings in the window, fewer than min_sensors 2 (3 readings left after dropping sentinel values and duplicates.)" \
   "run_progress names the failing step and its reason"
[ ! -e "$served/dav/heatmaps/street.svg" ] && [ ! -e "$area/street.svg" ]
ok $? "nothing was written or uploaded"
is "$(psql -XAtq -c "SELECT string_agg(step || ':' || state, ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run2'")" \
   "compute:failed geotiff:skipped png:skipped svg:skipped json:skipped upload:skipped" "every later step is skipped"

# another role sees none of it
psql -XAtq -c "CREATE ROLE other LOGIN; GRANT SELECT ON mlops.heatmaps TO other" >/dev/null
is "$(psql -XAtq -U other -c 'SELECT count(*) FROM mlops.heatmaps')" 0 "another role, granted the table, sees no heatmap of analyst's"

done_testing
