/*
 * variogram.h
 *	  Kernel: variogram models, the experimental semivariogram of scattered
 *	  points and the fit of a model to it, for kriging (kriging.h) and
 *	  mlops.fit_variogram.  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_VARIOGRAM_H
#define MLOPS_VARIOGRAM_H

#include <stdbool.h>

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

#endif							/* MLOPS_VARIOGRAM_H */
