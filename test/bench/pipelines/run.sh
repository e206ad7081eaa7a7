#!/usr/bin/env bash
# test/bench/pipelines/run.sh — the pipeline engine's own cost (`make bench`, or BENCH=pipelines),
# with trivial sql steps (SELECT pg_backend_pid(): it also counts the sessions used), each run as
# a job of the role that started the run, measured twice side by side: with warm per-role
# sessions (mlops.sql_session_idle, the default) and with a new session per job
# (mlops.sql_session_idle = 0, what pg_cron's background-worker mode does):
#   1. a 5-step chain, 20 runs: the latency from one step's success to its dependent's start
#      (p50, p99: the run advances in the transaction that ends the step, the worker claims the
#      next one), and the chain's overhead: wall time minus its steps' own time;
#   2. a 1,000-step fan-out and its fan-in: end to end, the time to queue the fan-out, and from
#      the fan-out's last success to the fan-in's start.
# For scale (not run here: neither is packaged): Prefect's users report about 0.43 s of overhead
# per task (PrefectHQ/prefect#5977); Airflow's scheduler spends 1-2 ms per task decision
# (apache/airflow#31185).
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh

cluster_start --db mlops_bench --durable || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null || exit 1

psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SELECT mlops.define_pipeline('chain', '[
  {"name": "s1", "kind": "sql", "params": {"command": "SELECT pg_backend_pid()"}},
  {"name": "s2", "kind": "sql", "depends_on": ["s1"], "params": {"command": "SELECT pg_backend_pid()"}},
  {"name": "s3", "kind": "sql", "depends_on": ["s2"], "params": {"command": "SELECT pg_backend_pid()"}},
  {"name": "s4", "kind": "sql", "depends_on": ["s3"], "params": {"command": "SELECT pg_backend_pid()"}},
  {"name": "s5", "kind": "sql", "depends_on": ["s4"], "params": {"command": "SELECT pg_backend_pid()"}}]', '{"n": 0, "mode": ""}');
SELECT mlops.define_pipeline('fan', '[
  {"name": "each", "kind": "sql", "for_each": {"$ref": "config.items"}, "params": {"command": {"$ref": "item"}}},
  {"name": "all", "kind": "sql", "depends_on": ["each"], "params": {"command": "SELECT pg_backend_pid()"}}]', '{"items": [], "mode": ""}');
-- bench_wait(run, seconds): the run's state once it ended (or when seconds passed)
CREATE FUNCTION bench_wait(run text, secs float8) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  st text;
  t0 timestamptz := clock_timestamp();
BEGIN
  LOOP
    SELECT r.state INTO st FROM mlops.runs r WHERE r.run_id = run;
    EXIT WHEN st IN ('succeeded', 'failed', 'cancelled') OR clock_timestamp() - t0 > secs * interval '1 second';
    PERFORM pg_sleep(0.005);
  END LOOP;
  RETURN st;
END $f$;
SQL

psql -XAtq -c "CREATE TABLE bench_started (run_id text, returned timestamptz)"
items=$(psql -XAtq -c "SELECT jsonb_agg('SELECT pg_backend_pid() + 0 * ' || i) FROM generate_series(1, 1000) i")
declare -A R

# measure MODE IDLE: both sections with mlops.sql_session_idle = IDLE; results in R[MODE,name]
measure() {
  local mode=$1 out run t0 i
  psql -XAtq -c "ALTER SYSTEM SET mlops.sql_session_idle = '$2'" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 1.2   # the worker reloads, and warm sessions of the last mode leave
  echo "== $mode: 1. a 5-step chain of trivial sql steps, 20 runs one after the other"
  # each run is started in a session of its own; the time its start_run call returned (after its
  # commit: nothing of the run can start before) is kept beside it.  The same session then waits
  # for the run (bench_wait polls every 5 ms): a new psql process and connection per poll would
  # compete for this machine's two cores with the very transitions being measured.
  for i in $(seq 1 20); do
    out=$(psql -XAtq -v ON_ERROR_STOP=1 <<SQL
SELECT mlops.start_run('chain', '{"n": $i, "mode": "$mode"}') AS run \gset
INSERT INTO bench_started VALUES (:'run', clock_timestamp());
SELECT bench_wait(:'run', 60);
SQL
)
    [ "$out" = succeeded ] || { echo "run $i of the chain ended '$out'"; exit 1; }
  done
  read -r R[$mode,p50] R[$mode,p99] R[$mode,n_trans] <<<"$(psql -XAt -F ' ' -c "
    WITH t AS (SELECT extract(epoch FROM nj.started_at - pj.finished_at) * 1000 AS ms
               FROM mlops.jobs pj JOIN mlops.jobs nj
                 ON nj.run_id = pj.run_id AND nj.step = 's' || (substr(pj.step, 2)::int + 1)
               WHERE pj.step IS NOT NULL
                 AND nj.run_id IN (SELECT run_id FROM mlops.runs WHERE pipeline = 'chain' AND config ->> 'mode' = '$mode'))
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2), count(*) FROM t")"
  read -r R[$mode,wall] R[$mode,work] R[$mode,over] R[$mode,chain_sessions] <<<"$(psql -XAt -F ' ' -c "
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY w)::numeric, 1), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 1),
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY w - s)::numeric, 1),
           (SELECT count(DISTINCT j.result ->> 'value') FROM mlops.jobs j JOIN mlops.runs r2 USING (run_id)
             WHERE r2.pipeline = 'chain' AND r2.config ->> 'mode' = '$mode')
    FROM (SELECT r.run_id, extract(epoch FROM r.finished_at - b.returned) * 1000 AS w,
                 (SELECT sum(extract(epoch FROM j.finished_at - j.started_at)) * 1000 FROM mlops.jobs j WHERE j.run_id = r.run_id) AS s
          FROM mlops.runs r JOIN bench_started b USING (run_id) WHERE r.pipeline = 'chain' AND r.config ->> 'mode' = '$mode') x")"

  echo "== $mode: 2. a fan-out of 1,000 trivial sql steps and its fan-in"
  t0=$(date +%s.%N)
  run=$(psql -XAtq -c "SELECT mlops.start_run('fan', jsonb_build_object('items', '$items'::jsonb, 'mode', '$mode'))")
  R[$mode,t_start]=$(printf '%.3f' "$(echo "$(date +%s.%N) - $t0" | bc)")
  out=$(psql -XAtq -c "SELECT bench_wait('$run', 300)")
  [ "$out" = succeeded ] || { echo "run $run ended '$out'"; exit 1; }
  read -r R[$mode,fan_wall] R[$mode,queue_ms] R[$mode,fanin_ms] R[$mode,jobs_ok] R[$mode,fan_sessions] <<<"$(psql -XAt -F ' ' -c "
    SELECT round(extract(epoch FROM r.finished_at - r.created_at)::numeric, 2),
           round((extract(epoch FROM (SELECT max(created_at) FROM mlops.jobs WHERE run_id = r.run_id AND step = 'each') - r.created_at) * 1000)::numeric, 1),
           round((extract(epoch FROM (SELECT started_at FROM mlops.jobs WHERE run_id = r.run_id AND step = 'all')
                                   - (SELECT max(finished_at) FROM mlops.jobs WHERE run_id = r.run_id AND step = 'each')) * 1000)::numeric, 1),
           (SELECT count(*) FROM mlops.jobs WHERE run_id = r.run_id AND state = 'succeeded'),
           (SELECT count(DISTINCT result ->> 'value') FROM mlops.jobs WHERE run_id = r.run_id)
    FROM mlops.runs r WHERE r.run_id = '$run'")"
  R[$mode,each_s]=$(psql -XAtq -c "SELECT round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 2) FROM mlops.jobs WHERE run_id = '$run' AND step = 'each'")
}

# MODES="warm" (or "new") measures one side only, e.g. under perf record
MODES=${MODES:-warm new}
for m in $MODES; do
  case $m in
    warm) measure warm 2s ;;
    new) measure new 0 ;;
  esac
done

# row LABEL UNIT KEY
row() { printf '%-64s %9s %9s %s\n' "$1" "${R[warm,$3]:--}" "${R[new,$3]:--}" "$2"; }
printf '\n%-64s %9s %9s\n' "" "warm" "per job"
printf '%-64s %9s %9s\n' "" "sessions" "session"
row "step success -> dependent's start, p50 (80 transitions)" ms p50
row "step success -> dependent's start, p99" ms p99
row "5-step chain, start_run returned -> run ended (median of 20)" ms wall
row "5-step chain, its steps' own time (claim to end, sessions included)" ms work
row "5-step chain, orchestration overhead (median of wall - steps)" ms over
row "5-step chain, sessions used by the 100 steps" "" chain_sessions
row "1,000-step fan-out + fan-in, end to end" s fan_wall
row "  jobs succeeded" "" jobs_ok
row "  of which the 1,000 sql steps ran (first start to last end)" s each_s
row "  start_run: merge, hash, and queue the 1,000 jobs (client)" s t_start
row "  fan-out's last success -> fan-in's start" ms fanin_ms
row "  sessions used by the 1,001 steps" "" fan_sessions
echo
echo "targets (issue): overhead of a 5-step chain <= 10 ms; p99 step -> dependent <= 5 ms; 1,000-step fan-out/fan-in <= 2 s"
