/*
 * select_private.h
 *	  Kernel: what select.c, coreset.c and badge.c share inside
 *	  src/active/ (not part of select.h's contract).  Pure C.
 */
#ifndef MLOPS_ACTIVE_SELECT_PRIVATE_H
#define MLOPS_ACTIVE_SELECT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * select_check_pool: n >= 1, 1 <= b <= n, d >= 1, E not NULL, n x d
 * addressable, every value finite.  what names E in the reason.
 */
extern int	select_check_pool(const float *E, int64_t n, int d, int64_t b, const char *what,
							  char *err, size_t errlen);

/* select_check_prob_rows: c >= 1 and each of the n rows of P passes select_check_probs. */
extern int	select_check_prob_rows(const double *P, int c, int64_t n, double tol, char *err, size_t errlen);

#endif							/* MLOPS_ACTIVE_SELECT_PRIVATE_H */
