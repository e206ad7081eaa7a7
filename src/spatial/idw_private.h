/*
 * idw_private.h
 *	  What the invdist files share (private to them, not an API): the
 *	  gridder and the double loop (interpolate.c), the SIMD loops
 *	  (idw_simd.c) and the far field (idw_farfield.c).  Pure C: no
 *	  PostgreSQL headers.
 */
#ifndef MLOPS_IDW_PRIVATE_H
#define MLOPS_IDW_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "spatial/interpolate.h"
#include "spatial/parallel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IDW_X86 1
#include <immintrin.h>

/*
 * The SIMD code is compiled for its instruction set with these target
 * attributes (no -march flags: the CPU is asked at run time), and its
 * helpers are always inlined into functions of the same target.
 */
#define IDW_T512 __attribute__((target("avx512f")))
#define IDW_T256 __attribute__((target("avx2,fma")))
#define IDW_INLINE static inline __attribute__((always_inline))
#endif

/*
 * The SIMD invdist path leaves to the double path every cell with a point
 * at d^2 + s^2 below this, in cell units (0.01 cell): there the float
 * rounding of dx would weigh too much.
 */
#define IDW_NEAR_R2 1e-4

/*
 * The far field of invdist (powers 1 to 4, SIMD path; see idw_farfield.c):
 * tiles of IDW_FF_TILE x IDW_FF_TILE cells; the points at least IDW_FF_FAR
 * half-sides from a tile's centre are summed exactly (in double) at
 * IDW_FF_NODES x IDW_FF_NODES Chebyshev points of the tile and
 * interpolated to its cells; the others, in the SIMD loop, cell by cell.
 * Used when there are at least IDW_FF_MIN_POINTS points and
 * IDW_FF_MIN_TILES tiles.
 */
#define IDW_FF_TILE		64
#define IDW_FF_NODES	16
#define IDW_FF_FAR		6.0
#define IDW_FF_MIN_POINTS 256
#define IDW_FF_MIN_TILES 16

/* How a weight is computed from r2 = d^2 + s^2. */
typedef enum idw_wclass
{
	IDW_W_P2,					/* 1 / r2 */
	IDW_W_P1,					/* 1 / sqrt(r2) */
	IDW_W_P3,					/* 1 / (r2 sqrt(r2)) */
	IDW_W_P4,					/* 1 / r2^2 */
	IDW_W_POW					/* r2^-(power / 2) */
} idw_wclass;

/* What the SIMD invdist loops read, shared by all threads. */
typedef struct idw_simd_in
{
	float	   *xh;				/* X = (x - ulx) / sx - 0.5 rounded to a multiple of 2^-k */
	float	   *xl;				/* X - xh */
	float	   *vf;				/* the values */
	float		h;				/* power / 2 */
	float		hh;				/* h rounded to a multiple of 2^-11: hh * exponent is exact */
	float		hl;				/* h - hh */
} idw_simd_in;

/* One invdist computation (idw_all), shared by its threads. */
typedef struct idw_all_ctx
{
	const interp_points *p;
	const interp_grid *g;
	double		nodata;
	double		s2;				/* smoothing^2 */
	double		half;			/* power / 2 */
	idw_wclass	cls;
	bool		can_snap;		/* GDAL's power-2-with-smoothing path never snaps */
	double		cand_r2;		/* points with dy^2 + s^2 below this need a look per cell */
	idw_simd	simd;			/* the loop that runs: IDW_SIMD_NONE, _AVX2 or _AVX512 */
	idw_simd_in vs;
	double		inv_sx2;		/* 1 / sx^2: real to cell units, squared */
	/* per-thread scratch: slice tid of each, nstride or wstride elements */
	size_t		nstride;		/* n + PAR_SCRATCH_PAD */
	size_t		wstride;		/* width + PAR_SCRATCH_PAD */
	double	   *rowdy2;			/* n: (y - cy)^2 + s^2 of the row */
	size_t	   *cand;			/* n: candidates of the row, input order */
	float	   *dy2f;			/* n (SIMD): rowdy2 in cell units */
	int		   *redo;			/* width (SIMD): cells to recompute in double */
	unsigned char *mark;		/* width (SIMD): cell already in redo */
	/* the far field (tiles), when used */
	bool		tiles;
	double		ff_node[IDW_FF_NODES];	/* Chebyshev points on [-1, 1] */
	double		ff_phi[IDW_FF_TILE][IDW_FF_NODES];	/* their Lagrange bases at the cells */
	double		ff_scale;		/* real units to cell units: 1 / sx */
	size_t	   *near;			/* n: a tile's near points (input indices) */
	float	   *near_f;			/* 3n: their xh, xl and value */
	double	   *far_d;			/* 3n: the far points' x, y, value (cell units) */
	double	   *ff_buf;			/* FF_BUF_LEN: node sums, half-interpolated and cell sums */
	double	   *out;
} idw_all_ctx;

/* Doubles of per-thread far-field scratch: N, D; two of 16 x 64; two tiles. */
#define FF_BUF_LEN (2 * IDW_FF_NODES * IDW_FF_NODES + 2 * IDW_FF_NODES * IDW_FF_TILE + \
					2 * IDW_FF_TILE * IDW_FF_TILE + PAR_SCRATCH_PAD)

/*
 * idw_simd_level returns the best instruction set for the invdist loop on
 * this CPU, capped by cap; idw_simd_prepare decides whether the SIMD loop
 * may run for c's input and fills c->vs (idw_simd.c).
 */
extern idw_simd idw_simd_level(idw_simd cap);
extern bool idw_simd_prepare(idw_all_ctx *c, double power, bool *nomem);

/* idw_ff_init fills c's Chebyshev nodes and Lagrange bases (idw_farfield.c). */
extern void idw_ff_init(idw_all_ctx *c);

#ifdef IDW_X86

/*
 * idw_row_avx512 and idw_row_avx2 compute the width cells of a row over
 * the n points of s (dy2: their dy^2 + s^2 in cell units); idw_tile_row_avx2
 * computes cells [col0, col1) (col0 a multiple of 16) adding the far
 * field's sums ffn/ffd, for powers 1 to 4 (idw_simd.c).
 */
extern IDW_T512 void idw_row_avx512(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
									int width, double nodata, double *orow);
extern IDW_T256 void idw_row_avx2(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
								  int width, double nodata, double *orow);
extern IDW_T256 void idw_tile_row_avx2(idw_wclass cls, const idw_simd_in *s, const float *dy2,
									   size_t n, int col0, int col1, double nodata, double *orow,
									   const double *ffn, const double *ffd);

/*
 * idw_ff_tile computes the cells of one tile, rows [tr0, tr1) and columns
 * [tc0, tc1), with thread tid's scratch (idw_farfield.c).
 */
extern void idw_ff_tile(const idw_all_ctx *c, int tid, int tr0, int tr1, int tc0, int tc1);
#endif

#endif							/* MLOPS_IDW_PRIVATE_H */
