/*
 * blobs.c
 *	  Kernel: blob detection (DoH, LoG, DoG) as scikit-image 0.19.3 does it
 *	  (see blobs.h for the contract, the tiling and the memory rule).
 *
 *	  The set-up (options, scales, the tile plan) is blobs_plan.c.  The
 *	  pipeline for each tile of the image: the response cube over the
 *	  tile's core plus one pixel (cube_doh / cube_gauss), then the peak test
 *	  of peak_local_max over the core (tile_peaks), keeping candidates above
 *	  a lower bound of the final threshold together with the cube's running
 *	  minimum and maximum.  Then, over all candidates: the final threshold,
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

#define BLOB_V BlobVec2
#define BLOB_M BlobMask2
#define BLOB_L 2
#define BLOB_NV 4
#define BLOB_FN(n) n##_plain
#define BLOB_ATTR
#include "detect/blobs_conv.h"
#undef BLOB_FN
#undef BLOB_ATTR
#undef BLOB_V
#undef BLOB_M
#undef BLOB_L
#undef BLOB_NV

#ifdef BLOB_X86
#define BLOB_V BlobVec4
#define BLOB_M BlobMask4
#define BLOB_L 4
#define BLOB_NV 4
#define BLOB_FN(n) n##_avx
#define BLOB_ATTR __attribute__((target("avx")))
#include "detect/blobs_conv.h"
#undef BLOB_FN
#undef BLOB_ATTR
#undef BLOB_NV
#undef BLOB_V
#undef BLOB_M
#undef BLOB_L

typedef double BlobVec8 __attribute__((vector_size(64)));
typedef long long BlobMask8 __attribute__((vector_size(64)));

#define BLOB_V BlobVec8
#define BLOB_M BlobMask8
#define BLOB_L 8
#define BLOB_NV 4
#define BLOB_FN(n) n##_avx512
#define BLOB_ATTR __attribute__((target("avx512f")))
#include "detect/blobs_conv.h"
#undef BLOB_FN
#undef BLOB_ATTR
#endif
#undef BLOB_V
#undef BLOB_M
#undef BLOB_L
#undef BLOB_NV

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
 * reflected copy of the input with the halo.
 */
static void
CubeGauss(BlobCtx *x, int64_t er0, int64_t er1, int64_t ec0, int64_t ec1)
{
	int64_t		eh = er1 - er0,
				ew = ec1 - ec0;
	int64_t		R = x->halo;
	int64_t		bh = eh + 2 * R,
				bw = ew + 2 * R,
				bwp = (bw + BLOB_STRIP - 1) / BLOB_STRIP * BLOB_STRIP;
	double	   *buf = x->buf;
	double		sf = 1.0 / (x->o.sigma_ratio - 1.0);

	/*
	 * The reflected input with its halo, stored strip-major: strips of
	 * BLOB_STRIP columns, each bh rows of BLOB_STRIP contiguous doubles, so
	 * that the column pass walks few pages per tap.
	 */
	for (int64_t s0 = 0; s0 < bwp; s0 += BLOB_STRIP)
	{
		double	   *strip = buf + (s0 / BLOB_STRIP) * bh * BLOB_STRIP;

		for (int64_t i = 0; i < bh; i++)
		{
			int64_t		r = ReflectIndex(er0 - R + i, x->rows);
			const double *src = x->img + r * x->cols;
			double	   *dst = strip + i * BLOB_STRIP;

			for (int64_t j = 0; j < BLOB_STRIP; j++)
			{
				int64_t		c = ec0 - R + s0 + j;
				double		v;

				if (s0 + j >= bw)
				{
					dst[j] = 0.0;	/* padding to whole strips, never read back */
					continue;
				}
				v = src[(c >= 0 && c < x->cols) ? c : ReflectIndex(c, x->cols)];
				dst[j] = v < x->o.pred_threshold ? 0.0 : v;
			}
		}
	}

	for (int k = 0; k < x->nsig; k++)
	{
		int			r = x->rad[k];
		int64_t		lo = R - r,
					hi = R + ew + r;

		/*
		 * axis 0: output row i is buffer row R + i; the needed columns [lo,
		 * hi) are computed in whole strips (t1 and t2 have bwp columns, as
		 * the buffer)
		 */
		for (int64_t s0 = lo - lo % BLOB_STRIP; s0 < hi; s0 += BLOB_STRIP)
		{
			const double *strip = buf + (s0 / BLOB_STRIP) * bh * BLOB_STRIP;

			for (int64_t i = 0; i < eh; i++)
			{
				const double *in = strip + (R + i) * BLOB_STRIP;
				int64_t		o = i * bwp + s0;

				if (x->method == BLOB_LOG)
					x->conv_col2(in, BLOB_STRIP, r, x->w2[k], x->w0[k],
								 x->t1 + o, x->t2 + o, BLOB_STRIP);
				else
					x->conv_col2(in, BLOB_STRIP, r, x->w0[k], NULL, x->t1 + o, NULL, BLOB_STRIP);
			}
		}
		/* axis 1 */
		if (x->method == BLOB_LOG)
		{
			double	   *plane = x->cube + (size_t) k * eh * ew;
			double		s2 = pow(x->sig[k], 2.0);	/* np.mean(s) ** 2 */

			for (int64_t i = 0; i < eh; i++)
			{
				double	   *dyy = plane + i * ew,
						   *dxx = x->t3 + i * ew;

				x->conv_row(x->t1 + i * bwp + R, r, x->w0[k], dyy, ew);
				x->conv_row(x->t2 + i * bwp + R, r, x->w2[k], dxx, ew);
				for (int64_t j = 0; j < ew; j++)
					dyy[j] = -(dyy[j] + dxx[j]) * s2;
			}
		}
		else
		{
			/* t3 holds the previous Gaussian; the layer is (prev - this) * sf */
			for (int64_t i = 0; i < eh; i++)
			{
				double	   *prev = x->t3 + i * ew;

				if (k == 0)
					x->conv_row(x->t1 + i * bwp + R, r, x->w0[k], prev, ew);
				else
				{
					double	   *plane = x->cube + (size_t) (k - 1) * eh * ew + i * ew;

					x->conv_row(x->t1 + i * bwp + R, r, x->w0[k], plane, ew);
					for (int64_t j = 0; j < ew; j++)
					{
						double		g = plane[j];

						plane[j] = (prev[j] - g) * sf;
						prev[j] = g;
					}
				}
			}
		}
	}
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
 * TilePeaks runs peak_local_max's test over the core [tr0, tr1) x [tc0,
 * tc1) of the cube held for [er0, er1) x [ec0, ec1).
 */
static int
TilePeaks(BlobCtx *x, int64_t tr0, int64_t tr1, int64_t tc0, int64_t tc1,
		  int64_t er0, int64_t er1, int64_t ec0, int64_t ec1)
{
	int64_t		eh = er1 - er0,
				ew = ec1 - ec0;
	int64_t		plane = eh * ew;
	int			L = x->nlayers;
	int64_t		eb = x->o.exclude_border;
	ptrdiff_t	off[26];
	int			no = 0;
	double		lower;
	int			single = (x->rows == 1 && x->cols == 1 && L == 1);

	/* the core's extremes first: they tighten the bound */
	{
		double		mn[4] = {x->gmin, x->gmin, x->gmin, x->gmin},
					mx[4] = {x->gmax, x->gmax, x->gmax, x->gmax};

		for (int k = 0; k < L; k++)
			for (int64_t r = tr0; r < tr1; r++)
			{
				const double *p = x->cube + k * plane + (r - er0) * ew + (tc0 - ec0);
				int64_t		n = tc1 - tc0,
							c = 0;

				for (; c + 4 <= n; c += 4)
					for (int l = 0; l < 4; l++)
					{
						mn[l] = p[c + l] < mn[l] ? p[c + l] : mn[l];
						mx[l] = p[c + l] > mx[l] ? p[c + l] : mx[l];
					}
				for (; c < n; c++)
				{
					mn[0] = p[c] < mn[0] ? p[c] : mn[0];
					mx[0] = p[c] > mx[0] ? p[c] : mx[0];
				}
			}
		for (int l = 0; l < 4; l++)
		{
			x->gmin = mn[l] < x->gmin ? mn[l] : x->gmin;
			x->gmax = mx[l] > x->gmax ? mx[l] : x->gmax;
		}
	}
	lower = x->lower;
	if (!isnan(x->o.threshold_rel) && x->o.threshold_rel >= 0.0 &&
		x->o.threshold_rel * x->gmax > lower)
		lower = x->o.threshold_rel * x->gmax;

	/* same layer first, for an early exit */
	for (int dk = 0; dk <= 2; dk++)
	{
		int			kk = dk == 0 ? 0 : (dk == 1 ? -1 : 1);

		for (int dr = -1; dr <= 1; dr++)
			for (int dc = -1; dc <= 1; dc++)
				if (kk || dr || dc)
					off[no++] = kk * plane + dr * ew + dc;
	}

	for (int k = 0; k < L; k++)
		for (int64_t r = tr0; r < tr1; r++)
		{
			int			rowedge = (r == 0 || r == x->rows - 1);
			int			rowexcl = (r < eb || r >= x->rows - eb);
			const double *p = x->cube + k * plane + (r - er0) * ew - ec0;

			if (rowexcl)
				continue;
			for (int64_t c = tc0; c < tc1; c++)
			{
				double		v = p[c];
				int			ok = 1;

				/* most voxels are below the bound: skip them four at a time */
				while (c + 4 <= tc1 && !(p[c] > lower) && !(p[c + 1] > lower) &&
					   !(p[c + 2] > lower) && !(p[c + 3] > lower))
					c += 4;
				if (c >= tc1)
					break;
				v = p[c];
				if (!(v > lower))
					continue;
				if (c < eb || c >= x->cols - eb)
					continue;
				if (single)
				{
					/* one voxel: skimage takes image > threshold */
				}
				else if (!rowedge && c != 0 && c != x->cols - 1 && k != 0 && k != L - 1)
				{
					const double *q = p + c;

					for (int t = 0; t < 26; t++)
						if (q[off[t]] > v)
						{
							ok = 0;
							break;
						}
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
				if (ok && AddCand(x, r, c, k, v) < 0)
					return -1;
			}
		}
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
			if (TilePeaks(x, tr0, tr1, tc0, tc1, er0, er1, ec0, ec1) < 0)
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
	x.conv_row = conv_row_plain;
	x.conv_col2 = conv_col2_plain;
	x.doh_row = doh_row_plain;

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
			x.conv_row = conv_row_avx512;
			x.conv_col2 = conv_col2_avx512;
			x.doh_row = doh_row_avx512;
		}
		else if (__builtin_cpu_supports("avx"))
		{
			x.conv_row = conv_row_avx;
			x.conv_col2 = conv_col2_avx;
			x.doh_row = doh_row_avx;
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
