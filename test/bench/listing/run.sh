#!/usr/bin/env bash
# test/bench/listing/run.sh — a list job against the curl CLI a user would script instead
# (`make bench`, or BENCH=listing): 2,500 keys under a prefix of a local s3rver, listed with
# ListObjectsV2 at 1,000 keys a page (3 signed requests, continuation tokens followed), by a
# list job (its own time: finished_at - started_at) and by a shell loop of `curl --aws-sigv4`
# requests; then the parser alone on a 1,000-key page.  3 rounds; a throwaway cluster and
# s3rver, stopped by PID at the end.  About a minute.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
. test/lib/s3rver.sh

cluster_start --db mlops_bench --durable || exit 1
trap 's3rver_stop; cluster_stop' EXIT
psql -XAtq -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_mlops CASCADE' >/dev/null || exit 1
s3rver_start models >/dev/null || exit 1
psql -XAtq -o /dev/null -c "SELECT mlops.set_credential('s3', 's3', jsonb_build_object('endpoint', '$S3RVER_URL', 'bucket', 'models', 'region', 'us-east-1', 'access_key', '$S3RVER_ACCESS_KEY', 'secret_key', '$S3RVER_SECRET_KEY'))"
seq 1 2500 | xargs -P 8 -I{} curl -s -X PUT --data-binary x "$S3RVER_URL/models/set/img-{}.png" -o /dev/null

empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
for round in 1 2 3; do
  id=$(psql -XAtq -c "SELECT mlops.submit_job('list', '{\"credential\": \"s3\", \"prefix\": \"set/\"}')")
  psql -XAtq -c "SELECT mlops.wait_job($id, '120 seconds')" >/dev/null
  job=$(psql -XAtq -c "SELECT result->>'count' || ' objects in ' || (result->>'requests') || ' requests, ' || round(extract(epoch FROM finished_at - started_at) * 1000) FROM mlops.jobs WHERE id = $id AND state = 'succeeded'")
  start=$(date +%s%N); tok=; n=0; keys=0
  while :; do
    q="list-type=2&max-keys=1000&prefix=set%2F"
    [ -n "$tok" ] && q="continuation-token=$(/usr/bin/python3 -c 'import urllib.parse, sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$tok")&$q"
    body=$(curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3RVER_ACCESS_KEY:$S3RVER_SECRET_KEY" \
                -H "x-amz-content-sha256: $empty" "$S3RVER_URL/models?$q")
    n=$((n + 1)); keys=$((keys + $(grep -o '<Key>' <<<"$body" | wc -l)))
    tok=$(sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p' <<<"$body")
    [ -z "$tok" ] && break
  done
  cli=$(( ($(date +%s%N) - start) / 1000000 ))
  ms=${job##*, }
  echo "round $round: list job ${job} ms; curl loop $keys keys in $n requests, $cli ms; ratio curl/job $(echo "scale=2; $cli / ($ms + 0.001)" | bc)"
done

# the parser alone: a 1,000-key page read, sorted and written as JSON
bin=$(mktemp -d)
cat > "$bin/page.c" <<'C'
#include "jobs/listing.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(void)
{
	size_t n = 0; char *x = malloc(1 << 22); listing_page p; char err[256]; struct timespec a, b;
	n += sprintf(x + n, "<ListBucketResult><IsTruncated>false</IsTruncated>");
	for (int i = 0; i < 1000; i++)
		n += sprintf(x + n, "<Contents><Key>datasets/2026/batch-%04d/image-%06d.png</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified>"
					 "<ETag>&quot;900150983cd24fb0d6963f7d28e17f72&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>", i % 37, 999 - i, i * 13);
	n += sprintf(x + n, "</ListBucketResult>");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int r = 0; r < 200; r++)
	{
		listing l = {0};
		if (!listing_parse_s3(&l, x, n, &p, err, sizeof err)) { puts(err); return 1; }
		listing_page_free(&p); listing_sort(&l); free(listing_json(&l)); listing_free(&l);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("parser: a %zu-byte page of 1,000 keys read, sorted and written as JSON in %.2f ms\n", n,
		   ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9) / 200 * 1e3);
	return 0;
}
C
cc -O2 -Isrc -o "$bin/page" "$bin/page.c" src/jobs/listing.c src/jobs/listing_xml.c && for _ in 1 2 3; do "$bin/page"; done
rm -rf "$bin"
