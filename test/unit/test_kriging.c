/*
 * test_kriging.c — unit tests of the kriging kernel (src/spatial/kriging.c,
 * variogram.c, linalg.c): the published worked example of Isaaks &
 * Srivastava (1989, ch. 12), variogram models and fitting, exactness,
 * constants, global against local and against a brute-force neighbour
 * search, duplicates, nodata rules, cancellation and thread determinism.
 */
#include "spatial/kriging.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#define NODATA	(-9999.0)

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

/*
 * rnd returns a pseudo-random double in [0, 1) (xorshift64*).
 */
static double
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/*
 * cancel_now is a cancel callback that always says stop.
 */
static bool
cancel_now(void *arg)
{
	(void) arg;
	return true;
}

/*
 * test_variogram_eval checks each model at 0, range/2, range and 2 range
 * (nugget 1, sill 3, range 10) against values computed with Python, and
 * variogram_valid.
 */
static void
test_variogram_eval(void)
{
	variogram	s = {VARIO_SPHERICAL, 1.0, 3.0, 10.0};
	variogram	e = {VARIO_EXPONENTIAL, 1.0, 3.0, 10.0};
	variogram	g = {VARIO_GAUSSIAN, 1.0, 3.0, 10.0};
	variogram	bad;
	const char *why = NULL;

	CHECK(variogram_eval(&s, 0.0) == 0.0, "spherical gamma(0) = 0 exactly");
	CHECK(variogram_eval(&e, 0.0) == 0.0, "exponential gamma(0) = 0 exactly");
	CHECK(variogram_eval(&g, 0.0) == 0.0, "gaussian gamma(0) = 0 exactly");
	CHECK_NEAR(variogram_eval(&s, 1e-300), 1.0, 1e-12, "nugget is a discontinuity at 0");
	CHECK_NEAR(variogram_eval(&s, 5.0), 2.375, 1e-14, "spherical gamma(a/2)");
	CHECK_NEAR(variogram_eval(&s, 10.0), 3.0, 1e-14, "spherical gamma(a) = sill");
	CHECK_NEAR(variogram_eval(&s, 20.0), 3.0, 1e-14, "spherical gamma(2a) = sill");
	CHECK_NEAR(variogram_eval(&e, 5.0), 2.55373967970314, 1e-13, "exponential gamma(a/2)");
	CHECK_NEAR(variogram_eval(&e, 10.0), 2.900425863264272, 1e-13, "exponential gamma(a): 95% of the partial sill");
	CHECK_NEAR(variogram_eval(&e, 20.0), 2.9950424956466675, 1e-13, "exponential gamma(2a)");
	CHECK_NEAR(variogram_eval(&g, 5.0), 2.0552668945179704, 1e-13, "gaussian gamma(a/2)");
	CHECK_NEAR(variogram_eval(&g, 10.0), 2.900425863264272, 1e-13, "gaussian gamma(a): 95% of the partial sill");
	CHECK_NEAR(variogram_eval(&g, 20.0), 2.9999877115752933, 1e-13, "gaussian gamma(2a)");

	CHECK(variogram_valid(&s, &why) && why == NULL, "valid variogram");
	bad = s;
	bad.nugget = -0.1;
	CHECK(!variogram_valid(&bad, &why) && why != NULL, "negative nugget rejected");
	bad = s;
	bad.sill = 0.5;
	CHECK(!variogram_valid(&bad, &why), "sill < nugget rejected");
	bad = s;
	bad.range = 0.0;
	CHECK(!variogram_valid(&bad, &why), "range 0 rejected");
	bad = s;
	bad.sill = NAN;
	CHECK(!variogram_valid(&bad, &why), "NaN sill rejected");
	bad = s;
	bad.model = (vario_model) 7;
	CHECK(!variogram_valid(&bad, &why), "unknown model rejected");
}

/*
 * test_isaaks_srivastava: the ordinary kriging example of Isaaks &
 * Srivastava, An Introduction to Applied Geostatistics (1989), ch. 12:
 * seven samples around (65E, 137N), C(h) = 10 exp(-0.3 h), i.e. an
 * exponential model with nugget 0, sill 10, practical range 10.  The book
 * prints weights 0.173 0.318 0.129 0.086 0.151 0.057 0.086, estimate 593
 * (592.7) and error variance 8.96; a numpy solve of the same system gives
 * mu = -0.9066 in the convention sum w_j C_ij + mu = C_i0.
 */
static void
test_isaaks_srivastava(void)
{
	double		x[] = {61, 63, 64, 68, 71, 73, 75};
	double		y[] = {139, 140, 129, 128, 140, 141, 128};
	double		v[] = {477, 696, 227, 646, 606, 791, 783};
	double		book_w[] = {0.173, 0.318, 0.129, 0.086, 0.151, 0.057, 0.086};
	interp_points p = {x, y, v, 7};
	variogram	vg = {VARIO_EXPONENTIAL, 0.0, 10.0, 10.0};
	double		w[7],
				mu = NAN,
				est = NAN,
				var = NAN,
				sum = 0.0;
	char		what[120];

	CHECK(kriging_point(&p, &vg, 65.0, 137.0, w, &mu, &est, &var), "I&S: kriging_point solves");
	for (int i = 0; i < 7; i++)
	{
		snprintf(what, sizeof(what), "I&S: weight of sample %d at (%g, %g) = %.3f", i + 1, x[i], y[i], book_w[i]);
		CHECK_NEAR(w[i], book_w[i], 0.0005, what);
		sum += w[i];
	}
	CHECK_NEAR(sum, 1.0, 1e-12, "I&S: weights sum to 1");
	CHECK_NEAR(est, 592.7, 0.05, "I&S: estimate 592.7 (593 in the book)");
	CHECK_NEAR(var, 8.96, 0.005, "I&S: kriging variance 8.96");
	CHECK_NEAR(mu, -0.9066, 0.00005, "I&S: Lagrange multiplier -0.9066 (numpy)");

	/* the same through the gridder: one cell centred at (65, 137) */
	{
		interp_grid g = {64.5, 137.5, 1.0, -1.0, 1, 1};
		kriging_options o = {vg, 0, 0.0, 1, NODATA};
		double		out = NAN,
					ov = NAN;

		CHECK_INT(interp_kriging(&p, &g, &o, NULL, &out, &ov), INTERP_OK, "I&S grid, global mode");
		CHECK_NEAR(out, est, 1e-9, "I&S grid global: estimate");
		CHECK_NEAR(ov, var, 1e-9, "I&S grid global: variance");
		o.max_points = 7;
		CHECK_INT(interp_kriging(&p, &g, &o, NULL, &out, &ov), INTERP_OK, "I&S grid, local mode k=7");
		CHECK_NEAR(out, est, 1e-9, "I&S grid local: estimate");
		CHECK_NEAR(ov, var, 1e-9, "I&S grid local: variance");
		o.max_points = 16;
		o.radius = 30.0;
		CHECK_INT(interp_kriging(&p, &g, &o, NULL, &out, &ov), INTERP_OK, "I&S grid, local k=16 radius 30");
		CHECK_NEAR(out, est, 1e-9, "I&S grid local radius: estimate");
		/* scaling the sill scales the variance only */
		o.v.sill = 1000.0;
		interp_kriging(&p, &g, &o, NULL, &out, &ov);
		CHECK_NEAR(out, est, 1e-9, "I&S: sill x100 keeps the estimate");
		CHECK_NEAR(ov, 100.0 * var, 1e-7, "I&S: sill x100 scales the variance");
	}
}

/*
 * test_point_properties: weights sum to 1, symmetric configurations give
 * symmetric weights, exactness at data points, duplicates and near
 * duplicates.
 */
static void
test_point_properties(void)
{
	enum
	{
	N = 40};
	double		x[N],
				y[N],
				v[N],
				w[N];
	interp_points p = {x, y, v, N};
	vario_model models[] = {VARIO_SPHERICAL, VARIO_EXPONENTIAL, VARIO_GAUSSIAN};
	int			bad_sum = 0,
				bad_exact = 0;

	for (int i = 0; i < N; i++)
	{
		x[i] = rnd() * 100.0;
		y[i] = rnd() * 100.0;
		v[i] = rnd() * 50.0 - 10.0;
	}
	for (int mi = 0; mi < 3; mi++)
		for (int nug = 0; nug < 2; nug++)
		{
			variogram	vg = {models[mi], nug ? 0.5 : 0.0, 2.0, 40.0};

			for (int q = 0; q < 20; q++)
			{
				double		est,
							var,
							s = 0.0;

				if (!kriging_point(&p, &vg, rnd() * 100.0, rnd() * 100.0, w, NULL, &est, &var))
				{
					bad_sum++;
					continue;
				}
				for (int i = 0; i < N; i++)
					s += w[i];
				if (!(fabs(s - 1.0) < 1e-9) || !isfinite(est) || !(var >= 0.0))
					bad_sum++;
			}
			for (int i = 0; i < N; i++)
			{
				double		est = NAN,
							var = NAN;

				kriging_point(&p, &vg, x[i], y[i], w, NULL, &est, &var);
				if (est != v[i] || var != 0.0 || w[i] != 1.0)
					bad_exact++;
			}
		}
	CHECK_INT(bad_sum, 0, "weights sum to 1, finite estimates, variance >= 0 (3 models x 2 nuggets x 20 points)");
	CHECK_INT(bad_exact, 0, "exact at every data point (value, variance 0, weight 1)");

	/* symmetric about x = 0: (+-1, +-1), (0, 2), query on the axis */
	{
		double		sx[] = {-1.0, 1.0, -1.0, 1.0, 0.0};
		double		sy[] = {-1.0, -1.0, 1.0, 1.0, 2.0};
		double		sv[] = {1.0, 2.0, 3.0, 4.0, 5.0};
		double		sw[5];
		interp_points sp = {sx, sy, sv, 5};

		for (int mi = 0; mi < 3; mi++)
		{
			variogram	vg = {models[mi], 0.1, 1.0, 3.0};
			char		what[120];

			kriging_point(&sp, &vg, 0.0, 0.3, sw, NULL, NULL, NULL);
			snprintf(what, sizeof(what), "model %d: mirror-image points get equal weights", mi);
			CHECK(fabs(sw[0] - sw[1]) < 1e-12 && fabs(sw[2] - sw[3]) < 1e-12, what);
			kriging_point(&sp, &vg, 0.0, 0.0, sw, NULL, NULL, NULL);
			snprintf(what, sizeof(what), "model %d: from the centre, left and right corners weigh alike, top and bottom differ", mi);
			CHECK(fabs(sw[0] - sw[1]) < 1e-12 && fabs(sw[2] - sw[3]) < 1e-12 && fabs(sw[0] - sw[2]) > 1e-3, what);
		}
	}

	/* duplicates: the first of each location is used, the others weigh 0 */
	{
		double		dx[] = {0.0, 1.0, 0.0, 2.0, 1.0};
		double		dy[] = {0.0, 0.0, 0.0, 1.0, 0.0};
		double		dv[] = {1.0, 5.0, 100.0, 3.0, -7.0};
		double		ux[] = {0.0, 1.0, 2.0};
		double		uy[] = {0.0, 0.0, 1.0};
		double		uv[] = {1.0, 5.0, 3.0};
		double		dw[5],
					uw[3];
		interp_points dp = {dx, dy, dv, 5};
		interp_points up = {ux, uy, uv, 3};
		variogram	vg = {VARIO_EXPONENTIAL, 0.0, 1.0, 2.0};
		double		de,
					ue,
					dvar,
					uvar;

		CHECK(kriging_point(&dp, &vg, 0.7, 0.4, dw, NULL, &de, &dvar), "duplicates: solvable");
		kriging_point(&up, &vg, 0.7, 0.4, uw, NULL, &ue, &uvar);
		CHECK(de == ue && dvar == uvar, "duplicates: same as the first of each location alone");
		CHECK(dw[2] == 0.0 && dw[4] == 0.0 && dw[0] == uw[0] && dw[1] == uw[1] && dw[3] == uw[2],
			  "duplicates: later copies weigh 0");
		kriging_point(&dp, &vg, 1.0, 0.0, NULL, NULL, &de, NULL);
		CHECK(de == 5.0, "duplicates: on a duplicated point, the first value");
	}

	/* nearly coincident points, Gaussian without nugget: finite */
	{
		double		nx[] = {0.0, 1e-13, 1.0, 0.5, 1e-9};
		double		ny[] = {0.0, 0.0, 1.0, 0.2, 1e-9};
		double		nv[] = {1.0, 2.0, 3.0, 4.0, 5.0};
		interp_points np = {nx, ny, nv, 5};
		int			bad = 0;

		for (int mi = 0; mi < 3; mi++)
		{
			variogram	vg = {models[mi], 0.0, 1.0, 5.0};
			interp_grid g = {-1.0, 2.0, 0.1, -0.1, 30, 30};
			kriging_options o = {vg, 0, 0.0, 1, NODATA};
			double		out[900],
						var[900];
			double		est = NAN,
						kv = NAN;

			if (!kriging_point(&np, &vg, 0.3, 0.3, NULL, NULL, &est, &kv) || !isfinite(est) || !isfinite(kv))
				bad++;
			for (int mode = 0; mode < 2; mode++)
			{
				o.max_points = mode ? 4 : 0;
				if (interp_kriging(&np, &g, &o, NULL, out, var) != INTERP_OK)
					bad++;
				for (int c = 0; c < 900; c++)
					if (!isfinite(out[c]) || !isfinite(var[c]) || var[c] < 0.0 || fabs(out[c]) > 1e6)
						bad++;
			}
		}
		CHECK_INT(bad, 0, "nearly coincident points: no NaN, no blow-up (3 models, global and local)");
	}
}

/*
 * grid_cx / grid_cy return the centre of a cell.
 */
static double
grid_cx(const interp_grid *g, int col)
{
	return g->ulx + (col + 0.5) * g->sx;
}

static double
grid_cy(const interp_grid *g, int row)
{
	return g->uly + (row + 0.5) * g->sy;
}

/*
 * test_grid_modes: global = local with max_points >= n; local with k
 * neighbours = kriging_point on the k nearest found by brute force (which
 * also checks the factorisation cache); exact cells on data points;
 * constant fields; the blocked LU (n >= 256).
 */
static void
test_grid_modes(void)
{
	enum
	{
	N = 120, W = 40, H = 30, K = 8};
	static double x[N],
				y[N],
				v[N],
				outg[W * H],
				varg[W * H],
				outl[W * H],
				varl[W * H];
	interp_points p = {x, y, v, N};
	interp_grid g = {1000.0, 2000.0, 2.5, -2.5, W, H};
	vario_model models[] = {VARIO_SPHERICAL, VARIO_EXPONENTIAL, VARIO_GAUSSIAN};
	char		what[160];

	for (int i = 0; i < N; i++)
	{
		x[i] = 1000.0 + rnd() * W * 2.5;
		y[i] = 2000.0 - rnd() * H * 2.5;
		v[i] = 10.0 + 5.0 * sin(x[i] / 17.0) + rnd();
	}
	/* points exactly on cell centres */
	for (int i = 0; i < 10; i++)
	{
		x[i] = grid_cx(&g, 3 * i + 1);
		y[i] = grid_cy(&g, 2 * i + 3);
	}

	for (int mi = 0; mi < 3; mi++)
		for (int nug = 0; nug < 2; nug++)
		{
			kriging_options o = {{models[mi], nug ? 0.3 : 0.0, 4.0, 30.0}, 0, 0.0, 1, NODATA};
			double		de = 0.0,
						dv = 0.0;
			int			bad_exact = 0,
						bad_brute = 0;

			/* a Gaussian model without nugget is too ill-conditioned to compare at 1e-9 */
			if (models[mi] == VARIO_GAUSSIAN && !nug)
				o.v.nugget = 0.01;
			CHECK_INT(interp_kriging(&p, &g, &o, NULL, outg, varg), INTERP_OK, "global run");
			o.max_points = N + 5;
			CHECK_INT(interp_kriging(&p, &g, &o, NULL, outl, varl), INTERP_OK, "local run, max_points > n");
			for (int c = 0; c < W * H; c++)
			{
				de = fmax(de, fabs(outg[c] - outl[c]));
				dv = fmax(dv, fabs(varg[c] - varl[c]));
			}
			snprintf(what, sizeof(what), "model %d nugget %g: global = local(k >= n) estimates (max diff %.2g)",
					 mi, o.v.nugget, de);
			CHECK(de <= 1e-9, what);
			snprintf(what, sizeof(what), "model %d nugget %g: global = local(k >= n) variances (max diff %.2g)",
					 mi, o.v.nugget, dv);
			CHECK(dv <= 1e-9, what);
			for (int i = 0; i < 10; i++)
			{
				int			c = (2 * i + 3) * W + 3 * i + 1;

				if (outg[c] != v[i] || outl[c] != v[i] || varg[c] != 0.0 || varl[c] != 0.0)
					bad_exact++;
			}
			snprintf(what, sizeof(what), "model %d nugget %g: cells on data points take their values", mi, o.v.nugget);
			CHECK_INT(bad_exact, 0, what);

			/* local k = 8 against brute-force neighbours + kriging_point */
			o.max_points = K;
			interp_kriging(&p, &g, &o, NULL, outl, varl);
			for (int r = 0; r < H; r++)
				for (int c = 0; c < W; c++)
				{
					double		qx = grid_cx(&g, c),
								qy = grid_cy(&g, r);
					double		sx[K],
								sy[K],
								sv[K],
								sd[K];
					interp_points sp = {sx, sy, sv, K};
					double		est = NAN,
								var = NAN;
					int			m = 0;

					/* insertion of the K nearest */
					for (int i = 0; i < N; i++)
					{
						double		d = (x[i] - qx) * (x[i] - qx) + (y[i] - qy) * (y[i] - qy);
						int			j;

						if (m == K && d >= sd[K - 1])
							continue;
						j = m < K ? m++ : K - 1;
						while (j > 0 && sd[j - 1] > d)
						{
							sd[j] = sd[j - 1];
							sx[j] = sx[j - 1];
							sy[j] = sy[j - 1];
							sv[j] = sv[j - 1];
							j--;
						}
						sd[j] = d;
						sx[j] = x[i];
						sy[j] = y[i];
						sv[j] = v[i];
					}
					kriging_point(&sp, &o.v, qx, qy, NULL, NULL, &est, &var);
					if (!(fabs(est - outl[r * W + c]) <= 1e-9 * fmax(1.0, fabs(est))) ||
						!(fabs(var - varl[r * W + c]) <= 1e-9 * fmax(1.0, var)))
						bad_brute++;
				}
			snprintf(what, sizeof(what), "model %d nugget %g: local k=%d = brute-force neighbours, %d cells",
					 mi, o.v.nugget, K, W * H);
			CHECK_INT(bad_brute, 0, what);
		}

	/* a constant field gives the constant everywhere */
	{
		static double cv[N];
		interp_points cp = {x, y, cv, N};
		double		worst = 0.0;

		for (int i = 0; i < N; i++)
			cv[i] = 42.5;
		for (int mi = 0; mi < 3; mi++)
			for (int mode = 0; mode < 3; mode++)
			{
				kriging_options o = {{models[mi], 0.2, 3.0, 25.0}, mode == 0 ? 0 : (mode == 1 ? 5 : 16),
				mode == 2 ? 15.0 : 0.0, 1, NODATA};

				interp_kriging(&cp, &g, &o, NULL, outg, NULL);
				for (int c = 0; c < W * H; c++)
					if (outg[c] != NODATA)
						worst = isnan(outg[c]) ? INFINITY : fmax(worst, fabs(outg[c] - 42.5));
			}
		snprintf(what, sizeof(what), "constant field: constant everywhere, 3 models x 3 modes (max err %.2g)", worst);
		CHECK(worst < 1e-9, what);
	}

	/* the blocked LU: 300 points, global against local with every point */
	{
		enum
		{
		NB = 300, GW = 12, GH = 9};
		static double bx[NB],
					by[NB],
					bv[NB],
					og[GW * GH],
					vgr[GW * GH],
					ol[GW * GH],
					vl[GW * GH];
		interp_points bp = {bx, by, bv, NB};
		interp_grid bg = {0.0, 100.0, 100.0 / GW, -100.0 / GH, GW, GH};
		kriging_options o = {{VARIO_EXPONENTIAL, 0.0, 1.0, 40.0}, 0, 0.0, 1, NODATA};
		double		de = 0.0,
					dv = 0.0;

		for (int i = 0; i < NB; i++)
		{
			bx[i] = rnd() * 100.0;
			by[i] = rnd() * 100.0;
			bv[i] = cos(bx[i] / 10.0) * sin(by[i] / 13.0) * 10.0 + rnd();
		}
		interp_kriging(&bp, &bg, &o, NULL, og, vgr);
		o.max_points = NB;
		interp_kriging(&bp, &bg, &o, NULL, ol, vl);
		for (int c = 0; c < GW * GH; c++)
		{
			de = fmax(de, fabs(og[c] - ol[c]));
			dv = fmax(dv, fabs(vgr[c] - vl[c]));
		}
		snprintf(what, sizeof(what), "300 points (blocked LU): global = local estimates (max diff %.2g) and variances (%.2g)",
				 de, dv);
		CHECK(de <= 1e-9 && dv <= 1e-9, what);
	}
}

/*
 * test_nodata_rules: radius, min_points, no points, non-finite points, the
 * flat model, an invalid variogram, TOO_LARGE.
 */
static void
test_nodata_rules(void)
{
	double		x[] = {0.5, 3.5, 3.5, NAN, 1.5};
	double		y[] = {0.5, 0.5, 3.5, 1.0, 2.5};
	double		v[] = {10.0, 20.0, 30.0, 1e9, INFINITY};
	interp_points p = {x, y, v, 5};
	interp_grid g = {0.0, 4.0, 1.0, -1.0, 4, 4};	/* centres 0.5 .. 3.5 */
	kriging_options o = {{VARIO_SPHERICAL, 0.0, 1.0, 3.0}, 3, 1.1, 1, NODATA};
	double		out[16],
				var[16];
	int			bad;

	/* finite points: (0.5, 0.5) is cell 12, (3.5, 0.5) cell 15, (3.5, 3.5) cell 3 */
	CHECK_INT(interp_kriging(&p, &g, &o, NULL, out, var), INTERP_OK, "radius run");
	CHECK(out[3 * 4 + 0] == 10.0 && out[3 * 4 + 3] == 20.0 && out[0 * 4 + 3] == 30.0,
		  "radius 1.1: cells on points take their values");
	CHECK(out[0] == NODATA && var[0] == NODATA, "radius 1.1: cell with no neighbour is nodata (value and variance)");
	CHECK(out[3 * 4 + 1] != NODATA && out[3 * 4 + 1] == 10.0, "radius 1.1: single neighbour gives its value");
	CHECK(var[3 * 4 + 1] > 0.0, "single neighbour: variance > 0");
	o.min_points = 2;
	interp_kriging(&p, &g, &o, NULL, out, var);
	CHECK(out[3 * 4 + 1] == NODATA, "min_points 2: one neighbour is nodata");
	CHECK(out[3 * 4 + 0] == 10.0, "min_points 2: a cell on a point still takes its value");
	o.radius = 0.0;
	o.min_points = 4;
	interp_kriging(&p, &g, &o, NULL, out, var);
	bad = 0;
	for (int c = 0; c < 16; c++)
		if (c != 12 && c != 15 && c != 3 && out[c] != NODATA)
			bad++;
	CHECK_INT(bad, 0, "min_points 4 with 3 finite points: nodata (non-finite points ignored)");
	o.max_points = 0;
	interp_kriging(&p, &g, &o, NULL, out, var);
	CHECK(out[5] == NODATA, "global mode honours min_points");

	/* flat model: mean of the neighbours */
	o.min_points = 1;
	o.v.sill = 0.0;
	interp_kriging(&p, &g, &o, NULL, out, var);
	CHECK_NEAR(out[5], 20.0, 1e-12, "flat model, global: the mean of all points");
	CHECK(var[5] == 0.0 && out[12] == 10.0, "flat model: variance 0, exact on points");
	o.max_points = 2;
	interp_kriging(&p, &g, &o, NULL, out, var);
	CHECK_NEAR(out[3 * 4 + 1], 15.0, 1e-12, "flat model, local k=2: mean of the 2 nearest");

	/* invalid variogram: nodata */
	o.v.sill = -1.0;
	CHECK_INT(interp_kriging(&p, &g, &o, NULL, out, var), INTERP_OK, "invalid variogram: INTERP_OK");
	CHECK(out[5] == NODATA && var[5] == NODATA, "invalid variogram: nodata");

	/* no points */
	{
		interp_points none = {x, y, v, 0};

		o.v.sill = 1.0;
		CHECK_INT(interp_kriging(&none, &g, &o, NULL, out, NULL), INTERP_OK, "no points: ok");
		CHECK(out[0] == NODATA && out[15] == NODATA, "no points: nodata");
	}

	/* too large */
	{
		size_t		nbig = KRIGING_MAX_GLOBAL + 1;
		double	   *bx = malloc(nbig * sizeof(double));
		double	   *by = malloc(nbig * sizeof(double));
		double	   *bv = malloc(nbig * sizeof(double));
		interp_points bp = {bx, by, bv, nbig};
		kriging_options ob = {{VARIO_EXPONENTIAL, 0.0, 1.0, 3.0}, 0, 0.0, 1, NODATA};

		for (size_t i = 0; i < nbig; i++)
		{
			bx[i] = (double) (i % 100);
			by[i] = (double) (i / 100);
			bv[i] = (double) i;
		}
		CHECK_INT(interp_kriging(&bp, &g, &ob, NULL, out, NULL), INTERP_TOO_LARGE, "global with 5001 points: TOO_LARGE");
		ob.max_points = 6000;
		CHECK_INT(interp_kriging(&bp, &g, &ob, NULL, out, NULL), INTERP_TOO_LARGE, "max_points 6000: TOO_LARGE");
		ob.max_points = 0;
		ob.radius = 2.0;
		CHECK_INT(interp_kriging(&bp, &g, &ob, NULL, out, NULL), INTERP_TOO_LARGE, "max_points 0 with radius: TOO_LARGE");
		ob.max_points = 12;
		CHECK_INT(interp_kriging(&bp, &g, &ob, NULL, out, NULL), INTERP_OK, "5001 points, max_points 12: ok");
		/* 4 duplicates of each of 1250 locations: 1251 distinct, global is fine */
		for (size_t i = 0; i < nbig; i++)
		{
			bx[i] = (double) ((i / 4) % 100);
			by[i] = (double) ((i / 4) / 100);
		}
		ob.max_points = 0;
		ob.radius = 0.0;
		{
			interp_grid tiny = {0.0, 1.0, 1.0, -1.0, 1, 1};

			CHECK_INT(interp_kriging(&bp, &tiny, &ob, NULL, out, NULL), INTERP_OK,
					  "5001 points at 1251 locations: global is ok (duplicates dropped)");
			CHECK(isfinite(out[0]), "... and gives a finite estimate");
		}
		free(bx);
		free(by);
		free(bv);
	}
}

/*
 * test_threads_cancel: threads = 2 is bit-identical to threads = 1 (local
 * and global, with variance), and a cancel gives INTERP_CANCELLED.
 */
static void
test_threads_cancel(void)
{
	enum
	{
	N = 300, W = 50, H = 37};
	static double x[N],
				y[N],
				v[N],
				o1[W * H],
				v1[W * H],
				o2[W * H],
				v2[W * H];
	interp_points p = {x, y, v, N};
	interp_grid g = {0.0, 10.0, 0.2, -0.27, W, H};
	interp_exec e1 = {1, NULL, NULL};
	interp_exec e2 = {2, NULL, NULL};
	interp_exec ec = {2, cancel_now, NULL};

	for (int i = 0; i < N; i++)
	{
		x[i] = rnd() * 10.0;
		y[i] = rnd() * 10.0;
		v[i] = x[i] * y[i] + rnd();
	}
	for (int mode = 0; mode < 2; mode++)
	{
		kriging_options o = {{VARIO_SPHERICAL, 0.1, 3.0, 4.0}, mode ? 12 : 0, 0.0, 1, NODATA};
		char		what[120];

		CHECK_INT(interp_kriging(&p, &g, &o, &e1, o1, mode ? v1 : NULL), INTERP_OK, "threads=1 run");
		CHECK_INT(interp_kriging(&p, &g, &o, &e2, o2, mode ? v2 : NULL), INTERP_OK, "threads=2 run");
		snprintf(what, sizeof(what), "%s: threads=2 bit-identical to threads=1", mode ? "local k=12 + variance" : "global");
		CHECK(memcmp(o1, o2, sizeof(o1)) == 0 && (!mode || memcmp(v1, v2, sizeof(v1)) == 0), what);
		snprintf(what, sizeof(what), "%s: cancel gives INTERP_CANCELLED", mode ? "local" : "global (in the LU)");
		CHECK_INT(interp_kriging(&p, &g, &o, &ec, o2, NULL), INTERP_CANCELLED, what);
	}
	{
		/* global with variance, a smaller grid: O(n^2) a cell */
		interp_grid gs = {0.0, 10.0, 1.0, -1.0, 10, 10};
		kriging_options o = {{VARIO_EXPONENTIAL, 0.1, 3.0, 4.0}, 0, 0.0, 1, NODATA};

		interp_kriging(&p, &gs, &o, &e1, o1, v1);
		interp_kriging(&p, &gs, &o, &e2, o2, v2);
		CHECK(memcmp(o1, o2, 100 * sizeof(double)) == 0 && memcmp(v1, v2, 100 * sizeof(double)) == 0,
			  "global + variance: threads=2 bit-identical to threads=1");
	}
}

/*
 * test_fit: the experimental semivariogram of a linear 1-D field (exact),
 * recovery of known parameters from an exact model semivariogram, a smoke
 * test on random data, and the failure cases.
 */
static void
test_fit(void)
{
	vario_model models[] = {VARIO_SPHERICAL, VARIO_EXPONENTIAL, VARIO_GAUSSIAN};
	const char *why = NULL;
	char		what[200];

	/* v = x on x = 0..99: gamma(h) = h^2 / 2 */
	{
		static double x[100],
					y[100],
					v[100];
		interp_points p = {x, y, v, 100};
		double		lag[KRIGING_DEFAULT_LAGS],
					gam[KRIGING_DEFAULT_LAGS],
					cnt[KRIGING_DEFAULT_LAGS],
					ml = 0.0;
		int			nl;
		int			bad = 0;

		for (int i = 0; i < 100; i++)
		{
			x[i] = i;
			y[i] = 0.0;
			v[i] = i;
		}
		nl = variogram_experimental(&p, 10, 10.0, lag, gam, cnt, &ml, &why);
		CHECK_INT(nl, 10, "experimental: 10 classes");
		CHECK(cnt[0] == 0.0 && lag[0] == 0.0 && gam[0] == 0.0, "experimental: class [0, 1) is empty");
		for (int k = 1; k < 9; k++)
			if (cnt[k] != 100 - k || lag[k] != k || gam[k] != k * k / 2.0)
				bad++;
		CHECK_INT(bad, 0, "experimental: class k holds the 100 - k pairs at distance k, gamma k^2/2");
		CHECK(cnt[9] == 91 + 90 && fabs(gam[9] - (91 * 40.5 + 90 * 50.0) / 181.0) < 1e-12,
			  "experimental: the last class includes max_lag");
		nl = variogram_experimental(&p, 0, 0.0, lag, gam, cnt, &ml, &why);
		CHECK(nl == KRIGING_DEFAULT_LAGS && ml == 49.5, "experimental: defaults (15 classes, half the diagonal)");
	}

	/* exact model semivariogram: recover nugget, sill, range within 1% */
	for (int mi = 0; mi < 3; mi++)
		for (int nug = 0; nug < 2; nug++)
		{
			double		lag[15],
						gam[15],
						cnt[15];
			variogram	truth = {models[mi], nug ? 2.0 : 0.0, 7.0, 60.0};
			variogram	fit = {0};
			bool		ok;

			for (int k = 0; k < 15; k++)
			{
				lag[k] = (k + 0.5) * 100.0 / 15.0;
				gam[k] = variogram_eval(&truth, lag[k]);
				cnt[k] = 100 + 37 * k;
			}
			ok = variogram_fit_lags(lag, gam, cnt, 15, models[mi], &fit, &why);
			snprintf(what, sizeof(what), "fit_lags model %d: nugget %g sill %g range %g -> %.6g %.6g %.6g",
					 mi, truth.nugget, truth.sill, truth.range, fit.nugget, fit.sill, fit.range);
			CHECK(ok && fabs(fit.nugget - truth.nugget) <= 0.01 * truth.sill &&
				  fabs(fit.sill - truth.sill) <= 0.01 * truth.sill &&
				  fabs(fit.range - truth.range) <= 0.01 * truth.range && fit.model == models[mi], what);
		}

	/* pure nugget */
	{
		double		lag[6] = {1, 2, 3, 4, 5, 6};
		double		gam[6] = {3, 3, 3, 3, 3, 3};
		double		cnt[6] = {10, 10, 10, 10, 10, 10};
		variogram	fit;

		CHECK(variogram_fit_lags(lag, gam, cnt, 6, VARIO_EXPONENTIAL, &fit, &why) &&
			  fabs(fit.nugget - 3.0) < 1e-9 && fabs(fit.sill - 3.0) < 1e-9, "fit_lags: flat gamma gives a pure nugget");
		cnt[2] = cnt[3] = cnt[4] = cnt[5] = 0;
		CHECK(!variogram_fit_lags(lag, gam, cnt, 6, VARIO_EXPONENTIAL, &fit, &why) && why != NULL,
			  "fit_lags: 2 classes with pairs is too few");
	}

	/* smoke test on random data, the sampled-pairs path, determinism */
	{
		enum
		{
		N = 3000};
		static double x[N],
					y[N],
					v[N];
		interp_points p = {x, y, v, N};
		interp_points small = {x, y, v, 200};

		for (int i = 0; i < N; i++)
		{
			x[i] = rnd() * 1000.0;
			y[i] = rnd() * 500.0;
			v[i] = sin(x[i] / 150.0) + cos(y[i] / 90.0) + 0.3 * rnd();
		}
		for (int mi = 0; mi < 3; mi++)
		{
			variogram	f1,
						f2,
						f3;
			bool		ok1 = variogram_fit(&p, models[mi], 0, 0.0, &f1, &why);
			bool		ok2 = variogram_fit(&p, models[mi], 0, 0.0, &f2, &why);
			bool		ok3 = variogram_fit(&small, models[mi], 12, 300.0, &f3, &why);

			snprintf(what, sizeof(what), "fit model %d on 3000 points (sampled pairs): %.4g %.4g %.4g; 200 points: %.4g %.4g %.4g",
					 mi, f1.nugget, f1.sill, f1.range, f3.nugget, f3.sill, f3.range);
			CHECK(ok1 && ok3 && variogram_valid(&f1, NULL) && variogram_valid(&f3, NULL) && f1.sill > 0.0 && f3.sill > 0.0,
				  what);
			CHECK(ok2 && memcmp(&f1, &f2, sizeof(f1)) == 0, "fit is deterministic");
			/* the field has a structure of a few hundred units and a small noise */
			CHECK(f1.range > 50.0 && f1.range < 3000.0 && f1.nugget < 0.5 * f1.sill,
				  "fit on a smooth field: a real range, a small nugget");
		}
	}

	/*
	 * End to end: one realisation of a Gaussian random field with a known
	 * exponential covariance (nugget 0.5, sill 4.5, range 40) at 600
	 * random points of a 200 x 200 square, drawn by Cholesky; a single
	 * realisation only determines the variogram roughly, so the bounds are
	 * wide, but a broken fit misses them.
	 */
	{
		enum
		{
		N = 600};
		static double x[N],
					y[N],
					v[N],
					L[N * N],
					z[N];
		interp_points p = {x, y, v, N};
		variogram	truth = {VARIO_EXPONENTIAL, 0.5, 4.5, 40.0};
		variogram	fit;
		bool		ok,
					chol = true;

		for (int i = 0; i < N; i++)
		{
			x[i] = rnd() * 200.0;
			y[i] = rnd() * 200.0;
		}
		for (int i = 0; i < N; i++)
			for (int j = 0; j <= i; j++)
			{
				double		h = hypot(x[i] - x[j], y[i] - y[j]);
				double		s = truth.sill - (i == j ? 0.0 : variogram_eval(&truth, h));

				for (int k = 0; k < j; k++)
					s -= L[i * N + k] * L[j * N + k];
				if (i == j)
				{
					chol &= s > 0.0;
					L[i * N + i] = sqrt(fmax(s, 1e-300));
				}
				else
					L[i * N + j] = s / L[j * N + j];
			}
		for (int i = 0; i < N; i++)
		{
			double		u1 = rnd() + 1e-300,
						u2 = rnd();

			z[i] = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
		}
		for (int i = 0; i < N; i++)
		{
			v[i] = 100.0;
			for (int k = 0; k <= i; k++)
				v[i] += L[i * N + k] * z[k];
		}
		CHECK(chol, "Gaussian random field: covariance is positive definite");
		ok = variogram_fit(&p, VARIO_EXPONENTIAL, 12, 100.0, &fit, &why);
		snprintf(what, sizeof(what), "fit of a simulated field (0.5, 4.5, 40): %.3g %.3g %.3g",
				 fit.nugget, fit.sill, fit.range);
		CHECK(ok && fabs(fit.sill - 4.5) < 0.4 * 4.5 && fit.range > 20.0 && fit.range < 80.0 &&
			  fit.nugget < 1.5, what);
	}

	/* failure cases and their defaults */
	{
		double		x[] = {0.0, 1.0, 2.0, 3.0};
		double		y[] = {0.0, 1.0, 0.0, 1.0};
		double		v[] = {5.0, 5.0, 5.0, 5.0};
		double		v2[] = {1.0, 3.0, 5.0, 7.0};
		double		cx[] = {2.0, 2.0, 2.0, 2.0};
		interp_points p2 = {x, y, v2, 2};
		interp_points pe = {x, y, v, 4};
		interp_points pc = {cx, cx, v2, 4};
		variogram	out;

		why = NULL;
		CHECK(!variogram_fit(&p2, VARIO_SPHERICAL, 0, 0.0, &out, &why) && why != NULL, "fit: 2 points fail");
		CHECK(out.nugget == 0.0 && out.sill == 1.0 && fabs(out.range - 0.5 * sqrt(2.0)) < 1e-12 &&
			  variogram_valid(&out, NULL), "fit: 2 points -> default nugget 0, sill = variance, range = max_lag");
		why = NULL;
		CHECK(!variogram_fit(&pe, VARIO_GAUSSIAN, 0, 0.0, &out, &why) && why != NULL, "fit: equal values fail");
		CHECK(out.sill == 0.0 && variogram_valid(&out, NULL), "fit: equal values -> flat model");
		{
			interp_grid g = {0.0, 2.0, 0.5, -0.5, 8, 4};
			kriging_options o = {out, 2, 0.0, 1, NODATA};
			double		res[32];
			int			bad = 0;

			interp_kriging(&pe, &g, &o, NULL, res, NULL);
			for (int c = 0; c < 32; c++)
				bad += res[c] != 5.0;
			CHECK_INT(bad, 0, "flat model from a failed fit reproduces the constant");
		}
		why = NULL;
		CHECK(!variogram_fit(&pc, VARIO_EXPONENTIAL, 0, 0.0, &out, &why) && why != NULL && out.range == 1.0,
			  "fit: all points at one location fail, range 1");
	}
}

int
main(void)
{
	test_variogram_eval();
	test_isaaks_srivastava();
	test_point_properties();
	test_grid_modes();
	test_nodata_rules();
	test_threads_cancel();
	test_fit();
	return unit_done();
}
