/*
 * uncertainty.c
 *	  Kernel: uncertainty scores of one probability row (entropy, least
 *	  confidence, margin), used to pick samples for active learning, and a
 *	  numerically stable softmax (see uncertainty.h).
 */
#include "uncertainty.h"

#include <math.h>

/*
 * uncertainty_entropy sums -p log(p) with natural logarithms, then divides
 * by log(base).  A zero probability contributes exactly 0 (the limit of
 * p log p), so a one-hot row has entropy 0, not NaN; a negative one gives
 * NaN, as log does.
 */
double
uncertainty_entropy(const double *p, size_t n, double base)
{
	double		h = 0.0;
	double		comp = 0.0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		double		x,
					t;

		if (p[i] == 0.0)
			continue;
		x = -p[i] * log(p[i]);
		/* Neumaier: cheap, and rows can be long (vocabularies) */
		t = h + x;
		if (fabs(h) >= fabs(x))
			comp += (h - t) + x;
		else
			comp += (x - t) + h;
		h = t;
	}
	/* + 0.0 turns -0.0 (from 0 / a negative log) into 0.0 */
	return (h + comp) / log(base) + 0.0;
}

/*
 * uncertainty_least_confidence returns 1 - the largest probability.
 */
double
uncertainty_least_confidence(const double *p, size_t n)
{
	double		max;
	size_t		i;

	if (n == 0)
		return NAN;
	max = p[0];
	for (i = 1; i < n; i++)
		if (p[i] > max)
			max = p[i];
	return 1.0 - max;
}

/*
 * uncertainty_margin finds the two largest values in one pass; equal top
 * values give a margin of 0.
 */
double
uncertainty_margin(const double *p, size_t n)
{
	double		first,
				second;
	size_t		i;

	if (n == 0)
		return NAN;
	if (n == 1)
		return p[0];
	if (p[0] >= p[1])
	{
		first = p[0];
		second = p[1];
	}
	else
	{
		first = p[1];
		second = p[0];
	}
	for (i = 2; i < n; i++)
	{
		if (p[i] > first)
		{
			second = first;
			first = p[i];
		}
		else if (p[i] > second)
			second = p[i];
	}
	return first - second;
}

/*
 * uncertainty_softmax subtracts the maximum before exponentiating, so no
 * exp overflows and the largest term is exactly 1 (the sum is at least 1).
 * Element i of out is written only after x[i] was read, so out may be x.
 */
void
uncertainty_softmax(const double *x, size_t n, double *out)
{
	double		max,
				sum = 0.0,
				comp = 0.0,
				total;
	size_t		i;

	if (n == 0)
		return;
	max = x[0];
	for (i = 1; i < n; i++)
		if (x[i] > max)
			max = x[i];
	for (i = 0; i < n; i++)
	{
		double		e = exp(x[i] - max);
		double		t = sum + e;

		if (sum >= e)
			comp += (sum - t) + e;
		else
			comp += (e - t) + sum;
		sum = t;
		out[i] = e;
	}
	total = sum + comp;
	for (i = 0; i < n; i++)
		out[i] /= total;
}
