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
 *	  The float4 screen (select_entropy_upper_f32) reads a float4[] row in
 *	  place, 16 floats a vector with AVX-512 (8 with AVX2 + FMA, 4 with
 *	  SSE2), with no division and no conversion: x = (1 + f) 2^e read off
 *	  the bits, f in [0, 1), and
 *	    log2 x >= e + q(f),  q(f) = C0 + C1 f + C2 f^2 + C3 f^3,
 *	  C1..C3 a least-squares fit of log2(1 + f) rounded to float, and C0 =
 *	  -3e-6.  The proof is exhaustive: q evaluated in float (Horner, fused
 *	  or not) at each of the 2^23 values f can take is below log2(1 + f) by
 *	  2.96e-6 at least and 1.28e-3 at most; then e + q is rounded once
 *	  (by at most 2^-24 of it, counted in g below).  test_select_entropy.c
 *	  checks the computed e + q against log2 x at every float of the
 *	  binades [1/2, 1) and [2^-126, 2^-125), at every width.  A
 *	  subnormal x (exponent bits 0) reads as e = -127, at most 23 above its
 *	  log2, so its term is off by at most 23 x < 3e-37.
 *	  Each term x (e + q) is then at most x log2 x <= 0; the rounding of
 *	  e + q, the float products and the sum in lanes (in any order) are off
 *	  by at most g = (c + 4) 2^-24 of the sum's size (all terms have one
 *	  sign), so
 *	    H <= -ln 2 S (1 + 2 g) + 1e-30 c
 *	  for the computed sum S, and libm's score (a Neumaier sum in double,
 *	  divided by log(e)) is within 1e-9 (1 + H) of H.  The bound is thus at
 *	  most about 9e-4 nats above libm's score (1.28e-3 ln 2 per unit of
 *	  probability), which on 1,000,000 softmax rows of 50 classes lets 3
 *	  rows past the final floor that do not belong in the top 100.
 *	  The sum is checked in the same pass: the float lanes' sum is within
 *	  g of the exact one, the double sum select_check_probs takes within
 *	  c 2^-53; a row whose lane sum is within the tolerance by that much is
 *	  accepted, any other goes to select_check_probs_f32 (which names the
 *	  fault, or accepts it: then the row is scored, not screened).
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

/* the cubic of the float4 screen (see the header); the body reads these */
#define SEF_C0 (-0x1.92a738p-19f)
#define SEF_C1 0x1.6b3b4p+0f
#define SEF_C2 (-0x1.277c38p-1f)
#define SEF_C3 0x1.4416dap-3f

#if defined(__GNUC__) || defined(__clang__)
typedef float sef_vf4 __attribute__((vector_size(16)));
typedef float sef_vf8 __attribute__((vector_size(32)));

#define SEF_SFX w4
#define SEF_ATTR
#define SEF_W 4
#include "active/select_entropy_f32_body.h"
#undef SEF_SFX
#undef SEF_ATTR
#undef SEF_W

#if defined(__x86_64__)
#define SEF_SFX w8
#define SEF_ATTR __attribute__((target("avx2,fma")))
#define SEF_W 8
#include "active/select_entropy_f32_body.h"
#undef SEF_SFX
#undef SEF_ATTR
#undef SEF_W

#define SEF_SFX w16
#define SEF_ATTR __attribute__((target("avx512f")))
#define SEF_W 16
#include "active/select_entropy_f32_body.h"
#undef SEF_SFX
#undef SEF_ATTR
#undef SEF_W
#endif
#endif

typedef void (*se_row_fn) (const double *p, int c, double *h, double *sum, int *bad);
typedef void (*sef_row_fn) (const float *p, int c, double *s, double *sum);
typedef void (*sef_log2_fn) (const float *x, int64_t n, float *out);

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
	{
		/* names the fault; a row it accepts after all (rounding) is scored, not screened */
		if (select_check_probs(p, n_classes, tol, err, errlen) != 0)
			return -1;
		*upper = INFINITY;
		return 0;
	}
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

/* ---- the float4 screen ---- */

/* sef_log2lo_ref: the cubic bound without vectors, as the bodies compute it. */
static float
sef_log2lo_ref(float x)
{
	uint32_t	bits,
				mb;
	float		m;

	memcpy(&bits, &x, sizeof(bits));
	mb = (bits & 0x007FFFFFu) | 0x3F800000u;
	memcpy(&m, &mb, sizeof(m));
	m -= 1.0f;
	return (float) ((int32_t) ((bits >> 23) & 0xFF) - 127) + (((SEF_C3 * m + SEF_C2) * m + SEF_C1) * m + SEF_C0);
}

/* sef_row_ref: the float4 screen's pass without vectors. */
static void
sef_row_ref(const float *p, int c, double *s_out, double *sum_out)
{
	float		t = 0,
				sum = 0;

	for (int i = 0; i < c; i++)
	{
		sum += (p[i] >= 0.0f && p[i] <= 1.0f) ? p[i] : NAN;
		if (p[i] > 0.0f)
			t += p[i] * sef_log2lo_ref(p[i]);
	}
	*s_out = t;
	*sum_out = sum;
}

/* sef_log2_ref: sef_log2lo_ref over n values, for the tests. */
static void
sef_log2_ref(const float *x, int64_t n, float *out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = sef_log2lo_ref(x[i]);
}

/* sef_pick: the widest float4 screen this processor runs, and its width. */
static sef_row_fn
sef_pick(int *width)
{
#if defined(SE_HAVE_X86)
	if (__builtin_cpu_supports("avx512f"))
	{
		*width = 16;
		return sef_row_w16;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		*width = 8;
		return sef_row_w8;
	}
#endif
#if defined(__GNUC__) || defined(__clang__)
	*width = 4;
	return sef_row_w4;
#else
	*width = 1;
	return sef_row_ref;
#endif
}

/* sef_at: the float4 screen's pass and log at width 1, 4, 8 or 16, or NULL where it cannot run. */
static sef_row_fn
sef_at(int width, sef_log2_fn *lg)
{
	*lg = sef_log2_ref;
	if (width == 1)
		return sef_row_ref;
#if defined(__GNUC__) || defined(__clang__)
	if (width == 4)
	{
		*lg = sef_log2_w4;
		return sef_row_w4;
	}
#endif
#if defined(SE_HAVE_X86)
	if (width == 8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		*lg = sef_log2_w8;
		return sef_row_w8;
	}
	if (width == 16 && __builtin_cpu_supports("avx512f"))
	{
		*lg = sef_log2_w16;
		return sef_row_w16;
	}
#endif
	return NULL;
}

/*
 * SefUpper: the bound of the header from one pass's results, or -1 when the
 * pass cannot vouch for the row (a bad value, or a sum too near the edge of
 * the tolerance for the float lanes to decide).
 */
static int
SefUpper(double s, double sum, int c, double tol, double *upper)
{
	double		g = (c + 4) * 0x1p-24;

	/* a NaN sum (a bad value) fails the test */
	if (!(fabs(sum - 1.0) + 2.0 * g * sum + 1e-15 <= tol * c))
		return -1;
	*upper = -s * 0.6931471805599453 * (1.0 + 2.0 * g);
	*upper += 1e-9 * (1.0 + *upper) + 1e-30 * c;
	return 0;
}

/* select_entropy_upper_f32: see select.h. */
int
select_entropy_upper_f32(const float *p, int n_classes, double tol, double *upper, char *err, size_t errlen)
{
	static sef_row_fn row = NULL;
	static int	width;
	double		s,
				sum;

	if (n_classes >= 1 && n_classes <= SELECT_F32_SCREEN_MAX && p != NULL && tol >= 0.0 && tol <= 1.0)
	{
		if (row == NULL)
			row = sef_pick(&width);	/* the same answer in every thread: a benign race */
		row(p, n_classes, &s, &sum);
		if (SefUpper(s, sum, n_classes, tol, upper) == 0)
			return 0;
	}
	/* names the fault; a row it accepts after all is scored, not screened */
	if (select_check_probs_f32(p, n_classes, tol, err, errlen) != 0)
		return -1;
	*upper = INFINITY;
	return 0;
}

/* select_entropy_f32_width: see select.h. */
int
select_entropy_f32_width(void)
{
	int			w;

	(void) sef_pick(&w);
	return w;
}

/* select_entropy_upper_f32_at: see select.h. */
int
select_entropy_upper_f32_at(int width, const float *p, int n_classes, double tol, double *upper)
{
	sef_log2_fn lg;
	sef_row_fn	f = sef_at(width, &lg);
	double		s,
				sum;

	if (f == NULL)
		return -2;
	if (n_classes < 1 || n_classes > SELECT_F32_SCREEN_MAX || !(tol >= 0.0 && tol <= 1.0))
		return -1;
	f(p, n_classes, &s, &sum);
	return SefUpper(s, sum, n_classes, tol, upper);
}

/* select_entropy_log2_lower_at: see select.h. */
int
select_entropy_log2_lower_at(int width, const float *x, int64_t n, float *out)
{
	sef_log2_fn lg;

	if (sef_at(width, &lg) == NULL || n % (width > 1 ? width : 1) != 0)
		return -1;
	lg(x, n, out);
	return 0;
}
