#!/usr/bin/env bash
# meta_json.sh — the release metadata agrees with itself: META.json (PGXN, meta-spec 1.0.0)
# parses and has the spec's required keys; its version and the provided extension's version are
# the control file's default_version; its runtime prereqs name PostgreSQL 15 and every extension
# the control file requires; the files it names exist; the install scripts in sql/ form one chain
# that ends at default_version (every kept script reaches it through upgrade scripts, none names
# a later version); and debian/changelog's newest entry is the same version.  No server needed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

control_version=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" pg_mlops.control)
control_requires=$(sed -n "s/^requires[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" pg_mlops.control | tr -d ' ' | tr ',' '\n' | sort)

# meta EXPR: prints a Python expression over the parsed META.json (m); lists one item a line.
meta() {
  /usr/bin/python3 -c '
import json, sys
m = json.load(open("META.json"))
v = eval(sys.argv[1])
print("\n".join(map(str, v)) if isinstance(v, (list, tuple)) else v)' "$1" 2>/dev/null
}

err=$(/usr/bin/python3 -c 'import json; json.load(open("META.json"))' 2>&1)
status=$?
[ -n "$err" ] && tail -n 1 <<<"$err" | sed 's/^/# /'
ok "$status" "META.json parses as JSON"
is "$(meta 'm["meta-spec"]["version"]')" "1.0.0" "META.json follows PGXN meta-spec 1.0.0"
is "$(meta '[k for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec") if not m.get(k)]')" "" \
  "META.json has every key meta-spec 1.0.0 requires, none empty"
is "$(meta 'm["name"]')" "pg_mlops" "META.json name is the extension's"
is "$(meta 'm["version"]')" "$control_version" "META.json version is default_version of pg_mlops.control ($control_version)"
is "$(meta 'm["provides"]["pg_mlops"]["version"]')" "$control_version" "META.json provides pg_mlops at default_version"
grep -qE '^[0-9]+\.[0-9]+\.[0-9]+$' <<<"$control_version"
ok $? "default_version is a semantic version (PGXN requires one)"
# the spec's license strings (section "license"); "unknown" until the project picks one
licenses=" agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown "
license=$(meta 'm["license"] if isinstance(m["license"], str) else ""')
[ -n "$license" ] && [[ "$licenses" == *" $license "* ]]
ok $? "META.json license '$license' is one of the spec's strings"
missing_files=$(meta '[p[k] for p in m["provides"].values() for k in ("file", "docfile") if k in p]' | while read -r f; do [ -f "$f" ] || echo "$f"; done)
is "$missing_files" "" "the files META.json names exist"
is "$(meta 'sorted(k for k in m["prereqs"]["runtime"]["requires"] if k != "PostgreSQL")')" "$control_requires" \
  "META.json runtime prereqs are the control file's requires ($(echo $control_requires))"
pg_range=$(meta 'm["prereqs"]["runtime"]["requires"]["PostgreSQL"]')
[[ "$pg_range" == *">= 15."* && "$pg_range" == *"< 16."* ]]
ok $? "META.json requires PostgreSQL 15 ('$pg_range')"

# The install scripts: sql/pg_mlops--V.sql kept for released versions (the current one is built
# from sql/pg_mlops.sql) and sql/pg_mlops--A--B.sql upgrades.
later=
for f in sql/pg_mlops--*.sql; do
  for v in $(basename "$f" .sql | sed 's/^pg_mlops--//; s/--/ /'); do
    [ "$(printf '%s\n%s\n' "$v" "$control_version" | sort -V | tail -n 1)" = "$control_version" ] || later+=" $f"
  done
done
is "$later" "" "no install or upgrade script in sql/ names a version after $control_version"
stranded=
for f in sql/pg_mlops--*.sql; do
  name=$(basename "$f" .sql)
  [[ "$name" == *--*--* ]] && continue
  v=${name#pg_mlops--}
  while [ "$v" != "$control_version" ]; do
    next=$(ls sql/pg_mlops--"$v"--*.sql 2>/dev/null | sed 's/.*--\([^-]*\)\.sql$/\1/' | sort -V | tail -n 1)
    [ -n "$next" ] || { stranded+=" $v"; break; }
    v=$next
  done
done
is "$stranded" "" "every kept install script reaches $control_version through upgrade scripts"
[ ! -e "sql/pg_mlops--$control_version.sql" ] || ! git ls-files --error-unmatch "sql/pg_mlops--$control_version.sql" >/dev/null 2>&1
ok $? "the current install script is built from sql/pg_mlops.sql, not kept in the tree"

if [ -f debian/changelog ]; then
  is "$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog)" "$control_version" "debian/changelog's newest entry is $control_version"
  is "$(sed -n '1s/^\([^ ]*\) .*/\1/p' debian/changelog)" "pg-mlops" "debian/changelog names the source package pg-mlops"
else
  ok 1 "debian/changelog exists"
fi

done_testing
