/*
 * manifest.h
 *	  Kernel: reading a manifest file's JSON text with json-c.  The text must
 *	  be one JSON value (an array of items, or an object); a syntax error is
 *	  reported with its line and column (1-based, columns in bytes).  The
 *	  value comes back as compact JSON text for the caller to store.  Pure C.
 */
#ifndef MLOPS_MANIFEST_H
#define MLOPS_MANIFEST_H

#include <stddef.h>

/* The deepest nesting a manifest may have (json-c's own limit is 32). */
#define MANIFEST_MAX_DEPTH 64

/*
 * manifest_check parses len bytes of text in json-c's strict mode (one value,
 * nothing but blanks after it, no comments or trailing commas) and returns
 * 0 when it is JSON.  Otherwise it returns -1 with a reason in err and, when
 * the fault has a place, *line and *column (else 0).  The caller keeps the
 * text itself (numbers keep every digit: json-c is only the checker).
 */
extern int	manifest_check(const char *text, size_t len, int *line, int *column,
						   char *err, size_t errlen);

#endif							/* MLOPS_MANIFEST_H */
