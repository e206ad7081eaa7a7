/*
 * test_select.c — unit tests of the active-learning selection kernels
 * (src/active/select.c, coreset.c, badge.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "active/select.h"
#include "active/coreset_private.h"
#include "datasets/rng.h"
#include "unit.h"

static const mlops_allocator alloc = MLOPS_MALLOC_ALLOCATOR;

typedef struct ref_entry
{
	double		score;
	int64_t		id;
} ref_entry;

/* best first: score descending, id ascending */
static int
ref_cmp(const void *x, const void *y)
{
	const ref_entry *a = x;
	const ref_entry *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->id < b->id ? -1 : (a->id > b->id ? 1 : 0);
}

/* random probability rows: n x c, each summing to 1 */
static void
random_probs(mt_state *st, double *P, int64_t n, int c)
{
	for (int64_t i = 0; i < n; i++)
	{
		double		s = 0.0;

		for (int j = 0; j < c; j++)
		{
			P[i * c + j] = mt_random_sample(st) + 0.01;
			s += P[i * c + j];
		}
		for (int j = 0; j < c; j++)
			P[i * c + j] /= s;
	}
}

static void
random_floats(mt_state *st, float *X, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		X[i] = (float) (mt_random_sample(st) * 2.0 - 1.0);
}

/* brute-force greedy k-centre: O(n * b * (m + b)) distances, recomputed every step */
static void
ref_coreset(const float *X, int64_t n, int d, const float *L, int64_t m, int64_t b,
			int64_t *picked, double *dist)
{
	char	   *used = calloc((size_t) n, 1);

	for (int64_t t = 0; t < b; t++)
	{
		int64_t		best = -1;
		double		bestd = -1.0;

		for (int64_t i = 0; i < n; i++)
		{
			double		md = INFINITY;

			if (used[i])
				continue;
			if (m == 0 && t == 0)
			{
				float	   *mean = malloc(sizeof(float) * d);

				for (int k = 0; k < d; k++)
				{
					double		s = 0.0;

					for (int64_t q = 0; q < n; q++)
						s += X[q * d + k];
					mean[k] = (float) (s / (double) n);
				}
				md = select_sqdist(X + i * d, mean, d);
				free(mean);
			}
			for (int64_t j = 0; j < m; j++)
			{
				double		d2 = select_sqdist(X + i * d, L + j * d, d);

				if (d2 < md)
					md = d2;
			}
			for (int64_t j = 0; j < t; j++)
			{
				double		d2 = select_sqdist(X + i * d, X + picked[j] * d, d);

				if (d2 < md)
					md = d2;
			}
			if (md > bestd)
			{
				bestd = md;
				best = i;
			}
		}
		picked[t] = best;
		dist[t] = sqrt(bestd);
		used[best] = 1;
	}
	free(used);
}

/* the D^2 draw as badge.c describes it */
static int64_t
ref_draw(mt_state *st, const double *w, int64_t n)
{
	double		total = 0.0,
				cum = 0.0,
				target;
	int64_t		last = -1;

	for (int64_t i = 0; i < n; i++)
		if (w[i] > 0.0)
			total += w[i];
	if (!(total > 0.0))
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

/* BADGE with the gradient embeddings materialised (c * d doubles per item) */
static void
ref_badge(const float *E, int d, const double *P, int c, int64_t n, int64_t b, uint32_t seed,
		  int64_t *picked)
{
	int			gd = c * d;
	double	   *G = malloc(sizeof(double) * n * gd);
	double	   *D2 = malloc(sizeof(double) * n);
	mt_state	st;
	int64_t		first = 0;
	double		firstn = -1.0;

	for (int64_t i = 0; i < n; i++)
	{
		int			k = 0;
		double		nn = 0.0;

		for (int j = 1; j < c; j++)
			if (P[i * c + j] > P[i * c + k])
				k = j;
		for (int j = 0; j < c; j++)
		{
			double		aj = (j == k ? 1.0 : 0.0) - P[i * c + j];

			for (int q = 0; q < d; q++)
			{
				G[i * gd + j * d + q] = aj * E[i * d + q];
				nn += G[i * gd + j * d + q] * G[i * gd + j * d + q];
			}
		}
		if (nn > firstn)
		{
			firstn = nn;
			first = i;
		}
		D2[i] = INFINITY;
	}
	mt_seed(&st, seed);
	picked[0] = first;
	D2[first] = -1.0;
	for (int64_t t = 1; t < b; t++)
	{
		const double *g = G + picked[t - 1] * gd;

		for (int64_t i = 0; i < n; i++)
		{
			double		s = 0.0;

			if (D2[i] < 0.0)
				continue;
			for (int q = 0; q < gd; q++)
				s += (G[i * gd + q] - g[q]) * (G[i * gd + q] - g[q]);
			if (s < D2[i])
				D2[i] = s;
		}
		picked[t] = ref_draw(&st, D2, n);
		D2[picked[t]] = -1.0;
	}
	free(G);
	free(D2);
}

static int
all_distinct(const int64_t *x, int64_t b, int64_t n)
{
	char	   *seen = calloc((size_t) n, 1);
	int			ok = 1;

	for (int64_t i = 0; i < b; i++)
	{
		if (x[i] < 0 || x[i] >= n || seen[x[i]])
			ok = 0;
		else
			seen[x[i]] = 1;
	}
	free(seen);
	return ok;
}

static int
same_ids(const int64_t *x, const int64_t *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static void
test_heap(void)
{
	/* ties: the lowest id wins, whatever the order of the offers */
	{
		SelectHeap *h = select_heap_create(3, &alloc);
		int64_t		ids[3];
		double		sc[3];

		select_heap_offer(h, 1.0, 5);
		select_heap_offer(h, 1.0, 2);
		select_heap_offer(h, 0.5, 0);
		select_heap_offer(h, 1.0, 9);
		select_heap_offer(h, 1.0, 1);
		select_heap_offer(h, NAN, 7);
		CHECK_INT(select_heap_result(h, ids, sc), 3, "heap of 3 keeps 3");
		CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 5, "equal scores: lowest ids, ascending");
		CHECK(sc[0] == 1.0 && sc[2] == 1.0, "scores reported");
		/* still usable after a result */
		select_heap_offer(h, 2.0, 100);
		CHECK_INT(select_heap_result(h, ids, NULL), 3, "heap usable after a result");
		CHECK(ids[0] == 100 && ids[1] == 1 && ids[2] == 2, "a later better entry goes first");
		select_heap_free(h);
	}
	CHECK(select_heap_create(0, &alloc) == NULL, "k = 0 refused");

	/* the heap equals a full sort; merges equal one heap */
	{
		int64_t		n = 20000,
					k = 137;
		ref_entry  *all = malloc(sizeof(ref_entry) * n);
		int64_t    *perm = malloc(sizeof(int64_t) * n);
		int64_t		ids[137],
					ids2[137];
		double		sc[137],
					sc2[137];
		SelectHeap *h = select_heap_create(k, &alloc);
		SelectHeap *parts[3];
		mt_state	st;
		int			ok = 1;

		mt_seed(&st, 7);
		mt_permutation(&st, perm, n);
		for (int64_t i = 0; i < n; i++)
		{
			/* few distinct scores, so ties are everywhere */
			all[i].score = floor(mt_random_sample(&st) * 64.0) / 64.0;
			all[i].id = perm[i];
		}
		for (int p = 0; p < 3; p++)
			parts[p] = select_heap_create(k, &alloc);
		for (int64_t i = 0; i < n; i++)
		{
			select_heap_offer(h, all[i].score, all[i].id);
			select_heap_offer(parts[i % 3], all[i].score, all[i].id);
		}
		qsort(all, (size_t) n, sizeof(ref_entry), ref_cmp);
		CHECK_INT(select_heap_result(h, ids, sc), k, "top-k count");
		for (int64_t i = 0; i < k; i++)
			if (ids[i] != all[i].id || sc[i] != all[i].score)
				ok = 0;
		CHECK(ok, "top-k of 20,000 tied scores = the first k of a full sort");
		select_heap_merge(parts[2], parts[0]);
		select_heap_merge(parts[2], parts[1]);
		CHECK_INT(select_heap_result(parts[2], ids2, sc2), k, "merged count");
		CHECK(same_ids(ids, ids2, k), "merge of 3 partial heaps = one heap");
		for (int p = 0; p < 3; p++)
			select_heap_free(parts[p]);
		select_heap_free(h);
		free(all);
		free(perm);
	}
}

static void
test_scores(void)
{
	const double bad_sum[] = {0.9, 0.9};
	const double bad_nan[] = {NAN, 1.0};
	const double bad_neg[] = {-0.1, 1.1};
	const double half[] = {0.5, 0.5};
	const double skew[] = {0.7, 0.2, 0.1};
	const double tie[] = {0.4, 0.4, 0.2};
	double		s;
	char		err[200];

	err[0] = '\0';
	CHECK_INT(select_row_score(SELECT_ENTROPY, bad_sum, 2, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), -1,
			  "{0.9, 0.9} refused");
	CHECK(strstr(err, "sum to 1.8") != NULL, "the reason names the sum 1.8");
	CHECK_INT(select_row_score(SELECT_MARGIN, bad_nan, 2, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), -1, "NaN refused");
	CHECK(strstr(err, "finite") != NULL, "the reason says not finite");
	CHECK_INT(select_row_score(SELECT_LEAST_CONFIDENCE, bad_neg, 2, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), -1,
			  "negative probability refused");
	CHECK_INT(select_row_score(SELECT_ENTROPY, half, 0, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), -1, "0 classes refused");
	CHECK_INT(select_row_score(SELECT_CORESET, half, 2, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), -1,
			  "a batch strategy refused per row");
	CHECK_INT(select_check_probs((const double[]) {0.5, 0.5 + 1e-7}, 2, SELECT_PROBS_TOLERANCE, err, sizeof(err)), 0,
			  "a sum within 1e-6 * n accepted");
	CHECK_INT(select_check_probs((const double[]) {0.5, 0.51}, 2, SELECT_PROBS_TOLERANCE, err, sizeof(err)), -1,
			  "a sum of 1.01 refused at the default tolerance");
	CHECK(strstr(err, "tolerance 2e-06") != NULL, "the reason names the tolerance for 2 classes");
	CHECK_INT(select_check_probs((const double[]) {0.5, 0.505}, 2, 0.005, err, sizeof(err)), 0,
			  "a sum of 1.005 accepted with tolerance 0.005 per class (0.01 for 2)");
	CHECK_INT(select_check_probs((const double[]) {0.5, 0.511}, 2, 0.005, err, sizeof(err)), -1,
			  "a sum of 1.011 refused with tolerance 0.005 per class");
	CHECK_INT(select_check_probs((const double[]) {0.25, 0.75}, 2, 0.0, err, sizeof(err)), 0,
			  "tolerance 0 accepts an exact sum");
	CHECK_INT(select_check_probs((const double[]) {0.25, 0.75}, 2, NAN, err, sizeof(err)), -1,
			  "a NaN tolerance refused");
	CHECK(strstr(err, "tolerance must be between 0 and 1") != NULL, "the reason names the tolerance");
	CHECK_INT(select_check_probs((const double[]) {0.25, 0.75}, 2, -1e-6, err, sizeof(err)), -1,
			  "a negative tolerance refused");
	{
		double		u;

		CHECK_INT(select_entropy_upper((const double[]) {0.5, 0.505}, 2, 0.005, &u, err, sizeof(err)), 0,
				  "the entropy screen takes the same tolerance");
		CHECK_INT(select_entropy_upper((const double[]) {0.5, 0.51}, 2, 1e-6, &u, err, sizeof(err)), -1,
				  "the entropy screen refuses at the default tolerance");
		CHECK_INT(select_entropy_upper((const double[]) {0.5, 0.5}, 2, NAN, &u, err, sizeof(err)), -1,
				  "the entropy screen refuses a NaN tolerance");
	}

	CHECK_INT(select_row_score(SELECT_ENTROPY, skew, 3, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), 0, "entropy ok");
	CHECK_NEAR(s, 0.8018185525433373, 1e-12, "entropy [0.7, 0.2, 0.1] (scipy)");
	select_row_score(SELECT_LEAST_CONFIDENCE, skew, 3, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err));
	CHECK_NEAR(s, 0.3, 1e-12, "least confidence = 1 - 0.7");
	select_row_score(SELECT_MARGIN, skew, 3, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err));
	CHECK_NEAR(s, -0.5, 1e-12, "margin score = -(0.7 - 0.2)");
	select_row_score(SELECT_MARGIN, half, 2, 0, 0, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err));
	CHECK(s == 0.0, "margin score of a tie = 0 (the top)");
	CHECK_INT(select_predicted_class(tie, 3), 0, "predicted class: ties go to the lowest class");
	CHECK_INT(select_predicted_class(skew + 1, 2), 0, "predicted class of {0.2, 0.1}");

	CHECK_INT(select_row_score(SELECT_RANDOM, NULL, 0, 42, 9, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err)), 0,
			  "random needs no probabilities");
	CHECK(s >= 0.0 && s < 1.0, "random score in [0, 1)");
	CHECK(s == select_random_key(9, 42), "random score = select_random_key");

	/* the same seed gives the same batch whatever the order of the pool */
	{
		int64_t		n = 5000,
					k = 50;
		int64_t    *perm = malloc(sizeof(int64_t) * n);
		int64_t		a1[50],
					a2[50],
					a3[50];
		SelectHeap *h1 = select_heap_create(k, &alloc);
		SelectHeap *h2 = select_heap_create(k, &alloc);
		SelectHeap *h3 = select_heap_create(k, &alloc);
		mt_state	st;
		double		mean = 0.0;

		mt_seed(&st, 3);
		mt_permutation(&st, perm, n);
		for (int64_t i = 0; i < n; i++)
		{
			select_row_score(SELECT_RANDOM, NULL, 0, i, 1234, SELECT_PROBS_TOLERANCE, &s, NULL, 0);
			select_heap_offer(h1, s, i);
			mean += s;
			select_row_score(SELECT_RANDOM, NULL, 0, perm[i], 1234, SELECT_PROBS_TOLERANCE, &s, NULL, 0);
			select_heap_offer(h2, s, perm[i]);
			select_row_score(SELECT_RANDOM, NULL, 0, perm[i], 1235, SELECT_PROBS_TOLERANCE, &s, NULL, 0);
			select_heap_offer(h3, s, perm[i]);
		}
		select_heap_result(h1, a1, NULL);
		select_heap_result(h2, a2, NULL);
		select_heap_result(h3, a3, NULL);
		CHECK(same_ids(a1, a2, k), "random: same seed, shuffled pool, same batch");
		CHECK(!same_ids(a1, a3, k), "random: another seed, another batch");
		CHECK_NEAR(mean / n, 0.5, 0.02, "random keys average about 0.5");
		select_heap_free(h1);
		select_heap_free(h2);
		select_heap_free(h3);
		free(perm);
	}
}

/*
 * select_sqdist's documented rounding: lane j of 16 sums the float squares of
 * dimensions k = j (mod 16) in order; the lanes are added in float in a tree
 */
static double
ref_sqdist(const float *x, const float *y, int d)
{
	float		l[16] = {0};
	float		h[8],
				q[4];

	for (int k = 0; k < d; k++)
	{
		volatile float t2;
		float		t = x[k] - y[k];

		t2 = t * t;
		l[k % 16] = l[k % 16] + t2;
	}
	for (int j = 0; j < 8; j++)
		h[j] = l[j] + l[j + 8];
	for (int j = 0; j < 4; j++)
		q[j] = h[j] + h[j + 4];
	return (double) ((q[0] + q[2]) + (q[1] + q[3]));
}

/*
 * hard pools for the screen: jitter far below its code step around a few
 * centres (near-ties everywhere), and one huge coordinate that makes the
 * step coarse for every other one
 */
static void
hard_floats(mt_state *st, float *X, int64_t n, int d, int kind)
{
	for (int64_t i = 0; i < n; i++)
		for (int k = 0; k < d; k++)
		{
			double		u = mt_random_sample(st);

			if (kind == 0)
				X[i * d + k] = (float) ((i % 3) + 1e-4 * u);
			else
				X[i * d + k] = (float) (u * 2.0 - 1.0);
		}
	if (kind == 1 && n > 0)
		X[0] = 1e6f;
}

/* select_normalize_probs: rows divided by their sum; bad rows refused and left as they were */
static void
test_normalize(void)
{
	char		err[200];
	double		a[3] = {2, 6, 0};
	double		b[2] = {1, -1};
	double		c[2] = {0, 0};
	double		d[2] = {1, NAN};

	CHECK_INT(select_normalize_probs(a, 3, err, sizeof(err)), 0, "normalize {2, 6, 0}");
	CHECK(a[0] == 0.25 && a[1] == 0.75 && a[2] == 0.0, "normalize {2, 6, 0} = {0.25, 0.75, 0}");
	CHECK_INT(select_check_probs(a, 3, SELECT_PROBS_TOLERANCE, err, sizeof(err)), 0, "a normalised row passes the probability check");
	CHECK_INT(select_normalize_probs(b, 2, err, sizeof(err)), -1, "normalize refuses a negative value");
	CHECK(b[0] == 1 && b[1] == -1, "a refused row is left as it was");
	CHECK_INT(select_normalize_probs(c, 2, err, sizeof(err)), -1, "normalize refuses a row summing to 0");
	CHECK_INT(select_normalize_probs(d, 2, err, sizeof(err)), -1, "normalize refuses NaN");
}

static void
test_coreset(void)
{
	mt_state	st;
	int			ok_picks = 1,
				ok_dist = 1,
				ok_threads = 1;
	char		err[200];

	mt_seed(&st, 11);
	{
		float		x[300],
					y[300];
		int			same = 1;

		random_floats(&st, x, 300);
		random_floats(&st, y, 300);
		for (int d = 1; d <= 300; d += 7)
			if (select_sqdist(x, y, d) != ref_sqdist(x, y, d))
				same = 0;
		CHECK(same, "select_sqdist = 16 float lanes added in a float tree, bit for bit");
	}
	{
		/* every vector width's tile loop = select_sqdist, one centre and many */
		float		x[9 * 300],
					y[11 * 300];
		int64_t		bad = 0;

		random_floats(&st, x, 9 * 300);
		random_floats(&st, y, 11 * 300);
		for (int d = 1; d <= 300; d += 13)
			bad += select_sqdist_tiles(x, 9, y, 11, d);
		CHECK_INT(bad, 0, "coreset tile loops (SSE2, AVX2, AVX-512 where present) = select_sqdist");
	}
	{
		/* the VNNI screen (where present) = the plain loop of the same integer sums */
		uint8_t		T[16 * 96];
		int8_t		qc[8][96];
		const int8_t *qcp[8];
		int32_t		kc[8],
					nx[16],
					thr[16];
		int			bad = 0;

		for (int trial = 0; trial < 50; trial++)
		{
			for (int i = 0; i < 16 * 96; i++)
				T[i] = (uint8_t) (1 + (int) (mt_random_sample(&st) * 255.0) % 255);
			for (int c = 0; c < 8; c++)
			{
				for (int k = 0; k < 96; k++)
					qc[c][k] = (int8_t) ((int) (mt_random_sample(&st) * 255.0) % 255 - 127);
				qcp[c] = qc[c];
				kc[c] = (int32_t) (mt_random_sample(&st) * 2e6);
			}
			for (int l = 0; l < 16; l++)
			{
				nx[l] = (int32_t) (mt_random_sample(&st) * 2e6);
				thr[l] = (int32_t) (mt_random_sample(&st) * 4e6) - 1000000;
			}
			bad += cs_screen_check(T, 96, qcp, kc, 1 + trial % 8, nx, thr);
		}
		CHECK_INT(bad, 0, "coreset screen: VNNI masks = the plain loop's (50 random groups)");
	}
	for (int trial = 0; trial < 6; trial++)
	{
		int64_t		n = 200 + 37 * trial;
		int			d = trial % 2 ? 19 : 32;	/* with and without a tail */
		int64_t		m = trial < 2 ? 0 : 5 * trial;
		int64_t		b = 25;
		float	   *X = malloc(sizeof(float) * n * d);
		float	   *L = malloc(sizeof(float) * (m + 1) * d);
		int64_t		p1[25],
					p2[25],
					pr[25];
		double		d1[25],
					dr[25];

		random_floats(&st, X, n * d);
		random_floats(&st, L, m * d);
		/* duplicates of a labelled item and of each other */
		if (m > 0)
			memcpy(X + 3 * d, L, sizeof(float) * d);
		memcpy(X + 10 * d, X + 11 * d, sizeof(float) * d);
		if (select_coreset(X, n, d, L, m, b, 1, p1, d1, &alloc, err, sizeof(err)) != 0 ||
			select_coreset(X, n, d, L, m, b, 3, p2, NULL, &alloc, err, sizeof(err)) != 0)
		{
			ok_picks = 0;
			printf("# %s\n", err);
		}
		ref_coreset(X, n, d, L, m, b, pr, dr);
		if (!same_ids(p1, pr, b))
			ok_picks = 0;
		if (!same_ids(p1, p2, b))
			ok_threads = 0;
		for (int64_t t = 0; t < b; t++)
			if (d1[t] != dr[t])
				ok_dist = 0;
		free(X);
		free(L);
	}
	CHECK(ok_picks, "coreset = brute-force greedy k-centre (6 random pools, m = 0 and m > 0)");
	{
		/* the screen at its edges: near-ties below its step, a coarse step, a tail, n % 16 != 0 */
		int			ok = 1;

		for (int trial = 0; trial < 6; trial++)
		{
			int64_t		n = 150 + 13 * trial;
			int			d = trial % 3 == 0 ? 200 : 37;
			int64_t		m = trial % 2 ? 7 : 0;
			int64_t		b = 20;
			float	   *X = malloc(sizeof(float) * n * d);
			float	   *L = malloc(sizeof(float) * (m + 1) * d);
			int64_t		p1[20],
						pr[20];
			double		d1[20],
						dr[20];

			hard_floats(&st, X, n, d, trial % 2);
			hard_floats(&st, L, m, d, 0);
			if (select_coreset(X, n, d, L, m, b, 2, p1, d1, &alloc, err, sizeof(err)) != 0)
			{
				ok = 0;
				printf("# %s\n", err);
			}
			ref_coreset(X, n, d, L, m, b, pr, dr);
			if (!same_ids(p1, pr, b))
				ok = 0;
			for (int64_t t = 0; t < b; t++)
				if (d1[t] != dr[t])
					ok = 0;
			free(X);
			free(L);
		}
		CHECK(ok, "coreset = brute force on pools hard for its screen (near-ties, a 1e6 outlier)");
	}
	CHECK(ok_dist, "coreset distances at pick time = the reference's");
	CHECK(ok_threads, "coreset with 3 threads = 1 thread");

	/* b = n: every item, distinct, even with duplicates */
	{
		float		X[] = {0, 0, 1, 1, 1, 1, 0, 0, 5, 5};
		float		L[] = {1, 1};
		int64_t		p[5];
		double		dd[5];

		CHECK_INT(select_coreset(X, 5, 2, L, 1, 5, 2, p, dd, &alloc, err, sizeof(err)), 0, "coreset b = n");
		CHECK(all_distinct(p, 5, 5), "b = n picks every item once");
		CHECK(p[0] == 4 && p[1] == 0, "farthest first, then ties to the lowest index");
		CHECK(p[2] == 1 && p[3] == 2 && p[4] == 3, "items at distance 0 last, lowest index first");
		CHECK(dd[2] == 0.0 && dd[3] == 0.0 && dd[4] == 0.0, "duplicates picked at distance 0");
		CHECK_NEAR(dd[0], sqrt(32.0), 1e-12, "the first pick's distance to the labelled item");
		CHECK_INT(select_coreset(X, 5, 2, NULL, 0, 1, 1, p, dd, &alloc, err, sizeof(err)), 0, "coreset m = 0");
		CHECK_INT(p[0], 4, "m = 0: the farthest from the mean first");
	}

	/* errors */
	{
		float		X[] = {0, 0, 1, NAN};
		int64_t		p[3];

		CHECK_INT(select_coreset(X, 2, 2, NULL, 0, 0, 1, p, NULL, &alloc, err, sizeof(err)), -1, "b = 0 refused");
		CHECK_INT(select_coreset(X, 2, 2, NULL, 0, 3, 1, p, NULL, &alloc, err, sizeof(err)), -1, "b > n refused");
		CHECK(strstr(err, "larger than the pool") != NULL, "b > n: the reason");
		CHECK_INT(select_coreset(X, 2, 0, NULL, 0, 1, 1, p, NULL, &alloc, err, sizeof(err)), -1, "d = 0 refused");
		CHECK_INT(select_coreset(X, 2, 2, NULL, 0, 1, 1, p, NULL, &alloc, err, sizeof(err)), -1, "NaN refused");
		CHECK(strstr(err, "row 2, column 2") != NULL, "NaN: the reason names row and column");
		CHECK_INT(select_coreset(X, 1, 2, X + 2, 1, 1, 1, p, NULL, &alloc, err, sizeof(err)), -1,
				  "NaN in the labelled set refused");
		CHECK_INT(select_coreset(X, 1, 2, NULL, 1, 1, 1, p, NULL, &alloc, err, sizeof(err)), -1,
				  "m > 0 without L refused");
	}
}

static void
test_badge(void)
{
	mt_state	st;
	int			ok_ref = 1,
				ok_det = 1,
				ok_distinct = 1,
				differ = 0;
	char		err[200];

	mt_seed(&st, 5);
	for (int trial = 0; trial < 8; trial++)
	{
		int64_t		n = 60 + 10 * trial;
		int			d = 3 + trial;
		int			c = 2 + trial % 4;
		int64_t		b = 15;
		float	   *E = malloc(sizeof(float) * n * d);
		double	   *P = malloc(sizeof(double) * n * c);
		int64_t		p1[15],
					p2[15],
					p3[15],
					pr[15];

		random_floats(&st, E, n * d);
		random_probs(&st, P, n, c);
		if (select_badge(E, d, P, c, n, b, 100 + trial, SELECT_PROBS_TOLERANCE, p1, &alloc, err, sizeof(err)) != 0 ||
			select_badge(E, d, P, c, n, b, 100 + trial, SELECT_PROBS_TOLERANCE, p2, &alloc, err, sizeof(err)) != 0 ||
			select_badge(E, d, P, c, n, b, 999, SELECT_PROBS_TOLERANCE, p3, &alloc, err, sizeof(err)) != 0)
		{
			ok_ref = 0;
			printf("# %s\n", err);
		}
		ref_badge(E, d, P, c, n, b, 100 + trial, pr);
		if (!same_ids(p1, pr, b))
			ok_ref = 0;
		if (!same_ids(p1, p2, b))
			ok_det = 0;
		if (!same_ids(p1, p3, b))
			differ = 1;
		if (!all_distinct(p1, b, n))
			ok_distinct = 0;
		free(E);
		free(P);
	}
	CHECK(ok_ref, "badge (factorised) = badge on materialised gradients, same seed (8 pools)");
	CHECK(ok_det, "badge is deterministic per seed");
	CHECK(differ, "badge: another seed, another batch");
	CHECK(ok_distinct, "badge picks are distinct");

	/* every gradient 0 (one-hot probabilities): lowest indices, distinct */
	{
		float		E[] = {1, 2, 3, 4, 5, 6};
		double		P[] = {1, 0, 0, 1, 1, 0};
		int64_t		p[3];

		CHECK_INT(select_badge(E, 2, P, 2, 3, 3, 1, SELECT_PROBS_TOLERANCE, p, &alloc, err, sizeof(err)), 0, "badge on zero gradients");
		CHECK(p[0] == 0 && p[1] == 1 && p[2] == 2, "zero gradients: lowest indices in turn");
	}
	{
		float		E[] = {1, 2, 3, 4};
		double		P[] = {0.9, 0.9, 0.5, 0.5};
		int64_t		p[2];

		CHECK_INT(select_badge(E, 2, P, 2, 2, 1, 1, SELECT_PROBS_TOLERANCE, p, &alloc, err, sizeof(err)), -1, "badge: bad probabilities refused");
		CHECK(strstr(err, "row 1") != NULL && strstr(err, "sum to 1.8") != NULL, "badge: the reason names row and sum");
		CHECK_INT(select_badge(E, 2, P + 2, 2, 1, 2, 1, SELECT_PROBS_TOLERANCE, p, &alloc, err, sizeof(err)), -1, "badge: b > n refused");
	}
}

static void
test_cluster_margin(void)
{
	mt_state	st;
	int64_t		n = 3000;
	int			d = 8,
				c = 4;
	float	   *E = malloc(sizeof(float) * n * d);
	double	   *P = malloc(sizeof(double) * n * c);
	int64_t		p1[40],
				p2[40],
				pn[6];
	char		err[200];
	int			in_cand = 1;
	SelectHeap *h = select_heap_create(400, &alloc);
	int64_t		cand[400];

	mt_seed(&st, 21);
	random_floats(&st, E, n * d);
	random_probs(&st, P, n, c);
	CHECK_INT(select_cluster_margin(E, d, P, c, n, 40, 8, SELECT_PROBS_TOLERANCE, p1, &alloc, err, sizeof(err)), 0, "cluster_margin runs");
	CHECK_INT(select_cluster_margin(E, d, P, c, n, 40, 8, SELECT_PROBS_TOLERANCE, p2, &alloc, err, sizeof(err)), 0, "cluster_margin again");
	CHECK(all_distinct(p1, 40, n), "cluster_margin: 40 distinct picks");
	CHECK(same_ids(p1, p2, 40), "cluster_margin is deterministic per seed");
	for (int64_t i = 0; i < n; i++)
	{
		double		s;

		select_row_score(SELECT_MARGIN, P + i * c, c, i, 0, SELECT_PROBS_TOLERANCE, &s, NULL, 0);
		select_heap_offer(h, s, i);
	}
	select_heap_result(h, cand, NULL);
	for (int t = 0; t < 40; t++)
	{
		int			found = 0;

		for (int i = 0; i < 400; i++)
			if (cand[i] == p1[t])
				found = 1;
		in_cand &= found;
	}
	CHECK(in_cand, "cluster_margin picks among the 10 b lowest margins");
	CHECK_INT(select_cluster_margin(E, d, P, c, 6, 6, 8, SELECT_PROBS_TOLERANCE, pn, &alloc, err, sizeof(err)), 0, "cluster_margin b = n");
	CHECK(all_distinct(pn, 6, 6), "cluster_margin b = n: all items");
	/* three separated blobs of 10, 5 and 3 items: one pick each, smallest blob first */
	{
		float		Eb[18 * 2];
		double		Pb[18 * 2];
		int64_t		pb[3];

		for (int i = 0; i < 18; i++)
		{
			float		cx = i < 10 ? 0.0f : (i < 15 ? 10.0f : 0.0f);
			float		cy = i < 15 ? 0.0f : 10.0f;

			Eb[2 * i] = cx + 0.01f * (i % 3);
			Eb[2 * i + 1] = cy + 0.01f * (i % 2);
			/* margins 0.9 down to 0.05 with the index, except the lowest of each blob set below */
			Pb[2 * i] = 0.5 + 0.45 - 0.02 * i;
			Pb[2 * i + 1] = 1.0 - Pb[2 * i];
		}
		Pb[2 * 4] = 0.5;		/* blob A's lowest margin: 0 */
		Pb[2 * 4 + 1] = 0.5;
		Pb[2 * 12] = 0.51;		/* blob B's: 0.02 */
		Pb[2 * 12 + 1] = 0.49;
		Pb[2 * 16] = 0.52;		/* blob C's: 0.04 */
		Pb[2 * 16 + 1] = 0.48;
		CHECK_INT(select_cluster_margin(Eb, 2, Pb, 2, 18, 3, 4, SELECT_PROBS_TOLERANCE, pb, &alloc, err, sizeof(err)), 0,
				  "cluster_margin on three blobs");
		CHECK(pb[0] == 16 && pb[1] == 12 && pb[2] == 4,
			  "three blobs: the smallest blob first, the lowest margin of each");
		if (!(pb[0] == 16 && pb[1] == 12 && pb[2] == 4))
			printf("#   got %lld %lld %lld\n", (long long) pb[0], (long long) pb[1], (long long) pb[2]);
	}
	E[5] = INFINITY;
	CHECK_INT(select_cluster_margin(E, d, P, c, n, 4, 8, SELECT_PROBS_TOLERANCE, p1, &alloc, err, sizeof(err)), -1, "cluster_margin: inf refused");
	select_heap_free(h);
	free(E);
	free(P);
}

/*
 * The entropy screen: at every width this processor has, its entropy is
 * within its stated margin of the exact one (libm) on rows of 1 to 300
 * classes with zeros, subnormals, near-ones and sums off by the tolerance,
 * so its bound is never below a row's score; it refuses what
 * select_check_probs refuses, with the same reasons.  Then the heap's floor:
 * -inf until it is full, then its worst score.
 */
static void
test_entropy_bound(void)
{
	unsigned	seed = 12345;
	int			below = 0,
				off = 0,
				widths = 0;
	double		worst = 0;
	double		s;
	char		err[128];
	SelectHeap *h = select_heap_create(2, &alloc);
	static double p[300];

	printf("# entropy screen width here: %d doubles\n", select_entropy_screen_width());
	for (int t = 0; t < 20000; t++)
	{
		double		sum = 0,
					tol = (t % 4 == 0) ? 1e-3 : SELECT_PROBS_TOLERANCE,
					u,
					hw,
					sw;
		int			c = 1 + (int) ((t * 7919u) % (t % 10 == 0 ? 300u : 60u));

		for (int i = 0; i < c; i++)
		{
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 4) % 16)
			{
				case 0:
					p[i] = 0;
					break;
				case 1:
					p[i] = 4.9e-324 * (double) ((seed >> 9) % 100 + 1);	/* subnormal */
					break;
				case 2:
					p[i] = 1e-300;
					break;
				default:
					p[i] = (double) ((seed >> 8) % 100000 + 1);
			}
			sum += p[i];
		}
		for (int i = 0; i < c; i++)
			p[i] /= sum;
		if (t % 4 == 0)
			p[0] = fmin(1.0, p[0] + 0.9 * tol * c);	/* a sum off by up to 0.9 tol per class */
		if (select_row_score(SELECT_ENTROPY, p, c, t, 0, tol, &s, err, sizeof(err)) != 0 ||
			select_entropy_upper(p, c, tol, &u, err, sizeof(err)) != 0)
		{
			off++;
			continue;
		}
		if (u < s)
			below++;
		for (int w = 1; w <= 8; w *= 2)
			if (select_entropy_upper_width(w, p, c, &hw, &sw) == 0)
			{
				double		d = fabs(hw - s) / (1e-9 * sw + 1e-12 * c);

				widths |= w;
				worst = fmax(worst, d);
			}
	}
	printf("# entropy screen: widths tried %d, worst error %.3g of its margin\n", widths, worst);
	CHECK_INT(off, 0, "every screened row passes the checks (20,000 random rows)");
	CHECK_INT(below, 0, "the screen's bound is never below a row's entropy (20,000 random rows)");
	CHECK(worst <= 1.0, "at every width the screen's entropy is within its margin");
	CHECK((widths & 3) == 3, "the screen ran without vectors and at width 2 at least");
	{
		const double *bad[] = {
			(const double[]) {0.2, NAN, 0.8},
			(const double[]) {0.9, 0.9},
			(const double[]) {-0.1, 0.6, 0.5},
			(const double[]) {INFINITY, 0.0, 0.0},
			(const double[]) {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}
		};
		int			nbad[] = {3, 2, 3, 3, 11};
		int			same = 0;

		for (int i = 0; i < 5; i++)
		{
			char		e1[128],
						e2[128];
			double		u,
						hw,
						sw;

			if (select_entropy_upper(bad[i], nbad[i], SELECT_PROBS_TOLERANCE, &u, e1, sizeof(e1)) == -1 &&
				select_check_probs(bad[i], nbad[i], SELECT_PROBS_TOLERANCE, e2, sizeof(e2)) == -1 &&
				strcmp(e1, e2) == 0)
				same++;
			for (int w = 1; w <= 8; w *= 2)
				if (i != 1 && i != 4 && select_entropy_upper_width(w, bad[i], nbad[i], &hw, &sw) == 0)
					same -= 100;	/* a bad value must be flagged at every width */
		}
		CHECK_INT(same, 5, "NaN, a sum of 1.8, a negative, an infinity and a sum of 1.1 are refused with check_probs' reasons");
	}
	CHECK(isinf(select_heap_floor(h)) && select_heap_floor(h) < 0, "an empty heap has no floor");
	select_heap_offer(h, 0.5, 1);
	CHECK(isinf(select_heap_floor(h)), "a heap not yet full has no floor");
	select_heap_offer(h, 0.7, 2);
	CHECK(select_heap_floor(h) == 0.5, "a full heap's floor is its worst score");
	select_heap_offer(h, 0.9, 3);
	CHECK(select_heap_floor(h) == 0.7, "and rises as better rows come");
	select_heap_free(h);
}

int
main(void)
{
	test_entropy_bound();
	test_heap();
	test_scores();
	test_normalize();
	test_coreset();
	test_badge();
	test_cluster_margin();
	return unit_done();
}
