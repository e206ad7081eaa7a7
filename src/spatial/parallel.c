/*
 * parallel.c
 *	  Kernel: rows of a grid shared among a few threads (see parallel.h).
 *
 *	  Chunks of rows are taken from an atomic counter, so fast and slow rows
 *	  balance themselves.  The calling thread works too; between its chunks
 *	  it asks the cancel callback, and a stop is seen by the other threads
 *	  before their next chunk.  Threads start with every signal blocked, so
 *	  the backend's handlers only ever run in the calling thread.
 */
#define _POSIX_C_SOURCE 200809L

#include "spatial/parallel.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct par_state
{
	par_fn		fn;
	void	   *ctx;
	int			nrows;
	int			chunk;
	atomic_int	next;			/* first row not yet handed out */
	atomic_int	stop;			/* 0: go on; 1: out of memory; 2: cancelled */
} par_state;

typedef struct par_thread
{
	par_state  *st;
	int			tid;
} par_thread;

/*
 * par_work runs chunks for thread tid until the rows run out or a stop is
 * set; the calling thread (tid 0) also asks exec's cancel callback.
 */
static void
par_work(par_state *st, int tid, const interp_exec *exec)
{
	for (;;)
	{
		int			row0;

		if (atomic_load_explicit(&st->stop, memory_order_relaxed) != 0)
			return;
		if (exec != NULL && exec->cancel != NULL && exec->cancel(exec->cancel_arg))
		{
			atomic_store(&st->stop, 2);
			return;
		}
		row0 = atomic_fetch_add(&st->next, st->chunk);
		if (row0 >= st->nrows)
			return;
		if (!st->fn(st->ctx, tid, row0, row0 + st->chunk < st->nrows ? row0 + st->chunk : st->nrows))
		{
			int			expected = 0;

			atomic_compare_exchange_strong(&st->stop, &expected, 1);
			return;
		}
	}
}

static void *
par_main(void *arg)
{
	par_thread *t = arg;

	par_work(t->st, t->tid, NULL);
	return NULL;
}

int
par_threads(const interp_exec *exec, int nrows)
{
	int			n = exec != NULL ? exec->threads : 1;

	if (n > PAR_MAX_THREADS)
		n = PAR_MAX_THREADS;
	if (n > nrows)
		n = nrows;
	return n < 1 ? 1 : n;
}

interp_status
par_rows(const interp_exec *exec, int nrows, int chunk, par_fn fn, void *ctx)
{
	par_state	st;
	pthread_t	threads[PAR_MAX_THREADS];
	par_thread	args[PAR_MAX_THREADS];
	int			nthreads = par_threads(exec, nrows);
	int			started = 0;
	int			stop;

	if (nrows <= 0)
		return INTERP_OK;
	if (chunk <= 0)
	{
		/* about 16 chunks a thread, so uneven rows balance, but at least 1 row */
		chunk = nrows / (nthreads * 16);
		if (chunk < 1)
			chunk = 1;
	}
	st.fn = fn;
	st.ctx = ctx;
	st.nrows = nrows;
	st.chunk = chunk;
	atomic_init(&st.next, 0);
	atomic_init(&st.stop, 0);

	if (nthreads > 1)
	{
		sigset_t	all,
					old;

		/* the new threads inherit a mask that blocks everything */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (int i = 1; i < nthreads; i++)
		{
			args[started].st = &st;
			args[started].tid = i;
			if (pthread_create(&threads[started], NULL, par_main, &args[started]) != 0)
				break;
			started++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}

	par_work(&st, 0, exec);

	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	stop = atomic_load(&st.stop);
	if (stop == 1)
		return INTERP_NOMEM;
	if (stop == 2)
		return INTERP_CANCELLED;
	return INTERP_OK;
}
