/*-------------------------------------------------------------------------
 *
 * split_sql.c
 *	  SQL entry point of dataset splitting over a JSON array of items
 *	  (mlops.split_manifest), and the glue both forms share (split_glue.h;
 *	  the table form, mlops.split_table, is split_table.c).  The
 *	  glue turns labels, groups and ids into dense codes (numpy.unique's
 *	  order, through the labels kernel), calls split_assign and returns one
 *	  row per item; the kernel does every choice and checks its result.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "pg_mlops.h"
#include "util/alloc.h"
#include "datasets/split_glue.h"

PG_FUNCTION_INFO_V1(mlops_split_manifest);

#define SPLIT_MAX_LABEL_KEYS 1024

static const char *const method_names[] = {
	"random", "stratified", "group", "stratified_group", "iterative", "hash", "sklearn", NULL
};
static const SplitMethod method_values[] = {
	SPLIT_RANDOM, SPLIT_STRATIFIED, SPLIT_GROUP, SPLIT_STRATIFIED_GROUP, SPLIT_ITERATIVE,
	SPLIT_HASH, SPLIT_SKLEARN
};

static const char *const option_names =
"method, label, group, id, test_size, train_size, n_test_per_label, folds, seed, shuffle";

static char *
OptionString(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a string", key)));
	if (v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must not be empty", key)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * OptionSize reads test_size or train_size: a fraction strictly between 0
 * and 1, or a whole count of at least 1.
 */
static double
OptionSize(const char *key, JsonbValue *v)
{
	double		d = mlops_option_number(key, v);

	if (d <= 0 || (d >= 1 && d != floor(d)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a fraction between 0 and 1 or a whole count of at least 1, got %g",
						key, d)));
	return d;
}

void
ParseSplitOptions(Jsonb *opts, SplitOptions *o)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	memset(o, 0, sizeof(*o));
	o->spec.method = SPLIT_RANDOM;
	o->spec.test_size = NAN;
	o->spec.train_size = NAN;
	o->spec.n_test_per_label = -1;
	o->spec.folds = 0;
	o->spec.seed = 0;
	o->spec.shuffle = 1;

	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));

	it = JsonbIteratorInit(&opts->root);
	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		char	   *key;

		if (r != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		r = JsonbIteratorNext(&it, &v, true);
		Assert(r == WJB_VALUE);
		if (v.type == jbvNull)
			continue;			/* "key": null means "not given" */

		if (strcmp(key, "method") == 0)
		{
			char	   *name = OptionString(key, &v);
			int			i;

			for (i = 0; method_names[i] != NULL; i++)
				if (strcmp(name, method_names[i]) == 0)
					break;
			if (method_names[i] == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown split method \"%s\"", name),
						 errhint("Valid methods: random, stratified, group, stratified_group, iterative, hash, sklearn.")));
			o->spec.method = method_values[i];
			o->method_given = true;
		}
		else if (strcmp(key, "label") == 0)
		{
			if (v.type == jbvBinary)
			{
				JsonbIterator *ai = JsonbIteratorInit(v.val.binary.data);
				JsonbValue	e;
				JsonbIteratorToken t;

				o->label_keys = palloc(sizeof(char *) * SPLIT_MAX_LABEL_KEYS);
				while ((t = JsonbIteratorNext(&ai, &e, true)) != WJB_DONE)
				{
					if (t == WJB_KEY)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("option \"label\" must be a key or an array of keys")));
					if (t != WJB_ELEM)
						continue;
					if (o->n_label_keys >= SPLIT_MAX_LABEL_KEYS)
						ereport(ERROR,
								(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
								 errmsg("option \"label\" names more than %d keys", SPLIT_MAX_LABEL_KEYS)));
					o->label_keys[o->n_label_keys++] = OptionString("label", &e);
				}
				if (o->n_label_keys == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"label\" is an empty array")));
			}
			else
				o->label = OptionString(key, &v);
		}
		else if (strcmp(key, "group") == 0)
			o->group = OptionString(key, &v);
		else if (strcmp(key, "id") == 0)
			o->id = OptionString(key, &v);
		else if (strcmp(key, "test_size") == 0)
			o->spec.test_size = OptionSize(key, &v);
		else if (strcmp(key, "train_size") == 0)
			o->spec.train_size = OptionSize(key, &v);
		else if (strcmp(key, "n_test_per_label") == 0)
			o->spec.n_test_per_label = (int64) mlops_option_whole(key, &v, 0, (double) INT32_MAX);
		else if (strcmp(key, "folds") == 0)
			o->spec.folds = (int32) mlops_option_whole(key, &v, 2, 1000000);
		else if (strcmp(key, "seed") == 0)
			o->spec.seed = (uint32) mlops_option_whole(key, &v, 0, 4294967295.0);
		else if (strcmp(key, "shuffle") == 0)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"shuffle\" must be true or false")));
			o->spec.shuffle = v.val.boolean ? 1 : 0;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for a split", key),
					 errhint("Valid options: %s.", option_names)));
	}

	if (!o->method_given)
	{
		bool		labelled = o->label != NULL || o->n_label_keys > 0;

		if (o->n_label_keys > 0)
			o->spec.method = SPLIT_ITERATIVE;
		else if (labelled && o->group)
			o->spec.method = SPLIT_STRATIFIED_GROUP;
		else if (labelled)
			o->spec.method = SPLIT_STRATIFIED;
		else if (o->group)
			o->spec.method = SPLIT_GROUP;
	}
	if ((o->spec.method == SPLIT_STRATIFIED || o->spec.method == SPLIT_STRATIFIED_GROUP ||
		 o->spec.method == SPLIT_ITERATIVE) && o->label == NULL && o->n_label_keys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split method \"%s\" needs option \"label\"", method_names[o->spec.method])));
	if ((o->spec.method == SPLIT_GROUP || o->spec.method == SPLIT_STRATIFIED_GROUP) && o->group == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split method \"%s\" needs option \"group\"", method_names[o->spec.method])));
	if (o->spec.n_test_per_label >= 0 && o->label == NULL && o->n_label_keys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"n_test_per_label\" needs option \"label\"")));
	if (o->spec.folds > 0 && (!isnan(o->spec.test_size) || !isnan(o->spec.train_size) ||
							  o->spec.n_test_per_label >= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"folds\" cannot be combined with test_size, train_size or n_test_per_label")));
}

/* ---- building the kernel's input ---- */

void
BuildInit(SplitBuild *b, const SplitOptions *o)
{
	const mlops_allocator *a = mlops_palloc_allocator();

	memset(b, 0, sizeof(*b));
	b->cap = 1024;
	b->multilabel = o->n_label_keys > 0;
	if (o->label || o->n_label_keys > 0)
		b->labels = labels_create(a);
	if (o->label && !b->multilabel)
		b->label = palloc(sizeof(int32) * b->cap);
	b->ml_offsets = palloc(sizeof(int64) * (b->cap + 1));
	b->ml_offsets[0] = 0;
	b->ml_cap = 1024;
	b->ml_labels = palloc(sizeof(int32) * b->ml_cap);
	if (o->group)
	{
		b->groups = labels_create(a);
		b->group = palloc(sizeof(int32) * b->cap);
	}
	/* every item has an id (its key, or its whole text): duplicates are refused */
	b->id = palloc(sizeof(char *) * b->cap);
	b->id_len = palloc(sizeof(size_t) * b->cap);
}

/* BuildGrow makes room for one more item. */
void
BuildGrow(SplitBuild *b)
{
	if (b->n < b->cap)
		return;
	if (b->cap >= (int64) (MaxAllocHugeSize / sizeof(int64) / 4))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items to split")));
	b->cap *= 2;
	if (b->label)
		b->label = repalloc_huge(b->label, sizeof(int32) * b->cap);
	if (b->ml_offsets)
		b->ml_offsets = repalloc_huge(b->ml_offsets, sizeof(int64) * (b->cap + 1));
	if (b->group)
		b->group = repalloc_huge(b->group, sizeof(int32) * b->cap);
	if (b->id)
	{
		b->id = repalloc_huge(b->id, sizeof(char *) * b->cap);
		b->id_len = repalloc_huge(b->id_len, sizeof(size_t) * b->cap);
	}
	if (b->id_int)
		b->id_int = repalloc_huge(b->id_int, sizeof(int64) * b->cap);
}

void
BuildUseIntIds(SplitBuild *b)
{
	Assert(b->n == 0);
	pfree(b->id);
	pfree(b->id_len);
	b->id = NULL;
	b->id_len = NULL;
	b->id_int = palloc(sizeof(int64) * b->cap);
}

void
BuildSingleLabel(SplitBuild *b)
{
	Assert(b->n == 0 && !b->multilabel);
	pfree(b->ml_offsets);
	b->ml_offsets = NULL;
}

/*
 * IntIdsAsText gives integer ids their text (as the id column prints them),
 * for the hash method and for messages: one block holds all of it.
 */
static void
IntIdsAsText(SplitBuild *b)
{
	char	   *buf = palloc_extended((Size) Max(b->n, 1) * (MAXINT8LEN + 1), MCXT_ALLOC_HUGE);
	char	   *p = buf;

	b->id = palloc_extended(sizeof(char *) * Max(b->n, 1), MCXT_ALLOC_HUGE);
	b->id_len = palloc_extended(sizeof(size_t) * Max(b->n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < b->n; i++)
	{
		int			len = pg_lltoa(b->id_int[i], p);

		b->id[i] = p;
		b->id_len[i] = len;
		p += len + 1;
	}
}

void
PushMultiLabel(SplitBuild *b, int32 code)
{
	if (b->ml_n >= b->ml_cap)
	{
		b->ml_cap *= 2;
		b->ml_labels = repalloc_huge(b->ml_labels, sizeof(int32) * b->ml_cap);
	}
	b->ml_labels[b->ml_n++] = code;
}

/*
 * InternScalar turns one label or group value into its code: strings by
 * their bytes, integral numbers and booleans (true = 1) by their value.
 * what/ord name the item in errors.
 */
int32
InternScalar(label_set *set, JsonbValue *v, const char *what, const char *key, int64 ord)
{
	int32		code;

	switch (v->type)
	{
		case jbvString:
			code = labels_intern_string(set, v->val.string.val, v->val.string.len);
			break;
		case jbvBool:
			code = labels_intern_number(set, v->val.boolean ? 1.0 : 0.0);
			break;
		case jbvNumeric:
			{
				double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																   NumericGetDatum(v->val.numeric)));

				if (!isfinite(d) || d != floor(d))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("item %lld: %s \"%s\" is %g, not a whole number or a string",
									(long long) ord, what, key, d)));
				code = labels_intern_number(set, d);
				break;
			}
		case jbvNull:
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("item %lld: %s \"%s\" is null", (long long) ord, what, key),
					 errhint("Every item needs a %s; filter out the items without one first.", what)));
			code = -1;			/* not reached */
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("item %lld: %s \"%s\" must be a string, a whole number or a boolean",
							(long long) ord, what, key)));
			code = -1;			/* not reached */
	}
	if (code == LABEL_ERR_KIND)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item %lld: %s \"%s\" mixes strings and numbers with earlier items",
						(long long) ord, what, key),
				 errhint("As scikit-learn, a split takes %ss of one kind: all strings or all numbers.", what)));
	if (code < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct %ss (at most %d)", what, LABEL_MAX_COUNT)));
	return code;
}

static void
AddId(SplitBuild *b, const char *s, size_t len)
{
	b->id[b->n] = (char *) s;
	b->id_len[b->n] = len;
}

/* One id's hash and position, for the duplicate check. */
typedef struct IdHash
{
	uint64		hash;
	int64		pos;
} IdHash;

/*
 * RadixByTop32 sorts h by the top 32 bits of the hash, stably (two LSD
 * passes of 16 bits): equal hashes end up in one run, in position order.
 */
static void
RadixByTop32(IdHash *h, int64 n)
{
	IdHash	   *tmp = palloc_extended(sizeof(IdHash) * n, MCXT_ALLOC_HUGE);
	int64	   *count = palloc(sizeof(int64) * 65536);

	for (int shift = 32; shift <= 48; shift += 16)
	{
		IdHash	   *from = shift == 32 ? h : tmp;
		IdHash	   *to = shift == 32 ? tmp : h;
		int64		sum = 0;

		memset(count, 0, sizeof(int64) * 65536);
		for (int64 i = 0; i < n; i++)
			count[(from[i].hash >> shift) & 0xffff]++;
		for (int k = 0; k < 65536; k++)
		{
			int64		c = count[k];

			count[k] = sum;
			sum += c;
		}
		for (int64 i = 0; i < n; i++)
			to[count[(from[i].hash >> shift) & 0xffff]++] = from[i];
	}
	pfree(tmp);
	pfree(count);
}

/* DuplicateError: item first (0-based) repeats item of. */
static void
DuplicateError(SplitBuild *b, int64 first, int64 of)
{
	if (b->id == NULL)
		IntIdsAsText(b);
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("item %lld repeats item %lld", (long long) first + 1, (long long) of + 1),
			 errdetail("Its id is \"%.*s\".", (int) Min(b->id_len[first], 200), b->id[first]),
			 errhint("Each item must be listed once; remove the duplicates first.")));
}

/*
 * CheckDuplicateInts: integer ids in a range of at most 64 values an item
 * (a serial key, say) are checked with a bitmap of the range: the first
 * item whose bit is already set is the first repeat.  Returns false when
 * the range is wider (the caller then hashes the ids' text).
 */
static bool
CheckDuplicateInts(SplitBuild *b)
{
	const int64 *v = b->id_int;
	int64		lo = v[0],
				hi = v[0];
	uint64		span;
	uint64	   *bits;

	for (int64 i = 1; i < b->n; i++)
	{
		lo = Min(lo, v[i]);
		hi = Max(hi, v[i]);
	}
	span = (uint64) hi - (uint64) lo;
	if (span / 64 > (uint64) b->n)
		return false;
	bits = palloc_extended((span / 64 + 1) * sizeof(uint64), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 i = 0; i < b->n; i++)
	{
		uint64		k = (uint64) v[i] - (uint64) lo;
		uint64		m = UINT64CONST(1) << (k & 63);

		if (bits[k >> 6] & m)
		{
			for (int64 j = 0; j < i; j++)
				if (v[j] == v[i])
					DuplicateError(b, i, j);
		}
		bits[k >> 6] |= m;
	}
	pfree(bits);
	return true;
}

/*
 * CheckDuplicateIds refuses an item listed twice (by id, or as a whole): the
 * ids are hashed, radix-sorted by hash, and equal hashes compared byte for
 * byte; the error names the first repeat in item order.  (A radix sort
 * reads memory in order; a hash table of a million ids does not.)
 */
static void
CheckDuplicateIds(SplitBuild *b)
{
	IdHash	   *h;
	int64		first = -1,
				of = -1;

	if (b->n < 2)
		return;
	if (b->id_int && CheckDuplicateInts(b))
		return;
	if (b->id == NULL)
		IntIdsAsText(b);
	h = palloc_extended(sizeof(IdHash) * b->n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < b->n; i++)
	{
		h[i].hash = hash_bytes_extended((const unsigned char *) b->id[i], (int) b->id_len[i], 0);
		h[i].pos = i;
	}
	RadixByTop32(h, b->n);
	for (int64 i = 1; i < b->n; i++)
	{
		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 j = i - 1; j >= 0 && (h[j].hash >> 32) == (h[i].hash >> 32); j--)
			if (h[j].hash == h[i].hash && b->id_len[h[j].pos] == b->id_len[h[i].pos] &&
				memcmp(b->id[h[j].pos], b->id[h[i].pos], b->id_len[h[i].pos]) == 0)
			{
				/* h[i].pos repeats h[j].pos (positions ascend within a run) */
				if (first < 0 || h[i].pos < first)
				{
					first = h[i].pos;
					of = h[j].pos;
				}
				break;
			}
	}
	if (first >= 0)
		DuplicateError(b, first, of);	/* of: the earliest item equal to it */
	pfree(h);
}

/*
 * Renumber rewrites first-seen codes as positions in numpy.unique's order
 * (scikit-learn numbers classes and groups that way).
 */
static int32 *
Renumber(label_set *set, int32 *codes, int64 n)
{
	size_t		k = labels_count(set);
	int32	   *order = palloc(sizeof(int32) * Max(k, 1));
	int32	   *rank = palloc(sizeof(int32) * Max(k, 1));
	size_t		i;

	if (labels_sort(set, order) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	for (i = 0; i < k; i++)
		rank[order[i]] = (int32) i;
	for (i = 0; i < (size_t) n; i++)
		codes[i] = rank[codes[i]];
	pfree(rank);
	return order;
}

/* LabelText: a label's value as text, for messages. */
static char *
LabelText(label_set *set, int32 code)
{
	size_t		len;
	const char *s;

	if (labels_kind(set) == LABEL_KIND_NUMBER)
		return psprintf("%.17g", labels_number(set, code));
	s = labels_string(set, code, &len);
	return pnstrdup(s, Min(len, 200));
}

/* The label value of an item found under key: a scalar, or an array of them (multilabel). */
static void
AddLabelValue(SplitBuild *b, JsonbValue *v, const char *key, int64 ord)
{
	if (v->type == jbvBinary)
	{
		JsonbIterator *ai = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken t;

		if (b->label != NULL && b->n > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("item %lld: label \"%s\" is an array where earlier items had one label",
							(long long) ord, key)));
		while ((t = JsonbIteratorNext(&ai, &e, true)) != WJB_DONE)
		{
			if (t == WJB_KEY)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("item %lld: label \"%s\" must be a value or an array of values",
								(long long) ord, key)));
			if (t == WJB_ELEM)
				PushMultiLabel(b, InternScalar(b->labels, &e, "label", key, ord));
		}
		b->multilabel = true;
		if (b->label)
		{
			pfree(b->label);
			b->label = NULL;
		}
		return;
	}
	if (b->multilabel)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item %lld: label \"%s\" is one value where earlier items had an array",
						(long long) ord, key)));
	b->label[b->n] = InternScalar(b->labels, v, "label", key, ord);
}

/* Indicator keys: the item has label j when its key j is true or a non-zero number. */
void
AddIndicator(SplitBuild *b, int32 j, JsonbValue *v, const char *key, int64 ord)
{
	bool		on;

	if (v == NULL || v->type == jbvNull)
		on = false;
	else if (v->type == jbvBool)
		on = v->val.boolean;
	else if (v->type == jbvNumeric)
		on = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric))) != 0;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item %lld: label key \"%s\" must be true, false, a number or null", (long long) ord, key),
				 errhint("With an array of label keys, each key is one label that an item has or not.")));
	if (on)
		PushMultiLabel(b, j);
}

/*
 * RunKernel gives the built items to split_assign and returns its
 * assignment; a refusal is an error with the kernel's reason.
 */
int32 *
RunKernel(SplitBuild *b, SplitOptions *o)
{
	SplitData	d;
	int32	   *out = palloc(sizeof(int32) * Max(b->n, 1));
	char		err[512];

	CheckDuplicateIds(b);
	memset(&d, 0, sizeof(d));
	d.n = b->n;
	/* labels that turned out to be arrays: multilabel, iterative unless a method was named */
	if (b->multilabel && !o->method_given)
		o->spec.method = SPLIT_ITERATIVE;
	if (b->labels)
	{
		if (b->multilabel)
		{
			if (o->n_label_keys == 0)
			{
				/* codes in first-seen order; numpy.unique's order instead, sorted within items */
				int64		i;

				(void) Renumber(b->labels, b->ml_labels, b->ml_n);
				for (i = 0; i < b->n; i++)
				{
					int64		s = b->ml_offsets[i],
								e = b->ml_offsets[i + 1],
								p;

					for (p = s + 1; p < e; p++)
					{
						int32		x = b->ml_labels[p];
						int64		q = p - 1;

						while (q >= s && b->ml_labels[q] > x)
						{
							b->ml_labels[q + 1] = b->ml_labels[q];
							q--;
						}
						b->ml_labels[q + 1] = x;
					}
				}
				d.n_classes = (int32) labels_count(b->labels);
			}
			else
				d.n_classes = o->n_label_keys;
			d.ml_offsets = b->ml_offsets;
			d.ml_labels = b->ml_labels;
		}
		else
		{
			int32	   *order = Renumber(b->labels, b->label, b->n);

			d.label = b->label;
			d.n_classes = (int32) labels_count(b->labels);
			/* n_test_per_label must leave every class a train item: say which class cannot */
			if (o->spec.n_test_per_label >= 0)
			{
				int64	   *count = palloc0(sizeof(int64) * Max(d.n_classes, 1));

				for (int64 i = 0; i < b->n; i++)
					count[b->label[i]]++;
				for (int32 c = 0; c < d.n_classes; c++)
					if (count[c] <= o->spec.n_test_per_label)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("cannot take %lld test items of label \"%s\": it has %lld",
										(long long) o->spec.n_test_per_label, LabelText(b->labels, order[c]),
										(long long) count[c]),
								 errhint("Every label keeps at least one train item; lower n_test_per_label or leave the label out.")));
			}
		}
	}
	if (b->groups)
	{
		(void) Renumber(b->groups, b->group, b->n);
		d.group = b->group;
		d.n_groups = (int32) labels_count(b->groups);
	}
	if (o->spec.method == SPLIT_HASH && b->id == NULL)
		IntIdsAsText(b);
	d.id = (const char *const *) b->id;
	d.id_len = b->id_len;

	err[0] = '\0';
	if (split_assign(&d, &o->spec, out, mlops_palloc_allocator(), err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot split: %s", err[0] ? err : "the kernel refused the request")));
	return out;
}

static void
PutRow(ReturnSetInfo *rsinfo, SplitOptions *o, int32 side, Datum first, bool first_null, Datum item,
	   bool with_item)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int			c = 0;

	values[c] = first;
	nulls[c++] = first_null;
	if (with_item)
		values[c++] = item;
	if (o->spec.folds > 0)
	{
		nulls[c] = true;
		values[c++] = (Datum) 0;
		values[c++] = Int32GetDatum(side);
	}
	else
	{
		values[c++] = CStringGetTextDatum(side == 0 ? "train" : side == 1 ? "test" : "unused");
		nulls[c] = true;
		values[c++] = (Datum) 0;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * mlops.split_manifest(manifest jsonb, options jsonb)
 *	  RETURNS TABLE(ord int, item jsonb, split text, fold int)
 */
Datum
mlops_split_manifest(PG_FUNCTION_ARGS)
{
	Jsonb	   *manifest = PG_GETARG_JSONB_P(0);
	Jsonb	   *opts = PG_GETARG_JSONB_P(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SplitOptions o;
	SplitBuild	b;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	JsonbValue *items;
	int32	   *out;
	int64		i;

	ParseSplitOptions(opts, &o);
	if (!JB_ROOT_IS_ARRAY(manifest) || JB_ROOT_IS_SCALAR(manifest))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a manifest must be a JSON array of objects")));

	BuildInit(&b, &o);
	items = palloc(sizeof(JsonbValue) * Max(JB_ROOT_COUNT(manifest), 1));
	it = JsonbIteratorInit(&manifest->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int64		ord = b.n + 1;
		JsonbContainer *c;
		JsonbValue *f;

		if (r != WJB_ELEM)
			continue;
		CHECK_FOR_INTERRUPTS();
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("manifest item %lld is not a JSON object", (long long) ord)));
		c = v.val.binary.data;
		BuildGrow(&b);
		items[b.n] = v;

		if (o.label)
		{
			f = getKeyJsonValueFromContainer(c, o.label, strlen(o.label), NULL);
			if (f == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("manifest item %lld has no label \"%s\"", (long long) ord, o.label),
						 errhint("Every item needs a label; filter out the items without one first.")));
			AddLabelValue(&b, f, o.label, ord);
		}
		else if (o.n_label_keys > 0)
		{
			int			j;

			for (j = 0; j < o.n_label_keys; j++)
				AddIndicator(&b, j, getKeyJsonValueFromContainer(c, o.label_keys[j],
																 strlen(o.label_keys[j]), NULL),
							 o.label_keys[j], ord);
		}
		b.ml_offsets[b.n + 1] = b.ml_n;

		if (o.group)
		{
			f = getKeyJsonValueFromContainer(c, o.group, strlen(o.group), NULL);
			if (f == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("manifest item %lld has no group \"%s\"", (long long) ord, o.group),
						 errhint("Every item needs a group when splitting by groups.")));
			b.group[b.n] = InternScalar(b.groups, f, "group", o.group, ord);
		}

		/* the id: the id key's value, or the whole item (jsonb's normal form) */
		if (o.id)
		{
			char	   *s;

			f = getKeyJsonValueFromContainer(c, o.id, strlen(o.id), NULL);
			if (f == NULL || f->type == jbvNull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("manifest item %lld has no id \"%s\"", (long long) ord, o.id)));
			if (f->type == jbvString)
				AddId(&b, pnstrdup(f->val.string.val, f->val.string.len), f->val.string.len);
			else if (f->type == jbvNumeric)
			{
				s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(f->val.numeric)));
				AddId(&b, s, strlen(s));
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("manifest item %lld: id \"%s\" must be a string or a number", (long long) ord, o.id)));
		}
		else
		{
			char	   *s = JsonbToCString(NULL, c, VARSIZE(manifest));

			AddId(&b, s, strlen(s));
		}
		b.n++;
	}

	out = RunKernel(&b, &o);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < b.n; i++)
	{
		PutRow(rsinfo, &o, out[i], Int32GetDatum((int32) (i + 1)), false,
			   JsonbPGetDatum(JsonbValueToJsonb(&items[i])), true);
	}
	PG_RETURN_NULL();
}
