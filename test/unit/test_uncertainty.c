/*
 * test_uncertainty.c — unit tests of the uncertainty kernel (src/metrics/uncertainty.c).
 */
#include "metrics/uncertainty.h"
#include "unit.h"

#define TOL 1e-12
#define E_CONSTANT 2.718281828459045

int
main(void)
{
	/* entropy */
	{
		const double half[] = {0.5, 0.5};
		const double onehot[] = {1.0, 0.0};
		const double onehot3[] = {0.0, 1.0, 0.0};
		const double quarter[] = {0.25, 0.25, 0.25, 0.25};
		const double skew[] = {0.7, 0.2, 0.1};
		const double withzero[] = {0.7, 0.0, 0.2, 0.1, 0.0};
		double		h_skew = -(0.7 * log(0.7) + 0.2 * log(0.2) + 0.1 * log(0.1));
		double		h;

		CHECK_NEAR(uncertainty_entropy(half, 2, 2.0), 1.0, TOL, "entropy [0.5, 0.5] base 2 = 1");
		h = uncertainty_entropy(onehot, 2, 2.0);
		CHECK(!isnan(h), "entropy [1, 0] is not NaN");
		CHECK(h == 0.0 && !signbit(h), "entropy [1, 0] = +0");
		CHECK(uncertainty_entropy(onehot3, 3, E_CONSTANT) == 0.0, "entropy [0, 1, 0] = 0");
		CHECK_NEAR(uncertainty_entropy(quarter, 4, 2.0), 2.0, TOL, "entropy [0.25]*4 base 2 = 2");
		CHECK_NEAR(uncertainty_entropy(quarter, 4, 4.0), 1.0, TOL, "entropy [0.25]*4 base 4 = 1");
		CHECK_NEAR(uncertainty_entropy(half, 2, E_CONSTANT), log(2.0), TOL, "entropy [0.5, 0.5] base e = ln 2");
		CHECK_NEAR(uncertainty_entropy(quarter, 4, E_CONSTANT), log(4.0), TOL, "entropy [0.25]*4 base e = ln 4");
		CHECK_NEAR(uncertainty_entropy(quarter, 4, 10.0), log10(4.0), TOL, "entropy [0.25]*4 base 10 = log10 4");
		CHECK_NEAR(uncertainty_entropy(skew, 3, E_CONSTANT), h_skew, TOL, "entropy [0.7, 0.2, 0.1] base e");
		/* scipy.stats.entropy([0.7, 0.2, 0.1]), as scipy 1.10 printed it */
		CHECK_NEAR(uncertainty_entropy(skew, 3, E_CONSTANT), 0.8018185525433373, TOL, "entropy [0.7, 0.2, 0.1] as scipy");
		CHECK_NEAR(uncertainty_entropy(skew, 3, 10.0), h_skew / log(10.0), TOL, "entropy [0.7, 0.2, 0.1] base 10");
		CHECK_NEAR(uncertainty_entropy(withzero, 5, 2.0), h_skew / log(2.0), TOL, "zeros contribute nothing");
		CHECK(uncertainty_entropy(half, 0, 2.0) == 0.0, "entropy of an empty row = 0");
		CHECK_NEAR(uncertainty_entropy(half, 2, 0.5), -1.0, TOL, "entropy base 0.5 = -(base 2)");
	}

	/* least confidence */
	{
		const double p[] = {0.1, 0.6, 0.3};
		const double one[] = {0.42};
		const double onehot[] = {0.0, 1.0};

		CHECK_NEAR(uncertainty_least_confidence(p, 3), 0.4, TOL, "least confidence [0.1, 0.6, 0.3] = 0.4");
		CHECK_NEAR(uncertainty_least_confidence(one, 1), 0.58, TOL, "least confidence of one value");
		CHECK(uncertainty_least_confidence(onehot, 2) == 0.0, "least confidence of one-hot = 0");
		CHECK(isnan(uncertainty_least_confidence(p, 0)), "least confidence of an empty row is NaN");
	}

	/* margin */
	{
		const double p[] = {0.1, 0.6, 0.3};
		const double first_last[] = {0.5, 0.1, 0.05, 0.35};
		const double ascending[] = {0.1, 0.2, 0.3, 0.4};
		const double tie[] = {0.4, 0.2, 0.4};
		const double tie_first[] = {0.45, 0.45, 0.1};
		const double three_way[] = {0.2, 0.2, 0.2, 0.2, 0.2};
		const double one[] = {0.42};

		CHECK_NEAR(uncertainty_margin(p, 3), 0.3, TOL, "margin [0.1, 0.6, 0.3] = 0.3");
		CHECK_NEAR(uncertainty_margin(first_last, 4), 0.15, TOL, "margin, top two at the ends");
		CHECK_NEAR(uncertainty_margin(ascending, 4), 0.1, TOL, "margin, ascending row");
		CHECK(uncertainty_margin(tie, 3) == 0.0, "margin of a tie (apart) = 0");
		CHECK(uncertainty_margin(tie_first, 3) == 0.0, "margin of a tie (first two) = 0");
		CHECK(uncertainty_margin(three_way, 5) == 0.0, "margin of a uniform row = 0");
		CHECK_NEAR(uncertainty_margin(one, 1), 0.42, 0, "margin of one value is that value");
		CHECK_NEAR(uncertainty_margin(p, 2), 0.5, TOL, "margin of two values");
		CHECK(isnan(uncertainty_margin(p, 0)), "margin of an empty row is NaN");
	}

	/* softmax */
	{
		const double x[] = {1.0, 2.0, 3.0};
		const double big[] = {1000.0, 1001.0};
		const double neg[] = {-1000.0, -1001.0, -1002.0};
		double		out[3];
		double		inplace[3] = {1.0, 2.0, 3.0};
		double		z = exp(1.0) + exp(2.0) + exp(3.0);
		double		e1 = exp(-1.0);
		double		untouched = 7.0;

		uncertainty_softmax(x, 3, out);
		CHECK_NEAR(out[0] + out[1] + out[2], 1.0, TOL, "softmax sums to 1");
		CHECK_NEAR(out[0], exp(1.0) / z, TOL, "softmax [1, 2, 3][0] = e^1 / sum");
		CHECK_NEAR(out[1], exp(2.0) / z, TOL, "softmax [1, 2, 3][1] = e^2 / sum");
		CHECK_NEAR(out[2], exp(3.0) / z, TOL, "softmax [1, 2, 3][2] = e^3 / sum");
		/* scipy.special.softmax([1, 2, 3]), as scipy 1.10 printed it */
		CHECK_NEAR(out[0], 0.09003057317038043, TOL, "softmax [1, 2, 3][0] as scipy");
		CHECK_NEAR(out[2], 0.6652409557748218, TOL, "softmax [1, 2, 3][2] as scipy");

		uncertainty_softmax(big, 2, out);
		CHECK(!isnan(out[0]) && !isnan(out[1]), "softmax [1000, 1001] is finite");
		CHECK_NEAR(out[0], e1 / (1.0 + e1), TOL, "softmax [1000, 1001][0] = 1 / (1 + e)");
		CHECK_NEAR(out[1], 1.0 / (1.0 + e1), TOL, "softmax [1000, 1001][1] = e / (1 + e)");
		CHECK_NEAR(out[0] + out[1], 1.0, TOL, "softmax [1000, 1001] sums to 1");

		uncertainty_softmax(neg, 3, out);
		CHECK(out[0] > 0.0 && out[2] > 0.0, "softmax of large negatives does not underflow to 0");
		CHECK_NEAR(out[0], 1.0 / (1.0 + e1 + e1 * e1), TOL, "softmax [-1000, -1001, -1002][0]");

		uncertainty_softmax(inplace, 3, inplace);
		CHECK_NEAR(inplace[0], exp(1.0) / z, TOL, "in-place softmax [0]");
		CHECK_NEAR(inplace[1], exp(2.0) / z, TOL, "in-place softmax [1]");
		CHECK_NEAR(inplace[2], exp(3.0) / z, TOL, "in-place softmax [2]");

		uncertainty_softmax(x, 1, out);
		CHECK(out[0] == 1.0, "softmax of one value is 1");
		uncertainty_softmax(x, 0, &untouched);
		CHECK(untouched == 7.0, "softmax of nothing writes nothing");
	}

	return unit_done();
}
