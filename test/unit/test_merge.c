/*
 * test_merge.c — unit tests of the point-merging kernel (src/detect/merge.c,
 * merge_iterative.c):
 * hand cases for each method (merge_similar_sites' overlapping sites on a
 * chain, PostGIS's cluster.sql DBSCAN cases, the border point that goes to
 * the first core in input order, n <= min_points), errors, and on random
 * point sets: SINGLE_LINK and DBSCAN against brute-force O(n^2) versions
 * of liblwgeom's union_dbscan, ITERATIVE_MEAN against a brute-force
 * version of merge_similar_sites, and the properties every method keeps
 * (sites numbered by first member, positions the members' means).
 */
#include "detect/merge.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

static int
run(const double *x, const double *y, int64_t n, double r, MergeMethod m, int minp,
	int32_t *site_of, double **xy, int64_t *ns)
{
	char		err[256] = "";
	int			rc = merge_points(x, y, n, r, m, minp, site_of, xy, ns, &A, err, sizeof(err));

	if (rc != 0)
		printf("# error: %s\n", err);
	return rc;
}

/* Brute-force liblwgeom union_dbscan, sites numbered by first member. */
static int64_t
ref_dbscan(const double *x, const double *y, int64_t n, double eps, int minp, int32_t *out)
{
	int64_t    *par = malloc((size_t) n * sizeof(int64_t));
	char	   *inc = calloc((size_t) n, 1),
			   *core = calloc((size_t) n, 1);
	int64_t    *ren = malloc((size_t) n * sizeof(int64_t));
	int64_t		ns = 0;

	for (int64_t i = 0; i < n; i++)
		par[i] = i, ren[i] = -1;
#define FIND(a) ({ int64_t a_ = (a); while (par[a_] != a_) a_ = par[a_]; a_; })
#define JOIN(a, b) do { int64_t ra = FIND(a), rb = FIND(b); if (ra != rb) par[ra > rb ? ra : rb] = ra > rb ? rb : ra; } while (0)
	if (minp <= 1)
	{
		memset(inc, 1, (size_t) n);
		for (int64_t p = 0; p < n; p++)
			for (int64_t q = 0; q < n; q++)
				if (sqrt((x[q] - x[p]) * (x[q] - x[p]) + (y[q] - y[p]) * (y[q] - y[p])) <= eps)
					JOIN(p, q);
	}
	else if (n > minp)
	{
		for (int64_t p = 0; p < n; p++)
		{
			int64_t		cnt = 0;

			for (int64_t q = 0; q < n; q++)
				cnt += sqrt((x[q] - x[p]) * (x[q] - x[p]) + (y[q] - y[p]) * (y[q] - y[p])) <= eps;
			if (cnt < minp)
				continue;
			core[p] = inc[p] = 1;
			for (int64_t q = 0; q < n; q++)
				if (sqrt((x[q] - x[p]) * (x[q] - x[p]) + (y[q] - y[p]) * (y[q] - y[p])) <= eps)
				{
					if (!inc[q])
					{
						JOIN(p, q);
						inc[q] = 1;
					}
					else if (core[q])
						JOIN(p, q);
				}
		}
	}
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		r;

		if (!inc[i])
		{
			out[i] = -1;
			continue;
		}
		r = FIND(i);
		if (ren[r] < 0)
			ren[r] = ns++;
		out[i] = (int32_t) ren[r];
	}
#undef FIND
#undef JOIN
	free(par);
	free(inc);
	free(core);
	free(ren);
	return ns;
}

/* Brute-force merge_similar_sites; returns the number of sites, means in xy. */
static int64_t
ref_iterative(const double *x, const double *y, int64_t n, double r, double *xy)
{
	double	   *q = malloc((size_t) n * 2 * sizeof(double));
	char	   *sets = malloc((size_t) (n * n));	/* membership rows */
	char	   *uniq = malloc((size_t) (n * n));
	int64_t		nq = n,
				num = n,
				nu = 0;

	for (int64_t i = 0; i < n; i++)
	{
		double		sx = 0,
					sy = 0;
		int64_t		c = 0;

		for (int64_t p = 0; p < n; p++)
			if ((x[i] - x[p]) * (x[i] - x[p]) + (y[i] - y[p]) * (y[i] - y[p]) <= r * r)
				sx += x[p], sy += y[p], c++;
		q[2 * i] = sx / (double) c;
		q[2 * i + 1] = sy / (double) c;
	}
	for (;;)
	{
		nu = 0;
		for (int64_t j = 0; j < nq; j++)
		{
			int			dup = 0;

			for (int64_t p = 0; p < n; p++)
				sets[p] = (q[2 * j] - x[p]) * (q[2 * j] - x[p]) + (q[2 * j + 1] - y[p]) * (q[2 * j + 1] - y[p]) <= r * r;
			for (int64_t u = 0; u < nu && !dup; u++)
				dup = memcmp(uniq + u * n, sets, (size_t) n) == 0;
			if (!dup)
				memcpy(uniq + (nu++) * n, sets, (size_t) n);
		}
		for (int64_t u = 0; u < nu; u++)
		{
			double		sx = 0,
						sy = 0;
			int64_t		c = 0;

			for (int64_t p = 0; p < n; p++)
				if (uniq[u * n + p])
					sx += x[p], sy += y[p], c++;
			q[2 * u] = sx / (double) c;
			q[2 * u + 1] = sy / (double) c;
		}
		nq = nu;
		if (nu == num)
			break;
		num = nu;
	}
	memcpy(xy, q, (size_t) nq * 2 * sizeof(double));
	free(q);
	free(sets);
	free(uniq);
	return nq;
}

static int
cmp_xy(const void *a, const void *b)
{
	const double *p = a,
			   *q = b;

	if (p[0] != q[0])
		return p[0] < q[0] ? -1 : 1;
	return (p[1] > q[1]) - (p[1] < q[1]);
}

static void
test_hand(void)
{
	int32_t		so[16];
	double	   *xy = NULL;
	int64_t		ns = -1;

	/* Two points at exactly the radius: one site at their middle. */
	{
		double		x[] = {0, 1},
					y[] = {0, 0};

		CHECK_INT(run(x, y, 2, 1.0, MERGE_ITERATIVE_MEAN, 1, so, &xy, &ns), 0, "pair merges");
		CHECK_INT(ns, 1, "pair at distance == radius: one site (<= radius)");
		CHECK(ns == 1 && xy[0] == 0.5 && xy[1] == 0, "pair: site at the middle");
		CHECK(so[0] == 0 && so[1] == 0, "pair: both in site 0");
		free(xy);
	}
	/* A chain 0, 1, 2 with radius 1: merge_similar_sites keeps three overlapping sites. */
	{
		double		x[] = {0, 1, 2},
					y[] = {0, 0, 0};

		CHECK_INT(run(x, y, 3, 1.0, MERGE_ITERATIVE_MEAN, 1, so, &xy, &ns), 0, "chain merges");
		CHECK_INT(ns, 3, "chain (iterative mean): three sites, as the original leaves them");
		CHECK(ns == 3 && xy[0] == 0.5 && xy[2] == 1 && xy[4] == 1.5, "chain: sites at 0.5, 1, 1.5");
		CHECK(so[0] == 0 && so[1] == 1 && so[2] == 2, "chain: each point's lineage");
		free(xy);
		CHECK_INT(run(x, y, 3, 1.0, MERGE_SINGLE_LINK, 1, so, &xy, &ns), 0, "chain single link");
		CHECK(ns == 1 && xy[0] == 1 && so[2] == 0, "chain (single link): one site at the mean");
		free(xy);
		CHECK_INT(run(x, y, 3, 1.0, MERGE_DBSCAN, 3, so, &xy, &ns), 0, "chain dbscan 3");
		CHECK(ns == 0 && xy == NULL && so[0] == -1 && so[1] == -1 && so[2] == -1,
			  "chain (dbscan 3): n <= min_points is all noise, as in PostGIS");
		free(xy);
	}
	{
		double		x[] = {0, 1, 2, 10},
					y[] = {0, 0, 0, 0};

		CHECK_INT(run(x, y, 4, 1.0, MERGE_DBSCAN, 3, so, &xy, &ns), 0, "chain+1 dbscan 3");
		CHECK(ns == 1 && so[0] == 0 && so[1] == 0 && so[2] == 0 && so[3] == -1,
			  "chain+1 (dbscan 3): middle core, ends border, far point noise");
		CHECK(ns == 1 && xy[0] == 1 && xy[1] == 0, "chain+1: site at the members' mean");
		free(xy);
		CHECK_INT(run(x, y, 4, 1.0, MERGE_DBSCAN, 4, so, &xy, &ns), 0, "chain+1 dbscan 4");
		CHECK(ns == 0 && so[1] == -1, "chain+1 (dbscan 4): no core, all noise");
		free(xy);
	}
	/* PostGIS regress/cluster.sql's dbscan_inputs. */
	{
		double		x[] = {0, 0, -0.5, 1, 1, 1.0},
					y[] = {0, 1, 0.5, 0, 1, 0.5};

		CHECK_INT(run(x, y, 6, 0.8, MERGE_DBSCAN, 1, so, &xy, &ns), 0, "t101");
		CHECK(ns == 2 && so[0] == 0 && so[1] == 0 && so[2] == 0 && so[3] == 1 && so[4] == 1 && so[5] == 1,
			  "t101: eps 0.8, minpoints 1: two clusters");
		free(xy);
		CHECK_INT(run(x, y, 6, 0.8, MERGE_DBSCAN, 4, so, &xy, &ns), 0, "t102");
		CHECK_INT(ns, 0, "t102: minpoints 4: no cluster");
		free(xy);
		CHECK_INT(run(x, y, 6, 0.6, MERGE_DBSCAN, 3, so, &xy, &ns), 0, "t103");
		CHECK(ns == 1 && so[0] == -1 && so[1] == -1 && so[2] == -1 && so[3] == 0 && so[4] == 0 && so[5] == 0,
			  "t103: eps 0.6, minpoints 3: the right cluster only");
		free(xy);
	}
	/* A border point reachable from two clusters goes to the first core's. */
	{
		double		x1[] = {1.8, 1.5, 1.0, -1.8, -1.5, -1.0, 0},
					x2[] = {-1.8, -1.5, -1.0, 1.8, 1.5, 1.0, 0},
					y[7] = {0};

		CHECK_INT(run(x1, y, 7, 1.0, MERGE_DBSCAN, 4, so, &xy, &ns), 0, "border (right first)");
		CHECK(ns == 2 && so[6] == 0 && so[3] == 1, "border point joins the right cluster when its core comes first");
		CHECK(ns == 2 && fabs(xy[0] - 4.3 / 4) < 1e-15, "border: site 0 is the mean of its four members");
		free(xy);
		CHECK_INT(run(x2, y, 7, 1.0, MERGE_DBSCAN, 4, so, &xy, &ns), 0, "border (left first)");
		CHECK(ns == 2 && so[6] == 0 && so[3] == 1, "border point joins the left cluster when its core comes first");
		free(xy);
	}
	/* Tiny cells: a mean a rounding away from the points (once an overflow). */
	{
		double		x[] = {-7.377431585676764e-200, -7.377431585676764e-200, -7.377431585676764e-200},
					y[] = {-7.377431585676764e-200, -7.377431585676764e-200, -7.377431585676764e-200};

		CHECK_INT(run(x, y, 3, 4.3458473757294e-311, MERGE_ITERATIVE_MEAN, 1, so, &xy, &ns), 0,
				  "identical points, subnormal radius: no overflow");
		CHECK(ns == 1 && so[0] == 0 && so[2] == 0, "identical points: one site");
		free(xy);
	}
	/* n == 0 and errors. */
	{
		double		x[] = {0, NAN},
					y[] = {0, 0};
		char		err[128] = "";

		CHECK_INT(merge_points(NULL, NULL, 0, 1, MERGE_DBSCAN, 2, NULL, &xy, &ns, &A, err, sizeof(err)), 0, "n 0: fine");
		CHECK(ns == 0 && xy == NULL, "n 0: no sites");
		CHECK_INT(merge_points(x, y, 2, 1, MERGE_SINGLE_LINK, 1, so, &xy, &ns, &A, err, sizeof(err)), -1, "NaN coordinate: error");
		CHECK(strstr(err, "point 2") != NULL, "NaN coordinate: names the point");
		CHECK_INT(merge_points(x, y, 1, 0, MERGE_SINGLE_LINK, 1, so, &xy, &ns, &A, err, sizeof(err)), -1, "radius 0: error");
		CHECK_INT(merge_points(x, y, 1, NAN, MERGE_SINGLE_LINK, 1, so, &xy, &ns, &A, err, sizeof(err)), -1, "radius NaN: error");
		CHECK_INT(merge_points(x, y, 1, -1, MERGE_ITERATIVE_MEAN, 1, so, &xy, &ns, &A, err, sizeof(err)), -1, "radius < 0: error");
		CHECK_INT(merge_points(x, y, 1, 1, MERGE_DBSCAN, 0, so, &xy, &ns, &A, err, sizeof(err)), -1, "min_points 0: error");
		{
			double		bx[] = {-1e308, 1e308},
						by[] = {0, 0};

			CHECK_INT(merge_points(bx, by, 2, 1, MERGE_SINGLE_LINK, 1, so, &xy, &ns, &A, err, sizeof(err)), -1,
					  "extent overflowing a double: error");
		}
		CHECK_INT(merge_points(x, y, 1, 1, (MergeMethod) 7, 1, so, &xy, &ns, &A, err, sizeof(err)), -1, "unknown method: error");
	}
}

static void
test_random(void)
{
	unsigned	seed = 777;
	int			bad_part = 0,
				bad_mean = 0,
				bad_iter = 0,
				bad_order = 0;

	for (int t = 0; t < 300; t++)
	{
		int64_t		n = 1 + (seed = seed * 1103515245u + 12345u) % 120;
		double		x[120],
					y[120],
					refxy[240];
		int32_t		so[120],
					ref[120];
		double		r = 0.02 + ((seed = seed * 1103515245u + 12345u) % 1000) / 4000.0;
		double		span = (t % 3 == 0) ? 1e6 : 1.0;

		for (int64_t i = 0; i < n; i++)
		{
			x[i] = ((seed = seed * 1103515245u + 12345u) % 100000) / 100000.0 * span;
			y[i] = ((seed = seed * 1103515245u + 12345u) % 100000) / 100000.0;
			if (t % 5 == 0 && i > 0 && i % 4 == 0)
				x[i] = x[i - 1], y[i] = y[i - 1];	/* duplicates */
		}
		for (int minp = 1; minp <= 5; minp += 2)
		{
			double	   *xy;
			int64_t		ns,
						rns;

			if (run(x, y, n, r, minp == 1 ? MERGE_SINGLE_LINK : MERGE_DBSCAN, minp, so, &xy, &ns) != 0)
			{
				bad_part++;
				continue;
			}
			rns = ref_dbscan(x, y, n, r, minp, ref);
			if (rns != ns || memcmp(ref, so, (size_t) n * sizeof(int32_t)) != 0)
				bad_part++;
			for (int64_t s = 0; s < ns; s++)
			{
				double		sx = 0,
							sy = 0;
				int64_t		c = 0,
							first = -1;

				for (int64_t i = 0; i < n; i++)
					if (so[i] == s)
					{
						sx += x[i], sy += y[i], c++;
						if (first < 0)
							first = i;
					}
				if (c == 0 || xy[2 * s] != sx / (double) c || xy[2 * s + 1] != sy / (double) c)
					bad_mean++;
				for (int64_t i = 0; i < first; i++)
					if (so[i] > s)
						bad_order++;
			}
			free(xy);
		}
		{
			double	   *xy;
			int64_t		ns,
						rns;

			if (run(x, y, n, r, MERGE_ITERATIVE_MEAN, 1, so, &xy, &ns) != 0)
			{
				bad_iter++;
				continue;
			}
			rns = ref_iterative(x, y, n, r, refxy);
			if (rns != ns)
				bad_iter++;
			else
			{
				qsort(refxy, (size_t) rns, 2 * sizeof(double), cmp_xy);
				qsort(xy, (size_t) ns, 2 * sizeof(double), cmp_xy);
				/* Sums in another order: equal to rounding (1e-12 of the scale). */
				for (int64_t s = 0; s < 2 * ns; s++)
					if (!(fabs(xy[s] - refxy[s]) <= 1e-12 * span))
						bad_iter++;
			}
			{
				int32_t		next = 0;

				for (int64_t i = 0; i < n; i++)
				{
					if (so[i] < 0 || so[i] >= ns || so[i] > next)
						bad_iter++;
					if (so[i] == next)
						next++;
				}
				if (next != ns)
					bad_iter++;	/* a site no point leads to */
			}
			free(xy);
		}
	}
	CHECK_INT(bad_part, 0, "random: single link and DBSCAN partitions equal the brute-force union_dbscan");
	CHECK_INT(bad_mean, 0, "random: site positions are their members' means");
	CHECK_INT(bad_order, 0, "random: sites numbered by first member");
	CHECK_INT(bad_iter, 0, "random: iterative mean equals a brute-force merge_similar_sites");
}

int
main(void)
{
	test_hand();
	test_random();
	return unit_done();
}
