/*
 * picture_svg.c
 *	  Kernel: the SVG document around a heatmap's PNG — title, colour bar
 *	  with its ticks, sensors, outline and legend (see picture.h for the
 *	  contract; the PNG is picture.c).
 *
 *	  The SVG is a string built in a buffer bounded by max_bytes, with the
 *	  PNG inline as base64.  Text widths for the layout are estimated from
 *	  the number of characters (0.62 em each, about DejaVu Sans' average),
 *	  which errs on the wide side for Latin text.
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "spatial/picture.h"
#include "spatial/picture_private.h"
#include "util/errbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
	if ((st = picture_check_input(g, s, &pw, &ph, err, errlen)) != PICTURE_OK)
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
		double		t = s->vmin == s->vmax ? 0.5 : picture_value_position(ticks[i], s->vmin, s->vmax);
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
