/*
 * blobs_bench.c — times blob_detect on an image read from a file of raw
 * doubles (rows cols path method [simd [tile_rows]]): prints "wall_seconds
 * cpu_seconds n_blobs".  Driven by blobs_bench.py, which times
 * scikit-image on the same image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/blobs.h"

int
main(int argc, char **argv)
{
	long long	rows,
				cols;
	double	   *img;
	FILE	   *f;
	BlobMethod	m;
	BlobOptions o;
	Blob	   *b;
	int64_t		n;
	char		err[256];
	struct timespec t0,
				t1,
				c0,
				c1;
	mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;

	if (argc < 5)
		return 1;
	rows = atoll(argv[1]);
	cols = atoll(argv[2]);
	m = strcmp(argv[4], "doh") == 0 ? BLOB_DOH : strcmp(argv[4], "log") == 0 ? BLOB_LOG : BLOB_DOG;
	img = malloc(sizeof(double) * rows * cols);
	f = fopen(argv[3], "rb");
	if (!f || fread(img, sizeof(double), rows * cols, f) != (size_t) (rows * cols))
		return 1;
	fclose(f);
	blob_options_default(m, &o);
	if (argc > 5)
		o.simd = atoi(argv[5]);
	if (argc > 6)
		o.tile_rows = atoll(argv[6]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	if (blob_detect(img, rows, cols, m, &o, &b, &n, &a, err, sizeof err) < 0)
	{
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	printf("%.4f %.4f %lld\n", (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec),
		   (c1.tv_sec - c0.tv_sec) + 1e-9 * (c1.tv_nsec - c0.tv_nsec), (long long) n);
	free(b);
	free(img);
	return 0;
}
