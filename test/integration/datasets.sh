#!/usr/bin/env bash
# datasets.sh — datasets as a role with the grants of docs/security.md: mlops.read_manifest reads the
# original's file list from the role's own area (syntax errors with line and column; links and
# other roles' files refused); the layout kind lays a split out as <dest>/<split>/<label>/ by
# hard links (the very files: same inode), names that collide across archives get -2, a rerun
# writes nothing, hostile labels are refused at submit, and nothing lands outside the area.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
{ readme_grants application app alice; readme_grants application app bob; } | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
ok $? "roles alice and bob with the grants of docs/security.md"
alice=$(psql -XAtq -c "SELECT 'alice'::regrole::oid")
bob=$(psql -XAtq -c "SELECT 'bob'::regrole::oid")
AREA="$PGDATA/pg_mlops/roles/$alice"
BOBAREA="$PGDATA/pg_mlops/roles/$bob"
mkdir -p "$AREA/extracted/zip1/gomphonema" "$AREA/extracted/zip2/gomphonema" "$AREA/extracted/zip3/navicula" "$BOBAREA"

# run ROLE KIND PARAMS: submit and wait; prints "state|error|result"
run() {
  local id
  id=$(psql -XAtq -U "$1" -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('$2', \$p\$$3\$p\$::jsonb)" 2>&1) || { echo "refused|$id|"; return; }
  psql -XAtq -U "$1" -c "SELECT mlops.wait_job($id, '60 seconds')" >/dev/null
  psql -XAtq -c "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result::text, '') FROM mlops.jobs WHERE id = $id"
}
field() { sed -n "s/.*\"$1\": \\([^,}]*\\).*/\\1/p" <<<"$2"; }

# ---- read_manifest
cat > "$AREA/file_list.json" <<'JSON'
[
  {"file_url": "http://127.0.0.1/zip1.zip", "downloaded_file_name": "file_1.zip",
   "exploded_folder_name": "gomphonema", "species_label": "gomphonema_clavatum"},
  {"file_url": "http://127.0.0.1/zip3.zip", "downloaded_file_name": "file_3.zip",
   "exploded_folder_name": "navicula", "species_label": "navícula lanceolata"}
]
JSON
printf '[\n  {"a": 1,\n   "b": [1, 2,]}\n]\n' > "$AREA/broken.json"
echo '{"secret": 1}' > "$BOBAREA/bobs.json"
ln -s "$BOBAREA/bobs.json" "$AREA/link.json"
chown -R "$CLUSTER_OWNER" "$AREA" "$BOBAREA"

out=$(psql -XAtq -U alice -c "SELECT jsonb_array_length(m), m->1->>'species_label' FROM mlops.read_manifest('file_list.json') m" 2>&1)
is "$out" "2|navícula lanceolata" "read_manifest reads the original's file list as is, Unicode kept"
out=$(psql -XAtq -U alice -c "SELECT mlops.read_manifest('broken.json')" 2>&1)
grep -q 'is not JSON: .* at line 3, column 1[0-9]' <<<"$out"
ok $? "a trailing comma is an error naming its line and column ($out)"
out=$(psql -XAtq -U alice -c "SELECT mlops.read_manifest('link.json')" 2>&1)
grep -q 'symbolic link' <<<"$out"
ok $? "a symbolic link is refused ($out)"
out=$(psql -XAtq -U alice -c "SELECT mlops.read_manifest('../$bob/bobs.json')" 2>&1)
grep -q 'ERROR' <<<"$out" && ! grep -q secret <<<"$out"
ok $? "another role's file is out of reach ($out)"
out=$(psql -XAtq -U alice -c "SELECT mlops.read_manifest('/etc/passwd')" 2>&1)
grep -q 'ERROR' <<<"$out" && ! grep -q root: <<<"$out"
ok $? "an absolute path is refused"
out=$(psql -XAtq -U alice -c "SELECT mlops.read_manifest('missing.json')" 2>&1)
grep -q 'cannot open manifest "missing.json"' <<<"$out"
ok $? "a missing file is a clear error"
psql -XAtq -c "CREATE ROLE carol LOGIN" >/dev/null
out=$(psql -XAtq -U carol -c "SELECT mlops.read_manifest('file_list.json')" 2>&1)
grep -q 'permission denied for function read_manifest' <<<"$out"
ok $? "a role without the grant of docs/security.md may not read manifests"

# ---- layout
for z in zip1 zip2; do for i in 1 2 3; do echo "$z-$i" > "$AREA/extracted/$z/gomphonema/img$i.png"; done; done
for i in 1 2; do echo "nav-$i" > "$AREA/extracted/zip3/navicula/img$i.png"; done
chown -R "$CLUSTER_OWNER" "$AREA"
items='[{"path": "extracted/zip1/gomphonema/img1.png", "split": "test", "label": "gomphonema"},
        {"path": "extracted/zip1/gomphonema/img2.png", "split": "train", "label": "gomphonema"},
        {"path": "extracted/zip1/gomphonema/img3.png", "split": "train", "label": "gomphonema"},
        {"path": "extracted/zip2/gomphonema/img1.png", "split": "train", "label": "gomphonema"},
        {"path": "extracted/zip2/gomphonema/img2.png", "split": "train", "label": "gomphonema"},
        {"path": "extracted/zip2/gomphonema/img3.png", "split": "test", "label": "gomphonema"},
        {"path": "extracted/zip3/navicula/img1.png", "split": "train", "label": "navícula lanceolata"},
        {"path": "extracted/zip3/navicula/img2.png", "split": "test", "label": "navícula lanceolata"}]'
out=$(run alice layout "{\"items\": $items, \"dest\": \"results\"}")
is "${out%%|*}" succeeded "layout succeeds ($out)"
is "$(field files "$out") $(field linked "$out") $(field renamed "$out")" "8 8 1" "8 files placed as hard links; one name collided"
[ "$(stat -c %i "$AREA/results/train/gomphonema/img2.png")" = "$(stat -c %i "$AREA/extracted/zip1/gomphonema/img2.png")" ]
ok $? "a placed file is the very file (same inode), nothing copied"
is "$(cat "$AREA/results/train/gomphonema/img2-2.png")" "zip2-2" "the second img2.png of the train folder is img2-2.png"
is "$(cd "$AREA/results" && find . -type f | sort | tr '\n' ' ')" \
  "./test/gomphonema/img1.png ./test/gomphonema/img3.png ./test/navícula lanceolata/img2.png ./train/gomphonema/img1.png ./train/gomphonema/img2-2.png ./train/gomphonema/img2.png ./train/gomphonema/img3.png ./train/navícula lanceolata/img1.png " \
  "the tree is <dest>/<split>/<label>/ with every file once"
is "$(find "$AREA/results" -type d -empty | wc -l)" 0 "no empty folders"
is "$(find "$AREA/extracted" -type f | wc -l)" 8 "the sources stay in place"
out=$(run alice layout "{\"items\": $items, \"dest\": \"results\"}")
is "${out%%|*} $(field already_there "$out") $(field linked "$out")" "succeeded 8 0" "a rerun writes nothing: every file is already there"
out=$(run alice layout "{\"items\": $items, \"dest\": \"copied\", \"mode\": \"copy\"}")
[ "${out%%|*}" = succeeded ] && [ "$(field copied "$out")" = 8 ] && \
  [ "$(stat -c %i "$AREA/copied/train/gomphonema/img2.png")" != "$(stat -c %i "$AREA/extracted/zip1/gomphonema/img2.png")" ]
ok $? "mode copy copies ($out)"

out=$(run alice layout '{"items": [{"path": "extracted/zip1/gomphonema/img1.png", "split": "train", "label": "../../escape"}], "dest": "results"}')
grep -q '^refused|.*label "../../escape" cannot be a folder name' <<<"$out"
ok $? "a label with ../ is refused at submit ($out)"
out=$(run alice layout '{"items": [{"path": "extracted/zip1/gomphonema/img1.png", "split": ".."}], "dest": "results"}')
grep -q '^refused|.*split ".." cannot be a folder name' <<<"$out"
ok $? "a split of .. is refused at submit"
out=$(run alice layout '{"items": [{"path": "extracted/zip1/gomphonema/img1.png", "split": "train", "labels": "x"}], "dest": "results"}')
grep -q '^refused|.*unknown key "labels"' <<<"$out" && grep -q 'path, split, label and name' <<<"$(psql -XAtq -U alice -c "SELECT mlops.submit_job('layout', '{\"items\": [{\"path\": \"a\", \"split\": \"b\", \"labels\": 1}], \"dest\": \"r\"}')" 2>&1)"
ok $? "an unknown item key is refused, listing the valid ones"
out=$(run alice layout "{\"items\": [{\"path\": \"../$bob/bobs.json\", \"split\": \"train\"}], \"dest\": \"results\"}")
grep -q '^refused|' <<<"$out"
ok $? "another role's file cannot be laid out ($out)"
out=$(run alice layout '{"items": [{"path": "link.json", "split": "train"}], "dest": "stolen"}')
grep -q '^refused|.*symbolic link' <<<"$out" && [ ! -e "$AREA/stolen" ]
ok $? "a symbolic link as a source is refused at submit, nothing placed"
out=$(run alice layout '{"items": [{"path": "extracted/zip2/gomphonema/img1.png", "split": "train", "label": "gomphonema"}], "dest": "results"}')
grep -q '^succeeded|' <<<"$out" && [ "$(field already_there "$out")" = 1 ]
ok $? "the same file under its name again is already there"
out=$(run alice layout '{"items": [{"path": "extracted/zip1/gomphonema/img1.png", "split": "train", "label": "gomphonema"}], "dest": "results"}')
grep -q '^failed|item 0 (.*): destination .* exists and holds something else' <<<"$out" && [ "$(cat "$AREA/results/train/gomphonema/img1.png")" = zip2-1 ]
ok $? "another file under a taken name fails, the taken one kept ($out)"
is "$(find "$PGDATA/pg_mlops" -path "*roles/$bob*" -type f | wc -l)" 1 "bob's area holds only his own file"

# ---- split_manifest / split_table with method sklearn, end to end, against scikit-learn itself:
# string labels (numpy's sort order), numeric labels (numeric order), groups and folds
cases=$(/usr/bin/python3 - <<'PY'
import json, random
import numpy as np
from sklearn.model_selection import train_test_split, GroupShuffleSplit, StratifiedKFold, KFold
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
rng = random.Random(20261207)
out = []
for case in range(36):
    n = rng.randint(20, 400)
    kind = case % 6
    names = ["Navicula", "gomphonema", "Gomphonema", "achnanthes", "ñandú", "Z", "a b", "10", "9"]
    if kind == 1:
        y = [rng.choice([3, -1, 10, 2, 7]) for _ in range(n)]
    else:
        y = [rng.choice(names[:rng.randint(2, len(names))]) for _ in range(n)]
    # every class at least 2 items so stratification is possible
    from collections import Counter
    c = Counter(y)
    y = [v if c[v] >= 2 else y[0] for v in y]
    c = Counter(y)
    if min(c.values()) < 2:
        continue
    seed = rng.randint(0, 2**32 - 1)
    items = [{"id": i, "y": y[i], "g": "g%d" % rng.randint(0, n // 3)} for i in range(n)]
    idx = np.arange(n)
    try:
      if kind in (0, 1):
          ts = rng.choice([0.2, 0.25, 0.5, 7])
          opts = {"method": "sklearn", "label": "y", "test_size": ts, "seed": seed}
          _, test = train_test_split(idx, test_size=ts, shuffle=True, stratify=np.array(y), random_state=seed)
          want = {int(i): 1 for i in test}
          want = [want.get(i, 0) for i in range(n)]
      elif kind == 2:
          groups = np.array([it["g"] for it in items])
          opts = {"method": "sklearn", "group": "g", "test_size": 0.3, "seed": seed}
          _, test = next(GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=seed).split(idx, groups=groups))
          want = {int(i): 1 for i in test}
          want = [want.get(i, 0) for i in range(n)]
      elif kind == 4:
          k = rng.choice([2, 3, 5])
          opts = {"method": "sklearn", "group": "g", "folds": k}
          groups = np.array([it["g"] for it in items])
          want = [0] * n
          for f, (_, test) in enumerate(GroupKFold(k).split(idx, groups=groups)):
              for i in test:
                  want[int(i)] = f
      elif kind == 5:
          k = rng.choice([2, 3, 5])
          sh = rng.random() < 0.5
          opts = {"method": "sklearn", "label": "y", "group": "g", "folds": k, "seed": seed, "shuffle": sh}
          groups = np.array([it["g"] for it in items])
          want = [0] * n
          cv = StratifiedGroupKFold(k, shuffle=sh, random_state=seed if sh else None)
          for f, (_, test) in enumerate(cv.split(idx, np.array(y), groups)):
              for i in test:
                  want[int(i)] = f
      else:
          k = rng.choice([2, 3, 5])
          if min(c.values()) < k:
              continue
          opts = {"method": "sklearn", "label": "y", "folds": k, "seed": seed}
          want = [0] * n
          for f, (_, test) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, np.array(y))):
              for i in test:
                  want[int(i)] = f
    except ValueError:
        want = "error"   # scikit-learn refuses: so must split_manifest
    out.append(json.dumps({"items": items, "opts": opts, "want": want}))
print("\n".join(out))
PY
)
i=0; bad=0
while IFS= read -r line; do
  i=$((i + 1))
  got=$(psql -XAtq -v ON_ERROR_STOP=1 -v c="$line" <<'SQL' 2>&1
SELECT string_agg(coalesce(fold, CASE split WHEN 'test' THEN 1 ELSE 0 END)::text, ',' ORDER BY ord)
FROM mlops.split_manifest((:'c'::jsonb)->'items', (:'c'::jsonb)->'opts');
SQL
)
  want=$(/usr/bin/python3 -c 'import json,sys; w = json.loads(sys.argv[1])["want"]; print(w if w == "error" else ",".join(map(str, w)))' "$line")
  [ "$want" = error ] && grep -q '^ERROR:  cannot split' <<<"$got" && got=error
  [ "$got" = "$want" ] || { bad=$((bad + 1)); echo "# case $i differs: $(cut -c1-200 <<<"$line")"; echo "# got  $(cut -c1-120 <<<"$got")"; echo "# want $(cut -c1-120 <<<"$want")"; }
done <<<"$cases"
[ "$i" -ge 30 ] && [ "$bad" -eq 0 ]
ok $? "split_manifest with method sklearn gives scikit-learn 1.2's index sets on $i random manifests (string and numeric labels in numpy's order, groups, stratified folds, GroupKFold, StratifiedGroupKFold; $bad differ)"

# ---- method hash: each side as docs/datasets.md's rule gives it, computed outside the database
# (SipHash-2-4 and splitmix64 written from their papers in test/parity/split_parity.py)
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE public.hashed AS
SELECT i AS image_id, CASE i % 3 WHEN 0 THEN 'ñandú-' WHEN 1 THEN 'img ' ELSE '日本/' END || i AS name
FROM generate_series(-50, 400) i;
SQL
hash_got=$(psql -XAtq -v ON_ERROR_STOP=1 2>&1 <<'SQL'
SELECT 'table', id, split
FROM mlops.split_table('hashed', '{"id": "image_id", "method": "hash", "test_size": 0.3, "seed": 77}');
SELECT 'names', item->>'name', fold
FROM mlops.split_manifest((SELECT jsonb_agg(jsonb_build_object('name', name) ORDER BY image_id) FROM hashed),
                          '{"id": "name", "method": "hash", "folds": 4, "seed": 4294967295}');
SELECT 'whole', item::text, split
FROM mlops.split_manifest((SELECT jsonb_agg(jsonb_build_object('name', name, 'n', image_id) ORDER BY image_id) FROM hashed),
                          '{"method": "hash", "test_size": 0.2, "train_size": 0.5}');
SQL
)
hash_bad=$(HASH_GOT="$hash_got" /usr/bin/python3 - 2>&1 <<'PY'
import os, sys
sys.path.insert(0, "test/parity")
from split_parity import hash_key, hash_side
how = {"table": (77, 0.3, 0.7, 0), "names": (4294967295, 0, 0, 4), "whole": (0, 0.2, 0.5, 0)}
names = {"train": 0, "test": 1, "unused": 2}
bad = total = 0
for line in os.environ["HASH_GOT"].splitlines():
    kind, text, side = line.split("|")
    seed, te, tr, folds = how[kind]
    want = hash_side(hash_key(seed), text.encode("utf-8"), te, tr, folds)
    bad += want != (int(side) if folds else names[side])
    total += 1
print("%d of %d" % (bad, total))
PY
)
is "$hash_bad" "0 of 1353" "method hash: every side (split_table ids, manifest id keys in UTF-8, whole items as jsonb prints them) as docs/datasets.md's rule computes it outside the database"

psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE public.big AS
SELECT i AS image_id, 'species_' || (i % 50) AS species, (i / 10) AS specimen FROM generate_series(1, 200000) i;
SQL
out=$(psql -XAtq -c "SELECT count(*) FILTER (WHERE split = 'test'), count(*) FROM mlops.split_table('big',
  '{\"id\": \"image_id\", \"label\": \"species\", \"group\": \"specimen\", \"test_size\": 0.2, \"seed\": 1}')" 2>&1)
is "$out" "40000|200000" "split_table over 200,000 rows: every row once, 20% test exactly as the groups of 10 allow"
out=$(psql -XAtq -c "SELECT count(*) FROM (SELECT b.specimen FROM mlops.split_table('big',
  '{\"id\": \"image_id\", \"label\": \"species\", \"group\": \"specimen\", \"test_size\": 0.2}') s
  JOIN big b ON b.image_id::text = s.id GROUP BY 1 HAVING count(DISTINCT s.split) > 1) x" 2>&1)
is "$out" 0 "no specimen on both sides"
psql -XAtq -c "GRANT SELECT ON public.big TO alice" >/dev/null
psql -XAtq -c "ALTER TABLE public.big ENABLE ROW LEVEL SECURITY" -c "CREATE POLICY few ON public.big TO alice USING (image_id <= 100)" >/dev/null
out=$(psql -XAtq -U alice -c "SELECT count(*) FROM mlops.split_table('public.big', '{\"id\": \"image_id\"}')" 2>&1)
is "$out" 100 "split_table reads with the caller's rights: row-level security applies"
out=$(psql -XAtq -U bob -c "SELECT count(*) FROM mlops.split_table('public.big', '{\"id\": \"image_id\"}')" 2>&1)
grep -q 'permission denied for table big' <<<"$out"
ok $? "a role without SELECT cannot split the table ($out)"

done_testing
