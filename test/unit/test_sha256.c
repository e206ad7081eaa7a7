/*
 * test_sha256.c — unit tests of the SHA-256 kernel (src/util/sha256.c):
 * the NIST FIPS 180-4 example vectors, the padding boundaries, a long
 * message of varied bytes, and incremental hashing equal to one-shot.
 */
#include "util/sha256.h"
#include "unit.h"

#include <stdlib.h>

/* hex_of hashes len bytes of data in one call. */
static void
hex_of(const void *data, size_t len, char out[65])
{
	sha256_ctx	ctx;
	uint8_t		digest[32];

	sha256_init(&ctx);
	sha256_update(&ctx, data, len);
	sha256_final(&ctx, digest);
	sha256_hex(digest, out);
}

/* expect checks the digest of a NUL-terminated string. */
static void
expect(const char *msg, const char *want, const char *what)
{
	char		got[65];

	hex_of(msg, strlen(msg), got);
	CHECK_STR(got, want, what);
}

/* expect_a checks the digest of n 'a's. */
static void
expect_a(size_t n, const char *want)
{
	char		buf[128];
	char		got[65];
	char		what[64];

	memset(buf, 'a', n);
	hex_of(buf, n, got);
	snprintf(what, sizeof(what), "%zu 'a's (padding boundary)", n);
	CHECK_STR(got, want, what);
}

int
main(void)
{
	char		got[65];
	char		want[65];
	uint8_t		msg[200];
	uint8_t    *big;
	sha256_ctx	ctx;
	uint8_t		digest[32];
	int			splits_ok;
	int			bytewise_ok;
	int			chunks_ok;

	/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf") */
	expect("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty message");
	expect("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\"abc\"");
	expect("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit message");
	expect("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		   "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896-bit message");

	big = malloc(1000000);
	if (big == NULL)
		return 2;
	memset(big, 'a', 1000000);
	hex_of(big, 1000000, got);
	CHECK_STR(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "one million 'a's");

	/* the same million fed in pieces of 1000 */
	sha256_init(&ctx);
	for (int i = 0; i < 1000; i++)
		sha256_update(&ctx, big + 1000 * i, 1000);
	sha256_final(&ctx, digest);
	sha256_hex(digest, got);
	CHECK_STR(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "one million 'a's in 1000 updates");

	/* where the length no longer fits in the last block (values from Python's hashlib) */
	expect_a(55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	expect_a(56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	expect_a(63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
	expect_a(64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
	expect_a(65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0");

	/* 100000 varied bytes: every message word differs (value from Python's hashlib) */
	for (int i = 0; i < 100000; i++)
		big[i] = (uint8_t) ((i * 31 + 7) ^ (i >> 8));
	hex_of(big, 100000, got);
	CHECK_STR(got, "b6de672737c4d09cb29fdaf50b896100637e5f09bb44d0f478687451b981c883", "100000 varied bytes");

	/* the same fed in uneven chunks of 1 to 200 bytes */
	sha256_init(&ctx);
	for (size_t off = 0, step = 1; off < 100000; off += step, step = step % 200 + 1)
		sha256_update(&ctx, big + off, (off + step > 100000) ? 100000 - off : step);
	sha256_final(&ctx, digest);
	sha256_hex(digest, got);
	CHECK_STR(got, "b6de672737c4d09cb29fdaf50b896100637e5f09bb44d0f478687451b981c883", "100000 varied bytes in uneven chunks");
	free(big);

	/* a 200-byte message split in two at every offset equals one-shot */
	for (int i = 0; i < 200; i++)
		msg[i] = (uint8_t) (i * 7 + 3);
	hex_of(msg, sizeof(msg), want);
	splits_ok = 1;
	for (size_t cut = 0; cut <= sizeof(msg); cut++)
	{
		sha256_init(&ctx);
		sha256_update(&ctx, msg, cut);
		sha256_update(&ctx, msg + cut, sizeof(msg) - cut);
		sha256_final(&ctx, digest);
		sha256_hex(digest, got);
		if (strcmp(got, want) != 0)
		{
			printf("# split at %zu: %s\n", cut, got);
			splits_ok = 0;
		}
	}
	CHECK(splits_ok, "200 bytes split at each of the 201 offsets equal one-shot");

	/* three pieces: every pair of cut points */
	chunks_ok = 1;
	for (size_t a = 0; a <= sizeof(msg); a++)
		for (size_t b = a; b <= sizeof(msg); b++)
		{
			sha256_init(&ctx);
			sha256_update(&ctx, msg, a);
			sha256_update(&ctx, msg + a, b - a);
			sha256_update(&ctx, msg + b, sizeof(msg) - b);
			sha256_final(&ctx, digest);
			sha256_hex(digest, got);
			if (strcmp(got, want) != 0)
				chunks_ok = 0;
		}
	CHECK(chunks_ok, "200 bytes cut in three at every pair of offsets equal one-shot");

	/* one byte at a time, with empty updates in between */
	sha256_init(&ctx);
	for (size_t i = 0; i < sizeof(msg); i++)
	{
		sha256_update(&ctx, msg + i, 1);
		sha256_update(&ctx, msg, 0);
	}
	sha256_final(&ctx, digest);
	sha256_hex(digest, got);
	bytewise_ok = strcmp(got, want) == 0;
	CHECK(bytewise_ok, "200 bytes one at a time equal one-shot");

	/* the context is reusable after sha256_init */
	sha256_init(&ctx);
	sha256_update(&ctx, "abc", 3);
	sha256_final(&ctx, digest);
	sha256_init(&ctx);
	sha256_update(&ctx, "abc", 3);
	sha256_final(&ctx, digest);
	sha256_hex(digest, got);
	CHECK_STR(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "context reused after init");

	/* hex is lower case and NUL-terminated */
	memset(digest, 0xAB, sizeof(digest));
	memset(got, 'x', sizeof(got));
	sha256_hex(digest, got);
	CHECK_INT(strlen(got), 64, "hex has 64 digits");
	CHECK(strspn(got, "ab") == 64, "hex digits are lower case");

	return unit_done();
}
