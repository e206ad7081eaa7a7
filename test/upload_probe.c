/*
 * upload_probe.c — drives one upload through the transfer kernel
 * (src/jobs/transfer*.c), for test/integration/upload_servers.sh.
 *
 *	upload_probe http|webdav|s3 URL SRC [--user U] [--bearer T] [--mkcol URL]...
 *				 [--region R] [--access A] [--part-size BYTES] [--sha256]
 *				 [--cancel-after-bytes N] [--credential NAME]
 *
 * Secrets come from the environment, never from the command line:
 * UPLOAD_PASSWORD (basic auth) and UPLOAD_S3_SECRET (S3).  --sha256 asks for
 * the file's SHA-256 of an HTTP or WebDAV upload (S3 always has it).
 * --cancel-after-bytes cancels the upload (transfer_cancel) once its
 * progress has passed N bytes, as the worker does for a cancelled job.
 * Prints the result as key=value lines (state, retryable, http_status, bytes,
 * sha256, etag, effective_url, error, and after a cancel cancel_ms: how long
 * the result took to come); exits 0 when DONE, 1 when FAILED or CANCELLED, 2
 * when it could not start.
 *
 * Build: cc -std=c11 -O2 -Isrc -o upload_probe test/upload_probe.c
 *		  src/jobs/transfer*.c src/jobs/sigv4.c src/jobs/netpolicy.c src/util/sha256.c
 *		  src/util/md5.c src/util/errbuf.c -lcurl -pthread
 */
#define _POSIX_C_SOURCE 200809L

#include "jobs/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* now_ms is a monotonic clock in milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define MAX_MKCOL 32

int
main(int argc, char **argv)
{
	transfer_upload_opts o;
	transfer_pool *pool;
	transfer_result r;
	const char *mkcol[MAX_MKCOL + 1];
	int			nmkcol = 0;
	char		err[512];
	bool		retryable = false;
	long long	cancel_after = -1;
	long long	cancelled_at = -1;
	static const char *const states[] = {"RUNNING", "DONE", "FAILED", "CANCELLED"};

	if (argc < 4)
	{
		fprintf(stderr, "usage: %s http|webdav|s3 URL SRC [options]\n", argv[0]);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.job_id = 1;
	if (strcmp(argv[1], "http") == 0)
		o.target = UPLOAD_HTTP;
	else if (strcmp(argv[1], "webdav") == 0)
		o.target = UPLOAD_WEBDAV;
	else if (strcmp(argv[1], "s3") == 0)
		o.target = UPLOAD_S3;
	else
	{
		fprintf(stderr, "unknown target %s\n", argv[1]);
		return 2;
	}
	o.url = argv[2];
	o.src_path = argv[3];
	o.user_agent = "pg_mlops-upload-probe/1";
	o.connect_timeout_s = 10;
	o.low_speed_limit = 1;
	o.low_speed_time_s = 60;
	for (int i = 4; i < argc; i++)
	{
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--sha256") == 0)
		{
			o.compute_sha256 = true;
			continue;
		}
		if (v == NULL)
		{
			fprintf(stderr, "%s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--user") == 0)
			o.username = v;
		else if (strcmp(argv[i], "--bearer") == 0)
			o.bearer_token = v;
		else if (strcmp(argv[i], "--region") == 0)
			o.s3_region = v;
		else if (strcmp(argv[i], "--access") == 0)
			o.s3_access_key = v;
		else if (strcmp(argv[i], "--part-size") == 0)
			o.s3_part_size = atoll(v);
		else if (strcmp(argv[i], "--mkcol") == 0 && nmkcol < MAX_MKCOL)
			mkcol[nmkcol++] = v;
		else if (strcmp(argv[i], "--cancel-after-bytes") == 0)
			cancel_after = atoll(v);
		else if (strcmp(argv[i], "--credential") == 0)
			o.credential_name = v;
		else
		{
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
		i++;
	}
	mkcol[nmkcol] = NULL;
	if (nmkcol > 0)
		o.mkcol_urls = mkcol;
	if (o.username != NULL)
		o.password = getenv("UPLOAD_PASSWORD");
	o.s3_secret_key = getenv("UPLOAD_S3_SECRET");

	if (!transfer_global_init() || (pool = transfer_pool_create(1)) == NULL)
	{
		fprintf(stderr, "cannot set up libcurl\n");
		return 2;
	}
	if (!transfer_start_upload(pool, &o, err, sizeof(err), &retryable))
	{
		printf("state=REFUSED\nretryable=%d\nerror=%s\n", retryable ? 1 : 0, err);
		transfer_pool_destroy(pool);
		transfer_global_cleanup();
		return 2;
	}
	while (transfer_poll(pool, cancel_after >= 0 ? 20 : 1000, &r, 1) == 0)
	{
		int64_t		done = 0;

		if (cancel_after >= 0 && cancelled_at < 0 &&
			transfer_progress(pool, o.job_id, &done, NULL) && done > cancel_after)
		{
			if (!transfer_cancel(pool, o.job_id))
				fprintf(stderr, "transfer_cancel refused\n");
			cancelled_at = now_ms();
		}
	}
	printf("state=%s\nretryable=%d\nhttp_status=%ld\nbytes=%lld\nsha256=%s\netag=%s\neffective_url=%s\nerror=%s\n",
		   states[r.state], r.retryable ? 1 : 0, r.http_status, (long long) r.bytes,
		   r.sha256, r.etag, r.effective_url, r.error);
	if (cancelled_at >= 0)
		printf("cancel_ms=%lld\n", now_ms() - cancelled_at);
	transfer_pool_destroy(pool);
	transfer_global_cleanup();
	return r.state == TRANSFER_DONE ? 0 : 1;
}
