/*
 * transfer_download.c
 *	  Kernel, part of transfer.c's family: downloads.  transfer_start checks
 *	  the options and the destination (open_part), has the file created
 *	  (xfer_create_part, on a sync thread when there are some: an unnamed
 *	  file in the destination's directory, or "<dest>.part" where the file
 *	  system cannot) and adds the request to the pool; write_body writes and
 *	  hashes the body; xfer_finish_item decides the outcome once libcurl is
 *	  done, and a complete body is synced and only then given its name
 *	  (xfer_complete_file; see transfer.c for the item's life).
 *
 *	  Unnamed files: with 500 downloads of 10 KiB into one folder, creating
 *	  "<dest>.part" held the folder's lock while ext4 (without a journal, as
 *	  on our test machine) searched its inode table past recently deleted
 *	  inodes, a third of a millisecond or more each; every other creation,
 *	  rename and even a lookup of a new name in that folder (the worker's
 *	  own checks of the next jobs' paths) waited for it.  An O_TMPFILE file
 *	  takes its inode without the folder's lock, and is linked in with one
 *	  entry at the end instead of a create and a rename.
 *
 *	  Speed.  SHA-256 costs about as much CPU as the download itself (the
 *	  copy into the page cache), so it runs on the pool's hash helper thread,
 *	  in parallel.  write_body writes each chunk libcurl hands it (at most
 *	  CURL_MAX_WRITE_SIZE, 16 KiB) straight to the file, as the curl tool
 *	  does, and copies it into a slot of the item's staging ring; a full slot
 *	  is queued for the helper, which hashes it while libcurl fills the next
 *	  ones (transfer_hash.c).
 *
 *	  Tried and dropped, measured on ext4 (Linux 6.18): writing whole slots
 *	  (256 KiB writes are several times slower than 16 KiB ones there), and
 *	  starting write-back early with sync_file_range (about 40% slower, for
 *	  a shorter final fsync).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* libcurl's receive buffer: its maximum (CURL_MAX_READ_SIZE), for the fewest calls per byte. */
#define TRANSFER_BUFFER_SIZE	(512L * 1024L)

static void fail_item(transfer_item *item, bool retryable, const char *fmt,...) MLOPS_PRINTF(3, 4);
static const char *part_refusal(const struct stat *st);

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
	xfer_stage_hash(item, p, len);
	return len;
}

/*
 * fail_item makes the result FAILED with a message, removes the .part file
 * and marks the item finished (unless a sync thread has it: see
 * transfer_sync.c).
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
	xfer_release_part(item);
	if (!item->syncing)
		item->finished = true;	/* else the sync thread's caller sets it */
}

/*
 * xfer_finish_item decides the outcome of a transfer libcurl has finished with
 * res.  Cancellation and our own refusals (policy, size, write errors,
 * status) come before libcurl's error, since they caused it.  A complete
 * 2xx body is completed by xfer_complete_file, on a sync thread when the
 * pool has them (the item is finished once the thread is done with it).
 */
void
xfer_finish_item(transfer_pool *pool, transfer_item *item, CURLcode res)
{
	long		code;

	xfer_detach_easy(pool, item);
	code = item->result.http_status;
	item->result.bytes = item->bytes;

	if (item->cancelled)
	{
		item->result.state = TRANSFER_CANCELLED;
		xfer_release_part(item);
		item->finished = true;
		return;
	}
	if (xfer_policy_failed(item, res))
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
		fail_item(item, xfer_errno_transient(item->write_errno), "cannot write \"%s\": %s",
				  item->part_path, strerror(item->write_errno));
		return;
	}
	if (res != CURLE_OK && !item->bad_status)
	{
		char		why[CURL_ERROR_SIZE + 64];

		xfer_curl_message(why, sizeof(why), res, item->curl_error);
		fail_item(item, xfer_curl_retryable(res), "%s", why);
		return;
	}
	if (code < 200 || code > 299)
	{
		char		why[sizeof(item->result.error)];

		xfer_describe_status(why, sizeof(why), NULL, "get", item->result.effective_url, code,
						item->err_body, item->has_auth, item->credential_name);
		fail_item(item, code == 408 || code == 429 || (code >= 500 && code <= 599), "%s", why);
		return;
	}

	if (!item->no_stage)
		xfer_hash_slot(item);		/* the last, partly filled slot */
	xfer_release_stage(item);		/* waits for the helper to finish the hash */
	if (!xfer_sync_queue(pool, item))
		xfer_complete_file(item, true);
}

/*
 * link_unnamed gives a synced unnamed file (O_TMPFILE) its name "<dest>" in
 * the directory held open since the start, then closes it.  Where "<dest>"
 * exists already the file is linked as "<dest>.part" and renamed over it,
 * so that the old file is replaced at once, as a rename always did (an old
 * .part of ours is removed first; one that part_refusal refuses is left
 * alone and the download fails).  A .part of ours left by an earlier attempt
 * is removed.  Links through /proc/self/fd: linkat(2) with AT_EMPTY_PATH
 * needs a privilege the server does not have.  On failure the item is
 * failed (fail_item closes the file, and with it the data is gone).
 */
static bool
link_unnamed(transfer_item *item)
{
	char		proc[64];
	struct stat st;
	const char *why;
	int			e;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", item->fd);
	if (linkat(AT_FDCWD, proc, item->dir_fd, item->dest_base, AT_SYMLINK_FOLLOW) != 0)
	{
		e = errno;
		if (e != EEXIST)
		{
			fail_item(item, xfer_errno_transient(e), "cannot create \"%s\": %s", item->dest_path, strerror(e));
			return false;
		}
		/* "<dest>" is there: in as "<dest>.part", then renamed over it */
		if (linkat(AT_FDCWD, proc, item->dir_fd, item->part_base, AT_SYMLINK_FOLLOW) != 0)
		{
			e = errno;
			if (e == EEXIST)
			{
				if (fstatat(item->dir_fd, item->part_base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
					(why = part_refusal(&st)) != NULL)
				{
					fail_item(item, false, "cannot create \"%s\": %s", item->part_base, why);
					return false;
				}
				(void) unlinkat(item->dir_fd, item->part_base, 0);
				e = linkat(AT_FDCWD, proc, item->dir_fd, item->part_base, AT_SYMLINK_FOLLOW) != 0 ? errno : 0;
			}
			if (e != 0)
			{
				fail_item(item, xfer_errno_transient(e), "cannot create \"%s\": %s", item->part_path, strerror(e));
				return false;
			}
		}
		if (renameat(item->dir_fd, item->part_base, item->dir_fd, item->dest_base) != 0)
		{
			e = errno;
			(void) unlinkat(item->dir_fd, item->part_base, 0);
			fail_item(item, xfer_errno_transient(e), "cannot rename \"%s\" to \"%s\": %s",
					  item->part_path, item->dest_path, strerror(e));
			return false;
		}
	}
	else if (item->old_part)
		(void) unlinkat(item->dir_fd, item->part_base, 0);
	item->old_part = false;
	e = close(item->fd) != 0 ? errno : 0;
	item->fd = -1;
	if (e != 0)
	{
		fail_item(item, xfer_errno_transient(e), "cannot close \"%s\": %s", item->dest_path, strerror(e));
		return false;
	}
	return true;
}

/*
 * xfer_complete_file makes a complete 2xx body durable and puts it in
 * place: syncs the file, checks the SHA-256, then links the unnamed file in
 * as "<dest>" (link_unnamed) or closes "<dest>.part" and renames it to
 * "<dest>", in the directory held open since the start, and, with
 * sync_dir, syncs that directory (best effort: the file itself is synced
 * already; the sync threads sync the directories of several files at once
 * instead).  Runs on a sync thread (transfer_sync.c) or, without one,
 * inline; it touches the item only.
 */
void
xfer_complete_file(transfer_item *item, bool sync_dir)
{
	uint8_t		digest[32];
	char		hex[65];
	struct stat st;

	if (fsync(item->fd) != 0)
	{
		int			e = errno;

		fail_item(item, xfer_errno_transient(e), "cannot sync \"%s\": %s", item->part_path, strerror(e));
		return;
	}
	/* an unnamed file stays open until it is linked in (through its descriptor) */
	if (!item->unnamed && close(item->fd) != 0)
	{
		int			e = errno;

		item->fd = -1;
		fail_item(item, xfer_errno_transient(e), "cannot close \"%s\": %s", item->part_path, strerror(e));
		return;
	}
	if (!item->unnamed)
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
	if (item->unnamed)
	{
		if (!link_unnamed(item))
			return;
	}
	else if (renameat(item->dir_fd, item->part_base, item->dir_fd, item->dest_base) != 0)
	{
		int			e = errno;

		fail_item(item, xfer_errno_transient(e), "cannot rename \"%s\" to \"%s\": %s",
				  item->part_path, item->dest_path, strerror(e));
		return;
	}
	if (sync_dir)
		(void) fsync(item->dir_fd);

	memcpy(item->result.sha256, hex, sizeof(hex));
	item->result.state = TRANSFER_DONE;
	item->result.retryable = false;
	if (!item->syncing)
		item->finished = true;
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
		if (!xfer_check_redirect(item, buf + 9, len - 9))
			return 0;
	}
	return len;
}

/*
 * setup_easy sets the options of a new download's easy handle.  Returns the
 * first option libcurl refuses, CURLE_OK when all are set.
 */
static CURLcode
setup_easy(transfer_item *item, const transfer_opts *opts)
{
	CURL	   *e = item->easy;
	CURLcode	rc = xfer_setup_common(item, e, opts->url, opts->user_agent, opts->connect_timeout_s,
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
			rc = xfer_s3_sign(&item->dl_headers, "GET", opts->url, NULL,
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
	/* a request body (the http kind's JSON), POST unless a method is given */
	if (opts->body != NULL)
		SET(CURLOPT_COPYPOSTFIELDS, opts->body);
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
 * part_refusal says why an existing "<dest>.part" (st, not followed) is not
 * ours to truncate: a symbolic link, anything but a regular file, or a
 * file with other hard links (truncating it would truncate them).  NULL
 * when it may be used.
 */
static const char *
part_refusal(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "it is a symbolic link";
	if (!S_ISREG(st->st_mode))
		return "it is not a regular file";
	if (st->st_nlink > 1)
		return "it has other hard links";
	return NULL;
}

/*
 * open_part opens the destination's directory (held until the item is
 * freed: the file is renamed in the directory it was created in, whatever
 * happens to the path meanwhile) and checks it: a "<dest>" that is a
 * symbolic link or not a regular file is refused, and so is an existing
 * "<dest>.part" that part_refusal refuses (not retryable, and left alone).
 * The file itself is created by xfer_create_part, which checks again what it
 * opened: these checks only give the usual refusals at once, before the
 * creation is handed to a sync thread.  Messages name the file by its base
 * name, except errno's (as before: the full path).
 */
static bool
open_part(transfer_item *item, char *err, size_t errlen, bool *retryable)
{
	const char *slash = strrchr(item->dest_path, '/');
	char	   *dir;
	struct stat st;
	const char *why;

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
		*retryable = xfer_errno_transient(e);
		return false;
	}
	if (fstatat(item->dir_fd, item->dest_base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
	{
		errbuf_printf(err, errlen, "cannot download to \"%s\": it is %s", item->dest_base,
					S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		return false;
	}
	if (fstatat(item->dir_fd, item->part_base, &st, AT_SYMLINK_NOFOLLOW) == 0)
	{
		if ((why = part_refusal(&st)) != NULL)
		{
			errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_base, why);
			return false;
		}
		item->old_part = true;	/* ours, left by an earlier attempt: removed at the end */
	}
	return true;
}

/*
 * xfer_create_part creates "<dest>.part" in the directory open_part opened.
 * The file is opened without following a symbolic link, without blocking (a
 * FIFO would block a write-only open) and without truncating, then checked
 * (part_refusal: what was there may have changed since open_part looked);
 * only then is an old .part of ours truncated.  Creating a file costs the
 * file system an inode (on ext4 a search of its inode table), so with sync
 * threads this runs on one of them (transfer_sync.c), off the caller's
 * thread; it touches the item only.
 */
bool
xfer_create_part(transfer_item *item, char *err, size_t errlen, bool *retryable)
{
	struct stat st;
	int			fd;
	int			flags;
	const char *why;

	*retryable = false;

	/*
	 * An unnamed file in the directory: no name to take (and so no lock on
	 * the directory while ext4 searches its inode table, which held up every
	 * other creation, rename and lookup there), nothing left behind by a
	 * crash or a failure, and one entry made at the end instead of a create
	 * and a rename.  Where the file system has no O_TMPFILE (or refuses it),
	 * "<dest>.part" as before.
	 */
	if (item->pool != NULL && item->pool->unnamed_files)
	{
		fd = openat(item->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
		{
			item->fd = fd;
			item->unnamed = true;
			return true;
		}
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
			*retryable = xfer_errno_transient(e);
		}
		return false;
	}
	if (fstat(fd, &st) != 0)
	{
		int			e = errno;

		errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_path, strerror(e));
		*retryable = xfer_errno_transient(e);
		close(fd);
		return false;
	}
	if ((why = part_refusal(&st)) != NULL)
	{
		errbuf_printf(err, errlen, "cannot create \"%s\": %s", item->part_base, why);
		close(fd);
		return false;
	}
	if (ftruncate(fd, 0) != 0 ||
		(flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
	{
		int			e = errno;

		errbuf_printf(err, errlen, "cannot truncate \"%s\": %s", item->part_path, strerror(e));
		*retryable = xfer_errno_transient(e);
		close(fd);
		return false;
	}
	item->fd = fd;
	item->part_made = true;
	return true;
}

/* xfer_now_ms: a monotonic clock in milliseconds, for delayed requests. */
int64_t
xfer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		xfer_free_item(pool, item);
		return false;
	}
	if (opts->expected_sha256 != NULL)
		for (int i = 0; i < 65; i++)
			item->expected[i] = (char) tolower((unsigned char) opts->expected_sha256[i]);
	sha256_init(&item->sha);

	/* the checks now; the file itself once the request is set up (nothing of ours to remove before) */
	if (!open_part(item, err, errlen, &again))
	{
		if (retryable != NULL)
			*retryable = again;
		xfer_free_item(pool, item);
		return false;
	}

	item->easy = curl_easy_init();
	if (item->easy == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		if (retryable != NULL)
			*retryable = true;
		xfer_free_item(pool, item);
		return false;
	}
	rc = setup_easy(item, opts);
	if (rc != CURLE_OK)
	{
		errbuf_printf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
		curl_easy_cleanup(item->easy);
		item->easy = NULL;
		xfer_free_item(pool, item);
		return false;
	}
	/* a delayed request waits off the multi handle (transfer_poll starts it) */
	item->result.retry_after_s = -1;
	if (opts->delay_ms > 0)
		item->start_at_ms = xfer_now_ms() + opts->delay_ms;

	/*
	 * The .part file: created by a sync thread when the pool has them
	 * (transfer_poll adds the request once it exists, or reports the
	 * refusal), else here.
	 */
	if (xfer_open_queue(pool, item))
		mrc = CURLM_OK;
	else if (!xfer_create_part(item, err, errlen, &again))
	{
		if (retryable != NULL)
			*retryable = again;
		curl_easy_cleanup(item->easy);
		item->easy = NULL;
		xfer_free_item(pool, item);
		return false;
	}
	else
		mrc = item->start_at_ms > 0 ? CURLM_OK : curl_multi_add_handle(pool->multi, item->easy);
	if (mrc != CURLM_OK)
	{
		errbuf_printf(err, errlen, "cannot add the transfer: %s", curl_multi_strerror(mrc));
		if (retryable != NULL)
			*retryable = mrc == CURLM_OUT_OF_MEMORY;
		curl_easy_cleanup(item->easy);
		item->easy = NULL;
		xfer_free_item(pool, item);
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
