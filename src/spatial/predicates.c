/*
 * predicates.c
 *	  Kernel: the exact orientation and incircle predicates that every
 *	  decision of the Delaunay triangulation (delaunay.c) and of the linear
 *	  gridder's point location (linear.c) rests on (see delaunay.h for the
 *	  contract).
 *
 *	  J. R. Shewchuk, "Adaptive Precision Floating-Point Arithmetic and Fast
 *	  Robust Geometric Predicates" (1997): a floating-point evaluation whose
 *	  rounding error is bounded (ccwerrboundA, iccerrboundA); when the result
 *	  is within the bound, the determinant is evaluated exactly with
 *	  expansions (sums of non-overlapping doubles).  The coordinate
 *	  differences are taken exactly as two-term expansions, so the exact path
 *	  is short whenever those differences are exact (as on grids).  This
 *	  relies on IEEE double arithmetic rounding to nearest without extended
 *	  precision or fused multiply-add, which is what C11 gives on x86-64 and
 *	  aarch64 (GCC's ISO C modes do not contract a * b + c).
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "spatial/delaunay.h"

#include <math.h>
#include <string.h>

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

