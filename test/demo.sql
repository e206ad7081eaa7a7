-- test/demo.sql — the tour that `make demo` prints, on a throwaway cluster (test/demo.sh).
-- Each feature adds its section here.
\set ON_ERROR_STOP on
\pset footer off
\pset null '(null)'

\echo
\echo '=== 1. Installing pg_mlops: one statement, its requirements come along ==='
\echo 'CREATE EXTENSION pg_mlops CASCADE;'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops CASCADE;
RESET client_min_messages;
SELECT extname AS extension, extversion AS version,
       extnamespace::regnamespace AS schema
FROM pg_extension
WHERE extname IN ('pg_mlops', 'postgis', 'postgis_raster', 'pg_cron')
ORDER BY extname;

\echo '=== 2. The library version ==='
SELECT mlops.version();

\echo '=== 3. Settings (see the README configuration table) ==='
SELECT name, setting, context AS "changes need", short_desc AS meaning
FROM pg_settings WHERE name LIKE 'mlops.%' ORDER BY name;

\echo '=== 4. The background worker, alive in pg_stat_activity ==='
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    PERFORM pg_stat_clear_snapshot();
    PERFORM 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT pid, backend_type, datname AS database, wait_event AS waiting_on,
       date_trunc('second', now() - backend_start) AS up_for
FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';

\echo
\echo '=== 5. Metrics, exact as scikit-learn: the cyclic-metric service''s accuracy, and more ==='
\echo 'Two json columns, as the original service stored them:'
CREATE TABLE demo_results (model text, y_true json, y_pred json);
INSERT INTO demo_results VALUES
  ('spam-filter', '["spam", "ham", "ham", "spam", "ham", "spam"]', '["spam", "ham", "spam", "spam", "ham", "ham"]'),
  ('digits',      '[0, 1, 2, 0, 1, 2, 2, 1]',                       '[0, 2, 1, 0, 0, 1, 2, 1]');
SELECT model,
       round(mlops.accuracy(y_true, y_pred)::numeric, 4) AS accuracy,
       round(mlops.f1(y_true, y_pred, average => 'macro')::numeric, 4) AS f1_macro,
       round(mlops.precision(y_true, y_pred, average => 'weighted')::numeric, 4) AS precision_weighted,
       mlops.confusion_matrix(y_true, y_pred) AS confusion_matrix
FROM demo_results ORDER BY model;

\echo 'classification_report, the shape of scikit-learn''s output_dict=True:'
SELECT jsonb_pretty(mlops.classification_report(y_true, y_pred)) AS report
FROM demo_results WHERE model = 'spam-filter';

\echo 'Regression and uncertainty (active learning picks the least certain rows):'
SELECT mlops.mae('[3, -0.5, 2, 7]'::json, '[2.5, 0.0, 2, 8]'::json) AS mae,
       round(mlops.r2('[3, -0.5, 2, 7]'::json, '[2.5, 0.0, 2, 8]'::json)::numeric, 6) AS r2,
       mlops.entropy('[[0.5, 0.5], [0.9, 0.1], [1, 0]]'::json) AS entropy_bits,
       mlops.margin('[[0.5, 0.5], [0.9, 0.1], [1, 0]]'::json) AS margin;

\echo 'One prediction per row: a parallel-safe aggregate that every metric accepts:'
CREATE TABLE demo_preds AS
  SELECT (i % 3)::bigint AS label, (CASE WHEN i % 5 = 0 THEN (i + 1) % 3 ELSE i % 3 END)::bigint AS predicted
  FROM generate_series(1, 100000) i;
SELECT mlops.confusion_agg(label, predicted) AS confusion,
       round(mlops.f1(mlops.confusion_agg(label, predicted), average => 'macro')::numeric, 4) AS f1_macro,
       mlops.accuracy_agg(label, predicted) AS accuracy
FROM demo_preds;

\echo
\echo '=== 6. Scheduled metric monitoring with pg_cron: the cyclic-metric service in SQL ==='
\echo 'Sample rows in mlops.results (test/data/metrics_sample.sql); model ...0a has two newest rows at the same time:'
\o /dev/null
\i test/data/metrics_sample.sql
\o
SELECT id, right(model_id::text, 2) AS model, y_true, y_pred, "timestamp" FROM mlops.results
WHERE model_id = '00000000-0000-0000-0000-00000000000a' ORDER BY id;
\echo 'Schedule f1 every 5 minutes, then replace it with accuracy every minute (still one pg_cron job):'
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', '*/5 * * * *', 'f1') AS cron_job_id;
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', '* * * * *', 'accuracy') AS cron_job_id;
SELECT jobid, jobname, schedule, command FROM cron.job;
\echo 'An invalid expression changes nothing:'
\set ON_ERROR_STOP off
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', '61 * * * *');
\set ON_ERROR_STOP on
SELECT model_id, cron_expression, metric FROM mlops.metrics_executions;
\echo 'What each run does (here by hand; pg_cron calls the same): the newest row, ties to the highest id:'
SELECT metric, value, n_samples, source_row_id, details FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000a');
\echo 'A second run with no new row stores nothing new (the stored value comes back, same id):'
SELECT id, metric, value, n_samples, source_row_id FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000a');
SELECT model_id, last_run_at IS NOT NULL AS ran, last_error FROM mlops.metrics_executions;
\echo 'GET /results/<model_id> is mlops.latest_metric; every value is kept in the history:'
SELECT * FROM mlops.latest_metric('00000000-0000-0000-0000-00000000000a');
SELECT id, metric, value, computed_at FROM mlops.metric_history('00000000-0000-0000-0000-00000000000a');
SELECT mlops.unschedule_metric('00000000-0000-0000-0000-00000000000a') AS unscheduled;

\echo
\echo '=== 7. The job queue: Celery''s job without losing a job ==='
\echo 'An sql job, run by the background worker with the submitter''s privileges, woken on commit:'
SELECT mlops.submit_job('sql', '{"command": "SELECT count(*) FROM mlops.results"}') AS sql_job \gset
SELECT mlops.wait_job(:sql_job, '30 seconds') AS state;
SELECT id, kind, state, result, attempts, finished_at - started_at AS took FROM mlops.jobs WHERE id = :sql_job;
\echo 'A download from a local HTTP server into mlops.work_dir/<path>, named only once synced and checked:'
SELECT mlops.submit_job('download', jsonb_build_object('url', :'demo_url', 'path', 'demo/sample.json')) AS dl_job \gset
SELECT mlops.wait_job(:dl_job, '30 seconds') AS state;
SELECT id, state, result FROM mlops.jobs WHERE id = :dl_job;
\echo 'The same file through a stored credential (the token is sent, never shown): {"credential", "object"}'
SELECT mlops.set_credential('demo_http', 'http',
       jsonb_build_object('url', regexp_replace(:'demo_url', '[^/]*$', ''), 'bearer_token', 'demo-token')) \gset
SELECT mlops.submit_job('download', '{"credential": "demo_http", "object": "sample.json", "path": "demo/sample-again.json"}') AS dl2_job \gset
SELECT mlops.wait_job(:dl2_job, '30 seconds') AS state;
SELECT b.id, b.state, b.result ->> 'sha256' = a.result ->> 'sha256' AS same_bytes
FROM mlops.jobs a, mlops.jobs b WHERE a.id = :dl_job AND b.id = :dl2_job;
\echo 'Many jobs in one call (mlops.submit_jobs): one INSERT, each job still its own row, attempts and outcome:'
SELECT mlops.submit_jobs('download', ARRAY(SELECT jsonb_build_object('url', :'demo_url', 'path', format('demo/batch/%s.json', i))
                                           FROM generate_series(1, 3) i)) AS batch \gset
SELECT j AS id, mlops.wait_job(j, '30 seconds') AS batch_state FROM unnest(:'batch'::bigint[]) j ORDER BY j;
\echo 'Bad input is refused before anything is queued:'
\set ON_ERROR_STOP off
SELECT mlops.submit_job('download', '{"url": "file:///etc/passwd", "path": "x"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "../../outside"}');
\set ON_ERROR_STOP on
\echo 'An external worker (a GPU trainer, say) claims its own kind, reports progress and completes:'
SELECT mlops.declare_kind('train', 'model training on an external GPU worker');
SELECT mlops.submit_job('train', '{"epochs": 10}') AS train_job \gset
SELECT lease_token AS lease FROM mlops.claim_job('{train}', lease => '5 minutes') \gset
SELECT id, kind, state, attempts FROM mlops.jobs WHERE id = :train_job;
SELECT mlops.report_progress(:train_job, :'lease', 0.6, 'epoch 6 of 10');
SELECT id, kind, state, bar, message FROM mlops.job_progress WHERE id = :train_job;
SELECT mlops.complete_job(:train_job, :'lease', '{"accuracy": 0.93}');
SELECT id, kind, state, bar, message FROM mlops.job_progress ORDER BY id;

\echo
\echo '=== 8. Pipelines: a template run per config, an id that is the config''s hash, reruns of what failed ==='
CREATE TABLE demo_scores (day int, score float8);
SELECT mlops.define_pipeline('daily_scores', $$[
  {"name": "days", "kind": "sql", "for_each": {"$ref": "config.days"},
   "params": {"command": {"$ref": "item"}}},
  {"name": "summary", "kind": "sql", "depends_on": ["days"],
   "params": {"command": "SELECT round(avg(score)::numeric, 3) FROM demo_scores"}}
]$$, '{"days": []}', 'one job per day, then a summary') AS version;
SELECT mlops.start_run('daily_scores', $${"days": ["INSERT INTO demo_scores VALUES (1, 0.81)",
                                                    "INSERT INTO demo_scores VALUES (2, 0.84)",
                                                    "INSERT INTO demo_scores VALUES (3, 0.90)"]}$$) AS demo_run \gset
SELECT run_id, state, bar FROM mlops.run_progress WHERE run_id = :'demo_run';
DO $$
BEGIN
  FOR i IN 1 .. 2400 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'daily_scores') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
\echo 'Once it has run: every step succeeded; the summary step''s result is the average:'
SELECT run_id, state, bar FROM mlops.run_progress WHERE run_id = :'demo_run';
SELECT step, state, cardinality(job_ids) AS jobs, result ->> 'value' AS value, error FROM mlops.run_steps
WHERE run_id = :'demo_run' ORDER BY ord;
\echo 'The same config again is the same run: nothing runs twice.'
SELECT mlops.start_run('daily_scores', $${"days": ["INSERT INTO demo_scores VALUES (1, 0.81)",
                                                    "INSERT INTO demo_scores VALUES (2, 0.84)",
                                                    "INSERT INTO demo_scores VALUES (3, 0.90)"]}$$) = :'demo_run' AS same_run,
       (SELECT count(*) FROM demo_scores) AS rows_written_once;
\echo 'Luigi''s task id, for folder names users already have:'
SELECT mlops.luigi_task_id('DetectBlobs', '{"model": "v3", "tile": "2020-01/a b", "threshold": "0.75"}');

\echo
\echo '=== 9. Heatmaps from sensor readings: the heatmap service in SQL ==='
\echo '40 air-quality sensors (NO2, ug/m3) around Florence, in UTM 32N (test/data/sensors_sample.sql):'
\i test/data/sensors_sample.sql
SELECT count(*) AS sensors, round(min(value)::numeric, 1) AS min, round(avg(value)::numeric, 1) AS mean,
       round(max(value)::numeric, 1) AS max FROM sensor_readings;
\echo 'A grid over the area (the service''s rule: cell = ceil(max(10 m, sqrt(area / 40000)))):'
CREATE TEMP TABLE heat_area AS
SELECT ST_Buffer(ST_ConvexHull(ST_Collect(geom)), 500) AS area,
       ST_SetSRID(ST_Collect(ST_MakePoint(ST_X(geom), ST_Y(geom), value)), 32632) AS pts
FROM sensor_readings;
CREATE TEMP TABLE heat_grid AS
SELECT mlops.make_grid(area, max_cells => 40000, min_cell_size => 10, nodata => -9999) AS grid FROM heat_area;
SELECT ST_Width(grid) AS width, ST_Height(grid) AS height, ST_ScaleX(grid) AS cell_m, ST_SRID(grid) AS srid FROM heat_grid;
\echo 'Inverse distance weighting, fading beyond 800 m from the nearest sensor, then Gaussian smoothing:'
CREATE TEMP TABLE heat AS
SELECT mlops.interpolate_raster(pts, grid, 'idw',
         '{"power": 2, "fade_distance": 800, "fade_smoothing": 400, "gaussian_sigma": 2}') AS r
FROM heat_area, heat_grid;
SELECT round((s).min::numeric, 1) AS min, round((s).mean::numeric, 1) AS mean, round((s).max::numeric, 1) AS max, (s).count AS cells
FROM (SELECT ST_SummaryStats(r, 1, true) AS s FROM heat) t;
\echo 'The same values as PostGIS ST_InterpolateRaster (GDAL), cell by cell (PostGIS 3.3 needs ST_Force3DZ here).'
\echo 'GDAL computes invdist with power 2 and no smoothing in float32 with an approximate reciprocal: that row shows GDAL''s error.'
SELECT m.label, max(abs(a - b) / greatest(abs(a), abs(b), 1e-9)) AS max_relative_difference
FROM heat_area, heat_grid,
     (VALUES ('idw power 3', 'idw', '{"power": 3, "nodata": -9999}', 'invdist:power=3.0:smoothing=0.0:nodata=-9999'),
             ('idw power 2 smoothing 10', 'idw', '{"power": 2, "smoothing": 10, "nodata": -9999}', 'invdist:power=2.0:smoothing=10.0:nodata=-9999'),
             ('idw power 2 (GDAL float32 SSE)', 'idw', '{"power": 2, "nodata": -9999}', 'invdist:power=2.0:smoothing=0.0:nodata=-9999'),
             ('nearest', 'nearest', '{"nodata": -9999}', 'nearest:nodata=-9999'),
             ('linear', 'linear', '{"nodata": -9999}', 'linear:radius=0:nodata=-9999')) AS m(label, method, opts, gdal),
     LATERAL unnest(ST_DumpValues(mlops.interpolate_raster(pts, grid, m.method, m.opts::jsonb), 1, false),
                    ST_DumpValues(ST_InterpolateRaster(ST_Force3DZ(pts), m.gdal, grid), 1, false)) AS u(a, b)
GROUP BY m.label ORDER BY m.label;
\echo 'Ordinary kriging with a variogram fitted from the readings (GDAL and PostGIS have none):'
SELECT mlops.fit_variogram(pts, 'spherical') AS variogram FROM heat_area;
SELECT round((s).min::numeric, 1) AS min, round((s).mean::numeric, 1) AS mean, round((s).max::numeric, 1) AS max
FROM (SELECT ST_SummaryStats(mlops.interpolate_raster(pts, grid, 'kriging', '{"max_points": 16}'), 1, true) AS s
      FROM heat_area, heat_grid) t;
\echo 'Bad input gets a clear error:'
\set ON_ERROR_STOP off
SELECT mlops.interpolate_raster(ST_Force2D(pts), grid) FROM heat_area, heat_grid;
SELECT mlops.interpolate_raster(pts, grid, 'spline') FROM heat_area, heat_grid;
SELECT mlops.interpolate_raster(pts, grid, 'idw', '{"power": -2}') FROM heat_area, heat_grid;
\set ON_ERROR_STOP on
-- make demo gives the file for the PNG (base64) as heatmap_b64; run by hand, nothing is written
\if :{?heatmap_b64}
\echo 'The heatmap as a PNG (mlops.heatmap_png: green low, red high, cells enlarged to a readable size), written by make demo to' :'heatmap_png'
\pset format unaligned
\pset tuples_only on
\o :heatmap_b64
SELECT encode(mlops.heatmap_png(r, '{"vmin": 0}'), 'base64') FROM heat;
\o
\pset tuples_only off
\pset format aligned
\endif
\if :{?heatmap_svg}
\echo 'And as a picture for people (mlops.heatmap_svg: title, colour bar with units, the 40 sensors), written to' :'heatmap_svg'
\pset format unaligned
\pset tuples_only on
\o :heatmap_svg
SELECT mlops.heatmap_svg(r, pts, jsonb_build_object(
         'title', 'NO2 around Florence (demo sensors)', 'units', 'NO2 µg/m³', 'vmin', 0,
         'subtitle', 'inverse distance weighting, power 2, fading beyond 800 m, Gaussian smoothing 2 cells'))
FROM heat, heat_area;
\o
\pset tuples_only off
\pset format aligned
\endif

\echo
\echo '=== 10. The heatmap pipeline: the heatmap service per request, by config ==='
\echo 'Readings of the 40 sensors (three in the window, with sentinel values and duplicates) and an area:'
CREATE TABLE public.demo_areas (id int PRIMARY KEY, geom geometry(Polygon, 32632));
CREATE TABLE public.demo_readings (sensor_id text, observed_at timestamptz, value float8, geom geometry(Point, 32632));
INSERT INTO public.demo_areas SELECT 7, ST_Buffer(ST_ConvexHull(ST_Collect(geom)), 300) FROM sensor_readings;
INSERT INTO public.demo_readings
SELECT name, '2026-01-01 10:00+00'::timestamptz + k * interval '10 minutes', value + k, geom
FROM sensor_readings, generate_series(0, 2) k
UNION ALL SELECT name, '2026-01-01 10:05+00', -9999, geom FROM sensor_readings
UNION ALL SELECT name, '2026-01-01 10:00+00', value, geom FROM sensor_readings;
SELECT count(*) AS readings FROM public.demo_readings;
SELECT mlops.start_run('heatmap', $${"area_id": 7, "from": "2026-01-01 09:00+00", "to": "2026-01-01 12:00+00",
   "readings": {"table": "public.demo_readings"}, "areas": {"table": "public.demo_areas"},
   "outputs": {"svg": ["heat/demo.svg"], "png": ["heat/demo.png"], "json": ["heat/demo.json"]}}$$) AS heat_run \gset
SELECT run_id, state, bar FROM mlops.run_progress WHERE run_id = :'heat_run';
DO $$
BEGIN
  FOR i IN 1 .. 1200 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'heatmap') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT run_id, state, bar, failed_step, failed_error FROM mlops.run_progress WHERE run_id = :'heat_run';
SELECT step, state, cardinality(job_ids) AS jobs FROM mlops.run_steps WHERE run_id = :'heat_run' ORDER BY ord;
SELECT area_id, sensor_count, round(min::numeric, 1) AS min, round(max::numeric, 1) AS max, round(mean::numeric, 1) AS mean,
       ST_Width(raster) AS width, ST_Height(raster) AS height FROM mlops.heatmaps;
\echo 'The same request again is the same run: nothing is recomputed.'
SELECT mlops.start_run('heatmap', $${"area_id": 7, "from": "2026-01-01 09:00+00", "to": "2026-01-01 12:00+00",
   "readings": {"table": "public.demo_readings"}, "areas": {"table": "public.demo_areas"},
   "outputs": {"svg": ["heat/demo.svg"], "png": ["heat/demo.png"], "json": ["heat/demo.json"]}}$$) = :'heat_run' AS same_run,
       (SELECT count(*) FROM mlops.heatmaps) AS heatmaps;

\echo
\echo '=== 11. Datasets: the diatom builder''s split, exact and reproducible ==='
\echo 'A manifest of 300 images of 4 species from 30 specimens; the original''s rule, exactly 5 test images per species:'
CREATE TEMP TABLE diatoms AS
SELECT jsonb_agg(jsonb_build_object('file', format('zip%s/img%s.png', i % 30, i),
                                    'species_label', (ARRAY['gomphonema', 'navicula', 'achnanthes', 'cymbella'])[1 + i % 4],
                                    'specimen', 'sp' || (i % 30)) ORDER BY i) AS m
FROM generate_series(1, 300) i;
SELECT item->>'species_label' AS species, count(*) FILTER (WHERE split = 'test') AS test,
       count(*) FILTER (WHERE split = 'train') AS train
FROM mlops.split_manifest((SELECT m FROM diatoms), '{"label": "species_label", "n_test_per_label": 5, "seed": 42}')
GROUP BY 1 ORDER BY 1;
\echo 'Grouped by specimen (none on both sides), class shares as close as the groups allow:'
SELECT split, count(*) AS images, count(DISTINCT item->>'specimen') AS specimens
FROM mlops.split_manifest((SELECT m FROM diatoms), '{"label": "species_label", "group": "specimen", "test_size": 0.2, "seed": 42}')
GROUP BY 1 ORDER BY 1;
\echo 'The same index sets as scikit-learn''s train_test_split(stratify=y, test_size=0.2, random_state=42):'
SELECT string_agg((ord - 1)::text, ' ' ORDER BY ord) FILTER (WHERE ord <= 40) AS first_test_indices
FROM mlops.split_manifest((SELECT m FROM diatoms), '{"method": "sklearn", "label": "species_label", "test_size": 0.2, "seed": 42}')
WHERE split = 'test';

\echo 'Straight over a table (mlops.split_table_ids): the same split, each side''s ids as one array:'
CREATE TEMP TABLE diatom_images AS
SELECT ord - 1 AS id, item->>'species_label' AS species
FROM jsonb_array_elements((SELECT m FROM diatoms)) WITH ORDINALITY e(item, ord);
SELECT split, cardinality(ids) AS images, array_to_string(ids[1:10], ' ') AS first_ids
FROM mlops.split_table_ids('diatom_images', '{"id": "id", "label": "species", "method": "sklearn", "test_size": 0.2, "seed": 42}');

\echo 'The dataset pipeline (the diatom builder): two zips from the local server, split per folder with'
\echo 'exactly 3 test images each, laid out by hard links, zipped; no upload configured, so the zip is kept:'
SELECT mlops.start_run('dataset', jsonb_build_object('file_list', jsonb_build_array(
  jsonb_build_object('file_url', regexp_replace(:'demo_url', '[^/]*$', 'diatoms_gomphonema.zip'), 'downloaded_file_name', 'gomphonema.zip',
                     'exploded_folder_name', 'gomphonema', 'species_label', 'gomphonema_clavatum'),
  jsonb_build_object('file_url', regexp_replace(:'demo_url', '[^/]*$', 'diatoms_navicula.zip'), 'downloaded_file_name', 'navicula.zip',
                     'exploded_folder_name', 'navicula', 'species_label', 'navicula_lanceolata')),
  'n_test_per_label', 3, 'seed', 42, 'work', 'diatoms')) AS ds_run \gset
DO $$
BEGIN
  FOR i IN 1 .. 1200 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'dataset') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT step, state, cardinality(job_ids) AS jobs, error FROM mlops.run_steps WHERE run_id = :'ds_run' ORDER BY ord;
SELECT e ->> 'label' AS species, count(*) FILTER (WHERE e ->> 'split' = 'test') AS test,
       count(*) FILTER (WHERE e ->> 'split' = 'train') AS train
FROM mlops.run_steps s, jsonb_array_elements(s.result) r, jsonb_array_elements(r -> 'value') e
WHERE s.run_id = :'ds_run' AND s.step = 'split' GROUP BY 1 ORDER BY 1;
SELECT result ->> 'path' ~ '^diatoms/diatom_set-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.zip$' AS named_by_utc_time,
       (result ->> 'files')::int AS files_in_zip
FROM mlops.run_steps WHERE run_id = :'ds_run' AND step = 'package';

\echo
\echo '=== 12. Detection: blobs -> sites -> contours on a model heatmap ==='
\echo 'A 200 x 200 heatmap (EPSG:32632, 10 m cells) with 6 plastic-like blobs, one of them a close pair:'
CREATE TEMP TABLE det_heat AS
SELECT ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(200, 200, 680000, 4850000, 10, -10, 0, 0, 32632), '32BF'::text, 0, NULL),
                    1, 1, 1,
                    (SELECT array_agg(r ORDER BY i) FROM (
                       SELECT i, array_agg(least(1.0, (SELECT sum(a * exp(greatest(-50.0, -((i - ci) ^ 2 + (j - cj) ^ 2) / (2.0 * s * s))))
                                                       FROM (VALUES (40, 50, 6, 1.0), (48, 58, 5, 0.95), (120, 40, 8, 0.9),
                                                                    (150, 150, 10, 1.0), (60, 160, 4, 0.85), (170, 80, 7, 0.8))
                                                            b(ci, cj, s, a))) ORDER BY j) AS r
                       FROM generate_series(0, 199) i, generate_series(0, 199) j GROUP BY i) x)::float8[][]) AS r;
\echo 'Blobs (scikit-image''s blob_doh; the point is the pixel centre):'
CREATE TEMP TABLE det_blobs AS
SELECT * FROM mlops.detect_blobs((SELECT r FROM det_heat), 'doh', '{"min_sigma": 3, "max_sigma": 20, "threshold": 0.005, "pred_threshold": 0.5}');
SELECT blob_id, pixel_row, pixel_col, round(sigma::numeric, 1) AS sigma, round(radius::numeric) AS radius_m FROM det_blobs;
\echo 'A second detector on the same heatmap (blob_log), as a second model would give:'
CREATE TEMP TABLE det_blobs_log AS
SELECT * FROM mlops.detect_blobs((SELECT r FROM det_heat), 'log', '{"min_sigma": 3, "max_sigma": 20, "threshold": 0.1, "pred_threshold": 0.5}');
SELECT blob_id, pixel_row, pixel_col, round(sigma::numeric, 1) AS sigma, round(radius::numeric) AS radius_m FROM det_blobs_log;
\echo 'Sites: the two detectors'' blobs within 150 m merged (the original''s iterative means; members 1-5 doh, 6- log):'
CREATE TEMP TABLE det_sites AS
SELECT * FROM mlops.merge_detections((SELECT array_agg(geom ORDER BY k) FROM (
  SELECT geom, blob_id AS k FROM det_blobs UNION ALL SELECT geom, 1000 + blob_id FROM det_blobs_log) b), 150);
SELECT site_id, ST_AsText(ST_SnapToGrid(geom, 1)) AS site, n_members, members FROM det_sites;
\echo 'Contours of the cells >= 0.5 after a 5 x 5 box blur, with exact areas:'
CREATE TEMP TABLE det_contours AS
SELECT * FROM mlops.contours((SELECT r FROM det_heat), 0.5, '{"blur": 5, "min_area": 2000}');
SELECT contour_id, ST_GeometryType(geom) AS type, area AS area_m2, round(max_value::numeric, 2) AS max_value,
       ST_IsValid(geom) AS valid,
       (SELECT count(*) FROM det_sites s WHERE ST_Intersects(s.geom, c.geom)) AS sites_inside
FROM det_contours c ORDER BY contour_id;
\if :{?detections_svg}
\echo 'The heatmap with its contours and sites, written to' :'detections_svg'
\pset format unaligned
\pset tuples_only on
\o :detections_svg
SELECT mlops.heatmap_svg((SELECT r FROM det_heat), (SELECT ST_Collect(geom) FROM det_sites),
         '{"title": "Detections (demo heatmap)", "subtitle": "blob_doh + blob_log -> merged sites (dots) -> contours at 0.5 after a 5 x 5 blur", "units": "model score", "vmin": 0, "vmax": 1, "colormap": "viridis", "points_label": "site (merged blobs)", "outline_label": "contour (cells >= 0.5)", "nodata_note": "no data"}',
         (SELECT ST_Collect(geom) FROM det_contours));
\o
\pset tuples_only off
\pset format aligned
\endif
\echo 'The same as a pipeline run (mlops.start_run(''detection'', ...)): two models'' heatmaps (the second a'
\echo 'little weaker) -> blobs per model -> sites per model -> confirmed by both -> contours around each site:'
CREATE TABLE public.demo_model_heatmaps AS
SELECT 'a' AS model, r AS raster FROM det_heat
UNION ALL SELECT 'b', ST_MapAlgebra(r, 1, '32BF', '[rast] * 0.95') FROM det_heat;
SELECT mlops.start_run('detection', '{"heatmaps": {"table": "public.demo_model_heatmaps"},
  "blob_options": {"min_sigma": 3, "max_sigma": 20, "threshold": 0.005}, "pred_threshold": 0.5,
  "radius": 150, "min_models": 2, "level": 0.5, "contour_options": {"blur": 5}, "min_area": 2000, "window": 400}') AS det_run \gset
DO $$
BEGIN
  FOR i IN 1 .. 1200 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'detection') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT step, state, cardinality(job_ids) AS jobs FROM mlops.run_steps WHERE run_id = :'det_run' ORDER BY ord;
SELECT s.model, count(*) AS sites, count(*) FILTER (WHERE s.confirmed) AS confirmed,
       sum((SELECT count(*) FROM mlops.site_contours c WHERE c.run_id = s.run_id AND c.site_id = s.site_id)) AS contours
FROM mlops.sites s WHERE s.run_id = :'det_run' GROUP BY s.model ORDER BY s.model;
\if :{?detections_b64}
\echo 'Model a''s heatmap with the run''s contours (white) and confirmed sites (magenta), as a PNG'
\echo '(mlops.heatmap_overlay_png), written by make demo to' :'detections_png'
SELECT ST_Width(r) * 3 AS png_width, ST_Height(r) * 3 AS png_height,
       (SELECT string_agg(floor((ST_X(s.geom) - ST_UpperLeftX(r)) / ST_ScaleX(r) * 3) || ','
                          || floor((ST_Y(s.geom) - ST_UpperLeftY(r)) / ST_ScaleY(r) * 3), ' ' ORDER BY s.site_id)
        FROM mlops.sites s WHERE s.run_id = :'det_run' AND s.model = 'a' AND s.confirmed) AS site_marker_pixels
FROM det_heat;
\pset format unaligned
\pset tuples_only on
\o :detections_b64
SELECT encode(mlops.heatmap_overlay_png(h.raster,
         (SELECT ST_Collect(s.geom ORDER BY s.site_id) FROM mlops.sites s
          WHERE s.run_id = :'det_run' AND s.model = 'a' AND s.confirmed),
         (SELECT ST_Collect(c.geom ORDER BY c.site_id, c.contour_id) FROM mlops.site_contours c
          JOIN mlops.sites s USING (owner, run_id, site_id) WHERE s.run_id = :'det_run' AND s.model = 'a'),
         '{"colormap": "viridis", "vmin": 0, "vmax": 1, "scale": 3}'), 'base64')
FROM public.demo_model_heatmaps h WHERE h.model = 'a';
\o
\pset tuples_only off
\pset format aligned
\endif

\echo
\echo '=== 13. Active learning: the next batch to label ==='
\echo 'A pool of 10,000 predictions (3 classes) with 2-D embeddings; 500 already labelled, 300 handed out:'
CREATE TEMP TABLE al_pool AS
SELECT i::bigint AS id,
       ARRAY[a / (a + b + c), b / (a + b + c), c / (a + b + c)]::float4[] AS probs,
       ARRAY[(i % 97)::float4, (i % 89)::float4] AS emb,
       i % 20 = 0 AS labelled, i % 33 = 0 AS handed_out
FROM (SELECT i, 1 + (i::bigint * 7919 % 101)::float8 AS a, 1 + (i::bigint * 104729 % 89)::float8 AS b,
             1 + (i::bigint * 1299709 % 97)::float8 AS c FROM generate_series(1, 10000) i) x;
CREATE TEMP VIEW al_candidates AS SELECT *, labelled OR handed_out AS taken FROM al_pool;
\echo 'The 5 most uncertain (entropy), never one labelled or handed out, at most 2 per predicted class:'
SELECT rank, id, round(score::numeric, 4) AS entropy FROM mlops.select_batch('al_candidates',
  '{"id": "id", "probs": "probs", "k": 5, "exclude": "taken", "per_class": 2}');
\echo 'A diverse batch of 5: greedy k-centre from the labelled rows (coreset):'
SELECT rank, id, round(score::numeric, 2) AS distance FROM mlops.select_batch('al_pool',
  '{"id": "id", "embedding": "emb", "labelled": "labelled", "k": 5, "strategy": "coreset"}');
\echo 'Bad input gets a clear error:'
\set ON_ERROR_STOP off
SELECT * FROM mlops.select_batch('al_pool', '{"id": "id", "probs": "probs", "k": 5, "strategy": "bald"}');
\set ON_ERROR_STOP on
\echo 'A simulated training: an external trainer reports one row of metrics per epoch, then completes:'
SELECT mlops.submit_job('train', '{"model": "tiny", "epochs": 3}') AS fit_job \gset
SELECT lease_token AS fit_lease FROM mlops.claim_job('{train}', lease => '5 minutes') \gset
SELECT mlops.report_metrics(:fit_job, :'fit_lease', e, jsonb_build_object('loss', round((1.0 / (e + 1))::numeric, 3),
                                                                          'accuracy', round((0.6 + 0.1 * e)::numeric, 2)))
FROM generate_series(0, 2) e;
SELECT mlops.complete_job(:fit_job, :'fit_lease', '{"model_path": "models/tiny.pkl"}');
SELECT step AS epoch, metrics FROM mlops.job_metrics(:fit_job);
SELECT id, state, params, result FROM mlops.job_progress WHERE id = :fit_job;
