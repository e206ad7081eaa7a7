/*
 * entropy_kernel.c — the kernel alone for test/bench/active: entropy top-k
 * over a float32 matrix in memory (rows x classes, raw little-endian, as
 * numpy's tofile writes it), on one thread, exactly as select_batch's
 * aggregate does it for a float4[] column: the float4 screen on each row
 * once the heap is full, libm's score (on the row read as doubles) for the
 * rows it lets through, a bounded heap.  Prints the best of REPEAT runs in
 * milliseconds, the rows scored by libm, then the ids best first, one a
 * line.  run.sh builds it with the kernels:
 *
 *	cc -std=c11 -O2 -Isrc -o BIN test/bench/active/entropy_kernel.c src/active/select.c \
 *	   src/active/select_entropy.c src/metrics/uncertainty.c src/datasets/rng.c src/util/errbuf.c -lm
 *	BIN FILE ROWS CLASSES K REPEAT
 */
#define _POSIX_C_SOURCE 199309L
#include "active/select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
	int64_t		rows,
				k,
				scored = 0,
				got = 0,
				*ids;
	int			c,
				repeat;
	float	   *P;
	double	   *row,
				best = INFINITY;
	char		err[256];

	if (argc != 6)
	{
		fprintf(stderr, "usage: %s FILE ROWS CLASSES K REPEAT\n", argv[0]);
		return 2;
	}
	rows = atoll(argv[2]);
	c = atoi(argv[3]);
	k = atoll(argv[4]);
	repeat = atoi(argv[5]);
	P = malloc(sizeof(float) * (size_t) rows * c);
	row = malloc(sizeof(double) * c);
	ids = malloc(sizeof(int64_t) * k);
	if (!P || !row || !ids || (f = fopen(argv[1], "rb")) == NULL ||
		fread(P, sizeof(float), (size_t) rows * c, f) != (size_t) rows * c)
	{
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	for (int r = 0; r < repeat; r++)
	{
		double		t0 = now_ms();
		SelectHeap *h = select_heap_create(k, &a);

		scored = 0;
		for (int64_t i = 0; i < rows; i++)
		{
			const float *p = P + i * c;
			double		score,
						upper;

			if (select_heap_floor(h) > -INFINITY)
			{
				if (select_entropy_upper_f32(p, c, SELECT_PROBS_TOLERANCE, &upper, err, sizeof(err)) != 0)
				{
					fprintf(stderr, "row %lld: %s\n", (long long) i, err);
					return 1;
				}
				if (upper < select_heap_floor(h))
					continue;
			}
			for (int j = 0; j < c; j++)
				row[j] = p[j];
			if (select_row_score(SELECT_ENTROPY, row, c, i, 0, SELECT_PROBS_TOLERANCE, &score, err, sizeof(err)) != 0)
			{
				fprintf(stderr, "row %lld: %s\n", (long long) i, err);
				return 1;
			}
			scored++;
			select_heap_offer(h, score, i);
		}
		got = select_heap_result(h, ids, NULL);
		best = fmin(best, now_ms() - t0);
		select_heap_free(h);
	}
	printf("%.3f %lld %d\n", best, (long long) scored, select_entropy_f32_width());
	for (int64_t i = 0; i < got; i++)
		printf("%lld\n", (long long) ids[i]);
	return 0;
}
