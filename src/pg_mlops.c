/*-------------------------------------------------------------------------
 *
 * pg_mlops.c
 *	  Library entry point.  _PG_init only registers and delegates: the
 *	  settings live in settings.c, the background worker in jobs/worker.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init defines the mlops.* settings and, when the library is being
 * preloaded, installs the shared-memory hooks and registers the background
 * workers.  Loaded later (by a plain
 * CREATE EXTENSION or LOAD) only the settings exist: the pure SQL functions
 * work, and the job functions say that no worker runs.
 */
void
_PG_init(void)
{
	mlops_define_settings();

	if (process_shared_preload_libraries_in_progress)
	{
		mlops_shmem_install_hooks();
		mlops_register_workers();
	}
}
