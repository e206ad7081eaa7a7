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

/*
 * mt_regenerate
 *		The twist: computes the next 624 words in place.
 */
static void
mt_regenerate(mt_state *st)
{
	uint32_t   *k = st->key;
	int			i;

	for (i = 0; i < MT_STATE_LEN; i++)
	{
		uint32_t	y = (k[i] & MT_UPPER) | (k[(i + 1) % MT_STATE_LEN] & MT_LOWER);
		uint32_t	mag = (y & 1U) ? MT_MATRIX_A : 0U;

		k[i] = k[(i + MT_M) % MT_STATE_LEN] ^ (y >> 1) ^ mag;
	}
	st->pos = 0;
}

uint32_t
mt_next32(mt_state *st)
{
	uint32_t	y;

	if (st->pos >= MT_STATE_LEN)
		mt_regenerate(st);
	y = st->key[st->pos++];
	y ^= (y >> 11);
	y ^= (y << 7) & 0x9d2c5680U;
	y ^= (y << 15) & 0xefc60000U;
	y ^= (y >> 18);
	return y;
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
