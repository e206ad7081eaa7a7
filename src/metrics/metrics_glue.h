/*-------------------------------------------------------------------------
 *
 * metrics_glue.h
 *	  Shared glue of the metrics functions: reading json / jsonb / float8[]
 *	  arguments into the kernels' arrays, the classification problem built
 *	  from two targets or a confusion state, and jsonb output helpers.
 *	  PostgreSQL side only; the arithmetic lives in the kernels.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MLOPS_METRICS_GLUE_H
#define MLOPS_METRICS_GLUE_H

/* Include postgres.h first (as every .c file does); no header includes it. */
#include "fmgr.h"
#include "lib/stringinfo.h"

#include "util/alloc.h"
#include "util/jsonscan.h"
#include "metrics/classify.h"
#include "metrics/labels.h"
#include "pg_mlops.h"

/* At most this many distinct labels in a confusion matrix (k x k doubles). */
#define MLOPS_MAX_CONFUSION_LABELS 2048

/* mlops_palloc_allocator() (CurrentMemoryContext, huge allocations allowed) is in pg_mlops.h. */

/* ---- reading json and jsonb arrays ---- */

typedef enum ElemType
{
	ELEM_NUMBER,
	ELEM_STRING,
	ELEM_TRUE,
	ELEM_FALSE,
	ELEM_NULL,
	ELEM_ARRAY,
	ELEM_OBJECT
} ElemType;

typedef struct Elem
{
	ElemType	type;
	double		num;			/* ELEM_NUMBER, also 1/0 for true/false */
	bool		integral;		/* ELEM_NUMBER: finite and integral */
	bool		int_literal;	/* ELEM_NUMBER: written without fraction or exponent */
	const char *str;			/* ELEM_STRING, not NUL-terminated */
	size_t		len;
} Elem;

/* An iterator over the elements of a json or jsonb array. */
typedef struct JIter
{
	bool		jsonb;
	const char *argname;		/* for error messages */
	/* json text */
	js_scanner *s;
	/* jsonb */
	void	   *container;		/* JsonbContainer * */
	uint32		count;
	uint32		i;
	uint32		off;
	/* the last element read, when it was an array (jsonb) */
	void	   *child;
} JIter;

/* JIterStart opens the top-level array of a json or jsonb datum (error when not an array). */
extern void JIterStart(JIter *it, Datum d, bool jsonb, const char *argname, js_scanner *scanner);

/* JIterNext reads the next element; false at the end of the array. */
extern bool JIterNext(JIter *it, Elem *e);

/* JIterChild opens the array element just read by JIterNext. */
extern void JIterChild(JIter *parent, JIter *child);

/* JIterFinish checks that nothing follows the top-level array (json text). */
extern void JIterFinish(JIter *it);

/* A decoded classification target. */
typedef struct Target
{
	const char *argname;
	int64		n;				/* samples */
	bool		rows;			/* multilabel indicator rows */
	int			width;			/* row width when rows */
	int32	   *codes;			/* label codes, when !rows */
	uint8	   *ind;			/* n x width 0/1, when rows */
	bool		continuous;		/* a non-integral number was seen */
	bool		float_literal;	/* a label first appeared written as a float (1.0) */
	int64		bools;			/* labels written as JSON true / false */
} Target;

/* DecodeTarget reads a json/jsonb array of labels or of 0/1 rows, interning labels into ls. */
extern void DecodeTarget(Datum d, bool jsonb, const char *argname, label_set *ls, Target *t);

/* DecodeNumbers reads a json/jsonb array of finite numbers (true/false are 1/0). */
extern double *DecodeNumbers(Datum d, bool jsonb, const char *argname, int64 *n);

/* DecodeFloat8Array reads a float8[] without NULLs (any dimensions, flattened). */
extern double *DecodeFloat8Array(Datum d, const char *argname, int64 *n);

/*
 * DecodeRows reads a json/jsonb array of rows of finite numbers; a flat array
 * of numbers is one row (*flat says so, when flat is not NULL).  *offsets gets
 * nrows + 1 entries.
 */
extern double *DecodeRows(Datum d, bool jsonb, const char *argname, int64 *nrows, int64 **offsets,
						  bool *flat);

/* ---- the classification problem ---- */

typedef enum TargetType
{
	TARGET_BINARY,
	TARGET_MULTICLASS,
	TARGET_MULTILABEL
} TargetType;

typedef struct ClassProblem
{
	label_set  *ls;
	TargetType	type;
	int64		n;				/* samples (0 for a confusion state) */
	int			k;				/* labels present in the data (codes 0..k-1) */
	int			width;			/* multilabel */
	const int32 *yt;			/* codes, or NULL for a confusion state */
	const int32 *yp;
	const uint8 *it;			/* multilabel rows */
	const uint8 *ip;
	const double *w;			/* sample weights or NULL */
	const double *matrix;		/* confusion state k x k, or NULL */
	bool		float_labels;	/* labels print as 1.0 (as Python floats) */
	bool		bool_labels;	/* every label was a boolean: they print as false / true */
} ClassProblem;

/* ClassProblemFromArrays decodes y_true, y_pred and sample_weight and types them like scikit-learn. */
extern void ClassProblemFromArrays(ClassProblem *cp, Datum y_true, Datum y_pred,
								   bool has_weight, Datum weight, bool jsonb);

/* ClassProblemFromConfusion reads an mlops.confusion value (confusion_sql.c). */
extern void ClassProblemFromConfusion(ClassProblem *cp, Datum confusion);

/* JsonbScalarElem reads a scalar jsonb (a label in a column); false for arrays and objects. */
extern bool JsonbScalarElem(Datum d, Elem *e);

/* Options of the precision / recall / F family. */
typedef struct PrfOptions
{
	metric_average average;
	bool		average_null;	/* average => NULL: per label */
	bool		has_pos_label;
	Datum		pos_label;
	bool		has_labels;
	Datum		labels;
	double		zero_division;
	double		beta;
	bool		jsonb;			/* type of pos_label and labels */
} PrfOptions;

extern metric_average ParseAverage(text *average);
extern double CheckZeroDivision(double zd);
extern void CheckBeta(double beta);

/*
 * ComputePrf: the selected labels (sel, nsel; codes or -1, or columns for
 * multilabel) and the averaged scores (out) or per-label arrays.
 */
typedef struct PrfResult
{
	int			m;				/* selected labels */
	int32	   *sel;			/* their codes / columns */
	Elem	   *sel_elems;		/* labels given by the user that are not in the data */
	double	   *precision;		/* m each, per label */
	double	   *recall;
	double	   *fbeta;
	double	   *support;
	double		avg[3];			/* averaged precision, recall, fbeta */
} PrfResult;

extern void ComputePrf(const ClassProblem *cp, const PrfOptions *opt, PrfResult *res);

extern double ComputeAccuracy(const ClassProblem *cp, bool normalize);
extern Datum BuildConfusionMatrix(const ClassProblem *cp, bool has_labels, Datum labels,
								  bool jsonb, text *normalize);
extern Datum BuildReport(const ClassProblem *cp, bool has_labels, Datum labels, bool jsonb,
						 double zero_division);
extern Datum BuildPrfsJson(const ClassProblem *cp, const PrfOptions *opt);

/* ---- output ---- */

extern void AppendJsonDouble(StringInfo buf, double v);
extern void AppendLabel(StringInfo buf, const ClassProblem *cp, int32 code, const Elem *given);
extern Datum JsonbFromCString(const char *s);

#endif							/* MLOPS_METRICS_GLUE_H */
