/*
 * split_bench.c — the sklearn-mode splitting kernels on their own, for the
 * kernel-to-kernel line of test/bench/split: from the labels in memory
 * (int64 values, as numpy holds them) to the train and test index arrays
 * of StratifiedShuffleSplit's first split = train_test_split(stratify=y).
 * No I/O is timed.  Each run is what the glue does after reading the rows:
 * the labels interned (metrics/labels.c, with split_table's one-value
 * cache) and renumbered in sorted order (numpy.unique's), then
 * split_assign(SPLIT_SKLEARN, test_size, seed) (its input checks, the
 * draws, its check of the result), then the two index arrays built from
 * the sides (positions ascending), so that both sides of the comparison
 * start from label values and end with index arrays.
 *
 *	cc -std=c11 -O2 -Isrc -o /tmp/split_bench test/bench/kernels/split_bench.c \
 *	   src/datasets/split*.c (not *_sql.c, split_table.c) src/datasets/rng.c \
 *	   src/metrics/labels.c src/util/errbuf.c -lm
 *	/tmp/split_bench labels.i64 test_size seed runs sides-out.i32
 *
 * labels.i64 holds n int64 label values; the program prints one line
 * "split_bench n=N runs=R ms: t1 t2 ..." and writes the last run's side of
 * each item (int32: 0 train, 1 test, 2 neither) to sides-out.i32 for
 * bench.py to compare with scikit-learn's index sets.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "datasets/split.h"
#include "metrics/labels.h"
#include "util/alloc.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;
	FILE	   *f;
	long		size;
	int64_t		n,
				n_train = 0,
				n_test = 0;
	int64_t    *raw;
	int32_t    *label,
			   *out,
			   *order,
			   *rank;
	int64_t    *train_idx,
			   *test_idx;
	int			runs;
	SplitData	d = {0};
	SplitSpec	s;
	char		err[512];

	if (argc != 6)
	{
		fprintf(stderr, "usage: %s labels.i64 test_size seed runs sides-out.i32\n", argv[0]);
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
	{
		perror(argv[1]);
		return 1;
	}
	rewind(f);
	n = size / (long) sizeof(int64_t);
	raw = malloc(sizeof(int64_t) * (size_t) n);
	label = malloc(sizeof(int32_t) * (size_t) n);
	out = malloc(sizeof(int32_t) * (size_t) n);
	train_idx = malloc(sizeof(int64_t) * (size_t) n);
	test_idx = malloc(sizeof(int64_t) * (size_t) n);
	if (!raw || !label || !out || !train_idx || !test_idx ||
		fread(raw, sizeof(int64_t), (size_t) n, f) != (size_t) n)
	{
		fprintf(stderr, "split_bench: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	d.n = n;
	d.label = label;
	split_spec_init(&s, SPLIT_SKLEARN);
	s.test_size = atof(argv[2]);
	s.seed = (uint32_t) strtoul(argv[3], NULL, 10);
	runs = atoi(argv[4]);

	printf("split_bench n=%lld runs=%d ms:", (long long) n, runs);
	for (int r = 0; r < runs; r++)
	{
		double		t0 = now_ms();
		label_set  *ls = labels_create(&a);
		int64_t		last = 0;
		int32_t		last_code = -1;
		size_t		C;

		/* intern (one-value cache, as split_table's reader), then numpy.unique's order */
		for (int64_t i = 0; i < n; i++)
		{
			if (last_code < 0 || raw[i] != last)
			{
				last = raw[i];
				last_code = labels_intern_number(ls, (double) raw[i]);
				if (last_code < 0)
				{
					fprintf(stderr, "split_bench: cannot intern label %lld\n", (long long) raw[i]);
					return 1;
				}
			}
			label[i] = last_code;
		}
		C = labels_count(ls);
		order = malloc(sizeof(int32_t) * C);
		rank = malloc(sizeof(int32_t) * C);
		if (!order || !rank || labels_sort(ls, order) != 0)
		{
			fprintf(stderr, "split_bench: out of memory\n");
			return 1;
		}
		for (size_t c = 0; c < C; c++)
			rank[order[c]] = (int32_t) c;
		for (int64_t i = 0; i < n; i++)
			label[i] = rank[label[i]];
		d.n_classes = (int32_t) C;
		if (split_assign(&d, &s, out, &a, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "split_bench: %s\n", err);
			return 1;
		}
		n_train = n_test = 0;
		for (int64_t i = 0; i < n; i++)
		{
			if (out[i] == SPLIT_TRAIN)
				train_idx[n_train++] = i;
			else if (out[i] == SPLIT_TEST)
				test_idx[n_test++] = i;
		}
		labels_destroy(ls);
		free(order);
		free(rank);
		printf(" %.2f", now_ms() - t0);
	}
	printf("\n");
	if ((f = fopen(argv[5], "wb")) == NULL ||
		fwrite(out, sizeof(int32_t), (size_t) n, f) != (size_t) n || fclose(f) != 0)
	{
		perror(argv[5]);
		return 1;
	}
	fprintf(stderr, "split_bench: %lld train, %lld test\n", (long long) n_train, (long long) n_test);
	return 0;
}
