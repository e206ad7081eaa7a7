/*
 * test_delaunay.c — unit tests of the Delaunay kernel and the "linear"
 * gridder (src/spatial/predicates.c, delaunay.c, linear.c): the exact
 * predicates against big-integer
 * arithmetic, the triangulation's properties (a valid triangulation of the
 * convex hull, empty circumcircles, every distinct point a vertex) on
 * random and on degenerate point sets, and interp_linear on planes, a
 * hand-computed case, the radius rule outside the hull, empty input,
 * cancellation and threads.
 */
#include "spatial/delaunay.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#define NODATA	(-9999.0)

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

/*
 * rnd_u64 returns a pseudo-random 64-bit integer (xorshift64*).
 */
static uint64_t
rnd_u64(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/*
 * rnd returns a pseudo-random double in [0, 1).
 */
static double
rnd(void)
{
	return (double) (rnd_u64() >> 11) / 9007199254740992.0;
}

/* ---------------------------------------------------------------------
 * Big integers (two's complement, 20 x 32 bits) for exact reference
 * determinants.
 * ---------------------------------------------------------------------
 */
#define BIG_LIMBS 20

typedef struct big
{
	uint32_t	l[BIG_LIMBS];
} big;

/*
 * big_from makes a big integer of v.
 */
static big
big_from(int64_t v)
{
	big			r;
	uint64_t	u = (uint64_t) v;
	uint32_t	fill = v < 0 ? 0xFFFFFFFFu : 0;

	r.l[0] = (uint32_t) u;
	r.l[1] = (uint32_t) (u >> 32);
	for (int i = 2; i < BIG_LIMBS; i++)
		r.l[i] = fill;
	return r;
}

/*
 * big_add returns a + b.
 */
static big
big_add(big a, big b)
{
	big			r;
	uint64_t	carry = 0;

	for (int i = 0; i < BIG_LIMBS; i++)
	{
		uint64_t	s = (uint64_t) a.l[i] + b.l[i] + carry;

		r.l[i] = (uint32_t) s;
		carry = s >> 32;
	}
	return r;
}

/*
 * big_neg returns -a.
 */
static big
big_neg(big a)
{
	for (int i = 0; i < BIG_LIMBS; i++)
		a.l[i] = ~a.l[i];
	return big_add(a, big_from(1));
}

/*
 * big_sub returns a - b.
 */
static big
big_sub(big a, big b)
{
	return big_add(a, big_neg(b));
}

/*
 * big_sign returns the sign of a.
 */
static int
big_sign(big a)
{
	if (a.l[BIG_LIMBS - 1] & 0x80000000u)
		return -1;
	for (int i = 0; i < BIG_LIMBS; i++)
		if (a.l[i] != 0)
			return 1;
	return 0;
}

/*
 * big_mul returns a * b (values stay far below 2^639 here).
 */
static big
big_mul(big a, big b)
{
	int			neg = 0;
	big			r = big_from(0);

	if (big_sign(a) < 0)
	{
		a = big_neg(a);
		neg ^= 1;
	}
	if (big_sign(b) < 0)
	{
		b = big_neg(b);
		neg ^= 1;
	}
	for (int i = 0; i < BIG_LIMBS; i++)
	{
		uint64_t	carry = 0;

		if (a.l[i] == 0)
			continue;
		for (int j = 0; i + j < BIG_LIMBS; j++)
		{
			uint64_t	t = (uint64_t) a.l[i] * b.l[j] + r.l[i + j] + carry;

			r.l[i + j] = (uint32_t) t;
			carry = t >> 32;
		}
	}
	return neg ? big_neg(r) : r;
}

/*
 * big_orient is the exact orientation sign of integer points.
 */
static int
big_orient(const int64_t *a, const int64_t *b, const int64_t *c)
{
	big			acx = big_sub(big_from(a[0]), big_from(c[0]));
	big			acy = big_sub(big_from(a[1]), big_from(c[1]));
	big			bcx = big_sub(big_from(b[0]), big_from(c[0]));
	big			bcy = big_sub(big_from(b[1]), big_from(c[1]));

	return big_sign(big_sub(big_mul(acx, bcy), big_mul(acy, bcx)));
}

/*
 * big_incircle is the exact in-circle sign of integer points.
 */
static int
big_incircle(const int64_t *a, const int64_t *b, const int64_t *c, const int64_t *d)
{
	big			adx = big_sub(big_from(a[0]), big_from(d[0])),
				ady = big_sub(big_from(a[1]), big_from(d[1])),
				bdx = big_sub(big_from(b[0]), big_from(d[0])),
				bdy = big_sub(big_from(b[1]), big_from(d[1])),
				cdx = big_sub(big_from(c[0]), big_from(d[0])),
				cdy = big_sub(big_from(c[1]), big_from(d[1]));
	big			alift = big_add(big_mul(adx, adx), big_mul(ady, ady));
	big			blift = big_add(big_mul(bdx, bdx), big_mul(bdy, bdy));
	big			clift = big_add(big_mul(cdx, cdx), big_mul(cdy, cdy));
	big			t1 = big_mul(alift, big_sub(big_mul(bdx, cdy), big_mul(cdx, bdy)));
	big			t2 = big_mul(blift, big_sub(big_mul(cdx, ady), big_mul(adx, cdy)));
	big			t3 = big_mul(clift, big_sub(big_mul(adx, bdy), big_mul(bdx, ady)));

	return big_sign(big_add(big_add(t1, t2), t3));
}

/*
 * rnd_coord makes a random integer coordinate whose double (times 2^-scale)
 * is exact: a small mantissa shifted left, often far, so that coordinate
 * differences need more than 53 bits.
 */
static int64_t
rnd_coord(int mode)
{
	int64_t		mant;
	int			shift;

	if (mode == 0)
		return (int64_t) (rnd_u64() % 6);	/* tiny grid: many degeneracies */
	mant = (int64_t) (rnd_u64() % 5);
	shift = (rnd_u64() % 3 == 0) ? 58 : 0;
	return (mant << shift) + (int64_t) (rnd_u64() % 3);
}

/*
 * test_predicates compares delaunay_orient2d / delaunay_incircle with
 * big-integer determinants on degenerate and near-degenerate input.
 */
static void
test_predicates(void)
{
	int			bad_o = 0,
				bad_i = 0,
				zero_o = 0,
				zero_i = 0;
	const double scale = 1.0 / 1024.0;	/* integers times 2^-10: exact doubles */

	for (int mode = 0; mode < 2; mode++)
		for (int it = 0; it < 6000; it++)
		{
			int64_t		p[4][2];
			double		f[4][2];
			int			want,
						got;

			for (int i = 0; i < 4; i++)
				for (int k = 0; k < 2; k++)
				{
					p[i][k] = rnd_coord(mode);
					/* exact: at most 53 significant bits */
					f[i][k] = (double) p[i][k] * scale;
					if ((int64_t) (f[i][k] / scale) != p[i][k])
						p[i][k] = (int64_t) (f[i][k] / scale);
				}
			want = big_orient(p[0], p[1], p[2]);
			got = delaunay_orient2d(f[0][0], f[0][1], f[1][0], f[1][1], f[2][0], f[2][1]);
			bad_o += want != got;
			zero_o += want == 0;
			want = big_incircle(p[0], p[1], p[2], p[3]);
			got = delaunay_incircle(f[0][0], f[0][1], f[1][0], f[1][1], f[2][0], f[2][1],
									f[3][0], f[3][1]);
			bad_i += want != got;
			zero_i += want == 0;
		}
	CHECK_INT(bad_o, 0, "orient2d = exact big-integer sign, 12000 cases");
	CHECK_INT(bad_i, 0, "incircle = exact big-integer sign, 12000 cases");
	CHECK(zero_o > 500 && zero_i > 500, "the cases include many exact degeneracies");

	/* Shewchuk's classic: points near the line y = x, a few ulps apart */
	{
		int			bad = 0;
		const double ulp = 1.0 / 9007199254740992.0;	/* 2^-53 */

		for (int i = 0; i < 64; i++)
			for (int j = 0; j < 64; j++)
			{
				/* with unit 2^-53: (2^52 + i, 2^52 + j), (12 * 2^53, ...), (24 * 2^53, ...) */
				int64_t		a[2] = {((int64_t) 1 << 52) + i, ((int64_t) 1 << 52) + j};
				int64_t		b[2] = {(int64_t) 12 << 53, (int64_t) 12 << 53};
				int64_t		c[2] = {(int64_t) 24 << 53, (int64_t) 24 << 53};
				int			want = big_orient(a, b, c);
				int			got = delaunay_orient2d(0.5 + i * ulp, 0.5 + j * ulp, 12, 12, 24, 24);

				bad += want != got;
			}
		CHECK_INT(bad, 0, "orient2d near y = x, 4096 points a few ulps apart");
	}

	/* cocircular: the 4 points of a rotated square, centre far away */
	{
		double		cx = 4600000.0,
					cy = 500000.0;
		double		u = 0.25,
					v = 0.125;

		CHECK_INT(delaunay_incircle(cx + u, cy + v, cx - v, cy + u, cx - u, cy - v, cx + v, cy - u), 0,
				  "incircle: rotated square is cocircular");
		CHECK_INT(delaunay_incircle(cx + u, cy + v, cx - v, cy + u, cx - u, cy - v, cx + v * 0.5, cy - u * 0.5), 1,
				  "incircle: inside point");
		CHECK_INT(delaunay_incircle(cx + u, cy + v, cx - v, cy + u, cx - u, cy - v, cx + v * 4, cy - u * 4), -1,
				  "incircle: outside point");
	}
}

/* ---------------------------------------------------------------------
 * Triangulation checks
 * ---------------------------------------------------------------------
 */

/*
 * pt_cmp orders point indices by (x, y), then index (for the hull and for
 * finding duplicates).
 */
static const double *cmp_x;
static const double *cmp_y;

static int
pt_cmp(const void *a, const void *b)
{
	size_t		i = *(const size_t *) a;
	size_t		j = *(const size_t *) b;

	if (cmp_x[i] != cmp_x[j])
		return cmp_x[i] < cmp_x[j] ? -1 : 1;
	if (cmp_y[i] != cmp_y[j])
		return cmp_y[i] < cmp_y[j] ? -1 : 1;
	return i < j ? -1 : (i > j ? 1 : 0);
}

/*
 * hull_info computes, for the n points, which are the last of their
 * duplicates in input order (last[i]: the ones delaunay_build keeps), how many distinct points there are, the convex
 * hull's area (about x0, y0) and how many distinct points lie on the hull
 * boundary (monotone chain with exact orientation).
 */
static void
hull_info(const double *x, const double *y, size_t n, double x0, double y0,
		  char *last, size_t *ndistinct, double *area, size_t *nboundary)
{
	size_t	   *ord = malloc((n + 1) * sizeof(size_t));
	size_t	   *uniq = malloc((n + 1) * sizeof(size_t));
	size_t	   *h = malloc((2 * n + 2) * sizeof(size_t));
	size_t		m = 0,
				k = 0;

	for (size_t i = 0; i < n; i++)
	{
		ord[i] = i;
		last[i] = 0;
	}
	cmp_x = x;
	cmp_y = y;
	qsort(ord, n, sizeof(size_t), pt_cmp);
	for (size_t i = 0; i < n; i++)
	{
		if (i == 0 || x[ord[i]] != x[ord[i - 1]] || y[ord[i]] != y[ord[i - 1]])
			uniq[m++] = ord[i];
		/* ord is sorted by (x, y, index): the last of a run is the last duplicate */
		if (i == n - 1 || x[ord[i]] != x[ord[i + 1]] || y[ord[i]] != y[ord[i + 1]])
			last[ord[i]] = 1;
	}
	*ndistinct = m;
	*area = 0.0;
	*nboundary = m;
	if (m >= 3)
	{
		/* strict hull: lower and upper chains (collinear points dropped) */
		for (size_t i = 0; i < m; i++)
		{
			while (k >= 2 && delaunay_orient2d(x[h[k - 2]], y[h[k - 2]], x[h[k - 1]], y[h[k - 1]],
											   x[uniq[i]], y[uniq[i]]) <= 0)
				k--;
			h[k++] = uniq[i];
		}
		for (size_t i = m - 1, t = k + 1; i-- > 0;)
		{
			while (k >= t && delaunay_orient2d(x[h[k - 2]], y[h[k - 2]], x[h[k - 1]], y[h[k - 1]],
											   x[uniq[i]], y[uniq[i]]) <= 0)
				k--;
			h[k++] = uniq[i];
		}
		k--;					/* the first point again */
		for (size_t i = 0; i < k; i++)
		{
			size_t		a = h[i],
						b = h[(i + 1) % k];

			*area += ((x[a] - x0) * (y[b] - y0) - (x[b] - x0) * (y[a] - y0)) / 2.0;
		}
		if (*area != 0.0)
		{
			/* the distinct points on the boundary: on a hull edge's segment */
			*nboundary = 0;
			for (size_t j = 0; j < m; j++)
			{
				double		px = x[uniq[j]],
							py = y[uniq[j]];

				for (size_t i = 0; i < k; i++)
				{
					size_t		a = h[i],
								b = h[(i + 1) % k];

					if (delaunay_orient2d(x[a], y[a], x[b], y[b], px, py) == 0 &&
						px >= fmin(x[a], x[b]) && px <= fmax(x[a], x[b]) &&
						py >= fmin(y[a], y[b]) && py <= fmax(y[a], y[b]))
					{
						(*nboundary)++;
						break;
					}
				}
			}
		}
	}
	free(ord);
	free(uniq);
	free(h);
}

/*
 * check_triangulation triangulates the points and checks: every triangle
 * counter-clockwise; neighbours consistent; every edge locally Delaunay
 * (and, for small sets, no point strictly inside any circumcircle); the
 * areas add up to the hull's; the Euler count; every distinct point (the
 * last of its duplicates) is a vertex and no other is.  Returns the
 * triangle count.
 */
static size_t
check_triangulation(const char *name, const double *x, const double *y, size_t n, int brute)
{
	delaunay   *d = delaunay_build(x, y, n);
	char		what[200];
	char	   *last = malloc(n + 1);
	char	   *used = calloc(n + 1, 1);
	size_t		ndistinct,
				nboundary,
				nt;
	double		hull_area,
				area = 0.0,
				x0 = n > 0 ? x[0] : 0.0,
				y0 = n > 0 ? y[0] : 0.0;
	int			bad_ccw = 0,
				bad_nb = 0,
				bad_local = 0,
				bad_brute = 0,
				bad_used = 0;

	snprintf(what, sizeof(what), "%s: delaunay_build is not NULL", name);
	CHECK(d != NULL, what);
	if (d == NULL)
	{
		free(last);
		free(used);
		return 0;
	}
	hull_info(x, y, n, x0, y0, last, &ndistinct, &hull_area, &nboundary);
	nt = delaunay_ntriangles(d);
	for (size_t t = 0; t < nt; t++)
	{
		size_t		v[3];

		delaunay_triangle(d, t, v);
		for (int i = 0; i < 3; i++)
			used[v[i]] = 1;
		if (delaunay_orient2d(x[v[0]], y[v[0]], x[v[1]], y[v[1]], x[v[2]], y[v[2]]) <= 0)
			bad_ccw++;
		area += ((x[v[1]] - x0) * (y[v[2]] - y0) - (x[v[2]] - x0) * (y[v[1]] - y0) +
				 (x[v[2]] - x0) * (y[v[0]] - y0) - (x[v[0]] - x0) * (y[v[2]] - y0) +
				 (x[v[0]] - x0) * (y[v[1]] - y0) - (x[v[1]] - x0) * (y[v[0]] - y0)) / 2.0;
		for (int i = 0; i < 3; i++)
		{
			long		nb = delaunay_neighbor(d, t, i);
			size_t		w[3];
			int			j,
						back = 0;

			if (nb < 0)
				continue;
			delaunay_triangle(d, (size_t) nb, w);
			/* nb must hold the edge v[i+1] -> v[i+2] reversed, and point back */
			for (j = 0; j < 3; j++)
				if (w[(j + 1) % 3] == v[(i + 2) % 3] && w[(j + 2) % 3] == v[(i + 1) % 3])
					break;
			if (j < 3 && delaunay_neighbor(d, (size_t) nb, j) == (long) t)
				back = 1;
			if (!back)
			{
				bad_nb++;
				continue;
			}
			if (delaunay_incircle(x[v[0]], y[v[0]], x[v[1]], y[v[1]], x[v[2]], y[v[2]],
								  x[w[j]], y[w[j]]) > 0)
				bad_local++;
		}
		if (brute)
			for (size_t p = 0; p < n; p++)
				if (delaunay_incircle(x[v[0]], y[v[0]], x[v[1]], y[v[1]], x[v[2]], y[v[2]],
									  x[p], y[p]) > 0)
					bad_brute++;
	}
	for (size_t i = 0; i < n; i++)
		if (used[i] != (ndistinct >= 3 && hull_area != 0.0 ? last[i] : 0))
			bad_used++;

	snprintf(what, sizeof(what), "%s: all triangles counter-clockwise", name);
	CHECK_INT(bad_ccw, 0, what);
	snprintf(what, sizeof(what), "%s: neighbours consistent", name);
	CHECK_INT(bad_nb, 0, what);
	snprintf(what, sizeof(what), "%s: every edge locally Delaunay", name);
	CHECK_INT(bad_local, 0, what);
	if (brute)
	{
		snprintf(what, sizeof(what), "%s: no point strictly inside any circumcircle", name);
		CHECK_INT(bad_brute, 0, what);
	}
	snprintf(what, sizeof(what), "%s: triangle areas add up to the hull's", name);
	CHECK_NEAR(area, hull_area, 1e-9 * (fabs(hull_area) + 1e-300), what);
	snprintf(what, sizeof(what), "%s: 2n - 2 - h triangles", name);
	if (hull_area != 0.0)
		CHECK_INT(nt, 2 * ndistinct - 2 - nboundary, what);
	else
		CHECK_INT(nt, 0, what);
	snprintf(what, sizeof(what), "%s: the vertices are the last of each distinct point", name);
	CHECK_INT(bad_used, 0, what);
	delaunay_free(d);
	free(last);
	free(used);
	return nt;
}

/*
 * test_triangulations runs check_triangulation on random and nasty sets.
 */
static void
test_triangulations(void)
{
	enum
	{
	NMAX = 4000};
	static double x[NMAX],
				y[NMAX];
	size_t		n;

	/* random */
	for (int i = 0; i < 3000; i++)
	{
		x[i] = rnd() * 1000.0;
		y[i] = rnd() * 1000.0;
	}
	check_triangulation("random 3000", x, y, 3000, 0);
	check_triangulation("random 300", x, y, 300, 1);

	/* random with duplicates */
	for (int i = 0; i < 400; i++)
	{
		int			j = (int) (rnd_u64() % 200);

		x[i] = (i < 200) ? rnd() : x[j];
		y[i] = (i < 200) ? rnd() : y[j];
	}
	check_triangulation("random 200 + 200 duplicates", x, y, 400, 1);

	/* square grid: every quad cocircular */
	n = 0;
	for (int i = 0; i < 40; i++)
		for (int j = 0; j < 40; j++)
		{
			x[n] = j;
			y[n] = i;
			n++;
		}
	check_triangulation("grid 40 x 40", x, y, n, 0);
	check_triangulation("grid 40 x 40 (first 410)", x, y, 410, 1);

	/* the same in UTM coordinates, 0.01 apart */
	n = 0;
	for (int i = 0; i < 30; i++)
		for (int j = 0; j < 30; j++)
		{
			x[n] = 500000.0 + 0.01 * j;
			y[n] = 4600000.0 + 0.01 * i;
			n++;
		}
	check_triangulation("UTM grid 30 x 30, 0.01 apart", x, y, n, 1);

	/* a shuffled grid, with duplicates */
	n = 0;
	for (int i = 0; i < 25; i++)
		for (int j = 0; j < 25; j++)
		{
			x[n] = j * 0.1;
			y[n] = i * 0.1;
			n++;
		}
	for (size_t i = n - 1; i > 0; i--)
	{
		size_t		j = rnd_u64() % (i + 1);
		double		tx = x[i],
					ty = y[i];

		x[i] = x[j];
		y[i] = y[j];
		x[j] = tx;
		y[j] = ty;
	}
	for (int i = 0; i < 100; i++)
	{
		x[n + i] = x[i * 3];
		y[n + i] = y[i * 3];
	}
	check_triangulation("shuffled grid 25 x 25 + 100 duplicates", x, y, n + 100, 1);

	/* integer points on one circle: x^2 + y^2 = 5525^2 */
	n = 0;
	for (int64_t a = -5525; a <= 5525; a++)
	{
		int64_t		b2 = 5525LL * 5525 - a * a;
		int64_t		b = (int64_t) llround(sqrt((double) b2));

		if (b * b == b2)
		{
			x[n] = (double) a;
			y[n++] = (double) b;
			if (b != 0)
			{
				x[n] = (double) a;
				y[n++] = (double) -b;
			}
		}
	}
	CHECK(n > 20, "circle has many lattice points");
	check_triangulation("cocircular lattice points", x, y, n, 1);
	x[n] = 0.0;
	y[n] = 0.0;
	check_triangulation("cocircular + centre", x, y, n + 1, 1);

	/* collinear: none, then one point off the line (a fan) */
	for (int i = 0; i < 100; i++)
	{
		x[i] = 3.0 + 0.5 * ((i * 37) % 100);
		y[i] = 1.0 + 0.25 * ((i * 37) % 100);
	}
	check_triangulation("100 collinear", x, y, 100, 1);
	x[100] = 10.0;
	y[100] = 100.0;
	check_triangulation("100 collinear + 1 off", x, y, 101, 1);
	x[100] = x[50];
	y[100] = y[50];
	x[101] = 0.0;
	y[101] = 0.0;
	check_triangulation("collinear + duplicate + 1 off", x, y, 102, 1);

	/* all identical, 3, 2, 1, 0 points */
	for (int i = 0; i < 50; i++)
	{
		x[i] = 7.0;
		y[i] = -3.0;
	}
	check_triangulation("50 identical", x, y, 50, 1);
	x[0] = 0.0;
	y[0] = 0.0;
	x[1] = 1.0;
	y[1] = 0.0;
	x[2] = 0.0;
	y[2] = 1.0;
	CHECK_INT(check_triangulation("3 points", x, y, 3, 1), 1, "3 points: one triangle");
	check_triangulation("2 points", x, y, 2, 1);
	check_triangulation("1 point", x, y, 1, 1);
	check_triangulation("0 points", x, y, 0, 1);

	/* clustered: a tight cluster far from a few points */
	for (int i = 0; i < 500; i++)
	{
		x[i] = 1e6 + rnd() * 1e-6;
		y[i] = -2e6 + rnd() * 1e-6;
	}
	x[500] = 0.0;
	y[500] = 0.0;
	x[501] = 2e6;
	y[501] = 0.0;
	x[502] = 1e6;
	y[502] = -4e6;
	check_triangulation("tight cluster + 3 far points", x, y, 503, 1);

	/* NaN and infinite coordinates are ignored */
	{
		double		nx[5] = {0.0, NAN, 1.0, 0.0, INFINITY};
		double		ny[5] = {0.0, 0.5, 0.0, 1.0, 2.0};
		delaunay   *d = delaunay_build(nx, ny, 5);
		size_t		v[3];

		CHECK(d != NULL && delaunay_ntriangles(d) == 1, "NaN / inf points ignored: one triangle");
		if (d != NULL && delaunay_ntriangles(d) == 1)
		{
			delaunay_triangle(d, 0, v);
			CHECK(v[0] + v[1] + v[2] == 5 && v[0] != 1 && v[1] != 1 && v[2] != 1,
				  "NaN / inf points ignored: vertices 0, 2, 3");
		}
		delaunay_free(d);
	}
}

/* ---------------------------------------------------------------------
 * interp_linear
 * ---------------------------------------------------------------------
 */

/*
 * test_plane checks that a plane is reproduced inside the hull and that
 * radius 0 gives nodata outside, for random points in plain and in UTM
 * coordinates.
 */
static void
test_plane(void)
{
	enum
	{
	NP = 1500, W = 60, H = 50};
	static double x[NP],
				y[NP],
				v[NP],
				out[W * H];

	for (int pass = 0; pass < 2; pass++)
	{
		double		ox = pass == 0 ? 0.0 : 500000.0;
		double		oy = pass == 0 ? 0.0 : 4600000.0;
		double		size = pass == 0 ? 100.0 : 30.0;
		double		a = 3.5,
					b = -0.25,
					c = 0.75;
		interp_points p = {x, y, v, NP};
		interp_grid g = {ox - 0.1 * size, oy + 1.1 * size, 1.2 * size / W, -1.2 * size / H, W, H};
		linear_options o = {0.0, NODATA};
		delaunay   *d;
		int			bad_in = 0,
					bad_out = 0,
					nin = 0,
					nout = 0;
		char		what[160];

		for (int i = 0; i < NP; i++)
		{
			double		u = rnd() * size,
						w = rnd() * size;

			x[i] = ox + u;
			y[i] = oy + w;
			v[i] = a + b * u + c * w;
		}
		CHECK_INT(interp_linear(&p, &g, &o, NULL, out), INTERP_OK, "plane: interp_linear ok");
		d = delaunay_build(x, y, NP);
		for (int row = 0; row < H; row++)
			for (int col = 0; col < W; col++)
			{
				double		cx = g.ulx + (col + 0.5) * g.sx;
				double		cy = g.uly + (row + 0.5) * g.sy;
				double		got = out[row * W + col];

				if (delaunay_locate(d, cx, cy) >= 0)
				{
					double		want = a + b * (cx - ox) + c * (cy - oy);

					nin++;
					if (!(fabs(got - want) <= 1e-9 * (fabs(want) + 1.0)))
						bad_in++;
				}
				else
				{
					nout++;
					if (got != NODATA)
						bad_out++;
				}
			}
		delaunay_free(d);
		snprintf(what, sizeof(what), "plane (%s): reproduced to 1e-9 in %d cells inside the hull",
				 pass == 0 ? "0..100" : "UTM", nin);
		CHECK(nin > 1000 && bad_in == 0, what);
		snprintf(what, sizeof(what), "plane (%s): radius 0 gives nodata in %d cells outside",
				 pass == 0 ? "0..100" : "UTM", nout);
		CHECK(nout > 300 && bad_out == 0, what);
	}
}

/*
 * test_hand is a case worked out by hand: A(0,0)=1, B(4,0)=5, C(0,4)=9,
 * D(5,5)=0.  D is outside the circle through A, B, C (centre (2,2),
 * r^2 = 8), so the triangles are ABC (z = 1 + x + 2y) and BDC
 * (z = 35/3 - 5x/3 - 2y/3).  Cell centres x = 1, 3, 5 and y = 5, 3, 1.
 */
static void
test_hand(void)
{
	double		x[4] = {0, 4, 0, 5};
	double		y[4] = {0, 0, 4, 5};
	double		v[4] = {1, 5, 9, 0};
	interp_points p = {x, y, v, 4};
	interp_grid g = {0.0, 6.0, 2.0, -2.0, 3, 3};
	double		out[9];
	const double N = NODATA;

	/* rows y = 5, 3, 1; columns x = 1, 3, 5 */
	double		inside[9] = {N, N, 0, 8, 14.0 / 3.0, N, 4, 6, N};
	double		nearest[9] = {9, 0, 0, 8, 14.0 / 3.0, 0, 4, 6, 5};
	double		r15[9] = {9, N, 0, 8, 14.0 / 3.0, N, 4, 6, 5};
	double		radii[3] = {0.0, -1.0, 1.5};
	const double *want[3] = {inside, nearest, r15};
	const char *names[3] = {"radius 0", "radius -1", "radius 1.5"};

	{
		delaunay   *d = delaunay_build(x, y, 4);
		int			ok = d != NULL && delaunay_ntriangles(d) == 2;

		for (size_t t = 0; ok && t < 2; t++)
		{
			size_t		w[3];

			delaunay_triangle(d, t, w);
			/* both triangles hold B and C (the diagonal), one A, the other D */
			ok = (w[0] == 1 || w[1] == 1 || w[2] == 1) && (w[0] == 2 || w[1] == 2 || w[2] == 2);
		}
		CHECK(ok, "hand case: triangles ABC and BDC");
		delaunay_free(d);
	}
	for (int r = 0; r < 3; r++)
	{
		linear_options o = {radii[r], NODATA};
		char		what[120];

		CHECK_INT(interp_linear(&p, &g, &o, NULL, out), INTERP_OK, "hand case: ok");
		for (int c = 0; c < 9; c++)
		{
			snprintf(what, sizeof(what), "hand case, %s: cell %d", names[r], c);
			CHECK_NEAR(out[c], want[r][c], 1e-12, what);
		}
	}
}

/*
 * test_gdal_rules checks GDAL's rules at and beyond the hull, as
 * gdal_grid 3.6 applies them (each value below is what it gives): the
 * nearest-point search is a square, not a circle; with no radius the
 * square starts at s0 = sqrt(box area / n) and doubles, so it can miss the
 * nearest point; a centre outside the hull by less than GDAL's 1e-10
 * barycentric tolerance is interpolated.  Points so far that the squared
 * distances overflow tie, and the highest index wins (GDAL's nearest keeps
 * the last of equals).
 */
static void
test_gdal_rules(void)
{
	interp_grid g = {-0.5, 0.5, 1.0, -1.0, 1, 1};	/* one cell, centre (0, 0) */
	double		out[1];

	/* (1.4, 1.4) is 1.98 away: in the square of half-side 1.5, not in its circle */
	{
		double		x[4] = {1.4, 10, 10, 12};
		double		y[4] = {1.4, 10, 12, 10};
		double		v[4] = {7, 1, 2, 3};
		interp_points p = {x, y, v, 4};
		linear_options o15 = {1.5, NODATA};
		linear_options o13 = {1.3, NODATA};

		interp_linear(&p, &g, &o15, NULL, out);
		CHECK_NEAR(out[0], 7.0, 0.0, "radius 1.5: a point in the square counts (GDAL)");
		interp_linear(&p, &g, &o13, NULL, out);
		CHECK_NEAR(out[0], NODATA, 0.0, "radius 1.3: square empty, nodata");
	}

	/*
	 * Box 0..30 x 8..30, n = 8: s0 = sqrt(82.5) = 9.08.  (0, 10) is the
	 * nearest (10 away) but outside that square; (8, 8) is in it.
	 */
	{
		double		x[8] = {0, 8, 20, 30, 20, 30, 25, 25};
		double		y[8] = {10, 8, 20, 20, 30, 30, 25, 22};
		double		v[8] = {1, 2, 0, 0, 0, 0, 0, 0};
		interp_points p = {x, y, v, 8};
		linear_options o = {-1.0, NODATA};

		interp_linear(&p, &g, &o, NULL, out);
		CHECK_NEAR(out[0], 2.0, 0.0, "radius -1: nearest in GDAL's first non-empty square");
	}

	/* just outside the hypotenuse of (0,0), (10,0), (0,10); z = x + 2y */
	{
		double		x[3] = {0, 10, 0};
		double		y[3] = {0, 0, 10};
		double		v[3] = {0, 10, 20};
		interp_points p = {x, y, v, 3};
		linear_options o = {0.0, NODATA};
		interp_grid gg = {4.5 + 1e-12, 5.5, 1.0, -1.0, 1, 1};

		interp_linear(&p, &gg, &o, NULL, out);
		CHECK_NEAR(out[0], 15.0, 1e-9, "1e-12 outside the hull: interpolated (GDAL's tolerance)");
		gg.ulx = 4.5 + 1e-6;
		interp_linear(&p, &gg, &o, NULL, out);
		CHECK_NEAR(out[0], NODATA, 0.0, "1e-6 outside the hull: nodata");
	}

	/* so far away that every squared distance overflows: all tie, the highest index wins */
	{
		double		x[4] = {3e200, 1e200, 2e200, 1e200};
		double		y[4] = {3e200, 1e200, 1e200, 2e200};
		double		v[4] = {4, 1, 2, 3};
		interp_points p = {x, y, v, 4};
		linear_options o = {-1.0, NODATA};

		interp_linear(&p, &g, &o, NULL, out);
		CHECK_NEAR(out[0], 3.0, 0.0, "radius -1, points 1e200 away (d^2 overflows): the highest index");
	}
}

/*
 * cancel_now is a cancel callback that always says stop.
 */
static bool
cancel_now(void *arg)
{
	(*(int *) arg)++;
	return true;
}

/*
 * test_misc: empty input, collinear input, cancellation, threads, and
 * cells on vertices and edges of a grid of points.
 */
static void
test_misc(void)
{
	enum
	{
	W = 97, H = 83, NP = 3000};
	static double x[NP],
				y[NP],
				v[NP],
				out1[W * H],
				out2[W * H];
	interp_grid g = {-5.0, 105.0, 110.0 / W, -110.0 / H, W, H};
	linear_options o = {-1.0, NODATA};

	/* empty input: all nodata, whatever the radius */
	{
		interp_points p = {x, y, v, 0};
		int			bad = 0;

		CHECK_INT(interp_linear(&p, &g, &o, NULL, out1), INTERP_OK, "empty: ok");
		for (int i = 0; i < W * H; i++)
			bad += out1[i] != NODATA;
		CHECK_INT(bad, 0, "empty: every cell nodata");
	}

	/* collinear points: no triangle; nearest with radius -1, nodata with 0 */
	{
		interp_points p = {x, y, v, 10};
		linear_options o0 = {0.0, NODATA};
		int			bad = 0;

		for (int i = 0; i < 10; i++)
		{
			x[i] = 10.0 * i;
			y[i] = 10.0 * i;
			v[i] = i;
		}
		CHECK_INT(interp_linear(&p, &g, &o, NULL, out1), INTERP_OK, "collinear: ok");
		/* the top-left centre (-4.4, 104.3) projects onto y = x near (50, 50) */
		CHECK_NEAR(out1[0], 5.0, 0.0, "collinear, radius -1: top-left cell takes the nearest");
		CHECK_INT(interp_linear(&p, &g, &o0, NULL, out1), INTERP_OK, "collinear radius 0: ok");
		for (int i = 0; i < W * H; i++)
			bad += out1[i] != NODATA;
		CHECK_INT(bad, 0, "collinear, radius 0: every cell nodata");
	}

	/* random points plus points on the cell centres and edges */
	for (int i = 0; i < NP; i++)
	{
		if (i % 3 == 0)
		{
			/* exactly on a cell centre */
			int			col = (int) (rnd_u64() % W),
						row = (int) (rnd_u64() % H);

			x[i] = g.ulx + (col + 0.5) * g.sx;
			y[i] = g.uly + (row + 0.5) * g.sy;
		}
		else
		{
			x[i] = rnd() * 100.0;
			y[i] = rnd() * 100.0;
		}
		v[i] = sin(x[i] * 0.1) + cos(y[i] * 0.07);
	}

	/* too many points: refused before any array is read */
	{
		interp_points p = {x, y, v, DELAUNAY_MAX_POINTS + 1};

		CHECK_INT(interp_linear(&p, &g, &o, NULL, out1), INTERP_TOO_LARGE, "too many points: INTERP_TOO_LARGE");
		CHECK(delaunay_build(x, y, DELAUNAY_MAX_POINTS + 1) == NULL, "too many points: delaunay_build NULL");
	}

	/* cancellation */
	{
		interp_points p = {x, y, v, NP};
		int			calls = 0;
		interp_exec ex = {2, cancel_now, &calls};

		CHECK_INT(interp_linear(&p, &g, &o, &ex, out1), INTERP_CANCELLED, "cancel: INTERP_CANCELLED");
		CHECK(calls > 0, "cancel: the callback was asked");
		ex.threads = 1;
		CHECK_INT(interp_linear(&p, &g, &o, &ex, out1), INTERP_CANCELLED, "cancel, 1 thread: INTERP_CANCELLED");
		p.n = 0;
		CHECK_INT(interp_linear(&p, &g, &o, &ex, out1), INTERP_CANCELLED, "cancel, no points: INTERP_CANCELLED");
	}

	/* a large triangulation asks too, before any row */
	{
		enum
		{
		NB = 70000};
		double	   *bx = malloc(NB * sizeof(double));
		double	   *by = malloc(NB * sizeof(double));
		double	   *bv = malloc(NB * sizeof(double));
		interp_points p = {bx, by, bv, NB};
		int			calls = 0;
		interp_exec ex = {1, cancel_now, &calls};

		for (int i = 0; i < NB; i++)
		{
			bx[i] = rnd();
			by[i] = rnd();
			bv[i] = 1.0;
		}
		CHECK_INT(interp_linear(&p, &g, &o, &ex, out1), INTERP_CANCELLED, "cancel during the triangulation");
		CHECK_INT(calls, 1, "cancel during the triangulation: asked once, by the build");
		free(bx);
		free(by);
		free(bv);
	}

	/* threads: bit-identical, and a point on a cell centre gives its value */
	for (int r = 0; r < 2; r++)
	{
		interp_points p = {x, y, v, NP};
		interp_exec e1 = {1, NULL, NULL};
		interp_exec e2 = {2, NULL, NULL};
		linear_options oo = {r == 0 ? -1.0 : 0.0, NODATA};
		int			bad = 0;

		CHECK_INT(interp_linear(&p, &g, &oo, &e1, out1), INTERP_OK, "threads=1: ok");
		CHECK_INT(interp_linear(&p, &g, &oo, &e2, out2), INTERP_OK, "threads=2: ok");
		CHECK(memcmp(out1, out2, sizeof(out1)) == 0,
			  r == 0 ? "threads=2 bit-identical to threads=1 (radius -1)" :
			  "threads=2 bit-identical to threads=1 (radius 0)");
		for (int i = 0; i < NP; i += 3)
		{
			int			col = (int) floor((x[i] - g.ulx) / g.sx);
			int			row = (int) floor((y[i] - g.uly) / g.sy);
			int			j;

			/* the last point at this spot wins */
			for (j = NP - 1; j > i; j--)
				if (x[j] == x[i] && y[j] == y[i])
					break;
			if (out1[row * W + col] != v[j])
				bad++;
		}
		CHECK_INT(bad, 0, "a point on a cell centre gives the cell its own value");
	}

	/*
	 * Centres exactly on edges: pairs c + d, c - d around cell centres c of
	 * the first columns (where walks of different chunks start), which
	 * are short and so Delaunay edges, among random points.
	 */
	{
		enum
		{
		GW2 = 40, GH2 = 64, NR = 600, NPAIR = GH2 * 3};
		static double lx[NR + 2 * NPAIR],
					ly[NR + 2 * NPAIR],
					lv[NR + 2 * NPAIR],
					o1[GW2 * GH2],
					o2[GW2 * GH2],
					o3[GW2 * GH2];
		interp_points p = {lx, ly, lv, NR + 2 * NPAIR};
		interp_grid gg = {0.0, 64.0, 1.0, -1.0, GW2, GH2};
		linear_options o0 = {-1.0, NODATA};
		interp_exec e1 = {1, NULL, NULL};
		interp_exec e2 = {2, NULL, NULL};
		interp_exec e3 = {3, NULL, NULL};
		int			n = 0;

		for (int i = 0; i < NR; i++)
		{
			lx[n] = rnd() * 40.0;
			ly[n] = rnd() * 64.0;
			lv[n++] = rnd() * 100.0 - 50.0;
		}
		for (int row = 0; row < GH2; row++)
			for (int col = 0; col < 3; col++)
			{
				double		cx = (col + 0.5),
							cy = 64.0 - (row + 0.5);
				double		dx = (double) ((int) (rnd_u64() % 64) - 32) / 1024.0;
				double		dy = (double) ((int) (rnd_u64() % 64) - 32) / 1024.0 + 1.0 / 2048.0;

				lx[n] = cx + dx;
				ly[n] = cy + dy;
				lv[n++] = rnd() * 100.0 - 50.0;
				lx[n] = cx - dx;
				ly[n] = cy - dy;
				lv[n++] = rnd() * 100.0 - 50.0;
			}
		CHECK_INT(interp_linear(&p, &gg, &o0, &e1, o1), INTERP_OK, "on edges: threads=1 ok");
		CHECK_INT(interp_linear(&p, &gg, &o0, &e2, o2), INTERP_OK, "on edges: threads=2 ok");
		CHECK_INT(interp_linear(&p, &gg, &o0, &e3, o3), INTERP_OK, "on edges: threads=3 ok");
		CHECK(memcmp(o1, o2, sizeof(o1)) == 0 && memcmp(o1, o3, sizeof(o1)) == 0,
			  "centres on edges: threads=2 and 3 bit-identical to threads=1");

		/*
		 * Windows of the same grid start their walks elsewhere, so they
		 * reach the edges from other triangles: same bits all the same.
		 */
		{
			int			bad = 0;

			for (int w = 0; w < 12; w++)
			{
				int			r0 = (w * 37) % GH2,
							c0 = w % 3;
				interp_grid wg = {c0, 64.0 - r0, 1.0, -1.0, GW2 - c0, GH2 - r0};

				CHECK_INT(interp_linear(&p, &wg, &o0, NULL, o2), INTERP_OK, "window: ok");
				for (int row = 0; row < wg.height; row++)
					for (int col = 0; col < wg.width; col++)
						if (memcmp(&o2[row * wg.width + col], &o1[(row + r0) * GW2 + col + c0],
								   sizeof(double)) != 0)
							bad++;
			}
			CHECK_INT(bad, 0, "centres on edges: 12 windows give the same bits");
		}
	}

	/* grid of points on cell corners: centres on edges and vertices, value continuous */
	{
		enum
		{
		GW = 11};
		double		gx[GW * GW],
					gy[GW * GW],
					gv[GW * GW];
		interp_points p = {gx, gy, gv, GW * GW};
		interp_grid gg = {0.0, 10.0, 0.5, -0.5, 20, 20};
		linear_options o0 = {0.0, NODATA};
		double		o[400];
		int			bad = 0;

		for (int i = 0; i < GW * GW; i++)
		{
			gx[i] = i % GW;
			gy[i] = i / GW;
			gv[i] = 2.0 * gx[i] - 3.0 * gy[i] + 1.0;
		}
		CHECK_INT(interp_linear(&p, &gg, &o0, NULL, o), INTERP_OK, "point grid: ok");
		for (int row = 0; row < 20; row++)
			for (int col = 0; col < 20; col++)
			{
				double		cx = (col + 0.5) * 0.5,
							cy = 10.0 - (row + 0.5) * 0.5;

				if (fabs(o[row * 20 + col] - (2.0 * cx - 3.0 * cy + 1.0)) > 1e-12)
					bad++;
			}
		CHECK_INT(bad, 0, "point grid: plane exact on edges and vertices");
	}

	/* a hull edge through cell centres: inside, not nodata */
	{
		double		tx[3] = {0.0, 10.0, 0.0};
		double		ty[3] = {0.0, 0.0, 10.0};
		double		tv[3] = {0.0, 10.0, 20.0};
		interp_points p = {tx, ty, tv, 3};
		interp_grid gg = {-0.5, 10.5, 1.0, -1.0, 11, 11};	/* centres on integers */
		linear_options o0 = {0.0, NODATA};
		double		o[121];
		int			bad = 0;

		CHECK_INT(interp_linear(&p, &gg, &o0, NULL, o), INTERP_OK, "hull edge: ok");
		for (int row = 0; row < 11; row++)
			for (int col = 0; col < 11; col++)
			{
				int			cx = col,
							cy = 10 - row;
				double		want = cx + cy <= 10 ? cx + 2.0 * cy : NODATA;

				if (!(fabs(o[row * 11 + col] - want) <= 1e-12 * fabs(want)))
					bad++;
			}
		CHECK_INT(bad, 0, "hull boundary cells (x = 0, y = 0, x + y = 10) are inside");
	}
}

int
main(void)
{
	test_predicates();
	test_triangulations();
	test_plane();
	test_hand();
	test_gdal_rules();
	test_misc();
	return unit_done();
}
