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

/* GDAL "invdist" (no radius / max_points) and "invdistnn" (radius, max_points, min_points). */
typedef struct idw_options
{
	double		power;			/* 2 */
	double		smoothing;		/* 0 */
	double		radius;			/* 0: all points (invdist); > 0: invdistnn's search circle */
	int			max_points;		/* 0: all */
	int			min_points;		/* 0 */
	double		nodata;			/* for cells with fewer than min_points in the radius */
} idw_options;

typedef struct nearest_options
{
	double		radius;			/* 0: unlimited */
	double		nodata;
} nearest_options;

typedef struct kdtree kdtree;

/* kdtree_build indexes the points (copying coordinates); NULL when out of memory. */
extern kdtree *kdtree_build(const double *x, const double *y, size_t n);
extern void kdtree_free(kdtree *t);

/*
 * kdtree_nearest_k writes to idx/d2 the k nearest points to (x, y) within
 * radius (0: unlimited), nearest first, ties by index; returns how many.
 */
extern size_t kdtree_nearest_k(const kdtree *t, double x, double y, size_t k, double radius,
							   size_t *idx, double *d2);

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
