/*
 * transfer_private.h
 *	  Internal to the transfer kernel (transfer.c and its family, listed
 *	  there): the pool, its transfers and the hash helper, and what the
 *	  files call of each other.  Other callers use transfer.h.  No
 *	  PostgreSQL headers.
 */
#ifndef MLOPS_TRANSFER_PRIVATE_H
#define MLOPS_TRANSFER_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "transfer.h"
#include "util/errbuf.h"
#include "util/sha256.h"

/* The only protocols a transfer may use, for the URL and every redirect. */
#define TRANSFER_PROTOCOLS		"http,https"

/* A transfer's staging ring for the hash helper: STAGE_SLOTS slots, each one hash job. */
#define STAGE_SLOTS				4
#define STAGE_SLOT_SIZE			(256 * 1024)

/* A flushed slot smaller than this (the last) is hashed inline: not worth a hand-off. */
#define STAGE_OFFLOAD_MIN		(64 * 1024)

/* Threads that sync and rename finished downloads in parallel (transfer_sync.c). */
#define SYNC_THREADS			32

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
	bool		syncing;		/* a sync thread owns the file and the result (transfer_sync.c) */
	bool		opening;		/* a sync thread creates the .part file (transfer_sync.c) */
	bool		part_made;		/* the .part file is ours (created or truncated by us) */
	bool		unnamed;		/* fd is an unnamed file (O_TMPFILE): linked in at the end */
	bool		old_part;		/* a .part of ours was there at the start: removed at the end */
	struct transfer_item *sync_next;	/* the sync threads' queue or done list */
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
	int64_t		start_at_ms;	/* > 0: a delayed request, not yet on the multi handle,
								 * starts at this monotonic time (transfer_opts.delay_ms) */
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

/* The sync threads: a FIFO queue of items to complete, a list of those done. */
typedef struct sync_threads
{
	pthread_t	threads[SYNC_THREADS];
	int			nthreads;		/* 0: complete inline */
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* an item was queued, or stop was set */
	struct transfer_item *queue_head;
	struct transfer_item *queue_tail;
	struct transfer_item *dir_wait;	/* renamed, waiting for their directory's fsync */
	bool		dir_syncing;	/* a thread is syncing directories */
	struct transfer_item *done;
	int			pending;		/* queued or done, not taken back; the caller's thread's */
	struct transfer_item *open_head;	/* downloads whose .part file is to be created */
	struct transfer_item *open_tail;
	struct transfer_item *opened;	/* created (or refused), not taken back */
	int			opening;		/* queued or opened, not taken back; the caller's thread's */
	bool		stop;
} sync_threads;

struct transfer_pool
{
	CURLM	   *multi;
	transfer_item *head;		/* in start order */
	transfer_item *tail;
	int			count;			/* items in the list, finished or not */
	bool		helper_running; /* false: hash inline */
	bool		kick;			/* an upload started its next request: perform again */
	bool		unnamed_files;	/* downloads write unnamed files (O_TMPFILE) where they can */
	hash_helper helper;
	sync_threads sync;
};

/*
 * SET sets an option of the easy handle e while rc is CURLE_OK: the first
 * option libcurl refuses is kept in rc, the later ones are skipped.
 */
#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)

/* transfer.c: the item's life on the pool */
extern int	xfer_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
						  curl_off_t ultotal, curl_off_t ulnow);
extern void xfer_release_part(transfer_item *item);
extern void xfer_detach_easy(transfer_pool *pool, transfer_item *item);
extern void xfer_free_item(transfer_pool *pool, transfer_item *item);

/* transfer_hash.c: the hash helper and the staging rings */
extern bool xfer_helper_start(hash_helper *h);
extern void xfer_helper_stop(hash_helper *h);
extern void xfer_wait_hashed(transfer_item *item, uint64_t pending);
extern void xfer_hash_slot(transfer_item *item);
extern void xfer_release_stage(transfer_item *item);
extern void xfer_stage_hash(transfer_item *item, const uint8_t *p, size_t len);

/* transfer_errors.c: messages and retry classes */
extern void xfer_copy_text(char *dst, size_t dstlen, const char *src);
extern bool xfer_errno_transient(int e);
extern bool xfer_curl_retryable(CURLcode res);
extern void xfer_curl_message(char *buf, size_t buflen, CURLcode res, const char *detail);
extern bool xfer_xml_text(const char *xml, const char *tag, char *out, size_t outlen);
extern void xfer_describe_status(char *out, size_t outlen, const char *step, const char *request,
								 const char *url, long code, const char *body, bool has_auth,
								 const char *credential);

/* transfer_policy.c: redirect hops and connections */
extern bool xfer_policy_failed(const transfer_item *item, CURLcode res);
extern bool xfer_check_redirect(transfer_item *item, const char *value, size_t len);
extern curl_socket_t xfer_open_socket(void *clientp, curlsocktype purpose,
									  struct curl_sockaddr *address);
#if LIBCURL_VERSION_NUM >= 0x075000
extern int	xfer_check_peer(void *clientp, char *conn_primary_ip, char *conn_local_ip,
							int conn_primary_port, int conn_local_port);
#endif

/* transfer_request.c: libcurl set-up */
extern CURLcode xfer_s3_sign(struct curl_slist **headers, const char *method, const char *url,
							 const char *content_type, const char *payload_sha,
							 const char *region, const char *access_key, const char *secret_key);
extern CURLcode xfer_setup_common(transfer_item *item, CURL *e, const char *url,
								  const char *user_agent, long connect_timeout_s,
								  long low_speed_limit, long low_speed_time_s);

/* transfer_download.c: a download's outcome */
extern void xfer_finish_item(transfer_pool *pool, transfer_item *item, CURLcode res);
extern int64_t xfer_now_ms(void);
extern void xfer_complete_file(transfer_item *item, bool sync_dir);
extern bool xfer_create_part(transfer_item *item, char *err, size_t errlen, bool *retryable);

/* transfer_sync.c: the sync threads */
extern int	xfer_sync_start(transfer_pool *pool);
extern void xfer_sync_stop(transfer_pool *pool);
extern bool xfer_sync_queue(transfer_pool *pool, transfer_item *item);
extern bool xfer_open_queue(transfer_pool *pool, transfer_item *item);
extern transfer_item *xfer_open_collect(transfer_pool *pool);
extern int	xfer_open_pending(transfer_pool *pool);
extern bool xfer_sync_collect(transfer_pool *pool);
extern int	xfer_sync_pending(transfer_pool *pool);

/* transfer_upload.c, transfer_upload_hash.c: what the pool calls of an upload */
extern void upload_free(struct upload_state *up);
extern void upload_step_done(transfer_pool *pool, transfer_item *item, CURLcode res);
extern void upload_progress(transfer_item *item, int64_t *done, int64_t *total);
extern void upload_cancel(transfer_pool *pool, transfer_item *item);
extern void upload_hash_join(struct upload_state *up);
extern bool upload_hash_check(transfer_pool *pool);

#endif							/* MLOPS_TRANSFER_PRIVATE_H */
