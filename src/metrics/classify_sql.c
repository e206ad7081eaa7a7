/*-------------------------------------------------------------------------
 *
 * classify_sql.c
 *	  The classification problem behind every classification metric:
 *	  decoding and typing two targets like scikit-learn's _check_targets,
 *	  choosing the labels like _check_set_wise_labels, and building the
 *	  jsonb results.  The counting and the formulas are the kernels'
 *	  (classify.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"

#include "metrics/metrics_glue.h"

typedef enum TypeOfTarget
{
	TOT_BINARY,
	TOT_MULTICLASS,
	TOT_MULTILABEL,
	TOT_CONTINUOUS
} TypeOfTarget;

static const char *const TypeNames[] = {"binary", "multiclass", "multilabel-indicator", "continuous"};

static TypeOfTarget TypeOf(const Target *t, int k);
static int32 *SortedCodes(const ClassProblem *cp, int *m);
static int32 FindLabel(const ClassProblem *cp, const Elem *e);
static int32 *SelectGivenLabels(const ClassProblem *cp, Datum labels, bool jsonb, int *m, Elem **elems);
static void CodeCounts(const ClassProblem *cp, double **tp, double **pred, double **truth);
static char *LabelKey(const ClassProblem *cp, int32 code, const Elem *given, bool float_keys);
static void AppendAverages(StringInfo buf, const double *v);
static bool ReadScalarArg(Datum d, bool jsonb, Elem *e);

/*
 * ReadScalarArg reads a json or jsonb argument holding one scalar (a
 * pos_label); false when it holds an array or an object.  Strings are
 * copied.
 */
static bool
ReadScalarArg(Datum d, bool jsonb, Elem *e)
{
	if (jsonb)
	{
		if (!JsonbScalarElem(d, e))
			return false;
	}
	else
	{
		/* parse "[<text>]" with the scanner: one element, nothing after */
		text	   *t = DatumGetTextPP(d);
		StringInfoData buf;
		js_scanner	sc;
		JIter		it;
		Elem		extra;

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '[');
		appendBinaryStringInfo(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		appendStringInfoChar(&buf, ']');
		JIterStart(&it, PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len)),
				   false, "pos_label", &sc);
		if (!JIterNext(&it, e) || e->type == ELEM_ARRAY || e->type == ELEM_OBJECT ||
			JIterNext(&it, &extra))
			return false;
	}
	if (e->type == ELEM_STRING)
		e->str = pnstrdup(e->str, e->len);
	return true;
}

/*
 * TypeOf is scikit-learn's type_of_target for one decoded target.
 */
static TypeOfTarget
TypeOf(const Target *t, int k)
{
	bool	   *seen;
	int			distinct = 0;

	if (t->rows)
		return TOT_MULTILABEL;
	if (t->continuous)
		return TOT_CONTINUOUS;
	seen = palloc0(Max(k, 1));
	for (int64 i = 0; i < t->n && distinct <= 2; i++)
	{
		if (!seen[t->codes[i]])
		{
			seen[t->codes[i]] = true;
			distinct++;
		}
	}
	pfree(seen);
	return distinct > 2 ? TOT_MULTICLASS : TOT_BINARY;
}

/*
 * ClassProblemFromArrays decodes y_true, y_pred and the weights, then types
 * them: lengths first, then the mix of target types, then continuous.
 */
void
ClassProblemFromArrays(ClassProblem *cp, Datum y_true, Datum y_pred,
					   bool has_weight, Datum weight, bool jsonb)
{
	Target	   *tt = palloc(sizeof(Target));
	Target	   *tp = palloc(sizeof(Target));
	TypeOfTarget a,
				b,
				type;
	int			k;

	memset(cp, 0, sizeof(*cp));
	cp->ls = labels_create(mlops_palloc_allocator());
	DecodeTarget(y_true, jsonb, "y_true", cp->ls, tt);
	DecodeTarget(y_pred, jsonb, "y_pred", cp->ls, tp);

	if (tt->n != tp->n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("y_true and y_pred have different lengths: %lld and %lld",
						(long long) tt->n, (long long) tp->n)));
	if (has_weight)
	{
		int64		nw;

		cp->w = DecodeNumbers(weight, jsonb, "sample_weight", &nw);
		if (nw != tt->n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sample_weight and y_true have different lengths: %lld and %lld",
							(long long) nw, (long long) tt->n)));
	}

	k = (int) labels_count(cp->ls);
	a = TypeOf(tt, k);
	b = TypeOf(tp, k);
	if ((a == TOT_BINARY && b == TOT_MULTICLASS) || (a == TOT_MULTICLASS && b == TOT_BINARY))
		type = TOT_MULTICLASS;
	else if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("classification metrics can't handle a mix of %s and %s targets",
						TypeNames[a], TypeNames[b])));
	else
		type = a;
	if (type == TOT_CONTINUOUS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("continuous is not supported"),
				 errdetail("Labels must be integral numbers, strings or booleans; use mlops.mae, mlops.mse, mlops.rmse or mlops.r2 for regression.")));
	if (type == TOT_BINARY && k > 2)
		type = TOT_MULTICLASS;

	cp->n = tt->n;
	cp->k = k;
	cp->float_labels = tt->float_literal || tp->float_literal;
	/* numpy holds an array of booleans only as booleans: [False, True], not [0, 1] */
	cp->bool_labels = tt->n > 0 && tt->bools == tt->n && tp->bools == tp->n;
	if (type == TOT_MULTILABEL)
	{
		if (tt->width != tp->width && tt->n > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rows of y_true and y_pred have different lengths: %d and %d",
							tt->width, tp->width)));
		cp->type = TARGET_MULTILABEL;
		cp->width = tt->width;
		cp->it = tt->ind;
		cp->ip = tp->ind;
	}
	else
	{
		cp->type = (type == TOT_BINARY) ? TARGET_BINARY : TARGET_MULTICLASS;
		cp->yt = tt->codes;
		cp->yp = tp->codes;
	}
}

metric_average
ParseAverage(text *average)
{
	char	   *s = text_to_cstring(average);

	if (strcmp(s, "binary") == 0)
		return AVERAGE_BINARY;
	if (strcmp(s, "micro") == 0)
		return AVERAGE_MICRO;
	if (strcmp(s, "macro") == 0)
		return AVERAGE_MACRO;
	if (strcmp(s, "weighted") == 0)
		return AVERAGE_WEIGHTED;
	if (strcmp(s, "samples") == 0)
		return AVERAGE_SAMPLES;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown average \"%s\"", s),
			 errhint("Use one of binary, micro, macro, weighted, samples, or NULL for per-label scores.")));
	return AVERAGE_NONE;		/* keep the compiler quiet */
}

double
CheckZeroDivision(double zd)
{
	if (!(isnan(zd) || zd == 0.0 || zd == 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("zero_division must be 0, 1 or NaN, not %g", zd)));
	return zd;
}

void
CheckBeta(double beta)
{
	if (isnan(beta) || beta < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("beta should be >= 0 in the F-beta score, not %g", beta)));
}

/*
 * SortedCodes returns every label code in scikit-learn's order.
 */
static int32 *
SortedCodes(const ClassProblem *cp, int *m)
{
	int32	   *order = palloc(sizeof(int32) * Max(cp->k, 1));

	if (labels_sort(cp->ls, order) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	*m = cp->k;
	return order;
}

/*
 * FindLabel returns the code of a label given by the user (pos_label, an
 * element of labels), or -1 when the data do not hold it.
 */
static int32
FindLabel(const ClassProblem *cp, const Elem *e)
{
	switch (e->type)
	{
		case ELEM_NUMBER:
		case ELEM_TRUE:
		case ELEM_FALSE:
			if (labels_kind(cp->ls) == LABEL_KIND_STRING)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("mix of label input types (string and number)"),
						 errdetail("The labels of the data are strings; a number was given.")));
			return e->integral ? labels_find_number(cp->ls, e->num) : -1;
		case ELEM_STRING:
			if (labels_kind(cp->ls) == LABEL_KIND_NUMBER)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("mix of label input types (string and number)"),
						 errdetail("The labels of the data are numbers; a string was given.")));
			return labels_find_string(cp->ls, e->str, e->len);
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a label must be a JSON number, string or boolean")));
	}
	return -1;
}

/*
 * SelectGivenLabels reads the labels argument: for multilabel targets the
 * column indices, otherwise label values in the user's order (codes, -1
 * for labels the data do not hold, remembered in elems for output).
 */
static int32 *
SelectGivenLabels(const ClassProblem *cp, Datum labels, bool jsonb, int *m, Elem **elems)
{
	js_scanner	scanner;
	JIter		it;
	Elem		e;
	int			cap = 16;
	int32	   *sel = palloc(sizeof(int32) * cap);
	Elem	   *el = palloc(sizeof(Elem) * cap);

	*m = 0;
	JIterStart(&it, labels, jsonb, "labels", &scanner);
	while (JIterNext(&it, &e))
	{
		int32		code;

		if (cp->type == TARGET_MULTILABEL)
		{
			if (e.type != ELEM_NUMBER || !e.integral)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("labels of multilabel targets are column indices")));
			if (e.num < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("all labels must be in [0, n labels) for multilabel targets: got %.0f < 0", e.num)));
			if (e.num >= cp->width)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("all labels must be in [0, n labels) for multilabel targets: got %.0f > %d",
								e.num, cp->width - 1)));
			code = (int32) e.num;
		}
		else
			code = FindLabel(cp, &e);
		if (*m >= cap)
		{
			cap *= 2;
			sel = repalloc(sel, sizeof(int32) * cap);
			el = repalloc(el, sizeof(Elem) * cap);
		}
		if (e.type == ELEM_STRING)
			e.str = pnstrdup(e.str, e.len);	/* the scanner's buffer is reused */
		sel[*m] = code;
		el[*m] = e;
		(*m)++;
	}
	JIterFinish(&it);
	if (*m == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must contain at least one label")));
	if (elems)
		*elems = el;
	return sel;
}

/*
 * CodeCounts: per label code, true positives, predictions and true
 * occurrences, from the arrays or from the confusion state.
 */
static void
CodeCounts(const ClassProblem *cp, double **tp, double **pred, double **truth)
{
	int			k = Max(cp->k, 1);

	*tp = palloc0(sizeof(double) * k);
	*pred = palloc0(sizeof(double) * k);
	*truth = palloc0(sizeof(double) * k);
	if (cp->matrix)
	{
		int32	   *all = palloc(sizeof(int32) * k);

		for (int i = 0; i < cp->k; i++)
			all[i] = i;
		confusion_label_counts(cp->matrix, cp->k, all, cp->k, *tp, *pred, *truth);
	}
	else if (cp->k > 0)
		label_counts(cp->yt, cp->yp, cp->w, cp->n, cp->k, *tp, *pred, *truth);
}

/*
 * ComputePrf is precision_recall_fscore_support: labels chosen as
 * scikit-learn does, counts from the kernels, scores per label and the
 * requested average.
 */
void
ComputePrf(const ClassProblem *cp, const PrfOptions *opt, PrfResult *res)
{
	int			m;
	int32	   *sel;
	Elem	   *elems = NULL;
	double	   *tp,
			   *pred,
			   *truth;

	memset(res, 0, sizeof(*res));

	if (cp->type == TARGET_MULTILABEL)
	{
		if (!opt->average_null && opt->average == AVERAGE_BINARY)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target is multilabel-indicator and average is binary"),
					 errhint("Choose another average setting: micro, macro, weighted, samples, or NULL for per-label scores.")));
		if (opt->has_labels)
			sel = SelectGivenLabels(cp, opt->labels, opt->jsonb, &m, NULL);
		else
		{
			m = cp->width;
			sel = palloc(sizeof(int32) * Max(m, 1));
			for (int j = 0; j < m; j++)
				sel[j] = j;
		}

		if (!opt->average_null && opt->average == AVERAGE_SAMPLES)
		{
			int64		n = cp->n;

			tp = palloc(sizeof(double) * Max(n, 1));
			pred = palloc(sizeof(double) * Max(n, 1));
			truth = palloc(sizeof(double) * Max(n, 1));
			indicator_sample_counts(cp->it, cp->ip, n, cp->width, sel, m, tp, pred, truth);
			prf_average(tp, pred, truth, n, opt->beta, AVERAGE_SAMPLES, opt->zero_division,
						cp->w, palloc(sizeof(double) * 3 * Max(n, 1)), res->avg);
			res->m = m;
			res->sel = sel;
			return;
		}
		tp = palloc(sizeof(double) * Max(m, 1));
		pred = palloc(sizeof(double) * Max(m, 1));
		truth = palloc(sizeof(double) * Max(m, 1));
		indicator_label_counts(cp->it, cp->ip, cp->n, cp->width, cp->w, sel, m, tp, pred, truth);
	}
	else
	{
		double	   *ctp,
				   *cpred,
				   *ctruth;

		if (!opt->average_null && opt->average == AVERAGE_SAMPLES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("samplewise metrics are not available outside of multilabel classification")));
		if (!opt->average_null && opt->average == AVERAGE_BINARY)
		{
			Elem		pos;
			int32		code;

			if (cp->type == TARGET_MULTICLASS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("target is multiclass and average is binary"),
						 errhint("Choose another average setting: micro, macro, weighted, or NULL for per-label scores.")));
			if (!opt->has_pos_label)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("pos_label must not be NULL when average is binary")));
			/* pos_label is one JSON scalar */
			if (!ReadScalarArg(opt->pos_label, opt->jsonb, &pos))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pos_label must be a JSON number, string or boolean")));
			if (pos.type == ELEM_NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pos_label must be a JSON number, string or boolean")));
			code = (pos.type == ELEM_STRING) != (labels_kind(cp->ls) == LABEL_KIND_STRING) &&
				labels_kind(cp->ls) != LABEL_KIND_NONE ? -1 : FindLabel(cp, &pos);
			if (code < 0 && cp->k >= 2)
			{
				StringInfoData valid;
				int			nl;
				int32	   *order = SortedCodes(cp, &nl);

				initStringInfo(&valid);
				for (int j = 0; j < nl; j++)
				{
					if (j > 0)
						appendStringInfoString(&valid, ", ");
					AppendLabel(&valid, cp, order[j], NULL);
				}
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pos_label is not a valid label"),
						 errdetail("It should be one of %s.", valid.data),
						 errhint("Pass pos_label, or use another average setting.")));
			}
			m = 1;
			sel = palloc(sizeof(int32));
			sel[0] = code;
			elems = palloc(sizeof(Elem));
			elems[0] = pos;
		}
		else if (opt->has_labels)
			sel = SelectGivenLabels(cp, opt->labels, opt->jsonb, &m, &elems);
		else
			sel = SortedCodes(cp, &m);

		CodeCounts(cp, &ctp, &cpred, &ctruth);
		tp = palloc(sizeof(double) * Max(m, 1));
		pred = palloc(sizeof(double) * Max(m, 1));
		truth = palloc(sizeof(double) * Max(m, 1));
		for (int j = 0; j < m; j++)
		{
			bool		known = sel[j] >= 0 && sel[j] < cp->k;

			tp[j] = known ? ctp[sel[j]] : 0.0;
			pred[j] = known ? cpred[sel[j]] : 0.0;
			truth[j] = known ? ctruth[sel[j]] : 0.0;
		}
	}

	res->m = m;
	res->sel = sel;
	res->sel_elems = elems;
	res->support = truth;
	if (opt->average_null)
	{
		res->precision = palloc(sizeof(double) * Max(m, 1));
		res->recall = palloc(sizeof(double) * Max(m, 1));
		res->fbeta = palloc(sizeof(double) * Max(m, 1));
		prf_per_label(tp, pred, truth, m, opt->beta, opt->zero_division,
					  res->precision, res->recall, res->fbeta);
	}
	else
		prf_average(tp, pred, truth, m, opt->beta, opt->average, opt->zero_division,
					cp->w, palloc(sizeof(double) * 3 * Max(m, 1)), res->avg);
}

/*
 * ComputeAccuracy is accuracy_score: the (weighted) share of samples, or
 * rows, predicted exactly; NaN for no samples when normalised.
 */
double
ComputeAccuracy(const ClassProblem *cp, bool normalize)
{
	double		correct,
				total;

	if (cp->matrix)
	{
		correct = confusion_correct(cp->matrix, cp->k);
		total = confusion_total(cp->matrix, cp->k);
	}
	else
	{
		if (cp->type == TARGET_MULTILABEL)
			correct = indicator_subset_correct(cp->it, cp->ip, cp->n, cp->width, cp->w);
		else
			correct = codes_correct(cp->yt, cp->yp, cp->w, cp->n);
		total = (double) cp->n;
		if (cp->w)
		{
			total = 0;
			for (int64 i = 0; i < cp->n; i++)
				total += cp->w[i];
		}
	}
	if (!normalize)
		return correct;
	if (cp->n == 0 && cp->matrix == NULL)
		return NAN;
	if (total == 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("sample weights sum to zero, so accuracy cannot be normalized")));
	return correct / total;
}

/*
 * AppendJsonDouble writes a double as a JSON number (shortest exact form),
 * or null for NaN and infinities, which JSON cannot hold.
 */
void
AppendJsonDouble(StringInfo buf, double v)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(v))
	{
		appendStringInfoString(buf, "null");
		return;
	}
	double_to_shortest_decimal_buf(v, tmp);
	appendStringInfoString(buf, tmp);
}

/*
 * AppendLabel writes a label as JSON: the label of a code, or one the user
 * gave that the data do not hold.
 */
void
AppendLabel(StringInfo buf, const ClassProblem *cp, int32 code, const Elem *given)
{
	if (cp->type == TARGET_MULTILABEL)
	{
		appendStringInfo(buf, "%d", code);
		return;
	}
	if (code >= 0)
	{
		if (labels_kind(cp->ls) == LABEL_KIND_STRING)
		{
			size_t		len;
			const char *s = labels_string(cp->ls, code, &len);

			escape_json(buf, pnstrdup(s, len));
		}
		else if (cp->bool_labels)
			appendStringInfoString(buf, labels_number(cp->ls, code) != 0 ? "true" : "false");
		else
			AppendJsonDouble(buf, labels_number(cp->ls, code));
	}
	else if (given && given->type == ELEM_STRING)
		escape_json(buf, pnstrdup(given->str, given->len));
	else if (given)
		AppendJsonDouble(buf, given->num);
	else
		appendStringInfoString(buf, "null");
}

/*
 * LabelKey is the label as classification_report names it ("%s" % label in
 * Python): integers as integers, floats as Python prints them, booleans as
 * True and False, strings as they are.  float_keys says whether numpy holds the labels as floats: the
 * labels argument when given, else the data's first spelling of each label.
 */
static char *
LabelKey(const ClassProblem *cp, int32 code, const Elem *given, bool float_keys)
{
	double		v;
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (cp->type == TARGET_MULTILABEL)
		return psprintf("%d", code);
	if (code >= 0 && labels_kind(cp->ls) == LABEL_KIND_STRING)
	{
		size_t		len;
		const char *s = labels_string(cp->ls, code, &len);

		return pnstrdup(s, len);
	}
	if (code < 0 && given && given->type == ELEM_STRING)
		return pnstrdup(given->str, given->len);
	v = code >= 0 ? labels_number(cp->ls, code) : (given ? given->num : NAN);
	if (cp->bool_labels && code >= 0 &&
		(!given || given->type == ELEM_TRUE || given->type == ELEM_FALSE))
		return pstrdup(v != 0 ? "True" : "False");
	if (!float_keys && fabs(v) < 1e18)
		return psprintf("%.0f", v);
	if (fabs(v) < 1e16)
		return psprintf("%.1f", v);
	double_to_shortest_decimal_buf(v, tmp);
	return pstrdup(tmp);
}

Datum
JsonbFromCString(const char *s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
}

/*
 * BuildPrfsJson: per-label arrays when average is NULL, else the averages.
 */
Datum
BuildPrfsJson(const ClassProblem *cp, const PrfOptions *opt)
{
	PrfResult	res;
	StringInfoData buf;

	ComputePrf(cp, opt, &res);
	initStringInfo(&buf);
	if (opt->average_null)
	{
		const double *cols[4] = {res.precision, res.recall, res.fbeta, res.support};
		const char *names[4] = {"precision", "recall", "fbeta", "support"};

		appendStringInfoString(&buf, "{\"labels\": [");
		for (int j = 0; j < res.m; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			AppendLabel(&buf, cp, res.sel[j], res.sel_elems ? &res.sel_elems[j] : NULL);
		}
		appendStringInfoChar(&buf, ']');
		for (int c = 0; c < 4; c++)
		{
			appendStringInfo(&buf, ", \"%s\": [", names[c]);
			for (int j = 0; j < res.m; j++)
			{
				if (j > 0)
					appendStringInfoString(&buf, ", ");
				AppendJsonDouble(&buf, cols[c][j]);
			}
			appendStringInfoChar(&buf, ']');
		}
		appendStringInfoChar(&buf, '}');
	}
	else
	{
		appendStringInfoString(&buf, "{\"precision\": ");
		AppendJsonDouble(&buf, res.avg[0]);
		appendStringInfoString(&buf, ", \"recall\": ");
		AppendJsonDouble(&buf, res.avg[1]);
		appendStringInfoString(&buf, ", \"fbeta\": ");
		AppendJsonDouble(&buf, res.avg[2]);
		appendStringInfoString(&buf, ", \"support\": null}");
	}
	return JsonbFromCString(buf.data);
}

/*
 * BuildConfusionMatrix is confusion_matrix: rows are true labels, columns
 * predicted ones, in scikit-learn's label order or the order given.
 */
Datum
BuildConfusionMatrix(const ClassProblem *cp, bool has_labels, Datum labels,
					 bool jsonb, text *normalize)
{
	int			m;
	int32	   *sel;
	Elem	   *elems = NULL;
	int		   *index;
	double	   *cm;
	char	   *norm = normalize ? text_to_cstring(normalize) : NULL;
	StringInfoData buf;

	if (cp->type == TARGET_MULTILABEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("multilabel-indicator is not supported")));
	if (norm && strcmp(norm, "true") != 0 && strcmp(norm, "pred") != 0 && strcmp(norm, "all") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("normalize must be one of true, pred, all, or NULL")));

	if (has_labels)
	{
		bool		any = false;

		sel = SelectGivenLabels(cp, labels, jsonb, &m, &elems);
		if (cp->matrix ? cp->k > 0 : cp->n > 0)
		{
			double	   *tp,
					   *pred,
					   *truth;

			CodeCounts(cp, &tp, &pred, &truth);
			for (int j = 0; j < m && !any; j++)
				any = sel[j] >= 0 && truth[sel[j]] > 0;
			/* a weight of zero still counts as present in y_true */
			if (!any && cp->yt)
				for (int64 i = 0; i < cp->n && !any; i++)
					for (int j = 0; j < m && !any; j++)
						any = (cp->yt[i] == sel[j]);
			if (!any)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("at least one label specified must be in y_true")));
		}
	}
	else
		sel = SortedCodes(cp, &m);

	if (m > MLOPS_MAX_CONFUSION_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("confusion matrix of %d labels is too large", m),
				 errdetail("At most %d labels are supported.", MLOPS_MAX_CONFUSION_LABELS)));

	index = palloc(sizeof(int) * Max(cp->k, 1));
	for (int i = 0; i < cp->k; i++)
		index[i] = -1;
	for (int j = 0; j < m; j++)
		if (sel[j] >= 0 && index[sel[j]] < 0)
			index[sel[j]] = j;
	cm = palloc0(sizeof(double) * Max(m * m, 1));
	if (cp->matrix)
	{
		for (int i = 0; i < m; i++)
			for (int j = 0; j < m; j++)
				if (sel[i] >= 0 && sel[j] >= 0)
					cm[i * m + j] = cp->matrix[sel[i] * cp->k + sel[j]];
	}
	else
	{
		for (int64 s = 0; s < cp->n; s++)
		{
			int			ti = index[cp->yt[s]];
			int			pi = index[cp->yp[s]];

			if (ti >= 0 && pi >= 0)
				cm[ti * m + pi] += cp->w ? cp->w[s] : 1.0;
		}
	}

	if (norm)
	{
		double	   *sums = palloc0(sizeof(double) * Max(m, 1));
		double		all = 0;

		for (int i = 0; i < m; i++)
			for (int j = 0; j < m; j++)
			{
				if (norm[0] == 't')
					sums[i] += cm[i * m + j];
				else if (norm[0] == 'p')
					sums[j] += cm[i * m + j];
				all += cm[i * m + j];
			}
		for (int i = 0; i < m; i++)
			for (int j = 0; j < m; j++)
			{
				double		d = norm[0] == 't' ? sums[i] : norm[0] == 'p' ? sums[j] : all;

				/* numpy.nan_to_num after 0/0 */
				cm[i * m + j] = d == 0.0 ? 0.0 : cm[i * m + j] / d;
			}
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"labels\": [");
	for (int j = 0; j < m; j++)
	{
		if (j > 0)
			appendStringInfoString(&buf, ", ");
		AppendLabel(&buf, cp, sel[j], elems ? &elems[j] : NULL);
	}
	appendStringInfoString(&buf, "], \"matrix\": [");
	for (int i = 0; i < m; i++)
	{
		appendStringInfoString(&buf, i > 0 ? ", [" : "[");
		for (int j = 0; j < m; j++)
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			AppendJsonDouble(&buf, cm[i * m + j]);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "]}");
	return JsonbFromCString(buf.data);
}

static void
AppendAverages(StringInfo buf, const double *v)
{
	appendStringInfoString(buf, "{\"precision\": ");
	AppendJsonDouble(buf, v[0]);
	appendStringInfoString(buf, ", \"recall\": ");
	AppendJsonDouble(buf, v[1]);
	appendStringInfoString(buf, ", \"f1-score\": ");
	AppendJsonDouble(buf, v[2]);
	appendStringInfoString(buf, ", \"support\": ");
	AppendJsonDouble(buf, v[3]);
	appendStringInfoChar(buf, '}');
}

/*
 * BuildReport is classification_report(output_dict=True): per-label rows,
 * then "accuracy" (or "micro avg"), "macro avg", "weighted avg" and, for
 * multilabel targets, "samples avg".
 */
Datum
BuildReport(const ClassProblem *cp, bool has_labels, Datum labels, bool jsonb,
			double zero_division)
{
	PrfOptions	opt;
	PrfResult	per;
	StringInfoData buf;
	bool		micro_is_accuracy;
	bool		float_keys;
	double		total_support = 0;
	metric_average avgs[4] = {AVERAGE_MICRO, AVERAGE_MACRO, AVERAGE_WEIGHTED, AVERAGE_SAMPLES};
	const char *names[4] = {"micro avg", "macro avg", "weighted avg", "samples avg"};
	int			navg = cp->type == TARGET_MULTILABEL ? 4 : 3;

	memset(&opt, 0, sizeof(opt));
	opt.average_null = true;
	opt.has_labels = has_labels;
	opt.labels = labels;
	opt.jsonb = jsonb;
	opt.zero_division = zero_division;
	opt.beta = 1.0;
	ComputePrf(cp, &opt, &per);

	micro_is_accuracy = cp->type != TARGET_MULTILABEL;
	if (micro_is_accuracy && has_labels)
	{
		/* the set of labels given must be the set of labels present */
		bool	   *hit = palloc0(Max(cp->k, 1));
		int			hits = 0;

		for (int j = 0; j < per.m; j++)
		{
			if (per.sel[j] < 0)
			{
				micro_is_accuracy = false;
				break;
			}
			if (!hit[per.sel[j]])
			{
				hit[per.sel[j]] = true;
				hits++;
			}
		}
		if (hits != cp->k)
			micro_is_accuracy = false;
	}

	float_keys = cp->float_labels;
	if (has_labels && per.sel_elems)
	{
		float_keys = false;
		for (int j = 0; j < per.m; j++)
			if (per.sel_elems[j].type == ELEM_NUMBER && !per.sel_elems[j].int_literal)
				float_keys = true;
	}

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int j = 0; j < per.m; j++)
	{
		double		v[4] = {per.precision[j], per.recall[j], per.fbeta[j], per.support[j]};

		if (j > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, LabelKey(cp, per.sel[j], per.sel_elems ? &per.sel_elems[j] : NULL, float_keys));
		appendStringInfoString(&buf, ": ");
		AppendAverages(&buf, v);
		total_support += per.support[j];
	}
	for (int a = 0; a < navg; a++)
	{
		PrfResult	r;
		double		v[4];

		opt.average_null = false;
		opt.average = avgs[a];
		ComputePrf(cp, &opt, &r);
		if (per.m > 0 || a > 0)
			appendStringInfoString(&buf, ", ");
		if (a == 0 && micro_is_accuracy)
		{
			appendStringInfoString(&buf, "\"accuracy\": ");
			AppendJsonDouble(&buf, r.avg[0]);
			continue;
		}
		v[0] = r.avg[0];
		v[1] = r.avg[1];
		v[2] = r.avg[2];
		v[3] = total_support;
		escape_json(&buf, names[a]);
		appendStringInfoString(&buf, ": ");
		AppendAverages(&buf, v);
	}
	appendStringInfoChar(&buf, '}');
	return JsonbFromCString(buf.data);
}
