/*
 * coreset.c
 *	  Kernel: core-set selection, the exact greedy k-centre of Sener and
 *	  Savarese (2018) (see select.h for the contract).
 *
 *	  One array mind[i] holds item i's squared distance to the nearest
 *	  centre so far (labelled items and picks); a picked item holds -1 and
 *	  is skipped.  A phase lowers mind by the distances to some new centres
 *	  (all m labelled items first, then each pick in turn) and, in the same
 *	  pass, finds the unpicked item with the largest mind (ties lowest
 *	  index), which is the next pick.  So the whole selection is 1 + b
 *	  passes over the pool, O(n (m + b) d) in all, with no distance matrix.
 *
 *	  Threads: a phase splits the pool into blocks of CS_BLOCK items that
 *	  threads take in turn (spatial/parallel.c's par_rows); each thread
 *	  keeps its own best (largest mind, lowest index), and the bests are
 *	  combined by the same rule, which is associative and commutative, so
 *	  the picks do not depend on the number of threads or the schedule.
 *	  Each item's mind is written by the one thread owning its block.
 *
 *	  Distances come from one function, cs_sqdist: float differences,
 *	  squared and summed in float in 16 independent lanes (a loop compilers
 *	  vectorise without -ffast-math, since the order of the sums is
 *	  written out), the lanes then added in double in a fixed order; a tail
 *	  of d mod 16 dimensions is summed in double.  Rounding is therefore the
 *	  same in every phase and in a brute-force reference that calls
 *	  select_sqdist.  Square roots are taken only for dist[].
 *
 *	  Pure C: no PostgreSQL headers; memory through mlops_allocator.
 */
#include "active/select.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "active/select_private.h"
#include "util/errbuf.h"
#include "spatial/parallel.h"

/* Items per block a thread takes at a time. */
#define CS_BLOCK 512

/* Lanes of the float sums in cs_sqdist. */
#define CS_LANES 16

/* One thread's best so far, padded to its own cache line. */
typedef struct cs_best
{
	double		d2;				/* the largest mind seen; -2 before any */
	int64_t		idx;			/* its item; -1 before any */
	char		pad[64 - sizeof(double) - sizeof(int64_t)];
} cs_best;

typedef struct cs_ctx
{
	const float *X;
	int64_t		n;
	int			d;
	const float *C;				/* this phase's centres, nc x d */
	int64_t		nc;
	bool		reset;			/* set mind to +inf before lowering it */
	double	   *mind;
	cs_best    *best;			/* one per thread id */
} cs_ctx;

#if defined(__GNUC__) || defined(__clang__)
/*
 * GCC and clang vector extensions: four 4-float accumulators held in
 * registers (left to itself, the compiler vectorises the scalar loop below
 * but keeps the 16 lanes in memory).  Lane r of acc[q] is lane 4q + r of
 * the scalar loop, summed in the same order, so both give the same bits.
 */
typedef float cs_v4 __attribute__((vector_size(16)));

static inline cs_v4
cs_load(const float *p)
{
	cs_v4		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline double
cs_sqdist(const float *x, const float *y, int d)
{
	cs_v4		acc0 = {0, 0, 0, 0},
				acc1 = {0, 0, 0, 0},
				acc2 = {0, 0, 0, 0},
				acc3 = {0, 0, 0, 0};
	float		lanes[CS_LANES];
	double		s = 0.0;
	int			k = 0;

	for (; k + CS_LANES <= d; k += CS_LANES)
	{
		cs_v4		t0 = cs_load(x + k) - cs_load(y + k);
		cs_v4		t1 = cs_load(x + k + 4) - cs_load(y + k + 4);
		cs_v4		t2 = cs_load(x + k + 8) - cs_load(y + k + 8);
		cs_v4		t3 = cs_load(x + k + 12) - cs_load(y + k + 12);

		acc0 += t0 * t0;
		acc1 += t1 * t1;
		acc2 += t2 * t2;
		acc3 += t3 * t3;
	}
	for (; k < d; k++)
	{
		double		t = (double) x[k] - (double) y[k];

		s += t * t;
	}
	memcpy(lanes, &acc0, sizeof(acc0));
	memcpy(lanes + 4, &acc1, sizeof(acc1));
	memcpy(lanes + 8, &acc2, sizeof(acc2));
	memcpy(lanes + 12, &acc3, sizeof(acc3));
	for (int j = 0; j < CS_LANES; j++)
		s += (double) lanes[j];
	return s;
}
/*
 * cs_sqdist2 is cs_sqdist of x against y0 and y1 at once (x's loads are
 * shared; each distance's arithmetic is exactly cs_sqdist's).
 */
static inline void
cs_sqdist2(const float *x, const float *y0, const float *y1, int d, double *d0, double *d1)
{
	cs_v4		a0 = {0, 0, 0, 0},
				a1 = {0, 0, 0, 0},
				a2 = {0, 0, 0, 0},
				a3 = {0, 0, 0, 0},
				b0 = {0, 0, 0, 0},
				b1 = {0, 0, 0, 0},
				b2 = {0, 0, 0, 0},
				b3 = {0, 0, 0, 0};
	float		la[CS_LANES],
				lb[CS_LANES];
	double		sa = 0.0,
				sb = 0.0;
	int			k = 0;

	for (; k + CS_LANES <= d; k += CS_LANES)
	{
		cs_v4		x0 = cs_load(x + k),
					x1 = cs_load(x + k + 4),
					x2 = cs_load(x + k + 8),
					x3 = cs_load(x + k + 12);
		cs_v4		t0 = x0 - cs_load(y0 + k),
					t1 = x1 - cs_load(y0 + k + 4),
					t2 = x2 - cs_load(y0 + k + 8),
					t3 = x3 - cs_load(y0 + k + 12);
		cs_v4		u0 = x0 - cs_load(y1 + k),
					u1 = x1 - cs_load(y1 + k + 4),
					u2 = x2 - cs_load(y1 + k + 8),
					u3 = x3 - cs_load(y1 + k + 12);

		a0 += t0 * t0;
		a1 += t1 * t1;
		a2 += t2 * t2;
		a3 += t3 * t3;
		b0 += u0 * u0;
		b1 += u1 * u1;
		b2 += u2 * u2;
		b3 += u3 * u3;
	}
	for (; k < d; k++)
	{
		double		t = (double) x[k] - (double) y0[k];
		double		u = (double) x[k] - (double) y1[k];

		sa += t * t;
		sb += u * u;
	}
	memcpy(la, &a0, sizeof(a0));
	memcpy(la + 4, &a1, sizeof(a1));
	memcpy(la + 8, &a2, sizeof(a2));
	memcpy(la + 12, &a3, sizeof(a3));
	memcpy(lb, &b0, sizeof(b0));
	memcpy(lb + 4, &b1, sizeof(b1));
	memcpy(lb + 8, &b2, sizeof(b2));
	memcpy(lb + 12, &b3, sizeof(b3));
	for (int j = 0; j < CS_LANES; j++)
	{
		sa += (double) la[j];
		sb += (double) lb[j];
	}
	*d0 = sa;
	*d1 = sb;
}
#else
static inline double
cs_sqdist(const float *x, const float *y, int d)
{
	float		acc[CS_LANES];
	double		s = 0.0;
	int			k = 0;

	for (int j = 0; j < CS_LANES; j++)
		acc[j] = 0.0f;
	for (; k + CS_LANES <= d; k += CS_LANES)
		for (int j = 0; j < CS_LANES; j++)
		{
			float		t = x[k + j] - y[k + j];

			acc[j] += t * t;
		}
	for (; k < d; k++)
	{
		double		t = (double) x[k] - (double) y[k];

		s += t * t;
	}
	for (int j = 0; j < CS_LANES; j++)
		s += (double) acc[j];
	return s;
}

static inline void
cs_sqdist2(const float *x, const float *y0, const float *y1, int d, double *d0, double *d1)
{
	*d0 = cs_sqdist(x, y0, d);
	*d1 = cs_sqdist(x, y1, d);
}
#endif

double
select_sqdist(const float *x, const float *y, int d)
{
	return cs_sqdist(x, y, d);
}

/* cs_better: is (d2, i) a better pick than best? */
static inline bool
cs_better(double d2, int64_t i, const cs_best *best)
{
	return d2 > best->d2 || (d2 == best->d2 && best->idx >= 0 && i < best->idx);
}

/*
 * cs_phase_rows is par_rows's work function: lower mind over the blocks
 * [row0, row1) by the phase's centres and note the thread's best.
 */
static bool
cs_phase_rows(void *arg, int tid, int row0, int row1)
{
	cs_ctx	   *cx = arg;
	cs_best    *best = &cx->best[tid];
	int64_t		i0 = (int64_t) row0 * CS_BLOCK;
	int64_t		i1 = (int64_t) row1 * CS_BLOCK;
	size_t		d = (size_t) cx->d;

	if (i1 > cx->n)
		i1 = cx->n;
	for (int64_t i = i0; i < i1; i++)
	{
		const float *x = cx->X + (size_t) i * d;
		double		m = cx->mind[i];

		if (m < 0.0)
			continue;			/* picked */
		if (cx->reset)
			m = INFINITY;
		for (int64_t j = 0; j + 1 < cx->nc; j += 2)
		{
			double		d0,
						d1;

			/* two centres a pass over x: its loads are shared */
			cs_sqdist2(x, cx->C + (size_t) j * d, cx->C + (size_t) (j + 1) * d, cx->d, &d0, &d1);
			if (d0 < m)
				m = d0;
			if (d1 < m)
				m = d1;
		}
		if (cx->nc % 2)
		{
			double		d2 = cs_sqdist(x, cx->C + (size_t) (cx->nc - 1) * d, cx->d);

			if (d2 < m)
				m = d2;
		}
		cx->mind[i] = m;
		if (cs_better(m, i, best))
		{
			best->d2 = m;
			best->idx = i;
		}
	}
	return true;
}

/*
 * cs_phase runs one phase over the pool with centres C (nc rows) and
 * returns the next pick (the unpicked item of largest mind, ties lowest
 * index), or -1 when par_rows could not run.
 */
static int64_t
cs_phase(cs_ctx *cx, const interp_exec *exec, int nblocks, int nbest,
		 const float *C, int64_t nc, bool reset, double *d2)
{
	cs_best    *pick = NULL;

	cx->C = C;
	cx->nc = nc;
	cx->reset = reset;
	for (int t = 0; t < nbest; t++)
	{
		cx->best[t].d2 = -2.0;
		cx->best[t].idx = -1;
	}
	if (par_rows(exec, nblocks, 0, cs_phase_rows, cx) != INTERP_OK)
		return -1;
	for (int t = 0; t < nbest; t++)
	{
		if (cx->best[t].idx < 0)
			continue;
		if (pick == NULL || cs_better(cx->best[t].d2, cx->best[t].idx, pick))
			pick = &cx->best[t];
	}
	if (pick == NULL)
		return -1;
	*d2 = pick->d2;
	return pick->idx;
}

int
select_coreset(const float *X, int64_t n, int d, const float *L, int64_t m, int64_t b,
			   int nthreads, int64_t *picked, double *dist,
			   const mlops_allocator *a, char *err, size_t errlen)
{
	cs_ctx		cx;
	interp_exec exec;
	int64_t		nblocks64;
	int			nblocks;
	int			nbest;
	float	   *mean = NULL;
	int64_t		p;
	double		d2 = 0.0;
	int			rc = -1;

	if (select_check_pool(X, n, d, b, "pool embeddings", err, errlen) != 0)
		return -1;
	if (m < 0)
	{
		errbuf_printf(err, errlen, "the number of labelled items must be at least 0, not %lld",
					  (long long) m);
		return -1;
	}
	if (m > 0 && select_check_pool(L, m, d, 1, "labelled embeddings", err, errlen) != 0)
		return -1;
	if (picked == NULL || a == NULL)
	{
		errbuf_printf(err, errlen, "no room for the picks given");
		return -1;
	}
	nblocks64 = (n + CS_BLOCK - 1) / CS_BLOCK;
	if (nblocks64 > INT32_MAX)
	{
		errbuf_printf(err, errlen, "a pool of %lld items is too large", (long long) n);
		return -1;
	}
	nblocks = (int) nblocks64;
	exec.threads = nthreads < 1 ? 1 : nthreads;
	exec.cancel = NULL;
	exec.cancel_arg = NULL;
	nbest = par_threads(&exec, nblocks);

	cx.X = X;
	cx.n = n;
	cx.d = d;
	cx.mind = mlops_alloc(a, (size_t) n * sizeof(double));
	cx.best = mlops_alloc(a, (size_t) nbest * sizeof(cs_best));
	if (m == 0)
		mean = mlops_alloc(a, (size_t) d * sizeof(float));
	if (cx.mind == NULL || cx.best == NULL || (m == 0 && mean == NULL))
	{
		errbuf_printf(err, errlen, "out of memory for core-set selection of %lld items", (long long) n);
		goto done;
	}
	for (int64_t i = 0; i < n; i++)
		cx.mind[i] = INFINITY;

	if (m > 0)
		p = cs_phase(&cx, &exec, nblocks, nbest, L, m, false, &d2);
	else
	{
		/* no labelled set: start from the item farthest from the pool mean */
		for (int k = 0; k < d; k++)
		{
			double		s = 0.0;

			for (int64_t i = 0; i < n; i++)
				s += X[(size_t) i * (size_t) d + (size_t) k];
			mean[k] = (float) (s / (double) n);
		}
		p = cs_phase(&cx, &exec, nblocks, nbest, mean, 1, false, &d2);
	}

	for (int64_t t = 0; t < b; t++)
	{
		if (p < 0)
		{
			errbuf_printf(err, errlen, "core-set selection could not run its threads");
			goto done;
		}
		picked[t] = p;
		if (dist)
			dist[t] = sqrt(d2);
		cx.mind[p] = -1.0;
		if (t + 1 < b)
			/* with no labelled set, the mean's distances are forgotten after pick 1 */
			p = cs_phase(&cx, &exec, nblocks, nbest, X + (size_t) p * (size_t) d, 1,
						 m == 0 && t == 0, &d2);
	}
	rc = 0;

done:
	mlops_free(a, mean);
	mlops_free(a, cx.best);
	mlops_free(a, cx.mind);
	return rc;
}
