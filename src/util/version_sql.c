/*-------------------------------------------------------------------------
 *
 * version_sql.c
 *	  mlops.version(): the version of the loaded library.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "pg_mlops.h"

PG_FUNCTION_INFO_V1(mlops_version);

/*
 * mlops_version returns the library's version, which the Makefile reads
 * from default_version in pg_mlops.control.  After an upgrade of the files
 * it can differ from pg_extension.extversion until ALTER EXTENSION UPDATE.
 */
Datum
mlops_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(EXTVERSION));
}
