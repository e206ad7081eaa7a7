-- Regression metrics and uncertainty scores.  Expected values are scikit-learn 1.2's
-- documentation examples, and scipy's entropy / softmax.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

SELECT mlops.mae('[3, -0.5, 2, 7]'::json, '[2.5, 0.0, 2, 8]'::json) AS mae,            -- 0.5
       mlops.mse('[3, -0.5, 2, 7]'::jsonb, '[2.5, 0.0, 2, 8]'::jsonb) AS mse,          -- 0.375
       mlops.rmse('{3, -0.5, 2, 7}'::float8[], '{2.5, 0.0, 2, 8}') AS rmse,          -- 0.612372...
       mlops.r2('[3, -0.5, 2, 7]'::json, '[2.5, 0.0, 2, 8]'::json) AS r2;              -- 0.948608...
SELECT mlops.r2('[1, 2, 3]'::json, '[1, 2, 3]'::json) AS perfect,                     -- 1
       mlops.r2('[1, 2, 3]'::json, '[2, 2, 2]'::json) AS mean_model,                  -- 0
       mlops.r2('[1, 2, 3]'::json, '[3, 2, 1]'::json) AS worse,                       -- -3
       mlops.r2('[2, 2]'::json, '[2, 2]'::json) AS constant_exact,                    -- 1
       mlops.r2('[2, 2]'::json, '[2, 3]'::json) AS constant_missed,                   -- 0
       mlops.r2('[5]'::json, '[4]'::json) AS one_sample;                              -- NaN
SELECT mlops.mae('[1, 2, 3]'::json, '[1, 2, 6]'::json, '[1, 1, 2]') AS weighted_mae, -- 1.5
       mlops.mse('{1, 2, 3}'::float8[], '{1, 2, 6}', '{1, 1, 2}') AS weighted_mse;  -- 4.5

SELECT mlops.entropy('[[0.5, 0.5], [1, 0], [0.25, 0.25, 0.25, 0.25]]'::json) AS entropy_bits,
       mlops.entropy('{0.5, 0.5}'::float8[], 10) AS entropy_base10,
       mlops.entropy('[0, 1]'::jsonb) AS zero_is_zero;
SELECT mlops.least_confidence('[[0.1, 0.7, 0.2], [1, 0]]'::json) AS least_confidence,
       mlops.margin('[[0.1, 0.7, 0.2], [0.5, 0.5]]'::jsonb) AS margin,
       mlops.margin('{1}'::float8[]) AS one_class;
SELECT mlops.softmax('[[1, 2, 3], [1000, 1000]]'::json) AS rows,
       mlops.softmax('[0, 0]'::json) AS flat,
       mlops.softmax('{1, 2, 3}'::float8[]) AS float8_row;
SELECT mlops.entropy(NULL::json) IS NULL AS strict;

-- Bad input
SELECT mlops.mae('[1, 2]'::json, '[1]'::json);
SELECT mlops.mae('[]'::json, '[]'::json);
SELECT mlops.mae('[1, "2"]'::json, '[1, 2]'::json);
SELECT mlops.mae('[1, null]'::jsonb, '[1, 2]'::jsonb);
SELECT mlops.mae('[[1, 2]]'::json, '[[1, 2]]'::json);
SELECT mlops.mae('{1, NaN}'::float8[], '{1, 2}');
SELECT mlops.mae('{1, NULL}'::float8[], '{1, 2}');
SELECT mlops.mae('[1, 2]'::json, '[1, 2]'::json, '[0, 0]');
SELECT mlops.r2('[1, 2]'::json, '[1, 2]'::json, '[1, 2, 3]');
SELECT mlops.entropy('[[0.5, 1.5]]'::json);
SELECT mlops.entropy('[[-0.5, 0.5]]'::json);
-- a row that is not a distribution is refused, in every form
SELECT mlops.entropy('{0.9, 0.9}'::float8[]);
-- shapes: a float8[] is one row and gives one score; json/jsonb take rows (a flat array is a
-- batch of one) and give one score per row; a matrix in a float8[] is refused, not read as one row
SELECT mlops.entropy('{{0.5, 0.5}, {1, 0}}'::float8[]);
SELECT mlops.softmax('{{1, 2}, {3, 4}}'::float8[]);
SELECT mlops.entropy('{0.5, 0.5}'::float8[]) AS one_row_float8,
       mlops.entropy('[0.5, 0.5]'::jsonb) AS flat_jsonb_is_a_batch_of_one,
       mlops.entropy('[[0.5, 0.5], [1, 0]]'::jsonb) AS two_rows_jsonb;
SELECT mlops.least_confidence('[[0.5, 0.5], [0.2, 0.2]]'::jsonb);
SELECT mlops.margin('[[0.3, 0.3]]'::json);
SELECT mlops.entropy('[[0.5, 0.5]]'::json, 1);
SELECT mlops.entropy('[[0.5, 0.5]]'::json, 0);
SELECT mlops.entropy('[[0.5, "a"]]'::json);
SELECT mlops.entropy('[0.5, [0.5]]'::json);
SELECT mlops.softmax('{1, Infinity}'::float8[]);

-- Overflow: an error too large for a double is inf, as scikit-learn 1.2 returns (not NaN).
SELECT mlops.mse('[1e200]', '[-1e200]') AS mse, mlops.rmse('[1e200]'::json, '[-1e200]'::json) AS rmse,
       mlops.mae('[1.7e308]', '[-1.7e308]') AS mae,
       mlops.mae('{1.7e308, 1}'::float8[], '{-1.7e308, 2}', '{1, 2}') AS mae_weighted;
-- untyped literals call the text forms (read as jsonb)
SELECT mlops.mae('[3, -0.5, 2, 7]', '[2.5, 0.0, 2, 8]') AS mae, mlops.mse('[3, -0.5, 2, 7]', '[2.5, 0.0, 2, 8]') AS mse,
       mlops.rmse('[1, 2]', '[1, 4]', '[1, 1]') AS rmse, mlops.r2('[1, 2, 3]', '[1, 2, 3]') AS r2;
-- uncertainty scores of untyped literals (text forms, read as jsonb); a float8[] row still calls its own
SELECT mlops.entropy('[[0.5, 0.5], [1, 0]]') AS entropy, mlops.least_confidence('[[0.25, 0.75]]') AS lc,
       mlops.margin('[[0.25, 0.75]]') AS margin, mlops.softmax('[[0, 0]]') AS softmax,
       mlops.entropy('{0.5, 0.5}'::float8[]) AS entropy_row;
