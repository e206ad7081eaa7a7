/*
 * contours_subpixel.h
 *	  Kernel: the iso-lines of scikit-image 0.19.3's
 *	  skimage.measure.find_contours(image, level) (marching squares),
 *	  "subpixel" mode of mlops contours.  Pure C: no PostgreSQL headers;
 *	  memory through an mlops_allocator.
 *
 *	  Coordinates are skimage's: (row, column) in pixel units, (r, c) being
 *	  the centre of cell (r, c); a vertex lies on a grid edge between two
 *	  cell centres, placed by linear interpolation.  A cell is "above" when
 *	  its value is > level.  Squares with a NaN or infinite corner are
 *	  skipped (skimage skips NaN; it would make NaN points of infinities).
 *
 *	  Saddles (cases 6 and 9) are split as skimage's fully_connected says:
 *	  "low" (the default) joins the low cells diagonally, "high" the high
 *	  ones.  Segments are assembled into contours exactly as skimage's
 *	  _assemble_contours does (same joins, same starting points, same order:
 *	  by the contour's first segment in raster order).  With
 *	  positive_orientation "low" (the default) the low cells are on the left
 *	  of each contour walked from its first point, in (row, column) axes;
 *	  "high" reverses every contour.  A contour is closed when its last
 *	  point equals its first; open contours end on the image's edge or at a
 *	  NaN square.
 */
#ifndef MLOPS_CONTOURS_SUBPIXEL_H
#define MLOPS_CONTOURS_SUBPIXEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef struct SubpixelContours
{
	int64_t		n_contours;
	int64_t    *start;			/* n_contours + 1 offsets into rc, in points */
	double	   *rc;				/* row, column pairs */
	int64_t		n_points;
} SubpixelContours;

/*
 * contour_subpixel computes the contours described above.  Returns 0 and
 * fills *out (free it with subpixel_contours_free), or -1 with a reason in
 * err (out is then empty): a NaN level, or fewer than 2 rows or columns
 * (skimage's "Input array must be at least 2x2").
 */
extern int	contour_subpixel(const double *img, int64_t rows, int64_t cols, double level,
							 bool fully_connected_high, bool positive_orientation_high,
							 SubpixelContours *out, const mlops_allocator *alloc,
							 char *err, size_t errlen);
extern void subpixel_contours_free(SubpixelContours *c, const mlops_allocator *alloc);

/* Whether contour i is closed (at least 3 points, last == first). */
extern bool subpixel_contour_closed(const SubpixelContours *c, int64_t i);

/* Twice the shoelace area of contour i in (column, row) axes (closed ones). */
extern double subpixel_contour_area2(const SubpixelContours *c, int64_t i);

#endif							/* MLOPS_CONTOURS_SUBPIXEL_H */
