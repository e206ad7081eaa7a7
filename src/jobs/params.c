/*-------------------------------------------------------------------------
 *
 * params.c
 *	  Checks of job parameters, shared by every kind: typed access to
 *	  params keys, refusal of unknown keys and of secrets, URLs against the
 *	  network policy, paths confined to the job owner's file areas, and the
 *	  credentials a job's owner was granted.
 *
 *	  File areas.  Every path a job names is relative.  A role's own paths
 *	  live in work_dir/roles/<role oid>/; "@name/..." names a shared area
 *	  work_dir/areas/<name>/ that an administrator granted to the role
 *	  (mlops.grant_area).  Administrators (superusers and members of
 *	  mlops_admin) work in work_dir itself, so they reach every area.  No
 *	  component of a path may be a symbolic link, and error messages name
 *	  paths as the job gave them, never the server's directories.
 *
 *	  The same checks run when a job is submitted (as the calling role) and
 *	  again when the worker runs it (as the job's owner): grants and files
 *	  may have changed in between.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "util/pathsafe.h"
#include "jobs/jobs.h"
#include "jobs/netpolicy.h"
#include "jobs/sigv4.h"
#include "pg_mlops.h"

static bool AreaGranted(const char *area, Oid owner);

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
 * JsonbGetSeconds returns params->key, a positive number of seconds, as
 * milliseconds; dflt_ms when absent.
 */
int
JsonbGetSeconds(Jsonb *params, const char *key, int dflt_ms, const char *kind)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&params->root, key, strlen(key), NULL);
	double		s;

	if (v == NULL || v->type == jbvNull)
		return dflt_ms;
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s of a job of kind %s must be a number of seconds", key, kind)));
	s = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!(s > 0 && s <= INT_MAX / 1000.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s of a job of kind %s must be between 0 and %d seconds, not %g",
						key, kind, INT_MAX / 1000, s)));
	return (int) Max(1, s * 1000.0);
}

/*
 * mlops_check_object_keys refuses a key of the object c (its top level)
 * that is not in valid (NULL-terminated), naming where the object is and
 * listing the valid keys.
 */
void
mlops_check_object_keys(JsonbContainer *c, const char *where, const char *const *valid)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken r;
	int			level = 0;

	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;

		if (r == WJB_BEGIN_OBJECT)
			level++;
		if (r != WJB_KEY || level != 1)
			continue;
		for (int i = 0; valid[i] != NULL; i++)
			if (v.val.string.len == strlen(valid[i]) &&
				memcmp(v.val.string.val, valid[i], v.val.string.len) == 0)
				known = true;
		if (!known)
		{
			StringInfoData list;

			initStringInfo(&list);
			for (int i = 0; valid[i] != NULL; i++)
				appendStringInfo(&list, "%s%s", i > 0 ? ", " : "", valid[i]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%.*s\" in %s", Min(v.val.string.len, 64), v.val.string.val, where),
					 errhint("Valid keys are %s.", list.data)));
		}
	}
}

/*
 * mlops_check_keys refuses a params key that the kind does not know,
 * listing the keys it does (valid is NULL-terminated).
 */
void
mlops_check_keys(Jsonb *params, const char *kind, const char *const *valid)
{
	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params of a job of kind %s must be a JSON object", kind)));
	mlops_check_object_keys(&params->root, psprintf("params of a job of kind %s", kind), valid);
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

/*
 * mlops_net_policy returns the network policy of the current settings
 * (mlops.allowed_hosts, mlops.denied_networks), parsed once per change of
 * either and kept in TopMemoryContext's care by the kernel.
 */
const netpolicy *
mlops_net_policy(void)
{
	static netpolicy *policy = NULL;
	static char *hosts = NULL;
	static char *networks = NULL;
	const char *h = mlops_allowed_hosts ? mlops_allowed_hosts : "";
	const char *n = mlops_denied_networks ? mlops_denied_networks : "";
	char		err[256];

	if (policy != NULL && strcmp(hosts, h) == 0 && strcmp(networks, n) == 0)
		return policy;
	if (policy != NULL)
	{
		netpolicy_free(policy);
		pfree(hosts);
		pfree(networks);
		policy = NULL;
	}
	policy = netpolicy_create(h, n, err, sizeof(err));
	if (policy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid network policy: %s", err),
				 errhint("Check the settings \"mlops.allowed_hosts\" and \"mlops.denied_networks\".")));
	hosts = MemoryContextStrdup(TopMemoryContext, h);
	networks = MemoryContextStrdup(TopMemoryContext, n);
	return policy;
}

/*
 * mlops_check_url refuses anything but absolute http(s) URLs without
 * userinfo, and hosts (with their ports) outside mlops.allowed_hosts.  The
 * worker checks every redirect and every connection again.
 */
void
mlops_check_url(const char *url)
{
	char		err[512];

	if (!transfer_check_url(url, err, sizeof(err), NULL, 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("URL is not allowed: %s", err),
				 errhint("Jobs reach http:// and https:// URLs only, without user names or passwords in them.")));
	if (!netpolicy_check_url(mlops_net_policy(), url, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("URL is not allowed: %s", err),
				 errhint("An administrator lists the hosts jobs may reach in \"mlops.allowed_hosts\".")));
}

/*
 * RunInTransaction: the callers below need catalog access both inside a
 * transaction (at submit) and outside one (in the worker, before a kind
 * runs).  BeginCatalogAccess starts a transaction when there is none and
 * EndCatalogAccess commits it, keeping the caller's memory context.
 */
static bool
BeginCatalogAccess(void)
{
	if (IsTransactionState())
		return false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	return true;
}

static void
EndCatalogAccess(bool started, MemoryContext cxt)
{
	if (!started)
		return;
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

/*
 * RoleName returns a role's name for a message (palloc'd), "?" for a role
 * that no longer exists; it may run outside a transaction.
 */
static char *
RoleName(Oid role)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		started = BeginCatalogAccess();
	char	   *name = GetUserNameFromId(role, true);
	char	   *copy = MemoryContextStrdup(cxt, name ? name : "?");

	EndCatalogAccess(started, cxt);
	return copy;
}

/* The last answer of mlops_is_admin, until mlops_params_forget. */
static Oid	AdminCacheRole = InvalidOid;
static bool AdminCacheAnswer = false;

/*
 * mlops_params_forget drops what this file remembers between calls: the
 * worker calls it for each job it claims, so that a job sees the roles as
 * they are when it starts, and its checks and run ask the catalog once.
 */
void
mlops_params_forget(void)
{
	AdminCacheRole = InvalidOid;
}

/*
 * mlops_is_admin: the role is a superuser or a member of mlops_admin.
 * Inside the worker, the answer is kept for the job being claimed.
 */
bool
mlops_is_admin(Oid role)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		started;
	Oid			admin;
	bool		result;

	if (OidIsValid(role) && role == AdminCacheRole)
		return AdminCacheAnswer;
	started = BeginCatalogAccess();
	admin = get_role_oid("mlops_admin", true);
	result = superuser_arg(role) || (OidIsValid(admin) && is_member_of_role(role, admin));
	EndCatalogAccess(started, cxt);
	if (mlops_shmem_worker_index() >= 0)
	{
		AdminCacheRole = role;
		AdminCacheAnswer = result;
	}
	return result;
}

/*
 * AreaGranted: an administrator granted the shared area to the role (or to
 * a role it is a member of).
 */
static bool
AreaGranted(const char *area, Oid owner)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		started = BeginCatalogAccess();
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		args[2];
	bool		granted;

	args[0] = CStringGetTextDatum(area);
	args[1] = ObjectIdGetDatum(owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute_with_args("SELECT 1 FROM mlops.area_grants g "
						  "WHERE g.area OPERATOR(pg_catalog.=) $1 "
						  "AND pg_catalog.pg_has_role($2, g.grantee, 'MEMBER') LIMIT 1",
						  2, types, args, NULL, true, 1);
	granted = SPI_processed > 0;
	SPI_finish();
	EndCatalogAccess(started, cxt);
	return granted;
}

/*
 * mlops_owner_base returns the directory relative paths of the owner are
 * taken under (absolute; palloc'd): the work directory for administrators,
 * work_dir/roles/<oid> for everyone else.
 */
char *
mlops_owner_base(Oid owner)
{
	char	   *work = mlops_work_dir_path();

	if (mlops_is_admin(owner))
		return work;
	return psprintf("%s/roles/%u", work, owner);
}

/*
 * mlops_resolve_path turns a job's path into an absolute one under the
 * owner's areas, or returns a reason (a palloc'd English phrase, naming the
 * path as given) why it may not be used; *denied tells a refusal of access
 * (an area not granted, a symbolic link) from a malformed path.  Nothing is
 * created.
 */
char *
mlops_resolve_path(Oid owner, const char *given, char **full, bool *denied)
{
	char		norm[MAXPGPATH];
	char	   *work = mlops_work_dir_path();
	char	   *base;
	const char *rest = given;
	path_check	r;
	char	   *p;

	*full = NULL;
	*denied = false;
	if (given[0] == '@')
	{
		const char *slash = strchr(given, '/');
		size_t		len = slash ? (size_t) (slash - given - 1) : strlen(given + 1);
		char	   *area = pnstrdup(given + 1, len);

		if (len == 0 || len > 63 || strspn(area, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != len ||
			area[0] == '.' || area[0] == '-')
			return psprintf("\"%s\" does not name a file area: after \"@\" comes an area name of lower-case letters, digits, \"_\", \".\" and \"-\"", given);
		if (!mlops_is_admin(owner) && !AreaGranted(area, owner))
		{
			*denied = true;
			return psprintf("file area \"%s\" does not exist or is not granted to role \"%s\"",
							area, RoleName(owner));
		}
		base = psprintf("%s/areas/%s", work, area);
		rest = slash ? slash + 1 : "";
		if (rest[strspn(rest, "/.")] == '\0')
		{
			*full = base;
			return NULL;
		}
	}
	else
		base = mlops_owner_base(owner);

	r = path_normalize_relative(rest, norm, sizeof(norm));
	if (r != PATH_OK)
		return psprintf("\"%s\" is not allowed: %s", given, path_check_message(r));
	*full = psprintf("%s/%s", base, norm);

	/* every existing component under the work directory must be a plain directory or file */
	for (p = *full + strlen(work) + 1;; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			char		save = *p;
			struct stat st;

			*p = '\0';
			if (lstat(*full, &st) == 0 && S_ISLNK(st.st_mode))
			{
				char	   *msg = psprintf("\"%s\" is not allowed: a part of it is a symbolic link", given);

				*full = NULL;
				*denied = true;
				return msg;
			}
			*p = save;
			if (save == '\0')
				break;
		}
	}
	return NULL;
}

/*
 * mlops_safe_path is mlops_resolve_path with an error for a refused path.
 */
char *
mlops_safe_path(Oid owner, const char *given, const char *what)
{
	char	   *full;
	bool		denied;
	char	   *why = mlops_resolve_path(owner, given, &full, &denied);

	if (why != NULL)
		ereport(ERROR,
				(errcode(denied ? ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s %s", what, why),
				 errhint("Paths are relative to the role's own file area; \"@name/...\" names a shared area an administrator granted (see mlops.file_areas).")));
	return full;
}

/*
 * mlops_credential_lookup returns the kind of a credential the owner may
 * use (administrators: any; others: granted to them with
 * mlops.grant_credential), and its secret in cxt when asked; NULL when the
 * credential does not exist or is not granted: the two look the same.
 */
char *
mlops_credential_lookup(const char *name, Oid owner, Jsonb **secret, MemoryContext cxt)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		started = BeginCatalogAccess();
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		args[2];
	char	   *kind = NULL;

	args[0] = CStringGetTextDatum(name);
	args[1] = ObjectIdGetDatum(owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute_with_args("SELECT c.kind, c.secret FROM mlops.credentials c "
						  "WHERE c.name OPERATOR(pg_catalog.=) $1 "
						  "AND (mlops.is_admin($2) OR EXISTS (SELECT 1 FROM mlops.credential_grants g "
						  "WHERE g.credential OPERATOR(pg_catalog.=) c.name "
						  "AND pg_catalog.pg_has_role($2, g.grantee, 'MEMBER')))",
						  2, types, args, NULL, true, 1);
	if (SPI_processed == 1)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		kind = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		if (secret)
			*secret = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	EndCatalogAccess(started, caller);
	return kind;
}

/*
 * mlops_credential_error: the one error for a credential that does not
 * exist and for one that is not granted, so that names cannot be probed.
 */
void
mlops_credential_error(const char *name, Oid owner)
{
	char	   *role = RoleName(owner);

	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("credential \"%s\" does not exist or is not granted to role \"%s\"",
					name, role),
			 errhint("An administrator stores credentials with mlops.set_credential and grants them with mlops.grant_credential.")));
}

/*
 * mlops_scrub_paths returns msg with the work directory and the data
 * directory cut out of it, so that errors stored in mlops.jobs never show
 * the server's directories.
 */
char *
mlops_scrub_paths(const char *msg)
{
	char	   *work = mlops_work_dir_path();
	const char *cut[2];
	StringInfoData buf;

	cut[0] = work;
	cut[1] = DataDir;
	initStringInfo(&buf);
	for (const char *p = msg; *p;)
	{
		bool		matched = false;

		for (int i = 0; i < 2 && !matched; i++)
		{
			size_t		len = cut[i] ? strlen(cut[i]) : 0;

			if (len > 1 && strncmp(p, cut[i], len) == 0)
			{
				appendStringInfoString(&buf, i == 0 ? "<work_dir>" : "<data_dir>");
				p += len;
				matched = true;
			}
		}
		if (!matched)
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/*
 * mlops_check_remote_path: a path on a remote store (an upload's target, a
 * download's object) is relative, without control characters, empty
 * components or "." and ".." components, so it cannot leave the
 * credential's base URL or bucket.  Other characters (spaces, "+", "=",
 * "?", "%", any UTF-8) are allowed: mlops_remote_url percent-encodes them.
 */
void
mlops_check_remote_path(const char *value, const char *what)
{
	bool		bad = value[0] == '\0' || value[0] == '/';
	const char *c = value;

	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.%s holds a control character (byte %d)", what,
							(int) (p - (const unsigned char *) value) + 1),
					 errdetail("A remote path is relative, without control characters, empty components, \".\" or \"..\".")));
	while (!bad && c != NULL)
	{
		const char *slash = strchr(c, '/');
		size_t		len = slash ? (size_t) (slash - c) : strlen(c);

		bad = (len == 0 && slash != NULL) || (len == 1 && c[0] == '.') ||
			(len == 2 && c[0] == '.' && c[1] == '.');
		c = slash ? slash + 1 : NULL;
	}
	if (bad)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s \"%s\" is not allowed", what, value),
				 errdetail("A remote path is relative, without control characters, empty components, \".\" or \"..\".")));
}

/*
 * mlops_remote_url: base (ending in "/") followed by a remote path checked
 * by mlops_check_remote_path, percent-encoded as S3 wants a key (every byte
 * but letters, digits, "-._~" and "/"), which WebDAV and HTTP servers
 * decode to the same name.
 */
char *
mlops_remote_url(const char *base, const char *path)
{
	size_t		cap = strlen(path) * 3 + 1;
	char	   *enc = palloc(cap);

	if (sigv4_uri_encode(path, strlen(path), true, enc, cap) < 0)
		elog(ERROR, "remote path encoding overflowed");
	return psprintf("%s%s", base, enc);
}

/* mlops_secret_string: a string member of a credential's secret, NULL when absent. */
const char *
mlops_secret_string(Jsonb *secret, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&secret->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* mlops_with_slash: a base URL that ends in "/". */
char *
mlops_with_slash(const char *base)
{
	size_t		len = strlen(base);

	return len > 0 && base[len - 1] == '/' ? pstrdup(base) : psprintf("%s/", base);
}
