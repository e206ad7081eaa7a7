/*-------------------------------------------------------------------------
 *
 * kind_http.c
 *	  Job kind "http": one HTTP request, or a request then polls, to a JSON
 *	  API (kicking off a run on a model service and waiting for it):
 *
 *		{"url": "https://api.example.com/runs", "method": "POST",
 *		 "headers": {"X-Project": "p1"}, "body": {...}, "credential": "svc",
 *		 "timeout": "30s",
 *		 "poll": {"url": "https://api.example.com/runs/{id}",
 *				  "until": {"path": "status", "in": ["done", "failed"]},
 *				  "fail_if": {"path": "status", "equals": "failed", "message": "error"},
 *				  "interval": "2s", "backoff": 1.5, "max_interval": "30s",
 *				  "timeout": "10m"}}
 *
 *	  Each request is a download of the worker's transfer pool (transfer.c)
 *	  into a scratch file (work_dir/.list/<job id>.http), so the network
 *	  policy (mlops.allowed_hosts on the URL and every redirect hop,
 *	  mlops.denied_networks at connect time, no userinfo, http(s) only),
 *	  cancels and the answer's bound (mlops.max_job_result_size) are those
 *	  of every download.  The wait before the next poll is a delayed request
 *	  of the pool (transfer_opts.delay_ms): the job stays running, counts
 *	  against mlops.max_transfers, and cancel_job ends it within the
 *	  worker's cancel check (250 ms) even while it waits.
 *
 *	  A condition ("until", "fail_if") holds when every test it gives holds:
 *	  "path" with "equals" (a JSON scalar) or "in" (a list of scalars), and
 *	  "status_in" (HTTP statuses).  Conditions are judged on every answer,
 *	  fail_if first.  A 429 or 503 answer is waited out (its Retry-After, or
 *	  the current interval, at least 1 s) and asked again, within the poll
 *	  timeout (without "poll": within 5 minutes, at most 5 times).
 *
 *	  The credential (kind http: basic or bearer) is sent only to URLs that
 *	  begin with the credential's url, never to another host a redirect
 *	  leads to (libcurl), and is never logged or stored.
 *
 *	  Result: {"http_status", "body" (the answer as JSON, or null), "body_text"
 *	  (when the answer is not JSON), "polls", "requests", "throttled", "url"}.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "jobs/http_json.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

/* Without "poll": how often, and for how long, a 429/503 is waited out. */
#define HTTP_MAX_THROTTLED		5
#define HTTP_THROTTLE_LIMIT_MS	(5 * 60 * 1000)
/* The most headers a job may add. */
#define HTTP_MAX_HEADERS		32

typedef struct HttpState
{
	int64		job_id;
	MemoryContext cxt;
	Jsonb	   *params;			/* a copy */
	char	   *url;			/* the first request's */
	char	   *method;
	char	   *body;			/* JSON text, or NULL */
	const char **headers;		/* NULL-terminated */
	const char **poll_headers;	/* the same without Content-Type */
	char	   *poll_url;		/* after the first answer: the polls' URL */
	char	   *credential;
	char	   *cred_url;		/* the credential's url, ending in "/" */
	char	   *username;
	char	   *password;
	char	   *bearer_token;
	char	   *scratch;
	long		request_timeout_s;
	bool		poll;
	int64		started_ms;		/* when the job started (monotonic, ms) */
	int64		interval_ms;	/* the next wait */
	double		backoff;
	int64		max_interval_ms;
	int64		timeout_ms;
	int			requests;
	int			polls;			/* answers judged */
	int			throttled;
	char	   *last_value;		/* the until path's last value, for progress */
} HttpState;

static void HttpValidate(Jsonb *params, Oid owner);
static JobOutcome HttpRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
						  char **error, bool *retryable);
static JobOutcome HttpDoneInner(int64 job_id, const transfer_result *r, char **result_json,
								char **error, bool *retryable);
static JobOutcome HttpDone(int64 job_id, const transfer_result *r, char **result_json,
						   char **error, bool *retryable);
static char *HttpProgress(int64 job_id, float4 *fraction);
static void CheckCondition(JsonbValue *cond, const char *what, bool fail_if);
static bool ConditionHolds(JsonbValue *cond, Jsonb *doc, long status);
static bool HttpNext(HttpState *st, const char *url, bool first, int64 delay_ms,
					 char **error, bool *retryable);
static void HttpForget(HttpState *st);
static char *FillTemplate(const char *tmpl, Jsonb *doc, char **error);
static const char *HttpMethod(Jsonb *params);
static bool UnderBase(const char *url, const char *base);

static const char *const HttpKeys[] = {"url", "method", "headers", "body", "credential", "timeout", "poll", NULL};
static const char *const PollKeys[] = {"url", "until", "fail_if", "interval", "backoff", "max_interval", "timeout", NULL};
static const char *const UntilKeys[] = {"path", "equals", "in", "status_in", NULL};
static const char *const FailIfKeys[] = {"path", "equals", "in", "status_in", "message", NULL};
static const char *const Methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
/* Headers a job may not set: the worker sets them, or the credential does. */
static const char *const ReservedHeaders[] = {"host", "authorization", "proxy-authorization", "cookie",
"content-length", "transfer-encoding", "connection", "user-agent", NULL};

const JobKind mlops_kind_http = {
	.name = "http",
	.keys = HttpKeys,
	.validate = HttpValidate,
	.run = HttpRun,
	.transfer_done = HttpDone,
	.progress = HttpProgress,
};

static transfer_pool *HttpPool = NULL;
static List *HttpStates = NIL;

/* HttpMethod: params.method, upper case; POST when there is a body, else GET. */
static const char *
HttpMethod(Jsonb *params)
{
	const char *m = JsonbGetString(params, "method", false, "http");

	if (m == NULL)
		return http_member(&params->root, "body") != NULL ? "POST" : "GET";
	for (int i = 0; Methods[i] != NULL; i++)
		if (pg_strcasecmp(m, Methods[i]) == 0)
			return Methods[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("params.method of a job of kind http must be GET, POST, PUT, PATCH or DELETE, not \"%s\"", m)));
	return NULL;				/* keep the compiler quiet */
}

/*
 * CheckCondition checks an "until" or "fail_if" object: "path" with one of
 * "equals" and "in", and/or "status_in" (whole numbers 100-599).
 */
static void
CheckCondition(JsonbValue *cond, const char *what, bool fail_if)
{
	JsonbContainer *c;
	JsonbValue *path;
	JsonbValue *eq;
	JsonbValue *in;
	JsonbValue *st;
	JsonbValue *msg;

	http_check_object_keys(cond, what, fail_if ? FailIfKeys : UntilKeys);
	c = cond->val.binary.data;
	path = http_member(c, "path");
	eq = getKeyJsonValueFromContainer(c, "equals", 6, NULL);
	in = http_member(c, "in");
	st = http_member(c, "status_in");
	msg = http_member(c, "message");
	if (path == NULL && st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs \"path\" (with \"equals\" or \"in\") or \"status_in\"", what)));
	if (path != NULL)
	{
		if (path->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.path must be a string", what)));
		http_check_path(pnstrdup(path->val.string.val, path->val.string.len), psprintf("%s.path", what));
		if ((eq != NULL) == (in != NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s gives \"path\" with exactly one of \"equals\" and \"in\"", what)));
		if (eq != NULL && eq->type == jbvBinary)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.equals must be a JSON scalar (a string, number, boolean or null)", what)));
		if (in != NULL)
		{
			JsonbIterator *it;
			JsonbValue	v;
			JsonbIteratorToken r;
			int			n = 0;

			if (in->type != jbvBinary || !JsonContainerIsArray(in->val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s.in must be an array of JSON scalars", what)));
			it = JsonbIteratorInit(in->val.binary.data);
			while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				if (r == WJB_ELEM)
				{
					if (v.type == jbvBinary)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("%s.in must be an array of JSON scalars", what)));
					n++;
				}
			if (n == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s.in must not be empty", what)));
		}
	}
	else if (eq != NULL || in != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s gives \"equals\" or \"in\" only with \"path\"", what)));
	if (st != NULL)
	{
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken r;
		int			n = 0;

		if (st->type != jbvBinary || !JsonContainerIsArray(st->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.status_in must be an array of HTTP statuses", what)));
		it = JsonbIteratorInit(st->val.binary.data);
		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (r == WJB_ELEM)
			{
				double		d = v.type == jbvNumeric ? http_number(&v, what) : NAN;

				if (!(d >= 100 && d <= 599 && d == floor(d)))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s.status_in must be an array of HTTP statuses (whole numbers from 100 to 599)", what)));
				n++;
			}
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.status_in must not be empty", what)));
	}
	if (msg != NULL)
	{
		if (msg->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.message must be a string (a JSON path)", what)));
		http_check_path(pnstrdup(msg->val.string.val, msg->val.string.len), psprintf("%s.message", what));
	}
}

/* ConditionHolds judges a checked condition on an answer. */
static bool
ConditionHolds(JsonbValue *cond, Jsonb *doc, long status)
{
	JsonbContainer *c = cond->val.binary.data;
	JsonbValue *path = http_member(c, "path");
	JsonbValue *st = http_member(c, "status_in");

	if (st != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(st->val.binary.data);
		JsonbValue	v;
		JsonbIteratorToken r;
		bool		found = false;

		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (r == WJB_ELEM && v.type == jbvNumeric && (long) http_number(&v, "status") == status)
				found = true;
		if (!found)
			return false;
	}
	if (path != NULL)
	{
		char	   *p = pnstrdup(path->val.string.val, path->val.string.len);
		JsonbValue *got = doc ? http_path_get(doc, p) : NULL;
		JsonbValue *eq = getKeyJsonValueFromContainer(c, "equals", 6, NULL);
		JsonbValue *in = http_member(c, "in");

		if (got == NULL)
			return false;
		if (eq != NULL)
			return http_scalar_equal(got, eq);
		if (in != NULL)
		{
			JsonbIterator *it = JsonbIteratorInit(in->val.binary.data);
			JsonbValue	v;
			JsonbIteratorToken r;
			bool		found = false;

			while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				if (r == WJB_ELEM && http_scalar_equal(got, &v))
					found = true;
			return found;
		}
	}
	return true;
}

/*
 * CheckTemplate: a poll URL's "{path}" placeholders are well-formed paths.
 * The URL itself (with placeholders filled) is checked before each poll.
 */
static void
CheckTemplate(const char *tmpl)
{
	const char *p = tmpl;

	while ((p = strchr(p, '{')) != NULL)
	{
		const char *end = strchr(p, '}');

		if (end == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.poll.url has a \"{\" without its \"}\"")));
		http_check_path(pnstrdup(p + 1, end - p - 1), "a placeholder of params.poll.url");
		p = end + 1;
	}
	/* the URL with each placeholder as "x": scheme, host and port are checked now */
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (p = tmpl; *p; p++)
		{
			if (*p == '{')
			{
				appendStringInfoChar(&buf, 'x');
				p = strchr(p, '}');
			}
			else
				appendStringInfoChar(&buf, *p);
		}
		mlops_check_url(buf.data);
	}
}

/*
 * FillTemplate fills a poll URL's "{path}" placeholders from the first
 * answer, each value percent-encoded (RFC 3986 unreserved characters only
 * kept), so that a value cannot change the URL's host or path structure.
 */
static char *
FillTemplate(const char *tmpl, Jsonb *doc, char **error)
{
	StringInfoData buf;
	const char *p = tmpl;

	initStringInfo(&buf);
	while (*p)
	{
		const char *end;
		char	   *path;
		JsonbValue *v;
		char	   *text;

		if (*p != '{')
		{
			appendStringInfoChar(&buf, *p++);
			continue;
		}
		end = strchr(p, '}');
		path = pnstrdup(p + 1, end - p - 1);
		v = doc ? http_path_get(doc, path) : NULL;
		if (v == NULL || v->type == jbvBinary || v->type == jbvNull)
		{
			*error = psprintf("the first answer has no value at \"%s\" for params.poll.url", path);
			return NULL;
		}
		text = http_value_text(v);
		for (const unsigned char *c = (const unsigned char *) text; *c; c++)
		{
			if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~')
				appendStringInfoChar(&buf, (char) *c);
			else
				appendStringInfo(&buf, "%%%02X", *c);
		}
		p = end + 1;
	}
	return buf.data;
}

/* CheckHeaders: params.headers is an object of header names to string values. */
static int
CheckHeaders(JsonbValue *h)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			n = 0;
	char	   *name = NULL;

	if (h == NULL)
		return 0;
	if (h->type != jbvBinary || !JsonContainerIsObject(h->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.headers of a job of kind http must be an object of header names and string values")));
	it = JsonbIteratorInit(h->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (r == WJB_KEY)
		{
			name = pnstrdup(v.val.string.val, v.val.string.len);
			if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") != strlen(name))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("params.headers has an invalid header name \"%s\"", name)));
			for (int i = 0; ReservedHeaders[i] != NULL; i++)
				if (pg_strcasecmp(name, ReservedHeaders[i]) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("params.headers may not set \"%s\"", name),
							 errhint("Authentication comes from params.credential; the worker sets Host, User-Agent and the body's headers.")));
			if (++n > HTTP_MAX_HEADERS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("params.headers may hold at most %d headers", HTTP_MAX_HEADERS)));
		}
		else if (r == WJB_VALUE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("params.headers.%s must be a string", name)));
			for (int i = 0; i < v.val.string.len; i++)
				if ((unsigned char) v.val.string.val[i] < 0x20 || v.val.string.val[i] == 0x7f)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("params.headers.%s holds a control character", name)));
		}
	}
	return n;
}

/*
 * CredentialFor reads the credential (granted to the owner, kind http) and
 * checks that url lies under its url; returns the credential's url with a
 * "/" at its end, and its secret in *secret.
 */
static char *
CredentialFor(const char *credential, Oid owner, const char *url, Jsonb **secret)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *kind = mlops_credential_lookup(credential, owner, secret, cxt);
	char	   *base;

	MemoryContextSwitchTo(cxt);
	if (kind == NULL)
		mlops_credential_error(credential, owner);
	if (strcmp(kind, "http") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credential \"%s\" is of kind %s; a job of kind http needs a credential of kind http", credential, kind)));
	base = mlops_with_slash(mlops_secret_string(*secret, "url"));
	if (url != NULL && !UnderBase(url, base))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("params.url is not under the url of credential \"%s\"", credential),
				 errhint("A credential is sent only to URLs that begin with its own url (see mlops.credential_names and docs/jobs.md).")));
	return base;
}

static void
HttpValidate(Jsonb *params, Oid owner)
{
	const char *url = JsonbGetString(params, "url", true, "http");
	const char *credential = JsonbGetString(params, "credential", false, "http");
	JsonbValue *poll = http_member(&params->root, "poll");
	JsonbValue *body = http_member(&params->root, "body");
	const char *method = HttpMethod(params);

	mlops_check_url(url);
	(void) CheckHeaders(http_member(&params->root, "headers"));
	if (body != NULL && strcmp(method, "GET") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a job of kind http sends params.body with POST, PUT, PATCH or DELETE, not GET")));
	(void) http_duration_ms(http_member(&params->root, "timeout"), "params.timeout", 30000, 1000, 3600 * 1000);
	if (poll != NULL)
	{
		JsonbContainer *p;
		JsonbValue *until;
		JsonbValue *fail_if;
		JsonbValue *purl;
		JsonbValue *backoff;
		int64		interval;
		int64		max_interval;

		http_check_object_keys(poll, "params.poll", PollKeys);
		p = poll->val.binary.data;
		until = http_member(p, "until");
		fail_if = http_member(p, "fail_if");
		if (until == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.poll needs \"until\", the condition that ends the polls"),
					 errhint("For example {\"until\": {\"path\": \"status\", \"in\": [\"done\", \"failed\"]}}.")));
		CheckCondition(until, "params.poll.until", false);
		if (fail_if != NULL)
			CheckCondition(fail_if, "params.poll.fail_if", true);
		purl = http_member(p, "url");
		if (purl != NULL)
		{
			if (purl->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("params.poll.url must be a string")));
			CheckTemplate(pnstrdup(purl->val.string.val, purl->val.string.len));
		}
		interval = http_duration_ms(http_member(p, "interval"), "params.poll.interval", 2000, 100, 3600 * 1000);
		max_interval = http_duration_ms(http_member(p, "max_interval"), "params.poll.max_interval",
										Max(interval, 30000), 100, 3600 * 1000);
		if (max_interval < interval)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.poll.max_interval must not be less than params.poll.interval")));
		backoff = http_member(p, "backoff");
		if (backoff != NULL)
		{
			double		b = http_number(backoff, "params.poll.backoff");

			if (!(b >= 1.0 && b <= 10.0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("params.poll.backoff must be from 1 to 10, not %g", b)));
		}
		(void) http_duration_ms(http_member(p, "timeout"), "params.poll.timeout", 600000, 1000,
								7L * 24 * 3600 * 1000);
	}
	if (credential != NULL)
	{
		Jsonb	   *secret = NULL;
		JsonbValue *purl = poll ? http_member(poll->val.binary.data, "url") : NULL;
		char	   *base = CredentialFor(credential, owner, url, &secret);

		if (purl != NULL)
		{
			/*
			 * Placeholders are filled percent-encoded (no "/", "?", "#" or
			 * "@" survives), so the part before the first one decides.
			 */
			char	   *t = pnstrdup(purl->val.string.val, purl->val.string.len);
			char	   *brace = strchr(t, '{');

			if (brace)
				*brace = '\0';
			if (!UnderBase(t, base) || (brace != NULL && strlen(t) < strlen(base)))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("params.poll.url is not under the url of credential \"%s\"", credential),
						 errhint("A credential is sent only to URLs that begin with its own url; a placeholder may only come after it.")));
		}
	}
}

/* NowMs: the monotonic clock in milliseconds. */
static int64
NowMs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * HttpRun reads the params and the credential (still granted to the job's
 * owner) and starts the first request.
 */
static JobOutcome
HttpRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	HttpState  *st;
	const char *credential = JsonbGetString(job->params, "credential", false, "http");
	const char *url = JsonbGetString(job->params, "url", true, "http");
	Jsonb	   *secret = NULL;
	char	   *cred_url = NULL;
	char	   *scratch;
	JsonbValue *poll;
	JsonbValue *hdrs;
	JsonbValue *body;
	int			nh;

	HttpPool = pool;
	*retryable = false;
	if (credential != NULL)
		cred_url = CredentialFor(credential, job->submitted_by, url, &secret);
	scratch = http_scratch_path(job->id, "http", error);
	if (scratch == NULL)
		return JOB_FAILED;

	cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops http job", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(HttpState));
	st->job_id = job->id;
	st->cxt = cxt;
	st->params = DatumGetJsonbPCopy(JsonbPGetDatum(job->params));
	st->url = pstrdup(url);
	st->method = pstrdup(HttpMethod(job->params));
	st->scratch = pstrdup(scratch);
	st->request_timeout_s = (long) (http_duration_ms(http_member(&st->params->root, "timeout"),
													 "params.timeout", 30000, 1000, 3600 * 1000) / 1000);
	body = http_member(&st->params->root, "body");
	hdrs = http_member(&st->params->root, "headers");
	nh = CheckHeaders(hdrs);
	st->headers = palloc0(sizeof(char *) * (nh + 3));
	st->poll_headers = palloc0(sizeof(char *) * (nh + 2));
	nh = 0;
	st->headers[nh++] = "Accept: application/json";
	if (body != NULL)
	{
		if (body->type == jbvBinary)
			st->body = JsonbToCString(NULL, body->val.binary.data, body->val.binary.len);
		else
		{
			/* a scalar body ("text", 42, true): as JSON text */
			Jsonb	   *scalar = JsonbValueToJsonb(body);

			st->body = JsonbToCString(NULL, &scalar->root, VARSIZE(scalar));
		}
		st->headers[nh++] = "Content-Type: application/json";
	}
	if (hdrs != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(hdrs->val.binary.data);
		JsonbValue	v;
		JsonbIteratorToken r;
		char	   *name = NULL;

		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (r == WJB_KEY)
				name = pnstrdup(v.val.string.val, v.val.string.len);
			else if (r == WJB_VALUE)
				st->headers[nh++] = psprintf("%s: %.*s", name, v.val.string.len, v.val.string.val);
		}
	}
	for (int i = 0, j = 0; st->headers[i] != NULL; i++)
		if (strncmp(st->headers[i], "Content-Type:", 13) != 0)
			st->poll_headers[j++] = st->headers[i];
	if (credential != NULL)
	{
		st->credential = pstrdup(credential);
		st->cred_url = pstrdup(cred_url);
		st->username = (char *) mlops_secret_string(secret, "username");
		st->password = (char *) mlops_secret_string(secret, "password");
		st->bearer_token = (char *) mlops_secret_string(secret, "bearer_token");
	}
	poll = http_member(&st->params->root, "poll");
	st->poll = poll != NULL;
	st->interval_ms = 2000;
	st->backoff = 1.0;
	st->timeout_ms = HTTP_THROTTLE_LIMIT_MS;
	if (poll != NULL)
	{
		JsonbContainer *p = poll->val.binary.data;
		JsonbValue *b = http_member(p, "backoff");

		st->interval_ms = http_duration_ms(http_member(p, "interval"), "params.poll.interval", 2000, 100, 3600 * 1000);
		st->max_interval_ms = http_duration_ms(http_member(p, "max_interval"), "params.poll.max_interval",
											   Max(st->interval_ms, 30000), 100, 3600 * 1000);
		st->backoff = b ? http_number(b, "params.poll.backoff") : 1.0;
		st->timeout_ms = http_duration_ms(http_member(p, "timeout"), "params.poll.timeout", 600000, 1000,
										  7L * 24 * 3600 * 1000);
	}
	MemoryContextSwitchTo(TopMemoryContext);
	HttpStates = lappend(HttpStates, st);
	MemoryContextSwitchTo(caller);
	st->started_ms = NowMs();
	if (!HttpNext(st, st->url, true, 0, error, retryable))
	{
		HttpForget(st);
		return JOB_FAILED;
	}
	return JOB_STARTED;
}

/* UnderBase: url begins with base (which ends in "/"), or is base without its "/". */
static bool
UnderBase(const char *url, const char *base)
{
	size_t		bl = strlen(base);

	return strncmp(url, base, bl) == 0 ||
		(strlen(url) == bl - 1 && strncmp(url, base, bl - 1) == 0);
}

/*
 * HttpNext starts the job's next request after delay_ms: the first request
 * (params.method, body and headers) when first, else a poll (a GET of the
 * poll URL, with params.headers but no body).
 */
static bool
HttpNext(HttpState *st, const char *url, bool first, int64 delay_ms, char **error, bool *retryable)
{
	transfer_opts o;
	char		err[512];

	(void) unlink(st->scratch);
	st->requests++;
	memset(&o, 0, sizeof(o));
	o.job_id = st->job_id;
	o.url = url;
	o.dest_path = st->scratch;
	o.user_agent = mlops_http_user_agent();
	o.connect_timeout_s = Min(30, st->request_timeout_s);
	o.total_timeout_s = st->request_timeout_s;
	o.max_bytes = (int64) mlops_max_job_result_kb * 1024;
	o.max_redirects = 5;
	o.policy = mlops_net_policy();
	o.delay_ms = (long) delay_ms;
	/* a poll sends no body, so no Content-Type */
	o.headers = first ? st->headers : st->poll_headers;
	if (first)
	{
		o.method = strcmp(st->method, "GET") == 0 ? NULL : st->method;
		o.body = st->body;
	}
	if (st->credential != NULL)
	{
		/* the secret goes only to URLs under the credential's url */
		if (!UnderBase(url, st->cred_url))
		{
			*error = psprintf("the URL of request %d is not under the url of credential \"%s\"",
							  st->requests, st->credential);
			*retryable = false;
			return false;
		}
		o.credential_name = st->credential;
		o.username = st->username;
		o.password = st->password;
		o.bearer_token = st->bearer_token;
	}
	if (!transfer_start(HttpPool, &o, err, sizeof(err), retryable))
	{
		*error = pstrdup(err);
		return false;
	}
	return true;
}

/* HttpForget ends a job's state: its scratch file, its memory (secrets wiped). */
static void
HttpForget(HttpState *st)
{
	(void) unlink(st->scratch);
	HttpStates = list_delete_ptr(HttpStates, st);
	if (st->password)
		explicit_bzero(st->password, strlen(st->password));
	if (st->bearer_token)
		explicit_bzero(st->bearer_token, strlen(st->bearer_token));
	MemoryContextDelete(st->cxt);
}

static HttpState *
FindState(int64 job_id)
{
	ListCell   *lc;

	foreach(lc, HttpStates)
		if (((HttpState *) lfirst(lc))->job_id == job_id)
			return lfirst(lc);
	return NULL;
}

/* HttpProgress: "poll N" and the until path's last value; the fraction of the poll timeout used. */
static char *
HttpProgress(int64 job_id, float4 *fraction)
{
	HttpState  *st = FindState(job_id);

	if (st == NULL)
		return NULL;
	*fraction = st->poll ? (float4) Min(0.99, (double) (NowMs() - st->started_ms) / (double) st->timeout_ms) : 0;
	if (!st->poll)
		return psprintf("request %d%s", st->requests, st->throttled ? " (throttled)" : "");
	return psprintf("poll %d%s%s%s", st->polls, st->last_value ? ": " : "",
					st->last_value ? st->last_value : "", st->throttled ? " (throttled)" : "");
}

/*
 * Result builds the job's result from the last answer.
 */
static char *
Result(HttpState *st, const transfer_result *r, Jsonb *doc, const char *text)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"http_status\": %ld, \"body\": %s", r->http_status,
					 doc ? JsonbToCString(NULL, &doc->root, VARSIZE(doc)) : "null");
	if (doc == NULL && text != NULL && text[0] != '\0')
	{
		appendStringInfoString(&buf, ", \"body_text\": ");
		escape_json(&buf, text);
	}
	appendStringInfo(&buf, ", \"polls\": %d, \"requests\": %d, \"throttled\": %d, \"url\": ",
					 st->polls, st->requests, st->throttled);
	escape_json(&buf, r->effective_url);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * HttpDone judges one answer: a 429/503 is waited out; fail_if fails the
 * job, until ends it; otherwise the next poll starts after the interval
 * (which then grows by the backoff, up to max_interval).
 */
static JobOutcome
HttpDoneInner(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	HttpState  *st = FindState(job_id);
	JsonbValue *poll;
	char	   *text;
	size_t		len;
	Jsonb	   *doc;
	int64		elapsed;

	*retryable = false;
	if (st == NULL)
	{
		*error = pstrdup("the http job's state is lost");
		*retryable = true;
		return JOB_FAILED;
	}
	elapsed = NowMs() - st->started_ms;
	if (r->state == TRANSFER_CANCELLED)
	{
		*error = pstrdup("cancelled");
		HttpForget(st);
		return JOB_FAILED;
	}
	if (r->state == TRANSFER_FAILED && (r->http_status == 429 || r->http_status == 503))
	{
		/* throttled: wait (Retry-After, else the interval; at least 1 s) and ask again */
		int64		wait = r->retry_after_s > 0 ? (int64) r->retry_after_s * 1000 : Max(st->interval_ms, 1000);

		st->throttled++;
		if ((st->poll || st->throttled <= HTTP_MAX_THROTTLED) && elapsed + wait <= st->timeout_ms)
		{
			const char *url = st->poll_url ? st->poll_url : st->url;

			if (HttpNext(st, url, st->poll_url == NULL, wait, error, retryable))
				return JOB_STARTED;
			HttpForget(st);
			return JOB_FAILED;
		}
		*error = psprintf("%s, %d times; giving up after %.0f s", r->error, st->throttled, elapsed / 1000.0);
		*retryable = true;
		HttpForget(st);
		return JOB_FAILED;
	}
	if (r->state != TRANSFER_DONE)
	{
		if (strncmp(r->error, "response larger than", 20) == 0)
			*error = psprintf("the answer is larger than mlops.max_job_result_size (%d kB)", mlops_max_job_result_kb);
		else
			*error = psprintf("request %d failed: %s", st->requests, r->error);
		*retryable = r->retryable;
		HttpForget(st);
		return JOB_FAILED;
	}
	text = http_read_scratch(st->scratch, (size_t) mlops_max_job_result_kb * 1024, &len, error);
	(void) unlink(st->scratch);
	if (text == NULL)
	{
		*retryable = true;
		HttpForget(st);
		return JOB_FAILED;
	}
	doc = len > 0 ? http_parse_json(text, len) : NULL;
	poll = http_member(&st->params->root, "poll");
	if (poll == NULL)
	{
		*result_json = Result(st, r, doc, text);
		HttpForget(st);
		return JOB_SUCCEEDED;
	}

	st->polls++;
	{
		JsonbContainer *p = poll->val.binary.data;
		JsonbValue *until = http_member(p, "until");
		JsonbValue *fail_if = http_member(p, "fail_if");
		JsonbValue *upath = http_member(until->val.binary.data, "path");

		if (upath != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(st->cxt);
			JsonbValue *got = doc ? http_path_get(doc, pnstrdup(upath->val.string.val, upath->val.string.len)) : NULL;

			st->last_value = got ? http_value_text(got) : NULL;
			if (st->last_value && strlen(st->last_value) > 100)
				st->last_value[100] = '\0';
			MemoryContextSwitchTo(old);
		}
		if (fail_if != NULL && ConditionHolds(fail_if, doc, r->http_status))
		{
			JsonbValue *mpath = http_member(fail_if->val.binary.data, "message");
			JsonbValue *fpath = http_member(fail_if->val.binary.data, "path");
			JsonbValue *m = NULL;

			if (mpath != NULL && doc != NULL)
				m = http_path_get(doc, pnstrdup(mpath->val.string.val, mpath->val.string.len));
			if (m == NULL && fpath != NULL && doc != NULL)
				m = http_path_get(doc, pnstrdup(fpath->val.string.val, fpath->val.string.len));
			*error = psprintf("the remote reported a failure (poll %d, http status %ld): %s",
							  st->polls, r->http_status, m ? http_value_text(m) : "fail_if holds");
			HttpForget(st);
			return JOB_FAILED;
		}
		if (ConditionHolds(until, doc, r->http_status))
		{
			*result_json = Result(st, r, doc, text);
			HttpForget(st);
			return JOB_SUCCEEDED;
		}
		/* the polls' URL, from the first answer */
		if (st->polls == 1)
		{
			JsonbValue *purl = http_member(p, "url");

			if (purl != NULL)
			{
				char	   *u = FillTemplate(pnstrdup(purl->val.string.val, purl->val.string.len), doc, error);

				if (u == NULL)
				{
					HttpForget(st);
					return JOB_FAILED;
				}
				st->poll_url = MemoryContextStrdup(st->cxt, u);
			}
		}
		if (elapsed + st->interval_ms > st->timeout_ms)
		{
			*error = psprintf("polling timed out after %d polls in %.1f s (params.poll.timeout); the last value was %s",
							  st->polls, elapsed / 1000.0, st->last_value ? st->last_value : "absent");
			HttpForget(st);
			return JOB_FAILED;
		}
		if (!HttpNext(st, st->poll_url ? st->poll_url : st->url, st->poll_url == NULL,
					  st->interval_ms, error, retryable))
		{
			HttpForget(st);
			return JOB_FAILED;
		}
		st->interval_ms = Min(st->max_interval_ms, (int64) (st->interval_ms * st->backoff));
		return JOB_STARTED;
	}
}

/*
 * HttpDone runs HttpDoneInner and turns an error it throws into the job's
 * failure: the worker calls transfer_done outside any PG_TRY, and a job
 * whose state was dropped by an error would stay running.
 */
static JobOutcome
HttpDone(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile JobOutcome outcome = JOB_FAILED;

	PG_TRY();
	{
		outcome = HttpDoneInner(job_id, r, result_json, error, retryable);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		HttpState  *st;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (IsTransactionState())
			AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		*error = pstrdup(edata->message);
		*retryable = false;
		outcome = JOB_FAILED;
		st = FindState(job_id);
		if (st != NULL)
		{
			(void) transfer_cancel(HttpPool, job_id);	/* a request it may have started */
			HttpForget(st);
		}
	}
	PG_END_TRY();
	return outcome;
}
