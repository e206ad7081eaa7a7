/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of pg_mlops: the workers' PIDs and latches, so that a
 *	  committed submit wakes them (set from a transaction callback, once per
 *	  transaction), and so that job functions can tell whether a worker runs.
 *	  Only shareable state lives here: a spinlock, PIDs, latch pointers
 *	  (latches live in PGPROC, in shared memory).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

typedef struct MlopsShared
{
	slock_t		mutex;
	pid_t		pids[MLOPS_MAX_WORKERS];
	Latch	   *latches[MLOPS_MAX_WORKERS];
} MlopsShared;

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
	RequestAddinShmemSpace(MAXALIGN(sizeof(MlopsShared)));
}

static void
ShmemStartup(void)
{
	bool		found;

	if (PrevShmemStartup)
		PrevShmemStartup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	Shared = ShmemInitStruct("pg_mlops", sizeof(MlopsShared), &found);
	if (!found)
	{
		memset(Shared, 0, sizeof(MlopsShared));
		SpinLockInit(&Shared->mutex);
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
	/* SetLatch may signal a process: not while holding the spinlock */
	SpinLockAcquire(&Shared->mutex);
	for (int i = 0; i < MLOPS_MAX_WORKERS; i++)
		latches[i] = Shared->pids[i] != 0 ? Shared->latches[i] : NULL;
	SpinLockRelease(&Shared->mutex);
	for (int i = 0; i < MLOPS_MAX_WORKERS; i++)
		if (latches[i] != NULL)
			SetLatch(latches[i]);
}
