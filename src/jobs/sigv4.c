/*
 * sigv4.c
 *	  Kernel: AWS Signature Version 4 for S3 requests.  See sigv4.h for the
 *	  contract and for why libcurl's signer is not used.
 *
 *	  The steps are AWS's ("Create a signed AWS API request"): a canonical
 *	  request, its SHA-256 in a string to sign with the date and the scope
 *	  (day/region/service/aws4_request), a signing key derived from the
 *	  secret by four HMACs (day, region, service, "aws4_request"), and the
 *	  HMAC of the string to sign under that key.  The key material lives on
 *	  the stack only and is cleared before returning.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

/* unreserved: the bytes S3 leaves as they are in a canonical URI and query. */
static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

long
sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (unreserved(c) || (keep_slash && c == '/'))
		{
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char) c;
		}
		else
		{
			if (n + 3 >= outlen)
				return -1;
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return (long) n;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * recode decodes %XX in s[0..len) and encodes the bytes again as S3 does;
 * a malloc'd string, NULL when out of memory.
 */
static char *
recode(const char *s, size_t len, bool keep_slash)
{
	char	   *raw = malloc(len + 1);
	char	   *out;
	size_t		n = 0;

	if (raw == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
		{
			raw[n++] = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		else
			raw[n++] = s[i];
	}
	out = malloc(3 * n + 1);
	if (out != NULL)
		(void) sigv4_uri_encode(raw, n, keep_slash, out, 3 * n + 1);
	free(raw);
	return out;
}

typedef struct qpair
{
	char	   *name;
	char	   *value;
} qpair;

static int
qpair_cmp(const void *a, const void *b)
{
	const qpair *x = a;
	const qpair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* canonical_query: the query's pairs recoded and sorted, joined by "&"; NULL when out of memory. */
static char *
canonical_query(const char *query)
{
	size_t		npairs = 0;
	qpair	   *pairs;
	size_t		total = 1;
	char	   *out = NULL;
	const char *p;
	bool		oom = false;

	if (query == NULL || query[0] == '\0')
		return strdup("");
	for (p = query; p != NULL; p = strchr(p, '&'), p = p ? p + 1 : NULL)
		npairs++;
	pairs = calloc(npairs, sizeof(qpair));
	if (pairs == NULL)
		return NULL;
	npairs = 0;
	p = query;
	while (p != NULL)
	{
		const char *end = strchr(p, '&');
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		if (len > 0)
		{
			pairs[npairs].name = recode(p, eq ? (size_t) (eq - p) : len, false);
			pairs[npairs].value = eq ? recode(eq + 1, len - (size_t) (eq - p) - 1, false) : strdup("");
			if (pairs[npairs].name == NULL || pairs[npairs].value == NULL)
				oom = true;
			npairs++;
		}
		p = end ? end + 1 : NULL;
	}
	if (!oom)
	{
		qsort(pairs, npairs, sizeof(qpair), qpair_cmp);
		for (size_t i = 0; i < npairs; i++)
			total += strlen(pairs[i].name) + strlen(pairs[i].value) + 2;
		out = malloc(total);
		if (out != NULL)
		{
			size_t		n = 0;

			out[0] = '\0';
			for (size_t i = 0; i < npairs; i++)
				n += (size_t) snprintf(out + n, total - n, "%s%s=%s", i ? "&" : "",
									   pairs[i].name, pairs[i].value);
		}
	}
	for (size_t i = 0; i < npairs; i++)
	{
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	return out;
}

bool
sigv4_canonical_request(const sigv4_request *req, const char *amz_date, char *out, size_t outlen)
{
	char	   *uri = recode(req->path, strlen(req->path), true);
	char	   *query = canonical_query(req->query);
	int			n = -1;

	if (uri != NULL && query != NULL)
		n = snprintf(out, outlen,
					 "%s\n%s\n%s\n"
					 "%s%s%s"
					 "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n\n"
					 "%shost;x-amz-content-sha256;x-amz-date\n%s",
					 req->method, uri[0] ? uri : "/", query,
					 req->content_type ? "content-type:" : "",
					 req->content_type ? req->content_type : "",
					 req->content_type ? "\n" : "",
					 req->host, req->payload_sha256, amz_date,
					 req->content_type ? "content-type;" : "",
					 req->payload_sha256);
	free(uri);
	free(query);
	return n >= 0 && (size_t) n < outlen;
}

void
sigv4_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, unsigned char out[32])
{
	uint8_t		k[64];
	uint8_t		pad[64];
	uint8_t		inner[32];
	sha256_ctx	ctx;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k))
	{
		sha256_init(&ctx);
		sha256_update(&ctx, key, keylen);
		sha256_final(&ctx, k);
	}
	else
		memcpy(k, key, keylen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&ctx);
	sha256_update(&ctx, pad, 64);
	sha256_update(&ctx, msg, msglen);
	sha256_final(&ctx, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&ctx);
	sha256_update(&ctx, pad, 64);
	sha256_update(&ctx, inner, 32);
	sha256_final(&ctx, out);
	memset(k, 0, sizeof(k));
	memset(pad, 0, sizeof(pad));
	memset(&ctx, 0, sizeof(ctx));
}

bool
sigv4_sign(const sigv4_request *req, char amz_date[17], char *auth, size_t authlen)
{
	struct tm	tm;
	char		day[9];
	char		scope[256];
	char		sts[512];
	char		hexhash[65];
	char		sighex[65];
	uint8_t		hash[32];
	uint8_t		key[32];
	uint8_t		sig[32];
	char	   *canonical;
	size_t		cap;
	size_t		seclen = strlen(req->secret_key);
	char	   *k0;
	sha256_ctx	ctx;
	int			n;

	if (gmtime_r(&req->when, &tm) == NULL)
		return false;
	strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm);
	memcpy(day, amz_date, 8);
	day[8] = '\0';
	n = snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", day, req->region, req->service);
	if (n < 0 || (size_t) n >= sizeof(scope))
		return false;

	cap = 3 * (strlen(req->path) + (req->query ? strlen(req->query) : 0)) + strlen(req->host) +
		(req->content_type ? strlen(req->content_type) : 0) + 512;
	canonical = malloc(cap);
	if (canonical == NULL)
		return false;
	if (!sigv4_canonical_request(req, amz_date, canonical, cap))
	{
		free(canonical);
		return false;
	}
	sha256_init(&ctx);
	sha256_update(&ctx, canonical, strlen(canonical));
	sha256_final(&ctx, hash);
	sha256_hex(hash, hexhash);
	free(canonical);
	n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hexhash);
	if (n < 0 || (size_t) n >= sizeof(sts))
		return false;

	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request") */
	k0 = malloc(seclen + 5);
	if (k0 == NULL)
		return false;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, req->secret_key, seclen + 1);
	sigv4_hmac_sha256(k0, seclen + 4, day, 8, key);
	memset(k0, 0, seclen + 4);
	free(k0);
	sigv4_hmac_sha256(key, 32, req->region, strlen(req->region), key);
	sigv4_hmac_sha256(key, 32, req->service, strlen(req->service), key);
	sigv4_hmac_sha256(key, 32, "aws4_request", 12, key);
	sigv4_hmac_sha256(key, 32, sts, strlen(sts), sig);
	memset(key, 0, sizeof(key));
	sha256_hex(sig, sighex);

	n = snprintf(auth, authlen,
				 "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%shost;x-amz-content-sha256;x-amz-date, Signature=%s",
				 req->access_key, scope, req->content_type ? "content-type;" : "", sighex);
	return n >= 0 && (size_t) n < authlen;
}
