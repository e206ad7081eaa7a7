#!/usr/bin/env bash
# demo_tour.sh — the tour that `make demo` prints runs cleanly on a fresh cluster and shows
# what it promises (so the demo cannot rot between releases).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --db mlops_demo || exit 1
served=$(mktemp -d)
trap 'cluster_stop; rm -rf "$served"' EXIT
echo '{"sample": true}' > "$served/sample.json"
cp test/data/diatoms_*.zip "$served/"
chmod -R a+rX "$served"
static_http_start "$served" || exit 1
out=$(psql -X -q -v demo_url="$STATIC_HTTP_URL/sample.json" -v heatmap_png="$served/heatmap.png" \
  -v heatmap_b64="$served/heatmap.b64" -v heatmap_svg="$served/heatmap.svg" \
  -v detections_svg="$served/detections.svg" -v detections_b64="$served/detections.b64" \
  -v detections_png="$served/detections.png" -f test/demo.sql 2>&1)
status=$?
ok $status "test/demo.sql runs without an error"
[ $status -eq 0 ] || echo "$out" | sed 's/^/# /'
control_version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_mlops.control)
echo "$out" | grep -q "^ pg_mlops *| $control_version *| mlops"
ok $? "the tour shows pg_mlops $control_version installed in schema mlops"
echo "$out" | grep -q "pg_mlops worker | mlops_demo"
ok $? "the tour shows the worker alive in the demo database"
echo "$out" | grep -q "^ mlops.work_dir"
ok $? "the tour shows the settings"

echo "$out" | grep -qE "^ spam-filter \| +0\.6667"
ok $? "the tour shows accuracy computed from two json columns"
echo "$out" | grep -q '"labels": \[0, 1, 2\], "matrix": \[\[26667'
ok $? "the tour shows a confusion state aggregated over rows"
echo "$out" | grep -q "mlops_metric_00000000-0000-0000-0000-00000000000a | \* \* \* \* \*"
ok $? "the tour shows the replaced schedule as one pg_cron job"
echo "$out" | grep -qE "^ accuracy \| +0\.8 \| +5 \| +3 "
ok $? "the tour shows a computed metric of the newest row"
echo "$out" | grep -qE "^ +2 \| succeeded \| \{\"url\": \"http://127.0.0.1"
ok $? "the tour shows a download job that succeeded"
echo "$out" | grep -qE "^ +3 \| succeeded \| t$"
ok $? "the tour shows a download through a stored credential, the same bytes"
echo "$out" | grep -q "train    | succeeded"
ok $? "the tour shows an external worker's job completed"
echo "$out" | grep -qE "^ summary +\| succeeded +\| +1 \| 0\.850"
ok $? "the tour shows a pipeline's fan-in step computing from its fan-out's rows" ||
  echo "$out" | sed -n '/=== 8\./,/=== 9\./p' | sed 's/^/# /'
echo "$out" | grep -qE "^ 7 +\| +40 \|"
ok $? "the tour's heatmap pipeline stored a heatmap of area 7 from 40 sensors"
echo "$out" | grep -qE "^ t +\| +1$"
ok $? "the heatmap pipeline's second request is the same run, nothing recomputed"
echo "$out" | grep -qE "^ t +\| +3$"
ok $? "the tour shows the same config is the same run, nothing written twice"
echo "$out" | grep -qE "^ (achnanthes|cymbella|gomphonema|navicula) +\| +5 \| +70$" && [ "$(echo "$out" | grep -cE "^ [a-z]+ +\| +5 \| +70$")" = 4 ]
ok $? "the tour splits exactly 5 test images per species"
echo "$out" | grep -qE "^ gomphonema_clavatum +\| +3 \| +9$" && echo "$out" | grep -qE "^ navicula_lanceolata +\| +3 \| +7$"
ok $? "the tour's dataset pipeline splits each zip's folder with exactly 3 test images" ||
  echo "$out" | sed -n '/The dataset pipeline/,/=== 12\./p' | sed 's/^/# /'
echo "$out" | grep -qE "^ t +\| +22$"
ok $? "the tour's dataset pipeline zips all 22 images as diatom_set-<UTC time>.zip"
echo "$out" | grep -q "^ 0 2 3 5 9 11 23 30 31 34$"
ok $? "the tour shows scikit-learn's test indices for random_state 42"
[ "$(echo "$out" | grep -cE "^ +[1-5] \| POINT\([0-9]+ [0-9]+\) \| +2 \| \{[1-5],([6-9]|10)\}$")" = 5 ]
ok $? "the tour merges the two detectors' blobs into 5 sites of 2"
[ "$(echo "$out" | grep -cE "^ +[1-5] \| ST_Polygon \| +[0-9]+ \| +[01]\.[0-9]{2} \| t +\| +1$")" = 5 ]
ok $? "the tour's 5 contours are valid polygons, each around one site"
grep -q '</svg>' "$served/detections.svg" && grep -q 'site (merged blobs)' "$served/detections.svg"
ok $? "the detections picture is written, its legend naming sites and contours"
det=$(echo "$out" | sed -n '/The same as a pipeline run/,/=== 13\./p')
[ "$(echo "$det" | grep -cE "^ (plan|blobs|merge|confirm|contours) +\| succeeded \| +[12]$")" = 5 ] &&
  echo "$det" | grep -qE "^ blobs +\| succeeded \| +2$" && echo "$det" | grep -qE "^ contours +\| succeeded \| +2$"
ok $? "the tour's detection pipeline run succeeds, blobs and contours fanned out over two models" ||
  echo "$det" | sed 's/^/# /'
echo "$det" | grep -qE "^ a +\| +5 \| +5 \| +[5-9]$" && echo "$det" | grep -qE "^ b +\| +5 \| +5 \| +[5-9]$"
ok $? "the run finds 5 sites per model, all confirmed by both models, each with a contour"
size=$(echo "$det" | sed -nE 's/^ +([0-9]+) \| +([0-9]+) \| ([0-9, ]+)$/\1 \2/p')
markers=$(echo "$det" | sed -nE 's/^ +([0-9]+) \| +([0-9]+) \| ([0-9, ]+)$/\3/p')
base64 -d "$served/detections.b64" > "$served/detections.png" 2>/dev/null
[ "$(head -c 8 "$served/detections.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$size" = "600 600" ]
ok $? "the tour writes the detections as a PNG, and says it is 600 x 600 pixels (got: $size)"
# decode the PNG (CRCs, zlib, scanline filters) and look at the pixels under the site markers
/usr/bin/python3 - "$served/detections.png" "$size" "$markers" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
w_want, h_want = map(int, sys.argv[2].split())
markers = [tuple(map(int, m.split(","))) for m in sys.argv[3].split()]
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body), kind
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT": idat += body
    pos += 12 + n
    if kind == b"IEND": break
w, h, depth, ctype = ihdr[:4]
assert (w, h, depth, ctype) == (w_want, h_want, 8, 6), ihdr
raw, rows, prev, stride = zlib.decompress(idat), [], bytearray(w * 4), w * 4
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - 4] if i >= 4 else 0
        b = prev[i]
        c = prev[i - 4] if i >= 4 else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else: assert f == 0, f
    rows.append(line); prev = line
px = lambda x, y: tuple(rows[y][4 * x:4 * x + 4])
assert len(markers) == 5, markers
for x, y in markers:
    for dx, dy in ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2)):
        assert px(x + dx, y + dy) == (255, 0, 255, 255), (x + dx, y + dy, px(x + dx, y + dy))
counts = {}
for y in range(h):
    for x in range(w):
        counts[px(x, y)] = counts.get(px(x, y), 0) + 1
magenta, white = counts.get((255, 0, 255, 255), 0), counts.get((255, 255, 255, 255), 0)
assert 5 * 80 <= magenta <= 5 * 200, magenta             # five discs of radius 6, nothing else magenta
assert white >= 500, white                               # the contours
assert counts.get((0x44, 0x01, 0x54, 255), 0) > w * h // 2, "the low end of viridis is the background"
PY
ok $? "the PNG decodes (CRCs, zlib, filters); the pixels under the 5 site markers are magenta, the contours white, the rest viridis"

[ "$(echo "$out" | sed -n '/submit_jobs/,/Bad input/p' | grep -cE '^ +[0-9]+ \| succeeded$')" = 3 ]
ok $? "the tour queues 3 downloads with one submit_jobs call and each succeeds"
manifest_ids=$(echo "$out" | sed -n '/first_test_indices/,/^(/p' | sed -n 3p | sed 's/^ *//' | cut -d' ' -f1-10)
table_ids=$(echo "$out" | sed -n '/mlops.split_table_ids/,/dataset pipeline/p' | sed -n 's/^ test *| *60 *| *\([0-9 ]*[0-9]\) *$/\1/p')
[ -n "$table_ids" ] && [ "$table_ids" = "$manifest_ids" ]
ok $? "the tour's split_table_ids test side starts with the ids split_manifest's sklearn split gives ($table_ids)"
[ -n "$table_ids" ] || echo "$out" | sed -n '/first_test_indices/,/dataset pipeline/p' | sed 's/^/# /'
[ "$(echo "$out" | sed -n '/=== 13\./,$p' | grep -cE "^ +[1-5] \| +[0-9]+ \| +[0-9]\.[0-9]{4}$")" = 5 ]
ok $? "the tour selects the 5 most uncertain pool rows"
[ "$(echo "$out" | sed -n '/=== 13\./,$p' | grep -cE "^ +[1-5] \| +[0-9]+ \| +[0-9]+\.[0-9]{2}$")" = 5 ]
ok $? "the tour selects a diverse batch of 5 by coreset"
echo "$out" | grep -q 'unknown strategy "bald"'
ok $? "the tour shows an unknown strategy refused"
echo "$out" | grep -qE '^ +2 \| \{"loss": 0.333, "accuracy": 0.80\}$'
ok $? "the tour shows a training's history, one row per epoch"
echo "$out" | grep -qE "^ nearest +\| +0$"
ok $? "the tour shows nearest identical to ST_InterpolateRaster"
echo "$out" | grep -qE "^ linear +\| +0$"
ok $? "the tour shows linear identical to ST_InterpolateRaster"
base64 -d "$served/heatmap.b64" > "$served/heatmap.png" 2>/dev/null
[ "$(head -c 8 "$served/heatmap.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
ok $? "the tour writes the heatmap as a PNG (to the file it is given, nothing in the working folder)"
w=$(( $(head -c 20 "$served/heatmap.png" | tail -c 4 | od -An -tu1 | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}') ))
[ "$w" -ge 600 ]
ok $? "the PNG is large enough to read ($w px wide)"
grep -q '</svg>' "$served/heatmap.svg" && grep -q 'NO2 µg/m³' "$served/heatmap.svg" && [ "$(grep -o '<circle' "$served/heatmap.svg" | wc -l)" -ge 40 ]
ok $? "the SVG picture has its units and the 40 sensors"
if command -v rsvg-convert >/dev/null; then
  rsvg-convert "$served/heatmap.svg" -o "$served/heatmap_svg.png" 2>/dev/null && [ -s "$served/heatmap_svg.png" ]
  ok $? "the SVG renders (rsvg-convert)"
fi

done_testing
