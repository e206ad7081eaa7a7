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
SELECT metric, value, n_samples, source_row_id FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000a');
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
\echo 'A download from a local HTTP server, through mlops.work_dir/<path>.part, checked and renamed:'
SELECT mlops.submit_job('download', jsonb_build_object('url', :'demo_url', 'path', 'demo/sample.json')) AS dl_job \gset
SELECT mlops.wait_job(:dl_job, '30 seconds') AS state;
SELECT id, state, result FROM mlops.jobs WHERE id = :dl_job;
\echo 'Bad input is refused before anything is queued:'
\set ON_ERROR_STOP off
SELECT mlops.submit_job('download', '{"url": "file:///etc/passwd", "path": "x"}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "../../outside"}');
\set ON_ERROR_STOP on
\echo 'An external worker (a GPU trainer, say) claims its own kind, reports progress and completes:'
SELECT mlops.submit_job('train', '{"epochs": 10}') AS train_job \gset
SELECT id, kind, state, attempts FROM mlops.claim_job('{train}', lease => '5 minutes');
SELECT mlops.report_progress(:train_job, 0.6, 'epoch 6 of 10');
SELECT id, kind, state, bar, message FROM mlops.job_progress WHERE id = :train_job;
SELECT mlops.complete_job(:train_job, '{"accuracy": 0.93}');
SELECT id, kind, state, bar, message FROM mlops.job_progress ORDER BY id;
