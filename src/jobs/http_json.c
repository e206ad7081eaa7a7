/*-------------------------------------------------------------------------
 *
 * http_json.c
 *	  Pieces shared by the http and geocode job kinds: durations in params,
 *	  dotted JSON paths into answers, scalar comparison, checks of nested
 *	  params objects, and the answers themselves, read from the worker's
 *	  scratch folder (work_dir/.list, where the list and stat kinds keep
 *	  theirs) and parsed as jsonb without throwing: the kinds read them in
 *	  transfer_done, outside any transaction.
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
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "jobs/http_json.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

/*
 * mlops_http_user_agent: the User-Agent of http and geocode requests,
 * naming the deployment (mlops.user_agent) and pg_mlops' version.
 */
const char *
mlops_http_user_agent(void)
{
	if (mlops_user_agent == NULL || mlops_user_agent[0] == '\0')
		return "pg_mlops/" EXTVERSION;
	return psprintf("%s pg_mlops/%s", mlops_user_agent, EXTVERSION);
}

/*
 * http_scratch_path returns work_dir/.list/<job id>.<ext>, creating the
 * folder; NULL with *error set when it cannot be made.
 */
char *
http_scratch_path(int64 job_id, const char *ext, char **error)
{
	char	   *dir = psprintf("%s/.list", mlops_work_dir_path());

	if (mkdir(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		*error = psprintf("could not create the work directory's .list folder: %m");
		return NULL;
	}
	return psprintf("%s/" INT64_FORMAT ".%s", dir, job_id, ext);
}

/*
 * http_read_scratch reads an answer (at most max_bytes, the request's own
 * limit) without following a symbolic link; NUL-terminated.
 */
char *
http_read_scratch(const char *path, size_t max_bytes, size_t *len, char **error)
{
	int			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char	   *buf;
	size_t		done = 0;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t) st.st_size > max_bytes)
	{
		*error = psprintf("could not read the answer: %m");
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
			*error = psprintf("could not read the answer: %m");
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
 * http_parse_json parses text as jsonb; NULL when it is not JSON (or holds
 * a NUL byte).  jsonb_in's error is caught and dropped: the caller says
 * what was wrong in the job's terms.
 */
Jsonb *
http_parse_json(const char *text, size_t len)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *volatile result = NULL;

	if (strlen(text) != len)
		return NULL;
	PG_TRY();
	{
		result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		result = NULL;
	}
	PG_END_TRY();
	return result;
}

/* http_number returns a jbvNumeric as a double, or an error naming what. */
double
http_number(JsonbValue *v, const char *what)
{
	if (v == NULL || v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a number", what)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/*
 * http_duration_ms reads a duration: a number of seconds, or a string of a
 * number and a unit (ms, s, m, h).
 */
int64
http_duration_ms(JsonbValue *v, const char *what, int64 dflt_ms, int64 min_ms, int64 max_ms)
{
	double		ms;

	if (v == NULL || v->type == jbvNull)
		return dflt_ms;
	if (v->type == jbvNumeric)
		ms = http_number(v, what) * 1000.0;
	else if (v->type == jbvString)
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
		char	   *end;
		double		n = strtod(s, &end);

		if (end == s)
			ms = NAN;
		else if (strcmp(end, "ms") == 0)
			ms = n;
		else if (strcmp(end, "s") == 0 || *end == '\0')
			ms = n * 1000.0;
		else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
			ms = n * 60000.0;
		else if (strcmp(end, "h") == 0)
			ms = n * 3600000.0;
		else if (strcmp(end, "d") == 0)
			ms = n * 86400000.0;
		else
			ms = NAN;
	}
	else
		ms = NAN;
	if (isnan(ms))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a duration", what),
				 errhint("Give a number of seconds, or a string such as \"250ms\", \"2s\", \"5m\", \"1h\" or \"1d\".")));
	if (!(ms >= (double) min_ms && ms <= (double) max_ms))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %.10g and %.10g seconds", what,
						(double) min_ms / 1000.0, (double) max_ms / 1000.0)));
	return (int64) ms;
}

/* http_member returns obj's member key, NULL when absent or null. */
JsonbValue *
http_member(JsonbContainer *obj, const char *key)
{
	JsonbValue *v;

	if (!JsonContainerIsObject(obj))
		return NULL;
	v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
	return v == NULL || v->type == jbvNull ? NULL : v;
}

/*
 * http_check_path: a dotted path of at most 32 non-empty components, each
 * at most 128 bytes.
 */
void
http_check_path(const char *path, const char *what)
{
	int			n = 0;
	const char *c = path;
	bool		bad = path[0] == '\0';

	while (!bad && c != NULL)
	{
		const char *dot = strchr(c, '.');
		size_t		len = dot ? (size_t) (dot - c) : strlen(c);

		bad = len == 0 || len > 128 || ++n > 32;
		c = dot ? dot + 1 : NULL;
	}
	if (bad)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" is not a JSON path", what, path),
				 errhint("A path is member names separated by \".\", with a number selecting an array element, as in \"data.runs.0.state\".")));
}

/*
 * http_path_get follows a dotted path from the document's root.  A component
 * of digits selects an array element (0-based) when the value is an array.
 */
JsonbValue *
http_path_get(Jsonb *doc, const char *path)
{
	JsonbContainer *c = &doc->root;
	JsonbValue *v = NULL;
	const char *p = path;

	if (JB_ROOT_IS_SCALAR(doc))
		return NULL;
	while (p != NULL)
	{
		const char *dot = strchr(p, '.');
		size_t		len = dot ? (size_t) (dot - p) : strlen(p);

		if (c == NULL)
			return NULL;
		if (JsonContainerIsObject(c))
			v = getKeyJsonValueFromContainer(c, p, len, NULL);
		else if (JsonContainerIsArray(c) && len > 0 && len < 10 && strspn(p, "0123456789") >= len)
			v = getIthJsonbValueFromContainer(c, (uint32) strtoul(pnstrdup(p, len), NULL, 10));
		else
			v = NULL;
		if (v == NULL)
			return NULL;
		c = v->type == jbvBinary ? v->val.binary.data : NULL;
		p = dot ? dot + 1 : NULL;
	}
	return v;
}

/* http_scalar_equal compares two JSON scalars; containers are never equal. */
bool
http_scalar_equal(const JsonbValue *a, const JsonbValue *b)
{
	if (a == NULL || b == NULL || a->type != b->type)
		return false;
	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvString:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case jbvNumeric:
			return DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(a->val.numeric),
													NumericGetDatum(b->val.numeric)));
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		default:
			return false;
	}
}

/* http_value_text: a value as text; strings without quotes, containers as JSON. */
char *
http_value_text(const JsonbValue *v)
{
	if (v == NULL)
		return pstrdup("(absent)");
	switch (v->type)
	{
		case jbvNull:
			return pstrdup("null");
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			return pstrdup("?");
	}
}

/*
 * http_check_object_keys refuses a value that is not an object, and a key
 * of it that is not in valid (NULL-terminated), listing the valid ones.
 */
void
http_check_object_keys(JsonbValue *v, const char *what, const char *const *valid)
{
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what)));
	mlops_check_object_keys(v->val.binary.data, what, valid);
}
