#!/usr/bin/env bash
# test/bench/pipelines/run.sh — the pipeline engine's own cost (`make bench`, or BENCH=pipelines),
# with trivial sql steps (SELECT 1), each run as a job in a session of its own:
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
. test/lib/tap.sh    # poll_sql

cluster_start --db mlops_bench || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null || exit 1

psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SELECT mlops.define_pipeline('chain', '[
  {"name": "s1", "kind": "sql", "params": {"command": "SELECT 1"}},
  {"name": "s2", "kind": "sql", "depends_on": ["s1"], "params": {"command": "SELECT 1"}},
  {"name": "s3", "kind": "sql", "depends_on": ["s2"], "params": {"command": "SELECT 1"}},
  {"name": "s4", "kind": "sql", "depends_on": ["s3"], "params": {"command": "SELECT 1"}},
  {"name": "s5", "kind": "sql", "depends_on": ["s4"], "params": {"command": "SELECT 1"}}]', '{"n": 0}');
SELECT mlops.define_pipeline('fan', '[
  {"name": "each", "kind": "sql", "for_each": {"$ref": "config.items"}, "params": {"command": {"$ref": "item"}}},
  {"name": "all", "kind": "sql", "depends_on": ["each"], "params": {"command": "SELECT 1"}}]', '{"items": []}');
SQL

echo "== 1. a 5-step chain of trivial sql steps, 20 runs one after the other"
# each run is started in a session of its own; the time its start_run call returned (after its
# commit: nothing of the run can start before) is kept beside it
psql -XAtq -c "CREATE TABLE bench_started (run_id text, returned timestamptz)"
for i in $(seq 1 20); do
  run=$(psql -XAtq -c "SELECT mlops.start_run('chain', '{\"n\": $i}')" -c "INSERT INTO bench_started SELECT r.run_id, clock_timestamp() FROM mlops.runs r WHERE r.config ->> 'n' = '$i'")
  run=$(head -n 1 <<<"$run")
  poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 60 >/dev/null || { echo "run $run did not succeed"; exit 1; }
done
read -r p50 p99 n_trans <<<"$(psql -XAt -F ' ' -c "
  WITH t AS (SELECT extract(epoch FROM nj.started_at - pj.finished_at) * 1000 AS ms
             FROM mlops.jobs pj JOIN mlops.jobs nj
               ON nj.run_id = pj.run_id AND nj.step = 's' || (substr(pj.step, 2)::int + 1)
             WHERE pj.step IS NOT NULL AND nj.run_id IN (SELECT run_id FROM mlops.runs WHERE pipeline = 'chain'))
  SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
         round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2), count(*) FROM t")"
read -r wall_ms work_ms over_ms <<<"$(psql -XAt -F ' ' -c "
  SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY w)::numeric, 1), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 1),
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY w - s)::numeric, 1)
  FROM (SELECT r.run_id, extract(epoch FROM r.finished_at - b.returned) * 1000 AS w,
               (SELECT sum(extract(epoch FROM j.finished_at - j.started_at)) * 1000 FROM mlops.jobs j WHERE j.run_id = r.run_id) AS s
        FROM mlops.runs r JOIN bench_started b USING (run_id) WHERE r.pipeline = 'chain') x")"

echo "== 2. a fan-out of 1,000 trivial sql steps and its fan-in"
items=$(psql -XAtq -c "SELECT jsonb_build_object('items', jsonb_agg('SELECT ' || i)) FROM generate_series(1, 1000) i")
t0=$(date +%s.%N)
run=$(psql -XAtq -c "SELECT mlops.start_run('fan', '$items')")
t_start=$(echo "$(date +%s.%N) - $t0" | bc)
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 300 >/dev/null || { echo "run $run did not succeed"; exit 1; }
t1=$(date +%s.%N)
read -r fan_wall queue_ms fanin_ms jobs_ok <<<"$(psql -XAt -F ' ' -c "
  SELECT round(extract(epoch FROM r.finished_at - r.created_at)::numeric, 2),
         round((extract(epoch FROM (SELECT max(created_at) FROM mlops.jobs WHERE run_id = r.run_id AND step = 'each') - r.created_at) * 1000)::numeric, 1),
         round((extract(epoch FROM (SELECT started_at FROM mlops.jobs WHERE run_id = r.run_id AND step = 'all')
                                 - (SELECT max(finished_at) FROM mlops.jobs WHERE run_id = r.run_id AND step = 'each')) * 1000)::numeric, 1),
         (SELECT count(*) FROM mlops.jobs WHERE run_id = r.run_id AND state = 'succeeded')
  FROM mlops.runs r WHERE r.run_id = '$run'")"
each_s=$(psql -XAtq -c "SELECT round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 2) FROM mlops.jobs WHERE run_id = '$run' AND step = 'each'")

printf '\n%-66s %10s\n' "" "result"
printf '%-66s %7s ms\n' "step success -> dependent's start, p50 ($n_trans transitions)" "$p50"
printf '%-66s %7s ms\n' "step success -> dependent's start, p99" "$p99"
printf '%-66s %7s ms\n' "5-step chain, start_run returned -> run ended (median of 20)" "$wall_ms"
printf '%-66s %7s ms\n' "5-step chain, its steps' own time (claim to end, sessions included)" "$work_ms"
printf '%-66s %7s ms\n' "5-step chain, orchestration overhead (median of wall - steps)" "$over_ms"
printf '%-66s %7s s   (%s jobs succeeded)\n' "1,000-step fan-out + fan-in, end to end" "$fan_wall" "$jobs_ok"
printf '%-66s %7s s\n' "  of which the 1,000 sql sessions ran (first start to last end)" "$each_s"
printf '%-66s %7.3f s\n' "  start_run: merge, hash, and queue the 1,000 jobs (client)" "$t_start"
printf '%-66s %7s ms\n' "  fan-out's last success -> fan-in's start" "$fanin_ms"
echo
echo "targets (issue): overhead of a 5-step chain <= 10 ms; p99 step -> dependent <= 5 ms; 1,000-step fan-out/fan-in <= 2 s"
