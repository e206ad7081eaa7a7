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

#include "postgres.h"

#include "utils/jsonb.h"

#include "jobs/transfer.h"

#define MLOPS_MAX_WORKERS 64

/* shmem.c */
extern void mlops_shmem_install_hooks(void);
extern void mlops_shmem_register_worker(int index);
extern bool mlops_shmem_worker_alive(void);
extern void mlops_shmem_wake_all(void);

/* Settings of the job engine (settings.c). */
extern char *mlops_allowed_hosts;
extern int	mlops_max_transfers;
extern int	mlops_job_retention_s;
extern int	mlops_max_download_bytes_mb;
extern int	mlops_max_extract_bytes_mb;
extern int	mlops_max_extract_entries;

/* A job the worker claimed. */
typedef struct ClaimedJob
{
	int64		id;
	char	   *kind;
	Jsonb	   *params;			/* in the worker's loop context */
	Oid			submitted_by;
	int			attempts;
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
	/* validate: at submit time, ereport(ERROR) on bad parameters */
	void		(*validate) (Jsonb *params);
	/* run: in the worker, outside any transaction */
	JobOutcome	(*run) (ClaimedJob *job, transfer_pool *pool, char **result_json,
						char **error, bool *retryable);
	/* transfer_done: an asynchronous transfer of this kind ended */
	JobOutcome	(*transfer_done) (int64 job_id, const transfer_result *r, char **result_json,
								  char **error, bool *retryable);
} JobKind;

/* kinds.c: the registry; a new kind is one file and one entry there. */
extern const JobKind *mlops_find_kind(const char *name);
extern const JobKind *const mlops_job_kinds[];

/* kind_sql.c, kind_download.c, kind_upload.c, kind_extract.c, kind_package.c */
extern const JobKind mlops_kind_sql;
extern const JobKind mlops_kind_download;
extern const JobKind mlops_kind_upload;
extern const JobKind mlops_kind_extract;
extern const JobKind mlops_kind_package;

/* Shared checks (jobs_sql.c) */
extern const char *JsonbGetString(Jsonb *params, const char *key, bool required, const char *kind);
extern char *mlops_safe_path(const char *relative, const char *what);
extern void mlops_check_url(const char *url);
extern void mlops_reject_secrets(Jsonb *params);
extern bool JsonbGetBool(Jsonb *params, const char *key, bool dflt, const char *kind);

#endif							/* MLOPS_JOBS_H */
