/*
 * transfer_request.c
 *	  Kernel, part of transfer.c's family: the libcurl set-up of requests.
 *	  The options every request of the pool shares (xfer_setup_common), the
 *	  SigV4 signature of an S3 request (xfer_s3_sign), and each request of an
 *	  upload's step machine (upload_start_step) with the callbacks that feed
 *	  its body from the file and keep its response's ETag and body.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"
#include "transfer_upload.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/sha256.h"
#include "sigv4.h"

/*
 * xfer_s3_sign appends the headers of a SigV4-signed S3 request to *headers:
 * Host, x-amz-date, x-amz-content-sha256 and Authorization (sigv4.c; not
 * libcurl's signer, see sigv4.h), signing exactly what is sent: the URL's
 * host, path and query, the content type when given, and the payload hash.
 * libcurl sends a custom Host or Authorization header to the URL's host
 * only, never to another host a redirect leads to.
 */
CURLcode
xfer_s3_sign(struct curl_slist **headers, const char *method, const char *url, const char *content_type,
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
 * xfer_setup_common sets the options every request of the pool shares, download
 * or upload: the URL, the item as private data, the error buffer, no
 * signals, http(s) only, no userinfo, no failing on HTTP errors (the status
 * is judged by us), the User-Agent, the connect and low-speed limits, and
 * with a policy, the checks of each connection's address.
 */
CURLcode
xfer_setup_common(transfer_item *item, CURL *e, const char *url, const char *user_agent,
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
		SET(CURLOPT_OPENSOCKETFUNCTION, xfer_open_socket);
		SET(CURLOPT_OPENSOCKETDATA, (void *) item);
#if LIBCURL_VERSION_NUM >= 0x075000
		SET(CURLOPT_PREREQFUNCTION, xfer_check_peer);
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
				xfer_stage_hash(item, (const uint8_t *) buf + (up->hashed_upto - pos),
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

/* xfer_strip_etag copies an ETag without white space, a W/ prefix, quotes or &quot;. */
void
xfer_strip_etag(char *dst, size_t dstlen, const char *src, size_t len)
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
		xfer_strip_etag(up->etag_hdr, sizeof(up->etag_hdr), buf + 5, len - 5);
	return len;
}

/*
 * upload_start_step makes the easy handle of the current step and adds it to
 * the multi handle.  False (with the upload failed, or finished failed when
 * it was the abort) when it cannot.
 */
bool
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
	/* S3 answers in XML: its results, and its errors (see xfer_describe_status) */
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

	rc = xfer_setup_common(item, e, url, up->user_agent, up->connect_timeout_s,
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
			rc = xfer_s3_sign(&up->headers, method, url, ctype, payload_sha, up->s3_region,
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
