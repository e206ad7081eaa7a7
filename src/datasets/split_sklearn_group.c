/*
 * split_sklearn_group.c
 *	  Kernel: SPLIT_SKLEARN with folds and groups -- scikit-learn 1.2's
 *	  GroupKFold (no labels) and StratifiedGroupKFold (labels), the same
 *	  fold for every item as scikit-learn gives, replicated operation for
 *	  operation where the result depends on it:
 *
 *	  GroupKFold(folds): group sizes over the groups in sorted order
 *	  (np.bincount of np.unique's inverse); the groups taken largest first
 *	  in the order of np.argsort(sizes)[::-1] -- numpy 1.24's default
 *	  argsort of int64, an introsort that is not stable, so ties come in
 *	  the order that very algorithm leaves them (NumpyArgsort below); each
 *	  group to the fold with the fewest items so far, the first such fold
 *	  (np.argmin).  No randomness: shuffle and seed do not apply (1.2's
 *	  GroupKFold has neither).
 *
 *	  StratifiedGroupKFold(folds, shuffle, random_state): per group the
 *	  count of each class (classes and groups sorted, as np.unique);
 *	  with shuffle, RandomState(seed).shuffle of that matrix's rows -- and,
 *	  as scikit-learn 1.2 does, the row at position u then stands for group
 *	  u whatever counts it now holds (scikit-learn#24656: with shuffle the
 *	  stratification is poor; replicated, not repaired); rows ordered by the
 *	  standard deviation of their counts, descending, stably (mergesort of
 *	  -std); each row to the fold whose mean over classes of the standard
 *	  deviation across folds of count / class total is least, a fold within
 *	  np.isclose of the best winning when it holds fewer items.  The
 *	  floating point follows numpy's own order of operations: a sum along a
 *	  contiguous row is numpy's pairwise sum, a sum down the folds (a
 *	  column of a matrix with more than one column) is sequential; mean =
 *	  sum / count, std = sqrt(sum((x - mean)^2) / count).  Refused as
 *	  scikit-learn refuses: every class smaller than folds.  Folds may come
 *	  out empty (scikit-learn does not check).
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "datasets/rng.h"
#include "datasets/split_private.h"

/* numpy's SMALL_QUICKSORT (npysort_common.h): partitions up to this size +1 are insertion sorted */
#define NPY_SMALL_QUICKSORT 15
#define NPY_QS_STACK 128

/*
 * NumpyHeapArgsort: numpy's aheapsort of tosort[0..n) by v (the fallback
 * of its introsort when the depth limit is reached).
 */
static void
NumpyHeapArgsort(const int64_t *v, int64_t *tosort, int64_t n)
{
	int64_t    *a = tosort - 1;		/* 1-based heap */
	int64_t		i,
				j,
				l,
				tmp;

	for (l = n >> 1; l > 0; --l)
	{
		tmp = a[l];
		for (i = l, j = l << 1; j <= n;)
		{
			if (j < n && v[a[j]] < v[a[j + 1]])
				j += 1;
			if (v[tmp] < v[a[j]])
			{
				a[i] = a[j];
				i = j;
				j += j;
			}
			else
				break;
		}
		a[i] = tmp;
	}
	for (; n > 1;)
	{
		tmp = a[n];
		a[n] = a[1];
		n -= 1;
		for (i = 1, j = 2; j <= n;)
		{
			if (j < n && v[a[j]] < v[a[j + 1]])
				j++;
			if (v[tmp] < v[a[j]])
			{
				a[i] = a[j];
				i = j;
				j += j;
			}
			else
				break;
		}
		a[i] = tmp;
	}
}

#define SWAP64(x, y) do { int64_t t_ = (x); (x) = (y); (y) = t_; } while (0)

/*
 * NumpyArgsort: tosort[0..num) = np.argsort(v[0..num)) with numpy 1.24's
 * default kind for int64 -- introsort: median-of-three quicksort, the
 * larger partition stacked, insertion sort below 16 items, heapsort past a
 * depth of twice the most significant bit of num.  Not stable; the order
 * of ties is this algorithm's, which is what makes it numpy's.
 */
static void
NumpyArgsort(const int64_t *v, int64_t *tosort, int64_t num)
{
	int64_t    *pl = tosort,
			   *pr = tosort + num - 1,
			   *pm,
			   *pi,
			   *pj,
			   *pk;
	int64_t    *stack[NPY_QS_STACK];
	int64_t   **sptr = stack;
	int			depth[NPY_QS_STACK];
	int		   *psdepth = depth;
	int			cdepth = 0;
	int64_t		vp,
				vi,
				u;

	for (u = 0; u < num; u++)
		tosort[u] = u;
	if (num < 2)
		return;
	for (u = num; u >>= 1;)
		cdepth++;
	cdepth *= 2;

	for (;;)
	{
		if (cdepth < 0)
		{
			NumpyHeapArgsort(v, pl, pr - pl + 1);
			goto stack_pop;
		}
		while ((pr - pl) > NPY_SMALL_QUICKSORT)
		{
			pm = pl + ((pr - pl) >> 1);
			if (v[*pm] < v[*pl])
				SWAP64(*pm, *pl);
			if (v[*pr] < v[*pm])
				SWAP64(*pr, *pm);
			if (v[*pm] < v[*pl])
				SWAP64(*pm, *pl);
			vp = v[*pm];
			pi = pl;
			pj = pr - 1;
			SWAP64(*pm, *pj);
			for (;;)
			{
				do
					++pi;
				while (v[*pi] < vp);
				do
					--pj;
				while (vp < v[*pj]);
				if (pi >= pj)
					break;
				SWAP64(*pi, *pj);
			}
			pk = pr - 1;
			SWAP64(*pi, *pk);
			/* the larger partition waits on the stack */
			if (pi - pl < pr - pi)
			{
				*sptr++ = pi + 1;
				*sptr++ = pr;
				pr = pi - 1;
			}
			else
			{
				*sptr++ = pl;
				*sptr++ = pi - 1;
				pl = pi + 1;
			}
			*psdepth++ = --cdepth;
		}
		for (pi = pl + 1; pi <= pr; ++pi)
		{
			vi = *pi;
			vp = v[vi];
			pj = pi;
			pk = pi - 1;
			while (pj > pl && vp < v[*pk])
				*pj-- = *pk--;
			*pj = vi;
		}
stack_pop:
		if (sptr == stack)
			break;
		pr = *(--sptr);
		pl = *(--sptr);
		cdepth = *(--psdepth);
	}
}

/*
 * PairwiseSum: numpy's pairwise summation of a[0..n) (contiguous float64,
 * as np.add.reduce runs it along a row): below 8 items a plain loop, up to
 * 128 eight accumulators combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))
 * then the tail, above that the two halves (the first a multiple of 8).
 */
static double
PairwiseSum(const double *a, int64_t n)
{
	if (n < 8)
	{
		double		res = 0.;

		for (int64_t i = 0; i < n; i++)
			res += a[i];
		return res;
	}
	else if (n <= 128)
	{
		double		r[8],
					res;
		int64_t		i;

		for (i = 0; i < 8; i++)
			r[i] = a[i];
		for (i = 8; i < n - (n % 8); i += 8)
			for (int j = 0; j < 8; j++)
				r[j] += a[i + j];
		res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	else
	{
		int64_t		n2 = n / 2;

		n2 -= n2 % 8;
		return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
	}
}

/* RowStd: np.std of a contiguous row of n values (scratch: n doubles). */
static double
RowStd(const double *a, int64_t n, double *scratch)
{
	double		mean = PairwiseSum(a, n) / (double) n;

	for (int64_t i = 0; i < n; i++)
	{
		double		d = a[i] - mean;

		scratch[i] = d * d;
	}
	return sqrt(PairwiseSum(scratch, n) / (double) n);
}

/*
 * ColumnStd: np.std(..., axis=0) of one column of a K x C matrix, given as
 * its K values: summed down the rows one by one -- except when C is 1,
 * where the column is a contiguous row to numpy and summed pairwise.
 */
static double
ColumnStd(const double *x, int32_t K, int32_t C, double *scratch)
{
	double		sum = 0.,
				mean;

	if (C == 1)
		return RowStd(x, K, scratch);
	for (int32_t k = 0; k < K; k++)
		sum += x[k];
	mean = sum / (double) K;
	sum = 0.;
	for (int32_t k = 0; k < K; k++)
	{
		double		d = x[k] - mean;

		sum += d * d;
	}
	return sqrt(sum / (double) K);
}

/* np.isclose(a, b) with its defaults (rtol 1e-5, atol 1e-8), for finite a and any b */
static int
IsClose(double a, double b)
{
	if (isinf(b))
		return a == b;
	return fabs(a - b) <= 1e-8 + 1e-5 * fabs(b);
}

/*
 * GroupMap: the groups that have items, numbered 0..G-1 in sorted order
 * (np.unique); map[g] = that number or -1.  Returns G, or -1 (no memory).
 */
static int32_t
GroupMap(const SplitData *data, int32_t **map, const mlops_allocator *alloc)
{
	int32_t    *m = mlops_alloc(alloc, sizeof(int32_t) * (size_t) (data->n_groups > 0 ? data->n_groups : 1));
	int32_t		G = 0;

	if (!m)
		return -1;
	for (int32_t g = 0; g < data->n_groups; g++)
		m[g] = 0;
	for (int64_t i = 0; i < data->n; i++)
		m[data->group[i]] = 1;
	for (int32_t g = 0; g < data->n_groups; g++)
		m[g] = m[g] ? G++ : -1;
	*map = m;
	return G;
}

/*
 * SklearnGroupKFold
 *		GroupKFold(folds): out[i] = the fold whose test set holds item i.
 */
static int
SklearnGroupKFold(const SplitData *data, const SplitSpec *spec, int32_t *out,
				  SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int32_t		K = spec->folds,
				G;
	int32_t    *map = NULL,
			   *fold = NULL;
	int64_t    *size = NULL,
			   *order = NULL,
			   *load = NULL;
	int			rc = -1;

	G = GroupMap(data, &map, alloc);
	if (G < 0)
		goto oom;
	if (K > G)
	{
		errbuf_printf(err, errlen, "Cannot have number of splits n_splits=%d greater than the number of groups: %d",
					  (int) K, (int) G);
		goto done;
	}
	size = mlops_alloc(alloc, sizeof(int64_t) * (size_t) G);
	order = mlops_alloc(alloc, sizeof(int64_t) * (size_t) G);
	fold = mlops_alloc(alloc, sizeof(int32_t) * (size_t) G);
	load = mlops_alloc(alloc, sizeof(int64_t) * (size_t) K);
	if (!size || !order || !fold || !load)
		goto oom;
	memset(size, 0, sizeof(int64_t) * (size_t) G);
	for (int64_t i = 0; i < data->n; i++)
		size[map[data->group[i]]]++;
	NumpyArgsort(size, order, G);
	memset(load, 0, sizeof(int64_t) * (size_t) K);
	/* largest first: argsort reversed; each to the first lightest fold */
	for (int64_t u = G - 1; u >= 0; u--)
	{
		int32_t		g = (int32_t) order[u],
					best = 0;

		for (int32_t f = 1; f < K; f++)
			if (load[f] < load[best])
				best = f;
		load[best] += size[g];
		fold[g] = best;
	}
	for (int64_t i = 0; i < data->n; i++)
		out[i] = fold[map[data->group[i]]];
	expect->grouped = 1;
	expect->nonempty = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, map);
	mlops_free(alloc, fold);
	mlops_free(alloc, size);
	mlops_free(alloc, order);
	mlops_free(alloc, load);
	return rc;
}

/* A row of the group x class matrix in StratifiedGroupKFold's order. */
typedef struct StdKey
{
	double		neg_std;
	int64_t		pos;
} StdKey;

static int
StdKeyCmp(const void *a, const void *b)
{
	const StdKey *x = a,
			   *y = b;

	if (x->neg_std != y->neg_std)
		return x->neg_std < y->neg_std ? -1 : 1;
	return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/*
 * SklearnStratifiedGroupKFold
 *		StratifiedGroupKFold(folds, shuffle, random_state=seed).
 */
static int
SklearnStratifiedGroupKFold(const SplitData *data, const SplitSpec *spec, int32_t *out,
							SplitExpect *expect, const mlops_allocator *alloc,
							char *err, size_t errlen)
{
	int64_t		n = data->n;
	int32_t		K = spec->folds,
				C = 0,
				G;
	int32_t    *map = NULL,
			   *cmap = NULL,
			   *fold = NULL,
			   *touched = NULL;
	int64_t    *starts = NULL,
			   *order = NULL,
			   *row = NULL,
			   *ycnt = NULL;
	double	   *fc = NULL,			/* K x C counts per fold */
			   *base = NULL,		/* std per class of the folds as they are */
			   *stdc = NULL,		/* std per class with a candidate fold */
			   *dense = NULL,		/* one group's counts over all classes */
			   *scratch = NULL,
			   *colv = NULL;
	StdKey	   *keys = NULL;
	mt_state	rng;
	int			any_big = 0;
	int			rc = -1;

	G = GroupMap(data, &map, alloc);
	if (G < 0)
		goto oom;
	/* classes that have items, in sorted order */
	cmap = mlops_alloc(alloc, sizeof(int32_t) * (size_t) (data->n_classes > 0 ? data->n_classes : 1));
	if (!cmap)
		goto oom;
	for (int32_t c = 0; c < data->n_classes; c++)
		cmap[c] = 0;
	for (int64_t i = 0; i < n; i++)
		cmap[data->label[i]] = 1;
	for (int32_t c = 0; c < data->n_classes; c++)
		cmap[c] = cmap[c] ? C++ : -1;
	ycnt = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	if (!ycnt)
		goto oom;
	memset(ycnt, 0, sizeof(int64_t) * (size_t) C);
	for (int64_t i = 0; i < n; i++)
		ycnt[cmap[data->label[i]]]++;
	for (int32_t c = 0; c < C; c++)
		if (ycnt[c] >= K)
			any_big = 1;
	if (!any_big)
	{
		errbuf_printf(err, errlen, "n_splits=%d cannot be greater than the number of members in each class",
					  (int) K);
		goto done;
	}

	/* the items of each group (sorted group order), for its class counts */
	{
		int32_t    *gkey = mlops_alloc(alloc, sizeof(int32_t) * (size_t) n);

		if (!gkey)
			goto oom;
		for (int64_t i = 0; i < n; i++)
			gkey[i] = map[data->group[i]];
		if (split_bucket(gkey, n, G, &starts, &order, alloc) != 0)
		{
			mlops_free(alloc, gkey);
			goto oom;
		}
		mlops_free(alloc, gkey);
	}

	/* row[u]: the group whose counts the matrix's row u holds (after the shuffle) */
	row = mlops_alloc(alloc, sizeof(int64_t) * (size_t) G);
	keys = mlops_alloc(alloc, sizeof(StdKey) * (size_t) G);
	fold = mlops_alloc(alloc, sizeof(int32_t) * (size_t) G);
	touched = mlops_alloc(alloc, sizeof(int32_t) * (size_t) C);
	fc = mlops_alloc(alloc, sizeof(double) * (size_t) K * (size_t) C);
	base = mlops_alloc(alloc, sizeof(double) * (size_t) C);
	stdc = mlops_alloc(alloc, sizeof(double) * (size_t) C);
	dense = mlops_alloc(alloc, sizeof(double) * (size_t) C);
	scratch = mlops_alloc(alloc, sizeof(double) * (size_t) (C > K ? C : K));
	colv = mlops_alloc(alloc, sizeof(double) * (size_t) K);
	if (!row || !keys || !fold || !touched || !fc || !base || !stdc || !dense || !scratch || !colv)
		goto oom;
	for (int64_t u = 0; u < G; u++)
		row[u] = u;
	if (spec->shuffle)
	{
		mt_seed(&rng, spec->seed);
		mt_shuffle64(&rng, row, G);
	}
	for (int32_t c = 0; c < C; c++)
		dense[c] = 0.;
	for (int64_t u = 0; u < G; u++)
	{
		int64_t		g = row[u];

		for (int64_t p = starts[g]; p < starts[g + 1]; p++)
			dense[cmap[data->label[order[p]]]] += 1.;
		keys[u].neg_std = -RowStd(dense, C, scratch);
		keys[u].pos = u;
		for (int64_t p = starts[g]; p < starts[g + 1]; p++)
			dense[cmap[data->label[order[p]]]] = 0.;
	}
	qsort(keys, (size_t) G, sizeof(StdKey), StdKeyCmp);

	memset(fc, 0, sizeof(double) * (size_t) K * (size_t) C);
	for (int32_t c = 0; c < C; c++)
		base[c] = 0.;			/* std of all-zero columns */
	for (int64_t t = 0; t < G; t++)
	{
		int64_t		u = keys[t].pos,
					g = row[u];
		int32_t		nt = 0,
					best = -1;
		double		min_eval = INFINITY,
					min_samples = INFINITY;

		for (int64_t p = starts[g]; p < starts[g + 1]; p++)
		{
			int32_t		c = cmap[data->label[order[p]]];

			if (dense[c] == 0.)
				touched[nt++] = c;
			dense[c] += 1.;
		}
		for (int32_t f = 0; f < K; f++)
		{
			double	   *ff = fc + (size_t) f * C;
			double		eval,
						samples;

			/* classes the group does not touch keep their std */
			memcpy(stdc, base, sizeof(double) * (size_t) C);
			for (int32_t q = 0; q < nt; q++)
			{
				int32_t		c = touched[q];

				for (int32_t k = 0; k < K; k++)
					colv[k] = (fc[(size_t) k * C + c] + (k == f ? dense[c] : 0.)) / (double) ycnt[c];
				stdc[c] = ColumnStd(colv, K, C, scratch);
			}
			eval = PairwiseSum(stdc, C) / (double) C;
			/* np.sum(y_counts_per_fold[f]) while the group is not in it */
			samples = PairwiseSum(ff, C);
			if (eval < min_eval || (IsClose(eval, min_eval) && samples < min_samples))
			{
				min_eval = eval;
				min_samples = samples;
				best = f;
			}
		}
		if (best < 0)
		{
			errbuf_printf(err, errlen, "internal error: no fold for group %lld", (long long) u);
			goto done;
		}
		/* into the best fold: its counts, then the touched classes' std */
		for (int32_t q = 0; q < nt; q++)
		{
			int32_t		c = touched[q];

			fc[(size_t) best * C + c] += dense[c];
			dense[c] = 0.;
			for (int32_t k = 0; k < K; k++)
				colv[k] = fc[(size_t) k * C + c] / (double) ycnt[c];
			base[c] = ColumnStd(colv, K, C, scratch);
		}
		/* the row's position names the group (scikit-learn 1.2) */
		fold[u] = best;
	}
	for (int64_t i = 0; i < n; i++)
		out[i] = fold[map[data->group[i]]];
	expect->grouped = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, map);
	mlops_free(alloc, cmap);
	mlops_free(alloc, fold);
	mlops_free(alloc, touched);
	mlops_free(alloc, starts);
	mlops_free(alloc, order);
	mlops_free(alloc, row);
	mlops_free(alloc, ycnt);
	mlops_free(alloc, fc);
	mlops_free(alloc, base);
	mlops_free(alloc, stdc);
	mlops_free(alloc, dense);
	mlops_free(alloc, scratch);
	mlops_free(alloc, colv);
	mlops_free(alloc, keys);
	return rc;
}

int
split_sklearn_group_kfold(const SplitData *data, const SplitSpec *spec, int32_t *out,
						  SplitExpect *expect, const mlops_allocator *alloc,
						  char *err, size_t errlen)
{
	if (data->label)
		return SklearnStratifiedGroupKFold(data, spec, out, expect, alloc, err, errlen);
	return SklearnGroupKFold(data, spec, out, expect, alloc, err, errlen);
}
