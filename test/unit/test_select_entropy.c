/*
 * test_select_entropy.c — unit tests of the float4 entropy screen
 * (src/active/select_entropy.c: select_entropy_upper_f32) at every width
 * this processor has (1: no vectors, 4, 8, 16 floats a vector):
 *
 *  - its lower bound of log2, on every float of the binades [1/2, 1) and
 *	  [2^-126, 2^-125) (each 2^23 values, every mantissa), on 64 mantissas
 *	  of every other binade, on 1 and on subnormals: never above log2 x
 *	  but for the rounding of its last addition e + q (2^-24 of it, which
 *	  the row's bound covers; a subnormal: never above log2 x + 23, as
 *	  documented), and within 1.3e-3 of it for normal x;
 *  - its bound on adversarial rows (one-hot, uniform, tiny, subnormal,
 *	  zeros, near-ones, sums off by up to the tolerance, lengths 1 to 300
 *	  around the vector widths): never below libm's score of the row read
 *	  as doubles, at most 1e-3 above it;
 *  - refusals: a row is refused exactly when select_check_probs refuses
 *	  its doubles, with the same reason, rows at the tolerance's edge
 *	  included.
 */
#include <stdint.h>
#include <stdlib.h>

#include "active/select.h"
#include "unit.h"

static const int widths[] = {1, 4, 8, 16};

/* next: a small LCG, enough to vary rows */
static uint32_t
next(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * test_log2_lower: the cubic bound over whole binades at every width.
 */
static void
test_log2_lower(void)
{
	const int64_t nm = INT64_C(1) << 23;
	float	   *x = malloc(sizeof(float) * nm);
	float	   *out = malloc(sizeof(float) * nm);
	double	   *lm = malloc(sizeof(double) * nm);	/* log2 of the mantissa 1 + k 2^-23 */
	int			tried = 0;

	for (int64_t k = 0; k < nm; k++)
		lm[k] = log2(1.0 + (double) k / (double) nm);
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
	{
		int			w = widths[wi];
		int64_t		above = 0;
		double		gap = 0,
					mingap = INFINITY;

		/* every mantissa of the binades with exponents -1 and -126 */
		for (int e = -1; e >= -126; e -= 125)
		{
			for (int64_t k = 0; k < nm; k++)
				x[k] = ldexpf(1.0f + (float) k / (float) nm, e);
			if (select_entropy_log2_lower_at(w, x, nm, out) != 0)
				break;
			for (int64_t k = 0; k < nm; k++)
			{
				double		d = (e + lm[k]) - out[k];

				above += d < -ldexp(fabs(out[k]), -24);	/* e + q's rounding, which the row's bound covers */
				gap = fmax(gap, d);
				mingap = fmin(mingap, d);
			}
		}
		if (select_entropy_log2_lower_at(w, x, 16, out) != 0)
		{
			printf("# width %d: not on this processor\n", w);
			continue;
		}
		tried |= w;
		/* 64 mantissas of every binade from 2^-126 to 1/2, and 1 */
		{
			int64_t		n = 0;

			for (int e = -126; e <= -1; e++)
				for (int k = 0; k < 64; k++)
					x[n++] = ldexpf(1.0f + (float) (k * 131071 % nm) / (float) nm, e);
			x[n++] = 1.0f;
			while (n % 16)
				x[n++] = 1.0f;
			select_entropy_log2_lower_at(w, x, n, out);
			for (int64_t i = 0; i < n; i++)
			{
				double		d = log2((double) x[i]) - out[i];

				above += d < -ldexp(fabs(out[i]), -24);
				gap = fmax(gap, d);
			}
		}
		/* subnormals: the bits read as exponent -127, at most 23 too high */
		{
			int64_t		n = 0,
						sub_above = 0;

			for (int k = 0; k < 4096; k++)
				x[n++] = ldexpf((float) (k * 2047 % nm + 1), -149);
			select_entropy_log2_lower_at(w, x, n, out);
			for (int64_t i = 0; i < n; i++)
				sub_above += out[i] > log2((double) x[i]) + 23.0;
			above += sub_above;
		}
		printf("# width %d: log2 x - bound in [%.3g, %.3g] over the normals tried\n", w, mingap, gap);
		{
			char		what[128];

			snprintf(what, sizeof(what), "width %d: the bound is never above log2 x but for e + q's rounding (16.8 million floats and more)", w);
			CHECK_INT(above, 0, what);
			snprintf(what, sizeof(what), "width %d: and within 1.3e-3 of it", w);
			CHECK(gap <= 1.3e-3, what);
		}
	}
	CHECK((tried & 5) == 5, "the bound ran without vectors and at width 4 at least");
	free(x);
	free(out);
	free(lm);
}

/*
 * make_row fills p[0..c) with a row of one of the adversarial kinds,
 * summing to 1 in double (before rounding to float) unless kind says
 * otherwise.
 */
static void
make_row(float *p, int c, int kind, uint32_t *s)
{
	double		d[400],
				sum = 0;

	for (int i = 0; i < c; i++)
	{
		switch (kind)
		{
			case 0:				/* one-hot */
				d[i] = (i == (int) (next(s) % c)) ? 1.0 : 0.0;
				break;
			case 1:				/* uniform */
				d[i] = 1.0;
				break;
			case 2:				/* zeros, tiny and subnormal values among ordinary ones */
				switch (next(s) % 6)
				{
					case 0:
						d[i] = 0;
						break;
					case 1:
						d[i] = 1e-30 * (next(s) % 1000 + 1);
						break;
					case 2:
						d[i] = 1e-45 * (next(s) % 100 + 1) * 1e6;	/* subnormal once normalised */
						break;
					default:
						d[i] = (double) (next(s) % 100000 + 1);
				}
				break;
			case 3:				/* one value near 1, the rest tiny */
				d[i] = i == 0 ? 1e6 : (next(s) % 3 == 0 ? 0.0 : 1e-3 * (next(s) % 100 + 1));
				break;
			default:			/* softmax of wide logits */
				d[i] = exp(((double) (next(s) % 20001) - 10000.0) / 1000.0);
		}
		sum += d[i];
	}
	if (sum == 0)
	{
		d[0] = 1;
		sum = 1;
	}
	for (int i = 0; i < c; i++)
		p[i] = (float) (d[i] / sum);
	if (kind == 2)
		for (int i = 0; i < c; i++)
			if (next(s) % 7 == 0)
				p[i] = ldexpf((float) (next(s) % 1000 + 1), -149);	/* subnormal floats */
}

/*
 * test_rows: the bound against libm's score, and refusals, at every width.
 */
static void
test_rows(void)
{
	uint32_t	s = 777;
	int64_t		below = 0,
				loose = 0,
				vouched = 0,
				unvouched_inside = 0,
				vouched_refused = 0,
				disagree = 0,
				rows = 0;
	double		worst = 0;
	static float p[400];
	static double d[400];
	char		e1[160],
				e2[160];

	for (int t = 0; t < 30000; t++)
	{
		int			c = 1 + (int) (next(&s) % (t % 5 == 0 ? 300 : 70));
		int			kind = t % 5;
		double		tol = (t % 3 == 0) ? 1e-3 : SELECT_PROBS_TOLERANCE,
					score = 0,
					sum = 0,
					u;
		int			ok,
					r;

		make_row(p, c, kind, &s);
		if (t % 4 == 1)
		{
			/* move the sum off 1 by a random fraction of 0 to 2 tolerances */
			double		off = tol * c * ((double) (next(&s) % 2001) / 1000.0) * ((t & 8) ? 1 : -1);
			int			j = (int) (next(&s) % c);

			p[j] = (float) fmin(1.0, fmax(0.0, (double) p[j] + off));
		}
		for (int i = 0; i < c; i++)
			sum += (d[i] = p[i]);
		ok = select_row_score(SELECT_ENTROPY, d, c, t, 0, tol, &score, e2, sizeof(e2)) == 0;
		rows++;
		/* the public screen: refuses exactly what check_probs refuses, with its reason */
		r = select_entropy_upper_f32(p, c, tol, &u, e1, sizeof(e1));
		if ((r == 0) != ok || (!ok && strcmp(e1, e2) != 0) ||
			(r == 0 && u < score))
			disagree++;
		for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		{
			r = select_entropy_upper_f32_at(widths[wi], p, c, tol, &u);
			if (r == -2)
				continue;
			if (r == 0)
			{
				vouched++;
				if (!ok)
					vouched_refused++;
				else
				{
					below += u < score;
					loose += u - score > 1e-3;
					worst = fmax(worst, u - score);
				}
			}
			else if (ok && fabs(sum - 1.0) + 3.0 * (c + 4) * 0x1p-24 <= tol * c)
				unvouched_inside++;	/* the float sum cannot be off by that much */
		}
	}
	printf("# %lld rows, %lld bounds; the bound at most %.3g above libm's score\n",
		   (long long) rows, (long long) vouched, worst);
	CHECK_INT(below, 0, "the bound is never below libm's score (30,000 adversarial rows, every width)");
	CHECK_INT(loose, 0, "and never more than 1e-3 above it");
	CHECK_INT(vouched_refused, 0, "no width bounds a row that select_check_probs refuses");
	CHECK_INT(unvouched_inside, 0, "every width bounds a valid row whose sum is within the tolerance by 3 (c + 4) 2^-24");
	CHECK_INT(disagree, 0, "select_entropy_upper_f32 refuses exactly what select_check_probs refuses, with its reason");
	CHECK(vouched > 30000, "the widths bounded most rows");

	/* named bad rows, at the edges of vectors: NaN, infinity, negative, above 1, a sum of 1.1 */
	{
		int			same = 0,
					flagged = 0,
					cases = 0;

		for (int c = 1; c <= 40; c++)
			for (int bad = 0; bad < 5; bad++)
			{
				int			j = (c * 7 + bad) % c;
				double		u;

				for (int i = 0; i < c; i++)
					p[i] = 1.0f / c;
				p[j] = bad == 0 ? NAN : bad == 1 ? INFINITY : bad == 2 ? -0.01f : bad == 3 ? 1.5f : p[j] + 0.1f;
				for (int i = 0; i < c; i++)
					d[i] = p[i];
				cases++;
				if (select_entropy_upper_f32(p, c, SELECT_PROBS_TOLERANCE, &u, e1, sizeof(e1)) == -1 &&
					select_check_probs(d, c, SELECT_PROBS_TOLERANCE, e2, sizeof(e2)) == -1 &&
					strcmp(e1, e2) == 0)
					same++;
				for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
					if (select_entropy_upper_f32_at(widths[wi], p, c, SELECT_PROBS_TOLERANCE, &u) == 0)
						flagged++;
			}
		CHECK_INT(same, cases, "NaN, infinity, negative, above 1 and a sum of 1.1 at every position of rows of 1 to 40: check_probs' reasons");
		CHECK_INT(flagged, 0, "and no width bounds such a row");
	}
	/* one-hot and uniform rows: the bound is near 0 and near ln c */
	{
		double		u;
		int			good = 0;

		for (int c = 1; c <= 64; c++)
		{
			for (int i = 0; i < c; i++)
				p[i] = i == c / 2 ? 1.0f : 0.0f;
			if (select_entropy_upper_f32(p, c, SELECT_PROBS_TOLERANCE, &u, e1, sizeof(e1)) == 0 && u >= 0 && u < 1e-5)
				good++;
			if (c == 50 || c == 16 || c == 17)
			{
				for (int i = 0; i < c; i++)
					p[i] = 1.0f / c;
				if (select_entropy_upper_f32(p, c, 1e-5, &u, e1, sizeof(e1)) == 0 && u >= log(c) && u < log(c) + 1e-3)
					good++;
			}
		}
		CHECK_INT(good, 67, "one-hot rows are bounded by [0, 1e-5), uniform rows of 16, 17 and 50 by [ln c, ln c + 1e-3)");
	}
	CHECK(select_entropy_f32_width() >= 4, "the screen uses vectors here");
	printf("# float4 screen width here: %d floats\n", select_entropy_f32_width());
}

int
main(void)
{
	test_log2_lower();
	test_rows();
	return unit_done();
}
