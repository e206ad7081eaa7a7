#!/usr/bin/env bash
# trainer.sh — the reference external trainer (examples/trainer.py, psycopg2 + scikit-learn) end to
# end: an application role with the grants of docs/security.md submits two `train` jobs; the trainer, a role
# with the "external worker" grants of docs/security.md, claims them, reports progress and one row of
# metrics per epoch, and completes the first with its model path; the second is cancelled
# mid-way and the trainer stops within one heartbeat.  The history is the submitter's alone.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start || exit 1
TRAINER_LOG=$(mktemp "${TMPDIR:-/tmp}/pg_mlops_trainer.XXXXXX")
trap 'cluster_stop; rm -f "$TRAINER_LOG"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null
ok $? "extension installed"
readme_grants() {
  awk -v m="<!-- grants: $1 -->" '$0 == m {f = 1; next} f && /^```sql/ {g = 1; next} g && /^```/ {exit} g {print}' docs/security.md \
    | sed -E "s/\\b$2\\b/$3/g"
}
{ readme_grants application app alice; readme_grants application app bob; readme_grants "external worker" gpu_worker gpu; } \
  | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
ok $? "roles alice and bob (application) and gpu (external worker) with the grants of docs/security.md"

a=$(psql -XAtq -U alice -c "SELECT mlops.submit_job('train', '{\"epochs\": 5, \"dataset\": \"digits\", \"model_path\": \"models/a.pkl\"}')")
b=$(psql -XAtq -U alice -c "SELECT mlops.submit_job('train', '{\"epochs\": 60, \"dataset\": \"iris\", \"epoch_seconds\": 0.2}')")
ok $? "alice submits two train jobs ($a, $b)"

/usr/bin/python3 examples/trainer.py --dsn "user=gpu" --once --lease 10 > "$TRAINER_LOG" 2>&1 &
trainer=$!
poll_sql "SELECT count(*) >= 3 FROM mlops.job_metrics WHERE job_id = $b" t 60
ok $? "the trainer finished job $a and is three epochs into job $b"
psql -XAtq -U alice -c "SELECT mlops.cancel_job($b)" >/dev/null
at_cancel=$(psql -XAtq -c "SELECT count(*) FROM mlops.job_metrics WHERE job_id = $b")
for _ in $(seq 100); do kill -0 $trainer 2>/dev/null || break; sleep 0.1; done
! kill -0 $trainer 2>/dev/null
ok $? "the trainer stops after the cancel and exits (no job left)"
wait $trainer 2>/dev/null
after=$(psql -XAtq -c "SELECT count(*) FROM mlops.job_metrics WHERE job_id = $b")
[ $((after - at_cancel)) -le 1 ]
ok $? "it stopped within one heartbeat: $at_cancel epochs at the cancel, $after in the end"
is "$(psql -XAtq -U alice -c "SELECT state FROM mlops.job_progress WHERE id = $b")" cancelled "job $b ends cancelled"
is "$(psql -XAtq -U alice -c "SELECT state || ' ' || (result ->> 'model_path') || ' ' || (result ->> 'epochs') FROM mlops.job_progress WHERE id = $a")" \
   "succeeded models/a.pkl 5" "job $a succeeded with its model path, alice reads the result"
is "$(psql -XAtq -U alice -c "SELECT string_agg(step::text, ',' ORDER BY step) FROM mlops.job_metrics($a)")" "0,1,2,3,4" \
   "alice reads one row of metrics per epoch"
is "$(psql -XAtq -U alice -c "SELECT bool_and(metrics ?& ARRAY['loss', 'accuracy', 'val_loss', 'val_accuracy']) FROM mlops.job_metrics($a)")" t \
   "each row has loss, accuracy, val_loss and val_accuracy"
v=$(psql -XAtq -U alice -c "SELECT (metrics ->> 'val_accuracy')::float8 > 0.8 FROM mlops.job_metrics($a) WHERE step = 4")
is "$v" t "the digits model reaches a validation accuracy above 0.8 by epoch 5"
is "$(psql -XAtq -U bob -c "SELECT count(*) FROM mlops.job_metrics")" 0 "bob sees none of alice's history"
is "$(psql -XAtq -U gpu -c "SELECT count(*) FROM mlops.job_metrics")" 0 "nor does the trainer, once it has reported"
out=$(psql -XAtq -U bob -c "SELECT mlops.report_metrics($a, gen_random_uuid(), 9, '{\"loss\": 0}')" 2>&1)
grep -q 'ERROR' <<<"$out"
ok $? "bob cannot write into alice's history"
grep -q "job $a: succeeded" "$TRAINER_LOG" && grep -q "job $b: cancelled" "$TRAINER_LOG"
ok $? "the trainer's own log says so" || sed 's/^/# /' "$TRAINER_LOG"

done_testing
