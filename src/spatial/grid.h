/*
 * grid.h
 *	  The spatial kernels' shared types: a regular grid, scattered points,
 *	  how a kernel may run (threads, cancel) and what it returns.  Every
 *	  gridder (interpolate.h, delaunay.h, kriging.h), the smoothing
 *	  (smooth.h) and par_rows (parallel.h) speak them.  Pure C: no
 *	  PostgreSQL headers.
 *
 *	  The grid is north-up: cell (col, row) has its centre at
 *	  (ulx + (col + 0.5) * sx, uly + (row + 0.5) * sy) with sy < 0 as in
 *	  PostGIS rasters; an output is row-major, width * height doubles.
 */
#ifndef MLOPS_GRID_H
#define MLOPS_GRID_H

#include <stdbool.h>
#include <stddef.h>

typedef struct interp_grid
{
	double		ulx;
	double		uly;
	double		sx;				/* > 0 */
	double		sy;				/* < 0 */
	int			width;
	int			height;
} interp_grid;

typedef struct interp_points
{
	const double *x;
	const double *y;
	const double *v;
	size_t		n;
} interp_points;

/* How a kernel may run: shared by every gridder and by the blur. */
typedef struct interp_exec
{
	int			threads;		/* threads in all, the caller included; <= 1: the caller alone */

	/*
	 * Called from the calling thread only, between chunks of rows; true stops
	 * the work as soon as every thread finishes its current chunk.  May be
	 * NULL.
	 */
	bool		(*cancel) (void *arg);
	void	   *cancel_arg;
} interp_exec;

/* What a kernel returns. */
typedef enum interp_status
{
	INTERP_OK = 0,
	INTERP_NOMEM,				/* out of memory: nothing useful in out */
	INTERP_CANCELLED,			/* the cancel callback said stop: out is partial */
	INTERP_TOO_LARGE			/* input beyond what the kernel can handle (e.g. a global kriging system) */
} interp_status;

/*
 * grid_fill sets every cell of g in out to value (a gridder's answer when
 * there are no points, or none it can use).
 */
static inline void
grid_fill(const interp_grid *g, double value, double *out)
{
	size_t		cells = (size_t) g->width * (size_t) g->height;

	for (size_t c = 0; c < cells; c++)
		out[c] = value;
}

#endif							/* MLOPS_GRID_H */
