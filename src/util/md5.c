/*
 * md5.c
 *	  Kernel: MD5 (RFC 1321), incremental.  Pure C.  Uploads compare it with
 *	  S3's ETag of a single PUT; it is here, beside SHA-256, so that the
 *	  transfer kernel links only libcurl.
 */

#include "util/md5.h"

#include <stdio.h>
#include <string.h>

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

/* md5_init starts a hash. */
void
md5_init(md5_ctx *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->len = 0;
	c->n = 0;
}

/* md5_block runs the 64 steps of RFC 1321 over one 64-byte block. */
static void
md5_block(md5_ctx *c, const uint8_t *p)
{
	uint32_t	m[16];
	uint32_t	a = c->h[0],
				b = c->h[1],
				cc = c->h[2],
				d = c->h[3];

	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t) p[i * 4] | ((uint32_t) p[i * 4 + 1] << 8) |
			((uint32_t) p[i * 4 + 2] << 16) | ((uint32_t) p[i * 4 + 3] << 24);
	for (int i = 0; i < 64; i++)
	{
		uint32_t	f;
		int			g;
		uint32_t	t;

		if (i < 16)
		{
			f = (b & cc) | (~b & d);
			g = i;
		}
		else if (i < 32)
		{
			f = (d & b) | (~d & cc);
			g = (5 * i + 1) % 16;
		}
		else if (i < 48)
		{
			f = b ^ cc ^ d;
			g = (3 * i + 5) % 16;
		}
		else
		{
			f = cc ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = a + f + md5_k[i] + m[g];
		a = d;
		d = cc;
		cc = b;
		b = b + ((t << md5_r[i]) | (t >> (32 - md5_r[i])));
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
}

/* md5_update hashes len more bytes, keeping a partial block for the next call. */
void
md5_update(md5_ctx *c, const uint8_t *p, size_t len)
{
	c->len += len;
	if (c->n > 0)
	{
		size_t		take = 64 - c->n < len ? 64 - c->n : len;

		memcpy(c->buf + c->n, p, take);
		c->n += take;
		p += take;
		len -= take;
		if (c->n == 64)
		{
			md5_block(c, c->buf);
			c->n = 0;
		}
	}
	while (len >= 64)
	{
		md5_block(c, p);
		p += 64;
		len -= 64;
	}
	if (len > 0)
	{
		memcpy(c->buf, p, len);
		c->n = len;
	}
}

/* md5_hex pads the message (RFC 1321, 3.1-3.2) and writes the digest as 32 lower-case hex digits. */
void
md5_hex(md5_ctx *c, char out[33])
{
	uint64_t	bits = c->len * 8;
	uint8_t		pad[72];
	size_t		padlen = (c->n < 56 ? 56 : 120) - c->n;

	memset(pad, 0, sizeof(pad));
	pad[0] = 0x80;
	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t) i] = (uint8_t) (bits >> (8 * i));
	md5_update(c, pad, padlen + 8);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned) ((c->h[i / 4] >> (8 * (i % 4))) & 0xff));
}
