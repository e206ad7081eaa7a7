/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The pg_mlops background worker: registration from _PG_init and the
 *	  worker's main loop.
 *
 *	  The worker connects to mlops.database_name, keeps mlops.work_dir in
 *	  existence, and sleeps on its latch.  It reloads its settings on SIGHUP,
 *	  stops on SIGTERM (pg_terminate_backend included) and exits as soon as
 *	  the postmaster dies.  The job engine gives it work to do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "common/file_perm.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"

#include "pg_mlops.h"

/*
 * Seconds before the postmaster restarts a worker that exited with an error
 * (for instance when mlops.database_name does not exist yet).  After a crash
 * the postmaster restarts workers at once, whatever this says.
 */
#define MLOPS_WORKER_RESTART_SECONDS 5

PGDLLEXPORT void mlops_worker_main(Datum main_arg);

static void EnsureWorkDir(void);

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
 * mlops_worker_main is the entry point of every pg_mlops background worker.
 */
void
mlops_worker_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	MemoryContext loop_context;

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

	ereport(LOG,
			(errmsg("pg_mlops worker %d started in database \"%s\"",
					index, mlops_database_name)));

	loop_context = AllocSetContextCreate(TopMemoryContext,
										 "pg_mlops worker loop",
										 ALLOCSET_DEFAULT_SIZES);

	MemoryContextSwitchTo(loop_context);
	EnsureWorkDir();
	MemoryContextReset(loop_context);

	for (;;)
	{
		pgstat_report_activity(STATE_IDLE, NULL);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH,
						 -1L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);

		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			EnsureWorkDir();
		}

		MemoryContextReset(loop_context);
	}
}
