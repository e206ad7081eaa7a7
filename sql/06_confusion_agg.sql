-- Row-wise aggregates: mlops.confusion_agg over text, bigint, boolean and jsonb labels, the
-- mlops.confusion type, every metric on a confusion state, and a Parallel Aggregate plan.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

CREATE TABLE preds (id int, t text, p text, ti bigint, pi bigint, tb boolean, pb boolean, tj jsonb, pj jsonb, w float8);
INSERT INTO preds VALUES
  (1, 'cat', 'cat', 0, 0, false, false, '0', '0', 1),
  (2, 'dog', 'pig', 1, 2, true, false, '1', '2', 2),
  (3, 'pig', 'dog', 2, 1, true, true, '2', '1', 1),
  (4, 'cat', 'cat', 0, 0, false, false, '0.0', '0', 1),
  (5, 'dog', 'cat', 1, 0, true, false, '1', '0', 0.5),
  (6, 'pig', 'dog', 2, 1, false, true, '2', '1', 1),
  (7, NULL, 'dog', NULL, 1, NULL, true, NULL, '1', 1);

SELECT mlops.confusion_agg(t, p) FROM preds;
SELECT mlops.confusion_agg(ti, pi) FROM preds;
SELECT mlops.confusion_agg(tb, pb) FROM preds;
SELECT mlops.confusion_agg(tj, pj) FROM preds;
SELECT mlops.confusion_agg(t, p, w) FROM preds;
SELECT mlops.confusion_agg(t, p) FROM preds WHERE false;
SELECT mlops.confusion_agg(t, p)::jsonb -> 'labels' AS as_jsonb FROM preds;

-- Every metric accepts a state and agrees with the same data as arrays.
WITH s AS (SELECT mlops.confusion_agg(t, p) c FROM preds WHERE t IS NOT NULL),
     a AS (SELECT json_agg(t ORDER BY id) yt, json_agg(p ORDER BY id) yp FROM preds WHERE t IS NOT NULL)
SELECT mlops.accuracy(c) = mlops.accuracy(yt, yp) AS accuracy,
       mlops.accuracy(c, false) AS correct,
       mlops.f1(c, average => 'macro') = mlops.f1(yt, yp, average => 'macro') AS f1_macro,
       mlops.precision(c, average => 'weighted') = mlops.precision(yt, yp, average => 'weighted') AS precision_weighted,
       mlops.recall(c, average => 'micro') = mlops.recall(yt, yp, average => 'micro') AS recall_micro,
       mlops.fbeta(c, 2, average => 'macro') = mlops.fbeta(yt, yp, 2, average => 'macro') AS fbeta,
       mlops.precision_recall_fscore_support(c) = mlops.precision_recall_fscore_support(yt::jsonb, yp::jsonb) AS prfs,
       mlops.confusion_matrix(c) = mlops.confusion_matrix(yt, yp) AS matrix,
       mlops.classification_report(c) = mlops.classification_report(yt, yp) AS report
FROM s, a;
SELECT mlops.f1(mlops.confusion_agg(tb, pb)) AS binary_f1 FROM preds;
SELECT mlops.recall(mlops.confusion_agg(t, p), pos_label => '"dog"', average => 'binary') FROM preds;
SELECT mlops.f1(mlops.confusion_agg(t, p), average => 'macro', labels => '["cat", "dog"]') FROM preds;
SELECT mlops.confusion_matrix(mlops.confusion_agg(ti, pi), labels => '[2, 0]', "normalize" => 'all') FROM preds;
SELECT mlops.accuracy_agg(t, p) AS text_acc, mlops.accuracy_agg(ti, pi) AS int_acc,
       mlops.accuracy_agg(tb, pb) AS bool_acc, mlops.accuracy_agg(tj, pj) AS jsonb_acc FROM preds;
SELECT mlops.accuracy_agg(t, p) FROM preds WHERE false;

-- The type reads its own output and refuses anything else.
SELECT '{"labels": ["a", "b"], "matrix": [[1, 2], [3, 4]]}'::mlops.confusion;
SELECT mlops.recall('{"labels": [0, 1], "matrix": [[5, 1], [2, 8]]}'::mlops.confusion);
SELECT '{"labels": [], "matrix": []}'::mlops.confusion;
SELECT '[1, 2]'::mlops.confusion;
SELECT '{"labels": [1, 1], "matrix": [[1, 0], [0, 1]]}'::mlops.confusion;
SELECT '{"labels": [1, 2], "matrix": [[1, 0]]}'::mlops.confusion;
SELECT '{"labels": [1, 2], "matrix": [[1, 0], [0]]}'::mlops.confusion;
SELECT '{"labels": [1, 2], "matrix": [[1, -1], [0, 1]]}'::mlops.confusion;
SELECT '{"labels": [1.5], "matrix": [[1]]}'::mlops.confusion;
SELECT '{"labels": [1]}'::mlops.confusion;

-- Bad rows
SELECT mlops.confusion_agg(tj, pj) FROM (VALUES ('0.5'::jsonb, '1'::jsonb)) v(tj, pj);
SELECT mlops.confusion_agg(tj, pj) FROM (VALUES ('[1]'::jsonb, '1'::jsonb)) v(tj, pj);
SELECT mlops.confusion_agg(tj, pj) FROM (VALUES ('"a"'::jsonb, '1'::jsonb)) v(tj, pj);
-- a JSON null label is an error in every form (an SQL NULL row is skipped, as above)
SELECT mlops.confusion_agg(tj, pj) FROM (VALUES ('1'::jsonb, '1'::jsonb), ('null', '1')) v(tj, pj);
SELECT mlops.confusion_agg(tj, pj, 1.0) FROM (VALUES ('1'::jsonb, 'null'::jsonb)) v(tj, pj);
SELECT mlops.accuracy_agg(tj, pj) FROM (VALUES ('1'::jsonb, 'null'::jsonb)) v(tj, pj);
SELECT mlops.accuracy('[1, null]'::jsonb, '[1, 1]'::jsonb);
-- booleans stay booleans, as numpy keeps them (a mix with numbers is numbers)
SELECT mlops.confusion_agg(tj, pj) FROM (VALUES ('true'::jsonb, 'false'::jsonb), ('false', 'false')) v(tj, pj);
SELECT mlops.confusion_agg(tj, pj) FROM (VALUES ('true'::jsonb, '0'::jsonb), ('false', 'false')) v(tj, pj);
SELECT mlops.classification_report(mlops.confusion_agg(tb, pb)) ? 'True' AS true_key FROM preds;
SELECT '{"labels": [false, true], "matrix": [[1, 0], [2, 3]]}'::mlops.confusion;
SELECT mlops.confusion_agg(t, p, w) FROM (VALUES ('a', 'b', 'Infinity'::float8)) v(t, p, w);
SELECT mlops.accuracy_agg(tj, pj) FROM (VALUES ('1.5'::jsonb, '1'::jsonb)) v(tj, pj);
SELECT mlops.accuracy_agg(tj, pj) FROM (VALUES ('"1"'::jsonb, '1'::jsonb)) v(tj, pj);

-- A large table gets a Parallel Aggregate plan, and the parallel result is the serial one.
CREATE TABLE big AS
  SELECT (i % 7)::bigint AS y, ((i * 13 + i / 3) % 7)::bigint AS p FROM generate_series(1, 200000) i;
ANALYZE big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT mlops.confusion_agg(y, p) FROM big;
EXPLAIN (COSTS OFF) SELECT mlops.accuracy_agg(y, p) FROM big;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT mlops.confusion_agg(y, p) FROM big;
SELECT mlops.confusion_agg(y, p)::text AS par_c, mlops.accuracy_agg(y, p) AS par_a FROM big \gset
SET max_parallel_workers_per_gather = 0;
SELECT :'par_c' = (SELECT mlops.confusion_agg(y, p)::text FROM big) AS same_matrix,
       :par_a = (SELECT mlops.accuracy_agg(y, p) FROM big) AS same_accuracy,
       :par_a = (SELECT avg((y = p)::int) FROM big)::float8 AS accuracy_right,
       (SELECT sum(x::float8) FROM jsonb_path_query(:'par_c'::jsonb, '$.matrix[*][*]') x) = 200000 AS all_rows_counted;
