/*
 * merge.c
 *	  Kernel: merging nearby points into sites (see merge.h for the three
 *	  methods and the exact rules each copies).
 *
 *	  The neighbour search is a hash of grid cells: cell (ix, iy) holds the
 *	  points with floor((x - x0) / cell) == ix and likewise for y, in input
 *	  order.  cell is radius * (1 + 1e-5), or extent / 2^32 if that is
 *	  larger: two points within radius then differ by at most one cell on
 *	  each axis even after the roundings of the subtraction and the
 *	  division (those are below 2^32 * 2^-52 of a cell), so the 3 x 3 cells
 *	  around a query hold all its neighbours.  The distance tests are then
 *	  exactly the references' (merge.h).
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "detect/merge.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "common/errbuf.h"

typedef struct Grid
{
	double		x0;
	double		y0;
	double		cell;
	int64_t		ncells;
	int64_t    *cx;				/* per cell: its ix */
	int64_t    *cy;				/* per cell: its iy */
	int64_t    *cstart;			/* per cell: offset into members; ncells + 1 */
	int64_t    *members;		/* point indices, by cell, input order within */
	int64_t    *slot;			/* hash slots: cell id or -1 */
	uint64_t	mask;
} Grid;

static uint64_t CellHash(int64_t ix, int64_t iy);
static int64_t GridCell(const Grid *g, int64_t ix, int64_t iy);
static bool GridBuild(Grid *g, const double *x, const double *y, int64_t n, double radius,
					  const mlops_allocator *alloc);
static void GridFree(Grid *g, const mlops_allocator *alloc);
static int64_t UfFind(int64_t *parent, int64_t a);
static void UfUnion(int64_t *parent, int64_t a, int64_t b);
static int	IterativeMean(const double *x, const double *y, int64_t n, double radius,
						  const Grid *g, int64_t *chain, double **site_xy, int64_t *n_sites,
						  const mlops_allocator *alloc);

static uint64_t
CellHash(int64_t ix, int64_t iy)
{
	uint64_t	h = (uint64_t) ix * 0x9E3779B97F4A7C15u ^ (uint64_t) iy * 0xC2B2AE3D27D4EB4Fu;

	return h ^ (h >> 29);
}

/* GridCell: the id of cell (ix, iy), or -1 when it holds no point. */
static int64_t
GridCell(const Grid *g, int64_t ix, int64_t iy)
{
	uint64_t	h = CellHash(ix, iy) & g->mask;

	for (;;)
	{
		int64_t		c = g->slot[h];

		if (c < 0)
			return -1;
		if (g->cx[c] == ix && g->cy[c] == iy)
			return c;
		h = (h + 1) & g->mask;
	}
}

static inline int64_t
CellIndex(double v, double v0, double cell)
{
	return (int64_t) floor((v - v0) / cell);
}

static bool
GridBuild(Grid *g, const double *x, const double *y, int64_t n, double radius,
		  const mlops_allocator *alloc)
{
	double		xmin = x[0],
				xmax = x[0],
				ymin = y[0],
				ymax = y[0],
				extent;
	int64_t    *cell_of;
	uint64_t	nslots = 16;

	memset(g, 0, sizeof(*g));
	for (int64_t i = 1; i < n; i++)
	{
		xmin = fmin(xmin, x[i]);
		xmax = fmax(xmax, x[i]);
		ymin = fmin(ymin, y[i]);
		ymax = fmax(ymax, y[i]);
	}
	extent = fmax(xmax - xmin, ymax - ymin);
	g->x0 = xmin;
	g->y0 = ymin;
	g->cell = fmax(radius * (1 + 1e-5), extent * 0x1p-32);
	while (nslots < 2 * (uint64_t) n)
		nslots *= 2;
	g->mask = nslots - 1;
	g->slot = mlops_alloc(alloc, nslots * sizeof(int64_t));
	g->cx = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	g->cy = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	g->cstart = mlops_alloc(alloc, (size_t) (n + 1) * sizeof(int64_t));
	g->members = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	cell_of = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	if (!g->slot || !g->cx || !g->cy || !g->cstart || !g->members || !cell_of)
	{
		mlops_free(alloc, cell_of);
		GridFree(g, alloc);
		return false;
	}
	memset(g->slot, 0xFF, nslots * sizeof(int64_t));
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		ix = CellIndex(x[i], g->x0, g->cell);
		int64_t		iy = CellIndex(y[i], g->y0, g->cell);
		uint64_t	h = CellHash(ix, iy) & g->mask;
		int64_t		c;

		for (;;)
		{
			c = g->slot[h];
			if (c < 0)
			{
				c = g->ncells++;
				g->slot[h] = c;
				g->cx[c] = ix;
				g->cy[c] = iy;
				g->cstart[c] = 0;
				break;
			}
			if (g->cx[c] == ix && g->cy[c] == iy)
				break;
			h = (h + 1) & g->mask;
		}
		cell_of[i] = c;
		g->cstart[c]++;
	}
	/* Counts to offsets, then place the points (stable). */
	{
		int64_t		acc = 0;

		for (int64_t c = 0; c < g->ncells; c++)
		{
			int64_t		cnt = g->cstart[c];

			g->cstart[c] = acc;
			acc += cnt;
		}
		g->cstart[g->ncells] = acc;
		for (int64_t i = 0; i < n; i++)
			g->members[g->cstart[cell_of[i]]++] = i;
		for (int64_t c = g->ncells; c > 0; c--)
			g->cstart[c] = g->cstart[c - 1];
		g->cstart[0] = 0;
	}
	mlops_free(alloc, cell_of);
	return true;
}

static void
GridFree(Grid *g, const mlops_allocator *alloc)
{
	mlops_free(alloc, g->slot);
	mlops_free(alloc, g->cx);
	mlops_free(alloc, g->cy);
	mlops_free(alloc, g->cstart);
	mlops_free(alloc, g->members);
	memset(g, 0, sizeof(*g));
}

/*
 * Neighbours: calls the body for every point index q (variable named by
 * q) in the 3 x 3 cells around (qx_, qy_); the body tests the distance.
 */
#define FOR_NEAR(g, qx_, qy_, q, body) \
	do { \
		int64_t		ix_ = CellIndex((qx_), (g)->x0, (g)->cell); \
		int64_t		iy_ = CellIndex((qy_), (g)->y0, (g)->cell); \
		for (int64_t dy_ = -1; dy_ <= 1; dy_++) \
			for (int64_t dx_ = -1; dx_ <= 1; dx_++) \
			{ \
				int64_t		c_ = GridCell((g), ix_ + dx_, iy_ + dy_); \
				if (c_ < 0) \
					continue; \
				for (int64_t k_ = (g)->cstart[c_]; k_ < (g)->cstart[c_ + 1]; k_++) \
				{ \
					int64_t		q = (g)->members[k_]; \
					body; \
				} \
			} \
	} while (0)

static int64_t
UfFind(int64_t *parent, int64_t a)
{
	while (parent[a] != a)
	{
		parent[a] = parent[parent[a]];
		a = parent[a];
	}
	return a;
}

static void
UfUnion(int64_t *parent, int64_t a, int64_t b)
{
	int64_t		ra = UfFind(parent, a);
	int64_t		rb = UfFind(parent, b);

	if (ra < rb)
		parent[rb] = ra;
	else if (rb < ra)
		parent[ra] = rb;
}

static int
CmpInt64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* SortSmall: ascending; insertion sort for the usual short lists. */
static void
SortSmall(int64_t *v, int64_t n)
{
	if (n > 32)
	{
		qsort(v, (size_t) n, sizeof(int64_t), CmpInt64);
		return;
	}
	for (int64_t i = 1; i < n; i++)
	{
		int64_t		t = v[i],
					j = i;

		while (j > 0 && v[j - 1] > t)
		{
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
}

/*
 * IterativeMean: merge_similar_sites.  chain[i] ends as point i's site in
 * the last round's numbering; *site_xy gets that round's means.
 */
static int
IterativeMean(const double *x, const double *y, int64_t n, double radius,
			  const Grid *g, int64_t *chain, double **site_xy, int64_t *n_sites,
			  const mlops_allocator *alloc)
{
	double		r2 = radius * radius;
	double	   *q = mlops_alloc(alloc, (size_t) n * 2 * sizeof(double));	/* queries */
	double	   *nq = mlops_alloc(alloc, (size_t) n * 2 * sizeof(double));
	int64_t    *lst = NULL;		/* this round's neighbour lists, concatenated */
	int64_t		lst_cap = 0;
	int64_t    *lst_start = mlops_alloc(alloc, (size_t) (n + 1) * sizeof(int64_t));
	int64_t    *uniq_of = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));	/* query -> distinct list */
	int64_t    *uniq_list = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));	/* distinct -> query */
	uint64_t	nslots = 16;
	int64_t    *slot;
	int64_t		nq_count = n;
	int64_t		num = n;
	int			rc = -1;

	while (nslots < 2 * (uint64_t) n)
		nslots *= 2;
	slot = mlops_alloc(alloc, nslots * sizeof(int64_t));
	if (!q || !nq || !lst_start || !uniq_of || !uniq_list || !slot)
		goto done;

	/* Round 0: each point's neighbourhood mean, not deduplicated. */
	for (int64_t i = 0; i < n; i++)
	{
		double		sx = 0,
					sy = 0;
		int64_t		cnt = 0;

		/* Sum in ascending index order: gather, sort, sum. */
		{
			int64_t		need = 0;

			FOR_NEAR(g, x[i], y[i], p, {
				double dx = x[i] - x[p];
				double dy = y[i] - y[p];
				if (dx * dx + dy * dy <= r2)
					need++;
			});
			if (need > lst_cap)
			{
				int64_t		cap = lst_cap ? lst_cap : 1024;
				int64_t    *t;

				while (cap < need)
					cap *= 2;
				t = mlops_realloc(alloc, lst, (size_t) cap * sizeof(int64_t));
				if (!t)
					goto done;
				lst = t;
				lst_cap = cap;
			}
			FOR_NEAR(g, x[i], y[i], p, {
				double dx = x[i] - x[p];
				double dy = y[i] - y[p];
				if (dx * dx + dy * dy <= r2)
					lst[cnt++] = p;
			});
			SortSmall(lst, cnt);
			for (int64_t k = 0; k < cnt; k++)
			{
				sx += x[lst[k]];
				sy += y[lst[k]];
			}
		}
		q[2 * i] = sx / (double) cnt;
		q[2 * i + 1] = sy / (double) cnt;
		chain[i] = i;
	}

	for (;;)
	{
		int64_t		total = 0;
		int64_t		nuniq = 0;

		/* Neighbour lists of every query, sorted, concatenated. */
		for (int64_t j = 0; j < nq_count; j++)
		{
			double		qx = q[2 * j],
						qy = q[2 * j + 1];
			int64_t		need = 0;

			lst_start[j] = total;
			if (isnan(qx) || isnan(qy))
				continue;		/* an empty neighbourhood's mean: finds nothing */
			FOR_NEAR(g, qx, qy, p, {
				double dx = qx - x[p];
				double dy = qy - y[p];
				if (dx * dx + dy * dy <= r2)
					need++;
			});
			if (total + need > lst_cap)
			{
				int64_t		cap = lst_cap ? lst_cap : 1024;
				int64_t    *t;

				while (cap < total + need)
					cap *= 2;
				t = mlops_realloc(alloc, lst, (size_t) cap * sizeof(int64_t));
				if (!t)
					goto done;
				lst = t;
				lst_cap = cap;
			}
			FOR_NEAR(g, qx, qy, p, {
				double dx = qx - x[p];
				double dy = qy - y[p];
				if (dx * dx + dy * dy <= r2)
					lst[total++] = p;
			});
			SortSmall(lst + lst_start[j], total - lst_start[j]);
		}
		lst_start[nq_count] = total;

		/* Distinct lists, in order of first occurrence. */
		memset(slot, 0xFF, nslots * sizeof(int64_t));
		for (int64_t j = 0; j < nq_count; j++)
		{
			const int64_t *a = lst + lst_start[j];
			int64_t		len = lst_start[j + 1] - lst_start[j];
			uint64_t	h = 1469598103934665603u ^ (uint64_t) len;

			for (int64_t k = 0; k < len; k++)
				h = (h ^ (uint64_t) a[k]) * 1099511628211u;
			h ^= h >> 31;
			h &= nslots - 1;
			for (;;)
			{
				int64_t		u = slot[h];

				if (u < 0)
				{
					slot[h] = nuniq;
					uniq_list[nuniq] = j;
					uniq_of[j] = nuniq++;
					break;
				}
				else
				{
					int64_t		o = uniq_list[u];
					int64_t		olen = lst_start[o + 1] - lst_start[o];

					if (olen == len && memcmp(lst + lst_start[o], a, (size_t) len * sizeof(int64_t)) == 0)
					{
						uniq_of[j] = u;
						break;
					}
				}
				h = (h + 1) & (nslots - 1);
			}
		}
		for (int64_t u = 0; u < nuniq; u++)
		{
			int64_t		o = uniq_list[u];
			double		sx = 0,
						sy = 0;
			int64_t		len = lst_start[o + 1] - lst_start[o];

			for (int64_t k = lst_start[o]; k < lst_start[o + 1]; k++)
			{
				sx += x[lst[k]];
				sy += y[lst[k]];
			}
			/* numpy's mean of no rows is NaN, as 0 / 0 is here. */
			nq[2 * u] = sx / (double) len;
			nq[2 * u + 1] = sy / (double) len;
		}
		for (int64_t i = 0; i < n; i++)
			chain[i] = uniq_of[chain[i]];
		{
			double	   *t = q;

			q = nq;
			nq = t;
		}
		nq_count = nuniq;
		if (nuniq == num)
			break;
		num = nuniq;
	}
	*site_xy = q;
	q = NULL;
	*n_sites = nq_count;
	rc = 0;

done:
	mlops_free(alloc, q);
	mlops_free(alloc, nq);
	mlops_free(alloc, lst);
	mlops_free(alloc, lst_start);
	mlops_free(alloc, uniq_of);
	mlops_free(alloc, uniq_list);
	mlops_free(alloc, slot);
	return rc;
}

/*
 * merge_points: see merge.h.
 */
int
merge_points(const double *x, const double *y, int64_t n, double radius,
			 MergeMethod m, int min_points, int32_t *site_of,
			 double **site_xy, int64_t *n_sites,
			 const mlops_allocator *alloc, char *err, size_t errlen)
{
	Grid		g;
	int64_t    *lab = NULL;		/* union-find parents, then chains */
	int64_t    *renum = NULL;
	double	   *xy = NULL;
	double	   *sums = NULL;
	int64_t    *counts = NULL;
	int64_t		nsites = 0;

	if (site_xy == NULL || n_sites == NULL || alloc == NULL)
	{
		errbuf_printf(err, errlen, "the outputs and the allocator must not be null");
		return -1;
	}
	*site_xy = NULL;
	*n_sites = 0;
	if (m != MERGE_ITERATIVE_MEAN && m != MERGE_SINGLE_LINK && m != MERGE_DBSCAN)
	{
		errbuf_printf(err, errlen, "unknown merge method %d", (int) m);
		return -1;
	}
	if (!(radius > 0) || isinf(radius))
	{
		errbuf_printf(err, errlen, "the radius must be positive and finite, not %g", radius);
		return -1;
	}
	if (min_points < 1)
	{
		errbuf_printf(err, errlen, "min_points must be at least 1, not %d", min_points);
		return -1;
	}
	if (n < 0 || n > INT32_MAX)
	{
		errbuf_printf(err, errlen, "the number of points must be between 0 and %d, not %lld",
					  INT32_MAX, (long long) n);
		return -1;
	}
	if (n == 0)
		return 0;
	if (x == NULL || y == NULL || site_of == NULL)
	{
		errbuf_printf(err, errlen, "the coordinates and site_of must not be null");
		return -1;
	}
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(x[i]) || !isfinite(y[i]))
		{
			errbuf_printf(err, errlen, "point %lld has a coordinate that is NaN or infinite",
						  (long long) i + 1);
			return -1;
		}

	if (!GridBuild(&g, x, y, n, radius, alloc))
		goto oom;
	lab = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	renum = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	if (!lab || !renum)
		goto oom;

	if (m == MERGE_ITERATIVE_MEAN)
	{
		double	   *raw = NULL;
		int64_t		nraw = 0;

		if (IterativeMean(x, y, n, radius, &g, lab, &raw, &nraw, alloc) != 0)
			goto oom;
		/* Renumber sites by their first point in input order. */
		for (int64_t s = 0; s < nraw; s++)
			renum[s] = -1;
		xy = mlops_alloc(alloc, (size_t) (nraw ? nraw : 1) * 2 * sizeof(double));
		if (!xy)
		{
			mlops_free(alloc, raw);
			goto oom;
		}
		for (int64_t i = 0; i < n; i++)
		{
			int64_t		s = lab[i];

			if (renum[s] < 0)
			{
				renum[s] = nsites;
				xy[2 * nsites] = raw[2 * s];
				xy[2 * nsites + 1] = raw[2 * s + 1];
				nsites++;
			}
			site_of[i] = (int32_t) renum[s];
		}
		mlops_free(alloc, raw);
	}
	else
	{
		char	   *in_cluster = mlops_alloc(alloc, (size_t) n);
		char	   *is_core = mlops_alloc(alloc, (size_t) n);

		if (!in_cluster || !is_core)
		{
			mlops_free(alloc, in_cluster);
			mlops_free(alloc, is_core);
			goto oom;
		}
		for (int64_t i = 0; i < n; i++)
			lab[i] = i;
		if (m == MERGE_SINGLE_LINK || min_points <= 1)
		{
			memset(in_cluster, 1, (size_t) n);
			for (int64_t p = 0; p < n; p++)
				FOR_NEAR(&g, x[p], y[p], q, {
					if (q > p)
					{
						double hs = x[q] - x[p];
						double vs = y[q] - y[p];
						if (sqrt(hs * hs + vs * vs) <= radius)
							UfUnion(lab, p, q);
					}
				});
		}
		else
		{
			memset(in_cluster, 0, (size_t) n);
			memset(is_core, 0, (size_t) n);
			if (n > min_points)
			{
				for (int64_t p = 0; p < n; p++)
				{
					int64_t		cnt = 0;

					FOR_NEAR(&g, x[p], y[p], q, {
						double hs = x[q] - x[p];
						double vs = y[q] - y[p];
						if (sqrt(hs * hs + vs * vs) <= radius)
							cnt++;
					});
					if (cnt < min_points)
						continue;
					is_core[p] = 1;
					in_cluster[p] = 1;
					/* union_if_available for every neighbour */
					FOR_NEAR(&g, x[p], y[p], q, {
						double hs = x[q] - x[p];
						double vs = y[q] - y[p];
						if (sqrt(hs * hs + vs * vs) <= radius)
						{
							if (in_cluster[q])
							{
								if (is_core[q])
									UfUnion(lab, p, q);
							}
							else
							{
								UfUnion(lab, p, q);
								in_cluster[q] = 1;
							}
						}
					});
				}
			}
		}
		/* Number sites by first member; positions are members' means. */
		sums = mlops_alloc(alloc, (size_t) n * 2 * sizeof(double));
		counts = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
		if (!sums || !counts)
		{
			mlops_free(alloc, in_cluster);
			mlops_free(alloc, is_core);
			goto oom;
		}
		for (int64_t i = 0; i < n; i++)
			renum[i] = -1;
		for (int64_t i = 0; i < n; i++)
		{
			int64_t		root,
						s;

			if (!in_cluster[i])
			{
				site_of[i] = -1;
				continue;
			}
			root = UfFind(lab, i);
			if (renum[root] < 0)
			{
				renum[root] = nsites;
				sums[2 * nsites] = 0;
				sums[2 * nsites + 1] = 0;
				counts[nsites] = 0;
				nsites++;
			}
			s = renum[root];
			site_of[i] = (int32_t) s;
			sums[2 * s] += x[i];
			sums[2 * s + 1] += y[i];
			counts[s]++;
		}
		mlops_free(alloc, in_cluster);
		mlops_free(alloc, is_core);
		xy = mlops_alloc(alloc, (size_t) (nsites ? nsites : 1) * 2 * sizeof(double));
		if (!xy)
			goto oom;
		for (int64_t s = 0; s < nsites; s++)
		{
			xy[2 * s] = sums[2 * s] / (double) counts[s];
			xy[2 * s + 1] = sums[2 * s + 1] / (double) counts[s];
		}
	}

	GridFree(&g, alloc);
	mlops_free(alloc, lab);
	mlops_free(alloc, renum);
	mlops_free(alloc, sums);
	mlops_free(alloc, counts);
	if (nsites == 0)
	{
		mlops_free(alloc, xy);
		xy = NULL;
	}
	*site_xy = xy;
	*n_sites = nsites;
	return 0;

oom:
	errbuf_printf(err, errlen, "out of memory");
	GridFree(&g, alloc);
	mlops_free(alloc, lab);
	mlops_free(alloc, renum);
	mlops_free(alloc, sums);
	mlops_free(alloc, counts);
	mlops_free(alloc, xy);
	return -1;
}
