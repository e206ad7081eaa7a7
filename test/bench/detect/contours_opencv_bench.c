/*
 * contours_opencv_bench.c — times the opencv-mode contour kernel
 * (src/detect/contours_opencv.c) on the image of
 * test/bench/kernels/contours_bench.c (4096 x 4096, ~940 ragged blobs,
 * level 0.5): contour_opencv_mask on its uint8 mask (what cv2.findContours
 * gets), and contour_opencv on the doubles (thresholding and max_value
 * included, what mlops.contours runs).  Writes the image for
 * contours_opencv_bench.py, which times cv2.findContours on the mask.
 *
 *	contours_opencv_bench RUNS FILE
 *
 * Prints "mask_best mask_median full_best full_median n_contours n_points"
 * (ms).
 */
#define _POSIX_C_SOURCE 199309L
#include "detect/contours_opencv.h"

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
	int			runs = argc > 1 ? atoi(argv[1]) : 9;
	double	   *img = calloc((size_t) SIDE * SIDE, sizeof(double));
	double	   *t = malloc(sizeof(double) * (size_t) (runs > 0 ? runs : 1));
	unsigned	seed = 42;
	OpencvContours c;
	char		err[128];
	FILE	   *f;
	uint8_t    *mask;

	if (runs < 1 || argc < 3 || img == NULL || t == NULL)
	{
		fprintf(stderr, "usage: contours_opencv_bench RUNS FILE\n");
		return 1;
	}
	/* the generator of test/bench/kernels/contours_bench.c */
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
	f = fopen(argv[2], "wb");
	if (!f || fwrite(img, sizeof(double), (size_t) SIDE * SIDE, f) != (size_t) SIDE * SIDE || fclose(f) != 0)
	{
		fprintf(stderr, "cannot write %s\n", argv[2]);
		return 1;
	}
	mask = malloc((size_t) SIDE * SIDE);
	if (mask == NULL)
		return 1;
	for (size_t i = 0; i < (size_t) SIDE * SIDE; i++)
		mask[i] = img[i] >= 0.5;
	for (int pass = 0; pass < 2; pass++)
	{
		for (int r = 0; r < runs; r++)
		{
			double		t0 = now_ms();
			int			rc = pass == 0 ? contour_opencv_mask(mask, SIDE, SIDE, &c, &A, err, sizeof(err))
				: contour_opencv(img, SIDE, SIDE, 0.5, &c, &A, err, sizeof(err));

			if (rc != 0)
			{
				fprintf(stderr, "contour_opencv: %s\n", err);
				return 1;
			}
			t[r] = now_ms() - t0;
			if (pass == 0 || r < runs - 1)
				opencv_contours_free(&c, &A);
		}
		qsort(t, (size_t) runs, sizeof(double), cmp_double);
		printf("%.3f %.3f ", t[0], t[runs / 2]);
	}
	printf("%lld %lld\n", (long long) c.n_contours, (long long) c.n_points);
	free(mask);
	opencv_contours_free(&c, &A);
	free(img);
	free(t);
	return 0;
}
