/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The pg_mlops background worker: registration from _PG_init and the
 *	  worker's main loop.
 *
 *	  The worker connects to mlops.database_name and serves the mlops.jobs
 *	  queue there: it claims runnable jobs of the kinds it knows in short
 *	  transactions (FOR UPDATE SKIP LOCKED), runs them (sql jobs each in a
 *	  session of its own as their owner, sql_session.c; transfers outside
 *	  any transaction on one libcurl multi handle), and writes each outcome
 *	  in another short transaction, fenced by the attempt it claimed.  Its
 *	  own session never runs a job's command, and its SQL is
 *	  schema-qualified under search_path "pg_catalog, pg_temp".  A periodic pass puts back the jobs of dead workers and of
 *	  expired leases, fails the dependents of failed jobs and deletes old
 *	  ones.  It sleeps on its latch, which a committed submit sets; reloads
 *	  its settings on SIGHUP; stops on SIGTERM; exits when the postmaster
 *	  dies.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ftw.h>
#include <malloc.h>

#include <sys/stat.h>

#include "access/xact.h"
#include "utils/resowner.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/file_perm.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "util/pathsafe.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

/*
 * Seconds before the postmaster restarts a worker that exited with an error
 * (for instance when mlops.database_name does not exist yet).  After a crash
 * the postmaster restarts workers at once, whatever this says.
 */
#define MLOPS_WORKER_RESTART_SECONDS 5

/* How often the periodic pass runs, and progress is written, at most. */
#define MAINTAIN_INTERVAL_MS 1000
#define PROGRESS_INTERVAL_MS 250
#define MAX_RESULTS 32
/* Most transfer jobs claimed in one transaction (ClaimTransfers). */
#define MAX_CLAIM_BATCH 32
/* While sql sessions run, wake at least this often (timeouts, cancels). */
#define SESSION_CHECK_MS 100

PGDLLEXPORT void mlops_worker_main(Datum main_arg);

static void EnsureWorkDir(void);
static bool ExtensionReady(void);
static void Maintain(bool startup);
static bool ClaimAndRun(MemoryContext cxt);
static bool ClaimAndRunGuarded(MemoryContext cxt);
static int	ClaimTransfers(MemoryContext cxt, const JobFinish *ended, int nended);
static bool StartClaimed(ClaimedJob *job, const JobKind *kind, char *error, MemoryContext cxt,
						 JobFinish *out);
static char *CheckClaimed(const JobKind *kind, ClaimedJob *job, MemoryContext cxt);
static void Finish(int64 id, int attempt, JobOutcome outcome, const char *result_json,
				   const char *error, bool retryable);
static int	PollTransfers(MemoryContext cxt);
static int	CollectSessions(void);
static void ReportProgressAndCancels(void);
static void RemoveStaleParts(void);
static int	StalePartVisit(const char *path, const struct stat *st, int flag, struct FTW *ftw);

/* A transfer in flight and the kind that started it. */
typedef struct RunningTransfer
{
	int64		job_id;
	int			attempt;
	const JobKind *kind;
} RunningTransfer;

static transfer_pool *Pool = NULL;
static RunningTransfer *Running = NULL;
static int	NRunning = 0;
static int	RunningCap = 0;
static Datum KindsArray;		/* text[] of the kinds served, in TopMemoryContext */
static Datum TransferKindsArray = (Datum) 0;	/* the transfer kinds among them, or 0 */
static SPIPlanPtr ClaimPlan = NULL;	/* mlops.worker_claim_many, planned once */
static TimestampTz ClaimRetryAt = 0;	/* after a failed claim: no claims before */

/*
 * While sessions or transfers are full, the worker claims the other kinds
 * only; when that found nothing, it does not ask again until a wake-up
 * (mlops_shmem_wakes) or the next maintenance pass (a retry's backoff ends):
 * in a fan-out of sql jobs that empty claim came after every job.
 */
static bool IdleKnown = false;
static int	IdleWhenFull;		/* 1: transfers full, 2: sessions full */
static uint64 IdleWakes;

/* Likewise for ClaimTransfers: it found no transfer job at this many wake-ups. */
static bool TransfersIdle = false;
static uint64 TransfersIdleWakes;

/* The work directory the worker last made sure of, to log changes only. */
static char *CurrentWorkDir = NULL;

/*
 * mlops_register_workers registers mlops.workers background workers.  Only
 * called while shared_preload_libraries is being processed.
 */
void
mlops_register_workers(void)
{
	for (int i = 1; i <= mlops_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
			BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = MLOPS_WORKER_RESTART_SECONDS;
		strlcpy(worker.bgw_library_name, "pg_mlops", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "mlops_worker_main", BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "pg_mlops worker %d", i);
		strlcpy(worker.bgw_type, "pg_mlops worker", BGW_MAXLEN);
		worker.bgw_main_arg = Int32GetDatum(i);
		worker.bgw_notify_pid = 0;

		RegisterBackgroundWorker(&worker);
	}
}

/*
 * mlops_work_dir_path returns mlops.work_dir as an absolute path, palloc'd
 * in the current memory context.  A relative setting is taken under the
 * data directory.
 */
char *
mlops_work_dir_path(void)
{
	if (is_absolute_path(mlops_work_dir))
		return pstrdup(mlops_work_dir);
	return psprintf("%s/%s", DataDir, mlops_work_dir);
}

/*
 * EnsureWorkDir creates the work directory (and its parents) when it is
 * missing, and logs the directory whenever it changes.  A directory that
 * cannot be made is a WARNING, not an exit: restarting would not fix it, and
 * a reload with a better setting should.
 */
static void
EnsureWorkDir(void)
{
	char	   *path = mlops_work_dir_path();
	char	   *made = pstrdup(path);	/* pg_mkdir_p scribbles on it */
	struct stat st;

	if (pg_mkdir_p(made, pg_dir_create_mode) != 0 && errno != EEXIST)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pg_mlops worker could not create work directory \"%s\": %m",
						path),
				 errhint("Check the setting \"mlops.work_dir\" and the permissions of its parent directory.")));
	else if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(WARNING,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("pg_mlops work directory \"%s\" is not a directory", path),
				 errhint("Point \"mlops.work_dir\" at a directory.")));
	else if (CurrentWorkDir == NULL || strcmp(CurrentWorkDir, path) != 0)
	{
		ereport(LOG,
				(errmsg("pg_mlops worker using work directory \"%s\"", path)));
		if (CurrentWorkDir)
			pfree(CurrentWorkDir);
		CurrentWorkDir = MemoryContextStrdup(TopMemoryContext, path);
	}

	pfree(made);
	pfree(path);
}

/*
 * mlops_begin_tx / mlops_end_tx bracket one short transaction with SPI.
 * mlops_end_tx returns to the memory context that was current at
 * mlops_begin_tx (a commit leaves TopMemoryContext current, and whatever
 * the caller allocated next would live as long as the worker).
 */
static MemoryContext TxCallerContext = NULL;

void
mlops_begin_tx(void)
{
	TxCallerContext = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
mlops_end_tx(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	if (TxCallerContext != NULL)
		MemoryContextSwitchTo(TxCallerContext);
	TxCallerContext = NULL;
}

/*
 * ExtensionReady: pg_mlops is installed in this database (until then the
 * worker only waits).
 */
static bool
ExtensionReady(void)
{
	bool		ready;
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	ready = OidIsValid(get_extension_oid("pg_mlops", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);		/* not TopMemoryContext, where the commit left us */
	return ready;
}

/*
 * Maintain runs the periodic pass (mlops.worker_maintain).  At startup it
 * first puts back jobs still marked as running under this process's PID,
 * which can only be leftovers of an earlier process that had the same PID.
 */
static void
Maintain(bool startup)
{
	char		sql[256];

	mlops_begin_tx();
	if (startup)
		SPI_execute("SELECT mlops.finish_failed(j.id, 'the worker running it stopped', true) "
					"FROM mlops.jobs j WHERE j.state OPERATOR(pg_catalog.=) 'running' "
					"AND j.claimed_by OPERATOR(pg_catalog.=) 'worker' "
					"AND j.worker_pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()", false, 0);
	snprintf(sql, sizeof(sql), "SELECT mlops.worker_maintain(pg_catalog.make_interval(secs => %d))",
			 mlops_job_retention_s > 0 ? mlops_job_retention_s : INT_MAX);
	SPI_execute(sql, false, 0);
	if (mlops_run_retention_s > 0)
	{
		snprintf(sql, sizeof(sql), "SELECT mlops.worker_maintain_runs(pg_catalog.make_interval(secs => %d))",
				 mlops_run_retention_s);
		SPI_execute(sql, false, 0);
	}
	mlops_end_tx();
}

/*
 * RemoveStaleParts' nftw callback state: the work directory's path and the
 * kinds that own ".part" files (a text[], or 0 when none does).
 */
static const char *StaleDir = NULL;
static Datum StaleKinds = (Datum) 0;

/*
 * PartOwnedBy says whether the ".part" file at path is one that a job
 * owning full (an absolute path) writes: "<full>.part", "<full>.old.part"
 * or a file under the folder "<full>.part/".
 */
static bool
PartOwnedBy(const char *path, const char *full)
{
	size_t		fl = strlen(full);
	const char *rest = path + fl;

	if (strncmp(path, full, fl) != 0)
		return false;
	return strcmp(rest, ".part") == 0 || strcmp(rest, ".old.part") == 0 ||
		strncmp(rest, ".part/", 6) == 0;
}

/*
 * StalePartVisit removes one "*.part" file unless a running job owns it: a
 * job of a kind with an owned_path (the registry, kinds.c) whose path is
 * the file's.  The check runs per file with a fresh snapshot, so a job
 * that another worker started a moment ago keeps its file.
 */
static int
StalePartVisit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t		len = strlen(path);
	size_t		dirlen = strlen(StaleDir);
	Datum		args[1];
	Oid			types[1] = {TEXTARRAYOID};

	if (flag != FTW_F || strncmp(path, StaleDir, dirlen) != 0 || path[dirlen] != '/')
		return 0;
	/* the list and stat jobs' scratch files, "<job id>.xml" and "<job id>.head" (and .part) */
	if (strncmp(path + dirlen, "/.list/", 7) == 0)
	{
		Oid			idtype[1] = {INT8OID};
		Datum		id[1];

		id[0] = Int64GetDatum(strtoi64(path + dirlen + 7, NULL, 10));
		SPI_execute_with_args("SELECT 1 FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) $1 "
							  "AND j.state OPERATOR(pg_catalog.=) 'running'", 1, idtype, id, NULL, false, 1);
		if (SPI_processed == 0)
			(void) unlink(path);
		return 0;
	}
	if (len < 5 || strcmp(path + len - 5, ".part") != 0)
		return 0;
	if (StaleKinds != (Datum) 0)
	{
		SPITupleTable *tuptable;
		uint64		n;

		args[0] = StaleKinds;
		SPI_execute_with_args("SELECT j.submitted_by, j.kind, j.params FROM mlops.jobs j "
							  "WHERE j.state OPERATOR(pg_catalog.=) 'running' "
							  "AND j.kind OPERATOR(pg_catalog.=) ANY ($1)",
							  1, types, args, NULL, false, 0);
		tuptable = SPI_tuptable;
		n = SPI_processed;
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;
			Oid			owner = DatumGetObjectId(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull));
			char	   *kname = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 2);
			Datum		params = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 3, &isnull);
			const JobKind *kind = kname ? mlops_find_kind(kname) : NULL;
			const char *p;
			char	   *full;
			bool		denied;

			if (kind == NULL || kind->owned_path == NULL || isnull)
				continue;
			p = kind->owned_path(DatumGetJsonbP(params));
			if (p && mlops_resolve_path(owner, p, &full, &denied) == NULL && PartOwnedBy(path, full))
				return 0;		/* a running job's file */
		}
	}
	if (unlink(path) == 0)
		ereport(LOG,
				(errmsg("pg_mlops worker removed \"%s\", left by a job that did not finish", path)));
	return 0;
}

/*
 * RemoveStaleParts deletes, at startup, the "*.part" files that jobs of a
 * worker that died left behind: those no running job owns; and the scratch
 * files of list and stat jobs that are not running.  Symbolic links are not
 * followed.  (A download that is retried truncates its file anyway; this
 * removes those of jobs that will not run again.)
 */
static void
RemoveStaleParts(void)
{
	Datum	   *names = palloc(sizeof(Datum) * mlops_job_kind_count());
	int			n = 0;

	for (int i = 0; mlops_job_kinds[i] != NULL; i++)
		if (mlops_job_kinds[i]->owned_path != NULL)
			names[n++] = CStringGetTextDatum(mlops_job_kinds[i]->name);
	StaleKinds = n > 0 ? PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT))
		: (Datum) 0;
	StaleDir = mlops_work_dir_path();
	mlops_begin_tx();
	(void) nftw(StaleDir, StalePartVisit, 16, FTW_PHYS);
	mlops_end_tx();
}

/*
 * Finish writes a job's outcome in a short transaction: succeeded, or a
 * failed attempt (retried with backoff while attempts remain).
 */
static void
Finish(int64 id, int attempt, JobOutcome outcome, const char *result_json, const char *error,
	   bool retryable)
{
	Datum		args[4];
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, BOOLOID};

	args[0] = Int64GetDatum(id);
	args[1] = Int32GetDatum(attempt);
	args[3] = BoolGetDatum(retryable);
	mlops_begin_tx();
	if (outcome == JOB_SUCCEEDED)
	{
		args[2] = CStringGetTextDatum(result_json ? result_json : "{}");
		SPI_execute_with_args("SELECT mlops.worker_succeed($1, $2, $3::pg_catalog.jsonb)",
							  3, types, args, NULL, false, 0);
	}
	else
	{
		args[2] = CStringGetTextDatum(mlops_scrub_paths(error ? error : "failed"));
		SPI_execute_with_args("SELECT mlops.worker_fail($1, $2, $3, $4)",
							  4, types, args, NULL, false, 0);
	}
	mlops_end_tx();
}

/*
 * ClaimKinds returns the kinds the worker can take now, as a text[]: not
 * the transfer kinds while mlops.max_transfers transfers run, not the kinds
 * that use a session (sql, export) while mlops.max_sql_jobs sessions run.
 */
static Datum
ClaimKinds(void)
{
	bool		transfers_full = NRunning >= mlops_max_transfers;
	bool		sql_full = mlops_sql_sessions_running() >= mlops_max_sql_jobs;
	Datum	   *names;
	int			n = 0;

	if (!transfers_full && !sql_full)
		return KindsArray;
	names = palloc(sizeof(Datum) * mlops_job_kind_count());
	for (int i = 0; mlops_job_kinds[i] != NULL; i++)
	{
		const JobKind *k = mlops_job_kinds[i];

		if (mlops_kind_uses_transfer(k) && transfers_full)
			continue;
		if (k->uses_session && sql_full)
			continue;
		names[n++] = CStringGetTextDatum(k->name);
	}
	if (n == 0)
		return (Datum) 0;
	return PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * CheckClaimed checks a claimed job's params again, as its owner, inside
 * the claim's transaction: grants, files and settings may have changed since
 * the submit.  A refusal is returned (palloc'd in cxt) and fails the job; a
 * subtransaction keeps the claim itself.
 */
typedef struct CheckArgs
{
	const JobKind *kind;
	ClaimedJob *job;
} CheckArgs;

static void
CheckClaimedRun(void *arg)
{
	CheckArgs  *c = arg;

	mlops_check_keys(c->job->params, c->kind->name, c->kind->keys);
	mlops_reject_secrets(c->job->params);
	c->kind->validate(c->job->params, c->job->submitted_by);
}

static char *
CheckClaimed(const JobKind *kind, ClaimedJob *job, MemoryContext cxt)
{
	CheckArgs	args = {kind, job};
	ErrorData  *edata = mlops_subxact(CheckClaimedRun, &args, cxt);
	char	   *error;

	if (edata == NULL)
		return NULL;
	error = MemoryContextStrdup(cxt, edata->message);
	FreeErrorData(edata);
	return error;
}

/*
 * ClaimAndRun claims one runnable job and runs it (or starts its transfer
 * or its session).  False when there was nothing to claim.  The job's
 * params are checked again, as its owner, before it runs: grants, files and
 * settings may have changed since it was submitted.
 */
static bool
ClaimAndRun(MemoryContext cxt)
{
	Datum		args[2];
	Oid			types[2] = {TEXTARRAYOID, INT4OID};
	ClaimedJob	job;
	const JobKind *kind;
	char	   *error = NULL;
	bool		isnull;
	Datum		kinds = ClaimKinds();
	int			full = (NRunning >= mlops_max_transfers ? 1 : 0) |
		(mlops_sql_sessions_running() >= mlops_max_sql_jobs ? 2 : 0);
	uint64		wakes = mlops_shmem_wakes();	/* before the claim: a later wake-up is seen */

	if (kinds == (Datum) 0 || GetCurrentTimestamp() < ClaimRetryAt)
		return false;
	if (full != 0 && IdleKnown && IdleWhenFull == full && IdleWakes == wakes)
		return false;
	args[0] = kinds;
	args[1] = Int32GetDatum(MyProcPid);

	mlops_begin_tx();
	SPI_execute_with_args("SELECT c.id, c.kind, c.params, c.submitted_by, c.attempts, c.max_attempts "
						  "FROM mlops.worker_claim($1, $2) c", 2, types, args, NULL, false, 1);
	if (SPI_processed == 1)
		job.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (SPI_processed != 1 || isnull)
	{
		mlops_end_tx();
		IdleKnown = full != 0;
		IdleWhenFull = full;
		IdleWakes = wakes;
		return false;
	}
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		job.kind = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		job.params = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		job.submitted_by = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
		job.attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
		job.max_attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
		MemoryContextSwitchTo(old);
	}
	mlops_params_forget();
	kind = mlops_find_kind(job.kind);
	if (kind != NULL)
		error = CheckClaimed(kind, &job, cxt);
	mlops_end_tx();
	MemoryContextSwitchTo(cxt);

	{
		JobFinish	f;

		if (StartClaimed(&job, kind, error, cxt, &f))
			Finish(f.id, f.attempt, f.outcome, f.result_json, f.error, f.retryable);
	}
	return true;
}

/*
 * StartClaimed runs a claimed job, outside any transaction: a transfer
 * starts and joins Running; a job that ended at once (or that its check
 * refused: error, or an unknown kind) fills *out, and the caller writes
 * it.  True when *out is to be written.
 */
static bool
StartClaimed(ClaimedJob *job, const JobKind *kind, char *error, MemoryContext cxt, JobFinish *out)
{
	char	   *result_json = NULL;
	bool		retryable = false;
	volatile JobOutcome outcome;

	out->id = job->id;
	out->attempt = job->attempts;
	out->result_json = NULL;
	out->retryable = false;
	out->outcome = JOB_FAILED;
	if (kind == NULL || error != NULL)
	{
		out->error = error ? error : psprintf("unknown job kind \"%s\"", job->kind);
		return true;
	}

	/* a kind's run may throw: that fails the job, not the worker */
	PG_TRY();
	{
		outcome = kind->run(job, Pool, &result_json, &error, &retryable);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (IsTransactionState())
			AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		error = pstrdup(edata->message);
		retryable = false;
		outcome = JOB_FAILED;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);

	if (outcome == JOB_STARTED && kind->transfer_done != NULL)
	{
		if (NRunning >= RunningCap)
		{
			RunningCap = Max(16, RunningCap * 2);
			Running = Running
				? repalloc(Running, sizeof(RunningTransfer) * RunningCap)
				: MemoryContextAlloc(TopMemoryContext, sizeof(RunningTransfer) * RunningCap);
		}
		Running[NRunning].job_id = job->id;
		Running[NRunning].attempt = job->attempts;
		Running[NRunning].kind = kind;
		NRunning++;
		return false;
	}
	if (outcome == JOB_STARTED)
		return false;
	out->outcome = outcome;
	out->result_json = result_json;
	out->error = error;
	out->retryable = retryable;
	return true;
}

/*
 * ClaimFailed logs a claim's error (and frees it), then pauses claims for
 * MAINTAIN_INTERVAL_MS (ClaimRetryAt).
 */
static void
ClaimFailed(ErrorData *edata, const char *what)
{
	ereport(LOG,
			(errcode(edata->sqlerrcode),
			 errmsg("pg_mlops worker could not %s: %s", what, edata->message),
			 edata->context ? errcontext("%s", edata->context) : 0));
	FreeErrorData(edata);
	ClaimRetryAt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), MAINTAIN_INTERVAL_MS);
}

/* ClaimRun: the claim of ClaimTransfers, in a subtransaction of its own (mlops_subxact). */
typedef struct ClaimArgs
{
	Datum	   *args;			/* worker_claim_many's: kinds, pid, max_jobs */
	int			room;
	MemoryContext cxt;			/* where the claimed jobs are copied */
	ClaimedJob *jobs;			/* room of each */
	const JobKind **kinds;
	char	  **errors;
	int			n;				/* out: how many were claimed */
} ClaimArgs;

static void
ClaimRun(void *arg)
{
	ClaimArgs  *c = arg;
	Oid			types[3] = {TEXTARRAYOID, INT4OID, INT4OID};
	SPITupleTable *tt;
	MemoryContext old;

	if (ClaimPlan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT c.id, c.kind, c.params, c.submitted_by, c.attempts, c.max_attempts "
									"FROM mlops.worker_claim_many($1, $2, $3) c", 3, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not plan mlops.worker_claim_many: %s", SPI_result_code_string(SPI_result));
		ClaimPlan = p;
	}
	if (SPI_execute_plan(ClaimPlan, c->args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not claim transfer jobs: %s", SPI_result_code_string(SPI_result));
	if (SPI_processed > (uint64) c->room)
		elog(ERROR, "mlops.worker_claim_many returned " UINT64_FORMAT " jobs for %d slots",
			 SPI_processed, c->room);
	tt = SPI_tuptable;
	old = MemoryContextSwitchTo(c->cxt);
	for (int i = 0; i < (int) SPI_processed; i++)
	{
		ClaimedJob *job = &c->jobs[i];
		bool		isnull;

		job->id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		job->kind = TextDatumGetCString(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		job->params = DatumGetJsonbPCopy(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
		job->submitted_by = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
		job->attempts = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 5, &isnull));
		job->max_attempts = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 6, &isnull));
	}
	MemoryContextSwitchTo(old);
	c->n = (int) SPI_processed;
	mlops_params_forget();
	for (int i = 0; i < c->n; i++)
	{
		c->kinds[i] = mlops_find_kind(c->jobs[i].kind);
		if (c->kinds[i] != NULL)
			c->errors[i] = CheckClaimed(c->kinds[i], &c->jobs[i], c->cxt);
	}
}

/*
 * ClaimTransfers claims up to the free transfer slots (at most
 * MAX_CLAIM_BATCH; a download being synced holds none) of runnable
 * transfer jobs in one transaction
 * (mlops.worker_claim_many), checks each again as its owner in that
 * transaction, then starts them; those that could not start are written in
 * one more transaction.  The outcomes of the nended transfers that just
 * ended are written first in the same transaction (mlops_write_outcomes:
 * one commit for the slots freed and their refill, not two); nothing of
 * theirs is reported done before that commit.  Each job keeps its own
 * attempt, outcome, retries and cancel: only the commits are shared.  An
 * error of the claim is rolled back alone (a subtransaction) and logged;
 * the outcomes commit, the transfers already running go on, and claims
 * pause for MAINTAIN_INTERVAL_MS (ClaimRetryAt).  Returns how many it
 * claimed.
 */
static int
ClaimTransfers(MemoryContext cxt, const JobFinish *ended, int nended)
{
	/*
	 * A download whose body is in and that only waits for its fsyncs holds
	 * no connection: it leaves its slot to a new transfer (at most
	 * mlops.max_transfers of them, so never more than twice that running).
	 */
	int			syncing = Min(transfer_syncing(Pool), mlops_max_transfers);
	int			room = Min(mlops_max_transfers - (NRunning - syncing), MAX_CLAIM_BATCH);
	uint64		wakes = mlops_shmem_wakes();	/* before the claim: a later wake-up is seen */
	Datum		args[3];
	JobFinish  *done;
	int			ndone = 0;
	bool		written;
	ClaimArgs	claim;
	ErrorData  *claim_error;

	if (TransferKindsArray == (Datum) 0 || room <= 0 ||
		(TransfersIdle && TransfersIdleWakes == wakes) ||
		GetCurrentTimestamp() < ClaimRetryAt)
	{
		mlops_finish_jobs(ended, nended);
		return 0;
	}
	args[0] = TransferKindsArray;
	args[1] = Int32GetDatum(MyProcPid);
	args[2] = Int32GetDatum(room);

	mlops_begin_tx();
	written = mlops_write_outcomes(ended, nended);
	/* room bounds what the claim returns: worker_claim_many takes at most max_jobs */
	claim.args = args;
	claim.room = room;
	claim.cxt = cxt;
	claim.jobs = MemoryContextAllocZero(cxt, sizeof(ClaimedJob) * room);
	claim.kinds = MemoryContextAllocZero(cxt, sizeof(JobKind *) * room);
	claim.errors = MemoryContextAllocZero(cxt, sizeof(char *) * room);
	claim.n = 0;
	claim_error = mlops_subxact(ClaimRun, &claim, cxt);
	mlops_end_tx();
	MemoryContextSwitchTo(cxt);
	if (!written)
		mlops_finish_jobs(ended, nended);
	if (claim_error != NULL)
	{
		/* a claim that fails again and again must not stop the running transfers' polls */
		ClaimFailed(claim_error, "claim transfer jobs");
		return 0;
	}

	if (claim.n == 0)
	{
		TransfersIdle = true;
		TransfersIdleWakes = wakes;
		return 0;
	}
	done = MemoryContextAllocZero(cxt, sizeof(JobFinish) * claim.n);
	for (int i = 0; i < claim.n; i++)
		if (StartClaimed(&claim.jobs[i], claim.kinds[i], claim.errors[i], cxt, &done[ndone]))
			ndone++;
	mlops_finish_jobs(done, ndone);
	return claim.n;
}

/*
 * ClaimAndRunGuarded is ClaimAndRun with its errors caught: one is logged,
 * its transaction rolled back, and claims pause for MAINTAIN_INTERVAL_MS
 * (ClaimRetryAt), so that a claim that fails again and again (a trigger
 * refusing a job's start, say) does not keep the worker from polling the
 * transfers and sessions already running, as an error reaching the main
 * loop would (it skips the rest of the pass).
 */
static bool
ClaimAndRunGuarded(MemoryContext cxt)
{
	volatile bool ran = false;

	PG_TRY();
	{
		ran = ClaimAndRun(cxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (IsTransactionState() || IsAbortedTransactionBlockState())
			AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		ClaimFailed(edata, "claim or start a job");
		ran = false;
	}
	PG_END_TRY();
	return ran;
}

/*
 * CollectSessions writes the outcomes of sql jobs whose sessions ended;
 * returns how many.
 */
static int
CollectSessions(void)
{
	SqlOutcome	out[MAX_RESULTS];
	int			n = mlops_sql_sessions_collect(out, MAX_RESULTS);

	for (int i = 0; i < n; i++)
	{
		/* keep the job's last progress message (a success sets progress 1) */
		if (out[i].reported)
		{
			Datum		args[3];
			Oid			types[3] = {INT8ARRAYOID, FLOAT4ARRAYOID, TEXTARRAYOID};
			Datum		id = Int64GetDatum(out[i].job_id);
			Datum		f = Float4GetDatum(out[i].fraction);
			Datum		m = out[i].message ? CStringGetTextDatum(out[i].message) : (Datum) 0;
			bool		mnull = out[i].message == NULL;
			int			dims[1] = {1};
			int			lbs[1] = {1};

			args[0] = PointerGetDatum(construct_array(&id, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[1] = PointerGetDatum(construct_array(&f, 1, FLOAT4OID, 4, true, TYPALIGN_INT));
			args[2] = PointerGetDatum(construct_md_array(&m, &mnull, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
			mlops_begin_tx();
			SPI_execute_with_args("SELECT mlops.worker_progress($1, $2, $3)", 3, types, args, NULL, false, 0);
			mlops_end_tx();
		}
		Finish(out[i].job_id, out[i].attempt, out[i].outcome, out[i].result_json,
			   out[i].error, out[i].retryable);
	}
	return n;
}

/*
 * PollTransfers lets libcurl work for up to 100 ms and writes the outcome
 * of every transfer that ended, all in one transaction, the one that claims
 * the jobs for the slots they freed (ClaimTransfers); returns how many
 * ended.
 */
static int
PollTransfers(MemoryContext cxt)
{
	transfer_result results[MAX_RESULTS];
	JobFinish	done[MAX_RESULTS];
	int			ndone = 0;
	TimestampTz start = GetCurrentTimestamp();
	int			n;

	MemoryContextSwitchTo(cxt);	/* the outcomes' strings live until the pass ends */

	/*
	 * Let libcurl work until a transfer ends, 100 ms pass or the latch is
	 * set (new work, a cancel): one pass of the main loop costs transactions,
	 * so a large transfer should not go round it every socket buffer.
	 */
	for (;;)
	{
		n = transfer_poll(Pool, 50, results, MAX_RESULTS);
		if (n > 0 || MyLatch->is_set ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 100))
			break;
		CHECK_FOR_INTERRUPTS();
	}
	/* and those that ended meanwhile, without waiting: one transaction for more of them */
	if (n > 0 && n < MAX_RESULTS)
		n += transfer_poll(Pool, 0, results + n, MAX_RESULTS - n);

	for (int i = 0; i < n; i++)
	{
		const JobKind *kind = NULL;
		int			attempt = 0;
		char	   *result_json = NULL;
		char	   *error = NULL;
		bool		retryable = false;
		JobOutcome	outcome;
		JobFinish  *f = &done[ndone];

		for (int j = 0; j < NRunning; j++)
			if (Running[j].job_id == results[i].job_id)
			{
				kind = Running[j].kind;
				attempt = Running[j].attempt;
				Running[j] = Running[--NRunning];
				break;
			}
		if (kind == NULL)
			continue;
		outcome = kind->transfer_done(results[i].job_id, &results[i], &result_json, &error, &retryable);
		if (outcome == JOB_STARTED)
		{
			/* the kind started its next request (a list job's next page): still running */
			Running[NRunning].job_id = results[i].job_id;
			Running[NRunning].attempt = attempt;
			Running[NRunning].kind = kind;
			NRunning++;
			continue;
		}
		f->id = results[i].job_id;
		f->attempt = attempt;
		f->outcome = outcome;
		f->result_json = result_json;
		f->error = error;
		f->retryable = retryable;
		ndone++;
	}
	/*
	 * the outcomes of this poll in one transaction, each its own row update,
	 * with the claim that fills the slots they freed
	 */
	ClaimTransfers(cxt, done, ndone);
	return n;
}

/*
 * ReportProgressAndCancels writes the progress of running transfers and of
 * sql jobs that reported some, and stops those whose job was cancelled.
 */
static void
ReportProgressAndCancels(void)
{
	int			nsql = mlops_sql_sessions_running();
	int			total = NRunning + nsql;
	int64	   *sql_ids;
	Datum	   *ids;
	Datum	   *fractions;
	Datum	   *messages;
	bool	   *msg_nulls;
	Datum	   *all_ids;
	int			n = 0;
	Datum		args[3];
	Oid			types[3] = {INT8ARRAYOID, FLOAT4ARRAYOID, TEXTARRAYOID};
	Oid			cancel_types[1] = {INT8ARRAYOID};
	int			dims[1];
	int			lbs[1] = {1};

	if (total == 0)
		return;
	ids = palloc(sizeof(Datum) * total);
	all_ids = palloc(sizeof(Datum) * total);
	fractions = palloc(sizeof(Datum) * total);
	messages = palloc(sizeof(Datum) * total);
	msg_nulls = palloc0(sizeof(bool) * total);
	for (int i = 0; i < NRunning; i++)
	{
		int64		done = 0,
					all = -1;

		float4		f = 0;
		char	   *own = Running[i].kind->progress ? Running[i].kind->progress(Running[i].job_id, &f) : NULL;

		all_ids[i] = Int64GetDatum(Running[i].job_id);
		ids[n] = Int64GetDatum(Running[i].job_id);
		if (own != NULL)
		{
			/* the kind's own count (http polls, geocoded points) */
			fractions[n] = Float4GetDatum(f);
			messages[n++] = CStringGetTextDatum(own);
			continue;
		}
		(void) transfer_progress(Pool, Running[i].job_id, &done, &all);
		fractions[n] = Float4GetDatum(all > 0 ? Min(1.0, (float4) done / (float4) all) : 0.0);
		messages[n] = CStringGetTextDatum(all > 0
										  ? psprintf(INT64_FORMAT " of " INT64_FORMAT " bytes", done, all)
										  : psprintf(INT64_FORMAT " bytes", done));
		n++;
	}
	sql_ids = palloc(sizeof(int64) * Max(nsql, 1));
	nsql = mlops_sql_sessions_ids(sql_ids, nsql);
	for (int i = 0; i < nsql; i++)
	{
		float4		f;
		char	   *m;

		all_ids[NRunning + i] = Int64GetDatum(sql_ids[i]);
		if (!mlops_sql_session_progress(sql_ids[i], &f, &m))
			continue;
		ids[n] = Int64GetDatum(sql_ids[i]);
		fractions[n] = Float4GetDatum(f);
		if (m)
			messages[n] = CStringGetTextDatum(m);
		else
			msg_nulls[n] = true;
		n++;
	}
	dims[0] = n;
	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(fractions, n, FLOAT4OID, 4, true, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_md_array(messages, msg_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));

	mlops_begin_tx();
	if (n > 0)
		SPI_execute_with_args("SELECT mlops.worker_progress($1, $2, $3)", 3, types, args,
							  NULL, false, 0);
	args[0] = PointerGetDatum(construct_array(all_ids, NRunning + nsql, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	SPI_execute_with_args("SELECT j.id FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) ANY ($1) "
						  "AND j.cancel_requested", 1, cancel_types, args, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		if (!transfer_cancel(Pool, id))
			mlops_sql_session_cancel(id);
	}
	mlops_end_tx();
}

/*
 * mlops_worker_main is the entry point of every pg_mlops background worker.
 */
void
mlops_worker_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	MemoryContext loop_context;
	volatile TimestampTz last_maintain = 0;
	volatile TimestampTz last_progress = 0;
	volatile bool started = false;
	volatile bool busy = false;

	/*
	 * die() turns SIGTERM into a FATAL at the next CHECK_FOR_INTERRUPTS, so
	 * pg_terminate_backend ends the worker with exit code 1 and the
	 * postmaster restarts it after MLOPS_WORKER_RESTART_SECONDS.
	 */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(mlops_database_name, NULL, 0);
	pgstat_report_appname("pg_mlops worker");
	/* the worker's own SQL never resolves a name through a temporary schema first */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	mlops_shmem_register_worker(index - 1);

	ereport(LOG,
			(errmsg("pg_mlops worker %d started in database \"%s\"",
					index, mlops_database_name)));

	loop_context = AllocSetContextCreate(TopMemoryContext,
										 "pg_mlops worker loop",
										 ALLOCSET_DEFAULT_SIZES);

	/*
	 * malloc keeps the memory it got instead of giving the top of its heap
	 * back after every transfer and faulting it in again for the next:
	 * libcurl's 512 KiB receive buffer per transfer, freed at its end, made
	 * glibc shrink and regrow the heap (brk and page faults were about 8% of
	 * the worker's thread in 500 downloads of 10 KiB).  Fixed thresholds
	 * also stop glibc's own adjustment of them.
	 */
	(void) mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void) mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);

	if (!transfer_global_init() || (Pool = transfer_pool_create(mlops_max_transfers)) == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("pg_mlops worker could not initialise libcurl")));
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		Datum	   *names;
		int			n = 0;

		while (mlops_job_kinds[n] != NULL)
			n++;
		names = palloc(sizeof(Datum) * n);
		for (int i = 0; i < n; i++)
			names[i] = CStringGetTextDatum(mlops_job_kinds[i]->name);
		KindsArray = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
		{
			int			nt = 0;

			for (int i = 0; i < n; i++)
				if (mlops_kind_uses_transfer(mlops_job_kinds[i]))
					names[nt++] = CStringGetTextDatum(mlops_job_kinds[i]->name);
			if (nt > 0)
				TransferKindsArray = PointerGetDatum(construct_array(names, nt, TEXTOID, -1, false, TYPALIGN_INT));
		}
		MemoryContextSwitchTo(old);
	}

	MemoryContextSwitchTo(loop_context);
	EnsureWorkDir();
	MemoryContextReset(loop_context);

	for (;;)
	{
		/* no sleep while transfers run or the last pass found work: there may be more */
		long		timeout = (NRunning > 0 || busy) ? 0
			: mlops_sql_sessions_running() > 0 ? SESSION_CHECK_MS : MAINTAIN_INTERVAL_MS;
		TimestampTz now;
		int			rc;

		pgstat_report_activity(STATE_IDLE, NULL);
		rc = WaitLatch(MyLatch,
					   WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   timeout,
					   PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			EnsureWorkDir();
		}

		/*
		 * One pass; an error in it (a failed query, say) is logged and the
		 * worker carries on rather than exiting.
		 */
		PG_TRY();
		{
			if (ExtensionReady())
			{
				now = GetCurrentTimestamp();
				if (!started || TimestampDifferenceExceeds(last_maintain, now, MAINTAIN_INTERVAL_MS))
				{
					Maintain(!started);
					IdleKnown = false;	/* jobs may have come due */
					TransfersIdle = false;
					if (!started)
						RemoveStaleParts();
					started = true;
					last_maintain = now;
				}
				busy = false;
				if (mlops_sql_sessions_running() > 0 && CollectSessions() > 0)
					busy = true;	/* sessions ended: claim again at once */
				/* transfers in batches first, then one job at a time */
				if (ClaimTransfers(loop_context, NULL, 0) > 0)
					busy = true;
				while (ClaimAndRunGuarded(loop_context))
				{
					busy = true;
					CHECK_FOR_INTERRUPTS();
					MemoryContextReset(loop_context);
				}
				if (NRunning > 0 && PollTransfers(loop_context) > 0)
					busy = true;	/* slots freed: claim again at once */
				if (NRunning > 0 || mlops_sql_sessions_running() > 0)
				{
					now = GetCurrentTimestamp();
					/* a set latch may be a cancel: look at once */
					if ((rc & WL_LATCH_SET) ||
						TimestampDifferenceExceeds(last_progress, now, PROGRESS_INTERVAL_MS))
					{
						ReportProgressAndCancels();
						last_progress = now;
					}
					mlops_sql_sessions_check();
				}
			}
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(loop_context);
			EmitErrorReport();
			FlushErrorState();
			if (IsTransactionState() || IsAbortedTransactionBlockState())
				AbortCurrentTransaction();
			/* do not spin on a persistent error */
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 MAINTAIN_INTERVAL_MS, PG_WAIT_EXTENSION);
		}
		PG_END_TRY();

		MemoryContextSwitchTo(loop_context);
		MemoryContextReset(loop_context);
	}
}
