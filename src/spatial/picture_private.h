/*
 * picture_private.h
 *	  What the PNG writer (picture.c) and the SVG writer (picture_svg.c)
 *	  share.  Internal to the picture kernel; no PostgreSQL headers.
 */
#ifndef MLOPS_PICTURE_PRIVATE_H
#define MLOPS_PICTURE_PRIVATE_H

#include <stdint.h>

#include "spatial/picture.h"

/* One colour map: its name and control points, equally spaced on [0, 1]. */
typedef struct picture_map
{
	const char *name;
	int			n;
	uint8_t		rgb[11][3];
} picture_map;

/* The colour maps, indexed by picture_colormap (picture.c). */
extern const picture_map picture_maps[];

/*
 * picture_check_input checks what picture_png and picture_svg share: the
 * grid, the style and the PNG's dimensions; sets *pw, *ph to the PNG's
 * size.  A status other than PICTURE_OK comes with a reason in err.
 */
extern picture_status picture_check_input(const picture_grid *g, const picture_style *s,
										  int *pw, int *ph, char *err, size_t errlen);

/*
 * picture_value_position maps v (not NaN) to t in [0, 1] for the range
 * [vmin, vmax] (finite, vmin <= vmax); see picture.h for the flat map.
 */
extern double picture_value_position(double v, double vmin, double vmax);

#endif							/* MLOPS_PICTURE_PRIVATE_H */
