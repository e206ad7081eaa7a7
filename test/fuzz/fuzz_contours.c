/*
 * fuzz_contours.c — libFuzzer target for the cells-mode contour kernel
 * (src/detect/contours.c).
 *
 * The input's first byte chooses the connectivity (4 or 8) and the number
 * of columns (1 to 24); the remaining bytes are mask cells, each byte one
 * cell: bit 0 sets it in, and a byte of 0xFF makes it NaN (never in).
 * Rows are as many as the bytes fill (at most 24).
 *
 * Besides the sanitizers it checks, with test/unit/contour_check.h: every
 * polygon's shoelace area equals its cell count (exterior positive, holes
 * negative), rings closed with no consecutive duplicate points and no
 * collinear vertices, the cells add up to the mask's count, and no two
 * segments meet except at an endpoint of both (rings simple, touching only
 * at vertices); also that every polygon's cells are really in and its
 * max_value is the largest of the values.
 */
#include "detect/contours.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/contour_check.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_SIDE	24

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
	double		img[MAX_SIDE * MAX_SIDE];
	unsigned char mask[MAX_SIDE * MAX_SIDE];
	ContourSet	s;
	char		err[128];
	int64_t		cols,
				rows;
	int			conn;
	double		biggest = -INFINITY;

	if (size < 1)
		return 0;
	conn = (data[0] & 0x80) ? 8 : 4;
	cols = 1 + (data[0] & 0x7F) % MAX_SIDE;
	rows = (int64_t) (size - 1) / cols;
	if (rows > MAX_SIDE)
		rows = MAX_SIDE;
	for (int64_t k = 0; k < rows * cols; k++)
	{
		uint8_t		b = data[1 + k];

		img[k] = b == 0xFF ? NAN : (b & 1) ? 1.0 + b / 2 : -(double) b;
		mask[k] = b != 0xFF && (b & 1);
		if (mask[k] && img[k] > biggest)
			biggest = img[k];
	}
	REQUIRE(contour_cells(img, rows, cols, 0.5, conn, &s, &A, err, sizeof(err)) == 0);
	{
		const char *why = contour_check(&s, mask, rows, cols);

		REQUIRE(why == NULL);
	}
	{
		double		top = -INFINITY;
		int32_t		max_part = -1;

		for (int64_t p = 0; p < s.n_polygons; p++)
		{
			const ContourPolygon *P = &s.polygons[p];

			if (P->max_value > top)
				top = P->max_value;
			REQUIRE(P->part_of >= 0 && P->part_of <= max_part + 1);
			if (P->part_of > max_part)
				max_part = P->part_of;
			if (conn == 4)
				REQUIRE(P->part_of == p);
		}
		REQUIRE(s.n_polygons == 0 || top == biggest);
		REQUIRE(max_part + 1 == s.n_components);
	}
	contour_set_free(&s, &A);
	return 0;
}
