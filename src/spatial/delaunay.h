/*
 * delaunay.h
 *	  Kernel: Delaunay triangulation of scattered points (exact predicates,
 *	  so any input, however degenerate) and the "linear" method of
 *	  mlops.interpolate_raster (GDAL gdal_grid's "linear", GDALGridLinear):
 *	  barycentric interpolation in the triangle that holds the cell centre
 *	  (a centre on the hull boundary is inside); outside the convex hull the
 *	  value of the nearest point or nodata, as radius says.  The
 *	  triangulation is delaunay.c, its predicates predicates.c, the gridder
 *	  linear.c.  Pure C: no PostgreSQL headers.  Grid and point conventions
 *	  are grid.h's.
 */
#ifndef MLOPS_DELAUNAY_H
#define MLOPS_DELAUNAY_H

#include <stddef.h>

#include "spatial/grid.h"

/* Most points delaunay_build / interp_linear accept (INTERP_TOO_LARGE beyond). */
#define DELAUNAY_MAX_POINTS ((size_t) 1 << 29)

typedef struct linear_options
{
	/*
	 * Outside the hull: 0 -> nodata; > 0 -> value of the nearest point
	 * within radius, else nodata; < 0 -> nearest point at any distance
	 * (GDAL's default -1).  "Within radius" and "nearest" are GDAL's (its
	 * quadtree search): > 0 means in the square of half-side radius around
	 * the cell (so a point up to radius * sqrt(2) away counts); < 0 means
	 * the nearest point in the first non-empty square of half-side s0, 2 s0,
	 * 4 s0, ... with s0 = sqrt(area of the points' bounding box / n), which
	 * is usually, not always, the nearest point.  Equidistant points: the
	 * higher index wins, as in GDAL's nearest.
	 */
	double		radius;
	double		nodata;
} linear_options;

typedef struct delaunay delaunay;

/*
 * delaunay_build triangulates n points (copying what it needs); NULL when
 * out of memory or n > DELAUNAY_MAX_POINTS.  Exact duplicate points: the
 * last in input order is kept, the others ignored (two readings at one
 * spot: the later one, the rule of the nearest gridder, which is GDAL's);
 * points with a NaN or infinite coordinate are ignored.  Fewer than 3
 * non-collinear points: a triangulation with no triangles (not NULL).
 */
extern delaunay *delaunay_build(const double *x, const double *y, size_t n);
extern size_t delaunay_ntriangles(const delaunay *d);

/* delaunay_triangle: triangle t's three point indices (input indices), counter-clockwise. */
extern void delaunay_triangle(const delaunay *d, size_t t, size_t idx[3]);

/*
 * delaunay_neighbor: the triangle across the edge of t opposite its vertex
 * i (0..2), or -1 when that edge is on the convex hull.
 */
extern long delaunay_neighbor(const delaunay *d, size_t t, int i);

/*
 * delaunay_locate: a triangle whose closed area holds (x, y), or -1 when
 * the point is outside the convex hull (or there are no triangles).  It
 * walks from triangle 0 (about sqrt(triangles) steps): for tests and
 * occasional look-ups, not for filling grids.
 */
extern long delaunay_locate(const delaunay *d, double x, double y);

extern void delaunay_free(delaunay *d);

/*
 * Exact predicates (adaptive, so as fast as plain floating point on all
 * but near-degenerate input), the ones the triangulation uses.
 * delaunay_orient2d: the sign of the area of (a, b, c): +1 counter-
 * clockwise, -1 clockwise, 0 collinear.  delaunay_incircle: for a, b, c
 * counter-clockwise, +1 when d is strictly inside their circumcircle, -1
 * outside, 0 on it (the sign flips for a clockwise a, b, c).
 */
extern int	delaunay_orient2d(double ax, double ay, double bx, double by, double cx, double cy);
extern int	delaunay_incircle(double ax, double ay, double bx, double by, double cx, double cy,
							  double dx, double dy);

/*
 * interp_linear fills out (width * height doubles) with GDAL "linear".
 * No points: every cell nodata; fewer than 3 non-collinear points (where
 * GDAL fails): no triangle, every cell follows radius.  Two points at one
 * spot: the later one counts, inside the hull and out.  (GDAL hands
 * duplicates to qhull, whose vertex is whichever copy its insertion
 * history met first: measured on GDAL 3.6, the earlier copy at 58% of
 * 875 duplicated spots, the later at 42%, with no rule in the input order;
 * outside the hull GDAL's nearest takes the later.)  The output is the
 * same, bit for bit, for any exec->threads.  Returns INTERP_OK,
 * INTERP_NOMEM, INTERP_CANCELLED or INTERP_TOO_LARGE (more than
 * DELAUNAY_MAX_POINTS points).  exec may be NULL: one thread, no cancel.
 */
extern interp_status interp_linear(const interp_points *p, const interp_grid *g, const linear_options *o,
								   const interp_exec *exec, double *out);

#endif							/* MLOPS_DELAUNAY_H */
