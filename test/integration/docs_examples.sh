#!/usr/bin/env bash
# docs_examples.sh — every example of docs/*.md marked to run: each ```sql block immediately
# preceded by the line "<!-- example: runs -->" is run as written with psql -v ON_ERROR_STOP=1,
# file by file, in the order of the file, all blocks of one file in one database of their own
# (a fresh cluster per file, since pg_cron, which the extension requires, lives in one database
# of a cluster, and roles and credentials are the cluster's).  A block that errors fails; a
# docs file without such a block fails.  The clusters run the worker, so jobs really run.
# VERBOSE=1 prints every block's output as TAP comments.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_docs.XXXXXX")
trap 'cluster_stop; rm -rf "$tmp"' EXIT

docs=(docs/*.md)
[ -e "${docs[0]}" ]
ok $? "docs/ holds ${#docs[@]} files"

for doc in "${docs[@]}"; do
  name=$(basename "$doc" .md)
  rm -f "$tmp"/block.*
  # block.N: the Nth marked block; block.N.line: the line its ```sql opens on
  awk -v dir="$tmp" '
    prev == "<!-- example: runs -->" && /^```sql[[:space:]]*$/ {n++; f = sprintf("%s/block.%02d", dir, n); print NR > (f ".line"); close(f ".line"); inb = 1; prev = $0; next}
    inb && /^```/ {inb = 0; close(f); prev = $0; next}
    inb {print > f}
    {prev = $0}' "$doc"
  blocks=$(find "$tmp" -maxdepth 1 -name 'block.[0-9][0-9]' | sort)
  if [ -z "$blocks" ]; then
    ok 1 "$doc has an example marked <!-- example: runs -->"
    continue
  fi
  ok 0 "$doc has $(wc -l <<<"$blocks") example(s) marked to run"

  db="docs_${name//-/_}"
  if ! cluster_start --db "$db" --conf "postgis.gdal_enabled_drivers = 'GTiff PNG'" >"$tmp/start.log" 2>&1; then
    ok 1 "$doc: a cluster with database $db"; sed 's/^/# /' "$tmp/start.log"; continue
  fi
  psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
  ok $? "$doc: database $db with the extension"
  for b in $blocks; do
    line=$(cat "$b.line")
    out=$(psql -X -q -v ON_ERROR_STOP=1 -f "$b" 2>&1)
    status=$?
    ok $status "$doc:$line runs ($(wc -l <"$b") lines)"
    if [ $status -ne 0 ]; then
      sed 's/^/#   /' <<<"$out" | tail -n 20
    elif [ "${VERBOSE:-0}" = 1 ]; then
      sed 's/^/#   /' <<<"$out"
    fi
  done
  cluster_stop
done

done_testing
