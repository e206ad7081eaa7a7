/*-------------------------------------------------------------------------
 *
 * pg_mlops.h
 *	  Settings and entry points shared by the parts of pg_mlops that talk
 *	  to PostgreSQL (glue and worker).  Kernels never include this file.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MLOPS_H
#define PG_MLOPS_H

#ifndef EXTVERSION
#error "EXTVERSION must be defined by the Makefile (read from pg_mlops.control)"
#endif

/* Settings (src/settings.c); see the README's configuration table. */
extern char *mlops_database_name;
extern char *mlops_work_dir;
extern int	mlops_workers;
extern int	mlops_compute_threads;
extern int	mlops_max_raster_cells;
extern double mlops_probability_tolerance;

extern void mlops_define_settings(void);

/* The palloc-backed allocator kernels get from glue (src/util/palloc_alloc.c). */
struct mlops_allocator;
extern const struct mlops_allocator *mlops_palloc_allocator(void);

/* A PostGIS function found in the schema of a PostGIS type (src/spatial/interpolate_sql.c). */
struct FmgrInfo;
extern void mlops_postgis_function(Oid typid, const char *name, Oid argtype, struct FmgrInfo *flinfo);

/* A numeric option of an options object, as a finite double (src/spatial/interpolate_sql.c). */
struct JsonbValue;
extern double mlops_option_number(const char *key, struct JsonbValue *v);
/* ... that must be a whole number in [lo, hi] (src/spatial/interpolate_sql.c). */
extern double mlops_option_whole(const char *key, struct JsonbValue *v, double lo, double hi);

/*
 * A raster band as doubles for detection, nodata and NaN cells set to fill,
 * after the checks detection makes (src/detect/detect_sql.c).
 */
struct rast_info;
extern double *mlops_read_raster_band(Datum d, int band, double fill, struct rast_info *info);

/* The background worker (src/jobs/worker.c). */
extern void mlops_register_workers(void);
extern char *mlops_work_dir_path(void);

#endif							/* PG_MLOPS_H */
