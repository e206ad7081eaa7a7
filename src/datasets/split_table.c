/*-------------------------------------------------------------------------
 *
 * split_table.c
 *	  mlops.split_table: dataset splitting straight over a table or view of
 *	  any size.  One query reads the id, label and group columns with the
 *	  caller's rights (row-level security applies) into a DestReceiver of
 *	  this file, so no row is copied on the way: each id's bytes go into an
 *	  arena laid out as text datums (returned as they are), and labels and
 *	  groups are interned from the column's own value -- the bytes of text,
 *	  the value of integers, floats, numerics and booleans; other types
 *	  through their output function, looked up once -- with a one-value
 *	  cache per column (rows of one specimen or class tend to come
 *	  together).  The shared glue (options, interning rules, the kernel
 *	  call) is split_sql.c, through split_glue.h.
 *	  mlops.split_table_ids returns the same split as one text[] of ids a
 *	  side or fold instead of one row a source row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "datasets/split_glue.h"

PG_FUNCTION_INFO_V1(mlops_split_table);
PG_FUNCTION_INFO_V1(mlops_split_table_ids);

/* How a column's values are read. */
typedef enum ColumnKind
{
	COL_INT2,
	COL_INT4,
	COL_INT8,
	COL_FLOAT4,
	COL_FLOAT8,
	COL_NUMERIC,
	COL_BOOL,
	COL_TEXT,					/* text, varchar: the datum's own bytes */
	COL_OTHER					/* any other type: its output function */
} ColumnKind;

/* One column read, with the last value interned (the one-value cache). */
typedef struct ColumnReader
{
	int			attno;			/* 0-based, in the query's target list */
	ColumnKind	kind;
	FmgrInfo	out;			/* COL_OTHER */
	/* an array column (multilabel): its element type's reader */
	bool		is_array;
	Oid			elem;
	int16		elen;
	bool		ebyval;
	char		ealign;
	struct ColumnReader *elem_reader;
	/* the last value and its code */
	bool		have_last;
	bool		last_is_num;
	double		last_num;
	const char *last_str;		/* the label set's own copy */
	size_t		last_len;
	int32		last_code;
} ColumnReader;

/* The receiver: the rows of the query go into the build. */
typedef struct TableReader
{
	DestReceiver pub;
	SplitBuild *b;
	SplitOptions *o;
	MemoryContext build_cxt;	/* where the build and the label sets live */
	MemoryContext row_cxt;		/* reset after a row that used it */
	bool		row_cxt_used;
	ColumnReader id;
	ColumnReader label;
	ColumnReader group;
	ColumnReader *keys;			/* label key columns (indicators) */
	char	   *arena;			/* current block of id datums */
	Size		arena_used;
	Size		arena_size;
} TableReader;

#define ID_ARENA_BLOCK	(4 * 1024 * 1024)

static ColumnKind
KindOf(Oid type)
{
	switch (type)
	{
		case INT2OID:
			return COL_INT2;
		case INT4OID:
			return COL_INT4;
		case INT8OID:
			return COL_INT8;
		case FLOAT4OID:
			return COL_FLOAT4;
		case FLOAT8OID:
			return COL_FLOAT8;
		case NUMERICOID:
			return COL_NUMERIC;
		case BOOLOID:
			return COL_BOOL;
		case TEXTOID:
		case VARCHAROID:
			return COL_TEXT;
		default:
			return COL_OTHER;
	}
}

/* ColumnInit prepares the reader of a column of the given type. */
static void
ColumnInit(ColumnReader *c, int attno, Oid type, bool arrays_allowed)
{
	Oid			elem = arrays_allowed ? get_element_type(type) : InvalidOid;

	memset(c, 0, sizeof(*c));
	c->attno = attno;
	if (OidIsValid(elem))
	{
		c->is_array = true;
		c->elem = elem;
		get_typlenbyvalalign(elem, &c->elen, &c->ebyval, &c->ealign);
		c->elem_reader = palloc(sizeof(ColumnReader));
		ColumnInit(c->elem_reader, -1, elem, false);
		return;
	}
	c->kind = KindOf(type);
	if (c->kind == COL_OTHER)
	{
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(type, &outfn, &varlena);
		fmgr_info(outfn, &c->out);
	}
}

/*
 * ColumnNumber: the value of a numeric or boolean datum as a double
 * (kinds COL_INT2 .. COL_BOOL).
 */
static inline double
ColumnNumber(TableReader *r, ColumnKind kind, Datum d)
{
	switch (kind)
	{
		case COL_INT2:
			return (double) DatumGetInt16(d);
		case COL_INT4:
			return (double) DatumGetInt32(d);
		case COL_INT8:
			return (double) DatumGetInt64(d);
		case COL_FLOAT4:
			return (double) DatumGetFloat4(d);
		case COL_FLOAT8:
			return DatumGetFloat8(d);
		case COL_NUMERIC:
			{
				/* numeric_float8 goes through text: in row_cxt */
				MemoryContext old = MemoryContextSwitchTo(r->row_cxt);
				double		x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));

				MemoryContextSwitchTo(old);
				r->row_cxt_used = true;
				return x;
			}
		case COL_BOOL:
			return DatumGetBool(d) ? 1.0 : 0.0;
		default:
			elog(ERROR, "column kind %d is not a number", (int) kind);
			return 0;			/* not reached */
	}
}

/*
 * ColumnText: the bytes of a text-like datum, in row_cxt when they had to
 * be detoasted or printed (kinds COL_TEXT, COL_OTHER).
 */
static inline const char *
ColumnText(TableReader *r, ColumnReader *c, Datum d, size_t *len)
{
	MemoryContext old;
	const char *s;

	if (c->kind == COL_TEXT && !VARATT_IS_EXTERNAL(DatumGetPointer(d)) &&
		!VARATT_IS_COMPRESSED(DatumGetPointer(d)))
	{
		/* in line, plain (a short header or a long one): the bytes as they are */
		*len = VARSIZE_ANY_EXHDR(DatumGetPointer(d));
		return VARDATA_ANY(DatumGetPointer(d));
	}
	r->row_cxt_used = true;
	old = MemoryContextSwitchTo(r->row_cxt);
	if (c->kind == COL_TEXT)
	{
		struct varlena *t = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));

		*len = VARSIZE_ANY_EXHDR(t);
		s = VARDATA_ANY(t);
	}
	else
	{
		s = OutputFunctionCall(&c->out, d);
		*len = strlen(s);
	}
	MemoryContextSwitchTo(old);
	return s;
}

/*
 * SameBytes: memcmp(a, b, len) == 0, with short labels (a class name, a
 * specimen code) compared in line rather than through a call a row.
 */
static inline bool
SameBytes(const char *a, const char *b, size_t len)
{
	if (len <= 16)
	{
		for (size_t i = 0; i < len; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	return memcmp(a, b, len) == 0;
}

/*
 * InternColumn: the code of one label or group value, through the
 * column's one-value cache.  Anything the fast path does not take (a null,
 * a fraction, a kind mix, too many labels) goes through InternScalar, which
 * raises the error the JSON form raises.
 */
static int32
InternColumn(TableReader *r, ColumnReader *c, label_set *set, Datum d, bool isnull,
			 const char *what, const char *key, int64 ord)
{
	JsonbValue	v;
	int32		code;

	if (isnull)
	{
		v.type = jbvNull;
		return InternScalar(set, &v, what, key, ord);
	}
	if (c->kind == COL_TEXT || c->kind == COL_OTHER)
	{
		size_t		len;
		const char *s = ColumnText(r, c, d, &len);

		if (c->have_last && !c->last_is_num && len == c->last_len &&
			SameBytes(s, c->last_str, len))
			return c->last_code;
		code = labels_intern_string(set, s, len);
		if (code < 0)
		{
			v.type = jbvString;
			v.val.string.val = (char *) s;
			v.val.string.len = len;
			return InternScalar(set, &v, what, key, ord);
		}
		c->last_str = labels_string(set, code, &c->last_len);
		c->last_is_num = false;
	}
	else
	{
		double		x = ColumnNumber(r, c->kind, d);

		if (c->have_last && c->last_is_num && x == c->last_num)
			return c->last_code;
		code = (isfinite(x) && x == floor(x)) ? labels_intern_number(set, x) : -1;
		if (code < 0)
		{
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric, Float8GetDatum(x)));
			return InternScalar(set, &v, what, key, ord);
		}
		c->last_num = x;
		c->last_is_num = true;
	}
	c->have_last = true;
	c->last_code = code;
	return code;
}

/*
 * AddIdDatum stores one id as a text datum in the arena: its bytes are the
 * id the kernel sees (the hash method hashes them) and the very datum the
 * result returns.  Integers are printed directly, text taken as it is,
 * other types through their output function.
 */
static void
AddIdDatum(TableReader *r, Datum d)
{
	ColumnReader *c = &r->id;
	SplitBuild *b = r->b;
	const char *s;
	size_t		len;
	Size		need;
	char	   *dst;

	switch (c->kind)
	{
		case COL_INT2:
		case COL_INT4:
		case COL_INT8:
			{
				int64		x = c->kind == COL_INT8 ? DatumGetInt64(d) :
					c->kind == COL_INT4 ? (int64) DatumGetInt32(d) : (int64) DatumGetInt16(d);

				b->id_int[b->n] = x;	/* the only copy: printed on the way out */
				return;
			}
		case COL_TEXT:
		case COL_OTHER:
			s = ColumnText(r, c, d, &len);
			break;
		default:
			elog(ERROR, "id column of kind %d not read as text", (int) c->kind);
			return;
	}
	if (len > MaxAllocSize - VARHDRSZ - 8)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row %lld: id is too long", (long long) b->n + 1)));
	need = INTALIGN(VARHDRSZ + len);
	if (need > ID_ARENA_BLOCK / 4)
		dst = palloc(need);
	else
	{
		if (r->arena == NULL || r->arena_used + need > r->arena_size)
		{
			r->arena = palloc(ID_ARENA_BLOCK);
			r->arena_size = ID_ARENA_BLOCK;
			r->arena_used = 0;
		}
		dst = r->arena + r->arena_used;
		r->arena_used += need;
	}
	SET_VARSIZE(dst, VARHDRSZ + len);
	memcpy(VARDATA(dst), s, len);
	b->id[b->n] = VARDATA(dst);
	b->id_len[b->n] = len;
}

/* AddArrayLabels: an array column's elements, the item's labels (multilabel). */
static void
AddArrayLabels(TableReader *r, Datum d, bool isnull, int64 ord)
{
	SplitBuild *b = r->b;
	ColumnReader *c = &r->label;
	const char *key = r->o->label;
	Datum	   *elems;
	bool	   *enulls;
	int			ne;
	MemoryContext old;

	if (isnull)
	{
		/* a null array: no labels */
		if (b->label != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("row %lld: label \"%s\" is null", (long long) ord, key)));
		return;
	}
	if (b->label != NULL && b->n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row %lld: mixed single and multiple labels", (long long) ord)));
	if (b->label)
	{
		pfree(b->label);
		b->label = NULL;
	}
	b->multilabel = true;
	r->row_cxt_used = true;
	old = MemoryContextSwitchTo(r->row_cxt);
	deconstruct_array(DatumGetArrayTypeP(d), c->elem, c->elen, c->ebyval, c->ealign,
					  &elems, &enulls, &ne);
	MemoryContextSwitchTo(old);
	for (int e = 0; e < ne; e++)
		PushMultiLabel(b, InternColumn(r, c->elem_reader, b->labels, elems[e], enulls[e],
									   "label", key, ord));
}

/* AddKeyLabels: label key columns, each a label the row has when true or non-zero. */
static void
AddKeyLabels(TableReader *r, Datum *values, bool *nulls, int64 ord)
{
	SplitOptions *o = r->o;

	for (int j = 0; j < o->n_label_keys; j++)
	{
		ColumnReader *c = &r->keys[j];
		int			a = c->attno;

		if (c->kind == COL_TEXT || c->kind == COL_OTHER)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("label column \"%s\" must be boolean or numeric", o->label_keys[j]),
					 errhint("With an array of label columns, each column is one label that a row has or not.")));
		if (!nulls[a] && ColumnNumber(r, c->kind, values[a]) != 0)
			PushMultiLabel(r->b, j);
	}
}

/* ReceiveRow: one row of the query into the build. */
static bool
ReceiveRow(TupleTableSlot *slot, DestReceiver *self)
{
	TableReader *r = (TableReader *) self;
	SplitBuild *b = r->b;
	SplitOptions *o = r->o;
	MemoryContext old = MemoryContextSwitchTo(r->build_cxt);
	int64		ord = b->n + 1;
	Datum	   *values;
	bool	   *nulls;

	if ((b->n & 0xffff) == 0)
		CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	values = slot->tts_values;
	nulls = slot->tts_isnull;
	BuildGrow(b);

	if (nulls[r->id.attno])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("row %lld: id column \"%s\" is null", (long long) ord, o->id)));
	AddIdDatum(r, values[r->id.attno]);

	if (o->label)
	{
		int			a = r->label.attno;

		if (r->label.is_array)
			AddArrayLabels(r, values[a], nulls[a], ord);
		else
		{
			if (b->multilabel)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("row %lld: mixed single and multiple labels", (long long) ord)));
			b->label[b->n] = InternColumn(r, &r->label, b->labels, values[a], nulls[a],
										  "label", o->label, ord);
		}
	}
	else if (o->n_label_keys > 0)
		AddKeyLabels(r, values, nulls, ord);
	if (b->ml_offsets)
		b->ml_offsets[b->n + 1] = b->ml_n;

	if (o->group)
		b->group[b->n] = InternColumn(r, &r->group, b->groups, values[r->group.attno],
									  nulls[r->group.attno], "group", o->group, ord);
	b->n++;
	MemoryContextSwitchTo(old);
	if (r->row_cxt_used)
	{
		MemoryContextReset(r->row_cxt);
		r->row_cxt_used = false;
	}
	return true;
}

/* StartReader: the query's columns are known; set up a reader for each. */
static void
StartReader(DestReceiver *self, int operation, TupleDesc td)
{
	TableReader *r = (TableReader *) self;
	SplitOptions *o = r->o;
	MemoryContext old = MemoryContextSwitchTo(r->build_cxt);
	int			a = 0;

	ColumnInit(&r->id, a, TupleDescAttr(td, a)->atttypid, false);
	if (r->id.kind == COL_INT2 || r->id.kind == COL_INT4 || r->id.kind == COL_INT8)
		BuildUseIntIds(r->b);
	else if (r->id.kind != COL_TEXT && r->id.kind != COL_OTHER)
	{
		/* floats, numerics, booleans as ids: their text */
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(td, a)->atttypid, &outfn, &varlena);
		fmgr_info(outfn, &r->id.out);
		r->id.kind = COL_OTHER;
	}
	a++;
	if (o->label)
	{
		ColumnInit(&r->label, a, TupleDescAttr(td, a)->atttypid, true);
		if (!r->label.is_array)
			BuildSingleLabel(r->b);
		a++;
	}
	else if (o->n_label_keys > 0)
	{
		r->keys = palloc(sizeof(ColumnReader) * o->n_label_keys);
		for (int j = 0; j < o->n_label_keys; j++, a++)
			ColumnInit(&r->keys[j], a, TupleDescAttr(td, a)->atttypid, false);
	}
	if (o->group)
		ColumnInit(&r->group, a, TupleDescAttr(td, a)->atttypid, false);
	MemoryContextSwitchTo(old);
}

static void
ShutdownReader(DestReceiver *self)
{
}

static void
DestroyReader(DestReceiver *self)
{
}

/*
 * SplitRelation reads the id, label and group columns of the relation with
 * the caller's rights (row-level security applies) into *b, splits them and
 * returns the kernel's assignment, one side (or fold) a row in read order.
 */
static int32 *
SplitRelation(Oid rel, Jsonb *opts, const char *fname, SplitOptions *o, SplitBuild *b)
{
	TableReader r;
	SPIExecuteOptions xo;
	SPIPlanPtr	plan;
	StringInfoData q;
	int			rc;
	int			gucs;

	ParseSplitOptions(opts, o);
	if (o->id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs option \"id\": the column that names each row", fname),
				 errhint("The result gives each row's id with its side.")));

	BuildInit(b, o);

	/* only the columns asked for: id, then the label column(s), then the group */
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s", quote_identifier(o->id));
	if (o->label)
		appendStringInfo(&q, ", %s", quote_identifier(o->label));
	else
		for (int j = 0; j < o->n_label_keys; j++)
			appendStringInfo(&q, ", %s", quote_identifier(o->label_keys[j]));
	if (o->group)
		appendStringInfo(&q, ", %s", quote_identifier(o->group));
	appendStringInfo(&q, " FROM %s",
					 DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(rel))));

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = ReceiveRow;
	r.pub.rStartup = StartReader;
	r.pub.rShutdown = ShutdownReader;
	r.pub.rDestroy = DestroyReader;
	r.pub.mydest = DestNone;
	r.b = b;
	r.o = o;
	r.build_cxt = CurrentMemoryContext;
	r.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "split_table row",
									  ALLOCSET_DEFAULT_SIZES);

	/*
	 * The rows must come in the table's order every time, since a seeded
	 * split depends on it (scikit-learn's index order): no parallel plan
	 * (cursor options without CURSOR_OPT_PARALLEL_OK), whose workers
	 * interleave rows, and no synchronized scan, which starts where another
	 * scan of the table is.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	gucs = NewGUCNestLevel();
	(void) set_config_option("synchronize_seqscans", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	plan = SPI_prepare_cursor(q.data, 0, NULL, 0);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	memset(&xo, 0, sizeof(xo));
	xo.read_only = true;
	xo.dest = &r.pub;
	rc = SPI_execute_plan_extended(plan, &xo);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
	AtEOXact_GUC(true, gucs);
	SPI_finish();
	MemoryContextDelete(r.row_cxt);

	return RunKernel(b, o);
}

/*
 * mlops.split_table(source regclass, options jsonb)
 *	  RETURNS TABLE(id text, split text, fold int)
 *
 * Reads the id, label and group columns of the relation with the caller's
 * rights (row-level security applies) and returns each row's id with its
 * side (or fold), in the order the rows were read.
 */
Datum
mlops_split_table(PG_FUNCTION_ARGS)
{
	Oid			rel = PG_GETARG_OID(0);
	Jsonb	   *opts = PG_GETARG_JSONB_P(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SplitOptions o;
	SplitBuild	b;
	int32	   *out;
	Datum		sides[3];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	union
	{
		int32		align;
		char		v[VARHDRSZ + MAXINT8LEN + 1];
	}			idbuf;

	out = SplitRelation(rel, opts, "split_table", &o, &b);

	/* one tuple a row: the id datum from the arena, a side made once */
	InitMaterializedSRF(fcinfo, 0);
	sides[0] = CStringGetTextDatum("train");
	sides[1] = CStringGetTextDatum("test");
	sides[2] = CStringGetTextDatum("unused");
	if (o.spec.folds > 0)
		nulls[1] = true;
	else
		nulls[2] = true;
	values[1] = values[2] = (Datum) 0;
	for (int64 i = 0; i < b.n; i++)
	{
		if (b.id_int)
		{
			/* an integer id: printed into one reused text datum */
			SET_VARSIZE(idbuf.v, VARHDRSZ + pg_lltoa(b.id_int[i], idbuf.v + VARHDRSZ));
			values[0] = PointerGetDatum(idbuf.v);
		}
		else
			values[0] = PointerGetDatum(b.id[i] - VARHDRSZ);
		if (o.spec.folds > 0)
			values[2] = Int32GetDatum(out[i]);
		else
			values[1] = sides[out[i]];
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/* DecimalLength: the number of characters pg_lltoa prints for v. */
static inline int
DecimalLength(int64 v)
{
	uint64		u = v < 0 ? -(uint64) v : (uint64) v;
	uint64		p = 10;
	int			n = 1;

	while (n < 20 && u >= p)
	{
		n++;
		p *= 10;
	}
	return n + (v < 0 ? 1 : 0);
}

/*
 * mlops.split_table_ids(source regclass, options jsonb)
 *	  RETURNS TABLE(split text, fold int, ids text[])
 *
 * split_table's split, one row a side (train, test, then unused when some
 * rows are on neither) or a fold (split null), with the ids of its rows as
 * one text[] in read order.  Each array is sized first and written in place,
 * so no tuple is made a source row.  An array holds at most 1 GB.
 */
Datum
mlops_split_table_ids(PG_FUNCTION_ARGS)
{
	Oid			rel = PG_GETARG_OID(0);
	Jsonb	   *opts = PG_GETARG_JSONB_P(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const char *const side_names[] = {"train", "test", "unused"};
	SplitOptions o;
	SplitBuild	b;
	int32	   *out;
	int			nparts;
	int64	   *count;
	Size	   *bytes;
	ArrayType **arr;
	char	  **wp;

	out = SplitRelation(rel, opts, "split_table_ids", &o, &b);
	nparts = o.spec.folds > 0 ? o.spec.folds : 3;
	count = palloc0(sizeof(int64) * nparts);
	bytes = palloc0(sizeof(Size) * nparts);
	arr = palloc0(sizeof(ArrayType *) * nparts);
	wp = palloc0(sizeof(char *) * nparts);

	/* each array's size: elements carry a 4-byte header and are int-aligned */
	for (int64 i = 0; i < b.n; i++)
	{
		int32		p = out[i];
		size_t		len = b.id_int ? (size_t) DecimalLength(b.id_int[i]) : b.id_len[i];

		Assert(p >= 0 && p < nparts);
		count[p]++;
		bytes[p] += INTALIGN(VARHDRSZ + len);
		if (bytes[p] > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the ids of one split take more than 1 GB, the most an array holds"),
					 errhint("Use mlops.split_table, which returns one row a source row.")));
	}
	for (int p = 0; p < nparts; p++)
	{
		Size		size = ARR_OVERHEAD_NONULLS(1) + bytes[p];

		if (count[p] == 0)
		{
			arr[p] = construct_empty_array(TEXTOID);
			continue;
		}
		if (size > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the ids of one split take more than 1 GB, the most an array holds"),
					 errhint("Use mlops.split_table, which returns one row a source row.")));
		/* one byte more: pg_lltoa's terminating zero after the last id */
		arr[p] = palloc(size + 1);
		SET_VARSIZE(arr[p], size);
		arr[p]->ndim = 1;
		arr[p]->dataoffset = 0;
		arr[p]->elemtype = TEXTOID;
		ARR_DIMS(arr[p])[0] = (int) count[p];
		ARR_LBOUND(arr[p])[0] = 1;
		wp[p] = ARR_DATA_PTR(arr[p]);
	}
	for (int64 i = 0; i < b.n; i++)
	{
		char	   *dst = wp[out[i]];
		size_t		len = b.id_int ? (size_t) DecimalLength(b.id_int[i]) : b.id_len[i];
		size_t		step = INTALIGN(VARHDRSZ + len);

		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		/* the element's last word first: its padding bytes are then zero */
		memset(dst + step - sizeof(int32), 0, sizeof(int32));
		SET_VARSIZE(dst, VARHDRSZ + len);
		if (b.id_int)
		{
			/* its zero lands in the padding, the next header or the spare byte */
			if ((size_t) pg_lltoa(b.id_int[i], VARDATA(dst)) != len)
				elog(ERROR, "id %lld printed in other than %d characters",
					 (long long) b.id_int[i], (int) len);
		}
		else
			memcpy(VARDATA(dst), b.id[i], len);
		wp[out[i]] = dst + step;
	}

	InitMaterializedSRF(fcinfo, 0);
	for (int p = 0; p < nparts; p++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		/* one split: train and test always, unused only when some rows are */
		if (o.spec.folds == 0 && p == SPLIT_NEITHER && count[p] == 0)
			continue;
		if (o.spec.folds > 0)
		{
			nulls[0] = true;
			values[0] = (Datum) 0;
			values[1] = Int32GetDatum(p);
		}
		else
		{
			values[0] = CStringGetTextDatum(side_names[p]);
			nulls[1] = true;
			values[1] = (Datum) 0;
		}
		values[2] = PointerGetDatum(arr[p]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(arr[p]);
	}
	PG_RETURN_NULL();
}
