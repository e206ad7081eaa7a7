/*
 * split.h
 *	  Kernel: train/test and k-fold splitting of a data set (issue 15).
 *	  Items are numbered 0 .. n-1; the caller gives their class, multilabel
 *	  set, group and id as arrays (SplitData), the request as a SplitSpec,
 *	  and gets one small integer per item back.  Every random choice comes
 *	  from the numpy-compatible MT19937 of rng.h seeded with spec->seed, so
 *	  a split is a pure function of (data, spec) on every platform.
 *
 *	  Methods (the algorithm of each is described in the file that has it):
 *	    SPLIT_RANDOM            split.c: numpy permutation; one split takes the
 *	                            first n_test items as test, the next n_train
 *	                            as train (== ShuffleSplit); folds cut the
 *	                            permutation into KFold's fold sizes
 *	    SPLIT_STRATIFIED        split.c: per-class largest-remainder
 *	                            apportionment of the test and train counts
 *	                            (exact totals; each class's test count within
 *	                            1 of its share), then a seeded shuffle inside
 *	                            each class; folds deal each shuffled class
 *	                            round robin
 *	    SPLIT_GROUP             split_group.c: groups largest first (ties in
 *	                            seeded random order), each to the side with
 *	                            the largest remaining item demand
 *	    SPLIT_STRATIFIED_GROUP  split_group.c: same order, each group to the
 *	                            side where it best fills the remaining
 *	                            per-class and size demand (least squares)
 *	    SPLIT_ITERATIVE         split_iterative.c: Sechidis, Tsoumakas and
 *	                            Vlahavas 2011, on items or on whole groups
 *	    SPLIT_HASH              split.c: SipHash-2-4 of the id bytes
 *	    SPLIT_SKLEARN           split_sklearn.c, split_sklearn_group.c:
 *	                            scikit-learn 1.2's splitters
 *
 *	  Sizes.  test_size and train_size are NaN (not given), a fraction in
 *	  (0, 1), or an integral count >= 1, with scikit-learn's rules
 *	  (_validate_shuffle_split): n_test = ceil(test_size * n), n_train =
 *	  floor(train_size * n); the one not given is the rest; when neither is
 *	  given test_size is 0.25 (train_test_split's default; scikit-learn's
 *	  ShuffleSplit family defaults to 0.1 or 0.2 -- pass it explicitly to
 *	  get those).  Counts are of items, except for SPLIT_SKLEARN with groups
 *	  (GroupShuffleSplit counts groups).  SPLIT_HASH takes fractions only.
 *
 *	  Exactness.  SPLIT_RANDOM, SPLIT_STRATIFIED and SPLIT_SKLEARN (without
 *	  groups) give exactly n_test test and n_train train items; with
 *	  n_test_per_label exactly that many test items per class.  Grouped
 *	  methods never put one group on two sides and come as close to the
 *	  sizes as the groups allow; SPLIT_ITERATIVE and SPLIT_HASH are
 *	  approximate by nature.  split_assign checks its result before it
 *	  returns (split.c, SplitCheck) and reports a failed check as an error.
 *
 *	  Edge rules.
 *	    - n == 0: returns 0 and writes nothing, except SPLIT_SKLEARN, which
 *	      fails as scikit-learn does.
 *	    - test_size or train_size <= 0, a count >= n, a non-integral value
 *	      above 1, fractions summing above 1, n_train + n_test > n, or an
 *	      empty train side: error.  A test side of 0 items cannot be asked.
 *	    - A class with 1 item: SPLIT_STRATIFIED puts it where the
 *	      apportionment says (it cannot be on both sides); SPLIT_SKLEARN's
 *	      one split fails as StratifiedShuffleSplit does; with
 *	      n_test_per_label it is an error (see next).
 *	    - n_test_per_label >= the size of a class that has items: error naming
 *	      the class index and its size (every class keeps a train item).
 *	      n_test_per_label needs SPLIT_STRATIFIED, labels, one split, and no
 *	      test_size / train_size.  Classes without items are skipped.
 *	    - folds: 0 (one split) or 2 .. n; with test_size or train_size given:
 *	      error.  Grouped methods need folds <= the number of non-empty
 *	      groups; every fold gets at least one group.
 *	    - SPLIT_HASH: duplicate ids are an error naming both items; groups
 *	      are not taken (split by group by passing group keys as ids).
 *	    - SPLIT_RANDOM and SPLIT_STRATIFIED refuse groups (use the grouped
 *	      methods); SPLIT_ITERATIVE needs ml_offsets / ml_labels, labels in
 *	      0 .. n_classes-1 without repeats per item, and at least one label
 *	      in the data (an all-empty label set is an error); items without
 *	      labels are placed by size demand only, as in the paper.
 *	    - SPLIT_SKLEARN: see split_sklearn.c and split_sklearn_group.c
 *	      (folds with groups: GroupKFold, or StratifiedGroupKFold with
 *	      labels, whose folds may come out empty as scikit-learn's do).
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#ifndef MLOPS_DATASETS_SPLIT_H
#define MLOPS_DATASETS_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef enum SplitMethod
{
	SPLIT_RANDOM,				/* plain seeded shuffle split (no label/group) */
	SPLIT_STRATIFIED,			/* class shares kept per side as exactly as
								 * counts allow */
	SPLIT_GROUP,				/* no group on two sides; sizes as close as
								 * groups allow */
	SPLIT_STRATIFIED_GROUP,		/* no group on both sides, class shares as
								 * close as the groups allow */
	SPLIT_ITERATIVE,			/* multilabel, Sechidis et al. 2011 iterative
								 * stratification, with optional groups */
	SPLIT_HASH,					/* side from a keyed hash (SipHash-2-4, key
								 * from seed) of the item id: adding items
								 * never moves an earlier one */
	SPLIT_SKLEARN				/* identical index sets to scikit-learn 1.2
								 * for random_state=seed */
} SplitMethod;

typedef struct SplitData
{
	int64_t		n;				/* items */
	const int32_t *label;		/* single-label: class index per item,
								 * 0..n_classes-1, classes numbered in SORTED
								 * order of their values (as np.unique
								 * would); NULL when unlabelled */
	int32_t		n_classes;		/* also the number of labels for ml_labels */
	const int64_t *ml_offsets;	/* multilabel CSR (n+1 offsets) or NULL */
	const int32_t *ml_labels;	/* labels of item i are ml_labels[ml_offsets[i]
								 * .. ml_offsets[i+1]) */
	const int32_t *group;		/* group index per item 0..n_groups-1 in SORTED
								 * order of group values, or NULL */
	int32_t		n_groups;
	const char *const *id;		/* item ids (bytes) for SPLIT_HASH, with
								 * id_len; NULL otherwise */
	const size_t *id_len;
} SplitData;

typedef struct SplitSpec
{
	SplitMethod method;
	double		test_size;		/* NAN: not given; 0<x<1 fraction; integral
								 * >=1: count */
	double		train_size;		/* same */
	int64_t		n_test_per_label;	/* -1: not given; else exactly N test
									 * items per class */
	int32_t		folds;			/* 0: one split; >=2: k-fold assignment */
	uint32_t	seed;
	int			shuffle;		/* for SPLIT_SKLEARN k-fold: KFold /
								 * StratifiedKFold shuffle flag (default 1) */
} SplitSpec;

/* Values of out[] for one split. */
#define SPLIT_TRAIN		0
#define SPLIT_TEST		1
#define SPLIT_NEITHER	2

/*
 * split_spec_init: a spec with nothing given: method, NaN sizes,
 * n_test_per_label -1, one split, seed 0, shuffle 1.
 */
extern void split_spec_init(SplitSpec *spec, SplitMethod method);

/*
 * split_assign
 *		out[i]: for one split 0 = train, 1 = test, 2 = in neither (when
 *		train_size + test_size < n); for folds, the fold (0..folds-1) in which
 *		item i is the test item.  Returns 0, or -1 with a reason in err (bad
 *		spec, impossible request; see the edge rules above).  Every result is
 *		checked before returning (no group on two sides when grouped, exact
 *		counts where counts were asked, no empty fold where the method
 *		promises none); a failed check is an error, never a silent wrong
 *		split.
 */
extern int	split_assign(const SplitData *data, const SplitSpec *spec, int32_t *out,
						 const mlops_allocator *alloc, char *err, size_t errlen);

/*
 * split_siphash24: SipHash-2-4 of msg with the 128-bit key (k0, k1), as
 * SPLIT_HASH uses it (exported for tests and for glue that wants to show a
 * side without splitting).
 */
extern uint64_t split_siphash24(uint64_t k0, uint64_t k1, const void *msg, size_t len);

/* split_hash_key: the SipHash key SPLIT_HASH derives from a seed. */
extern void split_hash_key(uint32_t seed, uint64_t *k0, uint64_t *k1);

#endif							/* MLOPS_DATASETS_SPLIT_H */
