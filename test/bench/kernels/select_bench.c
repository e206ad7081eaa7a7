/*
 * select_bench.c — micro-benchmark of the active-learning selection kernels
 * (src/active/): core-set on 100,000 x 128 float embeddings with 1,000
 * labelled and b = 100 (1 and N threads), entropy top-100 over 1,000,000
 * rows of 50 classes (score + bounded heap, streaming; the rows as doubles
 * through the double screen, then as floats through the float4 screen,
 * as the glue reads float8[] and float4[] columns), BADGE and
 * cluster-margin on 100,000 x 128 with 10 classes and b = 100.  Prints
 * milliseconds.  With a second argument it writes the core-set picks and
 * the entropy top-100 ids there, one a line, for select_bench.py, which
 * draws the same data (numpy's RandomState(0).random_sample is the same
 * stream as rng.h's mt_random_sample), times numpy and compares picks.
 *
 *	cc -std=c11 -O2 -pthread -Isrc -o /tmp/select_bench test/bench/kernels/select_bench.c \
 *	   $(ls src/active/*.c | grep -v _sql.c) src/metrics/uncertainty.c src/datasets/rng.c \
 *	   src/util/errbuf.c src/spatial/parallel.c -lm
 *	/tmp/select_bench [threads [picks-file]]
 *	/usr/bin/python3 test/bench/kernels/select_bench.py picks-file
 */
#define _POSIX_C_SOURCE 199309L
#include "active/select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "datasets/rng.h"

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
	int			threads = argc > 1 ? atoi(argv[1]) : 2;
	int64_t		n = 100000,
				m = 1000,
				b = 100;
	int			d = 128;
	float	   *X = malloc(sizeof(float) * n * d);
	float	   *L = malloc(sizeof(float) * m * d);
	int64_t		picked[100];
	double		dist[100];
	char		err[256];
	mt_state	st;
	double		t0;
	FILE	   *out = NULL;

	if (argc > 2 && (out = fopen(argv[2], "w")) == NULL)
	{
		perror(argv[2]);
		return 1;
	}

	mt_seed(&st, 0);
	for (int64_t i = 0; i < n * d; i++)
		X[i] = (float) mt_random_sample(&st);
	for (int64_t i = 0; i < m * d; i++)
		L[i] = (float) mt_random_sample(&st);

	for (int th = 1; th <= threads; th += (threads > 1 ? threads - 1 : 1))
	{
		t0 = now_ms();
		if (select_coreset(X, n, d, L, m, b, th, picked, dist, &a, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (out && th == 1)
			for (int q = 0; q < 100; q++)
				fprintf(out, "%lld\n", (long long) picked[q]);
		printf("coreset 100000x128, m=1000, b=100, %d thread(s): %.0f ms (first picks %lld %lld %lld, dist %.6f)\n",
			   th, now_ms() - t0, (long long) picked[0], (long long) picked[1], (long long) picked[2], dist[0]);
	}

	{
		int64_t		rows = 1000000;
		int			c = 50;
		double	   *P = malloc(sizeof(double) * rows * c);
		SelectHeap *h;
		int64_t		ids[100];
		double		sc[100];

		for (int64_t i = 0; i < rows; i++)
		{
			double		s = 0.0;

			for (int j = 0; j < c; j++)
				s += (P[i * c + j] = mt_random_sample(&st));
			for (int j = 0; j < c; j++)
				P[i * c + j] /= s;
		}
		t0 = now_ms();
		h = select_heap_create(100, &a);
		for (int64_t i = 0; i < rows; i++)
		{
			double		score,
						upper;

			/* as the glue does: once the heap is full, the screen spares rows libm's logarithms */
			if (select_heap_floor(h) > -INFINITY)
			{
				if (select_entropy_upper(P + i * c, c, SELECT_PROBS_TOLERANCE, &upper, err, sizeof(err)) != 0)
				{
					fprintf(stderr, "%s\n", err);
					return 1;
				}
				if (upper < select_heap_floor(h))
					continue;
			}
			if (select_row_score(SELECT_ENTROPY, P + i * c, c, i, 0, SELECT_PROBS_TOLERANCE, &score, err, sizeof(err)) != 0)
			{
				fprintf(stderr, "%s\n", err);
				return 1;
			}
			select_heap_offer(h, score, i);
		}
		select_heap_result(h, ids, sc);
		if (out)
		{
			for (int q = 0; q < 100; q++)
				fprintf(out, "%lld\n", (long long) ids[q]);
			fclose(out);
		}
		printf("entropy top-100 over 1000000x50 (float8, the double screen, %d doubles a vector): %.0f ms (best id %lld, %.6f)\n",
			   select_entropy_screen_width(), now_ms() - t0, (long long) ids[0], sc[0]);
		select_heap_free(h);

		/*
		 * The same rows as float4, as the glue reads a float4[] column: the
		 * float4 screen on the row in place; only a row it lets through is
		 * converted to double and scored by libm.
		 */
		{
			float	   *F = malloc(sizeof(float) * rows * c);
			double		row[50];
			int64_t		scored = 0,
						ids32[100];
			double		sc32[100];

			for (int64_t i = 0; i < rows * c; i++)
				F[i] = (float) P[i];
			t0 = now_ms();
			h = select_heap_create(100, &a);
			for (int64_t i = 0; i < rows; i++)
			{
				double		score,
							upper;

				if (select_heap_floor(h) > -INFINITY)
				{
					if (select_entropy_upper_f32(F + i * c, c, SELECT_PROBS_TOLERANCE, &upper, err, sizeof(err)) != 0)
					{
						fprintf(stderr, "%s\n", err);
						return 1;
					}
					if (upper < select_heap_floor(h))
						continue;
				}
				for (int j = 0; j < c; j++)
					row[j] = F[i * c + j];
				if (select_row_score(SELECT_ENTROPY, row, c, i, 0, SELECT_PROBS_TOLERANCE, &score, err, sizeof(err)) != 0)
				{
					fprintf(stderr, "%s\n", err);
					return 1;
				}
				scored++;
				select_heap_offer(h, score, i);
			}
			select_heap_result(h, ids32, sc32);
			printf("entropy top-100 over 1000000x50 (float4 in place, the float4 screen, %d floats a vector): %.0f ms "
				   "(rows scored by libm %lld; best id %lld, %.6f)\n",
				   select_entropy_f32_width(), now_ms() - t0, (long long) scored, (long long) ids32[0], sc32[0]);
			select_heap_free(h);
			free(F);
		}
		free(P);
	}

	{
		int			c = 10;
		double	   *P = malloc(sizeof(double) * n * c);

		for (int64_t i = 0; i < n; i++)
		{
			double		s = 0.0;

			for (int j = 0; j < c; j++)
				s += (P[i * c + j] = mt_random_sample(&st));
			for (int j = 0; j < c; j++)
				P[i * c + j] /= s;
		}
		t0 = now_ms();
		if (select_badge(X, d, P, c, n, b, 1, SELECT_PROBS_TOLERANCE, picked, &a, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("badge 100000x128, 10 classes, b=100: %.0f ms\n", now_ms() - t0);
		t0 = now_ms();
		if (select_cluster_margin(X, d, P, c, n, b, 1, SELECT_PROBS_TOLERANCE, picked, &a, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("cluster_margin 100000x128, 10 classes, b=100: %.0f ms\n", now_ms() - t0);
		free(P);
	}
	free(X);
	free(L);
	return 0;
}
