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
 *	    mt_shuffle_tail64 the same draws as mt_shuffle64, swapping only while
 *	                      i >= keep: x[keep..n) ends as mt_shuffle64 leaves it
 *	                      and x[0..keep) holds the other items in some order
 *	                      (a split that gives every position below keep the
 *	                      same side needs no more); the state after it is the
 *	                      state after mt_shuffle64
 *
 *	  Speed.  The 624 words are regenerated a block at a time and the block
 *	  tempered at once into out[] (mt_refill); mt_next32 reads out[].  On
 *	  x86-64 CPUs with AVX2 (checked at run time; the build needs no -m
 *	  flag) the twist and the tempering run 8 words a step: the recurrence
 *	  k[i] = k[i+397] ^ twist(k[i], k[i+1]) reads, for i < 227, words not yet
 *	  rewritten, and for i >= 227 words k[i-227] already rewritten, so eight
 *	  consecutive i never depend on each other.  Elsewhere the same loops run
 *	  in plain C.  Both give the same words (test/unit/test_split.c).
 *	  Pure C: no PostgreSQL headers, no allocation.
 */
#ifndef MLOPS_DATASETS_RNG_H
#define MLOPS_DATASETS_RNG_H

#include <stdint.h>

#define MT_STATE_LEN 624

typedef struct mt_state
{
	uint32_t	key[MT_STATE_LEN];	/* the generator's state */
	uint32_t	out[MT_STATE_LEN];	/* the current block, tempered */
	int			pos;			/* next output in out[]; MT_STATE_LEN: refill */
} mt_state;

/* mt_refill: regenerate the state and temper it into out[]; pos = 0. */
extern void mt_refill(mt_state *st);

/*
 * mt_refill_with: mt_refill by one implementation (0: plain C, 1: AVX2),
 * for the tests; -1 when this CPU or build has no such implementation.
 */
extern int	mt_refill_with(mt_state *st, int impl);

/* mt_seed: the state of np.random.RandomState(seed). */
extern void mt_seed(mt_state *st, uint32_t seed);

/* mt_next32: the next tempered 32-bit output. */
static inline uint32_t
mt_next32(mt_state *st)
{
	if (st->pos >= MT_STATE_LEN)
		mt_refill(st);
	return st->out[st->pos++];
}

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

/*
 * mt_shuffle_tail64: mt_shuffle64's draws, swaps only for i >= keep (see
 * above).
 */
extern void mt_shuffle_tail64(mt_state *st, int64_t *x, int64_t n, int64_t keep);

/* mt_permutation: out[0..n) = RandomState.permutation(n). */
extern void mt_permutation(mt_state *st, int64_t *out, int64_t n);

/*
 * mt_choice_noreplace: out[0..size) = RandomState.choice(pop, size,
 * replace=False) as indices into 0..pop-1; scratch holds pop int64s.
 */
extern void mt_choice_noreplace(mt_state *st, int64_t pop, int64_t size,
								int64_t *out, int64_t *scratch);

#endif							/* MLOPS_DATASETS_RNG_H */
