/*-------------------------------------------------------------------------
 *
 * select_sql.c
 *	  mlops.select_batch(source regclass, options jsonb): the batch of pool
 *	  rows an active learner should label next (the kernel is select*.c).
 *	  The pool is read with the caller's rights.  The per-row strategies
 *	  (entropy, least_confidence, margin, random) run as one aggregate,
 *	  mlops.select_topk_agg, over the pool: the executor feeds it the rows
 *	  without copying them out, and it keeps a bounded heap, never the pool.
 *	  The embedding strategies (coreset, badge, cluster_margin) read the
 *	  pool through a cursor and need its embeddings in memory (n x d
 *	  floats).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "pg_mlops.h"
#include "active/select.h"
#include "spatial/parallel.h"
#include "util/alloc.h"

PG_FUNCTION_INFO_V1(mlops_select_batch);

/* The largest batch one call returns. */
#define SELECT_MAX_BATCH 1000000
/* The most classes a probability row may have. */
#define SELECT_MAX_CLASSES 100000

static const char *const strategy_names[] = {
	"entropy", "least_confidence", "margin", "random", "coreset", "badge", "cluster_margin", NULL
};

typedef struct SelectOptions
{
	SelectStrategy strategy;
	char	   *id;
	char	   *probs;
	char	   *embedding;
	char	   *exclude;		/* boolean column: true = not a candidate */
	char	   *labelled;		/* boolean column: the labelled set (coreset), not candidates */
	int64		k;
	int64		per_class;		/* 0: no quota */
	uint32		seed;
	int			nthreads;
	bool		normalize;		/* divide each probability row by its sum */
	double		tolerance;		/* per class: |sum - 1| <= tolerance * classes */
	bool		tolerance_set;	/* given as an option, not mlops.probability_tolerance */
} SelectOptions;

static char *
OptString(const char *key, JsonbValue *v)
{
	if (v->type != jbvString || v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a column name", key)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static void
ParseSelectOptions(Jsonb *opts, SelectOptions *o)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	memset(o, 0, sizeof(*o));
	o->strategy = SELECT_ENTROPY;
	o->tolerance = mlops_probability_tolerance;
	/* mlops.compute_threads: 0 is one thread per online CPU, as for interpolation */
	o->nthreads = mlops_compute_threads;
	if (o->nthreads <= 0)
	{
		long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

		o->nthreads = cpus > 0 ? (int) Min(cpus, PAR_MAX_THREADS) : 1;
	}
	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&opts->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (r != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		r = JsonbIteratorNext(&it, &v, true);
		if (v.type == jbvNull)
			continue;
		if (strcmp(key, "strategy") == 0)
		{
			int			i;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"strategy\" must be a string")));
			for (i = 0; strategy_names[i]; i++)
				if (strlen(strategy_names[i]) == (size_t) v.val.string.len &&
					memcmp(strategy_names[i], v.val.string.val, v.val.string.len) == 0)
					break;
			if (strategy_names[i] == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown strategy \"%.*s\"", v.val.string.len, v.val.string.val),
						 errhint("Valid strategies: entropy, least_confidence, margin, random, coreset, badge, cluster_margin.")));
			o->strategy = (SelectStrategy) i;
		}
		else if (strcmp(key, "id") == 0)
			o->id = OptString(key, &v);
		else if (strcmp(key, "probs") == 0)
			o->probs = OptString(key, &v);
		else if (strcmp(key, "embedding") == 0)
			o->embedding = OptString(key, &v);
		else if (strcmp(key, "exclude") == 0)
			o->exclude = OptString(key, &v);
		else if (strcmp(key, "labelled") == 0)
			o->labelled = OptString(key, &v);
		else if (strcmp(key, "k") == 0)
			o->k = (int64) mlops_option_whole(key, &v, 1, SELECT_MAX_BATCH);
		else if (strcmp(key, "per_class") == 0)
			o->per_class = (int64) mlops_option_whole(key, &v, 1, SELECT_MAX_BATCH);
		else if (strcmp(key, "seed") == 0)
			o->seed = (uint32) mlops_option_whole(key, &v, 0, 4294967295.0);
		else if (strcmp(key, "normalize") == 0)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"normalize\" must be true or false")));
			o->normalize = v.val.boolean;
		}
		else if (strcmp(key, "tolerance") == 0)
		{
			o->tolerance = mlops_option_number(key, &v);
			if (o->tolerance < 0.0 || o->tolerance > 1.0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"tolerance\" must be between 0 and 1, not %g", o->tolerance),
						 errdetail("A probability row may sum to 1 plus or minus tolerance times its number of classes.")));
			o->tolerance_set = true;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for select_batch", key),
					 errhint("Valid options: strategy, id, probs, embedding, exclude, labelled, k, per_class, seed, normalize, tolerance.")));
	}
	if (o->id == NULL || o->k == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("select_batch needs options \"id\" (the pool's id column) and \"k\" (the batch size)")));
	if (o->probs == NULL && o->strategy != SELECT_RANDOM && o->strategy != SELECT_CORESET)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategy %s needs option \"probs\" (a column of class probabilities)",
						strategy_names[o->strategy])));
	if (o->embedding == NULL &&
		(o->strategy == SELECT_CORESET || o->strategy == SELECT_BADGE || o->strategy == SELECT_CLUSTER_MARGIN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategy %s needs option \"embedding\" (a column of float4[] or float8[])",
						strategy_names[o->strategy])));
	if (o->per_class > 0 && (o->probs == NULL || o->strategy > SELECT_RANDOM))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"per_class\" needs \"probs\" and a per-row strategy (entropy, least_confidence, margin, random)")));
	if (o->labelled && o->strategy != SELECT_CORESET)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"labelled\" is for strategy coreset; use \"exclude\" to leave rows out")));
}

/* NormalizeRow: select_normalize_probs, its refusal naming the row, id and column. */
static void
NormalizeRow(double *p, int n, const char *what, int64 ord, int64 id)
{
	char		err[256];

	if (select_normalize_probs(p, n, err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row %lld (id " INT64_FORMAT "): %s: %s", (long long) ord, id, what, err)));
}

/*
 * RowArray: a float4[] or float8[] row's array, checked (one dimension, no
 * NULL, not too long), its length in *count; what/ord name the row in
 * errors.  Not copied unless it was toasted.
 */
static ArrayType *
RowArray(Datum d, const char *what, int64 ord, int *count)
{
	ArrayType  *a = DatumGetArrayTypeP(d);

	*count = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("row %lld: %s must be a one-dimensional array", (long long) ord, what)));
	if (ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("row %lld: %s holds a NULL", (long long) ord, what)));
	if (*count > SELECT_MAX_CLASSES * 100)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row %lld: %s has %d values, too many", (long long) ord, what, *count)));
	return a;
}

/*
 * RowDoubles reads a float8[], float4[] or jsonb array of numbers into buf
 * (growing it); returns the length.  what/ord name the row in errors.
 */
static int
RowDoubles(Datum d, Oid type, double **buf, int *cap, const char *what, int64 ord)
{
	int			n = 0;

	if (type == JSONBOID)
	{
		Jsonb	   *j = DatumGetJsonbP(d);
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken r;

		if (!JB_ROOT_IS_ARRAY(j) || JB_ROOT_IS_SCALAR(j))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("row %lld: %s is not a JSON array", (long long) ord, what)));
		it = JsonbIteratorInit(&j->root);
		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (r != WJB_ELEM)
				continue;
			if (v.type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("row %lld: %s holds a value that is not a number", (long long) ord, what)));
			if (n >= *cap)
			{
				*cap *= 2;
				*buf = repalloc(*buf, sizeof(double) * *cap);
			}
			(*buf)[n++] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
		}
		return n;
	}
	else
	{
		int			count;
		ArrayType  *a = RowArray(d, what, ord, &count);

		while (count > *cap)
		{
			*cap *= 2;
			*buf = repalloc(*buf, sizeof(double) * *cap);
		}
		if (ARR_ELEMTYPE(a) == FLOAT8OID)
			memcpy(*buf, ARR_DATA_PTR(a), sizeof(double) * count);
		else if (ARR_ELEMTYPE(a) == FLOAT4OID)
		{
			const float *f = (const float *) ARR_DATA_PTR(a);

			for (int i = 0; i < count; i++)
				(*buf)[i] = f[i];
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s must be float4[], float8[] or jsonb, not %s", what, format_type_be(type))));
		return count;
	}
}

static void
CheckColumnType(Oid type, const char *what, bool allow_jsonb)
{
	if (type == FLOAT8ARRAYOID || type == FLOAT4ARRAYOID || (allow_jsonb && type == JSONBOID))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column %s is %s; it must be float4[], float8[]%s", what, format_type_be(type),
					allow_jsonb ? " or jsonb" : "")));
}

/*
 * mlops.select_batch(source regclass, options jsonb)
 *	  RETURNS TABLE(id bigint, score float8, rank int)
 */
Datum
mlops_select_batch(PG_FUNCTION_ARGS)
{
	Oid			rel = PG_GETARG_OID(0);
	Jsonb	   *jopts = PG_GETARG_JSONB_P(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext caller = CurrentMemoryContext;
	const mlops_allocator *alloc = mlops_palloc_allocator();
	SelectOptions o;
	StringInfoData q;
	Portal		portal;
	char	   *relname;
	int			col_probs = 0,
				col_emb = 0,
				col_excl = 0,
				col_lab = 0,
				ncols = 1;
	bool		per_row;
	double	   *pbuf,
			   *ebuf;
	int			pcap = 64,
				ecap = 64;
	int			n_classes = -1,
				dim = -1;
	/* the embedding strategies' pool, in memory */
	int64	   *ids = NULL;
	float	   *E = NULL,
			   *L = NULL;
	double	   *P = NULL;
	int64		n = 0,
				cap = 0,
				m = 0,
				lcap = 0,
				ord = 0;
	int64	   *picked;
	double	   *scores;
	int64		got;
	char		err[512];

	ParseSelectOptions(jopts, &o);
	per_row = o.strategy <= SELECT_RANDOM;
	relname = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(rel)));
	pbuf = palloc(sizeof(double) * pcap);
	ebuf = palloc(sizeof(double) * ecap);

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s::bigint", quote_identifier(o.id));
	if (o.probs)
	{
		appendStringInfo(&q, ", %s", quote_identifier(o.probs));
		col_probs = ++ncols;
	}
	if (o.embedding && !per_row)
	{
		appendStringInfo(&q, ", %s", quote_identifier(o.embedding));
		col_emb = ++ncols;
	}
	if (o.exclude)
	{
		appendStringInfo(&q, ", %s::boolean", quote_identifier(o.exclude));
		col_excl = ++ncols;
	}
	if (o.labelled)
	{
		appendStringInfo(&q, ", %s::boolean", quote_identifier(o.labelled));
		col_lab = ++ncols;
	}
	appendStringInfo(&q, " FROM %s", relname);

	if (per_row)
	{
		/* one aggregate over the rows: no tuple is copied out of the executor */
		int64		got_n;
		bytea	   *res;
		bool		isnull;
		int			nestlevel;

		resetStringInfo(&q);
		appendStringInfo(&q, "SELECT mlops.select_topk_agg(%s::bigint, %s, %d, " INT64_FORMAT ", " INT64_FORMAT ", %u, %s) FROM %s",
						 quote_identifier(o.id), o.probs ? quote_identifier(o.probs) : "NULL::float8[]",
						 (int) o.strategy, o.k, o.per_class, o.seed, o.normalize ? "true" : "false", relname);
		if (o.exclude)
			appendStringInfo(&q, " WHERE NOT coalesce(%s::boolean, false)", quote_identifier(o.exclude));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (o.probs)
		{
			/* the column's type first, to name it in the error */
			char	   *probe = psprintf("SELECT %s FROM %s LIMIT 0", quote_identifier(o.probs), relname);

			SPI_execute(probe, true, 0);
			CheckColumnType(SPI_gettypeid(SPI_tuptable->tupdesc, 1), o.probs, true);
		}
		/*
		 * The aggregate reads mlops.probability_tolerance (parallel workers
		 * get the leader's value): option tolerance sets it for this query
		 * only, as a function's SET clause would.
		 */
		nestlevel = NewGUCNestLevel();
		if (o.tolerance_set)
		{
			char		tol[64];

			snprintf(tol, sizeof(tol), "%.17g", o.tolerance);
			(void) set_config_option("mlops.probability_tolerance", tol, PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		}
		/* no tuple count: one would rule out a parallel plan (the aggregate is parallel safe) */
		if (SPI_execute(q.data, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "select_topk_agg returned no row");
		AtEOXact_GUC(true, nestlevel);
		{
			/* the copy must outlive SPI_finish, which frees SPI's memory */
			MemoryContext old = MemoryContextSwitchTo(caller);
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			res = isnull ? NULL : DatumGetByteaPCopy(d);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
		got_n = res ? (int64) (VARSIZE(res) - VARHDRSZ) / (int64) (sizeof(int64) + sizeof(double)) : 0;
		InitMaterializedSRF(fcinfo, 0);
		for (int64 i = 0; i < got_n; i++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};
			int64		idv;
			double		sc;

			memcpy(&idv, VARDATA(res) + i * (sizeof(int64) + sizeof(double)), sizeof(int64));
			memcpy(&sc, VARDATA(res) + i * (sizeof(int64) + sizeof(double)) + sizeof(int64), sizeof(double));
			values[0] = Int64GetDatum(idv);
			values[1] = Float8GetDatum(o.strategy == SELECT_MARGIN ? -sc : sc);
			values[2] = Int32GetDatum((int32) (i + 1));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		PG_RETURN_NULL();
	}
	ids = palloc(sizeof(int64) * 1024);
	cap = 1024;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, q.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		TupleDesc	td;

		SPI_cursor_fetch(portal, true, 10000);
		td = SPI_tuptable->tupdesc;
		if (SPI_processed == 0)
			break;
		if (ord == 0)
		{
			if (col_probs)
				CheckColumnType(SPI_gettypeid(td, col_probs), o.probs, true);
			if (col_emb)
				CheckColumnType(SPI_gettypeid(td, col_emb), o.embedding, false);
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			bool		isnull;
			bool		is_labelled = false;
			Datum		d;
			int64		idv;
			int			np = 0;
			int			ne;
			Datum		ed;
			MemoryContext old;

			ord++;
			if ((ord & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (col_excl)
			{
				d = SPI_getbinval(tup, td, col_excl, &isnull);
				if (!isnull && DatumGetBool(d))
					continue;
			}
			if (col_lab)
			{
				d = SPI_getbinval(tup, td, col_lab, &isnull);
				is_labelled = !isnull && DatumGetBool(d);
			}
			d = SPI_getbinval(tup, td, 1, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("row %lld: id column \"%s\" is null", (long long) ord, o.id)));
			idv = DatumGetInt64(d);
			if (col_probs)
			{
				Datum		pd = SPI_getbinval(tup, td, col_probs, &isnull);

				if (isnull)
				{
					if (!is_labelled)
						ereport(ERROR,
								(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
								 errmsg("row %lld: probabilities \"%s\" are null", (long long) ord, o.probs),
								 errhint("Leave rows without predictions out with option \"exclude\".")));
				}
				else
				{
					np = RowDoubles(pd, SPI_gettypeid(td, col_probs), &pbuf, &pcap, o.probs, ord);
					if (o.normalize)
						NormalizeRow(pbuf, np, o.probs, ord, idv);
					if (n_classes < 0)
						n_classes = np;
					else if (np != n_classes)
						ereport(ERROR,
								(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
								 errmsg("row %lld has %d probabilities where earlier rows have %d", (long long) ord, np,
										n_classes)));
				}
			}
			/* the embedding strategies keep every row they may pick or measure from */
			ed = SPI_getbinval(tup, td, col_emb, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("row %lld: embedding \"%s\" is null", (long long) ord, o.embedding)));
			ne = RowDoubles(ed, SPI_gettypeid(td, col_emb), &ebuf, &ecap, o.embedding, ord);
			if (dim < 0)
				dim = ne;
			else if (ne != dim)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("row %lld has an embedding of %d values where earlier rows have %d",
								(long long) ord, ne, dim)));
			if (dim < 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("row %lld has an empty embedding", (long long) ord)));
			old = MemoryContextSwitchTo(caller);
			if (is_labelled)
			{
				if (m >= lcap)
				{
					lcap = lcap ? 2 * lcap : 1024;
					L = L ? repalloc_huge(L, sizeof(float) * lcap * dim) : palloc_extended(sizeof(float) * lcap * dim, MCXT_ALLOC_HUGE);
				}
				for (int j = 0; j < dim; j++)
					L[m * dim + j] = (float) ebuf[j];
				m++;
			}
			else
			{
				if (n >= cap || E == NULL)
				{
					if (n >= cap)
					{
						cap *= 2;
						ids = repalloc_huge(ids, sizeof(int64) * cap);
					}
					E = E ? repalloc_huge(E, sizeof(float) * cap * dim) : palloc_extended(sizeof(float) * cap * dim, MCXT_ALLOC_HUGE);
					if (col_probs)
						P = P ? repalloc_huge(P, sizeof(double) * cap * Max(n_classes, 1))
							: palloc_extended(sizeof(double) * cap * Max(n_classes, 1), MCXT_ALLOC_HUGE);
				}
				for (int j = 0; j < dim; j++)
				{
					if (!isfinite(ebuf[j]))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("row %lld: embedding holds %g", (long long) ord, ebuf[j])));
					E[n * dim + j] = (float) ebuf[j];
				}
				if (col_probs)
					memcpy(P + n * n_classes, pbuf, sizeof(double) * n_classes);
				ids[n++] = idv;
			}
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();

	picked = palloc(sizeof(int64) * o.k);
	scores = palloc(sizeof(double) * o.k);
	err[0] = '\0';
	{
		int64		b = Min(o.k, n);
		int			rc = 0;

		got = b;
		if (b > 0)
		{
			if (o.strategy == SELECT_CORESET)
				rc = select_coreset(E, n, dim, L, m, b, o.nthreads, picked, scores, alloc, err, sizeof(err));
			else if (o.strategy == SELECT_BADGE)
			{
				rc = select_badge(E, dim, P, n_classes, n, b, o.seed, o.tolerance, picked, alloc, err, sizeof(err));
				for (int64 i = 0; i < b; i++)
					scores[i] = NAN;
			}
			else
			{
				rc = select_cluster_margin(E, dim, P, n_classes, n, b, o.seed, o.tolerance, picked, alloc, err, sizeof(err));
				for (int64 i = 0; i < b; i++)
					scores[i] = NAN;
			}
		}
		if (rc != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot select a batch: %s", err[0] ? err : "the kernel refused")));
	}

	InitMaterializedSRF(fcinfo, 0);
	for (int64 i = 0; i < got; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(ids[picked[i]]);
		values[1] = Float8GetDatum(scores[i]);
		nulls[1] = isnan(scores[i]);
		values[2] = Int32GetDatum((int32) (i + 1));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/* ---- the per-row strategies as an aggregate: the executor feeds rows without copying them ---- */

PG_FUNCTION_INFO_V1(mlops_select_topk_trans);
PG_FUNCTION_INFO_V1(mlops_select_topk_final);
PG_FUNCTION_INFO_V1(mlops_select_topk_combine);
PG_FUNCTION_INFO_V1(mlops_select_topk_serialize);
PG_FUNCTION_INFO_V1(mlops_select_topk_deserialize);

typedef struct TopkState
{
	SelectStrategy strategy;
	int64		k;
	int64		per_class;
	uint32		seed;
	SelectHeap *heap;
	SelectHeap **class_heaps;
	int			n_class_heaps;
	int			n_classes;
	double	   *buf;
	int			cap;
	int64		rows;
	Oid			probs_type;		/* the probs argument's type, looked up on the first row */
} TopkState;

static TopkState *TopkNew(MemoryContext cxt, SelectStrategy strategy, int64 k, int64 per_class,
						  uint32 seed);
static SelectHeap *TopkClassHeap(TopkState *st, int c, int n, MemoryContext cxt);

/*
 * mlops.select_topk_agg(id bigint, probs "any", strategy int, k bigint, per_class bigint,
 *						 seed bigint) -> bytea
 *
 * select_batch's per-row strategies over the rows a query gives: each row's
 * probabilities (float4[], float8[] or jsonb) are checked and scored, and
 * offered to a bounded heap (one per predicted class with per_class).  The
 * result is the heap, best first, as (id int64, score float8) pairs.
 */
Datum
mlops_select_topk_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	TopkState  *st;
	int64		idv;
	int			np = 0;
	double		score;
	char		err[256];
	SelectHeap *target;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "select_topk_agg called in a non-aggregate context");
	if (PG_ARGISNULL(0))
	{
		if (PG_GETARG_INT32(3) > (int32) SELECT_RANDOM || PG_GETARG_INT32(3) < 0 ||
			PG_GETARG_INT64(4) < 1 || PG_GETARG_INT64(5) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("select_topk_agg takes a per-row strategy and k >= 1")));
		st = TopkNew(aggcxt, (SelectStrategy) PG_GETARG_INT32(3), PG_GETARG_INT64(4),
					 PG_GETARG_INT64(5), (uint32) PG_GETARG_INT64(6));
	}
	else
		st = (TopkState *) PG_GETARG_POINTER(0);
	st->rows++;
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("row %lld: the id is null", (long long) st->rows)));
	idv = PG_GETARG_INT64(1);
	if (!PG_ARGISNULL(2))
	{
		Oid			type = st->probs_type;
		double		floor_score;

		if (type == InvalidOid)
		{
			type = st->probs_type = get_fn_expr_argtype(fcinfo->flinfo, 2);
			CheckColumnType(type, "probs", true);
		}
		/*
		 * entropy over float4[] (no per-class heaps, no normalising): once
		 * the heap is full, the float4 screen reads the row in place, and a
		 * row that cannot reach the floor is done without a copy
		 */
		if (st->strategy == SELECT_ENTROPY && type == FLOAT4ARRAYOID && st->per_class == 0 &&
			!PG_GETARG_BOOL(7) && (floor_score = select_heap_floor(st->heap)) > -INFINITY)
		{
			ArrayType  *a = RowArray(PG_GETARG_DATUM(2), "probs", st->rows, &np);
			double		upper;

			if (np != st->n_classes)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("row %lld has %d probabilities where earlier rows have %d", (long long) st->rows, np,
								st->n_classes)));
			if (select_entropy_upper_f32((const float *) ARR_DATA_PTR(a), np, mlops_probability_tolerance,
										 &upper, err, sizeof(err)) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("row %lld (id " INT64_FORMAT "): %s", (long long) st->rows, idv, err)));
			if (upper < floor_score)
				PG_RETURN_POINTER(st);
		}
		old = MemoryContextSwitchTo(aggcxt);
		np = RowDoubles(PG_GETARG_DATUM(2), type, &st->buf, &st->cap, "probs", st->rows);
		MemoryContextSwitchTo(old);
		if (PG_GETARG_BOOL(7))
			NormalizeRow(st->buf, np, "probs", st->rows, idv);
		if (st->n_classes < 0)
			st->n_classes = np;
		else if (np != st->n_classes)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("row %lld has %d probabilities where earlier rows have %d", (long long) st->rows, np,
							st->n_classes)));
	}
	else if (st->strategy != SELECT_RANDOM)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("row %lld (id " INT64_FORMAT "): the probabilities are null", (long long) st->rows, idv),
				 errhint("Leave rows without predictions out with option \"exclude\".")));

	target = st->heap;
	if (st->per_class > 0 && np > 0)
	{
		int			best = select_predicted_class(st->buf, np);

		target = TopkClassHeap(st, best, np, aggcxt);
	}
	/* entropy: a row that cannot beat the full heap's floor skips libm's logarithms */
	if (st->strategy == SELECT_ENTROPY && np > 0)
	{
		double		floor_score = select_heap_floor(target);
		double		upper;

		if (floor_score > -INFINITY)
		{
			if (select_entropy_upper(st->buf, np, mlops_probability_tolerance, &upper, err, sizeof(err)) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("row %lld (id " INT64_FORMAT "): %s", (long long) st->rows, idv, err)));
			if (upper < floor_score)
				PG_RETURN_POINTER(st);
		}
	}
	if (select_row_score(st->strategy, np > 0 ? st->buf : NULL, np, idv, st->seed, mlops_probability_tolerance,
						 &score, err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row %lld (id " INT64_FORMAT "): %s", (long long) st->rows, idv, err)));
	old = MemoryContextSwitchTo(aggcxt);
	if (select_heap_offer(target, score, idv) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* TopkNew: an empty state for the aggregate's arguments, in cxt. */
static TopkState *
TopkNew(MemoryContext cxt, SelectStrategy strategy, int64 k, int64 per_class, uint32 seed)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	TopkState  *st = palloc0(sizeof(TopkState));

	st->strategy = strategy;
	st->k = k;
	st->per_class = per_class;
	st->seed = seed;
	st->heap = select_heap_create(k, mlops_palloc_allocator());
	st->n_classes = -1;
	st->cap = 64;
	st->buf = palloc(sizeof(double) * st->cap);
	MemoryContextSwitchTo(old);
	if (st->heap == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return st;
}

/* TopkClassHeap: class c's heap of st, made in cxt if missing. */
static SelectHeap *
TopkClassHeap(TopkState *st, int c, int n, MemoryContext cxt)
{
	if (st->class_heaps == NULL)
	{
		st->n_class_heaps = n;
		st->class_heaps = MemoryContextAllocZero(cxt, sizeof(SelectHeap *) * n);
	}
	if (st->class_heaps[c] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		st->class_heaps[c] = select_heap_create(Min(st->per_class, st->k), mlops_palloc_allocator());
		MemoryContextSwitchTo(old);
		if (st->class_heaps[c] == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	return st->class_heaps[c];
}

/*
 * The parallel aggregate: partial states (one per worker) are serialised
 * as their heaps' entries and merged; a merged heap equals one heap offered
 * every row (select_heap_merge), so the batch does not depend on the plan.
 */
Datum
mlops_select_topk_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	TopkState  *a = PG_ARGISNULL(0) ? NULL : (TopkState *) PG_GETARG_POINTER(0);
	TopkState  *b = PG_ARGISNULL(1) ? NULL : (TopkState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "select_topk_combine called in a non-aggregate context");
	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = TopkNew(aggcxt, b->strategy, b->k, b->per_class, b->seed);
	if (a->n_classes >= 0 && b->n_classes >= 0 && a->n_classes != b->n_classes)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("rows have %d probabilities and others %d", a->n_classes, b->n_classes)));
	if (a->n_classes < 0)
		a->n_classes = b->n_classes;
	a->rows += b->rows;
	old = MemoryContextSwitchTo(aggcxt);	/* the heaps grow there */
	if (select_heap_merge(a->heap, b->heap) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	for (int c = 0; b->class_heaps && c < b->n_class_heaps; c++)
		if (b->class_heaps[c] &&
			select_heap_merge(TopkClassHeap(a, c, b->n_class_heaps, aggcxt), b->class_heaps[c]) != 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

/* TopkPutHeap / TopkGetHeap: a heap as its count and (id, score) pairs. */
static void
TopkPutHeap(StringInfo buf, SelectHeap *h)
{
	int64		n = h ? select_heap_count(h) : -1;

	pq_sendint64(buf, n);
	if (n > 0)
	{
		int64	   *ids = palloc(sizeof(int64) * n);
		double	   *scores = palloc(sizeof(double) * n);

		select_heap_result(h, ids, scores);
		for (int64 i = 0; i < n; i++)
		{
			pq_sendint64(buf, ids[i]);
			pq_sendfloat8(buf, scores[i]);
		}
		pfree(ids);
		pfree(scores);
	}
}

static void
TopkGetHeap(StringInfo buf, SelectHeap *h)
{
	int64		n = pq_getmsgint64(buf);

	for (int64 i = 0; i < n; i++)
	{
		int64		id = pq_getmsgint64(buf);
		double		score = pq_getmsgfloat8(buf);

		if (select_heap_offer(h, score, id) != 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
}

Datum
mlops_select_topk_serialize(PG_FUNCTION_ARGS)
{
	TopkState  *st = (TopkState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, (int32) st->strategy);
	pq_sendint64(&buf, st->k);
	pq_sendint64(&buf, st->per_class);
	pq_sendint32(&buf, (int32) st->seed);
	pq_sendint64(&buf, st->rows);
	pq_sendint32(&buf, st->n_classes);
	pq_sendint32(&buf, st->class_heaps ? st->n_class_heaps : 0);
	TopkPutHeap(&buf, st->heap);
	for (int c = 0; st->class_heaps && c < st->n_class_heaps; c++)
		TopkPutHeap(&buf, st->class_heaps[c]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
mlops_select_topk_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	MemoryContext old;
	StringInfoData buf;
	TopkState  *st;
	SelectStrategy strategy;
	int64		k,
				per_class;
	uint32		seed;
	int			nh;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "select_topk_deserialize called in a non-aggregate context");
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in));
	strategy = (SelectStrategy) pq_getmsgint(&buf, 4);
	k = pq_getmsgint64(&buf);
	per_class = pq_getmsgint64(&buf);
	seed = (uint32) pq_getmsgint(&buf, 4);
	if (strategy > SELECT_RANDOM || k < 1 || per_class < 0)
		elog(ERROR, "select_topk_deserialize: a state that no transition made");
	st = TopkNew(aggcxt, strategy, k, per_class, seed);
	old = MemoryContextSwitchTo(aggcxt);	/* the heaps grow there */
	st->rows = pq_getmsgint64(&buf);
	st->n_classes = pq_getmsgint(&buf, 4);
	nh = pq_getmsgint(&buf, 4);
	if (nh < 0 || (nh > 0 && nh != st->n_classes))
		elog(ERROR, "select_topk_deserialize: a state that no transition made");
	TopkGetHeap(&buf, st->heap);
	for (int c = 0; c < nh; c++)
	{
		/* a count of -1: that class had no heap */
		int64		n = pq_getmsgint64(&buf);

		if (n < 0)
			continue;
		buf.cursor -= 8;
		TopkGetHeap(&buf, TopkClassHeap(st, c, nh, aggcxt));
	}
	pq_getmsgend(&buf);
	MemoryContextSwitchTo(old);
	pfree(buf.data);
	PG_RETURN_POINTER(st);
}

Datum
mlops_select_topk_final(PG_FUNCTION_ARGS)
{
	TopkState  *st = PG_ARGISNULL(0) ? NULL : (TopkState *) PG_GETARG_POINTER(0);
	int64		n;
	int64	   *ids;
	double	   *scores;
	bytea	   *out;
	char	   *p;

	if (st == NULL)
		PG_RETURN_BYTEA_P(DatumGetByteaPP(DirectFunctionCall1(byteain, CStringGetDatum(""))));
	if (st->class_heaps)
		for (int c = 0; c < st->n_class_heaps; c++)
			if (st->class_heaps[c] && select_heap_merge(st->heap, st->class_heaps[c]) != 0)
				ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	n = select_heap_count(st->heap);
	ids = palloc(sizeof(int64) * Max(n, 1));
	scores = palloc(sizeof(double) * Max(n, 1));
	n = select_heap_result(st->heap, ids, scores);
	out = palloc(VARHDRSZ + n * (sizeof(int64) + sizeof(double)));
	SET_VARSIZE(out, VARHDRSZ + n * (sizeof(int64) + sizeof(double)));
	p = VARDATA(out);
	for (int64 i = 0; i < n; i++)
	{
		memcpy(p, &ids[i], sizeof(int64));
		memcpy(p + sizeof(int64), &scores[i], sizeof(double));
		p += sizeof(int64) + sizeof(double);
	}
	PG_RETURN_BYTEA_P(out);
}
