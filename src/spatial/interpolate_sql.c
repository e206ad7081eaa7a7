/*-------------------------------------------------------------------------
 *
 * interpolate_sql.c
 *	  Glue for mlops.interpolate_raster, mlops.make_grid and
 *	  mlops.fit_variogram: geometries and rasters in, a PostGIS raster out.
 *
 *	  Geometries are read as EWKB (PostGIS's ST_AsEWKB, called through fmgr,
 *	  found in the schema of the geometry type) by the ewkb kernel; the
 *	  template raster's header is read from the first bytes of its stored
 *	  form, without detoasting its pixels.  The result is written as raster
 *	  WKB by the raster kernel and turned into a raster by ST_RastFromWKB —
 *	  binary all the way, no text.  The gridding kernels run with
 *	  mlops.compute_threads threads; only this thread calls PostgreSQL, and
 *	  it checks for a query cancel between chunks of rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "util/alloc.h"
#include "spatial/delaunay.h"
#include "spatial/ewkb.h"
#include "spatial/interpolate.h"
#include "spatial/kriging.h"
#include "spatial/parallel.h"
#include "spatial/raster.h"
#include "spatial/smooth.h"
#include "pg_mlops.h"

/* The methods and their options, for parsing and for error messages. */
typedef enum Method
{
	METHOD_IDW,
	METHOD_NEAREST,
	METHOD_LINEAR,
	METHOD_KRIGING
} Method;

static const char *const method_names[] = {"idw", "nearest", "linear", "kriging"};

static const char *const common_options = "nodata, gaussian_sigma, fade_distance, fade_smoothing";

static const char *const method_options[] = {
	"power, smoothing, radius, max_points, min_points",
	"radius",
	"radius",
	"model, nugget, sill, range, max_points, radius, min_points, n_lags, max_lag",
};

/* Everything the options can say, with what was given. */
typedef struct Options
{
	Method		method;
	double		power;
	double		smoothing;
	double		radius;
	int			max_points;
	int			min_points;
	bool		has_nodata;
	double		nodata;
	double		gaussian_sigma;
	bool		has_fade;
	double		fade_distance;
	double		fade_smoothing;
	bool		has_fade_smoothing;
	vario_model model;
	bool		has_nugget,
				has_sill,
				has_range;
	double		nugget,
				sill,
				range;
	int			n_lags;
	double		max_lag;
} Options;

/*
 * CancelRequested is the kernels' cancel callback: it runs in this (the
 * calling) thread between chunks and only reads the flags the signal
 * handlers set.
 */
static bool
CancelRequested(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

/*
 * MakeExec fills the kernels' execution settings from mlops.compute_threads
 * (0: one thread per online CPU).
 */
static void
MakeExec(interp_exec *exec)
{
	int			threads = mlops_compute_threads;

	if (threads <= 0)
	{
		long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

		threads = cpus > 0 ? (int) Min(cpus, PAR_MAX_THREADS) : 1;
	}
	exec->threads = threads;
	exec->cancel = CancelRequested;
	exec->cancel_arg = NULL;
}

/*
 * CheckStatus turns a kernel's status into the matching error; a cancel is
 * raised as the interrupt that caused it.
 */
static void
CheckStatus(interp_status st, const char *what)
{
	switch (st)
	{
		case INTERP_OK:
			return;
		case INTERP_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", what)));
			break;
		case INTERP_CANCELLED:
			CHECK_FOR_INTERRUPTS();
			/* the interrupt was not one that ends the query: still stop */
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling %s", what)));
			break;
		case INTERP_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s: too many points for a global kriging system (at most %d)",
							what, KRIGING_MAX_GLOBAL),
					 errhint("Give options.max_points (for example 16) to krige with the nearest points only.")));
			break;
	}
}

/*
 * PostgisFunction looks up a PostGIS function by name and argument type in
 * the schema of type typid (where PostGIS put its types, whatever the
 * search_path), and prepares a call of it.
 */
static void
PostgisFunction(Oid typid, const char *name, Oid argtype, FmgrInfo *flinfo)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			nsp;
	Oid			fn;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	fn = LookupFuncName(list_make2(makeString(get_namespace_name(nsp)), makeString(pstrdup(name))),
						1, &argtype, true);
	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("PostGIS function %s(%s) not found", name, format_type_be(argtype)),
				 errhint("pg_mlops needs the postgis and postgis_raster extensions.")));
	fmgr_info(fn, flinfo);
}

/* mlops_postgis_function: PostgisFunction for the other glue files (picture_sql.c). */
void
mlops_postgis_function(Oid typid, const char *name, Oid argtype, FmgrInfo *flinfo)
{
	PostgisFunction(typid, name, argtype, flinfo);
}

/*
 * GeometryEwkb returns the EWKB of a geometry datum of type geomtype.
 */
static bytea *
GeometryEwkb(FmgrInfo *asewkb, Datum geom)
{
	return DatumGetByteaPP(FunctionCall1(asewkb, geom));
}

/*
 * EwkbError raises the ewkb kernel's refusal of argument what.
 */
static void
EwkbError(ewkb_error e, const char *what)
{
	ereport(ERROR,
			(errcode(e == EWKB_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: %s", what, ewkb_error_message(e)),
			 e == EWKB_NO_Z ? errhint("Make the value the Z of each point, for example ST_MakePoint(x, y, value), or use the geometry[], float8[] form.") : 0));
}

/*
 * ReadPointsZ reads the points of a geometry datum with their Z as the value
 * into *p and their SRID into *srid; false when there are none.
 */
static bool
ReadPointsZ(Oid geomtype, Datum geom, interp_points *p, int32 *srid)
{
	FmgrInfo	asewkb;
	bytea	   *ewkb;
	ewkb_points_result pts;
	ewkb_error	e;

	PostgisFunction(geomtype, "st_asewkb", geomtype, &asewkb);
	ewkb = GeometryEwkb(&asewkb, geom);
	e = ewkb_points((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), true,
					mlops_palloc_allocator(), &pts);
	if (e != EWKB_OK)
		EwkbError(e, "points");
	p->x = pts.x;
	p->y = pts.y;
	p->v = pts.z;
	p->n = pts.n;
	*srid = pts.srid;
	return pts.n > 0;
}

/*
 * ReadTemplate reads the template raster's header and band 1 from the first
 * bytes of its stored form, and checks that it can be a grid.
 */
static void
ReadTemplate(Datum d, rast_info *info)
{
	struct varlena *v = PG_DETOAST_DATUM_SLICE(d, 0, RAST_SERIALIZED_PREFIX);
	rast_error	e = rast_read_serialized((const uint8 *) v, VARSIZE_ANY(v), info);

	if (e != RAST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template is not a raster pg_mlops can read (%s)",
						e == RAST_TRUNCATED ? "truncated" : e == RAST_BAD_VERSION ? "unknown version" : "unknown pixel type")));
	if (info->nbands < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template raster has no band"),
				 errhint("Give it one, for example ST_AddBand(template, '32BF'::text, 0, -9999), or build it with mlops.make_grid.")));
	if (info->skew_x != 0.0 || info->skew_y != 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template raster is skewed (skew %g, %g); only north-up grids can be interpolated",
						info->skew_x, info->skew_y)));
	if (!(info->scale_x > 0) || !(info->scale_y != 0) || !isfinite(info->scale_x) || !isfinite(info->scale_y) ||
		!isfinite(info->ip_x) || !isfinite(info->ip_y))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template raster has an invalid georeference (scale %g, %g)",
						info->scale_x, info->scale_y)));
	if (info->width < 1 || info->height < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template raster is empty (%d x %d cells)", info->width, info->height),
				 errhint("Build a template with cells, for example with mlops.make_grid.")));
	if ((double) info->width * info->height > mlops_max_raster_cells)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("template raster has %d x %d cells, more than mlops.max_raster_cells (%d)",
						info->width, info->height, mlops_max_raster_cells),
				 errhint("Use a coarser template, or raise mlops.max_raster_cells (each cell takes about 16 bytes while the raster is built).")));
}

/*
 * mlops_option_number reads a numeric option of an options object as a
 * finite double (the interpolation and picture options).
 */
double
mlops_option_number(const char *key, struct JsonbValue *v)
{
	double		d;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number", key)));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a finite number", key)));
	return d;
}

/*
 * mlops_option_whole reads a numeric option that must be a whole number in
 * [lo, hi] (counts, sizes, seeds of the other glue files).
 */
double
mlops_option_whole(const char *key, struct JsonbValue *v, double lo, double hi)
{
	double		d = mlops_option_number(key, v);

	if (d != floor(d) || d < lo || d > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a whole number from %.0f to %.0f, got %g", key, lo, hi, d)));
	return d;
}

/*
 * OptionNonNegative reads a number >= 0.
 */
static double
OptionNonNegative(const char *key, JsonbValue *v)
{
	double		d = mlops_option_number(key, v);

	if (d < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must not be negative, got %g", key, d)));
	return d;
}

/*
 * OptionCount reads a whole number in [0, INT_MAX].
 */
static int
OptionCount(const char *key, JsonbValue *v)
{
	double		d = OptionNonNegative(key, v);

	if (d != floor(d) || d > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a whole number, got %g", key, d)));
	return (int) d;
}

/*
 * ParseMethod names the method or lists the valid ones.
 */
static Method
ParseMethod(const char *name)
{
	for (int i = 0; i < lengthof(method_names); i++)
		if (strcmp(name, method_names[i]) == 0)
			return (Method) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown interpolation method \"%s\"", name),
			 errhint("Valid methods: idw, nearest, linear, kriging.")));
	return METHOD_IDW;			/* not reached */
}

/*
 * ParseModel names a variogram model or lists the valid ones.
 */
static vario_model
ParseModel(const char *name)
{
	if (strcmp(name, "spherical") == 0)
		return VARIO_SPHERICAL;
	if (strcmp(name, "exponential") == 0)
		return VARIO_EXPONENTIAL;
	if (strcmp(name, "gaussian") == 0)
		return VARIO_GAUSSIAN;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown variogram model \"%s\"", name),
			 errhint("Valid models: spherical, exponential, gaussian.")));
	return VARIO_SPHERICAL;		/* not reached */
}

/*
 * ParseOptions reads the options object for method m; an unknown key is an
 * error that lists the valid ones.
 */
static void
ParseOptions(Method m, Jsonb *opts, Options *o)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	memset(o, 0, sizeof(*o));
	o->method = m;
	o->power = 2.0;
	o->min_points = (m == METHOD_KRIGING) ? 1 : 0;
	o->max_points = (m == METHOD_KRIGING) ? 16 : 0;
	o->model = VARIO_SPHERICAL;
	o->n_lags = 15;

	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));

	it = JsonbIteratorInit(&opts->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		bool		known = true;

		if (r != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		r = JsonbIteratorNext(&it, &v, true);
		Assert(r == WJB_VALUE);
		if (v.type == jbvNull)
			continue;			/* "key": null means "not given" */

		if (strcmp(key, "nodata") == 0)
		{
			o->has_nodata = true;
			o->nodata = mlops_option_number(key, &v);
		}
		else if (strcmp(key, "gaussian_sigma") == 0)
		{
			o->gaussian_sigma = OptionNonNegative(key, &v);
			/* the kernel reaches 4 sigma, as scipy's gaussian_filter */
			if (!(o->gaussian_sigma * 4.0 + 0.5 < GAUSS_MAX_RADIUS + 1.0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option gaussian_sigma %g is too large", o->gaussian_sigma),
						 errdetail("The smoothing kernel reaches 4 sigma, and at most %d cells.", GAUSS_MAX_RADIUS)));
		}
		else if (strcmp(key, "fade_distance") == 0)
		{
			o->has_fade = true;
			o->fade_distance = OptionNonNegative(key, &v);
		}
		else if (strcmp(key, "fade_smoothing") == 0)
		{
			o->has_fade_smoothing = true;
			o->fade_smoothing = OptionNonNegative(key, &v);
		}
		else if (strcmp(key, "radius") == 0)
		{
			double		d = mlops_option_number(key, &v);

			/* linear follows GDAL: -1 means the nearest point at any distance outside the hull */
			if (d < 0 && !(m == METHOD_LINEAR && d == -1))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"radius\" must not be negative, got %g", d),
						 m == METHOD_LINEAR ? errhint("For linear, -1 means the nearest point at any distance outside the hull.") : 0));
			o->radius = d;
		}
		else if (m == METHOD_IDW && strcmp(key, "power") == 0)
			o->power = OptionNonNegative(key, &v);
		else if (m == METHOD_IDW && strcmp(key, "smoothing") == 0)
			o->smoothing = OptionNonNegative(key, &v);
		else if ((m == METHOD_IDW || m == METHOD_KRIGING) && strcmp(key, "max_points") == 0)
			o->max_points = OptionCount(key, &v);
		else if ((m == METHOD_IDW || m == METHOD_KRIGING) && strcmp(key, "min_points") == 0)
			o->min_points = OptionCount(key, &v);
		else if (m == METHOD_KRIGING && strcmp(key, "model") == 0)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"model\" must be a string")));
			o->model = ParseModel(pnstrdup(v.val.string.val, v.val.string.len));
		}
		else if (m == METHOD_KRIGING && strcmp(key, "nugget") == 0)
		{
			o->has_nugget = true;
			o->nugget = OptionNonNegative(key, &v);
		}
		else if (m == METHOD_KRIGING && strcmp(key, "sill") == 0)
		{
			o->has_sill = true;
			o->sill = OptionNonNegative(key, &v);
		}
		else if (m == METHOD_KRIGING && strcmp(key, "range") == 0)
		{
			o->has_range = true;
			o->range = OptionNonNegative(key, &v);
		}
		else if (m == METHOD_KRIGING && strcmp(key, "n_lags") == 0)
			o->n_lags = OptionCount(key, &v);
		else if (m == METHOD_KRIGING && strcmp(key, "max_lag") == 0)
			o->max_lag = OptionNonNegative(key, &v);
		else
			known = false;

		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for method %s", key, method_names[m]),
					 errhint("Valid options for %s: %s, %s.", method_names[m], method_options[m], common_options)));
	}

	if (o->has_fade_smoothing && !o->has_fade)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"fade_smoothing\" needs \"fade_distance\"")));
	if (o->has_fade && !o->has_fade_smoothing)
		o->fade_smoothing = o->fade_distance;
	if (m == METHOD_KRIGING)
	{
		if ((o->has_nugget || o->has_sill || o->has_range) && !(o->has_sill && o->has_range))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a given variogram needs both \"sill\" and \"range\" (\"nugget\" defaults to 0)"),
					 errhint("Or give none of nugget, sill and range to fit the variogram from the data.")));
		if (o->has_range && o->range <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"range\" must be positive")));
		if (o->has_sill && o->sill < o->nugget)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"sill\" (%g) is the total sill and must not be below \"nugget\" (%g)",
							o->sill, o->nugget)));
		if (o->n_lags < 1 || o->n_lags > 1000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"n_lags\" must be between 1 and 1000")));
	}
}

/*
 * FitVariogram fits o's model from the points, or raises why it cannot.
 */
static void
FitVariogram(const interp_points *p, const Options *o, variogram *v)
{
	const char *why = NULL;

	if (!variogram_fit(p, o->model, o->n_lags, o->max_lag, v, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit a variogram: %s", why ? why : "unknown reason"),
				 errhint("Give nugget, sill and range in the options.")));
}

/*
 * Interpolate runs method o on the points over the template's grid and
 * returns the raster: the template's size, georeference, SRID and band 1
 * pixel type.
 */
static Datum
Interpolate(interp_points *p, int32 points_srid, Datum template_datum, Oid raster_type, Options *o)
{
	rast_info	info;
	interp_grid g;
	interp_exec exec;
	double	   *out;
	double		nodata;
	bool		has_nodata;
	size_t		cells;
	size_t		wkb_size;
	bytea	   *wkb;
	FmgrInfo	fromwkb;
	interp_status st = INTERP_OK;

	ReadTemplate(template_datum, &info);
	if (points_srid != info.srid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points have SRID %d but the template raster has SRID %d", points_srid, info.srid),
				 errhint("Transform the points (ST_Transform) or set the raster's SRID (ST_SetSRID) so they match.")));

	/* the nodata value: the option, else the template band's, else GDAL's 0 (unmarked) */
	if (o->has_nodata)
	{
		has_nodata = true;
		nodata = o->nodata;
		if (rast_pixel_value(info.pixtype, nodata, 0.0) != nodata)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("nodata %g cannot be stored in the template's %s band", nodata,
							rast_pixtype_name(info.pixtype))));
	}
	else if (info.has_nodata)
	{
		has_nodata = true;
		nodata = info.nodata;
	}
	else
	{
		has_nodata = false;
		nodata = 0.0;
	}

	g.ulx = info.ip_x;
	g.uly = info.ip_y;
	g.sx = info.scale_x;
	g.sy = info.scale_y;
	g.width = info.width;
	g.height = info.height;
	cells = (size_t) g.width * (size_t) g.height;
	out = palloc_extended(Max(cells, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	MakeExec(&exec);

	switch (o->method)
	{
		case METHOD_IDW:
			{
				idw_options io = {o->power, o->smoothing, o->radius, o->max_points, o->min_points, nodata};

				st = interp_idw(p, &g, &io, &exec, out);
				break;
			}
		case METHOD_NEAREST:
			{
				nearest_options no = {o->radius, nodata};

				st = interp_nearest(p, &g, &no, &exec, out);
				break;
			}
		case METHOD_LINEAR:
			{
				linear_options lo = {o->radius, nodata};

				st = interp_linear(p, &g, &lo, &exec, out);
				break;
			}
		case METHOD_KRIGING:
			{
				kriging_options ko;

				memset(&ko, 0, sizeof(ko));
				if (o->has_sill)
				{
					ko.v.model = o->model;
					ko.v.nugget = o->nugget;
					ko.v.sill = o->sill;
					ko.v.range = o->range;
				}
				else
					FitVariogram(p, o, &ko.v);
				{
					const char *why = NULL;

					if (!variogram_valid(&ko.v, &why))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("invalid variogram: %s", why ? why : "unknown reason")));
				}
				ko.max_points = o->max_points;
				ko.radius = o->radius;
				ko.min_points = o->min_points;
				ko.nodata = nodata;
				st = interp_kriging(p, &g, &ko, &exec, out, NULL);
				break;
			}
	}
	CheckStatus(st, "interpolation");

	if (o->has_fade)
	{
		fade_options fo = {o->fade_distance, o->fade_smoothing, has_nodata, nodata};

		CheckStatus(interp_fade(p, &g, &fo, &exec, out), "fading");
	}
	if (o->gaussian_sigma > 0)
		CheckStatus(interp_gaussian(&g, o->gaussian_sigma, 4.0, has_nodata, nodata, &exec, out),
					"Gaussian smoothing");

	wkb_size = rast_wkb_size(g.width, g.height, info.pixtype);
	if (wkb_size == 0 || wkb_size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the raster would be larger than 1 GB, the most a value can hold"),
				 errhint("Use a smaller template or a smaller pixel type.")));
	wkb = palloc_extended(wkb_size + VARHDRSZ, MCXT_ALLOC_HUGE);
	SET_VARSIZE(wkb, wkb_size + VARHDRSZ);
	rast_wkb_write(&info, info.pixtype, has_nodata, nodata, out, nodata, (uint8 *) VARDATA(wkb));
	pfree(out);

	PostgisFunction(raster_type, "st_rastfromwkb", BYTEAOID, &fromwkb);
	return FunctionCall1(&fromwkb, PointerGetDatum(wkb));
}

PG_FUNCTION_INFO_V1(mlops_interpolate_raster);

/*
 * mlops_interpolate_raster(points geometry, template raster, method text,
 * options jsonb) -> raster.  STRICT.  Points without any value give NULL,
 * as ST_InterpolateRaster does.
 */
Datum
mlops_interpolate_raster(PG_FUNCTION_ARGS)
{
	Oid			geomtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			rasttype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Method		m = ParseMethod(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	Options		o;
	interp_points p;
	int32		srid;

	ParseOptions(m, PG_GETARG_JSONB_P(3), &o);
	if (!ReadPointsZ(geomtype, PG_GETARG_DATUM(0), &p, &srid))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(Interpolate(&p, srid, PG_GETARG_DATUM(1), rasttype, &o));
}

PG_FUNCTION_INFO_V1(mlops_interpolate_raster_arrays);

/*
 * mlops_interpolate_raster_arrays(geoms geometry[], vals float8[], template
 * raster, method text, options jsonb) -> raster.  STRICT.  Each geometry is
 * a point (its Z, if any, is ignored: vals give the values); the arrays
 * must have the same length and no NULLs.  No points: NULL.
 */
Datum
mlops_interpolate_raster_arrays(PG_FUNCTION_ARGS)
{
	ArrayType  *geoms = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *vals = PG_GETARG_ARRAYTYPE_P(1);
	Oid			rasttype = get_fn_expr_argtype(fcinfo->flinfo, 2);
	Oid			geomtype = ARR_ELEMTYPE(geoms);
	Method		m = ParseMethod(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	Options		o;
	FmgrInfo	asewkb;
	Datum	   *gd;
	bool	   *gnull;
	int			ng;
	Datum	   *vd;
	bool	   *vnull;
	int			nv;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	interp_points p;
	double	   *x,
			   *y,
			   *v;
	size_t		n = 0;
	int32		srid = 0;

	ParseOptions(m, PG_GETARG_JSONB_P(4), &o);
	if (ARR_NDIM(geoms) > 1 || ARR_NDIM(vals) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("geoms and vals must be one-dimensional arrays")));
	get_typlenbyvalalign(geomtype, &typlen, &typbyval, &typalign);
	deconstruct_array(geoms, geomtype, typlen, typbyval, typalign, &gd, &gnull, &ng);
	deconstruct_array(vals, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &vd, &vnull, &nv);
	if (ng != nv)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("geoms has %d elements but vals has %d", ng, nv)));
	if (ng == 0)
		PG_RETURN_NULL();

	PostgisFunction(geomtype, "st_asewkb", geomtype, &asewkb);
	x = palloc_extended(sizeof(double) * ng, MCXT_ALLOC_HUGE);
	y = palloc_extended(sizeof(double) * ng, MCXT_ALLOC_HUGE);
	v = palloc_extended(sizeof(double) * ng, MCXT_ALLOC_HUGE);
	for (int i = 0; i < ng; i++)
	{
		bytea	   *ewkb;
		ewkb_points_result pt;
		ewkb_error	e;
		double		val;

		if (gnull[i] || vnull[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is NULL", gnull[i] ? "geoms" : "vals", i + 1),
					 errhint("Leave out rows without a position or a reading, for example with array_agg(...) FILTER (WHERE value IS NOT NULL).")));
		val = DatumGetFloat8(vd[i]);
		if (!isfinite(val))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("vals[%d] is %g; values must be finite", i + 1, val)));
		ewkb = GeometryEwkb(&asewkb, gd[i]);
		e = ewkb_points((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), false,
						mlops_palloc_allocator(), &pt);
		if (e != EWKB_OK)
			EwkbError(e, psprintf("geoms[%d]", i + 1));
		if (pt.n > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("geoms[%d] has %zu points; each element must be one point", i + 1, pt.n)));
		if (i == 0)
			srid = pt.srid;
		else if (pt.srid != srid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("geoms[%d] has SRID %d but geoms[1] has SRID %d", i + 1, pt.srid, srid)));
		if (pt.n == 1)
		{
			x[n] = pt.x[0];
			y[n] = pt.y[0];
			v[n] = val;
			n++;
			pfree(pt.x);
			pfree(pt.y);
			pfree(pt.z);
		}
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (n == 0)
		PG_RETURN_NULL();
	p.x = x;
	p.y = y;
	p.v = v;
	p.n = n;
	PG_RETURN_DATUM(Interpolate(&p, srid, PG_GETARG_DATUM(2), rasttype, &o));
}

/*
 * SridIsGeographic says whether srid is a geographic (longitude / latitude,
 * degrees) CRS in PostGIS's spatial_ref_sys; false for 0 and unknown SRIDs.
 * make_grid's automatic cell size is in the units of the CRS, and a rule
 * meant for metres gives one cell of 10 degrees there.
 */
static bool
SridIsGeographic(int32 srid)
{
	bool		geographic = false;

	if (srid <= 0)
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* spatial_ref_sys lives in the schema of the postgis extension */
	if (SPI_execute("SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
					"WHERE e.extname OPERATOR(pg_catalog.=) 'postgis'", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		char	   *nsp = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *sql = psprintf("SELECT s.proj4text OPERATOR(pg_catalog.~~) '%%+proj=longlat%%' "
								   "OR s.srtext OPERATOR(pg_catalog.~~) 'GEOGCS%%' "
								   "OR s.srtext OPERATOR(pg_catalog.~~) 'GEOGCRS%%' "
								   "FROM %s.spatial_ref_sys s WHERE s.srid OPERATOR(pg_catalog.=) %d",
								   nsp, srid);

		if (SPI_execute(sql, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			geographic = !isnull && DatumGetBool(d);
		}
	}
	SPI_finish();
	return geographic;
}

PG_FUNCTION_INFO_V1(mlops_make_grid);

/*
 * mlops_make_grid(area geometry, cell_size float8, max_cells int,
 * min_cell_size float8, pixel_type text, nodata float8) -> raster: an empty
 * one-band raster covering area's extent, upper-left corner at (xmin, ymax),
 * square cells.  Without cell_size: ceil(max(min_cell_size, sqrt(extent
 * area / max_cells))), the heatmap service's rule, in whole units of the
 * CRS (at least 1), refused for a geographic CRS (degrees).  Pixels are
 * nodata when it is given (and marked so), else 0.  An empty area gives NULL.
 */
Datum
mlops_make_grid(PG_FUNCTION_ARGS)
{
	Oid			geomtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			rasttype = get_func_rettype(fcinfo->flinfo->fn_oid);
	FmgrInfo	asewkb;
	FmgrInfo	fromwkb;
	bytea	   *ewkb;
	ewkb_bbox_result box;
	ewkb_error	e;
	double		step;
	double		w,
				h;
	int			pixtype;
	rast_info	info;
	size_t		wkb_size;
	bytea	   *wkb;
	bool		has_nodata = !PG_ARGISNULL(5);
	double		nodata = has_nodata ? PG_GETARG_FLOAT8(5) : 0.0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_cells, min_cell_size and pixel_type must not be NULL")));
	pixtype = rast_pixtype_from_name(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	if (pixtype < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown pixel type \"%s\"", text_to_cstring(PG_GETARG_TEXT_PP(4))),
				 errhint("Valid pixel types: 1BB, 2BUI, 4BUI, 8BSI, 8BUI, 16BSI, 16BUI, 32BSI, 32BUI, 32BF, 64BF.")));
	if (has_nodata && !isfinite(nodata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nodata must be a finite number")));
	if (has_nodata && rast_pixel_value(pixtype, nodata, 0) != nodata)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nodata %g cannot be stored in a %s band", nodata, rast_pixtype_name(pixtype))));

	PostgisFunction(geomtype, "st_asewkb", geomtype, &asewkb);
	ewkb = GeometryEwkb(&asewkb, PG_GETARG_DATUM(0));
	e = ewkb_bbox((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), &box);
	if (e != EWKB_OK)
		EwkbError(e, "area");
	if (box.npoints == 0)
		PG_RETURN_NULL();

	w = box.xmax - box.xmin;
	h = box.ymax - box.ymin;
	if (!PG_ARGISNULL(1))
	{
		step = PG_GETARG_FLOAT8(1);
		if (!(step > 0) || !isfinite(step))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cell_size must be a positive number, got %g", step)));
	}
	else
	{
		int32		max_cells = PG_GETARG_INT32(2);
		double		min_cell = PG_GETARG_FLOAT8(3);

		if (max_cells < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_cells must be at least 1, got %d", max_cells)));
		if (!(min_cell >= 0) || !isfinite(min_cell))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("min_cell_size must be a number of at least 0, got %g", min_cell)));
		if (SridIsGeographic(box.srid))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("make_grid cannot choose a cell size for SRID %d: it is a geographic CRS, in degrees",
							box.srid),
					 errdetail("The automatic cell size and min_cell_size (%g) are in the units of the area's CRS, "
							   "meant for metres: in degrees the cell would be %g degrees, and distances in "
							   "interpolate_raster's options would be degrees too.",
							   min_cell, ceil(Max(min_cell, sqrt(w * h / max_cells)))),
					 errhint("Transform the area and the readings to a projected CRS in metres "
							 "(ST_Transform(geom, 3857), or the area's UTM zone), or give cell_size in degrees.")));
		/* whole units of the CRS (the heatmap service's rule); at least 1 */
		step = Max(1.0, ceil(Max(min_cell, sqrt(w * h / max_cells))));
	}

	{
		double		cols = Max(1.0, ceil(w / step));
		double		rows = Max(1.0, ceil(h / step));

		if (cols > RAST_MAX_DIM || rows > RAST_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a grid of %.0f x %.0f cells is too large: a raster has at most %d cells a side",
							cols, rows, RAST_MAX_DIM),
					 errhint("Use a larger cell_size.")));
		if (cols * rows > mlops_max_raster_cells)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a grid of %.0f x %.0f cells is more than mlops.max_raster_cells (%d)",
							cols, rows, mlops_max_raster_cells),
					 errhint("Use a larger cell_size, or raise mlops.max_raster_cells.")));
		memset(&info, 0, sizeof(info));
		info.width = (int) cols;
		info.height = (int) rows;
	}
	info.scale_x = step;
	info.scale_y = -step;
	info.ip_x = box.xmin;
	info.ip_y = box.ymax;
	info.srid = box.srid;

	wkb_size = rast_wkb_size(info.width, info.height, pixtype);
	if (wkb_size == 0 || wkb_size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the raster would be larger than 1 GB, the most a value can hold"),
				 errhint("Use a larger cell_size or a smaller pixel type.")));
	wkb = palloc_extended(wkb_size + VARHDRSZ, MCXT_ALLOC_HUGE);
	SET_VARSIZE(wkb, wkb_size + VARHDRSZ);
	rast_wkb_write(&info, pixtype, has_nodata, nodata, NULL, nodata, (uint8 *) VARDATA(wkb));
	PostgisFunction(rasttype, "st_rastfromwkb", BYTEAOID, &fromwkb);
	PG_RETURN_DATUM(FunctionCall1(&fromwkb, PointerGetDatum(wkb)));
}

PG_FUNCTION_INFO_V1(mlops_fit_variogram);

/*
 * mlops_fit_variogram(points geometry, model text, options jsonb) -> jsonb:
 * the variogram interpolate_raster's kriging would fit, as
 * {"model", "nugget", "sill", "range"}.  Options: n_lags, max_lag.  STRICT.
 */
Datum
mlops_fit_variogram(PG_FUNCTION_ARGS)
{
	Oid			geomtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Options		o;
	interp_points p;
	int32		srid;
	variogram	v;
	Jsonb	   *opts = PG_GETARG_JSONB_P(2);
	JsonbIterator *it;
	JsonbValue	jv;
	JsonbIteratorToken r;
	StringInfoData buf;

	/* only the fitting options apply here */
	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&opts->root);
	while ((r = JsonbIteratorNext(&it, &jv, true)) != WJB_DONE)
		if (r == WJB_KEY &&
			!(jv.val.string.len == 6 && strncmp(jv.val.string.val, "n_lags", 6) == 0) &&
			!(jv.val.string.len == 7 && strncmp(jv.val.string.val, "max_lag", 7) == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%.*s\" for fit_variogram", jv.val.string.len, jv.val.string.val),
					 errhint("Valid options: n_lags, max_lag.")));
	ParseOptions(METHOD_KRIGING, opts, &o);
	o.model = ParseModel(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	if (!ReadPointsZ(geomtype, PG_GETARG_DATUM(0), &p, &srid))
		PG_RETURN_NULL();
	FitVariogram(&p, &o, &v);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model\": \"%s\", \"nugget\": %.17g, \"sill\": %.17g, \"range\": %.17g}",
					 v.model == VARIO_SPHERICAL ? "spherical" : v.model == VARIO_EXPONENTIAL ? "exponential" : "gaussian",
					 v.nugget, v.sill, v.range);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
