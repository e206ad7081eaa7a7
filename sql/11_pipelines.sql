-- Pipelines: canonical JSON, config merge, Luigi's task ids; templates and every refusal at
-- definition time; runs whose id is the config's hash (the same config is the same run), steps
-- that pass results on, fan-out and fan-in, failures that skip their dependents, reruns of
-- failed and missing steps only, cancel, and the run's owner.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;

-- canonical JSON: sorted keys (by bytes), no spaces, jsonb's numbers and strings
SELECT mlops.canonical_json('{"b": [1, 2.50, {"z": null, "a": true}], "a": "x\"y", "B": 1e3}');
SELECT mlops.canonical_json('{"b": 1, "a": 2}') = mlops.canonical_json('{"a": 2, "b": 1}') AS order_free;
-- deep merge: objects key by key, arrays and scalars replaced
SELECT mlops.json_merge('{"idw": {"power": 4, "fade": 800}, "ids": [1, 2], "name": "a"}',
                        '{"idw": {"power": 2}, "ids": [3], "extra": null}');
-- Luigi's task ids (luigi.task.task_id_str)
SELECT mlops.luigi_task_id('DetectBlobs', '{"model": "v3", "tile": "2020-01/a b", "threshold": "0.75", "zone": "x"}');
SELECT mlops.luigi_task_id('Empty', '{}');
SELECT mlops.luigi_task_id('Accents', '{"place": "Zürich 😀"}');
SELECT mlops.luigi_task_id('EmptyValue', '{"a": "", "b": "x"}');
SELECT mlops.luigi_task_id('Bad', '{"n": 3}');

-- Definition-time refusals, each with its reason; nothing is stored.
SELECT mlops.define_pipeline('Bad', '[{"name": "a", "kind": "sql"}]');
SELECT mlops.define_pipeline('p', '[]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "paramz": {}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sqll"}]');
-- a step's output in storage: {"credential", "object"}, each a string or a reference
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "output": "x"}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "output": {"credential": "c"}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "output": {"credential": "c", "object": "o", "bucket": "b"}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "output": {"credential": "c", "object": 7}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "train", "external": true, "output": {"credential": "c", "object": "o"}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "output": {"credential": "c", "object": {"$ref": "steps.b.result.path"}}}, {"name": "b", "kind": "sql"}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "output": {"credential": "c", "object": {"$ref": "item.name"}}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql"}, {"name": "a", "kind": "sql"}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "depends_on": ["nope"]}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "depends_on": ["c"]},
                                    {"name": "b", "kind": "sql", "depends_on": ["a"]},
                                    {"name": "c", "kind": "sql", "depends_on": ["b"]},
                                    {"name": "d", "kind": "sql"}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql"},
                                    {"name": "b", "kind": "sql", "params": {"command": {"$ref": "steps.a.result.value"}}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "params": {"command": {"$ref": "secrets.x"}}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "params": {"command": {"$ref": "item"}}}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "download", "timeout": 5}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "retries": -1}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql", "for_each": ["x"]}]');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql"}]', options => '{"rerun_all": true}');
SELECT count(*) AS stored FROM mlops.pipeline_versions WHERE NOT builtin;

-- A pipeline: a fan-out over the config's commands, a step that runs the SQL another step
-- returned (results passed on) after the fan-out (fan-in), and a step that fails while flag.x is 0.
CREATE TABLE flag (x int);
INSERT INTO flag VALUES (0);
CREATE TABLE trace (step text, at timestamptz DEFAULT clock_timestamp());
SELECT mlops.define_pipeline('demo', $$[
  {"name": "each", "kind": "sql", "for_each": {"$ref": "config.commands"},
   "params": {"command": {"$ref": "item"}}},
  {"name": "first", "kind": "sql", "params": {"command": "INSERT INTO trace VALUES ('first') RETURNING step"}},
  {"name": "pick", "kind": "sql", "params": {"command": {"$ref": "config.pick_command"}}},
  {"name": "sum", "kind": "sql", "depends_on": ["each", "first", "pick"],
   "params": {"command": {"$ref": "steps.pick.result.value"}}},
  {"name": "fragile", "kind": "sql", "depends_on": ["sum"], "retries": 0,
   "params": {"command": "INSERT INTO trace VALUES ('fragile'); SELECT 1 / (SELECT x FROM flag)"}},
  {"name": "last", "kind": "sql", "depends_on": ["fragile"],
   "params": {"command": "INSERT INTO trace VALUES ('last') RETURNING step"}}
]$$, $d${"commands": ["SELECT 1", "SELECT 2", "SELECT 3"], "pick_command": "SELECT 'SELECT ' || 2 * 3", "note": {"a": 1}}$d$,
   'a fan-out, a fan-in and a fragile step');
SELECT name, version, description, steps FROM mlops.pipelines WHERE name NOT IN ('heatmap', 'dataset', 'detection');
-- the heatmap pipeline comes with the extension
SELECT name, version, steps, owner = 'postgres'::regrole AS owned_by_the_installer FROM mlops.pipelines WHERE name IN ('heatmap', 'dataset', 'detection') ORDER BY name;

-- unknown config keys are refused; the config is the defaults merged with the params
SELECT mlops.start_run('demo', '{"comands": []}');
SELECT mlops.start_run('nope');
SELECT mlops.start_run('demo', '{"note": {"b": 2}}') AS run \gset
SELECT length(:'run') AS id_length, config -> 'note' AS note FROM mlops.runs WHERE run_id = :'run';
-- the id is left(sha256(canonical JSON of {"config", "pipeline"}), 20)
SELECT :'run' = left(encode(sha256(convert_to(mlops.canonical_json(
         jsonb_build_object('pipeline', 'demo', 'config', config)), 'UTF8')), 'hex'), 20) AS id_is_the_hash
FROM mlops.runs WHERE run_id = :'run';
-- the same config again is the same run; nothing more is queued
SELECT mlops.start_run('demo', '{"note": {"b": 2}}') = :'run' AS same_run;
SELECT mlops.start_run('demo', '{"note": {"a": 1, "b": 2}}') = :'run' AS same_config_same_run;
SELECT mlops.start_run('demo', '{}', run_id => :'run');
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'demo') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT state, error FROM mlops.runs WHERE run_id = :'run';
SELECT step, state, cardinality(job_ids) AS jobs, result, error
FROM mlops.run_steps WHERE run_id = :'run' ORDER BY ord;
SELECT run_id = :'run' AS this_run, state, done, total, bar, failed_step, failed_error FROM mlops.run_progress;
SELECT count(*) AS jobs_queued FROM mlops.jobs WHERE run_id = :'run';

-- rerun of the failed steps only: first, each and sum never run again
UPDATE flag SET x = 1;
SELECT mlops.rerun(:'run');
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'demo') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT state, error FROM mlops.runs WHERE run_id = :'run';
SELECT step, count(*) AS times FROM trace GROUP BY step ORDER BY step;
-- a step whose record is deleted is missing: it and its dependents run again, nothing else
DELETE FROM mlops.run_steps WHERE run_id = :'run' AND step = 'fragile';
SELECT mlops.rerun(:'run', mode => 'missing');
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN (SELECT state FROM mlops.runs WHERE pipeline = 'demo') <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT step, count(*) AS times FROM trace GROUP BY step ORDER BY step;
SELECT mlops.rerun(:'run', mode => 'missing') AS nothing_missing;
SELECT mlops.rerun(:'run', 'nope');
SELECT mlops.rerun(:'run', mode => 'some');
SELECT mlops.rerun('no-such-run');

-- cancel_run stops a run's queued and running steps
SELECT mlops.define_pipeline('slow', '[{"name": "nap", "kind": "sql", "params": {"command": "SELECT pg_sleep(30)"}},
                                       {"name": "after", "kind": "sql", "depends_on": ["nap"], "params": {"command": "SELECT 1"}}]');
SELECT mlops.start_run('slow') AS slow \gset
SELECT pg_sleep(0.5);
SELECT mlops.cancel_run(:'slow'), mlops.cancel_run(:'slow');
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM mlops.jobs WHERE run_id = (SELECT run_id FROM mlops.runs WHERE pipeline = 'slow')
                          AND state IN ('pending', 'running'));
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT r.state AS run_state, string_agg(s.step || ' ' || s.state, ', ' ORDER BY s.ord) AS steps
FROM mlops.runs r JOIN mlops.run_steps s USING (owner, run_id) WHERE r.run_id = :'slow' GROUP BY r.state;
SELECT count(*) AS still_running FROM mlops.jobs WHERE run_id = :'slow' AND state IN ('pending', 'running');

-- Schedules through pg_cron: everything checked before anything is written; replaceable.
SELECT mlops.schedule_pipeline('nope', '0 * * * *');
SELECT mlops.schedule_pipeline('demo', '0 * * * *', '{"comands": []}');
SELECT mlops.schedule_pipeline('demo', 'every minute');
SELECT count(*) AS cron_jobs FROM cron.job WHERE jobname LIKE 'mlops_pipeline_%';
SELECT mlops.schedule_pipeline('demo', '0 * * * *', '{"note": {"b": 2}}') > 0 AS scheduled;
SELECT mlops.schedule_pipeline('demo', '30 * * * *', '{"note": {"b": 2}}') > 0 AS replaced;
SELECT jobname, schedule, command, username = current_user AS runs_as_me FROM cron.job WHERE jobname LIKE 'mlops_pipeline_%';
-- what a tick runs: the same config is the same run (nothing queued again)
SELECT mlops.start_scheduled_run('demo', '{"note": {"b": 2}}') = :'run' AS tick_is_the_same_run;
SELECT mlops.unschedule_pipeline('demo'), mlops.unschedule_pipeline('demo');
SELECT count(*) AS cron_jobs FROM cron.job WHERE jobname LIKE 'mlops_pipeline_%';
-- with rerun: always, every tick is a run of its own
SELECT mlops.define_pipeline('ticks', '[{"name": "t", "kind": "sql", "params": {"command": "SELECT 1"}}]',
                             '{}', options => '{"rerun": "always"}');
SELECT mlops.define_pipeline('p', '[{"name": "a", "kind": "sql"}]', options => '{"rerun": "sometimes"}');
SELECT mlops.start_scheduled_run('ticks', '{}') ~ '^[0-9a-f]{20}-[0-9]{8}T[0-9]{4}$' AS tick_run_id;

-- A redefinition is a new version; runs keep theirs.  Another role sees templates, not runs.
SELECT mlops.define_pipeline('demo', '[{"name": "only", "kind": "sql", "params": {"command": "SELECT 1"}}]');
SELECT name, version, steps FROM mlops.pipelines WHERE name = 'demo';
SELECT version FROM mlops.runs WHERE run_id = :'run';
CREATE ROLE mlops_regress_other LOGIN;
GRANT EXECUTE ON FUNCTION mlops.start_run(text, jsonb, text), mlops.rerun(text, text, text),
                          mlops.cancel_run(text), mlops.define_pipeline(text, jsonb, jsonb, text, jsonb),
                          mlops.drop_pipeline(text) TO mlops_regress_other;
GRANT SELECT, UPDATE, DELETE ON mlops.runs, mlops.run_steps TO mlops_regress_other;
SET ROLE mlops_regress_other;
SELECT count(*) AS other_sees_runs FROM mlops.run_progress;
SELECT count(*) AS other_sees_run_rows FROM mlops.runs;
DELETE FROM mlops.run_steps;
SELECT mlops.rerun(:'run');
SELECT mlops.cancel_run(:'slow');
SELECT mlops.define_pipeline('demo', '[{"name": "mine", "kind": "sql"}]');
SELECT mlops.drop_pipeline('demo');
RESET ROLE;
SELECT count(*) AS steps_kept FROM mlops.run_steps WHERE run_id = :'run';
SELECT mlops.drop_pipeline('demo'), mlops.drop_pipeline('demo');
SELECT count(*) AS listed FROM mlops.pipelines WHERE name = 'demo';
REVOKE ALL ON mlops.runs, mlops.run_steps FROM mlops_regress_other;
DROP OWNED BY mlops_regress_other;
DROP ROLE mlops_regress_other;
