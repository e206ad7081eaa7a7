-- Datasets: split_manifest and split_table — what each method promises (counts, groups, the
-- same split for the same seed, hash sides that never move), and every refusal.
-- Parity with scikit-learn on random cases is test/integration/split_parity.sh.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

-- 3 species x 12 images, 4 specimens (groups) per species
CREATE TEMP TABLE images AS
SELECT i AS image_id, 'sp' || (i % 3) AS species, 'spec' || (i % 12) AS specimen,
       'img' || i || '.png' AS file
FROM generate_series(1, 36) i;
CREATE TEMP TABLE manifest AS
SELECT jsonb_agg(jsonb_build_object('file', file, 'species_label', species, 'specimen', specimen)
                 ORDER BY image_id) AS m
FROM images;

-- the original's rule, with exactly N test images per species (it took N + 1)
SELECT split, item->>'species_label' AS species, count(*)
FROM mlops.split_manifest((SELECT m FROM manifest), '{"label": "species_label", "n_test_per_label": 3, "seed": 42}')
GROUP BY 1, 2 ORDER BY 2, 1;
-- the same seed, the same split; another seed, another
SELECT (SELECT array_agg(ord ORDER BY ord) FROM mlops.split_manifest((SELECT m FROM manifest),
          '{"label": "species_label", "n_test_per_label": 3, "seed": 42}') WHERE split = 'test')
     = (SELECT array_agg(ord ORDER BY ord) FROM mlops.split_manifest((SELECT m FROM manifest),
          '{"label": "species_label", "n_test_per_label": 3, "seed": 42}') WHERE split = 'test') AS same_seed_same_split,
       (SELECT array_agg(ord ORDER BY ord) FROM mlops.split_manifest((SELECT m FROM manifest),
          '{"label": "species_label", "n_test_per_label": 3, "seed": 42}') WHERE split = 'test')
     <> (SELECT array_agg(ord ORDER BY ord) FROM mlops.split_manifest((SELECT m FROM manifest),
          '{"label": "species_label", "n_test_per_label": 3, "seed": 43}') WHERE split = 'test') AS other_seed_other_split;
-- ord follows the input, item is the item
SELECT ord, item->>'file' AS file FROM mlops.split_manifest((SELECT m FROM manifest), '{}') WHERE ord <= 3 ORDER BY ord;
-- stratified by test_size: 25% of each species
SELECT split, item->>'species_label' AS species, count(*)
FROM mlops.split_manifest((SELECT m FROM manifest), '{"label": "species_label", "test_size": 0.25}')
GROUP BY 1, 2 ORDER BY 2, 1;
-- a count, and train_size leaving items unused
SELECT split, count(*) FROM mlops.split_manifest((SELECT m FROM manifest), '{"test_size": 5, "train_size": 20}')
GROUP BY 1 ORDER BY 1;
-- grouped: no specimen on both sides
SELECT count(*) AS specimens_on_both_sides FROM (
  SELECT item->>'specimen' FROM mlops.split_manifest((SELECT m FROM manifest),
    '{"label": "species_label", "group": "specimen", "test_size": 0.25, "seed": 1}')
  GROUP BY 1 HAVING count(DISTINCT split) > 1) x;
SELECT count(*) AS specimens_on_both_sides FROM (
  SELECT item->>'specimen' FROM mlops.split_manifest((SELECT m FROM manifest), '{"group": "specimen", "test_size": 0.25}')
  GROUP BY 1 HAVING count(DISTINCT split) > 1) x;
-- folds: every item in one fold, folds of equal size, no specimen in two folds
SELECT fold, count(*), bool_and(split IS NULL) AS split_is_null
FROM mlops.split_manifest((SELECT m FROM manifest), '{"label": "species_label", "folds": 3, "seed": 5}')
GROUP BY 1 ORDER BY 1;
SELECT count(*) AS specimens_in_two_folds FROM (
  SELECT item->>'specimen' FROM mlops.split_manifest((SELECT m FROM manifest),
    '{"label": "species_label", "group": "specimen", "folds": 4}')
  GROUP BY 1 HAVING count(DISTINCT fold) > 1) x;
-- hash: adding items never moves an earlier one
WITH a AS (SELECT item->>'file' AS f, split FROM mlops.split_manifest((SELECT m FROM manifest),
             '{"method": "hash", "id": "file", "test_size": 0.3, "seed": 9}')),
     b AS (SELECT item->>'file' AS f, split FROM mlops.split_manifest(
             (SELECT m || '[{"file": "new1.png"}, {"file": "new2.png"}]'::jsonb FROM manifest),
             '{"method": "hash", "id": "file", "test_size": 0.3, "seed": 9}'))
SELECT count(*) AS kept, count(*) FILTER (WHERE a.split <> b.split) AS moved FROM a JOIN b USING (f);
-- multilabel: an array per item, iterative stratification
SELECT count(*), count(DISTINCT split) FROM mlops.split_manifest(
  (SELECT jsonb_agg(jsonb_build_object('id', i, 'tags', CASE WHEN i % 2 = 0 THEN '["a","b"]'::jsonb ELSE '["b"]' END))
   FROM generate_series(1, 20) i), '{"label": "tags", "test_size": 0.25}');
-- indicator keys
SELECT split, count(*) FROM mlops.split_manifest(
  (SELECT jsonb_agg(jsonb_build_object('id', i, 'cat', i % 2 = 0, 'dog', i % 3 = 0)) FROM generate_series(1, 24) i),
  '{"label": ["cat", "dog"], "test_size": 0.25}') GROUP BY 1 ORDER BY 1;
-- numbers, strings and booleans are labels; an empty manifest splits into nothing
SELECT count(*) FILTER (WHERE split = 'test') AS test, count(DISTINCT item->'y') FILTER (WHERE split = 'test') AS labels
FROM mlops.split_manifest((SELECT jsonb_agg(jsonb_build_object('i', i, 'y', i % 2)) FROM generate_series(1, 8) i),
                          '{"label": "y", "test_size": 0.5}');
SELECT count(*) FILTER (WHERE split = 'test') AS test, count(DISTINCT item->'y') FILTER (WHERE split = 'test') AS labels
FROM mlops.split_manifest((SELECT jsonb_agg(jsonb_build_object('i', i, 'y', i % 2 = 0)) FROM generate_series(1, 8) i),
                          '{"label": "y", "test_size": 0.5}');
SELECT count(*) FROM mlops.split_manifest('[]', '{}');

-- split_table: straight over a table, the caller's rights
SELECT split, count(*) FROM mlops.split_table('images',
  '{"id": "image_id", "label": "species", "group": "specimen", "test_size": 0.25, "seed": 3}') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS specimens_on_both_sides FROM (
  SELECT i.specimen FROM mlops.split_table('images', '{"id": "image_id", "label": "species", "group": "specimen"}') s
  JOIN images i ON i.image_id::text = s.id GROUP BY 1 HAVING count(DISTINCT s.split) > 1) x;
SELECT (SELECT array_agg(id::int ORDER BY id::int) FROM mlops.split_table('images',
          '{"id": "image_id", "label": "species", "n_test_per_label": 2, "seed": 11}') WHERE split = 'test')
     = (SELECT array_agg(ord ORDER BY ord) FROM mlops.split_manifest((SELECT m FROM manifest),
          '{"label": "species_label", "n_test_per_label": 2, "seed": 11}') WHERE split = 'test') AS table_and_manifest_agree;
-- split_table_ids: the same split as one array of ids a side (unused only when some rows are)
-- or a fold, in the order split_table returns them; text ids as they are; an empty table
SELECT s.split, s.fold, cardinality(s.ids) AS n,
       s.ids = (SELECT array_agg(t.id) FROM mlops.split_table('images', v.o) t
                WHERE t.split IS NOT DISTINCT FROM s.split AND t.fold IS NOT DISTINCT FROM s.fold) AS same_ids
FROM (VALUES (1, '{"id": "image_id", "label": "species", "method": "sklearn", "test_size": 0.25, "seed": 3}'::jsonb),
             (2, '{"id": "image_id", "label": "species", "group": "specimen", "folds": 3}'),
             (3, '{"id": "file", "test_size": 0.25, "train_size": 0.5, "seed": 1}')) v(k, o),
     LATERAL mlops.split_table_ids('images', v.o) s
ORDER BY v.k, s.fold, s.split DESC;
SELECT (SELECT ids[1:3] FROM mlops.split_table_ids('images', '{"id": "file", "folds": 2, "shuffle": false, "method": "sklearn"}')
        WHERE fold = 0) AS first_fold_starts;
-- integer ids of every length and sign, printed in place
CREATE TEMP TABLE int_ids AS
SELECT v AS id FROM unnest(ARRAY[-9223372036854775808, 9223372036854775807, 0, -1, 7, 10,
  -99, 999, 1000, 123456, 1234567, 12345678, -123456789, 4294967296, 100000000000000]::bigint[]) v;
SELECT s.split, s.ids = (SELECT array_agg(t.id) FROM mlops.split_table('int_ids', '{"id": "id", "test_size": 0.4, "seed": 2}') t
                         WHERE t.split = s.split) AS same_ids, s.ids
FROM mlops.split_table_ids('int_ids', '{"id": "id", "test_size": 0.4, "seed": 2}') s ORDER BY 1;
CREATE TEMP TABLE no_rows (id int);
SELECT split, fold, ids FROM mlops.split_table_ids('no_rows', '{"id": "id"}');
DROP TABLE no_rows;
-- rows are read in the table's order even where a parallel scan would be cheaper (its workers
-- interleave rows, and a seeded split depends on the order); the setting it turns off comes back
CREATE TABLE many AS SELECT i AS image_id, 'sp' || i % 7 AS species FROM generate_series(1, 100000) i;
ANALYZE many;
CREATE TEMP TABLE serial_split AS SELECT split, ids FROM mlops.split_table_ids('many',
  '{"id": "image_id", "label": "species", "method": "sklearn", "test_size": 0.2, "seed": 42}');
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT image_id, species FROM many;
SELECT s.split, s.ids = p.ids AS same_ids FROM serial_split s
JOIN mlops.split_table_ids('many', '{"id": "image_id", "label": "species", "method": "sklearn", "test_size": 0.2, "seed": 42}') p
USING (split) ORDER BY 1;
SHOW synchronize_seqscans;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE many;
-- each column kind is read as the manifest form reads the same value in JSON: the same split
CREATE TABLE kinds AS
SELECT i AS iid, i::bigint * 1000000000000 AS wide, 'img' || i AS tid, i::numeric AS nid,
       i % 3 AS n, (i % 3)::float8 AS f, (i % 3)::numeric AS num, (i % 3)::smallint AS s,
       i % 2 = 0 AS b, 'sp' || i % 3 AS t, (i / 3)::text AS g
FROM generate_series(1, 30) i;
SELECT l AS label,
       (SELECT array_agg(id::int ORDER BY id::int) FROM mlops.split_table('kinds',
          jsonb_build_object('id', 'iid', 'label', l, 'group', 'g', 'test_size', 0.3, 'seed', 4)) WHERE split = 'test')
     = (SELECT array_agg((item->>'iid')::int ORDER BY (item->>'iid')::int) FROM mlops.split_manifest(
          (SELECT jsonb_agg(to_jsonb(k) ORDER BY iid) FROM kinds k),
          jsonb_build_object('id', 'iid', 'label', l, 'group', 'g', 'test_size', 0.3, 'seed', 4)) WHERE split = 'test') AS agrees
FROM unnest(ARRAY['n', 'f', 'num', 's', 'b', 't']) l;
-- ids come back as the column prints them, whatever their kind
SELECT c AS id_column, (SELECT count(*) FROM mlops.split_table('kinds', jsonb_build_object('id', c)) s
                        JOIN kinds k ON s.id = CASE c WHEN 'iid' THEN k.iid::text WHEN 'wide' THEN k.wide::text
                                                      WHEN 'tid' THEN k.tid ELSE k.nid::text END) AS matched
FROM unnest(ARRAY['iid', 'wide', 'tid', 'nid']) c;
-- a repeated id is refused whatever its kind (integers in a narrow or a wide range, text, numeric)
INSERT INTO kinds (iid, wide, tid, nid, t, g) VALUES (7, 7000000000000, 'img7', 7, 'sp1', '100');
SELECT * FROM mlops.split_table('kinds', '{"id": "iid"}');
SELECT * FROM mlops.split_table('kinds', '{"id": "wide"}');
SELECT * FROM mlops.split_table('kinds', '{"id": "tid"}');
SELECT * FROM mlops.split_table('kinds', '{"id": "nid"}');
-- a null label, a fractional label, a null group: the manifest form's errors
UPDATE kinds SET iid = 31 WHERE g = '100';
SELECT * FROM mlops.split_table('kinds', '{"id": "iid", "label": "n"}');
UPDATE kinds SET n = 1, f = 1.5 WHERE g = '100';
SELECT * FROM mlops.split_table('kinds', '{"id": "iid", "label": "f"}');
UPDATE kinds SET g = NULL WHERE iid = 31;
SELECT * FROM mlops.split_table('kinds', '{"id": "iid", "label": "n", "group": "g"}');
DROP TABLE kinds;

-- refusals
SELECT * FROM mlops.split_manifest('{"a": 1}', '{}');
SELECT * FROM mlops.split_manifest('[1, 2]', '{}');
SELECT * FROM mlops.split_manifest('[{"a": 1}]', '[]');
SELECT * FROM mlops.split_manifest('[{"a": 1}]', '{"labels": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}]', '{"method": "magic"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}]', '{"method": "stratified"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}]', '{"method": "group"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"test_size": 0}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"test_size": 1.5}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"test_size": "NaN"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"test_size": 2}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"seed": -1}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"seed": 1.5}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"folds": 1}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"folds": 2, "test_size": 0.5}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 1}]', '{}');
SELECT * FROM mlops.split_manifest('[{"a": 1, "f": "x"}, {"a": 2, "f": "x"}]', '{"id": "f"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"b": 2}]', '{"label": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": null}]', '{"label": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": "x"}]', '{"label": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": 1.5}, {"a": 2}]', '{"label": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": {"b": 1}}, {"a": 2}]', '{"label": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": [1, 2]}]', '{"label": "a"}');
SELECT * FROM mlops.split_manifest('[{"a": 1, "i": 1}, {"a": 1, "i": 2}, {"a": 2, "i": 3}, {"a": 2, "i": 4}]',
                                   '{"label": "a", "n_test_per_label": 2}');
SELECT * FROM mlops.split_manifest('[{"a": 1}]', '{"n_test_per_label": 1}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"label": ["x", "y"]}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"label": []}');
SELECT * FROM mlops.split_manifest('[{"a": 1}, {"a": 2}]', '{"shuffle": "yes"}');
SELECT * FROM mlops.split_table('images', '{"label": "species"}');
SELECT * FROM mlops.split_table('images', '{"id": "nope"}');
SELECT * FROM mlops.split_table('images', '{"id": "image_id", "group": "nope"}');
SELECT * FROM mlops.split_table_ids('images', '{"label": "species"}');
SELECT * FROM mlops.split_table_ids('images', '{"id": "image_id", "labels": "species"}');
CREATE ROLE mlops_split_stranger;
SET ROLE mlops_split_stranger;
SELECT * FROM mlops.split_table('images', '{"id": "image_id"}');
RESET ROLE;
DROP ROLE mlops_split_stranger;
