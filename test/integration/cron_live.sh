#!/usr/bin/env bash
# cron_live.sh — pg_cron really runs a metric schedule: '* * * * *' for a good model and for a
# model whose newest row is malformed.  Within 120 seconds a metric_values row appears for the
# first and cron.job_run_details records the second's failure with pg_mlops' error, as does
# metrics_executions.last_error; a second tick stores no copy of the same value.  Also checks
# that compute_metric sends NOTIFY mlops_metrics with a JSON payload.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
. test/lib/tap.sh

cluster_start || exit 1
psql -XAtq -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' \
  -f test/data/metrics_sample.sql >/dev/null
ok $? "extension and sample data installed"

good=00000000-0000-0000-0000-00000000000a
bad=00000000-0000-0000-0000-00000000000c
psql -XAtq -v ON_ERROR_STOP=1 \
  -c "SELECT mlops.schedule_metric('$good', '* * * * *', 'f1')" \
  -c "SELECT mlops.schedule_metric('$bad', '* * * * *')" >/dev/null
ok $? "two models scheduled every minute"

# NOTIFY: psql prints notifications received during a command
out=$(psql -Xq -c 'LISTEN mlops_metrics' -c "SELECT 1 FROM mlops.compute_metric('00000000-0000-0000-0000-00000000000b')" 2>&1)
# ids only: every role that listens gets the notification, the value is read through RLS
echo "$out" | grep -q 'Asynchronous notification "mlops_metrics" with payload "{"id" : [0-9]*, "model_id" : "00000000-0000-0000-0000-00000000000b"}"'
status=$?
ok $status "compute_metric sends NOTIFY mlops_metrics with a JSON payload of ids only"
[ $status -eq 0 ] || echo "$out" | sed 's/^/# /'

started=$SECONDS
poll_sql "SELECT count(*) > 0 FROM mlops.metric_values WHERE model_id = '$good'" t 120
ok $? "pg_cron computed the scheduled metric (after $((SECONDS - started)) s)"
is "$(psql -XAtc "SELECT metric || ' ' || value || ' ' || source_row_id FROM mlops.metric_values WHERE model_id = '$good' ORDER BY id LIMIT 1")" \
   "f1 0.8 3" "the stored value is f1 of the newest row (ties broken by the highest id)"
poll_sql "SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
          WHERE j.jobname = 'mlops_metric_$bad' AND d.status = 'failed'" t 120
ok $? "the malformed model's run failed in cron.job_run_details"
psql -XAtc "SELECT d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid)
            WHERE j.jobname = 'mlops_metric_$bad' AND d.status = 'failed' LIMIT 1" | grep -q 'different lengths: 3 and 2'
ok $? "its return message is pg_mlops' error"
is "$(psql -XAtc "SELECT count(*) FROM mlops.metric_values WHERE model_id = '$bad'")" 0 "nothing stored for the malformed model"
is "$(psql -XAtc "SELECT status FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'mlops_metric_$good' ORDER BY runid LIMIT 1")" \
   succeeded "the good model's run succeeded"
is "$(psql -XAtc "SELECT (last_run_at IS NOT NULL) || ' ' || coalesce(last_error, '-') FROM mlops.metrics_executions WHERE model_id = '$good'")" \
   "true -" "the good schedule's last_run_at is set and its last_error empty"
psql -XAtc "SELECT last_error FROM mlops.metrics_executions WHERE model_id = '$bad' AND last_run_at IS NOT NULL" | grep -q 'different lengths: 3 and 2'
ok $? "the malformed model's schedule keeps the error of its last run in last_error"
# a second tick finds the same newest row and the same value: nothing new is stored
poll_sql "SELECT count(*) >= 2 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
          WHERE j.jobname = 'mlops_metric_$good' AND d.status = 'succeeded'" t 130
ok $? "the good model's schedule ran a second time"
is "$(psql -XAtc "SELECT count(*) FROM mlops.metric_values WHERE model_id = '$good'")" 1 "the second tick stored no copy of the same value"

done_testing
