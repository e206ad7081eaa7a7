/*
 * transfer.h
 *	  Kernel: concurrent HTTP(S) downloads with one libcurl multi handle,
 *	  for the background worker.  No PostgreSQL headers: the worker calls it
 *	  outside any transaction and turns results into job outcomes.  Every
 *	  download writes to "<dest>.part" and renames it to "<dest>" only once it
 *	  is complete and checked, so a half-written file is never taken as done.
 */
#ifndef MLOPS_TRANSFER_H
#define MLOPS_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct transfer_pool transfer_pool;

typedef struct transfer_opts
{
	int64_t		job_id;			/* the caller's tag; unique among running transfers */
	const char *url;			/* http:// or https:// only */
	const char *dest_path;		/* absolute final path; its directory must exist */
	const char *user_agent;		/* e.g. "pg_mlops/0.1.0" */
	const char *expected_sha256;	/* 64 lower- or upper-case hex digits, or NULL */
	long		connect_timeout_s;	/* 0: libcurl's default */
	long		total_timeout_s;	/* 0: none */
	long		low_speed_limit;	/* bytes/s; with low_speed_time_s, 0: none */
	long		low_speed_time_s;
	int64_t		max_bytes;		/* 0: unlimited; larger bodies fail (not retryable) */
	long		max_redirects;	/* redirects are followed to http/https only */
} transfer_opts;

typedef enum transfer_state
{
	TRANSFER_RUNNING = 0,
	TRANSFER_DONE,				/* 2xx, size and checksum right, file renamed into place */
	TRANSFER_FAILED,			/* see retryable and error */
	TRANSFER_CANCELLED			/* transfer_cancel; the .part file is removed */
} transfer_state;

typedef struct transfer_result
{
	int64_t		job_id;
	transfer_state state;
	bool		retryable;		/* network errors, timeouts, 5xx, 408, 429: worth another attempt */
	long		http_status;	/* 0 when no response */
	int64_t		bytes;			/* body bytes written */
	char		sha256[65];		/* hex of the body, when DONE */
	char		content_type[128];
	char		effective_url[1024];
	char		error[512];		/* lower-case English, when FAILED */
} transfer_result;

/* transfer_global_init / cleanup wrap curl_global_init / cleanup (once per process). */
extern bool transfer_global_init(void);
extern void transfer_global_cleanup(void);

/* transfer_pool_create: max_concurrent transfers at once (more are queued by libcurl); NULL on failure. */
extern transfer_pool *transfer_pool_create(int max_concurrent);

/* transfer_pool_destroy cancels everything still running (removing .part files) and frees the pool. */
extern void transfer_pool_destroy(transfer_pool *pool);

/*
 * transfer_start validates the options (scheme, destination) and starts a
 * download.  Returns false with a message in err when it cannot start (a bad
 * URL is not retryable; *retryable says whether trying again could help).
 */
extern bool transfer_start(transfer_pool *pool, const transfer_opts *opts,
						   char *err, size_t errlen, bool *retryable);

/* transfer_cancel stops a running download; its result (CANCELLED) comes from transfer_poll. */
extern bool transfer_cancel(transfer_pool *pool, int64_t job_id);

/*
 * transfer_poll lets libcurl work for at most timeout_ms (waiting on its
 * sockets), then writes up to max finished results to out and returns how
 * many.  A cancelled transfer is reported within one call.
 */
extern int	transfer_poll(transfer_pool *pool, int timeout_ms, transfer_result *out, int max);

/* transfer_progress: bytes received and expected (-1 when unknown) of a running download. */
extern bool transfer_progress(transfer_pool *pool, int64_t job_id, int64_t *done, int64_t *total);

/* transfer_count returns how many downloads are running. */
extern int	transfer_count(transfer_pool *pool);

/* transfer_check_url: true when url is an absolute http:// or https:// URL with a host; else a reason. */
extern bool transfer_check_url(const char *url, char *err, size_t errlen, char *host, size_t hostlen);

#endif							/* MLOPS_TRANSFER_H */
