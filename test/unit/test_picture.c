/*
 * test_picture.c — unit tests of the heatmap picture kernel
 * (src/spatial/picture.c, picture_svg.c).  The PNG is read back by a
 * decoder (test/unit/png_read.h: chunks, CRC-32 of each, IHDR fields, IDAT
 * inflated with zlib, all five scanline filters) and its pixels compared with the colour maps' control
 * points: vmin, vmax, the middle, clamping, nodata and NaN transparent,
 * infinities, the upscale, a flat map, an image in several IDAT chunks.
 * Then the limits and hostile input, a failing allocator at every
 * allocation, the ticks over a sweep of ranges, and the SVG: well formed
 * (a small checker here, and xmllint when installed), the PNG inside as
 * base64, the tick labels, escaped text, and a render by rsvg-convert
 * when installed (a TAP "# SKIP" line when it is not).
 *
 * With PICTURE_SAMPLE=/path/prefix in the environment, it also writes a
 * sample heatmap to prefix.svg and prefix.png (the PNG alone) to look at.
 */
#define _DEFAULT_SOURCE

#include "spatial/picture.h"
#include "unit.h"
#include "png_read.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#define NODATA	(-9999.0)
#define LIMIT	((size_t) 64 << 20)

static const mlops_allocator mal = MLOPS_MALLOC_ALLOCATOR;

/*
 * make_png runs picture_png with the malloc allocator; the caller frees
 * *out.
 */
static picture_status
make_png(const double *v, int w, int h, picture_colormap cm, double vmin, double vmax, int scale,
		 size_t limit, uint8_t **out, size_t *len, char *err)
{
	picture_grid g = {v, w, h, true, NODATA};
	picture_style s = {cm, vmin, vmax, scale};

	return picture_png(&g, &s, limit, &mal, out, len, err, 256);
}

/*
 * test_colormaps checks the control points, a point between two, names.
 */
static void
test_colormaps(void)
{
	uint8_t		c[3];

	picture_colormap_rgb(PICTURE_VIRIDIS, 0.0, c);
	CHECK(c[0] == 0x44 && c[1] == 0x01 && c[2] == 0x54, "viridis at 0 is #440154");
	picture_colormap_rgb(PICTURE_VIRIDIS, 0.5, c);
	CHECK(c[0] == 0x21 && c[1] == 0x90 && c[2] == 0x8C, "viridis at 0.5 is #21908C");
	picture_colormap_rgb(PICTURE_VIRIDIS, 1.0, c);
	CHECK(c[0] == 0xFD && c[1] == 0xE7 && c[2] == 0x25, "viridis at 1 is #FDE725");
	picture_colormap_rgb(PICTURE_RDYLGN_R, 0.0, c);
	CHECK(c[0] == 0x00 && c[1] == 0x68 && c[2] == 0x37, "rdylgn_r at 0 is green #006837");
	picture_colormap_rgb(PICTURE_RDYLGN_R, 0.5, c);
	CHECK(c[0] == 0xFF && c[1] == 0xFF && c[2] == 0xBF, "rdylgn_r at 0.5 is pale yellow #FFFFBF");
	picture_colormap_rgb(PICTURE_RDYLGN_R, 1.0, c);
	CHECK(c[0] == 0xA5 && c[1] == 0x00 && c[2] == 0x26, "rdylgn_r at 1 is red #A50026");
	/* 0.25 is half way from #66BD63 to #A6D96A: (134, 203, 102.5 rounds to 103) */
	picture_colormap_rgb(PICTURE_RDYLGN_R, 0.25, c);
	CHECK(c[0] == 134 && c[1] == 203 && c[2] == 103, "rdylgn_r at 0.25 interpolates and rounds half up");
	picture_colormap_rgb(PICTURE_RDYLGN_R, NAN, c);
	CHECK(c[0] == 0x00 && c[1] == 0x68, "a NaN position is 0");
	picture_colormap_rgb(PICTURE_RDYLGN_R, 7.0, c);
	CHECK(c[0] == 0xA5 && c[2] == 0x26, "a position above 1 is 1");
	picture_colormap_rgb((picture_colormap) 99, 0.0, c);
	CHECK(c[0] == 0x44, "an unknown map reads as viridis, not out of bounds");

	CHECK_INT(picture_colormap_from_name("viridis"), PICTURE_VIRIDIS, "viridis by name");
	CHECK_INT(picture_colormap_from_name("RdYlGn_R"), PICTURE_RDYLGN_R, "rdylgn_r by name, any case");
	CHECK_INT(picture_colormap_from_name("jet"), -1, "an unknown name is -1");
	CHECK_INT(picture_colormap_from_name("viridisx"), -1, "a longer name is -1");
	CHECK_INT(picture_colormap_from_name(NULL), -1, "a NULL name is -1");
	CHECK_STR(picture_colormap_name(PICTURE_RDYLGN_R), "rdylgn_r", "the map's name");
}

/*
 * test_pixels checks every kind of cell in a 4 x 3 grid, at scale 1.
 */
static void
test_pixels(void)
{
	/* vmin 0, vmax 10 (viridis) */
	const double v[12] = {
		0, 10, 5, 1.25,
		-5, 20, NAN, NODATA,
		INFINITY, -INFINITY, 2.5, 7.5
	};
	uint8_t    *png = NULL;
	size_t		len = 0;
	char		err[256] = "";
	png_read	r;
	picture_status st;

	st = make_png(v, 4, 3, PICTURE_VIRIDIS, 0, 10, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_OK, "a 4 x 3 png is written");
	if (st != PICTURE_OK)
		return;
	CHECK(png_decode(png, len, &r) && r.rgba, "the png reads back (chunks, crcs, inflate, filters)");
	if (!r.rgba)
	{
		printf("#   %s\n", r.why);
		free(png);
		return;
	}
	CHECK_STR(r.types, "IHDR IDAT IEND", "chunks are IHDR, IDAT, IEND");
	CHECK(r.width == 4 && r.height == 3, "IHDR: 4 x 3");
	CHECK(r.depth == 8 && r.ctype == 6, "IHDR: 8 bits, RGBA (colour type 6)");
	CHECK(r.comp == 0 && r.filter == 0 && r.interlace == 0, "IHDR: deflate, filter method 0, no interlace");
	CHECK(hex_px(&r, 0, 0, 0x440154), "vmin is the first control point");
	CHECK(hex_px(&r, 1, 0, 0xFDE725), "vmax is the last control point");
	CHECK(hex_px(&r, 2, 0, 0x21908C), "the middle is the middle control point");
	CHECK(hex_px(&r, 3, 0, 0x472D7B), "1/8 of the range is the second control point");
	CHECK(hex_px(&r, 0, 1, 0x440154), "below vmin clamps to vmin's colour");
	CHECK(hex_px(&r, 1, 1, 0xFDE725), "above vmax clamps to vmax's colour");
	CHECK(px_is(&r, 2, 1, 0, 0, 0, 0), "NaN is fully transparent");
	CHECK(px_is(&r, 3, 1, 0, 0, 0, 0), "nodata is fully transparent");
	CHECK(hex_px(&r, 0, 2, 0xFDE725), "+inf is vmax's colour");
	CHECK(hex_px(&r, 1, 2, 0x440154), "-inf is vmin's colour");
	CHECK(hex_px(&r, 2, 2, 0x3B528B), "1/4 of the range is the third control point");
	CHECK(hex_px(&r, 3, 2, 0x5DC863), "3/4 of the range is the seventh control point");
	free(r.rgba);
	free(png);
}

/*
 * test_upscale checks a 3 x 2 rdylgn_r grid at scale 5: 15 x 10 pixels,
 * each cell a crisp 5 x 5 block.
 */
static void
test_upscale(void)
{
	const double v[6] = {0, 50, 100, NAN, 25, 75};
	uint8_t    *png = NULL;
	size_t		len = 0;
	char		err[256] = "";
	png_read	r;
	bool		blocks = true;

	if (make_png(v, 3, 2, PICTURE_RDYLGN_R, 0, 100, 5, LIMIT, &png, &len, err) != PICTURE_OK ||
		!png_decode(png, len, &r) || !r.rgba)
	{
		CHECK(false, "a 3 x 2 png at scale 5 reads back");
		free(png);
		return;
	}
	CHECK(r.width == 15 && r.height == 10, "scale 5 makes 15 x 10 pixels");
	for (uint32_t y = 0; y < 10; y++)
		for (uint32_t x = 0; x < 15; x++)
		{
			uint8_t		want[4] = {0, 0, 0, 0};
			double		cell = v[(y / 5) * 3 + x / 5];

			if (!isnan(cell))
			{
				picture_colormap_rgb(PICTURE_RDYLGN_R, cell / 100.0, want);
				want[3] = 255;
			}
			if (memcmp(r.rgba + (y * 15 + x) * 4, want, 4) != 0)
				blocks = false;
		}
	CHECK(blocks, "every pixel is its cell's colour (nearest neighbour)");
	CHECK(hex_px(&r, 0, 0, 0x006837) && hex_px(&r, 4, 4, 0x006837), "the low cell is green to its corner");
	CHECK(hex_px(&r, 5, 0, 0xFFFFBF) && hex_px(&r, 9, 4, 0xFFFFBF), "the middle cell is pale yellow");
	CHECK(hex_px(&r, 10, 0, 0xA50026) && hex_px(&r, 14, 4, 0xA50026), "the high cell is red");
	CHECK(px_is(&r, 0, 5, 0, 0, 0, 0) && px_is(&r, 4, 9, 0, 0, 0, 0), "the NaN cell is a transparent block");
	/* 25: half way from #66BD63 to #A6D96A; 75: half way from #FDAE61 to #F46D43 */
	CHECK(px_is(&r, 5, 5, 134, 203, 103, 255) && px_is(&r, 14, 9, 249, 142, 82, 255),
		  "the lower row's cells, between control points");
	free(r.rgba);
	free(png);
}

/*
 * test_flat checks vmin == vmax: below, equal, above.
 */
static void
test_flat(void)
{
	const double v[3] = {1, 3, 5};
	uint8_t    *png = NULL;
	size_t		len = 0;
	char		err[256] = "";
	png_read	r;

	CHECK_INT(make_png(v, 3, 1, PICTURE_RDYLGN_R, 3, 3, 1, LIMIT, &png, &len, err), PICTURE_OK,
			  "vmin == vmax is a flat map, not an error");
	if (!png || !png_decode(png, len, &r) || !r.rgba)
	{
		free(png);
		return;
	}
	CHECK(hex_px(&r, 0, 0, 0x006837), "flat map: below is the low colour");
	CHECK(hex_px(&r, 1, 0, 0xFFFFBF), "flat map: equal is the middle colour");
	CHECK(hex_px(&r, 2, 0, 0xA50026), "flat map: above is the high colour");
	free(r.rgba);
	free(png);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

/*
 * rnd returns a pseudo-random double in [0, 1) (xorshift64*).
 */
static double
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/*
 * test_big checks a 500 x 400 random grid at scale 2 (1000 x 800 pixels):
 * several IDAT chunks, every pixel right, a huge range that overflows
 * vmax - vmin.
 */
static void
test_big(void)
{
	int			w = 500,
				h = 400;
	double	   *v = malloc(sizeof(double) * w * h);
	uint8_t    *png = NULL;
	size_t		len = 0;
	char		err[256] = "";
	png_read	r;
	bool		same = true;

	for (int i = 0; i < w * h; i++)
		v[i] = rnd() < 0.1 ? NAN : rnd() * 120 - 10;
	if (make_png(v, w, h, PICTURE_VIRIDIS, 0, 100, 2, LIMIT, &png, &len, err) != PICTURE_OK ||
		!png_decode(png, len, &r) || !r.rgba)
	{
		CHECK(false, "a 1000 x 800 png reads back");
		free(png);
		free(v);
		return;
	}
	CHECK(r.nidat > 1, "a large png has several IDAT chunks, each with a good crc");
	printf("# %zu bytes in %d IDAT chunks\n", len, r.nidat);
	for (int y = 0; y < 2 * h && same; y++)
		for (int x = 0; x < 2 * w; x++)
		{
			double		cell = v[(y / 2) * w + x / 2];
			uint8_t		want[4] = {0, 0, 0, 0};
			double		t = cell / 100.0;

			if (!isnan(cell))
			{
				picture_colormap_rgb(PICTURE_VIRIDIS, t, want);
				want[3] = 255;
			}
			if (memcmp(r.rgba + ((size_t) y * 2 * w + x) * 4, want, 4) != 0)
			{
				same = false;
				break;
			}
		}
	CHECK(same, "every pixel of 1000 x 800 is its cell's colour");
	free(r.rgba);
	free(png);

	/* a range wider than the largest double */
	v[0] = -1e308;
	v[1] = 0;
	v[2] = 1e308;
	if (make_png(v, 3, 1, PICTURE_VIRIDIS, -1.5e308, 1.5e308, 1, LIMIT, &png, &len, err) == PICTURE_OK &&
		png_decode(png, len, &r) && r.rgba)
	{
		uint8_t		c[3];

		picture_colormap_rgb(PICTURE_VIRIDIS, 1.0 / 6, c);
		CHECK(px_is(&r, 0, 0, c[0], c[1], c[2], 255), "a range of 3e308: -1e308 is at 1/6");
		CHECK(hex_px(&r, 1, 0, 0x21908C), "a range of 3e308: 0 is the middle");
		free(r.rgba);
	}
	else
		CHECK(false, "a range of 3e308 is drawn");
	free(png);
	free(v);
}

/*
 * test_limits checks max_bytes and PICTURE_MAX_DIM: refusals come before
 * the values are read (the grids here are one double long).
 */
static void
test_limits(void)
{
	double		one[1] = {1};
	uint8_t    *png = (uint8_t *) 1;
	size_t		len = 7;
	size_t		exact;
	char		err[256] = "";
	picture_status st;

	st = make_png(one, 60000, 60000, PICTURE_VIRIDIS, 0, 1, 1, (size_t) 1 << 20, &png, &len, err);
	CHECK_INT(st, PICTURE_TOO_LARGE, "60000 x 60000 over a 1 MiB limit is refused before reading");
	CHECK(png == NULL && len == 0, "a refusal leaves no output");
	CHECK(strstr(err, "more than the limit of 1048576 bytes") != NULL, "the message says the limit");
	printf("#   %s\n", err);
	st = make_png(one, 70000, 1, PICTURE_VIRIDIS, 0, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_TOO_LARGE, "a width over 65535 pixels is refused");
	st = make_png(one, 2000, 1, PICTURE_VIRIDIS, 0, 1, 64, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_TOO_LARGE, "2000 columns at scale 64 is wider than 65535 pixels");
	st = make_png(one, INT32_MAX, INT32_MAX, PICTURE_VIRIDIS, 0, 1, 64, SIZE_MAX, &png, &len, err);
	CHECK_INT(st, PICTURE_TOO_LARGE, "INT_MAX x INT_MAX at scale 64 does not overflow");

	/* the PNG file's own bound: exactly its length passes, one byte less fails */
	st = make_png(one, 1, 1, PICTURE_VIRIDIS, 0, 1, 1, LIMIT, &png, &len, err);
	exact = len;
	free(png);
	CHECK(st == PICTURE_OK && exact > 40, "a 1 x 1 png");
	st = make_png(one, 1, 1, PICTURE_VIRIDIS, 0, 1, 1, exact, &png, &len, err);
	CHECK(st == PICTURE_OK && len == exact, "a limit of exactly the png's length passes");
	free(png);
	st = make_png(one, 1, 1, PICTURE_VIRIDIS, 0, 1, 1, exact - 1, &png, &len, err);
	CHECK_INT(st, PICTURE_TOO_LARGE, "a limit one byte short of the png is refused");
	CHECK(strstr(err, "would exceed the limit") != NULL, "with a message");
	st = make_png(one, 1, 1, PICTURE_VIRIDIS, 0, 1, 1, 0, &png, &len, err);
	CHECK_INT(st, PICTURE_TOO_LARGE, "a limit of 0 is refused");
}

/*
 * test_hostile checks refusals of bad arguments, and that err may be NULL.
 */
static void
test_hostile(void)
{
	double		v[4] = {1, 2, 3, 4};
	picture_grid g = {v, 2, 2, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 4, 1};
	uint8_t    *png = NULL;
	size_t		len = 0;
	char		err[256] = "";
	char		tiny[8];
	picture_status st;

	st = make_png(v, 0, 2, PICTURE_VIRIDIS, 0, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "width 0 is refused");
	CHECK_STR(err, "the grid must have at least one column and one row, not 0 x 2", "with a message");
	st = make_png(v, 2, -3, PICTURE_VIRIDIS, 0, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "a negative height is refused");
	st = make_png(NULL, 2, 2, PICTURE_VIRIDIS, 0, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "NULL values are refused");
	st = make_png(v, 2, 2, PICTURE_VIRIDIS, NAN, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_RANGE, "a NaN vmin is refused");
	CHECK_STR(err, "the value range must be finite, not [nan, 1]", "with a message");
	st = make_png(v, 2, 2, PICTURE_VIRIDIS, 0, INFINITY, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_RANGE, "an infinite vmax is refused");
	st = make_png(v, 2, 2, PICTURE_VIRIDIS, 5, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_RANGE, "vmin > vmax is refused");
	CHECK_STR(err, "the range's minimum 5 is greater than its maximum 1", "with a message");
	st = make_png(v, 2, 2, PICTURE_VIRIDIS, 0, 1, 0, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "scale 0 is refused");
	st = make_png(v, 2, 2, PICTURE_VIRIDIS, 0, 1, PICTURE_MAX_SCALE + 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "a scale above the largest is refused");
	st = make_png(v, 2, 2, (picture_colormap) 7, 0, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "an unknown map is refused");
	CHECK(strstr(err, "viridis, rdylgn_r") != NULL, "the message lists the maps");
	st = make_png(v, 2, 2, (picture_colormap) -1, 0, 1, 1, LIMIT, &png, &len, err);
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "a negative map is refused");
	CHECK_INT(picture_png(NULL, &s, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a NULL grid is refused");
	CHECK_INT(picture_png(&g, NULL, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a NULL style is refused");
	CHECK_INT(picture_png(&g, &s, LIMIT, NULL, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a NULL allocator is refused");
	CHECK_INT(picture_png(&g, &s, LIMIT, &mal, NULL, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a NULL output is refused");
	CHECK_INT(picture_png(&g, &s, LIMIT, &mal, &png, NULL, NULL, 0), PICTURE_BAD_ARGUMENT,
			  "a NULL length is refused, with no message buffer");
	s.vmin = NAN;
	CHECK_INT(picture_png(&g, &s, LIMIT, &mal, &png, &len, NULL, 0), PICTURE_BAD_RANGE,
			  "a NULL message buffer is allowed");
	CHECK_INT(picture_png(&g, &s, LIMIT, &mal, &png, &len, tiny, sizeof(tiny)), PICTURE_BAD_RANGE,
			  "a short message buffer is allowed");
	CHECK(strlen(tiny) == sizeof(tiny) - 1, "and the message is cut and terminated");
	CHECK_STR(picture_status_message(PICTURE_TOO_LARGE), "picture too large", "status phrases");
	CHECK_STR(picture_status_message((picture_status) 42), "unknown error", "an unknown status");

	CHECK_INT(picture_default_scale(209, 189), 3, "default scale of 209 x 189 is 3 (627 x 567)");
	CHECK_INT(picture_default_scale(600, 10), 1, "default scale of a 600-wide grid is 1");
	CHECK_INT(picture_default_scale(7, 5), PICTURE_MAX_SCALE, "default scale of 7 x 5 is the largest");
	CHECK_INT(picture_default_scale(5000, 10), 1, "default scale of a large grid is 1");
	CHECK_INT(picture_default_scale(0, 10), 1, "default scale of an empty grid is 1");
	CHECK_INT(picture_default_scale(1100, 1), 1, "default scale stays within the largest side");
}

/* An allocator that fails from its (fail_at)th call on. */
static int	alloc_calls;
static int	fail_at;

static void *
failing_alloc(void *ctx, size_t n)
{
	(void) ctx;
	return alloc_calls++ >= fail_at ? NULL : malloc(n);
}

static void *
failing_realloc(void *ctx, void *p, size_t n)
{
	(void) ctx;
	return alloc_calls++ >= fail_at ? NULL : realloc(p, n);
}

static void
failing_free(void *ctx, void *p)
{
	(void) ctx;
	free(p);
}

/*
 * test_nomem fails every allocation in turn: each gives PICTURE_NOMEM
 * with nothing leaked (LeakSanitizer checks at exit), until one run
 * succeeds.
 */
static void
test_nomem(void)
{
	static const mlops_allocator fa = {failing_alloc, failing_realloc, failing_free, NULL};
	double		v[6] = {1, 2, NAN, 4, 5, 6};
	picture_grid g = {v, 3, 2, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 6, 40};
	picture_sensor sens[1] = {{1.5, 1.0, "a"}};
	picture_svg_options o = {"t", NULL, "u", NULL, sens, 1, NULL, 0, NULL, NULL};
	bool		all_nomem = true;
	int			png_ok_at = -1,
				svg_ok_at = -1;

	for (fail_at = 0; fail_at < 100 && png_ok_at < 0; fail_at++)
	{
		uint8_t    *png = NULL;
		size_t		len = 0;
		picture_status st;

		alloc_calls = 0;
		st = picture_png(&g, &s, LIMIT, &fa, &png, &len, NULL, 0);
		if (st == PICTURE_OK)
			png_ok_at = fail_at;
		else if (st != PICTURE_NOMEM || png != NULL)
			all_nomem = false;
		free(png);
	}
	for (fail_at = 0; fail_at < 100 && svg_ok_at < 0; fail_at++)
	{
		char	   *svg = NULL;
		size_t		len = 0;
		picture_status st;

		alloc_calls = 0;
		st = picture_svg(&g, &s, &o, LIMIT, &fa, &svg, &len, NULL, 0);
		if (st == PICTURE_OK)
			svg_ok_at = fail_at;
		else if (st != PICTURE_NOMEM || svg != NULL)
			all_nomem = false;
		free(svg);
	}
	CHECK(png_ok_at > 2 && svg_ok_at > png_ok_at, "each failed allocation gives out of memory, then success");
	CHECK(all_nomem, "every failure is PICTURE_NOMEM with no output (and no leak)");
	printf("# png needs %d allocations, svg %d\n", png_ok_at, svg_ok_at);
}

/*
 * test_ticks checks ticks of known ranges and a sweep of random ones: 4 to
 * 6 ascending ticks inside the range with distinct labels.
 */
static void
test_ticks(void)
{
	double		t[PICTURE_MAX_TICKS];
	int			dec;
	int			n;
	char		buf[64];
	bool		good = true;
	char		worst[200] = "";

	n = picture_ticks(0, 100, t, &dec);
	CHECK(n == 5 && t[0] == 0 && t[1] == 25 && t[4] == 100 && dec == 0, "ticks of [0, 100]: 0 25 50 75 100");
	n = picture_ticks(0, 1, t, &dec);
	CHECK(n == 5 && t[1] == 0.25 && dec == 2, "ticks of [0, 1]: 0.00 0.25 ... 1.00");
	CHECK_STR(picture_format_tick(t[1], dec, buf, sizeof(buf)), "0.25", "label 0.25");
	n = picture_ticks(12.3, 57.9, t, &dec);
	CHECK(n == 4 && t[0] == 20 && t[3] == 50 && dec == 0, "ticks of [12.3, 57.9]: 20 30 40 50");
	n = picture_ticks(0.1, 0.4, t, &dec);
	CHECK(n == 4 && t[2] == 0.3 && dec == 1, "ticks of [0.1, 0.4] include 0.3 exactly");
	n = picture_ticks(-7, 3, t, &dec);
	CHECK(n >= 4 && n <= 6 && t[0] >= -7 && t[n - 1] <= 3, "ticks of [-7, 3]");
	n = picture_ticks(5, 5, t, &dec);
	CHECK(n == 1 && t[0] == 5, "a flat range has one tick");
	CHECK_INT(picture_ticks(NAN, 5, t, &dec), 0, "a NaN range has no ticks");
	CHECK_INT(picture_ticks(6, 5, t, &dec), 0, "a reversed range has no ticks");
	n = picture_ticks(-1.5e308, 1.5e308, t, &dec);
	CHECK(n == 5 && t[0] == -1.5e308 && t[4] == 1.5e308 && t[2] == 0 && dec == -6,
		  "a range wider than a double: five equal parts");
	CHECK_STR(picture_format_tick(-0.0001, 2, buf, sizeof(buf)), "0.00", "no minus sign on a zero label");
	CHECK_STR(picture_format_tick(-0.25, 2, buf, sizeof(buf)), "-0.25", "a negative label");
	CHECK_STR(picture_format_tick(1.5e20, -6, buf, sizeof(buf)), "1.5e+20", "%.6g labels");
	n = picture_ticks(1e15, 1e15 + 40, t, &dec);
	CHECK(n == 5 && dec < -6 && strcmp(picture_format_tick(t[1], dec, buf, sizeof(buf)), "1.00000000000001e+15") == 0,
		  "ticks of [1e15, 1e15 + 40] get enough digits to differ");

	for (int i = 0; i < 20000 && good; i++)
	{
		double		mag = pow(10.0, rnd() * 24 - 12);
		double		a = (rnd() * 2 - 1) * mag * (rnd() < 0.3 ? 1000 : 1);
		double		b = a + mag * (0.01 + rnd() * 10);

		if (i % 7 == 0)
			b = a + 1e-14 * fabs(a);	/* a nearly flat range */
		if (!(b > a))
			continue;
		n = picture_ticks(a, b, t, &dec);
		if (n < 4 || n > 6)
			good = false;
		for (int k = 0; k < n && good; k++)
		{
			char		l1[64],
						l2[64];
			double		slack = (b - a) * 1e-6;

			if (t[k] < a - slack || t[k] > b + slack || (k > 0 && !(t[k] > t[k - 1])))
				good = false;
			if (k > 0 &&
				strcmp(picture_format_tick(t[k], dec, l1, 64), picture_format_tick(t[k - 1], dec, l2, 64)) == 0)
				good = false;
		}
		if (!good)
			snprintf(worst, sizeof(worst), "[%.17g, %.17g] gave %d ticks, decimals %d", a, b, n, dec);
	}
	CHECK(good, "20000 random ranges: 4 to 6 ascending ticks inside, distinct labels");
	if (!good)
		printf("#   %s\n", worst);
}

/*
 * b64 encodes data (RFC 4648) into a malloc'd string.
 */
static char *
b64(const uint8_t *d, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	   *out = malloc((n + 2) / 3 * 4 + 1);
	size_t		o = 0;

	for (size_t i = 0; i < n; i += 3)
	{
		uint32_t	v = (uint32_t) d[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t) d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = i + 1 < n ? al[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? al[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/*
 * utf8_valid says whether s is well-formed UTF-8 (RFC 3629).
 */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
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
 * xml_check is a tiny well-formedness checker for what picture_svg
 * writes: an XML declaration, then elements whose start and end tags
 * balance, attributes quoted with ", text without < and with & only in
 * the five entities, valid UTF-8 and no control characters but newlines.
 * Writes why to why on failure.
 */
static bool
xml_check(const char *s, char *why, size_t whylen)
{
	char		stack[64][32];
	int			depth = 0;
	int			roots = 0;
	const char *p = s;

	if (!utf8_valid((const unsigned char *) s, strlen(s)))
	{
		snprintf(why, whylen, "not valid UTF-8");
		return false;
	}
	if (strncmp(p, "<?xml ", 6) != 0 || (p = strstr(p, "?>")) == NULL)
	{
		snprintf(why, whylen, "no XML declaration");
		return false;
	}
	p += 2;
	while (*p)
	{
		if ((unsigned char) *p < 0x20 && *p != '\n')
		{
			snprintf(why, whylen, "control character at %zu", (size_t) (p - s));
			return false;
		}
		if (*p == '&')
		{
			static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
			bool		ok = false;

			for (int i = 0; i < 5; i++)
				if (strncmp(p, ents[i], strlen(ents[i])) == 0)
					ok = true;
			if (!ok)
			{
				snprintf(why, whylen, "bare & at %zu", (size_t) (p - s));
				return false;
			}
			p++;
			continue;
		}
		if (*p == '>')
		{
			snprintf(why, whylen, "bare > at %zu", (size_t) (p - s));
			return false;
		}
		if (*p != '<')
		{
			if (depth == 0 && *p != '\n' && *p != ' ')
			{
				snprintf(why, whylen, "text outside the root at %zu", (size_t) (p - s));
				return false;
			}
			p++;
			continue;
		}
		/* a tag */
		p++;
		if (*p == '/')
		{
			size_t		n = 0;

			p++;
			while (p[n] && p[n] != '>')
				n++;
			if (depth == 0 || p[n] != '>' || n != strlen(stack[depth - 1]) ||
				strncmp(p, stack[depth - 1], n) != 0)
			{
				snprintf(why, whylen, "end tag at %zu does not match <%s>", (size_t) (p - s),
						 depth ? stack[depth - 1] : "");
				return false;
			}
			depth--;
			p += n + 1;
			continue;
		}
		{
			char		name[32];
			size_t		n = 0;

			while (*p && (isalnum((unsigned char) *p) || *p == ':' || *p == '_' || *p == '-') && n < 31)
				name[n++] = *p++;
			name[n] = '\0';
			if (n == 0)
			{
				snprintf(why, whylen, "a tag without a name at %zu", (size_t) (p - s));
				return false;
			}
			if (depth == 0 && roots++ > 0)
			{
				snprintf(why, whylen, "a second root element <%s>", name);
				return false;
			}
			/* attributes: name="value" */
			for (;;)
			{
				while (*p == ' ' || *p == '\n')
					p++;
				if (*p == '>' || (p[0] == '/' && p[1] == '>'))
					break;
				while (*p && (isalnum((unsigned char) *p) || *p == ':' || *p == '-' || *p == '_'))
					p++;
				if (p[0] != '=' || p[1] != '"')
				{
					snprintf(why, whylen, "an unquoted attribute in <%s> at %zu", name, (size_t) (p - s));
					return false;
				}
				p += 2;
				while (*p && *p != '"')
				{
					if (*p == '<' || ((unsigned char) *p < 0x20))
					{
						snprintf(why, whylen, "a bad character in an attribute of <%s>", name);
						return false;
					}
					if (*p == '&' && strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) &&
						strncmp(p, "&gt;", 4) && strncmp(p, "&quot;", 6) && strncmp(p, "&apos;", 6))
					{
						snprintf(why, whylen, "a bare & in an attribute of <%s>", name);
						return false;
					}
					p++;
				}
				if (*p != '"')
				{
					snprintf(why, whylen, "an attribute of <%s> does not end", name);
					return false;
				}
				p++;
			}
			if (*p == '/')
				p += 2;
			else
			{
				p++;
				if (depth == 64)
				{
					snprintf(why, whylen, "too deep");
					return false;
				}
				strcpy(stack[depth++], name);
			}
		}
	}
	if (depth != 0 || roots != 1)
	{
		snprintf(why, whylen, "%d elements left open", depth);
		return false;
	}
	return true;
}

/*
 * count_of counts the occurrences of needle in s.
 */
static int
count_of(const char *s, const char *needle)
{
	int			n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/*
 * write_file writes n bytes to path; false on failure.
 */
static bool
write_file(const char *path, const void *d, size_t n)
{
	FILE	   *f = fopen(path, "wb");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fwrite(d, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

/*
 * read_file reads a whole file into a malloc'd buffer.
 */
static uint8_t *
read_file(const char *path, size_t *n)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *d = NULL;
	size_t		cap = 0;

	*n = 0;
	if (f == NULL)
		return NULL;
	for (;;)
	{
		size_t		got;

		if (*n == cap)
			d = realloc(d, cap = cap ? cap * 2 : 65536);
		got = fread(d + *n, 1, cap - *n, f);
		if (got == 0)
			break;
		*n += got;
	}
	fclose(f);
	return d;
}

/*
 * attr_num reads the number in attribute name="..." of the first element
 * that starts with elem.
 */
static double
attr_num(const char *svg, const char *elem, const char *name)
{
	const char *e = strstr(svg, elem);
	char		key[64];
	const char *a;

	if (e == NULL)
		return NAN;
	snprintf(key, sizeof(key), " %s=\"", name);
	a = strstr(e, key);
	return a ? strtod(a + strlen(key), NULL) : NAN;
}

/*
 * skip prints a TAP test that was skipped, and why.
 */
static void
skip(const char *what, const char *why)
{
	unit_count++;
	printf("ok %d - %s # SKIP %s\n", unit_count, what, why);
}

/*
 * test_svg draws a small map with every part and hostile text, and checks
 * the document; then renders it with rsvg-convert when it is installed.
 */
static void
test_svg(void)
{
	enum
	{
		W = 20, H = 15, SCALE = 30
	};
	double		v[W * H];
	picture_grid g = {v, W, H, true, NODATA};
	picture_style s = {PICTURE_RDYLGN_R, 0, 100, SCALE};
	const double ring1[] = {1, 1, 19, 1, 19, 14, 1, 14};
	const double ring2[] = {8, 6, 12, 6, 12, 9};
	picture_ring rings[2] = {{ring1, 4}, {ring2, 3}};
	picture_sensor sens[3] = {{2.5, 2.5, "north <b>&</b> \"gate\""}, {15.5, 11.5, NULL}, {10, 7.5, "Zürich 'HB'"}};
	picture_svg_options o = {
		"Air <quality> & \"PM2.5\" — Zürich's",
		"bad bytes \xff\xfe and a control \x01 here",
		"µg/m³ <&>",
		NULL, sens, 3, rings, 2, NULL, NULL
	};
	char	   *svg = NULL;
	size_t		len = 0;
	uint8_t    *png = NULL;
	size_t		png_len = 0;
	char		err[256] = "";
	char		why[200] = "";
	char	   *enc;
	picture_status st;

	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++)
			v[r * W + c] = (r < 2 && c < 3) ? NODATA : (c + r) * 100.0 / (W + H - 2);
	st = picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err));
	CHECK_INT(st, PICTURE_OK, "an svg with title, units, sensors and outline is written");
	if (st != PICTURE_OK)
	{
		printf("#   %s\n", err);
		return;
	}
	CHECK(strlen(svg) == len, "its length is its strlen");
	CHECK(strstr(svg, ">sensor</text>") != NULL && strstr(svg, ">area outline</text>") != NULL,
		  "the legend names sensors and the area outline by default");
	{
		picture_svg_options o2 = o;
		char	   *svg2 = NULL;
		size_t		len2 = 0;

		o2.points_label = "site <merged>";
		o2.outline_label = "contour";
		CHECK_INT(picture_svg(&g, &s, &o2, LIMIT, &mal, &svg2, &len2, err, sizeof(err)), PICTURE_OK,
				  "an svg with other legend words is written");
		CHECK(svg2 && strstr(svg2, ">site &lt;merged&gt;</text>") != NULL && strstr(svg2, ">contour</text>") != NULL &&
			  strstr(svg2, ">sensor</text>") == NULL, "its legend uses them, escaped");
		free(svg2);
	}
	CHECK(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0, "it starts as an svg");
	CHECK(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0, "it ends with </svg>");
	if (!CHECK(xml_check(svg, why, sizeof(why)), "it is well formed (tags balance, text escaped, UTF-8)"))
		printf("#   %s\n", why);
	if (access("/usr/bin/xmllint", X_OK) == 0)
	{
		char		path[] = "/tmp/test_picture_XXXXXX";
		int			fd = mkstemp(path);
		char		cmd[300];

		if (fd >= 0)
			close(fd);
		snprintf(cmd, sizeof(cmd), "/usr/bin/xmllint --noout %s", path);
		CHECK(fd >= 0 && write_file(path, svg, len) && system(cmd) == 0, "xmllint --noout accepts it");
		unlink(path);
	}
	else
		skip("xmllint --noout accepts it", "/usr/bin/xmllint is not installed (libxml2-utils)");

	picture_png(&g, &s, LIMIT, &mal, &png, &png_len, err, sizeof(err));
	enc = b64(png, png_len);
	{
		char	   *uri = malloc(strlen(enc) + 64);

		sprintf(uri, "xlink:href=\"data:image/png;base64,%s\"", enc);
		CHECK(png_len > 0 && strstr(svg, uri) != NULL, "it holds the png as a base64 data uri");
		free(uri);
	}
	free(enc);
	free(png);

	CHECK(strstr(svg, "<title>Air &lt;quality&gt; &amp; &quot;PM2.5&quot; — Zürich&apos;s</title>") != NULL,
		  "the title is escaped, its UTF-8 kept");
	CHECK(strstr(svg, ">Air &lt;quality&gt; &amp; &quot;PM2.5&quot; — Zürich&apos;s</text>") != NULL,
		  "the title is drawn");
	CHECK(strstr(svg, "<quality>") == NULL && strstr(svg, "<b>") == NULL, "no raw markup from the text");
	CHECK(strstr(svg, ">µg/m³ &lt;&amp;&gt;</text>") != NULL, "the units are escaped");
	CHECK(strstr(svg, ">bad bytes \xEF\xBF\xBD\xEF\xBF\xBD and a control \xEF\xBF\xBD here</text>") != NULL,
		  "invalid UTF-8 and control characters become U+FFFD");
	CHECK(count_of(svg, ">north &lt;b&gt;&amp;&lt;/b&gt; &quot;gate&quot;</text>") == 2,
		  "a sensor's label is escaped (drawn twice: halo and ink)");
	CHECK(count_of(svg, ">Zürich &apos;HB&apos;</text>") == 2, "a UTF-8 label");
	CHECK_INT(count_of(svg, "<circle "), 4, "three sensors and the legend's circle");
	CHECK(strstr(svg, "<circle cx=\"489.00\" cy=\"") != NULL, "a sensor at column 15.5 is at x = 24 + 15.5 * 30");
	{
		const char *for_labels[] = {">0</text>", ">25</text>", ">50</text>", ">75</text>", ">100</text>"};
		bool		all = true;

		for (int i = 0; i < 5; i++)
			if (strstr(svg, for_labels[i]) == NULL)
				all = false;
		CHECK(all, "the tick labels 0 25 50 75 100");
	}
	CHECK_INT(count_of(svg, "<line "), 5 + 1, "five tick marks and the legend's outline line");
	CHECK(strstr(svg, "<path d=\"M54.00 ") != NULL && count_of(svg, " Z ") == 4,
		  "the outline: two rings, each closed, drawn twice (casing and ink)");
	CHECK(strstr(svg, "fill-rule=\"evenodd\"") != NULL, "holes show as holes");
	CHECK(strstr(svg, ">no estimate (beyond the fade distance)</text>") != NULL,
		  "the legend says transparent cells have no estimate");
	CHECK(strstr(svg, ">sensor</text>") && strstr(svg, ">area outline</text>"), "the legend names sensors and outline");
	CHECK(strstr(svg, "stop-color=\"#006837\"") && strstr(svg, "stop-color=\"#a50026\""),
		  "the colour bar's gradient has the map's control points");
	CHECK(attr_num(svg, "<image ", "width") == W * SCALE && attr_num(svg, "<image ", "height") == H * SCALE,
		  "the image is drawn at its pixel size (600 x 450)");
	CHECK(attr_num(svg, "<svg ", "width") >= W * SCALE + 100, "the document is wider than the image, with the bar");

	/* render it */
	if (access("/usr/bin/rsvg-convert", X_OK) == 0)
	{
		char		in[] = "/tmp/test_picture_XXXXXX";
		char		out[64];
		char		cmd[300];
		int			fd = mkstemp(in);
		uint8_t    *img;
		size_t		img_len;
		png_read	r;
		double		sw = attr_num(svg, "<svg ", "width");
		double		sh = attr_num(svg, "<svg ", "height");
		double		ix = attr_num(svg, "<image ", "x");
		double		iy = attr_num(svg, "<image ", "y");

		if (fd >= 0)
			close(fd);
		snprintf(out, sizeof(out), "%s.png", in);
		snprintf(cmd, sizeof(cmd), "/usr/bin/rsvg-convert -o %s %s", out, in);
		CHECK(fd >= 0 && write_file(in, svg, len) && system(cmd) == 0, "rsvg-convert renders it");
		img = read_file(out, &img_len);
		CHECK(img && png_decode(img, img_len, &r), "rsvg-convert's png exists and reads back");
		CHECK(img && r.width == (uint32_t) sw && r.height == (uint32_t) sh,
			  "rsvg-convert's png has the svg's size");
		if (img && r.rgba)
		{
			uint8_t		c[3];
			int			col = 12,
						row = 10;
			uint32_t	x = (uint32_t) (ix + (col + 0.5) * SCALE);
			uint32_t	y = (uint32_t) (iy + (row + 0.5) * SCALE);

			picture_colormap_rgb(PICTURE_RDYLGN_R, (col + row) / (double) (W + H - 2), c);
			CHECK(px_is(&r, x, y, c[0], c[1], c[2], 255), "a cell's centre in the render has the cell's colour");
			x = (uint32_t) (ix + 0.5 * SCALE);
			y = (uint32_t) (iy + 0.5 * SCALE);
			CHECK(r.rgba[((size_t) y * r.width + x) * 4 + 3] == 255 &&
				  r.rgba[((size_t) y * r.width + x) * 4] >= 190 &&
				  r.rgba[((size_t) y * r.width + x) * 4 + 1] >= 190,
				  "a nodata cell in the render shows the light hatching");
			free(r.rgba);
		}
		else
		{
			skip("a cell's centre in the render has the cell's colour", "rsvg-convert wrote no 8-bit RGB or RGBA png");
			skip("a nodata cell in the render shows the light hatching", "rsvg-convert wrote no 8-bit RGB or RGBA png");
		}
		free(img);
		unlink(in);
		unlink(out);
	}
	else
	{
		const char *why_skip = "/usr/bin/rsvg-convert is not installed (librsvg2-bin)";

		skip("rsvg-convert renders it", why_skip);
		skip("rsvg-convert's png exists and reads back", why_skip);
		skip("rsvg-convert's png has the svg's size", why_skip);
		skip("a cell's centre in the render has the cell's colour", why_skip);
		skip("a nodata cell in the render shows the light hatching", why_skip);
	}
	free(svg);
}

/*
 * test_svg_hostile checks the refusals of bad sensors and rings, the size
 * limit, a NULL options pointer and a flat map.
 */
static void
test_svg_hostile(void)
{
	double		v[4] = {1, 2, 3, 4};
	picture_grid g = {v, 2, 2, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 4, 10};
	picture_sensor bad[1] = {{NAN, 1, NULL}};
	picture_sensor far[1] = {{1e8, 1, NULL}};
	const double xy[4] = {0, 0, INFINITY, 1};
	picture_ring badring[1] = {{xy, 2}};
	picture_ring nullring[1] = {{NULL, 3}};
	picture_svg_options o;
	char	   *svg = (char *) 1;
	size_t		len = 9;
	char		err[256] = "";
	char		why[200] = "";
	picture_status st;

	memset(&o, 0, sizeof(o));
	o.sensors = bad;
	o.nsensors = 1;
	st = picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err));
	CHECK_INT(st, PICTURE_BAD_ARGUMENT, "a NaN sensor is refused");
	CHECK(svg == NULL && len == 0, "a refusal leaves no output");
	CHECK_STR(err, "sensor 1 has a coordinate that is not finite or beyond 1e+07 cells", "with a message");
	o.sensors = far;
	CHECK_INT(picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a sensor 1e8 cells away is refused");
	o.sensors = NULL;
	CHECK_INT(picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "NULL sensors with a count are refused");
	o.nsensors = -1;
	CHECK_INT(picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a negative sensor count is refused");
	o.nsensors = 0;
	o.rings = badring;
	o.nrings = 1;
	CHECK_INT(picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "an infinite outline vertex is refused");
	o.rings = nullring;
	CHECK_INT(picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a ring without vertices but a count is refused");
	o.rings = NULL;
	CHECK_INT(picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "NULL rings with a count are refused");
	CHECK_INT(picture_svg(&g, &s, NULL, LIMIT, &mal, NULL, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a NULL output is refused");
	s.vmin = 9;
	CHECK_INT(picture_svg(&g, &s, NULL, LIMIT, &mal, &svg, &len, err, sizeof(err)), PICTURE_BAD_RANGE,
			  "a reversed range is refused");
	s.vmin = 0;

	st = picture_svg(&g, &s, NULL, 1500, &mal, &svg, &len, err, sizeof(err));
	CHECK_INT(st, PICTURE_TOO_LARGE, "a 1500-byte limit is too small for the document");
	if (st == PICTURE_OK)
		free(svg);
	CHECK(strstr(err, "the svg") != NULL, "the message names the svg");
	printf("#   %s\n", err);
	st = picture_svg(&g, &s, NULL, 200, &mal, &svg, &len, err, sizeof(err));
	CHECK_INT(st, PICTURE_TOO_LARGE, "a 200-byte limit is too small for its png");
	CHECK(strstr(err, "the svg") != NULL, "that message names the svg too");

	st = picture_svg(&g, &s, NULL, LIMIT, &mal, &svg, &len, err, sizeof(err));
	CHECK_INT(st, PICTURE_OK, "NULL options: a bare picture with its colour bar");
	if (st == PICTURE_OK)
	{
		CHECK(xml_check(svg, why, sizeof(why)), "and it is well formed");
		CHECK(strstr(svg, "<title>") == NULL && strstr(svg, "<circle") == NULL, "no title, no sensors");
		free(svg);
	}
	s.vmin = s.vmax = 2;
	st = picture_svg(&g, &s, NULL, LIMIT, &mal, &svg, &len, err, sizeof(err));
	CHECK_INT(st, PICTURE_OK, "a flat map's svg");
	if (st == PICTURE_OK)
	{
		CHECK(count_of(svg, "<line ") == 1 && strstr(svg, ">2</text>") != NULL, "a flat map's bar has one tick");
		CHECK(strstr(svg, "fill=\"#21908c\"") != NULL, "and the map's middle colour");
		free(svg);
	}
}

/*
 * write_sample writes a heatmap like the demo's (209 x 189 cells, eight
 * sensors, inverse distance weighting, cells farther than the fade
 * distance from every sensor left nodata, an irregular outline with a
 * lake) to prefix.svg and prefix.png.
 */
static void
write_sample(const char *prefix)
{
	enum
	{
		W = 209, H = 189
	};
	static const struct
	{
		double		col,
					row,
					value;
		const char *label;
	}			sensors[8] = {
		{30, 40, 8.5, "Altstetten"}, {70, 25, 14.0, "Wipkingen"}, {120, 60, 31.5, "Stampfenbach"},
		{160, 35, 22.0, "Oerlikon"}, {95, 110, 41.0, "Rosengarten"}, {50, 140, 12.5, "Wiedikon"},
		{150, 130, 27.0, "Hottingen"}, {180, 165, 6.0, "Tiefenbrunnen"}
	};
	static const double outline[] = {
		12, 30, 40, 12, 95, 8, 150, 14, 196, 28, 202, 80, 196, 150, 185, 180, 120, 178, 70, 170,
		25, 160, 8, 110, 14, 60
	};
	static const double lake[] = {120, 150, 150, 145, 170, 170, 135, 176};
	double	   *v = malloc(sizeof(double) * W * H);
	picture_sensor ps[8];
	picture_ring rings[2] = {{outline, 13}, {lake, 4}};
	picture_svg_options o = {
		"PM2.5 — Zürich, 2024-05-01 08:00",
		"inverse distance weighting (power 2) from 8 sensors; fade distance 45 cells",
		"PM2.5 µg/m³", NULL, ps, 8, rings, 2, NULL, NULL
	};
	picture_grid g = {v, W, H, true, NODATA};
	picture_style s = {PICTURE_RDYLGN_R, 0, 50, picture_default_scale(W, H)};
	char	   *svg = NULL;
	size_t		len = 0;
	uint8_t    *png = NULL;
	size_t		png_len = 0;
	char		path[512];
	char		err[256];

	for (int i = 0; i < 8; i++)
	{
		ps[i].col = sensors[i].col + 0.5;
		ps[i].row = sensors[i].row + 0.5;
		ps[i].label = sensors[i].label;
	}
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++)
		{
			double		num = 0,
						den = 0,
						nearest = INFINITY;

			for (int i = 0; i < 8; i++)
			{
				double		d2 = (c - sensors[i].col) * (c - sensors[i].col) +
					(r - sensors[i].row) * (r - sensors[i].row);

				nearest = fmin(nearest, sqrt(d2));
				if (d2 == 0)
				{
					num = sensors[i].value;
					den = 1;
					break;
				}
				num += sensors[i].value / d2;
				den += 1 / d2;
			}
			v[r * W + c] = nearest > 45 ? NODATA : num / den;
		}
	if (picture_svg(&g, &s, &o, LIMIT, &mal, &svg, &len, err, sizeof(err)) == PICTURE_OK &&
		picture_png(&g, &s, LIMIT, &mal, &png, &png_len, err, sizeof(err)) == PICTURE_OK)
	{
		snprintf(path, sizeof(path), "%s.svg", prefix);
		write_file(path, svg, len);
		snprintf(path, sizeof(path), "%s.png", prefix);
		write_file(path, png, png_len);
		printf("# sample written to %s.svg (%zu bytes) and %s.png (%zu bytes), scale %d\n",
			   prefix, len, prefix, png_len, s.scale);
	}
	else
		printf("# sample not written: %s\n", err);
	free(svg);
	free(png);
	free(v);
}

int
main(void)
{
	const char *sample = getenv("PICTURE_SAMPLE");

	test_colormaps();
	test_pixels();
	test_upscale();
	test_flat();
	test_big();
	test_limits();
	test_hostile();
	test_nomem();
	test_ticks();
	test_svg();
	test_svg_hostile();
	if (sample && sample[0])
		write_sample(sample);
	return unit_done();
}
