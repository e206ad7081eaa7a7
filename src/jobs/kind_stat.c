/*-------------------------------------------------------------------------
 *
 * kind_stat.c
 *	  Job kind "stat": {"credential": ..., "object": "remote/path"} asks a
 *	  granted credential's store whether an object exists, with a HEAD
 *	  request (S3 signed with SigV4, WebDAV/HTTP with basic or bearer
 *	  authentication), made like a download on the worker's transfer pool:
 *	  the same network policy, every redirect hop checked, the same
 *	  timeouts, retries and cancel.  The empty answer goes to a scratch file
 *	  of the work directory (".list/<job id>.head"), removed at once.
 *
 *	  Result: {"exists": true, "object", "credential", "http_status"} for a
 *	  2xx answer, {"exists": false, ...} for 404 (and 410); any other
 *	  answer fails the job (403 is not "missing": the credential may not
 *	  read the object).  Pipelines queue a stat job first for a step that
 *	  declares an "output" object, and treat the step as done when it
 *	  exists (Luigi's rule; see mlops.run_advance and mlops.step_checked).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

typedef struct StatJob
{
	int64		job_id;
	char	   *scratch;
	char	   *credential;
	char	   *object;
} StatJob;

static void StatValidate(Jsonb *params, Oid owner);
static JobOutcome StatRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
						  char **error, bool *retryable);
static JobOutcome StatDone(int64 job_id, const transfer_result *r, char **result_json,
						   char **error, bool *retryable);

static const char *const StatKeys[] = {"credential", "object", NULL};

const JobKind mlops_kind_stat = {"stat", StatKeys, StatValidate, StatRun, StatDone};

/* The stat jobs waiting for their HEAD (in TopMemoryContext). */
static List *StatJobs = NIL;

static void
StatValidate(Jsonb *params, Oid owner)
{
	const char *credential = JsonbGetString(params, "credential", true, "stat");
	const char *object = JsonbGetString(params, "object", true, "stat");

	mlops_check_remote_path(object, "object");
	if (mlops_credential_lookup(credential, owner, NULL, CurrentMemoryContext) == NULL)
		mlops_credential_error(credential, owner);
}

/* StatRun reads the credential (still granted to the job's owner) and starts the HEAD. */
static JobOutcome
StatRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	MemoryContext caller = CurrentMemoryContext;
	const char *credential = JsonbGetString(job->params, "credential", true, "stat");
	const char *object = JsonbGetString(job->params, "object", true, "stat");
	transfer_opts o;
	Jsonb	   *secret = NULL;
	char	   *kind;
	char	   *dir;
	char		err[512];
	StatJob    *sj;

	mlops_check_remote_path(object, "object");
	kind = mlops_credential_lookup(credential, job->submitted_by, &secret, caller);
	MemoryContextSwitchTo(caller);
	if (kind == NULL)
		mlops_credential_error(credential, job->submitted_by);
	dir = psprintf("%s/.list", mlops_work_dir_path());
	if (mkdir(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		*error = psprintf("could not create the work directory's .list folder: %m");
		*retryable = false;
		return JOB_FAILED;
	}

	memset(&o, 0, sizeof(o));
	o.job_id = job->id;
	o.method = "HEAD";
	o.dest_path = psprintf("%s/" INT64_FORMAT ".head", dir, job->id);
	o.user_agent = "pg_mlops/" EXTVERSION;
	o.connect_timeout_s = 30;
	o.low_speed_limit = 1;
	o.low_speed_time_s = 60;
	o.max_bytes = 1024 * 1024;
	o.max_redirects = 5;
	o.policy = mlops_net_policy();
	if (strcmp(kind, "s3") == 0)
	{
		o.url = psprintf("%s%s/%s", mlops_with_slash(mlops_secret_string(secret, "endpoint")),
						 mlops_secret_string(secret, "bucket"), object);
		o.s3_region = mlops_secret_string(secret, "region");
		o.s3_access_key = mlops_secret_string(secret, "access_key");
		o.s3_secret_key = mlops_secret_string(secret, "secret_key");
	}
	else
	{
		o.url = psprintf("%s%s", mlops_with_slash(mlops_secret_string(secret, "url")), object);
		o.username = mlops_secret_string(secret, "username");
		o.password = mlops_secret_string(secret, "password");
		o.bearer_token = mlops_secret_string(secret, "bearer_token");
	}
	if (!transfer_start(pool, &o, err, sizeof(err), retryable))
	{
		*error = pstrdup(err);
		return JOB_FAILED;
	}
	MemoryContextSwitchTo(TopMemoryContext);
	sj = palloc(sizeof(StatJob));
	sj->job_id = job->id;
	sj->scratch = pstrdup(o.dest_path);
	sj->credential = pstrdup(credential);
	sj->object = pstrdup(object);
	StatJobs = lappend(StatJobs, sj);
	MemoryContextSwitchTo(caller);
	return JOB_STARTED;
}

static JobOutcome
StatDone(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	StatJob    *sj = NULL;
	ListCell   *lc;
	JobOutcome	outcome;
	StringInfoData buf;

	foreach(lc, StatJobs)
		if (((StatJob *) lfirst(lc))->job_id == job_id)
			sj = lfirst(lc);
	if (sj == NULL)
	{
		*error = pstrdup("the stat job's state is lost");
		*retryable = true;
		return JOB_FAILED;
	}
	(void) unlink(sj->scratch);
	if (r->state == TRANSFER_DONE ||
		(r->state == TRANSFER_FAILED && (r->http_status == 404 || r->http_status == 410)))
	{
		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"exists\": %s, \"credential\": ", r->state == TRANSFER_DONE ? "true" : "false");
		escape_json(&buf, sj->credential);
		appendStringInfoString(&buf, ", \"object\": ");
		escape_json(&buf, sj->object);
		appendStringInfo(&buf, ", \"http_status\": %ld}", r->http_status);
		*result_json = buf.data;
		outcome = JOB_SUCCEEDED;
	}
	else
	{
		*error = r->state == TRANSFER_CANCELLED ? pstrdup("cancelled")
			: psprintf("could not tell whether \"%s\" exists: %s", sj->object, r->error);
		*retryable = r->state == TRANSFER_FAILED && r->retryable;
		outcome = JOB_FAILED;
	}
	StatJobs = list_delete_ptr(StatJobs, sj);
	pfree(sj->scratch);
	pfree(sj->credential);
	pfree(sj->object);
	pfree(sj);
	return outcome;
}
