-- Scheduled metric monitoring: schedule_metric / unschedule_metric with pg_cron,
-- compute_metric on the newest row, history, a user's own table, privileges.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;
\i test/data/metrics_sample.sql

-- Schedule, and replace: one row, one pg_cron job with the new expression.
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', '*/5 * * * *') > 0 AS scheduled;
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', '0 * * * *', 'f1') > 0 AS replaced;
SELECT model_id, cron_expression, metric, source, options FROM mlops.metrics_executions;
SELECT jobname, schedule, command FROM cron.job ORDER BY jobid;
SELECT e.cron_job_id = j.jobid AS job_recorded FROM mlops.metrics_executions e JOIN cron.job j ON j.jobname = 'mlops_metric_' || e.model_id;

-- Invalid expressions and names are rejected and nothing is written.
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * *');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '61 * * * *');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', 'bogus');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', 'every minute');
-- a 6-field (seconds) expression is refused: pg_cron would store it as it is
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000a', '0 */5 * * * *');
-- options a metric does not take are refused, naming what it takes
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *', 'accuracy', options => '{"pos_label": 1}');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *', 'mae', options => '{"zero_division": 1}');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *', 'f1_average');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *', 'accuracy', 'pg_class');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *', 'accuracy', options => '{"colour": "red"}');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *', 'accuracy', options => '[]');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', NULL);
SELECT count(*) AS schedules, (SELECT count(*) FROM cron.job) AS cron_jobs,
       (SELECT cron_expression FROM mlops.metrics_executions) AS kept_expression
FROM mlops.metrics_executions;

-- compute_metric: the newest row, ties broken by the highest id (row 3 here).
SELECT metric, value, n_samples, source_row_id, details ->> 'row_time' AS row_time
FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000a');
-- without a schedule: accuracy of mlops.results
SELECT metric, value, n_samples, source_row_id FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000b');
-- an unknown model (no schedule, no rows) is an error, and nothing is stored
SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000ff');
SELECT count(*) AS stored FROM mlops.metric_values WHERE model_id = '00000000-0000-0000-0000-0000000000ff';
-- a malformed newest row fails the run with a clear error, and stores nothing
SELECT mlops.compute_metric('00000000-0000-0000-0000-00000000000c');
SELECT count(*) AS stored_for_c FROM mlops.metric_values WHERE model_id = '00000000-0000-0000-0000-00000000000c';

-- The registry is the list: metric_names() is its names, and each metric's function has json,
-- jsonb and text forms.
SELECT count(*) AS metrics, count(*) FILTER (WHERE kind = 'regression') AS regression,
       array_agg(metric) FILTER (WHERE average = 'macro') AS macro
FROM mlops.metric_registry();
SELECT array_agg(m) = (SELECT array_agg(metric) FROM mlops.metric_registry()) AS names_from_registry
FROM mlops.metric_names() m;
SELECT r.sql_function, t.typ
FROM (SELECT DISTINCT sql_function FROM mlops.metric_registry()) r,
     (VALUES ('json'), ('jsonb'), ('text')) t(typ)
WHERE NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = 'mlops'::regnamespace
                  AND p.proname = r.sql_function AND p.proargtypes[0] = t.typ::regtype
                  AND obj_description(p.oid, 'pg_proc') IS NOT NULL);

-- Every metric name, on the models whose labels fit it.
DO $$
DECLARE
  m text;
  model uuid;
  r mlops.metric_values;
BEGIN
  FOR m IN SELECT * FROM mlops.metric_names() LOOP
    CONTINUE WHEN m LIKE '%samples';
    model := CASE WHEN m IN ('mae', 'mse', 'rmse', 'r2') THEN '00000000-0000-0000-0000-00000000000e'
                  WHEN m IN ('precision', 'recall', 'f1') OR m LIKE '%binary' THEN '00000000-0000-0000-0000-00000000000a'
                  ELSE '00000000-0000-0000-0000-00000000000b' END;
    PERFORM mlops.schedule_metric(model, '0 0 * * *', m);
    r := mlops.compute_metric(model);
    RAISE NOTICE '% on %: %', m, right(model::text, 1), round(r.value::numeric, 6);
  END LOOP;
END
$$;
-- samples averaging needs multilabel rows
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '0 0 * * *', 'f1_samples') > 0 AS scheduled;
SELECT mlops.compute_metric('00000000-0000-0000-0000-00000000000b');
-- string labels with a pos_label option
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000d', '0 0 * * *', 'precision', options => '{"pos_label": "spam"}') > 0 AS scheduled;
SELECT value FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000d');

-- latest_metric and metric_history
SELECT metric, value, n_samples FROM mlops.latest_metric('00000000-0000-0000-0000-00000000000a');
SELECT count(*) FROM mlops.latest_metric('00000000-0000-0000-0000-0000000000ff');
SELECT count(*) AS history, count(DISTINCT metric) AS metrics
FROM mlops.metric_history('00000000-0000-0000-0000-00000000000a');
SELECT count(*) FROM mlops.metric_history('00000000-0000-0000-0000-00000000000a', now() + interval '1 hour');

-- A user's own table: other column names, jsonb columns, and a hostile name.
CREATE TABLE "pred'ictions; DROP TABLE x; --" (
  pk int PRIMARY KEY, "Model" uuid, "truth ""col""" jsonb, guess jsonb, at timestamptz);
INSERT INTO "pred'ictions; DROP TABLE x; --" VALUES
  (1, '00000000-0000-0000-0000-0000000000f1', '[1, 2, 3]', '[1, 2, 2]', '2026-01-01'),
  (2, '00000000-0000-0000-0000-0000000000f1', '[1, 2, 3, 3]', '[1, 2, 3, 3]', '2026-01-01');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000f1', '0 0 * * *', 'accuracy',
       '"pred''ictions; DROP TABLE x; --"',
       '{"model_column": "Model", "y_true_column": "truth \"col\"", "y_pred_column": "guess", "time_column": "at", "id_column": "pk"}') > 0 AS scheduled;
SELECT source FROM mlops.metrics_executions WHERE model_id = '00000000-0000-0000-0000-0000000000f1';
SELECT value, n_samples, source_row_id FROM mlops.compute_metric('00000000-0000-0000-0000-0000000000f1');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000f1', '0 0 * * *', 'accuracy',
       '"pred''ictions; DROP TABLE x; --"', '{"model_column": "Model"}');
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000f1', '0 0 * * *', 'accuracy',
       '"pred''ictions; DROP TABLE x; --"',
       '{"model_column": "pk", "y_true_column": "truth \"col\"", "y_pred_column": "guess", "time_column": "at", "id_column": "pk"}');
-- the table is dropped after scheduling: the run fails clearly
DROP TABLE "pred'ictions; DROP TABLE x; --";
SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000f1');

-- Unschedule: the row and the pg_cron job go, the values stay.
SELECT mlops.unschedule_metric('00000000-0000-0000-0000-00000000000a') AS removed,
       mlops.unschedule_metric('00000000-0000-0000-0000-00000000000a') AS again;
SELECT count(*) AS jobs_for_a FROM cron.job WHERE jobname = 'mlops_metric_00000000-0000-0000-0000-00000000000a';
SELECT count(*) > 0 AS values_kept FROM mlops.metric_values WHERE model_id = '00000000-0000-0000-0000-00000000000a';

-- Privileges: a role without grants cannot schedule, compute or read.
CREATE ROLE mlops_regress_app;
SET ROLE mlops_regress_app;
SELECT mlops.schedule_metric('00000000-0000-0000-0000-00000000000b', '* * * * *');
SELECT mlops.compute_metric('00000000-0000-0000-0000-00000000000b');
SELECT * FROM mlops.latest_metric('00000000-0000-0000-0000-00000000000b');
SELECT count(*) FROM mlops.results;
RESET ROLE;
-- the README's grants for an application role make it work
CREATE ROLE mlops_regress_rival;
GRANT USAGE ON SCHEMA cron TO mlops_regress_app, mlops_regress_rival;
GRANT SELECT, INSERT ON mlops.results, mlops.metric_values TO mlops_regress_app, mlops_regress_rival;
GRANT SELECT, INSERT, UPDATE, DELETE ON mlops.metrics_executions TO mlops_regress_app, mlops_regress_rival;
GRANT USAGE ON SEQUENCE mlops.results_id_seq, mlops.metric_values_id_seq, mlops.metrics_executions_id_seq
    TO mlops_regress_app, mlops_regress_rival;
GRANT EXECUTE ON FUNCTION mlops.schedule_metric(uuid, text, text, regclass, jsonb),
                          mlops.unschedule_metric(uuid), mlops.compute_metric(uuid)
    TO mlops_regress_app, mlops_regress_rival;
SET ROLE mlops_regress_app;
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000a1', '*/10 * * * *') > 0 AS app_scheduled;
INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000a1', '[1, 0]', '[1, 1]');
SELECT value FROM mlops.compute_metric('00000000-0000-0000-0000-0000000000a1');
SELECT value FROM mlops.latest_metric('00000000-0000-0000-0000-0000000000a1');
SELECT username = 'mlops_regress_app' AS job_runs_as_app FROM cron.job WHERE jobname = 'mlops_metric_00000000-0000-0000-0000-0000000000a1';
SELECT owner FROM mlops.metrics_executions;
RESET ROLE;
-- a view of the application's, readable by everyone
CREATE VIEW app_view AS SELECT id, model_id, y_true, y_pred, "timestamp" FROM mlops.results;
ALTER VIEW app_view OWNER TO mlops_regress_app;
GRANT SELECT ON app_view TO mlops_regress_rival;

-- Another role with the same grants reaches none of it: it cannot read, rewrite or delete the
-- schedule, read the results, or plant values in the application's name.
SET ROLE mlops_regress_rival;
SELECT count(*) AS rival_sees_schedules FROM mlops.metrics_executions;
SELECT count(*) AS rival_sees_results FROM mlops.results;
SELECT count(*) AS rival_sees_values FROM mlops.metric_values;
UPDATE mlops.metrics_executions SET source = 'mlops.results', metric = 'mae';
DELETE FROM mlops.metrics_executions;
DELETE FROM mlops.results;
INSERT INTO mlops.metric_values (model_id, metric, value, owner)
VALUES ('00000000-0000-0000-0000-0000000000a1', 'accuracy', 1.0, 'mlops_regress_app');
INSERT INTO mlops.metrics_executions (model_id, cron_expression, owner)
VALUES ('00000000-0000-0000-0000-0000000000a1', '* * * * *', 'mlops_regress_app');
SELECT mlops.unschedule_metric('00000000-0000-0000-0000-0000000000a1') AS rival_unscheduled;
-- its own schedule of the same model sees its own rows only (none)
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000a1', '*/5 * * * *') > 0 AS rival_scheduled;
SELECT mlops.compute_metric('00000000-0000-0000-0000-0000000000a1');
-- a view of another role may not be a source: its functions would run with the rival's rights
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000a2', '* * * * *', 'accuracy', 'app_view');
SELECT mlops.unschedule_metric('00000000-0000-0000-0000-0000000000a1') AS rival_unscheduled_own;
RESET ROLE;
SELECT owner, cron_expression, metric FROM mlops.metrics_executions
WHERE model_id = '00000000-0000-0000-0000-0000000000a1' ORDER BY owner::text;
SELECT count(*) AS app_values FROM mlops.metric_values WHERE owner = 'mlops_regress_app'::regrole;

SET ROLE mlops_regress_app;
SELECT mlops.unschedule_metric('00000000-0000-0000-0000-0000000000a1');
RESET ROLE;
DROP OWNED BY mlops_regress_app, mlops_regress_rival;
DROP ROLE mlops_regress_app, mlops_regress_rival;

-- Last run: a scheduled run records when it ran and its error; a tick that finds the same newest
-- row stores nothing new.
SELECT mlops.schedule_metric('00000000-0000-0000-0000-0000000000c1', '* * * * *') > 0 AS scheduled;
SELECT last_run_at, last_error FROM mlops.metrics_executions WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
-- no rows yet: the run fails, and its error stays (the procedure commits it before failing)
CALL mlops.run_metric_schedule('00000000-0000-0000-0000-0000000000c1');
SELECT last_run_at IS NOT NULL AS ran, last_error FROM mlops.metrics_executions WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000c1', '[1, 0, 1, 1]', '[1, 1, 1, 1]');
CALL mlops.run_metric_schedule('00000000-0000-0000-0000-0000000000c1');
CALL mlops.run_metric_schedule('00000000-0000-0000-0000-0000000000c1');
SELECT (SELECT last_run_at FROM mlops.metrics_executions WHERE model_id = '00000000-0000-0000-0000-0000000000c1') AS last_run_at
\gset
SELECT last_error IS NULL AS error_cleared FROM mlops.metrics_executions WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
SELECT count(*) AS stored_once, min(value) AS value FROM mlops.metric_values WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
-- the same row again: the stored value is returned, nothing added; the run is still recorded
SELECT value, n_samples FROM mlops.compute_metric('00000000-0000-0000-0000-0000000000c1');
SELECT count(*) AS still_once FROM mlops.metric_values WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
SELECT last_run_at > :'last_run_at' AS run_recorded FROM mlops.metrics_executions WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
-- a new row, or a changed value, is stored
INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('00000000-0000-0000-0000-0000000000c1', '[1, 0]', '[1, 0]');
SELECT value FROM mlops.compute_metric('00000000-0000-0000-0000-0000000000c1');
UPDATE mlops.results SET y_pred = '[0, 0]' WHERE model_id = '00000000-0000-0000-0000-0000000000c1' AND y_pred::text = '[1, 0]';
SELECT value FROM mlops.compute_metric('00000000-0000-0000-0000-0000000000c1');
SELECT count(*) AS stored FROM mlops.metric_values WHERE model_id = '00000000-0000-0000-0000-0000000000c1';
SELECT command FROM cron.job WHERE jobname = 'mlops_metric_00000000-0000-0000-0000-0000000000c1';
SELECT mlops.unschedule_metric('00000000-0000-0000-0000-0000000000c1');
