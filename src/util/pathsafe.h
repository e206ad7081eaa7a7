/*
 * pathsafe.h
 *	  Kernel: checks and normalises a relative path that must stay inside a
 *	  base directory (mlops.work_dir).  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_PATHSAFE_H
#define MLOPS_PATHSAFE_H

#include <stddef.h>

typedef enum path_check
{
	PATH_OK = 0,
	PATH_EMPTY,					/* "" or only "." and "/" separators */
	PATH_ABSOLUTE,				/* starts with "/" */
	PATH_PARENT,				/* has a ".." component */
	PATH_CONTROL_CHAR,			/* a byte below 0x20, 0x7f, or a backslash */
	PATH_TOO_LONG				/* the normalised path does not fit the buffer */
} path_check;

/*
 * path_normalize_relative checks "path" and writes its normalised form to
 * "out" (at most outlen bytes with the terminating NUL): empty and "."
 * components are dropped, so "a//./b/" becomes "a/b".  Returns PATH_OK or
 * the first reason the path is refused; "out" is an empty string then.
 */
extern path_check path_normalize_relative(const char *path, char *out, size_t outlen);

/* path_check_message returns a lower-case English reason for a result. */
extern const char *path_check_message(path_check result);

#endif							/* MLOPS_PATHSAFE_H */
