/*-------------------------------------------------------------------------
 *
 * palloc_alloc.c
 *	  Glue: the allocator every piece of glue hands to the kernels — palloc
 *	  in the current memory context, huge allocations allowed, errors
 *	  thrown (so it never returns NULL).  Shared by metrics, spatial,
 *	  detection, datasets and active learning; none of them depends on
 *	  another for it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "util/alloc.h"
#include "pg_mlops.h"

static void *PallocAlloc(void *ctx, size_t size);
static void *PallocRealloc(void *ctx, void *ptr, size_t size);
static void PallocFree(void *ctx, void *ptr);

static const mlops_allocator PallocAllocator = {PallocAlloc, PallocRealloc, PallocFree, NULL};

/*
 * mlops_palloc_allocator returns the allocator kernels get from glue: palloc
 * in the current memory context, huge allocations allowed, errors thrown.
 */
const mlops_allocator *
mlops_palloc_allocator(void)
{
	return &PallocAllocator;
}

/* PallocAlloc: palloc, huge allocations allowed. */
static void *
PallocAlloc(void *ctx, size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_HUGE);
}

/* PallocRealloc: repalloc, huge allocations allowed. */
static void *
PallocRealloc(void *ctx, void *ptr, size_t size)
{
	return repalloc_huge(ptr, size);
}

/* PallocFree: pfree. */
static void
PallocFree(void *ctx, void *ptr)
{
	pfree(ptr);
}
