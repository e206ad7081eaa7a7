#!/usr/bin/env bash
# test/bench/dataset/run.sh — the dataset pipeline (the diatom builder, docs/datasets.md) against
# the same steps as a shell script (`make bench`, or BENCH=dataset), on the same files from one
# local nginx: 20 zips of 500 small PNGs each (10 species, two zips each), n_test_per_label 10
# per folder, the package uploaded to nginx WebDAV.
#   pipeline  mlops.start_run('dataset', ...): downloads in parallel, extract, split, layout
#             (hard links), package (PNGs stored), upload, clean; each step's time from
#             mlops.run_steps, the total from the run's creation to its end
#   shell     one bash child of this script: curl -Z (parallel downloads), unzip, per folder
#             ls | shuf | head -n 10 -> test, the rest -> train with mv, zip -r -n .png,
#             curl -T to WebDAV, rm -rf — each step timed with date
# Both run BENCH_RUNS times (default 3), alternating, each time with a fresh seed (a new run);
# medians are printed with the ratio shell / pipeline per step (above 1: the pipeline is faster).
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh    # poll_sql

RUNS=${BENCH_RUNS:-3}
for tool in curl unzip zip shuf; do
  command -v "$tool" >/dev/null || { echo "dataset bench: $tool is missing (test/install-deps.sh)" >&2; exit 1; }
done
cluster_start --db mlops_bench --durable || exit 1
served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_dsbench.XXXXXX")
trap 'cluster_stop; rm -rf "$served"' EXIT
mkdir -p "$served/files" "$served/dav/pipeline" "$served/dav/shell" "$served/shellwork"
/usr/bin/python3 - "$served/files" <<'PY' || exit 1
import os, random, struct, sys, zipfile, zlib
d = sys.argv[1]
rnd = random.Random(15)
def png(w, h):
    raw = b"".join(b"\0" + bytes(rnd.getrandbits(8) for _ in range(w)) for _ in range(h))
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for z in range(20):
    with zipfile.ZipFile(os.path.join(d, "set%02d.zip" % z), "w") as f:
        for i in range(500):
            f.writestr("folder%02d/z%02d_img%03d.png" % (z, z, i), png(rnd.randint(8, 24), rnd.randint(8, 24)))
PY
chmod -R a+rwX "$served"
printf 'bench:{PLAIN}bench\n' >"$served/htpasswd"
nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path on; client_max_body_size 0; auth_basic dav; auth_basic_user_file $served/htpasswd; }" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlops.set_credential('dav', 'webdav', '{\"url\": \"$NGINX_URL/dav/\", \"username\": \"bench\", \"password\": \"bench\"}')" >/dev/null || exit 1
files_mb=$(du -sm "$served/files" | cut -f1)
echo "data: 20 zips x 500 PNGs (10 species, 2 zips each; ${files_mb} MB) from nginx at $NGINX_URL"

file_list=$(for z in $(seq 0 19); do
  printf '{"file_url": "%s/files/set%02d.zip", "downloaded_file_name": "set%02d.zip", "exploded_folder_name": "folder%02d", "species_label": "species_%d"}\n' \
    "$NGINX_URL" "$z" "$z" "$z" $((z / 2))
done | paste -sd, -)

# pipeline_run SEED: one dataset run; prints "total plan download extract split layout package upload clean" in s
pipeline_run() {
  local run
  run=$(psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlops.start_run('dataset', '{\"file_list\": [$file_list], \"n_test_per_label\": 10,
          \"seed\": $1, \"upload\": {\"credential\": \"dav\", \"target\": \"pipeline/\"}}')") || return 1
  poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 300 >/dev/null || {
    psql -XAtc "SELECT step, state, error FROM mlops.run_steps WHERE run_id = '$run' ORDER BY ord" >&2; return 1; }
  psql -XAt -F ' ' -c "
    SELECT round(extract(epoch FROM r.finished_at - r.created_at)::numeric, 3),
           string_agg(round(extract(epoch FROM s.finished_at - s.started_at)::numeric, 3)::text, ' ' ORDER BY s.ord)
    FROM mlops.runs r JOIN mlops.run_steps s USING (run_id) WHERE r.run_id = '$run' GROUP BY r.finished_at, r.created_at"
  # each step's jobs: how many, their own time summed (claim to end) and the longest
  psql -XAt -F ' ' -c "
    SELECT s.step, count(j.id), round(sum(extract(epoch FROM j.finished_at - j.started_at))::numeric, 3),
           round(max(extract(epoch FROM j.finished_at - j.started_at))::numeric, 3)
    FROM mlops.run_steps s JOIN mlops.jobs j ON j.id = ANY (s.job_ids)
    WHERE s.run_id = '$run' GROUP BY s.step, s.ord ORDER BY s.ord" | sed 's/^/# jobs /' >&2
}

# shell_run SEED: the same steps as a shell script, in a bash child; prints
# "total download unzip split_mv zip upload clean" in s
shell_run() {
  bash -s "$1" "$NGINX_URL" "$served/shellwork" <<'SH'
set -euo pipefail
seed=$1 url=$2 work=$3
now() { date +%s.%N; }
t0=$(now)
mkdir -p "$work/downloads" "$work/extracted" "$work/results"
args=()
for z in $(seq -w 0 19); do args+=(-o "$work/downloads/set$z.zip" "$url/files/set$z.zip"); done
curl -sSf --no-progress-meter -Z --parallel-max 16 "${args[@]}"
t1=$(now)
for z in $(seq -w 0 19); do unzip -q "$work/downloads/set$z.zip" -d "$work/extracted/set$z"; done
t2=$(now)
for z in $(seq -w 0 19); do
  species=species_$((10#$z / 2)); dir="$work/extracted/set$z/folder$z"
  mkdir -p "$work/results/test/$species" "$work/results/train/$species"
  ls "$dir" | shuf --random-source=<(yes "$seed") > "$work/order"
  head -n 10 "$work/order" | sed "s|^|$dir/|" | xargs mv -t "$work/results/test/$species"
  tail -n +11 "$work/order" | sed "s|^|$dir/|" | xargs mv -t "$work/results/train/$species"
done
t3=$(now)
name=diatom_set-$(date -u +%Y-%m-%d-%H-%M-%S)-$seed.zip
(cd "$work/results" && zip -q -r -n .png "$work/$name" .)
t4=$(now)
curl -sSf -u bench:bench -T "$work/$name" "$url/dav/shell/$name"
rm -f "$work/$name"
t5=$(now)
rm -rf "$work/downloads" "$work/extracted" "$work/results" "$work/order"
t6=$(now)
echo "$t0 $t1 $t2 $t3 $t4 $t5 $t6" | awk '{printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", $7-$1, $2-$1, $3-$2, $4-$3, $5-$4, $6-$5, $7-$6}'
SH
}

: >"$served/p.txt"; : >"$served/s.txt"
for i in $(seq 1 "$RUNS"); do
  p=$(pipeline_run "$i") || { echo "dataset bench: the pipeline run failed" >&2; exit 1; }
  s=$(shell_run "$i") || { echo "dataset bench: the shell script failed" >&2; exit 1; }
  echo "$p" >>"$served/p.txt"; echo "$s" >>"$served/s.txt"
  echo "run $i: pipeline ${p%% *} s, shell ${s%% *} s"
done
# both made the same tree: 20 folders x (10 test + 490 train)
pz=$(ls "$served/dav/pipeline" | head -n 1); sz=$(ls "$served/dav/shell" | head -n 1)
pn=$(unzip -Z1 "$served/dav/pipeline/$pz" | grep -c '\.png$'); sn=$(unzip -Z1 "$served/dav/shell/$sz" | grep -c '\.png$')
pt=$(unzip -Z1 "$served/dav/pipeline/$pz" | grep -c '^test/.*\.png$'); st=$(unzip -Z1 "$served/dav/shell/$sz" | grep -c '^test/.*\.png$')
echo "uploaded: pipeline $pn images ($pt test), shell $sn images ($st test)"
[ "$pn" = 10000 ] && [ "$sn" = 10000 ] && [ "$pt" = 200 ] && [ "$st" = 200 ] || { echo "dataset bench: the two results differ" >&2; exit 1; }

/usr/bin/python3 - "$served/p.txt" "$served/s.txt" <<'PY'
import statistics, sys
p = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
s = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
med = lambda rows, k: statistics.median(r[k] for r in rows)
rng = lambda rows, k: "%.3f-%.3f" % (min(r[k] for r in rows), max(r[k] for r in rows))
# pipeline: total plan download extract split layout package upload clean
# shell:    total download unzip split_mv zip upload clean
rows = [("total (start to end)", 0, [0]),
        ("download (curl -Z)", 2, [1]),
        ("extract (unzip)", 3, [2]),
        ("split + layout (shuf + mv)", 4, [3], 5),
        ("package (zip)", 6, [4]),
        ("upload (curl -T)", 7, [5]),
        ("clean (rm -rf)", 8, [6])]
print()
print("%-30s %18s %18s %8s" % ("median of %d runs, s (range)" % len(p), "pipeline", "shell", "ratio"))
for r in rows:
    name, pk, sk = r[0], r[1], r[2]
    pv = med(p, pk) + (med(p, r[3]) if len(r) > 3 else 0)
    pr = rng(p, pk) if len(r) == 3 else "%.3f+%.3f" % (med(p, pk), med(p, r[3]))
    sv = med(s, sk[0])
    print("%-30s %7.3f %-10s %7.3f %-10s %7.2fx" % (name, pv, "(" + pr + ")" if len(r) == 3 else "", sv,
                                                   "(" + rng(s, sk[0]) + ")", sv / pv if pv else float("nan")))
print("plan step (pipeline only): %.3f s; the pipeline's total also holds the hand-offs between steps" % med(p, 1))
for name, k in (("download", 2), ("extract", 3), ("split", 4), ("layout", 5), ("package", 6), ("upload", 7)):
    print("  pipeline share %-9s %5.1f%%" % (name, 100 * med(p, k) / med(p, 0)))
print("ratio = shell / pipeline: above 1, the pipeline is faster")
PY
