/*-------------------------------------------------------------------------
 *
 * kind_list.c
 *	  Job kind "list": {"credential": ..., "prefix": "remote/folder/",
 *	  "recursive": false, "max_entries": N, "page_size": N} lists the
 *	  objects under a prefix of a granted storage credential, so a pipeline
 *	  step can fan out over them ("for_each": steps.<list>.result.objects,
 *	  then {"$ref": "item.name"} as a download's "object").
 *
 *	  S3: ListObjectsV2 (GET ?list-type=2, signed with SigV4), page after
 *	  page with the continuation token, page_size keys a page; without
 *	  "recursive" only the keys directly under the prefix (delimiter "/").
 *	  WebDAV: PROPFIND with "Depth: 1" on the folder the prefix names; with
 *	  "recursive" every sub-folder too, one PROPFIND each.  A credential of
 *	  kind http has no listing and is refused.
 *
 *	  Each request is a download of the worker's transfer pool (transfer.c)
 *	  into a scratch file of the work directory (".list/<job id>.xml"), so
 *	  the network policy (allowed hosts, denied networks, every redirect
 *	  hop), the timeouts, retries and cancels are those of every download;
 *	  transfer_done reads the answer (listing.c), removes the file and
 *	  starts the next request under the same job id (the worker keeps the
 *	  job running when it returns JOB_STARTED).  A job's state between
 *	  requests lives in a memory context of its own, deleted when it ends;
 *	  a worker that dies loses it, and the job's retry lists from the start.
 *
 *	  The result: {"objects": [{"name", "size", "modified", "etag"}...]
 *	  sorted by name (names relative to the credential's root, as the
 *	  download kind's "object" takes them), "count", "requests", "prefix"}.
 *	  More objects than max_entries (at most, and by default,
 *	  mlops.max_list_entries) fail the job.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "jobs/jobs.h"
#include "jobs/listing.h"
#include "pg_mlops.h"

/* The largest answer read for one request. */
#define LIST_MAX_PAGE_BYTES		(256L * 1024 * 1024)
/* S3's own most keys a page. */
#define LIST_MAX_PAGE_SIZE		1000

typedef struct ListState
{
	int64		job_id;
	MemoryContext cxt;
	bool		s3;
	char	   *prefix;			/* as given ("" for the root) */
	bool		recursive;
	int			page_size;
	int			requests;
	listing		objects;		/* malloc'd, by listing.c */
	char	   *scratch;		/* the answer's file */
	/* S3 */
	char	   *bucket_url;		/* endpoint/bucket */
	char	   *token;			/* the next continuation token, or NULL */
	/* WebDAV */
	char	   *base_url;		/* the credential's url, ending in "/" */
	char	   *root_path;		/* its path */
	List	   *folders;		/* folders still to list (char *, relative, ending "/") */
	char	   *folder;			/* the folder being listed */
	/* authentication */
	char	   *username;
	char	   *password;
	char	   *bearer_token;
	char	   *s3_region;
	char	   *s3_access_key;
	char	   *s3_secret_key;
} ListState;

static void ListValidate(Jsonb *params, Oid owner);
static JobOutcome ListRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
						  char **error, bool *retryable);
static JobOutcome ListDone(int64 job_id, const transfer_result *r, char **result_json,
						   char **error, bool *retryable);
static int	ListWhole(Jsonb *params, const char *key, int dflt, int lo, int hi);
static const char *ListPrefix(Jsonb *params, bool webdav);
static bool ListNext(ListState *st, char **error, bool *retryable);
static void ListForget(ListState *st);
static char *AwsEncode(const char *s);
static char *ReadScratch(const char *path, size_t *len, char **error);

static const char *const ListKeys[] = {"credential", "prefix", "recursive", "max_entries", "page_size", NULL};

const JobKind mlops_kind_list = {"list", ListKeys, ListValidate, ListRun, ListDone};

/* The pool the jobs' requests run on (the worker's one pool), and the jobs running. */
static transfer_pool *ListPool = NULL;
static List *ListStates = NIL;

/*
 * ListWhole reads params->key, a whole number in [lo, hi]; dflt when absent.
 */
static int
ListWhole(Jsonb *params, const char *key, int dflt, int lo, int hi)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&params->root, key, strlen(key), NULL);
	double		d;

	if (v == NULL || v->type == jbvNull)
		return dflt;
	d = v->type == jbvNumeric
		? DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)))
		: NAN;
	if (!(d >= lo && d <= hi && d == floor(d)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s of a job of kind list must be a whole number from %d to %d", key, lo, hi),
				 strcmp(key, "max_entries") == 0
				 ? errhint("mlops.max_list_entries (%d) is the most a list job may return.", mlops_max_list_entries)
				 : 0));
	return (int) d;
}

/*
 * ListPrefix returns params.prefix, checked: "" (the root) or a remote path;
 * for WebDAV a folder, so with a "/" at its end.
 */
static const char *
ListPrefix(Jsonb *params, bool webdav)
{
	const char *prefix = JsonbGetString(params, "prefix", false, "list");

	if (prefix == NULL || prefix[0] == '\0')
		return "";
	mlops_check_remote_path(prefix, "prefix");
	if (webdav && prefix[strlen(prefix) - 1] != '/')
		return psprintf("%s/", prefix);
	return prefix;
}

static void
ListValidate(Jsonb *params, Oid owner)
{
	const char *credential = JsonbGetString(params, "credential", true, "list");
	char	   *kind;

	kind = mlops_credential_lookup(credential, owner, NULL, CurrentMemoryContext);
	if (kind == NULL)
		mlops_credential_error(credential, owner);
	if (strcmp(kind, "s3") != 0 && strcmp(kind, "webdav") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("credential \"%s\" is of kind %s, which has no listing", credential, kind),
				 errhint("A list job needs an s3 credential (ListObjectsV2) or a webdav one (PROPFIND); plain HTTP has no way to list a folder.")));
	(void) ListPrefix(params, strcmp(kind, "webdav") == 0);
	(void) JsonbGetBool(params, "recursive", false, "list");
	(void) ListWhole(params, "max_entries", mlops_max_list_entries, 1, mlops_max_list_entries);
	(void) ListWhole(params, "page_size", LIST_MAX_PAGE_SIZE, 1, LIST_MAX_PAGE_SIZE);
}

/*
 * AwsEncode percent-encodes s as SigV4's canonical query string wants it:
 * everything but A-Z a-z 0-9 - _ . ~ as %XX, upper-case hex.  The query is
 * written already canonical (encoded, keys sorted), so that it is signed as
 * it is sent whatever libcurl's version does with it.
 */
static char *
AwsEncode(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "%%%02X", c);
	}
	return buf.data;
}

/*
 * ListRun reads the credential (it must still be granted to the job's
 * owner) and starts the first request.
 */
static JobOutcome
ListRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	const char *credential = JsonbGetString(job->params, "credential", true, "list");
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	ListState  *st;
	Jsonb	   *secret = NULL;
	char	   *kind;
	char	   *dir;

	ListPool = pool;
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

	cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops list job", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(ListState));
	st->job_id = job->id;
	st->cxt = cxt;
	st->s3 = strcmp(kind, "s3") == 0;
	st->prefix = pstrdup(ListPrefix(job->params, !st->s3));
	st->recursive = JsonbGetBool(job->params, "recursive", false, "list");
	st->page_size = ListWhole(job->params, "page_size", LIST_MAX_PAGE_SIZE, 1, LIST_MAX_PAGE_SIZE);
	st->objects.max_entries = ListWhole(job->params, "max_entries", mlops_max_list_entries, 1,
										mlops_max_list_entries);
	st->scratch = psprintf("%s/" INT64_FORMAT ".xml", dir, job->id);
	if (st->s3)
	{
		st->bucket_url = psprintf("%s%s", mlops_with_slash(mlops_secret_string(secret, "endpoint")),
								  mlops_secret_string(secret, "bucket"));
		st->s3_region = (char *) mlops_secret_string(secret, "region");
		st->s3_access_key = (char *) mlops_secret_string(secret, "access_key");
		st->s3_secret_key = (char *) mlops_secret_string(secret, "secret_key");
	}
	else
	{
		const char *host;
		const char *path;

		st->base_url = mlops_with_slash(mlops_secret_string(secret, "url"));
		host = strstr(st->base_url, "://");
		path = host ? strchr(host + 3, '/') : NULL;
		st->root_path = pstrdup(path ? path : "/");
		st->folder = st->prefix;
		st->username = (char *) mlops_secret_string(secret, "username");
		st->password = (char *) mlops_secret_string(secret, "password");
		st->bearer_token = (char *) mlops_secret_string(secret, "bearer_token");
	}
	MemoryContextSwitchTo(TopMemoryContext);
	ListStates = lappend(ListStates, st);
	MemoryContextSwitchTo(caller);

	if (!ListNext(st, error, retryable))
	{
		ListForget(st);
		return JOB_FAILED;
	}
	return JOB_STARTED;
}

/*
 * ListNext starts the job's next request: the S3 page after st->token, or
 * the PROPFIND of st->folder.
 */
static bool
ListNext(ListState *st, char **error, bool *retryable)
{
	static const char *const propfind_headers[] = {"Depth: 1", "Content-Type: application/xml", NULL};
	transfer_opts o;
	char		err[512];
	MemoryContext old = MemoryContextSwitchTo(st->cxt);

	if (st->requests > (int) st->objects.max_entries)
	{
		MemoryContextSwitchTo(old);
		*error = psprintf("the listing took more than %d requests (params.max_entries)",
						  (int) st->objects.max_entries);
		*retryable = false;
		return false;
	}
	st->requests++;
	memset(&o, 0, sizeof(o));
	o.job_id = st->job_id;
	o.dest_path = st->scratch;
	o.user_agent = "pg_mlops/" EXTVERSION;
	o.connect_timeout_s = 30;
	o.low_speed_limit = 1;
	o.low_speed_time_s = 60;
	o.max_bytes = LIST_MAX_PAGE_BYTES;
	o.max_redirects = 5;
	o.policy = mlops_net_policy();
	if (st->s3)
	{
		/* the query in canonical order: continuation-token, delimiter, list-type, max-keys, prefix */
		StringInfoData url;

		initStringInfo(&url);
		appendStringInfo(&url, "%s?", st->bucket_url);
		if (st->token != NULL)
			appendStringInfo(&url, "continuation-token=%s&", AwsEncode(st->token));
		if (!st->recursive)
			appendStringInfoString(&url, "delimiter=%2F&");
		appendStringInfo(&url, "list-type=2&max-keys=%d&prefix=%s", st->page_size, AwsEncode(st->prefix));
		o.url = url.data;
		o.s3_region = st->s3_region;
		o.s3_access_key = st->s3_access_key;
		o.s3_secret_key = st->s3_secret_key;
	}
	else
	{
		o.url = psprintf("%s%s", st->base_url, st->folder);
		o.method = "PROPFIND";
		o.headers = propfind_headers;
		o.username = st->username;
		o.password = st->password;
		o.bearer_token = st->bearer_token;
	}
	MemoryContextSwitchTo(old);
	if (!transfer_start(ListPool, &o, err, sizeof(err), retryable))
	{
		*error = pstrdup(err);
		return false;
	}
	return true;
}

/* ListForget ends a job's state: its scratch file, its listing, its memory (secrets wiped). */
static void
ListForget(ListState *st)
{
	(void) unlink(st->scratch);
	listing_free(&st->objects);
	ListStates = list_delete_ptr(ListStates, st);
	if (st->password)
		explicit_bzero(st->password, strlen(st->password));
	if (st->bearer_token)
		explicit_bzero(st->bearer_token, strlen(st->bearer_token));
	if (st->s3_secret_key)
		explicit_bzero(st->s3_secret_key, strlen(st->s3_secret_key));
	MemoryContextDelete(st->cxt);
}

/*
 * ReadScratch reads a request's answer (at most LIST_MAX_PAGE_BYTES, the
 * download's own limit), without following a symbolic link.
 */
static char *
ReadScratch(const char *path, size_t *len, char **error)
{
	int			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char	   *buf;
	size_t		done = 0;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > LIST_MAX_PAGE_BYTES)
	{
		*error = psprintf("could not read the listing: %m");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = palloc((size_t) st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, (size_t) st.st_size - done);

		if (n <= 0)
		{
			*error = psprintf("could not read the listing: %m");
			close(fd);
			return NULL;
		}
		done += (size_t) n;
	}
	close(fd);
	buf[done] = '\0';
	*len = done;
	return buf;
}

/*
 * ListDone reads one request's answer, then starts the next request or
 * writes the result.
 */
static JobOutcome
ListDone(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	ListState  *st = NULL;
	ListCell   *lc;
	listing_page page;
	char		err[512];
	char	   *xml;
	size_t		len;
	bool		ok;
	char	   *json;
	StringInfoData buf;

	foreach(lc, ListStates)
		if (((ListState *) lfirst(lc))->job_id == job_id)
			st = lfirst(lc);
	if (st == NULL)
	{
		*error = pstrdup("the list job's state is lost");
		*retryable = true;
		return JOB_FAILED;
	}
	if (r->state != TRANSFER_DONE)
	{
		if (r->state == TRANSFER_CANCELLED)
			*error = pstrdup("cancelled");
		else if (r->http_status == 404)
			*error = psprintf("the %s \"%s\" was not found (http status 404)",
							  st->s3 ? "bucket" : "folder", st->s3 ? st->bucket_url : st->folder);
		else
			*error = psprintf("listing failed: %s", r->error);
		*retryable = r->state == TRANSFER_FAILED && r->retryable;
		ListForget(st);
		return JOB_FAILED;
	}
	xml = ReadScratch(st->scratch, &len, error);
	(void) unlink(st->scratch);
	if (xml == NULL)
	{
		*retryable = true;
		ListForget(st);
		return JOB_FAILED;
	}
	if (st->s3)
		ok = listing_parse_s3(&st->objects, xml, len, &page, err, sizeof(err));
	else
		ok = listing_parse_webdav(&st->objects, xml, len, st->root_path, st->folder, &page, err, sizeof(err));
	pfree(xml);
	if (!ok)
	{
		*error = pstrdup(err);
		*retryable = false;
		ListForget(st);
		return JOB_FAILED;
	}

	/* what is left to ask */
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		st->token = page.truncated ? pstrdup(page.next_token) : NULL;
		if (!st->s3 && st->recursive)
			for (size_t i = 0; i < page.nfolders; i++)
				st->folders = lappend(st->folders, pstrdup(page.folders[i]));
		MemoryContextSwitchTo(old);
	}
	listing_page_free(&page);

	/* the next page, or the next folder */
	if (st->token != NULL || (!st->s3 && st->folders != NIL))
	{
		if (!st->s3)
		{
			st->folder = linitial(st->folders);
			st->folders = list_delete_first(st->folders);
		}
		if (!ListNext(st, error, retryable))
		{
			ListForget(st);
			return JOB_FAILED;
		}
		return JOB_STARTED;
	}

	listing_sort(&st->objects);
	json = listing_json(&st->objects);
	if (json == NULL)
	{
		*error = pstrdup("out of memory");
		*retryable = true;
		ListForget(st);
		return JOB_FAILED;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"objects\": %s, \"count\": %zu, \"requests\": %d, \"prefix\": ",
					 json, st->objects.n, st->requests);
	escape_json(&buf, st->prefix);
	appendStringInfoChar(&buf, '}');
	free(json);
	*result_json = buf.data;
	ListForget(st);
	return JOB_SUCCEEDED;
}
