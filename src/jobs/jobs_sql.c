/*-------------------------------------------------------------------------
 *
 * jobs_sql.c
 *	  SQL-callable pieces of the job engine: parameter checks at submit
 *	  time, waking the workers on commit, whether a worker serves this
 *	  database, and the calling role.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/varlena.h"

#include "common/pathsafe.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

static bool WakePending = false;
static bool XactCallbackRegistered = false;

static void WakeOnCommit(XactEvent event, void *arg);

/*
 * JsonbGetString returns params->key as a C string: NULL when absent and not
 * required; an error when required and absent, or when not a string.
 */
const char *
JsonbGetString(Jsonb *params, const char *key, bool required, const char *kind)
{
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params of a job of kind %s must be a JSON object", kind)));
	v = getKeyJsonValueFromContainer(&params->root, key, strlen(key), NULL);
	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a job of kind %s needs params.%s", kind, key)));
		return NULL;
	}
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s of a job of kind %s must be a string", key, kind)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * mlops_safe_path turns a path relative to mlops.work_dir into an absolute
 * one, refusing absolute paths, "..", control characters, and any existing
 * component that is a symbolic link (which could point outside).
 */
char *
mlops_safe_path(const char *relative, const char *what)
{
	char		norm[MAXPGPATH];
	path_check	r = path_normalize_relative(relative, norm, sizeof(norm));
	char	   *base = mlops_work_dir_path();
	char	   *full;
	char	   *p;

	if (r != PATH_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" is not allowed: %s", what, relative, path_check_message(r)),
				 errhint("Paths are relative to mlops.work_dir and may not leave it.")));
	full = psprintf("%s/%s", base, norm);
	/* every existing component under the work directory must be a plain directory or file */
	for (p = full + strlen(base) + 1;; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			char		save = *p;
			struct stat st;

			*p = '\0';
			if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s \"%s\" is not allowed: \"%s\" is a symbolic link", what, relative, full)));
			*p = save;
			if (save == '\0')
				break;
		}
	}
	return full;
}

/*
 * mlops_check_url refuses anything but absolute http(s) URLs, and hosts
 * outside mlops.allowed_hosts when it is set.
 */
void
mlops_check_url(const char *url)
{
	char		err[256];
	char		host[256];
	List	   *allowed = NIL;
	ListCell   *lc;
	char	   *copy;
	bool		ok = false;

	if (!transfer_check_url(url, err, sizeof(err), host, sizeof(host)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("URL \"%s\" is not allowed: %s", url, err),
				 errhint("Jobs reach http:// and https:// URLs only.")));
	if (mlops_allowed_hosts == NULL || mlops_allowed_hosts[0] == '\0')
		return;
	copy = pstrdup(mlops_allowed_hosts);
	if (!SplitIdentifierString(copy, ',', &allowed))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mlops.allowed_hosts is not a valid list")));
	foreach(lc, allowed)
		if (pg_strcasecmp((char *) lfirst(lc), host) == 0)
			ok = true;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("host \"%s\" is not in mlops.allowed_hosts", host)));
}

/*
 * JsonbGetBool returns params->key as a boolean, dflt when absent.
 */
bool
JsonbGetBool(Jsonb *params, const char *key, bool dflt, const char *kind)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&params->root, key, strlen(key), NULL);

	if (v == NULL || v->type == jbvNull)
		return dflt;
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s of a job of kind %s must be true or false", key, kind)));
	return v->val.boolean;
}

/*
 * mlops_reject_secrets refuses params that carry a secret under a telling
 * key, at any depth: jobs name a credential (mlops.set_credential) instead,
 * so that no secret lands in mlops.jobs, a NOTIFY or a log line.  The error
 * names the key, never the value.
 */
void
mlops_reject_secrets(Jsonb *params)
{
	static const char *const keys[] = {"password", "passwd", "secret", "secret_key", "access_key",
	"token", "bearer_token", "api_key", "apikey", "authorization", "private_key", NULL};
	JsonbIterator *it = JsonbIteratorInit(&params->root);
	JsonbValue	v;
	JsonbIteratorToken r;

	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (r != WJB_KEY)
			continue;
		for (int i = 0; keys[i] != NULL; i++)
			if (v.val.string.len == strlen(keys[i]) &&
				pg_strncasecmp(v.val.string.val, keys[i], v.val.string.len) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("job params must not carry secrets: key \"%s\"", keys[i]),
						 errhint("Store the secret with mlops.set_credential and name it in params.credential.")));
	}
}

PG_FUNCTION_INFO_V1(mlops_validate_job);

/*
 * mlops_validate_job checks the parameters of the kinds the worker serves;
 * other kinds (for external workers) only need an object.
 */
Datum
mlops_validate_job(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *params = PG_GETARG_JSONB_P(1);
	const JobKind *k = mlops_find_kind(kind);

	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job params must be a JSON object")));
	mlops_reject_secrets(params);
	if (k != NULL && k->validate != NULL)
		k->validate(params);
	PG_RETURN_VOID();
}

/*
 * WakeOnCommit sets the workers' latches once the transaction that queued
 * work has committed: one SetLatch per worker, however many jobs it queued.
 */
static void
WakeOnCommit(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (WakePending)
				mlops_shmem_wake_all();
			WakePending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			WakePending = false;
			break;
		default:
			break;
	}
}

PG_FUNCTION_INFO_V1(mlops_wake_workers);
Datum
mlops_wake_workers(PG_FUNCTION_ARGS)
{
	if (!XactCallbackRegistered)
	{
		RegisterXactCallback(WakeOnCommit, NULL);
		XactCallbackRegistered = true;
	}
	WakePending = true;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(mlops_worker_running);

/*
 * mlops_worker_running: a worker process is alive and this is the database
 * it serves.
 */
Datum
mlops_worker_running(PG_FUNCTION_ARGS)
{
	const char *db = GetConfigOption("mlops.database_name", true, false);

	if (db == NULL || strcmp(db, get_database_name(MyDatabaseId)) != 0)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(mlops_shmem_worker_alive());
}

PG_FUNCTION_INFO_V1(mlops_calling_role);

/*
 * mlops_calling_role returns the role the session acts as (SET ROLE
 * included), which SECURITY DEFINER functions do not change.  The worker
 * sets it to a job's submitter while it runs an sql job.
 */
Datum
mlops_calling_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
