/*
 * blobs.h
 *	  Kernel: blob detection on a 2-D image by determinant of Hessian (DoH),
 *	  Laplacian of Gaussian (LoG) or difference of Gaussians (DoG), giving
 *	  the blobs (row, col, sigma) that scikit-image 0.19.3's blob_doh,
 *	  blob_log and blob_dog give for the same options (scalar sigmas, 2-D).
 *	  Pure C: no PostgreSQL headers.
 *
 *	  What is reproduced, step by step (see blobs.c for the details):
 *	  - the scale list (np.linspace / np.logspace; DoG's geometric list),
 *	  - the response cube: DoH from the integral image with skimage's box
 *		sums, bit for bit; LoG as scipy.ndimage.gaussian_laplace * sigma^2
 *		(negated) and DoG as differences of scipy gaussian_filter images,
 *		with scipy's kernels (truncate 4.0, radius int(4 sigma + 0.5)),
 *		mode 'reflect', and scipy's order of summation (the weights come from
 *		libm's exp where numpy has its own, so LoG/DoG values may differ
 *		from skimage's in the last bits; equal inputs still give equal
 *		outputs everywhere, so plateaus stay plateaus),
 *	  - peak_local_max: a voxel is a peak when it equals the maximum of its
 *		3x3x3 neighbourhood (outside the cube counts as 0, scipy's
 *		mode='constant'), every plateau point included; no peak at all when
 *		the whole cube is constant and >= 0 (skimage's "trivial image");
 *		threshold = threshold, or the cube's minimum when there is none, then
 *		max(that, threshold_rel * cube max); exclude_border pixels off the
 *		WHOLE image border (rows and columns only, never scales),
 *	  - the peaks' order (numpy's argsort quicksort of -value over the peaks
 *		in C order) and _prune_blobs, whose result depends on the order of
 *		the pairs it visits, the iteration order of the Python set that
 *		cKDTree.query_pairs returns.  blobs.c reproduces it: the pairs in the
 *		order scipy 1.10's k-d tree finds them (its build with libstdc++'s
 *		nth_element and partition, its dual-tree traversal), inserted into a
 *		simulated CPython 3.11 set (tuple hash, probing, resizing), visited
 *		in table order.
 *
 *	  Memory.  The image is cut into tiles of tile_rows x tile_cols output
 *	  pixels (the "core"); each tile computes the response for its core plus
 *	  one pixel (the 3x3x3 peak test), from the input plus a halo (the
 *	  largest Gaussian radius int(4 max_sigma + 0.5) for LoG/DoG, int(3
 *	  max_sigma) + 1 for DoH's boxes), reflecting / clipping at the WHOLE
 *	  image's border only, so the tiled result equals the untiled one bit for
 *	  bit (DoH's integral image is carried across tiles in skimage's
 *	  summation order).  With th = tile rows + 2, tw = tile cols + 2 (for
 *	  LoG/DoG both rounded up to a multiple of the vector's lanes, at most
 *	  8), L layers (num_sigma; DoG: the number of differences), R the halo,
 *	  bw = tw + 2R rounded up the same way, peak memory in bytes is about
 *		DoH:      8 * (th * tw * L                 the tile's cube
 *					   + (th + 2R) * (tw + 2R)      the integral image
 *					   + 2 * cols + 2 * (th + 2R) + tw + 2R)   carries
 *		LoG, DoG: 8 * (th * tw * L                 the tile's cube
 *					   + (th + 2R) * bw             the tile's input
 *					   + 2 * th * bw                the column pass's outputs
 *					   + th * tw (DoG only)         the previous Gaussian
 *					   + bw + th + 2R)              index tables
 *	  plus 32 bytes per candidate peak (local maxima above a lower bound of
 *	  the threshold), and for the pruning about 100 bytes per blob plus up
 *	  to 150 bytes per blob pair within 2 sqrt(2) max_sigma of each other
 *	  (pair list and simulated set).  blob_detect refuses a tile plan over
 *	  max_bytes, and more pairs than max_bytes / 64.  The default tile is 126
 *	  rows (128 with the two rows the peak test needs: whole blocks of 8) by
 *	  the whole width (at most 4096 columns); 2048 x 2048 LoG with the
 *	  defaults (10 scales, R = 200) needs about 36 MB.
 */
#ifndef MLOPS_BLOBS_H
#define MLOPS_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef enum BlobMethod
{
	BLOB_DOH,					/* skimage.feature.blob_doh */
	BLOB_LOG,					/* skimage.feature.blob_log */
	BLOB_DOG					/* skimage.feature.blob_dog */
} BlobMethod;

/* The default limit on a tile plan's memory (see the header comment). */
#define BLOB_DEFAULT_MAX_BYTES	((size_t) 1 << 30)

typedef struct BlobOptions
{
	double		min_sigma;		/* NaN = the method's default (1) */
	double		max_sigma;		/* NaN = default: 30 (DoH), 50 (LoG, DoG) */
	int			num_sigma;		/* DoH, LoG: scales; 0 = default 10; DoG ignores it */
	double		sigma_ratio;	/* DoG only: NaN = default 1.6; must be > 1 */
	double		threshold;		/* with has_threshold: NaN = default 0.01 (DoH),
								 * 0.2 (LoG), 0.5 (DoG) */
	int			has_threshold;	/* 0 = threshold None (0.19.3 accepts it for all
								 * three): the cube's minimum is used instead */
	double		threshold_rel;	/* NaN = None; else the threshold is at least
								 * threshold_rel * the cube's maximum */
	double		overlap;		/* NaN = default 0.5; in [0, 1] */
	int			log_scale;		/* DoH, LoG: scales evenly spaced in log10 */
	int			exclude_border; /* LoG, DoG: 0 = False; n > 0 = no peak within n
								 * pixels of the image border.  skimage 0.19.3
								 * takes True as the int 1 (bool is an int), so
								 * True is 1 here; DoH has no such option (must
								 * be 0) */
	double		pred_threshold; /* NaN = off; else pixels < it are taken as 0 */
	int64_t		tile_rows;		/* core tile height; 0 = default (126) */
	int64_t		tile_cols;		/* core tile width; 0 = default (the whole
								 * width up to 4096) */
	size_t		max_bytes;		/* limit on the tile plan; 0 = BLOB_DEFAULT_MAX_BYTES */
	int			simd;			/* 0 = the best the CPU has, 1 = plain C, 2 = at most
								 * AVX (x86-64); all give the same bits */
} BlobOptions;

/*
 * One blob: its pixel (row, col), the sigma of the scale it was found at,
 * and value, the detector's response there as peak_local_max saw it (DoH
 * determinant, -LoG * sigma^2, or DoG difference / (sigma_ratio - 1)).
 */
typedef struct Blob
{
	double		row,
				col,
				sigma,
				value;
} Blob;

/* blob_options_default fills *o with method m's defaults, written out. */
extern void blob_options_default(BlobMethod m, BlobOptions *o);

/*
 * blob_detect finds the blobs of img (rows x cols doubles, row-major, all
 * finite) and returns them in *out (allocated with alloc, *n_out of them,
 * NULL when none), sorted by (row, col, sigma).  Returns 0, or -1 with a
 * reason in err: bad options (min_sigma > max_sigma, sigmas not positive or
 * not finite, num_sigma < 1, overlap outside [0, 1], sigma_ratio <= 1,
 * DoH with sigma < 1/3 or exclude_border), rows or cols < 1, a pixel not
 * finite, a tile plan over max_bytes, or no memory.  opt NULL = defaults.
 */
extern int	blob_detect(const double *img, int64_t rows, int64_t cols,
						BlobMethod method, const BlobOptions *opt,
						Blob **out, int64_t *n_out,
						const mlops_allocator *alloc, char *err, size_t errlen);

/*
 * blob_argsort_desc sets perm[0..n) to the order numpy 1.24's
 * np.argsort(-v) (kind 'quicksort', an introsort) gives, ties included;
 * exported for the parity driver's check of that claim.
 */
extern void blob_argsort_desc(const double *v, int64_t *perm, int64_t n);

#endif							/* MLOPS_BLOBS_H */
