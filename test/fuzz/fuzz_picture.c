/*
 * fuzz_picture.c — libFuzzer target for the heatmap picture kernel
 * (src/spatial/picture.c, picture_svg.c).
 *
 * The input's first 24 bytes choose the picture: width and height (0 to
 * 40, so 0 is tried), scale (0 to 9, so 0 and a few beyond small sizes),
 * the colour map (including unknown ones), vmin and vmax (raw doubles:
 * NaN, infinities and reversed ranges come up), nodata and whether it is
 * set, a byte limit (from 0 to 2 MiB); then values as raw doubles, then
 * sensors, outline vertices and text (title, units, labels: raw bytes, so
 * invalid UTF-8 and markup characters come up).
 *
 * Besides the sanitizers it checks: every status has a message; a PNG
 * has the signature, chunks with good CRCs, an IHDR of the right size,
 * IDAT that inflates to exactly the scanlines, a pixel transparent
 * exactly where its cell is nodata, and fits the limit; an SVG is
 * NUL-terminated at its length, fits the limit, is valid UTF-8, starts
 * with the XML declaration, ends with </svg>, and every '<' is closed by
 * a '>' before the next '<' (so no text leaked markup).
 */
#include "spatial/picture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_SIDE	40
#define MAX_SENSORS	6
#define MAX_VERTS	12
#define TEXT_LEN	24

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A cursor over the input; reads past its end give zeros. */
typedef struct cursor
{
	const uint8_t *p;
	size_t		left;
} cursor;

static uint8_t
take_u8(cursor *c)
{
	if (c->left == 0)
		return 0;
	c->left--;
	return *c->p++;
}

static double
take_f64(cursor *c)
{
	uint8_t		b[8] = {0};
	double		d;

	for (int i = 0; i < 8; i++)
		b[i] = take_u8(c);
	memcpy(&d, b, 8);
	return d;
}

/*
 * take_text copies up to TEXT_LEN raw bytes (stopping at a NUL) into buf.
 */
static const char *
take_text(cursor *c, char *buf)
{
	int			n = take_u8(c) % (TEXT_LEN + 1);
	int			i;

	for (i = 0; i < n; i++)
	{
		buf[i] = (char) take_u8(c);
		if (buf[i] == '\0')
			break;
	}
	buf[i] = '\0';
	return buf;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/*
 * check_png checks the PNG's structure and its transparent pixels against
 * the grid's nodata cells.
 */
static void
check_png(const uint8_t *png, size_t len, const picture_grid *g, int scale)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	uint32_t	pw = (uint32_t) (g->width * scale),
				ph = (uint32_t) (g->height * scale);
	size_t		stride = 1 + 4 * (size_t) pw;
	size_t		off = 8;
	uint8_t    *idat = NULL;
	size_t		idat_len = 0;
	uint8_t    *raw;
	uLongf		raw_len = (uLongf) (stride * ph);
	bool		ended = false;

	REQUIRE(len > 8 && memcmp(png, sig, 8) == 0);
	while (off < len)
	{
		uint32_t	n;

		REQUIRE(len - off >= 12);
		n = be32(png + off);
		REQUIRE(n <= len - off - 12);
		REQUIRE(crc32(crc32(0L, Z_NULL, 0), png + off + 4, n + 4) == be32(png + off + 8 + n));
		if (off == 8)
		{
			REQUIRE(memcmp(png + off + 4, "IHDR", 4) == 0 && n == 13);
			REQUIRE(be32(png + off + 8) == pw && be32(png + off + 12) == ph);
			REQUIRE(png[off + 16] == 8 && png[off + 17] == 6);
		}
		if (memcmp(png + off + 4, "IDAT", 4) == 0)
		{
			idat = realloc(idat, idat_len + n + 1);
			memcpy(idat + idat_len, png + off + 8, n);
			idat_len += n;
		}
		if (memcmp(png + off + 4, "IEND", 4) == 0)
		{
			REQUIRE(n == 0 && off + 12 == len);
			ended = true;
		}
		off += 12 + n;
	}
	REQUIRE(ended && idat != NULL);
	raw = malloc(raw_len);
	REQUIRE(uncompress(raw, &raw_len, idat, (uLong) idat_len) == Z_OK);
	REQUIRE(raw_len == stride * ph);
	/* the first scanline of each cell row is unfiltered: read its alphas */
	for (int r = 0; r < g->height; r++)
	{
		const uint8_t *line = raw + (size_t) r * scale * stride;

		REQUIRE(line[0] == 0);
		for (int k = 1; k < scale; k++)
			REQUIRE(line[k * stride] == 2);
		for (int c = 0; c < g->width; c++)
		{
			double		v = g->values[(size_t) r * g->width + c];
			bool		nodata = isnan(v) || (g->has_nodata && v == g->nodata);

			for (int k = 0; k < scale; k++)
				REQUIRE(line[1 + 4 * ((size_t) c * scale + k) + 3] == (nodata ? 0 : 255));
		}
	}
	free(raw);
	free(idat);
}

/*
 * utf8_ok says whether s is valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 */
static bool
utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;)
	{
		unsigned char c = s[i];
		int			k;
		uint32_t	cp;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (i + k >= n)
			return false;
		for (int j = 1; j <= k; j++)
		{
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

/*
 * check_svg checks the document's frame, its encoding and its markup.
 */
static void
check_svg(const char *svg, size_t len)
{
	bool		open = false;

	REQUIRE(strlen(svg) == len);
	REQUIRE(utf8_ok((const unsigned char *) svg, len));
	REQUIRE(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
	REQUIRE(len >= 7 && strcmp(svg + len - 7, "</svg>\n") == 0);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) svg[i];

		REQUIRE(c >= 0x20 || c == '\n');
		if (c == '<')
		{
			REQUIRE(!open);
			open = true;
		}
		else if (c == '>')
		{
			REQUIRE(open);
			open = false;
		}
	}
	REQUIRE(!open);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;
	cursor		c = {data, size};
	int			w = take_u8(&c) % (MAX_SIDE + 1);
	int			h = take_u8(&c) % (MAX_SIDE + 1);
	int			scale = take_u8(&c) % 10;
	int			cm = take_u8(&c) % 4;
	double		vmin = take_f64(&c);
	double		vmax = take_f64(&c);
	uint8_t		flags = take_u8(&c);
	size_t		limit = (size_t) take_u8(&c) << 13;	/* 0 to 2 MiB in 8 KiB steps */
	double		nodata = (flags & 1) ? NAN : -9999.0;
	double	   *values;
	picture_sensor sensors[MAX_SENSORS];
	char		labels[MAX_SENSORS][TEXT_LEN + 1];
	double		xy[2 * MAX_VERTS];
	picture_ring ring = {xy, 0};
	char		title[TEXT_LEN + 1],
				subtitle[TEXT_LEN + 1],
				units[TEXT_LEN + 1],
				note[TEXT_LEN + 1];
	picture_svg_options o;
	picture_grid g;
	picture_style s;
	char		err[128];
	uint8_t    *png = NULL;
	size_t		png_len = 0;
	char	   *svg = NULL;
	size_t		svg_len = 0;
	picture_status st;

	if (flags & 2)
		limit = 4 << 20;
	values = malloc(sizeof(double) * (w * h + 1));
	for (int i = 0; i < w * h; i++)
	{
		uint8_t		kind = take_u8(&c);

		/* mostly small values near the range, sometimes raw doubles and nodata */
		if (kind < 16)
			values[i] = take_f64(&c);
		else if (kind < 32)
			values[i] = nodata;
		else
			values[i] = (kind - 32) * 0.5 - 20;
	}
	if (flags & 4)
	{
		vmin = (int8_t) take_u8(&c);
		vmax = vmin + (take_u8(&c) % 64);
	}
	g.values = values;
	g.width = w;
	g.height = h;
	g.has_nodata = (flags & 8) != 0;
	g.nodata = nodata;
	s.colormap = (picture_colormap) cm;
	s.vmin = vmin;
	s.vmax = vmax;
	s.scale = scale;

	memset(&o, 0, sizeof(o));
	o.nsensors = take_u8(&c) % (MAX_SENSORS + 1);
	for (int i = 0; i < o.nsensors; i++)
	{
		uint8_t		k = take_u8(&c);

		sensors[i].col = k < 8 ? take_f64(&c) : (k % 50) - 5 + 0.5;
		sensors[i].row = k < 8 ? take_f64(&c) : (take_u8(&c) % 50) - 5 + 0.25;
		sensors[i].label = (k & 1) ? take_text(&c, labels[i]) : NULL;
	}
	o.sensors = o.nsensors ? sensors : NULL;
	ring.n = take_u8(&c) % (MAX_VERTS + 1);
	for (int i = 0; i < 2 * ring.n; i++)
	{
		uint8_t		k = take_u8(&c);

		xy[i] = k < 4 ? take_f64(&c) : (k % 60) - 10;
	}
	o.rings = &ring;
	o.nrings = ring.n > 0 ? 1 : 0;
	o.title = (flags & 16) ? take_text(&c, title) : NULL;
	o.subtitle = (flags & 32) ? take_text(&c, subtitle) : NULL;
	o.units = (flags & 64) ? take_text(&c, units) : NULL;
	o.nodata_note = (flags & 128) ? take_text(&c, note) : NULL;

	st = picture_png(&g, &s, limit, &a, &png, &png_len, err, sizeof(err));
	REQUIRE(picture_status_message(st) != NULL);
	if (st == PICTURE_OK)
	{
		REQUIRE(png_len <= limit);
		check_png(png, png_len, &g, scale);
	}
	else
		REQUIRE(png == NULL && png_len == 0 && err[0] != '\0');
	free(png);

	st = picture_svg(&g, &s, &o, limit, &a, &svg, &svg_len, err, sizeof(err));
	REQUIRE(picture_status_message(st) != NULL);
	if (st == PICTURE_OK)
	{
		REQUIRE(svg_len < limit);
		check_svg(svg, svg_len);
	}
	else
		REQUIRE(svg == NULL && svg_len == 0 && err[0] != '\0');
	free(svg);

	/* the ticks of any range */
	{
		double		t[PICTURE_MAX_TICKS];
		int			dec;
		int			n = picture_ticks(vmin, vmax, t, &dec);
		char		buf[64];

		REQUIRE(n >= 0 && n <= PICTURE_MAX_TICKS);
		for (int i = 0; i < n; i++)
		{
			REQUIRE(t[i] >= vmin && t[i] <= vmax);
			REQUIRE(i == 0 || t[i] > t[i - 1]);
			picture_format_tick(t[i], dec, buf, sizeof(buf));
		}
	}
	free(values);
	return 0;
}
