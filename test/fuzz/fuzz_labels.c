/*
 * fuzz_labels.c — libFuzzer target for the label set kernel
 * (src/metrics/labels.c): the pure-C part behind mlops.confusion's text
 * input (its labels are interned, must be distinct, and are sorted into the
 * state's canonical order) and behind every metric's label decoding.
 *
 * The input is a script: a first byte choosing an allocator (malloc, or one
 * that fails the k-th allocation and, optionally, every 7th after it), then
 * operations: intern a number (small integers on the direct-indexed path,
 * -0.0, large and negative integers on the hash path), intern a string
 * (any bytes, NULs included, often a prefix of an earlier one), find a
 * number or a string.  A naive model (a list searched linearly) runs beside
 * the set.  Besides the sanitizers it checks that every answer is the
 * model's: codes dense in first-seen order, -0.0 the same label as 0, a
 * number refused in a set of strings and the reverse, a failed intern
 * (LABEL_ERR_NOMEM) leaving the labels as they were; then that each code
 * gives back its label (strings NUL-terminated after their bytes) and that
 * labels_sort is a permutation in strictly ascending order (numbers by
 * value, strings bytewise with a prefix first).
 */
#include "metrics/labels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_LABELS 2048

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Reader
{
	const uint8_t *p;
	size_t		left;
} Reader;

static uint8_t
next_byte(Reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

/* The failing allocator: allocation number fail_at fails, and every 7th after it when repeat. */
typedef struct FailCtx
{
	long		n;
	long		fail_at;			/* 0: never */
	int			repeat;
} FailCtx;

static int
should_fail(FailCtx *c)
{
	c->n++;
	if (c->fail_at == 0 || c->n < c->fail_at)
		return 0;
	return c->n == c->fail_at || (c->repeat && (c->n - c->fail_at) % 7 == 0);
}

static void *
fail_alloc(void *ctx, size_t size)
{
	return should_fail(ctx) ? NULL : malloc(size);
}

static void *
fail_realloc(void *ctx, void *ptr, size_t size)
{
	return should_fail(ctx) ? NULL : realloc(ptr, size);
}

static void
fail_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

/* The model: labels by code. */
static label_kind model_kind;
static int	model_count;
static double model_num[MAX_LABELS];
static uint8_t model_str[MAX_LABELS][32];
static size_t model_len[MAX_LABELS];

static int32_t
model_find_number(double v)
{
	if (model_kind != LABEL_KIND_NUMBER)
		return -1;
	for (int i = 0; i < model_count; i++)
		if (model_num[i] == v)
			return i;
	return -1;
}

static int32_t
model_find_string(const uint8_t *s, size_t len)
{
	if (model_kind != LABEL_KIND_STRING)
		return -1;
	for (int i = 0; i < model_count; i++)
		if (model_len[i] == len && memcmp(model_str[i], s, len) == 0)
			return i;
	return -1;
}

static double
next_number(Reader *r)
{
	static const double special[] = {-0.0, 0, 1, 4095, 4096, 4097, -1, 1e300, -1e300,
		9007199254740992.0, 9007199254740994.0, 2147483648.0, -2147483649.0, 65536};
	uint8_t		b = next_byte(r);

	switch (b % 4)
	{
		case 0:
			return (double) (next_byte(r) % 8);	/* the 0/1 case, many repeats */
		case 1:
			return (double) ((next_byte(r) << 8 | next_byte(r)) % 5000);	/* around the fast path's end */
		case 2:
			{
				int64_t		v = 0;

				for (int i = 0; i < 7; i++)
					v = v << 8 | next_byte(r);
				return (double) (b & 0x80 ? -v : v);
			}
		default:
			return special[next_byte(r) % (sizeof(special) / sizeof(special[0]))];
	}
}

/* next_string: up to 31 bytes, half the time a prefix or extension of an earlier label. */
static size_t
next_string(Reader *r, uint8_t *buf)
{
	uint8_t		b = next_byte(r);
	size_t		len = (size_t) (b & 0x1f);

	if ((b & 0x20) && model_kind == LABEL_KIND_STRING && model_count > 0)
	{
		int			from = next_byte(r) % model_count;
		size_t		keep = model_len[from] < len ? model_len[from] : len;

		memcpy(buf, model_str[from], keep);
		for (size_t i = keep; i < len; i++)
			buf[i] = next_byte(r);
		return len;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (b & 0x40) ? (uint8_t) ('a' + next_byte(r) % 3) : next_byte(r);
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader		r = {data, size};
	uint8_t		mode = next_byte(&r);
	FailCtx		fc = {0, 0, 0};
	mlops_allocator failing = {fail_alloc, fail_realloc, fail_free, &fc};
	label_set  *ls;
	int32_t    *order;
	int			nomem = 0;

	if (mode & 1)
	{
		fc.fail_at = 1 + next_byte(&r) % 64;
		fc.repeat = (mode & 2) != 0;
	}
	model_kind = LABEL_KIND_NONE;
	model_count = 0;
	ls = labels_create(&failing);
	if (ls == NULL)
	{
		REQUIRE(fc.fail_at == 1);
		return 0;
	}

	while (r.left > 0 && model_count < MAX_LABELS)
	{
		uint8_t		op = next_byte(&r) % 4;
		uint8_t		s[32];
		size_t		len;
		double		v;
		int32_t		got,
					want;

		switch (op)
		{
			case 0:
				v = next_number(&r);
				want = model_find_number(v);
				got = labels_intern_number(ls, v);
				if (model_kind == LABEL_KIND_STRING)
					REQUIRE(got == LABEL_ERR_KIND);
				else if (want >= 0)
					REQUIRE(got == want);
				else if (got == LABEL_ERR_NOMEM)
					nomem++;
				else
				{
					REQUIRE(got == model_count);
					model_kind = LABEL_KIND_NUMBER;
					model_num[model_count++] = v;
				}
				break;
			case 1:
				len = next_string(&r, s);
				want = model_find_string(s, len);
				got = labels_intern_string(ls, (const char *) s, len);
				if (model_kind == LABEL_KIND_NUMBER)
					REQUIRE(got == LABEL_ERR_KIND);
				else if (want >= 0)
					REQUIRE(got == want);
				else if (got == LABEL_ERR_NOMEM)
					nomem++;
				else
				{
					REQUIRE(got == model_count);
					model_kind = LABEL_KIND_STRING;
					memcpy(model_str[model_count], s, len);
					model_len[model_count++] = len;
				}
				break;
			case 2:
				v = next_number(&r);
				REQUIRE(labels_find_number(ls, v) == model_find_number(v));
				break;
			default:
				len = next_string(&r, s);
				REQUIRE(labels_find_string(ls, (const char *) s, len) == model_find_string(s, len));
				break;
		}
		REQUIRE(labels_count(ls) == (size_t) model_count);
		REQUIRE(labels_kind(ls) == model_kind);
	}
	REQUIRE(nomem == 0 || fc.fail_at != 0);

	for (int i = 0; i < model_count; i++)
	{
		if (model_kind == LABEL_KIND_NUMBER)
		{
			REQUIRE(labels_number(ls, i) == model_num[i]);
			REQUIRE(!signbit(labels_number(ls, i)) || labels_number(ls, i) != 0);
			REQUIRE(labels_find_number(ls, model_num[i]) == i);
		}
		else
		{
			size_t		len;
			const char *b = labels_string(ls, i, &len);

			REQUIRE(b != NULL && len == model_len[i]);
			REQUIRE(memcmp(b, model_str[i], len) == 0 && b[len] == '\0');
			REQUIRE(labels_find_string(ls, b, len) == i);
		}
	}
	REQUIRE(isnan(labels_number(ls, model_count)));
	REQUIRE(labels_string(ls, -1, NULL) == NULL);

	order = malloc(sizeof(int32_t) * (size_t) (model_count + 1));
	if (labels_sort(ls, order) == 0)
	{
		char	   *seen = calloc((size_t) model_count + 1, 1);

		for (int i = 0; i < model_count; i++)
		{
			REQUIRE(order[i] >= 0 && order[i] < model_count && !seen[order[i]]);
			seen[order[i]] = 1;
			if (i == 0)
				continue;
			if (model_kind == LABEL_KIND_NUMBER)
				REQUIRE(model_num[order[i - 1]] < model_num[order[i]]);
			else
			{
				size_t		la = model_len[order[i - 1]],
							lb = model_len[order[i]];
				int			c = memcmp(model_str[order[i - 1]], model_str[order[i]], la < lb ? la : lb);

				REQUIRE(c < 0 || (c == 0 && la < lb));
			}
		}
		free(seen);
	}
	else
		REQUIRE(fc.fail_at != 0);
	free(order);
	labels_destroy(ls);
	return 0;
}
