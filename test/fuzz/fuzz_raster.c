/*
 * fuzz_raster.c — libFuzzer target for the PostGIS raster kernel
 * (src/spatial/raster.c): the reader of a raster's stored (serialized) form
 * and the WKB writer.
 *
 * The first byte picks the mode.
 *
 * Even: the rest is read as a stored raster, as the glue hands over a
 * detoasted value.  Besides the sanitizers it checks that band 1 as
 * rast_read_serialized sees it is band 1 as rast_select_band finds it, that
 * every band found lies inside the buffer, that rast_read_band succeeds
 * exactly when all the pixels are there (never reading past the end), that
 * integer pixels are within their type's range, and that rast_read_band1
 * gives the same pixels as select + read.
 *
 * Odd: the rest chooses a raster (type, size up to 16 x 16, georeference,
 * nodata, pixel values that may be NaN, infinite or out of range); it is
 * written with rast_wkb_write, the WKB turned into the stored form (length
 * word for byte-order byte, padding before the nodata value, optionally a
 * copy as band 2 after 8-byte padding) and read back: the header must come
 * back bit for bit, and every pixel as rast_pixel_value converts it.
 */
#include "spatial/raster.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rast_pixtype all_types[] = {
	RAST_1BB, RAST_2BUI, RAST_4BUI, RAST_8BSI, RAST_8BUI, RAST_16BSI,
	RAST_16BUI, RAST_32BSI, RAST_32BUI, RAST_32BF, RAST_64BF
};

typedef struct Reader
{
	const uint8_t *p;
	size_t		left;
} Reader;

static uint8_t
next_byte(Reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

/* next_double: a double from 8 input bytes, or one of the hard cases. */
static double
next_double(Reader *r)
{
	static const double special[] = {0, -0.0, 1, -1, 0.5, -0.5, 255.5, 1e300, -1e300,
		INFINITY, -INFINITY, NAN, 4294967295.5, -2147483648.5, 3.4028235e38, 65535.49};
	uint8_t		b = next_byte(r);
	uint64_t	u = 0;
	double		d;

	if (b < 0xC0)
		return special[b % (sizeof(special) / sizeof(special[0]))];
	for (int i = 0; i < 8; i++)
		u = u << 8 | next_byte(r);
	memcpy(&d, &u, 8);
	return d;
}

/* same_bits: the two doubles have the same representation. */
static int
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

static void
check_pixels(rast_pixtype t, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		if (t == RAST_32BF || t == RAST_64BF)
			continue;			/* any bits are a float */
		REQUIRE(isfinite(v[i]) && v[i] == trunc(v[i]));
		if (t == RAST_1BB || t == RAST_2BUI || t == RAST_4BUI)
			REQUIRE(v[i] >= 0 && v[i] <= 255);	/* a byte each, as PostGIS stores them */
		else
			REQUIRE(rast_pixel_value(t, v[i], 0) == v[i]);	/* within the type's range */
	}
}

/* read_stored reads data as a stored raster and checks what comes back. */
static void
read_stored(const uint8_t *buf, size_t len)
{
	rast_info	info,
				b;
	rast_error	e = rast_read_serialized(buf, len, &info);
	double	   *px1 = NULL;
	size_t		n;

	REQUIRE(e == RAST_OK || e == RAST_TRUNCATED || e == RAST_BAD_VERSION || e == RAST_BAD_PIXTYPE);
	if (e != RAST_OK)
		return;
	REQUIRE(info.width >= 0 && info.width <= RAST_MAX_DIM);
	REQUIRE(info.height >= 0 && info.height <= RAST_MAX_DIM);
	REQUIRE(info.nbands >= 0 && info.nbands <= 65535);
	if (info.nbands == 0)
	{
		REQUIRE(rast_read_band1(buf, len, &info, NULL) == RAST_BAD_PIXTYPE);
		return;
	}
	REQUIRE(info.band == 1);
	REQUIRE(rast_pixtype_name(info.pixtype) != NULL);
	REQUIRE(info.data_offset <= len);
	n = (size_t) info.width * (size_t) info.height;

	/* at most 8 bands: each walk starts over, so many bands would be quadratic */
	for (int band = 1; band <= info.nbands && band <= 8; band++)
	{
		size_t		sz;
		int			complete;
		double	   *px;

		b = info;
		e = rast_select_band(buf, len, band, &b);
		REQUIRE(e == RAST_OK || e == RAST_TRUNCATED || e == RAST_BAD_PIXTYPE);
		if (e != RAST_OK)
			break;				/* the walk cannot pass a broken band */
		REQUIRE(b.band == band);
		REQUIRE(b.data_offset <= len);
		if (band == 1)
		{
			REQUIRE(b.pixtype == info.pixtype && b.offline == info.offline &&
					b.has_nodata == info.has_nodata && b.data_offset == info.data_offset);
			REQUIRE(same_bits(b.nodata, info.nodata));
		}
		if (b.offline)
			continue;			/* the caller refuses out-db bands */
		sz = (size_t) rast_pixtype_size(b.pixtype);
		REQUIRE(sz >= 1 && sz <= 8);
		complete = (len - b.data_offset) / sz >= n;
		px = malloc(sizeof(double) * (complete && n > 0 ? n : 1));
		e = rast_read_band(buf, len, &b, px);
		REQUIRE(e == (complete ? RAST_OK : RAST_TRUNCATED));
		if (e == RAST_OK)
			check_pixels(b.pixtype, px, n);
		if (band == 1 && e == RAST_OK)
			px1 = px;
		else
			free(px);
	}
	if (px1 != NULL)
	{
		double	   *again = malloc(sizeof(double) * (n > 0 ? n : 1));

		REQUIRE(rast_read_band1(buf, len, &info, again) == RAST_OK);
		REQUIRE(n == 0 || memcmp(px1, again, sizeof(double) * n) == 0);
		free(again);
		free(px1);
	}
}

/* round_trip writes a raster chosen by the input as WKB and reads it back. */
static void
round_trip(Reader *r)
{
	rast_pixtype t = all_types[next_byte(r) % (sizeof(all_types) / sizeof(all_types[0]))];
	rast_info	geo,
				back;
	bool		has_nodata;
	bool		two_bands;
	bool		use_fill;
	double		nodata,
				fill,
				nd;
	double	   *values,
			   *got;
	size_t		n,
				wkb_len,
				sz = (size_t) rast_pixtype_size(t),
				band_len,
				stored_len;
	uint8_t    *wkb,
			   *stored;
	uint8_t		flags;

	memset(&geo, 0, sizeof(geo));
	geo.width = next_byte(r) % 17;
	geo.height = next_byte(r) % 17;
	geo.scale_x = next_double(r);
	geo.scale_y = next_double(r);
	geo.ip_x = next_double(r);
	geo.ip_y = next_double(r);
	geo.skew_x = next_double(r);
	geo.skew_y = next_double(r);
	geo.srid = (int32_t) ((uint32_t) next_byte(r) << 24 | (uint32_t) next_byte(r));
	flags = next_byte(r);
	has_nodata = flags & 1;
	two_bands = flags & 2;
	use_fill = flags & 4;
	nodata = next_double(r);
	fill = next_double(r);
	n = (size_t) geo.width * (size_t) geo.height;
	values = malloc(sizeof(double) * (n > 0 ? n : 1));
	for (size_t i = 0; i < n; i++)
		values[i] = next_double(r);

	wkb_len = rast_wkb_size(geo.width, geo.height, t);
	REQUIRE(wkb_len == 61 + 1 + sz + n * sz);
	wkb = malloc(wkb_len);
	rast_wkb_write(&geo, t, has_nodata, nodata, use_fill ? NULL : values, fill, wkb);
	REQUIRE(wkb[0] == 1);
	REQUIRE(wkb[61] == ((has_nodata ? 0x40 : 0) | (int) t));

	/* the stored form: length word, header, then per band flags, padding, nodata, pixels */
	band_len = 2 * sz + n * sz;
	stored_len = 64 + ((band_len + 7) & ~(size_t) 7) + (two_bands ? band_len : 0);
	stored = calloc(1, stored_len);
	{
		uint32_t	lw = (uint32_t) stored_len << 2;

		memcpy(stored, &lw, 4);
	}
	memcpy(stored + 4, wkb + 1, 60);
	stored[5] = 0;
	stored[6] = two_bands ? 2 : 1;
	for (int b = 0; b < (two_bands ? 2 : 1); b++)
	{
		uint8_t    *band = stored + 64 + (b ? (band_len + 7) & ~(size_t) 7 : 0);

		band[0] = wkb[61];
		memcpy(band + sz, wkb + 62, sz + n * sz);
	}

	REQUIRE(rast_read_serialized(stored, stored_len, &back) == RAST_OK);
	REQUIRE(same_bits(back.scale_x, geo.scale_x) && same_bits(back.scale_y, geo.scale_y));
	REQUIRE(same_bits(back.ip_x, geo.ip_x) && same_bits(back.ip_y, geo.ip_y));
	REQUIRE(same_bits(back.skew_x, geo.skew_x) && same_bits(back.skew_y, geo.skew_y));
	REQUIRE(back.srid == geo.srid && back.width == geo.width && back.height == geo.height);
	REQUIRE(back.nbands == (two_bands ? 2 : 1));
	REQUIRE(back.pixtype == t && back.has_nodata == has_nodata && !back.offline);
	REQUIRE(back.data_offset == 64 + 2 * sz);
	nd = rast_pixel_value(t, nodata, 0.0);
	REQUIRE(!isnan(nd));
	REQUIRE(back.nodata == (has_nodata ? nd : 0.0));

	got = malloc(sizeof(double) * (n > 0 ? n : 1));
	for (int b = 1; b <= (two_bands ? 2 : 1); b++)
	{
		rast_info	bi = back;

		REQUIRE(rast_select_band(stored, stored_len, b, &bi) == RAST_OK);
		REQUIRE(rast_read_band(stored, stored_len, &bi, got) == RAST_OK);
		for (size_t i = 0; i < n; i++)
		{
			double		want = rast_pixel_value(t, use_fill ? fill : values[i], nd);

			REQUIRE(!isnan(want));
			if (t == RAST_32BF)
				want = (float) want;
			REQUIRE(got[i] == want);
		}
	}
	/* one byte short: the pixels are no longer all there */
	if (n > 0 && !two_bands)
		REQUIRE(rast_read_band1(stored, 64 + band_len - 1, &back, got) == RAST_TRUNCATED);
	free(got);
	free(stored);
	free(wkb);
	free(values);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader		r;

	if (size == 0)
		return 0;
	r.p = data + 1;
	r.left = size - 1;
	if (data[0] & 1)
		round_trip(&r);
	else
		read_stored(data + 1, size - 1);
	return 0;
}
