/*
 * test_interpolate.c — unit tests of the interpolation kernel
 * (src/spatial/interpolate.c): the k-d tree against brute force, IDW
 * ("invdist" and "invdistnn") and nearest on hand-computed cases, a large
 * grid, and empty input.
 */
#include "spatial/interpolate.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define NODATA	(-9999.0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

/*
 * rnd returns a pseudo-random double in [0, 1) (xorshift64*).
 */
static double
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

typedef struct cand
{
	double		d2;
	size_t		i;
} cand;

/*
 * cand_cmp orders brute-force candidates by distance, then index.
 */
static int
cand_cmp(const void *a, const void *b)
{
	const cand *ca = a;
	const cand *cb = b;

	if (ca->d2 != cb->d2)
		return ca->d2 < cb->d2 ? -1 : 1;
	return ca->i < cb->i ? -1 : (ca->i > cb->i ? 1 : 0);
}

/*
 * brute_k is the reference k-nearest search; returns how many.
 */
static size_t
brute_k(const double *x, const double *y, size_t n, double qx, double qy, size_t k,
		double radius, cand *work, size_t *idx, double *d2)
{
	size_t		m = 0;
	double		r2 = radius > 0 ? radius * radius : INFINITY;

	for (size_t i = 0; i < n; i++)
	{
		double		dx = x[i] - qx;
		double		dy = y[i] - qy;
		double		d = dx * dx + dy * dy;

		if (d <= r2)
		{
			work[m].d2 = d;
			work[m].i = i;
			m++;
		}
	}
	qsort(work, m, sizeof(cand), cand_cmp);
	if (m > k)
		m = k;
	for (size_t j = 0; j < m; j++)
	{
		idx[j] = work[j].i;
		d2[j] = work[j].d2;
	}
	return m;
}

/*
 * test_kdtree compares the tree with brute force on random points with
 * duplicates and ties, and checks the small cases.
 */
static void
test_kdtree(void)
{
	enum
	{
	NP = 2000, NQ = 500};
	static double x[NP],
				y[NP],
				qx[NQ],
				qy[NQ];
	static cand work[NP];
	size_t		ks[] = {1, 5, 12};
	double		radii[] = {0.0, 0.05};
	kdtree	   *t;
	char		what[160];

	for (int i = 0; i < NP; i++)
	{
		x[i] = rnd();
		y[i] = rnd();
	}
	/* duplicates, and points on a lattice for equal distances */
	for (int i = 1800; i < 1900; i++)
	{
		x[i] = x[i - 1800];
		y[i] = y[i - 1800];
	}
	for (int i = 1900; i < NP; i++)
	{
		x[i] = (double) ((i - 1900) % 10) / 10.0;
		y[i] = (double) ((i - 1900) / 10) / 10.0;
	}
	for (int q = 0; q < NQ; q++)
	{
		if (q % 5 == 0)
		{
			/* lattice queries: several equidistant points */
			qx[q] = (double) (q % 9) / 10.0 + 0.05;
			qy[q] = (double) ((q / 9) % 9) / 10.0 + 0.05;
		}
		else
		{
			qx[q] = rnd() * 1.2 - 0.1;
			qy[q] = rnd() * 1.2 - 0.1;
		}
	}

	t = kdtree_build(x, y, NP);
	CHECK(t != NULL, "kdtree_build 2000 points");
	if (t == NULL)
		return;
	for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
	{
		for (size_t ri = 0; ri < sizeof(radii) / sizeof(radii[0]); ri++)
		{
			int			bad = 0;

			for (int q = 0; q < NQ; q++)
			{
				size_t		ti[12],
							bi[12];
				double		td[12],
							bd[12];
				size_t		tm = kdtree_nearest_k(t, qx[q], qy[q], ks[ki], radii[ri], ti, td);
				size_t		bm = brute_k(x, y, NP, qx[q], qy[q], ks[ki], radii[ri], work, bi, bd);

				if (tm != bm)
					bad++;
				else
					for (size_t j = 0; j < tm; j++)
						if (ti[j] != bi[j] || td[j] != bd[j])
						{
							bad++;
							break;
						}
			}
			snprintf(what, sizeof(what), "kdtree = brute force, k=%zu radius=%g, %d queries", ks[ki], radii[ri], NQ);
			CHECK_INT(bad, 0, what);
		}
	}
	kdtree_free(t);

	/* n = 0 */
	{
		size_t		idx[3];
		double		d2[3];

		t = kdtree_build(x, y, 0);
		CHECK(t != NULL, "kdtree_build n=0 is not NULL");
		CHECK_INT(kdtree_nearest_k(t, 0.5, 0.5, 3, 0.0, idx, d2), 0, "n=0: no neighbours");
		kdtree_free(t);
	}

	/* k > n */
	{
		double		sx[] = {0.0, 1.0, 3.0};
		double		sy[] = {0.0, 0.0, 0.0};
		size_t		idx[10];
		double		d2[10];
		size_t		m;

		t = kdtree_build(sx, sy, 3);
		m = kdtree_nearest_k(t, 0.9, 0.0, 10, 0.0, idx, d2);
		CHECK_INT(m, 3, "k > n returns n");
		CHECK(m == 3 && idx[0] == 1 && idx[1] == 0 && idx[2] == 2, "k > n: nearest first");
		CHECK_NEAR(d2[0], 0.01, 1e-12, "k > n: squared distance");
		CHECK_INT(kdtree_nearest_k(t, 0.9, 0.0, 10, 1.0, idx, d2), 2, "radius cuts to 2");
		CHECK_INT(kdtree_nearest_k(t, 0.9, 0.0, 0, 0.0, idx, d2), 0, "k = 0");
		kdtree_free(t);
	}

	/* all points identical: ties by index */
	{
		double		sx[50],
					sy[50];
		size_t		idx[5];
		double		d2[5];
		int			ok = 1;

		for (int i = 0; i < 50; i++)
		{
			sx[i] = 2.0;
			sy[i] = -1.0;
		}
		t = kdtree_build(sx, sy, 50);
		CHECK_INT(kdtree_nearest_k(t, 0.0, 0.0, 5, 0.0, idx, d2), 5, "50 duplicates, k=5");
		for (int j = 0; j < 5; j++)
			ok &= idx[j] == (size_t) j && d2[j] == 5.0;
		CHECK(ok, "50 duplicates: indices 0..4 in order");
		kdtree_free(t);
	}
}

/*
 * one_cell runs interp_idw on the single cell centred at (0.5, 0.5).
 */
static double
one_cell(const double *x, const double *y, const double *v, size_t n, const idw_options *o)
{
	interp_points p = {x, y, v, n};
	interp_grid g = {0.0, 1.0, 1.0, -1.0, 1, 1};
	double		out = NAN;

	if (!interp_idw(&p, &g, o, &out))
		return NAN;
	return out;
}

/*
 * test_idw_small checks hand-computed IDW values on one cell centred at
 * (0.5, 0.5).
 */
static void
test_idw_small(void)
{
	/* d = 1 (v 10), d = 2 (v 20) */
	double		x2[] = {1.5, 0.5};
	double		y2[] = {0.5, 2.5};
	double		v2[] = {10.0, 20.0};

	/* at the centre (v 7), d = 1 (v 10), at the centre again (v 8) */
	double		xc[] = {0.5, 1.5, 0.5};
	double		yc[] = {0.5, 0.5, 0.5};
	double		vc[] = {7.0, 10.0, 8.0};

	/* d = 1, 2, 3 on the x axis */
	double		x3[] = {3.5, 1.5, 2.5};
	double		y3[] = {0.5, 0.5, 0.5};
	double		v3[] = {30.0, 10.0, 20.0};
	idw_options o = {2.0, 0.0, 0.0, 0, 0, NODATA};

	CHECK_NEAR(one_cell(x2, y2, v2, 2, &o), 12.0, 1e-12, "invdist p=2: (10 + 20/4) / 1.25");
	o.power = 1.0;
	CHECK_NEAR(one_cell(x2, y2, v2, 2, &o), 20.0 / 1.5, 1e-12, "invdist p=1");
	o.power = 3.0;
	CHECK_NEAR(one_cell(x2, y2, v2, 2, &o), 12.5 / 1.125, 1e-12, "invdist p=3");
	o.power = 2.5;
	CHECK_NEAR(one_cell(x2, y2, v2, 2, &o), (10.0 + 20.0 * pow(2.0, -2.5)) / (1.0 + pow(2.0, -2.5)), 1e-12,
			   "invdist p=2.5 (pow path)");
	o.power = 2.0;
	o.smoothing = 1.0;
	CHECK_NEAR(one_cell(x2, y2, v2, 2, &o), (10.0 / 2 + 20.0 / 5) / (1.0 / 2 + 1.0 / 5), 1e-12,
			   "invdist p=2 smoothing=1: 1/(d^2+s^2)");
	o.power = 3.0;
	CHECK_NEAR(one_cell(x2, y2, v2, 2, &o), (10.0 * pow(2.0, -1.5) + 20.0 * pow(5.0, -1.5)) / (pow(2.0, -1.5) + pow(5.0, -1.5)),
			   1e-12, "invdist p=3 smoothing=1: (d^2+s^2)^-1.5");

	o.power = 2.0;
	o.smoothing = 0.0;
	CHECK_NEAR(one_cell(xc, yc, vc, 3, &o), 7.0, 0.0, "invdist: point at the centre gives its value (first one)");
	o.power = 3.0;
	CHECK_NEAR(one_cell(xc, yc, vc, 3, &o), 7.0, 0.0, "invdist p=3: point at the centre");
	o.power = 2.0;
	o.smoothing = 1.0;
	CHECK_NEAR(one_cell(xc, yc, vc, 3, &o), (7.0 + 10.0 / 2 + 8.0) / (1.0 + 0.5 + 1.0), 1e-12,
			   "invdist smoothing=1: point at the centre is weighted, not taken");
	o.smoothing = 0.0;

	/* invdistnn */
	o.max_points = 2;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), 12.0, 1e-12, "invdistnn max_points=2 takes the 2 nearest");
	o.max_points = 1;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), 10.0, 1e-12, "invdistnn max_points=1");
	o.max_points = 0;
	o.radius = 2.5;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), 12.0, 1e-12, "invdistnn radius=2.5");
	o.radius = 3.0;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), (10.0 + 20.0 / 4 + 30.0 / 9) / (1.0 + 0.25 + 1.0 / 9), 1e-12,
			   "invdistnn radius=3 includes d=3");
	o.radius = 2.5;
	o.min_points = 3;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), NODATA, 0.0, "invdistnn min_points=3 with 2 in radius: nodata");
	o.min_points = 2;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), 12.0, 1e-12, "invdistnn min_points=2 met");
	o.radius = 0.0;
	o.max_points = 2;
	o.min_points = 3;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), NODATA, 0.0, "invdistnn max_points=2 < min_points=3: nodata");
	o.max_points = 0;
	o.min_points = 0;
	o.radius = 0.5;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), NODATA, 0.0, "invdistnn no point in radius: nodata");
	o.radius = 1.0;
	CHECK_NEAR(one_cell(xc, yc, vc, 3, &o), 7.0, 0.0, "invdistnn point at the centre: first one's value");
	o.smoothing = 1.0;
	o.power = 2.0;
	CHECK_NEAR(one_cell(xc, yc, vc, 3, &o), (7.0 + 10.0 / 2 + 8.0) / 2.5, 1e-12, "invdistnn smoothing=1");
}

/*
 * ref_idw is a plain reference of GDAL's invdist for one node.
 */
static double
ref_idw(const double *x, const double *y, const double *v, size_t n, double cx, double cy,
		double power, double smoothing)
{
	double		num = 0.0,
				den = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		r2 = (x[i] - cx) * (x[i] - cx) + (y[i] - cy) * (y[i] - cy) + smoothing * smoothing;
		double		w;

		if (r2 < 1e-13)
			return v[i];
		w = 1.0 / pow(r2, power / 2);
		num += w * v[i];
		den += w;
	}
	return den == 0.0 ? NODATA : num / den;
}

/*
 * test_idw_reference compares a 40 x 30 grid with the plain reference, for
 * invdist (several powers) and invdistnn (radius and max_points).
 */
static void
test_idw_reference(void)
{
	enum
	{
	N = 300, W = 40, H = 30};
	static double x[N],
				y[N],
				v[N],
				out[W * H];
	static cand work[N];
	interp_points p = {x, y, v, N};
	interp_grid g = {100.0, 200.0, 2.5, -2.5, W, H};
	double		powers[] = {1.0, 2.0, 3.0, 4.0, 1.7};
	char		what[160];

	for (int i = 0; i < N; i++)
	{
		x[i] = 100.0 + rnd() * W * 2.5;
		y[i] = 200.0 - rnd() * H * 2.5;
		v[i] = rnd() * 100.0 - 20.0;
	}
	/* put a point exactly on a cell centre */
	x[17] = 100.0 + 3.5 * 2.5;
	y[17] = 200.0 - 4.5 * 2.5;

	for (size_t pi = 0; pi < sizeof(powers) / sizeof(powers[0]); pi++)
	{
		idw_options o = {powers[pi], pi == 1 ? 0.0 : 0.75, 0.0, 0, 0, NODATA};
		double		worst = 0.0;

		CHECK(interp_idw(&p, &g, &o, out), "interp_idw runs");
		for (int r = 0; r < H; r++)
			for (int c = 0; c < W; c++)
			{
				double		want = ref_idw(x, y, v, N, 100.0 + (c + 0.5) * 2.5, 200.0 - (r + 0.5) * 2.5,
										   o.power, o.smoothing);
				double		rel = fabs(out[r * W + c] - want) / fmax(1.0, fabs(want));

				if (!(rel <= worst))
					worst = isnan(rel) ? INFINITY : fmax(worst, rel);
			}
		snprintf(what, sizeof(what), "invdist power=%g smoothing=%g = reference (max rel %.2g)",
				 o.power, o.smoothing, worst);
		CHECK(worst < 1e-12, what);
	}
	{
		idw_options o = {2.0, 0.0, 0.0, 0, 0, NODATA};

		interp_idw(&p, &g, &o, out);
		CHECK_NEAR(out[4 * W + 3], v[17], 0.0, "invdist: cell centred on a point takes its value");
	}

	/* invdistnn against brute force */
	{
		struct
		{
			double		radius;
			int			maxp;
			int			minp;
		}			cases[] = {{0.0, 8, 0}, {10.0, 0, 0}, {10.0, 5, 4}, {6.0, 12, 3}};

		for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
		{
			idw_options o = {2.0, 0.5, cases[ci].radius, cases[ci].maxp, cases[ci].minp, NODATA};
			int			bad = 0,
						nodata = 0;

			CHECK(interp_idw(&p, &g, &o, out), "invdistnn runs");
			for (int r = 0; r < H; r++)
				for (int c = 0; c < W; c++)
				{
					static size_t idx[N];
					static double d2[N];
					double		cx = 100.0 + (c + 0.5) * 2.5;
					double		cy = 200.0 - (r + 0.5) * 2.5;
					size_t		m = brute_k(x, y, N, cx, cy, o.max_points > 0 ? (size_t) o.max_points : N,
											o.radius, work, idx, d2);
					double		num = 0.0,
								den = 0.0,
								want;

					for (size_t j = 0; j < m; j++)
					{
						double		w = 1.0 / (d2[j] + 0.25);

						num += w * v[idx[j]];
						den += w;
					}
					want = (m < (size_t) o.min_points || den == 0.0) ? NODATA : num / den;
					nodata += want == NODATA;
					if (fabs(out[r * W + c] - want) > 1e-12 * fmax(1.0, fabs(want)))
						bad++;
				}
			snprintf(what, sizeof(what), "invdistnn radius=%g max=%d min=%d = brute force (%d nodata cells)",
					 o.radius, o.max_points, o.min_points, nodata);
			CHECK_INT(bad, 0, what);
		}
	}
}

/*
 * test_nearest checks "nearest" with and without a radius, and ties.
 */
static void
test_nearest(void)
{
	/* cells centred at (0.5, 0.5), (1.5, 0.5), (2.5, 0.5) */
	interp_grid g = {0.0, 1.0, 1.0, -1.0, 3, 1};
	double		x[] = {0.5, 3.0, 2.0};
	double		y[] = {0.5, 0.5, 0.5};
	double		v[] = {1.0, 2.0, 3.0};
	interp_points p = {x, y, v, 1};
	nearest_options o = {0.6, NODATA};
	double		out[3];

	CHECK(interp_nearest(&p, &g, &o, out), "interp_nearest runs");
	CHECK_NEAR(out[0], 1.0, 0.0, "nearest: inside radius");
	CHECK_NEAR(out[1], NODATA, 0.0, "nearest: outside radius is nodata");
	CHECK_NEAR(out[2], NODATA, 0.0, "nearest: far outside radius is nodata");
	o.radius = 0.0;
	interp_nearest(&p, &g, &o, out);
	CHECK(out[0] == 1.0 && out[1] == 1.0 && out[2] == 1.0, "nearest: radius 0 is unlimited");

	/* (2.5, 0.5) is 0.5 from both x=3 (index 1) and x=2 (index 2) */
	p.n = 3;
	interp_nearest(&p, &g, &o, out);
	CHECK_NEAR(out[2], 2.0, 0.0, "nearest: tie goes to the lower index");
	CHECK_NEAR(out[1], 3.0, 0.0, "nearest: plain nearest");
}

/*
 * test_empty checks n = 0: every cell is nodata, no NaN.
 */
static void
test_empty(void)
{
	interp_grid g = {0.0, 10.0, 1.0, -1.0, 4, 3};
	interp_points p = {NULL, NULL, NULL, 0};
	idw_options io = {2.0, 0.0, 0.0, 0, 0, NODATA};
	nearest_options no = {0.0, NODATA};
	double		out[12];
	int			ok;

	CHECK(interp_idw(&p, &g, &io, out), "n=0 invdist runs");
	ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= out[i] == NODATA;
	CHECK(ok, "n=0 invdist: all nodata");
	io.max_points = 4;
	CHECK(interp_idw(&p, &g, &io, out), "n=0 invdistnn runs");
	ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= out[i] == NODATA;
	CHECK(ok, "n=0 invdistnn: all nodata");
	CHECK(interp_nearest(&p, &g, &no, out), "n=0 nearest runs");
	ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= out[i] == NODATA;
	CHECK(ok, "n=0 nearest: all nodata");
}

/*
 * test_large runs a 300 x 300 grid over 2,000 points (time printed, not
 * asserted).
 */
static void
test_large(void)
{
	enum
	{
	N = 2000, W = 300, H = 300};
	static double x[N],
				y[N],
				v[N];
	double	   *out = malloc((size_t) W * H * sizeof(double));
	interp_points p = {x, y, v, N};
	interp_grid g = {0.0, 1000.0, 1000.0 / W, -1000.0 / H, W, H};
	idw_options o = {2.0, 0.0, 0.0, 0, 0, NODATA};
	nearest_options no = {0.0, NODATA};
	clock_t		t0;
	double		secs;
	int			ok = 1;

	if (out == NULL)
	{
		CHECK(0, "allocate 300 x 300");
		return;
	}
	for (int i = 0; i < N; i++)
	{
		x[i] = rnd() * W;
		y[i] = rnd() * H;
		v[i] = rnd() * 50.0;
	}
	t0 = clock();
	CHECK(interp_idw(&p, &g, &o, out), "invdist 300 x 300, 2000 points runs");
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("# invdist 300 x 300 cells, 2000 points: %.2f s CPU\n", secs);
	for (size_t c = 0; c < (size_t) W * H; c++)
		ok &= out[c] >= 0.0 && out[c] <= 50.0;
	CHECK(ok, "invdist 300 x 300: values within the data range, no NaN");

	o.max_points = 12;
	o.radius = 100.0;
	t0 = clock();
	CHECK(interp_idw(&p, &g, &o, out), "invdistnn 300 x 300 runs");
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("# invdistnn (radius 100, max 12) 300 x 300 cells, 2000 points: %.2f s CPU\n", secs);

	t0 = clock();
	CHECK(interp_nearest(&p, &g, &no, out), "nearest 300 x 300 runs");
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("# nearest 300 x 300 cells, 2000 points: %.2f s CPU\n", secs);
	free(out);
}

int
main(void)
{
	test_kdtree();
	test_idw_small();
	test_idw_reference();
	test_nearest();
	test_empty();
	test_large();
	return unit_done();
}
