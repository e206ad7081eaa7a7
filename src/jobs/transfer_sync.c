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
 *	  Directories are synced as a group: a renamed file waits on dir_wait,
 *	  and one thread at a time takes the whole list and syncs each distinct
 *	  directory in it once; files renamed meanwhile wait for its next round
 *	  (an fsync of a directory that started after their rename).  Five
 *	  hundred files downloaded into one folder cost some tens of directory
 *	  fsyncs, not five hundred.
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
 *
 *	  The same threads create new downloads' "<dest>.part" files
 *	  (xfer_create_part), before any sync: on ext4 an inode's allocation was
 *	  about a third of the worker's own CPU time in 500 downloads of 10 KiB,
 *	  and it held up the worker's SQL and libcurl.  transfer_start makes its
 *	  checks at once (a refusal is still its answer) and queues the creation;
 *	  while the item is opening the thread alone touches its file, directory
 *	  and result, as while syncing; transfer_poll adds the request to the
 *	  multi handle once the file exists, or reports the thread's refusal.  A
 *	  cancel meanwhile only marks the item; it ends when handed back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * sync_dirs syncs the directory of every item on the list, each distinct
 * directory (by device and inode) once.  Best effort, as it always was:
 * the files themselves are synced already.
 */
static void
sync_dirs(transfer_item *list)
{
	for (transfer_item *item = list; item != NULL; item = item->sync_next)
	{
		struct stat st;
		bool		seen = false;

		if (fstat(item->dir_fd, &st) != 0)
		{
			(void) fsync(item->dir_fd);
			continue;
		}
		for (transfer_item *prev = list; prev != item && !seen; prev = prev->sync_next)
		{
			struct stat pst;

			seen = fstat(prev->dir_fd, &pst) == 0 && pst.st_dev == st.st_dev && pst.st_ino == st.st_ino;
		}
		if (!seen)
			(void) fsync(item->dir_fd);
	}
}

/*
 * Waking the threads.  The caller's thread wakes one only when it queues an
 * item while both queues are empty; a thread that takes an item and leaves
 * more queued wakes the next (wake_next).  So the caller pays one futex wake
 * for a batch instead of one per item (they were 8% of the worker's own
 * thread in 500 downloads of 10 KiB), and as many threads as items still
 * start, one waking the next.  Nothing is left queued with every thread
 * asleep: a thread looks at the queues before it waits, under the lock.
 */
static inline bool
queues_empty(const sync_threads *s)
{
	return s->queue_head == NULL && s->open_head == NULL;
}

/* wake_next wakes one more thread when items are still queued (lock held) */
static inline void
wake_next(sync_threads *s)
{
	if (!queues_empty(s))
		pthread_cond_signal(&s->wake);
}

/* push_done puts a list of items on the done list and wakes transfer_poll (lock held). */
static void
push_done(transfer_pool *pool, transfer_item *list)
{
	sync_threads *s = &pool->sync;

	while (list != NULL)
	{
		transfer_item *next = list->sync_next;

		list->sync_next = s->done;
		s->done = list;
		list = next;
	}
	curl_multi_wakeup(pool->multi);
}

/*
 * sync_main is one sync thread: it takes the oldest queued item, completes
 * its file, and moves it to the done list (a renamed file once its
 * directory is synced, see the top of the file), until told to stop with
 * the queue empty.
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

		while (s->queue_head == NULL && s->open_head == NULL && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->queue_head == NULL && s->open_head == NULL)
			break;
		/* a file to create first: its transfer waits for it to start */
		if (s->open_head != NULL)
		{
			bool		again = false;

			item = s->open_head;
			s->open_head = item->sync_next;
			if (s->open_head == NULL)
				s->open_tail = NULL;
			wake_next(s);
			pthread_mutex_unlock(&s->lock);
			if (!xfer_create_part(item, item->result.error, sizeof(item->result.error), &again))
			{
				item->result.state = TRANSFER_FAILED;
				item->result.retryable = again;
			}
			pthread_mutex_lock(&s->lock);
			item->sync_next = s->opened;
			s->opened = item;
			curl_multi_wakeup(pool->multi);
			continue;
		}
		item = s->queue_head;
		s->queue_head = item->sync_next;
		if (s->queue_head == NULL)
			s->queue_tail = NULL;
		wake_next(s);
		pthread_mutex_unlock(&s->lock);

		xfer_complete_file(item, false);

		pthread_mutex_lock(&s->lock);
		item->sync_next = NULL;
		if (item->result.state != TRANSFER_DONE)
			push_done(pool, item);	/* nothing renamed: no directory to sync */
		else
		{
			item->sync_next = s->dir_wait;
			s->dir_wait = item;
		}
		/* one thread syncs directories at a time; it takes what came meanwhile too */
		while (s->dir_wait != NULL && !s->dir_syncing)
		{
			transfer_item *list = s->dir_wait;

			s->dir_wait = NULL;
			s->dir_syncing = true;
			pthread_mutex_unlock(&s->lock);
			sync_dirs(list);
			pthread_mutex_lock(&s->lock);
			s->dir_syncing = false;
			push_done(pool, list);
		}
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
	bool		wake;

	if (s->nthreads == 0)
		return false;
	item->syncing = true;
	item->sync_next = NULL;
	pthread_mutex_lock(&s->lock);
	wake = queues_empty(s);
	if (s->queue_tail != NULL)
		s->queue_tail->sync_next = item;
	else
		s->queue_head = item;
	s->queue_tail = item;
	s->pending++;
	if (wake)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/*
 * xfer_open_queue hands a new download's .part file to the sync threads to
 * create (xfer_create_part); false when there are none (the caller creates
 * it inline).  Until xfer_open_collect hands the item back, the thread
 * alone touches its file, directory descriptor and result.
 */
bool
xfer_open_queue(transfer_pool *pool, transfer_item *item)
{
	sync_threads *s = &pool->sync;
	bool		wake;

	if (s->nthreads == 0)
		return false;
	item->opening = true;
	item->sync_next = NULL;
	pthread_mutex_lock(&s->lock);
	wake = queues_empty(s);
	if (s->open_tail != NULL)
		s->open_tail->sync_next = item;
	else
		s->open_head = item;
	s->open_tail = item;
	s->opening++;
	if (wake)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/*
 * xfer_open_collect takes back the items whose file the threads created or
 * refused, as a list linked by sync_next (the caller sets opening false).
 */
transfer_item *
xfer_open_collect(transfer_pool *pool)
{
	sync_threads *s = &pool->sync;
	transfer_item *list;

	if (s->opening == 0)
		return NULL;
	if (s->nthreads > 0)
		pthread_mutex_lock(&s->lock);
	list = s->opened;
	s->opened = NULL;
	for (transfer_item *i = list; i != NULL; i = i->sync_next)
		s->opening--;
	if (s->nthreads > 0)
		pthread_mutex_unlock(&s->lock);
	return list;
}

/* xfer_open_pending: files queued or being created, not yet taken back (the caller's count). */
int
xfer_open_pending(transfer_pool *pool)
{
	return pool->sync.opening;
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
