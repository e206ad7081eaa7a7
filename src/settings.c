/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The mlops.* configuration parameters.  Each one is documented in the
 *	  README's configuration table; the short and long descriptions here
 *	  are what SHOW ALL and pg_settings print.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "jobs/jobs.h"
#include "jobs/netpolicy.h"
#include "pg_mlops.h"

char	   *mlops_database_name = NULL;
char	   *mlops_allowed_hosts = NULL;
char	   *mlops_denied_networks = NULL;
int			mlops_max_sql_jobs = 2;
int			mlops_sql_job_timeout_s = 3600;
int			mlops_sql_session_idle_ms = 2000;
int			mlops_sql_session_max_jobs = 100;
int			mlops_max_job_result_kb = 1024;
int			mlops_max_transfers = 8;
int			mlops_job_retention_s = 7 * 24 * 3600;
int			mlops_run_retention_s = 90 * 24 * 3600;
int			mlops_max_download_bytes_mb = 10240;
int			mlops_max_extract_bytes_mb = 10240;
int			mlops_max_extract_entries = 100000;
int			mlops_max_list_entries = 10000;
char	   *mlops_work_dir = NULL;
int			mlops_workers = 1;
int			mlops_compute_threads = 0;
int			mlops_max_raster_cells = 25000000;
double		mlops_probability_tolerance = 1e-6;
char	   *mlops_user_agent = NULL;
double		mlops_geocode_rate = 1.0;
int			mlops_geocode_cache_max_age_s = 30 * 24 * 3600;

static bool CheckNonEmpty(char **newval, void **extra, GucSource source);
static bool CheckAllowedHosts(char **newval, void **extra, GucSource source);
static bool CheckDeniedNetworks(char **newval, void **extra, GucSource source);

/*
 * mlops_define_settings defines the mlops.* parameters.
 *
 * The worker's restart-only settings (database_name, workers) can only be
 * defined while shared_preload_libraries is processed: PostgreSQL refuses a
 * PGC_POSTMASTER variable later, and without preloading there is no worker for
 * them to configure.  In that case the prefix is not reserved either, so a
 * configuration file that names them still loads.  When preloaded the prefix
 * is reserved, so that a misspelt "mlops.wokers" is an error, not a silent
 * placeholder.
 */
void
mlops_define_settings(void)
{
	DefineCustomStringVariable("mlops.work_dir",
							   "Directory under which pg_mlops jobs read and write files.",
							   "A relative path is taken under the data directory. Paths given to jobs may not leave it.",
							   &mlops_work_dir,
							   "pg_mlops",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   CheckNonEmpty, NULL, NULL);

	DefineCustomStringVariable("mlops.allowed_hosts",
							   "Hosts that download and upload jobs may reach; empty allows every host.",
							   "A comma-separated list of host (ports 80 and 443), host:port or host:* entries, matched exactly (case-insensitive) at submit and at every redirect.",
							   &mlops_allowed_hosts,
							   "",
							   PGC_SIGHUP,
							   0,
							   CheckAllowedHosts, NULL, NULL);

	DefineCustomStringVariable("mlops.denied_networks",
							   "Networks that jobs may never connect to, whatever a name resolves to.",
							   "A comma-separated list of CIDRs (IPv4 and IPv6), checked at every connection; by default 0.0.0.0/8, link-local and cloud metadata addresses.",
							   &mlops_denied_networks,
							   "0.0.0.0/8,169.254.0.0/16,fe80::/10,fd00:ec2::254",
							   PGC_SIGHUP,
							   0,
							   CheckDeniedNetworks, NULL, NULL);

	DefineCustomIntVariable("mlops.max_sql_jobs",
							"sql jobs a worker runs at once, each in a session of its own.",
							"Each running sql job takes one of max_worker_processes; transfers do not wait for them.",
							&mlops_max_sql_jobs,
							2, 1, MLOPS_MAX_SQL_SESSIONS,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.sql_job_timeout",
							"How long an sql job may run unless its params give a timeout.",
							"A job that runs longer is cancelled and fails; 0 means no limit.",
							&mlops_sql_job_timeout_s,
							3600, 0, INT_MAX / 1000,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.sql_session_idle",
							"How long a job's session waits, after its job, for the next sql job of the same role.",
							"A warm session takes the next job of its role after a reset (DISCARD ALL and more); 0: every job starts a session of its own.",
							&mlops_sql_session_idle_ms,
							2000, 0, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.sql_session_max_jobs",
							"Most sql jobs one session runs before it ends.",
							"A warm session ends after this many jobs, whatever else holds.",
							&mlops_sql_session_max_jobs,
							100, 1, 1000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_job_result_size",
							"Largest result an sql job may return.",
							"A larger result fails the job with a clear error.",
							&mlops_max_job_result_kb,
							1024, 1, 256 * 1024,
							PGC_SIGHUP,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_transfers",
							"Downloads and uploads a worker runs at once.",
							"All of a worker's transfers share one libcurl multi handle.",
							&mlops_max_transfers,
							8, 1, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.job_retention",
							"How long finished jobs are kept before the worker deletes them.",
							"Deleted in batches of 1000 by the worker's periodic pass; 0 keeps them forever.",
							&mlops_job_retention_s,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.run_retention",
							"How long ended pipeline runs are kept before the worker deletes them.",
							"Runs and their steps are kept apart from their jobs (mlops.job_retention); 0 keeps them forever.",
							&mlops_run_retention_s,
							90 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_download_size",
							"Largest body a download job accepts.",
							"A larger response fails the job without a retry; 0 means no limit.",
							&mlops_max_download_bytes_mb,
							10240, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_extract_bytes",
							"Most uncompressed data an extract job accepts from one archive.",
							"Counted as the archive is decompressed, not from its headers, so zip bombs are caught; 0 means no limit.",
							&mlops_max_extract_bytes_mb,
							10240, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_extract_entries",
							"Most entries an extract job accepts in one archive.",
							"An archive with more entries is refused before anything is written; 0 means no limit.",
							&mlops_max_extract_entries,
							100000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_list_entries",
							"Most objects a list job returns.",
							"A listing with more objects fails the job; a job's params.max_entries may lower it, not raise it.",
							&mlops_max_list_entries,
							10000, 1, 10000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("mlops.user_agent",
							   "User-Agent that names this deployment in the http and geocode jobs' requests.",
							   "Sent as \"<mlops.user_agent> pg_mlops/<version>\"; say who runs it and how to reach them (Nominatim's usage policy asks for it). geocode jobs refuse to run while it is empty; http jobs then send \"pg_mlops/<version>\".",
							   &mlops_user_agent,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomRealVariable("mlops.geocode_rate",
							 "Most geocode requests per second to one host, across all workers.",
							 "Nominatim's usage policy allows 1. The pacing is kept in the table mlops.geocode_pacing.",
							 &mlops_geocode_rate,
							 1.0, 0.01, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.geocode_cache_max_age",
							"How old a cached geocode answer may be and still be used.",
							"Older answers are asked again (and replaced); 0 never uses the cache. A job's params.max_age may lower it.",
							&mlops_geocode_cache_max_age_s,
							30 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.compute_threads",
							"Threads a pg_mlops computation (interpolation, smoothing) may use in one backend.",
							"0 means one per online CPU. The threads do pure computation only; the backend checks for a cancel between chunks.",
							&mlops_compute_threads,
							0, 0, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("mlops.max_raster_cells",
							"Most cells a raster built by pg_mlops may have.",
							"mlops.interpolate_raster and mlops.make_grid refuse larger grids; a cell takes about 16 bytes while it is built.",
							&mlops_max_raster_cells,
							25000000, 1, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("mlops.probability_tolerance",
							 "How far a probability row's sum may be from 1, per class.",
							 "mlops.entropy, mlops.least_confidence, mlops.margin and mlops.select_batch accept a row when |sum - 1| <= this value times the number of classes; select_batch's option tolerance overrides it for one call.",
							 &mlops_probability_tolerance,
							 1e-6, 0.0, 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("mlops.database_name",
							   "Database the pg_mlops background workers connect to.",
							   "Create the extension in this database; the workers serve its mlops.jobs queue.",
							   &mlops_database_name,
							   "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   CheckNonEmpty, NULL, NULL);

	DefineCustomIntVariable("mlops.workers",
							"Number of pg_mlops background workers.",
							"Each worker is a background worker process; max_worker_processes must leave room for them.",
							&mlops_workers,
							1, 0, 64,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("mlops");
}

/*
 * CheckNonEmpty rejects an empty string for settings that name a database
 * or a directory: an empty work_dir would silently mean the data directory.
 */
static bool
CheckNonEmpty(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("The value must not be empty.");
		return false;
	}
	return true;
}

/*
 * CheckAllowedHosts and CheckDeniedNetworks refuse a malformed
 * mlops.allowed_hosts or mlops.denied_networks when it is set, rather than
 * at the first job.
 */
static bool
CheckNetSetting(const char *hosts, const char *networks)
{
	char		err[256];
	netpolicy  *p = netpolicy_create(hosts, networks, err, sizeof(err));

	if (p == NULL)
	{
		GUC_check_errdetail("%s", err);
		return false;
	}
	netpolicy_free(p);
	return true;
}

static bool
CheckAllowedHosts(char **newval, void **extra, GucSource source)
{
	return CheckNetSetting(*newval ? *newval : "", "");
}

static bool
CheckDeniedNetworks(char **newval, void **extra, GucSource source)
{
	return CheckNetSetting("", *newval ? *newval : "");
}
