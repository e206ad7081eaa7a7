/*
 * contours_subpixel.c
 *	  Kernel: scikit-image 0.19.3's find_contours (marching squares), see
 *	  contours_subpixel.h for the contract.
 *
 *	  Method.  The squares of four neighbouring cells are visited in raster
 *	  order; each crossed square gives one segment (two for a saddle),
 *	  oriented with the low cells on its left, its end points interpolated
 *	  on the square's edges with skimage's formula (level - a) / (b - a) (0
 *	  when a == b), so that the point two squares share is bit for bit the
 *	  same.  The segments are assembled on the fly, as skimage's
 *	  _assemble_contours does with its two dicts: a hash map from a
 *	  contour's first point to the contour ("starts") and one from its last
 *	  point ("ends"), with the same overwrite and removal rules, each
 *	  contour a linked list of points so that joins are O(1).  Joining two
 *	  contours keeps the older one's number, so the order (by first
 *	  segment) is skimage's.
 *
 *	  Memory: a node per point and a few words per contour; the maps hold
 *	  two entries per open contour at most.  Pure C: no PostgreSQL headers.
 */
#include "detect/contours_subpixel.h"

#include <math.h>
#include <string.h>

#include "util/errbuf.h"

typedef struct Node
{
	double		r,
				c;
	int64_t		next;
} Node;

typedef struct Chain
{
	int64_t		first;			/* nodes */
	int64_t		last;
	bool		alive;
} Chain;

/* A map from a point to a contour number: open addressing, linear probing,
 * deletion by backward shift, so it behaves as a Python dict with pop. */
typedef struct PointMap
{
	double	   *key;			/* r, c pairs */
	int64_t    *val;			/* -1: empty */
	int64_t		cap;			/* a power of two */
	int64_t		n;
} PointMap;

typedef struct Asm
{
	Node	   *nodes;
	int64_t		n_nodes,
				cap_nodes;
	Chain	   *chains;
	int64_t		n_chains,
				cap_chains;
	PointMap	starts,
				ends;
	const mlops_allocator *alloc;
	bool		oom;
} Asm;

static inline uint64_t
PointHash(double r, double c)
{
	uint64_t	a,
				b;

	/* -0.0 == 0.0, as for Python's floats */
	r = r == 0 ? 0 : r;
	c = c == 0 ? 0 : c;
	memcpy(&a, &r, 8);
	memcpy(&b, &c, 8);
	a ^= b * 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2);
	a ^= a >> 31;
	a *= 0xBF58476D1CE4E5B9ULL;
	a ^= a >> 29;
	return a;
}

static bool
MapInit(PointMap *m, int64_t cap, const mlops_allocator *alloc)
{
	m->cap = cap;
	m->n = 0;
	m->key = mlops_alloc(alloc, sizeof(double) * 2 * (size_t) cap);
	m->val = mlops_alloc(alloc, sizeof(int64_t) * (size_t) cap);
	if (m->key == NULL || m->val == NULL)
		return false;
	for (int64_t i = 0; i < cap; i++)
		m->val[i] = -1;
	return true;
}

static int64_t
MapSlot(const PointMap *m, double r, double c)
{
	int64_t		i = (int64_t) (PointHash(r, c) & (uint64_t) (m->cap - 1));

	while (m->val[i] >= 0 && !(m->key[2 * i] == r && m->key[2 * i + 1] == c))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static bool MapSet(Asm *a, PointMap *m, double r, double c, int64_t v);

static bool
MapGrow(Asm *a, PointMap *m)
{
	PointMap	old = *m;

	if (!MapInit(m, old.cap * 2, a->alloc))
		return false;
	for (int64_t i = 0; i < old.cap; i++)
		if (old.val[i] >= 0)
			MapSet(a, m, old.key[2 * i], old.key[2 * i + 1], old.val[i]);
	mlops_free(a->alloc, old.key);
	mlops_free(a->alloc, old.val);
	return true;
}

/* m[(r, c)] = v */
static bool
MapSet(Asm *a, PointMap *m, double r, double c, int64_t v)
{
	int64_t		i;

	if (2 * (m->n + 1) > m->cap && !MapGrow(a, m))
		return false;
	i = MapSlot(m, r, c);
	if (m->val[i] < 0)
	{
		m->n++;
		m->key[2 * i] = r;
		m->key[2 * i + 1] = c;
	}
	m->val[i] = v;
	return true;
}

/* m.pop((r, c), -1) */
static int64_t
MapPop(PointMap *m, double r, double c)
{
	int64_t		i = MapSlot(m, r, c),
				j,
				v = m->val[i];

	if (v < 0)
		return -1;
	m->val[i] = -1;
	m->n--;
	/* backward shift: move later entries of the cluster into the gap */
	j = i;
	for (;;)
	{
		int64_t		home;

		j = (j + 1) & (m->cap - 1);
		if (m->val[j] < 0)
			break;
		home = (int64_t) (PointHash(m->key[2 * j], m->key[2 * j + 1]) & (uint64_t) (m->cap - 1));
		/* can the entry at j move to i?  only if its home is not in (i, j] */
		if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1)))
		{
			m->key[2 * i] = m->key[2 * j];
			m->key[2 * i + 1] = m->key[2 * j + 1];
			m->val[i] = m->val[j];
			m->val[j] = -1;
			i = j;
		}
	}
	return v;
}

static int64_t
NewNode(Asm *a, double r, double c)
{
	if (a->n_nodes == a->cap_nodes)
	{
		int64_t		cap = a->cap_nodes ? a->cap_nodes * 2 : 1024;
		Node	   *n = mlops_realloc(a->alloc, a->nodes, sizeof(Node) * (size_t) cap);

		if (n == NULL)
		{
			a->oom = true;
			return -1;
		}
		a->nodes = n;
		a->cap_nodes = cap;
	}
	a->nodes[a->n_nodes].r = r;
	a->nodes[a->n_nodes].c = c;
	a->nodes[a->n_nodes].next = -1;
	return a->n_nodes++;
}

#define NR(a, i) ((a)->nodes[(i)].r)
#define NC(a, i) ((a)->nodes[(i)].c)

/* One segment from (fr, fc) to (tr, tc), as _assemble_contours takes it. */
static void
AddSegment(Asm *a, double fr, double fc, double tr, double tc)
{
	int64_t		tail,
				head;

	if (a->oom || (fr == tr && fc == tc))
		return;
	tail = MapPop(&a->starts, tr, tc);
	head = MapPop(&a->ends, fr, fc);
	if (tail >= 0 && head >= 0)
	{
		Chain	   *T = &a->chains[tail],
				   *H = &a->chains[head];

		if (tail == head)
		{
			int64_t		n = NewNode(a, tr, tc);

			if (n < 0)
				return;
			a->nodes[H->last].next = n;
			H->last = n;
		}
		else if (tail > head)
		{
			/* head.extend(tail) */
			a->nodes[H->last].next = T->first;
			H->last = T->last;
			T->alive = false;
			if (!MapSet(a, &a->starts, NR(a, H->first), NC(a, H->first), head) ||
				!MapSet(a, &a->ends, NR(a, H->last), NC(a, H->last), head))
				a->oom = true;
		}
		else
		{
			/* tail.extendleft(reversed(head)) */
			a->nodes[H->last].next = T->first;
			MapPop(&a->starts, NR(a, H->first), NC(a, H->first));
			T->first = H->first;
			H->alive = false;
			if (!MapSet(a, &a->starts, NR(a, T->first), NC(a, T->first), tail) ||
				!MapSet(a, &a->ends, NR(a, T->last), NC(a, T->last), tail))
				a->oom = true;
		}
	}
	else if (tail < 0 && head < 0)
	{
		int64_t		f = NewNode(a, fr, fc),
					t = f >= 0 ? NewNode(a, tr, tc) : -1;

		if (t < 0)
			return;
		a->nodes[f].next = t;
		if (a->n_chains == a->cap_chains)
		{
			int64_t		cap = a->cap_chains ? a->cap_chains * 2 : 256;
			Chain	   *ch = mlops_realloc(a->alloc, a->chains, sizeof(Chain) * (size_t) cap);

			if (ch == NULL)
			{
				a->oom = true;
				return;
			}
			a->chains = ch;
			a->cap_chains = cap;
		}
		a->chains[a->n_chains].first = f;
		a->chains[a->n_chains].last = t;
		a->chains[a->n_chains].alive = true;
		if (!MapSet(a, &a->starts, fr, fc, a->n_chains) || !MapSet(a, &a->ends, tr, tc, a->n_chains))
			a->oom = true;
		a->n_chains++;
	}
	else if (head < 0)
	{
		/* tail.appendleft(from) */
		int64_t		n = NewNode(a, fr, fc);

		if (n < 0)
			return;
		a->nodes[n].next = a->chains[tail].first;
		a->chains[tail].first = n;
		if (!MapSet(a, &a->starts, fr, fc, tail))
			a->oom = true;
	}
	else
	{
		/* head.append(to) */
		int64_t		n = NewNode(a, tr, tc);

		if (n < 0)
			return;
		a->nodes[a->chains[head].last].next = n;
		a->chains[head].last = n;
		if (!MapSet(a, &a->ends, tr, tc, head))
			a->oom = true;
	}
}

static inline double
Fraction(double from, double to, double level)
{
	if (to == from)
		return 0;
	return (level - from) / (to - from);
}

void
subpixel_contours_free(SubpixelContours *c, const mlops_allocator *alloc)
{
	mlops_free(alloc, c->start);
	mlops_free(alloc, c->rc);
	memset(c, 0, sizeof(*c));
}

bool
subpixel_contour_closed(const SubpixelContours *c, int64_t i)
{
	int64_t		a = c->start[i],
				e = c->start[i + 1] - 1;

	return e - a >= 2 && c->rc[2 * a] == c->rc[2 * e] && c->rc[2 * a + 1] == c->rc[2 * e + 1];
}

double
subpixel_contour_area2(const SubpixelContours *c, int64_t i)
{
	int64_t		a = c->start[i],
				e = c->start[i + 1];
	double		s = 0;

	/* x = column, y = row */
	for (int64_t k = a; k + 1 < e; k++)
		s += c->rc[2 * k + 1] * c->rc[2 * k + 2] - c->rc[2 * k + 3] * c->rc[2 * k];
	return s;
}

int
contour_subpixel(const double *img, int64_t rows, int64_t cols, double level,
				 bool fully_connected_high, bool positive_orientation_high,
				 SubpixelContours *out, const mlops_allocator *alloc, char *err, size_t errlen)
{
	Asm			a;
	int			rc = -1;
	int64_t		k;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.alloc = alloc;
	if (isnan(level))
	{
		errbuf_printf(err, errlen, "level is NaN");
		return -1;
	}
	if (rows < 2 || cols < 2)
	{
		errbuf_printf(err, errlen, "the image must be at least 2 x 2 cells, not %lld x %lld",
					  (long long) rows, (long long) cols);
		return -1;
	}
	if (!MapInit(&a.starts, 1024, alloc) || !MapInit(&a.ends, 1024, alloc))
		goto nomem;

	for (int64_t r0 = 0; r0 < rows - 1 && !a.oom; r0++)
	{
		const double *up = img + r0 * cols,
				   *dn = up + cols;
		double		r1 = (double) (r0 + 1);

		for (int64_t c0 = 0; c0 < cols - 1; c0++)
		{
			double		ul = up[c0],
						ur = up[c0 + 1],
						ll = dn[c0],
						lr = dn[c0 + 1];
			int			sq = (ul > level) | (ur > level) << 1 | (ll > level) << 2 | (lr > level) << 3;
			double		tr, tc, br, bc, lfr, lfc, rr, rcol;

			if (sq == 0 || sq == 15)
				continue;
			if (!isfinite(ul) || !isfinite(ur) || !isfinite(ll) || !isfinite(lr))
				continue;
			tr = (double) r0;
			tc = (double) c0 + Fraction(ul, ur, level);
			br = r1;
			bc = (double) c0 + Fraction(ll, lr, level);
			lfr = (double) r0 + Fraction(ul, ll, level);
			lfc = (double) c0;
			rr = (double) r0 + Fraction(ur, lr, level);
			rcol = (double) (c0 + 1);
			switch (sq)
			{
				case 1:
					AddSegment(&a, tr, tc, lfr, lfc);
					break;
				case 2:
					AddSegment(&a, rr, rcol, tr, tc);
					break;
				case 3:
					AddSegment(&a, rr, rcol, lfr, lfc);
					break;
				case 4:
					AddSegment(&a, lfr, lfc, br, bc);
					break;
				case 5:
					AddSegment(&a, tr, tc, br, bc);
					break;
				case 6:
					if (fully_connected_high)
					{
						AddSegment(&a, lfr, lfc, tr, tc);
						AddSegment(&a, rr, rcol, br, bc);
					}
					else
					{
						AddSegment(&a, rr, rcol, tr, tc);
						AddSegment(&a, lfr, lfc, br, bc);
					}
					break;
				case 7:
					AddSegment(&a, rr, rcol, br, bc);
					break;
				case 8:
					AddSegment(&a, br, bc, rr, rcol);
					break;
				case 9:
					if (fully_connected_high)
					{
						AddSegment(&a, tr, tc, rr, rcol);
						AddSegment(&a, br, bc, lfr, lfc);
					}
					else
					{
						AddSegment(&a, tr, tc, lfr, lfc);
						AddSegment(&a, br, bc, rr, rcol);
					}
					break;
				case 10:
					AddSegment(&a, br, bc, tr, tc);
					break;
				case 11:
					AddSegment(&a, br, bc, lfr, lfc);
					break;
				case 12:
					AddSegment(&a, lfr, lfc, rr, rcol);
					break;
				case 13:
					AddSegment(&a, tr, tc, rr, rcol);
					break;
				case 14:
					AddSegment(&a, lfr, lfc, tr, tc);
					break;
			}
		}
	}
	if (a.oom)
		goto nomem;

	/* the live contours by number, each in list order (reversed for "high") */
	out->start = mlops_alloc(alloc, sizeof(int64_t) * (size_t) (a.n_chains + 1));
	out->rc = mlops_alloc(alloc, sizeof(double) * 2 * (size_t) (a.n_nodes + 1));
	if (out->start == NULL || out->rc == NULL)
		goto nomem;
	out->start[0] = 0;
	k = 0;
	for (int64_t i = 0; i < a.n_chains; i++)
	{
		int64_t		from = k;

		if (!a.chains[i].alive)
			continue;
		for (int64_t n = a.chains[i].first; n >= 0; n = a.nodes[n].next)
		{
			out->rc[2 * k] = a.nodes[n].r;
			out->rc[2 * k + 1] = a.nodes[n].c;
			k++;
			if (n == a.chains[i].last)
				break;
		}
		if (positive_orientation_high)
			for (int64_t x = from, y = k - 1; x < y; x++, y--)
			{
				double		t0 = out->rc[2 * x],
							t1 = out->rc[2 * x + 1];

				out->rc[2 * x] = out->rc[2 * y];
				out->rc[2 * x + 1] = out->rc[2 * y + 1];
				out->rc[2 * y] = t0;
				out->rc[2 * y + 1] = t1;
			}
		out->start[++out->n_contours] = k;
	}
	out->n_points = k;
	rc = 0;
	goto done;
nomem:
	errbuf_printf(err, errlen, "out of memory");
done:
	mlops_free(alloc, a.nodes);
	mlops_free(alloc, a.chains);
	mlops_free(alloc, a.starts.key);
	mlops_free(alloc, a.starts.val);
	mlops_free(alloc, a.ends.key);
	mlops_free(alloc, a.ends.val);
	if (rc != 0)
		subpixel_contours_free(out, alloc);
	return rc;
}
