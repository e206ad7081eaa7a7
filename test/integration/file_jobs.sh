#!/usr/bin/env bash
# file_jobs.sh — the export, mkdir, copy, move and delete kinds, run by the worker for a role with
# the grants of docs/security.md, in its own file area: an export writes a query's single value (a GeoTIFF
# from ST_AsGDALRaster that gdalinfo opens with its SRID, size and nodata; text; bytes); every
# kind is idempotent on a rerun; an existing destination is replaced only when asked; symbolic
# links are refused with nothing outside touched; another role's files stay out of reach.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --conf "postgis.gdal_enabled_drivers = 'GTiff PNG'" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_files.XXXXXX")
chmod 755 "$tmp"
trap 'cluster_stop; rm -rf "$tmp"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
{ readme_grants application app alice; readme_grants application app bob; } | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
ok $? "roles alice and bob with the grants of docs/security.md"
alice=$(psql -XAtq -c "SELECT 'alice'::regrole::oid")
AREA="$PGDATA/pg_mlops/roles/$alice"

# run ROLE KIND PARAMS: submit and wait; prints "state|error|result"
run() {
  local id
  id=$(psql -XAtq -U "$1" -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('$2', \$p\$$3\$p\$::jsonb)" 2>&1) || { echo "refused|$id|"; return; }
  psql -XAtq -U "$1" -c "SELECT mlops.wait_job($id, '60 seconds')" >/dev/null
  psql -XAtq -c "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result::text, '') FROM mlops.jobs WHERE id = $id"
}
field() { sed -n "s/.*\"$1\": \\([^,}]*\\).*/\\1/p" <<<"$2"; }

# export: bytes, text, a GeoTIFF
out=$(run alice export "{\"query\": \"SELECT convert_to('hello', 'UTF8')\", \"path\": \"out/hello.bin\"}")
[ "${out%%|*}" = succeeded ] && [ "$(cat "$AREA/out/hello.bin")" = hello ]
ok $? "export writes a bytea value's bytes into the role's area ($out)"
out=$(run alice export "{\"query\": \"SELECT convert_to('hello', 'UTF8')\", \"path\": \"out/hello.bin\"}")
is "${out%%|*} $(field already_there "$out")" "succeeded true" "the same export again finds the same bytes: already there"
out=$(run alice export "{\"query\": \"SELECT convert_to('other', 'UTF8')\", \"path\": \"out/hello.bin\"}")
grep -q '^failed|cannot export to "out/hello.bin"' <<<"$out" && [ "$(cat "$AREA/out/hello.bin")" = hello ]
ok $? "different bytes over an existing file are refused without overwrite, the file kept ($out)"
out=$(run alice export "{\"query\": \"SELECT convert_to('other', 'UTF8')\", \"path\": \"out/hello.bin\", \"overwrite\": true}")
[ "${out%%|*}" = succeeded ] && [ "$(cat "$AREA/out/hello.bin")" = other ]
ok $? "with overwrite it is replaced"
out=$(run alice export "{\"query\": \"SELECT jsonb_build_object('cells', 3)\", \"path\": \"out/doc.json\"}")
[ "${out%%|*}" = succeeded ] && [ "$(cat "$AREA/out/doc.json")" = '{"cells": 3}' ]
ok $? "a text value is written as its text"
out=$(run alice export "{\"query\": \"SELECT ST_AsGDALRaster(ST_AddBand(ST_MakeEmptyRaster(12, 7, 500000, 4800000, 10, -10, 0, 0, 32632), '32BF'::text, 1.5, -9999), 'GTiff')\", \"path\": \"out/map.tif\"}")
is "${out%%|*}" succeeded "an export of ST_AsGDALRaster writes a GeoTIFF"
if command -v gdalinfo >/dev/null; then
  info=$(gdalinfo "$AREA/out/map.tif" 2>&1)
  grep -q 'Size is 12, 7' <<<"$info" && grep -q 'ID\["EPSG",32632\]' <<<"$info" && grep -q 'NoData Value=-9999' <<<"$info"
  ok $? "gdalinfo opens it: 12 x 7, EPSG:32632, nodata -9999"
else
  echo "not ok - gdalinfo is missing (gdal-bin: test/install-deps.sh installs it)"
  TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
fi
out=$(run alice export '{"query": "SELECT generate_series(1, 2)", "path": "out/two.txt"}')
grep -q "^failed|an export's query must return one value, not 2 rows of 1 columns" <<<"$out" && [ ! -e "$AREA/out/two.txt" ]
ok $? "a query of two rows fails the export, no file ($out)"
out=$(run alice export '{"query": "SELECT NULL::text", "path": "out/null.txt"}')
grep -q "^failed|an export's query returned NULL" <<<"$out"
ok $? "a NULL fails the export"

# mkdir, copy, move, delete: each idempotent
out=$(run alice mkdir '{"path": "tree/a/b"}')
[ "${out%%|*}" = succeeded ] && [ -d "$AREA/tree/a/b" ]
ok $? "mkdir makes the folder and its parents"
is "$(field already_there "$(run alice mkdir '{"path": "tree/a/b"}')")" true "mkdir again: already there"
printf 'x' > "$AREA/tree/a/b/f1"; printf 'yy' > "$AREA/tree/a/f2"; chown -R "$CLUSTER_OWNER" "$AREA/tree"
out=$(run alice copy '{"source": "tree", "dest": "copy"}')
[ "${out%%|*}" = succeeded ] && diff -r "$AREA/tree" "$AREA/copy" >/dev/null
ok $? "copy of a folder: the same tree ($out)"
is "$(field files "$out") $(field bytes "$out")" "2 3" "copy counts its files and bytes"
is "$(field already_there "$(run alice copy '{"source": "tree", "dest": "copy"}')")" true "copy again: already there"
out=$(run alice move '{"source": "copy", "dest": "moved"}')
[ "${out%%|*}" = succeeded ] && [ ! -e "$AREA/copy" ] && [ -f "$AREA/moved/a/b/f1" ]
ok $? "move renames the folder"
is "$(field already_there "$(run alice move '{"source": "copy", "dest": "moved"}')")" true "move again (source gone, destination there): already there"
out=$(run alice delete '{"path": "moved"}')
grep -q '^failed|' <<<"$out" && [ -d "$AREA/moved" ]
ok $? "delete of a folder that is not empty needs recursive ($out)"
out=$(run alice delete '{"path": "moved", "recursive": true}')
[ "${out%%|*}" = succeeded ] && [ ! -e "$AREA/moved" ]
ok $? "delete recursive removes it"
is "$(field already_there "$(run alice delete '{"path": "moved", "recursive": true}')")" true "delete again: already gone"
out=$(run alice delete '{"path": "."}')
grep -q 'not allowed: path is empty' <<<"$out"
ok $? "a job may not delete its whole area ($out)"
out=$(run alice delete '{"path": "@datasets"}')
grep -q 'not granted\|whole file area' <<<"$out"
ok $? "nor a shared area's folder"

# links and other roles
mkdir -p "$tmp/outside"; printf 'secret' > "$tmp/outside/s.txt"; chmod -R a+rwX "$tmp/outside"
ln -s "$tmp/outside" "$AREA/tree/a/escape"
out=$(run alice copy '{"source": "tree", "dest": "copy2"}')
grep -q '^failed|.*symbolic link' <<<"$out" && [ ! -e "$AREA/copy2" ] && [ ! -e "$AREA/copy2.part" ]
ok $? "a symbolic link inside the source refuses the copy, nothing written ($out)"
out=$(run alice delete '{"path": "tree", "recursive": true}')
[ "${out%%|*}" = succeeded ] && [ "$(cat "$tmp/outside/s.txt")" = secret ]
ok $? "delete removes the link itself, never what it points to"
out=$(run bob export "{\"query\": \"SELECT 1\", \"path\": \"../$alice/out/hello.bin\"}")
grep -q '^refused|.*is not allowed' <<<"$out" && [ "$(cat "$AREA/out/hello.bin")" = other ]
ok $? "bob cannot export over alice's file"
out=$(run bob copy "{\"source\": \"roles/$alice/out\", \"dest\": \"stolen\"}")
grep -q '^failed|' <<<"$out"
ok $? "bob's paths are his own area's: alice's folder is not there for him"
out=$(run bob copy '{"source": "@datasets/x", "dest": "y"}')
grep -q 'not granted to role "bob"' <<<"$out"
ok $? "a shared area not granted to bob is refused"
out=$(run alice copy '{"source": "out", "dest": "o2", "overwrite": "yes"}')
grep -q 'must be true or false' <<<"$out"
ok $? "bad params are refused at submit"

done_testing
