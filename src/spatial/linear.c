/*
 * linear.c
 *	  Kernel: GDAL's "linear" gridder over the Delaunay triangulation
 *	  (delaunay.c), the "linear" method of mlops.interpolate_raster (see
 *	  delaunay.h for the contract).
 *
 *	  It follows GDAL 3.6's GDALGridLinear (alg/gdalgrid.cpp) over its
 *	  GDALTriangulation (alg/delaunay.c, built with qhull): the cell value is
 *	  l1 z1 + l2 z2 + l3 z3 with GDAL's barycentric formula; a cell whose
 *	  centre is on the hull boundary is inside, and, as GDAL accepts
 *	  barycentric coordinates down to -1e-10, so is a centre outside the
 *	  hull by that little.  Outside, GDALGridNearestNeighbor over GDAL's
 *	  quadtree: the nearest point in a search square (see linear_options),
 *	  found here with the k-d tree's rectangle search (kdtree.c).  Each row
 *	  walks from the triangle of the previous cell; a centre on an edge or a
 *	  vertex gets a value that does not depend on which triangle the walk
 *	  ended in, so the output is the same for any number of threads.
 *
 *	  Where this differs from gdal_grid 3.6 (checked against it):
 *	  - GDAL hands qhull the raw coordinates; with large ones (UTM, 4.6e6)
 *		qhull's rounding gives a triangulation that is not Delaunay, so GDAL's
 *		values differ there, while here they are those GDAL gives for the
 *		same points shifted near the origin.
 *	  - GDAL treats a triangle with 2 * area < 1e-5 (in squared coordinate
 *		units) as degenerate and gives nodata in it: most cells are nodata
 *		for points in degrees 0.001 apart.  Here every triangle counts.
 *	  - Cocircular points (grids) admit several Delaunay triangulations; qhull
 *		and this code may split a square by different diagonals, which
 *		changes values inside it unless the data are planar there.
 *	  - Two points at one spot: the later one here, inside the hull and out
 *		(outside, GDAL's nearest takes the later too); inside, GDAL keeps
 *		the copy qhull happened to make a vertex, which input order does
 *		not decide (delaunay.h).
 *	  - Distinct equidistant nearest points outside the hull: the higher
 *		index here, GDAL the last its quadtree returns.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/delaunay_private.h"
#include "spatial/kdtree.h"
#include "spatial/parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GDAL's tolerance on barycentric coordinates (GDALTriangulationFindFacetDirected). */
#define GDAL_BARY_EPS	1e-10

/*
 * A centre farther than this times the points' bounding-box diagonal from
 * the hull cannot be within GDAL_BARY_EPS of any triangle.
 */
#define NEAR_HULL_REL	1e-6

/* GDAL's barycentric coefficients of one triangle, with its values. */
typedef struct lin_plane
{
	uint32_t	t;				/* DT_NONE: nothing cached */
	bool		flat;			/* zero area in floating point */
	double		m1x,
				m1y,
				m2x,
				m2y,
				x3,
				y3,
				z1,
				z2,
				z3;
} lin_plane;

typedef struct lin_ctx
{
	const delaunay *d;
	const double *z;			/* values by internal id */
	const interp_points *p;
	const interp_grid *g;
	const linear_options *o;
	const kdtree *kd;			/* the points, for the nearest-point fallback */
	double		s0;				/* GDAL's first search square half-side */
	double	   *out;
	uint32_t   *hint;			/* per thread: where its next walk starts */
	double		near_hull;		/* NEAR_HULL_REL times the bounding-box diagonal */
} lin_ctx;

/*
 * lin_plane_set computes GDAL's coefficients of triangle t
 * (GDALTriangulationComputeBarycentricCoefficients, vertices 1, 2, 3 being
 * the triangle's 0, 1, 2).
 */
static void
lin_plane_set(const lin_ctx *c, uint32_t t, lin_plane *pl)
{
	const delaunay *d = c->d;
	uint32_t	i1 = d->tv[3 * t],
				i2 = d->tv[3 * t + 1],
				i3 = d->tv[3 * t + 2];
	double		x1 = d->x[i1],
				y1 = d->y[i1],
				x2 = d->x[i2],
				y2 = d->y[i2],
				x3 = d->x[i3],
				y3 = d->y[i3];
	double		den = (y2 - y3) * (x1 - x3) + (x3 - x2) * (y1 - y3);

	pl->t = t;
	pl->x3 = x3;
	pl->y3 = y3;
	pl->z1 = c->z[i1];
	pl->z2 = c->z[i2];
	pl->z3 = c->z[i3];
	pl->m1x = (y2 - y3) / den;
	pl->m1y = (x3 - x2) / den;
	pl->m2x = (y3 - y1) / den;
	pl->m2y = (x1 - x3) / den;
	pl->flat = !(den != 0.0 && isfinite(pl->m1x) && isfinite(pl->m1y) &&
				 isfinite(pl->m2x) && isfinite(pl->m2y));
}

/*
 * lin_edge_value interpolates along the edge a-b at the projection of q,
 * taking the endpoints in a fixed order so that both triangles of the edge
 * give the same bits.
 */
static double
lin_edge_value(const lin_ctx *c, uint32_t a, uint32_t b, double qx, double qy)
{
	const delaunay *d = c->d;
	double		ex,
				ey,
				len2,
				s;

	if (a > b)
	{
		uint32_t	t = a;

		a = b;
		b = t;
	}
	ex = d->x[b] - d->x[a];
	ey = d->y[b] - d->y[a];
	len2 = ex * ex + ey * ey;
	s = len2 > 0 ? ((qx - d->x[a]) * ex + (qy - d->y[a]) * ey) / len2 : 0.0;
	if (!(s > 0.0))
		s = 0.0;
	else if (s > 1.0)
		s = 1.0;
	return c->z[a] + s * (c->z[b] - c->z[a]);
}

/*
 * lin_flat_value is the value at q of a triangle too thin for its
 * barycentric coefficients: interpolation along its longest edge.
 */
static double
lin_flat_value(const lin_ctx *c, uint32_t t, double qx, double qy)
{
	const delaunay *d = c->d;
	int			best = 0;
	double		bestlen = -1.0;

	for (int i = 0; i < 3; i++)
	{
		uint32_t	a = d->tv[3 * t + (i + 1) % 3];
		uint32_t	b = d->tv[3 * t + (i + 2) % 3];
		double		ex = d->x[b] - d->x[a];
		double		ey = d->y[b] - d->y[a];
		double		len = ex * ex + ey * ey;

		if (len > bestlen)
		{
			bestlen = len;
			best = i;
		}
	}
	return lin_edge_value(c, d->tv[3 * t + (best + 1) % 3], d->tv[3 * t + (best + 2) % 3], qx, qy);
}

/*
 * lin_bary computes GDAL's barycentric coordinates of q in the cached
 * triangle.
 */
static inline void
lin_bary(const lin_plane *pl, double qx, double qy, double *l1, double *l2, double *l3)
{
	double		dx = qx - pl->x3;
	double		dy = qy - pl->y3;

	*l1 = pl->m1x * dx + pl->m1y * dy;
	*l2 = pl->m2x * dx + pl->m2y * dy;
	*l3 = 1.0 - *l1 - *l2;
}

/*
 * lin_inside_value is the value at q, inside the closure of the triangle
 * w->t: the vertex's value on a vertex, the edge's interpolation on an
 * edge, else GDAL's l1 z1 + l2 z2 + l3 z3.
 */
static double
lin_inside_value(const lin_ctx *c, const delaunay_where *w, lin_plane *pl, double qx, double qy)
{
	const uint32_t *v = &c->d->tv[3 * w->t];
	int			zeros = (w->sign[0] == 0) + (w->sign[1] == 0) + (w->sign[2] == 0);
	double		l1,
				l2,
				l3;

	if (zeros >= 2)
	{
		/* on the vertex shared by the two edges */
		for (int i = 0; i < 3; i++)
			if (w->sign[i] != 0)
				return c->z[v[i]];
	}
	if (zeros == 1)
	{
		for (int i = 0; i < 3; i++)
			if (w->sign[i] == 0)
				return lin_edge_value(c, v[(i + 1) % 3], v[(i + 2) % 3], qx, qy);
	}
	if (pl->t != w->t)
		lin_plane_set(c, w->t, pl);
	if (pl->flat)
		return lin_flat_value(c, w->t, qx, qy);
	lin_bary(pl, qx, qy, &l1, &l2, &l3);
	return l1 * pl->z1 + l2 * pl->z2 + l3 * pl->z3;
}

/*
 * lin_near_hull handles q just outside the hull, as GDAL does: if the
 * triangle of a hull edge that q is outside of has GDAL barycentric
 * coordinates of q all in [-1e-10, 1 + 1e-10], q gets their interpolation.
 * Every such hull edge is tried (they form a chain around the one the walk
 * left by), and the first in hull order that accepts wins, so the answer
 * does not depend on the walk.  False when none accepts.
 */
static bool
lin_near_hull(const lin_ctx *c, uint32_t k, double qx, double qy, double *value)
{
	const delaunay *d = c->d;
	uint32_t	nh = d->nhull;
	uint32_t	lo = k,
				len = 1;
	bool		found = false;
	uint32_t	bestk = 0;
	double		bestv = 0.0;

	/* the chain of hull edges q is strictly outside of: [lo, lo + len) */
	while (len < nh)
	{
		uint32_t	prev = (lo + nh - 1) % nh;

		if (delaunay_orient_edge(d, d->hull[prev] / 3, (int) (d->hull[prev] % 3), qx, qy) >= 0)
			break;
		lo = prev;
		len++;
	}
	while (len < nh)
	{
		uint32_t	next = (lo + len) % nh;

		if (delaunay_orient_edge(d, d->hull[next] / 3, (int) (d->hull[next] % 3), qx, qy) >= 0)
			break;
		len++;
	}
	for (uint32_t j = 0; j < len; j++)
	{
		uint32_t	kk = (lo + j) % nh;
		lin_plane	pl;
		double		l1,
					l2,
					l3;

		lin_plane_set(c, d->hull[kk] / 3, &pl);
		if (pl.flat)
			continue;
		lin_bary(&pl, qx, qy, &l1, &l2, &l3);
		if (l1 < -GDAL_BARY_EPS || l1 > 1 + GDAL_BARY_EPS ||
			l2 < -GDAL_BARY_EPS || l2 > 1 + GDAL_BARY_EPS ||
			l3 < -GDAL_BARY_EPS || l3 > 1 + GDAL_BARY_EPS)
			continue;
		if (!found || kk < bestk)
		{
			found = true;
			bestk = kk;
			bestv = l1 * pl.z1 + l2 * pl.z2 + l3 * pl.z3;
		}
	}
	if (found)
		*value = bestv;
	return found;
}

/*
 * lin_outside_value is the value of a cell outside the hull, as GDAL's
 * GDALGridNearestNeighbor over its quadtree gives it: radius 0: nodata;
 * radius > 0: the nearest point in the square of half-side radius centred
 * on the cell, else nodata (so a point up to radius sqrt(2) away may
 * count); radius < 0: the nearest point in the first non-empty square of
 * half-side s0, 2 s0, 4 s0, ... with s0 = sqrt(area of the points' box /
 * n), which is not always the nearest point.  With P the nearest point,
 * at distance d: a square of half-side below d / sqrt(2) is empty and one
 * of half-side d or more answers P, so one square search at most.
 */
static double
lin_outside_value(const lin_ctx *c, long *pos, double qx, double qy)
{
	double		radius = c->o->radius;
	double		s;
	double		box[4];
	double		dsq;
	long		best;

	if (radius == 0.0 || c->kd == NULL)
		return c->o->nodata;
	if (radius > 0.0)
		s = radius;
	else
	{
		long		near;

		box[0] = box[2] = -INFINITY;
		box[1] = box[3] = INFINITY;
		near = kdtree_nearest_in_rect(c->kd, qx, qy, box, pos, &dsq);
		if (near < 0)
			return c->o->nodata;
		s = c->s0;
		if (!(s > 0.0))
			return c->p->v[near];	/* no box (points on one axis-parallel line) */
		while (2.0 * s * s < dsq)
			s *= 2.0;
		if (s * s >= dsq)
			return c->p->v[near];
		/* else the square of half-side s may hold a point; if not, 2 s > d answers P */
		box[0] = qx - s;
		box[1] = qx + s;
		box[2] = qy - s;
		box[3] = qy + s;
		best = kdtree_nearest_in_rect(c->kd, qx, qy, box, pos, &dsq);
		return c->p->v[best >= 0 ? best : near];
	}
	/* GDAL's search box, computed as GDAL does */
	box[0] = qx - s;
	box[1] = qx + s;
	box[2] = qy - s;
	box[3] = qy + s;
	best = kdtree_nearest_in_rect(c->kd, qx, qy, box, pos, &dsq);
	return best >= 0 ? c->p->v[best] : c->o->nodata;
}

/*
 * lin_cell returns the value of the cell centred at q; *t is the triangle
 * to walk from, and becomes the one the walk ended in.
 */
static double
lin_cell(const lin_ctx *c, uint32_t *t, long *pos, lin_plane *pl, double qx, double qy)
{
	const delaunay *d = c->d;
	delaunay_where	w;
	double		value;

	if (d->ntri == 0)
		return lin_outside_value(c, pos, qx, qy);

	/* far outside the points' box: no walk needed */
	if (qx < d->minx - c->near_hull || qx > d->maxx + c->near_hull ||
		qy < d->miny - c->near_hull || qy > d->maxy + c->near_hull)
		return lin_outside_value(c, pos, qx, qy);

	if (delaunay_walk(d, *t, qx, qy, &w))
	{
		*t = w.t;
		return lin_inside_value(c, &w, pl, qx, qy);
	}
	*t = w.t;

	/* how far outside the hull edge the walk left by */
	{
		uint32_t	a = d->tv[3 * w.t + (d->hull[w.hull] % 3 + 1) % 3];
		uint32_t	b = d->tv[3 * w.t + (d->hull[w.hull] % 3 + 2) % 3];
		double		ex = d->x[b] - d->x[a];
		double		ey = d->y[b] - d->y[a];
		double		cross = ex * (qy - d->y[a]) - ey * (qx - d->x[a]);
		double		len = sqrt(ex * ex + ey * ey);

		if (-cross <= c->near_hull * len &&
			lin_near_hull(c, w.hull, qx, qy, &value))
			return value;
	}
	return lin_outside_value(c, pos, qx, qy);
}

/*
 * lin_rows fills rows [row0, row1) (a par_rows work function).  Each row
 * walks from the cell before; the first cell of a row walks from the
 * first cell of the row above.
 */
static bool
lin_rows(void *arg, int tid, int row0, int row1)
{
	lin_ctx    *c = arg;
	const interp_grid *g = c->g;
	uint32_t	t = c->hint[tid];
	long		pos = -1;		/* the last nearest point found (tree position) */
	lin_plane	pl;

	pl.t = DT_NONE;
	for (int row = row0; row < row1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		double	   *orow = c->out + (size_t) row * (size_t) g->width;
		uint32_t	rowstart = t;

		for (int col = 0; col < g->width; col++)
		{
			double		cx = g->ulx + (col + 0.5) * g->sx;

			orow[col] = lin_cell(c, &t, &pos, &pl, cx, cy);
			if (col == 0)
				rowstart = t;
		}
		t = rowstart;
	}
	c->hint[tid] = t;
	return true;
}

/*
 * lin_fill_nodata sets rows [row0, row1) to nodata (a par_rows work
 * function, for a grid with no points).
 */
static bool
lin_fill_nodata(void *arg, int tid, int row0, int row1)
{
	lin_ctx    *c = arg;
	size_t		w = (size_t) c->g->width;

	(void) tid;
	for (size_t i = (size_t) row0 * w; i < (size_t) row1 * w; i++)
		c->out[i] = c->o->nodata;
	return true;
}

/*
 * interp_linear fills out with GDAL "linear" (see delaunay.h).
 */
interp_status
interp_linear(const interp_points *p, const interp_grid *g, const linear_options *o,
			  const interp_exec *exec, double *out)
{
	lin_ctx		c;
	delaunay   *d = NULL;
	double	   *z = NULL;
	kdtree	   *kd = NULL;
	uint32_t   *hint = NULL;
	interp_status st = INTERP_NOMEM;
	int			nthreads;
	bool		cancelled;

	if (g->width <= 0 || g->height <= 0)
		return INTERP_OK;
	if (p->n > DELAUNAY_MAX_POINTS)
		return INTERP_TOO_LARGE;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.g = g;
	c.o = o;
	c.out = out;
	if (p->n == 0)
		return par_rows(exec, g->height, 0, lin_fill_nodata, &c);

	d = delaunay_build_exec(p->x, p->y, p->n, exec, &cancelled);
	if (cancelled)
		return INTERP_CANCELLED;
	nthreads = par_threads(exec, g->height);
	hint = calloc((size_t) nthreads, sizeof(uint32_t));
	z = malloc((d != NULL && d->nv > 0 ? d->nv : 1) * sizeof(double));
	if (d == NULL || hint == NULL || z == NULL)
		goto done;
	for (uint32_t i = 0; i < d->nv; i++)
		z[i] = p->v[d->perm[i]];

	/* the nearest-point fallback */
	if (o->radius != 0.0 && d->nv > 0)
	{
		kd = kdtree_build_finite(p->x, p->y, p->n);
		if (kd == NULL)
			goto done;
		/* GDAL: sqrt(area of the points' box / number of points) */
		c.s0 = sqrt((d->maxx - d->minx) * (d->maxy - d->miny) / (double) p->n);
	}

	c.d = d;
	c.z = z;
	c.kd = kd;
	c.hint = hint;
	c.near_hull = d->nv > 0 ?
		NEAR_HULL_REL * hypot(d->maxx - d->minx, d->maxy - d->miny) : 0.0;
	st = par_rows(exec, g->height, 0, lin_rows, &c);

done:
	delaunay_free(d);
	kdtree_free(kd);
	free(z);
	free(hint);
	return st;
}
