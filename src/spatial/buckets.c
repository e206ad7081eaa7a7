/*
 * buckets.c
 *	  Kernel: the bucket grid (see buckets.h for the contract), for grid
 *	  searches (nearest, and invdistnn's neighbours) on points spread
 *	  fairly evenly: there a search from the previous cell's answer looks
 *	  at a few buckets, fewer steps than the k-d tree's descent.
 *
 *	  The points' bounding box is cut into ncols x nrows buckets of about
 *	  NN_PER_BUCKET points each (on uniform data), and the points are
 *	  sorted by bucket (row-major, input order within a bucket), so that
 *	  the buckets of one bucket row that a search needs are one contiguous
 *	  run of points.
 *
 *	  Exactness.  A search must never skip a bucket holding a point whose
 *	  squared distance, as computed (dx * dx + dy * dy in double, exactly
 *	  as the k-d tree does), is <= the best so far: that point may win a
 *	  tie on its index.  So buckets are skipped only on lower bounds
 *	  computed with the same roundings from edges that provably bound their
 *	  points: column k holds only points with ex[k] <= x <= ex[k + 1]
 *	  (nn_slot places a point by arithmetic, then moves it until that
 *	  holds), and for a point of a column to the right of the query,
 *	  x - qx >= ex[k] - qx, which rounding preserves (it is monotonic), and
 *	  likewise for its square and for the sum with the y term.  Hence
 *	  lb = fl(fl(tx * tx) + fl(ty * ty)) <= d for the bucket's points, with
 *	  tx, ty the rounded gaps to the nearest edges.  (The argument assumes
 *	  that a * b + c is not contracted into an fma, which holds without
 *	  -march / -mfma flags, as the house builds.)
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/buckets.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "spatial/knn.h"

/* Points per bucket the nearest gridder aims at, on uniform data. */
#define NN_PER_BUCKET	1.5

/*
 * When the bucket grid is used: at most this mean bucket occupancy seen by
 * a point (sum of count^2 / n; about NN_PER_BUCKET + 1 on uniform data),
 * and at most this fraction of empty buckets (about exp(-NN_PER_BUCKET) =
 * 0.22 on uniform data).  Beyond them the points are clustered or leave
 * holes: a search near a cluster scans crowded buckets, one in a hole
 * (within a radius) many empty ones, and the k-d tree is faster (measured
 * on clusters, holes, duplicates, and a cluster with a far outlier).
 */
#define NN_MAX_OCCUPANCY 8.0
#define NN_MAX_EMPTY	0.3

typedef struct nn_xy
{
	double		x;
	double		y;
} nn_xy;

struct buckets
{
	int			ncols;
	int			nrows;
	double		x0;				/* smallest x of the points */
	double		y0;				/* smallest y */
	double		invw;			/* columns per unit of x (0: one column) */
	double		invh;			/* rows per unit of y (0: one row) */
	double	   *ex;				/* ncols + 1 edges: column k holds ex[k] <= x <= ex[k + 1] */
	double	   *ey;				/* nrows + 1 edges, likewise */
	size_t	   *start;			/* bucket b = row * ncols + col: points [start[b], start[b + 1]) */
	nn_xy	   *pt;				/* the points, in bucket order */
	size_t	   *idx;			/* their input indices */
};

/*
 * nn_slot returns the column (row) of coordinate v among nslots with edges
 * edge[0..nslots]: one with edge[k] <= v <= edge[k + 1], or the first or
 * last one when v lies outside.  The arithmetic guess (origin v0, slots per
 * unit inv) is corrected against the edges, so that the invariant holds
 * exactly.
 */
static inline int
nn_slot(const double *edge, int nslots, double v0, double inv, double v)
{
	double		t = floor((v - v0) * inv);
	int			k;

	if (!(t > 0))
		k = 0;
	else if (t >= nslots - 1)
		k = nslots - 1;
	else
		k = (int) t;
	while (k > 0 && v < edge[k])
		k--;
	while (k < nslots - 1 && v > edge[k + 1])
		k++;
	return k;
}

/*
 * nn_gap returns the rounded gap between v and slot k's range
 * [edge[k], edge[k + 1]] (0 inside): a lower bound of |coordinate - v| for
 * its points, as computed.
 */
static inline double
nn_gap(const double *edge, int k, double v)
{
	if (v < edge[k])
		return edge[k] - v;
	if (v > edge[k + 1])
		return v - edge[k + 1];
	return 0.0;
}

/*
 * nn_edges fills edge[0..nslots] for the range [lo, hi]: equal steps,
 * never above hi, the last one hi; non-decreasing since rounding is
 * monotonic.
 */
static void
nn_edges(double *edge, int nslots, double lo, double hi)
{
	double		step = (hi - lo) / nslots;

	for (int k = 0; k < nslots; k++)
		edge[k] = fmin(lo + k * step, hi);
	edge[nslots] = hi;
}

/*
 * buckets_free releases a bucket grid; NULL is fine.
 */
void
buckets_free(buckets *b)
{
	if (b == NULL)
		return;
	free(b->ex);
	free(b->ey);
	free(b->start);
	free(b->pt);
	free(b->idx);
	free(b);
}

/*
 * nn_build sorts the n (> 0) points into the buckets of b (zeroed, freed
 * by the caller whatever happens).  Returns INTERP_OK,
 * INTERP_NOMEM, or INTERP_TOO_LARGE when the grid does not suit the input
 * (the caller then uses the k-d tree): a coordinate or the extent is not
 * finite, or, unless search forces the grid, the points lie on a line
 * along an axis, crowd into few buckets or leave many empty.
 */
static interp_status
nn_build(const interp_points *p, interp_search search, buckets *b)
{
	size_t		n = p->n;
	double		xmin = INFINITY,
				xmax = -INFINITY,
				ymin = INFINITY,
				ymax = -INFINITY,
				wx,
				wy,
				nb,
				occ = 0.0,
				empty = 0.0;
	size_t		nbuckets;
	uint32_t   *where;
	size_t	   *fill;

	for (size_t i = 0; i < n; i++)
	{
		double		x = p->x[i];
		double		y = p->y[i];

		/* written so that NaN fails */
		if (!(x >= -DBL_MAX && x <= DBL_MAX && y >= -DBL_MAX && y <= DBL_MAX))
			return INTERP_TOO_LARGE;
		xmin = fmin(xmin, x);
		xmax = fmax(xmax, x);
		ymin = fmin(ymin, y);
		ymax = fmax(ymax, y);
	}
	wx = xmax - xmin;
	wy = ymax - ymin;
	if (!(isfinite(wx) && isfinite(wy)))
		return INTERP_TOO_LARGE;

	/* about NN_PER_BUCKET points a bucket, buckets about square */
	nb = fmin(fmax(floor((double) n / NN_PER_BUCKET), 1.0), 16777216.0);
	if (wx > 0 && wy > 0)
	{
		b->ncols = (int) fmin(fmax(floor(sqrt(nb * (wx / wy)) + 0.5), 1.0), nb);
		b->nrows = (int) fmin(fmax(floor(nb / b->ncols), 1.0), nb);
	}
	else
	{
		b->ncols = wx > 0 ? (int) nb : 1;
		b->nrows = wy > 0 ? (int) nb : 1;
	}
	b->x0 = xmin;
	b->y0 = ymin;
	b->invw = b->ncols / wx;
	b->invh = b->nrows / wy;
	if (!isfinite(b->invw))
	{
		b->ncols = 1;
		b->invw = 0.0;
	}
	if (!isfinite(b->invh))
	{
		b->nrows = 1;
		b->invh = 0.0;
	}
	nbuckets = (size_t) b->ncols * (size_t) b->nrows;

	/*
	 * Points on a line along an axis make one row (column) of sliver
	 * buckets, which a search off the line crosses by the dozen: the tree
	 * does better there.
	 */
	if (search == INTERP_SEARCH_AUTO && nbuckets > 16 && (b->ncols == 1 || b->nrows == 1))
		return INTERP_TOO_LARGE;

	b->ex = malloc(((size_t) b->ncols + 1) * sizeof(double));
	b->ey = malloc(((size_t) b->nrows + 1) * sizeof(double));
	b->start = calloc(nbuckets + 1, sizeof(size_t));
	b->pt = malloc(n * sizeof(nn_xy));
	b->idx = malloc(n * sizeof(size_t));
	where = malloc(n * sizeof(uint32_t));
	fill = malloc(nbuckets * sizeof(size_t));
	if (b->ex == NULL || b->ey == NULL || b->start == NULL || b->pt == NULL ||
		b->idx == NULL || where == NULL || fill == NULL)
	{
		free(where);
		free(fill);
		return INTERP_NOMEM;
	}
	nn_edges(b->ex, b->ncols, xmin, xmax);
	nn_edges(b->ey, b->nrows, ymin, ymax);

	/* counting sort by bucket, stable */
	for (size_t i = 0; i < n; i++)
	{
		int			col = nn_slot(b->ex, b->ncols, b->x0, b->invw, p->x[i]);
		int			row = nn_slot(b->ey, b->nrows, b->y0, b->invh, p->y[i]);
		uint32_t	w = (uint32_t) row * (uint32_t) b->ncols + (uint32_t) col;

		where[i] = w;
		b->start[w + 1]++;
	}
	for (size_t k = 0; k < nbuckets; k++)
	{
		occ += (double) b->start[k + 1] * (double) b->start[k + 1];
		empty += b->start[k + 1] == 0;
	}
	if (search == INTERP_SEARCH_AUTO &&
		(occ > NN_MAX_OCCUPANCY * (double) n || empty > NN_MAX_EMPTY * (double) nbuckets))
	{
		free(where);
		free(fill);
		return INTERP_TOO_LARGE;
	}
	for (size_t k = 0; k < nbuckets; k++)
	{
		b->start[k + 1] += b->start[k];
		fill[k] = b->start[k];
	}
	for (size_t i = 0; i < n; i++)
	{
		size_t		s = fill[where[i]]++;

		b->pt[s].x = p->x[i];
		b->pt[s].y = p->y[i];
		b->idx[s] = i;
	}
	free(where);
	free(fill);
	return INTERP_OK;
}

/*
 * buckets_try builds the bucket grid for searches over grid g, unless
 * search says the tree, or a cell centre is not finite (the searches
 * compute in the grid's coordinates), or nn_build declines.  Returns
 * INTERP_OK (*out built), INTERP_NOMEM, or INTERP_TOO_LARGE (use the k-d
 * tree).
 */
interp_status
buckets_try(const interp_points *p, const interp_grid *g, interp_search search, buckets **out)
{
	/* the extreme cell centres: finite ones make every one finite */
	double		cx0 = g->ulx + 0.5 * g->sx;
	double		cx1 = g->ulx + (g->width - 0.5) * g->sx;
	double		cy0 = g->uly + 0.5 * g->sy;
	double		cy1 = g->uly + (g->height - 0.5) * g->sy;
	buckets    *b;
	interp_status st;

	*out = NULL;
	if (search == INTERP_SEARCH_TREE || p->n == 0 || p->n > UINT32_MAX ||
		!(isfinite(cx0) && isfinite(cx1) && isfinite(cy0) && isfinite(cy1)))
		return INTERP_TOO_LARGE;
	b = calloc(1, sizeof(buckets));
	if (b == NULL)
		return INTERP_NOMEM;
	st = nn_build(p, search, b);
	if (st == INTERP_OK)
		*out = b;
	else
		buckets_free(b);
	return st;
}

/*
 * buckets_nrows returns the number of bucket rows.
 */
int
buckets_nrows(const buckets *b)
{
	return b->nrows;
}

/*
 * buckets_row starts a row of queries at cy: cur->dy2[j] gets the squared
 * gap between cy and bucket row j, for every row, and cur->row the row of
 * cy (one with ey[j] <= cy <= ey[j + 1], or the first or last).
 */
void
buckets_row(const buckets *b, double cy, buckets_cursor *cur)
{
	for (int j = 0; j < b->nrows; j++)
	{
		double		t = nn_gap(b->ey, j, cy);

		cur->dy2[j] = t * t;
	}
	cur->row = nn_slot(b->ey, b->nrows, b->y0, b->invh, cy);
	cur->col = 0;
	cur->first = true;
}

/*
 * nn_next_col moves cur->col to the column of cx (one with ex[col] <= cx
 * <= ex[col + 1], or the first or last), starting from the previous
 * query's (by arithmetic for a row's first), and returns the squared gap
 * between cx and that column (0 unless cx lies outside the points' box).
 */
static inline double
nn_next_col(const buckets *b, double cx, buckets_cursor *cur)
{
	int			k = cur->first ? nn_slot(b->ex, b->ncols, b->x0, b->invw, cx) : cur->col;
	double		t;

	while (k > 0 && cx < b->ex[k])
		k--;
	while (k < b->ncols - 1 && cx > b->ex[k + 1])
		k++;
	cur->col = k;
	cur->first = false;
	t = nn_gap(b->ex, k, cx);
	return t * t;
}

/* The best candidate of a nearest search. */
typedef struct nn_best
{
	double		d;				/* its squared distance; starts at radius^2 */
	size_t		i;				/* its input index; SIZE_MAX: none yet */
	size_t		s;				/* its position in bucket order */
} nn_best;

/*
 * nn_scan_run offers the points at bucket-order positions [s0, s1) to the
 * best candidate (bd, bi, bs) for the query (qx, qy).
 */
static inline void
nn_scan_run(const buckets *b, size_t s0, size_t s1, double qx, double qy,
			double *bd, size_t *bi, size_t *bs)
{
	const nn_xy *pt = b->pt;
	double		d0 = *bd;
	size_t		i0 = *bi;
	size_t		p0 = *bs;

	for (size_t s = s0; s < s1; s++)
	{
		double		dx = pt[s].x - qx;
		double		dy = pt[s].y - qy;
		double		d = dx * dx + dy * dy;

		if (d <= d0 && (d < d0 || i0 == SIZE_MAX || b->idx[s] > i0))
		{
			d0 = d;
			i0 = b->idx[s];
			p0 = s;
		}
	}
	*bd = d0;
	*bi = i0;
	*bs = p0;
}

/*
 * nn_columns widens [*k0, *k1] to the columns of bucket row j whose
 * buckets may hold a point within bd of the query (qx), given dy2, the
 * squared gap to the row.  The columns left of kq hold x <= ex[k0] <= qx;
 * right of it, x >= ex[k1 + 1] >= qx.
 */
static inline void
nn_columns(const buckets *b, double dy2, double qx, double bd, int *k0, int *k1)
{
	const double *ex = b->ex;
	int			lo = *k0;
	int			hi = *k1;

	while (lo > 0)
	{
		double		t = qx - ex[lo];

		if (t * t + dy2 > bd)
			break;
		lo--;
	}
	while (hi < b->ncols - 1)
	{
		double		t = ex[hi + 1] - qx;

		if (t * t + dy2 > bd)
			break;
		hi++;
	}
	*k0 = lo;
	*k1 = hi;
}

/*
 * nn_scan_row searches bucket row j for the query (qx, qy) whose column is
 * kq, given dxq2, the squared gap to column kq, and dy2, the squared gap
 * to row j.  Usually the bound allows a few columns, scanned as one run;
 * when it allows many (a far query, a poor head start), column kq goes
 * first and the bound it leaves decides the others.  Returns false when
 * no bucket of the row can hold a point within the best distance, and
 * then neither can a row further away.
 */
static inline bool
nn_scan_row(const buckets *b, int j, int kq, double dxq2, double dy2,
			double qx, double qy, nn_best *best)
{
	const size_t *st = b->start + (size_t) j * (size_t) b->ncols;
	double		bd = best->d;
	size_t		bi = best->i;
	size_t		bs = best->s;
	int			k0 = kq;
	int			k1 = kq;

	if (dxq2 + dy2 > bd)
		return false;
	nn_columns(b, dy2, qx, bd, &k0, &k1);
	if (k1 - k0 <= 4)
		nn_scan_run(b, st[k0], st[k1 + 1], qx, qy, &bd, &bi, &bs);
	else
	{
		double		before = bd;

		nn_scan_run(b, st[kq], st[kq + 1], qx, qy, &bd, &bi, &bs);
		if (bd < before)
		{
			k0 = kq;
			k1 = kq;
			nn_columns(b, dy2, qx, bd, &k0, &k1);
		}
		nn_scan_run(b, st[k0], st[kq], qx, qy, &bd, &bi, &bs);
		nn_scan_run(b, st[kq + 1], st[k1 + 1], qx, qy, &bd, &bi, &bs);
	}
	best->d = bd;
	best->i = bi;
	best->s = bs;
	return true;
}

/*
 * buckets_nearest returns the nearest point to (qx, qy) within r2,
 * starting from the point at bucket-order position *pos (see buckets.h):
 * its distance bounds the search to a few buckets, and since the search
 * then looks at every point that could beat or tie it, the answer does
 * not depend on where it started.  Rows go outward from the query's until
 * one is out of reach.
 */
size_t
buckets_nearest(const buckets *b, buckets_cursor *cur, double qx, double qy, double r2, size_t *pos)
{
	double		dxq2 = nn_next_col(b, qx, cur);
	int			jq = cur->row;
	int			kq = cur->col;
	const double *dy2 = cur->dy2;
	nn_best		best;

	best.d = r2;
	best.i = SIZE_MAX;
	best.s = 0;
	{
		double		dx = b->pt[*pos].x - qx;
		double		dy = b->pt[*pos].y - qy;
		double		d = dx * dx + dy * dy;

		if (d <= best.d)
		{
			best.d = d;
			best.i = b->idx[*pos];
			best.s = *pos;
		}
	}
	for (int j = jq; j < b->nrows; j++)
		if (!nn_scan_row(b, j, kq, dxq2, dy2[j], qx, qy, &best))
			break;
	for (int j = jq - 1; j >= 0; j--)
		if (!nn_scan_row(b, j, kq, dxq2, dy2[j], qx, qy, &best))
			break;
	if (best.i != SIZE_MAX)
		*pos = best.s;
	return best.i;
}

/*
 * buckets_nearest_k writes to idx/d2 the (at most) k nearest points to
 * (qx, qy) with d^2 <= lim, nearest first, ties by lower index: the same
 * list as kdtree_nearest_k_bound with r2 = lim.  Rows go outward from the
 * query's until one is out of reach, each over the columns within reach of
 * the k-th candidate so far (or lim until there are k).
 */
size_t
buckets_nearest_k(const buckets *b, buckets_cursor *cur, double qx, double qy,
				  size_t k, double lim, size_t *idx, double *d2)
{
	double		dxq2 = nn_next_col(b, qx, cur);
	int			jq = cur->row;
	int			kq = cur->col;
	const double *dy2 = cur->dy2;
	knn_list	l;

	knn_init(&l, k, lim, idx, d2);
	for (int dir = 1; dir >= -1; dir -= 2)
	{
		for (int j = dir > 0 ? jq : jq - 1; j >= 0 && j < b->nrows; j += dir)
		{
			const size_t *st = b->start + (size_t) j * (size_t) b->ncols;
			int			k0 = kq;
			int			k1 = kq;
			size_t		end;

			if (dxq2 + dy2[j] > l.worst)
				break;
			nn_columns(b, dy2[j], qx, l.worst, &k0, &k1);
			end = st[k1 + 1];
			for (size_t s = st[k0]; s < end; s++)
			{
				double		dx = b->pt[s].x - qx;
				double		dy = b->pt[s].y - qy;

				knn_add(&l, b->idx[s], dx * dx + dy * dy);
			}
		}
	}
	return knn_finish(&l);
}
