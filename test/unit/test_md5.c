/*
 * test_md5.c — unit tests of the MD5 kernel (src/util/md5.c), which uploads
 * compare with S3's ETags: the RFC 1321 test suite, the padding boundaries,
 * a long message of varied bytes, and incremental hashing equal to one-shot.
 */
#include "util/md5.h"
#include "unit.h"

#include <stdlib.h>

/* hex_of hashes len bytes of data in one call. */
static void
hex_of(const void *data, size_t len, char out[33])
{
	md5_ctx		ctx;

	md5_init(&ctx);
	md5_update(&ctx, data, len);
	md5_hex(&ctx, out);
}

/* expect checks the digest of a NUL-terminated string. */
static void
expect(const char *msg, const char *want, const char *what)
{
	char		got[33];

	hex_of(msg, strlen(msg), got);
	CHECK_STR(got, want, what);
}

/* expect_a checks the digest of n 'a's. */
static void
expect_a(size_t n, const char *want)
{
	char		buf[128];
	char		got[33];
	char		what[64];

	memset(buf, 'a', n);
	hex_of(buf, n, got);
	snprintf(what, sizeof(what), "%zu 'a's (padding boundary)", n);
	CHECK_STR(got, want, what);
}

int
main(void)
{
	char		got[33];
	char		want[33];
	uint8_t		msg[200];
	uint8_t    *big;
	md5_ctx		ctx;
	int			splits_ok;

	/* RFC 1321, appendix A.5 */
	expect("", "d41d8cd98f00b204e9800998ecf8427e", "empty message");
	expect("a", "0cc175b9c0f1b6a831c399e269772661", "\"a\"");
	expect("abc", "900150983cd24fb0d6963f7d28e17f72", "\"abc\"");
	expect("message digest", "f96b697d7cb7938d525a2f31aaf161d0", "\"message digest\"");
	expect("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b", "the alphabet");
	expect("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		   "d174ab98d277d9f5a5611c2c9f419d9f", "letters and digits");
	expect("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		   "57edf4a22be3c955ac49da2e2107b67a", "eight times 1234567890");

	/* where the length no longer fits in the last block (values from Python's hashlib) */
	expect_a(55, "ef1772b6dff9a122358552954ad0df65");
	expect_a(56, "3b0c8ac703f828b04c6c197006d17218");
	expect_a(63, "b06521f39153d618550606be297466d5");
	expect_a(64, "014842d480b571495a4a0363793f7367");
	expect_a(65, "c743a45e0d2e6a95cb859adae0248435");

	big = malloc(1000000);
	if (big == NULL)
		return 2;
	memset(big, 'a', 1000000);
	hex_of(big, 1000000, got);
	CHECK_STR(got, "7707d6ae4e027c70eea2a935c2296f21", "one million 'a's (value from Python's hashlib)");

	/* 100000 varied bytes (value from Python's hashlib), then the same in uneven chunks of 1 to 200 */
	for (int i = 0; i < 100000; i++)
		big[i] = (uint8_t) ((i * 31 + 7) ^ (i >> 8));
	hex_of(big, 100000, got);
	CHECK_STR(got, "1e945de42bf9449e8ba59865ae48d586", "100000 varied bytes");
	md5_init(&ctx);
	for (size_t off = 0, step = 1; off < 100000; off += step, step = step % 200 + 1)
		md5_update(&ctx, big + off, (off + step > 100000) ? 100000 - off : step);
	md5_hex(&ctx, got);
	CHECK_STR(got, "1e945de42bf9449e8ba59865ae48d586", "100000 varied bytes in uneven chunks");
	free(big);

	/* a 200-byte message split in two at every offset equals one-shot */
	for (int i = 0; i < 200; i++)
		msg[i] = (uint8_t) (i * 7 + 3);
	hex_of(msg, sizeof(msg), want);
	splits_ok = 1;
	for (size_t cut = 0; cut <= sizeof(msg); cut++)
	{
		md5_init(&ctx);
		md5_update(&ctx, msg, cut);
		md5_update(&ctx, msg + cut, sizeof(msg) - cut);
		md5_hex(&ctx, got);
		if (strcmp(got, want) != 0)
		{
			printf("# split at %zu: %s\n", cut, got);
			splits_ok = 0;
		}
	}
	CHECK(splits_ok, "200 bytes split at each of the 201 offsets equal one-shot");

	/* hex is lower case, 32 digits, NUL-terminated */
	CHECK_INT(strlen(want), 32, "hex has 32 digits");
	CHECK(strspn(want, "0123456789abcdef") == 32, "hex digits are lower case");

	return unit_done();
}
