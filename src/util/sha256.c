/*
 * sha256.c
 *	  Kernel: SHA-256 (FIPS 180-4), incremental.  See sha256.h for the
 *	  contract.  Downloads are hashed as they arrive, so the compression
 *	  function is on the hot path of every transfer: on x86-64 processors
 *	  with the SHA extensions it runs on them (chosen at run time, several
 *	  times faster than the portable code); everywhere else, and when built
 *	  with -DMLOPS_SHA256_PORTABLE, the portable C code below does the work.
 */
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
	!defined(MLOPS_SHA256_PORTABLE)
#define SHA256_X86_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* The round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROTR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z)	(((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)	(ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x)	(ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x)	(ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x)	(ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

/*
 * sha256_blocks_portable compresses nblocks 64-byte blocks into state
 * (FIPS 180-4, 6.2.2), with the message schedule kept in a 16-word ring.
 */
static void
sha256_blocks_portable(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
	while (nblocks-- > 0)
	{
		uint32_t	w[16];
		uint32_t	a = state[0],
					b = state[1],
					c = state[2],
					d = state[3],
					e = state[4],
					f = state[5],
					g = state[6],
					h = state[7];

		for (int t = 0; t < 64; t++)
		{
			uint32_t	wt;
			uint32_t	t1;
			uint32_t	t2;

			if (t < 16)
			{
				wt = ((uint32_t) data[4 * t] << 24) | ((uint32_t) data[4 * t + 1] << 16) |
					((uint32_t) data[4 * t + 2] << 8) | (uint32_t) data[4 * t + 3];
				w[t] = wt;
			}
			else
			{
				wt = SSIG1(w[(t - 2) & 15]) + w[(t - 7) & 15] +
					SSIG0(w[(t - 15) & 15]) + w[t & 15];
				w[t & 15] = wt;
			}
			t1 = h + BSIG1(e) + CH(e, f, g) + sha256_k[t] + wt;
			t2 = BSIG0(a) + MAJ(a, b, c);
			h = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}

		state[0] += a;
		state[1] += b;
		state[2] += c;
		state[3] += d;
		state[4] += e;
		state[5] += f;
		state[6] += g;
		state[7] += h;
		data += 64;
	}
}

#ifdef SHA256_X86_SHANI

/*
 * One group of four rounds on the SHA extensions.  cur holds the group's four
 * message words; the group also advances the message schedule: nxt (the next
 * group's words) gets its sha256msg2 step once the schedule runs ahead of the
 * input (groups 3 to 14), and prv (the words three groups on) its sha256msg1
 * step (groups 1 to 12).  g is a constant, so the conditions fold away.
 */
#define SHANI_GROUP(g, cur, nxt, prv) \
	do { \
		msg = _mm_add_epi32((cur), _mm_loadu_si128((const __m128i *) &sha256_k[4 * (g)])); \
		state1 = _mm_sha256rnds2_epu32(state1, state0, msg); \
		if ((g) >= 3 && (g) <= 14) \
		{ \
			(nxt) = _mm_add_epi32((nxt), _mm_alignr_epi8((cur), (prv), 4)); \
			(nxt) = _mm_sha256msg2_epu32((nxt), (cur)); \
		} \
		msg = _mm_shuffle_epi32(msg, 0x0E); \
		state0 = _mm_sha256rnds2_epu32(state0, state1, msg); \
		if ((g) >= 1 && (g) <= 12) \
			(prv) = _mm_sha256msg1_epu32((prv), (cur)); \
	} while (0)

/*
 * sha256_blocks_shani is sha256_blocks_portable on the x86 SHA extensions.
 * They keep the state as two vectors, ABEF and CDGH, so it is permuted on
 * the way in and back on the way out.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void
sha256_blocks_shani(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i		state0;
	__m128i		state1;
	__m128i		tmp;
	__m128i		msg;
	__m128i		m0,
				m1,
				m2,
				m3;

	tmp = _mm_loadu_si128((const __m128i *) &state[0]);
	state1 = _mm_loadu_si128((const __m128i *) &state[4]);
	tmp = _mm_shuffle_epi32(tmp, 0xB1); /* CDAB */
	state1 = _mm_shuffle_epi32(state1, 0x1B);	/* EFGH */
	state0 = _mm_alignr_epi8(tmp, state1, 8);	/* ABEF */
	state1 = _mm_blend_epi16(state1, tmp, 0xF0);	/* CDGH */

	while (nblocks-- > 0)
	{
		__m128i		abef = state0;
		__m128i		cdgh = state1;

		m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (data + 0)), bswap);
		m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (data + 16)), bswap);
		m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (data + 32)), bswap);
		m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (data + 48)), bswap);

		SHANI_GROUP(0, m0, m1, m3);
		SHANI_GROUP(1, m1, m2, m0);
		SHANI_GROUP(2, m2, m3, m1);
		SHANI_GROUP(3, m3, m0, m2);
		SHANI_GROUP(4, m0, m1, m3);
		SHANI_GROUP(5, m1, m2, m0);
		SHANI_GROUP(6, m2, m3, m1);
		SHANI_GROUP(7, m3, m0, m2);
		SHANI_GROUP(8, m0, m1, m3);
		SHANI_GROUP(9, m1, m2, m0);
		SHANI_GROUP(10, m2, m3, m1);
		SHANI_GROUP(11, m3, m0, m2);
		SHANI_GROUP(12, m0, m1, m3);
		SHANI_GROUP(13, m1, m2, m0);
		SHANI_GROUP(14, m2, m3, m1);
		SHANI_GROUP(15, m3, m0, m2);

		state0 = _mm_add_epi32(state0, abef);
		state1 = _mm_add_epi32(state1, cdgh);
		data += 64;
	}

	tmp = _mm_shuffle_epi32(state0, 0x1B);	/* FEBA */
	state1 = _mm_shuffle_epi32(state1, 0xB1);	/* DCHG */
	state0 = _mm_blend_epi16(tmp, state1, 0xF0);	/* DCBA */
	state1 = _mm_alignr_epi8(state1, tmp, 8);	/* HGFE */
	_mm_storeu_si128((__m128i *) &state[0], state0);
	_mm_storeu_si128((__m128i *) &state[4], state1);
}

/*
 * sha256_have_shani asks the processor once whether it has the SHA
 * extensions (CPUID leaf 7, EBX bit 29) and SSSE3 and SSE4.1 (leaf 1, ECX
 * bits 9 and 19).  The answer is the same for the whole process, so a race
 * between two first callers only computes it twice.
 */
static int
sha256_have_shani(void)
{
	static int	cached = -1;

	if (cached < 0)
	{
		unsigned int eax,
					ebx,
					ecx,
					edx;
		int			have = 0;

		if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
			(ecx & (1u << 9)) && (ecx & (1u << 19)) &&
			__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) &&
			(ebx & (1u << 29)))
			have = 1;
		cached = have;
	}
	return cached;
}
#endif							/* SHA256_X86_SHANI */

/*
 * sha256_blocks compresses nblocks whole blocks with the fastest code the
 * processor runs.
 */
static void
sha256_blocks(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
#ifdef SHA256_X86_SHANI
	if (sha256_have_shani())
	{
		sha256_blocks_shani(state, data, nblocks);
		return;
	}
#endif
	sha256_blocks_portable(state, data, nblocks);
}

/*
 * sha256_init sets the initial hash value (FIPS 180-4, 5.3.3).
 */
void
sha256_init(sha256_ctx *ctx)
{
	ctx->state[0] = 0x6a09e667;
	ctx->state[1] = 0xbb67ae85;
	ctx->state[2] = 0x3c6ef372;
	ctx->state[3] = 0xa54ff53a;
	ctx->state[4] = 0x510e527f;
	ctx->state[5] = 0x9b05688c;
	ctx->state[6] = 0x1f83d9ab;
	ctx->state[7] = 0x5be0cd19;
	ctx->length = 0;
	ctx->used = 0;
	memset(ctx->buffer, 0, sizeof(ctx->buffer));
}

/*
 * sha256_update hashes len more bytes.  Whole blocks are compressed straight
 * from the caller's memory; only a partial block at either end goes through
 * ctx->buffer.
 */
void
sha256_update(sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (len == 0)
		return;
	ctx->length += len;

	if (ctx->used > 0)
	{
		size_t		take = 64 - ctx->used;

		if (take > len)
			take = len;
		memcpy(ctx->buffer + ctx->used, p, take);
		ctx->used += take;
		p += take;
		len -= take;
		if (ctx->used < 64)
			return;
		sha256_blocks(ctx->state, ctx->buffer, 1);
		ctx->used = 0;
	}

	if (len >= 64)
	{
		size_t		nblocks = len / 64;

		sha256_blocks(ctx->state, p, nblocks);
		p += nblocks * 64;
		len -= nblocks * 64;
	}

	if (len > 0)
	{
		memcpy(ctx->buffer, p, len);
		ctx->used = len;
	}
}

/*
 * sha256_final pads the message (a 1 bit, zeros, the length in bits as a
 * 64-bit big-endian number; FIPS 180-4, 5.1.1), compresses the last block or
 * two and writes the digest big-endian.  The context is wiped afterwards;
 * sha256_init makes it usable again.
 */
void
sha256_final(sha256_ctx *ctx, uint8_t digest[32])
{
	uint64_t	bits = ctx->length * 8;

	ctx->buffer[ctx->used++] = 0x80;
	if (ctx->used > 56)
	{
		memset(ctx->buffer + ctx->used, 0, 64 - ctx->used);
		sha256_blocks(ctx->state, ctx->buffer, 1);
		ctx->used = 0;
	}
	memset(ctx->buffer + ctx->used, 0, 56 - ctx->used);
	for (int i = 0; i < 8; i++)
		ctx->buffer[56 + i] = (uint8_t) (bits >> (56 - 8 * i));
	sha256_blocks(ctx->state, ctx->buffer, 1);

	for (int i = 0; i < 8; i++)
	{
		digest[4 * i] = (uint8_t) (ctx->state[i] >> 24);
		digest[4 * i + 1] = (uint8_t) (ctx->state[i] >> 16);
		digest[4 * i + 2] = (uint8_t) (ctx->state[i] >> 8);
		digest[4 * i + 3] = (uint8_t) ctx->state[i];
	}
	memset(ctx, 0, sizeof(*ctx));
}

/*
 * sha256_hex writes the digest as 64 lower-case hex digits and a NUL.
 */
void
sha256_hex(const uint8_t digest[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++)
	{
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0x0f];
	}
	out[64] = '\0';
}
