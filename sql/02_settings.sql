-- The mlops.* settings: defaults (the harness sets database_name), contexts, documentation
-- and rejection of bad values.

SELECT name, setting, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'mlops.%' ORDER BY name;

-- Each setting is documented.
SELECT name FROM pg_settings
WHERE name LIKE 'mlops.%' AND (coalesce(short_desc, '') = '' OR coalesce(extra_desc, '') = '');

-- Restart-only settings cannot change in a session, work_dir only in the configuration file.
SET mlops.workers = 2;
SET mlops.database_name = 'other';
SET mlops.work_dir = '/tmp';

-- The prefix is reserved: a misspelt setting is an error, not a placeholder.
SET mlops.wokers = 2;

-- ALTER SYSTEM validates values, and writes nothing when it refuses.
ALTER SYSTEM SET mlops.workers = -1;
ALTER SYSTEM SET mlops.workers = 65;
ALTER SYSTEM SET mlops.workers = 'two';
ALTER SYSTEM SET mlops.work_dir = '';
ALTER SYSTEM SET mlops.database_name = '';
ALTER SYSTEM SET mlops.allowed_hosts = 'files.example.org:http';
ALTER SYSTEM SET mlops.allowed_hosts = 'a.example.org,,b.example.org';
ALTER SYSTEM SET mlops.denied_networks = '169.254.0.0/33';
ALTER SYSTEM SET mlops.denied_networks = 'not-a-network';
ALTER SYSTEM SET mlops.max_sql_jobs = 0;
SELECT count(*) AS pending_changes FROM pg_file_settings
WHERE name LIKE 'mlops.%' AND sourcefile LIKE '%postgresql.auto.conf';

-- work_dir is a file-system path: only superusers and pg_read_all_settings see it.
-- max_raster_cells protects the server's memory: users cannot raise it.
CREATE ROLE mlops_regress_nobody;
SET ROLE mlops_regress_nobody;
SET mlops.max_raster_cells = 2000000000;
SET mlops.allowed_hosts = '';
SHOW mlops.work_dir;
SHOW mlops.workers;
RESET ROLE;
DROP ROLE mlops_regress_nobody;
