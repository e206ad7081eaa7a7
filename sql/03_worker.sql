-- The background worker runs when the library is preloaded, in mlops.database_name,
-- visible in pg_stat_activity.

-- Wait (bounded) for the worker: it starts with the server, perhaps after this session.
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    PERFORM pg_stat_clear_snapshot();
    PERFORM 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';
    IF FOUND THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RAISE EXCEPTION 'no pg_mlops worker in pg_stat_activity after 30 seconds';
END
$$;

SELECT backend_type, application_name,
       datname = current_setting('mlops.database_name') AS in_configured_database,
       wait_event_type, wait_event
FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';

SELECT count(*) = current_setting('mlops.workers')::int AS one_process_per_configured_worker
FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker';
