#!/usr/bin/env bash
# dataset_pipeline.sh — the dataset pipeline (the diatom builder, seed 001) end to end, started by
# a role with the grants of docs/security.md: three real zips served by nginx (two of one species, with the
# same file names inside), downloaded in parallel, extracted, split per folder with exactly
# n_test_per_label test images, laid out as results/<split>/<species>/, zipped as
# diatom_set-<UTC>.zip and uploaded to a real nginx WebDAV.  With a wrong password the run fails
# at the upload and the zip is kept; after the credential is fixed, rerun uploads it without
# downloading again and only then deletes it.  The same config is the same run; a hostile file
# list fails at the plan with its reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/nginx.sh
. test/lib/tap.sh

cluster_start || exit 1
served=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_dataset.XXXXXX")
trap 'cluster_stop; rm -rf "$served"' EXIT
mkdir -p "$served/dav" "$served/files"
/usr/bin/python3 - "$served/files" <<'PY'
import sys, zipfile, os, random
d = sys.argv[1]
rnd = random.Random(1)
def make(name, folder, n):
    with zipfile.ZipFile(os.path.join(d, name), "w") as z:
        for i in range(n):
            z.writestr(f"{folder}/img{i:03d}.png", bytes(rnd.getrandbits(8) for _ in range(200 + i)))
        z.writestr("README.txt", "not an image")
make("gomph_a.zip", "gomphonema_a", 30)
make("gomph_b.zip", "gomphonema_b", 25)
make("navic.zip", "navicula", 40)
PY
printf 'owncloud:{PLAIN}right-password\n' > "$served/htpasswd"
chmod -R a+rwX "$served"
nginx_start "$served" "location /dav/ { dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path off; client_max_body_size 0; auth_basic dav; auth_basic_user_file $served/htpasswd; }" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, nginx serving zips and WebDAV at $NGINX_URL"
is "$(psql -XAtq -c "SELECT name || ' ' || steps FROM mlops.pipelines WHERE name = 'dataset'")" "dataset 8" \
   "the dataset pipeline is installed with the extension"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
readme_grants application app curator | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT mlops.set_credential('owncloud', 'webdav', '{"url": "$NGINX_URL/dav/", "username": "owncloud", "password": "wrong"}');
SELECT mlops.grant_credential('owncloud', 'curator');
SQL
ok $? "role curator with the grants of docs/security.md, an ownCloud credential (wrong password) granted to it"
curator=$(psql -XAtq -c "SELECT 'curator'::regrole::oid")
AREA="$PGDATA/pg_mlops/roles/$curator"

config="{\"file_list\": [
  {\"file_url\": \"$NGINX_URL/files/gomph_a.zip\", \"downloaded_file_name\": \"file_1.zip\", \"exploded_folder_name\": \"gomphonema_a\", \"species_label\": \"gomphonema_clavatum\"},
  {\"file_url\": \"$NGINX_URL/files/gomph_b.zip\", \"downloaded_file_name\": \"file_2.zip\", \"exploded_folder_name\": \"gomphonema_b\", \"species_label\": \"gomphonema_clavatum\"},
  {\"file_url\": \"$NGINX_URL/files/navic.zip\", \"downloaded_file_name\": \"file_3.zip\", \"exploded_folder_name\": \"navicula\", \"species_label\": \"navicula_lanceolata\"}],
  \"n_test_per_label\": 10, \"seed\": 42, \"upload\": {\"credential\": \"owncloud\", \"target\": \"datasets/\"}}"
start=$(date +%s.%N)
run=$(psql -XAtq -U curator -c "SELECT mlops.start_run('dataset', '$config')" 2>&1)
ok $? "curator starts a dataset run ($run)"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" failed 120
psql -XAtc "SELECT step || ' ' || state || ' ' || coalesce(error, '') FROM mlops.run_steps WHERE run_id = '$run' ORDER BY ord" | sed "s/^/# /" | cut -c1-400
ok $? "with the wrong password the run fails"
is "$(psql -XAtq -c "SELECT string_agg(step || ':' || state, ' ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run'")" \
   "plan:succeeded download:succeeded extract:succeeded split:succeeded layout:succeeded package:succeeded upload:failed clean:succeeded" \
   "every step up to the package succeeded, the upload failed, the working folders were cleaned"
grep -q "401" <<<"$(psql -XAtq -c "SELECT error FROM mlops.run_steps WHERE run_id = '$run' AND step = 'upload'")"
ok $? "the upload's error says the server refused (401)"
zip=$(cd "$AREA/dataset" 2>/dev/null && ls diatom_set-*.zip 2>/dev/null)
[[ "$zip" =~ ^diatom_set-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.zip$ ]]
ok $? "the zip is kept after the failed upload ($zip)"
listing=$(unzip -Z1 "$AREA/dataset/$zip" 2>/dev/null)
is "$(grep -c '^test/gomphonema_clavatum/' <<<"$listing") $(grep -c '^train/gomphonema_clavatum/' <<<"$listing")" "20 35" \
   "gomphonema: exactly 10 test images from each of its two folders (the original took 11), the rest train"
is "$(grep -c '^test/navicula_lanceolata/' <<<"$listing") $(grep -c '^train/navicula_lanceolata/' <<<"$listing")" "10 30" \
   "navicula: 10 test, 30 train"
is "$(grep -c 'img.*-2\.png$' <<<"$listing")" 25 "equal file names from the two gomphonema zips are kept apart (-2), none lost"
is "$(grep -c README <<<"$listing")" 0 "files outside the exploded folder are left out"
is "$(ls "$AREA/dataset")" "$zip" "the working folders are cleaned, only the zip is left"
is "$(find "$served/dav" -type f | wc -l)" 0 "nothing reached the WebDAV store"

psql -XAtq -c "SELECT mlops.set_credential('owncloud', 'webdav', '{\"url\": \"$NGINX_URL/dav/\", \"username\": \"owncloud\", \"password\": \"right-password\"}')" >/dev/null
downloads_before=$(grep -c 'GET /files/' "$NGINX_DIR/logs/access.log")
out=$(psql -XAtq -U curator -c "SELECT mlops.rerun('$run')" 2>&1)
ok $? "after the credential is fixed, curator reruns what failed ($out step)"
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 60
ok $? "the run succeeds"
[ -f "$served/dav/datasets/$zip" ] && [ "$(unzip -Z1 "$served/dav/datasets/$zip")" = "$listing" ] && unzip -tq "$served/dav/datasets/$zip" >/dev/null
ok $? "the same zip is on the WebDAV store as datasets/$zip, intact"
is "$(unzip -Z1 "$served/dav/datasets/$zip" | wc -l)" 95 "with its 95 images"
is "$(grep -c 'GET /files/' "$NGINX_DIR/logs/access.log")" "$downloads_before" "nothing was downloaded again"
[ ! -e "$AREA/dataset/$zip" ]
ok $? "the local zip is deleted only now, after the confirmed upload"
end=$(date +%s.%N)
echo "# dataset run: $(echo "$end - $start" | bc) s including the failed attempt and the rerun"

is "$(psql -XAtq -U curator -c "SELECT mlops.start_run('dataset', '$config')")" "$run" "the same config again is the same run"
is "$(psql -XAtq -c "SELECT count(*) FROM mlops.jobs WHERE run_id = '$run' AND kind = 'download'")" 3 "three download jobs in all"

bad='{"file_list": [{"file_url": "http://127.0.0.1/x.zip", "downloaded_file_name": "../../escape.zip", "species_label": "x"}]}'
badrun=$(psql -XAtq -U curator -c "SELECT mlops.start_run('dataset', '$bad')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$badrun'" failed 30
ok $? "a file list naming ../ fails the run"
grep -q 'downloaded_file_name "../../escape.zip" is not a file name' <<<"$(psql -XAtq -c "SELECT error FROM mlops.run_steps WHERE run_id = '$badrun' AND step = 'plan'")"
ok $? "at the plan, with the reason"
# a file list pointing outside mlops.allowed_hosts: the download is refused, the run fails there
psql -XAtq -c "ALTER SYSTEM SET mlops.allowed_hosts = '127.0.0.1:${NGINX_URL##*:}'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
outside='{"file_list": [{"file_url": "http://127.0.0.2:9/x.zip", "downloaded_file_name": "x.zip", "species_label": "x"}], "work": "elsewhere"}'
outrun=$(psql -XAtq -U curator -c "SELECT mlops.start_run('dataset', '$outside')")
poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$outrun'" failed 30
ok $? "a file list naming a host outside mlops.allowed_hosts fails the run"
grep -q 'not allowed' <<<"$(psql -XAtq -c "SELECT error FROM mlops.run_steps WHERE run_id = '$outrun' AND step = 'download'")" && [ ! -e "$AREA/elsewhere/downloads/x.zip" ]
ok $? "at the download, refused with the reason, nothing fetched"
psql -XAtq -c "ALTER SYSTEM RESET mlops.allowed_hosts" -c "SELECT pg_reload_conf()" >/dev/null
out=$(psql -XAtq -U curator -c "SELECT mlops.start_run('dataset', '{\"file_lists\": []}')" 2>&1)
grep -q 'file_lists' <<<"$out"
ok $? "an unknown config key is refused at start ($out)"

done_testing
