/*-------------------------------------------------------------------------
 *
 * kind_files.c
 *	  Job kinds "mkdir", "copy", "move" and "delete": files and folders of
 *	  the owner's file areas, for pipelines (fileops.c does the work).
 *
 *	    mkdir   {"path"}
 *	    copy    {"source", "dest", "overwrite": false}
 *	    move    {"source", "dest", "overwrite": false}
 *	    delete  {"path", "recursive": false}
 *
 *	  Paths are resolved in the owner's areas (params.c: own files, granted
 *	  "@area/..." paths), then handed to the kernel relative to the work
 *	  directory, which walks them without following a symbolic link.  All
 *	  are idempotent: a rerun that finds the work done succeeds with
 *	  "already_there": true.  A copy is bounded by mlops.max_extract_bytes
 *	  and mlops.max_extract_entries, checked before anything is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "lib/stringinfo.h"
#include "utils/json.h"

#include "jobs/fileops.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

static void MkdirValidate(Jsonb *params, Oid owner);
static void CopyValidate(Jsonb *params, Oid owner);
static void MoveValidate(Jsonb *params, Oid owner);
static void DeleteValidate(Jsonb *params, Oid owner);
static JobOutcome MkdirRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable);
static JobOutcome CopyRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable);
static JobOutcome MoveRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable);
static JobOutcome DeleteRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable);
static const char *CopyOwnedPath(Jsonb *params);

static const char *const MkdirKeys[] = {"path", NULL};
static const char *const CopyKeys[] = {"source", "dest", "overwrite", NULL};
static const char *const DeleteKeys[] = {"path", "recursive", NULL};

const JobKind mlops_kind_mkdir = {
	.name = "mkdir",
	.keys = MkdirKeys,
	.validate = MkdirValidate,
	.run = MkdirRun,
};
const JobKind mlops_kind_copy = {
	.name = "copy",
	.keys = CopyKeys,
	.validate = CopyValidate,
	.run = CopyRun,
	.owned_path = CopyOwnedPath,
};
const JobKind mlops_kind_move = {
	.name = "move",
	.keys = CopyKeys,
	.validate = MoveValidate,
	.run = MoveRun,
	.owned_path = CopyOwnedPath,
};
const JobKind mlops_kind_delete = {
	.name = "delete",
	.keys = DeleteKeys,
	.validate = DeleteValidate,
	.run = DeleteRun,
};

/* CopyOwnedPath: a copy (and a move that copies) writes "<dest>.part". */
static const char *
CopyOwnedPath(Jsonb *params)
{
	return JsonbGetString(params, "dest", false, "copy");
}

/*
 * WorkRelative resolves a job's path in the owner's areas and returns it
 * relative to the work directory, as the kernel takes it.
 */
char *
mlops_work_relative(Oid owner, const char *given, const char *what)
{
	char	   *full = mlops_safe_path(owner, given, what);
	char	   *work = mlops_work_dir_path();
	size_t		wl = strlen(work);

	if (strncmp(full, work, wl) != 0)
		elog(ERROR, "resolved path is not under the work directory");
	if (full[wl] == '\0')
		return pstrdup("");
	return pstrdup(full + wl + 1);
}

static void
MkdirValidate(Jsonb *params, Oid owner)
{
	(void) mlops_work_relative(owner, JsonbGetString(params, "path", true, "mkdir"), "path");
}

static void
CopyValidate(Jsonb *params, Oid owner)
{
	(void) mlops_work_relative(owner, JsonbGetString(params, "source", true, "copy"), "source");
	(void) mlops_work_relative(owner, JsonbGetString(params, "dest", true, "copy"), "dest");
	(void) JsonbGetBool(params, "overwrite", false, "copy");
}

static void
MoveValidate(Jsonb *params, Oid owner)
{
	(void) mlops_work_relative(owner, JsonbGetString(params, "source", true, "move"), "source");
	(void) mlops_work_relative(owner, JsonbGetString(params, "dest", true, "move"), "dest");
	(void) JsonbGetBool(params, "overwrite", false, "move");
}

static void
DeleteValidate(Jsonb *params, Oid owner)
{
	const char *path = JsonbGetString(params, "path", true, "delete");
	char	   *rel = mlops_work_relative(owner, path, "path");

	(void) JsonbGetBool(params, "recursive", false, "delete");
	/* an area's own folder is not a job's to delete */
	if (rel[0] == '\0' || path[strspn(path, "./")] == '\0' ||
		(path[0] == '@' && strchr(path, '/') == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.path \"%s\" names a whole file area, which a job may not delete", path)));
}

/*
 * Outcome turns the kernel's result into a job outcome: the result names
 * the path as the job gave it, with what was done.
 */
static JobOutcome
Outcome(bool ok, const fileops_result *res, const char *key, const char *given,
		char **result_json, char **error, bool *retryable)
{
	StringInfoData buf;

	if (!ok)
	{
		*error = pstrdup(res->message[0] ? res->message : fileops_status_name(res->status));
		/* another writer of the same destination, or a file system hiccup: worth another try */
		*retryable = res->status == FILEOPS_BUSY || res->status == FILEOPS_IO || res->status == FILEOPS_CHANGED;
		return JOB_FAILED;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"%s\": ", key);
	escape_json(&buf, given);
	appendStringInfo(&buf, ", \"files\": " INT64_FORMAT ", \"folders\": " INT64_FORMAT
					 ", \"bytes\": " INT64_FORMAT ", \"already_there\": %s}",
					 (int64) res->files, (int64) res->folders, (int64) res->bytes,
					 res->already_there ? "true" : "false");
	*result_json = buf.data;
	return JOB_SUCCEEDED;
}

/*
 * OpenWork opens the work directory for the kernel; -1 with an error.
 */
static int
OpenWork(fileops_result *res, char **error, bool *retryable)
{
	int			fd = fileops_open_base(mlops_work_dir_path(), res);

	if (fd < 0)
	{
		*error = psprintf("cannot open the work directory: %s", res->message);
		*retryable = true;
	}
	return fd;
}

static JobOutcome
MkdirRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	const char *given = JsonbGetString(job->params, "path", true, "mkdir");
	char	   *rel = mlops_work_relative(job->submitted_by, given, "path");
	fileops_result res;
	int			fd = OpenWork(&res, error, retryable);
	bool		ok;

	if (fd < 0)
		return JOB_FAILED;
	ok = fileops_mkdir(fd, rel, &res);
	close(fd);
	return Outcome(ok, &res, "path", given, result_json, error, retryable);
}

/*
 * CopyOrMove runs a copy or a move within the extract limits.
 */
static JobOutcome
CopyOrMove(ClaimedJob *job, bool move, char **result_json, char **error, bool *retryable)
{
	const char *kind = move ? "move" : "copy";
	const char *src = JsonbGetString(job->params, "source", true, kind);
	const char *dest = JsonbGetString(job->params, "dest", true, kind);
	char	   *src_rel = mlops_work_relative(job->submitted_by, src, "source");
	char	   *dest_rel = mlops_work_relative(job->submitted_by, dest, "dest");
	fileops_overwrite ow = JsonbGetBool(job->params, "overwrite", false, kind) ? FILEOPS_REPLACE : FILEOPS_KEEP;
	fileops_limits limits;
	fileops_result res;
	int			fd = OpenWork(&res, error, retryable);
	bool		ok;

	if (fd < 0)
		return JOB_FAILED;
	limits.max_bytes = (int64) mlops_max_extract_bytes_mb * 1024 * 1024;
	limits.max_entries = mlops_max_extract_entries;
	ok = move ? fileops_move(fd, src_rel, dest_rel, ow, &limits, &res)
		: fileops_copy(fd, src_rel, dest_rel, ow, &limits, &res);
	close(fd);
	return Outcome(ok, &res, "dest", dest, result_json, error, retryable);
}

static JobOutcome
CopyRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	return CopyOrMove(job, false, result_json, error, retryable);
}

static JobOutcome
MoveRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	return CopyOrMove(job, true, result_json, error, retryable);
}

static JobOutcome
DeleteRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	const char *given = JsonbGetString(job->params, "path", true, "delete");
	char	   *rel = mlops_work_relative(job->submitted_by, given, "path");
	bool		recursive = JsonbGetBool(job->params, "recursive", false, "delete");
	fileops_result res;
	int			fd = OpenWork(&res, error, retryable);
	bool		ok;

	if (fd < 0)
		return JOB_FAILED;
	ok = fileops_delete(fd, rel, recursive, &res);
	close(fd);
	return Outcome(ok, &res, "path", given, result_json, error, retryable);
}
