/*
 * blobs_prune.c
 *	  Kernel: the last steps of blobs.c's detection, as scikit-image 0.19.3
 *	  takes them after peak_local_max: numpy's argsort order of the peaks
 *	  (blob_argsort_desc) and _prune_blobs (blob_prune), whose result
 *	  depends on the order it visits the pairs of nearby blobs in: the
 *	  iteration order of the Python set cKDTree.query_pairs returns.  That
 *	  order is reproduced here step by step: scipy 1.10's k-d tree (its
 *	  build and its dual-tree traversal, which give the insertion order),
 *	  CPython 3.11's tuple hash and set table (which give the iteration
 *	  order), then skimage's overlap arithmetic (** 2 as pow, as numpy's
 *	  and Python's scalar powers compute it).
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include "detect/blobs_private.h"

#include <math.h>
#include <string.h>

#include "util/errbuf.h"

/* math.pi (M_PI is not ISO C) */
#define BLOB_PI 3.141592653589793

static void *
PruneAlloc(const mlops_allocator *a, size_t n, char *err, size_t errlen)
{
	void	   *p = mlops_alloc(a, n);

	if (p == NULL)
		errbuf_printf(err, errlen, "out of memory (%zu bytes)", n);
	return p;
}

/* numpy's argsort(-v): less(-v[a], -v[b]) is v[b] < v[a] for finite v. */
#define NEG_LESS(a, b) (v[(b)] < v[(a)])
#define SMALL_QUICKSORT 15
#define PYA_QS_STACK 128

static void
AHeapSort(const double *v, int64_t *tosort, int64_t n)
{
	int64_t    *a = tosort - 1;
	int64_t		i,
				j,
				l,
				tmp;

	for (l = n >> 1; l > 0; --l)
	{
		tmp = a[l];
		for (i = l, j = l << 1; j <= n;)
		{
			if (j < n && NEG_LESS(a[j], a[j + 1]))
				j += 1;
			if (NEG_LESS(tmp, a[j]))
			{
				a[i] = a[j];
				i = j;
				j += j;
			}
			else
				break;
		}
		a[i] = tmp;
	}
	for (; n > 1;)
	{
		tmp = a[n];
		a[n] = a[1];
		n -= 1;
		for (i = 1, j = 2; j <= n;)
		{
			if (j < n && NEG_LESS(a[j], a[j + 1]))
				j++;
			if (NEG_LESS(tmp, a[j]))
			{
				a[i] = a[j];
				i = j;
				j += j;
			}
			else
				break;
		}
		a[i] = tmp;
	}
}

/*
 * blob_argsort_desc: numpy 1.24's aquicksort (introsort: median of three,
 * insertion sort below 16 elements, heapsort past 2 log2 n levels) on -v.
 */
void
blob_argsort_desc(const double *v, int64_t *perm, int64_t num)
{
	int64_t    *pl = perm,
			   *pr = perm + num - 1;
	int64_t    *stack[PYA_QS_STACK],
			  **sptr = stack;
	int64_t    *pm,
			   *pi,
			   *pj,
			   *pk,
				vi,
				tmp;
	int			depth[PYA_QS_STACK],
			   *psdepth = depth;
	int			cdepth = 0;

	for (int64_t i = 0; i < num; i++)
		perm[i] = i;
	if (num < 2)
		return;
	for (int64_t nn = num; nn > 1; nn >>= 1)
		cdepth++;
	cdepth *= 2;

#define ISWAP(a, b) do { tmp = (a); (a) = (b); (b) = tmp; } while (0)
	for (;;)
	{
		if (cdepth < 0)
		{
			AHeapSort(v, pl, pr - pl + 1);
			goto stack_pop;
		}
		while ((pr - pl) > SMALL_QUICKSORT)
		{
			double		vpv;

			pm = pl + ((pr - pl) >> 1);
			if (NEG_LESS(*pm, *pl))
				ISWAP(*pm, *pl);
			if (NEG_LESS(*pr, *pm))
				ISWAP(*pr, *pm);
			if (NEG_LESS(*pm, *pl))
				ISWAP(*pm, *pl);
			vpv = v[*pm];
			pi = pl;
			pj = pr - 1;
			ISWAP(*pm, *pj);
			for (;;)
			{
				do
					++pi;
				while (vpv < v[*pi]);	/* less(-v[*pi], -vp) */
				do
					--pj;
				while (v[*pj] < vpv);	/* less(-vp, -v[*pj]) */
				if (pi >= pj)
					break;
				ISWAP(*pi, *pj);
			}
			pk = pr - 1;
			ISWAP(*pi, *pk);
			/* push largest partition on stack */
			if (pi - pl < pr - pi)
			{
				*sptr++ = pi + 1;
				*sptr++ = pr;
				pr = pi - 1;
			}
			else
			{
				*sptr++ = pl;
				*sptr++ = pi - 1;
				pl = pi + 1;
			}
			*psdepth++ = --cdepth;
		}

		/* insertion sort */
		for (pi = pl + 1; pi <= pr; ++pi)
		{
			double		vpv;

			vi = *pi;
			vpv = v[vi];
			pj = pi;
			pk = pi - 1;
			while (pj > pl && v[*pk] < vpv)
				*pj-- = *pk--;
			*pj = vi;
		}
stack_pop:
		if (sptr == stack)
			break;
		pr = *(--sptr);
		pl = *(--sptr);
		cdepth = *(--psdepth);
	}
#undef ISWAP
}



/*
 * DiskOverlap is skimage's _compute_disk_overlap (** 2 is pow, as numpy's
 * and Python's scalar power are).
 */
static double
DiskOverlap(double d, double r1, double r2)
{
	double		ratio1,
				ratio2,
				acos1,
				acos2,
				a,
				b,
				c,
				dd,
				area;

	ratio1 = (pow(d, 2) + pow(r1, 2) - pow(r2, 2)) / (2 * d * r1);
	ratio1 = ratio1 < -1 ? -1 : (ratio1 > 1 ? 1 : ratio1);
	acos1 = acos(ratio1);
	ratio2 = (pow(d, 2) + pow(r2, 2) - pow(r1, 2)) / (2 * d * r2);
	ratio2 = ratio2 < -1 ? -1 : (ratio2 > 1 ? 1 : ratio2);
	acos2 = acos(ratio2);
	a = -d + r2 + r1;
	b = d - r2 + r1;
	c = d + r2 - r1;
	dd = d + r2 + r1;
	area = (pow(r1, 2) * acos1 + pow(r2, 2) * acos2 - 0.5 * sqrt(fabs(a * b * c * dd)));
	return area / (BLOB_PI * pow(r2 < r1 ? r2 : r1, 2));
}

/* BlobOverlap is skimage's _blob_overlap for 2-D blobs with one sigma. */
static double
BlobOverlap(const Blob *b1, const Blob *b2)
{
	double		root = sqrt(2.0);
	double		ms,
				r1,
				r2,
				den,
				dr,
				dc,
				d;

	if (b1->sigma == b2->sigma && b2->sigma == 0)
		return 0.0;
	if (b1->sigma > b2->sigma)
	{
		ms = b1->sigma;
		r1 = 1;
		r2 = b2->sigma / b1->sigma;
	}
	else
	{
		ms = b2->sigma;
		r2 = 1;
		r1 = b1->sigma / b2->sigma;
	}
	den = ms * root;
	dr = b2->row / den - b1->row / den;
	dc = b2->col / den - b1->col / den;
	d = sqrt(dr * dr + dc * dc);
	if (d > r1 + r2)
		return 0.0;
	if (d <= fabs(r1 - r2))
		return 1.0;
	return DiskOverlap(d, r1, r2);
}

/* CPython 3.11's hash of the tuple (i, j) of small non-negative ints. */
static uint64_t
PyPairHash(uint64_t i, uint64_t j)
{
	const uint64_t p1 = 11400714785074694791ULL,
				p2 = 14029467366897019727ULL,
				p5 = 2870177450012600261ULL;
	uint64_t	acc = p5;

	acc += i * p2;
	acc = (acc << 31) | (acc >> 33);
	acc *= p1;
	acc += j * p2;
	acc = (acc << 31) | (acc >> 33);
	acc *= p1;
	acc += 2 ^ (p5 ^ 3527539UL);
	if (acc == (uint64_t) -1)
		return 1546275796;
	return acc;
}

/* A slot of the simulated set: the pair's number + 1 (0: empty). */
typedef struct SetSlot
{
	uint64_t	hash;
	int64_t		key;
} SetSlot;

/* CPython's set_insert_clean / set_add_entry probe (no deletions here). */
static void
SetPlace(SetSlot *table, uint64_t mask, uint64_t hash, int64_t key)
{
	uint64_t	perturb = hash;
	uint64_t	i = hash & mask;
	SetSlot    *e;

	for (;;)
	{
		e = &table[i];
		if (e->key == 0)
			goto found;
		if (i + 9 <= mask)
		{
			for (int j = 0; j < 9; j++)
			{
				e++;
				if (e->key == 0)
					goto found;
			}
		}
		perturb >>= 5;
		i = (i * 5 + 1 + perturb) & mask;
	}
found:
	e->key = key;
	e->hash = hash;
}

typedef struct Pair
{
	int64_t		i,
				j;
} Pair;

/*
 * The pairs of blobs within r of each other, in the order scipy 1.10's
 * cKDTree(positions).query_pairs(r) finds them (that order decides the
 * layout of the Python set they go into): the tree as cKDTree builds it
 * (leafsize 16, balanced: libstdc++'s nth_element at the median of the
 * widest dimension, then std::partition; compact node bounds), then the
 * dual-tree traversal with its rectangle pruning.
 */
typedef struct KdNode
{
	int64_t		start,
				end;
	int			dim;			/* -1: leaf */
	double		split;
	int64_t		less,
				greater;
} KdNode;

typedef struct KdTree
{
	const double *pt;			/* n x 2: (row, col) */
	int64_t    *idx;
	KdNode	   *node;
	int64_t		nnode;
	int			d;				/* the dimension comparisons use */
	double		ub;				/* r * r */
	Pair	   *out;
	int64_t		nout,
				capout;
	int64_t		max_pairs;		/* more is refused (the caller's memory limit) */
	const mlops_allocator *a;
	int			nomem;
} KdTree;

#define KD_V(t, i) ((t)->pt[(i) * 2 + (t)->d])
#define KD_LESS(t, a, b) (KD_V(t, a) < KD_V(t, b))
#define KD_SWAP(a, b) do { int64_t t_ = (a); (a) = (b); (b) = t_; } while (0)

/* libstdc++'s __adjust_heap / __push_heap on f[0..len) */
static void
KdAdjustHeap(KdTree *t, int64_t *f, int64_t hole, int64_t len, int64_t value)
{
	int64_t		top = hole,
				child = hole,
				parent;

	while (child < (len - 1) / 2)
	{
		child = 2 * (child + 1);
		if (KD_LESS(t, f[child], f[child - 1]))
			child--;
		f[hole] = f[child];
		hole = child;
	}
	if ((len & 1) == 0 && child == (len - 2) / 2)
	{
		child = 2 * (child + 1);
		f[hole] = f[child - 1];
		hole = child - 1;
	}
	parent = (hole - 1) / 2;
	while (hole > top && KD_LESS(t, f[parent], value))
	{
		f[hole] = f[parent];
		hole = parent;
		parent = (hole - 1) / 2;
	}
	f[hole] = value;
}

/* libstdc++'s std::nth_element(f, f + nth, f + n) (introselect) */
static void
KdNthElement(KdTree *t, int64_t *f, int64_t nth, int64_t n)
{
	int64_t		first = 0,
				last = n;
	int			depth = 0;

	if (n == 0 || nth == n)
		return;
	for (int64_t m = n; m > 1; m >>= 1)
		depth++;
	depth *= 2;
	while (last - first > 3)
	{
		int64_t		mid,
					a,
					b,
					c,
					lo,
					hi;

		if (depth == 0)
		{
			/* __heap_select(first, nth + 1, last), then iter_swap(first, nth) */
			int64_t    *h = f + first;
			int64_t		len = nth + 1 - first;

			if (len >= 2)
				for (int64_t par = (len - 2) / 2;; par--)
				{
					KdAdjustHeap(t, h, par, len, h[par]);
					if (par == 0)
						break;
				}
			for (int64_t i = nth + 1; i < last; i++)
				if (KD_LESS(t, f[i], h[0]))
				{
					int64_t		v = f[i];

					f[i] = h[0];
					KdAdjustHeap(t, h, 0, len, v);
				}
			KD_SWAP(f[first], f[nth]);
			return;
		}
		depth--;
		/* __unguarded_partition_pivot */
		mid = first + (last - first) / 2;
		a = first + 1;
		b = mid;
		c = last - 1;
		if (KD_LESS(t, f[a], f[b]))
		{
			if (KD_LESS(t, f[b], f[c]))
				KD_SWAP(f[first], f[b]);
			else if (KD_LESS(t, f[a], f[c]))
				KD_SWAP(f[first], f[c]);
			else
				KD_SWAP(f[first], f[a]);
		}
		else if (KD_LESS(t, f[a], f[c]))
			KD_SWAP(f[first], f[a]);
		else if (KD_LESS(t, f[b], f[c]))
			KD_SWAP(f[first], f[c]);
		else
			KD_SWAP(f[first], f[b]);
		lo = first + 1;
		hi = last;
		for (;;)
		{
			while (KD_LESS(t, f[lo], f[first]))
				lo++;
			hi--;
			while (KD_LESS(t, f[first], f[hi]))
				hi--;
			if (!(lo < hi))
				break;
			KD_SWAP(f[lo], f[hi]);
			lo++;
		}
		if (lo <= nth)
			first = lo;
		else
			last = lo;
	}
	/* __insertion_sort(first, last) */
	for (int64_t i = first + 1; i < last; i++)
	{
		int64_t		v = f[i];

		if (KD_LESS(t, v, f[first]))
		{
			memmove(f + first + 1, f + first, sizeof(int64_t) * (i - first));
			f[first] = v;
		}
		else
		{
			int64_t		j = i;

			while (KD_LESS(t, v, f[j - 1]))
			{
				f[j] = f[j - 1];
				j--;
			}
			f[j] = v;
		}
	}
}

/* std::partition(f + lo, f + hi, x < split) (libstdc++'s bidirectional form); the cut */
static int64_t
KdPartition(KdTree *t, int64_t lo, int64_t hi, double split)
{
	int64_t    *f = t->idx;

	for (;;)
	{
		for (;;)
		{
			if (lo == hi)
				return lo;
			else if (KD_V(t, f[lo]) < split)
				lo++;
			else
				break;
		}
		hi--;
		for (;;)
		{
			if (lo == hi)
				return lo;
			else if (!(KD_V(t, f[hi]) < split))
				hi--;
			else
				break;
		}
		KD_SWAP(f[lo], f[hi]);
		lo++;
	}
}

/* cKDTree's build (median split, compact bounds); the node's number */
static int64_t
KdBuild(KdTree *t, int64_t start, int64_t end)
{
	int64_t		me = t->nnode++;
	KdNode	   *n = &t->node[me];
	double		mins[2],
				maxes[2],
				size = 0,
				split;
	int			d = 0;
	int64_t		p,
				mid;

	n->start = start;
	n->end = end;
	n->dim = -1;
	if (end - start <= 16)
		return me;
	for (int k = 0; k < 2; k++)
		mins[k] = maxes[k] = t->pt[t->idx[start] * 2 + k];
	for (int64_t j = start + 1; j < end; j++)
		for (int k = 0; k < 2; k++)
		{
			double		v = t->pt[t->idx[j] * 2 + k];

			maxes[k] = maxes[k] > v ? maxes[k] : v;
			mins[k] = mins[k] < v ? mins[k] : v;
		}
	for (int k = 0; k < 2; k++)
		if (maxes[k] - mins[k] > size)
		{
			d = k;
			size = maxes[k] - mins[k];
		}
	if (maxes[d] == mins[d])
		return me;
	t->d = d;
	mid = (end - start) / 2;
	KdNthElement(t, t->idx + start, mid, end - start);
	split = KD_V(t, t->idx[start + mid]);
	p = KdPartition(t, start, start + mid, split);
	if (p == start)
	{
		/* no points less than split: slide to just above the smallest */
		int64_t		m = t->idx[start];

		for (int64_t j = start + 1; j < end; j++)
			if (KD_V(t, t->idx[j]) < KD_V(t, m))
				m = t->idx[j];
		split = nextafter(KD_V(t, m), HUGE_VAL);
		p = KdPartition(t, start, end, split);
	}
	{
		int64_t		l = KdBuild(t, start, p);
		int64_t		g = KdBuild(t, p, end);

		n = &t->node[me];
		n->less = l;
		n->greater = g;
		n->dim = d;
		n->split = split;
	}
	return me;
}

static void
KdAdd(KdTree *t, int64_t i, int64_t j)
{
	if (t->nout >= t->max_pairs)
	{
		t->nomem = 1;
		return;
	}
	if (t->nout == t->capout)
	{
		int64_t		ncap = t->capout ? t->capout * 2 : 256;
		Pair	   *np = mlops_realloc(t->a, t->out, sizeof(Pair) * ncap);

		if (!np)
		{
			t->nomem = 1;
			return;
		}
		t->out = np;
		t->capout = ncap;
	}
	t->out[t->nout].i = i < j ? i : j;
	t->out[t->nout].j = i < j ? j : i;
	t->nout++;
}

static void
KdNoCheck(KdTree *t, int64_t a, int64_t b)
{
	const KdNode *n1 = &t->node[a],
			   *n2 = &t->node[b];

	if (t->nomem)
		return;
	if (n1->dim == -1)
	{
		if (n2->dim == -1)
		{
			for (int64_t i = n1->start; i < n1->end; i++)
				for (int64_t j = (a == b) ? i + 1 : n2->start; j < n2->end; j++)
					KdAdd(t, t->idx[i], t->idx[j]);
		}
		else
		{
			KdNoCheck(t, a, n2->less);
			KdNoCheck(t, a, n2->greater);
		}
	}
	else if (a == b)
	{
		KdNoCheck(t, n1->less, n2->less);
		KdNoCheck(t, n1->less, n2->greater);
		KdNoCheck(t, n1->greater, n2->greater);
	}
	else
	{
		KdNoCheck(t, n1->less, b);
		KdNoCheck(t, n1->greater, b);
	}
}

/* Rectangles are {min0, min1, max0, max1}; squared min and max distances. */
static void
KdRectDist(const double *r1, const double *r2, double *mn, double *mx)
{
	*mn = 0.;
	*mx = 0.;
	for (int k = 0; k < 2; k++)
	{
		double		a = r1[k] - r2[2 + k],
					b = r2[k] - r1[2 + k];
		double		lo = a > b ? a : b;
		double		c = r1[2 + k] - r2[k],
					e = r2[2 + k] - r1[k];
		double		hi = c > e ? c : e;

		lo = lo > 0 ? lo : 0;
		*mn += lo * lo;
		*mx += hi * hi;
	}
}

static void
KdCheck(KdTree *t, int64_t a, int64_t b, const double *r1, const double *r2)
{
	const KdNode *n1 = &t->node[a],
			   *n2 = &t->node[b];
	double		mn,
				mx,
				q1[4],
				q2[4];

	if (t->nomem)
		return;
	KdRectDist(r1, r2, &mn, &mx);
	if (mn > t->ub)
		return;
	if (mx < t->ub)
	{
		KdNoCheck(t, a, b);
		return;
	}
	memcpy(q1, r1, sizeof q1);
	memcpy(q2, r2, sizeof q2);
	if (n1->dim == -1)
	{
		if (n2->dim == -1)
		{
			for (int64_t i = n1->start; i < n1->end; i++)
				for (int64_t j = (a == b) ? i + 1 : n2->start; j < n2->end; j++)
				{
					const double *x = t->pt + t->idx[i] * 2,
							   *y = t->pt + t->idx[j] * 2;
					double		d0 = x[0] - y[0],
								d1 = x[1] - y[1];

					if (d0 * d0 + d1 * d1 <= t->ub)
						KdAdd(t, t->idx[i], t->idx[j]);
				}
		}
		else
		{
			q2[2 + n2->dim] = n2->split;
			KdCheck(t, a, n2->less, q1, q2);
			q2[2 + n2->dim] = r2[2 + n2->dim];
			q2[n2->dim] = n2->split;
			KdCheck(t, a, n2->greater, q1, q2);
		}
	}
	else if (n2->dim == -1)
	{
		q1[2 + n1->dim] = n1->split;
		KdCheck(t, n1->less, b, q1, q2);
		q1[2 + n1->dim] = r1[2 + n1->dim];
		q1[n1->dim] = n1->split;
		KdCheck(t, n1->greater, b, q1, q2);
	}
	else
	{
		q1[2 + n1->dim] = n1->split;
		q2[2 + n2->dim] = n2->split;
		KdCheck(t, n1->less, n2->less, q1, q2);
		q2[2 + n2->dim] = r2[2 + n2->dim];
		q2[n2->dim] = n2->split;
		KdCheck(t, n1->less, n2->greater, q1, q2);
		memcpy(q2, r2, sizeof q2);
		memcpy(q1, r1, sizeof q1);
		q1[n1->dim] = n1->split;
		if (a != b)
		{
			q2[2 + n2->dim] = n2->split;
			KdCheck(t, n1->greater, n2->less, q1, q2);
			memcpy(q2, r2, sizeof q2);
		}
		q2[n2->dim] = n2->split;
		KdCheck(t, n1->greater, n2->greater, q1, q2);
	}
}

/*
 * KdPairs sets *pairs (allocated) to the pairs of b[0..n) within distance
 * dist, in query_pairs' order; -1 when out of memory.
 */
static int
KdPairs(const Blob *b, int64_t n, double dist, size_t max_bytes,
		const mlops_allocator *a, char *err, size_t errlen,
		Pair **pairs, int64_t *npairs)
{
	KdTree		t;
	double	   *pt = PruneAlloc(a, sizeof(double) * 2 * n, err, errlen);
	double		rect[4];
	int			rc = -1;

	memset(&t, 0, sizeof(t));
	t.a = a;
	t.max_pairs = (int64_t) (max_bytes / 64);
	t.idx = PruneAlloc(a, sizeof(int64_t) * n, err, errlen);
	t.node = PruneAlloc(a, sizeof(KdNode) * (2 * n + 1), err, errlen);
	if (!pt || !t.idx || !t.node)
		goto done;
	for (int64_t i = 0; i < n; i++)
	{
		pt[2 * i] = b[i].row;
		pt[2 * i + 1] = b[i].col;
		t.idx[i] = i;
	}
	t.pt = pt;
	t.ub = dist * dist;
	KdBuild(&t, 0, n);
	rect[0] = rect[2] = pt[0];
	rect[1] = rect[3] = pt[1];
	for (int64_t i = 1; i < n; i++)
		for (int k = 0; k < 2; k++)
		{
			rect[k] = pt[2 * i + k] < rect[k] ? pt[2 * i + k] : rect[k];
			rect[2 + k] = pt[2 * i + k] > rect[2 + k] ? pt[2 * i + k] : rect[2 + k];
		}
	KdCheck(&t, 0, 0, rect, rect);
	if (t.nomem)
	{
		errbuf_printf(err, errlen, t.nout >= t.max_pairs ?
					  "too many overlapping blob pairs to prune" : "out of memory for blob pairs");
		goto done;
	}
	*pairs = t.out;
	*npairs = t.nout;
	t.out = NULL;
	rc = 0;
done:
	mlops_free(a, pt);
	mlops_free(a, t.idx);
	mlops_free(a, t.node);
	mlops_free(a, t.out);
	return rc;
}


/*
 * blob_prune is skimage's _prune_blobs over b[0..n) (in peak_local_max's
 * order): pairs within 2 sqrt(2) max sigma (cKDTree.query_pairs: squared
 * distance <= r * r), visited in the iteration order of the Python set
 * holding them; the smaller blob of an overlapping pair gets sigma 0, and
 * the survivors keep their order.  *n is updated.
 */
int
blob_prune(Blob *b, int64_t *np, double overlap, size_t max_bytes,
		   const mlops_allocator *a, char *err, size_t errlen)
{
	int64_t		n = *np,
				npairs = 0,
				m = 0;
	double		smax = 0,
				dist;
	Pair	   *pairs = NULL;
	SetSlot    *table = NULL;
	uint64_t	mask = 7,
				fill = 0;
	int			rc = -1;

	if (n == 0)
		return 0;
	for (int64_t i = 0; i < n; i++)
		if (b[i].sigma > smax)
			smax = b[i].sigma;
	dist = 2 * smax * sqrt(2.0);

	if (KdPairs(b, n, dist, max_bytes, a, err, errlen, &pairs, &npairs) < 0)
		goto done;
	if ((double) npairs * 64 > (double) max_bytes)
	{
		errbuf_printf(err, errlen, "too many overlapping blob pairs to prune");
		goto done;
	}
	if (npairs == 0)
	{
		rc = 0;
		goto done;
	}

	/* the set, grown as CPython grows it */
	table = PruneAlloc(a, sizeof(SetSlot) * (mask + 1), err, errlen);
	if (!table)
		goto done;
	memset(table, 0, sizeof(SetSlot) * (mask + 1));
	for (int64_t p = 0; p < npairs; p++)
	{
		SetPlace(table, mask, PyPairHash(pairs[p].i, pairs[p].j), p + 1);
		fill++;
		if (fill * 5 >= mask * 3)
		{
			uint64_t	minused = fill > 50000 ? fill * 2 : fill * 4;
			uint64_t	newsize = 8;
			SetSlot    *nt;

			while (newsize <= minused)
				newsize <<= 1;
			nt = PruneAlloc(a, sizeof(SetSlot) * newsize, err, errlen);
			if (!nt)
				goto done;
			memset(nt, 0, sizeof(SetSlot) * newsize);
			for (uint64_t s = 0; s <= mask; s++)
				if (table[s].key)
					SetPlace(nt, newsize - 1, table[s].hash, table[s].key);
			mlops_free(a, table);
			table = nt;
			mask = newsize - 1;
		}
	}

	for (uint64_t s = 0; s <= mask; s++)
	{
		Blob	   *b1,
				   *b2;

		if (!table[s].key)
			continue;
		b1 = &b[pairs[table[s].key - 1].i];
		b2 = &b[pairs[table[s].key - 1].j];
		if (BlobOverlap(b1, b2) > overlap)
		{
			if (b1->sigma > b2->sigma)
				b2->sigma = 0;
			else
				b1->sigma = 0;
		}
	}
	for (int64_t i = 0; i < n; i++)
		if (b[i].sigma > 0)
			b[m++] = b[i];
	*np = m;
	rc = 0;
done:
	mlops_free(a, pairs);
	mlops_free(a, table);
	return rc;
}

