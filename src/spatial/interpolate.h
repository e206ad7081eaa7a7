/*
 * interpolate.h
 *	  Kernel: interpolation of scattered points (x, y, value) onto a regular
 *	  grid, for mlops.interpolate_raster.  Pure C: no PostgreSQL headers.
 *	  Grid and point conventions are grid.h's.
 *	  Semantics follow GDAL's gdal_grid algorithms (what PostGIS's
 *	  ST_InterpolateRaster calls), so that the values agree to 1e-4 relative
 *	  on float32 bands.
 */
#ifndef MLOPS_INTERPOLATE_H
#define MLOPS_INTERPOLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "spatial/grid.h"

/*
 * How, not what: the knobs below choose among ways of computing that give
 * the same answers (the search structures) or answers within the bound of
 * idw_simd.c's header (the invdist paths).  Zero, the default, lets the
 * kernel choose; the unit tests and benchmarks set them to check every way
 * on one machine.
 */

/* The search structure of the nearest and invdistnn gridders. */
typedef enum interp_search
{
	INTERP_SEARCH_AUTO = 0,		/* the gridder chooses for the points */
	INTERP_SEARCH_BUCKETS,		/* the bucket grid whenever the input is finite */
	INTERP_SEARCH_TREE			/* the k-d tree */
} interp_search;

/* The most invdist's inner loop may use; the CPU caps it too. */
typedef enum idw_simd
{
	IDW_SIMD_BEST = 0,			/* whatever the CPU has */
	IDW_SIMD_NONE,				/* the double loop (the reference semantics) */
	IDW_SIMD_AVX2,				/* AVX2 and FMA */
	IDW_SIMD_AVX512				/* AVX-512F */
} idw_simd;

/* When invdist sums far points at Chebyshev nodes (the far field). */
typedef enum idw_far_field
{
	IDW_FAR_AUTO = 0,			/* with enough points and cells */
	IDW_FAR_ALWAYS,				/* whenever the SIMD path and the power allow */
	IDW_FAR_NEVER
} idw_far_field;

/* GDAL "invdist" (no radius / max_points) and "invdistnn" (radius, max_points, min_points). */
typedef struct idw_options
{
	double		power;			/* 2 */
	double		smoothing;		/* 0 */
	double		radius;			/* 0: all points (invdist); > 0: invdistnn's search circle */
	int			max_points;		/* 0: all */
	int			min_points;		/* 0 */
	double		nodata;			/* for cells with fewer than min_points in the radius */
	idw_simd	simd;			/* invdist's inner loop; 0: the best there is */
	idw_far_field far_field;	/* invdist's far field; 0: when it pays */
	interp_search search;		/* invdistnn's search; 0: the gridder's choice */
} idw_options;

typedef struct nearest_options
{
	double		radius;			/* 0: unlimited */
	double		nodata;
	interp_search search;		/* 0: the gridder's choice */
} nearest_options;

/*
 * interp_idw / interp_nearest fill out (width * height doubles); they return
 * INTERP_OK, INTERP_NOMEM or INTERP_CANCELLED (see grid.h).  exec may
 * be NULL: one thread, no cancel.
 */
extern interp_status interp_idw(const interp_points *p, const interp_grid *g, const idw_options *o,
								const interp_exec *exec, double *out);
extern interp_status interp_nearest(const interp_points *p, const interp_grid *g, const nearest_options *o,
									const interp_exec *exec, double *out);

#endif							/* MLOPS_INTERPOLATE_H */
