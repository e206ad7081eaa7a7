/*
 * errbuf.h
 *	  The one way kernels write a reason for their caller: errbuf_printf
 *	  formats into a fixed buffer the caller gave (nothing when it gave
 *	  none), truncating.  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_ERRBUF_H
#define MLOPS_ERRBUF_H

#include <stddef.h>

/* PostgreSQL's pg_attribute_printf, which a kernel cannot include. */
#if defined(__GNUC__) || defined(__clang__)
#define MLOPS_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#else
#define MLOPS_PRINTF(f, a)
#endif

/* errbuf_printf formats into buf when buf is not NULL and buflen > 0. */
extern void errbuf_printf(char *buf, size_t buflen, const char *fmt,...) MLOPS_PRINTF(3, 4);

#endif							/* MLOPS_ERRBUF_H */
