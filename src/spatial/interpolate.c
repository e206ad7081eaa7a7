/*
 * interpolate.c
 *	  Kernel: interpolation of scattered points onto a regular grid for
 *	  mlops.interpolate_raster (see interpolate.h for the contract).
 *
 *	  It holds a 2-D k-d tree (median splits over an index array, iterative
 *	  k-nearest search with a bounded max-heap) and three gridders that
 *	  follow GDAL's gdal_grid (alg/gdalgrid.cpp), which PostGIS's
 *	  ST_InterpolateRaster calls:
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
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/interpolate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Ranges of at most this many points are leaves (scanned, not split). */
#define KD_LEAF		8

/* Deep enough for any size_t n: depth <= log2(n) + 1 <= 65, two entries per level. */
#define KD_STACK	160

/* GDAL's "close to the grid node" threshold on d^2 + smoothing^2. */
#define GDAL_SNAP_R2	0.0000000000001

/* Independent partial sums in the invdist inner loop. */
#define IDW_LANES	4

struct kdtree
{
	size_t		n;
	double	   *x;				/* copies, in the caller's point order */
	double	   *y;
	size_t	   *perm;			/* point indices, arranged as the tree */
	uint8_t    *dim;			/* dim[m]: split axis of the node whose median is perm[m] */
};

/*
 * kd_coord returns coordinate dim (0: x, 1: y) of point i.
 */
static inline double
kd_coord(const kdtree *t, size_t i, int dim)
{
	return dim == 0 ? t->x[i] : t->y[i];
}

/*
 * kd_select rearranges perm[lo, hi) so that perm[nth] holds the point whose
 * coordinate dim is the nth smallest, with no greater one before it and no
 * smaller one after it (quickselect with Hoare partitioning, which stays
 * balanced on equal keys).
 */
static void
kd_select(kdtree *t, size_t lo, size_t hi, size_t nth, int dim)
{
	size_t	   *perm = t->perm;

	while (hi - lo > 1)
	{
		double		a = kd_coord(t, perm[lo], dim);
		double		b = kd_coord(t, perm[lo + (hi - lo) / 2], dim);
		double		c = kd_coord(t, perm[hi - 1], dim);
		double		pv;
		size_t		i = lo;
		size_t		j = hi - 1;

		/* median of three */
		if ((a <= b && b <= c) || (c <= b && b <= a))
			pv = b;
		else if ((b <= a && a <= c) || (c <= a && a <= b))
			pv = a;
		else
			pv = c;

		/* i and j stay inside [lo, hi): pv is one of the keys */
		for (;;)
		{
			while (kd_coord(t, perm[i], dim) < pv)
				i++;
			while (kd_coord(t, perm[j], dim) > pv)
				j--;
			if (i >= j)
				break;
			{
				size_t		tmp = perm[i];

				perm[i] = perm[j];
				perm[j] = tmp;
			}
			i++;
			j--;
		}

		/*
		 * Now keys in [lo, j] are <= pv and keys in [j + 1, hi) are >= pv
		 * (with i >= j; when i == j the element at i equals pv).
		 */
		if (i == j)
		{
			if (nth == i)
				return;
			if (nth < i)
				hi = i;
			else
				lo = i + 1;
		}
		else if (nth <= j)
			hi = j + 1;
		else
			lo = j + 1;
	}
}

/*
 * kd_build_range splits perm[lo, hi) at its median along the axis of wider
 * spread, then the two halves; ranges of KD_LEAF points or fewer are left
 * as they are.  Recursion depth is about log2(n).
 */
static void
kd_build_range(kdtree *t, size_t lo, size_t hi)
{
	while (hi - lo > KD_LEAF)
	{
		double		minx = INFINITY,
					maxx = -INFINITY,
					miny = INFINITY,
					maxy = -INFINITY;
		size_t		m = lo + (hi - lo) / 2;
		int			dim;

		for (size_t k = lo; k < hi; k++)
		{
			size_t		i = t->perm[k];

			if (t->x[i] < minx)
				minx = t->x[i];
			if (t->x[i] > maxx)
				maxx = t->x[i];
			if (t->y[i] < miny)
				miny = t->y[i];
			if (t->y[i] > maxy)
				maxy = t->y[i];
		}
		dim = (maxy - miny > maxx - minx) ? 1 : 0;
		kd_select(t, lo, hi, m, dim);
		t->dim[m] = (uint8_t) dim;

		/* recurse into the smaller half, loop on the larger */
		if (m - lo < hi - (m + 1))
		{
			kd_build_range(t, lo, m);
			lo = m + 1;
		}
		else
		{
			kd_build_range(t, m + 1, hi);
			hi = m;
		}
	}
}

/*
 * kdtree_build copies the n points and builds the tree over them; NULL when
 * out of memory.  n may be 0.
 */
kdtree *
kdtree_build(const double *x, const double *y, size_t n)
{
	kdtree	   *t = calloc(1, sizeof(kdtree));
	size_t		alloc = n > 0 ? n : 1;

	if (t == NULL)
		return NULL;
	t->n = n;
	t->x = malloc(alloc * sizeof(double));
	t->y = malloc(alloc * sizeof(double));
	t->perm = malloc(alloc * sizeof(size_t));
	t->dim = calloc(alloc, sizeof(uint8_t));
	if (t->x == NULL || t->y == NULL || t->perm == NULL || t->dim == NULL)
	{
		kdtree_free(t);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
	{
		t->x[i] = x[i];
		t->y[i] = y[i];
		t->perm[i] = i;
	}
	kd_build_range(t, 0, n);
	return t;
}

/*
 * kdtree_free releases a tree from kdtree_build; NULL is fine.
 */
void
kdtree_free(kdtree *t)
{
	if (t == NULL)
		return;
	free(t->x);
	free(t->y);
	free(t->perm);
	free(t->dim);
	free(t);
}

/*
 * kd_before is the candidate order: by squared distance, then by index.
 */
static inline bool
kd_before(double da, size_t ia, double db, size_t ib)
{
	return da < db || (da == db && ia < ib);
}

/*
 * kd_sift_down restores the max-heap (idx, d2)[0, len) from position pos.
 */
static void
kd_sift_down(size_t *idx, double *d2, size_t len, size_t pos)
{
	for (;;)
	{
		size_t		l = 2 * pos + 1;
		size_t		r = l + 1;
		size_t		big = pos;

		if (l < len && kd_before(d2[big], idx[big], d2[l], idx[l]))
			big = l;
		if (r < len && kd_before(d2[big], idx[big], d2[r], idx[r]))
			big = r;
		if (big == pos)
			return;
		{
			size_t		ti = idx[pos];
			double		td = d2[pos];

			idx[pos] = idx[big];
			d2[pos] = d2[big];
			idx[big] = ti;
			d2[big] = td;
		}
		pos = big;
	}
}

/*
 * kd_offer considers point i at squared distance d for the bounded
 * max-heap of at most k candidates held in idx/d2; *len is its size.
 */
static inline void
kd_offer(size_t *idx, double *d2, size_t *len, size_t k, size_t i, double d)
{
	if (*len < k)
	{
		/* sift up */
		size_t		pos = (*len)++;

		while (pos > 0)
		{
			size_t		parent = (pos - 1) / 2;

			if (!kd_before(d2[parent], idx[parent], d, i))
				break;
			idx[pos] = idx[parent];
			d2[pos] = d2[parent];
			pos = parent;
		}
		idx[pos] = i;
		d2[pos] = d;
	}
	else if (kd_before(d, i, d2[0], idx[0]))
	{
		idx[0] = i;
		d2[0] = d;
		kd_sift_down(idx, d2, *len, 0);
	}
}

/*
 * kdtree_nearest_k writes the (at most) k nearest points to (qx, qy) with
 * squared distance <= radius^2 (radius 0: unlimited) to idx/d2, nearest
 * first, ties by lower index; returns how many.  Iterative: an explicit
 * stack of ranges, each with a lower bound of its squared distance (from
 * the splitting planes), pruned against the current k-th candidate.
 */
size_t
kdtree_nearest_k(const kdtree *t, double qx, double qy, size_t k, double radius,
				 size_t *idx, double *d2)
{
	size_t		stack_lo[KD_STACK];
	size_t		stack_hi[KD_STACK];
	double		stack_bound[KD_STACK];
	int			sp = 0;
	size_t		len = 0;
	double		r2 = radius > 0 ? radius * radius : INFINITY;

	if (t == NULL || t->n == 0 || k == 0)
		return 0;

	stack_lo[0] = 0;
	stack_hi[0] = t->n;
	stack_bound[0] = 0.0;
	sp = 1;
	while (sp > 0)
	{
		size_t		lo,
					hi,
					m;
		double		bound,
					worst,
					diff,
					plane2;
		int			dim;

		sp--;
		lo = stack_lo[sp];
		hi = stack_hi[sp];
		bound = stack_bound[sp];
		worst = len == k ? d2[0] : r2;
		if (bound > worst)
			continue;

		if (hi - lo <= KD_LEAF)
		{
			for (size_t p = lo; p < hi; p++)
			{
				size_t		i = t->perm[p];
				double		dx = t->x[i] - qx;
				double		dy = t->y[i] - qy;
				double		d = dx * dx + dy * dy;

				if (d <= r2)
					kd_offer(idx, d2, &len, k, i, d);
			}
			continue;
		}

		m = lo + (hi - lo) / 2;
		dim = t->dim[m];
		{
			size_t		i = t->perm[m];
			double		dx = t->x[i] - qx;
			double		dy = t->y[i] - qy;
			double		d = dx * dx + dy * dy;

			if (d <= r2)
				kd_offer(idx, d2, &len, k, i, d);
			diff = kd_coord(t, i, dim) - (dim == 0 ? qx : qy);
		}
		plane2 = diff * diff;
		if (plane2 < bound)
			plane2 = bound;

		/* push the far side first so the near side is searched first */
		if (diff > 0)
		{
			/* the query lies below the split: near side is [lo, m) */
			stack_lo[sp] = m + 1;
			stack_hi[sp] = hi;
			stack_bound[sp] = plane2;
			sp++;
			stack_lo[sp] = lo;
			stack_hi[sp] = m;
			stack_bound[sp] = bound;
			sp++;
		}
		else
		{
			stack_lo[sp] = lo;
			stack_hi[sp] = m;
			stack_bound[sp] = plane2;
			sp++;
			stack_lo[sp] = m + 1;
			stack_hi[sp] = hi;
			stack_bound[sp] = bound;
			sp++;
		}
	}

	/* heap sort: repeatedly move the largest to the end */
	for (size_t end = len; end > 1; end--)
	{
		size_t		ti = idx[0];
		double		td = d2[0];

		idx[0] = idx[end - 1];
		d2[0] = d2[end - 1];
		idx[end - 1] = ti;
		d2[end - 1] = td;
		kd_sift_down(idx, d2, end - 1, 0);
	}
	return len;
}

/*
 * fill_nodata sets all cells of the grid to nodata.
 */
static void
fill_nodata(const interp_grid *g, double nodata, double *out)
{
	size_t		cells = (size_t) g->width * (size_t) g->height;

	for (size_t c = 0; c < cells; c++)
		out[c] = nodata;
}

/*
 * idw_cell_sums accumulates, for one cell, the weighted sums over all n
 * points: w = 1 / r2^(power/2) with r2 = (px - cx)^2 + rowdy2 where rowdy2
 * already holds (py - cy)^2 + smoothing^2.  No branch in the loop: the
 * caller handles points close to the node.  Common powers avoid pow() so
 * the loop can vectorise.
 */
static void
idw_cell_sums(const double *restrict px, const double *restrict rowdy2,
			  const double *restrict pv, size_t n, double cx, double power,
			  double *num_out, double *den_out)
{
	double		num[IDW_LANES] = {0};
	double		den[IDW_LANES] = {0};
	size_t		nblock = n - n % IDW_LANES;
	double		half = power / 2.0;

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

	if (power == 2.0)
		IDW_LOOP(1.0 / r2);
	else if (power == 1.0)
		IDW_LOOP(1.0 / sqrt(r2));
	else if (power == 3.0)
		IDW_LOOP(1.0 / (r2 * sqrt(r2)));
	else if (power == 4.0)
		IDW_LOOP(1.0 / (r2 * r2));
	else
		IDW_LOOP(1.0 / pow(r2, half));
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
 * idw_all is GDAL "invdist" with no search ellipse: every point weighs in.
 * O(cells * points), the inner loop in idw_cell_sums.
 */
static bool
idw_all(const interp_points *p, const interp_grid *g, const idw_options *o, double *out)
{
	size_t		n = p->n;
	double		s2 = o->smoothing * o->smoothing;

	/* GDAL's power-2 path with smoothing > 0 never snaps to a point */
	bool		can_snap = !(o->power == 2.0 && s2 > 0);
	double	   *rowdy2 = malloc(n * sizeof(double));
	size_t	   *near = malloc(n * sizeof(size_t));

	if (rowdy2 == NULL || near == NULL)
	{
		free(rowdy2);
		free(near);
		return false;
	}

	for (int row = 0; row < g->height; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = out + (size_t) row * (size_t) g->width;
		size_t		nnear = 0;

		/*
		 * Only points with (py - cy)^2 + s^2 < GDAL_SNAP_R2 can be close to
		 * a node of this row; list them in input order (usually none).
		 */
		for (size_t i = 0; i < n; i++)
		{
			double		dy = p->y[i] - cy;

			rowdy2[i] = dy * dy + s2;
		}
		if (can_snap)
			for (size_t i = 0; i < n; i++)
				if (rowdy2[i] < GDAL_SNAP_R2)
					near[nnear++] = i;

		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;
			double		num,
						den;
			bool		snapped = false;

			/* the first point close to the node gives its value */
			for (size_t j = 0; j < nnear; j++)
			{
				size_t		i = near[j];
				double		dx = p->x[i] - cx;

				if (dx * dx + rowdy2[i] < GDAL_SNAP_R2)
				{
					orow[col] = p->v[i];
					snapped = true;
					break;
				}
			}
			if (snapped)
				continue;

			idw_cell_sums(p->x, rowdy2, p->v, n, cx, o->power, &num, &den);
			if (den == 0.0 || !isfinite(den))
			{
				/*
				 * GDAL: a zero denominator gives nodata.  An infinite one
				 * (power-2 path with a point at the node) cannot happen when
				 * smoothing > 0, but keep the output NaN-free.
				 */
				orow[col] = o->nodata;
			}
			else
				orow[col] = num / den;
		}
	}
	free(rowdy2);
	free(near);
	return true;
}

/*
 * idw_nn is GDAL "invdistnn": the points within radius (0: all), nearest
 * first, at most max_points of them (0: all), found with the k-d tree.
 */
static bool
idw_nn(const interp_points *p, const interp_grid *g, const idw_options *o, double *out)
{
	size_t		n = p->n;
	size_t		k = (o->max_points > 0 && (size_t) o->max_points < n) ? (size_t) o->max_points : n;
	size_t		min_points = o->min_points > 0 ? (size_t) o->min_points : 0;
	double		s2 = o->smoothing * o->smoothing;
	double		half = o->power / 2.0;
	kdtree	   *t = kdtree_build(p->x, p->y, n);
	size_t	   *idx = malloc(k * sizeof(size_t));
	double	   *d2 = malloc(k * sizeof(double));

	if (t == NULL || idx == NULL || d2 == NULL)
	{
		kdtree_free(t);
		free(idx);
		free(d2);
		return false;
	}

	for (int row = 0; row < g->height; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = out + (size_t) row * (size_t) g->width;

		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;
			size_t		m = kdtree_nearest_k(t, cx, cy, k, o->radius, idx, d2);
			double		num = 0.0;
			double		den = 0.0;

			/* nearest first: if any point is close to the node, this one is */
			if (m > 0 && d2[0] + s2 < GDAL_SNAP_R2)
			{
				orow[col] = p->v[idx[0]];
				continue;
			}
			for (size_t j = 0; j < m; j++)
			{
				double		w = 1.0 / pow(d2[j] + s2, half);

				num += w * p->v[idx[j]];
				den += w;
			}
			if (m < min_points || den == 0.0 || !isfinite(den))
				orow[col] = o->nodata;
			else
				orow[col] = num / den;
		}
	}
	kdtree_free(t);
	free(idx);
	free(d2);
	return true;
}

/*
 * interp_idw fills out with inverse distance to a power: GDAL "invdist"
 * when radius and max_points are both 0, else "invdistnn".  No points:
 * every cell is nodata (GDAL's zero denominator).  False only when out of
 * memory.
 */
bool
interp_idw(const interp_points *p, const interp_grid *g, const idw_options *o, double *out)
{
	if (g->width <= 0 || g->height <= 0)
		return true;
	if (p->n == 0)
	{
		fill_nodata(g, o->nodata, out);
		return true;
	}
	if (o->radius > 0 || o->max_points > 0)
		return idw_nn(p, g, o, out);
	return idw_all(p, g, o, out);
}

/*
 * interp_nearest fills out with GDAL "nearest": the value of the nearest
 * point with d^2 <= radius^2 (radius 0: unlimited), nodata when there is
 * none.  Equidistant points: the lowest index wins (GDAL keeps the last
 * one it visits, which depends on its quadtree).  False only when out of
 * memory.
 */
bool
interp_nearest(const interp_points *p, const interp_grid *g, const nearest_options *o, double *out)
{
	kdtree	   *t;

	if (g->width <= 0 || g->height <= 0)
		return true;
	if (p->n == 0)
	{
		fill_nodata(g, o->nodata, out);
		return true;
	}
	t = kdtree_build(p->x, p->y, p->n);
	if (t == NULL)
		return false;
	for (int row = 0; row < g->height; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = out + (size_t) row * (size_t) g->width;

		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;
			size_t		idx;
			double		d2;

			if (kdtree_nearest_k(t, cx, cy, 1, o->radius, &idx, &d2) == 1)
				orow[col] = p->v[idx];
			else
				orow[col] = o->nodata;
		}
	}
	kdtree_free(t);
	return true;
}
