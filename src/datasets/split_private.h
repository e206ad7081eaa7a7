/*
 * split_private.h
 *	  Kernel: what the files of the splitter (split.c, split_group.c,
 *	  split_iterative.c, split_sklearn.c) share and nobody else needs.
 *	  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_DATASETS_SPLIT_PRIVATE_H
#define MLOPS_DATASETS_SPLIT_PRIVATE_H

#include "datasets/split.h"

/*
 * What a method promises, for SplitCheck: split.c checks the result
 * against it before split_assign returns.
 */
typedef struct SplitExpect
{
	int			exact;			/* one split: exactly n_train / n_test items */
	int64_t		n_train;
	int64_t		n_test;
	int			kfold_sizes;	/* folds: sizes n/k or n/k + 1 */
	int			nonempty;		/* folds: none empty; one split: train and
								 * test not empty */
	int			grouped;		/* no group on two sides */
	int64_t		per_label;		/* >= 0: exactly this many test items per
								 * class that has items */
} SplitExpect;

/*
 * split_resolve_sizes: scikit-learn's _validate_shuffle_split over n units
 * (default test fraction 0.25 when neither is given).
 */
extern int	split_resolve_sizes(int64_t n, double test_size, double train_size,
								int64_t *n_train, int64_t *n_test,
								char *err, size_t errlen);

/*
 * split_bucket: a stable counting sort of 0..n-1 by key (0..nkeys-1):
 * *order holds the items key by key, in index order within a key, and
 * (*starts)[k] .. (*starts)[k+1] the range of key k.  Returns 0 or -1 (out
 * of memory; nothing allocated then).
 */
extern int	split_bucket(const int32_t *key, int64_t n, int32_t nkeys,
						 int64_t **starts, int64_t **order, const mlops_allocator *alloc);

/* split_fold_size: KFold's size of fold k of n items in folds folds. */
static inline int64_t
split_fold_size(int64_t n, int32_t folds, int32_t k)
{
	return n / folds + (k < n % folds ? 1 : 0);
}

extern int	split_sklearn(const SplitData *data, const SplitSpec *spec, int32_t *out,
						  SplitExpect *expect, const mlops_allocator *alloc,
						  char *err, size_t errlen);
/* split_sklearn_group.c: GroupKFold / StratifiedGroupKFold (folds and groups). */
extern int	split_sklearn_group_kfold(const SplitData *data, const SplitSpec *spec, int32_t *out,
									  SplitExpect *expect, const mlops_allocator *alloc,
									  char *err, size_t errlen);
extern int	split_grouped(const SplitData *data, const SplitSpec *spec, int32_t *out,
						  SplitExpect *expect, const mlops_allocator *alloc,
						  char *err, size_t errlen);
extern int	split_iterative(const SplitData *data, const SplitSpec *spec, int32_t *out,
							SplitExpect *expect, const mlops_allocator *alloc,
							char *err, size_t errlen);

#endif							/* MLOPS_DATASETS_SPLIT_PRIVATE_H */
