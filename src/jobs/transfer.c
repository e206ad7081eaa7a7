/*
 * transfer.c
 *	  Kernel: concurrent HTTP(S) downloads on one libcurl multi handle, for
 *	  the background worker.  See transfer.h for the contract.
 *
 *	  Every download is a transfer_item owned by its pool: the easy handle,
 *	  the "<dest>.part" file descriptor, the running SHA-256, the staging
 *	  buffer and the result live there, never in globals.  Once libcurl says
 *	  a transfer is over, finish_item decides its outcome (status, size,
 *	  checksum), syncs and renames the file or removes it, and keeps the
 *	  result in the item until transfer_poll hands it out.  A cancelled
 *	  transfer is taken off the multi handle at once by transfer_cancel, so
 *	  the next transfer_poll reports it whatever libcurl is doing.
 *
 *	  Each item keeps its own copy of the network policy it was started
 *	  with; libcurl's header, open-socket and pre-request callbacks check
 *	  every redirect hop and connection against it (see "Network policy"
 *	  below).  A download holds its destination's directory open from the
 *	  start and creates, removes and renames its files relative to it
 *	  (openat, unlinkat, renameat), so that a directory swapped for a
 *	  symbolic link meanwhile changes nothing (see open_part).
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
 *	  Speed.  SHA-256 costs about as much CPU as the download itself (the
 *	  copy into the page cache), so it runs on the pool's hash helper thread,
 *	  in parallel.  write_body writes each chunk libcurl hands it (at most
 *	  CURL_MAX_WRITE_SIZE, 16 KiB) straight to the file, as the curl tool
 *	  does, and copies it into a slot of the item's staging ring; a full slot
 *	  is queued for the helper, which hashes it while libcurl fills the next
 *	  ones.  The helper only ever runs sha256_update on the slots it is
 *	  given, with every signal blocked; a slot is refilled, and the hash
 *	  finished or the ring freed, only once the helper is done with them.
 *	  Without the thread (it could not be started) the hash runs inline.
 *
 *	  Tried and dropped, measured on ext4 (Linux 6.18): writing whole slots
 *	  (256 KiB writes are several times slower than 16 KiB ones there), and
 *	  starting write-back early with sync_file_range (about 40% slower, for
 *	  a shorter final fsync).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>

#include "util/errbuf.h"
#include "util/md5.h"
#include "util/sha256.h"
#include "sigv4.h"

/* libcurl's receive buffer: its maximum (CURL_MAX_READ_SIZE), for the fewest calls per byte. */
#define TRANSFER_BUFFER_SIZE	(512L * 1024L)

/* The only protocols a transfer may use, for the URL and every redirect. */
#define TRANSFER_PROTOCOLS		"http,https"

/* A transfer's staging ring for the hash helper: STAGE_SLOTS slots, each one hash job. */
#define STAGE_SLOTS				4
#define STAGE_SLOT_SIZE			(256 * 1024)

/* A flushed slot smaller than this (the last) is hashed inline: not worth a hand-off. */
#define STAGE_OFFLOAD_MIN		(64 * 1024)

struct transfer_item;
struct upload_state;

/* A slot of a staging ring; while queued for the helper, next links the queue. */
typedef struct stage_slot
{
	struct stage_slot *next;
	struct transfer_item *item;
	uint8_t    *data;			/* STAGE_SLOT_SIZE bytes */
	size_t		len;
} stage_slot;

typedef struct transfer_item
{
	struct transfer_item *next;
	CURL	   *easy;			/* NULL once finished */
	int			fd;				/* the .part file; -1 once closed */
	bool		finished;		/* result is final, waiting for transfer_poll */
	bool		cancelled;		/* transfer_cancel was called */
	bool		body_started;	/* write_body has seen the final response */
	bool		bad_status;		/* the final response is not 2xx: body refused */
	bool		too_big;		/* the body went past max_bytes */
	bool		no_stage;		/* no staging ring (no helper, or no memory): hash inline */
	bool		aborting;		/* uploads: the S3 abort runs; cancelled does not stop it */
	int			write_errno;	/* write() failed with this; 0 when not */
	int64_t		max_bytes;		/* 0: unlimited */
	int64_t		bytes;			/* body bytes received */
	uint8_t    *stage;			/* the ring's memory, from the first body byte on */
	stage_slot	slots[STAGE_SLOTS];
	int			cur;			/* the slot being filled */
	size_t		fill;			/* bytes in it */
	uint64_t	posted;			/* slots queued for the helper */
	uint64_t	hashed;			/* of which it has hashed (under its lock) */
	struct transfer_pool *pool;
	char	   *dest_path;
	char	   *part_path;		/* dest_path + ".part" */
	int			dir_fd;			/* downloads: dest_path's directory; -1 when none */
	const char *dest_base;		/* dest_path's last component (points into it) */
	const char *part_base;		/* part_path's last component (points into it) */
	netpolicy  *policy;			/* the transfer's own copy, or NULL */
	int			hdr_status;		/* status of the response whose headers arrive */
	bool		policy_hard;	/* policy_error surely caused the failure */
	char		policy_error[400];	/* why the policy refused a hop or a
									 * connection, "" when it did not */
	char		expected[65];	/* expected SHA-256 in lower case; "" when none */
	sha256_ctx	sha;
	char		curl_error[CURL_ERROR_SIZE];
	struct upload_state *up;	/* uploads only: the step machine; fd is the source */
	struct curl_slist *dl_headers;	/* downloads: extra request headers (S3, bearer) */
	bool		has_auth;		/* downloads: credentials are sent */
	char	   *credential_name;	/* for messages, or NULL */
	char		err_body[1024]; /* downloads: the start of a non-2xx body (S3's error) */
	size_t		err_body_len;
	int64_t		ul_now;			/* bytes sent of the current request's body */
	transfer_result result;
} transfer_item;

/*
 * The hash helper: a thread and its FIFO queue of slots.  Slots of one
 * transfer are hashed in the order they were queued.
 */
typedef struct hash_helper
{
	pthread_t	thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* a slot was queued, or stop was set */
	pthread_cond_t done;		/* a slot was hashed */
	stage_slot *head;
	stage_slot *tail;
	bool		stop;
} hash_helper;

struct transfer_pool
{
	CURLM	   *multi;
	transfer_item *head;		/* in start order */
	transfer_item *tail;
	int			count;			/* items in the list, finished or not */
	bool		helper_running; /* false: hash inline */
	bool		kick;			/* an upload started its next request: perform again */
	hash_helper helper;
};

static void fail_item(transfer_item *item, bool retryable, const char *fmt,...) MLOPS_PRINTF(3, 4);
static void upload_free(struct upload_state *up);
static void upload_step_done(transfer_pool *pool, transfer_item *item, CURLcode res);
static void upload_progress(transfer_item *item, int64_t *done, int64_t *total);
static void upload_cancel(transfer_pool *pool, transfer_item *item);
static bool policy_failed(const transfer_item *item, CURLcode res);
static void upload_hash_join(struct upload_state *up);
static bool upload_hash_check(transfer_pool *pool);
static void describe_status(char *out, size_t outlen, const char *step, const char *request,
							const char *url, long code, const char *body, bool has_auth,
							const char *credential);

/*
 * copy_text copies a possibly NULL string into a fixed buffer, truncating.
 */
static void
copy_text(char *dst, size_t dstlen, const char *src)
{
	size_t		n;

	if (dstlen == 0)
		return;
	if (src == NULL)
		src = "";
	n = strlen(src);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * errno_transient says whether a failed file operation may succeed later
 * (full disk or quota, too many open files, no memory): worth a retry.
 */
static bool
errno_transient(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EMFILE || e == ENFILE ||
		e == ENOMEM || e == EAGAIN || e == EINTR || e == EIO;
}

/*
 * curl_retryable sorts libcurl's errors: the network's and the server's
 * passing troubles are worth another attempt; a bad URL, a refused
 * protocol, a redirect loop, a size limit or a certificate problem will
 * fail the same way again.
 */
static bool
curl_retryable(CURLcode res)
{
	switch (res)
	{
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_WEIRD_SERVER_REPLY:
		case CURLE_HTTP2:
		case CURLE_PARTIAL_FILE:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_AGAIN:
		case CURLE_HTTP2_STREAM:
		case CURLE_HTTP3:
		case CURLE_QUIC_CONNECT_ERROR:
		case CURLE_OUT_OF_MEMORY:
			return true;
		default:
			return false;
	}
}

/*
 * curl_message writes libcurl's explanation of res (the error buffer when
 * it says more than the generic text) starting with a lower-case letter
 * unless it starts with an acronym, without trailing white space.
 */
static void
curl_message(char *buf, size_t buflen, CURLcode res, const char *detail)
{
	size_t		n;

	copy_text(buf, buflen, (detail && detail[0]) ? detail : curl_easy_strerror(res));
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char) buf[n - 1]))
		buf[--n] = '\0';
	if (n >= 2 && isupper((unsigned char) buf[0]) && !isupper((unsigned char) buf[1]))
		buf[0] = (char) tolower((unsigned char) buf[0]);
}

/*
 * transfer_check_url accepts absolute http:// and https:// URLs with a host
 * and without userinfo, as libcurl's URL parser reads them (the same parser
 * the transfer uses): netpolicy_check_url's rules without a policy, so that
 * both say the same.  Credentials go in the options, never in a URL: a URL
 * is shown in results and logs.  host, when given, receives the host.
 */
bool
transfer_check_url(const char *url, char *err, size_t errlen, char *host, size_t hostlen)
{
	CURLU	   *u;
	char	   *h = NULL;
	bool		ok = false;

	if (host != NULL && hostlen > 0)
		host[0] = '\0';
	if (!netpolicy_check_url(NULL, url, err, errlen))
		return false;
	if (host == NULL || hostlen == 0)
		return true;
	u = curl_url();
	if (u == NULL)
		errbuf_printf(err, errlen, "out of memory");
	else if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
			 curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		errbuf_printf(err, errlen, "url has no host");
	else if (strlen(h) >= hostlen)
		errbuf_printf(err, errlen, "url host name is too long");
	else
	{
		copy_text(host, hostlen, h);
		ok = true;
	}
	curl_free(h);
	curl_url_cleanup(u);
	return ok;
}

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
 * helper_start starts the hash helper with every signal blocked, so that
 * the process's signal handlers only ever run on the calling thread.
 * False when it cannot be started: hashing then stays inline.
 */
static bool
helper_start(hash_helper *h)
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
 * helper_stop lets the helper finish its queue and joins it.
 */
static void
helper_stop(hash_helper *h)
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
 * wait_hashed returns once at most pending slots of the item are still
 * queued or being hashed.  With 0, the helper holds nothing of the item:
 * neither its ring nor its hash context.
 */
static void
wait_hashed(transfer_item *item, uint64_t pending)
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
 * write_all writes len bytes to the item's file, recording errno on failure.
 */
static bool
write_all(transfer_item *item, const uint8_t *p, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(item->fd, p, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			item->write_errno = errno;
			return false;
		}
		p += n;
		len -= (size_t) n;
	}
	return true;
}

/*
 * hash_slot hands the slot being filled to the hash: queued for the helper,
 * or inline when the slot is short (only the last one can be), after the
 * item's queued slots to keep the order.  Then it moves to the next slot,
 * waiting until the helper is done with it.
 */
static void
hash_slot(transfer_item *item)
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
		wait_hashed(item, 0);
		sha256_update(&item->sha, slot->data, slot->len);
	}
	item->fill = 0;
	item->cur = (item->cur + 1) % STAGE_SLOTS;
	wait_hashed(item, STAGE_SLOTS - 1);
}

/*
 * release_stage waits until the helper holds nothing of the item and
 * frees the ring.
 */
static void
release_stage(transfer_item *item)
{
	if (item->stage != NULL)
	{
		wait_hashed(item, 0);
		free(item->stage);
		item->stage = NULL;
	}
	item->fill = 0;
}

/*
 * stage_hash hashes len bytes through the item's staging ring (the helper
 * thread), allocating the ring on first use; inline when there is no helper.
 * Uploads use it for the body they send, downloads' write_body does the same.
 */
static void
stage_hash(transfer_item *item, const uint8_t *p, size_t len)
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
			hash_slot(item);
	}
}

/*
 * write_body is libcurl's write callback: the body of the final response,
 * in chunks of up to CURL_MAX_WRITE_SIZE bytes, written to the file and
 * hashed (see the top of the file).  It refuses (returning less than it
 * was given, which aborts the transfer) a body of a non-2xx response, a
 * body that goes past max_bytes, and a failed write.
 */
static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	transfer_item *item = userdata;
	size_t		len = size * nmemb;
	const uint8_t *p = (const uint8_t *) ptr;

	if (!item->body_started)
	{
		long		code = 0;

		item->body_started = true;
		curl_easy_getinfo(item->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code < 200 || code > 299)
			item->bad_status = true;
	}
	if (item->bad_status)
	{
		/* keep the start of the error body (S3 explains itself in XML), then stop */
		size_t		take = sizeof(item->err_body) - 1 - item->err_body_len;

		if (take > len)
			take = len;
		memcpy(item->err_body + item->err_body_len, ptr, take);
		item->err_body_len += take;
		item->err_body[item->err_body_len] = '\0';
		return item->err_body_len < sizeof(item->err_body) - 1 ? len : 0;
	}

	if (item->max_bytes > 0 && (int64_t) len > item->max_bytes - item->bytes)
	{
		item->too_big = true;
		return 0;
	}
	if (!write_all(item, p, len))
		return 0;
	item->bytes += (int64_t) len;
	stage_hash(item, p, len);
	return len;
}

/*
 * xfer_progress is libcurl's progress callback: it aborts a transfer that
 * was cancelled.  (transfer_cancel also takes the handle off the multi
 * handle itself, so this is only the second line of defence.)  The S3
 * abort a cancel starts is the cancelled upload's own last request: it
 * runs to its end or its time limit.
 */
static int
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
 * release_part frees the staging buffer, closes and removes the .part
 * file (in the directory it was created in): a failed or cancelled
 * download leaves nothing behind.
 */
static void
release_part(transfer_item *item)
{
	release_stage(item);
	if (item->fd >= 0)
	{
		close(item->fd);
		item->fd = -1;
	}
	if (item->part_path != NULL && item->dir_fd >= 0)
		unlinkat(item->dir_fd, item->part_base, 0);
}

/*
 * detach_easy records what libcurl knows about the response (status,
 * content type, final URL) in the result, then takes the easy handle off
 * the multi handle and frees it.
 */
static void
detach_easy(transfer_pool *pool, transfer_item *item)
{
	long		code = 0;
	char	   *ctype = NULL;
	char	   *eff = NULL;

	if (item->easy == NULL)
		return;
	if (curl_easy_getinfo(item->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
		item->result.http_status = code;
	if (curl_easy_getinfo(item->easy, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK)
		copy_text(item->result.content_type, sizeof(item->result.content_type), ctype);
	if (curl_easy_getinfo(item->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK)
		copy_text(item->result.effective_url, sizeof(item->result.effective_url), eff);
	curl_multi_remove_handle(pool->multi, item->easy);
	curl_easy_cleanup(item->easy);
	item->easy = NULL;
}

/*
 * fail_item makes the result FAILED with a message, removes the .part file
 * and marks the item finished.
 */
static void
fail_item(transfer_item *item, bool retryable, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(item->result.error, sizeof(item->result.error), fmt, ap);
	va_end(ap);
	item->result.state = TRANSFER_FAILED;
	item->result.retryable = retryable;
	item->result.sha256[0] = '\0';
	release_part(item);
	item->finished = true;
}

/*
 * finish_item decides the outcome of a transfer libcurl has finished with
 * res.  Cancellation and our own refusals (policy, size, write errors,
 * status) come before libcurl's error, since they caused it.  A complete
 * 2xx body is synced, closed, checked against the expected SHA-256 and
 * renamed into place, in the directory held open since the start; the
 * directory is synced to make the rename durable (best effort: the file
 * itself is synced already).
 */
static void
finish_item(transfer_pool *pool, transfer_item *item, CURLcode res)
{
	uint8_t		digest[32];
	char		hex[65];
	long		code;
	struct stat st;

	detach_easy(pool, item);
	code = item->result.http_status;
	item->result.bytes = item->bytes;

	if (item->cancelled)
	{
		item->result.state = TRANSFER_CANCELLED;
		release_part(item);
		item->finished = true;
		return;
	}
	if (policy_failed(item, res))
	{
		fail_item(item, false, "%s", item->policy_error);
		return;
	}
	if (item->too_big || res == CURLE_FILESIZE_EXCEEDED)
	{
		fail_item(item, false, "response larger than max_bytes (%lld)", (long long) item->max_bytes);
		return;
	}
	if (item->write_errno != 0)
	{
		fail_item(item, errno_transient(item->write_errno), "cannot write \"%s\": %s",
				  item->part_path, strerror(item->write_errno));
		return;
	}
	if (res != CURLE_OK && !item->bad_status)
	{
		char		why[CURL_ERROR_SIZE + 64];

		curl_message(why, sizeof(why), res, item->curl_error);
		fail_item(item, curl_retryable(res), "%s", why);
		return;
	}
	if (code < 200 || code > 299)
	{
		char		why[sizeof(item->result.error)];

		describe_status(why, sizeof(why), NULL, "get", item->result.effective_url, code,
						item->err_body, item->has_auth, item->credential_name);
		fail_item(item, code == 408 || code == 429 || (code >= 500 && code <= 599), "%s", why);
		return;
	}

	if (!item->no_stage)
		hash_slot(item);		/* the last, partly filled slot */
	release_stage(item);		/* waits for the helper to finish the hash */
	if (fsync(item->fd) != 0)
	{
		int			e = errno;

		fail_item(item, errno_transient(e), "cannot sync \"%s\": %s", item->part_path, strerror(e));
		return;
	}
	if (close(item->fd) != 0)
	{
		int			e = errno;

		item->fd = -1;
		fail_item(item, errno_transient(e), "cannot close \"%s\": %s", item->part_path, strerror(e));
		return;
	}
	item->fd = -1;

	sha256_final(&item->sha, digest);
	sha256_hex(digest, hex);
	if (item->expected[0] != '\0' && strcmp(item->expected, hex) != 0)
	{
		fail_item(item, false, "sha256 mismatch: expected %s, got %s", item->expected, hex);
		return;
	}
	/* renameat replaces a symbolic link rather than follow it; still, refuse one */
	if (fstatat(item->dir_fd, item->dest_base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
	{
		fail_item(item, false, "cannot rename \"%s\" to \"%s\": \"%s\" is %s",
				  item->part_base, item->dest_base, item->dest_base,
				  S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		return;
	}
	if (renameat(item->dir_fd, item->part_base, item->dir_fd, item->dest_base) != 0)
	{
		int			e = errno;

		fail_item(item, errno_transient(e), "cannot rename \"%s\" to \"%s\": %s",
				  item->part_path, item->dest_path, strerror(e));
		return;
	}
	(void) fsync(item->dir_fd);

	memcpy(item->result.sha256, hex, sizeof(hex));
	item->result.state = TRANSFER_DONE;
	item->result.retryable = false;
	item->finished = true;
}

/*
 * free_item stops an unfinished transfer (removing its .part file) and
 * frees the item.  A finished item has nothing open any more.
 */
static void
free_item(transfer_pool *pool, transfer_item *item)
{
	if (item->up != NULL)
		upload_hash_join(item->up);	/* before its file is closed */
	if (!item->finished)
	{
		detach_easy(pool, item);
		release_part(item);
	}
	release_stage(item);		/* an upload's hashing ring */
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
	pool->helper_running = helper_start(&pool->helper);
	pool->multi = curl_multi_init();
	if (pool->multi == NULL ||
		curl_multi_setopt(pool->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) max_concurrent) != CURLM_OK)
	{
		if (pool->multi != NULL)
			curl_multi_cleanup(pool->multi);
		if (pool->helper_running)
			helper_stop(&pool->helper);
		free(pool);
		return NULL;
	}
	return pool;
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
	item = pool->head;
	while (item != NULL)
	{
		transfer_item *next = item->next;

		free_item(pool, item);
		item = next;
	}
	curl_multi_cleanup(pool->multi);
	if (pool->helper_running)
		helper_stop(&pool->helper);
	free(pool);
}

/* ------------------------------------------------------------------------
 * Network policy (netpolicy.h): redirect hops, connections.
 *
 *	  A redirect hop is judged when its Location header arrives, from the
 *	  header callback, before libcurl acts on it: the location is resolved
 *	  against the URL of the response that carries it, as libcurl resolves
 *	  it to follow, and a refused target aborts the transfer there, so that
 *	  the refused host gets no connection, let alone a request.  (A 3xx with
 *	  a Location libcurl would not follow, past max_redirects, is judged the
 *	  same: it fails either way.)  The scheme and userinfo of a hop are
 *	  checked even without a policy.
 *
 *	  A connection is judged by the address it goes to: the open-socket
 *	  callback refuses a socket for a denied address, whatever name resolved
 *	  to it (a DNS answer that changed since the URL was checked included),
 *	  and libcurl goes on with the name's other addresses if it has any.  A
 *	  connection reused from the multi handle's cache opens no socket: the
 *	  pre-request callback checks the address of every connection, new or
 *	  reused, once more before each request is sent.
 *
 *	  libcurl reports a refused socket as its generic "couldn't connect", a
 *	  refused hop as a write error: the reason is kept in policy_error and
 *	  wins over libcurl's message (policy_failed).  A refused socket is only
 *	  the reason when no response came after it (another address of the
 *	  name may have served the request): the header callback forgets it at
 *	  each status line.
 * ------------------------------------------------------------------------
 */

/*
 * note_refusal keeps why the policy refused a hop or a connection; hard
 * when the refusal surely ends the transfer.
 */
static void
note_refusal(transfer_item *item, const char *why, bool hard)
{
	copy_text(item->policy_error, sizeof(item->policy_error), why);
	item->policy_hard = hard;
}

/*
 * policy_failed: the transfer, which libcurl ended with res, failed because
 * the policy refused a hop or a connection.
 */
static bool
policy_failed(const transfer_item *item, CURLcode res)
{
	return res != CURLE_OK && item->policy_error[0] != '\0';
}

/*
 * shown_url writes url as a message may show it: without user name,
 * password, query or fragment (they may hold credentials, signed URLs do),
 * "?..." marking a query that was there, at most about 200 characters.
 */
static void
shown_url(const char *url, char *out, size_t outlen)
{
	CURLU	   *u = curl_url();
	char	   *q = NULL;
	char	   *full = NULL;
	bool		had_query;

	copy_text(out, outlen, "(an invalid url)");
	if (u == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
	{
		had_query = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK;
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
			errbuf_printf(out, outlen, "%.200s%s%s", full, strlen(full) > 200 ? "..." : "",
						had_query ? "?..." : "");
	}
	curl_free(q);
	curl_free(full);
	curl_url_cleanup(u);
}

/* libcurl resolves a Location with these flags when it follows it (lib/transfer.c, Curl_follow). */
#if LIBCURL_VERSION_NUM >= 0x074e00
#define REDIRECT_URL_FLAGS	(CURLU_URLENCODE | CURLU_ALLOW_SPACE | CURLU_NON_SUPPORT_SCHEME)
#else
#define REDIRECT_URL_FLAGS	(CURLU_URLENCODE | CURLU_NON_SUPPORT_SCHEME)
#endif

/*
 * check_redirect judges the target of a Location header value [value,
 * value + len) of a 3xx response: resolved against the URL that answered,
 * it must pass netpolicy_check_url (the scheme and userinfo checks only,
 * without a policy).  False, with the reason kept, when it is refused.
 */
static bool
check_redirect(transfer_item *item, const char *value, size_t len)
{
	char	   *location;
	char	   *base = NULL;
	char	   *target = NULL;
	CURLU	   *u;
	CURLUcode	rc;
	char		why[300];
	char		shown[256];
	char		msg[sizeof(item->policy_error)];
	bool		ok = false;

	while (len > 0 && isspace((unsigned char) *value))
		value++, len--;
	while (len > 0 && isspace((unsigned char) value[len - 1]))
		len--;
	if (len == 0)
		return true;			/* libcurl ignores an empty Location too */
	location = strndup(value, len);
	u = curl_url();
	if (location == NULL || u == NULL ||
		curl_easy_getinfo(item->easy, CURLINFO_EFFECTIVE_URL, &base) != CURLE_OK || base == NULL ||
		curl_url_set(u, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		note_refusal(item, "redirect refused: cannot resolve its location", true);
	else if ((rc = curl_url_set(u, CURLUPART_URL, location, REDIRECT_URL_FLAGS)) != CURLUE_OK)
	{
		curl_message(why, sizeof(why), CURLE_OK, curl_url_strerror(rc));
		errbuf_printf(msg, sizeof(msg), "redirect refused: its location is not a valid url (%s)", why);
		note_refusal(item, msg, true);
	}
	else if (curl_url_get(u, CURLUPART_URL, &target, 0) != CURLUE_OK)
		note_refusal(item, "redirect refused: cannot resolve its location", true);
	else if (!netpolicy_check_url(item->policy, target, why, sizeof(why)))
	{
		shown_url(target, shown, sizeof(shown));
		errbuf_printf(msg, sizeof(msg), "redirect to \"%s\" refused: %s", shown, why);
		note_refusal(item, msg, true);
	}
	else
		ok = true;
	curl_free(target);
	curl_url_cleanup(u);
	free(location);
	return ok;
}

/*
 * dl_header is a download's header callback: it follows the status of each
 * response (forgetting a refused socket once a response came) and judges
 * the Location of a 3xx response before libcurl follows it.  Returning 0
 * aborts the transfer.
 */
static size_t
dl_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	transfer_item *item = userdata;
	size_t		len = size * nitems;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0)
	{
		size_t		i = 5;
		int			code = 0;

		while (i < len && !isspace((unsigned char) buf[i]))
			i++;
		while (i < len && buf[i] == ' ')
			i++;
		for (int d = 0; d < 3 && i < len && isdigit((unsigned char) buf[i]); d++, i++)
			code = code * 10 + (buf[i] - '0');
		item->hdr_status = code;
		if (!item->policy_hard)
			item->policy_error[0] = '\0';
	}
	else if (item->hdr_status >= 300 && item->hdr_status <= 399 &&
			 len >= 9 && strncasecmp(buf, "location:", 9) == 0)
	{
		if (!check_redirect(item, buf + 9, len - 9))
			return 0;
	}
	return len;
}

/*
 * open_socket is libcurl's open-socket callback: it refuses (CURL_SOCKET_BAD,
 * which libcurl takes as a failed connect) a socket for an address in a
 * denied network, and otherwise opens it as libcurl would, close-on-exec.
 */
static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	transfer_item *item = clientp;
	char		why[sizeof(item->policy_error)];

	(void) purpose;
	if (address->family == AF_INET6 && address->addrlen < sizeof(struct sockaddr_in6))
	{
		note_refusal(item, "connection refused: an ipv6 address too short to check", false);
		return CURL_SOCKET_BAD;
	}
	if (netpolicy_addr_denied(item->policy, &address->addr, why, sizeof(why)))
	{
		note_refusal(item, why, false);
		return CURL_SOCKET_BAD;
	}
#ifdef SOCK_CLOEXEC
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
#else
	return socket(address->family, address->socktype, address->protocol);
#endif
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * check_peer is libcurl's pre-request callback: the address of the
 * connection a request is about to use, new or reused from the cache, must
 * not be denied.  An address libcurl gives in a form inet_pton does not read
 * was opened through open_socket, and passes.
 */
static int
check_peer(void *clientp, char *conn_primary_ip, char *conn_local_ip,
		   int conn_primary_port, int conn_local_port)
{
	transfer_item *item = clientp;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa = NULL;
	char		why[sizeof(item->policy_error)];

	(void) conn_local_ip;
	(void) conn_primary_port;
	(void) conn_local_port;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (conn_primary_ip == NULL)
		return CURL_PREREQFUNC_OK;
	if (inet_pton(AF_INET, conn_primary_ip, &sin.sin_addr) == 1)
	{
		sin.sin_family = AF_INET;
		sa = (const struct sockaddr *) &sin;
	}
	else if (inet_pton(AF_INET6, conn_primary_ip, &sin6.sin6_addr) == 1)
	{
		sin6.sin6_family = AF_INET6;
		sa = (const struct sockaddr *) &sin6;
	}
	if (sa != NULL && netpolicy_addr_denied(item->policy, sa, why, sizeof(why)))
	{
		note_refusal(item, why, true);
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}
#endif

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)

/*
 * s3_sign appends the headers of a SigV4-signed S3 request to *headers:
 * Host, x-amz-date, x-amz-content-sha256 and Authorization (sigv4.c; not
 * libcurl's signer, see sigv4.h), signing exactly what is sent: the URL's
 * host, path and query, the content type when given, and the payload hash.
 * libcurl sends a custom Host or Authorization header to the URL's host
 * only, never to another host a redirect leads to.
 */
static CURLcode
s3_sign(struct curl_slist **headers, const char *method, const char *url, const char *content_type,
		const char *payload_sha, const char *region, const char *access_key, const char *secret_key)
{
	CURLU	   *u = curl_url();
	char	   *host = NULL;
	char	   *port = NULL;
	char	   *path = NULL;
	char	   *query = NULL;
	CURLcode	rc = CURLE_OUT_OF_MEMORY;
	char		hosthdr[300];
	char		amz_date[17];
	char		auth[512];
	char		line[640];
	sigv4_request req;

	if (u == NULL)
		return CURLE_OUT_OF_MEMORY;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
	{
		rc = CURLE_URL_MALFORMAT;
		goto done;
	}
	(void) curl_url_get(u, CURLUPART_PORT, &port, 0);	/* only a port the URL names */
	(void) curl_url_get(u, CURLUPART_QUERY, &query, 0);
	snprintf(hosthdr, sizeof(hosthdr), "%s%s%s", host, port ? ":" : "", port ? port : "");
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.host = hosthdr;
	req.path = path;
	req.query = query;
	req.content_type = content_type;
	req.payload_sha256 = payload_sha;
	req.region = region;
	req.service = "s3";
	req.access_key = access_key;
	req.secret_key = secret_key;
	req.when = time(NULL);
	if (!sigv4_sign(&req, amz_date, auth, sizeof(auth)))
		goto done;
	rc = CURLE_OK;
	{
		const char *lines[4][2] = {{"Host", hosthdr}, {"x-amz-date", amz_date},
		{"x-amz-content-sha256", payload_sha}, {"Authorization", auth}};

		for (int i = 0; i < 4 && rc == CURLE_OK; i++)
		{
			struct curl_slist *l;

			snprintf(line, sizeof(line), "%s: %s", lines[i][0], lines[i][1]);
			l = curl_slist_append(*headers, line);
			if (l == NULL)
				rc = CURLE_OUT_OF_MEMORY;
			else
				*headers = l;
		}
	}
done:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

/*
 * setup_common sets the options every request of the pool shares, download
 * or upload: the URL, the item as private data, the error buffer, no
 * signals, http(s) only, no userinfo, no failing on HTTP errors (the status
 * is judged by us), the User-Agent, the connect and low-speed limits, and
 * with a policy, the checks of each connection's address.
 */
static CURLcode
setup_common(transfer_item *item, CURL *e, const char *url, const char *user_agent,
			 long connect_timeout_s, long low_speed_limit, long low_speed_time_s)
{
	CURLcode	rc = CURLE_OK;

	SET(CURLOPT_URL, url);
	SET(CURLOPT_PRIVATE, (void *) item);
	SET(CURLOPT_ERRORBUFFER, item->curl_error);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, TRANSFER_PROTOCOLS);
	SET(CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
	SET(CURLOPT_FAILONERROR, 0L);
	/*
	 * No proxy from the server's environment (http_proxy, ALL_PROXY): the
	 * denied-network check must see the address actually connected to.
	 */
	SET(CURLOPT_NOPROXY, "*");
	if (item->policy != NULL)
	{
		SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
		SET(CURLOPT_OPENSOCKETDATA, (void *) item);
#if LIBCURL_VERSION_NUM >= 0x075000
		SET(CURLOPT_PREREQFUNCTION, check_peer);
		SET(CURLOPT_PREREQDATA, (void *) item);
#endif
	}
	if (user_agent != NULL)
		SET(CURLOPT_USERAGENT, user_agent);
	if (connect_timeout_s > 0)
		SET(CURLOPT_CONNECTTIMEOUT, connect_timeout_s);
	if (low_speed_limit > 0 && low_speed_time_s > 0)
	{
		SET(CURLOPT_LOW_SPEED_LIMIT, low_speed_limit);
		SET(CURLOPT_LOW_SPEED_TIME, low_speed_time_s);
	}
	return rc;
}

/*
 * setup_easy sets the options of a new download's easy handle.  Returns the
 * first option libcurl refuses, CURLE_OK when all are set.
 */
static CURLcode
setup_easy(transfer_item *item, const transfer_opts *opts)
{
	CURL	   *e = item->easy;
	CURLcode	rc = setup_common(item, e, opts->url, opts->user_agent, opts->connect_timeout_s,
								  opts->low_speed_limit, opts->low_speed_time_s);

	SET(CURLOPT_REDIR_PROTOCOLS_STR, TRANSFER_PROTOCOLS);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, opts->max_redirects);
	if (opts->total_timeout_s > 0)
		SET(CURLOPT_TIMEOUT, opts->total_timeout_s);
	SET(CURLOPT_BUFFERSIZE, TRANSFER_BUFFER_SIZE);
	SET(CURLOPT_WRITEFUNCTION, write_body);
	SET(CURLOPT_WRITEDATA, (void *) item);
	SET(CURLOPT_HEADERFUNCTION, dl_header);
	SET(CURLOPT_HEADERDATA, (void *) item);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xfer_progress);
	SET(CURLOPT_XFERINFODATA, (void *) item);
	if (opts->max_bytes > 0)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) opts->max_bytes);
	/* credentials; libcurl keeps them from hosts a redirect leads to */
	if (opts->s3_access_key != NULL)
	{
		/* the payload hash of a GET: the empty body's */
		if (rc == CURLE_OK)
			rc = s3_sign(&item->dl_headers, "GET", opts->url, NULL,
						 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
						 opts->s3_region ? opts->s3_region : "us-east-1",
						 opts->s3_access_key, opts->s3_secret_key ? opts->s3_secret_key : "");
	}
	else if (opts->username != NULL)
	{
		SET(CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, opts->username);
		SET(CURLOPT_PASSWORD, opts->password ? opts->password : "");
	}
	else if (opts->bearer_token != NULL)
	{
		char	   *line = malloc(strlen(opts->bearer_token) + 32);

		if (line != NULL)
		{
			sprintf(line, "Authorization: Bearer %s", opts->bearer_token);
			item->dl_headers = curl_slist_append(NULL, line);
			explicit_bzero(line, strlen(line));
			free(line);
		}
		if (item->dl_headers == NULL)
			rc = CURLE_OUT_OF_MEMORY;
	}
	if (opts->s3_access_key != NULL && item->dl_headers == NULL && rc == CURLE_OK)
		rc = CURLE_OUT_OF_MEMORY;
	/* another method (the list kind's PROPFIND, a HEAD) and more headers */
	if (opts->method != NULL && strcmp(opts->method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (opts->method != NULL)
		SET(CURLOPT_CUSTOMREQUEST, opts->method);
	for (int i = 0; opts->headers != NULL && opts->headers[i] != NULL && rc == CURLE_OK; i++)
	{
		struct curl_slist *h = curl_slist_append(item->dl_headers, opts->headers[i]);

		if (h == NULL)
			rc = CURLE_OUT_OF_MEMORY;
		else
			item->dl_headers = h;
	}
	if (item->dl_headers != NULL)
		SET(CURLOPT_HTTPHEADER, item->dl_headers);
	return rc;
}

/*
 * check_opts validates everything but the URL and the file: the expected
 * checksum, the limits, the destination path, and that no running transfer
 * has the same job id or destination.
 */
static bool
check_opts(transfer_pool *pool, const transfer_opts *opts, char *err, size_t errlen)
{
	const char *base;

	if (opts->dest_path == NULL || opts->dest_path[0] != '/')
	{
		errbuf_printf(err, errlen, "dest_path must be an absolute path");
		return false;
	}
	base = strrchr(opts->dest_path, '/') + 1;
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
	{
		errbuf_printf(err, errlen, "dest_path must name a file");
		return false;
	}
	if (opts->expected_sha256 != NULL)
	{
		size_t		n = strlen(opts->expected_sha256);

		if (n != 64 || strspn(opts->expected_sha256, "0123456789abcdefABCDEF") != 64)
		{
			errbuf_printf(err, errlen, "expected_sha256 must be 64 hex digits");
			return false;
		}
	}
	if (opts->connect_timeout_s < 0 || opts->total_timeout_s < 0 ||
		opts->low_speed_limit < 0 || opts->low_speed_time_s < 0 ||
		opts->max_bytes < 0 || opts->max_redirects < 0)
	{
		errbuf_printf(err, errlen, "timeouts, speed limits, max_bytes and max_redirects must not be negative");
		return false;
	}
	for (transfer_item *item = pool->head; item != NULL; item = item->next)
	{
		if (item->result.job_id == opts->job_id)
		{
			errbuf_printf(err, errlen, "job %lld already has a transfer", (long long) opts->job_id);
			return false;
		}
		if (!item->finished && item->dest_path != NULL &&
			strcmp(item->dest_path, opts->dest_path) == 0)
		{
			errbuf_printf(err, errlen, "another transfer is writing \"%s\"", opts->dest_path);
			return false;
		}
	}
	return true;
}

/*
 * open_part opens the destination's directory (held until the item is
 * freed: the file is renamed in the directory it was created in, whatever
 * happens to the path meanwhile) and creates "<dest>.part" in it.  The file
 * is opened without following a symbolic link, without blocking (a FIFO
 * would block a write-only open) and without truncating, then checked: a
 * symbolic link, anything but a regular file, or a file with other hard
 * links (truncating it would truncate them) is refused, not retryable, and
 * left alone; a "<dest>" that is a symbolic link or not a regular file is
 * refused too.  Only then is an old .part of ours truncated.  Messages name
 * the file by its base name, except errno's (as before: the full path).
 */
static bool
open_part(transfer_item *item, char *err, size_t errlen, bool *retryable)
{
	const char *slash = strrchr(item->dest_path, '/');
	char	   *dir;
	struct stat st;
	int			fd;
	int			flags;

	dir = strndup(item->dest_path, slash == item->dest_path ? 1 : (size_t) (slash - item->dest_path));
	if (dir == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		*retryable = true;
		return false;
	}
	item->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (item->dir_fd < 0)
	{
		int			e = errno;

		errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_path, strerror(e));
		*retryable = errno_transient(e);
		return false;
	}
	if (fstatat(item->dir_fd, item->dest_base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
	{
		errbuf_printf(err, errlen, "cannot download to \"%s\": it is %s", item->dest_base,
					S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		return false;
	}

	fd = openat(item->dir_fd, item->part_base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		int			e = errno;

		if (e == ELOOP)
			errbuf_printf(err, errlen, "cannot create \"%s\": it is a symbolic link", item->part_base);
		else if (e == EISDIR || e == ENXIO || e == ENODEV || e == ETXTBSY)
			errbuf_printf(err, errlen, "cannot create \"%s\": it is not a regular file", item->part_base);
		else
		{
			errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_path, strerror(e));
			*retryable = errno_transient(e);
		}
		return false;
	}
	if (fstat(fd, &st) != 0)
	{
		int			e = errno;

		errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_path, strerror(e));
		*retryable = errno_transient(e);
		close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink > 1)
	{
		errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_base,
					S_ISREG(st.st_mode) ? "it has other hard links" : "it is not a regular file");
		close(fd);
		return false;
	}
	if (ftruncate(fd, 0) != 0 ||
		(flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
	{
		int			e = errno;

		errbuf_printf(err, errlen, "cannot truncate \"%s\": %s", item->part_path, strerror(e));
		*retryable = errno_transient(e);
		close(fd);
		return false;
	}
	item->fd = fd;
	return true;
}

/*
 * transfer_start checks the options and the URL (with the policy, when
 * there is one), creates "<dest>.part" (truncating an old one of ours, see
 * open_part), sets up an easy handle and adds it to the pool's multi
 * handle.  Only failures that may pass (no memory, no file descriptors, a
 * full disk) are retryable.
 */
bool
transfer_start(transfer_pool *pool, const transfer_opts *opts,
			   char *err, size_t errlen, bool *retryable)
{
	transfer_item *item;
	size_t		dlen;
	CURLcode	rc;
	CURLMcode	mrc;
	bool		again = false;

	if (retryable != NULL)
		*retryable = false;
	errbuf_printf(err, errlen, "%s", "");
	if (pool == NULL || opts == NULL)
	{
		errbuf_printf(err, errlen, "no transfer pool or options");
		return false;
	}
	if (!transfer_check_url(opts->url, err, errlen, NULL, 0))
		return false;
	if (opts->policy != NULL && !netpolicy_check_url(opts->policy, opts->url, err, errlen))
		return false;
	if (!check_opts(pool, opts, err, errlen))
		return false;

	item = calloc(1, sizeof(*item));
	dlen = strlen(opts->dest_path);
	if (item != NULL)
	{
		item->fd = -1;
		item->dir_fd = -1;
		item->dest_path = strdup(opts->dest_path);
		item->part_path = malloc(dlen + sizeof(".part"));
		if (opts->policy != NULL)
			item->policy = netpolicy_copy(opts->policy);
	}
	if (item == NULL || item->dest_path == NULL || item->part_path == NULL ||
		(opts->policy != NULL && item->policy == NULL))
	{
		if (item != NULL)
		{
			free(item->dest_path);
			free(item->part_path);
			netpolicy_free(item->policy);
			free(item);
		}
		errbuf_printf(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		return false;
	}
	memcpy(item->part_path, opts->dest_path, dlen);
	memcpy(item->part_path + dlen, ".part", sizeof(".part"));
	item->dest_base = strrchr(item->dest_path, '/') + 1;
	item->part_base = strrchr(item->part_path, '/') + 1;
	item->pool = pool;
	item->result.job_id = opts->job_id;
	item->result.state = TRANSFER_RUNNING;
	item->max_bytes = opts->max_bytes;
	item->has_auth = opts->s3_access_key != NULL || opts->username != NULL || opts->bearer_token != NULL;
	if (opts->credential_name != NULL && (item->credential_name = strdup(opts->credential_name)) == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		free_item(pool, item);
		return false;
	}
	if (opts->expected_sha256 != NULL)
		for (int i = 0; i < 65; i++)
			item->expected[i] = (char) tolower((unsigned char) opts->expected_sha256[i]);
	sha256_init(&item->sha);

	if (!open_part(item, err, errlen, &again))
	{
		if (retryable != NULL)
			*retryable = again;
		/* not ours to remove: it may be another process's file */
		free(item->part_path);
		item->part_path = NULL;
		free_item(pool, item);
		return false;
	}

	item->easy = curl_easy_init();
	if (item->easy == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		free_item(pool, item);
		return false;
	}
	rc = setup_easy(item, opts);
	if (rc != CURLE_OK)
	{
		errbuf_printf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
		curl_easy_cleanup(item->easy);
		item->easy = NULL;
		free_item(pool, item);
		return false;
	}
	mrc = curl_multi_add_handle(pool->multi, item->easy);
	if (mrc != CURLM_OK)
	{
		errbuf_printf(err, errlen, "cannot add the transfer: %s", curl_multi_strerror(mrc));
		if (retryable != NULL)
			*retryable = mrc == CURLM_OUT_OF_MEMORY;
		curl_easy_cleanup(item->easy);
		item->easy = NULL;
		free_item(pool, item);
		return false;
	}

	if (pool->tail != NULL)
		pool->tail->next = item;
	else
		pool->head = item;
	pool->tail = item;
	pool->count++;
	return true;
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

	if (item == NULL || item->finished || item->cancelled || item->aborting)
		return false;
	item->cancelled = true;
	if (item->up != NULL)
	{
		upload_cancel(pool, item);
		return true;
	}
	detach_easy(pool, item);
	item->result.bytes = item->bytes;
	item->result.state = TRANSFER_CANCELLED;
	item->result.retryable = false;
	release_part(item);
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
			finish_item(pool, item, msg->data.result);
	}
	for (transfer_item *item = pool->head; item != NULL; item = item->next)
		if (item->finished)
			return true;
	return false;
}

/*
 * transfer_poll lets libcurl work, waits on its sockets for at most
 * timeout_ms when nothing is ready to report, and hands out up to max
 * results in start order.  Results beyond max wait for the next call.
 * Returns at once when the pool is empty.
 */
int
transfer_poll(transfer_pool *pool, int timeout_ms, transfer_result *out, int max)
{
	int			running = 0;
	int			n = 0;
	bool		hashing;
	transfer_item *prev = NULL;
	transfer_item *item;

	if (pool == NULL || pool->head == NULL)
		return 0;
	if (timeout_ms < 0)
		timeout_ms = 0;

	pool->kick = false;
	hashing = upload_hash_check(pool);
	curl_multi_perform(pool->multi, &running);
	/* an upload's hash thread ends with curl_multi_wakeup: wait for it too */
	if (!collect_done(pool) && (running > 0 || pool->kick || hashing))
	{
		pool->kick = false;
		curl_multi_poll(pool->multi, NULL, 0, timeout_ms, NULL);
		curl_multi_perform(pool->multi, &running);
		collect_done(pool);
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
			free_item(pool, item);
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

/* ------------------------------------------------------------------------
 * Uploads.
 *
 *	  An upload is a transfer_item too (same list, job ids, poll, cancel),
 *	  with an upload_state: a small step machine that runs one request at a
 *	  time on the pool's multi handle.  Its fd is the source file, read with
 *	  pread at the offset of the current body (the whole file, or one S3
 *	  part), so a rewind or a part is only a different offset.  For S3 the
 *	  file's SHA-256, MD5 and each part's SHA-256 are computed before the
 *	  first request (S3 signs the payload hash before sending it), on a
 *	  thread of the upload's own (upload_hash_start), so that the worker's
 *	  loop, other transfers, cancels and SIGTERM do not wait for it.  HTTP and
 *	  WebDAV uploads take the SHA-256 only when asked (compute_sha256), as
 *	  the body is sent, through the hash helper.
 *
 *	  Speed.  Without the hash, a PUT does per byte what the curl tool does,
 *	  and less per call: up_read preads straight into libcurl's upload
 *	  buffer (UPLOAD_BUFFER_SIZE) and libcurl sends from there, so every
 *	  byte is copied twice (page cache to buffer, buffer to socket), as
 *	  curl's fread and send do, but with one pread and one send per 2 MiB
 *	  where curl makes a read, a send, two polls and three sigactions per
 *	  64 KiB.  A 1 GiB PUT to a local nginx takes 0.25-0.3 s of CPU here,
 *	  curl -T 0.35-0.45 s; smaller buffers cost more (64 KiB: 0.35 s,
 *	  256 KiB: 0.30 s).  The hash would be a third pass: 0.55 s more (the
 *	  copy to the helper and SHA-256, with the SHA extensions), which on a
 *	  machine of 2 cores shared with the receiving server is wall-clock time.
 *
 *	  Credentials live only in the upload_state and libcurl's handle, are
 *	  wiped when it is freed, and never go into a message: step errors name
 *	  the step and the status ("mkcol failed: http status 401").
 * ------------------------------------------------------------------------
 */

/* S3 limits: parts of at least 5 MiB (but the last), at most 10000 of them. */
#define S3_MIN_PART_SIZE		(5LL * 1024 * 1024)
#define S3_DEFAULT_PART_SIZE	(8LL * 1024 * 1024)
#define S3_MAX_PARTS			10000

/* libcurl's upload buffer, its maximum: one pread and one send per this many bytes (see above). */
#define UPLOAD_BUFFER_SIZE		(2L * 1024 * 1024)

/* Response bodies kept for parsing (S3's XML answers); the rest is dropped. */
#define UPLOAD_RESP_MAX			(64 * 1024)

/* SHA-256 of nothing: the payload hash of an empty S3 request. */
#define EMPTY_SHA256	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef enum upload_step
{
	UP_MKCOL,
	UP_PUT,
	UP_HEAD,
	UP_S3_INIT,
	UP_S3_PART,
	UP_S3_COMPLETE,
	UP_S3_ABORT
} upload_step;

typedef struct upload_state
{
	transfer_upload_target target;
	upload_step step;
	char	   *url;			/* the object's URL, as given */
	char	   *url_shown;		/* the same without user:password, for results */
	char	   *src_path;
	char	   *user_agent;
	char	  **mkcol;			/* WebDAV collections, parents first */
	int			nmkcol;
	int			mkcol_i;
	char	   *username;		/* basic auth, or NULL */
	char	   *password;
	char	   *bearer;			/* "Authorization: Bearer ..." header line, or NULL */
	char	   *s3_region;		/* S3: the region requests are signed for */
	char	   *access_key;
	char	   *secret_key;
	char	   *credential_name;	/* for messages, or NULL */
	long		connect_timeout_s;
	long		low_speed_limit;
	long		low_speed_time_s;
	int64_t		size;			/* of the file */
	int64_t		part_size;
	char		sha256[65];		/* of the file */
	char		md5[33];		/* of the file (S3 only) */
	bool		inline_hash;	/* HTTP/WebDAV: the SHA-256 is taken as the body is sent */
	bool		inline_broken;	/* the body was not read in order: hash the file at the end */
	int64_t		hashed_upto;	/* bytes of the file hashed so far (into the item's sha) */
	bool		multipart;
	int			nparts;
	int			part_i;			/* the part being sent, 0-based */
	char	  (*part_sha)[65];	/* each part's SHA-256 */
	char	  **part_etag;		/* each part's ETag, as returned */
	char	   *upload_id;		/* S3 multipart: once initiated */
	char	   *post;			/* the body of the current POST (kept while it runs) */
	struct curl_slist *headers; /* of the current request */
	int64_t		body_off;		/* the current request's body: file offset, length, sent */
	int64_t		body_len;
	int64_t		body_pos;
	int64_t		sent_done;		/* body bytes of the requests already finished */
	bool		source_short;	/* the file ended before body_len: it shrank */
	char	   *resp;			/* the current response's body (up to UPLOAD_RESP_MAX) */
	size_t		resp_len;
	char		etag_hdr[256];	/* the current response's ETag header, "" when none */
	char		etag[256];		/* the ETag kept for the result */
	long		fail_status;	/* the failed request's status, kept through an abort */
	/* S3: the file is hashed on a thread of its own before the first request (see hash_source) */
	bool		hashing;		/* the thread was started and is not joined yet */
	pthread_t	hash_thread;
	atomic_int	hash_done;		/* 0: running, 1: hashed, 2: failed (hash_errno) */
	atomic_bool hash_stop;		/* the upload was cancelled or freed: stop reading */
	int			hash_errno;
	char		post_sha[65];	/* SHA-256 of post */
} upload_state;

/* wipe_free clears a secret and frees it. */
static void
wipe_free(char *s)
{
	if (s != NULL)
	{
		volatile char *v = s;

		while (*v)
			*v++ = '\0';
		free(s);
	}
}

/* dup_or_null copies s (NULL stays NULL); *oom is set when memory ran out. */
static char *
dup_or_null(const char *s, bool *oom)
{
	char	   *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

static void
upload_free(upload_state *up)
{
	if (up == NULL)
		return;
	free(up->url);
	free(up->url_shown);
	free(up->src_path);
	free(up->user_agent);
	for (int i = 0; i < up->nmkcol; i++)
		free(up->mkcol[i]);
	free(up->mkcol);
	free(up->username);
	wipe_free(up->password);
	wipe_free(up->bearer);
	free(up->s3_region);
	free(up->access_key);
	wipe_free(up->secret_key);
	free(up->credential_name);
	free(up->part_sha);
	if (up->part_etag != NULL)
		for (int i = 0; i < up->nparts; i++)
			free(up->part_etag[i]);
	free(up->part_etag);
	free(up->upload_id);
	free(up->post);
	curl_slist_free_all(up->headers);
	free(up->resp);
	free(up);
}

/*
 * strip_userinfo returns url without "user:password@", as a new string
 * (NULL when out of memory; the URL was checked already).
 */
static char *
strip_userinfo(const char *url)
{
	CURLU	   *u = curl_url();
	char	   *out = NULL;
	char	   *res = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		res = strdup(out);
	curl_free(out);
	curl_url_cleanup(u);
	return res;
}

/* contains_secret: s holds secret (a non-empty one). */
static bool
contains_secret(const char *s, const char *secret)
{
	return secret != NULL && secret[0] != '\0' && strstr(s, secret) != NULL;
}

/* scrub_result makes sure no secret of the upload is in its error or URL. */
static void
scrub_result(transfer_item *item)
{
	upload_state *up = item->up;
	const char *secrets[3] = {up->password, up->bearer ? up->bearer + strlen("Authorization: Bearer ") : NULL,
	up->secret_key};

	for (int i = 0; i < 3; i++)
	{
		if (contains_secret(item->result.error, secrets[i]))
			copy_text(item->result.error, sizeof(item->result.error), "upload failed (message withheld: it held a credential)");
		if (contains_secret(item->result.effective_url, secrets[i]))
			item->result.effective_url[0] = '\0';
	}
}

/* up_detach takes the current request's handle away, keeping status and URL (without userinfo). */
static void
up_detach(transfer_pool *pool, transfer_item *item)
{
	upload_state *up = item->up;
	char	   *shown;

	detach_easy(pool, item);
	item->result.content_type[0] = '\0';
	if (item->result.effective_url[0] != '\0')
	{
		shown = strip_userinfo(item->result.effective_url);
		copy_text(item->result.effective_url, sizeof(item->result.effective_url), shown ? shown : "");
		free(shown);
	}
	curl_slist_free_all(up->headers);
	up->headers = NULL;
	free(up->post);
	up->post = NULL;
	up->resp_len = 0;
	item->ul_now = 0;
}

static void
upload_progress(transfer_item *item, int64_t *done, int64_t *total)
{
	upload_state *up = item->up;
	int64_t		d;

	if (item->finished)
		d = item->result.state == TRANSFER_DONE ? up->size : item->result.bytes;
	else
	{
		d = up->sent_done + item->ul_now;
		if (d > up->size)
			d = up->size;
	}
	if (done != NULL)
		*done = d;
	if (total != NULL)
		*total = up->size;
}

static bool hash_source(int fd, upload_state *up);

/* up_read is libcurl's read callback: the current body, from the file at its offset. */
static size_t
up_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	transfer_item *item = userdata;
	upload_state *up = item->up;
	size_t		want = size * nitems;
	int64_t		left = up->body_len - up->body_pos;

	if (item->cancelled)
		return CURL_READFUNC_ABORT;
	if (left <= 0)
		return 0;
	if ((int64_t) want > left)
		want = (size_t) left;
	for (;;)
	{
		ssize_t		n = pread(item->fd, buf, want, (off_t) (up->body_off + up->body_pos));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			item->write_errno = errno;
			return CURL_READFUNC_ABORT;
		}
		if (n == 0)
		{
			up->source_short = true;
			return CURL_READFUNC_ABORT;
		}
		if (up->inline_hash && !up->inline_broken)
		{
			/* hash each byte once, in order; a resend of hashed bytes is skipped */
			int64_t		pos = up->body_off + up->body_pos;

			if (pos > up->hashed_upto)
				up->inline_broken = true;
			else if (pos + n > up->hashed_upto)
			{
				stage_hash(item, (const uint8_t *) buf + (up->hashed_upto - pos),
						   (size_t) (pos + n - up->hashed_upto));
				up->hashed_upto = pos + n;
			}
		}
		up->body_pos += n;
		return (size_t) n;
	}
}

/* up_seek is libcurl's seek callback (a rewind to resend the body). */
static int
up_seek(void *userdata, curl_off_t offset, int origin)
{
	transfer_item *item = userdata;
	upload_state *up = item->up;

	if (origin != SEEK_SET || offset < 0 || offset > up->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	up->body_pos = offset;
	return CURL_SEEKFUNC_OK;
}

/* up_write keeps the start of a response body (S3 answers in XML). */
static size_t
up_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	transfer_item *item = userdata;
	upload_state *up = item->up;
	size_t		len = size * nmemb;
	size_t		take = len;

	if (up->resp == NULL)
		return len;
	if (take > UPLOAD_RESP_MAX - up->resp_len)
		take = UPLOAD_RESP_MAX - up->resp_len;
	memcpy(up->resp + up->resp_len, ptr, take);
	up->resp_len += take;
	up->resp[up->resp_len] = '\0';
	return len;
}

/* strip_etag copies an ETag without white space, a W/ prefix, quotes or &quot;. */
static void
strip_etag(char *dst, size_t dstlen, const char *src, size_t len)
{
	while (len > 0 && isspace((unsigned char) *src))
		src++, len--;
	while (len > 0 && isspace((unsigned char) src[len - 1]))
		len--;
	if (len >= 2 && strncmp(src, "W/", 2) == 0)
		src += 2, len -= 2;
	if (len >= 12 && strncmp(src, "&quot;", 6) == 0 && strncmp(src + len - 6, "&quot;", 6) == 0)
		src += 6, len -= 12;
	else if (len >= 2 && src[0] == '"' && src[len - 1] == '"')
		src++, len -= 2;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * up_header notes the ETag of the final response; a status line also
 * forgets a socket the policy refused (another address served the request).
 */
static size_t
up_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	transfer_item *item = userdata;
	upload_state *up = item->up;
	size_t		len = size * nitems;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0)
	{
		up->etag_hdr[0] = '\0';
		if (!item->policy_hard)
			item->policy_error[0] = '\0';
	}
	else if (len > 5 && strncasecmp(buf, "etag:", 5) == 0)
		strip_etag(up->etag_hdr, sizeof(up->etag_hdr), buf + 5, len - 5);
	return len;
}

/* xml_text finds <tag>text</tag> in xml and copies text; false when missing or empty. */
static bool
xml_text(const char *xml, const char *tag, char *out, size_t outlen)
{
	char		open[64];
	char		close_[64];
	const char *a;
	const char *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close_, sizeof(close_), "</%s>", tag);
	if (xml == NULL || (a = strstr(xml, open)) == NULL)
		return false;
	a += strlen(open);
	if ((b = strstr(a, close_)) == NULL || b == a || (size_t) (b - a) >= outlen)
		return false;
	memcpy(out, a, (size_t) (b - a));
	out[b - a] = '\0';
	return true;
}

/* clean_text copies at most n bytes of server text, control characters as spaces. */
static void
clean_text(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t		i;

	if (dstlen == 0)
		return;
	for (i = 0; i < n && i + 1 < dstlen && src[i] != '\0'; i++)
		dst[i] = (unsigned char) src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	dst[i] = '\0';
}

/*
 * describe_status explains a refused request (see transfer.h): a status
 * that says the credentials were not accepted (401, 403, or S3's codes for
 * a bad signature or key) names the credential, the host and the request;
 * any other is "[<step> failed: ]http status <n>".  S3's error code and
 * message are added when body is S3's <Error>.  has_auth: credentials were
 * sent.
 */
static void
describe_status(char *out, size_t outlen, const char *step, const char *request,
				const char *url, long code, const char *body, bool has_auth,
				const char *credential)
{
	static const char *const auth_codes[] = {"AccessDenied", "AuthorizationHeaderMalformed",
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
	"RequestTimeTooSkewed", "InvalidSecurity", NULL};
	char		s3code[64] = "";
	char		s3msg[256] = "";
	char		raw[256];
	char		detail[400] = "";
	bool		auth = false;

	if (body != NULL && strstr(body, "<Error>") != NULL)
	{
		if (xml_text(body, "Code", raw, sizeof(raw)))
			clean_text(s3code, sizeof(s3code), raw, strlen(raw));
		if (xml_text(body, "Message", raw, sizeof(raw)))
			clean_text(s3msg, sizeof(s3msg), raw, strlen(raw));
	}
	if (has_auth)
	{
		auth = code == 401 || code == 403;
		for (int i = 0; auth_codes[i] != NULL && !auth; i++)
			auth = strcmp(s3code, auth_codes[i]) == 0;
	}
	if (s3code[0] != '\0')
		snprintf(detail, sizeof(detail), "%s%s%s", s3code, s3msg[0] ? ": " : "", s3msg);
	if (auth)
	{
		CURLU	   *u = curl_url();
		char	   *host = NULL;
		char	   *port = NULL;
		char	   *path = NULL;
		char		where[300];

		if (u != NULL && url != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
		{
			(void) curl_url_get(u, CURLUPART_HOST, &host, 0);
			(void) curl_url_get(u, CURLUPART_PORT, &port, 0);
			(void) curl_url_get(u, CURLUPART_PATH, &path, 0);
		}
		snprintf(where, sizeof(where), "%s%s%s", host ? host : "the server", port ? ":" : "", port ? port : "");
		if (credential != NULL)
			errbuf_printf(out, outlen, "credential \"%s\" was refused by %s (%s %s): http status %ld%s%s",
						  credential, where, request, path ? path : "/", code, detail[0] ? ", " : "", detail);
		else
			errbuf_printf(out, outlen, "the credentials were refused by %s (%s %s): http status %ld%s%s",
						  where, request, path ? path : "/", code, detail[0] ? ", " : "", detail);
		curl_free(host);
		curl_free(port);
		curl_free(path);
		curl_url_cleanup(u);
		return;
	}
	errbuf_printf(out, outlen, "%s%shttp status %ld%s%s%s", step ? step : "", step ? " failed: " : "",
				  code, detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
}

/* query_url makes "<url>?<query>" (or "&" when url has a query already). */
static char *
query_url(const char *url, const char *query)
{
	size_t		n = strlen(url) + strlen(query) + 2;
	char	   *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%c%s", url, strchr(url, '?') ? '&' : '?', query);
	return s;
}

static const char *
step_name(const upload_state *up, char *buf, size_t len)
{
	switch (up->step)
	{
		case UP_MKCOL:
			return "mkcol";
		case UP_PUT:
			return "put";
		case UP_HEAD:
			return "head";
		case UP_S3_INIT:
			return "s3 initiate multipart upload";
		case UP_S3_PART:
			snprintf(buf, len, "s3 upload part %d", up->part_i + 1);
			return buf;
		case UP_S3_COMPLETE:
			return "s3 complete multipart upload";
		case UP_S3_ABORT:
			return "s3 abort multipart upload";
	}
	return "upload";
}

static bool upload_start_step(transfer_pool *pool, transfer_item *item);
static void upload_fail(transfer_pool *pool, transfer_item *item, bool retryable, const char *fmt,...) MLOPS_PRINTF(4, 5);

/*
 * upload_finish_stopped ends a failed upload (its error is in the result
 * already) or a cancelled one (its error says why its abort failed, or is
 * empty), once any S3 abort is over.  The status is the failed or cancelled
 * request's, not the abort's.
 */
static void
upload_finish_stopped(transfer_item *item)
{
	upload_state *up = item->up;

	item->aborting = false;
	item->bytes = up->sent_done;
	item->result.bytes = item->bytes;
	item->result.http_status = up->fail_status;
	if (item->cancelled)
	{
		item->result.state = TRANSFER_CANCELLED;
		item->result.retryable = false;
		if (up->url_shown != NULL)
			copy_text(item->result.effective_url, sizeof(item->result.effective_url), up->url_shown);
	}
	else
		item->result.state = TRANSFER_FAILED;
	item->result.sha256[0] = '\0';
	copy_text(item->result.etag, sizeof(item->result.etag), "");
	release_part(item);
	scrub_result(item);
	item->finished = true;
}

/*
 * upload_fail fails the upload with a message; an initiated S3 multipart
 * upload is aborted first (best effort: the abort's outcome changes nothing).
 */
static void
upload_fail(transfer_pool *pool, transfer_item *item, bool retryable, const char *fmt,...)
{
	upload_state *up = item->up;
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(item->result.error, sizeof(item->result.error), fmt, ap);
	va_end(ap);
	item->result.retryable = retryable;
	up->fail_status = item->result.http_status;
	if (up->upload_id != NULL && up->step != UP_S3_ABORT)
	{
		up->step = UP_S3_ABORT;
		upload_start_step(pool, item);	/* finishes the upload itself when it cannot */
		return;
	}
	upload_finish_stopped(item);
}

/*
 * upload_cancel is transfer_cancel's part for uploads: the running request
 * leaves the multi handle, and an S3 multipart upload with an UploadId is
 * aborted (reported CANCELLED when the abort is over); any other upload is
 * CANCELLED at once.
 */
static void
upload_cancel(transfer_pool *pool, transfer_item *item)
{
	upload_state *up = item->up;

	upload_hash_join(up);		/* stops within one read: the file is about to close */
	up_detach(pool, item);
	up->fail_status = item->result.http_status;
	item->result.error[0] = '\0';
	if (up->upload_id != NULL)
	{
		up->step = UP_S3_ABORT;
		upload_start_step(pool, item);	/* finishes the upload itself when it cannot */
		return;
	}
	upload_finish_stopped(item);
}

/* upload_done ends a successful upload. */
static void
upload_done(transfer_item *item)
{
	upload_state *up = item->up;

	item->bytes = up->size;
	item->result.bytes = up->size;
	if (up->inline_hash)
	{
		uint8_t		digest[32];

		if (!up->inline_broken && up->hashed_upto == up->size)
		{
			hash_slot(item);	/* the last, partly filled slot */
			wait_hashed(item, 0);
			sha256_final(&item->sha, digest);
			sha256_hex(digest, up->sha256);
		}
		else if (!hash_source(item->fd, up))
			up->sha256[0] = '\0';
		release_stage(item);
		up->inline_hash = false;
	}
	memcpy(item->result.sha256, up->sha256, sizeof(up->sha256));
	copy_text(item->result.etag, sizeof(item->result.etag), up->etag);
	if (up->url_shown != NULL)
		copy_text(item->result.effective_url, sizeof(item->result.effective_url), up->url_shown);
	item->result.state = TRANSFER_DONE;
	item->result.retryable = false;
	item->result.error[0] = '\0';
	release_part(item);
	scrub_result(item);
	item->finished = true;
}

/*
 * upload_start_step makes the easy handle of the current step and adds it to
 * the multi handle.  False (with the upload failed, or finished failed when
 * it was the abort) when it cannot.
 */
static bool
upload_start_step(transfer_pool *pool, transfer_item *item)
{
	upload_state *up = item->up;
	CURL	   *e;
	CURLcode	rc = CURLE_OK;
	char	   *url = NULL;
	char	   *owned_url = NULL;
	const char *payload_sha = EMPTY_SHA256;
	bool		oom = false;
	char		hdr[128];

	item->curl_error[0] = '\0';
	item->policy_error[0] = '\0';
	item->policy_hard = false;
	up->etag_hdr[0] = '\0';
	up->body_off = up->body_len = up->body_pos = 0;
	up->source_short = false;
	item->ul_now = 0;

	switch (up->step)
	{
		case UP_MKCOL:
			url = up->mkcol[up->mkcol_i];
			break;
		case UP_PUT:
		case UP_HEAD:
			url = up->url;
			up->body_len = up->step == UP_PUT ? up->size : 0;
			payload_sha = up->sha256;
			break;
		case UP_S3_INIT:
			url = owned_url = query_url(up->url, "uploads=");
			break;
		case UP_S3_PART:
			{
				char	   *id = curl_easy_escape(NULL, up->upload_id, 0);
				char		q[1024];

				if (id != NULL)
				{
					snprintf(q, sizeof(q), "partNumber=%d&uploadId=%s", up->part_i + 1, id);
					url = owned_url = query_url(up->url, q);
				}
				curl_free(id);
				up->body_off = (int64_t) up->part_i * up->part_size;
				up->body_len = up->size - up->body_off < up->part_size ? up->size - up->body_off : up->part_size;
				payload_sha = up->part_sha[up->part_i];
				break;
			}
		case UP_S3_COMPLETE:
		case UP_S3_ABORT:
			{
				char	   *id = curl_easy_escape(NULL, up->upload_id, 0);
				char		q[1024];

				if (id != NULL)
				{
					snprintf(q, sizeof(q), "uploadId=%s", id);
					url = owned_url = query_url(up->url, q);
				}
				curl_free(id);
				break;
			}
	}
	if (url == NULL)
		oom = true;

	if (!oom && up->step == UP_S3_COMPLETE)
	{
		size_t		cap = 128 + (size_t) up->nparts * (64 + 260);
		size_t		n;
		sha256_ctx	ctx;
		uint8_t		digest[32];

		up->post = malloc(cap);
		if (up->post == NULL)
			oom = true;
		else
		{
			n = (size_t) snprintf(up->post, cap, "<CompleteMultipartUpload>");
			for (int i = 0; i < up->nparts; i++)
				n += (size_t) snprintf(up->post + n, cap - n,
									   "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
									   i + 1, up->part_etag[i]);
			n += (size_t) snprintf(up->post + n, cap - n, "</CompleteMultipartUpload>");
			sha256_init(&ctx);
			sha256_update(&ctx, up->post, n);
			sha256_final(&ctx, digest);
			sha256_hex(digest, up->post_sha);
			payload_sha = up->post_sha;
		}
	}
	/* S3 answers in XML: its results, and its errors (see describe_status) */
	if (!oom && up->target == UPLOAD_S3)
	{
		up->resp = up->resp != NULL ? up->resp : malloc(UPLOAD_RESP_MAX + 1);
		if (up->resp == NULL)
			oom = true;
		else
			up->resp[0] = '\0';
		up->resp_len = 0;
	}

	e = oom ? NULL : curl_easy_init();
	if (e == NULL)
	{
		free(owned_url);
		if (up->step == UP_S3_ABORT)
			upload_finish_stopped(item);
		else
			upload_fail(pool, item, true, "out of memory");
		return false;
	}
	item->easy = e;

#define ADD_HEADER(line) \
	do { \
		struct curl_slist *l_ = curl_slist_append(up->headers, (line)); \
		if (l_ == NULL) \
			rc = CURLE_OUT_OF_MEMORY; \
		else \
			up->headers = l_; \
	} while (0)

	rc = setup_common(item, e, url, up->user_agent, up->connect_timeout_s,
					  up->low_speed_limit, up->low_speed_time_s);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_WRITEFUNCTION, up_write);
	SET(CURLOPT_WRITEDATA, (void *) item);
	SET(CURLOPT_HEADERFUNCTION, up_header);
	SET(CURLOPT_HEADERDATA, (void *) item);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xfer_progress);
	SET(CURLOPT_XFERINFODATA, (void *) item);

	/* Expect: 100-continue only costs a round trip (or a second, with servers that ignore it) */
	ADD_HEADER("Expect:");
	if (up->target == UPLOAD_S3)
	{
		/* the content type is signed: sent here, and nowhere else */
		const char *ctype = up->step == UP_S3_COMPLETE ? "application/xml" :
			up->step == UP_S3_ABORT ? NULL : "application/octet-stream";
		const char *method = up->step == UP_S3_INIT || up->step == UP_S3_COMPLETE ? "POST" :
			up->step == UP_S3_ABORT ? "DELETE" : "PUT";

		if (ctype != NULL)
		{
			snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
			ADD_HEADER(hdr);
		}
		if (rc == CURLE_OK)
			rc = s3_sign(&up->headers, method, url, ctype, payload_sha, up->s3_region,
						 up->access_key, up->secret_key);
	}
	else if (up->username != NULL)
	{
		SET(CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, up->username);
		SET(CURLOPT_PASSWORD, up->password ? up->password : "");
	}
	else if (up->bearer != NULL)
		ADD_HEADER(up->bearer);

	switch (up->step)
	{
		case UP_MKCOL:
			SET(CURLOPT_CUSTOMREQUEST, "MKCOL");
			break;
		case UP_PUT:
		case UP_S3_PART:
			SET(CURLOPT_UPLOAD, 1L);
			SET(CURLOPT_READFUNCTION, up_read);
			SET(CURLOPT_READDATA, (void *) item);
			SET(CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE);
			SET(CURLOPT_SEEKFUNCTION, up_seek);
			SET(CURLOPT_SEEKDATA, (void *) item);
			SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t) up->body_len);
			break;
		case UP_HEAD:
			SET(CURLOPT_NOBODY, 1L);
			break;
		case UP_S3_INIT:
			SET(CURLOPT_POST, 1L);
			SET(CURLOPT_POSTFIELDS, "");
			SET(CURLOPT_POSTFIELDSIZE, 0L);
			break;
		case UP_S3_COMPLETE:
			SET(CURLOPT_POST, 1L);
			SET(CURLOPT_POSTFIELDS, up->post);
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(up->post));
			break;
		case UP_S3_ABORT:
			/* best effort, and the job waits for it: bounded, connection included */
			SET(CURLOPT_CUSTOMREQUEST, "DELETE");
			SET(CURLOPT_TIMEOUT_MS, (long) TRANSFER_ABORT_TIMEOUT_MS);
			break;
	}
	SET(CURLOPT_HTTPHEADER, up->headers);
#undef SET
#undef ADD_HEADER
	free(owned_url);			/* libcurl copied it */

	if (rc == CURLE_OK && curl_multi_add_handle(pool->multi, e) != CURLM_OK)
		rc = CURLE_OUT_OF_MEMORY;
	item->aborting = rc == CURLE_OK && up->step == UP_S3_ABORT;
	if (rc != CURLE_OK)
	{
		curl_easy_cleanup(e);
		item->easy = NULL;
		curl_slist_free_all(up->headers);
		up->headers = NULL;
		if (up->step == UP_S3_ABORT)
			upload_finish_stopped(item);
		else
			upload_fail(pool, item, rc == CURLE_OUT_OF_MEMORY,
						"cannot set up the request: %s", curl_easy_strerror(rc));
		return false;
	}
	pool->kick = true;
	return true;
}

/* status_ok: the statuses a step accepts. */
static bool
status_ok(const upload_state *up, long code)
{
	if (code == 200 || code == 201 || code == 204)
		return true;
	return up->step == UP_MKCOL && code == 405;
}

/*
 * upload_step_done judges the request libcurl finished with res and starts
 * the next step, or ends the upload.
 */
static void
upload_step_done(transfer_pool *pool, transfer_item *item, CURLcode res)
{
	upload_state *up = item->up;
	long		code = 0;
	curl_off_t	clen = -1;
	char		namebuf[48];
	const char *name = step_name(up, namebuf, sizeof(namebuf));
	bool		body_step = up->step == UP_PUT || up->step == UP_S3_PART;

	if (item->easy != NULL)
	{
		curl_easy_getinfo(item->easy, CURLINFO_RESPONSE_CODE, &code);
		if (up->step == UP_HEAD)
			curl_easy_getinfo(item->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	}
	up_detach(pool, item);

	if (up->step == UP_S3_ABORT)
	{
		/* a failure keeps its own message; a cancel tells how the abort went */
		if (item->cancelled && res != CURLE_OK)
		{
			char		why[sizeof(item->policy_error) + CURL_ERROR_SIZE];

			if (policy_failed(item, res))
				copy_text(why, sizeof(why), item->policy_error);
			else
				curl_message(why, sizeof(why), res, item->curl_error);
			errbuf_printf(item->result.error, sizeof(item->result.error), "%s failed: %s", name, why);
		}
		else if (item->cancelled && !status_ok(up, code))
			errbuf_printf(item->result.error, sizeof(item->result.error), "%s failed: http status %ld",
						name, code);
		upload_finish_stopped(item);
		return;
	}
	if (policy_failed(item, res))
	{
		upload_fail(pool, item, false, "%s failed: %s", name, item->policy_error);
		return;
	}
	if (item->write_errno != 0)
	{
		upload_fail(pool, item, errno_transient(item->write_errno), "%s failed: cannot read \"%s\": %s",
					name, up->src_path, strerror(item->write_errno));
		return;
	}
	if (up->source_short)
	{
		upload_fail(pool, item, true, "%s failed: \"%s\" shrank while it was sent", name, up->src_path);
		return;
	}
	/* a refusal may cut the body short: the status says more than the send error */
	if (res != CURLE_OK && code < 400)
	{
		char		why[CURL_ERROR_SIZE + 64];

		curl_message(why, sizeof(why), res, item->curl_error);
		upload_fail(pool, item, curl_retryable(res), "%s failed: %s", name, why);
		return;
	}
	if (!status_ok(up, code))
	{
		char		why[sizeof(item->result.error)];

		describe_status(why, sizeof(why), name, name, item->result.effective_url, code,
						up->resp,
						up->target == UPLOAD_S3 || up->username != NULL || up->bearer != NULL,
						up->credential_name);
		upload_fail(pool, item, code == 408 || code == 429 || (code >= 500 && code <= 599), "%s", why);
		return;
	}
	if (body_step)
		up->sent_done += up->body_len;
	item->bytes = up->sent_done;

	switch (up->step)
	{
		case UP_MKCOL:
			if (++up->mkcol_i >= up->nmkcol)
				up->step = UP_PUT;
			upload_start_step(pool, item);
			return;
		case UP_PUT:
			copy_text(up->etag, sizeof(up->etag), up->etag_hdr);
			if (up->target == UPLOAD_S3)
			{
				if (strlen(up->etag) == 32 && strspn(up->etag, "0123456789abcdefABCDEF") == 32 &&
					strcasecmp(up->etag, up->md5) != 0)
				{
					upload_fail(pool, item, true, "put failed: etag %s is not the file's md5 %s",
								up->etag, up->md5);
					return;
				}
				upload_done(item);
				return;
			}
			up->step = UP_HEAD;
			upload_start_step(pool, item);
			return;
		case UP_HEAD:
			if (clen >= 0 && (int64_t) clen != up->size)
			{
				upload_fail(pool, item, true, "head failed: the server reports %lld bytes, the file has %lld",
							(long long) clen, (long long) up->size);
				return;
			}
			if (up->etag_hdr[0] != '\0')
				copy_text(up->etag, sizeof(up->etag), up->etag_hdr);
			upload_done(item);
			return;
		case UP_S3_INIT:
			{
				char		id[512];

				if (!xml_text(up->resp, "UploadId", id, sizeof(id)) || (up->upload_id = strdup(id)) == NULL)
				{
					upload_fail(pool, item, true, "%s failed: no UploadId in the response", name);
					return;
				}
				up->step = UP_S3_PART;
				up->part_i = 0;
				upload_start_step(pool, item);
				return;
			}
		case UP_S3_PART:
			if (up->etag_hdr[0] == '\0' || (up->part_etag[up->part_i] = strdup(up->etag_hdr)) == NULL)
			{
				upload_fail(pool, item, up->etag_hdr[0] != '\0', "%s failed: no etag in the response", name);
				return;
			}
			if (++up->part_i >= up->nparts)
				up->step = UP_S3_COMPLETE;
			upload_start_step(pool, item);
			return;
		case UP_S3_COMPLETE:
			{
				char		etag[256];

				if (up->resp != NULL && strstr(up->resp, "<Error>") != NULL)
				{
					char		codetext[128];

					if (!xml_text(up->resp, "Code", codetext, sizeof(codetext)))
						copy_text(codetext, sizeof(codetext), "unknown");
					upload_fail(pool, item, true, "%s failed: s3 error %s", name, codetext);
					return;
				}
				if (xml_text(up->resp, "ETag", etag, sizeof(etag)))
					strip_etag(up->etag, sizeof(up->etag), etag, strlen(etag));
				else
					copy_text(up->etag, sizeof(up->etag), up->etag_hdr);
				upload_done(item);
				return;
			}
		case UP_S3_ABORT:
			break;
	}
}

/*
 * hash_source reads the whole file once: its SHA-256, and for S3 its MD5
 * and each part's SHA-256.  False with errno set when reading fails, or
 * with errno 0 when the file's size changed.
 */
static bool
hash_source(int fd, upload_state *up)
{
	sha256_ctx	all;
	sha256_ctx	part;
	md5_ctx		md5;
	uint8_t		digest[32];
	uint8_t    *buf;
	const size_t bufsize = 256 * 1024;
	int64_t		off = 0;
	int64_t		part_left = up->multipart ? up->part_size : 0;
	int			pi = 0;

	buf = malloc(bufsize);
	if (buf == NULL)
	{
		errno = ENOMEM;
		return false;
	}
	sha256_init(&all);
	sha256_init(&part);
	md5_init(&md5);
	while (off < up->size)
	{
		size_t		want = bufsize;
		ssize_t		n;

		if (atomic_load(&up->hash_stop))
		{
			free(buf);
			errno = ECANCELED;
			return false;
		}
		if ((int64_t) want > up->size - off)
			want = (size_t) (up->size - off);
		if (up->multipart && (int64_t) want > part_left)
			want = (size_t) part_left;
		n = pread(fd, buf, want, (off_t) off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = 0;
			free(buf);
			return false;
		}
		sha256_update(&all, buf, (size_t) n);
		if (up->target == UPLOAD_S3)
			md5_update(&md5, buf, (size_t) n);
		if (up->multipart)
		{
			sha256_update(&part, buf, (size_t) n);
			part_left -= n;
			if (part_left == 0 || off + n == up->size)
			{
				sha256_final(&part, digest);
				sha256_hex(digest, up->part_sha[pi++]);
				sha256_init(&part);
				part_left = up->part_size;
			}
		}
		off += n;
	}
	free(buf);
	sha256_final(&all, digest);
	sha256_hex(digest, up->sha256);
	md5_hex(&md5, up->md5);
	return true;
}

/*
 * upload_hash_main is an S3 upload's hash thread: hash_source over the
 * whole file (SHA-256, MD5, each part's SHA-256, which SigV4 signs before a
 * byte is sent), then curl_multi_wakeup so that transfer_poll sees the
 * outcome at once.  It runs with every signal blocked, touches only the
 * file and the upload's hash fields, and stops within one read when
 * hash_stop is set.
 */
static void *
upload_hash_main(void *arg)
{
	transfer_item *item = arg;
	upload_state *up = item->up;
	bool		ok = hash_source(item->fd, up);

	up->hash_errno = ok ? 0 : errno;
	atomic_store(&up->hash_done, ok ? 1 : 2);
	curl_multi_wakeup(item->pool->multi);
	return NULL;
}

/*
 * upload_hash_start starts the hash thread of an S3 upload.  Hashing a
 * large file takes seconds (about 2.5 s per GiB here); done in the worker's
 * loop it held up every other transfer, cancels and SIGTERM meanwhile.  A
 * thread of its own rather than the pool's hash helper: the helper's queue
 * serves downloads' slots, which would wait behind a whole file.  False
 * when the thread cannot be started (the caller hashes inline then).
 */
static bool
upload_hash_start(transfer_item *item)
{
	upload_state *up = item->up;
	sigset_t	all;
	sigset_t	old;
	int			rc;

	atomic_init(&up->hash_done, 0);
	atomic_init(&up->hash_stop, false);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&up->hash_thread, NULL, upload_hash_main, item);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	up->hashing = rc == 0;
	return up->hashing;
}

/* upload_hash_join stops (when still running) and joins an upload's hash thread. */
static void
upload_hash_join(upload_state *up)
{
	if (up == NULL || !up->hashing)
		return;
	atomic_store(&up->hash_stop, true);
	pthread_join(up->hash_thread, NULL);
	up->hashing = false;
}

/*
 * upload_hash_check starts the first request of every upload whose hash
 * thread has finished, or fails it when the file could not be read.
 * Returns true when some hash thread still runs.
 */
static bool
upload_hash_check(transfer_pool *pool)
{
	bool		running = false;

	for (transfer_item *item = pool->head; item != NULL; item = item->next)
	{
		upload_state *up = item->up;
		int			done;

		if (up == NULL || !up->hashing || item->finished)
			continue;
		done = atomic_load(&up->hash_done);
		if (done == 0)
		{
			running = true;
			continue;
		}
		pthread_join(up->hash_thread, NULL);
		up->hashing = false;
		if (done == 1)
			upload_start_step(pool, item);	/* fails the upload itself when it cannot */
		else if (up->hash_errno == 0)
			upload_fail(pool, item, true, "\"%s\" changed size while it was read", up->src_path);
		else
			upload_fail(pool, item, errno_transient(up->hash_errno), "cannot read \"%s\": %s",
						up->src_path, strerror(up->hash_errno));
	}
	return running;
}

/*
 * transfer_start_upload checks the options and the file and starts the
 * first request; an S3 upload first hashes the file on its own thread, and
 * transfer_poll starts its first request when the hash is there.  Messages never hold a credential.
 */
bool
transfer_start_upload(transfer_pool *pool, const transfer_upload_opts *opts,
					  char *err, size_t errlen, bool *retryable)
{
	transfer_item *item = NULL;
	upload_state *up = NULL;
	struct stat st;
	bool		oom = false;
	int			fd = -1;

	if (retryable != NULL)
		*retryable = false;
	errbuf_printf(err, errlen, "%s", "");
	if (pool == NULL || opts == NULL)
	{
		errbuf_printf(err, errlen, "no transfer pool or options");
		return false;
	}
	if (!transfer_check_url(opts->url, err, errlen, NULL, 0))
		return false;
	if (opts->policy != NULL && !netpolicy_check_url(opts->policy, opts->url, err, errlen))
		return false;
	if (opts->target != UPLOAD_HTTP && opts->target != UPLOAD_WEBDAV && opts->target != UPLOAD_S3)
	{
		errbuf_printf(err, errlen, "unknown upload target");
		return false;
	}
	if (opts->src_path == NULL || opts->src_path[0] != '/')
	{
		errbuf_printf(err, errlen, "src_path must be an absolute path");
		return false;
	}
	if (opts->connect_timeout_s < 0 || opts->low_speed_limit < 0 || opts->low_speed_time_s < 0 ||
		opts->s3_part_size < 0)
	{
		errbuf_printf(err, errlen, "timeouts, speed limits and s3_part_size must not be negative");
		return false;
	}
	if (opts->target == UPLOAD_S3)
	{
		if (opts->s3_region == NULL || opts->s3_region[0] == '\0' ||
			strspn(opts->s3_region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(opts->s3_region))
		{
			errbuf_printf(err, errlen, "s3 uploads need a region (lower-case letters, digits and dashes)");
			return false;
		}
		if (opts->s3_access_key == NULL || opts->s3_access_key[0] == '\0' ||
			opts->s3_secret_key == NULL || opts->s3_secret_key[0] == '\0' ||
			strchr(opts->s3_access_key, ':') != NULL)
		{
			errbuf_printf(err, errlen, "s3 uploads need an access key (without ':') and a secret key");
			return false;
		}
		if (opts->s3_part_size != 0 && opts->s3_part_size < S3_MIN_PART_SIZE)
		{
			errbuf_printf(err, errlen, "s3_part_size must be at least 5 MiB (5242880 bytes)");
			return false;
		}
	}
	else if (opts->username != NULL && opts->bearer_token != NULL)
	{
		errbuf_printf(err, errlen, "give a username or a bearer token, not both");
		return false;
	}
	if (opts->bearer_token != NULL && strpbrk(opts->bearer_token, "\r\n") != NULL)
	{
		errbuf_printf(err, errlen, "the bearer token must not hold line breaks");
		return false;
	}
	if (opts->target == UPLOAD_WEBDAV && opts->mkcol_urls != NULL)
		for (int i = 0; opts->mkcol_urls[i] != NULL; i++)
		{
			char		why[256];

			if (!transfer_check_url(opts->mkcol_urls[i], why, sizeof(why), NULL, 0) ||
				(opts->policy != NULL && !netpolicy_check_url(opts->policy, opts->mkcol_urls[i], why, sizeof(why))))
			{
				errbuf_printf(err, errlen, "mkcol url %d: %s", i + 1, why);
				return false;
			}
		}
	for (transfer_item *it = pool->head; it != NULL; it = it->next)
		if (it->result.job_id == opts->job_id)
		{
			errbuf_printf(err, errlen, "job %lld already has a transfer", (long long) opts->job_id);
			return false;
		}

	fd = open(opts->src_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
	{
		int			e = errno;

		errbuf_printf(err, errlen, "cannot open \"%s\": %s", opts->src_path,
					e == ELOOP ? "it is a symbolic link" : strerror(e));
		if (retryable != NULL)
			*retryable = errno_transient(e);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		errbuf_printf(err, errlen, "\"%s\" is not a regular file", opts->src_path);
		close(fd);
		return false;
	}

	item = calloc(1, sizeof(*item));
	up = calloc(1, sizeof(*up));
	if (item == NULL || up == NULL)
	{
		free(item);
		free(up);
		close(fd);
		errbuf_printf(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		return false;
	}
	item->fd = fd;
	item->dir_fd = -1;
	item->pool = pool;
	item->up = up;
	item->result.job_id = opts->job_id;
	item->result.state = TRANSFER_RUNNING;
	item->no_stage = true;

	up->target = opts->target;
	up->size = (int64_t) st.st_size;
	up->connect_timeout_s = opts->connect_timeout_s;
	up->low_speed_limit = opts->low_speed_limit;
	up->low_speed_time_s = opts->low_speed_time_s;
	if (opts->policy != NULL && (item->policy = netpolicy_copy(opts->policy)) == NULL)
		oom = true;
	up->url = dup_or_null(opts->url, &oom);
	up->url_shown = strip_userinfo(opts->url);
	if (up->url_shown == NULL)
		oom = true;
	up->src_path = dup_or_null(opts->src_path, &oom);
	up->user_agent = dup_or_null(opts->user_agent, &oom);
	up->credential_name = dup_or_null(opts->credential_name, &oom);
	if (opts->target == UPLOAD_S3)
	{
		up->s3_region = dup_or_null(opts->s3_region, &oom);
		up->access_key = dup_or_null(opts->s3_access_key, &oom);
		up->secret_key = dup_or_null(opts->s3_secret_key, &oom);
		up->part_size = opts->s3_part_size > 0 ? opts->s3_part_size : S3_DEFAULT_PART_SIZE;
		up->multipart = up->size > up->part_size;
		if (up->multipart)
		{
			int64_t		parts = (up->size + up->part_size - 1) / up->part_size;

			if (parts > S3_MAX_PARTS)
			{
				errbuf_printf(err, errlen, "the file needs %lld parts of %lld bytes: s3 allows %d",
							(long long) parts, (long long) up->part_size, S3_MAX_PARTS);
				free_item(pool, item);	/* closes fd through release_part */
				return false;
			}
			up->nparts = (int) parts;
			up->part_sha = calloc((size_t) parts, sizeof(*up->part_sha));
			up->part_etag = calloc((size_t) parts, sizeof(char *));
			if (up->part_sha == NULL || up->part_etag == NULL)
				oom = true;
		}
	}
	else
	{
		up->username = dup_or_null(opts->username, &oom);
		if (opts->username != NULL)
			up->password = dup_or_null(opts->password ? opts->password : "", &oom);
		if (opts->bearer_token != NULL)
		{
			size_t		n = strlen("Authorization: Bearer ") + strlen(opts->bearer_token) + 1;

			up->bearer = malloc(n);
			if (up->bearer == NULL)
				oom = true;
			else
				snprintf(up->bearer, n, "Authorization: Bearer %s", opts->bearer_token);
		}
	}
	if (opts->target == UPLOAD_WEBDAV && opts->mkcol_urls != NULL)
	{
		int			n = 0;

		while (opts->mkcol_urls[n] != NULL)
			n++;
		up->mkcol = calloc((size_t) n + 1, sizeof(char *));
		if (up->mkcol == NULL)
			oom = true;
		else
			for (int i = 0; i < n; i++)
			{
				up->mkcol[i] = dup_or_null(opts->mkcol_urls[i], &oom);
				up->nmkcol = i + 1;
			}
	}
	if (oom)
	{
		errbuf_printf(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		free_item(pool, item);
		return false;
	}

	if (up->target != UPLOAD_S3)
	{
		/* no signature needs the hash first: take it while the body is sent, if asked */
		up->inline_hash = opts->compute_sha256;
		sha256_init(&item->sha);
	}
	else if (!upload_hash_start(item))
	{
		/* no thread: hash here, as the worker's loop waits */
		if (!hash_source(fd, up))
		{
			int			e = errno;

			if (e == 0)
				errbuf_printf(err, errlen, "\"%s\" changed size while it was read", opts->src_path);
			else
				errbuf_printf(err, errlen, "cannot read \"%s\": %s", opts->src_path, strerror(e));
			if (retryable != NULL)
				*retryable = e == 0 || errno_transient(e);
			free_item(pool, item);
			return false;
		}
	}

	if (up->target == UPLOAD_S3)
		up->step = up->multipart ? UP_S3_INIT : UP_PUT;
	else
		up->step = up->nmkcol > 0 ? UP_MKCOL : UP_PUT;

	if (pool->tail != NULL)
		pool->tail->next = item;
	else
		pool->head = item;
	pool->tail = item;
	pool->count++;

	if (up->hashing)
		return true;			/* the first request starts once the hash is there */
	if (!upload_start_step(pool, item))
	{
		/* nothing was sent: refuse, as for any other failure to start */
		transfer_item *prev = NULL;

		errbuf_printf(err, errlen, "%s", item->result.error);
		if (retryable != NULL)
			*retryable = item->result.retryable;
		for (transfer_item *it = pool->head; it != item; it = it->next)
			prev = it;
		if (prev != NULL)
			prev->next = NULL;
		else
			pool->head = NULL;
		pool->tail = prev;
		pool->count--;
		free_item(pool, item);
		return false;
	}
	return true;
}
