/*
 * png_read.h — a PNG decoder for the unit tests of the picture kernel
 * (test_picture.c, test_picture_overlay.c): chunks, CRC-32 of each, IHDR
 * fields, IDAT inflated with zlib, all five scanline filters; and pixel
 * checks that print what they found.
 */
#ifndef MLOPS_PNG_READ_H
#define MLOPS_PNG_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A PNG as the decoder here read it. */
typedef struct png_read
{
	uint32_t	width;
	uint32_t	height;
	int			depth;
	int			ctype;
	int			comp;
	int			filter;
	int			interlace;
	int			nchunks;
	int			nidat;
	char		types[256];		/* chunk types, space-separated */
	uint8_t    *rgba;			/* width * height * 4 (8-bit RGBA or RGB, opaque) */
	char		why[160];		/* why it failed */
} png_read;

/*
 * get_u32 reads a big-endian 32-bit integer.
 */
static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/*
 * paeth is PNG's Paeth predictor.
 */
static int
paeth(int a, int b, int c)
{
	int			p = a + b - c;
	int			pa = abs(p - a),
				pb = abs(p - b),
				pc = abs(p - c);

	if (pa <= pb && pa <= pc)
		return a;
	return pb <= pc ? b : c;
}

/*
 * png_decode reads a PNG: the signature, every chunk and its CRC, the IHDR
 * first, the IDATs together, IEND last and empty at the very end; for
 * 8-bit RGBA or RGB (what rsvg-convert writes for an opaque picture)
 * without interlace it inflates the IDATs and undoes the filters into
 * r->rgba.  Returns false with r->why on any fault.
 */
static bool
png_decode(const uint8_t *p, size_t n, png_read *r)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	uint8_t    *idat = NULL;
	size_t		idat_len = 0;
	size_t		off = 8;
	bool		seen_end = false;
	bool		idat_done = false;
	size_t		stride;
	int			bpp;
	uint8_t    *raw;
	uint8_t    *pix;
	uLongf		raw_len;

	memset(r, 0, sizeof(*r));
	if (n < 8 || memcmp(p, sig, 8) != 0)
	{
		snprintf(r->why, sizeof(r->why), "no png signature");
		return false;
	}
	while (off < n)
	{
		uint32_t	len;
		char		type[5] = {0};
		uint32_t	crc;

		if (n - off < 12 || (len = get_u32(p + off)) > n - off - 12)
		{
			snprintf(r->why, sizeof(r->why), "chunk at %zu is truncated", off);
			free(idat);
			return false;
		}
		memcpy(type, p + off + 4, 4);
		crc = (uint32_t) crc32(crc32(0L, Z_NULL, 0), p + off + 4, len + 4);
		if (crc != get_u32(p + off + 8 + len))
		{
			snprintf(r->why, sizeof(r->why), "chunk %s has a bad crc", type);
			free(idat);
			return false;
		}
		if (strlen(r->types) + 6 < sizeof(r->types))
		{
			if (r->nchunks)
				strcat(r->types, " ");
			strcat(r->types, type);
		}
		if (r->nchunks == 0 && (strcmp(type, "IHDR") != 0 || len != 13))
		{
			snprintf(r->why, sizeof(r->why), "the first chunk is not a 13-byte IHDR");
			free(idat);
			return false;
		}
		r->nchunks++;
		if (strcmp(type, "IHDR") == 0)
		{
			const uint8_t *d = p + off + 8;

			r->width = get_u32(d);
			r->height = get_u32(d + 4);
			r->depth = d[8];
			r->ctype = d[9];
			r->comp = d[10];
			r->filter = d[11];
			r->interlace = d[12];
		}
		else if (strcmp(type, "IDAT") == 0)
		{
			if (idat_done)
			{
				snprintf(r->why, sizeof(r->why), "IDAT chunks are not consecutive");
				free(idat);
				return false;
			}
			idat = realloc(idat, idat_len + len + 1);
			memcpy(idat + idat_len, p + off + 8, len);
			idat_len += len;
			r->nidat++;
		}
		else if (r->nidat > 0)
			idat_done = true;
		off += 12 + len;
		if (strcmp(type, "IEND") == 0)
		{
			seen_end = len == 0 && off == n;
			break;
		}
	}
	if (!seen_end || r->nidat == 0)
	{
		snprintf(r->why, sizeof(r->why), "no IDAT, or no empty IEND at the end");
		free(idat);
		return false;
	}
	if (r->depth != 8 || (r->ctype != 6 && r->ctype != 2) || r->interlace != 0 || r->width == 0 || r->height == 0 ||
		r->width > 100000 || r->height > 100000)
	{
		free(idat);
		return true;			/* read, but these pixels are not decoded here */
	}
	bpp = r->ctype == 6 ? 4 : 3;
	stride = 1 + bpp * (size_t) r->width;
	raw_len = (uLongf) (stride * r->height);
	raw = malloc(raw_len + 1);
	{
		z_stream	zs;
		int			rc;

		memset(&zs, 0, sizeof(zs));
		inflateInit(&zs);
		zs.next_in = idat;
		zs.avail_in = (uInt) idat_len;
		zs.next_out = raw;
		zs.avail_out = (uInt) raw_len + 1;
		rc = inflate(&zs, Z_FINISH);
		if (rc != Z_STREAM_END || zs.total_out != raw_len || zs.avail_in != 0)
		{
			snprintf(r->why, sizeof(r->why), "IDAT inflates to %lu bytes (rc %d), not %lu",
					 zs.total_out, rc, (unsigned long) raw_len);
			inflateEnd(&zs);
			free(raw);
			free(idat);
			return false;
		}
		inflateEnd(&zs);
	}
	free(idat);
	pix = malloc(bpp * (size_t) r->width * r->height);
	for (uint32_t y = 0; y < r->height; y++)
	{
		const uint8_t *s = raw + y * stride;
		uint8_t    *d = pix + (size_t) y * bpp * r->width;
		const uint8_t *up = y > 0 ? d - bpp * (size_t) r->width : NULL;

		for (size_t i = 0; i < bpp * (size_t) r->width; i++)
		{
			int			a = i >= (size_t) bpp ? d[i - bpp] : 0;
			int			b = up ? up[i] : 0;
			int			c = (up && i >= (size_t) bpp) ? up[i - bpp] : 0;
			int			x = s[1 + i];

			switch (s[0])
			{
				case 0:
					break;
				case 1:
					x += a;
					break;
				case 2:
					x += b;
					break;
				case 3:
					x += (a + b) / 2;
					break;
				case 4:
					x += paeth(a, b, c);
					break;
				default:
					snprintf(r->why, sizeof(r->why), "row %u has filter %d", y, s[0]);
					free(raw);
					free(pix);
					return false;
			}
			d[i] = (uint8_t) x;
		}
	}
	free(raw);
	if (bpp == 4)
		r->rgba = pix;
	else
	{
		r->rgba = malloc(4 * (size_t) r->width * r->height);
		for (size_t i = 0; i < (size_t) r->width * r->height; i++)
		{
			memcpy(r->rgba + 4 * i, pix + 3 * i, 3);
			r->rgba[4 * i + 3] = 255;
		}
		free(pix);
	}
	return true;
}

/*
 * px_is says whether pixel (x, y) of r is (red, green, blue, alpha).
 */
static bool
px_is(const png_read *r, uint32_t x, uint32_t y, int red, int green, int blue, int alpha)
{
	const uint8_t *p = r->rgba + ((size_t) y * r->width + x) * 4;

	if (p[0] == red && p[1] == green && p[2] == blue && p[3] == alpha)
		return true;
	printf("#   pixel (%u, %u) is (%d, %d, %d, %d), want (%d, %d, %d, %d)\n",
		   x, y, p[0], p[1], p[2], p[3], red, green, blue, alpha);
	return false;
}

/*
 * hex_px says whether pixel (x, y) is the opaque colour 0xRRGGBB.
 */
static bool
hex_px(const png_read *r, uint32_t x, uint32_t y, uint32_t rgb)
{
	return px_is(r, x, y, (int) (rgb >> 16), (int) ((rgb >> 8) & 255), (int) (rgb & 255), 255);
}

#endif							/* MLOPS_PNG_READ_H */
