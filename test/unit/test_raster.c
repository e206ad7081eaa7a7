/*
 * test_raster.c — unit tests of the raster kernel (src/spatial/raster.c):
 * pixel type names and sizes, GDAL-style conversion of doubles to each
 * pixel type, the WKB of a one-band raster byte by byte, and the reader
 * of the stored form (header, band 1 type and nodata, refusals).
 */
#include "spatial/raster.h"
#include "unit.h"

#include <float.h>
#include <stdlib.h>

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static double
le64f(const uint8_t *p)
{
	uint64_t	u = 0;
	double		d;

	for (int i = 0; i < 8; i++)
		u |= (uint64_t) p[i] << (8 * i);
	memcpy(&d, &u, 8);
	return d;
}

static float
le32f(const uint8_t *p)
{
	uint32_t	u = le32(p);
	float		f;

	memcpy(&f, &u, 4);
	return f;
}

static void
test_pixtypes(void)
{
	CHECK_INT(rast_pixtype_from_name("32BF"), RAST_32BF, "32BF by name");
	CHECK_INT(rast_pixtype_from_name("8bui"), RAST_8BUI, "names are case-insensitive");
	CHECK_INT(rast_pixtype_from_name("32B"), -1, "a prefix is not a name");
	CHECK_INT(rast_pixtype_from_name("32BFX"), -1, "a longer string is not a name");
	CHECK_STR(rast_pixtype_name(RAST_16BSI), "16BSI", "name of 16BSI");
	CHECK_INT(rast_pixtype_size(RAST_1BB), 1, "1BB takes a byte");
	CHECK_INT(rast_pixtype_size(RAST_64BF), 8, "64BF takes 8");

	CHECK_NEAR(rast_pixel_value(RAST_8BUI, 2.5, 0), 3, 0, "8BUI rounds half up");
	CHECK_NEAR(rast_pixel_value(RAST_8BUI, -2.5, 0), 0, 0, "8BUI clamps below");
	CHECK_NEAR(rast_pixel_value(RAST_8BUI, 300, 0), 255, 0, "8BUI clamps above");
	CHECK_NEAR(rast_pixel_value(RAST_8BSI, -2.5, 0), -2, 0, "8BSI rounds -2.5 to -2 (floor(v + 0.5))");
	CHECK_NEAR(rast_pixel_value(RAST_16BSI, -40000, 0), -32768, 0, "16BSI clamps");
	CHECK_NEAR(rast_pixel_value(RAST_1BB, 0.7, 0), 1, 0, "1BB rounds");
	CHECK_NEAR(rast_pixel_value(RAST_4BUI, 99, 0), 15, 0, "4BUI clamps at 15");
	CHECK_NEAR(rast_pixel_value(RAST_32BUI, 5e9, 0), 4294967295.0, 0, "32BUI clamps");
	CHECK_NEAR(rast_pixel_value(RAST_8BUI, NAN, 7), 7, 0, "NaN gives the fill value");
	CHECK_NEAR(rast_pixel_value(RAST_32BF, 1e300, 0), FLT_MAX, 0, "32BF clamps to the float range");
	CHECK_NEAR(rast_pixel_value(RAST_32BF, 0.1, 0), (double) 0.1f, 0, "32BF rounds to float");
	CHECK_NEAR(rast_pixel_value(RAST_64BF, 0.1, 0), 0.1, 0, "64BF keeps the double");
}

static void
test_wkb(void)
{
	rast_info	geo = {.scale_x = 10, .scale_y = -10, .ip_x = 100, .ip_y = 200, .srid = 3857, .width = 3, .height = 2};
	double		vals[6] = {1.5, NAN, -3, 1e40, 0.25, 6};
	size_t		size = rast_wkb_size(3, 2, RAST_32BF);
	uint8_t    *w = malloc(size);
	const uint8_t *band;

	CHECK_INT(size, 61 + 1 + 4 + 6 * 4, "WKB size of a 3x2 32BF raster");
	rast_wkb_write(&geo, RAST_32BF, true, -9999, vals, 0, w);
	CHECK_INT(w[0], 1, "little-endian marker");
	CHECK_INT(w[1] | w[2] << 8, 0, "version 0");
	CHECK_INT(w[3] | w[4] << 8, 1, "one band");
	CHECK_NEAR(le64f(w + 5), 10, 0, "scale x");
	CHECK_NEAR(le64f(w + 13), -10, 0, "scale y");
	CHECK_NEAR(le64f(w + 21), 100, 0, "upper-left x");
	CHECK_NEAR(le64f(w + 29), 200, 0, "upper-left y");
	CHECK_NEAR(le64f(w + 37), 0, 0, "skew x");
	CHECK_NEAR(le64f(w + 45), 0, 0, "skew y");
	CHECK_INT(le32(w + 53), 3857, "srid");
	CHECK_INT(w[57] | w[58] << 8, 3, "width");
	CHECK_INT(w[59] | w[60] << 8, 2, "height");
	band = w + 61;
	CHECK_INT(band[0], 0x40 | RAST_32BF, "band flags: has nodata, 32BF");
	CHECK_NEAR(le32f(band + 1), -9999, 0, "nodata value");
	CHECK_NEAR(le32f(band + 5), 1.5, 0, "pixel 0");
	CHECK_NEAR(le32f(band + 9), -9999, 0, "NaN pixel written as nodata");
	CHECK_NEAR(le32f(band + 13), -3, 0, "pixel 2");
	CHECK_NEAR(le32f(band + 17), FLT_MAX, 0, "pixel 3 clamped");
	CHECK_NEAR(le32f(band + 25), 6, 0, "pixel 5");
	free(w);

	/* 8BUI filled, without nodata */
	size = rast_wkb_size(2, 2, RAST_8BUI);
	w = malloc(size);
	geo.width = 2;
	geo.height = 2;
	rast_wkb_write(&geo, RAST_8BUI, false, 0, NULL, 42.4, w);
	CHECK_INT(size, 61 + 1 + 1 + 4, "WKB size of a 2x2 8BUI raster");
	CHECK_INT(w[61], RAST_8BUI, "no nodata flag");
	CHECK(w[63] == 42 && w[64] == 42 && w[65] == 42 && w[66] == 42, "filled pixels");
	free(w);

	/* 16BSI values */
	size = rast_wkb_size(2, 1, RAST_16BSI);
	w = malloc(size);
	{
		double		v[2] = {-2.6, 40000};

		geo.height = 1;

		rast_wkb_write(&geo, RAST_16BSI, true, -1, v, 0, w);
	}
	CHECK_INT((int16_t) (w[62] | w[63] << 8), -1, "16BSI nodata");
	CHECK_INT((int16_t) (w[64] | w[65] << 8), -3, "16BSI -2.6 rounds to -3");
	CHECK_INT((int16_t) (w[66] | w[67] << 8), 32767, "16BSI clamps 40000");
	free(w);

	CHECK_INT(rast_wkb_size(65535, 65535, RAST_64BF), 61 + 1 + 8 + (size_t) 65535 * 65535 * 8, "largest raster size");
}

/*
 * serialized builds a stored raster in the machine's byte order with one
 * band of type t (nodata nd) or none.
 */
static size_t
serialized(uint8_t *b, int nbands, int t, double nd, bool has_nd)
{
	uint32_t	size = 0;
	uint16_t	u16;
	double		d[6] = {2, -2, 10, 20, 0, 0};
	int32_t		srid = 4326;

	memset(b, 0, 128);
	u16 = 0;
	memcpy(b + 4, &u16, 2);
	u16 = (uint16_t) nbands;
	memcpy(b + 6, &u16, 2);
	memcpy(b + 8, d, sizeof(d));
	memcpy(b + 56, &srid, 4);
	u16 = 5;
	memcpy(b + 60, &u16, 2);
	u16 = 4;
	memcpy(b + 62, &u16, 2);
	if (nbands == 0)
		return 64;
	b[64] = (uint8_t) ((has_nd ? 0x40 : 0) | t);
	if (t == RAST_32BF)
	{
		float		f = (float) nd;

		memcpy(b + 68, &f, 4);
	}
	else if (t == RAST_16BSI)
	{
		int16_t		s = (int16_t) nd;

		memcpy(b + 66, &s, 2);
	}
	else
		b[65] = (uint8_t) nd;
	(void) size;
	return 80;
}

static void
test_serialized(void)
{
	uint8_t		b[128];
	rast_info	r;
	size_t		len;

	len = serialized(b, 1, RAST_32BF, -9999, true);
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_OK, "32BF stored raster read");
	CHECK(r.scale_x == 2 && r.scale_y == -2 && r.ip_x == 10 && r.ip_y == 20 && r.skew_x == 0, "georeference");
	CHECK(r.width == 5 && r.height == 4 && r.srid == 4326 && r.nbands == 1, "size, srid, bands");
	CHECK(r.pixtype == RAST_32BF && r.has_nodata && r.nodata == -9999 && !r.offline, "band 1 type and nodata");

	len = serialized(b, 1, RAST_16BSI, -5, true);
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_OK, "16BSI stored raster read");
	CHECK(r.pixtype == RAST_16BSI && r.nodata == -5, "16BSI nodata at offset 66");

	len = serialized(b, 1, RAST_8BUI, 200, false);
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_OK, "8BUI stored raster read");
	CHECK(r.pixtype == RAST_8BUI && !r.has_nodata, "no nodata flag");

	len = serialized(b, 0, 0, 0, false);
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_OK, "raster without bands read");
	CHECK_INT(r.nbands, 0, "no bands");

	len = serialized(b, 1, 9, 0, false);
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_BAD_PIXTYPE, "pixel type 9 refused");
	len = serialized(b, 1, RAST_64BF, 0, false);
	CHECK_INT(rast_read_serialized(b, 70, &r), RAST_TRUNCATED, "64BF nodata cut off refused");
	CHECK_INT(rast_read_serialized(b, 63, &r), RAST_TRUNCATED, "short header refused");
	b[4] = 1;
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_BAD_VERSION, "version 1 refused");
}

/* test_band1: the pixels of band 1 after its flags and nodata, in each layout. */
static void
test_band1(void)
{
	uint8_t		b[256];
	rast_info	r;
	double		v[20];
	float		f[20];
	int16_t		s16[20];
	size_t		len;

	len = serialized(b, 1, RAST_32BF, -9999, true);
	for (int k = 0; k < 20; k++)
		f[k] = (float) (k * 1.5 - 3);
	memcpy(b + len - 8, f, sizeof(f));	/* 4 (flags + pad) + 4 (nodata) after the header */
	CHECK_INT(rast_read_serialized(b, len - 8 + sizeof(f), &r), RAST_OK, "32BF raster with pixels read");
	CHECK_INT(rast_read_band1(b, len - 8 + sizeof(f), &r, v), RAST_OK, "32BF pixels read");
	CHECK(v[0] == -3 && v[1] == -1.5 && v[19] == 25.5, "32BF pixel values, row-major");
	CHECK_INT(rast_read_band1(b, len - 8 + sizeof(f) - 1, &r, v), RAST_TRUNCATED, "a pixel cut off is refused");

	len = serialized(b, 1, RAST_16BSI, -5, true);
	for (int k = 0; k < 20; k++)
		s16[k] = (int16_t) (k - 10);
	memcpy(b + 68, s16, sizeof(s16));	/* 2 (flags + pad) + 2 (nodata) after the header */
	CHECK_INT(rast_read_serialized(b, 68 + sizeof(s16), &r), RAST_OK, "16BSI raster read");
	CHECK_INT(rast_read_band1(b, 68 + sizeof(s16), &r, v), RAST_OK, "16BSI pixels read");
	CHECK(v[0] == -10 && v[19] == 9, "16BSI pixel values");

	len = serialized(b, 1, RAST_8BUI, 200, true);
	for (int k = 0; k < 20; k++)
		b[66 + k] = (uint8_t) (k * 10);
	CHECK_INT(rast_read_serialized(b, 86, &r), RAST_OK, "8BUI raster read");
	CHECK_INT(rast_read_band1(b, 86, &r, v), RAST_OK, "8BUI pixels read");
	CHECK(v[3] == 30 && v[19] == 190, "8BUI pixel values");

	len = serialized(b, 0, 0, 0, false);
	CHECK_INT(rast_read_serialized(b, len, &r), RAST_OK, "no band");
	CHECK_INT(rast_read_band1(b, len, &r, v), RAST_BAD_PIXTYPE, "no band 1 to read");
}

int
main(void)
{
	test_pixtypes();
	test_wkb();
	test_serialized();
	test_band1();
	return unit_done();
}
