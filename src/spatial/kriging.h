/*
 * kriging.h
 *	  Kernel: ordinary kriging of scattered points onto a regular grid, the
 *	  "kriging" method of mlops.interpolate_raster, with a variogram that is
 *	  given (nugget, sill, range) or fitted from the data (variogram.h).
 *	  Pure C: no PostgreSQL headers.  Grid and point conventions are
 *	  grid.h's.
 */
#ifndef MLOPS_KRIGING_H
#define MLOPS_KRIGING_H

#include "spatial/grid.h"
#include "spatial/variogram.h"

/* Largest system interp_kriging factors: (n + 1)^2 doubles, 200 MB at 5000. */
#define KRIGING_MAX_GLOBAL 5000

typedef struct kriging_options
{
	variogram	v;
	int			max_points;		/* neighbours per cell via the k-d tree; 0: all points */
	double		radius;			/* > 0: only neighbours within radius; 0: unlimited */
	int			min_points;		/* fewer neighbours than this -> nodata; <= 0 means 1 */
	double		nodata;
} kriging_options;

/*
 * kriging_point solves the ordinary kriging system of all points of p for
 * the location (x0, y0), as interp_kriging does for one cell in global
 * mode (same deduplication, same fallbacks): weights (p->n doubles, or
 * NULL) gets each point's weight (0 for ignored points and duplicates),
 * *lagrange (may be NULL) the Lagrange multiplier of the covariance-form
 * system sum_j w_j C_ij + mu = C_i0 (C = sill - gamma; 0 when the
 * location is on a data point or the mean is taken), *estimate and
 * *variance (either may be NULL) the estimate and kriging variance.
 * False when v is invalid, there is no usable point, more than
 * KRIGING_MAX_GLOBAL distinct points, or out of memory.
 */
extern bool kriging_point(const interp_points *p, const variogram *v, double x0, double y0,
						  double *weights, double *lagrange, double *estimate, double *variance);

/*
 * interp_kriging fills out (width * height doubles) with ordinary kriging
 * estimates, and variance (NULL if not wanted) with the kriging variance.
 *
 * Points with a non-finite coordinate or value are ignored; of points at
 * identical coordinates only the first (lowest index) is used.  A cell
 * centre exactly on a data point takes its value (variance 0).  Cells with
 * fewer than min_points neighbours get nodata in out and variance.
 *
 * max_points == 0 and radius == 0: global ("dual") kriging, the
 * (n + 1)^2 system is factored once (O(n^3), threaded, cancellable) and
 * each cell is O(n); with variance each cell also needs a solve, O(n^2):
 * costly beyond a few hundred points on large grids.  Otherwise local
 * kriging with the k = max_points (0: all) nearest points within radius,
 * one (k + 1)^2 system per cell, its factorisation reused while the
 * neighbour set does not change.
 *
 * The Gaussian model without a nugget is badly conditioned on dense data:
 * such systems get a micro-nugget (1e-10 of the sill) on the diagonal;
 * prefer a small real nugget with it.
 *
 * Returns INTERP_OK, INTERP_NOMEM, INTERP_CANCELLED, or INTERP_TOO_LARGE
 * when one system could hold more than KRIGING_MAX_GLOBAL points, i.e.
 * min(max_points, distinct points) > KRIGING_MAX_GLOBAL with max_points 0
 * counting as all (global mode, or a radius alone).  An invalid variogram
 * (see variogram_valid) fills out and variance with nodata and returns
 * INTERP_OK: the caller should validate first.  exec may be NULL.
 */
extern interp_status interp_kriging(const interp_points *p, const interp_grid *g, const kriging_options *o,
									const interp_exec *exec, double *out, double *variance);

#endif							/* MLOPS_KRIGING_H */
