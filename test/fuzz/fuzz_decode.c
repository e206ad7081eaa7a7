/*
 * fuzz_decode.c — libFuzzer target for the metrics' label decoder
 * (src/metrics/decode.c, glue) on json text, the form y_true and y_pred
 * take in mlops.accuracy(json, json) and the other metrics.  decode.c is
 * linked as it is, with test/fuzz/pgstub.c standing in for palloc and
 * ereport; the labels and the scanner are the kernels (labels.c,
 * jsonscan.c).
 *
 * The first byte picks what runs on the rest:
 *   0  DecodeTarget (one target);
 *   1  DecodeTarget twice into one label set (y_true, then y_pred: the text
 *      is cut at its first 0xFF byte, which JSON text never holds);
 *   2  DecodeNumbers;
 *   3  DecodeRows.
 *
 * Besides the sanitizers (and LeakSanitizer, after each input's palloc'd
 * blocks are freed as a memory context reset would), it checks that every
 * error is an ERROR with an errcode of class 22 (data exception), 53 or 54
 * and a message, and never an elog; that a decoded target of labels has one
 * code per element, each the code the label set gives that element's label
 * when the text is scanned again element by element (so the small-integer
 * fast path and the general path agree), with codes dense from 0; that
 * indicator rows hold n x width values of 0 or 1; and that numbers and rows
 * are finite, with row offsets rising from 0 to the count of values.
 */
#include "postgres.h"

#include <math.h>

#include "metrics/metrics_glue.h"
#include "pgstub.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the glue fills, outside the frame that longjmp leaves. */
static label_set *ls;
static Target t1,
			t2;
static double *vals;
static int64 nvals;
static int64 *offs;
static bool flat;

static Datum
make_text(const uint8_t *p, size_t len)
{
	text	   *v = palloc(VARHDRSZ + len);

	SET_VARSIZE(v, VARHDRSZ + len);
	memcpy(VARDATA(v), p, len);
	return PointerGetDatum(v);
}

/*
 * check_codes scans the text again and checks that element i has code
 * t->codes[i] in ls.
 */
static void
check_codes(const uint8_t *p, size_t len, const Target *t)
{
	static const mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;
	js_scanner	s;
	js_value	v;
	int64		i = 0;
	int			r;

	js_init(&s, (const char *) p, len, &a);
	REQUIRE(js_enter_array(&s));
	while ((r = js_array_step(&s)) > 0)
	{
		js_type		type = js_read_scalar(&s, &v);
		int32		want;

		REQUIRE(i < t->n);
		switch (type)
		{
			case JS_NUMBER:
				want = labels_find_number(ls, v.number);
				break;
			case JS_STRING:
				want = labels_find_string(ls, v.str, v.len);
				break;
			case JS_TRUE:
				want = labels_find_number(ls, 1.0);
				break;
			case JS_FALSE:
				want = labels_find_number(ls, 0.0);
				break;
			default:
				want = -1;
				REQUIRE(false);	/* decoded labels are scalars */
		}
		REQUIRE(want >= 0 && t->codes[i] == want);
		i++;
	}
	REQUIRE(r == 0 && i == t->n);
	js_free(&s);
}

static void
check_target(const uint8_t *p, size_t len, const Target *t)
{
	int64		count = (int64) labels_count(ls);

	REQUIRE(t->n >= 0 && t->n <= (int64) len);
	REQUIRE(t->bools >= 0 && t->bools <= t->n);
	if (t->rows)
	{
		REQUIRE(t->width >= 2 && t->n >= 1);
		for (int64 i = 0; i < t->n * t->width; i++)
			REQUIRE(t->ind[i] == 0 || t->ind[i] == 1);
		return;
	}
	if (t->continuous)
		return;					/* codes are placeholders: the caller refuses the target */
	for (int64 i = 0; i < t->n; i++)
		REQUIRE(t->codes[i] >= 0 && t->codes[i] < count);
	check_codes(p, len, t);
}

/* check_error: what ereport(ERROR) left behind is a user-facing error. */
static void
check_error(void)
{
	int			category = ERRCODE_TO_CATEGORY(pgstub_last.sqlerrcode);

	REQUIRE(pgstub_last.elevel == ERROR);
	REQUIRE(!pgstub_last.internal);
	REQUIRE(pgstub_last.message[0] != '\0');
	REQUIRE(category == ERRCODE_DATA_EXCEPTION ||
			category == ERRCODE_TO_CATEGORY(ERRCODE_INSUFFICIENT_RESOURCES) ||
			category == ERRCODE_TO_CATEGORY(ERRCODE_PROGRAM_LIMIT_EXCEEDED));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			mode;
	const uint8_t *p;
	size_t		len;
	const uint8_t *cut;
	size_t		len1;

	if (size == 0)
		return 0;
	mode = data[0] % 4;
	p = data + 1;
	len = size - 1;
	cut = memchr(p, 0xFF, len);
	len1 = cut ? (size_t) (cut - p) : len;

	memset(&t1, 0, sizeof(t1));
	memset(&t2, 0, sizeof(t2));
	vals = NULL;
	offs = NULL;
	nvals = -1;
	ls = labels_create(mlops_palloc_allocator());
	REQUIRE(ls != NULL);
	if (setjmp(pgstub_jmp) != 0)
	{
		check_error();
		pgstub_reset();
		return 0;
	}
	switch (mode)
	{
		case 0:
			DecodeTarget(make_text(p, len), false, "y_true", ls, &t1);
			check_target(p, len, &t1);
			/* every label came from this target: codes are dense from 0 */
			if (!t1.rows && !t1.continuous)
			{
				bool	   *seen = calloc(labels_count(ls) + 1, 1);

				for (int64 i = 0; i < t1.n; i++)
					seen[t1.codes[i]] = true;
				for (size_t c = 0; c < labels_count(ls); c++)
					REQUIRE(seen[c]);
				free(seen);
			}
			break;
		case 1:
			DecodeTarget(make_text(p, len1), false, "y_true", ls, &t1);
			DecodeTarget(make_text(cut ? cut + 1 : p, cut ? len - len1 - 1 : 0), false, "y_pred", ls, &t2);
			check_target(p, len1, &t1);
			check_target(cut ? cut + 1 : p, cut ? len - len1 - 1 : 0, &t2);
			break;
		case 2:
			vals = DecodeNumbers(make_text(p, len), false, "y", &nvals);
			REQUIRE(vals != NULL && nvals >= 0 && nvals <= (int64) len);
			for (int64 i = 0; i < nvals; i++)
				REQUIRE(isfinite(vals[i]));
			break;
		default:
			vals = DecodeRows(make_text(p, len), false, "x", &nvals, &offs, &flat);
			REQUIRE(vals != NULL && offs != NULL && nvals >= 0);
			REQUIRE(offs[0] == 0);
			REQUIRE(!flat || nvals == 1);
			for (int64 i = 0; i < nvals; i++)
				REQUIRE(offs[i + 1] >= offs[i]);
			for (int64 i = 0; i < offs[nvals]; i++)
				REQUIRE(isfinite(vals[i]));
			break;
	}
	pgstub_reset();
	return 0;
}
