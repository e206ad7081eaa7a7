/*
 * classify.c
 *	  Kernel: confusion counting and the precision / recall / F-beta
 *	  arithmetic of scikit-learn 1.2 (sklearn/metrics/_classification.py:
 *	  multilabel_confusion_matrix, _prf_divide, precision_recall_fscore_support).
 *	  Sums are compensated (Neumaier) so that long inputs stay exact to the
 *	  last bits that scikit-learn's pairwise sums keep.
 */
#include "classify.h"

#include <math.h>
#include <string.h>

/* A compensated running sum. */
typedef struct ksum
{
	double		s;
	double		c;
} ksum;

static inline void
ksum_add(ksum *k, double x)
{
	double		t = k->s + x;

	if (fabs(k->s) >= fabs(x))
		k->c += (k->s - t) + x;
	else
		k->c += (x - t) + k->s;
	k->s = t;
}

static inline double
ksum_value(const ksum *k)
{
	return k->s + k->c;
}

/*
 * confusion_add counts samples into the matrix.  Weights of 1 are added as
 * integers would be: doubles are exact up to 2^53 samples.
 */
void
confusion_add(double *matrix, size_t k, const int32_t *y_true,
			  const int32_t *y_pred, const double *w, size_t n)
{
	if (w == NULL)
	{
		for (size_t i = 0; i < n; i++)
			matrix[(size_t) y_true[i] * k + (size_t) y_pred[i]] += 1.0;
	}
	else
	{
		for (size_t i = 0; i < n; i++)
			matrix[(size_t) y_true[i] * k + (size_t) y_pred[i]] += w[i];
	}
}

void
label_counts(const int32_t *y_true, const int32_t *y_pred, const double *w,
			 size_t n, size_t k, double *tp, double *pred, double *truth)
{
	memset(tp, 0, sizeof(double) * k);
	memset(pred, 0, sizeof(double) * k);
	memset(truth, 0, sizeof(double) * k);
	for (size_t i = 0; i < n; i++)
	{
		double		wi = w ? w[i] : 1.0;

		if (y_true[i] == y_pred[i])
			tp[y_true[i]] += wi;
		pred[y_pred[i]] += wi;
		truth[y_true[i]] += wi;
	}
}

/*
 * codes_correct counts agreements; the unweighted loop is branch-free so
 * that a million labels take well under a millisecond.
 */
double
codes_correct(const int32_t *y_true, const int32_t *y_pred, const double *w,
			  size_t n)
{
	if (w == NULL)
	{
		size_t		c = 0;

		for (size_t i = 0; i < n; i++)
			c += (y_true[i] == y_pred[i]);
		return (double) c;
	}
	else
	{
		ksum		s = {0, 0};

		for (size_t i = 0; i < n; i++)
			if (y_true[i] == y_pred[i])
				ksum_add(&s, w[i]);
		return ksum_value(&s);
	}
}

/*
 * confusion_label_counts reads per-label counts off the matrix: the
 * diagonal, the column sums (predicted) and the row sums (true).
 */
void
confusion_label_counts(const double *matrix, size_t k, const int32_t *sel,
					   size_t m, double *tp, double *pred, double *truth)
{
	for (size_t j = 0; j < m; j++)
	{
		ksum		ps = {0, 0};
		ksum		ts = {0, 0};
		int32_t		c = sel[j];

		if (c < 0 || (size_t) c >= k)
		{
			tp[j] = pred[j] = truth[j] = 0.0;
			continue;
		}
		for (size_t i = 0; i < k; i++)
		{
			ksum_add(&ps, matrix[i * k + (size_t) c]);
			ksum_add(&ts, matrix[(size_t) c * k + i]);
		}
		tp[j] = matrix[(size_t) c * k + (size_t) c];
		pred[j] = ksum_value(&ps);
		truth[j] = ksum_value(&ts);
	}
}

double
confusion_correct(const double *matrix, size_t k)
{
	ksum		s = {0, 0};

	for (size_t i = 0; i < k; i++)
		ksum_add(&s, matrix[i * k + i]);
	return ksum_value(&s);
}

double
confusion_total(const double *matrix, size_t k)
{
	ksum		s = {0, 0};

	for (size_t i = 0; i < k * k; i++)
		ksum_add(&s, matrix[i]);
	return ksum_value(&s);
}

/*
 * indicator_label_counts sums, per selected column, the samples where the
 * truth and the prediction are 1 (weighted).
 */
void
indicator_label_counts(const uint8_t *y_true, const uint8_t *y_pred, size_t n,
					   size_t width, const double *w, const int32_t *cols,
					   size_t m, double *tp, double *pred, double *truth)
{
	for (size_t j = 0; j < m; j++)
	{
		ksum		a = {0, 0};
		ksum		b = {0, 0};
		ksum		c = {0, 0};
		size_t		col = (size_t) cols[j];

		for (size_t i = 0; i < n; i++)
		{
			double		wi = w ? w[i] : 1.0;
			uint8_t		t = y_true[i * width + col];
			uint8_t		p = y_pred[i * width + col];

			if (t && p)
				ksum_add(&a, wi);
			if (p)
				ksum_add(&b, wi);
			if (t)
				ksum_add(&c, wi);
		}
		tp[j] = ksum_value(&a);
		pred[j] = ksum_value(&b);
		truth[j] = ksum_value(&c);
	}
}

/*
 * indicator_sample_counts counts, per sample, over the selected columns.
 * scikit-learn's samplewise counts are unweighted; the sample weights enter
 * in the average.
 */
void
indicator_sample_counts(const uint8_t *y_true, const uint8_t *y_pred, size_t n,
						size_t width, const int32_t *cols, size_t m,
						double *tp, double *pred, double *truth)
{
	for (size_t i = 0; i < n; i++)
	{
		double		a = 0,
					b = 0,
					c = 0;

		for (size_t j = 0; j < m; j++)
		{
			uint8_t		t = y_true[i * width + (size_t) cols[j]];
			uint8_t		p = y_pred[i * width + (size_t) cols[j]];

			a += (t && p);
			b += p;
			c += t;
		}
		tp[i] = a;
		pred[i] = b;
		truth[i] = c;
	}
}

double
indicator_subset_correct(const uint8_t *y_true, const uint8_t *y_pred, size_t n,
						 size_t width, const double *w)
{
	ksum		s = {0, 0};

	for (size_t i = 0; i < n; i++)
		if (memcmp(y_true + i * width, y_pred + i * width, width) == 0)
			ksum_add(&s, w ? w[i] : 1.0);
	return ksum_value(&s);
}

/*
 * prf_per_label: scikit-learn's _prf_divide for precision and recall, then
 * the F-beta formula with its "denominator 0 becomes 1" rule.
 */
void
prf_per_label(const double *tp, const double *pred, const double *truth,
			  size_t m, double beta, double zero_division,
			  double *precision, double *recall, double *fbeta)
{
	double		beta2 = beta * beta;

	for (size_t j = 0; j < m; j++)
	{
		double		p = pred[j] == 0.0 ? zero_division : tp[j] / pred[j];
		double		r = truth[j] == 0.0 ? zero_division : tp[j] / truth[j];
		double		f;

		if (isinf(beta) && beta > 0)
			f = r;
		else if (isnan(p) || isnan(r))
			f = NAN;
		else
		{
			double		denom = beta2 * p + r;

			if (denom == 0.0)
				denom = 1.0;
			f = (1.0 + beta2) * p * r / denom;
		}
		precision[j] = p;
		recall[j] = r;
		fbeta[j] = f;
	}
}

/*
 * weighted_mean is numpy.average: sum(w x) / sum(w).
 */
double
weighted_mean(const double *x, const double *w, size_t n)
{
	ksum		num = {0, 0};
	ksum		den = {0, 0};

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
	{
		double		wi = w ? w[i] : 1.0;

		ksum_add(&num, wi * x[i]);
		ksum_add(&den, wi);
	}
	if (ksum_value(&den) == 0.0)
		return NAN;
	return ksum_value(&num) / ksum_value(&den);
}

/*
 * NanWeightedMean is weighted_mean over the entries whose x is not NaN
 * (numpy's nanmean with weights), for zero_division = NaN.
 */
static double
NanWeightedMean(const double *x, const double *w, size_t n)
{
	ksum		num = {0, 0};
	ksum		den = {0, 0};

	for (size_t i = 0; i < n; i++)
	{
		double		wi = w ? w[i] : 1.0;

		if (isnan(x[i]))
			continue;
		ksum_add(&num, wi * x[i]);
		ksum_add(&den, wi);
	}
	if (ksum_value(&den) == 0.0)
		return NAN;
	return ksum_value(&num) / ksum_value(&den);
}

void
prf_average(const double *tp, const double *pred, const double *truth,
			size_t m, double beta, metric_average average,
			double zero_division, const double *w, double *scratch,
			double out[3])
{
	double	   *p = scratch;
	double	   *r = scratch + m;
	double	   *f = scratch + 2 * m;
	const double *weights = NULL;
	double		(*mean) (const double *, const double *, size_t);

	mean = isnan(zero_division) ? NanWeightedMean : weighted_mean;

	if (m == 0)
	{
		out[0] = out[1] = out[2] = NAN;
		return;
	}

	if (average == AVERAGE_MICRO)
	{
		ksum		a = {0, 0},
					b = {0, 0},
					c = {0, 0};
		double		sa,
					sb,
					sc;

		for (size_t j = 0; j < m; j++)
		{
			ksum_add(&a, tp[j]);
			ksum_add(&b, pred[j]);
			ksum_add(&c, truth[j]);
		}
		sa = ksum_value(&a);
		sb = ksum_value(&b);
		sc = ksum_value(&c);
		prf_per_label(&sa, &sb, &sc, 1, beta, zero_division, &out[0], &out[1], &out[2]);
		return;
	}

	if (average == AVERAGE_WEIGHTED)
	{
		ksum		t = {0, 0},
					q = {0, 0};

		for (size_t j = 0; j < m; j++)
		{
			ksum_add(&t, truth[j]);
			ksum_add(&q, pred[j]);
		}
		if (ksum_value(&t) == 0.0)
		{
			/* scikit-learn 1.2: no true samples of any selected label */
			double		zd = isnan(zero_division) ? NAN : (zero_division == 0.0 ? 0.0 : 1.0);

			if (ksum_value(&q) == 0.0)
				out[0] = out[1] = out[2] = zd;
			else
			{
				out[0] = 0.0;
				out[1] = zd;
				out[2] = 0.0;
			}
			return;
		}
		weights = truth;
	}
	else if (average == AVERAGE_SAMPLES)
		weights = w;

	prf_per_label(tp, pred, truth, m, beta, zero_division, p, r, f);
	out[0] = mean(p, weights, m);
	out[1] = mean(r, weights, m);
	out[2] = mean(f, weights, m);
}
