/*
 * netpolicy.c
 *	  Kernel: the network policy of jobs' transfers (allowed hosts and ports,
 *	  denied networks).  See netpolicy.h for the rules.
 *
 *	  A policy is a small table built once from the two settings: host
 *	  entries (a lower-case name or a canonical bracketed IPv6 address, and a
 *	  port rule) and networks (family, address masked to its prefix, the
 *	  entry as written for messages), in one malloc'd block so that a copy is
 *	  a memcpy and freeing it is one free.  Lookups are linear: the lists are
 *	  a handful of entries, and a lookup happens once per URL, redirect or
 *	  connection, never per byte.
 *
 *	  URLs are parsed by libcurl's URL API, the parser the transfers use, so
 *	  that what is checked is what is fetched: libcurl normalises numeric
 *	  IPv4 forms ("0x7f.1", "2130706433") to dotted quads before the host is
 *	  compared.
 */
#include "netpolicy.h"
#include "util/errbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* A host entry's name: a DNS name is at most 253 characters; "[" IPv6 "]" fits too. */
#define NP_HOST_MAX			256

/* A network entry as written (the longest IPv6 text, "/128", white space inside trimmed). */
#define NP_NET_TEXT_MAX		64

/* Port rules of a host entry besides an exact port. */
#define NP_PORT_WEB			0	/* no port given: 80 and 443 */
#define NP_PORT_ANY			(-1)	/* "host:*" */

/* How much of a bad entry a message shows: "%.*s" with SHOWN(len) and the entry. */
#define SHOWN(len)			((int) ((len) > 80 ? 80 : (len)))

typedef struct np_host
{
	char		name[NP_HOST_MAX];	/* lower case; IPv6 canonical, in brackets */
	int			port;			/* NP_PORT_WEB, NP_PORT_ANY or 1..65535 */
} np_host;

typedef struct np_net
{
	int			family;			/* AF_INET or AF_INET6 */
	int			prefix;			/* 0..32 or 0..128 */
	uint8_t		addr[16];		/* network byte order, bits past prefix cleared */
	char		text[NP_NET_TEXT_MAX];	/* the entry as written, for messages */
} np_net;

struct netpolicy
{
	size_t		size;			/* of the whole block, for netpolicy_copy */
	int			nhosts;
	int			nnets;
	np_host    *hosts;			/* inside the block, after this header */
	np_net	   *nets;
};


/*
 * list_is_empty: list is NULL or only white space (the empty setting).
 */
static bool
list_is_empty(const char *list)
{
	if (list == NULL)
		return true;
	while (*list != '\0' && isspace((unsigned char) *list))
		list++;
	return *list == '\0';
}

/*
 * count_entries counts the comma-separated entries of a non-empty list.
 */
static int
count_entries(const char *list)
{
	int			n = 1;

	if (list_is_empty(list))
		return 0;
	for (; *list != '\0'; list++)
		if (*list == ',')
			n++;
	return n;
}

/*
 * canonical_ipv6 writes "[<canonical form>]" of the IPv6 address text
 * [s, s + len) (no brackets, no zone) to out; false when it is not one.
 */
static bool
canonical_ipv6(const char *s, size_t len, char *out, size_t outlen)
{
	char		text[INET6_ADDRSTRLEN + 1];
	char		canon[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1 ||
		inet_ntop(AF_INET6, &a, canon, sizeof(canon)) == NULL)
		return false;
	return (size_t) snprintf(out, outlen, "[%s]", canon) < outlen;
}

/*
 * parse_port reads a host entry's port: "*", or 1 to 65535 in decimal.
 */
static bool
parse_port(const char *s, size_t len, int *port)
{
	long		v = 0;

	if (len == 1 && s[0] == '*')
	{
		*port = NP_PORT_ANY;
		return true;
	}
	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (int) v;
	return true;
}

/*
 * parse_host_entry reads one trimmed entry [s, s + len) of the allowed
 * hosts into out (which may be NULL: only checked).
 */
static bool
parse_host_entry(const char *s, size_t len, np_host *out, char *err, size_t errlen)
{
	np_host		h;
	const char *host = s;
	size_t		hlen;
	const char *rest;
	size_t		restlen;

	memset(&h, 0, sizeof(h));
	h.port = NP_PORT_WEB;
	if (s[0] == '[')
	{
		const char *close = memchr(s, ']', len);

		if (close == NULL)
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s\": no \"]\" after the ipv6 address", SHOWN(len), s);
			return false;
		}
		if (!canonical_ipv6(s + 1, (size_t) (close - s - 1), h.name, sizeof(h.name)))
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s\": \"%.*s\" is not an ipv6 address",
						SHOWN(len), s,
						SHOWN(close - s - 1), s + 1);
			return false;
		}
		rest = close + 1;
		restlen = len - (size_t) (rest - s);
		if (restlen > 0 && rest[0] != ':')
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s\": only \":port\" may follow the ipv6 address",
						SHOWN(len), s);
			return false;
		}
	}
	else
	{
		const char *colon = memchr(s, ':', len);

		if (colon != NULL && memchr(colon + 1, ':', len - (size_t) (colon + 1 - s)) != NULL)
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s\": write an ipv6 address in brackets, as \"[::1]\"",
						SHOWN(len), s);
			return false;
		}
		hlen = colon != NULL ? (size_t) (colon - s) : len;
		if (hlen == 0)
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s\": no host", SHOWN(len), s);
			return false;
		}
		if (hlen > 253)
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s...\": a host name has at most 253 characters", 40, s);
			return false;
		}
		for (size_t i = 0; i < hlen; i++)
		{
			unsigned char c = (unsigned char) host[i];

			if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			{
				errbuf_printf(err, errlen,
							"bad entry \"%.*s\": a host is a name (letters, digits, '-', '.', '_') or an address",
							SHOWN(len), s);
				return false;
			}
			h.name[i] = (char) tolower(c);
		}
		h.name[hlen] = '\0';
		rest = s + hlen;
		restlen = len - hlen;
	}
	if (restlen > 0)
	{
		/* rest is ":port" */
		if (!parse_port(rest + 1, restlen - 1, &h.port))
		{
			errbuf_printf(err, errlen, "bad entry \"%.*s\": the port must be a number from 1 to 65535, or *",
						SHOWN(len), s);
			return false;
		}
	}
	if (out != NULL)
		*out = h;
	return true;
}

/*
 * parse_prefix reads a network's prefix length (decimal digits only).
 */
static bool
parse_prefix(const char *s, size_t len, int *prefix)
{
	int			v = 0;

	if (len == 0 || len > 3)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*prefix = v;
	return true;
}

/*
 * mask_bits clears the bits of addr (nbytes long) past the first prefix.
 */
static void
mask_bits(uint8_t *addr, int nbytes, int prefix)
{
	for (int i = 0; i < nbytes; i++)
	{
		int			keep = prefix - 8 * i;

		if (keep >= 8)
			continue;
		addr[i] = keep <= 0 ? 0 : (uint8_t) (addr[i] & (0xff << (8 - keep)));
	}
}

/* The first 12 bytes of an IPv4-mapped IPv6 address, ::ffff:0:0/96. */
static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/*
 * parse_net_entry reads one trimmed entry [s, s + len) of the denied
 * networks into out (which may be NULL: only checked).
 */
static bool
parse_net_entry(const char *s, size_t len, np_net *out, char *err, size_t errlen)
{
	np_net		n;
	char		addr[NP_NET_TEXT_MAX];
	const char *slash = memchr(s, '/', len);
	size_t		alen = slash != NULL ? (size_t) (slash - s) : len;
	int			maxprefix;

	memset(&n, 0, sizeof(n));
	if (len >= sizeof(n.text))
	{
		errbuf_printf(err, errlen, "bad network \"%.40s...\": too long for an address and a prefix", s);
		return false;
	}
	memcpy(n.text, s, len);
	n.text[len] = '\0';
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	if (memchr(addr, ':', alen) != NULL)
	{
		n.family = AF_INET6;
		maxprefix = 128;
	}
	else
	{
		n.family = AF_INET;
		maxprefix = 32;
	}
	if (alen == 0 || inet_pton(n.family, addr, n.addr) != 1)
	{
		errbuf_printf(err, errlen, "bad network \"%s\": \"%s\" is not an ipv4 or ipv6 address", n.text, addr);
		return false;
	}
	n.prefix = maxprefix;
	if (slash != NULL)
	{
		if (!parse_prefix(slash + 1, len - alen - 1, &n.prefix))
		{
			errbuf_printf(err, errlen, "bad network \"%s\": the prefix length must be a number", n.text);
			return false;
		}
		if (n.prefix > maxprefix)
		{
			errbuf_printf(err, errlen, "bad network \"%s\": the prefix of an %s network is at most %d",
						n.text, n.family == AF_INET ? "ipv4" : "ipv6", maxprefix);
			return false;
		}
	}
	mask_bits(n.addr, n.family == AF_INET ? 4 : 16, n.prefix);

	/* an IPv6 network of IPv4-mapped addresses is the IPv4 network it maps */
	if (n.family == AF_INET6 && n.prefix >= 96 &&
		memcmp(n.addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
	{
		n.family = AF_INET;
		n.prefix -= 96;
		memmove(n.addr, n.addr + 12, 4);
		memset(n.addr + 4, 0, 12);
	}
	if (out != NULL)
		*out = n;
	return true;
}

/*
 * walk_list splits list at commas, trims each entry and parses it as a
 * host (hosts) or a network (nets), storing into the arrays when given.
 * Returns false with a reason at the first bad entry.
 */
static bool
walk_list(const char *list, bool is_hosts, np_host *hosts, np_net *nets, char *err, size_t errlen)
{
	const char *p = list;
	int			i = 0;

	if (list_is_empty(list))
		return true;
	for (;;)
	{
		const char *end = strchr(p, ',');
		const char *a = p;
		const char *b = end != NULL ? end : p + strlen(p);
		bool		ok;

		while (a < b && isspace((unsigned char) *a))
			a++;
		while (b > a && isspace((unsigned char) b[-1]))
			b--;
		i++;
		if (a == b)
		{
			errbuf_printf(err, errlen, "entry %d of the list is empty", i);
			return false;
		}
		if (is_hosts)
			ok = parse_host_entry(a, (size_t) (b - a), hosts ? &hosts[i - 1] : NULL, err, errlen);
		else
			ok = parse_net_entry(a, (size_t) (b - a), nets ? &nets[i - 1] : NULL, err, errlen);
		if (!ok)
			return false;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return true;
}

/*
 * netpolicy_parse_hosts checks the text of mlops.allowed_hosts.
 */
bool
netpolicy_parse_hosts(const char *list, char *err, size_t errlen)
{
	errbuf_printf(err, errlen, "%s", "");
	return walk_list(list, true, NULL, NULL, err, errlen);
}

/*
 * netpolicy_parse_networks checks the text of mlops.denied_networks.
 */
bool
netpolicy_parse_networks(const char *list, char *err, size_t errlen)
{
	errbuf_printf(err, errlen, "%s", "");
	return walk_list(list, false, NULL, NULL, err, errlen);
}

/*
 * netpolicy_create counts the entries, allocates the block (header, hosts,
 * networks) and parses both lists into it.
 */
netpolicy *
netpolicy_create(const char *allowed_hosts, const char *denied_networks, char *err, size_t errlen)
{
	int			nh;
	int			nn;
	size_t		size;
	netpolicy  *p;

	errbuf_printf(err, errlen, "%s", "");
	/* check first: a malformed list is refused before anything is allocated */
	if (!walk_list(allowed_hosts, true, NULL, NULL, err, errlen) ||
		!walk_list(denied_networks, false, NULL, NULL, err, errlen))
		return NULL;
	nh = count_entries(allowed_hosts);
	nn = count_entries(denied_networks);
	size = sizeof(netpolicy) + (size_t) nh * sizeof(np_host) + (size_t) nn * sizeof(np_net);
	p = calloc(1, size);
	if (p == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return NULL;
	}
	p->size = size;
	p->nhosts = nh;
	p->nnets = nn;
	p->hosts = (np_host *) (void *) (p + 1);
	p->nets = (np_net *) (void *) (p->hosts + nh);
	if (!walk_list(allowed_hosts, true, p->hosts, NULL, err, errlen) ||
		!walk_list(denied_networks, false, NULL, p->nets, err, errlen))
	{
		/* cannot happen: the same text passed the check above */
		free(p);
		return NULL;
	}
	return p;
}

/*
 * netpolicy_copy duplicates the block and points the copy at its own arrays.
 */
netpolicy *
netpolicy_copy(const netpolicy *policy)
{
	netpolicy  *p;

	if (policy == NULL)
		return NULL;
	p = malloc(policy->size);
	if (p == NULL)
		return NULL;
	memcpy(p, policy, policy->size);
	p->hosts = (np_host *) (void *) (p + 1);
	p->nets = (np_net *) (void *) (p->hosts + p->nhosts);
	return p;
}

/*
 * netpolicy_free frees the block.
 */
void
netpolicy_free(netpolicy *policy)
{
	free(policy);
}

/*
 * netpolicy_host_allowed puts host in the entries' form (lower case, IPv6
 * canonical in brackets) and looks for an entry with that name whose port
 * rule takes port.
 */
bool
netpolicy_host_allowed(const netpolicy *policy, const char *host, int port)
{
	char		name[NP_HOST_MAX];
	size_t		len;

	if (policy == NULL || policy->nhosts == 0)
		return true;
	if (host == NULL)
		return false;
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' &&
		canonical_ipv6(host + 1, len - 2, name, sizeof(name)))
		;
	else
	{
		if (len >= sizeof(name))
			return false;		/* longer than any entry */
		for (size_t i = 0; i <= len; i++)
			name[i] = (char) tolower((unsigned char) host[i]);
	}
	for (int i = 0; i < policy->nhosts; i++)
	{
		const np_host *h = &policy->hosts[i];

		if (strcmp(h->name, name) != 0)
			continue;
		if (h->port == NP_PORT_ANY || h->port == port ||
			(h->port == NP_PORT_WEB && (port == 80 || port == 443)))
			return true;
	}
	return false;
}

/*
 * net_match: the first prefix bits of addr equal the network's.
 */
static bool
net_match(const np_net *n, const uint8_t *addr)
{
	int			full = n->prefix / 8;
	int			bits = n->prefix % 8;

	if (memcmp(n->addr, addr, (size_t) full) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((addr[full] ^ n->addr[full]) & (0xff << (8 - bits))) == 0;
}

/*
 * netpolicy_addr_denied looks for the first denied network holding the
 * address: IPv4 networks for an IPv4 address and for the IPv4 address of a
 * mapped IPv6 one, IPv6 networks for an IPv6 address.
 */
bool
netpolicy_addr_denied(const netpolicy *policy, const struct sockaddr *sa, char *why, size_t whylen)
{
	uint8_t		a6[16];
	uint8_t		a4[4];
	bool		has4 = false;
	bool		has6 = false;
	char		shown[INET6_ADDRSTRLEN];

	errbuf_printf(why, whylen, "%s", "");
	if (policy == NULL || policy->nnets == 0 || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
	{
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		memcpy(a4, &in.sin_addr, 4);
		has4 = true;
		inet_ntop(AF_INET, &in.sin_addr, shown, sizeof(shown));
	}
	else if (sa->sa_family == AF_INET6)
	{
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof(in6));
		memcpy(a6, &in6.sin6_addr, 16);
		has6 = true;
		if (memcmp(a6, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
		{
			memcpy(a4, a6 + 12, 4);
			has4 = true;
		}
		inet_ntop(AF_INET6, &in6.sin6_addr, shown, sizeof(shown));
	}
	else
		return false;

	for (int i = 0; i < policy->nnets; i++)
	{
		const np_net *n = &policy->nets[i];

		if ((n->family == AF_INET && has4 && net_match(n, a4)) ||
			(n->family == AF_INET6 && has6 && net_match(n, a6)))
		{
			errbuf_printf(why, whylen, "connection to %s refused: it is in mlops.denied_networks (%s)",
						shown, n->text);
			return true;
		}
	}
	return false;
}

/*
 * scheme_length finds an RFC 3986 scheme ("ALPHA *( ALPHA / DIGIT / "+" /
 * "-" / "." ) ':'") at the start of url: its length, 0 when none (a
 * relative reference).
 */
static size_t
scheme_length(const char *url)
{
	size_t		n = 0;

	if (!isalpha((unsigned char) url[0]))
		return 0;
	while (isalnum((unsigned char) url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return url[n] == ':' ? n : 0;
}

/*
 * netpolicy_check_url judges the scheme from the text first (so that a
 * refusal names it even when libcurl cannot parse the rest), then parses
 * the URL with libcurl and checks userinfo, host and port.
 */
bool
netpolicy_check_url(const netpolicy *policy, const char *url, char *err, size_t errlen)
{
	CURLU	   *u;
	CURLUcode	rc;
	char	   *part = NULL;
	char	   *host = NULL;
	char	   *port = NULL;
	size_t		slen;
	bool		ok = false;

	errbuf_printf(err, errlen, "%s", "");
	if (url == NULL || url[0] == '\0')
	{
		errbuf_printf(err, errlen, "empty url");
		return false;
	}
	slen = scheme_length(url);
	if (slen == 0)
	{
		errbuf_printf(err, errlen, "url is not absolute: only absolute http:// and https:// urls are allowed");
		return false;
	}
	if (!((slen == 4 && strncasecmp(url, "http", 4) == 0) ||
		  (slen == 5 && strncasecmp(url, "https", 5) == 0)))
	{
		char		name[32];
		size_t		shown = slen < sizeof(name) ? slen : sizeof(name) - 1;

		for (size_t i = 0; i < shown; i++)
			name[i] = (char) tolower((unsigned char) url[i]);
		name[shown] = '\0';
		errbuf_printf(err, errlen, "url scheme \"%s\" is not allowed: only http and https", name);
		return false;
	}

	u = curl_url();
	if (u == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return false;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc == CURLUE_NO_HOST)
		errbuf_printf(err, errlen, "url has no host");
	else if (rc != CURLUE_OK)
	{
		const char *why = curl_url_strerror(rc);

		errbuf_printf(err, errlen, "invalid url: %c%s", tolower((unsigned char) why[0]), why[0] ? why + 1 : "");
	}
	else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
			 curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK)
		errbuf_printf(err, errlen, "url must not hold a user name or password");
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		errbuf_printf(err, errlen, "url has no host");
	else if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		errbuf_printf(err, errlen, "url has no port");
	else if (!netpolicy_host_allowed(policy, host, atoi(port)))
		errbuf_printf(err, errlen, "host \"%.200s:%s\" is not in mlops.allowed_hosts", host, port);
	else
		ok = true;

	curl_free(part);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}
