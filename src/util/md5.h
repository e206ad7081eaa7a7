/*
 * md5.h
 *	  Kernel: MD5 (RFC 1321), incremental.  Pure C.  For comparing S3 ETags,
 *	  not for security.
 */
#ifndef MLOPS_MD5_H
#define MLOPS_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct md5_ctx
{
	uint32_t	h[4];
	uint64_t	len;
	uint8_t		buf[64];
	size_t		n;
} md5_ctx;

extern void md5_init(md5_ctx *c);
extern void md5_update(md5_ctx *c, const uint8_t *p, size_t len);

/* md5_hex finishes the hash and writes 32 lower-case hex digits and a NUL to out. */
extern void md5_hex(md5_ctx *c, char out[33]);

#endif							/* MLOPS_MD5_H */
