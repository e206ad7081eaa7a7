/*
 * smooth.c
 *	  Kernel: Gaussian smoothing that skips nodata cells (normalised
 *	  convolution), and the fade away from the points (see smooth.h).
 *
 *	  The Gaussian follows scipy.ndimage.gaussian_filter: the kernel is
 *	  exp(-0.5 / sigma^2 * x^2) for x in [-r, r], r = (int) (truncate *
 *	  sigma + 0.5), divided by its sum; edges reflect (d c b a | a b c d |
 *	  d c b a, repeated when the kernel is longer than the line); an output
 *	  is the centre tap, then the symmetric pairs from the outermost in, as
 *	  scipy's correlate1d sums them.  A kernel longer than twice the line is
 *	  folded onto one period of the reflection (2n taps: the reflected index
 *	  has period 2n), so a cell never costs more than 2n taps.
 *
 *	  Two passes, each through par_rows: rows into a scratch grid, then
 *	  columns back into out (an output row reads whole scratch rows, so the
 *	  inner loops run along contiguous memory).  With nodata cells the
 *	  passes carry two grids, G*(v m) and G*(m), and a data cell becomes
 *	  their quotient; a data cell's own tap is never 0, so the quotient is
 *	  defined.  Without nodata cells only G*v is computed.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/smooth.h"
#include "spatial/kdtree.h"
#include "spatial/parallel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest kernel radius, in pixels (the half-kernel is r + 1 doubles). */

/* One Gaussian computation, shared by the threads of both passes. */
typedef struct gauss_ctx
{
	int			width;
	int			height;
	int			r;				/* kernel radius */
	const double *w;			/* w[j]: weight of offsets +j and -j, j in [0, r] */
	const double *wfx;			/* folded kernel along rows (2 width taps), or NULL */
	const double *wfy;			/* folded kernel along columns (2 height taps), or NULL */
	bool		masked;			/* the grid has nodata cells */
	bool		nan_nodata;		/* nodata is NaN: NaN cells are nodata */
	double		nodata;
	double	   *out;
	double	   *tv;				/* width * height: rows pass of v (v m when masked) */
	double	   *tm;				/* width * height: rows pass of m (masked only) */
	double	   *ext;			/* threads x 2 extlen: extended lines (rows pass) */
	size_t		extlen;			/* with PAR_SCRATCH_PAD */
	double	   *acc;			/* threads x accstride: sums of an output row (columns pass) */
	size_t		accstride;		/* 2 width + PAR_SCRATCH_PAD */
} gauss_ctx;

/*
 * refl maps index x (any integer) into [0, n) as scipy's 'reflect' mode:
 * period 2n, d c b a | a b c d | d c b a.
 */
static inline int
refl(long long x, int n)
{
	long long	m = x % (2LL * n);

	if (m < 0)
		m += 2LL * n;
	return (int) (m < n ? m : 2LL * n - 1 - m);
}

/*
 * is_nodata says whether v is a nodata cell of c (only when masked).
 */
static inline bool
is_nodata(const gauss_ctx *c, double v)
{
	return c->nan_nodata ? isnan(v) : v == c->nodata;
}

/*
 * conv_line writes to dst the n outputs of the kernel over an extended
 * line: ext[j] = line[refl(j - r)] for j in [0, n + 2r) (direct), or
 * ext[j] = line[refl(j)] for j in [0, 3n) with the folded kernel wf.
 */
static void
conv_line(const gauss_ctx *c, const double *wf, const double *ext, int n, double *dst)
{
	int			r = c->r;
	const double *w = c->w;

	if (wf != NULL)
	{
		for (int i = 0; i < n; i++)
		{
			double		s = 0.0;

			for (int m = 0; m < 2 * n; m++)
				s += wf[m] * ext[i + m];
			dst[i] = s;
		}
		return;
	}
	for (int i = 0; i < n; i++)
	{
		const double *e = ext + i + r;
		double		s = e[0] * w[0];

		for (int j = r; j >= 1; j--)
			s += (e[-j] + e[j]) * w[j];
		dst[i] = s;
	}
}

/*
 * gauss_rows is the first pass (par_rows worker): each row of out,
 * smoothed along x, into tv (and its mask into tm).
 */
static bool
gauss_rows(void *arg, int tid, int row0, int row1)
{
	const gauss_ctx *c = arg;
	int			n = c->width;
	double	   *ev = c->ext + (size_t) tid * 2 * c->extlen;
	double	   *em = ev + c->extlen;
	int			len = c->wfx != NULL ? 3 * n : n + 2 * c->r;
	int			off = c->wfx != NULL ? 0 : c->r;

	for (int row = row0; row < row1; row++)
	{
		const double *src = c->out + (size_t) row * n;

		if (c->masked)
		{
			for (int j = 0; j < len; j++)
			{
				double		v = src[refl((long long) j - off, n)];
				bool		data = !is_nodata(c, v);

				ev[j] = data ? v : 0.0;
				em[j] = data ? 1.0 : 0.0;
			}
			conv_line(c, c->wfx, em, n, c->tm + (size_t) row * n);
		}
		else
			for (int j = 0; j < len; j++)
				ev[j] = src[refl((long long) j - off, n)];
		conv_line(c, c->wfx, ev, n, c->tv + (size_t) row * n);
	}
	return true;
}

/*
 * col_sums writes to acc the columns pass of output row row over the
 * scratch grid t (width columns).
 */
static void
col_sums(const gauss_ctx *c, const double *t, int row, double *acc)
{
	int			n = c->width;
	int			h = c->height;

	if (c->wfy != NULL)
	{
		for (int x = 0; x < n; x++)
			acc[x] = 0.0;
		for (int m = 0; m < 2 * h; m++)
		{
			const double *src = t + (size_t) refl((long long) row + m, h) * n;
			double		wm = c->wfy[m];

			for (int x = 0; x < n; x++)
				acc[x] += wm * src[x];
		}
		return;
	}
	{
		const double *mid = t + (size_t) row * n;

		for (int x = 0; x < n; x++)
			acc[x] = mid[x] * c->w[0];
	}
	for (int j = c->r; j >= 1; j--)
	{
		const double *up = t + (size_t) refl((long long) row - j, h) * n;
		const double *dn = t + (size_t) refl((long long) row + j, h) * n;
		double		wj = c->w[j];

		for (int x = 0; x < n; x++)
			acc[x] += (up[x] + dn[x]) * wj;
	}
}

/*
 * gauss_cols is the second pass (par_rows worker): output rows from the
 * scratch grids, written into out (data cells only when masked).
 */
static bool
gauss_cols(void *arg, int tid, int row0, int row1)
{
	const gauss_ctx *c = arg;
	int			n = c->width;
	double	   *an = c->acc + (size_t) tid * c->accstride;
	double	   *ad = an + n;

	for (int row = row0; row < row1; row++)
	{
		double	   *orow = c->out + (size_t) row * n;

		col_sums(c, c->tv, row, an);
		if (c->masked)
		{
			col_sums(c, c->tm, row, ad);
			for (int x = 0; x < n; x++)
				if (!is_nodata(c, orow[x]))
					orow[x] = an[x] / ad[x];
		}
		else
			memcpy(orow, an, (size_t) n * sizeof(double));
	}
	return true;
}

/*
 * fold_kernel returns the kernel of radius r (half-weights w) folded onto
 * period 2n: wf[m] = sum of the weights of offsets k = m mod 2n.  NULL
 * when out of memory.
 */
static double *
fold_kernel(const double *w, int r, int n)
{
	double	   *wf = calloc((size_t) 2 * n, sizeof(double));

	if (wf == NULL)
		return NULL;
	for (int k = -r; k <= r; k++)
	{
		long long	m = k % (2LL * n);

		if (m < 0)
			m += 2LL * n;
		wf[m] += w[k < 0 ? -k : k];
	}
	return wf;
}

/*
 * interp_gaussian smooths out in place (see smooth.h).
 */
interp_status
interp_gaussian(const interp_grid *g, double sigma, double truncate, bool has_nodata,
				double nodata, const interp_exec *exec, double *out)
{
	gauss_ctx	c;
	size_t		cells;
	size_t		threads;
	double		rr,
				sum = 0.0,
				a;
	double	   *w = NULL;
	double	   *wfx = NULL;
	double	   *wfy = NULL;
	interp_status st = INTERP_NOMEM;

	if (g->width <= 0 || g->height <= 0)
		return INTERP_OK;
	if (!(sigma > 0 && isfinite(sigma) && truncate >= 0 && isfinite(truncate)))
		return INTERP_OK;
	rr = truncate * sigma + 0.5;
	if (!(rr < GAUSS_MAX_RADIUS + 1.0))
		return INTERP_TOO_LARGE;

	memset(&c, 0, sizeof(c));
	c.width = g->width;
	c.height = g->height;
	c.r = (int) rr;
	c.out = out;
	c.nodata = nodata;
	c.nan_nodata = isnan(nodata);
	if (c.r == 0)
		return INTERP_OK;		/* the kernel is [1]: identity */
	cells = (size_t) g->width * (size_t) g->height;
	if (has_nodata)
		for (size_t i = 0; i < cells && !c.masked; i++)
			c.masked = is_nodata(&c, out[i]);

	/* scipy's _gaussian_kernel1d: exp(-0.5 / sigma^2 * x^2), divided by its sum */
	w = malloc(((size_t) c.r + 1) * sizeof(double));
	if (w == NULL)
		return INTERP_NOMEM;
	a = -0.5 / (sigma * sigma);
	for (int j = 0; j <= c.r; j++)
		w[j] = exp(a * ((double) j * (double) j));
	for (int k = -c.r; k <= c.r; k++)
		sum += w[k < 0 ? -k : k];
	for (int j = 0; j <= c.r; j++)
		w[j] /= sum;
	c.w = w;

	/* fold kernels longer than twice the line */
	if (2 * (long long) c.r + 1 > 2LL * g->width)
	{
		wfx = fold_kernel(w, c.r, g->width);
		if (wfx == NULL)
			goto done;
	}
	if (2 * (long long) c.r + 1 > 2LL * g->height)
	{
		wfy = fold_kernel(w, c.r, g->height);
		if (wfy == NULL)
			goto done;
	}
	c.wfx = wfx;
	c.wfy = wfy;
	c.extlen = (wfx != NULL ? (size_t) 3 * g->width : (size_t) g->width + 2 * (size_t) c.r) + PAR_SCRATCH_PAD;
	c.accstride = 2 * (size_t) g->width + PAR_SCRATCH_PAD;

	threads = (size_t) par_threads(exec, g->height);
	c.tv = malloc(cells * sizeof(double));
	c.tm = c.masked ? malloc(cells * sizeof(double)) : NULL;
	c.ext = malloc(threads * 2 * c.extlen * sizeof(double));
	c.acc = malloc(threads * c.accstride * sizeof(double));
	if (c.tv == NULL || (c.masked && c.tm == NULL) || c.ext == NULL || c.acc == NULL)
		goto done;

	st = par_rows(exec, g->height, 0, gauss_rows, &c);
	if (st == INTERP_OK)
		st = par_rows(exec, g->height, 0, gauss_cols, &c);

done:
	free(w);
	free(wfx);
	free(wfy);
	free(c.tv);
	free(c.tm);
	free(c.ext);
	free(c.acc);
	return st;
}

/* One fade computation, shared by its threads. */
typedef struct fade_ctx
{
	const interp_grid *g;
	const fade_options *o;
	const kdtree *t;			/* NULL: no points */
	double	   *out;
} fade_ctx;

/*
 * fade_rows is the par_rows worker of interp_fade: rows [row0, row1).
 */
static bool
fade_rows(void *arg, int tid, int row0, int row1)
{
	const fade_ctx *c = arg;
	const interp_grid *g = c->g;
	const fade_options *o = c->o;
	bool		nan_nodata = isnan(o->nodata);

	(void) tid;
	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;

		for (int col = 0; col < g->width; col++)
		{
			double		v = orow[col];
			double		d = INFINITY;
			double		f;
			size_t		idx;
			double		d2;

			if (o->has_nodata && (nan_nodata ? isnan(v) : v == o->nodata))
				continue;
			if (c->t != NULL &&
				kdtree_nearest_k(c->t, g->ulx + (col + 0.5) * g->sx, cy, 1, 0.0, &idx, &d2) == 1)
				d = sqrt(d2);
			if (d <= o->distance)
				continue;		/* f = 1 */
			if (o->smoothing > 0)
			{
				double		z = (d - o->distance) / o->smoothing;

				f = exp(-0.5 * z * z);
			}
			else
				f = 0.0;
			orow[col] = f * v;
		}
	}
	return true;
}

/*
 * interp_fade multiplies every data cell by its fade factor (see smooth.h).
 */
interp_status
interp_fade(const interp_points *p, const interp_grid *g, const fade_options *o,
			const interp_exec *exec, double *out)
{
	fade_ctx	c;
	kdtree	   *t = NULL;
	interp_status st;

	if (g->width <= 0 || g->height <= 0)
		return INTERP_OK;
	if (p->n > 0)
	{
		t = kdtree_build(p->x, p->y, p->n);
		if (t == NULL)
			return INTERP_NOMEM;
	}
	c.g = g;
	c.o = o;
	c.t = t;
	c.out = out;
	st = par_rows(exec, g->height, 0, fade_rows, &c);
	kdtree_free(t);
	return st;
}
