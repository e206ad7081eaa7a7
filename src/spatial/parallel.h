/*
 * parallel.h
 *	  Kernel: run a grid computation over rows with a few threads.  Pure C,
 *	  no PostgreSQL headers, so it is safe inside a backend as long as the
 *	  work function never calls PostgreSQL: the threads it starts block every
 *	  signal, and only the calling thread runs the cancel callback (the glue
 *	  checks for interrupts there and raises them after par_rows returns).
 */
#ifndef MLOPS_PARALLEL_H
#define MLOPS_PARALLEL_H

#include <stdbool.h>

#include "spatial/grid.h"

/*
 * Per-thread scratch slices are this many elements longer than needed, so
 * that two threads never write to the same cache line.
 */
#define PAR_SCRATCH_PAD 16

/* The most threads par_rows starts, whatever the caller asks. */
#define PAR_MAX_THREADS 64

/*
 * par_rows calls fn(ctx, tid, row0, row1) for consecutive chunks of rows
 * [row0, row1) covering [0, nrows), chunk rows at a time (<= 0: chosen),
 * from up to exec->threads threads; tid in [0, threads) identifies the
 * thread so fn can use per-thread scratch (par_threads tells how many to
 * allocate).  fn returns false on out of memory, which stops the work.
 * Returns INTERP_OK, INTERP_NOMEM or INTERP_CANCELLED.  When a thread
 * cannot be started the work runs on fewer.  exec may be NULL (one thread,
 * no cancel).
 */
typedef bool (*par_fn) (void *ctx, int tid, int row0, int row1);

extern interp_status par_rows(const interp_exec *exec, int nrows, int chunk, par_fn fn, void *ctx);

/* par_threads returns how many tids par_rows may use with exec, for nrows rows (>= 1). */
extern int	par_threads(const interp_exec *exec, int nrows);

#endif							/* MLOPS_PARALLEL_H */
