/*
 * contour_check.h — checks of a ContourSet shared by test_contours.c and
 * test/fuzz/fuzz_contours.c: returns NULL when the set is sound for the
 * mask, else what is wrong.  Sound means: ring offsets well formed; rings
 * closed, at least 5 points, no consecutive duplicate points, every
 * segment axis-parallel and every vertex a corner (no collinear points);
 * per polygon the exterior's shoelace area is positive, the holes'
 * negative, and their sum is the polygon's cell count; the cell counts
 * add up to the mask's; and no two segments meet except at an endpoint of
 * both (and two segments of one ring only where they follow each other),
 * so every ring is simple and rings touch at most at vertices.
 */
#ifndef MLOPS_CONTOUR_CHECK_H
#define MLOPS_CONTOUR_CHECK_H

#include <stdint.h>
#include <stdlib.h>

#include "detect/contours.h"

static double
contour_ring_area2(const ContourSet *s, int64_t ring)
{
	double		a = 0;

	for (int64_t k = s->ring_start[ring]; k + 1 < s->ring_start[ring + 1]; k++)
		a += s->xy[2 * k] * s->xy[2 * k + 3] - s->xy[2 * k + 2] * s->xy[2 * k + 1];
	return a;
}

/* Segments meet in more than an endpoint of both (both axis-parallel)? */
static int
contour_seg_bad(const double *a0, const double *a1, const double *b0, const double *b1, int adjacent)
{
	double		ax0 = a0[0] < a1[0] ? a0[0] : a1[0], ax1 = a0[0] < a1[0] ? a1[0] : a0[0];
	double		ay0 = a0[1] < a1[1] ? a0[1] : a1[1], ay1 = a0[1] < a1[1] ? a1[1] : a0[1];
	double		bx0 = b0[0] < b1[0] ? b0[0] : b1[0], bx1 = b0[0] < b1[0] ? b1[0] : b0[0];
	double		by0 = b0[1] < b1[1] ? b0[1] : b1[1], by1 = b0[1] < b1[1] ? b1[1] : b0[1];
	double		ix0 = ax0 > bx0 ? ax0 : bx0, ix1 = ax1 < bx1 ? ax1 : bx1;
	double		iy0 = ay0 > by0 ? ay0 : by0, iy1 = ay1 < by1 ? ay1 : by1;
	int			a_end, b_end;

	if (ix0 > ix1 || iy0 > iy1)
		return 0;				/* disjoint */
	if (ix0 != ix1 || iy0 != iy1)
		return 1;				/* overlap along a stretch */
	if (adjacent)
		return 0;				/* consecutive segments share their joint */
	a_end = (ix0 == a0[0] && iy0 == a0[1]) || (ix0 == a1[0] && iy0 == a1[1]);
	b_end = (ix0 == b0[0] && iy0 == b0[1]) || (ix0 == b1[0] && iy0 == b1[1]);
	return !(a_end && b_end) ? 1 : 2;	/* 2: touch at a shared vertex */
}

static const char *
contour_check(const ContourSet *s, const unsigned char *mask, int64_t rows, int64_t cols)
{
	int64_t		total = 0,
				want = 0;

	for (int64_t k = 0; k < rows * cols; k++)
		want += mask[k] ? 1 : 0;
	if (s->n_rings > 0 && s->ring_start[0] != 0)
		return "ring_start[0] != 0";
	if (s->n_rings > 0 && s->ring_start[s->n_rings] != s->n_points)
		return "ring_start[n_rings] != n_points";
	for (int64_t p = 0; p < s->n_polygons; p++)
	{
		const ContourPolygon *P = &s->polygons[p];
		double		sum = 0;

		if (P->n_rings < 1)
			return "a polygon without rings";
		if (P->first_ring < 0 || P->first_ring + P->n_rings > s->n_rings)
			return "a polygon's rings are out of range";
		if (p > 0 && P->first_ring != s->polygons[p - 1].first_ring + s->polygons[p - 1].n_rings)
			return "polygons' rings are not consecutive";
		for (int32_t g = 0; g < P->n_rings; g++)
		{
			int64_t		ring = P->first_ring + g;
			int64_t		a = s->ring_start[ring],
						b = s->ring_start[ring + 1];
			double		area;

			if (b - a < 5)
				return "a ring with fewer than 5 points";
			if (s->xy[2 * a] != s->xy[2 * (b - 1)] || s->xy[2 * a + 1] != s->xy[2 * (b - 1) + 1])
				return "a ring is not closed";
			for (int64_t k = a; k + 1 < b; k++)
			{
				const double *u = s->xy + 2 * k,
						   *v = s->xy + 2 * k + 2;
				const double *w = k + 2 < b ? s->xy + 2 * k + 4 : s->xy + 2 * a + 2;

				if (u[0] == v[0] && u[1] == v[1])
					return "consecutive duplicate points";
				if (u[0] != v[0] && u[1] != v[1])
					return "a segment that is not axis-parallel";
				if ((u[0] == v[0] && v[0] == w[0]) || (u[1] == v[1] && v[1] == w[1]))
					return "a collinear intermediate vertex";
				if (u[0] < P->xmin || u[0] > P->xmax || u[1] < P->ymin || u[1] > P->ymax)
					return "a point outside the bounding box";
			}
			area = contour_ring_area2(s, ring) / 2;
			if (g == 0 && !(area > 0))
				return "an exterior ring that is not counter-clockwise";
			if (g > 0 && !(area < 0))
				return "a hole that is not clockwise";
			sum += area;
		}
		if (sum != (double) P->cells)
			return "a polygon's shoelace area differs from its cell count";
		total += P->cells;
	}
	if (total != want)
		return "the polygons' cells do not add up to the mask's";

	/* Segment intersections, all pairs (small inputs only). */
	if (s->n_points <= 4000)
	{
		for (int64_t r1 = 0; r1 < s->n_rings; r1++)
			for (int64_t k1 = s->ring_start[r1]; k1 + 1 < s->ring_start[r1 + 1]; k1++)
				for (int64_t r2 = r1; r2 < s->n_rings; r2++)
					for (int64_t k2 = (r2 == r1 ? k1 + 1 : s->ring_start[r2]); k2 + 1 < s->ring_start[r2 + 1]; k2++)
					{
						int			adjacent = 0;
						int			bad;

						if (r1 == r2)
						{
							int64_t		first = s->ring_start[r1],
										last = s->ring_start[r1 + 1] - 2;

							adjacent = (k2 == k1 + 1) || (k1 == first && k2 == last);
						}
						bad = contour_seg_bad(s->xy + 2 * k1, s->xy + 2 * k1 + 2,
											  s->xy + 2 * k2, s->xy + 2 * k2 + 2, adjacent);
						if (bad == 1)
							return "two segments cross or overlap";
						if (bad == 2 && r1 == r2)
							return "a ring touches itself";
					}
	}
	return NULL;
}

#endif							/* MLOPS_CONTOUR_CHECK_H */
