/*
 * test_regression.c — unit tests of the regression-metrics kernel (src/metrics/regression.c).
 *
 * Expected values are what scikit-learn 1.2.1 printed (repr) for
 * mean_absolute_error, mean_squared_error, mean_squared_error(squared=False)
 * and r2_score on the same inputs, e.g.
 *   /usr/bin/python3 -c 'from sklearn.metrics import r2_score; print(repr(r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8])))'
 */
#include <math.h>

#include "metrics/regression.h"
#include "unit.h"

#define TOL 1e-12

/* expect checks all four metrics of one case against scikit-learn's values. */
static void
expect(const char *name, const double *y, const double *yhat, const double *w, size_t n,
	   double mae, double mse, double rmse, double r2)
{
	char		what[128];

	snprintf(what, sizeof(what), "%s: MAE", name);
	CHECK_NEAR(regression_compute(REGRESSION_MAE, y, yhat, w, n), mae, TOL, what);
	snprintf(what, sizeof(what), "%s: MSE", name);
	CHECK_NEAR(regression_compute(REGRESSION_MSE, y, yhat, w, n), mse, TOL, what);
	snprintf(what, sizeof(what), "%s: RMSE", name);
	CHECK_NEAR(regression_compute(REGRESSION_RMSE, y, yhat, w, n), rmse, TOL, what);
	snprintf(what, sizeof(what), "%s: R2", name);
	CHECK_NEAR(regression_compute(REGRESSION_R2, y, yhat, w, n), r2, TOL, what);
}

int
main(void)
{
	/* scikit-learn's documentation example */
	const double doc_y[] = {3, -0.5, 2, 7};
	const double doc_p[] = {2.5, 0.0, 2, 8};
	const double doc_w[] = {1, 2, 0.5, 3};
	const double doc_w0[] = {0, 1, 2, 0.5};
	const double ones[] = {1, 1, 1, 1};
	const double fours[] = {0.25, 0.25, 0.25, 0.25};

	expect("doc example", doc_y, doc_p, NULL, 4,
		   0.5, 0.375, 0.6123724356957945, 0.9486081370449679);
	expect("doc example, weighted", doc_y, doc_p, doc_w, 4,
		   0.6923076923076923, 0.5769230769230769, 0.7595545253127499, 0.9463401210787011);
	expect("doc example, a zero weight", doc_y, doc_p, doc_w0, 4,
		   0.2857142857142857, 0.21428571428571427, 0.4629100498862757, 0.96);
	expect("doc example, unit weights", doc_y, doc_p, ones, 4,
		   0.5, 0.375, 0.6123724356957945, 0.9486081370449679);
	expect("doc example, equal weights 0.25", doc_y, doc_p, fours, 4,
		   0.5, 0.375, 0.6123724356957945, 0.9486081370449679);

	/* one value: R2 is undefined (scikit-learn warns and returns nan) */
	{
		const double y[] = {2.5};
		const double p[] = {3};
		const double w[] = {2};

		expect("n = 1", y, p, NULL, 1, 0.5, 0.25, 0.5, NAN);
		expect("n = 1, weighted", y, p, w, 1, 0.5, 0.25, 0.5, NAN);
	}

	/* two values */
	{
		const double y[] = {1, 2};
		const double p[] = {2, 1};

		expect("n = 2, swapped", y, p, NULL, 2, 1.0, 1.0, 1.0, -3.0);
	}

	/* constant y_true: the denominator is 0 */
	{
		const double y[] = {4, 4, 4};
		const double perfect[] = {4, 4, 4};
		const double imperfect[] = {4, 5, 4};
		const double w[] = {1, 2, 3};

		expect("constant y, perfect", y, perfect, NULL, 3, 0.0, 0.0, 0.0, 1.0);
		expect("constant y, imperfect", y, imperfect, NULL, 3,
			   0.3333333333333333, 0.3333333333333333, 0.5773502691896257, 0.0);
		expect("constant y, imperfect, weighted", y, imperfect, w, 3,
			   0.3333333333333333, 0.3333333333333333, 0.5773502691896257, 0.0);
	}

	/* perfect predictions of varying y */
	{
		const double y[] = {1, 2, 3};

		expect("perfect", y, y, NULL, 3, 0.0, 0.0, 0.0, 1.0);
	}

	/*
	 * 100 generated values, exact in binary and Python alike:
	 * y_i = (i*37 % 101)/7 - 5, yhat_i = y_i + ((i*53 % 17) - 8)/11,
	 * w_i = (i % 5)/2 + 0.25.
	 */
	{
		double		y[100],
					p[100],
					w[100];

		for (int i = 0; i < 100; i++)
		{
			y[i] = (i * 37 % 101) / 7.0 - 5;
			p[i] = y[i] + ((i * 53 % 17) - 8) / 11.0;
			w[i] = (i % 5) / 2.0 + 0.25;
		}
		expect("100 generated", y, p, NULL, 100,
			   0.3818181818181819, 0.19619834710743803, 0.442942826002903, 0.9887758435079136);
		expect("100 generated, weighted", y, p, w, 100,
			   0.37745454545454554, 0.19414876033057846, 0.44062315001663094, 0.9885836370081579);
	}

	/* no values: NaN for every metric */
	expect("n = 0", doc_y, doc_p, NULL, 0, NAN, NAN, NAN, NAN);
	expect("n = 0, weighted", doc_y, doc_p, doc_w, 0, NAN, NAN, NAN, NAN);

	/*
	 * Compensated sums: |errors| of 1e16, a million ones, 1e16.  A plain
	 * running sum loses every 1 (1e16 + 1 == 1e16) and gives 2e16; the
	 * compensated sum is exactly 2e16 + 1e6.  The same for the weights.
	 */
	{
		static double y[1000002];
		static double p[1000002];
		static double w[1000002];
		size_t		n = 1000002;
		double		want = (2e16 + 1e6) / (double) n;

		y[0] = 1e16;
		y[n - 1] = -1e16;
		for (size_t i = 1; i < n - 1; i++)
			y[i] = 1.0;
		for (size_t i = 0; i < n; i++)
		{
			p[i] = 0.0;
			w[i] = (i == 0 || i == n - 1) ? 1e16 : 1.0;
		}
		CHECK_NEAR(regression_compute(REGRESSION_MAE, y, p, NULL, n), want, want * 1e-15,
				   "MAE sum keeps a million ones next to 1e16");
		/* weighted: sum w|e| = 2e32 + 1e6 (the ones are lost: fine), sum w = 2e16 + 1e6 */
		want = 2e32 / (2e16 + 1e6);
		CHECK_NEAR(regression_compute(REGRESSION_MAE, y, p, w, n), want, want * 1e-15,
				   "weight sum keeps a million ones next to 1e16");
	}

	/* Overflow: the error is inf, and so is its mean (scikit-learn 1.2 returns inf, not NaN). */
	{
		double		y[2] = {1e200, 0.0};
		double		p[2] = {-1e200, 0.0};
		double		ya[2] = {1.7e308, 1.0};
		double		pa[2] = {-1.7e308, 2.0};
		double		w[2] = {1.0, 2.0};

		CHECK(isinf(regression_compute(REGRESSION_MSE, y, p, NULL, 2)) &&
			  regression_compute(REGRESSION_MSE, y, p, NULL, 2) > 0, "MSE of 1e200 vs -1e200 is +inf");
		CHECK(isinf(regression_compute(REGRESSION_RMSE, y, p, NULL, 1)), "RMSE of 1e200 vs -1e200 is +inf");
		CHECK(isinf(regression_compute(REGRESSION_MAE, ya, pa, NULL, 2)), "MAE of 1.7e308 vs -1.7e308 is +inf");
		CHECK(isinf(regression_compute(REGRESSION_MAE, ya, pa, w, 2)), "weighted MAE of 1.7e308 vs -1.7e308 is +inf");
	}

	/*
	 * A constant y_true with weights whose weighted mean rounds off (2.5 * w
	 * summed and divided by the sum of w is not exactly 2.5 here): r2 is
	 * exactly 0 (force_finite), not -1e30.  Zero weights do not count.
	 */
	{
		double		y[4] = {2.5, 2.5, 2.5, 7.0};
		double		p[4] = {2.5, 2.0, 3.0, 1.0};
		double		w[4] = {0.5, 2.0734401018944912, 0.9, 0.0};

		CHECK(regression_compute(REGRESSION_R2, y, p, w, 4) == 0.0, "r2 of a weighted constant y_true is exactly 0");
		CHECK(regression_compute(REGRESSION_R2, y, y, w, 4) == 1.0, "r2 of a weighted constant y_true, predicted, is exactly 1");
	}

	return unit_done();
}
