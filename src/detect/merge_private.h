/*
 * merge_private.h
 *	  What the merge kernel's files share (merge.c: single link, DBSCAN and
 *	  the entry point; merge_iterative.c: the iterative mean): the grid
 *	  cells' indices and hash, and the iterative mean.  Pure C.
 */
#ifndef MLOPS_MERGE_PRIVATE_H
#define MLOPS_MERGE_PRIVATE_H

#include <stdint.h>

#include "util/alloc.h"

/*
 * CellHash: linear in ix, so that the three cells of a row of a 3 x 3
 * search mostly fall in neighbouring slots (one cache line).
 */
static inline uint64_t
CellHash(int64_t ix, int64_t iy)
{
	uint64_t	h = (uint64_t) iy * 0x9E3779B97F4A7C15u;

	return (h ^ (h >> 29)) + (uint64_t) ix;
}

/*
 * CellIndex: floor((v - v0) / cell), without a libm call.  Points give 0
 * to 2^32; a query (a mean) may fall outside by rounding, far outside
 * when cells are tiny: it is clamped to +-2^40, where no point is.
 */
static inline int64_t
CellIndex(double v, double v0, double cell)
{
	double		t = (v - v0) / cell;
	int64_t		i;

	if (!(t >= -0x1p40))
		t = -0x1p40;
	else if (t > 0x1p40)
		t = 0x1p40;
	i = (int64_t) t;

	return (double) i > t ? i - 1 : i;
}

/*
 * merge_iterative_mean: merge_similar_sites on n >= 1 finite points (checked
 * by merge_points).  chain[i] (n entries, caller's) receives point i's site
 * in the last round's numbering; *site_xy (allocated with alloc) that
 * round's means, *n_sites of them.  0, or -1 when out of memory.
 */
extern int	merge_iterative_mean(const double *x, const double *y, int64_t n, double radius,
								 int64_t *chain, double **site_xy, int64_t *n_sites,
								 const mlops_allocator *alloc);

#endif							/* MLOPS_MERGE_PRIVATE_H */
