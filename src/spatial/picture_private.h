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

/*
 * picture_fill_scanline writes grid row r of g through style s as one
 * filter-0 scanline: a filter byte then g->width * s->scale RGBA pixels
 * (nodata and NaN transparent).
 */
extern void picture_fill_scanline(const picture_grid *g, const picture_style *s, int r, uint8_t *line);

/*
 * picture_check_decoded: PICTURE_TOO_LARGE, with the reason in err, when
 * the decoded image (ph scanlines of 1 + 4 pw bytes) exceeds max_bytes.
 */
extern picture_status picture_check_decoded(int pw, int ph, size_t max_bytes, char *err, size_t errlen);

/* A source of scanlines: row y (0 .. ph - 1, asked in order), 1 + 4 pw bytes, filter byte first. */
typedef const uint8_t *(*picture_row_fn) (void *ctx, int y);

/*
 * picture_png_write writes a PNG (8-bit RGBA, IHDR, IDATs of at most 256
 * KiB, IEND) of pw x ph pixels from the scanlines row gives; the limits,
 * the output and the errors are picture_png's (picture.h).
 */
extern picture_status picture_png_write(int pw, int ph, picture_row_fn row, void *ctx, size_t max_bytes,
										const mlops_allocator *a, uint8_t **png, size_t *png_len,
										char *err, size_t errlen);

#endif							/* MLOPS_PICTURE_PRIVATE_H */
