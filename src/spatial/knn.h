/*
 * knn.h
 *	  Kernel: the list of the k nearest candidates that the k-d tree
 *	  (kdtree.c) and the bucket grid (buckets.c) fill, so that both give the
 *	  same answer, bit for bit: the candidates in the order (d^2, input
 *	  index).  Up to KNN_SORTED_MAX candidates are kept in a sorted array
 *	  (cheap for small k, already in output order), more in a bounded
 *	  max-heap sorted at the end.  Static inline: the searches call it once
 *	  a point.  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_KNN_H
#define MLOPS_KNN_H

#include <stdbool.h>
#include <stddef.h>

/* Lists of at most this many candidates are kept sorted, not as a heap. */
#define KNN_SORTED_MAX 64

/* Inlined into the searches, so that their state stays in registers. */
#if defined(__GNUC__) || defined(__clang__)
#define KNN_INLINE static inline __attribute__((always_inline))
#else
#define KNN_INLINE static inline
#endif

/* The k nearest candidates so far, in caller-owned arrays of k entries. */
typedef struct knn_list
{
	size_t	   *idx;			/* input indices */
	double	   *d2;				/* squared distances */
	size_t		k;
	size_t		len;			/* candidates held */
	bool		sorted;			/* k <= KNN_SORTED_MAX: sorted array, else max-heap */
	double		worst;			/* the k-th candidate's d^2, or the bound until there are k */
} knn_list;

/*
 * knn_before is the candidate order: by squared distance, then by index.
 */
static inline bool
knn_before(double da, size_t ia, double db, size_t ib)
{
	return da < db || (da == db && ia < ib);
}

/*
 * knn_sift_down restores the max-heap (idx, d2)[0, len) from position pos.
 */
static inline void
knn_sift_down(size_t *idx, double *d2, size_t len, size_t pos)
{
	for (;;)
	{
		size_t		l = 2 * pos + 1;
		size_t		r = l + 1;
		size_t		big = pos;

		if (l < len && knn_before(d2[big], idx[big], d2[l], idx[l]))
			big = l;
		if (r < len && knn_before(d2[big], idx[big], d2[r], idx[r]))
			big = r;
		if (big == pos)
			return;
		{
			size_t		ti = idx[pos];
			double		td = d2[pos];

			idx[pos] = idx[big];
			d2[pos] = d2[big];
			idx[big] = ti;
			d2[big] = td;
		}
		pos = big;
	}
}

/*
 * knn_offer_heap considers point i at squared distance d for the bounded
 * max-heap of at most k candidates held in idx/d2, of size len; returns
 * its new size.
 */
KNN_INLINE size_t
knn_offer_heap(size_t *idx, double *d2, size_t len, size_t k, size_t i, double d)
{
	if (len < k)
	{
		/* sift up */
		size_t		pos = len++;

		while (pos > 0)
		{
			size_t		parent = (pos - 1) / 2;

			if (!knn_before(d2[parent], idx[parent], d, i))
				break;
			idx[pos] = idx[parent];
			d2[pos] = d2[parent];
			pos = parent;
		}
		idx[pos] = i;
		d2[pos] = d;
	}
	else if (knn_before(d, i, d2[0], idx[0]))
	{
		idx[0] = i;
		d2[0] = d;
		knn_sift_down(idx, d2, len, 0);
	}
	return len;
}

/*
 * knn_offer_sorted is knn_offer_heap for candidates kept sorted (nearest
 * first) in idx/d2.
 */
KNN_INLINE size_t
knn_offer_sorted(size_t *idx, double *d2, size_t len, size_t k, size_t i, double d)
{
	size_t		pos;

	if (len < k)
		pos = len++;
	else if (knn_before(d, i, d2[k - 1], idx[k - 1]))
		pos = k - 1;
	else
		return len;
	while (pos > 0 && knn_before(d, i, d2[pos - 1], idx[pos - 1]))
	{
		d2[pos] = d2[pos - 1];
		idx[pos] = idx[pos - 1];
		pos--;
	}
	d2[pos] = d;
	idx[pos] = i;
	return len;
}

/*
 * knn_init starts an empty list of at most k candidates (k > 0) with
 * d^2 <= bound (INFINITY: unlimited) in idx/d2.
 */
static inline void
knn_init(knn_list *l, size_t k, double bound, size_t *idx, double *d2)
{
	l->idx = idx;
	l->d2 = d2;
	l->k = k;
	l->len = 0;
	l->sorted = k <= KNN_SORTED_MAX;
	l->worst = bound;
}

/*
 * knn_add offers point i (input index) at squared distance d, and keeps
 * l->worst up to date: a search may skip whatever lies beyond it (never on
 * equality, so that ties go by index).
 */
KNN_INLINE void
knn_add(knn_list *l, size_t i, double d)
{
	if (d <= l->worst)
	{
		if (l->sorted)
			l->len = knn_offer_sorted(l->idx, l->d2, l->len, l->k, i, d);
		else
			l->len = knn_offer_heap(l->idx, l->d2, l->len, l->k, i, d);
		if (l->len == l->k)
			l->worst = l->sorted ? l->d2[l->k - 1] : l->d2[0];
	}
}

/*
 * knn_finish puts the candidates in output order, nearest first (a heap
 * sort: repeatedly move the largest to the end), and returns how many
 * there are.
 */
static inline size_t
knn_finish(knn_list *l)
{
	size_t	   *idx = l->idx;
	double	   *d2 = l->d2;

	for (size_t end = l->sorted ? 0 : l->len; end > 1; end--)
	{
		size_t		ti = idx[0];
		double		td = d2[0];

		idx[0] = idx[end - 1];
		d2[0] = d2[end - 1];
		idx[end - 1] = ti;
		d2[end - 1] = td;
		knn_sift_down(idx, d2, end - 1, 0);
	}
	return l->len;
}

#endif							/* MLOPS_KNN_H */
