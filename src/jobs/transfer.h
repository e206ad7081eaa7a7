/*
 * transfer.h
 *	  Kernel: concurrent HTTP(S) downloads with one libcurl multi handle,
 *	  for the background worker.  No PostgreSQL headers: the worker calls it
 *	  outside any transaction and turns results into job outcomes.  Every
 *	  download writes to "<dest>.part" and renames it to "<dest>" only once it
 *	  is complete and checked, so a half-written file is never taken as done.
 *
 *	  Network policy (netpolicy.h), when a transfer is given one: its URL,
 *	  and every redirect hop before any request goes to it, must be allowed
 *	  by mlops.allowed_hosts (scheme, host and port), and no connection, new
 *	  or reused, may go to an address in mlops.denied_networks, whatever
 *	  name resolved to it.  Refusals are FAILED, not retryable, with one of
 *	  these messages (uploads put "<step> failed: " before them):
 *
 *		host "h:p" is not in mlops.allowed_hosts		(at start: err)
 *		redirect to "<url>" refused: <why>				(a hop; the url shown
 *			without user name, password, query or fragment)
 *		connection to <address> refused: it is in mlops.denied_networks (<network>)
 *
 *	  Without a policy (NULL) hosts, ports and addresses are not checked; the
 *	  scheme (http and https only, redirects included) and userinfo (refused
 *	  in every URL) are checked always.
 *
 *	  Files: "<dest>.part" is created in the destination's directory, held
 *	  open from the start (so the file is renamed into the directory it was
 *	  created in), without following a symbolic link; a "<dest>.part" that is
 *	  a symbolic link, not a regular file, or has other hard links, and a
 *	  "<dest>" that is a symbolic link or not a regular file, are refused.
 */
#ifndef MLOPS_TRANSFER_H
#define MLOPS_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netpolicy.h"

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
	/* credentials (a granted storage credential), all NULL for a public URL; never sent to
	 * another host a redirect leads to */
	const char *username;		/* basic auth (HTTP, WebDAV) */
	const char *password;
	const char *bearer_token;	/* HTTP: Authorization: Bearer */
	const char *s3_region;		/* S3: the GET is signed with SigV4 */
	const char *s3_access_key;
	const char *s3_secret_key;
	const char *credential_name;	/* the credential these come from, for
									 * messages only (never a secret), or NULL */
	const netpolicy *policy;	/* hosts and networks to check, or NULL: none;
								 * copied by transfer_start */
	const char *method;			/* NULL: GET; "HEAD" (an empty file is written),
								 * or another method sent without a body
								 * ("PROPFIND"); any 2xx status is success */
	const char *const *headers; /* more request headers ("Depth: 1"), NULL-terminated, or NULL */
	/* the http and geocode kinds (kind_http.c, kind_geocode.c) */
	const char *body;			/* a request body (copied), sent with method (default POST), or NULL */
	long		delay_ms;		/* > 0: the request starts this long after transfer_start;
								 * the transfer counts as running meanwhile, and
								 * transfer_cancel ends it at once */
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
	char		error[512];		/* lower-case English, when FAILED; when CANCELLED,
								 * why an S3 multipart abort failed, else "" */
	char		etag[256];		/* uploads: the ETag the server returned, "" when none */
	long		retry_after_s;	/* the last response's Retry-After in seconds, -1 when none */
} transfer_result;

/*
 * A request that carried credentials (basic, bearer or SigV4) and was
 * refused (401, 403, or an S3 error about the signature or the key) fails
 * with a message naming the credential, the host and the request, and S3's
 * error code and message when the server sent them, never a secret:
 *
 *		credential "<name>" was refused by <host:port>: <request> <path> answered
 *		http status 403 (SignatureDoesNotMatch: The request signature we ...)
 *
 * ("the credentials were refused by ..." when no credential_name is given).
 * Other failed statuses are "[<step> failed: ]http status <n>", followed by
 * " (<S3 code>: <S3 message>)" when the body is S3's error.
 */

/*
 * Uploads: a local file PUT to a server, on the same pool (and multi handle)
 * as downloads; results come from transfer_poll like a download's.
 */
typedef enum transfer_upload_target
{
	UPLOAD_HTTP = 0,			/* a plain PUT of the file to url */
	UPLOAD_WEBDAV,				/* MKCOL every collection in mkcol_urls first (201 or 405 accepted), then PUT */
	UPLOAD_S3					/* PUT signed with SigV4 (sigv4.h, with x-amz-content-sha256);
								 * multipart (initiate, parts, complete) when the file exceeds part_size */
} transfer_upload_target;

typedef struct transfer_upload_opts
{
	int64_t		job_id;
	transfer_upload_target target;
	const char *url;			/* the object's full URL (S3: path-style endpoint/bucket/key) */
	const char *src_path;		/* absolute path of a regular file */
	const char *user_agent;
	const char *username;		/* basic auth (HTTP, WebDAV), or NULL */
	const char *password;
	const char *bearer_token;	/* HTTP: Authorization: Bearer, or NULL */
	const char *s3_region;		/* S3 */
	const char *s3_access_key;
	const char *s3_secret_key;
	int64_t		s3_part_size;	/* bytes; multipart above it (minimum 5 MiB) */
	const char *credential_name;	/* as for downloads: named in messages only */
	const char *const *mkcol_urls;	/* WebDAV: NULL-terminated list, parents first */
	bool		compute_sha256; /* HTTP, WebDAV: also take the file's SHA-256 as it is
								 * sent (about as much CPU as the send itself); S3
								 * always does, its signature needs it */
	long		connect_timeout_s;
	long		low_speed_limit;
	long		low_speed_time_s;
	const netpolicy *policy;	/* as for downloads: url and mkcol_urls, and
								 * every request's connection; copied */
} transfer_upload_opts;

/*
 * transfer_start_upload starts an upload.  The upload is DONE only on 200,
 * 201 or 204 for every request it makes and, where the server reports one,
 * a matching size (a HEAD after the PUT compares Content-Length with the
 * file's size; S3 single PUTs compare the ETag with the file's MD5).  The
 * result's sha256 is the file's (S3, or compute_sha256), "" otherwise; bytes
 * is the file's size.  Retryable as for downloads (network errors, 408, 429,
 * 5xx).  Never logs or returns secrets.  An S3 upload hashes its file on a
 * thread of its own before its first request (SigV4 signs the payload
 * hash): transfer_start_upload returns at once, transfer_poll starts the
 * first request once the hash is there (or reports a file that could not
 * be read as FAILED), and transfer_cancel stops the hashing within one read.
 * A failed or cancelled S3 multipart
 * upload is aborted on the server (best effort, at most
 * TRANSFER_ABORT_TIMEOUT_MS) before its result is reported.
 */
extern bool transfer_start_upload(transfer_pool *pool, const transfer_upload_opts *opts,
								  char *err, size_t errlen, bool *retryable);

/* transfer_global_init / cleanup wrap curl_global_init / cleanup (once per process). */
extern bool transfer_global_init(void);
extern void transfer_global_cleanup(void);

/* transfer_pool_create: max_concurrent transfers at once (more are queued by libcurl); NULL on failure. */
extern transfer_pool *transfer_pool_create(int max_concurrent);

/*
 * transfer_pool_unnamed_files: whether downloads are written to an unnamed
 * file (O_TMPFILE, linked in at the end; the default where /proc/self/fd is
 * there) or to "<dest>.part" (renamed at the end; always where the file
 * system has no O_TMPFILE).  For tests of either way.
 */
extern void transfer_pool_unnamed_files(transfer_pool *pool, bool on);

/* transfer_pool_destroy cancels everything still running (removing .part files) and frees the pool. */
extern void transfer_pool_destroy(transfer_pool *pool);

/*
 * transfer_start validates the options (URL and policy, destination) and
 * starts a download.  Returns false with a message in err when it cannot
 * start (a bad or refused URL, a refused destination or .part file are not
 * retryable; *retryable says whether trying again could help).  The file
 * (unnamed, or "<dest>.part") may be created after it returns (on one of
 * the pool's threads): a refusal found only then (the file system's, or a
 * .part that changed meanwhile) is reported by transfer_poll as a FAILED
 * result with the same message.
 */
extern bool transfer_start(transfer_pool *pool, const transfer_opts *opts,
						   char *err, size_t errlen, bool *retryable);

/* An S3 multipart upload's abort (DELETE ?uploadId=) is given at most this long. */
#define TRANSFER_ABORT_TIMEOUT_MS	5000

/*
 * transfer_cancel stops a running transfer; its result (CANCELLED) comes from
 * transfer_poll: at the next call, or, for an S3 multipart upload that has
 * an UploadId, once its abort is over (at most TRANSFER_ABORT_TIMEOUT_MS
 * later; the result's error then says whether the abort failed).  False when
 * the transfer is unknown, already cancelled, or already ending.
 */
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

/*
 * transfer_syncing returns how many of them have their whole body and only
 * wait for their file to be synced and renamed (no connection any more).
 */
extern int	transfer_syncing(transfer_pool *pool);

/*
 * transfer_check_url: true when url is an absolute http:// or https:// URL
 * with a host and without a user name or password; else a reason (which
 * never repeats the user name or password).
 */
extern bool transfer_check_url(const char *url, char *err, size_t errlen, char *host, size_t hostlen);

#endif							/* MLOPS_TRANSFER_H */
