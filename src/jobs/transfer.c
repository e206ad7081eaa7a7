/*
 * transfer.c
 *	  Kernel: concurrent HTTP(S) downloads and uploads on one libcurl multi
 *	  handle, for the background worker: the pool, its list of transfers,
 *	  polling, cancelling and progress.  See transfer.h for the contract.
 *
 *	  Every download is a transfer_item owned by its pool: the easy handle,
 *	  the "<dest>.part" file descriptor, the running SHA-256, the staging
 *	  buffer and the result live there, never in globals.  Once libcurl says
 *	  a transfer is over, xfer_finish_item decides its outcome (status, size,
 *	  checksum), syncs and renames the file or removes it, and keeps the
 *	  result in the item until transfer_poll hands it out.  A cancelled
 *	  transfer is taken off the multi handle at once by transfer_cancel, so
 *	  the next transfer_poll reports it whatever libcurl is doing.
 *
 *	  Each item keeps its own copy of the network policy it was started
 *	  with; libcurl's header, open-socket and pre-request callbacks check
 *	  every redirect hop and connection against it (transfer_policy.c).  A
 *	  download holds its destination's directory open from the start and
 *	  creates, removes and renames its files relative to it (openat,
 *	  unlinkat, renameat), so that a directory swapped for a symbolic link
 *	  meanwhile changes nothing (see open_part in transfer_download.c).
 *
 *	  Cancelling an S3 multipart upload that has an UploadId is the one
 *	  exception: the parts already stored would otherwise stay on the server
 *	  (and be billed) until a lifecycle rule removes them.  transfer_cancel
 *	  takes the running request off the multi handle as for any transfer,
 *	  then starts an AbortMultipartUpload (DELETE ?uploadId=) on the same
 *	  multi handle, limited to TRANSFER_ABORT_TIMEOUT_MS (5 s) in all,
 *	  connection included; it returns at once, and transfer_poll drives the
 *	  abort like any request, so the caller's loop is never blocked.  The
 *	  item stays a running transfer meanwhile (counted, with progress, a
 *	  second cancel refused) and is reported CANCELLED only once the abort is
 *	  over, its error saying why when the abort failed.  Reporting CANCELLED
 *	  at once and aborting afterwards was not chosen: the worker drives the
 *	  multi handle only while it has transfers to report, so an abort left
 *	  behind a reported job would stall until the next transfer, and an
 *	  abort still running when the pool is destroyed would be lost unnoticed.
 *	  The cost is a cancelled job that may take up to 5 s (a dead server)
 *	  instead of one poll to end.  A failed multipart upload is aborted the
 *	  same way, within the same limit.  An upload cancelled while its
 *	  initiation is still under way has no UploadId to abort: the server may
 *	  keep an empty upload, for its lifecycle rules to remove.
 *
 *	  The kernel's files share transfer_private.h (the pool and its items):
 *		transfer.c				the pool, polling, cancel, progress
 *		transfer_download.c		downloads: the body to "<dest>.part", the outcome
 *		transfer_hash.c			the hash helper thread and the staging rings
 *		transfer_sync.c			the sync threads: finished downloads synced and renamed
 *		transfer_policy.c		the network policy: URLs, redirect hops, connections
 *		transfer_request.c		libcurl set-up: common options, SigV4, upload requests
 *		transfer_upload.c		uploads: the step machine, start, outcome (transfer_upload.h)
 *		transfer_upload_hash.c	an S3 upload's hashing thread
 *		transfer_errors.c		messages: errno, libcurl, S3 error bodies, refused credentials
 *	  and src/util/sha256.c, src/util/md5.c for the digests.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netpolicy.h"

/*
 * xfer_progress is libcurl's progress callback: it aborts a transfer that
 * was cancelled.  (transfer_cancel also takes the handle off the multi
 * handle itself, so this is only the second line of defence.)  The S3
 * abort a cancel starts is the cancelled upload's own last request: it
 * runs to its end or its time limit.
 */
int
xfer_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			  curl_off_t ultotal, curl_off_t ulnow)
{
	transfer_item *item = clientp;

	(void) dltotal;
	(void) dlnow;
	(void) ultotal;
	item->ul_now = (int64_t) ulnow;
	return item->cancelled && !item->aborting ? 1 : 0;
}

/*
 * xfer_release_part frees the staging buffer, closes and removes the .part
 * file (in the directory it was created in): a failed or cancelled
 * download leaves nothing behind.
 */
void
xfer_release_part(transfer_item *item)
{
	xfer_release_stage(item);
	if (item->fd >= 0)
	{
		close(item->fd);
		item->fd = -1;
	}
	/* only a file we created or truncated: another process's is not ours to remove */
	if (item->part_made && item->part_path != NULL && item->dir_fd >= 0)
	{
		unlinkat(item->dir_fd, item->part_base, 0);
		item->part_made = false;
	}
}

/*
 * xfer_detach_easy records what libcurl knows about the response (status,
 * content type, final URL) in the result, then takes the easy handle off
 * the multi handle and frees it.
 */
void
xfer_detach_easy(transfer_pool *pool, transfer_item *item)
{
	long		code = 0;
	char	   *ctype = NULL;
	char	   *eff = NULL;

	if (item->easy == NULL)
		return;
	if (curl_easy_getinfo(item->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
		item->result.http_status = code;
	{
		curl_off_t	ra = 0;

		/* Retry-After (seconds, or an HTTP date turned into seconds by libcurl) */
		item->result.retry_after_s =
			curl_easy_getinfo(item->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0 ? (long) ra : -1;
	}
	if (curl_easy_getinfo(item->easy, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK)
		xfer_copy_text(item->result.content_type, sizeof(item->result.content_type), ctype);
	if (curl_easy_getinfo(item->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK)
		xfer_copy_text(item->result.effective_url, sizeof(item->result.effective_url), eff);
	curl_multi_remove_handle(pool->multi, item->easy);
	curl_easy_cleanup(item->easy);
	item->easy = NULL;
}

/*
 * xfer_free_item stops an unfinished transfer (removing its .part file) and
 * frees the item.  A finished item has nothing open any more.
 */
void
xfer_free_item(transfer_pool *pool, transfer_item *item)
{
	if (item->up != NULL)
		upload_hash_join(item->up);	/* before its file is closed */
	if (!item->finished)
	{
		xfer_detach_easy(pool, item);
		xfer_release_part(item);
	}
	xfer_release_stage(item);		/* an upload's hashing ring */
	if (item->up != NULL)
		upload_free(item->up);
	if (item->dir_fd >= 0)
		close(item->dir_fd);
	netpolicy_free(item->policy);
	curl_slist_free_all(item->dl_headers);	/* after the easy handle that used it */
	free(item->credential_name);
	free(item->dest_path);
	free(item->part_path);
	free(item);
}

/*
 * find_item looks a transfer up by job id.
 */
static transfer_item *
find_item(transfer_pool *pool, int64_t job_id)
{
	if (pool == NULL)
		return NULL;
	for (transfer_item *item = pool->head; item != NULL; item = item->next)
		if (item->result.job_id == job_id)
			return item;
	return NULL;
}

/*
 * transfer_global_init initialises libcurl for the process.
 */
bool
transfer_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/*
 * transfer_global_cleanup undoes transfer_global_init.
 */
void
transfer_global_cleanup(void)
{
	curl_global_cleanup();
}

/*
 * transfer_pool_create makes a pool with its multi handle and hash helper.
 * libcurl opens at most max_concurrent connections and queues the
 * transfers beyond them.
 */
transfer_pool *
transfer_pool_create(int max_concurrent)
{
	transfer_pool *pool;

	if (max_concurrent < 1)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->helper_running = xfer_helper_start(&pool->helper);
	pool->multi = curl_multi_init();
	if (pool->multi == NULL ||
		curl_multi_setopt(pool->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) max_concurrent) != CURLM_OK)
	{
		if (pool->multi != NULL)
			curl_multi_cleanup(pool->multi);
		if (pool->helper_running)
			xfer_helper_stop(&pool->helper);
		free(pool);
		return NULL;
	}
	(void) xfer_sync_start(pool);	/* none: downloads are synced inline */
	/* an unnamed file is linked in through /proc/self/fd (linkat(2) without privileges) */
	pool->unnamed_files = access("/proc/self/fd", X_OK) == 0;
	return pool;
}

/* transfer_pool_unnamed_files: see transfer.h (never without /proc/self/fd). */
void
transfer_pool_unnamed_files(transfer_pool *pool, bool on)
{
	pool->unnamed_files = on && access("/proc/self/fd", X_OK) == 0;
}

/*
 * transfer_pool_destroy stops every transfer still running (removing its
 * .part file), drops results nobody collected, and frees the pool.
 */
void
transfer_pool_destroy(transfer_pool *pool)
{
	transfer_item *item;

	if (pool == NULL)
		return;
	/* the files being synced or created are done first: no thread touches an item freed here */
	xfer_sync_stop(pool);
	(void) xfer_sync_collect(pool);
	for (item = xfer_open_collect(pool); item != NULL; item = item->sync_next)
		item->opening = false;	/* still on the pool's list: freed below, its .part removed */
	item = pool->head;
	while (item != NULL)
	{
		transfer_item *next = item->next;

		xfer_free_item(pool, item);
		item = next;
	}
	curl_multi_cleanup(pool->multi);
	if (pool->helper_running)
		xfer_helper_stop(&pool->helper);
	free(pool);
}

/*
 * transfer_cancel stops a running transfer at once: its handle leaves the
 * multi handle, a download's .part file is removed, and the next
 * transfer_poll reports it CANCELLED.  An S3 multipart upload with an
 * UploadId is aborted on the server first (see the top of the file).  False
 * when no such transfer is running (unknown, cancelled already, or already
 * finished or failed and waiting to be reported).
 */
bool
transfer_cancel(transfer_pool *pool, int64_t job_id)
{
	transfer_item *item = find_item(pool, job_id);

	/* a download being synced has its whole body: it is reported as it ends */
	if (item == NULL || item->finished || item->cancelled || item->aborting || item->syncing)
		return false;
	item->cancelled = true;
	/* its .part file is being created: start_opened ends it once the thread is done */
	if (item->opening)
		return true;
	if (item->up != NULL)
	{
		upload_cancel(pool, item);
		return true;
	}
	xfer_detach_easy(pool, item);
	item->result.bytes = item->bytes;
	item->result.state = TRANSFER_CANCELLED;
	item->result.retryable = false;
	xfer_release_part(item);
	item->finished = true;
	return true;
}

/*
 * collect_done reads libcurl's messages and finishes every transfer it
 * reports done.  Returns true when any item has a result waiting.
 */
static bool
collect_done(transfer_pool *pool)
{
	CURLMsg    *msg;
	int			queued;

	while ((msg = curl_multi_info_read(pool->multi, &queued)) != NULL)
	{
		char	   *priv = NULL;
		transfer_item *item;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) != CURLE_OK || priv == NULL)
			continue;
		item = (transfer_item *) (void *) priv;
		if (item->finished)
			continue;
		if (item->up != NULL)
			upload_step_done(pool, item, msg->data.result);
		else
			xfer_finish_item(pool, item, msg->data.result);
	}
	(void) xfer_sync_collect(pool);
	for (transfer_item *item = pool->head; item != NULL; item = item->next)
		if (item->finished)
			return true;
	return false;
}

/*
 * start_opened takes back the downloads whose .part file a sync thread
 * created (transfer_sync.c) and adds their requests to the multi handle (a
 * delayed one waits for start_delayed); one the thread could not create, or
 * one cancelled meanwhile, ends here with its refusal or as CANCELLED.
 */
static void
start_opened(transfer_pool *pool)
{
	transfer_item *item = xfer_open_collect(pool);

	while (item != NULL)
	{
		transfer_item *next = item->sync_next;

		item->sync_next = NULL;
		item->opening = false;
		if (item->cancelled)
		{
			curl_easy_cleanup(item->easy);
			item->easy = NULL;
			xfer_release_part(item);
			item->result.state = TRANSFER_CANCELLED;
			item->result.retryable = false;
			item->finished = true;
		}
		else if (item->result.state == TRANSFER_FAILED)
		{
			/* the thread's refusal is in the result; nothing of ours to remove */
			curl_easy_cleanup(item->easy);
			item->easy = NULL;
			item->finished = true;
		}
		else if (item->start_at_ms <= 0 && curl_multi_add_handle(pool->multi, item->easy) != CURLM_OK)
		{
			curl_easy_cleanup(item->easy);
			item->easy = NULL;
			xfer_release_part(item);
			item->result.state = TRANSFER_FAILED;
			item->result.retryable = true;
			xfer_copy_text(item->result.error, sizeof(item->result.error), "cannot add the transfer");
			item->finished = true;
		}
		item = next;
	}
}

/*
 * start_delayed adds the delayed requests (transfer_opts.delay_ms) whose time
 * has come to the multi handle, and returns how many milliseconds remain
 * until the next one is due (-1: none waits).  A request that cannot be
 * added fails, retryable.
 */
static int
start_delayed(transfer_pool *pool)
{
	int64_t		now = xfer_now_ms();
	int64_t		wait = -1;

	for (transfer_item *item = pool->head; item != NULL; item = item->next)
	{
		if (item->start_at_ms <= 0 || item->finished || item->easy == NULL || item->opening)
			continue;
		if (item->start_at_ms > now)
		{
			if (wait < 0 || item->start_at_ms - now < wait)
				wait = item->start_at_ms - now;
			continue;
		}
		item->start_at_ms = 0;
		if (curl_multi_add_handle(pool->multi, item->easy) != CURLM_OK)
		{
			xfer_detach_easy(pool, item);
			xfer_release_part(item);
			item->result.state = TRANSFER_FAILED;
			item->result.retryable = true;
			xfer_copy_text(item->result.error, sizeof(item->result.error), "cannot add the transfer");
			item->finished = true;
		}
	}
	return (int) (wait > INT32_MAX ? INT32_MAX : wait);
}

/*
 * transfer_poll lets libcurl work, waits on its sockets for at most
 * timeout_ms when nothing is ready to report (less when a delayed request
 * comes due sooner), and hands out up to max results in start order.
 * Results beyond max wait for the next call.  Returns at once when the pool
 * is empty.
 */
int
transfer_poll(transfer_pool *pool, int timeout_ms, transfer_result *out, int max)
{
	int			running = 0;
	int			n = 0;
	bool		hashing;
	int			delayed;
	transfer_item *prev = NULL;
	transfer_item *item;

	if (pool == NULL || pool->head == NULL)
		return 0;
	if (timeout_ms < 0)
		timeout_ms = 0;

	pool->kick = false;
	hashing = upload_hash_check(pool);
	start_opened(pool);
	delayed = start_delayed(pool);
	if (delayed >= 0 && delayed < timeout_ms)
		timeout_ms = delayed;
	curl_multi_perform(pool->multi, &running);
	/* an upload's hash thread and the sync threads end with curl_multi_wakeup: wait for them too */
	if (!collect_done(pool) && (running > 0 || pool->kick || hashing || delayed >= 0 ||
								xfer_sync_pending(pool) > 0 || xfer_open_pending(pool) > 0))
	{
		int64_t		deadline = xfer_now_ms() + timeout_ms;

		/*
		 * Wait until a result is in, an upload asks for another perform, or
		 * the time is up.  Other wake-ups (a .part file created, an upload's
		 * hash done, a delayed request due, data that did not end a
		 * transfer) are handled and the wait goes on: a sync thread's
		 * wake-up may also arrive after start_opened above took its file.
		 */
		for (;;)
		{
			pool->kick = false;
			curl_multi_poll(pool->multi, NULL, 0, timeout_ms, NULL);
			(void) upload_hash_check(pool);
			start_opened(pool);
			delayed = start_delayed(pool);
			curl_multi_perform(pool->multi, &running);
			if (collect_done(pool) || pool->kick)
				break;
			timeout_ms = (int) (deadline - xfer_now_ms());
			if (timeout_ms <= 0)
				break;
			if (delayed >= 0 && delayed < timeout_ms)
				timeout_ms = delayed;
		}
	}

	if (out == NULL || max <= 0)
		return 0;
	item = pool->head;
	while (item != NULL && n < max)
	{
		transfer_item *next = item->next;

		if (item->finished)
		{
			out[n++] = item->result;
			if (prev != NULL)
				prev->next = next;
			else
				pool->head = next;
			if (pool->tail == item)
				pool->tail = prev;
			pool->count--;
			xfer_free_item(pool, item);
		}
		else
			prev = item;
		item = next;
	}
	return n;
}

/*
 * transfer_progress reports the body bytes received so far and the size the
 * server announced (-1 until the final response's body starts, or when it
 * announced none).  A finished download not yet reported counts too.
 */
bool
transfer_progress(transfer_pool *pool, int64_t job_id, int64_t *done, int64_t *total)
{
	transfer_item *item = find_item(pool, job_id);
	int64_t		t = -1;

	if (item == NULL)
		return false;
	if (item->up != NULL)
	{
		upload_progress(item, done, total);
		return true;
	}
	if (item->finished)
	{
		if (item->result.state == TRANSFER_DONE)
			t = item->result.bytes;
	}
	else if (item->syncing)
		t = item->bytes;		/* the whole body is in; its result is the sync thread's */
	else if (item->body_started && !item->bad_status)
	{
		curl_off_t	cl = -1;

		if (curl_easy_getinfo(item->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
			t = (int64_t) cl;
	}
	if (done != NULL)
		*done = item->bytes;
	if (total != NULL)
		*total = t;
	return true;
}

/*
 * transfer_count returns how many downloads the pool holds: running ones
 * and finished ones whose result transfer_poll has not handed out yet, so
 * that "while (transfer_count(pool) > 0) transfer_poll(...)" misses none.
 */
int
transfer_count(transfer_pool *pool)
{
	return pool == NULL ? 0 : pool->count;
}

/*
 * transfer_syncing: downloads handed to the sync threads and not yet
 * reported (see transfer_sync.c).
 */
int
transfer_syncing(transfer_pool *pool)
{
	return pool == NULL ? 0 : xfer_sync_pending(pool);
}
