/*
 * contours_modes_driver.c — runs the opencv and subpixel contour kernels
 * (src/detect/contours_opencv.c, contours_subpixel.c), after the optional
 * box blur, on an image from stdin, for test/parity/contours_opencv_parity.py
 * and contours_subpixel_parity.py, which build it:
 *
 *	cc -std=c11 -O2 -Isrc -o DRIVER test/parity/contours_modes_driver.c \
 *	   src/detect/contours_opencv.c src/detect/contours_subpixel.c \
 *	   src/detect/contours.c src/util/errbuf.c -lm
 *
 *	DRIVER opencv ROWS COLS LEVEL BLUR
 *	                              stdin: ROWS*COLS doubles (native binary);
 *	                              stdout (text): "N", then per contour
 *	                              "parent max_value n x0 y0 x1 y1 ..."
 *	                              (max_value %.17g, nan for holes)
 *	DRIVER subpixel ROWS COLS LEVEL BLUR HIGH_CONNECTED HIGH_ORIENTED
 *	                              stdin as opencv; stdout: "N", then per
 *	                              contour "closed n r0 c0 r1 c1 ..." (%.17g)
 *
 * Errors go to stderr with exit status 1.
 */
#include "detect/contours.h"
#include "detect/contours_opencv.h"
#include "detect/contours_subpixel.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

int
main(int argc, char **argv)
{
	char		err[256] = "";
	int64_t		rows,
				cols;
	double	   *img;
	OpencvContours c;
	int			blur;

	bool		subpixel;

	if (argc < 6 || (strcmp(argv[1], "opencv") != 0 && strcmp(argv[1], "subpixel") != 0) ||
		(strcmp(argv[1], "subpixel") == 0 && argc != 8))
	{
		fprintf(stderr, "usage: DRIVER opencv|subpixel ROWS COLS LEVEL BLUR [HIGH_CONNECTED HIGH_ORIENTED]\n");
		return 1;
	}
	subpixel = strcmp(argv[1], "subpixel") == 0;
	argv++;
	rows = atoll(argv[1]);
	cols = atoll(argv[2]);
	blur = atoi(argv[4]);
	img = malloc((size_t) (rows * cols + 1) * sizeof(double));
	if (img == NULL || fread(img, sizeof(double), (size_t) (rows * cols), stdin) != (size_t) (rows * cols))
	{
		fprintf(stderr, "short input\n");
		return 1;
	}
	/* as mlops.contours does: nodata (NaN) cells count as 0 in the blur */
	if (blur > 1)
		for (int64_t i = 0; i < rows * cols; i++)
			if (isnan(img[i]))
				img[i] = 0;
	if (blur > 1 && contour_box_blur(img, img, rows, cols, blur, &A, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (subpixel)
	{
		SubpixelContours sc;

		if (contour_subpixel(img, rows, cols, atof(argv[3]), atoi(argv[5]) != 0, atoi(argv[6]) != 0,
							 &sc, &A, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%lld\n", (long long) sc.n_contours);
		for (int64_t i = 0; i < sc.n_contours; i++)
		{
			printf("%d %lld", subpixel_contour_closed(&sc, i) ? 1 : 0,
				   (long long) (sc.start[i + 1] - sc.start[i]));
			for (int64_t k = sc.start[i]; k < sc.start[i + 1]; k++)
				printf(" %.17g %.17g", sc.rc[2 * k], sc.rc[2 * k + 1]);
			printf("\n");
		}
		subpixel_contours_free(&sc, &A);
		free(img);
		return 0;
	}
	if (contour_opencv(img, rows, cols, atof(argv[3]), &c, &A, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%lld\n", (long long) c.n_contours);
	for (int64_t i = 0; i < c.n_contours; i++)
	{
		printf("%lld %.17g %lld", (long long) c.parent[i], c.max_value[i],
			   (long long) (c.start[i + 1] - c.start[i]));
		for (int64_t k = c.start[i]; k < c.start[i + 1]; k++)
			printf(" %d %d", (int) c.xy[2 * k], (int) c.xy[2 * k + 1]);
		printf("\n");
	}
	opencv_contours_free(&c, &A);
	free(img);
	return 0;
}
