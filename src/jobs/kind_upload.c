/*-------------------------------------------------------------------------
 *
 * kind_upload.c
 *	  Job kind "upload": {"path": "out/set.zip", "credential": "owncloud",
 *	  "target": "datasets/set.zip", "delete_after": false, "sha256": false}
 *	  (a target ending in "/" is a folder: the file's own name is added)
 *	  sends a file under mlops.work_dir to the storage a credential names:
 *	  WebDAV (MKCOL of the missing parent collections, then PUT), S3 (SigV4,
 *	  multipart for large files) or plain HTTP PUT, on the worker's libcurl
 *	  multi handle.  The secret is read from mlops.credentials by the worker
 *	  at run time and never stored in the job.  "delete_after" removes the
 *	  local file only after a confirmed success.  "sha256": true puts the
 *	  file's SHA-256 in the result of a WebDAV or HTTP upload too (S3 uploads
 *	  always have it: their signature needs it); it is off by default because
 *	  hashing costs more CPU than the upload itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

static void UploadValidate(Jsonb *params, Oid owner);
static JobOutcome UploadRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
							char **error, bool *retryable);
static JobOutcome UploadDone(int64 job_id, const transfer_result *r, char **result_json,
							 char **error, bool *retryable);

static const char *const UploadKeys[] = {"path", "credential", "target", "delete_after", "sha256", NULL};

const JobKind mlops_kind_upload = {
	.name = "upload",
	.keys = UploadKeys,
	.validate = UploadValidate,
	.run = UploadRun,
	.transfer_done = UploadDone,
};

/* Uploads that asked for delete_after, and their local files (job id -> path). */
typedef struct PendingDelete
{
	int64		job_id;
	char	   *path;
	struct PendingDelete *next;
} PendingDelete;

static PendingDelete *Deletes = NULL;

/*
 * Target: params.target, with the file's own name added when it ends in "/"
 * (a folder on the store: "datasets/" + "diatom_set-....zip").
 */
static const char *
Target(Jsonb *params)
{
	const char *target = JsonbGetString(params, "target", true, "upload");
	const char *path = JsonbGetString(params, "path", true, "upload");
	size_t		len = strlen(target);

	if (len > 0 && target[len - 1] == '/')
	{
		const char *slash = strrchr(path, '/');

		target = psprintf("%s%s", target, slash ? slash + 1 : path);
	}
	mlops_check_remote_path(target, "target");
	return target;
}

/*
 * UploadValidate: a file of the owner's areas, a safe target, and a
 * credential granted to the owner.
 */
static void
UploadValidate(Jsonb *params, Oid owner)
{
	const char *credential = JsonbGetString(params, "credential", true, "upload");

	(void) mlops_safe_path(owner, JsonbGetString(params, "path", true, "upload"), "path");
	(void) Target(params);
	(void) JsonbGetBool(params, "delete_after", false, "upload");
	(void) JsonbGetBool(params, "sha256", false, "upload");
	if (mlops_credential_lookup(credential, owner, NULL, CurrentMemoryContext) == NULL)
		mlops_credential_error(credential, owner);
}

/*
 * UploadRun reads the credential (in a short transaction of its own; it must
 * still be granted to the job's owner), turns it into transfer options and
 * starts the upload.
 */
static JobOutcome
UploadRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	MemoryContext cxt = CurrentMemoryContext;
	const char *credential = JsonbGetString(job->params, "credential", true, "upload");
	const char *target = Target(job->params);
	char	   *src = mlops_safe_path(job->submitted_by, JsonbGetString(job->params, "path", true, "upload"), "path");
	Jsonb	   *secret = NULL;
	char	   *kind;
	transfer_upload_opts o;
	char		err[512];
	List	   *mkcols = NIL;

	kind = mlops_credential_lookup(credential, job->submitted_by, &secret, cxt);
	MemoryContextSwitchTo(cxt);
	if (kind == NULL)
		mlops_credential_error(credential, job->submitted_by);

	memset(&o, 0, sizeof(o));
	o.job_id = job->id;
	o.src_path = src;
	o.user_agent = "pg_mlops/" EXTVERSION;
	o.connect_timeout_s = 30;
	o.low_speed_limit = 1;
	o.low_speed_time_s = 60;
	o.compute_sha256 = JsonbGetBool(job->params, "sha256", false, "upload");
	o.policy = mlops_net_policy();
	o.credential_name = credential;
	if (strcmp(kind, "webdav") == 0 || strcmp(kind, "http") == 0)
	{
		char	   *base = mlops_with_slash(mlops_secret_string(secret, "url"));

		o.target = strcmp(kind, "webdav") == 0 ? UPLOAD_WEBDAV : UPLOAD_HTTP;
		o.url = mlops_remote_url(base, target);
		o.username = mlops_secret_string(secret, "username");
		o.password = mlops_secret_string(secret, "password");
		o.bearer_token = mlops_secret_string(secret, "bearer_token");
		if (o.target == UPLOAD_WEBDAV)
		{
			/* every parent collection of the target, outermost first */
			for (const char *p = strchr(target, '/'); p != NULL; p = strchr(p + 1, '/'))
				mkcols = lappend(mkcols, mlops_remote_url(base, psprintf("%.*s/", (int) (p - target), target)));
		}
	}
	else
	{
		const char *region = mlops_secret_string(secret, "region");
		JsonbValue *part = getKeyJsonValueFromContainer(&secret->root, "part_size_mb", 12, NULL);
		int64		part_mb = 64;

		if (part && part->type == jbvNumeric)
			part_mb = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(part->val.numeric)));
		o.target = UPLOAD_S3;
		o.url = mlops_remote_url(psprintf("%s%s/", mlops_with_slash(mlops_secret_string(secret, "endpoint")),
										  mlops_secret_string(secret, "bucket")), target);
		o.s3_region = region ? region : "us-east-1";
		o.s3_access_key = mlops_secret_string(secret, "access_key");
		o.s3_secret_key = mlops_secret_string(secret, "secret_key");
		o.s3_part_size = Max(part_mb, 5) * 1024 * 1024;
	}
	if (mkcols != NIL)
	{
		const char **urls = palloc0(sizeof(char *) * (list_length(mkcols) + 1));
		int			i = 0;
		ListCell   *lc;

		foreach(lc, mkcols)
			urls[i++] = lfirst(lc);
		o.mkcol_urls = urls;
	}
	if (!transfer_start_upload(pool, &o, err, sizeof(err), retryable))
	{
		*error = pstrdup(err);
		return JOB_FAILED;
	}
	if (JsonbGetBool(job->params, "delete_after", false, "upload"))
	{
		PendingDelete *d = MemoryContextAlloc(TopMemoryContext, sizeof(PendingDelete));

		d->job_id = job->id;
		d->path = MemoryContextStrdup(TopMemoryContext, src);
		d->next = Deletes;
		Deletes = d;
	}
	return JOB_STARTED;
}

/*
 * UploadDone reports the outcome; the local file is deleted only after a
 * confirmed success, and only when the job asked for it.  A cancelled S3
 * multipart upload whose abort failed says so, so that its parts can be
 * looked for on the server.
 */
static JobOutcome
UploadDone(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	PendingDelete **pp = &Deletes;
	char	   *delete_path = NULL;
	bool		deleted = false;
	StringInfoData buf;

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->job_id == job_id)
		{
			PendingDelete *d = *pp;

			delete_path = pstrdup(d->path);
			*pp = d->next;
			pfree(d->path);
			pfree(d);
			break;
		}

	if (r->state == TRANSFER_CANCELLED)
	{
		*error = r->error[0] ? psprintf("cancelled (%s)", r->error) : pstrdup("cancelled");
		*retryable = false;
		return JOB_FAILED;
	}
	if (r->state != TRANSFER_DONE)
	{
		*error = pstrdup(r->error);
		*retryable = r->state == TRANSFER_FAILED && r->retryable;
		return JOB_FAILED;
	}
	if (delete_path != NULL)
		deleted = unlink(delete_path) == 0;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"size\": " INT64_FORMAT ", \"sha256\": ", r->bytes);
	if (r->sha256[0])
		appendStringInfo(&buf, "\"%s\"", r->sha256);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"http_status\": %ld, \"etag\": ", r->http_status);
	if (r->etag[0])
		escape_json(&buf, r->etag);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"url\": ");
	escape_json(&buf, r->effective_url);
	appendStringInfo(&buf, ", \"deleted\": %s}", deleted ? "true" : "false");
	*result_json = buf.data;
	return JOB_SUCCEEDED;
}
