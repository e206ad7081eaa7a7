/*-------------------------------------------------------------------------
 *
 * manifest_sql.c
 *	  mlops.read_manifest(path): a JSON manifest file from the caller's file
 *	  area, checked by json-c (errors with line and column), as jsonb.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "pg_mlops.h"
#include "datasets/manifest.h"
#include "jobs/jobs.h"

PG_FUNCTION_INFO_V1(mlops_read_manifest);

/* The largest manifest file read: jsonb's own limit is below 256 MB of input. */
#define MANIFEST_MAX_BYTES ((off_t) 256 * 1024 * 1024)

Datum
mlops_read_manifest(PG_FUNCTION_ARGS)
{
	char	   *given = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *full;
	bool		denied;
	char	   *why;
	int			fd;
	struct stat st;
	char	   *buf;
	size_t		got = 0;
	int			line,
				column;
	char		err[256];

	why = mlops_resolve_path(GetUserId(), given, &full, &denied);
	if (why != NULL)
		ereport(ERROR,
				(errcode(denied ? ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("manifest path %s", why),
				 errhint("Paths are relative to the role's own file area; \"@name/...\" names a shared area an administrator granted (see mlops.file_areas).")));

	fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
	{
		int			e = errno;

		ereport(ERROR,
				(errcode(e == ENOENT ? ERRCODE_UNDEFINED_FILE : ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot open manifest \"%s\": %s", given,
						e == ELOOP ? "it is a symbolic link" : strerror(e))));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("manifest \"%s\" is not a regular file", given)));
	}
	if (st.st_size > MANIFEST_MAX_BYTES)
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("manifest \"%s\" is %lld bytes, more than the %lld a manifest may have",
						given, (long long) st.st_size, (long long) MANIFEST_MAX_BYTES)));
	}
	buf = palloc((size_t) st.st_size + 1);
	while (got < (size_t) st.st_size)
	{
		ssize_t		r = read(fd, buf + got, (size_t) st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
		{
			int			e = errno;

			close(fd);
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("cannot read manifest \"%s\": %s", given, r == 0 ? "it shrank while read" : strerror(e))));
		}
		got += (size_t) r;
		CHECK_FOR_INTERRUPTS();
	}
	close(fd);
	buf[got] = '\0';

	if (manifest_check(buf, got, &line, &column, err, sizeof(err)) != 0)
	{
		if (line > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("manifest \"%s\" is not JSON: %s at line %d, column %d", given, err, line, column)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("manifest \"%s\" is not JSON: %s", given, err)));
	}
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf)));
}
