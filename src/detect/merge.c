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
 *	  exactly the references' (merge.h).  Single link and DBSCAN look cells
 *	  up in a hash (Grid, here); the iterative mean sorts the points by
 *	  cell, row by row (merge_iterative.c).
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "detect/merge.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "detect/merge_private.h"
#include "util/errbuf.h"

/* A hash slot: one non-empty cell and its points members[start .. end). */
typedef struct Slot
{
	int64_t		ix;
	int64_t		iy;
	int64_t		start;			/* -1: empty slot */
	int64_t		end;
} Slot;

typedef struct Grid
{
	double		x0;
	double		y0;
	double		cell;
	Slot	   *slot;			/* open addressing, linear probing */
	uint64_t	mask;
	int64_t    *members;		/* point indices, by cell, input order within */
	double	   *gx;				/* their coordinates, in the same order */
	double	   *gy;
} Grid;

static const Slot *GridFind(const Grid *g, int64_t ix, int64_t iy);
static bool GridBuild(Grid *g, const double *x, const double *y, int64_t n, double radius,
					  const mlops_allocator *alloc);
static void GridFree(Grid *g, const mlops_allocator *alloc);
static int64_t UfFind(int64_t *parent, int64_t a);
static void UfUnion(int64_t *parent, int64_t a, int64_t b);

/* GridFind: the slot of cell (ix, iy), or NULL when it holds no point. */
static inline const Slot *
GridFind(const Grid *g, int64_t ix, int64_t iy)
{
	uint64_t	h = CellHash(ix, iy) & g->mask;

	for (;;)
	{
		const Slot *s = &g->slot[h];

		if (s->start < 0)
			return NULL;
		if (s->ix == ix && s->iy == iy)
			return s;
		h = (h + 1) & g->mask;
	}
}

/* SlotInsert: the slot of (ix, iy) in table (mask), claimed if new. */
static Slot *
SlotInsert(Slot *table, uint64_t mask, int64_t ix, int64_t iy, bool *fresh)
{
	uint64_t	h = CellHash(ix, iy) & mask;

	for (;;)
	{
		Slot	   *s = &table[h];

		if (s->start < 0)
		{
			s->ix = ix;
			s->iy = iy;
			s->start = 0;
			s->end = 0;
			*fresh = true;
			return s;
		}
		if (s->ix == ix && s->iy == iy)
		{
			*fresh = false;
			return s;
		}
		h = (h + 1) & mask;
	}
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
	Slot	   *big;
	Slot	  **slot_of;
	uint64_t	nbig = 16,
				nslots = 16;
	int64_t		ncells = 0;

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

	/* Count the points of each cell in a table sized for n cells. */
	while (nbig < 2 * (uint64_t) n)
		nbig *= 2;
	big = mlops_alloc(alloc, nbig * sizeof(Slot));
	slot_of = mlops_alloc(alloc, (size_t) n * sizeof(Slot *));
	if (!big || !slot_of)
	{
		mlops_free(alloc, big);
		mlops_free(alloc, slot_of);
		return false;
	}
	for (uint64_t h = 0; h < nbig; h++)
		big[h].start = -1;
	for (int64_t i = 0; i < n; i++)
	{
		bool		fresh;
		Slot	   *s = SlotInsert(big, nbig - 1, CellIndex(x[i], g->x0, g->cell),
								   CellIndex(y[i], g->y0, g->cell), &fresh);

		ncells += fresh;
		s->end++;				/* a count, for now */
		slot_of[i] = s;
	}

	/* Offsets, then the compact table (twice the cells) the searches use. */
	while (nslots < 2 * (uint64_t) ncells)
		nslots *= 2;
	g->mask = nslots - 1;
	g->slot = mlops_alloc(alloc, nslots * sizeof(Slot));
	g->members = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	g->gx = mlops_alloc(alloc, (size_t) n * sizeof(double));
	g->gy = mlops_alloc(alloc, (size_t) n * sizeof(double));
	if (!g->slot || !g->members || !g->gx || !g->gy)
	{
		mlops_free(alloc, big);
		mlops_free(alloc, slot_of);
		GridFree(g, alloc);
		return false;
	}
	{
		int64_t		acc = 0;

		for (uint64_t h = 0; h < nbig; h++)
			if (big[h].start >= 0)
			{
				int64_t		cnt = big[h].end;

				big[h].start = acc;
				big[h].end = acc;	/* the fill position */
				acc += cnt;
			}
	}
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		k = slot_of[i]->end++;

		g->members[k] = i;
		g->gx[k] = x[i];
		g->gy[k] = y[i];
	}
	for (uint64_t h = 0; h < nslots; h++)
		g->slot[h].start = -1;
	for (uint64_t h = 0; h < nbig; h++)
		if (big[h].start >= 0)
		{
			bool		fresh;
			Slot	   *s = SlotInsert(g->slot, g->mask, big[h].ix, big[h].iy, &fresh);

			s->start = big[h].start;
			s->end = big[h].end;
		}
	mlops_free(alloc, big);
	mlops_free(alloc, slot_of);
	return true;
}

static void
GridFree(Grid *g, const mlops_allocator *alloc)
{
	mlops_free(alloc, g->slot);
	mlops_free(alloc, g->members);
	mlops_free(alloc, g->gx);
	mlops_free(alloc, g->gy);
	memset(g, 0, sizeof(*g));
}

/*
 * FOR_NEAR: runs body for every point in the 3 x 3 cells around
 * (qx_, qy_), with q its index and px, py its coordinates; the body tests
 * the distance.
 */
#define FOR_NEAR(g, qx_, qy_, q, px, py, body) \
	do { \
		int64_t		ix_ = CellIndex((qx_), (g)->x0, (g)->cell); \
		int64_t		iy_ = CellIndex((qy_), (g)->y0, (g)->cell); \
		for (int64_t dy_ = -1; dy_ <= 1; dy_++) \
			for (int64_t dx_ = -1; dx_ <= 1; dx_++) \
			{ \
				const Slot *s_ = GridFind((g), ix_ + dx_, iy_ + dy_); \
				if (s_ == NULL) \
					continue; \
				for (int64_t k_ = s_->start; k_ < s_->end; k_++) \
				{ \
					int64_t		q = (g)->members[k_]; \
					double		px = (g)->gx[k_]; \
					double		py = (g)->gy[k_]; \
					body; \
				} \
			} \
	} while (0)

/*
 * PgNear: q is p's neighbour as liblwgeom's union_dbscan decides it: q is
 * in p's query envelope (p +- eps, GEOS's STRtree query) and the point
 * distance sqrt(dx * dx + dy * dy) is <= eps.  The envelope matters only
 * at the last bit and where the squares underflow (coordinates ~1e-160).
 */
static inline bool
PgNear(double px, double py, double qx, double qy, double eps)
{
	double		hs = qx - px;
	double		vs = qy - py;

	return qx >= px - eps && qx <= px + eps && qy >= py - eps && qy <= py + eps &&
		sqrt(hs * hs + vs * vs) <= eps;
}

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

/*
 * merge_points: see merge.h.
 */
int
merge_points(const double *x, const double *y, int64_t n, double radius,
			 MergeMethod m, int min_points, int32_t *site_of,
			 double **site_xy, int64_t *n_sites,
			 const mlops_allocator *alloc, char *err, size_t errlen)
{
	Grid		g = {0};		/* single link and DBSCAN's (merge_iterative_mean has its own) */
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

	{
		double		xmin = x[0],
					xmax = x[0],
					ymin = y[0],
					ymax = y[0];

		for (int64_t i = 1; i < n; i++)
		{
			xmin = fmin(xmin, x[i]);
			xmax = fmax(xmax, x[i]);
			ymin = fmin(ymin, y[i]);
			ymax = fmax(ymax, y[i]);
		}
		if (!isfinite(xmax - xmin) || !isfinite(ymax - ymin))
		{
			errbuf_printf(err, errlen, "the points spread too far: their extent overflows a double");
			return -1;
		}
	}
	if (m != MERGE_ITERATIVE_MEAN && !GridBuild(&g, x, y, n, radius, alloc))
		goto oom;
	lab = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	renum = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	if (!lab || !renum)
		goto oom;

	if (m == MERGE_ITERATIVE_MEAN)
	{
		double	   *raw = NULL;
		int64_t		nraw = 0;

		if (merge_iterative_mean(x, y, n, radius, lab, &raw, &nraw, alloc) != 0)
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
			/*
			 * Every pair of points in neighbouring cells once, cell by cell
			 * in the table's order (memory order): within a cell, each point
			 * with the later ones; then with the four cells ahead, (x + 1,
			 * y), (x - 1, y + 1), (x, y + 1), (x + 1, y + 1).  Linked when p
			 * finds q or q finds p, as PostGIS tests each from both ends.
			 * The partition does not depend on the order of the unions (a
			 * root is always its set's smallest index).
			 */
			memset(in_cluster, 1, (size_t) n);
			for (uint64_t h = 0; h <= g.mask; h++)
			{
				const Slot *c = &g.slot[h];
				const Slot *ahead[4];

				if (c->start < 0)
					continue;
				ahead[0] = GridFind(&g, c->ix + 1, c->iy);
				ahead[1] = GridFind(&g, c->ix - 1, c->iy + 1);
				ahead[2] = GridFind(&g, c->ix, c->iy + 1);
				ahead[3] = GridFind(&g, c->ix + 1, c->iy + 1);
				for (int64_t k = c->start; k < c->end; k++)
				{
					int64_t		p = g.members[k];
					double		px = g.gx[k],
								py = g.gy[k];

					for (int a = -1; a < 4; a++)
					{
						const Slot *o = a < 0 ? c : ahead[a];

						if (o == NULL)
							continue;
						for (int64_t l = a < 0 ? k + 1 : o->start; l < o->end; l++)
						{
							double		qx = g.gx[l],
										qy = g.gy[l];

							if (PgNear(px, py, qx, qy, radius) || PgNear(qx, qy, px, py, radius))
								UfUnion(lab, p, g.members[l]);
						}
					}
				}
			}
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

					FOR_NEAR(&g, x[p], y[p], q, qx, qy, {
						(void) q;
						if (PgNear(x[p], y[p], qx, qy, radius))
							cnt++;
					});
					if (cnt < min_points)
						continue;
					is_core[p] = 1;
					in_cluster[p] = 1;
					/* union_if_available for every neighbour */
					FOR_NEAR(&g, x[p], y[p], q, qx, qy, {
						if (PgNear(x[p], y[p], qx, qy, radius))
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
