-- pg_mlops @EXTVERSION@: ML-ops pipelines inside PostgreSQL.
--
-- This is the hand-edited source of the install script; the Makefile turns it
-- into sql/pg_mlops--@EXTVERSION@.sql.  Objects are schema-qualified and
-- operators spelt out where a hostile search_path could matter.

\echo Use "CREATE EXTENSION pg_mlops CASCADE" to load this file. \quit

-- The schema is created by CREATE EXTENSION (schema = mlops in the control
-- file).  Pure functions are for everyone; each later object says who may use
-- it with its own GRANT.
GRANT USAGE ON SCHEMA mlops TO PUBLIC;

COMMENT ON SCHEMA mlops IS 'pg_mlops: metrics, interpolation, detection, datasets and the job queue';

------------------------------------------------------------------------------
-- Information
------------------------------------------------------------------------------

CREATE FUNCTION mlops.version()
RETURNS text
AS 'MODULE_PATHNAME', 'mlops_version'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION mlops.version() IS
'Version of the loaded pg_mlops library (default_version of pg_mlops.control when it was built)';

------------------------------------------------------------------------------
-- Classification metrics over json / jsonb arrays (scikit-learn 1.2 semantics)
--
-- Labels are JSON scalars: numbers by value (1 = 1.0, true = 1), strings by
-- content.  Rows of 0/1 are multilabel indicator rows.  These functions are
-- not STRICT because their options default to NULL; a NULL y_true or y_pred
-- gives NULL.  NaN results in jsonb are written as null.
------------------------------------------------------------------------------

CREATE FUNCTION mlops.accuracy(y_true json, y_pred json, "normalize" boolean DEFAULT true,
                               sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_accuracy_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy(json, json, boolean, json) IS
'Share of samples predicted exactly (sklearn accuracy_score); subset accuracy for multilabel rows; NaN for empty arrays';

CREATE FUNCTION mlops.precision(y_true json, y_pred json, average text DEFAULT 'binary',
                             pos_label json DEFAULT '1', labels json DEFAULT NULL,
                             zero_division double precision DEFAULT 0,
                             sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_precision_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.precision(json, json, text, json, json, double precision, json) IS
'Precision tp / (tp + fp) (sklearn precision_score); average binary, micro, macro, weighted or samples; zero_division 0, 1 or NaN';

CREATE FUNCTION mlops.recall(y_true json, y_pred json, average text DEFAULT 'binary',
                             pos_label json DEFAULT '1', labels json DEFAULT NULL,
                             zero_division double precision DEFAULT 0,
                             sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_recall_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.recall(json, json, text, json, json, double precision, json) IS
'Recall tp / (tp + fn) (sklearn recall_score); average binary, micro, macro, weighted or samples; zero_division 0, 1 or NaN';

CREATE FUNCTION mlops.f1(y_true json, y_pred json, average text DEFAULT 'binary',
                             pos_label json DEFAULT '1', labels json DEFAULT NULL,
                             zero_division double precision DEFAULT 0,
                             sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_f1_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.f1(json, json, text, json, json, double precision, json) IS
'F1 score (sklearn f1_score); average binary, micro, macro, weighted or samples; zero_division 0, 1 or NaN';

CREATE FUNCTION mlops.fbeta(y_true json, y_pred json, beta double precision,
                            average text DEFAULT 'binary', pos_label json DEFAULT '1',
                            labels json DEFAULT NULL, zero_division double precision DEFAULT 0,
                            sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_fbeta_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.fbeta(json, json, double precision, text, json, json, double precision, json) IS
'F-beta score (sklearn fbeta_score): recall weighted beta times as much as precision';

CREATE FUNCTION mlops.precision_recall_fscore_support(y_true json, y_pred json,
                            beta double precision DEFAULT 1, average text DEFAULT NULL,
                            pos_label json DEFAULT '1', labels json DEFAULT NULL,
                            zero_division double precision DEFAULT 0,
                            sample_weight json DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_prfs_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.precision_recall_fscore_support(json, json, double precision, text, json, json, double precision, json) IS
'Per-label precision, recall, F-beta and support when average is NULL, else the averages (sklearn precision_recall_fscore_support)';

CREATE FUNCTION mlops.confusion_matrix(y_true json, y_pred json, labels json DEFAULT NULL,
                                       sample_weight json DEFAULT NULL, "normalize" text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_confusion_matrix_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_matrix(json, json, json, json, text) IS
'{"labels": [...], "matrix": [[...]]}: rows true labels, columns predicted (sklearn confusion_matrix); normalize true, pred or all';

CREATE FUNCTION mlops.classification_report(y_true json, y_pred json, labels json DEFAULT NULL,
                                            sample_weight json DEFAULT NULL,
                                            zero_division double precision DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_classification_report_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.classification_report(json, json, json, json, double precision) IS
'Per-label precision, recall, f1-score and support with accuracy and averages (sklearn classification_report, output_dict=True)';

CREATE FUNCTION mlops.accuracy(y_true jsonb, y_pred jsonb, "normalize" boolean DEFAULT true,
                               sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_accuracy_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy(jsonb, jsonb, boolean, jsonb) IS
'Share of samples predicted exactly (sklearn accuracy_score); subset accuracy for multilabel rows; NaN for empty arrays';

CREATE FUNCTION mlops.precision(y_true jsonb, y_pred jsonb, average text DEFAULT 'binary',
                             pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                             zero_division double precision DEFAULT 0,
                             sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_precision_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.precision(jsonb, jsonb, text, jsonb, jsonb, double precision, jsonb) IS
'Precision tp / (tp + fp) (sklearn precision_score); average binary, micro, macro, weighted or samples; zero_division 0, 1 or NaN';

CREATE FUNCTION mlops.recall(y_true jsonb, y_pred jsonb, average text DEFAULT 'binary',
                             pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                             zero_division double precision DEFAULT 0,
                             sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_recall_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.recall(jsonb, jsonb, text, jsonb, jsonb, double precision, jsonb) IS
'Recall tp / (tp + fn) (sklearn recall_score); average binary, micro, macro, weighted or samples; zero_division 0, 1 or NaN';

CREATE FUNCTION mlops.f1(y_true jsonb, y_pred jsonb, average text DEFAULT 'binary',
                             pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                             zero_division double precision DEFAULT 0,
                             sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_f1_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.f1(jsonb, jsonb, text, jsonb, jsonb, double precision, jsonb) IS
'F1 score (sklearn f1_score); average binary, micro, macro, weighted or samples; zero_division 0, 1 or NaN';

CREATE FUNCTION mlops.fbeta(y_true jsonb, y_pred jsonb, beta double precision,
                            average text DEFAULT 'binary', pos_label jsonb DEFAULT '1',
                            labels jsonb DEFAULT NULL, zero_division double precision DEFAULT 0,
                            sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_fbeta_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.fbeta(jsonb, jsonb, double precision, text, jsonb, jsonb, double precision, jsonb) IS
'F-beta score (sklearn fbeta_score): recall weighted beta times as much as precision';

CREATE FUNCTION mlops.precision_recall_fscore_support(y_true jsonb, y_pred jsonb,
                            beta double precision DEFAULT 1, average text DEFAULT NULL,
                            pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                            zero_division double precision DEFAULT 0,
                            sample_weight jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_prfs_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.precision_recall_fscore_support(jsonb, jsonb, double precision, text, jsonb, jsonb, double precision, jsonb) IS
'Per-label precision, recall, F-beta and support when average is NULL, else the averages (sklearn precision_recall_fscore_support)';

CREATE FUNCTION mlops.confusion_matrix(y_true jsonb, y_pred jsonb, labels jsonb DEFAULT NULL,
                                       sample_weight jsonb DEFAULT NULL, "normalize" text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_confusion_matrix_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_matrix(jsonb, jsonb, jsonb, jsonb, text) IS
'{"labels": [...], "matrix": [[...]]}: rows true labels, columns predicted (sklearn confusion_matrix); normalize true, pred or all';

CREATE FUNCTION mlops.classification_report(y_true jsonb, y_pred jsonb, labels jsonb DEFAULT NULL,
                                            sample_weight jsonb DEFAULT NULL,
                                            zero_division double precision DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_classification_report_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.classification_report(jsonb, jsonb, jsonb, jsonb, double precision) IS
'Per-label precision, recall, f1-score and support with accuracy and averages (sklearn classification_report, output_dict=True)';

------------------------------------------------------------------------------
-- Regression metrics
------------------------------------------------------------------------------
CREATE FUNCTION mlops.mae(y_true json, y_pred json, sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_mae_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.mae(json, json, json) IS 'Mean absolute error (sklearn mean_absolute_error)';
CREATE FUNCTION mlops.mae(y_true jsonb, y_pred jsonb, sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_mae_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.mae(jsonb, jsonb, jsonb) IS 'Mean absolute error (sklearn mean_absolute_error)';
CREATE FUNCTION mlops.mae(y_true double precision[], y_pred double precision[], sample_weight double precision[] DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_mae_float8'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.mae(double precision[], double precision[], double precision[]) IS 'Mean absolute error (sklearn mean_absolute_error)';
CREATE FUNCTION mlops.mse(y_true json, y_pred json, sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_mse_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.mse(json, json, json) IS 'Mean squared error (sklearn mean_squared_error)';
CREATE FUNCTION mlops.mse(y_true jsonb, y_pred jsonb, sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_mse_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.mse(jsonb, jsonb, jsonb) IS 'Mean squared error (sklearn mean_squared_error)';
CREATE FUNCTION mlops.mse(y_true double precision[], y_pred double precision[], sample_weight double precision[] DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_mse_float8'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.mse(double precision[], double precision[], double precision[]) IS 'Mean squared error (sklearn mean_squared_error)';
CREATE FUNCTION mlops.rmse(y_true json, y_pred json, sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_rmse_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.rmse(json, json, json) IS 'Root mean squared error (sklearn mean_squared_error, squared=False)';
CREATE FUNCTION mlops.rmse(y_true jsonb, y_pred jsonb, sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_rmse_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.rmse(jsonb, jsonb, jsonb) IS 'Root mean squared error (sklearn mean_squared_error, squared=False)';
CREATE FUNCTION mlops.rmse(y_true double precision[], y_pred double precision[], sample_weight double precision[] DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_rmse_float8'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.rmse(double precision[], double precision[], double precision[]) IS 'Root mean squared error (sklearn mean_squared_error, squared=False)';
CREATE FUNCTION mlops.r2(y_true json, y_pred json, sample_weight json DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_r2_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.r2(json, json, json) IS 'Coefficient of determination (sklearn r2_score); NaN for fewer than two samples';
CREATE FUNCTION mlops.r2(y_true jsonb, y_pred jsonb, sample_weight jsonb DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_r2_jsonb'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.r2(jsonb, jsonb, jsonb) IS 'Coefficient of determination (sklearn r2_score); NaN for fewer than two samples';
CREATE FUNCTION mlops.r2(y_true double precision[], y_pred double precision[], sample_weight double precision[] DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_r2_float8'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.r2(double precision[], double precision[], double precision[]) IS 'Coefficient of determination (sklearn r2_score); NaN for fewer than two samples';

------------------------------------------------------------------------------
-- Uncertainty of probability rows, for active learning
------------------------------------------------------------------------------
CREATE FUNCTION mlops.entropy(probs json, base double precision DEFAULT 2)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_entropy_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.entropy(json, double precision) IS
'Entropy of each probability row (-sum p log p / log base; zero probabilities contribute 0)';

CREATE FUNCTION mlops.least_confidence(probs json)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_least_confidence_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.least_confidence(json) IS '1 - the largest probability, for each row';

CREATE FUNCTION mlops.margin(probs json)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_margin_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.margin(json) IS 'Largest minus second-largest probability, for each row (small = uncertain)';

CREATE FUNCTION mlops.softmax(logits json)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_softmax_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.softmax(json) IS 'Softmax of each row of logits (a flat array is one row)';
CREATE FUNCTION mlops.entropy(probs jsonb, base double precision DEFAULT 2)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_entropy_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.entropy(jsonb, double precision) IS
'Entropy of each probability row (-sum p log p / log base; zero probabilities contribute 0)';

CREATE FUNCTION mlops.least_confidence(probs jsonb)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_least_confidence_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.least_confidence(jsonb) IS '1 - the largest probability, for each row';

CREATE FUNCTION mlops.margin(probs jsonb)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_margin_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.margin(jsonb) IS 'Largest minus second-largest probability, for each row (small = uncertain)';

CREATE FUNCTION mlops.softmax(logits jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_softmax_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.softmax(jsonb) IS 'Softmax of each row of logits (a flat array is one row)';
CREATE FUNCTION mlops.entropy(probs double precision[], base double precision DEFAULT 2)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_entropy_float8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.entropy(double precision[], double precision) IS
'Entropy of one probability row (-sum p log p / log base; zero probabilities contribute 0)';

CREATE FUNCTION mlops.least_confidence(probs double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_least_confidence_float8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.least_confidence(double precision[]) IS '1 - the largest probability of one row';

CREATE FUNCTION mlops.margin(probs double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_margin_float8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.margin(double precision[]) IS 'Largest minus second-largest probability of one row';

CREATE FUNCTION mlops.softmax(logits double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'mlops_softmax_float8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.softmax(double precision[]) IS 'Softmax of one row of logits';

------------------------------------------------------------------------------
-- Confusion states and row-wise aggregates
------------------------------------------------------------------------------

CREATE TYPE mlops.confusion;

CREATE FUNCTION mlops.confusion_in(cstring) RETURNS mlops.confusion
AS 'MODULE_PATHNAME', 'mlops_confusion_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_in(cstring) IS 'Input of mlops.confusion: {"labels": [...], "matrix": [[...]]}';

CREATE FUNCTION mlops.confusion_out(mlops.confusion) RETURNS cstring
AS 'MODULE_PATHNAME', 'mlops_confusion_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_out(mlops.confusion) IS 'Output of mlops.confusion: {"labels": [...], "matrix": [[...]]}';

CREATE TYPE mlops.confusion (
    INPUT = mlops.confusion_in,
    OUTPUT = mlops.confusion_out,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE mlops.confusion IS
'A confusion state: labels and weighted counts (rows true labels, columns predicted); every classification metric accepts one';

CREATE CAST (mlops.confusion AS jsonb) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION mlops.confusion_combine(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_combine(internal, internal) IS 'Combine function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_serialize(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'mlops_confusion_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_serialize(internal) IS 'Serialize function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_deserialize(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_deserialize(bytea, internal) IS 'Deserialize function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_final(internal) RETURNS mlops.confusion
AS 'MODULE_PATHNAME', 'mlops_confusion_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_final(internal) IS 'Final function of mlops.confusion_agg';

CREATE FUNCTION mlops.accuracy_combine(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_accuracy_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_combine(internal, internal) IS 'Combine function of mlops.accuracy_agg';
CREATE FUNCTION mlops.accuracy_serialize(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'mlops_accuracy_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_serialize(internal) IS 'Serialize function of mlops.accuracy_agg';
CREATE FUNCTION mlops.accuracy_deserialize(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_accuracy_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_deserialize(bytea, internal) IS 'Deserialize function of mlops.accuracy_agg';
CREATE FUNCTION mlops.accuracy_final(internal) RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_accuracy_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_final(internal) IS 'Final function of mlops.accuracy_agg';

CREATE FUNCTION mlops.confusion_trans(internal, text, text) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, text, text) IS 'Transition function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_trans(internal, text, text, double precision) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, text, text, double precision) IS 'Transition function of the weighted mlops.confusion_agg';
CREATE AGGREGATE mlops.confusion_agg(y_true text, y_pred text) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(text, text) IS
'Confusion state of one prediction per row (rows with a NULL label are skipped); feed it to any classification metric';
CREATE AGGREGATE mlops.confusion_agg(y_true text, y_pred text, sample_weight double precision) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(text, text, double precision) IS
'Weighted confusion state of one prediction per row';

CREATE FUNCTION mlops.accuracy_trans(internal, text, text) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_accuracy_trans_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_trans(internal, text, text) IS 'Transition function of mlops.accuracy_agg';
CREATE AGGREGATE mlops.accuracy_agg(y_true text, y_pred text) (
    SFUNC = mlops.accuracy_trans, STYPE = internal, FINALFUNC = mlops.accuracy_final,
    COMBINEFUNC = mlops.accuracy_combine, SERIALFUNC = mlops.accuracy_serialize,
    DESERIALFUNC = mlops.accuracy_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.accuracy_agg(text, text) IS
'Share of rows whose prediction equals the label (rows with a NULL label are skipped)';

CREATE FUNCTION mlops.confusion_trans(internal, bigint, bigint) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_int8' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, bigint, bigint) IS 'Transition function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_trans(internal, bigint, bigint, double precision) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_int8' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, bigint, bigint, double precision) IS 'Transition function of the weighted mlops.confusion_agg';
CREATE AGGREGATE mlops.confusion_agg(y_true bigint, y_pred bigint) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(bigint, bigint) IS
'Confusion state of one prediction per row (rows with a NULL label are skipped); feed it to any classification metric';
CREATE AGGREGATE mlops.confusion_agg(y_true bigint, y_pred bigint, sample_weight double precision) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(bigint, bigint, double precision) IS
'Weighted confusion state of one prediction per row';

CREATE FUNCTION mlops.accuracy_trans(internal, bigint, bigint) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_accuracy_trans_int8' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_trans(internal, bigint, bigint) IS 'Transition function of mlops.accuracy_agg';
CREATE AGGREGATE mlops.accuracy_agg(y_true bigint, y_pred bigint) (
    SFUNC = mlops.accuracy_trans, STYPE = internal, FINALFUNC = mlops.accuracy_final,
    COMBINEFUNC = mlops.accuracy_combine, SERIALFUNC = mlops.accuracy_serialize,
    DESERIALFUNC = mlops.accuracy_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.accuracy_agg(bigint, bigint) IS
'Share of rows whose prediction equals the label (rows with a NULL label are skipped)';

CREATE FUNCTION mlops.confusion_trans(internal, boolean, boolean) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_bool' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, boolean, boolean) IS 'Transition function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_trans(internal, boolean, boolean, double precision) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_bool' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, boolean, boolean, double precision) IS 'Transition function of the weighted mlops.confusion_agg';
CREATE AGGREGATE mlops.confusion_agg(y_true boolean, y_pred boolean) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(boolean, boolean) IS
'Confusion state of one prediction per row (rows with a NULL label are skipped); feed it to any classification metric';
CREATE AGGREGATE mlops.confusion_agg(y_true boolean, y_pred boolean, sample_weight double precision) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(boolean, boolean, double precision) IS
'Weighted confusion state of one prediction per row';

CREATE FUNCTION mlops.accuracy_trans(internal, boolean, boolean) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_accuracy_trans_bool' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_trans(internal, boolean, boolean) IS 'Transition function of mlops.accuracy_agg';
CREATE AGGREGATE mlops.accuracy_agg(y_true boolean, y_pred boolean) (
    SFUNC = mlops.accuracy_trans, STYPE = internal, FINALFUNC = mlops.accuracy_final,
    COMBINEFUNC = mlops.accuracy_combine, SERIALFUNC = mlops.accuracy_serialize,
    DESERIALFUNC = mlops.accuracy_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.accuracy_agg(boolean, boolean) IS
'Share of rows whose prediction equals the label (rows with a NULL label are skipped)';

CREATE FUNCTION mlops.confusion_trans(internal, jsonb, jsonb) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_jsonb' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, jsonb, jsonb) IS 'Transition function of mlops.confusion_agg';
CREATE FUNCTION mlops.confusion_trans(internal, jsonb, jsonb, double precision) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_confusion_trans_jsonb' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_trans(internal, jsonb, jsonb, double precision) IS 'Transition function of the weighted mlops.confusion_agg';
CREATE AGGREGATE mlops.confusion_agg(y_true jsonb, y_pred jsonb) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(jsonb, jsonb) IS
'Confusion state of one prediction per row (rows with a NULL label are skipped); feed it to any classification metric';
CREATE AGGREGATE mlops.confusion_agg(y_true jsonb, y_pred jsonb, sample_weight double precision) (
    SFUNC = mlops.confusion_trans, STYPE = internal, FINALFUNC = mlops.confusion_final,
    COMBINEFUNC = mlops.confusion_combine, SERIALFUNC = mlops.confusion_serialize,
    DESERIALFUNC = mlops.confusion_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.confusion_agg(jsonb, jsonb, double precision) IS
'Weighted confusion state of one prediction per row';

CREATE FUNCTION mlops.accuracy_trans(internal, jsonb, jsonb) RETURNS internal
AS 'MODULE_PATHNAME', 'mlops_accuracy_trans_jsonb' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy_trans(internal, jsonb, jsonb) IS 'Transition function of mlops.accuracy_agg';
CREATE AGGREGATE mlops.accuracy_agg(y_true jsonb, y_pred jsonb) (
    SFUNC = mlops.accuracy_trans, STYPE = internal, FINALFUNC = mlops.accuracy_final,
    COMBINEFUNC = mlops.accuracy_combine, SERIALFUNC = mlops.accuracy_serialize,
    DESERIALFUNC = mlops.accuracy_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlops.accuracy_agg(jsonb, jsonb) IS
'Share of rows whose prediction equals the label (rows with a NULL label are skipped)';

-- Every classification metric on a confusion state.
CREATE FUNCTION mlops.accuracy(confusion mlops.confusion, "normalize" boolean DEFAULT true)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_accuracy_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.accuracy(mlops.confusion, boolean) IS 'Accuracy of a confusion state';
CREATE FUNCTION mlops.precision(confusion mlops.confusion, average text DEFAULT 'binary',
                             pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                             zero_division double precision DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_precision_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.precision(mlops.confusion, text, jsonb, jsonb, double precision) IS 'Precision of a confusion state';
CREATE FUNCTION mlops.recall(confusion mlops.confusion, average text DEFAULT 'binary',
                             pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                             zero_division double precision DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_recall_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.recall(mlops.confusion, text, jsonb, jsonb, double precision) IS 'Recall of a confusion state';
CREATE FUNCTION mlops.f1(confusion mlops.confusion, average text DEFAULT 'binary',
                             pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                             zero_division double precision DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_f1_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.f1(mlops.confusion, text, jsonb, jsonb, double precision) IS 'F1 of a confusion state';
CREATE FUNCTION mlops.fbeta(confusion mlops.confusion, beta double precision,
                            average text DEFAULT 'binary', pos_label jsonb DEFAULT '1',
                            labels jsonb DEFAULT NULL, zero_division double precision DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlops_fbeta_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.fbeta(mlops.confusion, double precision, text, jsonb, jsonb, double precision) IS 'F-beta of a confusion state';

CREATE FUNCTION mlops.precision_recall_fscore_support(confusion mlops.confusion,
                            beta double precision DEFAULT 1, average text DEFAULT NULL,
                            pos_label jsonb DEFAULT '1', labels jsonb DEFAULT NULL,
                            zero_division double precision DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_prfs_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.precision_recall_fscore_support(mlops.confusion, double precision, text, jsonb, jsonb, double precision) IS
'Per-label or averaged precision, recall, F-beta and support of a confusion state';

CREATE FUNCTION mlops.confusion_matrix(confusion mlops.confusion, labels jsonb DEFAULT NULL,
                                       "normalize" text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_confusion_matrix_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.confusion_matrix(mlops.confusion, jsonb, text) IS
'The matrix of a confusion state in scikit-learn''s label order, or the order given';

CREATE FUNCTION mlops.classification_report(confusion mlops.confusion, labels jsonb DEFAULT NULL,
                                            zero_division double precision DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_classification_report_confusion' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.classification_report(mlops.confusion, jsonb, double precision) IS
'classification_report (output_dict=True) of a confusion state';

