/*
 * classify.h
 *	  Kernel: the arithmetic of classification metrics, as scikit-learn 1.2
 *	  does it: confusion counting, per-label counts, precision / recall /
 *	  F-beta with zero_division, and their averages.  Labels are dense codes
 *	  (see labels.h); multilabel targets are n x width matrices of 0/1 bytes.
 *	  Pure C.
 */
#ifndef MLOPS_CLASSIFY_H
#define MLOPS_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum metric_average
{
	AVERAGE_NONE = 0,			/* per label */
	AVERAGE_BINARY,
	AVERAGE_MICRO,
	AVERAGE_MACRO,
	AVERAGE_WEIGHTED,
	AVERAGE_SAMPLES
} metric_average;

/*
 * confusion_add adds n samples to the k x k row-major matrix (rows: true
 * label code, columns: predicted code); w is NULL (weight 1) or n weights.
 */
extern void confusion_add(double *matrix, size_t k, const int32_t *y_true,
						  const int32_t *y_pred, const double *w, size_t n);

/*
 * confusion_label_counts takes the m selected codes sel[] (each < k, or -1
 * for a label that never occurs) and writes, per selected label, the true
 * positives, the predicted count and the true count.
 */
extern void confusion_label_counts(const double *matrix, size_t k,
								   const int32_t *sel, size_t m,
								   double *tp, double *pred, double *truth);

/*
 * label_counts counts per label code (k codes) from two code arrays: true
 * positives, predictions and true occurrences, weighted by w (NULL: 1).
 * Plain sums in sample order, as numpy.bincount adds them.
 */
extern void label_counts(const int32_t *y_true, const int32_t *y_pred,
						 const double *w, size_t n, size_t k,
						 double *tp, double *pred, double *truth);

/* codes_correct returns the weight of the samples whose codes agree. */
extern double codes_correct(const int32_t *y_true, const int32_t *y_pred,
							const double *w, size_t n);

/* confusion_correct returns the weight on the diagonal; confusion_total all of it. */
extern double confusion_correct(const double *matrix, size_t k);
extern double confusion_total(const double *matrix, size_t k);

/*
 * indicator_label_counts: multilabel n x width matrices of 0/1; for each of
 * the m selected columns cols[], the (weighted) true positives, predicted
 * and true counts, summed over samples.
 */
extern void indicator_label_counts(const uint8_t *y_true, const uint8_t *y_pred,
								   size_t n, size_t width, const double *w,
								   const int32_t *cols, size_t m,
								   double *tp, double *pred, double *truth);

/*
 * indicator_sample_counts: the same per sample (unweighted), over the m
 * selected columns: arrays of n.
 */
extern void indicator_sample_counts(const uint8_t *y_true, const uint8_t *y_pred,
									size_t n, size_t width,
									const int32_t *cols, size_t m,
									double *tp, double *pred, double *truth);

/* indicator_subset_correct: weight of the samples whose rows are equal. */
extern double indicator_subset_correct(const uint8_t *y_true, const uint8_t *y_pred,
									   size_t n, size_t width, const double *w);

/*
 * prf_per_label computes, for m entries of counts, precision = tp / pred,
 * recall = tp / truth and F-beta, with zero_division (0, 1 or NaN) where a
 * denominator is 0.  F-beta is recall when beta is +infinity; otherwise
 * (1 + b^2) p r / (b^2 p + r), 0 when that denominator is 0 (scikit-learn
 * 1.2), NaN when p or r is NaN.
 */
extern void prf_per_label(const double *tp, const double *pred, const double *truth,
						  size_t m, double beta, double zero_division,
						  double *precision, double *recall, double *fbeta);

/*
 * prf_average computes the averaged precision, recall and F-beta (out[0..2])
 * of m entries of counts:
 *   MICRO: of the summed counts; BINARY and MACRO: the plain mean of the
 *   per-label scores; WEIGHTED: weighted by truth (when all truth is 0:
 *   scikit-learn's special case); SAMPLES: the entries are samples,
 *   weighted by w (NULL: plain mean).
 * With zero_division NaN, NaN scores are left out of the averages
 * (scikit-learn 1.3's behaviour).  m == 0 gives NaN.
 * scratch must hold 3 * m doubles.
 */
extern void prf_average(const double *tp, const double *pred, const double *truth,
						size_t m, double beta, metric_average average,
						double zero_division, const double *w,
						double *scratch, double out[3]);

/* weighted_mean returns sum w x / sum w (w NULL: the mean), NaN when empty or sum w == 0. */
extern double weighted_mean(const double *x, const double *w, size_t n);

#endif							/* MLOPS_CLASSIFY_H */
