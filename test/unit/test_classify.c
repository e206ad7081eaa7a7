/*
 * test_classify.c — unit tests of the classification kernel (src/metrics/classify.c):
 * counting, precision / recall / F-beta with zero_division, and every average, checked
 * against values scikit-learn 1.2 prints for the same data.
 */
#include <math.h>

#include "metrics/classify.h"
#include "unit.h"

int
main(void)
{
	/* y_true = [0,1,2,0,1,2], y_pred = [0,2,1,0,0,1] (scikit-learn's documentation example) */
	int32_t		yt[] = {0, 1, 2, 0, 1, 2};
	int32_t		yp[] = {0, 2, 1, 0, 0, 1};
	double		tp[3], pred[3], truth[3], p[3], r[3], f[3], out[3], scratch[9];
	double		matrix[9] = {0};
	int32_t		all[] = {0, 1, 2};

	label_counts(yt, yp, NULL, 6, 3, tp, pred, truth);
	CHECK_NEAR(tp[0], 2, 0, "tp of label 0");
	CHECK_NEAR(pred[0], 3, 0, "predictions of label 0");
	CHECK_NEAR(truth[2], 2, 0, "support of label 2");
	CHECK_NEAR(codes_correct(yt, yp, NULL, 6), 2, 0, "two agreements");

	confusion_add(matrix, 3, yt, yp, NULL, 6);
	CHECK_NEAR(matrix[0 * 3 + 0], 2, 0, "matrix[0][0]");
	CHECK_NEAR(matrix[1 * 3 + 0], 1, 0, "matrix[1][0]");
	CHECK_NEAR(matrix[2 * 3 + 1], 2, 0, "matrix[2][1]");
	CHECK_NEAR(confusion_correct(matrix, 3), 2, 0, "diagonal");
	CHECK_NEAR(confusion_total(matrix, 3), 6, 0, "total");
	{
		double		tp2[3], pred2[3], truth2[3];
		int32_t		sel[] = {2, -1, 0};

		confusion_label_counts(matrix, 3, sel, 3, tp2, pred2, truth2);
		CHECK_NEAR(pred2[0], 1, 0, "column sum of label 2");
		CHECK_NEAR(tp2[1] + pred2[1] + truth2[1], 0, 0, "unknown label counts zero");
		CHECK_NEAR(truth2[2], 2, 0, "row sum of label 0");
	}

	prf_per_label(tp, pred, truth, 3, 1.0, 0.0, p, r, f);
	CHECK_NEAR(p[0], 2.0 / 3, 1e-15, "precision of label 0 is 2/3");
	CHECK_NEAR(f[0], 0.8, 1e-15, "f1 of label 0 is 0.8");
	CHECK_NEAR(f[1], 0, 0, "f1 of label 1 is 0 (0/0 -> 0)");

	prf_average(tp, pred, truth, 3, 1.0, AVERAGE_MACRO, 0.0, NULL, scratch, out);
	CHECK_NEAR(out[0], 0.2222222222222222, 1e-15, "macro precision");
	CHECK_NEAR(out[2], 0.26666666666666666, 1e-15, "macro f1");
	prf_average(tp, pred, truth, 3, 1.0, AVERAGE_MICRO, 0.0, NULL, scratch, out);
	CHECK_NEAR(out[0], 1.0 / 3, 1e-15, "micro precision");
	CHECK_NEAR(out[1], 1.0 / 3, 1e-15, "micro recall");
	prf_average(tp, pred, truth, 3, 0.5, AVERAGE_WEIGHTED, 0.0, NULL, scratch, out);
	CHECK_NEAR(out[2], 0.23809523809523805, 1e-15, "weighted f0.5");

	/* zero_division: y_pred all 0 -> labels 1 and 2 never predicted */
	{
		int32_t		zp[] = {0, 0, 0, 0, 0, 0};

		label_counts(yt, zp, NULL, 6, 3, tp, pred, truth);
		prf_per_label(tp, pred, truth, 3, 1.0, 1.0, p, r, f);
		CHECK_NEAR(p[1], 1, 0, "zero_division=1 gives precision 1");
		CHECK_NEAR(f[1], 0, 0, "f1 is 0 when recall is 0, whatever zero_division");
		prf_per_label(tp, pred, truth, 3, 1.0, NAN, p, r, f);
		CHECK(isnan(p[1]) && isnan(f[1]), "zero_division=NaN gives NaN");
		prf_average(tp, pred, truth, 3, 1.0, AVERAGE_MACRO, NAN, NULL, scratch, out);
		CHECK_NEAR(out[0], 1.0 / 3, 1e-15, "NaN scores are left out of the macro average");
	}

	/* beta = +inf: F is recall */
	prf_per_label(tp, pred, truth, 3, INFINITY, 0.0, p, r, f);
	CHECK_NEAR(f[0], r[0], 0, "beta=inf gives recall");

	/* weighted average with no true samples (scikit-learn's special case) */
	{
		double		t0[] = {0, 0}, pr[] = {1, 0}, tr[] = {0, 0};

		prf_average(t0, pr, tr, 2, 1.0, AVERAGE_WEIGHTED, 1.0, NULL, scratch, out);
		CHECK_NEAR(out[0], 0, 0, "no support, some predictions: precision 0");
		CHECK_NEAR(out[1], 1, 0, "... recall zero_division");
		pr[0] = 0;
		prf_average(t0, pr, tr, 2, 1.0, AVERAGE_WEIGHTED, 0.0, NULL, scratch, out);
		CHECK_NEAR(out[2], 0, 0, "no support, no predictions: zero_division");
	}
	prf_average(tp, pred, truth, 0, 1.0, AVERAGE_MACRO, 0.0, NULL, scratch, out);
	CHECK(isnan(out[0]), "no labels gives NaN");

	/* multilabel: y_true [[0,0,0],[1,1,1],[0,1,1]], y_pred [[0,0,0],[1,1,1],[1,1,0]] */
	{
		uint8_t		it[] = {0, 0, 0, 1, 1, 1, 0, 1, 1};
		uint8_t		ip[] = {0, 0, 0, 1, 1, 1, 1, 1, 0};
		double		stp[3], spred[3], strue[3], w[] = {1, 2, 3};

		indicator_label_counts(it, ip, 3, 3, NULL, all, 3, tp, pred, truth);
		prf_per_label(tp, pred, truth, 3, 1.0, 0.0, p, r, f);
		CHECK_NEAR(p[0], 0.5, 0, "multilabel precision of column 0");
		CHECK_NEAR(r[2], 0.5, 0, "multilabel recall of column 2");
		indicator_sample_counts(it, ip, 3, 3, all, 3, stp, spred, strue);
		prf_average(stp, spred, strue, 3, 1.0, AVERAGE_SAMPLES, 1.0, NULL, scratch, out);
		CHECK_NEAR(out[2], 0.8333333333333334, 1e-15, "samples f1 with zero_division=1");
		CHECK_NEAR(indicator_subset_correct(it, ip, 3, 3, NULL), 2, 0, "subset accuracy count");
		CHECK_NEAR(indicator_subset_correct(it, ip, 3, 3, w), 3, 0, "weighted subset count");
	}

	/* weights */
	{
		int32_t		bt[] = {0, 1, 1, 0, 1};
		int32_t		bp[] = {0, 1, 0, 0, 1};
		double		w[] = {1, 2, 3, 0, 0.5};
		int32_t		pos[] = {1};
		double		t1, p1, r1;

		label_counts(bt, bp, w, 5, 2, tp, pred, truth);
		t1 = tp[pos[0]];
		p1 = pred[pos[0]];
		r1 = truth[pos[0]];
		prf_per_label(&t1, &p1, &r1, 1, 1.0, 0.0, p, r, f);
		CHECK_NEAR(f[0], 0.625, 1e-15, "weighted binary f1 (scikit-learn: 0.625)");
		CHECK_NEAR(codes_correct(bt, bp, w, 5), 3.5, 0, "weighted agreements");
	}

	CHECK_NEAR(weighted_mean((double[]) {1, 2, 3}, NULL, 3), 2, 0, "mean");
	CHECK_NEAR(weighted_mean((double[]) {1, 2, 3}, (double[]) {0, 0, 1}, 3), 3, 0, "weighted mean");
	CHECK(isnan(weighted_mean(NULL, NULL, 0)), "mean of nothing is NaN");
	CHECK(isnan(weighted_mean((double[]) {1}, (double[]) {0}, 1)), "weights summing to 0 give NaN");

	return unit_done();
}
