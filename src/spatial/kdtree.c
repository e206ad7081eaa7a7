/*
 * kdtree.c
 *	  Kernel: a 2-D k-d tree over scattered points and its searches (see
 *	  kdtree.h for the contract): the k nearest points within a radius, the
 *	  nearest point with a head start (the nearest gridder), the nearest
 *	  point in a rectangle (GDAL's search square, for the linear gridder
 *	  outside the hull); used by the gridders of interpolate.c, linear.c,
 *	  kriging.c and smooth.c.
 *
 *	  Median splits along the axis of wider spread, coordinates stored in
 *	  tree order, a bounding box per range; iterative searches with an
 *	  explicit stack, the k nearest kept in a knn_list (knn.h: a sorted
 *	  array, or a bounded max-heap beyond KNN_SORTED_MAX).
 *
 *	  Every search gives the exact answer of a brute-force search: the
 *	  points in the order (d^2, input index) -- descending index for the
 *	  single-nearest searches (kdtree.h says why) -- with d^2 = dx * dx +
 *	  dy * dy rounded as written, whatever the tree's shape or the search's
 *	  head start.  A range is skipped only when a rounded lower bound of its
 *	  points' distances exceeds the current bound (never on equality, since
 *	  an equidistant point may win on its index); see kd_box_gaps.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/kdtree.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "spatial/knn.h"

/* Ranges of at most this many points are leaves (scanned, not split). */
#define KD_LEAF		8

/* Deep enough for any size_t n: depth <= log2(n) + 1 <= 65, two entries per level. */
#define KD_STACK	160

/*
 * The tree is implicit: the node of a range [lo, hi) of tree positions
 * holds its median m = lo + (hi - lo) / 2, split along axis dim[m]; its
 * children are [lo, m) (coordinates <= the median's) and [m + 1, hi)
 * (coordinates >= it).  Each range, leaves included, keeps its bounding
 * box at box[m] (positions are the medians of distinct ranges), so that a
 * search skips a range the query is far from even when no splitting plane
 * says so (points on a line, a cluster and a far outlier).  The
 * coordinates are stored in tree order, so that a leaf is a contiguous run
 * of memory.
 */
typedef struct kd_box
{
	double		minx;
	double		maxx;
	double		miny;
	double		maxy;
} kd_box;

struct kdtree
{
	size_t		n;				/* points in the tree: those without a NaN coordinate */
	double	   *x;				/* their coordinates, in tree order */
	double	   *y;
	size_t	   *idx;			/* idx[m]: input index of the point at tree position m */
	uint8_t    *dim;			/* dim[m]: split axis of the node whose median is at m */
	kd_box	   *box;			/* box[m]: bounding box of the range whose median is m */
};

/*
 * kd_swap exchanges the points at tree positions a and b.
 */
static inline void
kd_swap(kdtree *t, size_t a, size_t b)
{
	double		tx = t->x[a];
	double		ty = t->y[a];
	size_t		ti = t->idx[a];

	t->x[a] = t->x[b];
	t->y[a] = t->y[b];
	t->idx[a] = t->idx[b];
	t->x[b] = tx;
	t->y[b] = ty;
	t->idx[b] = ti;
}

/*
 * kd_select rearranges positions [lo, hi) so that position nth holds the
 * point whose coordinate dim is the nth smallest, with no greater one
 * before it and no smaller one after it (quickselect with Hoare
 * partitioning, which stays balanced on equal keys).
 */
static void
kd_select(kdtree *t, size_t lo, size_t hi, size_t nth, int dim)
{
	const double *key = dim == 0 ? t->x : t->y;

	while (hi - lo > 1)
	{
		double		a = key[lo];
		double		b = key[lo + (hi - lo) / 2];
		double		c = key[hi - 1];
		double		pv;
		size_t		i = lo;
		size_t		j = hi - 1;

		/* median of three */
		if ((a <= b && b <= c) || (c <= b && b <= a))
			pv = b;
		else if ((b <= a && a <= c) || (c <= a && a <= b))
			pv = a;
		else
			pv = c;

		/* i and j stay inside [lo, hi): pv is one of the keys */
		for (;;)
		{
			while (key[i] < pv)
				i++;
			while (key[j] > pv)
				j--;
			if (i >= j)
				break;
			kd_swap(t, i, j);
			i++;
			j--;
		}

		/*
		 * Now keys in [lo, j] are <= pv and keys in [j + 1, hi) are >= pv
		 * (with i >= j; when i == j the element at i equals pv).
		 */
		if (i == j)
		{
			if (nth == i)
				return;
			if (nth < i)
				hi = i;
			else
				lo = i + 1;
		}
		else if (nth <= j)
			hi = j + 1;
		else
			lo = j + 1;
	}
}

/*
 * kd_build_range records the bounding box of positions [lo, hi) (not
 * empty), then, unless they are a leaf (KD_LEAF points or fewer), splits
 * them at their median along the axis of wider spread and builds the two
 * halves.  Recursion depth is about log2(n).
 */
static void
kd_build_range(kdtree *t, size_t lo, size_t hi)
{
	for (;;)
	{
		double		minx = t->x[lo],
					maxx = t->x[lo],
					miny = t->y[lo],
					maxy = t->y[lo];
		size_t		m = lo + (hi - lo) / 2;
		int			dim;

		for (size_t k = lo + 1; k < hi; k++)
		{
			double		x = t->x[k];
			double		y = t->y[k];

			minx = x < minx ? x : minx;
			maxx = x > maxx ? x : maxx;
			miny = y < miny ? y : miny;
			maxy = y > maxy ? y : maxy;
		}
		t->box[m].minx = minx;
		t->box[m].maxx = maxx;
		t->box[m].miny = miny;
		t->box[m].maxy = maxy;
		if (hi - lo <= KD_LEAF)
			return;

		dim = (maxy - miny > maxx - minx) ? 1 : 0;
		kd_select(t, lo, hi, m, dim);
		t->dim[m] = (uint8_t) dim;

		/* recurse into the smaller half, loop on the larger */
		if (m - lo < hi - (m + 1))
		{
			kd_build_range(t, lo, m);
			lo = m + 1;
		}
		else
		{
			kd_build_range(t, m + 1, hi);
			hi = m;
		}
	}
}

/*
 * kd_build copies the n points and builds the tree over them; NULL when
 * out of memory.  n may be 0.  Points with a NaN coordinate are left out,
 * and with finite_only those with an infinite one too.
 */
static kdtree *
kd_build(const double *x, const double *y, size_t n, bool finite_only)
{
	kdtree	   *t = calloc(1, sizeof(kdtree));
	size_t		alloc = n > 0 ? n : 1;

	if (t == NULL)
		return NULL;
	t->x = malloc(alloc * sizeof(double));
	t->y = malloc(alloc * sizeof(double));
	t->idx = malloc(alloc * sizeof(size_t));
	t->dim = calloc(alloc, sizeof(uint8_t));
	t->box = malloc(alloc * sizeof(kd_box));
	if (t->x == NULL || t->y == NULL || t->idx == NULL || t->dim == NULL || t->box == NULL)
	{
		kdtree_free(t);
		return NULL;
	}
	t->n = 0;
	for (size_t i = 0; i < n; i++)
	{
		if (isnan(x[i]) || isnan(y[i]))
			continue;
		if (finite_only && !(isfinite(x[i]) && isfinite(y[i])))
			continue;
		t->x[t->n] = x[i];
		t->y[t->n] = y[i];
		t->idx[t->n] = i;
		t->n++;
	}
	if (t->n > 0)
		kd_build_range(t, 0, t->n);
	return t;
}

/*
 * kdtree_build builds a tree of the points without a NaN coordinate: their
 * distance is NaN, which no search ever accepts.
 */
kdtree *
kdtree_build(const double *x, const double *y, size_t n)
{
	return kd_build(x, y, n, false);
}

/*
 * kdtree_build_finite builds a tree of the points with finite coordinates.
 */
kdtree *
kdtree_build_finite(const double *x, const double *y, size_t n)
{
	return kd_build(x, y, n, true);
}

/*
 * kdtree_free releases a tree from kdtree_build; NULL is fine.
 */
void
kdtree_free(kdtree *t)
{
	if (t == NULL)
		return;
	free(t->x);
	free(t->y);
	free(t->idx);
	free(t->dim);
	free(t->box);
	free(t);
}

/*
 * kd_box_gaps raises *gx2 and *gy2, lower bounds of a range's squared gaps
 * to (qx, qy) along x and y, to the squared gaps between (qx, qy) and the
 * range's box (whose median is m), when those are larger.
 *
 * Why a search may skip a range when gx2 + gy2 > its bound: the gaps come
 * from the range's box or from the splitting planes on its path, never
 * beyond any of its points, so a point's rounded |dx| is >= the rounded
 * gap along x (rounding is monotonic), likewise along y, and the rounded
 * dx * dx + dy * dy is >= the rounded gx2 + gy2.  So the skipped points are
 * all farther than the bound: equal distances are never skipped, and ties
 * go by index whatever the tree's shape.
 */
static inline void
kd_box_gaps(const kdtree *t, size_t m, double qx, double qy, double *gx2, double *gy2)
{
	const kd_box *b = &t->box[m];
	double		gx = qx < b->minx ? b->minx - qx : (qx > b->maxx ? qx - b->maxx : 0.0);
	double		gy = qy < b->miny ? b->miny - qy : (qy > b->maxy ? qy - b->maxy : 0.0);

	gx *= gx;
	gy *= gy;
	*gx2 = gx > *gx2 ? gx : *gx2;
	*gy2 = gy > *gy2 ? gy : *gy2;
}

/* The searches' shared steps, inlined so that the stack depth stays in a register. */
#if defined(__GNUC__) || defined(__clang__)
#define KD_INLINE static inline __attribute__((always_inline))
#else
#define KD_INLINE static inline
#endif

/*
 * A search's stack of tree ranges, each with lower bounds of its squared
 * gaps to the query along x and y.
 */
typedef struct kd_stack
{
	size_t		lo[KD_STACK];
	size_t		hi[KD_STACK];
	double		gx2[KD_STACK];
	double		gy2[KD_STACK];
} kd_stack;

/*
 * kd_stack_init starts a search for (qx, qy) at the whole tree (t->n > 0);
 * returns the stack's depth, 1.
 */
KD_INLINE int
kd_stack_init(kd_stack *s, const kdtree *t, double qx, double qy)
{
	s->lo[0] = 0;
	s->hi[0] = t->n;
	s->gx2[0] = 0.0;
	s->gy2[0] = 0.0;
	kd_box_gaps(t, t->n / 2, qx, qy, &s->gx2[0], &s->gy2[0]);
	return 1;
}

/*
 * kd_push_children pushes, onto a stack of depth sp, the halves of the
 * range [lo, hi) (median m,
 * whose coordinate along the split axis is diff beyond the query's; gaps
 * gx2, gy2) for a search whose current bound is bound: the far side
 * first, unless its gaps exceed the bound, so that the near side is
 * searched first; returns the new depth.  The far side lies beyond the
 * splitting plane; when that alone does not rule it out, its box may.  The
 * near side keeps the range's gaps.
 */
KD_INLINE int
kd_push_children(kd_stack *s, int sp, const kdtree *t, double qx, double qy, size_t lo,
				 size_t hi, size_t m, double diff, double gx2, double gy2, double bound)
{
	double		fx2 = gx2;
	double		fy2 = gy2;

	if (t->dim[m] == 0)
		fx2 = diff * diff > gx2 ? diff * diff : gx2;
	else
		fy2 = diff * diff > gy2 ? diff * diff : gy2;
	if (diff > 0)
	{
		/* the query lies below the split: near side is [lo, m) */
		if (!(fx2 + fy2 > bound))
			kd_box_gaps(t, m + 1 + (hi - m - 1) / 2, qx, qy, &fx2, &fy2);
		if (!(fx2 + fy2 > bound))
		{
			s->lo[sp] = m + 1;
			s->hi[sp] = hi;
			s->gx2[sp] = fx2;
			s->gy2[sp] = fy2;
			sp++;
		}
		s->lo[sp] = lo;
		s->hi[sp] = m;
	}
	else
	{
		if (!(fx2 + fy2 > bound))
			kd_box_gaps(t, lo + (m - lo) / 2, qx, qy, &fx2, &fy2);
		if (!(fx2 + fy2 > bound))
		{
			s->lo[sp] = lo;
			s->hi[sp] = m;
			s->gx2[sp] = fx2;
			s->gy2[sp] = fy2;
			sp++;
		}
		s->lo[sp] = m + 1;
		s->hi[sp] = hi;
	}
	s->gx2[sp] = gx2;
	s->gy2[sp] = gy2;
	return sp + 1;
}

/*
 * kd_pop takes the top range off a stack of depth *sp: [*lo, *hi) with its
 * gaps *gx2, *gy2.  False when their sum exceeds bound (never on
 * equality): the range holds no point the search wants.
 */
KD_INLINE bool
kd_pop(const kd_stack *s, int *sp, double bound, size_t *lo, size_t *hi, double *gx2, double *gy2)
{
	int			top = --*sp;

	*lo = s->lo[top];
	*hi = s->hi[top];
	*gx2 = s->gx2[top];
	*gy2 = s->gy2[top];
	return !(*gx2 + *gy2 > bound);
}

/*
 * kdtree_nearest_k_bound writes to idx/d2 the (at most) k nearest points
 * to (qx, qy) with d^2 <= r2 (INFINITY: unlimited), nearest first, ties by
 * lower index; returns how many.  Iterative: an explicit stack of ranges,
 * each with lower bounds of its squared gaps to the query along x and y
 * (kd_box_gaps), skipped when their sum exceeds the current k-th
 * candidate, or r2 until there are k (never on equality, so ties go by
 * index whatever the tree's shape).
 */
size_t
kdtree_nearest_k_bound(const kdtree *t, double qx, double qy, size_t k, double r2,
					   size_t *idx, double *d2)
{
	kd_stack	st;
	int			sp;
	knn_list	l;

	if (t == NULL || t->n == 0 || k == 0)
		return 0;
	knn_init(&l, k, r2, idx, d2);
	sp = kd_stack_init(&st, t, qx, qy);
	while (sp > 0)
	{
		size_t		lo,
					hi,
					m;
		double		gx2,
					gy2,
					diff;

		if (!kd_pop(&st, &sp, l.worst, &lo, &hi, &gx2, &gy2))
			continue;

		if (hi - lo <= KD_LEAF)
		{
			for (size_t p = lo; p < hi; p++)
			{
				double		dx = t->x[p] - qx;
				double		dy = t->y[p] - qy;

				knn_add(&l, t->idx[p], dx * dx + dy * dy);
			}
			continue;
		}

		m = lo + (hi - lo) / 2;
		{
			double		dx = t->x[m] - qx;
			double		dy = t->y[m] - qy;

			knn_add(&l, t->idx[m], dx * dx + dy * dy);
			diff = t->dim[m] == 0 ? dx : dy;
		}
		sp = kd_push_children(&st, sp, t, qx, qy, lo, hi, m, diff, gx2, gy2, l.worst);
	}
	return knn_finish(&l);
}

/*
 * kdtree_nearest_k writes the (at most) k nearest points to (qx, qy) with
 * squared distance <= radius^2 (radius 0: unlimited) to idx/d2, nearest
 * first, ties by lower index; returns how many.
 */
size_t
kdtree_nearest_k(const kdtree *t, double qx, double qy, size_t k, double radius,
				 size_t *idx, double *d2)
{
	return kdtree_nearest_k_bound(t, qx, qy, k, radius > 0 ? radius * radius : INFINITY, idx, d2);
}

/*
 * kdtree_nearest1 returns the input index of the nearest point to (qx, qy)
 * with d^2 <= r2 (ties: the higher index, as GDAL's nearest: see
 * kdtree.h), or SIZE_MAX when there is none.
 * *pos is a tree position to try first (0 to start with): the previous
 * cell's answer is close, and its distance prunes most of the tree at
 * once; it becomes the answer's position when there is one.
 */
size_t
kdtree_nearest1(const kdtree *t, double qx, double qy, double r2, size_t *pos)
{
	kd_stack	st;
	int			sp;
	double		best = r2;
	size_t		bidx = SIZE_MAX;
	size_t		bpos = *pos;

	if (t->n == 0)
		return SIZE_MAX;

	/* the head start */
	{
		double		dx = t->x[bpos] - qx;
		double		dy = t->y[bpos] - qy;
		double		d = dx * dx + dy * dy;

		if (d <= best)
		{
			best = d;
			bidx = t->idx[bpos];
		}
	}

	sp = kd_stack_init(&st, t, qx, qy);
	while (sp > 0)
	{
		size_t		lo,
					hi,
					m;
		double		gx2,
					gy2,
					diff;

		if (!kd_pop(&st, &sp, best, &lo, &hi, &gx2, &gy2))
			continue;

		if (hi - lo <= KD_LEAF)
		{
			for (size_t p = lo; p < hi; p++)
			{
				double		dx = t->x[p] - qx;
				double		dy = t->y[p] - qy;
				double		d = dx * dx + dy * dy;

				if (d <= best && (d < best || bidx == SIZE_MAX || t->idx[p] > bidx))
				{
					best = d;
					bidx = t->idx[p];
					bpos = p;
				}
			}
			continue;
		}

		m = lo + (hi - lo) / 2;
		{
			double		dx = t->x[m] - qx;
			double		dy = t->y[m] - qy;
			double		d = dx * dx + dy * dy;

			if (d <= best && (d < best || bidx == SIZE_MAX || t->idx[m] > bidx))
			{
				best = d;
				bidx = t->idx[m];
				bpos = m;
			}
			diff = t->dim[m] == 0 ? dx : dy;
		}
		sp = kd_push_children(&st, sp, t, qx, qy, lo, hi, m, diff, gx2, gy2, best);
	}
	if (bidx != SIZE_MAX)
		*pos = bpos;
	return bidx;
}

/*
 * kd_rect_offer makes tree position i the best (*best, at squared
 * distance *bestd) when it lies in the rectangle rect and comes first in
 * the candidate order (ties: the higher input index).  With no best yet
 * (*best < 0), *bestd is INFINITY, which a point ties when its squared
 * distance overflows.
 */
static inline void
kd_rect_offer(const kdtree *t, size_t i, double qx, double qy, const double *rect,
			  long *best, double *bestd)
{
	double		px = t->x[i],
				py = t->y[i];
	double		dx,
				dy,
				d;

	if (px < rect[0] || px > rect[1] || py < rect[2] || py > rect[3])
		return;
	dx = px - qx;
	dy = py - qy;
	d = dx * dx + dy * dy;
	if (d < *bestd || (d == *bestd && (*best < 0 || t->idx[i] > t->idx[*best])))
	{
		*bestd = d;
		*best = (long) i;
	}
}

/*
 * kdtree_nearest_in_rect returns the input index of the point nearest to
 * (qx, qy) among those with rect[0] <= x <= rect[1] and rect[2] <= y <=
 * rect[3] (infinite bounds allowed), ties to the higher index, and its
 * squared distance in *dsq; -1 when there is none.  *pos is a tree
 * position to try first (the answer for a nearby query: a good first
 * bound), or -1; it becomes the answer's.  Branch and bound: a range is
 * skipped when its bounding box does not meet the rectangle, or when the
 * part that does is farther from the query than the best point so far
 * (never on equality), so the answer does not depend on the head start.
 */
long
kdtree_nearest_in_rect(const kdtree *t, double qx, double qy, const double rect[4],
					   long *pos, double *dsq)
{
	size_t		st_lo[KD_STACK],
				st_hi[KD_STACK];
	int			sp;
	long		best = -1;
	double		bestd = INFINITY;

	if (t->n == 0)
		return -1;
	if (*pos >= 0 && (size_t) *pos < t->n)
		kd_rect_offer(t, (size_t) *pos, qx, qy, rect, &best, &bestd);
	st_lo[0] = 0;
	st_hi[0] = t->n;
	sp = 1;
	while (sp > 0)
	{
		size_t		lo,
					hi,
					m;
		const kd_box *b;
		double		ix0,
					ix1,
					iy0,
					iy1,
					dx,
					dy,
					split;
		int			dim;
		bool		low_first;

		sp--;
		lo = st_lo[sp];
		hi = st_hi[sp];
		m = lo + (hi - lo) / 2;
		b = &t->box[m];

		/* the part of the range's box inside the rectangle */
		ix0 = b->minx > rect[0] ? b->minx : rect[0];
		ix1 = b->maxx < rect[1] ? b->maxx : rect[1];
		iy0 = b->miny > rect[2] ? b->miny : rect[2];
		iy1 = b->maxy < rect[3] ? b->maxy : rect[3];
		if (ix0 > ix1 || iy0 > iy1)
			continue;
		dx = qx < ix0 ? ix0 - qx : (qx > ix1 ? qx - ix1 : 0.0);
		dy = qy < iy0 ? iy0 - qy : (qy > iy1 ? qy - iy1 : 0.0);
		if (dx * dx + dy * dy > bestd)
			continue;

		if (hi - lo <= KD_LEAF)
		{
			for (size_t i = lo; i < hi; i++)
				kd_rect_offer(t, i, qx, qy, rect, &best, &bestd);
			continue;
		}
		kd_rect_offer(t, m, qx, qy, rect, &best, &bestd);
		dim = t->dim[m];
		split = dim == 0 ? t->x[m] : t->y[m];

		/* [lo, m) has coordinates <= split, [m + 1, hi) >= split; near side last */
		low_first = (dim == 0 ? qx : qy) <= split;
		for (int side = 0; side < 2; side++)
		{
			bool		low = (side == 0) != low_first;

			st_lo[sp] = low ? lo : m + 1;
			st_hi[sp] = low ? m : hi;
			sp++;
		}
	}
	if (best < 0)
		return -1;
	*pos = best;
	*dsq = bestd;
	return (long) t->idx[best];
}
