/*
 * test_sigv4.c — unit tests of the SigV4 kernel (src/jobs/sigv4.c): HMAC-SHA256 against RFC
 * 4231, the two S3 examples of AWS's "Signature Calculations for the Authorization Header"
 * whose signed headers are exactly ours (GET ?lifecycle and GET ?max-keys=2&prefix=J), the
 * canonical request's path and query as S3 makes them (recoded, sorted), and the URI encoding
 * of keys.  The live check against botocore's signer is test/integration/s3_sigv4.sh.
 */
#include "jobs/sigv4.h"
#include "util/sha256.h"
#include "unit.h"

static void
hex32(const unsigned char d[32], char out[65])
{
	sha256_hex(d, out);
}

/* aws_example: examplebucket, 2013-05-24T00:00:00Z, AWS's documented example key. */
static sigv4_request
aws_example(const char *query)
{
	sigv4_request r;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.host = "examplebucket.s3.amazonaws.com";
	r.path = "/";
	r.query = query;
	r.payload_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	r.region = "us-east-1";
	r.service = "s3";
	r.access_key = "AKIAIOSFODNN7EXAMPLE";
	r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	r.when = 1369353600;		/* 20130524T000000Z */
	return r;
}

int
main(void)
{
	unsigned char mac[32];
	char		hex[65];
	char		date[17];
	char		auth[512];
	char		canon[2048];
	char		enc[256];
	sigv4_request r;

	/* RFC 4231 test case 2 */
	sigv4_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex32(mac, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "hmac-sha256: RFC 4231 case 2");
	/* RFC 4231 test case 6: a key longer than the block is hashed first */
	{
		unsigned char key[131];

		memset(key, 0xaa, sizeof(key));
		sigv4_hmac_sha256(key, sizeof(key), "Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
		hex32(mac, hex);
		CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "hmac-sha256: RFC 4231 case 6 (long key)");
	}

	r = aws_example("lifecycle");
	CHECK(sigv4_sign(&r, date, auth, sizeof(auth)), "aws example GET ?lifecycle signed");
	CHECK_STR(date, "20130524T000000Z", "x-amz-date of the example");
	CHECK_STR(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
			  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			  "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
			  "aws example GET ?lifecycle: AWS's signature");
	CHECK(sigv4_canonical_request(&r, date, canon, sizeof(canon)), "canonical request of ?lifecycle");
	CHECK_STR(canon, "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
			  "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
			  "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
			  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			  "canonical request of ?lifecycle: AWS's");

	r = aws_example("max-keys=2&prefix=J");
	CHECK(sigv4_sign(&r, date, auth, sizeof(auth)), "aws example GET ?max-keys=2&prefix=J signed");
	CHECK(strstr(auth, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") != NULL,
		  "aws example GET ?max-keys=2&prefix=J: AWS's signature");
	r = aws_example("prefix=J&max-keys=2");
	CHECK(sigv4_sign(&r, date, auth, sizeof(auth)) &&
		  strstr(auth, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") != NULL,
		  "the query is sorted before signing: the same signature in the other order");
	r = aws_example("lifecycle");
	r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz";
	CHECK(sigv4_sign(&r, date, auth, sizeof(auth)) &&
		  strstr(auth, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") == NULL,
		  "another secret gives another signature");
	CHECK(strstr(auth, "EXAMPLEKEz") == NULL, "the secret is not in the header");

	/* the path and query as S3 canonicalizes them: decoded, encoded again */
	r = aws_example("uploadId=a%2Fb~c&partNumber=2");
	r.method = "PUT";
	r.path = "/bucket/dir/a b+c=d%C3%A9%7e.bin";
	r.content_type = "application/octet-stream";
	CHECK(sigv4_canonical_request(&r, "20130524T000000Z", canon, sizeof(canon)), "canonical request of an odd key");
	CHECK(strncmp(canon, "PUT\n/bucket/dir/a%20b%2Bc%3Dd%C3%A9~.bin\npartNumber=2&uploadId=a%2Fb~c\n"
				  "content-type:application/octet-stream\nhost:", 107) == 0,
		  "canonical uri recoded (space, +, = encoded; ~ plain), query sorted, content-type signed first");
	CHECK(sigv4_sign(&r, date, auth, sizeof(auth)) &&
		  strstr(auth, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,") != NULL,
		  "content-type is among the signed headers");

	CHECK_INT(sigv4_uri_encode("dir/a b+c=é~", strlen("dir/a b+c=é~"), true, enc, sizeof(enc)), 23,
			  "uri encode: length");
	CHECK_STR(enc, "dir/a%20b%2Bc%3D%C3%A9~", "uri encode keeps / and unreserved, encodes the rest in upper case");
	sigv4_uri_encode("a/b", 3, false, enc, sizeof(enc));
	CHECK_STR(enc, "a%2Fb", "uri encode without keep_slash encodes /");
	CHECK_INT(sigv4_uri_encode("a b", 3, true, enc, 5), -1, "uri encode: too small a buffer is refused");
	return unit_done();
}
