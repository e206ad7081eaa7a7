/*-------------------------------------------------------------------------
 *
 * kind_sql.c
 *	  Job kind "sql": {"command": "...", "timeout": seconds} runs the
 *	  command in a session of its own, connected as the role that submitted
 *	  the job (sql_session.c), never in the worker's session and never with
 *	  rights the role does not have.  The result is the number of rows and,
 *	  for a single value, the value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "utils/syscache.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

static void SqlValidate(Jsonb *params, Oid owner);
static JobOutcome SqlRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
						 char **error, bool *retryable);

static const char *const SqlKeys[] = {"command", "timeout", NULL};

const JobKind mlops_kind_sql = {
	.name = "sql",
	.keys = SqlKeys,
	.validate = SqlValidate,
	.run = SqlRun,
	.uses_session = true,
};

/*
 * SqlValidate: a command that is not empty, a positive timeout, and an
 * owner that can log in (the job's session connects as it).
 */
static void
SqlValidate(Jsonb *params, Oid owner)
{
	const char *command = JsonbGetString(params, "command", true, "sql");

	if (command[strspn(command, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.command of an sql job is empty")));
	(void) JsonbGetSeconds(params, "timeout", 0, "sql");
	mlops_check_session_owner(owner);
}

/*
 * mlops_check_session_owner refuses an owner that cannot have a session of
 * its own: one that no longer exists or cannot log in.
 */
void
mlops_check_session_owner(Oid owner)
{
	HeapTuple	tup;
	bool		canlogin;
	bool		started = false;

	if (!IsTransactionState())
	{
		StartTransactionCommand();
		started = true;
	}
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the role that submitted the job no longer exists")));
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	if (!canlogin)
	{
		char	   *name = pstrdup(NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot log in, and an sql job runs in a session of its own as its submitter", name),
				 errhint("Submit sql jobs as a role with LOGIN (after SET ROLE, the role set is the submitter).")));
	}
	ReleaseSysCache(tup);
	if (started)
		CommitTransactionCommand();
}

/*
 * SqlRun starts the job's session (the worker checked its params as it
 * claimed it); the outcome comes later, from mlops_sql_sessions_collect.
 */
static JobOutcome
SqlRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	const char *command;
	int			timeout_ms;

	command = JsonbGetString(job->params, "command", true, "sql");
	timeout_ms = JsonbGetSeconds(job->params, "timeout",
								 mlops_sql_job_timeout_s > 0 ? mlops_sql_job_timeout_s * 1000 : 0, "sql");
	if (!mlops_sql_session_start(job, command, timeout_ms, NULL, error, retryable))
		return JOB_FAILED;
	return JOB_STARTED;
}
