-- Classification metrics over json and jsonb arrays.  Expected values are
-- scikit-learn 1.2's, from its documentation examples unless said otherwise.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

-- accuracy_score
SELECT mlops.accuracy('[0, 2, 1, 3]'::json, '[0, 1, 2, 3]'::json);                  -- 0.5
SELECT mlops.accuracy('[0, 2, 1, 3]'::jsonb, '[0, 1, 2, 3]'::jsonb, false);         -- 2
SELECT mlops.accuracy('[[0, 1], [1, 1]]'::json, '[[1, 1], [1, 1]]'::json);          -- 0.5 (subset)
SELECT mlops.accuracy('[1, 1.0, true, 0]'::json, '[1.0, true, 1, false]'::json);    -- 1: numbers by value
SELECT mlops.accuracy('["a", "b", "c"]'::jsonb, '["a", "b", "b"]'::jsonb, true, '[1, 1, 2]'); -- 0.5
SELECT mlops.accuracy('[]'::json, '[]'::json);                                       -- NaN
SELECT mlops.accuracy('[]'::json, '[]'::json, false);                                -- 0
SELECT mlops.accuracy('["\u00e9t\u00e9", "x"]'::json, '["été", "y"]'::json);         -- escapes decoded: 0.5

-- precision_score / recall_score / f1_score / fbeta_score
SELECT mlops.precision('[0, 1, 2, 0, 1, 2]'::json, '[0, 2, 1, 0, 0, 1]'::json, average => a) AS p,
       mlops.recall('[0, 1, 2, 0, 1, 2]'::json, '[0, 2, 1, 0, 0, 1]'::json, average => a) AS r,
       mlops.f1('[0, 1, 2, 0, 1, 2]'::jsonb, '[0, 2, 1, 0, 0, 1]'::jsonb, average => a) AS f1,
       mlops.fbeta('[0, 1, 2, 0, 1, 2]'::jsonb, '[0, 2, 1, 0, 0, 1]'::jsonb, 0.5, average => a) AS f05
FROM unnest(ARRAY['macro', 'micro', 'weighted']) a;
SELECT mlops.f1('[0, 1, 1, 0]'::json, '[0, 1, 0, 0]'::json);                         -- binary: 0.666...
SELECT mlops.precision('["spam", "ham", "spam"]'::json, '["spam", "spam", "ham"]'::json, pos_label => '"spam"'); -- 0.5
SELECT mlops.recall('[2, 5, 5, 2]'::jsonb, '[5, 5, 2, 2]'::jsonb, pos_label => '5');  -- 0.5
-- zero_division: a class never predicted
SELECT mlops.precision_recall_fscore_support('[0, 1, 2, 0, 1, 2]'::json, '[0, 0, 0, 0, 0, 0]'::json) AS zd0;
SELECT mlops.precision_recall_fscore_support('[0, 1, 2, 0, 1, 2]'::json, '[0, 0, 0, 0, 0, 0]'::json,
       zero_division => 1) AS zd1;
SELECT mlops.precision_recall_fscore_support('[0, 1, 2, 0, 1, 2]'::json, '[0, 0, 0, 0, 0, 0]'::json,
       average => 'macro', zero_division => 'NaN') AS zd_nan_left_out;
-- labels: order given, labels absent from the data count zero
SELECT mlops.precision_recall_fscore_support('[0, 1, 2, 0, 1, 2]'::jsonb, '[0, 2, 1, 0, 0, 1]'::jsonb,
       labels => '[2, 0, 7]') AS given_labels;
SELECT mlops.f1('[0, 1, 2, 0, 1, 2]'::jsonb, '[0, 2, 1, 0, 0, 1]'::jsonb, average => 'macro', labels => '[0]');
-- multilabel indicator rows
SELECT mlops.precision_recall_fscore_support('[[0,0,0],[1,1,1],[0,1,1]]'::json, '[[0,0,0],[1,1,1],[1,1,0]]'::json) AS multilabel;
SELECT a, mlops.f1('[[0,0,0],[1,1,1],[0,1,1]]'::json, '[[0,0,0],[1,1,1],[1,1,0]]'::json, average => a, zero_division => 1)
FROM unnest(ARRAY['micro', 'macro', 'weighted', 'samples']) a;
-- string labels, averages
SELECT mlops.precision_recall_fscore_support('["cat", "dog", "pig", "cat", "dog", "pig"]'::json,
       '["cat", "pig", "dog", "cat", "cat", "dog"]'::json, average => 'macro') AS strings_macro;
-- sample weights
SELECT mlops.f1('[0, 1, 1, 0, 1]'::json, '[0, 1, 0, 0, 1]'::json, sample_weight => '[1, 2, 3, 0, 0.5]');

-- confusion_matrix
SELECT mlops.confusion_matrix('[2, 0, 2, 2, 0, 1]'::json, '[0, 0, 2, 2, 0, 2]'::json);
SELECT mlops.confusion_matrix('["cat", "ant", "cat", "cat", "ant", "bird"]'::jsonb,
       '["ant", "ant", "cat", "cat", "ant", "cat"]'::jsonb, labels => '["ant", "bird", "cat"]');
SELECT mlops.confusion_matrix('[0, 1, 0, 1]'::json, '[1, 1, 1, 0]'::json);
SELECT mlops.confusion_matrix('[0, 1, 0, 1]'::json, '[1, 1, 1, 0]'::json, "normalize" => 'true');
SELECT mlops.confusion_matrix('[0, 1, 0, 1]'::json, '[1, 1, 1, 0]'::json, labels => '[1, 0]', sample_weight => '[1, 2, 3, 4]');
SELECT mlops.confusion_matrix('[]'::json, '[]'::json);

-- classification_report
SELECT jsonb_pretty(mlops.classification_report('[0, 1, 2, 2, 2]'::json, '[0, 0, 2, 2, 1]'::json));
SELECT mlops.classification_report('[1, 1, 1]'::jsonb, '[1, 1, 0]'::jsonb, labels => '[1, 2, 3]') -> 'micro avg' AS micro_avg_when_labels_given;
SELECT mlops.classification_report('[[1,0],[0,1]]'::jsonb, '[[1,1],[0,1]]'::jsonb) ? 'samples avg' AS multilabel_has_samples_avg;

-- NULL data gives NULL; NULL options mean "not given"
SELECT mlops.accuracy(NULL::json, '[1]') IS NULL AS null_y_true,
       mlops.f1('[1]'::json, NULL) IS NULL AS null_y_pred,
       mlops.accuracy('[1, 0]'::json, '[1, 1]'::json, NULL, NULL) AS null_options,
       mlops.precision_recall_fscore_support('[1, 0]'::json, '[1, 1]'::json, labels => NULL) ->> 'labels' AS all_labels;

-- Bad input: every one is an error with an SQLSTATE, as scikit-learn raises.
\set VERBOSITY sqlstate
SELECT mlops.accuracy('[1, 2, 3]'::json, '[1, 2]'::json);
\set VERBOSITY default
SELECT mlops.accuracy('[1, 2, 3]'::json, '[1, 2]'::json);
SELECT mlops.accuracy('[0.5, 1]'::json, '[1, 1]'::json);
SELECT mlops.accuracy('[0.5, 1.5]'::json, '[1.5, 0.5]'::json);
SELECT mlops.accuracy('[1, "a"]'::jsonb, '[1, 1]'::jsonb);
SELECT mlops.accuracy('["a", "b"]'::json, '[1, 2]'::json);
SELECT mlops.accuracy('[1, null]'::json, '[1, 1]'::json);
SELECT mlops.accuracy('[1, [2]]'::json, '[1, 1]'::json);
SELECT mlops.accuracy('[{"a": 1}]'::jsonb, '[1]'::jsonb);
SELECT mlops.accuracy('[[1], [0]]'::json, '[[1], [1]]'::json);
SELECT mlops.accuracy('[[1, 0], [0]]'::json, '[[1, 1], [1, 0]]'::json);
SELECT mlops.accuracy('[[1, 2], [0, 1]]'::json, '[[1, 1], [1, 0]]'::json);
SELECT mlops.accuracy('[[1, 0], [0, 1]]'::json, '[1, 0]'::json);
SELECT mlops.accuracy('{"y": [1]}'::json, '[1]'::json);
SELECT mlops.accuracy('1'::jsonb, '[1]'::jsonb);
SELECT mlops.accuracy('[1e400]'::json, '[1]'::json);
SELECT mlops.accuracy('[1, 0]'::json, '[1, 1]'::json, true, '[1]');
SELECT mlops.accuracy('[1, 0]'::json, '[1, 1]'::json, true, '[0, 0]');
SELECT mlops.f1('[0, 1, 2]'::json, '[0, 1, 1]'::json);
SELECT mlops.f1('["spam", "ham"]'::json, '["spam", "spam"]'::json);
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, average => 'average');
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, average => NULL);
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, average => 'samples');
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, zero_division => 0.5);
SELECT mlops.fbeta('[0, 1]'::json, '[0, 1]'::json, -1);
SELECT mlops.fbeta('[0, 1]'::json, '[0, 1]'::json, NULL);
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, pos_label => '[1]');
SELECT mlops.f1('[[0, 1]]'::json, '[[0, 1]]'::json);
SELECT mlops.f1('[[0, 1]]'::json, '[[0, 1]]'::json, average => 'macro', labels => '[2]');
SELECT mlops.f1('[[0, 1]]'::json, '[[0, 1]]'::json, average => 'macro', labels => '[-1]');
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, average => 'macro', labels => '[]');
SELECT mlops.f1('[0, 1]'::json, '[0, 1]'::json, average => 'macro', labels => '["a"]');
SELECT mlops.confusion_matrix('[[0, 1]]'::json, '[[0, 1]]'::json);
SELECT mlops.confusion_matrix('[0, 1]'::json, '[0, 1]'::json, labels => '[5]');
SELECT mlops.confusion_matrix('[0, 1]'::json, '[0, 1]'::json, "normalize" => 'rows');

-- Untyped literals call the text forms (read as jsonb); json, jsonb, float8[] and confusion
-- arguments still call their own forms.
SELECT mlops.accuracy('[1,0,1]', '[1,1,1]') AS accuracy,
       mlops.precision('[1,0,1]', '[1,1,1]') AS precision,
       mlops.recall('["a","b"]', '["a","a"]', pos_label => '"a"') AS recall,
       mlops.f1('[0,1,2]', '[0,2,1]', average => 'macro', labels => '[0, 1]') AS f1,
       mlops.fbeta('[1,0,1]', '[1,1,1]', 2) AS fbeta;
SELECT mlops.precision_recall_fscore_support('[1,0,1]', '[1,1,1]') AS prfs,
       mlops.confusion_matrix('[1,0,1]', '[1,1,1]', sample_weight => '[1,2,3]') AS matrix;
SELECT mlops.classification_report('["x","y"]', '["x","x"]') -> 'x' AS report_x;
SELECT mlops.accuracy('[1,0,1]', '[1,1,1]', false, '[1, 2, 3]') AS weighted_correct;
SELECT mlops.accuracy('[1,0,1]'::json, '[1,1,1]') AS json_first,
       mlops.accuracy('[1,0,1]', '[1,1,1]'::jsonb) AS jsonb_second,
       mlops.accuracy('{"labels": [0, 1], "matrix": [[1, 0], [1, 1]]}') AS confusion_literal;
SELECT p.oid::regprocedure AS text_form, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p
WHERE p.pronamespace = 'mlops'::regnamespace AND p.proargtypes[0] = 'text'::regtype
  AND p.proname IN ('accuracy', 'precision', 'recall', 'f1', 'fbeta', 'precision_recall_fscore_support',
                    'confusion_matrix', 'classification_report')
ORDER BY 1::text;
SELECT mlops.accuracy('[1,0', '[1,1]');                                              -- bad JSON: an error

-- Booleans keep their spelling as labels when every label is one (numpy keeps an array of
-- booleans as booleans); mixed with numbers they are the numbers 0 and 1.
SELECT mlops.confusion_matrix('[true, false, true]'::jsonb, '[true, true, true]'::jsonb);
SELECT mlops.confusion_matrix('[true, false]'::json, '[1, 1]'::json);
SELECT mlops.classification_report('[true, false]', '[true, true]') - 'macro avg' - 'weighted avg' AS report;
SELECT mlops.precision_recall_fscore_support('[false, true]', '[false, false]') -> 'labels' AS prfs_labels;
