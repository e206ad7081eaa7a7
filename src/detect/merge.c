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
 *	  up in a hash (Grid); the iterative mean sorts the points by cell, row
 *	  by row (RowGrid), so that a query reads three runs of points.
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
						  int64_t *chain, double **site_xy, int64_t *n_sites,
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
 * RowGrid: the grid of IterativeMean, sorted rather than hashed by cell.
 * The points are ordered by cell row (iy), then cell column (ix), then
 * input order (a stable radix sort), so the cells (ix - 1 .. ix + 1, iy')
 * of a 3 x 3 search are one contiguous run of points per row: a query
 * reads three runs of the coordinate arrays, and its neighbours come out
 * already in ascending position, the canonical form of a neighbourhood.
 * A small hash of rows (iy -> its cells) and a binary search among the
 * row's cells find each run.  Cells are Grid's (same size, same
 * CellIndex), so the same points are candidates.
 */
typedef struct RowSlot
{
	int64_t		iy;
	int64_t		lo;				/* the row's cells [lo, hi); lo < 0: empty */
	int64_t		hi;
} RowSlot;

typedef struct RowGrid
{
	double		x0;
	double		y0;
	double		cell;
	int64_t    *cx;				/* per cell: its column */
	int64_t    *cstart;			/* per cell: its first point; ncells + 1 */
	RowSlot    *row;
	uint64_t	rmask;
	int32_t    *members;		/* point indices, in grid order */
	double	   *gx;				/* their coordinates, in the same order */
	double	   *gy;
} RowGrid;

/* RowRun: the runs of points a query at (qx, qy) reads, one per row. */
typedef struct RowRun
{
	bool		valid;
	int64_t		ix;
	int64_t		iy;
	int			n;
	int64_t		total;
	int64_t		start[3];
	int64_t		end[3];
} RowRun;

static void
RowGridFree(RowGrid *g, const mlops_allocator *alloc)
{
	mlops_free(alloc, g->cx);
	mlops_free(alloc, g->cstart);
	mlops_free(alloc, g->row);
	mlops_free(alloc, g->members);
	mlops_free(alloc, g->gx);
	mlops_free(alloc, g->gy);
	memset(g, 0, sizeof(*g));
}

/*
 * RadixPass: one stable counting-sort pass of idx (n entries) into out by
 * the 11-bit digit of key[idx] at shift.
 */
static void
RadixPass(const int32_t *idx, int32_t *out, int64_t n, const int64_t *key, int shift)
{
	int64_t		count[2049] = {0};

	for (int64_t i = 0; i < n; i++)
		count[((key[idx[i]] >> shift) & 2047) + 1]++;
	for (int d = 1; d <= 2048; d++)
		count[d] += count[d - 1];
	for (int64_t i = 0; i < n; i++)
		out[count[(key[idx[i]] >> shift) & 2047]++] = idx[i];
}

static bool
RowGridBuild(RowGrid *g, const double *x, const double *y, int64_t n, double radius,
			 const mlops_allocator *alloc)
{
	double		xmin = x[0],
				xmax = x[0],
				ymin = y[0],
				ymax = y[0];
	int64_t    *kx = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	int64_t    *ky = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	int32_t    *tmp = mlops_alloc(alloc, (size_t) n * sizeof(int32_t));
	int64_t		maxx = 0,
				maxy = 0,
				ncells = 0,
				nrows = 0;
	uint64_t	nslots = 16;
	bool		ok = false;

	memset(g, 0, sizeof(*g));
	g->members = mlops_alloc(alloc, (size_t) n * sizeof(int32_t));
	g->gx = mlops_alloc(alloc, (size_t) n * sizeof(double));
	g->gy = mlops_alloc(alloc, (size_t) n * sizeof(double));
	if (!kx || !ky || !tmp || !g->members || !g->gx || !g->gy)
		goto done;
	for (int64_t i = 1; i < n; i++)
	{
		xmin = fmin(xmin, x[i]);
		xmax = fmax(xmax, x[i]);
		ymin = fmin(ymin, y[i]);
		ymax = fmax(ymax, y[i]);
	}
	g->x0 = xmin;
	g->y0 = ymin;
	g->cell = fmax(radius * (1 + 1e-5), fmax(xmax - xmin, ymax - ymin) * 0x1p-32);
	for (int64_t i = 0; i < n; i++)
	{
		kx[i] = CellIndex(x[i], g->x0, g->cell);	/* 0 .. 2^32 */
		ky[i] = CellIndex(y[i], g->y0, g->cell);
		maxx = kx[i] > maxx ? kx[i] : maxx;
		maxy = ky[i] > maxy ? ky[i] : maxy;
		g->members[i] = (int32_t) i;
	}

	/* Stable LSD radix sort: by column, then by row. */
	{
		int32_t    *a = g->members,
				   *b = tmp;

		for (int s = 0; s == 0 || (maxx >> s) != 0; s += 11)
		{
			int32_t    *t;

			RadixPass(a, b, n, kx, s);
			t = a, a = b, b = t;
		}
		for (int s = 0; s == 0 || (maxy >> s) != 0; s += 11)
		{
			int32_t    *t;

			RadixPass(a, b, n, ky, s);
			t = a, a = b, b = t;
		}
		if (a != g->members)
			memcpy(g->members, a, (size_t) n * sizeof(int32_t));
	}

	/* Cells and rows. */
	for (int64_t k = 0; k < n; k++)
	{
		int32_t		p = g->members[k];

		g->gx[k] = x[p];
		g->gy[k] = y[p];
		if (k == 0 || ky[p] != ky[g->members[k - 1]])
			nrows++, ncells++;
		else if (kx[p] != kx[g->members[k - 1]])
			ncells++;
	}
	while (nslots < 2 * (uint64_t) nrows)
		nslots *= 2;
	g->rmask = nslots - 1;
	g->cx = mlops_alloc(alloc, (size_t) ncells * sizeof(int64_t));
	g->cstart = mlops_alloc(alloc, (size_t) (ncells + 1) * sizeof(int64_t));
	g->row = mlops_alloc(alloc, nslots * sizeof(RowSlot));
	if (!g->cx || !g->cstart || !g->row)
		goto done;
	for (uint64_t h = 0; h < nslots; h++)
		g->row[h].lo = -1;
	{
		int64_t		c = -1;
		RowSlot    *r = NULL;

		for (int64_t k = 0; k < n; k++)
		{
			int32_t		p = g->members[k];
			bool		newrow = k == 0 || ky[p] != ky[g->members[k - 1]];

			if (newrow || kx[p] != kx[g->members[k - 1]])
			{
				c++;
				g->cx[c] = kx[p];
				g->cstart[c] = k;
			}
			if (newrow)
			{
				uint64_t	h = CellHash(0, ky[p]) & g->rmask;

				while (g->row[h].lo >= 0)
					h = (h + 1) & g->rmask;
				r = &g->row[h];
				r->iy = ky[p];
				r->lo = c;
			}
			r->hi = c + 1;
		}
		g->cstart[ncells] = n;
	}
	ok = true;

done:
	mlops_free(alloc, kx);
	mlops_free(alloc, ky);
	mlops_free(alloc, tmp);
	if (!ok)
		RowGridFree(g, alloc);
	return ok;
}

/*
 * RowRuns: the runs of points in the 3 x 3 cells around (qx, qy), reused
 * when the query falls in the same cell as the last one.
 */
static void
RowRuns(const RowGrid *g, double qx, double qy, RowRun *rr)
{
	int64_t		ix = CellIndex(qx, g->x0, g->cell);
	int64_t		iy = CellIndex(qy, g->y0, g->cell);

	if (rr->valid && rr->ix == ix && rr->iy == iy)
		return;
	rr->valid = true;
	rr->ix = ix;
	rr->iy = iy;
	rr->n = 0;
	rr->total = 0;
	for (int64_t dy = -1; dy <= 1; dy++)
	{
		uint64_t	h = CellHash(0, iy + dy) & g->rmask;
		const RowSlot *r;
		int64_t		lo,
					hi;

		for (;;)
		{
			r = &g->row[h];
			if (r->lo < 0 || r->iy == iy + dy)
				break;
			h = (h + 1) & g->rmask;
		}
		if (r->lo < 0)
			continue;
		/* The first cell of the row at column >= ix - 1 (without branches) ... */
		{
			const int64_t *b = g->cx + r->lo;
			int64_t		len = r->hi - r->lo;	/* >= 1 */

			while (len > 1)
			{
				int64_t		half = len / 2;

				b = b[half - 1] < ix - 1 ? b + half : b;
				len -= half;
			}
			lo = (b - g->cx) + (*b < ix - 1);
		}
		/* ... and the cells up to column ix + 1 (three at most). */
		hi = lo;
		while (hi < r->hi && g->cx[hi] <= ix + 1)
			hi++;
		if (hi > lo)
		{
			rr->start[rr->n] = g->cstart[lo];
			rr->end[rr->n] = g->cstart[hi];
			rr->total += g->cstart[hi] - g->cstart[lo];
			rr->n++;
		}
	}
}

/*
 * Hoods: every distinct neighbourhood met so far, kept for the whole merge.
 * A neighbourhood is a list of positions in grid order, ascending; its
 * id indexes the arrays below.  A neighbourhood's mean always finds the
 * same neighbourhood (next), so a neighbourhood met again in a later round
 * costs no search: only new ones are searched.  Equal lists are found
 * through their first entry (head, then link): a query's neighbours are
 * near it in grid order, and queries come roughly in grid order, so these
 * lookups stay in cache where a hash of whole lists would not.
 */
typedef struct Hoods
{
	int32_t    *ent;			/* the lists, concatenated */
	int64_t		ent_len;
	int64_t		ent_cap;
	int64_t    *head;			/* per first entry (n: the empty list): the last
								 * id made with it, -1: none */
	int64_t		n;
	int64_t    *off;			/* per id: its list is ent[off .. off + len) */
	int64_t    *len;
	int64_t    *link;			/* the id made before it with the same first entry */
	int64_t    *next;			/* the id its mean finds; -1: not searched yet */
	int64_t    *seen;			/* the last round it was counted in */
	int64_t		count;
	int64_t		cap;
} Hoods;

static void
HoodsFree(Hoods *h, const mlops_allocator *alloc)
{
	mlops_free(alloc, h->ent);
	mlops_free(alloc, h->head);
	mlops_free(alloc, h->off);
	mlops_free(alloc, h->len);
	mlops_free(alloc, h->link);
	mlops_free(alloc, h->next);
	mlops_free(alloc, h->seen);
	memset(h, 0, sizeof(*h));
}

/* HoodsInit: no neighbourhood yet, for lists of positions below n. */
static bool
HoodsInit(Hoods *h, int64_t n, const mlops_allocator *alloc)
{
	memset(h, 0, sizeof(*h));
	h->n = n;
	h->head = mlops_alloc(alloc, (size_t) (n + 1) * sizeof(int64_t));
	if (!h->head)
		return false;
	memset(h->head, 0xFF, (size_t) (n + 1) * sizeof(int64_t));
	return true;
}

/* HoodsReserve: room for need more entries at the end of ent. */
static bool
HoodsReserve(Hoods *h, int64_t need, const mlops_allocator *alloc)
{
	int64_t		cap = h->ent_cap ? h->ent_cap : 4096;
	int32_t    *t;

	if (h->ent_len + need <= h->ent_cap)
		return true;
	while (cap < h->ent_len + need)
		cap *= 2;
	t = mlops_realloc(alloc, h->ent, (size_t) cap * sizeof(int32_t));
	if (!t)
		return false;
	h->ent = t;
	h->ent_cap = cap;
	return true;
}

/* HoodsGrow: room for one more id. */
static bool
HoodsGrow(Hoods *h, const mlops_allocator *alloc)
{
	int64_t		cap = h->cap ? 2 * h->cap : 1024;
	int64_t   **arrays[] = {&h->off, &h->len, &h->link, &h->next, &h->seen};

	if (h->count < h->cap)
		return true;
	for (int k = 0; k < 5; k++)
	{
		int64_t    *t = mlops_realloc(alloc, *arrays[k], (size_t) cap * sizeof(int64_t));

		if (!t)
			return false;
		*arrays[k] = t;
	}
	h->cap = cap;
	return true;
}

/*
 * HoodsAdd: the id of the list of len entries written at the end of ent
 * (HoodsReserve'd), a new one if no equal list was met before; -1 when out
 * of memory.
 */
static int64_t
HoodsAdd(Hoods *h, int64_t len, const mlops_allocator *alloc)
{
	const int32_t *a = h->ent + h->ent_len;
	int64_t		first = len > 0 ? a[0] : h->n;
	int64_t		id;

	for (id = h->head[first]; id >= 0; id = h->link[id])
		if (h->len[id] == len &&
			memcmp(h->ent + h->off[id], a, (size_t) len * sizeof(int32_t)) == 0)
			return id;
	if (!HoodsGrow(h, alloc))
		return -1;
	id = h->count++;
	h->off[id] = h->ent_len;
	h->len[id] = len;
	h->link[id] = h->head[first];
	h->head[first] = id;
	h->next[id] = -1;
	h->seen[id] = -1;
	h->ent_len += len;
	return id;
}

/*
 * HoodSearch: the id of the neighbourhood of (qx, qy): the points p with
 * (qx - px)^2 + (qy - py)^2 <= r2, in grid order; -1 when out of memory.
 */
static int64_t
HoodSearch(const RowGrid *g, Hoods *h, double qx, double qy, double r2, RowRun *rr,
		   const mlops_allocator *alloc)
{
	int64_t		len = 0;
	int32_t    *out;

	if (isnan(qx) || isnan(qy))
		return HoodsReserve(h, 0, alloc) ? HoodsAdd(h, 0, alloc) : -1;	/* an empty
																		 * neighbourhood's
																		 * mean */
	RowRuns(g, qx, qy, rr);
	if (!HoodsReserve(h, rr->total, alloc))
		return -1;
	out = h->ent + h->ent_len;
	for (int r = 0; r < rr->n; r++)
		for (int64_t k = rr->start[r]; k < rr->end[r]; k++)
		{
			double		dx = qx - g->gx[k];
			double		dy = qy - g->gy[k];

			out[len] = (int32_t) k; /* kept when near: room for all was reserved */
			len += dx * dx + dy * dy <= r2;
		}
	return HoodsAdd(h, len, alloc);
}

/* HoodMean: the mean of a neighbourhood's points, summed in grid order. */
static void
HoodMean(const RowGrid *g, const Hoods *h, int64_t id, double *mx, double *my)
{
	const int32_t *a = h->ent + h->off[id];
	double		sx = 0,
				sy = 0;

	for (int64_t k = 0; k < h->len[id]; k++)
	{
		sx += g->gx[a[k]];
		sy += g->gy[a[k]];
	}
	/* numpy's mean of no rows is NaN, as 0 / 0 is here. */
	*mx = sx / (double) h->len[id];
	*my = sy / (double) h->len[id];
}

/*
 * IterativeMean: merge_similar_sites.  chain[i] ends as point i's site in
 * the last round's numbering; *site_xy gets that round's means.
 *
 * Round 0 queries the points (in grid order, for locality) and keeps their
 * distinct neighbourhoods.  The original keeps all n means of round 0 and
 * deduplicates only from round 1; deduplicating at once changes nothing:
 * equal neighbourhoods have equal means (summed alike), whose queries find
 * equal neighbourhoods in round 1.  Each later round maps the current
 * neighbourhoods to those their means find (searching only the ones not
 * met before) and counts the distinct ones, until the count equals the
 * last one (round 1's is compared with n, as in the original).
 */
static int
IterativeMean(const double *x, const double *y, int64_t n, double radius,
			  int64_t *chain, double **site_xy, int64_t *n_sites,
			  const mlops_allocator *alloc)
{
	double		r2 = radius * radius;
	RowGrid		g = {0};
	Hoods		h;
	RowRun		rr = {0};
	int64_t    *cur = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	int64_t    *nxt = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));
	int64_t    *lineage = mlops_alloc(alloc, (size_t) n * sizeof(int64_t));	/* per round-0 hood */
	int64_t		ncur = 0,
				n0,
				num = n,
				round = 0;
	double	   *xy = NULL;
	int			rc = -1;

	if (!HoodsInit(&h, n, alloc) || !RowGridBuild(&g, x, y, n, radius, alloc))
		goto done;
	if (!cur || !nxt || !lineage)
		goto done;

	/* Round 0: chain[p] is the id of p's neighbourhood. */
	for (int64_t k = 0; k < n; k++)
	{
		int64_t		id = HoodSearch(&g, &h, g.gx[k], g.gy[k], r2, &rr, alloc);

		if (id < 0)
			goto done;
		if (h.seen[id] != round)
		{
			h.seen[id] = round;
			cur[ncur++] = id;	/* == id: new ids come in order */
		}
		chain[g.members[k]] = id;
	}
	n0 = ncur;
	for (int64_t j = 0; j < n0; j++)
		lineage[j] = cur[j];

	for (;;)
	{
		int64_t		nn = 0;

		round++;
		for (int64_t j = 0; j < ncur; j++)
			if (h.next[cur[j]] < 0)
			{
				double		mx,
							my;
				int64_t		id;

				HoodMean(&g, &h, cur[j], &mx, &my);
				id = HoodSearch(&g, &h, mx, my, r2, &rr, alloc);
				if (id < 0)
					goto done;
				h.next[cur[j]] = id;
			}
		for (int64_t j = 0; j < ncur; j++)
		{
			int64_t		id = h.next[cur[j]];

			if (h.seen[id] != round)
			{
				h.seen[id] = round;
				nxt[nn++] = id;
			}
		}
		for (int64_t j = 0; j < n0; j++)
			lineage[j] = h.next[lineage[j]];
		{
			int64_t    *t = cur;

			cur = nxt;
			nxt = t;
		}
		ncur = nn;
		if (nn == num)
			break;
		num = nn;
	}

	/* The last round's means; each point's chain ends at its site's index. */
	xy = mlops_alloc(alloc, (size_t) (ncur ? ncur : 1) * 2 * sizeof(double));
	if (!xy)
		goto done;
	for (int64_t j = 0; j < ncur; j++)
	{
		HoodMean(&g, &h, cur[j], &xy[2 * j], &xy[2 * j + 1]);
		h.seen[cur[j]] = j;		/* no more rounds: seen now holds the index */
	}
	/* Round 0's hoods got the ids 0 .. n0 - 1, in order: chain[p] indexes lineage. */
	for (int64_t i = 0; i < n; i++)
		chain[i] = h.seen[lineage[chain[i]]];
	*site_xy = xy;
	xy = NULL;
	*n_sites = ncur;
	rc = 0;

done:
	RowGridFree(&g, alloc);
	HoodsFree(&h, alloc);
	mlops_free(alloc, cur);
	mlops_free(alloc, nxt);
	mlops_free(alloc, lineage);
	mlops_free(alloc, xy);
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
	Grid		g = {0};		/* single link and DBSCAN's (IterativeMean has its own) */
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

		if (IterativeMean(x, y, n, radius, lab, &raw, &nraw, alloc) != 0)
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
