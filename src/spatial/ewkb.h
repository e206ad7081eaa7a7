/*
 * ewkb.h
 *	  Kernel: reading PostGIS (E)WKB — what ST_AsEWKB gives — without
 *	  PostGIS.  Pure C: no PostgreSQL headers.
 *
 *	  Three readers: ewkb_points collects the points of a Point, MultiPoint or
 *	  GeometryCollection (nested) with their Z as the value, for
 *	  mlops.interpolate_raster; ewkb_bbox finds the extent of any geometry,
 *	  for mlops.make_grid; ewkb_rings collects the lines and polygon rings
 *	  of a geometry, for the outline mlops.heatmap_svg draws.  Both accept either byte order, the EWKB flags
 *	  (Z 0x80000000, M 0x40000000, SRID 0x20000000) and ISO types (1000s:
 *	  Z, 2000s: M, 3000s: ZM), check every length against the buffer and
 *	  never read past it.  Empty points (NaN coordinates, as PostGIS writes
 *	  POINT EMPTY) are skipped.
 */
#ifndef MLOPS_EWKB_H
#define MLOPS_EWKB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

/* Why a reader refused its input (EWKB_OK when it did not). */
typedef enum ewkb_error
{
	EWKB_OK = 0,
	EWKB_TRUNCATED,				/* the buffer ends inside the geometry, or has bytes after it */
	EWKB_BAD_TYPE,				/* an unknown geometry type or byte order */
	EWKB_NOT_POINTS,			/* ewkb_points: a line, polygon or other non-point part */
	EWKB_NO_Z,					/* ewkb_points: a point without Z */
	EWKB_NOT_FINITE,			/* a NaN or infinite coordinate in a non-empty point, or Z */
	EWKB_TOO_DEEP,				/* collections nested deeper than EWKB_MAX_DEPTH */
	EWKB_CURVE,					/* ewkb_rings: a curved part (CircularString and kin) */
	EWKB_NOMEM
} ewkb_error;

#define EWKB_MAX_DEPTH 32

typedef struct ewkb_points_result
{
	double	   *x;				/* n each, allocated with the allocator given */
	double	   *y;
	double	   *z;
	size_t		n;
	int32_t		srid;			/* 0 when the outer geometry has none */
	bool		has_z;			/* the outer geometry has Z (even when empty) */
} ewkb_points_result;

/*
 * ewkb_points reads the points of buf.  require_z: a point without Z is
 * EWKB_NO_Z (else its value is 0 and z may be ignored).  On error nothing
 * is left allocated.
 */
extern ewkb_error ewkb_points(const uint8_t *buf, size_t len, bool require_z,
							  const mlops_allocator *a, ewkb_points_result *out);

typedef struct ewkb_bbox_result
{
	double		xmin,
				ymin,
				xmax,
				ymax;
	size_t		npoints;		/* coordinates seen (0: empty geometry, the box is meaningless) */
	int32_t		srid;
} ewkb_bbox_result;

/* ewkb_bbox reads the extent of any geometry (points, lines, polygons, curves, collections). */
extern ewkb_error ewkb_bbox(const uint8_t *buf, size_t len, ewkb_bbox_result *out);

typedef struct ewkb_rings_result
{
	double	   *xy;				/* x, y of every vertex, ring after ring */
	size_t		nvertices;
	size_t	   *start;			/* nrings + 1 offsets into the vertices */
	size_t		nrings;
	int32_t		srid;			/* 0 when the outer geometry has none */
} ewkb_rings_result;

/*
 * ewkb_rings reads the rings of the polygons and the lines of buf, in
 * order (a LineString is one ring, a Polygon one per ring, collections
 * their parts'); points are ignored and curves are EWKB_CURVE (linearize
 * them first).  Vertices must be finite.  On error nothing is left
 * allocated.
 */
extern ewkb_error ewkb_rings(const uint8_t *buf, size_t len, const mlops_allocator *a,
							 ewkb_rings_result *out);

/* ewkb_error_message: a sentence for an error code. */
extern const char *ewkb_error_message(ewkb_error e);

#endif							/* MLOPS_EWKB_H */
