/*
 * opencv_check.h — checks of an OpencvContours result against its mask,
 * shared by test/unit/test_contours_opencv.c and
 * test/fuzz/fuzz_contours_opencv.c (needs no reference implementation):
 * - every vertex is a pixel of the mask that is 1;
 * - every ring is a closed chain: consecutive vertices (the last back to
 *   the first) differ by a whole step along one of the eight chain
 *   directions, never by nothing (a one-vertex ring excepted);
 * - outer contours (parent -1) come first in their group, holes point at
 *   the outer contour just before them;
 * - as many outer contours as 8-connected components of 1s, as many holes
 *   as 4-connected components of 0s that do not reach the image's edge;
 * - each outer contour starts at the first pixel, in raster order, of a
 *   component, and the starts are in reverse raster order.
 */
#ifndef MLOPS_OPENCV_CHECK_H
#define MLOPS_OPENCV_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/contours_opencv.h"

/* Labels the components of mask == value (8- or 4-connected) in lab
 * (1, 2, ...; 0 elsewhere); returns how many, and sets *edge to how many
 * of them touch the image's edge. */
static inline int64_t
opencv_check_label(const uint8_t *mask, int64_t rows, int64_t cols, int value, int conn,
				   int64_t *lab, int64_t *first, int64_t *edge)
{
	int64_t		n = 0;
	int64_t    *stack = malloc(sizeof(int64_t) * (size_t) (rows * cols + 1));

	*edge = 0;
	memset(lab, 0, sizeof(int64_t) * (size_t) (rows * cols));
	for (int64_t k = 0; k < rows * cols; k++)
	{
		int64_t		top = 0;
		int			touches = 0;

		if ((mask[k] != 0) != value || lab[k])
			continue;
		n++;
		if (first)
			first[n] = k;
		lab[k] = n;
		stack[top++] = k;
		while (top > 0)
		{
			int64_t		i = stack[--top],
						r = i / cols,
						c = i % cols;

			if (r == 0 || c == 0 || r == rows - 1 || c == cols - 1)
				touches = 1;
			for (int dr = -1; dr <= 1; dr++)
				for (int dc = -1; dc <= 1; dc++)
				{
					int64_t		rr = r + dr,
								cc = c + dc,
								j;

					if ((dr == 0 && dc == 0) || (conn == 4 && dr != 0 && dc != 0))
						continue;
					if (rr < 0 || cc < 0 || rr >= rows || cc >= cols)
						continue;
					j = rr * cols + cc;
					if ((mask[j] != 0) != value || lab[j])
						continue;
					lab[j] = n;
					stack[top++] = j;
				}
		}
		*edge += touches;
	}
	free(stack);
	return n;
}

/* 0 when c passes the checks above, else -1 with a reason in why. */
static inline int
opencv_check(const uint8_t *mask, int64_t rows, int64_t cols, const OpencvContours *c,
			 char *why, size_t whylen)
{
	int64_t    *lab = malloc(sizeof(int64_t) * (size_t) (rows * cols + 1));
	int64_t    *first = malloc(sizeof(int64_t) * (size_t) (rows * cols + 2));
	int64_t		n_fg,
				n_bg,
				edge,
				outer = 0,
				holes = 0,
				last_start = INT64_MAX;
	int			rc = -1;

	n_fg = opencv_check_label(mask, rows, cols, 1, 8, lab, first, &edge);
	n_bg = opencv_check_label(mask, rows, cols, 0, 4, lab, NULL, &edge);
	n_bg -= edge;
	for (int64_t i = 0; i < c->n_contours; i++)
	{
		int64_t		a = c->start[i],
					e = c->start[i + 1];

		if (e <= a)
		{
			snprintf(why, whylen, "contour %lld is empty", (long long) i);
			goto out;
		}
		if (c->parent[i] < 0)
		{
			int64_t		s = (int64_t) c->xy[2 * a + 1] * cols + c->xy[2 * a];

			outer++;
			if (s >= last_start)
			{
				snprintf(why, whylen, "outer contour %lld is not in reverse raster order", (long long) i);
				goto out;
			}
			last_start = s;
		}
		else
		{
			holes++;
			if (c->parent[i] >= i || c->parent[c->parent[i]] != -1 ||
				(c->parent[i - 1] != c->parent[i] && c->parent[i - 1] != -1) ||
				(c->parent[i - 1] == -1 && c->parent[i] != i - 1))
			{
				snprintf(why, whylen, "hole %lld has parent %lld", (long long) i, (long long) c->parent[i]);
				goto out;
			}
		}
		for (int64_t k = a; k < e; k++)
		{
			int64_t		l = k + 1 < e ? k + 1 : a;
			int64_t		x = c->xy[2 * k],
						y = c->xy[2 * k + 1];
			int64_t		dx = c->xy[2 * l] - x,
						dy = c->xy[2 * l + 1] - y;

			if (x < 0 || y < 0 || x >= cols || y >= rows || !mask[y * cols + x])
			{
				snprintf(why, whylen, "contour %lld: vertex (%lld, %lld) is not a 1 pixel",
						 (long long) i, (long long) x, (long long) y);
				goto out;
			}
			if ((e - a > 1 && dx == 0 && dy == 0) ||
				(dx != 0 && dy != 0 && dx != dy && dx != -dy))
			{
				snprintf(why, whylen, "contour %lld: step (%lld, %lld) from (%lld, %lld) is no chain step",
						 (long long) i, (long long) dx, (long long) dy, (long long) x, (long long) y);
				goto out;
			}
		}
	}
	if (outer != n_fg || holes != n_bg)
	{
		snprintf(why, whylen, "%lld outer contours and %lld holes for %lld components and %lld enclosed background regions",
				 (long long) outer, (long long) holes, (long long) n_fg, (long long) n_bg);
		goto out;
	}
	/* each outer contour starts at its component's first pixel */
	n_fg = opencv_check_label(mask, rows, cols, 1, 8, lab, first, &edge);
	for (int64_t i = 0; i < c->n_contours; i++)
		if (c->parent[i] < 0)
		{
			int64_t		a = c->start[i];
			int64_t		s = (int64_t) c->xy[2 * a + 1] * cols + c->xy[2 * a];

			if (first[lab[s]] != s)
			{
				snprintf(why, whylen, "outer contour %lld does not start at its component's first pixel", (long long) i);
				goto out;
			}
		}
	rc = 0;
out:
	free(lab);
	free(first);
	return rc;
}

#endif							/* MLOPS_OPENCV_CHECK_H */
