#!/usr/bin/env bash
# detection_pipeline.sh — the detection pipeline (the detection workflow, seed 004) end to end,
# started by an analyst role with the grants of docs/security.md on synthetic heatmaps of three
# models (Gaussian blobs, some found by every model, one by two, one by a single model): the
# rows of mlops.detections, mlops.sites and mlops.site_contours equal direct calls of
# mlops.detect_blobs, merge_detections, confirm_detections and contours; the same config again
# is the same run and queues nothing; a rerun of a succeeded run computes nothing, and rerun
# 'all' replaces the run's rows without duplicates; a second role sees none of analyst's rows
# and cannot point the pipeline at a table it may not read (the run fails at plan, nothing
# written); a query as the source gives the same rows.  Geocoding (config.geocode) against a
# local Nominatim-like fixture (test/integration/http_fixture.py, 127.0.0.1, stopped by PID with
# the cluster): off by default, no request and every address NULL; on, every confirmed site's
# address is the fixture's answer for its coordinates, one request per distinct confirmed site;
# the same config again makes no request, rerun 'all' none either (the cache); a second role's
# run of the same config fills only its own sites; an endpoint outside mlops.allowed_hosts fails
# the geocode step (address skipped, no request).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --conf "mlops.allowed_hosts = '127.0.0.1:*'" \
              --conf "mlops.user_agent = 'pg_mlops tests (ops@example.org)'" \
              --conf "mlops.geocode_rate = 20" || exit 1
trap 'cluster_stop' EXIT
FIX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_geofix.XXXXXX")
SERVER_DIRS+=("$FIX_DIR")
REQLOG="$FIX_DIR/requests.jsonl"
: > "$REQLOG"
/usr/bin/python3 test/integration/http_fixture.py "$REQLOG" > "$FIX_DIR/port" 2>"$FIX_DIR/err" &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^port ' "$FIX_DIR/port" && break; sleep 0.05; done
API="http://127.0.0.1:$(sed -n 's/^port //p' "$FIX_DIR/port")"
reverse_requests() { grep -c '"path": "/reverse' "$REQLOG"; }
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"
is "$(psql -XAtq -c "SELECT name || ' ' || steps FROM mlops.pipelines WHERE name = 'detection'")" "detection 8" \
   "the detection pipeline is installed with the extension"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
{ readme_grants application app analyst; readme_grants application app bob; } | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
ok $? "roles analyst and bob with the application grants of docs/security.md"

# three models' heatmaps (160 x 160 cells of 10 m, EPSG:32632): blobs at shared places, shifted a
# little per model; (40, 40) and (120, 110) in all three, (40, 120) in a and b, (120, 30) in a only
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE public.heat (model text, tile int, raster raster);
INSERT INTO public.heat
SELECT m.model, 1, ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(160, 160, 600000, 5001600, 10, -10, 0, 0, 32632), '32BF'::text, 0, NULL),
         1, 1, 1, (SELECT array_agg(r ORDER BY i) FROM (
           SELECT i, array_agg(least(1.0, (SELECT coalesce(sum(b.a * exp(greatest(-50.0, -((i - b.ci - m.di) ^ 2 + (j - b.cj - m.dj) ^ 2) / (2.0 * b.s * b.s)))), 0)
                                           FROM (VALUES (40, 40, 6, 1.0, 'abc'), (120, 110, 8, 0.95, 'abc'),
                                                        (40, 120, 5, 0.9, 'ab'), (120, 30, 6, 0.9, 'a')) b(ci, cj, s, a, models)
                                           WHERE strpos(b.models, m.model) > 0)) ORDER BY j) AS r
           FROM generate_series(0, 159) i, generate_series(0, 159) j GROUP BY i) x)::float8[][])
FROM (VALUES ('a', 0, 0), ('b', 1, -1), ('c', -2, 1)) m(model, di, dj);
GRANT SELECT ON public.heat TO analyst;
CREATE TABLE public.secret_heat AS SELECT * FROM public.heat;
SQL
ok $? "heatmaps of models a, b and c in public.heat (analyst may read it)"

config='{"heatmaps": {"table": "public.heat"}, "blob_options": {"min_sigma": 3, "max_sigma": 20, "threshold": 0.005},
         "pred_threshold": 0.5, "radius": 150, "min_models": 2, "level": 0.5, "contour_options": {"blur": 3}, "window": 400}'
run=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '$config')")
ok $? "analyst starts a detection run ($run)"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 120
st=$?; ok $st "the run succeeds"
[ $st -eq 0 ] || psql -XAtc "SELECT step || ' ' || state || ' ' || coalesce(error, '') FROM mlops.run_steps WHERE run_id = '$run' ORDER BY ord" | sed 's/^/# /'
is "$(psql -XAtq -c "SELECT string_agg(step || ':' || state || ':' || cardinality(job_ids), ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run'")" \
   "plan:succeeded:1 blobs:succeeded:3 merge:succeeded:1 confirm:succeeded:1 contours:succeeded:3 points:succeeded:1 geocode:succeeded:0 address:succeeded:0" \
   "eight steps, blobs and contours fanned out over the three models; geocoding off: geocode and address start no job"

# the reference: the same calls made directly, as analyst
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE ref_blobs AS
SELECT h.model, b.* FROM public.heat h,
       mlops.detect_blobs(h.raster, 'doh', '{"min_sigma": 3, "max_sigma": 20, "threshold": 0.005, "pred_threshold": 0.5}') b;
CREATE TABLE ref_sites AS
SELECT row_number() OVER (ORDER BY d.model, m.site_id)::int AS site_id, d.model, m.geom, m.n_members, m.members
FROM (SELECT model, array_agg(geom ORDER BY blob_id) AS pts FROM ref_blobs GROUP BY model) d,
     mlops.merge_detections(d.pts, 150) m;
CREATE TABLE ref_confirmed AS
SELECT ids[c.candidate] AS site_id, c.n_models
FROM (SELECT array_agg(site_id ORDER BY site_id) ids, array_agg(geom ORDER BY site_id) g,
             array_agg(ascii(model) - 96 ORDER BY site_id) m FROM ref_sites) a,
     mlops.confirm_detections(a.g, a.m, 2, 150) c;
CREATE TABLE ref_contours AS
SELECT s.site_id, c.geom, c.area, c.max_value
FROM ref_sites s JOIN ref_confirmed USING (site_id) JOIN public.heat h ON h.model = s.model,
     mlops.contours(ST_Clip(h.raster, ST_Expand(s.geom, 400)), 0.5, '{"blur": 3}') c
WHERE ST_DWithin(c.geom, s.geom, 150);
GRANT SELECT ON ref_blobs, ref_sites, ref_confirmed, ref_contours TO analyst;
SQL
ok $? "the reference rows from direct calls of detect_blobs, merge_detections, confirm_detections and contours"

q() { psql -XAtq -U analyst -c "$1"; }
is "$(q "SELECT string_agg(model || '=' || n, ' ' ORDER BY model) FROM (SELECT model, count(*) n FROM mlops.detections WHERE run_id = '$run' GROUP BY 1) x")" \
   "$(q "SELECT string_agg(model || '=' || n, ' ' ORDER BY model) FROM (SELECT model, count(*) n FROM ref_blobs GROUP BY 1) x")" \
   "blobs per model as detect_blobs gives them"
is "$(q "SELECT count(*) FROM ((SELECT model, blob_id, pixel_row, pixel_col, sigma, radius, value, ST_AsEWKT(geom) FROM mlops.detections WHERE run_id = '$run'
                                EXCEPT SELECT model, blob_id, pixel_row, pixel_col, sigma, radius, value, ST_AsEWKT(geom) FROM ref_blobs)
                               UNION ALL (SELECT model, blob_id, pixel_row, pixel_col, sigma, radius, value, ST_AsEWKT(geom) FROM ref_blobs
                                EXCEPT SELECT model, blob_id, pixel_row, pixel_col, sigma, radius, value, ST_AsEWKT(geom) FROM mlops.detections WHERE run_id = '$run')) d")" 0 \
   "mlops.detections equals detect_blobs row for row (ids, rows, columns, sigmas, responses, points)"
is "$(q "SELECT count(*) FROM mlops.detections WHERE run_id = '$run' AND owner <> 'analyst'::regrole")" 0 "every detection is owned by analyst"
nsites=$(q "SELECT count(*) FROM ref_sites")
is "$(q "SELECT count(*) FROM mlops.sites WHERE run_id = '$run'")" "$nsites" "as many sites as merge_detections gives ($nsites)"
is "$(q "SELECT count(*) FROM mlops.sites s JOIN ref_sites r USING (site_id, model, n_members, members) WHERE s.run_id = '$run' AND ST_Equals(s.geom, r.geom)")" "$nsites" \
   "every site equals merge_detections' (position, members)"
is "$(q "SELECT string_agg(site_id || ':' || n_models, ' ' ORDER BY site_id) FROM mlops.sites WHERE run_id = '$run' AND confirmed")" \
   "$(q "SELECT string_agg(site_id || ':' || n_models, ' ' ORDER BY site_id) FROM ref_confirmed")" \
   "the confirmed sites and their model counts are confirm_detections' (min_models 2)"
is "$(q "SELECT count(*) FILTER (WHERE confirmed) || '/' || count(*) FILTER (WHERE NOT confirmed) || '/' || count(*) FILTER (WHERE model = 'a' AND n_models = 1 AND NOT confirmed)
         FROM mlops.sites WHERE run_id = '$run'")" "8/1/1" \
   "4 places: 2 found by all three models, 1 by two (8 confirmed candidates), the one of model a alone not confirmed"
is "$(q "SELECT count(*) FROM mlops.sites WHERE run_id = '$run' AND confirmed AND NOT (model = ANY (confirmed_by))")" 0 "each site's own model is among its confirmers"
ncont=$(q "SELECT count(*) FROM ref_contours")
is "$(q "SELECT count(*) FROM mlops.site_contours WHERE run_id = '$run'")" "$ncont" "as many contours as contours() gives around the confirmed sites ($ncont)"
is "$(q "SELECT count(*) FROM mlops.site_contours c JOIN ref_contours r USING (site_id, area, max_value) WHERE c.run_id = '$run' AND ST_Equals(c.geom, r.geom)")" "$ncont" \
   "every contour equals contours() on the window around its site (outline, area, max)"
is "$(q "SELECT count(*) FROM mlops.site_contours c JOIN mlops.sites s USING (owner, run_id, site_id) WHERE c.run_id = '$run' AND NOT (s.confirmed AND ST_Intersects(c.geom, s.geom))")" 0 \
   "contours only of confirmed sites, each around its site"
is "$(q "SELECT count(*) FROM mlops.sites s WHERE run_id = '$run' AND confirmed AND NOT EXISTS (SELECT 1 FROM mlops.site_contours c WHERE c.run_id = s.run_id AND c.site_id = s.site_id)")" 0 "every confirmed site has a contour"

# the same config again: the same run, nothing queued
jobs=$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run'")
counts() { q "SELECT (SELECT count(*) FROM mlops.detections WHERE run_id = '$run') || ' ' || (SELECT count(*) FROM mlops.sites WHERE run_id = '$run') || ' ' || (SELECT count(*) FROM mlops.site_contours WHERE run_id = '$run')"; }
before=$(counts)
again=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '$config')")
is "$again|$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run'")|$(counts)" "$run|$jobs|$before" \
   "the same config again is the same run: no job queued, no row written"
is "$(q "SELECT mlops.rerun('$run')")|$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run'")" "0|$jobs" \
   "a rerun of the succeeded run computes nothing"
is "$(q "SELECT count(*) FILTER (WHERE address IS NOT NULL) FROM mlops.sites WHERE run_id = '$run'")|$(reverse_requests)" "0|0" \
   "geocoding off (config.geocode null, the default): no request made, every address NULL"
is "$(q "SELECT mlops.rerun('$run', mode => 'all')")" 8 "rerun 'all' queues the eight steps again"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 120
ok $? "the rerun succeeds"
is "$(counts)|$(psql -XAtq -c "SELECT count(*) > $jobs FROM mlops.jobs WHERE run_id = '$run'")" "$before|t" \
   "rerun 'all' replaced the run's rows: the same counts ($before), no duplicates"
is "$(q "SELECT string_agg(site_id || ':' || n_models, ' ' ORDER BY site_id) FROM mlops.sites WHERE run_id = '$run' AND confirmed")" \
   "$(q "SELECT string_agg(site_id || ':' || n_models, ' ' ORDER BY site_id) FROM ref_confirmed")" "and the same confirmed sites"

# a rerun of merge alone: it replaces the sites and their contours, confirm and contours follow
psql -XAtq -c "UPDATE mlops.site_contours SET site_id = site_id + 1000 WHERE run_id = '$run' AND site_id = 2" >/dev/null
is "$(q "SELECT mlops.rerun('$run', 'merge', 'all')")" 6 "rerun of merge queues merge and the five steps after it"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 120
ok $? "that rerun succeeds"
is "$(counts)|$(q "SELECT count(*) FROM mlops.site_contours WHERE run_id = '$run' AND site_id > 1000")" "$before|0" \
   "the merge step dropped contours of sites that no longer exist: the same rows again, none left over"

# a query as the source, restricted to two models: the same blobs for those models
qconfig='{"heatmaps": {"query": "SELECT model AS m, raster AS r FROM public.heat WHERE tile = 1", "model": "m", "raster": "r"},
          "models": ["a", "b"], "blob_options": {"min_sigma": 3, "max_sigma": 20, "threshold": 0.005},
          "pred_threshold": 0.5, "radius": 150, "level": 0.5, "window": 400}'
run_q=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '$qconfig')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run_q'" succeeded 120
ok $? "a run over a query of two models succeeds ($run_q)"
is "$(q "SELECT string_agg(DISTINCT model, ',') || ' ' || count(*) FROM mlops.detections WHERE run_id = '$run_q'")" \
   "$(q "SELECT 'a,b ' || count(*) FROM ref_blobs WHERE model IN ('a', 'b')")" "its blobs are models a and b's"

# another role: sees nothing of analyst's, and cannot read a table it has no privilege on
is "$(psql -XAtq -U bob -c "SELECT (SELECT count(*) FROM mlops.detections) + (SELECT count(*) FROM mlops.sites) + (SELECT count(*) FROM mlops.site_contours)")" 0 \
   "bob, granted the tables, sees none of analyst's detections, sites or contours"
psql -XAtq -U bob -c "UPDATE mlops.sites SET address = '{}'; DELETE FROM mlops.detections" >/dev/null 2>&1
is "$(counts)" "$before" "bob's UPDATE and DELETE touch none of analyst's rows"
run_b=$(psql -XAtq -U bob -c "SELECT mlops.start_run('detection', '{\"heatmaps\": {\"table\": \"public.secret_heat\"}, \"radius\": 150}')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run_b'" failed 60
ok $? "bob's run over public.secret_heat, which bob may not read, fails"
is "$(psql -XAtq -c "SELECT failed_step || ': ' || failed_error FROM mlops.run_progress WHERE run_id = '$run_b'")" \
   "plan: permission denied for table secret_heat" "at the plan step, for want of the privilege"
is "$(psql -XAtq -c "SELECT count(*) FROM mlops.detections WHERE owner = 'bob'::regrole")|$(psql -XAtq -c "SELECT string_agg(step || ':' || state, ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run_b'")" \
   "0|plan:failed blobs:skipped merge:skipped confirm:skipped contours:skipped points:skipped geocode:skipped address:skipped" "nothing written, every later step skipped"
bad=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '{\"heatmaps\": {\"table\": \"public.heat\"}, \"radius\": 150, \"colour\": 1}')" 2>&1)
grep -q 'pipeline detection has no config key "colour"' <<<"$bad" && grep -q 'Its keys are blob_options, contour_options, geocode, heatmaps, level' <<<"$bad"
ok $? "an unknown config key is refused at start_run, listing the keys"

# --- geocoding on: a credential of kind http at the fixture, granted to analyst and bob
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT mlops.set_credential('geo', 'http', '{"url": "$API/"}');
SELECT mlops.grant_credential('geo', 'analyst');
SELECT mlops.grant_credential('geo', 'bob');
SQL
ok $? "credential geo (the fixture's url) granted to analyst and bob"
gconfig='{"heatmaps": {"table": "public.heat"}, "blob_options": {"min_sigma": 3, "max_sigma": 20, "threshold": 0.005},
          "pred_threshold": 0.5, "radius": 150, "min_models": 2, "level": 0.5, "contour_options": {"blur": 3}, "window": 400,
          "geocode": {"credential": "geo", "zoom": 16}}'
: > "$REQLOG"
run_g=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '$gconfig')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run_g'" succeeded 120
st=$?; ok $st "analyst's run with geocoding on succeeds ($run_g)"
[ $st -eq 0 ] || psql -XAtc "SELECT step || ' ' || state || ' ' || coalesce(error, '') FROM mlops.run_steps WHERE run_id = '$run_g' ORDER BY ord" | sed 's/^/# /'
is "$(psql -XAtq -c "SELECT string_agg(step || ':' || state || ':' || cardinality(job_ids), ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run_g' AND ord > 5")" \
   "points:succeeded:1 geocode:succeeded:1 address:succeeded:1" "points, one geocode job (one batch), address"
nconf=$(q "SELECT count(*) FROM mlops.sites WHERE run_id = '$run_g' AND confirmed")
is "$nconf|$(q "SELECT count(*) FILTER (WHERE confirmed AND address IS NOT NULL) || '|' || count(*) FILTER (WHERE NOT confirmed AND address IS NOT NULL) FROM mlops.sites WHERE run_id = '$run_g'")" \
   "8|8|0" "every confirmed site has an address (8), the unconfirmed one none"
# the fixture's answer for a point is made of the coordinates the worker sends (5 decimals)
is "$(q "SELECT count(*) FROM mlops.sites s, ST_Transform(s.geom, 4326) g
         WHERE s.run_id = '$run_g' AND s.confirmed
           AND s.address = jsonb_build_object('display_name', format('Place at %s, %s', round(ST_Y(g)::numeric, 5), round(ST_X(g)::numeric, 5)),
                                              'address', jsonb_build_object('road', 'Road ' || round(ST_Y(g)::numeric, 5), 'country', 'Testland'))")" \
   "$nconf" "each address is the fixture's answer for its site's coordinates in EPSG:4326 (display_name and address)"
q "SELECT round(ST_X(g)::numeric, 5) || ',' || round(ST_Y(g)::numeric, 5) FROM mlops.sites s, ST_Transform(s.geom, 4326) g
   WHERE s.run_id = '$run_g' AND s.confirmed" > "$FIX_DIR/sites.txt"
/usr/bin/python3 - "$REQLOG" "$FIX_DIR/sites.txt" <<'PY'
import json, sys
from urllib.parse import parse_qs, urlparse
reqs = [json.loads(l) for l in open(sys.argv[1]) if '"/reverse' in l]
asked = [(q["lon"][0], q["lat"][0]) for q in (parse_qs(urlparse(r["path"]).query) for r in reqs)]
sites = {tuple(l.strip().split(",")) for l in open(sys.argv[2]) if l.strip()}
assert len(asked) == len(set(asked)), "a point asked twice: %s" % asked
assert set(asked) == sites, (sorted(asked), sorted(sites))
assert all("zoom=16" in r["path"] for r in reqs), "config.geocode.zoom passed on"
assert all(r["headers"]["user-agent"].startswith("pg_mlops tests (ops@example.org) pg_mlops/") for r in reqs)
print("# %d requests for %d distinct confirmed sites" % (len(asked), len(sites)))
PY
ok $? "the fixture saw exactly one request per distinct confirmed site, with the zoom and the deployment's User-Agent"
jobs_g=$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run_g'")
: > "$REQLOG"
again=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '$gconfig')")
is "$again|$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run_g'")|$(reverse_requests)" "$run_g|$jobs_g|0" \
   "the same config again: the same run, no job, no request"
is "$(q "SELECT mlops.rerun('$run_g', mode => 'all')")" 8 "rerun 'all' of the geocoding run queues its eight steps"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run_g'" succeeded 120
ok $? "that rerun succeeds"
is "$(reverse_requests)|$(q "SELECT count(*) FROM mlops.sites WHERE run_id = '$run_g' AND confirmed AND address IS NOT NULL")" "0|$nconf" \
   "rerun 'all': no request (the geocode cache answers), every confirmed site's address written again"
is "$(q "SELECT string_agg((r -> 'from_cache')::text || '/' || (r -> 'requests')::text, ' ') FROM mlops.run_steps, jsonb_array_elements(result) r WHERE run_id = '$run_g' AND step = 'geocode'")" \
   "$nconf/0" "the geocode job's result: every point from the cache, no request"

# a second role, the same config (the same run id, its own rows): fills only its own sites
psql -XAtq -c "GRANT SELECT ON public.heat TO bob" -c "UPDATE mlops.sites SET address = NULL WHERE run_id = '$run_g'" >/dev/null
: > "$REQLOG"
run_bg=$(psql -XAtq -U bob -c "SELECT mlops.start_run('detection', '$gconfig')")
poll_sql "SELECT state FROM mlops.runs WHERE owner = 'bob'::regrole AND run_id = '$run_bg'" succeeded 120
ok $? "bob's run of the same config succeeds (run id $run_bg)"
is "$run_bg|$(psql -XAtq -U bob -c "SELECT count(*) FROM mlops.sites WHERE run_id = '$run_bg' AND confirmed AND address IS NOT NULL")|$(reverse_requests)" \
   "$run_g|$nconf|$nconf" "bob's run has analyst's run id; its own confirmed sites get addresses, asked again (the cache is per role)"
is "$(q "SELECT count(*) FROM mlops.sites WHERE run_id = '$run_g' AND address IS NOT NULL")" 0 \
   "analyst's sites of that run id stay without an address: bob's address step cannot fill them"

# a geocoding service the network policy refuses: the geocode step fails when it is queued, with
# the kind's message; address is skipped, no request made, no address written
xconfig=$(sed 's|"geocode": {"credential": "geo", "zoom": 16}|"geocode": {"endpoint": "http://192.0.2.1/"}|' <<<"$gconfig")
: > "$REQLOG"
run_x=$(psql -XAtq -U analyst -c "SELECT mlops.start_run('detection', '$xconfig')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run_x'" failed 120
ok $? "a run whose geocode endpoint is outside mlops.allowed_hosts fails ($run_x)"
is "$(q "SELECT string_agg(step || ':' || state, ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run_x' AND ord > 5")|$(q "SELECT failed_error FROM mlops.run_progress WHERE run_id = '$run_x'")" \
   'points:succeeded geocode:failed address:skipped|URL is not allowed: host "192.0.2.1:80" is not in mlops.allowed_hosts' \
   "at the geocode step, with the network policy's words; address skipped"
is "$(q "SELECT count(*) FROM mlops.sites WHERE run_id = '$run_x' AND address IS NOT NULL")|$(reverse_requests)" "0|0" \
   "no address written, no request made"

done_testing
