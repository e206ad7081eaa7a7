/*
 * blobs_driver.c
 *	  The parity driver for src/detect/blobs.c: reads one request on stdin,
 *	  prints the answer on stdout (blobs_parity.py writes the requests and
 *	  compares the answers with scikit-image).
 *
 *	  Request "B": a line "B method rows cols" (method doh, log or dog), a
 *	  line of options "min_sigma max_sigma num_sigma sigma_ratio threshold
 *	  has_threshold threshold_rel overlap log_scale exclude_border
 *	  pred_threshold tile_rows tile_cols" (nan for "default" / "None" /
 *	  "off"), then rows * cols pixels, row-major.  Answer: "n", then n lines
 *	  "row col sigma value" (%.17g), or "error: reason" and exit status 2.
 *
 *	  Request "S": "S n" and n numbers; answer: blob_argsort_desc's order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/blobs.h"

int
main(void)
{
	char		kind[8],
				meth[8];
	mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;

	if (scanf("%7s", kind) != 1)
		return 1;
	if (strcmp(kind, "S") == 0)
	{
		long long	n;
		double	   *v;
		int64_t    *perm;

		if (scanf("%lld", &n) != 1 || n < 0)
			return 1;
		v = malloc(sizeof(double) * (n + 1));
		perm = malloc(sizeof(int64_t) * (n + 1));
		for (long long i = 0; i < n; i++)
			if (scanf("%lf", &v[i]) != 1)
				return 1;
		blob_argsort_desc(v, perm, n);
		for (long long i = 0; i < n; i++)
			printf("%lld\n", (long long) perm[i]);
		free(v);
		free(perm);
		return 0;
	}
	else
	{
		long long	rows,
					cols;
		BlobOptions o;
		BlobMethod	m;
		double	   *img;
		Blob	   *out;
		int64_t		n;
		char		err[256];
		long long	tr,
					tc;

		if (scanf("%7s %lld %lld", meth, &rows, &cols) != 3)
			return 1;
		m = strcmp(meth, "doh") == 0 ? BLOB_DOH : strcmp(meth, "log") == 0 ? BLOB_LOG : BLOB_DOG;
		blob_options_default(m, &o);
		if (scanf("%lf %lf %d %lf %lf %d %lf %lf %d %d %lf %lld %lld",
				  &o.min_sigma, &o.max_sigma, &o.num_sigma, &o.sigma_ratio,
				  &o.threshold, &o.has_threshold, &o.threshold_rel, &o.overlap,
				  &o.log_scale, &o.exclude_border, &o.pred_threshold, &tr, &tc) != 13)
			return 1;
		o.tile_rows = tr;
		o.tile_cols = tc;
		img = malloc(sizeof(double) * (rows * cols + 1));
		for (long long i = 0; i < rows * cols; i++)
			if (scanf("%lf", &img[i]) != 1)
				return 1;
		if (blob_detect(img, rows, cols, m, &o, &out, &n, &a, err, sizeof err) < 0)
		{
			printf("error: %s\n", err);
			free(img);
			return 2;
		}
		printf("%lld\n", (long long) n);
		for (int64_t i = 0; i < n; i++)
			printf("%.17g %.17g %.17g %.17g\n", out[i].row, out[i].col, out[i].sigma, out[i].value);
		free(out);
		free(img);
	}
	return 0;
}
