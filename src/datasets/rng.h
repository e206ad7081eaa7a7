/*
 * rng.h
 *	  Kernel: the Mersenne Twister MT19937 exactly as numpy's legacy
 *	  np.random.RandomState draws from it, so that a seeded split is the
 *	  same bytes on every platform and the same as numpy's (and hence
 *	  scikit-learn's, which seeds RandomState(random_state)).
 *
 *	  The generator.  MT19937 (Matsumoto and Nishimura 1998): 624 words of
 *	  32-bit state, the reference tempering.  RandomState(seed) for an
 *	  integer seed 0 .. 2^32-1 fills the state with Knuth's recurrence
 *	  mt[0] = seed, mt[i] = 1812433253 * (mt[i-1] ^ (mt[i-1] >> 30)) + i
 *	  (mod 2^32), the reference init_genrand (not init_by_array), and starts
 *	  with the position at 624 so that the first draw regenerates the block.
 *	  Seed 5489 yields 3499211612 first, the reference's published value.
 *
 *	  Derived draws, each following numpy 1.24's legacy code path:
 *	    mt_random_sample  53-bit double in [0, 1): (a * 2^26 + b) / 2^53 with
 *	                      a = next32 >> 5, b = next32 >> 6 (random_sample)
 *	    mt_interval(max)  uniform integer in [0, max] by masked rejection:
 *	                      mask = smallest 2^k-1 >= max, draw next32 & mask
 *	                      (next64 when max > 2^32-1) until <= max; max == 0
 *	                      draws nothing (random_interval, and legacy randint
 *	                      for the default int64 dtype, which uses the same
 *	                      masked rule)
 *	    mt_randint(lo, hi)  lo + mt_interval(hi - lo - 1), as RandomState.randint
 *	    mt_shuffle        Fisher-Yates from the back: for i = n-1 .. 1,
 *	                      j = mt_interval(i), swap x[i], x[j] (RandomState.shuffle)
 *	    mt_permutation(n) arange(n) then mt_shuffle (RandomState.permutation)
 *	    mt_choice_noreplace  permutation(pop)[:size] (RandomState.choice with
 *	                      replace=False, p=None)
 *	  Pure C: no PostgreSQL headers, no allocation.
 */
#ifndef MLOPS_DATASETS_RNG_H
#define MLOPS_DATASETS_RNG_H

#include <stdint.h>

#define MT_STATE_LEN 624

typedef struct mt_state
{
	uint32_t	key[MT_STATE_LEN];
	int			pos;
} mt_state;

/* mt_seed: the state of np.random.RandomState(seed). */
extern void mt_seed(mt_state *st, uint32_t seed);

/* mt_next32: the next tempered 32-bit output. */
extern uint32_t mt_next32(mt_state *st);

/* mt_next64: two outputs, the first in the high word (numpy's next_uint64). */
extern uint64_t mt_next64(mt_state *st);

/* mt_random_sample: RandomState.random_sample(), a double in [0, 1). */
extern double mt_random_sample(mt_state *st);

/* mt_interval: uniform in [0, max] (numpy's random_interval). */
extern uint64_t mt_interval(mt_state *st, uint64_t max);

/* mt_randint: RandomState.randint(lo, hi) for lo < hi (int64 dtype). */
extern int64_t mt_randint(mt_state *st, int64_t lo, int64_t hi);

/* mt_shuffle64 / mt_shuffle32: RandomState.shuffle of a 1-d array. */
extern void mt_shuffle64(mt_state *st, int64_t *x, int64_t n);
extern void mt_shuffle32(mt_state *st, int32_t *x, int64_t n);

/* mt_permutation: out[0..n) = RandomState.permutation(n). */
extern void mt_permutation(mt_state *st, int64_t *out, int64_t n);

/*
 * mt_choice_noreplace: out[0..size) = RandomState.choice(pop, size,
 * replace=False) as indices into 0..pop-1; scratch holds pop int64s.
 */
extern void mt_choice_noreplace(mt_state *st, int64_t pop, int64_t size,
								int64_t *out, int64_t *scratch);

#endif							/* MLOPS_DATASETS_RNG_H */
