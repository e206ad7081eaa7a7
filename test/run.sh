#!/usr/bin/env bash
# test/run.sh — what `make test` runs: install what is missing, build with warnings as errors,
# install, then every suite: kernel unit tests, pg_regress on a fresh cluster, the TAP tests (as
# the postgres user) and the integration tests.  Each suite's failures are printed with their
# log (regression.diffs, the TAP output, the server log).  The last line is "N passed, N failed";
# the exit status is 0 only when nothing failed.
#
# Environment: SUITES="unit regress tap integration" picks suites; KEEP=1 keeps the logs.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. test/lib/cluster.sh

SUITES=${SUITES:-unit fuzz regress isolation tap integration}
WERROR_CFLAGS='-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare'
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo

passed=0
failed=0
failures=()

say() { printf '\n== %s (%d s into the run)\n' "$*" "$SECONDS"; }

# count_tap LOG STATUS: adds a TAP log's ok / not ok lines to the totals; a non-zero STATUS or a
# plan that does not match the count is one more failure.
count_tap() {
  local log=$1 status=$2 p f plan
  p=$(grep -c '^ok ' "$log")
  f=$(grep -c '^not ok ' "$log")
  plan=$(sed -n 's/^1\.\.\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    failed=$((failed + 1)); f=1
  elif [ -n "$plan" ] && [ "$plan" -ne $((p + f)) ] && [ "$f" -eq 0 ]; then
    failed=$((failed + 1)); f=1
  elif [ -z "$plan" ] && [ "$f" -eq 0 ]; then
    failed=$((failed + 1)); f=1
  fi
  return "$f"
}

show_failure() {
  echo "---- $1 ----"
  tail -n "${3:-200}" "$2"
  echo "---- end of $1 ----"
}

say "dependencies"
bash test/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

say "build (warnings are errors) and install"
if ! { make -s clean >/dev/null && make -s PG_CFLAGS="$WERROR_CFLAGS" >/dev/null && $SUDO make -s install >/dev/null; }; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "built and installed pg_mlops $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_mlops.control)"

# The library exports only what PostgreSQL looks up (src/exports.map): nothing of ours can clash
# with PostGIS, GDAL or another library loaded beside it.
exported=$(nm -D --defined-only pg_mlops.so | awk '{print $3}')
stray=$(grep -vE '^(_PG_init|Pg_magic_func|pg_finfo_.*|mlops_.*)$' <<<"$exported")
if [ -z "$stray" ] && grep -qx '_PG_init' <<<"$exported"; then
  passed=$((passed + 1)); echo "ok   symbols: pg_mlops.so exports $(wc -l <<<"$exported") symbols, all _PG_init, Pg_magic_func, pg_finfo_* or mlops_*"
else
  failed=$((failed + 1)); failures+=("symbols"); echo "FAIL symbols: exported without the mlops_ prefix:"; echo "$stray" | head -20
fi

# Rooms: no header includes postgres.h (each .c file includes it first), and no source file is
# over 1,200 lines.
pg_headers=$(grep -l '^#include "postgres.h"' $(find src -name '*.h') 2>/dev/null)
big=$(find src -name '*.[ch]' -print0 | xargs -0 wc -l | awk '$2 != "total" && $1 > 1200 {print $2 " (" $1 " lines)"}')
if [ -z "$pg_headers" ] && [ -z "$big" ]; then
  passed=$((passed + 1)); echo "ok   rooms: no header includes postgres.h; no source file over 1,200 lines"
else
  failed=$((failed + 1)); failures+=("rooms")
  echo "FAIL rooms:"; [ -n "$pg_headers" ] && echo "headers including postgres.h: $pg_headers"; [ -n "$big" ] && echo "over 1,200 lines: $big"
fi

# A copy of the tree that the cluster owner can read and write: pg_regress writes its results
# beside its inputs' directory and TAP tests refuse to run as root.
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_test.XXXXXX")
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "logs kept in $STAGE" || rm -rf "$STAGE"; }
trap cleanup EXIT
tar --exclude=.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . | tar -C "$STAGE" -xf -
chmod 755 "$STAGE"
[ "$(id -u)" -eq 0 ] && chown -R "$CLUSTER_OWNER" "$STAGE"
LOGS="$STAGE/logs"
as_owner mkdir -p "$LOGS"

for suite in $SUITES; do
  case "$suite" in
  unit)
    say "kernel unit tests (test/unit)"
    if ! make -s -j"$(nproc)" unit >"$LOGS/unit-build.log" 2>&1; then
      failed=$((failed + 1)); failures+=("unit build"); show_failure "unit build" "$LOGS/unit-build.log"
      continue
    fi
    for bin in test/unit/bin/test_*; do
      [ -x "$bin" ] || continue
      name=$(basename "$bin")
      "$bin" >"$LOGS/$name.log" 2>&1
      if count_tap "$LOGS/$name.log" $?; then
        echo "ok   unit/$name ($(grep -c '^ok ' "$LOGS/$name.log") checks)"
      else
        failures+=("unit/$name"); echo "FAIL unit/$name"; show_failure "unit/$name" "$LOGS/$name.log"
      fi
    done
    ;;
  fuzz)
    say "fuzzing the kernels (test/fuzz, ${FUZZ_SECONDS:-10} s each)"
    if ! make -s -j"$(nproc)" fuzz-build >"$LOGS/fuzz-build.log" 2>&1; then
      failed=$((failed + 1)); failures+=("fuzz build"); show_failure "fuzz build" "$LOGS/fuzz-build.log"
      continue
    fi
    for f in test/fuzz/fuzz_*.c; do
      [ -f "$f" ] || continue
      name=$(basename "$f" .c)
      if make -s fuzz FUZZ_TARGETS="test/fuzz/bin/$name" FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"$LOGS/$name.log" 2>&1; then
        passed=$((passed + 1)); echo "ok   fuzz/$name ($(grep -oE 'number_of_executed_units: *[0-9]+' "$LOGS/$name.log" | grep -oE '[0-9]+$') runs, no crash)"
      else
        failed=$((failed + 1)); failures+=("fuzz/$name"); echo "FAIL fuzz/$name"; show_failure "fuzz/$name" "$LOGS/$name.log"
      fi
    done
    ;;
  regress)
    say "pg_regress (fresh cluster, database contrib_regression)"
    tests=$(cd sql && ls [0-9][0-9]_*.sql | sed 's/\.sql$//' | sort)
    out="$STAGE/regress"
    as_owner mkdir -p "$out"
    PG_REGRESS="$($PG_BINDIR/pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress"
    CLUSTER_SHOW_LOG=1 test/with-cluster.sh --db contrib_regression -- \
      bash -c '. test/lib/cluster.sh; cd "$1" && as_owner "$2" --inputdir=. --outputdir="$3" \
        --bindir="$PG_BINDIR" --host="$PGHOST" --port="$PGPORT" --user=postgres \
        --dbname=contrib_regression --use-existing ${@:4}' \
      _ "$STAGE" "$PG_REGRESS" "$out" $tests >"$LOGS/regress.log" 2>&1
    status=$?
    cat "$LOGS/regress.log" | grep -E '^(test| ) ' || true
    p=$(grep -cE '\.\.\. ok' "$LOGS/regress.log")
    f=$(grep -cE '\.\.\. (FAILED|failed)' "$LOGS/regress.log")
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$status" -ne 0 ] || [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then
      [ "$f" -eq 0 ] && failed=$((failed + 1))
      failures+=("pg_regress")
      [ -f "$out/regression.diffs" ] && show_failure "regression.diffs" "$out/regression.diffs" 400
      show_failure "pg_regress output" "$LOGS/regress.log" 80
    fi
    ;;
  isolation)
    say "isolation tests (test/isolation, fresh cluster, database isolation_regression)"
    tests=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//' | sort)
    out="$STAGE/isolation"
    as_owner mkdir -p "$out"
    PG_ISOLATION_REGRESS="$($PG_BINDIR/pg_config --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress"
    CLUSTER_SHOW_LOG=1 test/with-cluster.sh --db isolation_regression -- \
      bash -c '. test/lib/cluster.sh; cd "$1" && as_owner "$2" --inputdir=test/isolation --outputdir="$3" \
        --bindir="$PG_BINDIR" --host="$PGHOST" --port="$PGPORT" --user=postgres \
        --dbname=isolation_regression --use-existing ${@:4}' \
      _ "$STAGE" "$PG_ISOLATION_REGRESS" "$out" $tests >"$LOGS/isolation.log" 2>&1
    status=$?
    cat "$LOGS/isolation.log" | grep -E '^(test| ) ' || true
    p=$(grep -cE '\.\.\. ok' "$LOGS/isolation.log")
    f=$(grep -cE '\.\.\. (FAILED|failed)' "$LOGS/isolation.log")
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$status" -ne 0 ] || [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then
      [ "$f" -eq 0 ] && failed=$((failed + 1))
      failures+=("pg_isolation_regress")
      [ -f "$out/regression.diffs" ] && show_failure "regression.diffs" "$out/regression.diffs" 400
      show_failure "pg_isolation_regress output" "$LOGS/isolation.log" 80
    fi
    ;;
  tap)
    say "TAP tests (test/t, as $CLUSTER_OWNER)"
    perl_lib="$($PG_BINDIR/pg_config --pkglibdir)/pgxs/src/test/perl"
    PG_REGRESS="$($PG_BINDIR/pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress"
    for t in test/t/*.pl; do
      [ -f "$t" ] || continue
      name=$(basename "$t" .pl)
      as_owner mkdir -p "$STAGE/tap/$name"
      (cd "$STAGE" && as_owner env -u PG_TEST_NOCLEAN PATH="$PG_BINDIR:$PATH" PERL5LIB="$perl_lib" \
         TESTDIR="$STAGE/tap/$name" PG_REGRESS="$PG_REGRESS" \
         perl "$t") >"$LOGS/$name.log" 2>&1
      if count_tap "$LOGS/$name.log" $?; then
        echo "ok   t/$name ($(grep -c '^ok ' "$LOGS/$name.log") checks)"
      else
        failures+=("t/$name"); echo "FAIL t/$name"; show_failure "t/$name" "$LOGS/$name.log"
        for l in "$STAGE/tap/$name"/tmp_check/log/*; do
          [ -f "$l" ] && show_failure "$(basename "$l")" "$l" 60
        done
      fi
    done
    ;;
  integration)
    say "integration tests (test/integration)"
    for t in test/integration/*.sh; do
      [ -f "$t" ] || continue
      name=$(basename "$t" .sh)
      t0=$SECONDS
      bash "$t" >"$LOGS/$name.log" 2>&1
      if count_tap "$LOGS/$name.log" $?; then
        echo "ok   integration/$name ($(grep -c '^ok ' "$LOGS/$name.log") checks, $((SECONDS - t0)) s)"
      else
        failures+=("integration/$name"); echo "FAIL integration/$name"; show_failure "integration/$name" "$LOGS/$name.log"
      fi
    done
    ;;
  *)
    echo "unknown suite $suite"; failed=$((failed + 1)) ;;
  esac
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
