/*
 * linalg.c
 *	  Kernel: dense LU factorisation with partial pivoting, its solves and
 *	  a condition estimate (see linalg.h), for the kriging systems, which
 *	  are symmetric but indefinite (kriging.c).
 *
 *	  The factorisation is right-looking and blocked: panels of LU_PANEL
 *	  columns with partial pivoting over whole rows, then U12 by forward
 *	  substitution, then the trailing update A22 -= L21 U12 through
 *	  par_rows (threaded and cancellable; each row's arithmetic is the same
 *	  whatever thread does it).  Below LU_BLOCKED_MIN one panel spans the
 *	  whole matrix, which is the classic unblocked elimination; within a
 *	  panel a zero multiplier skips its row's update.
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "spatial/linalg.h"
#include "spatial/parallel.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Panel width and column block of the blocked LU. */
#define LU_PANEL		64
#define LU_COLBLOCK		512

/* Below this order the LU is one panel (not blocked, nor threaded). */
#define LU_BLOCKED_MIN	256

/* The trailing update of one panel step of linalg_lu_factor. */
typedef struct lu_ctx
{
	double	   *a;
	int			m;
	int			k0;				/* first column of the panel */
	int			kb;				/* its width */
} lu_ctx;

/*
 * lu_update_rows subtracts L21 U12 from rows [row0, row1) (counted from
 * the first row below the panel) of the trailing matrix, a column block at
 * a time so that the U12 block stays in cache, four panel rows at a time.
 */
static bool
lu_update_rows(void *ctx, int tid, int row0, int row1)
{
	lu_ctx	   *c = ctx;
	int			m = c->m;
	int			j0 = c->k0 + c->kb;

	(void) tid;
	for (int jb = j0; jb < m; jb += LU_COLBLOCK)
	{
		int			je = jb + LU_COLBLOCK < m ? jb + LU_COLBLOCK : m;
		int			len = je - jb;

		for (int r = row0; r < row1; r++)
		{
			double	   *restrict y = c->a + (size_t) (j0 + r) * m + jb;
			const double *li = c->a + (size_t) (j0 + r) * m + c->k0;
			int			p = 0;

			for (; p + 4 <= c->kb; p += 4)
			{
				const double *restrict u0 = c->a + (size_t) (c->k0 + p) * m + jb;
				const double *restrict u1 = u0 + m;
				const double *restrict u2 = u1 + m;
				const double *restrict u3 = u2 + m;
				double		l0 = li[p],
							l1 = li[p + 1],
							l2 = li[p + 2],
							l3 = li[p + 3];

				for (int j = 0; j < len; j++)
					y[j] -= l0 * u0[j] + l1 * u1[j] + l2 * u2[j] + l3 * u3[j];
			}
			for (; p < c->kb; p++)
			{
				const double *restrict u0 = c->a + (size_t) (c->k0 + p) * m + jb;
				double		l0 = li[p];

				for (int j = 0; j < len; j++)
					y[j] -= l0 * u0[j];
			}
		}
	}
	return true;
}

/*
 * linalg_lu_factor factors the m x m row-major matrix a in place as
 * P a = L U (unit L below the diagonal, U on and above), recording in
 * piv[k] the row swapped with row k at step k: by panels (see the file
 * header), one panel when m < LU_BLOCKED_MIN.  *ok is false when a pivot
 * is not above tol.  Returns INTERP_OK or INTERP_CANCELLED.
 */
interp_status
linalg_lu_factor(double *a, int m, int *piv, double tol, const interp_exec *exec, bool *ok)
{
	int			panel = m < LU_BLOCKED_MIN ? m : LU_PANEL;

	*ok = true;
	for (int k0 = 0; k0 < m; k0 += panel)
	{
		int			kb = k0 + panel <= m ? panel : m - k0;
		int			ke = k0 + kb;

		/* the panel: columns [k0, ke), rows [k0, m) */
		for (int k = k0; k < ke; k++)
		{
			int			p = k;
			double		best = fabs(a[(size_t) k * m + k]);
			double	   *rk;

			for (int i = k + 1; i < m; i++)
			{
				double		t = fabs(a[(size_t) i * m + k]);

				if (t > best)
				{
					best = t;
					p = i;
				}
			}
			if (!(best > tol))
			{
				*ok = false;
				return INTERP_OK;
			}
			piv[k] = p;
			if (p != k)
			{
				double	   *ra = a + (size_t) k * m;
				double	   *rb = a + (size_t) p * m;

				for (int j = 0; j < m; j++)
				{
					double		t = ra[j];

					ra[j] = rb[j];
					rb[j] = t;
				}
			}
			rk = a + (size_t) k * m;
			for (int i = k + 1; i < m; i++)
			{
				double	   *ri = a + (size_t) i * m;
				double		l = ri[k] / rk[k];

				ri[k] = l;
				if (l != 0.0)
					for (int j = k + 1; j < ke; j++)
						ri[j] -= l * rk[j];
			}
		}
		if (ke >= m)
			break;

		/* U12 = L11^-1 A12 */
		for (int k = k0; k < ke; k++)
		{
			const double *restrict rk = a + (size_t) k * m + ke;

			for (int i = k + 1; i < ke; i++)
			{
				double	   *restrict ri = a + (size_t) i * m + ke;
				double		l = a[(size_t) i * m + k];

				for (int j = 0; j < m - ke; j++)
					ri[j] -= l * rk[j];
			}
		}

		/* A22 -= L21 U12 */
		{
			lu_ctx		c = {a, m, k0, kb};
			interp_status st = par_rows(exec, m - ke, 0, lu_update_rows, &c);

			if (st != INTERP_OK)
				return st;
		}
	}
	return INTERP_OK;
}

/*
 * lu_solve overwrites b with the solution of a x = b, a factored by
 * linalg_lu_factor (static, so that the condition estimate's solves are
 * inlined).
 */
static void
lu_solve(const double *a, int m, const int *piv, double *b)
{
	for (int k = 0; k < m; k++)
		if (piv[k] != k)
		{
			double		t = b[k];

			b[k] = b[piv[k]];
			b[piv[k]] = t;
		}
	for (int i = 1; i < m; i++)
	{
		const double *ri = a + (size_t) i * m;
		double		s = b[i];

		for (int j = 0; j < i; j++)
			s -= ri[j] * b[j];
		b[i] = s;
	}
	for (int i = m - 1; i >= 0; i--)
	{
		const double *ri = a + (size_t) i * m;
		double		s = b[i];

		for (int j = i + 1; j < m; j++)
			s -= ri[j] * b[j];
		b[i] = s / ri[i];
	}
}

/*
 * lu_solve_t overwrites b with the solution of a' x = b, a factored by
 * linalg_lu_factor (P a = L U, so a' = U' L' P), by rows.
 */
static void
lu_solve_t(const double *a, int m, const int *piv, double *b)
{
	/* U' w = b */
	for (int j = 0; j < m; j++)
	{
		const double *rj = a + (size_t) j * m;
		double		wj = b[j] / rj[j];

		b[j] = wj;
		for (int i = j + 1; i < m; i++)
			b[i] -= rj[i] * wj;
	}
	/* L' u = w */
	for (int j = m - 1; j > 0; j--)
	{
		const double *rj = a + (size_t) j * m;
		double		uj = b[j];

		for (int i = 0; i < j; i++)
			b[i] -= rj[i] * uj;
	}
	/* x = P' u */
	for (int k = m - 1; k >= 0; k--)
		if (piv[k] != k)
		{
			double		t = b[k];

			b[k] = b[piv[k]];
			b[piv[k]] = t;
		}
}

/*
 * linalg_norm1 returns the 1-norm (largest column sum of magnitudes) of the m x m
 * matrix a.
 */
double
linalg_norm1(const double *a, int m)
{
	double		best = 0.0;

	for (int j = 0; j < m; j++)
	{
		double		s = 0.0;

		for (int i = 0; i < m; i++)
			s += fabs(a[(size_t) i * m + j]);
		if (s > best)
			best = s;
	}
	return best;
}

/*
 * linalg_lu_rcond estimates the reciprocal 1-norm condition number of a matrix of
 * 1-norm anorm from its LU factors: Hager's estimate of ||a^-1||_1 with
 * Higham's refinements (at most 5 iterations, plus the alternating-sign
 * test vector), as LAPACK's dlacon/dgecon.  x and y are m doubles of
 * scratch.  O(m^2).  0 when the estimate is not finite.
 */
double
linalg_lu_rcond(const double *a, int m, const int *piv, double anorm, double *x, double *y)
{
	double		est = 0.0;
	int			jlast = -1;

	for (int i = 0; i < m; i++)
		x[i] = 1.0 / m;
	for (int iter = 0; iter < 5; iter++)
	{
		double		e = 0.0,
					zx = 0.0,
					zmax = -1.0;
		int			j = 0;

		memcpy(y, x, (size_t) m * sizeof(double));
		lu_solve(a, m, piv, y);
		for (int i = 0; i < m; i++)
			e += fabs(y[i]);
		if (iter > 0 && e <= est)
			break;
		est = e;
		for (int i = 0; i < m; i++)
			y[i] = y[i] >= 0.0 ? 1.0 : -1.0;
		lu_solve_t(a, m, piv, y);
		for (int i = 0; i < m; i++)
		{
			zx += y[i] * x[i];
			if (fabs(y[i]) > zmax)
			{
				zmax = fabs(y[i]);
				j = i;
			}
		}
		if (iter > 0 && (zmax <= zx || j == jlast))
			break;
		jlast = j;
		for (int i = 0; i < m; i++)
			x[i] = 0.0;
		x[j] = 1.0;
	}
	{
		double		alt = 0.0;

		for (int i = 0; i < m; i++)
			x[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + (m > 1 ? (double) i / (m - 1) : 0.0));
		lu_solve(a, m, piv, x);
		for (int i = 0; i < m; i++)
			alt += fabs(x[i]);
		alt = 2.0 * alt / (3.0 * m);
		if (alt > est)
			est = alt;
	}
	if (!isfinite(est) || !isfinite(anorm) || est * anorm == 0.0)
		return 0.0;
	return 1.0 / (anorm * est);
}

/*
 * linalg_lu_solve overwrites b with the solution of a x = b, a factored by
 * linalg_lu_factor.
 */
void
linalg_lu_solve(const double *a, int m, const int *piv, double *b)
{
	lu_solve(a, m, piv, b);
}
