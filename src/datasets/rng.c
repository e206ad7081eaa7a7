/*
 * rng.c
 *	  Kernel: numpy-compatible legacy MT19937 (see rng.h for the contract
 *	  and the exact draw rules).  Written from the published algorithm and
 *	  numpy 1.24's documented behaviour; the results are checked against
 *	  numpy by test/unit/test_split.c and test/parity/split_parity.py.
 *
 *	  Pure C: no PostgreSQL headers, no allocation.
 */
#include "datasets/rng.h"


#define MT_M		397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER	0x80000000U
#define MT_LOWER	0x7fffffffU

/*
 * mt_seed
 *		Knuth's recurrence, as the reference init_genrand and numpy's
 *		mt19937_seed for an integer seed.
 */
void
mt_seed(mt_state *st, uint32_t seed)
{
	int			i;

	st->key[0] = seed;
	for (i = 1; i < MT_STATE_LEN; i++)
	{
		uint32_t	prev = st->key[i - 1];

		st->key[i] = (uint32_t) (1812433253U * (prev ^ (prev >> 30)) + (uint32_t) i);
	}
	st->pos = MT_STATE_LEN;
}

/* The twist of word i from k[i], k[i+1] (next) and k[i+397] (far). */
static inline uint32_t
TwistWord(uint32_t cur, uint32_t next, uint32_t far)
{
	uint32_t	y = (cur & MT_UPPER) | (next & MT_LOWER);

	return far ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
}

static inline uint32_t
TemperWord(uint32_t y)
{
	y ^= (y >> 11);
	y ^= (y << 7) & 0x9d2c5680U;
	y ^= (y << 15) & 0xefc60000U;
	y ^= (y >> 18);
	return y;
}

/*
 * RefillPlain
 *		The twist in three stretches without a modulo: i < 227 reads
 *		k[i+397] (not yet rewritten), 227 <= i < 623 reads k[i-227]
 *		(rewritten), i = 623 reads the new k[0]; then the tempering.
 */
static void
RefillPlain(mt_state *st)
{
	uint32_t   *k = st->key;
	int			i;

	for (i = 0; i < MT_STATE_LEN - MT_M; i++)
		k[i] = TwistWord(k[i], k[i + 1], k[i + MT_M]);
	for (; i < MT_STATE_LEN - 1; i++)
		k[i] = TwistWord(k[i], k[i + 1], k[i + MT_M - MT_STATE_LEN]);
	k[i] = TwistWord(k[i], k[0], k[MT_M - 1]);
	for (i = 0; i < MT_STATE_LEN; i++)
		st->out[i] = TemperWord(k[i]);
	st->pos = 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MT_HAVE_AVX2_CODE 1

/* Twist8: eight words at once; cur, next, far as in TwistWord. */
__attribute__((target("avx2")))
static inline __m256i
Twist8(__m256i cur, __m256i next, __m256i far)
{
	const __m256i upper = _mm256_set1_epi32((int) MT_UPPER);
	const __m256i lower = _mm256_set1_epi32((int) MT_LOWER);
	const __m256i one = _mm256_set1_epi32(1);
	const __m256i matrix = _mm256_set1_epi32((int) MT_MATRIX_A);
	__m256i		y = _mm256_or_si256(_mm256_and_si256(cur, upper), _mm256_and_si256(next, lower));
	__m256i		mag = _mm256_and_si256(_mm256_cmpeq_epi32(_mm256_and_si256(y, one), one), matrix);

	return _mm256_xor_si256(_mm256_xor_si256(far, _mm256_srli_epi32(y, 1)), mag);
}

#define LOAD8(p) _mm256_loadu_si256((const __m256i *) (p))

/*
 * RefillAvx2
 *		RefillPlain eight words a step: within a step no word reads another
 *		of the same step (see rng.h), so loading all three inputs before
 *		the store is the sequential order.
 */
__attribute__((target("avx2")))
static void
RefillAvx2(mt_state *st)
{
	uint32_t   *k = st->key;
	int			i = 0;

	for (; i + 8 <= MT_STATE_LEN - MT_M; i += 8)
		_mm256_storeu_si256((__m256i *) (k + i),
							Twist8(LOAD8(k + i), LOAD8(k + i + 1), LOAD8(k + i + MT_M)));
	for (; i < MT_STATE_LEN - MT_M; i++)
		k[i] = TwistWord(k[i], k[i + 1], k[i + MT_M]);
	for (; i + 8 <= MT_STATE_LEN - 1; i += 8)
		_mm256_storeu_si256((__m256i *) (k + i),
							Twist8(LOAD8(k + i), LOAD8(k + i + 1),
								   LOAD8(k + i + MT_M - MT_STATE_LEN)));
	for (; i < MT_STATE_LEN - 1; i++)
		k[i] = TwistWord(k[i], k[i + 1], k[i + MT_M - MT_STATE_LEN]);
	k[i] = TwistWord(k[i], k[0], k[MT_M - 1]);
	/* 624 = 78 * 8 */
	for (i = 0; i < MT_STATE_LEN; i += 8)
	{
		__m256i		y = LOAD8(k + i);

		y = _mm256_xor_si256(y, _mm256_srli_epi32(y, 11));
		y = _mm256_xor_si256(y, _mm256_and_si256(_mm256_slli_epi32(y, 7),
												 _mm256_set1_epi32((int) 0x9d2c5680U)));
		y = _mm256_xor_si256(y, _mm256_and_si256(_mm256_slli_epi32(y, 15),
												 _mm256_set1_epi32((int) 0xefc60000U)));
		y = _mm256_xor_si256(y, _mm256_srli_epi32(y, 18));
		_mm256_storeu_si256((__m256i *) (st->out + i), y);
	}
	st->pos = 0;
}

#undef LOAD8
#endif

/* -1: not looked at yet; 0: plain C; 1: AVX2 */
static int	mt_impl = -1;

void
mt_refill(mt_state *st)
{
	if (mt_impl < 0)
	{
#ifdef MT_HAVE_AVX2_CODE
		__builtin_cpu_init();
		mt_impl = __builtin_cpu_supports("avx2") ? 1 : 0;
#else
		mt_impl = 0;
#endif
	}
#ifdef MT_HAVE_AVX2_CODE
	if (mt_impl == 1)
	{
		RefillAvx2(st);
		return;
	}
#endif
	RefillPlain(st);
}

int
mt_refill_with(mt_state *st, int impl)
{
	if (impl == 0)
	{
		RefillPlain(st);
		return 0;
	}
#ifdef MT_HAVE_AVX2_CODE
	if (impl == 1)
	{
		__builtin_cpu_init();
		if (!__builtin_cpu_supports("avx2"))
			return -1;
		RefillAvx2(st);
		return 0;
	}
#endif
	return -1;
}

uint64_t
mt_next64(mt_state *st)
{
	uint64_t	hi = mt_next32(st);

	return (hi << 32) | mt_next32(st);
}

double
mt_random_sample(mt_state *st)
{
	int32_t		a = (int32_t) (mt_next32(st) >> 5);
	int32_t		b = (int32_t) (mt_next32(st) >> 6);

	return (a * 67108864.0 + b) / 9007199254740992.0;
}

uint64_t
mt_interval(mt_state *st, uint64_t max)
{
	uint64_t	mask = max;
	uint64_t	v;

	if (max == 0)
		return 0;
	mask |= mask >> 1;
	mask |= mask >> 2;
	mask |= mask >> 4;
	mask |= mask >> 8;
	mask |= mask >> 16;
	mask |= mask >> 32;
	if (max <= 0xffffffffU)
	{
		do
			v = mt_next32(st) & mask;
		while (v > max);
	}
	else
	{
		do
			v = mt_next64(st) & mask;
		while (v > max);
	}
	return v;
}

int64_t
mt_randint(mt_state *st, int64_t lo, int64_t hi)
{
	return lo + (int64_t) mt_interval(st, (uint64_t) (hi - lo - 1));
}

void
mt_shuffle64(mt_state *st, int64_t *x, int64_t n)
{
	int64_t		i;

	for (i = n - 1; i >= 1; i--)
	{
		int64_t		j = (int64_t) mt_interval(st, (uint64_t) i);
		int64_t		t = x[i];

		x[i] = x[j];
		x[j] = t;
	}
}

void
mt_shuffle32(mt_state *st, int32_t *x, int64_t n)
{
	int64_t		i;

	for (i = n - 1; i >= 1; i--)
	{
		int64_t		j = (int64_t) mt_interval(st, (uint64_t) i);
		int32_t		t = x[i];

		x[i] = x[j];
		x[j] = t;
	}
}

/*
 * SkipIntervals
 *		The draws of mt_interval(i) for i = hi down to lo (1 <= lo), none
 *		kept: a run of i under one mask reads out[] directly.
 */
static void
SkipIntervals(mt_state *st, int64_t hi, int64_t lo)
{
	int64_t		i = hi;

	while (i >= lo)
	{
		uint32_t	mask;
		int64_t		run_lo;
		int			pos = st->pos;

		if ((uint64_t) i > 0xffffffffU)
		{
			(void) mt_interval(st, (uint64_t) i);
			i--;
			continue;
		}
		mask = (uint32_t) i;
		mask |= mask >> 1;
		mask |= mask >> 2;
		mask |= mask >> 4;
		mask |= mask >> 8;
		mask |= mask >> 16;
		run_lo = (int64_t) (mask >> 1) + 1;
		if (run_lo < lo)
			run_lo = lo;
		for (; i >= run_lo; i--)
		{
			for (;;)
			{
				uint32_t	v;

				if (pos >= MT_STATE_LEN)
				{
					mt_refill(st);
					pos = 0;
				}
				v = st->out[pos++] & mask;
				if (v <= (uint32_t) i)
					break;
			}
		}
		st->pos = pos;
	}
}

void
mt_shuffle_tail64(mt_state *st, int64_t *x, int64_t n, int64_t keep)
{
	int64_t		i;

	if (keep < 1)
		keep = 1;
	for (i = n - 1; i >= keep; i--)
	{
		int64_t		j = (int64_t) mt_interval(st, (uint64_t) i);
		int64_t		t = x[i];

		x[i] = x[j];
		x[j] = t;
	}
	if (i >= 1)
		SkipIntervals(st, i, 1);
}

void
mt_permutation(mt_state *st, int64_t *out, int64_t n)
{
	int64_t		i;

	for (i = 0; i < n; i++)
		out[i] = i;
	mt_shuffle64(st, out, n);
}

void
mt_choice_noreplace(mt_state *st, int64_t pop, int64_t size, int64_t *out,
					int64_t *scratch)
{
	int64_t		i;

	mt_permutation(st, scratch, pop);
	for (i = 0; i < size && i < pop; i++)
		out[i] = scratch[i];
}
