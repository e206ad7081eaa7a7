/*
 * contours.h
 *	  Kernel: polygons of the cells of a raster at or above a level
 *	  ("cells" mode of mlops contours), and OpenCV's box blur.  Pure C: no
 *	  PostgreSQL headers; memory through an mlops_allocator.
 *
 *	  Cells and coordinates.  The image is row-major, rows x cols doubles.
 *	  Cell (r, c) is "in" when img[r * cols + c] >= level (NaN is never
 *	  in).  Coordinates are cell-corner coordinates: x = column edge
 *	  (0..cols), y = row edge (0..rows); cell (r, c) is the square
 *	  [c, c + 1] x [r, r + 1].
 *
 *	  Polygons.  One polygon per 4-connected component of in cells: its
 *	  point set is exactly the union of the component's closed cells.
 *	  Ring 0 is the exterior, the others are holes (the bounded faces of
 *	  the complement of that component: a hole contains everything the
 *	  component encloses, other components' islands included, so that
 *	  shoelace(exterior) + shoelace(holes) == cells).  Islands inside holes
 *	  are polygons of their own.
 *
 *	  Orientation: in the (x, y) frame as given (x right, y up, as PostGIS
 *	  reads the coordinates) the exterior ring is counter-clockwise
 *	  (positive shoelace area) and holes are clockwise (negative).  Drawn
 *	  on the image, with y pointing down, that is clockwise and
 *	  counter-clockwise.  Rings are closed (last point == first), have no
 *	  consecutive duplicate points and no collinear intermediate vertices
 *	  (every vertex is a corner).
 *
 *	  Pinches and OGC validity.  Where two in cells meet only at a corner
 *	  (the other two cells at that corner out), the ring is drawn so that
 *	  every ring stays simple (never touches itself):
 *	  - if the two cells belong to the same 4-connected component, the
 *	    rings turn around the corners of the two OUT cells, so the pinch
 *	    becomes a point where a hole touches the exterior (or two holes
 *	    touch) — valid in OGC;
 *	  - otherwise they turn around the corners of the IN cells, so the two
 *	    components are separate polygons touching at a point.
 *	  With connectivity 8 the cells of an 8-connected component meeting
 *	  only at corners cannot form one valid polygon (its interior is not
 *	  connected), so such a component is emitted as several polygons (its
 *	  4-connected parts) sharing part_of: glue builds a MultiPolygon of
 *	  them, which is valid (the parts touch at points only).  With
 *	  connectivity 4, part_of is the polygon's own index.
 *	  Connectivity only chooses how polygons are grouped (part_of); the
 *	  geometry (each polygon's point set) is the same either way.  Holes
 *	  are always drawn as 4-connected pieces of the background (the dual of
 *	  8-connected foreground); under connectivity 4 a background region
 *	  joined only through a pinch comes out as two rings touching at that
 *	  point, which is the same point set and the form OGC requires.
 *
 *	  Order: polygons are numbered in the raster order (row-major) of
 *	  their first cell; part_of numbers components likewise, from 0.
 */
#ifndef MLOPS_CONTOURS_H
#define MLOPS_CONTOURS_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef struct ContourPolygon
{
	int32_t		n_rings;		/* ring 0 exterior, then holes */
	int64_t		first_ring;		/* index into ContourSet.ring_start */
	int64_t		cells;			/* number of cells == area */
	double		max_value;		/* largest value among its cells */
	int32_t		part_of;		/* component id: with connectivity 8 several
								 * polygons of one component share it */
	int64_t		xmin;			/* bounding box in corner coordinates */
	int64_t		ymin;
	int64_t		xmax;
	int64_t		ymax;
} ContourPolygon;

typedef struct ContourSet
{
	int64_t		n_polygons;
	ContourPolygon *polygons;
	int32_t		n_components;	/* distinct part_of values */
	int64_t		n_rings;
	int64_t    *ring_start;		/* n_rings + 1 offsets into xy (in points) */
	int64_t		n_points;
	double	   *xy;				/* x, y pairs (column, row corner coordinates) */
} ContourSet;

/*
 * contour_cells traces the polygons described above.  connectivity is 4
 * or 8.  Returns 0 and fills *out (free it with contour_set_free), or -1
 * with a reason in err (out is then empty).  rows or cols of 0 give an
 * empty set; a NaN level is an error.
 */
extern int	contour_cells(const double *img, int64_t rows, int64_t cols, double level,
						  int connectivity, ContourSet *out,
						  const mlops_allocator *alloc, char *err, size_t errlen);
extern void contour_set_free(ContourSet *s, const mlops_allocator *alloc);

/*
 * contour_box_blur is OpenCV's cv2.blur(img, (k, k)) on doubles: the mean
 * over a k x k window anchored at (k / 2, k / 2), borders by
 * BORDER_REFLECT_101 (the default), computed as a row pass then a column
 * pass like OpenCV's separable box filter (values agree to ~1e-12
 * relative).  in and out may be the same array.  Returns 0, or -1 with a
 * reason in err.
 */
extern int	contour_box_blur(const double *in, double *out, int64_t rows, int64_t cols,
							 int ksize, const mlops_allocator *alloc,
							 char *err, size_t errlen);

#endif							/* MLOPS_CONTOURS_H */
