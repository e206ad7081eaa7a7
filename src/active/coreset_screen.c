/*
 * coreset_screen.c
 *	  Kernel: the core-set's screen — a lower bound on each distance from
 *	  8-bit copies of the rows, so that the exact float distance is computed
 *	  only for the pairs that could lower an item's nearest-centre distance.
 *
 *	  All rows (pool, labelled set, pool mean) are rounded with one scale s
 *	  to integers q in [-127, 127]: x = s q + r.  Each row keeps the exact
 *	  norm of its rounding error, e = |r| (computed in double and rounded up).
 *	  For two rows, D = |q_x - q_y|^2 is an integer, computed exactly (so
 *	  the order of the sums does not matter, and every path gives the same
 *	  D), and by the triangle inequality
 *
 *	      |x - y| >= s sqrt(D) - e_x - e_y.
 *
 *	  coreset.c skips a pair when this bound (shrunk for the rounding of the
 *	  bound itself and of the float distance) shows that the float distance
 *	  cannot be below the item's current nearest-centre distance; skipping
 *	  such a pair changes no result (see coreset.c).
 *
 *	  Layout: the pool's codes are kept in groups of 16 items, interleaved
 *	  by 4 dimensions (group g, dimensions 4k..4k+3 of its 16 items in 64
 *	  consecutive bytes, each code + 128 as an unsigned byte), so that one
 *	  instruction (AVX-512 VNNI's vpdpbusd) adds 4 products for each of 16
 *	  items at once against one centre's 4 codes, with no horizontal sums:
 *
 *	      D = |q_x|^2 + (|q_y|^2 + 256 sum(q_y)) - 2 sum((q_x + 128) q_y).
 *
 *	  Every term fits in 32 bits for d <= CS_SCREEN_MAX_D.  Without VNNI
 *	  there is no screen (a plain loop of the same sums is slower than the
 *	  float distances it would spare; it is kept to check the VNNI one).
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "active/coreset_private.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CS_SCREEN_X86 1
#endif

/* cs_screen_scale: the one scale for rows of largest magnitude maxabs. */
double
cs_screen_scale(double maxabs)
{
	return maxabs > 0.0 ? maxabs / 127.0 : 1.0;
}

/* cs_code rounds v / scale to [-127, 127]; *r2 gets the squared error. */
static inline int
cs_code(float v, double scale, double *r2)
{
	long		c = lrint((double) v / scale);
	double		r;

	if (c > 127)
		c = 127;
	if (c < -127)
		c = -127;
	r = (double) v - scale * (double) c;
	*r2 += r * r;
	return (int) c;
}

/* cs_round_up: a norm rounded up past the errors of its products and sums */
static inline double
cs_round_up(double s2)
{
	return sqrt(s2) * (1.0 + 1e-9) + 1e-300;
}

/*
 * cs_screen_rows codes rows rows of d floats (stride d) as centres: codes
 * (stride dq, zero-padded), their error norms E and K = |q|^2 + 256 sum(q).
 */
void
cs_screen_rows(const float *X, int64_t rows, int d, double scale, int dq,
			   int8_t *Q, double *E, int32_t *K)
{
	for (int64_t i = 0; i < rows; i++)
	{
		const float *x = X + (size_t) i * (size_t) d;
		int8_t	   *q = Q + (size_t) i * (size_t) dq;
		double		r2 = 0.0;
		int32_t		n2 = 0,
					sum = 0;

		for (int k = 0; k < d; k++)
		{
			int			c = cs_code(x[k], scale, &r2);

			q[k] = (int8_t) c;
			n2 += c * c;
			sum += c;
		}
		memset(q + d, 0, (size_t) (dq - d));
		E[i] = cs_round_up(r2);
		K[i] = n2 + 256 * sum;
	}
}

/*
 * cs_screen_pool codes the n pool rows (stride d) into the interleaved
 * layout T (cs_screen_pool_bytes bytes), their error norms E and
 * N = |q|^2 (n rounded up to 16; the padding items have code 0).
 */
size_t
cs_screen_pool_bytes(int64_t n, int dq)
{
	return (size_t) ((n + 15) / 16) * 16 * (size_t) dq;
}

void
cs_screen_pool(const float *X, int64_t n, int d, double scale, int dq,
			   uint8_t *T, double *E, int32_t *N)
{
	int64_t		groups = (n + 15) / 16;
	size_t		gbytes = (size_t) 16 * (size_t) dq;

	memset(T, 128, cs_screen_pool_bytes(n, dq));
	for (int64_t i = 0; i < groups * 16; i++)
	{
		uint8_t    *tg = T + (size_t) (i / 16) * gbytes + (size_t) (i % 16) * 4;
		double		r2 = 0.0;
		int32_t		n2 = 0;

		if (i < n)
		{
			const float *x = X + (size_t) i * (size_t) d;

			for (int k = 0; k < d; k++)
			{
				int			c = cs_code(x[k], scale, &r2);

				tg[(size_t) (k / 4) * 64 + (size_t) (k % 4)] = (uint8_t) (c + 128);
				n2 += c * c;
			}
		}
		E[i] = cs_round_up(r2);
		N[i] = n2;
	}
}

/* cs_screen_row copies pool item i's codes out of T into q (dq codes). */
void
cs_screen_row(const uint8_t *T, int dq, int64_t i, int8_t *q)
{
	const uint8_t *tg = T + (size_t) (i / 16) * (size_t) 16 * (size_t) dq + (size_t) (i % 16) * 4;

	for (int k = 0; k < dq; k++)
		q[k] = (int8_t) ((int) tg[(size_t) (k / 4) * 64 + (size_t) (k % 4)] - 128);
}

/* ---- the screen of 16 items against up to 8 centres ---- */

static void
cs_screen_plain(const uint8_t *T, int dq, const int8_t *const *qc, const int32_t *kc, int nq,
				const int32_t *nx, const int32_t *thr, uint16_t *mask)
{
	for (int c = 0; c < nq; c++)
	{
		int32_t		acc[16] = {0};

		for (int g = 0; g < dq / 4; g++)
		{
			const uint8_t *t = T + (size_t) g * 64;
			const int8_t *y = qc[c] + (size_t) g * 4;

			for (int l = 0; l < 16; l++)
				acc[l] += (int32_t) t[4 * l] * y[0] + (int32_t) t[4 * l + 1] * y[1] +
					(int32_t) t[4 * l + 2] * y[2] + (int32_t) t[4 * l + 3] * y[3];
		}
		mask[c] = 0;
		for (int l = 0; l < 16; l++)
			if (nx[l] + kc[c] - 2 * acc[l] < thr[l])
				mask[c] |= (uint16_t) (1u << l);
	}
}

#ifdef CS_SCREEN_X86
#define CS_TV __attribute__((target("avx512f,avx512bw,avx512vnni")))

static inline CS_TV __m512i
cs_bcast4(const int8_t *p)
{
	int32_t		w;

	memcpy(&w, p, sizeof(w));
	return _mm512_set1_epi32(w);
}

static CS_TV void
cs_screen_vnni(const uint8_t *T, int dq, const int8_t *const *qc, const int32_t *kc, int nq,
			   const int32_t *nx, const int32_t *thr, uint16_t *mask)
{
	__m512i		vnx = _mm512_loadu_si512(nx);
	__m512i		vthr = _mm512_loadu_si512(thr);
	int			G = dq / 4;

	if (nq == 8)
	{
		__m512i		a0 = _mm512_setzero_si512(),
					a1 = a0,
					a2 = a0,
					a3 = a0,
					a4 = a0,
					a5 = a0,
					a6 = a0,
					a7 = a0;

		for (int g = 0; g < G; g++)
		{
			__m512i		t = _mm512_loadu_si512(T + (size_t) g * 64);
			size_t		o = (size_t) g * 4;

			a0 = _mm512_dpbusd_epi32(a0, t, cs_bcast4(qc[0] + o));
			a1 = _mm512_dpbusd_epi32(a1, t, cs_bcast4(qc[1] + o));
			a2 = _mm512_dpbusd_epi32(a2, t, cs_bcast4(qc[2] + o));
			a3 = _mm512_dpbusd_epi32(a3, t, cs_bcast4(qc[3] + o));
			a4 = _mm512_dpbusd_epi32(a4, t, cs_bcast4(qc[4] + o));
			a5 = _mm512_dpbusd_epi32(a5, t, cs_bcast4(qc[5] + o));
			a6 = _mm512_dpbusd_epi32(a6, t, cs_bcast4(qc[6] + o));
			a7 = _mm512_dpbusd_epi32(a7, t, cs_bcast4(qc[7] + o));
		}
#define CS_MASK(c, a) \
		mask[c] = (uint16_t) _mm512_cmplt_epi32_mask(_mm512_sub_epi32(_mm512_add_epi32(vnx, _mm512_set1_epi32(kc[c])), \
																		_mm512_slli_epi32((a), 1)), vthr)
		CS_MASK(0, a0);
		CS_MASK(1, a1);
		CS_MASK(2, a2);
		CS_MASK(3, a3);
		CS_MASK(4, a4);
		CS_MASK(5, a5);
		CS_MASK(6, a6);
		CS_MASK(7, a7);
		return;
	}
	for (int c = 0; c < nq; c++)
	{
		__m512i		a = _mm512_setzero_si512();

		for (int g = 0; g < G; g++)
			a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(T + (size_t) g * 64),
									cs_bcast4(qc[c] + (size_t) g * 4));
		CS_MASK(c, a);
	}
#undef CS_MASK
}
#endif

cs_screen_fn
cs_screen_pick(void)
{
#ifdef CS_SCREEN_X86
	if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
		return cs_screen_vnni;
#endif
	return NULL;
}

/*
 * cs_screen_check (unit tests): every screen this processor runs gives
 * the plain loop's masks for one group; returns the number that differ.
 */
int
cs_screen_check(const uint8_t *T, int dq, const int8_t *const *qc, const int32_t *kc, int nq,
				const int32_t *nx, const int32_t *thr)
{
	uint16_t	want[8],
				got[8];
	int			bad = 0;

	cs_screen_plain(T, dq, qc, kc, nq, nx, thr, want);
#ifdef CS_SCREEN_X86
	if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
	{
		cs_screen_vnni(T, dq, qc, kc, nq, nx, thr, got);
		for (int c = 0; c < nq; c++)
			bad += got[c] != want[c];
	}
#endif
	return bad;
}
