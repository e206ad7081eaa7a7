/*
 * split_iterative.c
 *	  Kernel: SPLIT_ITERATIVE, iterative stratification for multilabel data
 *	  (Sechidis, Tsoumakas and Vlahavas, "On the stratification of
 *	  multi-label data", ECML PKDD 2011, algorithm 1), over items or, when
 *	  groups are given, over whole groups (a group carries the labels of all
 *	  its items, with multiplicity, and its size).
 *
 *	  Sides and targets as in split_group.c: train / test / neither with
 *	  item targets T_s from the size rules, or KFold's fold sizes.  Desired
 *	  counts: c_s = T_s items, c_sl = D_l * T_s / n for label l with D_l
 *	  items.  Then, while labelled units are left:
 *	    - take the label l with the fewest items not yet placed (ties by a
 *	      seeded random rank of the labels; a scan over few labels, a
 *	      binary heap with lazy updates over many);
 *	    - place each unplaced unit that has l, in a seeded random order of
 *	      the units, on the side with the largest c_sl; ties by the largest
 *	      c_s; remaining ties at random (numpy-compatible draws);
 *	    - lower c_sl' by the unit's count of l' for each of its labels l',
 *	      and c_s by its size.
 *	  Units without labels go last to the side with the largest c_s.  Sides
 *	  with T_s = 0 get nothing; when the sides that must not stay empty
 *	  (train and test, or every fold) are as many as the units left, the
 *	  unit goes to one of them.
 *
 *	  Each label is chosen once (its units are all placed when it is done),
 *	  so the cost is O(min(L^2, (L + nnz) log(L + nnz)) + nnz * sides + n)
 *	  with nnz the (unit, label) pairs, O(n + nnz + L * sides) memory.
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "datasets/rng.h"
#include "datasets/split_private.h"

/*
 * PickSide
 *		The side for a unit that has label l (l < 0: no label): largest
 *		c_sl, then largest c_s, then at random.
 */
static int32_t
PickSide(int32_t S, int32_t L, int32_t l, const double *csl, const double *cs,
		 const int64_t *T, const char *must, const int64_t *filled, int forced,
		 mt_state *rng, int32_t *tied)
{
	int32_t		s,
				nt = 0;
	double		b1 = 0,
				b2 = 0;

	for (s = 0; s < S; s++)
	{
		double		v1 = l >= 0 ? csl[(size_t) s * L + l] : 0;
		double		v2 = cs[s];

		if (T[s] == 0 || (forced && !(must[s] && filled[s] == 0)))
			continue;
		if (nt == 0 || v1 > b1 || (v1 == b1 && v2 > b2))
		{
			nt = 0;
			b1 = v1;
			b2 = v2;
		}
		else if (v1 != b1 || v2 != b2)
			continue;
		tied[nt++] = s;
	}
	if (nt == 0)
		return -1;
	return nt == 1 ? tied[0] : tied[mt_interval(rng, (uint64_t) (nt - 1))];
}


/* Up to this many labels the next label is found by a scan, above by a heap. */
#define ITERATIVE_SCAN_LABELS 512

/* A label in the heap of labels by items left: (left, rank), smallest first. */
typedef struct LabelEntry
{
	int64_t		left;
	uint32_t	rank;
	int32_t		l;
} LabelEntry;

static inline int
LabelLess(const LabelEntry *a, const LabelEntry *b)
{
	return a->left < b->left || (a->left == b->left && a->rank < b->rank);
}

/* HeapPush: adds e to the binary heap h of *len entries (room guaranteed). */
static void
HeapPush(LabelEntry *h, int64_t *len, LabelEntry e)
{
	int64_t		i = (*len)++;

	while (i > 0 && LabelLess(&e, &h[(i - 1) / 2]))
	{
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}

/* HeapPop: removes and returns the smallest entry (*len > 0). */
static LabelEntry
HeapPop(LabelEntry *h, int64_t *len)
{
	LabelEntry	top = h[0],
				last = h[--(*len)];
	int64_t		i = 0;

	for (;;)
	{
		int64_t		c = 2 * i + 1;

		if (c >= *len)
			break;
		if (c + 1 < *len && LabelLess(&h[c + 1], &h[c]))
			c++;
		if (!LabelLess(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*len > 0)
		h[i] = last;
	return top;
}

int
split_iterative(const SplitData *data, const SplitSpec *spec, int32_t *out,
				SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n,
				i,
				j,
				nnz = 0,
				left;
	int32_t		L = data->n_classes,
				S = spec->folds >= 2 ? spec->folds : 3,
				s,
				l;
	int64_t		U = n;
	const int64_t *off = data->ml_offsets;
	int64_t    *T = NULL,
			   *filled = NULL,
			   *stamp = NULL,
			   *gstarts = NULL,
			   *gorder = NULL,
			   *usize = NULL,
			   *uoff = NULL,
			   *ucnt = NULL,
			   *perm = NULL,
			   *loff = NULL,
			   *lunits = NULL,
			   *remaining = NULL,
			   *D = NULL;
	int32_t    *ulab = NULL,
			   *gmap = NULL,
			   *assigned = NULL,
			   *tied = NULL;
	uint32_t   *lrank = NULL;
	LabelEntry *heap = NULL;
	int64_t		hlen = 0;
	int			use_heap = L > ITERATIVE_SCAN_LABELS;
	double	   *csl = NULL,
			   *cs = NULL;
	char	   *must = NULL;
	int32_t		empty_must = 0;
	mt_state	rng;
	int			rc = -1;

	if (!off || !data->ml_labels)
	{
		errbuf_printf(err, errlen, "SPLIT_ITERATIVE needs multilabel data (ml_offsets, ml_labels)");
		return -1;
	}
	if (L < 1)
	{
		errbuf_printf(err, errlen, "SPLIT_ITERATIVE needs at least one label, not %d", (int) L);
		return -1;
	}
	T = mlops_alloc(alloc, sizeof(int64_t) * (size_t) S);
	filled = mlops_alloc(alloc, sizeof(int64_t) * (size_t) S);
	must = mlops_alloc(alloc, (size_t) S);
	cs = mlops_alloc(alloc, sizeof(double) * (size_t) S);
	tied = mlops_alloc(alloc, sizeof(int32_t) * (size_t) S);
	stamp = mlops_alloc(alloc, sizeof(int64_t) * (size_t) L);
	D = mlops_alloc(alloc, sizeof(int64_t) * (size_t) L);
	if (!T || !filled || !must || !cs || !tied || !stamp || !D)
		goto oom;

	/* the label lists: in range, ascending offsets, no label twice per item */
	if (off[0] != 0)
	{
		errbuf_printf(err, errlen, "ml_offsets[0] must be 0, not %lld", (long long) off[0]);
		goto done;
	}
	for (l = 0; l < L; l++)
	{
		stamp[l] = -1;
		D[l] = 0;
	}
	for (i = 0; i < n; i++)
	{
		if (off[i + 1] < off[i])
		{
			errbuf_printf(err, errlen, "ml_offsets decrease at item %lld", (long long) i);
			goto done;
		}
		for (j = off[i]; j < off[i + 1]; j++)
		{
			int32_t		lab = data->ml_labels[j];

			if (lab < 0 || lab >= L)
			{
				errbuf_printf(err, errlen, "item %lld has label %d, outside 0..%d",
							  (long long) i, (int) lab, (int) L - 1);
				goto done;
			}
			if (stamp[lab] == i)
			{
				errbuf_printf(err, errlen, "item %lld lists label %d twice", (long long) i, (int) lab);
				goto done;
			}
			stamp[lab] = i;
			D[lab]++;
		}
	}
	nnz = off[n];
	if (nnz == 0)
	{
		errbuf_printf(err, errlen, "SPLIT_ITERATIVE: no item has a label (the label set is empty)");
		goto done;
	}

	/* sides */
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
		filled[s] = 0;
		cs[s] = (double) T[s];
		empty_must += must[s];
	}

	/* units: items, or the non-empty groups */
	if (data->group)
	{
		int32_t		g;

		if (split_bucket(data->group, n, data->n_groups, &gstarts, &gorder, alloc) != 0)
			goto oom;
		gmap = mlops_alloc(alloc, sizeof(int32_t) * (size_t) data->n_groups);
		if (!gmap)
			goto oom;
		U = 0;
		for (g = 0; g < data->n_groups; g++)
			gmap[g] = gstarts[g + 1] > gstarts[g] ? (int32_t) U++ : -1;
	}
	if (U < empty_must)
	{
		errbuf_printf(err, errlen, "%lld %s cannot fill %d %s", (long long) U,
					  data->group ? "non-empty groups" : "items", (int) empty_must,
					  spec->folds >= 2 ? "folds" : "sides (train and test)");
		goto done;
	}
	usize = mlops_alloc(alloc, sizeof(int64_t) * (size_t) U);
	uoff = mlops_alloc(alloc, sizeof(int64_t) * ((size_t) U + 1));
	ulab = mlops_alloc(alloc, sizeof(int32_t) * (size_t) nnz);
	ucnt = mlops_alloc(alloc, sizeof(int64_t) * (size_t) nnz);
	if (!usize || !uoff || !ulab || !ucnt)
		goto oom;
	uoff[0] = 0;
	if (!data->group)
	{
		for (i = 0; i < n; i++)
		{
			usize[i] = 1;
			uoff[i + 1] = off[i + 1];
		}
		for (j = 0; j < nnz; j++)
		{
			ulab[j] = data->ml_labels[j];
			ucnt[j] = 1;
		}
	}
	else
	{
		/* a group's labels with their counts; stamp[] marks the slot */
		int64_t		p = 0,
					u = 0;
		int32_t		g;

		for (l = 0; l < L; l++)
			stamp[l] = -1;
		for (g = 0; g < data->n_groups; g++)
		{
			int64_t		first = p;

			if (gmap[g] < 0)
				continue;
			for (i = gstarts[g]; i < gstarts[g + 1]; i++)
			{
				int64_t		it = gorder[i];

				for (j = off[it]; j < off[it + 1]; j++)
				{
					int32_t		lab = data->ml_labels[j];

					if (stamp[lab] < first)
					{
						stamp[lab] = p;
						ulab[p] = lab;
						ucnt[p++] = 0;
					}
					ucnt[stamp[lab]]++;
				}
			}
			usize[u] = gstarts[g + 1] - gstarts[g];
			uoff[++u] = p;
		}
		nnz = p;
	}

	/* label -> units, the units in a seeded random order */
	mt_seed(&rng, spec->seed);
	perm = mlops_alloc(alloc, sizeof(int64_t) * (size_t) U);
	loff = mlops_alloc(alloc, sizeof(int64_t) * ((size_t) L + 1));
	lunits = mlops_alloc(alloc, sizeof(int64_t) * (size_t) nnz);
	remaining = mlops_alloc(alloc, sizeof(int64_t) * (size_t) L);
	lrank = mlops_alloc(alloc, sizeof(uint32_t) * (size_t) L);
	csl = mlops_alloc(alloc, sizeof(double) * (size_t) L * (size_t) S);
	assigned = mlops_alloc(alloc, sizeof(int32_t) * (size_t) U);
	if (use_heap)
		heap = mlops_alloc(alloc, sizeof(LabelEntry) * ((size_t) L + (size_t) nnz));
	if (!perm || !loff || !lunits || !remaining || !lrank || !csl || !assigned ||
		(use_heap && !heap))
		goto oom;
	mt_permutation(&rng, perm, U);
	memset(loff, 0, sizeof(int64_t) * ((size_t) L + 1));
	for (j = 0; j < nnz; j++)
		loff[ulab[j] + 1]++;
	for (l = 0; l < L; l++)
		loff[l + 1] += loff[l];
	memcpy(stamp, loff, sizeof(int64_t) * (size_t) L);	/* fill pointers */
	for (i = 0; i < U; i++)
	{
		int64_t		u = perm[i];

		assigned[u] = -1;
		for (j = uoff[u]; j < uoff[u + 1]; j++)
			lunits[stamp[ulab[j]]++] = u;
	}
	for (l = 0; l < L; l++)
	{
		remaining[l] = D[l];
		lrank[l] = mt_next32(&rng);
		for (s = 0; s < S; s++)
			csl[(size_t) s * L + l] = (double) D[l] * (double) T[s] / (double) n;
		if (use_heap && D[l] > 0)
		{
			LabelEntry	e = {D[l], lrank[l], l};

			HeapPush(heap, &hlen, e);
		}
	}

	left = U;
	for (;;)
	{
		int32_t		lab = -1;

		/*
		 * The label with the fewest items left: a scan for few labels, else
		 * the heap, whose stale entries are skipped.  Both order by (items
		 * left, rank), so they choose the same label.
		 */
		if (!use_heap)
		{
			for (l = 0; l < L; l++)
				if (remaining[l] > 0 &&
					(lab < 0 || remaining[l] < remaining[lab] ||
					 (remaining[l] == remaining[lab] && lrank[l] < lrank[lab])))
					lab = l;
		}
		else
			while (hlen > 0)
			{
				LabelEntry	e = HeapPop(heap, &hlen);

				if (remaining[e.l] > 0 && remaining[e.l] == e.left)
				{
					lab = e.l;
					break;
				}
			}
		if (lab < 0)
			break;
		for (j = loff[lab]; j < loff[lab + 1]; j++)
		{
			int64_t		u = lunits[j],
						k;
			int32_t		side;

			if (assigned[u] >= 0)
				continue;
			side = PickSide(S, L, lab, csl, cs, T, must, filled,
							empty_must > 0 && empty_must >= left, &rng, tied);
			if (side < 0)
				goto bug;
			assigned[u] = side;
			if (must[side] && filled[side] == 0)
				empty_must--;
			filled[side] += usize[u];
			cs[side] -= (double) usize[u];
			left--;
			for (k = uoff[u]; k < uoff[u + 1]; k++)
			{
				int32_t		l2 = ulab[k];

				csl[(size_t) side * L + l2] -= (double) ucnt[k];
				remaining[l2] -= ucnt[k];
				if (use_heap && l2 != lab && remaining[l2] > 0)
				{
					LabelEntry	e = {remaining[l2], lrank[l2], l2};

					HeapPush(heap, &hlen, e);
				}
			}
		}
		if (remaining[lab] != 0)
			goto bug;
	}
	for (i = 0; i < U; i++)
	{
		int64_t		u = perm[i];
		int32_t		side;

		if (assigned[u] >= 0)
			continue;
		side = PickSide(S, L, -1, csl, cs, T, must, filled,
						empty_must > 0 && empty_must >= left, &rng, tied);
		if (side < 0)
			goto bug;
		assigned[u] = side;
		if (must[side] && filled[side] == 0)
			empty_must--;
		filled[side] += usize[u];
		cs[side] -= (double) usize[u];
		left--;
	}
	for (i = 0; i < n; i++)
		out[i] = assigned[data->group ? gmap[data->group[i]] : i];
	expect->grouped = data->group != NULL;
	expect->nonempty = 1;
	rc = 0;
	goto done;
oom:
	errbuf_printf(err, errlen, "out of memory");
	goto done;
bug:
	errbuf_printf(err, errlen, "internal error in iterative stratification");
done:
	mlops_free(alloc, T);
	mlops_free(alloc, filled);
	mlops_free(alloc, must);
	mlops_free(alloc, cs);
	mlops_free(alloc, tied);
	mlops_free(alloc, stamp);
	mlops_free(alloc, D);
	mlops_free(alloc, gstarts);
	mlops_free(alloc, gorder);
	mlops_free(alloc, gmap);
	mlops_free(alloc, usize);
	mlops_free(alloc, uoff);
	mlops_free(alloc, ulab);
	mlops_free(alloc, ucnt);
	mlops_free(alloc, perm);
	mlops_free(alloc, loff);
	mlops_free(alloc, lunits);
	mlops_free(alloc, remaining);
	mlops_free(alloc, lrank);
	mlops_free(alloc, csl);
	mlops_free(alloc, assigned);
	mlops_free(alloc, heap);
	return rc;
}
