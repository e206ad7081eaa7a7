-- test/bench/metrics/setup.sql — the benchmark's tables and timer (run by bench.py).
--   bench.labels_json / bench.labels_jsonb: one row, two arrays of 1,000,000 labels 0..9
--   (about 90% of y_pred equal to y_true); bench.labels_10m: 10,000,000 rows of int labels.
--   bench.time_runs(query, runs) runs a one-row query runs times and returns each run's wall
--   time in milliseconds, measured inside the server (no client transfer in it).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

CREATE FUNCTION bench.time_runs(q text, runs int) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  out float8[] := '{}';
  dummy text;
BEGIN
  FOR i IN 1 .. runs LOOP
    t0 := clock_timestamp();
    EXECUTE q INTO dummy;
    out := out || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
  END LOOP;
  RETURN out;
END
$$;

SELECT setseed(0.20240611);
CREATE UNLOGGED TABLE bench.labels_json AS
  SELECT json_agg(t ORDER BY g) AS y_true, json_agg(p ORDER BY g) AS y_pred
  FROM (SELECT g, t, CASE WHEN random() < 0.9 THEN t ELSE floor(random() * 10)::int END AS p
        FROM (SELECT g, floor(random() * 10)::int AS t FROM generate_series(1, 1000000) g) s) s2;
CREATE UNLOGGED TABLE bench.labels_jsonb AS
  SELECT y_true::jsonb AS y_true, y_pred::jsonb AS y_pred FROM bench.labels_json;
-- the same jsonb, TOAST-compressed with lz4 instead of the default pglz: what a user who reads
-- large jsonb arrays often can choose (ALTER TABLE ... ALTER COLUMN ... SET COMPRESSION lz4)
CREATE UNLOGGED TABLE bench.labels_jsonb_lz4 (y_true jsonb COMPRESSION lz4, y_pred jsonb COMPRESSION lz4);
INSERT INTO bench.labels_jsonb_lz4 SELECT y_true, y_pred FROM bench.labels_json;

SELECT setseed(0.5);
CREATE UNLOGGED TABLE bench.labels_10m AS
  SELECT t AS y_true, CASE WHEN random() < 0.9 THEN t ELSE floor(random() * 10)::int END AS y_pred
  FROM (SELECT floor(random() * 10)::int AS t FROM generate_series(1, 10000000)) s;
VACUUM ANALYZE bench.labels_json, bench.labels_jsonb, bench.labels_jsonb_lz4, bench.labels_10m;
