#!/usr/bin/env bash
# interpolate_parity.sh — mlops.interpolate_raster against PostGIS's ST_InterpolateRaster (GDAL
# 3.6) on random points, in one cluster: invdist with several powers and smoothings (also on grids
# large enough for the far field), invdistnn, nearest and linear, each on its own seed, template
# and (for some) UTM-like coordinates; nearest and linear also with duplicated spots (two readings
# at one place) and linear with cells outside the points' hull.  Every cell must agree within
# 1e-6 relative, which is what these paths measure (invdist at most ~5e-7, the rest 0: the bands
# are float32, so two equal doubles can still round 1 ulp apart), and nodata must sit in exactly
# the same cells.
#
# GDAL computes invdist with power 2 and no smoothing in float32 SSE/AVX with an approximate
# reciprocal (off by up to ~4e-4 from its own exact path); the cluster runs with GDAL_USE_SSE=NO
# and GDAL_USE_AVX=NO so GDAL takes its double-precision path, which is the algorithm's value.
# The distance of GDAL's default fast path from it is printed at the end, not tested.
#
# Duplicates.  GDAL's nearest keeps the last of equidistant points, so two readings at one spot
# give the later one, and so must ours: exact parity.  GDAL's linear triangulates with qhull, whose
# vertex at a duplicated spot is whichever copy its insertion history met first (not a rule of the
# input order: measured, the earlier copy at 58% of spots); ours keeps the later.  So the linear
# case with duplicates places each duplicated spot on a cell centre inside the hull, reads there
# which copy GDAL kept, and checks (a) ours on the points without the copies GDAL dropped agrees
# with GDAL in every cell within 1e-6, (b) ours on all points equals, bit for bit, ours on the
# points without the earlier copies; it prints at how many spots GDAL kept the later copy, and in
# how many cells ours on all points differs from GDAL.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

export GDAL_USE_SSE=NO GDAL_USE_AVX=NO
cluster_start || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"

# parity SEED NPOINTS W H ULX ULY CELL GDALOPTS METHOD OPTIONS [SRID] [SPREAD] [DUPS] [OFFSET]
# NPOINTS random points, values in [1, 100]: SPREAD "wide" (default) spreads them over the
# template and a 10% margin around it, "inner" over its middle 80% only (so that cells lie outside
# their hull).  DUPS spots (cell centres in the template's middle half; with OFFSET, at OFFSET
# and 0.618 OFFSET cells from a cell's corner instead, so that no two spots are equally far
# from a cell centre) get two readings each, the first anywhere in the input order, the second
# after it.  Prints
#   cells | max rel. difference (GDAL vs ours on the resolved points) | cells beyond 1e-6 |
#   nodata mismatches | GDAL's nodata cells | cells outside the hull (linear; else -1) |
#   cells where ours differs from ours without the earlier copies | spots where GDAL kept the
#   later copy | spots | cells where ours on all points is beyond 1e-6 from GDAL
# "Resolved" points (linear only; for the other methods all points): all points but, at each
# duplicated spot, the copy that GDAL's value there says it dropped.
parity() {
  local seed=$1 n=$2 w=$3 h=$4 ulx=$5 uly=$6 cell=$7 gopts=$8 method=$9 opts=${10} srid=${11:-3857}
  local spread=${12:-wide} dups=${13:-0} off=${14:-0.5} lo=-0.1 span=1.2 hull='-1'
  [ "$spread" = inner ] && { lo=0.1; span=0.8; }
  [ "$method" = linear ] && hull="(SELECT count(*) FROM cmp, ST_PixelAsCentroids(cmp.gdal, 1, false) c,
      (SELECT ST_ConvexHull(ST_Collect(geom)) AS h FROM pts) hh WHERE NOT ST_Intersects(c.geom, hh.h))"
  psql -XAtq -v ON_ERROR_STOP=1 <<SQL
SELECT setseed($seed);
CREATE TEMP TABLE pts AS
  SELECT random() AS ord, 0 AS spot, 0 AS copy,
         ST_SetSRID(ST_MakePoint($ulx + ($lo + random() * $span) * $w * $cell,
                                 $uly - ($lo + random() * $span) * $h * $cell,
                                 1 + 99 * random()), $srid) AS geom
  FROM generate_series(1, $n);
CREATE TEMP TABLE spots AS
  SELECT row_number() OVER (ORDER BY md5(col || ',' || row)) AS spot, col, row,
         ST_SetSRID(ST_MakePoint($ulx + (col + $off) * $cell,
                                 $uly - (row + CASE WHEN $off = 0.5 THEN 0.5 ELSE 0.618 * $off END) * $cell), $srid) AS at
  FROM (SELECT DISTINCT floor($w * (0.25 + 0.5 * random()))::int AS col,
                        floor($h * (0.25 + 0.5 * random()))::int AS row
        FROM generate_series(1, 3 * $dups)) c
  ORDER BY md5(col || ',' || row) LIMIT $dups;
INSERT INTO pts
  SELECT CASE WHEN copy = 1 THEN 0.5 * random() ELSE 0.5 + 0.5 * random() END, spot, copy,
         ST_SetSRID(ST_MakePoint(ST_X(at), ST_Y(at), 1 + 99 * random()), $srid)
  FROM spots, generate_series(1, 2) AS copy;
CREATE TEMP TABLE cmp AS
WITH t AS (SELECT ST_AddBand(ST_MakeEmptyRaster($w, $h, $ulx, $uly, $cell, -$cell, 0, 0, $srid), '32BF'::text, 0, -9999) AS r),
     g AS (SELECT ST_Force3DZ(ST_Collect(geom ORDER BY ord)) AS g FROM pts),
     later AS (SELECT ST_Force3DZ(ST_Collect(geom ORDER BY ord)) AS g FROM pts WHERE copy <> 1)
SELECT ST_InterpolateRaster(g.g, '$gopts', t.r) AS gdal,
       mlops.interpolate_raster(g.g, t.r, '$method', '$opts'::jsonb) AS ours,
       mlops.interpolate_raster(later.g, t.r, '$method', '$opts'::jsonb) AS ours_later,
       t.r AS tmpl
FROM g, t, later;
-- the copy GDAL kept at each spot: the one whose value its cell there holds
CREATE TEMP TABLE kept AS
  SELECT s.spot, (SELECT p.copy FROM pts p WHERE p.spot = s.spot
                  ORDER BY abs(ST_Z(p.geom) - ST_Value(cmp.gdal, 1, s.at)) LIMIT 1) AS copy
  FROM spots s, cmp;
ALTER TABLE cmp ADD COLUMN ours_res raster;
UPDATE cmp SET ours_res = CASE WHEN '$method' = 'linear' THEN mlops.interpolate_raster(
  (SELECT ST_Force3DZ(ST_Collect(p.geom ORDER BY p.ord)) FROM pts p LEFT JOIN kept k USING (spot)
   WHERE p.spot = 0 OR p.copy = k.copy), cmp.tmpl, '$method', '$opts'::jsonb) ELSE ours END;
SELECT count(*) || '|' ||
       coalesce(max(abs(a - c) / greatest(abs(a), abs(c), 1e-12)), 0) || '|' ||
       count(*) FILTER (WHERE abs(a - c) > 1e-6 * greatest(abs(a), abs(c), 1e-12)) || '|' ||
       count(*) FILTER (WHERE (a = -9999) <> (c = -9999)) || '|' ||
       count(*) FILTER (WHERE a = -9999) || '|' ||
       $hull || '|' ||
       count(*) FILTER (WHERE b IS DISTINCT FROM l) || '|' ||
       (SELECT count(*) FROM kept WHERE copy = 2) || '|' || (SELECT count(*) FROM spots) || '|' ||
       count(*) FILTER (WHERE abs(a - b) > 1e-6 * greatest(abs(a), abs(b), 1e-12) OR (a = -9999) <> (b = -9999))
FROM cmp, unnest(ST_DumpValues(gdal, 1, false), ST_DumpValues(ours, 1, false),
                 ST_DumpValues(ours_later, 1, false), ST_DumpValues(ours_res, 1, false)) AS u(a, b, l, c);
SQL
}

# check NAME NEEDS SEED NPOINTS W H ULX ULY CELL GDALOPTS METHOD OPTIONS [SRID] [SPREAD] [DUPS] [OFFSET]
# NEEDS, comma-separated: "nodata" (GDAL has nodata cells), "outside" (cells outside the hull),
# "filled-outside" (more cells outside the hull than nodata cells: some outside cells got a
# point's value), "qhull" (linear with duplicates: judged on the resolved points, see the top).
# Without "qhull", ours on all points must agree with GDAL in every cell.
check() {
  local name=$1 needs=$2 out cells maxrel bad nodata gnodata outside notlater later spots raw why=
  shift 2
  out=$(parity "$@" 2>&1 | tail -n 1)
  IFS='|' read -r cells maxrel bad nodata gnodata outside notlater later spots raw <<<"$out"
  [ -n "$cells" ] && [ "$cells" = "$(($3 * $4))" ] || why="$why cells;"
  [ "$bad" = 0 ] || why="$why values beyond 1e-6;"
  [ "$nodata" = 0 ] || why="$why nodata cells differ;"
  # nearest and linear keep the later copy; idw weighs both (and a cell on the spot takes the first)
  case "$9" in nearest|linear) [ "$notlater" = 0 ] || why="$why ours is not ours without the earlier copies;" ;; esac
  case ",$needs," in *,qhull,*) ;; *) [ "$raw" = 0 ] || why="$why cells differ;" ;; esac
  case ",$needs," in *,nodata,*) [ "${gnodata:-0}" -gt 0 ] 2>/dev/null || why="$why no nodata cell;" ;; esac
  case ",$needs," in *,outside,*) [ "${outside:-0}" -gt 0 ] 2>/dev/null || why="$why no cell outside the hull;" ;; esac
  case ",$needs," in *,filled-outside,*)
    [ "${outside:-0}" -gt "${gnodata:-0}" ] 2>/dev/null || why="$why no filled cell outside the hull;" ;; esac
  if [ -z "$why" ]; then
    local extra=
    [ "$outside" != -1 ] && extra="$extra, $outside outside the hull"
    [ "$gnodata" != 0 ] || [ "$outside" != -1 ] && extra="$extra, $gnodata nodata"
    case "$spots:$9" in
      0:*) ;;
      *:nearest|*:linear) extra="$extra, GDAL kept the later reading at $later of $spots duplicated spots" ;;
      *) extra="$extra, $spots duplicated spots" ;;
    esac
    case ",$needs," in *,qhull,*) extra="$extra (ours on all points differs from GDAL in $raw cells)" ;; esac
    ok 0 "$name: $cells cells, max relative difference $maxrel$extra"
  else
    ok 1 "$name:$why"
    echo "#   cells|max rel|beyond 1e-6|nodata mismatches|GDAL nodata|outside hull|ours vs later|later kept|spots|cells differ: $out"
  fi
}

check "invdist power 2 smoothing 0" '' 0.11 300 97 83 1000 2000 10 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"power": 2, "smoothing": 0, "nodata": -9999}'
check "invdist power 3 smoothing 1" '' 0.12 300 90 70 0 900 10 \
  'invdist:power=3.0:smoothing=1.0:nodata=-9999' idw '{"power": 3, "smoothing": 1, "nodata": -9999}'
check "invdist power 1 smoothing 0" '' 0.13 250 60 50 -500 500 20 \
  'invdist:power=1.0:smoothing=0.0:nodata=-9999' idw '{"power": 1, "nodata": -9999}'
check "invdist power 2 smoothing 5" '' 0.14 250 60 50 -500 500 20 \
  'invdist:power=2.0:smoothing=5.0:nodata=-9999' idw '{"power": 2, "smoothing": 5, "nodata": -9999}'
check "invdist power 2.5 smoothing 0.5" '' 0.15 200 70 40 0 400 10 \
  'invdist:power=2.5:smoothing=0.5:nodata=-9999' idw '{"power": 2.5, "smoothing": 0.5, "nodata": -9999}'
check "invdist power 2, UTM-like coordinates" '' 0.16 400 80 80 500000 4600800 10 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"nodata": -9999}' 32632
# large enough for the far field (tiles of 64 x 64 cells, points far from a tile interpolated)
check "invdist power 2, 400 x 360 cells (far field)" '' 0.17 1000 400 360 0 1800 5 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"nodata": -9999}'
check "invdist power 3 smoothing 1, 300 x 300 cells (far field)" '' 0.18 800 300 300 -2000 3000 10 \
  'invdist:power=3.0:smoothing=1.0:nodata=-9999' idw '{"power": 3, "smoothing": 1, "nodata": -9999}'
# about 9 points within radius 45 on average: max_points and the radius both bind
check "invdistnn max_points 8 radius 45" '' 0.21 2000 100 100 0 1000 10 \
  'invdistnn:power=2.0:smoothing=0.0:radius=45:max_points=8:min_points=0:nodata=-9999' idw \
  '{"power": 2, "radius": 45, "max_points": 8, "nodata": -9999}'
check "invdist power 2, 35 spots read twice" '' 0.19 200 80 70 0 700 10 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"nodata": -9999}' 3857 wide 35
# spots off the cell centres: on them, distinct spots tie at lattice distances, and GDAL's list
# takes distinct equidistant points in its quadtree's order, which no rule reproduces (copies of
# one spot share a quadtree node, in input order)
check "invdistnn max_points 8 radius 45, 35 spots read twice" '' 0.24 1200 80 80 0 800 10 \
  'invdistnn:power=2.0:smoothing=0.0:radius=45:max_points=8:min_points=0:nodata=-9999' idw \
  '{"power": 2, "radius": 45, "max_points": 8, "nodata": -9999}' 3857 wide 35 0.3
check "invdistnn power 3 radius 60 min_points 3" '' 0.22 1500 100 80 0 800 10 \
  'invdistnn:power=3.0:smoothing=0.0:radius=60:max_points=0:min_points=3:nodata=-9999' idw \
  '{"power": 3, "radius": 60, "min_points": 3, "nodata": -9999}'
check "invdistnn smoothing 2 radius 100 max_points 5" '' 0.23 800 64 64 1000 1640 10 \
  'invdistnn:power=2.0:smoothing=2.0:radius=100:max_points=5:min_points=1:nodata=-9999' idw \
  '{"smoothing": 2, "radius": 100, "max_points": 5, "min_points": 1, "nodata": -9999}'
check "nearest" '' 0.31 500 100 90 0 900 10 \
  'nearest:radius1=0.0:radius2=0.0:nodata=-9999' nearest '{"nodata": -9999}'
check "nearest, 35 spots read twice" '' 0.32 300 80 70 0 700 10 \
  'nearest:radius1=0.0:radius2=0.0:nodata=-9999' nearest '{"nodata": -9999}' 3857 wide 35
# 30 + 2 x 35 = 100 points: GDAL 3.6 searches a radius with its quadtree beyond 100 points, and
# then takes the nearest point in the square of half-side radius, corners included (newer GDAL
# checks the circle, as ours does; see docs/interpolation.md); up to 100 it checks the circle.
check "nearest radius 40, 35 spots read twice, points inside" nodata 0.33 30 80 70 0 700 10 \
  'nearest:radius1=40.0:radius2=40.0:nodata=-9999' nearest '{"radius": 40, "nodata": -9999}' 3857 inner 35
check "linear, nodata outside the hull" nodata,outside 0.41 600 110 90 0 900 10 \
  'linear:radius=0:nodata=-9999' linear '{"nodata": -9999}' 3857 inner
check "linear, nearest point outside the hull (radius -1)" outside 0.42 300 80 60 0 600 10 \
  'linear:radius=-1:nodata=-9999' linear '{"radius": -1, "nodata": -9999}' 3857 inner
check "linear, nearest point within 25 outside the hull" nodata,outside,filled-outside 0.43 300 80 60 0 600 10 \
  'linear:radius=25:nodata=-9999' linear '{"radius": 25, "nodata": -9999}' 3857 inner
check "linear, 35 spots read twice" nodata,outside,qhull 0.44 400 90 80 0 800 10 \
  'linear:radius=0:nodata=-9999' linear '{"nodata": -9999}' 3857 inner 35

# How far GDAL's default float32 path is from its exact one (diagnostic, not a test).
cluster_stop
unset GDAL_USE_SSE GDAL_USE_AVX
cluster_start || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
out=$(parity 0.11 300 97 83 1000 2000 10 'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw \
  '{"power": 2, "smoothing": 0, "nodata": -9999}' 2>&1 | tail -n 1)
echo "# GDAL's default SSE/AVX invdist (power 2, smoothing 0) against ours: max relative difference $(cut -d'|' -f2 <<<"$out")"

done_testing
