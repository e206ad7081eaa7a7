/*
 * transfer_upload.c
 *	  Kernel, part of transfer.c's family: uploads (see transfer_upload.h).
 *	  transfer_start_upload checks the options and the file and starts the
 *	  step machine; upload_step_done judges each request and starts the
 *	  next; an upload ends done, failed (an S3 multipart upload aborted
 *	  first) or cancelled, its result scrubbed of every secret.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"
#include "transfer_upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* upload_free frees an upload's state, wiping its secrets. */
void
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
			xfer_copy_text(item->result.error, sizeof(item->result.error), "upload failed (message withheld: it held a credential)");
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

	xfer_detach_easy(pool, item);
	item->result.content_type[0] = '\0';
	if (item->result.effective_url[0] != '\0')
	{
		shown = strip_userinfo(item->result.effective_url);
		xfer_copy_text(item->result.effective_url, sizeof(item->result.effective_url), shown ? shown : "");
		free(shown);
	}
	curl_slist_free_all(up->headers);
	up->headers = NULL;
	free(up->post);
	up->post = NULL;
	up->resp_len = 0;
	item->ul_now = 0;
}

/*
 * upload_progress is transfer_progress for an upload: the body bytes sent
 * so far over all its requests (the file's size once done), and the file's
 * size.
 */
void
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

/* step_name names the current step for messages ("put", "s3 upload part 3"). */
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

/*
 * upload_finish_stopped ends a failed upload (its error is in the result
 * already) or a cancelled one (its error says why its abort failed, or is
 * empty), once any S3 abort is over.  The status is the failed or cancelled
 * request's, not the abort's.
 */
void
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
			xfer_copy_text(item->result.effective_url, sizeof(item->result.effective_url), up->url_shown);
	}
	else
		item->result.state = TRANSFER_FAILED;
	item->result.sha256[0] = '\0';
	xfer_copy_text(item->result.etag, sizeof(item->result.etag), "");
	xfer_release_part(item);
	scrub_result(item);
	item->finished = true;
}

/*
 * upload_fail fails the upload with a message; an initiated S3 multipart
 * upload is aborted first (best effort: the abort's outcome changes nothing).
 */
void
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
void
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
			xfer_hash_slot(item);	/* the last, partly filled slot */
			xfer_wait_hashed(item, 0);
			sha256_final(&item->sha, digest);
			sha256_hex(digest, up->sha256);
		}
		else if (!upload_hash_source(item->fd, up))
			up->sha256[0] = '\0';
		xfer_release_stage(item);
		up->inline_hash = false;
	}
	memcpy(item->result.sha256, up->sha256, sizeof(up->sha256));
	xfer_copy_text(item->result.etag, sizeof(item->result.etag), up->etag);
	if (up->url_shown != NULL)
		xfer_copy_text(item->result.effective_url, sizeof(item->result.effective_url), up->url_shown);
	item->result.state = TRANSFER_DONE;
	item->result.retryable = false;
	item->result.error[0] = '\0';
	xfer_release_part(item);
	scrub_result(item);
	item->finished = true;
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
void
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

			if (xfer_policy_failed(item, res))
				xfer_copy_text(why, sizeof(why), item->policy_error);
			else
				xfer_curl_message(why, sizeof(why), res, item->curl_error);
			errbuf_printf(item->result.error, sizeof(item->result.error), "%s failed: %s", name, why);
		}
		else if (item->cancelled && !status_ok(up, code))
			errbuf_printf(item->result.error, sizeof(item->result.error), "%s failed: http status %ld",
						name, code);
		upload_finish_stopped(item);
		return;
	}
	if (xfer_policy_failed(item, res))
	{
		upload_fail(pool, item, false, "%s failed: %s", name, item->policy_error);
		return;
	}
	if (item->write_errno != 0)
	{
		upload_fail(pool, item, xfer_errno_transient(item->write_errno), "%s failed: cannot read \"%s\": %s",
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

		xfer_curl_message(why, sizeof(why), res, item->curl_error);
		upload_fail(pool, item, xfer_curl_retryable(res), "%s failed: %s", name, why);
		return;
	}
	if (!status_ok(up, code))
	{
		char		why[sizeof(item->result.error)];

		xfer_describe_status(why, sizeof(why), name, name, item->result.effective_url, code,
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
			xfer_copy_text(up->etag, sizeof(up->etag), up->etag_hdr);
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
				xfer_copy_text(up->etag, sizeof(up->etag), up->etag_hdr);
			upload_done(item);
			return;
		case UP_S3_INIT:
			{
				char		id[512];

				if (!xfer_xml_text(up->resp, "UploadId", id, sizeof(id)) || (up->upload_id = strdup(id)) == NULL)
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

					if (!xfer_xml_text(up->resp, "Code", codetext, sizeof(codetext)))
						xfer_copy_text(codetext, sizeof(codetext), "unknown");
					upload_fail(pool, item, true, "%s failed: s3 error %s", name, codetext);
					return;
				}
				if (xfer_xml_text(up->resp, "ETag", etag, sizeof(etag)))
					xfer_strip_etag(up->etag, sizeof(up->etag), etag, strlen(etag));
				else
					xfer_copy_text(up->etag, sizeof(up->etag), up->etag_hdr);
				upload_done(item);
				return;
			}
		case UP_S3_ABORT:
			break;
	}
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
			*retryable = xfer_errno_transient(e);
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
				xfer_free_item(pool, item);	/* closes fd through xfer_release_part */
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
		xfer_free_item(pool, item);
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
		if (!upload_hash_source(fd, up))
		{
			int			e = errno;

			if (e == 0)
				errbuf_printf(err, errlen, "\"%s\" changed size while it was read", opts->src_path);
			else
				errbuf_printf(err, errlen, "cannot read \"%s\": %s", opts->src_path, strerror(e));
			if (retryable != NULL)
				*retryable = e == 0 || xfer_errno_transient(e);
			xfer_free_item(pool, item);
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
		xfer_free_item(pool, item);
		return false;
	}
	return true;
}
