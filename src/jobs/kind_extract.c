/*-------------------------------------------------------------------------
 *
 * kind_extract.c
 *	  Job kind "extract": {"archive": "raw/set.zip", "dest": "raw/set"}
 *	  unpacks a zip or tar archive (gzip, bzip2, xz) under mlops.work_dir into
 *	  a new folder, refusing absolute paths, "..", links, devices and archives
 *	  larger than mlops.max_extract_bytes or mlops.max_extract_entries, with
 *	  nothing left behind (archive.c).  The result lists the files written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "utils/json.h"

#include "jobs/archive.h"
#include "jobs/jobs.h"

static void ExtractValidate(Jsonb *params, Oid owner);
static JobOutcome ExtractRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
							 char **error, bool *retryable);
static const char *ExtractOwnedPath(Jsonb *params);

static const char *const ExtractKeys[] = {"archive", "dest", NULL};

const JobKind mlops_kind_extract = {
	.name = "extract",
	.keys = ExtractKeys,
	.validate = ExtractValidate,
	.run = ExtractRun,
	.owned_path = ExtractOwnedPath,
};

/* ExtractOwnedPath: an extraction writes the folder "<dest>.part". */
static const char *
ExtractOwnedPath(Jsonb *params)
{
	return JsonbGetString(params, "dest", false, "extract");
}

static void
ExtractValidate(Jsonb *params, Oid owner)
{
	(void) mlops_safe_path(owner, JsonbGetString(params, "archive", true, "extract"), "archive");
	(void) mlops_safe_path(owner, JsonbGetString(params, "dest", true, "extract"), "dest");
}

static JobOutcome
ExtractRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	const char *dest_rel = JsonbGetString(job->params, "dest", true, "extract");
	char	   *src = mlops_safe_path(job->submitted_by, JsonbGetString(job->params, "archive", true, "extract"), "archive");
	char	   *dest = mlops_safe_path(job->submitted_by, dest_rel, "dest");
	char	   *parent = pstrdup(dest);
	char	   *slash = strrchr(parent, '/');
	archive_limits limits;
	archive_listing listing;
	char		err[1024];
	StringInfoData buf;

	*retryable = false;
	if (slash)
		*slash = '\0';
	if (pg_mkdir_p(parent, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		*error = psprintf("could not create the directory of params.dest: %m");
		return JOB_FAILED;
	}
	limits.max_bytes = (int64) mlops_max_extract_bytes_mb * 1024 * 1024;
	limits.max_entries = mlops_max_extract_entries;
	if (!archive_extract(src, dest, &limits, &listing, err, sizeof(err)))
	{
		*error = pstrdup(err);
		return JOB_FAILED;
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"dest\": ");
	escape_json(&buf, dest_rel);
	appendStringInfo(&buf, ", \"count\": %zu, \"bytes\": " INT64_FORMAT ", \"files\": [",
					 listing.count, (int64) listing.total_bytes);
	for (size_t i = 0; i < listing.count; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"path\": ");
		escape_json(&buf, listing.entries[i].path);
		appendStringInfo(&buf, ", \"size\": " INT64_FORMAT "}", (int64) listing.entries[i].size);
	}
	appendStringInfoString(&buf, "]}");
	archive_listing_free(&listing);
	*result_json = buf.data;
	return JOB_SUCCEEDED;
}
