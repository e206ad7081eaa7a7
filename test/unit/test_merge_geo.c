/*
 * test_merge_geo.c — unit tests of the geodesic merge kernel
 * (src/detect/merge_geo.c): the distance against reference values on the
 * WGS84 ellipsoid (the classic Flinders Peak - Buninyong pair of Vincenty's
 * paper, degrees of latitude and longitude, across the antimeridian, at the
 * pole), single_link and dbscan on hand cases (metres east-west shrink with
 * latitude; a group across the antimeridian keeps its site near 180°), the
 * refusals, and on random clumps: the partition equals one built from all
 * pairs by brute force.
 */
#include "detect/merge.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

int
main(void)
{
	char		err[256];
	int32_t		site_of[8];
	double	   *xy = NULL;
	int64_t		ns = 0;

	/* Vincenty (1975) / Geoscience Australia's example: 54972.271 m */
	CHECK_NEAR(geodesic_distance_wgs84(144.42486788888889, -37.951033416666667,
									   143.92649552777778, -37.652821138888889),
			   54972.271, 1e-3, "Flinders Peak to Buninyong: 54972.271 m");
	CHECK_NEAR(geodesic_distance_wgs84(0, 0, 0, 1), 110574.388563, 1e-5, "one degree of latitude at the equator");
	CHECK_NEAR(geodesic_distance_wgs84(0, 0, 1, 0), 111319.490793, 1e-5, "one degree of longitude at the equator");
	CHECK_NEAR(geodesic_distance_wgs84(179.9995, -20, -179.9995, -20),
			   geodesic_distance_wgs84(-0.0005, -20, 0.0005, -20), 1e-8,
			   "across the antimeridian as anywhere (to the rounding of 179.9995)");
	CHECK_NEAR(geodesic_distance_wgs84(10, 89.999, 190, 89.999), 2 * geodesic_distance_wgs84(0, 89.999, 0, 90), 1e-6,
			   "over the pole");
	CHECK_NEAR(geodesic_distance_wgs84(5, 5, 5, 5), 0, 0, "the same point: 0");

	/* at 60°N: 0.001° east is ~55.8 m, north ~111.4 m */
	{
		double		lon[3] = {10, 10.001, 10},
					lat[3] = {60, 60, 60.001};

		CHECK_INT(merge_points_geodesic(lon, lat, 3, 60, MERGE_SINGLE_LINK, 1, site_of, &xy, &ns, &A, err, sizeof(err)), 0,
				  "60 m at 60N merges");
		CHECK_INT(ns, 2, "60 m: two sites (east neighbour joins, north one does not)");
		CHECK(site_of[0] == site_of[1] && site_of[2] != site_of[0], "60 m: the east pair together");
		CHECK_NEAR(xy[0], 10.0005, 1e-9, "60 m: the pair's site halfway in longitude");
		CHECK_NEAR(xy[1], 60, 1e-6, "60 m: at (nearly) 60N");
		CHECK_NEAR(xy[2], 10, 0, "60 m: a lone point's site is the point itself");
		CHECK_NEAR(xy[3], 60.001, 0, "60 m: exactly");
		free(xy);
		CHECK_INT(merge_points_geodesic(lon, lat, 3, 120, MERGE_SINGLE_LINK, 1, site_of, &xy, &ns, &A, err, sizeof(err)), 0,
				  "120 m merges");
		CHECK_INT(ns, 1, "120 m: one site");
		free(xy);
		CHECK_INT(merge_points_geodesic(lon, lat, 3, 60, MERGE_DBSCAN, 2, site_of, &xy, &ns, &A, err, sizeof(err)), 0,
				  "dbscan merges");
		CHECK(ns == 1 && site_of[2] == -1, "dbscan 60 m, min_points 2: one cluster, the north point noise");
		free(xy);
	}
	/* across the antimeridian */
	{
		double		lon[2] = {179.9995, -179.9995},
					lat[2] = {-20, -20};

		CHECK_INT(merge_points_geodesic(lon, lat, 2, 150, MERGE_SINGLE_LINK, 1, site_of, &xy, &ns, &A, err, sizeof(err)), 0,
				  "antimeridian merges");
		CHECK_INT(ns, 1, "antimeridian: ~105 m apart, one site");
		CHECK(fabs(fabs(xy[0]) - 180) < 1e-6, "antimeridian: the site is at 180°, not at 0°");
		free(xy);
	}
	/* refusals */
	{
		double		lon[1] = {0},
					lat[1] = {91};

		CHECK_INT(merge_points_geodesic(lon, lat, 1, 10, MERGE_SINGLE_LINK, 1, site_of, &xy, &ns, &A, err, sizeof(err)), -1,
				  "latitude 91 refused");
		CHECK(strstr(err, "latitude") != NULL, "latitude 91: says latitude");
		lat[0] = 0;
		CHECK_INT(merge_points_geodesic(lon, lat, 1, 2e7, MERGE_SINGLE_LINK, 1, site_of, &xy, &ns, &A, err, sizeof(err)), -1,
				  "radius over 10,000 km refused");
		CHECK_INT(merge_points_geodesic(lon, lat, 1, 10, MERGE_ITERATIVE_MEAN, 1, site_of, &xy, &ns, &A, err, sizeof(err)), -1,
				  "iterative_mean refused");
		CHECK_INT(merge_points_geodesic(lon, lat, 0, 10, MERGE_DBSCAN, 2, site_of, &xy, &ns, &A, err, sizeof(err)), 0,
				  "no points: fine");
		CHECK_INT(ns, 0, "no points: no sites");
	}
	/* random clumps: the partition equals brute force over all pairs */
	{
		unsigned	seed = 5;
		int			bad = 0;

		for (int t = 0; t < 40 && !bad; t++)
		{
			int64_t		n = 20 + (seed = seed * 1103515245u + 12345u) % 200;
			double	   *lon = malloc(sizeof(double) * (size_t) n),
					   *lat = malloc(sizeof(double) * (size_t) n);
			int32_t    *so = malloc(sizeof(int32_t) * (size_t) n);
			int64_t    *par = malloc(sizeof(int64_t) * (size_t) n);
			double		r = 10 + (seed = seed * 1103515245u + 12345u) % 2000;
			double		lat0 = -89 + (double) ((seed = seed * 1103515245u + 12345u) % 178);
			double		lon0 = -180 + (double) ((seed = seed * 1103515245u + 12345u) % 360);
			double		span = 5 * r / 111000.0;

			for (int64_t i = 0; i < n; i++)
			{
				lat[i] = lat0 + span * (((seed = seed * 1103515245u + 12345u) >> 8) % 10000 / 10000.0 - 0.5);
				lon[i] = lon0 + span / fmax(0.05, cos(lat0 * M_PI / 180)) *
					(((seed = seed * 1103515245u + 12345u) >> 8) % 10000 / 10000.0 - 0.5);
				if (lon[i] >= 180)
					lon[i] -= 360;
				par[i] = i;
			}
			if (merge_points_geodesic(lon, lat, n, r, MERGE_SINGLE_LINK, 1, so, &xy, &ns, &A, err, sizeof(err)) != 0)
				bad = 1;
			free(xy);
			/* brute force: union every pair within r, then compare */
			for (int64_t i = 0; i < n; i++)
				for (int64_t j = i + 1; j < n; j++)
					if (geodesic_distance_wgs84(lon[i], lat[i], lon[j], lat[j]) <= r)
					{
						int64_t		a = i,
									b = j;

						while (par[a] != a)
							a = par[a];
						while (par[b] != b)
							b = par[b];
						if (a != b)
							par[a > b ? a : b] = a < b ? a : b;
					}
			for (int64_t i = 0; i < n && !bad; i++)
				for (int64_t j = i + 1; j < n && !bad; j++)
				{
					int64_t		a = i,
								b = j;

					while (par[a] != a)
						a = par[a];
					while (par[b] != b)
						b = par[b];
					if ((a == b) != (so[i] == so[j]))
						bad = 2;
				}
			free(lon);
			free(lat);
			free(so);
			free(par);
		}
		if (!CHECK(!bad, "40 random clumps: single_link equals brute force over all pairs"))
			printf("#   failure kind %d: %s\n", bad, err);
	}
	return unit_done();
}
