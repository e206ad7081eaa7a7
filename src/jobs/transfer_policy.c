/*
 * transfer_policy.c
 *	  Kernel, part of transfer.c's family: the URL check of every transfer
 *	  (transfer_check_url) and the network policy (netpolicy.h) applied to
 *	  redirect hops and connections.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "transfer_private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

/*
 * transfer_check_url accepts absolute http:// and https:// URLs with a host
 * and without userinfo, as libcurl's URL parser reads them (the same parser
 * the transfer uses): netpolicy_check_url's rules without a policy, so that
 * both say the same.  Credentials go in the options, never in a URL: a URL
 * is shown in results and logs.  host, when given, receives the host.
 */
bool
transfer_check_url(const char *url, char *err, size_t errlen, char *host, size_t hostlen)
{
	CURLU	   *u;
	char	   *h = NULL;
	bool		ok = false;

	if (host != NULL && hostlen > 0)
		host[0] = '\0';
	if (!netpolicy_check_url(NULL, url, err, errlen))
		return false;
	if (host == NULL || hostlen == 0)
		return true;
	u = curl_url();
	if (u == NULL)
		errbuf_printf(err, errlen, "out of memory");
	else if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
			 curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		errbuf_printf(err, errlen, "url has no host");
	else if (strlen(h) >= hostlen)
		errbuf_printf(err, errlen, "url host name is too long");
	else
	{
		xfer_copy_text(host, hostlen, h);
		ok = true;
	}
	curl_free(h);
	curl_url_cleanup(u);
	return ok;
}

/* ------------------------------------------------------------------------
 * Network policy (netpolicy.h): redirect hops, connections.
 *
 *	  A redirect hop is judged when its Location header arrives, from the
 *	  header callback, before libcurl acts on it: the location is resolved
 *	  against the URL of the response that carries it, as libcurl resolves
 *	  it to follow, and a refused target aborts the transfer there, so that
 *	  the refused host gets no connection, let alone a request.  (A 3xx with
 *	  a Location libcurl would not follow, past max_redirects, is judged the
 *	  same: it fails either way.)  The scheme and userinfo of a hop are
 *	  checked even without a policy.
 *
 *	  A connection is judged by the address it goes to: the open-socket
 *	  callback refuses a socket for a denied address, whatever name resolved
 *	  to it (a DNS answer that changed since the URL was checked included),
 *	  and libcurl goes on with the name's other addresses if it has any.  A
 *	  connection reused from the multi handle's cache opens no socket: the
 *	  pre-request callback checks the address of every connection, new or
 *	  reused, once more before each request is sent.
 *
 *	  libcurl reports a refused socket as its generic "couldn't connect", a
 *	  refused hop as a write error: the reason is kept in policy_error and
 *	  wins over libcurl's message (xfer_policy_failed).  A refused socket is only
 *	  the reason when no response came after it (another address of the
 *	  name may have served the request): the header callback forgets it at
 *	  each status line.
 * ------------------------------------------------------------------------
 */

/*
 * note_refusal keeps why the policy refused a hop or a connection; hard
 * when the refusal surely ends the transfer.
 */
static void
note_refusal(transfer_item *item, const char *why, bool hard)
{
	xfer_copy_text(item->policy_error, sizeof(item->policy_error), why);
	item->policy_hard = hard;
}

/*
 * xfer_policy_failed: the transfer, which libcurl ended with res, failed because
 * the policy refused a hop or a connection.
 */
bool
xfer_policy_failed(const transfer_item *item, CURLcode res)
{
	return res != CURLE_OK && item->policy_error[0] != '\0';
}

/*
 * shown_url writes url as a message may show it: without user name,
 * password, query or fragment (they may hold credentials, signed URLs do),
 * "?..." marking a query that was there, at most about 200 characters.
 */
static void
shown_url(const char *url, char *out, size_t outlen)
{
	CURLU	   *u = curl_url();
	char	   *q = NULL;
	char	   *full = NULL;
	bool		had_query;

	xfer_copy_text(out, outlen, "(an invalid url)");
	if (u == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
	{
		had_query = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK;
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
			errbuf_printf(out, outlen, "%.200s%s%s", full, strlen(full) > 200 ? "..." : "",
						had_query ? "?..." : "");
	}
	curl_free(q);
	curl_free(full);
	curl_url_cleanup(u);
}

/* libcurl resolves a Location with these flags when it follows it (lib/transfer.c, Curl_follow). */
#if LIBCURL_VERSION_NUM >= 0x074e00
#define REDIRECT_URL_FLAGS	(CURLU_URLENCODE | CURLU_ALLOW_SPACE | CURLU_NON_SUPPORT_SCHEME)
#else
#define REDIRECT_URL_FLAGS	(CURLU_URLENCODE | CURLU_NON_SUPPORT_SCHEME)
#endif

/*
 * xfer_check_redirect judges the target of a Location header value [value,
 * value + len) of a 3xx response: resolved against the URL that answered,
 * it must pass netpolicy_check_url (the scheme and userinfo checks only,
 * without a policy).  False, with the reason kept, when it is refused.
 */
bool
xfer_check_redirect(transfer_item *item, const char *value, size_t len)
{
	char	   *location;
	char	   *base = NULL;
	char	   *target = NULL;
	CURLU	   *u;
	CURLUcode	rc;
	char		why[300];
	char		shown[256];
	char		msg[sizeof(item->policy_error)];
	bool		ok = false;

	while (len > 0 && isspace((unsigned char) *value))
		value++, len--;
	while (len > 0 && isspace((unsigned char) value[len - 1]))
		len--;
	if (len == 0)
		return true;			/* libcurl ignores an empty Location too */
	location = strndup(value, len);
	u = curl_url();
	if (location == NULL || u == NULL ||
		curl_easy_getinfo(item->easy, CURLINFO_EFFECTIVE_URL, &base) != CURLE_OK || base == NULL ||
		curl_url_set(u, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		note_refusal(item, "redirect refused: cannot resolve its location", true);
	else if ((rc = curl_url_set(u, CURLUPART_URL, location, REDIRECT_URL_FLAGS)) != CURLUE_OK)
	{
		xfer_curl_message(why, sizeof(why), CURLE_OK, curl_url_strerror(rc));
		errbuf_printf(msg, sizeof(msg), "redirect refused: its location is not a valid url (%s)", why);
		note_refusal(item, msg, true);
	}
	else if (curl_url_get(u, CURLUPART_URL, &target, 0) != CURLUE_OK)
		note_refusal(item, "redirect refused: cannot resolve its location", true);
	else if (!netpolicy_check_url(item->policy, target, why, sizeof(why)))
	{
		shown_url(target, shown, sizeof(shown));
		errbuf_printf(msg, sizeof(msg), "redirect to \"%s\" refused: %s", shown, why);
		note_refusal(item, msg, true);
	}
	else
		ok = true;
	curl_free(target);
	curl_url_cleanup(u);
	free(location);
	return ok;
}

/*
 * xfer_open_socket is libcurl's open-socket callback: it refuses (CURL_SOCKET_BAD,
 * which libcurl takes as a failed connect) a socket for an address in a
 * denied network, and otherwise opens it as libcurl would, close-on-exec.
 */
curl_socket_t
xfer_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	transfer_item *item = clientp;
	char		why[sizeof(item->policy_error)];

	(void) purpose;
	if (address->family == AF_INET6 && address->addrlen < sizeof(struct sockaddr_in6))
	{
		note_refusal(item, "connection refused: an ipv6 address too short to check", false);
		return CURL_SOCKET_BAD;
	}
	if (netpolicy_addr_denied(item->policy, &address->addr, why, sizeof(why)))
	{
		note_refusal(item, why, false);
		return CURL_SOCKET_BAD;
	}
#ifdef SOCK_CLOEXEC
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
#else
	return socket(address->family, address->socktype, address->protocol);
#endif
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * xfer_check_peer is libcurl's pre-request callback: the address of the
 * connection a request is about to use, new or reused from the cache, must
 * not be denied.  An address libcurl gives in a form inet_pton does not read
 * was opened through xfer_open_socket, and passes.
 */
int
xfer_check_peer(void *clientp, char *conn_primary_ip, char *conn_local_ip,
		   int conn_primary_port, int conn_local_port)
{
	transfer_item *item = clientp;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa = NULL;
	char		why[sizeof(item->policy_error)];

	(void) conn_local_ip;
	(void) conn_primary_port;
	(void) conn_local_port;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (conn_primary_ip == NULL)
		return CURL_PREREQFUNC_OK;
	if (inet_pton(AF_INET, conn_primary_ip, &sin.sin_addr) == 1)
	{
		sin.sin_family = AF_INET;
		sa = (const struct sockaddr *) &sin;
	}
	else if (inet_pton(AF_INET6, conn_primary_ip, &sin6.sin6_addr) == 1)
	{
		sin6.sin6_family = AF_INET6;
		sa = (const struct sockaddr *) &sin6;
	}
	if (sa != NULL && netpolicy_addr_denied(item->policy, sa, why, sizeof(why)))
	{
		note_refusal(item, why, true);
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}
#endif
