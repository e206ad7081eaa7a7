#!/usr/bin/env bash
# test/demo.sh — what `make demo` runs: install what is missing, build, install, start a
# throwaway cluster and print a short tour of every feature (test/demo.sql).  The cluster is
# stopped and removed at the end.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash test/install-deps.sh || exit 1
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "== building and installing pg_mlops"
make -s >/dev/null || exit 1
$SUDO make -s install >/dev/null || exit 1

echo "== starting a throwaway cluster (shared_preload_libraries = 'pg_cron,pg_mlops')"
. test/lib/cluster.sh
served=$(mktemp -d)
echo '{"species": ["Navicula", "Nitzschia"], "images": 2}' > "$served/sample.json"
cp test/data/diatoms_*.zip "$served/"   # the dataset pipeline's archives
chmod -R a+rX "$served"
cluster_start --db mlops_demo || exit 1
trap 'cluster_stop; rm -rf "$served"' EXIT
static_http_start "$served" || exit 1
echo "   PGHOST=$PGHOST PGPORT=$PGPORT PGDATABASE=$PGDATABASE, files served at $STATIC_HTTP_URL"
mkdir -p demo-output
psql -X -q -v demo_url="$STATIC_HTTP_URL/sample.json" -v heatmap_png="$root/demo-output/heatmap.png" \
  -v heatmap_b64="$served/heatmap.b64" -v heatmap_svg="$root/demo-output/heatmap.svg" \
  -v detections_svg="$root/demo-output/detections.svg" -v detections_b64="$served/detections.b64" \
  -v detections_png="$root/demo-output/detections.png" -f test/demo.sql || exit 1
base64 -d "$served/heatmap.b64" > demo-output/heatmap.png || exit 1
base64 -d "$served/detections.b64" > demo-output/detections.png || exit 1
echo
echo "== the heatmap is in $root/demo-output/heatmap.png ($(stat -c %s demo-output/heatmap.png) bytes, $(file -b demo-output/heatmap.png 2>/dev/null | cut -d, -f1-2))"
echo "== and as a picture with its colour bar and sensors in $root/demo-output/heatmap.svg ($(stat -c %s demo-output/heatmap.svg) bytes)"
for f in svg png json; do cp "$PGDATA/pg_mlops/heat/demo.$f" "demo-output/heatmap_pipeline.$f" 2>/dev/null; done
echo "== the heatmap pipeline's outputs (masked to the area) are in $root/demo-output/heatmap_pipeline.{svg,png,json}"
for z in "$PGDATA"/pg_mlops/diatoms/diatom_set-*.zip; do
  [ -f "$z" ] && cp "$z" demo-output/ && echo "== the dataset pipeline's zip (train/ and test/ by species) is $root/demo-output/$(basename "$z")"
done
echo "== the detection pipeline's run drawn (heatmap, contours, sites) is $root/demo-output/detections.png ($(stat -c %s demo-output/detections.png) bytes)"
echo "== and the blobs' sites and contours as a picture with a legend in $root/demo-output/detections.svg"
