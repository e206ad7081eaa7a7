#!/usr/bin/env bash
# test/bench/jobs/run.sh — the job engine's benchmark (`make bench`, or BENCH=jobs):
#   1. submit -> start latency of trivial sql jobs (p50, p99), one at a time: from the submit to
#      the moment the command runs in the job's own session (its result is clock_timestamp());
#      beside it, what pg_cron pays per job run: one libpq connection running SELECT 1
#      (pgbench -C, a new connection per transaction);
#   2. throughput of trivial sql jobs: 2,000 queued in one transaction, each in a session of its
#      own (mlops.max_sql_jobs of them at once);
#   3. one 1 GiB download from a local nginx: a download job against the curl CLI, and against
#      the curl CLI followed by an fsync of its file (the job's file is durable when reported);
#   4. 500 small files (10 KiB) from the same nginx: 500 download jobs (submitted with one
#      mlops.submit_jobs call, and again with 500 mlops.submit_job calls) against the strongest curl:
#      one process with URL globbing (connections reused) and `curl -Z --parallel-max 16`
#      (parallel, the peer the issue names), and curl -Z made durable as the jobs' files are
#      (then every file fsynced, or one syncfs at the end); SMALL_ROUNDS (3) rounds of all six in
#      turn, medians compared (the machine is shared: one run of each was mostly noise); a shell
#      loop of 500 curl processes is printed too (once), but it mostly measures process start-up
#      (it was once the only peer).  The jobs' time runs from the submitting transaction's start
#      to the last outcome's transaction: submit, claims, transfers, fsyncs and commits (plain
#      curl syncs nothing).  All of it on the file system of TMPDIR (a freshly made one shows
#      what creating files costs without ext4's search past recently deleted inodes);
#   5. the queue at scale: 1,000 trivial sql jobs (end to end), submit -> start of 100 sql jobs
#      one at a time (p50, p99) and 100 external claims, on the empty queue and again beside
#      1,000,000 finished jobs, 1,000,000 pending jobs of a kind no one serves (an offline
#      trainer) and 100,000 sql jobs blocked on a dependency that has not finished; printed side
#      by side with the ratios (target: within 1.5x).  The backlog is written with INSERT ...
#      SELECT the rows submit_job writes (owner, kind, params, dependencies and their count),
#      with triggers off (their NOTIFYs would only fill the queue); then VACUUM ANALYZE.
# The cluster runs durable (cluster_start --durable: fsync, synchronous_commit and
# full_page_writes on, PostgreSQL's defaults, which the tests turn off for speed): every figure
# here is of a queue whose acknowledged commits survive a crash, as it promises.
# SECTIONS="5" runs some of them only (default: all).
# Everything runs on this machine, side by side, on a throwaway cluster and a local nginx, both
# stopped by PID at the end.  Prints a table and the ratios; times are medians of 3 runs for
# the big file.  About a minute, and a minute or two more for the backlog.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh    # poll_sql

SECTIONS=${SECTIONS:-1 2 3 4 5}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_bench_jobs.XXXXXX")
cluster_start --db mlops_bench --durable --conf 'mlops.max_transfers = 16' || exit 1
trap 'cluster_stop; rm -rf "$served"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' || exit 1

# the files: 1 GiB (its content does not matter to either side) and 500 x 10 KiB
want 3 && head -c $((1024 * 1024 * 1024)) /dev/zero > "$served/big.bin"
mkdir -p "$served/small"
for i in $(seq 1 500); do head -c 10240 /dev/urandom > "$served/small/$i.bin"; done
chmod -R a+rX "$served"
nginx_start "$served" || exit 1
workdir="$PGDATA/pg_mlops"
curl_out=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_bench_curl.XXXXXX")
trap 'cluster_stop; rm -rf "$served" "$curl_out"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

if want 1; then
  echo "== 1. latency: 200 trivial sql jobs, each submitted and waited for"
  script=""
  for i in $(seq 1 200); do
    script+="SELECT mlops.submit_job('sql', '{\"command\": \"SELECT clock_timestamp()\"}', run_id => 'lat') AS j \\gset
  SELECT mlops.wait_job(:j, '10 seconds') \\g /dev/null
  "
  done
  psql -XAtq -v ON_ERROR_STOP=1 <<<"$script" >/dev/null || exit 1
  read -r p50 p99 ok <<<"$(psql -XAt -F ' ' -c "SELECT round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (result ->> 'value')::timestamptz - created_at)))::numeric, 2),
    round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM (result ->> 'value')::timestamptz - created_at)))::numeric, 2),
    count(*) FILTER (WHERE state = 'succeeded') FROM mlops.jobs WHERE run_id = 'lat'")"
  echo 'SELECT 1;' > "$served/select1.sql"
  conn_ms=$(pgbench -n -C -c 1 -j 1 -T 3 -f "$served/select1.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | awk '{printf "%.2f", 1000 / $1}')
fi

if want 2; then
  echo "== 2. throughput: 2,000 trivial sql jobs queued in one transaction"
  psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(mlops.submit_job('sql', '{\"command\": \"SELECT 1\"}', run_id => 'tput')) FROM generate_series(1, 2000)" >/dev/null
  poll_sql "SELECT count(*) FROM mlops.jobs WHERE run_id = 'tput' AND state IN ('succeeded', 'failed')" 2000 120 >/dev/null
  # end to end (from the submitting transaction's start: the submit itself is counted), and the
  # worker's own rate (from the first job's start, once the submit had committed)
  read -r tput_s tput_ok run_s <<<"$(psql -XAt -F ' ' -c "SELECT extract(epoch FROM max(finished_at) - min(created_at)), count(*) FILTER (WHERE state = 'succeeded'), extract(epoch FROM max(finished_at) - min(started_at)) FROM mlops.jobs WHERE run_id = 'tput'")"
fi

if want 3; then
  echo "== 3. one 1 GiB file: the curl CLI (alone, and then fsync) and a download job, 3 runs each"
  curl_big=() curl_big_sync=()
  job_big=()
  for r in 1 2 3; do
    sync
    t0=$(now); curl -s -o "$curl_out/big.bin" "$NGINX_URL/big.bin"; t1=$(now)
    curl_big+=("$(echo "$t1 - $t0" | bc -l)")
    rm -f "$curl_out/big.bin"
    # and made durable, as the job's file is before it is reported: the file fsynced after it
    sync
    t0=$(now); curl -s -o "$curl_out/big.bin" "$NGINX_URL/big.bin" && sync "$curl_out/big.bin"; t1=$(now)
    curl_big_sync+=("$(echo "$t1 - $t0" | bc -l)")
    rm -f "$curl_out/big.bin"
    sync
    id=$(psql -XAtq -c "SELECT mlops.submit_job('download', jsonb_build_object('url', '$NGINX_URL/big.bin', 'path', 'bench/big.bin'))")
    st=$(psql -XAtq -c "SELECT mlops.wait_job($id, '5 minutes')")
    [ "$st" = succeeded ] || { echo "download job $id ended $st: $(psql -XAtc "SELECT error FROM mlops.jobs WHERE id = $id")"; exit 1; }
    job_big+=("$(psql -XAtc "SELECT extract(epoch FROM finished_at - started_at) FROM mlops.jobs WHERE id = $id")")
    rm -f "$workdir/bench/big.bin"
  done
  curl_big_s=$(printf '%s\n' "${curl_big[@]}" | median)
  curl_big_sync_s=$(printf '%s\n' "${curl_big_sync[@]}" | median)
  job_big_s=$(printf '%s\n' "${job_big[@]}" | median)
fi

if want 4; then
  echo "== 4. 500 files of 10 KiB: curl (loop, globbing, -Z --parallel-max 16) and 500 download jobs"
  # a warm-up of 16 download jobs first, so that neither measured side pays the worker's first
  # plans and connections alone (it also makes bench/, as the worker's, for the curl folders)
  psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(mlops.submit_job('download', jsonb_build_object('url', '$NGINX_URL/small/' || i || '.bin', 'path', 'bench/warm/' || i || '.bin'), run_id => 'warm')) FROM generate_series(1, 16) i" >/dev/null
  poll_sql "SELECT count(*) FROM mlops.jobs WHERE run_id = 'warm' AND state IN ('succeeded', 'failed')" 16 60 >/dev/null
  # Every side writes its 500 files into a new folder beside the jobs' ones (bench/ in the
  # worker's directory), and nothing is deleted until the end: where a file lands and what was
  # deleted there lately decide what ext4 pays to create it (without a journal, as on our machine,
  # each new inode is searched for past the recently deleted ones), alike for every side.
  curl_dir() { mkdir -p "$workdir/bench/$1" && echo "$workdir/bench/$1"; }
  d=$(curl_dir curl_loop) || exit 1
  t0=$(now)
  for i in $(seq 1 500); do curl -s -o "$d/$i.bin" "$NGINX_URL/small/$i.bin" || exit 1; done
  t1=$(now)
  curl_small_s=$(echo "$t1 - $t0" | bc -l)
  # SMALL_ROUNDS (3) rounds, each side once per round, so
  # that the machine's load (others share it) falls on every side alike: curl with globbing,
  # curl -Z, and the 500 jobs submitted as a user with 500 URLs would, with one mlops.submit_jobs
  # call (one INSERT) and with 500 mlops.submit_job calls in one statement (the way before
  # submit_jobs), the two in turn first; each run into a folder of its own.  Medians are
  # compared, the range printed beside.  The submit's own time is clock_timestamp() - now() at
  # the end of the submitting statement (before its commit).
  small_measure() {    # $1: run id and folder, $2: submit SQL; prints "job_s ok same submit_s"
    local submit_s job_s ok_n same_n
    submit_s=$(psql -XAtq -v ON_ERROR_STOP=1 -c "$2") || return 1
    poll_sql "SELECT count(*) FROM mlops.jobs WHERE run_id = '$1' AND state IN ('succeeded', 'failed')" 500 300 >/dev/null
    read -r job_s ok_n <<<"$(psql -XAt -F ' ' -c "SELECT extract(epoch FROM max(finished_at) - min(created_at)), count(*) FILTER (WHERE state = 'succeeded') FROM mlops.jobs WHERE run_id = '$1'")"
    same_n=$(cd "$served/small" && for i in $(seq 1 500); do cmp -s "$i.bin" "$workdir/bench/$1/$i.bin" && echo ok; done | wc -l)
    echo "$job_s $ok_n $same_n $submit_s"
  }
  batch_sql() { echo "SELECT extract(epoch FROM clock_timestamp() - now()) FROM (SELECT mlops.submit_jobs('download', array_agg(jsonb_build_object('url', '$NGINX_URL/small/' || i || '.bin', 'path', 'bench/$1/' || i || '.bin') ORDER BY i), run_id => '$1') FROM generate_series(1, 500) i) s"; }
  calls_sql() { echo "SELECT extract(epoch FROM clock_timestamp() - now()) FROM (SELECT count(mlops.submit_job('download', jsonb_build_object('url', '$NGINX_URL/small/' || i || '.bin', 'path', 'bench/$1/' || i || '.bin'), run_id => '$1')) FROM generate_series(1, 500) i) s"; }
  glob_t=() z_t=() zf_t=() zs_t=() b_t=() b_sub=() c_t=() c_sub=()
  small_ok=0 small1_ok=0 same=0 same1=0
  for r in $(seq 1 "${SMALL_ROUNDS:-3}"); do
    dg=$(curl_dir "curl_g$r") && dz=$(curl_dir "curl_z$r") || exit 1
    # each side starts with no dirty pages of the one before (whose write-back would slow the
    # jobs' fsyncs, and only theirs: curl syncs nothing)
    sync
    t0=$(now); curl -s "$NGINX_URL/small/[1-500].bin" -o "$dg/#1.bin" || exit 1; t1=$(now)
    glob_t+=("$(echo "$t1 - $t0" | bc -l)")
    sync
    t0=$(now); curl -s --no-progress-meter -Z --parallel-max 16 "$NGINX_URL/small/[1-500].bin" -o "$dz/#1.bin" || exit 1; t1=$(now)
    z_t+=("$(echo "$t1 - $t0" | bc -l)")
    [ "$(ls "$dz" | wc -l)" = 500 ] || { echo "curl -Z did not write 500 files" >&2; exit 1; }
    # curl -Z made durable, as each job's file is before its outcome commits: then every file
    # and the folder fsynced one by one (coreutils sync FILE...), or the whole file system
    # synced once at the end (sync -f: syncfs), the cheapest a script could do
    dzf=$(curl_dir "curl_zf$r") && dzs=$(curl_dir "curl_zs$r") || exit 1
    sync
    t0=$(now); curl -s --no-progress-meter -Z --parallel-max 16 "$NGINX_URL/small/[1-500].bin" -o "$dzf/#1.bin" || exit 1
    sync "$dzf"/*.bin "$dzf" || exit 1; t1=$(now)
    zf_t+=("$(echo "$t1 - $t0" | bc -l)")
    sync
    t0=$(now); curl -s --no-progress-meter -Z --parallel-max 16 "$NGINX_URL/small/[1-500].bin" -o "$dzs/#1.bin" || exit 1
    sync -f "$dzs" || exit 1; t1=$(now)
    zs_t+=("$(echo "$t1 - $t0" | bc -l)")
    for side in $( [ $((r % 2)) = 1 ] && echo "b c" || echo "c b"); do
      sync
      if [ "$side" = b ]; then
        read -r js ok sm sub <<<"$(small_measure "small_b$r" "$(batch_sql "small_b$r")")"
        [ -n "${sub:-}" ] || exit 1
        b_t+=("$js"); b_sub+=("$sub"); small_ok=$((small_ok + ok)); same=$((same + sm))
      else
        read -r js ok sm sub <<<"$(small_measure "small_c$r" "$(calls_sql "small_c$r")")"
        [ -n "${sub:-}" ] || exit 1
        c_t+=("$js"); c_sub+=("$sub"); small1_ok=$((small1_ok + ok)); same1=$((same1 + sm))
      fi
    done
  done
  range() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f-%.2f", a[1], a[NR]}'; }
  med() { printf '%s\n' "$@" | median; }
  curl_glob_s=$(med "${glob_t[@]}") curl_z_s=$(med "${z_t[@]}")
  curl_zf_s=$(med "${zf_t[@]}") curl_zs_s=$(med "${zs_t[@]}")
  job_small_s=$(med "${b_t[@]}") job_small1_s=$(med "${c_t[@]}")
  submit_b_s=$(med "${b_sub[@]}") submit_1_s=$(med "${c_sub[@]}")
  nsmall=$((500 * ${SMALL_ROUNDS:-3}))
fi

# the queue at scale: the same three measures on the empty queue and beside a backlog
backlog_measure() {    # $1: a tag; prints "tput_s p50_ms p99_ms claims_s"
  local tag=$1 script="" t0 t1 tput lat claims
  psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(mlops.submit_job('sql', '{\"command\": \"SELECT 1\"}', run_id => 'tput-$tag')) FROM generate_series(1, 1000)" >/dev/null || return 1
  poll_sql "SELECT count(*) FROM mlops.jobs WHERE run_id = 'tput-$tag' AND state IN ('succeeded', 'failed')" 1000 900 >/dev/null || return 1
  tput=$(psql -XAtq -c "SELECT extract(epoch FROM max(finished_at) - min(created_at)) FROM mlops.jobs WHERE run_id = 'tput-$tag'")
  for i in $(seq 1 100); do
    script+="SELECT mlops.submit_job('sql', '{\"command\": \"SELECT clock_timestamp()\"}', run_id => 'lat-$tag') AS j \\gset
SELECT mlops.wait_job(:j, '60 seconds') \\g /dev/null
"
  done
  psql -XAtq -v ON_ERROR_STOP=1 <<<"$script" >/dev/null || return 1
  lat=$(psql -XAt -F ' ' -c "SELECT round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (result ->> 'value')::timestamptz - created_at)))::numeric, 2),
    round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM (result ->> 'value')::timestamptz - created_at)))::numeric, 2)
    FROM mlops.jobs WHERE run_id = 'lat-$tag' AND state = 'succeeded'")
  # 100 external claims, each its own transaction, of a kind with 100 jobs queued
  psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlops.declare_kind('label')" -c "SELECT count(mlops.submit_job('label', '{}', run_id => 'claim-$tag')) FROM generate_series(1, 100)" >/dev/null || return 1
  script=$(for i in $(seq 1 100); do echo "SELECT (mlops.claim_job('{label}')).id;"; done)
  t0=$(now)
  claimed=$(psql -XAtq -v ON_ERROR_STOP=1 <<<"$script" | grep -c .)
  t1=$(now)
  [ "$claimed" = 100 ] || { echo "only $claimed of 100 claims got a job" >&2; return 1; }
  claims=$(echo "$t1 - $t0" | bc -l)
  echo "$tput $lat $claims"
}
if want 5; then
  echo "== 5. the queue at scale: 1,000 sql jobs, 100 submit -> start, 100 external claims; empty, then beside a backlog"
  read -r e_tput e_p50 e_p99 e_claims <<<"$(backlog_measure empty)"
  [ -n "${e_claims:-}" ] || { echo "the empty-queue measures failed"; exit 1; }
  t0=$(now)
  psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SET session_replication_role = replica;   -- no triggers: their NOTIFYs would only fill the queue
-- 1,000,000 finished jobs (within the retention)
INSERT INTO mlops.jobs (kind, params, state, progress, result, attempts, submitted_by, claimed_by,
                        created_at, started_at, finished_at)
SELECT 'sql', '{"command": "SELECT 1"}', 'succeeded', 1, '{"rows": 1, "value": 1}', 1, current_user::regrole,
       'worker', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
FROM generate_series(1, 1000000);
-- 1,000,000 pending jobs of a kind no one serves (an external trainer that is offline)
INSERT INTO mlops.jobs (kind, params, submitted_by, run_id)
SELECT 'train', jsonb_build_object('epochs', i % 10), current_user::regrole, 'backlog-train'
FROM generate_series(1, 1000000) i;
-- 100,000 sql jobs waiting on a dependency that has not finished (one of the trainer's jobs)
INSERT INTO mlops.jobs (kind, params, depends_on, blockers, submitted_by, run_id)
SELECT 'sql', '{"command": "SELECT 1"}', ARRAY[(SELECT min(id) FROM mlops.jobs WHERE run_id = 'backlog-train')], 1,
       current_user::regrole, 'backlog-blocked'
FROM generate_series(1, 100000);
RESET session_replication_role;
VACUUM ANALYZE mlops.jobs;
CHECKPOINT;   -- the backlog's WAL flushed now, not during the measures
SQL
  t1=$(now)
  backlog_s=$(echo "$t1 - $t0" | bc -l)
  read -r b_rows b_pending b_blocked <<<"$(psql -XAt -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE state = 'pending' AND kind = 'train'), count(*) FILTER (WHERE state = 'pending' AND blockers > 0) FROM mlops.jobs")"
  read -r l_tput l_p50 l_p99 l_claims <<<"$(backlog_measure loaded)"
  [ -n "${l_claims:-}" ] || { echo "the measures beside the backlog failed"; exit 1; }
fi

gib=1073741824
any14=0; for k in 1 2 3 4; do want $k && any14=1; done
[ $any14 = 1 ] && printf '\n%-58s %12s\n' "" "result"
want 1 && {
  printf '%-58s %9.2f ms\n' "sql job submit -> command runs, p50 (200 jobs)" "$p50"
  printf '%-58s %9.2f ms\n' "sql job submit -> command runs, p99" "$p99"
  printf '%-58s %9.2f ms\n' "one libpq connection running SELECT 1 (pgbench -C)" "$conn_ms"
}
want 2 && {
  printf '%-58s %9.0f /s   (%s of 2000 succeeded)\n' "sql jobs, 2000 queued at once: end to end, with the submit" "$(echo "2000 / $tput_s" | bc -l)" "$tput_ok"
  printf '%-58s %9.0f /s\n' "sql jobs, 2000 queued at once: the worker's rate" "$(echo "2000 / $run_s" | bc -l)"
}
want 3 && {
  printf '%-58s %9.2f s  %7.0f MB/s\n' "1 GiB: curl CLI (median of 3)" "$curl_big_s" "$(echo "$gib / $curl_big_s / 1000000" | bc -l)"
  printf '%-58s %9.2f s  %7.0f MB/s\n' "1 GiB: curl CLI, then the file fsynced (median of 3)" "$curl_big_sync_s" "$(echo "$gib / $curl_big_sync_s / 1000000" | bc -l)"
  printf '%-58s %9.2f s  %7.0f MB/s\n' "1 GiB: download job (median of 3; sha256 computed too)" "$job_big_s" "$(echo "$gib / $job_big_s / 1000000" | bc -l)"
}
want 4 && {
  printf '%-58s %9.2f s\n' "500 x 10 KiB: loop of 500 curl processes (weak peer, once)" "$curl_small_s"
  printf '%-58s %9.2f s   (median of %s: %s)\n' "500 x 10 KiB: one curl, URL globbing" "$curl_glob_s" "${#glob_t[@]}" "$(range "${glob_t[@]}")"
  printf '%-58s %9.2f s   (median of %s: %s)\n' "500 x 10 KiB: curl -Z --parallel-max 16" "$curl_z_s" "${#z_t[@]}" "$(range "${z_t[@]}")"
  printf '%-58s %9.2f s   (median of %s: %s)\n' "500 x 10 KiB: curl -Z, then each file fsynced" "$curl_zf_s" "${#zf_t[@]}" "$(range "${zf_t[@]}")"
  printf '%-58s %9.2f s   (median of %s: %s)\n' "500 x 10 KiB: curl -Z, then syncfs once" "$curl_zs_s" "${#zs_t[@]}" "$(range "${zs_t[@]}")"
  printf '%-58s %9.2f s   (median of %s: %s; submit %.3f s; %s of %s succeeded, %s byte-identical)\n' "500 x 10 KiB: 500 download jobs, one submit_jobs call" "$job_small_s" "${#b_t[@]}" "$(range "${b_t[@]}")" "$submit_b_s" "$small_ok" "$nsmall" "$same"
  printf '%-58s %9.2f s   (median of %s: %s; submit %.3f s; %s of %s succeeded, %s byte-identical)\n' "500 x 10 KiB: 500 download jobs, 500 submit_job calls" "$job_small1_s" "${#c_t[@]}" "$(range "${c_t[@]}")" "$submit_1_s" "$small1_ok" "$nsmall" "$same1"
}
[ $any14 = 1 ] && printf '\nratios (targets from the issue)\n'
want 1 && {
  printf '  %-56s %s\n' "p50 latency under 20 ms" "$(echo "$p50 < 20" | bc -l | sed 's/1/yes/;s/0/NO/')"
}
want 2 && {
  printf '  %-56s %s\n' "at least 200 sql jobs per second (the worker's rate)" "$(echo "2000 / $run_s >= 200" | bc -l | sed 's/1/yes/;s/0/NO/')"
}
want 3 && {
  printf '  %-56s %.0f%%\n' "download job throughput / curl CLI, 1 GiB (target >= 90%)" "$(echo "100 * $curl_big_s / $job_big_s" | bc -l)"
  printf '  %-56s %.0f%%\n' "download job throughput / curl CLI then fsync, 1 GiB" "$(echo "100 * $curl_big_sync_s / $job_big_s" | bc -l)"
}
want 4 && {
  printf '  %-56s %.2fx\n' "500 small files: jobs (submit_jobs) / curl -Z (aim <= 2x, medians)" "$(echo "$job_small_s / $curl_z_s" | bc -l)"
  printf '  %-56s %.2fx\n' "500 small files: jobs (submit_jobs) / curl globbing" "$(echo "$job_small_s / $curl_glob_s" | bc -l)"
  printf '  %-56s %.2fx\n' "500 small files: jobs (500 submit_job) / curl -Z" "$(echo "$job_small1_s / $curl_z_s" | bc -l)"
  printf '  %-56s %.2fx\n' "500 small files: jobs / curl -Z, each file fsynced" "$(echo "$job_small_s / $curl_zf_s" | bc -l)"
  printf '  %-56s %.2fx\n' "500 small files: jobs / curl -Z, syncfs once" "$(echo "$job_small_s / $curl_zs_s" | bc -l)"
}
want 5 && {
  echo
  printf 'the queue at scale: beside %s jobs (%s pending train jobs no one serves, %s blocked sql jobs; written in %.1f s)\n' \
    "$b_rows" "$b_pending" "$b_blocked" "$backlog_s"
  printf '  %-46s %12s %12s %8s\n' "" "empty queue" "backlog" "ratio"
  printf '  %-46s %10.2f s %10.2f s %7.2fx\n' "1,000 trivial sql jobs, end to end" "$e_tput" "$l_tput" "$(echo "$l_tput / $e_tput" | bc -l)"
  printf '  %-46s %9.2f ms %9.2f ms %7.2fx\n' "sql job submit -> command runs, p50 (100)" "$e_p50" "$l_p50" "$(echo "$l_p50 / $e_p50" | bc -l)"
  printf '  %-46s %9.2f ms %9.2f ms %7.2fx\n' "sql job submit -> command runs, p99" "$e_p99" "$l_p99" "$(echo "$l_p99 / $e_p99" | bc -l)"
  printf '  %-46s %10.3f s %10.3f s %7.2fx\n' "100 external claims (claim_job), one by one" "$e_claims" "$l_claims" "$(echo "$l_claims / $e_claims" | bc -l)"
  printf '  %-46s %s\n' "every ratio within 1.5x (target)" \
    "$(echo "$l_tput / $e_tput <= 1.5 && $l_p99 / $e_p99 <= 1.5 && $l_claims / $e_claims <= 1.5" | bc -l | sed 's/1/yes/;s/0/NO/')"
}
exit 0   # a section left out by SECTIONS is not a failure
