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
#include <stdlib.h>
#include <string.h>

#include "active/coreset_private.h"
#include "active/select_private.h"
#include "util/errbuf.h"
#include "spatial/parallel.h"

/* Items per block a thread takes at a time. */
#define CS_BLOCK 512

/* Items a tile loop takes at a time (it takes fewer at a block's end). */
#define CS_TILE_POINTS 4

/*
 * CS_OPAQUE(v) hides a product from the optimiser, so that it is never fused
 * with the add that follows into one multiply-add (GCC fuses by default
 * wherever the target has FMA, which would change the bits between the
 * vector widths below).  It costs no instruction.
 */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define CS_OPAQUE(v) __asm__("" : "+v"(v))
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
#define CS_OPAQUE(v) __asm__("" : "+w"(v))
#else
#define CS_OPAQUE(v) ((void) 0)
#endif

/* One thread's best so far, padded to its own cache line. */
typedef struct cs_best
{
	double		d2;				/* the largest mind seen; -2 before any */
	int64_t		idx;			/* its item; -1 before any */
	char		pad[64 - sizeof(double) - sizeof(int64_t)];
} cs_best;

typedef void (*cs_tile_fn) (const float *const *xs, int np, const float *C, int64_t nc, int dp,
							double *m);

typedef struct cs_ctx
{
	const float *X;				/* the pool, rows of dp floats */
	int64_t		n;
	int			dp;				/* d rounded up to 16 */
	const float *C;				/* this phase's centres, nc rows of dp */
	int64_t		nc;
	bool		reset;			/* set mind to +inf before lowering it */
	double	   *mind;
	cs_best    *best;			/* one per thread id */
	cs_tile_fn	tile;

	/* the screen (coreset_screen.c); screen NULL: every pair computed */
	cs_screen_fn screen;
	const uint8_t *T;			/* the pool's codes, interleaved by 16 items */
	const double *E;			/* their error norms */
	const int32_t *N;			/* their |q|^2 */
	const int8_t *QC;			/* this phase's centres' codes, rows of dq */
	const double *EC;			/* their error norms */
	const int32_t *KC;			/* their |q|^2 + 256 sum(q) */
	double		emax;			/* the largest of EC */
	double		scale;
	int			dq;
	double		eps;			/* relative error bound of a float distance */
} cs_ctx;

#if defined(__GNUC__) || defined(__clang__)
/* 4-float vectors: any x86-64 (SSE2), and other targets GCC vectorises */
#define CS_SFX v4
#define CS_ATTR
#define CS_W 4
#define CS_P 1
#define CS_Q 2
#include "active/coreset_tile.h"
#undef CS_SFX
#undef CS_ATTR
#undef CS_W
#undef CS_P
#undef CS_Q

#if defined(__x86_64__)
#define CS_HAVE_X86 1
#define CS_SFX v8
#define CS_ATTR __attribute__((target("avx2")))
#define CS_W 8
#define CS_P 2
#define CS_Q 2
#include "active/coreset_tile.h"
#undef CS_SFX
#undef CS_ATTR
#undef CS_W
#undef CS_P
#undef CS_Q

#define CS_SFX v16
#define CS_ATTR __attribute__((target("avx512f")))
#define CS_W 16
#define CS_P 4
#define CS_Q 4
#include "active/coreset_tile.h"
#undef CS_SFX
#undef CS_ATTR
#undef CS_W
#undef CS_P
#undef CS_Q
#endif
#endif

/*
 * cs_ref_dist is the definition the vector instances follow, in plain C:
 * lane j of 16 sums, in float and in order of k, the squares of
 * x[k] - y[k] for every k = j (mod 16); the lanes are then added in a tree
 * (j + j+8, then +4, +2, +1) in float.  Any d; no padding needed.
 */
static double
cs_ref_dist(const float *x, const float *y, int d)
{
	float		l[16];
	float		h[8],
				q[4],
				p0,
				p1;

	for (int j = 0; j < 16; j++)
		l[j] = 0.0f;
	for (int k = 0; k < d; k++)
	{
		volatile float t2;		/* stored: never fused with the add */
		float		t = x[k] - y[k];

		t2 = t * t;
		l[k % 16] += t2;
	}
	for (int j = 0; j < 8; j++)
		h[j] = l[j] + l[j + 8];
	for (int j = 0; j < 4; j++)
		q[j] = h[j] + h[j + 4];
	p0 = q[0] + q[2];
	p1 = q[1] + q[3];
	return (double) (p0 + p1);
}

#if !(defined(__GNUC__) || defined(__clang__))
/* without vector extensions: the reference, pair by pair */
static void
cs_tile_ref(const float *const *xs, int np, const float *C, int64_t nc, int dp, double *m)
{
	for (int p = 0; p < np; p++)
		for (int64_t j = 0; j < nc; j++)
		{
			double		d2 = cs_ref_dist(xs[p], C + (size_t) j * (size_t) dp, dp);

			if (d2 < m[p])
				m[p] = d2;
		}
}
#endif

/* cs_pick_tile returns the widest tile loop this processor runs. */
static cs_tile_fn
cs_pick_tile(void)
{
#if defined(CS_HAVE_X86)
	if (__builtin_cpu_supports("avx512f"))
		return cs_tile_v16;
	if (__builtin_cpu_supports("avx2"))
		return cs_tile_v8;
#endif
#if defined(__GNUC__) || defined(__clang__)
	return cs_tile_v4;
#else
	return cs_tile_ref;
#endif
}

double
select_sqdist(const float *x, const float *y, int d)
{
	return cs_ref_dist(x, y, d);
}

/*
 * select_sqdist_tiles checks every tile loop this processor runs against
 * cs_ref_dist (for the unit tests): x (np rows) and y (nc rows) of d
 * floats.  Returns how many distances differ in any bit (-1: no memory).
 */
int64_t
select_sqdist_tiles(const float *x, int64_t np, const float *y, int64_t nc, int d)
{
	int			dp = (d + 15) / 16 * 16;
	float	   *xp = calloc((size_t) (np + nc) * (size_t) dp, sizeof(float));
	float	   *yp;
	int64_t		bad = 0;
	cs_tile_fn	fns[4];
	int			nfn = 0;

	if (xp == NULL)
		return -1;
	yp = xp + (size_t) np * (size_t) dp;
	for (int64_t i = 0; i < np; i++)
		memcpy(xp + (size_t) i * (size_t) dp, x + (size_t) i * (size_t) d, (size_t) d * sizeof(float));
	for (int64_t i = 0; i < nc; i++)
		memcpy(yp + (size_t) i * (size_t) dp, y + (size_t) i * (size_t) d, (size_t) d * sizeof(float));
#if defined(__GNUC__) || defined(__clang__)
	fns[nfn++] = cs_tile_v4;
#if defined(CS_HAVE_X86)
	if (__builtin_cpu_supports("avx2"))
		fns[nfn++] = cs_tile_v8;
	if (__builtin_cpu_supports("avx512f"))
		fns[nfn++] = cs_tile_v16;
#endif
#else
	fns[nfn++] = cs_tile_ref;
#endif
	for (int f = 0; f < nfn; f++)
		for (int64_t i = 0; i < np; i += 4)
		{
			const float *xs[4];
			double		m[4];
			int			k = (int) (np - i < 4 ? np - i : 4);

			/* each centre alone, then all at once: both must give the minimum */
			for (int64_t j = 0; j < nc; j++)
			{
				for (int p = 0; p < k; p++)
				{
					xs[p] = xp + (size_t) (i + p) * (size_t) dp;
					m[p] = INFINITY;
				}
				fns[f] (xs, k, yp + (size_t) j * (size_t) dp, 1, dp, m);
				for (int p = 0; p < k; p++)
					if (m[p] != cs_ref_dist(x + (size_t) (i + p) * (size_t) d, y + (size_t) j * (size_t) d, d))
						bad++;
			}
			for (int p = 0; p < k; p++)
				m[p] = INFINITY;
			fns[f] (xs, k, yp, nc, dp, m);
			for (int p = 0; p < k; p++)
			{
				double		best = INFINITY;

				for (int64_t j = 0; j < nc; j++)
				{
					double		d2 = cs_ref_dist(x + (size_t) (i + p) * (size_t) d, y + (size_t) j * (size_t) d, d);

					if (d2 < best)
						best = d2;
				}
				if (m[p] != best)
					bad++;
			}
		}
	free(xp);
	return bad;
}

/* cs_better: is (d2, i) a better pick than best? */
static inline bool
cs_better(double d2, int64_t i, const cs_best *best)
{
	return d2 > best->d2 || (d2 == best->d2 && best->idx >= 0 && i < best->idx);
}

/*
 * The screened phase.  A pair (item x, centre y) is skipped when
 *
 *	   lb = s sqrt(D) (1 - 1e-12) - e_x - e_y  >=  sqrt((m + 1e-30) / (1 - eps))
 *
 * where m is x's nearest-centre distance so far.  lb is below the true
 * distance |x - y| (coreset_screen.c; the factor covers the rounding of lb
 * itself), and the float distance is at least |x - y|^2 (1 - eps) less any
 * underflow (1e-30 covers it), so it would not be below m: skipping the pair
 * changes nothing, and every result is the tile loop's, bit for bit.  The
 * test is made in D's integers, with e_y replaced by the largest e of the
 * phase's centres (emax), squared and rounded against skipping:
 * D >= ceil(((e_x + sqrt((m + 1e-30) / (1 - eps)) + emax) / s')^2), one
 * threshold per item, renewed whenever its m falls.
 */
static inline int32_t
cs_threshold(const cs_ctx *cx, int64_t i, double m)
{
	double		r = (cx->E[i] + sqrt((m + 1e-30) / (1.0 - cx->eps)) + cx->emax) /
		(cx->scale * (1.0 - 1e-12));
	double		t = r * r * (1.0 + 1e-12);

	/* D never exceeds 254^2 CS_SCREEN_MAX_D < INT32_MAX: no skip */
	return t < (double) INT32_MAX ? (int32_t) ceil(t) : INT32_MAX;
}

/*
 * cs_screened_rows: cs_phase_rows with the screen, 16 items at a time (a
 * group of the interleaved codes; par_rows's blocks are whole groups).
 */
static void
cs_screened_rows(const cs_ctx *cx, cs_best *best, int64_t i0, int64_t i1)
{
	size_t		dp = (size_t) cx->dp;
	size_t		gbytes = (size_t) 16 * (size_t) cx->dq;

	for (int64_t g0 = i0; g0 < i1; g0 += 16)
	{
		double		m[16];
		int32_t		thr[16];
		int			any = 0;

		for (int l = 0; l < 16; l++)
		{
			int64_t		i = g0 + l;

			if (i >= i1 || cx->mind[i] < 0.0)
			{
				thr[l] = INT32_MIN; /* no item, or picked: never a candidate */
				m[l] = -1.0;
				continue;
			}
			m[l] = cx->reset ? INFINITY : cx->mind[i];
			thr[l] = cs_threshold(cx, i, m[l]);
			any = 1;
		}
		if (!any)
			continue;
		for (int64_t j = 0; j < cx->nc; j += 8)
		{
			const int8_t *qc[8];
			uint16_t	mask[8];
			int			nq = (int) (cx->nc - j < 8 ? cx->nc - j : 8);

			for (int c = 0; c < nq; c++)
				qc[c] = cx->QC + (size_t) (j + c) * (size_t) cx->dq;
			cx->screen(cx->T + (size_t) (g0 / 16) * gbytes, cx->dq, qc, cx->KC + j, nq,
					   cx->N + g0, thr, mask);
			for (int c = 0; c < nq; c++)
				for (unsigned bits = mask[c]; bits; bits &= bits - 1)
				{
					int			l = __builtin_ctz(bits);
					int64_t		i = g0 + l;
					const float *x = cx->X + (size_t) i * dp;
					double		before = m[l];

					cx->tile(&x, 1, cx->C + (size_t) (j + c) * dp, 1, cx->dp, &m[l]);
					if (m[l] < before)
						thr[l] = cs_threshold(cx, i, m[l]);
				}
		}
		for (int l = 0; l < 16 && g0 + l < i1; l++)
		{
			int64_t		i = g0 + l;

			if (m[l] < 0.0)
				continue;
			cx->mind[i] = m[l];
			if (cs_better(m[l], i, best))
			{
				best->d2 = m[l];
				best->idx = i;
			}
		}
	}
}

/*
 * cs_phase_rows is par_rows's work function: lower mind over the blocks
 * [row0, row1) by the phase's centres and note the thread's best.  Without
 * the screen, the unpicked items of a block go through the tile loop
 * CS_TILE_POINTS at a time.
 */
static bool
cs_phase_rows(void *arg, int tid, int row0, int row1)
{
	cs_ctx	   *cx = arg;
	cs_best    *best = &cx->best[tid];
	int64_t		i0 = (int64_t) row0 * CS_BLOCK;
	int64_t		i1 = (int64_t) row1 * CS_BLOCK;
	size_t		dp = (size_t) cx->dp;
	int64_t		idx[CS_TILE_POINTS];
	const float *xs[CS_TILE_POINTS];
	double		m[CS_TILE_POINTS];
	int			np = 0;

	if (i1 > cx->n)
		i1 = cx->n;
	if (cx->screen)
	{
		cs_screened_rows(cx, best, i0, i1);
		return true;
	}
	for (int64_t i = i0; i <= i1; i++)
	{
		if (i < i1)
		{
			if (cx->mind[i] < 0.0)
				continue;		/* picked */
			idx[np] = i;
			xs[np] = cx->X + (size_t) i * dp;
			m[np] = cx->reset ? INFINITY : cx->mind[i];
			np++;
		}
		if (np == CS_TILE_POINTS || (i == i1 && np > 0))
		{
			cx->tile(xs, np, cx->C, cx->nc, cx->dp, m);
			for (int p = 0; p < np; p++)
			{
				cx->mind[idx[p]] = m[p];
				if (cs_better(m[p], idx[p], best))
				{
					best->d2 = m[p];
					best->idx = idx[p];
				}
			}
			np = 0;
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
		 const float *C, const int8_t *QC, const double *EC, const int32_t *KC, int64_t nc,
		 bool reset, double *d2)
{
	cs_best    *pick = NULL;

	cx->C = C;
	cx->QC = QC;
	cx->EC = EC;
	cx->KC = KC;
	cx->emax = 0.0;
	for (int64_t j = 0; EC && j < nc; j++)
		if (EC[j] > cx->emax)
			cx->emax = EC[j];
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
	float	   *Xp = NULL;			/* X and L padded, when d is not a multiple of 16 */
	float	   *Lp = NULL;
	uint8_t    *T = NULL;			/* the screen's codes, error norms, |q|^2 */
	double	   *E = NULL;
	int32_t    *N = NULL;
	int8_t	   *QL = NULL;			/* of the labelled rows, the mean or a pick */
	double	   *EL = NULL;
	int32_t    *KL = NULL;
	int			dp;
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
	memset(&cx, 0, sizeof(cx));

	dp = (d + 15) / 16 * 16;
	if (dp != d)
	{
		/* rows padded with zeros to 16 floats: the tile loops have no tail */
		Xp = mlops_alloc(a, (size_t) n * (size_t) dp * sizeof(float));
		if (m > 0)
			Lp = mlops_alloc(a, (size_t) m * (size_t) dp * sizeof(float));
		if (Xp == NULL || (m > 0 && Lp == NULL))
		{
			errbuf_printf(err, errlen, "out of memory for core-set selection of %lld items", (long long) n);
			goto done;
		}
		for (int64_t i = 0; i < n; i++)
		{
			memcpy(Xp + (size_t) i * (size_t) dp, X + (size_t) i * (size_t) d, (size_t) d * sizeof(float));
			memset(Xp + (size_t) i * (size_t) dp + d, 0, (size_t) (dp - d) * sizeof(float));
		}
		for (int64_t i = 0; i < m; i++)
		{
			memcpy(Lp + (size_t) i * (size_t) dp, L + (size_t) i * (size_t) d, (size_t) d * sizeof(float));
			memset(Lp + (size_t) i * (size_t) dp + d, 0, (size_t) (dp - d) * sizeof(float));
		}
	}
	cx.X = Xp ? Xp : X;
	cx.n = n;
	cx.dp = dp;
	cx.tile = cs_pick_tile();
	cx.mind = mlops_alloc(a, (size_t) n * sizeof(double));
	cx.best = mlops_alloc(a, (size_t) nbest * sizeof(cs_best));
	if (m == 0)
		mean = mlops_alloc(a, (size_t) dp * sizeof(float));
	if (cx.mind == NULL || cx.best == NULL || (m == 0 && mean == NULL))
	{
		errbuf_printf(err, errlen, "out of memory for core-set selection of %lld items", (long long) n);
		goto done;
	}
	for (int64_t i = 0; i < n; i++)
		cx.mind[i] = INFINITY;

	/*
	 * The screen, where this processor runs one: 8-bit codes of every row
	 * (memory: n + m bytes per dimension), with one scale for all of them.
	 */
	if (dp <= CS_SCREEN_MAX_D && (cx.screen = cs_screen_pick()) != NULL)
	{
		double		maxabs = 0.0;
		int64_t		nl = m > 0 ? m : 1;	/* the labelled rows, or the mean */
		int64_t		ng = (n + 15) / 16 * 16;

		cx.dq = (dp + CS_SCREEN_STEP - 1) / CS_SCREEN_STEP * CS_SCREEN_STEP;
		T = mlops_alloc(a, cs_screen_pool_bytes(n, cx.dq));
		E = mlops_alloc(a, (size_t) ng * sizeof(double));
		N = mlops_alloc(a, (size_t) ng * sizeof(int32_t));
		QL = mlops_alloc(a, (size_t) nl * (size_t) cx.dq);
		EL = mlops_alloc(a, (size_t) nl * sizeof(double));
		KL = mlops_alloc(a, (size_t) nl * sizeof(int32_t));
		if (T == NULL || E == NULL || N == NULL || QL == NULL || EL == NULL || KL == NULL)
		{
			errbuf_printf(err, errlen, "out of memory for core-set selection of %lld items", (long long) n);
			goto done;
		}
		for (size_t k = 0; k < (size_t) n * (size_t) d; k++)
			if (fabs((double) X[k]) > maxabs)
				maxabs = fabs((double) X[k]);
		for (size_t k = 0; k < (size_t) m * (size_t) d; k++)
			if (fabs((double) L[k]) > maxabs)
				maxabs = fabs((double) L[k]);
		cx.scale = cs_screen_scale(maxabs);
		cs_screen_pool(cx.X, n, dp, cx.scale, cx.dq, T, E, N);
		if (m > 0)
			cs_screen_rows(Lp ? Lp : L, m, dp, cx.scale, cx.dq, QL, EL, KL);
		cx.T = T;
		cx.E = E;
		cx.N = N;
		cx.eps = ((double) dp / 16.0 + 8.0) * ldexp(1.0, -23);
	}

	if (m > 0)
		p = cs_phase(&cx, &exec, nblocks, nbest, Lp ? Lp : L, QL, EL, KL, m, false, &d2);
	else
	{
		/* no labelled set: start from the item farthest from the pool mean */
		double	   *sum = (double *) cx.mind;	/* d <= n doubles are free until the phase */

		if (d > n)
			sum = mlops_alloc(a, (size_t) d * sizeof(double));
		if (sum == NULL)
		{
			errbuf_printf(err, errlen, "out of memory for core-set selection of %lld items", (long long) n);
			goto done;
		}
		for (int k = 0; k < d; k++)
			sum[k] = 0.0;
		for (int64_t i = 0; i < n; i++)
			for (int k = 0; k < d; k++)
				sum[k] += X[(size_t) i * (size_t) d + (size_t) k];
		for (int k = 0; k < dp; k++)
			mean[k] = k < d ? (float) (sum[k] / (double) n) : 0.0f;
		if (sum != (double *) cx.mind)
			mlops_free(a, sum);
		for (int64_t i = 0; i < n; i++)
			cx.mind[i] = INFINITY;
		if (cx.screen)
			cs_screen_rows(mean, 1, dp, cx.scale, cx.dq, QL, EL, KL);
		p = cs_phase(&cx, &exec, nblocks, nbest, mean, QL, EL, KL, 1, false, &d2);
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
		{
			int32_t		kp = 0;

			if (cx.screen)
			{
				/* the pick's codes (QL is free after the first phase) */
				int32_t		sq = 0;

				cs_screen_row(T, cx.dq, p, QL);
				for (int k = 0; k < cx.dq; k++)
					sq += QL[k];
				kp = N[p] + 256 * sq;
			}
			/* with no labelled set, the mean's distances are forgotten after pick 1 */
			p = cs_phase(&cx, &exec, nblocks, nbest, cx.X + (size_t) p * (size_t) dp,
						 QL, E ? E + p : NULL, &kp, 1, m == 0 && t == 0, &d2);
		}
	}
	rc = 0;

done:
	mlops_free(a, mean);
	mlops_free(a, cx.best);
	mlops_free(a, cx.mind);
	mlops_free(a, Lp);
	mlops_free(a, Xp);
	mlops_free(a, T);
	mlops_free(a, E);
	mlops_free(a, N);
	mlops_free(a, QL);
	mlops_free(a, EL);
	mlops_free(a, KL);
	return rc;
}
