-- test/demo.sql — the tour that `make demo` prints, on a throwaway cluster (test/demo.sh).
-- Each feature adds its section here.
\set ON_ERROR_STOP on
\pset footer off
\pset null '(null)'

\echo
\echo '=== 1. Installing pg_mlops: one statement, its requirements come along ==='
\echo 'CREATE EXTENSION pg_mlops CASCADE;'
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops CASCADE;
RESET client_min_messages;
SELECT extname AS extension, extversion AS version,
       extnamespace::regnamespace AS schema
FROM pg_extension
WHERE extname IN ('pg_mlops', 'postgis', 'postgis_raster', 'pg_cron')
ORDER BY extname;

\echo '=== 2. The library version ==='
SELECT mlops.version();

\echo '=== 3. Settings (see the README configuration table) ==='
SELECT name, setting, context AS "changes need", short_desc AS meaning
FROM pg_settings WHERE name LIKE 'mlops.%' ORDER BY name;

\echo '=== 4. The background worker, alive in pg_stat_activity ==='
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    PERFORM pg_stat_clear_snapshot();
    PERFORM 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT pid, backend_type, datname AS database, wait_event AS waiting_on,
       date_trunc('second', now() - backend_start) AS up_for
FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';
