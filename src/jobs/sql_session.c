/*-------------------------------------------------------------------------
 *
 * sql_session.c
 *	  Each sql job runs in a session of its own: a dynamic background worker
 *	  connected to the database as the role that submitted the job, as
 *	  pg_cron does in its background-worker mode.  Nothing ever runs with
 *	  rights the role does not have: the session is the role's, not a
 *	  superuser's with a changed user id.  After a job that succeeded the
 *	  session may stay warm for mlops.sql_session_idle and take the next job
 *	  of the same role (never another role's), after a reset that leaves
 *	  the next job nothing of this one (sql_session_reset.c); whatever the
 *	  reset cannot remove ends the session instead, and with it the process
 *	  and everything the command left in it.
 *
 *	  The worker (the parent) passes the job in a dynamic shared memory
 *	  segment and reads the outcome back from it as soon as the session
 *	  says it is done (it sets the parent's latch), without waiting for the
 *	  process to exit: a session's teardown and the postmaster's reaping cost
 *	  several milliseconds, which a chain of steps would pay at every step.
 *	  Before it says so, the session releases its advisory locks; the rest of
 *	  its state is reset or dies with it.  An exiting or warm session still
 *	  holds its background worker slot: running and warm sessions are kept
 *	  within mlops.max_sql_jobs, and as many again may be exiting.  The
 *	  hand-over of a job to a warm session is a compare-and-exchange of the
 *	  segment's state (IDLE -> RUNNING) against the session's own
 *	  (IDLE -> EXITING when its idle time is over).  The session never writes to
 *	  mlops.jobs, and the parent's own
 *	  session never runs a command of a job.  The parent enforces the job's
 *	  timeout and cancels: SIGINT cancels the running statement, SIGTERM
 *	  follows if the session has not ended 5 s later.  Progress that the
 *	  job reports goes to a shared-memory slot (shmem.c), visible to its
 *	  owner at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog/pg_type.h"
#include "jobs/fileops.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

/* After a SIGINT, how long the session has to end before SIGTERM. */
#define TERMINATE_AFTER_MS 5000

/*
 * The session's state, in the segment: the parent moves it to RUNNING when
 * it hands a job over (IDLE -> RUNNING), the session to DONE (outcome
 * written, it ends) or IDLE (outcome written, reset, waiting for the next
 * job of its role); EXITING is an idle session leaving (its idle time
 * passed, or the parent retired it).  Both sides move it from IDLE with a
 * compare-and-exchange, so a job is never handed to a session that leaves.
 */
#define SESSION_RUNNING 1
#define SESSION_DONE 2
#define SESSION_IDLE 3
#define SESSION_EXITING 4
#define OUTCOME_READY(st) ((st) >= SESSION_DONE)

/* The job and, once the session ends, its outcome: in a DSM segment. */
typedef struct SqlShared
{
	int64		job_id;
	Oid			database_id;
	Oid			role_id;
	int			slot;			/* progress slot in shmem.c */
	Size		command_len;
	Size		answer_cap;		/* bytes for the result or the error */
	/* an export job: the single value goes to a file */
	bool		export_mode;
	bool		export_overwrite;
	char		export_path[MAXPGPATH]; /* as the job gave it, for the result */
	char		export_rel[MAXPGPATH];	/* relative to the work directory */
	char		work_dir[MAXPGPATH];
	int			idle_ms;		/* mlops.sql_session_idle, 0: end after the job */
	int			max_jobs;		/* mlops.sql_session_max_jobs */
	pg_atomic_uint32 state;
	/* written by the session */
	TransactionId role_xmin;	/* of the role's pg_authid row when it connected */
	int			parent_pid;		/* whose latch to set when done */
	bool		succeeded;
	bool		retryable;
	int			sqlerrcode;
	Size		answer_len;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* command, NUL, answer, NUL */
} SqlShared;

#define SHARED_COMMAND(sh) ((sh)->data)
#define SHARED_ANSWER(sh) ((sh)->data + (sh)->command_len + 1)

/* The parent's record of one running session. */
typedef struct SqlSession
{
	bool		in_use;
	int64		job_id;
	int			attempt;
	int			slot;
	int			timeout_ms;
	dsm_segment *seg;
	SqlShared  *sh;
	BackgroundWorkerHandle *handle;
	TimestampTz started;
	bool		cancel_wanted;
	bool		timed_out;
	TimestampTz signalled_at;	/* SIGINT sent (0: not yet) */
	bool		terminated;
	bool		collected;		/* outcome read; the process is exiting or warm */
	bool		warm;			/* idle, reset, waiting for a job of role_id */
	Oid			role_id;
	uint64		epoch;			/* mlops_roles_epoch() when it started */
	TimestampTz idle_since;
	int			jobs;			/* jobs handed to it so far */
} SqlSession;

static SqlSession Sessions[MLOPS_MAX_SQL_SESSIONS];

/*
 * The shared memory segment of each session slot, kept from one session to
 * the next: creating one (the answer's room, mlops.max_job_result_size, is
 * allocated up front) and removing it cost more than a trivial job.  A slot
 * is reused only once its last session has exited.
 */
static dsm_segment *Segments[MLOPS_MAX_SQL_SESSIONS];
#define SEGMENT_SLACK (64 * 1024)

/* In a job's session: the job it runs, and its progress slot. */
static int64 SessionJobId = 0;
static int	SessionSlot = -1;

PGDLLEXPORT void mlops_sql_session_main(Datum main_arg);

static void RunCommand(SqlShared *sh);
static char *WriteExport(SqlShared *sh, const char *data, size_t len);
static void SetAnswer(SqlShared *sh, const char *text);
static bool RetryableSqlState(int sqlerrcode);
static void SignalSession(SqlSession *s, int sig);
static void ReapExited(void);
static bool FillShared(SqlShared *sh, int slot, ClaimedJob *job, const char *command,
					   const SqlExport *export, char **error);
static bool HandOver(ClaimedJob *job, const char *command, int timeout_ms,
					 const SqlExport *export, Size need);
static void SetSessionLatch(SqlSession *s);
static void Retire(SqlSession *s);
static bool WaitForJob(SqlShared *sh);
static void LeaveIdle(int code, Datum arg);

/*
 * mlops_sql_sessions_running: sessions the worker runs now, against
 * mlops.max_sql_jobs.  Sessions whose outcome was read and that are only
 * exiting count only beyond as many again.
 */
int
mlops_sql_sessions_running(void)
{
	int			live = 0;
	int			exiting = 0;

	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
		if (Sessions[i].in_use && Sessions[i].collected)
			exiting++;
		else if (Sessions[i].in_use)
			live++;
	return live + Max(0, exiting - mlops_max_sql_jobs);
}

/*
 * ReapExited forgets the sessions whose outcome was read once their
 * process has exited.
 */
static void
ReapExited(void)
{
	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
	{
		SqlSession *s = &Sessions[i];
		pid_t		pid;
		BgwHandleStatus st;

		if (!s->in_use || !s->collected)
			continue;
		st = GetBackgroundWorkerPid(s->handle, &pid);
		if (st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED)
			continue;
		pfree(s->handle);
		s->in_use = false;
	}
}

/*
 * FillShared writes a job into a session's segment: its command, its
 * export, and the settings the session reads after the job.  False (with
 * an error) when the export's paths do not fit.
 */
static bool
FillShared(SqlShared *sh, int slot, ClaimedJob *job, const char *command,
		   const SqlExport *export, char **error)
{
	Size		cmdlen = strlen(command);

	sh->job_id = job->id;
	sh->slot = slot;
	sh->command_len = cmdlen;
	sh->answer_cap = (Size) mlops_max_job_result_kb * 1024;
	sh->idle_ms = mlops_sql_session_idle_ms;
	sh->max_jobs = mlops_sql_session_max_jobs;
	sh->succeeded = false;
	sh->retryable = false;
	sh->sqlerrcode = 0;
	sh->answer_len = 0;
	sh->export_mode = false;
	if (export != NULL)
	{
		char	   *work = mlops_work_dir_path();

		if (strlen(export->path) >= MAXPGPATH || strlen(export->work_rel) >= MAXPGPATH ||
			strlen(work) >= MAXPGPATH)
		{
			*error = pstrdup("the export's path is too long");
			return false;
		}
		sh->export_mode = true;
		sh->export_overwrite = export->overwrite;
		strlcpy(sh->export_path, export->path, MAXPGPATH);
		strlcpy(sh->export_rel, export->work_rel, MAXPGPATH);
		strlcpy(sh->work_dir, work, MAXPGPATH);
	}
	memcpy(SHARED_COMMAND(sh), command, cmdlen + 1);
	SHARED_ANSWER(sh)[0] = '\0';
	return true;
}

/*
 * SetSessionLatch wakes a session's process (to take a job, or to leave).
 */
static void
SetSessionLatch(SqlSession *s)
{
	pid_t		pid;

	if (GetBackgroundWorkerPid(s->handle, &pid) == BGWH_STARTED && pid > 0)
	{
		PGPROC	   *proc = BackendPidGetProc(pid);

		if (proc != NULL)
			SetLatch(&proc->procLatch);
	}
}

/*
 * Retire makes an idle session leave instead of waiting for a job.  A
 * session that was not idle any more (it is leaving already) is left alone.
 */
static void
Retire(SqlSession *s)
{
	uint32		expected = SESSION_IDLE;

	s->warm = false;
	if (s->sh != NULL && pg_atomic_compare_exchange_u32(&s->sh->state, &expected, SESSION_EXITING))
		SetSessionLatch(s);
}

/*
 * HandOver gives a claimed job to a warm session of its role, if one is fit
 * to take it: same role (a session never runs another role's job), the
 * role's row unchanged since the session connected (xmin), LOGIN and
 * CONNECT still held, no role, membership or database change seen since,
 * fewer than mlops.sql_session_max_jobs jobs run, and room in its segment.
 * A warm session of that role that is not fit is retired, and so is every
 * warm session (of any role) once a role, membership or database changed:
 * a dropped role's session does not wait out its idle time.
 */
static bool
HandOver(ClaimedJob *job, const char *command, int timeout_ms, const SqlExport *export, Size need)
{
	uint64		epoch = mlops_roles_epoch();

	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
	{
		SqlSession *s = &Sessions[i];
		uint32		expected = SESSION_IDLE;
		char	   *error = NULL;
		pid_t		pid;

		if (!s->in_use || !s->warm)
			continue;
		/* any role or membership change: no warm session of any role is kept */
		if (mlops_sql_session_idle_ms <= 0 || s->epoch != epoch)
		{
			Retire(s);
			continue;
		}
		if (s->role_id != job->submitted_by)
			continue;
		if (s->jobs >= mlops_sql_session_max_jobs ||
			GetBackgroundWorkerPid(s->handle, &pid) != BGWH_STARTED ||
			dsm_segment_map_length(Segments[i]) < need ||
			pg_atomic_read_u32(&s->sh->state) != SESSION_IDLE ||
			!mlops_role_still_fit(s->role_id, s->sh->role_xmin))
		{
			Retire(s);
			continue;
		}
		if (!FillShared(s->sh, s->slot, job, command, export, &error))
			return false;		/* a fresh session meets the same error */
		mlops_shmem_progress_claim(s->slot, job->id, job->submitted_by);
		/* a full barrier: the job is in the segment before the session can see RUNNING */
		if (!pg_atomic_compare_exchange_u32(&s->sh->state, &expected, SESSION_RUNNING))
		{
			/* its idle time ran out just now: it leaves */
			mlops_shmem_progress_release(s->slot);
			s->warm = false;
			continue;
		}
		SetSessionLatch(s);
		s->warm = false;
		s->collected = false;
		s->job_id = job->id;
		s->attempt = job->attempts;
		s->timeout_ms = timeout_ms;
		s->started = GetCurrentTimestamp();
		s->cancel_wanted = false;
		s->timed_out = false;
		s->signalled_at = 0;
		s->terminated = false;
		s->jobs++;
		return true;
	}
	return false;
}

/*
 * mlops_sql_session_start runs a claimed sql job: in a warm session of its
 * role when one is fit (HandOver), else in a new session.  False (with an
 * error) when it cannot start: no free slot in max_worker_processes or no
 * shared memory, both retryable.
 */
bool
mlops_sql_session_start(ClaimedJob *job, const char *command, int timeout_ms,
						const SqlExport *export, char **error, bool *retryable)
{
	SqlSession *s = NULL;
	BackgroundWorker w;
	Size		cmdlen = strlen(command);
	Size		cap = (Size) mlops_max_job_result_kb * 1024;
	int			index = mlops_shmem_worker_index();
	int			i;
	MemoryContext old;
	bool		registered;
	Size		need;
	int			live = 0;
	int			warm = 0;

	ReapExited();
	need = offsetof(SqlShared, data) + cmdlen + 1 + cap + 1;
	if (index >= 0 && HandOver(job, command, timeout_ms, export, need))
		return true;

	/*
	 * Warm sessions of other roles hold background worker slots: keep
	 * running and warm ones within mlops.max_sql_jobs, retiring the one idle
	 * longest.
	 */
	for (i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
		if (Sessions[i].in_use && Sessions[i].warm)
			warm++;
		else if (Sessions[i].in_use && !Sessions[i].collected)
			live++;
	while (warm > 0 && live + warm >= mlops_max_sql_jobs)
	{
		SqlSession *oldest = NULL;

		for (i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
			if (Sessions[i].in_use && Sessions[i].warm &&
				(oldest == NULL || Sessions[i].idle_since < oldest->idle_since))
				oldest = &Sessions[i];
		Retire(oldest);
		warm--;
	}

	for (i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
		if (!Sessions[i].in_use)
		{
			s = &Sessions[i];
			break;
		}
	if (s == NULL || index < 0)
	{
		*error = pstrdup("no sql session slot is free in this worker");
		*retryable = true;
		return false;
	}

	memset(s, 0, sizeof(*s));
	if (Segments[i] != NULL && dsm_segment_map_length(Segments[i]) < need)
	{
		dsm_detach(Segments[i]);
		Segments[i] = NULL;
	}
	if (Segments[i] == NULL)
	{
		/* room for longer commands than this one: the next job likely fits */
		Segments[i] = dsm_create(need + SEGMENT_SLACK, DSM_CREATE_NULL_IF_MAXSEGMENTS);
		if (Segments[i] == NULL)
		{
			*error = pstrdup("no dynamic shared memory segment is free for the job's session");
			*retryable = true;
			return false;
		}
		/* kept for the next sessions in this slot, whatever resource owner is current */
		dsm_pin_mapping(Segments[i]);
	}
	s->seg = Segments[i];
	s->sh = dsm_segment_address(s->seg);
	memset(s->sh, 0, offsetof(SqlShared, data));
	pg_atomic_init_u32(&s->sh->state, SESSION_RUNNING);
	s->sh->database_id = MyDatabaseId;
	s->sh->role_id = job->submitted_by;
	s->sh->parent_pid = MyProcPid;
	if (!FillShared(s->sh, index * MLOPS_MAX_SQL_SESSIONS + i, job, command, export, error))
	{
		*retryable = false;
		return false;
	}
	mlops_shmem_progress_claim(s->sh->slot, job->id, job->submitted_by);

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(w.bgw_library_name, "pg_mlops", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "mlops_sql_session_main", BGW_MAXLEN);
	snprintf(w.bgw_name, BGW_MAXLEN, "pg_mlops sql job " INT64_FORMAT, job->id);
	strlcpy(w.bgw_type, "pg_mlops sql job", BGW_MAXLEN);
	w.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(s->seg));
	w.bgw_notify_pid = MyProcPid;
	/* the handle outlives the worker's loop context */
	old = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&w, &s->handle);
	MemoryContextSwitchTo(old);
	if (!registered)
	{
		mlops_shmem_progress_release(s->sh->slot);
		*error = pstrdup("no background worker slot is free for the job's session");
		*retryable = true;
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("pg_mlops could not start a session for sql job " INT64_FORMAT, job->id),
				 errhint("Raise max_worker_processes: each running sql job takes one, and a session that is exiting holds one a little longer (up to twice mlops.max_sql_jobs per worker).")));
		return false;
	}
	s->in_use = true;
	s->role_id = job->submitted_by;
	s->epoch = mlops_roles_epoch();
	s->jobs = 1;
	s->job_id = job->id;
	s->attempt = job->attempts;
	s->slot = s->sh->slot;
	s->timeout_ms = timeout_ms;
	s->started = GetCurrentTimestamp();
	return true;
}

/*
 * SignalSession sends a signal to a session that has started; a session
 * that has not started yet gets it at the next check.
 */
static void
SignalSession(SqlSession *s, int sig)
{
	pid_t		pid;

	if (GetBackgroundWorkerPid(s->handle, &pid) == BGWH_STARTED && pid > 0)
	{
		kill(pid, sig);
		if (sig == SIGINT)
			s->signalled_at = GetCurrentTimestamp();
		else
			s->terminated = true;
	}
}

/*
 * mlops_sql_session_cancel asks a running job's session to stop: its
 * statement is cancelled, the job ends cancelled (mlops.finish_failed sees
 * the cancel request).
 */
void
mlops_sql_session_cancel(int64 job_id)
{
	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
		if (Sessions[i].in_use && !Sessions[i].collected && Sessions[i].job_id == job_id &&
			!Sessions[i].cancel_wanted)
		{
			Sessions[i].cancel_wanted = true;
			SignalSession(&Sessions[i], SIGINT);
		}
}

/*
 * mlops_sql_sessions_check enforces timeouts, sends cancels that could not
 * be sent before the session started, and terminates a session that did
 * not end TERMINATE_AFTER_MS after its SIGINT.
 */
void
mlops_sql_sessions_check(void)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
	{
		SqlSession *s = &Sessions[i];

		if (!s->in_use || s->collected)
			continue;
		if (s->timeout_ms > 0 && !s->timed_out &&
			TimestampDifferenceExceeds(s->started, now, s->timeout_ms))
		{
			s->timed_out = true;
			s->signalled_at = 0;
		}
		if ((s->cancel_wanted || s->timed_out) && s->signalled_at == 0)
			SignalSession(s, SIGINT);
		else if (s->signalled_at != 0 && !s->terminated &&
				 TimestampDifferenceExceeds(s->signalled_at, now, TERMINATE_AFTER_MS))
			SignalSession(s, SIGTERM);
	}
}

/*
 * mlops_sql_sessions_ids lists the jobs whose sessions run (for the
 * cancel and progress pass).
 */
int
mlops_sql_sessions_ids(int64 *ids, int max)
{
	int			n = 0;

	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS && n < max; i++)
		if (Sessions[i].in_use && !Sessions[i].collected)
			ids[n++] = Sessions[i].job_id;
	return n;
}

/*
 * mlops_sql_session_progress: the progress a running job reported, if it
 * did; message palloc'd (NULL when empty).
 */
bool
mlops_sql_session_progress(int64 job_id, float4 *fraction, char **message)
{
	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS; i++)
		if (Sessions[i].in_use && !Sessions[i].collected && Sessions[i].job_id == job_id)
		{
			int64		id;
			Oid			owner;
			bool		reported;
			char		msg[MLOPS_PROGRESS_MESSAGE];

			if (!mlops_shmem_progress_get(Sessions[i].slot, &id, &owner, fraction, msg, &reported) ||
				id != job_id || !reported)
				return false;
			*message = msg[0] ? pstrdup(msg) : NULL;
			return true;
		}
	return false;
}

/*
 * mlops_sql_sessions_collect writes the outcomes of sessions that have
 * ended into out (at most max) and forgets them.  A session that ended
 * without an answer (it could not connect, or was terminated) is a failed
 * attempt worth retrying, unless it timed out.
 */
int
mlops_sql_sessions_collect(SqlOutcome *out, int max)
{
	int			n = 0;

	for (int i = 0; i < MLOPS_MAX_SQL_SESSIONS && n < max; i++)
	{
		SqlSession *s = &Sessions[i];
		SqlOutcome *o = &out[n];
		pid_t		pid;
		BgwHandleStatus st;
		bool		exited;
		uint32		state;

		if (!s->in_use)
			continue;
		st = GetBackgroundWorkerPid(s->handle, &pid);
		exited = !(st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED);
		if (s->collected)
		{
			if (exited)
			{
				pfree(s->handle);
				s->in_use = false;
			}
			continue;
		}
		state = pg_atomic_read_u32(&s->sh->state);
		/* done, exiting or idle: read it now (a timeout or cancel waits for the exit) */
		if (!exited && (!OUTCOME_READY(state) || s->timed_out || s->cancel_wanted))
		{
			if (OUTCOME_READY(state))
				Retire(s);		/* a session that was signalled is not kept */
			continue;
		}

		pg_read_barrier();
		memset(o, 0, sizeof(*o));
		o->job_id = s->job_id;
		o->attempt = s->attempt;
		if (s->timed_out)
		{
			o->outcome = JOB_FAILED;
			o->error = psprintf("timed out after %g s", s->timeout_ms / 1000.0);
			o->retryable = false;
		}
		else if (OUTCOME_READY(state) && s->sh->succeeded)
		{
			o->outcome = JOB_SUCCEEDED;
			o->result_json = pnstrdup(SHARED_ANSWER(s->sh), s->sh->answer_len);
		}
		else if (OUTCOME_READY(state))
		{
			o->outcome = JOB_FAILED;
			o->error = pnstrdup(SHARED_ANSWER(s->sh), s->sh->answer_len);
			o->retryable = s->sh->retryable;
		}
		else
		{
			o->outcome = JOB_FAILED;
			o->error = pstrdup(s->cancel_wanted ? "cancelled"
							   : "the job's session ended before the command finished (see the server log)");
			o->retryable = !s->cancel_wanted;
		}
		{
			int64		id;
			Oid			owner;
			char		msg[MLOPS_PROGRESS_MESSAGE];

			if (mlops_shmem_progress_get(s->slot, &id, &owner, &o->fraction, msg, &o->reported) &&
				id == s->job_id && o->reported)
				o->message = msg[0] ? pstrdup(msg) : NULL;
			else
				o->reported = false;
		}
		mlops_shmem_progress_release(s->slot);
		/* the segment stays mapped for the session's next job, or the slot's next session */
		if (exited)
		{
			pfree(s->handle);
			s->in_use = false;
		}
		else
		{
			s->collected = true;
			/* idle: it waits for the next job of its role (HandOver) */
			if (state == SESSION_IDLE && mlops_sql_session_idle_ms > 0)
			{
				s->warm = true;
				s->idle_since = GetCurrentTimestamp();
			}
			else if (state == SESSION_IDLE)
				Retire(s);
		}
		n++;
	}
	return n;
}

/*
 * RetryableSqlState: errors that another attempt may not meet (serialization
 * failures, deadlocks, lack of resources, operator intervention other than
 * a cancel).
 */
static bool
RetryableSqlState(int sqlerrcode)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlerrcode);

	if (sqlerrcode == ERRCODE_QUERY_CANCELED)
		return false;
	return cls == ERRCODE_TRANSACTION_ROLLBACK ||
		cls == ERRCODE_INSUFFICIENT_RESOURCES ||
		cls == ERRCODE_OPERATOR_INTERVENTION ||
		cls == ERRCODE_CONNECTION_EXCEPTION;
}

/*
 * SetAnswer copies text into the segment's answer, cut to its capacity.
 */
static void
SetAnswer(SqlShared *sh, const char *text)
{
	Size		len = Min(strlen(text), sh->answer_cap);

	memcpy(SHARED_ANSWER(sh), text, len);
	SHARED_ANSWER(sh)[len] = '\0';
	sh->answer_len = len;
}

/*
 * WriteExport writes an export's value to its file (through "<path>.part",
 * without following a link; the same bytes already there is success) and
 * returns the job's result; an error is raised as any other.
 */
static char *
WriteExport(SqlShared *sh, const char *data, size_t len)
{
	fileops_result res;
	int			fd = fileops_open_base(sh->work_dir, &res);
	bool		ok;
	StringInfoData buf;

	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg("cannot open the work directory: %s", res.message)));
	ok = fileops_write(fd, sh->export_rel, data, len,
					   sh->export_overwrite ? FILEOPS_REPLACE : FILEOPS_KEEP, &res);
	close(fd);
	if (!ok)
		ereport(ERROR,
				(errcode(res.status == FILEOPS_EXISTS ? ERRCODE_DUPLICATE_FILE : ERRCODE_IO_ERROR),
				 errmsg("cannot export to \"%s\": %s", sh->export_path, res.message),
				 res.status == FILEOPS_EXISTS ? errhint("Give \"overwrite\": true to replace it.") : 0));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"path\": ");
	escape_json(&buf, sh->export_path);
	appendStringInfo(&buf, ", \"bytes\": %zu, \"already_there\": %s}", len, res.already_there ? "true" : "false");
	return buf.data;
}

/*
 * RunCommand runs the job's command in one transaction of this session and
 * leaves the outcome in the segment.  The result is {"rows", "status"} and,
 * for a single value, "value"; a result larger than
 * mlops.max_job_result_size fails the job.
 */
static void
RunCommand(SqlShared *sh)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops sql job",
											  ALLOCSET_DEFAULT_SIZES);
	const char *command = SHARED_COMMAND(sh);
	char	   *result = NULL;
	char	   *export_data = NULL;
	size_t		export_len = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, command);

	PG_TRY();
	{
		int			ret;
		StringInfoData buf;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute(command, false, 0);
		if (ret < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("the command failed: %s", SPI_result_code_string(ret))));

		if (sh->export_mode)
		{
			bool		isnull;
			Datum		d;
			Oid			type;

			if (SPI_tuptable == NULL || SPI_processed != 1 || SPI_tuptable->tupdesc->natts != 1)
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("an export's query must return one value, not %s",
								SPI_tuptable == NULL ? "no rows" :
								psprintf(UINT64_FORMAT " rows of %d columns", SPI_processed,
										 SPI_tuptable->tupdesc->natts))));
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("an export's query returned NULL")));
			type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
			if (type == BYTEAOID)
			{
				bytea	   *b = DatumGetByteaPP(d);

				export_len = VARSIZE_ANY_EXHDR(b);
				export_data = MemoryContextAllocHuge(cxt, Max(export_len, 1));
				memcpy(export_data, VARDATA_ANY(b), export_len);
			}
			else
			{
				char	   *t = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

				export_len = strlen(t);
				export_data = MemoryContextAllocHuge(cxt, Max(export_len, 1));
				memcpy(export_data, t, export_len);
			}
		}
		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"rows\": " UINT64_FORMAT ", \"status\": ", SPI_processed);
		escape_json(&buf, SPI_result_code_string(ret) + strlen("SPI_OK_"));
		if (!sh->export_mode && SPI_tuptable != NULL && SPI_processed == 1 && SPI_tuptable->tupdesc->natts == 1)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			appendStringInfoString(&buf, ", \"value\": ");
			if (v && strlen(v) > sh->answer_cap)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("the job's result (%zu bytes) is larger than mlops.max_job_result_size (%zu kB)",
								strlen(v), sh->answer_cap / 1024),
						 errhint("Return less, or write the value into a table and return its key.")));
			if (v == NULL)
				appendStringInfoString(&buf, "null");
			else if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) == JSONBOID ||
					 SPI_gettypeid(SPI_tuptable->tupdesc, 1) == JSONOID)
				appendStringInfoString(&buf, v);	/* JSON stays JSON: later steps $ref into it */
			else
				escape_json(&buf, v);
		}
		appendStringInfoChar(&buf, '}');
		if (buf.len > sh->answer_cap)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the job's result (%d bytes) is larger than mlops.max_job_result_size (%zu kB)",
							buf.len, sh->answer_cap / 1024),
					 errhint("Return less, or write the value into a table and return its key.")));
		result = MemoryContextStrdup(cxt, buf.data);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
		if (sh->export_mode)
			result = WriteExport(sh, export_data, export_len);
		SetAnswer(sh, result);
		sh->succeeded = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *msg;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		msg = edata->detail
			? psprintf("%s (%s)", edata->message, edata->detail)
			: pstrdup(edata->message);
		SetAnswer(sh, msg);
		sh->sqlerrcode = edata->sqlerrcode;
		sh->retryable = RetryableSqlState(edata->sqlerrcode);
		sh->succeeded = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * LeaveIdle, when the session's process exits for whatever reason (SIGTERM
 * while idle, say): an idle session says it is leaving, so the parent does
 * not hand it a job it would never run.
 */
static void
LeaveIdle(int code, Datum arg)
{
	SqlShared  *sh = (SqlShared *) DatumGetPointer(arg);
	uint32		expected = SESSION_IDLE;

	(void) pg_atomic_compare_exchange_u32(&sh->state, &expected, SESSION_EXITING);
}

/*
 * WaitForJob waits, idle, for the parent to hand this session the next
 * job of its role (it sets the state to RUNNING and our latch): true when
 * it did, false when the idle time passed or the session was retired.  A
 * cancel that arrives while idle ends the session too.
 */
static bool
WaitForJob(SqlShared *sh)
{
	TimestampTz since = GetCurrentTimestamp();

	for (;;)
	{
		uint32		state = pg_atomic_read_u32(&sh->state);
		uint32		expected = SESSION_IDLE;
		long		left;

		if (state == SESSION_RUNNING)
		{
			pg_read_barrier();	/* the job was written before the state */
			return true;
		}
		if (state != SESSION_IDLE)
			return false;
		left = sh->idle_ms - (long) ((GetCurrentTimestamp() - since) / 1000);
		if (left <= 0 || QueryCancelPending)
		{
			if (pg_atomic_compare_exchange_u32(&sh->state, &expected, SESSION_EXITING))
				return false;
			continue;			/* handed a job just now */
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (!QueryCancelPending)
			CHECK_FOR_INTERRUPTS();	/* SIGTERM, barriers */
	}
}

/*
 * mlops_sql_session_main is the entry point of a job's session.  It maps
 * the segment, connects as the job's owner (a role that cannot log in is
 * refused here, as at any login) and runs the command.  Then, when
 * mlops.sql_session_idle allows it and the reset succeeds
 * (sql_session_reset.c), it stays: the parent may hand it the next job of
 * the same role; otherwise it exits, and everything the command left in
 * its session ends with the process.  Either way the outcome is in the
 * segment, and the parent's latch set, before that.
 */
void
mlops_sql_session_main(Datum main_arg)
{
	dsm_segment *seg;
	SqlShared  *sh;

	pqsignal(SIGTERM, die);
	/* a warm session reads a reloaded configuration before its next job, as a new one would */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mlops sql job session could not map its shared memory segment")));
	sh = dsm_segment_address(seg);
	before_shmem_exit(LeaveIdle, PointerGetDatum(sh));

	BackgroundWorkerInitializeConnectionByOid(sh->database_id, sh->role_id, 0);
	pgstat_report_appname("pg_mlops sql job");
	if (sh->idle_ms > 0)
		sh->role_xmin = mlops_session_reuse_begin(sh->role_id);

	for (int jobs = 1;; jobs++)
	{
		const char *why = NULL;
		bool		staying;

		SessionJobId = sh->job_id;
		SessionSlot = sh->slot;
		RunCommand(sh);
		/* what others could still meet of this session after its outcome: its advisory locks */
		LockReleaseSession(USER_LOCKMETHOD);
		staying = sh->succeeded && sh->idle_ms > 0 && jobs < sh->max_jobs &&
			TransactionIdIsValid(sh->role_xmin) && mlops_session_reset(sh->role_xmin, &why);
		if (why != NULL)
			elog(DEBUG1, "pg_mlops sql job session ends after job " INT64_FORMAT ": %s",
				 sh->job_id, why);
		SessionJobId = 0;
		SessionSlot = -1;
		pgstat_report_stat(false);
		pg_write_barrier();
		pg_atomic_write_u32(&sh->state, staying ? SESSION_IDLE : SESSION_DONE);
		/* the parent reads the outcome now, not after this process has exited */
		if (sh->parent_pid != 0)
		{
			PGPROC	   *parent = BackendPidGetProc(sh->parent_pid);

			if (parent != NULL)
				SetLatch(&parent->procLatch);
		}
		if (!staying || !WaitForJob(sh))
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	/* the segment is detached at exit, after LeaveIdle */
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(mlops_current_job_id);

/*
 * mlops_current_job_id: the id of the job this session runs, NULL outside
 * a job's session.
 */
Datum
mlops_current_job_id(PG_FUNCTION_ARGS)
{
	if (SessionJobId == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(SessionJobId);
}

PG_FUNCTION_INFO_V1(mlops_set_live_progress);

/*
 * mlops_set_live_progress(fraction, message) writes this session's job's
 * progress into its shared-memory slot (mlops.report_progress calls it
 * inside a job); false outside a job's session.
 */
Datum
mlops_set_live_progress(PG_FUNCTION_ARGS)
{
	float4		fraction = PG_GETARG_FLOAT4(0);
	char	   *message = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (SessionJobId == 0)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(mlops_shmem_progress_set(SessionSlot, SessionJobId, fraction, message));
}

PG_FUNCTION_INFO_V1(mlops_live_progress);

/*
 * mlops_live_progress() returns (id, owner, progress, message) for every
 * running sql job of the current user (of every role for administrators)
 * that reported progress.
 */
Datum
mlops_live_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			nslots = mlops_shmem_progress_slots();
	Oid			user = GetUserId();
	bool		admin = mlops_is_admin(user);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < nslots; i++)
	{
		int64		id;
		Oid			owner;
		float4		fraction;
		bool		reported;
		char		msg[MLOPS_PROGRESS_MESSAGE];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (!mlops_shmem_progress_get(i, &id, &owner, &fraction, msg, &reported) || !reported)
			continue;
		if (!admin && !is_member_of_role(user, owner))
			continue;
		values[0] = Int64GetDatum(id);
		values[1] = ObjectIdGetDatum(owner);
		values[2] = Float4GetDatum(fraction);
		if (msg[0])
			values[3] = CStringGetTextDatum(msg);
		else
			nulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
