/*
 * merge.h
 *	  Kernel: merging nearby points (detections) into sites, three ways.
 *	  Pure C: no PostgreSQL headers; memory through an mlops_allocator.
 *
 *	  MERGE_ITERATIVE_MEAN is the earthrise-media "plastics" repository's
 *	  merge_similar_sites (scripts/candidate_detect.py): every point's
 *	  neighbourhood (points within radius, distance <= radius as
 *	  scikit-learn's KDTree.query_radius tests it: dx*dx + dy*dy <= r*r with
 *	  d = query - point) gives a mean; then, until the number of distinct
 *	  neighbourhoods stops changing, the neighbourhoods of the current
 *	  means (always among the ORIGINAL points) are found, duplicates
 *	  dropped, and their means become the next round's.  The sites are the
 *	  last round's means.  The original returns only positions; membership
 *	  is defined here by lineage: point i starts as query i (the mean of its
 *	  own neighbourhood), each query maps to the distinct neighbourhood it
 *	  found, whose mean is the next round's query, and so on; site_of[i] is
 *	  the site its chain ends at.  (A site's final neighbourhood may hold
 *	  points whose lineage ends elsewhere and the reverse: the original
 *	  algorithm lets neighbourhoods overlap.)  Differences from the original:
 *	  it orders its sites by Python's set iteration, arbitrary, and sums
 *	  each mean in its k-d tree's index order; here sites are numbered as
 *	  below and means are summed in grid-cell order (the same values to the
 *	  last bit or two).  With a radius so small (below ~1e-150) that squared
 *	  differences underflow, scikit-learn counts points up to ~1e-154 away as
 *	  neighbours; the grid here does not look that far.  A mean whose
 *	  neighbourhood is empty (possible only by rounding, at exactly the
 *	  radius) makes the original fail (scikit-learn refuses the NaN mean);
 *	  here that site's position is NaN.
 *
 *	  MERGE_SINGLE_LINK gives the partition of PostGIS's
 *	  ST_ClusterDBSCAN(geom, radius, minpoints => 1) (ST_ClusterWithin):
 *	  points whose distance sqrt(dx*dx + dy*dy) <= radius are linked (and,
 *	  as there, within each other's query envelope, point +- radius), and
 *	  the sites are the connected groups.
 *
 *	  MERGE_DBSCAN gives ST_ClusterDBSCAN(geom, radius, min_points): as
 *	  liblwgeom's union_dbscan does, a point is core when at least
 *	  min_points points (itself included) are within radius; cores within
 *	  radius of each other share a cluster; a border point (not core,
 *	  within radius of a core) joins the cluster of the first core, in input
 *	  order, that reaches it; other points are noise (site_of -1).  Like
 *	  PostGIS, when n <= min_points (and min_points > 1) every point is
 *	  noise.  min_points 1 is MERGE_SINGLE_LINK.
 *
 *	  Sites (all methods but noise) are numbered in the input order of
 *	  their first member; for SINGLE_LINK and DBSCAN a site's position is
 *	  the mean of its members (summed in input order); for ITERATIVE_MEAN
 *	  it is the original's final mean (see above).  (PostGIS numbers clusters its own
 *	  way: compare partitions, not numbers.)
 *
 *	  Neighbours are found with grid cells a little wider than radius
 *	  (wider still when the extent is over 2^32 radii, so that cell indices
 *	  stay small and exact): each query looks at 3 x 3 cells.
 *	  MERGE_ITERATIVE_MEAN keeps every distinct neighbourhood it meets and
 *	  searches around each one's mean once (a neighbourhood met again in a
 *	  later round maps to the same next one).
 */
#ifndef MLOPS_MERGE_H
#define MLOPS_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef enum MergeMethod
{
	MERGE_ITERATIVE_MEAN,
	MERGE_SINGLE_LINK,
	MERGE_DBSCAN
} MergeMethod;

/*
 * merge_points merges n points (x[i], y[i]).  site_of (n entries, caller's)
 * receives each point's site, -1 for DBSCAN noise; *site_xy receives
 * 2 * *n_sites doubles (x, y per site), allocated with alloc (NULL when
 * there are no sites).  min_points matters to MERGE_DBSCAN only but must
 * be >= 1 for every method.  Errors (return -1, reason in err): radius
 * <= 0, infinite or NaN; a NaN or infinite coordinate; min_points < 1;
 * an unknown method; null arrays; points so far apart that their extent
 * overflows a double (about 1e308).  n == 0 gives 0 sites.
 */
extern int	merge_points(const double *x, const double *y, int64_t n, double radius,
						 MergeMethod m, int min_points, int32_t *site_of,
						 double **site_xy, int64_t *n_sites,
						 const mlops_allocator *alloc, char *err, size_t errlen);

/*
 * merge_points_geodesic is MERGE_SINGLE_LINK or MERGE_DBSCAN for points
 * given as longitude, latitude (degrees, WGS84) with the radius in metres:
 * two points are neighbours when their geodesic distance on the WGS84
 * ellipsoid (Vincenty's inverse formula, within a fraction of a millimetre
 * of the Karney distance PostGIS's ST_DWithin(geography, geography, r,
 * true) uses) is <= radius.  Sites are numbered as above; a site's
 * position (longitude, latitude in *site_xy) is the mean of its members on
 * the ellipsoid (earth-centred coordinates averaged, brought back to the
 * surface), a lone member's its own.  Errors: another method, radius not in
 * (0, 1e7] metres, a latitude outside [-90, 90], a NaN or infinite
 * coordinate, min_points < 1.  See merge_geo.c.
 */
extern int	merge_points_geodesic(const double *lon, const double *lat, int64_t n, double radius,
								  MergeMethod m, int min_points, int32_t *site_of,
								  double **site_xy, int64_t *n_sites,
								  const mlops_allocator *alloc, char *err, size_t errlen);

/* The geodesic distance in metres between two WGS84 longitude / latitude
 * points (Vincenty's inverse formula; INFINITY where it does not converge,
 * near antipodes). */
extern double geodesic_distance_wgs84(double lon1, double lat1, double lon2, double lat2);

#endif							/* MLOPS_MERGE_H */
