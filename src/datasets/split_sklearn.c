/*
 * split_sklearn.c
 *	  Kernel: SPLIT_SKLEARN, the index sets scikit-learn 1.2 computes for
 *	  random_state=seed (numpy's legacy RandomState, rng.h), replicated draw
 *	  for draw.  Which splitter, from the data and the spec:
 *	    folds >= 2, labels     StratifiedKFold(folds, shuffle, random_state)
 *	    folds >= 2, no labels  KFold(folds, shuffle, random_state)
 *	    folds >= 2, groups     GroupKFold(folds) without labels,
 *	                           StratifiedGroupKFold(folds, shuffle,
 *	                           random_state) with them: split_sklearn_group.c
 *	    one split, groups      GroupShuffleSplit(n_splits=1, ...) first split
 *	                           (sizes count groups; labels ignored)
 *	    one split, labels      StratifiedShuffleSplit first split
 *	                           (== train_test_split(stratify=y, shuffle=True))
 *	    one split, otherwise   ShuffleSplit first split
 *	                           (== train_test_split(shuffle=True))
 *	  With neither size given the test fraction is 0.25 (train_test_split's
 *	  default); scikit-learn's classes default to 0.1 (0.2 for
 *	  GroupShuffleSplit), so a caller replicating those passes it.  With
 *	  shuffle = 0 the seed is ignored (scikit-learn refuses a random_state
 *	  then).  Classes and groups are those that have items, in sorted order
 *	  (np.unique); StratifiedKFold's encoding by first appearance is derived
 *	  here from the item order.
 *
 *	  What is replicated:
 *	    ShuffleSplit           permutation(n); test = perm[:n_test], train =
 *	                           perm[n_test : n_test + n_train]
 *	    GroupShuffleSplit      the same over the groups, mapped to items
 *	    StratifiedShuffleSplit n_i = _approximate_mode(counts, n_train),
 *	                           t_i = _approximate_mode(counts - n_i, n_test),
 *	                           then per class in sorted order permutation of
 *	                           its items (index order): first n_i train, next
 *	                           t_i test.  (The final shuffles of train and
 *	                           test only reorder the sets, so are not drawn.)
 *	                           The positions below n_i (below n_test in
 *	                           ShuffleSplit) share one side, so their swaps
 *	                           are skipped, their draws made
 *	                           (mt_shuffle_tail64).
 *	    _approximate_mode      continuous = count / total * n_draws in double,
 *	                           floor, then the left-over draws by remainder
 *	                           value descending, each tie set chosen with
 *	                           choice(ties, k, replace=False) (a permutation
 *	                           of the tie set, whatever k)
 *	    KFold                  shuffle(arange(n)) when shuffling; fold sizes
 *	                           n // k, the first n % k one larger
 *	    StratifiedKFold        classes by first appearance; allocation of
 *	                           class k to fold i = how many positions p of
 *	                           the sorted encoded labels in class k's range
 *	                           have p % folds == i; per class (in encoded
 *	                           order) the fold list is repeat(arange, alloc),
 *	                           shuffled when shuffling, and given to the
 *	                           class's items in index order.  Fails when
 *	                           every class is smaller than folds, as
 *	                           scikit-learn does; only warns otherwise.
 *	  Errors follow scikit-learn's ValueErrors (sizes, a class of one item
 *	  or fewer train / test items than classes in StratifiedShuffleSplit,
 *	  folds > n).
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "datasets/rng.h"
#include "datasets/split_private.h"

/* A class in the remainder order of ApproximateMode. */
typedef struct ModeKey
{
	double		rem;
	int32_t		c;
} ModeKey;

static int
ModeKeyCmp(const void *a, const void *b)
{
	const ModeKey *x = a,
			   *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->c < y->c ? -1 : (x->c > y->c);
}

/*
 * ApproximateMode
 *		sklearn.utils._approximate_mode(counts, n_draws, rng) into out[C].
 *		keys and perm are scratch of C entries.
 */
static void
ApproximateMode(const int64_t *counts, int32_t C, int64_t n_draws, mt_state *rng,
				int64_t *out, ModeKey *keys, int64_t *perm)
{
	int64_t		total = 0,
				sumf = 0,
				need;
	int32_t		c,
				s;

	for (c = 0; c < C; c++)
		total += counts[c];
	for (c = 0; c < C; c++)
	{
		double		cont = (double) counts[c] / (double) total * (double) n_draws;
		double		fl = floor(cont);

		out[c] = (int64_t) fl;
		sumf += out[c];
		keys[c].rem = cont - fl;
		keys[c].c = c;
	}
	need = n_draws - sumf;
	if (need <= 0)
		return;
	qsort(keys, (size_t) C, sizeof(ModeKey), ModeKeyCmp);
	for (s = 0; s < C && need > 0;)
	{
		int32_t		e = s,
					j;
		int64_t		add;

		while (e < C && keys[e].rem == keys[s].rem)
			e++;
		add = need < (e - s) ? need : (e - s);
		/* choice(inds, add, replace=False) = permutation(len(inds))[:add] */
		mt_permutation(rng, perm, e - s);
		for (j = 0; j < add; j++)
			out[keys[s + perm[j]].c]++;
		need -= add;
		s = e;
	}
}

/*
 * SklearnShuffleSplit
 *		ShuffleSplit's first split; over the groups when grouped.
 */
static int
SklearnShuffleSplit(const SplitData *data, const SplitSpec *spec, int32_t *out,
					SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n,
				units = n,
				n_train,
				n_test,
				i;
	int32_t    *gmap = NULL;
	int32_t    *side = NULL;
	int64_t    *perm = NULL;
	mt_state	rng;
	int			rc = -1;

	if (data->group)
	{
		int32_t		g;

		gmap = mlops_alloc(alloc, sizeof(int32_t) * (size_t) data->n_groups);
		if (!gmap)
			goto oom;
		for (g = 0; g < data->n_groups; g++)
			gmap[g] = 0;
		for (i = 0; i < n; i++)
			gmap[data->group[i]] = 1;
		units = 0;
		for (g = 0; g < data->n_groups; g++)
			gmap[g] = gmap[g] ? (int32_t) units++ : -1;
	}
	if (split_resolve_sizes(units, spec->test_size, spec->train_size, &n_train, &n_test, err, errlen) != 0)
		goto done;
	perm = mlops_alloc(alloc, sizeof(int64_t) * (size_t) units);
	side = mlops_alloc(alloc, sizeof(int32_t) * (size_t) units);
	if (!perm || !side)
		goto oom;
	mt_seed(&rng, spec->seed);
	/* permutation(units): every position below n_test is test, in any order */
	for (i = 0; i < units; i++)
	{
		perm[i] = i;
		side[i] = SPLIT_TEST;
	}
	mt_shuffle_tail64(&rng, perm, units, n_test);
	for (i = n_test; i < units; i++)
		side[perm[i]] = i < n_test + n_train ? SPLIT_TRAIN : SPLIT_NEITHER;
	for (i = 0; i < n; i++)
		out[i] = side[gmap ? gmap[data->group[i]] : i];
	if (gmap)
		expect->grouped = 1;
	else
	{
		expect->exact = 1;
		expect->n_train = n_train;
		expect->n_test = n_test;
	}
	expect->nonempty = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, gmap);
	mlops_free(alloc, perm);
	mlops_free(alloc, side);
	return rc;
}

/*
 * SklearnStratifiedShuffleSplit
 *		StratifiedShuffleSplit's first split.
 */
static int
SklearnStratifiedShuffleSplit(const SplitData *data, const SplitSpec *spec, int32_t *out,
							  SplitExpect *expect, const mlops_allocator *alloc,
							  char *err, size_t errlen)
{
	int64_t		n = data->n,
				n_train,
				n_test,
				largest = 0,
				i;
	int32_t		C = data->n_classes,
				Cp = 0,
				c;
	int64_t    *starts = NULL,
			   *order = NULL,
			   *counts = NULL,
			   *ni = NULL,
			   *ti = NULL,
			   *rest = NULL,
			   *perm = NULL;
	int32_t    *present = NULL;
	ModeKey    *keys = NULL;
	mt_state	rng;
	int			rc = -1;

	if (split_resolve_sizes(n, spec->test_size, spec->train_size, &n_train, &n_test, err, errlen) != 0)
		return -1;
	if (split_bucket(data->label, n, C, &starts, &order, alloc) != 0)
		goto oom;
	counts = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	ni = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	ti = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	rest = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	present = mlops_alloc(alloc, sizeof(int32_t) * (size_t) C);
	keys = mlops_alloc(alloc, sizeof(ModeKey) * (size_t) C);
	if (!counts || !ni || !ti || !rest || !present || !keys)
		goto oom;
	for (c = 0; c < C; c++)
		if (starts[c + 1] > starts[c])
		{
			present[Cp] = c;
			counts[Cp] = starts[c + 1] - starts[c];
			if (counts[Cp] > largest)
				largest = counts[Cp];
			Cp++;
		}
	/* scratch for one class's permutation (and the tie sets, at most C) */
	perm = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (largest > C ? largest : C));
	if (!perm)
		goto oom;
	for (c = 0; c < Cp; c++)
		if (counts[c] < 2)
		{
			errbuf_printf(err, errlen, "class %d has only 1 item; StratifiedShuffleSplit needs at least 2 per class",
						  (int) present[c]);
			goto done;
		}
	if (n_train < Cp || n_test < Cp)
	{
		errbuf_printf(err, errlen, "%s size %lld is below the number of classes %d",
					  n_train < Cp ? "train" : "test",
					  (long long) (n_train < Cp ? n_train : n_test), (int) Cp);
		goto done;
	}
	/* every item is in a class: train unless placed below */
	for (i = 0; i < n; i++)
		out[i] = SPLIT_TRAIN;
	mt_seed(&rng, spec->seed);
	ApproximateMode(counts, Cp, n_train, &rng, ni, keys, perm);
	for (c = 0; c < Cp; c++)
		rest[c] = counts[c] - ni[c];
	ApproximateMode(rest, Cp, n_test, &rng, ti, keys, perm);
	for (c = 0; c < Cp; c++)
	{
		const int64_t *items = order + starts[present[c]];

		/*
		 * permutation(counts[c]): every position below ni[c] is train, in
		 * any order, so only the positions from ni[c] up are placed
		 */
		for (i = 0; i < counts[c]; i++)
			perm[i] = i;
		mt_shuffle_tail64(&rng, perm, counts[c], ni[c]);
		for (i = ni[c]; i < counts[c]; i++)
			out[items[perm[i]]] = i < ni[c] + ti[c] ? SPLIT_TEST : SPLIT_NEITHER;
	}
	expect->exact = 1;
	expect->n_train = n_train;
	expect->n_test = n_test;
	expect->nonempty = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, starts);
	mlops_free(alloc, order);
	mlops_free(alloc, counts);
	mlops_free(alloc, ni);
	mlops_free(alloc, ti);
	mlops_free(alloc, rest);
	mlops_free(alloc, present);
	mlops_free(alloc, keys);
	mlops_free(alloc, perm);
	return rc;
}

/*
 * SklearnKFold
 *		KFold(folds, shuffle, random_state=seed).
 */
static int
SklearnKFold(const SplitData *data, const SplitSpec *spec, int32_t *out,
			 SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n,
				i,
				end;
	int64_t    *perm = mlops_alloc(alloc, sizeof(int64_t) * (size_t) n);
	int32_t		k = 0;
	mt_state	rng;

	if (!perm)
	{
		errbuf_printf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		perm[i] = i;
	if (spec->shuffle)
	{
		mt_seed(&rng, spec->seed);
		mt_shuffle64(&rng, perm, n);
	}
	end = split_fold_size(n, spec->folds, 0);
	for (i = 0; i < n; i++)
	{
		while (i >= end)
		{
			k++;
			end += split_fold_size(n, spec->folds, k);
		}
		out[perm[i]] = k;
	}
	expect->kfold_sizes = 1;
	expect->nonempty = 1;
	mlops_free(alloc, perm);
	return 0;
}

/*
 * SklearnStratifiedKFold
 *		StratifiedKFold(folds, shuffle, random_state=seed).
 */
static int
SklearnStratifiedKFold(const SplitData *data, const SplitSpec *spec, int32_t *out,
					   SplitExpect *expect, const mlops_allocator *alloc,
					   char *err, size_t errlen)
{
	int64_t		n = data->n,
				i,
				p = 0;
	int32_t		C = data->n_classes,
				K = spec->folds,
				Cp = 0,
				c,
				f;
	int64_t    *starts = NULL,
			   *order = NULL,
			   *alloc_k = NULL;
	int32_t    *enc = NULL,
			   *fl = NULL;
	int			any_big = 0;
	mt_state	rng;
	int			rc = -1;

	if (split_bucket(data->label, n, C, &starts, &order, alloc) != 0)
		goto oom;
	enc = mlops_alloc(alloc, sizeof(int32_t) * (size_t) C);
	alloc_k = mlops_alloc(alloc, sizeof(int64_t) * (size_t) K);
	fl = mlops_alloc(alloc, sizeof(int32_t) * (size_t) n);
	if (!enc || !alloc_k || !fl)
		goto oom;

	/*
	 * Classes in order of first appearance (np.unique's return_index, then
	 * its ranks): fl, not needed yet, holds the list while enc marks the
	 * classes seen; then enc becomes the list (enc[e] = class of code e).
	 */
	for (c = 0; c < C; c++)
		enc[c] = -1;
	for (i = 0; i < n; i++)
		if (enc[data->label[i]] < 0)
		{
			fl[Cp] = data->label[i];
			enc[data->label[i]] = Cp++;
		}
	for (c = 0; c < Cp; c++)
		enc[c] = fl[c];
	for (c = 0; c < Cp; c++)
		if (starts[enc[c] + 1] - starts[enc[c]] >= K)
			any_big = 1;
	if (!any_big)
	{
		errbuf_printf(err, errlen, "folds=%d cannot be greater than the number of members in each class", (int) K);
		goto done;
	}
	if (spec->shuffle)
		mt_seed(&rng, spec->seed);
	for (c = 0; c < Cp; c++)
	{
		int32_t		cls = enc[c];
		int64_t		s = starts[cls],
					m = starts[cls + 1] - s,
					j = 0;

		memset(alloc_k, 0, sizeof(int64_t) * (size_t) K);
		for (i = 0; i < m; i++, p++)
			alloc_k[p % K]++;
		for (f = 0; f < K; f++)
			for (i = 0; i < alloc_k[f]; i++)
				fl[j++] = f;
		if (spec->shuffle)
			mt_shuffle32(&rng, fl, m);
		for (i = 0; i < m; i++)
			out[order[s + i]] = fl[i];
	}
	expect->kfold_sizes = 1;
	expect->nonempty = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, starts);
	mlops_free(alloc, order);
	mlops_free(alloc, enc);
	mlops_free(alloc, alloc_k);
	mlops_free(alloc, fl);
	return rc;
}

int
split_sklearn(const SplitData *data, const SplitSpec *spec, int32_t *out,
			  SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	if (spec->folds >= 2)
	{
		if (data->group)
			return split_sklearn_group_kfold(data, spec, out, expect, alloc, err, errlen);
		if (data->label)
			return SklearnStratifiedKFold(data, spec, out, expect, alloc, err, errlen);
		return SklearnKFold(data, spec, out, expect, alloc, err, errlen);
	}
	if (data->group)
		return SklearnShuffleSplit(data, spec, out, expect, alloc, err, errlen);
	if (data->label)
		return SklearnStratifiedShuffleSplit(data, spec, out, expect, alloc, err, errlen);
	return SklearnShuffleSplit(data, spec, out, expect, alloc, err, errlen);
}
