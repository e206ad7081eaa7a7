/*-------------------------------------------------------------------------
 *
 * kinds.c
 *	  The registry of job kinds the background worker serves.  A new kind is
 *	  one file (kind_<name>.c defining a JobKind: its params keys, checks and
 *	  run, and whether it transfers, takes a session or owns a ".part"
 *	  file; see jobs.h) and one entry here.  mlops.worker_kinds() and
 *	  mlops.job_kinds() read this list, and the worker reads the kinds'
 *	  flags instead of naming kinds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "jobs/jobs.h"

const JobKind *const mlops_job_kinds[] = {
	&mlops_kind_sql,
	&mlops_kind_download,
	&mlops_kind_upload,
	&mlops_kind_extract,
	&mlops_kind_package,
	&mlops_kind_export,
	&mlops_kind_mkdir,
	&mlops_kind_copy,
	&mlops_kind_move,
	&mlops_kind_delete,
	&mlops_kind_layout,
	&mlops_kind_list,
	&mlops_kind_stat,
	&mlops_kind_http,
	&mlops_kind_geocode,
	NULL
};

/* mlops_find_kind returns the kind of that name, or NULL (an external worker's kind). */
const JobKind *
mlops_find_kind(const char *name)
{
	for (int i = 0; mlops_job_kinds[i] != NULL; i++)
		if (strcmp(mlops_job_kinds[i]->name, name) == 0)
			return mlops_job_kinds[i];
	return NULL;
}

/* mlops_job_kind_count returns the number of kinds in the registry. */
int
mlops_job_kind_count(void)
{
	int			n = 0;

	while (mlops_job_kinds[n] != NULL)
		n++;
	return n;
}
