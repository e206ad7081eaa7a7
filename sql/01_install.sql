-- Installing pg_mlops: required extensions, version, comments, privileges, removal.

-- Without CASCADE the first missing requirement is named.
CREATE EXTENSION pg_mlops;

CREATE EXTENSION pg_mlops CASCADE;

SELECT e.extname, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname IN ('pg_mlops', 'postgis', 'postgis_raster', 'pg_cron')
ORDER BY e.extname;

-- The library's version is the control file's default_version and the installed one.
SELECT mlops.version() = a.default_version AS library_is_control_version,
       mlops.version() = a.installed_version AS library_is_installed_version,
       mlops.version() ~ '^\d+\.\d+\.\d+$' AS looks_like_a_version
FROM pg_available_extensions a WHERE a.name = 'pg_mlops';

-- Every function of the extension has a comment (users read \df+).
SELECT p.oid::regprocedure AS function_without_comment
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_mlops'
JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
WHERE d.deptype = 'e' AND obj_description(p.oid, 'pg_proc') IS NULL;

-- The extension is not relocatable.
ALTER EXTENSION pg_mlops SET SCHEMA public;

-- A role with no privileges can still call the pure functions.
CREATE ROLE mlops_regress_nobody;
SET ROLE mlops_regress_nobody;
SELECT mlops.version() IS NOT NULL AS nobody_can_call_version;
RESET ROLE;
DROP ROLE mlops_regress_nobody;

-- Dropping removes everything; installing again works.
DROP EXTENSION pg_mlops;
SELECT count(*) AS functions_left FROM pg_proc WHERE proname = 'version'
  AND pronamespace IN (SELECT oid FROM pg_namespace WHERE nspname = 'mlops');
CREATE EXTENSION pg_mlops;
SELECT extversion = mlops.version() AS reinstalled FROM pg_extension WHERE extname = 'pg_mlops';
