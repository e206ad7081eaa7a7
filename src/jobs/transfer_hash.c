/*
 * transfer_hash.c
 *	  Kernel, part of transfer.c's family: the pool's hash helper thread and
 *	  each transfer's staging ring.  A download's body (and an HTTP or WebDAV
 *	  upload's, when its SHA-256 is asked for) is copied into the ring as it
 *	  passes; a full slot is queued for the helper, which hashes it while
 *	  libcurl fills the next ones (see "Speed" in transfer_download.c).  The
 *	  helper only ever runs sha256_update on the slots it is given, with
 *	  every signal blocked; a slot is refilled, and the hash finished or the
 *	  ring freed, only once the helper is done with them.  Without the thread
 *	  (it could not be started) the hash runs inline.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/*
 * helper_main is the hash helper thread: it hashes queued slots, oldest
 * first, and counts each in its transfer's hashed, until told to stop.
 */
static void *
helper_main(void *arg)
{
	hash_helper *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;)
	{
		stage_slot *slot;

		while (h->head == NULL && !h->stop)
			pthread_cond_wait(&h->wake, &h->lock);
		if (h->head == NULL)
			break;
		slot = h->head;
		h->head = slot->next;
		if (h->head == NULL)
			h->tail = NULL;
		pthread_mutex_unlock(&h->lock);

		sha256_update(&slot->item->sha, slot->data, slot->len);

		pthread_mutex_lock(&h->lock);
		slot->item->hashed++;
		pthread_cond_signal(&h->done);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/*
 * xfer_helper_start starts the hash helper with every signal blocked, so that
 * the process's signal handlers only ever run on the calling thread.
 * False when it cannot be started: hashing then stays inline.
 */
bool
xfer_helper_start(hash_helper *h)
{
	sigset_t	all;
	sigset_t	old;
	bool		ok;

	memset(h, 0, sizeof(*h));
	if (pthread_mutex_init(&h->lock, NULL) != 0)
		return false;
	if (pthread_cond_init(&h->wake, NULL) != 0)
	{
		pthread_mutex_destroy(&h->lock);
		return false;
	}
	if (pthread_cond_init(&h->done, NULL) != 0)
	{
		pthread_cond_destroy(&h->wake);
		pthread_mutex_destroy(&h->lock);
		return false;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ok = pthread_create(&h->thread, NULL, helper_main, h) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ok)
	{
		pthread_cond_destroy(&h->done);
		pthread_cond_destroy(&h->wake);
		pthread_mutex_destroy(&h->lock);
	}
	return ok;
}

/*
 * xfer_helper_stop lets the helper finish its queue and joins it.
 */
void
xfer_helper_stop(hash_helper *h)
{
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->done);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
}

/*
 * xfer_wait_hashed returns once at most pending slots of the item are still
 * queued or being hashed.  With 0, the helper holds nothing of the item:
 * neither its ring nor its hash context.
 */
void
xfer_wait_hashed(transfer_item *item, uint64_t pending)
{
	hash_helper *h = &item->pool->helper;

	if (!item->pool->helper_running || item->posted <= pending)
		return;
	pthread_mutex_lock(&h->lock);
	while (item->posted - item->hashed > pending)
		pthread_cond_wait(&h->done, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

/*
 * xfer_hash_slot hands the slot being filled to the hash: queued for the helper,
 * or inline when the slot is short (only the last one can be), after the
 * item's queued slots to keep the order.  Then it moves to the next slot,
 * waiting until the helper is done with it.
 */
void
xfer_hash_slot(transfer_item *item)
{
	hash_helper *h = &item->pool->helper;
	stage_slot *slot = &item->slots[item->cur];

	if (item->fill == 0)
		return;
	slot->len = item->fill;
	if (slot->len >= STAGE_OFFLOAD_MIN)
	{
		slot->next = NULL;
		pthread_mutex_lock(&h->lock);
		if (h->tail != NULL)
			h->tail->next = slot;
		else
			h->head = slot;
		h->tail = slot;
		item->posted++;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
	}
	else
	{
		xfer_wait_hashed(item, 0);
		sha256_update(&item->sha, slot->data, slot->len);
	}
	item->fill = 0;
	item->cur = (item->cur + 1) % STAGE_SLOTS;
	xfer_wait_hashed(item, STAGE_SLOTS - 1);
}

/*
 * xfer_release_stage waits until the helper holds nothing of the item and
 * frees the ring.
 */
void
xfer_release_stage(transfer_item *item)
{
	if (item->stage != NULL)
	{
		xfer_wait_hashed(item, 0);
		free(item->stage);
		item->stage = NULL;
	}
	item->fill = 0;
}

/*
 * xfer_stage_hash hashes len bytes through the item's staging ring (the helper
 * thread), allocating the ring on first use; inline when there is no helper.
 * Uploads use it for the body they send, downloads' write_body does the same.
 */
void
xfer_stage_hash(transfer_item *item, const uint8_t *p, size_t len)
{
	if (item->stage == NULL && !item->no_stage)
	{
		if (item->pool->helper_running)
		{
			item->stage = malloc((size_t) STAGE_SLOTS * STAGE_SLOT_SIZE);
			for (int i = 0; item->stage != NULL && i < STAGE_SLOTS; i++)
			{
				item->slots[i].item = item;
				item->slots[i].data = item->stage + (size_t) i * STAGE_SLOT_SIZE;
			}
		}
		item->no_stage = item->stage == NULL;
	}
	if (item->no_stage)
	{
		sha256_update(&item->sha, p, len);
		return;
	}
	while (len > 0)
	{
		size_t		take = STAGE_SLOT_SIZE - item->fill;

		if (take > len)
			take = len;
		memcpy(item->slots[item->cur].data + item->fill, p, take);
		item->fill += take;
		p += take;
		len -= take;
		if (item->fill == STAGE_SLOT_SIZE)
			xfer_hash_slot(item);
	}
}
