/*
 * smooth.h
 *	  Kernel: smoothing of a gridded surface, after any gridding method of
 *	  interpolate.h: a Gaussian blur that skips nodata cells, and the
 *	  heatmap service's fade away from the points.  Both work in place on
 *	  out (width * height doubles, row-major, as the gridders write it) and
 *	  run their rows through par_rows.  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_SMOOTH_H
#define MLOPS_SMOOTH_H

#include "spatial/grid.h"

/*
 * Gaussian smoothing with sigma in pixels (> 0), kernel truncated at
 * truncate*sigma (scipy's default truncate 4.0), 'reflect' edges as
 * scipy.ndimage.gaussian_filter (d c b a | a b c d | d c b a).  Cells equal
 * to nodata (when has_nodata; NaN nodata means NaN cells) are left alone
 * and do not contribute: normalised convolution, out = G*(v m) / G*(m)
 * with m the data mask, separable (rows then columns), computed in double.
 * Without nodata cells it equals scipy.ndimage.gaussian_filter(v, sigma,
 * mode='reflect', truncate=4.0) to 1e-12 relative.
 *
 * sigma that is not > 0 or not finite, or truncate that is not >= 0 or
 * not finite, leaves out as it is (the glue rejects them first).  Returns
 * INTERP_OK, INTERP_NOMEM, INTERP_CANCELLED (out unchanged or partial), or
 * INTERP_TOO_LARGE when the kernel radius truncate * sigma exceeds 10^6
 * pixels.
 */
/* The largest kernel radius (cells) interp_gaussian accepts: sigma * 4 + 0.5 below it. */
#define GAUSS_MAX_RADIUS 1000000

extern interp_status interp_gaussian(const interp_grid *g, double sigma, double truncate,
									 bool has_nodata, double nodata, const interp_exec *exec,
									 double *out);

/*
 * Fade beyond the nearest point (the heatmap service's "fade"): for each
 * cell that is not nodata, d = distance from the cell centre to the
 * nearest point; factor f = 1 when d <= distance, else
 * exp(-0.5 * ((d - distance) / smoothing)^2) when smoothing > 0, else 0;
 * the value becomes f * value (heat fades to zero away from the sensors).
 * distance >= 0, smoothing >= 0.  No points: every factor is 0.
 */
typedef struct fade_options
{
	double		distance;
	double		smoothing;
	bool		has_nodata;
	double		nodata;
} fade_options;

extern interp_status interp_fade(const interp_points *p, const interp_grid *g, const fade_options *o,
								 const interp_exec *exec, double *out);

#endif							/* MLOPS_SMOOTH_H */
