/*-------------------------------------------------------------------------
 *
 * metrics_sql.c
 *	  SQL-callable classification metrics over two json or jsonb arrays:
 *	  accuracy, precision, recall, f1, fbeta, precision_recall_fscore_support,
 *	  confusion_matrix, classification_report.  Each has a json and a jsonb
 *	  entry point; both share one implementation.  The functions are not
 *	  STRICT because their optional arguments default to NULL: a NULL y_true
 *	  or y_pred gives NULL, a NULL option means "not given".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "metrics/metrics_glue.h"

typedef enum PrfWhich
{
	PRF_PRECISION,
	PRF_RECALL,
	PRF_FBETA
} PrfWhich;

#define ARG_OR_NULL(n) (PG_NARGS() > (n) && !PG_ARGISNULL(n))

/*
 * Every function has two data forms: two arrays (y_true, y_pred: ndata = 2,
 * with sample_weight as the last argument) or one mlops.confusion state
 * (ndata = 1, no weights: they were applied when counting).  The options
 * follow the data arguments in the same order in both forms.
 */
/*
 * LoadProblem reads the data arguments; false when one is NULL.  mode 0:
 * json arrays, 1: jsonb arrays, 2: a confusion state.
 */
static bool
LoadProblem(FunctionCallInfo fcinfo, int mode, int weight_arg, ClassProblem *cp)
{
	if (mode == 2)
	{
		if (PG_ARGISNULL(0))
			return false;
		ClassProblemFromConfusion(cp, PG_GETARG_DATUM(0));
		return true;
	}
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return false;
	ClassProblemFromArrays(cp, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1),
						   ARG_OR_NULL(weight_arg),
						   ARG_OR_NULL(weight_arg) ? PG_GETARG_DATUM(weight_arg) : (Datum) 0,
						   mode == 1);
	return true;
}

/*
 * ReadPrfOptions reads average, pos_label, labels, zero_division from
 * argument "first" on (the layout shared by every PRF function).
 */
static void
ReadPrfOptions(FunctionCallInfo fcinfo, int first, bool jsonb, bool average_may_be_null,
			   PrfOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->jsonb = jsonb;
	opt->beta = 1.0;
	if (ARG_OR_NULL(first))
		opt->average = ParseAverage(PG_GETARG_TEXT_PP(first));
	else if (average_may_be_null)
		opt->average_null = true;
	else
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("average must not be NULL here"),
				 errhint("Per-label scores come from mlops.precision_recall_fscore_support(..., average => NULL).")));
	opt->has_pos_label = ARG_OR_NULL(first + 1);
	if (opt->has_pos_label)
		opt->pos_label = PG_GETARG_DATUM(first + 1);
	opt->has_labels = ARG_OR_NULL(first + 2);
	if (opt->has_labels)
		opt->labels = PG_GETARG_DATUM(first + 2);
	opt->zero_division = ARG_OR_NULL(first + 3) ? CheckZeroDivision(PG_GETARG_FLOAT8(first + 3)) : 0.0;
}

/*
 * Accuracy: (y_true, y_pred, normalize, sample_weight).
 */
static Datum
Accuracy(FunctionCallInfo fcinfo, int mode)
{
	ClassProblem cp;
	int			nd = mode == 2 ? 1 : 2;
	bool		normalize = ARG_OR_NULL(nd) ? PG_GETARG_BOOL(nd) : true;

	if (!LoadProblem(fcinfo, mode, 3, &cp))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(ComputeAccuracy(&cp, normalize));
}

/*
 * Prf: precision / recall / f1 (y_true, y_pred, average, pos_label, labels,
 * zero_division, sample_weight) and fbeta (y_true, y_pred, beta, average,
 * ...).
 */
static Datum
Prf(FunctionCallInfo fcinfo, int mode, PrfWhich which, bool has_beta)
{
	ClassProblem cp;
	PrfOptions	opt;
	PrfResult	res;
	int			nd = mode == 2 ? 1 : 2;
	int			first = has_beta ? nd + 1 : nd;
	double		beta = 1.0;

	if (PG_ARGISNULL(0) || (mode != 2 && PG_ARGISNULL(1)))
		PG_RETURN_NULL();
	if (has_beta)
	{
		if (PG_ARGISNULL(nd))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("beta must not be NULL")));
		beta = PG_GETARG_FLOAT8(nd);
		CheckBeta(beta);
	}
	ReadPrfOptions(fcinfo, first, mode != 0, false, &opt);
	opt.beta = beta;
	LoadProblem(fcinfo, mode, first + 4, &cp);
	ComputePrf(&cp, &opt, &res);
	PG_RETURN_FLOAT8(res.avg[which]);
}

/*
 * Prfs: (y_true, y_pred, beta, average, pos_label, labels, zero_division,
 * sample_weight) -> jsonb.
 */
static Datum
Prfs(FunctionCallInfo fcinfo, int mode)
{
	ClassProblem cp;
	PrfOptions	opt;
	int			nd = mode == 2 ? 1 : 2;
	double		beta = ARG_OR_NULL(nd) ? PG_GETARG_FLOAT8(nd) : 1.0;

	if (PG_ARGISNULL(0) || (mode != 2 && PG_ARGISNULL(1)))
		PG_RETURN_NULL();
	CheckBeta(beta);
	ReadPrfOptions(fcinfo, nd + 1, mode != 0, true, &opt);
	opt.beta = beta;
	LoadProblem(fcinfo, mode, nd + 5, &cp);
	PG_RETURN_DATUM(BuildPrfsJson(&cp, &opt));
}

/*
 * ConfusionMatrix: (y_true, y_pred, labels, sample_weight, normalize).
 */
static Datum
ConfusionMatrix(FunctionCallInfo fcinfo, int mode)
{
	ClassProblem cp;
	int			nd = mode == 2 ? 1 : 2;
	int			norm = mode == 2 ? 2 : 4;

	if (!LoadProblem(fcinfo, mode, 3, &cp))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(BuildConfusionMatrix(&cp, ARG_OR_NULL(nd),
										 ARG_OR_NULL(nd) ? PG_GETARG_DATUM(nd) : (Datum) 0,
										 mode != 0, ARG_OR_NULL(norm) ? PG_GETARG_TEXT_PP(norm) : NULL));
}

/*
 * Report: (y_true, y_pred, labels, sample_weight, zero_division).
 */
static Datum
Report(FunctionCallInfo fcinfo, int mode)
{
	ClassProblem cp;
	int			nd = mode == 2 ? 1 : 2;
	int			zarg = mode == 2 ? 2 : 4;
	double		zd = ARG_OR_NULL(zarg) ? CheckZeroDivision(PG_GETARG_FLOAT8(zarg)) : 0.0;

	if (!LoadProblem(fcinfo, mode, 3, &cp))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(BuildReport(&cp, ARG_OR_NULL(nd), ARG_OR_NULL(nd) ? PG_GETARG_DATUM(nd) : (Datum) 0,
								mode != 0, zd));
}

/* A json, a jsonb and a confusion-state entry point per function. */
#define MLOPS_JSON_PAIR(name, call) \
	PG_FUNCTION_INFO_V1(mlops_##name##_json); \
	Datum mlops_##name##_json(PG_FUNCTION_ARGS) { return call(fcinfo, 0); } \
	PG_FUNCTION_INFO_V1(mlops_##name##_jsonb); \
	Datum mlops_##name##_jsonb(PG_FUNCTION_ARGS) { return call(fcinfo, 1); } \
	PG_FUNCTION_INFO_V1(mlops_##name##_confusion); \
	Datum mlops_##name##_confusion(PG_FUNCTION_ARGS) { return call(fcinfo, 2); }

#define PRF_CALL(which, beta) \
	static Datum Prf_##which(FunctionCallInfo fcinfo, int mode) { return Prf(fcinfo, mode, which, beta); }

PRF_CALL(PRF_PRECISION, false)
PRF_CALL(PRF_RECALL, false)
PRF_CALL(PRF_FBETA, false)

static Datum
Prf_FBETA_BETA(FunctionCallInfo fcinfo, int mode)
{
	return Prf(fcinfo, mode, PRF_FBETA, true);
}

MLOPS_JSON_PAIR(accuracy, Accuracy)
MLOPS_JSON_PAIR(precision, Prf_PRF_PRECISION)
MLOPS_JSON_PAIR(recall, Prf_PRF_RECALL)
MLOPS_JSON_PAIR(f1, Prf_PRF_FBETA)
MLOPS_JSON_PAIR(fbeta, Prf_FBETA_BETA)
MLOPS_JSON_PAIR(prfs, Prfs)
MLOPS_JSON_PAIR(confusion_matrix, ConfusionMatrix)
MLOPS_JSON_PAIR(classification_report, Report)
