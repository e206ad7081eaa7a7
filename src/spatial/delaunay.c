/*
 * delaunay.c
 *	  Kernel: Delaunay triangulation of scattered points (see delaunay.h
 *	  for the contract).
 *
 *	  Bowyer-Watson incremental insertion in Hilbert-curve order, with
 *	  "ghost" triangles (one per convex-hull edge, joined to a vertex at
 *	  infinity) so that points outside the current hull need no special
 *	  case, and a visibility walk from the last new triangle to find where
 *	  each point goes.  Every decision is taken by exact predicates
 *	  (predicates.c), so grids, collinear runs, cocircular points and
 *	  duplicates need no tolerance and cannot make overlapping triangles or
 *	  endless loops.  Cocircular points are left as the insertion order
 *	  made them (a circle's strict inside decides).  The finished
 *	  triangulation is walked to locate points (delaunay_walk), for
 *	  delaunay_locate and the linear gridder (linear.c).
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/delaunay_private.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The vertex at infinity of ghost triangles (builder only). */
#define DT_GHOST	UINT32_MAX

/* Bits per axis of the Hilbert key (sorting 2 * 24 = 48 bits, 16 a pass). */
#define HILBERT_ORDER	24

/* ---------------------------------------------------------------------
 * Hilbert-curve order
 * ---------------------------------------------------------------------
 */

/*
 * hilbert_key returns the distance along the Hilbert curve of order
 * HILBERT_ORDER of the cell (hx, hy).
 */
static uint64_t
hilbert_key(uint32_t hx, uint32_t hy)
{
	uint64_t	d = 0;
	uint32_t	side = (uint32_t) 1 << HILBERT_ORDER;

	for (uint32_t s = side >> 1; s > 0; s >>= 1)
	{
		uint32_t	rx = (hx & s) != 0;
		uint32_t	ry = (hy & s) != 0;

		d += (uint64_t) s * s * ((3 * rx) ^ ry);
		if (ry == 0)
		{
			if (rx == 1)
			{
				hx = side - 1 - hx;
				hy = side - 1 - hy;
			}
			{
				uint32_t	t = hx;

				hx = hy;
				hy = t;
			}
		}
	}
	return d;
}

/*
 * hilbert_sort writes to order the indices of the m points (x, y),
 * sorted by Hilbert key, ties in the order of src (LSD radix sort,
 * stable).  False when out of memory.
 */
static bool
hilbert_sort(const double *x, const double *y, const uint32_t *src, uint32_t m,
			 double minx, double maxx, double miny, double maxy, uint32_t *order)
{
	uint64_t   *key = malloc((size_t) m * sizeof(uint64_t));
	uint64_t   *key2 = malloc((size_t) m * sizeof(uint64_t));
	uint32_t   *tmp = malloc((size_t) m * sizeof(uint32_t));
	size_t	   *count = malloc(65536 * sizeof(size_t));
	double		side = (double) (((uint32_t) 1 << HILBERT_ORDER) - 1);
	double		span = fmax(maxx - minx, maxy - miny);
	double		scale = span > 0 ? side / span : 0.0;
	uint64_t   *kin = key,
			   *kout = key2;
	uint32_t   *oin = order,
			   *oout = tmp;

	if (key == NULL || key2 == NULL || tmp == NULL || count == NULL)
	{
		free(key);
		free(key2);
		free(tmp);
		free(count);
		return false;
	}
	for (uint32_t i = 0; i < m; i++)
	{
		uint32_t	s = src[i];
		double		fx = (x[s] - minx) * scale;
		double		fy = (y[s] - miny) * scale;
		uint32_t	hx = fx <= 0 ? 0 : (fx >= side ? (uint32_t) side : (uint32_t) fx);
		uint32_t	hy = fy <= 0 ? 0 : (fy >= side ? (uint32_t) side : (uint32_t) fy);

		key[i] = hilbert_key(hx, hy);
		order[i] = s;
	}
	for (int shift = 0; shift < 2 * HILBERT_ORDER; shift += 16)
	{
		size_t		sum = 0;

		memset(count, 0, 65536 * sizeof(size_t));
		for (uint32_t i = 0; i < m; i++)
			count[(kin[i] >> shift) & 0xFFFF]++;
		for (int b = 0; b < 65536; b++)
		{
			size_t		c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < m; i++)
		{
			size_t		pos = count[(kin[i] >> shift) & 0xFFFF]++;

			kout[pos] = kin[i];
			oout[pos] = oin[i];
		}
		{
			uint64_t   *kt = kin;
			uint32_t   *ot = oin;

			kin = kout;
			kout = kt;
			oin = oout;
			oout = ot;
		}
	}
	if (oin != order)
		memcpy(order, oin, (size_t) m * sizeof(uint32_t));
	free(key);
	free(key2);
	free(tmp);
	free(count);
	return true;
}

/* ---------------------------------------------------------------------
 * Bowyer-Watson construction
 *
 * Triangles are V[3t..3t+2] (counter-clockwise; a ghost triangle has
 * DT_GHOST in one slot, and its real edge, with the ghost on its left, is
 * the outside of a hull edge) and N[3t + i], the triangle across the edge
 * opposite V[3t + i].
 * ---------------------------------------------------------------------
 */

typedef struct dt_edge
{
	uint32_t	u;				/* edge u -> w of a cavity triangle */
	uint32_t	w;
	uint32_t	outer;			/* triangle across it, not in the cavity */
	uint32_t	outer_i;		/* the edge's slot in outer */
	uint32_t	inner;			/* the cavity triangle */
} dt_edge;

typedef struct dt_builder
{
	const double *x;
	const double *y;
	uint32_t	nv;
	uint32_t   *V;
	uint32_t   *N;
	uint32_t   *mark;			/* cavity stamps: stamp in, stamp + 1 tested out */
	uint32_t	stamp;
	uint32_t	ntri;
	uint32_t	cap;
	uint32_t   *cav;			/* cavity triangles */
	size_t		ncav;
	size_t		capcav;
	dt_edge    *bnd;			/* cavity boundary */
	size_t		nbnd;
	size_t		capbnd;
	uint32_t   *vslot;			/* vertex (ghost at nv) -> boundary edge leaving it */
	uint32_t	hint;			/* where the next walk starts */
	uint32_t	walks;			/* varies the first edge a walk tries */
} dt_builder;

/*
 * ghost_slot returns the slot of the ghost vertex in triangle t, or -1 for
 * a real triangle.
 */
static inline int
ghost_slot(const uint32_t *V, uint32_t t)
{
	if (V[3 * t] == DT_GHOST)
		return 0;
	if (V[3 * t + 1] == DT_GHOST)
		return 1;
	if (V[3 * t + 2] == DT_GHOST)
		return 2;
	return -1;
}

/*
 * strictly_between says whether q, collinear with a and b, lies strictly
 * between them.
 */
static inline bool
strictly_between(double ax, double ay, double bx, double by, double qx, double qy)
{
	if (ax != bx)
		return (ax < qx && qx < bx) || (bx < qx && qx < ax);
	return (ay < qy && qy < by) || (by < qy && qy < ay);
}

/*
 * dt_conflict says whether point q is in conflict with triangle t: strictly
 * inside the circumcircle of a real triangle; for a ghost, strictly outside
 * its hull edge or on the open edge.
 */
static bool
dt_conflict(const dt_builder *b, uint32_t t, double qx, double qy)
{
	const uint32_t *v = &b->V[3 * t];
	int			g = ghost_slot(b->V, t);

	if (g < 0)
		return delaunay_incircle(b->x[v[0]], b->y[v[0]], b->x[v[1]], b->y[v[1]],
								 b->x[v[2]], b->y[v[2]], qx, qy) > 0;
	{
		uint32_t	a = v[(g + 1) % 3];
		uint32_t	c = v[(g + 2) % 3];
		int			o = delaunay_orient2d(b->x[a], b->y[a], b->x[c], b->y[c], qx, qy);

		if (o != 0)
			return o > 0;
		return strictly_between(b->x[a], b->y[a], b->x[c], b->y[c], qx, qy);
	}
}

/*
 * dt_locate_scan finds by brute force a triangle in conflict with q whose
 * closure holds q, or a ghost in conflict (only if a walk ever failed to
 * end, which exact predicates should prevent).
 */
static uint32_t
dt_locate_scan(const dt_builder *b, double qx, double qy)
{
	for (uint32_t t = 0; t < b->ntri; t++)
	{
		const uint32_t *v = &b->V[3 * t];
		int			g = ghost_slot(b->V, t);

		if (g >= 0)
		{
			if (dt_conflict(b, t, qx, qy))
				return t;
			continue;
		}
		if (delaunay_orient2d(b->x[v[1]], b->y[v[1]], b->x[v[2]], b->y[v[2]], qx, qy) >= 0 &&
			delaunay_orient2d(b->x[v[2]], b->y[v[2]], b->x[v[0]], b->y[v[0]], qx, qy) >= 0 &&
			delaunay_orient2d(b->x[v[0]], b->y[v[0]], b->x[v[1]], b->y[v[1]], qx, qy) >= 0)
			return t;
	}
	return DT_NONE;
}

/*
 * dt_locate walks from the hint to a real triangle whose closure holds q,
 * or to a ghost triangle in conflict with q (q outside the hull).
 */
static uint32_t
dt_locate(dt_builder *b, double qx, double qy)
{
	uint32_t	t = b->hint;
	uint32_t	from = DT_NONE;
	uint32_t	first = b->walks++ % 3;
	size_t		steps = 0;

	for (;;)
	{
		const uint32_t *v = &b->V[3 * t];
		int			g = ghost_slot(b->V, t);
		bool		moved = false;

		if (++steps > (size_t) b->ntri + 16)
			return dt_locate_scan(b, qx, qy);
		if (g >= 0)
		{
			if (dt_conflict(b, t, qx, qy))
				return t;
			/* q is inside or on the line of this hull edge: go in */
			from = t;
			t = b->N[3 * t + g];
			continue;
		}
		for (uint32_t k = 0; k < 3; k++)
		{
			uint32_t	i = (first + k) % 3;
			uint32_t	nb = b->N[3 * t + i];
			uint32_t	a = v[(i + 1) % 3];
			uint32_t	c = v[(i + 2) % 3];

			if (nb == from)
				continue;
			if (delaunay_orient2d(b->x[a], b->y[a], b->x[c], b->y[c], qx, qy) < 0)
			{
				from = t;
				t = nb;
				moved = true;
				break;
			}
		}
		if (!moved)
			return t;
	}
}

/*
 * dt_grow makes room for one more element in a growable array.
 */
static bool
dt_grow(void **arr, size_t *cap, size_t len, size_t elem)
{
	void	   *p;
	size_t		ncap;

	if (len < *cap)
		return true;
	ncap = *cap < 16 ? 32 : *cap * 2;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

/*
 * dt_insert adds vertex p: finds the cavity of triangles in conflict with
 * it and replaces them by a fan around p.  Returns 1 when inserted, 0 for
 * a duplicate of a vertex already there, -1 when out of memory.
 */
static int
dt_insert(dt_builder *b, uint32_t p)
{
	double		qx = b->x[p];
	double		qy = b->y[p];
	uint32_t	t = dt_locate(b, qx, qy);
	uint32_t	in,
				out;
	size_t		nnew;

	if (t == DT_NONE)
		return 0;				/* cannot happen; drop the point rather than loop */
	if (ghost_slot(b->V, t) < 0)
	{
		for (int i = 0; i < 3; i++)
		{
			uint32_t	v = b->V[3 * t + i];

			if (b->x[v] == qx && b->y[v] == qy)
				return 0;
		}
	}

	b->stamp += 2;
	in = b->stamp;
	out = b->stamp + 1;
	b->ncav = 0;
	b->nbnd = 0;
	b->mark[t] = in;
	if (!dt_grow((void **) &b->cav, &b->capcav, b->ncav, sizeof(uint32_t)))
		return -1;
	b->cav[b->ncav++] = t;
	for (size_t ci = 0; ci < b->ncav; ci++)
	{
		uint32_t	c = b->cav[ci];

		for (int i = 0; i < 3; i++)
		{
			uint32_t	nb = b->N[3 * c + i];
			dt_edge    *e;

			if (b->mark[nb] == in)
				continue;
			if (b->mark[nb] != out)
			{
				if (dt_conflict(b, nb, qx, qy))
				{
					b->mark[nb] = in;
					if (!dt_grow((void **) &b->cav, &b->capcav, b->ncav, sizeof(uint32_t)))
						return -1;
					b->cav[b->ncav++] = nb;
					continue;
				}
				b->mark[nb] = out;
			}
			if (!dt_grow((void **) &b->bnd, &b->capbnd, b->nbnd, sizeof(dt_edge)))
				return -1;
			e = &b->bnd[b->nbnd++];
			e->u = b->V[3 * c + (i + 1) % 3];
			e->w = b->V[3 * c + (i + 2) % 3];
			e->outer = nb;
			e->inner = c;
			e->outer_i = b->N[3 * nb] == c ? 0 : (b->N[3 * nb + 1] == c ? 1 : 2);
		}
	}

	/* a disk of k triangles has k + 2 boundary edges */
	nnew = b->nbnd;
	if (nnew < b->ncav || (size_t) b->ntri + (nnew - b->ncav) > b->cap)
		return 0;				/* cannot happen with exact predicates */

	for (size_t k = 0; k < nnew; k++)
	{
		dt_edge    *e = &b->bnd[k];
		uint32_t	nt = k < b->ncav ? b->cav[k] : b->ntri++;

		e->inner = nt;			/* from now on: the new triangle on this edge */
		b->V[3 * nt] = e->u;
		b->V[3 * nt + 1] = e->w;
		b->V[3 * nt + 2] = p;
		b->N[3 * nt + 2] = e->outer;
		b->N[3 * e->outer + e->outer_i] = nt;
		b->mark[nt] = 0;
		b->vslot[e->u == DT_GHOST ? b->nv : e->u] = (uint32_t) k;
	}
	for (size_t k = 0; k < nnew; k++)
	{
		dt_edge    *e = &b->bnd[k];
		uint32_t	next = b->bnd[b->vslot[e->w == DT_GHOST ? b->nv : e->w]].inner;

		/* the edge w -> p is shared with the new triangle leaving w */
		b->N[3 * e->inner] = next;
		b->N[3 * next + 1] = e->inner;
	}
	b->hint = b->bnd[nnew - 1].inner;
	return 1;
}

/*
 * dt_start sets up the first triangle (a, b, c), counter-clockwise, with
 * its three ghosts.
 */
static void
dt_start(dt_builder *b, uint32_t a, uint32_t c1, uint32_t c2)
{
	uint32_t	tri[4][3];

	if (delaunay_orient2d(b->x[a], b->y[a], b->x[c1], b->y[c1], b->x[c2], b->y[c2]) < 0)
	{
		uint32_t	t = c1;

		c1 = c2;
		c2 = t;
	}
	tri[0][0] = a;
	tri[0][1] = c1;
	tri[0][2] = c2;
	/* the ghost outside the edge opposite vertex i: (ghost, v[i + 2], v[i + 1]) */
	for (int i = 0; i < 3; i++)
	{
		tri[i + 1][0] = DT_GHOST;
		tri[i + 1][1] = tri[0][(i + 2) % 3];
		tri[i + 1][2] = tri[0][(i + 1) % 3];
	}
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 3; i++)
			b->V[3 * t + i] = tri[t][i];
	/* join edges u -> w and w -> u */
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 3; i++)
		{
			uint32_t	u = tri[t][(i + 1) % 3];
			uint32_t	w = tri[t][(i + 2) % 3];

			for (int s = 0; s < 4; s++)
				for (int j = 0; j < 3; j++)
					if (s != t && tri[s][(j + 1) % 3] == w && tri[s][(j + 2) % 3] == u)
						b->N[3 * t + i] = (uint32_t) s;
		}
	b->ntri = 4;
	b->hint = 0;
	for (int t = 0; t < 4; t++)
		b->mark[t] = 0;
}

/*
 * dt_compact copies the real triangles of the builder into d, with the
 * hull edges in order.  False when out of memory.
 */
static bool
dt_compact(const dt_builder *b, delaunay *d)
{
	uint32_t   *newid = malloc((size_t) b->ntri * sizeof(uint32_t));
	uint32_t	nreal = 0,
				nghost = 0,
				g0 = DT_NONE;

	if (newid == NULL)
		return false;
	for (uint32_t t = 0; t < b->ntri; t++)
	{
		if (ghost_slot(b->V, t) < 0)
			newid[t] = nreal++;
		else
		{
			newid[t] = nghost++;
			if (g0 == DT_NONE)
				g0 = t;
		}
	}
	d->tv = malloc((size_t) nreal * 3 * sizeof(uint32_t));
	d->tn = malloc((size_t) nreal * 3 * sizeof(int32_t));
	d->hull = malloc((size_t) (nghost > 0 ? nghost : 1) * sizeof(uint32_t));
	if (d->tv == NULL || d->tn == NULL || d->hull == NULL)
	{
		free(newid);
		return false;
	}
	d->ntri = nreal;
	d->nhull = nghost;

	/* number the hull edges in the order of the ghost cycle */
	{
		uint32_t	g = g0;

		for (uint32_t k = 0; k < nghost; k++)
		{
			int			s = ghost_slot(b->V, g);

			newid[g] = k;
			g = b->N[3 * g + (s + 1) % 3];
		}
	}
	for (uint32_t t = 0; t < b->ntri; t++)
	{
		uint32_t	nt;

		if (ghost_slot(b->V, t) >= 0)
			continue;
		nt = newid[t];
		for (int i = 0; i < 3; i++)
		{
			uint32_t	nb = b->N[3 * t + i];

			d->tv[3 * nt + i] = b->V[3 * t + i];
			if (ghost_slot(b->V, nb) < 0)
				d->tn[3 * nt + i] = (int32_t) newid[nb];
			else
			{
				d->tn[3 * nt + i] = -(int32_t) newid[nb] - 1;
				d->hull[newid[nb]] = 3 * nt + (uint32_t) i;
			}
		}
	}
	free(newid);
	return true;
}

/* Insertions between two calls of the cancel callback. */
#define DT_CANCEL_EVERY 65536

/*
 * dt_triangulate runs the insertions over d's points (internal order),
 * asking exec's cancel callback (if any) now and then.  False when out of
 * memory or cancelled (*cancelled says which).
 */
static bool
dt_triangulate(delaunay *d, const interp_exec *exec, bool *cancelled)
{
	dt_builder	b;
	uint32_t	nv = d->nv;
	uint32_t	s1 = DT_NONE,
				s2 = DT_NONE;
	bool		ok = false;

	d->ntri = 0;
	d->nhull = 0;

	/* the first point, the first other one, the first not on their line */
	for (uint32_t i = 1; i < nv; i++)
		if (d->x[i] != d->x[0] || d->y[i] != d->y[0])
		{
			s1 = i;
			break;
		}
	if (s1 != DT_NONE)
		for (uint32_t i = s1 + 1; i < nv; i++)
			if (delaunay_orient2d(d->x[0], d->y[0], d->x[s1], d->y[s1], d->x[i], d->y[i]) != 0)
			{
				s2 = i;
				break;
			}
	if (s2 == DT_NONE)
	{
		d->tv = malloc(3 * sizeof(uint32_t));
		d->tn = malloc(3 * sizeof(int32_t));
		d->hull = malloc(sizeof(uint32_t));
		return d->tv != NULL && d->tn != NULL && d->hull != NULL;
	}

	memset(&b, 0, sizeof(b));
	b.x = d->x;
	b.y = d->y;
	b.nv = nv;
	b.cap = 2 * nv + 8;
	b.V = malloc((size_t) b.cap * 3 * sizeof(uint32_t));
	b.N = malloc((size_t) b.cap * 3 * sizeof(uint32_t));
	b.mark = malloc((size_t) b.cap * sizeof(uint32_t));
	b.vslot = malloc(((size_t) nv + 1) * sizeof(uint32_t));
	if (b.V == NULL || b.N == NULL || b.mark == NULL || b.vslot == NULL)
		goto done;

	dt_start(&b, 0, s1, s2);
	for (uint32_t i = 1; i < nv; i++)
	{
		if (i == s1 || i == s2)
			continue;
		if (i % DT_CANCEL_EVERY == 0 && exec != NULL && exec->cancel != NULL &&
			exec->cancel(exec->cancel_arg))
		{
			*cancelled = true;
			goto done;
		}
		if (dt_insert(&b, i) < 0)
			goto done;
	}
	ok = dt_compact(&b, d);

done:
	free(b.V);
	free(b.N);
	free(b.mark);
	free(b.vslot);
	free(b.cav);
	free(b.bnd);
	return ok;
}

/*
 * delaunay_build_exec triangulates the n points (see delaunay_build); NULL when out
 * of memory or when exec's cancel callback said stop (*cancelled).
 */
delaunay *
delaunay_build_exec(const double *x, const double *y, size_t n, const interp_exec *exec, bool *cancelled)
{
	delaunay   *d;
	uint32_t   *src;
	uint32_t	m = 0;

	*cancelled = false;
	if (n > DELAUNAY_MAX_POINTS)
		return NULL;
	d = calloc(1, sizeof(delaunay));
	if (d == NULL)
		return NULL;
	d->npts = n;
	d->minx = d->miny = INFINITY;
	d->maxx = d->maxy = -INFINITY;
	src = malloc((n > 0 ? n : 1) * sizeof(uint32_t));
	d->perm = malloc((n > 0 ? n : 1) * sizeof(uint32_t));
	d->x = malloc((n > 0 ? n : 1) * sizeof(double));
	d->y = malloc((n > 0 ? n : 1) * sizeof(double));
	if (src == NULL || d->perm == NULL || d->x == NULL || d->y == NULL)
		goto fail;
	/*
	 * Backwards: the Hilbert sort keeps this order among equal keys, and of
	 * exact duplicates the first one inserted stays, so the last in input
	 * order is the one kept (see delaunay.h).
	 */
	for (size_t i = n; i-- > 0;)
	{
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		src[m++] = (uint32_t) i;
		if (x[i] < d->minx)
			d->minx = x[i];
		if (x[i] > d->maxx)
			d->maxx = x[i];
		if (y[i] < d->miny)
			d->miny = y[i];
		if (y[i] > d->maxy)
			d->maxy = y[i];
	}
	d->nv = m;
	if (!hilbert_sort(x, y, src, m, d->minx, d->maxx, d->miny, d->maxy, d->perm))
		goto fail;
	free(src);
	src = NULL;
	for (uint32_t i = 0; i < m; i++)
	{
		d->x[i] = x[d->perm[i]];
		d->y[i] = y[d->perm[i]];
	}
	if (!dt_triangulate(d, exec, cancelled))
		goto fail;
	return d;

fail:
	free(src);
	delaunay_free(d);
	return NULL;
}

/*
 * delaunay_build triangulates the n points (see delaunay.h).
 */
delaunay *
delaunay_build(const double *x, const double *y, size_t n)
{
	bool		cancelled;

	return delaunay_build_exec(x, y, n, NULL, &cancelled);
}

/*
 * delaunay_ntriangles returns how many triangles d has.
 */
size_t
delaunay_ntriangles(const delaunay *d)
{
	return d->ntri;
}

/*
 * delaunay_triangle writes triangle t's vertices as input indices,
 * counter-clockwise.
 */
void
delaunay_triangle(const delaunay *d, size_t t, size_t idx[3])
{
	for (int i = 0; i < 3; i++)
		idx[i] = d->perm[d->tv[3 * t + i]];
}

/*
 * delaunay_neighbor returns the triangle across the edge of t opposite
 * vertex i, -1 on the hull.
 */
long
delaunay_neighbor(const delaunay *d, size_t t, int i)
{
	int32_t		nb = d->tn[3 * t + i];

	return nb >= 0 ? (long) nb : -1;
}

/*
 * delaunay_free releases d; NULL is fine.
 */
void
delaunay_free(delaunay *d)
{
	if (d == NULL)
		return;
	free(d->x);
	free(d->y);
	free(d->perm);
	free(d->tv);
	free(d->tn);
	free(d->hull);
	free(d);
}

/* ---------------------------------------------------------------------
 * Point location in the finished triangulation
 * ---------------------------------------------------------------------
 */

/*
 * dt_scan finds a triangle holding q by trying them all (the walk's
 * fallback, never needed with exact predicates); false when q is outside
 * the hull.
 */
static bool
dt_scan(const delaunay *d, double qx, double qy, delaunay_where *w)
{
	for (uint32_t t = 0; t < d->ntri; t++)
	{
		int			s0 = delaunay_orient_edge(d, t, 0, qx, qy);
		int			s1,
					s2;

		if (s0 < 0)
			continue;
		s1 = delaunay_orient_edge(d, t, 1, qx, qy);
		if (s1 < 0)
			continue;
		s2 = delaunay_orient_edge(d, t, 2, qx, qy);
		if (s2 < 0)
			continue;
		w->t = t;
		w->inside = true;
		w->sign[0] = s0;
		w->sign[1] = s1;
		w->sign[2] = s2;
		return true;
	}
	/* outside: any hull edge q is strictly outside of */
	for (uint32_t k = 0; k < d->nhull; k++)
	{
		uint32_t	t = d->hull[k] / 3;
		int			i = (int) (d->hull[k] % 3);

		if (delaunay_orient_edge(d, t, i, qx, qy) < 0)
		{
			w->t = t;
			w->inside = false;
			w->hull = k;
			return false;
		}
	}
	w->t = 0;
	w->inside = false;
	w->hull = 0;
	return false;
}

/*
 * delaunay_walk walks from triangle start towards q (a visibility walk: cross
 * the first edge that has q strictly on its other side); it ends in a
 * triangle whose closure holds q, or at a hull edge with q strictly
 * outside it, which means q is outside the hull.  Fills w; returns
 * w->inside.
 */
bool
delaunay_walk(const delaunay *d, uint32_t start, double qx, double qy, delaunay_where *w)
{
	uint32_t	t = start;
	int32_t		from = -1;
	size_t		steps = 0;

	for (;;)
	{
		int			s[3];
		int			i;

		if (++steps > (size_t) d->ntri + 16)
			return dt_scan(d, qx, qy, w);
		for (i = 0; i < 3; i++)
		{
			int32_t		nb = d->tn[3 * t + i];

			if (nb >= 0 && nb == from)
			{
				s[i] = 1;		/* we came across it: q is strictly on this side */
				continue;
			}
			s[i] = delaunay_orient_edge(d, t, i, qx, qy);
			if (s[i] < 0)
			{
				if (nb < 0)
				{
					w->t = t;
					w->inside = false;
					w->hull = (uint32_t) (-nb - 1);
					return false;
				}
				from = (int32_t) t;
				t = (uint32_t) nb;
				break;
			}
		}
		if (i == 3)
		{
			w->t = t;
			w->inside = true;
			w->sign[0] = s[0];
			w->sign[1] = s[1];
			w->sign[2] = s[2];
			return true;
		}
	}
}

/*
 * delaunay_locate returns a triangle whose closure holds (x, y), or -1.
 */
long
delaunay_locate(const delaunay *d, double x, double y)
{
	delaunay_where	w;

	if (d->ntri == 0 || !isfinite(x) || !isfinite(y))
		return -1;
	return delaunay_walk(d, 0, x, y, &w) ? (long) w.t : -1;
}

