/*
 * test_interpolate.c — unit tests of the interpolation kernel
 * (src/spatial/interpolate.c, kdtree.c, buckets.c, idw_simd.c,
 * idw_farfield.c): the k-d tree against brute force (ties,
 * duplicates, far queries, points on a line, a cluster with a far outlier,
 * NaN points, k beyond the sorted-array limit), IDW ("invdist" and
 * "invdistnn") and nearest on hand-computed cases, nearest and invdistnn
 * on both search structures (bucket grid, k-d tree) against brute force
 * with many exact ties and cells exactly at the radius, every invdist
 * instruction-set path against a naive double reference (local and
 * UTM-like coordinates, points on and next to cell centres), the same bits
 * with 1 and 2 threads, cancellation, a large grid, and empty input.
 */
#include "spatial/interpolate.h"
#include "spatial/kdtree.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define NODATA	(-9999.0)

/*
 * The float32 SIMD invdist path is within 4.5e-6 * M of the exact value
 * (error analysis in idw_simd.c's header), M = sum w |v| / sum w, which
 * is |exact| when the values share a sign; the tests allow SIMD_BOUND * M.
 */
#define SIMD_BOUND	5e-6

/*
 * The search structures of nearest and invdistnn (the options' search):
 * the gridder's choice, the bucket grid (finite input), the k-d tree.
 */
static const interp_search paths[] = {INTERP_SEARCH_AUTO, INTERP_SEARCH_BUCKETS, INTERP_SEARCH_TREE};
static const char *const path_names[] = {"auto", "bucket grid", "k-d tree"};

#define NPATHS 3

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
	size_t		ks[] = {1, 5, 12, 80};
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
		else if (q % 5 == 1)
		{
			/* far outside the points' box */
			qx[q] = rnd() * 100.0 - 50.0;
			qy[q] = rnd() * 100.0 - 50.0;
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
				size_t		ti[80],
							bi[80];
				double		td[80],
							bd[80];
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
 * kd_vs_brute counts the queries (qx[q], qy[q]) on which kdtree_nearest_k
 * differs from brute force, for k and radius.
 */
static int
kd_vs_brute(const kdtree *t, const double *x, const double *y, size_t n, const double *qx,
			const double *qy, int nq, size_t k, double radius, cand *work)
{
	int			bad = 0;

	for (int q = 0; q < nq; q++)
	{
		size_t		ti[100],
					bi[100];
		double		td[100],
					bd[100];
		size_t		tm = kdtree_nearest_k(t, qx[q], qy[q], k, radius, ti, td);
		size_t		bm = brute_k(x, y, n, qx[q], qy[q], k, radius, work, bi, bd);

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
	return bad;
}

/*
 * test_kdtree_layouts compares the tree with brute force on layouts that
 * defeat a search bounded by splitting planes alone: points on a line
 * (never split across it), a tight cluster with a far outlier, queries far
 * away; and points with NaN coordinates, which must never be returned.
 */
static void
test_kdtree_layouts(void)
{
	enum
	{
	NP = 1500, NQ = 300};
	static double x[NP],
				y[NP],
				qx[NQ],
				qy[NQ];
	static cand work[NP];
	const char *names[] = {"points on a line", "a cluster and a far outlier", "NaN coordinates"};
	char		what[200];

	for (int layout = 0; layout < 3; layout++)
	{
		kdtree	   *t;
		int			bad = 0;

		for (int i = 0; i < NP; i++)
		{
			if (layout == 0)
			{
				x[i] = (double) (i % 300);
				y[i] = 7.0;
			}
			else
			{
				x[i] = rnd() * 3.0;
				y[i] = rnd() * 3.0;
			}
		}
		if (layout == 1)
		{
			x[NP / 2] = 900.0;
			y[NP / 2] = -700.0;
		}
		if (layout == 2)
			for (int i = 0; i < NP; i += 7)
			{
				if (i % 2)
					x[i] = NAN;
				else
					y[i] = NAN;
			}
		for (int q = 0; q < NQ; q++)
		{
			qx[q] = rnd() * 2000.0 - 1000.0;
			qy[q] = rnd() * 2000.0 - 1000.0;
			if (q % 3 == 0)
			{
				qx[q] = rnd() * 4.0 - 0.5;
				qy[q] = layout == 0 ? 7.0 + (rnd() - 0.5) * 20.0 : rnd() * 4.0 - 0.5;
			}
		}
		t = kdtree_build(x, y, NP);
		CHECK(t != NULL, "kdtree_build");
		if (t == NULL)
			continue;
		bad += kd_vs_brute(t, x, y, NP, qx, qy, NQ, 1, 0.0, work);
		bad += kd_vs_brute(t, x, y, NP, qx, qy, NQ, 7, 0.0, work);
		bad += kd_vs_brute(t, x, y, NP, qx, qy, NQ, 100, 0.0, work);
		bad += kd_vs_brute(t, x, y, NP, qx, qy, NQ, 7, 2.0, work);
		snprintf(what, sizeof(what), "kdtree = brute force on %s (k 1, 7, 100; radius 0 and 2)", names[layout]);
		CHECK_INT(bad, 0, what);
		kdtree_free(t);
	}

	/* every point NaN: an empty tree */
	{
		double		nx[3] = {NAN, 1.0, NAN};
		double		ny[3] = {0.0, NAN, NAN};
		size_t		idx[3];
		double		d2[3];
		kdtree	   *t = kdtree_build(nx, ny, 3);

		CHECK(t != NULL && kdtree_nearest_k(t, 0.0, 0.0, 3, 0.0, idx, d2) == 0,
			  "kdtree: points with a NaN coordinate are never returned");
		kdtree_free(t);
	}
}

/*
 * brute_nearest is the reference of "nearest" for one node: the value of
 * the point with the smallest d^2 <= radius^2 (radius 0: unlimited), the
 * highest index among equals (GDAL's: the last with d^2 <= the best), or
 * nodata.  *dbest gets its d^2 and *ties the
 * number of points at that d^2.
 */
static double
brute_nearest(const double *x, const double *y, const double *v, size_t n, double qx, double qy,
			  double radius, double *dbest, int *ties)
{
	double		r2 = radius > 0 ? radius * radius : INFINITY;
	double		bd = 0.0;
	size_t		bi = SIZE_MAX;

	*ties = 0;
	for (size_t i = 0; i < n; i++)
	{
		double		dx = x[i] - qx;
		double		dy = y[i] - qy;
		double		d = dx * dx + dy * dy;

		if (!(d <= r2))
			continue;
		if (bi == SIZE_MAX || d < bd)
		{
			bd = d;
			bi = i;
			*ties = 1;
		}
		else if (d == bd)
		{
			bi = i;
			(*ties)++;
		}
	}
	*dbest = bd;
	return bi == SIZE_MAX ? NODATA : v[bi];
}

/* The point sets of test_nearest_brute. */
enum
{
	NB_HALF,					/* on cell centres (half-integers), with duplicates */
	NB_QUARTER,					/* on a quarter-unit lattice: equidistant to many centres */
	NB_UNIFORM,					/* uniform, with duplicates */
	NB_SPARSE,					/* 25 points: many cells out of every radius */
	NB_CLUSTER,					/* a tight cluster and a far outlier */
	NB_LINE,					/* on a horizontal line */
	NB_BEYOND,					/* inside a small part of the grid: far cells */
	NB_NONFINITE,				/* some NaN and infinite coordinates */
	NB_SETS
};

static const char *const nb_names[NB_SETS] = {"half-integer lattice", "quarter lattice", "uniform",
	"25 points", "cluster + far outlier", "line", "points in a corner of the grid",
"NaN and infinite coordinates"};

/*
 * nb_points fills set kind (NB_*) for a w x h grid of unit cells over
 * [0, w] x [0, h]; returns how many points.  Values are the indices, so a
 * wrong tie-break shows.
 */
static size_t
nb_points(int kind, int w, int h, double *x, double *y, double *v, size_t nmax)
{
	size_t		n = kind == NB_SPARSE ? 25 : nmax;

	for (size_t i = 0; i < n; i++)
	{
		switch (kind)
		{
			case NB_HALF:
				x[i] = floor(rnd() * (w + 4)) - 1.5;
				y[i] = floor(rnd() * (h + 4)) - 1.5;
				break;
			case NB_QUARTER:
				x[i] = floor(rnd() * 4 * (w + 2)) / 4.0 - 1.0;
				y[i] = floor(rnd() * 4 * (h + 2)) / 4.0 - 1.0;
				break;
			case NB_CLUSTER:
				x[i] = 3.0 + rnd() * 0.5;
				y[i] = 4.0 + rnd() * 0.5;
				break;
			case NB_LINE:
				x[i] = floor(rnd() * 2 * w) / 2.0;
				y[i] = h / 2.0;
				break;
			case NB_BEYOND:
				x[i] = w * 0.4 + floor(rnd() * 20) / 4.0;
				y[i] = h * 0.4 + floor(rnd() * 20) / 4.0;
				break;
			default:
				x[i] = rnd() * w;
				y[i] = rnd() * h;
				break;
		}
		v[i] = (double) i;
	}
	/* duplicates, some at lower indices than their originals */
	for (size_t i = 0; i < n / 8; i++)
	{
		size_t		a = (size_t) (rnd() * n);
		size_t		b = (size_t) (rnd() * n);

		x[a] = x[b];
		y[a] = y[b];
	}
	if (kind == NB_CLUSTER)
	{
		x[n / 3] = 10.0 * w;
		y[n / 3] = -5.0 * h;
	}
	if (kind == NB_NONFINITE)
	{
		x[5] = NAN;
		y[9] = NAN;
		x[11] = INFINITY;
		y[13] = -INFINITY;
	}
	return n;
}

/*
 * test_nearest_brute compares interp_nearest with brute force on every
 * point set (NB_*), radius and search structure, with 1 and 2 threads;
 * the radii are exact squares of lattice distances, so that many cells
 * have their nearest point exactly at the radius (d^2 == radius^2, which
 * is inside) and many have several nearest points (the highest index wins).
 */
static void
test_nearest_brute(void)
{
	enum
	{
	W = 37, H = 23, NMAX = 400};
	static double x[NMAX],
				y[NMAX],
				v[NMAX],
				a[W * H],
				b[W * H];
	double		radii[] = {0.0, 1.0, 2.0, 0.75, 1.25, 3.0};
	long		at_radius = 0,
				tied = 0,
				nodata = 0;
	char		what[240];

	for (int kind = 0; kind < NB_SETS; kind++)
	{
		size_t		n = nb_points(kind, W, H, x, y, v, NMAX);

		for (size_t ri = 0; ri < sizeof(radii) / sizeof(radii[0]); ri++)
		{
			nearest_options o = {radii[ri], NODATA, INTERP_SEARCH_AUTO};
			interp_grid g = {0.0, (double) H, 1.0, -1.0, W, H};
			interp_points p = {x, y, v, n};
			int			bad[NPATHS] = {0};
			bool		same_threads = true;

			for (int path = 0; path < NPATHS; path++)
			{
				interp_exec one = {1, NULL, NULL};
				interp_exec two = {2, NULL, NULL};

				o.search = paths[path];
				if (interp_nearest(&p, &g, &o, &one, a) != INTERP_OK ||
					interp_nearest(&p, &g, &o, &two, b) != INTERP_OK)
					bad[path]++;
				same_threads &= memcmp(a, b, sizeof(a)) == 0;
				for (int r = 0; r < H; r++)
					for (int c = 0; c < W; c++)
					{
						double		d;
						int			ties;
						double		want = brute_nearest(x, y, v, n, c + 0.5, H - (r + 0.5),
														 radii[ri], &d, &ties);

						if (a[r * W + c] != want)
							bad[path]++;
						if (path == 0)
						{
							at_radius += want != NODATA && radii[ri] > 0 && d == radii[ri] * radii[ri];
							tied += ties > 1;
							nodata += want == NODATA;
						}
					}
			}
			snprintf(what, sizeof(what),
					 "nearest = brute force on %s, radius %g: %d/%d/%d cells differ (auto/grid/tree), 2 threads = 1",
					 nb_names[kind], radii[ri], bad[0], bad[1], bad[2]);
			CHECK(bad[0] == 0 && bad[1] == 0 && bad[2] == 0 && same_threads, what);
		}
	}
	snprintf(what, sizeof(what), "nearest: the cases include cells with their nearest exactly at the radius (%ld), "
			 "with tied nearest points (%ld), and out of range (%ld)", at_radius, tied, nodata);
	CHECK(at_radius > 100 && tied > 1000 && nodata > 100, what);
}

/*
 * test_idwnn_brute compares invdistnn with brute force on lattices with
 * many equal distances (the k-th neighbour is often one of several: the
 * lower indices must be taken, and in order, for the same bits), on both
 * search structures, with k below and above the sorted-array limit.
 */
static void
test_idwnn_brute(void)
{
	enum
	{
	W = 31, H = 19, NMAX = 300};
	static double x[NMAX],
				y[NMAX],
				v[NMAX],
				out[W * H];
	static cand work[NMAX];
	static size_t idx[NMAX];
	static double d2[NMAX];
	struct
	{
		int			kind;
		double		radius;
		int			maxp;
		int			minp;
	}			cases[] = {{NB_HALF, 0.0, 5, 0}, {NB_HALF, 2.0, 12, 3}, {NB_QUARTER, 1.25, 7, 0},
	{NB_QUARTER, 3.0, 100, 0}, {NB_UNIFORM, 0.0, 12, 0}, {NB_UNIFORM, 3.0, 0, 2}, {NB_SPARSE, 4.0, 3, 1},
	{NB_CLUSTER, 0.0, 9, 0}, {NB_BEYOND, 0.0, 70, 0}, {NB_NONFINITE, 0.0, 6, 0}};
	char		what[240];

	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
	{
		size_t		n = nb_points(cases[ci].kind, W, H, x, y, v, NMAX);
		idw_options o = {2.0, 0.5, cases[ci].radius, cases[ci].maxp, cases[ci].minp, NODATA,
		IDW_SIMD_BEST, IDW_FAR_AUTO, INTERP_SEARCH_AUTO};
		interp_grid g = {0.0, (double) H, 1.0, -1.0, W, H};
		interp_points p = {x, y, v, n};
		int			bad[NPATHS] = {0};
		size_t		k = o.max_points > 0 && (size_t) o.max_points < n ? (size_t) o.max_points : n;

		for (int path = 0; path < NPATHS; path++)
		{
			interp_exec two = {2, NULL, NULL};

			o.search = paths[path];
			if (interp_idw(&p, &g, &o, path == 1 ? &two : NULL, out) != INTERP_OK)
				bad[path]++;
			for (int r = 0; r < H; r++)
				for (int c = 0; c < W; c++)
				{
					size_t		m = brute_k(x, y, n, c + 0.5, H - (r + 0.5), k, o.radius, work, idx, d2);
					double		num = 0.0,
								den = 0.0,
								want;

					/* the kernel's sums, in its order: the same bits */
					for (size_t j = 0; j < m; j++)
					{
						double		w = 1.0 / (d2[j] + 0.25);

						num += w * v[idx[j]];
						den += w;
					}
					want = (m < (size_t) o.min_points || den == 0.0) ? NODATA : num / den;
					if (out[r * W + c] != want)
						bad[path]++;
				}
		}
		snprintf(what, sizeof(what),
				 "invdistnn = brute force bit for bit on %s, radius %g, max %d, min %d: %d/%d/%d cells differ (auto/grid/tree)",
				 nb_names[cases[ci].kind], o.radius, o.max_points, o.min_points, bad[0], bad[1], bad[2]);
		CHECK(bad[0] == 0 && bad[1] == 0 && bad[2] == 0, what);
	}
}

/* The instruction-set caps the invdist tests run with (the options' simd), and their names. */
static const idw_simd caps[] = {IDW_SIMD_NONE, IDW_SIMD_AVX2, IDW_SIMD_AVX512};
static const char *const cap_names[] = {"double", "AVX2", "AVX-512"};

#define NCAPS ((int) (sizeof(caps) / sizeof(caps[0])))

/*
 * cpu_has says whether this CPU can run the invdist path cap (AVX2 and
 * FMA, or AVX-512F), so that the tests can tell that the path really ran.
 */
static bool
cpu_has(idw_simd cap)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	if (cap == IDW_SIMD_AVX2)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (cap == IDW_SIMD_AVX512)
		return __builtin_cpu_supports("avx512f") != 0;
#endif
	return cap == IDW_SIMD_NONE;
}

/*
 * check_rel checks |got - want| <= rtol * |want| (0: exactly), the label
 * tagged with the path.
 */
static void
check_rel(double got, double want, double rtol, const char *what, const char *path)
{
	char		buf[200];

	snprintf(buf, sizeof(buf), "%s [%s]", what, path);
	CHECK_NEAR(got, want, rtol * fabs(want), buf);
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

	if (interp_idw(&p, &g, o, NULL, &out) != INTERP_OK)
		return NAN;
	return out;
}

/*
 * test_idw_small checks hand-computed IDW values on one cell centred at
 * (0.5, 0.5), with invdist on the instruction-set path cap (the values
 * are positive, so the SIMD bound is relative).
 */
static void
test_idw_small(int cap)
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
	idw_options o = {2.0, 0.0, 0.0, 0, 0, NODATA, caps[cap], IDW_FAR_AUTO, INTERP_SEARCH_AUTO};
	const char *path = cap_names[cap];
	double		rt = caps[cap] == IDW_SIMD_NONE ? 1e-12 : SIMD_BOUND;

	check_rel(one_cell(x2, y2, v2, 2, &o), 12.0, rt, "invdist p=2: (10 + 20/4) / 1.25", path);
	o.power = 1.0;
	check_rel(one_cell(x2, y2, v2, 2, &o), 20.0 / 1.5, rt, "invdist p=1", path);
	o.power = 3.0;
	check_rel(one_cell(x2, y2, v2, 2, &o), 12.5 / 1.125, rt, "invdist p=3", path);
	o.power = 2.5;
	check_rel(one_cell(x2, y2, v2, 2, &o), (10.0 + 20.0 * pow(2.0, -2.5)) / (1.0 + pow(2.0, -2.5)), rt,
			  "invdist p=2.5 (exp2/log2 or pow)", path);
	o.power = 2.0;
	o.smoothing = 1.0;
	check_rel(one_cell(x2, y2, v2, 2, &o), (10.0 / 2 + 20.0 / 5) / (1.0 / 2 + 1.0 / 5), rt,
			  "invdist p=2 smoothing=1: 1/(d^2+s^2)", path);
	o.power = 3.0;
	check_rel(one_cell(x2, y2, v2, 2, &o), (10.0 * pow(2.0, -1.5) + 20.0 * pow(5.0, -1.5)) / (pow(2.0, -1.5) + pow(5.0, -1.5)),
			  rt, "invdist p=3 smoothing=1: (d^2+s^2)^-1.5", path);

	o.power = 2.0;
	o.smoothing = 0.0;
	check_rel(one_cell(xc, yc, vc, 3, &o), 7.0, 0.0, "invdist: point at the centre gives its value (first one)", path);
	o.power = 3.0;
	check_rel(one_cell(xc, yc, vc, 3, &o), 7.0, 0.0, "invdist p=3: point at the centre", path);
	o.power = 2.0;
	o.smoothing = 1.0;
	check_rel(one_cell(xc, yc, vc, 3, &o), (7.0 + 10.0 / 2 + 8.0) / (1.0 + 0.5 + 1.0), rt,
			  "invdist smoothing=1: point at the centre is weighted, not taken", path);
	o.smoothing = 0.0;

	if (cap != 0)
		return;

	/* invdistnn (no SIMD path) */
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
	o.power = 3.0;
	CHECK_NEAR(one_cell(x3, y3, v3, 3, &o), (10.0 + 20.0 / 8 + 30.0 / 27) / (1.0 + 1.0 / 8 + 1.0 / 27), 1e-12,
			   "invdistnn p=3 radius=3");
	o.power = 2.0;
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
 * ref_idw is a naive double reference of GDAL's invdist for one node; *m
 * gets sum w |v| / sum w, the scale of the SIMD bound.
 */
static double
ref_idw(const double *x, const double *y, const double *v, size_t n, double cx, double cy,
		double power, double smoothing, double *m)
{
	double		num = 0.0,
				den = 0.0,
				mag = 0.0;
	bool		can_snap = !(power == 2.0 && smoothing > 0);

	for (size_t i = 0; i < n; i++)
	{
		double		r2 = (x[i] - cx) * (x[i] - cx) + (y[i] - cy) * (y[i] - cy) + smoothing * smoothing;
		double		w;

		if (can_snap && r2 < 1e-13)
		{
			*m = fabs(v[i]);
			return v[i];
		}
		w = 1.0 / pow(r2, power / 2);
		num += w * v[i];
		den += w;
		mag += w * fabs(v[i]);
	}
	*m = den == 0.0 ? 0.0 : mag / den;
	return den == 0.0 ? NODATA : num / den;
}

/*
 * grid_vs_ref runs interp_idw (invdist) on g with path caps[cap] and the
 * far field as ff says, and returns the worst |got - ref| / tol over the cells, where tol is
 * 1e-12 * max(1, |ref|) when exact (or on the double path), else
 * SIMD_BOUND * M; > 1 fails.
 */
static double
grid_vs_ref(const interp_points *p, const interp_grid *g, double power, double smoothing,
			int cap, idw_far_field ff, bool exact, double *out)
{
	idw_options o = {power, smoothing, 0.0, 0, 0, NODATA, caps[cap], ff, INTERP_SEARCH_AUTO};
	double		worst = 0.0;

	if (interp_idw(p, g, &o, NULL, out) != INTERP_OK)
		return INFINITY;
	for (int r = 0; r < g->height; r++)
		for (int c = 0; c < g->width; c++)
		{
			double		m;
			double		want = ref_idw(p->x, p->y, p->v, p->n, g->ulx + (c + 0.5) * g->sx,
									   g->uly + (r + 0.5) * g->sy, power, smoothing, &m);
			double		tol = (exact || caps[cap] == IDW_SIMD_NONE) ? 1e-12 * fmax(1.0, fabs(want)) : SIMD_BOUND * m;
			double		q = fabs(out[(size_t) r * g->width + c] - want) / tol;

			if (!(q <= worst))
				worst = isnan(q) ? INFINITY : q;
		}
	return worst;
}

/*
 * test_idw_reference compares a 40 x 30 grid with the naive reference on
 * every path, for invdist (several powers and smoothings, values of both
 * signs, a point on a cell centre, one next to a centre, one within the
 * snapping distance of a centre) and invdistnn (radius, max_points,
 * powers) against brute force.
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
	static double first[NCAPS][W * H];
	interp_points p = {x, y, v, N};
	interp_grid g = {100.0, 200.0, 2.5, -2.5, W, H};
	struct
	{
		double		power;
		double		smoothing;
	}			ps[] = {{2.0, 0.0}, {2.0, 0.75}, {3.0, 1.0}, {1.0, 0.75}, {4.0, 0.75},
	{1.7, 0.75}, {2.5, 0.0}, {0.0, 0.0}, {-1.0, 0.5}, {8.0, 0.0}, {12.0, 0.5}};
	char		what[200];

	for (int i = 0; i < N; i++)
	{
		x[i] = 100.0 + rnd() * W * 2.5;
		y[i] = 200.0 - rnd() * H * 2.5;
		v[i] = rnd() * 100.0 - 20.0;
	}
	/* a point exactly on a cell centre */
	x[17] = 100.0 + 3.5 * 2.5;
	y[17] = 200.0 - 4.5 * 2.5;
	/* 0.004 cell from a centre: the SIMD path redoes that cell in double */
	x[18] = 100.0 + 20.5 * 2.5 + 0.01;
	y[18] = 200.0 - 10.5 * 2.5;
	/* 2e-7 from a centre: snaps (d^2 < 1e-13) when smoothing is 0 */
	x[19] = 100.0 + 30.5 * 2.5;
	y[19] = 200.0 - 20.5 * 2.5 + 2e-7;

	for (int cap = 0; cap < NCAPS; cap++)
		for (size_t pi = 0; pi < sizeof(ps) / sizeof(ps[0]); pi++)
		{
			double		q = grid_vs_ref(&p, &g, ps[pi].power, ps[pi].smoothing, cap, IDW_FAR_AUTO, false, out);

			snprintf(what, sizeof(what), "invdist power=%g smoothing=%g = naive reference [%s] (worst %.2g of the bound)",
					 ps[pi].power, ps[pi].smoothing, cap_names[cap], q);
			CHECK(q <= 1.0, what);
			if (ps[pi].smoothing == 0.0 && ps[pi].power == 2.0)
			{
				snprintf(what, sizeof(what), "invdist: cells centred on/at 2e-7 from a point take its value [%s]",
						 cap_names[cap]);
				CHECK(out[4 * W + 3] == v[17] && out[20 * W + 30] == v[19], what);
				memcpy(first[cap], out, sizeof(out));
			}
		}
	for (int cap = 1; cap < NCAPS; cap++)
		if (cpu_has(caps[cap]))
		{
			snprintf(what, sizeof(what), "the %s path ran (its bits differ from the double loop's)", cap_names[cap]);
			CHECK(memcmp(first[cap], first[0], sizeof(out)) != 0, what);
		}

	/* invdistnn against brute force */
	{
		struct
		{
			double		radius;
			int			maxp;
			int			minp;
			double		power;
		}			cases[] = {{0.0, 8, 0, 2.0}, {10.0, 0, 0, 2.0}, {10.0, 5, 4, 2.0}, {6.0, 12, 3, 2.0},
		{10.0, 6, 0, 3.0}, {10.0, 6, 0, 1.5}, {0.0, 5, 0, 1.0}, {8.0, 7, 0, 4.0}};

		for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
		{
			idw_options o = {cases[ci].power, 0.5, cases[ci].radius, cases[ci].maxp, cases[ci].minp, NODATA,
			IDW_SIMD_BEST, IDW_FAR_AUTO, INTERP_SEARCH_AUTO};
			int			bad = 0,
						nodata = 0;

			CHECK(interp_idw(&p, &g, &o, NULL, out) == INTERP_OK, "invdistnn runs");
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
						double		w = 1.0 / pow(d2[j] + 0.25, o.power / 2);

						num += w * v[idx[j]];
						den += w;
					}
					want = (m < (size_t) o.min_points || den == 0.0) ? NODATA : num / den;
					nodata += want == NODATA;
					if (fabs(out[r * W + c] - want) > 1e-12 * fmax(1.0, fabs(want)))
						bad++;
				}
			snprintf(what, sizeof(what), "invdistnn power=%g radius=%g max=%d min=%d = brute force (%d nodata cells)",
					 o.power, o.radius, o.max_points, o.min_points, nodata);
			CHECK_INT(bad, 0, what);
		}
	}
}

/*
 * test_idw_far_field compares invdist with the far field forced on (tiles
 * of 64 x 64 cells, far points summed at Chebyshev nodes and interpolated)
 * with the naive reference: non-square cells, powers 1 to 4 with and
 * without smoothing, values of both signs, points far outside the grid (so
 * every tile has far points), a point on a cell centre, one that snaps and
 * one 0.004 cell from a centre (redone in double); the far field must have
 * run (other bits than without it) and give the same bits on 1 and 2
 * threads.  On CPUs without AVX2 it cannot run, and the double loop is
 * checked instead.
 */
static void
test_idw_far_field(void)
{
	enum
	{
	N = 250, W = 150, H = 140};
	static double x[N],
				y[N],
				v[N],
				out[W * H],
				off[W * H],
				two[W * H];
	interp_points p = {x, y, v, N};
	interp_grid g = {5000.0, 9000.0, 2.5, -2.0, W, H};
	interp_exec ex2 = {2, NULL, NULL};
	double		ps[][2] = {{2.0, 0.0}, {2.0, 0.75}, {1.0, 0.0}, {3.0, 1.0}, {4.0, 0.5}, {3.0, 0.0}};
	bool		simd = cpu_has(1);
	char		what[200];

	for (int i = 0; i < N; i++)
	{
		/* three times the grid's extent each way: most points are far from most tiles */
		x[i] = 5000.0 + (rnd() * 3.0 - 1.0) * W * 2.5;
		y[i] = 9000.0 - (rnd() * 3.0 - 1.0) * H * 2.0;
		v[i] = rnd() * 100.0 - 20.0;
	}
	x[7] = 5000.0 + 70.5 * 2.5;	/* on a cell centre */
	y[7] = 9000.0 - 100.5 * 2.0;
	x[8] = 5000.0 + 120.5 * 2.5 + 0.01;	/* 0.004 cell from a centre */
	y[8] = 9000.0 - 30.5 * 2.0;
	x[9] = 5000.0 + 10.5 * 2.5;	/* 2e-7 from a centre: snaps without smoothing */
	y[9] = 9000.0 - 130.5 * 2.0 + 2e-7;

	for (size_t pi = 0; pi < sizeof(ps) / sizeof(ps[0]); pi++)
	{
		idw_options o = {ps[pi][0], ps[pi][1], 0.0, 0, 0, NODATA, caps[simd ? 1 : 0], IDW_FAR_ALWAYS,
		INTERP_SEARCH_AUTO};
		double		q = grid_vs_ref(&p, &g, ps[pi][0], ps[pi][1], simd ? 1 : 0, IDW_FAR_ALWAYS, false, out);

		snprintf(what, sizeof(what), "invdist with the far field, power=%g smoothing=%g = naive reference (worst %.2g of the bound)",
				 ps[pi][0], ps[pi][1], q);
		CHECK(q <= 1.0, what);
		if (ps[pi][1] == 0.0)
		{
			snprintf(what, sizeof(what), "invdist with the far field, power=%g: a cell centred on (2e-7 from) a point takes its value",
					 ps[pi][0]);
			CHECK(out[100 * W + 70] == v[7] && out[130 * W + 10] == v[9], what);
		}
		CHECK(interp_idw(&p, &g, &o, &ex2, two) == INTERP_OK && memcmp(out, two, sizeof(out)) == 0,
			  "invdist with the far field: 2 threads give the same bits as 1");
		if (simd)
		{
			o.far_field = IDW_FAR_NEVER;
			CHECK(interp_idw(&p, &g, &o, NULL, off) == INTERP_OK && memcmp(out, off, sizeof(out)) != 0,
				  "invdist: the far field ran (its bits differ from the cell-by-cell SIMD loop's)");
		}
	}
}

/*
 * test_utm compares invdist with UTM-like coordinates (x ~ 500,000,
 * y ~ 4,600,000, 1 m cells) with the naive reference on every path,
 * including points 1 mm from a cell centre, 1e-7 m from one (snaps) and on
 * one; and points very far from the grid, which the SIMD path must leave
 * to the double loop.
 */
static void
test_utm(void)
{
	enum
	{
	N = 200, W = 70, H = 45};
	static double x[N],
				y[N],
				v[N],
				out[W * H],
				dbl[W * H];
	interp_points p = {x, y, v, N};
	interp_grid g = {500000.0, 4600000.0, 1.0, -1.0, W, H};
	struct
	{
		double		power;
		double		smoothing;
	}			ps[] = {{2.0, 0.0}, {3.0, 1.0}, {1.5, 0.0}, {2.0, 0.2}};
	char		what[200];

	for (int i = 0; i < N; i++)
	{
		x[i] = 500000.0 + rnd() * W;
		y[i] = 4600000.0 - rnd() * H;
		v[i] = 10.0 + rnd() * 90.0;
	}
	x[5] = 500000.0 + 12.5 + 0.001;
	y[5] = 4600000.0 - 7.5;
	x[6] = 500000.0 + 40.5;
	y[6] = 4600000.0 - 30.5 - 1e-7;
	x[7] = 500000.0 + 60.5;
	y[7] = 4600000.0 - 2.5;

	for (int cap = 0; cap < NCAPS; cap++)
		for (size_t pi = 0; pi < sizeof(ps) / sizeof(ps[0]); pi++)
		{
			double		q = grid_vs_ref(&p, &g, ps[pi].power, ps[pi].smoothing, cap, IDW_FAR_AUTO, false, out);

			snprintf(what, sizeof(what), "UTM invdist power=%g smoothing=%g = naive reference [%s] (worst %.2g of the bound)",
					 ps[pi].power, ps[pi].smoothing, cap_names[cap], q);
			CHECK(q <= 1.0, what);
		}

	/* a point 10^6 cells away: the SIMD path must not run (double: 1e-12) */
	x[8] = 500000.0 + 1e6;
	grid_vs_ref(&p, &g, 2.0, 0.0, 0, IDW_FAR_AUTO, true, dbl);
	for (int cap = 1; cap < NCAPS; cap++)
	{
		double		q = grid_vs_ref(&p, &g, 2.0, 0.0, cap, IDW_FAR_AUTO, true, out);

		snprintf(what, sizeof(what), "UTM invdist, a point 1e6 cells away: the double loop's bits [%s] (worst %.2g of 1e-12)",
				 cap_names[cap], q);
		CHECK(q <= 1.0 && memcmp(out, dbl, sizeof(out)) == 0, what);
	}
}

/*
 * run_method runs invdist (method 0, on path simd), invdistnn (1) or
 * nearest (2) (both with search) on a small grid with exec; the grid width is not a multiple of 16, so the
 * SIMD tails run.
 */
static interp_status
run_method(int method, double power, idw_simd simd, interp_search search, const interp_exec *exec,
		   double *out, int *w, int *h)
{
	enum
	{
	N = 500, W = 75, H = 64};
	static double x[N],
				y[N],
				v[N];
	static bool made = false;
	interp_points p = {x, y, v, N};
	interp_grid g = {0.0, 64.0, 1.0, -1.0, W, H};

	if (!made)
	{
		for (int i = 0; i < N; i++)
		{
			x[i] = rnd() * W;
			y[i] = rnd() * H;
			v[i] = rnd() * 100.0;
		}
		x[3] = 10.5;			/* on a cell centre */
		y[3] = 63.5 - 20.0;
		made = true;
	}
	*w = W;
	*h = H;
	if (method == 0)
	{
		idw_options o = {power, power == 3.0 ? 1.0 : 0.0, 0.0, 0, 0, NODATA, simd, IDW_FAR_AUTO, search};

		return interp_idw(&p, &g, &o, exec, out);
	}
	if (method == 1)
	{
		idw_options o = {power, 0.0, 6.0, 8, 2, NODATA, simd, IDW_FAR_AUTO, search};

		return interp_idw(&p, &g, &o, exec, out);
	}
	{
		nearest_options o = {3.0, NODATA, search};

		return interp_nearest(&p, &g, &o, exec, out);
	}
}

/*
 * test_threads checks that 2 threads give the same bits as 1, for every
 * method and invdist path.
 */
static void
test_threads(void)
{
	static double a[75 * 64],
				b[75 * 64];
	interp_exec one = {1, NULL, NULL};
	interp_exec two = {2, NULL, NULL};
	struct
	{
		int			method;
		double		power;
		const char *name;
	}			ms[] = {{0, 2.0, "invdist p=2"}, {0, 3.0, "invdist p=3 s=1"}, {0, 2.5, "invdist p=2.5"},
	{1, 2.0, "invdistnn p=2"}, {1, 1.5, "invdistnn p=1.5"}, {2, 0.0, "nearest"}};
	char		what[200];

	for (int cap = 0; cap < NCAPS; cap++)
		for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++)
			for (int path = 0; path < NPATHS; path++)
			{
				int			w,
							h;
				interp_status s1,
							s2;

				if (cap > 0 && ms[mi].method != 0)
					continue;
				if (path > 0 && ms[mi].method == 0)
					continue;
				memset(a, 0, sizeof(a));
				memset(b, 0xff, sizeof(b));
				s1 = run_method(ms[mi].method, ms[mi].power, caps[cap], paths[path], &one, a, &w, &h);
				s2 = run_method(ms[mi].method, ms[mi].power, caps[cap], paths[path], &two, b, &w, &h);
				snprintf(what, sizeof(what), "%s: 2 threads give the same bits as 1 [%s]", ms[mi].name,
						 ms[mi].method == 0 ? cap_names[cap] : path_names[path]);
				CHECK(s1 == INTERP_OK && s2 == INTERP_OK && memcmp(a, b, sizeof(double) * w * h) == 0, what);
			}
}

typedef struct cancel_state
{
	int			calls;
	int			stop_at;
} cancel_state;

/*
 * cancel_after says stop on its stop_at-th call.
 */
static bool
cancel_after(void *arg)
{
	cancel_state *s = arg;

	return ++s->calls >= s->stop_at;
}

/*
 * test_cancel checks that a cancel callback stops every method with
 * INTERP_CANCELLED, leaving later rows untouched, and that one that never
 * says stop is called and harmless.
 */
static void
test_cancel(void)
{
	static double out[75 * 64];
	const char *names[] = {"invdist", "invdistnn", "nearest"};
	char		what[200];

	for (int run = 0; run < 5; run++)
	{
		int			method = run < 3 ? run : run - 2;
		cancel_state cs = {0, 3};
		interp_exec ex = {1, cancel_after, &cs};
		interp_status st;
		int			w,
					h;
		bool		untouched = true;

		/* invdistnn and nearest once on each search structure */
		int			path = run < 3 ? 1 : 2;

		for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
			out[i] = 12345.0;
		st = run_method(method, 2.0, IDW_SIMD_BEST, paths[path], &ex, out, &w, &h);
		snprintf(what, sizeof(what), "%s [%s]: cancel on the 3rd call gives INTERP_CANCELLED", names[method],
				 method == 0 ? "" : path_names[path]);
		CHECK_INT(st, INTERP_CANCELLED, what);
		snprintf(what, sizeof(what), "%s [%s]: cancel callback called 3 times", names[method],
				 method == 0 ? "" : path_names[path]);
		CHECK_INT(cs.calls, 3, what);
		for (int c = 0; c < w; c++)
			untouched &= out[(size_t) (h - 1) * w + c] == 12345.0;
		snprintf(what, sizeof(what), "%s [%s]: the last row was not computed", names[method],
				 method == 0 ? "" : path_names[path]);
		CHECK(untouched, what);

		/*
		 * with 2 threads, stop at the calling thread's first question: a later
		 * one may never come if the other thread takes every row first (a
		 * loaded machine), which made this check flaky
		 */
		cs.calls = 0;
		cs.stop_at = 1;
		ex.threads = 2;
		st = run_method(method, 2.0, IDW_SIMD_BEST, paths[path], &ex, out, &w, &h);
		snprintf(what, sizeof(what), "%s [%s]: cancel with 2 threads gives INTERP_CANCELLED", names[method],
				 method == 0 ? "" : path_names[path]);
		CHECK_INT(st, INTERP_CANCELLED, what);

		cs.calls = 0;
		cs.stop_at = 1000000;
		st = run_method(method, 2.0, IDW_SIMD_BEST, paths[path], &ex, out, &w, &h);
		snprintf(what, sizeof(what), "%s [%s]: a callback that never stops: INTERP_OK, called %d times", names[method],
				 method == 0 ? "" : path_names[path], cs.calls);
		CHECK(st == INTERP_OK && cs.calls > 0, what);
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
	nearest_options o = {0.6, NODATA, INTERP_SEARCH_AUTO};
	double		out[3];

	CHECK(interp_nearest(&p, &g, &o, NULL, out) == INTERP_OK, "interp_nearest runs");
	CHECK_NEAR(out[0], 1.0, 0.0, "nearest: inside radius");
	CHECK_NEAR(out[1], NODATA, 0.0, "nearest: outside radius is nodata");
	CHECK_NEAR(out[2], NODATA, 0.0, "nearest: far outside radius is nodata");
	o.radius = 0.0;
	interp_nearest(&p, &g, &o, NULL, out);
	CHECK(out[0] == 1.0 && out[1] == 1.0 && out[2] == 1.0, "nearest: radius 0 is unlimited");

	/* (2.5, 0.5) is 0.5 from both x=3 (index 1) and x=2 (index 2) */
	p.n = 3;
	interp_nearest(&p, &g, &o, NULL, out);
	CHECK_NEAR(out[2], 3.0, 0.0, "nearest: tie goes to the higher index (GDAL keeps the last)");

	/*
	 * Two readings at one spot, on either search structure: the later one,
	 * as GDAL (whose quadtree lists duplicates in input order and keeps the
	 * last of equals).  Enough points for the bucket grid to be usable.
	 */
	{
		enum
		{
		ND = 64};
		double		dx[ND],
					dy[ND],
					dv[ND];
		interp_points dp = {dx, dy, dv, ND};
		interp_grid dg = {0.0, 8.0, 1.0, -1.0, 8, 8};
		double		dout[64];
		const interp_search searches[] = {INTERP_SEARCH_AUTO, INTERP_SEARCH_BUCKETS, INTERP_SEARCH_TREE};

		/* 32 spots on cell centres, each read twice: first 100 + k, then 200 + k */
		for (int k = 0; k < ND / 2; k++)
		{
			dx[k] = dx[k + ND / 2] = (k * 5) % 8 + 0.5;
			dy[k] = dy[k + ND / 2] = 7.5 - (double) (k / 4);
			dv[k] = 100 + k;
			dv[k + ND / 2] = 200 + k;
		}
		for (int s = 0; s < 3; s++)
		{
			nearest_options od = {0.0, NODATA, searches[s]};
			int			bad = 0;

			CHECK(interp_nearest(&dp, &dg, &od, NULL, dout) == INTERP_OK, "nearest with duplicates runs");
			for (int k = 0; k < ND / 2; k++)
			{
				int			col = (int) dx[k];
				int			row = (int) (7.5 - dy[k]);

				bad += dout[row * 8 + col] != 200 + k;
			}
			CHECK_INT(bad, 0, s == 0 ? "nearest, duplicates (auto search): the later reading at each spot" :
					  s == 1 ? "nearest, duplicates (bucket grid): the later reading at each spot" :
					  "nearest, duplicates (k-d tree): the later reading at each spot");
		}
	}
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
	idw_options io = {2.0, 0.0, 0.0, 0, 0, NODATA, IDW_SIMD_BEST, IDW_FAR_AUTO, INTERP_SEARCH_AUTO};
	nearest_options no = {0.0, NODATA, INTERP_SEARCH_AUTO};
	double		out[12];
	int			ok;

	CHECK(interp_idw(&p, &g, &io, NULL, out) == INTERP_OK, "n=0 invdist runs");
	ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= out[i] == NODATA;
	CHECK(ok, "n=0 invdist: all nodata");
	io.max_points = 4;
	CHECK(interp_idw(&p, &g, &io, NULL, out) == INTERP_OK, "n=0 invdistnn runs");
	ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= out[i] == NODATA;
	CHECK(ok, "n=0 invdistnn: all nodata");
	CHECK(interp_nearest(&p, &g, &no, NULL, out) == INTERP_OK, "n=0 nearest runs");
	ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= out[i] == NODATA;
	CHECK(ok, "n=0 nearest: all nodata");
}

/*
 * test_large runs a 300 x 300 grid over 2,000 points with 2 threads (time
 * printed, not asserted).
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
	idw_options o = {2.0, 0.0, 0.0, 0, 0, NODATA, IDW_SIMD_BEST, IDW_FAR_AUTO, INTERP_SEARCH_AUTO};
	nearest_options no = {0.0, NODATA, INTERP_SEARCH_AUTO};
	interp_exec ex = {2, NULL, NULL};
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
	CHECK(interp_idw(&p, &g, &o, &ex, out) == INTERP_OK, "invdist 300 x 300, 2000 points runs");
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("# invdist 300 x 300 cells, 2000 points: %.2f s CPU\n", secs);
	for (size_t c = 0; c < (size_t) W * H; c++)
		ok &= out[c] >= 0.0 && out[c] <= 50.0;
	CHECK(ok, "invdist 300 x 300: values within the data range, no NaN");
	ok = 1;
	for (size_t c = 0; c < (size_t) W * H; c += 97)
	{
		double		m;
		double		want = ref_idw(x, y, v, N, g.ulx + (c % W + 0.5) * g.sx, g.uly + (c / W + 0.5) * g.sy,
								   2.0, 0.0, &m);

		ok &= fabs(out[c] - want) <= SIMD_BOUND * m;
	}
	CHECK(ok, "invdist 300 x 300: every 97th cell = naive reference within the SIMD bound");

	o.max_points = 12;
	o.radius = 100.0;
	t0 = clock();
	CHECK(interp_idw(&p, &g, &o, &ex, out) == INTERP_OK, "invdistnn 300 x 300 runs");
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("# invdistnn (radius 100, max 12) 300 x 300 cells, 2000 points: %.2f s CPU\n", secs);

	t0 = clock();
	CHECK(interp_nearest(&p, &g, &no, &ex, out) == INTERP_OK, "nearest 300 x 300 runs");
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("# nearest 300 x 300 cells, 2000 points: %.2f s CPU\n", secs);
	free(out);
}

int
main(void)
{
	test_kdtree();
	test_kdtree_layouts();
	for (int cap = 0; cap < NCAPS; cap++)
		test_idw_small(cap);
	test_idw_reference();
	test_utm();
	test_idw_far_field();
	test_threads();
	test_cancel();
	test_nearest();
	test_nearest_brute();
	test_idwnn_brute();
	test_empty();
	test_large();
	return unit_done();
}
