/*
 * test_transfer.c — unit tests of the transfer kernel (src/jobs/transfer*.c)
 * against a tiny HTTP server of its own: a forked child listening on
 * 127.0.0.1 (a port the kernel picks), one grandchild per connection, each
 * serving a canned response chosen by the path:
 *
 *	/ok/<n>			n bytes of a known pattern, with Content-Length
 *	/nolen/<n>		the same without Content-Length (ends at close)
 *	/short			announces 1000 bytes, sends 500 and closes
 *	/status/<code>	that status with a short body
 *	/redirect/<k>	302 to /redirect/<k-1>, and /redirect/1 to /ok/100
 *	/redirect-file	302 to file:///etc/passwd
 *	/slow			announces 300 bytes, then sends one every 100 ms
 *	/big			announces 10000000 bytes, sends 1000, then stalls
 *	/stall/<n>		announces 2n bytes, sends n pattern bytes, then stalls
 *	/redirect-to?u=<url>	302 to url (percent-decoded): any host, port or scheme
 *	/delay/<ms>		waits ms milliseconds, then answers as /ok/100
 *	/keep/<n>		as /ok/<n>, but keeps the connection open for the next request
 *
 * and, for uploads (bodies stored as files in srvdir, '/' in names as '_'):
 *
 *	PUT/HEAD /up/<name>		store the body (201); HEAD reports its Content-Length
 *	PUT/HEAD /lie/<name>	the same, but HEAD reports one byte more
 *	/auth/<name>			401 unless "Authorization: Basic" of alice:s3cret-pw;
 *							then PUT/HEAD as /up, MKCOL 201 (405 when it exists), logged
 *	/bearer/<name>			401 unless "Authorization: Bearer tok-123"; then as /up
 *	MKCOL /forbid/<name>	403
 *	PUT /hang/<name>		reads the headers, then nothing for 30 s
 *	PUT /s3/<name>			200 when x-amz-content-sha256 is the body's SHA-256 and the
 *							request is SigV4-signed by AKTEST (else 403); no ETag
 *	PUT /s3bad/<name>		the same, with an ETag that is not the body's MD5
 *	PUT /status/<code>		that status
 *	/s3mp/<name>?...		S3's multipart API (SigV4 by AKTEST): initiate, parts (their
 *							payload hash checked), complete, abort; each request logged
 *							with its upload id; the name's prefix picks a fault (see
 *							serve_s3mp)
 *
 * Two such servers run, on two ports; each appends "CONN <port>" to
 * srvdir/conns for every connection it accepts, so that a test can tell
 * that a host got no connection at all (see conns_of and sentinel).
 *
 * The servers and their children die with SIGKILL at the end, or with the
 * test (PR_SET_PDEATHSIG) if it dies first.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/transfer.h"
#include "jobs/netpolicy.h"
#include "util/sha256.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t server_pid = -1;
static int	server_port = 0;
static pid_t server2_pid = -1;	/* the second server, for cross-host redirects */
static int	server2_port = 0;
static char tmpdir[64];
static char srvdir[64];			/* the upload server's files */
static char outdir[64];			/* "outside the work directory", for symbolic links */

/* pattern_byte is byte i of every /ok and /nolen body. */
static unsigned char
pattern_byte(size_t i)
{
	return (unsigned char) (i * 131 + (i >> 11));
}

/* pattern_sha256 is the hex SHA-256 of the first n pattern bytes. */
static void
pattern_sha256(size_t n, char out[65])
{
	sha256_ctx	ctx;
	uint8_t		digest[32];
	unsigned char buf[4096];

	sha256_init(&ctx);
	for (size_t off = 0; off < n; off += sizeof(buf))
	{
		size_t		len = n - off < sizeof(buf) ? n - off : sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = pattern_byte(off + i);
		sha256_update(&ctx, buf, len);
	}
	sha256_final(&ctx, digest);
	sha256_hex(digest, out);
}

/* now_ms is a monotonic clock in milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sleep_ms sleeps, resuming after signals. */
static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* send_all writes everything or gives up quietly (the client may be gone). */
static int
send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

/* send_pattern sends pattern bytes [0, n). */
static int
send_pattern(int fd, size_t n)
{
	unsigned char buf[65536];

	for (size_t off = 0; off < n; off += sizeof(buf))
	{
		size_t		len = n - off < sizeof(buf) ? n - off : sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = pattern_byte(off + i);
		if (send_all(fd, buf, len) != 0)
			return -1;
	}
	return 0;
}

/* send_head sends a status line and headers; extra is more header lines or "". */
static int
send_head(int fd, int status, const char *extra)
{
	char		head[2560];
	int			n = snprintf(head, sizeof(head),
							 "HTTP/1.1 %d Canned\r\nConnection: close\r\n%s\r\n", status, extra);

	return send_all(fd, head, (size_t) n);
}

/* url_decode decodes %XX escapes of s into out (at most outlen - 1 bytes). */
static void
url_decode(const char *s, char *out, size_t outlen)
{
	size_t		n = 0;

	while (*s && n + 1 < outlen)
	{
		unsigned int c;

		if (s[0] == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &c) == 1)
		{
			out[n++] = (char) c;
			s += 3;
		}
		else
			out[n++] = *s++;
	}
	out[n] = '\0';
}

static void serve_upload(int fd, const char *req, size_t got, const char *method, const char *path);
static void serve_s3mp(int fd, const char *req, size_t got, const char *method, const char *path);

/*
 * serve_client reads one request and sends the canned response for its
 * path; true when the connection stays open for another request (/keep).
 */
static bool
serve_client(int fd)
{
	char		req[8192];
	size_t		got = 0;
	char		path[1024];
	char		extra[2048];
	long		n;

	for (;;)
	{
		ssize_t		r;

		if (got + 1 >= sizeof(req))
			return false;
		r = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (r <= 0)
			return false;
		got += (size_t) r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	{
		char		method[16];

		if (sscanf(req, "%15s %1023s ", method, path) != 2)
			return false;
		if (strcmp(method, "GET") != 0)
		{
			serve_upload(fd, req, got, method, path);
			return false;
		}
	}

	if (sscanf(path, "/keep/%ld", &n) == 1 && n >= 0)
	{
		char		head[256];
		int			len = snprintf(head, sizeof(head),
								   "HTTP/1.1 200 Canned\r\nContent-Length: %ld\r\n\r\n", n);

		return send_all(fd, head, (size_t) len) == 0 && send_pattern(fd, (size_t) n) == 0;
	}
	if (strncmp(path, "/redirect-to?u=", 15) == 0)
	{
		char		target[1024];

		url_decode(path + 15, target, sizeof(target));
		snprintf(extra, sizeof(extra), "Location: %s\r\nContent-Length: 0\r\n", target);
		send_head(fd, 302, extra);
	}
	else if (sscanf(path, "/delay/%ld", &n) == 1 && n >= 0)
	{
		sleep_ms(n);
		if (send_head(fd, 200, "Content-Length: 100\r\n") == 0)
			send_pattern(fd, 100);
	}
	else if (sscanf(path, "/ok/%ld", &n) == 1 && n >= 0)
	{
		snprintf(extra, sizeof(extra),
				 "Content-Type: application/octet-stream\r\nContent-Length: %ld\r\n", n);
		if (send_head(fd, 200, extra) == 0)
			send_pattern(fd, (size_t) n);
	}
	else if (sscanf(path, "/nolen/%ld", &n) == 1 && n >= 0)
	{
		if (send_head(fd, 200, "") == 0)
			send_pattern(fd, (size_t) n);
	}
	else if (strcmp(path, "/short") == 0)
	{
		if (send_head(fd, 200, "Content-Length: 1000\r\n") == 0)
			send_pattern(fd, 500);
	}
	else if (sscanf(path, "/status/%ld", &n) == 1)
	{
		if (send_head(fd, (int) n, "Content-Type: text/plain\r\nContent-Length: 6\r\n") == 0)
			send_all(fd, "error\n", 6);
	}
	else if (sscanf(path, "/redirect/%ld", &n) == 1)
	{
		if (n > 1)
			snprintf(extra, sizeof(extra), "Location: /redirect/%ld\r\nContent-Length: 0\r\n", n - 1);
		else
			snprintf(extra, sizeof(extra), "Location: /ok/100\r\nContent-Length: 0\r\n");
		send_head(fd, 302, extra);
	}
	else if (strcmp(path, "/retry-after") == 0)
		send_head(fd, 429, "Retry-After: 7\r\nContent-Length: 0\r\n");
	else if (strcmp(path, "/redirect-file") == 0)
		send_head(fd, 302, "Location: file:///etc/passwd\r\nContent-Length: 0\r\n");
	else if (strcmp(path, "/slow") == 0)
	{
		if (send_head(fd, 200, "Content-Length: 300\r\n") == 0)
			for (int i = 0; i < 300; i++)
			{
				if (send_all(fd, "x", 1) != 0)
					break;
				sleep_ms(100);
			}
	}
	else if (sscanf(path, "/stall/%ld", &n) == 1 && n >= 0)
	{
		snprintf(extra, sizeof(extra), "Content-Length: %ld\r\n", 2 * n);
		if (send_head(fd, 200, extra) == 0 && send_pattern(fd, (size_t) n) == 0)
			sleep_ms(30000);
	}
	else if (strcmp(path, "/big") == 0)
	{
		if (send_head(fd, 200, "Content-Length: 10000000\r\n") == 0 && send_pattern(fd, 1000) == 0)
			sleep_ms(30000);
	}
	else
		send_head(fd, 404, "Content-Length: 0\r\n");
	return false;
}

/* header_value copies the value of header name (case-insensitive) from req; "" when none. */
static void
header_value(const char *req, const char *name, char *out, size_t outlen)
{
	const char *p = strstr(req, "\r\n");
	size_t		nlen = strlen(name);

	out[0] = '\0';
	while (p != NULL && p[2] != '\r')
	{
		const char *line = p + 2;
		const char *end = strstr(line, "\r\n");

		if (end == NULL)
			return;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
		{
			const char *v = line + nlen + 1;
			size_t		n;

			while (*v == ' ')
				v++;
			n = (size_t) (end - v) < outlen - 1 ? (size_t) (end - v) : outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
		p = end;
	}
}

/* stored_path maps "<prefix><name>" to a file in srvdir, '/' as '_'. */
static void
stored_path(const char *name, char *out, size_t outlen)
{
	size_t		n;

	snprintf(out, outlen, "%s/", srvdir);
	n = strlen(out);
	for (const char *c = name; *c && n + 1 < outlen; c++)
		out[n++] = *c == '/' ? '_' : *c;
	out[n] = '\0';
}

/* srv_log appends a line to srvdir/log. */
static void
srv_log(const char *line)
{
	char		path[128];
	int			lf;

	snprintf(path, sizeof(path), "%s/log", srvdir);
	lf = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (lf >= 0)
	{
		if (write(lf, line, strlen(line)) < 0)
			{ /* best effort */ }
		close(lf);
	}
}

/*
 * serve_upload answers the upload endpoints (see the top of the file).  The
 * body (Content-Length) is read in full before any answer, so that a refusal
 * is seen as a status, not as a reset connection.
 */
static void
serve_upload(int fd, const char *req, size_t got, const char *method, const char *path)
{
	const char *hend = strstr(req, "\r\n\r\n") + 4;
	size_t		have = got - (size_t) (hend - req);
	char		value[256];
	char		file[512];
	char		extra[256];
	long		clen = 0;
	unsigned char *body;
	const char *name = NULL;
	bool		authorized = true;
	/* a POST to /up/ is stored like a PUT (the http kind's request body) */
	bool		put = strcmp(method, "PUT") == 0 ||
		(strcmp(method, "POST") == 0 && strncmp(path, "/up/", 4) == 0);

	if (strncmp(path, "/s3mp/", 6) == 0)
	{
		serve_s3mp(fd, req, got, method, path);
		return;
	}
	header_value(req, "Content-Length", value, sizeof(value));
	if (value[0] != '\0')
		clen = atol(value);
	if (strncmp(path, "/hang/", 6) == 0)
	{
		sleep_ms(30000);
		return;
	}
	body = malloc((size_t) clen + 1);
	if (body == NULL)
		return;
	memcpy(body, hend, have < (size_t) clen ? have : (size_t) clen);
	while ((long) have < clen)
	{
		ssize_t		r = recv(fd, body + have, (size_t) clen - have, 0);

		if (r <= 0)
		{
			free(body);
			return;
		}
		have += (size_t) r;
	}

	header_value(req, "Authorization", value, sizeof(value));
	if (sscanf(path, "/status/%ld", &clen) == 1)
	{
		send_head(fd, (int) clen, "Content-Length: 0\r\n");
		free(body);
		return;
	}
	if (strncmp(path, "/up/", 4) == 0 || strncmp(path, "/lie/", 5) == 0)
		name = strchr(path + 1, '/') + 1;
	else if (strncmp(path, "/auth/", 6) == 0)
	{
		name = path + 6;
		authorized = strcmp(value, "Basic YWxpY2U6czNjcmV0LXB3") == 0;
	}
	else if (strncmp(path, "/bearer/", 8) == 0)
	{
		name = path + 8;
		authorized = strcmp(value, "Bearer tok-123") == 0;
	}
	else if (strncmp(path, "/s3/", 4) == 0 || strncmp(path, "/s3bad/", 7) == 0)
	{
		char		sha[65];
		char		got_sha[256];
		sha256_ctx	ctx;
		uint8_t		digest[32];

		name = strchr(path + 1, '/') + 1;
		sha256_init(&ctx);
		sha256_update(&ctx, body, (size_t) clen);
		sha256_final(&ctx, digest);
		sha256_hex(digest, sha);
		header_value(req, "x-amz-content-sha256", got_sha, sizeof(got_sha));
		authorized = strcmp(sha, got_sha) == 0 &&
			strncmp(value, "AWS4-HMAC-SHA256 Credential=AKTEST/", 35) == 0 &&
			strstr(value, "/us-east-1/s3/aws4_request") != NULL;
		if (!authorized)
		{
			send_head(fd, 403, "Content-Length: 0\r\n");
			free(body);
			return;
		}
	}
	else if (strncmp(path, "/forbid/", 8) == 0)
	{
		send_head(fd, 403, "Content-Length: 0\r\n");
		free(body);
		return;
	}
	if (name == NULL)
	{
		send_head(fd, 404, "Content-Length: 0\r\n");
		free(body);
		return;
	}
	if (!authorized)
	{
		send_head(fd, 401, "WWW-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n");
		free(body);
		return;
	}
	stored_path(name, file, sizeof(file));
	if (put)
	{
		int			out = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0 || write(out, body, (size_t) clen) != clen)
			send_head(fd, 500, "Content-Length: 0\r\n");
		else if (strncmp(path, "/s3bad/", 7) == 0)
			send_head(fd, 200, "ETag: \"00000000000000000000000000000000\"\r\nContent-Length: 0\r\n");
		else if (strncmp(path, "/s3/", 4) == 0)
			send_head(fd, 200, "Content-Length: 0\r\n");
		else
			send_head(fd, 201, "ETag: \"v1\"\r\nContent-Length: 0\r\n");
		if (out >= 0)
			close(out);
	}
	else if (strcmp(method, "HEAD") == 0)
	{
		struct stat st;

		if (stat(file, &st) != 0)
			send_head(fd, 404, "Content-Length: 0\r\n");
		else
		{
			snprintf(extra, sizeof(extra), "ETag: \"v2\"\r\nContent-Length: %lld\r\n",
					 (long long) st.st_size + (strncmp(path, "/lie/", 5) == 0 ? 1 : 0));
			send_head(fd, 200, extra);
		}
	}
	else if (strcmp(method, "MKCOL") == 0)
	{
		char		line[1100];

		snprintf(line, sizeof(line), "MKCOL %s\n", path);
		srv_log(line);
		strncat(file, ".col", sizeof(file) - strlen(file) - 1);
		if (mkdir(file, 0700) == 0)
			send_head(fd, 201, "Content-Length: 0\r\n");
		else
			send_head(fd, 405, "Content-Length: 0\r\n");
	}
	else
		send_head(fd, 405, "Content-Length: 0\r\n");
	free(body);
}

/*
 * read_body reads a request's body (Content-Length bytes, some of them
 * already in req after the headers) into a new buffer; NULL when the
 * client went away.
 */
static unsigned char *
read_body(int fd, const char *req, size_t got, size_t *len)
{
	const char *hend = strstr(req, "\r\n\r\n") + 4;
	size_t		have = got - (size_t) (hend - req);
	char		value[64];
	size_t		clen = 0;
	unsigned char *body;

	header_value(req, "Content-Length", value, sizeof(value));
	if (value[0] != '\0')
		clen = (size_t) atol(value);
	body = malloc(clen + 1);
	if (body == NULL)
		return NULL;
	memcpy(body, hend, have < clen ? have : clen);
	while (have < clen)
	{
		ssize_t		r = recv(fd, body + have, clen - have, 0);

		if (r <= 0)
		{
			free(body);
			return NULL;
		}
		have += (size_t) r;
	}
	body[clen] = '\0';
	*len = clen;
	return body;
}

/*
 * serve_s3mp plays S3's multipart upload API on /s3mp/<name>: initiate
 * (POST ?uploads), parts (PUT ?partNumber=&uploadId=, refused with 403
 * unless x-amz-content-sha256 is the part's SHA-256), complete (POST
 * ?uploadId=) and abort (DELETE ?uploadId=, 204).  Every request signed by
 * AKTEST is logged with its upload id as it arrives: "INIT <name> <id>",
 * "PART <n> <id>", "COMPLETE <id>", "ABORT <id>".  The name's prefix picks a
 * fault: "hanginit-" (the initiation is never answered), "hang2-" (parts
 * from the second on are neither read nor answered), "hangabort-" (the
 * same, and the abort is not answered either), "fail2-" (part 2 gets 503).
 */
static void
serve_s3mp(int fd, const char *req, size_t got, const char *method, const char *path)
{
	const char *name = path + 6;
	const char *q = strchr(path, '?');
	const char *p;
	char		value[256];
	char		line[1200];
	char		extra[256];
	char		id[64];
	char		xml[256];
	int			part = 0;
	bool		hang_parts = strncmp(name, "hang2-", 6) == 0 || strncmp(name, "hangabort-", 10) == 0;
	unsigned char *body;
	size_t		len = 0;

	header_value(req, "Authorization", value, sizeof(value));
	if (q == NULL || strncmp(value, "AWS4-HMAC-SHA256 Credential=AKTEST/", 35) != 0)
	{
		send_head(fd, 403, "Content-Length: 0\r\n");
		return;
	}
	if (strcmp(method, "POST") == 0 && strncmp(q, "?uploads", 8) == 0)
	{
		snprintf(id, sizeof(id), "upl-%d", (int) getpid());
		snprintf(line, sizeof(line), "INIT %.*s %s\n", (int) (q - name), name, id);
		srv_log(line);
		if (strncmp(name, "hanginit-", 9) == 0)
		{
			sleep_ms(30000);
			return;
		}
		snprintf(xml, sizeof(xml),
				 "<InitiateMultipartUploadResult><UploadId>%s</UploadId></InitiateMultipartUploadResult>", id);
		snprintf(extra, sizeof(extra), "Content-Type: application/xml\r\nContent-Length: %zu\r\n", strlen(xml));
		if (send_head(fd, 200, extra) == 0)
			send_all(fd, xml, strlen(xml));
		return;
	}
	if ((p = strstr(q, "uploadId=")) == NULL)
	{
		send_head(fd, 400, "Content-Length: 0\r\n");
		return;
	}
	snprintf(id, sizeof(id), "%.*s", (int) strcspn(p + 9, "&"), p + 9);
	if (strcmp(method, "DELETE") == 0)
	{
		snprintf(line, sizeof(line), "ABORT %s\n", id);
		srv_log(line);
		if (strncmp(name, "hangabort-", 10) == 0)
			sleep_ms(30000);
		else
			send_head(fd, 204, "Content-Length: 0\r\n");
		return;
	}
	if (strcmp(method, "PUT") == 0 && (p = strstr(q, "partNumber=")) != NULL)
		part = atoi(p + 11);
	if (part >= 2 && hang_parts)
	{
		sleep_ms(30000);
		return;
	}
	body = read_body(fd, req, got, &len);
	if (body == NULL)
		return;
	if (part > 0)
	{
		char		sha[65];
		sha256_ctx	ctx;
		uint8_t		digest[32];

		sha256_init(&ctx);
		sha256_update(&ctx, body, len);
		sha256_final(&ctx, digest);
		sha256_hex(digest, sha);
		header_value(req, "x-amz-content-sha256", value, sizeof(value));
		snprintf(line, sizeof(line), "PART %d %s\n", part, id);
		srv_log(line);
		if (strcmp(sha, value) != 0)
			send_head(fd, 403, "Content-Length: 0\r\n");
		else if (part == 2 && strncmp(name, "fail2-", 6) == 0)
			send_head(fd, 503, "Content-Length: 0\r\n");
		else
		{
			snprintf(extra, sizeof(extra), "ETag: \"etag-%d\"\r\nContent-Length: 0\r\n", part);
			send_head(fd, 200, extra);
		}
	}
	else if (strcmp(method, "POST") == 0 && strstr((char *) body, "<PartNumber>") != NULL)
	{
		snprintf(line, sizeof(line), "COMPLETE %s\n", id);
		srv_log(line);
		snprintf(xml, sizeof(xml),
				 "<CompleteMultipartUploadResult><ETag>&quot;final-3&quot;</ETag></CompleteMultipartUploadResult>");
		snprintf(extra, sizeof(extra), "Content-Type: application/xml\r\nContent-Length: %zu\r\n", strlen(xml));
		if (send_head(fd, 200, extra) == 0)
			send_all(fd, xml, strlen(xml));
	}
	else
		send_head(fd, 400, "Content-Length: 0\r\n");
	free(body);
}

/*
 * start_server binds 127.0.0.1 port 0, learns the port, and forks the
 * server: it accepts connections, logs each in srvdir/conns and forks a
 * handler for it, all of them set to die when their parent does.
 */
static int
start_server(int *port_out, pid_t *pid_out)
{
	struct sockaddr_in addr;
	socklen_t	alen = sizeof(addr);
	int			ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int			one = 1;
	pid_t		parent = getpid();
	pid_t		pid;
	int			port;
	char		conns[128];

	if (ls < 0)
		return -1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(ls, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(ls, 128) != 0 ||
		getsockname(ls, (struct sockaddr *) &addr, &alen) != 0)
	{
		close(ls);
		return -1;
	}
	port = ntohs(addr.sin_port);
	snprintf(conns, sizeof(conns), "%s/conns", srvdir);

	fflush(stdout);
	pid = fork();
	if (pid < 0)
	{
		close(ls);
		return -1;
	}
	if (pid == 0)
	{
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		signal(SIGCHLD, SIG_IGN);	/* handlers are reaped by the kernel */
		signal(SIGPIPE, SIG_IGN);
		for (;;)
		{
			int			c = accept(ls, NULL, NULL);
			pid_t		me = getpid();
			pid_t		h;

			if (c < 0)
			{
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				_exit(1);
			}
			{
				char		line[32];
				int			lf = open(conns, O_WRONLY | O_APPEND | O_CREAT, 0600);
				int			len = snprintf(line, sizeof(line), "CONN %d\n", port);

				if (lf >= 0)
				{
					if (write(lf, line, (size_t) len) < 0)
						{ /* best effort */ }
					close(lf);
				}
			}
			h = fork();
			if (h == 0)
			{
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != me)
					_exit(0);
				close(ls);
				while (serve_client(c))
					;
				close(c);
				_exit(0);
			}
			close(c);
		}
	}
	close(ls);
	*port_out = port;
	*pid_out = pid;
	return 0;
}

/* stop_server kills a server by its PID and reaps it. */
static void
stop_server(pid_t *pid)
{
	if (*pid > 0)
	{
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = -1;
	}
}

/* closed_port finds a port nothing listens on: bound, learnt and closed again. */
static int
closed_port(void)
{
	struct sockaddr_in addr;
	socklen_t	alen = sizeof(addr);
	int			s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int			port = 0;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && bind(s, (struct sockaddr *) &addr, sizeof(addr)) == 0 &&
		getsockname(s, (struct sockaddr *) &addr, &alen) == 0)
		port = ntohs(addr.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* count_fds counts this process's open file descriptors. */
static int
count_fds(void)
{
	DIR		   *d = opendir("/proc/self/fd");
	int			n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* file_exists is true when path exists. */
static int
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* part_exists is true when path + ".part" exists. */
static int
part_exists(const char *path)
{
	char		part[512];

	snprintf(part, sizeof(part), "%s.part", path);
	return file_exists(part);
}

/* file_is_pattern checks that path holds exactly the first n pattern bytes. */
static int
file_is_pattern(const char *path, size_t n)
{
	FILE	   *f = fopen(path, "rb");
	size_t		i = 0;
	int			c;
	int			ok = 1;

	if (f == NULL)
		return 0;
	while ((c = getc(f)) != EOF)
	{
		if (i >= n || (unsigned char) c != pattern_byte(i))
			ok = 0;
		i++;
	}
	fclose(f);
	return ok && i == n;
}

/* ends_with is true when s ends with suffix. */
static int
ends_with(const char *s, const char *suffix)
{
	size_t		a = strlen(s),
				b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* set_url writes the test server's URL for path into buf. */
static const char *
set_url(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", server_port, path);
	return buf;
}

/* set_dest writes a destination path in the test directory into buf. */
static const char *
set_dest(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

/* base_opts fills the options every test starts from. */
static void
base_opts(transfer_opts *o, int64_t job_id, const char *url, const char *dest)
{
	memset(o, 0, sizeof(*o));
	o->job_id = job_id;
	o->url = url;
	o->dest_path = dest;
	o->user_agent = "pg_mlops-test/1";
	o->connect_timeout_s = 5;
	o->total_timeout_s = 10;
	o->max_redirects = 5;
}

/* wait_result polls until one result arrives or timeout_ms pass; 1 when it came. */
static int
wait_result(transfer_pool *pool, transfer_result *res, long timeout_ms)
{
	long long	deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline)
		if (transfer_poll(pool, 100, res, 1) == 1)
			return 1;
	return 0;
}

/*
 * part_mode: the pools write "<dest>.part" and rename it (false: unnamed
 * O_TMPFILE files, the default, linked in at the end); main runs the
 * download tests both ways.
 */
static bool part_mode = false;

static transfer_pool *
make_pool(int max_concurrent)
{
	transfer_pool *pool = transfer_pool_create(max_concurrent);

	if (pool != NULL)
		transfer_pool_unnamed_files(pool, !part_mode);
	return pool;
}

/*
 * wait_part polls the pool (collecting nothing) until path + ".part" exists:
 * a sync thread creates it after transfer_start returns.  0 after timeout_ms.
 */
static int
wait_part(transfer_pool *pool, const char *path, long timeout_ms)
{
	long long	deadline = now_ms() + timeout_ms;

	while (!part_exists(path))
	{
		if (now_ms() >= deadline)
			return 0;
		transfer_poll(pool, 20, NULL, 0);
	}
	return 1;
}

/*
 * wait_written polls the pool (collecting nothing) until job id's file is
 * being written: "<path>.part" exists, or (unnamed files) some bytes are in
 * while neither path nor its .part has a name yet.  0 after timeout_ms.
 */
static int
wait_written(transfer_pool *pool, int64_t id, const char *path, long timeout_ms)
{
	long long	deadline = now_ms() + timeout_ms;
	int64_t		done = 0,
				total = 0;

	if (part_mode)
		return wait_part(pool, path, timeout_ms);
	while (!transfer_progress(pool, id, &done, &total) || done <= 0)
	{
		if (now_ms() >= deadline)
			return 0;
		transfer_poll(pool, 20, NULL, 0);
	}
	return !file_exists(path) && !part_exists(path);
}

/* run_one starts one transfer and waits for its result; 0 when it could not start. */
static int
run_one(transfer_pool *pool, const transfer_opts *o, transfer_result *res)
{
	char		err[512];
	bool		retryable;

	memset(res, 0, sizeof(*res));
	if (!transfer_start(pool, o, err, sizeof(err), &retryable))
	{
		printf("# transfer_start: %s\n", err);
		return 0;
	}
	return wait_result(pool, res, 10000);
}

/* expect_url checks transfer_check_url; want_in is a part the reason must contain. */
static void
expect_url(const char *url, bool ok, const char *want_in)
{
	char		err[256];
	char		host[64];
	char		what[256];
	bool		got = transfer_check_url(url, err, sizeof(err), host, sizeof(host));

	snprintf(what, sizeof(what), "check_url \"%s\" %s", url ? url : "(null)", ok ? "accepted" : "refused");
	CHECK_INT(got, ok, what);
	if (!ok)
	{
		snprintf(what, sizeof(what), "check_url \"%s\" says \"%s\"", url ? url : "(null)", want_in);
		if (!CHECK(strstr(err, want_in) != NULL, what))
			printf("#   got \"%s\"\n", err);
	}
	else if (!CHECK(err[0] == '\0', "no reason when accepted"))
		printf("#   got \"%s\"\n", err);
}

/* test_check_url: accepted and refused URLs. */
static void
test_check_url(void)
{
	char		err[256];
	char		host[64];
	char		tiny[4];

	expect_url("http://example.com/x", true, "");
	expect_url("https://example.com/a/b?c=d", true, "");
	expect_url("HTTPS://Example.COM/", true, "");
	expect_url("file:///etc/passwd", false, "\"file\"");
	expect_url("FILE:///etc/passwd", false, "\"file\"");
	expect_url("ftp://example.com/x", false, "\"ftp\"");
	expect_url("gopher://example.com/", false, "\"gopher\"");
	expect_url("mailto:a@example.com", false, "\"mailto\"");
	expect_url("", false, "empty url");
	expect_url(NULL, false, "empty url");
	expect_url("example.com/x", false, "not absolute");
	expect_url("/etc/passwd", false, "not absolute");
	expect_url("//example.com/x", false, "not absolute");
	expect_url("http://", false, "no host");
	expect_url("http://:80/x", false, "no host");
	expect_url("http://exa mple.com/", false, "invalid url");
	expect_url("http://user:pw-XYZ@example.com/", false, "url must not hold a user name or password");
	expect_url("http://user@example.com/", false, "url must not hold a user name or password");
	expect_url("https://:pw-XYZ@example.com/", false, "url must not hold a user name or password");
	CHECK(!transfer_check_url("http://u:pw-XYZ@example.com/", err, sizeof(err), host, sizeof(host)) &&
		  strstr(err, "pw-XYZ") == NULL, "the password is not repeated");

	CHECK(transfer_check_url("http://127.0.0.1:8080/a", err, sizeof(err), host, sizeof(host)), "ip url accepted");
	CHECK_STR(host, "127.0.0.1", "host of an ip url");
	CHECK(transfer_check_url("HTTP://Example.com/", err, sizeof(err), host, sizeof(host)), "upper-case scheme accepted");
	CHECK_STR(host, "Example.com", "host of a name url");
	CHECK(!transfer_check_url("http://example.com/", err, sizeof(err), tiny, sizeof(tiny)), "host too long for its buffer refused");
	CHECK_STR(tiny, "", "host left empty when refused");
	CHECK(transfer_check_url("http://example.com/", NULL, 0, NULL, 0), "no buffers needed");
	CHECK(!transfer_check_url("ftp://x/", NULL, 0, NULL, 0), "refused without buffers");
}

/* test_start_refusals: what transfer_start refuses before any network use. */
static void
test_start_refusals(transfer_pool *pool)
{
	transfer_opts o;
	char		url[256];
	char		dest[256];
	char		err[512];
	bool		retryable = true;

	set_url(url, sizeof(url), "/ok/10");
	set_dest(dest, sizeof(dest), "refused");

	base_opts(&o, 100, "file:///etc/passwd", dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses file://");
	CHECK(!retryable, "a bad url is not retryable");
	CHECK(strstr(err, "file") != NULL, "the reason names the scheme");

	base_opts(&o, 100, url, "relative/path");
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses a relative dest_path");
	CHECK(!part_exists("relative/path"), "no relative .part created");

	base_opts(&o, 100, url, dest);
	o.expected_sha256 = "abc";
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses a short expected_sha256");
	o.expected_sha256 = "zz00000000000000000000000000000000000000000000000000000000000000";
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses a non-hex expected_sha256");

	base_opts(&o, 100, url, dest);
	o.max_bytes = -1;
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses a negative max_bytes");
	base_opts(&o, 100, url, dest);
	o.max_redirects = -1;
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses a negative max_redirects");

	set_dest(dest, sizeof(dest), "no-such-dir/file");
	base_opts(&o, 100, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "start refuses a missing directory");
	CHECK(strstr(err, "cannot create") != NULL, "missing directory: cannot create");
	CHECK(!retryable, "missing directory is not retryable");
	CHECK_INT(transfer_count(pool), 0, "nothing started by refusals");
}

/* test_ok: a plain download, then with right and wrong checksums. */
static void
test_ok(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];
	char		sha[65];
	char		upper[65];
	char		err[512];
	bool		retryable;

	pattern_sha256(100000, sha);
	set_url(url, sizeof(url), "/ok/100000");
	set_dest(dest, sizeof(dest), "ok.bin");
	base_opts(&o, 1, url, dest);
	CHECK(run_one(pool, &o, &r), "/ok/100000 finished");
	CHECK_INT(r.job_id, 1, "result carries the job id");
	CHECK_INT(r.state, TRANSFER_DONE, "/ok/100000 DONE");
	CHECK_INT(r.http_status, 200, "status 200");
	CHECK_INT(r.bytes, 100000, "100000 bytes");
	CHECK_STR(r.sha256, sha, "sha256 of the body");
	CHECK_STR(r.content_type, "application/octet-stream", "content type");
	CHECK(ends_with(r.effective_url, "/ok/100000"), "effective url");
	CHECK_STR(r.error, "", "no error");
	CHECK(file_is_pattern(dest, 100000), "file at dest holds the body");
	CHECK(!part_exists(dest), "no .part left");
	CHECK_INT(transfer_count(pool), 0, "count back to 0");
	unlink(dest);

	/* the right checksum, in upper case */
	for (int i = 0; i < 65; i++)
		upper[i] = (char) (sha[i] >= 'a' && sha[i] <= 'f' ? sha[i] - 'a' + 'A' : sha[i]);
	base_opts(&o, 2, url, dest);
	o.expected_sha256 = upper;
	CHECK(run_one(pool, &o, &r), "expected sha256 right: finished");
	CHECK_INT(r.state, TRANSFER_DONE, "expected sha256 right (upper case): DONE");
	CHECK(file_exists(dest), "expected sha256 right: file in place");
	unlink(dest);

	/* a wrong one */
	base_opts(&o, 3, url, dest);
	o.expected_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	CHECK(run_one(pool, &o, &r), "expected sha256 wrong: finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "expected sha256 wrong: FAILED");
	CHECK(!r.retryable, "sha256 mismatch not retryable");
	CHECK(strncmp(r.error, "sha256 mismatch: expected 0000", 30) == 0, "sha256 mismatch message");
	CHECK(strstr(r.error, sha) != NULL, "mismatch message names the actual sha256");
	CHECK(!file_exists(dest), "sha256 mismatch: no file");
	CHECK(!part_exists(dest), "sha256 mismatch: no .part");

	/* an empty body is a file too */
	set_url(url, sizeof(url), "/ok/0");
	base_opts(&o, 4, url, dest);
	CHECK(run_one(pool, &o, &r), "/ok/0 finished");
	CHECK_INT(r.state, TRANSFER_DONE, "/ok/0 DONE");
	CHECK_STR(r.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "/ok/0 sha256 of nothing");
	CHECK(file_is_pattern(dest, 0), "/ok/0 file is empty");
	unlink(dest);

	/* a body that ends at close, without Content-Length */
	set_url(url, sizeof(url), "/nolen/70000");
	base_opts(&o, 5, url, dest);
	CHECK(run_one(pool, &o, &r), "/nolen/70000 finished");
	CHECK_INT(r.state, TRANSFER_DONE, "/nolen/70000 DONE");
	CHECK(file_is_pattern(dest, 70000), "/nolen/70000 file holds the body");
	unlink(dest);

	/* a job id may not run twice; a destination may not be written twice */
	set_url(url, sizeof(url), "/slow");
	base_opts(&o, 6, url, dest);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /slow");
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "same job id refused");
	base_opts(&o, 7, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "same destination refused");
	CHECK(wait_written(pool, 6, dest, 1000), "the running transfer's file survives the refusals (no name yet, unless .part)");
	CHECK(transfer_cancel(pool, 6), "cancel /slow");
	CHECK(wait_result(pool, &r, 1000) && r.state == TRANSFER_CANCELLED, "cancelled");
}

/* test_status: non-2xx answers. */
static void
test_status(transfer_pool *pool)
{
	static const struct
	{
		int			code;
		bool		retryable;
	}			cases[] = {{404, false}, {403, false}, {503, true}, {500, true}, {429, true}, {408, true}, {204, false}};
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];
	char		what[128];
	char		want[64];

	set_dest(dest, sizeof(dest), "status.bin");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		path[64];
		int			code = cases[i].code;

		snprintf(path, sizeof(path), "/status/%d", code);
		set_url(url, sizeof(url), path);
		base_opts(&o, 10 + (int64_t) i, url, dest);
		CHECK(run_one(pool, &o, &r), "status finished");
		if (code == 204)
		{
			/* 204 is a success with an empty body (our server sends one anyway: curl ignores it) */
			CHECK_INT(r.state, TRANSFER_DONE, "/status/204 DONE");
			unlink(dest);
			continue;
		}
		snprintf(what, sizeof(what), "/status/%d FAILED", code);
		CHECK_INT(r.state, TRANSFER_FAILED, what);
		snprintf(what, sizeof(what), "/status/%d %sretryable", code, cases[i].retryable ? "" : "not ");
		CHECK_INT(r.retryable, cases[i].retryable, what);
		snprintf(want, sizeof(want), "http status %d", code);
		CHECK_STR(r.error, want, "status message");
		CHECK_INT(r.http_status, code, "http_status filled");
		CHECK_INT(r.bytes, 0, "error body not counted");
		CHECK(!file_exists(dest) && !part_exists(dest), "no file, no .part");
	}
}

/* test_redirects: followed, too many, and to a refused scheme. */
static void
test_redirects(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];

	set_dest(dest, sizeof(dest), "redirect.bin");
	set_url(url, sizeof(url), "/redirect/3");
	base_opts(&o, 20, url, dest);
	CHECK(run_one(pool, &o, &r), "/redirect/3 finished");
	CHECK_INT(r.state, TRANSFER_DONE, "/redirect/3 with max 5 DONE");
	CHECK(ends_with(r.effective_url, "/ok/100"), "effective url is the last hop");
	CHECK(file_is_pattern(dest, 100), "/redirect/3 file holds /ok/100");
	unlink(dest);

	set_url(url, sizeof(url), "/redirect/5");
	base_opts(&o, 21, url, dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "/redirect/5 with max 5 DONE");
	unlink(dest);

	set_url(url, sizeof(url), "/redirect/7");
	base_opts(&o, 22, url, dest);
	CHECK(run_one(pool, &o, &r), "/redirect/7 finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "/redirect/7 with max 5 FAILED");
	CHECK(!r.retryable, "too many redirects not retryable");
	CHECK(!file_exists(dest) && !part_exists(dest), "/redirect/7: no file, no .part");
	printf("# /redirect/7: %s\n", r.error);

	set_url(url, sizeof(url), "/redirect/1");
	base_opts(&o, 23, url, dest);
	o.max_redirects = 0;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED, "max_redirects 0 refuses a redirect");

	set_url(url, sizeof(url), "/redirect-file");
	base_opts(&o, 24, url, dest);
	CHECK(run_one(pool, &o, &r), "/redirect-file finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "/redirect-file FAILED");
	CHECK(!r.retryable, "redirect to file:// not retryable");
	CHECK_INT(r.bytes, 0, "/redirect-file read nothing");
	CHECK(!file_exists(dest) && !part_exists(dest), "/redirect-file: no file, no .part");
	printf("# /redirect-file: %s\n", r.error);
}

/* test_limits: max_bytes three ways, a short body, a closed port, a timeout. */
static void
test_limits(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];
	long long	t0;
	static const char *const paths[] = {"/ok/100000", "/nolen/100000", "/big"};

	set_dest(dest, sizeof(dest), "limit.bin");
	for (int i = 0; i < 3; i++)
	{
		char		what[128];

		set_url(url, sizeof(url), paths[i]);
		base_opts(&o, 30 + i, url, dest);
		o.max_bytes = 1000;
		snprintf(what, sizeof(what), "max_bytes 1000 on %s FAILED", paths[i]);
		CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED, what);
		CHECK(!r.retryable, "too large not retryable");
		CHECK_STR(r.error, "response larger than max_bytes (1000)", "too large message");
		CHECK(!file_exists(dest) && !part_exists(dest), "too large: no file, no .part");
	}

	/* exactly max_bytes is fine */
	set_url(url, sizeof(url), "/nolen/1000");
	base_opts(&o, 33, url, dest);
	o.max_bytes = 1000;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "max_bytes 1000 on 1000 bytes DONE");
	unlink(dest);

	set_url(url, sizeof(url), "/short");
	base_opts(&o, 34, url, dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED, "/short FAILED");
	CHECK(r.retryable, "a cut-off body is retryable");
	CHECK(!file_exists(dest) && !part_exists(dest), "/short: no file, no .part");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok/10", closed_port());
	base_opts(&o, 35, url, dest);
	CHECK(run_one(pool, &o, &r), "closed port finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "connection refused FAILED");
	CHECK(r.retryable, "connection refused retryable");
	CHECK_INT(r.http_status, 0, "no status without a response");
	CHECK(!file_exists(dest) && !part_exists(dest), "connection refused: no file, no .part");
	printf("# closed port: %s\n", r.error);

	set_url(url, sizeof(url), "/slow");
	base_opts(&o, 36, url, dest);
	o.total_timeout_s = 1;
	t0 = now_ms();
	CHECK(run_one(pool, &o, &r), "/slow with a 1 s timeout finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "total_timeout_s 1 on /slow FAILED");
	CHECK(r.retryable, "timeout retryable");
	CHECK(now_ms() - t0 < 3000, "timeout within 3 s");
	CHECK(r.bytes > 0 && r.bytes < 300, "some bytes before the timeout");
	CHECK(!file_exists(dest) && !part_exists(dest), "timeout: no file, no .part");
	printf("# timeout: %s\n", r.error);
}

/* conns_of counts the connections the server on port has accepted so far. */
static int
conns_of(int port)
{
	char		path[128];
	char		line[64];
	char		want[32];
	FILE	   *f;
	int			n = 0;

	snprintf(path, sizeof(path), "%s/conns", srvdir);
	snprintf(want, sizeof(want), "CONN %d\n", port);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strcmp(line, want) == 0)
			n++;
	fclose(f);
	return n;
}

/*
 * sentinel downloads /ok/1 from the server on port, without a policy, and
 * returns the server's connection count after it.  A server accepts in the
 * order connections were made, so once the sentinel's is counted, any
 * earlier connection is counted too: no waiting for one that never comes.
 */
static int
sentinel(transfer_pool *pool, int port)
{
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok/1", port);
	set_dest(dest, sizeof(dest), "sentinel.bin");
	base_opts(&o, 990, url, dest);
	if (!run_one(pool, &o, &r) || r.state != TRANSFER_DONE)
		printf("# sentinel download failed: %s\n", r.error);
	unlink(dest);
	return conns_of(port);
}

/* redirect_to writes the URL of /redirect-to on the first server for target (percent-encoded). */
static const char *
redirect_to(char *buf, size_t len, const char *target)
{
	size_t		n = (size_t) snprintf(buf, len, "http://127.0.0.1:%d/redirect-to?u=", server_port);

	for (const unsigned char *c = (const unsigned char *) target; *c && n + 4 < len; c++)
	{
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			*c == '-' || *c == '.' || *c == '_')
			buf[n++] = (char) *c;
		else
			n += (size_t) snprintf(buf + n, len - n, "%%%02X", *c);
	}
	buf[n] = '\0';
	return buf;
}

/* make_policy builds a policy or says why not. */
static netpolicy *
make_policy(const char *hosts, const char *nets)
{
	char		err[256];
	netpolicy  *p = netpolicy_create(hosts, nets, err, sizeof(err));

	if (p == NULL)
		printf("# netpolicy_create(\"%s\", \"%s\"): %s\n", hosts, nets, err);
	return p;
}

/*
 * expect_refused_hop runs a download from the first server's /redirect-to
 * to target under policy (hosts allowed): FAILED, not retryable, with the
 * message want, nothing written, and no connection to target_port's server
 * (counted with a sentinel: extra is the connections the transfer itself
 * makes there, 1 when target_port is the first server's).
 */
static void
expect_refused_hop(transfer_pool *pool, const char *what, const char *hosts, const char *target,
				   int target_port, int extra, const char *want)
{
	transfer_opts o;
	transfer_result r;
	char		url[1024];
	char		dest[256];
	char		label[256];
	netpolicy  *p = make_policy(hosts, "");
	int			before = conns_of(target_port);

	set_dest(dest, sizeof(dest), "hop.bin");
	base_opts(&o, 900, redirect_to(url, sizeof(url), target), dest);
	o.policy = p;
	snprintf(label, sizeof(label), "%s: finished", what);
	CHECK(run_one(pool, &o, &r), label);
	snprintf(label, sizeof(label), "%s: FAILED, not retryable", what);
	CHECK(r.state == TRANSFER_FAILED && !r.retryable, label);
	snprintf(label, sizeof(label), "%s: message", what);
	CHECK_STR(r.error, want, label);
	snprintf(label, sizeof(label), "%s: no file, no .part", what);
	CHECK(!file_exists(dest) && !part_exists(dest), label);
	snprintf(label, sizeof(label), "%s: the refused hop got no connection", what);
	CHECK_INT(sentinel(pool, target_port) - before, extra + 1, label);
	netpolicy_free(p);
}

/*
 * test_policy_redirects: every redirect hop is checked against the allowed
 * hosts before any connection is made to it; allowed chains still work.
 */
static void
test_policy_redirects(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r;
	char		url[1024];
	char		target[256];
	char		dest[256];
	char		hosts[128];
	char		want[512];
	char		err[512];
	bool		retryable = true;
	netpolicy  *p;
	int			before;

	set_dest(dest, sizeof(dest), "policy.bin");
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", server_port);

	/* to another port of an allowed host */
	snprintf(target, sizeof(target), "http://127.0.0.1:%d/ok/10", server2_port);
	snprintf(want, sizeof(want), "redirect to \"%s\" refused: host \"127.0.0.1:%d\" is not in mlops.allowed_hosts",
			 target, server2_port);
	expect_refused_hop(pool, "redirect to a port not allowed", hosts, target, server2_port, 0, want);

	/* to 0.0.0.0, which Linux connects to this machine, on the allowed port */
	snprintf(target, sizeof(target), "http://0.0.0.0:%d/ok/10", server_port);
	snprintf(want, sizeof(want), "redirect to \"%s\" refused: host \"0.0.0.0:%d\" is not in mlops.allowed_hosts",
			 target, server_port);
	expect_refused_hop(pool, "redirect to 0.0.0.0", hosts, target, server_port, 1, want);

	/* without a policy the same hop is followed and reaches the server: what the policy stops */
	base_opts(&o, 901, redirect_to(url, sizeof(url), target), dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "without a policy the hop to 0.0.0.0 reaches the server");
	unlink(dest);

	/* to an IPv4-mapped IPv6 address of the allowed host */
	snprintf(target, sizeof(target), "http://[::ffff:127.0.0.1]:%d/ok/10", server_port);
	snprintf(want, sizeof(want),
			 "redirect to \"%s\" refused: host \"[::ffff:127.0.0.1]:%d\" is not in mlops.allowed_hosts",
			 target, server_port);
	expect_refused_hop(pool, "redirect to [::ffff:127.0.0.1]", hosts, target, server_port, 1, want);

	/* to a name of the machine */
	snprintf(target, sizeof(target), "http://localhost:%d/ok/10", server_port);
	snprintf(want, sizeof(want),
			 "redirect to \"%s\" refused: host \"localhost:%d\" is not in mlops.allowed_hosts",
			 target, server_port);
	expect_refused_hop(pool, "redirect to localhost", hosts, target, server_port, 1, want);

	/* a relative location is resolved against the URL that answered */
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", server2_port);
	snprintf(target, sizeof(target), "//127.0.0.1:%d/ok/10", server_port);
	snprintf(want, sizeof(want),
			 "redirect to \"http://127.0.0.1:%d/ok/10\" refused: host \"127.0.0.1:%d\" is not in mlops.allowed_hosts",
			 server_port, server_port);
	p = make_policy(hosts, "");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect-to?u=%%2F%%2F127.0.0.1%%3A%d%%2Fok%%2F10",
			 server2_port, server_port);
	base_opts(&o, 902, url, dest);
	o.policy = p;
	before = conns_of(server_port);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "scheme-relative redirect refused");
	CHECK_STR(r.error, want, "scheme-relative redirect: message with the resolved url");
	CHECK_INT(sentinel(pool, server_port) - before, 1, "scheme-relative redirect: no connection");
	netpolicy_free(p);

	/* userinfo, a query and a scheme in a hop: refused even without a policy, nothing secret shown */
	snprintf(target, sizeof(target), "http://u:pw-XYZ@127.0.0.1:%d/ok/10", server_port);
	base_opts(&o, 903, redirect_to(url, sizeof(url), target), dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "redirect to a url with userinfo refused");
	snprintf(want, sizeof(want),
			 "redirect to \"http://127.0.0.1:%d/ok/10\" refused: url must not hold a user name or password", server_port);
	CHECK_STR(r.error, want, "userinfo hop: message without the userinfo");
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", server_port);
	snprintf(target, sizeof(target), "http://127.0.0.1:%d/ok/10?X-Amz-Signature=SECRET#frag", server2_port);
	snprintf(want, sizeof(want),
			 "redirect to \"http://127.0.0.1:%d/ok/10?...\" refused: host \"127.0.0.1:%d\" is not in mlops.allowed_hosts",
			 server2_port, server2_port);
	expect_refused_hop(pool, "redirect with a signed query", hosts, target, server2_port, 0, want);
	snprintf(target, sizeof(target), "gopher://127.0.0.1:%d/", server_port);
	base_opts(&o, 904, redirect_to(url, sizeof(url), target), dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "redirect to gopher:// refused");
	snprintf(want, sizeof(want), "redirect to \"gopher://127.0.0.1:%d/\" refused: url scheme \"gopher\" is not allowed: only http and https",
			 server_port);
	CHECK_STR(r.error, want, "gopher hop: message");

	/* allowed chains still work: on one host, and across two allowed hosts */
	p = make_policy(hosts, "");
	set_url(url, sizeof(url), "/redirect/3");
	base_opts(&o, 905, url, dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "allowed chain /redirect/3 DONE");
	CHECK(file_is_pattern(dest, 100), "allowed chain: the file");
	unlink(dest);
	netpolicy_free(p);
	snprintf(hosts, sizeof(hosts), "LOCALHOST:%d, 127.0.0.1:%d", server2_port, server_port);
	p = make_policy(hosts, "");
	snprintf(target, sizeof(target), "http://127.0.0.1:%d/redirect/2", server2_port);
	base_opts(&o, 906, redirect_to(url, sizeof(url), target), dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED, "second host not allowed (only localhost on its port)");
	snprintf(want, sizeof(want), "redirect to \"%s\" refused: host \"127.0.0.1:%d\" is not in mlops.allowed_hosts",
			 target, server2_port);
	CHECK_STR(r.error, want, "second host not allowed: message");
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d, 127.0.0.1:%d", server2_port, server_port);
	netpolicy_free(p);
	p = make_policy(hosts, "");
	base_opts(&o, 907, redirect_to(url, sizeof(url), target), dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "allowed chain across two hosts DONE");
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/ok/100", server2_port);
	CHECK_STR(r.effective_url, want, "allowed chain across two hosts: effective url");
	unlink(dest);
	netpolicy_free(p);
	p = make_policy("127.0.0.1:*", "");
	base_opts(&o, 908, redirect_to(url, sizeof(url), target), dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "host:* allows both ports");
	unlink(dest);
	netpolicy_free(p);

	/* the first URL is checked at start */
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", server_port);
	p = make_policy(hosts, "");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok/10", server2_port);
	base_opts(&o, 909, url, dest);
	o.policy = p;
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "an allowed host on another port refused at start");
	CHECK(!retryable, "refused at start: not retryable");
	snprintf(want, sizeof(want), "host \"127.0.0.1:%d\" is not in mlops.allowed_hosts", server2_port);
	CHECK_STR(err, want, "refused at start: message");
	CHECK(!part_exists(dest), "refused at start: no .part");
	netpolicy_free(p);
	p = make_policy("127.0.0.1", "");
	set_url(url, sizeof(url), "/ok/10");
	base_opts(&o, 909, url, dest);
	o.policy = p;
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "a bare host allows ports 80 and 443 only");
	netpolicy_free(p);
	snprintf(url, sizeof(url), "http://u:pw-XYZ@127.0.0.1:%d/ok/10", server_port);
	base_opts(&o, 909, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "userinfo refused at start");
	CHECK_STR(err, "url must not hold a user name or password", "userinfo at start: message");
	CHECK_INT(transfer_count(pool), 0, "nothing started by refusals");

	/* the policy is copied: the caller may free it at once */
	p = make_policy(hosts, "");
	set_url(url, sizeof(url), "/redirect/2");
	base_opts(&o, 910, url, dest);
	o.policy = p;
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start with a policy freed at once");
	netpolicy_free(p);
	CHECK(wait_result(pool, &r, 10000) && r.state == TRANSFER_DONE, "the transfer's own copy is used");
	unlink(dest);
}

/*
 * test_policy_networks: a connection to a denied address is refused at
 * connect time, whatever name led there, with a message that wins over
 * libcurl's and is not retryable; a reused connection is checked too.
 */
static void
test_policy_networks(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r;
	char		url[1024];
	char		target[256];
	char		dest[256];
	netpolicy  *p;
	int			before;

	set_dest(dest, sizeof(dest), "denied.bin");

	p = make_policy("", "10.0.0.0/8, 127.0.0.0/8");
	set_url(url, sizeof(url), "/ok/10");
	base_opts(&o, 920, url, dest);
	o.policy = p;
	before = conns_of(server_port);
	CHECK(run_one(pool, &o, &r), "download from a denied network finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "denied network: FAILED");
	CHECK(!r.retryable, "denied network: not retryable");
	CHECK_STR(r.error, "connection to 127.0.0.1 refused: it is in mlops.denied_networks (127.0.0.0/8)",
			  "denied network: the message names the address and the network");
	CHECK(!file_exists(dest) && !part_exists(dest), "denied network: no file, no .part");
	CHECK_INT(sentinel(pool, server_port) - before, 1, "denied network: no connection made");

	/* a name that resolves into a denied network (as after a DNS rebinding) */
	snprintf(url, sizeof(url), "http://localhost:%d/ok/10", server_port);
	base_opts(&o, 921, url, dest);
	o.policy = p;
	netpolicy_free(p);
	p = make_policy("", "127.0.0.0/8, ::1");
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "localhost into a denied network: FAILED");
	CHECK(strncmp(r.error, "connection to ", 14) == 0 && strstr(r.error, " refused: it is in mlops.denied_networks (") != NULL,
		  "localhost: the denied message");
	printf("# localhost: %s\n", r.error);
	netpolicy_free(p);

	/* a redirect hop into a denied network: our message, not libcurl's "couldn't connect" */
	p = make_policy("", "127.0.0.2");
	snprintf(target, sizeof(target), "http://127.0.0.2:%d/ok/10", server_port);
	base_opts(&o, 922, redirect_to(url, sizeof(url), target), dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED, "hop into a denied network: FAILED");
	CHECK(!r.retryable, "hop into a denied network: not retryable");
	CHECK_STR(r.error, "connection to 127.0.0.2 refused: it is in mlops.denied_networks (127.0.0.2)",
			  "hop into a denied network: message");
	CHECK_INT(r.http_status, 302, "the status of the last response, the redirect");
	netpolicy_free(p);

	/* allowed and denied together: the denied check still applies to an allowed host */
	snprintf(target, sizeof(target), "127.0.0.1:%d", server_port);
	p = make_policy(target, "127.0.0.1/32");
	set_url(url, sizeof(url), "/ok/10");
	base_opts(&o, 923, url, dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED && strstr(r.error, "(127.0.0.1/32)") != NULL,
		  "an allowed host at a denied address: refused");
	netpolicy_free(p);

	/* a network that does not hold the address changes nothing */
	p = make_policy("", "169.254.0.0/16,fe80::/10,fd00:ec2::254,::ffff:10.0.0.0/104");
	base_opts(&o, 924, url, dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "other networks denied: DONE");
	unlink(dest);
	netpolicy_free(p);

	/* a connection kept alive without a policy is checked again before it is reused with one */
	set_url(url, sizeof(url), "/keep/10");
	base_opts(&o, 925, url, dest);
	before = conns_of(server_port);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "/keep/10 without a policy DONE");
	unlink(dest);
	p = make_policy("", "127.0.0.0/8");
	base_opts(&o, 926, url, dest);
	o.policy = p;
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "reused connection into a denied network: FAILED");
	CHECK_STR(r.error, "connection to 127.0.0.1 refused: it is in mlops.denied_networks (127.0.0.0/8)",
			  "reused connection: message");
	CHECK_INT(conns_of(server_port) - before, 1, "the connection was reused, not opened again");
	CHECK(!file_exists(dest) && !part_exists(dest), "reused connection: no file, no .part");
	netpolicy_free(p);
}

/* read_text reads up to len - 1 bytes of path into buf ("" when it cannot). */
static void
read_text(const char *path, char *buf, size_t len)
{
	FILE	   *f = fopen(path, "r");
	size_t		n = 0;

	if (f != NULL)
	{
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* write_text writes text to path; 1 on success. */
static int
write_text(const char *path, const char *text)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
		return 0;
	fputs(text, f);
	return fclose(f) == 0;
}

/*
 * test_part_files: a .part that is a symbolic link, not a regular file or
 * hard-linked, and a destination that is a symbolic link or a directory,
 * are refused and left alone; a leftover .part of ours is truncated; the
 * file is renamed in the directory it was created in.
 */
static void
test_part_files(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];
	char		part[300];
	char		outside[256];
	char		other[256];
	char		text[64];
	char		err[512];
	char		sub[128];
	char		moved[128];
	bool		retryable = true;
	long long	t0;
	struct stat st;

	snprintf(outside, sizeof(outside), "%s/victim.txt", outdir);
	CHECK(write_text(outside, "keep me\n"), "outside file written");
	set_url(url, sizeof(url), "/ok/100");

	/* .part is a symbolic link to a file outside */
	set_dest(dest, sizeof(dest), "sym.bin");
	snprintf(part, sizeof(part), "%s.part", dest);
	CHECK(symlink(outside, part) == 0, "sym.bin.part -> outside made");
	base_opts(&o, 940, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "a .part symbolic link refused");
	CHECK(!retryable, "a .part symbolic link: not retryable");
	CHECK_STR(err, "cannot create \"sym.bin.part\": it is a symbolic link", "a .part symbolic link: message");
	read_text(outside, text, sizeof(text));
	CHECK_STR(text, "keep me\n", "the outside file is untouched");
	CHECK(lstat(part, &st) == 0 && S_ISLNK(st.st_mode), "the symbolic link is left alone");
	unlink(part);

	/* .part is a dangling symbolic link: no file is created where it points */
	snprintf(other, sizeof(other), "%s/created.txt", outdir);
	CHECK(symlink(other, part) == 0, "sym.bin.part -> missing outside file made");
	base_opts(&o, 941, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "a dangling .part symbolic link refused");
	CHECK(!file_exists(other), "nothing created outside");
	unlink(part);

	/* the destination is a symbolic link */
	set_dest(dest, sizeof(dest), "dlink.bin");
	CHECK(symlink(outside, dest) == 0, "dlink.bin -> outside made");
	base_opts(&o, 942, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable) && !retryable, "a destination symbolic link refused");
	CHECK_STR(err, "cannot download to \"dlink.bin\": it is a symbolic link", "a destination symbolic link: message");
	CHECK(!part_exists(dest), "no .part next to it");
	unlink(dest);

	/* the destination is a directory */
	set_dest(dest, sizeof(dest), "ddir.bin");
	CHECK(mkdir(dest, 0700) == 0, "ddir.bin made");
	base_opts(&o, 943, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "a destination directory refused");
	CHECK_STR(err, "cannot download to \"ddir.bin\": it is not a regular file", "a destination directory: message");
	rmdir(dest);
	snprintf(dest, sizeof(dest), "%s/", tmpdir);
	base_opts(&o, 943, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable), "a dest_path ending in / refused");
	CHECK_STR(err, "dest_path must name a file", "a dest_path ending in /: message");

	/* .part has another hard link */
	set_dest(dest, sizeof(dest), "hard.bin");
	snprintf(part, sizeof(part), "%s.part", dest);
	set_dest(other, sizeof(other), "hard-target.txt");
	CHECK(write_text(other, "linked\n") && link(other, part) == 0, "hard.bin.part hard link made");
	base_opts(&o, 944, url, dest);
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable) && !retryable, "a hard-linked .part refused");
	CHECK_STR(err, "cannot create \"hard.bin.part\": it has other hard links", "a hard-linked .part: message");
	read_text(other, text, sizeof(text));
	CHECK_STR(text, "linked\n", "the hard-linked file is not truncated");
	unlink(part);
	unlink(other);

	/* .part is a FIFO: refused without blocking */
	set_dest(dest, sizeof(dest), "fifo.bin");
	snprintf(part, sizeof(part), "%s.part", dest);
	CHECK(mkfifo(part, 0600) == 0, "fifo.bin.part made");
	base_opts(&o, 945, url, dest);
	t0 = now_ms();
	CHECK(!transfer_start(pool, &o, err, sizeof(err), &retryable) && !retryable, "a FIFO .part refused");
	CHECK(now_ms() - t0 < 1000, "without blocking");
	CHECK_STR(err, "cannot create \"fifo.bin.part\": it is not a regular file", "a FIFO .part: message");
	unlink(part);
	CHECK_INT(transfer_count(pool), 0, "nothing started by refusals");

	/* a leftover .part of ours is truncated and replaced */
	set_dest(dest, sizeof(dest), "old.bin");
	snprintf(part, sizeof(part), "%s.part", dest);
	CHECK(write_text(part, "an older, longer attempt that must not survive at all, not a byte of it, no"), "old .part written");
	base_opts(&o, 946, url, dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "download over an old .part DONE");
	CHECK(file_is_pattern(dest, 100), "the file holds the new body only");
	CHECK(!part_exists(dest), "no .part left");

	/* an existing file is replaced (an unnamed file goes in as .part and is renamed over it) */
	CHECK(write_text(dest, "the previous download, longer than the new body and not to be kept at all......................................................"), "old.bin written");
	base_opts(&o, 946, url, dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "download over an existing file DONE");
	CHECK(file_is_pattern(dest, 100), "the existing file replaced by the new body");
	CHECK(!part_exists(dest), "no .part left after replacing");
	/* both: an existing file and a leftover .part of ours */
	CHECK(write_text(part, "old part"), "old .part written again");
	base_opts(&o, 946, url, dest);
	CHECK(run_one(pool, &o, &r) && r.state == TRANSFER_DONE, "download over a file and an old .part DONE");
	CHECK(file_is_pattern(dest, 100), "the file holds the new body");
	CHECK(!part_exists(dest), "no .part left after both");
	unlink(dest);

	/* the directory is held from the start: swapping it for a symbolic link changes nothing */
	set_dest(sub, sizeof(sub), "sub");
	set_dest(moved, sizeof(moved), "sub-moved");
	CHECK(mkdir(sub, 0700) == 0, "sub made");
	snprintf(dest, sizeof(dest), "%s/pin.bin", sub);
	set_url(url, sizeof(url), "/delay/300");
	base_opts(&o, 947, url, dest);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start a download into sub");
	CHECK(rename(sub, moved) == 0 && symlink(outdir, sub) == 0, "sub moved away and replaced by a link outside");
	CHECK(wait_result(pool, &r, 10000) && r.state == TRANSFER_DONE, "download into the moved directory DONE");
	snprintf(other, sizeof(other), "%s/pin.bin", moved);
	CHECK(file_is_pattern(other, 100), "the file is in the directory it was started in");
	snprintf(other, sizeof(other), "%s/pin.bin", outdir);
	CHECK(!file_exists(other), "nothing written through the link");
	snprintf(other, sizeof(other), "%s/pin.bin", moved);
	unlink(other);
	unlink(sub);
	rmdir(moved);
	unlink(outside);
}

/* test_cancel: cancel /slow after about 300 ms. */
static void
test_cancel(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r[4];
	char		url[256];
	char		dest[256];
	char		err[512];
	bool		retryable;
	int64_t		done = -2,
				total = -2;
	long long	t0;
	int			n;

	set_url(url, sizeof(url), "/slow");
	set_dest(dest, sizeof(dest), "slow.bin");
	base_opts(&o, 40, url, dest);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /slow");
	CHECK(wait_written(pool, 40, dest, 1000), "/slow is written while running (.part, or a file with no name yet)");
	t0 = now_ms();
	n = 0;
	while (now_ms() - t0 < 300)
		n += transfer_poll(pool, 50, r, 4);
	CHECK_INT(n, 0, "/slow still running after 300 ms");
	CHECK(transfer_progress(pool, 40, &done, &total), "progress of /slow");
	CHECK(done > 0 && done < 300, "progress: some bytes done");
	CHECK_INT(total, 300, "progress: total from Content-Length");
	CHECK(!transfer_progress(pool, 999, &done, &total), "no progress of an unknown job");

	CHECK(transfer_cancel(pool, 40), "cancel /slow");
	CHECK(!part_exists(dest), ".part removed at cancel");
	CHECK(!transfer_cancel(pool, 40), "second cancel is refused");
	CHECK(!transfer_cancel(pool, 999), "cancel of an unknown job is refused");
	CHECK_INT(transfer_count(pool), 1, "cancelled transfer counted until reported");
	t0 = now_ms();
	n = transfer_poll(pool, 5000, r, 4);
	CHECK_INT(n, 1, "cancel reported by one transfer_poll");
	CHECK(now_ms() - t0 < 1000, "without waiting for the poll timeout");
	CHECK_INT(r[0].job_id, 40, "cancelled job id");
	CHECK_INT(r[0].state, TRANSFER_CANCELLED, "CANCELLED");
	CHECK(!file_exists(dest) && !part_exists(dest), "cancelled: no file, no .part");
	CHECK_INT(transfer_count(pool), 0, "count back to 0");

	/*
	 * Cancelled at once after its start, while a sync thread may still be
	 * creating its .part: reported CANCELLED by the next poll, nothing left.
	 */
	base_opts(&o, 41, url, dest);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /slow again");
	CHECK(transfer_cancel(pool, 41), "cancel it at once");
	CHECK(!transfer_cancel(pool, 41), "a second cancel is refused");
	t0 = now_ms();
	n = transfer_poll(pool, 5000, r, 4);
	CHECK(n == 1 && r[0].job_id == 41 && r[0].state == TRANSFER_CANCELLED, "cancelled at once: reported CANCELLED");
	CHECK(now_ms() - t0 < 1000, "cancelled at once: without waiting for the poll timeout");
	CHECK(!file_exists(dest) && !part_exists(dest), "cancelled at once: no file, no .part");
	CHECK_INT(transfer_count(pool), 0, "count back to 0 again");

	/*
	 * A name the file system refuses when the thread tries (one byte too long
	 * once ".part" is added, or for an unnamed file's link at the end; the
	 * checks at the start pass): reported FAILED with the reason by
	 * transfer_poll, not retryable.
	 */
	{
		char		longdest[PATH_MAX];
		size_t		len;
		size_t		name = part_mode ? 251 : 256;

		snprintf(longdest, sizeof(longdest), "%s/", tmpdir);
		len = strlen(longdest);
		memset(longdest + len, 'n', name);
		longdest[len + name] = '\0';
		set_url(url, sizeof(url), "/ok/10");	/* an unnamed file fails only at its end */
		base_opts(&o, 42, url, longdest);
		CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "a file name too long starts");
		n = 0;
		t0 = now_ms();
		while (n == 0 && now_ms() - t0 < 5000)
			n = transfer_poll(pool, 100, r, 4);
		CHECK(n == 1 && r[0].job_id == 42 && r[0].state == TRANSFER_FAILED && !r[0].retryable,
			  "its name refused by the file system: FAILED, not retryable");
		CHECK(strstr(r[0].error, "cannot create") != NULL && strstr(r[0].error, "too long") != NULL,
			  "the refusal says why");
		printf("# %s\n", r[0].error);
		CHECK(!file_exists(longdest), "no file");
		CHECK_INT(transfer_count(pool), 0, "count back to 0 after the refusal");
	}

	t0 = now_ms();
	CHECK_INT(transfer_poll(pool, 2000, r, 4), 0, "poll of an empty pool");
	CHECK(now_ms() - t0 < 500, "an empty pool does not wait");
}

/* test_concurrent: 20 downloads through 4 connections, collected a few at a time. */
static void
test_concurrent(void)
{
	transfer_pool *pool = make_pool(4);
	transfer_opts o;
	transfer_result r[3];
	char		url[256];
	char		dest[20][256];
	char		err[512];
	char		sha[65];
	bool		retryable;
	bool		seen[20] = {false};
	int			started = 0;
	int			done = 0;
	int			right = 0;
	bool		too_many = false;
	long long	deadline;

	pattern_sha256(200000, sha);
	set_url(url, sizeof(url), "/ok/200000");
	for (int i = 0; i < 20; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "conc-%02d.bin", i);
		set_dest(dest[i], sizeof(dest[i]), name);
		base_opts(&o, 100 + i, url, dest[i]);
		o.expected_sha256 = sha;
		if (transfer_start(pool, &o, err, sizeof(err), &retryable))
			started++;
	}
	CHECK_INT(started, 20, "20 started");
	CHECK_INT(transfer_count(pool), 20, "20 counted");

	deadline = now_ms() + 10000;
	while (done < 20 && now_ms() < deadline)
	{
		int			n = transfer_poll(pool, 100, r, 3);

		if (n > 3)
			too_many = true;
		for (int k = 0; k < n; k++)
		{
			int			i = (int) (r[k].job_id - 100);

			done++;
			if (i >= 0 && i < 20 && !seen[i] && r[k].state == TRANSFER_DONE &&
				strcmp(r[k].sha256, sha) == 0 && file_is_pattern(dest[i], 200000) &&
				!part_exists(dest[i]))
				right++;
			if (i >= 0 && i < 20)
				seen[i] = true;
		}
	}
	CHECK(!too_many, "poll hands out at most max results");
	CHECK_INT(done, 20, "20 results");
	CHECK_INT(right, 20, "20 DONE with the right bytes and checksum");
	CHECK_INT(transfer_count(pool), 0, "none left");
	for (int i = 0; i < 20; i++)
		unlink(dest[i]);
	transfer_pool_destroy(pool);
}

/*
 * test_many_small: many small downloads started at once on a pool of 4,
 * from a server that keeps connections alive: every one is reported DONE
 * only with its file synced and renamed (the sync threads run them in
 * parallel), with the right bytes and no .part left, and the connections
 * are reused across transfers rather than opened per file.
 */
static void
test_many_small(void)
{
	transfer_pool *pool = make_pool(4);
	transfer_opts o;
	transfer_result r[8];
	char		url[256];
	char		dest[60][256];
	char		err[512];
	char		sha[65];
	bool		retryable;
	bool		seen[60] = {false};
	int			started = 0;
	int			done = 0;
	int			right = 0;
	int			before = conns_of(server_port);
	long long	deadline;

	pattern_sha256(10240, sha);
	set_url(url, sizeof(url), "/keep/10240");
	for (int i = 0; i < 60; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "small-%02d.bin", i);
		set_dest(dest[i], sizeof(dest[i]), name);
		base_opts(&o, 300 + i, url, dest[i]);
		o.expected_sha256 = sha;
		if (transfer_start(pool, &o, err, sizeof(err), &retryable))
			started++;
	}
	CHECK_INT(started, 60, "60 small downloads started");
	deadline = now_ms() + 20000;
	while (done < 60 && now_ms() < deadline)
	{
		int			n = transfer_poll(pool, 100, r, 8);

		for (int k = 0; k < n; k++)
		{
			int			i = (int) (r[k].job_id - 300);

			done++;
			/* reported only once renamed: the file is there, whole, and its .part gone */
			if (i >= 0 && i < 60 && !seen[i] && r[k].state == TRANSFER_DONE &&
				strcmp(r[k].sha256, sha) == 0 && file_is_pattern(dest[i], 10240) &&
				!part_exists(dest[i]))
				right++;
			if (i >= 0 && i < 60)
				seen[i] = true;
		}
	}
	CHECK_INT(done, 60, "60 results");
	CHECK_INT(right, 60, "60 DONE, each file in place with the right bytes when reported");
	CHECK_INT(transfer_count(pool), 0, "none left");
	CHECK(conns_of(server_port) - before <= 8,
		  "connections reused across transfers (at most 8 opened for 60 downloads)");
	for (int i = 0; i < 60; i++)
		unlink(dest[i]);
	transfer_pool_destroy(pool);
}

/*
 * test_large: bodies of many staging slots, several at once (their slots
 * interleave in the hash helper's queue), one cancelled and one refused
 * for size while slots of theirs may still be queued.
 */
static void
test_large(void)
{
	transfer_pool *pool = make_pool(8);
	transfer_opts o;
	transfer_result r[8];
	char		url[256];
	char		dest[8][256];
	char		err[512];
	char		sha[65];
	char		sha_nolen[65];
	bool		retryable;
	int			got = 0;
	int			right = 0;
	int64_t		done = 0,
				total = 0;
	long long	deadline;
	transfer_state state[8];

	pattern_sha256(3000017, sha);
	pattern_sha256(2500001, sha_nolen);
	for (int i = 0; i < 8; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "large-%d.bin", i);
		set_dest(dest[i], sizeof(dest[i]), name);
		state[i] = TRANSFER_RUNNING;
	}
	for (int i = 0; i < 5; i++)
	{
		set_url(url, sizeof(url), "/ok/3000017");
		base_opts(&o, 200 + i, url, dest[i]);
		o.expected_sha256 = sha;
		CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /ok/3000017");
	}
	set_url(url, sizeof(url), "/nolen/2500001");
	base_opts(&o, 205, url, dest[5]);
	o.expected_sha256 = sha_nolen;
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /nolen/2500001");
	set_url(url, sizeof(url), "/stall/3000000");
	base_opts(&o, 206, url, dest[6]);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /stall/3000000");
	set_url(url, sizeof(url), "/nolen/3000000");
	base_opts(&o, 207, url, dest[7]);
	o.max_bytes = 2000000;
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /nolen/3000000 with max_bytes 2000000");

	deadline = now_ms() + 10000;
	while (got < 8 && now_ms() < deadline)
	{
		int			n = transfer_poll(pool, 100, r, 8);

		for (int k = 0; k < n; k++)
		{
			int			i = (int) (r[k].job_id - 200);

			got++;
			if (i < 0 || i >= 8)
				continue;
			state[i] = r[k].state;
			if (i < 5 && r[k].state == TRANSFER_DONE && strcmp(r[k].sha256, sha) == 0 &&
				r[k].bytes == 3000017 && file_is_pattern(dest[i], 3000017))
				right++;
			if (i == 5 && r[k].state == TRANSFER_DONE && strcmp(r[k].sha256, sha_nolen) == 0 &&
				file_is_pattern(dest[i], 2500001))
				right++;
			if (i == 7)
				CHECK_STR(r[k].error, "response larger than max_bytes (2000000)", "large body over max_bytes refused");
		}
		/* once the stalled one has all it will get, cancel it */
		if (state[6] == TRANSFER_RUNNING && transfer_progress(pool, 206, &done, &total) &&
			done == 3000000)
		{
			CHECK_INT(total, 6000000, "stalled: total from Content-Length");
			CHECK(transfer_cancel(pool, 206), "cancel the stalled download");
			state[6] = TRANSFER_CANCELLED;
		}
	}
	CHECK_INT(got, 8, "8 large results");
	CHECK_INT(right, 6, "6 large downloads DONE with the right bytes and checksum");
	CHECK_INT(state[6], TRANSFER_CANCELLED, "stalled download cancelled");
	CHECK_INT(state[7], TRANSFER_FAILED, "over max_bytes FAILED");
	CHECK(!file_exists(dest[6]) && !part_exists(dest[6]), "cancelled: no file, no .part");
	CHECK(!file_exists(dest[7]) && !part_exists(dest[7]), "too large: no file, no .part");
	for (int i = 0; i < 8; i++)
		unlink(dest[i]);
	transfer_pool_destroy(pool);
}

/* test_destroy: destroying a pool stops what runs and removes the .part files. */
static void
test_destroy(void)
{
	transfer_pool *pool = make_pool(2);
	transfer_opts o;
	transfer_result r;
	char		url[256];
	char		dest[256];
	char		dest2[256];
	char		err[512];
	bool		retryable;

	CHECK(transfer_pool_create(0) == NULL, "max_concurrent 0 refused");
	set_url(url, sizeof(url), "/slow");
	set_dest(dest, sizeof(dest), "destroy.bin");
	base_opts(&o, 50, url, dest);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /slow");
	set_url(url, sizeof(url), "/ok/10");
	set_dest(dest2, sizeof(dest2), "destroy2.bin");
	base_opts(&o, 51, url, dest2);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start /ok/10");
	transfer_poll(pool, 200, &r, 0);	/* let them run, collect nothing */
	transfer_poll(pool, 200, &r, 0);
	CHECK(part_mode ? part_exists(dest) : !part_exists(dest) && !file_exists(dest),
		  "/slow is written (.part, or a file with no name)");
	transfer_pool_destroy(pool);
	CHECK(!part_exists(dest) && !file_exists(dest), "destroy removed the .part");
	unlink(dest2);
	transfer_pool_destroy(NULL);
}

/* write_pattern_file writes the first n pattern bytes to path; 1 on success. */
static int
write_pattern_file(const char *path, size_t n)
{
	FILE	   *f = fopen(path, "wb");
	int			ok;

	if (f == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		putc(pattern_byte(i), f);
	ok = fclose(f) == 0;
	return ok;
}

/* stored_is_pattern: the upload server stored name with the first n pattern bytes. */
static int
stored_is_pattern(const char *name, size_t n)
{
	char		file[512];

	stored_path(name, file, sizeof(file));
	return file_is_pattern(file, n);
}

static int
stored_exists(const char *name)
{
	char		file[512];

	stored_path(name, file, sizeof(file));
	return file_exists(file);
}

/* read_log reads srvdir/log into buf ("" when none). */
static void
read_log(char *buf, size_t len)
{
	char		path[128];
	FILE	   *f;
	size_t		n = 0;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/log", srvdir);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* up_opts fills the options every upload test starts from. */
static void
up_opts(transfer_upload_opts *o, int64_t job_id, transfer_upload_target target, const char *url, const char *src)
{
	memset(o, 0, sizeof(*o));
	o->job_id = job_id;
	o->target = target;
	o->url = url;
	o->src_path = src;
	o->user_agent = "pg_mlops-test/1";
	o->connect_timeout_s = 5;
}

/* run_upload starts one upload and waits for its result; 0 when it could not start. */
static int
run_upload(transfer_pool *pool, const transfer_upload_opts *o, transfer_result *res)
{
	char		err[512];
	bool		retryable;

	memset(res, 0, sizeof(*res));
	if (!transfer_start_upload(pool, o, err, sizeof(err), &retryable))
	{
		printf("# transfer_start_upload: %s\n", err);
		return 0;
	}
	return wait_result(pool, res, 10000);
}

/* test_upload_http: plain PUTs, a HEAD that disagrees, bearer and basic auth, refusals. */
static void
test_upload_http(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r;
	char		want[512];
	char		url[256];
	char		src[256];
	char		empty[256];
	char		link[256];
	char		sha[65];
	char		err[512];
	bool		retryable = true;
	int64_t		done = -2,
				total = -2;

	pattern_sha256(300001, sha);
	set_dest(src, sizeof(src), "up-src.bin");
	set_dest(empty, sizeof(empty), "up-empty.bin");
	set_dest(link, sizeof(link), "up-link.bin");
	CHECK(write_pattern_file(src, 300001) && write_pattern_file(empty, 0), "upload sources written");
	CHECK(symlink(src, link) == 0, "symlink to the source made");

	set_url(url, sizeof(url), "/up/plain.bin");
	up_opts(&o, 300, UPLOAD_HTTP, url, src);
	o.compute_sha256 = true;
	CHECK(run_upload(pool, &o, &r), "put /up/plain.bin finished");
	CHECK_INT(r.job_id, 300, "upload result carries the job id");
	CHECK_INT(r.state, TRANSFER_DONE, "put DONE");
	CHECK_STR(r.error, "", "put: no error");
	CHECK_INT(r.http_status, 200, "put: status of the last request (HEAD)");
	CHECK_INT(r.bytes, 300001, "put: bytes is the file size");
	CHECK_STR(r.sha256, sha, "put: sha256 of the file");
	CHECK_STR(r.etag, "v2", "put: etag (from the HEAD)");
	CHECK(ends_with(r.effective_url, "/up/plain.bin"), "put: effective url");
	CHECK(stored_is_pattern("plain.bin", 300001), "put: the server holds the same bytes");
	CHECK(file_is_pattern(src, 300001), "put: the source is untouched");
	CHECK(!transfer_progress(pool, 300, &done, &total), "no progress once reported");

	set_url(url, sizeof(url), "/up/empty.bin");
	up_opts(&o, 301, UPLOAD_HTTP, url, empty);
	o.compute_sha256 = true;
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_DONE, "put of an empty file DONE");
	CHECK_STR(r.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty file sha256");
	CHECK(stored_exists("empty.bin") && stored_is_pattern("empty.bin", 0), "empty file stored empty");

	set_url(url, sizeof(url), "/lie/lie.bin");
	up_opts(&o, 302, UPLOAD_HTTP, url, src);
	CHECK(run_upload(pool, &o, &r), "put /lie finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "head reporting another size: FAILED");
	CHECK(strncmp(r.error, "head failed: the server reports 300002 bytes", 44) == 0, "head size mismatch message");
	printf("# /lie: %s\n", r.error);
	CHECK_STR(r.sha256, "", "no sha256 when FAILED");

	set_url(url, sizeof(url), "/bearer/b.bin");
	up_opts(&o, 303, UPLOAD_HTTP, url, src);
	o.bearer_token = "tok-123";
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_DONE, "bearer token right: DONE");
	CHECK(stored_is_pattern("b.bin", 300001), "bearer: stored");
	CHECK_STR(r.sha256, "", "bearer: no sha256 unless asked");
	up_opts(&o, 304, UPLOAD_HTTP, url, src);
	o.bearer_token = "tok-WRONG-777";
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED, "bearer token wrong: FAILED");
	snprintf(want, sizeof(want), "the credentials were refused by 127.0.0.1:%d (put /bearer/b.bin): http status 401", server_port);
	CHECK_STR(r.error, want, "bearer wrong: the host and the request are named");
	CHECK(!r.retryable, "401 not retryable");
	CHECK(strstr(r.error, "tok-WRONG") == NULL && strstr(r.effective_url, "tok-WRONG") == NULL, "no token in the result");

	/* basic auth */
	set_url(url, sizeof(url), "/auth/basic.bin");
	up_opts(&o, 305, UPLOAD_HTTP, url, src);
	o.username = "alice";
	o.password = "s3cret-pw";
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_DONE, "basic auth right: DONE");
	CHECK(stored_is_pattern("basic.bin", 300001), "basic auth: stored");
	set_url(url, sizeof(url), "/auth/denied.bin");
	up_opts(&o, 306, UPLOAD_HTTP, url, src);
	o.username = "alice";
	o.password = "wrong-pw-XYZ";
	CHECK(run_upload(pool, &o, &r), "basic auth wrong: finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "basic auth wrong: FAILED");
	CHECK_INT(r.http_status, 401, "basic auth wrong: status 401");
	CHECK(!r.retryable, "basic auth wrong: not retryable");
	snprintf(want, sizeof(want), "the credentials were refused by 127.0.0.1:%d (put /auth/denied.bin): http status 401", server_port);
	CHECK_STR(r.error, want, "basic auth wrong: the host and the request are named");
	CHECK(strstr(r.error, "wrong-pw") == NULL && strstr(r.effective_url, "wrong-pw") == NULL, "no password in the result");
	CHECK(!stored_exists("denied.bin"), "basic auth wrong: nothing stored");

	/* credentials in the url are refused (they belong in the options) and not repeated */
	snprintf(url, sizeof(url), "http://alice:s3cret-pw@127.0.0.1:%d/auth/inurl.bin", server_port);
	up_opts(&o, 307, UPLOAD_HTTP, url, src);
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "credentials in the url: refused");
	CHECK(!retryable, "credentials in the url: not retryable");
	CHECK_STR(err, "url must not hold a user name or password", "credentials in the url: message");
	CHECK(!stored_exists("inurl.bin"), "credentials in the url: nothing stored");
	snprintf(url, sizeof(url), "http://alice@127.0.0.1:%d/auth/inurl2.bin", server_port);
	up_opts(&o, 308, UPLOAD_HTTP, url, src);
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "a user name alone in the url: refused");

	/* a 5xx is retryable and names the step */
	set_url(url, sizeof(url), "/status/503");
	up_opts(&o, 309, UPLOAD_HTTP, url, src);
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED, "put to a 503: FAILED");
	CHECK(r.retryable, "put to a 503: retryable");
	printf("# 503: %s\n", r.error);

	/* a closed port */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/up/x", closed_port());
	up_opts(&o, 310, UPLOAD_HTTP, url, src);
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED && r.retryable, "put to a closed port: FAILED, retryable");
	CHECK(strncmp(r.error, "put failed: ", 12) == 0, "closed port: the step is named");

	/* refusals */
	set_url(url, sizeof(url), "/up/refused.bin");
	up_opts(&o, 311, UPLOAD_HTTP, "ftp://127.0.0.1/x", src);
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable) && !retryable, "upload refuses ftp://");
	up_opts(&o, 311, UPLOAD_HTTP, url, "relative.bin");
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "upload refuses a relative src_path");
	up_opts(&o, 311, UPLOAD_HTTP, url, link);
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "upload refuses a symbolic link");
	CHECK(strstr(err, "symbolic link") != NULL, "symbolic link: message");
	up_opts(&o, 311, UPLOAD_HTTP, url, tmpdir);
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "upload refuses a directory");
	set_dest(empty, sizeof(empty), "no-such-file");
	up_opts(&o, 311, UPLOAD_HTTP, url, empty);
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "upload refuses a missing file");
	up_opts(&o, 311, UPLOAD_S3, url, src);
	o.s3_access_key = "AKTEST";
	o.s3_secret_key = "zzz";
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "s3 upload refuses no region");
	o.s3_region = "us-east-1";
	o.s3_part_size = 1000;
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "s3 upload refuses parts under 5 MiB");
	CHECK_INT(transfer_count(pool), 0, "nothing started by upload refusals");

	unlink(link);
	unlink(src);
	set_dest(empty, sizeof(empty), "up-empty.bin");
	unlink(empty);
}

/* test_upload_webdav: MKCOL parents first, again (405 accepted), wrong password, refused MKCOL. */
static void
test_upload_webdav(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r;
	char		want[512];
	char		url[256];
	char		c1[256];
	char		c2[256];
	char		src[256];
	char		log[4096];
	char		sha[65];
	const char *cols[3] = {c1, c2, NULL};

	set_dest(src, sizeof(src), "dav-src.bin");
	CHECK(write_pattern_file(src, 70000), "dav source written");
	set_url(c1, sizeof(c1), "/auth/a");
	set_url(c2, sizeof(c2), "/auth/a/b");
	set_url(url, sizeof(url), "/auth/a/b/f.bin");

	/* wrong password first: no MKCOL gets through, nothing stored */
	up_opts(&o, 320, UPLOAD_WEBDAV, url, src);
	o.username = "alice";
	o.password = "wrong-pw-XYZ";
	o.mkcol_urls = cols;
	o.credential_name = "dav-cred";
	CHECK(run_upload(pool, &o, &r), "webdav wrong password: finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "webdav wrong password: FAILED");
	snprintf(want, sizeof(want), "credential \"dav-cred\" was refused by 127.0.0.1:%d (mkcol /auth/a): http status 401", server_port);
	CHECK_STR(r.error, want, "webdav wrong password: the credential, the host and the request are named");
	CHECK(!r.retryable, "webdav wrong password: not retryable");
	CHECK(strstr(r.error, "wrong-pw") == NULL && strstr(r.effective_url, "wrong-pw") == NULL, "webdav: no password in the result");
	read_log(log, sizeof(log));
	CHECK_STR(log, "", "webdav wrong password: no collection made");
	CHECK(!stored_exists("a/b/f.bin"), "webdav wrong password: nothing stored");

	up_opts(&o, 321, UPLOAD_WEBDAV, url, src);
	o.username = "alice";
	o.password = "s3cret-pw";
	o.mkcol_urls = cols;
	o.compute_sha256 = true;
	CHECK(run_upload(pool, &o, &r), "webdav upload finished");
	CHECK_INT(r.state, TRANSFER_DONE, "webdav upload DONE");
	pattern_sha256(70000, sha);
	CHECK_STR(r.sha256, sha, "webdav: sha256 of the file, when asked");
	read_log(log, sizeof(log));
	CHECK_STR(log, "MKCOL /auth/a\nMKCOL /auth/a/b\n", "webdav: MKCOL of each collection, parents first");
	CHECK(stored_is_pattern("a/b/f.bin", 70000), "webdav: the server holds the same bytes");

	up_opts(&o, 322, UPLOAD_WEBDAV, url, src);
	o.username = "alice";
	o.password = "s3cret-pw";
	o.mkcol_urls = cols;
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_DONE, "webdav again (405 for existing collections): DONE");
	read_log(log, sizeof(log));
	CHECK_STR(log, "MKCOL /auth/a\nMKCOL /auth/a/b\nMKCOL /auth/a\nMKCOL /auth/a/b\n", "webdav again: both MKCOLs sent");

	set_url(c1, sizeof(c1), "/forbid/x");
	cols[1] = NULL;
	up_opts(&o, 323, UPLOAD_WEBDAV, url, src);
	o.username = "alice";
	o.password = "s3cret-pw";
	o.mkcol_urls = cols;
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED, "mkcol refused with 403: FAILED");
	snprintf(want, sizeof(want), "the credentials were refused by 127.0.0.1:%d (mkcol /forbid/x): http status 403", server_port);
	CHECK_STR(r.error, want, "mkcol 403 message");
	CHECK(!r.retryable, "mkcol 403 not retryable");
	unlink(src);
}

/* test_upload_s3_fake: SigV4 and x-amz-content-sha256 as the fake server sees them; an ETag that is not the MD5. */
static void
test_upload_s3_fake(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r;
	char		url[256];
	char		src[256];

	set_dest(src, sizeof(src), "s3-src.bin");
	CHECK(write_pattern_file(src, 100000), "s3 source written");
	set_url(url, sizeof(url), "/s3/bucket-key.bin");
	up_opts(&o, 330, UPLOAD_S3, url, src);
	o.s3_region = "us-east-1";
	o.s3_access_key = "AKTEST";
	o.s3_secret_key = "S3-secret-zz";
	CHECK(run_upload(pool, &o, &r), "s3 put finished");
	CHECK_INT(r.state, TRANSFER_DONE, "s3 put signed with the body's sha256: DONE");
	CHECK(stored_is_pattern("bucket-key.bin", 100000), "s3 put: stored");
	printf("# s3: %s\n", r.error);

	set_url(url, sizeof(url), "/s3bad/k.bin");
	up_opts(&o, 331, UPLOAD_S3, url, src);
	o.s3_region = "us-east-1";
	o.s3_access_key = "AKTEST";
	o.s3_secret_key = "S3-secret-zz";
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED, "s3 put with an etag that is not the md5: FAILED");
	CHECK(strstr(r.error, "is not the file's md5") != NULL, "etag mismatch message");
	CHECK(strstr(r.error, "S3-secret") == NULL, "no secret key in the message");
	printf("# s3bad: %s\n", r.error);
	unlink(src);
}

/* test_upload_cancel: cancel an upload the server stopped reading. */
static void
test_upload_cancel(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r[4];
	char		url[256];
	char		src[256];
	char		err[512];
	bool		retryable;
	int64_t		done = -2,
				total = -2;
	long long	t0;
	int			n = 0;
	const size_t size = 32 * 1024 * 1024;

	set_dest(src, sizeof(src), "hang-src.bin");
	CHECK(write_pattern_file(src, size), "32 MiB source written");
	set_url(url, sizeof(url), "/hang/h.bin");
	up_opts(&o, 340, UPLOAD_HTTP, url, src);
	o.username = "alice";
	o.password = "s3cret-pw";
	CHECK(transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "start the upload to /hang");
	t0 = now_ms();
	while (now_ms() - t0 < 400)
		n += transfer_poll(pool, 50, r, 4);
	CHECK_INT(n, 0, "upload to /hang still running after 400 ms");
	CHECK(transfer_progress(pool, 340, &done, &total), "progress of the upload");
	CHECK(done > 0 && done < (int64_t) size, "upload progress: some bytes sent");
	printf("# sent %lld of %lld\n", (long long) done, (long long) total);
	CHECK_INT(total, size, "upload progress: total is the file size");
	CHECK(transfer_cancel(pool, 340), "cancel the upload");
	CHECK(!transfer_cancel(pool, 340), "second cancel refused");
	t0 = now_ms();
	n = transfer_poll(pool, 5000, r, 4);
	CHECK_INT(n, 1, "cancelled upload reported by one poll");
	CHECK(now_ms() - t0 < 1000, "cancelled upload reported at once");
	CHECK_INT(r[0].state, TRANSFER_CANCELLED, "upload CANCELLED");
	CHECK(strstr(r[0].effective_url, "s3cret") == NULL, "cancelled: no password in the result");
	CHECK_INT(transfer_count(pool), 0, "no upload left");
	unlink(src);
}

/* MP_PART and MP_SIZE: the multipart tests' part size (S3's least) and file, three parts. */
#define MP_PART		(5 * 1024 * 1024)
#define MP_SIZE		(2 * MP_PART + 12345)

/* clear_log empties the upload server's log. */
static void
clear_log(void)
{
	char		path[128];

	snprintf(path, sizeof(path), "%s/log", srvdir);
	unlink(path);
}

/* log_has: the upload server's log holds the line (given without its newline). */
static int
log_has(const char *line)
{
	char		log[8192];
	char		want[300];

	read_log(log, sizeof(log));
	snprintf(want, sizeof(want), "\n%s\n", line);
	return strncmp(log, want + 1, strlen(want + 1)) == 0 || strstr(log, want) != NULL;
}

/* init_id finds the upload id the server gave name ("" when it gave none). */
static void
init_id(const char *name, char *id, size_t idlen)
{
	char		log[8192];
	char		want[200];
	const char *p;

	read_log(log, sizeof(log));
	snprintf(want, sizeof(want), "INIT %s ", name);
	p = strstr(log, want);
	id[0] = '\0';
	if (p != NULL)
		snprintf(id, idlen, "%.*s", (int) strcspn(p + strlen(want), "\n"), p + strlen(want));
}

/* mp_opts: an S3 multipart upload of src to /s3mp/<name>, parts of MP_PART bytes. */
static void
mp_opts(transfer_upload_opts *o, int64_t job_id, char *url, size_t urllen, const char *name, const char *src)
{
	char		path[128];

	snprintf(path, sizeof(path), "/s3mp/%s", name);
	set_url(url, urllen, path);
	up_opts(o, job_id, UPLOAD_S3, url, src);
	o->s3_region = "us-east-1";
	o->s3_access_key = "AKTEST";
	o->s3_secret_key = "S3-secret-zz";
	o->s3_part_size = MP_PART;
}

/*
 * start_until_part2 starts a multipart upload and polls until its first
 * part is stored (so it has an UploadId and is sending part 2); 1 when it
 * got there with no result yet.
 */
static int
start_until_part2(transfer_pool *pool, const transfer_upload_opts *o)
{
	char		err[512];
	bool		retryable;
	transfer_result r;
	int64_t		done = 0;
	long long	t0 = now_ms();

	if (!transfer_start_upload(pool, o, err, sizeof(err), &retryable))
	{
		printf("# transfer_start_upload: %s\n", err);
		return 0;
	}
	while (now_ms() - t0 < 10000)
	{
		if (transfer_poll(pool, 50, &r, 1) != 0)
		{
			printf("# ended early: %s\n", r.error);
			return 0;
		}
		if (transfer_progress(pool, o->job_id, &done, NULL) && done > MP_PART)
			return 1;
	}
	return 0;
}

/* test_upload_s3_multipart: three parts and a complete; a failed part is aborted. */
static void
test_upload_s3_multipart(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r;
	char		url[256];
	char		src[256];
	char		sha[65];
	char		id[64];
	char		line[128];

	set_dest(src, sizeof(src), "mp-src.bin");
	CHECK(write_pattern_file(src, MP_SIZE), "multipart source written");
	pattern_sha256(MP_SIZE, sha);
	clear_log();

	mp_opts(&o, 350, url, sizeof(url), "ok-a.bin", src);
	CHECK(run_upload(pool, &o, &r), "s3 multipart upload finished");
	CHECK_INT(r.state, TRANSFER_DONE, "s3 multipart upload DONE");
	CHECK_STR(r.error, "", "s3 multipart: no error");
	CHECK_INT(r.bytes, MP_SIZE, "s3 multipart: bytes");
	CHECK_STR(r.sha256, sha, "s3 multipart: sha256 of the file");
	CHECK_STR(r.etag, "final-3", "s3 multipart: the etag the complete returned");
	init_id("ok-a.bin", id, sizeof(id));
	CHECK(id[0] != '\0', "s3 multipart: initiated");
	snprintf(line, sizeof(line), "PART 3 %s", id);
	CHECK(log_has(line), "s3 multipart: part 3 sent with the upload id");
	snprintf(line, sizeof(line), "COMPLETE %s", id);
	CHECK(log_has(line), "s3 multipart: completed");
	snprintf(line, sizeof(line), "ABORT %s", id);
	CHECK(!log_has(line), "s3 multipart: not aborted");

	mp_opts(&o, 351, url, sizeof(url), "fail2-b.bin", src);
	CHECK(run_upload(pool, &o, &r), "s3 multipart with a failing part finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "part 2 refused with 503: FAILED");
	CHECK_STR(r.error, "s3 upload part 2 failed: http status 503", "the failed part is named");
	CHECK(r.retryable, "503 retryable");
	CHECK_INT(r.http_status, 503, "the failed part's status, not the abort's");
	init_id("fail2-b.bin", id, sizeof(id));
	snprintf(line, sizeof(line), "ABORT %s", id);
	CHECK(id[0] != '\0' && log_has(line), "failed multipart upload aborted with its upload id");
	CHECK_INT(transfer_count(pool), 0, "nothing left after the failure");
	unlink(src);
}

/*
 * test_upload_s3_hashing: an S3 upload hashes its file on a thread of its own
 * before its first request; meanwhile a download runs to its end, and a
 * cancel ends the upload at the next poll, before any request of it.  A
 * 2 GiB sparse file takes seconds to hash (longer under ASan), a 100 kB
 * download milliseconds.
 */
static void
test_upload_s3_hashing(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_opts d;
	transfer_result r[4];
	char		url[256];
	char		dlurl[256];
	char		src[256];
	char		dest[256];
	char		err[512];
	char		log[8192];
	bool		retryable;
	bool		download_done = false;
	bool		upload_done = false;
	long long	t0;
	int			fd;
	int			n;

	set_dest(src, sizeof(src), "sparse-src.bin");
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 2LL * 1024 * 1024 * 1024) == 0, "2 GiB sparse source made");
	if (fd >= 0)
		close(fd);
	clear_log();
	set_url(url, sizeof(url), "/s3mp/sparse.bin");
	up_opts(&o, 360, UPLOAD_S3, url, src);
	o.s3_region = "us-east-1";
	o.s3_access_key = "AKTEST";
	o.s3_secret_key = "S3-secret-zz";
	o.s3_part_size = MP_PART;
	CHECK(transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "s3 upload of the sparse file started");

	set_url(dlurl, sizeof(dlurl), "/ok/100000");
	set_dest(dest, sizeof(dest), "during-hash.bin");
	base_opts(&d, 361, dlurl, dest);
	CHECK(transfer_start(pool, &d, err, sizeof(err), &retryable), "a download started meanwhile");
	t0 = now_ms();
	while (!download_done && now_ms() - t0 < 20000)
	{
		n = transfer_poll(pool, 100, r, 4);
		for (int i = 0; i < n; i++)
		{
			if (r[i].job_id == 361)
				download_done = r[i].state == TRANSFER_DONE;
			if (r[i].job_id == 360)
				upload_done = true;
		}
	}
	CHECK(download_done, "the download ended while the upload hashed");
	CHECK(!upload_done, "the upload had not ended then");
	read_log(log, sizeof(log));
	CHECK(strstr(log, "sparse.bin") == NULL, "no request of the upload had reached the server: it was still hashing");
	CHECK(transfer_cancel(pool, 360), "cancel the upload while it hashes");
	n = transfer_poll(pool, 5000, r, 4);
	CHECK_INT(n, 1, "the cancelled upload is reported by the next poll");
	CHECK(n == 1 && r[0].job_id == 360 && r[0].state == TRANSFER_CANCELLED, "upload CANCELLED");
	read_log(log, sizeof(log));
	CHECK(strstr(log, "sparse.bin") == NULL, "the cancelled upload sent no request");
	CHECK_INT(transfer_count(pool), 0, "nothing left in the pool");
	unlink(dest);
	unlink(src);
}

/*
 * test_upload_s3_cancel: a cancelled multipart upload with an UploadId is
 * aborted before it is reported CANCELLED; an abort that gets no answer is
 * given up after TRANSFER_ABORT_TIMEOUT_MS without ever blocking a poll; an
 * upload cancelled before it had an UploadId is CANCELLED at once.
 */
static void
test_upload_s3_cancel(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r[4];
	char		url[256];
	char		src[256];
	char		id[64];
	char		line[128];
	char		err[512];
	bool		retryable;
	int64_t		done = -2,
				total = -2;
	long long	t0;
	long long	longest = 0;
	int			n = 0;
	bool		checked = false;

	set_dest(src, sizeof(src), "mpc-src.bin");
	CHECK(write_pattern_file(src, MP_SIZE), "multipart cancel source written");
	clear_log();

	/* part 2 is never answered: cancel while it is sent */
	mp_opts(&o, 360, url, sizeof(url), "hang2-c.bin", src);
	CHECK(start_until_part2(pool, &o), "multipart upload sending part 2");
	init_id("hang2-c.bin", id, sizeof(id));
	CHECK(id[0] != '\0', "it has an upload id");
	CHECK(transfer_cancel(pool, 360), "cancel the multipart upload");
	CHECK(!transfer_cancel(pool, 360), "second cancel refused while it aborts");
	t0 = now_ms();
	while (n == 0 && now_ms() - t0 < 8000)
		n = transfer_poll(pool, 100, r, 4);
	CHECK_INT(n, 1, "cancelled multipart upload reported");
	CHECK(now_ms() - t0 < 1000, "once the abort is answered (at once here)");
	CHECK_INT(r[0].state, TRANSFER_CANCELLED, "multipart upload CANCELLED");
	CHECK_STR(r[0].error, "", "abort answered 204: no error");
	CHECK_INT(r[0].bytes, MP_PART, "bytes: the part stored before the cancel");
	CHECK(!r[0].retryable, "cancelled: not retryable");
	snprintf(line, sizeof(line), "ABORT %s", id);
	CHECK(log_has(line), "the abort reached the server with the upload id");
	CHECK(strstr(r[0].effective_url, "uploadId") == NULL && ends_with(r[0].effective_url, "/s3mp/hang2-c.bin"),
		  "cancelled: effective url is the object's");
	CHECK_INT(transfer_count(pool), 0, "nothing left after the cancel");

	/* neither part 2 nor the abort is answered: the abort is given up */
	mp_opts(&o, 361, url, sizeof(url), "hangabort-d.bin", src);
	CHECK(start_until_part2(pool, &o), "second multipart upload sending part 2");
	init_id("hangabort-d.bin", id, sizeof(id));
	CHECK(transfer_cancel(pool, 361), "cancel it");
	t0 = now_ms();
	n = 0;
	while (n == 0 && now_ms() - t0 < 15000)
	{
		long long	p0 = now_ms();

		n = transfer_poll(pool, 100, r, 4);
		if (now_ms() - p0 > longest)
			longest = now_ms() - p0;
		if (n == 0 && !checked && now_ms() - t0 > 1000)
		{
			checked = true;
			CHECK(transfer_progress(pool, 361, &done, &total) && done >= MP_PART && total == MP_SIZE,
				  "progress while the abort runs");
			CHECK_INT(transfer_count(pool), 1, "the aborting upload is still counted");
			CHECK(!transfer_cancel(pool, 361), "cancel refused while the abort runs");
		}
	}
	CHECK_INT(n, 1, "cancelled upload with an unanswered abort reported");
	CHECK(checked, "it was looked at while the abort ran");
	printf("# reported after %lld ms; the longest poll took %lld ms\n", now_ms() - t0, longest);
	CHECK(now_ms() - t0 >= TRANSFER_ABORT_TIMEOUT_MS - 500 && now_ms() - t0 < TRANSFER_ABORT_TIMEOUT_MS + 2000,
		  "after the abort's time limit");
	CHECK(longest < 1000, "no poll blocked while the abort ran");
	CHECK_INT(r[0].state, TRANSFER_CANCELLED, "still CANCELLED");
	CHECK(strncmp(r[0].error, "s3 abort multipart upload failed: ", 34) == 0, "the error says the abort failed");
	printf("# %s\n", r[0].error);
	snprintf(line, sizeof(line), "ABORT %s", id);
	CHECK(id[0] != '\0' && log_has(line), "the abort was sent with the upload id");

	/* the initiation is never answered: no upload id, nothing to abort */
	mp_opts(&o, 362, url, sizeof(url), "hanginit-e.bin", src);
	CHECK(transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "start a multipart upload whose initiation hangs");
	t0 = now_ms();
	n = 0;
	while (now_ms() - t0 < 300)
		n += transfer_poll(pool, 50, r, 4);
	CHECK_INT(n, 0, "still initiating after 300 ms");
	CHECK(transfer_cancel(pool, 362), "cancel it");
	t0 = now_ms();
	n = transfer_poll(pool, 5000, r, 4);
	CHECK_INT(n, 1, "cancelled before the upload id: reported by one poll");
	CHECK(now_ms() - t0 < 1000, "at once");
	CHECK_INT(r[0].state, TRANSFER_CANCELLED, "CANCELLED");
	init_id("hanginit-e.bin", id, sizeof(id));
	snprintf(line, sizeof(line), "ABORT %s", id);
	CHECK(!log_has(line), "no abort without an upload id");
	CHECK_INT(transfer_count(pool), 0, "no upload left");
	unlink(src);
}

/* test_policy_uploads: uploads' URLs and every request's connection follow the policy. */
static void
test_policy_uploads(transfer_pool *pool)
{
	transfer_upload_opts o;
	transfer_result r;
	char		url[256];
	char		c1[256];
	char		src[256];
	char		err[512];
	char		want[256];
	char		hosts[64];
	bool		retryable = true;
	const char *cols[2] = {c1, NULL};
	netpolicy  *p;
	int			before;

	set_dest(src, sizeof(src), "pol-src.bin");
	CHECK(write_pattern_file(src, 1000), "policy upload source written");

	p = make_policy("", "127.0.0.0/8");
	set_url(url, sizeof(url), "/up/pol.bin");
	up_opts(&o, 930, UPLOAD_HTTP, url, src);
	o.policy = p;
	before = conns_of(server_port);
	CHECK(run_upload(pool, &o, &r), "put into a denied network finished");
	CHECK_INT(r.state, TRANSFER_FAILED, "put into a denied network: FAILED");
	CHECK(!r.retryable, "put into a denied network: not retryable");
	CHECK_STR(r.error, "put failed: connection to 127.0.0.1 refused: it is in mlops.denied_networks (127.0.0.0/8)",
			  "put into a denied network: message");
	CHECK(!stored_exists("pol.bin"), "put into a denied network: nothing stored");

	set_url(c1, sizeof(c1), "/auth/pol");
	set_url(url, sizeof(url), "/auth/pol/f.bin");
	up_opts(&o, 931, UPLOAD_WEBDAV, url, src);
	o.username = "alice";
	o.password = "s3cret-pw";
	o.mkcol_urls = cols;
	o.policy = p;
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "webdav into a denied network: FAILED");
	CHECK_STR(r.error, "mkcol failed: connection to 127.0.0.1 refused: it is in mlops.denied_networks (127.0.0.0/8)",
			  "webdav into a denied network: the mkcol is refused");

	set_url(url, sizeof(url), "/s3mp/pol.bin");
	up_opts(&o, 932, UPLOAD_S3, url, src);
	o.s3_region = "us-east-1";
	o.s3_access_key = "AKTEST";
	o.s3_secret_key = "S3-secret-zz";
	o.policy = p;
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_FAILED && !r.retryable, "s3 into a denied network: FAILED");
	CHECK_STR(r.error, "put failed: connection to 127.0.0.1 refused: it is in mlops.denied_networks (127.0.0.0/8)",
			  "s3 into a denied network: message");
	CHECK_INT(sentinel(pool, server_port) - before, 1, "uploads into a denied network: no connection made");
	netpolicy_free(p);

	/* allowed hosts: the object url and every mkcol url */
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", server2_port);
	p = make_policy(hosts, "");
	set_url(url, sizeof(url), "/up/pol.bin");
	up_opts(&o, 933, UPLOAD_HTTP, url, src);
	o.policy = p;
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable) && !retryable, "upload to a host not allowed refused");
	snprintf(want, sizeof(want), "host \"127.0.0.1:%d\" is not in mlops.allowed_hosts", server_port);
	CHECK_STR(err, want, "upload to a host not allowed: message");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/auth/pol/f.bin", server2_port);
	up_opts(&o, 934, UPLOAD_WEBDAV, url, src);
	o.mkcol_urls = cols;
	o.policy = p;
	CHECK(!transfer_start_upload(pool, &o, err, sizeof(err), &retryable), "mkcol url not allowed refused");
	snprintf(want, sizeof(want), "mkcol url 1: host \"127.0.0.1:%d\" is not in mlops.allowed_hosts", server_port);
	CHECK_STR(err, want, "mkcol url not allowed: message");
	netpolicy_free(p);

	/* allowed: works as without a policy */
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", server_port);
	p = make_policy(hosts, "169.254.0.0/16,fe80::/10");
	set_url(url, sizeof(url), "/up/pol-ok.bin");
	up_opts(&o, 935, UPLOAD_HTTP, url, src);
	o.policy = p;
	CHECK(run_upload(pool, &o, &r) && r.state == TRANSFER_DONE, "allowed upload with a policy DONE");
	CHECK(stored_is_pattern("pol-ok.bin", 1000), "allowed upload: stored");
	netpolicy_free(p);
	CHECK_INT(transfer_count(pool), 0, "no upload left");
	unlink(src);
}

/* remove_srvdir empties and removes the upload server's folder. */
static int
remove_srvdir(void)
{
	DIR		   *d = opendir(srvdir);
	struct dirent *de;
	char		path[600];

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", srvdir, de->d_name);
		if (unlink(path) != 0)
			rmdir(path);
	}
	closedir(d);
	return rmdir(srvdir);
}

/*
 * test_request_options: what the http and geocode kinds add to a download —
 * a request body (POST), a delayed start that makes no connection before
 * its time and is cancelled at once, and the Retry-After of a 429.
 */
static void
test_request_options(transfer_pool *pool)
{
	transfer_opts o;
	transfer_result r[4];
	char		url[256];
	char		dest[256];
	char		err[512];
	char		stored[512];
	bool		retryable;
	long long	t0;
	int			conns;
	int			n;
	FILE	   *f;
	char		buf[64] = "";

	/* a body, sent with POST */
	set_url(url, sizeof(url), "/up/posted.json");
	set_dest(dest, sizeof(dest), "posted.out");
	base_opts(&o, 70, url, dest);
	o.method = "POST";
	o.body = "{\"model\": \"m1\"}";
	CHECK(run_one(pool, &o, &r[0]) && r[0].state == TRANSFER_DONE && r[0].http_status == 201, "POST with a body DONE");
	unlink(dest);
	stored_path("posted.json", stored, sizeof(stored));
	f = fopen(stored, "r");
	if (f != NULL)
	{
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	CHECK(strcmp(buf, "{\"model\": \"m1\"}") == 0, "the server got the body");
	CHECK_INT(r[0].retry_after_s, -1, "no Retry-After: -1");

	/* Retry-After of a 429 */
	set_url(url, sizeof(url), "/retry-after");
	set_dest(dest, sizeof(dest), "ra.out");
	base_opts(&o, 71, url, dest);
	CHECK(run_one(pool, &o, &r[0]) && r[0].state == TRANSFER_FAILED && r[0].retryable, "429 FAILED, retryable");
	CHECK_INT(r[0].http_status, 429, "429 status");
	CHECK_INT(r[0].retry_after_s, 7, "Retry-After: 7 read");

	/* a delayed request: no connection before its time, then DONE */
	set_url(url, sizeof(url), "/ok/10");
	set_dest(dest, sizeof(dest), "delayed.bin");
	base_opts(&o, 72, url, dest);
	o.delay_ms = 400;
	conns = conns_of(server_port);
	t0 = now_ms();
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start a delayed request");
	n = transfer_poll(pool, 150, r, 4);
	CHECK(n == 0 && now_ms() - t0 >= 120, "transfer_poll waits while only a delayed request is due later");
	CHECK_INT(conns_of(server_port), conns, "no connection before the delay is over");
	CHECK(wait_result(pool, &r[0], 5000) && r[0].state == TRANSFER_DONE, "the delayed request DONE");
	CHECK(now_ms() - t0 >= 400, "not before its delay");
	CHECK(now_ms() - t0 < 2000, "soon after its delay");
	CHECK(file_is_pattern(dest, 10), "the delayed request's file");
	unlink(dest);

	/* a delayed request cancelled while it waits: reported at once, no connection made */
	set_dest(dest, sizeof(dest), "delayed2.bin");
	base_opts(&o, 73, url, dest);
	o.delay_ms = 30000;
	conns = conns_of(server_port);
	CHECK(transfer_start(pool, &o, err, sizeof(err), &retryable), "start a request delayed 30 s");
	CHECK_INT(transfer_count(pool), 1, "the waiting request counts as running");
	CHECK(transfer_cancel(pool, 73), "cancel it while it waits");
	t0 = now_ms();
	n = transfer_poll(pool, 5000, r, 4);
	CHECK(n == 1 && r[0].state == TRANSFER_CANCELLED && now_ms() - t0 < 500, "the cancel is reported by the next poll");
	CHECK_INT(conns_of(server_port), conns, "the cancelled request never connected");
	CHECK(!file_exists(dest) && !part_exists(dest), "cancelled while waiting: no file, no .part");
}

int
main(void)
{
	transfer_pool *pool;
	int			fds_before;

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_transfer.XXXXXX");
	snprintf(srvdir, sizeof(srvdir), "/tmp/test_transfer_srv.XXXXXX");
	snprintf(outdir, sizeof(outdir), "/tmp/test_transfer_out.XXXXXX");
	if (mkdtemp(tmpdir) == NULL || mkdtemp(srvdir) == NULL || mkdtemp(outdir) == NULL ||
		start_server(&server_port, &server_pid) != 0 || start_server(&server2_port, &server2_pid) != 0)
	{
		printf("Bail out! cannot set up: %s\n", strerror(errno));
		return 1;
	}
	CHECK(transfer_global_init(), "global init");
	/*
	 * The first pass writes unnamed files where this file system and /proc
	 * allow it (as the worker does); where they do not, the pool falls back
	 * to .part files, and so do this test's expectations (said, not hidden).
	 */
	{
		int			fd = open(tmpdir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		part_mode = fd < 0 || access("/proc/self/fd", X_OK) != 0;
		if (part_mode)
			printf("# no unnamed files here (O_TMPFILE in %s: %s): both passes use .part files\n",
				   tmpdir, fd < 0 ? strerror(errno) : "ok, but no /proc/self/fd");
	}
	fds_before = count_fds();

	test_check_url();
	pool = make_pool(4);
	CHECK(pool != NULL, "pool created");
	test_start_refusals(pool);
	test_ok(pool);
	test_status(pool);
	test_redirects(pool);
	test_limits(pool);
	test_cancel(pool);
	test_request_options(pool);
	test_policy_redirects(pool);
	test_policy_networks(pool);
	test_part_files(pool);
	test_upload_http(pool);
	test_upload_webdav(pool);
	test_upload_s3_fake(pool);
	test_upload_s3_multipart(pool);
	test_upload_s3_cancel(pool);
	test_upload_s3_hashing(pool);
	test_upload_cancel(pool);
	test_policy_uploads(pool);
	transfer_pool_destroy(pool);
	test_concurrent();
	test_many_small();
	test_large();
	test_destroy();

	/* the same downloads again the way of a file system without O_TMPFILE: "<dest>.part", renamed */
	part_mode = true;
	printf("# again with .part files\n");
	pool = make_pool(4);
	CHECK(pool != NULL, "pool created (.part files)");
	test_ok(pool);
	test_cancel(pool);
	test_part_files(pool);
	transfer_pool_destroy(pool);
	test_concurrent();
	test_destroy();

	CHECK_INT(count_fds(), fds_before, "no file descriptor left open");
	transfer_global_cleanup();
	stop_server(&server_pid);
	stop_server(&server2_pid);
	CHECK(rmdir(tmpdir) == 0, "test directory left empty");
	CHECK(rmdir(outdir) == 0, "outside directory left empty");
	CHECK(remove_srvdir() == 0, "upload server folder removed");
	return unit_done();
}
