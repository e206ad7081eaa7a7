#!/usr/bin/env bash
# interpolate_parity.sh — mlops.interpolate_raster against PostGIS's ST_InterpolateRaster (GDAL
# 3.6) on random points, in one cluster: invdist with several powers and smoothings (also on grids
# large enough for the far field), invdistnn, nearest and linear, each on its own seed, template
# and (for some) UTM-like coordinates.  Every cell must agree within 1e-4 relative (the bands are
# float32).
#
# GDAL computes invdist with power 2 and no smoothing in float32 SSE/AVX with an approximate
# reciprocal (off by up to ~4e-4 from its own exact path); the cluster runs with GDAL_USE_SSE=NO
# and GDAL_USE_AVX=NO so GDAL takes its double-precision path, which is the algorithm's value.
# How far GDAL's default fast path is from it is printed as a diagnostic.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

export GDAL_USE_SSE=NO GDAL_USE_AVX=NO
cluster_start || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"

# parity SEED NPOINTS W H ULX ULY CELL GDALOPTS METHOD OPTIONS [SRID]
# Random points over the template (a margin around it too), values in [1, 100];
# prints "cells|max relative difference|cells beyond 1e-4|nodata mismatches".
parity() {
  local seed=$1 n=$2 w=$3 h=$4 ulx=$5 uly=$6 cell=$7 gopts=$8 method=$9 opts=${10} srid=${11:-3857}
  psql -XAtq -v ON_ERROR_STOP=1 <<SQL
SELECT setseed($seed);
CREATE TEMP TABLE pts AS
  SELECT ST_SetSRID(ST_MakePoint($ulx - 0.1 * $w * $cell + random() * 1.2 * $w * $cell,
                                 $uly + 0.1 * $h * $cell - random() * 1.2 * $h * $cell,
                                 1 + 99 * random()), $srid) AS geom
  FROM generate_series(1, $n);
CREATE TEMP TABLE cmp AS
WITH t AS (SELECT ST_AddBand(ST_MakeEmptyRaster($w, $h, $ulx, $uly, $cell, -$cell, 0, 0, $srid), '32BF'::text, 0, -9999) AS r),
     g AS (SELECT ST_Force3DZ(ST_Collect(geom)) AS g FROM pts)
SELECT ST_InterpolateRaster(g.g, '$gopts', t.r) AS gdal,
       mlops.interpolate_raster(g.g, t.r, '$method', '$opts'::jsonb) AS ours
FROM g, t;
SELECT count(*) || '|' ||
       coalesce(max(abs(a - b) / greatest(abs(a), abs(b), 1e-12)), 0) || '|' ||
       count(*) FILTER (WHERE abs(a - b) > 1e-4 * greatest(abs(a), abs(b), 1e-12)) || '|' ||
       count(*) FILTER (WHERE (a = -9999) <> (b = -9999))
FROM cmp, unnest(ST_DumpValues(gdal, 1, false), ST_DumpValues(ours, 1, false)) AS u(a, b);
SQL
}

check() {  # check NAME SEED NPOINTS W H ULX ULY CELL GDALOPTS METHOD OPTIONS [SRID]
  local name=$1 out cells maxrel bad nodata
  shift
  out=$(parity "$@" 2>&1 | tail -n 1)
  IFS='|' read -r cells maxrel bad nodata <<<"$out"
  if [ -n "$cells" ] && [ "$cells" = "$(($3 * $4))" ] && [ "$bad" = 0 ] && [ "$nodata" = 0 ]; then
    ok 0 "$name: $cells cells, max relative difference $maxrel"
  else
    ok 1 "$name"
    echo "#   cells|max rel|beyond 1e-4|nodata mismatches: $out"
  fi
}

check "invdist power 2 smoothing 0" 0.11 300 97 83 1000 2000 10 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"power": 2, "smoothing": 0, "nodata": -9999}'
check "invdist power 3 smoothing 1" 0.12 300 90 70 0 900 10 \
  'invdist:power=3.0:smoothing=1.0:nodata=-9999' idw '{"power": 3, "smoothing": 1, "nodata": -9999}'
check "invdist power 1 smoothing 0" 0.13 250 60 50 -500 500 20 \
  'invdist:power=1.0:smoothing=0.0:nodata=-9999' idw '{"power": 1, "nodata": -9999}'
check "invdist power 2 smoothing 5" 0.14 250 60 50 -500 500 20 \
  'invdist:power=2.0:smoothing=5.0:nodata=-9999' idw '{"power": 2, "smoothing": 5, "nodata": -9999}'
check "invdist power 2.5 smoothing 0.5" 0.15 200 70 40 0 400 10 \
  'invdist:power=2.5:smoothing=0.5:nodata=-9999' idw '{"power": 2.5, "smoothing": 0.5, "nodata": -9999}'
check "invdist power 2, UTM-like coordinates" 0.16 400 80 80 500000 4600800 10 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"nodata": -9999}' 32632
# large enough for the far field (tiles of 64 x 64 cells, points far from a tile interpolated)
check "invdist power 2, 400 x 360 cells (far field)" 0.17 1000 400 360 0 1800 5 \
  'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw '{"nodata": -9999}'
check "invdist power 3 smoothing 1, 300 x 300 cells (far field)" 0.18 800 300 300 -2000 3000 10 \
  'invdist:power=3.0:smoothing=1.0:nodata=-9999' idw '{"power": 3, "smoothing": 1, "nodata": -9999}'
check "invdistnn max_points 12 radius 150" 0.21 2000 100 100 0 1000 10 \
  'invdistnn:power=2.0:smoothing=0.0:radius=150:max_points=12:min_points=0:nodata=-9999' idw \
  '{"power": 2, "radius": 150, "max_points": 12, "nodata": -9999}'
check "invdistnn power 3 radius 60 min_points 3" 0.22 1500 100 80 0 800 10 \
  'invdistnn:power=3.0:smoothing=0.0:radius=60:max_points=0:min_points=3:nodata=-9999' idw \
  '{"power": 3, "radius": 60, "min_points": 3, "nodata": -9999}'
check "invdistnn smoothing 2 radius 100 max_points 5" 0.23 800 64 64 1000 1640 10 \
  'invdistnn:power=2.0:smoothing=2.0:radius=100:max_points=5:min_points=1:nodata=-9999' idw \
  '{"smoothing": 2, "radius": 100, "max_points": 5, "min_points": 1, "nodata": -9999}'
check "nearest" 0.31 500 100 90 0 900 10 \
  'nearest:radius1=0.0:radius2=0.0:nodata=-9999' nearest '{"nodata": -9999}'
check "linear, nodata outside the hull" 0.41 600 110 90 0 900 10 \
  'linear:radius=0:nodata=-9999' linear '{"nodata": -9999}'
check "linear, nearest point outside the hull (radius -1)" 0.42 300 80 60 0 600 10 \
  'linear:radius=-1:nodata=-9999' linear '{"radius": -1, "nodata": -9999}'

# How far GDAL's default float32 path is from its exact one (diagnostic, not a test).
cluster_stop
unset GDAL_USE_SSE GDAL_USE_AVX
cluster_start || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
out=$(parity 0.11 300 97 83 1000 2000 10 'invdist:power=2.0:smoothing=0.0:nodata=-9999' idw \
  '{"power": 2, "smoothing": 0, "nodata": -9999}' 2>&1 | tail -n 1)
echo "# GDAL's default SSE/AVX invdist (power 2, smoothing 0) against ours: max relative difference $(cut -d'|' -f2 <<<"$out")"

done_testing
