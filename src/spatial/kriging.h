/*
 * kriging.h
 *	  Kernel: ordinary kriging of scattered points onto a regular grid, the
 *	  "kriging" method of mlops.interpolate_raster, with a variogram that is
 *	  given (nugget, sill, range) or fitted from the data.  Pure C: no
 *	  PostgreSQL headers.  Grid and point conventions are grid.h's.
 */
#ifndef MLOPS_KRIGING_H
#define MLOPS_KRIGING_H

#include "spatial/grid.h"

typedef enum vario_model
{
	VARIO_SPHERICAL,
	VARIO_EXPONENTIAL,
	VARIO_GAUSSIAN
} vario_model;

/*
 * A variogram model.  range is the *practical* range a: spherical reaches
 * the sill at a; exponential gamma(h) = c0 + c (1 - exp(-3h/a)); gaussian
 * gamma(h) = c0 + c (1 - exp(-3h^2/a^2)); c0 = nugget, c = sill - nugget.
 * sill == 0 (so nugget == 0) is the "flat" model: every cell gets the mean
 * of its neighbours (the value itself on a data point), variance 0.
 */
typedef struct variogram
{
	vario_model model;
	double		nugget;			/* >= 0 */
	double		sill;			/* total sill (nugget + partial sill), >= nugget */
	double		range;			/* > 0, the practical range */
} variogram;

/* Largest system interp_kriging factors: (n + 1)^2 doubles, 200 MB at 5000. */
#define KRIGING_MAX_GLOBAL 5000

/* variogram_fit uses at most this many point pairs (sampled beyond it). */
#define KRIGING_FIT_MAX_PAIRS 4000000

/* variogram_fit's lag classes when n_lags <= 0, and the most it accepts. */
#define KRIGING_DEFAULT_LAGS 15
#define KRIGING_MAX_LAGS 1000

/*
 * variogram_eval returns gamma(h) for h >= 0; gamma(0) = 0 exactly (the
 * nugget is a discontinuity at 0).
 */
extern double variogram_eval(const variogram *v, double h);

/*
 * variogram_valid is true when v can be used by interp_kriging: finite,
 * nugget >= 0, sill >= nugget, range > 0, a known model; else false with
 * the reason in *why (a static string; why may be NULL).
 */
extern bool variogram_valid(const variogram *v, const char **why);

/*
 * variogram_experimental computes the experimental semivariogram of p over
 * n_lags equal classes of width w = max_lag / n_lags (max_lag <= 0: half
 * the diagonal of the points' bounding box; n_lags <= 0:
 * KRIGING_DEFAULT_LAGS): class k holds the pairs at distance h in
 * [k w, (k + 1) w), the last one also h = max_lag; lag[k] is the mean
 * distance of its pairs, gamma[k] the mean of (v_i - v_j)^2 / 2 and
 * count[k] the number of pairs (0: lag and gamma are 0).  Pairs at
 * distance 0 are skipped.  When there are more than
 * KRIGING_FIT_MAX_PAIRS pairs, that many are drawn with a fixed-seed PRNG
 * (deterministic).  The arrays hold n_lags (resolved) entries; returns
 * the resolved n_lags, or 0 with *why set when n < 2, n_lags >
 * KRIGING_MAX_LAGS or all points share one location.  *max_lag_used (may
 * be NULL) receives the resolved max_lag.
 */
extern int	variogram_experimental(const interp_points *p, int n_lags, double max_lag,
								   double *lag, double *gamma, double *count,
								   double *max_lag_used, const char **why);

/*
 * variogram_fit_lags fits model to an experimental semivariogram (n lag
 * classes: lag > 0, gamma, count; classes with count <= 0 are ignored) by
 * weighted least squares with weights count / lag^2, subject to nugget
 * >= 0, partial sill >= 0: the nugget and partial sill are solved in
 * closed form for each range of a 1-D search (200 log-spaced ranges over
 * [max_lag / (2 n), 3 max_lag], then golden-section refinement around
 * the best).  False, with *why, when fewer than 3 classes have pairs.
 */
extern bool variogram_fit_lags(const double *lag, const double *gamma, const double *count, int n,
							   vario_model model, variogram *out, const char **why);

/*
 * variogram_fit fits v (model given) from the data: variogram_experimental
 * then variogram_fit_lags.  Deterministic.  Returns false, with the reason
 * in *why (a static string), when it cannot fit: fewer than 3 points (or
 * non-finite ones), all values equal, all points at one location, fewer
 * than 3 lag classes with pairs.  Then *out still holds a usable default:
 * nugget 0, sill = the population variance of the values (0 when they are
 * all equal: the flat model, which reproduces a constant), range = the
 * resolved max_lag (1 when it is 0).
 */
extern bool variogram_fit(const interp_points *p, vario_model model, int n_lags, double max_lag,
						  variogram *out, const char **why);

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
