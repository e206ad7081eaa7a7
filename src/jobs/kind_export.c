/*-------------------------------------------------------------------------
 *
 * kind_export.c
 *	  Job kind "export": {"query": "...", "path": "out/map.tif",
 *	  "overwrite": false, "timeout": seconds} runs the query in a session of
 *	  its own as the job's owner (as an sql job does) and writes its single
 *	  value to a file of the owner's areas: a bytea as its bytes (a GeoTIFF
 *	  from ST_AsGDALRaster, a PNG from mlops.heatmap_png), anything else as
 *	  its text (a JSON document, an SVG).  The file is written through
 *	  "<path>.part" without following a symbolic link; a rerun that finds
 *	  the same bytes succeeds with "already_there": true.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

static void ExportValidate(Jsonb *params, Oid owner);
static JobOutcome ExportRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
							char **error, bool *retryable);
static const char *ExportOwnedPath(Jsonb *params);

static const char *const ExportKeys[] = {"query", "path", "overwrite", "timeout", NULL};

/* An export runs its query in a session of its own, as an sql job does. */
const JobKind mlops_kind_export = {
	.name = "export",
	.keys = ExportKeys,
	.validate = ExportValidate,
	.run = ExportRun,
	.uses_session = true,
	.owned_path = ExportOwnedPath,
};

/* ExportOwnedPath: an export's session writes "<path>.part". */
static const char *
ExportOwnedPath(Jsonb *params)
{
	return JsonbGetString(params, "path", false, "export");
}

/*
 * ExportValidate: a query, a path of the owner's areas (not an area
 * itself), and an owner that can log in.
 */
static void
ExportValidate(Jsonb *params, Oid owner)
{
	const char *query = JsonbGetString(params, "query", true, "export");
	char	   *rel;

	if (query[strspn(query, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.query of an export job is empty")));
	rel = mlops_work_relative(owner, JsonbGetString(params, "path", true, "export"), "path");
	if (rel[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.path of an export job must name a file")));
	(void) JsonbGetBool(params, "overwrite", false, "export");
	(void) JsonbGetSeconds(params, "timeout", 0, "export");
	mlops_check_session_owner(owner);
}

/*
 * ExportRun starts the job's session; the outcome comes later, as an sql
 * job's does.
 */
static JobOutcome
ExportRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	SqlExport	ex;
	int			timeout_ms = JsonbGetSeconds(job->params, "timeout",
											 mlops_sql_job_timeout_s > 0 ? mlops_sql_job_timeout_s * 1000 : 0,
											 "export");

	ex.path = JsonbGetString(job->params, "path", true, "export");
	ex.work_rel = mlops_work_relative(job->submitted_by, ex.path, "path");
	ex.overwrite = JsonbGetBool(job->params, "overwrite", false, "export");
	if (!mlops_sql_session_start(job, JsonbGetString(job->params, "query", true, "export"), timeout_ms,
								 &ex, error, retryable))
		return JOB_FAILED;
	return JOB_STARTED;
}
