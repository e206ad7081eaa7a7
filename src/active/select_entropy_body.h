/*-------------------------------------------------------------------------
 *
 * select_entropy_body.h
 *	  One width of the entropy screen (see select_entropy.c), included once
 *	  per width with:
 *	    SE_SFX	suffix of the function's name
 *	    SE_ATTR	function attributes (a target, or empty)
 *	    SE_W	doubles per vector
 *
 *	  GCC/clang vector extensions; no intrinsics, so one body serves SSE2,
 *	  AVX2 and AVX-512.
 *
 *-------------------------------------------------------------------------
 */
#define SE_CAT2(a, b) a##b
#define SE_CAT(a, b) SE_CAT2(a, b)

static SE_ATTR void
SE_CAT(se_row_, SE_SFX) (const double *p, int c, double *h_out, double *sum_out, int *bad_out)
{
	typedef double vd __attribute__((vector_size(8 * SE_W)));
	typedef int64_t vi __attribute__((vector_size(8 * SE_W)));
	vd			hacc = {0},
				sacc = {0};
	vi			badacc = {0};
	double		h = 0,
				s = 0;
	int64_t		bad = 0;

	for (int i = 0; i < c; i += SE_W)
	{
		vd			x,
					m,
					half,
					ed,
					t,
					t2,
					lnm,
					contrib;
		vi			bits,
					e,
					big,
					ok;

		if (i + SE_W <= c)
			memcpy(&x, p + i, sizeof(x));
		else
		{
			double		tail[SE_W] = {0};	/* zeros add nothing and are valid */

			memcpy(tail, p + i, (size_t) (c - i) * sizeof(double));
			memcpy(&x, tail, sizeof(x));
		}
		ok = (vi) ((x >= 0.0) & (x <= 1.0));	/* NaN fails both */
		badacc |= ~ok;
		sacc += x;
		/* x = m 2^e, m in [sqrt(1/2), sqrt(2)) */
		bits = (vi) x;
		e = (bits >> 52) - 1023;
		m = (vd) ((bits & INT64_C(0x000FFFFFFFFFFFFF)) | INT64_C(0x3FF0000000000000));
		big = (vi) (m > 1.4142135623730951);
		half = m * 0.5;
		m = (vd) (((vi) m & ~big) | ((vi) half & big));
		e = e - big;
		/* e as a double, exactly: 2^52 + (e + 1024) read back, minus 2^52 + 1024 */
		ed = (vd) ((e + 1024) | INT64_C(0x4330000000000000)) - (4503599627370496.0 + 1024.0);
		/* ln m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.1716: six terms */
		t = (m - 1.0) / (m + 1.0);
		t2 = t * t;
		lnm = 2.0 * t * (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (1.0 / 11))))));
		contrib = -x * (ed * 0.6931471805599453 + lnm);
		contrib = (vd) ((vi) contrib & (vi) (x > 0.0));	/* 0 ln 0 = 0 */
		hacc += contrib;
	}
	for (int l = 0; l < SE_W; l++)
	{
		h += hacc[l];
		s += sacc[l];
		bad |= badacc[l];
	}
	*h_out = h;
	*sum_out = s;
	*bad_out = bad != 0;
}

#undef SE_CAT
#undef SE_CAT2
