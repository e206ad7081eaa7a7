/*
 * blobs_private.h
 *	  What blobs.c and blobs_prune.c share (see blobs.h for the contract).
 *	  Pure C: no PostgreSQL headers.
 */
#ifndef MLOPS_BLOBS_PRIVATE_H
#define MLOPS_BLOBS_PRIVATE_H

#include "detect/blobs.h"

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
