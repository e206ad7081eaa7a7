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

static uint64_t CellHash(int64_t ix, int64_t iy);
static const Slot *GridFind(const Grid *g, int64_t ix, int64_t iy);
static bool GridBuild(Grid *g, const double *x, const double *y, int64_t n, double radius,
					  const mlops_allocator *alloc);
static void GridFree(Grid *g, const mlops_allocator *alloc);
static int64_t UfFind(int64_t *parent, int64_t a);
static void UfUnion(int64_t *parent, int64_t a, int64_t b);
static int	IterativeMean(const double *x, const double *y, int64_t n, double radius,
						  const Grid *g, int64_t *chain, double **site_xy, int64_t *n_sites,
						  const mlops_allocator *alloc);

/*
 * CellHash: linear in ix, so that the three cells of a row of a 3 x 3
 * search mostly fall in neighbouring slots (one cache line).
 */
static uint64_t
CellHash(int64_t ix, int64_t iy)
{
	uint64_t	h = (uint64_t) iy * 0x9E3779B97F4A7C15u;

	return (h ^ (h >> 29)) + (uint64_t) ix;
}

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

/*
 * CellIndex: floor((v - v0) / cell), without a libm call.  Points give 0
 * to 2^32; a query (a mean) may fall outside by rounding, far outside
 * when cells are tiny: it is clamped to +-2^40, where no point is.
 */
static inline int64_t
CellIndex(double v, double v0, double cell)
{
	double		t = (v - v0) / cell;
	int64_t		i;

	if (!(t >= -0x1p40))
		t = -0x1p40;
	else if (t > 0x1p40)
		t = 0x1p40;
	i = (int64_t) t;

	return (double) i > t ? i - 1 : i;
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
 * Near: the non-empty cells among the 3 x 3 around a query's cell, and how
 * many points they hold (an upper bound on the query's neighbours, to
 * reserve room once).  NearSlots fills it for (qx, qy), reusing it when
 * the query falls in the same cell as the last one (queries come in grid
 * order, so that is the common case).
 */
typedef struct Near
{
	bool		valid;
	int64_t		ix;
	int64_t		iy;
	int			n;
	int64_t		total;
	const Slot *slot[9];
} Near;

static void
NearSlots(const Grid *g, double qx, double qy, Near *nr)
{
	int64_t		ix = CellIndex(qx, g->x0, g->cell);
	int64_t		iy = CellIndex(qy, g->y0, g->cell);

	if (nr->valid && nr->ix == ix && nr->iy == iy)
		return;
	nr->valid = true;
	nr->ix = ix;
	nr->iy = iy;
	nr->n = 0;
	nr->total = 0;
	for (int64_t dy = -1; dy <= 1; dy++)
		for (int64_t dx = -1; dx <= 1; dx++)
		{
			const Slot *s = GridFind(g, ix + dx, iy + dy);

			if (s)
			{
				int			k = nr->n++;

				/* Keep the cells in order of their place in members. */
				while (k > 0 && nr->slot[k - 1]->start > s->start)
				{
					nr->slot[k] = nr->slot[k - 1];
					k--;
				}
				nr->slot[k] = s;
				nr->total += s->end - s->start;
			}
		}
}

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
	int64_t    *lst = NULL;		/* this round's neighbour lists: positions in
								 * g->members, ascending (a canonical
								 * form), concatenated */
	int64_t		lst_cap = 0;
	int64_t    *lst_start = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	int64_t    *lst_len = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	int64_t    *uniq_of = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));	/* query -> distinct list */
	int64_t    *uniq_list = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));	/* distinct -> query */
	uint64_t	nslots = 16;
	int64_t    *slot;
	int64_t		nq_count = n;
	int64_t		num = n;
	Near		near = {0};
	bool		first = true;
	int			rc = -1;

	while (nslots < 2 * (uint64_t) n)
		nslots *= 2;
	slot = mlops_alloc(alloc, nslots * sizeof(int64_t));
	if (!q || !nq || !lst_start || !lst_len || !uniq_of || !uniq_list || !slot)
		goto done;

	/*
	 * Round 0 queries the points themselves.  The original keeps all n
	 * means of round 0 and deduplicates only from round 1; here round 0's
	 * neighbourhoods are deduplicated at once, which changes nothing:
	 * equal neighbourhoods have equal means (summed alike), whose queries
	 * find equal neighbourhoods in round 1.  Round 0 is not compared with
	 * the count (it starts at n), as in the original.
	 */
	for (int64_t i = 0; i < n; i++)
	{
		q[2 * i] = x[i];
		q[2 * i + 1] = y[i];
		chain[i] = i;
	}

	for (;;)
	{
		int64_t		total = 0;
		int64_t		nuniq = 0;

		/*
		 * Neighbour lists of every query, sorted, concatenated.  Round 0
		 * goes through the points by grid cell, for locality; its distinct
		 * lists, and so later rounds' queries, come out in that order too.
		 * (The order of queries changes no result: sites are renumbered by
		 * their first point at the end.)
		 */
		for (int64_t jj = 0; jj < nq_count; jj++)
		{
			int64_t		j = first ? g->members[jj] : jj;
			double		qx = q[2 * j],
						qy = q[2 * j + 1];
			int64_t		need = 0;

			lst_start[j] = total;
			lst_len[j] = 0;
			if (isnan(qx) || isnan(qy))
				continue;		/* an empty neighbourhood's mean: finds nothing */
			NearSlots(g, qx, qy, &near);
			need = near.total;
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
			for (int c = 0; c < near.n; c++)
				for (int64_t k = near.slot[c]->start; k < near.slot[c]->end; k++)
				{
					double		dx = qx - g->gx[k];
					double		dy = qy - g->gy[k];

					if (dx * dx + dy * dy <= r2)
						lst[total++] = k;
				}
			lst_len[j] = total - lst_start[j];
		}
		/* Distinct lists, in order of first occurrence. */
		memset(slot, 0xFF, nslots * sizeof(int64_t));
		for (int64_t jj = 0; jj < nq_count; jj++)
		{
			int64_t		j = first ? g->members[jj] : jj;
			const int64_t *a = lst + lst_start[j];
			int64_t		len = lst_len[j];
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
					int64_t		olen = lst_len[o];

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
			int64_t		len = lst_len[o];

			for (int64_t k = lst_start[o]; k < lst_start[o] + len; k++)
			{
				sx += g->gx[lst[k]];
				sy += g->gy[lst[k]];
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
		if (first)
			first = false;
		else if (nuniq == num)
			break;
		else
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
	mlops_free(alloc, lst_len);
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
