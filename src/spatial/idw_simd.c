/*
 * idw_simd.c
 *	  Kernel: invdist's SIMD inner loops (AVX-512, AVX2 + FMA) and the
 *	  checks that decide whether they may run, for interpolate.c's idw_all
 *	  (see idw_private.h).
 *
 *	  "invdist" costs cells * points weights, so on x86-64 it has AVX-512
 *	  and AVX2+FMA inner loops chosen at run time (no -march flags needed),
 *	  with float32 lanes over 16 (8) neighbouring cells of a row.  Both are
 *	  one text, idw_simd_loop.h, included once per instruction set with its
 *	  intrinsics; they differ only where the sets do (the reciprocal
 *	  estimates rcp14 and rcp, and the final scaling by a power of 2):
 *
 *	  - Coordinates are in cell units (X = (x - ulx) / sx - 0.5, so cell
 *		col is centred at X = col), and X is split as xh + xl with xh a
 *		multiple of 2^-k (k >= 5, as large as the extent allows) so that
 *		col - xh is exact in float; dx = (col - xh) - xl is then rounded
 *		once.  dy^2 + s^2 is computed per row in double and rounded once.
 *	  - Cells within 0.01 cell of a point (r2 < IDW_NEAR_R2 in cell units),
 *		and cells a point snaps to, are recomputed in double: below that
 *		the float error of dx would grow relative to r2.
 *	  - 1 / r2 is rcp14 (rcp) refined by one Newton-Raphson step in FMA
 *		form, 1 / sqrt(r2) likewise from rsqrt; powers 1 to 4 use those;
 *		other powers use r2^-(p/2) = 2^-(p/2 log2 r2) with the exponent of
 *		r2 split off exactly and polynomials for log2 and exp2 on reduced
 *		ranges (absolute error about 5e-8 in log2, 1e-7 relative in exp2).
 *	  - Each lane sums IDW_K weights in float, then adds them to double
 *		sums; the quotient is taken in double.
 *
 *	  Error analysis (u = 2^-24): r2 is off by at most about 1.5u relative
 *	  (dx and dy^2 + s^2 are each rounded once, the fma once; the split
 *	  keeps col - xh exact); a weight by eps_w: 1 / r2 from rcp14 (rcp) and
 *	  one Newton step about 2.5e-7 (3e-7), 1 / sqrt(r2) likewise, p = 3 and
 *	  4 at most 3 and 2 times that (<= 1.1e-6), other powers about
 *	  (1 + p / 2) * 1.5e-7 <= 7.5e-7 (the exp2/log2 path runs only for
 *	  |p| <= 8).  Each lane sums IDW_K = 16 positive weights in float
 *	  (relative error <= 15u = 9e-7, likewise for sum w v relative to
 *	  sum w |v|); values are rounded to float (u / 2).  For R = sum w v /
 *	  sum w that gives |R' - R| <= (2 eps_w + 1.9e-6) M <= 4.5e-6 M, with
 *	  M = sum w |v| / sum w the weighted mean of |v| (M = |R| when the
 *	  values share a sign, so the bound is then relative).  Measured: 5.5e-7
 *	  relative at worst on 1000 x 1000 cells and 2,000 points (powers 2, 3,
 *	  2.5), well inside the 1e-5 asked for float32 rasters; GDAL 3.6's own
 *	  SSE/AVX path (unrefined rcp) is off by up to 2.1e-4 there.  The SIMD
 *	  path runs only when every weight and every float partial sum stays
 *	  within the normal float range (from the extents, the power and
 *	  IDW_NEAR_R2) and the points lie within 2^18 cells of the grid;
 *	  otherwise, and on other CPUs, the double loop (the reference
 *	  semantics) runs.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/idw_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef IDW_X86

/* Weights each SIMD lane sums in float before adding them to double sums. */
#define IDW_K		16

/* Coefficients of log2(1 + f) / f on [sqrt(1/2) - 1, sqrt(2) - 1], high first. */
#define IDW_LOG_C9	(-0.11020159f)
#define IDW_LOG_C8	0.186312094f
#define IDW_LOG_C7	(-0.191024989f)
#define IDW_LOG_C6	0.204575285f
#define IDW_LOG_C5	(-0.239619046f)
#define IDW_LOG_C4	0.288568884f
#define IDW_LOG_C3	(-0.360696644f)
#define IDW_LOG_C2	0.480898201f
#define IDW_LOG_C1	(-0.721347332f)
#define IDW_LOG_C0	1.44269502f

/* Coefficients of 2^g on [-0.5, 0.5], high first. */
#define IDW_EXP_C6	0.000154697322f
#define IDW_EXP_C5	0.00134004327f
#define IDW_EXP_C4	0.00961802527f
#define IDW_EXP_C3	0.0555032715f
#define IDW_EXP_C2	0.240226507f
#define IDW_EXP_C1	0.693147182f
#define IDW_EXP_C0	1.0f

/* The mantissa of x scaled into [sqrt(1/2), sqrt(2)) has bits x - (e << 23) with e from this. */
#define IDW_SQRT_HALF_BITS 0x3f3504f3

/* AVX-512: 16 cells a vector, blocks of 64 cells. */
#define V(name)		name##512
#define V_TARGET	IDW_T512
#define V_LANES		16
#define V_NB		4
#define VF			__m512
#define VD			__m512d
#define VI			__m512i
#define V_SET1		_mm512_set1_ps
#define V_ZERO		_mm512_setzero_ps
#define V_ADD		_mm512_add_ps
#define V_SUB		_mm512_sub_ps
#define V_MUL		_mm512_mul_ps
#define V_FMADD		_mm512_fmadd_ps
#define V_FNMADD	_mm512_fnmadd_ps
#define V_ROUND(x)	_mm512_roundscale_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_IOTA		_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define V_RCP		_mm512_rcp14_ps
#define V_RSQRT		_mm512_rsqrt14_ps
#define V_SCALE2	_mm512_scalef_ps
#define V_CASTI		_mm512_castps_si512
#define V_CASTF		_mm512_castsi512_ps
#define VI_SET1		_mm512_set1_epi32
#define VI_SUB		_mm512_sub_epi32
#define VI_SRAI		_mm512_srai_epi32
#define VI_SLLI		_mm512_slli_epi32
#define VI_TOF		_mm512_cvtepi32_ps
#define V_LO_PD(f)	_mm512_cvtps_pd(_mm512_castps512_ps256(f))
#define V_HI_PD(f)	_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)))
#define VD_ZERO		_mm512_setzero_pd
#define VD_ADD		_mm512_add_pd
#define VD_STORE	_mm512_storeu_pd
#define V_ROW_FN	idw_row_avx512
#include "spatial/idw_simd_loop.h"

/*
 * AVX2 + FMA: 8 cells a vector, blocks of 16 cells; also the far field's
 * tile rows.  No scalef: the integral exponent is added to the bits (the
 * result is normal).
 */
#define V(name)		name##256
#define V_TARGET	IDW_T256
#define V_LANES		8
#define V_NB		2
#define VF			__m256
#define VD			__m256d
#define VI			__m256i
#define V_SET1		_mm256_set1_ps
#define V_ZERO		_mm256_setzero_ps
#define V_ADD		_mm256_add_ps
#define V_SUB		_mm256_sub_ps
#define V_MUL		_mm256_mul_ps
#define V_FMADD		_mm256_fmadd_ps
#define V_FNMADD	_mm256_fnmadd_ps
#define V_ROUND(x)	_mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_IOTA		_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7)
#define V_RCP		_mm256_rcp_ps
#define V_RSQRT		_mm256_rsqrt_ps
#define V_SCALE2(q, e) \
	_mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(q), \
										 _mm256_slli_epi32(_mm256_cvtps_epi32(e), 23)))
#define V_CASTI		_mm256_castps_si256
#define V_CASTF		_mm256_castsi256_ps
#define VI_SET1		_mm256_set1_epi32
#define VI_SUB		_mm256_sub_epi32
#define VI_SRAI		_mm256_srai_epi32
#define VI_SLLI		_mm256_slli_epi32
#define VI_TOF		_mm256_cvtepi32_ps
#define V_LO_PD(f)	_mm256_cvtps_pd(_mm256_castps256_ps128(f))
#define V_HI_PD(f)	_mm256_cvtps_pd(_mm256_extractf128_ps((f), 1))
#define VD_ZERO		_mm256_setzero_pd
#define VD_ADD		_mm256_add_pd
#define VD_STORE	_mm256_storeu_pd
#define V_ROW_FN	idw_row_avx2
#define V_TILE_FN	idw_tile_row_avx2
#include "spatial/idw_simd_loop.h"
#endif							/* IDW_X86 */

/*
 * idw_simd_level is the best instruction set for the invdist loop on this
 * CPU (and OS), capped by cap (IDW_SIMD_BEST: no cap).
 */
idw_simd
idw_simd_level(idw_simd cap)
{
	idw_simd	level = IDW_SIMD_NONE;

#ifdef IDW_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		level = IDW_SIMD_AVX2;
		if (__builtin_cpu_supports("avx512f"))
			level = IDW_SIMD_AVX512;
	}
#endif
	return cap != IDW_SIMD_BEST && cap < level ? cap : level;
}

/*
 * idw_simd_prepare decides whether the SIMD loop may run for this input
 * (see the file header: points within 2^18 cells, weights and partial
 * sums within the normal float range) and if so fills c->vs; false means
 * the double loop must run (c->vs then holds nothing to free).  *nomem is
 * set when an allocation failed.
 */
bool
idw_simd_prepare(idw_all_ctx *c, double power, bool *nomem)
{
	const interp_points *p = c->p;
	const interp_grid *g = c->g;
	size_t		n = p->n;
	double		inv = 1.0 / g->sx;
	double		xmin = INFINITY,
				xmax = -INFINITY,
				ymin = INFINITY,
				ymax = -INFINITY;
	double		reach,
				scale,
				dxmax,
				dymax,
				cy0,
				cy1,
				sg2,
				r2max,
				r2min,
				lw0,
				lw1,
				h = power / 2.0;
	int			k;

	*nomem = false;
	memset(&c->vs, 0, sizeof(c->vs));
	if (!(isfinite(power) && isfinite(inv) && inv > 0 && isfinite(c->s2)))
		return false;
	for (size_t i = 0; i < n; i++)
	{
		double		X = (p->x[i] - g->ulx) * inv - 0.5;

		/* written so that NaN fails */
		if (!(X >= xmin))
			xmin = X;
		if (!(X <= xmax))
			xmax = X;
		if (!(p->y[i] >= ymin))
			ymin = p->y[i];
		if (!(p->y[i] <= ymax))
			ymax = p->y[i];
	}
	if (!(isfinite(xmin) && isfinite(xmax) && isfinite(ymin) && isfinite(ymax)))
		return false;

	/* c - xh must be exact in float for every lane: cells up to width + 64 */
	reach = fmax(fmax(-xmin, xmax), (double) g->width + 64.0);
	if (!(reach < 262144.0))
		return false;
	for (k = 20; k > 5; k--)
		if (reach < ldexp(1.0, 23 - k))
			break;
	scale = ldexp(1.0, k);

	/* the range of r2 in cell units, hence of the weights */
	dxmax = fmax(fmax(fabs(xmax), fabs(xmin)),
				 fmax(fabs(xmax - (g->width - 1)), fabs(xmin - (g->width - 1))));
	cy0 = g->uly + 0.5 * g->sy;
	cy1 = g->uly + (g->height - 0.5) * g->sy;
	dymax = fmax(fmax(fabs(ymax - cy0), fabs(ymin - cy0)),
				 fmax(fabs(ymax - cy1), fabs(ymin - cy1))) * inv;
	sg2 = c->s2 * c->inv_sx2;
	r2max = dxmax * dxmax + dymax * dymax + sg2;
	r2min = fmax(IDW_NEAR_R2, sg2);
	if (!(r2max < 1e37))
		return false;
	lw0 = -h * log2(r2min);
	lw1 = -h * log2(r2max);

	/* IDW_K = 2^4 weights summed in float: keep 2^5 of headroom */
	if (!(fmax(lw0, lw1) < 121.0 && fmin(lw0, lw1) > -124.0))
		return false;
	/* keeps eps_w of the exp2/log2 weights below about 7.5e-7 */
	if (c->cls == IDW_W_POW && !(fabs(h) <= 4.0))
		return false;

	c->vs.xh = malloc(n * sizeof(float));
	c->vs.xl = malloc(n * sizeof(float));
	c->vs.vf = malloc(n * sizeof(float));
	if (c->vs.xh == NULL || c->vs.xl == NULL || c->vs.vf == NULL)
	{
		free(c->vs.xh);
		free(c->vs.xl);
		free(c->vs.vf);
		memset(&c->vs, 0, sizeof(c->vs));
		*nomem = true;
		return false;
	}
	for (size_t i = 0; i < n; i++)
	{
		double		X = (p->x[i] - g->ulx) * inv - 0.5;

		/* |X * scale| < 2^23: the rounded value is exact in float */
		double		xh = floor(X * scale + 0.5) / scale;

		c->vs.xh[i] = (float) xh;
		c->vs.xl[i] = (float) (X - xh);
		c->vs.vf[i] = (float) p->v[i];
	}
	c->vs.h = (float) h;
	c->vs.hh = (float) (floor(h * 2048.0 + 0.5) / 2048.0);
	c->vs.hl = (float) (h - (double) c->vs.hh);
	return true;
}

