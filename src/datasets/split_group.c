/*
 * split_group.c
 *	  Kernel: SPLIT_GROUP and SPLIT_STRATIFIED_GROUP (see split.h).  Whole
 *	  groups are placed, so no group is ever on two sides.
 *
 *	  Sides: one split has train, test and neither with item targets
 *	  T = (n_train, n_test, n - n_train - n_test) from the size rules; folds
 *	  have KFold's fold sizes as targets.  Per class c with m_c items the
 *	  target of side s is D_sc = m_c * T_s / n.
 *
 *	  Order: the non-empty groups sorted by size descending, ties by a
 *	  seeded random rank (numpy's permutation of the groups), so the big
 *	  groups are placed while there is room and the many small ones last
 *	  even out what is left.
 *
 *	  Placement: group g (size z, class histogram h) goes to the side s
 *	  with T_s > 0 that least increases the weighted squared error
 *	      Q = sum_s (1 / T_s) * ((cur_s - T_s)^2 + sum_c (cur_sc - D_sc)^2)
 *	  (the class terms only for SPLIT_STRATIFIED_GROUP).  The increase is
 *	      (z^2 + sum_c h_c^2 - 2 (z R_s + sum_c h_c d_sc)) / T_s
 *	  with R_s = T_s - cur_s and d_sc = D_sc - cur_sc the remaining demands,
 *	  so one group costs O(classes in g) per side, never O(n_classes).
 *	  Weighting by 1 / T_s makes an item of error count as much in share
 *	  terms on a small side as on a big one.  Ties go to the lower side.
 *	  When the empty sides that must not stay empty (train and test; every
 *	  fold) are as many as the groups left, the group goes to one of them,
 *	  so none stays empty.
 *
 *	  Cost: O(n + G log G + n_items_sides) time, O(n + G + sides * C) memory.
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "datasets/rng.h"
#include "datasets/split_private.h"

/* A group in placement order. */
typedef struct GroupKey
{
	int64_t		size;
	int64_t		rank;
	int32_t		g;
} GroupKey;

static int
GroupKeyCmp(const void *a, const void *b)
{
	const GroupKey *x = a,
			   *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->rank < y->rank ? -1 : (x->rank > y->rank);
}

/*
 * SortGroupKeys puts keys[0..G) in GroupKeyCmp's order: size descending,
 * then rank (a permutation of 0..G-1) ascending.  Ranks are distinct, so
 * the order is total; a counting sort by size over the keys taken in rank
 * order gives it in linear time when sizes are not much larger than G (the
 * usual case: many small groups), else qsort.  Returns 0 or -1 (out of
 * memory).
 */
static int
SortGroupKeys(GroupKey *keys, int32_t G, const mlops_allocator *alloc)
{
	int64_t		maxsize = 0;
	int64_t    *count;
	GroupKey   *byrank;
	int32_t		u;

	for (u = 0; u < G; u++)
		if (keys[u].size > maxsize)
			maxsize = keys[u].size;
	if (G < 2 || maxsize > 4 * (int64_t) G + 1024)
	{
		if (G > 1)
			qsort(keys, (size_t) G, sizeof(GroupKey), GroupKeyCmp);
		return 0;
	}
	count = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (maxsize + 2));
	byrank = mlops_alloc(alloc, sizeof(GroupKey) * (size_t) G);
	if (!count || !byrank)
	{
		mlops_free(alloc, count);
		mlops_free(alloc, byrank);
		return -1;
	}
	for (u = 0; u < G; u++)
		byrank[keys[u].rank] = keys[u];
	/* start of each size, largest first */
	memset(count, 0, sizeof(int64_t) * (size_t) (maxsize + 2));
	for (u = 0; u < G; u++)
		count[maxsize - byrank[u].size + 1]++;
	for (int64_t k = 1; k <= maxsize + 1; k++)
		count[k] += count[k - 1];
	for (u = 0; u < G; u++)
		keys[count[maxsize - byrank[u].size]++] = byrank[u];
	mlops_free(alloc, count);
	mlops_free(alloc, byrank);
	return 0;
}

int
split_grouped(const SplitData *data, const SplitSpec *spec, int32_t *out,
			  SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int			strat = spec->method == SPLIT_STRATIFIED_GROUP;
	int64_t		n = data->n,
				i;
	int32_t		S = spec->folds >= 2 ? spec->folds : 3;
	int32_t		C = strat ? data->n_classes : 0;
	int32_t		G = 0,
				s,
				c,
				u;
	int64_t    *starts = NULL,
			   *order = NULL,
			   *T = NULL,
			   *cur = NULL,
			   *cursc = NULL,
			   *m = NULL,
			   *h = NULL,
			   *perm = NULL;
	int32_t    *touched = NULL,
			   *side = NULL;
	char	   *must = NULL;
	GroupKey   *keys = NULL;
	int32_t		empty_must = 0;
	mt_state	rng;
	int			rc = -1;

	if (!data->group)
	{
		errbuf_printf(err, errlen, "%s needs groups",
					  strat ? "SPLIT_STRATIFIED_GROUP" : "SPLIT_GROUP");
		return -1;
	}
	if (strat && !data->label)
	{
		errbuf_printf(err, errlen, "SPLIT_STRATIFIED_GROUP needs labels");
		return -1;
	}
	T = mlops_alloc(alloc, sizeof(int64_t) * (size_t) S);
	cur = mlops_alloc(alloc, sizeof(int64_t) * (size_t) S);
	must = mlops_alloc(alloc, (size_t) S);
	if (!T || !cur || !must)
		goto oom;
	if (spec->folds >= 2)
	{
		for (s = 0; s < S; s++)
		{
			T[s] = split_fold_size(n, S, s);
			must[s] = 1;
		}
	}
	else
	{
		int64_t		n_train,
					n_test;

		if (split_resolve_sizes(n, spec->test_size, spec->train_size, &n_train, &n_test, err, errlen) != 0)
			goto done;
		T[SPLIT_TRAIN] = n_train;
		T[SPLIT_TEST] = n_test;
		T[SPLIT_NEITHER] = n - n_train - n_test;
		must[SPLIT_TRAIN] = must[SPLIT_TEST] = 1;
		must[SPLIT_NEITHER] = 0;
	}
	for (s = 0; s < S; s++)
	{
		cur[s] = 0;
		empty_must += must[s];
	}

	if (split_bucket(data->group, n, data->n_groups, &starts, &order, alloc) != 0)
		goto oom;
	keys = mlops_alloc(alloc, sizeof(GroupKey) * (size_t) data->n_groups);
	perm = mlops_alloc(alloc, sizeof(int64_t) * (size_t) data->n_groups);
	side = mlops_alloc(alloc, sizeof(int32_t) * (size_t) data->n_groups);
	if (!keys || !perm || !side)
		goto oom;
	for (u = 0; u < data->n_groups; u++)
		if (starts[u + 1] > starts[u])
			G++;
	if (G < empty_must)
	{
		errbuf_printf(err, errlen, "%d non-empty groups cannot fill %d %s", (int) G, (int) empty_must,
					  spec->folds >= 2 ? "folds" : "sides (train and test)");
		goto done;
	}
	mt_seed(&rng, spec->seed);
	mt_permutation(&rng, perm, G);
	G = 0;
	for (u = 0; u < data->n_groups; u++)
		if (starts[u + 1] > starts[u])
		{
			keys[G].size = starts[u + 1] - starts[u];
			keys[G].rank = perm[G];
			keys[G].g = u;
			G++;
		}
	if (SortGroupKeys(keys, G, alloc) != 0)
		goto oom;

	if (strat)
	{
		m = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
		h = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
		touched = mlops_alloc(alloc, sizeof(int32_t) * (size_t) C);
		cursc = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C * (size_t) S);
		if (!m || !h || !touched || !cursc)
			goto oom;
		memset(m, 0, sizeof(int64_t) * (size_t) C);
		memset(h, 0, sizeof(int64_t) * (size_t) C);
		memset(cursc, 0, sizeof(int64_t) * (size_t) C * (size_t) S);
		for (i = 0; i < n; i++)
			m[data->label[i]]++;
	}

	for (u = 0; u < G; u++)
	{
		int32_t		g = keys[u].g;
		int64_t		z = keys[u].size;
		int32_t		nt = 0,
					best = -1;
		double		h2 = (double) z * (double) z,
					bestcost = 0;
		int			forced = empty_must > 0 && empty_must >= G - u;

		if (strat)
		{
			for (i = starts[g]; i < starts[g + 1]; i++)
			{
				c = data->label[order[i]];
				if (h[c]++ == 0)
					touched[nt++] = c;
			}
			for (c = 0; c < nt; c++)
				h2 += (double) h[touched[c]] * (double) h[touched[c]];
		}
		for (s = 0; s < S; s++)
		{
			double		score,
						cost;

			if (T[s] == 0 || (forced && !(must[s] && cur[s] == 0)))
				continue;
			score = (double) z * (double) (T[s] - cur[s]);
			if (strat)
			{
				const int64_t *cs = cursc + (size_t) s * C;
				double		frac = (double) T[s] / (double) n;

				for (c = 0; c < nt; c++)
				{
					int32_t		k = touched[c];

					score += (double) h[k] * ((double) m[k] * frac - (double) cs[k]);
				}
			}
			cost = (h2 - 2 * score) / (double) T[s];
			if (best < 0 || cost < bestcost)
			{
				best = s;
				bestcost = cost;
			}
		}
		if (best < 0)
		{
			errbuf_printf(err, errlen, "internal error: no side for group %d", (int) g);
			goto done;
		}
		if (must[best] && cur[best] == 0)
			empty_must--;
		cur[best] += z;
		side[g] = best;
		if (strat)
		{
			int64_t    *cs = cursc + (size_t) best * C;

			for (c = 0; c < nt; c++)
			{
				cs[touched[c]] += h[touched[c]];
				h[touched[c]] = 0;
			}
		}
	}
	for (i = 0; i < n; i++)
		out[i] = side[data->group[i]];
	expect->grouped = 1;
	expect->nonempty = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, T);
	mlops_free(alloc, cur);
	mlops_free(alloc, must);
	mlops_free(alloc, starts);
	mlops_free(alloc, order);
	mlops_free(alloc, keys);
	mlops_free(alloc, perm);
	mlops_free(alloc, side);
	mlops_free(alloc, m);
	mlops_free(alloc, h);
	mlops_free(alloc, touched);
	mlops_free(alloc, cursc);
	return rc;
}
