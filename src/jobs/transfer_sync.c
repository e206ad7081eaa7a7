/*
 * transfer_sync.c
 *	  Kernel, part of transfer.c's family: the pool's sync threads.  A
 *	  download whose body is complete must still be made durable before it
 *	  is reported: fsync of "<dest>.part", the checksum, the rename to
 *	  "<dest>" and an fsync of the directory (xfer_complete_file in
 *	  transfer_download.c).  Those two fsyncs wait for the disk, often
 *	  milliseconds each, and done one after another on the worker's thread
 *	  they were most of the time of many small downloads: the worker sat in
 *	  fsync while libcurl's other transfers waited.  So a finished body is
 *	  handed to one of SYNC_THREADS threads, which sync and rename it in
 *	  parallel with each other and with libcurl; transfer_poll reports the
 *	  transfer only once its thread is done, so nothing is reported done
 *	  before its file is durable, exactly as before.
 *
 *	  Ownership: while an item is queued or being synced (item->syncing,
 *	  written by the caller's thread only), the sync thread alone touches
 *	  its file, its directory descriptor and its result; the caller's
 *	  thread reads only its job id, byte count and list links, and cancel
 *	  refuses it (its body is complete: it is reported like a finished
 *	  transfer).  The sync thread never sets item->finished: the caller's
 *	  thread does, when it takes the item back (xfer_sync_collect).  Each
 *	  thread runs with every signal blocked and ends its work with
 *	  curl_multi_wakeup, so that a transfer_poll waiting on the sockets
 *	  returns.  Without threads (they could not be started) the sync runs
 *	  inline, as it always did.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/*
 * sync_main is one sync thread: it takes the oldest queued item, completes
 * its file, and moves it to the done list, until told to stop with the
 * queue empty.
 */
static void *
sync_main(void *arg)
{
	transfer_pool *pool = arg;
	sync_threads *s = &pool->sync;

	pthread_mutex_lock(&s->lock);
	for (;;)
	{
		transfer_item *item;

		while (s->queue_head == NULL && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->queue_head == NULL)
			break;
		item = s->queue_head;
		s->queue_head = item->sync_next;
		if (s->queue_head == NULL)
			s->queue_tail = NULL;
		pthread_mutex_unlock(&s->lock);

		xfer_complete_file(item);

		pthread_mutex_lock(&s->lock);
		item->sync_next = s->done;
		s->done = item;
		curl_multi_wakeup(pool->multi);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * xfer_sync_start starts the pool's sync threads with every signal
 * blocked.  Returns how many started (0: syncs run inline).
 */
int
xfer_sync_start(transfer_pool *pool)
{
	sync_threads *s = &pool->sync;
	sigset_t	all;
	sigset_t	old;

	memset(s, 0, sizeof(*s));
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return 0;
	if (pthread_cond_init(&s->wake, NULL) != 0)
	{
		pthread_mutex_destroy(&s->lock);
		return 0;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (s->nthreads < SYNC_THREADS &&
		   pthread_create(&s->threads[s->nthreads], NULL, sync_main, pool) == 0)
		s->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (s->nthreads == 0)
	{
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
	}
	return s->nthreads;
}

/*
 * xfer_sync_stop lets the threads complete every queued item and joins
 * them; the items stay on the done list for xfer_sync_collect.
 */
void
xfer_sync_stop(transfer_pool *pool)
{
	sync_threads *s = &pool->sync;

	if (s->nthreads == 0)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
}

/*
 * xfer_sync_queue hands an item whose body is complete to the sync
 * threads; false when there are none (the caller completes it inline).
 */
bool
xfer_sync_queue(transfer_pool *pool, transfer_item *item)
{
	sync_threads *s = &pool->sync;

	if (s->nthreads == 0)
		return false;
	item->syncing = true;
	item->sync_next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->queue_tail != NULL)
		s->queue_tail->sync_next = item;
	else
		s->queue_head = item;
	s->queue_tail = item;
	s->pending++;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/*
 * xfer_sync_collect takes back the items the threads are done with: they
 * are finished, their results final.  Returns true when it took any.
 */
bool
xfer_sync_collect(transfer_pool *pool)
{
	sync_threads *s = &pool->sync;
	transfer_item *item;

	if (s->pending == 0)
		return false;
	if (s->nthreads > 0)
		pthread_mutex_lock(&s->lock);
	item = s->done;
	s->done = NULL;
	for (transfer_item *i = item; i != NULL; i = i->sync_next)
		s->pending--;
	if (s->nthreads > 0)
		pthread_mutex_unlock(&s->lock);
	if (item == NULL)
		return false;
	while (item != NULL)
	{
		transfer_item *next = item->sync_next;

		item->sync_next = NULL;
		item->syncing = false;
		item->finished = true;
		item = next;
	}
	return true;
}

/*
 * xfer_sync_pending: items queued or being synced, not yet taken back.
 * Read by the caller's thread only (it alone changes the count).
 */
int
xfer_sync_pending(transfer_pool *pool)
{
	return pool->sync.pending;
}
