/*
 * badge.c
 *	  Kernel: the batch strategies that sample with k-means++'s D^2 rule:
 *	  BADGE (Ash et al. 2020) and cluster-margin (Citovsky et al. 2021),
 *	  simplified (see select.h for both contracts).
 *
 *	  BADGE without the gradient embeddings.  g_i = a_i (x) e_i is c * d
 *	  numbers per item; its squared distances factor through the two small
 *	  vectors, since <a (x) e, a' (x) e'> = (a . a')(e . e'):
 *
 *		||g_i - g_j||^2 = A_i N_i + A_j N_j - 2 (a_i . a_j)(e_i . e_j)
 *
 *	  with A = ||a||^2 and N = ||e||^2 kept per item (O(n)), and a_i . a_j =
 *	  p_i . p_j - p_i[k_j] - p_j[k_i] + [k_i == k_j] (k the argmaxes), so a
 *	  new centre costs O(n (c + d)).  Cancellation can make the difference
 *	  a little negative (or a little positive for a duplicate of a centre);
 *	  it is clamped at 0, and the D^2 weights are otherwise exact to a few
 *	  ulps of the terms.
 *
 *	  The D^2 draw (shared by both strategies, d2_draw): one
 *	  mt_random_sample u; the weights of the unpicked items are summed in
 *	  index order, and the first item whose running sum exceeds u * total
 *	  (and whose weight is positive) is taken; if rounding runs past the
 *	  end, the last item of positive weight.  No positive weight left: the
 *	  lowest unpicked index, without a draw.
 *
 *	  Pure C: no PostgreSQL headers; memory through mlops_allocator.
 */
#include "active/select.h"

#include <math.h>
#include <stdbool.h>

#include "active/select_private.h"
#include "util/errbuf.h"
#include "datasets/rng.h"
#include "metrics/uncertainty.h"

/*
 * d2_draw picks one of w[0..n) by the D^2 rule above; w[i] < 0 marks an
 * item already picked.  n >= 1 and at least one item is unpicked.
 */
static int64_t
d2_draw(mt_state *st, const double *w, int64_t n)
{
	double		total = 0.0;
	double		target;
	double		cum = 0.0;
	int64_t		last = -1;

	for (int64_t i = 0; i < n; i++)
		if (w[i] > 0.0)
			total += w[i];
	if (!(total > 0.0) || !isfinite(total))
	{
		for (int64_t i = 0; i < n; i++)
			if (w[i] >= 0.0)
				return i;
		return -1;
	}
	target = mt_random_sample(st) * total;
	for (int64_t i = 0; i < n; i++)
	{
		if (!(w[i] > 0.0))
			continue;
		cum += w[i];
		last = i;
		if (cum > target)
			return i;
	}
	return last;
}

/*
 * dot_ff: the dot product of two float vectors, in double, in four
 * independent sums (added at the end), so consecutive additions do not wait
 * for each other.
 */
static inline double
dot_ff(const float *x, const float *y, int d)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;
	int			k = 0;

	for (; k + 4 <= d; k += 4)
	{
		s0 += (double) x[k] * (double) y[k];
		s1 += (double) x[k + 1] * (double) y[k + 1];
		s2 += (double) x[k + 2] * (double) y[k + 2];
		s3 += (double) x[k + 3] * (double) y[k + 3];
	}
	for (; k < d; k++)
		s0 += (double) x[k] * (double) y[k];
	return (s0 + s1) + (s2 + s3);
}

int
select_badge(const float *E, int d, const double *P, int c, int64_t n, int64_t b,
			 uint32_t seed, double tol, int64_t *picked, const mlops_allocator *a,
			 char *err, size_t errlen)
{
	double	   *A = NULL;		/* ||a_i||^2 */
	double	   *N = NULL;		/* ||e_i||^2 */
	double	   *D2 = NULL;		/* squared distance to the nearest centre; -1 once picked */
	int		   *K = NULL;		/* argmax p_i */
	mt_state   *st = NULL;
	int64_t		first = 0;
	int			rc = -1;

	if (select_check_pool(E, n, d, b, "embeddings", err, errlen) != 0)
		return -1;
	if (select_check_prob_rows(P, c, n, tol, err, errlen) != 0)
		return -1;
	if (picked == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "no room for the picks given");
		return -1;
	}
	A = mlops_alloc(a, (size_t) n * sizeof(double));
	N = mlops_alloc(a, (size_t) n * sizeof(double));
	D2 = mlops_alloc(a, (size_t) n * sizeof(double));
	K = mlops_alloc(a, (size_t) n * sizeof(int));
	st = mlops_alloc(a, sizeof(mt_state));
	if (A == NULL || N == NULL || D2 == NULL || K == NULL || st == NULL)
	{
		errbuf_printf(err, errlen, "out of memory for BADGE over %lld items", (long long) n);
		goto done;
	}

	for (int64_t i = 0; i < n; i++)
	{
		const double *p = P + (size_t) i * (size_t) c;
		const float *e = E + (size_t) i * (size_t) d;
		int			k = select_predicted_class(p, c);
		double		pp = 0.0;

		for (int j = 0; j < c; j++)
			pp += p[j] * p[j];
		K[i] = k;
		A[i] = pp - 2.0 * p[k] + 1.0;
		if (A[i] < 0.0)
			A[i] = 0.0;
		N[i] = dot_ff(e, e, d);
		D2[i] = INFINITY;
		/* the first centre: the largest gradient norm, ties lowest index */
		if (A[i] * N[i] > A[first] * N[first])
			first = i;
	}

	mt_seed(st, seed);
	picked[0] = first;
	D2[first] = -1.0;
	for (int64_t t = 1; t < b; t++)
	{
		int64_t		ci = picked[t - 1];
		const double *pc = P + (size_t) ci * (size_t) c;
		const float *ec = E + (size_t) ci * (size_t) d;
		double		gc = A[ci] * N[ci];
		int			kc = K[ci];

		for (int64_t i = 0; i < n; i++)
		{
			const double *p;
			double		aa;
			double		g2;

			if (D2[i] < 0.0)
				continue;
			p = P + (size_t) i * (size_t) c;
			aa = 0.0;
			for (int j = 0; j < c; j++)
				aa += p[j] * pc[j];
			aa -= p[kc] + pc[K[i]];
			if (K[i] == kc)
				aa += 1.0;
			g2 = A[i] * N[i] + gc - 2.0 * aa * dot_ff(E + (size_t) i * (size_t) d, ec, d);
			if (g2 < 0.0)
				g2 = 0.0;
			if (g2 < D2[i])
				D2[i] = g2;
		}
		picked[t] = d2_draw(st, D2, n);
		D2[picked[t]] = -1.0;
	}
	rc = 0;

done:
	mlops_free(a, st);
	mlops_free(a, K);
	mlops_free(a, D2);
	mlops_free(a, N);
	mlops_free(a, A);
	return rc;
}

/* sqdist_fd: squared distance of a float row and a double centre, in double. */
static inline double
sqdist_fd(const float *x, const double *y, int d)
{
	double		s = 0.0;

	for (int k = 0; k < d; k++)
	{
		double		t = (double) x[k] - y[k];

		s += t * t;
	}
	return s;
}

/*
 * cm_kmeans clusters the nc candidate rows cand[] of E into k clusters
 * (assign[0..nc)), as select.h describes.  Scratch comes from the caller:
 * centres k * d doubles, w nc doubles, counts k int64s.
 */
static void
cm_kmeans(const float *E, int d, const int64_t *cand, int64_t nc, int k, mt_state *st,
		  double *centres, double *w, int64_t *counts, int *assign)
{
	int64_t		c0 = (int64_t) mt_interval(st, (uint64_t) (nc - 1));

	/* k-means++ seeding over the candidates */
	for (int64_t i = 0; i < nc; i++)
		w[i] = INFINITY;
	for (int j = 0; j < k; j++)
	{
		int64_t		ci = j == 0 ? c0 : d2_draw(st, w, nc);
		const float *x = E + (size_t) cand[ci] * (size_t) d;
		double	   *ctr = centres + (size_t) j * (size_t) d;

		for (int q = 0; q < d; q++)
			ctr[q] = (double) x[q];
		w[ci] = -1.0;
		for (int64_t i = 0; i < nc; i++)
		{
			double		d2;

			if (w[i] < 0.0)
				continue;
			d2 = sqdist_fd(E + (size_t) cand[i] * (size_t) d, ctr, d);
			if (d2 < w[i])
				w[i] = d2;
		}
	}

	/* Lloyd iterations */
	for (int64_t i = 0; i < nc; i++)
		assign[i] = -1;
	for (int iter = 0; iter < SELECT_CM_MAX_ITER; iter++)
	{
		bool		moved = false;

		for (int64_t i = 0; i < nc; i++)
		{
			const float *x = E + (size_t) cand[i] * (size_t) d;
			int			bestj = 0;
			double		bestd = sqdist_fd(x, centres, d);

			for (int j = 1; j < k; j++)
			{
				double		d2 = sqdist_fd(x, centres + (size_t) j * (size_t) d, d);

				if (d2 < bestd)
				{
					bestd = d2;
					bestj = j;
				}
			}
			if (assign[i] != bestj)
			{
				assign[i] = bestj;
				moved = true;
			}
		}
		if (!moved)
			break;
		/* new centres: the means of their items; an empty cluster keeps its centre */
		for (int j = 0; j < k; j++)
			counts[j] = 0;
		for (int64_t i = 0; i < nc; i++)
			counts[assign[i]]++;
		for (int j = 0; j < k; j++)
			if (counts[j] > 0)
				for (int q = 0; q < d; q++)
					centres[(size_t) j * (size_t) d + q] = 0.0;
		for (int64_t i = 0; i < nc; i++)
		{
			const float *x = E + (size_t) cand[i] * (size_t) d;
			double	   *ctr = centres + (size_t) assign[i] * (size_t) d;

			for (int q = 0; q < d; q++)
				ctr[q] += (double) x[q];
		}
		for (int j = 0; j < k; j++)
			if (counts[j] > 0)
				for (int q = 0; q < d; q++)
					centres[(size_t) j * (size_t) d + q] /= (double) counts[j];
	}
}

int
select_cluster_margin(const float *E, int d, const double *P, int c, int64_t n, int64_t b,
					  uint32_t seed, double tol, int64_t *picked, const mlops_allocator *a,
					  char *err, size_t errlen)
{
	SelectHeap *heap = NULL;
	int64_t		nc;
	int			k;
	int64_t    *cand = NULL;	/* candidates, lowest margin first */
	int		   *assign = NULL;
	double	   *centres = NULL;
	double	   *w = NULL;
	int64_t    *counts = NULL;
	int64_t    *start = NULL;	/* each cluster's first member in members[] */
	int64_t    *taken = NULL;	/* members taken from each cluster */
	int64_t    *members = NULL; /* candidates by cluster, lowest margin first */
	int		   *order = NULL;	/* clusters, smallest first */
	mt_state   *st = NULL;
	int64_t		got;
	int			rc = -1;

	if (select_check_pool(E, n, d, b, "embeddings", err, errlen) != 0)
		return -1;
	if (select_check_prob_rows(P, c, n, tol, err, errlen) != 0)
		return -1;
	if (picked == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "no room for the picks given");
		return -1;
	}
	nc = b > n / SELECT_CM_CANDIDATES_PER_PICK ? n : b * SELECT_CM_CANDIDATES_PER_PICK;
	k = (int) (b < SELECT_CM_MAX_CLUSTERS ? b : SELECT_CM_MAX_CLUSTERS);

	heap = select_heap_create(nc, a);
	cand = mlops_alloc(a, (size_t) nc * sizeof(int64_t));
	assign = mlops_alloc(a, (size_t) nc * sizeof(int));
	w = mlops_alloc(a, (size_t) nc * sizeof(double));
	members = mlops_alloc(a, (size_t) nc * sizeof(int64_t));
	centres = mlops_alloc(a, (size_t) k * (size_t) d * sizeof(double));
	counts = mlops_alloc(a, (size_t) k * sizeof(int64_t));
	start = mlops_alloc(a, (size_t) k * sizeof(int64_t));
	taken = mlops_alloc(a, (size_t) k * sizeof(int64_t));
	order = mlops_alloc(a, (size_t) k * sizeof(int));
	st = mlops_alloc(a, sizeof(mt_state));
	if (heap == NULL || cand == NULL || assign == NULL || w == NULL || members == NULL ||
		centres == NULL || counts == NULL || start == NULL || taken == NULL ||
		order == NULL || st == NULL)
		goto nomem;

	/* 1. the nc lowest margins */
	for (int64_t i = 0; i < n; i++)
		if (select_heap_offer(heap, -uncertainty_margin(P + (size_t) i * (size_t) c, (size_t) c),
							  i) != 0)
			goto nomem;
	if (select_heap_result(heap, cand, NULL) != nc)
		goto nomem;				/* cannot happen: every offer is kept or beaten */
	if (k > nc)
		k = (int) nc;

	/* 2. k-means on their embeddings */
	mt_seed(st, seed);
	cm_kmeans(E, d, cand, nc, k, st, centres, w, counts, assign);

	/* 3. members by cluster (candidate order kept), clusters smallest first */
	for (int j = 0; j < k; j++)
		counts[j] = 0;
	for (int64_t i = 0; i < nc; i++)
		counts[assign[i]]++;
	got = 0;
	for (int j = 0; j < k; j++)
	{
		start[j] = got;		/* got: a running sum here */
		got += counts[j];
		taken[j] = 0;
	}
	for (int64_t i = 0; i < nc; i++)
	{
		int			j = assign[i];

		members[start[j] + taken[j]++] = cand[i];
	}
	for (int j = 0; j < k; j++)
	{
		int			q = j;

		/* insertion sort by (size, cluster number): k <= SELECT_CM_MAX_CLUSTERS */
		taken[j] = 0;
		while (q > 0 && counts[order[q - 1]] > counts[j])
		{
			order[q] = order[q - 1];
			q--;
		}
		order[q] = j;
	}

	/* round robin, lowest margin first within a cluster */
	got = 0;
	while (got < b)
	{
		for (int q = 0; q < k && got < b; q++)
		{
			int			j = order[q];

			if (taken[j] < counts[j])
				picked[got++] = members[start[j] + taken[j]++];
		}
	}
	rc = 0;
	goto done;

nomem:
	errbuf_printf(err, errlen, "out of memory for cluster-margin over %lld items", (long long) n);
done:
	mlops_free(a, st);
	mlops_free(a, order);
	mlops_free(a, taken);
	mlops_free(a, start);
	mlops_free(a, counts);
	mlops_free(a, centres);
	mlops_free(a, members);
	mlops_free(a, w);
	mlops_free(a, assign);
	mlops_free(a, cand);
	select_heap_free(heap);
	return rc;
}
