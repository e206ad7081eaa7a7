/*
 * kdtree.h
 *	  Kernel: a 2-D k-d tree over scattered points, for the gridders'
 *	  neighbour searches.  Every search gives the exact answer of a
 *	  brute-force search, with d^2 = dx * dx + dy * dy rounded as written.
 *	  Equidistant points (exact duplicates above all) are ordered as GDAL
 *	  orders them: the k-nearest searches by lower input index (invdistnn's
 *	  sorted list keeps the first of equal distances), the single-nearest
 *	  searches by higher input index (GDAL's nearest keeps the last point
 *	  with d^2 <= the best, and its quadtree lists duplicates in input
 *	  order).  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_KDTREE_H
#define MLOPS_KDTREE_H

#include <stddef.h>

typedef struct kdtree kdtree;

/*
 * kdtree_build indexes the n points (copying coordinates); points with a
 * NaN coordinate are left out (their distance is NaN, which no search
 * accepts).  NULL when out of memory.
 */
extern kdtree *kdtree_build(const double *x, const double *y, size_t n);

/* kdtree_build_finite is kdtree_build leaving out infinite coordinates too. */
extern kdtree *kdtree_build_finite(const double *x, const double *y, size_t n);
extern void kdtree_free(kdtree *t);

/*
 * kdtree_nearest_k writes to idx/d2 the k nearest points to (x, y) within
 * radius (0: unlimited), nearest first, ties by index; returns how many.
 * kdtree_nearest_k_bound is the same with the squared radius given
 * (INFINITY: unlimited), for searches that know a bound.
 */
extern size_t kdtree_nearest_k(const kdtree *t, double x, double y, size_t k, double radius,
							   size_t *idx, double *d2);
extern size_t kdtree_nearest_k_bound(const kdtree *t, double x, double y, size_t k, double r2,
									 size_t *idx, double *d2);

/*
 * kdtree_nearest1 returns the input index of the nearest point to (x, y)
 * with d^2 <= r2 (ties: the higher index), or SIZE_MAX for none.  *pos is
 * a tree position to try first (start with 0; a grid search passes the
 * previous cell's, which makes the search short); it becomes the answer's
 * position when there is one.
 */
extern size_t kdtree_nearest1(const kdtree *t, double x, double y, double r2, size_t *pos);

/*
 * kdtree_nearest_in_rect returns the input index of the nearest point to
 * (x, y) among those in the rectangle rect[0] <= x <= rect[1], rect[2] <=
 * y <= rect[3] (infinite bounds allowed), ties to the higher index, with
 * its squared distance in *dsq; -1 when the rectangle holds none.  *pos is
 * a tree position to try first, or -1 (a grid search passes the previous
 * cell's); it becomes the answer's position.
 */
extern long kdtree_nearest_in_rect(const kdtree *t, double x, double y, const double rect[4],
								   long *pos, double *dsq);

#endif							/* MLOPS_KDTREE_H */
