/*
 * regression.h
 *	  Kernel: regression metrics with optional sample weights, as
 *	  scikit-learn 1.2 computes them.  Sums use compensated (Neumaier)
 *	  summation.  Pure C.
 */
#ifndef MLOPS_REGRESSION_H
#define MLOPS_REGRESSION_H

#include <stddef.h>

typedef enum regression_metric
{
	REGRESSION_MAE,				/* mean_absolute_error */
	REGRESSION_MSE,				/* mean_squared_error */
	REGRESSION_RMSE,			/* mean_squared_error(squared=False) */
	REGRESSION_R2				/* r2_score (force_finite=True) */
} regression_metric;

/*
 * regression_compute returns the metric of y against yhat (n values each);
 * w is NULL or n non-negative weights.  The caller has checked that every
 * value is finite and the weights are not all zero.
 *
 * - MAE, MSE: weighted averages of |y - yhat| and (y - yhat)^2; NaN when n == 0.
 * - RMSE: sqrt(MSE).
 * - R2: 1 - sum w (y - yhat)^2 / sum w (y - mean_w(y))^2.  NaN when n < 2
 *   (scikit-learn warns and returns nan); when the denominator is 0 the result
 *   is 1.0 if the numerator is 0 too, else 0.0.
 */
extern double regression_compute(regression_metric metric, const double *y,
								  const double *yhat, const double *w, size_t n);

#endif							/* MLOPS_REGRESSION_H */
