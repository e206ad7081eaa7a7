/*
 * pathsafe.c
 *	  Kernel: refuse relative paths that could leave their base directory,
 *	  and normalise the rest.  Used for every path that comes from a job
 *	  parameter or an archive entry; symbolic links are the caller's check,
 *	  since they need the file system.
 */
#include "pathsafe.h"

#include <string.h>

/*
 * path_normalize_relative walks the path one component at a time.  It
 * refuses rather than resolves "..": "a/../b" names a path inside the base,
 * but archives and parameters that say so are hostile or confused, and
 * refusing keeps the rule simple to state.
 */
path_check
path_normalize_relative(const char *path, char *out, size_t outlen)
{
	size_t		n = 0;
	const char *p = path;

	if (outlen == 0)
		return PATH_TOO_LONG;
	out[0] = '\0';

	if (path == NULL || path[0] == '\0')
		return PATH_EMPTY;
	if (path[0] == '/')
		return PATH_ABSOLUTE;

	for (const char *c = path; *c; c++)
	{
		unsigned char uc = (unsigned char) *c;

		if (uc < 0x20 || uc == 0x7f || uc == '\\')
			return PATH_CONTROL_CHAR;
	}

	while (*p)
	{
		const char *start;
		size_t		len;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p && *p != '/')
			p++;
		len = (size_t) (p - start);

		if (len == 1 && start[0] == '.')
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.')
		{
			out[0] = '\0';
			return PATH_PARENT;
		}

		/* separator + component + NUL must fit */
		if (n + (n > 0 ? 1 : 0) + len + 1 > outlen)
		{
			out[0] = '\0';
			return PATH_TOO_LONG;
		}
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, start, len);
		n += len;
		out[n] = '\0';
	}

	if (n == 0)
		return PATH_EMPTY;
	return PATH_OK;
}

const char *
path_check_message(path_check result)
{
	switch (result)
	{
		case PATH_OK:
			return "path is acceptable";
		case PATH_EMPTY:
			return "path is empty";
		case PATH_ABSOLUTE:
			return "path is absolute";
		case PATH_PARENT:
			return "path has a \"..\" component";
		case PATH_CONTROL_CHAR:
			return "path has a control character or a backslash";
		case PATH_TOO_LONG:
			return "path is too long";
	}
	return "path is not acceptable";
}
