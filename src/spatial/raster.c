/*
 * raster.c
 *	  Kernel: the stored form and the WKB of PostGIS rasters (see raster.h).
 *
 *	  The stored (serialized) form is in the machine's byte order:
 *	  uint32 length word, uint16 version (0), uint16 band count, six doubles
 *	  (scale x/y, upper-left x/y, skew x/y), int32 SRID, uint16 width and
 *	  height; then each band: one byte of flags (0x80 out-db, 0x40 has
 *	  nodata, 0x20 all nodata) and pixel type, padding to the pixel size,
 *	  the nodata value, the pixels.  The WKB is the same header after a
 *	  byte-order byte and without the length word, and bands without
 *	  padding.
 *
 *	  Pure C: no PostgreSQL headers.
 */
#include "spatial/raster.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <string.h>

#define BAND_OFFDB		0x80
#define BAND_HASNODATA	0x40
#define BAND_PIXTYPE	0x0F

static const struct
{
	rast_pixtype t;
	const char *name;
	int			size;
	double		lo;
	double		hi;
}			pixtypes[] =
{
	{RAST_1BB, "1BB", 1, 0, 1},
	{RAST_2BUI, "2BUI", 1, 0, 3},
	{RAST_4BUI, "4BUI", 1, 0, 15},
	{RAST_8BSI, "8BSI", 1, -128, 127},
	{RAST_8BUI, "8BUI", 1, 0, 255},
	{RAST_16BSI, "16BSI", 2, -32768, 32767},
	{RAST_16BUI, "16BUI", 2, 0, 65535},
	{RAST_32BSI, "32BSI", 4, -2147483648.0, 2147483647.0},
	{RAST_32BUI, "32BUI", 4, 0, 4294967295.0},
	{RAST_32BF, "32BF", 4, -FLT_MAX, FLT_MAX},
	{RAST_64BF, "64BF", 8, -DBL_MAX, DBL_MAX},
};

#define NPIXTYPES ((int) (sizeof(pixtypes) / sizeof(pixtypes[0])))

/*
 * pixtype_index returns t's row in pixtypes, or -1.
 */
static int
pixtype_index(int t)
{
	for (int i = 0; i < NPIXTYPES; i++)
		if ((int) pixtypes[i].t == t)
			return i;
	return -1;
}

int
rast_pixtype_from_name(const char *name)
{
	for (int i = 0; i < NPIXTYPES; i++)
	{
		const char *a = pixtypes[i].name;
		const char *b = name;

		while (*a && *b && toupper((unsigned char) *a) == toupper((unsigned char) *b))
			a++, b++;
		if (*a == '\0' && *b == '\0')
			return (int) pixtypes[i].t;
	}
	return -1;
}

const char *
rast_pixtype_name(rast_pixtype t)
{
	int			i = pixtype_index(t);

	return i < 0 ? "unknown" : pixtypes[i].name;
}

int
rast_pixtype_size(rast_pixtype t)
{
	int			i = pixtype_index(t);

	return i < 0 ? 0 : pixtypes[i].size;
}

/*
 * read_native reads a value of type t stored in the machine's byte order.
 */
static double
read_native(const uint8_t *p, rast_pixtype t)
{
	switch (t)
	{
		case RAST_8BSI:
			return (double) (int8_t) p[0];
		case RAST_16BSI:
			{
				int16_t		v;

				memcpy(&v, p, 2);
				return v;
			}
		case RAST_16BUI:
			{
				uint16_t	v;

				memcpy(&v, p, 2);
				return v;
			}
		case RAST_32BSI:
			{
				int32_t		v;

				memcpy(&v, p, 4);
				return v;
			}
		case RAST_32BUI:
			{
				uint32_t	v;

				memcpy(&v, p, 4);
				return v;
			}
		case RAST_32BF:
			{
				float		v;

				memcpy(&v, p, 4);
				return v;
			}
		case RAST_64BF:
			{
				double		v;

				memcpy(&v, p, 8);
				return v;
			}
		default:
			return (double) p[0];
	}
}

rast_error
rast_read_serialized(const uint8_t *buf, size_t len, rast_info *out)
{
	uint16_t	u16;
	uint8_t		flags;
	int			i,
				size;

	memset(out, 0, sizeof(*out));
	if (len < RAST_SERIALIZED_HEADER)
		return RAST_TRUNCATED;
	memcpy(&u16, buf + 4, 2);
	if (u16 != 0)
		return RAST_BAD_VERSION;
	memcpy(&u16, buf + 6, 2);
	out->nbands = u16;
	memcpy(&out->scale_x, buf + 8, 8);
	memcpy(&out->scale_y, buf + 16, 8);
	memcpy(&out->ip_x, buf + 24, 8);
	memcpy(&out->ip_y, buf + 32, 8);
	memcpy(&out->skew_x, buf + 40, 8);
	memcpy(&out->skew_y, buf + 48, 8);
	memcpy(&out->srid, buf + 56, 4);
	memcpy(&u16, buf + 60, 2);
	out->width = u16;
	memcpy(&u16, buf + 62, 2);
	out->height = u16;
	if (out->nbands == 0)
		return RAST_OK;

	if (len < RAST_SERIALIZED_HEADER + 1)
		return RAST_TRUNCATED;
	flags = buf[RAST_SERIALIZED_HEADER];
	i = pixtype_index(flags & BAND_PIXTYPE);
	if (i < 0)
		return RAST_BAD_PIXTYPE;
	out->pixtype = pixtypes[i].t;
	out->offline = (flags & BAND_OFFDB) != 0;
	out->has_nodata = (flags & BAND_HASNODATA) != 0;
	size = pixtypes[i].size;
	/* the nodata value follows the flags byte, aligned to the pixel size */
	if (len < (size_t) RAST_SERIALIZED_HEADER + size + size)
		return RAST_TRUNCATED;
	out->nodata = read_native(buf + RAST_SERIALIZED_HEADER + size, out->pixtype);
	out->band = 1;
	out->data_offset = RAST_SERIALIZED_HEADER + 2 * (size_t) size;
	return RAST_OK;
}

rast_error
rast_select_band(const uint8_t *buf, size_t len, int band, rast_info *info)
{
	size_t		off = RAST_SERIALIZED_HEADER;
	size_t		n = (size_t) info->width * (size_t) info->height;

	if (band < 1 || band > info->nbands)
		return RAST_TRUNCATED;
	for (int b = 1;; b++)
	{
		uint8_t		flags;
		int			i;
		size_t		size;

		if (len < off + 1)
			return RAST_TRUNCATED;
		flags = buf[off];
		i = pixtype_index(flags & BAND_PIXTYPE);
		if (i < 0)
			return RAST_BAD_PIXTYPE;
		size = (size_t) pixtypes[i].size;
		if (len < off + 2 * size)
			return RAST_TRUNCATED;
		if (b == band)
		{
			info->pixtype = pixtypes[i].t;
			info->offline = (flags & BAND_OFFDB) != 0;
			info->has_nodata = (flags & BAND_HASNODATA) != 0;
			info->nodata = read_native(buf + off + size, info->pixtype);
			info->band = band;
			info->data_offset = off + 2 * size;
			return RAST_OK;
		}
		off += 2 * size;
		if (flags & BAND_OFFDB)
		{
			/* the band's number in the file (1 byte) and the file's path, NUL-terminated */
			const uint8_t *nul;

			if (len < off + 1)
				return RAST_TRUNCATED;
			off += 1;
			nul = memchr(buf + off, 0, len - off);
			if (nul == NULL)
				return RAST_TRUNCATED;
			off = (size_t) (nul - buf) + 1;
		}
		else
		{
			if ((len - off) / size < n)
				return RAST_TRUNCATED;
			off += n * size;
		}
		off = (off + 7) & ~(size_t) 7;
	}
}

rast_error
rast_read_band(const uint8_t *buf, size_t len, const rast_info *info, double *out)
{
	int			i = pixtype_index(info->pixtype);
	size_t		size,
				n,
				off = info->data_offset;

	if (info->nbands < 1 || i < 0 || off == 0)
		return RAST_BAD_PIXTYPE;
	size = (size_t) pixtypes[i].size;
	n = (size_t) info->width * (size_t) info->height;
	if (len < off || (len - off) / size < n)
		return RAST_TRUNCATED;
	for (size_t k = 0; k < n; k++)
		out[k] = read_native(buf + off + k * size, info->pixtype);
	return RAST_OK;
}

/*
 * rast_read_band1 reads band 1's pixels: they follow the band's flags byte
 * and its nodata value, each padded to the pixel size (sub-byte types take a
 * byte each), in the machine's byte order.
 */
rast_error
rast_read_band1(const uint8_t *buf, size_t len, const rast_info *info, double *out)
{
	rast_info	b1 = *info;

	if (info->nbands < 1)
		return RAST_BAD_PIXTYPE;
	if (b1.band != 1 && rast_select_band(buf, len, 1, &b1) != RAST_OK)
		return RAST_TRUNCATED;
	return rast_read_band(buf, len, &b1, out);
}

double
rast_pixel_value(rast_pixtype t, double v, double fill_nan)
{
	int			i = pixtype_index(t);

	if (isnan(v))
		v = fill_nan;
	if (isnan(v) || i < 0)
		return v;				/* only float types can hold NaN; callers pass a number for the others */
	if (t == RAST_64BF)
		return v;
	if (t == RAST_32BF)
	{
		if (isinf(v))
			return (float) v;
		if (v > FLT_MAX)
			return FLT_MAX;
		if (v < -FLT_MAX)
			return -FLT_MAX;
		return (float) v;
	}
	v = floor(v + 0.5);
	if (v < pixtypes[i].lo)
		return pixtypes[i].lo;
	if (v > pixtypes[i].hi)
		return pixtypes[i].hi;
	return v;
}

size_t
rast_wkb_size(int width, int height, rast_pixtype t)
{
	size_t		cells = (size_t) width * (size_t) height;
	size_t		size = (size_t) rast_pixtype_size(t);

	if (width < 0 || height < 0 || size == 0 || (height > 0 && cells / (size_t) height != (size_t) width))
		return 0;
	/* header 61 bytes, band flags 1, nodata size, pixels */
	return 61 + 1 + size + cells * size;
}

/*
 * put_le writes the low bytes of u little-endian.
 */
static uint8_t *
put_le(uint8_t *p, uint64_t u, int bytes)
{
	for (int i = 0; i < bytes; i++)
		*p++ = (uint8_t) (u >> (8 * i));
	return p;
}

static uint8_t *
put_f64(uint8_t *p, double d)
{
	uint64_t	u;

	memcpy(&u, &d, 8);
	return put_le(p, u, 8);
}

/*
 * put_pixel writes v (already converted for t) as a little-endian value of
 * type t.
 */
static uint8_t *
put_pixel(uint8_t *p, rast_pixtype t, double v)
{
	switch (t)
	{
		case RAST_32BF:
			{
				float		f = (float) v;
				uint32_t	u;

				memcpy(&u, &f, 4);
				return put_le(p, u, 4);
			}
		case RAST_64BF:
			return put_f64(p, v);
		case RAST_8BSI:
			return put_le(p, (uint64_t) (int64_t) v, 1);
		case RAST_16BSI:
			return put_le(p, (uint64_t) (int64_t) v, 2);
		case RAST_16BUI:
			return put_le(p, (uint64_t) v, 2);
		case RAST_32BSI:
			return put_le(p, (uint64_t) (int64_t) v, 4);
		case RAST_32BUI:
			return put_le(p, (uint64_t) v, 4);
		default:
			return put_le(p, (uint64_t) v, 1);
	}
}

void
rast_wkb_write(const rast_info *geo, rast_pixtype t, bool has_nodata, double nodata,
			   const double *values, double fill, uint8_t *out)
{
	uint8_t    *p = out;
	size_t		cells = (size_t) geo->width * (size_t) geo->height;
	double		nd = rast_pixel_value(t, nodata, 0.0);

	*p++ = 1;					/* little-endian */
	p = put_le(p, 0, 2);		/* version */
	p = put_le(p, 1, 2);		/* one band */
	p = put_f64(p, geo->scale_x);
	p = put_f64(p, geo->scale_y);
	p = put_f64(p, geo->ip_x);
	p = put_f64(p, geo->ip_y);
	p = put_f64(p, geo->skew_x);
	p = put_f64(p, geo->skew_y);
	p = put_le(p, (uint32_t) geo->srid, 4);
	p = put_le(p, (uint64_t) geo->width, 2);
	p = put_le(p, (uint64_t) geo->height, 2);
	*p++ = (uint8_t) ((has_nodata ? BAND_HASNODATA : 0) | (int) t);
	p = put_pixel(p, t, has_nodata ? nd : 0.0);

	if (values == NULL)
	{
		double		v = rast_pixel_value(t, fill, nd);

		for (size_t c = 0; c < cells; c++)
			p = put_pixel(p, t, v);
		return;
	}
	/* the common types without a call per pixel */
	if (t == RAST_32BF)
	{
		for (size_t c = 0; c < cells; c++)
		{
			double		v = values[c];
			float		f;
			uint32_t	u;

			if (isnan(v))
				v = nd;
			f = (float) (v > FLT_MAX ? (isinf(v) ? v : FLT_MAX) : (v < -FLT_MAX ? (isinf(v) ? v : -FLT_MAX) : v));
			memcpy(&u, &f, 4);
			p[0] = (uint8_t) u;
			p[1] = (uint8_t) (u >> 8);
			p[2] = (uint8_t) (u >> 16);
			p[3] = (uint8_t) (u >> 24);
			p += 4;
		}
		return;
	}
	for (size_t c = 0; c < cells; c++)
		p = put_pixel(p, t, rast_pixel_value(t, values[c], nd));
}
