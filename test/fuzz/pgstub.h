/*
 * pgstub.h — see pgstub.c: backend functions in plain C for fuzzing glue.
 * Include after postgres.h.
 */
#ifndef MLOPS_PGSTUB_H
#define MLOPS_PGSTUB_H

#include <setjmp.h>

/* The last error raised with ereport(ERROR). */
typedef struct pgstub_error
{
	int			elevel;
	int			sqlerrcode;		/* 0 when no errcode() was given */
	bool		internal;		/* errmsg_internal (elog) */
	bool		has_detail;
	bool		has_hint;
	char		message[512];
} pgstub_error;

/* ereport(ERROR) longjmps here (set it with setjmp before calling glue). */
extern jmp_buf pgstub_jmp;
extern pgstub_error pgstub_last;

/* pgstub_reset frees every block palloc'd since the last reset. */
extern void pgstub_reset(void);

#endif							/* MLOPS_PGSTUB_H */
