/*
 * picture.h
 *	  Kernel: a heatmap grid as a picture a person reads — a PNG (RGBA, 8
 *	  bits per channel) of the grid through a colour map, and an SVG
 *	  document around that PNG with a title, a colour bar with ticks and
 *	  units, the sensors, the area's outline and a legend.  Pure C: no
 *	  PostgreSQL headers; memory comes from the caller's allocator; zlib
 *	  compresses the pixels.
 *
 *	  Grid: width * height doubles, row-major, row 0 north (as the gridders
 *	  of interpolate.h write it).  A cell is nodata — painted fully
 *	  transparent — when it is NaN, or when has_nodata and it equals nodata
 *	  (the fade leaves such cells beyond the fade distance).
 *
 *	  Colour: t = (v - vmin) / (vmax - vmin) clamped to [0, 1] (+inf gives
 *	  1, -inf 0), then linear interpolation in sRGB between the map's
 *	  control points, equally spaced on [0, 1], rounded to the nearest
 *	  integer.  Maps:
 *
 *	  "viridis" (matplotlib's viridis sampled at 9 points, R's viridis(9)):
 *		#440154 #472D7B #3B528B #2C728E #21908C #27AD81 #5DC863 #AADC32 #FDE725
 *	  "rdylgn_r" (ColorBrewer RdYlGn, 11 classes, reversed: green low, red
 *		high — for air quality):
 *		#006837 #1A9850 #66BD63 #A6D96A #D9EF8B #FFFFBF #FEE08B #FDAE61
 *		#F46D43 #D73027 #A50026
 *
 *	  Both maps have a control point at t = 0.5 (#21908C, #FFFFBF).
 *
 *	  Range: vmin and vmax must be finite and vmin <= vmax, else
 *	  PICTURE_BAD_RANGE.  vmin == vmax is a flat map: a value below it
 *	  takes the colour at t = 0, above it t = 1, equal to it t = 0.5 (a
 *	  constant field, say one sensor, shows the map's middle colour and a
 *	  colour bar with one tick).
 *
 *	  Upscale: an integer factor 1..PICTURE_MAX_SCALE; each cell becomes a
 *	  scale x scale block of one colour (nearest neighbour, crisp cells).
 *	  picture_default_scale picks the smallest factor that makes the long
 *	  side at least PICTURE_READABLE_PX pixels.
 *
 *	  Sizes are bounded by max_bytes, given by the caller: the PNG's decoded
 *	  image (height * (1 + 4 width) bytes, what a viewer allocates, and what
 *	  the compressor reads) and the PNG file must each fit in max_bytes;
 *	  for picture_svg the whole document must, with its NUL (its PNG is made
 *	  with max_bytes / 4 * 3, as base64 takes 4 bytes for 3).  The output
 *	  buffer doubles as needed up to max_bytes; besides it a call takes two
 *	  scanlines and zlib's state (about 270 KiB, from the same allocator).
 *	  A refusal of the decoded size comes before any allocation.
 *
 *	  Errors: a picture_status and, when err is not NULL, an English lower-
 *	  case message without a full stop in err (errlen bytes, always
 *	  terminated).  On error *out is NULL and nothing stays allocated.
 *	  Numbers are written with printf, so LC_NUMERIC must be "C" (it is in
 *	  a PostgreSQL backend).
 */
#ifndef MLOPS_PICTURE_H
#define MLOPS_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef enum picture_status
{
	PICTURE_OK = 0,
	PICTURE_BAD_ARGUMENT,		/* a NULL required pointer, width or height < 1, bad scale, unknown map, bad sensor or ring */
	PICTURE_BAD_RANGE,			/* vmin or vmax not finite, or vmin > vmax */
	PICTURE_TOO_LARGE,			/* the image or document would exceed max_bytes or PICTURE_MAX_DIM */
	PICTURE_NOMEM,				/* the allocator returned NULL */
	PICTURE_ZLIB				/* zlib failed (not expected) */
} picture_status;

typedef enum picture_colormap
{
	PICTURE_VIRIDIS = 0,
	PICTURE_RDYLGN_R = 1
} picture_colormap;

/* The largest upscale factor. */
#define PICTURE_MAX_SCALE 64

/* The largest width or height of the PNG, in pixels (after the upscale). */
#define PICTURE_MAX_DIM 65535

/* The long side picture_default_scale aims for, in pixels. */
#define PICTURE_READABLE_PX 600

/* The most ticks picture_ticks writes. */
#define PICTURE_MAX_TICKS 8

/* Coordinates of sensors and outlines must be within +-this, in cells. */
#define PICTURE_MAX_COORD 1e7

typedef struct picture_grid
{
	const double *values;		/* width * height, row-major, row 0 north */
	int			width;
	int			height;
	bool		has_nodata;
	double		nodata;			/* NaN cells are nodata whatever this says */
} picture_grid;

typedef struct picture_style
{
	picture_colormap colormap;
	double		vmin;
	double		vmax;
	int			scale;			/* 1..PICTURE_MAX_SCALE */
} picture_style;

/*
 * A sensor, in grid coordinates: col from the grid's west edge, row from
 * its north edge, in cells (0, 0 is the north-west corner; the centre of
 * cell (c, r) is (c + 0.5, r + 0.5)) — GDAL's pixel/line coordinates:
 * col = (x - upperleft_x) / scale_x, row = (y - upperleft_y) / scale_y.
 */
typedef struct picture_sensor
{
	double		col;
	double		row;
	const char *label;			/* UTF-8 or NULL; written beside the circle */
} picture_sensor;

/*
 * A ring of the area's outline: n vertices, xy[2i] = col, xy[2i + 1] =
 * row, in the sensors' grid coordinates; drawn closed.  The rings of a
 * polygon (or of several) are one path, so holes show as holes.
 */
typedef struct picture_ring
{
	const double *xy;
	int			n;
} picture_ring;

/* What picture_svg draws around the picture; every field may be NULL or 0. */
typedef struct picture_svg_options
{
	const char *title;			/* UTF-8; the heading and the SVG's <title> */
	const char *subtitle;		/* UTF-8; a smaller line under the title (time, source) */
	const char *units;			/* UTF-8; above the colour bar, e.g. "µg/m³" */
	const char *nodata_note;	/* the legend's text for transparent cells; NULL: "no estimate (beyond the fade distance)" */
	const picture_sensor *sensors;
	int			nsensors;
	const picture_ring *rings;
	int			nrings;
	const char *points_label;	/* the legend's text for the points; NULL: "sensor" */
	const char *outline_label;	/* the legend's text for the outlines; NULL: "area outline" */
} picture_svg_options;

/*
 * picture_png writes the grid g as a PNG through style s: an 8-bit RGBA
 * image of (width * scale) x (height * scale) pixels, nodata cells
 * transparent (0, 0, 0, 0), others opaque.  Chunks: IHDR, IDAT (one or
 * more, at most 256 KiB each), IEND.  On success *png (allocated with a,
 * freed by the caller with the same allocator) holds *png_len bytes.
 */
extern picture_status picture_png(const picture_grid *g, const picture_style *s, size_t max_bytes,
								  const mlops_allocator *a, uint8_t **png, size_t *png_len,
								  char *err, size_t errlen);

/*
 * What picture_png_overlay draws over the heatmap, in the sensors' grid
 * coordinates (picture_sensor; labels are not drawn): outlines (rings,
 * closed) as lines line_width pixels wide in line_rgb, then markers as
 * discs of marker_radius pixels in marker_rgb, each ringed by a black
 * band two pixels wide so it reads on any colour.  Markers come
 * last, so a marker's centre pixel always has marker_rgb.
 */
typedef struct picture_overlay
{
	const picture_ring *rings;
	int			nrings;
	const picture_sensor *markers;
	int			nmarkers;
	uint8_t		line_rgb[3];
	uint8_t		marker_rgb[3];
	int			line_width;		/* 1..PICTURE_MAX_LINE_WIDTH pixels */
	int			marker_radius;	/* 1..PICTURE_MAX_MARKER_RADIUS pixels */
} picture_overlay;

#define PICTURE_MAX_LINE_WIDTH 16
#define PICTURE_MAX_MARKER_RADIUS 64

/*
 * picture_png_overlay writes picture_png's image of g and s with o drawn
 * over it (o may be NULL: then the pixels are picture_png's).  A grid point
 * (col, row) is the pixel point (col * scale, row * scale).  Unlike
 * picture_png it holds the whole decoded image (height * (1 + 4 width)
 * bytes, within max_bytes) while it draws.  Coordinates must be finite
 * and within +-PICTURE_MAX_COORD, else PICTURE_BAD_ARGUMENT; what lies
 * outside the image is clipped.
 */
extern picture_status picture_png_overlay(const picture_grid *g, const picture_style *s,
										  const picture_overlay *o, size_t max_bytes,
										  const mlops_allocator *a, uint8_t **png, size_t *png_len,
										  char *err, size_t errlen);

/*
 * picture_svg writes an SVG 1.1 document (UTF-8, NUL-terminated; *svg_len
 * excludes the NUL) around picture_png's image of g and s, drawn at its
 * pixel size: the title and subtitle, the image over a hatched background
 * (so transparent cells read as "no estimate", not as a colour), the
 * outline and the sensors over it, a vertical colour bar on the right
 * (vmax at the top) with picture_ticks' ticks and labels and the units
 * above, and a legend under it all.  o may be NULL.  Every text is
 * XML-escaped; invalid UTF-8 and characters XML forbids become U+FFFD.
 * Sensors and outlines must have finite coordinates within
 * +-PICTURE_MAX_COORD, else PICTURE_BAD_ARGUMENT; they are clipped to
 * the image and a margin of 12 px.
 */
extern picture_status picture_svg(const picture_grid *g, const picture_style *s,
								  const picture_svg_options *o, size_t max_bytes,
								  const mlops_allocator *a, char **svg, size_t *svg_len,
								  char *err, size_t errlen);

/*
 * picture_ticks chooses the colour bar's ticks for [vmin, vmax] (finite,
 * vmin < vmax): 4 to 6 values, multiples of a step of 1, 2, 2.5 or 5
 * times a power of ten inside the range, or, when no such step gives 4 to
 * 6 (or the range is below 1e-12 of its magnitude, or wider than the
 * largest double), the 5 values vmin + i (vmax - vmin) / 4 — fewer only
 * when the range is so narrow that some of them are the same double.
 * vmin == vmax gives the one tick vmin.  Writes them ascending to ticks
 * (PICTURE_MAX_TICKS room) and how to write their labels to *decimals (>=
 * 0: that many decimals; < 0: -decimals significant digits, the fewest
 * from 6 that tell the labels apart); returns the count (0 when the range
 * is not finite or vmin > vmax).
 */
extern int	picture_ticks(double vmin, double vmax, double *ticks, int *decimals);

/*
 * picture_format_tick writes tick v as its label with decimals as
 * picture_ticks gave: "%.*f" ("12.5", "-0.25", and "0.00" rather than
 * "-0.00") or "%.*g" ("1.5e+20"); returns buf.
 */
extern char *picture_format_tick(double v, int decimals, char *buf, size_t buflen);

/*
 * picture_colormap_rgb writes the colour of t (clamped to [0, 1]; NaN
 * gives 0) in map cm to rgb[0..2].
 */
extern void picture_colormap_rgb(picture_colormap cm, double t, uint8_t rgb[3]);

/* picture_colormap_from_name: "viridis", "rdylgn_r" (case-insensitive); -1 when unknown. */
extern int	picture_colormap_from_name(const char *name);
extern const char *picture_colormap_name(picture_colormap cm);

/*
 * picture_default_scale: the smallest factor that makes max(width, height)
 * * scale at least PICTURE_READABLE_PX, within 1..PICTURE_MAX_SCALE and
 * keeping both sides within PICTURE_MAX_DIM (1 when width or height < 1).
 */
extern int	picture_default_scale(int width, int height);

/* picture_status_message: a phrase for a status ("ok", "out of memory", ...). */
extern const char *picture_status_message(picture_status st);

#endif							/* MLOPS_PICTURE_H */
