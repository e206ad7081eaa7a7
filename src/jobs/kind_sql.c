/*-------------------------------------------------------------------------
 *
 * kind_sql.c
 *	  Job kind "sql": {"command": "..."} runs in a transaction of its own
 *	  with the privileges of the role that submitted the job, never the
 *	  worker's: the outer role is set to the submitter (so SECURITY DEFINER
 *	  code sees it as the caller), and SET ROLE / SET SESSION AUTHORIZATION
 *	  are refused inside, as in a security-definer function.  The result is
 *	  the number of rows and, for a single value, the value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "jobs/jobs.h"

static void SqlValidate(Jsonb *params);
static JobOutcome SqlRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
						 char **error, bool *retryable);

const JobKind mlops_kind_sql = {"sql", SqlValidate, SqlRun, NULL};

static void
SqlValidate(Jsonb *params)
{
	const char *command = JsonbGetString(params, "command", true, "sql");

	if (command[strspn(command, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.command of an sql job is empty")));
}

/*
 * Retryable: errors that another attempt may not meet (serialization
 * failures, deadlocks, lack of resources, operator intervention).
 */
static bool
RetryableSqlState(int sqlerrcode)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlerrcode);

	return cls == ERRCODE_TRANSACTION_ROLLBACK ||
		cls == ERRCODE_INSUFFICIENT_RESOURCES ||
		cls == ERRCODE_OPERATOR_INTERVENTION ||
		cls == ERRCODE_CONNECTION_EXCEPTION;
}

/*
 * SqlRun runs the command.  Called by the worker outside any transaction.
 */
static JobOutcome
SqlRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	MemoryContext outer = CurrentMemoryContext;
	const char *command = JsonbGetString(job->params, "command", true, "sql");
	Oid			save_userid;
	int			save_sec;
	volatile JobOutcome outcome = JOB_FAILED;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	GetUserIdAndSecContext(&save_userid, &save_sec);
	pgstat_report_activity(STATE_RUNNING, command);

	PG_TRY();
	{
		int			ret;
		StringInfoData buf;

		/* the submitter's privileges, and no way back to ours */
		SetCurrentRoleId(job->submitted_by, superuser_arg(job->submitted_by));
		SetUserIdAndSecContext(job->submitted_by, save_sec | SECURITY_LOCAL_USERID_CHANGE);

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute(command, false, 0);
		if (ret < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("the command failed: %s", SPI_result_code_string(ret))));

		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"rows\": " UINT64_FORMAT ", \"status\": ", SPI_processed);
		escape_json(&buf, SPI_result_code_string(ret) + strlen("SPI_OK_"));
		if (SPI_tuptable != NULL && SPI_processed == 1 && SPI_tuptable->tupdesc->natts == 1)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			appendStringInfoString(&buf, ", \"value\": ");
			if (v)
				escape_json(&buf, v);
			else
				appendStringInfoString(&buf, "null");
		}
		appendStringInfoChar(&buf, '}');
		*result_json = MemoryContextStrdup(outer, buf.data);

		SPI_finish();
		SetUserIdAndSecContext(save_userid, save_sec);
		SetCurrentRoleId(InvalidOid, false);
		PopActiveSnapshot();
		CommitTransactionCommand();
		outcome = JOB_SUCCEEDED;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(outer);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		SetUserIdAndSecContext(save_userid, save_sec);
		SetCurrentRoleId(InvalidOid, false);
		*error = edata->detail
			? psprintf("%s (%s)", edata->message, edata->detail)
			: pstrdup(edata->message);
		*retryable = RetryableSqlState(edata->sqlerrcode);
		FreeErrorData(edata);
		outcome = JOB_FAILED;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return outcome;
}
