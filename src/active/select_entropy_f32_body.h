/*-------------------------------------------------------------------------
 *
 * select_entropy_f32_body.h
 *	  One width of the float4 entropy screen (see select_entropy.c), included
 *	  once per width with:
 *	    SEF_SFX		suffix of the functions' names
 *	    SEF_ATTR	function attributes (a target, or empty)
 *	    SEF_W		floats per vector
 *
 *	  GCC/clang vector extensions; no intrinsics, so one body serves SSE2,
 *	  AVX2 + FMA and AVX-512 (16 floats a vector).
 *
 *-------------------------------------------------------------------------
 */
#define SEF_CAT2(a, b) a##b
#define SEF_CAT(a, b) SEF_CAT2(a, b)

typedef float SEF_CAT(sef_vf_, SEF_SFX) __attribute__((vector_size(4 * SEF_W)));
typedef int32_t SEF_CAT(sef_vi_, SEF_SFX) __attribute__((vector_size(4 * SEF_W)));

/*
 * sef_log2lo_<w>: a lower bound of log2 x for each lane of x in (0, 1] (a
 * subnormal's by at most 23 too high; other lanes give garbage the caller
 * masks): x = (1 + f) 2^e read off the bits, then e + q(f), q the cubic of
 * select_entropy.c, below log2(1 + f) by 3e-6 to 1.28e-3.
 */
static inline __attribute__((always_inline)) SEF_ATTR SEF_CAT(sef_vf_, SEF_SFX)
SEF_CAT(sef_log2lo_, SEF_SFX) (SEF_CAT(sef_vf_, SEF_SFX) x)
{
	typedef SEF_CAT(sef_vf_, SEF_SFX) vf;
	typedef SEF_CAT(sef_vi_, SEF_SFX) vi;
	vi			bits = (vi) x;
	vf			f = (vf) ((bits & 0x007FFFFF) | 0x3F800000) - 1.0f;	/* exact */
	vf			e = __builtin_convertvector(((bits >> 23) & 0xFF) - 127, vf);

	return e + (((SEF_C3 * f + SEF_C2) * f + SEF_C1) * f + SEF_C0);
}

/*
 * sef_hsum_<w>: the lanes' sum, halving the vector (lane l + lane l + w/2)
 * down to one lane, in float.
 */
static inline __attribute__((always_inline)) SEF_ATTR float
SEF_CAT(sef_hsum_, SEF_SFX) (SEF_CAT(sef_vf_, SEF_SFX) v)
{
#if defined(__clang__) || __GNUC__ >= 12
#if SEF_W == 16
	sef_vf8		v8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
		__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif SEF_W == 8
	sef_vf8		v8 = v;
#endif
#if SEF_W >= 8
	sef_vf4		v4 = __builtin_shufflevector(v8, v8, 0, 1, 2, 3) + __builtin_shufflevector(v8, v8, 4, 5, 6, 7);
#else
	sef_vf4		v4 = v;
#endif
	sef_vf4		v2 = v4 + __builtin_shufflevector(v4, v4, 2, 3, 0, 1);

	return v2[0] + v2[1];
#else
	/* GCC before 12 has no __builtin_shufflevector: the same halving through memory */
	float		l[SEF_W];

	memcpy(l, &v, sizeof(l));
	for (int w = SEF_W / 2; w >= 1; w /= 2)
		for (int i = 0; i < w; i++)
			l[i] += l[i + w];
	return l[0];
#endif
}

/*
 * sef_row_<w>: *s_out = sum of x log2lo(x) over the row's positive values
 * (each term at most x log2 x), *sum_out its sum, or NaN when a value is
 * outside [0, 1] or NaN (a NaN is added in that value's lane).  The last,
 * partial vector is read as the row's last SEF_W values with the lanes
 * already seen set to 0, so nothing past the row is read and nothing is
 * copied (rows shorter than a vector go through a zeroed buffer).
 */
static SEF_ATTR void
SEF_CAT(sef_row_, SEF_SFX) (const float *p, int c, double *s_out, double *sum_out)
{
	typedef SEF_CAT(sef_vf_, SEF_SFX) vf;
	typedef SEF_CAT(sef_vi_, SEF_SFX) vi;
	vf			tacc = {0},
				sacc = {0},
				x;
	int			i;

#define SEF_STEP(x) \
	do { \
		vi			bad_ = ~(vi) (((x) >= 0.0f) & ((x) <= 1.0f));	/* NaN fails both */ \
		sacc += (x) + (vf) (bad_ & 0x7FC00000); \
		tacc += (vf) ((vi) ((x) * SEF_CAT(sef_log2lo_, SEF_SFX) (x)) & ((x) > 0.0f));	/* 0 log 0 = 0 */ \
	} while (0)

	for (i = 0; i + SEF_W <= c; i += SEF_W)
	{
		memcpy(&x, p + i, sizeof(x));
		SEF_STEP(x);
	}
	if (i < c && c >= SEF_W)
	{
		vi			lane;
		int			seen = i - (c - SEF_W);	/* lanes of the last vector already done */

		for (int l = 0; l < SEF_W; l++)
			lane[l] = l;
		memcpy(&x, p + c - SEF_W, sizeof(x));
		x = (vf) ((vi) x & (lane >= seen));
		SEF_STEP(x);
	}
	else if (i < c)
	{
		float		tail[SEF_W] = {0};	/* zeros add nothing and are valid */

		memcpy(tail, p + i, (size_t) (c - i) * sizeof(float));
		memcpy(&x, tail, sizeof(x));
		SEF_STEP(x);
	}
#undef SEF_STEP
	*s_out = SEF_CAT(sef_hsum_, SEF_SFX) (tacc);
	*sum_out = SEF_CAT(sef_hsum_, SEF_SFX) (sacc);
}

/* sef_log2_<w>: sef_log2lo over n values (n a multiple of SEF_W), for the tests. */
static SEF_ATTR void
SEF_CAT(sef_log2_, SEF_SFX) (const float *x, int64_t n, float *out)
{
	typedef SEF_CAT(sef_vf_, SEF_SFX) vf;

	for (int64_t i = 0; i + SEF_W <= n; i += SEF_W)
	{
		vf			v;

		memcpy(&v, x + i, sizeof(v));
		v = SEF_CAT(sef_log2lo_, SEF_SFX) (v);
		memcpy(out + i, &v, sizeof(v));
	}
}

#undef SEF_CAT
#undef SEF_CAT2
