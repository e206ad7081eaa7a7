/*-------------------------------------------------------------------------
 *
 * regression_sql.c
 *	  SQL-callable regression metrics (mae, mse, rmse, r2) over json, jsonb
 *	  or float8[] arrays, and the uncertainty scores of probability rows
 *	  (entropy, least_confidence, margin, softmax).  Decoding and checks
 *	  here; the arithmetic in regression.c and uncertainty.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "metrics/metrics_glue.h"
#include "metrics/regression.h"
#include "metrics/uncertainty.h"

typedef enum ArgKind
{
	ARG_JSON,
	ARG_JSONB,
	ARG_FLOAT8
} ArgKind;

static double *
ReadNumbers(Datum d, ArgKind kind, const char *name, int64 *n)
{
	if (kind == ARG_FLOAT8)
		return DecodeFloat8Array(d, name, n);
	return DecodeNumbers(d, kind == ARG_JSONB, name, n);
}

/*
 * Regression: (y_true, y_pred, sample_weight) -> float8.  Empty input is an
 * error, as in scikit-learn ("found array with 0 samples").
 */
static Datum
Regression(FunctionCallInfo fcinfo, ArgKind kind, regression_metric metric)
{
	int64		n,
				np,
				nw;
	double	   *y,
			   *yhat,
			   *w = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	y = ReadNumbers(PG_GETARG_DATUM(0), kind, "y_true", &n);
	yhat = ReadNumbers(PG_GETARG_DATUM(1), kind, "y_pred", &np);
	if (n != np)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("y_true and y_pred have different lengths: %lld and %lld",
						(long long) n, (long long) np)));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("found array with 0 samples, while a minimum of 1 is required")));
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
	{
		double		sum = 0;

		w = ReadNumbers(PG_GETARG_DATUM(2), kind, "sample_weight", &nw);
		if (nw != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sample_weight and y_true have different lengths: %lld and %lld",
							(long long) nw, (long long) n)));
		for (int64 i = 0; i < n; i++)
			sum += w[i];
		if (sum == 0.0)
			ereport(ERROR,
					(errcode(ERRCODE_DIVISION_BY_ZERO),
					 errmsg("sample weights sum to zero")));
	}
	PG_RETURN_FLOAT8(regression_compute(metric, y, yhat, w, (size_t) n));
}

#define REGRESSION_FN(name, metric) \
	PG_FUNCTION_INFO_V1(mlops_##name##_json); \
	Datum mlops_##name##_json(PG_FUNCTION_ARGS) { return Regression(fcinfo, ARG_JSON, metric); } \
	PG_FUNCTION_INFO_V1(mlops_##name##_jsonb); \
	Datum mlops_##name##_jsonb(PG_FUNCTION_ARGS) { return Regression(fcinfo, ARG_JSONB, metric); } \
	PG_FUNCTION_INFO_V1(mlops_##name##_float8); \
	Datum mlops_##name##_float8(PG_FUNCTION_ARGS) { return Regression(fcinfo, ARG_FLOAT8, metric); }

REGRESSION_FN(mae, REGRESSION_MAE)
REGRESSION_FN(mse, REGRESSION_MSE)
REGRESSION_FN(rmse, REGRESSION_RMSE)
REGRESSION_FN(r2, REGRESSION_R2)

typedef enum Uncertainty
{
	UNC_ENTROPY,
	UNC_LEAST_CONFIDENCE,
	UNC_MARGIN
} Uncertainty;

/*
 * CheckProbabilities: every value of a probability row is within [0, 1],
 * and the row sums to 1 within mlops.probability_tolerance (1e-6 by
 * default) per class (a row that does not is not a distribution: {0.9, 0.9}
 * would score an entropy of 0.27).
 */
static void
CheckProbabilities(const double *p, int64 n, int64 row)
{
	double		sum = 0;

	for (int64 i = 0; i < n; i++)
	{
		if (!(p[i] >= 0.0 && p[i] <= 1.0))	/* NaN too */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("probabilities must be between 0 and 1"),
					 errdetail("Row %lld holds %g.", (long long) row + 1, p[i])));
		sum += p[i];
	}
	if (n > 0 && !(fabs(sum - 1.0) <= mlops_probability_tolerance * (double) n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the probabilities of row %lld sum to %.17g, not 1", (long long) row + 1, sum),
				 errdetail("The tolerance is %g (mlops.probability_tolerance %g per class).",
						   mlops_probability_tolerance * (double) n, mlops_probability_tolerance),
				 errhint("Divide the row by its sum, or turn scores into probabilities with mlops.softmax.")));
}

static double
Score(Uncertainty which, const double *p, int64 n, double base)
{
	switch (which)
	{
		case UNC_ENTROPY:
			return uncertainty_entropy(p, (size_t) n, base);
		case UNC_LEAST_CONFIDENCE:
			return uncertainty_least_confidence(p, (size_t) n);
		case UNC_MARGIN:
			return uncertainty_margin(p, (size_t) n);
	}
	return NAN;
}

static double
ReadBase(FunctionCallInfo fcinfo, Uncertainty which)
{
	double		base;

	if (which != UNC_ENTROPY)
		return 0;
	base = (PG_NARGS() > 1 && !PG_ARGISNULL(1)) ? PG_GETARG_FLOAT8(1) : 2.0;
	if (!(base > 0.0) || base == 1.0 || !isfinite(base))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entropy base must be positive, finite and not 1, not %g", base)));
	return base;
}

/*
 * RowScores: json/jsonb rows -> float8[] with one score per row.
 */
static Datum
RowScores(FunctionCallInfo fcinfo, bool jsonb, Uncertainty which)
{
	int64		nrows;
	int64	   *off;
	double	   *vals;
	double		base;
	Datum	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	base = ReadBase(fcinfo, which);
	vals = DecodeRows(PG_GETARG_DATUM(0), jsonb, "probs", &nrows, &off, NULL);
	out = palloc(sizeof(Datum) * Max(nrows, 1));
	for (int64 r = 0; r < nrows; r++)
	{
		CheckProbabilities(vals + off[r], off[r + 1] - off[r], r);
		out[r] = Float8GetDatum(Score(which, vals + off[r], off[r + 1] - off[r], base));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, (int) nrows, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * OneRowScore: float8[] (one row) -> float8.
 */
/*
 * OneRowOnly: the float8[] forms take one row (a one-dimensional array) and
 * give one value; several rows go in the json/jsonb forms, which give one
 * value per row.  A matrix here would otherwise be read as one long row.
 */
static void
OneRowOnly(Datum d, const char *argname)
{
	ArrayType  *a = DatumGetArrayTypeP(d);

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s is a %d-dimensional array; the float8[] form takes one row", argname, ARR_NDIM(a)),
				 errhint("Pass several rows as json or jsonb ('[[0.2, 0.8], [0.5, 0.5]]'), which gives one score per row, or one row per SQL row.")));
}

static Datum
OneRowScore(FunctionCallInfo fcinfo, Uncertainty which)
{
	int64		n;
	double	   *p;
	double		base;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	base = ReadBase(fcinfo, which);
	OneRowOnly(PG_GETARG_DATUM(0), "probs");
	p = DecodeFloat8Array(PG_GETARG_DATUM(0), "probs", &n);
	CheckProbabilities(p, n, 0);
	PG_RETURN_FLOAT8(Score(which, p, n, base));
}

#define UNCERTAINTY_FN(name, which) \
	PG_FUNCTION_INFO_V1(mlops_##name##_json); \
	Datum mlops_##name##_json(PG_FUNCTION_ARGS) { return RowScores(fcinfo, false, which); } \
	PG_FUNCTION_INFO_V1(mlops_##name##_jsonb); \
	Datum mlops_##name##_jsonb(PG_FUNCTION_ARGS) { return RowScores(fcinfo, true, which); } \
	PG_FUNCTION_INFO_V1(mlops_##name##_float8); \
	Datum mlops_##name##_float8(PG_FUNCTION_ARGS) { return OneRowScore(fcinfo, which); }

UNCERTAINTY_FN(entropy, UNC_ENTROPY)
UNCERTAINTY_FN(least_confidence, UNC_LEAST_CONFIDENCE)
UNCERTAINTY_FN(margin, UNC_MARGIN)

/*
 * Softmax of json/jsonb rows -> jsonb rows (a flat array gives one flat row).
 */
static Datum
SoftmaxRows(FunctionCallInfo fcinfo, bool jsonb)
{
	int64		nrows;
	int64	   *off;
	double	   *vals;
	StringInfoData buf;
	bool		flat;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* a flat input is one row, and its result is not wrapped either */
	vals = DecodeRows(PG_GETARG_DATUM(0), jsonb, "logits", &nrows, &off, &flat);
	initStringInfo(&buf);
	if (!flat)
		appendStringInfoChar(&buf, '[');
	for (int64 r = 0; r < nrows; r++)
	{
		int64		len = off[r + 1] - off[r];

		uncertainty_softmax(vals + off[r], (size_t) len, vals + off[r]);
		if (r > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoChar(&buf, '[');
		for (int64 i = 0; i < len; i++)
		{
			if (i > 0)
				appendStringInfoString(&buf, ", ");
			AppendJsonDouble(&buf, vals[off[r] + i]);
		}
		appendStringInfoChar(&buf, ']');
	}
	if (!flat)
		appendStringInfoChar(&buf, ']');
	if (nrows == 0)
		resetStringInfo(&buf), appendStringInfoString(&buf, "[]");
	PG_RETURN_DATUM(JsonbFromCString(buf.data));
}

PG_FUNCTION_INFO_V1(mlops_softmax_json);
Datum
mlops_softmax_json(PG_FUNCTION_ARGS)
{
	return SoftmaxRows(fcinfo, false);
}

PG_FUNCTION_INFO_V1(mlops_softmax_jsonb);
Datum
mlops_softmax_jsonb(PG_FUNCTION_ARGS)
{
	return SoftmaxRows(fcinfo, true);
}

PG_FUNCTION_INFO_V1(mlops_softmax_float8);
Datum
mlops_softmax_float8(PG_FUNCTION_ARGS)
{
	int64		n;
	double	   *x;
	Datum	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	OneRowOnly(PG_GETARG_DATUM(0), "logits");
	x = DecodeFloat8Array(PG_GETARG_DATUM(0), "logits", &n);
	uncertainty_softmax(x, (size_t) n, x);
	out = palloc(sizeof(Datum) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
		out[i] = Float8GetDatum(x[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, (int) n, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
