/*
 * fuzz_contours_opencv.c — libFuzzer target for the opencv-mode contour
 * kernel (src/detect/contours_opencv.c).
 *
 * The input's first byte chooses the number of columns (1 to 64); the
 * remaining bytes are cells, each byte eight cells (its bits, lowest
 * first), so a few hundred bytes make masks of thousands of cells with
 * many borders (more than 126 exercises the seven-bit border numbers
 * wrapping around).  Rows are as many as the bytes fill (at most 64).
 *
 * Besides the sanitizers it checks, with test/unit/opencv_check.h: every
 * contour is a valid closed ring — its vertices are 1 pixels, consecutive
 * ones (the last back to the first) one whole chain step apart along one
 * of the eight directions; holes follow their outer contour; there are as
 * many outer contours as 8-connected components and as many holes as
 * enclosed 4-connected background regions; each outer contour starts at
 * its component's first pixel and they come in reverse raster order.  The
 * mask entry point and the doubles entry point must agree, and max_value
 * is the largest value of the component.
 */
#include "detect/contours_opencv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/opencv_check.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_SIDE	64

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
	static double img[MAX_SIDE * MAX_SIDE];
	static uint8_t mask[MAX_SIDE * MAX_SIDE];
	OpencvContours c,
				m;
	char		err[128];
	char		why[512];
	int64_t		cols,
				rows;

	if (size < 1)
		return 0;
	cols = 1 + data[0] % MAX_SIDE;
	rows = (int64_t) ((size - 1) * 8) / cols;
	if (rows > MAX_SIDE)
		rows = MAX_SIDE;
	for (int64_t k = 0; k < rows * cols; k++)
	{
		mask[k] = (data[1 + k / 8] >> (k % 8)) & 1;
		img[k] = mask[k] ? 1.0 + (double) ((k * 7919) % 1000) : -1.0;
	}
	REQUIRE(contour_opencv(img, rows, cols, 0.5, &c, &A, err, sizeof(err)) == 0);
	REQUIRE(opencv_check(mask, rows, cols, &c, why, sizeof(why)) == 0);
	REQUIRE(contour_opencv_mask(mask, rows, cols, &m, &A, err, sizeof(err)) == 0);
	REQUIRE(m.n_contours == c.n_contours && m.n_points == c.n_points);
	REQUIRE(memcmp(m.start, c.start, sizeof(int64_t) * (size_t) (c.n_contours + 1)) == 0);
	REQUIRE(c.n_points == 0 || memcmp(m.xy, c.xy, sizeof(int32_t) * 2 * (size_t) c.n_points) == 0);
	/* max_value: the largest value over the outer contour's component */
	{
		int64_t    *lab = malloc(sizeof(int64_t) * (size_t) (rows * cols + 1));
		int64_t		edge;

		opencv_check_label(mask, rows, cols, 1, 8, lab, NULL, &edge);
		for (int64_t i = 0; i < c.n_contours; i++)
		{
			int64_t		a = c.start[i];
			int64_t		s = (int64_t) c.xy[2 * a + 1] * cols + c.xy[2 * a];
			double		want = -INFINITY;

			if (c.parent[i] >= 0)
			{
				REQUIRE(isnan(c.max_value[i]));
				continue;
			}
			for (int64_t k = 0; k < rows * cols; k++)
				if (lab[k] == lab[s] && img[k] > want)
					want = img[k];
			REQUIRE(c.max_value[i] == want);
		}
		free(lab);
	}
	opencv_contours_free(&c, &A);
	opencv_contours_free(&m, &A);
	return 0;
}
