/*
 * delaunay_private.h
 *	  The triangulation's insides, shared by delaunay.c (which builds it
 *	  and walks it) and linear.c (the linear gridder, which reads its
 *	  triangles and walks it cell by cell).  Not an API.  Pure C: no
 *	  PostgreSQL headers.
 */
#ifndef MLOPS_DELAUNAY_PRIVATE_H
#define MLOPS_DELAUNAY_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "spatial/delaunay.h"

/* No triangle / no vertex. */
#define DT_NONE		UINT32_MAX

struct delaunay
{
	size_t		npts;			/* points given */
	uint32_t	nv;				/* finite points kept: internal ids 0..nv-1 */
	double	   *x;				/* coordinates by internal id (Hilbert order) */
	double	   *y;
	uint32_t   *perm;			/* internal id -> input index */
	uint32_t	ntri;
	uint32_t   *tv;				/* 3 per triangle: internal ids, counter-clockwise */
	int32_t    *tn;				/* 3 per triangle: neighbour opposite vertex i; < 0: hull edge -(k + 1) */
	uint32_t	nhull;
	uint32_t   *hull;			/* hull edge k: 3 * triangle + edge (the hull in order) */
	double		minx,
				maxx,
				miny,
				maxy;
};

/* How a walk ended. */
typedef struct delaunay_where
{
	uint32_t	t;				/* the last triangle */
	bool		inside;			/* the point is in t's closure */
	int			sign[3];		/* inside: orientation of the point to t's edge opposite vertex i */
	uint32_t	hull;			/* outside: the hull edge the walk left by */
} delaunay_where;

/*
 * delaunay_orient_edge is the orientation of q to edge i of triangle t (the edge
 * opposite vertex i, taken counter-clockwise): > 0 on t's side.
 */
static inline int
delaunay_orient_edge(const delaunay *d, uint32_t t, int i, double qx, double qy)
{
	uint32_t	a = d->tv[3 * t + (i + 1) % 3];
	uint32_t	b = d->tv[3 * t + (i + 2) % 3];

	return delaunay_orient2d(d->x[a], d->y[a], d->x[b], d->y[b], qx, qy);
}

/*
 * delaunay_build_exec is delaunay_build asking exec's cancel callback (if
 * any) now and then; NULL when out of memory or cancelled (*cancelled).
 */
extern delaunay *delaunay_build_exec(const double *x, const double *y, size_t n,
									 const interp_exec *exec, bool *cancelled);

/*
 * delaunay_walk walks from triangle start towards q; it ends in a triangle
 * whose closure holds q, or at a hull edge with q strictly outside it,
 * which means q is outside the hull.  Fills w; returns w->inside.
 */
extern bool delaunay_walk(const delaunay *d, uint32_t start, double qx, double qy, delaunay_where *w);

#endif							/* MLOPS_DELAUNAY_PRIVATE_H */
