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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/sha256.h"

/* libcurl's receive buffer: its maximum (CURL_MAX_READ_SIZE), for the fewest calls per byte. */
#define TRANSFER_BUFFER_SIZE	(512L * 1024L)

/* The only protocols a transfer may use, for the URL and every redirect. */
#define TRANSFER_PROTOCOLS		"http,https"

/* A transfer's staging ring for the hash helper: STAGE_SLOTS slots, each one hash job. */
#define STAGE_SLOTS				4
#define STAGE_SLOT_SIZE			(256 * 1024)

/* A flushed slot smaller than this (the last) is hashed inline: not worth a hand-off. */
#define STAGE_OFFLOAD_MIN		(64 * 1024)

#if defined(__GNUC__) || defined(__clang__)
#define TRANSFER_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#else
#define TRANSFER_PRINTF(f, a)
#endif

struct transfer_item;

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
	char		expected[65];	/* expected SHA-256 in lower case; "" when none */
	sha256_ctx	sha;
	char		curl_error[CURL_ERROR_SIZE];
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
	hash_helper helper;
};

static void set_message(char *buf, size_t buflen, const char *fmt,...) TRANSFER_PRINTF(3, 4);
static void fail_item(transfer_item *item, bool retryable, const char *fmt,...) TRANSFER_PRINTF(3, 4);

/*
 * set_message formats into buf, if there is one.
 */
static void
set_message(char *buf, size_t buflen, const char *fmt,...)
{
	va_list		ap;

	if (buf == NULL || buflen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, buflen, fmt, ap);
	va_end(ap);
}

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
 * url_scheme_prefix finds an RFC 3986 scheme ("ALPHA *( ALPHA / DIGIT / "+" /
 * "-" / "." ) ':'") at the start of url, so that a refusal can name it even
 * when libcurl cannot parse the rest.  Returns its length, 0 when none.
 */
static size_t
url_scheme_prefix(const char *url)
{
	size_t		n = 0;

	if (!isalpha((unsigned char) url[0]))
		return 0;
	while (isalnum((unsigned char) url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return url[n] == ':' ? n : 0;
}

/*
 * transfer_check_url accepts absolute http:// and https:// URLs with a host,
 * as libcurl's URL parser reads them (the same parser the transfer uses).
 * The scheme is judged before the rest so that the reason names it.
 */
bool
transfer_check_url(const char *url, char *err, size_t errlen, char *host, size_t hostlen)
{
	CURLU	   *u;
	CURLUcode	rc;
	char	   *scheme = NULL;
	char	   *h = NULL;
	size_t		slen;
	bool		ok = false;

	set_message(err, errlen, "%s", "");
	if (host != NULL && hostlen > 0)
		host[0] = '\0';

	if (url == NULL || url[0] == '\0')
	{
		set_message(err, errlen, "empty url");
		return false;
	}

	slen = url_scheme_prefix(url);
	if (slen == 0)
	{
		set_message(err, errlen, "url has no scheme: only absolute http:// and https:// urls are allowed");
		return false;
	}
	if (!((slen == 4 && strncasecmp(url, "http", 4) == 0) ||
		  (slen == 5 && strncasecmp(url, "https", 5) == 0)))
	{
		char		name[32];
		size_t		shown = slen < sizeof(name) ? slen : sizeof(name) - 1;

		for (size_t i = 0; i < shown; i++)
			name[i] = (char) tolower((unsigned char) url[i]);
		name[shown] = '\0';
		set_message(err, errlen, "url scheme \"%s\" is not allowed: only http and https", name);
		return false;
	}

	u = curl_url();
	if (u == NULL)
	{
		set_message(err, errlen, "out of memory");
		return false;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_NO_HOST)
		set_message(err, errlen, "url has no host");
	else if (rc != CURLUE_OK)
	{
		char		why[128];

		curl_message(why, sizeof(why), CURLE_OK, curl_url_strerror(rc));
		set_message(err, errlen, "invalid url: %s", why);
	}
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
		set_message(err, errlen, "url scheme \"%s\" is not allowed: only http and https",
					scheme ? scheme : "");
	else if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || h[0] == '\0')
		set_message(err, errlen, "url has no host");
	else if (host != NULL && hostlen > 0 && strlen(h) >= hostlen)
		set_message(err, errlen, "url host name is too long");
	else
	{
		if (host != NULL && hostlen > 0)
			copy_text(host, hostlen, h);
		ok = true;
	}

	curl_free(scheme);
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
	size_t		left = len;

	if (!item->body_started)
	{
		long		code = 0;

		item->body_started = true;
		curl_easy_getinfo(item->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code < 200 || code > 299)
		{
			item->bad_status = true;
			return 0;
		}
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

	if (item->max_bytes > 0 && (int64_t) len > item->max_bytes - item->bytes)
	{
		item->too_big = true;
		return 0;
	}
	if (!write_all(item, p, len))
		return 0;
	item->bytes += (int64_t) len;

	if (item->no_stage)
	{
		sha256_update(&item->sha, p, len);
		return len;
	}
	while (left > 0)
	{
		size_t		take = STAGE_SLOT_SIZE - item->fill;

		if (take > left)
			take = left;
		memcpy(item->slots[item->cur].data + item->fill, p, take);
		item->fill += take;
		p += take;
		left -= take;
		if (item->fill == STAGE_SLOT_SIZE)
			hash_slot(item);
	}
	return len;
}

/*
 * xfer_progress is libcurl's progress callback: it aborts a transfer that
 * was cancelled.  (transfer_cancel also takes the handle off the multi
 * handle itself, so this is only the second line of defence.)
 */
static int
xfer_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			  curl_off_t ultotal, curl_off_t ulnow)
{
	transfer_item *item = clientp;

	(void) dltotal;
	(void) dlnow;
	(void) ultotal;
	(void) ulnow;
	return item->cancelled ? 1 : 0;
}

/*
 * release_part frees the staging buffer, closes and removes the .part
 * file: a failed or cancelled download leaves nothing behind.
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
	if (item->part_path != NULL)
		unlink(item->part_path);
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
 * sync_parent_dir makes a rename durable by syncing the directory that
 * holds path.  Best effort: the file itself is already synced, and a
 * directory that cannot be opened is not a reason to fail a download.
 */
static void
sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char	   *dir;
	int			fd;

	if (slash == NULL)
		return;
	dir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
	{
		(void) fsync(fd);
		close(fd);
	}
	free(dir);
}

/*
 * finish_item decides the outcome of a transfer libcurl has finished with
 * res.  Cancellation and our own refusals (size, write errors, status)
 * come before libcurl's error, since they caused it.  A complete 2xx body
 * is synced, closed, checked against the expected SHA-256 and renamed into
 * place.
 */
static void
finish_item(transfer_pool *pool, transfer_item *item, CURLcode res)
{
	uint8_t		digest[32];
	char		hex[65];
	long		code;

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
		fail_item(item, code == 408 || code == 429 || (code >= 500 && code <= 599),
				  "http status %ld", code);
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
	if (rename(item->part_path, item->dest_path) != 0)
	{
		int			e = errno;

		fail_item(item, errno_transient(e), "cannot rename \"%s\" to \"%s\": %s",
				  item->part_path, item->dest_path, strerror(e));
		return;
	}
	sync_parent_dir(item->dest_path);

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
	if (!item->finished)
	{
		detach_easy(pool, item);
		release_part(item);
	}
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

/*
 * setup_easy sets the options of a new easy handle.  Returns the first
 * option libcurl refuses, CURLE_OK when all are set.
 */
static CURLcode
setup_easy(transfer_item *item, const transfer_opts *opts)
{
	CURL	   *e = item->easy;
	CURLcode	rc = CURLE_OK;

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)

	SET(CURLOPT_URL, opts->url);
	SET(CURLOPT_PRIVATE, (void *) item);
	SET(CURLOPT_ERRORBUFFER, item->curl_error);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, TRANSFER_PROTOCOLS);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, TRANSFER_PROTOCOLS);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, opts->max_redirects);
	if (opts->user_agent != NULL)
		SET(CURLOPT_USERAGENT, opts->user_agent);
	if (opts->connect_timeout_s > 0)
		SET(CURLOPT_CONNECTTIMEOUT, opts->connect_timeout_s);
	if (opts->total_timeout_s > 0)
		SET(CURLOPT_TIMEOUT, opts->total_timeout_s);
	if (opts->low_speed_limit > 0 && opts->low_speed_time_s > 0)
	{
		SET(CURLOPT_LOW_SPEED_LIMIT, opts->low_speed_limit);
		SET(CURLOPT_LOW_SPEED_TIME, opts->low_speed_time_s);
	}
	SET(CURLOPT_FAILONERROR, 0L);
	SET(CURLOPT_BUFFERSIZE, TRANSFER_BUFFER_SIZE);
	SET(CURLOPT_WRITEFUNCTION, write_body);
	SET(CURLOPT_WRITEDATA, (void *) item);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xfer_progress);
	SET(CURLOPT_XFERINFODATA, (void *) item);
	if (opts->max_bytes > 0)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) opts->max_bytes);
#undef SET
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
	if (opts->dest_path == NULL || opts->dest_path[0] != '/')
	{
		set_message(err, errlen, "dest_path must be an absolute path");
		return false;
	}
	if (opts->expected_sha256 != NULL)
	{
		size_t		n = strlen(opts->expected_sha256);

		if (n != 64 || strspn(opts->expected_sha256, "0123456789abcdefABCDEF") != 64)
		{
			set_message(err, errlen, "expected_sha256 must be 64 hex digits");
			return false;
		}
	}
	if (opts->connect_timeout_s < 0 || opts->total_timeout_s < 0 ||
		opts->low_speed_limit < 0 || opts->low_speed_time_s < 0 ||
		opts->max_bytes < 0 || opts->max_redirects < 0)
	{
		set_message(err, errlen, "timeouts, speed limits, max_bytes and max_redirects must not be negative");
		return false;
	}
	for (transfer_item *item = pool->head; item != NULL; item = item->next)
	{
		if (item->result.job_id == opts->job_id)
		{
			set_message(err, errlen, "job %lld already has a transfer", (long long) opts->job_id);
			return false;
		}
		if (!item->finished && strcmp(item->dest_path, opts->dest_path) == 0)
		{
			set_message(err, errlen, "another transfer is writing \"%s\"", opts->dest_path);
			return false;
		}
	}
	return true;
}

/*
 * transfer_start checks the options, creates "<dest>.part" (truncating an
 * old one), sets up an easy handle and adds it to the pool's multi handle.
 * Only failures that may pass (no memory, no file descriptors, a full disk)
 * are retryable.
 */
bool
transfer_start(transfer_pool *pool, const transfer_opts *opts,
			   char *err, size_t errlen, bool *retryable)
{
	transfer_item *item;
	size_t		dlen;
	CURLcode	rc;
	CURLMcode	mrc;

	if (retryable != NULL)
		*retryable = false;
	set_message(err, errlen, "%s", "");
	if (pool == NULL || opts == NULL)
	{
		set_message(err, errlen, "no transfer pool or options");
		return false;
	}
	if (!transfer_check_url(opts->url, err, errlen, NULL, 0))
		return false;
	if (!check_opts(pool, opts, err, errlen))
		return false;

	item = calloc(1, sizeof(*item));
	dlen = strlen(opts->dest_path);
	if (item != NULL)
	{
		item->fd = -1;
		item->dest_path = strdup(opts->dest_path);
		item->part_path = malloc(dlen + sizeof(".part"));
	}
	if (item == NULL || item->dest_path == NULL || item->part_path == NULL)
	{
		if (item != NULL)
		{
			free(item->dest_path);
			free(item->part_path);
			free(item);
		}
		set_message(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		return false;
	}
	memcpy(item->part_path, opts->dest_path, dlen);
	memcpy(item->part_path + dlen, ".part", sizeof(".part"));
	item->pool = pool;
	item->result.job_id = opts->job_id;
	item->result.state = TRANSFER_RUNNING;
	item->max_bytes = opts->max_bytes;
	if (opts->expected_sha256 != NULL)
		for (int i = 0; i < 65; i++)
			item->expected[i] = (char) tolower((unsigned char) opts->expected_sha256[i]);
	sha256_init(&item->sha);

	item->fd = open(item->part_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (item->fd < 0)
	{
		int			e = errno;

		set_message(err, errlen, "cannot create \"%s\": %s", item->part_path, strerror(e));
		if (retryable != NULL)
			*retryable = errno_transient(e);
		/* not ours to remove: it may be another process's file */
		free(item->part_path);
		item->part_path = NULL;
		free_item(pool, item);
		return false;
	}

	item->easy = curl_easy_init();
	if (item->easy == NULL)
	{
		set_message(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		free_item(pool, item);
		return false;
	}
	rc = setup_easy(item, opts);
	if (rc != CURLE_OK)
	{
		set_message(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
		curl_easy_cleanup(item->easy);
		item->easy = NULL;
		free_item(pool, item);
		return false;
	}
	mrc = curl_multi_add_handle(pool->multi, item->easy);
	if (mrc != CURLM_OK)
	{
		set_message(err, errlen, "cannot add the transfer: %s", curl_multi_strerror(mrc));
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
 * transfer_cancel stops a running download at once: its handle leaves the
 * multi handle, its .part file is removed, and the next transfer_poll
 * reports it CANCELLED.  False when no such download is running (unknown,
 * or already finished and waiting to be reported).
 */
bool
transfer_cancel(transfer_pool *pool, int64_t job_id)
{
	transfer_item *item = find_item(pool, job_id);

	if (item == NULL || item->finished)
		return false;
	item->cancelled = true;
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
		if (!item->finished)
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
	transfer_item *prev = NULL;
	transfer_item *item;

	if (pool == NULL || pool->head == NULL)
		return 0;
	if (timeout_ms < 0)
		timeout_ms = 0;

	curl_multi_perform(pool->multi, &running);
	if (!collect_done(pool) && running > 0)
	{
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
