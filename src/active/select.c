/*
 * select.c
 *	  Kernel: the per-row active-learning strategies (see select.h for the
 *	  contract): probability checks, scores, and the bounded heap that keeps
 *	  the best k rows of a stream.
 *
 *	  The heap is a binary min-heap on "goodness": its root is the worst
 *	  entry held, so a new entry is compared with one value and, when
 *	  better, replaces the root and sifts down (O(log k)).  "Better" is a
 *	  strict total order on (score, id) pairs (higher score, then lower
 *	  id), so the set kept, and hence the result, does not depend on the
 *	  order of the offers: it is always the k best of everything offered.
 *	  That is also why a merge (offering one heap's entries to another)
 *	  equals one heap over both streams.
 *
 *	  Pure C: no PostgreSQL headers; memory through mlops_allocator.
 */
#include "active/select.h"

#include <math.h>
#include <stdlib.h>

#include "active/select_private.h"
#include "util/errbuf.h"
#include "metrics/uncertainty.h"

typedef struct SelectEntry
{
	double		score;
	int64_t		id;
} SelectEntry;

struct SelectHeap
{
	const mlops_allocator *a;
	int64_t		k;				/* the most entries kept */
	int64_t		count;			/* entries held */
	int64_t		cap;			/* entries allocated */
	SelectEntry *e;
};

/* entry_better: does x come before y in the result? */
static inline int
entry_better(const SelectEntry *x, const SelectEntry *y)
{
	if (x->score != y->score)
		return x->score > y->score;
	return x->id < y->id;
}

/* heap_sift_down restores the heap below position i (the worst at the root). */
static void
heap_sift_down(SelectHeap *h, int64_t i)
{
	SelectEntry item = h->e[i];

	for (;;)
	{
		int64_t		child = 2 * i + 1;

		if (child >= h->count)
			break;
		/* the worse of the two children */
		if (child + 1 < h->count && entry_better(&h->e[child], &h->e[child + 1]))
			child++;
		if (!entry_better(&item, &h->e[child]))
			break;
		h->e[i] = h->e[child];
		i = child;
	}
	h->e[i] = item;
}

/* heap_sift_up moves position i up while it is worse than its parent. */
static void
heap_sift_up(SelectHeap *h, int64_t i)
{
	SelectEntry item = h->e[i];

	while (i > 0)
	{
		int64_t		parent = (i - 1) / 2;

		if (!entry_better(&h->e[parent], &item))
			break;
		h->e[i] = h->e[parent];
		i = parent;
	}
	h->e[i] = item;
}

SelectHeap *
select_heap_create(int64_t k, const mlops_allocator *a)
{
	SelectHeap *h;

	if (k < 1 || a == NULL || (uint64_t) k > SIZE_MAX / sizeof(SelectEntry))
		return NULL;
	h = mlops_alloc(a, sizeof(SelectHeap));
	if (h == NULL)
		return NULL;
	h->a = a;
	h->k = k;
	h->count = 0;
	h->cap = 0;
	h->e = NULL;
	return h;
}

int
select_heap_offer(SelectHeap *h, double score, int64_t id)
{
	SelectEntry item;

	if (isnan(score))
		return 0;
	item.score = score;
	item.id = id;
	if (h->count < h->k)
	{
		if (h->count == h->cap)
		{
			int64_t		cap = h->cap ? h->cap * 2 : 64;
			SelectEntry *e;

			if (cap > h->k)
				cap = h->k;
			e = mlops_realloc(h->a, h->e, (size_t) cap * sizeof(SelectEntry));
			if (e == NULL)
				return -1;
			h->e = e;
			h->cap = cap;
		}
		h->e[h->count++] = item;
		heap_sift_up(h, h->count - 1);
		return 0;
	}
	if (entry_better(&item, &h->e[0]))
	{
		h->e[0] = item;
		heap_sift_down(h, 0);
	}
	return 0;
}

int
select_heap_merge(SelectHeap *into, const SelectHeap *from)
{
	for (int64_t i = 0; i < from->count; i++)
		if (select_heap_offer(into, from->e[i].score, from->e[i].id) != 0)
			return -1;
	return 0;
}

int64_t
select_heap_count(const SelectHeap *h)
{
	return h->count;
}

/* select_heap_floor: see select.h. */
double
select_heap_floor(const SelectHeap *h)
{
	if (h->count < h->k || h->count == 0)
		return -INFINITY;
	return h->e[0].score;
}

/* entry_cmp_worst_first orders worst first: a sorted array is still a valid heap. */
static int
entry_cmp_worst_first(const void *x, const void *y)
{
	const SelectEntry *ex = x;
	const SelectEntry *ey = y;

	if (entry_better(ey, ex))
		return -1;
	if (entry_better(ex, ey))
		return 1;
	return 0;
}

/*
 * select_heap_result sorts the entries worst first in place (an ascending
 * array satisfies the heap property, so the heap stays usable) and writes
 * them out in reverse.
 */
int64_t
select_heap_result(SelectHeap *h, int64_t *ids, double *scores)
{
	int64_t		n = h->count;

	if (n > 1)
		qsort(h->e, (size_t) n, sizeof(SelectEntry), entry_cmp_worst_first);
	for (int64_t i = 0; i < n; i++)
	{
		if (ids)
			ids[i] = h->e[n - 1 - i].id;
		if (scores)
			scores[i] = h->e[n - 1 - i].score;
	}
	return n;
}

void
select_heap_free(SelectHeap *h)
{
	if (h == NULL)
		return;
	mlops_free(h->a, h->e);
	mlops_free(h->a, h);
}

int
select_normalize_probs(double *p, int n, char *err, size_t errlen)
{
	double		sum = 0.0;

	for (int i = 0; i < n; i++)
	{
		if (!isfinite(p[i]) || p[i] < 0.0)
		{
			errbuf_printf(err, errlen, "value %d is %g; normalize takes finite, non-negative values",
						  i + 1, p[i]);
			return -1;
		}
		sum += p[i];
	}
	if (!(sum > 0.0) || !isfinite(sum))
	{
		errbuf_printf(err, errlen, "the values sum to %g, which normalize cannot divide by", sum);
		return -1;
	}
	for (int i = 0; i < n; i++)
		p[i] /= sum;
	return 0;
}

/*
 * CheckProbsHead: the checks of select_check_probs that come before the
 * values (shared by its double and float forms, so the reasons are one).
 */
static int
CheckProbsHead(const void *p, int n_classes, double tol, char *err, size_t errlen)
{
	if (!(tol >= 0.0 && tol <= 1.0))
	{
		errbuf_printf(err, errlen, "the tolerance must be between 0 and 1, not %g", tol);
		return -1;
	}
	if (n_classes < 1)
	{
		errbuf_printf(err, errlen, "a probability row needs at least 1 class, not %d", n_classes);
		return -1;
	}
	if (p == NULL)
	{
		errbuf_printf(err, errlen, "no probabilities given");
		return -1;
	}
	return 0;
}

/* CheckProbValue: value i (0-based) of a probability row is finite and in [0, 1]. */
static int
CheckProbValue(int i, double v, char *err, size_t errlen)
{
	if (!isfinite(v))
	{
		errbuf_printf(err, errlen, "probability %d is %g, not a finite number", i + 1, v);
		return -1;
	}
	if (v < 0.0 || v > 1.0)
	{
		errbuf_printf(err, errlen, "probability %d is %g, outside [0, 1]", i + 1, v);
		return -1;
	}
	return 0;
}

/* CheckProbSum: a row's sum (in double, in index order) is within tol per class of 1. */
static int
CheckProbSum(double sum, int n_classes, double tol, char *err, size_t errlen)
{
	if (!(fabs(sum - 1.0) <= tol * n_classes))
	{
		errbuf_printf(err, errlen, "probabilities sum to %.17g, not 1 (tolerance %g)", sum,
					  tol * n_classes);
		return -1;
	}
	return 0;
}

int
select_check_probs(const double *p, int n_classes, double tol, char *err, size_t errlen)
{
	double		sum = 0.0;

	if (CheckProbsHead(p, n_classes, tol, err, errlen) != 0)
		return -1;
	for (int i = 0; i < n_classes; i++)
	{
		if (CheckProbValue(i, p[i], err, errlen) != 0)
			return -1;
		sum += p[i];
	}
	return CheckProbSum(sum, n_classes, tol, err, errlen);
}

/* select_check_probs_f32: see select.h (each value read as a double, so the same answer). */
int
select_check_probs_f32(const float *p, int n_classes, double tol, char *err, size_t errlen)
{
	double		sum = 0.0;

	if (CheckProbsHead(p, n_classes, tol, err, errlen) != 0)
		return -1;
	for (int i = 0; i < n_classes; i++)
	{
		if (CheckProbValue(i, (double) p[i], err, errlen) != 0)
			return -1;
		sum += (double) p[i];
	}
	return CheckProbSum(sum, n_classes, tol, err, errlen);
}

/* splitmix64's finaliser (Steele, Lea and Flood 2014): a bijective 64-bit mix. */
static inline uint64_t
mix64(uint64_t z)
{
	z += UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

double
select_random_key(uint32_t seed, int64_t id)
{
	uint64_t	h = mix64(mix64((uint64_t) seed) ^ (uint64_t) id);

	return (double) (h >> 11) * (1.0 / 9007199254740992.0);
}

int
select_predicted_class(const double *p, int n_classes)
{
	int			best = 0;

	for (int i = 1; i < n_classes; i++)
		if (p[i] > p[best])
			best = i;
	return best;
}

int
select_row_score(SelectStrategy s, const double *p, int n_classes, int64_t id,
				 uint32_t seed, double tol, double *score, char *err, size_t errlen)
{
	if (s == SELECT_RANDOM)
	{
		*score = select_random_key(seed, id);
		return 0;
	}
	if (s != SELECT_ENTROPY && s != SELECT_LEAST_CONFIDENCE && s != SELECT_MARGIN)
	{
		errbuf_printf(err, errlen, "strategy %d is not a per-row strategy", (int) s);
		return -1;
	}
	if (select_check_probs(p, n_classes, tol, err, errlen) != 0)
		return -1;
	switch (s)
	{
		case SELECT_ENTROPY:
			*score = uncertainty_entropy(p, (size_t) n_classes, exp(1.0));
			break;
		case SELECT_LEAST_CONFIDENCE:
			*score = uncertainty_least_confidence(p, (size_t) n_classes);
			break;
		default:
			*score = -uncertainty_margin(p, (size_t) n_classes);
			break;
	}
	return 0;
}

/*
 * select_check_pool checks what the batch strategies share: pointers, the
 * batch size against the pool, the dimension, that n x d floats fit in
 * memory, and that every embedding is finite.  what names the matrix in
 * reasons.
 */
int
select_check_pool(const float *E, int64_t n, int d, int64_t b, const char *what,
				  char *err, size_t errlen)
{
	size_t		total;

	if (n < 1)
	{
		errbuf_printf(err, errlen, "the pool is empty");
		return -1;
	}
	if (b < 1)
	{
		errbuf_printf(err, errlen, "the batch size must be at least 1, not %lld", (long long) b);
		return -1;
	}
	if (b > n)
	{
		errbuf_printf(err, errlen, "the batch size %lld is larger than the pool (%lld items)",
					  (long long) b, (long long) n);
		return -1;
	}
	if (d < 1)
	{
		errbuf_printf(err, errlen, "the embedding dimension must be at least 1, not %d", d);
		return -1;
	}
	if (E == NULL)
	{
		errbuf_printf(err, errlen, "no %s given", what);
		return -1;
	}
	if ((uint64_t) n > SIZE_MAX / sizeof(double) / (size_t) d)
	{
		errbuf_printf(err, errlen, "%s of %lld x %d is too large", what, (long long) n, d);
		return -1;
	}
	total = (size_t) n * (size_t) d;
	for (size_t i = 0; i < total; i++)
		if (!isfinite(E[i]))
		{
			errbuf_printf(err, errlen, "%s row %lld, column %d is %g, not a finite number",
						  what, (long long) (i / (size_t) d) + 1, (int) (i % (size_t) d) + 1,
						  (double) E[i]);
			return -1;
		}
	return 0;
}

/*
 * select_check_prob_rows checks the n probability rows of P (n x c), naming
 * the first bad row.
 */
int
select_check_prob_rows(const double *P, int c, int64_t n, double tol, char *err, size_t errlen)
{
	char		why[200];

	if (c < 1)
	{
		errbuf_printf(err, errlen, "the number of classes must be at least 1, not %d", c);
		return -1;
	}
	if (P == NULL)
	{
		errbuf_printf(err, errlen, "no probabilities given");
		return -1;
	}
	if ((uint64_t) n > SIZE_MAX / sizeof(double) / (size_t) c)
	{
		errbuf_printf(err, errlen, "probabilities of %lld x %d are too large", (long long) n, c);
		return -1;
	}
	for (int64_t i = 0; i < n; i++)
		if (select_check_probs(P + (size_t) i * (size_t) c, c, tol, why, sizeof(why)) != 0)
		{
			errbuf_printf(err, errlen, "row %lld: %s", (long long) i + 1, why);
			return -1;
		}
	return 0;
}
