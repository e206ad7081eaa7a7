-- The detection pipeline's config: mlops.detection_check (which its plan step runs first) refuses
-- bad params with their errcode and a clear message, and start_run refuses unknown keys.  The
-- pipeline end to end (rows against direct calls, reruns, roles) is
-- test/integration/detection_pipeline.sh.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- installed with the extension, with its steps and defaults
SELECT p.name, p.steps, v.builtin FROM mlops.pipelines p JOIN mlops.pipeline_versions v USING (name, version)
WHERE p.name = 'detection';
SELECT jsonb_pretty(defaults) FROM mlops.pipelines WHERE name = 'detection';

-- the settings its steps use: defaults merged, pred_threshold into the blob options, min_area into
-- the contour options, tolerance and window from the radius
CREATE FUNCTION pg_temp.cfg(params jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT mlops.json_merge(defaults, params) FROM mlops.pipelines WHERE name = 'detection'
$$;
SELECT jsonb_pretty(mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}}')));
SELECT s -> 'contour_options' AS contour_options, s -> 'tolerance' AS tolerance, s -> 'window' AS window, s -> 'source' AS source
FROM mlops.detection_check(pg_temp.cfg('{"heatmaps": {"query": "SELECT m, r FROM t", "model": "m", "raster": "r"},
                                         "radius": 100, "tolerance": 0, "min_area": 500, "window": 250}')) s;

-- unknown keys, at the top (start_run and detection_check list the valid ones) and inside heatmaps
SELECT mlops.start_run('detection', '{"heatmaps": {"table": "public.heat"}, "treshold": 0.5}');
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}}') || '{"treshold": 0.5}');
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat", "column": "r"}}'));
-- unknown blob, merge and contour options and methods: the detection functions' own words
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "blob_options": {"min_sigmas": 2}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "method": "hough"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "merge_method": "kmeans"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "merge_method": "dbscan", "merge_options": {"minpts": 2}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "contour_options": {"mode": "marching"}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "blob_options": {"min_sigma": 30, "max_sigma": 3}}'));
-- NaN (JSON has none: a string is refused), non-positive radius, min_models, window, negatives
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "radius": "NaN"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "pred_threshold": "NaN"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "level": "NaN"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "blob_options": {"threshold": "NaN"}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "radius": 0}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "radius": -0.005}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "min_models": 0}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "min_models": 1.5}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "window": 0}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "min_area": -1}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "tolerance": -1}'));
-- the source: a table or a query, not both, not neither; columns named; models a list of names
SELECT mlops.detection_check(pg_temp.cfg('{}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat", "query": "SELECT 1"}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": 7}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat", "raster": ""}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "models": []}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "models": "a"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "blob_options": {"pred_threshold": 0.5}}'));
-- geocode: null (off, the default) or the geocode kind's params but the points: exactly one of
-- credential and endpoint, zoom, language, max_age; the settings carry it to the points step
SELECT s -> 'geocode' AS geocode FROM mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}}')) s;
SELECT s -> 'geocode' AS geocode
FROM mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "zoom": 14}}')) s;
SELECT s -> 'geocode' AS geocode
FROM mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"endpoint": "http://127.0.0.1:8080/", "language": "de,en", "max_age": "7d"}}')) s;
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": "nominatim"}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "rate": 2}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "endpoint": "http://127.0.0.1/"}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": ""}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": 7}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "zoom": 19}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "zoom": 2.5}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "language": ["en"]}}'));
SELECT mlops.detection_check(pg_temp.cfg('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "nominatim", "max_age": true}}'));
SELECT mlops.start_run('detection', '{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "a", "endpoint": "http://127.0.0.1/"}}');
-- the step functions refuse to run outside a detection run
SELECT mlops.detection_merge();
SELECT mlops.detection_points();
SELECT mlops.detection_address();
-- a bad config starts no run and writes nothing
SELECT count(*) AS runs FROM mlops.runs WHERE pipeline = 'detection';
-- start_run checks the config the same way before it writes the run
SELECT mlops.start_run('detection', '{"heatmaps": {"table": "public.heat"}, "radius": 0}');
SELECT mlops.start_run('detection', '{"heatmaps": {"table": "public.heat"}, "level": "NaN"}');
SELECT count(*) AS runs FROM mlops.runs WHERE pipeline = 'detection';
-- the errcodes: 22023 (invalid_parameter_value) for every bad value
CREATE FUNCTION pg_temp.sqlstate(params jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mlops.detection_check(pg_temp.cfg(params));
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
SELECT p AS params, pg_temp.sqlstate(p::jsonb) AS sqlstate
FROM (VALUES ('{"heatmaps": {"table": "public.heat"}}'),
             ('{"heatmaps": {"table": "public.heat"}, "radius": 0}'),
             ('{"heatmaps": {"table": "public.heat"}, "radius": "NaN"}'),
             ('{"heatmaps": {"table": "public.heat", "col": "x"}}'),
             ('{"heatmaps": {"table": "public.heat"}, "method": "hough"}'),
             ('{"heatmaps": {"table": "public.heat"}, "merge_method": "kmeans"}'),
             ('{"heatmaps": {"table": "public.heat"}, "min_models": 0}'),
             ('{"heatmaps": {"table": "public.heat"}, "geocode": {"endpoint": "http://127.0.0.1/"}}'),
             ('{"heatmaps": {"table": "public.heat"}, "geocode": {"credential": "a", "endpoint": "b"}}'),
             ('{"heatmaps": {"table": "public.heat"}, "geocode": {"credentials": "a"}}'),
             ('{"heatmaps": {}}')) v(p);

-- the engine, as the geocode step relies on it: a for_each over an empty array queues no job
-- (its params, even a reference that has no value, are not resolved: there is no item), the step
-- succeeds with the result [], and the steps after it run
CREATE TABLE fan_trace (what text);
SELECT mlops.define_pipeline('empty_fan', $$[
  {"name": "list", "kind": "sql", "params": {"command": "SELECT '[]'::jsonb"}},
  {"name": "each", "kind": "geocode", "depends_on": ["list"], "for_each": {"$ref": "steps.list.result.value"},
   "params": {"$ref": "item"}},
  {"name": "each_sql", "kind": "sql", "depends_on": ["list"], "for_each": {"$ref": "steps.list.result.value"},
   "params": {"command": {"$ref": "item.no_such_key"}}},
  {"name": "after", "kind": "sql", "depends_on": ["each", "each_sql"],
   "params": {"command": "INSERT INTO fan_trace SELECT jsonb_typeof(mlops.current_step_result('each')) || ' ' || mlops.current_step_result('each') RETURNING what"}}
]$$) AS version;
SELECT mlops.start_run('empty_fan') AS fan \gset
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'empty_fan') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT state, error FROM mlops.runs WHERE run_id = :'fan';
SELECT step, state, cardinality(job_ids) AS jobs, result FROM mlops.run_steps WHERE run_id = :'fan' AND step <> 'list' ORDER BY ord;
SELECT what FROM fan_trace;
SELECT count(*) AS geocode_jobs FROM mlops.jobs WHERE run_id = :'fan' AND kind = 'geocode';
SELECT mlops.drop_pipeline('empty_fan');

-- mlops.heatmap_overlay_png: the detections picture, a heatmap PNG with outlines and markers over it
CREATE TEMP TABLE pic AS
SELECT ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(20, 10, 0, 10, 1, -1, 0, 0, 3857), '32BF'::text, 0, NULL),
                    1, 1, 1, array_fill(0.5::float8, ARRAY[10, 20])) AS r;
-- the PNG (signature, IHDR width and height at scale 3), not the plain heatmap's
SELECT substr(png, 1, 8) = '\x89504e470d0a1a0a'::bytea AS is_png,
       (get_byte(png, 16) << 24) + (get_byte(png, 17) << 16) + (get_byte(png, 18) << 8) + get_byte(png, 19) AS width,
       (get_byte(png, 20) << 24) + (get_byte(png, 21) << 16) + (get_byte(png, 22) << 8) + get_byte(png, 23) AS height,
       png <> plain AS drawn_over
FROM (SELECT mlops.heatmap_overlay_png(r, ST_SetSRID(ST_Collect(ST_MakePoint(5, 5), ST_MakePoint(15, 5)), 3857),
                                       ST_Buffer(ST_SetSRID(ST_MakePoint(10, 5), 3857), 3),
                                       '{"scale": 3, "point_color": "#00FF00", "marker_radius": 4, "line_width": 1}') AS png,
             mlops.heatmap_png(r, '{"scale": 3}') AS plain FROM pic) x;
-- refusals: unknown options (the SVG's texts too), bad colours and sizes, another SRID, non-points
SELECT mlops.heatmap_overlay_png(r, NULL, NULL, '{"title": "x"}') FROM pic;
SELECT mlops.heatmap_overlay_png(r, NULL, NULL, '{"point_color": "magenta"}') FROM pic;
SELECT mlops.heatmap_overlay_png(r, NULL, NULL, '{"line_color": "#GG0000"}') FROM pic;
SELECT mlops.heatmap_overlay_png(r, NULL, NULL, '{"marker_radius": 0}') FROM pic;
SELECT mlops.heatmap_overlay_png(r, NULL, NULL, '{"line_width": 2.5}') FROM pic;
SELECT mlops.heatmap_overlay_png(r, ST_SetSRID(ST_MakePoint(1, 1), 4326), NULL) FROM pic;
SELECT mlops.heatmap_overlay_png(r, NULL, ST_Buffer(ST_SetSRID(ST_MakePoint(1, 1), 4326), 1)) FROM pic;
SELECT mlops.heatmap_overlay_png(r, ST_SetSRID(ST_MakeLine(ST_MakePoint(1, 1), ST_MakePoint(2, 2)), 3857), NULL) FROM pic;
SELECT mlops.heatmap_overlay_png(r, ST_SetSRID(ST_MakePoint('NaN', 1), 3857), NULL) FROM pic;
SELECT mlops.heatmap_overlay_png(NULL, NULL, NULL) IS NULL AS null_raster_null_picture;
