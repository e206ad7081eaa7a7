/*
 * test_contours_subpixel.c — unit tests of the subpixel contour kernel
 * (src/detect/contours_subpixel.c): hand cases whose points were read off
 * scikit-image 0.19.3's measure.find_contours (a lone high cell, a corner
 * cell on the edge, the saddle under fully_connected low and high,
 * positive_orientation high, a cell exactly at the level, NaN squares),
 * closedness and areas, the refusals, and on random images: every contour
 * has at least two points, consecutive points are distinct, lie on grid
 * edges within the image, and closed contours have an area when no cell
 * equals the level.
 */
#include "detect/contours_subpixel.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

/* Contour i as "r c,r c,..." with %g. */
static const char *
pts(const SubpixelContours *c, int64_t i)
{
	static char buf[4096];
	size_t		n = 0;

	buf[0] = '\0';
	for (int64_t k = c->start[i]; k < c->start[i + 1] && n < sizeof(buf) - 64; k++)
		n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%g %g", k > c->start[i] ? "," : "",
							   c->rc[2 * k], c->rc[2 * k + 1]);
	return buf;
}

int
main(void)
{
	SubpixelContours c;
	char		err[256];

	{
		double		v[12] = {0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};

		CHECK_INT(contour_subpixel(v, 3, 4, 0.5, false, false, &c, &A, err, sizeof(err)), 0, "3 x 4 traces");
		CHECK_INT(c.n_contours, 2, "3 x 4: two contours");
		CHECK_STR(pts(&c, 0), "1.5 1,1 0.5,0.5 1,1 1.5,1.5 1", "3 x 4: skimage's diamond around (1, 1)");
		CHECK(subpixel_contour_closed(&c, 0), "3 x 4: the diamond is closed");
		CHECK_NEAR(subpixel_contour_area2(&c, 0), 1, 0, "3 x 4: twice its area is 1, positive");
		CHECK_STR(pts(&c, 1), "0.5 3,0 2.5", "3 x 4: skimage's open corner line");
		CHECK(!subpixel_contour_closed(&c, 1), "3 x 4: the corner line is open");
		subpixel_contours_free(&c, &A);
		CHECK_INT(contour_subpixel(v, 3, 4, 0.5, false, true, &c, &A, err, sizeof(err)), 0, "high orientation traces");
		CHECK_STR(pts(&c, 1), "0 2.5,0.5 3", "positive_orientation high reverses");
		subpixel_contours_free(&c, &A);
	}
	/* the saddle: low cells joined (default) or high cells joined */
	{
		double		v[4] = {1, 0, 0, 1};

		CHECK_INT(contour_subpixel(v, 2, 2, 0.5, false, false, &c, &A, err, sizeof(err)), 0, "saddle traces");
		CHECK_INT(c.n_contours, 2, "saddle low: two contours");
		CHECK_STR(pts(&c, 0), "0 0.5,0.5 0", "saddle low: skimage's first");
		CHECK_STR(pts(&c, 1), "1 0.5,0.5 1", "saddle low: skimage's second");
		subpixel_contours_free(&c, &A);
		CHECK_INT(contour_subpixel(v, 2, 2, 0.5, true, false, &c, &A, err, sizeof(err)), 0, "saddle high traces");
		CHECK_STR(pts(&c, 0), "0 0.5,0.5 1", "saddle high: skimage's first");
		CHECK_STR(pts(&c, 1), "1 0.5,0.5 0", "saddle high: skimage's second");
		subpixel_contours_free(&c, &A);
	}
	/* a cell exactly at the level is low (> level is high); degenerate segments dropped */
	{
		double		v[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};

		CHECK_INT(contour_subpixel(v, 3, 3, 1.0, false, false, &c, &A, err, sizeof(err)), 0, "at level traces");
		CHECK_INT(c.n_contours, 0, "at level: nothing above, no contour");
		subpixel_contours_free(&c, &A);
	}
	/* NaN squares are skipped: the ring opens */
	{
		double		v[9] = {0, 0, 0, 0, 1, 0, 0, 0, NAN};

		CHECK_INT(contour_subpixel(v, 3, 3, 0.5, false, false, &c, &A, err, sizeof(err)), 0, "NaN traces");
		CHECK_INT(c.n_contours, 1, "NaN: one contour");
		CHECK_STR(pts(&c, 0), "1.5 1,1 0.5,0.5 1,1 1.5", "NaN: skimage's open ring");
		subpixel_contours_free(&c, &A);
	}
	/* refusals */
	{
		double		v[4] = {0, 1, 0, 1};

		CHECK_INT(contour_subpixel(v, 1, 4, 0.5, false, false, &c, &A, err, sizeof(err)), -1, "1 row refused");
		CHECK(strstr(err, "2 x 2") != NULL, "1 row: says 2 x 2");
		CHECK_INT(contour_subpixel(v, 2, 2, NAN, false, false, &c, &A, err, sizeof(err)), -1, "NaN level refused");
	}
	/* random images */
	{
		unsigned	seed = 11;
		int			bad = 0;
		int64_t		closed = 0;

		for (int t = 0; t < 300 && !bad; t++)
		{
			int64_t		rows = 2 + (seed = seed * 1103515245u + 12345u) % 30;
			int64_t		cols = 2 + (seed = seed * 1103515245u + 12345u) % 30;
			double	   *v = malloc(sizeof(double) * (size_t) (rows * cols));

			for (int64_t k = 0; k < rows * cols; k++)
				v[k] = (double) (((seed = seed * 1103515245u + 12345u) >> 16) % 5);
			if (contour_subpixel(v, rows, cols, t % 2 ? 2.0 : 1.7, t % 3 == 0, false, &c, &A, err, sizeof(err)) != 0)
				bad = 1;
			for (int64_t i = 0; i < c.n_contours && !bad; i++)
			{
				if (c.start[i + 1] - c.start[i] < 2)
					bad = 2;
				for (int64_t k = c.start[i]; k < c.start[i + 1] && !bad; k++)
				{
					double		r = c.rc[2 * k],
								cc = c.rc[2 * k + 1];

					if (r < 0 || cc < 0 || r > rows - 1 || cc > cols - 1 || (r != floor(r) && cc != floor(cc)))
						bad = 3;
					if (k + 1 < c.start[i + 1] && r == c.rc[2 * k + 2] && cc == c.rc[2 * k + 3])
						bad = 4;
				}
				if (!bad && subpixel_contour_closed(&c, i))
				{
					closed++;
					/* away from ties (level 1.7 on whole numbers) no ring is flat */
					if (t % 2 == 0 && !(subpixel_contour_area2(&c, i) != 0))
						bad = 5;
				}
			}
			subpixel_contours_free(&c, &A);
			free(v);
		}
		if (!CHECK(!bad, "300 random images: points on grid edges, distinct neighbours, closed rings with area"))
			printf("#   failure kind %d\n", bad);
		CHECK(closed > 0, "the random images have closed contours");
	}
	return unit_done();
}
