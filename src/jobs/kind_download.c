/*-------------------------------------------------------------------------
 *
 * kind_download.c
 *	  Job kind "download": {"url": "http(s)://...", "path": "relative/file",
 *	  "sha256": optional} fetches the URL into the owner's file area through
 *	  the worker's libcurl multi handle (transfer.c), via "<path>.part"
 *	  renamed when complete and checked.  Instead of "url", a download may
 *	  name {"credential": ..., "object": "remote/path"}: the object is read
 *	  from the credential's store (HTTP/WebDAV with basic or bearer
 *	  authentication, S3 signed with SigV4), the way an upload writes it.
 *	  The result holds size, sha256, content type and HTTP status.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "utils/json.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

static void DownloadValidate(Jsonb *params, Oid owner);
static JobOutcome DownloadRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
							  char **error, bool *retryable);
static JobOutcome DownloadDone(int64 job_id, const transfer_result *r, char **result_json,
							   char **error, bool *retryable);
static void CredentialSource(ClaimedJob *job, transfer_opts *o);
static const char *DownloadOwnedPath(Jsonb *params);

static const char *const DownloadKeys[] = {"url", "credential", "object", "path", "sha256", NULL};

const JobKind mlops_kind_download = {
	.name = "download",
	.keys = DownloadKeys,
	.validate = DownloadValidate,
	.run = DownloadRun,
	.transfer_done = DownloadDone,
	.owned_path = DownloadOwnedPath,
};

/* DownloadOwnedPath: a download writes "<path>.part", renamed when complete. */
static const char *
DownloadOwnedPath(Jsonb *params)
{
	return JsonbGetString(params, "path", false, "download");
}

static void
DownloadValidate(Jsonb *params, Oid owner)
{
	const char *sha = JsonbGetString(params, "sha256", false, "download");
	const char *url = JsonbGetString(params, "url", false, "download");
	const char *credential = JsonbGetString(params, "credential", false, "download");
	const char *object = JsonbGetString(params, "object", false, "download");

	if ((url != NULL) == (credential != NULL || object != NULL) ||
		(url == NULL && (credential == NULL || object == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a download names either params.url or both params.credential and params.object")));
	if (url != NULL)
		mlops_check_url(url);
	else
	{
		mlops_check_remote_path(object, "object");
		if (mlops_credential_lookup(credential, owner, NULL, CurrentMemoryContext) == NULL)
			mlops_credential_error(credential, owner);
	}
	(void) mlops_safe_path(owner, JsonbGetString(params, "path", true, "download"), "path");
	if (sha != NULL && (strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.sha256 must be 64 hexadecimal digits")));
}

/*
 * CredentialSource reads the credential (in a short transaction of its own;
 * it must still be granted to the job's owner) and sets the URL of the
 * object and the authentication.  libcurl sends neither to another host a
 * redirect leads to.
 */
static void
CredentialSource(ClaimedJob *job, transfer_opts *o)
{
	MemoryContext cxt = CurrentMemoryContext;
	const char *credential = JsonbGetString(job->params, "credential", true, "download");
	const char *object = JsonbGetString(job->params, "object", true, "download");
	Jsonb	   *secret = NULL;
	char	   *kind;

	mlops_check_remote_path(object, "object");
	kind = mlops_credential_lookup(credential, job->submitted_by, &secret, cxt);
	MemoryContextSwitchTo(cxt);
	if (kind == NULL)
		mlops_credential_error(credential, job->submitted_by);
	o->credential_name = credential;
	if (strcmp(kind, "webdav") == 0 || strcmp(kind, "http") == 0)
	{
		o->url = mlops_remote_url(mlops_with_slash(mlops_secret_string(secret, "url")), object);
		o->username = mlops_secret_string(secret, "username");
		o->password = mlops_secret_string(secret, "password");
		o->bearer_token = mlops_secret_string(secret, "bearer_token");
	}
	else
	{
		o->url = mlops_remote_url(psprintf("%s%s/", mlops_with_slash(mlops_secret_string(secret, "endpoint")),
										   mlops_secret_string(secret, "bucket")), object);
		o->s3_region = mlops_secret_string(secret, "region");
		o->s3_access_key = mlops_secret_string(secret, "access_key");
		o->s3_secret_key = mlops_secret_string(secret, "secret_key");
	}
}

/*
 * DownloadRun makes the parent directory and starts the transfer, with the
 * network policy: every redirect and every connection is checked again.
 */
static JobOutcome
DownloadRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	transfer_opts o;
	char		err[512];
	char	   *dest;
	char	   *dir;
	char	   *slash;
	struct stat st;

	dest = mlops_safe_path(job->submitted_by, JsonbGetString(job->params, "path", true, "download"), "path");
	dir = pstrdup(dest);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	/*
	 * one stat where the directory is there already (the jobs of a batch
	 * share one), not one per part of its path as pg_mkdir_p makes
	 */
	if ((stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) &&
		pg_mkdir_p(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		*error = psprintf("could not create the directory of params.path: %m");
		*retryable = false;
		return JOB_FAILED;
	}

	memset(&o, 0, sizeof(o));
	o.job_id = job->id;
	o.url = JsonbGetString(job->params, "url", false, "download");
	if (o.url == NULL)
		CredentialSource(job, &o);
	o.dest_path = dest;
	o.user_agent = "pg_mlops/" EXTVERSION;
	o.expected_sha256 = JsonbGetString(job->params, "sha256", false, "download");
	o.connect_timeout_s = 30;
	o.low_speed_limit = 1;
	o.low_speed_time_s = 60;
	o.max_bytes = (int64) mlops_max_download_bytes_mb * 1024 * 1024;
	o.max_redirects = 5;
	o.policy = mlops_net_policy();
	if (!transfer_start(pool, &o, err, sizeof(err), retryable))
	{
		*error = pstrdup(err);
		return JOB_FAILED;
	}
	return JOB_STARTED;
}

static JobOutcome
DownloadDone(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	StringInfoData buf;

	if (r->state != TRANSFER_DONE)
	{
		*error = pstrdup(r->state == TRANSFER_CANCELLED ? "cancelled" : r->error);
		*retryable = r->state == TRANSFER_FAILED && r->retryable;
		return JOB_FAILED;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"size\": " INT64_FORMAT ", \"sha256\": \"%s\", \"http_status\": %ld, \"content_type\": ",
					 r->bytes, r->sha256, r->http_status);
	if (r->content_type[0])
		escape_json(&buf, r->content_type);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"url\": ");
	escape_json(&buf, r->effective_url);
	appendStringInfoChar(&buf, '}');
	*result_json = buf.data;
	return JOB_SUCCEEDED;
}
