/*
 * test_ewkb.c — unit tests of the (E)WKB reader kernel (src/spatial/ewkb.c):
 * points with Z from Point, MultiPoint and nested collections in both byte
 * orders, EWKB and ISO flags, SRID, empty points, every refusal (no Z,
 * NaN, lines, unknown types, deep nesting), every truncation of a valid
 * buffer, hostile counts, the extent of lines and polygons, and the rings
 * of polygons and lines (points ignored, curves refused).
 */
#include "spatial/ewkb.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* A growing byte buffer to write WKB by hand. */
typedef struct wbuf
{
	uint8_t		b[8192];
	size_t		len;
	int			little;
} wbuf;

static void
w_u8(wbuf *w, uint8_t v)
{
	w->b[w->len++] = v;
}

static void
w_u32(wbuf *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w->b[w->len++] = (uint8_t) (w->little ? v >> (8 * i) : v >> (8 * (3 - i)));
}

static void
w_f64(wbuf *w, double d)
{
	uint64_t	u;

	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		w->b[w->len++] = (uint8_t) (w->little ? u >> (8 * i) : u >> (8 * (7 - i)));
}

/* w_head writes a byte order and a type (with EWKB flags as given). */
static void
w_head(wbuf *w, uint32_t type)
{
	w_u8(w, w->little ? 1 : 0);
	w_u32(w, type);
}

/* w_pointz writes an EWKB PointZ without SRID. */
static void
w_pointz(wbuf *w, double x, double y, double z)
{
	w_head(w, 0x80000001u);
	w_f64(w, x);
	w_f64(w, y);
	w_f64(w, z);
}

static const mlops_allocator alloc = MLOPS_MALLOC_ALLOCATOR;

static void
free_points(ewkb_points_result *r)
{
	free(r->x);
	free(r->y);
	free(r->z);
}

/*
 * multipoint builds SRID=4326;MULTIPOINT Z ((1 2 3), (4 5 6), EMPTY, (7 8 9)).
 */
static void
multipoint(wbuf *w, int little)
{
	memset(w, 0, sizeof(*w));
	w->little = little;
	w_head(w, 0x80000004u | 0x20000000u);
	w_u32(w, 4326);
	w_u32(w, 4);
	w_pointz(w, 1, 2, 3);
	w_pointz(w, 4, 5, 6);
	w_pointz(w, NAN, NAN, NAN);
	w_pointz(w, 7, 8, 9);
}

static void
test_multipoint(void)
{
	for (int little = 0; little <= 1; little++)
	{
		wbuf		w;
		ewkb_points_result r;
		ewkb_error	e;

		multipoint(&w, little);
		e = ewkb_points(w.b, w.len, true, &alloc, &r);
		CHECK_INT(e, EWKB_OK, little ? "multipoint NDR read" : "multipoint XDR read");
		CHECK_INT(r.n, 3, "three points, the empty one skipped");
		CHECK_INT(r.srid, 4326, "srid read");
		CHECK(r.has_z, "outer Z flag");
		CHECK(r.n == 3 && r.x[0] == 1 && r.y[0] == 2 && r.z[0] == 3 && r.x[1] == 4 && r.z[1] == 6
			  && r.x[2] == 7 && r.y[2] == 8 && r.z[2] == 9, "coordinates in order");
		free_points(&r);
	}
}

static void
test_collection_and_iso(void)
{
	wbuf		w = {.little = 1};
	ewkb_points_result r;

	/* GEOMETRYCOLLECTION Z (POINT Z (1 1 10), MULTIPOINT Z ((2 2 20)), GEOMETRYCOLLECTION Z (POINT Z (3 3 30))) */
	w_head(&w, 0x80000007u);
	w_u32(&w, 3);
	w_pointz(&w, 1, 1, 10);
	w_head(&w, 0x80000004u);
	w_u32(&w, 1);
	w_pointz(&w, 2, 2, 20);
	w_head(&w, 0x80000007u);
	w_u32(&w, 1);
	/* ISO PointZ (1001) inside */
	w_head(&w, 1001);
	w_f64(&w, 3);
	w_f64(&w, 3);
	w_f64(&w, 30);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_OK, "nested collection read");
	CHECK(r.n == 3 && r.z[0] == 10 && r.z[1] == 20 && r.z[2] == 30 && r.x[2] == 3, "nested values");
	CHECK_INT(r.srid, 0, "no SRID gives 0");
	free_points(&r);

	/* ISO PointZM (3001): x y z m */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 3001);
	w_f64(&w, 5);
	w_f64(&w, 6);
	w_f64(&w, 7);
	w_f64(&w, 99);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_OK, "ISO ZM point read");
	CHECK(r.n == 1 && r.x[0] == 5 && r.y[0] == 6 && r.z[0] == 7, "ZM: z is the third ordinate, m skipped");
	free_points(&r);

	/* EWKB PointZM with both flags */
	memset(&w, 0, sizeof(w));
	w.little = 0;
	w_head(&w, 0xC0000001u);
	w_f64(&w, 1);
	w_f64(&w, 2);
	w_f64(&w, 3);
	w_f64(&w, 4);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_OK, "EWKB ZM XDR point read");
	CHECK(r.n == 1 && r.z[0] == 3, "EWKB ZM: z");
	free_points(&r);

	/* empty collection */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 0x80000007u);
	w_u32(&w, 0);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_OK, "empty collection read");
	CHECK(r.n == 0 && r.x == NULL, "empty collection: no points, nothing allocated");
}

static void
test_refusals(void)
{
	wbuf		w = {.little = 1};
	ewkb_points_result r;

	/* 2-D point */
	w_head(&w, 1);
	w_f64(&w, 1);
	w_f64(&w, 2);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_NO_Z, "2-D point refused when Z is required");
	CHECK_INT(ewkb_points(w.b, w.len, false, &alloc, &r), EWKB_OK, "2-D point read when Z is not required");
	CHECK(r.n == 1 && r.z[0] == 0.0, "missing Z reads as 0");
	free_points(&r);

	/* NaN z, infinite x */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_pointz(&w, 1, 2, NAN);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_NOT_FINITE, "NaN Z refused");
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_pointz(&w, INFINITY, 2, 1);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_NOT_FINITE, "infinite X refused");

	/* LineString Z inside a collection */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 0x80000007u);
	w_u32(&w, 2);
	w_pointz(&w, 1, 1, 1);
	w_head(&w, 0x80000002u);
	w_u32(&w, 2);
	for (int i = 0; i < 6; i++)
		w_f64(&w, i);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_NOT_POINTS, "a line among the points refused");

	/* unknown type, bad byte order */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 0x80000063u);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_BAD_TYPE, "type 99 refused");
	w.b[0] = 7;
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_BAD_TYPE, "byte order 7 refused");

	/* trailing byte */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_pointz(&w, 1, 2, 3);
	w_u8(&w, 0);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_TRUNCATED, "trailing byte refused");

	/* hostile count: 4 billion points announced in a short buffer */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 0x80000004u);
	w_u32(&w, 0xFFFFFFFFu);
	w_pointz(&w, 1, 2, 3);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_TRUNCATED, "huge multipoint count refused quickly");

	/* nesting deeper than the limit */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	for (int d = 0; d < EWKB_MAX_DEPTH + 2; d++)
	{
		w_head(&w, 0x80000007u);
		w_u32(&w, 1);
	}
	w_pointz(&w, 1, 2, 3);
	CHECK_INT(ewkb_points(w.b, w.len, true, &alloc, &r), EWKB_TOO_DEEP, "deep nesting refused");

	CHECK(strlen(ewkb_error_message(EWKB_NO_Z)) > 10, "errors have messages");
}

static void
test_truncations(void)
{
	wbuf		w;
	int			all = 1;

	multipoint(&w, 1);
	for (size_t len = 0; len < w.len; len++)
	{
		ewkb_points_result r;
		uint8_t    *copy = malloc(len ? len : 1);

		/* a copy of exactly len bytes, so ASan sees any read past it */
		memcpy(copy, w.b, len);
		if (ewkb_points(copy, len, true, &alloc, &r) != EWKB_TRUNCATED)
			all = 0;
		free(copy);
	}
	CHECK(all, "every prefix of a multipoint is refused as truncated");
}

static void
test_bbox(void)
{
	wbuf		w = {.little = 1};
	ewkb_bbox_result b;

	/* SRID=3857;POLYGON((0 0, 10 0, 10 5, 0 5, 0 0), (2 1, 3 1, 3 2, 2 1)) */
	w_head(&w, 0x20000003u);
	w_u32(&w, 3857);
	w_u32(&w, 2);
	w_u32(&w, 5);
	{
		double		ring[] = {0, 0, 10, 0, 10, 5, 0, 5, 0, 0};

		for (int i = 0; i < 10; i++)
			w_f64(&w, ring[i]);
	}
	w_u32(&w, 4);
	{
		double		ring[] = {2, 1, 3, 1, 3, 2, 2, 1};

		for (int i = 0; i < 8; i++)
			w_f64(&w, ring[i]);
	}
	CHECK_INT(ewkb_bbox(w.b, w.len, &b), EWKB_OK, "polygon extent read");
	CHECK(b.xmin == 0 && b.ymin == 0 && b.xmax == 10 && b.ymax == 5, "polygon extent");
	CHECK_INT(b.srid, 3857, "polygon srid");
	CHECK_INT(b.npoints, 9, "polygon coordinates counted");

	/* MULTILINESTRING Z ((-1 -2 0, 4 9 0)) in XDR */
	memset(&w, 0, sizeof(w));
	w.little = 0;
	w_head(&w, 0x80000005u);
	w_u32(&w, 1);
	w_head(&w, 0x80000002u);
	w_u32(&w, 2);
	w_f64(&w, -1);
	w_f64(&w, -2);
	w_f64(&w, 0);
	w_f64(&w, 4);
	w_f64(&w, 9);
	w_f64(&w, 0);
	CHECK_INT(ewkb_bbox(w.b, w.len, &b), EWKB_OK, "multilinestring extent read");
	CHECK(b.xmin == -1 && b.ymin == -2 && b.xmax == 4 && b.ymax == 9, "multilinestring extent");

	/* POINT EMPTY */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 1);
	w_f64(&w, NAN);
	w_f64(&w, NAN);
	CHECK_INT(ewkb_bbox(w.b, w.len, &b), EWKB_OK, "empty point extent read");
	CHECK_INT(b.npoints, 0, "empty point has no coordinates");

	/* a polygon announcing more rings than bytes */
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 3);
	w_u32(&w, 1000000);
	w_u32(&w, 0);
	CHECK_INT(ewkb_bbox(w.b, w.len, &b), EWKB_TRUNCATED, "huge ring count refused");
}

static void
test_rings(void)
{
	wbuf		w = {.little = 1};
	ewkb_rings_result g;

	/*
	 * SRID=3857;GEOMETRYCOLLECTION(POINT(9 9), MULTIPOLYGON(((0 0, 10 0, 10 5,
	 * 0 0), (2 1, 3 1, 2 1))), LINESTRING Z (7 7 1, 8 8 2))
	 */
	w_head(&w, 0x20000007u);
	w_u32(&w, 3857);
	w_u32(&w, 3);
	w_head(&w, 1);
	w_f64(&w, 9);
	w_f64(&w, 9);
	w_head(&w, 6);
	w_u32(&w, 1);
	w_head(&w, 3);
	w_u32(&w, 2);
	w_u32(&w, 4);
	{
		double		ring[] = {0, 0, 10, 0, 10, 5, 0, 0};

		for (int i = 0; i < 8; i++)
			w_f64(&w, ring[i]);
	}
	w_u32(&w, 3);
	{
		double		ring[] = {2, 1, 3, 1, 2, 1};

		for (int i = 0; i < 6; i++)
			w_f64(&w, ring[i]);
	}
	w_head(&w, 0x80000002u);
	w_u32(&w, 2);
	w_f64(&w, 7);
	w_f64(&w, 7);
	w_f64(&w, 1);
	w_f64(&w, 8);
	w_f64(&w, 8);
	w_f64(&w, 2);
	CHECK_INT(ewkb_rings(w.b, w.len, &alloc, &g), EWKB_OK, "rings of a collection read");
	CHECK_INT(g.srid, 3857, "rings: srid");
	CHECK_INT(g.nrings, 3, "rings: two of the polygon and the line; the point ignored");
	CHECK_INT(g.nvertices, 9, "rings: 4 + 3 + 2 vertices");
	CHECK(g.nrings == 3 && g.start[0] == 0 && g.start[1] == 4 && g.start[2] == 7 && g.start[3] == 9,
		  "rings: where each starts");
	CHECK(g.nvertices == 9 && g.xy[2] == 10 && g.xy[3] == 0 && g.xy[8] == 2 && g.xy[9] == 1
		  && g.xy[14] == 7 && g.xy[17] == 8, "rings: vertices in order, Z dropped");
	free(g.xy);
	free(g.start);

	/* a ring with NaN is refused; a circular string is a curve */
	memset(&w, 0, sizeof(w));
	w.little = 0;
	w_head(&w, 2);
	w_u32(&w, 2);
	w_f64(&w, 0);
	w_f64(&w, 0);
	w_f64(&w, NAN);
	w_f64(&w, 1);
	CHECK_INT(ewkb_rings(w.b, w.len, &alloc, &g), EWKB_NOT_FINITE, "rings: NaN vertex refused");
	CHECK(g.xy == NULL && g.start == NULL, "rings: nothing left allocated on error");
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 8);
	w_u32(&w, 0);
	CHECK_INT(ewkb_rings(w.b, w.len, &alloc, &g), EWKB_CURVE, "rings: circular string refused");
	memset(&w, 0, sizeof(w));
	w.little = 1;
	w_head(&w, 1);
	w_f64(&w, 1);
	w_f64(&w, 2);
	CHECK_INT(ewkb_rings(w.b, w.len, &alloc, &g), EWKB_OK, "rings of a point read");
	CHECK(g.nrings == 0 && g.nvertices == 0 && g.start[0] == 0, "a point has no rings");
	free(g.xy);
	free(g.start);
}

int
main(void)
{
	test_multipoint();
	test_collection_and_iso();
	test_refusals();
	test_truncations();
	test_bbox();
	test_rings();
	return unit_done();
}
