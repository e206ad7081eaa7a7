/*-------------------------------------------------------------------------
 *
 * detect_sql.c
 *	  SQL entry points of detection: mlops.detect_blobs over a raster band
 *	  (the kernel is blobs.c).  The glue reads the band (nodata and NaN
 *	  cells as 0), checks the raster and the options, and maps each blob's
 *	  pixel centre to the raster's coordinates.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "pg_mlops.h"
#include "util/alloc.h"
#include "detect/blobs.h"
#include "detect/contours.h"
#include "detect/contours_opencv.h"
#include "detect/contours_subpixel.h"
#include "spatial/raster.h"

PG_FUNCTION_INFO_V1(mlops_detect_blobs_xy);

/*
 * mlops_read_raster_band reads band (1-based) of a raster datum into a
 * palloc'd row-major array, cells that are nodata or NaN set to fill, after
 * the checks every detection function makes: a band that exists and is
 * stored in the database, no skew, at most mlops.max_raster_cells cells.
 */
double *
mlops_read_raster_band(Datum d, int band, double fill, rast_info *info)
{
	struct varlena *v = PG_DETOAST_DATUM(d);
	size_t		len = VARSIZE_ANY(v);
	rast_error	e = rast_read_serialized((const uint8 *) v, len, info);
	double	   *values;
	size_t		n;

	if (e == RAST_OK && (band < 1 || band > info->nbands))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("band %d is out of range: the raster has %d band%s", band, info->nbands,
						info->nbands == 1 ? "" : "s")));
	if (e == RAST_OK)
		e = rast_select_band((const uint8 *) v, len, band, info);
	if (e != RAST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("not a raster pg_mlops can read (%s)",
						e == RAST_TRUNCATED ? "truncated" : e == RAST_BAD_VERSION ? "unknown version" : "unknown pixel type")));
	if (info->offline)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raster band %d is stored outside the database", band)));
	if (info->skew_x != 0 || info->skew_y != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the raster is skewed (skew %g, %g)", info->skew_x, info->skew_y),
				 errhint("Detection works on north-up rasters; warp it first (ST_Transform or ST_Rescale).")));
	if (info->width < 1 || info->height < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raster is empty (%d x %d cells)", info->width, info->height)));
	if ((double) info->width * info->height > mlops_max_raster_cells)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raster has %d x %d cells, more than mlops.max_raster_cells (%d)",
						info->width, info->height, mlops_max_raster_cells)));
	n = (size_t) info->width * info->height;
	values = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	e = rast_read_band((const uint8 *) v, len, info, values);
	if (e != RAST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("not a raster pg_mlops can read (truncated)")));
	for (size_t k = 0; k < n; k++)
		if (isnan(values[k]) || (info->has_nodata && values[k] == info->nodata))
			values[k] = fill;
	return values;
}

static BlobMethod
ParseBlobMethod(const char *name)
{
	if (strcmp(name, "doh") == 0)
		return BLOB_DOH;
	if (strcmp(name, "log") == 0)
		return BLOB_LOG;
	if (strcmp(name, "dog") == 0)
		return BLOB_DOG;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown blob method \"%s\"", name),
			 errhint("Valid methods: doh, log, dog.")));
	return BLOB_DOH;			/* not reached */
}

static const char *const blob_option_names[] = {
	/* doh */ "min_sigma, max_sigma, num_sigma, threshold, threshold_rel, overlap, log_scale, pred_threshold",
	/* log */ "min_sigma, max_sigma, num_sigma, threshold, threshold_rel, overlap, log_scale, exclude_border, pred_threshold",
	/* dog */ "min_sigma, max_sigma, sigma_ratio, threshold, threshold_rel, overlap, exclude_border, pred_threshold"
};
static const char *const blob_method_names[] = {"doh", "log", "dog"};

static void
ParseBlobOptions(BlobMethod m, Jsonb *opts, BlobOptions *o)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	blob_options_default(m, o);
	o->pred_threshold = NAN;
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
		if (v.type == jbvNull)
			continue;			/* "key": null means "not given" */
		if (strcmp(key, "min_sigma") == 0)
			o->min_sigma = mlops_option_number(key, &v);
		else if (strcmp(key, "max_sigma") == 0)
			o->max_sigma = mlops_option_number(key, &v);
		else if (strcmp(key, "num_sigma") == 0 && m != BLOB_DOG)
			o->num_sigma = (int) mlops_option_whole(key, &v, 1, 1000);
		else if (strcmp(key, "sigma_ratio") == 0 && m == BLOB_DOG)
			o->sigma_ratio = mlops_option_number(key, &v);
		else if (strcmp(key, "threshold") == 0)
		{
			if (v.type == jbvString && v.val.string.len == 4 && memcmp(v.val.string.val, "none", 4) == 0)
				o->has_threshold = 0;
			else
			{
				o->threshold = mlops_option_number(key, &v);
				o->has_threshold = 1;
			}
		}
		else if (strcmp(key, "threshold_rel") == 0)
			o->threshold_rel = mlops_option_number(key, &v);
		else if (strcmp(key, "overlap") == 0)
			o->overlap = mlops_option_number(key, &v);
		else if (strcmp(key, "log_scale") == 0 && m != BLOB_DOG)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"log_scale\" must be true or false")));
			o->log_scale = v.val.boolean;
		}
		else if (strcmp(key, "exclude_border") == 0 && m != BLOB_DOH)
		{
			if (v.type == jbvBool)
				o->exclude_border = v.val.boolean ? 1 : 0;
			else
			{
				double		d = mlops_option_number(key, &v);

				if (d != floor(d) || d < 0 || d > 65535)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"exclude_border\" must be true, false or a whole number of pixels, got %g", d)));
				o->exclude_border = (int) d;
			}
		}
		else if (strcmp(key, "pred_threshold") == 0)
			o->pred_threshold = mlops_option_number(key, &v);
		else
			known = false;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for blob method %s", key, blob_method_names[m]),
					 errhint("Valid options: %s.", blob_option_names[m])));
	}
}

/*
 * mlops._detect_blobs(r raster, method text, options jsonb, band int)
 *	  RETURNS TABLE(blob_id int, pixel_row float8, pixel_col float8, sigma float8,
 *					radius float8, value float8, x float8, y float8)
 *
 * x, y: the blob's pixel centre in the raster's coordinates; radius in
 * map units (sigma * sqrt(2) for log and dog, sigma for doh, times the
 * cell size: the geometric mean of the two when cells are not square).
 */
Datum
mlops_detect_blobs_xy(PG_FUNCTION_ARGS)
{
	Datum		rast = PG_GETARG_DATUM(0);
	char	   *mname = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *opts = PG_GETARG_JSONB_P(2);
	int32		band = PG_GETARG_INT32(3);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BlobMethod	m = ParseBlobMethod(mname);
	BlobOptions o;
	rast_info	info;
	double	   *img;
	Blob	   *blobs = NULL;
	int64_t		n = 0;
	char		err[512];
	double		cell,
				factor;

	ParseBlobOptions(m, opts, &o);
	img = mlops_read_raster_band(rast, band, 0.0, &info);
	err[0] = '\0';
	if (blob_detect(img, info.height, info.width, m, &o, &blobs, &n, mlops_palloc_allocator(),
					err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot detect blobs: %s", err[0] ? err : "the kernel refused")));

	cell = sqrt(fabs(info.scale_x * info.scale_y));
	factor = m == BLOB_DOH ? 1.0 : M_SQRT2;
	InitMaterializedSRF(fcinfo, 0);
	for (int64_t i = 0; i < n; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {false};
		const Blob *b = &blobs[i];

		values[0] = Int32GetDatum((int32) (i + 1));
		values[1] = Float8GetDatum(b->row);
		values[2] = Float8GetDatum(b->col);
		values[3] = Float8GetDatum(b->sigma);
		values[4] = Float8GetDatum(b->sigma * factor * cell);
		values[5] = Float8GetDatum(b->value);
		/* the pixel's centre, not its corner (the original's off-by-half) */
		values[6] = Float8GetDatum(info.ip_x + (b->col + 0.5) * info.scale_x);
		values[7] = Float8GetDatum(info.ip_y + (b->row + 0.5) * info.scale_y);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/* ---- contours ---- */

PG_FUNCTION_INFO_V1(mlops_contours_ewkb);

typedef enum ContourMode
{
	CONTOUR_CELLS,
	CONTOUR_OPENCV,
	CONTOUR_SUBPIXEL
} ContourMode;

typedef struct ContourOptions
{
	ContourMode mode;
	bool		connectivity_given;
	int			connectivity;
	const char *skimage_option;	/* a subpixel-only option given, or NULL */
	bool		high_connected;	/* fully_connected: "high" */
	bool		high_oriented;	/* positive_orientation: "high" */
	int			blur;			/* box size; 0 = none */
	double		min_area;		/* map units (or m2 with geodesic, applied in SQL); 0 = none */
	bool		geodesic;
} ContourOptions;

static void
ParseContourOptions(Jsonb *opts, ContourOptions *o)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	memset(o, 0, sizeof(*o));
	o->connectivity = 8;
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
		if (strcmp(key, "mode") == 0)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : NULL;

			if (m != NULL && strcmp(m, "cells") == 0)
				o->mode = CONTOUR_CELLS;
			else if (m != NULL && strcmp(m, "opencv") == 0)
				o->mode = CONTOUR_OPENCV;
			else if (m != NULL && strcmp(m, "subpixel") == 0)
				o->mode = CONTOUR_SUBPIXEL;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown contour mode %s",
								m ? psprintf("\"%s\"", m) : "(not a string)"),
						 errhint("Valid modes: cells, opencv, subpixel.")));
		}
		else if (strcmp(key, "fully_connected") == 0 || strcmp(key, "positive_orientation") == 0)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : NULL;

			if (m == NULL || (strcmp(m, "low") != 0 && strcmp(m, "high") != 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be \"low\" or \"high\"", key)));
			if (key[0] == 'f')
				o->high_connected = strcmp(m, "high") == 0;
			else
				o->high_oriented = strcmp(m, "high") == 0;
			o->skimage_option = key;
		}
		else if (strcmp(key, "connectivity") == 0)
		{
			double		d = mlops_option_number(key, &v);

			if (d != 4 && d != 8)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"connectivity\" must be 4 or 8, got %g", d)));
			o->connectivity = (int) d;
			o->connectivity_given = true;
		}
		else if (strcmp(key, "blur") == 0)
			o->blur = (int) mlops_option_whole(key, &v, 1, 4095);
		else if (strcmp(key, "min_area") == 0)
		{
			o->min_area = mlops_option_number(key, &v);
			if (o->min_area < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"min_area\" must not be negative, got %g", o->min_area)));
		}
		else if (strcmp(key, "geodesic") == 0)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"geodesic\" must be true or false")));
			o->geodesic = v.val.boolean;
		}
		else if (strcmp(key, "simplify") == 0)
		{
			/* applied by mlops.contours in SQL; checked here */
			if (mlops_option_number(key, &v) < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"simplify\" must not be negative")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for contours", key),
					 errhint("Valid options: mode, connectivity, blur, min_area, geodesic, simplify, fully_connected, positive_orientation.")));
	}
	/* jsonb orders keys by length, so mode may come after connectivity */
	if (o->connectivity_given && o->mode != CONTOUR_CELLS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"connectivity\" applies to mode cells only"),
				 errhint("Mode opencv traces 8-connected components, as OpenCV does; mode subpixel has fully_connected.")));
	if (o->skimage_option != NULL && o->mode != CONTOUR_SUBPIXEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" applies to mode subpixel only", o->skimage_option)));
}

static void
PutU32(StringInfo b, uint32 u)
{
	char		c[4] = {(char) (u & 0xff), (char) ((u >> 8) & 0xff), (char) ((u >> 16) & 0xff), (char) (u >> 24)};

	appendBinaryStringInfo(b, c, 4);
}

static void
PutF64(StringInfo b, double d)
{
	uint64		u;
	char		c[8];

	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		c[i] = (char) ((u >> (8 * i)) & 0xff);
	appendBinaryStringInfo(b, c, 8);
}

/* One polygon's WKB body (little-endian, no SRID) in map coordinates. */
static void
PutPolygon(StringInfo b, const ContourSet *s, const ContourPolygon *p, const rast_info *info)
{
	appendStringInfoChar(b, 1);
	PutU32(b, 3);
	PutU32(b, (uint32) p->n_rings);
	for (int32 k = 0; k < p->n_rings; k++)
	{
		int64		ring = p->first_ring + k;
		int64		a = s->ring_start[ring],
					e = s->ring_start[ring + 1];

		PutU32(b, (uint32) (e - a));
		for (int64 q = a; q < e; q++)
		{
			PutF64(b, info->ip_x + s->xy[2 * q] * info->scale_x);
			PutF64(b, info->ip_y + s->xy[2 * q + 1] * info->scale_y);
		}
	}
}

/* One ring of an opencv contour: pixel centres in map coordinates, closed,
 * padded to the four points a ring needs by repeating its first vertex. */
static void
PutOpencvRing(StringInfo b, const OpencvContours *c, int64 i, const rast_info *info)
{
	int64		a = c->start[i],
				e = c->start[i + 1];
	int64		n = e - a;
	int64		total = Max(n + 1, 4);

	PutU32(b, (uint32) total);
	for (int64 k = 0; k < total; k++)
	{
		int64		q = k < n ? a + k : a;

		PutF64(b, info->ip_x + (c->xy[2 * q] + 0.5) * info->scale_x);
		PutF64(b, info->ip_y + (c->xy[2 * q + 1] + 0.5) * info->scale_y);
	}
}

/*
 * Mode opencv: one row per outer contour of cv2.findContours(RETR_CCOMP,
 * CHAIN_APPROX_SIMPLE), a polygon of it and its holes, in OpenCV's order;
 * area = the polygon's shoelace area (outer minus holes) in map units.
 */
static void
ContoursOpencvRows(FunctionCallInfo fcinfo, const double *img, const rast_info *info,
				   double level, const ContourOptions *o, double cell_area)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OpencvContours c;
	char		err[512];
	int32		id = 0;

	err[0] = '\0';
	if (contour_opencv(img, info->height, info->width, level, &c, mlops_palloc_allocator(),
					   err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot trace contours: %s", err[0] ? err : "the kernel refused")));
	InitMaterializedSRF(fcinfo, 0);
	for (int64 i = 0; i < c.n_contours;)
	{
		int64		holes = 0;
		double		area2;
		StringInfoData b;
		Datum		values[4];
		bool		nulls[4] = {false};
		bytea	   *out;

		while (i + 1 + holes < c.n_contours && c.parent[i + 1 + holes] == i)
			holes++;
		area2 = fabs(opencv_contour_area2(&c, i));
		for (int64 h = 1; h <= holes; h++)
			area2 -= fabs(opencv_contour_area2(&c, i + h));
		id++;
		if (o->min_area > 0 && !o->geodesic && area2 / 2 * cell_area < o->min_area)
		{
			i += 1 + holes;
			continue;
		}
		initStringInfo(&b);
		appendStringInfoChar(&b, 1);
		PutU32(&b, 3 | 0x20000000);
		PutU32(&b, (uint32) info->srid);
		PutU32(&b, (uint32) (1 + holes));
		for (int64 h = 0; h <= holes; h++)
			PutOpencvRing(&b, &c, i + h, info);
		out = (bytea *) palloc(VARHDRSZ + b.len);
		SET_VARSIZE(out, VARHDRSZ + b.len);
		memcpy(VARDATA(out), b.data, b.len);
		values[0] = Int32GetDatum(id);
		values[1] = PointerGetDatum(out);
		values[2] = Float8GetDatum(area2 / 2 * cell_area);
		values[3] = Float8GetDatum(c.max_value[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		i += 1 + holes;
	}
}

/*
 * Mode subpixel: one row per contour of skimage.measure.find_contours, in
 * its order; a closed contour (at least 4 points, last == first) is a
 * polygon, an open one a linestring (area 0); vertices (row, column) are in
 * cell-centre units: map point = corner + (column + 0.5, row + 0.5) x scale.
 * max_value is NULL.
 */
static void
ContoursSubpixelRows(FunctionCallInfo fcinfo, const double *img, const rast_info *info,
					 double level, const ContourOptions *o, double cell_area)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SubpixelContours c;
	char		err[512];

	err[0] = '\0';
	if (contour_subpixel(img, info->height, info->width, level, o->high_connected, o->high_oriented,
						 &c, mlops_palloc_allocator(), err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot trace contours: %s", err[0] ? err : "the kernel refused")));
	InitMaterializedSRF(fcinfo, 0);
	for (int64 i = 0; i < c.n_contours; i++)
	{
		int64		a = c.start[i],
					e = c.start[i + 1];
		bool		closed = e - a >= 4 && subpixel_contour_closed(&c, i);
		double		area = closed ? fabs(subpixel_contour_area2(&c, i)) / 2 * cell_area : 0;
		StringInfoData b;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, true};
		bytea	   *out;

		if (o->min_area > 0 && !o->geodesic && area < o->min_area)
			continue;
		initStringInfo(&b);
		appendStringInfoChar(&b, 1);
		PutU32(&b, (closed ? 3 : 2) | 0x20000000);
		PutU32(&b, (uint32) info->srid);
		if (closed)
			PutU32(&b, 1);
		PutU32(&b, (uint32) (e - a));
		for (int64 k = a; k < e; k++)
		{
			PutF64(&b, info->ip_x + (c.rc[2 * k + 1] + 0.5) * info->scale_x);
			PutF64(&b, info->ip_y + (c.rc[2 * k] + 0.5) * info->scale_y);
		}
		out = (bytea *) palloc(VARHDRSZ + b.len);
		SET_VARSIZE(out, VARHDRSZ + b.len);
		memcpy(VARDATA(out), b.data, b.len);
		values[0] = Int32GetDatum((int32) (i + 1));
		values[1] = PointerGetDatum(out);
		values[2] = Float8GetDatum(area);
		values[3] = (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * mlops.contours_ewkb(r raster, level float8, options jsonb, band int)
 *	  RETURNS TABLE(contour_id int, ewkb bytea, area float8, max_value float8)
 *
 * One row per component of the cells >= level (polygons; a MultiPolygon for
 * an 8-connected component whose parts meet only at corners), as EWKB in
 * the raster's SRID; area = cells x cell area.  mlops.contours turns it
 * into geometry and applies simplify and geodesic areas.
 */
Datum
mlops_contours_ewkb(PG_FUNCTION_ARGS)
{
	Datum		rast = PG_GETARG_DATUM(0);
	double		level = PG_GETARG_FLOAT8(1);
	Jsonb	   *opts = PG_GETARG_JSONB_P(2);
	int32		band = PG_GETARG_INT32(3);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ContourOptions o;
	ContourSet	s;
	rast_info	info;
	double	   *img;
	double		cell_area;
	char		err[512];
	int64		p;

	if (isnan(level))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be a number, not NaN")));
	ParseContourOptions(opts, &o);
	img = mlops_read_raster_band(rast, band, NAN, &info);
	if (o.geodesic && info.srid != 4326)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"geodesic\" needs a raster in EPSG:4326, not SRID %d", info.srid),
				 errhint("In a projected SRID, areas are in its units already.")));
	err[0] = '\0';
	if (o.blur > 1)
	{
		/* nodata cells count as 0 in the blur (they are NaN in img) */
		for (size_t k = 0; k < (size_t) info.width * info.height; k++)
			if (isnan(img[k]))
				img[k] = 0;
		if (contour_box_blur(img, img, info.height, info.width, o.blur, mlops_palloc_allocator(),
							 err, sizeof(err)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot blur: %s", err)));
	}
	cell_area = fabs(info.scale_x * info.scale_y);
	if (o.mode == CONTOUR_OPENCV)
	{
		ContoursOpencvRows(fcinfo, img, &info, level, &o, cell_area);
		PG_RETURN_NULL();
	}
	if (o.mode == CONTOUR_SUBPIXEL)
	{
		ContoursSubpixelRows(fcinfo, img, &info, level, &o, cell_area);
		PG_RETURN_NULL();
	}
	memset(&s, 0, sizeof(s));
	if (contour_cells(img, info.height, info.width, level, o.connectivity, &s, mlops_palloc_allocator(),
					  err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot trace contours: %s", err[0] ? err : "the kernel refused")));

	InitMaterializedSRF(fcinfo, 0);
	/* one row per component: its polygons chained in polygon order */
	{
		int64	   *first = palloc(sizeof(int64) * Max(s.n_components, 1));
		int64	   *count = palloc0(sizeof(int64) * Max(s.n_components, 1));
		int64	   *next = palloc(sizeof(int64) * Max(s.n_polygons, 1));
		int64	   *last = palloc(sizeof(int64) * Max(s.n_components, 1));

		for (int32 c = 0; c < s.n_components; c++)
			first[c] = last[c] = -1;
		for (p = 0; p < s.n_polygons; p++)
		{
			int32		c = s.polygons[p].part_of;

			next[p] = -1;
			if (first[c] < 0)
				first[c] = p;
			else
				next[last[c]] = p;
			last[c] = p;
			count[c]++;
		}
		for (int32 c = 0; c < s.n_components; c++)
		{
			StringInfoData b;
			int64		cells = 0;
			double		maxv = -INFINITY;
			Datum		values[4];
			bool		nulls[4] = {false};
			bytea	   *out;

			for (p = first[c]; p >= 0; p = next[p])
			{
				cells += s.polygons[p].cells;
				maxv = Max(maxv, s.polygons[p].max_value);
			}
			if (o.min_area > 0 && !o.geodesic && cells * cell_area < o.min_area)
				continue;
			/* EWKB: little-endian, the SRID flag; a Polygon, or a MultiPolygon of the parts */
			initStringInfo(&b);
			appendStringInfoChar(&b, 1);
			if (count[c] == 1)
			{
				StringInfoData body;

				PutU32(&b, 3 | 0x20000000);
				PutU32(&b, (uint32) info.srid);
				initStringInfo(&body);
				PutPolygon(&body, &s, &s.polygons[first[c]], &info);
				/* the polygon's rings, without its own byte order and type */
				appendBinaryStringInfo(&b, body.data + 5, body.len - 5);
			}
			else
			{
				PutU32(&b, 6 | 0x20000000);
				PutU32(&b, (uint32) info.srid);
				PutU32(&b, (uint32) count[c]);
				for (p = first[c]; p >= 0; p = next[p])
					PutPolygon(&b, &s, &s.polygons[p], &info);
			}
			out = (bytea *) palloc(VARHDRSZ + b.len);
			SET_VARSIZE(out, VARHDRSZ + b.len);
			memcpy(VARDATA(out), b.data, b.len);
			values[0] = Int32GetDatum(c + 1);
			values[1] = PointerGetDatum(out);
			values[2] = Float8GetDatum(cells * cell_area);
			values[3] = Float8GetDatum(maxv);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_RETURN_NULL();
}
