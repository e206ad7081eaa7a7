/*
 * contours_opencv.c
 *	  Kernel: OpenCV 4.6's findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE) on
 *	  the mask of the cells at or above a level (see contours_opencv.h for
 *	  the contract).
 *
 *	  Method (Suzuki and Abe 1985, as OpenCV runs it).  The mask is copied
 *	  into a signed byte image with a zero frame one pixel wide.  A raster
 *	  scan looks for border starts: a 0 -> 1 step starts an outer border, a
 *	  step from a foreground pixel that is not marked as a right-hand bound
 *	  to 0 starts a hole border.  Each border is followed at once around its
 *	  component (8-connected foreground, 4-connected background), searching
 *	  the neighbours counter-clockwise from the one after the pixel it came
 *	  from; a followed pixel is marked with the border's number NBD (2 ..
 *	  127, then 3 again: OpenCV counts in seven bits), negated (high bit
 *	  set) when its right-hand neighbour was examined and found 0.  Those
 *	  marks decide the later starts, so the marking must be OpenCV's to the
 *	  bit.  A vertex is kept where the chain's direction changes.
 *
 *	  Parents (RETR_CCOMP).  An outer border's parent is the frame.  A
 *	  hole's parent is found as OpenCV does: from the last marked pixel
 *	  left of it on the row (LNBD), whose mark names the borders that may
 *	  have marked it; among those whose bounding box holds LNBD, walking
 *	  from the newest, the first one whose trace passes LNBD last in raster
 *	  order; if that border is a hole itself, its parent.
 *
 *	  Order.  OpenCV inserts every contour as the first child of its
 *	  parent and lists the tree depth first, so outer contours come newest
 *	  first, each followed by its holes, newest first.
 *
 *	  The value of each outer contour's component (max_value) comes from
 *	  runs of pixels joined as the rows are thresholded (RunsAddRow), paired
 *	  with the outer contours after tracing (ComponentMax).
 *
 *	  Memory: the byte image ((rows + 2) x (cols + 2)), the points, and a
 *	  few words per run of foreground pixels.  Pure C: no PostgreSQL headers.
 */
#include "detect/contours_opencv.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "util/errbuf.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Chain codes with y pointing down: right, up-right, up, up-left, left,
 * down-left, down, down-right. */
static const int DX[8] = {1, 1, 0, -1, -1, -1, 0, 1};
static const int DY[8] = {0, -1, -1, -1, 0, 1, 1, 1};

#define SEARCH_END 15			/* deltas are indexed 0 .. 15 (two turns) */

typedef struct Border
{
	int64_t		next;			/* the previous border with the same mark, or -1 */
	int64_t		parent;			/* a border, or -1: the frame */
	int64_t		origin;			/* index of its start pixel in the byte image */
	int32_t		rx,				/* bounding box of its vertices: x, y, width, */
				ry,				/* height (padded coordinates) */
				rw,
				rh;
	int64_t		first;			/* its points: xy[2 * first ...] */
	int64_t		n;
	bool		is_hole;
} Border;

typedef struct Tracer
{
	int8_t	   *img;
	ptrdiff_t	delta[16];
	int32_t    *xy;				/* points, padded coordinates */
	int64_t		n_points;
	int64_t		cap_points;
	Border	   *b;
	int64_t		n_b;
	int64_t		cap_b;
	const mlops_allocator *alloc;
} Tracer;

static bool
PushPoint(Tracer *t, int32_t x, int32_t y)
{
	if (t->n_points == t->cap_points)
	{
		int64_t		cap = t->cap_points ? t->cap_points * 2 : 1024;
		int32_t    *xy = mlops_realloc(t->alloc, t->xy, (size_t) cap * 2 * sizeof(int32_t));

		if (xy == NULL)
			return false;
		t->xy = xy;
		t->cap_points = cap;
	}
	t->xy[2 * t->n_points] = x;
	t->xy[2 * t->n_points + 1] = y;
	t->n_points++;
	return true;
}

/*
 * Follows the border starting at pixel i0 = (x, y), marks it with nbd and
 * appends its vertices; fills b's points and bounding box.
 */
static bool
FollowBorder(Tracer *t, int64_t i0, int32_t x, int32_t y, int nbd, Border *b)
{
	int8_t	   *img = t->img;
	const ptrdiff_t *d = t->delta;
	int			s,
				s_end,
				prev_s;
	int64_t		i1,
				i3,
				i4 = i0;
	int32_t		xmin = x,
				xmax = x,
				ymin = y,
				ymax = y;

	b->first = t->n_points;
	s_end = s = b->is_hole ? 0 : 4;
	do
	{
		s = (s - 1) & 7;
		i1 = i0 + d[s];
	} while (img[i1] == 0 && s != s_end);

	if (s == s_end)
	{
		/* a lone pixel */
		img[i0] = (int8_t) (nbd | 0x80);
		if (!PushPoint(t, x, y))
			return false;
	}
	else
	{
		i3 = i0;
		prev_s = s ^ 4;
		for (;;)
		{
			s_end = s;
			while (s < SEARCH_END)
			{
				i4 = i3 + d[++s];
				if (img[i4] != 0)
					break;
			}
			s &= 7;
			/* the right-hand neighbour was examined and is 0 */
			if ((unsigned) (s - 1) < (unsigned) s_end)
				img[i3] = (int8_t) (nbd | 0x80);
			else if (img[i3] == 1)
				img[i3] = (int8_t) nbd;
			if (s != prev_s)
			{
				if (!PushPoint(t, x, y))
					return false;
				if (x < xmin)
					xmin = x;
				else if (x > xmax)
					xmax = x;
				if (y < ymin)
					ymin = y;
				else if (y > ymax)
					ymax = y;
			}
			prev_s = s;
			x += DX[s];
			y += DY[s];
			if (i4 == i0 && i3 == i1)
				break;
			i3 = i4;
			s = (s + 4) & 7;
		}
	}
	b->n = t->n_points - b->first;
	b->rx = xmin;
	b->ry = ymin;
	b->rw = xmax - xmin + 1;
	b->rh = ymax - ymin + 1;
	return true;
}

/*
 * Whether the border starting at i0 passes pixel stop, and is the last
 * border a raster scan meets there (OpenCV's icvTraceContour).
 */
static bool
TraceReaches(const Tracer *t, int64_t i0, int64_t stop, bool is_hole)
{
	const int8_t *img = t->img;
	const ptrdiff_t *d = t->delta;
	int			s,
				s_end;
	int64_t		i1,
				i3,
				i4 = i0;

	s_end = s = is_hole ? 0 : 4;
	do
	{
		s = (s - 1) & 7;
		i1 = i0 + d[s];
	} while (img[i1] == 0 && s != s_end);

	i3 = i0;
	if (s == s_end)
		return i3 == stop;
	for (;;)
	{
		while (s < SEARCH_END)
		{
			i4 = i3 + d[++s];
			if (img[i4] != 0)
				break;
		}
		if (i3 == stop)
		{
			int			u = s;

			if (!(img[i3] & 0x80))
				return true;
			for (;;)
			{
				u = (u - 1) & 7;
				if (img[i3 + d[u]] != 0)
					break;
				if (u == 0)
					return true;
			}
		}
		if (i4 == i0 && i3 == i1)
			break;
		i3 = i4;
		s = (s + 4) & 7;
	}
	return false;
}

#ifdef __SSE2__
/* Four cells >= level as four 32-bit masks. */
static inline __m128i
Ge4(const double *v, __m128d lv)
{
	__m128		a = _mm_castpd_ps(_mm_cmpge_pd(_mm_loadu_pd(v), lv));
	__m128		b = _mm_castpd_ps(_mm_cmpge_pd(_mm_loadu_pd(v + 2), lv));

	return _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
}
#endif

/* out[c] = v[c] >= level (NaN: 0) for c < n. */
static void
Threshold(const double *v, int8_t *out, int64_t n, double level)
{
	int64_t		c = 0;

#ifdef __SSE2__
	__m128d		lv = _mm_set1_pd(level);
	__m128i		one = _mm_set1_epi8(1);

	for (; c + 16 <= n; c += 16)
	{
		__m128i		w0 = _mm_packs_epi32(Ge4(v + c, lv), Ge4(v + c + 4, lv));
		__m128i		w1 = _mm_packs_epi32(Ge4(v + c + 8, lv), Ge4(v + c + 12, lv));

		_mm_storeu_si128((__m128i *) (out + c), _mm_and_si128(_mm_packs_epi16(w0, w1), one));
	}
#endif
	for (; c < n; c++)
		out[c] = v[c] >= level;
}

static bool
NewBorder(Tracer *t)
{
	if (t->n_b == t->cap_b)
	{
		int64_t		cap = t->cap_b ? t->cap_b * 2 : 64;
		Border	   *b = mlops_realloc(t->alloc, t->b, (size_t) cap * sizeof(Border));

		if (b == NULL)
			return false;
		t->b = b;
		t->cap_b = cap;
	}
	t->n_b++;
	return true;
}

/* The raster scan: finds, follows and links every border. */
static int
Scan(Tracer *t, int64_t W, int64_t H, char *err, size_t errlen)
{
	int8_t	   *img = t->img;
	int64_t		table[128];
	int			nbd = 2;

	for (int k = 0; k < 128; k++)
		table[k] = -1;
	for (int64_t y = 1; y < H - 1; y++)
	{
		int8_t	   *row = img + y * W;
		int64_t		lnbd = 0;
		int			prev = 0;

		for (int64_t x = 1; x < W - 1; x++)
		{
			int			p = row[x];
			bool		is_hole = false;
			int64_t		parent = -1;
			int64_t		ox;
			int			mark;
			Border	   *b;

			if (p == prev)
			{
				/* skip the run of equal bytes, sixteen a step where we can */
#ifdef __SSE2__
				__m128i		pv = _mm_set1_epi8((char) prev);

				while (x + 16 <= W - 1 &&
					   _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *) (row + x)), pv)) == 0xFFFF)
					x += 16;
#endif
				while (x < W - 1 && row[x] == prev)
					x++;
				if (x >= W - 1)
					break;
				p = row[x];
			}
			if (!(prev == 0 && p == 1))
			{
				if (p != 0 || prev < 1)
				{
					prev = p;
					if (prev & -2)
						lnbd = x;
					continue;
				}
				if (prev & -2)
					lnbd = x - 1;
				is_hole = true;
			}
			ox = x - (is_hole ? 1 : 0);
			if (is_hole && lnbd > 0)
			{
				int64_t		cur = table[row[lnbd] & 0x7f];
				int64_t		par = -1;

				while (cur >= 0)
				{
					const Border *c = &t->b[cur];

					if ((uint32_t) (lnbd - c->rx) < (uint32_t) c->rw &&
						(uint32_t) (y - c->ry) < (uint32_t) c->rh)
					{
						if (par >= 0 &&
							TraceReaches(t, t->b[par].origin, y * W + lnbd, t->b[par].is_hole))
							break;
						par = cur;
					}
					cur = c->next;
				}
				if (par < 0)
				{
					errbuf_printf(err, errlen, "no border found left of the hole at (%lld, %lld)",
								  (long long) (ox - 1), (long long) (y - 1));
					return -1;
				}
				if (t->b[par].is_hole)
					par = t->b[par].parent;
				if (par < 0)
				{
					errbuf_printf(err, errlen, "the hole at (%lld, %lld) has no outer border",
								  (long long) (ox - 1), (long long) (y - 1));
					return -1;
				}
				parent = par;
			}
			lnbd = ox;
			mark = nbd;
			nbd = (nbd + 1) & 127;
			if (nbd == 0)
				nbd = 3;
			if (!NewBorder(t))
				goto nomem;
			b = &t->b[t->n_b - 1];
			b->is_hole = is_hole;
			b->parent = parent;
			b->origin = y * W + ox;
			if (!FollowBorder(t, b->origin, (int32_t) ox, (int32_t) y, mark, b))
				goto nomem;
			b->next = table[mark];
			table[mark] = t->n_b - 1;
			prev = row[x];
		}
	}
	return 0;
nomem:
	errbuf_printf(err, errlen, "out of memory");
	return -1;
}

/* Runs of foreground pixels, joined 8-connected by union-find, each root
 * holding its set's largest value. */
typedef struct Runs
{
	int32_t    *s,				/* columns [s, e) of the padded image */
			   *e;
	int64_t    *parent;
	double	   *maxv;
	int64_t		n,
				cap;
	int64_t    *row_start;		/* (rows + 3) entries: row y's first run */
} Runs;

static int64_t
RunFind(int64_t *parent, int64_t a)
{
	while (parent[a] != a)
	{
		parent[a] = parent[parent[a]];
		a = parent[a];
	}
	return a;
}

static void
RunUnion(Runs *r, int64_t a, int64_t b)
{
	a = RunFind(r->parent, a);
	b = RunFind(r->parent, b);
	if (a == b)
		return;
	if (b < a)
	{
		int64_t		t = a;

		a = b;
		b = t;
	}
	r->parent[b] = a;
	if (r->maxv[b] > r->maxv[a])
		r->maxv[a] = r->maxv[b];
}

static bool
RunsGrow(Runs *r, const mlops_allocator *alloc)
{
	int64_t		cap = r->cap ? r->cap * 2 : 4096;
	int32_t    *s = mlops_realloc(alloc, r->s, sizeof(int32_t) * (size_t) cap);
	int32_t    *e = s ? mlops_realloc(alloc, r->e, sizeof(int32_t) * (size_t) cap) : NULL;
	int64_t    *p = e ? mlops_realloc(alloc, r->parent, sizeof(int64_t) * (size_t) cap) : NULL;
	double	   *m = p ? mlops_realloc(alloc, r->maxv, sizeof(double) * (size_t) cap) : NULL;

	if (s)
		r->s = s;
	if (e)
		r->e = e;
	if (p)
		r->parent = p;
	if (m == NULL)
		return false;
	r->maxv = m;
	r->cap = cap;
	return true;
}

/*
 * max_value of every outer contour, found with the threshold: each row,
 * just thresholded (bytes and values still in cache), is cut into runs of
 * foreground pixels, each run takes its largest value and is joined to the
 * runs of the row above that it touches (8-connected: overlapping when
 * widened by one).  Tracing changes marks but never which pixels are 0, so
 * these are the traced components.  RunsAddRow adds row y of the padded
 * image; r->row_start[y] is its first run.
 */
static bool
RunsAddRow(Runs *r, const int8_t *row, const double *v, int64_t y, int64_t W,
		   const mlops_allocator *alloc)
{
	int64_t		prev_lo = r->row_start[y - 1],
				prev_hi = r->n,
				j = prev_lo;
	int64_t		x = 1;

	r->row_start[y] = r->n;
	while (x < W - 1)
	{
		int64_t		s,
					id;
		double		m;

#ifdef __SSE2__
		while (x + 16 <= W - 1 &&
			   _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *) (row + x)),
												_mm_setzero_si128())) == 0xFFFF)
			x += 16;
#endif
		while (x < W - 1 && row[x] == 0)
			x++;
		if (x >= W - 1)
			break;
		s = x;
		m = v[x];
		while (row[x] != 0)
		{
			if (v[x] > m)
				m = v[x];
			x++;
		}
		if (r->n == r->cap && !RunsGrow(r, alloc))
			return false;
		id = r->n++;
		r->s[id] = (int32_t) s;
		r->e[id] = (int32_t) x;
		r->parent[id] = id;
		r->maxv[id] = m;
		/* runs above that overlap [s - 1, x + 1) */
		while (j < prev_hi && r->e[j] < s)
			j++;
		for (int64_t k = j; k < prev_hi && r->s[k] <= x; k++)
			RunUnion(r, id, k);
	}
	r->row_start[y + 1] = r->n;
	return true;
}

/*
 * maxv[b] for every border b: an outer contour starts a run (its left
 * neighbour is 0); the contours were found in raster order, the runs are
 * stored in it, so one merge walk pairs them.  Holes get NaN.
 */
static void
ComponentMax(Tracer *t, Runs *r, int64_t W, double *maxv)
{
	int64_t		run = 0;

	for (int64_t b = 0; b < t->n_b; b++)
	{
		int64_t		y = t->b[b].origin / W,
					x = t->b[b].origin % W;

		maxv[b] = NAN;
		if (t->b[b].is_hole)
			continue;
		if (run < r->row_start[y])
			run = r->row_start[y];
		while (run < r->row_start[y + 1] && r->s[run] < x)
			run++;
		if (run < r->row_start[y + 1] && r->s[run] == x)
			maxv[b] = r->maxv[RunFind(r->parent, run)];
	}
}

void
opencv_contours_free(OpencvContours *c, const mlops_allocator *alloc)
{
	mlops_free(alloc, c->start);
	mlops_free(alloc, c->xy);
	mlops_free(alloc, c->parent);
	mlops_free(alloc, c->max_value);
	memset(c, 0, sizeof(*c));
}

double
opencv_contour_area2(const OpencvContours *c, int64_t i)
{
	int64_t		a = c->start[i],
				e = c->start[i + 1];
	double		s = 0;

	for (int64_t k = a; k < e; k++)
	{
		int64_t		l = k + 1 < e ? k + 1 : a;

		s += (double) c->xy[2 * k] * c->xy[2 * l + 1] - (double) c->xy[2 * l] * c->xy[2 * k + 1];
	}
	return s;
}

/* Copies a byte mask as 0 / 1. */
static void
CopyMask(const uint8_t *m, int8_t *out, int64_t n)
{
	int64_t		c = 0;

#ifdef __SSE2__
	__m128i		one = _mm_set1_epi8(1);

	for (; c + 16 <= n; c += 16)
		_mm_storeu_si128((__m128i *) (out + c),
						 _mm_min_epu8(_mm_loadu_si128((const __m128i *) (m + c)), one));
#endif
	for (; c < n; c++)
		out[c] = m[c] != 0;
}

/* contour_opencv on src >= level, or on mask when src is NULL. */
static int
Contours(const double *src, const uint8_t *mask, int64_t rows, int64_t cols, double level,
		 OpencvContours *out, const mlops_allocator *alloc, char *err, size_t errlen)
{
	Tracer		t;
	Runs		runs;
	int64_t		W,
				H;
	int64_t    *first_child = NULL,
			   *next_sibling = NULL,
			   *order = NULL;
	int64_t		roots = -1,
				k;
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	memset(&runs, 0, sizeof(runs));
	t.alloc = alloc;
	if (isnan(level))
	{
		errbuf_printf(err, errlen, "level is NaN");
		return -1;
	}
	if (rows < 0 || cols < 0 || rows > INT32_MAX - 2 || cols > INT32_MAX - 2 ||
		(rows > 0 && (uint64_t) (cols + 2) > (uint64_t) (SIZE_MAX / 4) / (uint64_t) (rows + 2)))
	{
		errbuf_printf(err, errlen, "image of %lld x %lld cells is too large",
					  (long long) rows, (long long) cols);
		return -1;
	}
	out->start = mlops_alloc(alloc, sizeof(int64_t));
	if (out->start == NULL)
		goto nomem;
	out->start[0] = 0;
	if (rows == 0 || cols == 0)
		return 0;

	W = cols + 2;
	H = rows + 2;
	t.img = mlops_alloc(alloc, (size_t) (W * H));
	if (t.img == NULL)
		goto nomem;
	memset(t.img, 0, (size_t) W);
	memset(t.img + (H - 1) * W, 0, (size_t) W);
	if (src)
	{
		runs.row_start = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (H + 1));
		if (runs.row_start == NULL)
			goto nomem;
		runs.row_start[0] = 0;
	}
	for (int64_t r = 0; r < rows; r++)
	{
		int8_t	   *row = t.img + (r + 1) * W;
		row[0] = row[W - 1] = 0;
		if (src)
		{
			Threshold(src + r * cols, row + 1, cols, level);
			if (!RunsAddRow(&runs, row, src + r * cols - 1, r + 1, W, alloc))
				goto nomem;
		}
		else
			CopyMask(mask + r * cols, row + 1, cols);
	}
	t.delta[0] = 1;
	t.delta[1] = -W + 1;
	t.delta[2] = -W;
	t.delta[3] = -W - 1;
	t.delta[4] = -1;
	t.delta[5] = W - 1;
	t.delta[6] = W;
	t.delta[7] = W + 1;
	for (int s = 0; s < 8; s++)
		t.delta[s + 8] = t.delta[s];

	if (Scan(&t, W, H, err, errlen) != 0)
		goto done;

	/* OpenCV's order: children lists built by prepending, listed depth first */
	first_child = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (t.n_b + 1));
	next_sibling = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (t.n_b + 1));
	order = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (t.n_b + 1));
	out->parent = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (t.n_b + 1));
	out->max_value = mlops_alloc(alloc, sizeof(double) * (size_t) (t.n_b + 1));
	out->xy = mlops_alloc(alloc, sizeof(int32_t) * 2 * (size_t) (t.n_points + 1));
	if (!first_child || !next_sibling || !order || !out->parent || !out->max_value || !out->xy)
		goto nomem;
	mlops_free(alloc, out->start);
	out->start = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (t.n_b + 1));
	if (out->start == NULL)
		goto nomem;
	for (int64_t i = 0; i < t.n_b; i++)
	{
		int64_t		p = t.b[i].parent;

		first_child[i] = -1;
		if (p < 0)
		{
			next_sibling[i] = roots;
			roots = i;
		}
		else
		{
			if (t.b[p].parent >= 0)
			{
				errbuf_printf(err, errlen, "a contour three levels deep");
				goto done;
			}
			next_sibling[i] = first_child[p];
			first_child[p] = i;
		}
	}
	k = 0;
	for (int64_t r = roots; r >= 0; r = next_sibling[r])
	{
		int64_t		at = k;

		order[k++] = r;
		out->parent[at] = -1;
		for (int64_t c = first_child[r]; c >= 0; c = next_sibling[c])
		{
			order[k] = c;
			out->parent[k++] = at;
		}
	}
	out->n_contours = k;
	out->start[0] = 0;
	for (int64_t i = 0; i < k; i++)
	{
		const Border *b = &t.b[order[i]];

		for (int64_t q = 0; q < b->n; q++)
		{
			out->xy[2 * (out->start[i] + q)] = t.xy[2 * (b->first + q)] - 1;
			out->xy[2 * (out->start[i] + q) + 1] = t.xy[2 * (b->first + q) + 1] - 1;
		}
		out->start[i + 1] = out->start[i] + b->n;
	}
	out->n_points = out->start[k];
	if (src != NULL)
	{
		double	   *bmax = mlops_alloc(alloc, sizeof(double) * (size_t) (t.n_b + 1));

		if (bmax == NULL)
			goto nomem;
		ComponentMax(&t, &runs, W, bmax);
		for (int64_t i = 0; i < k; i++)
			out->max_value[i] = out->parent[i] >= 0 ? NAN : bmax[order[i]];
		mlops_free(alloc, bmax);
	}
	else
		for (int64_t i = 0; i < k; i++)
			out->max_value[i] = NAN;
	rc = 0;
	goto done;
nomem:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, t.img);
	mlops_free(alloc, t.xy);
	mlops_free(alloc, t.b);
	mlops_free(alloc, first_child);
	mlops_free(alloc, next_sibling);
	mlops_free(alloc, order);
	mlops_free(alloc, runs.s);
	mlops_free(alloc, runs.e);
	mlops_free(alloc, runs.parent);
	mlops_free(alloc, runs.maxv);
	mlops_free(alloc, runs.row_start);
	if (rc != 0)
		opencv_contours_free(out, alloc);
	return rc;
}

int
contour_opencv(const double *img, int64_t rows, int64_t cols, double level,
			   OpencvContours *out, const mlops_allocator *alloc, char *err, size_t errlen)
{
	return Contours(img, NULL, rows, cols, level, out, alloc, err, errlen);
}

int
contour_opencv_mask(const uint8_t *mask, int64_t rows, int64_t cols,
					OpencvContours *out, const mlops_allocator *alloc, char *err, size_t errlen)
{
	return Contours(NULL, mask, rows, cols, 0, out, alloc, err, errlen);
}
