#!/usr/bin/env bash
# test/bench/transfers/run.sh — storage jobs against the CLI tools a user would use instead
# (`make bench`, or BENCH=transfers):
#   1. upload of a 1 GiB file to a local nginx (WebDAV PUT): an upload job vs `curl -T`;
#   2. packaging 2,000 PNG files (20 KiB each): a package job vs `zip -qr -n .png:...`, which
#      stores already-compressed files as the job does (plain `zip -qr` tries to deflate them
#      first: printed too, but it is not the like-for-like peer);
#   3. extracting the same: an extract job vs `unzip -q`.
# Side by side on this machine, a throwaway cluster and a local nginx, stopped by PID at the end.
# The upload: UPLOAD_RUNS (7) alternating runs, each side going first every other round; wall
# clock and CPU time (user + system: curl's, and the worker process's over the job) are both
# reported, since on a small shared machine the wall clock mostly measures the load (the
# receiving nginx's own CPU time varies 3x from run to run).  Medians of 3 for the archives.
# About two minutes.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
. test/lib/nginx.sh

# Everything the benchmarks read and write lives in memory (/dev/shm when there is room): the
# job's work directory, the CLI's files, nginx's received files and its request-body buffers,
# so that both sides are measured, not this machine's noisy disk.
if [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')" -gt 4000000 ] 2>/dev/null; then
  mem=/dev/shm
else
  mem=${TMPDIR:-/tmp}
fi
served=$(mktemp -d "$mem/pg_mlops_bench_tr.XXXXXX")
cli=$(mktemp -d "$mem/pg_mlops_bench_cli.XXXXXX")
work=$(mktemp -d "$mem/pg_mlops_bench_work.XXXXXX")
chown "$CLUSTER_OWNER" "$work"
cluster_start --db mlops_bench --durable --conf "mlops.work_dir = '$work'" || exit 1
trap 'cluster_stop; rm -rf "$served" "$cli" "$work"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' || exit 1
mkdir -p "$served/dav"
chmod -R a+rwX "$served"
TMPDIR=$mem nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; create_full_put_path on; client_max_body_size 0; client_body_buffer_size 1m; }" || exit 1
psql -XAtq -o /dev/null -c "SELECT mlops.set_credential('bench', 'webdav', jsonb_build_object('url', '$NGINX_URL/dav/', 'username', 'u', 'password', 'p'))"
worker_pid=$(psql -XAtq -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' LIMIT 1")
nginx_pid=$(pgrep -P "${SERVER_PIDS[-1]}" | head -n 1)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }  # user + system, 1/100 s
ticks_s() { echo "($2 - $1) / $(getconf CLK_TCK)" | bc -l; }
run_job() {  # run_job KIND PARAMS -> prints the job's run time in seconds, or fails
  local id st
  id=$(psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('$1', '$2'::jsonb)") || return 1
  st=$(psql -XAtq -c "SELECT mlops.wait_job($id, '10 minutes')")
  [ "$st" = succeeded ] || { echo "job $id ($1) ended $st: $(psql -XAtc "SELECT error FROM mlops.jobs WHERE id = $id")" >&2; return 1; }
  psql -XAtc "SELECT extract(epoch FROM finished_at - started_at) FROM mlops.jobs WHERE id = $id"
}

echo "== 1. upload of 1 GiB to nginx (WebDAV PUT), ${UPLOAD_RUNS:=7} runs of each"
as_owner bash -c 'head -c $((1024 * 1024 * 1024)) /dev/urandom > "$1"' _ "$work/big.bin"
cp "$work/big.bin" "$cli/big.bin"
c=(); j=(); cc=(); jc=()
printf '%-5s %-5s %9s %9s %12s\n' run side "wall (s)" "CPU (s)" "nginx CPU (s)"
upload_curl() {
  local t0 t1 n0
  rm -f "$served/dav/cli.bin"; sync
  n0=$(cpu_ticks "$nginx_pid")
  t0=$(now)
  /usr/bin/time -o "$cli/time" -f '%U %S' curl -s -f -T "$cli/big.bin" "$NGINX_URL/dav/cli.bin" || exit 1
  t1=$(now)
  c+=("$(echo "$t1 - $t0" | bc -l)")
  cc+=("$(awk '{print $1 + $2}' "$cli/time")")
  printf '%-5s %-5s %9.2f %9.2f %12.2f\n' "$r" curl "${c[-1]}" "${cc[-1]}" "$(ticks_s "$n0" "$(cpu_ticks "$nginx_pid")")"
}
upload_job() {
  local w0 n0
  rm -rf "$served/dav/up"; sync
  w0=$(cpu_ticks "$worker_pid"); n0=$(cpu_ticks "$nginx_pid")
  j+=("$(run_job upload '{"path": "big.bin", "credential": "bench", "target": "up/big.bin"}')") || exit 1
  jc+=("$(ticks_s "$w0" "$(cpu_ticks "$worker_pid")")")
  printf '%-5s %-5s %9.2f %9.2f %12.2f\n' "$r" job "${j[-1]}" "${jc[-1]}" "$(ticks_s "$n0" "$(cpu_ticks "$nginx_pid")")"
}
for r in $(seq 1 "$UPLOAD_RUNS"); do
  if [ $((r % 2)) = 1 ]; then upload_curl; upload_job; else upload_job; upload_curl; fi
done
cmp -s "$cli/big.bin" "$served/dav/up/big.bin" || { echo "uploaded file differs"; exit 1; }
up_curl=$(printf '%s\n' "${c[@]}" | median); up_job=$(printf '%s\n' "${j[@]}" | median)
up_curl_cpu=$(printf '%s\n' "${cc[@]}" | median); up_job_cpu=$(printf '%s\n' "${jc[@]}" | median)

echo "== 2. packaging 2,000 PNG files of 20 KiB"
as_owner bash -c 'mkdir -p "$1"; for i in $(seq 1 2000); do head -c 20480 /dev/urandom > "$1/img_$i.png"; done' _ "$work/pngs"
cp -r "$work/pngs" "$cli/pngs"
c=(); d=(); j=()
for r in 1 2 3; do
  rm -f "$cli/pngs.zip" "$cli/pngs-deflate.zip"; sync
  t0=$(now); (cd "$cli" && zip -qr -n .png:.jpg:.jpeg:.gz:.zip pngs.zip pngs) || exit 1; t1=$(now)
  c+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); (cd "$cli" && zip -qr pngs-deflate.zip pngs) || exit 1; t1=$(now)
  d+=("$(echo "$t1 - $t0" | bc -l)")
  j+=("$(run_job package "{\"source\": \"pngs\", \"path\": \"zips/pngs-$r.zip\"}")") || exit 1
done
pk_zip=$(printf '%s\n' "${c[@]}" | median); pk_job=$(printf '%s\n' "${j[@]}" | median)
pk_zip_deflate=$(printf '%s\n' "${d[@]}" | median)
echo "archive sizes: zip -n $(stat -c %s "$cli/pngs.zip"), zip (deflating) $(stat -c %s "$cli/pngs-deflate.zip"), package job $(stat -c %s "$work/zips/pngs-1.zip") bytes"

echo "== 3. extracting it"
c=(); j=()
for r in 1 2 3; do
  rm -rf "$cli/out"; sync
  t0=$(now); unzip -q "$cli/pngs.zip" -d "$cli/out" || exit 1; t1=$(now)
  c+=("$(echo "$t1 - $t0" | bc -l)")
  j+=("$(run_job extract "{\"archive\": \"zips/pngs-$r.zip\", \"dest\": \"out-$r\"}")") || exit 1
done
diff -r "$cli/pngs" "$work/out-1/pngs" >/dev/null 2>&1 || diff -r "$cli/pngs" "$work/out-1" >/dev/null || { echo "extracted files differ"; exit 1; }
[ "$(ls "$cli/pngs" | wc -l)" = 2000 ] || { echo "the benchmark's 2,000 files were not made"; exit 1; }
ex_unzip=$(printf '%s\n' "${c[@]}" | median); ex_job=$(printf '%s\n' "${j[@]}" | median)

gib=1073741824
printf '\n%-52s %10s %10s %8s\n' "" "CLI (s)" "job (s)" "job/CLI"
printf '%-52s %10.2f %10.2f %7.0f%%\n' "upload 1 GiB to nginx (curl -T vs upload job)" "$up_curl" "$up_job" "$(echo "100 * $up_curl / $up_job" | bc -l)"
printf '%-52s %10.2f %10.2f %7.0f%%\n' "  CPU time, user + system (over 100%: the job's less)" "$up_curl_cpu" "$up_job_cpu" "$(echo "100 * $up_curl_cpu / $up_job_cpu" | bc -l)"
printf '%-52s %10.3f %10.3f %7.0f%%\n' "package 2,000 PNG (zip -qr -n .png vs package job)" "$pk_zip" "$pk_job" "$(echo "100 * $pk_zip / $pk_job" | bc -l)"
printf '%-52s %10.3f %10.3f %7.0f%%\n' "  (plain zip -qr, deflating the PNGs first)" "$pk_zip_deflate" "$pk_job" "$(echo "100 * $pk_zip_deflate / $pk_job" | bc -l)"
printf '%-52s %10.3f %10.3f %7.0f%%\n' "extract 2,000 PNG (unzip -q vs extract job)" "$ex_unzip" "$ex_job" "$(echo "100 * $ex_unzip / $ex_job" | bc -l)"
echo "(job/CLI is the job's speed as a share of the CLI's: the target is >= 90%; the upload job also"
echo " MKCOLs and checks the size with a HEAD; zip -n stores the PNGs as the package job does)"
