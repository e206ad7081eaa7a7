/*
 * delaunay.c
 *	  Kernel: Delaunay triangulation and GDAL's "linear" gridder (see
 *	  delaunay.h for the contract).
 *
 *	  Triangulation: Bowyer-Watson incremental insertion in Hilbert-curve
 *	  order, with "ghost" triangles (one per convex-hull edge, joined to a
 *	  vertex at infinity) so that points outside the current hull need no
 *	  special case, and a visibility walk from the last new triangle to find
 *	  where each point goes.  Every decision is taken by exact predicates
 *	  (Shewchuk's error-bounded floating-point filter, then exact expansion
 *	  arithmetic when the filter cannot decide), so grids, collinear runs,
 *	  cocircular points and duplicates need no tolerance and cannot make
 *	  overlapping triangles or endless loops.  Cocircular points are left as
 *	  the insertion order made them (a circle's strict inside decides).
 *
 *	  Gridding follows GDAL 3.6's GDALGridLinear (alg/gdalgrid.cpp) over its
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
 *	  - Equidistant nearest points: the lower index here, GDAL the last its
 *		quadtree returns.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/delaunay.h"
#include "spatial/kdtree.h"
#include "spatial/parallel.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* No triangle / no vertex. */
#define DT_NONE		UINT32_MAX

/* The vertex at infinity of ghost triangles (builder only). */
#define DT_GHOST	UINT32_MAX

/* GDAL's tolerance on barycentric coordinates (GDALTriangulationFindFacetDirected). */
#define GDAL_BARY_EPS	1e-10

/*
 * A centre farther than this times the points' bounding-box diagonal from
 * the hull cannot be within GDAL_BARY_EPS of any triangle.
 */
#define NEAR_HULL_REL	1e-6

/* Bits per axis of the Hilbert key (sorting 2 * 24 = 48 bits, 16 a pass). */
#define HILBERT_ORDER	24

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

/* ---------------------------------------------------------------------
 * Exact predicates
 *
 * J. R. Shewchuk, "Adaptive Precision Floating-Point Arithmetic and Fast
 * Robust Geometric Predicates" (1997): a floating-point evaluation whose
 * rounding error is bounded (ccwerrboundA, iccerrboundA); when the result
 * is within the bound, the determinant is evaluated exactly with
 * expansions (sums of non-overlapping doubles).  The coordinate
 * differences are taken exactly as two-term expansions, so the exact path
 * is short whenever those differences are exact (as on grids).  This
 * relies on IEEE double arithmetic rounding to nearest without extended
 * precision or fused multiply-add, which is what C11 gives on x86-64 and
 * aarch64 (GCC's ISO C modes do not contract a * b + c).
 * ---------------------------------------------------------------------
 */

/* 2^-53, and Shewchuk's bounds derived from it */
#define DT_EPS			1.1102230246251565e-16
#define CCW_ERRBOUND_A	((3.0 + 16.0 * DT_EPS) * DT_EPS)
#define ICC_ERRBOUND_A	((10.0 + 96.0 * DT_EPS) * DT_EPS)
#define DT_SPLITTER		134217729.0 /* 2^27 + 1 */

/*
 * two_sum sets *x + *y = a + b exactly, *x = fl(a + b).
 */
static inline void
two_sum(double a, double b, double *x, double *y)
{
	double		s = a + b;
	double		bv = s - a;
	double		av = s - bv;

	*x = s;
	*y = (a - av) + (b - bv);
}

/*
 * two_diff sets *x + *y = a - b exactly, *x = fl(a - b).
 */
static inline void
two_diff(double a, double b, double *x, double *y)
{
	double		s = a - b;
	double		bv = a - s;
	double		av = s + bv;

	*x = s;
	*y = (a - av) + (bv - b);
}

/*
 * split cuts a into two 26-bit halves, hi + lo = a.
 */
static inline void
split(double a, double *hi, double *lo)
{
	double		c = DT_SPLITTER * a;
	double		big = c - a;

	*hi = c - big;
	*lo = a - *hi;
}

/*
 * two_product sets *x + *y = a * b exactly, *x = fl(a * b) (Dekker).
 */
static inline void
two_product(double a, double b, double *x, double *y)
{
	double		p = a * b;
	double		ahi,
				alo,
				bhi,
				blo,
				err;

	split(a, &ahi, &alo);
	split(b, &bhi, &blo);
	err = p - ahi * bhi;
	err -= alo * bhi;
	err -= ahi * blo;
	*x = p;
	*y = alo * blo - err;
}

/*
 * expansion_sum writes h = e + f (Shewchuk's fast_expansion_sum_zeroelim);
 * h has room for elen + flen components; returns its length.
 */
static int
expansion_sum(int elen, const double *e, int flen, const double *f, double *h)
{
	double		q,
				qnew,
				hh,
				enow,
				fnow;
	int			ei = 0,
				fi = 0,
				hi = 0;

	if (elen == 0)
	{
		memcpy(h, f, flen * sizeof(double));
		return flen;
	}
	if (flen == 0)
	{
		memcpy(h, e, elen * sizeof(double));
		return elen;
	}
	enow = e[0];
	fnow = f[0];
	if ((fnow > enow) == (fnow > -enow))
	{
		q = enow;
		enow = ++ei < elen ? e[ei] : 0.0;
	}
	else
	{
		q = fnow;
		fnow = ++fi < flen ? f[fi] : 0.0;
	}
	if (ei < elen && fi < flen)
	{
		if ((fnow > enow) == (fnow > -enow))
		{
			/* fast_two_sum(enow, q) */
			qnew = enow + q;
			hh = q - (qnew - enow);
			enow = ++ei < elen ? e[ei] : 0.0;
		}
		else
		{
			qnew = fnow + q;
			hh = q - (qnew - fnow);
			fnow = ++fi < flen ? f[fi] : 0.0;
		}
		q = qnew;
		if (hh != 0.0)
			h[hi++] = hh;
		while (ei < elen && fi < flen)
		{
			if ((fnow > enow) == (fnow > -enow))
			{
				two_sum(q, enow, &qnew, &hh);
				enow = ++ei < elen ? e[ei] : 0.0;
			}
			else
			{
				two_sum(q, fnow, &qnew, &hh);
				fnow = ++fi < flen ? f[fi] : 0.0;
			}
			q = qnew;
			if (hh != 0.0)
				h[hi++] = hh;
		}
	}
	while (ei < elen)
	{
		two_sum(q, enow, &qnew, &hh);
		enow = ++ei < elen ? e[ei] : 0.0;
		q = qnew;
		if (hh != 0.0)
			h[hi++] = hh;
	}
	while (fi < flen)
	{
		two_sum(q, fnow, &qnew, &hh);
		fnow = ++fi < flen ? f[fi] : 0.0;
		q = qnew;
		if (hh != 0.0)
			h[hi++] = hh;
	}
	if (q != 0.0 || hi == 0)
		h[hi++] = q;
	return hi;
}

/*
 * expansion_scale writes h = e * b (Shewchuk's scale_expansion_zeroelim);
 * h has room for 2 * elen components; returns its length.
 */
static int
expansion_scale(int elen, const double *e, double b, double *h)
{
	double		q,
				sum,
				hh,
				p1,
				p0;
	int			hi = 0;

	if (elen == 0)
		return 0;
	two_product(e[0], b, &q, &hh);
	if (hh != 0.0)
		h[hi++] = hh;
	for (int i = 1; i < elen; i++)
	{
		two_product(e[i], b, &p1, &p0);
		two_sum(q, p0, &sum, &hh);
		if (hh != 0.0)
			h[hi++] = hh;
		/* fast_two_sum(p1, sum): |p1| >= |sum| */
		q = p1 + sum;
		hh = sum - (q - p1);
		if (hh != 0.0)
			h[hi++] = hh;
	}
	if (q != 0.0 || hi == 0)
		h[hi++] = q;
	return hi;
}

/*
 * expansion_mul writes h = e * f; h has room for 2 * elen * flen
 * components, tmp and acc as much; returns its length.
 */
static int
expansion_mul(int elen, const double *e, int flen, const double *f, double *h,
			  double *tmp, double *acc)
{
	int			hlen = 0;

	for (int j = 0; j < flen; j++)
	{
		int			tlen = expansion_scale(elen, e, f[j], tmp);

		hlen = expansion_sum(hlen, h, tlen, tmp, acc);
		memcpy(h, acc, hlen * sizeof(double));
	}
	return hlen;
}

/*
 * expansion_sign returns the sign of an expansion (its largest component).
 */
static inline int
expansion_sign(int len, const double *e)
{
	if (len == 0 || e[len - 1] == 0.0)
		return 0;
	return e[len - 1] > 0 ? 1 : -1;
}

/*
 * diff_exp writes a - b as an expansion of one or two components.
 */
static inline int
diff_exp(double a, double b, double *e)
{
	double		x,
				y;

	two_diff(a, b, &x, &y);
	if (y == 0.0)
	{
		e[0] = x;
		return 1;
	}
	e[0] = y;
	e[1] = x;
	return 2;
}

/*
 * cross_exp writes p * s - q * r exactly (p, q, r, s expansions of at most
 * two components); h has room for 16.
 */
static int
cross_exp(int plen, const double *p, int slen, const double *s,
		  int qlen, const double *q, int rlen, const double *r, double *h)
{
	double		a[8],
				b[8],
				tmp[8],
				acc[16];
	int			alen,
				blen;

	alen = expansion_mul(plen, p, slen, s, a, tmp, acc);
	blen = expansion_mul(qlen, q, rlen, r, b, tmp, acc);
	for (int i = 0; i < blen; i++)
		b[i] = -b[i];
	return expansion_sum(alen, a, blen, b, h);
}

/*
 * orient_exact is the sign of (ax - cx)(by - cy) - (ay - cy)(bx - cx),
 * exactly.
 */
static int
orient_exact(double ax, double ay, double bx, double by, double cx, double cy)
{
	double		acx[2],
				acy[2],
				bcx[2],
				bcy[2],
				det[16];
	int			l1 = diff_exp(ax, cx, acx);
	int			l2 = diff_exp(ay, cy, acy);
	int			l3 = diff_exp(bx, cx, bcx);
	int			l4 = diff_exp(by, cy, bcy);
	int			len = cross_exp(l1, acx, l4, bcy, l2, acy, l3, bcx, det);

	return expansion_sign(len, det);
}

/*
 * delaunay_orient2d returns +1 when a, b, c turn counter-clockwise, -1
 * clockwise, 0 when collinear; exact.
 */
int
delaunay_orient2d(double ax, double ay, double bx, double by, double cx, double cy)
{
	double		detleft = (ax - cx) * (by - cy);
	double		detright = (ay - cy) * (bx - cx);
	double		det = detleft - detright;
	double		detsum;

	if (detleft > 0.0)
	{
		if (detright <= 0.0)
			return det > 0.0 ? 1 : (det < 0.0 ? -1 : 0);
		detsum = detleft + detright;
	}
	else if (detleft < 0.0)
	{
		if (detright >= 0.0)
			return det > 0.0 ? 1 : (det < 0.0 ? -1 : 0);
		detsum = -detleft - detright;
	}
	else
		return det > 0.0 ? 1 : (det < 0.0 ? -1 : 0);

	if (det >= CCW_ERRBOUND_A * detsum || -det >= CCW_ERRBOUND_A * detsum)
		return det > 0.0 ? 1 : -1;
	return orient_exact(ax, ay, bx, by, cx, cy);
}

/*
 * lift_term writes lift * cross where lift = px^2 + py^2 (p, and the
 * cross product, expansions); h has room for 512.
 */
static int
lift_term(int pxlen, const double *px, int pylen, const double *py,
		  int clen, const double *cross, double *h)
{
	double		sx[8],
				sy[8],
				lift[16],
				tmp[32],
				acc[512];
	int			sxlen,
				sylen,
				liftlen;

	sxlen = expansion_mul(pxlen, px, pxlen, px, sx, tmp, acc);
	sylen = expansion_mul(pylen, py, pylen, py, sy, tmp, acc);
	liftlen = expansion_sum(sxlen, sx, sylen, sy, lift);
	return expansion_mul(liftlen, lift, clen, cross, h, tmp, acc);
}

/*
 * incircle_exact is the sign of the in-circle determinant of a, b, c, d
 * (translated to d), exactly.
 */
static int
incircle_exact(double ax, double ay, double bx, double by, double cx, double cy,
			   double dx, double dy)
{
	double		adx[2],
				ady[2],
				bdx[2],
				bdy[2],
				cdx[2],
				cdy[2];
	double		bc[16],
				ca[16],
				ab[16];
	double		ta[512],
				tb[512],
				tc[512],
				tab[1024],
				det[1536];
	int			adxl = diff_exp(ax, dx, adx),
				adyl = diff_exp(ay, dy, ady),
				bdxl = diff_exp(bx, dx, bdx),
				bdyl = diff_exp(by, dy, bdy),
				cdxl = diff_exp(cx, dx, cdx),
				cdyl = diff_exp(cy, dy, cdy);
	int			bcl,
				cal,
				abl,
				tal,
				tbl,
				tcl,
				tabl,
				detl;

	bcl = cross_exp(bdxl, bdx, cdyl, cdy, cdxl, cdx, bdyl, bdy, bc);
	cal = cross_exp(cdxl, cdx, adyl, ady, adxl, adx, cdyl, cdy, ca);
	abl = cross_exp(adxl, adx, bdyl, bdy, bdxl, bdx, adyl, ady, ab);
	tal = lift_term(adxl, adx, adyl, ady, bcl, bc, ta);
	tbl = lift_term(bdxl, bdx, bdyl, bdy, cal, ca, tb);
	tcl = lift_term(cdxl, cdx, cdyl, cdy, abl, ab, tc);
	tabl = expansion_sum(tal, ta, tbl, tb, tab);
	detl = expansion_sum(tabl, tab, tcl, tc, det);
	return expansion_sign(detl, det);
}

/*
 * delaunay_incircle returns, for a, b, c counter-clockwise, +1 when d is
 * strictly inside their circumcircle, -1 outside, 0 on it; exact.
 */
int
delaunay_incircle(double ax, double ay, double bx, double by, double cx, double cy,
				  double dx, double dy)
{
	double		adx = ax - dx,
				ady = ay - dy,
				bdx = bx - dx,
				bdy = by - dy,
				cdx = cx - dx,
				cdy = cy - dy;
	double		bdxcdy = bdx * cdy,
				cdxbdy = cdx * bdy,
				cdxady = cdx * ady,
				adxcdy = adx * cdy,
				adxbdy = adx * bdy,
				bdxady = bdx * ady;
	double		alift = adx * adx + ady * ady,
				blift = bdx * bdx + bdy * bdy,
				clift = cdx * cdx + cdy * cdy;
	double		det = alift * (bdxcdy - cdxbdy) + blift * (cdxady - adxcdy) +
		clift * (adxbdy - bdxady);
	double		permanent = (fabs(bdxcdy) + fabs(cdxbdy)) * alift +
		(fabs(cdxady) + fabs(adxcdy)) * blift +
		(fabs(adxbdy) + fabs(bdxady)) * clift;
	double		errbound = ICC_ERRBOUND_A * permanent;

	if (det > errbound || -det > errbound)
		return det > 0.0 ? 1 : -1;
	return incircle_exact(ax, ay, bx, by, cx, cy, dx, dy);
}

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
 * sorted by Hilbert key, ties in input order (LSD radix sort, stable).
 * src holds the input indices in input order.  False when out of memory.
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
 * dt_build triangulates the n points (see delaunay_build); NULL when out
 * of memory or when exec's cancel callback said stop (*cancelled).
 */
static delaunay *
dt_build(const double *x, const double *y, size_t n, const interp_exec *exec, bool *cancelled)
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
	for (size_t i = 0; i < n; i++)
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

	return dt_build(x, y, n, NULL, &cancelled);
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

/* How a walk ended. */
typedef struct dt_where
{
	uint32_t	t;				/* the last triangle */
	bool		inside;			/* the point is in t's closure */
	int			sign[3];		/* inside: orientation of the point to t's edge opposite vertex i */
	uint32_t	hull;			/* outside: the hull edge the walk left by */
} dt_where;

/*
 * dt_orient_edge is the orientation of q to edge i of triangle t (the edge
 * opposite vertex i, taken counter-clockwise): > 0 on t's side.
 */
static inline int
dt_orient_edge(const delaunay *d, uint32_t t, int i, double qx, double qy)
{
	uint32_t	a = d->tv[3 * t + (i + 1) % 3];
	uint32_t	b = d->tv[3 * t + (i + 2) % 3];

	return delaunay_orient2d(d->x[a], d->y[a], d->x[b], d->y[b], qx, qy);
}

/*
 * dt_scan finds a triangle holding q by trying them all (the walk's
 * fallback, never needed with exact predicates); false when q is outside
 * the hull.
 */
static bool
dt_scan(const delaunay *d, double qx, double qy, dt_where *w)
{
	for (uint32_t t = 0; t < d->ntri; t++)
	{
		int			s0 = dt_orient_edge(d, t, 0, qx, qy);
		int			s1,
					s2;

		if (s0 < 0)
			continue;
		s1 = dt_orient_edge(d, t, 1, qx, qy);
		if (s1 < 0)
			continue;
		s2 = dt_orient_edge(d, t, 2, qx, qy);
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

		if (dt_orient_edge(d, t, i, qx, qy) < 0)
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
 * dt_walk walks from triangle start towards q (a visibility walk: cross
 * the first edge that has q strictly on its other side); it ends in a
 * triangle whose closure holds q, or at a hull edge with q strictly
 * outside it, which means q is outside the hull.  Fills w; returns
 * w->inside.
 */
static bool
dt_walk(const delaunay *d, uint32_t start, double qx, double qy, dt_where *w)
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
			s[i] = dt_orient_edge(d, t, i, qx, qy);
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
	dt_where	w;

	if (d->ntri == 0 || !isfinite(x) || !isfinite(y))
		return -1;
	return dt_walk(d, 0, x, y, &w) ? (long) w.t : -1;
}

/* ---------------------------------------------------------------------
 * The "linear" gridder
 * ---------------------------------------------------------------------
 */

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
lin_inside_value(const lin_ctx *c, const dt_where *w, lin_plane *pl, double qx, double qy)
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

		if (dt_orient_edge(d, d->hull[prev] / 3, (int) (d->hull[prev] % 3), qx, qy) >= 0)
			break;
		lo = prev;
		len++;
	}
	while (len < nh)
	{
		uint32_t	next = (lo + len) % nh;

		if (dt_orient_edge(d, d->hull[next] / 3, (int) (d->hull[next] % 3), qx, qy) >= 0)
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
	dt_where	w;
	double		value;

	if (d->ntri == 0)
		return lin_outside_value(c, pos, qx, qy);

	/* far outside the points' box: no walk needed */
	if (qx < d->minx - c->near_hull || qx > d->maxx + c->near_hull ||
		qy < d->miny - c->near_hull || qy > d->maxy + c->near_hull)
		return lin_outside_value(c, pos, qx, qy);

	if (dt_walk(d, *t, qx, qy, &w))
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

	d = dt_build(p->x, p->y, p->n, exec, &cancelled);
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
