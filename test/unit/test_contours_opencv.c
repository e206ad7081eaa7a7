/*
 * test_contours_opencv.c — unit tests of the opencv-mode contour kernel
 * (src/detect/contours_opencv.c): hand cases whose vertices were read off
 * cv2.findContours(mask, RETR_CCOMP, CHAIN_APPROX_SIMPLE) of OpenCV 4.6
 * (a lone pixel, a 2 x 2 square, a ring with its hole, a line, pixels on
 * the image's edge, two blobs in reverse order, an island in a hole),
 * max_value and areas, the refusals, the mask entry point, and the checks
 * of opencv_check.h on random masks.
 */
#include "detect/contours_opencv.h"
#include "unit.h"
#include "opencv_check.h"

#include <stdint.h>
#include <stdlib.h>

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

/* Trace a mask given as rows of '#' (1) and '.' (0); values are 1 + index. */
static int
trace(const char *pic, int64_t rows, int64_t cols, OpencvContours *c)
{
	double	   *img = malloc((size_t) (rows * cols + 1) * sizeof(double));
	char		err[256] = "";
	int			rc;

	for (int64_t k = 0; k < rows * cols; k++)
		img[k] = pic[k] == '#' ? 1.0 + (double) k : 0.0;
	rc = contour_opencv(img, rows, cols, 0.5, c, &A, err, sizeof(err));
	if (rc != 0)
		printf("# error: %s\n", err);
	free(img);
	return rc;
}

/* Contour i as "x y,x y,...". */
static const char *
pts(const OpencvContours *c, int64_t i)
{
	static char buf[4096];
	size_t		n = 0;

	buf[0] = '\0';
	for (int64_t k = c->start[i]; k < c->start[i + 1] && n < sizeof(buf) - 32; k++)
		n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%d %d", k > c->start[i] ? "," : "",
							   c->xy[2 * k], c->xy[2 * k + 1]);
	return buf;
}

static void
check_all(const char *pic, int64_t rows, int64_t cols, const OpencvContours *c, const char *what)
{
	uint8_t    *mask = malloc((size_t) (rows * cols + 1));
	char		why[512] = "";
	int			ok;

	for (int64_t k = 0; k < rows * cols; k++)
		mask[k] = pic[k] == '#';
	ok = opencv_check(mask, rows, cols, c, why, sizeof(why)) == 0;
	if (!CHECK(ok, what))
		printf("#   %s\n", why);
	free(mask);
}

int
main(void)
{
	OpencvContours c;
	char		err[256];

	/* a lone pixel: one vertex */
	{
		const char *p = "...." ".#.." "....";

		CHECK_INT(trace(p, 3, 4, &c), 0, "lone pixel traces");
		CHECK_INT(c.n_contours, 1, "lone pixel: one contour");
		CHECK_STR(pts(&c, 0), "1 1", "lone pixel: its one vertex");
		CHECK_INT(c.parent[0], -1, "lone pixel: outer");
		CHECK_NEAR(c.max_value[0], 6, 0, "lone pixel: max_value");
		CHECK_NEAR(opencv_contour_area2(&c, 0), 0, 0, "lone pixel: area 0");
		check_all(p, 3, 4, &c, "lone pixel passes opencv_check");
		opencv_contours_free(&c, &A);
	}
	/* a 2 x 2 square: down first (counter-clockwise on screen) */
	{
		const char *p = "...." ".##." ".##." "....";

		CHECK_INT(trace(p, 4, 4, &c), 0, "square traces");
		CHECK_STR(pts(&c, 0), "1 1,1 2,2 2,2 1", "square: cv2's vertices");
		CHECK_NEAR(fabs(opencv_contour_area2(&c, 0)), 2, 0, "square: twice contourArea 1");
		opencv_contours_free(&c, &A);
	}
	/* the regress mask of sql/13_detection.sql: a ring with a hole and a diagonal tail */
	{
		const char *p =
			"........"
			".####..."
			".#..#..."
			".#.##..."
			".####..."
			".....#.."
			"......##"
			"......##";

		CHECK_INT(trace(p, 8, 8, &c), 0, "ring traces");
		CHECK_INT(c.n_contours, 2, "ring: outer and hole");
		CHECK_STR(pts(&c, 0), "1 1,1 4,4 4,6 6,6 7,7 7,7 6,6 6,4 4,4 1", "ring: cv2's outer contour");
		CHECK_STR(pts(&c, 1), "1 2,2 1,3 1,4 2,2 4,1 3", "ring: cv2's hole");
		CHECK_INT(c.parent[1], 0, "ring: the hole's parent is the outer contour");
		CHECK(isnan(c.max_value[1]), "ring: a hole's max_value is NaN");
		CHECK_NEAR(fabs(opencv_contour_area2(&c, 0)) - fabs(opencv_contour_area2(&c, 1)), 9, 0,
				   "ring: contourArea 10 - 5.5");
		check_all(p, 8, 8, &c, "ring passes opencv_check");
		opencv_contours_free(&c, &A);
	}
	/* a horizontal line goes out and back; pixels on the edge count (zero frame outside) */
	{
		const char *p = "####" "...." "#...";

		CHECK_INT(trace(p, 3, 4, &c), 0, "edge line traces");
		CHECK_INT(c.n_contours, 2, "edge line: two contours");
		CHECK_STR(pts(&c, 0), "0 2", "edge line: the newest (lowest) first");
		CHECK_STR(pts(&c, 1), "0 0,3 0", "edge line: out and back");
		check_all(p, 3, 4, &c, "edge line passes opencv_check");
		opencv_contours_free(&c, &A);
	}
	/* an island in a hole is an outer contour of its own, listed before its surrounding one */
	{
		const char *p =
			"#####"
			"#...#"
			"#.#.#"
			"#...#"
			"#####";

		CHECK_INT(trace(p, 5, 5, &c), 0, "island traces");
		CHECK_INT(c.n_contours, 3, "island: outer, hole, island");
		CHECK_STR(pts(&c, 0), "2 2", "island: listed first");
		CHECK_INT(c.parent[0], -1, "island: an outer contour");
		CHECK_STR(pts(&c, 1), "0 0,0 4,4 4,4 0", "island: then the frame-like ring");
		CHECK_INT(c.parent[2], 1, "island: the hole belongs to the ring");
		CHECK_STR(pts(&c, 2), "0 1,1 0,3 0,4 1,4 3,3 4,1 4,0 3", "island: cv2's hole");
		check_all(p, 5, 5, &c, "island passes opencv_check");
		opencv_contours_free(&c, &A);
	}
	/* empty and refusals */
	{
		double		v[4] = {0, 0, 0, 0};
		uint8_t		m[6] = {0, 1, 1, 0, 0, 1};

		CHECK_INT(contour_opencv(v, 2, 2, 0.5, &c, &A, err, sizeof(err)), 0, "all 0 traces");
		CHECK_INT(c.n_contours, 0, "all 0: no contour");
		opencv_contours_free(&c, &A);
		CHECK_INT(contour_opencv(v, 0, 5, 0.5, &c, &A, err, sizeof(err)), 0, "0 rows traces");
		CHECK_INT(c.n_contours, 0, "0 rows: no contour");
		opencv_contours_free(&c, &A);
		CHECK_INT(contour_opencv(v, 2, 2, NAN, &c, &A, err, sizeof(err)), -1, "NaN level refused");
		CHECK(strstr(err, "NaN") != NULL, "NaN level: says so");
		CHECK_INT(contour_opencv(v, 3000000000LL, 2, 0.5, &c, &A, err, sizeof(err)), -1, "huge side refused");
		CHECK_INT(contour_opencv_mask(m, 2, 3, &c, &A, err, sizeof(err)), 0, "mask entry traces");
		CHECK_INT(c.n_contours, 1, "mask entry: one 8-connected component");
		CHECK_STR(pts(&c, 0), "1 0,2 1,2 0", "mask entry: cv2's three vertices");
		CHECK(isnan(c.max_value[0]), "mask entry: no values, max_value NaN");
		opencv_contours_free(&c, &A);
	}
	/* random masks of several densities pass opencv_check */
	{
		unsigned	seed = 7;
		int			bad = 0;
		char		why[512] = "";

		for (int t = 0; t < 400 && !bad; t++)
		{
			int64_t		rows = 1 + (seed = seed * 1103515245u + 12345u) % 37;
			int64_t		cols = 1 + (seed = seed * 1103515245u + 12345u) % 41;
			unsigned	density = 1 + (seed = seed * 1103515245u + 12345u) % 9;
			uint8_t    *m = malloc((size_t) (rows * cols));

			for (int64_t k = 0; k < rows * cols; k++)
				m[k] = ((seed = seed * 1103515245u + 12345u) >> 16) % 10 < density;
			if (contour_opencv_mask(m, rows, cols, &c, &A, err, sizeof(err)) != 0 ||
				opencv_check(m, rows, cols, &c, why, sizeof(why)) != 0)
				bad = 1;
			opencv_contours_free(&c, &A);
			free(m);
		}
		if (!CHECK(!bad, "400 random masks pass opencv_check"))
			printf("#   %s %s\n", err, why);
	}
	return unit_done();
}
