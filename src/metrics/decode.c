/*-------------------------------------------------------------------------
 *
 * decode.c
 *	  Reading metric arguments: json text through the jsonscan kernel, jsonb
 *	  through its binary layout (no iterator, no JsonbValue per element),
 *	  float8[] through deconstruct.  Labels are interned as they are read.
 *	  Errors name the argument and the element.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "metrics/metrics_glue.h"

static double NumericValue(Numeric num, bool *integral, bool *int_literal);
static void ScanError(JIter *it) pg_attribute_noreturn();
static void *GrowArray(void *p, int64 *cap, int64 need, size_t elsize);
static void ElemFromJs(JIter *it, js_type type, const js_value *v, Elem *e);
static int64 SmallLabelsFromJsonb(JIter *it, label_set *ls, int32 *cache, int32 *out,
									const char *argname, int64 n0);

/* Labels 0 .. SMALL_LABELS-1 have their codes cached in DecodeTarget's fast paths. */
#define SMALL_LABELS 256

/*
 * GrowArray makes room for need elements, doubling; a palloc'd array.
 */
static void *
GrowArray(void *p, int64 *cap, int64 need, size_t elsize)
{
	int64		newcap;

	if (need <= *cap)
		return p;
	newcap = Max(*cap * 2, Max(need, 64));
	if ((Size) newcap * elsize >= MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("array is too large")));
	*cap = newcap;
	if (p == NULL)
		return palloc_extended((Size) newcap * elsize, MCXT_ALLOC_HUGE);
	return repalloc_huge(p, (Size) newcap * elsize);
}

static void
ScanError(JIter *it)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("%s is not valid JSON: %s at byte %zu",
					it->argname, it->s->error ? it->s->error : "syntax error",
					it->s->error_pos)));
}

/*
 * JIterStart opens the top-level array of a json or jsonb value.
 */
void
JIterStart(JIter *it, Datum d, bool jsonb, const char *argname, js_scanner *scanner)
{
	memset(it, 0, sizeof(*it));
	it->jsonb = jsonb;
	it->argname = argname;

	if (jsonb)
	{
		Jsonb	   *jb = DatumGetJsonbP(d);
		JsonbContainer *c = &jb->root;

		if (!(c->header & JB_FARRAY) || (c->header & JB_FSCALAR))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a JSON array", argname)));
		it->container = c;
		it->count = c->header & JB_CMASK;
	}
	else
	{
		text	   *t = DatumGetTextPP(d);

		it->s = scanner;
		js_init(scanner, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), mlops_palloc_allocator());
		if (js_peek(scanner) != JS_ARRAY)
		{
			if (scanner->error && scanner->p >= scanner->end)
				ScanError(it);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a JSON array", argname)));
		}
		if (!js_enter_array(scanner))
			ScanError(it);
	}
}

/*
 * JIterNext reads the next element of the array.
 */
bool
JIterNext(JIter *it, Elem *e)
{
	if (it->jsonb)
	{
		JsonbContainer *c = (JsonbContainer *) it->container;
		JEntry		je;
		uint32		start = it->off;
		char	   *base;

		if (it->i >= it->count)
			return false;
		je = c->children[it->i];
		base = (char *) &c->children[it->count];
		JBE_ADVANCE_OFFSET(it->off, je);
		it->i++;

		switch (je & JENTRY_TYPEMASK)
		{
			case JENTRY_ISSTRING:
				e->type = ELEM_STRING;
				e->str = base + start;
				e->len = it->off - start;
				break;
			case JENTRY_ISNUMERIC:
				e->type = ELEM_NUMBER;
				e->num = NumericValue((Numeric) (base + INTALIGN(start)),
									  &e->integral, &e->int_literal);
				break;
			case JENTRY_ISBOOL_TRUE:
				e->type = ELEM_TRUE;
				e->num = 1.0;
				e->integral = true;
				e->int_literal = true;
				break;
			case JENTRY_ISBOOL_FALSE:
				e->type = ELEM_FALSE;
				e->num = 0.0;
				e->integral = true;
				e->int_literal = true;
				break;
			case JENTRY_ISNULL:
				e->type = ELEM_NULL;
				break;
			default:
				{
					JsonbContainer *child = (JsonbContainer *) (base + INTALIGN(start));

					it->child = child;
					e->type = (child->header & JB_FARRAY) ? ELEM_ARRAY : ELEM_OBJECT;
				}
				break;
		}
		return true;
	}
	else
	{
		js_value	v;
		int			r = js_array_step(it->s);

		if (r == 0)
			return false;
		if (r < 0)
			ScanError(it);
		ElemFromJs(it, js_read_scalar(it->s, &v), &v, e);
		return true;
	}
}

/*
 * ElemFromJs turns what the scanner read into an element.
 */
static void
ElemFromJs(JIter *it, js_type type, const js_value *v, Elem *e)
{
	switch (type)
	{
		case JS_NUMBER:
			e->type = ELEM_NUMBER;
			e->num = v->number;
			e->integral = isfinite(v->number) && v->number == trunc(v->number);
			e->int_literal = v->is_integer;
			break;
		case JS_STRING:
			e->type = ELEM_STRING;
			e->str = v->str;
			e->len = v->len;
			break;
		case JS_TRUE:
			e->type = ELEM_TRUE;
			e->num = 1.0;
			e->integral = true;
			e->int_literal = true;
			break;
		case JS_FALSE:
			e->type = ELEM_FALSE;
			e->num = 0.0;
			e->integral = true;
			e->int_literal = true;
			break;
		case JS_NULL:
			e->type = ELEM_NULL;
			break;
		case JS_ARRAY:
			e->type = ELEM_ARRAY;
			break;
		case JS_OBJECT:
			e->type = ELEM_OBJECT;
			break;
		default:
			ScanError(it);
	}
}

/*
 * JIterChild opens the array element that JIterNext just returned.
 */
void
JIterChild(JIter *parent, JIter *child)
{
	memset(child, 0, sizeof(*child));
	child->jsonb = parent->jsonb;
	child->argname = parent->argname;
	if (parent->jsonb)
	{
		JsonbContainer *c = (JsonbContainer *) parent->child;

		child->container = c;
		child->count = c->header & JB_CMASK;
	}
	else
	{
		child->s = parent->s;
		if (!js_enter_array(child->s))
			ScanError(child);
	}
}

void
JIterFinish(JIter *it)
{
	if (!it->jsonb)
	{
		if (!js_end(it->s))
			ScanError(it);
		js_free(it->s);
	}
}

/*
 * NumericValue converts a numeric inside a jsonb to a double.  Integers of
 * up to 16 digits are read straight from the base-10000 digits (exact);
 * anything else goes through numeric_float8 (correctly rounded).
 */
static double
NumericValue(Numeric num, bool *integral, bool *int_literal)
{
	const char *p = VARDATA_ANY(num);
	Size		sz = VARSIZE_ANY_EXHDR(num);
	uint16		h;
	bool		neg;
	int			dscale;
	int			weight;
	const char *digits;
	int			ndigits;

	memcpy(&h, p, sizeof(uint16));
	if ((h & 0xC000) == 0xC000)
	{
		/* NaN or infinity: jsonb cannot hold them, but be safe */
		*integral = false;
		*int_literal = false;
		return numeric_is_nan(num) ? NAN : (numeric_is_inf(num) && (h & 0x2000) ? -INFINITY : INFINITY);
	}
	if ((h & 0xC000) == 0x8000)
	{
		/* short format: sign, display scale and weight in the header */
		neg = (h & 0x2000) != 0;
		dscale = (h & 0x1F80) >> 7;
		weight = ((h & 0x0040) ? ~0x003F : 0) | (h & 0x003F);
		digits = p + sizeof(uint16);
		ndigits = (int) ((sz - sizeof(uint16)) / sizeof(int16));
	}
	else
	{
		int16		w;

		neg = (h & 0xC000) == 0x4000;
		dscale = h & 0x3FFF;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		digits = p + 2 * sizeof(uint16);
		ndigits = (int) ((sz - 2 * sizeof(uint16)) / sizeof(int16));
	}

	*int_literal = (dscale == 0);
	*integral = (ndigits <= weight + 1);
	if (ndigits == 0)
		return 0.0;

	if (*integral && weight <= 3)
	{
		int64		v = 0;

		for (int i = 0; i <= weight; i++)
		{
			int16		d = 0;

			if (i < ndigits)
				memcpy(&d, digits + i * sizeof(int16), sizeof(int16));
			v = v * 10000 + d;
		}
		return neg ? -(double) v : (double) v;
	}

	{
		double		r = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														   NumericGetDatum(num)));

		*integral = *integral && isfinite(r);
		return r;
	}
}

/*
 * ElemName names an element's JSON type for error messages.
 */
static const char *
ElemName(const Elem *e)
{
	switch (e->type)
	{
		case ELEM_NUMBER:
			return "a number";
		case ELEM_STRING:
			return "a string";
		case ELEM_TRUE:
		case ELEM_FALSE:
			return "a boolean";
		case ELEM_NULL:
			return "null";
		case ELEM_ARRAY:
			return "an array";
		case ELEM_OBJECT:
			return "an object";
	}
	return "a value";
}

/*
 * DecodeRow reads one multilabel indicator row: numbers or booleans, each 0
 * or 1.
 */
static void
DecodeRow(JIter *parent, Target *t, int64 *cap)
{
	JIter		row;
	Elem		e;
	int			w = 0;

	JIterChild(parent, &row);
	while (JIterNext(&row, &e))
	{
		int64		pos = t->n * (int64) t->width + w;

		if (e.type != ELEM_NUMBER && e.type != ELEM_TRUE && e.type != ELEM_FALSE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s row %lld has %s where 0 or 1 is expected",
							t->argname, (long long) t->n + 1, ElemName(&e))));
		if (e.num != 0.0 && e.num != 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("multiclass-multioutput is not supported"),
					 errdetail("Row %lld of %s holds %g; multilabel indicator rows hold only 0 and 1.",
							   (long long) t->n + 1, t->argname, e.num)));
		if (t->n > 0 && w >= t->width)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rows of %s have different lengths: %d and more than %d",
							t->argname, t->width, t->width)));
		t->ind = GrowArray(t->ind, cap, pos + 1, sizeof(uint8));
		t->ind[pos] = (uint8) e.num;
		w++;
	}
	if (t->n == 0)
	{
		if (w < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rows of %s must hold at least two columns", t->argname),
					 errhint("Pass a flat array of labels for single-label targets.")));
		t->width = w;
	}
	else if (w != t->width)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rows of %s have different lengths: %d and %d",
						t->argname, t->width, w)));
	t->n++;
}

/*
 * SmallLabelsFromJsonb reads, from the jsonb array's current position, the
 * run of elements that are numbers written as integers between 0 and
 * SMALL_LABELS - 1 (short-format numerics, positive, weight 0, no scale, at
 * most one base-10000 digit), storing their codes at out[].  It stops before
 * the first element of any other kind and returns how many it read.  This
 * is the hot loop of mlops.accuracy on jsonb: locals only, one pass over the
 * JEntry array and the numerics it points at.
 */
static int64
SmallLabelsFromJsonb(JIter *it, label_set *ls, int32 *cache, int32 *out,
					 const char *argname, int64 n0)
{
	JsonbContainer *c = (JsonbContainer *) it->container;
	const JEntry *children = c->children;
	const char *base = (const char *) &children[it->count];
	uint32		i = it->i;
	uint32		count = it->count;
	uint32		off = it->off;
	int64		n = 0;

	for (; i < count; i++)
	{
		JEntry		je = children[i];
		const char *num = base + INTALIGN(off);
		const char *p;
		Size		sz;
		uint16		h;
		int16		digit = 0;
		int32		code;

		if ((je & JENTRY_TYPEMASK) != JENTRY_ISNUMERIC)
			break;
		if (VARATT_IS_4B_U(num))
		{
			p = num + VARHDRSZ;
			sz = VARSIZE(num) - VARHDRSZ;
		}
		else
		{
			p = VARDATA_ANY(num);
			sz = VARSIZE_ANY_EXHDR(num);
		}
		memcpy(&h, p, sizeof(uint16));
		/* short format, positive, display scale 0, weight 0 */
		if (h != 0x8000 || sz > sizeof(uint16) + sizeof(int16))
			break;
		if (sz == sizeof(uint16) + sizeof(int16))
			memcpy(&digit, p + sizeof(uint16), sizeof(int16));
		if (digit < 0 || digit >= SMALL_LABELS)
			break;
		code = cache[digit];
		if (code < 0)
		{
			code = labels_intern_number(ls, (double) digit);
			if (code == LABEL_ERR_KIND)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("mix of label input types (string and number)"),
						 errdetail("Element %lld of %s is a number, unlike the labels before it.",
								   (long long) (n0 + n + 1), argname)));
			if (code < 0)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			cache[digit] = code;
		}
		out[n++] = code;
		JBE_ADVANCE_OFFSET(off, je);
	}
	it->i = i;
	it->off = off;
	return n;
}

/*
 * DecodeTarget reads an array of labels (JSON scalars) or of multilabel
 * indicator rows.  Labels go into ls, whose codes land in t->codes.  A
 * non-integral number marks the target continuous (scikit-learn's type),
 * reported by the caller once both targets are known.
 */
void
DecodeTarget(Datum d, bool jsonb, const char *argname, label_set *ls, Target *t)
{
	js_scanner	scanner;
	JIter		it;
	Elem		e;
	int64		cap = 0;
	int32		cache[SMALL_LABELS];

	memset(t, 0, sizeof(*t));
	t->argname = argname;
	JIterStart(&it, d, jsonb, argname, &scanner);
	if (jsonb)
		cap = it.count;
	else
	{
		/*
		 * Every element takes at least two bytes of text (itself and a comma),
		 * so this is enough room; a large allocation is mapped lazily, so the
		 * pages never written cost nothing, and the array is never copied.
		 */
		cap = (it.s->end - it.s->p) / 2 + 1;
	}
	if (cap > 0)
		t->codes = palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
	for (int i = 0; i < SMALL_LABELS; i++)
		cache[i] = -1;

	for (;;)
	{
		int32		code;
		int64		small = -1;

		/*
		 * Fast paths for the common case, labels that are small non-negative
		 * integers: their codes come from a cache, without building an
		 * element.  Anything else takes the general path below.
		 */
		if (!t->rows && !jsonb)
		{
			js_value	v;
			js_type		type;
			int			r = js_array_step(it.s);

			if (r == 0)
				break;
			if (r < 0)
				ScanError(&it);
			type = js_read_scalar(it.s, &v);
			if (type == JS_NUMBER && v.is_integer && (uint64) v.integer < SMALL_LABELS)
				small = v.integer;
			else
				ElemFromJs(&it, type, &v, &e);
		}
		else if (!t->rows)
		{
			/* jsonb: the array's size is known, so codes has room for all */
			t->n += SmallLabelsFromJsonb(&it, ls, cache, t->codes + t->n, argname, t->n);
			if (!JIterNext(&it, &e))
				break;
		}
		else if (!JIterNext(&it, &e))
			break;

		if (small >= 0)
		{
			code = cache[small];
			if (code < 0)
			{
				code = labels_intern_number(ls, (double) small);
				if (code == LABEL_ERR_KIND)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("mix of label input types (string and number)"),
							 errdetail("Element %lld of %s is a number, unlike the labels before it.",
									   (long long) t->n + 1, argname)));
				if (code < 0)
					ereport(ERROR,
							(errcode(ERRCODE_OUT_OF_MEMORY),
							 errmsg("out of memory")));
				cache[small] = code;
			}
			if (t->n >= cap)
				t->codes = GrowArray(t->codes, &cap, t->n + 1, sizeof(int32));
			t->codes[t->n++] = code;
			continue;
		}

		if (t->n == 0 && e.type == ELEM_ARRAY)
			t->rows = true;
		if (t->rows)
		{
			if (e.type != ELEM_ARRAY)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s mixes rows and labels: element %lld is %s",
								argname, (long long) t->n + 1, ElemName(&e))));
			if (t->n == 0 && t->codes)
			{
				pfree(t->codes);
				t->codes = NULL;
				cap = 0;
			}
			DecodeRow(&it, t, &cap);
			continue;
		}

		switch (e.type)
		{
			case ELEM_TRUE:
			case ELEM_FALSE:
				t->bools++;
				/* FALLTHROUGH */
			case ELEM_NUMBER:
				if (!isfinite(e.num))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s element %lld is not finite", argname, (long long) t->n + 1)));
				if (!e.integral)
				{
					t->continuous = true;
					code = 0;
					break;
				}
				{
					size_t		before = labels_count(ls);

					code = labels_intern_number(ls, e.num);
					/* like Python's set in unique_labels: the first spelling of a label wins */
					if (labels_count(ls) > before && !e.int_literal)
						t->float_literal = true;
				}
				break;
			case ELEM_STRING:
				code = labels_intern_string(ls, e.str, e.len);
				break;
			case ELEM_NULL:
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s element %lld is null", argname, (long long) t->n + 1),
						 errdetail("Labels are JSON numbers, strings or booleans.")));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s element %lld is %s where a label is expected",
								argname, (long long) t->n + 1, ElemName(&e))));
		}
		if (code == LABEL_ERR_KIND)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mix of label input types (string and number)"),
					 errdetail("Element %lld of %s is %s, unlike the labels before it.",
							   (long long) t->n + 1, argname, ElemName(&e))));
		if (code == LABEL_ERR_TOO_MANY)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct labels")));
		if (code < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		if (t->n >= cap)
			t->codes = GrowArray(t->codes, &cap, t->n + 1, sizeof(int32));
		t->codes[t->n++] = code;
	}
	JIterFinish(&it);
}

/*
 * DecodeNumbers reads an array of finite numbers (booleans are 1 and 0).
 */
double *
DecodeNumbers(Datum d, bool jsonb, const char *argname, int64 *n)
{
	js_scanner	scanner;
	JIter		it;
	Elem		e;
	int64		cap = 0;
	double	   *out = NULL;

	*n = 0;
	JIterStart(&it, d, jsonb, argname, &scanner);
	if (jsonb && it.count > 0)
		out = GrowArray(NULL, &cap, it.count, sizeof(double));
	while (JIterNext(&it, &e))
	{
		if (e.type != ELEM_NUMBER && e.type != ELEM_TRUE && e.type != ELEM_FALSE)
			ereport(ERROR,
					(errcode(e.type == ELEM_NULL ? ERRCODE_NULL_VALUE_NOT_ALLOWED : ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s element %lld is %s where a number is expected",
							argname, (long long) *n + 1, ElemName(&e))));
		if (!isfinite(e.num))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s element %lld is not finite", argname, (long long) *n + 1)));
		out = GrowArray(out, &cap, *n + 1, sizeof(double));
		out[(*n)++] = e.num;
	}
	JIterFinish(&it);
	return out ? out : palloc(sizeof(double));
}

/*
 * DecodeFloat8Array reads a float8[] of any shape; NULL, NaN and infinite
 * elements are errors.
 */
double *
DecodeFloat8Array(Datum d, const char *argname, int64 *n)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	int			count = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	double	   *out;

	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", argname)));
	out = palloc_extended(sizeof(double) * Max(count, 1), MCXT_ALLOC_HUGE);
	memcpy(out, ARR_DATA_PTR(a), sizeof(double) * count);
	for (int i = 0; i < count; i++)
		if (!isfinite(out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s element %d is not finite", argname, i + 1)));
	*n = count;
	return out;
}

/*
 * DecodeRows reads an array of rows of finite numbers, or one flat row.
 */
double *
DecodeRows(Datum d, bool jsonb, const char *argname, int64 *nrows, int64 **offsets,
		   bool *was_flat)
{
	js_scanner	scanner;
	JIter		it;
	Elem		e;
	int64		cap = 0,
				ocap = 0,
				n = 0;
	double	   *vals = NULL;
	int64	   *offs = NULL;
	bool		flat = false;

	*nrows = 0;
	offs = GrowArray(offs, &ocap, 1, sizeof(int64));
	offs[0] = 0;
	JIterStart(&it, d, jsonb, argname, &scanner);
	while (JIterNext(&it, &e))
	{
		if (e.type == ELEM_ARRAY && !flat)
		{
			JIter		row;
			Elem		v;

			JIterChild(&it, &row);
			while (JIterNext(&row, &v))
			{
				if (v.type != ELEM_NUMBER)
					ereport(ERROR,
							(errcode(v.type == ELEM_NULL ? ERRCODE_NULL_VALUE_NOT_ALLOWED : ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s row %lld has %s where a number is expected",
									argname, (long long) *nrows + 1, ElemName(&v))));
				if (!isfinite(v.num))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s row %lld has a value that is not finite",
									argname, (long long) *nrows + 1)));
				vals = GrowArray(vals, &cap, n + 1, sizeof(double));
				vals[n++] = v.num;
			}
			(*nrows)++;
			offs = GrowArray(offs, &ocap, *nrows + 1, sizeof(int64));
			offs[*nrows] = n;
		}
		else if (e.type == ELEM_NUMBER && (*nrows == 0 || flat))
		{
			if (!isfinite(e.num))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s element %lld is not finite", argname, (long long) n + 1)));
			flat = true;
			vals = GrowArray(vals, &cap, n + 1, sizeof(double));
			vals[n++] = e.num;
		}
		else
			ereport(ERROR,
					(errcode(e.type == ELEM_NULL ? ERRCODE_NULL_VALUE_NOT_ALLOWED : ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be an array of rows of numbers, or one row of numbers", argname),
					 errdetail("Element %lld is %s.", (long long) (flat ? n : *nrows) + 1, ElemName(&e))));
	}
	JIterFinish(&it);
	if (flat)
	{
		*nrows = 1;
		offs = GrowArray(offs, &ocap, 2, sizeof(int64));
		offs[1] = n;
	}
	*offsets = offs;
	if (was_flat)
		*was_flat = flat;
	return vals ? vals : palloc(sizeof(double));
}

/*
 * JsonbScalarElem reads a jsonb holding one scalar (stored as a one-element
 * array flagged scalar).
 */
bool
JsonbScalarElem(Datum d, Elem *e)
{
	Jsonb	   *jb = DatumGetJsonbP(d);
	JIter		it;

	if (!(jb->root.header & JB_FSCALAR))
		return false;
	memset(&it, 0, sizeof(it));
	it.jsonb = true;
	it.argname = "label";
	it.container = &jb->root;
	it.count = jb->root.header & JB_CMASK;
	return JIterNext(&it, e);
}
