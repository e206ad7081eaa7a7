/*
 * variogram.c
 *	  Kernel: variogram models, the experimental semivariogram of scattered
 *	  points and the fitting of a model to it (see variogram.h), for the
 *	  "kriging" method of mlops.interpolate_raster and mlops.fit_variogram.
 *
 *	  The experimental semivariogram bins the point pairs (all of them, or
 *	  a fixed-seed sample beyond KRIGING_FIT_MAX_PAIRS) into equal lag
 *	  classes; the fit is weighted least squares with weights count / lag^2,
 *	  the nugget and partial sill in closed form for each range of a 1-D
 *	  search over the range (a log-spaced grid, then golden section).
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/variogram.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Range search of variogram_fit_lags: log-spaced grid, then golden section. */
#define FIT_GRID		200
#define FIT_GOLDEN		100

static double fit_sse(const double *h, const double *g, const double *w, int n, vario_model model,
					  double a, double *c0, double *c);
static bool finite_points(const interp_points *p, double **x, double **y, double **v, size_t *n);
static double resolve_max_lag(const double *x, const double *y, size_t n, double max_lag);
static inline uint64_t pair_rng(uint64_t *s);

/*
 * vario_shape returns the unit-sill structure of a model at h > 0 with
 * practical range a: 0 at 0, 1 (or nearly, for the exponential and
 * Gaussian) at a.
 */
static double
vario_shape(vario_model model, double h, double a)
{
	double		r = h / a;

	switch (model)
	{
		case VARIO_SPHERICAL:
			return r >= 1.0 ? 1.0 : r * (1.5 - 0.5 * r * r);
		case VARIO_EXPONENTIAL:
			return 1.0 - exp(-3.0 * r);
		case VARIO_GAUSSIAN:
			return 1.0 - exp(-3.0 * r * r);
	}
	return 1.0;
}

/*
 * variogram_eval returns gamma(h): 0 at h = 0 (and for a negative or NaN
 * h), else nugget + partial sill * shape(h).
 */
double
variogram_eval(const variogram *v, double h)
{
	if (!(h > 0.0))
		return 0.0;
	return v->nugget + (v->sill - v->nugget) * vario_shape(v->model, h, v->range);
}

/*
 * variogram_valid checks a variogram before it is used.
 */
bool
variogram_valid(const variogram *v, const char **why)
{
	const char *reason = NULL;

	if (v->model != VARIO_SPHERICAL && v->model != VARIO_EXPONENTIAL && v->model != VARIO_GAUSSIAN)
		reason = "unknown variogram model";
	else if (!isfinite(v->nugget) || !isfinite(v->sill) || !isfinite(v->range))
		reason = "variogram parameters must be finite";
	else if (v->nugget < 0.0)
		reason = "nugget must be >= 0";
	else if (v->sill < v->nugget)
		reason = "sill must be >= nugget (it is the total sill)";
	else if (!(v->range > 0.0))
		reason = "range must be > 0";
	if (why != NULL)
		*why = reason;
	return reason == NULL;
}

/*
 * finite_points copies the points of p with finite x, y and v into new
 * arrays (*n of them; free the three arrays); false when out of memory.
 */
static bool
finite_points(const interp_points *p, double **x, double **y, double **v, size_t *n)
{
	size_t		alloc = p->n > 0 ? p->n : 1;
	size_t		m = 0;

	*x = malloc(alloc * sizeof(double));
	*y = malloc(alloc * sizeof(double));
	*v = malloc(alloc * sizeof(double));
	if (*x == NULL || *y == NULL || *v == NULL)
	{
		free(*x);
		free(*y);
		free(*v);
		*x = *y = *v = NULL;
		return false;
	}
	for (size_t i = 0; i < p->n; i++)
		if (isfinite(p->x[i]) && isfinite(p->y[i]) && isfinite(p->v[i]))
		{
			(*x)[m] = p->x[i];
			(*y)[m] = p->y[i];
			(*v)[m] = p->v[i];
			m++;
		}
	*n = m;
	return true;
}

/*
 * resolve_max_lag returns max_lag when it is positive and finite, else half
 * the diagonal of the bounding box of the n points (0 when n == 0 or all
 * points coincide).
 */
static double
resolve_max_lag(const double *x, const double *y, size_t n, double max_lag)
{
	double		minx = INFINITY,
				maxx = -INFINITY,
				miny = INFINITY,
				maxy = -INFINITY;

	if (max_lag > 0.0 && isfinite(max_lag))
		return max_lag;
	if (n == 0)
		return 0.0;
	for (size_t i = 0; i < n; i++)
	{
		minx = fmin(minx, x[i]);
		maxx = fmax(maxx, x[i]);
		miny = fmin(miny, y[i]);
		maxy = fmax(maxy, y[i]);
	}
	return 0.5 * hypot(maxx - minx, maxy - miny);
}

/*
 * pair_rng is the fixed-seed xorshift64* generator of the pair sampling.
 */
static inline uint64_t
pair_rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/*
 * variogram_experimental computes the experimental semivariogram; see
 * kriging.h.
 */
int
variogram_experimental(const interp_points *p, int n_lags, double max_lag,
					   double *lag, double *gamma, double *count,
					   double *max_lag_used, const char **why)
{
	double	   *x,
			   *y,
			   *v;
	size_t		n;
	double		ml,
				scale;
	uint64_t	seed = 0x9E3779B97F4A7C15ULL;

	if (max_lag_used != NULL)
		*max_lag_used = 0.0;
	if (n_lags <= 0)
		n_lags = KRIGING_DEFAULT_LAGS;
	if (n_lags > KRIGING_MAX_LAGS)
	{
		if (why != NULL)
			*why = "too many lag classes";
		return 0;
	}
	if (!finite_points(p, &x, &y, &v, &n))
	{
		if (why != NULL)
			*why = "out of memory";
		return 0;
	}
	ml = resolve_max_lag(x, y, n, max_lag);
	if (max_lag_used != NULL)
		*max_lag_used = ml;
	if (n < 2 || !(ml > 0.0))
	{
		if (why != NULL)
			*why = n < 2 ? "fewer than 2 points" : "all points at one location";
		free(x);
		free(y);
		free(v);
		return 0;
	}
	for (int b = 0; b < n_lags; b++)
		lag[b] = gamma[b] = count[b] = 0.0;
	scale = n_lags / ml;

#define PAIR(I, J) \
	do { \
		double		dx_ = x[I] - x[J]; \
		double		dy_ = y[I] - y[J]; \
		double		h_ = sqrt(dx_ * dx_ + dy_ * dy_); \
		if (h_ > 0.0 && h_ <= ml) \
		{ \
			int			b_ = (int) (h_ * scale); \
			double		dv_ = v[I] - v[J]; \
			if (b_ >= n_lags) \
				b_ = n_lags - 1; \
			lag[b_] += h_; \
			gamma[b_] += 0.5 * dv_ * dv_; \
			count[b_] += 1.0; \
		} \
	} while (0)

	if ((double) n * (double) (n - 1) / 2.0 <= (double) KRIGING_FIT_MAX_PAIRS)
	{
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				PAIR(i, j);
	}
	else
	{
		/* a fixed-seed sample of distinct pairs (with replacement) */
		for (long s = 0; s < KRIGING_FIT_MAX_PAIRS; s++)
		{
			size_t		i = (size_t) (pair_rng(&seed) % n);
			size_t		j = (size_t) (pair_rng(&seed) % (n - 1));

			if (j >= i)
				j++;
			PAIR(i, j);
		}
	}
#undef PAIR

	for (int b = 0; b < n_lags; b++)
		if (count[b] > 0)
		{
			lag[b] /= count[b];
			gamma[b] /= count[b];
		}
	free(x);
	free(y);
	free(v);
	return n_lags;
}

/*
 * fit_sse fits gamma = c0 + c shape(h; a) to the n classes (h, g, weight
 * w) by weighted least squares with c0, c >= 0, for the range a; returns
 * the weighted sum of squares and the coefficients.  For two unknowns the
 * constrained optimum is the unconstrained one when feasible, else the
 * better of the two one-variable fits on the boundary.
 */
static double
fit_sse(const double *h, const double *g, const double *w, int n, vario_model model,
		double a, double *c0, double *c)
{
	double		sw = 0.0,
				sf = 0.0,
				sff = 0.0,
				sg = 0.0,
				sfg = 0.0,
				det;
	double		best = INFINITY;
	double		cand[3][2];
	int			ncand = 0;

	for (int k = 0; k < n; k++)
	{
		double		f = vario_shape(model, h[k], a);

		sw += w[k];
		sf += w[k] * f;
		sff += w[k] * f * f;
		sg += w[k] * g[k];
		sfg += w[k] * f * g[k];
	}
	det = sw * sff - sf * sf;
	if (det > 1e-12 * sw * sff)
	{
		double		u0 = (sff * sg - sf * sfg) / det;
		double		u1 = (sw * sfg - sf * sg) / det;

		if (u0 >= 0.0 && u1 >= 0.0)
		{
			cand[ncand][0] = u0;
			cand[ncand][1] = u1;
			ncand++;
		}
	}
	if (ncand == 0)
	{
		/* pure nugget first, so that it wins a tie */
		cand[ncand][0] = fmax(0.0, sg / sw);
		cand[ncand][1] = 0.0;
		ncand++;
		cand[ncand][0] = 0.0;
		cand[ncand][1] = sff > 0.0 ? fmax(0.0, sfg / sff) : 0.0;
		ncand++;
	}
	*c0 = cand[0][0];
	*c = cand[0][1];
	for (int i = 0; i < ncand; i++)
	{
		double		sse = 0.0;

		for (int k = 0; k < n; k++)
		{
			double		e = g[k] - cand[i][0] - cand[i][1] * vario_shape(model, h[k], a);

			sse += w[k] * e * e;
		}
		if (sse < best)
		{
			best = sse;
			*c0 = cand[i][0];
			*c = cand[i][1];
		}
	}
	return best;
}

/*
 * variogram_fit_lags fits a model to an experimental semivariogram; see
 * kriging.h.  Weights count / lag^2 (not Cressie's count / gamma^2, which
 * depends on the model and needs iterating) favour the short lags that
 * matter most to kriging, and keep each range's fit linear.
 */
bool
variogram_fit_lags(const double *lag, const double *gamma, const double *count, int n,
				   vario_model model, variogram *out, const char **why)
{
	double	   *h,
			   *g,
			   *w;
	int			nc = 0;
	double		hmax = 0.0,
				amin,
				amax,
				ratio;
	double		best_sse = INFINITY,
				best_a = 0.0,
				best_c0 = 0.0,
				best_c = 0.0;
	int			best_i = 0;

	if (n <= 0)
	{
		if (why != NULL)
			*why = "fewer than 3 lag classes with pairs";
		return false;
	}
	h = malloc((size_t) n * sizeof(double));
	g = malloc((size_t) n * sizeof(double));
	w = malloc((size_t) n * sizeof(double));
	if (h == NULL || g == NULL || w == NULL)
	{
		free(h);
		free(g);
		free(w);
		if (why != NULL)
			*why = "out of memory";
		return false;
	}
	for (int k = 0; k < n; k++)
		if (count[k] > 0 && lag[k] > 0 && isfinite(lag[k]) && isfinite(gamma[k]) && isfinite(count[k]))
		{
			h[nc] = lag[k];
			g[nc] = gamma[k];
			w[nc] = count[k] / (lag[k] * lag[k]);
			hmax = fmax(hmax, lag[k]);
			nc++;
		}
	if (nc < 3)
	{
		free(h);
		free(g);
		free(w);
		if (why != NULL)
			*why = "fewer than 3 lag classes with pairs";
		return false;
	}

	amin = hmax / (2.0 * nc);
	amax = 3.0 * hmax;
	ratio = amax / amin;
	for (int i = 0; i < FIT_GRID; i++)
	{
		double		a = amin * pow(ratio, (double) i / (FIT_GRID - 1));
		double		c0,
					c;
		double		sse = fit_sse(h, g, w, nc, model, a, &c0, &c);

		if (sse < best_sse)
		{
			best_sse = sse;
			best_a = a;
			best_c0 = c0;
			best_c = c;
			best_i = i;
		}
	}

	/* golden-section refinement between the grid neighbours of the best */
	{
		const double gr = 0.6180339887498949;
		double		lo = amin * pow(ratio, (double) (best_i > 0 ? best_i - 1 : 0) / (FIT_GRID - 1));
		double		hi = amin * pow(ratio, (double) (best_i < FIT_GRID - 1 ? best_i + 1 : FIT_GRID - 1) / (FIT_GRID - 1));
		double		c0,
					c;
		double		x1 = hi - gr * (hi - lo);
		double		x2 = lo + gr * (hi - lo);
		double		f1 = fit_sse(h, g, w, nc, model, x1, &c0, &c);
		double		f2 = fit_sse(h, g, w, nc, model, x2, &c0, &c);

		for (int it = 0; it < FIT_GOLDEN; it++)
		{
			if (f1 <= f2)
			{
				hi = x2;
				x2 = x1;
				f2 = f1;
				x1 = hi - gr * (hi - lo);
				f1 = fit_sse(h, g, w, nc, model, x1, &c0, &c);
			}
			else
			{
				lo = x1;
				x1 = x2;
				f1 = f2;
				x2 = lo + gr * (hi - lo);
				f2 = fit_sse(h, g, w, nc, model, x2, &c0, &c);
			}
		}
		{
			double		a = 0.5 * (lo + hi);
			double		sse = fit_sse(h, g, w, nc, model, a, &c0, &c);

			if (sse < best_sse)
			{
				best_sse = sse;
				best_a = a;
				best_c0 = c0;
				best_c = c;
			}
		}
	}
	free(h);
	free(g);
	free(w);

	out->model = model;
	out->nugget = best_c0;
	out->sill = best_c0 + best_c;
	out->range = best_a;
	if (why != NULL)
		*why = NULL;
	return true;
}

/*
 * variogram_fit fits a variogram of the given model to the data; see
 * kriging.h for what it returns when it cannot.
 */
bool
variogram_fit(const interp_points *p, vario_model model, int n_lags, double max_lag,
			  variogram *out, const char **why)
{
	double	   *x,
			   *y,
			   *v;
	double	   *lag = NULL,
			   *gamma = NULL,
			   *count = NULL;
	size_t		n;
	double		mean = 0.0,
				var = 0.0,
				ml;
	const char *reason = NULL;
	bool		ok = false;
	int			nl;

	if (!finite_points(p, &x, &y, &v, &n))
	{
		out->model = model;
		out->nugget = 0.0;
		out->sill = 0.0;
		out->range = 1.0;
		if (why != NULL)
			*why = "out of memory";
		return false;
	}
	for (size_t i = 0; i < n; i++)
		mean += v[i];
	if (n > 0)
		mean /= (double) n;
	for (size_t i = 0; i < n; i++)
		var += (v[i] - mean) * (v[i] - mean);
	if (n > 0)
		var /= (double) n;
	ml = resolve_max_lag(x, y, n, max_lag);

	/* the default, kept when the fit fails */
	out->model = model;
	out->nugget = 0.0;
	out->sill = var;
	out->range = ml > 0.0 ? ml : 1.0;

	if (n < 3)
		reason = "fewer than 3 points";
	else if (!(var > 0.0))
		reason = "all values are equal";
	else if (!(ml > 0.0))
		reason = "all points at one location";
	else if (n_lags > KRIGING_MAX_LAGS)
		reason = "too many lag classes";
	else
	{
		int			nalloc = n_lags > 0 ? n_lags : KRIGING_DEFAULT_LAGS;
		interp_points fp = {x, y, v, n};

		lag = malloc((size_t) nalloc * sizeof(double));
		gamma = malloc((size_t) nalloc * sizeof(double));
		count = malloc((size_t) nalloc * sizeof(double));
		if (lag == NULL || gamma == NULL || count == NULL)
			reason = "out of memory";
		else if ((nl = variogram_experimental(&fp, n_lags, ml, lag, gamma, count, NULL, &reason)) > 0)
		{
			variogram	fit;

			if (variogram_fit_lags(lag, gamma, count, nl, model, &fit, &reason))
			{
				*out = fit;
				ok = true;
			}
		}
	}
	free(x);
	free(y);
	free(v);
	free(lag);
	free(gamma);
	free(count);
	if (why != NULL)
		*why = ok ? NULL : reason;
	return ok;
}
