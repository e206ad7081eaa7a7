/*-------------------------------------------------------------------------
 *
 * kind_package.c
 *	  Job kind "package": {"source": "sets/diatoms", "path":
 *	  "out/diatom_set-%Y-%m-%d-%H-%M-%S.zip"} zips a folder under
 *	  mlops.work_dir; the file name may hold a strftime template, filled in
 *	  UTC when the job runs (the original used local time).  Already
 *	  compressed files are stored, others deflated; the zip is written to
 *	  ".part" and renamed (archive_package.c).  A name already taken is
 *	  never an error: a file with the same bytes is the package (a rerun),
 *	  another gets "-1", "-2", ... before the extension; the result names
 *	  the file.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "utils/json.h"

#include "jobs/archive.h"
#include "jobs/jobs.h"

static void PackageValidate(Jsonb *params, Oid owner);
static JobOutcome PackageRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
							 char **error, bool *retryable);

static const char *const PackageKeys[] = {"source", "path", NULL};

const JobKind mlops_kind_package = {
	.name = "package",
	.keys = PackageKeys,
	.validate = PackageValidate,
	.run = PackageRun,
};

/*
 * ExpandName fills the strftime template in UTC; only the conversions that
 * make file names (%Y %m %d %H %M %S %j %%) are accepted.
 */
static char *
ExpandName(const char *template)
{
	char		out[MAXPGPATH];
	time_t		now = time(NULL);
	struct tm	tm;

	for (const char *p = template; *p; p++)
		if (*p == '%' && (p[1] == '\0' || strchr("YmdHMSj%", p[1]) == NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.path of a package job may use only %%Y %%m %%d %%H %%M %%S %%j and %%%%")));
		else if (*p == '%')
			p++;
	gmtime_r(&now, &tm);
	if (strftime(out, sizeof(out), template, &tm) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.path of a package job is too long")));
	return pstrdup(out);
}

static void
PackageValidate(Jsonb *params, Oid owner)
{
	(void) mlops_safe_path(owner, JsonbGetString(params, "source", true, "package"), "source");
	(void) mlops_safe_path(owner, ExpandName(JsonbGetString(params, "path", true, "package")), "path");
}

static JobOutcome
PackageRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	char	   *rel = ExpandName(JsonbGetString(job->params, "path", true, "package"));
	char	   *src = mlops_safe_path(job->submitted_by, JsonbGetString(job->params, "source", true, "package"), "source");
	char	   *dest = mlops_safe_path(job->submitted_by, rel, "path");
	char	   *parent = pstrdup(dest);
	char	   *slash = strrchr(parent, '/');
	int64_t		files = 0,
				bytes = 0;
	int			suffix = 0;
	bool		already_there = false;
	char		err[1024];
	char		name[MAXPGPATH];
	StringInfoData buf;

	*retryable = false;
	if (slash)
		*slash = '\0';
	if (pg_mkdir_p(parent, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		*error = psprintf("could not create the directory of params.path: %m");
		return JOB_FAILED;
	}
	if (!archive_package(src, dest, &files, &bytes, &suffix, &already_there, err, sizeof(err)))
	{
		*error = mlops_scrub_paths(err);
		return JOB_FAILED;
	}
	if (!archive_suffixed_name(rel, suffix, name, sizeof(name)))
	{
		*error = pstrdup("params.path is too long");
		return JOB_FAILED;
	}
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"path\": ");
	escape_json(&buf, name);
	appendStringInfo(&buf, ", \"files\": " INT64_FORMAT ", \"size\": " INT64_FORMAT ", \"already_there\": %s}",
					 (int64) files, (int64) bytes, already_there ? "true" : "false");
	*result_json = buf.data;
	return JOB_SUCCEEDED;
}
