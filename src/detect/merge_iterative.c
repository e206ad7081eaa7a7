/*
 * merge_iterative.c
 *	  Kernel: MERGE_ITERATIVE_MEAN, the original's merge_similar_sites (see
 *	  merge.h for the rules and merge.c for the cells): the points sorted by
 *	  cell row by row, every distinct neighbourhood kept and searched around
 *	  once.
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "detect/merge.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "detect/merge_private.h"

/*
 * RowGrid: the grid of the iterative mean, sorted rather than hashed by cell.
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
 * merge_iterative_mean: merge_similar_sites (merge_private.h).
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
int
merge_iterative_mean(const double *x, const double *y, int64_t n, double radius,
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
