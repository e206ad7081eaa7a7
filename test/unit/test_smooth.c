/*
 * test_smooth.c — unit tests of the smoothing kernel (src/spatial/smooth.c):
 * the Gaussian against scipy.ndimage.gaussian_filter (direct and folded
 * kernels), a brute-force 2-D normalised convolution with nodata cells
 * (finite and NaN nodata), a constant field, tiny sigma, threads and
 * cancellation; the fade against hand-computed factors.
 */
#include "spatial/smooth.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define NODATA	(-9999.0)

/*
 * Reference values: a 7 x 5 grid v[r][c] = sin(1.3 r + 0.7 c) * 10 + r c,
 * smoothed by scipy.ndimage.gaussian_filter(v, sigma, mode='reflect',
 * truncate=t), printed with %.17g.  Produced once with Debian's
 * /usr/bin/python3:
 *
 *	from scipy.ndimage import gaussian_filter
 *	v = np.array([[np.sin(r*1.3 + c*0.7)*10 + r*c for c in range(7)] for r in range(5)])
 *	gaussian_filter(v, 1.0, mode='reflect', truncate=4.0)	# g_s1, radius 4
 *	gaussian_filter(v, 3.0, mode='reflect', truncate=4.0)	# g_s3, radius 12: longer than the grid
 *	gaussian_filter(v, 0.7, mode='reflect', truncate=2.5)	# g_s07, radius 2
 */
/* scipy 1.10.1 numpy 1.24.2 */
static const double g_in[35] = {
	0, 6.4421768723769102, 9.854497299884601, 8.6320936664887391, 3.3498815015590511, -3.5078322768961989, -8.7157577241358766,
	9.6355818541719316, 10.092974268256816, 6.2737988023382982, 0.44458897973169176, -4.1827711106441043, -4.9616460883584068, -1.0554032557039257,
	5.1550137182146401, 0.42254305856751762, -3.5680249530792842, -3.9992325756410096, 0.27235512444012766, 8.1783749572790416, 16.941133511386074,
	-6.8776615918397415, -6.9369100363346448, -2.3226744222390074, 6.2058450180107414, 16.048499206165985, 23.987080958116266, 27.698898108450866,
	-8.8345465572015307, 0.26123335169763973, 11.115413635133779, 20.504366206285646, 25.893582466233816, 26.629692300821834, 24.247754254533596};
/* gaussian_filter(v, 1, mode='reflect', truncate=4) */
static const double g_s1[35] = {
	4.5937381628710838, 6.0160071540067896, 6.438199346636754, 4.5535955885417074, 1.1465923712503656, -2.1016690146314954, -3.9035021529501677,
	4.9896331661547269, 4.9115836867298563, 4.0084668221756576, 2.4136631691803228, 1.186286736471732, 1.1690244663852023, 1.8691037994675166,
	1.8599318755484748, 1.486010793753394, 1.4635319979531269, 2.6470557207124337, 5.3904153740249452, 9.1286482223373469, 12.058111357422495,
	-2.7792738647524047, -0.96423935631367008, 2.7396458084470572, 7.9122963968513336, 13.496306467221352, 18.191965422701251, 20.87816746457905,
	-4.8134347387016199, -0.498552338599768, 6.461178153634906, 13.872818475002372, 19.817201784728983, 23.239425273501592, 24.446984935729162};
/* gaussian_filter(v, 3, mode='reflect', truncate=4) */
static const double g_s3[35] = {
	3.8488948625605026, 4.108781201043306, 4.5736737542791532, 5.1475523411060031, 5.7153438562442416, 6.16655994861864, 6.4154780933483249,
	3.8554702226939281, 4.1857847157941865, 4.7777481070426155, 5.5103462981471587, 6.2371124538617231, 6.8159724009856344, 7.1357782460192007,
	3.8685663804151886, 4.3129593888952407, 5.1106738348646239, 6.1001307210003901, 7.084015922056623, 7.8692118801847784, 8.3035653615145222,
	3.8845061877247162, 4.4431594888307711, 5.4468584916339031, 6.6932957957025323, 7.9342336516310983, 8.9255764688831576, 9.4743204053848338,
	3.8956837605029588, 4.5250594077275981, 5.6562071524807438, 7.0615610593178095, 8.4613661083162519, 9.5800466535787621, 10.199423905680767};
/* gaussian_filter(v, 0.7, mode='reflect', truncate=2.5) */
static const double g_s07[35] = {
	3.2728770835568439, 6.446730571314605, 7.9998882779055442, 6.0691066626377523, 1.6144914429992281, -3.1659662862071798, -6.0700866723076565,
	6.6141624029832364, 6.5011881371943172, 4.6106044082034545, 1.5370763576417534, -0.83484245596585072, -0.96472251361526273, 0.61194020953188621,
	2.8464901426684976, 1.0631843360866742, -0.4548959735230832, 0.11398069962503793, 3.4511442213280823, 8.88014009152608, 13.763507995811702,
	-4.4138764425204347, -2.9705639776368922, 1.0229583979252763, 7.3362748768123236, 14.41849388841614, 20.341593927658252, 23.636601170399853,
	-6.6177119497005039, -0.68666242820722034, 8.02212806659902, 16.529960815549821, 22.576720118881951, 25.109393164103857, 25.113609760394795};

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
 * worst_rel returns max |a - b| / max(1, |b|) over n values; NaN equals
 * only NaN (else: infinity).
 */
static double
worst_rel(const double *a, const double *b, size_t n)
{
	double		worst = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		q = (isnan(a[i]) && isnan(b[i])) ? 0.0 : fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i]));

		if (!(q <= worst))
			worst = isnan(q) ? INFINITY : q;
	}
	return worst;
}

/*
 * test_scipy compares with scipy's values, with 1 and 2 threads, and with
 * has_nodata set but no nodata cell.
 */
static void
test_scipy(void)
{
	interp_grid g = {0.0, 5.0, 1.0, -1.0, 7, 5};
	struct
	{
		double		sigma;
		double		truncate;
		const double *want;
		const char *name;
	}			cs[] = {{1.0, 4.0, g_s1, "sigma 1"}, {3.0, 4.0, g_s3, "sigma 3 (kernel folded)"},
	{0.7, 2.5, g_s07, "sigma 0.7 truncate 2.5"}};
	double		out[35];
	char		what[200];

	for (size_t ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++)
		for (int threads = 1; threads <= 2; threads++)
		{
			interp_exec ex = {threads, NULL, NULL};
			interp_status st;
			double		q;

			memcpy(out, g_in, sizeof(out));
			st = interp_gaussian(&g, cs[ci].sigma, cs[ci].truncate, threads == 2, NODATA, &ex, out);
			q = worst_rel(out, cs[ci].want, 35);
			snprintf(what, sizeof(what), "gaussian %s = scipy to 1e-12, %d thread(s)%s (worst %.2g)",
					 cs[ci].name, threads, threads == 2 ? ", has_nodata without nodata cells" : "", q);
			CHECK(st == INTERP_OK && q <= 1e-12, what);
		}
}

/*
 * brute_masked is the 2-D normalised convolution written out: for each data
 * cell, sum over the (2r+1)^2 taps of the unnormalised weights, with
 * reflected indices, of w v m / sum of w m.
 */
static void
brute_masked(const double *in, int w, int h, double sigma, double truncate, bool nan_nodata,
			 double *out)
{
	int			r = (int) (truncate * sigma + 0.5);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
		{
			double		num = 0.0,
						den = 0.0;
			double		v0 = in[y * w + x];

			if (nan_nodata ? isnan(v0) : v0 == NODATA)
			{
				out[y * w + x] = v0;
				continue;
			}
			for (int ky = -r; ky <= r; ky++)
				for (int kx = -r; kx <= r; kx++)
				{
					int			yy = y + ky,
								xx = x + kx;
					double		v,
								wt;

					/* reflect, repeatedly */
					while (yy < 0 || yy >= h)
						yy = yy < 0 ? -yy - 1 : 2 * h - yy - 1;
					while (xx < 0 || xx >= w)
						xx = xx < 0 ? -xx - 1 : 2 * w - xx - 1;
					v = in[yy * w + xx];
					if (nan_nodata ? isnan(v) : v == NODATA)
						continue;
					wt = exp(-0.5 * (kx * kx + ky * ky) / (sigma * sigma));
					num += wt * v;
					den += wt;
				}
			out[y * w + x] = num / den;
		}
}

/*
 * test_nodata checks nodata cells: unchanged, not leaking into their
 * neighbours, and data cells equal to the brute-force normalised
 * convolution; for a finite and a NaN nodata, direct and folded kernels.
 */
static void
test_nodata(void)
{
	enum
	{
	W = 23, H = 17};
	static double in[W * H],
				out[W * H],
				ref[W * H];
	interp_grid g = {0.0, 17.0, 1.0, -1.0, W, H};
	double		sigmas[] = {1.3, 6.0};
	char		what[200];

	for (int nanmode = 0; nanmode < 2; nanmode++)
	{
		double		nd = nanmode ? NAN : NODATA;

		for (int i = 0; i < W * H; i++)
			in[i] = 50.0 + 40.0 * rnd();
		/* a hole, a nodata column at the edge, scattered cells */
		for (int y = 5; y < 9; y++)
			for (int x = 6; x < 11; x++)
				in[y * W + x] = nd;
		for (int y = 0; y < H; y++)
			in[y * W + W - 1] = nd;
		for (int i = 0; i < 25; i++)
			in[(int) (rnd() * W * H)] = nd;

		for (size_t si = 0; si < sizeof(sigmas) / sizeof(sigmas[0]); si++)
		{
			interp_exec ex = {2, NULL, NULL};
			int			same_nodata = 1,
						in_range = 1;
			double		q;

			memcpy(out, in, sizeof(in));
			CHECK(interp_gaussian(&g, sigmas[si], 4.0, true, nd, &ex, out) == INTERP_OK, "gaussian with nodata runs");
			brute_masked(in, W, H, sigmas[si], 4.0, nanmode, ref);
			for (int i = 0; i < W * H; i++)
			{
				bool		isnd = nanmode ? isnan(in[i]) : in[i] == NODATA;

				if (isnd)
					same_nodata &= nanmode ? isnan(out[i]) : out[i] == NODATA;
				else
					in_range &= out[i] >= 50.0 && out[i] <= 90.0;
			}
			snprintf(what, sizeof(what), "%s nodata, sigma %g: nodata cells unchanged",
					 nanmode ? "NaN" : "-9999", sigmas[si]);
			CHECK(same_nodata, what);
			snprintf(what, sizeof(what), "%s nodata, sigma %g: data cells within the data range (no leak)",
					 nanmode ? "NaN" : "-9999", sigmas[si]);
			CHECK(in_range, what);
			q = worst_rel(out, ref, W * H);
			snprintf(what, sizeof(what), "%s nodata, sigma %g: = brute-force normalised convolution (worst %.2g)",
					 nanmode ? "NaN" : "-9999", sigmas[si], q);
			CHECK(q <= 1e-12, what);
		}
	}
}

/*
 * test_simple checks a constant field, a constant field with holes, tiny
 * sigma, the kernel itself from a unit impulse, invalid sigma and a
 * kernel too large.
 */
static void
test_simple(void)
{
	enum
	{
	W = 20, H = 13};
	static double out[W * H],
				in[W * H];
	interp_grid g = {0.0, 13.0, 1.0, -1.0, W, H};
	double		worst = 0.0;
	int			ok = 1;

	for (int i = 0; i < W * H; i++)
		out[i] = 3.25;
	CHECK(interp_gaussian(&g, 2.0, 4.0, false, 0.0, NULL, out) == INTERP_OK, "constant field runs");
	for (int i = 0; i < W * H; i++)
		worst = fmax(worst, fabs(out[i] - 3.25));
	CHECK(worst <= 1e-14, "constant field unchanged (1e-14)");

	for (int i = 0; i < W * H; i++)
		out[i] = (i % 7 == 3) ? NODATA : 3.25;
	interp_gaussian(&g, 2.5, 4.0, true, NODATA, NULL, out);
	for (int i = 0; i < W * H; i++)
		ok &= (i % 7 == 3) ? out[i] == NODATA : fabs(out[i] - 3.25) <= 1e-14;
	CHECK(ok, "constant field with nodata cells: data unchanged, nodata unchanged");

	for (int i = 0; i < W * H; i++)
		in[i] = out[i] = rnd() * 100.0;
	CHECK(interp_gaussian(&g, 0.1, 4.0, false, 0.0, NULL, out) == INTERP_OK &&
		  memcmp(in, out, sizeof(in)) == 0, "sigma 0.1 (radius 0): identity, same bits");
	CHECK(interp_gaussian(&g, 1e-9, 4.0, true, NODATA, NULL, out) == INTERP_OK &&
		  memcmp(in, out, sizeof(in)) == 0, "sigma 1e-9: identity");
	CHECK(interp_gaussian(&g, 0.0, 4.0, false, 0.0, NULL, out) == INTERP_OK &&
		  memcmp(in, out, sizeof(in)) == 0, "sigma 0: left as it is");
	CHECK(interp_gaussian(&g, NAN, 4.0, false, 0.0, NULL, out) == INTERP_OK &&
		  memcmp(in, out, sizeof(in)) == 0, "sigma NaN: left as it is");
	CHECK_INT(interp_gaussian(&g, 1e6, 4.0, false, 0.0, NULL, out), INTERP_TOO_LARGE,
			  "radius 4e6: INTERP_TOO_LARGE");
	CHECK(memcmp(in, out, sizeof(in)) == 0, "INTERP_TOO_LARGE leaves out as it is");

	/* a unit impulse in a row of 41: the output is the kernel */
	{
		interp_grid g1 = {0.0, 1.0, 1.0, -1.0, 41, 1};
		double		row[41] = {0};

		/* sigma 1, radius 4: sum_{k=-4..4} e^(-k^2/2) = 1 + 2 (e^-0.5 + e^-2 + e^-4.5 + e^-8) */
		double		s = 1.0 + 2.0 * (0.60653065971263342 + 0.13533528323661270 +
									 0.011108996538242306 + 0.00033546262790251185);

		row[20] = 1.0;
		interp_gaussian(&g1, 1.0, 4.0, false, 0.0, NULL, row);
		CHECK_NEAR(row[20], 1.0 / s, 1e-15, "impulse: centre weight 1 / sum");
		CHECK_NEAR(row[22], 0.13533528323661270 / s, 1e-15, "impulse: weight at 2 = e^-2 / sum");
		CHECK_NEAR(row[16], 0.00033546262790251185 / s, 1e-15, "impulse: weight at -4 = e^-8 / sum");
		CHECK_NEAR(row[15], 0.0, 0.0, "impulse: nothing beyond the radius");
	}

	/* edges: an impulse at the first cell reflects onto itself (d c b a | a b c d) */
	{
		interp_grid g1 = {0.0, 1.0, 1.0, -1.0, 10, 1};
		double		row[10] = {0};
		double		s = 1.0 + 2.0 * (0.60653065971263342 + 0.13533528323661270 +
									 0.011108996538242306 + 0.00033546262790251185);

		row[0] = 1.0;
		interp_gaussian(&g1, 1.0, 4.0, false, 0.0, NULL, row);
		CHECK_NEAR(row[0], (1.0 + 0.60653065971263342) / s, 1e-15, "reflect: cell 0 gets w0 + w1");
		CHECK_NEAR(row[1], (0.60653065971263342 + 0.13533528323661270) / s, 1e-15, "reflect: cell 1 gets w1 + w2");
	}
}

/*
 * fade_at runs interp_fade on a 10 x 6 grid of 1 m cells (origin at the
 * top left, 0,6) holding 7.0, points (x, y), and returns the grid.
 */
static interp_status
fade_at(const double *x, const double *y, size_t n, const fade_options *o, const interp_exec *ex,
		double *out)
{
	interp_points p = {x, y, NULL, n};
	interp_grid g = {0.0, 6.0, 1.0, -1.0, 10, 6};

	for (int i = 0; i < 60; i++)
		out[i] = 7.0;
	out[5 * 10 + 9] = NODATA;	/* bottom-right */
	return interp_fade(&p, &g, o, ex, out);
}

/*
 * test_fade checks factors at hand-computed distances.
 */
static void
test_fade(void)
{
	/* a point on the centre of cell (col 0, row 5): (0.5, 0.5) */
	double		x[] = {0.5, 9.5};
	double		y[] = {0.5, 5.5};
	double		out[60];
	fade_options o = {2.0, 1.5, true, NODATA};

	CHECK(fade_at(x, y, 1, &o, NULL, out) == INTERP_OK, "fade runs");
	/* row 5 is y = 0.5: d = col */
	CHECK_NEAR(out[50], 7.0, 0.0, "fade: d = 0 -> factor 1");
	CHECK_NEAR(out[52], 7.0, 0.0, "fade: d = 2 = distance -> factor 1");
	CHECK_NEAR(out[53], 7.0 * 0.80073740291680806, 1e-14, "fade: d = 3 -> exp(-2/9)");
	CHECK_NEAR(out[55], 7.0 * 0.13533528323661270, 1e-14, "fade: d = 5 -> exp(-2)");
	/* cell (col 3, row 1): centre (3.5, 4.5), d = 5 (3-4-5) */
	CHECK_NEAR(out[13], 7.0 * 0.13533528323661270, 1e-14, "fade: d = 5 on a diagonal (3-4-5)");
	CHECK_NEAR(out[59], NODATA, 0.0, "fade: nodata cell unchanged");

	o.distance = 4.0;
	o.smoothing = 2.0;
	fade_at(x, y, 1, &o, NULL, out);
	CHECK_NEAR(out[13], 7.0 * 0.88249690258459546, 1e-14, "fade distance 4 smoothing 2: d = 5 -> exp(-1/8)");

	o.distance = 2.0;
	o.smoothing = 0.0;
	fade_at(x, y, 1, &o, NULL, out);
	CHECK(out[52] == 7.0 && out[53] == 0.0 && out[13] == 0.0, "fade smoothing 0: 1 within distance, 0 beyond");

	/* two points: the nearest one counts; (9.5, 5.5) is cell (9, 0)'s centre */
	o.smoothing = 1.5;
	fade_at(x, y, 2, &o, NULL, out);
	CHECK_NEAR(out[9], 7.0, 0.0, "fade, two points: at the second point -> 1");
	CHECK_NEAR(out[6], 7.0 * 0.80073740291680806, 1e-14, "fade, two points: d = 3 from the second point");
	CHECK_NEAR(out[55], 7.0 * 0.13533528323661270, 1e-14, "fade, two points: d = 5 from the first point");

	fade_at(x, y, 0, &o, NULL, out);
	{
		int			ok = 1;

		for (int i = 0; i < 59; i++)
			ok &= out[i] == 0.0;
		CHECK(ok && out[59] == NODATA, "fade, no points: every data cell -> 0");
	}

	/* NaN nodata */
	{
		interp_points p = {x, y, NULL, 1};
		interp_grid g = {0.0, 6.0, 1.0, -1.0, 10, 6};

		for (int i = 0; i < 60; i++)
			out[i] = (i == 53) ? NAN : 7.0;
		o.has_nodata = true;
		o.nodata = NAN;
		interp_fade(&p, &g, &o, NULL, out);
		CHECK(isnan(out[53]) && out[50] == 7.0 && fabs(out[55] - 7.0 * 0.13533528323661270) <= 1e-14,
			  "fade with NaN nodata: NaN cells stay NaN");
	}
}

typedef struct cancel_state
{
	int			calls;
	int			stop_at;
} cancel_state;

/*
 * cancel_after says stop on its stop_at-th call.
 */
static bool
cancel_after(void *arg)
{
	cancel_state *s = arg;

	return ++s->calls >= s->stop_at;
}

/*
 * test_threads_cancel checks that 2 threads give the same bits as 1
 * (masked, unmasked, folded) and that cancel stops both kernels.
 */
static void
test_threads_cancel(void)
{
	enum
	{
	W = 37, H = 64};
	static double in[W * H],
				a[W * H],
				b[W * H];
	static double px[50],
				py[50];
	interp_grid g = {0.0, 64.0, 1.0, -1.0, W, H};
	interp_points p = {px, py, NULL, 50};
	interp_exec one = {1, NULL, NULL};
	interp_exec two = {2, NULL, NULL};
	fade_options fo = {3.0, 4.0, true, NODATA};
	double		sig[] = {1.5, 25.0};
	char		what[200];

	for (int i = 0; i < W * H; i++)
		in[i] = (i % 11 == 0) ? NODATA : rnd() * 10.0;
	for (int i = 0; i < 50; i++)
	{
		px[i] = rnd() * W;
		py[i] = rnd() * H;
	}
	for (int masked = 0; masked < 2; masked++)
		for (int si = 0; si < 2; si++)
		{
			memcpy(a, in, sizeof(in));
			memcpy(b, in, sizeof(in));
			interp_gaussian(&g, sig[si], 4.0, masked, NODATA, &one, a);
			interp_gaussian(&g, sig[si], 4.0, masked, NODATA, &two, b);
			snprintf(what, sizeof(what), "gaussian sigma %g%s: 2 threads give the same bits as 1",
					 sig[si], masked ? " with nodata" : "");
			CHECK(memcmp(a, b, sizeof(a)) == 0, what);
		}
	memcpy(a, in, sizeof(in));
	memcpy(b, in, sizeof(in));
	interp_fade(&p, &g, &fo, &one, a);
	interp_fade(&p, &g, &fo, &two, b);
	CHECK(memcmp(a, b, sizeof(a)) == 0, "fade: 2 threads give the same bits as 1");

	for (int threads = 1; threads <= 2; threads++)
	{
		cancel_state cs = {0, 3};
		interp_exec ex = {threads, cancel_after, &cs};

		memcpy(a, in, sizeof(in));
		snprintf(what, sizeof(what), "gaussian: cancel on the 3rd call gives INTERP_CANCELLED (%d threads)", threads);
		CHECK_INT(interp_gaussian(&g, 2.0, 4.0, true, NODATA, &ex, a), INTERP_CANCELLED, what);
		cs.calls = 0;
		snprintf(what, sizeof(what), "fade: cancel on the 3rd call gives INTERP_CANCELLED (%d threads)", threads);
		CHECK_INT(interp_fade(&p, &g, &fo, &ex, a), INTERP_CANCELLED, what);
		if (threads == 1)
		{
			int			untouched = 1;

			for (int x = 0; x < W; x++)
				untouched &= a[(H - 1) * W + x] == in[(H - 1) * W + x];
			CHECK(untouched, "fade cancelled: the last row was not touched");
		}
	}
	{
		cancel_state cs = {0, 1000000};
		interp_exec ex = {2, cancel_after, &cs};

		memcpy(a, in, sizeof(in));
		CHECK(interp_gaussian(&g, 2.0, 4.0, true, NODATA, &ex, a) == INTERP_OK && cs.calls > 0 &&
			  memcmp(a, b, sizeof(a)) != 0, "gaussian: a callback that never stops is called, INTERP_OK");
	}
}

/*
 * test_time smooths a 1000 x 1000 grid with sigma 2, 2 threads (time
 * printed, not asserted), and checks a few cells against brute force.
 */
static void
test_time(void)
{
	enum
	{
	W = 1000, H = 1000};
	double	   *in = malloc((size_t) W * H * sizeof(double));
	double	   *out = malloc((size_t) W * H * sizeof(double));
	interp_grid g = {0.0, 1000.0, 1.0, -1.0, W, H};
	interp_exec ex = {2, NULL, NULL};
	struct timespec t0,
				t1;
	int			ok = 1;

	if (in == NULL || out == NULL)
	{
		CHECK(0, "allocate 1000 x 1000");
		free(in);
		free(out);
		return;
	}
	for (size_t i = 0; i < (size_t) W * H; i++)
		in[i] = out[i] = rnd() * 100.0;
	timespec_get(&t0, TIME_UTC);
	CHECK(interp_gaussian(&g, 2.0, 4.0, false, 0.0, &ex, out) == INTERP_OK, "gaussian 1000 x 1000 sigma 2 runs");
	timespec_get(&t1, TIME_UTC);
	printf("# gaussian 1000 x 1000, sigma 2, 2 threads: %.3f s\n",
		   (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	/* a few cells by the 2-D sum (the kernel normalised over its 17 x 17 taps) */
	for (int k = 0; k < 20; k++)
	{
		int			x = (k * 53) % W,
					y = (k * 97 + 3) % H;
		double		num = 0.0,
					den = 0.0;

		for (int ky = -8; ky <= 8; ky++)
			for (int kx = -8; kx <= 8; kx++)
			{
				int			yy = y + ky,
							xx = x + kx;
				double		wt = exp(-0.5 * (kx * kx + ky * ky) / 4.0);

				yy = yy < 0 ? -yy - 1 : (yy >= H ? 2 * H - yy - 1 : yy);
				xx = xx < 0 ? -xx - 1 : (xx >= W ? 2 * W - xx - 1 : xx);
				num += wt * in[(size_t) yy * W + xx];
				den += wt;
			}
		ok &= fabs(out[(size_t) y * W + x] - num / den) <= 1e-12 * fabs(num / den);
	}
	CHECK(ok, "gaussian 1000 x 1000: 20 cells (edges included) = 2-D sum to 1e-12");
	free(in);
	free(out);
}

int
main(void)
{
	test_scipy();
	test_nodata();
	test_simple();
	test_fade();
	test_threads_cancel();
	test_time();
	return unit_done();
}
