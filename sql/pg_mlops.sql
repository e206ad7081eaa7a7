-- pg_mlops @EXTVERSION@: ML-ops pipelines inside PostgreSQL.
--
-- This is the hand-edited source of the install script; the Makefile turns it
-- into sql/pg_mlops--@EXTVERSION@.sql.  Objects are schema-qualified and
-- operators spelt out where a hostile search_path could matter.

\echo Use "CREATE EXTENSION pg_mlops CASCADE" to load this file. \quit

-- The schema is created by CREATE EXTENSION (schema = mlops in the control
-- file).  Pure functions are for everyone; each later object says who may use
-- it with its own GRANT.
GRANT USAGE ON SCHEMA mlops TO PUBLIC;

COMMENT ON SCHEMA mlops IS 'pg_mlops: metrics, interpolation, detection, datasets and the job queue';

------------------------------------------------------------------------------
-- Information
------------------------------------------------------------------------------

CREATE FUNCTION mlops.version()
RETURNS text
AS 'MODULE_PATHNAME', 'mlops_version'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION mlops.version() IS
'Version of the loaded pg_mlops library (default_version of pg_mlops.control when it was built)';
