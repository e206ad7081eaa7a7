/*
 * picture.c
 *	  Kernel: a heatmap grid as a PNG, and the colour maps (see picture.h
 *	  for the contract, the colour maps and the limits; the SVG document
 *	  around the PNG is picture_svg.c).
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
 *	  picture_png_write, the chunk writer, takes its scanlines from a
 *	  callback, so picture_overlay.c (an image drawn over, held whole)
 *	  shares it.
 *
 *	  Pure C: no PostgreSQL headers; zlib.
 */
#include "spatial/picture.h"
#include "spatial/picture_private.h"
#include "util/errbuf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* The largest IDAT chunk's data, in bytes. */
#define PICTURE_IDAT_MAX (256 * 1024)

/* deflate's compression level: zlib's default, a good size for the time. */
#define PICTURE_ZLEVEL 6

/* The colour maps, indexed by picture_colormap (picture_private.h). */
const picture_map picture_maps[] = {
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
 * picture_value_position maps v (not NaN) to t in [0, 1] for the range [vmin,
 * vmax] (finite, vmin <= vmax); see picture.h for the flat map.  A range
 * wider than the largest double is halved first so that it stays finite.
 */
double
picture_value_position(double v, double vmin, double vmax)
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
 * picture_check_input checks what picture_png and picture_svg share: the grid,
 * the style and the PNG's dimensions; sets *pw, *ph to the PNG's size.
 */
picture_status
picture_check_input(const picture_grid *g, const picture_style *s, int *pw, int *ph,
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
 * picture_fill_scanline writes grid row r as a filter-0 scanline of the
 * grid's width * scale pixels (see picture_private.h).
 */
void
picture_fill_scanline(const picture_grid *g, const picture_style *s, int r, uint8_t *line)
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
			picture_colormap_rgb(s->colormap, picture_value_position(v, s->vmin, s->vmax), px);
			px[3] = 255;
		}
		for (int k = 0; k < s->scale; k++, p += 4)
			memcpy(p, px, 4);
	}
}

/*
 * picture_check_decoded refuses an image whose decoded size (ph scanlines
 * of 1 + 4 pw bytes) exceeds max_bytes.
 */
picture_status
picture_check_decoded(int pw, int ph, size_t max_bytes, char *err, size_t errlen)
{
	uint64_t	decoded = (1 + 4 * (uint64_t) pw) * (uint64_t) ph;

	if (decoded > max_bytes)
	{
		errbuf_printf(err, errlen, "a picture of %d x %d pixels takes %llu bytes decoded, more than the limit of %zu bytes",
				  pw, ph, (unsigned long long) decoded, max_bytes);
		return PICTURE_TOO_LARGE;
	}
	return PICTURE_OK;
}

/*
 * picture_png_write writes a PNG of pw x ph RGBA pixels whose scanlines
 * row(ctx, y) gives in order (see picture_private.h).
 */
picture_status
picture_png_write(int pw, int ph, picture_row_fn row, void *ctx, size_t max_bytes,
				  const mlops_allocator *a, uint8_t **png, size_t *png_len,
				  char *err, size_t errlen)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	png_writer	w;
	picture_status st;
	size_t		rowbytes = 1 + 4 * (size_t) pw;
	bool		zinit = false;
	int			zrc;

	*png = NULL;
	*png_len = 0;
	if ((st = picture_check_decoded(pw, ph, max_bytes, err, errlen)) != PICTURE_OK)
		return st;
	memset(&w, 0, sizeof(w));
	w.a = a;
	w.cap = max_bytes;
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

	/* IDAT: the scanlines in order */
	if ((st = png_chunk_open(&w, "IDAT")) != PICTURE_OK)
		goto fail;
	for (int y = 0; y < ph; y++)
		if ((st = png_deflate(&w, row(ctx, y), rowbytes, Z_NO_FLUSH)) != PICTURE_OK)
			goto fail;
	if ((st = png_deflate(&w, NULL, 0, Z_FINISH)) != PICTURE_OK)
		goto fail;
	png_chunk_close(&w);
	deflateEnd(&w.zs);
	zinit = false;

	/* IEND */
	if ((st = png_chunk_open(&w, "IEND")) != PICTURE_OK)
		goto fail;
	png_chunk_close(&w);

	*png = w.buf;
	*png_len = w.len;
	return PICTURE_OK;

fail:
	if (zinit)
		deflateEnd(&w.zs);
	mlops_free(a, w.buf);
	if (st == PICTURE_TOO_LARGE)
		errbuf_printf(err, errlen, "the png of %d x %d pixels would exceed the limit of %zu bytes", pw, ph, max_bytes);
	else if (st == PICTURE_NOMEM)
		errbuf_printf(err, errlen, "out of memory writing a png of %d x %d pixels", pw, ph);
	else
		errbuf_printf(err, errlen, "zlib failed to compress a png of %d x %d pixels", pw, ph);
	return st;
}

/* picture_png's rows: each grid row once, then its copies as Up scanlines. */
typedef struct grid_rows
{
	const picture_grid *g;
	const picture_style *s;
	uint8_t    *line;
	uint8_t    *upline;
} grid_rows;

/*
 * grid_row gives scanline y of the upscaled grid: the grid row itself on
 * the first of its scale scanlines, an all-zero Up scanline on the others.
 */
static const uint8_t *
grid_row(void *ctx, int y)
{
	grid_rows  *gr = ctx;

	if (y % gr->s->scale != 0)
		return gr->upline;
	picture_fill_scanline(gr->g, gr->s, y / gr->s->scale, gr->line);
	return gr->line;
}

/*
 * picture_png writes the PNG (see picture.h).
 */
picture_status
picture_png(const picture_grid *g, const picture_style *s, size_t max_bytes,
			const mlops_allocator *a, uint8_t **png, size_t *png_len,
			char *err, size_t errlen)
{
	grid_rows	gr;
	picture_status st;
	int			pw,
				ph;
	size_t		rowbytes;

	if (png == NULL || png_len == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "the output pointers and the allocator must not be null");
		return PICTURE_BAD_ARGUMENT;
	}
	*png = NULL;
	*png_len = 0;
	if ((st = picture_check_input(g, s, &pw, &ph, err, errlen)) != PICTURE_OK)
		return st;
	if ((st = picture_check_decoded(pw, ph, max_bytes, err, errlen)) != PICTURE_OK)
		return st;
	rowbytes = 1 + 4 * (size_t) pw;
	gr.g = g;
	gr.s = s;
	gr.line = mlops_alloc(a, rowbytes);
	gr.upline = mlops_alloc(a, rowbytes);
	if (gr.line == NULL || gr.upline == NULL)
	{
		mlops_free(a, gr.line);
		mlops_free(a, gr.upline);
		errbuf_printf(err, errlen, "out of memory writing a png of %d x %d pixels", pw, ph);
		return PICTURE_NOMEM;
	}
	memset(gr.upline, 0, rowbytes);
	gr.upline[0] = 2;			/* filter Up: the row above, unchanged */
	st = picture_png_write(pw, ph, grid_row, &gr, max_bytes, a, png, png_len, err, errlen);
	mlops_free(a, gr.line);
	mlops_free(a, gr.upline);
	return st;
}
