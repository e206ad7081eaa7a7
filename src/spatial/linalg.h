/*
 * linalg.h
 *	  Kernel: dense LU factorisation with partial pivoting, its solves and
 *	  a condition estimate, for the kriging systems (kriging.c).  Matrices
 *	  are m x m, row-major, doubles.  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_LINALG_H
#define MLOPS_LINALG_H

#include <stdbool.h>

#include "spatial/grid.h"

/*
 * linalg_lu_factor factors a in place as P a = L U (unit L below the
 * diagonal, U on and above), piv[k] the row swapped with row k at step k.
 * *ok is false when a pivot is not above tol (a is then garbage).  Large
 * matrices are factored by blocks, the updates spread over exec's threads
 * (the same bits for any number) and cancellable; exec may be NULL.
 * Returns INTERP_OK or INTERP_CANCELLED.
 */
extern interp_status linalg_lu_factor(double *a, int m, int *piv, double tol, const interp_exec *exec,
									  bool *ok);

/* linalg_lu_solve overwrites b with the solution of a x = b, a factored by linalg_lu_factor. */
extern void linalg_lu_solve(const double *a, int m, const int *piv, double *b);

/* linalg_norm1 returns the 1-norm (largest column sum of magnitudes) of a. */
extern double linalg_norm1(const double *a, int m);

/*
 * linalg_lu_rcond estimates the reciprocal 1-norm condition number of a
 * matrix of 1-norm anorm from its factors (LAPACK's dgecon); x and y are
 * m doubles of scratch.  0 when the estimate is not finite.
 */
extern double linalg_lu_rcond(const double *a, int m, const int *piv, double anorm, double *x, double *y);

#endif							/* MLOPS_LINALG_H */
