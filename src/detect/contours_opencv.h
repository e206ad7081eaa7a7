/*
 * contours_opencv.h
 *	  Kernel: the contours OpenCV 4.6's cv2.findContours(mask, RETR_CCOMP,
 *	  CHAIN_APPROX_SIMPLE) gives on the mask of the cells at or above a
 *	  level ("opencv" mode of mlops contours).  Our own implementation of
 *	  Suzuki and Abe's border following as OpenCV runs it, written from
 *	  reading modules/imgproc/src/contours.cpp.  Pure C: no PostgreSQL
 *	  headers; memory through an mlops_allocator.
 *
 *	  Mask.  The image is row-major, rows x cols doubles; cell (r, c) is 1
 *	  when img[r * cols + c] >= level (NaN is 0).  Like cv::findContours
 *	  since OpenCV 4 (copyMakeBorder with a zero border), cells on the
 *	  image's edge count as they are: the zero frame lies outside the image.
 *
 *	  Coordinates.  Vertices are OpenCV's: integer pixel coordinates
 *	  x = column, y = row, a vertex being the pixel's centre.  Outer
 *	  contours start at their component's first pixel in raster order;
 *	  drawn on the image (y down) they run counter-clockwise, holes
 *	  clockwise.  CHAIN_APPROX_SIMPLE keeps the pixels where the chain's
 *	  direction changes (and the start).  A one-pixel component has one
 *	  vertex; a one-pixel-wide line goes out and back.
 *
 *	  Order and hierarchy.  Contours come in OpenCV's output order: the
 *	  outer contours in reverse order of discovery (raster order of their
 *	  start), each followed by its holes, also in reverse order of
 *	  discovery.  parent[i] is -1 for an outer contour and the index of its
 *	  outer contour for a hole (hierarchy[i][3] in cv2); the rest of cv2's
 *	  hierarchy follows from the order.
 */
#ifndef MLOPS_CONTOURS_OPENCV_H
#define MLOPS_CONTOURS_OPENCV_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef struct OpencvContours
{
	int64_t		n_contours;
	int64_t    *start;			/* n_contours + 1 offsets into xy, in points */
	int32_t    *xy;				/* x (column), y (row) pairs */
	int64_t    *parent;			/* -1: outer contour; else its outer contour */
	double	   *max_value;		/* outer contours: the largest value over the
								 * 8-connected component it bounds; holes: NaN */
	int64_t		n_points;
} OpencvContours;

/*
 * contour_opencv traces the contours described above.  Returns 0 and
 * fills *out (free it with opencv_contours_free), or -1 with a reason in
 * err (out is then empty).  rows or cols of 0 give no contours; a NaN
 * level, or a side over INT32_MAX - 2, is an error.
 */
extern int	contour_opencv(const double *img, int64_t rows, int64_t cols, double level,
						   OpencvContours *out, const mlops_allocator *alloc,
						   char *err, size_t errlen);
/* The same on a byte mask (rows x cols, nonzero = 1), as cv2 takes it;
 * max_value is NaN throughout. */
extern int	contour_opencv_mask(const uint8_t *mask, int64_t rows, int64_t cols,
								OpencvContours *out, const mlops_allocator *alloc,
								char *err, size_t errlen);
extern void opencv_contours_free(OpencvContours *c, const mlops_allocator *alloc);

/*
 * Twice the shoelace area of contour i in its (x, y) pixel coordinates:
 * sum of x[k] * y[k+1] - x[k+1] * y[k] around the closed chain; its
 * absolute value is twice OpenCV's contourArea.
 */
extern double opencv_contour_area2(const OpencvContours *c, int64_t i);

#endif							/* MLOPS_CONTOURS_OPENCV_H */
