#!/usr/bin/env bash
# http_kinds.sh — the http and geocode job kinds against a local JSON
# API (test/integration/http_fixture.py, on 127.0.0.1, stopped by PID with the cluster) that
# records every request, as a role with only the grants of docs/security.md:
# a POST that starts a run, then polls of its status URL until it is done (a 429 with
# Retry-After on the way is waited out); the bearer token of a granted credential arrives on
# every request and the User-Agent names the deployment; fail_if ends a remote failure with the
# remote's message; cancel_job ends a job within a second while it waits between polls; the
# poll timeout; an answer over mlops.max_job_result_size; a redirect outside
# mlops.allowed_hosts; the secret in no table and no log.  Geocoding: two jobs on the two
# workers (mlops.max_transfers = 1 sends the second job to the other worker) keep to
# mlops.geocode_rate (1/s) together; a rerun costs no request; a 429's Retry-After is waited
# out; the User-Agent names the deployment; an empty mlops.user_agent is refused; a role sees
# only its own cached answers and gets no answer from another role's cache; cancel_job ends a
# job within a second while a point waits for its slot.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start --conf "mlops.allowed_hosts = '127.0.0.1:*'" \
              --conf "mlops.user_agent = 'pg_mlops tests (ops@example.org)'" \
              --conf "mlops.workers = 2" --conf "mlops.max_transfers = 1" || exit 1
FIX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_httpfix.XXXXXX")
SERVER_DIRS+=("$FIX_DIR")
REQLOG="$FIX_DIR/requests.jsonl"
: > "$REQLOG"
/usr/bin/python3 test/integration/http_fixture.py "$REQLOG" > "$FIX_DIR/port" 2>"$FIX_DIR/err" &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^port ' "$FIX_DIR/port" && break; sleep 0.05; done
API="http://127.0.0.1:$(sed -n 's/^port //p' "$FIX_DIR/port")"
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed, fixture API at $API"

readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
readme_grants application app caller | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
readme_grants application app other | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT mlops.set_credential('svc', 'http', '{"url": "$API/api/", "bearer_token": "sekrit-token-42"}');
SELECT mlops.grant_credential('svc', 'caller');
SQL
ok $? "role caller with the grants of docs/security.md; credential svc (bearer) granted to it"

submit() {  # submit PARAMS -> job id, an http job of caller
  psql -XAtq -U caller -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('http', '$1'::jsonb, max_attempts => 1)"
}
finish() {  # finish ID [ROLE] -> "state|error|result"
  psql -XAtq -U "${2:-caller}" -c "SELECT mlops.wait_job($1, '90 seconds')" >/dev/null
  psql -XAtc "SELECT state || '|' || coalesce(error, '') || '|' || coalesce(result::text, '') FROM mlops.jobs WHERE id = $1"
}
res() { /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read().split("|",2)[2]); print(eval(sys.argv[1], {"r": r}))' "$1"; }
requests_for() {  # requests_for PATH_PREFIX -> the log lines for that path
  grep -F "\"path\": \"$1" "$REQLOG"
}

# --- a run started with a POST, then polled until it is done
id=$(submit '{"url": "'"$API"'/api/runs", "body": {"model": "m1"}, "credential": "svc",
  "headers": {"X-Project": "p1"},
  "poll": {"url": "'"$API"'/api/runs/{id}", "until": {"path": "status", "in": ["done", "failed"]},
           "fail_if": {"path": "status", "equals": "failed", "message": "error"},
           "interval": "300ms", "backoff": 1.5, "max_interval": "1s", "timeout": "60s"}}')
out=$(finish "$id")
is "${out%%|*}" succeeded "poll: the job succeeds once the status is done"
is "$(res 'r["body"]["status"], r["body"]["output"]["sites"], r["http_status"]' <<<"$out")" "('done', 3, 200)" \
   "poll: the last answer is the result"
is "$(res 'r["polls"] >= 5, r["throttled"], r["requests"] == r["polls"] + 1' <<<"$out")" "(True, 1, True)" \
   "poll: five polls answered, one 429 waited out, every request counted"
/usr/bin/python3 - "$REQLOG" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if '"/api/runs' in l]
post = [r for r in reqs if r["method"] == "POST"]
gets = [r for r in reqs if r["method"] == "GET" and r["path"] == "/api/runs/m1"]
assert len(post) == 1 and json.loads(post[0]["body"]) == {"model": "m1"}, post
assert post[0]["headers"]["content-type"] == "application/json"
assert all(r["headers"].get("authorization") == "Bearer sekrit-token-42" for r in post + gets), "auth header"
assert all(r["headers"].get("x-project") == "p1" for r in post + gets), "params.headers"
assert all(r["headers"]["user-agent"].startswith("pg_mlops tests (ops@example.org) pg_mlops/") for r in post + gets)
assert all("content-type" not in r["headers"] for r in gets), "a poll sends no body"
# the 429 (the first GET) said Retry-After: 1
assert gets[1]["time"] - gets[0]["time"] >= 0.95, gets[1]["time"] - gets[0]["time"]
# backoff: the waits grow (300 ms, 450 ms, 675 ms, then at most 1 s)
waits = [b["time"] - a["time"] for a, b in zip(gets[1:], gets[2:])]
assert all(w >= 0.25 for w in waits) and waits[-1] > waits[0] + 0.2, waits
assert max(waits) < 1.6, waits
print("# after the 429: %.2f s; waits between polls: %s" % (gets[1]["time"] - gets[0]["time"], ", ".join("%.2f" % w for w in waits)))
PY
ok $? "fixture: one POST with the JSON body, the bearer token, params.headers and the deployment's User-Agent on every request; Retry-After and the backoff kept"

# --- a remote failure ends the job failed with the remote's message
id=$(submit '{"url": "'"$API"'/api/runs", "body": {"model": "bad"}, "credential": "svc",
  "poll": {"url": "'"$API"'/api/runs/{id}", "until": {"path": "status", "in": ["done"]},
           "fail_if": {"path": "status", "equals": "failed", "message": "error"}, "interval": 0.2}}')
out=$(finish "$id")
is "${out%%|*}" failed "fail_if: the job fails"
grep -q "the remote reported a failure (poll [0-9]*, http status 200): model exploded" <<<"$out"
ok $? "fail_if: the error carries the remote's message"

# --- cancel_job while the job waits between polls
id=$(submit '{"url": "'"$API"'/api/runs", "body": {"model": "slow"}, "credential": "svc",
  "poll": {"url": "'"$API"'/api/runs/{id}", "until": {"path": "status", "equals": "done"},
           "interval": "30s", "timeout": "10m"}}')
poll_sql "SELECT progress_message LIKE 'poll 1%' FROM mlops.jobs WHERE id = $id" t 30
ok $? "progress: the job reports its polls"
start=$(date +%s.%N)
psql -XAtq -U caller -c "SELECT mlops.cancel_job($id)" >/dev/null
poll_sql "SELECT state FROM mlops.jobs WHERE id = $id" cancelled 10
took=$(echo "$(date +%s.%N) - $start" | bc)
ok $([ "$(echo "$took < 1.0" | bc)" = 1 ] && echo 0 || echo 1) "cancel: the job ends within a second while it sleeps 30 s between polls (${took}s)"

# --- the poll timeout
id=$(submit '{"url": "'"$API"'/api/runs/slow", "credential": "svc",
  "poll": {"until": {"path": "status", "equals": "done"}, "interval": "200ms", "timeout": "2s"}}')
out=$(finish "$id")
grep -q '^failed|polling timed out after [0-9]* polls .*the last value was running' <<<"$out"
ok $? "timeout: polling stops at params.poll.timeout with the last value ($(cut -c1-90 <<<"$out"))"

# --- status_in, a plain GET without a credential (no Authorization sent), a text answer
: > "$REQLOG"
out=$(finish "$(submit '{"url": "'"$API"'/api/text", "poll": {"until": {"status_in": [200]}}}')")
is "$(res 'r["body"], r["body_text"], r["polls"]' <<<"$out")" "(None, 'plain words', 1)" \
   "status_in: one poll; a text answer kept as body_text"
grep -qi '"authorization"' "$REQLOG"
ok $((1 - $?)) "no credential: no Authorization header"

# --- a JSON scalar as the body, with PUT
out=$(finish "$(submit '{"url": "'"$API"'/api/put", "method": "PUT", "body": "just text"}')")
is "$(res 'r["body"]["got"], r["body"]["content_type"]' <<<"$out")" "('\"just text\"', 'application/json')" \
   "a scalar body is sent as JSON text with PUT"

# --- bounds and the network policy
out=$(finish "$(submit '{"url": "'"$API"'/api/big"}')")
is "$(cut -d'|' -f1-2 <<<"$out")" "failed|the answer is larger than mlops.max_job_result_size (1024 kB)" \
   "an answer over mlops.max_job_result_size fails the job"
out=$(finish "$(submit '{"url": "'"$API"'/api/away", "credential": "svc"}')")
grep -q '^failed|request 1 failed: redirect to "http://192.0.2.1/api/runs" refused' <<<"$out"
ok $? "a redirect outside mlops.allowed_hosts is refused ($(cut -c1-100 <<<"$out"))"
err=$(psql -XAtq -U caller -c "SELECT mlops.submit_job('http', '{\"url\": \"http://192.0.2.1/x\"}')" 2>&1)
grep -q 'URL is not allowed: host "192.0.2.1:80" is not in mlops.allowed_hosts' <<<"$err"
ok $? "submit: a host outside mlops.allowed_hosts is refused"
err=$(psql -XAtq -U caller -c "SELECT mlops.submit_job('http', '{\"url\": \"http://127.0.0.1:1/other\", \"credential\": \"svc\"}')" 2>&1)
grep -q 'params.url is not under the url of credential "svc"' <<<"$err"
ok $? "submit: a credential is sent only under its own url"

# --- the secret stays out of tables and logs
n=$(psql -XAtc "SELECT count(*) FROM mlops.jobs WHERE params::text LIKE '%sekrit%' OR result::text LIKE '%sekrit%' OR error LIKE '%sekrit%'")
is "$n" 0 "the bearer token is in no job's params, result or error"
grep -q sekrit "$CLUSTER_LOG"
ok $((1 - $?)) "the bearer token is not in the server log"

# --- geocode
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT mlops.set_credential('geo', 'http', '{"url": "$API/", "key": "k3y-secret"}');
SELECT mlops.grant_credential('geo', 'caller');
SELECT mlops.grant_credential('geo', 'other');
SQL
geo() {  # geo ROLE POINTS -> job id
  psql -XAtq -U "$1" -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('geocode', '{\"credential\": \"geo\", \"zoom\": 18, \"points\": $2}'::jsonb, max_attempts => 1)"
}
PTS_A='[{"id": "a1", "lon": 10.1, "lat": 50.1}, {"id": "a2", "lon": 10.2, "lat": 50.2}, {"id": "a3", "lon": 10.3, "lat": 50.3}]'
PTS_B='[{"id": 1, "lon": 11.1, "lat": 51.1}, {"id": 2, "lon": 11.2, "lat": 51.2}, {"id": 3, "lon": 11.3, "lat": 51.3}]'
: > "$REQLOG"
ja=$(geo caller "$PTS_A"); jb=$(geo caller "$PTS_B")
outa=$(finish "$ja"); outb=$(finish "$jb")
is "${outa%%|*} ${outb%%|*}" "succeeded succeeded" "geocode: two jobs of three points each succeed"
[ "${outa%%|*}" = succeeded ] || echo "# $(cut -d'|' -f1-2 <<<"$outa" | cut -c1-300)"
is "$(psql -XAtc "SELECT count(DISTINCT worker_pid) FROM mlops.jobs WHERE id IN ($ja, $jb)")" 2 \
   "geocode: the two jobs ran on the two workers"
is "$(res '[(p["id"], p["display_name"], p["address"]["country"], p["from_cache"]) for p in r["points"]][:2], r["requests"], r["from_cache"]' <<<"$outb")" \
   "([(1, 'Place at 51.10000, 11.10000', 'Testland', False), (2, 'Place at 51.20000, 11.20000', 'Testland', False)], 3, 0)" \
   "geocode: each point with its id, display_name, address and from_cache, in the order given"
/usr/bin/python3 - "$REQLOG" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if '"/reverse' in l]
assert len(reqs) == 6, len(reqs)
times = sorted(r["time"] for r in reqs)
gaps = [b - a for a, b in zip(times, times[1:])]
assert min(gaps) >= 1.0, gaps
ua = {r["headers"]["user-agent"] for r in reqs}
assert len(ua) == 1 and ua.pop().startswith("pg_mlops tests (ops@example.org) pg_mlops/"), ua
assert all("key=k3y-secret" in r["path"] and "format=jsonv2" in r["path"] and "zoom=18" in r["path"] for r in reqs)
print("# gaps between requests: " + ", ".join("%.2f" % g for g in gaps))
PY
ok $? "geocode: 6 requests from two workers at least 1 s apart (mlops.geocode_rate = 1), the deployment's User-Agent and the credential's key on each"
: > "$REQLOG"
out=$(finish "$(geo caller "$PTS_B")")
is "$(res 'r["requests"], r["from_cache"], [p["from_cache"] for p in r["points"]]' <<<"$out") $(grep -c reverse "$REQLOG")" \
   "(0, 3, [True, True, True]) 0" "geocode: a rerun is answered from the cache, no request"
out=$(finish "$(geo caller '[{"id": "near", "lon": 11.100001, "lat": 51.100004}]')")
is "$(res 'r["requests"], r["points"][0]["from_cache"]' <<<"$out")" "(0, True)" \
   "geocode: coordinates equal to 5 decimals share a cache entry"
: > "$REQLOG"
out=$(finish "$(geo caller '[{"id": "t", "lon": 13.0, "lat": 13.13}]')")
/usr/bin/python3 - "$REQLOG" <<'PY'
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if '"/reverse' in l]
assert len(t) == 2 and t[1] - t[0] >= 2.0, t
PY
ok $? "geocode: a 429 with Retry-After: 2 is waited out (2 s) and the point asked again"
is "$(res 'r["throttled"], r["requests"], r["points"][0]["display_name"]' <<<"$out")" "(1, 2, 'Place at 13.13000, 13.00000')" \
   "geocode: the throttled point is answered"
# privacy: other's cache is its own
out=$(finish "$(geo other "$PTS_B")" other)
is "$(res 'r["requests"], r["from_cache"]' <<<"$out")" "(3, 0)" "geocode: another role's points are not answered from caller's cache"
is "$(psql -XAtq -U other -c 'SELECT count(*), count(*) FILTER (WHERE owner::text <> current_user) FROM mlops.geocode_cache')" "3|0" \
   "geocode: a role sees only its own cached answers (row-level security)"
err=$(psql -XAtq -U other -c "SELECT count(*) FROM mlops.geocode_pacing" 2>&1)
grep -q "permission denied" <<<"$err"
ok $? "geocode: the pacing table is the worker's"
err=$(psql -XAtq -U other -c "SELECT mlops.worker_geocode_store(10, 'x', 1, 1, '{}')" 2>&1)
grep -q "permission denied" <<<"$err"
ok $? "geocode: a role cannot write the cache through the worker's functions"
# cancel_job while a point waits for its slot; params.endpoint instead of a credential
id=$(psql -XAtq -U caller -v ON_ERROR_STOP=1 -c "SELECT mlops.submit_job('geocode', '{\"endpoint\": \"$API\", \"points\": [{\"id\": 1, \"lon\": 20.1, \"lat\": 20.1}, {\"id\": 2, \"lon\": 20.2, \"lat\": 20.2}, {\"id\": 3, \"lon\": 20.3, \"lat\": 20.3}, {\"id\": 4, \"lon\": 20.4, \"lat\": 20.4}]}')")
poll_sql "SELECT progress_message LIKE 'point 2 of 4%' FROM mlops.jobs WHERE id = $id" t 30
ok $? "geocode: progress counts the points"
start=$(date +%s.%N)
psql -XAtq -U caller -c "SELECT mlops.cancel_job($id)" >/dev/null
poll_sql "SELECT state FROM mlops.jobs WHERE id = $id" cancelled 10
took=$(echo "$(date +%s.%N) - $start" | bc)
ok $([ "$(echo "$took < 1.0" | bc)" = 1 ] && echo 0 || echo 1) "geocode: cancel_job ends the job within a second (${took}s)"
is "$(psql -XAtc "SELECT count(*) FROM mlops.geocode_cache WHERE endpoint = '$API/' AND lon >= 20")" 1 \
   "geocode: params.endpoint works; the cancelled job cached only what it asked"
# answers past mlops.geocode_cache_max_age are deleted by the worker's periodic pass
psql -XAtq -c "UPDATE mlops.geocode_cache SET fetched_at = now() - interval '31 days' WHERE owner = 'other'::regrole AND lat = 51.1" >/dev/null
poll_sql "SELECT count(*) FILTER (WHERE lat = 51.1) || '|' || count(*) FROM mlops.geocode_cache WHERE owner = 'other'::regrole" "0|2" 10
ok $? "geocode: an answer older than mlops.geocode_cache_max_age (30 days) is deleted, the others kept"
# an empty mlops.user_agent
psql -XAtq -c "ALTER SYSTEM SET mlops.user_agent = ''" -c "SELECT pg_reload_conf()" >/dev/null
poll_sql "SHOW mlops.user_agent" "" 10
err=$(psql -XAtq -U caller -c "SELECT mlops.submit_job('geocode', '{\"credential\": \"geo\", \"points\": [{\"id\": 1, \"lon\": 1, \"lat\": 1}]}')" 2>&1)
grep -q 'geocode jobs need the setting "mlops.user_agent"' <<<"$err"
ok $? "geocode: refused while mlops.user_agent is empty"
psql -XAtq -c "ALTER SYSTEM RESET mlops.user_agent" -c "SELECT pg_reload_conf()" >/dev/null
n=$(psql -XAtc "SELECT count(*) FROM mlops.jobs WHERE result::text LIKE '%k3y-secret%' OR error LIKE '%k3y-secret%'")
is "$n" 0 "geocode: the credential's key is in no job's result or error"

done_testing
