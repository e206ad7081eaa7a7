/*
 * fuzz_contours_subpixel.c — libFuzzer target for the subpixel-mode contour
 * kernel (src/detect/contours_subpixel.c: marching squares as scikit-image's
 * find_contours).
 *
 * The input's first byte chooses the number of columns (1 to 48), the
 * second the level (one of eight, NaN among them) and both saddle and
 * orientation options; every further byte is a cell, from an alphabet that
 * holds what breaks marching squares: values equal to the levels, values
 * just above and below them, NaN, both infinities, zeros of both signs and
 * huge magnitudes.  Rows are as many as the bytes fill (at most 48).
 *
 * Besides the sanitizers it checks: a NaN level or fewer than 2 rows or
 * columns is refused, anything else succeeds; the offsets rise from 0 to
 * n_points and every contour has at least 2 points; every point is finite,
 * inside the grid of cell centres, and on a grid edge (one of its two
 * coordinates a whole number); a contour called closed ends where it
 * starts, and its doubled area is finite; the two orientations give the
 * same contours, each reversed.
 */
#include "detect/contours_subpixel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_SIDE	48

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
	static const double levels[8] = {0.5, 0.0, -1.0, 1.0, 1e300, -0.0, NAN, 0.25};
	static const double alphabet[16] = {
		0.0, 1.0, 0.5, 0.5 + 1e-12, 0.5 - 1e-12, -1.0, 0.25, NAN,
		INFINITY, -INFINITY, -0.0, 1e300, -1e300, 2.0, 1e-310, 0.75
	};
	static double img[MAX_SIDE * MAX_SIDE];
	SubpixelContours c,
				r;
	char		err[128];
	int64_t		cols,
				rows;
	double		level;
	bool		high_saddles;
	int			rc;

	if (size < 2)
		return 0;
	cols = 1 + data[0] % MAX_SIDE;
	level = levels[data[1] & 7];
	high_saddles = (data[1] >> 3) & 1;
	rows = (int64_t) (size - 2) / cols;
	if (rows > MAX_SIDE)
		rows = MAX_SIDE;
	for (int64_t k = 0; k < rows * cols; k++)
		img[k] = alphabet[data[2 + k] & 15];

	rc = contour_subpixel(img, rows, cols, level, high_saddles, false, &c, &A, err, sizeof(err));
	if (isnan(level) || rows < 2 || cols < 2)
	{
		REQUIRE(rc == -1 && err[0] != '\0');
		return 0;
	}
	REQUIRE(rc == 0);
	REQUIRE(c.start[0] == 0 && c.start[c.n_contours] == c.n_points);
	for (int64_t i = 0; i < c.n_contours; i++)
	{
		int64_t		a = c.start[i],
					b = c.start[i + 1];

		REQUIRE(b - a >= 2);
		for (int64_t p = a; p < b; p++)
		{
			double		y = c.rc[2 * p],
						x = c.rc[2 * p + 1];

			REQUIRE(isfinite(y) && isfinite(x));
			REQUIRE(y >= 0 && y <= (double) (rows - 1) && x >= 0 && x <= (double) (cols - 1));
			REQUIRE(y == floor(y) || x == floor(x));
		}
		if (subpixel_contour_closed(&c, i))
		{
			REQUIRE(b - a >= 3);
			REQUIRE(c.rc[2 * a] == c.rc[2 * (b - 1)] && c.rc[2 * a + 1] == c.rc[2 * (b - 1) + 1]);
			REQUIRE(isfinite(subpixel_contour_area2(&c, i)));
		}
	}
	/* positive_orientation "high" reverses every contour, nothing else */
	REQUIRE(contour_subpixel(img, rows, cols, level, high_saddles, true, &r, &A, err, sizeof(err)) == 0);
	REQUIRE(r.n_contours == c.n_contours && r.n_points == c.n_points);
	for (int64_t i = 0; i < c.n_contours; i++)
	{
		int64_t		a = c.start[i],
					b = c.start[i + 1];

		REQUIRE(r.start[i] == a && r.start[i + 1] == b);
		for (int64_t p = a; p < b; p++)
			REQUIRE(memcmp(&r.rc[2 * p], &c.rc[2 * (a + b - 1 - p)], 2 * sizeof(double)) == 0);
	}
	subpixel_contours_free(&c, &A);
	subpixel_contours_free(&r, &A);
	return 0;
}
