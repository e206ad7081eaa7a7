/*
 * blobs_private.h
 *	  What blobs.c, blobs_plan.c and blobs_prune.c share (see blobs.h for
 *	  the contract): one call's resolved state and the set-up steps.
 *	  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_BLOBS_PRIVATE_H
#define MLOPS_BLOBS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "detect/blobs.h"

/* The inner loops of blobs_conv.h, one variant per instruction set. */
typedef void (*ColPassFn) (const double *, int, const double *, const double *,
						   double *, double *, ptrdiff_t, int64_t);
/*
 * Where row_pass puts a group of L rows of a layer, and what it notes on the
 * way: out (rows ostride apart), with prev not NULL (DoG) the layer is
 * (prev - this) * sf and this replaces prev; with flags not NULL, the
 * running extremes mn, mx of the values in the image (the first nrows rows
 * of the group, columns before ncols) and flags[b] = 1 when a value of
 * column block b is > lower, 0 otherwise.
 */
typedef struct BlobRowOut
{
	double	   *out;
	ptrdiff_t	ostride;
	double	   *prev;
	double		sf;
	unsigned char *flags;
	double		lower;
	int			nrows;
	int64_t		ncols;
	double		mn,
				mx;
} BlobRowOut;

typedef void (*RowPassFn) (const double *, const double *, const double *, const double *,
						   int, double, BlobRowOut *, int64_t);
typedef void (*DohRowFn) (const double *, const ptrdiff_t (*)[4], double, double *, int64_t);

/* A candidate peak: its cube voxel and value. */
typedef struct BlobCand
{
	int64_t		r,
				c;
	int64_t		k;
	double		v;
} BlobCand;

/* Everything one call needs, resolved. */
typedef struct BlobCtx
{
	const double *img;
	int64_t		rows,
				cols;
	BlobMethod	method;
	BlobOptions o;				/* with the defaults filled in */
	int			nlayers;		/* cube layers */
	double	   *sig;			/* the layers' sigmas (DoG: nlayers + 1 Gaussians) */
	int			nsig;			/* entries in sig */
	int		   *rad;			/* LoG/DoG: Gaussian radius per entry of sig */
	double	  **w0,
			  **w2;				/* LoG/DoG: kernels (order 0, order 2) per sigma */
	int			halo;			/* input halo around the extended tile */
	int64_t		th,
				tw;				/* core tile size */
	ColPassFn	col_pass;
	RowPassFn	row_pass;
	DohRowFn	doh_row;
	int			lanes;			/* doubles per vector of the variant chosen (2, 4, 8) */
	const mlops_allocator *a;
	char	   *err;
	size_t		errlen;

	/* running statistics and candidates */
	double		gmin,
				gmax;
	double		lower;			/* candidates must be > lower */
	BlobCand   *cand;
	int64_t		ncand,
				capcand;

	/* scratch */
	double	   *cube;
	int64_t		cstride,		/* the current tile's cube: row stride, layer size */
				cplane;
	unsigned char *flags;		/* LoG/DoG: per layer, group of rows and block of
								 * columns, whether a value is above tlower */
	int64_t		fng,
				fnb;			/* groups and blocks per layer in flags */
	double		tlower;			/* the current tile's bound for candidates */
	int64_t    *cidx;			/* LoG/DoG: the input column of each buffer
								 * column, then the input offset of each row */
	double	   *buf;
	double	   *t1,
			   *t2,
			   *t3;
	void	   *raw[6];			/* the allocations behind cube, buf, t1, t2, t3, cidx */
	/* DoH's integral image carries */
	double	   *tcarry,
			   *tnext,
			   *scarry,
			   *snext;
} BlobCtx;

/* blobs_plan.c: the set-up, each -1 with a reason in x->err on failure. */
extern void *blob_xalloc(BlobCtx *x, size_t n);
extern int	blob_resolve_options(BlobCtx *x, const BlobOptions *opt);
extern int	blob_make_scales(BlobCtx *x);
extern int	blob_plan_tiles(BlobCtx *x);
extern void blob_ctx_free(BlobCtx *x);

/*
 * blob_prune is skimage's _prune_blobs over b[0..*n) given in
 * peak_local_max's order: of two blobs overlapping by more than overlap
 * (skimage's disk overlap fraction) the smaller goes, pairs visited in the
 * order skimage visits them; survivors keep their order and *n is
 * updated.  -1 with a reason in err when out of memory or when there are
 * more than max_bytes / 64 pairs.
 */
extern int	blob_prune(Blob *b, int64_t *n, double overlap, size_t max_bytes,
					   const mlops_allocator *a, char *err, size_t errlen);

#endif							/* MLOPS_BLOBS_PRIVATE_H */
