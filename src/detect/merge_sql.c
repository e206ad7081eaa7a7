/*-------------------------------------------------------------------------
 *
 * merge_sql.c
 *	  mlops.merge_detections: points merged into sites by the merge kernel
 *	  (iterative_mean as the original's merge_similar_sites, single_link as
 *	  ST_ClusterDBSCAN with minpoints 1, dbscan).  The glue reads the
 *	  points (one point per array element, one SRID) and returns each site
 *	  with its members' 1-based positions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "pg_mlops.h"
#include "util/alloc.h"
#include "detect/merge.h"
#include "spatial/ewkb.h"

PG_FUNCTION_INFO_V1(mlops_merge_detections_xy);

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
 * mlops.merge_detections_xy(points geometry[], radius float8, method text, options jsonb)
 *	  RETURNS TABLE(site_id int, x float8, y float8, srid int, n_members int, members int[])
 */
Datum
mlops_merge_detections_xy(PG_FUNCTION_ARGS)
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
		bytea	   *ewkb;
		ewkb_points_result pt;
		ewkb_error	e;

		CHECK_FOR_INTERRUPTS();
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("point %d is NULL", i + 1)));
		ewkb = DatumGetByteaPP(FunctionCall1(&asewkb, elems[i]));
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
		if (i == 0)
			srid = pt.srid;
		else if (pt.srid != srid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("points of mixed SRIDs: element %d has SRID %d, the first has %d", i + 1, pt.srid, srid)));
		x[i] = pt.x[0];
		y[i] = pt.y[0];
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

			values[0] = Int32GetDatum((int32) (s + 1));
			values[1] = Float8GetDatum(site_xy[2 * s]);
			values[2] = Float8GetDatum(site_xy[2 * s + 1]);
			values[3] = Int32GetDatum(srid);
			values[4] = Int32GetDatum(count[s]);
			values[5] = PointerGetDatum(construct_array(members + start[s], count[s], INT4OID, 4, true, TYPALIGN_INT));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_RETURN_NULL();
}
