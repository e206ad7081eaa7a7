/*
 * pgstub.c — the few backend functions that glue files need, in plain C, so
 * that a fuzz target can run a glue file (test/fuzz/fuzz_decode.c runs
 * src/metrics/decode.c) without a server.  Compiled with the server's headers.
 *
 *  - palloc and friends allocate with malloc and keep every block on a list,
 *    so that pgstub_reset frees all of them, as a memory context reset does
 *    after an error (LeakSanitizer then sees no leak);
 *  - ereport(ERROR) records the error's level, SQLSTATE and message and
 *    longjmps to pgstub_jmp, as PG_TRY would catch it;
 *  - detoasting returns the datum as it is (the fuzzer builds plain
 *    4-byte-header varlenas);
 *  - what only the jsonb, numeric and float8[] paths use aborts: those
 *    paths need values only the server can build.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "utils/array.h"
#include "utils/numeric.h"

#include "pgstub.h"

/* port.h maps vsnprintf to libpgport's pg_vsnprintf, which is not linked: use libc's. */
#undef vsnprintf
#undef fprintf

jmp_buf		pgstub_jmp;
pgstub_error pgstub_last;

typedef struct Block
{
	struct Block *prev;
	struct Block *next;
	max_align_t align[];
} Block;

static Block *blocks;

static void *
track(Block *b)
{
	if (b == NULL)
		abort();
	b->prev = NULL;
	b->next = blocks;
	if (blocks)
		blocks->prev = b;
	blocks = b;
	return b->align;
}

static void
untrack(Block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		blocks = b->next;
	if (b->next)
		b->next->prev = b->prev;
}

void
pgstub_reset(void)
{
	while (blocks)
	{
		Block	   *b = blocks;

		blocks = b->next;
		free(b);
	}
}

void *
palloc(Size size)
{
	return track(malloc(sizeof(Block) + size));
}

void *
palloc0(Size size)
{
	return track(calloc(1, sizeof(Block) + size));
}

void *
palloc_extended(Size size, int flags)
{
	return (flags & MCXT_ALLOC_ZERO) ? palloc0(size) : palloc(size);
}

void *
repalloc(void *ptr, Size size)
{
	Block	   *b = (Block *) ((char *) ptr - offsetof(Block, align));

	untrack(b);
	return track(realloc(b, sizeof(Block) + size));
}

void *
repalloc_huge(void *ptr, Size size)
{
	return repalloc(ptr, size);
}

void
pfree(void *ptr)
{
	Block	   *b = (Block *) ((char *) ptr - offsetof(Block, align));

	untrack(b);
	free(b);
}

bool
errstart(int elevel, const char *domain)
{
	(void) domain;
	if (elevel < ERROR)
		return false;
	memset(&pgstub_last, 0, sizeof(pgstub_last));
	pgstub_last.elevel = elevel;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

int
errcode(int sqlerrcode)
{
	pgstub_last.sqlerrcode = sqlerrcode;
	return 0;
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(pgstub_last.message, sizeof(pgstub_last.message), fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(pgstub_last.message, sizeof(pgstub_last.message), fmt, ap);
	va_end(ap);
	pgstub_last.internal = true;
	return 0;
}

int
errdetail(const char *fmt,...)
{
	va_list		ap;
	char		buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pgstub_last.has_detail = buf[0] != '\0';
	return 0;
}

int
errhint(const char *fmt,...)
{
	va_list		ap;
	char		buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pgstub_last.has_hint = buf[0] != '\0';
	return 0;
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	/* PGSTUB_TRACE=1 shows each error, to see what a seed does */
	if (getenv("PGSTUB_TRACE") != NULL)
		fprintf(stderr, "pgstub: ERROR %s (%s:%d, %s)\n", pgstub_last.message, filename, lineno, funcname);
	longjmp(pgstub_jmp, 1);
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	return datum;
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	return datum;
}

/* Not reached from the json text paths. */
Datum
numeric_float8(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	abort();
}

bool
numeric_is_nan(Numeric num)
{
	(void) num;
	abort();
}

bool
numeric_is_inf(Numeric num)
{
	(void) num;
	abort();
}

Datum
DirectFunctionCall1Coll(PGFunction func, Oid collation, Datum arg1)
{
	(void) func;
	(void) collation;
	(void) arg1;
	abort();
}

int
ArrayGetNItems(int ndim, const int *dims)
{
	(void) ndim;
	(void) dims;
	abort();
}

bool
array_contains_nulls(ArrayType *array)
{
	(void) array;
	abort();
}
