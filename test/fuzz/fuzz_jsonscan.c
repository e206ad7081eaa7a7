/*
 * fuzz_jsonscan.c — libFuzzer target for the JSON scanner kernel
 * (src/util/jsonscan.c).
 *
 * Each input is scanned three ways through the public API only:
 *	(a) as a caller reads label and probability arrays: peek, enter, step,
 *		read_scalar, entering nested arrays and skipping objects;
 *	(b) as one value passed to js_skip, then js_end;
 *	(c) as one scalar passed to js_read_scalar, then js_end.
 * Besides the sanitizers, it checks that errors carry a message and an
 * offset inside the text, that every number is what strtod (and strtoll)
 * make of the same literal, that escape-free strings point into the text,
 * and that the three ways agree on whether the document is valid.  The walk
 * runs again on the input followed by spaces, which lets the inline fast
 * paths (they stop JS_FAST_PAD bytes before the end) read all of it: it
 * must read the same values and reach the same verdict.
 */
#include "util/jsonscan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Deepest array the walk enters itself; deeper ones go to js_skip. */
#define WALK_DEPTH 64

static void
check_error(const js_scanner *s, size_t size)
{
	REQUIRE(s->error != NULL && s->error[0] != '\0');
	REQUIRE(s->error_pos <= size);
}

/* check_number compares v with strtod/strtoll of the literal [from, to). */
static void
check_number(const char *from, const char *to, const js_value *v)
{
	size_t		n = (size_t) (to - from);
	char	   *lit = malloc(n + 1);
	double		d;
	long long	ll;
	bool		integral;
	bool		fits;

	memcpy(lit, from, n);
	lit[n] = '\0';
	d = strtod(lit, NULL);
	REQUIRE(memcmp(&d, &v->number, sizeof(d)) == 0);
	integral = strpbrk(lit, ".eE") == NULL;
	errno = 0;
	ll = strtoll(lit, NULL, 10);
	fits = integral && errno == 0;
	REQUIRE(v->is_integer == fits);
	if (fits)
		REQUIRE(v->integer == ll);
	free(lit);
}

/* check_string: [from, to) is the string literal, quotes included. */
static void
check_string(const char *from, const char *to, const js_value *v)
{
	REQUIRE(*from == '"' && to - from >= 2 && to[-1] == '"');
	REQUIRE(v->len <= (size_t) (to - from) - 2);
	if (memchr(from, '\\', (size_t) (to - from)) == NULL)
		REQUIRE(v->str == from + 1 && v->len == (size_t) (to - from) - 2);	/* zero copy */
	else
		REQUIRE(memchr(v->str, '\0', v->len) == NULL);
}

/* mix folds a value into a checksum of what the walk read. */
static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/*
 * walk: (a), iteratively; returns true when the whole document was valid,
 * and in *sum a checksum of the values read.
 */
static bool
walk(const char *text, size_t size, const mlops_allocator *a, uint64_t *sum)
{
	js_scanner	s;
	js_value	v;
	int			depth;
	bool		ok = false;

	*sum = 14695981039346656037ULL;
	js_init(&s, text, size, a);
	if (js_peek(&s) != JS_ARRAY || !js_enter_array(&s))
	{
		js_free(&s);
		return false;
	}
	depth = 1;
	while (depth > 0)
	{
		int			r = js_array_step(&s);
		const char *before;
		js_type		t;

		if (r < 0)
			break;
		*sum = mix(*sum, &r, sizeof(r));
		if (r == 0)
		{
			depth--;
			continue;
		}
		/* an element follows: the scanner is at its first byte */
		REQUIRE(s.p < s.end && *s.p != ']' && *s.p != ',');
		before = s.p;
		t = js_read_scalar(&s, &v);
		REQUIRE(t == v.type);
		if (t == JS_ERROR)
			break;
		*sum = mix(*sum, &t, sizeof(t));
		if (t == JS_NUMBER)
		{
			check_number(before, s.p, &v);
			*sum = mix(*sum, &v.number, sizeof(v.number));
			*sum = mix(*sum, &v.is_integer, sizeof(v.is_integer));
			*sum = mix(*sum, &v.integer, sizeof(v.integer));
		}
		else if (t == JS_STRING)
		{
			check_string(before, s.p, &v);
			*sum = mix(*sum, v.str, v.len);
		}
		else if (t == JS_ARRAY)
		{
			REQUIRE(s.p == before && *before == '[');
			if (depth < WALK_DEPTH)
			{
				REQUIRE(js_enter_array(&s));
				depth++;
			}
			else if (!js_skip(&s))
				break;
		}
		else if (t == JS_OBJECT)
		{
			REQUIRE(s.p == before && *before == '{');
			if (!js_skip(&s))
				break;
		}
	}
	if (depth == 0)
		ok = js_end(&s);
	if (!ok)
		check_error(&s, size);
	else
		REQUIRE(s.error == NULL && s.p == s.end);
	js_free(&s);
	return ok;
}

/* skip_all: (b) */
static bool
skip_all(const char *text, size_t size, const mlops_allocator *a)
{
	js_scanner	s;
	bool		ok;

	js_init(&s, text, size, a);
	ok = js_skip(&s) && js_end(&s);
	if (!ok)
		check_error(&s, size);
	js_free(&s);
	return ok;
}

/* read_one: (c); returns the type read when the document is exactly one scalar */
static js_type
read_one(const char *text, size_t size, const mlops_allocator *a)
{
	js_scanner	s;
	js_value	v;
	js_type		t;
	const char *before;

	js_init(&s, text, size, a);
	before = s.p;
	t = js_read_scalar(&s, &v);
	if (t == JS_NUMBER)
		check_number(before, s.p, &v);
	else if (t == JS_STRING)
	{
		while (*before != '"')
			before++;
		check_string(before, s.p, &v);
	}
	if (t == JS_ERROR || !js_end(&s))
	{
		check_error(&s, size);
		t = JS_ERROR;
	}
	js_free(&s);
	return t;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;
	const char *text = (const char *) data;
	uint64_t	sum;
	uint64_t	padded_sum;
	bool		walked = walk(text, size, &a, &sum);
	bool		skipped = skip_all(text, size, &a);
	js_type		scalar = read_one(text, size, &a);
	js_scanner	s;
	js_type		first;
	char	   *padded = malloc(size + 2 * JS_FAST_PAD);

	memcpy(padded, text, size);
	memset(padded + size, ' ', 2 * JS_FAST_PAD);
	REQUIRE(walk(padded, size + 2 * JS_FAST_PAD, &a, &padded_sum) == walked);
	REQUIRE(padded_sum == sum);
	free(padded);

	/* what kind of document is it? */
	js_init(&s, text, size, &a);
	first = js_peek(&s);
	js_free(&s);

	if (first == JS_ARRAY)
		REQUIRE(walked == skipped);
	else
		REQUIRE(!walked);
	if (first != JS_ARRAY && first != JS_OBJECT)
		REQUIRE((scalar != JS_ERROR) == skipped);
	if (scalar != JS_ERROR)
		REQUIRE(scalar == first);
	return 0;
}
