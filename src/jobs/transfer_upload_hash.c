/*
 * transfer_upload_hash.c
 *	  Kernel, part of transfer.c's family: the hashes an upload needs
 *	  before its first request.  SigV4 signs an S3 request's payload hash,
 *	  so an S3 upload reads its whole file first (the file's SHA-256 and
 *	  MD5, each part's SHA-256), on a thread of its own so that the worker's
 *	  loop, other transfers, cancels and SIGTERM do not wait for it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"
#include "transfer_upload.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/md5.h"

/*
 * upload_hash_source reads the whole file once: its SHA-256, and for S3 its MD5
 * and each part's SHA-256.  False with errno set when reading fails, or
 * with errno 0 when the file's size changed.
 */
bool
upload_hash_source(int fd, upload_state *up)
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
 * upload_hash_main is an S3 upload's hash thread: upload_hash_source over the
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
	bool		ok = upload_hash_source(item->fd, up);

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
bool
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
void
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
bool
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
			upload_fail(pool, item, xfer_errno_transient(up->hash_errno), "cannot read \"%s\": %s",
						up->src_path, strerror(up->hash_errno));
	}
	return running;
}
