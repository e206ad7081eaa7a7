/*
 * regression.c
 *	  Kernel: regression metrics (MAE, MSE, RMSE, R2) with optional sample
 *	  weights, as scikit-learn 1.2 computes them for one output (see
 *	  regression.h).  Weights act as numpy.average's: each sum is weighted
 *	  and divided by the sum of the weights.  Every sum is compensated
 *	  (Neumaier), so the results do not drift over millions of rows.
 */
#include "regression.h"

#include <math.h>

/* A running Neumaier sum: the sum so far and the low-order bits it lost. */
typedef struct neumaier_sum
{
	double		sum;
	double		comp;
} neumaier_sum;

/*
 * neumaier_add adds x to the running sum, keeping in comp what the rounding
 * of sum + x dropped from the smaller of the two.
 */
static inline void
neumaier_add(neumaier_sum *s, double x)
{
	double		t = s->sum + x;

	if (fabs(s->sum) >= fabs(x))
		s->comp += (s->sum - t) + x;
	else
		s->comp += (x - t) + s->sum;
	s->sum = t;
}

/*
 * neumaier_value returns the compensated total.  Once the sum has overflowed
 * to an infinity, comp holds inf - inf garbage: the total is the sum itself
 * (scikit-learn, summing plainly, returns inf there, not NaN).
 */
static inline double
neumaier_value(const neumaier_sum *s)
{
	if (!isfinite(s->sum))
		return s->sum;
	return s->sum + s->comp;
}

/*
 * weight_total returns the sum of the weights, or n without weights.
 */
static double
weight_total(const double *w, size_t n)
{
	neumaier_sum s = {0.0, 0.0};
	size_t		i;

	if (w == NULL)
		return (double) n;
	for (i = 0; i < n; i++)
		neumaier_add(&s, w[i]);
	return neumaier_value(&s);
}

/*
 * mean_error returns the weighted mean of |y - yhat| (squared false) or of
 * (y - yhat)^2 (squared true).
 */
static double
mean_error(const double *y, const double *yhat, const double *w, size_t n, int squared)
{
	neumaier_sum s = {0.0, 0.0};
	size_t		i;

	for (i = 0; i < n; i++)
	{
		double		d = y[i] - yhat[i];
		double		e = squared ? d * d : fabs(d);

		neumaier_add(&s, w != NULL ? w[i] * e : e);
	}
	return neumaier_value(&s) / weight_total(w, n);
}

/*
 * r2 returns r2_score with force_finite=True: the weighted mean of y first,
 * then the residual and total sums of squares.
 */
static double
r2(const double *y, const double *yhat, const double *w, size_t n)
{
	neumaier_sum sy = {0.0, 0.0};
	neumaier_sum num = {0.0, 0.0};
	neumaier_sum den = {0.0, 0.0};
	double		ybar,
				numerator,
				denominator;
	size_t		i;

	if (n < 2)
		return NAN;

	for (i = 0; i < n; i++)
		neumaier_add(&sy, w != NULL ? w[i] * y[i] : y[i]);
	ybar = neumaier_value(&sy) / weight_total(w, n);

	/*
	 * A constant y_true (over the samples that weigh anything) has its mean
	 * exactly: the weighted sum above can round off by an ulp (2.5 * w / w),
	 * leaving a denominator of 1e-31 where force_finite wants exactly 0.
	 */
	{
		size_t		first = 0;
		int			constant = 1;

		while (first < n && w != NULL && w[first] == 0.0)
			first++;
		for (i = first; i < n && constant; i++)
			if ((w == NULL || w[i] != 0.0) && y[i] != y[first])
				constant = 0;
		if (constant && first < n)
			ybar = y[first];
	}

	for (i = 0; i < n; i++)
	{
		double		d = y[i] - yhat[i];
		double		c = y[i] - ybar;
		double		wi = w != NULL ? w[i] : 1.0;

		neumaier_add(&num, wi * (d * d));
		neumaier_add(&den, wi * (c * c));
	}
	numerator = neumaier_value(&num);
	denominator = neumaier_value(&den);

	if (denominator == 0.0)
		return numerator == 0.0 ? 1.0 : 0.0;
	if (numerator == 0.0)
		return 1.0;
	return 1.0 - numerator / denominator;
}

/*
 * regression_compute dispatches on the metric; NaN for no values.
 */
double
regression_compute(regression_metric metric, const double *y,
				   const double *yhat, const double *w, size_t n)
{
	if (n == 0)
		return NAN;

	switch (metric)
	{
		case REGRESSION_MAE:
			return mean_error(y, yhat, w, n, 0);
		case REGRESSION_MSE:
			return mean_error(y, yhat, w, n, 1);
		case REGRESSION_RMSE:
			return sqrt(mean_error(y, yhat, w, n, 1));
		case REGRESSION_R2:
			return r2(y, yhat, w, n);
	}
	return NAN;
}
