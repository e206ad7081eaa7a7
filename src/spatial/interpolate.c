/*
 * interpolate.c
 *	  Kernel: interpolation of scattered points onto a regular grid for
 *	  mlops.interpolate_raster (see interpolate.h for the contract).
 *
 *	  It holds a search structure and three gridders that follow GDAL's
 *	  gdal_grid (alg/gdalgrid.cpp), which PostGIS's ST_InterpolateRaster
 *	  calls.  The structures the gridders search:
 *
 *	  - A 2-D k-d tree (kdtree.c).
 *	  - A bucket grid (points sorted into about square buckets of about 1.5
 *		points), which the nearest and invdistnn gridders use when the
 *		points are spread fairly evenly; otherwise they use the tree.
 *
 *	  Both give the exact answer of a brute-force search: the points in
 *	  the order (d^2, input index), with d^2 = dx * dx + dy * dy rounded as
 *	  written, whatever the structure, the thread count or the search's
 *	  head start.  The gridders start each cell's search from the previous
 *	  cell's answer (the nearest point, or invdistnn's neighbours), whose
 *	  distance to the new cell bounds the search to a few buckets or
 *	  leaves; a range or bucket is skipped only when a rounded lower bound
 *	  of its points' distances exceeds the bound (never on equality, since
 *	  an equidistant point with a lower index must win).
 *
 *	  The gridders:
 *
 *	  - "invdist" without a search ellipse (GDALGridInverseDistanceToAPower-
 *		NoSearch): every point weighs 1 / (d^2 + s^2)^(p/2); a point whose
 *		d^2 + s^2 < 1e-13 gives its value to the cell (the first such point
 *		in input order); a zero denominator gives nodata.  As in GDAL, the
 *		power-2-with-smoothing path has no such check, and min_points does
 *		not apply in this mode.
 *	  - "invdistnn" (GDALGridInverseDistanceToAPowerNearestNeighbor): the
 *		points with d^2 <= radius^2 (radius 0: all), nearest first, at most
 *		max_points of them; a point with d^2 + s^2 < 1e-13 gives its value;
 *		fewer than min_points, or a zero denominator, gives nodata.
 *	  - "nearest" (GDALGridNearestNeighbor): the value of the nearest point
 *		with d^2 <= radius^2 (radius 0: unlimited), else nodata.
 *
 *	  Every gridder runs its rows through par_rows (parallel.h), with
 *	  per-thread scratch; a cell's arithmetic never depends on the thread
 *	  that computes it, so any thread count gives the same bits.
 *
 *	  "invdist" costs cells * points weights, so on x86-64 it has AVX-512
 *	  and AVX2+FMA inner loops chosen at run time (no -march flags needed),
 *	  with float32 lanes over 16 (8) neighbouring cells of a row:
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
 *	  The far field.  With powers 1 to 4 on the SIMD path and enough points
 *	  and cells (IDW_FF_*), the grid is cut into tiles of 64 x 64 cells.  For
 *	  each tile, the points at least 6 H from its centre (H: half the
 *	  tile's larger side, 31.5 cells or rows) are "far": their sums (of w v
 *	  and of w) are computed exactly, in double, at the 16 x 16 Chebyshev
 *	  points of the second kind spanning the tile's cell centres, and
 *	  interpolated to its cells (tensor-product Lagrange interpolation);
 *	  the near points go through the SIMD loop cell by cell, and the two
 *	  parts are added before the quotient.  That costs 256 weights a far
 *	  point and tile instead of 4,096.
 *
 *	  Its error.  Interpolation is linear, so the far sums are sums of
 *	  interpolated weights, each within a relative delta of its weight; the
 *	  bound above holds as long as delta <= eps_w (and the far sums, in
 *	  double, add no float error).  Along a line of the tile (half-side
 *	  units, the line's cells on [-1, 1]), w(x) = ((x - a)^2 + e^2)^(-p/2)
 *	  is analytic but at a +- i e, at least 5 from the line's centre (the
 *	  point is >= 6 H from the tile's, the line within H of it); on the
 *	  Bernstein ellipse E_4 (semi-axes 2.125, 1.875) |(z - a)^2 + e^2| stays
 *	  >= (5 - 2.125)^2 with a positive real part, so |w| <= (6 / 2.875)^p
 *	  times w's minimum on the line, and degree-15 Chebyshev interpolation
 *	  is off by at most 4 * 2.09^p * 4^-15 / 3 of it (Trefethen,
 *	  Approximation Theory and Approximation Practice, thm 8.2).  In 2-D
 *	  the second direction multiplies that by 1 + 2.8 * ((6 + 1.42) /
 *	  (6 - 1.42))^p (Lebesgue constant 2.8; w's spread over the tile), so
 *	  delta <= 1.4e-8, 4.4e-8, 1.4e-7 and 4.7e-7 for p = 1 to 4, each below
 *	  that power's eps_w.  Measured, the interpolation is exact to 1e-14 (the
 *	  bound is loose) and the results stay within 6.6e-7 relative.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/interpolate.h"
#include "spatial/buckets.h"
#include "spatial/kdtree.h"
#include "spatial/parallel.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IDW_X86 1
#include <immintrin.h>
#endif

/* GDAL's "close to the grid node" threshold on d^2 + smoothing^2. */
#define GDAL_SNAP_R2	0.0000000000001

/* Independent partial sums in the double invdist inner loop. */
#define IDW_LANES	4

/*
 * The SIMD invdist path leaves to the double path every cell with a point
 * at d^2 + s^2 below this, in cell units (0.01 cell): there the float
 * rounding of dx would weigh too much.
 */
#define IDW_NEAR_R2 1e-4

/* Weights each SIMD lane sums in float before adding them to double sums. */
#define IDW_K		16

/*
 * The far field of invdist (powers 1 to 4, SIMD path; see the file header):
 * tiles of IDW_FF_TILE x IDW_FF_TILE cells; the points at least IDW_FF_FAR
 * half-sides from a tile's centre are summed exactly (in double) at
 * IDW_FF_NODES x IDW_FF_NODES Chebyshev points of the tile and
 * interpolated to its cells; the others, in the SIMD loop, cell by cell.
 * Used when there are at least IDW_FF_MIN_POINTS points and
 * IDW_FF_MIN_TILES tiles.
 */
#define IDW_FF_TILE		64
#define IDW_FF_NODES	16
#define IDW_FF_FAR		6.0
#define IDW_FF_MIN_POINTS 256
#define IDW_FF_MIN_TILES 16

/* How a weight is computed from r2 = d^2 + s^2. */
typedef enum idw_wclass
{
	IDW_W_P2,					/* 1 / r2 */
	IDW_W_P1,					/* 1 / sqrt(r2) */
	IDW_W_P3,					/* 1 / (r2 sqrt(r2)) */
	IDW_W_P4,					/* 1 / r2^2 */
	IDW_W_POW					/* r2^-(power / 2) */
} idw_wclass;

/* What the SIMD invdist loops read, shared by all threads. */
typedef struct idw_simd_in
{
	float	   *xh;				/* X = (x - ulx) / sx - 0.5 rounded to a multiple of 2^-k */
	float	   *xl;				/* X - xh */
	float	   *vf;				/* the values */
	float		h;				/* power / 2 */
	float		hh;				/* h rounded to a multiple of 2^-11: hh * exponent is exact */
	float		hl;				/* h - hh */
} idw_simd_in;

/* One invdist computation (idw_all), shared by its threads. */
typedef struct idw_all_ctx
{
	const interp_points *p;
	const interp_grid *g;
	double		nodata;
	double		s2;				/* smoothing^2 */
	double		half;			/* power / 2 */
	idw_wclass	cls;
	bool		can_snap;		/* GDAL's power-2-with-smoothing path never snaps */
	double		cand_r2;		/* points with dy^2 + s^2 below this need a look per cell */
	idw_simd	simd;			/* the loop that runs: IDW_SIMD_NONE, _AVX2 or _AVX512 */
	idw_simd_in vs;
	double		inv_sx2;		/* 1 / sx^2: real to cell units, squared */
	/* per-thread scratch: slice tid of each, nstride or wstride elements */
	size_t		nstride;		/* n + PAR_SCRATCH_PAD */
	size_t		wstride;		/* width + PAR_SCRATCH_PAD */
	double	   *rowdy2;			/* n: (y - cy)^2 + s^2 of the row */
	size_t	   *cand;			/* n: candidates of the row, input order */
	float	   *dy2f;			/* n (SIMD): rowdy2 in cell units */
	int		   *redo;			/* width (SIMD): cells to recompute in double */
	unsigned char *mark;		/* width (SIMD): cell already in redo */
	/* the far field (tiles), when used */
	bool		tiles;
	double		ff_node[IDW_FF_NODES];	/* Chebyshev points on [-1, 1] */
	double		ff_phi[IDW_FF_TILE][IDW_FF_NODES];	/* their Lagrange bases at the cells */
	double		ff_scale;		/* real units to cell units: 1 / sx */
	size_t	   *near;			/* n: a tile's near points (input indices) */
	float	   *near_f;			/* 3n: their xh, xl and value */
	double	   *far_d;			/* 3n: the far points' x, y, value (cell units) */
	double	   *ff_buf;			/* FF_BUF_LEN: node sums, half-interpolated and cell sums */
	double	   *out;
} idw_all_ctx;

/* Doubles of per-thread far-field scratch: N, D; two of 16 x 64; two tiles. */
#define FF_BUF_LEN (2 * IDW_FF_NODES * IDW_FF_NODES + 2 * IDW_FF_NODES * IDW_FF_TILE + \
					2 * IDW_FF_TILE * IDW_FF_TILE + PAR_SCRATCH_PAD)

/*
 * idw_class picks how weights are computed for a power.
 */
static idw_wclass
idw_class(double power)
{
	if (power == 2.0)
		return IDW_W_P2;
	if (power == 1.0)
		return IDW_W_P1;
	if (power == 3.0)
		return IDW_W_P3;
	if (power == 4.0)
		return IDW_W_P4;
	return IDW_W_POW;
}

/*
 * idw_weight is 1 / r2^half in double, without pow() for the common powers.
 */
static inline double
idw_weight(idw_wclass cls, double r2, double half)
{
	switch (cls)
	{
		case IDW_W_P2:
			return 1.0 / r2;
		case IDW_W_P1:
			return 1.0 / sqrt(r2);
		case IDW_W_P3:
			return 1.0 / (r2 * sqrt(r2));
		case IDW_W_P4:
			return 1.0 / (r2 * r2);
		default:
			return 1.0 / pow(r2, half);
	}
}

/*
 * idw_cell_sums accumulates in double, for one cell, the weighted sums
 * over all n points: w = 1 / r2^half with r2 = (px - cx)^2 + rowdy2 where
 * rowdy2 already holds (py - cy)^2 + smoothing^2.  No branch in the loop:
 * the caller handles points close to the node.
 */
static void
idw_cell_sums(const double *restrict px, const double *restrict rowdy2,
			  const double *restrict pv, size_t n, double cx, idw_wclass cls,
			  double half, double *num_out, double *den_out)
{
	double		num[IDW_LANES] = {0};
	double		den[IDW_LANES] = {0};
	size_t		nblock = n - n % IDW_LANES;

	/*
	 * IDW_LANES independent partial sums: without -ffast-math the compiler
	 * may not reorder a floating-point reduction, but it can vectorise these
	 * lanes.  The tail goes to lane 0.
	 */
#define IDW_LOOP(WEXPR) \
	do { \
		for (size_t b = 0; b < nblock; b += IDW_LANES) \
			for (int l = 0; l < IDW_LANES; l++) \
			{ \
				double		dx = px[b + l] - cx; \
				double		r2 = dx * dx + rowdy2[b + l]; \
				double		w = (WEXPR); \
				num[l] += w * pv[b + l]; \
				den[l] += w; \
			} \
		for (size_t i = nblock; i < n; i++) \
		{ \
			double		dx = px[i] - cx; \
			double		r2 = dx * dx + rowdy2[i]; \
			double		w = (WEXPR); \
			num[0] += w * pv[i]; \
			den[0] += w; \
		} \
	} while (0)

	switch (cls)
	{
		case IDW_W_P2:
			IDW_LOOP(1.0 / r2);
			break;
		case IDW_W_P1:
			IDW_LOOP(1.0 / sqrt(r2));
			break;
		case IDW_W_P3:
			IDW_LOOP(1.0 / (r2 * sqrt(r2)));
			break;
		case IDW_W_P4:
			IDW_LOOP(1.0 / (r2 * r2));
			break;
		default:
			IDW_LOOP(1.0 / pow(r2, half));
			break;
	}
#undef IDW_LOOP

	*num_out = 0.0;
	*den_out = 0.0;
	for (int l = 0; l < IDW_LANES; l++)
	{
		*num_out += num[l];
		*den_out += den[l];
	}
}

/*
 * idw_cell_double is one invdist cell in double: the first candidate (in
 * input order) within GDAL's snapping distance gives its value, else the
 * weighted mean over all points; a zero or non-finite denominator gives
 * nodata.  The candidates must include every point that can snap.
 */
static double
idw_cell_double(const idw_all_ctx *c, const double *rowdy2, const size_t *cand,
				size_t ncand, double cx)
{
	const interp_points *p = c->p;
	double		num,
				den;

	if (c->can_snap)
		for (size_t j = 0; j < ncand; j++)
		{
			size_t		i = cand[j];
			double		dx = p->x[i] - cx;

			if (dx * dx + rowdy2[i] < GDAL_SNAP_R2)
				return p->v[i];
		}
	idw_cell_sums(p->x, rowdy2, p->v, p->n, cx, c->cls, c->half, &num, &den);

	/*
	 * GDAL: a zero denominator gives nodata.  An infinite one (a point at
	 * the node on the power-2-with-smoothing path, with a tiny smoothing)
	 * gives nodata too, which keeps the output NaN-free.
	 */
	if (den == 0.0 || !isfinite(den))
		return c->nodata;
	return num / den;
}

#ifdef IDW_X86

/*
 * The SIMD loops.  A block is nb vectors of neighbouring cells of one row
 * (16 cells a vector with AVX-512, 8 with AVX2); for each point, every
 * lane computes its own cell's weight, so a cell's arithmetic is the same
 * whatever block or thread it falls in.  The helpers are always inlined
 * into functions of the same target, and the weight class and nb are
 * constants there, so each combination compiles to a straight loop.
 */
#define IDW_T512 __attribute__((target("avx512f")))
#define IDW_T256 __attribute__((target("avx2,fma")))
#define IDW_INLINE static inline __attribute__((always_inline))

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

/*
 * idw_rcp512 is 1 / x: rcp14 (relative error < 2^-14) and one
 * Newton-Raphson step r + r (1 - x r).
 */
IDW_INLINE IDW_T512 __m512
idw_rcp512(__m512 x)
{
	__m512		r = _mm512_rcp14_ps(x);

	return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(x, r, _mm512_set1_ps(1.0f)), r);
}

/*
 * idw_rsqrt512 is 1 / sqrt(x): rsqrt14 and one Newton-Raphson step
 * y + (y / 2) (1 - x y^2).
 */
IDW_INLINE IDW_T512 __m512
idw_rsqrt512(__m512 x)
{
	__m512		y = _mm512_rsqrt14_ps(x);
	__m512		e = _mm512_fnmadd_ps(_mm512_mul_ps(x, y), y, _mm512_set1_ps(1.0f));

	return _mm512_fmadd_ps(_mm512_mul_ps(y, _mm512_set1_ps(0.5f)), e, y);
}

/*
 * idw_pow512 is x^-h for normal x > 0 (see the file header): with
 * x = 2^e m, m in [sqrt(1/2), sqrt(2)), x^-h = 2^-(hh e) 2^-(hl e + h log2 m),
 * where hh e is exact; the integral parts go to the exponent.  The caller
 * guarantees that the result is a normal float.
 */
IDW_INLINE IDW_T512 __m512
idw_pow512(__m512 x, __m512 h, __m512 hh, __m512 hl)
{
	__m512i		bits = _mm512_castps_si512(x);
	__m512i		ei = _mm512_srai_epi32(_mm512_sub_epi32(bits, _mm512_set1_epi32(IDW_SQRT_HALF_BITS)), 23);
	__m512		m = _mm512_castsi512_ps(_mm512_sub_epi32(bits, _mm512_slli_epi32(ei, 23)));
	__m512		e = _mm512_cvtepi32_ps(ei);
	__m512		f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
	__m512		q = _mm512_set1_ps(IDW_LOG_C9);
	__m512		a,
				na,
				b,
				nb;

	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C8));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C7));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C6));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C5));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C4));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C3));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C2));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C1));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_LOG_C0));
	q = _mm512_mul_ps(q, f);	/* log2 m */

	a = _mm512_mul_ps(hh, e);	/* exact */
	na = _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	/* b = -(a - na) - hl e - h log2 m, |b| <= 0.6 + h / 2 */
	b = _mm512_fnmadd_ps(h, q, _mm512_fnmadd_ps(hl, e, _mm512_sub_ps(na, a)));
	nb = _mm512_roundscale_ps(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	f = _mm512_sub_ps(b, nb);	/* in [-0.5, 0.5] */
	q = _mm512_set1_ps(IDW_EXP_C6);
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_EXP_C5));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_EXP_C4));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_EXP_C3));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_EXP_C2));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_EXP_C1));
	q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(IDW_EXP_C0));
	return _mm512_scalef_ps(q, _mm512_sub_ps(nb, na));
}

/*
 * idw_w512 is the weight of squared distance r2 for class cls.
 */
IDW_INLINE IDW_T512 __m512
idw_w512(idw_wclass cls, __m512 r2, __m512 h, __m512 hh, __m512 hl)
{
	__m512		y;

	switch (cls)
	{
		case IDW_W_P2:
			return idw_rcp512(r2);
		case IDW_W_P1:
			return idw_rsqrt512(r2);
		case IDW_W_P3:
			y = idw_rsqrt512(r2);
			return _mm512_mul_ps(_mm512_mul_ps(y, y), y);
		case IDW_W_P4:
			y = idw_rcp512(r2);
			return _mm512_mul_ps(y, y);
		default:
			return idw_pow512(r2, h, hh, hl);
	}
}

/*
 * idw_block512 computes nb (1..4) vectors of 16 cells from column col0 of
 * a row: dy2 holds the row's dy^2 + s^2 in cell units for each point.
 * Lanes past the row's end are computed and dropped.
 */
IDW_INLINE IDW_T512 void
idw_block512(idw_wclass cls, int nb, const idw_simd_in *s, const float *dy2, size_t n,
			 int col0, int width, double nodata, double *orow)
{
	const float *xh = s->xh;
	const float *xl = s->xl;
	const float *vf = s->vf;
	__m512		h = _mm512_set1_ps(s->h);
	__m512		hh = _mm512_set1_ps(s->hh);
	__m512		hl = _mm512_set1_ps(s->hl);
	__m512		iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	__m512		c[4];
	__m512d		an[4][2];
	__m512d		ad[4][2];

#pragma GCC unroll 4
	for (int b = 0; b < nb; b++)
	{
		/* cell centres in cell units: exact integers */
		c[b] = _mm512_add_ps(_mm512_set1_ps((float) (col0 + 16 * b)), iota);
		an[b][0] = an[b][1] = ad[b][0] = ad[b][1] = _mm512_setzero_pd();
	}
	for (size_t i0 = 0; i0 < n; i0 += IDW_K)
	{
		size_t		i1 = n - i0 > IDW_K ? i0 + IDW_K : n;
		__m512		fn[4];
		__m512		fd[4];

#pragma GCC unroll 4
		for (int b = 0; b < nb; b++)
			fn[b] = fd[b] = _mm512_setzero_ps();
		for (size_t i = i0; i < i1; i++)
		{
			__m512		bh = _mm512_set1_ps(xh[i]);
			__m512		bl = _mm512_set1_ps(xl[i]);
			__m512		bd = _mm512_set1_ps(dy2[i]);
			__m512		bv = _mm512_set1_ps(vf[i]);

#pragma GCC unroll 4
			for (int b = 0; b < nb; b++)
			{
				/* c - xh is exact; one rounding for dx, one for r2 */
				__m512		dx = _mm512_sub_ps(_mm512_sub_ps(c[b], bh), bl);
				__m512		r2 = _mm512_fmadd_ps(dx, dx, bd);
				__m512		w = idw_w512(cls, r2, h, hh, hl);

				fn[b] = _mm512_fmadd_ps(w, bv, fn[b]);
				fd[b] = _mm512_add_ps(fd[b], w);
			}
		}
#pragma GCC unroll 4
		for (int b = 0; b < nb; b++)
		{
			__m256		nlo = _mm512_castps512_ps256(fn[b]);
			__m256		nhi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(fn[b]), 1));
			__m256		dlo = _mm512_castps512_ps256(fd[b]);
			__m256		dhi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(fd[b]), 1));

			an[b][0] = _mm512_add_pd(an[b][0], _mm512_cvtps_pd(nlo));
			an[b][1] = _mm512_add_pd(an[b][1], _mm512_cvtps_pd(nhi));
			ad[b][0] = _mm512_add_pd(ad[b][0], _mm512_cvtps_pd(dlo));
			ad[b][1] = _mm512_add_pd(ad[b][1], _mm512_cvtps_pd(dhi));
		}
	}
	for (int b = 0; b < nb; b++)
	{
		double		num[16];
		double		den[16];

		_mm512_storeu_pd(num, an[b][0]);
		_mm512_storeu_pd(num + 8, an[b][1]);
		_mm512_storeu_pd(den, ad[b][0]);
		_mm512_storeu_pd(den + 8, ad[b][1]);
		for (int l = 0; l < 16 && col0 + 16 * b + l < width; l++)
			orow[col0 + 16 * b + l] = (den[l] == 0.0 || !isfinite(den[l])) ? nodata : num[l] / den[l];
	}
}

/*
 * idw_row512_cls computes a row in blocks of 64 cells, then 16.
 */
IDW_INLINE IDW_T512 void
idw_row512_cls(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
			   int width, double nodata, double *orow)
{
	int			col0 = 0;

	for (; width - col0 >= 64; col0 += 64)
		idw_block512(cls, 4, s, dy2, n, col0, width, nodata, orow);
	for (; col0 < width; col0 += 16)
		idw_block512(cls, 1, s, dy2, n, col0, width, nodata, orow);
}

/*
 * idw_row_avx512 computes every cell of a row with AVX-512.
 */
static IDW_T512 void
idw_row_avx512(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
			   int width, double nodata, double *orow)
{
	switch (cls)
	{
		case IDW_W_P2:
			idw_row512_cls(IDW_W_P2, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P1:
			idw_row512_cls(IDW_W_P1, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P3:
			idw_row512_cls(IDW_W_P3, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P4:
			idw_row512_cls(IDW_W_P4, s, dy2, n, width, nodata, orow);
			break;
		default:
			idw_row512_cls(IDW_W_POW, s, dy2, n, width, nodata, orow);
			break;
	}
}

/*
 * idw_rcp256 is 1 / x: rcp (relative error < 1.5 * 2^-12) and one
 * Newton-Raphson step.
 */
IDW_INLINE IDW_T256 __m256
idw_rcp256(__m256 x)
{
	__m256		r = _mm256_rcp_ps(x);

	return _mm256_fmadd_ps(r, _mm256_fnmadd_ps(x, r, _mm256_set1_ps(1.0f)), r);
}

/*
 * idw_rsqrt256 is 1 / sqrt(x): rsqrt and one Newton-Raphson step.
 */
IDW_INLINE IDW_T256 __m256
idw_rsqrt256(__m256 x)
{
	__m256		y = _mm256_rsqrt_ps(x);
	__m256		e = _mm256_fnmadd_ps(_mm256_mul_ps(x, y), y, _mm256_set1_ps(1.0f));

	return _mm256_fmadd_ps(_mm256_mul_ps(y, _mm256_set1_ps(0.5f)), e, y);
}

/*
 * idw_pow256 is x^-h, as idw_pow512; the final scaling adds the integral
 * exponent to the bits (the caller guarantees a normal result).
 */
IDW_INLINE IDW_T256 __m256
idw_pow256(__m256 x, __m256 h, __m256 hh, __m256 hl)
{
	__m256i		bits = _mm256_castps_si256(x);
	__m256i		ei = _mm256_srai_epi32(_mm256_sub_epi32(bits, _mm256_set1_epi32(IDW_SQRT_HALF_BITS)), 23);
	__m256		m = _mm256_castsi256_ps(_mm256_sub_epi32(bits, _mm256_slli_epi32(ei, 23)));
	__m256		e = _mm256_cvtepi32_ps(ei);
	__m256		f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
	__m256		q = _mm256_set1_ps(IDW_LOG_C9);
	__m256		a,
				na,
				b,
				nb;
	__m256i		scale;

	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C8));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C7));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C6));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C5));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C4));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C3));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C2));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C1));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_LOG_C0));
	q = _mm256_mul_ps(q, f);

	a = _mm256_mul_ps(hh, e);
	na = _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	b = _mm256_fnmadd_ps(h, q, _mm256_fnmadd_ps(hl, e, _mm256_sub_ps(na, a)));
	nb = _mm256_round_ps(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	f = _mm256_sub_ps(b, nb);
	q = _mm256_set1_ps(IDW_EXP_C6);
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_EXP_C5));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_EXP_C4));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_EXP_C3));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_EXP_C2));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_EXP_C1));
	q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(IDW_EXP_C0));
	scale = _mm256_slli_epi32(_mm256_cvtps_epi32(_mm256_sub_ps(nb, na)), 23);
	return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(q), scale));
}

/*
 * idw_w256 is the weight of squared distance r2 for class cls.
 */
IDW_INLINE IDW_T256 __m256
idw_w256(idw_wclass cls, __m256 r2, __m256 h, __m256 hh, __m256 hl)
{
	__m256		y;

	switch (cls)
	{
		case IDW_W_P2:
			return idw_rcp256(r2);
		case IDW_W_P1:
			return idw_rsqrt256(r2);
		case IDW_W_P3:
			y = idw_rsqrt256(r2);
			return _mm256_mul_ps(_mm256_mul_ps(y, y), y);
		case IDW_W_P4:
			y = idw_rcp256(r2);
			return _mm256_mul_ps(y, y);
		default:
			return idw_pow256(r2, h, hh, hl);
	}
}

/*
 * idw_block256 is idw_block512 with 8 cells a vector and nb in 1..2.
 */
IDW_INLINE IDW_T256 void
idw_block256(idw_wclass cls, int nb, const idw_simd_in *s, const float *dy2, size_t n,
			 int col0, int width, double nodata, double *orow,
			 const double *ffn, const double *ffd)
{
	const float *xh = s->xh;
	const float *xl = s->xl;
	const float *vf = s->vf;
	__m256		h = _mm256_set1_ps(s->h);
	__m256		hh = _mm256_set1_ps(s->hh);
	__m256		hl = _mm256_set1_ps(s->hl);
	__m256		iota = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
	__m256		c[2];
	__m256d		an[2][2];
	__m256d		ad[2][2];

#pragma GCC unroll 2
	for (int b = 0; b < nb; b++)
	{
		c[b] = _mm256_add_ps(_mm256_set1_ps((float) (col0 + 8 * b)), iota);
		an[b][0] = an[b][1] = ad[b][0] = ad[b][1] = _mm256_setzero_pd();
	}
	for (size_t i0 = 0; i0 < n; i0 += IDW_K)
	{
		size_t		i1 = n - i0 > IDW_K ? i0 + IDW_K : n;
		__m256		fn[2];
		__m256		fd[2];

#pragma GCC unroll 2
		for (int b = 0; b < nb; b++)
			fn[b] = fd[b] = _mm256_setzero_ps();
		for (size_t i = i0; i < i1; i++)
		{
			__m256		bh = _mm256_broadcast_ss(xh + i);
			__m256		bl = _mm256_broadcast_ss(xl + i);
			__m256		bd = _mm256_broadcast_ss(dy2 + i);
			__m256		bv = _mm256_broadcast_ss(vf + i);

#pragma GCC unroll 2
			for (int b = 0; b < nb; b++)
			{
				__m256		dx = _mm256_sub_ps(_mm256_sub_ps(c[b], bh), bl);
				__m256		r2 = _mm256_fmadd_ps(dx, dx, bd);
				__m256		w = idw_w256(cls, r2, h, hh, hl);

				fn[b] = _mm256_fmadd_ps(w, bv, fn[b]);
				fd[b] = _mm256_add_ps(fd[b], w);
			}
		}
#pragma GCC unroll 2
		for (int b = 0; b < nb; b++)
		{
			an[b][0] = _mm256_add_pd(an[b][0], _mm256_cvtps_pd(_mm256_castps256_ps128(fn[b])));
			an[b][1] = _mm256_add_pd(an[b][1], _mm256_cvtps_pd(_mm256_extractf128_ps(fn[b], 1)));
			ad[b][0] = _mm256_add_pd(ad[b][0], _mm256_cvtps_pd(_mm256_castps256_ps128(fd[b])));
			ad[b][1] = _mm256_add_pd(ad[b][1], _mm256_cvtps_pd(_mm256_extractf128_ps(fd[b], 1)));
		}
	}
	for (int b = 0; b < nb; b++)
	{
		double		num[8];
		double		den[8];

		_mm256_storeu_pd(num, an[b][0]);
		_mm256_storeu_pd(num + 4, an[b][1]);
		_mm256_storeu_pd(den, ad[b][0]);
		_mm256_storeu_pd(den + 4, ad[b][1]);
		for (int l = 0; l < 8 && col0 + 8 * b + l < width; l++)
		{
			double		nm = num[l];
			double		dn = den[l];

			/* the far field's sums for this cell, in the same units */
			if (ffn != NULL)
			{
				nm += ffn[8 * b + l];
				dn += ffd[8 * b + l];
			}
			orow[col0 + 8 * b + l] = (dn == 0.0 || !isfinite(dn)) ? nodata : nm / dn;
		}
	}
}

/*
 * idw_row256_cls computes a row in blocks of 16 cells, then 8.
 */
IDW_INLINE IDW_T256 void
idw_row256_cls(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
			   int width, double nodata, double *orow)
{
	int			col0 = 0;

	for (; width - col0 >= 16; col0 += 16)
		idw_block256(cls, 2, s, dy2, n, col0, width, nodata, orow, NULL, NULL);
	for (; col0 < width; col0 += 8)
		idw_block256(cls, 1, s, dy2, n, col0, width, nodata, orow, NULL, NULL);
}

/*
 * idw_row_avx2 computes every cell of a row with AVX2 and FMA.
 */
static IDW_T256 void
idw_row_avx2(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
			 int width, double nodata, double *orow)
{
	switch (cls)
	{
		case IDW_W_P2:
			idw_row256_cls(IDW_W_P2, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P1:
			idw_row256_cls(IDW_W_P1, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P3:
			idw_row256_cls(IDW_W_P3, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P4:
			idw_row256_cls(IDW_W_P4, s, dy2, n, width, nodata, orow);
			break;
		default:
			idw_row256_cls(IDW_W_POW, s, dy2, n, width, nodata, orow);
			break;
	}
}

/*
 * idw_tile_row256_cls computes the cells [col0, col1) of a row (col0 a
 * multiple of 16) from the n near points in s and dy2, adding the far
 * field's sums ffn/ffd (indexed from col0).
 */
IDW_INLINE IDW_T256 void
idw_tile_row256_cls(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
					int col0, int col1, double nodata, double *orow,
					const double *ffn, const double *ffd)
{
	for (int c = col0; c < col1; c += 16)
		idw_block256(cls, 2, s, dy2, n, c, col1, nodata, orow, ffn + (c - col0), ffd + (c - col0));
}

/*
 * idw_tile_row_avx2 is idw_tile_row256_cls for a weight class known at run
 * time.
 */
static IDW_T256 void
idw_tile_row_avx2(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
				  int col0, int col1, double nodata, double *orow,
				  const double *ffn, const double *ffd)
{
	switch (cls)
	{
		case IDW_W_P2:
			idw_tile_row256_cls(IDW_W_P2, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
		case IDW_W_P1:
			idw_tile_row256_cls(IDW_W_P1, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
		case IDW_W_P3:
			idw_tile_row256_cls(IDW_W_P3, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
		default:
			idw_tile_row256_cls(IDW_W_P4, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
	}
}

/*
 * ff_w256d is the weight of r2 for powers 1 to 4, in double.
 */
IDW_INLINE IDW_T256 __m256d
ff_w256d(idw_wclass cls, __m256d r2)
{
	__m256d		one = _mm256_set1_pd(1.0);

	switch (cls)
	{
		case IDW_W_P2:
			return _mm256_div_pd(one, r2);
		case IDW_W_P1:
			return _mm256_div_pd(one, _mm256_sqrt_pd(r2));
		case IDW_W_P3:
			return _mm256_div_pd(one, _mm256_mul_pd(r2, _mm256_sqrt_pd(r2)));
		default:
			return _mm256_div_pd(one, _mm256_mul_pd(r2, r2));
	}
}

/*
 * ff_nodes256_cls sums, in double, the weights (D) and weighted values (N)
 * of the nf far points (fx, fy, fv, in cell units from the tile's centre)
 * at the IDW_FF_NODES^2 nodes (xn[j], yn[k]): N[k][j], D[k][j].
 */
IDW_INLINE IDW_T256 void
ff_nodes256_cls(idw_wclass cls, const double *fx, const double *fy, const double *fv,
				size_t nf, const double *xn, const double *yn, double s2,
				double *N, double *D)
{
	__m256d		x[IDW_FF_NODES / 4];

	for (int q = 0; q < IDW_FF_NODES / 4; q++)
		x[q] = _mm256_loadu_pd(xn + 4 * q);
	for (int k = 0; k < IDW_FF_NODES; k++)
	{
		__m256d		an[IDW_FF_NODES / 4];
		__m256d		ad[IDW_FF_NODES / 4];

		for (int q = 0; q < IDW_FF_NODES / 4; q++)
			an[q] = ad[q] = _mm256_setzero_pd();
		for (size_t m = 0; m < nf; m++)
		{
			double		dy = yn[k] - fy[m];
			__m256d		bd = _mm256_set1_pd(dy * dy + s2);
			__m256d		bx = _mm256_set1_pd(fx[m]);
			__m256d		bv = _mm256_set1_pd(fv[m]);

#pragma GCC unroll 4
			for (int q = 0; q < IDW_FF_NODES / 4; q++)
			{
				__m256d		dx = _mm256_sub_pd(x[q], bx);
				__m256d		w = ff_w256d(cls, _mm256_fmadd_pd(dx, dx, bd));

				an[q] = _mm256_fmadd_pd(w, bv, an[q]);
				ad[q] = _mm256_add_pd(ad[q], w);
			}
		}
		for (int q = 0; q < IDW_FF_NODES / 4; q++)
		{
			_mm256_storeu_pd(N + k * IDW_FF_NODES + 4 * q, an[q]);
			_mm256_storeu_pd(D + k * IDW_FF_NODES + 4 * q, ad[q]);
		}
	}
}

/*
 * ff_nodes_avx2 is ff_nodes256_cls for a weight class known at run time.
 */
static IDW_T256 void
ff_nodes_avx2(idw_wclass cls, const double *fx, const double *fy, const double *fv,
			  size_t nf, const double *xn, const double *yn, double s2,
			  double *N, double *D)
{
	switch (cls)
	{
		case IDW_W_P2:
			ff_nodes256_cls(IDW_W_P2, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
		case IDW_W_P1:
			ff_nodes256_cls(IDW_W_P1, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
		case IDW_W_P3:
			ff_nodes256_cls(IDW_W_P3, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
		default:
			ff_nodes256_cls(IDW_W_P4, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
	}
}
#endif							/* IDW_X86 */

/*
 * idw_simd_level is the best instruction set for the invdist loop on this
 * CPU (and OS), capped by cap (IDW_SIMD_BEST: no cap).
 */
static idw_simd
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
static bool
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

/*
 * ff_basis_init fills c->ff_node with the IDW_FF_NODES Chebyshev points of
 * the second kind, cos(j pi / (IDW_FF_NODES - 1)), and c->ff_phi[u][j] with
 * the Lagrange basis of node j at cell offset u of a tile, at
 * t = (u - h) / h with h = (IDW_FF_TILE - 1) / 2 (the barycentric
 * formula, weights (-1)^j, halved at both ends).
 */
static void
ff_basis_init(idw_all_ctx *c)
{
	const int	m = IDW_FF_NODES - 1;
	const double h = 0.5 * (IDW_FF_TILE - 1);
	double		bw[IDW_FF_NODES];

	for (int j = 0; j <= m; j++)
	{
		c->ff_node[j] = j == 0 ? 1.0 : (j == m ? -1.0 : cos(3.14159265358979323846 * j / m));
		bw[j] = (j % 2 ? -1.0 : 1.0) * (j == 0 || j == m ? 0.5 : 1.0);
	}
	for (int u = 0; u < IDW_FF_TILE; u++)
	{
		double		t = (u - h) / h;
		double		sum = 0.0;
		int			hit = -1;

		for (int j = 0; j <= m; j++)
			if (t == c->ff_node[j])
				hit = j;
		for (int j = 0; j <= m; j++)
		{
			c->ff_phi[u][j] = hit >= 0 ? (j == hit) : bw[j] / (t - c->ff_node[j]);
			sum += c->ff_phi[u][j];
		}
		if (hit < 0)
			for (int j = 0; j <= m; j++)
				c->ff_phi[u][j] /= sum;
	}
}

#ifdef IDW_X86
/*
 * ff_interpolate turns node sums S[k][j] (node row k, column j) into cell
 * sums F[v][u] of a tile (IDW_FF_TILE x IDW_FF_TILE, row-major), through
 * T[k][u] = sum_j S[k][j] phi[u][j] and F[v][u] = sum_k phi[v][k] T[k][u].
 */
static void
ff_interpolate(const idw_all_ctx *c, const double *restrict S, double *restrict T,
			   double *restrict F)
{
	for (int k = 0; k < IDW_FF_NODES; k++)
		for (int u = 0; u < IDW_FF_TILE; u++)
		{
			double		t = 0.0;

			for (int j = 0; j < IDW_FF_NODES; j++)
				t += S[k * IDW_FF_NODES + j] * c->ff_phi[u][j];
			T[k * IDW_FF_TILE + u] = t;
		}
	for (int v = 0; v < IDW_FF_TILE; v++)
	{
		double	   *f = F + v * IDW_FF_TILE;

		for (int u = 0; u < IDW_FF_TILE; u++)
			f[u] = 0.0;
		for (int k = 0; k < IDW_FF_NODES; k++)
		{
			double		phi = c->ff_phi[v][k];
			const double *t = T + k * IDW_FF_TILE;

			for (int u = 0; u < IDW_FF_TILE; u++)
				f[u] += phi * t[u];
		}
	}
}

/*
 * idw_tile computes the SIMD invdist of the cells of one tile, rows
 * [tr0, tr1) and columns [tc0, tc1) (tr0 and tc0 multiples of
 * IDW_FF_TILE): the far points' sums come from ff_nodes_avx2 and
 * ff_interpolate, the near points' from the SIMD loop, cell by cell.
 * Cells that need the double path are redone by the caller.
 */
static void
idw_tile(const idw_all_ctx *c, int tid, int tr0, int tr1, int tc0, int tc1)
{
	const interp_points *p = c->p;
	const interp_grid *g = c->g;
	size_t		n = p->n;
	size_t		ns = c->nstride;
	size_t	   *near = c->near + (size_t) tid * ns;
	float	   *nf3 = c->near_f + (size_t) tid * 3 * ns;
	double	   *fd3 = c->far_d + (size_t) tid * 3 * ns;
	float	   *dy2f = c->dy2f + (size_t) tid * ns;
	double	   *S = c->ff_buf + (size_t) tid * FF_BUF_LEN;	/* N, then D */
	double	   *T = S + 2 * IDW_FF_NODES * IDW_FF_NODES;
	double	   *Fn = T + 2 * IDW_FF_NODES * IDW_FF_TILE;
	double	   *Fd = Fn + IDW_FF_TILE * IDW_FF_TILE;
	double		inv = c->ff_scale;
	double		half = 0.5 * (IDW_FF_TILE - 1);
	double		q = g->sy * inv;	/* a row's step in cell units (< 0) */
	double		xc = g->ulx + (tc0 + 0.5 * IDW_FF_TILE) * g->sx;
	double		yc = g->uly + (tr0 + 0.5 * IDW_FF_TILE) * g->sy;
	double		reach = IDW_FF_FAR * half * fmax(1.0, fabs(q));
	double		far2 = reach * reach;
	size_t		nnear = 0,
				nfar = 0;
	idw_simd_in vs = c->vs;

	for (size_t i = 0; i < n; i++)
	{
		double		X = (p->x[i] - xc) * inv;
		double		Y = (p->y[i] - yc) * inv;

		if (X * X + Y * Y >= far2)
		{
			fd3[nfar] = X;
			fd3[ns + nfar] = Y;
			fd3[2 * ns + nfar] = p->v[i];
			nfar++;
		}
		else
		{
			near[nnear] = i;
			nf3[nnear] = c->vs.xh[i];
			nf3[ns + nnear] = c->vs.xl[i];
			nf3[2 * ns + nnear] = c->vs.vf[i];
			nnear++;
		}
	}

	if (nfar > 0)
	{
		double		xn[IDW_FF_NODES];
		double		yn[IDW_FF_NODES];

		for (int j = 0; j < IDW_FF_NODES; j++)
		{
			xn[j] = half * c->ff_node[j];
			yn[j] = half * q * c->ff_node[j];
		}
		ff_nodes_avx2(c->cls, fd3, fd3 + ns, fd3 + 2 * ns, nfar, xn, yn, c->s2 * c->inv_sx2,
					  S, S + IDW_FF_NODES * IDW_FF_NODES);
		ff_interpolate(c, S, T, Fn);
		ff_interpolate(c, S + IDW_FF_NODES * IDW_FF_NODES, T + IDW_FF_NODES * IDW_FF_TILE, Fd);
	}
	else
		for (int k = 0; k < IDW_FF_TILE * IDW_FF_TILE; k++)
			Fn[k] = Fd[k] = 0.0;

	vs.xh = nf3;
	vs.xl = nf3 + ns;
	vs.vf = nf3 + 2 * ns;
	for (int row = tr0; row < tr1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		int			v = row - tr0;

		for (size_t m = 0; m < nnear; m++)
		{
			double		dy = p->y[near[m]] - cy;

			dy2f[m] = (float) ((dy * dy + c->s2) * c->inv_sx2);
		}
		idw_tile_row_avx2(c->cls, &vs, dy2f, nnear, tc0, tc1, c->nodata,
						  c->out + (size_t) row * (size_t) g->width,
						  Fn + v * IDW_FF_TILE, Fd + v * IDW_FF_TILE);
	}
}
#endif

/*
 * idw_all_rows is the par_rows worker of idw_all: rows [row0, row1).
 */
static bool
idw_all_rows(void *arg, int tid, int row0, int row1)
{
	const idw_all_ctx *c = arg;
	const interp_points *p = c->p;
	const interp_grid *g = c->g;
	size_t		n = p->n;
	double	   *rowdy2 = c->rowdy2 + (size_t) tid * c->nstride;
	size_t	   *cand = c->cand + (size_t) tid * c->nstride;

#ifdef IDW_X86
	/* with the far field, rows [row0, row1) are one row of tiles */
	if (c->tiles)
		for (int tc0 = 0; tc0 < g->width; tc0 += IDW_FF_TILE)
			idw_tile(c, tid, row0, row1, tc0,
					 g->width - tc0 > IDW_FF_TILE ? tc0 + IDW_FF_TILE : g->width);
#endif

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;
		size_t		ncand = 0;

		/*
		 * Only points with (py - cy)^2 + s^2 < cand_r2 can be close to a
		 * node of this row; list them in input order (usually none).
		 */
		for (size_t i = 0; i < n; i++)
		{
			double		dy = p->y[i] - cy;

			rowdy2[i] = dy * dy + c->s2;
		}
		for (size_t i = 0; i < n; i++)
			if (rowdy2[i] < c->cand_r2)
				cand[ncand++] = i;

		if (c->simd == IDW_SIMD_NONE)
		{
			for (int col = 0; col < g->width; col++)
				orow[col] = idw_cell_double(c, rowdy2, cand, ncand,
											g->ulx + (col + 0.5) * g->sx);
			continue;
		}

#ifdef IDW_X86
		{
			float	   *dy2f = c->dy2f + (size_t) tid * c->nstride;
			int		   *redo = c->redo + (size_t) tid * c->wstride;
			unsigned char *mark = c->mark + (size_t) tid * c->wstride;
			int			nredo = 0;

			if (!c->tiles)
			{
				for (size_t i = 0; i < n; i++)
					dy2f[i] = (float) (rowdy2[i] * c->inv_sx2);
				if (c->simd == IDW_SIMD_AVX512)
					idw_row_avx512(c->cls, &c->vs, dy2f, n, g->width, c->nodata, orow);
				else
					idw_row_avx2(c->cls, &c->vs, dy2f, n, g->width, c->nodata, orow);
			}

			/*
			 * Cells with a candidate closer than sqrt(cand_r2) are redone in
			 * double (with a cell of margin on each side).
			 */
			for (size_t j = 0; j < ncand; j++)
			{
				size_t		i = cand[j];
				double		X = (p->x[i] - g->ulx) / g->sx - 0.5;
				double		reach = sqrt(c->cand_r2 - rowdy2[i]) / g->sx + 1.0;
				double		lo = fmax(floor(X - reach), 0.0);
				double		hi = fmin(ceil(X + reach), g->width - 1.0);

				for (double col = lo; col <= hi; col += 1.0)
					if (!mark[(int) col])
					{
						mark[(int) col] = 1;
						redo[nredo++] = (int) col;
					}
			}
			for (int j = 0; j < nredo; j++)
			{
				int			col = redo[j];

				orow[col] = idw_cell_double(c, rowdy2, cand, ncand,
											g->ulx + (col + 0.5) * g->sx);
				mark[col] = 0;
			}
		}
#endif
	}
	return true;
}

/*
 * idw_all is GDAL "invdist" with no search ellipse: every point weighs in.
 * O(cells * points), in the SIMD loops when the CPU and the input allow,
 * else in idw_cell_sums.
 */
static interp_status
idw_all(const interp_points *p, const interp_grid *g, const idw_options *o,
		const interp_exec *exec, double *out)
{
	idw_all_ctx c;
	size_t		n = p->n;
	size_t		threads = (size_t) par_threads(exec, g->height);
	size_t		width = (size_t) g->width;
	bool		nomem = false;
	interp_status st;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.g = g;
	c.out = out;
	c.nodata = o->nodata;
	c.s2 = o->smoothing * o->smoothing;
	c.half = o->power / 2.0;
	c.cls = idw_class(o->power);
	c.can_snap = !(o->power == 2.0 && c.s2 > 0);
	c.cand_r2 = c.can_snap ? GDAL_SNAP_R2 : 0.0;
	c.inv_sx2 = 1.0 / (g->sx * g->sx);
	c.simd = idw_simd_level(o->simd);
	if (c.simd != IDW_SIMD_NONE && !idw_simd_prepare(&c, o->power, &nomem))
		c.simd = IDW_SIMD_NONE;
	if (nomem)
		return INTERP_NOMEM;
	if (c.simd != IDW_SIMD_NONE)
		c.cand_r2 = fmax(c.cand_r2, IDW_NEAR_R2 * g->sx * g->sx);

	/* the far field: powers 1 to 4 on the SIMD path, when there is enough to gain */
	if (c.simd != IDW_SIMD_NONE && c.cls != IDW_W_POW && o->far_field != IDW_FAR_NEVER)
	{
		size_t		tiles = (size_t) ((g->width + IDW_FF_TILE - 1) / IDW_FF_TILE) *
			(size_t) ((g->height + IDW_FF_TILE - 1) / IDW_FF_TILE);

		c.tiles = o->far_field == IDW_FAR_ALWAYS ||
			(n >= IDW_FF_MIN_POINTS && tiles >= IDW_FF_MIN_TILES);
	}
	if (c.tiles)
	{
		ff_basis_init(&c);
		c.ff_scale = 1.0 / g->sx;
	}

	c.nstride = n + PAR_SCRATCH_PAD;
	c.wstride = width + PAR_SCRATCH_PAD;
	if (n > SIZE_MAX / (3 * sizeof(double)) / threads - PAR_SCRATCH_PAD)
		st = INTERP_NOMEM;
	else
	{
		if (c.tiles)
		{
			c.near = malloc(threads * c.nstride * sizeof(size_t));
			c.near_f = malloc(threads * 3 * c.nstride * sizeof(float));
			c.far_d = malloc(threads * 3 * c.nstride * sizeof(double));
			c.ff_buf = malloc(threads * FF_BUF_LEN * sizeof(double));
		}
		c.rowdy2 = malloc(threads * c.nstride * sizeof(double));
		c.cand = malloc(threads * c.nstride * sizeof(size_t));
		if (c.simd != IDW_SIMD_NONE)
		{
			c.dy2f = malloc(threads * c.nstride * sizeof(float));
			c.redo = malloc(threads * c.wstride * sizeof(int));
			c.mark = calloc(threads * c.wstride, 1);
		}
		if (c.rowdy2 == NULL || c.cand == NULL ||
			(c.simd != IDW_SIMD_NONE && (c.dy2f == NULL || c.redo == NULL || c.mark == NULL)) ||
			(c.tiles && (c.near == NULL || c.near_f == NULL || c.far_d == NULL || c.ff_buf == NULL)))
			st = INTERP_NOMEM;
		else
			st = par_rows(exec, g->height, c.tiles ? IDW_FF_TILE : 0, idw_all_rows, &c);
	}
	free(c.near);
	free(c.near_f);
	free(c.far_d);
	free(c.ff_buf);
	free(c.rowdy2);
	free(c.cand);
	free(c.dy2f);
	free(c.redo);
	free(c.mark);
	free(c.vs.xh);
	free(c.vs.xl);
	free(c.vs.vf);
	return st;
}

/* One invdistnn computation (idw_nn), shared by its threads. */
typedef struct idw_nn_ctx
{
	const interp_points *p;
	const interp_grid *g;
	const idw_options *o;
	const kdtree *t;			/* the k-d tree, when the bucket grid is not used */
	const buckets *b;			/* the bucket grid, or NULL */
	size_t		rstride;		/* bucket rows + PAR_SCRATCH_PAD */
	double	   *dy2;			/* threads x rstride: squared gaps of the bucket rows */
	size_t		k;				/* neighbours asked for */
	size_t		kstride;		/* k + PAR_SCRATCH_PAD: per-thread slices of idx and d2 */
	size_t		min_points;
	double		s2;
	double		half;
	idw_wclass	cls;
	double		r2;				/* radius^2, INFINITY for no radius */
	size_t	   *idx;			/* threads x kstride */
	double	   *d2;				/* threads x kstride */
	size_t	   *rowseed;		/* threads x kstride: the neighbours of a row's first cell */
	double	   *out;
} idw_nn_ctx;

/*
 * idw_nn_bound returns the largest squared distance from (qx, qy) to the k
 * points whose input indices are in seed, capped at r2.  They are k
 * distinct points, so the k nearest all lie within it: searching within
 * it (ties included) finds the same k as an unbounded search, and the
 * previous cell's neighbours make it tight.
 */
static double
idw_nn_bound(const interp_points *p, const size_t *seed, size_t k, double qx, double qy, double r2)
{
	double		lim = 0.0;

	for (size_t j = 0; j < k; j++)
	{
		double		dx = p->x[seed[j]] - qx;
		double		dy = p->y[seed[j]] - qy;
		double		d = dx * dx + dy * dy;

		/* written so that NaN gives no bound */
		if (!(d <= lim))
			lim = d;
	}
	return lim < r2 ? lim : r2;
}

/*
 * idw_nn_rows is the par_rows worker of idw_nn: rows [row0, row1), with
 * the bucket grid or the k-d tree.
 */
static bool
idw_nn_rows(void *arg, int tid, int row0, int row1)
{
	const idw_nn_ctx *c = arg;
	const interp_grid *g = c->g;
	const double *pv = c->p->v;
	size_t	   *idx = c->idx + (size_t) tid * c->kstride;
	double	   *d2 = c->d2 + (size_t) tid * c->kstride;
	size_t	   *rowseed = c->rowseed + (size_t) tid * c->kstride;
	buckets_cursor cur = {c->b != NULL ? c->dy2 + (size_t) tid * c->rstride : NULL, 0, 0, true};
	bool		have_rowseed = false;

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;
		size_t		m = 0;

		if (c->b != NULL)
			buckets_row(c->b, cy, &cur);
		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;
			double		lim = c->r2;
			double		num = 0.0;
			double		den = 0.0;

			/* a head start: the previous cell's neighbours, or the row above's */
			if (col > 0 && m == c->k)
				lim = idw_nn_bound(c->p, idx, c->k, cx, cy, c->r2);
			else if (col == 0 && have_rowseed)
				lim = idw_nn_bound(c->p, rowseed, c->k, cx, cy, c->r2);
			if (c->b != NULL)
				m = buckets_nearest_k(c->b, &cur, cx, cy, c->k, lim, idx, d2);
			else
				m = kdtree_nearest_k_bound(c->t, cx, cy, c->k, lim, idx, d2);
			if (col == 0)
			{
				have_rowseed = m == c->k;
				if (have_rowseed)
					memcpy(rowseed, idx, c->k * sizeof(size_t));
			}

			/* nearest first: if any point is close to the node, this one is */
			if (m > 0 && d2[0] + c->s2 < GDAL_SNAP_R2)
			{
				orow[col] = pv[idx[0]];
				continue;
			}
			for (size_t j = 0; j < m; j++)
			{
				double		w = idw_weight(c->cls, d2[j] + c->s2, c->half);

				num += w * pv[idx[j]];
				den += w;
			}
			if (m < c->min_points || den == 0.0 || !isfinite(den))
				orow[col] = c->o->nodata;
			else
				orow[col] = num / den;
		}
	}
	return true;
}

/*
 * idw_nn is GDAL "invdistnn": the points within radius (0: all), nearest
 * first, at most max_points of them (0: all), found with the bucket grid
 * or the k-d tree (see interp_nearest).
 */
static interp_status
idw_nn(const interp_points *p, const interp_grid *g, const idw_options *o,
	   const interp_exec *exec, double *out)
{
	idw_nn_ctx	c;
	buckets    *b = NULL;
	size_t		n = p->n;
	size_t		threads = (size_t) par_threads(exec, g->height);
	interp_status st;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.g = g;
	c.o = o;
	c.out = out;
	c.k = (o->max_points > 0 && (size_t) o->max_points < n) ? (size_t) o->max_points : n;
	c.min_points = o->min_points > 0 ? (size_t) o->min_points : 0;
	c.s2 = o->smoothing * o->smoothing;
	c.half = o->power / 2.0;
	c.cls = idw_class(o->power);
	if (c.k > SIZE_MAX / sizeof(double) / threads - PAR_SCRATCH_PAD)
		return INTERP_NOMEM;
	c.kstride = c.k + PAR_SCRATCH_PAD;
	c.r2 = o->radius > 0 ? o->radius * o->radius : INFINITY;

	/* the bucket grid when the points suit it, else the k-d tree */
	st = buckets_try(p, g, o->search, &b);
	if (st == INTERP_NOMEM)
		return st;
	if (st == INTERP_OK)
	{
		c.b = b;
		c.rstride = (size_t) buckets_nrows(b) + PAR_SCRATCH_PAD;
		c.dy2 = malloc(threads * c.rstride * sizeof(double));
		st = c.dy2 == NULL ? INTERP_NOMEM : INTERP_OK;
	}
	else
	{
		c.t = kdtree_build(p->x, p->y, n);
		st = c.t == NULL ? INTERP_NOMEM : INTERP_OK;
	}
	c.idx = malloc(threads * c.kstride * sizeof(size_t));
	c.d2 = malloc(threads * c.kstride * sizeof(double));
	c.rowseed = malloc(threads * c.kstride * sizeof(size_t));
	if (st != INTERP_OK || c.idx == NULL || c.d2 == NULL || c.rowseed == NULL)
		st = INTERP_NOMEM;
	else
		st = par_rows(exec, g->height, 0, idw_nn_rows, &c);
	kdtree_free((kdtree *) c.t);
	buckets_free(b);
	free(c.dy2);
	free(c.idx);
	free(c.d2);
	free(c.rowseed);
	return st;
}

/*
 * interp_idw fills out with inverse distance to a power: GDAL "invdist"
 * when radius and max_points are both 0, else "invdistnn".  No points:
 * every cell is nodata (GDAL's zero denominator).
 */
interp_status
interp_idw(const interp_points *p, const interp_grid *g, const idw_options *o,
		   const interp_exec *exec, double *out)
{
	if (g->width <= 0 || g->height <= 0)
		return INTERP_OK;
	if (p->n == 0)
	{
		grid_fill(g, o->nodata, out);
		return INTERP_OK;
	}
	if (o->radius > 0 || o->max_points > 0)
		return idw_nn(p, g, o, exec, out);
	return idw_all(p, g, o, exec, out);
}

/* One nearest computation, shared by its threads. */
typedef struct nearest_ctx
{
	const interp_points *p;
	const interp_grid *g;
	const nearest_options *o;
	const kdtree *t;			/* the k-d tree, when the bucket grid is not used */
	const buckets *b;			/* the bucket grid, or NULL */
	double		r2;				/* radius^2, INFINITY for no radius */
	size_t		rstride;		/* bucket rows + PAR_SCRATCH_PAD */
	double	   *dy2;			/* threads x rstride: squared gaps of the bucket rows */
	double	   *out;
} nearest_ctx;

/*
 * nearest_rows is the par_rows worker of interp_nearest: rows [row0,
 * row1), with the bucket grid or the k-d tree.  Each search starts from
 * the previous cell's nearest point (or that of the row above, or point
 * 0): its distance bounds the search to a few buckets or leaves, and
 * since the search then looks at every point that could beat or tie it,
 * the answer does not depend on where it started.
 */
static bool
nearest_rows(void *arg, int tid, int row0, int row1)
{
	const nearest_ctx *c = arg;
	const interp_grid *g = c->g;
	const double *pv = c->p->v;
	buckets_cursor cur = {c->b != NULL ? c->dy2 + (size_t) tid * c->rstride : NULL, 0, 0, true};
	size_t		rowseed = 0;

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;
		size_t		seed = rowseed;

		if (c->b != NULL)
			buckets_row(c->b, cy, &cur);
		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;
			size_t		i = c->b != NULL ? buckets_nearest(c->b, &cur, cx, cy, c->r2, &seed) :
				kdtree_nearest1(c->t, cx, cy, c->r2, &seed);

			orow[col] = i != SIZE_MAX ? pv[i] : c->o->nodata;
			if (col == 0)
				rowseed = seed;
		}
	}
	return true;
}

/*
 * interp_nearest fills out with GDAL "nearest": the value of the nearest
 * point with d^2 <= radius^2 (radius 0: unlimited), nodata when there is
 * none.  Equidistant points: the lowest index wins (GDAL keeps the last
 * one it visits, which depends on its quadtree).  The searches run on the
 * bucket grid when the points suit it (buckets_try), else on the k-d
 * tree; both give the same answers.
 */
interp_status
interp_nearest(const interp_points *p, const interp_grid *g, const nearest_options *o,
			   const interp_exec *exec, double *out)
{
	nearest_ctx c;
	buckets    *b = NULL;
	interp_status st;

	if (g->width <= 0 || g->height <= 0)
		return INTERP_OK;
	if (p->n == 0)
	{
		grid_fill(g, o->nodata, out);
		return INTERP_OK;
	}
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.g = g;
	c.o = o;
	c.out = out;
	c.r2 = o->radius > 0 ? o->radius * o->radius : INFINITY;

	/* the bucket grid when the points suit it, else the k-d tree */
	st = buckets_try(p, g, o->search, &b);
	if (st == INTERP_NOMEM)
		return st;
	if (st == INTERP_OK)
	{
		size_t		threads = (size_t) par_threads(exec, g->height);

		c.b = b;
		c.rstride = (size_t) buckets_nrows(b) + PAR_SCRATCH_PAD;
		c.dy2 = malloc(threads * c.rstride * sizeof(double));
		st = c.dy2 == NULL ? INTERP_NOMEM : INTERP_OK;
	}
	else
	{
		c.t = kdtree_build(p->x, p->y, p->n);
		st = c.t == NULL ? INTERP_NOMEM : INTERP_OK;
	}
	if (st == INTERP_OK)
		st = par_rows(exec, g->height, 0, nearest_rows, &c);
	kdtree_free((kdtree *) c.t);
	buckets_free(b);
	free(c.dy2);
	return st;
}
