/*
 * test_contours.c — unit tests of the contour kernel (src/detect/contours.c):
 * hand cases (single cell, full image, all out, NaN cells, nested islands
 * in holes, a hole touching the exterior at a pinch, checkerboards under
 * 4- and 8-connectivity, part_of), the checks of contour_check.h on random
 * masks (areas equal cell counts, closed simple rings, orientation), the
 * component counts against a flood fill, and the box blur against a naive
 * 2-D reference.
 */
#include "detect/contours.h"
#include "unit.h"
#include "contour_check.h"

#include <stdint.h>
#include <stdlib.h>

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

/* Trace a 0/1 mask given as a string of rows ('#' in, '.' out, 'n' NaN). */
static int
trace(const char *pic, int64_t rows, int64_t cols, int conn, ContourSet *s, unsigned char *mask)
{
	double	   *img = malloc((size_t) (rows * cols + 1) * sizeof(double));
	char		err[256] = "";
	int			rc;

	for (int64_t k = 0; k < rows * cols; k++)
	{
		img[k] = pic[k] == '#' ? 1.0 + (double) k : (pic[k] == 'n' ? NAN : 0.0);
		if (mask)
			mask[k] = pic[k] == '#';
	}
	rc = contour_cells(img, rows, cols, 0.5, conn, s, &A, err, sizeof(err));
	if (rc != 0)
		printf("# error: %s\n", err);
	free(img);
	return rc;
}

/* Ring points as "x y,x y,..." for comparison. */
static const char *
ring_text(const ContourSet *s, int64_t ring)
{
	static char buf[4096];
	size_t		n = 0;

	buf[0] = '\0';
	for (int64_t k = s->ring_start[ring]; k < s->ring_start[ring + 1] && n < sizeof(buf) - 40; k++)
		n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%g %g", k > s->ring_start[ring] ? "," : "",
							   s->xy[2 * k], s->xy[2 * k + 1]);
	return buf;
}

/* Components by flood fill (connectivity 4 or 8), for the random masks. */
static int64_t
flood_count(const unsigned char *m, int64_t rows, int64_t cols, int conn)
{
	int32_t    *lab = calloc((size_t) (rows * cols + 1), sizeof(int32_t));
	int64_t    *stack = malloc((size_t) (rows * cols + 1) * sizeof(int64_t));
	int64_t		n = 0;

	for (int64_t k = 0; k < rows * cols; k++)
	{
		int64_t		top = 0;

		if (!m[k] || lab[k])
			continue;
		n++;
		lab[k] = 1;
		stack[top++] = k;
		while (top > 0)
		{
			int64_t		q = stack[--top],
						r = q / cols,
						c = q % cols;

			for (int dr = -1; dr <= 1; dr++)
				for (int dc = -1; dc <= 1; dc++)
				{
					int64_t		rr = r + dr,
								cc = c + dc;

					if ((dr == 0 && dc == 0) || (conn == 4 && dr != 0 && dc != 0))
						continue;
					if (rr < 0 || rr >= rows || cc < 0 || cc >= cols)
						continue;
					if (m[rr * cols + cc] && !lab[rr * cols + cc])
					{
						lab[rr * cols + cc] = 1;
						stack[top++] = rr * cols + cc;
					}
				}
		}
	}
	free(lab);
	free(stack);
	return n;
}

static int64_t
distinct_part_of(const ContourSet *s)
{
	int64_t		n = 0;

	for (int64_t p = 0; p < s->n_polygons; p++)
	{
		int			seen = 0;

		for (int64_t q = 0; q < p; q++)
			seen |= s->polygons[q].part_of == s->polygons[p].part_of;
		n += !seen;
	}
	return n;
}

static void
test_hand_cases(void)
{
	ContourSet	s;
	unsigned char mask[64];
	const char *why;

	/* A single cell. */
	CHECK_INT(trace("#", 1, 1, 4, &s, mask), 0, "single cell traces");
	CHECK_INT(s.n_polygons, 1, "single cell: one polygon");
	CHECK_STR(ring_text(&s, 0), "0 0,1 0,1 1,0 1,0 0", "single cell: the unit square, counter-clockwise");
	CHECK_INT(s.polygons[0].cells, 1, "single cell: one cell");
	CHECK_NEAR(s.polygons[0].max_value, 1.0, 0, "single cell: max value");
	contour_set_free(&s, &A);

	/* One cell in the middle of a 3 x 3. */
	CHECK_INT(trace("....#....", 3, 3, 8, &s, mask), 0, "middle cell traces");
	CHECK_STR(ring_text(&s, 0), "1 1,2 1,2 2,1 2,1 1", "middle cell: its square");
	CHECK(s.polygons[0].xmin == 1 && s.polygons[0].ymin == 1 && s.polygons[0].xmax == 2 && s.polygons[0].ymax == 2,
		  "middle cell: bounding box");
	contour_set_free(&s, &A);

	/* The full image: one rectangle with 4 vertices. */
	CHECK_INT(trace("############", 3, 4, 4, &s, mask), 0, "full image traces");
	CHECK_INT(s.n_polygons, 1, "full image: one polygon");
	CHECK_STR(ring_text(&s, 0), "0 0,4 0,4 3,0 3,0 0", "full image: the frame, merged straight runs");
	CHECK_INT(s.polygons[0].cells, 12, "full image: 12 cells");
	CHECK_NEAR(s.polygons[0].max_value, 12.0, 0, "full image: max value of the last cell");
	contour_set_free(&s, &A);

	/* All out, all NaN, empty image. */
	CHECK_INT(trace("......", 2, 3, 4, &s, mask), 0, "all out traces");
	CHECK_INT(s.n_polygons + s.n_rings + s.n_points, 0, "all out: nothing");
	contour_set_free(&s, &A);
	CHECK_INT(trace("nnnn", 2, 2, 8, &s, mask), 0, "all NaN traces");
	CHECK_INT(s.n_polygons, 0, "all NaN: nothing");
	contour_set_free(&s, &A);
	CHECK_INT(trace("", 0, 5, 4, &s, mask), 0, "0 rows traces");
	CHECK_INT(s.n_polygons, 0, "0 rows: nothing");
	contour_set_free(&s, &A);

	/* NaN cells cut a bar: two polygons. */
	CHECK_INT(trace("##n##", 1, 5, 8, &s, mask), 0, "NaN bar traces");
	CHECK_INT(s.n_polygons, 2, "NaN cell is out: two polygons");
	why = contour_check(&s, mask, 1, 5);
	CHECK(why == NULL, why ? why : "NaN bar sound");
	contour_set_free(&s, &A);

	/* A frame with an island in its hole. */
	{
		const char *pic =
		"#######"
		"#.....#"
		"#.###.#"
		"#.#.#.#"
		"#.###.#"
		"#.....#"
		"#######";

		for (int conn = 4; conn <= 8; conn += 4)
		{
			CHECK_INT(trace(pic, 7, 7, conn, &s, mask), 0, "nested islands trace");
			why = contour_check(&s, mask, 7, 7);
			CHECK(why == NULL, why ? why : "nested islands sound");
			CHECK_INT(s.n_polygons, 2, "nested: frame and island");
			CHECK_INT(s.polygons[0].n_rings, 2, "nested: the frame has one hole");
			CHECK_INT(s.polygons[1].n_rings, 2, "nested: the island has one hole");
			CHECK_INT(s.polygons[0].cells, 24, "nested: frame cells");
			CHECK_INT(s.polygons[1].cells, 8, "nested: island cells");
			CHECK_NEAR(contour_ring_area2(&s, s.polygons[0].first_ring + 1) / 2, -25, 0,
					   "nested: the frame's hole holds the island");
			CHECK_INT(s.n_components, 2, "nested: two components");
			contour_set_free(&s, &A);
		}
	}

	/* A hole touching the exterior at a pinch inside one 4-component. */
	{
		const char *pic =
		"###"
		"#.#"
		"##.";

		for (int conn = 4; conn <= 8; conn += 4)
		{
			CHECK_INT(trace(pic, 3, 3, conn, &s, mask), 0, "pinched hole traces");
			why = contour_check(&s, mask, 3, 3);
			CHECK(why == NULL, why ? why : "pinched hole sound");
			CHECK_INT(s.n_polygons, 1, "pinched hole: one polygon");
			CHECK_INT(s.polygons[0].n_rings, 2, "pinched hole: exterior and a hole");
			CHECK_STR(ring_text(&s, 0), "0 0,3 0,3 2,2 2,2 3,0 3,0 0", "pinched hole: exterior");
			CHECK_STR(ring_text(&s, 1), "1 2,2 2,2 1,1 1,1 2", "pinched hole: the hole touches it at (2, 2)");
			contour_set_free(&s, &A);
		}
	}

	/* Diagonal pair: two polygons; one component under 8-connectivity. */
	CHECK_INT(trace("#..#", 2, 2, 4, &s, mask), 0, "diagonal pair traces (4)");
	CHECK_INT(s.n_polygons, 2, "diagonal pair (4): two polygons");
	CHECK(s.polygons[0].part_of == 0 && s.polygons[1].part_of == 1, "diagonal pair (4): two components");
	why = contour_check(&s, mask, 2, 2);
	CHECK(why == NULL, why ? why : "diagonal pair (4) sound");
	contour_set_free(&s, &A);
	CHECK_INT(trace("#..#", 2, 2, 8, &s, mask), 0, "diagonal pair traces (8)");
	CHECK_INT(s.n_polygons, 2, "diagonal pair (8): two polygons (a multipolygon)");
	CHECK(s.polygons[0].part_of == 0 && s.polygons[1].part_of == 0, "diagonal pair (8): one component");
	CHECK_INT(s.n_components, 1, "diagonal pair (8): n_components");
	why = contour_check(&s, mask, 2, 2);
	CHECK(why == NULL, why ? why : "diagonal pair (8) sound");
	contour_set_free(&s, &A);

	/* Checkerboards. */
	{
		char		pic[64];

		for (int k = 0; k < 64; k++)
			pic[k] = ((k / 8 + k % 8) % 2 == 0) ? '#' : '.';
		CHECK_INT(trace(pic, 8, 8, 4, &s, mask), 0, "checkerboard traces (4)");
		CHECK_INT(s.n_polygons, 32, "checkerboard (4): 32 squares");
		CHECK_INT(s.n_components, 32, "checkerboard (4): 32 components");
		why = contour_check(&s, mask, 8, 8);
		CHECK(why == NULL, why ? why : "checkerboard (4) sound");
		contour_set_free(&s, &A);
		CHECK_INT(trace(pic, 8, 8, 8, &s, mask), 0, "checkerboard traces (8)");
		CHECK_INT(s.n_polygons, 32, "checkerboard (8): 32 squares");
		CHECK_INT(s.n_components, 1, "checkerboard (8): one component");
		CHECK_INT(distinct_part_of(&s), 1, "checkerboard (8): one part_of");
		CHECK_INT(s.n_points, 32 * 5, "checkerboard (8): unit squares");
		why = contour_check(&s, mask, 8, 8);
		CHECK(why == NULL, why ? why : "checkerboard (8) sound");
		contour_set_free(&s, &A);
	}

	/* Errors. */
	{
		double		v = 1;
		char		err[128] = "";

		CHECK_INT(contour_cells(&v, 1, 1, 0.5, 6, &s, &A, err, sizeof(err)), -1, "connectivity 6 is an error");
		CHECK(strstr(err, "connectivity") != NULL, "connectivity error says so");
		CHECK_INT(contour_cells(&v, 1, 1, NAN, 4, &s, &A, err, sizeof(err)), -1, "NaN level is an error");
		CHECK_INT(contour_cells(NULL, 1, 1, 0.5, 4, &s, &A, err, sizeof(err)), -1, "null image is an error");
	}
}

static void
test_random(void)
{
	unsigned	seed = 12345;
	int			bad_check = 0,
				bad_count = 0,
				bad_comp = 0;

	for (int t = 0; t < 400; t++)
	{
		int64_t		rows = 1 + (seed = seed * 1103515245u + 12345u) % 13;
		int64_t		cols = 1 + (seed = seed * 1103515245u + 12345u) % 13;
		int			density = 20 + (int) ((seed = seed * 1103515245u + 12345u) % 60);
		char		pic[13 * 13];
		unsigned char mask[13 * 13];

		for (int64_t k = 0; k < rows * cols; k++)
			pic[k] = ((int) ((seed = seed * 1103515245u + 12345u) >> 16) % 100) < density ? '#' : '.';
		for (int conn = 4; conn <= 8; conn += 4)
		{
			ContourSet	s;
			const char *why;

			if (trace(pic, rows, cols, conn, &s, mask) != 0)
			{
				bad_check++;
				continue;
			}
			why = contour_check(&s, mask, rows, cols);
			if (why)
			{
				if (bad_check++ == 0)
					printf("# %s (%lldx%lld, conn %d)\n", why, (long long) rows, (long long) cols, conn);
			}
			if (s.n_polygons != flood_count(mask, rows, cols, 4))
				bad_count++;
			if (s.n_components != flood_count(mask, rows, cols, conn) || distinct_part_of(&s) != s.n_components)
				bad_comp++;
			contour_set_free(&s, &A);
		}
	}
	CHECK_INT(bad_check, 0, "random masks: every set is sound (contour_check)");
	CHECK_INT(bad_count, 0, "random masks: polygons == 4-connected components");
	CHECK_INT(bad_comp, 0, "random masks: components == flood fill components");
}

static int64_t
refl(int64_t i, int64_t n)
{
	if (n == 1)
		return 0;
	for (;;)
	{
		if (i < 0)
			i = -i;
		else if (i >= n)
			i = 2 * n - 2 - i;
		else
			return i;
	}
}

static void
test_box_blur(void)
{
	const int64_t shapes[][2] = {{1, 1}, {1, 7}, {6, 1}, {5, 9}, {13, 4}};
	const int	ks[] = {1, 2, 3, 4, 5, 8, 15};
	double		worst = 0;
	char		err[128];

	for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
		for (size_t kk = 0; kk < sizeof(ks) / sizeof(ks[0]); kk++)
		{
			int64_t		rows = shapes[sh][0],
						cols = shapes[sh][1];
			int			k = ks[kk];
			double	   *in = malloc((size_t) (rows * cols) * sizeof(double));
			double	   *out = malloc((size_t) (rows * cols) * sizeof(double));

			for (int64_t i = 0; i < rows * cols; i++)
				in[i] = sin(1.3 * (double) i) * 10 + (double) (i % 7);
			if (contour_box_blur(in, out, rows, cols, k, &A, err, sizeof(err)) != 0)
				worst = 1e9;
			for (int64_t r = 0; r < rows; r++)
				for (int64_t c = 0; c < cols; c++)
				{
					double		sum = 0;

					for (int i = 0; i < k; i++)
						for (int j = 0; j < k; j++)
							sum += in[refl(r - k / 2 + i, rows) * cols + refl(c - k / 2 + j, cols)];
					sum /= (double) (k * k);
					if (fabs(out[r * cols + c] - sum) > worst)
						worst = fabs(out[r * cols + c] - sum);
				}
			/* In place too. */
			if (contour_box_blur(in, in, rows, cols, k, &A, err, sizeof(err)) != 0)
				worst = 1e9;
			for (int64_t i = 0; i < rows * cols; i++)
				if (in[i] != out[i])
					worst = 1e9;
			free(in);
			free(out);
		}
	CHECK(worst < 1e-12, "box blur equals the naive 2-D mean with reflect-101 borders (and in place)");
	CHECK_INT(contour_box_blur(NULL, NULL, 2, 2, 0, &A, err, sizeof(err)), -1, "box blur: ksize 0 is an error");
}

int
main(void)
{
	test_hand_cases();
	test_random();
	test_box_blur();
	return unit_done();
}
