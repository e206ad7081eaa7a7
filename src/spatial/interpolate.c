/*
 * interpolate.c
 *	  Kernel: interpolation of scattered points onto a regular grid for
 *	  mlops.interpolate_raster (see interpolate.h for the contract).
 *
 *	  It holds three gridders that follow GDAL's gdal_grid
 *	  (alg/gdalgrid.cpp), which PostGIS's ST_InterpolateRaster calls.  The
 *	  nearest and invdistnn gridders search the points with the bucket
 *	  grid (buckets.c) when they are spread fairly evenly, else with the
 *	  k-d tree (kdtree.c).
 *
 *	  Both structures give the exact answer of a brute-force search: the points in
 *	  the order (d^2, input index) for invdistnn and (d^2, descending input
 *	  index) for nearest, as GDAL orders ties (kdtree.h), with d^2 = dx * dx
 *	  + dy * dy rounded as written, whatever the structure, the thread count
 *	  or the search's head start.  The gridders start each cell's search from the previous
 *	  cell's answer (the nearest point, or invdistnn's neighbours), whose
 *	  distance to the new cell bounds the search to a few buckets or
 *	  leaves; a range or bucket is skipped only when a rounded lower bound
 *	  of its points' distances exceeds the bound (never on equality, since
 *	  an equidistant point may win on its index).
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
 *		with d^2 <= radius^2 (radius 0: unlimited), else nodata; of
 *		equidistant points the last in input order, as GDAL (two readings
 *		at one spot: the later one).
 *
 *	  Every gridder runs its rows through par_rows (parallel.h), with
 *	  per-thread scratch; a cell's arithmetic never depends on the thread
 *	  that computes it, so any thread count gives the same bits.
 *
 *	  "invdist" costs cells * points weights: on x86-64 it runs SIMD loops
 *	  (idw_simd.c), with a far field for powers 1 to 4 (idw_farfield.c),
 *	  within a proven error bound of the double loop here, which is the
 *	  reference semantics.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/idw_private.h"
#include "spatial/buckets.h"
#include "spatial/kdtree.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* GDAL's "close to the grid node" threshold on d^2 + smoothing^2. */
#define GDAL_SNAP_R2	0.0000000000001

/* Independent partial sums in the double invdist inner loop. */
#define IDW_LANES	4

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
			idw_ff_tile(c, tid, row0, row1, tc0,
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
		idw_ff_init(&c);
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

/* The search structure of a nearest or invdistnn computation. */
typedef struct nn_search
{
	buckets    *b;				/* the bucket grid, or NULL */
	kdtree	   *t;				/* else the k-d tree */
	size_t		rstride;		/* bucket rows + PAR_SCRATCH_PAD */
	double	   *dy2;			/* threads x rstride: squared gaps of the bucket rows */
} nn_search;

/*
 * nn_search_build builds, for a search from the cell centres of g, the
 * bucket grid when the points suit it (or search forces it), else the k-d
 * tree, with scratch for threads threads.  Returns INTERP_OK or
 * INTERP_NOMEM; nn_search_free releases s either way.
 */
static interp_status
nn_search_build(nn_search *s, const interp_points *p, const interp_grid *g, interp_search search,
				size_t threads)
{
	interp_status st;

	memset(s, 0, sizeof(*s));
	st = buckets_try(p, g, search, &s->b);
	if (st == INTERP_NOMEM)
		return st;
	if (st == INTERP_OK)
	{
		s->rstride = (size_t) buckets_nrows(s->b) + PAR_SCRATCH_PAD;
		s->dy2 = malloc(threads * s->rstride * sizeof(double));
		return s->dy2 == NULL ? INTERP_NOMEM : INTERP_OK;
	}
	s->t = kdtree_build(p->x, p->y, p->n);
	return s->t == NULL ? INTERP_NOMEM : INTERP_OK;
}

/*
 * nn_search_free releases what nn_search_build allocated.
 */
static void
nn_search_free(nn_search *s)
{
	buckets_free(s->b);
	kdtree_free(s->t);
	free(s->dy2);
}

/*
 * nn_search_cursor returns thread tid's cursor for rows of bucket grid
 * searches (its dy2 is NULL with the k-d tree).
 */
static buckets_cursor
nn_search_cursor(const nn_search *s, int tid)
{
	buckets_cursor cur = {NULL, 0, 0, true};

	if (s->b != NULL)
		cur.dy2 = s->dy2 + (size_t) tid * s->rstride;
	return cur;
}

/* One invdistnn computation (idw_nn), shared by its threads. */
typedef struct idw_nn_ctx
{
	const interp_points *p;
	const interp_grid *g;
	const idw_options *o;
	nn_search	s;
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
	buckets_cursor cur = nn_search_cursor(&c->s, tid);
	bool		have_rowseed = false;

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;
		size_t		m = 0;

		if (c->s.b != NULL)
			buckets_row(c->s.b, cy, &cur);
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
			if (c->s.b != NULL)
				m = buckets_nearest_k(c->s.b, &cur, cx, cy, c->k, lim, idx, d2);
			else
				m = kdtree_nearest_k_bound(c->s.t, cx, cy, c->k, lim, idx, d2);
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

	st = nn_search_build(&c.s, p, g, o->search, threads);
	c.idx = malloc(threads * c.kstride * sizeof(size_t));
	c.d2 = malloc(threads * c.kstride * sizeof(double));
	c.rowseed = malloc(threads * c.kstride * sizeof(size_t));
	if (st != INTERP_OK || c.idx == NULL || c.d2 == NULL || c.rowseed == NULL)
		st = INTERP_NOMEM;
	else
		st = par_rows(exec, g->height, 0, idw_nn_rows, &c);
	nn_search_free(&c.s);
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
	nn_search	s;
	double		r2;				/* radius^2, INFINITY for no radius */
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
	buckets_cursor cur = nn_search_cursor(&c->s, tid);
	size_t		rowseed = 0;

	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;
		size_t		seed = rowseed;

		if (c->s.b != NULL)
			buckets_row(c->s.b, cy, &cur);
		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;
			size_t		i = c->s.b != NULL ? buckets_nearest(c->s.b, &cur, cx, cy, c->r2, &seed) :
				kdtree_nearest1(c->s.t, cx, cy, c->r2, &seed);

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
 * none.  Equidistant points: the highest index wins.  GDAL keeps the last
 * one it visits: the last in input order when it scans every point, and
 * for exact duplicates with its quadtree too (they share a node, listed in
 * input order); distinct equidistant points it visits in quadtree order,
 * which no rule reproduces.  The searches run on the
 * bucket grid when the points suit it (buckets_try), else on the k-d
 * tree; both give the same answers.
 */
interp_status
interp_nearest(const interp_points *p, const interp_grid *g, const nearest_options *o,
			   const interp_exec *exec, double *out)
{
	nearest_ctx c;
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

	st = nn_search_build(&c.s, p, g, o->search, (size_t) par_threads(exec, g->height));
	if (st == INTERP_OK)
		st = par_rows(exec, g->height, 0, nearest_rows, &c);
	nn_search_free(&c.s);
	return st;
}
