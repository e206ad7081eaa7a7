/*
 * raster.h
 *	  Kernel: PostGIS rasters without PostGIS — reading the header and band 1
 *	  of a raster's stored (serialized) form, and writing a one-band raster
 *	  as PostGIS raster WKB (what ST_RastFromWKB reads).  Pure C: no
 *	  PostgreSQL headers.  Both formats are PostGIS's version 0 layouts
 *	  (raster/rt_core/rt_serialize.c and rt_wkb.c; doc/RFC2-WellKnownBinaryFormat).
 */
#ifndef MLOPS_RASTER_H
#define MLOPS_RASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PostGIS pixel types (rt_pixtype) */
typedef enum rast_pixtype
{
	RAST_1BB = 0,
	RAST_2BUI = 1,
	RAST_4BUI = 2,
	RAST_8BSI = 3,
	RAST_8BUI = 4,
	RAST_16BSI = 5,
	RAST_16BUI = 6,
	RAST_32BSI = 7,
	RAST_32BUI = 8,
	RAST_32BF = 10,
	RAST_64BF = 11
} rast_pixtype;

/* Bytes a serialized raster's fixed header takes (before its bands). */
#define RAST_SERIALIZED_HEADER 64

/* Bytes of the stored form that rast_read_serialized needs at most. */
#define RAST_SERIALIZED_PREFIX (RAST_SERIALIZED_HEADER + 16)

/* The largest width or height a PostGIS raster can have (uint16). */
#define RAST_MAX_DIM 65535

typedef struct rast_info
{
	double		scale_x;
	double		scale_y;
	double		ip_x;			/* upper-left corner */
	double		ip_y;
	double		skew_x;
	double		skew_y;
	int32_t		srid;
	int			width;
	int			height;
	int			nbands;
	/* band 1, when nbands > 0 */
	rast_pixtype pixtype;
	bool		offline;		/* stored outside the database (out-db) */
	bool		has_nodata;
	double		nodata;
	int			band;			/* the band the fields above describe (1-based) */
	size_t		data_offset;	/* where its pixels start in the stored form */
} rast_info;

typedef enum rast_error
{
	RAST_OK = 0,
	RAST_TRUNCATED,				/* shorter than its header says */
	RAST_BAD_VERSION,			/* not a version 0 serialized raster */
	RAST_BAD_PIXTYPE
} rast_error;

/*
 * rast_read_serialized reads the header and band 1's type and nodata of a
 * raster's stored form: buf is the detoasted value (4-byte length word
 * first), len the bytes available (at least RAST_SERIALIZED_PREFIX or the
 * whole value, whichever is shorter).
 */
extern rast_error rast_read_serialized(const uint8_t *buf, size_t len, rast_info *out);

/*
 * rast_read_band1 reads band 1's pixels of a stored raster (buf, len: the
 * whole detoasted value, info from rast_read_serialized) into out (width *
 * height doubles, row-major, row 0 north).  RAST_TRUNCATED when the pixels
 * are not all there; an out-db band (info->offline) is the caller's to refuse.
 */
extern rast_error rast_read_band1(const uint8_t *buf, size_t len, const rast_info *info, double *out);

/*
 * rast_select_band makes info describe band (1-based) of the stored raster
 * buf/len (info from rast_read_serialized): its type, nodata, out-db flag
 * and where its pixels are.  Walks the bands before it (PostGIS pads each
 * band to 8 bytes).  RAST_TRUNCATED when band is out of range or the bands
 * are not all there.
 */
extern rast_error rast_select_band(const uint8_t *buf, size_t len, int band, rast_info *info);

/* rast_read_band reads the pixels of the band info describes (see rast_read_band1). */
extern rast_error rast_read_band(const uint8_t *buf, size_t len, const rast_info *info, double *out);

/* rast_pixtype_from_name: "32BF" etc. (case-insensitive); -1 when unknown. */
extern int	rast_pixtype_from_name(const char *name);
extern const char *rast_pixtype_name(rast_pixtype t);

/* Bytes a pixel of type t takes (1 for the sub-byte types, as PostGIS stores them). */
extern int	rast_pixtype_size(rast_pixtype t);

/*
 * rast_pixel_value converts a value as GDAL writes a double into a band of
 * type t: NaN gives fill_nan, integers round half up (floor(v + 0.5)) and
 * clamp to the type's range, 32BF clamps finite values to the float range.
 * The result is returned as a double that the type represents exactly.
 */
extern double rast_pixel_value(rast_pixtype t, double v, double fill_nan);

/*
 * rast_wkb_size: bytes of the WKB of a one-band raster of width x height
 * pixels of type t (0 when width * height overflows).
 */
extern size_t rast_wkb_size(int width, int height, rast_pixtype t);

/*
 * rast_wkb_write writes a one-band little-endian raster WKB to out
 * (rast_wkb_size bytes): georeference and SRID from geo (its band fields
 * are ignored), band 1 of type t with the nodata flag and value given, and
 * the pixels from values (row-major, row 0 north) converted with
 * rast_pixel_value — or, when values is NULL, every pixel set to fill.
 */
extern void rast_wkb_write(const rast_info *geo, rast_pixtype t, bool has_nodata, double nodata,
						   const double *values, double fill, uint8_t *out);

#endif							/* MLOPS_RASTER_H */
