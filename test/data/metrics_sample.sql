-- test/data/metrics_sample.sql — sample rows of mlops.results for the demo and the tests:
-- several models, two rows with equal timestamps (ties go to the highest id), a model whose
-- newest row is malformed, and a model of string labels.  Run after CREATE EXTENSION pg_mlops.
INSERT INTO mlops.results (id, model_id, y_true, y_pred, "timestamp") VALUES
  -- model a: an old row, then two rows at the same newest time; id 3 wins the tie
  (1, '00000000-0000-0000-0000-00000000000a', '[0, 1, 1, 0]', '[0, 0, 0, 0]', '2026-01-01 10:00'),
  (2, '00000000-0000-0000-0000-00000000000a', '[0, 1, 1, 0]', '[0, 1, 0, 0]', '2026-01-02 10:00'),
  (3, '00000000-0000-0000-0000-00000000000a', '[0, 1, 1, 0, 1]', '[0, 1, 1, 0, 0]', '2026-01-02 10:00'),
  -- model b: multiclass
  (4, '00000000-0000-0000-0000-00000000000b', '[0, 1, 2, 0, 1, 2]', '[0, 2, 1, 0, 0, 1]', '2026-01-02 09:00'),
  -- model c: its newest row is malformed (lengths differ)
  (5, '00000000-0000-0000-0000-00000000000c', '[1, 1]', '[1, 1]', '2026-01-01 00:00'),
  (6, '00000000-0000-0000-0000-00000000000c', '[1, 0, 1]', '[1, 0]', '2026-01-03 00:00'),
  -- model d: string labels
  (7, '00000000-0000-0000-0000-00000000000d', '["spam", "ham", "spam", "ham"]', '["spam", "spam", "spam", "ham"]', '2026-01-02 12:00'),
  -- model e: regression
  (8, '00000000-0000-0000-0000-00000000000e', '[3, -0.5, 2, 7]', '[2.5, 0.0, 2, 8]', '2026-01-02 12:00');
SELECT setval('mlops.results_id_seq', 100);
