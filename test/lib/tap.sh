# test/lib/tap.sh — a few TAP helpers for the bash integration tests.
#
#   ok COND_STATUS NAME      ok 0 "name" passes; any other status fails
#   is GOT WANT NAME         string equality, showing both on failure
#   done_testing             prints the plan and exits 1 if anything failed

TAP_N=0
TAP_FAILED=0

ok() {
  TAP_N=$((TAP_N + 1))
  if [ "$1" = 0 ]; then
    echo "ok $TAP_N - $2"
  else
    echo "not ok $TAP_N - $2"
    TAP_FAILED=$((TAP_FAILED + 1))
  fi
}

is() {
  TAP_N=$((TAP_N + 1))
  if [ "$1" = "$2" ]; then
    echo "ok $TAP_N - $3"
  else
    echo "not ok $TAP_N - $3"
    echo "#   got:  '$1'"
    echo "#   want: '$2'"
    TAP_FAILED=$((TAP_FAILED + 1))
  fi
}

done_testing() {
  echo "1..$TAP_N"
  [ "$TAP_FAILED" -eq 0 ]
  exit $?
}

# poll_sql SQL WANT [SECONDS]: repeat SQL (psql -Atc) until it prints WANT; 0 when it did.
poll_sql() {
  local deadline=$((SECONDS + ${3:-30})) got
  while [ $SECONDS -lt "$deadline" ]; do
    got=$(psql -XAtqc "$1" 2>/dev/null)
    [ "$got" = "$2" ] && return 0
    sleep 0.1
  done
  echo "# poll_sql: '$1' printed '$got', not '$2'"
  return 1
}
