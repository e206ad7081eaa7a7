/*
 * kriging.c
 *	  Kernel: ordinary kriging onto a regular grid for the "kriging" method
 *	  of mlops.interpolate_raster (see kriging.h for the contract; the
 *	  variogram is variogram.c's, the linear algebra linalg.c's).
 *
 *	  The system is written in covariance form, normalised by the sill:
 *	  rho(h) = C(h) / sill = 1 - gamma(h) / sill, rho(0) = 1, so that every
 *	  entry lies in [-1, 1] and a single pivot tolerance fits all data:
 *
 *		  [ rho_ij  1 ] [ w  ]   [ rho_i0 ]
 *		  [ 1'      0 ] [ mu ] = [ 1      ]
 *
 *	  estimate = sum w_i v_i, variance = sill (1 - sum w_i rho_i0 - mu).
 *	  The matrix is symmetric indefinite, so it is factored by LU with
 *	  partial pivoting (linalg.c: blocked, with the trailing updates spread
 *	  over threads and cancellable, for the one large global system).
 *
 *	  Points with a non-finite coordinate or value are dropped and points at
 *	  identical coordinates are reduced to the first one, so exact
 *	  duplicates never make a system singular.  Nearly coincident points (or
 *	  a Gaussian model without nugget on dense data) make it numerically
 *	  singular: partial pivoting alone does not show it (the pivots it
 *	  picks stay well away from 0 when two rows differ only off the
 *	  diagonal), so after the LU the reciprocal condition number is
 *	  estimated (linalg_lu_rcond), and a
 *	  system with a pivot below KRIG_PIVOT_TOL or rcond below KRIG_RCOND_MIN
 *	  is factored again with a micro-nugget KRIG_RIDGE on the diagonal;
 *	  should that fail too (a zero pivot), the cell takes the mean of its
 *	  neighbours with the prior variance (the sill).  No cell is ever NaN.
 *
 *	  Global mode (max_points 0, radius 0) is dual kriging: [b; mu] =
 *	  K^-1 [v; 0] once, then estimate(x) = sum b_i rho(|x - x_i|) + mu,
 *	  O(n) per cell.  Local mode solves one small system per cell, reusing
 *	  the factorisation while the neighbour set stays the same (common
 *	  along a row); systems are always built in point-index order, so the
 *	  result of a cell does not depend on the cache or on the threads.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.  Worker threads call only
 *	  libc/libm.
 */
#include "spatial/kriging.h"
#include "spatial/kdtree.h"
#include "spatial/linalg.h"
#include "spatial/parallel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Pivots smaller than this (entries of the normalised system are <= 1) are singular. */
#define KRIG_PIVOT_TOL	1e-12

/* Below this estimated reciprocal condition number a system is singular. */
#define KRIG_RCOND_MIN	1e-12

/* Relative micro-nugget added to the diagonal when a system is singular. */
#define KRIG_RIDGE		1e-10

/* Local neighbour sets up to this size are sorted by insertion. */
#define KRIG_SMALL_SORT 32

/* The normalised covariance of a variogram, ready for evaluation. */
typedef struct krig_cov
{
	vario_model model;
	bool		flat;			/* sill == 0: mean of the neighbours */
	double		sill;
	double		psr;			/* partial sill / sill: rho just above 0 */
	double		range;
	double		inv_a;			/* 1 / range */
	double		k;				/* exponential 3 / a; gaussian 3 / a^2 */
	double		a2;				/* range^2 */
} krig_cov;

/* The usable points: finite, distinct, in input order. */
typedef struct krig_pts
{
	size_t		n;
	double	   *x;
	double	   *y;
	double	   *v;
	size_t	   *orig;			/* index in the caller's arrays */
} krig_pts;

/* Per-thread scratch of interp_kriging. */
typedef struct krig_thread
{
	size_t	   *idx;			/* kdtree_nearest_k output (kmax) */
	double	   *d2;
	size_t	   *sidx;			/* the neighbour set sorted by index */
	size_t	   *cidx;			/* the neighbour set of the cached factorisation */
	long		cm;				/* its size; -1: nothing cached */
	bool		cflat;			/* the cached system fell back to the mean */
	size_t		cap;			/* systems of up to cap points fit in lu/piv/rhs/r */
	double	   *lu;
	int		   *piv;
	double	   *rhs;
	double	   *r;
	double	   *work;			/* 2 (cap + 1): condition estimate */
	double	   *rowdy2;			/* global mode: (y_i - cy)^2 of the current row */
} krig_thread;

/* What the row worker needs. */
typedef struct krig_ctx
{
	const krig_pts *pts;
	const krig_cov *cov;
	const interp_grid *g;
	double		nodata;
	double	   *out;
	double	   *var;
	size_t		min_points;
	krig_thread *th;

	/* local mode */
	const kdtree *tree;
	size_t		kmax;
	double		radius;

	/* global mode */
	const double *lu;			/* (n + 1)^2 factors, NULL when flat */
	const int  *piv;
	const double *b;			/* dual weights, n + 1 (the last is mu) */
	double		mean;			/* of all values, for the flat case */
} krig_ctx;

/* A point for the duplicate search. */
typedef struct krig_key
{
	double		x;
	double		y;
	size_t		i;
} krig_key;

static void cov_init(krig_cov *c, const variogram *v);
static inline double cov_rho(const krig_cov *c, double d2);
static int	key_cmp(const void *a, const void *b);
static int	size_cmp(const void *a, const void *b);
static bool pts_prepare(const interp_points *p, krig_pts *k);
static void pts_free(krig_pts *k);
static void build_system(const krig_cov *c, const double *x, const double *y, const size_t *set,
						 size_t m, double ridge, double *a);
static interp_status factor_system(const krig_cov *c, const double *x, const double *y, const size_t *set,
								   size_t m, double *a, int *piv, double *work, const interp_exec *exec,
								   bool *flat);
static bool thread_grow(krig_thread *th, size_t m);
static bool thread_grow_vectors(krig_thread *th, size_t m);
static bool local_rows(void *ctx, int tid, int row0, int row1);
static bool global_rows(void *ctx, int tid, int row0, int row1);

/*
 * cov_init prepares the normalised covariance rho = 1 - gamma / sill of a
 * valid variogram.
 */
static void
cov_init(krig_cov *c, const variogram *v)
{
	c->model = v->model;
	c->sill = v->sill;
	c->flat = !(v->sill > 0.0);
	c->psr = c->flat ? 0.0 : (v->sill - v->nugget) / v->sill;
	c->range = v->range;
	c->inv_a = 1.0 / v->range;
	c->a2 = v->range * v->range;
	c->k = v->model == VARIO_GAUSSIAN ? 3.0 / c->a2 : 3.0 / v->range;
}

/*
 * cov_rho returns rho at squared distance d2: 1 at 0 (the nugget is a
 * discontinuity), psr * (1 - shape(h)) beyond.
 */
static inline double
cov_rho(const krig_cov *c, double d2)
{
	if (d2 == 0.0)
		return 1.0;
	switch (c->model)
	{
		case VARIO_SPHERICAL:
			if (d2 >= c->a2)
				return 0.0;
			else
			{
				double		r = sqrt(d2) * c->inv_a;

				return c->psr * (1.0 - r * (1.5 - 0.5 * r * r));
			}
		case VARIO_EXPONENTIAL:
			return c->psr * exp(-c->k * sqrt(d2));
		case VARIO_GAUSSIAN:
			return c->psr * exp(-c->k * d2);
	}
	return 0.0;
}

/*
 * key_cmp orders points by x, y, then input index.
 */
static int
key_cmp(const void *a, const void *b)
{
	const krig_key *ka = a;
	const krig_key *kb = b;

	if (ka->x != kb->x)
		return ka->x < kb->x ? -1 : 1;
	if (ka->y != kb->y)
		return ka->y < kb->y ? -1 : 1;
	return ka->i < kb->i ? -1 : (ka->i > kb->i ? 1 : 0);
}

/*
 * size_cmp orders size_t values.
 */
static int
size_cmp(const void *a, const void *b)
{
	size_t		sa = *(const size_t *) a;
	size_t		sb = *(const size_t *) b;

	return sa < sb ? -1 : (sa > sb ? 1 : 0);
}

/*
 * pts_prepare keeps the points of p with finite x, y and v, and of those at
 * identical coordinates only the first, in input order.  False when out of
 * memory.
 */
static bool
pts_prepare(const interp_points *p, krig_pts *k)
{
	size_t		nf = 0;
	size_t		alloc = p->n > 0 ? p->n : 1;
	krig_key   *keys = malloc(alloc * sizeof(krig_key));
	bool	   *keep = calloc(alloc, sizeof(bool));

	memset(k, 0, sizeof(*k));
	k->x = malloc(alloc * sizeof(double));
	k->y = malloc(alloc * sizeof(double));
	k->v = malloc(alloc * sizeof(double));
	k->orig = malloc(alloc * sizeof(size_t));
	if (keys == NULL || keep == NULL || k->x == NULL || k->y == NULL || k->v == NULL || k->orig == NULL)
	{
		free(keys);
		free(keep);
		pts_free(k);
		return false;
	}
	for (size_t i = 0; i < p->n; i++)
		if (isfinite(p->x[i]) && isfinite(p->y[i]) && isfinite(p->v[i]))
		{
			keys[nf].x = p->x[i];
			keys[nf].y = p->y[i];
			keys[nf].i = i;
			nf++;
		}
	qsort(keys, nf, sizeof(krig_key), key_cmp);
	for (size_t j = 0; j < nf; j++)
		if (j == 0 || keys[j].x != keys[j - 1].x || keys[j].y != keys[j - 1].y)
			keep[keys[j].i] = true;
	for (size_t i = 0; i < p->n; i++)
		if (keep[i])
		{
			k->x[k->n] = p->x[i];
			k->y[k->n] = p->y[i];
			k->v[k->n] = p->v[i];
			k->orig[k->n] = i;
			k->n++;
		}
	free(keys);
	free(keep);
	return true;
}

/*
 * pts_free releases what pts_prepare allocated.
 */
static void
pts_free(krig_pts *k)
{
	free(k->x);
	free(k->y);
	free(k->v);
	free(k->orig);
	memset(k, 0, sizeof(*k));
}

/*
 * build_system fills the (m + 1)^2 bordered covariance matrix of the
 * points set[0..m) (all of x/y in order when set is NULL), with ridge
 * added to the diagonal of the covariance block.
 */
static void
build_system(const krig_cov *c, const double *x, const double *y, const size_t *set,
			 size_t m, double ridge, double *a)
{
	size_t		w = m + 1;

	for (size_t i = 0; i < m; i++)
	{
		size_t		pi = set ? set[i] : i;

		a[i * w + i] = 1.0 + ridge;
		for (size_t j = i + 1; j < m; j++)
		{
			size_t		pj = set ? set[j] : j;
			double		dx = x[pi] - x[pj];
			double		dy = y[pi] - y[pj];
			double		r = cov_rho(c, dx * dx + dy * dy);

			a[i * w + j] = r;
			a[j * w + i] = r;
		}
		a[i * w + m] = 1.0;
		a[m * w + i] = 1.0;
	}
	a[m * w + m] = 0.0;
}

/*
 * factor_system builds and factors the system of set[0..m) into a/piv
 * ((m + 1)^2 and m + 1; work holds 2 (m + 1) doubles of scratch), again
 * with the micro-nugget when it is singular or ill-conditioned; *flat is
 * true when even that fails (the caller then takes the mean).  Returns
 * INTERP_OK or INTERP_CANCELLED.
 */
static interp_status
factor_system(const krig_cov *c, const double *x, const double *y, const size_t *set,
			  size_t m, double *a, int *piv, double *work, const interp_exec *exec, bool *flat)
{
	bool		ok;
	interp_status st;
	double		anorm;

	*flat = false;
	build_system(c, x, y, set, m, 0.0, a);
	anorm = linalg_norm1(a, (int) m + 1);
	st = linalg_lu_factor(a, (int) m + 1, piv, KRIG_PIVOT_TOL, exec, &ok);
	if (st != INTERP_OK)
		return st;
	if (ok && linalg_lu_rcond(a, (int) m + 1, piv, anorm, work, work + m + 1) >= KRIG_RCOND_MIN)
		return INTERP_OK;

	/*
	 * Singular or nearly: a micro-nugget bounds the covariance block's
	 * smallest eigenvalue away from 0; the result is then accepted unless
	 * a pivot vanishes.
	 */
	build_system(c, x, y, set, m, KRIG_RIDGE, a);
	st = linalg_lu_factor(a, (int) m + 1, piv, KRIG_PIVOT_TOL, exec, &ok);
	if (st == INTERP_OK && !ok)
		*flat = true;
	return st;
}

/*
 * thread_grow_vectors makes room in th->rhs and th->r for systems of m
 * points (m + 1 entries); false when out of memory.  Only ever grows.
 */
static bool
thread_grow_vectors(krig_thread *th, size_t m)
{
	double	   *rhs,
			   *r;

	rhs = realloc(th->rhs, (m + 1) * sizeof(double));
	if (rhs == NULL)
		return false;
	th->rhs = rhs;
	r = realloc(th->r, (m + 1) * sizeof(double));
	if (r == NULL)
		return false;
	th->r = r;
	return true;
}

/*
 * thread_grow makes room in th for factoring systems of m points (the
 * cached factorisation is dropped when it moves); false when out of
 * memory.
 */
static bool
thread_grow(krig_thread *th, size_t m)
{
	size_t		w;
	double	   *lu,
			   *work;
	int		   *piv;

	if (m <= th->cap)
		return true;
	w = m + 1;
	th->cm = -1;
	lu = realloc(th->lu, w * w * sizeof(double));
	if (lu == NULL)
		return false;
	th->lu = lu;
	piv = realloc(th->piv, w * sizeof(int));
	if (piv == NULL)
		return false;
	th->piv = piv;
	work = realloc(th->work, 2 * w * sizeof(double));
	if (work == NULL)
		return false;
	th->work = work;
	if (!thread_grow_vectors(th, m))
		return false;
	th->cap = m;
	return true;
}

/*
 * local_rows is the row worker of local kriging: per cell, the kmax
 * nearest points within the radius, then the cached or a new
 * factorisation of their system, then one solve.
 */
static bool
local_rows(void *ctx, int tid, int row0, int row1)
{
	krig_ctx   *cx = ctx;
	krig_thread *th = &cx->th[tid];
	const krig_pts *k = cx->pts;
	const krig_cov *c = cx->cov;
	const interp_grid *g = cx->g;

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		size_t		base = (size_t) row * (size_t) g->width;

		for (int col = 0; col < g->width; col++)
		{
			double		cxp = g->ulx + (col + 0.5) * g->sx;
			size_t		m = kdtree_nearest_k(cx->tree, cxp, cy, cx->kmax, cx->radius, th->idx, th->d2);
			double		est,
						var;

			if (m > 0 && th->d2[0] == 0.0)
			{
				/* on a data point: its value, whatever min_points says */
				est = k->v[th->idx[0]];
				var = 0.0;
			}
			else if (m == 0 || m < cx->min_points)
			{
				est = cx->nodata;
				var = cx->nodata;
			}
			else
			{
				size_t	   *s = th->sidx;

				memcpy(s, th->idx, m * sizeof(size_t));
				if (m <= KRIG_SMALL_SORT)
				{
					for (size_t i = 1; i < m; i++)
					{
						size_t		t = s[i];
						size_t		j = i;

						while (j > 0 && s[j - 1] > t)
						{
							s[j] = s[j - 1];
							j--;
						}
						s[j] = t;
					}
				}
				else
					qsort(s, m, sizeof(size_t), size_cmp);

				if (c->flat)
				{
					est = 0.0;
					for (size_t i = 0; i < m; i++)
						est += k->v[s[i]];
					est /= (double) m;
					var = 0.0;
				}
				else
				{
					if (!thread_grow(th, m))
						return false;
					if (th->cm != (long) m || memcmp(th->cidx, s, m * sizeof(size_t)) != 0)
					{
						/* a new neighbour set: factor its system (one thread) */
						factor_system(c, k->x, k->y, s, m, th->lu, th->piv, th->work, NULL, &th->cflat);
						memcpy(th->cidx, s, m * sizeof(size_t));
						th->cm = (long) m;
					}
					if (th->cflat)
					{
						est = 0.0;
						for (size_t i = 0; i < m; i++)
							est += k->v[s[i]];
						est /= (double) m;
						var = c->sill;
					}
					else
					{
						double		rw = 0.0;

						for (size_t i = 0; i < m; i++)
						{
							double		dx = k->x[s[i]] - cxp;
							double		dy = k->y[s[i]] - cy;

							th->r[i] = cov_rho(c, dx * dx + dy * dy);
							th->rhs[i] = th->r[i];
						}
						th->rhs[m] = 1.0;
						linalg_lu_solve(th->lu, (int) m + 1, th->piv, th->rhs);
						est = 0.0;
						for (size_t i = 0; i < m; i++)
						{
							est += th->rhs[i] * k->v[s[i]];
							rw += th->rhs[i] * th->r[i];
						}
						var = c->sill * (1.0 - rw - th->rhs[m]);
						if (!(var > 0.0))
							var = 0.0;
						if (!isfinite(est))
						{
							/* cannot happen with a factored system; stay NaN-free */
							est = k->v[th->idx[0]];
							var = c->sill;
						}
					}
				}
			}
			cx->out[base + col] = est;
			if (cx->var != NULL)
				cx->var[base + col] = var;
		}
	}
	return true;
}

/*
 * GLOBAL_SUM is the O(n) dual-kriging sum of one cell for one model:
 * sum b_i rho(d_i), noting in hit the first point at the cell centre.
 */
#define GLOBAL_SUM(RHO) \
	do { \
		for (size_t i = 0; i < n; i++) \
		{ \
			double		dx = px[i] - cxp; \
			double		d2 = dx * dx + rowdy2[i]; \
			if (d2 == 0.0) \
			{ \
				if (hit == SIZE_MAX) \
					hit = i; \
				continue; \
			} \
			sum += b[i] * (RHO); \
		} \
	} while (0)

/*
 * global_rows is the row worker of global (dual) kriging.  With variance,
 * each cell also solves the full system: O(n^2) a cell.
 */
static bool
global_rows(void *ctx, int tid, int row0, int row1)
{
	krig_ctx   *cx = ctx;
	krig_thread *th = &cx->th[tid];
	const krig_pts *k = cx->pts;
	const krig_cov *c = cx->cov;
	const interp_grid *g = cx->g;
	size_t		n = k->n;
	const double *px = k->x;
	const double *b = cx->b;
	double	   *rowdy2 = th->rowdy2;
	double		psr = c->psr;
	double		kk = c->k;
	double		inv_a = c->inv_a;
	double		a2 = c->a2;

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		size_t		base = (size_t) row * (size_t) g->width;

		for (size_t i = 0; i < n; i++)
		{
			double		dy = k->y[i] - cy;

			rowdy2[i] = dy * dy;
		}
		for (int col = 0; col < g->width; col++)
		{
			double		cxp = g->ulx + (col + 0.5) * g->sx;
			size_t		hit = SIZE_MAX;
			double		est,
						var = 0.0;

			if (cx->lu == NULL)
			{
				/* flat model, or a singular system: the mean */
				for (size_t i = 0; i < n; i++)
				{
					double		dx = px[i] - cxp;

					if (dx * dx + rowdy2[i] == 0.0)
					{
						hit = i;
						break;
					}
				}
				est = cx->mean;
				var = c->flat ? 0.0 : c->sill;
			}
			else
			{
				double		sum = 0.0;

				switch (c->model)
				{
					case VARIO_SPHERICAL:
						GLOBAL_SUM(d2 >= a2 ? 0.0 :
								   psr * (1.0 - sqrt(d2) * inv_a * (1.5 - 0.5 * d2 * inv_a * inv_a)));
						break;
					case VARIO_EXPONENTIAL:
						GLOBAL_SUM(psr * exp(-kk * sqrt(d2)));
						break;
					case VARIO_GAUSSIAN:
						GLOBAL_SUM(psr * exp(-kk * d2));
						break;
				}
				est = sum + b[n];
				if (cx->var != NULL && hit == SIZE_MAX)
				{
					double		rw = 0.0;

					for (size_t i = 0; i < n; i++)
					{
						double		dx = px[i] - cxp;

						th->r[i] = cov_rho(c, dx * dx + rowdy2[i]);
						th->rhs[i] = th->r[i];
					}
					th->rhs[n] = 1.0;
					linalg_lu_solve(cx->lu, (int) n + 1, cx->piv, th->rhs);
					for (size_t i = 0; i < n; i++)
						rw += th->rhs[i] * th->r[i];
					var = c->sill * (1.0 - rw - th->rhs[n]);
					if (!(var > 0.0))
						var = 0.0;
				}
				if (!isfinite(est))
				{
					est = cx->mean;
					var = c->sill;
				}
			}
			if (hit != SIZE_MAX)
			{
				est = k->v[hit];
				var = 0.0;
			}
			else if (n < cx->min_points)
			{
				est = cx->nodata;
				var = cx->nodata;
			}
			cx->out[base + col] = est;
			if (cx->var != NULL)
				cx->var[base + col] = var;
		}
	}
	return true;
}

/*
 * kriging_point solves the global system of p at (x0, y0); see kriging.h.
 */
bool
kriging_point(const interp_points *p, const variogram *v, double x0, double y0,
			  double *weights, double *lagrange, double *estimate, double *variance)
{
	krig_pts	k;
	krig_cov	c;
	double	   *a = NULL;
	double	   *rhs = NULL;
	double	   *r = NULL;
	double	   *work = NULL;
	int		   *piv = NULL;
	size_t		m;
	size_t		hit = SIZE_MAX;
	bool		flat = false;
	bool		result = false;
	double		est = 0.0,
				var = 0.0,
				mu = 0.0;

	if (!variogram_valid(v, NULL))
		return false;
	if (!pts_prepare(p, &k))
		return false;
	m = k.n;
	if (m == 0 || m > KRIGING_MAX_GLOBAL)
		goto done;
	cov_init(&c, v);
	rhs = malloc((m + 1) * sizeof(double));
	r = malloc((m + 1) * sizeof(double));
	if (rhs == NULL || r == NULL)
		goto done;
	for (size_t i = 0; i < m; i++)
	{
		double		dx = k.x[i] - x0;
		double		dy = k.y[i] - y0;

		if (dx * dx + dy * dy == 0.0 && hit == SIZE_MAX)
			hit = i;
		r[i] = cov_rho(&c, dx * dx + dy * dy);
	}
	if (hit != SIZE_MAX || c.flat)
		flat = true;
	else
	{
		a = malloc((m + 1) * (m + 1) * sizeof(double));
		piv = malloc((m + 1) * sizeof(int));
		work = malloc(2 * (m + 1) * sizeof(double));
		if (a == NULL || piv == NULL || work == NULL)
			goto done;
		factor_system(&c, k.x, k.y, NULL, m, a, piv, work, NULL, &flat);
	}
	if (!flat)
	{
		double		rw = 0.0;

		memcpy(rhs, r, m * sizeof(double));
		rhs[m] = 1.0;
		linalg_lu_solve(a, (int) m + 1, piv, rhs);
		for (size_t i = 0; i < m; i++)
		{
			est += rhs[i] * k.v[i];
			rw += rhs[i] * r[i];
		}
		mu = rhs[m];
		var = c.sill * (1.0 - rw - mu);
		mu *= c.sill;
		if (!(var > 0.0))
			var = 0.0;
	}
	else
	{
		/* on a data point: weight 1 there; flat or singular: the mean */
		for (size_t i = 0; i < m; i++)
			rhs[i] = hit != SIZE_MAX ? (i == hit ? 1.0 : 0.0) : 1.0 / (double) m;
		for (size_t i = 0; i < m; i++)
			est += rhs[i] * k.v[i];
		var = (hit != SIZE_MAX || c.flat) ? 0.0 : c.sill;
	}
	if (weights != NULL)
	{
		for (size_t i = 0; i < p->n; i++)
			weights[i] = 0.0;
		for (size_t i = 0; i < m; i++)
			weights[k.orig[i]] = rhs[i];
	}
	if (lagrange != NULL)
		*lagrange = mu;
	if (estimate != NULL)
		*estimate = est;
	if (variance != NULL)
		*variance = var;
	result = true;

done:
	free(a);
	free(piv);
	free(work);
	free(rhs);
	free(r);
	pts_free(&k);
	return result;
}

/*
 * interp_kriging fills out (and variance) with ordinary kriging; see
 * kriging.h.
 */
interp_status
interp_kriging(const interp_points *p, const interp_grid *g, const kriging_options *o,
			   const interp_exec *exec, double *out, double *variance)
{
	krig_pts	k;
	krig_cov	c;
	krig_ctx	cx;
	krig_thread *th = NULL;
	kdtree	   *tree = NULL;
	double	   *a = NULL;
	int		   *piv = NULL;
	double	   *b = NULL;
	int			nthreads = 0;
	bool		global;
	size_t		kmax;
	interp_status st = INTERP_NOMEM;

	if (g->width <= 0 || g->height <= 0)
		return INTERP_OK;
	if (!variogram_valid(&o->v, NULL))
	{
		grid_fill(g, o->nodata, out);
		if (variance != NULL)
			grid_fill(g, o->nodata, variance);
		return INTERP_OK;
	}
	if (!pts_prepare(p, &k))
		return INTERP_NOMEM;
	if (k.n == 0)
	{
		pts_free(&k);
		grid_fill(g, o->nodata, out);
		if (variance != NULL)
			grid_fill(g, o->nodata, variance);
		return INTERP_OK;
	}
	global = o->max_points <= 0 && !(o->radius > 0.0);
	kmax = (o->max_points > 0 && (size_t) o->max_points < k.n) ? (size_t) o->max_points : k.n;
	if (kmax > KRIGING_MAX_GLOBAL)
	{
		pts_free(&k);
		return INTERP_TOO_LARGE;
	}
	cov_init(&c, &o->v);

	memset(&cx, 0, sizeof(cx));
	cx.pts = &k;
	cx.cov = &c;
	cx.g = g;
	cx.nodata = o->nodata;
	cx.out = out;
	cx.var = variance;
	cx.min_points = o->min_points > 1 ? (size_t) o->min_points : 1;
	cx.kmax = kmax;
	cx.radius = o->radius > 0.0 ? o->radius : 0.0;

	nthreads = par_threads(exec, g->height);
	th = calloc((size_t) nthreads, sizeof(krig_thread));
	if (th == NULL)
		goto done;
	cx.th = th;

	if (global)
	{
		size_t		w = k.n + 1;
		double		mean = 0.0;

		for (size_t i = 0; i < k.n; i++)
			mean += k.v[i];
		cx.mean = mean / (double) k.n;
		for (int t = 0; t < nthreads; t++)
		{
			th[t].rowdy2 = malloc(k.n * sizeof(double));
			if (th[t].rowdy2 == NULL)
				goto done;
			if (variance != NULL && !thread_grow_vectors(&th[t], k.n))
				goto done;
		}
		if (!c.flat)
		{
			bool		flat;

			a = malloc(w * w * sizeof(double));
			piv = malloc(w * sizeof(int));
			b = malloc(2 * w * sizeof(double));
			if (a == NULL || piv == NULL || b == NULL)
				goto done;
			/* b is the scratch of the condition estimate first */
			st = factor_system(&c, k.x, k.y, NULL, k.n, a, piv, b, exec, &flat);
			if (st != INTERP_OK)
				goto done;
			st = INTERP_NOMEM;
			if (!flat)
			{
				memcpy(b, k.v, k.n * sizeof(double));
				b[k.n] = 0.0;
				linalg_lu_solve(a, (int) w, piv, b);
				cx.lu = a;
				cx.piv = piv;
				cx.b = b;
			}
		}
		st = par_rows(exec, g->height, 1, global_rows, &cx);
	}
	else
	{
		tree = kdtree_build(k.x, k.y, k.n);
		if (tree == NULL)
			goto done;
		cx.tree = tree;
		for (int t = 0; t < nthreads; t++)
		{
			th[t].idx = malloc(kmax * sizeof(size_t));
			th[t].d2 = malloc(kmax * sizeof(double));
			th[t].sidx = malloc(kmax * sizeof(size_t));
			th[t].cidx = malloc(kmax * sizeof(size_t));
			th[t].cm = -1;
			if (th[t].idx == NULL || th[t].d2 == NULL || th[t].sidx == NULL || th[t].cidx == NULL)
				goto done;
		}
		st = par_rows(exec, g->height, 1, local_rows, &cx);
	}

done:
	if (th != NULL)
		for (int t = 0; t < nthreads; t++)
		{
			free(th[t].idx);
			free(th[t].d2);
			free(th[t].sidx);
			free(th[t].cidx);
			free(th[t].lu);
			free(th[t].piv);
			free(th[t].rhs);
			free(th[t].r);
			free(th[t].work);
			free(th[t].rowdy2);
		}
	free(th);
	free(a);
	free(piv);
	free(b);
	kdtree_free(tree);
	pts_free(&k);
	return st;
}
