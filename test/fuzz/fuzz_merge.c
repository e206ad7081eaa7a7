/*
 * fuzz_merge.c — libFuzzer target for the point-merging kernel
 * (src/detect/merge.c, merge_iterative.c).
 *
 * The input's first byte chooses the method (low 2 bits; 3 is an unknown
 * method), min_points (next 3 bits, so 0 is tried) and whether the
 * coordinates are raw doubles (top bit: NaN, infinities, huge and tiny
 * values come up) or small integers scaled by 1/4 (exact ties with the
 * radius); the next 8 bytes the radius (raw double); then points, x and y
 * each a raw double or one byte.  At most 64 points.
 *
 * Besides the sanitizers it checks: an error exactly when an input is bad
 * (radius not positive and finite, a coordinate not finite, min_points 0,
 * an unknown method, an extent that overflows); otherwise site_of in
 * range, sites numbered by first member, every site has a member; for
 * SINGLE_LINK and DBSCAN the partition equals a brute-force union_dbscan
 * and positions are the members' means; for ITERATIVE_MEAN on the
 * quarter-integer points (whose sums are exact, so means do not depend on
 * the order of summing) the sites, the lineage partition and the positions
 * equal a brute-force merge_similar_sites to the bit.
 */
#include "detect/merge.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define MAX_POINTS	64

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double
take_f64(const uint8_t **p, size_t *left)
{
	double		d = 0;

	if (*left >= 8)
	{
		memcpy(&d, *p, 8);
		*p += 8;
		*left -= 8;
	}
	return d;
}

/* liblwgeom's test: b in a's envelope (a +- r), then the distance. */
static int
near_enough(double ax, double ay, double bx, double by, double r)
{
	return bx >= ax - r && bx <= ax + r && by >= ay - r && by <= ay + r &&
		sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay)) <= r;
}

/*
 * ref_iterative: merge_similar_sites by brute force, neighbourhoods as bit
 * masks (n <= 64); sites renumbered by first member into ref, positions
 * into rxy; returns the number of sites.
 */
static int64_t
ref_iterative(const double *x, const double *y, int64_t n, double r, int32_t *ref, double *rxy)
{
	double		qx[MAX_POINTS],
				qy[MAX_POINTS],
				r2 = r * r;
	uint64_t	uniq[MAX_POINTS];
	int64_t		chain[MAX_POINTS],
				uniq_of[MAX_POINTS],
				nq = n,
				num = n,
				nu = 0,
				ren[MAX_POINTS],
				ns = 0;

	for (int64_t i = 0; i < n; i++)
	{
		double		sx = 0,
					sy = 0;
		int64_t		c = 0;

		for (int64_t p = 0; p < n; p++)
			if ((x[i] - x[p]) * (x[i] - x[p]) + (y[i] - y[p]) * (y[i] - y[p]) <= r2)
				sx += x[p], sy += y[p], c++;
		qx[i] = sx / (double) c;
		qy[i] = sy / (double) c;
		chain[i] = i;
	}
	for (;;)
	{
		nu = 0;
		for (int64_t j = 0; j < nq; j++)
		{
			uint64_t	m = 0;
			int64_t		u;

			for (int64_t p = 0; p < n; p++)
				if ((qx[j] - x[p]) * (qx[j] - x[p]) + (qy[j] - y[p]) * (qy[j] - y[p]) <= r2)
					m |= (uint64_t) 1 << p;
			for (u = 0; u < nu && uniq[u] != m; u++)
				;
			if (u == nu)
				uniq[nu++] = m;
			uniq_of[j] = u;
		}
		for (int64_t i = 0; i < n; i++)
			chain[i] = uniq_of[chain[i]];
		for (int64_t u = 0; u < nu; u++)
		{
			double		sx = 0,
						sy = 0;
			int64_t		c = 0;

			for (int64_t p = 0; p < n; p++)
				if (uniq[u] >> p & 1)
					sx += x[p], sy += y[p], c++;
			qx[u] = sx / (double) c;
			qy[u] = sy / (double) c;
		}
		nq = nu;
		if (nu == num)
			break;
		num = nu;
	}
	for (int64_t u = 0; u < nq; u++)
		ren[u] = -1;
	for (int64_t i = 0; i < n; i++)
	{
		if (ren[chain[i]] < 0)
		{
			ren[chain[i]] = ns;
			rxy[2 * ns] = qx[chain[i]];
			rxy[2 * ns + 1] = qy[chain[i]];
			ns++;
		}
		ref[i] = (int32_t) ren[chain[i]];
	}
	return ns;
}

/* same_double: equal, or both NaN (an empty neighbourhood's mean). */
static int
same_double(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
	double		x[MAX_POINTS],
				y[MAX_POINTS];
	int32_t		so[MAX_POINTS];
	int64_t		n = 0;
	const uint8_t *p;
	size_t		left;
	int			method,
				minp,
				raw;
	double		radius;
	double	   *xy = NULL;
	int64_t		ns = -1;
	char		err[160];
	int			rc;
	int			bad = 0;

	if (size < 1)
		return 0;
	method = data[0] & 3;
	minp = (data[0] >> 2) & 7;
	raw = data[0] >> 7;
	p = data + 1;
	left = size - 1;
	radius = raw ? take_f64(&p, &left) : (left ? (p++, left--, p[-1] / 4.0) : 0);
	while (n < MAX_POINTS && left >= (raw ? 16u : 2u))
	{
		if (raw)
		{
			x[n] = take_f64(&p, &left);
			y[n] = take_f64(&p, &left);
		}
		else
		{
			x[n] = p[0] / 4.0;
			y[n] = p[1] / 4.0;
			p += 2;
			left -= 2;
		}
		n++;
	}
	rc = merge_points(x, y, n, radius, (MergeMethod) method, minp, so, &xy, &ns, &A, err, sizeof(err));

	bad = method == 3 || !(radius > 0) || isinf(radius) || minp < 1;
	if (!bad && n > 0)
	{
		double		xmin = x[0],
					xmax = x[0],
					ymin = y[0],
					ymax = y[0];

		for (int64_t i = 0; i < n; i++)
		{
			if (!isfinite(x[i]) || !isfinite(y[i]))
				bad = 1;
			xmin = fmin(xmin, x[i]);
			xmax = fmax(xmax, x[i]);
			ymin = fmin(ymin, y[i]);
			ymax = fmax(ymax, y[i]);
		}
		if (!bad && (!isfinite(xmax - xmin) || !isfinite(ymax - ymin)))
			bad = 1;
	}
	REQUIRE((rc != 0) == (bad != 0));
	if (rc != 0)
	{
		REQUIRE(err[0] != '\0');
		REQUIRE(xy == NULL && ns == 0);
		return 0;
	}
	REQUIRE(ns >= 0 && ns <= n);
	REQUIRE((ns == 0) == (xy == NULL));
	{
		int32_t		next = 0;

		for (int64_t i = 0; i < n; i++)
		{
			REQUIRE(so[i] >= -1 && so[i] < ns);
			REQUIRE(so[i] <= next);
			if (so[i] == next)
				next++;
			if (method != MERGE_DBSCAN)
				REQUIRE(so[i] >= 0);
		}
		REQUIRE(next == ns);
	}
	if (method != MERGE_ITERATIVE_MEAN)
	{
		/* Brute-force union_dbscan: same partition, by first member. */
		int			mp = method == MERGE_SINGLE_LINK ? 1 : minp;
		int32_t		par[MAX_POINTS],
					ref[MAX_POINTS],
					ren[MAX_POINTS];
		char		inc[MAX_POINTS] = {0},
					core[MAX_POINTS] = {0};
		int32_t		nref = 0;

		for (int64_t i = 0; i < n; i++)
			par[i] = (int32_t) i, ren[i] = -1;
#define FIND(a) ({ int32_t a_ = (a); while (par[a_] != a_) a_ = par[a_]; a_; })
#define JOIN(a, b) do { int32_t ra = FIND(a), rb = FIND(b); if (ra != rb) par[ra > rb ? ra : rb] = ra > rb ? rb : ra; } while (0)
		if (mp <= 1)
		{
			memset(inc, 1, sizeof(inc));
			for (int64_t i = 0; i < n; i++)
				for (int64_t j = i + 1; j < n; j++)
					if (near_enough(x[i], y[i], x[j], y[j], radius) ||
						near_enough(x[j], y[j], x[i], y[i], radius))
						JOIN((int32_t) i, (int32_t) j);
		}
		else if (n > mp)
		{
			for (int64_t i = 0; i < n; i++)
			{
				int			cnt = 0;

				for (int64_t j = 0; j < n; j++)
					cnt += near_enough(x[i], y[i], x[j], y[j], radius);
				if (cnt < mp)
					continue;
				core[i] = inc[i] = 1;
				for (int64_t j = 0; j < n; j++)
					if (near_enough(x[i], y[i], x[j], y[j], radius))
					{
						if (!inc[j])
						{
							JOIN((int32_t) i, (int32_t) j);
							inc[j] = 1;
						}
						else if (core[j])
							JOIN((int32_t) i, (int32_t) j);
					}
			}
		}
		for (int64_t i = 0; i < n; i++)
		{
			if (!inc[i])
			{
				ref[i] = -1;
				continue;
			}
			if (ren[FIND((int32_t) i)] < 0)
				ren[FIND((int32_t) i)] = nref++;
			ref[i] = ren[FIND((int32_t) i)];
		}
#undef FIND
#undef JOIN
		REQUIRE(nref == ns);
		REQUIRE(memcmp(ref, so, (size_t) n * sizeof(int32_t)) == 0);
		for (int64_t s = 0; s < ns; s++)
		{
			double		sx = 0,
						sy = 0;
			int64_t		c = 0;

			for (int64_t i = 0; i < n; i++)
				if (so[i] == s)
					sx += x[i], sy += y[i], c++;
			REQUIRE(c > 0);
			REQUIRE(xy[2 * s] == sx / (double) c && xy[2 * s + 1] == sy / (double) c);
		}
	}
	else if (!raw && n > 0)
	{
		int32_t		ref[MAX_POINTS];
		double		rxy[2 * MAX_POINTS];
		int64_t		nref = ref_iterative(x, y, n, radius, ref, rxy);

		REQUIRE(nref == ns);
		REQUIRE(memcmp(ref, so, (size_t) n * sizeof(int32_t)) == 0);
		for (int64_t s = 0; s < 2 * ns; s++)
			REQUIRE(same_double(rxy[s], xy[s]));
	}
	free(xy);
	return 0;
}
