/*
 * sigv4.h
 *	  Kernel: AWS Signature Version 4 for S3 requests (header-based), and the
 *	  URI encoding S3 wants.  Pure C, no PostgreSQL headers, no libcurl.
 *
 *	  Why not libcurl's CURLOPT_AWS_SIGV4: the libcurl of Debian 12 (7.88)
 *	  signs a header the request does not send when a default header is
 *	  removed ("Expect:", curl issue 11664, fixed in 8.3), so every S3 PUT
 *	  failed against a server that checks signatures; it also signs the
 *	  query string in the order given, unsorted.  Here the canonical request
 *	  is made as S3 makes it: the path and each query name and value
 *	  percent-decoded and encoded again (RFC 3986 unreserved characters
 *	  kept, "/" kept in the path), the query sorted, and exactly the headers
 *	  the caller sends signed: host, x-amz-content-sha256, x-amz-date, and
 *	  content-type when given.
 */
#ifndef MLOPS_SIGV4_H
#define MLOPS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct sigv4_request
{
	const char *method;			/* "GET", "PUT", ... */
	const char *host;			/* the Host header sent: "host" or "host:port" */
	const char *path;			/* the request's path as sent (percent-encoded), "/..." */
	const char *query;			/* after "?", as sent; NULL or "" when none */
	const char *content_type;	/* signed when not NULL */
	const char *payload_sha256; /* 64 lower-case hex digits, or "UNSIGNED-PAYLOAD" */
	const char *region;
	const char *service;		/* "s3" */
	const char *access_key;
	const char *secret_key;
	time_t		when;			/* the request's time (x-amz-date) */
} sigv4_request;

/*
 * sigv4_sign writes the x-amz-date value (16 characters and a NUL) to
 * amz_date and the Authorization header's value to auth.  False when a
 * buffer is too small or memory runs out; the secret is never written
 * anywhere but into the HMAC.
 */
extern bool sigv4_sign(const sigv4_request *req, char amz_date[17], char *auth, size_t authlen);

/*
 * sigv4_canonical_request writes the canonical request (AWS's name) to
 * out: what the signature covers, for tests and diagnostics.  False when
 * out is too small or memory runs out.
 */
extern bool sigv4_canonical_request(const sigv4_request *req, const char *amz_date, char *out, size_t outlen);

/*
 * sigv4_uri_encode percent-encodes s as S3 wants a key in a URL: every byte
 * but A-Z a-z 0-9 - . _ ~ (and "/" when keep_slash) as %XX in upper case.
 * Returns the length written (without the NUL), or -1 when out is too small.
 */
extern long sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char *out, size_t outlen);

/* sigv4_hmac_sha256: HMAC-SHA256 (RFC 2104) of msg under key. */
extern void sigv4_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
							  unsigned char out[32]);

#endif							/* MLOPS_SIGV4_H */
