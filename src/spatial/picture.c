/*
 * picture.c
 *	  Kernel: a heatmap grid as a PNG and as an SVG document around it (see
 *	  picture.h for the contract, the colour maps and the limits).
 *
 *	  The PNG is written chunk by chunk: signature, IHDR, IDAT, IEND, each
 *	  chunk's CRC-32 from zlib's crc32.  Pixels never exist as a whole
 *	  image: one grid row becomes one scanline (filter byte 0, None), which
 *	  goes to deflate; the scale - 1 copies of it that the upscale adds go
 *	  as filter 2 (Up) scanlines, all zeros, which deflate shrinks to
 *	  almost nothing.  deflate writes straight into the output buffer, in
 *	  IDAT chunks of at most PICTURE_IDAT_MAX bytes; the buffer doubles as
 *	  needed up to max_bytes, so memory is the result plus two scanlines
 *	  and zlib's state (which zlib takes from the caller's allocator too).
 *
 *	  The SVG is a string built in a buffer bounded by max_bytes, with the
 *	  PNG inline as base64.  Text widths for the layout are estimated from
 *	  the number of characters (0.62 em each, about DejaVu Sans' average),
 *	  which errs on the wide side for Latin text.
 *
 *	  Pure C: no PostgreSQL headers; zlib.
 */
#include "spatial/picture.h"
#include "util/errbuf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* The largest IDAT chunk's data, in bytes. */
#define PICTURE_IDAT_MAX (256 * 1024)

/* deflate's compression level: zlib's default, a good size for the time. */
#define PICTURE_ZLEVEL 6

/* The SVG's layout, in pixels. */
#define SVG_MARGIN		24
#define SVG_TITLE_PX	22
#define SVG_SUB_PX		15
#define SVG_TEXT_PX		14
#define SVG_LABEL_PX	12
#define SVG_BAR_GAP		36
#define SVG_BAR_W		22
#define SVG_BAR_MIN_H	200
#define SVG_CLIP_PAD	12
#define SVG_FONTS		"DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
#define SVG_INK			"#1a1a1a"

#define NODATA_NOTE_DEFAULT "no estimate (beyond the fade distance)"

/* One colour map: its name and control points, equally spaced on [0, 1]. */
typedef struct picture_map
{
	const char *name;
	int			n;
	uint8_t		rgb[11][3];
} picture_map;

static const picture_map picture_maps[] = {
	[PICTURE_VIRIDIS] = {
		"viridis", 9,
		{
			{0x44, 0x01, 0x54}, {0x47, 0x2D, 0x7B}, {0x3B, 0x52, 0x8B},
			{0x2C, 0x72, 0x8E}, {0x21, 0x90, 0x8C}, {0x27, 0xAD, 0x81},
			{0x5D, 0xC8, 0x63}, {0xAA, 0xDC, 0x32}, {0xFD, 0xE7, 0x25}
		}
	},
	[PICTURE_RDYLGN_R] = {
		"rdylgn_r", 11,
		{
			{0x00, 0x68, 0x37}, {0x1A, 0x98, 0x50}, {0x66, 0xBD, 0x63},
			{0xA6, 0xD9, 0x6A}, {0xD9, 0xEF, 0x8B}, {0xFF, 0xFF, 0xBF},
			{0xFE, 0xE0, 0x8B}, {0xFD, 0xAE, 0x61}, {0xF4, 0x6D, 0x43},
			{0xD7, 0x30, 0x27}, {0xA5, 0x00, 0x26}
		}
	},
};

#define PICTURE_NMAPS ((int) (sizeof(picture_maps) / sizeof(picture_maps[0])))

/*
 * picture_status_message gives a phrase for a status.
 */
const char *
picture_status_message(picture_status st)
{
	switch (st)
	{
		case PICTURE_OK:
			return "ok";
		case PICTURE_BAD_ARGUMENT:
			return "invalid argument";
		case PICTURE_BAD_RANGE:
			return "invalid value range";
		case PICTURE_TOO_LARGE:
			return "picture too large";
		case PICTURE_NOMEM:
			return "out of memory";
		case PICTURE_ZLIB:
			return "compression failed";
	}
	return "unknown error";
}

/*
 * picture_colormap_from_name finds a map by name, ignoring case; -1 when
 * there is none of that name.
 */
int
picture_colormap_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < PICTURE_NMAPS; i++)
	{
		const char *a = picture_maps[i].name;
		const char *b = name;

		while (*a && tolower((unsigned char) *b) == *a)
			a++, b++;
		if (*a == '\0' && *b == '\0')
			return i;
	}
	return -1;
}

/*
 * picture_colormap_name gives a map's name ("viridis" for an unknown one).
 */
const char *
picture_colormap_name(picture_colormap cm)
{
	if ((int) cm < 0 || (int) cm >= PICTURE_NMAPS)
		return picture_maps[0].name;
	return picture_maps[cm].name;
}

/*
 * picture_colormap_rgb interpolates map cm at t (clamped; NaN is 0)
 * between its two nearest control points, in sRGB, rounding to nearest.
 */
void
picture_colormap_rgb(picture_colormap cm, double t, uint8_t rgb[3])
{
	const picture_map *m = &picture_maps[((int) cm >= 0 && (int) cm < PICTURE_NMAPS) ? (int) cm : 0];
	double		pos;
	int			i;
	double		f;

	if (!(t > 0.0))				/* also NaN */
		t = 0.0;
	if (t > 1.0)
		t = 1.0;
	pos = t * (m->n - 1);
	i = (int) pos;
	if (i >= m->n - 1)
		i = m->n - 2;
	f = pos - i;
	for (int k = 0; k < 3; k++)
	{
		double		a = m->rgb[i][k];
		double		b = m->rgb[i + 1][k];

		rgb[k] = (uint8_t) floor(a + (b - a) * f + 0.5);
	}
}

/*
 * value_position maps v (not NaN) to t in [0, 1] for the range [vmin,
 * vmax] (finite, vmin <= vmax); see picture.h for the flat map.  A range
 * wider than the largest double is halved first so that it stays finite.
 */
static double
value_position(double v, double vmin, double vmax)
{
	double		d;
	double		t;

	if (vmin == vmax)
		return v < vmin ? 0.0 : (v > vmax ? 1.0 : 0.5);
	d = vmax - vmin;
	if (isfinite(d))
		t = (v - vmin) / d;
	else
		t = (v * 0.5 - vmin * 0.5) / (vmax * 0.5 - vmin * 0.5);
	if (!(t > 0.0))
		return 0.0;
	return t > 1.0 ? 1.0 : t;
}

/*
 * picture_default_scale picks the smallest upscale that makes the long
 * side readable, within the limits.
 */
int
picture_default_scale(int width, int height)
{
	int			longside = width > height ? width : height;
	int			s;

	if (width < 1 || height < 1)
		return 1;
	s = (PICTURE_READABLE_PX + longside - 1) / longside;
	if (s > PICTURE_MAX_SCALE)
		s = PICTURE_MAX_SCALE;
	while (s > 1 && (long long) longside * s > PICTURE_MAX_DIM)
		s--;
	return s < 1 ? 1 : s;
}

/*
 * check_input checks what picture_png and picture_svg share: the grid,
 * the style and the PNG's dimensions; sets *pw, *ph to the PNG's size.
 */
static picture_status
check_input(const picture_grid *g, const picture_style *s, int *pw, int *ph,
			char *err, size_t errlen)
{
	if (g == NULL || s == NULL)
	{
		errbuf_printf(err, errlen, "the grid and the style must not be null");
		return PICTURE_BAD_ARGUMENT;
	}
	if (g->width < 1 || g->height < 1)
	{
		errbuf_printf(err, errlen, "the grid must have at least one column and one row, not %d x %d",
				  g->width, g->height);
		return PICTURE_BAD_ARGUMENT;
	}
	if (g->values == NULL)
	{
		errbuf_printf(err, errlen, "the grid's values must not be null");
		return PICTURE_BAD_ARGUMENT;
	}
	if ((int) s->colormap < 0 || (int) s->colormap >= PICTURE_NMAPS)
	{
		errbuf_printf(err, errlen, "unknown colour map %d (valid: viridis, rdylgn_r)", (int) s->colormap);
		return PICTURE_BAD_ARGUMENT;
	}
	if (s->scale < 1 || s->scale > PICTURE_MAX_SCALE)
	{
		errbuf_printf(err, errlen, "the scale must be between 1 and %d, not %d", PICTURE_MAX_SCALE, s->scale);
		return PICTURE_BAD_ARGUMENT;
	}
	if (!isfinite(s->vmin) || !isfinite(s->vmax))
	{
		errbuf_printf(err, errlen, "the value range must be finite, not [%g, %g]", s->vmin, s->vmax);
		return PICTURE_BAD_RANGE;
	}
	if (s->vmin > s->vmax)
	{
		errbuf_printf(err, errlen, "the range's minimum %g is greater than its maximum %g", s->vmin, s->vmax);
		return PICTURE_BAD_RANGE;
	}
	if ((long long) g->width * s->scale > PICTURE_MAX_DIM ||
		(long long) g->height * s->scale > PICTURE_MAX_DIM)
	{
		errbuf_printf(err, errlen, "a picture of %lld x %lld pixels is larger than the limit of %d pixels a side",
				  (long long) g->width * s->scale, (long long) g->height * s->scale, PICTURE_MAX_DIM);
		return PICTURE_TOO_LARGE;
	}
	*pw = g->width * s->scale;
	*ph = g->height * s->scale;
	return PICTURE_OK;
}

/* The PNG being written: output buffer, deflate stream, current IDAT. */
typedef struct png_writer
{
	const mlops_allocator *a;
	uint8_t    *buf;
	size_t		len;
	size_t		alloc;
	size_t		cap;			/* max_bytes */
	size_t		chunk;			/* offset of the open IDAT chunk's length field */
	bool		in_chunk;
	z_stream	zs;
} png_writer;

/*
 * put_u32 writes v big-endian (PNG's byte order).
 */
static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/*
 * png_reserve makes room for n more bytes, doubling the buffer up to the
 * cap: PICTURE_TOO_LARGE when the cap does not allow it.
 */
static picture_status
png_reserve(png_writer *w, size_t n)
{
	size_t		want;
	uint8_t    *nb;

	if (w->alloc - w->len >= n)
		return PICTURE_OK;
	if (n > w->cap || w->len > w->cap - n)
		return PICTURE_TOO_LARGE;
	want = w->alloc < 65536 ? 65536 : w->alloc;
	while (want - w->len < n)
		want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
	if (want > w->cap)
		want = w->cap;
	nb = mlops_realloc(w->a, w->buf, want);
	if (nb == NULL)
		return PICTURE_NOMEM;
	w->buf = nb;
	w->alloc = want;
	return PICTURE_OK;
}

/*
 * png_chunk_close writes the open chunk's length and CRC (room for the
 * CRC was reserved when it was opened).
 */
static void
png_chunk_close(png_writer *w)
{
	size_t		datalen = w->len - w->chunk - 8;
	uLong		crc = crc32(0L, Z_NULL, 0);

	put_u32(w->buf + w->chunk, (uint32_t) datalen);
	crc = crc32(crc, w->buf + w->chunk + 4, (uInt) (datalen + 4));
	put_u32(w->buf + w->len, (uint32_t) crc);
	w->len += 4;
	w->in_chunk = false;
}

/*
 * png_chunk_open starts a chunk of the given type; its data follows.
 * Reserves its header and its CRC (its data reserves its own room).
 */
static picture_status
png_chunk_open(png_writer *w, const char *type)
{
	picture_status st = png_reserve(w, 8 + 4);

	if (st != PICTURE_OK)
		return st;
	w->chunk = w->len;
	memcpy(w->buf + w->len + 4, type, 4);
	w->len += 8;
	w->in_chunk = true;
	return PICTURE_OK;
}

/*
 * png_deflate feeds n bytes (n may be 0 with Z_FINISH) to deflate, which
 * writes into IDAT chunks, closing a full one and opening the next.
 */
static picture_status
png_deflate(png_writer *w, const uint8_t *data, size_t n, int flush)
{
	w->zs.next_in = (Bytef *) data;
	w->zs.avail_in = (uInt) n;
	for (;;)
	{
		size_t		room;
		size_t		left;
		int			rc;
		picture_status st;

		if (w->len - w->chunk - 8 >= PICTURE_IDAT_MAX)
		{
			png_chunk_close(w);
			if ((st = png_chunk_open(w, "IDAT")) != PICTURE_OK)
				return st;
		}
		/* one byte of data and the chunk's CRC must fit */
		if ((st = png_reserve(w, 4 + 1)) != PICTURE_OK)
			return st;
		room = w->alloc - w->len - 4;
		left = PICTURE_IDAT_MAX - (w->len - w->chunk - 8);
		if (room > left)
			room = left;
		w->zs.next_out = w->buf + w->len;
		w->zs.avail_out = (uInt) room;
		rc = deflate(&w->zs, flush);
		w->len += room - w->zs.avail_out;
		if (rc == Z_STREAM_ERROR)
			return PICTURE_ZLIB;
		if (flush == Z_FINISH)
		{
			if (rc == Z_STREAM_END)
				return PICTURE_OK;
			if (rc == Z_BUF_ERROR && w->zs.avail_out == room)
				return PICTURE_ZLIB;	/* no progress: cannot happen */
			continue;
		}
		if (w->zs.avail_out != 0)
			return PICTURE_OK;	/* all input taken */
	}
}

/*
 * zlib_alloc gives zlib memory from the caller's allocator.
 */
static voidpf
zlib_alloc(voidpf opaque, uInt items, uInt size)
{
	if (size != 0 && items > SIZE_MAX / size)
		return Z_NULL;
	return mlops_alloc((const mlops_allocator *) opaque, (size_t) items * size);
}

/*
 * zlib_free returns zlib's memory to the caller's allocator.
 */
static void
zlib_free(voidpf opaque, voidpf p)
{
	mlops_free((const mlops_allocator *) opaque, p);
}

/*
 * fill_scanline writes grid row r as a filter-0 scanline of pw pixels.
 */
static void
fill_scanline(const picture_grid *g, const picture_style *s, int r, uint8_t *line)
{
	const double *row = g->values + (size_t) r * g->width;
	uint8_t    *p = line + 1;

	line[0] = 0;				/* filter None */
	for (int c = 0; c < g->width; c++)
	{
		double		v = row[c];
		uint8_t		px[4];

		if (isnan(v) || (g->has_nodata && v == g->nodata))
			px[0] = px[1] = px[2] = px[3] = 0;
		else
		{
			picture_colormap_rgb(s->colormap, value_position(v, s->vmin, s->vmax), px);
			px[3] = 255;
		}
		for (int k = 0; k < s->scale; k++, p += 4)
			memcpy(p, px, 4);
	}
}

/*
 * picture_png writes the PNG (see picture.h).
 */
picture_status
picture_png(const picture_grid *g, const picture_style *s, size_t max_bytes,
			const mlops_allocator *a, uint8_t **png, size_t *png_len,
			char *err, size_t errlen)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	png_writer	w;
	picture_status st;
	int			pw,
				ph;
	uint64_t	rowbytes;
	uint64_t	decoded;
	uint8_t    *line = NULL;
	uint8_t    *upline = NULL;
	bool		zinit = false;
	int			zrc;

	if (png == NULL || png_len == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "the output pointers and the allocator must not be null");
		return PICTURE_BAD_ARGUMENT;
	}
	*png = NULL;
	*png_len = 0;
	if ((st = check_input(g, s, &pw, &ph, err, errlen)) != PICTURE_OK)
		return st;
	rowbytes = 1 + 4 * (uint64_t) pw;
	decoded = rowbytes * (uint64_t) ph;
	if (decoded > max_bytes)
	{
		errbuf_printf(err, errlen, "a picture of %d x %d pixels takes %llu bytes decoded, more than the limit of %zu bytes",
				  pw, ph, (unsigned long long) decoded, max_bytes);
		return PICTURE_TOO_LARGE;
	}

	memset(&w, 0, sizeof(w));
	w.a = a;
	w.cap = max_bytes;
	line = mlops_alloc(a, (size_t) rowbytes);
	upline = mlops_alloc(a, (size_t) rowbytes);
	if (line == NULL || upline == NULL)
	{
		st = PICTURE_NOMEM;
		goto fail;
	}
	memset(upline, 0, (size_t) rowbytes);
	upline[0] = 2;				/* filter Up: the row above, unchanged */

	w.zs.zalloc = zlib_alloc;
	w.zs.zfree = zlib_free;
	w.zs.opaque = (voidpf) a;
	zrc = deflateInit2(&w.zs, PICTURE_ZLEVEL, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY);
	if (zrc != Z_OK)
	{
		st = zrc == Z_MEM_ERROR ? PICTURE_NOMEM : PICTURE_ZLIB;
		goto fail;
	}
	zinit = true;

	/* signature and IHDR */
	if ((st = png_reserve(&w, 8 + 25)) != PICTURE_OK)
		goto fail;
	memcpy(w.buf, signature, 8);
	w.len = 8;
	if ((st = png_chunk_open(&w, "IHDR")) != PICTURE_OK ||
		(st = png_reserve(&w, 13 + 4)) != PICTURE_OK)
		goto fail;
	put_u32(w.buf + w.len, (uint32_t) pw);
	put_u32(w.buf + w.len + 4, (uint32_t) ph);
	w.buf[w.len + 8] = 8;		/* bit depth */
	w.buf[w.len + 9] = 6;		/* colour type: RGBA */
	w.buf[w.len + 10] = 0;		/* compression: deflate */
	w.buf[w.len + 11] = 0;		/* filter method 0 */
	w.buf[w.len + 12] = 0;		/* no interlace */
	w.len += 13;
	png_chunk_close(&w);

	/* IDAT: each grid row, then its copies as Up scanlines */
	if ((st = png_chunk_open(&w, "IDAT")) != PICTURE_OK)
		goto fail;
	for (int r = 0; r < g->height; r++)
	{
		fill_scanline(g, s, r, line);
		if ((st = png_deflate(&w, line, (size_t) rowbytes, Z_NO_FLUSH)) != PICTURE_OK)
			goto fail;
		for (int k = 1; k < s->scale; k++)
			if ((st = png_deflate(&w, upline, (size_t) rowbytes, Z_NO_FLUSH)) != PICTURE_OK)
				goto fail;
	}
	if ((st = png_deflate(&w, NULL, 0, Z_FINISH)) != PICTURE_OK)
		goto fail;
	png_chunk_close(&w);
	deflateEnd(&w.zs);
	zinit = false;

	/* IEND */
	if ((st = png_chunk_open(&w, "IEND")) != PICTURE_OK)
		goto fail;
	png_chunk_close(&w);

	mlops_free(a, line);
	mlops_free(a, upline);
	*png = w.buf;
	*png_len = w.len;
	return PICTURE_OK;

fail:
	if (zinit)
		deflateEnd(&w.zs);
	mlops_free(a, line);
	mlops_free(a, upline);
	mlops_free(a, w.buf);
	if (st == PICTURE_TOO_LARGE)
		errbuf_printf(err, errlen, "the png of %d x %d pixels would exceed the limit of %zu bytes", pw, ph, max_bytes);
	else if (st == PICTURE_NOMEM)
		errbuf_printf(err, errlen, "out of memory writing a png of %d x %d pixels", pw, ph);
	else
		errbuf_printf(err, errlen, "zlib failed to compress a png of %d x %d pixels", pw, ph);
	return st;
}

/*
 * picture_ticks chooses the colour bar's ticks (see picture.h): among the
 * steps m 10^k, m in {1, 2, 2.5, 5}, those giving 4 to 6 multiples inside
 * the range; the count nearest 5 wins, then the larger step.  Ranges too
 * narrow for that in doubles (below 1e-12 of their magnitude, or below
 * 1e-290) and ranges wider than the largest double take equal parts.
 */
int
picture_ticks(double vmin, double vmax, double *ticks, int *decimals)
{
	static const double mant[4] = {1.0, 2.0, 2.5, 5.0};
	double		range;
	double		magnitude;
	int			best_n = 0;
	double		best_m = 0;
	int			best_k = 0;
	int			n = 0;
	int			dec = -1;

	*decimals = -6;
	if (!isfinite(vmin) || !isfinite(vmax) || vmin > vmax)
		return 0;
	if (vmin == vmax)
	{
		ticks[0] = vmin;
		return 1;
	}
	range = vmax - vmin;
	magnitude = fmax(fabs(vmin), fabs(vmax));
	if (isfinite(range) && range > 1e-290 && range > magnitude * 1e-12)
	{
		int			top = (int) floor(log10(range));

		for (int k = top + 1; k >= top - 2; k--)
		{
			for (int mi = 3; mi >= 0; mi--)
			{
				double		step = mant[mi] * pow(10.0, k);
				double		lo,
							hi;
				int			cn;

				/* a tolerance keeps 0.3 / 0.1 = 2.9999999999999996 a multiple */
				lo = ceil(vmin / step - 1e-9);
				hi = floor(vmax / step + 1e-9);
				if (!(hi - lo >= 3 && hi - lo <= 5))
					continue;
				cn = (int) (hi - lo) + 1;
				if (best_n == 0 || abs(cn - 5) < abs(best_n - 5))
				{
					best_n = cn;
					best_m = mant[mi];
					best_k = k;
				}
			}
		}
	}
	if (best_n > 0)
	{
		double		step = best_m * pow(10.0, best_k);
		double		lo = ceil(vmin / step - 1e-9);

		for (int i = 0; i < best_n; i++)
		{
			/* dividing by an exact power of ten keeps 3 * 0.1 at 0.3 */
			if (best_k < 0)
				ticks[i] = (lo + i) * best_m / pow(10.0, -best_k);
			else
				ticks[i] = (lo + i) * step;
		}
		n = best_n;
		dec = -best_k + (best_m == 2.5 ? 1 : 0);
		if (dec < 0)
			dec = 0;
		if (dec > 9 || magnitude >= 1e12)
			dec = -1;
	}
	else
	{
		/* five equal parts (halves first, so that a range beyond DBL_MAX stays finite) */
		for (int i = 0; i < 5; i++)
			ticks[i] = vmin * (1.0 - i / 4.0) + vmax * (i / 4.0);
		n = 5;
	}

	/* inside the range, strictly ascending (rounding may touch either) */
	{
		int			m = 0;

		for (int i = 0; i < n; i++)
		{
			double		t = fmin(fmax(ticks[i], vmin), vmax);

			if (m == 0 || t > ticks[m - 1])
				ticks[m++] = t;
		}
		n = m;
	}

	/* %g labels: the fewest significant digits (6 to 17) that tell them apart */
	if (dec < 0)
	{
		for (int p = 6; p <= 17; p++)
		{
			bool		distinct = true;
			char		a[64],
						b[64];

			for (int i = 1; i < n && distinct; i++)
				if (strcmp(picture_format_tick(ticks[i - 1], -p, a, sizeof(a)),
						   picture_format_tick(ticks[i], -p, b, sizeof(b))) == 0)
					distinct = false;
			dec = -p;
			if (distinct)
				break;
		}
	}
	*decimals = dec;
	return n;
}

/*
 * picture_format_tick writes a tick label: decimals >= 0 with %.*f, where
 * a value that rounds to zero is written without a sign; decimals < 0
 * with %.*g and -decimals significant digits.
 */
char *
picture_format_tick(double v, int decimals, char *buf, size_t buflen)
{
	if (buflen == 0)
		return buf;
	if (decimals >= 0)
	{
		snprintf(buf, buflen, "%.*f", decimals, v);
		if (buf[0] == '-')
		{
			bool		zero = true;

			for (const char *p = buf + 1; *p; p++)
				if (*p != '0' && *p != '.')
					zero = false;
			if (zero)
				memmove(buf, buf + 1, strlen(buf));
		}
	}
	else
		snprintf(buf, buflen, "%.*g", decimals < -17 ? 17 : -decimals, v == 0 ? 0.0 : v);
	return buf;
}

/* A string being built, bounded by cap bytes (with its NUL). */
typedef struct svg_buf
{
	const mlops_allocator *a;
	char	   *buf;
	size_t		len;
	size_t		alloc;
	size_t		cap;
	picture_status st;
} svg_buf;

/*
 * sb_reserve makes room for n more bytes and a NUL, or records why not.
 */
static bool
sb_reserve(svg_buf *b, size_t n)
{
	size_t		want;
	char	   *nb;

	if (b->st != PICTURE_OK)
		return false;
	if (b->alloc - b->len > n)
		return true;
	if (n >= b->cap || b->len >= b->cap - n)
	{
		b->st = PICTURE_TOO_LARGE;
		return false;
	}
	want = b->alloc < 16384 ? 16384 : b->alloc;
	while (want - b->len <= n)
		want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
	if (want > b->cap)
		want = b->cap;
	nb = mlops_realloc(b->a, b->buf, want);
	if (nb == NULL)
	{
		b->st = PICTURE_NOMEM;
		return false;
	}
	b->buf = nb;
	b->alloc = want;
	return true;
}

/*
 * sb_put appends n bytes.
 */
static void
sb_put(svg_buf *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

/* sb_lit appends a string literal. */
#define sb_lit(b, s) sb_put((b), (s), sizeof(s) - 1)

static void sb_printf(svg_buf *b, const char *fmt,...) MLOPS_PRINTF(2, 3);

/*
 * sb_printf appends formatted text: measured first, then printed in place.
 */
static void
sb_printf(svg_buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (b->st != PICTURE_OK)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		b->st = PICTURE_BAD_ARGUMENT;
		return;
	}
	if (!sb_reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/*
 * utf8_next decodes one code point of s (strictly: no overlong forms, no
 * surrogates, nothing above U+10FFFF); an invalid byte gives U+FFFD and
 * length 1.  Returns the bytes taken.
 */
static int
utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	int			n;
	uint32_t	v;
	unsigned char lo = 0x80,
				hi = 0xBF;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		n = 1, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 2, v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 3, v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	}
	else
	{
		*cp = 0xFFFD;
		return 1;
	}
	for (int i = 1; i <= n; i++)
	{
		unsigned char cc = s[i];	/* the NUL stops this: it is no continuation */

		if (cc < (i == 1 ? lo : 0x80) || cc > (i == 1 ? hi : 0xBF))
		{
			*cp = 0xFFFD;
			return 1;
		}
		v = (v << 6) | (cc & 0x3F);
	}
	*cp = v;
	return n + 1;
}

/*
 * text_chars counts the characters of s as utf8_next reads them (for the
 * layout's width estimates).
 */
static size_t
text_chars(const char *s)
{
	size_t		n = 0;
	uint32_t	cp;

	if (s == NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *) s; *p; p += utf8_next(p, &cp))
		n++;
	return n;
}

/*
 * sb_text appends s as XML character data or attribute text: the five
 * markup characters as entities, tabs and line ends as spaces, other
 * control characters, U+FFFE, U+FFFF and invalid UTF-8 as U+FFFD.
 */
static void
sb_text(svg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	if (s == NULL)
		return;
	while (*p)
	{
		uint32_t	cp;
		int			n = utf8_next(p, &cp);

		switch (cp)
		{
			case '&':
				sb_lit(b, "&amp;");
				break;
			case '<':
				sb_lit(b, "&lt;");
				break;
			case '>':
				sb_lit(b, "&gt;");
				break;
			case '"':
				sb_lit(b, "&quot;");
				break;
			case '\'':
				sb_lit(b, "&apos;");
				break;
			case '\t':
			case '\n':
			case '\r':
				sb_lit(b, " ");
				break;
			default:
				if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF || cp == 0xFFFD)
					sb_lit(b, "\xEF\xBF\xBD");
				else
					sb_put(b, (const char *) p, (size_t) n);
		}
		p += n;
	}
}

/*
 * sb_base64 appends data in base64 (RFC 4648, with padding).
 */
static void
sb_base64(svg_buf *b, const uint8_t *data, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		out = (n + 2) / 3 * 4;
	char	   *p;
	size_t		i;

	if (n > SIZE_MAX / 4 * 3 - 3 || !sb_reserve(b, out))
	{
		if (b->st == PICTURE_OK)
			b->st = PICTURE_TOO_LARGE;
		return;
	}
	p = b->buf + b->len;
	for (i = 0; i + 3 <= n; i += 3)
	{
		uint32_t	v = (uint32_t) data[i] << 16 | (uint32_t) data[i + 1] << 8 | data[i + 2];

		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < n)
	{
		uint32_t	v = (uint32_t) data[i] << 16 | (i + 1 < n ? (uint32_t) data[i + 1] << 8 : 0);

		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	b->len += out;
	b->buf[b->len] = '\0';
}

/*
 * coord_ok: a sensor's or vertex's coordinate is finite and within
 * PICTURE_MAX_COORD.
 */
static bool
coord_ok(double v)
{
	return isfinite(v) && fabs(v) <= PICTURE_MAX_COORD;
}

/*
 * check_svg_options checks sensors and rings.
 */
static picture_status
check_svg_options(const picture_svg_options *o, char *err, size_t errlen)
{
	if (o->nsensors < 0 || (o->nsensors > 0 && o->sensors == NULL))
	{
		errbuf_printf(err, errlen, "the sensors must be an array of %d sensors", o->nsensors);
		return PICTURE_BAD_ARGUMENT;
	}
	if (o->nrings < 0 || (o->nrings > 0 && o->rings == NULL))
	{
		errbuf_printf(err, errlen, "the outline must be an array of %d rings", o->nrings);
		return PICTURE_BAD_ARGUMENT;
	}
	for (int i = 0; i < o->nsensors; i++)
		if (!coord_ok(o->sensors[i].col) || !coord_ok(o->sensors[i].row))
		{
			errbuf_printf(err, errlen, "sensor %d has a coordinate that is not finite or beyond %g cells", i + 1,
					  PICTURE_MAX_COORD);
			return PICTURE_BAD_ARGUMENT;
		}
	for (int i = 0; i < o->nrings; i++)
	{
		const picture_ring *r = &o->rings[i];

		if (r->n < 0 || (r->n > 0 && r->xy == NULL))
		{
			errbuf_printf(err, errlen, "ring %d of the outline must be an array of %d vertices", i + 1, r->n);
			return PICTURE_BAD_ARGUMENT;
		}
		for (int j = 0; j < 2 * r->n; j++)
			if (!coord_ok(r->xy[j]))
			{
				errbuf_printf(err, errlen, "ring %d of the outline has a coordinate that is not finite or beyond %g cells",
						  i + 1, PICTURE_MAX_COORD);
				return PICTURE_BAD_ARGUMENT;
			}
	}
	return PICTURE_OK;
}

/*
 * text_width estimates the width in pixels of text s at font size px.
 */
static double
text_width(const char *s, double px)
{
	return (double) text_chars(s) * px * 0.62;
}

/*
 * sb_halo_text appends a text element twice: a white outline under the
 * ink, so that a label reads on any colour of the map.
 */
static void
sb_halo_text(svg_buf *b, double x, double y, int px, const char *s)
{
	sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"#ffffff\" stroke=\"#ffffff\" "
			  "stroke-width=\"3\" stroke-linejoin=\"round\">", x, y, px);
	sb_text(b, s);
	sb_lit(b, "</text>");
	sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"" SVG_INK "\">", x, y, px);
	sb_text(b, s);
	sb_lit(b, "</text>\n");
}

/*
 * picture_svg writes the document (see picture.h).  Layout, top down: the
 * title and subtitle; the image at (SVG_MARGIN, top) with the colour bar
 * SVG_BAR_GAP to its right (the units above the bar, tick labels right
 * of it); the legend under the taller of the two.
 */
picture_status
picture_svg(const picture_grid *g, const picture_style *s,
			const picture_svg_options *o, size_t max_bytes,
			const mlops_allocator *a, char **svg, size_t *svg_len,
			char *err, size_t errlen)
{
	static const picture_svg_options none;
	svg_buf		b;
	picture_status st;
	const picture_map *map;
	uint8_t    *png = NULL;
	size_t		png_len = 0;
	int			pw,
				ph;
	double		ticks[PICTURE_MAX_TICKS];
	char		labels[PICTURE_MAX_TICKS][64];
	int			nticks;
	int			decimals;
	double		labelw = 0;
	const char *note;
	double		y,
				title_y = 0,
				sub_y = 0,
				top,
				x0,
				bx,
				bh,
				ly,
				width,
				height;
	int			nlegend;

	if (svg == NULL || svg_len == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "the output pointers and the allocator must not be null");
		return PICTURE_BAD_ARGUMENT;
	}
	*svg = NULL;
	*svg_len = 0;
	if (o == NULL)
		o = &none;
	if ((st = check_input(g, s, &pw, &ph, err, errlen)) != PICTURE_OK)
		return st;
	if ((st = check_svg_options(o, err, errlen)) != PICTURE_OK)
		return st;

	/* the PNG goes in as base64: 4 bytes for every 3 */
	st = picture_png(g, s, max_bytes / 4 * 3, a, &png, &png_len, err, errlen);
	if (st == PICTURE_TOO_LARGE)
		errbuf_printf(err, errlen, "the svg of a %d x %d pixel picture would exceed the limit of %zu bytes",
				  pw, ph, max_bytes);
	if (st != PICTURE_OK)
		return st;

	map = &picture_maps[s->colormap];
	nticks = picture_ticks(s->vmin, s->vmax, ticks, &decimals);
	for (int i = 0; i < nticks; i++)
	{
		double		w;

		picture_format_tick(ticks[i], decimals, labels[i], sizeof(labels[i]));
		w = text_width(labels[i], SVG_TEXT_PX);
		if (w > labelw)
			labelw = w;
	}
	note = o->nodata_note ? o->nodata_note : NODATA_NOTE_DEFAULT;

	/* layout */
	y = SVG_MARGIN;
	if (o->title && o->title[0])
	{
		title_y = y + SVG_TITLE_PX - 4;
		y = title_y + 10;
	}
	if (o->subtitle && o->subtitle[0])
	{
		sub_y = y + SVG_SUB_PX - 3;
		y = sub_y + 8;
	}
	top = y + SVG_TEXT_PX + 16;	/* the units' line above the bar */
	x0 = SVG_MARGIN;
	bx = x0 + pw + SVG_BAR_GAP;
	bh = ph > SVG_BAR_MIN_H ? ph : SVG_BAR_MIN_H;
	ly = top + bh + 34;
	nlegend = 1 + (o->nsensors > 0) + (o->nrings > 0);
	width = bx + SVG_BAR_W + 10 + labelw;
	if (o->units && bx + text_width(o->units, SVG_TEXT_PX) > width)
		width = bx + text_width(o->units, SVG_TEXT_PX);
	width += SVG_MARGIN;
	if (o->title && x0 + text_width(o->title, SVG_TITLE_PX) * 1.08 + SVG_MARGIN > width)
		width = x0 + text_width(o->title, SVG_TITLE_PX) * 1.08 + SVG_MARGIN;
	if (o->subtitle && x0 + text_width(o->subtitle, SVG_SUB_PX) + SVG_MARGIN > width)
		width = x0 + text_width(o->subtitle, SVG_SUB_PX) + SVG_MARGIN;
	if (x0 + 36 + text_width(note, SVG_TEXT_PX) + SVG_MARGIN > width)
		width = x0 + 36 + text_width(note, SVG_TEXT_PX) + SVG_MARGIN;
	width = ceil(width);
	height = ceil(ly + (nlegend - 1) * 24 + SVG_MARGIN);

	memset(&b, 0, sizeof(b));
	b.a = a;
	b.cap = max_bytes;
	/* the base64 and the markup around it, at least 2 KiB */
	if (!sb_reserve(&b, (png_len + 2) / 3 * 4 + 2048))
		goto done;

	sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
			  "version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" ",
			  width, height, width, height);
	sb_printf(&b, "font-family=\"%s\">\n", SVG_FONTS);
	if (o->title && o->title[0])
	{
		sb_lit(&b, "<title>");
		sb_text(&b, o->title);
		sb_lit(&b, "</title>\n");
	}

	/* definitions: the bar's gradient, the no-estimate hatching, the map's clip */
	sb_lit(&b, "<defs>\n<linearGradient id=\"pm_bar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n");
	for (int i = 0; i < map->n; i++)
		sb_printf(&b, "<stop offset=\"%.4f\" stop-color=\"#%02x%02x%02x\"/>\n",
				  (double) i / (map->n - 1), map->rgb[i][0], map->rgb[i][1], map->rgb[i][2]);
	sb_printf(&b, "</linearGradient>\n"
			  "<pattern id=\"pm_hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
			  "patternTransform=\"rotate(45)\">"
			  "<rect width=\"8\" height=\"8\" fill=\"#ffffff\"/>"
			  "<rect width=\"2\" height=\"8\" fill=\"#c8c8c8\"/></pattern>\n");
	sb_printf(&b, "<clipPath id=\"pm_clip\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%d\"/></clipPath>\n"
			  "</defs>\n",
			  x0 - SVG_CLIP_PAD, top - SVG_CLIP_PAD, pw + 2 * SVG_CLIP_PAD, ph + 2 * SVG_CLIP_PAD);
	sb_lit(&b, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");

	/* title and subtitle */
	if (o->title && o->title[0])
	{
		sb_printf(&b, "<text x=\"%d\" y=\"%.2f\" font-size=\"%d\" font-weight=\"bold\" fill=\"" SVG_INK "\">",
				  SVG_MARGIN, title_y, SVG_TITLE_PX);
		sb_text(&b, o->title);
		sb_lit(&b, "</text>\n");
	}
	if (o->subtitle && o->subtitle[0])
	{
		sb_printf(&b, "<text x=\"%d\" y=\"%.2f\" font-size=\"%d\" fill=\"#444444\">",
				  SVG_MARGIN, sub_y, SVG_SUB_PX);
		sb_text(&b, o->subtitle);
		sb_lit(&b, "</text>\n");
	}

	/* the picture over the hatching, and its frame */
	sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%d\" fill=\"url(#pm_hatch)\"/>\n",
			  x0, top, pw, ph);
	sb_printf(&b, "<image x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%d\" preserveAspectRatio=\"none\" "
			  "style=\"image-rendering:optimizeSpeed;image-rendering:pixelated\" "
			  "xlink:href=\"data:image/png;base64,", x0, top, pw, ph);
	sb_base64(&b, png, png_len);
	sb_lit(&b, "\"/>\n");
	sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#555555\" "
			  "stroke-width=\"1\"/>\n", x0, top, pw, ph);

	/* the outline (a white casing under the ink) and the sensors */
	sb_lit(&b, "<g clip-path=\"url(#pm_clip)\">\n");
	if (o->nrings > 0)
	{
		static const char *const strokes[2][2] = {{"#ffffff", "4.5"}, {SVG_INK, "2"}};

		for (int pass = 0; pass < 2; pass++)
		{
			sb_lit(&b, "<path d=\"");
			for (int i = 0; i < o->nrings; i++)
			{
				const picture_ring *r = &o->rings[i];

				for (int j = 0; j < r->n; j++)
					sb_printf(&b, "%s%.2f %.2f", j == 0 ? "M" : " L", x0 + r->xy[2 * j] * s->scale,
							  top + r->xy[2 * j + 1] * s->scale);
				if (r->n > 0)
					sb_lit(&b, " Z ");
			}
			sb_printf(&b, "\" fill=\"none\" fill-rule=\"evenodd\" stroke=\"%s\" stroke-width=\"%s\" "
					  "stroke-linejoin=\"round\"/>\n", strokes[pass][0], strokes[pass][1]);
		}
	}
	for (int i = 0; i < o->nsensors; i++)
	{
		double		cx = x0 + o->sensors[i].col * s->scale;
		double		cy = top + o->sensors[i].row * s->scale;

		sb_printf(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\" fill=\"#ffffff\" stroke=\"" SVG_INK "\" "
				  "stroke-width=\"2\"/>\n", cx, cy);
	}
	for (int i = 0; i < o->nsensors; i++)
		if (o->sensors[i].label && o->sensors[i].label[0])
			sb_halo_text(&b, x0 + o->sensors[i].col * s->scale + 8,
						 top + o->sensors[i].row * s->scale - 7, SVG_LABEL_PX, o->sensors[i].label);
	sb_lit(&b, "</g>\n");

	/* the colour bar, vmax at the top; a flat map's bar has its one colour */
	if (o->units && o->units[0])
	{
		sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"" SVG_INK "\">",
				  bx, top - 10, SVG_TEXT_PX);
		sb_text(&b, o->units);
		sb_lit(&b, "</text>\n");
	}
	if (s->vmin == s->vmax)
	{
		uint8_t		mid[3];

		picture_colormap_rgb(s->colormap, 0.5, mid);
		sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%.2f\" fill=\"#%02x%02x%02x\" "
				  "stroke=\"#555555\" stroke-width=\"1\"/>\n", bx, top, SVG_BAR_W, bh, mid[0], mid[1], mid[2]);
	}
	else
		sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%.2f\" fill=\"url(#pm_bar)\" "
				  "stroke=\"#555555\" stroke-width=\"1\"/>\n", bx, top, SVG_BAR_W, bh);
	for (int i = 0; i < nticks; i++)
	{
		double		t = s->vmin == s->vmax ? 0.5 : value_position(ticks[i], s->vmin, s->vmax);
		double		ty = top + (1.0 - t) * bh;

		sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"" SVG_INK "\" "
				  "stroke-width=\"1.5\"/>", bx + SVG_BAR_W - 6, ty, bx + SVG_BAR_W + 6, ty);
		sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"" SVG_INK "\">%s</text>\n",
				  bx + SVG_BAR_W + 10, ty + 5, SVG_TEXT_PX, labels[i]);
	}

	/* the legend */
	sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"26\" height=\"16\" fill=\"url(#pm_hatch)\" "
			  "stroke=\"#555555\" stroke-width=\"1\"/>", x0, ly - 13);
	sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"" SVG_INK "\">", x0 + 36, ly, SVG_TEXT_PX);
	sb_text(&b, note);
	sb_lit(&b, "</text>\n");
	if (o->nsensors > 0)
	{
		ly += 24;
		sb_printf(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\" fill=\"#ffffff\" stroke=\"" SVG_INK "\" "
				  "stroke-width=\"2\"/>", x0 + 13, ly - 5);
		sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"" SVG_INK "\">", x0 + 36, ly, SVG_TEXT_PX);
		sb_text(&b, o->points_label ? o->points_label : "sensor");
		sb_lit(&b, "</text>\n");
	}
	if (o->nrings > 0)
	{
		ly += 24;
		sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"" SVG_INK "\" "
				  "stroke-width=\"2\"/>", x0, ly - 5, x0 + 26, ly - 5);
		sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"" SVG_INK "\">", x0 + 36, ly, SVG_TEXT_PX);
		sb_text(&b, o->outline_label ? o->outline_label : "area outline");
		sb_lit(&b, "</text>\n");
	}
	sb_lit(&b, "</svg>\n");

done:
	mlops_free(a, png);
	if (b.st != PICTURE_OK)
	{
		mlops_free(a, b.buf);
		if (b.st == PICTURE_TOO_LARGE)
			errbuf_printf(err, errlen, "the svg would exceed the limit of %zu bytes", max_bytes);
		else if (b.st == PICTURE_NOMEM)
			errbuf_printf(err, errlen, "out of memory writing the svg");
		else
			errbuf_printf(err, errlen, "could not format the svg");
		return b.st;
	}
	*svg = b.buf;
	*svg_len = b.len;
	return PICTURE_OK;
}
