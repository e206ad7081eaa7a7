-- Active learning: select_batch over a pool — the per-row strategies against a sort of the
-- whole pool, exclusions, quotas, the same batch for the same seed, coreset against its
-- definition, and every refusal.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

-- 1,000 items, 3 classes: probabilities from a seeded formula, embeddings in 2-D
CREATE TEMP TABLE pool AS
SELECT i::bigint AS id,
       ARRAY[a / (a + b + c), b / (a + b + c), c / (a + b + c)]::float8[] AS probs,
       ARRAY[(i % 37)::float4, (i % 23)::float4] AS emb,
       i % 10 = 0 AS labelled,
       i % 7 = 0 AS handed_out
FROM (SELECT i, 1 + (i * 7919 % 101)::float8 AS a, 1 + (i * 104729 % 89)::float8 AS b,
             1 + (i * 1299709 % 97)::float8 AS c FROM generate_series(1, 1000) i) x;

-- entropy: the same ids as sorting the whole pool by entropy (ties to the lowest id)
SELECT (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 10}'))
     = (SELECT array_agg(id) FROM (SELECT id FROM pool
          ORDER BY -(SELECT sum(CASE WHEN p > 0 THEN p * ln(p) ELSE 0 END) FROM unnest(probs) p) DESC, id LIMIT 10) x)
       AS entropy_is_the_top_10;
SELECT rank, id, round(score::numeric, 6) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 3}');
-- least confidence and margin
SELECT (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool',
          '{"id": "id", "probs": "probs", "k": 10, "strategy": "least_confidence"}'))
     = (SELECT array_agg(id) FROM (SELECT id FROM pool ORDER BY 1 - (SELECT max(p) FROM unnest(probs) p) DESC, id LIMIT 10) x)
       AS least_confidence_is_the_top_10;
SELECT (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 10, "strategy": "margin"}'))
     = (SELECT array_agg(id) FROM (SELECT id FROM pool ORDER BY
          (SELECT p[3] - p[2] FROM (SELECT array_agg(q ORDER BY q) AS p FROM unnest(probs) q) s), id LIMIT 10) x)
       AS margin_is_the_smallest_10;
-- rows labelled or handed out are never picked
SELECT count(*) AS picked_excluded FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 100, "exclude": "handed_out"}') s
JOIN pool USING (id) WHERE pool.handed_out;
-- per-class quotas: at most 2 of each predicted class
SELECT k.class, count(*) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 10, "per_class": 2}') s
JOIN LATERAL (SELECT array_position(probs, (SELECT max(p) FROM unnest(probs) p)) AS class FROM pool WHERE pool.id = s.id) k ON true
GROUP BY 1 ORDER BY 1;
-- random: the same seed, the same batch, whatever the pool's order; another seed, another
CREATE TEMP VIEW pool_reversed AS SELECT * FROM pool ORDER BY id DESC;
SELECT (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "k": 5, "strategy": "random", "seed": 7}'))
     = (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool_reversed', '{"id": "id", "k": 5, "strategy": "random", "seed": 7}'))
       AS same_seed_same_batch,
       (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "k": 5, "strategy": "random", "seed": 7}'))
     <> (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "k": 5, "strategy": "random", "seed": 8}'))
       AS other_seed_other_batch;
-- coreset: the first pick is the pool item farthest from the labelled set
SELECT (SELECT id FROM mlops.select_batch('pool', '{"id": "id", "embedding": "emb", "labelled": "labelled", "k": 5, "strategy": "coreset"}') WHERE rank = 1)
     = (SELECT p.id FROM pool p WHERE NOT p.labelled
        ORDER BY (SELECT min((p.emb[1] - l.emb[1]) ^ 2 + (p.emb[2] - l.emb[2]) ^ 2) FROM pool l WHERE l.labelled) DESC, p.id LIMIT 1)
       AS coreset_first_pick_is_the_farthest;
SELECT count(DISTINCT id), bool_or(l.labelled) AS picked_a_labelled_row
FROM mlops.select_batch('pool', '{"id": "id", "embedding": "emb", "labelled": "labelled", "k": 20, "strategy": "coreset"}') s
JOIN pool l USING (id);
-- badge and cluster_margin: k distinct rows, the same for the same seed
SELECT count(DISTINCT id) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "embedding": "emb", "k": 15, "strategy": "badge", "seed": 1}');
SELECT (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "embedding": "emb", "k": 15, "strategy": "badge", "seed": 1}'))
     = (SELECT array_agg(id ORDER BY rank) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "embedding": "emb", "k": 15, "strategy": "badge", "seed": 1}'))
       AS badge_same_seed_same_batch;
SELECT count(DISTINCT id) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "embedding": "emb", "k": 15, "strategy": "cluster_margin", "seed": 1}');
-- k larger than the pool: the whole pool, ranked
SELECT count(*) FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 5000, "exclude": "labelled"}');

-- refusals
CREATE TEMP TABLE bad (id bigint, probs float8[], j jsonb);
INSERT INTO bad VALUES (1, '{0.9,0.9}', '[0.5, 0.5]');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1}');
UPDATE bad SET probs = '{0.5,NaN}';
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1}');
UPDATE bad SET probs = '{0.5,0.5}';
INSERT INTO bad VALUES (2, '{0.2,0.3,0.5}', '[1]');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "j", "k": 1}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "k": 1}');
SELECT * FROM mlops.select_batch('bad', '{"probs": "probs", "k": 1}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs"}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 0}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1, "strategy": "bald"}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1, "strategy": "coreset"}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1, "batch": 3}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "probs", "k": 1, "labelled": "x"}');
SELECT * FROM mlops.select_batch('bad', '{"id": "nope", "probs": "probs", "k": 1}');
SELECT * FROM mlops.select_batch('bad', '{"id": "id", "probs": "id", "k": 1}');
CREATE ROLE mlops_al_stranger;
SET ROLE mlops_al_stranger;
SELECT * FROM mlops.select_batch('pool', '{"id": "id", "probs": "probs", "k": 1}');
RESET ROLE;
DROP ROLE mlops_al_stranger;

-- training history: an external trainer reports one row of metrics per epoch
SELECT mlops.declare_kind('fit_al', 'active-learning training (external)');
SELECT mlops.submit_job('fit_al', '{"epochs": 3, "model": "tiny"}') AS train_job \gset
SELECT lease_token AS lease FROM mlops.claim_job('{fit_al}', lease => '5 minutes') \gset
SELECT mlops.report_metrics(:train_job, :'lease', 0, '{"loss": 0.9, "accuracy": 0.55}');
SELECT mlops.report_metrics(:train_job, :'lease', 1, '{"loss": 0.7, "accuracy": 0.61}');
SELECT mlops.report_metrics(:train_job, :'lease', 2, '{"loss": 0.5, "accuracy": 0.74, "val_loss": null}');
-- a retried epoch replaces its row
SELECT mlops.report_metrics(:train_job, :'lease', 1, '{"loss": 0.65, "accuracy": 0.63}');
SELECT step, metrics FROM mlops.job_metrics(:train_job);
SELECT mlops.complete_job(:train_job, :'lease', '{"model_path": "models/tiny.pkl"}');
-- job_progress shows the owner its job's params and result
SELECT kind, state, params, result FROM mlops.job_progress WHERE id = :train_job;
-- the history outlives the lease: reports after completion are refused
SELECT mlops.report_metrics(:train_job, :'lease', 3, '{"loss": 0.4}');
-- bad reports
SELECT mlops.submit_job('fit_al', '{}') AS train2 \gset
SELECT lease_token AS lease2 FROM mlops.claim_job('{fit_al}') \gset
SELECT mlops.report_metrics(:train2, '00000000-0000-0000-0000-000000000000', 0, '{"loss": 1}');
SELECT mlops.report_metrics(:train2, :'lease2', -1, '{"loss": 1}');
SELECT mlops.report_metrics(:train2, :'lease2', 0, '[1, 2]');
SELECT mlops.report_metrics(:train2, :'lease2', 0, '{}');
SELECT mlops.report_metrics(:train2, :'lease2', 0, '{"loss": "low"}');
SELECT mlops.report_metrics(:train2, 0, '{"loss": 1}');
SELECT count(*) AS rows_of_train2 FROM mlops.job_metrics(:train2);
SELECT mlops.fail_job(:train2, :'lease2', 'stopped by the test', false);
-- another role sees none of it
CREATE ROLE mlops_al_stranger2;
SET ROLE mlops_al_stranger2;
SELECT count(*) AS visible_metrics FROM mlops.job_metrics;
SELECT count(*) AS visible_history FROM mlops.job_metrics(:train_job);
RESET ROLE;
DROP ROLE mlops_al_stranger2;
-- the aggregate under select_batch checks what it is given too
SELECT mlops.select_topk_agg(id, probs, 4, 1, 0, 0, false) FROM pool;
SELECT mlops.select_topk_agg(id, probs, 0, 0, 0, 0, false) FROM pool;
SELECT mlops.select_topk_agg(id, 'x'::text, 0, 1, 0, 0, false) FROM pool;
-- the aggregate runs in parallel (partial heaps merged): the same batch as one process
CREATE TABLE big_pool AS
  SELECT i AS id, (CASE i % 3 WHEN 0 THEN ARRAY[p, (1 - p) / 2, (1 - p) / 2]
                              WHEN 1 THEN ARRAY[(1 - p) / 2, p, (1 - p) / 2]
                              ELSE ARRAY[(1 - p) / 2, (1 - p) / 2, p] END)::float8[] AS probs
  FROM (SELECT i, 0.34 + ((i * 7919) % 1000) / 1520.0 AS p FROM generate_series(1, 20000) i) s;
ANALYZE big_pool;
CREATE TEMP TABLE serial_batch AS
  SELECT * FROM mlops.select_batch('big_pool', '{"id": "id", "probs": "probs", "k": 25}');
CREATE TEMP TABLE serial_per_class AS
  SELECT * FROM mlops.select_batch('big_pool', '{"id": "id", "probs": "probs", "k": 12, "per_class": 3, "strategy": "margin"}');
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT mlops.select_topk_agg(id, probs, 0, 25, 0, 0, false) FROM big_pool;
SELECT (SELECT count(*) FROM serial_batch) AS serial_rows,
       (SELECT count(*) FROM (SELECT * FROM mlops.select_batch('big_pool', '{"id": "id", "probs": "probs", "k": 25}')
                              EXCEPT SELECT * FROM serial_batch) d) AS parallel_differs;
SELECT (SELECT count(*) FROM serial_per_class) AS serial_rows,
       (SELECT count(*) FROM (SELECT * FROM mlops.select_batch('big_pool', '{"id": "id", "probs": "probs", "k": 12, "per_class": 3, "strategy": "margin"}')
                              EXCEPT SELECT * FROM serial_per_class) d) AS parallel_differs;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE big_pool;
-- option normalize: rows that do not sum to 1 (scores, counts) are divided by their sum
CREATE TABLE raw_scores (id bigint, s float8[]);
INSERT INTO raw_scores VALUES (1, '{2, 2}'), (2, '{9, 1}'), (3, '{3, 1}'), (4, '{0, 5}');
SELECT * FROM mlops.select_batch('raw_scores', '{"id": "id", "probs": "s", "k": 2}');
SELECT id, round(score::numeric, 6) AS score, rank FROM mlops.select_batch('raw_scores', '{"id": "id", "probs": "s", "k": 2, "normalize": true}');
SELECT id, round(score::numeric, 6) AS score, rank FROM mlops.select_batch('raw_scores', '{"id": "id", "probs": "s", "k": 2, "normalize": true, "strategy": "margin"}');
INSERT INTO raw_scores VALUES (5, '{0, 0}');
SELECT * FROM mlops.select_batch('raw_scores', '{"id": "id", "probs": "s", "k": 2, "normalize": true}');
UPDATE raw_scores SET s = '{-1, 2}' WHERE id = 5;
SELECT * FROM mlops.select_batch('raw_scores', '{"id": "id", "probs": "s", "k": 2, "normalize": true}');
SELECT * FROM mlops.select_batch('raw_scores', '{"id": "id", "probs": "s", "k": 2, "normalize": "yes"}');
DROP TABLE raw_scores;
-- the tolerance on a row's sum: mlops.probability_tolerance (per class) everywhere,
-- select_batch's option tolerance for one call
CREATE TABLE float32_probs (id bigint, p float4[], e float4[]);
INSERT INTO float32_probs VALUES (1, '{0.5, 0.505}', '{0, 0}'), (2, '{0.9, 0.1}', '{1, 0}'), (3, '{0.3, 0.7}', '{0, 1}');
SELECT * FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2}');
SELECT id, rank FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2, "tolerance": 0.005}');
SELECT id, rank FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2, "tolerance": 0.005, "strategy": "margin"}');
SELECT count(*) FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "embedding": "e", "k": 2, "strategy": "badge"}');
SELECT count(*) FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "embedding": "e", "k": 2, "strategy": "badge", "tolerance": 0.005}');
-- the option reaches parallel workers (force_parallel_mode runs the aggregate in one)
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SELECT id, rank FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2, "tolerance": 0.005}');
RESET force_parallel_mode;
RESET parallel_setup_cost;
SHOW mlops.probability_tolerance;   -- the option did not leak into the session
SELECT * FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2, "tolerance": -0.1}');
SELECT * FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2, "tolerance": 2}');
SELECT * FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2, "tolerance": "loose"}');
SELECT mlops.entropy('[[0.5, 0.505]]'::jsonb);
SELECT mlops.entropy('{0.5, 0.505}'::float8[]);
SET mlops.probability_tolerance = 0.005;
SELECT round(mlops.entropy('{0.5, 0.505}'::float8[])::numeric, 6);
SELECT round((mlops.margin('[[0.5, 0.505]]'::json))[1]::numeric, 6);
SELECT id, rank FROM mlops.select_batch('float32_probs', '{"id": "id", "probs": "p", "k": 2}');
SELECT mlops.entropy('{0.5, 0.52}'::float8[]);
SET mlops.probability_tolerance = -1;
SET mlops.probability_tolerance = 'NaN';
RESET mlops.probability_tolerance;
SELECT mlops.entropy('{NaN, 0.5}'::float8[]);
DROP TABLE float32_probs;
-- entropy over float4[]: once the heap is full, the float4 screen reads each row in place; the
-- batch (ids, order, scores to the bit) is the float8 path's on the same values, and a bad row
-- met there is refused with the same reason
CREATE TEMP TABLE pool32 AS SELECT id, probs::float4[] AS p, probs::float4[]::float8[] AS p8 FROM pool;
SELECT (SELECT array_agg(ROW(id, score) ORDER BY rank) FROM mlops.select_batch('pool32', '{"id": "id", "probs": "p", "k": 10}'))
     = (SELECT array_agg(ROW(id, score) ORDER BY rank) FROM mlops.select_batch('pool32', '{"id": "id", "probs": "p8", "k": 10}'))
       AS float4_batch_is_float8s;
UPDATE pool32 SET p = '{0.5, 0.6, 0.1}', p8 = '{0.5, 0.6, 0.1}'::float4[] WHERE id = 900;
SELECT * FROM mlops.select_batch('pool32', '{"id": "id", "probs": "p", "k": 10}');
SELECT * FROM mlops.select_batch('pool32', '{"id": "id", "probs": "p8", "k": 10}');
UPDATE pool32 SET p = '{0.5, NaN, 0.5}' WHERE id = 900;
SELECT * FROM mlops.select_batch('pool32', '{"id": "id", "probs": "p", "k": 10}');
UPDATE pool32 SET p = '{0.5, 0.5}' WHERE id = 900;
SELECT * FROM mlops.select_batch('pool32', '{"id": "id", "probs": "p", "k": 10}');
DROP TABLE pool32;
