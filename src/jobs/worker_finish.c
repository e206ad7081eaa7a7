/*-------------------------------------------------------------------------
 *
 * worker_finish.c
 *	  The worker writes the outcomes of many jobs in one short transaction:
 *	  the transfers that ended in one poll, the transfers that could not
 *	  start in one claimed batch.  Each job is still its own row update
 *	  with its own result or error (mlops.worker_succeed_many for the
 *	  successes, in one statement; mlops.worker_fail for each failure: fenced
 *	  by the attempt the worker claimed, a failed attempt retried with
 *	  backoff), only the commit is shared.  Nothing is reported done before
 *	  that commit.
 *
 *	  When the batch's transaction fails (a trigger's error on one job,
 *	  say), it is rolled back and every outcome is written again in a
 *	  transaction of its own, so one job's error costs no other job its
 *	  outcome; a job whose own update fails is recorded as failed with the
 *	  reason, when even that can be written.
 *
 *	  The statements are planned once per worker process (SPI_keepplan).
 *	  mlops_write_outcomes writes a batch inside the worker's claim
 *	  transaction instead, in a subtransaction (mlops_subxact, which the
 *	  claim and the per-job checks use too).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "jobs/jobs.h"

static void FinishOne(const JobFinish *f);

static SPIPlanPtr SucceedPlan = NULL;
static SPIPlanPtr SucceedManyPlan = NULL;
static SPIPlanPtr FailPlan = NULL;

/*
 * PreparePlans plans worker_succeed and worker_fail once (inside a
 * connected SPI); the plans are kept for the life of the process.
 */
static void
PreparePlans(void)
{
	if (SucceedPlan == NULL)
	{
		Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
		SPIPlanPtr	p = SPI_prepare("SELECT mlops.worker_succeed($1, $2, $3::pg_catalog.jsonb)", 3, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not plan mlops.worker_succeed: %s", SPI_result_code_string(SPI_result));
		SucceedPlan = p;
	}
	if (SucceedManyPlan == NULL)
	{
		Oid			types[3] = {INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID};
		SPIPlanPtr	p = SPI_prepare("SELECT mlops.worker_succeed_many($1, $2, $3::pg_catalog.jsonb[])", 3, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not plan mlops.worker_succeed_many: %s", SPI_result_code_string(SPI_result));
		SucceedManyPlan = p;
	}
	if (FailPlan == NULL)
	{
		Oid			types[4] = {INT8OID, INT4OID, TEXTOID, BOOLOID};
		SPIPlanPtr	p = SPI_prepare("SELECT mlops.worker_fail($1, $2, $3, $4)", 4, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not plan mlops.worker_fail: %s", SPI_result_code_string(SPI_result));
		FailPlan = p;
	}
}

/*
 * WriteOutcome runs the one row update of a job's outcome, inside a
 * transaction with SPI connected.
 */
static void
WriteOutcome(const JobFinish *f)
{
	Datum		args[4];
	int			rc;

	PreparePlans();
	args[0] = Int64GetDatum(f->id);
	args[1] = Int32GetDatum(f->attempt);
	if (f->outcome == JOB_SUCCEEDED)
	{
		args[2] = CStringGetTextDatum(f->result_json ? f->result_json : "{}");
		rc = SPI_execute_plan(SucceedPlan, args, NULL, false, 0);
	}
	else
	{
		args[2] = CStringGetTextDatum(mlops_scrub_paths(f->error ? f->error : "failed"));
		args[3] = BoolGetDatum(f->retryable);
		rc = SPI_execute_plan(FailPlan, args, NULL, false, 0);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not record the outcome of job " INT64_FORMAT ": %s",
			 f->id, SPI_result_code_string(rc));
}

/*
 * WriteOutcomes runs the row updates of n outcomes, inside a transaction
 * with SPI connected: the successes in one statement, each failure in one.
 */
static void
WriteOutcomes(const JobFinish *f, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *attempts = palloc(sizeof(Datum) * n);
	Datum	   *results = palloc(sizeof(Datum) * n);
	Datum		args[3];
	int			nok = 0;
	int			rc;

	PreparePlans();
	for (int i = 0; i < n; i++)
	{
		if (f[i].outcome != JOB_SUCCEEDED)
		{
			WriteOutcome(&f[i]);
			continue;
		}
		ids[nok] = Int64GetDatum(f[i].id);
		attempts[nok] = Int32GetDatum(f[i].attempt);
		results[nok] = CStringGetTextDatum(f[i].result_json ? f[i].result_json : "{}");
		nok++;
	}
	if (nok == 0)
		return;
	args[0] = PointerGetDatum(construct_array(ids, nok, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(attempts, nok, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(results, nok, TEXTOID, -1, false, TYPALIGN_INT));
	rc = SPI_execute_plan(SucceedManyPlan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not record the outcomes of %d jobs: %s", nok, SPI_result_code_string(rc));
}

/*
 * FinishOne writes one job's outcome in a transaction of its own.  When
 * that fails, the error is logged and the attempt is recorded as failed
 * (not retried) with the reason, so the job does not stay running.
 */
static void
FinishOne(const JobFinish *f)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		mlops_begin_tx();
		WriteOutcome(f);
		mlops_end_tx();
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		JobFinish	failed;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("pg_mlops worker could not record the outcome of job " INT64_FORMAT ": %s",
						f->id, edata->message)));
		if (f->outcome == JOB_SUCCEEDED || f->retryable)
		{
			failed = *f;
			failed.outcome = JOB_FAILED;
			failed.retryable = false;
			failed.error = psprintf("could not record the outcome: %s", edata->message);
			/* an error here goes to the worker's loop, which logs it */
			mlops_begin_tx();
			WriteOutcome(&failed);
			mlops_end_tx();
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * mlops_write_outcomes writes n outcomes inside the caller's transaction
 * (SPI connected), in a subtransaction of their own: the worker writes the
 * transfers that ended together with its next claim, one commit for both.
 * True when written; on an error the subtransaction is rolled back (the
 * caller's work stands), the error logged, and false returned: the caller
 * then writes them with mlops_finish_jobs once its transaction has
 * committed.
 */
/*
 * mlops_subxact runs fn(arg) in a subtransaction of the current
 * transaction and returns NULL when it committed; on an error the
 * subtransaction is rolled back (the transaction's earlier work stands)
 * and the error is returned, copied into cxt.  The memory context and the
 * resource owner are the caller's again either way.
 */
ErrorData *
mlops_subxact(void (*fn) (void *arg), void *arg, MemoryContext cxt)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	CurrentResourceOwner = owner;
	return edata;
}

typedef struct OutcomesArgs
{
	const JobFinish *f;
	int			n;
} OutcomesArgs;

static void
WriteOutcomesRun(void *arg)
{
	OutcomesArgs *o = arg;

	WriteOutcomes(o->f, o->n);
}

bool
mlops_write_outcomes(const JobFinish *f, int n)
{
	OutcomesArgs args = {f, n};
	ErrorData  *edata;

	if (n <= 0)
		return true;
	edata = mlops_subxact(WriteOutcomesRun, &args, CurrentMemoryContext);
	if (edata == NULL)
		return true;
	ereport(LOG,
			(errmsg("pg_mlops worker writes %d outcomes apart from its claim: %s", n, edata->message)));
	FreeErrorData(edata);
	return false;
}

/*
 * mlops_finish_jobs writes n outcomes in one transaction (see the top of
 * the file); when it fails, each in a transaction of its own.
 */
void
mlops_finish_jobs(const JobFinish *f, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool failed = false;

	if (n <= 0)
		return;
	if (n == 1)
	{
		FinishOne(&f[0]);
		return;
	}
	PG_TRY();
	{
		mlops_begin_tx();
		WriteOutcomes(f, n);
		mlops_end_tx();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		ereport(LOG,
				(errmsg("pg_mlops worker writes %d outcomes one by one: %s", n, edata->message)));
		FreeErrorData(edata);
		failed = true;
	}
	PG_END_TRY();
	if (failed)
		for (int i = 0; i < n; i++)
			FinishOne(&f[i]);
}
