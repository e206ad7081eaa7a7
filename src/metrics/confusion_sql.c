/*-------------------------------------------------------------------------
 *
 * confusion_sql.c
 *	  The mlops.confusion type (a confusion state: labels and a k x k matrix
 *	  of weighted counts), the row-wise aggregates mlops.confusion_agg and
 *	  mlops.accuracy_agg with their combine, serialize and deserialize
 *	  functions (so large tables get a Parallel Aggregate plan), and reading
 *	  a state back as a classification problem.
 *
 *	  Binary layout of a state, shared by the type and the aggregates'
 *	  serialized form:
 *		varlena header, int32 kind (label_kind), int32 k, int32 flags,
 *		int32 padding, double matrix[k * k], then the labels: k doubles, or
 *		for strings k times (int32 length, bytes), then k spelling bytes
 *		(SPELL_* below).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "metrics/metrics_glue.h"

/*
 * How each label was first written, in y_true and in y_pred: classification
 * reports name numeric labels as Python would, "1" or "1.0", and Python
 * keeps the first spelling seen in y_true, else in y_pred.
 */
#define SPELL_TRUE_SEEN		0x1
#define SPELL_TRUE_FLOAT	0x2
#define SPELL_PRED_SEEN		0x4
#define SPELL_PRED_FLOAT	0x8
/*
 * Whether a label was ever written as a boolean, and ever as something else:
 * numpy keeps an all-boolean array as booleans, so the labels print as false
 * and true only when every label was only ever a boolean.
 */
#define SPELL_BOOL			0x10
#define SPELL_NOT_BOOL		0x20

typedef struct ConfusionHeader
{
	int32		vl_len_;
	int32		kind;
	int32		k;
	int32		flags;
	int32		pad;
} ConfusionHeader;

#define CONFUSION_MATRIX(h) ((double *) ((char *) (h) + MAXALIGN(sizeof(ConfusionHeader))))

/* The aggregate's transition state. */
typedef struct ConfusionState
{
	label_set  *ls;
	int			cap;			/* matrix is cap x cap */
	double	   *matrix;
	uint8	   *spell;			/* per label code, cap entries */
} ConfusionState;

static ConfusionState *NewState(MemoryContext cxt);
static void StateAdd(ConfusionState *st, int32 t, int32 p, double w, MemoryContext cxt);
static bytea *StateToVarlena(ConfusionState *st);
static ConfusionState *VarlenaToState(bytea *v, MemoryContext cxt);
static int32 InternElem(ConfusionState *st, const Elem *e, int column);
static void JsonNullLabel(int column);
static void Spell(ConfusionState *st, int32 code, int column, bool is_float);
static bool FloatLabels(const ConfusionState *st);
static void SpellBool(ConfusionState *st, int32 code, bool is_bool);
static bool BoolLabels(const ConfusionState *st);

static ConfusionState *
NewState(MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ConfusionState *st = palloc0(sizeof(ConfusionState));

	st->ls = labels_create(mlops_palloc_allocator());
	st->cap = 8;
	st->matrix = palloc0(sizeof(double) * st->cap * st->cap);
	st->spell = palloc0(st->cap);
	MemoryContextSwitchTo(old);
	return st;
}

/*
 * Spell records how a label was first written in a column (0: y_true, 1:
 * y_pred).  The matrix (and spell) must already cover the code.
 */
static void
Spell(ConfusionState *st, int32 code, int column, bool is_float)
{
	uint8		seen = column == 0 ? SPELL_TRUE_SEEN : SPELL_PRED_SEEN;
	uint8		fl = column == 0 ? SPELL_TRUE_FLOAT : SPELL_PRED_FLOAT;

	if (!(st->spell[code] & seen))
		st->spell[code] |= seen | (is_float ? fl : 0);
}

/* SpellBool records whether a label occurrence was a boolean. */
static void
SpellBool(ConfusionState *st, int32 code, bool is_bool)
{
	st->spell[code] |= is_bool ? SPELL_BOOL : SPELL_NOT_BOOL;
}

/* BoolLabels: every label was only ever written as a boolean. */
static bool
BoolLabels(const ConfusionState *st)
{
	int			k = (int) labels_count(st->ls);

	for (int i = 0; i < k; i++)
		if ((st->spell[i] & (SPELL_BOOL | SPELL_NOT_BOOL)) != SPELL_BOOL)
			return false;
	return k > 0;
}

/* FloatLabels: numpy would hold the labels as floats (one label's first spelling is). */
static bool
FloatLabels(const ConfusionState *st)
{
	int			k = (int) labels_count(st->ls);

	for (int i = 0; i < k; i++)
	{
		uint8		s = st->spell[i];

		if ((s & SPELL_TRUE_SEEN) ? (s & SPELL_TRUE_FLOAT) : (s & SPELL_PRED_FLOAT))
			return true;
	}
	return false;
}

/*
 * StateAdd adds weight w at (t, p), growing the matrix when a new label
 * appeared.
 */
static void
StateAdd(ConfusionState *st, int32 t, int32 p, double w, MemoryContext cxt)
{
	int			k = (int) labels_count(st->ls);

	if (k > st->cap)
	{
		int			ncap = st->cap;
		double	   *m;

		if (k > MLOPS_MAX_CONFUSION_LABELS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("confusion_agg supports at most %d distinct labels", MLOPS_MAX_CONFUSION_LABELS)));
		while (ncap < k)
			ncap *= 2;
		ncap = Min(ncap, MLOPS_MAX_CONFUSION_LABELS);
		m = MemoryContextAllocHuge(cxt, sizeof(double) * ncap * ncap);
		memset(m, 0, sizeof(double) * ncap * ncap);
		for (int i = 0; i < st->cap; i++)
			memcpy(m + (Size) i * ncap, st->matrix + (Size) i * st->cap, sizeof(double) * st->cap);
		pfree(st->matrix);
		st->matrix = m;
		st->spell = repalloc(st->spell, ncap);
		memset(st->spell + st->cap, 0, ncap - st->cap);
		st->cap = ncap;
	}
	st->matrix[(Size) t * st->cap + p] += w;
}

static int32
CheckCode(int32 code)
{
	if (code == LABEL_ERR_KIND)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mix of label input types (string and number)")));
	if (code < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct labels")));
	return code;
}

/*
 * JsonNullLabel refuses a JSON null label (column 0: y_true, 1: y_pred), in
 * every aggregate as in the array functions: an SQL NULL is a missing row,
 * but a JSON null inside a value is a label that is not one.
 */
static void
JsonNullLabel(int column)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s label is a JSON null", column == 0 ? "y_true" : "y_pred"),
			 errdetail("Labels are JSON numbers, strings or booleans; a row whose label is an SQL NULL is skipped."),
			 errhint("Leave such rows out (WHERE jsonb_typeof(label) <> 'null'), or give them a label of their own.")));
}

/*
 * InternElem interns a jsonb label; non-integral numbers are continuous
 * targets, which classification metrics refuse.
 */
static int32
InternElem(ConfusionState *st, const Elem *e, int column)
{
	switch (e->type)
	{
		case ELEM_NUMBER:
		case ELEM_TRUE:
		case ELEM_FALSE:
			if (!e->integral)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("continuous is not supported"),
						 errdetail("The label %g is not an integral number.", e->num)));
			return CheckCode(labels_intern_number(st->ls, e->num));
		case ELEM_STRING:
			return CheckCode(labels_intern_string(st->ls, e->str, e->len));
		case ELEM_NULL:
			return -1;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a label must be a JSON number, string or boolean")));
	}
	return -1;
}

/*
 * ConfusionTrans is the transition function of every confusion_agg: the
 * SQL type of the labels is the function's; rows where a label is NULL are
 * skipped, as aggregates skip NULLs.
 */
static Datum
ConfusionTrans(FunctionCallInfo fcinfo, Oid type)
{
	MemoryContext aggcxt;
	MemoryContext old;
	ConfusionState *st;
	int32		codes[2];
	bool		floats[2] = {false, false};
	bool		bools[2] = {type == BOOLOID, type == BOOLOID};
	double		w = 1.0;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "confusion_agg transition called in a non-aggregate context");
	st = PG_ARGISNULL(0) ? NewState(aggcxt) : (ConfusionState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	if (PG_NARGS() > 3)
	{
		if (PG_ARGISNULL(3))
			PG_RETURN_POINTER(st);
		w = PG_GETARG_FLOAT8(3);
		if (!isfinite(w))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sample weight %g is not finite", w)));
	}

	old = MemoryContextSwitchTo(aggcxt);
	for (int a = 0; a < 2; a++)
	{
		Datum		d = PG_GETARG_DATUM(a + 1);

		switch (type)
		{
			case TEXTOID:
				{
					text	   *t = DatumGetTextPP(d);

					codes[a] = CheckCode(labels_intern_string(st->ls, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
				}
				break;
			case INT8OID:
				codes[a] = CheckCode(labels_intern_number(st->ls, (double) DatumGetInt64(d)));
				break;
			case BOOLOID:
				codes[a] = CheckCode(labels_intern_number(st->ls, DatumGetBool(d) ? 1.0 : 0.0));
				break;
			default:
				{
					Elem		e;

					if (!JsonbScalarElem(d, &e))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("a label must be a JSON number, string or boolean")));
					if (e.type == ELEM_NULL)
						JsonNullLabel(a);
					codes[a] = InternElem(st, &e, a);
					floats[a] = e.type == ELEM_NUMBER && !e.int_literal;
					bools[a] = e.type == ELEM_TRUE || e.type == ELEM_FALSE;
				}
				break;
		}
	}
	StateAdd(st, codes[0], codes[1], w, aggcxt);
	Spell(st, codes[0], 0, floats[0]);
	Spell(st, codes[1], 1, floats[1]);
	SpellBool(st, codes[0], bools[0]);
	SpellBool(st, codes[1], bools[1]);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

#define CONFUSION_TRANS(suffix, oid) \
	PG_FUNCTION_INFO_V1(mlops_confusion_trans_##suffix); \
	Datum mlops_confusion_trans_##suffix(PG_FUNCTION_ARGS) { return ConfusionTrans(fcinfo, oid); }

CONFUSION_TRANS(text, TEXTOID)
CONFUSION_TRANS(int8, INT8OID)
CONFUSION_TRANS(bool, BOOLOID)
CONFUSION_TRANS(jsonb, JSONBOID)

/*
 * mlops_confusion_combine merges the second state into the first: its
 * labels are interned into the first's set, its counts added at the mapped
 * codes.
 */
PG_FUNCTION_INFO_V1(mlops_confusion_combine);
Datum
mlops_confusion_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	ConfusionState *a;
	ConfusionState *b;
	int			kb;
	int32	   *map;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "confusion_agg combine called in a non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	b = (ConfusionState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? NewState(aggcxt) : (ConfusionState *) PG_GETARG_POINTER(0);

	old = MemoryContextSwitchTo(aggcxt);
	kb = (int) labels_count(b->ls);
	map = palloc(sizeof(int32) * Max(kb, 1));
	for (int i = 0; i < kb; i++)
	{
		if (labels_kind(b->ls) == LABEL_KIND_STRING)
		{
			size_t		len;
			const char *s = labels_string(b->ls, i, &len);

			map[i] = CheckCode(labels_intern_string(a->ls, s, len));
		}
		else
			map[i] = CheckCode(labels_intern_number(a->ls, labels_number(b->ls, i)));
	}
	/* make sure the matrix covers every label even without counts */
	if ((int) labels_count(a->ls) > a->cap)
		StateAdd(a, 0, 0, 0.0, aggcxt);
	for (int i = 0; i < kb; i++)
		for (int j = 0; j < kb; j++)
		{
			double		v = b->matrix[(Size) i * b->cap + j];

			if (v != 0.0)
				StateAdd(a, map[i], map[j], v, aggcxt);
		}
	for (int i = 0; i < kb; i++)
	{
		if (b->spell[i] & SPELL_TRUE_SEEN)
			Spell(a, map[i], 0, (b->spell[i] & SPELL_TRUE_FLOAT) != 0);
		if (b->spell[i] & SPELL_PRED_SEEN)
			Spell(a, map[i], 1, (b->spell[i] & SPELL_PRED_FLOAT) != 0);
		a->spell[map[i]] |= b->spell[i] & (SPELL_BOOL | SPELL_NOT_BOOL);
	}
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

/*
 * StateToVarlena writes a state in the shared binary layout, its labels
 * sorted.
 */
static bytea *
StateToVarlena(ConfusionState *st)
{
	int			k = (int) labels_count(st->ls);
	bool		strings = labels_kind(st->ls) == LABEL_KIND_STRING;
	Size		size = MAXALIGN(sizeof(ConfusionHeader)) + sizeof(double) * (Size) k * k;
	ConfusionHeader *h;
	char	   *p;
	int32	   *order;

	if (strings)
	{
		for (int i = 0; i < k; i++)
		{
			size_t		len;

			(void) labels_string(st->ls, i, &len);
			size += sizeof(int32) + len;
		}
	}
	else
		size += sizeof(double) * k;
	size += k;					/* spelling bytes */

	/* labels in scikit-learn's order, so that equal states have equal bytes */
	order = palloc(sizeof(int32) * Max(k, 1));
	if (labels_sort(st->ls, order) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	h = palloc0(size);
	SET_VARSIZE(h, size);
	h->kind = (int32) labels_kind(st->ls);
	h->k = k;
	h->flags = 0;
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
			CONFUSION_MATRIX(h)[(Size) i * k + j] = st->matrix[(Size) order[i] * st->cap + order[j]];
	p = (char *) (CONFUSION_MATRIX(h) + (Size) k * k);
	for (int o = 0; o < k; o++)
	{
		int32		i = order[o];

		if (strings)
		{
			size_t		len;
			const char *s = labels_string(st->ls, i, &len);
			int32		l = (int32) len;

			memcpy(p, &l, sizeof(int32));
			memcpy(p + sizeof(int32), s, len);
			p += sizeof(int32) + len;
		}
		else
		{
			double		v = labels_number(st->ls, i);

			memcpy(p, &v, sizeof(double));
			p += sizeof(double);
		}
	}
	for (int o = 0; o < k; o++)
		*p++ = (char) st->spell[order[o]];
	return (bytea *) h;
}

/*
 * VarlenaToState reads the binary layout back, checking every length, so
 * that a corrupt value is an error and never a wild read.
 */
static ConfusionState *
VarlenaToState(bytea *v, MemoryContext cxt)
{
	ConfusionHeader h;
	Size		size = VARSIZE_ANY(v);
	const char *base = (const char *) v;
	const char *p;
	const char *end = base + size;
	ConfusionState *st;
	MemoryContext old;

	if (VARATT_IS_SHORT(v) || size < MAXALIGN(sizeof(ConfusionHeader)))
		goto corrupt;
	memcpy(&h, base, sizeof(h));
	if (h.k < 0 || h.k > MLOPS_MAX_CONFUSION_LABELS ||
		(h.kind != LABEL_KIND_NONE && h.kind != LABEL_KIND_NUMBER && h.kind != LABEL_KIND_STRING) ||
		(h.kind == LABEL_KIND_NONE && h.k != 0) ||
		size < MAXALIGN(sizeof(ConfusionHeader)) + sizeof(double) * (Size) h.k * h.k)
		goto corrupt;

	st = NewState(cxt);
	old = MemoryContextSwitchTo(cxt);
	p = base + MAXALIGN(sizeof(ConfusionHeader)) + sizeof(double) * (Size) h.k * h.k;
	for (int i = 0; i < h.k; i++)
	{
		int32		code;

		if (h.kind == LABEL_KIND_STRING)
		{
			int32		len;

			if (p + sizeof(int32) > end)
				goto corrupt;
			memcpy(&len, p, sizeof(int32));
			if (len < 0 || p + sizeof(int32) + len > end)
				goto corrupt;
			code = labels_intern_string(st->ls, p + sizeof(int32), len);
			p += sizeof(int32) + len;
		}
		else
		{
			double		x;

			if (p + sizeof(double) > end)
				goto corrupt;
			memcpy(&x, p, sizeof(double));
			if (!isfinite(x) || x != trunc(x))
				goto corrupt;
			code = labels_intern_number(st->ls, x);
			p += sizeof(double);
		}
		if (code != i)
			goto corrupt;		/* a duplicate label */
	}
	if (p + h.k != end)
		goto corrupt;
	if (h.k > st->cap)
	{
		st->cap = h.k;
		st->matrix = palloc0(sizeof(double) * (Size) h.k * h.k);
		st->spell = palloc0(h.k);
	}
	memcpy(st->spell, p, h.k);
	for (int i = 0; i < h.k; i++)
		for (int j = 0; j < h.k; j++)
		{
			double		x;

			memcpy(&x, base + MAXALIGN(sizeof(ConfusionHeader)) + sizeof(double) * ((Size) i * h.k + j), sizeof(double));
			if (!isfinite(x))
				goto corrupt;
			st->matrix[(Size) i * st->cap + j] = x;
		}
	MemoryContextSwitchTo(old);
	return st;

corrupt:
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid mlops.confusion value")));
	return NULL;
}

PG_FUNCTION_INFO_V1(mlops_confusion_serialize);
Datum
mlops_confusion_serialize(PG_FUNCTION_ARGS)
{
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "confusion_agg serialize called in a non-aggregate context");
	PG_RETURN_BYTEA_P(StateToVarlena((ConfusionState *) PG_GETARG_POINTER(0)));
}

PG_FUNCTION_INFO_V1(mlops_confusion_deserialize);
Datum
mlops_confusion_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "confusion_agg deserialize called in a non-aggregate context");
	PG_RETURN_POINTER(VarlenaToState(PG_GETARG_BYTEA_P(0), aggcxt));
}

PG_FUNCTION_INFO_V1(mlops_confusion_final);
Datum
mlops_confusion_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_POINTER(StateToVarlena((ConfusionState *) PG_GETARG_POINTER(0)));
}

/*
 * ClassProblemFromConfusion: a state as a classification problem; binary
 * when it holds at most two labels.
 */
void
ClassProblemFromConfusion(ClassProblem *cp, Datum confusion)
{
	ConfusionState *st = VarlenaToState((bytea *) PG_DETOAST_DATUM(confusion), CurrentMemoryContext);
	int			k = (int) labels_count(st->ls);
	double	   *m = palloc(sizeof(double) * Max((Size) k * k, 1));

	for (int i = 0; i < k; i++)
		memcpy(m + (Size) i * k, st->matrix + (Size) i * st->cap, sizeof(double) * k);
	memset(cp, 0, sizeof(*cp));
	cp->ls = st->ls;
	cp->k = k;
	cp->matrix = m;
	cp->type = k > 2 ? TARGET_MULTICLASS : TARGET_BINARY;
	cp->float_labels = FloatLabels(st);
	cp->bool_labels = BoolLabels(st);
}

/*
 * mlops_confusion_out prints a state as {"labels": [...], "matrix": [[...]]}.
 */
PG_FUNCTION_INFO_V1(mlops_confusion_out);
Datum
mlops_confusion_out(PG_FUNCTION_ARGS)
{
	ClassProblem cp;
	StringInfoData buf;

	ClassProblemFromConfusion(&cp, PG_GETARG_DATUM(0));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"labels\": [");
	for (int i = 0; i < cp.k; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		AppendLabel(&buf, &cp, i, NULL);
	}
	appendStringInfoString(&buf, "], \"matrix\": [");
	for (int i = 0; i < cp.k; i++)
	{
		appendStringInfoString(&buf, i > 0 ? ", [" : "[");
		for (int j = 0; j < cp.k; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			AppendJsonDouble(&buf, cp.matrix[i * cp.k + j]);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

/*
 * mlops_confusion_in reads {"labels": [...], "matrix": [[...]]}: distinct
 * labels, a k x k matrix of finite non-negative counts.
 */
PG_FUNCTION_INFO_V1(mlops_confusion_in);
Datum
mlops_confusion_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str)));
	JsonbValue *labels;
	JsonbValue *matrix;
	ConfusionState *st;
	Target		t;
	int64		nrows;
	int64	   *off;
	double	   *vals;
	int			k;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type mlops.confusion: an object with \"labels\" and \"matrix\" is expected")));
	labels = getKeyJsonValueFromContainer(&jb->root, "labels", 6, NULL);
	matrix = getKeyJsonValueFromContainer(&jb->root, "matrix", 6, NULL);
	if (labels == NULL || matrix == NULL || labels->type != jbvBinary || matrix->type != jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type mlops.confusion: \"labels\" and \"matrix\" must be arrays")));

	st = NewState(CurrentMemoryContext);
	DecodeTarget(JsonbPGetDatum(JsonbValueToJsonb(labels)), true, "labels", st->ls, &t);
	k = (int) labels_count(st->ls);
	if (t.rows || t.continuous || t.n != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type mlops.confusion: labels must be distinct integral numbers or strings")));
	if (k > MLOPS_MAX_CONFUSION_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("mlops.confusion supports at most %d labels", MLOPS_MAX_CONFUSION_LABELS)));
	vals = DecodeRows(JsonbPGetDatum(JsonbValueToJsonb(matrix)), true, "matrix", &nrows, &off, NULL);
	if (k == 0 ? off[nrows] != 0 : nrows != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type mlops.confusion: the matrix must have one row per label")));
	for (int i = 0; i < k; i++)
	{
		if (off[i + 1] - off[i] != k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type mlops.confusion: row %d has %lld values, not %d",
							i + 1, (long long) (off[i + 1] - off[i]), k)));
		for (int j = 0; j < k; j++)
		{
			double		x = vals[off[i] + j];

			if (x < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type mlops.confusion: counts must not be negative")));
			StateAdd(st, i, j, x, CurrentMemoryContext);
		}
	}
	/* the labels' spelling, as given */
	{
		js_scanner	sc;
		JIter		it;
		Elem		e;
		int			i = 0;

		JIterStart(&it, JsonbPGetDatum(JsonbValueToJsonb(labels)), true, "labels", &sc);
		while (JIterNext(&it, &e))
		{
			SpellBool(st, i, e.type == ELEM_TRUE || e.type == ELEM_FALSE);
			Spell(st, i++, 0, e.type == ELEM_NUMBER && !e.int_literal);
		}
	}
	PG_RETURN_POINTER(StateToVarlena(st));
}

/* ---- accuracy_agg: a count of agreements ---- */

typedef struct AccuracyState
{
	int64		n;
	int64		correct;
} AccuracyState;

/*
 * LabelsEqual compares two labels of a column type as scikit-learn would:
 * jsonb numbers by value, strings by content; a number never equals a
 * string.  Returns 1 or 0; a JSON null label is an error, as in confusion_agg.
 */
static int
LabelsEqual(Oid type, Datum a, Datum b)
{
	switch (type)
	{
		case TEXTOID:
			{
				text	   *x = DatumGetTextPP(a);
				text	   *y = DatumGetTextPP(b);

				return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
					memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
			}
		case INT8OID:
			return DatumGetInt64(a) == DatumGetInt64(b);
		case BOOLOID:
			return DatumGetBool(a) == DatumGetBool(b);
		default:
			{
				Elem		x,
							y;
				bool		xs,
							ys;

				if (!JsonbScalarElem(a, &x) || !JsonbScalarElem(b, &y))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("a label must be a JSON number, string or boolean")));
				if (x.type == ELEM_NULL)
					JsonNullLabel(0);
				if (y.type == ELEM_NULL)
					JsonNullLabel(1);
				xs = x.type == ELEM_STRING;
				ys = y.type == ELEM_STRING;
				if ((!xs && !x.integral) || (!ys && !y.integral))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("continuous is not supported")));
				if (xs != ys)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("mix of label input types (string and number)")));
				if (xs)
					return x.len == y.len && memcmp(x.str, y.str, x.len) == 0;
				return x.num == y.num;
			}
	}
}

static Datum
AccuracyTrans(FunctionCallInfo fcinfo, Oid type)
{
	MemoryContext aggcxt;
	AccuracyState *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "accuracy_agg transition called in a non-aggregate context");
	st = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggcxt, sizeof(AccuracyState))
		: (AccuracyState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	{
		int			eq = LabelsEqual(type, PG_GETARG_DATUM(1), PG_GETARG_DATUM(2));

		if (eq >= 0)
		{
			st->n++;
			st->correct += eq;
		}
	}
	PG_RETURN_POINTER(st);
}

#define ACCURACY_TRANS(suffix, oid) \
	PG_FUNCTION_INFO_V1(mlops_accuracy_trans_##suffix); \
	Datum mlops_accuracy_trans_##suffix(PG_FUNCTION_ARGS) { return AccuracyTrans(fcinfo, oid); }

ACCURACY_TRANS(text, TEXTOID)
ACCURACY_TRANS(int8, INT8OID)
ACCURACY_TRANS(bool, BOOLOID)
ACCURACY_TRANS(jsonb, JSONBOID)

PG_FUNCTION_INFO_V1(mlops_accuracy_combine);
Datum
mlops_accuracy_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	AccuracyState *a;
	AccuracyState *b;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "accuracy_agg combine called in a non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	b = (AccuracyState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggcxt, sizeof(AccuracyState))
		: (AccuracyState *) PG_GETARG_POINTER(0);
	a->n += b->n;
	a->correct += b->correct;
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(mlops_accuracy_serialize);
Datum
mlops_accuracy_serialize(PG_FUNCTION_ARGS)
{
	AccuracyState *st = (AccuracyState *) PG_GETARG_POINTER(0);
	bytea	   *out = palloc(VARHDRSZ + sizeof(AccuracyState));

	SET_VARSIZE(out, VARHDRSZ + sizeof(AccuracyState));
	memcpy(VARDATA(out), st, sizeof(AccuracyState));
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(mlops_accuracy_deserialize);
Datum
mlops_accuracy_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	AccuracyState *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "accuracy_agg deserialize called in a non-aggregate context");
	if (VARSIZE_ANY_EXHDR(in) != sizeof(AccuracyState))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid accuracy_agg state")));
	st = MemoryContextAlloc(aggcxt, sizeof(AccuracyState));
	memcpy(st, VARDATA_ANY(in), sizeof(AccuracyState));
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(mlops_accuracy_final);
Datum
mlops_accuracy_final(PG_FUNCTION_ARGS)
{
	AccuracyState *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (AccuracyState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) st->correct / (double) st->n);
}
