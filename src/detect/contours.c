/*
 * contours.c
 *	  Kernel: polygons of the cells at or above a level (see contours.h for
 *	  the contract: coordinates, orientation, pinches and validity), and
 *	  OpenCV's box blur.
 *
 *	  Method.  One raster scan cuts every row into runs (maximal stretches
 *	  of in cells) and joins each run to the overlapping runs of the row
 *	  above by union-find, twice: 4-connected (runs sharing a column) for
 *	  the polygons, 8-connected (sharing a column or a corner) for part_of.
 *	  A union keeps the smaller run index as the root, so a component's
 *	  root is its first run in raster order.
 *
 *	  The boundary is then followed along cell edges.  Every run has two
 *	  vertical edges: its left one, walked upwards (y decreasing), and its
 *	  right one, walked downwards; a ring is a cycle of vertical edges
 *	  joined by horizontal moves along a row edge, and the successor of an
 *	  edge is found from the runs of the neighbouring row by one binary
 *	  search.  Walking so, the in cells are on the left in the (x, y up)
 *	  frame: exteriors come out counter-clockwise, holes clockwise.
 *	  A vertex is emitted only where the direction changes, so rings have
 *	  no collinear points.  At a pinch (two in cells meeting only at a
 *	  corner) the walk crosses to the other in cell when both are in the
 *	  same 4-connected component (the rings then turn around the out
 *	  cells) and stays around its own cell otherwise: every ring is simple.
 *	  (Why: a ring passes a vertex twice only at a pinch.  Crossing to the
 *	  other cell, the two pieces of boundary there turn around the two out
 *	  cells, which lie on either side of a closed curve through the
 *	  component (a 4-path between the two in cells, closed through the
 *	  pinch), so in different faces of its complement: different rings.
 *	  Staying, the pieces turn around in cells of different components:
 *	  rings of different polygons.)  test/parity/contours_parity.py checks
 *	  the result with PostGIS's ST_IsValid.
 *
 *	  Rings are numbered per polygon: the first ring walked for a polygon
 *	  starts at the left edge of its first run, whose outside is reached by
 *	  a ray to the left along the run's row without crossing the component,
 *	  so it is the exterior; later rings are holes.
 *
 *	  Memory: a few words per run and per output point; nothing per cell.
 *	  Time: the scan reads every cell once (SSE2 where there is, sixteen
 *	  cells a step) and is most of the time on large images; the rest is
 *	  per run.  4096 x 4096 with ~940 blobs: ~18 ms, GDAL Polygonize 166 ms
 *	  on the same machine (test/bench/kernels/contours_gdal.py).
 *	  Pure C: no PostgreSQL headers.
 */
#include "detect/contours.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "util/errbuf.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* A growable array of fixed-size items. */
typedef struct Grow
{
	void	   *data;
	int64_t		n;
	int64_t		cap;
	size_t		item;
} Grow;

/* A run: columns [s, e) of row row. */
typedef struct Run
{
	int64_t		s;
	int64_t		e;
	int64_t		row;
	double		maxv;
} Run;

static bool GrowReserve(Grow *g, int64_t more, const mlops_allocator *alloc);
static int32_t UfFind(int32_t *parent, int32_t a);
static void UfUnion(int32_t *parent, int32_t a, int32_t b);
static int64_t FirstRunEndingAfter(const Run *runs, int64_t lo, int64_t hi, int64_t c);
static int64_t NextEdge(const Run *runs, const int64_t *row_start, const int32_t *pid,
						int64_t rows, int64_t edge);

/*
 * SkipOut: the first column >= c whose cell is in (value >= level, so
 * never NaN), or cols.  SkipIn: the first column >= c whose cell is out,
 * with the largest value of the cells skipped in *mx (cell c must be in).
 * With SSE2 (every x86-64) they test sixteen and two cells at a time: the
 * scan is most of the time of a large, mostly empty image.
 */
static inline int64_t
SkipOut(const double *p, int64_t c, int64_t cols, double level)
{
#ifdef __SSE2__
	__m128d		lv = _mm_set1_pd(level);

	while (c + 16 <= cols)
	{
		__m128d		a = _mm_cmpge_pd(_mm_loadu_pd(p + c), lv);
		__m128d		b = _mm_cmpge_pd(_mm_loadu_pd(p + c + 2), lv);
		__m128d		d = _mm_cmpge_pd(_mm_loadu_pd(p + c + 4), lv);
		__m128d		e = _mm_cmpge_pd(_mm_loadu_pd(p + c + 6), lv);
		__m128d		f = _mm_cmpge_pd(_mm_loadu_pd(p + c + 8), lv);
		__m128d		g = _mm_cmpge_pd(_mm_loadu_pd(p + c + 10), lv);
		__m128d		h = _mm_cmpge_pd(_mm_loadu_pd(p + c + 12), lv);
		__m128d		k = _mm_cmpge_pd(_mm_loadu_pd(p + c + 14), lv);

		_mm_prefetch((const char *) (p + c + 128), _MM_HINT_T0);
		if (_mm_movemask_pd(_mm_or_pd(_mm_or_pd(_mm_or_pd(a, b), _mm_or_pd(d, e)),
									  _mm_or_pd(_mm_or_pd(f, g), _mm_or_pd(h, k)))) != 0)
			break;
		c += 16;
	}
	while (c + 2 <= cols && _mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(p + c), lv)) == 0)
		c += 2;
#endif
	while (c < cols && !(p[c] >= level))
		c++;
	return c;
}

static inline int64_t
SkipIn(const double *p, int64_t c, int64_t cols, double level, double *mx)
{
	double		m = p[c];

#ifdef __SSE2__
	{
		__m128d		lv = _mm_set1_pd(level);
		__m128d		mv = _mm_set1_pd(m);

		while (c + 2 <= cols)
		{
			__m128d		v = _mm_loadu_pd(p + c);

			if (_mm_movemask_pd(_mm_cmpge_pd(v, lv)) != 3)
				break;
			mv = _mm_max_pd(mv, v);
			c += 2;
		}
		{
			double		two[2];

			_mm_storeu_pd(two, mv);
			m = two[0] > two[1] ? two[0] : two[1];
		}
	}
#endif
	while (c < cols && p[c] >= level)
	{
		if (p[c] > m)
			m = p[c];
		c++;
	}
	*mx = m;
	return c;
}

static bool
GrowReserve(Grow *g, int64_t more, const mlops_allocator *alloc)
{
	if (g->n + more > g->cap)
	{
		int64_t		cap = g->cap ? g->cap : 64;
		void	   *p;

		while (cap < g->n + more)
			cap *= 2;
		p = mlops_realloc(alloc, g->data, (size_t) cap * g->item);
		if (p == NULL)
			return false;
		g->data = p;
		g->cap = cap;
	}
	return true;
}

/* UfFind: the root of a, halving the path on the way. */
static int32_t
UfFind(int32_t *parent, int32_t a)
{
	while (parent[a] != a)
	{
		parent[a] = parent[parent[a]];
		a = parent[a];
	}
	return a;
}

/* UfUnion: joins the sets of a and b; the smaller root index stays root. */
static void
UfUnion(int32_t *parent, int32_t a, int32_t b)
{
	int32_t		ra = UfFind(parent, a);
	int32_t		rb = UfFind(parent, b);

	if (ra < rb)
		parent[rb] = ra;
	else if (rb < ra)
		parent[ra] = rb;
}

/*
 * FirstRunEndingAfter: the first run index i in [lo, hi) (one row's runs,
 * sorted) with runs[i].e > c, or hi when there is none.
 */
static int64_t
FirstRunEndingAfter(const Run *runs, int64_t lo, int64_t hi, int64_t c)
{
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (runs[mid].e > c)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * NextEdge: the edge that follows edge along its ring.  An edge is
 * 2 * run + side, side 0 the run's left edge (walked up, ending at
 * (s, row)), side 1 its right edge (walked down, ending at (e, row + 1)).
 * pid gives each run's 4-connected component, which settles pinches.
 */
static int64_t
NextEdge(const Run *runs, const int64_t *row_start, const int32_t *pid,
		 int64_t rows, int64_t edge)
{
	int64_t		R = edge / 2;
	int64_t		r = runs[R].row;
	int64_t		s = runs[R].s;
	int64_t		e = runs[R].e;

	if (edge % 2 == 1)
	{
		/* Down the right edge to (e, r + 1); the row below is b. */
		int64_t		b = r + 1;
		int64_t		lo = 0,
					hi = 0,
					i = 0,
					B;
		bool		east = false;

		if (b < rows)
		{
			lo = row_start[b];
			hi = row_start[b + 1];
			i = FirstRunEndingAfter(runs, lo, hi, e - 1);
		}
		if (i < hi && runs[i].s <= e - 1)
		{
			/* The cell below the last cell of R is in. */
			if (runs[i].e == e)
				return 2 * i + 1;	/* straight on */
			east = true;
			B = i;
		}
		else
		{
			B = i;
			/* (b, e - 1) is out; is (b, e) in?  Then a pinch. */
			if (i < hi && runs[i].s == e && pid[i] == pid[R])
				east = true;
		}
		if (east)
		{
			/* East along y = r + 1: row b in below, row r out above. */
			int64_t		n = R + 1;

			if (n >= row_start[r + 1] || runs[B].e < runs[n].s)
				return 2 * B + 1;
			if (runs[n].s < runs[B].e)
				return 2 * n;
			return pid[B] == pid[n] ? 2 * n : 2 * B + 1;
		}
		else
		{
			/* West along y = r + 1: row r in above, row b out below. */
			int64_t		p = i - 1;

			if (p < lo || runs[p].e < s)
				return 2 * R;
			if (runs[p].e > s)
				return 2 * p + 1;
			return pid[p] == pid[R] ? 2 * p + 1 : 2 * R;
		}
	}
	else
	{
		/* Up the left edge to (s, r); the row above is a. */
		int64_t		a = r - 1;
		int64_t		lo = 0,
					hi = 0,
					i = 0,
					j;
		bool		west = false;
		bool		left_in;

		if (r > 0)
		{
			lo = row_start[a];
			hi = row_start[a + 1];
			i = FirstRunEndingAfter(runs, lo, hi, s - 1);
		}
		left_in = i < hi && runs[i].s <= s - 1;
		if (!left_in)
		{
			if (i < hi && runs[i].s == s)
				return 2 * i;	/* straight on */
			j = i;
		}
		else
		{
			/* (a, s - 1) is in: turn west, unless a pinch says otherwise. */
			if (runs[i].e > s || pid[i] == pid[R])
				west = true;
			j = i + 1;
		}
		if (west)
		{
			/* West along y = r: row a in above (run i), row r out below. */
			int64_t		A = i;
			int64_t		p = R - 1;

			if (p < row_start[r] || runs[A].s > runs[p].e)
				return 2 * A;
			if (runs[p].e > runs[A].s)
				return 2 * p + 1;
			return pid[A] == pid[p] ? 2 * p + 1 : 2 * A;
		}
		else
		{
			/* East along y = r: row r in below (R), row a out above. */
			if (j >= hi || e < runs[j].s)
				return 2 * R + 1;
			if (runs[j].s < e)
				return 2 * j;
			return pid[j] == pid[R] ? 2 * j : 2 * R + 1;
		}
	}
}

/* EdgeEnd: where edge ends (x, y), and its x. */
static inline void
EdgeEnd(const Run *runs, int64_t edge, int64_t *x, int64_t *y)
{
	const Run  *u = &runs[edge / 2];

	if (edge % 2 == 1)
	{
		*x = u->e;
		*y = u->row + 1;
	}
	else
	{
		*x = u->s;
		*y = u->row;
	}
}

void
contour_set_free(ContourSet *s, const mlops_allocator *alloc)
{
	if (s == NULL)
		return;
	mlops_free(alloc, s->polygons);
	mlops_free(alloc, s->ring_start);
	mlops_free(alloc, s->xy);
	memset(s, 0, sizeof(*s));
}

/*
 * contour_cells: see contours.h.
 */
int
contour_cells(const double *img, int64_t rows, int64_t cols, double level,
			  int connectivity, ContourSet *out,
			  const mlops_allocator *alloc, char *err, size_t errlen)
{
	Grow		runs = {NULL, 0, 0, sizeof(Run)};
	int64_t    *row_start = NULL;
	int32_t    *p4 = NULL;
	int32_t    *p8 = NULL;
	int32_t    *pid = NULL;
	int32_t    *comp = NULL;
	int64_t    *poly_rings = NULL;	/* per polygon: its runs' place in order */
	unsigned char *seen = NULL;
	ContourPolygon *polys = NULL;
	int64_t		npoly = 0;
	int32_t		ncomp = 0;
	int64_t		nruns;

	if (out == NULL || alloc == NULL)
	{
		errbuf_printf(err, errlen, "the output and the allocator must not be null");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (connectivity != 4 && connectivity != 8)
	{
		errbuf_printf(err, errlen, "connectivity must be 4 or 8, not %d", connectivity);
		return -1;
	}
	if (rows < 0 || cols < 0)
	{
		errbuf_printf(err, errlen, "the image must not have a negative size (%lld x %lld)",
					  (long long) rows, (long long) cols);
		return -1;
	}
	if (isnan(level))
	{
		errbuf_printf(err, errlen, "the level must not be NaN");
		return -1;
	}
	if (rows > 0 && cols > 0 && img == NULL)
	{
		errbuf_printf(err, errlen, "the image must not be null");
		return -1;
	}
	if (rows > 0 && cols > INT64_MAX / 4 / rows)
	{
		errbuf_printf(err, errlen, "the image is too large");
		return -1;
	}
	if (rows == 0 || cols == 0)
		rows = cols = 0;

	row_start = mlops_alloc(alloc, (size_t) (rows + 1) * sizeof(int64_t));
	if (row_start == NULL)
		goto oom;

	/* The scan: runs of each row, joined to the row above. */
	row_start[0] = 0;
	for (int64_t r = 0; r < rows; r++)
	{
		const double *p = img + r * cols;
		int64_t		c = 0;

		while (c < cols)
		{
			int64_t		s;
			double		mx;
			Run		   *u;

			c = SkipOut(p, c, cols, level);
			if (c == cols)
				break;
			s = c;
			c = SkipIn(p, c, cols, level, &mx);
			if (!GrowReserve(&runs, 1, alloc))
				goto oom;
			u = (Run *) runs.data + runs.n++;
			u->s = s;
			u->e = c;
			u->row = r;
			u->maxv = mx;
		}
		row_start[r + 1] = runs.n;
	}
	nruns = runs.n;

	if (nruns > INT32_MAX)
	{
		errbuf_printf(err, errlen, "too many runs of cells in the image (%lld)", (long long) nruns);
		goto fail;
	}
	p4 = mlops_alloc(alloc, (size_t) nruns * sizeof(int32_t));
	p8 = mlops_alloc(alloc, (size_t) nruns * sizeof(int32_t));
	pid = mlops_alloc(alloc, (size_t) nruns * sizeof(int32_t));
	comp = mlops_alloc(alloc, (size_t) nruns * sizeof(int32_t));
	seen = mlops_alloc(alloc, (size_t) nruns);
	if (p4 == NULL || p8 == NULL || pid == NULL || comp == NULL || seen == NULL)
		goto oom;
	memset(seen, 0, (size_t) nruns);
	for (int64_t k = 0; k < nruns; k++)
		p4[k] = p8[k] = (int32_t) k;

	{
		const Run  *R = runs.data;

		for (int64_t r = 1; r < rows; r++)
		{
			int64_t		i = row_start[r - 1],
						ie = row_start[r];
			int64_t		j = row_start[r],
						je = row_start[r + 1];

			while (i < ie && j < je)
			{
				if (R[i].s < R[j].e && R[j].s < R[i].e)
					UfUnion(p4, (int32_t) i, (int32_t) j);
				if (connectivity == 8 && R[i].s <= R[j].e && R[j].s <= R[i].e)
					UfUnion(p8, (int32_t) i, (int32_t) j);
				if (R[i].e < R[j].e)
					i++;
				else
					j++;
			}
		}
	}

	/* Number polygons and components in raster order of their first run. */
	for (int64_t k = 0; k < nruns; k++)
	{
		int32_t		r4 = UfFind(p4, (int32_t) k);

		if (r4 == k)
		{
			if (npoly >= INT32_MAX)
			{
				errbuf_printf(err, errlen, "too many polygons");
				goto fail;
			}
			pid[k] = (int32_t) npoly++;
		}
		else
			pid[k] = pid[r4];
		if (connectivity == 8)
		{
			int32_t		r8 = UfFind(p8, (int32_t) k);

			if (r8 == k)
				comp[k] = ncomp++;
			else
				comp[k] = comp[r8];
		}
	}

	polys = mlops_alloc(alloc, (size_t) (npoly ? npoly : 1) * sizeof(ContourPolygon));
	poly_rings = mlops_alloc(alloc, (size_t) (npoly + 1) * sizeof(int64_t));
	if (polys == NULL || poly_rings == NULL)
		goto oom;
	memset(poly_rings, 0, (size_t) (npoly + 1) * sizeof(int64_t));
	for (int64_t k = 0; k < nruns; k++)
	{
		const Run  *u = (const Run *) runs.data + k;
		ContourPolygon *P = &polys[pid[k]];

		if (UfFind(p4, (int32_t) k) == k)
		{
			P->n_rings = 0;
			P->first_ring = 0;
			P->cells = 0;
			P->max_value = u->maxv;
			P->part_of = connectivity == 8 ? comp[k] : pid[k];
			P->xmin = u->s;
			P->xmax = u->e;
			P->ymin = u->row;
			P->ymax = u->row + 1;
		}
		P->cells += u->e - u->s;
		if (u->maxv > P->max_value)
			P->max_value = u->maxv;
		if (u->s < P->xmin)
			P->xmin = u->s;
		if (u->e > P->xmax)
			P->xmax = u->e;
		P->ymax = u->row + 1;
	}
	if (connectivity == 4)
		ncomp = (int32_t) npoly;

	/*
	 * Walk the rings polygon by polygon, straight into the output: the runs
	 * of each polygon in raster order (a counting sort by polygon), each
	 * unwalked edge starting a ring.  A polygon's first run comes first,
	 * its left edge first: the exterior.  Bounds: a ring has at least two
	 * vertical edges and emits at most two points per vertical edge, plus
	 * its closing point, so there are at most nruns rings and 5 * nruns
	 * points; the arrays are cut to size at the end.
	 */
	{
		int64_t    *order = mlops_alloc(alloc, (size_t) (nruns ? nruns : 1) * sizeof(int64_t));
		int64_t    *ring_start = mlops_alloc(alloc, (size_t) (nruns + 1) * sizeof(int64_t));
		double	   *xy = mlops_alloc(alloc, (size_t) (nruns ? nruns : 1) * 5 * 2 * sizeof(double));
		const Run  *R = runs.data;
		int64_t		nr = 0,
					np = 0;

		if (order == NULL || ring_start == NULL || xy == NULL)
		{
			mlops_free(alloc, order);
			mlops_free(alloc, ring_start);
			mlops_free(alloc, xy);
			goto oom;
		}
		/* poly_rings[p] first counts p's runs, then is its slot in order. */
		for (int64_t k = 0; k < nruns; k++)
			poly_rings[pid[k]]++;
		{
			int64_t		acc = 0;

			for (int64_t p = 0; p < npoly; p++)
			{
				int64_t		cnt = poly_rings[p];

				poly_rings[p] = acc;
				acc += cnt;
			}
		}
		for (int64_t k = 0; k < nruns; k++)
			order[poly_rings[pid[k]]++] = k;

		ring_start[0] = 0;
		for (int64_t p = 0, o = 0; p < npoly; p++)
		{
			polys[p].first_ring = nr;
			for (; o < nruns && pid[order[o]] == p; o++)
			{
				int64_t		k = order[o];

				for (int side = 0; side < 2; side++)
				{
					int64_t		start = 2 * k + side;
					int64_t		cur = start;
					int64_t		first_point = np;

					if (seen[k] & (1 << side))
						continue;
					do
					{
						int64_t		nxt = NextEdge(R, row_start, pid, rows, cur);
						int64_t		x0,
									y0,
									x1;

						seen[cur / 2] |= (unsigned char) (1 << (cur % 2));
						EdgeEnd(R, cur, &x0, &y0);
						/* The next edge starts at (x1, y0); a corner unless straight on. */
						x1 = nxt % 2 == 1 ? R[nxt / 2].e : R[nxt / 2].s;
						if (nxt % 2 != cur % 2 || x1 != x0)
						{
							xy[2 * np] = (double) x0;
							xy[2 * np + 1] = (double) y0;
							xy[2 * np + 2] = (double) x1;
							xy[2 * np + 3] = (double) y0;
							np += 2;
						}
						cur = nxt;
					} while (cur != start);
					/* Close the ring. */
					xy[2 * np] = xy[2 * first_point];
					xy[2 * np + 1] = xy[2 * first_point + 1];
					np++;
					ring_start[++nr] = np;
				}
			}
			polys[p].n_rings = (int32_t) (nr - polys[p].first_ring);
		}
		mlops_free(alloc, order);
		/* Cut to size (shrinking; a failure keeps the larger block). */
		{
			double	   *t = mlops_realloc(alloc, xy, (size_t) (np ? np : 1) * 2 * sizeof(double));
			int64_t    *u = mlops_realloc(alloc, ring_start, (size_t) (nr + 1) * sizeof(int64_t));

			if (t)
				xy = t;
			if (u)
				ring_start = u;
		}
		out->n_polygons = npoly;
		out->polygons = polys;
		polys = NULL;
		out->n_components = ncomp;
		out->n_rings = nr;
		out->ring_start = ring_start;
		out->n_points = np;
		out->xy = xy;
	}

	mlops_free(alloc, runs.data);
	mlops_free(alloc, row_start);
	mlops_free(alloc, p4);
	mlops_free(alloc, p8);
	mlops_free(alloc, pid);
	mlops_free(alloc, comp);
	mlops_free(alloc, poly_rings);
	mlops_free(alloc, seen);
	return 0;

oom:
	errbuf_printf(err, errlen, "out of memory");
fail:
	mlops_free(alloc, runs.data);
	mlops_free(alloc, row_start);
	mlops_free(alloc, p4);
	mlops_free(alloc, p8);
	mlops_free(alloc, pid);
	mlops_free(alloc, comp);
	mlops_free(alloc, poly_rings);
	mlops_free(alloc, seen);
	mlops_free(alloc, polys);
	return -1;
}

/* Reflect101: OpenCV's BORDER_REFLECT_101 index into [0, n). */
static inline int64_t
Reflect101(int64_t i, int64_t n)
{
	if (n == 1)
		return 0;
	while (i < 0 || i >= n)
	{
		if (i < 0)
			i = -i;
		if (i >= n)
			i = 2 * n - 2 - i;
	}
	return i;
}

/*
 * contour_box_blur: see contours.h.  Row sums into a scratch image, then
 * column sums of those, times 1 / (k * k) — the order of OpenCV's
 * separable box filter (it keeps running sums where this adds each window
 * afresh, so the last bits may differ).
 */
int
contour_box_blur(const double *in, double *out, int64_t rows, int64_t cols,
				 int ksize, const mlops_allocator *alloc, char *err, size_t errlen)
{
	double	   *tmp;
	int64_t		anchor;
	double		scale;

	if (ksize < 1)
	{
		errbuf_printf(err, errlen, "the kernel size must be at least 1, not %d", ksize);
		return -1;
	}
	if (rows < 0 || cols < 0 || (rows > 0 && cols > INT64_MAX / 8 / rows))
	{
		errbuf_printf(err, errlen, "bad image size %lld x %lld", (long long) rows, (long long) cols);
		return -1;
	}
	if (rows == 0 || cols == 0)
		return 0;
	if (in == NULL || out == NULL || alloc == NULL)
	{
		errbuf_printf(err, errlen, "the images and the allocator must not be null");
		return -1;
	}
	tmp = mlops_alloc(alloc, (size_t) (rows * cols) * sizeof(double));
	if (tmp == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return -1;
	}
	anchor = ksize / 2;
	scale = 1.0 / ((double) ksize * (double) ksize);
	for (int64_t r = 0; r < rows; r++)
	{
		const double *p = in + r * cols;

		for (int64_t c = 0; c < cols; c++)
		{
			double		sum = 0;

			for (int64_t j = 0; j < ksize; j++)
				sum += p[Reflect101(c - anchor + j, cols)];
			tmp[r * cols + c] = sum;
		}
	}
	for (int64_t r = 0; r < rows; r++)
	{
		for (int64_t c = 0; c < cols; c++)
		{
			double		sum = 0;

			for (int64_t j = 0; j < ksize; j++)
				sum += tmp[Reflect101(r - anchor + j, rows) * cols + c];
			out[r * cols + c] = sum * scale;
		}
	}
	mlops_free(alloc, tmp);
	return 0;
}
