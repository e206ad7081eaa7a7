/*-------------------------------------------------------------------------
 *
 * select_entropy.c
 *	  The entropy screen of select_batch's top-k (select_entropy_upper): an
 *	  upper bound of a probability row's entropy from a vectorised logarithm,
 *	  so that a row that cannot enter the full heap skips libm's logarithms.
 *	  The scores themselves are always uncertainty_entropy's (libm's log):
 *	  the screen only decides which rows need them, and never wrongly.
 *
 *	  The logarithm: x = m 2^e with m in [sqrt(1/2), sqrt(2)) read off the
 *	  bits, ln x = e ln 2 + 2 atanh(t), t = (m - 1) / (m + 1), |t| <=
 *	  (sqrt 2 - 1) / (sqrt 2 + 1) = 0.1716, the series cut after t^11.  The
 *	  rest of the series is at most 2 |t|^13 / 13 / (1 - t^2) <= 1.8e-11;
 *	  the rounding of the dozen operations on values up to |ln x| <= 745 adds
 *	  below 1e-12.  So each term p ln p is off by at most 2e-11 p (a
 *	  subnormal p, whose exponent the bits misread, by at most 36 p < 1e-306),
 *	  the sum of the terms by at most 2e-11 sum(p) plus c rounding steps,
 *	  and libm's exact path by a few ulps: the bound adds 1e-9 sum(p) +
 *	  1e-12 c, which covers all of it fifty times over (the unit test
 *	  measures the error against its margin at every width).
 *
 *	  Pure C, no postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#include "active/select.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define SE_SFX v2
#define SE_ATTR
#define SE_W 2
#include "active/select_entropy_body.h"
#undef SE_SFX
#undef SE_ATTR
#undef SE_W

#if defined(__x86_64__)
#define SE_HAVE_X86 1
#define SE_SFX v4
#define SE_ATTR __attribute__((target("avx2")))
#define SE_W 4
#include "active/select_entropy_body.h"
#undef SE_SFX
#undef SE_ATTR
#undef SE_W

#define SE_SFX v8
#define SE_ATTR __attribute__((target("avx512f")))
#define SE_W 8
#include "active/select_entropy_body.h"
#undef SE_SFX
#undef SE_ATTR
#undef SE_W
#endif
#endif

typedef void (*se_row_fn) (const double *p, int c, double *h, double *sum, int *bad);

/* se_row_ref: the screen without vectors (compilers without vector extensions). */
static void
se_row_ref(const double *p, int c, double *h_out, double *sum_out, int *bad_out)
{
	double		h = 0,
				s = 0;
	int			bad = 0;

	for (int i = 0; i < c; i++)
	{
		bad |= !(p[i] >= 0.0 && p[i] <= 1.0);
		s += p[i];
		if (p[i] > 0.0)
			h -= p[i] * log(p[i]);
	}
	*h_out = h;
	*sum_out = s;
	*bad_out = bad;
}

static se_row_fn
se_pick(void)
{
#if defined(SE_HAVE_X86)
	if (__builtin_cpu_supports("avx512f"))
		return se_row_v8;
	if (__builtin_cpu_supports("avx2"))
		return se_row_v4;
#endif
#if defined(__GNUC__) || defined(__clang__)
	return se_row_v2;
#else
	return se_row_ref;
#endif
}

/* select_entropy_upper: see select.h. */
int
select_entropy_upper(const double *p, int n_classes, double tol, double *upper, char *err, size_t errlen)
{
	static se_row_fn row = NULL;
	double		h,
				sum;
	int			bad;

	if (n_classes < 1 || p == NULL || !(tol >= 0.0 && tol <= 1.0))
		return select_check_probs(p, n_classes, tol, err, errlen);
	if (row == NULL)
		row = se_pick();		/* the same answer in every thread: a benign race */
	row(p, n_classes, &h, &sum, &bad);
	if (bad || !(fabs(sum - 1.0) <= tol * n_classes))
		return select_check_probs(p, n_classes, tol, err, errlen);	/* names the fault */
	*upper = h + 1e-9 * sum + 1e-12 * n_classes;
	return 0;
}

/* select_entropy_screen_width: the doubles per vector the screen uses here (tests print it). */
int
select_entropy_screen_width(void)
{
	se_row_fn	f = se_pick();

#if defined(SE_HAVE_X86)
	if (f == se_row_v8)
		return 8;
	if (f == se_row_v4)
		return 4;
#endif
#if defined(__GNUC__) || defined(__clang__)
	if (f == se_row_v2)
		return 2;
#endif
	return 1;
}

/* select_entropy_upper_width: select_entropy_upper at a given width (1, 2, 4, 8), for the tests. */
int
select_entropy_upper_width(int width, const double *p, int n_classes, double *h, double *sum)
{
	int			bad;
	se_row_fn	f = se_row_ref;

#if defined(__GNUC__) || defined(__clang__)
	if (width == 2)
		f = se_row_v2;
#endif
#if defined(SE_HAVE_X86)
	if (width == 4 && __builtin_cpu_supports("avx2"))
		f = se_row_v4;
	else if (width == 8 && __builtin_cpu_supports("avx512f"))
		f = se_row_v8;
	else if (width == 4 || width == 8)
		return -1;
#else
	if (width == 4 || width == 8)
		return -1;
#endif
	f(p, n_classes, h, sum, &bad);
	return bad;
}
