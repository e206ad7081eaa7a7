/*
 * transfer_errors.c
 *	  Kernel, part of transfer.c's family: what a failed transfer says and
 *	  whether it is worth another attempt.  errno and libcurl's errors sorted
 *	  into passing and lasting troubles, libcurl's text as a message, and a
 *	  refused status explained (S3's <Error> body, a credential that was
 *	  refused; the format is in transfer.h).  Never a secret: a message names
 *	  a credential, a host and a request path, not what was sent.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * xfer_copy_text copies a possibly NULL string into a fixed buffer, truncating.
 */
void
xfer_copy_text(char *dst, size_t dstlen, const char *src)
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
 * xfer_errno_transient says whether a failed file operation may succeed later
 * (full disk or quota, too many open files, no memory): worth a retry.
 */
bool
xfer_errno_transient(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EMFILE || e == ENFILE ||
		e == ENOMEM || e == EAGAIN || e == EINTR || e == EIO;
}

/*
 * xfer_curl_retryable sorts libcurl's errors: the network's and the server's
 * passing troubles are worth another attempt; a bad URL, a refused
 * protocol, a redirect loop, a size limit or a certificate problem will
 * fail the same way again.
 */
bool
xfer_curl_retryable(CURLcode res)
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
 * xfer_curl_message writes libcurl's explanation of res (the error buffer when
 * it says more than the generic text) starting with a lower-case letter
 * unless it starts with an acronym, without trailing white space.
 */
void
xfer_curl_message(char *buf, size_t buflen, CURLcode res, const char *detail)
{
	size_t		n;

	xfer_copy_text(buf, buflen, (detail && detail[0]) ? detail : curl_easy_strerror(res));
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char) buf[n - 1]))
		buf[--n] = '\0';
	if (n >= 2 && isupper((unsigned char) buf[0]) && !isupper((unsigned char) buf[1]))
		buf[0] = (char) tolower((unsigned char) buf[0]);
}

/* xfer_xml_text finds <tag>text</tag> in xml and copies text; false when missing or empty. */
bool
xfer_xml_text(const char *xml, const char *tag, char *out, size_t outlen)
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
 * xfer_describe_status explains a refused request (see transfer.h): a status
 * that says the credentials were not accepted (401, 403, or S3's codes for
 * a bad signature or key) names the credential, the host and the request;
 * any other is "[<step> failed: ]http status <n>".  S3's error code and
 * message are added when body is S3's <Error>.  has_auth: credentials were
 * sent.
 */
void
xfer_describe_status(char *out, size_t outlen, const char *step, const char *request,
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
		if (xfer_xml_text(body, "Code", raw, sizeof(raw)))
			clean_text(s3code, sizeof(s3code), raw, strlen(raw));
		if (xfer_xml_text(body, "Message", raw, sizeof(raw)))
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
