/*-------------------------------------------------------------------------
 *
 * jobs.h
 *	  The job engine's shared pieces: shared memory (worker latches for
 *	  wake-on-commit), the registry of job kinds the worker serves, and the
 *	  settings the worker reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MLOPS_JOBS_H
#define MLOPS_JOBS_H

/* Include postgres.h first (as every .c file does); no header includes it. */
#include "utils/jsonb.h"

#include "jobs/transfer.h"

#define MLOPS_MAX_WORKERS 64

/* Most sql sessions one worker runs at once (the range of mlops.max_sql_jobs). */
#define MLOPS_MAX_SQL_SESSIONS 64
#define MLOPS_PROGRESS_MESSAGE 256

/* shmem.c */
extern void mlops_shmem_install_hooks(void);
extern void mlops_shmem_register_worker(int index);
extern int	mlops_shmem_worker_index(void);
extern bool mlops_shmem_worker_alive(void);
extern void mlops_shmem_wake_all(void);
extern void mlops_wake_on_commit(void);
extern uint64 mlops_shmem_wakes(void);
extern void mlops_shmem_progress_claim(int slot, int64 job_id, Oid owner);
extern void mlops_shmem_progress_release(int slot);
extern bool mlops_shmem_progress_set(int slot, int64 job_id, float4 fraction, const char *message);
extern bool mlops_shmem_progress_get(int slot, int64 *job_id, Oid *owner, float4 *fraction,
									 char *message, bool *reported);
extern int	mlops_shmem_progress_slots(void);

/* Settings of the job engine (settings.c). */
extern char *mlops_allowed_hosts;
extern char *mlops_denied_networks;
extern int	mlops_max_sql_jobs;
extern int	mlops_sql_job_timeout_s;
extern int	mlops_sql_session_idle_ms;
extern int	mlops_sql_session_max_jobs;
extern int	mlops_max_job_result_kb;
extern int	mlops_max_transfers;
extern int	mlops_job_retention_s;
extern int	mlops_run_retention_s;
extern int	mlops_max_download_bytes_mb;
extern int	mlops_max_extract_bytes_mb;
extern int	mlops_max_extract_entries;
extern int	mlops_max_list_entries;
extern char *mlops_user_agent;
extern double mlops_geocode_rate;
extern int	mlops_geocode_cache_max_age_s;

/* http_json.c: "<mlops.user_agent> pg_mlops/<version>", or "pg_mlops/<version>" when it is empty */
extern const char *mlops_http_user_agent(void);

/* A job the worker claimed. */
typedef struct ClaimedJob
{
	int64		id;
	char	   *kind;
	Jsonb	   *params;			/* in the worker's loop context */
	Oid			submitted_by;	/* the owner: whose rights and files the job uses */
	int			attempts;		/* this attempt's number: fences the outcome */
	int			max_attempts;
} ClaimedJob;

/* What a kind's run function reports. */
typedef enum JobOutcome
{
	JOB_SUCCEEDED,				/* *result set */
	JOB_FAILED,					/* *error set; *retryable says whether to try again */
	JOB_STARTED					/* an asynchronous transfer started; its end comes later */
} JobOutcome;

typedef struct JobKind
{
	const char *name;
	/* params keys the kind accepts (NULL-terminated) */
	const char *const *keys;
	/* validate: at submit time and again before a run, ereport(ERROR) on bad parameters */
	void		(*validate) (Jsonb *params, Oid owner);
	/* run: in the worker, outside any transaction */
	JobOutcome	(*run) (ClaimedJob *job, transfer_pool *pool, char **result_json,
						char **error, bool *retryable);
	/*
	 * transfer_done: an asynchronous transfer of this kind ended; it may
	 * start the job's next transfer (same job id) and return JOB_STARTED.  A
	 * kind that has it is a transfer kind (mlops_kind_uses_transfer), held to
	 * mlops.max_transfers running at once; no flag repeats that.
	 */
	JobOutcome	(*transfer_done) (int64 job_id, const transfer_result *r, char **result_json,
								  char **error, bool *retryable);
	/*
	 * uses_session: a run takes one of the mlops.max_sql_jobs sessions (see
	 * sql_session.c); the worker claims such kinds only while one is free.
	 */
	bool		uses_session;
	/*
	 * owned_path: the path, as the params give it, whose "<path>.part" a
	 * running job of this kind writes (NULL: none).  The worker's start-up
	 * removal of stale ".part" files spares those of running jobs.  A kind
	 * without it leaves no ".part" behind that is its own.
	 */
	const char *(*owned_path) (Jsonb *params);
	/*
	 * progress: a transfer kind's own progress of a running job (a palloc'd
	 * message, *fraction set), or NULL for the worker's "N bytes"; the http
	 * and geocode kinds count polls and points.
	 */
	char	   *(*progress) (int64 job_id, float4 *fraction);
} JobKind;

/*
 * kinds.c: the registry, the one list of the kinds the worker serves; a new
 * kind is one file and one entry there.  mlops.worker_kinds() and
 * mlops.job_kinds() read it.
 */
extern const JobKind *mlops_find_kind(const char *name);
extern const JobKind *const mlops_job_kinds[];
extern int	mlops_job_kind_count(void);

static inline bool
mlops_kind_uses_transfer(const JobKind *k)
{
	return k->transfer_done != NULL;
}

/* kind_sql.c, kind_download.c, kind_upload.c, kind_extract.c, kind_package.c */
extern const JobKind mlops_kind_sql;
extern const JobKind mlops_kind_download;
extern const JobKind mlops_kind_upload;
extern const JobKind mlops_kind_extract;
extern const JobKind mlops_kind_package;
extern const JobKind mlops_kind_export;
extern const JobKind mlops_kind_mkdir;
extern const JobKind mlops_kind_copy;
extern const JobKind mlops_kind_move;
extern const JobKind mlops_kind_delete;
extern const JobKind mlops_kind_layout;
extern const JobKind mlops_kind_list;
extern const JobKind mlops_kind_stat;
extern const JobKind mlops_kind_http;
extern const JobKind mlops_kind_geocode;

/* Shared checks of params (params.c) */
struct netpolicy;
extern const char *JsonbGetString(Jsonb *params, const char *key, bool required, const char *kind);
extern bool JsonbGetBool(Jsonb *params, const char *key, bool dflt, const char *kind);
extern int	JsonbGetSeconds(Jsonb *params, const char *key, int dflt_ms, const char *kind);
extern void mlops_check_keys(Jsonb *params, const char *kind, const char *const *valid);
extern void mlops_check_object_keys(JsonbContainer *c, const char *where, const char *const *valid);
extern void mlops_reject_secrets(Jsonb *params);
extern const struct netpolicy *mlops_net_policy(void);
extern void mlops_check_url(const char *url);
extern bool mlops_is_admin(Oid role);
extern void mlops_params_forget(void);
extern char *mlops_owner_base(Oid owner);
extern char *mlops_resolve_path(Oid owner, const char *given, char **full, bool *denied);
extern char *mlops_safe_path(Oid owner, const char *given, const char *what);
extern char *mlops_credential_lookup(const char *name, Oid owner, Jsonb **secret, MemoryContext cxt);
extern void mlops_credential_error(const char *name, Oid owner);
extern char *mlops_scrub_paths(const char *msg);
extern void mlops_check_remote_path(const char *value, const char *what);
extern char *mlops_remote_url(const char *base, const char *path);
extern const char *mlops_secret_string(Jsonb *secret, const char *key);
extern char *mlops_with_slash(const char *base);

/* worker.c: one short transaction with SPI, for the worker and the kinds it runs */
extern void mlops_begin_tx(void);
extern void mlops_end_tx(void);

/* worker_finish.c: the outcomes of many jobs, one row update each, in one transaction */
typedef struct JobFinish
{
	int64		id;
	int			attempt;		/* the attempt claimed: fences the outcome */
	JobOutcome	outcome;		/* JOB_SUCCEEDED or JOB_FAILED */
	char	   *result_json;
	char	   *error;
	bool		retryable;
} JobFinish;

extern void mlops_finish_jobs(const JobFinish *f, int n);
extern bool mlops_write_outcomes(const JobFinish *f, int n);
/* fn(arg) in a subtransaction: NULL, or its error copied into cxt (rolled back alone) */
extern ErrorData *mlops_subxact(void (*fn) (void *arg), void *arg, MemoryContext cxt);

/* sql_session.c: sql jobs, each in a session of its own as its owner */
typedef struct SqlOutcome
{
	int64		job_id;
	int			attempt;
	JobOutcome	outcome;		/* JOB_SUCCEEDED or JOB_FAILED */
	char	   *result_json;
	char	   *error;
	bool		retryable;
	bool		reported;		/* the job reported progress: its last report follows */
	float4		fraction;
	char	   *message;		/* NULL when empty */
} SqlOutcome;

/* An export: the session writes the query's single value to a file (kind_export.c). */
typedef struct SqlExport
{
	const char *path;			/* as the job gave it */
	const char *work_rel;		/* relative to the work directory, checked */
	bool		overwrite;
} SqlExport;

extern bool mlops_sql_session_start(ClaimedJob *job, const char *command, int timeout_ms,
									const SqlExport *export, char **error, bool *retryable);
extern void mlops_check_session_owner(Oid owner);
extern char *mlops_work_relative(Oid owner, const char *given, const char *what);
extern int	mlops_sql_sessions_running(void);
extern int	mlops_sql_sessions_collect(SqlOutcome *out, int max);
extern void mlops_sql_sessions_check(void);
extern int	mlops_sql_sessions_ids(int64 *ids, int max);
extern void mlops_sql_session_cancel(int64 job_id);
extern bool mlops_sql_session_progress(int64 job_id, float4 *fraction, char **message);

/* sql_session_reset.c: a session's reset between two jobs of its role */
extern TransactionId mlops_session_reuse_begin(Oid role);
extern bool mlops_session_reset(TransactionId xmin, const char **why);
extern uint64 mlops_roles_epoch(void);
extern bool mlops_role_still_fit(Oid role, TransactionId xmin);

#endif							/* MLOPS_JOBS_H */
