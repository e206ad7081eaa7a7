/*
 * merge_bench.c — micro-benchmark of merge_points (src/detect/merge.c,
 * merge_iterative.c),
 * MERGE_ITERATIVE_MEAN, plus SINGLE_LINK and DBSCAN for scale.  Reads N x
 * then N y doubles (native binary) from FILE, or makes N clustered points
 * itself (10 per cluster, sigma 0.001, in a 10 x 10 degree box) when no
 * file is given; prints the best and median of several runs.
 * test/parity/merge_parity.py --bench N runs it on the points it times
 * merge_similar_sites on (about 6.3 s for 100,000 points; the target is
 * 60 times faster).
 *
 *	cc -std=c11 -O2 -Isrc -o /tmp/merge_bench test/bench/kernels/merge_bench.c src/detect/merge.c \
 *	   src/detect/merge_iterative.c src/util/errbuf.c -lm
 *	/tmp/merge_bench [FILE|-] [N] [RADIUS]
 */
#define _POSIX_C_SOURCE 199309L
#include "detect/merge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 7

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
uniform(unsigned long long *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (double) (*s >> 11) / 9007199254740992.0;
}

int
main(int argc, char **argv)
{
	static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
	int64_t		n = argc > 2 ? atoll(argv[2]) : 100000;
	double		radius = argc > 3 ? atof(argv[3]) : 0.0025;
	double	   *x = malloc((size_t) n * sizeof(double));
	double	   *y = malloc((size_t) n * sizeof(double));
	int32_t    *so = malloc((size_t) n * sizeof(int32_t));
	const char *names[] = {"iterative mean", "single link", "dbscan(3)"};

	if (argc > 1 && strcmp(argv[1], "-") != 0)
	{
		FILE	   *f = fopen(argv[1], "rb");

		if (!f || fread(x, sizeof(double), (size_t) n, f) != (size_t) n ||
			fread(y, sizeof(double), (size_t) n, f) != (size_t) n)
		{
			fprintf(stderr, "cannot read %lld points from %s\n", (long long) n, argv[1]);
			return 1;
		}
		fclose(f);
	}
	else
	{
		unsigned long long s = 42;
		int64_t		k = n / 10 ? n / 10 : 1;
		double	   *cx = malloc((size_t) k * sizeof(double));
		double	   *cy = malloc((size_t) k * sizeof(double));

		for (int64_t c = 0; c < k; c++)
		{
			cx[c] = 100 + 10 * uniform(&s);
			cy[c] = -10 + 10 * uniform(&s);
		}
		for (int64_t i = 0; i < n; i++)
		{
			int64_t		c = (int64_t) (uniform(&s) * (double) k);
			double		u1 = uniform(&s) + 1e-300,
						u2 = uniform(&s);

			x[i] = cx[c] + 0.001 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
			y[i] = cy[c] + 0.001 * sqrt(-2 * log(u1)) * sin(6.283185307179586 * u2);
		}
		free(cx);
		free(cy);
	}
	for (int m = 0; m < 3; m++)
	{
		double		t[RUNS];
		int64_t		ns = 0;

		for (int r = 0; r < RUNS; r++)
		{
			double	   *xy = NULL;
			char		err[128];
			double		t0 = now_ms();

			if (merge_points(x, y, n, radius, (MergeMethod) m, 3, so, &xy, &ns, &A, err, sizeof(err)) != 0)
			{
				fprintf(stderr, "merge_points: %s\n", err);
				return 1;
			}
			t[r] = now_ms() - t0;
			free(xy);
		}
		qsort(t, RUNS, sizeof(double), cmp_double);
		printf("%s: %lld points, %lld sites: best %.2f ms, median %.2f ms\n",
			   names[m], (long long) n, (long long) ns, t[0], t[RUNS / 2]);
	}
	free(x);
	free(y);
	free(so);
	return 0;
}
