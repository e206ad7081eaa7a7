#!/usr/bin/env bash
# luigi_task_id.sh — mlops.luigi_task_id against Luigi's rule (luigi.task.task_id_str, ported
# here to Python because Luigi is not packaged: json.dumps(params, separators=(',', ':'),
# sort_keys=True) hashed with MD5, the first 16 characters of the first three values by name,
# characters other than [A-Za-z0-9_] made '_'), on 300 random parameter sets with quotes,
# backslashes, control characters, accents, CJK and characters beyond the BMP, and random family
# and parameter names.  MLOPS_LUIGI_SEED picks the random sets.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --conf "mlops.workers = 0" || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"

cases=$(mktemp)
trap 'rm -f "$cases"; cluster_stop' EXIT
/usr/bin/python3 - "${MLOPS_LUIGI_SEED:-20261207}" > "$cases" <<'PY'
import hashlib, json, random, re, sys

rng = random.Random(int(sys.argv[1]))
ALPHABET = list("abcXYZ019_-/. :'\"\\\t\n") + ["é", "ü", "ß", "€", "漢", "字", "😀", "𝔘", "\x01", "\x7f"]

def text(lo, hi):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(lo, hi)))

def task_id_str(family, params):
    param_str = json.dumps(params, separators=(",", ":"), sort_keys=True)
    param_hash = hashlib.md5(param_str.encode("utf-8")).hexdigest()
    summary = "_".join(p[:16] for p in (params[p] for p in sorted(params)[:3]))
    summary = re.sub(r"[^A-Za-z0-9_]", "_", summary)
    return "{}_{}_{}".format(family, summary, param_hash[:10])

for _ in range(300):
    family = "Task" + text(0, 6).replace("\n", "").replace("\t", "")
    params = {text(1, 8): text(0, 30) for _ in range(rng.randint(0, 6))}
    # one line per case: the family and params as JSON, and the expected id as JSON
    print(json.dumps([family, params, task_id_str(family, params)]))
PY
ok $? "300 cases from the Python port of Luigi's rule"

# load the cases as jsonb and compare in one query
psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE TABLE cases (n serial, c jsonb)" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -c "\\copy cases (c) FROM '$cases' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')" >/dev/null
ok $? "cases loaded"
is "$(psql -XAtq -c 'SELECT count(*) FROM cases')" 300 "300 cases in the table"
mismatch=$(psql -XAtq -c "SELECT n || ': ' || (c ->> 2) || ' <> ' || mlops.luigi_task_id(c ->> 0, c -> 1)
                         FROM cases WHERE mlops.luigi_task_id(c ->> 0, c -> 1) IS DISTINCT FROM c ->> 2 ORDER BY n LIMIT 5")
is "$mismatch" "" "mlops.luigi_task_id equals Luigi's task_id_str on every case"
distinct=$(psql -XAtq -c "SELECT count(DISTINCT c ->> 2) FROM cases")
[ "$distinct" -gt 250 ]
ok $? "the cases are varied ($distinct distinct ids)"

done_testing
