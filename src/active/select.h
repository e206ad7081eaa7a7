/*
 * select.h
 *	  Kernel: active-learning batch selection over a pool of unlabelled
 *	  items (issue 16).  Pure C: no PostgreSQL headers; memory only through
 *	  the caller's mlops_allocator; reasons through errbuf_printf.
 *
 *	  Two families:
 *
 *	  - Per-row strategies (entropy, least confidence, margin, random): each
 *		row gets a score from its own probabilities (select_row_score) and a
 *		bounded heap keeps the best k while rows stream past
 *		(select_heap_*).  Memory O(k), time O(n log k); the pool is never
 *		sorted and never held.  Heaps built over parts of the pool merge
 *		(an aggregate's combine function), and the result does not depend
 *		on the order rows were offered in.
 *
 *	  - Batch strategies (core-set, BADGE, cluster-margin) see the whole
 *		pool at once: embeddings E (n x d float, row-major) and, for BADGE
 *		and cluster-margin, probabilities P (n x c double, row-major).
 *
 *	  Ordering rule everywhere: a higher score is picked first, and among
 *	  equal scores the lower id (index) wins.  Every result is deterministic
 *	  for given inputs (and seed).
 *
 *	  Errors: every function that can fail returns -1 and writes a reason
 *	  into err (errlen bytes; err may be NULL).  b < 1 and b > n are refused
 *	  (not clamped: the glue decides whether to clamp b to n, so a typo is
 *	  not silently a different batch size).
 */
#ifndef MLOPS_ACTIVE_SELECT_H
#define MLOPS_ACTIVE_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef enum SelectStrategy
{
	SELECT_ENTROPY,
	SELECT_LEAST_CONFIDENCE,
	SELECT_MARGIN,
	SELECT_RANDOM,
	SELECT_CORESET,
	SELECT_BADGE,
	SELECT_CLUSTER_MARGIN
} SelectStrategy;

/* ---------------------------------------------------------------------
 * 1. Streaming top-k for the per-row strategies
 * ---------------------------------------------------------------------
 */

/* An opaque bounded heap of at most k (score, id) entries. */
typedef struct SelectHeap SelectHeap;

/*
 * select_heap_create returns an empty heap keeping the best k entries, or
 * NULL when k < 1 or memory runs out.  Storage grows with the entries held
 * (up to k), so a large k costs nothing until rows arrive.
 */
extern SelectHeap *select_heap_create(int64_t k, const mlops_allocator *a);

/*
 * select_heap_offer offers one entry: it is kept when the heap holds fewer
 * than k entries or it beats the worst one held (higher score, or equal
 * score and lower id).  A NaN score is ignored (select_row_score never
 * makes one).  Offering the same id twice keeps it twice: ids are the
 * caller's and should be unique.  Returns 0, or -1 when the heap could not
 * grow (out of memory; the entry is dropped).
 */
extern int	select_heap_offer(SelectHeap *h, double score, int64_t id);

/*
 * select_heap_merge offers every entry of from to into (from is unchanged):
 * the result equals one heap offered both streams, whatever the split.
 * into's k applies; from must be another heap than into.  Returns 0, or -1 on out of memory.
 */
extern int	select_heap_merge(SelectHeap *into, const SelectHeap *from);

/*
 * select_heap_count returns how many entries the heap holds (<= k).
 */
extern int64_t select_heap_count(const SelectHeap *h);

/*
 * select_heap_result writes the entries held, best first (score
 * descending, then id ascending), to ids and scores (either may be NULL;
 * each has room for select_heap_count entries) and returns the count.
 * The heap stays usable (more offers and merges may follow).
 */
extern int64_t select_heap_result(SelectHeap *h, int64_t *ids, double *scores);

/*
 * select_entropy_upper checks a probability row as select_check_probs does
 * (the same refusals, with the same reasons) in one vectorised pass, and
 * writes an upper bound of its entropy (natural log, what select_row_score
 * gives) in *upper: a vectorised logarithm's entropy plus a margin that
 * covers its error (see select_entropy.c), valid whatever the row's sum
 * within the tolerance.  A row whose bound is below the full heap's floor
 * cannot enter it, so its libm logarithms need not be taken (the glue skips
 * it; the batch is the same).
 */
extern int	select_entropy_upper(const double *p, int n_classes, double tol, double *upper,
								 char *err, size_t errlen);
/* select_entropy_screen_width: the doubles per vector select_entropy_upper uses here (1, 2, 4, 8). */
extern int	select_entropy_screen_width(void);
/*
 * select_entropy_upper_width runs the screen's pass at one width (1: no
 * vectors, 2, 4, 8) for the tests: *h its entropy (without the margin), *sum
 * the row's sum; returns 1 for a value outside [0, 1] or NaN, 0 otherwise,
 * and -1 for a width this processor lacks.
 */
extern int	select_entropy_upper_width(int width, const double *p, int n_classes, double *h, double *sum);

/*
 * select_entropy_upper_f32 is select_entropy_upper for a float4 row read in
 * place (no copy, no conversion to double): the same checks and refusals as
 * select_check_probs on the row's values read as doubles
 * (select_check_probs_f32), and an upper bound of the row's entropy (what
 * select_row_score gives for those doubles) from a cubic lower bound of
 * log2 with no division, at most about 9e-4 above it (see
 * select_entropy.c).  A row the vector pass cannot vouch for (a sum within
 * rounding of the tolerance's edge, more than SELECT_F32_SCREEN_MAX classes)
 * gets *upper = +inf, so it is scored.  Returns 0, or -1 with
 * select_check_probs' reason.
 */
#define SELECT_F32_SCREEN_MAX (1 << 20)
extern int	select_entropy_upper_f32(const float *p, int n_classes, double tol, double *upper,
									 char *err, size_t errlen);
/* select_entropy_f32_width: the floats per vector select_entropy_upper_f32 uses here (1, 4, 8, 16). */
extern int	select_entropy_f32_width(void);
/*
 * For the tests: select_entropy_upper_f32_at runs the float4 screen's pass
 * at one width (1: no vectors, 4, 8, 16) and returns 0 with *upper, -1 when
 * it cannot vouch for the row (the glue would then ask
 * select_check_probs_f32), -2 for a width this processor lacks.
 * select_entropy_log2_lower_at writes the screen's lower bound of log2 of
 * each of x[0..n) (n a multiple of the width) to out; -1 for a width this
 * processor lacks.
 */
extern int	select_entropy_upper_f32_at(int width, const float *p, int n_classes, double tol, double *upper);
extern int	select_entropy_log2_lower_at(int width, const float *x, int64_t n, float *out);

/* select_check_probs_f32 is select_check_probs for float values (each read as a double). */
extern int	select_check_probs_f32(const float *p, int n_classes, double tol, char *err, size_t errlen);

/*
 * select_heap_floor returns the score of the worst entry of a full heap
 * (an offer scoring below it cannot enter), or -INFINITY while the heap
 * holds fewer than k entries.
 */
extern double select_heap_floor(const SelectHeap *h);

/* select_heap_free frees the heap (NULL is fine). */
extern void select_heap_free(SelectHeap *h);

/*
 * select_check_probs checks one probability row: n_classes >= 1, every
 * value finite and in [0, 1], the sum within tol * n_classes of 1 (tol is
 * a per-class tolerance in [0, 1], SELECT_PROBS_TOLERANCE by default;
 * another tol, NaN included, is refused).
 * Returns 0, or -1 with a reason naming the problem (e.g. "probabilities
 * sum to 1.8").
 */
#define SELECT_PROBS_TOLERANCE 1e-6
extern int	select_check_probs(const double *p, int n_classes, double tol, char *err, size_t errlen);

/*
 * select_normalize_probs divides a row of scores by its sum (select_batch's
 * option "normalize"): every value finite and non-negative, the sum above 0
 * and finite.  Returns 0, or -1 with a reason (the row is then unchanged).
 */
extern int	select_normalize_probs(double *p, int n, char *err, size_t errlen);

/*
 * select_row_score writes the score a per-row strategy ranks row id by
 * (higher = more worth labelling):
 *
 *	 SELECT_ENTROPY			 -sum p log p (natural log; zeros add 0)
 *	 SELECT_LEAST_CONFIDENCE 1 - max p
 *	 SELECT_MARGIN			 -(p1 - p2), p1 >= p2 the two largest (a single
 *							 class: -p1), so the smallest margin comes first
 *	 SELECT_RANDOM			 select_random_key(seed, id), in [0, 1)
 *
 * The probabilities are checked (select_check_probs, tolerance tol) for every strategy
 * but SELECT_RANDOM, which ignores p and n_classes (p may be NULL).  A
 * batch strategy here is refused.  Returns 0 or -1 with a reason.
 */
extern int	select_row_score(SelectStrategy s, const double *p, int n_classes, int64_t id,
							 uint32_t seed, double tol, double *score, char *err, size_t errlen);

/*
 * select_random_key is the random strategy's score: a keyed hash of
 * (seed, id) (splitmix64's finaliser applied to the seed, then to the seed's
 * hash xor the id) mapped to a double in [0, 1) with 53 random bits.  It
 * depends on nothing but (seed, id), so the same seed picks the same batch
 * whatever order the pool streams in, and a merge of partial heaps agrees.
 */
extern double select_random_key(uint32_t seed, int64_t id);

/*
 * select_predicted_class returns argmax p (ties: the lowest class), the
 * class a row counts against for per-class quotas.  n_classes >= 1.
 *
 * Per-class quotas: the glue keeps one SelectHeap per class, k = that
 * class's quota, offers each row to the heap of its predicted class, and
 * at the end concatenates the classes' results (class order, each best
 * first).  Merging partial states merges heap by heap, class by class.
 */
extern int	select_predicted_class(const double *p, int n_classes);

/* ---------------------------------------------------------------------
 * 2. Core-set: greedy k-centre (Sener & Savarese 2018), exact
 * ---------------------------------------------------------------------
 *
 * select_coreset picks b of the n pool items X (n x d float, row-major),
 * one at a time, each the unpicked item farthest (Euclidean) from the
 * labelled set L (m x d) and the items picked so far; ties go to the lowest
 * index.  picked[0..b) gets the indices in pick order, dist[0..b) (may be
 * NULL) the pick's distance at pick time.
 *
 * m == 0: the first pick is the item farthest from the pool mean (mean in
 * double, rounded to float), and dist[0] is that distance; later picks
 * follow the rule above.  Items at distance 0 (duplicates of the labelled
 * set) are still pickable once everything else is, lowest index first, so
 * the b picks are always distinct.
 *
 * Distances: lane j of 16 sums, in float and in order, the float squares
 * of the float differences of dimensions k = j (mod 16); the 16 lanes are
 * then added in float in a fixed tree (j + j+8, then +4, +2, +1).  Relative
 * error about (d/16 + 4) * 2^-24.  Every distance, in every phase and at
 * every vector width (SSE2, AVX2, AVX-512: same bits), is select_sqdist's,
 * so the picks are exactly those of a brute-force greedy using it.  Rows
 * whose d is not a multiple of 16 are copied once, padded with zeros
 * (memory: n x d floats more).  Time O(n (m + b) d), memory O(n) beyond the inputs.
 * nthreads > 1 splits the pool over that many threads (pthreads; signals
 * blocked in them) with the same result as one thread.
 */
extern int	select_coreset(const float *X, int64_t n, int d, const float *L, int64_t m, int64_t b,
						   int nthreads, int64_t *picked, double *dist,
						   const mlops_allocator *a, char *err, size_t errlen);

/* select_sqdist is the squared Euclidean distance coreset uses (see above). */
extern double select_sqdist(const float *x, const float *y, int d);

/*
 * select_sqdist_tiles (for the unit tests) runs every vector loop this
 * processor has over x (np rows of d floats) against y (nc rows), one
 * centre at a time and all at once, and returns how many results differ
 * in any bit from select_sqdist (-1: out of memory).
 */
extern int64_t select_sqdist_tiles(const float *x, int64_t np, const float *y, int64_t nc, int d);

/* ---------------------------------------------------------------------
 * 3. BADGE (Ash et al. 2020): k-means++ seeding on gradient embeddings
 * ---------------------------------------------------------------------
 *
 * select_badge picks b of n items by k-means++ seeding over the gradient
 * embeddings g_i = a_i (x) e_i, a_i = onehot(argmax p_i) - p_i (argmax ties:
 * lowest class), e_i = E row i (n x d float), p_i = P row i (n x c double,
 * each row a checked probability row).  g is never materialised:
 *
 *	 ||g_i - g_j||^2 = ||a_i||^2 ||e_i||^2 + ||a_j||^2 ||e_j||^2
 *					   - 2 (a_i . a_j)(e_i . e_j)
 *
 * (clamped at 0), all in double; a_i . a_j from p_i . p_j and the two
 * argmaxes.  The first centre is the item of largest ||g|| (ties lowest
 * index), as BADGE's code; each next one is drawn with probability
 * proportional to D^2, its squared distance to the nearest centre so far,
 * by one mt_random_sample(seed's MT19937) u: the first unpicked item whose
 * running sum of D^2 (in index order) exceeds u * total.  When every
 * unpicked item has D^2 == 0 the lowest unpicked index is taken (BADGE's
 * code would loop); picks are always distinct.  Time O(n b (c + d)),
 * memory O(n).
 */
extern int	select_badge(const float *E, int d, const double *P, int c, int64_t n, int64_t b,
						 uint32_t seed, double tol, int64_t *picked, const mlops_allocator *a,
						 char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * 4. Cluster-margin (Citovsky et al. 2021), simplified
 * ---------------------------------------------------------------------
 *
 * select_cluster_margin:
 *	 1. candidates: the min(n, 10 b) items of lowest margin p1 - p2 (ties
 *		lowest index), through a SelectHeap;
 *	 2. k = min(b, candidates, SELECT_CM_MAX_CLUSTERS) clusters by k-means
 *		on the candidates' embeddings: k-means++ seeding with the seed's
 *		MT19937 (first centre uniform: mt_interval), then Lloyd iterations
 *		(squared Euclidean in double, ties lowest cluster) until no item
 *		moves or SELECT_CM_MAX_ITER; an emptied cluster keeps its centre;
 *	 3. round robin over the clusters, smallest first (ties lowest cluster
 *		number), taking each time the lowest-margin item not yet taken
 *		(ties lowest index), until b are picked.
 * (The paper clusters once with hierarchical agglomerative clustering over
 * a large pool; k-means on the candidates keeps this O(iter 10b k d).)
 * picked[0..b) gets pool indices in pick order, distinct.
 */
#define SELECT_CM_CANDIDATES_PER_PICK 10
#define SELECT_CM_MAX_CLUSTERS 256
#define SELECT_CM_MAX_ITER 50

extern int	select_cluster_margin(const float *E, int d, const double *P, int c, int64_t n, int64_t b,
								  uint32_t seed, double tol, int64_t *picked, const mlops_allocator *a,
								  char *err, size_t errlen);

#endif							/* MLOPS_ACTIVE_SELECT_H */
