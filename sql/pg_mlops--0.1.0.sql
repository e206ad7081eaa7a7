-- pg_mlops 0.1.0: ML-ops pipelines inside PostgreSQL.
--
-- This is the hand-edited source of the install script; the Makefile turns it
-- into sql/pg_mlops--0.1.0.sql.  Objects are schema-qualified and
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
-- Spatial interpolation of readings into PostGIS rasters
--
-- Gridders in C (k-d tree, Delaunay, kriging), GDAL's semantics for idw /
-- nearest / linear so values match ST_InterpolateRaster; the result is built
-- as raster WKB in C.  Threads: mlops.compute_threads; size limit:
-- mlops.max_raster_cells.
------------------------------------------------------------------------------
CREATE FUNCTION mlops.interpolate_raster(points geometry, template raster,
                                         method text DEFAULT 'idw', options jsonb DEFAULT '{}')
RETURNS raster
AS 'MODULE_PATHNAME', 'mlops_interpolate_raster'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.interpolate_raster(geometry, raster, text, jsonb) IS
'Interpolates the Z values of points (MultiPointZ, or a collection of PointZ) onto the grid of template: same size, georeference, SRID and band 1 pixel type. Methods idw, nearest, linear, kriging; options as in the README. Empty points give NULL.';

CREATE FUNCTION mlops.interpolate_raster(geoms geometry[], vals double precision[], template raster,
                                         method text DEFAULT 'idw', options jsonb DEFAULT '{}')
RETURNS raster
AS 'MODULE_PATHNAME', 'mlops_interpolate_raster_arrays'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.interpolate_raster(geometry[], double precision[], raster, text, jsonb) IS
'interpolate_raster for array_agg users: geoms[i] is a point whose value is vals[i]; the arrays must have the same length and no NULLs.';

CREATE FUNCTION mlops.make_grid(area geometry, cell_size double precision DEFAULT NULL,
                                max_cells int DEFAULT 10000, min_cell_size double precision DEFAULT 10,
                                pixel_type text DEFAULT '32BF', nodata double precision DEFAULT NULL)
RETURNS raster
AS 'MODULE_PATHNAME', 'mlops_make_grid'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlops.make_grid(geometry, double precision, int, double precision, text, double precision) IS
'An empty one-band raster covering the extent of area (upper-left corner at its xmin, ymax; square cells). Without cell_size the cell is ceil(max(min_cell_size, sqrt(extent area / max_cells))). Pixels are nodata when it is given, else 0.';

CREATE FUNCTION mlops.fit_variogram(points geometry, model text DEFAULT 'spherical', options jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mlops_fit_variogram'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.fit_variogram(geometry, text, jsonb) IS
'The variogram (model, nugget, total sill, practical range) that kriging fits from the Z values of points; options n_lags, max_lag.';

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


------------------------------------------------------------------------------
-- Scheduled metric monitoring (the cyclic-metric service) with pg_cron
--
-- Privileges: nothing here is granted to PUBLIC but the reading functions;
-- the README lists the grants an application role needs.  Scheduling runs as
-- the caller (SECURITY INVOKER), so a pg_cron job runs with its scheduler's
-- privileges, never more.
------------------------------------------------------------------------------

CREATE TABLE mlops.results (
    id bigserial PRIMARY KEY,
    model_id uuid NOT NULL,
    y_true json NOT NULL,
    y_pred json NOT NULL,
    "timestamp" timestamp NOT NULL DEFAULT now()
);
CREATE INDEX results_model_newest ON mlops.results (model_id, "timestamp" DESC, id DESC);
COMMENT ON TABLE mlops.results IS
'Predictions and true labels per model, as json arrays; the default source of scheduled metrics (newest row by "timestamp", ties broken by the highest id)';

CREATE TABLE mlops.metrics_executions (
    id bigserial PRIMARY KEY,
    model_id uuid NOT NULL UNIQUE,
    cron_expression text NOT NULL,
    metric text NOT NULL DEFAULT 'accuracy',
    source text NOT NULL DEFAULT 'mlops.results',
    options jsonb NOT NULL DEFAULT '{}',
    cron_job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mlops.metrics_executions IS
'One metric schedule per model: its cron expression, metric, source table and options, and the pg_cron job that runs it';

CREATE TABLE mlops.metric_values (
    id bigserial PRIMARY KEY,
    model_id uuid NOT NULL,
    metric text NOT NULL,
    value double precision,
    n_samples bigint,
    source_row_id bigint,
    details jsonb NOT NULL DEFAULT '{}',
    computed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX metric_values_model_newest ON mlops.metric_values (model_id, computed_at DESC, id DESC);
COMMENT ON TABLE mlops.metric_values IS
'Every computed metric value, kept as history (the original service kept only the last one)';

-- pg_dump keeps the rows users put in these tables.
SELECT pg_catalog.pg_extension_config_dump('mlops.results', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.results_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.metrics_executions', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.metrics_executions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.metric_values', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.metric_values_id_seq', '');

CREATE FUNCTION mlops.metric_names()
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT m FROM (VALUES ('accuracy'), ('mae'), ('mse'), ('rmse'), ('r2')) v(m)
    UNION ALL
    SELECT f || s FROM unnest(ARRAY['precision', 'recall', 'f1']) f,
                       unnest(ARRAY['', '_binary', '_micro', '_macro', '_weighted', '_samples']) s
$$;
COMMENT ON FUNCTION mlops.metric_names() IS
'The metric names mlops.schedule_metric and mlops.compute_metric accept';

-- mlops.metric_source resolves a schedule's source table and columns, checked
-- and quoted, for mlops.schedule_metric (at scheduling) and mlops.compute_metric
-- (at every run: the table may have changed since).
CREATE FUNCTION mlops.metric_source(source regclass, options jsonb,
    OUT relation text, OUT model_column text, OUT y_true_column text, OUT y_pred_column text,
    OUT time_column text, OUT id_column text, OUT data_type text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    col text;
    typ text;
    names text[] := ARRAY['model_column', 'y_true_column', 'y_pred_column', 'time_column', 'id_column'];
    defaults text[] := ARRAY['model_id', 'y_true', 'y_pred', 'timestamp', 'id'];
    found_cols text[] := ARRAY[]::text[];
    types text[] := ARRAY[]::text[];
BEGIN
    IF jsonb_typeof(options) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF NOT (k = ANY (names || ARRAY['pos_label', 'zero_division'])) THEN
            RAISE EXCEPTION 'unknown option "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Valid options are model_column, y_true_column, y_pred_column, time_column, id_column, pos_label and zero_division.';
        END IF;
    END LOOP;
    SELECT format('%I.%I', n.nspname, c.relname) INTO relation
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = source AND c.relkind IN ('r', 'p', 'v', 'm', 'f');
    IF relation IS NULL THEN
        RAISE EXCEPTION 'source % is not a table or view', source
            USING ERRCODE = 'wrong_object_type';
    END IF;
    FOR i IN 1 .. array_length(names, 1) LOOP
        IF options ? names[i] AND jsonb_typeof(options -> names[i]) IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'option % must be a column name (a JSON string)', names[i]
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        col := coalesce(options ->> names[i], defaults[i]);
        SELECT format_type(a.atttypid, NULL) INTO typ
        FROM pg_attribute a
        WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        IF typ IS NULL THEN
            RAISE EXCEPTION 'source % has no column "%" (%)', relation, col, names[i]
                USING ERRCODE = 'undefined_column',
                      HINT = format('Name the column with options => ''{"%s": "..."}''.', names[i]);
        END IF;
        found_cols := found_cols || quote_ident(col);
        types := types || typ;
    END LOOP;
    IF types[2] NOT IN ('json', 'jsonb') OR types[3] <> types[2] THEN
        RAISE EXCEPTION 'columns % and % of % must both be json or both jsonb, not % and %',
            found_cols[2], found_cols[3], relation, types[2], types[3]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF types[1] <> 'uuid' THEN
        RAISE EXCEPTION 'model column % of % must be uuid, not %', found_cols[1], relation, types[1]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF types[4] NOT IN ('timestamp without time zone', 'timestamp with time zone', 'date') THEN
        RAISE EXCEPTION 'time column % of % must be a timestamp, not %', found_cols[4], relation, types[4]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF types[5] NOT IN ('bigint', 'integer', 'smallint') THEN
        RAISE EXCEPTION 'id column % of % must be an integer, not %', found_cols[5], relation, types[5]
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    model_column := found_cols[1];
    y_true_column := found_cols[2];
    y_pred_column := found_cols[3];
    time_column := found_cols[4];
    id_column := found_cols[5];
    data_type := types[2];
END
$$;
COMMENT ON FUNCTION mlops.metric_source(regclass, jsonb) IS
'Checks a metric source table and its column options; returns the quoted relation and column names';

-- mlops.metric_call returns the SQL call of a metric on two quoted columns.
CREATE FUNCTION mlops.metric_call(metric text, y_true text, y_pred text, options jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn text;
    avg text;
    extra text := '';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM mlops.metric_names() m WHERE m = metric) THEN
        RAISE EXCEPTION 'unknown metric "%"', metric
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Valid metrics are ' || (SELECT string_agg(m, ', ') FROM mlops.metric_names() m) || '.';
    END IF;
    IF metric IN ('accuracy', 'mae', 'mse', 'rmse', 'r2') THEN
        RETURN format('mlops.%I(%s, %s)', metric, y_true, y_pred);
    END IF;
    fn := split_part(metric, '_', 1);
    avg := coalesce(nullif(split_part(metric, '_', 2), ''), 'binary');
    IF options ? 'pos_label' THEN
        -- a JSON scalar: 1, true or "spam", passed as the json/jsonb literal it is
        extra := extra || format(', pos_label => %L', (options -> 'pos_label')::text);
    END IF;
    IF options ? 'zero_division' THEN
        IF jsonb_typeof(options -> 'zero_division') <> 'number' AND options ->> 'zero_division' <> 'NaN' THEN
            RAISE EXCEPTION 'option zero_division must be 0, 1 or "NaN"'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        extra := extra || format(', zero_division => %L::float8', options ->> 'zero_division');
    END IF;
    RETURN format('mlops.%I(%s, %s, average => %L%s)', fn, y_true, y_pred, avg, extra);
END
$$;
COMMENT ON FUNCTION mlops.metric_call(text, text, text, jsonb) IS
'The SQL call of a named metric (accuracy, f1_macro, ...) on two column expressions';

CREATE FUNCTION mlops.schedule_metric(model_id uuid, cron_expression text,
                                      metric text DEFAULT 'accuracy',
                                      source regclass DEFAULT 'mlops.results',
                                      options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src record;
    old_job bigint;
    job bigint;
BEGIN
    IF model_id IS NULL OR cron_expression IS NULL OR metric IS NULL OR source IS NULL OR options IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.schedule_metric must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- everything is checked before anything is written
    src := mlops.metric_source(source, options);
    PERFORM mlops.metric_call(metric, 'y_true', 'y_pred', options);

    SELECT e.cron_job_id INTO old_job
    FROM mlops.metrics_executions e
    WHERE e.model_id OPERATOR(pg_catalog.=) schedule_metric.model_id
    FOR UPDATE;

    -- pg_cron validates the expression; on error it writes nothing, and neither do we
    job := cron.schedule(('mlops_metric_' || model_id::text)::name, cron_expression,
                         format('SELECT mlops.compute_metric(%L::uuid)', model_id));
    IF old_job IS NOT NULL AND old_job <> job THEN
        -- scheduled before by another role: pg_cron keeps jobs per role
        PERFORM cron.unschedule(old_job);
    END IF;

    INSERT INTO mlops.metrics_executions AS e
           (model_id, cron_expression, metric, source, options, cron_job_id)
    VALUES (schedule_metric.model_id, schedule_metric.cron_expression, schedule_metric.metric,
            src.relation, schedule_metric.options, job)
    ON CONFLICT ON CONSTRAINT metrics_executions_model_id_key DO UPDATE
       SET cron_expression = EXCLUDED.cron_expression, metric = EXCLUDED.metric,
           source = EXCLUDED.source, options = EXCLUDED.options,
           cron_job_id = EXCLUDED.cron_job_id, updated_at = now();
    RETURN job;
END
$$;
COMMENT ON FUNCTION mlops.schedule_metric(uuid, text, text, regclass, jsonb) IS
'Computes a metric of a model on a cron schedule (pg_cron job mlops_metric_<model_id>); replaces the model''s schedule; returns the pg_cron job id';

CREATE FUNCTION mlops.unschedule_metric(model_id uuid)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    DELETE FROM mlops.metrics_executions e
    WHERE e.model_id OPERATOR(pg_catalog.=) unschedule_metric.model_id
    RETURNING e.cron_job_id INTO job;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF job IS NOT NULL AND EXISTS (SELECT 1 FROM cron.job j WHERE j.jobid OPERATOR(pg_catalog.=) job) THEN
        PERFORM cron.unschedule(job);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.unschedule_metric(uuid) IS
'Removes a model''s metric schedule and its pg_cron job; false when there was none.  Computed values stay';

CREATE FUNCTION mlops.compute_metric(model_id uuid)
RETURNS mlops.metric_values
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg record;
    src record;
    source_rel regclass;
    row_id bigint;
    row_time jsonb;
    n bigint;
    v double precision;
    result mlops.metric_values;
BEGIN
    SELECT e.metric, e.source, e.options INTO cfg
    FROM mlops.metrics_executions e
    WHERE e.model_id OPERATOR(pg_catalog.=) compute_metric.model_id;
    IF NOT FOUND THEN
        -- no schedule: the defaults of mlops.schedule_metric
        SELECT 'accuracy'::text AS metric, 'mlops.results'::text AS source, '{}'::jsonb AS options INTO cfg;
    END IF;
    source_rel := to_regclass(cfg.source);
    IF source_rel IS NULL THEN
        RAISE EXCEPTION 'source % of the metric schedule of model % no longer exists', cfg.source, model_id
            USING ERRCODE = 'undefined_table';
    END IF;
    src := mlops.metric_source(source_rel, cfg.options);

    -- the newest row by time, ties broken by the highest id
    EXECUTE format(
        'SELECT t.%4$s::bigint, pg_catalog.to_jsonb(t.%5$s), %6$s, pg_catalog.%7$s_array_length(t.%2$s) '
        'FROM %1$s t WHERE t.%3$s OPERATOR(pg_catalog.=) $1 '
        'ORDER BY t.%5$s DESC NULLS LAST, t.%4$s DESC LIMIT 1',
        src.relation, src.y_true_column, src.model_column, src.id_column, src.time_column,
        mlops.metric_call(cfg.metric, 't.' || src.y_true_column, 't.' || src.y_pred_column, cfg.options),
        src.data_type)
    INTO row_id, row_time, v, n
    USING model_id;
    IF row_id IS NULL THEN
        RETURN NULL;
    END IF;

    INSERT INTO mlops.metric_values (model_id, metric, value, n_samples, source_row_id, details)
    VALUES (compute_metric.model_id, cfg.metric, v, n, row_id,
            jsonb_build_object('source', src.relation, 'row_time', row_time))
    RETURNING * INTO result;

    PERFORM pg_notify('mlops_metrics', json_build_object(
        'id', result.id, 'model_id', result.model_id, 'metric', result.metric,
        'value', result.value, 'n_samples', result.n_samples,
        'source_row_id', result.source_row_id, 'computed_at', result.computed_at)::text);
    RETURN result;
END
$$;
COMMENT ON FUNCTION mlops.compute_metric(uuid) IS
'Computes a model''s metric on its newest source row, stores it in mlops.metric_values and sends NOTIFY mlops_metrics; NULL when the model has no rows';

CREATE FUNCTION mlops.latest_metric(model_id uuid)
RETURNS TABLE (model_id uuid, metric text, value double precision, n_samples bigint, computed_at timestamptz)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.model_id, v.metric, v.value, v.n_samples, v.computed_at
    FROM mlops.metric_values v
    WHERE v.model_id OPERATOR(pg_catalog.=) $1
    ORDER BY v.computed_at DESC, v.id DESC
    LIMIT 1
$$;
COMMENT ON FUNCTION mlops.latest_metric(uuid) IS
'The newest computed metric value of a model, or no row (the original GET /results/<model_id>)';

CREATE FUNCTION mlops.metric_history(model_id uuid, since timestamptz DEFAULT NULL)
RETURNS SETOF mlops.metric_values
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.*
    FROM mlops.metric_values v
    WHERE v.model_id OPERATOR(pg_catalog.=) $1
      AND ($2 IS NULL OR v.computed_at OPERATOR(pg_catalog.>=) $2)
    ORDER BY v.computed_at, v.id
$$;
COMMENT ON FUNCTION mlops.metric_history(uuid, timestamptz) IS
'Every computed metric value of a model, oldest first, optionally since a time';

REVOKE ALL ON FUNCTION mlops.schedule_metric(uuid, text, text, regclass, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.unschedule_metric(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.compute_metric(uuid) FROM PUBLIC;

------------------------------------------------------------------------------
-- The job engine: a durable queue served by the background workers and by
-- external workers (mlops.claim_job).  States: pending, running, succeeded,
-- failed, cancelled.  Writes go through the functions below (SECURITY
-- DEFINER, search_path pinned); roles are granted EXECUTE one by one.
------------------------------------------------------------------------------

CREATE TABLE mlops.jobs (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    params jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    progress real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    progress_message text,
    result jsonb,
    error text,
    attempts int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after timestamptz NOT NULL DEFAULT now(),
    depends_on bigint[] NOT NULL DEFAULT '{}',
    run_id text,
    submitted_by oid NOT NULL,
    claimed_by text CHECK (claimed_by IN ('worker', 'external')),
    claimed_role oid,
    worker_pid int,
    lease_until timestamptz,
    heartbeat_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX jobs_runnable ON mlops.jobs (run_after, id) WHERE state = 'pending';
CREATE INDEX jobs_running ON mlops.jobs (id) WHERE state = 'running';
CREATE INDEX jobs_finished ON mlops.jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_run_id ON mlops.jobs (run_id) WHERE run_id IS NOT NULL;
COMMENT ON TABLE mlops.jobs IS
'The durable job queue: one row per job, its state, progress, result or error, attempts and lease';
SELECT pg_catalog.pg_extension_config_dump('mlops.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.jobs_id_seq', '');

-- Every state change and progress step is announced on channel mlops_jobs.
CREATE FUNCTION mlops.jobs_notify() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state
       OR NEW.progress IS DISTINCT FROM OLD.progress
       OR NEW.progress_message IS DISTINCT FROM OLD.progress_message THEN
        PERFORM pg_notify('mlops_jobs', json_build_object(
            'id', NEW.id, 'kind', NEW.kind, 'state', NEW.state, 'progress', NEW.progress,
            'message', NEW.progress_message, 'run_id', NEW.run_id)::text);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION mlops.jobs_notify() IS 'Trigger: NOTIFY mlops_jobs with {id, kind, state, progress} on every change';
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE ON mlops.jobs
    FOR EACH ROW EXECUTE FUNCTION mlops.jobs_notify();

CREATE FUNCTION mlops.validate_job(kind text, params jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'mlops_validate_job'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.validate_job(text, jsonb) IS
'Checks a job''s parameters before it is queued: URLs http(s) only and within mlops.allowed_hosts, paths relative and inside mlops.work_dir';

CREATE FUNCTION mlops.worker_kinds()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['sql', 'download', 'upload', 'extract', 'package']::text[] $$;
COMMENT ON FUNCTION mlops.worker_kinds() IS 'The job kinds the pg_mlops background worker serves; other kinds are for external workers';

CREATE FUNCTION mlops.wake_workers()
RETURNS void
AS 'MODULE_PATHNAME', 'mlops_wake_workers'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mlops.wake_workers() IS
'Wakes the background workers when the current transaction commits (once, however many jobs it queued)';

CREATE FUNCTION mlops.worker_running()
RETURNS boolean
AS 'MODULE_PATHNAME', 'mlops_worker_running'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mlops.worker_running() IS
'True when a pg_mlops background worker serves this database';

CREATE FUNCTION mlops.calling_role()
RETURNS regrole
AS 'MODULE_PATHNAME', 'mlops_calling_role'
LANGUAGE C STABLE;
COMMENT ON FUNCTION mlops.calling_role() IS
'The role the session acts as (after SET ROLE), unchanged inside SECURITY DEFINER functions: whose privileges a job gets';

CREATE FUNCTION mlops.submit_job(kind text, params jsonb DEFAULT '{}',
                                 depends_on bigint[] DEFAULT '{}', max_attempts int DEFAULT 3,
                                 run_after timestamptz DEFAULT now(), run_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing bigint;
    new_id bigint;
BEGIN
    IF kind IS NULL OR params IS NULL OR depends_on IS NULL OR max_attempts IS NULL OR run_after IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.submit_job must not be NULL (but run_id)'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid job kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A kind is a lower-case identifier such as sql, download or train.';
    END IF;
    IF max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts must be at least 1, not %', max_attempts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mlops.validate_job(kind, params);
    IF kind = ANY (mlops.worker_kinds()) AND NOT mlops.worker_running() THEN
        RAISE EXCEPTION 'no pg_mlops worker serves database "%"', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pg_mlops to shared_preload_libraries, set mlops.database_name to this database and restart the server.';
    END IF;
    SELECT d INTO missing FROM unnest(depends_on) d
    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) d) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'job % does not exist', missing
            USING ERRCODE = 'foreign_key_violation', DETAIL = 'depends_on names jobs that must exist.';
    END IF;
    -- the submitter is the calling role (this function runs as its owner)
    INSERT INTO mlops.jobs (kind, params, depends_on, max_attempts, run_after, run_id, submitted_by)
    VALUES (kind, params, depends_on, max_attempts, run_after, run_id, mlops.calling_role())
    RETURNING id INTO new_id;
    PERFORM mlops.wake_workers();
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text) IS
'Queues a job; the worker serves kinds sql and download, external workers any other; returns its id. sql jobs run with the submitter''s privileges';

-- mlops.may_manage_job: the calling role submitted the job (or is a member of
-- that role), or is a superuser.
CREATE FUNCTION mlops.may_manage_job(submitter oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_has_role(mlops.calling_role(), submitter, 'MEMBER')
        OR (SELECT rolsuper FROM pg_roles WHERE oid OPERATOR(pg_catalog.=) mlops.calling_role())
$$;
COMMENT ON FUNCTION mlops.may_manage_job(oid) IS 'True when the calling role may cancel, retry or wait for a job of that submitter';

CREATE FUNCTION mlops.cancel_job(id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j record;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) cancel_job.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT mlops.may_manage_job(j.submitted_by) THEN
        RAISE EXCEPTION 'permission denied to cancel job %', id
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'Only its submitter can cancel a job.';
    END IF;
    IF j.state = 'pending' THEN
        UPDATE mlops.jobs SET state = 'cancelled', finished_at = now(), error = 'cancelled before it ran'
        WHERE jobs.id OPERATOR(pg_catalog.=) cancel_job.id;
        RETURN true;
    ELSIF j.state = 'running' THEN
        -- the worker stops it within a second; an external worker sees it in heartbeat_job
        UPDATE mlops.jobs SET cancel_requested = true WHERE jobs.id OPERATOR(pg_catalog.=) cancel_job.id;
        PERFORM mlops.wake_workers();
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION mlops.cancel_job(bigint) IS
'Cancels a pending job at once, or asks the worker to stop a running one (within a second); false when it had already ended';

CREATE FUNCTION mlops.retry_job(id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j record;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) retry_job.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT mlops.may_manage_job(j.submitted_by) THEN
        RAISE EXCEPTION 'permission denied to retry job %', id
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'Only its submitter can retry a job.';
    END IF;
    IF j.state NOT IN ('failed', 'cancelled') THEN
        RETURN false;
    END IF;
    UPDATE mlops.jobs
    SET state = 'pending', attempts = 0, error = NULL, result = NULL, progress = 0,
        progress_message = NULL, run_after = now(), finished_at = NULL, started_at = NULL,
        cancel_requested = false, claimed_by = NULL, worker_pid = NULL, lease_until = NULL
    WHERE jobs.id OPERATOR(pg_catalog.=) retry_job.id;
    PERFORM mlops.wake_workers();
    RETURN true;
END
$$;
COMMENT ON FUNCTION mlops.retry_job(bigint) IS 'Queues a failed or cancelled job again, with its attempts reset; false for other states';

CREATE FUNCTION mlops.wait_job(id bigint, timeout interval DEFAULT '1 minute')
RETURNS text
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
    st text;
    submitter oid;
BEGIN
    SELECT j.state, j.submitted_by INTO st, submitter FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) wait_job.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT mlops.may_manage_job(submitter) THEN
        RAISE EXCEPTION 'permission denied to wait for job %', id USING ERRCODE = 'insufficient_privilege';
    END IF;
    LOOP
        SELECT j.state INTO st FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) wait_job.id;
        EXIT WHEN st IN ('succeeded', 'failed', 'cancelled') OR clock_timestamp() >= deadline;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN st;
END
$$;
COMMENT ON FUNCTION mlops.wait_job(bigint, interval) IS
'Waits until the job ends or the timeout passes; returns its state (for psql and tests; not in a transaction that must stay short)';

CREATE VIEW mlops.job_progress WITH (security_barrier) AS
SELECT j.id, j.kind, j.state,
       round((j.progress * 100)::numeric, 1) AS percent,
       '[' || repeat('#', (j.progress * 20)::int) || repeat('.', 20 - (j.progress * 20)::int) || '] '
           || lpad(round((j.progress * 100)::numeric)::text, 3) || '%' AS bar,
       j.progress_message AS message, j.attempts, j.max_attempts, j.error,
       j.created_at, j.started_at, j.finished_at, j.run_id
FROM mlops.jobs j
WHERE mlops.may_manage_job(j.submitted_by);
COMMENT ON VIEW mlops.job_progress IS 'Jobs of the calling role with a text progress bar, for people in psql';
GRANT SELECT ON mlops.job_progress TO PUBLIC;

CREATE FUNCTION mlops.claim_job(kinds text[], lease interval DEFAULT '5 minutes')
RETURNS mlops.jobs
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
BEGIN
    IF lease <= interval '0' THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kinds && mlops.worker_kinds() THEN
        RAISE EXCEPTION 'kinds % are served by the pg_mlops worker', mlops.worker_kinds()
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'External workers claim kinds of their own, such as train.';
    END IF;
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'external',
        claimed_role = mlops.calling_role(), worker_pid = pg_backend_pid(),
        lease_until = now() + lease, heartbeat_at = now(), error = NULL
    WHERE u.id = (SELECT c.id FROM mlops.jobs c
                  -- runnable: pending, due, and every dependency succeeded
                  WHERE c.state = 'pending' AND c.kind = ANY (kinds) AND c.run_after <= now()
                    AND NOT EXISTS (SELECT 1 FROM unnest(c.depends_on) d
                                    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs dj
                                                      WHERE dj.id OPERATOR(pg_catalog.=) d AND dj.state = 'succeeded'))
                  ORDER BY c.run_after, c.id
                  FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING u.* INTO j;
    IF j.id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION mlops.claim_job(text[], interval) IS
'For external workers: takes the oldest runnable job of these kinds (FOR UPDATE SKIP LOCKED) with a lease; NULL when there is none';

-- mlops.external_job: the running external job id, checked for the caller.
CREATE FUNCTION mlops.external_job(id bigint)
RETURNS mlops.jobs
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) external_job.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT (pg_has_role(mlops.calling_role(), coalesce(j.claimed_role, j.submitted_by), 'MEMBER')
            OR pg_has_role(mlops.calling_role(), j.submitted_by, 'MEMBER')) THEN
        RAISE EXCEPTION 'permission denied for job %', id
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'Only the role that claimed a job, or its submitter, reports on it.';
    END IF;
    IF j.state <> 'running' THEN
        RAISE EXCEPTION 'job % is %, not running', id, j.state
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Its lease may have expired, or it was cancelled.';
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION mlops.external_job(bigint) IS 'Locks a running job for a progress or outcome report, checking the caller';

CREATE FUNCTION mlops.heartbeat_job(id bigint, lease interval DEFAULT '5 minutes')
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs := mlops.external_job(id);
BEGIN
    UPDATE mlops.jobs SET heartbeat_at = now(), lease_until = now() + lease
    WHERE jobs.id OPERATOR(pg_catalog.=) heartbeat_job.id;
    -- false asks the external worker to stop: the job was cancelled
    RETURN NOT j.cancel_requested;
END
$$;
COMMENT ON FUNCTION mlops.heartbeat_job(bigint, interval) IS
'Extends an external job''s lease; returns false when the job was cancelled and the worker should stop (then call fail_job)';

CREATE FUNCTION mlops.report_progress(id bigint, fraction real, message text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF id IS NULL OR fraction IS NULL THEN
        RAISE EXCEPTION 'id and fraction must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT (fraction >= 0 AND fraction <= 1) THEN
        RAISE EXCEPTION 'progress must be between 0 and 1, not %', fraction USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mlops.external_job(id);
    UPDATE mlops.jobs SET progress = fraction, progress_message = message, heartbeat_at = now()
    WHERE jobs.id OPERATOR(pg_catalog.=) report_progress.id;
END
$$;
COMMENT ON FUNCTION mlops.report_progress(bigint, real, text) IS
'Reports a running job''s progress (0..1) and a message; callable by the job''s claimer and, inside an sql job, by its submitter';

CREATE FUNCTION mlops.complete_job(id bigint, result jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM mlops.external_job(id);
    UPDATE mlops.jobs
    SET state = 'succeeded', result = coalesce(complete_job.result, '{}'), progress = 1, finished_at = now(),
        lease_until = NULL
    WHERE jobs.id OPERATOR(pg_catalog.=) complete_job.id;
END
$$;
COMMENT ON FUNCTION mlops.complete_job(bigint, jsonb) IS 'Ends a running external job successfully with a result';

CREATE FUNCTION mlops.finish_failed(id bigint, error text, retry boolean)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j mlops.jobs;
    delay double precision;
BEGIN
    SELECT * INTO j FROM mlops.jobs WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id FOR UPDATE;
    IF j.cancel_requested THEN
        UPDATE mlops.jobs SET state = 'cancelled', error = finish_failed.error, finished_at = now(),
               lease_until = NULL, worker_pid = NULL
        WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id;
        RETURN 'cancelled';
    END IF;
    IF retry AND j.attempts < j.max_attempts THEN
        -- exponential backoff with jitter: 1 s, 2 s, 4 s ... (x 0.5..1.5), at most 5 minutes
        delay := least(300, power(2, greatest(j.attempts - 1, 0))) * (0.5 + random());
        UPDATE mlops.jobs
        SET state = 'pending', error = finish_failed.error, run_after = now() + delay * interval '1 second',
            claimed_by = NULL, worker_pid = NULL, lease_until = NULL
        WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id;
        RETURN 'pending';
    END IF;
    UPDATE mlops.jobs SET state = 'failed', error = finish_failed.error, finished_at = now(), lease_until = NULL
    WHERE jobs.id OPERATOR(pg_catalog.=) finish_failed.id;
    RETURN 'failed';
END
$$;
COMMENT ON FUNCTION mlops.finish_failed(bigint, text, boolean) IS
'A failed attempt: pending again after a backoff while attempts remain and retry is asked, else failed; cancelled when a cancel was asked';

CREATE FUNCTION mlops.fail_job(id bigint, error text, retry boolean DEFAULT true)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM mlops.external_job(id);
    RETURN mlops.finish_failed(id, coalesce(error, 'failed'), coalesce(retry, true));
END
$$;
COMMENT ON FUNCTION mlops.fail_job(bigint, text, boolean) IS
'Ends a running external job''s attempt with an error; it is retried with backoff while attempts remain (retry => false: failed now). Returns the new state';

-- The background worker's side (called by the worker only).
CREATE FUNCTION mlops.worker_claim(kinds text[], pid int)
RETURNS mlops.jobs
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE mlops.jobs u
    SET state = 'running', attempts = u.attempts + 1, started_at = now(), claimed_by = 'worker',
        worker_pid = pid, heartbeat_at = now(), error = NULL
    WHERE u.id = (SELECT c.id FROM mlops.jobs c
                  -- runnable: pending, due, and every dependency succeeded
                  WHERE c.state = 'pending' AND c.kind = ANY (kinds) AND c.run_after <= now()
                    AND NOT EXISTS (SELECT 1 FROM unnest(c.depends_on) d
                                    WHERE NOT EXISTS (SELECT 1 FROM mlops.jobs dj
                                                      WHERE dj.id OPERATOR(pg_catalog.=) d AND dj.state = 'succeeded'))
                  ORDER BY c.run_after, c.id
                  FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING u.*
$$;
COMMENT ON FUNCTION mlops.worker_claim(text[], int) IS 'The background worker takes the oldest runnable job of its kinds';

CREATE FUNCTION mlops.worker_succeed(id bigint, result jsonb)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE mlops.jobs SET state = 'succeeded', result = $2, progress = 1, finished_at = now()
    WHERE jobs.id OPERATOR(pg_catalog.=) $1 AND state = 'running'
$$;
COMMENT ON FUNCTION mlops.worker_succeed(bigint, jsonb) IS 'The background worker ends a job successfully';

CREATE FUNCTION mlops.worker_maintain(retention interval)
RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int := 0;
    c int;
    j record;
BEGIN
    -- jobs left running by a worker process that is gone (kill -9, crash): an attempt spent
    FOR j IN SELECT id FROM mlops.jobs
             WHERE state = 'running' AND claimed_by = 'worker'
               AND worker_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker')
             FOR UPDATE SKIP LOCKED LOOP
        PERFORM mlops.finish_failed(j.id, 'the worker running it stopped', true);
        n := n + 1;
    END LOOP;
    -- external jobs whose lease expired
    FOR j IN SELECT id FROM mlops.jobs
             WHERE state = 'running' AND claimed_by = 'external' AND lease_until < now()
             FOR UPDATE SKIP LOCKED LOOP
        PERFORM mlops.finish_failed(j.id, 'lease expired', true);
        n := n + 1;
    END LOOP;
    -- a failed or cancelled dependency fails its dependents
    UPDATE mlops.jobs d
    SET state = 'failed', finished_at = now(),
        error = format('dependency %s %s', dep.id, dep.state)
    FROM mlops.jobs dep
    WHERE d.state = 'pending' AND dep.id = ANY (d.depends_on) AND dep.state IN ('failed', 'cancelled');
    GET DIAGNOSTICS c = ROW_COUNT;
    n := n + c;
    -- finished jobs past their retention, in batches
    DELETE FROM mlops.jobs
    WHERE id IN (SELECT id FROM mlops.jobs WHERE finished_at < now() - retention LIMIT 1000);
    GET DIAGNOSTICS c = ROW_COUNT;
    RETURN n + c;
END
$$;
COMMENT ON FUNCTION mlops.worker_maintain(interval) IS
'The background worker''s periodic pass: jobs of dead workers and expired leases back to pending, dependents of failed jobs failed, old jobs deleted';

CREATE FUNCTION mlops.worker_progress(ids bigint[], fractions real[], messages text[])
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE mlops.jobs j SET progress = p.f, progress_message = p.m, heartbeat_at = now()
    FROM unnest($1, $2, $3) p(id, f, m)
    WHERE j.id = p.id AND j.state = 'running'
$$;
COMMENT ON FUNCTION mlops.worker_progress(bigint[], real[], text[]) IS 'The background worker reports the progress of its running transfers';

REVOKE ALL ON mlops.jobs FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.validate_job(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.wake_workers() FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.cancel_job(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.retry_job(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.wait_job(bigint, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.claim_job(text[], interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.heartbeat_job(bigint, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.complete_job(bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.fail_job(bigint, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.finish_failed(bigint, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_claim(text[], int) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_succeed(bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_maintain(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.worker_progress(bigint[], real[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.external_job(bigint) FROM PUBLIC;
-- report_progress stays callable by PUBLIC: an sql job reports on itself as its submitter,
-- and mlops.external_job checks the caller.

------------------------------------------------------------------------------
-- Credentials for storage targets.  Readable by no role but the worker and
-- administrators: the table has no grants, the functions are not granted to
-- PUBLIC, and errors never quote a secret.  Jobs name a credential; a secret
-- inside job params is refused.
------------------------------------------------------------------------------

CREATE TABLE mlops.credentials (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
    kind text NOT NULL CHECK (kind IN ('webdav', 's3', 'http')),
    secret jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON mlops.credentials FROM PUBLIC;
COMMENT ON TABLE mlops.credentials IS
'Secrets of storage targets (WebDAV, S3, HTTP), named by upload jobs; readable by administrators and the worker only';
SELECT pg_catalog.pg_extension_config_dump('mlops.credentials', '');

CREATE FUNCTION mlops.set_credential(name text, kind text, secret jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    required text[];
    allowed text[];
    k text;
BEGIN
    IF name IS NULL OR kind IS NULL OR secret IS NULL THEN
        RAISE EXCEPTION 'arguments of mlops.set_credential must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name !~ '^[A-Za-z0-9_.-]{1,63}$' THEN
        RAISE EXCEPTION 'invalid credential name "%"', name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use letters, digits, "_", "." and "-", at most 63.';
    END IF;
    IF jsonb_typeof(secret) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'secret must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    CASE kind
        WHEN 'webdav' THEN required := '{url,username,password}'; allowed := required;
        WHEN 's3' THEN required := '{endpoint,bucket,access_key,secret_key}';
                       allowed := required || '{region,path_style,part_size_mb}'::text[];
        WHEN 'http' THEN required := '{url}'; allowed := '{url,username,password,bearer_token}';
        ELSE RAISE EXCEPTION 'unknown credential kind "%"', kind
                 USING ERRCODE = 'invalid_parameter_value', HINT = 'Kinds are webdav, s3 and http.';
    END CASE;
    FOREACH k IN ARRAY required LOOP
        IF NOT secret ? k THEN
            RAISE EXCEPTION 'a % credential needs the key "%"', kind, k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOR k IN SELECT jsonb_object_keys(secret) LOOP
        IF NOT k = ANY (allowed) THEN
            -- the key's name only: never a value
            RAISE EXCEPTION 'a % credential has no key "%"', kind, k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Keys are ' || array_to_string(allowed, ', ') || '.';
        END IF;
    END LOOP;
    FOREACH k IN ARRAY '{url,endpoint}'::text[] LOOP
        IF secret ? k AND (secret ->> k) !~* '^https?://' THEN
            RAISE EXCEPTION 'the % of a credential must be an http:// or https:// URL', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    INSERT INTO mlops.credentials AS c (name, kind, secret) VALUES (name, kind, secret)
    ON CONFLICT ON CONSTRAINT credentials_pkey DO UPDATE
        SET kind = EXCLUDED.kind, secret = EXCLUDED.secret, updated_at = now();
END
$$;
COMMENT ON FUNCTION mlops.set_credential(text, text, jsonb) IS
'Creates or replaces a storage credential (webdav: url, username, password; s3: endpoint, bucket, access_key, secret_key, region, path_style, part_size_mb; http: url, username, password, bearer_token). Administrators only';

CREATE FUNCTION mlops.drop_credential(name text)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM mlops.credentials c WHERE c.name OPERATOR(pg_catalog.=) $1 RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mlops.drop_credential(text) IS 'Removes a storage credential; false when there was none. Administrators only';

CREATE VIEW mlops.credential_names AS
    SELECT name, kind, created_at, updated_at FROM mlops.credentials;
COMMENT ON VIEW mlops.credential_names IS 'The names and kinds of the stored credentials, without their secrets';

REVOKE ALL ON FUNCTION mlops.set_credential(text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mlops.drop_credential(text) FROM PUBLIC;
REVOKE ALL ON mlops.credential_names FROM PUBLIC;
