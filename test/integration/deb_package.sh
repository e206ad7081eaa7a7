#!/usr/bin/env bash
# deb_package.sh — the Debian package, as users install it: build postgresql-15-pg-mlops with
# dpkg-buildpackage (debian/rules, pg_buildext) from a copy of the tree, check its name, version,
# Depends and file list (the control file, every install and upgrade script, the library, the
# bitcode when the server was built with LLVM, the docs; nothing from the test tree), install it
# with dpkg -i into the system PostgreSQL, run a fresh cluster on it (CREATE EXTENSION CASCADE, a
# metric, a job through the worker), then purge it and put back exactly the pg_mlops files that
# were there before (what `make install` left), so the other suites are unaffected whatever
# order they run in.
#
# It refuses to run when postgresql-15-pg-mlops is installed already (it would replace it).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

pgversion=$(grep -m1 -E '^[0-9]+$' debian/pgversions)
package="postgresql-$pgversion-pg-mlops"
# The package goes into the system's PostgreSQL; the cluster must run those binaries.
SYS_PG_CONFIG=/usr/lib/postgresql/$pgversion/bin/pg_config
export PG_BINDIR=/usr/lib/postgresql/$pgversion/bin
. test/lib/cluster.sh
. test/lib/tap.sh

SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
control_version=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" pg_mlops.control)
pkglibdir=$($SYS_PG_CONFIG --pkglibdir)
extdir=$($SYS_PG_CONFIG --sharedir)/extension
with_llvm=$(sed -n 's/^with_llvm[[:space:]]*=[[:space:]]*//p' "$(dirname "$($SYS_PG_CONFIG --pgxs)")/../Makefile.global")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_deb.XXXXXX")
chmod 755 "$WORK"

if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
  ok 1 "$package is not installed already (remove it first: this test installs and purges its own build)"
  rm -rf "$WORK"
  done_testing
fi

# --- build, from a copy of the files git knows (committed or not, ignored files left out) ---
mkdir "$WORK/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -co --exclude-standard | xargs -0 tar -cf - 2>/dev/null | tar -C "$WORK/src" -xf -
else
  tar --exclude='*.o' --exclude='*.bc' --exclude='*.so' --exclude='*.d' -cf - . | tar -C "$WORK/src" -xf -
fi
start=$SECONDS
(cd "$WORK/src" && DEB_BUILD_OPTIONS="parallel=$(nproc) noddebs nocheck" \
  dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1
status=$?
[ "$status" -ne 0 ] && tail -n 40 "$WORK/build.log" | sed 's/^/# /'
ok "$status" "dpkg-buildpackage -us -uc -b builds the package ($((SECONDS - start)) s)"
deb="$WORK/${package}_${control_version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ]
ok $? "it is named ${package}_${control_version}_$(dpkg --print-architecture).deb"
if [ ! -f "$deb" ]; then
  ls "$WORK" | sed 's/^/# /'
  rm -rf "$WORK"
  done_testing
fi

field() { dpkg-deb -f "$deb" "$1"; }
is "$(field Package) $(field Version)" "$package $control_version" "Package and Version are $package $control_version"
depends=$(field Depends)
echo "# Depends: $depends"
missing=
for d in "postgresql-$pgversion" "postgresql-$pgversion-cron" "postgresql-$pgversion-postgis-3" \
         libcurl4 libjson-c5 libarchive13 libzip4; do
  grep -qE "(^|, )$d( |,|$)" <<<"$depends" || missing+=" $d"
done
is "$missing" "" "Depends names the server, pg_cron, PostGIS and the libraries the .so links"

files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|')
want="$extdir/pg_mlops.control $extdir/pg_mlops--$control_version.sql $pkglibdir/pg_mlops.so"
for f in sql/pg_mlops--*.sql; do want+=" $extdir/$(basename "$f")"; done
absent=
for f in $want; do grep -qxF "$f" <<<"$files" || absent+=" $f"; done
is "$absent" "" "it holds the control file, every install and upgrade script in sql/ and the library"
stray=$(grep -vE "^($extdir/pg_mlops(\.control|--[0-9.]+(--[0-9.]+)?\.sql)|$pkglibdir/pg_mlops\.so|$pkglibdir/bitcode/pg_mlops(\.index\.bc|/src/.*\.bc)|/usr/share/doc/$package/(README\.md\.gz|changelog\.gz|copyright|docs/[a-z-]+\.md(\.gz)?))$" <<<"$files")
is "$stray" "" "and nothing else: no tests, no sources, no build leftovers"
n_docs=$(grep -cE "^/usr/share/doc/$package/docs/[a-z-]+\.md(\.gz)?$" <<<"$files")
is "$n_docs" "$(ls docs/*.md | wc -l)" "the reference pages of docs/ are in /usr/share/doc/$package/docs"
n_bc=$(grep -c '\.bc$' <<<"$files")
if [ "$with_llvm" = yes ]; then
  [ "$n_bc" -gt 1 ] && grep -q "postgresql-$pgversion-jit-llvm" <<<"$depends"
  ok $? "the server has with_llvm = yes: the package ships bitcode ($n_bc files) and depends on the JIT"
else
  is "$n_bc" 0 "the server has with_llvm = no: the package ships no bitcode"
fi
mkdir "$WORK/x" && dpkg-deb -x "$deb" "$WORK/x"
deb_so_sum=$(sha256sum <"$WORK/x$pkglibdir/pg_mlops.so")

# --- put it into the system, and make sure the system comes back as it was ---
# The pg_mlops files there now (from `make install`), kept to be put back after the purge.
before=$(cd / && ls -d ."$pkglibdir"/pg_mlops.so ."$pkglibdir"/bitcode/pg_mlops ."$pkglibdir"/bitcode/pg_mlops.index.bc \
  ."$extdir"/pg_mlops.control ."$extdir"/pg_mlops--*.sql 2>/dev/null)
sums_of() { [ $# -gt 0 ] || return 0; (cd / && find "$@" -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum); }
before_sums=$(sums_of $before)
[ -n "$before" ] && (cd / && $SUDO tar -cpf "$WORK/before.tar" $before)

installed=0
restore_system() {
  [ "$installed" = 1 ] || return 0
  installed=0
  $SUDO dpkg --purge "$package" >"$WORK/purge.log" 2>&1 || cat "$WORK/purge.log" >&2
  [ -f "$WORK/before.tar" ] && $SUDO tar -C / -xpf "$WORK/before.tar"
}
finish() {
  cluster_stop
  restore_system
  rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 130' INT TERM

installed=1
$SUDO dpkg -i "$deb" >"$WORK/install.log" 2>&1
status=$?
[ "$status" -ne 0 ] && sed 's/^/# /' "$WORK/install.log"
ok "$status" "dpkg -i installs it into PostgreSQL $pgversion"
dpkg-query -W -f='${Status} ${Version}' "$package" 2>/dev/null | grep -qx "install ok installed $control_version"
ok $? "dpkg lists $package $control_version as installed"
is "$(sha256sum <"$pkglibdir/pg_mlops.so")" "$deb_so_sum" "the server's pg_mlops.so is the package's"

cluster_start --db debtest
status=$?
trap finish EXIT   # cluster_start set its own trap; stop the cluster, then purge and restore
ok "$status" "a fresh cluster starts with pg_cron and pg_mlops preloaded"
psql -XAtq -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning; CREATE EXTENSION pg_mlops CASCADE" >"$WORK/create.log" 2>&1
status=$?
[ "$status" -ne 0 ] && sed 's/^/# /' "$WORK/create.log"
ok "$status" "CREATE EXTENSION pg_mlops CASCADE"
is "$(psql -XAtc "SELECT extversion || ' ' || mlops.version() FROM pg_extension WHERE extname = 'pg_mlops'")" \
  "$control_version $control_version" "the installed extension and the loaded library are $control_version"
is "$(psql -XAtc "SELECT string_agg(source || '>' || target, ' ' ORDER BY source) FROM pg_extension_update_paths('pg_mlops') WHERE target = '$control_version' AND path IS NOT NULL")" \
  "$(for f in sql/pg_mlops--*.sql; do v=$(basename "$f" .sql); v=${v#pg_mlops--}; [ "$v" = "${v%%--*}" ] && [ "$v" != "$control_version" ] && printf '%s>%s\n' "$v" "$control_version"; done | sort | paste -sd ' ')" \
  "every released version it ships updates to $control_version"

is "$(psql -XAtc "SELECT round(mlops.accuracy('[1, 0, 1, 1]'::json, '[1, 1, 1, 0]'::json)::numeric, 6)")" "0.500000" \
  "a metric: accuracy of 2 right out of 4 is 0.5"
model=00000000-0000-0000-0000-0000000000de
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null 2>"$WORK/metric.log" <<SQL
INSERT INTO mlops.results (model_id, y_true, y_pred) VALUES ('$model', '[1, 0, 1]', '[1, 1, 1]');
SELECT mlops.compute_metric('$model');
SQL
ok $? "compute_metric stores a value for a model's results"
is "$(psql -XAtc "SELECT metric || ' ' || round(value::numeric, 4) || ' ' || n_samples FROM mlops.metric_values WHERE model_id = '$model'")" \
  "accuracy 0.6667 3" "metric_values holds accuracy 2/3 over 3 samples"

poll_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' AND datname = 'debtest'" 1 30
ok $? "the worker runs in mlops.database_name"
job=$(psql -XAtc "SELECT mlops.submit_job('sql', '{\"command\": \"CREATE TABLE public.deb_probe AS SELECT 42 AS answer\"}')")
poll_sql "SELECT state FROM mlops.jobs WHERE id = ${job:-0}" succeeded 30
ok $? "an sql job runs through the worker to succeeded"
is "$(psql -XAtc 'SELECT answer FROM public.deb_probe' 2>&1)" 42 "and its command ran: public.deb_probe holds 42"

# --- back as it was ---
cluster_stop
restore_system
! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'installed'
ok $? "dpkg --purge removes $package"
after=$(cd / && ls -d ."$pkglibdir"/pg_mlops.so ."$pkglibdir"/bitcode/pg_mlops ."$pkglibdir"/bitcode/pg_mlops.index.bc \
  ."$extdir"/pg_mlops.control ."$extdir"/pg_mlops--*.sql 2>/dev/null)
is "$after" "$before" "the pg_mlops files in the system are the ones that were there before"
[ "$(sums_of $after)" = "$before_sums" ]
ok $? "with the same contents ($(wc -l <<<"$before_sums") files compared)"

done_testing
