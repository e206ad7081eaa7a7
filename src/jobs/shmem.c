/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of pg_mlops: the workers' PIDs and latches, so that a
 *	  committed submit wakes them (set from a transaction callback, once per
 *	  transaction), and so that job functions can tell whether a worker runs.
 *	  It also holds the live progress of running sql jobs: a job's session
 *	  writes its slot (mlops.report_progress inside the job) and any
 *	  backend reads it at once (mlops.job_progress), without waiting for
 *	  the job's transaction to commit.  Only shareable state lives here: a
 *	  spinlock, PIDs, latch pointers (latches live in PGPROC, in shared
 *	  memory) and fixed-size progress slots.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

/* The live progress of one running sql job. */
typedef struct ProgressSlot
{
	int64		job_id;			/* 0: free */
	Oid			owner;
	bool		reported;		/* the job reported progress at least once */
	float4		fraction;
	char		message[MLOPS_PROGRESS_MESSAGE];
} ProgressSlot;

typedef struct MlopsShared
{
	slock_t		mutex;
	pid_t		pids[MLOPS_MAX_WORKERS];
	Latch	   *latches[MLOPS_MAX_WORKERS];
	pg_atomic_uint64 wakes;		/* wake-ups asked for so far (mlops_shmem_wakes) */
	int			nslots;
	ProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} MlopsShared;

#define SHARED_SIZE(nslots) (offsetof(MlopsShared, slots) + sizeof(ProgressSlot) * (nslots))

static MlopsShared *Shared = NULL;
static shmem_request_hook_type PrevShmemRequest = NULL;
static shmem_startup_hook_type PrevShmemStartup = NULL;
static int	MyWorkerIndex = -1;

static void ShmemRequest(void);
static void ShmemStartup(void);
static void UnregisterWorker(int code, Datum arg);

/*
 * mlops_shmem_install_hooks chains our shmem_request and shmem_startup hooks
 * (PostgreSQL 15: space is requested in shmem_request_hook).
 */
void
mlops_shmem_install_hooks(void)
{
	PrevShmemRequest = shmem_request_hook;
	shmem_request_hook = ShmemRequest;
	PrevShmemStartup = shmem_startup_hook;
	shmem_startup_hook = ShmemStartup;
}

static void
ShmemRequest(void)
{
	if (PrevShmemRequest)
		PrevShmemRequest();
	RequestAddinShmemSpace(MAXALIGN(SHARED_SIZE(mlops_workers * MLOPS_MAX_SQL_SESSIONS)));
}

static void
ShmemStartup(void)
{
	bool		found;

	if (PrevShmemStartup)
		PrevShmemStartup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	Shared = ShmemInitStruct("pg_mlops", SHARED_SIZE(mlops_workers * MLOPS_MAX_SQL_SESSIONS), &found);
	if (!found)
	{
		memset(Shared, 0, SHARED_SIZE(mlops_workers * MLOPS_MAX_SQL_SESSIONS));
		SpinLockInit(&Shared->mutex);
		pg_atomic_init_u64(&Shared->wakes, 0);
		Shared->nslots = mlops_workers * MLOPS_MAX_SQL_SESSIONS;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * mlops_shmem_register_worker records this worker's PID and latch in its
 * slot, and clears them when the process exits.
 */
void
mlops_shmem_register_worker(int index)
{
	if (Shared == NULL || index < 0 || index >= MLOPS_MAX_WORKERS)
		return;
	MyWorkerIndex = index;
	SpinLockAcquire(&Shared->mutex);
	Shared->pids[index] = MyProcPid;
	Shared->latches[index] = MyLatch;
	SpinLockRelease(&Shared->mutex);
	before_shmem_exit(UnregisterWorker, (Datum) 0);
}

/* mlops_shmem_worker_index: this worker's index (0-based), -1 outside a worker. */
int
mlops_shmem_worker_index(void)
{
	return MyWorkerIndex;
}

static void
UnregisterWorker(int code, Datum arg)
{
	if (Shared == NULL || MyWorkerIndex < 0)
		return;
	SpinLockAcquire(&Shared->mutex);
	if (Shared->pids[MyWorkerIndex] == MyProcPid)
	{
		Shared->pids[MyWorkerIndex] = 0;
		Shared->latches[MyWorkerIndex] = NULL;
	}
	SpinLockRelease(&Shared->mutex);
}

/*
 * mlops_shmem_worker_alive: some worker registered and its process exists.
 * False when the library was not preloaded (no shared memory).
 */
bool
mlops_shmem_worker_alive(void)
{
	pid_t		pids[MLOPS_MAX_WORKERS];

	if (Shared == NULL)
		return false;
	/* copy under the spinlock, make system calls outside it */
	SpinLockAcquire(&Shared->mutex);
	memcpy(pids, Shared->pids, sizeof(pids));
	SpinLockRelease(&Shared->mutex);
	for (int i = 0; i < MLOPS_MAX_WORKERS; i++)
		if (pids[i] != 0 && kill(pids[i], 0) == 0)
			return true;
	return false;
}

/*
 * mlops_shmem_wake_all sets every registered worker's latch.
 */
void
mlops_shmem_wake_all(void)
{
	Latch	   *latches[MLOPS_MAX_WORKERS];

	if (Shared == NULL)
		return;
	pg_atomic_fetch_add_u64(&Shared->wakes, 1);
	/* SetLatch may signal a process: not while holding the spinlock */
	SpinLockAcquire(&Shared->mutex);
	for (int i = 0; i < MLOPS_MAX_WORKERS; i++)
		latches[i] = Shared->pids[i] != 0 ? Shared->latches[i] : NULL;
	SpinLockRelease(&Shared->mutex);
	for (int i = 0; i < MLOPS_MAX_WORKERS; i++)
		if (latches[i] != NULL)
			SetLatch(latches[i]);
}

/*
 * mlops_shmem_wakes: how many wake-ups were asked for so far (work queued,
 * unblocked or retried): a worker that found nothing to claim need not ask
 * again while it has not changed.
 */
uint64
mlops_shmem_wakes(void)
{
	return Shared != NULL ? pg_atomic_read_u64(&Shared->wakes) : 0;
}

/* mlops_shmem_progress_slots: how many progress slots exist (0 without preloading). */
int
mlops_shmem_progress_slots(void)
{
	return Shared ? Shared->nslots : 0;
}

/*
 * mlops_shmem_progress_claim gives a slot to a job that starts; its
 * progress is unknown until the job reports.
 */
void
mlops_shmem_progress_claim(int slot, int64 job_id, Oid owner)
{
	if (Shared == NULL || slot < 0 || slot >= Shared->nslots)
		return;
	SpinLockAcquire(&Shared->mutex);
	Shared->slots[slot].job_id = job_id;
	Shared->slots[slot].owner = owner;
	Shared->slots[slot].reported = false;
	Shared->slots[slot].fraction = 0;
	Shared->slots[slot].message[0] = '\0';
	SpinLockRelease(&Shared->mutex);
}

/* mlops_shmem_progress_release frees a slot once its job has ended. */
void
mlops_shmem_progress_release(int slot)
{
	if (Shared == NULL || slot < 0 || slot >= Shared->nslots)
		return;
	SpinLockAcquire(&Shared->mutex);
	Shared->slots[slot].job_id = 0;
	SpinLockRelease(&Shared->mutex);
}

/*
 * mlops_shmem_progress_set writes a job's progress into its slot; false when
 * the slot no longer belongs to that job.  message may be NULL.
 */
bool
mlops_shmem_progress_set(int slot, int64 job_id, float4 fraction, const char *message)
{
	bool		ok = false;

	if (Shared == NULL || slot < 0 || slot >= Shared->nslots)
		return false;
	SpinLockAcquire(&Shared->mutex);
	if (Shared->slots[slot].job_id == job_id)
	{
		Shared->slots[slot].fraction = fraction;
		Shared->slots[slot].reported = true;
		strlcpy(Shared->slots[slot].message, message ? message : "", MLOPS_PROGRESS_MESSAGE);
		ok = true;
	}
	SpinLockRelease(&Shared->mutex);
	return ok;
}

/*
 * mlops_shmem_progress_get copies a slot out; false when it is free.
 * message must hold MLOPS_PROGRESS_MESSAGE bytes.
 */
bool
mlops_shmem_progress_get(int slot, int64 *job_id, Oid *owner, float4 *fraction,
						 char *message, bool *reported)
{
	if (Shared == NULL || slot < 0 || slot >= Shared->nslots)
		return false;
	SpinLockAcquire(&Shared->mutex);
	*job_id = Shared->slots[slot].job_id;
	*owner = Shared->slots[slot].owner;
	*fraction = Shared->slots[slot].fraction;
	*reported = Shared->slots[slot].reported;
	memcpy(message, Shared->slots[slot].message, MLOPS_PROGRESS_MESSAGE);
	SpinLockRelease(&Shared->mutex);
	return *job_id != 0;
}
