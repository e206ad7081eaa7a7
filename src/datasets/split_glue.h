/*
 * split_glue.h
 *	  What the two SQL forms of splitting (split_sql.c: mlops.split_manifest,
 *	  split_table.c: mlops.split_table) share: the options, the items as
 *	  they are gathered for the kernel, and the calls that read, intern and
 *	  split them.  Glue only (PostgreSQL headers: include postgres.h first);
 *	  the kernel is split.h.
 */
#ifndef MLOPS_DATASETS_SPLIT_GLUE_H
#define MLOPS_DATASETS_SPLIT_GLUE_H

#include "utils/jsonb.h"

#include "datasets/split.h"
#include "metrics/labels.h"

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
	char	  **id;				/* ids as bytes; NULL while id_int holds them */
	size_t	   *id_len;
	int64	   *id_int;			/* the ids as integers when the id column is
								 * one (BuildUseIntIds), else NULL: checked for
								 * duplicates with a bitmap, turned into text
								 * only when the hash method needs it */
	label_set  *labels;
	label_set  *groups;
	bool		multilabel;
} SplitBuild;

/* ParseSplitOptions reads and checks the options object (unknown keys are errors). */
extern void ParseSplitOptions(Jsonb *opts, SplitOptions *o);

/* BuildInit / BuildGrow: empty item arrays; room for one more item. */
extern void BuildInit(SplitBuild *b, const SplitOptions *o);
extern void BuildGrow(SplitBuild *b);

/*
 * Before the first item: BuildUseIntIds, the ids are integers (id_int, no
 * id bytes); BuildSingleLabel, no item has several labels (no CSR offsets).
 */
extern void BuildUseIntIds(SplitBuild *b);
extern void BuildSingleLabel(SplitBuild *b);

/* PushMultiLabel appends one label code to the current item's multilabel set. */
extern void PushMultiLabel(SplitBuild *b, int32 code);

/*
 * InternScalar: the code of one label or group value (a string, a whole
 * number or a boolean); what/key/ord name the item in errors.
 */
extern int32 InternScalar(label_set *set, JsonbValue *v, const char *what, const char *key,
						  int64 ord);

/* AddIndicator: label j when v is true or a non-zero number (label keys). */
extern void AddIndicator(SplitBuild *b, int32 j, JsonbValue *v, const char *key, int64 ord);

/*
 * RunKernel checks the ids for duplicates, renumbers the codes in
 * numpy.unique's order, calls split_assign and returns its assignment.
 */
extern int32 *RunKernel(SplitBuild *b, SplitOptions *o);

#endif							/* MLOPS_DATASETS_SPLIT_GLUE_H */
