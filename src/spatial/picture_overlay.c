/*
 * picture_overlay.c
 *	  Kernel: a heatmap PNG with outlines and markers drawn over it (the
 *	  detections picture: contours and sites over a model's heatmap).  See
 *	  picture.h for the contract.
 *
 *	  The image is built whole (every scanline filter 0, None), the lines
 *	  and markers are drawn into it, and picture_png_write compresses it.
 *	  A line is drawn by stamping a square of line_width pixels every half
 *	  pixel along the segment, after the segment is clipped to the image
 *	  (grown by the width), so a far-away vertex costs nothing.  A marker
 *	  fills the pixels whose centres lie within marker_radius of its point
 *	  and rings them with black out to marker_radius + 2.
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "spatial/picture.h"
#include "spatial/picture_private.h"
#include "util/errbuf.h"

#include <math.h>
#include <string.h>

/* The whole image being drawn: ph scanlines of 1 + 4 pw bytes. */
typedef struct canvas
{
	uint8_t    *px;
	int			pw;
	int			ph;
	size_t		rowbytes;
} canvas;

static void put_px(canvas *c, int x, int y, const uint8_t rgb[3]);
static void draw_segment(canvas *c, double x0, double y0, double x1, double y1, int width, const uint8_t rgb[3]);
static void draw_marker(canvas *c, double x, double y, int radius, const uint8_t rgb[3]);
static bool clip_segment(double *x0, double *y0, double *x1, double *y1,
						 double xmin, double ymin, double xmax, double ymax);
static const uint8_t *canvas_row(void *ctx, int y);

/*
 * coord_ok says whether a grid coordinate is finite and within
 * +-PICTURE_MAX_COORD.
 */
static bool
coord_ok(double v)
{
	return isfinite(v) && fabs(v) <= PICTURE_MAX_COORD;
}

/*
 * check_overlay checks o's sizes, pointers and coordinates.
 */
static picture_status
check_overlay(const picture_overlay *o, char *err, size_t errlen)
{
	if (o->nrings < 0 || o->nmarkers < 0 || (o->nrings > 0 && o->rings == NULL) ||
		(o->nmarkers > 0 && o->markers == NULL))
	{
		errbuf_printf(err, errlen, "the overlay's rings and markers must be given when counted");
		return PICTURE_BAD_ARGUMENT;
	}
	if (o->line_width < 1 || o->line_width > PICTURE_MAX_LINE_WIDTH)
	{
		errbuf_printf(err, errlen, "the line width must be from 1 to %d pixels, not %d", PICTURE_MAX_LINE_WIDTH, o->line_width);
		return PICTURE_BAD_ARGUMENT;
	}
	if (o->marker_radius < 1 || o->marker_radius > PICTURE_MAX_MARKER_RADIUS)
	{
		errbuf_printf(err, errlen, "the marker radius must be from 1 to %d pixels, not %d", PICTURE_MAX_MARKER_RADIUS, o->marker_radius);
		return PICTURE_BAD_ARGUMENT;
	}
	for (int i = 0; i < o->nrings; i++)
	{
		if (o->rings[i].n < 0 || (o->rings[i].n > 0 && o->rings[i].xy == NULL))
		{
			errbuf_printf(err, errlen, "outline %d has no vertices", i + 1);
			return PICTURE_BAD_ARGUMENT;
		}
		for (int k = 0; k < 2 * o->rings[i].n; k++)
			if (!coord_ok(o->rings[i].xy[k]))
			{
				errbuf_printf(err, errlen, "outline %d has a vertex that is not finite or beyond %g cells", i + 1, PICTURE_MAX_COORD);
				return PICTURE_BAD_ARGUMENT;
			}
	}
	for (int i = 0; i < o->nmarkers; i++)
		if (!coord_ok(o->markers[i].col) || !coord_ok(o->markers[i].row))
		{
			errbuf_printf(err, errlen, "marker %d is not finite or beyond %g cells", i + 1, PICTURE_MAX_COORD);
			return PICTURE_BAD_ARGUMENT;
		}
	return PICTURE_OK;
}

/*
 * picture_png_overlay writes the heatmap with outlines and markers (see
 * picture.h).
 */
picture_status
picture_png_overlay(const picture_grid *g, const picture_style *s, const picture_overlay *o,
					size_t max_bytes, const mlops_allocator *a, uint8_t **png, size_t *png_len,
					char *err, size_t errlen)
{
	static const uint8_t black[3] = {0, 0, 0};
	canvas		c;
	picture_status st;
	double		sc;

	if (png == NULL || png_len == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "the output pointers and the allocator must not be null");
		return PICTURE_BAD_ARGUMENT;
	}
	*png = NULL;
	*png_len = 0;
	if ((st = picture_check_input(g, s, &c.pw, &c.ph, err, errlen)) != PICTURE_OK)
		return st;
	if (o != NULL && (st = check_overlay(o, err, errlen)) != PICTURE_OK)
		return st;
	if ((st = picture_check_decoded(c.pw, c.ph, max_bytes, err, errlen)) != PICTURE_OK)
		return st;
	c.rowbytes = 1 + 4 * (size_t) c.pw;
	c.px = mlops_alloc(a, c.rowbytes * (size_t) c.ph);
	if (c.px == NULL)
	{
		errbuf_printf(err, errlen, "out of memory drawing a picture of %d x %d pixels", c.pw, c.ph);
		return PICTURE_NOMEM;
	}
	for (int r = 0; r < g->height; r++)
	{
		uint8_t    *first = c.px + (size_t) r * s->scale * c.rowbytes;

		picture_fill_scanline(g, s, r, first);
		for (int k = 1; k < s->scale; k++)
			memcpy(first + k * c.rowbytes, first, c.rowbytes);
	}
	sc = s->scale;
	if (o != NULL)
	{
		for (int i = 0; i < o->nrings; i++)
		{
			const double *xy = o->rings[i].xy;
			int			n = o->rings[i].n;

			if (n == 1)
				draw_segment(&c, xy[0] * sc, xy[1] * sc, xy[0] * sc, xy[1] * sc, o->line_width, o->line_rgb);
			for (int k = 0; k + 1 < n || (n > 2 && k + 1 == n); k++)
			{
				int			j = (k + 1) % n;

				draw_segment(&c, xy[2 * k] * sc, xy[2 * k + 1] * sc, xy[2 * j] * sc, xy[2 * j + 1] * sc,
							 o->line_width, o->line_rgb);
			}
		}
		for (int i = 0; i < o->nmarkers; i++)
			draw_marker(&c, o->markers[i].col * sc, o->markers[i].row * sc, o->marker_radius + 2, black);
		for (int i = 0; i < o->nmarkers; i++)
			draw_marker(&c, o->markers[i].col * sc, o->markers[i].row * sc, o->marker_radius, o->marker_rgb);
	}
	st = picture_png_write(c.pw, c.ph, canvas_row, &c, max_bytes, a, png, png_len, err, errlen);
	mlops_free(a, c.px);
	return st;
}

/*
 * canvas_row gives scanline y of the drawn image.
 */
static const uint8_t *
canvas_row(void *ctx, int y)
{
	canvas	   *c = ctx;

	return c->px + (size_t) y * c->rowbytes;
}

/*
 * put_px paints pixel (x, y) opaque rgb when it is inside the image.
 */
static void
put_px(canvas *c, int x, int y, const uint8_t rgb[3])
{
	uint8_t    *p;

	if (x < 0 || y < 0 || x >= c->pw || y >= c->ph)
		return;
	p = c->px + (size_t) y * c->rowbytes + 1 + 4 * (size_t) x;
	p[0] = rgb[0];
	p[1] = rgb[1];
	p[2] = rgb[2];
	p[3] = 255;
}

/*
 * clip_segment clips the segment to the rectangle (Liang-Barsky); false
 * when nothing of it is inside.
 */
static bool
clip_segment(double *x0, double *y0, double *x1, double *y1,
			 double xmin, double ymin, double xmax, double ymax)
{
	double		dx = *x1 - *x0,
				dy = *y1 - *y0;
	double		p[4] = {-dx, dx, -dy, dy};
	double		q[4] = {*x0 - xmin, xmax - *x0, *y0 - ymin, ymax - *y0};
	double		t0 = 0,
				t1 = 1;

	for (int i = 0; i < 4; i++)
	{
		if (p[i] == 0)
		{
			if (q[i] < 0)
				return false;
			continue;
		}
		if (p[i] < 0)
			t0 = fmax(t0, q[i] / p[i]);
		else
			t1 = fmin(t1, q[i] / p[i]);
		if (t0 > t1)
			return false;
	}
	*x1 = *x0 + t1 * dx;
	*y1 = *y0 + t1 * dy;
	*x0 = *x0 + t0 * dx;
	*y0 = *y0 + t0 * dy;
	return true;
}

/*
 * draw_segment stamps a width x width square every half pixel from
 * (x0, y0) to (x1, y1), in pixel coordinates, clipped to the image.
 */
static void
draw_segment(canvas *c, double x0, double y0, double x1, double y1, int width, const uint8_t rgb[3])
{
	double		len;
	int			steps;
	int			lo = -(width / 2);

	if (!clip_segment(&x0, &y0, &x1, &y1, -width, -width, c->pw + width, c->ph + width))
		return;
	len = hypot(x1 - x0, y1 - y0);
	steps = (int) ceil(len * 2);
	for (int i = 0; i <= steps; i++)
	{
		double		t = steps == 0 ? 0 : (double) i / steps;
		int			x = (int) floor(x0 + t * (x1 - x0)) + lo;
		int			y = (int) floor(y0 + t * (y1 - y0)) + lo;

		for (int dy = 0; dy < width; dy++)
			for (int dx = 0; dx < width; dx++)
				put_px(c, x + dx, y + dy, rgb);
	}
}

/*
 * draw_marker fills the pixels whose centres lie within radius of (x, y),
 * in pixel coordinates.
 */
static void
draw_marker(canvas *c, double x, double y, int radius, const uint8_t rgb[3])
{
	int			x_lo = (int) floor(x - radius - 1),
				x_hi = (int) ceil(x + radius + 1),
				y_lo = (int) floor(y - radius - 1),
				y_hi = (int) ceil(y + radius + 1);

	if (x_hi < 0 || y_hi < 0 || x_lo >= c->pw || y_lo >= c->ph)
		return;
	for (int py = y_lo < 0 ? 0 : y_lo; py <= y_hi && py < c->ph; py++)
		for (int px = x_lo < 0 ? 0 : x_lo; px <= x_hi && px < c->pw; px++)
		{
			double		ddx = px + 0.5 - x,
						ddy = py + 0.5 - y;

			if (ddx * ddx + ddy * ddy <= (double) radius * radius)
				put_px(c, px, py, rgb);
		}
}
