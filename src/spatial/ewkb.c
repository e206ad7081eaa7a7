/*
 * ewkb.c
 *	  Kernel: reading the points or the extent of a PostGIS (E)WKB geometry
 *	  (see ewkb.h).
 *
 *	  One recursive reader walks the geometry; a visitor receives each
 *	  coordinate.  ewkb_points runs it twice — once to count, once to fill
 *	  arrays of exactly that size — so a hostile count in the input can never
 *	  make it allocate more than the buffer could hold.  Counts are checked
 *	  against the bytes left before any loop, so a reader of a corrupt
 *	  buffer ends in time proportional to its length.
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "spatial/ewkb.h"

#include <math.h>
#include <string.h>

#define WKB_POINT				1
#define WKB_LINESTRING			2
#define WKB_POLYGON				3
#define WKB_MULTIPOINT			4
#define WKB_MULTILINESTRING		5
#define WKB_MULTIPOLYGON		6
#define WKB_COLLECTION			7
#define WKB_CIRCULARSTRING		8
#define WKB_COMPOUNDCURVE		9
#define WKB_CURVEPOLYGON		10
#define WKB_MULTICURVE			11
#define WKB_MULTISURFACE		12
#define WKB_POLYHEDRALSURFACE	13
#define WKB_TIN					14
#define WKB_TRIANGLE			15

#define EWKB_Z		0x80000000u
#define EWKB_M		0x40000000u
#define EWKB_SRID	0x20000000u

typedef struct reader
{
	const uint8_t *p;
	const uint8_t *end;
	bool		points_only;	/* ewkb_points: only point parts are allowed */
	bool		require_z;
	bool		counting;		/* first pass: count, do not store */
	size_t		n;				/* points (or coordinates) seen */
	ewkb_points_result *pts;	/* second pass: arrays to fill */
	ewkb_bbox_result *box;
	bool		rings;			/* ewkb_rings: lines and rings, not points */
	bool		in_ring;		/* the coordinates being read are a ring's */
	size_t		nrings;
	ewkb_rings_result *rg;
} reader;

/*
 * rd_u32 reads a 4-byte unsigned integer in the given byte order.
 */
static bool
rd_u32(reader *r, bool little, uint32_t *v)
{
	const uint8_t *b = r->p;

	if (r->end - r->p < 4)
		return false;
	if (little)
		*v = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
	else
		*v = (uint32_t) b[3] | (uint32_t) b[2] << 8 | (uint32_t) b[1] << 16 | (uint32_t) b[0] << 24;
	r->p += 4;
	return true;
}

/*
 * rd_f64 reads an 8-byte IEEE double in the given byte order (the caller
 * has checked that the bytes are there).
 */
static double
rd_f64(const uint8_t *b, bool little)
{
	uint64_t	u = 0;
	double		d;

	for (int i = 0; i < 8; i++)
		u |= (uint64_t) b[little ? i : 7 - i] << (8 * i);
	memcpy(&d, &u, sizeof(d));
	return d;
}

/*
 * visit_coord hands one coordinate (x, y and, if any, z) to the pass that
 * is running.
 */
static ewkb_error
visit_coord(reader *r, double x, double y, bool has_z, double z)
{
	if (r->rings)
	{
		/* a point is not part of an outline, but is checked as ewkb_bbox does */
		if (!r->in_ring && isnan(x) && isnan(y))
			return EWKB_OK;
		if (!isfinite(x) || !isfinite(y))
			return EWKB_NOT_FINITE;
		if (!r->in_ring)
			return EWKB_OK;
		if (!r->counting)
		{
			r->rg->xy[2 * r->n] = x;
			r->rg->xy[2 * r->n + 1] = y;
		}
		r->n++;
		return EWKB_OK;
	}
	if (r->points_only)
	{
		/* PostGIS writes POINT EMPTY as NaN coordinates */
		if (isnan(x) && isnan(y))
			return EWKB_OK;
		if (!has_z && r->require_z)
			return EWKB_NO_Z;
		if (!isfinite(x) || !isfinite(y) || (has_z && !isfinite(z)))
			return EWKB_NOT_FINITE;
		if (!r->counting)
		{
			r->pts->x[r->n] = x;
			r->pts->y[r->n] = y;
			r->pts->z[r->n] = has_z ? z : 0.0;
		}
		r->n++;
		return EWKB_OK;
	}
	if (isnan(x) && isnan(y))
		return EWKB_OK;
	if (!isfinite(x) || !isfinite(y))
		return EWKB_NOT_FINITE;
	if (r->n == 0)
	{
		r->box->xmin = r->box->xmax = x;
		r->box->ymin = r->box->ymax = y;
	}
	else
	{
		if (x < r->box->xmin)
			r->box->xmin = x;
		if (x > r->box->xmax)
			r->box->xmax = x;
		if (y < r->box->ymin)
			r->box->ymin = y;
		if (y > r->box->ymax)
			r->box->ymax = y;
	}
	r->n++;
	return EWKB_OK;
}

/*
 * read_coords reads npoints coordinates of dims doubles each.
 */
static ewkb_error
read_coords(reader *r, bool little, uint32_t npoints, int dims, bool has_z)
{
	size_t		bytes = (size_t) dims * 8;

	if ((size_t) (r->end - r->p) / bytes < npoints)
		return EWKB_TRUNCATED;
	for (uint32_t i = 0; i < npoints; i++)
	{
		double		x = rd_f64(r->p, little);
		double		y = rd_f64(r->p + 8, little);
		double		z = has_z ? rd_f64(r->p + 16, little) : 0.0;
		ewkb_error	e;

		r->p += bytes;
		if ((e = visit_coord(r, x, y, has_z, z)) != EWKB_OK)
			return e;
	}
	return EWKB_OK;
}

/*
 * read_ring reads a ring (or a line) of npoints coordinates; ewkb_rings
 * records where it starts.
 */
static ewkb_error
read_ring(reader *r, bool little, uint32_t npoints, int dims, bool has_z)
{
	ewkb_error	e;

	if (r->rings)
	{
		if (!r->counting)
			r->rg->start[r->nrings] = r->n;
		r->nrings++;
		r->in_ring = true;
	}
	e = read_coords(r, little, npoints, dims, has_z);
	r->in_ring = false;
	return e;
}

/*
 * read_geometry reads one geometry (byte order, type, optional SRID, body)
 * at depth; the outer one reports its SRID and Z flag in *srid and *outer_z.
 */
static ewkb_error
read_geometry(reader *r, int depth, int32_t *srid, bool *outer_z)
{
	uint32_t	type;
	uint32_t	base;
	bool		little;
	bool		has_z;
	bool		has_m;
	int			dims;
	uint32_t	count;
	ewkb_error	e;

	if (depth > EWKB_MAX_DEPTH)
		return EWKB_TOO_DEEP;
	if (r->p >= r->end)
		return EWKB_TRUNCATED;
	if (*r->p > 1)
		return EWKB_BAD_TYPE;
	little = *r->p++ == 1;
	if (!rd_u32(r, little, &type))
		return EWKB_TRUNCATED;

	has_z = (type & EWKB_Z) != 0;
	has_m = (type & EWKB_M) != 0;
	if (type & EWKB_SRID)
	{
		uint32_t	s;

		if (!rd_u32(r, little, &s))
			return EWKB_TRUNCATED;
		if (depth == 0 && srid != NULL)
			*srid = (int32_t) s;
	}
	base = type & 0x0FFFFFFFu;
	/* ISO WKB: 1000s Z, 2000s M, 3000s ZM */
	if (base >= 1000 && base < 4000)
	{
		if (base / 1000 == 1 || base / 1000 == 3)
			has_z = true;
		if (base / 1000 == 2 || base / 1000 == 3)
			has_m = true;
		base %= 1000;
	}
	if (depth == 0 && outer_z != NULL)
		*outer_z = has_z;
	dims = 2 + (has_z ? 1 : 0) + (has_m ? 1 : 0);

	switch (base)
	{
		case WKB_POINT:
			return read_coords(r, little, 1, dims, has_z);

		case WKB_LINESTRING:
		case WKB_CIRCULARSTRING:
			if (r->points_only)
				return EWKB_NOT_POINTS;
			if (r->rings && base == WKB_CIRCULARSTRING)
				return EWKB_CURVE;
			if (!rd_u32(r, little, &count))
				return EWKB_TRUNCATED;
			return read_ring(r, little, count, dims, has_z);

		case WKB_POLYGON:
		case WKB_TRIANGLE:
			if (r->points_only)
				return EWKB_NOT_POINTS;
			if (!rd_u32(r, little, &count))
				return EWKB_TRUNCATED;
			/* each ring has at least its 4-byte count */
			if ((size_t) (r->end - r->p) / 4 < count)
				return EWKB_TRUNCATED;
			for (uint32_t i = 0; i < count; i++)
			{
				uint32_t	npoints;

				if (!rd_u32(r, little, &npoints))
					return EWKB_TRUNCATED;
				if ((e = read_ring(r, little, npoints, dims, has_z)) != EWKB_OK)
					return e;
			}
			return EWKB_OK;

		case WKB_MULTIPOINT:
		case WKB_COLLECTION:
		case WKB_MULTILINESTRING:
		case WKB_MULTIPOLYGON:
		case WKB_COMPOUNDCURVE:
		case WKB_CURVEPOLYGON:
		case WKB_MULTICURVE:
		case WKB_MULTISURFACE:
		case WKB_POLYHEDRALSURFACE:
		case WKB_TIN:
			if (r->points_only && base != WKB_MULTIPOINT && base != WKB_COLLECTION)
				return EWKB_NOT_POINTS;
			if (r->rings && (base == WKB_COMPOUNDCURVE || base == WKB_CURVEPOLYGON ||
							 base == WKB_MULTICURVE || base == WKB_MULTISURFACE))
				return EWKB_CURVE;
			if (!rd_u32(r, little, &count))
				return EWKB_TRUNCATED;
			/* each part has at least a byte order and a type */
			if ((size_t) (r->end - r->p) / 5 < count)
				return EWKB_TRUNCATED;
			for (uint32_t i = 0; i < count; i++)
				if ((e = read_geometry(r, depth + 1, NULL, NULL)) != EWKB_OK)
					return e;
			return EWKB_OK;

		default:
			return EWKB_BAD_TYPE;
	}
}

/*
 * run_pass reads the whole buffer once with r's settings; the buffer must
 * hold exactly one geometry.
 */
static ewkb_error
run_pass(reader *r, const uint8_t *buf, size_t len, int32_t *srid, bool *outer_z)
{
	ewkb_error	e;

	r->p = buf;
	r->end = buf + len;
	r->n = 0;
	r->nrings = 0;
	if ((e = read_geometry(r, 0, srid, outer_z)) != EWKB_OK)
		return e;
	return r->p == r->end ? EWKB_OK : EWKB_TRUNCATED;
}

ewkb_error
ewkb_points(const uint8_t *buf, size_t len, bool require_z,
			const mlops_allocator *a, ewkb_points_result *out)
{
	reader		r;
	ewkb_error	e;
	size_t		n;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.points_only = true;
	r.require_z = require_z;
	r.counting = true;
	r.pts = out;
	if ((e = run_pass(&r, buf, len, &out->srid, &out->has_z)) != EWKB_OK)
		return e;
	n = r.n;
	if (n > 0)
	{
		out->x = mlops_alloc(a, n * sizeof(double));
		out->y = mlops_alloc(a, n * sizeof(double));
		out->z = mlops_alloc(a, n * sizeof(double));
		if (out->x == NULL || out->y == NULL || out->z == NULL)
		{
			mlops_free(a, out->x);
			mlops_free(a, out->y);
			mlops_free(a, out->z);
			memset(out, 0, sizeof(*out));
			return EWKB_NOMEM;
		}
		r.counting = false;
		/* the same bytes give the same walk: this pass cannot fail */
		(void) run_pass(&r, buf, len, NULL, NULL);
	}
	out->n = n;
	return EWKB_OK;
}

ewkb_error
ewkb_bbox(const uint8_t *buf, size_t len, ewkb_bbox_result *out)
{
	reader		r;
	ewkb_error	e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.box = out;
	e = run_pass(&r, buf, len, &out->srid, NULL);
	out->npoints = r.n;
	return e;
}

ewkb_error
ewkb_rings(const uint8_t *buf, size_t len, const mlops_allocator *a, ewkb_rings_result *out)
{
	reader		r;
	ewkb_error	e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.rings = true;
	r.counting = true;
	r.rg = out;
	if ((e = run_pass(&r, buf, len, &out->srid, NULL)) != EWKB_OK)
		return e;
	out->xy = mlops_alloc(a, (r.n > 0 ? r.n : 1) * 2 * sizeof(double));
	out->start = mlops_alloc(a, (r.nrings + 1) * sizeof(size_t));
	if (out->xy == NULL || out->start == NULL)
	{
		mlops_free(a, out->xy);
		mlops_free(a, out->start);
		memset(out, 0, sizeof(*out));
		return EWKB_NOMEM;
	}
	r.counting = false;
	/* the same bytes give the same walk: this pass cannot fail */
	(void) run_pass(&r, buf, len, NULL, NULL);
	out->start[r.nrings] = r.n;
	out->nvertices = r.n;
	out->nrings = r.nrings;
	return EWKB_OK;
}

const char *
ewkb_error_message(ewkb_error e)
{
	switch (e)
	{
		case EWKB_OK:
			return "no error";
		case EWKB_TRUNCATED:
			return "the geometry's binary form is truncated or has trailing bytes";
		case EWKB_BAD_TYPE:
			return "the geometry has an unknown type or byte order";
		case EWKB_NOT_POINTS:
			return "the geometry must be a Point, MultiPoint or GeometryCollection of points";
		case EWKB_NO_Z:
			return "the points must have Z values (the value to interpolate)";
		case EWKB_NOT_FINITE:
			return "a coordinate or Z value is NaN or infinite";
		case EWKB_TOO_DEEP:
			return "geometry collections are nested too deeply";
		case EWKB_CURVE:
			return "curved geometries are not supported (linearize them with ST_CurveToLine)";
		case EWKB_NOMEM:
			return "out of memory";
	}
	return "unknown error";
}
