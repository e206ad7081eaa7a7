/*
 * test_labels.c — unit tests of the label-interning kernel (src/metrics/labels.c).
 */
#include "metrics/labels.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

/*
 * A counting allocator over malloc that fails every request once "budget"
 * requests have succeeded (budget < 0: never fails).  live counts the blocks
 * not yet freed.
 */
typedef struct counting_ctx
{
	long		budget;
	long		calls;
	long		live;
} counting_ctx;

static void *
counting_alloc(void *ctx, size_t size)
{
	counting_ctx *c = ctx;
	void	   *p;

	if (c->budget >= 0 && c->calls >= c->budget)
		return NULL;
	p = malloc(size);
	if (p != NULL)
	{
		c->calls++;
		c->live++;
	}
	return p;
}

static void *
counting_realloc(void *ctx, void *ptr, size_t size)
{
	counting_ctx *c = ctx;
	void	   *p;

	if (c->budget >= 0 && c->calls >= c->budget)
		return NULL;
	p = realloc(ptr, size);
	if (p != NULL)
		c->calls++;
	return p;
}

static void
counting_free(void *ctx, void *ptr)
{
	counting_ctx *c = ctx;

	if (ptr != NULL)
		c->live--;
	free(ptr);
}

static const mlops_allocator malloc_allocator = MLOPS_MALLOC_ALLOCATOR;

/* intern_cstr interns a NUL-terminated string. */
static int32_t
intern_cstr(label_set *ls, const char *s)
{
	return labels_intern_string(ls, s, strlen(s));
}

/* string_is says whether code's label is exactly the len bytes at want. */
static int
string_is(const label_set *ls, int32_t code, const char *want, size_t wantlen)
{
	size_t		len = (size_t) -1;
	const char *s = labels_string(ls, code, &len);

	return s != NULL && len == wantlen && memcmp(s, want, wantlen) == 0 && s[len] == '\0';
}

static void
test_numbers(void)
{
	label_set  *ls = labels_create(&malloc_allocator);

	CHECK(ls != NULL, "create");
	CHECK_INT(labels_count(ls), 0, "empty set has no labels");
	CHECK_INT(labels_kind(ls), LABEL_KIND_NONE, "empty set has no kind");
	CHECK_INT(labels_find_number(ls, 0.0), -1, "find in an empty set");
	CHECK_INT(labels_find_string(ls, "a", 1), -1, "find a string in an empty set");

	/* codes in first-seen order */
	CHECK_INT(labels_intern_number(ls, 3.0), 0, "3 -> 0");
	CHECK_INT(labels_kind(ls), LABEL_KIND_NUMBER, "kind is number");
	CHECK_INT(labels_intern_number(ls, 1.0), 1, "1 -> 1");
	CHECK_INT(labels_intern_number(ls, 3.0), 0, "3 again -> 0");
	CHECK_INT(labels_intern_number(ls, 1.0), 1, "1.0 (also true) again -> 1");
	CHECK_INT(labels_intern_number(ls, 0.0), 2, "0 -> 2");
	CHECK_INT(labels_intern_number(ls, -0.0), 2, "-0.0 is 0");
	CHECK_INT(labels_count(ls), 3, "three labels");

	/* boundaries of the direct table and the hash path */
	CHECK_INT(labels_intern_number(ls, 4095.0), 3, "4095 (last direct) -> 3");
	CHECK_INT(labels_intern_number(ls, 4096.0), 4, "4096 (first hashed) -> 4");
	CHECK_INT(labels_intern_number(ls, -1.0), 5, "-1 -> 5");
	CHECK_INT(labels_intern_number(ls, 1e15), 6, "1e15 -> 6");
	CHECK_INT(labels_intern_number(ls, 9007199254740992.0), 7, "2^53 -> 7");
	CHECK_INT(labels_intern_number(ls, -9007199254740992.0), 8, "-2^53 -> 8");
	CHECK_INT(labels_intern_number(ls, 4095.0), 3, "4095 again");
	CHECK_INT(labels_intern_number(ls, 4096.0), 4, "4096 again");
	CHECK_INT(labels_intern_number(ls, -1.0), 5, "-1 again");
	CHECK_INT(labels_intern_number(ls, 1e15), 6, "1e15 again");
	CHECK_INT(labels_intern_number(ls, 9007199254740992.0), 7, "2^53 again");
	CHECK_INT(labels_intern_number(ls, 9007199254740993.0), 7, "2^53+1 is 2^53 as a double");
	CHECK_INT(labels_intern_number(ls, 9007199254740994.0), 9, "2^53+2 is new");
	CHECK_INT(labels_count(ls), 10, "ten labels");

	/* find */
	CHECK_INT(labels_find_number(ls, 3.0), 0, "find 3");
	CHECK_INT(labels_find_number(ls, -0.0), 2, "find -0.0");
	CHECK_INT(labels_find_number(ls, 4095.0), 3, "find 4095");
	CHECK_INT(labels_find_number(ls, 4096.0), 4, "find 4096");
	CHECK_INT(labels_find_number(ls, 1e15), 6, "find 1e15");
	CHECK_INT(labels_find_number(ls, 2.0), -1, "find absent small");
	CHECK_INT(labels_find_number(ls, 4097.0), -1, "find absent 4097");
	CHECK_INT(labels_find_number(ls, -2.0), -1, "find absent -2");
	CHECK_INT(labels_find_string(ls, "3", 1), -1, "find a string in a set of numbers");

	/* values behind codes */
	CHECK_NEAR(labels_number(ls, 0), 3.0, 0, "code 0 is 3");
	CHECK_NEAR(labels_number(ls, 2), 0.0, 0, "code 2 is 0");
	CHECK(!signbit(labels_number(ls, 2)), "code 2 is +0.0");
	CHECK_NEAR(labels_number(ls, 5), -1.0, 0, "code 5 is -1");
	CHECK_NEAR(labels_number(ls, 7), 9007199254740992.0, 0, "code 7 is 2^53");

	/* a string into a set of numbers: refused, nothing changes */
	CHECK_INT(intern_cstr(ls, "a"), LABEL_ERR_KIND, "string into numbers");
	CHECK_INT(labels_count(ls), 10, "count unchanged after kind error");
	CHECK_INT(labels_kind(ls), LABEL_KIND_NUMBER, "kind unchanged after kind error");
	CHECK_INT(labels_intern_number(ls, 4096.0), 4, "codes unchanged after kind error");
	CHECK_INT(labels_intern_number(ls, 17.0), 10, "next code after kind error is 10");

	labels_destroy(ls);
	labels_destroy(NULL);
}

static void
test_strings(void)
{
	label_set  *ls = labels_create(&malloc_allocator);
	const char	bin[] = {'a', '\0', 'b'};
	const char	bin2[] = {'a', '\0', 'c'};

	CHECK_INT(intern_cstr(ls, "cat"), 0, "cat -> 0");
	CHECK_INT(labels_kind(ls), LABEL_KIND_STRING, "kind is string");
	CHECK_INT(intern_cstr(ls, "dog"), 1, "dog -> 1");
	CHECK_INT(intern_cstr(ls, "cat"), 0, "cat again -> 0");
	CHECK_INT(intern_cstr(ls, ""), 2, "empty string -> 2");
	CHECK_INT(intern_cstr(ls, ""), 2, "empty string again -> 2");
	CHECK_INT(labels_intern_string(ls, NULL, 0), 2, "NULL with length 0 is the empty string");
	CHECK_INT(intern_cstr(ls, "ca"), 3, "prefix ca -> 3");
	CHECK_INT(intern_cstr(ls, "catalogue"), 4, "extension catalogue -> 4");
	CHECK_INT(intern_cstr(ls, "caf\xc3\xa9"), 5, "caf\\xc3\\xa9 -> 5");
	CHECK_INT(intern_cstr(ls, "caf\xc3\xa8"), 6, "caf\\xc3\\xa8 -> 6 (differs in a high byte)");
	CHECK_INT(intern_cstr(ls, "\xff\xfe\x80"), 7, "bytes >= 0x80 -> 7");
	CHECK_INT(labels_intern_string(ls, bin, 3), 8, "embedded NUL -> 8");
	CHECK_INT(labels_intern_string(ls, bin, 1), 9, "its prefix \"a\" -> 9");
	CHECK_INT(labels_intern_string(ls, bin2, 3), 10, "other embedded NUL string -> 10");
	CHECK_INT(labels_intern_string(ls, bin, 2), 11, "\"a\\0\" -> 11");
	CHECK_INT(labels_intern_string(ls, bin, 3), 8, "embedded NUL again -> 8");
	CHECK_INT(intern_cstr(ls, "caf\xc3\xa9"), 5, "caf\\xc3\\xa9 again -> 5");
	CHECK_INT(intern_cstr(ls, "abcdefgh"), 12, "8 bytes -> 12");
	CHECK_INT(intern_cstr(ls, "abcdefghi"), 13, "9 bytes -> 13");
	CHECK_INT(intern_cstr(ls, "abcdefg"), 14, "7 bytes -> 14");
	CHECK_INT(labels_count(ls), 15, "fifteen labels");

	CHECK(string_is(ls, 0, "cat", 3), "code 0 is cat");
	CHECK(string_is(ls, 2, "", 0), "code 2 is empty");
	CHECK(string_is(ls, 5, "caf\xc3\xa9", 5), "code 5 bytes");
	CHECK(string_is(ls, 8, bin, 3), "code 8 keeps its NUL");
	CHECK(string_is(ls, 11, bin, 2), "code 11 is a, NUL");
	CHECK(string_is(ls, 13, "abcdefghi", 9), "code 13");

	CHECK_INT(labels_find_string(ls, "dog", 3), 1, "find dog");
	CHECK_INT(labels_find_string(ls, "", 0), 2, "find empty");
	CHECK_INT(labels_find_string(ls, bin, 3), 8, "find embedded NUL");
	CHECK_INT(labels_find_string(ls, "do", 2), -1, "find absent prefix");
	CHECK_INT(labels_find_string(ls, "dogs", 4), -1, "find absent extension");
	CHECK_INT(labels_find_string(ls, "Cat", 3), -1, "find is case-sensitive");
	CHECK_INT(labels_find_number(ls, 0.0), -1, "find a number in a set of strings");

	/* a number into a set of strings: refused, nothing changes */
	CHECK_INT(labels_intern_number(ls, 1.0), LABEL_ERR_KIND, "1 into strings");
	CHECK_INT(labels_intern_number(ls, 1e15), LABEL_ERR_KIND, "1e15 into strings");
	CHECK_INT(labels_count(ls), 15, "count unchanged after kind error");
	CHECK_INT(labels_kind(ls), LABEL_KIND_STRING, "kind unchanged after kind error");
	CHECK_INT(intern_cstr(ls, "dog"), 1, "codes unchanged after kind error");
	CHECK_INT(intern_cstr(ls, "emu"), 15, "next code after kind error is 15");

	/* each byte position matters, for every length class of the hash */
	{
		char		buf[48];
		int			bad = 0;
		label_set  *ls2 = labels_create(&malloc_allocator);
		int32_t		next = 0;

		for (size_t len = 1; len <= sizeof(buf); len++)
		{
			int32_t		base;

			memset(buf, 'q', len);
			base = labels_intern_string(ls2, buf, len);
			if (base != next++)
				bad++;
			for (size_t pos = 0; pos < len; pos++)
			{
				buf[pos] = 'r';
				if (labels_intern_string(ls2, buf, len) != next++)
					bad++;
				buf[pos] = 'q';
			}
			if (labels_find_string(ls2, buf, len) != base)
				bad++;
		}
		CHECK_INT(bad, 0, "strings of 1..48 bytes differing in any one byte are distinct");
		labels_destroy(ls2);
	}

	labels_destroy(ls);
}

/* sorted_is says whether labels_sort gives the codes in want[0 .. n-1]. */
static int
sorted_is(const label_set *ls, const int32_t *want, size_t n)
{
	int32_t		order[64];

	if (labels_count(ls) != n || n > 64)
		return 0;
	if (labels_sort(ls, order) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (order[i] != want[i])
		{
			printf("# order:");
			for (size_t j = 0; j < n; j++)
				printf(" %d", (int) order[j]);
			printf("\n");
			return 0;
		}
	return 1;
}

static void
test_sort(void)
{
	label_set  *ls = labels_create(&malloc_allocator);
	int32_t		order[1];

	CHECK_INT(labels_sort(ls, order), 0, "sorting an empty set");

	/* numbers ascending, both paths mixed */
	{
		const double values[] = {5, -3, 1e15, 0, 4096, -1e15, 2, 4095, -1, 9007199254740992.0};
		/* -1e15 < -3 < -1 < 0 < 2 < 5 < 4095 < 4096 < 1e15 < 2^53 */
		const int32_t want[] = {5, 1, 8, 3, 6, 0, 7, 4, 2, 9};

		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			labels_intern_number(ls, values[i]);
		CHECK(sorted_is(ls, want, 10), "numbers sort ascending");
	}
	labels_destroy(ls);

	/* strings bytewise: a prefix first, upper case before lower, UTF-8 after ASCII */
	ls = labels_create(&malloc_allocator);
	{
		const char *values[] = {"b", "aa", "\xc3\xa9", "a", "z", "Z", "", "ab", "\xc3\xa9t\xc3\xa9", "\x7f"};
		/* "" < "Z" < "a" < "aa" < "ab" < "b" < "z" < 0x7f < "é" < "été" */
		const int32_t want[] = {6, 5, 3, 1, 7, 0, 4, 9, 2, 8};

		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			intern_cstr(ls, values[i]);
		CHECK(sorted_is(ls, want, 10), "strings sort bytewise, prefix first, \xc3\xa9 after z");
	}
	labels_destroy(ls);

	/* one label */
	ls = labels_create(&malloc_allocator);
	intern_cstr(ls, "only");
	CHECK(labels_sort(ls, order) == 0 && order[0] == 0, "one label sorts to itself");
	labels_destroy(ls);
}

static void
test_growth(void)
{
	const int	n = 200000;
	label_set  *ls = labels_create(&malloc_allocator);
	int			bad;
	int32_t    *order;
	char		buf[32];

	/* numbers: small, negative, large and non-small integers, interleaved */
	bad = 0;
	for (int i = 0; i < n; i++)
	{
		double		v = (i % 2 == 0) ? (double) (i / 2) : -1.0 - (double) i * 1e6;

		if (labels_intern_number(ls, v) != i)
			bad++;
	}
	CHECK_INT(bad, 0, "200000 distinct numbers get codes 0..n-1");
	CHECK_INT(labels_count(ls), n, "200000 numbers counted");
	bad = 0;
	for (int i = 0; i < n; i++)
	{
		double		v = (i % 2 == 0) ? (double) (i / 2) : -1.0 - (double) i * 1e6;

		if (labels_intern_number(ls, v) != i || labels_find_number(ls, v) != i || labels_number(ls, i) != v)
			bad++;
	}
	CHECK_INT(bad, 0, "every number round-trips");
	order = malloc(sizeof(int32_t) * (size_t) n);
	CHECK_INT(labels_sort(ls, order), 0, "sort 200000 numbers");
	bad = 0;
	for (int i = 1; i < n; i++)
		if (!(labels_number(ls, order[i - 1]) < labels_number(ls, order[i])))
			bad++;
	CHECK_INT(bad, 0, "200000 numbers in ascending order");
	labels_destroy(ls);

	/* strings */
	ls = labels_create(&malloc_allocator);
	bad = 0;
	for (int i = 0; i < n; i++)
	{
		int			len = snprintf(buf, sizeof(buf), "label-%d", i);

		if (labels_intern_string(ls, buf, (size_t) len) != i)
			bad++;
	}
	CHECK_INT(bad, 0, "200000 distinct strings get codes 0..n-1");
	CHECK_INT(labels_count(ls), n, "200000 strings counted");
	bad = 0;
	for (int i = 0; i < n; i++)
	{
		int			len = snprintf(buf, sizeof(buf), "label-%d", i);

		if (labels_intern_string(ls, buf, (size_t) len) != i ||
			labels_find_string(ls, buf, (size_t) len) != i ||
			!string_is(ls, i, buf, (size_t) len))
			bad++;
	}
	CHECK_INT(bad, 0, "every string round-trips");
	CHECK_INT(labels_sort(ls, order), 0, "sort 200000 strings");
	bad = 0;
	for (int i = 1; i < n; i++)
	{
		size_t		la, lb;
		const char *a = labels_string(ls, order[i - 1], &la);
		const char *b = labels_string(ls, order[i], &lb);
		int			c = memcmp(a, b, la < lb ? la : lb);

		if (!(c < 0 || (c == 0 && la < lb)))
			bad++;
	}
	CHECK_INT(bad, 0, "200000 strings in bytewise order");
	free(order);
	labels_destroy(ls);
}

/*
 * run_numbers interns a workload of numbers; returns the first error, or 0.
 * The workload covers the direct table, the hash table and their growth.
 */
static int
run_numbers(label_set *ls, int *done)
{
	for (int i = *done; i < 3000; i++)
	{
		double		v = (i % 3 == 0) ? (double) i : -1.0 - (double) i;
		int32_t		c = labels_intern_number(ls, v);

		if (c < 0)
			return c;
		if (c != i)
			return 1;
		*done = i + 1;
	}
	return 0;
}

/*
 * workload_string writes the i-th string of the string workload to buf (at
 * least 8192 bytes) and returns its length; some are longer than an arena
 * chunk.
 */
static size_t
workload_string(int i, char *buf)
{
	int			len = snprintf(buf, 16, "s%d", i);

	if (i % 500 == 7)
	{
		memset(buf + len, 'x', (size_t) (5000 + i - len));
		len = 5000 + i;
	}
	return (size_t) len;
}

/* run_strings: the same with strings. */
static int
run_strings(label_set *ls, int *done)
{
	char		buf[8192];

	for (int i = *done; i < 3000; i++)
	{
		size_t		len = workload_string(i, buf);
		int32_t		c = labels_intern_string(ls, buf, len);

		if (c < 0)
			return c;
		if (c != i)
			return 1;
		*done = i + 1;
	}
	return 0;
}

static void
test_nomem(void)
{
	counting_ctx ctx;
	mlops_allocator a = {counting_alloc, counting_realloc, counting_free, &ctx};
	int			kinds;

	/* create itself */
	ctx.budget = 0;
	ctx.calls = ctx.live = 0;
	CHECK(labels_create(&a) == NULL, "create with a failing allocator gives NULL");
	CHECK_INT(ctx.live, 0, "nothing leaked by a failed create");

	/*
	 * For every budget: run the workload until it fails, check the failure is
	 * NOMEM, that the set still holds what it had, then lift the limit and
	 * finish; nothing may leak.
	 */
	for (kinds = 0; kinds < 2; kinds++)
	{
		long		needed;
		int			nomem_seen = 0,
					wrong = 0,
					leaks = 0,
					resumed_bad = 0;

		/* how many allocations the whole workload takes */
		ctx.budget = -1;
		ctx.calls = ctx.live = 0;
		{
			label_set  *ls = labels_create(&a);
			int			done = 0;

			if ((kinds == 0 ? run_numbers(ls, &done) : run_strings(ls, &done)) != 0)
				wrong++;
			labels_destroy(ls);
		}
		needed = ctx.calls;
		CHECK(needed > 5, kinds == 0 ? "number workload allocates" : "string workload allocates");

		for (long budget = 1; budget <= needed; budget++)
		{
			label_set  *ls;
			int			done = 0;
			int			rc;

			ctx.budget = budget;
			ctx.calls = ctx.live = 0;
			ls = labels_create(&a);
			if (ls == NULL)
			{
				wrong++;
				continue;
			}
			rc = kinds == 0 ? run_numbers(ls, &done) : run_strings(ls, &done);
			if (budget < needed)
			{
				if (rc == LABEL_ERR_NOMEM)
					nomem_seen++;
				else
					wrong++;
				if ((int) labels_count(ls) != done)
					wrong++;
				if (done == 0 && labels_kind(ls) != LABEL_KIND_NONE)
					wrong++;
				/* what was interned before the failure is intact */
				for (int i = 0; i < done; i++)
				{
					int32_t		f;

					if (kinds == 0)
						f = labels_find_number(ls, (i % 3 == 0) ? (double) i : -1.0 - (double) i);
					else
					{
						char		buf[8192];
						size_t		len = workload_string(i, buf);

						f = labels_find_string(ls, buf, len);
					}
					if (f != i)
						wrong++;
				}
				/* sorting may fail too, but only with NOMEM */
				if (done > 0)
				{
					int32_t    *order = malloc(sizeof(int32_t) * (size_t) done);
					int			src = labels_sort(ls, order);

					if (src != 0 && src != LABEL_ERR_NOMEM)
						wrong++;
					free(order);
				}
				/* lift the limit: the rest goes in with the right codes */
				ctx.budget = -1;
				if ((kinds == 0 ? run_numbers(ls, &done) : run_strings(ls, &done)) != 0 || done != 3000)
					resumed_bad++;
			}
			else if (rc != 0)
				wrong++;
			labels_destroy(ls);
			if (ctx.live != 0)
				leaks++;
		}
		CHECK(nomem_seen == needed - 1, kinds == 0 ? "every short budget gives NOMEM (numbers)" : "every short budget gives NOMEM (strings)");
		CHECK_INT(wrong, 0, kinds == 0 ? "set intact after NOMEM (numbers)" : "set intact after NOMEM (strings)");
		CHECK_INT(resumed_bad, 0, kinds == 0 ? "interning resumes after NOMEM (numbers)" : "interning resumes after NOMEM (strings)");
		CHECK_INT(leaks, 0, kinds == 0 ? "no leaks after NOMEM (numbers)" : "no leaks after NOMEM (strings)");
	}

	/* labels_sort reports NOMEM */
	ctx.budget = -1;
	ctx.calls = ctx.live = 0;
	{
		label_set  *ls = labels_create(&a);
		int32_t		order[2];

		labels_intern_number(ls, 2.0);
		labels_intern_number(ls, 1.0);
		ctx.budget = ctx.calls;
		CHECK_INT(labels_sort(ls, order), LABEL_ERR_NOMEM, "sort with a failing allocator gives NOMEM");
		ctx.budget = -1;
		CHECK(labels_sort(ls, order) == 0 && order[0] == 1 && order[1] == 0, "sort works once memory is back");
		labels_destroy(ls);
		CHECK_INT(ctx.live, 0, "no leaks after sort NOMEM");
	}

	/* a failed first intern leaves the set empty and of no kind */
	ctx.budget = -1;
	ctx.calls = ctx.live = 0;
	{
		label_set  *ls = labels_create(&a);

		ctx.budget = ctx.calls;
		CHECK_INT(labels_intern_number(ls, 1e15), LABEL_ERR_NOMEM, "first intern, no memory");
		CHECK_INT(labels_kind(ls), LABEL_KIND_NONE, "still no kind");
		CHECK_INT(intern_cstr(ls, "x"), LABEL_ERR_NOMEM, "a string may still be tried, no memory");
		CHECK_INT(labels_count(ls), 0, "still empty");
		ctx.budget = -1;
		CHECK_INT(intern_cstr(ls, "x"), 0, "then a string goes in");
		labels_destroy(ls);
		CHECK_INT(ctx.live, 0, "no leaks");
	}
}

int
main(void)
{
	test_numbers();
	test_strings();
	test_sort();
	test_growth();
	test_nomem();

	/*
	 * LABEL_ERR_TOO_MANY is not tested: reaching LABEL_MAX_COUNT (2^24)
	 * distinct labels takes about a gigabyte and seconds under the
	 * sanitizers.
	 */
	return unit_done();
}
