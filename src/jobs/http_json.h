/*-------------------------------------------------------------------------
 *
 * http_json.h
 *	  Pieces shared by the http and geocode job kinds (kind_http.c,
 *	  kind_geocode.c): durations in params, dotted JSON paths, scalar
 *	  comparison, nested key checks, and reading an answer from the
 *	  worker's scratch folder as jsonb without throwing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MLOPS_HTTP_JSON_H
#define MLOPS_HTTP_JSON_H

#include "utils/jsonb.h"

/* The scratch file of a job's request: work_dir/.list/<job id>.<ext> (removed by the worker at start-up). */
extern char *http_scratch_path(int64 job_id, const char *ext, char **error);

/* The answer in a scratch file, at most max_bytes; NULL with *error set. */
extern char *http_read_scratch(const char *path, size_t max_bytes, size_t *len, char **error);

/* Text parsed as jsonb, or NULL when it is not JSON (never throws). */
extern Jsonb *http_parse_json(const char *text, size_t len);

/*
 * A duration in params: a number of seconds, or a string "250ms", "2s",
 * "5m", "1h"; returns milliseconds in [min_ms, max_ms], dflt_ms when absent.
 */
extern int64 http_duration_ms(JsonbValue *v, const char *what, int64 dflt_ms, int64 min_ms, int64 max_ms);

/* A number in params (v a jbvNumeric) as a double, or an error naming what. */
extern double http_number(JsonbValue *v, const char *what);

/* The member of an object container, NULL when absent or JSON null. */
extern JsonbValue *http_member(JsonbContainer *obj, const char *key);

/*
 * http_path_get follows a dotted path ("status", "data.runs.0.state": a
 * number selects an array element) from a jsonb; NULL when it leads nowhere.
 */
extern JsonbValue *http_path_get(Jsonb *doc, const char *path);

/* A dotted path is well-formed (non-empty components, at most 32). */
extern void http_check_path(const char *path, const char *what);

/* Two JSON scalars are equal (strings, numbers, booleans, null). */
extern bool http_scalar_equal(const JsonbValue *a, const JsonbValue *b);

/* A JSON value as text for a message or a URL: strings without quotes. */
extern char *http_value_text(const JsonbValue *v);

/* Refuses keys of a nested object (v a jbvBinary object) not in valid, listing them. */
extern void http_check_object_keys(JsonbValue *v, const char *what, const char *const *valid);

#endif							/* MLOPS_HTTP_JSON_H */
