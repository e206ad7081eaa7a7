#!/usr/bin/env bash
# merge_geodesic_parity.sh — mlops.merge_detections with geodesic: true (single_link and dbscan,
# radius in metres on the WGS84 ellipsoid) against PostGIS's ST_DWithin(geography, geography, r,
# true) deciding the neighbourhoods, on random EPSG:4326 point sets and on pairs at their own
# distance: test/parity/merge_geodesic_parity.py on a cluster of its own.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --db mlops_geodesic || { echo "not ok 1 - cluster starts"; echo "1..1"; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE" >/dev/null 2>&1
out=$(/usr/bin/python3 test/parity/merge_geodesic_parity.py --tap-offset "$TAP_N" --no-plan 2>&1)
status=$?
echo "$out"
TAP_N=$((TAP_N + $(grep -cE '^(not )?ok [0-9]+' <<<"$out")))
[ "$status" -eq 0 ] || TAP_FAILED=$((TAP_FAILED + 1))
done_testing
