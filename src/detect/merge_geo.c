/*
 * merge_geo.c
 *	  Kernel: single_link and dbscan merging of longitude / latitude points
 *	  with the radius in metres on the WGS84 ellipsoid (merge_points_geodesic,
 *	  see merge.h).
 *
 *	  Distance.  The geodesic distance on the WGS84 ellipsoid (a = 6378137 m,
 *	  f = 1 / 298.257223563), by Vincenty's inverse formula (1975), iterated
 *	  until lambda moves less than 1e-15: within a fraction of a millimetre of
 *	  Karney's algorithm, which PostGIS's ST_DWithin(geography, geography, r,
 *	  true) runs through PROJ.  Two points are neighbours when that
 *	  distance is <= radius.
 *
 *	  Search.  Points are placed on the ellipsoid in earth-centred
 *	  cartesian coordinates (ECEF); the straight chord between two points is
 *	  never longer than the geodesic between them, so all neighbours of a
 *	  point lie among the points whose chord is <= radius, which a grid of
 *	  cubes of side radius finds (27 cubes per query: the points sorted by
 *	  cube, three consecutive cubes found by one binary search).  The radius is limited to 10,000 km, far
 *	  from the antipodal points where Vincenty's iteration may not converge.
 *	  A candidate whose chord is short enough that even an arc of the
 *	  ellipsoid's smallest radius of curvature over it stays below radius
 *	  (by 1e-9 relative) is a neighbour without measuring: a geodesic bends
 *	  no more than that arc, so it is no longer.
 *
 *	  Clusters.  Exactly merge.c's rules on that neighbour relation:
 *	  single_link joins neighbours; dbscan marks a point core when at least
 *	  min_points points (itself included) are neighbours, joins cores with
 *	  their core neighbours, and gives a border point to the first core, in
 *	  input order, that reaches it.  Sites are numbered by first member; a
 *	  site's position is the mean of its members' ECEF positions brought
 *	  back to the ellipsoid's surface (geodetic latitude, longitude), so a
 *	  site across the antimeridian or near a pole is where its members are.
 *	  Pure C: no PostgreSQL headers.
 */
#include "detect/merge.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define WGS84_A		6378137.0
#define WGS84_F		(1.0 / 298.257223563)
#define WGS84_E2	(WGS84_F * (2.0 - WGS84_F))
#define MAX_RADIUS	1e7
/* the smallest radius of curvature of the ellipsoid (meridian, at the equator) */
#define RMIN		(WGS84_A * (1.0 - WGS84_E2))

double
geodesic_distance_wgs84(double lon1, double lat1, double lon2, double lat2)
{
	const double a = WGS84_A,
				f = WGS84_F,
				b = a * (1.0 - f);
	double		L = (lon2 - lon1) * (M_PI / 180.0);
	double		U1 = atan((1.0 - f) * tan(lat1 * (M_PI / 180.0)));
	double		U2 = atan((1.0 - f) * tan(lat2 * (M_PI / 180.0)));
	double		sinU1 = sin(U1),
				cosU1 = cos(U1),
				sinU2 = sin(U2),
				cosU2 = cos(U2);
	double		lambda,
				prev,
				sinSigma = 0,
				cosSigma = 0,
				sigma = 0,
				cos2Alpha = 0,
				cos2SigmaM = 0;
	double		u2,
				A,
				B,
				dSigma;

	/* the longitude difference in [-pi, pi] */
	L = remainder(L, 2.0 * M_PI);
	lambda = L;
	for (int iter = 0; iter < 200; iter++)
	{
		double		sinL = sin(lambda),
					cosL = cos(lambda),
					sinAlpha,
					C,
					t1 = cosU2 * sinL,
					t2 = cosU1 * sinU2 - sinU1 * cosU2 * cosL;

		sinSigma = sqrt(t1 * t1 + t2 * t2);
		if (sinSigma == 0)
			return 0;			/* the same point */
		cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
		sigma = atan2(sinSigma, cosSigma);
		sinAlpha = cosU1 * cosU2 * sinL / sinSigma;
		cos2Alpha = 1.0 - sinAlpha * sinAlpha;
		cos2SigmaM = cos2Alpha != 0 ? cosSigma - 2.0 * sinU1 * sinU2 / cos2Alpha : 0;
		C = f / 16.0 * cos2Alpha * (4.0 + f * (4.0 - 3.0 * cos2Alpha));
		prev = lambda;
		lambda = L + (1.0 - C) * f * sinAlpha *
			(sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1.0 + 2.0 * cos2SigmaM * cos2SigmaM)));
		/* to the last bits: a lambda error of 1e-12 is micrometres on the ground */
		if (fabs(lambda - prev) <= 1e-15)
			break;
		if (iter == 199)
			return INFINITY;	/* nearly antipodal: no convergence */
	}
	u2 = cos2Alpha * (a * a - b * b) / (b * b);
	A = 1.0 + u2 / 16384.0 * (4096.0 + u2 * (-768.0 + u2 * (320.0 - 175.0 * u2)));
	B = u2 / 1024.0 * (256.0 + u2 * (-128.0 + u2 * (74.0 - 47.0 * u2)));
	dSigma = B * sinSigma * (cos2SigmaM + B / 4.0 *
							 (cosSigma * (-1.0 + 2.0 * cos2SigmaM * cos2SigmaM) -
							  B / 6.0 * cos2SigmaM * (-3.0 + 4.0 * sinSigma * sinSigma) *
							  (-3.0 + 4.0 * cos2SigmaM * cos2SigmaM)));
	return b * A * (sigma - dSigma);
}

typedef struct GeoPoint
{
	double		p[3];			/* ECEF, metres */
	int64_t		cell[3];
	int64_t		index;
} GeoPoint;

static int
CmpCell(const int64_t *a, const int64_t *b)
{
	for (int k = 0; k < 3; k++)
		if (a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	return 0;
}

static int
CmpGeoPoint(const void *a, const void *b)
{
	const GeoPoint *p = a,
			   *q = b;
	int			c = CmpCell(p->cell, q->cell);

	return c ? c : (p->index > q->index) - (p->index < q->index);
}

/* First sorted point of cell c, or n. */
static int64_t
FirstOfCell(const GeoPoint *s, int64_t n, const int64_t *c)
{
	int64_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (CmpCell(s[mid].cell, c) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int64_t
Find(int64_t *parent, int64_t a)
{
	while (parent[a] != a)
	{
		parent[a] = parent[parent[a]];
		a = parent[a];
	}
	return a;
}

static void
Union(int64_t *parent, int64_t a, int64_t b)
{
	a = Find(parent, a);
	b = Find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

int
merge_points_geodesic(const double *lon, const double *lat, int64_t n, double radius,
					  MergeMethod m, int min_points, int32_t *site_of,
					  double **site_xy, int64_t *n_sites,
					  const mlops_allocator *alloc, char *err, size_t errlen)
{
	GeoPoint   *pts = NULL,
			   *sorted = NULL;
	int64_t    *nb_start = NULL,
			   *nb_len = NULL,
			   *nb = NULL,
			   *lab = NULL,
			   *renum = NULL;
	double	   *sums = NULL,
			   *xy = NULL;
	int64_t    *counts = NULL;
	char	   *in_cluster = NULL,
			   *is_core = NULL;
	int64_t		n_nb = 0,
				cap_nb = 0,
				nsites = 0;
	double		cell,
				chord2;
	int			rc = -1;

	if (site_xy == NULL || n_sites == NULL || alloc == NULL)
	{
		errbuf_printf(err, errlen, "the outputs and the allocator must not be null");
		return -1;
	}
	*site_xy = NULL;
	*n_sites = 0;
	if (m != MERGE_SINGLE_LINK && m != MERGE_DBSCAN)
	{
		errbuf_printf(err, errlen, "geodesic merging takes single_link or dbscan");
		return -1;
	}
	if (!(radius > 0) || radius > MAX_RADIUS)
	{
		errbuf_printf(err, errlen, "the radius must be above 0 and at most %g metres, not %g",
					  MAX_RADIUS, radius);
		return -1;
	}
	if (min_points < 1 || n < 0 || n > INT32_MAX)
	{
		errbuf_printf(err, errlen, "min_points must be at least 1 and n between 0 and %d", INT32_MAX);
		return -1;
	}
	if (n == 0)
		return 0;
	if (lon == NULL || lat == NULL || site_of == NULL)
	{
		errbuf_printf(err, errlen, "the coordinates and site_of must not be null");
		return -1;
	}
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(lon[i]) || !(lat[i] >= -90 && lat[i] <= 90))
		{
			errbuf_printf(err, errlen, "point %lld is not a longitude / latitude (%g, %g): latitude must be within [-90, 90]",
						  (long long) i + 1, lon[i], lat[i]);
			return -1;
		}

	pts = mlops_alloc(alloc, sizeof(GeoPoint) * (size_t) n);
	sorted = mlops_alloc(alloc, sizeof(GeoPoint) * (size_t) n);
	nb_start = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (n + 1));
	nb_len = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (n + 1));
	lab = mlops_alloc(alloc, sizeof(int64_t) * (size_t) n);
	renum = mlops_alloc(alloc, sizeof(int64_t) * (size_t) n);
	in_cluster = mlops_alloc(alloc, (size_t) n);
	is_core = mlops_alloc(alloc, (size_t) n);
	sums = mlops_alloc(alloc, sizeof(double) * 3 * (size_t) n);
	counts = mlops_alloc(alloc, sizeof(int64_t) * (size_t) n);
	if (!pts || !sorted || !nb_start || !nb_len || !lab || !renum || !in_cluster || !is_core || !sums || !counts)
		goto oom;

	/* a little slack so that rounding never drops a neighbour */
	cell = radius * (1 + 1e-9) + 1e-6;
	chord2 = cell * cell;
	for (int64_t i = 0; i < n; i++)
	{
		double		phi = lat[i] * (M_PI / 180.0),
					lam = lon[i] * (M_PI / 180.0);
		double		N = WGS84_A / sqrt(1.0 - WGS84_E2 * sin(phi) * sin(phi));

		pts[i].p[0] = N * cos(phi) * cos(lam);
		pts[i].p[1] = N * cos(phi) * sin(lam);
		pts[i].p[2] = N * (1.0 - WGS84_E2) * sin(phi);
		for (int k = 0; k < 3; k++)
			pts[i].cell[k] = (int64_t) floor(pts[i].p[k] / cell);
		pts[i].index = i;
	}
	memcpy(sorted, pts, sizeof(GeoPoint) * (size_t) n);
	qsort(sorted, (size_t) n, sizeof(GeoPoint), CmpGeoPoint);

	/*
	 * neighbour lists (each point's own included, in input order), built in
	 * the order of the sort so that consecutive queries read nearby memory;
	 * point i's list is nb[nb_start[i] .. nb_start[i] + nb_len[i])
	 */
	for (int64_t si = 0; si < n; si++)
	{
		int64_t		i = sorted[si].index;
		int64_t		from = n_nb;

		nb_start[i] = n_nb;
		for (int dx = -1; dx <= 1; dx++)
			for (int dy = -1; dy <= 1; dy++)
			{
				/* cubes (x + dx, y + dy, z - 1 .. z + 1) are consecutive in the sort */
				int64_t		c[3] = {pts[i].cell[0] + dx, pts[i].cell[1] + dy, pts[i].cell[2] - 1};

				for (int64_t k = FirstOfCell(sorted, n, c);
					 k < n && sorted[k].cell[0] == c[0] && sorted[k].cell[1] == c[1] &&
					 sorted[k].cell[2] <= c[2] + 2; k++)
				{
					const GeoPoint *q = &sorted[k];
					double		d0 = q->p[0] - pts[i].p[0],
								d1 = q->p[1] - pts[i].p[1],
								d2 = q->p[2] - pts[i].p[2];

					double		c2 = d0 * d0 + d1 * d1 + d2 * d2;

					if (c2 > chord2)
						continue;
					/*
					 * The geodesic's curvature in space is at most 1 / RMIN, so it
					 * is no longer than the arc of that radius over the same chord:
					 * below radius by a margin, no need to measure it.
					 */
					if (q->index != i &&
						!(2 * RMIN * asin(fmin(1.0, sqrt(c2) / (2 * RMIN))) <= radius * (1 - 1e-9)) &&
						!(geodesic_distance_wgs84(lon[i], lat[i], lon[q->index], lat[q->index]) <= radius))
						continue;
					if (n_nb == cap_nb)
					{
						int64_t		cap = cap_nb ? cap_nb * 2 : 4 * n + 16;
						int64_t    *x = mlops_realloc(alloc, nb, sizeof(int64_t) * (size_t) cap);

						if (x == NULL)
							goto oom;
						nb = x;
						cap_nb = cap;
					}
					nb[n_nb++] = q->index;
				}
			}
		/* input order within the list, as merge.c meets them */
		for (int64_t a = from + 1; a < n_nb; a++)
		{
			int64_t		v = nb[a],
						b = a;

			while (b > from && nb[b - 1] > v)
			{
				nb[b] = nb[b - 1];
				b--;
			}
			nb[b] = v;
		}
		nb_len[i] = n_nb - from;
	}

	for (int64_t i = 0; i < n; i++)
		lab[i] = i;
	if (m == MERGE_SINGLE_LINK || min_points <= 1)
	{
		memset(in_cluster, 1, (size_t) n);
		for (int64_t p = 0; p < n; p++)
			for (int64_t k = nb_start[p]; k < nb_start[p] + nb_len[p]; k++)
				Union(lab, p, nb[k]);
	}
	else
	{
		memset(in_cluster, 0, (size_t) n);
		memset(is_core, 0, (size_t) n);
		if (n > min_points)
			for (int64_t p = 0; p < n; p++)
			{
				if (nb_len[p] < min_points)
					continue;
				is_core[p] = 1;
				in_cluster[p] = 1;
				for (int64_t k = nb_start[p]; k < nb_start[p] + nb_len[p]; k++)
				{
					int64_t		q = nb[k];

					if (in_cluster[q])
					{
						if (is_core[q])
							Union(lab, p, q);
					}
					else
					{
						Union(lab, p, q);
						in_cluster[q] = 1;
					}
				}
			}
	}

	for (int64_t i = 0; i < n; i++)
		renum[i] = -1;
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		root,
					s;

		if (!in_cluster[i])
		{
			site_of[i] = -1;
			continue;
		}
		root = Find(lab, i);
		if (renum[root] < 0)
		{
			renum[root] = nsites;
			sums[3 * nsites] = sums[3 * nsites + 1] = sums[3 * nsites + 2] = 0;
			counts[nsites] = 0;
			nb_start[nsites] = i;	/* neighbour lists are done with: first members */
			nsites++;
		}
		s = renum[root];
		site_of[i] = (int32_t) s;
		for (int k = 0; k < 3; k++)
			sums[3 * s + k] += pts[i].p[k];
		counts[s]++;
	}
	if (nsites > 0)
	{
		xy = mlops_alloc(alloc, sizeof(double) * 2 * (size_t) nsites);
		if (xy == NULL)
			goto oom;
	}
	for (int64_t s = 0; s < nsites; s++)
	{
		double		X = sums[3 * s] / (double) counts[s],
					Y = sums[3 * s + 1] / (double) counts[s],
					Z = sums[3 * s + 2] / (double) counts[s];

		if (counts[s] == 1)
		{
			/* a lone member stays exactly where it is */
			xy[2 * s] = lon[nb_start[s]];
			xy[2 * s + 1] = lat[nb_start[s]];
			continue;
		}
		xy[2 * s] = atan2(Y, X) * (180.0 / M_PI);
		xy[2 * s + 1] = atan2(Z, (1.0 - WGS84_E2) * sqrt(X * X + Y * Y)) * (180.0 / M_PI);
	}
	*site_xy = xy;
	*n_sites = nsites;
	xy = NULL;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, pts);
	mlops_free(alloc, sorted);
	mlops_free(alloc, nb_start);
	mlops_free(alloc, nb_len);
	mlops_free(alloc, nb);
	mlops_free(alloc, lab);
	mlops_free(alloc, renum);
	mlops_free(alloc, in_cluster);
	mlops_free(alloc, is_core);
	mlops_free(alloc, sums);
	mlops_free(alloc, counts);
	mlops_free(alloc, xy);
	return rc;
}
