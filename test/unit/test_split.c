/*
 * test_split.c
 *	  Unit tests of src/datasets/rng.c and the splitting kernel
 *	  (src/datasets/split*.c).  The MT19937 stream is checked against two
 *	  published values (the reference generator's first output for seed
 *	  5489, numpy's first random_sample for seed 0); SipHash-2-4 against the
 *	  paper's test vector; everything else by properties: counts, no group
 *	  on two sides, exact per-class counts, folds that partition, the same
 *	  split for the same seed, and the error cases.  scikit-learn identity
 *	  is test/parity/split_parity.py's job.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "datasets/rng.h"
#include "datasets/split.h"
#include "unit.h"

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
static char err[512];

/* A small deterministic generator for building test data (not the one tested). */
static uint64_t lcg_state = 88172645463325252ULL;

static uint32_t
lcg(uint32_t bound)
{
	lcg_state ^= lcg_state << 13;
	lcg_state ^= lcg_state >> 7;
	lcg_state ^= lcg_state << 17;
	return (uint32_t) (lcg_state % bound);
}

static int
run(const SplitData *d, const SplitSpec *s, int32_t *out)
{
	err[0] = '\0';
	return split_assign(d, s, out, &A, err, sizeof(err));
}

static int64_t
count_value(const int32_t *out, int64_t n, int32_t v)
{
	int64_t		c = 0,
				i;

	for (i = 0; i < n; i++)
		c += out[i] == v;
	return c;
}

/* 1 when no group has items on two sides */
static int
groups_ok(const int32_t *group, int32_t n_groups, const int32_t *out, int64_t n)
{
	int32_t    *side = malloc(sizeof(int32_t) * (size_t) n_groups);
	int64_t		i;
	int			ok = 1;

	for (i = 0; i < n_groups; i++)
		side[i] = -1;
	for (i = 0; i < n; i++)
	{
		if (side[group[i]] >= 0 && side[group[i]] != out[i])
			ok = 0;
		side[group[i]] = out[i];
	}
	free(side);
	return ok;
}

static void
test_mt(void)
{
	mt_state	st,
				st2;
	int64_t		perm[1000];
	int			seen[1000];
	int			i,
				ok = 1;

	mt_seed(&st, 5489);
	CHECK_INT(mt_next32(&st), 3499211612U, "mt19937 seed 5489: first output is the reference's 3499211612");
	mt_seed(&st, 0);
	CHECK_NEAR(mt_random_sample(&st), 0.5488135039273248, 0.0,
			   "RandomState(0).random_sample() is numpy's 0.5488135039273248");

	/* the state regenerates after 624 outputs; streams are reproducible */
	mt_seed(&st, 123);
	mt_seed(&st2, 123);
	for (i = 0; i < 2000; i++)
		if (mt_next32(&st) != mt_next32(&st2))
			ok = 0;
	CHECK(ok, "same seed, same stream across the 624-word regeneration");

	/* interval(0) draws nothing; interval(max) stays in range */
	mt_seed(&st, 7);
	mt_seed(&st2, 7);
	CHECK_INT(mt_interval(&st, 0), 0, "interval(0) is 0");
	CHECK_INT(mt_next32(&st), mt_next32(&st2), "interval(0) consumes no draw");
	ok = 1;
	for (i = 0; i < 10000; i++)
		if (mt_interval(&st, 37) > 37 || mt_randint(&st, -5, 5) < -5 || mt_randint(&st, -5, 5) >= 5)
			ok = 0;
	CHECK(ok, "interval and randint stay in range");
	ok = 1;
	for (i = 0; i < 100; i++)
	{
		uint64_t	v = mt_interval(&st, UINT64_C(0x1ffffffff));

		if (v > UINT64_C(0x1ffffffff))
			ok = 0;
	}
	CHECK(ok, "interval above 2^32 uses 64-bit draws and stays in range");

	mt_seed(&st, 42);
	mt_permutation(&st, perm, 1000);
	memset(seen, 0, sizeof(seen));
	ok = 1;
	for (i = 0; i < 1000; i++)
	{
		if (perm[i] < 0 || perm[i] >= 1000 || seen[perm[i]]++)
			ok = 0;
	}
	CHECK(ok, "permutation(1000) is a permutation");
	{
		int64_t		chosen[10],
					scratch[50];

		mt_seed(&st, 3);
		mt_choice_noreplace(&st, 50, 10, chosen, scratch);
		mt_seed(&st2, 3);
		mt_permutation(&st2, perm, 50);
		CHECK(memcmp(chosen, perm, sizeof(chosen)) == 0, "choice without replacement is permutation(pop)[:size]");
	}
}

/* The reference MT19937 twist and tempering (the published code's loop, with a modulo). */
static void
ref_regenerate(uint32_t *k)
{
	int			i;

	for (i = 0; i < 624; i++)
	{
		uint32_t	y = (k[i] & 0x80000000U) | (k[(i + 1) % 624] & 0x7fffffffU);

		k[i] = k[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1U) ? 0x9908b0dfU : 0U);
	}
}

static uint32_t
ref_temper(uint32_t y)
{
	y ^= (y >> 11);
	y ^= (y << 7) & 0x9d2c5680U;
	y ^= (y << 15) & 0xefc60000U;
	y ^= (y >> 18);
	return y;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/*
 * test_mt_blocks: the block refill (plain C and AVX2) against the reference
 * for several seeds over many 624-word refills, the dispatched stream across
 * refills, and mt_shuffle_tail64 against mt_shuffle64.
 */
static void
test_mt_blocks(void)
{
	static const uint32_t seeds[] = {0, 1, 42, 5489, 123456789, 0xffffffffU};
	static mt_state st,
				st2;
	uint32_t	ref[624];
	int			have_avx2;
	char		what[160];

	mt_seed(&st, 1);
	have_avx2 = mt_refill_with(&st, 1) == 0;
	printf("# AVX2 refill %s on this CPU\n", have_avx2 ? "available" : "not available");
	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++)
	{
		int			ok_plain = 1,
					ok_avx2 = 1,
					ok_stream = 1;

		for (int impl = 0; impl <= 1; impl++)
		{
			if (impl == 1 && !have_avx2)
				continue;
			mt_seed(&st, seeds[si]);
			memcpy(ref, st.key, sizeof(ref));
			for (int r = 0; r < 25; r++)
			{
				ref_regenerate(ref);
				mt_refill_with(&st, impl);
				for (int i = 0; i < 624; i++)
					if (st.key[i] != ref[i] || st.out[i] != ref_temper(ref[i]) || st.pos != 0)
					{
						if (impl == 0)
							ok_plain = 0;
						else
							ok_avx2 = 0;
					}
			}
		}
		/* the dispatched stream, read across 7 refills and at odd offsets */
		mt_seed(&st, seeds[si]);
		memcpy(ref, st.key, sizeof(ref));
		for (int i = 0; i < 624 * 7 + 5; i++)
		{
			if (i % 624 == 0)
				ref_regenerate(ref);
			if (mt_next32(&st) != ref_temper(ref[i % 624]))
				ok_stream = 0;
		}
		snprintf(what, sizeof(what), "seed %u: plain-C block refill equals the reference over 25 refills",
				 (unsigned) seeds[si]);
		CHECK(ok_plain, what);
		if (have_avx2)
		{
			snprintf(what, sizeof(what), "seed %u: AVX2 block refill equals the reference over 25 refills",
					 (unsigned) seeds[si]);
			CHECK(ok_avx2, what);
		}
		snprintf(what, sizeof(what), "seed %u: mt_next32 equals the reference stream over 7 refills",
				 (unsigned) seeds[si]);
		CHECK(ok_stream, what);
	}

	/* mt_shuffle_tail64: the tail as mt_shuffle64 leaves it, the same draws */
	{
		static const int64_t ns[] = {1, 2, 3, 10, 623, 624, 625, 5000, 70000};
		int			ok_tail = 1,
					ok_head = 1,
					ok_state = 1;

		for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
		{
			int64_t		n = ns[a];
			int64_t		keeps[] = {-1, 0, 1, 2, n / 5, n / 2, n - 1, n, n + 3};
			int64_t    *x = malloc(sizeof(int64_t) * (size_t) n);
			int64_t    *y = malloc(sizeof(int64_t) * (size_t) n);

			for (size_t b = 0; b < sizeof(keeps) / sizeof(keeps[0]); b++)
			{
				int64_t		keep = keeps[b],
							k = keep < 0 ? 0 : (keep > n ? n : keep);

				for (int64_t i = 0; i < n; i++)
					x[i] = y[i] = i;
				mt_seed(&st, (uint32_t) (7 + a * 31 + b));
				mt_seed(&st2, (uint32_t) (7 + a * 31 + b));
				/* start mid-block, so refills fall inside the draws */
				for (int i = 0; i < (int) (a * 97 % 624); i++)
				{
					(void) mt_next32(&st);
					(void) mt_next32(&st2);
				}
				mt_shuffle64(&st, x, n);
				mt_shuffle_tail64(&st2, y, n, keep);
				if (memcmp(x + k, y + k, sizeof(int64_t) * (size_t) (n - k)) != 0)
					ok_tail = 0;
				qsort(x, (size_t) k, sizeof(int64_t), cmp_i64);
				qsort(y, (size_t) k, sizeof(int64_t), cmp_i64);
				if (memcmp(x, y, sizeof(int64_t) * (size_t) k) != 0)
					ok_head = 0;
				for (int i = 0; i < 1300; i++)
					if (mt_next32(&st) != mt_next32(&st2))
						ok_state = 0;
			}
			free(x);
			free(y);
		}
		CHECK(ok_tail, "shuffle_tail64: positions from keep up equal shuffle64's, for n up to 70,000");
		CHECK(ok_head, "shuffle_tail64: positions below keep hold the same items as shuffle64's");
		CHECK(ok_state, "shuffle_tail64: the generator ends where shuffle64 leaves it");
	}
}

static void
test_siphash(void)
{
	unsigned char msg[15];
	int			i;

	for (i = 0; i < 15; i++)
		msg[i] = (unsigned char) i;
	/* SipHash paper, appendix A: key 00..0f, message 00..0e */
	CHECK(split_siphash24(UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908), msg, 15) ==
		  UINT64_C(0xa129ca6149be45e5), "SipHash-2-4 test vector");
}

static void
test_random(void)
{
	enum
	{
	N = 1001};
	int32_t		out[N],
				out2[N];
	SplitData	d;
	SplitSpec	s;
	int			k,
				ok;

	memset(&d, 0, sizeof(d));
	d.n = N;
	split_spec_init(&s, SPLIT_RANDOM);
	s.seed = 9;
	s.test_size = 0.2;
	CHECK_INT(run(&d, &s, out), 0, "random: 20% split");
	CHECK_INT(count_value(out, N, SPLIT_TEST), 201, "random: ceil(0.2 * 1001) test items");
	CHECK_INT(count_value(out, N, SPLIT_TRAIN), 800, "random: the rest train");
	run(&d, &s, out2);
	CHECK(memcmp(out, out2, sizeof(out)) == 0, "random: same seed, same split");
	s.seed = 10;
	run(&d, &s, out2);
	CHECK(memcmp(out, out2, sizeof(out)) != 0, "random: another seed, another split");

	s.test_size = 100;
	s.train_size = 300;
	CHECK_INT(run(&d, &s, out), 0, "random: counts");
	CHECK_INT(count_value(out, N, SPLIT_TEST), 100, "random: 100 test");
	CHECK_INT(count_value(out, N, SPLIT_TRAIN), 300, "random: 300 train");
	CHECK_INT(count_value(out, N, SPLIT_NEITHER), 601, "random: the rest in neither");

	split_spec_init(&s, SPLIT_RANDOM);
	s.folds = 7;
	CHECK_INT(run(&d, &s, out), 0, "random: 7 folds");
	ok = 1;
	for (k = 0; k < 7; k++)
		if (count_value(out, N, k) != N / 7 + (k < N % 7))
			ok = 0;
	CHECK(ok, "random folds partition the items with KFold's sizes");
}

static void
test_stratified(void)
{
	enum
	{
	N = 5000, C = 7};
	int32_t    *label = malloc(sizeof(int32_t) * N),
			   *out = malloc(sizeof(int32_t) * N);
	int64_t		m[C] = {0},
				t[C] = {0},
				f[C][5];
	SplitData	d;
	SplitSpec	s;
	int			i,
				c,
				k,
				ok;

	for (i = 0; i < N; i++)
	{
		/* skewed: class c with weight 2^-c, class 6 tiny */
		int			r = (int) lcg(1000);

		label[i] = r < 500 ? 0 : r < 750 ? 1 : r < 870 ? 2 : r < 940 ? 3 : r < 975 ? 4 : r < 997 ? 5 : 6;
		m[label[i]]++;
	}
	memset(&d, 0, sizeof(d));
	d.n = N;
	d.label = label;
	d.n_classes = C;
	split_spec_init(&s, SPLIT_STRATIFIED);
	s.seed = 5;
	s.test_size = 0.3;
	CHECK_INT(run(&d, &s, out), 0, "stratified: 30% split");
	CHECK_INT(count_value(out, N, SPLIT_TEST), 1500, "stratified: exactly 1500 test");
	for (i = 0; i < N; i++)
		t[label[i]] += out[i] == SPLIT_TEST;
	ok = 1;
	for (c = 0; c < C; c++)
		if (fabs((double) t[c] - (double) m[c] * 0.3) >= 1.0)
			ok = 0;
	CHECK(ok, "stratified: each class's test count within 1 of its share");

	s.test_size = NAN;
	s.n_test_per_label = 2;
	CHECK_INT(run(&d, &s, out), 0, "stratified: n_test_per_label 2");
	memset(t, 0, sizeof(t));
	for (i = 0; i < N; i++)
		t[label[i]] += out[i] == SPLIT_TEST;
	ok = 1;
	for (c = 0; c < C; c++)
		if (t[c] != 2)
			ok = 0;
	CHECK(ok, "stratified: exactly 2 test items per class");
	CHECK_INT(count_value(out, N, SPLIT_TRAIN), N - 2 * C, "stratified: all others train");

	s.n_test_per_label = m[6];
	CHECK_INT(run(&d, &s, out), -1, "stratified: n_test_per_label >= a class's size fails");
	{
		char		want[64];

		snprintf(want, sizeof(want), "class 6, which has %lld items", (long long) m[6]);
		CHECK(strstr(err, want) != NULL, "stratified: the error names the class and its size");
	}
	s.n_test_per_label = 0;
	CHECK_INT(run(&d, &s, out), -1, "stratified: n_test_per_label 0 fails");
	s.n_test_per_label = 1;
	s.test_size = 0.2;
	CHECK_INT(run(&d, &s, out), -1, "stratified: n_test_per_label with test_size fails");

	split_spec_init(&s, SPLIT_STRATIFIED);
	s.folds = 5;
	s.seed = 77;
	CHECK_INT(run(&d, &s, out), 0, "stratified: 5 folds");
	memset(f, 0, sizeof(f));
	for (i = 0; i < N; i++)
		f[label[i]][out[i]]++;
	ok = 1;
	for (c = 0; c < C; c++)
		for (k = 0; k < 5; k++)
			if (f[c][k] < m[c] / 5 || f[c][k] > m[c] / 5 + 1)
				ok = 0;
	CHECK(ok, "stratified folds: each class's count per fold within 1");
	ok = 1;
	for (k = 0; k < 5; k++)
		if (count_value(out, N, k) != N / 5)
			ok = 0;
	CHECK(ok, "stratified folds: KFold's fold sizes");

	/* a class with one item: allowed, lands on one side */
	label[0] = 6;
	for (i = 1; i < N; i++)
		if (label[i] == 6)
			label[i] = 5;
	split_spec_init(&s, SPLIT_STRATIFIED);
	s.test_size = 0.25;
	CHECK_INT(run(&d, &s, out), 0, "stratified: a class with 1 item is allowed");
	free(label);
	free(out);
}

static void
test_group(void)
{
	enum
	{
	N = 3000, G = 300, C = 4};
	int32_t    *group = malloc(sizeof(int32_t) * N),
			   *label = malloc(sizeof(int32_t) * N),
			   *out = malloc(sizeof(int32_t) * N),
			   *out2 = malloc(sizeof(int32_t) * N);
	SplitData	d;
	SplitSpec	s;
	int64_t		nt;
	int			i,
				k,
				ok;

	for (i = 0; i < N; i++)
	{
		group[i] = (int32_t) (lcg(10) < 3 ? lcg(20) : lcg(G));	/* some big groups */
		label[i] = lcg(10) < 7 ? group[i] % C : (int32_t) lcg(C);
	}
	memset(&d, 0, sizeof(d));
	d.n = N;
	d.group = group;
	d.n_groups = G;
	split_spec_init(&s, SPLIT_GROUP);
	s.seed = 1;
	s.test_size = 0.2;
	CHECK_INT(run(&d, &s, out), 0, "group: 20% split");
	CHECK(groups_ok(group, G, out, N), "group: no group on two sides");
	nt = count_value(out, N, SPLIT_TEST);
	CHECK(llabs(nt - 600) <= 5, "group: test size within 5 items of 600");
	run(&d, &s, out2);
	CHECK(memcmp(out, out2, sizeof(int32_t) * N) == 0, "group: same seed, same split");

	s.test_size = NAN;
	s.folds = 6;
	CHECK_INT(run(&d, &s, out), 0, "group: 6 folds");
	CHECK(groups_ok(group, G, out, N), "group folds: no group in two folds");
	ok = 1;
	for (k = 0; k < 6; k++)
		if (llabs(count_value(out, N, k) - 500) > 10)
			ok = 0;
	CHECK(ok, "group folds: sizes within 10 of 500");
	s.folds = G + 1;
	CHECK_INT(run(&d, &s, out), -1, "group: more folds than groups fails");

	d.label = label;
	d.n_classes = C;
	split_spec_init(&s, SPLIT_STRATIFIED_GROUP);
	s.seed = 3;
	s.test_size = 0.25;
	CHECK_INT(run(&d, &s, out), 0, "stratified group: 25% split");
	CHECK(groups_ok(group, G, out, N), "stratified group: no group on two sides");
	{
		int64_t		m[C] = {0},
					t[C] = {0};
		double		worst = 0;
		int			c;

		nt = count_value(out, N, SPLIT_TEST);
		for (i = 0; i < N; i++)
		{
			m[label[i]]++;
			t[label[i]] += out[i] == SPLIT_TEST;
		}
		for (c = 0; c < C; c++)
		{
			double		e = fabs((double) t[c] / (double) nt - (double) m[c] / N);

			if (e > worst)
				worst = e;
		}
		CHECK(worst < 0.01, "stratified group: class shares in test within 0.01");
		CHECK(llabs(nt - 750) <= 10, "stratified group: test size within 10 of 750");
	}
	s.test_size = NAN;
	s.folds = 4;
	CHECK_INT(run(&d, &s, out), 0, "stratified group: 4 folds");
	CHECK(groups_ok(group, G, out, N), "stratified group folds: no group in two folds");
	ok = 1;
	for (k = 0; k < 4; k++)
		if (count_value(out, N, k) == 0)
			ok = 0;
	CHECK(ok, "stratified group folds: none empty");

	/* two groups, two folds: each fold gets one */
	for (i = 0; i < N; i++)
		group[i] = i < N - 1 ? 0 : 1;
	s.folds = 2;
	CHECK_INT(run(&d, &s, out), 0, "stratified group: 2 groups, 2 folds");
	CHECK(count_value(out, N, 0) > 0 && count_value(out, N, 1) > 0, "stratified group: no fold left empty");
	d.label = NULL;
	s.method = SPLIT_STRATIFIED_GROUP;
	CHECK_INT(run(&d, &s, out), -1, "stratified group without labels fails");
	free(group);
	free(label);
	free(out);
	free(out2);
}

static void
test_iterative(void)
{
	enum
	{
	N = 4000, L = 12};
	int64_t    *offs = malloc(sizeof(int64_t) * (N + 1));
	int32_t    *labs = malloc(sizeof(int32_t) * N * 4),
			   *group = malloc(sizeof(int32_t) * N),
			   *out = malloc(sizeof(int32_t) * N);
	int64_t		D[L] = {0},
				t[L] = {0},
				p = 0;
	SplitData	d;
	SplitSpec	s;
	int			i,
				l,
				k,
				ok;

	offs[0] = 0;
	for (i = 0; i < N; i++)
	{
		int			used = 0;

		for (l = 0; l < L; l++)
			if (lcg(100) < (uint32_t) (40 / (l + 1)) && used < 4)
			{
				labs[p++] = l;
				D[l]++;
				used++;
			}
		offs[i + 1] = p;
		group[i] = i / 4;
	}
	memset(&d, 0, sizeof(d));
	d.n = N;
	d.ml_offsets = offs;
	d.ml_labels = labs;
	d.n_classes = L;
	split_spec_init(&s, SPLIT_ITERATIVE);
	s.seed = 11;
	s.test_size = 0.2;
	CHECK_INT(run(&d, &s, out), 0, "iterative: 20% split");
	for (i = 0; i < N; i++)
		for (p = offs[i]; p < offs[i + 1]; p++)
			t[labs[p]] += out[i] == SPLIT_TEST;
	ok = 1;
	for (l = 0; l < L; l++)
		if (fabs((double) t[l] - 0.2 * (double) D[l]) > 2)
			ok = 0;
	CHECK(ok, "iterative: each label's test count within 2 of its share");
	CHECK(llabs(count_value(out, N, SPLIT_TEST) - 800) <= 8, "iterative: test size within 8 of 800");

	s.test_size = NAN;
	s.folds = 5;
	CHECK_INT(run(&d, &s, out), 0, "iterative: 5 folds");
	ok = 1;
	for (k = 0; k < 5; k++)
		if (llabs(count_value(out, N, k) - 800) > 8)
			ok = 0;
	CHECK(ok, "iterative folds: sizes within 8 of 800");

	d.group = group;
	d.n_groups = N / 4;
	CHECK_INT(run(&d, &s, out), 0, "iterative with groups: 5 folds");
	CHECK(groups_ok(group, N / 4, out, N), "iterative with groups: no group in two folds");

	d.group = NULL;
	s.folds = 0;
	s.test_size = 0.5;
	{
		const int64_t doffs[3] = {0, 2, 3};
		const int32_t dlabs[3] = {3, 3, 1};
		SplitData	dd = d;

		dd.n = 2;
		dd.ml_offsets = doffs;
		dd.ml_labels = dlabs;
		CHECK_INT(run(&dd, &s, out), -1, "iterative: a label twice on one item fails");
		CHECK(strstr(err, "twice") != NULL, "iterative: the error says so");
	}
	/* many labels: the heap path (more than 512 labels) */
	{
		enum
		{
		ML = 700};
		int64_t    *D2 = calloc(ML, sizeof(int64_t)),
				   *t2 = calloc(ML, sizeof(int64_t));
		int32_t    *labs2 = malloc(sizeof(int32_t) * N * 3);

		p = 0;
		for (i = 0; i < N; i++)
		{
			int32_t		a = (int32_t) lcg(ML),
						b = (int32_t) lcg(40);

			labs2[p++] = a;
			D2[a]++;
			if (b != a)
			{
				labs2[p++] = b;
				D2[b]++;
			}
			offs[i + 1] = p;
		}
		d.ml_labels = labs2;
		d.n_classes = ML;
		split_spec_init(&s, SPLIT_ITERATIVE);
		s.seed = 5;
		s.test_size = 0.25;
		CHECK_INT(run(&d, &s, out), 0, "iterative: 700 labels");
		for (i = 0; i < N; i++)
			for (p = offs[i]; p < offs[i + 1]; p++)
				t2[labs2[p]] += out[i] == SPLIT_TEST;
		/*
		 * Each item has a rare label, placed first, so the 40 common labels
		 * are mostly placed by the rare labels' choices (as the paper's
		 * algorithm does): a looser bound than above.
		 */
		ok = 1;
		for (l = 0; l < ML; l++)
			if (fabs((double) t2[l] - 0.25 * (double) D2[l]) > 15)
				ok = 0;
		CHECK(ok, "iterative, 700 labels: each label's test count within 15 of its share");
		CHECK(llabs(count_value(out, N, SPLIT_TEST) - 1000) <= 60, "iterative, 700 labels: test size within 60 of 1000");
		d.ml_labels = labs;
		d.n_classes = L;
		free(D2);
		free(t2);
		free(labs2);
	}
	for (i = 0; i <= N; i++)
		offs[i] = 0;
	CHECK_INT(run(&d, &s, out), -1, "iterative: an empty label set fails");
	free(offs);
	free(labs);
	free(group);
	free(out);
}

static void
test_hash(void)
{
	enum
	{
	N = 2000};
	char		buf[N][24];
	const char *ids[N];
	size_t		lens[N];
	int32_t		out[N],
				out2[N];
	SplitData	d;
	SplitSpec	s;
	int			i;
	int64_t		nt;

	for (i = 0; i < N; i++)
	{
		snprintf(buf[i], sizeof(buf[i]), "item-%d", i);
		ids[i] = buf[i];
		lens[i] = strlen(buf[i]);
	}
	memset(&d, 0, sizeof(d));
	d.n = N / 2;
	d.id = ids;
	d.id_len = lens;
	split_spec_init(&s, SPLIT_HASH);
	s.seed = 99;
	s.test_size = 0.3;
	CHECK_INT(run(&d, &s, out), 0, "hash: 30% split of 1000");
	d.n = N;
	CHECK_INT(run(&d, &s, out2), 0, "hash: 30% split of 2000");
	CHECK(memcmp(out, out2, sizeof(int32_t) * (N / 2)) == 0, "hash: adding items moves no earlier one");
	nt = count_value(out2, N, SPLIT_TEST);
	CHECK(nt > 500 && nt < 700, "hash: about 30% test");
	s.seed = 100;
	run(&d, &s, out);
	CHECK(memcmp(out, out2, sizeof(out)) != 0, "hash: the seed changes the key");
	s.test_size = 10;
	CHECK_INT(run(&d, &s, out), -1, "hash: counts are refused");
	s.test_size = NAN;
	s.folds = 4;
	CHECK_INT(run(&d, &s, out), 0, "hash: 4 folds");
	CHECK(count_value(out, N, 0) > 400 && count_value(out, N, 3) > 400, "hash folds: about a quarter each");
	ids[1500] = ids[17];
	lens[1500] = lens[17];
	CHECK_INT(run(&d, &s, out), -1, "hash: duplicate ids fail");
	CHECK(strstr(err, "17") && strstr(err, "1500"), "hash: the error names both items");
}

static void
test_sklearn_and_edges(void)
{
	int32_t		out[64],
				label[64],
				group[64];
	SplitData	d;
	SplitSpec	s;
	int			i,
				k,
				ok;

	memset(&d, 0, sizeof(d));
	split_spec_init(&s, SPLIT_RANDOM);
	CHECK_INT(run(&d, &s, NULL), 0, "empty input: nothing to do");
	s.method = SPLIT_STRATIFIED_GROUP;
	CHECK_INT(run(&d, &s, NULL), 0, "empty input: grouped method too");
	s.method = SPLIT_SKLEARN;
	CHECK_INT(run(&d, &s, NULL), -1, "empty input: SPLIT_SKLEARN fails like scikit-learn");

	d.n = 64;
	for (i = 0; i < 64; i++)
	{
		label[i] = i % 3;
		group[i] = i / 8;
	}
	split_spec_init(&s, SPLIT_SKLEARN);
	s.folds = 5;
	s.seed = 4;
	CHECK_INT(run(&d, &s, out), 0, "sklearn: KFold");
	ok = 1;
	for (k = 0; k < 5; k++)
		if (count_value(out, 64, k) != 64 / 5 + (k < 64 % 5))
			ok = 0;
	CHECK(ok, "sklearn KFold: fold sizes");
	d.label = label;
	d.n_classes = 3;
	CHECK_INT(run(&d, &s, out), 0, "sklearn: StratifiedKFold");
	d.group = group;
	d.n_groups = 8;
	CHECK_INT(run(&d, &s, out), 0, "sklearn: StratifiedGroupKFold");
	CHECK(groups_ok(group, 8, out, 64), "sklearn StratifiedGroupKFold: no group in two folds");
	s.shuffle = 0;
	CHECK_INT(run(&d, &s, out), 0, "sklearn: StratifiedGroupKFold without shuffling");
	CHECK(groups_ok(group, 8, out, 64), "sklearn StratifiedGroupKFold unshuffled: no group in two folds");
	s.shuffle = 1;
	s.folds = 30;
	CHECK_INT(run(&d, &s, out), -1, "sklearn StratifiedGroupKFold: folds above every class's size fail");
	s.folds = 5;
	d.label = NULL;
	d.n_classes = 0;
	CHECK_INT(run(&d, &s, out), 0, "sklearn: GroupKFold");
	CHECK(groups_ok(group, 8, out, 64), "sklearn GroupKFold: no group in two folds");
	ok = 1;
	for (k = 0; k < 5; k++)
		if (count_value(out, 64, k) != (k < 3 ? 16 : 8))
			ok = 0;
	CHECK(ok, "sklearn GroupKFold: 8 equal groups go 2, 2, 2, 1, 1 to the lightest fold first");
	s.folds = 9;
	CHECK_INT(run(&d, &s, out), -1, "sklearn GroupKFold: more folds than groups fail");
	s.folds = 5;
	d.label = label;
	d.n_classes = 3;
	s.folds = 0;
	s.test_size = 2;
	CHECK_INT(run(&d, &s, out), 0, "sklearn: GroupShuffleSplit with 2 test groups");
	CHECK_INT(count_value(out, 64, SPLIT_TEST), 16, "sklearn GroupShuffleSplit: 2 groups of 8 in test");
	CHECK(groups_ok(group, 8, out, 64), "sklearn GroupShuffleSplit: no group on two sides");
	d.group = NULL;

	split_spec_init(&s, SPLIT_RANDOM);
	s.test_size = 0;
	CHECK_INT(run(&d, &s, out), -1, "test_size 0 fails");
	s.test_size = 64;
	CHECK_INT(run(&d, &s, out), -1, "a test count >= n fails");
	s.test_size = 2.5;
	CHECK_INT(run(&d, &s, out), -1, "a non-integral count fails");
	s.test_size = 0.6;
	s.train_size = 0.6;
	CHECK_INT(run(&d, &s, out), -1, "fractions above 1 in sum fail");
	s.test_size = 40;
	s.train_size = 30;
	CHECK_INT(run(&d, &s, out), -1, "counts above n in sum fail");
	split_spec_init(&s, SPLIT_RANDOM);
	s.folds = 65;
	CHECK_INT(run(&d, &s, out), -1, "more folds than items fail");
	s.folds = 1;
	CHECK_INT(run(&d, &s, out), -1, "one fold fails");
	s.folds = 3;
	s.test_size = 0.2;
	CHECK_INT(run(&d, &s, out), -1, "test_size with folds fails");
	label[5] = 3;
	split_spec_init(&s, SPLIT_STRATIFIED);
	CHECK_INT(run(&d, &s, out), -1, "a class index out of range fails");
	label[5] = 2;
	d.group = group;
	d.n_groups = 8;
	CHECK_INT(run(&d, &s, out), -1, "SPLIT_STRATIFIED refuses groups");
	s.method = 42;
	CHECK_INT(run(&d, &s, out), -1, "an unknown method fails");
}

int
main(void)
{
	test_mt();
	test_mt_blocks();
	test_siphash();
	test_random();
	test_stratified();
	test_group();
	test_iterative();
	test_hash();
	test_sklearn_and_edges();
	return unit_done();
}
