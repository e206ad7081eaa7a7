/*-------------------------------------------------------------------------
 *
 * merge_sql.c
 *	  mlops.merge_detections: points merged into sites by the merge kernel
 *	  (iterative_mean as the original's merge_similar_sites, single_link as
 *	  ST_ClusterDBSCAN with minpoints 1, dbscan).  The glue reads the
 *	  points (one point per array element, one SRID) and returns each site
 *	  with its members' 1-based positions.
 *
 *	  Reading and writing 100,000 points through PostGIS calls costs more
 *	  than merging them, so both go through a template: PostGIS's own
 *	  ST_SetSRID(ST_MakePoint(1.5, -2.25), srid) for the points' SRID.  When
 *	  its x and y sit at fixed places (they do in every PostGIS
 *	  serialization: a 2-D point is a header and two doubles), a site's
 *	  geometry is the template with its x and y written in, and an element
 *	  whose bytes up to the coordinates equal the template's is a 2-D point
 *	  of that SRID whose coordinates are read in place.  Anything else (the
 *	  first element, other SRIDs, Z, empty points, non-finite coordinates,
 *	  other types) goes through ST_AsEWKB and the EWKB reader as before,
 *	  with the same errors.  Without a usable template every geometry is
 *	  made by PostGIS.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "pg_mlops.h"
#include "util/alloc.h"
#include "detect/merge.h"
#include "spatial/ewkb.h"

PG_FUNCTION_INFO_V1(mlops_merge_detections);
PG_FUNCTION_INFO_V1(mlops_merge_detections_xy);

/* Where x and y sit in a serialized 2-D point, checked on the template. */
#define POINT_X_AT 16
#define POINT_Y_AT 24
#define POINT_SIZE 32

/*
 * PointMaker: the points' SRID, PostGIS's point constructors and, when its
 * layout checks out, the template (see the file header).
 */
typedef struct PointMaker
{
	int32		srid;
	FmgrInfo	makepoint;
	FmgrInfo	setsrid;
	bytea	   *tmpl;			/* NULL: make every point with PostGIS */
} PointMaker;

static void PostgisFunction2(Oid typid, const char *name, Oid a1, Oid a2, FmgrInfo *flinfo);
static void PointMakerInit(PointMaker *pm, Oid geomtype, int32 srid);
static Datum PointMake(PointMaker *pm, double x, double y);
static bool PointRead(const PointMaker *pm, Datum d, double *x, double *y);
static void ReadPointSlow(FmgrInfo *asewkb, Datum d, int i, double *x, double *y, int32 *srid);
static Datum MergeDetections(FunctionCallInfo fcinfo, bool with_geom);

static MergeMethod
ParseMergeMethod(const char *name)
{
	if (strcmp(name, "iterative_mean") == 0)
		return MERGE_ITERATIVE_MEAN;
	if (strcmp(name, "single_link") == 0)
		return MERGE_SINGLE_LINK;
	if (strcmp(name, "dbscan") == 0)
		return MERGE_DBSCAN;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown merge method \"%s\"", name),
			 errhint("Valid methods: iterative_mean, single_link, dbscan.")));
	return MERGE_SINGLE_LINK;	/* not reached */
}

/* Returns min_points; sets *geodesic. */
static int
ParseMergeOptions(MergeMethod m, Jsonb *opts, bool *geodesic)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			min_points = m == MERGE_DBSCAN ? 2 : 1;

	*geodesic = false;
	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&opts->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (r != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		r = JsonbIteratorNext(&it, &v, true);
		if (v.type == jbvNull)
			continue;
		if (strcmp(key, "min_points") == 0 && m == MERGE_DBSCAN)
			min_points = (int) mlops_option_whole(key, &v, 1, INT_MAX);
		else if (strcmp(key, "geodesic") == 0 && m != MERGE_ITERATIVE_MEAN)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"geodesic\" must be true or false")));
			*geodesic = v.val.boolean;
		}
		else if (strcmp(key, "geodesic") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"geodesic\" does not apply to merge method iterative_mean"),
					 errhint("iterative_mean reproduces the original's merge_similar_sites, which measures in degrees; single_link and dbscan take geodesic.")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for merge method %s", key,
							m == MERGE_DBSCAN ? "dbscan" : m == MERGE_SINGLE_LINK ? "single_link" : "iterative_mean"),
					 errhint("%s", m == MERGE_DBSCAN ? "Valid options: min_points, geodesic." :
							 m == MERGE_SINGLE_LINK ? "Valid options: geodesic." : "This method takes no options.")));
	}
	return min_points;
}

/*
 * PostgisFunction2: a two-argument PostGIS function, looked up in the schema
 * of type typid (where PostGIS put its types, whatever the search_path).
 */
static void
PostgisFunction2(Oid typid, const char *name, Oid a1, Oid a2, FmgrInfo *flinfo)
{
	Oid			args[2] = {a1, a2};
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			nsp;
	Oid			fn;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	fn = LookupFuncName(list_make2(makeString(get_namespace_name(nsp)), makeString(pstrdup(name))),
						2, args, true);
	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("PostGIS function %s(%s, %s) not found", name, format_type_be(a1), format_type_be(a2)),
				 errhint("pg_mlops needs the postgis and postgis_raster extensions.")));
	fmgr_info(fn, flinfo);
}

/*
 * PointMakerInit: PostGIS's ST_MakePoint and ST_SetSRID, and the template
 * ST_SetSRID(ST_MakePoint(1.5, -2.25), srid) when it is a plain 32-byte
 * datum holding 1.5 and -2.25 at POINT_X_AT and POINT_Y_AT.
 */
static void
PointMakerInit(PointMaker *pm, Oid geomtype, int32 srid)
{
	double		tx = 1.5,
				ty = -2.25;
	struct varlena *t;

	pm->srid = srid;
	pm->tmpl = NULL;
	PostgisFunction2(geomtype, "st_makepoint", FLOAT8OID, FLOAT8OID, &pm->makepoint);
	PostgisFunction2(geomtype, "st_setsrid", geomtype, INT4OID, &pm->setsrid);
	t = (struct varlena *) DatumGetPointer(
		FunctionCall2(&pm->setsrid, FunctionCall2(&pm->makepoint, Float8GetDatum(tx), Float8GetDatum(ty)),
					  Int32GetDatum(srid)));
	if (VARATT_IS_4B_U(t) && VARSIZE(t) == POINT_SIZE &&
		memcmp((char *) t + POINT_X_AT, &tx, sizeof(double)) == 0 &&
		memcmp((char *) t + POINT_Y_AT, &ty, sizeof(double)) == 0)
		pm->tmpl = (bytea *) t;
}

/* PointMake: ST_SetSRID(ST_MakePoint(x, y), srid), from the template when there is one. */
static Datum
PointMake(PointMaker *pm, double x, double y)
{
	bytea	   *g;

	if (pm->tmpl == NULL)
		return FunctionCall2(&pm->setsrid, FunctionCall2(&pm->makepoint, Float8GetDatum(x), Float8GetDatum(y)),
							 Int32GetDatum(pm->srid));
	g = palloc(POINT_SIZE);
	memcpy(g, pm->tmpl, POINT_SIZE);
	memcpy((char *) g + POINT_X_AT, &x, sizeof(double));
	memcpy((char *) g + POINT_Y_AT, &y, sizeof(double));
	return PointerGetDatum(g);
}

/*
 * PointRead: the coordinates of d when its bytes before them equal the
 * template's (a 2-D point of the template's SRID) and both are finite;
 * false sends d the slow way.
 */
static bool
PointRead(const PointMaker *pm, Datum d, double *x, double *y)
{
	const struct varlena *g = (const struct varlena *) DatumGetPointer(d);

	if (pm->tmpl == NULL || !VARATT_IS_4B_U(g) || VARSIZE(g) != POINT_SIZE ||
		memcmp((const char *) g + VARHDRSZ, (const char *) pm->tmpl + VARHDRSZ, POINT_X_AT - VARHDRSZ) != 0)
		return false;
	memcpy(x, (const char *) g + POINT_X_AT, sizeof(double));
	memcpy(y, (const char *) g + POINT_Y_AT, sizeof(double));
	return isfinite(*x) && isfinite(*y);
}

/*
 * ReadPointSlow: element i (0-based) through ST_AsEWKB and the EWKB reader;
 * an error unless it is one non-empty point.
 */
static void
ReadPointSlow(FmgrInfo *asewkb, Datum d, int i, double *x, double *y, int32 *srid)
{
	bytea	   *ewkb = DatumGetByteaPP(FunctionCall1(asewkb, d));
	ewkb_points_result pt;
	ewkb_error	e;

	e = ewkb_points((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), false,
					mlops_palloc_allocator(), &pt);
	if (e == EWKB_NOT_POINTS || (e == EWKB_OK && pt.n != 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("element %d is not a point", i + 1),
				 errhint("merge_detections takes one non-empty point per element; use ST_Centroid or ST_PointOnSurface for shapes.")));
	if (e != EWKB_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("element %d: %s", i + 1, ewkb_error_message(e))));
	*x = pt.x[0];
	*y = pt.y[0];
	*srid = pt.srid;
}

/*
 * mlops.merge_detections(points geometry[], radius float8, method text, options jsonb)
 *	  RETURNS TABLE(site_id int, geom geometry, n_members int, members int[])
 */
Datum
mlops_merge_detections(PG_FUNCTION_ARGS)
{
	return MergeDetections(fcinfo, true);
}

/*
 * mlops.merge_detections_xy(points geometry[], radius float8, method text, options jsonb)
 *	  RETURNS TABLE(site_id int, x float8, y float8, srid int, n_members int, members int[])
 */
Datum
mlops_merge_detections_xy(PG_FUNCTION_ARGS)
{
	return MergeDetections(fcinfo, false);
}

/* MergeDetections: both functions; with_geom picks the row shape. */
static Datum
MergeDetections(FunctionCallInfo fcinfo, bool with_geom)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	double		radius = PG_GETARG_FLOAT8(1);
	MergeMethod m = ParseMergeMethod(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	bool		geodesic;
	int			min_points = ParseMergeOptions(m, PG_GETARG_JSONB_P(3), &geodesic);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			geomtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	double	   *x,
			   *y,
			   *site_xy = NULL;
	int32	   *site_of;
	int64_t		n_sites = 0;
	int32		srid = 0;
	FmgrInfo	asewkb;
	PointMaker	pm = {0};
	char		err[512];

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("points must be a one-dimensional array")));
	if (isnan(radius) || radius <= 0 || isinf(radius))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("radius must be a positive finite number, got %g", radius)));
	get_typlenbyvalalign(geomtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, geomtype, typlen, typbyval, typalign, &elems, &enulls, &n);
	x = palloc(sizeof(double) * Max(n, 1));
	y = palloc(sizeof(double) * Max(n, 1));
	site_of = palloc(sizeof(int32) * Max(n, 1));
	if (n > 0)
		mlops_postgis_function(geomtype, "st_asewkb", geomtype, &asewkb);
	for (int i = 0; i < n; i++)
	{
		int32		s;

		CHECK_FOR_INTERRUPTS();
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("point %d is NULL", i + 1)));
		if (i > 0 && PointRead(&pm, elems[i], &x[i], &y[i]))
			continue;			/* a 2-D point of the first one's SRID */
		ReadPointSlow(&asewkb, elems[i], i, &x[i], &y[i], &s);
		if (i == 0)
		{
			srid = s;
			PointMakerInit(&pm, geomtype, srid);
		}
		else if (s != srid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("points of mixed SRIDs: element %d has SRID %d, the first has %d", i + 1, s, srid)));
	}

	err[0] = '\0';
	if (geodesic && n > 0 && srid != 4326)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"geodesic\" needs points in EPSG:4326, not SRID %d", srid),
				 errhint("In a projected SRID the radius is in its units already.")));
	if (geodesic ?
		merge_points_geodesic(x, y, n, radius, m, min_points, site_of, &site_xy, &n_sites,
							  mlops_palloc_allocator(), err, sizeof(err)) != 0 :
		merge_points(x, y, n, radius, m, min_points, site_of, &site_xy, &n_sites,
					 mlops_palloc_allocator(), err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge: %s", err[0] ? err : "the kernel refused")));

	InitMaterializedSRF(fcinfo, 0);
	{
		int32	   *count = palloc0(sizeof(int32) * Max(n_sites, 1));
		int32	   *start = palloc(sizeof(int32) * (n_sites + 1));
		int32	   *fill = palloc0(sizeof(int32) * Max(n_sites, 1));
		Datum	   *members = palloc(sizeof(Datum) * Max(n, 1));
		MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "merge_detections row",
													  ALLOCSET_DEFAULT_SIZES);

		for (int i = 0; i < n; i++)
			if (site_of[i] >= 0)
				count[site_of[i]]++;
		start[0] = 0;
		for (int64 s = 0; s < n_sites; s++)
			start[s + 1] = start[s] + count[s];
		for (int i = 0; i < n; i++)
			if (site_of[i] >= 0)
				members[start[site_of[i]] + fill[site_of[i]]++] = Int32GetDatum(i + 1);
		for (int64 s = 0; s < n_sites; s++)
		{
			Datum		values[6];
			bool		nulls[6] = {false};
			MemoryContext old = MemoryContextSwitchTo(row_cxt);
			Datum		arrd = PointerGetDatum(construct_array(members + start[s], count[s], INT4OID, 4, true,
															   TYPALIGN_INT));

			values[0] = Int32GetDatum((int32) (s + 1));
			if (with_geom)
			{
				values[1] = PointMake(&pm, site_xy[2 * s], site_xy[2 * s + 1]);
				values[2] = Int32GetDatum(count[s]);
				values[3] = arrd;
			}
			else
			{
				values[1] = Float8GetDatum(site_xy[2 * s]);
				values[2] = Float8GetDatum(site_xy[2 * s + 1]);
				values[3] = Int32GetDatum(srid);
				values[4] = Int32GetDatum(count[s]);
				values[5] = arrd;
			}
			MemoryContextSwitchTo(old);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextReset(row_cxt);
		}
	}
	PG_RETURN_NULL();
}
