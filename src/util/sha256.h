/*
 * sha256.h
 *	  Kernel: SHA-256 (FIPS 180-4), incremental.  Pure C.
 */
#ifndef MLOPS_SHA256_H
#define MLOPS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx
{
	uint32_t	state[8];
	uint64_t	length;			/* bytes hashed */
	uint8_t		buffer[64];
	size_t		used;			/* bytes in buffer */
} sha256_ctx;

extern void sha256_init(sha256_ctx *ctx);
extern void sha256_update(sha256_ctx *ctx, const void *data, size_t len);
extern void sha256_final(sha256_ctx *ctx, uint8_t digest[32]);

/* sha256_hex writes 64 lower-case hex digits and a NUL to out. */
extern void sha256_hex(const uint8_t digest[32], char out[65]);

#endif							/* MLOPS_SHA256_H */
