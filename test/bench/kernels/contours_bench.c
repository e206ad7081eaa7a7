/*
 * contours_bench.c — micro-benchmark of the cells-mode contour kernel
 * (src/detect/contours.c) on the case: a 4096 x 4096 image holding
 * about 940 blobs (discs of radius 6 to 40 with ragged, noisy edges, some
 * overlapping), traced at level 0.5 with connectivity 4 and 8.  GDAL
 * Polygonize takes about 158 ms on it; the target is 20 ms, rings
 * included.  Prints the best and median of several runs.
 *
 *	cc -std=c11 -O2 -Isrc -o /tmp/contours_bench test/bench/kernels/contours_bench.c src/detect/contours.c src/util/errbuf.c -lm
 *	/tmp/contours_bench [runs [FILE]]
 *
 * With FILE it also writes the image there (4096 * 4096 native doubles),
 * for test/bench/kernels/contours_gdal.py to time GDAL on the same mask.
 */
#define _POSIX_C_SOURCE 199309L
#include "detect/contours.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SIDE	4096
#define BLOBS	940

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

int
main(int argc, char **argv)
{
	static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;
	int			runs = argc > 1 ? atoi(argv[1]) : 15;
	double	   *img = calloc((size_t) SIDE * SIDE, sizeof(double));
	unsigned	seed = 42;
	double	   *t = malloc(sizeof(double) * (size_t) runs);

	for (int b = 0; b < BLOBS; b++)
	{
		double		cx = (seed = seed * 1103515245u + 12345u) % SIDE;
		double		cy = (seed = seed * 1103515245u + 12345u) % SIDE;
		double		rad = 6 + (seed = seed * 1103515245u + 12345u) % 35;

		for (int y = (int) fmax(0, cy - rad - 2); y < (int) fmin(SIDE, cy + rad + 2); y++)
			for (int x = (int) fmax(0, cx - rad - 2); x < (int) fmin(SIDE, cx + rad + 2); x++)
			{
				double		d = hypot(x - cx, y - cy);
				double		noise = ((seed = seed * 1103515245u + 12345u) >> 16) % 1000 / 1000.0;

				if (d < rad + 1.5 * noise)
					img[(size_t) y * SIDE + x] = fmax(img[(size_t) y * SIDE + x], 0.6 + noise * 0.4);
			}
	}
	if (argc > 2)
	{
		FILE	   *f = fopen(argv[2], "wb");

		if (!f || fwrite(img, sizeof(double), (size_t) SIDE * SIDE, f) != (size_t) SIDE * SIDE)
		{
			fprintf(stderr, "cannot write %s\n", argv[2]);
			return 1;
		}
		fclose(f);
	}
	for (int conn = 4; conn <= 8; conn += 4)
	{
		ContourSet	s;
		char		err[128];
		int64_t		np = 0,
					nr = 0,
					npt = 0,
					nc = 0;

		for (int r = 0; r < runs; r++)
		{
			double		t0 = now_ms();

			if (contour_cells(img, SIDE, SIDE, 0.5, conn, &s, &A, err, sizeof(err)) != 0)
			{
				fprintf(stderr, "contour_cells: %s\n", err);
				return 1;
			}
			t[r] = now_ms() - t0;
			np = s.n_polygons;
			nr = s.n_rings;
			npt = s.n_points;
			nc = s.n_components;
			contour_set_free(&s, &A);
		}
		qsort(t, (size_t) runs, sizeof(double), cmp_double);
		printf("connectivity %d: %lld polygons (%lld components), %lld rings, %lld points: best %.2f ms, median %.2f ms\n",
			   conn, (long long) np, (long long) nc, (long long) nr, (long long) npt, t[0], t[runs / 2]);
	}
	free(img);
	free(t);
	return 0;
}
