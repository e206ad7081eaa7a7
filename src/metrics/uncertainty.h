/*
 * uncertainty.h
 *	  Kernel: uncertainty scores of one probability row, for active-learning
 *	  sampling, and softmax.  Pure C.  The caller has checked that every value
 *	  is finite; probabilities are taken as given (not renormalised).
 */
#ifndef MLOPS_UNCERTAINTY_H
#define MLOPS_UNCERTAINTY_H

#include <stddef.h>

/*
 * uncertainty_entropy returns -sum p_i log(p_i) / log(base).  Zero
 * probabilities contribute 0 (never NaN).  base must be > 0 and != 1 (the
 * caller checks).  An empty row gives 0.
 */
extern double uncertainty_entropy(const double *p, size_t n, double base);

/* uncertainty_least_confidence returns 1 - max(p); an empty row gives NaN. */
extern double uncertainty_least_confidence(const double *p, size_t n);

/*
 * uncertainty_margin returns the difference between the largest and the
 * second-largest probability (small = uncertain); a row of one value gives
 * that value, an empty row NaN.
 */
extern double uncertainty_margin(const double *p, size_t n);

/*
 * uncertainty_softmax writes exp(x_i - max) / sum exp(x_j - max) to out
 * (which may be x itself); n == 0 does nothing.
 */
extern void uncertainty_softmax(const double *x, size_t n, double *out);

#endif							/* MLOPS_UNCERTAINTY_H */
