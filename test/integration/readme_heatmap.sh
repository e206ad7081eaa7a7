#!/usr/bin/env bash
# readme_heatmap.sh — the heatmap example of docs/interpolation.md (the block after
# "<!-- example: heatmap"; it was the README's), run as written on zones and readings of its own
# in UTM 33N (metres), and its results checked: the template keeps the zone's
# SRID, the PointZ readings keep theirs (the example used to drop it with ST_MakePoint and fail
# against the template), the heatmap has values, the array form and the PNG work.  Also checks
# that make_grid refuses the same zone in EPSG:4326 (degrees) without a cell_size.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --conf "postgis.gdal_enabled_drivers = 'PNG'" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops CASCADE;
CREATE TABLE zones (id int PRIMARY KEY, area geometry(Polygon, 32633));
INSERT INTO zones VALUES (7, ST_Transform(ST_MakeEnvelope(13.30, 52.45, 13.36, 52.49, 4326), 32633));
CREATE TABLE readings (sensor text, no2 float8, geom geometry(Point, 32633));
SELECT setseed(0.17);
INSERT INTO readings
SELECT 's' || g, 20 + 30 * random(),
       ST_Transform(ST_SetSRID(ST_MakePoint(13.30 + 0.06 * random(), 52.45 + 0.04 * random()), 4326), 32633)
FROM generate_series(1, 25) g;
SQL
ok $? "zones and 25 readings in EPSG:32633"

block=$(awk '/^<!-- example: heatmap/ {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/interpolation.md)
[ -n "$block" ]
ok $? "the heatmap example of docs/interpolation.md was found ($(wc -l <<<"$block") lines)"
out=$(psql -XAtq -v ON_ERROR_STOP=1 -c "SET postgis.gdal_enabled_drivers = 'PNG'" -f - <<<"$block" 2>&1)
status=$?
ok $status "the heatmap example of docs/interpolation.md runs as written"
[ $status -eq 0 ] || sed 's/^/# /' <<<"$out"

is "$(psql -XAtq -c "SELECT ST_SRID(grid) || ' ' || (ST_Width(grid) > 10) FROM grids")" "32633 true" \
   "the template is in the zone's CRS, in metres (more than 10 cells a side)"
is "$(psql -XAtq -c "SELECT ST_SRID(h.heat) || ' ' || (s.count > 0) || ' ' || (s.max BETWEEN (SELECT min(no2) FROM readings) AND (SELECT max(no2) FROM readings))
                     FROM heatmaps h, ST_SummaryStats(h.heat, 1, true) s")" \
   "32633 true true" "the heatmap has values, its largest within the readings' range"
grep -q '^[0-9][0-9]*$' <<<"$(tail -n 1 <<<"$out")" && [ "$(tail -n 1 <<<"$out")" -gt 100 ]
ok $? "the PNG has bytes ($(tail -n 1 <<<"$out"))"

out=$(psql -XAtq -c "SELECT mlops.make_grid(ST_Transform(area, 4326)) FROM zones" 2>&1)
grep -q 'geographic CRS' <<<"$out"
ok $? "make_grid refuses the zone in EPSG:4326 without a cell_size ($(head -n 1 <<<"$out"))"
out=$(psql -XAtq -c "SELECT mlops.interpolate_raster((SELECT ST_Collect(ST_MakePoint(ST_X(r.geom), ST_Y(r.geom), r.no2)) FROM readings r), g.grid) FROM grids g" 2>&1)
[ $? -ne 0 ]
ok $? "the old example (ST_MakePoint without its SRID) is refused: $(head -n 1 <<<"$out")"

done_testing
