/*
 * buckets.h
 *	  Kernel: the bucket grid, the nearest and invdistnn gridders' search
 *	  structure for points spread fairly evenly (on clustered points they
 *	  use the k-d tree, kdtree.h).  Its searches give exactly the k-d
 *	  tree's answers: the points in the order (d^2, input index), with
 *	  d^2 = dx * dx + dy * dy rounded as written.  Queries go row by row
 *	  over a grid's cell centres: buckets_row starts a row, then each cell
 *	  of the row, left to right, asks buckets_nearest or buckets_nearest_k.
 *	  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_BUCKETS_H
#define MLOPS_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>

#include "spatial/grid.h"
#include "spatial/interpolate.h"

typedef struct buckets buckets;

/* Where a row of queries stands: filled by buckets_row, read and moved by the searches. */
typedef struct buckets_cursor
{
	double	   *dy2;			/* caller's scratch, buckets_nrows doubles: squared gaps to each bucket row */
	int			row;			/* the bucket row of the query row */
	int			col;			/* the bucket column of the last query */
	bool		first;			/* no query yet on this row */
} buckets_cursor;

/*
 * buckets_try builds the bucket grid of p for searches from the cell
 * centres of g, unless search says the k-d tree, a cell centre or point
 * is not finite, or (search INTERP_SEARCH_AUTO) the points do not suit
 * it.  Returns INTERP_OK (*out built), INTERP_NOMEM, or INTERP_TOO_LARGE:
 * use the k-d tree.
 */
extern interp_status buckets_try(const interp_points *p, const interp_grid *g, interp_search search,
								 buckets **out);
extern void buckets_free(buckets *b);

/* buckets_nrows is the number of bucket rows: the size of a cursor's dy2. */
extern int	buckets_nrows(const buckets *b);

/* buckets_row starts a row of queries at y = cy, in cur (cur->dy2 set by the caller). */
extern void buckets_row(const buckets *b, double cy, buckets_cursor *cur);

/*
 * buckets_nearest returns the input index of the nearest point to
 * (qx, qy), on the cursor's row, with d^2 <= r2 (ties: the higher index),
 * or SIZE_MAX for none.  *pos is a point to try first (its position in
 * bucket order: start with 0, then pass the previous cell's); it becomes
 * the answer's when there is one.
 */
extern size_t buckets_nearest(const buckets *b, buckets_cursor *cur, double qx, double qy,
							  double r2, size_t *pos);

/*
 * buckets_nearest_k writes to idx/d2 the (at most) k nearest points to
 * (qx, qy), on the cursor's row, with d^2 <= lim, nearest first, ties by
 * lower index (kdtree_nearest_k_bound's list); returns how many.
 */
extern size_t buckets_nearest_k(const buckets *b, buckets_cursor *cur, double qx, double qy,
								size_t k, double lim, size_t *idx, double *d2);

#endif							/* MLOPS_BUCKETS_H */
