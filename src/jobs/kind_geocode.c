/*-------------------------------------------------------------------------
 *
 * kind_geocode.c
 *	  Job kind "geocode": reverse-geocodes a batch of points through a
 *	  Nominatim-compatible service (GET <endpoint>/reverse?format=jsonv2):
 *
 *		{"points": [{"id": 7, "lon": 12.49222, "lat": 41.89021}, ...],
 *		 "credential": "nominatim" | "endpoint": "https://nominatim.example.org/",
 *		 "zoom": 18, "language": "en", "max_age": "30d"}
 *
 *	  Politeness, as Nominatim's usage policy asks:
 *	  - the User-Agent names the deployment (mlops.user_agent): the kind
 *	    refuses to run while the setting is empty;
 *	  - at most mlops.geocode_rate requests per second per host across all
 *	    workers and sessions: each request reserves the host's next slot in
 *	    the table mlops.geocode_pacing (mlops.worker_geocode_slot, one short
 *	    transaction; the row lock orders the workers), spaced 1/rate seconds
 *	    plus a 100 ms margin so that a worker a little late never brings two
 *	    requests closer than 1/rate, and starts at its slot as a delayed
 *	    request of the transfer pool (cancellable at once);
 *	  - a 429 or 503 holds the host for its Retry-After (else 5 s) for every
 *	    worker, and the point is asked again (at most 5 times);
 *	  - answers are cached per owner in mlops.geocode_cache, keyed by the
 *	    endpoint and the coordinates rounded to 5 decimals (about 1 m); an
 *	    answer younger than max_age (mlops.geocode_cache_max_age, which a
 *	    job may lower) costs no request.
 *
 *	  Each request is made like a download (the network policy on the URL,
 *	  every redirect hop and every connection), its answer written to
 *	  work_dir/.list/<job id>.geo and removed once read.  Points are asked
 *	  one after another.
 *
 *	  Result: {"points": [{"id", "lon", "lat", "display_name", "address",
 *	  "from_cache"}...] in the order given, "count", "requests",
 *	  "from_cache", "throttled"}.  A point the service cannot place (its
 *	  answer has "error") has null display_name and address and an "error".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "jobs/http_json.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

#define GEO_MAX_POINTS		10000
#define GEO_MAX_THROTTLED	5
#define GEO_DEFAULT_HOLD_MS	5000
#define GEO_MARGIN_MS		100
#define GEO_MAX_ANSWER		(1024 * 1024)

typedef struct GeoPoint
{
	char	   *id_json;		/* the id as JSON text */
	double		lon;
	double		lat;
	char	   *answer;			/* the answer's JSON text, once known */
	bool		from_cache;
} GeoPoint;

typedef struct GeoState
{
	int64		job_id;
	Oid			owner;
	MemoryContext cxt;
	GeoPoint   *points;
	int			n;
	int			next;			/* the point being asked */
	char	   *endpoint;		/* ending in "/" */
	char	   *host;			/* the pacing key: host[:port] */
	char	   *credential;
	char	   *username;
	char	   *password;
	char	   *bearer_token;
	char	   *key;
	int			zoom;			/* -1: the service's default */
	char	   *language;
	double		max_age_s;
	char	   *scratch;
	int			requests;
	int			cached;
	int			throttled;		/* in all */
	int			point_throttled;	/* of the point being asked */
} GeoState;

static void GeoValidate(Jsonb *params, Oid owner);
static JobOutcome GeoRun(ClaimedJob *job, transfer_pool *pool, char **result_json,
						 char **error, bool *retryable);
static JobOutcome GeoDoneInner(int64 job_id, const transfer_result *r, char **result_json,
								char **error, bool *retryable);
static JobOutcome GeoDone(int64 job_id, const transfer_result *r, char **result_json,
						  char **error, bool *retryable);
static char *GeoProgress(int64 job_id, float4 *fraction);
static JobOutcome GeoAdvance(GeoState *st, double hold_ms, char **result_json, char **error,
							 bool *retryable);
static void GeoForget(GeoState *st);

static const char *const GeoKeys[] = {"points", "credential", "endpoint", "zoom", "language", "max_age", NULL};
static const char *const PointKeys[] = {"id", "lon", "lat", NULL};

const JobKind mlops_kind_geocode = {
	.name = "geocode",
	.keys = GeoKeys,
	.validate = GeoValidate,
	.run = GeoRun,
	.transfer_done = GeoDone,
	.progress = GeoProgress,
};

static transfer_pool *GeoPool = NULL;
static List *GeoStates = NIL;

/* CheckUserAgent: geocode requests must name the deployment. */
static void
CheckUserAgent(void)
{
	if (mlops_user_agent == NULL || mlops_user_agent[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("geocode jobs need the setting \"mlops.user_agent\""),
				 errdetail("Geocoding services (Nominatim's usage policy) ask every client to name itself in its User-Agent."),
				 errhint("An administrator sets mlops.user_agent to a name of this deployment and a contact, such as 'acme-detection (ops@acme.example)', and reloads.")));
}

/*
 * ReadPoints checks params.points: 1 to GEO_MAX_POINTS objects {id, lon,
 * lat}, ids strings or whole numbers, coordinates finite and in range.
 * Fills out (palloc'd in the current context) when given.
 */
static int
ReadPoints(Jsonb *params, GeoPoint **out)
{
	JsonbValue *pts = http_member(&params->root, "points");
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			n = 0;
	int			cap;

	if (pts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a job of kind geocode needs params.points"),
				 errhint("Give an array of points, such as [{\"id\": 1, \"lon\": 12.49, \"lat\": 41.89}].")));
	if (pts->type != jbvBinary || !JsonContainerIsArray(pts->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.points of a job of kind geocode must be an array of {\"id\", \"lon\", \"lat\"} objects")));
	cap = JsonContainerSize(pts->val.binary.data);
	if (cap < 1 || cap > GEO_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.points must hold 1 to %d points, not %d", GEO_MAX_POINTS, cap)));
	if (out)
		*out = palloc0(sizeof(GeoPoint) * cap);
	it = JsonbIteratorInit(pts->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *what;
		JsonbValue *id;
		double		lon;
		double		lat;

		if (r != WJB_ELEM)
			continue;
		what = psprintf("params.points[%d]", n);
		http_check_object_keys(&v, what, PointKeys);
		id = http_member(v.val.binary.data, "id");
		if (id == NULL || !(id->type == jbvString ||
							(id->type == jbvNumeric && http_number(id, what) == floor(http_number(id, what)))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.id must be a string or a whole number", what)));
		lon = http_number(http_member(v.val.binary.data, "lon"), psprintf("%s.lon", what));
		lat = http_number(http_member(v.val.binary.data, "lat"), psprintf("%s.lat", what));
		if (!(lon >= -180 && lon <= 180) || !(lat >= -90 && lat <= 90))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is not a longitude and latitude (%g, %g)", what, lon, lat),
					 errhint("Longitudes are from -180 to 180, latitudes from -90 to 90 (WGS 84, EPSG:4326).")));
		if (out)
		{
			StringInfoData idj;

			initStringInfo(&idj);
			if (id->type == jbvString)
				escape_json(&idj, pnstrdup(id->val.string.val, id->val.string.len));
			else
				appendStringInfoString(&idj, http_value_text(id));
			(*out)[n].id_json = idj.data;
			(*out)[n].lon = lon;
			(*out)[n].lat = lat;
		}
		n++;
	}
	return n;
}

/*
 * Endpoint returns the service's base URL (ending in "/") from
 * params.endpoint or the credential (kind http, granted to the owner);
 * *secret is the credential's secret, or NULL.
 */
static char *
Endpoint(Jsonb *params, Oid owner, Jsonb **secret)
{
	const char *endpoint = JsonbGetString(params, "endpoint", false, "geocode");
	const char *credential = JsonbGetString(params, "credential", false, "geocode");
	MemoryContext cxt = CurrentMemoryContext;
	char	   *kind;
	char	   *url;

	*secret = NULL;
	if ((endpoint == NULL) == (credential == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a job of kind geocode names either params.endpoint or params.credential"),
				 errhint("A credential of kind http holds the service's url and, when it needs one, its key.")));
	if (endpoint != NULL)
		url = mlops_with_slash(endpoint);
	else
	{
		kind = mlops_credential_lookup(credential, owner, secret, cxt);
		MemoryContextSwitchTo(cxt);
		if (kind == NULL)
			mlops_credential_error(credential, owner);
		if (strcmp(kind, "http") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("credential \"%s\" is of kind %s; a job of kind geocode needs a credential of kind http", credential, kind)));
		url = mlops_with_slash(mlops_secret_string(*secret, "url"));
	}
	if (strchr(url, '?') != NULL || strchr(url, '#') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the geocoding endpoint must be a URL without a query or fragment")));
	mlops_check_url(url);
	return url;
}

static void
GeoValidate(Jsonb *params, Oid owner)
{
	Jsonb	   *secret;
	JsonbValue *zoom = http_member(&params->root, "zoom");
	const char *language = JsonbGetString(params, "language", false, "geocode");

	(void) ReadPoints(params, NULL);
	(void) Endpoint(params, owner, &secret);
	if (zoom != NULL)
	{
		double		z = http_number(zoom, "params.zoom");

		if (!(z >= 0 && z <= 18 && z == floor(z)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.zoom must be a whole number from 0 to 18")));
	}
	if (language != NULL &&
		(language[0] == '\0' || strlen(language) > 64 ||
		 strspn(language, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-,;=.") != strlen(language)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.language must be language tags such as \"en\" or \"de,en\"")));
	(void) http_duration_ms(http_member(&params->root, "max_age"), "params.max_age", 0, 0,
							(int64) mlops_geocode_cache_max_age_s * 1000);
	CheckUserAgent();
}

/* HostOf: "host[:port]" of a URL, lower case, for the pacing. */
static char *
HostOf(const char *url)
{
	const char *h = strstr(url, "://");
	size_t		len;
	char	   *host;

	h = h ? h + 3 : url;
	len = strcspn(h, "/?#");
	host = pnstrdup(h, len);
	for (char *c = host; *c; c++)
		*c = pg_tolower((unsigned char) *c);
	return host;
}

/*
 * GeoRun reads the points, the endpoint and the credential, and asks (or
 * finds in the cache) the first points.
 */
static JobOutcome
GeoRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	GeoState   *st;
	Jsonb	   *secret;
	char	   *endpoint;
	char	   *scratch;
	JsonbValue *zoom;

	GeoPool = pool;
	*retryable = false;
	CheckUserAgent();
	endpoint = Endpoint(job->params, job->submitted_by, &secret);
	scratch = http_scratch_path(job->id, "geo", error);
	if (scratch == NULL)
		return JOB_FAILED;

	cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops geocode job", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(GeoState));
	st->job_id = job->id;
	st->owner = job->submitted_by;
	st->cxt = cxt;
	st->n = ReadPoints(job->params, &st->points);
	st->endpoint = pstrdup(endpoint);
	st->host = HostOf(endpoint);
	st->scratch = pstrdup(scratch);
	zoom = http_member(&job->params->root, "zoom");
	st->zoom = zoom ? (int) http_number(zoom, "params.zoom") : -1;
	st->language = (char *) JsonbGetString(job->params, "language", false, "geocode");
	st->max_age_s = http_duration_ms(http_member(&job->params->root, "max_age"), "params.max_age",
									 (int64) mlops_geocode_cache_max_age_s * 1000, 0,
									 (int64) mlops_geocode_cache_max_age_s * 1000) / 1000.0;
	if (secret != NULL)
	{
		st->credential = (char *) JsonbGetString(job->params, "credential", true, "geocode");
		st->username = (char *) mlops_secret_string(secret, "username");
		st->password = (char *) mlops_secret_string(secret, "password");
		st->bearer_token = (char *) mlops_secret_string(secret, "bearer_token");
		st->key = (char *) mlops_secret_string(secret, "key");
	}
	MemoryContextSwitchTo(TopMemoryContext);
	GeoStates = lappend(GeoStates, st);
	MemoryContextSwitchTo(caller);
	return GeoAdvance(st, 0, result_json, error, retryable);
}

/* Tx: a short transaction of the worker around one statement; false (and *error) when it fails. */
static bool
Tx(const char *sql, int nargs, Oid *types, Datum *args, bool read_only, Datum *value, bool *isnull, char **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		mlops_begin_tx();
		SPI_execute_with_args(sql, nargs, types, args, NULL, read_only, 1);
		*isnull = true;
		if (SPI_processed == 1 && value != NULL)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

			if (!*isnull)
			{
				MemoryContext old = MemoryContextSwitchTo(cxt);

				/* the value outlives the transaction: a text copy or a float8 */
				*value = SPI_tuptable->tupdesc->attrs[0].atttypid == FLOAT8OID ? d
					: CStringGetDatum(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
				MemoryContextSwitchTo(old);
			}
		}
		mlops_end_tx();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		*error = psprintf("geocode bookkeeping failed: %s", edata->message);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* GeoResult: the job's result, every point answered. */
static char *
GeoResult(GeoState *st)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"points\": [");
	for (int i = 0; i < st->n; i++)
	{
		GeoPoint   *p = &st->points[i];
		Jsonb	   *doc = http_parse_json(p->answer, strlen(p->answer));
		JsonbValue *name = doc && !JB_ROOT_IS_SCALAR(doc) ? http_member(&doc->root, "display_name") : NULL;
		JsonbValue *addr = doc && !JB_ROOT_IS_SCALAR(doc) ? http_member(&doc->root, "address") : NULL;
		JsonbValue *err = doc && !JB_ROOT_IS_SCALAR(doc) ? http_member(&doc->root, "error") : NULL;

		appendStringInfo(&buf, "%s{\"id\": %s, \"lon\": %.15g, \"lat\": %.15g, \"display_name\": ",
						 i > 0 ? ", " : "", p->id_json, p->lon, p->lat);
		if (name != NULL && name->type == jbvString)
			escape_json(&buf, http_value_text(name));
		else
			appendStringInfoString(&buf, "null");
		appendStringInfo(&buf, ", \"address\": %s",
						 addr != NULL && addr->type == jbvBinary ? http_value_text(addr) : "null");
		if (err != NULL)
		{
			appendStringInfoString(&buf, ", \"error\": ");
			escape_json(&buf, http_value_text(err));
		}
		appendStringInfo(&buf, ", \"from_cache\": %s}", p->from_cache ? "true" : "false");
	}
	appendStringInfo(&buf, "], \"count\": %d, \"requests\": %d, \"from_cache\": %d, \"throttled\": %d}",
					 st->n, st->requests, st->cached, st->throttled);
	return buf.data;
}

/*
 * GeoAdvance answers the points it finds in the cache, from st->next on,
 * and starts the request of the first one it does not (at the host's next
 * slot, not before hold_ms); the result once every point is answered.
 */
static JobOutcome
GeoAdvance(GeoState *st, double hold_ms, char **result_json, char **error, bool *retryable)
{
	while (st->next < st->n)
	{
		GeoPoint   *p = &st->points[st->next];
		Datum		args[5];
		Oid			types[5] = {OIDOID, TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
		Datum		value = (Datum) 0;
		bool		isnull = true;
		transfer_opts o;
		StringInfoData url;
		char		err[512];
		double		wait_ms;

		args[0] = ObjectIdGetDatum(st->owner);
		args[1] = CStringGetTextDatum(st->endpoint);
		args[2] = Float8GetDatum(p->lon);
		args[3] = Float8GetDatum(p->lat);
		args[4] = Float8GetDatum(st->max_age_s);
		if (st->max_age_s > 0 && hold_ms == 0 &&
			!Tx("SELECT mlops.worker_geocode_cached($1, $2, $3, $4, $5)", 5, types, args, true,
				&value, &isnull, error))
			goto failed;
		if (st->max_age_s > 0 && hold_ms == 0 && !isnull)
		{
			p->answer = MemoryContextStrdup(st->cxt, DatumGetCString(value));
			p->from_cache = true;
			st->cached++;
			st->next++;
			continue;
		}

		/* ask: at the host's next slot */
		{
			Oid			stypes[3] = {TEXTOID, FLOAT8OID, FLOAT8OID};
			Datum		sargs[3];

			sargs[0] = CStringGetTextDatum(st->host);
			sargs[1] = Float8GetDatum(1000.0 / mlops_geocode_rate + GEO_MARGIN_MS);
			sargs[2] = Float8GetDatum(hold_ms);
			if (!Tx("SELECT mlops.worker_geocode_slot($1, $2, $3)", 3, stypes, sargs, false,
					&value, &isnull, error))
				goto failed;
			wait_ms = isnull ? 0 : DatumGetFloat8(value);
		}
		initStringInfo(&url);
		appendStringInfo(&url, "%sreverse?format=jsonv2&lat=%.5f&lon=%.5f", st->endpoint, p->lat, p->lon);
		if (st->zoom >= 0)
			appendStringInfo(&url, "&zoom=%d", st->zoom);
		if (st->language != NULL)
			appendStringInfo(&url, "&accept-language=%s", st->language);
		if (st->key != NULL)
		{
			appendStringInfoString(&url, "&key=");
			for (const unsigned char *c = (const unsigned char *) st->key; *c; c++)
			{
				if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~')
					appendStringInfoChar(&url, (char) *c);
				else
					appendStringInfo(&url, "%%%02X", *c);
			}
		}
		(void) unlink(st->scratch);
		memset(&o, 0, sizeof(o));
		o.job_id = st->job_id;
		o.url = url.data;
		o.dest_path = st->scratch;
		o.user_agent = mlops_http_user_agent();
		o.connect_timeout_s = 30;
		o.total_timeout_s = 60;
		o.max_bytes = GEO_MAX_ANSWER;
		o.max_redirects = 5;
		o.policy = mlops_net_policy();
		o.delay_ms = (long) ceil(wait_ms);
		o.credential_name = st->credential;
		o.username = st->username;
		o.password = st->password;
		o.bearer_token = st->bearer_token;
		st->requests++;
		if (!transfer_start(GeoPool, &o, err, sizeof(err), retryable))
		{
			/* the URL holds the key: the message names the point, not the URL */
			*error = psprintf("point %d could not be asked: %s", st->next + 1, err);
			if (url.data)
				explicit_bzero(url.data, url.len);
			goto failed;
		}
		explicit_bzero(url.data, url.len);
		return JOB_STARTED;
	}
	*result_json = GeoResult(st);
	GeoForget(st);
	return JOB_SUCCEEDED;

failed:
	GeoForget(st);
	return JOB_FAILED;
}

/* GeoForget ends a job's state: its scratch file, its memory (secrets wiped). */
static void
GeoForget(GeoState *st)
{
	(void) unlink(st->scratch);
	GeoStates = list_delete_ptr(GeoStates, st);
	if (st->password)
		explicit_bzero(st->password, strlen(st->password));
	if (st->bearer_token)
		explicit_bzero(st->bearer_token, strlen(st->bearer_token));
	if (st->key)
		explicit_bzero(st->key, strlen(st->key));
	MemoryContextDelete(st->cxt);
}

static GeoState *
FindState(int64 job_id)
{
	ListCell   *lc;

	foreach(lc, GeoStates)
		if (((GeoState *) lfirst(lc))->job_id == job_id)
			return lfirst(lc);
	return NULL;
}

/* GeoProgress: "point i of n (c from cache)", the fraction of points answered. */
static char *
GeoProgress(int64 job_id, float4 *fraction)
{
	GeoState   *st = FindState(job_id);

	if (st == NULL)
		return NULL;
	*fraction = (float4) st->next / (float4) st->n;
	return psprintf("point %d of %d (%d from cache)%s", Min(st->next + 1, st->n), st->n, st->cached,
					st->point_throttled ? " (throttled)" : "");
}

/*
 * GeoDone takes one answer: a 429/503 holds the host and asks the point
 * again; an answer is cached and the job goes on with the next points.
 */
static JobOutcome
GeoDoneInner(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	GeoState   *st = FindState(job_id);
	char	   *text;
	size_t		len;
	Jsonb	   *doc;
	GeoPoint   *p;

	*retryable = false;
	if (st == NULL)
	{
		*error = pstrdup("the geocode job's state is lost");
		*retryable = true;
		return JOB_FAILED;
	}
	p = &st->points[st->next];
	if (r->state == TRANSFER_CANCELLED)
	{
		*error = pstrdup("cancelled");
		GeoForget(st);
		return JOB_FAILED;
	}
	if (r->state == TRANSFER_FAILED && (r->http_status == 429 || r->http_status == 503))
	{
		st->throttled++;
		if (++st->point_throttled <= GEO_MAX_THROTTLED)
			return GeoAdvance(st, r->retry_after_s > 0 ? r->retry_after_s * 1000.0 : GEO_DEFAULT_HOLD_MS,
							  result_json, error, retryable);
		*error = psprintf("point %d of %d: the service answered http status %ld %d times in a row",
						  st->next + 1, st->n, r->http_status, st->point_throttled);
		*retryable = true;
		GeoForget(st);
		return JOB_FAILED;
	}
	if (r->state != TRANSFER_DONE)
	{
		/* r->error names no URL (a redirect's is shown without its query: no key) */
		*error = psprintf("point %d of %d: %s", st->next + 1, st->n, r->error);
		*retryable = r->retryable;
		GeoForget(st);
		return JOB_FAILED;
	}
	text = http_read_scratch(st->scratch, GEO_MAX_ANSWER, &len, error);
	(void) unlink(st->scratch);
	doc = text ? http_parse_json(text, len) : NULL;
	if (doc == NULL || JB_ROOT_IS_SCALAR(doc) || !JB_ROOT_IS_OBJECT(doc))
	{
		if (text != NULL)
			*error = psprintf("point %d of %d: the service's answer is not a JSON object", st->next + 1, st->n);
		*retryable = text == NULL;
		GeoForget(st);
		return JOB_FAILED;
	}
	p->answer = MemoryContextStrdup(st->cxt, text);
	{
		Datum		args[5];
		Oid			types[5] = {OIDOID, TEXTOID, FLOAT8OID, FLOAT8OID, JSONBOID};
		Datum		value;
		bool		isnull;

		args[0] = ObjectIdGetDatum(st->owner);
		args[1] = CStringGetTextDatum(st->endpoint);
		args[2] = Float8GetDatum(p->lon);
		args[3] = Float8GetDatum(p->lat);
		args[4] = JsonbPGetDatum(doc);
		if (!Tx("SELECT mlops.worker_geocode_store($1, $2, $3, $4, $5)", 5, types, args, false,
				&value, &isnull, error))
		{
			GeoForget(st);
			return JOB_FAILED;
		}
	}
	st->next++;
	st->point_throttled = 0;
	return GeoAdvance(st, 0, result_json, error, retryable);
}

/*
 * GeoDone runs GeoDoneInner and turns an error it throws into the job's
 * failure: the worker calls transfer_done outside any PG_TRY, and a job
 * whose state was dropped by an error would stay running.
 */
static JobOutcome
GeoDone(int64 job_id, const transfer_result *r, char **result_json, char **error, bool *retryable)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile JobOutcome outcome = JOB_FAILED;

	PG_TRY();
	{
		outcome = GeoDoneInner(job_id, r, result_json, error, retryable);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		GeoState  *st;

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
			(void) transfer_cancel(GeoPool, job_id);	/* a request it may have started */
			GeoForget(st);
		}
	}
	PG_END_TRY();
	return outcome;
}
