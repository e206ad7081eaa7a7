/*
 * alloc.h
 *	  The allocator that kernels take instead of calling malloc or palloc
 *	  themselves.  Glue passes one backed by palloc (which throws on failure
 *	  and never returns NULL); unit tests and fuzzers pass one backed by
 *	  malloc.  Kernels check for NULL anyway and report an allocation error.
 */
#ifndef MLOPS_ALLOC_H
#define MLOPS_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

typedef struct mlops_allocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} mlops_allocator;

static inline void *
mlops_alloc(const mlops_allocator *a, size_t size)
{
	return a->alloc(a->ctx, size ? size : 1);
}

static inline void *
mlops_realloc(const mlops_allocator *a, void *ptr, size_t size)
{
	return ptr ? a->realloc(a->ctx, ptr, size ? size : 1) : a->alloc(a->ctx, size ? size : 1);
}

static inline void
mlops_free(const mlops_allocator *a, void *ptr)
{
	if (ptr)
		a->free(a->ctx, ptr);
}

/* An allocator over malloc, for unit tests, fuzzers and benchmarks. */
static inline void *
mlops_malloc_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static inline void *
mlops_malloc_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	return realloc(ptr, size);
}

static inline void
mlops_malloc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

#define MLOPS_MALLOC_ALLOCATOR \
	{ mlops_malloc_alloc, mlops_malloc_realloc, mlops_malloc_free, NULL }

#endif							/* MLOPS_ALLOC_H */
