/*
 * test_jsonscan.c — unit tests of the JSON scanner kernel (src/util/jsonscan.c).
 *
 * Every document is copied into a heap buffer of exactly its length before it
 * is scanned, so AddressSanitizer catches any read past the end.  Most are
 * scanned twice: as they are, and followed by PAD spaces, since the inline
 * fast paths only run at least JS_FAST_PAD bytes before the end of the text.
 */
#include "util/jsonscan.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* A malloc allocator that counts what is live, and can be told to fail. */
static long live_blocks = 0;
static int	fail_allocs = 0;

static void *
count_alloc(void *ctx, size_t size)
{
	void	   *p;

	(void) ctx;
	if (fail_allocs)
		return NULL;
	p = malloc(size);
	if (p)
		live_blocks++;
	return p;
}

static void *
count_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	if (fail_allocs)
		return NULL;
	return realloc(ptr, size);
}

static void
count_free(void *ctx, void *ptr)
{
	(void) ctx;
	if (ptr)
		live_blocks--;
	free(ptr);
}

static const mlops_allocator counting = {count_alloc, count_realloc, count_free, NULL};

/* Trailing spaces added to the documents being scanned: 0 or PAD. */
#define PAD 32
static size_t pad = 0;

/* copy: an exact-size heap copy of text and pad spaces (freed by the caller) */
static char *
copy(const char *text, size_t len)
{
	char	   *buf = malloc(len + pad ? len + pad : 1);

	memcpy(buf, text, len);
	memset(buf + len, ' ', pad);
	return buf;
}

/* same_double: bit-for-bit equality (so -0.0 differs from 0.0) */
static int
same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

/*
 * read_one scans text as one scalar followed by the end of input.  Returns
 * the type (JS_ERROR when either step failed) and fills *v, *err and *pos.
 * String results are copied into strbuf, since the scanner is freed here.
 */
static char strbuf[65536];

static js_type
read_one(const char *text, size_t len, js_value *v, const char **err, size_t *pos)
{
	char	   *buf = copy(text, len);
	js_scanner	s;
	js_type		t;

	js_init(&s, buf, len + pad, &counting);
	t = js_read_scalar(&s, v);
	if (t != JS_ERROR && !js_end(&s))
		t = JS_ERROR;
	if (t == JS_STRING && v->len < sizeof(strbuf))
	{
		memcpy(strbuf, v->str, v->len);
		strbuf[v->len] = '\0';
		v->str = strbuf;
	}
	*err = s.error;
	*pos = s.error_pos;
	js_free(&s);
	free(buf);
	return t;
}

static void
expect_int(const char *text, int64_t want)
{
	for (pad = 0; pad <= PAD; pad += PAD)
	{
		js_value	v;
		const char *err;
		size_t		pos;
		char		what[200];
		js_type		t = read_one(text, strlen(text), &v, &err, &pos);

		snprintf(what, sizeof(what), "%s is the integer %lld%s", text, (long long) want, pad ? " (padded)" : "");
		CHECK(t == JS_NUMBER && v.is_integer && v.integer == want &&
			  same_double(v.number, (double) want), what);
	}
	pad = 0;
}

/* expect_double: not is_integer, and bit-for-bit what strtod says */
static void
expect_double(const char *text)
{
	for (pad = 0; pad <= PAD; pad += PAD)
	{
		js_value	v;
		const char *err;
		size_t		pos;
		char		what[300];
		js_type		t = read_one(text, strlen(text), &v, &err, &pos);
		double		want = strtod(text, NULL);

		snprintf(what, sizeof(what), "%.60s is the double %.17g%s", text, want, pad ? " (padded)" : "");
		if (!CHECK(t == JS_NUMBER && !v.is_integer && same_double(v.number, want), what))
			printf("#   got type %d, is_integer %d, %.17g, error %s\n", t, v.is_integer, v.number, err ? err : "-");
	}
	pad = 0;
}

static void
expect_string(const char *text, const char *want, size_t wantlen)
{
	for (pad = 0; pad <= PAD; pad += PAD)
	{
		js_value	v;
		const char *err;
		size_t		pos;
		char		what[200];
		js_type		t = read_one(text, strlen(text), &v, &err, &pos);

		snprintf(what, sizeof(what), "string %s decodes%s", text, pad ? " (padded)" : "");
		if (!CHECK(t == JS_STRING && v.len == wantlen && memcmp(v.str, want, wantlen) == 0, what))
			printf("#   got type %d len %zu, error %s\n", t, v.len, err ? err : "-");
	}
	pad = 0;
}

/*
 * expect_error: the scalar document fails with this message at this offset;
 * padded, too, unless the error is the end of input (spaces there can turn
 * "tru" into an invalid literal).
 */
static void
expect_error(const char *text, const char *msg, size_t want_pos)
{
	for (pad = 0; pad <= PAD; pad += PAD)
	{
		js_value	v;
		const char *err;
		size_t		pos;
		char		what[200];
		js_type		t;

		if (pad && strcmp(msg, "unexpected end of input") == 0)
			break;
		t = read_one(text, strlen(text), &v, &err, &pos);
		snprintf(what, sizeof(what), "%s fails with \"%s\" at %zu%s", text, msg, want_pos, pad ? " (padded)" : "");
		if (!CHECK(t == JS_ERROR && err && strcmp(err, msg) == 0 && pos == want_pos, what))
			printf("#   got type %d, error \"%s\" at %zu\n", t, err ? err : "(none)", pos);
	}
	pad = 0;
}

/*
 * render walks a document the way a caller would (arrays entered, objects
 * skipped) and writes a canonical form: integers as %lld, other numbers as
 * ~%.17g, strings quoted, objects as {}.  On error: "ERR:<message>@<pos>".
 */
typedef struct
{
	char		buf[8192];
	size_t		n;
} rendering;

static void
put(rendering *r, const char *fmt, const char *str, size_t len, long long i, double d)
{
	int			w;

	if (r->n >= sizeof(r->buf) - 1)
		return;
	if (str)
		w = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, fmt, (int) len, str);
	else if (fmt[1] == 'l')
		w = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, fmt, i);
	else if (fmt[0] == '~')
		w = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, fmt, d);
	else
		w = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, "%s", fmt);
	if (w > 0)
		r->n += (size_t) w;
	if (r->n > sizeof(r->buf) - 1)
		r->n = sizeof(r->buf) - 1;
}

static bool
render_value(js_scanner *s, rendering *r, int depth)
{
	js_value	v;
	int			step;
	bool		first = true;

	switch (js_read_scalar(s, &v))
	{
		case JS_NUMBER:
			if (v.is_integer)
				put(r, "%lld", NULL, 0, (long long) v.integer, 0);
			else
				put(r, "~%.17g", NULL, 0, 0, v.number);
			return true;
		case JS_STRING:
			put(r, "\"%.*s\"", v.str, v.len, 0, 0);
			return true;
		case JS_TRUE:
			put(r, "true", NULL, 0, 0, 0);
			return true;
		case JS_FALSE:
			put(r, "false", NULL, 0, 0, 0);
			return true;
		case JS_NULL:
			put(r, "null", NULL, 0, 0, 0);
			return true;
		case JS_OBJECT:
			if (!js_skip(s))
				return false;
			put(r, "{}", NULL, 0, 0, 0);
			return true;
		case JS_ARRAY:
			if (depth > 50 || !js_enter_array(s))
				return false;
			put(r, "[", NULL, 0, 0, 0);
			while ((step = js_array_step(s)) == 1)
			{
				if (!first)
					put(r, ",", NULL, 0, 0, 0);
				first = false;
				if (!render_value(s, r, depth + 1))
					return false;
			}
			if (step < 0)
				return false;
			put(r, "]", NULL, 0, 0, 0);
			return true;
		case JS_ERROR:
			return false;
	}
	return false;
}

static const char *
render(const char *text, size_t len)
{
	static rendering r;
	char	   *buf = copy(text, len);
	js_scanner	s;

	r.n = 0;
	r.buf[0] = '\0';
	js_init(&s, buf, len + pad, &counting);
	if (!render_value(&s, &r, 0) || !js_end(&s))
	{
		r.n = 0;
		put(&r, "ERR:", NULL, 0, 0, 0);
		put(&r, "%.*s", s.error ? s.error : "(no error set)", strlen(s.error ? s.error : "(no error set)"), 0, 0);
		r.n += (size_t) snprintf(r.buf + r.n, sizeof(r.buf) - r.n, "@%zu", s.error_pos);
	}
	js_free(&s);
	free(buf);
	return r.buf;
}

/* expect_render: bare and padded (where an end-of-input error moves to the new end) */
static void
expect_render(const char *text, const char *want)
{
	static const char eof[] = "ERR:unexpected end of input@";

	for (pad = 0; pad <= PAD; pad += PAD)
	{
		char		what[300];
		char		want_here[300];

		if (pad && strncmp(want, eof, strlen(eof)) == 0)
			snprintf(want_here, sizeof(want_here), "%s%lu", eof, strtoul(want + strlen(eof), NULL, 10) + PAD);
		else
			snprintf(want_here, sizeof(want_here), "%s", want);
		snprintf(what, sizeof(what), "%.80s -> %.80s%s", text, want_here, pad ? " (padded)" : "");
		CHECK_STR(render(text, strlen(text)), want_here, what);
	}
	pad = 0;
}

/* skip_doc: js_skip of one value, then js_end */
static bool
skip_doc(const char *text, size_t len, const char **err, size_t *pos)
{
	char	   *buf = copy(text, len);
	js_scanner	s;
	bool		ok;

	js_init(&s, buf, len + pad, &counting);
	ok = js_skip(&s) && js_end(&s);
	*err = s.error;
	*pos = s.error_pos;
	js_free(&s);
	free(buf);
	return ok;
}

static void
expect_skip(const char *text, const char *msg, size_t want_pos)
{
	const char *err;
	size_t		pos;
	char		what[300];
	bool		ok;

	pad = 0;
	ok = skip_doc(text, strlen(text), &err, &pos);
	if (msg == NULL)
	{
		snprintf(what, sizeof(what), "js_skip accepts %.100s", text);
		if (!CHECK(ok && err == NULL, what))
			printf("#   error \"%s\" at %zu\n", err ? err : "(none)", pos);
	}
	else
	{
		snprintf(what, sizeof(what), "js_skip refuses %.80s: \"%s\" at %zu", text, msg, want_pos);
		if (!CHECK(!ok && err && strcmp(err, msg) == 0 && pos == want_pos, what))
			printf("#   got ok %d, error \"%s\" at %zu\n", ok, err ? err : "(none)", pos);
	}
}

/*
 * every_prefix_fails: every strict prefix of an array document is an error
 * (with the error inside the prefix) for both the walker and js_skip, and
 * the whole document is not.
 */
static void
every_prefix_fails(const char *text)
{
	size_t		len = strlen(text);
	bool		all = true;
	char		what[300];

	for (pad = 0; pad <= PAD; pad += PAD)
		for (size_t n = 0; n < len; n++)
		{
			const char *got = render(text, n);
			const char *err;
			size_t		pos;
			const char *at = strrchr(got, '@');

			if (strncmp(got, "ERR:", 4) != 0 || at == NULL || strtoul(at + 1, NULL, 10) > n + pad)
			{
				printf("#   prefix %zu of %s (pad %zu): %s\n", n, text, pad, got);
				all = false;
			}
			if (skip_doc(text, n, &err, &pos) || err == NULL || pos > n + pad)
			{
				printf("#   prefix %zu of %s (pad %zu): js_skip accepted it\n", n, text, pad);
				all = false;
			}
		}
	pad = 0;
	snprintf(what, sizeof(what), "every prefix of %.80s is an error, bare and followed by spaces", text);
	CHECK(all, what);
}

/* random_decimals compares the conversion of random literals with strtod, bit for bit. */
static void
random_decimals(void)
{
	unsigned long long seed = 88172645463325252ULL;
	int			bad = 0;
	int			count = 200000;

	for (int i = 0; i < count; i++)
	{
		char		lit[80];
		size_t		n = 0;
		int			ndig;
		int			point;
		js_value	v;
		const char *err;
		size_t		pos;
		js_type		t;

		/* xorshift64 */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (seed & 1)
			lit[n++] = '-';
		ndig = 1 + (int) ((seed >> 8) % 22);
		point = (int) ((seed >> 16) % (unsigned) (ndig + 1));
		for (int d = 0; d < ndig; d++)
		{
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			if (d == point && d > 0)
				lit[n++] = '.';
			lit[n++] = (char) ('0' + (d == 0 && ndig > 1 && point != 1 ? 1 + seed % 9 : seed % 10));
		}
		if ((seed >> 24) % 3 == 0)
			n += (size_t) snprintf(lit + n, sizeof(lit) - n, "e%d", (int) ((seed >> 32) % 80) - 40);
		lit[n] = '\0';
		pad = (i % 2) ? PAD : 0;
		t = read_one(lit, n, &v, &err, &pos);
		pad = 0;
		if (t != JS_NUMBER || !same_double(v.number, strtod(lit, NULL)))
		{
			if (bad++ < 5)
				printf("#   %s: got %.17g (type %d, %s), strtod %.17g\n", lit, v.number, t,
					   err ? err : "-", strtod(lit, NULL));
		}
	}
	CHECK_INT(bad, 0, "200000 random decimal literals convert exactly as strtod does");
}

int
main(void)
{
	js_scanner	s;
	js_value	v;
	const char *err;
	size_t		pos;
	char	   *big;

	/* ---- literals */
	CHECK_INT(read_one("true", 4, &v, &err, &pos), JS_TRUE, "true");
	CHECK_INT(read_one("false", 5, &v, &err, &pos), JS_FALSE, "false");
	CHECK_INT(read_one("null", 4, &v, &err, &pos), JS_NULL, "null");
	CHECK_INT(read_one(" \t\r\nnull \n", 10, &v, &err, &pos), JS_NULL, "null with whitespace around");
	expect_error("tru", "unexpected end of input", 3);
	expect_error("trux", "invalid literal", 3);
	expect_error("nul", "unexpected end of input", 3);
	expect_error("fals", "unexpected end of input", 4);
	expect_error("nulL", "invalid literal", 3);
	expect_error("True", "expected value", 0);
	expect_error("nulll", "expected end of input", 4);
	expect_error("", "unexpected end of input", 0);
	expect_error("   ", "unexpected end of input", 3);
	expect_error("\fnull", "expected value", 0);
	expect_error("\vnull", "expected value", 0);
	expect_error("NaN", "expected value", 0);
	expect_error("Infinity", "expected value", 0);

	/* ---- integers */
	expect_int("0", 0);
	expect_int("7", 7);
	expect_int("-7", -7);
	expect_int("42", 42);
	expect_int("123456789012345678", 123456789012345678LL);
	expect_int("-123456789012345678", -123456789012345678LL);
	expect_int("999999999999999999", 999999999999999999LL);
	expect_int("1234567890123456789", 1234567890123456789LL);
	expect_int("9223372036854775807", INT64_MAX);
	expect_int("-9223372036854775807", -INT64_MAX);
	expect_int("-9223372036854775808", INT64_MIN);
	expect_int("9007199254740993", 9007199254740993LL);
	expect_double("9223372036854775808");
	expect_double("-9223372036854775809");
	expect_double("9999999999999999999");
	expect_double("12345678901234567890");
	expect_double("123456789012345678901234567890");
	CHECK_INT(read_one("9223372036854775808", 19, &v, &err, &pos), JS_NUMBER, "2^63 is a number");
	CHECK(!v.is_integer && v.number == 9223372036854775808.0, "2^63 is not an integer, and is 2^63 as a double");
	CHECK_INT(read_one("-0", 2, &v, &err, &pos), JS_NUMBER, "-0 is a number");
	CHECK(v.is_integer && v.integer == 0 && v.number == 0.0 && signbit(v.number), "-0 is the integer 0 and the double -0.0");
	CHECK_INT(read_one("5", 1, &v, &err, &pos), JS_NUMBER, "a one-digit number ending the input");
	CHECK(v.str == NULL && v.len == 0, "numbers have no string");

	/* ---- other numbers: bit for bit what strtod gives */
	expect_double("1.0");
	expect_double("1e2");
	expect_double("1E2");
	expect_double("1e+2");
	expect_double("1e-2");
	expect_double("0.1");
	expect_double("-0.0");
	expect_double("0e0");
	expect_double("0.000001");
	expect_double("3.141592653589793");
	expect_double("0.30000000000000004");
	expect_double("2.2250738585072014e-308");
	expect_double("2.2250738585072011e-308");
	expect_double("4.9e-324");
	expect_double("2.4e-324");
	expect_double("1.7976931348623157e308");
	expect_double("1.7976931348623159e308");
	expect_double("9007199254740993.0");
	expect_double("9007199254740992.5");
	expect_double("123456789012345678901234567890e-10");
	expect_double("0.0000000000000000000000000000001234567890123456789012345");
	expect_double("1e22");
	expect_double("1e23");
	expect_double("-1e-22");
	expect_double("8.98846567431158e307");
	expect_double("1e0000000000000000000000000000000000000000000000000000000000000000002");
	expect_double("1.00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001");
	CHECK_INT(read_one("0.1", 3, &v, &err, &pos), JS_NUMBER, "0.1 is a number");
	CHECK(v.number == 0.1 && !v.is_integer, "0.1 == 0.1 exactly");
	CHECK_INT(read_one("1e400", 5, &v, &err, &pos), JS_NUMBER, "1e400 is a number");
	CHECK(isinf(v.number) && v.number > 0, "1e400 overflows to +inf");
	CHECK_INT(read_one("-1e400", 6, &v, &err, &pos), JS_NUMBER, "-1e400 is a number");
	CHECK(isinf(v.number) && v.number < 0, "-1e400 overflows to -inf");
	CHECK_INT(read_one("1e-400", 6, &v, &err, &pos), JS_NUMBER, "1e-400 is a number");
	CHECK(v.number == 0.0 && !signbit(v.number), "1e-400 underflows to 0");
	CHECK_INT(read_one("1e99999999999999999999", 22, &v, &err, &pos), JS_NUMBER, "a huge exponent is a number");
	CHECK(isinf(v.number), "a huge exponent gives inf");
	random_decimals();

	/* ---- malformed numbers */
	expect_error("01", "invalid number", 1);
	expect_error("-01", "invalid number", 2);
	expect_error("00", "invalid number", 1);
	expect_error("-", "unexpected end of input", 1);
	expect_error("-a", "invalid number", 1);
	expect_error("--1", "invalid number", 1);
	expect_error("+1", "expected value", 0);
	expect_error(".5", "expected value", 0);
	expect_error("1.", "unexpected end of input", 2);
	expect_error("1.e3", "invalid number", 2);
	expect_error("1e", "unexpected end of input", 2);
	expect_error("1e+", "unexpected end of input", 3);
	expect_error("1ex", "invalid number", 2);
	expect_error("1.5.3", "expected end of input", 3);
	expect_error("0x10", "expected end of input", 1);
	expect_error("12a", "expected end of input", 2);
	expect_error("-Infinity", "invalid number", 1);
	expect_error("1234567890123456789012345x", "expected end of input", 25);

	/* ---- strings */
	{
		const char *text = "\"plain text\"";
		char	   *buf = copy(text, strlen(text));

		js_init(&s, buf, strlen(text), &counting);
		CHECK_INT(js_read_scalar(&s, &v), JS_STRING, "a plain string");
		CHECK(v.str == buf + 1 && v.len == 10, "a string without escapes points into the text");
		CHECK(s.scratch == NULL, "no scratch buffer for a string without escapes");
		CHECK(js_end(&s), "nothing after the string");
		js_free(&s);
		free(buf);
	}
	expect_string("\"\"", "", 0);
	expect_string("\"cat\"", "cat", 3);
	expect_string("\"caf\xc3\xa9\"", "caf\xc3\xa9", 5);
	expect_string("\"del\x7f\"", "del\x7f", 4);
	expect_string("\"a\\\"b\"", "a\"b", 3);
	expect_string("\"\\\\\"", "\\", 1);
	expect_string("\"\\/\"", "/", 1);
	expect_string("\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5);
	expect_string("\"x\\ny\\tz\"", "x\ny\tz", 5);
	expect_string("\"\\u0041\"", "A", 1);
	expect_string("\"\\u00e9\"", "\xc3\xa9", 2);
	expect_string("\"\\u00E9t\\u00e9\"", "\xc3\xa9t\xc3\xa9", 5);
	expect_string("\"\\u07ff\"", "\xdf\xbf", 2);
	expect_string("\"\\u0800\"", "\xe0\xa0\x80", 3);
	expect_string("\"\\u20AC\"", "\xe2\x82\xac", 3);
	expect_string("\"\\uffff\"", "\xef\xbf\xbf", 3);
	expect_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	expect_string("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4);
	expect_string("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);
	expect_string("\"\xc3\xa9\\n\xe2\x82\xac\"", "\xc3\xa9\n\xe2\x82\xac", 6);
	expect_error("\"\\ud83d\"", "unpaired surrogate in string", 1);
	expect_error("\"\\ude00\"", "unpaired surrogate in string", 1);
	expect_error("\"\\ud83dx\"", "unpaired surrogate in string", 1);
	expect_error("\"\\ud83d\\u0041\"", "unpaired surrogate in string", 1);
	expect_error("\"\\ud83d\\ud83d\"", "unpaired surrogate in string", 1);
	expect_error("\"ab\\ud83d\\uzzzz\"", "invalid escape in string", 9);
	expect_error("\"\\u0000\"", "\\u0000 is not allowed in string", 1);
	expect_error("\"\\u00zz\"", "invalid escape in string", 1);
	expect_error("\"\\u12\"", "invalid escape in string", 1);
	expect_error("\"\\x\"", "invalid escape in string", 1);
	expect_error("\"ok\\'\"", "invalid escape in string", 3);
	expect_error("\"\\U0041\"", "invalid escape in string", 1);
	expect_error("\"a\nb\"", "control character in string", 2);
	expect_error("\"a\tb\"", "control character in string", 2);
	expect_error("\"\x01\"", "control character in string", 1);
	expect_error("\"abc", "unexpected end of input", 4);
	expect_error("\"abc\\", "unexpected end of input", 5);
	expect_error("\"abc\\\"", "unexpected end of input", 6);
	expect_error("\"\\u00e", "unexpected end of input", 6);
	CHECK_INT(read_one("\"a\0b\"", 5, &v, &err, &pos), JS_ERROR, "a raw NUL byte in a string is a control character");

	/* a long string with escapes grows the scratch buffer */
	{
		size_t		n = 20000;
		char	   *text = malloc(2 * n + 2);
		bool		ok = true;

		text[0] = '"';
		for (size_t i = 0; i < n; i++)
		{
			text[1 + 2 * i] = '\\';
			text[2 + 2 * i] = 'n';
		}
		text[2 * n + 1] = '"';
		js_init(&s, text, 2 * n + 2, &counting);
		CHECK_INT(js_read_scalar(&s, &v), JS_STRING, "20000 escapes read");
		CHECK_INT(v.len, n, "20000 escapes decode to 20000 bytes");
		for (size_t i = 0; i < v.len; i++)
			ok = ok && v.str[i] == '\n';
		CHECK(ok && v.str == s.scratch, "decoded into the scratch buffer");
		js_free(&s);
		CHECK_INT(live_blocks, 0, "js_free releases the scratch buffer");
		free(text);
	}

	/* allocation failure */
	{
		const char *text = "[\"a\\nb\", 1]";

		js_init(&s, text, strlen(text), &counting);
		fail_allocs = 1;
		CHECK(js_enter_array(&s) && js_array_step(&s) == 1, "entered before the failure");
		CHECK_INT(js_read_scalar(&s, &v), JS_ERROR, "an escape with no memory is an error");
		CHECK_STR(s.error, "out of memory", "the error says out of memory");
		fail_allocs = 0;
		CHECK_INT(js_array_step(&s), -1, "errors are sticky");
		js_free(&s);
	}
	{
		char		lit[200];

		memset(lit, '1', sizeof(lit));
		lit[1] = '.';
		js_init(&s, lit, sizeof(lit), &counting);
		fail_allocs = 1;
		CHECK_INT(js_read_scalar(&s, &v), JS_ERROR, "a 200-byte number with no memory is an error");
		CHECK_STR(s.error, "out of memory", "the long number error says out of memory");
		fail_allocs = 0;
		js_free(&s);
		js_init(&s, lit, sizeof(lit), NULL);
		CHECK_INT(js_read_scalar(&s, &v), JS_ERROR, "no allocator at all is out of memory too");
		js_free(&s);
		js_init(&s, lit, sizeof(lit), &counting);
		CHECK_INT(js_read_scalar(&s, &v), JS_NUMBER, "a 200-byte number converts through the allocator");
		{
			char		z[sizeof(lit) + 1];

			memcpy(z, lit, sizeof(lit));
			z[sizeof(lit)] = '\0';
			CHECK(same_double(v.number, strtod(z, NULL)), "the 200-byte number is what strtod says");
		}
		js_free(&s);
	}

	/* the scratch buffer is reused: an earlier decoded string is overwritten */
	{
		const char *text = "[\"x\\ty\", \"\\u00e9\", \"plain\"]";
		char	   *buf = copy(text, strlen(text));
		char		first[8];

		js_init(&s, buf, strlen(text), &counting);
		CHECK(js_enter_array(&s) && js_array_step(&s) == 1, "string array entered");
		CHECK(js_read_scalar(&s, &v) == JS_STRING && v.len == 3, "first decoded string");
		memcpy(first, v.str, 3);
		CHECK(memcmp(first, "x\ty", 3) == 0, "first decoded string is x<tab>y");
		CHECK(js_array_step(&s) == 1 && js_read_scalar(&s, &v) == JS_STRING &&
			  v.len == 2 && memcmp(v.str, "\xc3\xa9", 2) == 0, "second decoded string");
		CHECK(js_array_step(&s) == 1 && js_read_scalar(&s, &v) == JS_STRING &&
			  v.str == buf + (strstr(text, "plain") - text) && v.len == 5, "third string is zero-copy");
		CHECK(js_array_step(&s) == 0 && js_end(&s), "string array closed");
		js_free(&s);
		free(buf);
	}

	/* ---- js_peek */
	{
		static const struct
		{
			const char *text;
			js_type		want;
		}			peeks[] = {
			{"\"s\"", JS_STRING}, {"-1", JS_NUMBER}, {"0", JS_NUMBER}, {"9", JS_NUMBER},
			{"true", JS_TRUE}, {"false", JS_FALSE}, {"null", JS_NULL}, {" [1]", JS_ARRAY},
			{"\n{}", JS_OBJECT}, {"]", JS_ERROR}, {",", JS_ERROR}, {"", JS_ERROR}, {"x", JS_ERROR},
		};

		for (size_t i = 0; i < sizeof(peeks) / sizeof(peeks[0]); i++)
		{
			char		what[80];
			js_type		t;

			js_init(&s, peeks[i].text, strlen(peeks[i].text), &counting);
			t = js_peek(&s);
			snprintf(what, sizeof(what), "js_peek of '%s'", peeks[i].text);
			CHECK(t == peeks[i].want && (t == JS_ERROR) == (s.error != NULL), what);
			js_free(&s);
		}
		js_init(&s, " 12 ", 4, &counting);
		CHECK(js_peek(&s) == JS_NUMBER && js_peek(&s) == JS_NUMBER, "js_peek consumes nothing");
		CHECK(js_read_scalar(&s, &v) == JS_NUMBER && v.integer == 12 && js_end(&s), "the value is still there after js_peek");
		js_free(&s);
		js_init(&s, NULL, 0, &counting);
		CHECK(js_peek(&s) == JS_ERROR && strcmp(s.error, "unexpected end of input") == 0, "NULL text is empty input");
		js_free(&s);
	}

	/* ---- js_read_scalar on arrays and objects consumes nothing */
	js_init(&s, "[1]", 3, &counting);
	CHECK_INT(js_read_scalar(&s, &v), JS_ARRAY, "js_read_scalar says JS_ARRAY");
	CHECK(s.p == s.start && v.type == JS_ARRAY, "and consumes nothing");
	js_free(&s);
	js_init(&s, "{}", 2, &counting);
	CHECK_INT(js_read_scalar(&s, &v), JS_OBJECT, "js_read_scalar says JS_OBJECT");
	CHECK(s.p == s.start && js_skip(&s) && js_end(&s), "and js_skip skips it");
	js_free(&s);

	/* ---- arrays */
	expect_render("[]", "[]");
	expect_render(" [ ] ", "[]");
	expect_render("[0]", "[0]");
	expect_render("[3, 1, 4, 1, 5, 9, 2, 6]", "[3,1,4,1,5,9,2,6]");
	expect_render("[-1,0,-0,10,-123456789012345678]", "[-1,0,0,10,-123456789012345678]");
	expect_render("[\"cat\", \"dog\"]", "[\"cat\",\"dog\"]");
	expect_render("[[0,1,1],[1,0,0]]", "[[0,1,1],[1,0,0]]");
	expect_render("[[0.1, 0.9], [0.25,0.75]]", "[[~0.10000000000000001,~0.90000000000000002],[~0.25,~0.75]]");
	expect_render("[[1,2],[3]]", "[[1,2],[3]]");
	expect_render("[[],[[]],[[],[]]]", "[[],[[]],[[],[]]]");
	expect_render("[1,\"a\",true,false,null,1.5,{\"k\":[1,2]},[]]", "[1,\"a\",true,false,null,~1.5,{},[]]");
	expect_render(" \t\r\n[ \n1 ,\t2\r,\n[ 3 ,4 ] ,\"x\" ]\r\n\t ", "[1,2,[3,4],\"x\"]");
	expect_render("[1e2,1E-2,1.0]", "[~100,~0.01,~1]");
	expect_render("[1,2]   ", "[1,2]");
	expect_render("[9223372036854775807,-9223372036854775808,9223372036854775808]",
				  "[9223372036854775807,-9223372036854775808,~9.2233720368547758e+18]");
	expect_render("[1,]", "ERR:trailing comma before ']'@2");
	expect_render("[1, ]", "ERR:trailing comma before ']'@2");
	expect_render("[1 2]", "ERR:expected ',' or ']'@3");
	expect_render("[,1]", "ERR:expected value@1");
	expect_render("[ , 1]", "ERR:expected value@2");
	expect_render("[1,,2]", "ERR:expected value@3");
	expect_render("[1,2", "ERR:unexpected end of input@4");
	expect_render("[1,2, ", "ERR:unexpected end of input@6");
	expect_render("[", "ERR:unexpected end of input@1");
	expect_render("[1]]", "ERR:expected end of input@3");
	expect_render("[1] 2", "ERR:expected end of input@4");
	expect_render("[1}", "ERR:expected ',' or ']'@2");
	expect_render("[1,2,x]", "ERR:expected value@5");
	expect_render("[1,2a]", "ERR:expected ',' or ']'@4");
	expect_render("[01]", "ERR:invalid number@2");
	expect_render("[1,\"a\nb\"]", "ERR:control character in string@5");
	expect_render("[[1,2],[3,]]", "ERR:trailing comma before ']'@9");
	expect_render("[{\"a\":}]", "ERR:expected value@6");
	expect_render("[\f1]", "ERR:expected value@1");
	{
		js_init(&s, "]", 1, &counting);
		CHECK(!js_enter_array(&s) && strcmp(s.error, "expected '['") == 0 && s.error_pos == 0, "js_enter_array refuses ']'");
		js_free(&s);
		js_init(&s, "  ", 2, &counting);
		CHECK(!js_enter_array(&s) && strcmp(s.error, "unexpected end of input") == 0 && s.error_pos == 2, "js_enter_array at the end");
		js_free(&s);
		js_init(&s, "[1]]", 4, &counting);
		CHECK(js_enter_array(&s) && js_array_step(&s) == 1 && js_read_scalar(&s, &v) == JS_NUMBER &&
			  js_array_step(&s) == 0, "[1]] reads as [1]");
		CHECK(!js_end(&s) && s.error_pos == 3, "[1]] then js_end is false at 3");
		CHECK(js_array_step(&s) == -1 && js_peek(&s) == JS_ERROR && !js_skip(&s) && !js_enter_array(&s) &&
			  js_read_scalar(&s, &v) == JS_ERROR && v.type == JS_ERROR && !js_end(&s) && s.error_pos == 3,
			  "after an error every call fails and the first error stays");
		js_free(&s);
	}

	/* the out-of-line entry points behave as the inline ones */
	{
		int			(*step) (js_scanner *) = js_array_step;
		js_type		(*read) (js_scanner *, js_value *) = js_read_scalar;
		const char *text = "[7, \"q\", 2.5]";
		long long	sum = 0;
		int			r;

		js_init(&s, text, strlen(text), &counting);
		CHECK(js_enter_array(&s), "out-of-line: entered");
		while ((r = step(&s)) == 1)
		{
			js_type		t = read(&s, &v);

			sum += t == JS_NUMBER ? (long long) (v.number * 10) : (long long) v.len;
		}
		CHECK(r == 0 && js_end(&s) && sum == 96, "out-of-line js_array_step and js_read_scalar");
		js_free(&s);
	}

	/* a 100000-element array */
	{
		size_t		n = 100000;
		char	   *text = malloc(3 * n + 2);
		size_t		k = 0;
		long long	sum = 0;
		long long	want = 0;
		size_t		count = 0;
		int			r;

		text[k++] = '[';
		for (size_t i = 0; i < n; i++)
		{
			text[k++] = (char) ('0' + i % 10);
			want += (long long) (i % 10);
			if (i + 1 < n)
			{
				text[k++] = ',';
				text[k++] = ' ';
			}
		}
		text[k++] = ']';
		js_init(&s, text, k, &counting);
		CHECK(js_peek(&s) == JS_ARRAY && js_enter_array(&s), "big array entered");
		while ((r = js_array_step(&s)) == 1 && js_read_scalar(&s, &v) == JS_NUMBER)
		{
			sum += v.integer;
			count++;
		}
		CHECK(r == 0 && js_end(&s) && count == n && sum == want, "100000 elements read and summed");
		js_free(&s);
		free(text);
	}

	/* ---- js_skip */
	expect_skip("{}", NULL, 0);
	expect_skip("[]", NULL, 0);
	expect_skip(" 1 ", NULL, 0);
	expect_skip("-1.5e-3", NULL, 0);
	expect_skip("\"s\\u00e9\\ud83d\\ude00\"", NULL, 0);
	expect_skip("true", NULL, 0);
	expect_skip("null", NULL, 0);
	expect_skip("{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\",\"e\":{},\"f\":[]}", NULL, 0);
	expect_skip(" { \"a\" : [ 1 , { } ] , \"b\" : { \"c\" : { \"d\" : [ ] } } } ", NULL, 0);
	expect_skip("[[[[[[[[[[1]]]]]]]]]]", NULL, 0);
	expect_skip("{1:2}", "expected string as object key", 1);
	expect_skip("{\"a\" 1}", "expected ':'", 5);
	expect_skip("{\"a\":}", "expected value", 5);
	expect_skip("{\"a\":1,}", "expected string as object key", 7);
	expect_skip("{\"a\":1", "unexpected end of input", 6);
	expect_skip("{\"a\":1]", "expected ',' or '}'", 6);
	expect_skip("[1}", "expected ',' or ']'", 2);
	expect_skip("[1,]", "trailing comma before ']'", 2);
	expect_skip("[,]", "expected value", 1);
	expect_skip("{]", "expected string as object key", 1);
	expect_skip("[}", "expected value", 1);
	expect_skip("{,}", "expected string as object key", 1);
	expect_skip("[\"\\ud800\"]", "unpaired surrogate in string", 2);
	expect_skip("{\"\\q\":1}", "invalid escape in string", 2);
	expect_skip("{\"a\":\"\\u0000\"}", "\\u0000 is not allowed in string", 6);
	expect_skip("[1.]", "invalid number", 3);
	expect_skip("[tru]", "invalid literal", 4);
	expect_skip("1 2", "expected end of input", 2);
	expect_skip("", "unexpected end of input", 0);
	expect_skip("]", "expected value", 0);
	expect_render("[{\"x\":[1,2,{\"y\":\"]\"}]},2,{}]", "[{},2,{}]");

	/* nesting: JS_MAX_DEPTH is accepted, one more is an error, far more does not crash */
	{
		size_t		deep = 200000;
		char	   *text = malloc(2 * deep);
		const char *err2;
		size_t		pos2;

		for (size_t i = 0; i < deep; i++)
		{
			text[i] = '[';
			text[2 * deep - 1 - i] = ']';
		}
		{
			/* exactly JS_MAX_DEPTH: the middle of the text, so the brackets match */
			const char *mid = text + deep - JS_MAX_DEPTH;

			CHECK(skip_doc(mid, 2 * JS_MAX_DEPTH, &err2, &pos2), "nesting of JS_MAX_DEPTH is skipped");
		}
		CHECK(!skip_doc(text + deep - JS_MAX_DEPTH - 1, 2 * JS_MAX_DEPTH + 2, &err2, &pos2) &&
			  strcmp(err2, "nesting too deep") == 0 && pos2 == JS_MAX_DEPTH,
			  "nesting of JS_MAX_DEPTH + 1 is an error at the bracket too many");
		CHECK(!skip_doc(text, 2 * deep, &err2, &pos2) && strcmp(err2, "nesting too deep") == 0,
			  "nesting of 200000 is an error, not a crash");
		CHECK(!skip_doc(text, deep, &err2, &pos2) && strcmp(err2, "nesting too deep") == 0,
			  "200000 unclosed brackets are an error, not a crash");

		/* objects nested deeply: {"a":{"a":...}} */
		big = malloc(6 * 1100 + 1100);
		{
			size_t		k = 0;

			for (int i = 0; i < 1100; i++)
			{
				memcpy(big + k, "{\"a\":", 5);
				k += 5;
			}
			big[k++] = '1';
			for (int i = 0; i < 1100; i++)
				big[k++] = '}';
			CHECK(!skip_doc(big, k, &err2, &pos2) && strcmp(err2, "nesting too deep") == 0 &&
				  pos2 == 5 * JS_MAX_DEPTH, "objects nested 1100 deep are an error");
			CHECK(skip_doc(big + 5 * 100, k - 5 * 100 - 100, &err2, &pos2), "objects nested 1000 deep are skipped");
		}
		free(big);
		free(text);
	}
	/* js_skip leaves the scanner right after the value */
	js_init(&s, "[{\"a\":[1]} ,3]", 14, &counting);
	CHECK(js_enter_array(&s) && js_array_step(&s) == 1 && js_peek(&s) == JS_OBJECT && js_skip(&s), "skip an object element");
	CHECK(s.p == s.start + 10, "js_skip stops right after the object");
	CHECK(js_array_step(&s) == 1 && js_read_scalar(&s, &v) == JS_NUMBER && v.integer == 3 &&
		  js_array_step(&s) == 0 && js_end(&s), "the array goes on after the skipped object");
	js_free(&s);

	/* ---- truncated inputs: every strict prefix of a document is an error */
	every_prefix_fails("[]");
	every_prefix_fails("[0, 1, 1, 2]");
	every_prefix_fails("[\"cat\", \"dog\"]");
	every_prefix_fails("[[0,1,1],[1,0,0]]");
	every_prefix_fails("[[0.1, 0.9], [1e-3, -2.5E+10]]");
	every_prefix_fails("[true, false, null, -0, 123456789012345678901234]");
	every_prefix_fails("[\"\\u00e9\\ud83d\\ude00\\n\", {\"k\": [1, {\"z\": \"\\\"\"}]}, []]");
	every_prefix_fails("[9223372036854775807,-9223372036854775808]");
	/* and prefixes of scalars are errors or the value read so far */
	{
		const char *lit = "-123.456e-7";
		bool		ok = true;

		for (size_t n = 0; n <= strlen(lit); n++)
		{
			char		tmp[32];
			js_type		t;

			memcpy(tmp, lit, n);
			tmp[n] = '\0';
			t = read_one(lit, n, &v, &err, &pos);
			if (t == JS_ERROR ? (err == NULL || pos > n) : !same_double(v.number, strtod(tmp, NULL)))
				ok = false;
		}
		CHECK(ok, "every prefix of -123.456e-7 is an error or its own value");
	}

	CHECK_INT(live_blocks, 0, "every allocation was freed");
	return unit_done();
}
