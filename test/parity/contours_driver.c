/*
 * contours_driver.c — a small program that runs the contour and merge
 * kernels (src/detect/contours.c, src/detect/merge.c, merge_iterative.c) on data from stdin
 * for the parity scripts test/parity/contours_parity.py and
 * merge_parity.py, which build it:
 *
 *	cc -std=c11 -O2 -Isrc -o DRIVER test/parity/contours_driver.c \
 *	   src/detect/contours.c src/detect/merge.c src/detect/merge_iterative.c \
 *	   src/util/errbuf.c -lm
 *
 *	DRIVER blur ROWS COLS K       stdin: ROWS*COLS doubles (native binary);
 *	                              stdout: the blurred doubles (binary)
 *	DRIVER cells ROWS COLS LEVEL CONN
 *	                              stdin: ROWS*COLS doubles; stdout (text):
 *	                              "N_POLYGONS N_COMPONENTS", then per polygon
 *	                              "cells part_of max_value xmin ymin xmax ymax
 *	                              n_rings area2_ring0 area2_ring1 ..." (twice
 *	                              the shoelace area of each ring)
 *	DRIVER wkt ROWS COLS LEVEL CONN
 *	                              stdin as cells; stdout: per component
 *	                              "part_of<TAB>cells<TAB>WKT", the WKT a
 *	                              POLYGON, or a MULTIPOLYGON of the polygons
 *	                              sharing part_of
 *	DRIVER merge METHOD RADIUS MIN_POINTS N
 *	                              METHOD iterative|single|dbscan; stdin: N x
 *	                              then N y doubles; stdout (text): "N_SITES",
 *	                              N site_of lines, then "x y" per site (%.17g)
 *
 * Errors go to stderr with exit status 1.
 */
#include "detect/contours.h"
#include "detect/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mlops_allocator A = MLOPS_MALLOC_ALLOCATOR;

static double *
read_doubles(size_t n)
{
	double	   *v = malloc((n ? n : 1) * sizeof(double));

	if (v == NULL || fread(v, sizeof(double), n, stdin) != n)
	{
		fprintf(stderr, "short input\n");
		exit(1);
	}
	return v;
}

int
main(int argc, char **argv)
{
	char		err[256] = "";

	if (argc == 5 && strcmp(argv[1], "blur") == 0)
	{
		int64_t		rows = atoll(argv[2]),
					cols = atoll(argv[3]);
		double	   *in = read_doubles((size_t) (rows * cols));
		double	   *out = malloc((size_t) (rows * cols + 1) * sizeof(double));

		if (contour_box_blur(in, out, rows, cols, atoi(argv[4]), &A, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		fwrite(out, sizeof(double), (size_t) (rows * cols), stdout);
		free(in);
		free(out);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "cells") == 0)
	{
		int64_t		rows = atoll(argv[2]),
					cols = atoll(argv[3]);
		double	   *in = read_doubles((size_t) (rows * cols));
		ContourSet	s;

		if (contour_cells(in, rows, cols, atof(argv[4]), atoi(argv[5]), &s, &A, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%lld %d\n", (long long) s.n_polygons, (int) s.n_components);
		for (int64_t p = 0; p < s.n_polygons; p++)
		{
			const ContourPolygon *P = &s.polygons[p];

			printf("%lld %d %.17g %lld %lld %lld %lld %d", (long long) P->cells, (int) P->part_of,
				   P->max_value, (long long) P->xmin, (long long) P->ymin,
				   (long long) P->xmax, (long long) P->ymax, (int) P->n_rings);
			for (int32_t g = 0; g < P->n_rings; g++)
			{
				int64_t		ring = P->first_ring + g;
				double		a = 0;

				for (int64_t k = s.ring_start[ring]; k + 1 < s.ring_start[ring + 1]; k++)
					a += s.xy[2 * k] * s.xy[2 * k + 3] - s.xy[2 * k + 2] * s.xy[2 * k + 1];
				printf(" %.17g", a);
			}
			printf("\n");
		}
		contour_set_free(&s, &A);
		free(in);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "wkt") == 0)
	{
		int64_t		rows = atoll(argv[2]),
					cols = atoll(argv[3]);
		double	   *in = read_doubles((size_t) (rows * cols));
		ContourSet	s;

		if (contour_cells(in, rows, cols, atof(argv[4]), atoi(argv[5]), &s, &A, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		for (int32_t comp = 0; comp < s.n_components; comp++)
		{
			int			parts = 0;
			int64_t		cells = 0;

			for (int64_t p = 0; p < s.n_polygons; p++)
				if (s.polygons[p].part_of == comp)
				{
					parts++;
					cells += s.polygons[p].cells;
				}
			printf("%d\t%lld\t%s", (int) comp, (long long) cells, parts > 1 ? "MULTIPOLYGON(" : "POLYGON");
			parts = 0;
			for (int64_t p = 0; p < s.n_polygons; p++)
			{
				const ContourPolygon *P = &s.polygons[p];

				if (P->part_of != comp)
					continue;
				printf("%s(", parts++ ? "," : "");
				for (int32_t g = 0; g < P->n_rings; g++)
				{
					int64_t		ring = P->first_ring + g;

					printf("%s(", g ? "," : "");
					for (int64_t k = s.ring_start[ring]; k < s.ring_start[ring + 1]; k++)
						printf("%s%g %g", k > s.ring_start[ring] ? "," : "", s.xy[2 * k], s.xy[2 * k + 1]);
					printf(")");
				}
				printf(")");
			}
			printf("%s\n", parts > 1 ? ")" : "");
		}
		contour_set_free(&s, &A);
		free(in);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "merge") == 0)
	{
		MergeMethod m = strcmp(argv[2], "iterative") == 0 ? MERGE_ITERATIVE_MEAN :
		strcmp(argv[2], "single") == 0 ? MERGE_SINGLE_LINK : MERGE_DBSCAN;
		int64_t		n = atoll(argv[5]);
		double	   *x = read_doubles((size_t) n);
		double	   *y = read_doubles((size_t) n);
		int32_t    *so = malloc((size_t) (n + 1) * sizeof(int32_t));
		double	   *xy = NULL;
		int64_t		ns = 0;

		if (merge_points(x, y, n, atof(argv[3]), m, atoi(argv[4]), so, &xy, &ns, &A, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%lld\n", (long long) ns);
		for (int64_t i = 0; i < n; i++)
			printf("%d\n", (int) so[i]);
		for (int64_t s = 0; s < ns; s++)
			printf("%.17g %.17g\n", xy[2 * s], xy[2 * s + 1]);
		free(x);
		free(y);
		free(so);
		free(xy);
		return 0;
	}
	fprintf(stderr, "usage: see the file's header\n");
	return 1;
}
