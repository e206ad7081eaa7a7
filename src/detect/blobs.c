/*
 * blobs.c
 *	  Kernel: blob detection (DoH, LoG, DoG) as scikit-image 0.19.3 does it
 *	  (see blobs.h for the contract, the tiling and the memory rule).
 *
 *	  The set-up (options, scales, the tile plan) is blobs_plan.c.  The
 *	  pipeline for each tile of the image: the response cube over the
 *	  tile's core plus one pixel (CubeDoh / CubeGauss; the LoG/DoG passes,
 *	  on 8 x 8 blocks, are in blobs_conv.h), then the peak test of
 *	  peak_local_max over the core (TilePeaks), keeping candidates above a
 *	  lower bound of the final threshold, and the cube's running minimum and
 *	  maximum (CubeGauss takes those for LoG/DoG, with flags on the blocks
 *	  the peak test must read).  Then, over all candidates: the final threshold,
 *	  numpy's argsort order and _prune_blobs (both in blobs_prune.c), and
 *	  the output order.
 *
 *	  Exactness.  DoH follows skimage's integral image (cumsum down the
 *	  columns, then along the rows, in double) and its _hessian_matrix_det
 *	  operation for operation, so its cube has skimage's bits; the integral
 *	  image of a tile is built from carries (the column sums just above the
 *	  tile and the row sums just left of it) that hold the same bits as the
 *	  whole-image sums.  LoG and DoG use scipy's kernels and order of
 *	  summation; their weights come from libm's exp (numpy has its own), so
 *	  values may differ from scipy's in the last bits.
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include "detect/blobs.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "detect/blobs_private.h"


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BLOB_X86 1
#endif

/*
 * No a * b + c may become an FMA (AVX-512F implies FMA, and GNU C modes
 * contract by default): scipy and skimage round each operation, and every
 * variant below must give the same bits.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

/*
 * Vectors of doubles (GCC/clang vector extensions): the plain variant's
 * four-lane vectors compile to SSE2 pairs, the AVX one to ymm registers,
 * the AVX-512 one has eight lanes.  Every variant gives the same bits.
 */
typedef double BlobVec2 __attribute__((vector_size(16)));
typedef long long BlobMask2 __attribute__((vector_size(16)));
typedef double BlobVec4 __attribute__((vector_size(32)));
typedef long long BlobMask4 __attribute__((vector_size(32)));

/* a shuffle of two vectors with constant lane indices (0..L-1: a, L..2L-1: b) */
#if defined(__clang__)
#define BLOB_SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define BLOB_SHUF(a, b, ...) __builtin_shuffle(a, b, (BLOB_M) {__VA_ARGS__})
#endif

#define BLOB_V BlobVec2
#define BLOB_M BlobMask2
#define BLOB_L 2
#define BLOB_FN(n) n##_plain
#define BLOB_ATTR
#include "detect/blobs_conv.h"
#undef BLOB_FN
#undef BLOB_ATTR
#undef BLOB_V
#undef BLOB_M
#undef BLOB_L

#ifdef BLOB_X86
#define BLOB_V BlobVec4
#define BLOB_M BlobMask4
#define BLOB_L 4
#define BLOB_FN(n) n##_avx
#define BLOB_ATTR __attribute__((target("avx")))
#include "detect/blobs_conv.h"
#undef BLOB_FN
#undef BLOB_ATTR
#undef BLOB_V
#undef BLOB_M
#undef BLOB_L

typedef double BlobVec8 __attribute__((vector_size(64)));
typedef long long BlobMask8 __attribute__((vector_size(64)));

#define BLOB_V BlobVec8
#define BLOB_M BlobMask8
#define BLOB_L 8
#define BLOB_FN(n) n##_avx512
#define BLOB_ATTR __attribute__((target("avx512f")))
#include "detect/blobs_conv.h"
#undef BLOB_FN
#undef BLOB_ATTR
#endif
#undef BLOB_V
#undef BLOB_M
#undef BLOB_L

/*
 * ReflectIndex maps i to [0, n) as scipy's mode 'reflect' extends a line
 * (d c b a | a b c d | d c b a, repeating with period 2n).
 */
static inline int64_t
ReflectIndex(int64_t i, int64_t n)
{
	int64_t		p = 2 * n;

	if (i >= 0 && i < n)
		return i;
	i %= p;
	if (i < 0)
		i += p;
	return i < n ? i : p - 1 - i;
}

/* RoundUp is n rounded up to a multiple of m. */
static inline int64_t
RoundUp(int64_t n, int64_t m)
{
	return (n + m - 1) / m * m;
}

/* Clip as skimage's _clip(v, 0, hi). */
static inline int64_t
Clip(int64_t v, int64_t hi)
{
	return v > hi ? hi : (v < 0 ? 0 : v);
}

/*
 * The integral image of the tile's input region [ir0, ir1) x [ic0, ic1),
 * with row stride iw, and skimage's _integ over it in global coordinates.
 */
typedef struct Integral
{
	const double *s;
	int64_t		ir0,
				ic0,
				iw,
				rmax,
				cmax;
} Integral;

static inline double
Integ(const Integral *g, int64_t r, int64_t c, int64_t rl, int64_t cl)
{
	int64_t		r2,
				c2;
	double		ans;

	r = Clip(r, g->rmax);
	c = Clip(c, g->cmax);
	r2 = Clip(r + rl, g->rmax);
	c2 = Clip(c + cl, g->cmax);
	r -= g->ir0;
	r2 -= g->ir0;
	c -= g->ic0;
	c2 -= g->ic0;
	ans = g->s[r * g->iw + c] + g->s[r2 * g->iw + c2] - g->s[r * g->iw + c2] - g->s[r2 * g->iw + c];
	return ans > 0. ? ans : 0.;
}

/*
 * DohPixel is skimage's _hessian_matrix_det at (r, c) for box size size.
 */
static inline double
DohPixel(const Integral *g, int64_t r, int64_t c, int64_t size)
{
	int64_t		s2 = (size - 1) / 2,
				s3 = size / 3,
				w = size;
	double		w_i = 1.0 / (double) size / (double) size;
	double		tl,
				br,
				bl,
				tr,
				dxy,
				mid,
				side,
				dxx,
				dyy;

	tl = Integ(g, r - s3, c - s3, s3, s3);
	br = Integ(g, r + 1, c + 1, s3, s3);
	bl = Integ(g, r - s3, c + 1, s3, s3);
	tr = Integ(g, r + 1, c - s3, s3, s3);
	dxy = bl + tr - tl - br;
	dxy = -dxy * w_i;
	mid = Integ(g, r - s3 + 1, c - s2, 2 * s3 - 1, w);
	side = Integ(g, r - s3 + 1, c - s3 / 2, 2 * s3 - 1, s3);
	dxx = mid - 3 * side;
	dxx = -dxx * w_i;
	mid = Integ(g, r - s2, c - s3 + 1, w, 2 * s3 - 1);
	side = Integ(g, r - s3 / 2, c - s3 + 1, s3, 2 * s3 - 1);
	dyy = mid - 3 * side;
	dyy = -dyy * w_i;
	return dxx * dyy - 0.81 * (dxy * dxy);
}

/*
 * CubeDoh fills the cube for the extended region [er0, er1) x [ec0, ec1)
 * from the integral image of the input region, built from the carries (see
 * the file header); it also records the carries the next tile and the next
 * band need (their input regions start at nir0 and nic0).
 */
static void
CubeDoh(BlobCtx *x, int64_t er0, int64_t er1, int64_t ec0, int64_t ec1,
		int64_t ir0, int64_t ir1, int64_t ic0, int64_t ic1,
		int64_t nir0, int64_t nic0)
{
	int64_t		ih = ir1 - ir0,
				iw = ic1 - ic0,
				eh = er1 - er0,
				ew = ec1 - ec0;
	double	   *s = x->buf,
			   *trow = x->t1;
	Integral	g;

	for (int64_t j = 0; j < iw; j++)
		trow[j] = x->tcarry[ic0 + j];
	for (int64_t i = 0; i < ih; i++)
	{
		int64_t		r = ir0 + i;
		double	   *srow = s + i * iw;
		const double *src = x->img + r * x->cols + ic0;

		/* numpy's cumsum: the first element is copied, then added to */
		if (r == 0)
			for (int64_t j = 0; j < iw; j++)
				trow[j] = src[j] < x->o.pred_threshold ? 0.0 : src[j];
		else
			for (int64_t j = 0; j < iw; j++)
				trow[j] = trow[j] + (src[j] < x->o.pred_threshold ? 0.0 : src[j]);
		if (ic0 == 0)
			srow[0] = trow[0];
		else
			srow[0] = x->scarry[i] + trow[0];
		for (int64_t j = 1; j < iw; j++)
			srow[j] = srow[j - 1] + trow[j];
		if (r == nir0 - 1)
			memcpy(x->tnext + ic0, trow, sizeof(double) * iw);
		if (nic0 - 1 >= ic0 && nic0 - 1 < ic1)
			x->snext[i] = srow[nic0 - 1 - ic0];
	}

	g.s = s;
	g.ir0 = ir0;
	g.ic0 = ic0;
	g.iw = iw;
	g.rmax = x->rows - 1;
	g.cmax = x->cols - 1;
	x->cstride = ew;
	x->cplane = eh * ew;
	for (int k = 0; k < x->nlayers; k++)
	{
		int64_t		size = (int64_t) (3.0 * x->sig[k]);
		double	   *plane = x->cube + (size_t) k * eh * ew;
		int64_t		s2 = (size - 1) / 2,
					s3 = size / 3;
		/* the boxes as _integ's (row, col, rows, cols), tl br bl tr, mid/side x, mid/side y */
		int64_t		bx[8][4] = {
			{-s3, -s3, s3, s3}, {1, 1, s3, s3}, {-s3, 1, s3, s3}, {1, -s3, s3, s3},
			{-s3 + 1, -s2, 2 * s3 - 1, size}, {-s3 + 1, -(s3 / 2), 2 * s3 - 1, s3},
			{-s2, -s3 + 1, size, 2 * s3 - 1}, {-(s3 / 2), -s3 + 1, s3, 2 * s3 - 1}};
		ptrdiff_t	off[8][4];
		int64_t		lor = 0,
					hir = 0,
					loc = 0,
					hic = 0;

		for (int b = 0; b < 8; b++)
		{
			int64_t		r1 = bx[b][0],
						c1 = bx[b][1],
						r2 = r1 + bx[b][2],
						c2 = c1 + bx[b][3];

			/* img[r, c] + img[r2, c2] - img[r, c2] - img[r2, c] */
			off[b][0] = r1 * iw + c1;
			off[b][1] = r2 * iw + c2;
			off[b][2] = r1 * iw + c2;
			off[b][3] = r2 * iw + c1;
			lor = r1 < lor ? r1 : lor;
			lor = r2 < lor ? r2 : lor;
			hir = r1 > hir ? r1 : hir;
			hir = r2 > hir ? r2 : hir;
			loc = c1 < loc ? c1 : loc;
			loc = c2 < loc ? c2 : loc;
			hic = c1 > hic ? c1 : hic;
			hic = c2 > hic ? c2 : hic;
		}
		for (int64_t i = 0; i < eh; i++)
		{
			int64_t		r = er0 + i;
			int64_t		j0 = 0,
						j1 = 0;

			/* pixels whose boxes need no clipping: [j0, j1) */
			if (r + lor >= 0 && r + hir <= x->rows - 1)
			{
				j0 = -loc - ec0 > 0 ? -loc - ec0 : 0;
				if (j0 > ew)
					j0 = ew;
				j1 = x->cols - 1 - hic - ec0 + 1;
				if (j1 > ew)
					j1 = ew;
				if (j1 < j0)
					j1 = j0;
			}
			for (int64_t j = 0; j < j0; j++)
				plane[i * ew + j] = DohPixel(&g, r, ec0 + j, size);
			if (j1 > j0)
				x->doh_row(s + (r - ir0) * iw + (ec0 + j0 - ic0), (const ptrdiff_t (*)[4]) off,
						   1.0 / (double) size / (double) size, plane + i * ew + j0, j1 - j0);
			for (int64_t j = j1 > j0 ? j1 : j0; j < ew; j++)
				plane[i * ew + j] = DohPixel(&g, r, ec0 + j, size);
		}
	}
}

/*
 * CubeGauss fills the LoG or DoG cube for the extended region from a
 * reflected copy of the input with the halo.  Sizes are rounded up to whole
 * L x L blocks (L = x->lanes): the cube's rows are x->cstride apart, and
 * the rows and columns past the extended region (computed from reflected
 * input like the others) are never read by the peak test.
 */
static void
CubeGauss(BlobCtx *x, int64_t er0, int64_t er1, int64_t ec0, int64_t ec1)
{
	int64_t		L = x->lanes;
	int64_t		eh = RoundUp(er1 - er0, L),
				ew = RoundUp(ec1 - ec0, L);
	int64_t		R = x->halo;
	int64_t		bh = eh + 2 * R,
				bw = RoundUp(ew + 2 * R, L);
	int64_t		ng = eh / L;
	ptrdiff_t	gstride = bw * L;	/* doubles per group of L rows in t1, t2 */
	double	   *buf = x->buf;
	double		sf = 1.0 / (x->o.sigma_ratio - 1.0);
	int64_t    *cidx = x->cidx,
			   *ridx = x->cidx + bw;

	x->cstride = ew;
	x->cplane = eh * ew;

	/*
	 * The reflected input with its halo, stored strip-major: strips of L
	 * columns, each bh rows of L contiguous doubles (see col_pass).
	 */
	for (int64_t b = 0; b < bw; b++)
		cidx[b] = ReflectIndex(ec0 - R + b, x->cols);
	for (int64_t i = 0; i < bh; i++)
		ridx[i] = ReflectIndex(er0 - R + i, x->rows) * x->cols;
	for (int64_t s = 0; s < bw / L; s++)
	{
		const int64_t *ci = cidx + s * L;
		double	   *dst = buf + s * bh * L;
		int			inside = 1;

		for (int q = 1; q < L; q++)
			inside &= ci[q] == ci[0] + q;
		for (int64_t i = 0; i < bh; i++)
		{
			const double *src = x->img + ridx[i];

			if (inside)
				memcpy(dst + i * L, src + ci[0], sizeof(double) * L);
			else
				for (int q = 0; q < L; q++)
					dst[i * L + q] = src[ci[q]];
		}
		if (!isnan(x->o.pred_threshold))
			for (int64_t i = 0; i < bh * L; i++)
				dst[i] = dst[i] < x->o.pred_threshold ? 0.0 : dst[i];
	}

	for (int k = 0; k < x->nsig; k++)
	{
		int			r = x->rad[k];
		int64_t		s0 = (R - r) / L,
					s1 = (R + ew - 1 + r) / L;

		/* axis 0, the strips that axis 1 reads: buffer columns [R - r, R + ew + r) */
		for (int64_t s = s0; s <= s1; s++)
		{
			const double *in = buf + s * bh * L + R * L;

			if (x->method == BLOB_LOG)
				x->col_pass(in, r, x->w2[k], x->w0[k], x->t1 + s * L * L, x->t2 + s * L * L,
							gstride, ng);
			else
				x->col_pass(in, r, x->w0[k], NULL, x->t1 + s * L * L, NULL, gstride, ng);
		}

		/*
		 * axis 1: LoG's layer k, or DoG's Gaussian k into t3 (k = 0) or,
		 * with t3 as the previous one, layer k - 1; the layers' extremes and
		 * flags on the way
		 */
		for (int64_t g = 0; g < ng; g++)
		{
			const double *ta = x->t1 + g * gstride + R * L;
			BlobRowOut	o;
			int			layer = x->method == BLOB_LOG ? k : k - 1;
			int64_t		nr = x->rows - (er0 + g * L);

			o.ostride = ew;
			o.sf = sf;
			o.lower = x->tlower;
			o.nrows = nr < L ? (int) nr : (int) L;
			o.ncols = x->cols - ec0;
			o.mn = x->gmin;
			o.mx = x->gmax;
			if (layer < 0)
			{
				o.out = x->t3 + g * L * ew;
				o.prev = NULL;
				o.flags = NULL;
			}
			else
			{
				o.out = x->cube + (size_t) layer * x->cplane + g * L * ew;
				o.prev = x->method == BLOB_DOG ? x->t3 + g * L * ew : NULL;
				o.flags = x->flags + (layer * ng + g) * (ew / L);
			}
			if (x->method == BLOB_LOG)
				x->row_pass(ta, x->w0[k], x->t2 + g * gstride + R * L, x->w2[k], r,
							pow(x->sig[k], 2.0),	/* np.mean(s) ** 2 */
							&o, ew / L);
			else
				x->row_pass(ta, x->w0[k], NULL, NULL, r, 0.0, &o, ew / L);
			if (o.flags)
			{
				x->gmin = o.mn;
				x->gmax = o.mx;
			}
		}
	}
	x->fng = ng;
	x->fnb = ew / L;
}

static int
AddCand(BlobCtx *x, int64_t r, int64_t c, int64_t k, double v)
{
	if (x->ncand == x->capcand)
	{
		int64_t		ncap = x->capcand ? x->capcand * 2 : 1024;
		BlobCand	   *n = mlops_realloc(x->a, x->cand, sizeof(BlobCand) * (size_t) ncap);

		if (n == NULL)
			return errbuf_printf(x->err, x->errlen, "out of memory for candidate peaks"), -1;
		x->cand = n;
		x->capcand = ncap;
	}
	x->cand[x->ncand].r = r;
	x->cand[x->ncand].c = c;
	x->cand[x->ncand].k = k;
	x->cand[x->ncand].v = v;
	x->ncand++;
	return 0;
}

/*
 * PeakAt is peak_local_max's test of voxel (k, r, c), whose value v is
 * above the candidates' bound, in the cube held for the extended region
 * from (er0, ec0); it adds the voxel to the candidates when it is a peak.
 */
static int
PeakAt(BlobCtx *x, int k, int64_t r, int64_t c, double v, int64_t er0, int64_t ec0,
	   const ptrdiff_t *off)
{
	int64_t		ew = x->cstride,
				plane = x->cplane;
	int			L = x->nlayers;
	int			ok = 1;

	if (c < x->o.exclude_border || c >= x->cols - x->o.exclude_border)
		return 0;
	if (x->rows == 1 && x->cols == 1 && L == 1)
	{
		/* one voxel: skimage takes image > threshold */
	}
	else if (r != 0 && r != x->rows - 1 && c != 0 && c != x->cols - 1 && k != 0 && k != L - 1)
	{
		const double *q = x->cube + k * plane + (r - er0) * ew + (c - ec0);

		for (int t = 0; t < 26; t++)
			if (q[off[t]] > v)
				return 0;
	}
	else
	{
		int			pad = 0;

		for (int dk = -1; dk <= 1 && ok; dk++)
		{
			int			kk = k + dk;

			if (kk < 0 || kk >= L)
			{
				pad = 1;
				continue;
			}
			for (int dr = -1; dr <= 1 && ok; dr++)
			{
				int64_t		rr = r + dr;

				if (rr < 0 || rr >= x->rows)
				{
					pad = 1;
					continue;
				}
				for (int dc = -1; dc <= 1; dc++)
				{
					int64_t		cc = c + dc;

					if (cc < 0 || cc >= x->cols)
					{
						pad = 1;
						continue;
					}
					if (x->cube[kk * plane + (rr - er0) * ew + (cc - ec0)] > v)
					{
						ok = 0;
						break;
					}
				}
			}
		}
		/* outside counts as 0 (maximum_filter's mode 'constant') */
		if (ok && pad && v < 0.0)
			ok = 0;
	}
	return ok ? AddCand(x, r, c, k, v) : 0;
}

/*
 * TilePeaks runs peak_local_max's test over the core [tr0, tr1) x [tc0,
 * tc1) of the cube held for the extended region from (er0, ec0), its rows
 * x->cstride apart and its layers x->cplane apart, with the candidates'
 * bound x->tlower (see RunTiles).  DoH: in one pass that also keeps the
 * cube's running minimum and maximum; LoG and DoG: CubeGauss kept those
 * and flagged the blocks holding a value above the bound, only those are
 * looked at.
 */
static int
TilePeaks(BlobCtx *x, int64_t tr0, int64_t tr1, int64_t tc0, int64_t tc1,
		  int64_t er0, int64_t ec0)
{
	int64_t		ew = x->cstride;
	int64_t		plane = x->cplane;
	int			L = x->nlayers;
	int64_t		eb = x->o.exclude_border;
	ptrdiff_t	off[26];
	int			no = 0;
	double		lower = x->tlower;
	BlobVec2	mn = {x->gmin, x->gmin},
				mx = {x->gmax, x->gmax},
				lo = {lower, lower};

	/* same layer first, for an early exit */
	for (int dk = 0; dk <= 2; dk++)
	{
		int			kk = dk == 0 ? 0 : (dk == 1 ? -1 : 1);

		for (int dr = -1; dr <= 1; dr++)
			for (int dc = -1; dc <= 1; dc++)
				if (kk || dr || dc)
					off[no++] = kk * plane + dr * ew + dc;
	}

	if (x->method != BLOB_DOH)
	{
		/* CubeGauss took the extremes and flagged the blocks to look at */
		for (int k = 0; k < L; k++)
			for (int64_t r = tr0; r < tr1; r++)
			{
				const double *p = x->cube + k * plane + (r - er0) * ew - ec0;
				const unsigned char *f = x->flags + (k * x->fng + (r - er0) / x->lanes) * x->fnb;

				if (r < eb || r >= x->rows - eb)
					continue;
				for (int64_t b = (tc0 - ec0) / x->lanes; b <= (tc1 - 1 - ec0) / x->lanes; b++)
				{
					int64_t		c0 = ec0 + b * x->lanes,
								c1 = c0 + x->lanes;

					if (!f[b])
						continue;
					for (int64_t c = c0 > tc0 ? c0 : tc0; c < c1 && c < tc1; c++)
						if (p[c] > lower && PeakAt(x, k, r, c, p[c], er0, ec0, off) < 0)
							return -1;
				}
			}
		return 0;
	}
	for (int k = 0; k < L; k++)
		for (int64_t r = tr0; r < tr1; r++)
		{
			int			rowexcl = (r < eb || r >= x->rows - eb);
			const double *p = x->cube + k * plane + (r - er0) * ew - ec0;
			int64_t		c = tc0;

			/* eight voxels at a time: their extremes, and any above the bound */
			for (; c + 8 <= tc1; c += 8)
			{
				BlobVec2	v[4];
				BlobMask2	above = {0, 0};

				memcpy(v, p + c, sizeof v);
				for (int i = 0; i < 4; i++)
				{
					BlobMask2	lt = v[i] < mn,
								gt = v[i] > mx;

					mn = (BlobVec2) ((lt & (BlobMask2) v[i]) | (~lt & (BlobMask2) mn));
					mx = (BlobVec2) ((gt & (BlobMask2) v[i]) | (~gt & (BlobMask2) mx));
					above |= v[i] > lo;
				}
				if ((above[0] | above[1]) == 0 || rowexcl)
					continue;
				for (int64_t cc = c; cc < c + 8; cc++)
					if (p[cc] > lower && PeakAt(x, k, r, cc, p[cc], er0, ec0, off) < 0)
						return -1;
			}
			for (; c < tc1; c++)
			{
				double		v = p[c];

				mn[0] = v < mn[0] ? v : mn[0];
				mx[0] = v > mx[0] ? v : mx[0];
				if (!rowexcl && v > lower && PeakAt(x, k, r, c, v, er0, ec0, off) < 0)
					return -1;
			}
		}
	x->gmin = mn[0] < mn[1] ? mn[0] : mn[1];
	x->gmax = mx[0] > mx[1] ? mx[0] : mx[1];
	return 0;
}

/*
 * RunTiles walks the tiles band by band, left to right (the order DoH's
 * carries need), computing each tile's cube and peaks.
 */
static int
RunTiles(BlobCtx *x)
{
	int64_t		h = x->halo;

	if (x->method == BLOB_DOH)
		memset(x->tcarry, 0, sizeof(double) * x->cols);
	for (int64_t tr0 = 0; tr0 < x->rows; tr0 += x->th)
	{
		int64_t		tr1 = tr0 + x->th < x->rows ? tr0 + x->th : x->rows;
		int64_t		er0 = tr0 > 0 ? tr0 - 1 : 0,
					er1 = tr1 < x->rows ? tr1 + 1 : x->rows;
		int64_t		ir0 = er0 - h > 0 ? er0 - h : 0,
					ir1 = er1 + h < x->rows ? er1 + h : x->rows;
		int64_t		nir0 = -1;

		if (tr1 < x->rows)
		{
			int64_t		ner0 = tr1 - 1;

			nir0 = ner0 - h > 0 ? ner0 - h : 0;
		}
		if (x->method == BLOB_DOH)
			memset(x->tnext, 0, sizeof(double) * x->cols);

		for (int64_t tc0 = 0; tc0 < x->cols; tc0 += x->tw)
		{
			int64_t		tc1 = tc0 + x->tw < x->cols ? tc0 + x->tw : x->cols;
			int64_t		ec0 = tc0 > 0 ? tc0 - 1 : 0,
						ec1 = tc1 < x->cols ? tc1 + 1 : x->cols;

			/*
			 * the candidates' bound: threshold_rel times the maximum of the
			 * tiles before this one is a lower bound of the final threshold
			 * all the same (Finish applies that)
			 */
			x->tlower = x->lower;
			if (!isnan(x->o.threshold_rel) && x->o.threshold_rel >= 0.0 &&
				x->o.threshold_rel * x->gmax > x->tlower)
				x->tlower = x->o.threshold_rel * x->gmax;

			if (x->method == BLOB_DOH)
			{
				int64_t		ic0 = ec0 - h > 0 ? ec0 - h : 0,
							ic1 = ec1 + h < x->cols ? ec1 + h : x->cols;
				int64_t		nic0 = -1;
				double	   *t;

				if (tc1 < x->cols)
				{
					int64_t		nec0 = tc1 - 1;

					nic0 = nec0 - h > 0 ? nec0 - h : 0;
				}
				CubeDoh(x, er0, er1, ec0, ec1, ir0, ir1, ic0, ic1, nir0, nic0);
				t = x->scarry;
				x->scarry = x->snext;
				x->snext = t;
			}
			else
				CubeGauss(x, er0, er1, ec0, ec1);
			if (TilePeaks(x, tr0, tr1, tc0, tc1, er0, ec0) < 0)
				return -1;
		}
		if (x->method == BLOB_DOH)
		{
			double	   *t = x->tcarry;

			x->tcarry = x->tnext;
			x->tnext = t;
		}
	}
	return 0;
}

/* C order of the cube: (row, col, layer). */
static int
CmpCand(const void *pa, const void *pb)
{
	const BlobCand *a = pa,
			   *b = pb;

	if (a->r != b->r)
		return a->r < b->r ? -1 : 1;
	if (a->c != b->c)
		return a->c < b->c ? -1 : 1;
	return (a->k > b->k) - (a->k < b->k);
}

/* The output order: (row, col, sigma). */
static int
CmpBlob(const void *pa, const void *pb)
{
	const Blob *a = pa,
			   *b = pb;

	if (a->row != b->row)
		return a->row < b->row ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return (a->sigma > b->sigma) - (a->sigma < b->sigma);
}

/*
 * Finish turns the candidates into the blobs: skimage's trivial-image rule,
 * the final threshold, the argsort order, the pruning, the output order.
 */
static int
Finish(BlobCtx *x, Blob **out, int64_t *n_out)
{
	double		thr;
	int64_t		n = 0;
	double	   *vals = NULL;
	int64_t    *perm = NULL;
	Blob	   *b = NULL;
	int			single = (x->rows == 1 && x->cols == 1 && x->nlayers == 1);

	if (!single && x->gmin == x->gmax && x->gmax >= 0)
		return 0;				/* every voxel is its own maximum: no peak */
	thr = x->o.has_threshold ? x->o.threshold : x->gmin;
	if (!isnan(x->o.threshold_rel) && x->o.threshold_rel * x->gmax > thr)
		thr = x->o.threshold_rel * x->gmax;

	qsort(x->cand, x->ncand, sizeof(BlobCand), CmpCand);
	for (int64_t i = 0; i < x->ncand; i++)
		if (x->cand[i].v > thr)
			x->cand[n++] = x->cand[i];
	if (n == 0)
		return 0;
	vals = blob_xalloc(x, sizeof(double) * n);
	perm = blob_xalloc(x, sizeof(int64_t) * n);
	b = blob_xalloc(x, sizeof(Blob) * n);
	if (!vals || !perm || !b)
		goto fail;
	for (int64_t i = 0; i < n; i++)
		vals[i] = x->cand[i].v;
	blob_argsort_desc(vals, perm, n);
	for (int64_t i = 0; i < n; i++)
	{
		const BlobCand *c = &x->cand[perm[i]];

		b[i].row = (double) c->r;
		b[i].col = (double) c->c;
		b[i].sigma = x->sig[c->k];
		b[i].value = c->v;
	}
	if (blob_prune(b, &n, x->o.overlap, x->o.max_bytes, x->a, x->err, x->errlen) < 0)
		goto fail;
	qsort(b, n, sizeof(Blob), CmpBlob);
	mlops_free(x->a, vals);
	mlops_free(x->a, perm);
	*out = b;
	*n_out = n;
	return 0;
fail:
	mlops_free(x->a, vals);
	mlops_free(x->a, perm);
	mlops_free(x->a, b);
	return -1;
}


/*
 * blob_detect: see blobs.h.
 */
int
blob_detect(const double *img, int64_t rows, int64_t cols, BlobMethod method,
			const BlobOptions *opt, Blob **out, int64_t *n_out,
			const mlops_allocator *alloc, char *err, size_t errlen)
{
	BlobCtx			x;
	int			rc = -1;

	*out = NULL;
	*n_out = 0;
	memset(&x, 0, sizeof(x));
	x.img = img;
	x.rows = rows;
	x.cols = cols;
	x.method = method;
	x.a = alloc;
	x.err = err;
	x.errlen = errlen;
	x.gmin = INFINITY;
	x.gmax = -INFINITY;
	x.col_pass = col_pass_plain;
	x.row_pass = row_pass_plain;
	x.doh_row = doh_row_plain;
	x.lanes = 2;

	if (method != BLOB_DOH && method != BLOB_LOG && method != BLOB_DOG)
		return errbuf_printf(err, errlen, "unknown blob method %d", (int) method), -1;
	if (rows < 1 || cols < 1)
		return errbuf_printf(err, errlen, "the image must have at least one row and one column"), -1;
	if (rows > ((int64_t) 1 << 40) / cols)
		return errbuf_printf(err, errlen, "the image is too large"), -1;
	if (blob_resolve_options(&x, opt) < 0)
		return -1;
	for (int64_t i = 0; i < rows * cols; i++)
		if (!isfinite(img[i]))
			return errbuf_printf(err, errlen, "pixel %lld is not finite", (long long) i), -1;
#ifdef BLOB_X86
	if (x.o.simd == 0 || x.o.simd == 2)
	{
		__builtin_cpu_init();
		if (x.o.simd == 0 && __builtin_cpu_supports("avx512f"))
		{
			x.col_pass = col_pass_avx512;
			x.row_pass = row_pass_avx512;
			x.doh_row = doh_row_avx512;
			x.lanes = 8;
		}
		else if (__builtin_cpu_supports("avx"))
		{
			x.col_pass = col_pass_avx;
			x.row_pass = row_pass_avx;
			x.doh_row = doh_row_avx;
			x.lanes = 4;
		}
	}
#endif
	x.lower = x.o.has_threshold ? x.o.threshold : -INFINITY;

	if (blob_make_scales(&x) < 0 || blob_plan_tiles(&x) < 0 || RunTiles(&x) < 0 ||
		Finish(&x, out, n_out) < 0)
		goto done;
	rc = 0;
done:
	blob_ctx_free(&x);
	return rc;
}
