/*-------------------------------------------------------------------------
 *
 * jobs_sql.c
 *	  SQL-callable pieces of the job engine: parameter checks at submit
 *	  time (params.c does the checking), waking the workers on commit,
 *	  whether a worker serves this database, the calling role, and the
 *	  kinds the worker serves with their params keys and flags (read from
 *	  the registry, kinds.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/varlena.h"

#include "util/pathsafe.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

static bool WakePending = false;
static bool XactCallbackRegistered = false;

static void WakeOnCommit(XactEvent event, void *arg);

PG_FUNCTION_INFO_V1(mlops_validate_job);

/*
 * mlops_validate_job checks the parameters of the kinds the worker serves,
 * for the calling role (the job's owner-to-be), or the owner given: known keys only, paths in
 * its file areas, credentials granted to it.  Other kinds (for external
 * workers) only need an object without secrets.
 */
Datum
mlops_validate_job(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *params = PG_GETARG_JSONB_P(1);
	const JobKind *k = mlops_find_kind(kind);

	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job params must be a JSON object")));
	mlops_reject_secrets(params);
	if (k != NULL)
	{
		mlops_check_keys(params, k->name, k->keys);
		/* mlops.validate_job_for names the owner (a pipeline step of its run) */
		k->validate(params, PG_NARGS() > 2 ? PG_GETARG_OID(2) : GetOuterUserId());
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(mlops_worker_kinds);

/*
 * mlops_worker_kinds returns the kinds the background worker serves, read
 * from the registry (kinds.c): the one list of them.
 */
Datum
mlops_worker_kinds(PG_FUNCTION_ARGS)
{
	int			n = mlops_job_kind_count();
	Datum	   *names = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		names[i] = CStringGetTextDatum(mlops_job_kinds[i]->name);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(mlops_job_kinds_sql);

/*
 * mlops_job_kinds_sql returns one row per kind of the registry (kinds.c):
 * its name, the params keys it accepts (in the order the registry lists
 * them, as the refusal of an unknown key does), whether it is a transfer
 * and whether it takes a session.
 */
Datum
mlops_job_kinds_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; mlops_job_kinds[i] != NULL; i++)
	{
		const JobKind *k = mlops_job_kinds[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		Datum	   *keys;
		int			nkeys = 0;

		while (k->keys[nkeys] != NULL)
			nkeys++;
		keys = palloc(sizeof(Datum) * Max(nkeys, 1));
		for (int j = 0; j < nkeys; j++)
			keys[j] = CStringGetTextDatum(k->keys[j]);
		values[0] = CStringGetTextDatum(k->name);
		values[1] = PointerGetDatum(construct_array(keys, nkeys, TEXTOID, -1, false, TYPALIGN_INT));
		values[2] = BoolGetDatum(mlops_kind_uses_transfer(k));
		values[3] = BoolGetDatum(k->uses_session);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * WakeOnCommit sets the workers' latches once the transaction that queued
 * work has committed: one SetLatch per worker, however many jobs it queued.
 */
static void
WakeOnCommit(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (WakePending)
				mlops_shmem_wake_all();
			WakePending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			WakePending = false;
			break;
		default:
			break;
	}
}

/* mlops_wake_on_commit: the workers' latches are set when this transaction commits. */
void
mlops_wake_on_commit(void)
{
	if (!XactCallbackRegistered)
	{
		RegisterXactCallback(WakeOnCommit, NULL);
		XactCallbackRegistered = true;
	}
	WakePending = true;
}

PG_FUNCTION_INFO_V1(mlops_wake_workers);
Datum
mlops_wake_workers(PG_FUNCTION_ARGS)
{
	mlops_wake_on_commit();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(mlops_worker_running);

/*
 * mlops_worker_running: a worker process is alive and this is the database
 * it serves.
 */
Datum
mlops_worker_running(PG_FUNCTION_ARGS)
{
	const char *db = GetConfigOption("mlops.database_name", true, false);

	if (db == NULL || strcmp(db, get_database_name(MyDatabaseId)) != 0)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(mlops_shmem_worker_alive());
}

PG_FUNCTION_INFO_V1(mlops_calling_role);

/*
 * mlops_calling_role returns the role the session acts as (SET ROLE
 * included), which SECURITY DEFINER functions do not change.  The worker
 * sets it to a job's submitter while it runs an sql job.
 */
Datum
mlops_calling_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
