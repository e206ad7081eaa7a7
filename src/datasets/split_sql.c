/*-------------------------------------------------------------------------
 *
 * split_sql.c
 *	  SQL entry points of dataset splitting: mlops.split_manifest over a
 *	  JSON array of items and mlops.split_table straight over a table.  The
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
#include "datasets/split.h"
#include "metrics/labels.h"

PG_FUNCTION_INFO_V1(mlops_split_manifest);
PG_FUNCTION_INFO_V1(mlops_split_table);

#define SPLIT_MAX_LABEL_KEYS 1024

static const char *const method_names[] = {
	"random", "stratified", "group", "stratified_group", "iterative", "hash", "sklearn", NULL
};
static const SplitMethod method_values[] = {
	SPLIT_RANDOM, SPLIT_STRATIFIED, SPLIT_GROUP, SPLIT_STRATIFIED_GROUP, SPLIT_ITERATIVE,
	SPLIT_HASH, SPLIT_SKLEARN
};

/* The options object, read. */
typedef struct SplitOptions
{
	SplitSpec	spec;
	bool		method_given;
	char	   *label;			/* one key (or column) */
	char	  **label_keys;		/* several keys (or columns): indicators, multilabel */
	int			n_label_keys;
	char	   *group;
	char	   *id;
} SplitOptions;

/* The items, as the kernel takes them, with the sets that interned them. */
typedef struct SplitBuild
{
	int64		n;
	int64		cap;
	int32	   *label;			/* single-label codes (first-seen) */
	int64	   *ml_offsets;		/* multilabel CSR */
	int32	   *ml_labels;
	int64		ml_n;
	int64		ml_cap;
	int32	   *group;
	char	  **id;
	size_t	   *id_len;
	label_set  *labels;
	label_set  *groups;
	bool		multilabel;
} SplitBuild;

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

static void
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

static void
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
static void
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
	b->ml_offsets = repalloc_huge(b->ml_offsets, sizeof(int64) * (b->cap + 1));
	if (b->group)
		b->group = repalloc_huge(b->group, sizeof(int32) * b->cap);
	b->id = repalloc_huge(b->id, sizeof(char *) * b->cap);
	b->id_len = repalloc_huge(b->id_len, sizeof(size_t) * b->cap);
}

static void
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
static int32
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
	{
		/* the earliest item equal to the repeat */
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("item %lld repeats item %lld", (long long) first + 1, (long long) of + 1),
				 errdetail("Its id is \"%.*s\".", (int) Min(b->id_len[first], 200), b->id[first]),
				 errhint("Each item must be listed once; remove the duplicates first.")));
	}
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
static void
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
static int32 *
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

/* ---- the table form ---- */

/* How a column's values become labels: numbers or their text. */
typedef enum ColumnKind
{
	COL_NUMBER,
	COL_BOOL,
	COL_TEXT
} ColumnKind;

static ColumnKind
KindOf(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return COL_NUMBER;
		case BOOLOID:
			return COL_BOOL;
		default:
			return COL_TEXT;
	}
}

/* ColumnValue turns one datum of a column into the JsonbValue InternScalar takes. */
static void
ColumnValue(Datum d, bool isnull, Oid type, JsonbValue *v)
{
	if (isnull)
	{
		v->type = jbvNull;
		return;
	}
	switch (KindOf(type))
	{
		case COL_BOOL:
			v->type = jbvBool;
			v->val.boolean = DatumGetBool(d);
			return;
		case COL_NUMBER:
			{
				Oid			outfn;
				bool		varlena;
				char	   *s;

				getTypeOutputInfo(type, &outfn, &varlena);
				s = OidOutputFunctionCall(outfn, d);
				v->type = jbvNumeric;
				v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
																	 ObjectIdGetDatum(InvalidOid),
																	 Int32GetDatum(-1)));
				return;
			}
		case COL_TEXT:
			{
				Oid			outfn;
				bool		varlena;
				char	   *s;

				getTypeOutputInfo(type, &outfn, &varlena);
				s = OidOutputFunctionCall(outfn, d);
				v->type = jbvString;
				v->val.string.val = s;
				v->val.string.len = strlen(s);
				return;
			}
	}
}

/*
 * mlops.split_table(source regclass, options jsonb)
 *	  RETURNS TABLE(id text, split text, fold int)
 *
 * Reads the id, label and group columns of the relation with the caller's
 * rights (row-level security applies), in batches through a cursor.
 */
Datum
mlops_split_table(PG_FUNCTION_ARGS)
{
	Oid			rel = PG_GETARG_OID(0);
	Jsonb	   *opts = PG_GETARG_JSONB_P(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext caller = CurrentMemoryContext;
	SplitOptions o;
	SplitBuild	b;
	StringInfoData q;
	Portal		portal;
	int32	   *out;
	int64		i;
	int			idcol,
				labelcol = 0,
				groupcol = 0;
	int		   *keycols = NULL;
	char	   *relname;

	ParseSplitOptions(opts, &o);
	if (o.id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split_table needs option \"id\": the column that names each row"),
				 errhint("The result gives each row's id with its side.")));
	relname = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(rel)));

	BuildInit(&b, &o);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* only the columns asked for: id, then the label column(s), then the group */
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s", quote_identifier(o.id));
	idcol = 1;
	if (o.label)
	{
		appendStringInfo(&q, ", %s", quote_identifier(o.label));
		labelcol = 2;
	}
	else if (o.n_label_keys > 0)
	{
		int			j;

		keycols = palloc(sizeof(int) * o.n_label_keys);
		for (j = 0; j < o.n_label_keys; j++)
		{
			appendStringInfo(&q, ", %s", quote_identifier(o.label_keys[j]));
			keycols[j] = 2 + j;
		}
	}
	if (o.group)
	{
		appendStringInfo(&q, ", %s", quote_identifier(o.group));
		groupcol = 2 + (o.label ? 1 : o.n_label_keys);
	}
	appendStringInfo(&q, " FROM %s", relname);
	portal = SPI_cursor_open_with_args(NULL, q.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		TupleDesc	td;
		uint64		k;

		SPI_cursor_fetch(portal, true, 10000);
		td = SPI_tuptable->tupdesc;
		if (SPI_processed == 0)
			break;
		for (k = 0; k < SPI_processed; k++)
		{
			HeapTuple	tup = SPI_tuptable->vals[k];
			int64		ord = b.n + 1;
			bool		isnull;
			Datum		d;
			JsonbValue	v;
			MemoryContext old;
			char	   *s;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(caller);
			BuildGrow(&b);

			s = SPI_getvalue(tup, td, idcol);
			if (s == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("row %lld: id column \"%s\" is null", (long long) ord, o.id)));
			AddId(&b, s, strlen(s));

			if (labelcol)
			{
				Oid			type = SPI_gettypeid(td, labelcol);
				Oid			elem = get_element_type(type);

				d = SPI_getbinval(tup, td, labelcol, &isnull);
				if (OidIsValid(elem) && !isnull)
				{
					Datum	   *elems;
					bool	   *enulls;
					int			ne,
								e;
					int16		typlen;
					bool		typbyval;
					char		typalign;

					if (b.label != NULL && b.n > 0)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("row %lld: mixed single and multiple labels", (long long) ord)));
					if (b.label)
					{
						pfree(b.label);
						b.label = NULL;
					}
					b.multilabel = true;
					get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
					deconstruct_array(DatumGetArrayTypeP(d), elem, typlen, typbyval, typalign,
									  &elems, &enulls, &ne);
					for (e = 0; e < ne; e++)
					{
						ColumnValue(elems[e], enulls[e], elem, &v);
						PushMultiLabel(&b, InternScalar(b.labels, &v, "label", o.label, ord));
					}
				}
				else if (OidIsValid(elem))
				{
					/* a null array: no labels */
					if (b.label != NULL)
						ereport(ERROR,
								(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
								 errmsg("row %lld: label \"%s\" is null", (long long) ord, o.label)));
				}
				else
				{
					if (b.multilabel)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("row %lld: mixed single and multiple labels", (long long) ord)));
					ColumnValue(d, isnull, type, &v);
					b.label[b.n] = InternScalar(b.labels, &v, "label", o.label, ord);
				}
			}
			else if (o.n_label_keys > 0)
			{
				int			j;

				for (j = 0; j < o.n_label_keys; j++)
				{
					d = SPI_getbinval(tup, td, keycols[j], &isnull);
					ColumnValue(d, isnull, SPI_gettypeid(td, keycols[j]), &v);
					if (v.type == jbvString)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("label column \"%s\" must be boolean or numeric", o.label_keys[j]),
								 errhint("With an array of label columns, each column is one label that a row has or not.")));
					AddIndicator(&b, j, &v, o.label_keys[j], ord);
				}
			}
			b.ml_offsets[b.n + 1] = b.ml_n;

			if (groupcol)
			{
				d = SPI_getbinval(tup, td, groupcol, &isnull);
				ColumnValue(d, isnull, SPI_gettypeid(td, groupcol), &v);
				b.group[b.n] = InternScalar(b.groups, &v, "group", o.group, ord);
			}
			b.n++;
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();

	out = RunKernel(&b, &o);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < b.n; i++)
		PutRow(rsinfo, &o, out[i], CStringGetTextDatum(b.id[i]), false, (Datum) 0, false);
	PG_RETURN_NULL();
}
