/*
 * transfer_upload.h
 *	  Internal to the transfer kernel's uploads (transfer_upload.c,
 *	  transfer_request.c, transfer_upload_hash.c): the upload step machine's
 *	  state.  No PostgreSQL headers.
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
 */

#ifndef MLOPS_TRANSFER_UPLOAD_H
#define MLOPS_TRANSFER_UPLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "transfer_private.h"

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
	/* S3: the file is hashed on a thread of its own before the first request (see upload_hash_source) */
	bool		hashing;		/* the thread was started and is not joined yet */
	pthread_t	hash_thread;
	atomic_int	hash_done;		/* 0: running, 1: hashed, 2: failed (hash_errno) */
	atomic_bool hash_stop;		/* the upload was cancelled or freed: stop reading */
	int			hash_errno;
	char		post_sha[65];	/* SHA-256 of post */
} upload_state;

/* transfer_request.c: each step's request */
extern bool upload_start_step(transfer_pool *pool, transfer_item *item);
extern void xfer_strip_etag(char *dst, size_t dstlen, const char *src, size_t len);

/* transfer_upload.c: ending an upload */
extern void upload_fail(transfer_pool *pool, transfer_item *item, bool retryable, const char *fmt,...) MLOPS_PRINTF(4, 5);
extern void upload_finish_stopped(transfer_item *item);

/* transfer_upload_hash.c: the file's hashes before the first request */
extern bool upload_hash_source(int fd, upload_state *up);
extern bool upload_hash_start(transfer_item *item);

#endif							/* MLOPS_TRANSFER_UPLOAD_H */
