/*
 * jsonscan_bench.c — micro-benchmark of the JSON scanner kernel
 * (src/util/jsonscan.c) on the arrays pg_mlops reads: 1,000,000 small
 * integer labels, 1,000,000 string labels, 500,000 probability rows, and
 * js_skip over the integer array.  Prints the best and median time of
 * several runs and the throughput.
 *
 *	cc -std=c11 -O2 -Isrc -o /tmp/jsonscan_bench test/bench/kernels/jsonscan_bench.c src/util/jsonscan.c -lm
 *	/tmp/jsonscan_bench [runs]
 */
#define _POSIX_C_SOURCE 199309L
#include "util/jsonscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum
{
	SHAPE_INTS,
	SHAPE_STRINGS,
	SHAPE_ROWS,
	SHAPE_SKIP
} shape;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;

static unsigned
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned) (rng >> 32);
}

/* make_text builds the document for a shape; *len gets its length. */
static char *
make_text(shape sh, size_t n, size_t *len)
{
	static const char *const names[] = {"cat", "dog", "bird", "fish"};
	char	   *text = malloc(n * 24 + 16);
	size_t		k = 0;

	text[k++] = '[';
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
		{
			text[k++] = ',';
			text[k++] = ' ';
		}
		if (sh == SHAPE_INTS || sh == SHAPE_SKIP)
			text[k++] = (char) ('0' + next_rand() % 10);
		else if (sh == SHAPE_STRINGS)
			k += (size_t) sprintf(text + k, "\"%s\"", names[next_rand() % 4]);
		else
		{
			unsigned	p = next_rand() % 10000;

			k += (size_t) sprintf(text + k, "[0.%04u, 0.%04u]", p, 10000 - p < 10000 ? 10000 - p : 0);
		}
	}
	text[k++] = ']';
	*len = k;
	return text;
}

static void
fail(const js_scanner *s)
{
	fprintf(stderr, "scan failed: %s at %zu\n", s->error ? s->error : "?", s->error_pos);
	exit(1);
}

/* scan_ints reads integer labels into out[], as the metrics code does; returns the count. */
static size_t
scan_ints(const char *text, size_t len, const mlops_allocator *a, int64_t *out)
{
	js_scanner	s;
	js_value	v;
	size_t		n = 0;
	int			r;

	js_init(&s, text, len, a);
	if (js_peek(&s) != JS_ARRAY || !js_enter_array(&s))
		fail(&s);
	while ((r = js_array_step(&s)) == 1)
	{
		if (js_read_scalar(&s, &v) != JS_NUMBER || !v.is_integer)
			fail(&s);
		out[n++] = v.integer;
	}
	if (r < 0 || !js_end(&s))
		fail(&s);
	js_free(&s);
	return n;
}

/* scan_strings adds up the lengths of string labels. */
static size_t
scan_strings(const char *text, size_t len, const mlops_allocator *a)
{
	js_scanner	s;
	js_value	v;
	size_t		total = 0;
	int			r;

	js_init(&s, text, len, a);
	if (js_peek(&s) != JS_ARRAY || !js_enter_array(&s))
		fail(&s);
	while ((r = js_array_step(&s)) == 1)
	{
		if (js_read_scalar(&s, &v) != JS_STRING)
			fail(&s);
		total += v.len;
	}
	if (r < 0 || !js_end(&s))
		fail(&s);
	js_free(&s);
	return total;
}

/* scan_rows reads probability rows into out[]; returns the count of numbers. */
static size_t
scan_rows(const char *text, size_t len, const mlops_allocator *a, double *out)
{
	js_scanner	s;
	js_value	v;
	size_t		n = 0;
	int			r;

	js_init(&s, text, len, a);
	if (js_peek(&s) != JS_ARRAY || !js_enter_array(&s))
		fail(&s);
	while ((r = js_array_step(&s)) == 1)
	{
		int			rr;

		if (!js_enter_array(&s))
			fail(&s);
		while ((rr = js_array_step(&s)) == 1)
		{
			if (js_read_scalar(&s, &v) != JS_NUMBER)
				fail(&s);
			out[n++] = v.number;
		}
		if (rr < 0)
			fail(&s);
	}
	if (r < 0 || !js_end(&s))
		fail(&s);
	js_free(&s);
	return n;
}

/* scan runs one shape; returns a checksum so that nothing is optimised away. */
static double
scan(shape sh, const char *text, size_t len, const mlops_allocator *a, void *out)
{
	js_scanner	s;

	switch (sh)
	{
		case SHAPE_INTS:
			return (double) scan_ints(text, len, a, out);
		case SHAPE_STRINGS:
			return (double) scan_strings(text, len, a);
		case SHAPE_ROWS:
			return (double) scan_rows(text, len, a, out);
		case SHAPE_SKIP:
			js_init(&s, text, len, a);
			if (!js_skip(&s) || !js_end(&s))
				fail(&s);
			js_free(&s);
			return 1;
	}
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static void
bench(const char *what, shape sh, size_t n, int runs)
{
	const mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;
	size_t		len;
	char	   *text = make_text(sh, n, &len);
	double	   *t = malloc(sizeof(double) * (size_t) runs);
	void	   *out = malloc(sizeof(double) * 2 * n);
	volatile double sink = 0;

	sink += scan(sh, text, len, &a, out);	/* warm up */
	for (int i = 0; i < runs; i++)
	{
		double		t0 = now_ms();

		sink += scan(sh, text, len, &a, out);
		t[i] = now_ms() - t0;
	}
	qsort(t, (size_t) runs, sizeof(double), cmp_double);
	printf("%-34s %8.2f MB  best %7.3f ms  median %7.3f ms  %7.0f MB/s  %6.2f ns/element\n",
		   what, len / 1e6, t[0], t[runs / 2], len / 1e6 / (t[runs / 2] / 1e3),
		   t[runs / 2] * 1e6 / (double) n);
	(void) sink;
	free(out);
	free(t);
	free(text);
}

int
main(int argc, char **argv)
{
	int			runs = argc > 1 ? atoi(argv[1]) : 21;

	if (runs < 1)
		runs = 1;
	bench("1M ints [3, 1, 4, ...]", SHAPE_INTS, 1000000, runs);
	bench("1M strings [\"cat\", \"dog\", ...]", SHAPE_STRINGS, 1000000, runs);
	bench("500k rows [[0.1234, 0.8766], ...]", SHAPE_ROWS, 500000, runs);
	bench("js_skip of the 1M ints", SHAPE_SKIP, 1000000, runs);
	return 0;
}
