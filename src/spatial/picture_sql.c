/*-------------------------------------------------------------------------
 *
 * picture_sql.c
 *	  SQL glue of the heatmap picture kernel (picture.c): mlops.heatmap_png
 *	  and mlops.heatmap_svg read band 1 of a raster (nodata and NaN become
 *	  transparent) and, for the SVG, the sensors as points in the raster's
 *	  coordinates, and give a picture a person can read: a colour bar with
 *	  the value range and units, the sensors marked.  mlops.heatmap_overlay_png
 *	  draws points and outlines over the PNG (the detections picture).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "pg_mlops.h"
#include "util/alloc.h"
#include "spatial/ewkb.h"
#include "spatial/picture.h"
#include "spatial/raster.h"

/* The largest picture returned (bytes). */
#define PICTURE_MAX_BYTES (256 * 1024 * 1024)

typedef struct PictureOptions
{
	picture_style style;
	bool		has_vmin;
	bool		has_vmax;
	char	   *title;
	char	   *subtitle;
	char	   *units;
	char	   *nodata_note;
	char	   *points_label;
	char	   *outline_label;
	char	  **labels;
	int			nlabels;
	/* mlops.heatmap_overlay_png's */
	uint8_t		point_rgb[3];
	uint8_t		line_rgb[3];
	int			marker_radius;
	int			line_width;
} PictureOptions;

static const char *const picture_option_names = "colormap, vmin, vmax, scale, title, subtitle, units, nodata_note, labels, points_label, outline_label";
static const char *const overlay_option_names = "colormap, vmin, vmax, scale, point_color, line_color, marker_radius, line_width";

/*
 * OptionText reads a string option.
 */
static char *
OptionText(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a string", key)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * OptionColor reads a colour option, "#RRGGBB".
 */
static void
OptionColor(const char *key, JsonbValue *v, uint8_t rgb[3])
{
	char	   *text = OptionText(key, v);
	unsigned int r,
				g,
				b;
	int			used = 0;

	if (strlen(text) != 7 || sscanf(text, "#%2x%2x%2x%n", &r, &g, &b, &used) != 3 || used != 7)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a colour as \"#RRGGBB\", not \"%s\"", key, text)));
	rgb[0] = (uint8_t) r;
	rgb[1] = (uint8_t) g;
	rgb[2] = (uint8_t) b;
}

/*
 * OptionPixels reads a whole number of pixels from 1 to max.
 */
static int
OptionPixels(const char *key, JsonbValue *v, int max)
{
	double		d = mlops_option_number(key, v);

	if (d != floor(d) || d < 1 || d > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a whole number of pixels from 1 to %d", key, max)));
	return (int) d;
}

/*
 * ParseOptions reads the options object; unknown keys are refused with the
 * list of valid ones.  overlay: mlops.heatmap_overlay_png's options (the
 * PNG's and the overlay's, none of the SVG's texts).
 */
static void
ParseOptions(Jsonb *options, PictureOptions *o, bool overlay)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken r;

	memset(o, 0, sizeof(*o));
	o->style.colormap = PICTURE_RDYLGN_R;
	o->point_rgb[0] = 255;		/* magenta: no colour map has it */
	o->point_rgb[2] = 255;
	memset(o->line_rgb, 255, 3);	/* white */
	o->marker_radius = 6;
	o->line_width = 2;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&options->root);
	while ((r = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (r != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		r = JsonbIteratorNext(&it, &v, true);
		if (overlay && strcmp(key, "point_color") == 0)
			OptionColor(key, &v, o->point_rgb);
		else if (overlay && strcmp(key, "line_color") == 0)
			OptionColor(key, &v, o->line_rgb);
		else if (overlay && strcmp(key, "marker_radius") == 0)
			o->marker_radius = OptionPixels(key, &v, PICTURE_MAX_MARKER_RADIUS);
		else if (overlay && strcmp(key, "line_width") == 0)
			o->line_width = OptionPixels(key, &v, PICTURE_MAX_LINE_WIDTH);
		else if (overlay && strcmp(key, "colormap") != 0 && strcmp(key, "vmin") != 0 &&
				 strcmp(key, "vmax") != 0 && strcmp(key, "scale") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Valid options are %s.", overlay_option_names)));
		else if (strcmp(key, "colormap") == 0)
		{
			char	   *name = OptionText(key, &v);
			int			cm = picture_colormap_from_name(name);

			if (cm < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown colormap \"%s\"", name),
						 errhint("Colormaps are rdylgn_r (green low, red high) and viridis.")));
			o->style.colormap = (picture_colormap) cm;
		}
		else if (strcmp(key, "vmin") == 0)
		{
			o->style.vmin = mlops_option_number(key, &v);
			o->has_vmin = true;
		}
		else if (strcmp(key, "vmax") == 0)
		{
			o->style.vmax = mlops_option_number(key, &v);
			o->has_vmax = true;
		}
		else if (strcmp(key, "scale") == 0)
		{
			double		d = mlops_option_number(key, &v);

			if (d != floor(d) || d < 1 || d > PICTURE_MAX_SCALE)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"scale\" must be a whole number from 1 to %d", PICTURE_MAX_SCALE)));
			o->style.scale = (int) d;
		}
		else if (strcmp(key, "title") == 0)
			o->title = OptionText(key, &v);
		else if (strcmp(key, "subtitle") == 0)
			o->subtitle = OptionText(key, &v);
		else if (strcmp(key, "units") == 0)
			o->units = OptionText(key, &v);
		else if (strcmp(key, "nodata_note") == 0)
			o->nodata_note = OptionText(key, &v);
		else if (strcmp(key, "points_label") == 0)
			o->points_label = OptionText(key, &v);
		else if (strcmp(key, "outline_label") == 0)
			o->outline_label = OptionText(key, &v);
		else if (strcmp(key, "labels") == 0)
		{
			JsonbIterator *ai;
			JsonbValue	e;
			JsonbIteratorToken t;

			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"labels\" must be an array of strings, one per sensor")));
			o->labels = palloc0(sizeof(char *) * (JsonContainerSize(v.val.binary.data) + 1));
			ai = JsonbIteratorInit(v.val.binary.data);
			while ((t = JsonbIteratorNext(&ai, &e, true)) != WJB_DONE)
				if (t == WJB_ELEM)
					o->labels[o->nlabels++] = e.type == jbvNull ? NULL : OptionText("labels", &e);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Valid options are %s.", picture_option_names)));
	}
}

/*
 * ReadGrid reads band 1 of a raster into g, its georeference into info, and
 * fills the value range the options leave open from the data.
 */
static void
ReadGrid(Datum d, rast_info *info, picture_grid *g, PictureOptions *o)
{
	struct varlena *v = PG_DETOAST_DATUM(d);
	rast_error	e = rast_read_serialized((const uint8 *) v, VARSIZE_ANY(v), info);
	double	   *values;
	double		lo = INFINITY,
				hi = -INFINITY;

	if (e == RAST_OK && info->nbands < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raster has no band to draw")));
	if (e == RAST_OK && info->offline)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raster band 1 is stored outside the database")));
	if (e == RAST_OK && (info->width < 1 || info->height < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raster is empty (%d x %d cells)", info->width, info->height)));
	if (e == RAST_OK && (double) info->width * info->height > mlops_max_raster_cells)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raster has %d x %d cells, more than mlops.max_raster_cells (%d)",
						info->width, info->height, mlops_max_raster_cells)));
	values = e == RAST_OK ? palloc_extended(sizeof(double) * info->width * info->height, MCXT_ALLOC_HUGE) : NULL;
	if (e == RAST_OK)
		e = rast_read_band1((const uint8 *) v, VARSIZE_ANY(v), info, values);
	if (e != RAST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("not a raster pg_mlops can read (%s)",
						e == RAST_TRUNCATED ? "truncated" : e == RAST_BAD_VERSION ? "unknown version" : "unknown pixel type")));
	g->values = values;
	g->width = info->width;
	g->height = info->height;
	g->has_nodata = info->has_nodata;
	g->nodata = info->nodata;
	for (size_t k = 0; k < (size_t) info->width * info->height; k++)
		if (isfinite(values[k]) && !(info->has_nodata && values[k] == info->nodata))
		{
			lo = Min(lo, values[k]);
			hi = Max(hi, values[k]);
		}
	if (!o->has_vmin)
		o->style.vmin = isfinite(lo) ? lo : 0;
	if (!o->has_vmax)
		o->style.vmax = isfinite(hi) ? hi : 1;
	if (o->style.vmin > o->style.vmax)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vmin %g is above vmax %g", o->style.vmin, o->style.vmax)));
	if (o->style.scale == 0)
		o->style.scale = picture_default_scale(info->width, info->height);
}

/*
 * PictureError raises the kernel's error with a matching errcode.
 */
static void
PictureError(picture_status st, const char *err)
{
	ereport(ERROR,
			(errcode(st == PICTURE_NOMEM ? ERRCODE_OUT_OF_MEMORY
					 : st == PICTURE_TOO_LARGE ? ERRCODE_PROGRAM_LIMIT_EXCEEDED
					 : ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("cannot draw the heatmap: %s", err[0] ? err : picture_status_message(st))));
}

PG_FUNCTION_INFO_V1(mlops_heatmap_png);

/*
 * mlops_heatmap_png(raster, options) returns band 1 as a PNG.
 */
Datum
mlops_heatmap_png(PG_FUNCTION_ARGS)
{
	PictureOptions o;
	rast_info	info;
	picture_grid g;
	uint8_t    *png;
	size_t		len;
	char		err[256] = "";
	picture_status st;
	bytea	   *out;

	ParseOptions(PG_GETARG_JSONB_P(1), &o, false);
	ReadGrid(PG_GETARG_DATUM(0), &info, &g, &o);
	st = picture_png(&g, &o.style, PICTURE_MAX_BYTES, mlops_palloc_allocator(), &png, &len, err, sizeof(err));
	if (st != PICTURE_OK)
		PictureError(st, err);
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), png, len);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(mlops_heatmap_svg);

/*
 * GeometryEwkb returns argument i (a PostGIS geometry) as EWKB.
 */
static bytea *
GeometryEwkb(FunctionCallInfo fcinfo, int i)
{
	FmgrInfo	asewkb;
	Oid			geomtype = get_fn_expr_argtype(fcinfo->flinfo, i);

	mlops_postgis_function(geomtype, "st_asewkb", geomtype, &asewkb);
	return DatumGetByteaPP(FunctionCall1(&asewkb, PG_GETARG_DATUM(i)));
}

/*
 * AreaRings reads the polygons and lines of argument argno (what: its name
 * in errors) as rings in the raster's cell coordinates.
 */
static picture_ring *
AreaRings(FunctionCallInfo fcinfo, int argno, const char *what, const rast_info *info, int *nrings)
{
	bytea	   *ewkb = GeometryEwkb(fcinfo, argno);
	ewkb_rings_result g;
	ewkb_error	e;
	picture_ring *rings;

	e = ewkb_rings((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), mlops_palloc_allocator(), &g);
	if (e != EWKB_OK)
		ereport(ERROR,
				(errcode(e == EWKB_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: %s", what, ewkb_error_message(e))));
	if (g.nvertices > 0 && g.srid != 0 && info->srid != 0 && g.srid != info->srid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s%s SRID %d is not the raster's %d", what,
						what[strlen(what) - 1] == 's' ? "'" : "'s", g.srid, info->srid)));
	if (g.nrings > (size_t) PG_INT32_MAX / 2 || g.nvertices > (size_t) PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many vertices to draw in the %s", what)));
	for (size_t k = 0; k < g.nvertices; k++)
	{
		g.xy[2 * k] = (g.xy[2 * k] - info->ip_x) / info->scale_x;
		g.xy[2 * k + 1] = (g.xy[2 * k + 1] - info->ip_y) / info->scale_y;
	}
	rings = palloc0(sizeof(picture_ring) * Max(g.nrings, 1));
	*nrings = 0;
	for (size_t i = 0; i < g.nrings; i++)
	{
		if (g.start[i + 1] - g.start[i] < 2)
			continue;			/* an empty ring draws nothing */
		rings[*nrings].xy = g.xy + 2 * g.start[i];
		rings[*nrings].n = (int) (g.start[i + 1] - g.start[i]);
		(*nrings)++;
	}
	return rings;
}

/*
 * mlops_heatmap_svg(raster, sensors geometry or NULL, options, area
 * geometry or NULL) returns an SVG document around the PNG: title, colour
 * bar, units, sensors, the area's outline.
 */
Datum
mlops_heatmap_svg(PG_FUNCTION_ARGS)
{
	PictureOptions o;
	rast_info	info;
	picture_grid g;
	picture_svg_options so;
	picture_sensor *sensors = NULL;
	int			nsensors = 0;
	char	   *svg;
	size_t		len;
	char		err[256] = "";
	picture_status st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ParseOptions(PG_ARGISNULL(2) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
				 : PG_GETARG_JSONB_P(2), &o, false);
	ReadGrid(PG_GETARG_DATUM(0), &info, &g, &o);
	if (!PG_ARGISNULL(1))
	{
		bytea	   *ewkb = GeometryEwkb(fcinfo, 1);
		ewkb_points_result pts;
		ewkb_error	e;

		e = ewkb_points((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), false,
						mlops_palloc_allocator(), &pts);

		if (e != EWKB_OK)
			ereport(ERROR,
					(errcode(e == EWKB_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sensors: %s", ewkb_error_message(e))));
		if (pts.n > 0 && pts.srid != 0 && info.srid != 0 && pts.srid != info.srid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the sensors' SRID %d is not the raster's %d", pts.srid, info.srid)));
		if (o.nlabels > 0 && (size_t) o.nlabels != pts.n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"labels\" has %d labels for %zu sensors", o.nlabels, pts.n)));
		nsensors = (int) pts.n;
		sensors = palloc0(sizeof(picture_sensor) * Max(nsensors, 1));
		for (int i = 0; i < nsensors; i++)
		{
			sensors[i].col = (pts.x[i] - info.ip_x) / info.scale_x;
			sensors[i].row = (pts.y[i] - info.ip_y) / info.scale_y;
			sensors[i].label = o.nlabels > 0 ? o.labels[i] : NULL;
		}
	}
	memset(&so, 0, sizeof(so));
	so.title = o.title;
	so.subtitle = o.subtitle;
	so.units = o.units;
	so.nodata_note = o.nodata_note;
	so.points_label = o.points_label;
	so.outline_label = o.outline_label;
	so.sensors = sensors;
	so.nsensors = nsensors;
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		so.rings = AreaRings(fcinfo, 3, "area", &info, &so.nrings);
	st = picture_svg(&g, &o.style, &so, PICTURE_MAX_BYTES, mlops_palloc_allocator(), &svg, &len, err, sizeof(err));
	if (st != PICTURE_OK)
		PictureError(st, err);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(svg, (int) len));
}

/*
 * ReadMarkers reads the points of argument argno (what: their name in
 * errors) in the raster's cell coordinates, without labels.
 */
static picture_sensor *
ReadMarkers(FunctionCallInfo fcinfo, int argno, const char *what, const rast_info *info, int *n)
{
	bytea	   *ewkb = GeometryEwkb(fcinfo, argno);
	ewkb_points_result pts;
	ewkb_error	e;
	picture_sensor *m;

	e = ewkb_points((const uint8 *) VARDATA_ANY(ewkb), VARSIZE_ANY_EXHDR(ewkb), false,
					mlops_palloc_allocator(), &pts);
	if (e != EWKB_OK)
		ereport(ERROR,
				(errcode(e == EWKB_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: %s", what, ewkb_error_message(e))));
	if (pts.n > 0 && pts.srid != 0 && info->srid != 0 && pts.srid != info->srid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s' SRID %d is not the raster's %d", what, pts.srid, info->srid)));
	if (pts.n > (size_t) PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many %s to draw", what)));
	*n = (int) pts.n;
	m = palloc0(sizeof(picture_sensor) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		m[i].col = (pts.x[i] - info->ip_x) / info->scale_x;
		m[i].row = (pts.y[i] - info->ip_y) / info->scale_y;
	}
	return m;
}

PG_FUNCTION_INFO_V1(mlops_heatmap_overlay_png);

/*
 * mlops_heatmap_overlay_png(raster, points geometry or NULL, outlines
 * geometry or NULL, options) returns heatmap_png's PNG with the outlines
 * drawn as lines and the points as markers over it.
 */
Datum
mlops_heatmap_overlay_png(PG_FUNCTION_ARGS)
{
	PictureOptions o;
	rast_info	info;
	picture_grid g;
	picture_overlay ov;
	uint8_t    *png;
	size_t		len;
	char		err[256] = "";
	picture_status st;
	bytea	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ParseOptions(PG_ARGISNULL(3) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
				 : PG_GETARG_JSONB_P(3), &o, true);
	ReadGrid(PG_GETARG_DATUM(0), &info, &g, &o);
	memset(&ov, 0, sizeof(ov));
	if (!PG_ARGISNULL(1))
		ov.markers = ReadMarkers(fcinfo, 1, "points", &info, &ov.nmarkers);
	if (!PG_ARGISNULL(2))
		ov.rings = AreaRings(fcinfo, 2, "outlines", &info, &ov.nrings);
	memcpy(ov.marker_rgb, o.point_rgb, 3);
	memcpy(ov.line_rgb, o.line_rgb, 3);
	ov.marker_radius = o.marker_radius;
	ov.line_width = o.line_width;
	st = picture_png_overlay(&g, &o.style, &ov, PICTURE_MAX_BYTES, mlops_palloc_allocator(), &png, &len, err, sizeof(err));
	if (st != PICTURE_OK)
		PictureError(st, err);
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), png, len);
	PG_RETURN_BYTEA_P(out);
}
