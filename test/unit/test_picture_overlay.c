/*
 * test_picture_overlay.c — unit tests of picture_png_overlay
 * (src/spatial/picture_overlay.c): without an overlay its pixels are
 * picture_png's; a marker's centre and disc take the marker colour, its
 * rim is black, pixels away from it keep the heatmap's colour; an outline
 * paints the cells it passes along and not the inside; drawings partly or
 * wholly outside the image are clipped; bad overlays are refused; a
 * failing allocator at every allocation leaves nothing allocated.  The PNG
 * is read back by test/unit/png_read.h.
 */
#define _DEFAULT_SOURCE

#include "spatial/picture.h"
#include "unit.h"
#include "png_read.h"

#include <stdint.h>
#include <stdlib.h>

#define LIMIT	((size_t) 64 << 20)

static const mlops_allocator mal = MLOPS_MALLOC_ALLOCATOR;

/* a 10 x 8 grid of 0.5 everywhere (viridis #21908C at scale 4) */
static double flat[80];

/*
 * overlay_png runs picture_png_overlay over the flat grid at scale 4 and
 * decodes it into r; false (with a comment) when either fails.
 */
static bool
overlay_png(const picture_overlay *o, png_read *r)
{
	picture_grid g = {flat, 10, 8, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 1, 4};
	uint8_t    *png = NULL;
	size_t		len = 0;
	char		err[256] = "";
	picture_status st = picture_png_overlay(&g, &s, o, LIMIT, &mal, &png, &len, err, sizeof(err));
	bool		ok;

	memset(r, 0, sizeof(*r));
	if (st != PICTURE_OK)
	{
		printf("#   picture_png_overlay: %s\n", err);
		return false;
	}
	ok = png_decode(png, len, r) && r->rgba != NULL;
	if (!ok)
		printf("#   decode: %s\n", r->why);
	free(png);
	return ok;
}

static void
test_no_overlay(void)
{
	picture_grid g = {flat, 10, 8, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 1, 4};
	uint8_t    *a = NULL,
			   *b = NULL;
	size_t		alen = 0,
				blen = 0;
	char		err[256];
	png_read	ra,
				rb;

	CHECK(picture_png(&g, &s, LIMIT, &mal, &a, &alen, err, sizeof(err)) == PICTURE_OK &&
		  picture_png_overlay(&g, &s, NULL, LIMIT, &mal, &b, &blen, err, sizeof(err)) == PICTURE_OK,
		  "picture_png and picture_png_overlay without an overlay both succeed");
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	CHECK(a && b && png_decode(a, alen, &ra) && png_decode(b, blen, &rb) &&
		  ra.width == 40 && rb.width == 40 && ra.height == 32 && rb.height == 32 &&
		  memcmp(ra.rgba, rb.rgba, 40 * 32 * 4) == 0,
		  "without an overlay the pixels are picture_png's (40 x 32)");
	free(a);
	free(b);
	free(ra.rgba);
	free(rb.rgba);
}

static void
test_marker(void)
{
	picture_sensor m[2] = {{5.0, 4.0, NULL}, {0.25, 7.5, NULL}};
	picture_overlay o = {NULL, 0, m, 2, {255, 255, 255}, {255, 0, 255}, 1, 3};
	png_read	r;

	if (!CHECK(overlay_png(&o, &r), "a picture with two markers"))
		return;
	/* marker 1 at grid (5, 4): pixel point (20, 16) */
	CHECK(hex_px(&r, 20, 16, 0xFF00FF) && hex_px(&r, 19, 15, 0xFF00FF) && hex_px(&r, 22, 16, 0xFF00FF),
		  "the marker's centre and disc have the marker colour");
	CHECK(hex_px(&r, 24, 16, 0x000000) && hex_px(&r, 20, 12, 0x000000), "its rim is black");
	CHECK(hex_px(&r, 27, 16, 0x21908C) && hex_px(&r, 0, 0, 0x21908C), "pixels away from it keep the heatmap's colour");
	/* marker 2 at the bottom-left edge: clipped, its visible part drawn */
	CHECK(hex_px(&r, 1, 29, 0xFF00FF) && hex_px(&r, 0, 31, 0xFF00FF), "a marker on the edge is clipped, not lost");
	free(r.rgba);
}

static void
test_outline(void)
{
	/* a square ring from grid (2, 2) to (6, 6): pixels 8 .. 24 */
	double		sq[10] = {2, 2, 6, 2, 6, 6, 2, 6, 2, 2};
	/* a line from far outside to the image's middle */
	double		far[4] = {-1e6, 1.0, 5.0, 1.0};
	picture_ring rings[2] = {{sq, 5}, {far, 2}};
	picture_overlay o = {rings, 2, NULL, 0, {255, 255, 255}, {255, 0, 255}, 2, 1};
	png_read	r;

	if (!CHECK(overlay_png(&o, &r), "a picture with an outline and a far line"))
		return;
	CHECK(hex_px(&r, 16, 8, 0xFFFFFF) && hex_px(&r, 24, 16, 0xFFFFFF) && hex_px(&r, 8, 20, 0xFFFFFF) &&
		  hex_px(&r, 16, 24, 0xFFFFFF), "the ring's four sides have the line colour");
	CHECK(hex_px(&r, 16, 16, 0x21908C) && hex_px(&r, 30, 30, 0x21908C), "inside and outside the ring keep the heatmap");
	CHECK(hex_px(&r, 0, 4, 0xFFFFFF) && hex_px(&r, 19, 4, 0xFFFFFF) && hex_px(&r, 23, 4, 0x21908C),
		  "a line from a million cells away is clipped and drawn up to its end");
	free(r.rgba);
}

static void
test_refusals(void)
{
	picture_grid g = {flat, 10, 8, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 1, 4};
	double		bad[4] = {0, 0, NAN, 1};
	picture_ring ring = {bad, 2};
	picture_sensor far = {2e7, 0, NULL};
	picture_overlay o;
	uint8_t    *png = (uint8_t *) &o;
	size_t		len = 1;
	char		err[256];

	memset(&o, 0, sizeof(o));
	o.line_width = 1;
	o.marker_radius = 0;
	CHECK_INT(picture_png_overlay(&g, &s, &o, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a marker radius of 0 is refused");
	CHECK(png == NULL && len == 0 && strstr(err, "marker radius") != NULL, "with no output and the reason");
	o.marker_radius = 3;
	o.line_width = PICTURE_MAX_LINE_WIDTH + 1;
	CHECK_INT(picture_png_overlay(&g, &s, &o, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a line too wide is refused");
	o.line_width = 1;
	o.rings = &ring;
	o.nrings = 1;
	CHECK_INT(picture_png_overlay(&g, &s, &o, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "an outline with a NaN vertex is refused");
	o.nrings = 0;
	o.markers = &far;
	o.nmarkers = 1;
	CHECK_INT(picture_png_overlay(&g, &s, &o, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a marker beyond PICTURE_MAX_COORD is refused");
	o.markers = NULL;
	CHECK_INT(picture_png_overlay(&g, &s, &o, LIMIT, &mal, &png, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a marker count without markers is refused");
	o.nmarkers = 0;
	CHECK_INT(picture_png_overlay(&g, &s, &o, 100, &mal, &png, &len, err, sizeof(err)), PICTURE_TOO_LARGE,
			  "an image beyond max_bytes is refused");
	CHECK_INT(picture_png_overlay(&g, &s, &o, LIMIT, &mal, NULL, &len, err, sizeof(err)), PICTURE_BAD_ARGUMENT,
			  "a null output pointer is refused");
}

/* an allocator that fails at call fail_at (counting from 1) */
static int	alloc_calls;
static int	fail_at;
static int	live;

static void *
fail_alloc(void *ctx, size_t n)
{
	(void) ctx;
	if (++alloc_calls == fail_at)
		return NULL;
	live++;
	return malloc(n);
}

static void *
fail_realloc(void *ctx, void *p, size_t n)
{
	(void) ctx;
	if (++alloc_calls == fail_at)
		return NULL;
	if (p == NULL)
		live++;
	return realloc(p, n);
}

static void
fail_free(void *ctx, void *p)
{
	(void) ctx;
	if (p != NULL)
		live--;
	free(p);
}

static void
test_failing_allocator(void)
{
	picture_grid g = {flat, 10, 8, false, 0};
	picture_style s = {PICTURE_VIRIDIS, 0, 1, 4};
	picture_sensor m = {5, 4, NULL};
	picture_overlay o = {NULL, 0, &m, 1, {255, 255, 255}, {255, 0, 255}, 1, 3};
	const mlops_allocator fa = {fail_alloc, fail_realloc, fail_free, NULL};
	int			total;
	bool		all_clean = true;
	uint8_t    *png;
	size_t		len;
	char		err[256];

	alloc_calls = 0;
	fail_at = -1;
	live = 0;
	CHECK(picture_png_overlay(&g, &s, &o, LIMIT, &fa, &png, &len, err, sizeof(err)) == PICTURE_OK && live == 1,
		  "with a working allocator only the png stays allocated");
	fail_free(NULL, png);
	total = alloc_calls;
	for (fail_at = 1; fail_at <= total; fail_at++)
	{
		picture_status st;

		alloc_calls = 0;
		live = 0;
		st = picture_png_overlay(&g, &s, &o, LIMIT, &fa, &png, &len, err, sizeof(err));
		if (st != PICTURE_NOMEM || png != NULL || live != 0)
		{
			printf("#   failing allocation %d of %d: status %d, %d left allocated\n", fail_at, total, (int) st, live);
			all_clean = false;
		}
	}
	CHECK(all_clean, "a failing allocation at every call gives PICTURE_NOMEM and leaves nothing allocated");
	printf("# the overlay png needs %d allocations\n", total);
}

int
main(void)
{
	for (int i = 0; i < 80; i++)
		flat[i] = 0.5;
	test_no_overlay();
	test_marker();
	test_outline();
	test_refusals();
	test_failing_allocator();
	return unit_done();
}
