/*
 * blobs_plan.c
 *	  Kernel: blob detection's set-up — options resolved against
 *	  skimage 0.19.3's defaults and checked, the scales (sigmas, and for
 *	  LoG/DoG scipy's Gaussian kernels), and the tile plan with its memory
 *	  bound and scratch (see blobs.h; the detection itself is blobs.c).
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

/*
 * No a * b + c may become an FMA: the kernels' weights must have scipy's
 * bits (see blobs.c).
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

/*
 * blob_options_default fills *o with method m's skimage 0.19.3 defaults.
 */
void
blob_options_default(BlobMethod m, BlobOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->min_sigma = 1.0;
	o->max_sigma = m == BLOB_DOH ? 30.0 : 50.0;
	o->num_sigma = 10;
	o->sigma_ratio = 1.6;
	o->threshold = m == BLOB_DOH ? 0.01 : (m == BLOB_LOG ? 0.2 : 0.5);
	o->has_threshold = 1;
	o->threshold_rel = NAN;
	o->overlap = 0.5;
	o->log_scale = 0;
	o->exclude_border = 0;
	o->pred_threshold = NAN;
	o->tile_rows = 0;
	o->tile_cols = 0;
	o->max_bytes = 0;
	o->simd = 0;
}

/*
 * Align64 rounds p up to 64 bytes (the scratch arrays are allocated 64 bytes
 * longer): whole-vector loads of aligned data do not straddle cache lines.
 */
static inline double *
Align64(void *p)
{
	return p ? (double *) (((uintptr_t) p + 63) & ~(uintptr_t) 63) : NULL;
}

/*
 * blob_xalloc allocates n bytes from the call's allocator, with a reason
 * in the call's err when that fails.
 */
void *
blob_xalloc(BlobCtx *x, size_t n)
{
	void	   *p = mlops_alloc(x->a, n);

	if (p == NULL)
		errbuf_printf(x->err, x->errlen, "out of memory (%zu bytes)", n);
	return p;
}

/*
 * PairwiseSum is numpy's pairwise summation of n doubles (what
 * ndarray.sum() does on a contiguous float64 array).
 */
static double
PairwiseSum(const double *a, int64_t n)
{
	if (n < 8)
	{
		double		res = 0.;

		for (int64_t i = 0; i < n; i++)
			res += a[i];
		return res;
	}
	else if (n <= 128)
	{
		double		r[8],
					res;
		int64_t		i;

		for (int j = 0; j < 8; j++)
			r[j] = a[j];
		for (i = 8; i < n - (n % 8); i += 8)
			for (int j = 0; j < 8; j++)
				r[j] += a[i + j];
		res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	else
	{
		int64_t		n2 = n / 2;

		n2 -= n2 % 8;
		return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
	}
}

/*
 * GaussKernels computes scipy's _gaussian_kernel1d(sigma, 0, r) and
 * (sigma, 2, r) as half kernels w[0..r] (w[j] is the weight at distance j;
 * the kernels are symmetric).  tmp holds 2r + 1 doubles.
 */
static void
GaussKernels(double sigma, int r, double *w0, double *w2, double *tmp)
{
	double		s2 = sigma * sigma;
	double		f = -0.5 / s2;
	double		p = 1.0 / -s2;
	double		pp = p * p;
	double		sum;

	for (int i = 0; i <= 2 * r; i++)
	{
		double		xi = (double) (i - r);

		tmp[i] = exp(f * (xi * xi));
	}
	sum = PairwiseSum(tmp, 2 * r + 1);
	for (int j = 0; j <= r; j++)
	{
		double		phi = tmp[r + j] / sum;
		double		xj = (double) j;

		w0[j] = phi;
		/* q(x) = [1, x, x^2] . [p, 0, p^2], as numpy's dot sums it */
		w2[j] = (p + xj * 0.0 + (xj * xj) * pp) * phi;
	}
}

/*
 * Linspace is np.linspace(a, b, n)[i] for n >= 1.
 */
static double
Linspace(double a, double b, int n, int i)
{
	double		delta = b - a;
	double		div = (double) (n - 1);
	double		step;

	if (n == 1)
		return 0.0 * delta + a;
	if (i == n - 1)
		return b;
	step = delta / div;
	if (step == 0.0)
		return ((double) i / div) * delta + a;
	return (double) i * step + a;
}

/*
 * blob_resolve_options fills x->o from opt and the method's defaults and checks
 * it; -1 with a reason on bad options.
 */
int
blob_resolve_options(BlobCtx *x, const BlobOptions *opt)
{
	BlobOptions d;
	BlobOptions *o = &x->o;

	blob_options_default(x->method, &d);
	*o = opt ? *opt : d;
	if (isnan(o->min_sigma))
		o->min_sigma = d.min_sigma;
	if (isnan(o->max_sigma))
		o->max_sigma = d.max_sigma;
	if (o->num_sigma == 0)
		o->num_sigma = d.num_sigma;
	if (isnan(o->sigma_ratio))
		o->sigma_ratio = d.sigma_ratio;
	if (o->has_threshold && isnan(o->threshold))
		o->threshold = d.threshold;
	if (isnan(o->overlap))
		o->overlap = d.overlap;
	if (o->max_bytes == 0)
		o->max_bytes = BLOB_DEFAULT_MAX_BYTES;

	if (!isfinite(o->min_sigma) || !isfinite(o->max_sigma))
		return errbuf_printf(x->err, x->errlen, "min_sigma and max_sigma must be finite"), -1;
	if (o->min_sigma <= 0.0 || o->max_sigma <= 0.0)
		return errbuf_printf(x->err, x->errlen, "min_sigma and max_sigma must be positive"), -1;
	if (o->min_sigma > o->max_sigma)
		return errbuf_printf(x->err, x->errlen, "min_sigma (%g) is greater than max_sigma (%g)",
							 o->min_sigma, o->max_sigma), -1;
	if (x->method != BLOB_DOG && o->num_sigma < 1)
		return errbuf_printf(x->err, x->errlen, "num_sigma must be at least 1, not %d", o->num_sigma), -1;
	if (x->method == BLOB_DOG && !(isfinite(o->sigma_ratio) && o->sigma_ratio > 1.0))
		return errbuf_printf(x->err, x->errlen, "sigma_ratio must be a finite number > 1"), -1;
	if (o->has_threshold && !isfinite(o->threshold))
		return errbuf_printf(x->err, x->errlen, "threshold must be finite"), -1;
	if (!isnan(o->threshold_rel) && !isfinite(o->threshold_rel))
		return errbuf_printf(x->err, x->errlen, "threshold_rel must be finite or NaN (None)"), -1;
	if (!(o->overlap >= 0.0 && o->overlap <= 1.0))
		return errbuf_printf(x->err, x->errlen, "overlap must be in [0, 1]"), -1;
	if (o->exclude_border < 0)
		return errbuf_printf(x->err, x->errlen, "exclude_border cannot be negative"), -1;
	if (x->method == BLOB_DOH && o->exclude_border != 0)
		return errbuf_printf(x->err, x->errlen, "blob_doh has no exclude_border"), -1;
	if (isinf(o->pred_threshold))
		return errbuf_printf(x->err, x->errlen, "pred_threshold must be finite or NaN (off)"), -1;
	if (o->tile_rows < 0 || o->tile_cols < 0)
		return errbuf_printf(x->err, x->errlen, "tile sizes cannot be negative"), -1;
	return 0;
}

/*
 * blob_make_scales fills x->sig (and, for LoG/DoG, the radii and kernels).
 */
int
blob_make_scales(BlobCtx *x)
{
	BlobOptions *o = &x->o;
	int			n;

	if (x->method == BLOB_DOG)
	{
		/* k such that min_sigma * sigma_ratio ** k > max_sigma */
		double		kk = log(o->max_sigma / o->min_sigma) / log(o->sigma_ratio) + 1.0;

		if (!(kk < 1000.0))
			return errbuf_printf(x->err, x->errlen, "too many DoG scales"), -1;
		x->nlayers = (int) kk;
		n = x->nlayers + 1;
	}
	else
	{
		if (o->num_sigma > 100000)
			return errbuf_printf(x->err, x->errlen, "num_sigma is too large"), -1;
		x->nlayers = o->num_sigma;
		n = x->nlayers;
	}
	x->nsig = n;
	x->sig = blob_xalloc(x, sizeof(double) * n);
	if (!x->sig)
		return -1;
	for (int i = 0; i < n; i++)
	{
		if (x->method == BLOB_DOG)
			x->sig[i] = o->min_sigma * pow(o->sigma_ratio, (double) i);
		else if (o->log_scale)
		{
			double		a,
						b;

			if (x->method == BLOB_DOH)
			{
				/* math.log(x, 10) divides natural logs */
				a = log(o->min_sigma) / log(10.0);
				b = log(o->max_sigma) / log(10.0);
			}
			else
			{
				a = log10(o->min_sigma);
				b = log10(o->max_sigma);
			}
			x->sig[i] = pow(10.0, Linspace(a, b, n, i));
		}
		else
			x->sig[i] = Linspace(o->min_sigma, o->max_sigma, n, i);
	}

	if (x->method == BLOB_DOH)
	{
		int			smax = 0;

		for (int i = 0; i < n; i++)
		{
			double		s3 = 3.0 * x->sig[i];

			if (!(s3 >= 1.0))
				return errbuf_printf(x->err, x->errlen, "blob_doh needs sigma >= 1/3, not %g", x->sig[i]), -1;
			if (s3 > 1e6)
				return errbuf_printf(x->err, x->errlen, "sigma %g is too large", x->sig[i]), -1;
			if ((int) s3 > smax)
				smax = (int) s3;
		}
		x->halo = smax + 1;
		return 0;
	}

	x->rad = blob_xalloc(x, sizeof(int) * n);
	x->w0 = blob_xalloc(x, sizeof(double *) * n);
	x->w2 = blob_xalloc(x, sizeof(double *) * n);
	if (!x->rad || !x->w0 || !x->w2)
		return -1;
	memset(x->w0, 0, sizeof(double *) * n);
	memset(x->w2, 0, sizeof(double *) * n);
	x->halo = 0;
	for (int i = 0; i < n; i++)
	{
		double		lw = 4.0 * x->sig[i] + 0.5;
		double	   *tmp;

		if (!(lw < 1e6))
			return errbuf_printf(x->err, x->errlen, "sigma %g is too large", x->sig[i]), -1;
		x->rad[i] = (int) lw;
		if (x->rad[i] > x->halo)
			x->halo = x->rad[i];
		x->w0[i] = blob_xalloc(x, sizeof(double) * (x->rad[i] + 1));
		x->w2[i] = blob_xalloc(x, sizeof(double) * (x->rad[i] + 1));
		tmp = blob_xalloc(x, sizeof(double) * (2 * x->rad[i] + 1));
		if (!x->w0[i] || !x->w2[i] || !tmp)
		{
			mlops_free(x->a, tmp);
			return -1;
		}
		GaussKernels(x->sig[i], x->rad[i], x->w0[i], x->w2[i], tmp);
		mlops_free(x->a, tmp);
	}
	return 0;
}

/*
 * blob_plan_tiles chooses the tile size and checks the plan's memory against
 * max_bytes (the formula of blobs.h), then allocates the scratch.  LoG and
 * DoG round the extended tile up to whole blocks of x->lanes (<= 8) rows
 * and columns (see blobs_conv.h).
 */
int
blob_plan_tiles(BlobCtx *x)
{
	double		th,
				tw,
				bw,
				R = x->halo,
				L = x->lanes,
				bytes;

	/* 126 rows: the extended tile is 128 rows, whole blocks of 8 */
	x->th = x->o.tile_rows ? x->o.tile_rows : 126;
	x->tw = x->o.tile_cols ? x->o.tile_cols : (x->cols <= 4096 ? x->cols : 4096);
	if (x->th > x->rows)
		x->th = x->rows;
	if (x->tw > x->cols)
		x->tw = x->cols;
	th = (double) x->th + 2;
	tw = (double) x->tw + 2;
	if (x->method != BLOB_DOH)
	{
		th = ceil(th / L) * L;
		tw = ceil(tw / L) * L;
	}
	bw = ceil((tw + 2 * R) / L) * L;
	/* the formula of blobs.h */
	if (x->method == BLOB_DOH)
		bytes = th * tw * x->nlayers + (th + 2 * R) * (tw + 2 * R)
			+ 2 * (double) x->cols + 2 * (th + 2 * R) + tw + 2 * R;
	else
		bytes = th * tw * x->nlayers + (th + 2 * R) * bw + 2 * th * bw
			+ (x->method == BLOB_DOG ? th * tw : 0) + bw + th + 2 * R
			+ th * tw * x->nlayers / (8 * L * L);
	bytes *= 8;
	if (bytes > (double) x->o.max_bytes)
		return errbuf_printf(x->err, x->errlen,
							 "blob detection would need %.0f bytes per tile, more than the limit %zu",
							 bytes, x->o.max_bytes), -1;

	{
		size_t		ith = (size_t) th,
					itw = (size_t) tw,
					ibw = (size_t) bw,
					iR = (size_t) R;

		x->raw[0] = blob_xalloc(x, sizeof(double) * ith * itw * x->nlayers + 64);
		x->cube = Align64(x->raw[0]);
		if (!x->cube)
			return -1;
		if (x->method == BLOB_DOH)
		{
			x->raw[1] = blob_xalloc(x, sizeof(double) * (ith + 2 * iR) * (itw + 2 * iR) + 64);
			x->buf = Align64(x->raw[1]);
			x->tcarry = blob_xalloc(x, sizeof(double) * x->cols);
			x->tnext = blob_xalloc(x, sizeof(double) * x->cols);
			x->scarry = blob_xalloc(x, sizeof(double) * (ith + 2 * iR));
			x->snext = blob_xalloc(x, sizeof(double) * (ith + 2 * iR));
			x->raw[2] = blob_xalloc(x, sizeof(double) * (itw + 2 * iR) + 64);
			x->t1 = Align64(x->raw[2]);
			if (!x->buf || !x->tcarry || !x->tnext || !x->scarry || !x->snext || !x->t1)
				return -1;
		}
		else
		{
			x->raw[1] = blob_xalloc(x, sizeof(double) * (ith + 2 * iR) * ibw + 64);
			x->raw[2] = blob_xalloc(x, sizeof(double) * ith * ibw + 64);
			x->raw[3] = blob_xalloc(x, sizeof(double) * ith * ibw + 64);
			x->raw[5] = blob_xalloc(x, sizeof(int64_t) * (ibw + ith + 2 * iR));
			x->buf = Align64(x->raw[1]);
			x->t1 = Align64(x->raw[2]);
			x->t2 = Align64(x->raw[3]);
			x->cidx = x->raw[5];
			x->flags = blob_xalloc(x, (ith / x->lanes) * (itw / x->lanes) * x->nlayers);
			if (!x->buf || !x->t1 || !x->t2 || !x->cidx || !x->flags)
				return -1;
			if (x->method == BLOB_DOG)
			{
				x->raw[4] = blob_xalloc(x, sizeof(double) * ith * itw + 64);
				x->t3 = Align64(x->raw[4]);
				if (!x->t3)
					return -1;
			}
		}
	}
	return 0;
}

/*
 * blob_ctx_free frees what blob_make_scales, blob_plan_tiles and the
 * candidates took.
 */
void
blob_ctx_free(BlobCtx *x)
{
	if (x->w0)
		for (int i = 0; i < x->nsig; i++)
			mlops_free(x->a, x->w0[i]);
	if (x->w2)
		for (int i = 0; i < x->nsig; i++)
			mlops_free(x->a, x->w2[i]);
	mlops_free(x->a, x->w0);
	mlops_free(x->a, x->w2);
	mlops_free(x->a, x->rad);
	mlops_free(x->a, x->sig);
	mlops_free(x->a, x->cand);
	mlops_free(x->a, x->flags);
	for (int i = 0; i < 6; i++)
		mlops_free(x->a, x->raw[i]);
	mlops_free(x->a, x->tcarry);
	mlops_free(x->a, x->tnext);
	mlops_free(x->a, x->scarry);
	mlops_free(x->a, x->snext);
}
