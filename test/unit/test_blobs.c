/*
 * test_blobs.c — detect/blobs.c: a Gaussian blob found at its centre with
 * about its sigma by each method, tiled == untiled (bit for bit) on random
 * images, pred_threshold, the all-zero image, and the errors.  The
 * comparison with scikit-image itself is test/parity/blobs_parity.py.
 */
#include <stdint.h>
#include <stdlib.h>

#include "detect/blobs.h"
#include "unit.h"

static const mlops_allocator alloc = MLOPS_MALLOC_ALLOCATOR;

/* A Gaussian of height amp and sigma s at (cy, cx), added to img. */
static void
add_gauss(double *img, int rows, int cols, double cy, double cx, double s, double amp)
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			img[r * cols + c] += amp * exp(-((r - cy) * (r - cy) + (c - cx) * (c - cx)) / (2 * s * s));
}

/* A small deterministic generator (xorshift64*), uniform in [0, 1). */
static uint64_t rng_state = 88172645463325252ULL;

static double
uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int
run(const double *img, int rows, int cols, BlobMethod m, const BlobOptions *o, Blob **b, int64_t *n)
{
	char		err[200] = "";
	int			rc = blob_detect(img, rows, cols, m, o, b, n, &alloc, err, sizeof err);

	if (rc < 0)
		printf("# error: %s\n", err);
	return rc;
}

static void
test_single_blob(BlobMethod m, const char *name)
{
	enum
	{
		R = 80, C = 90
	};
	double	   *img = calloc(R * C, sizeof(double));
	BlobOptions o;
	Blob	   *b = NULL;
	int64_t		n = 0;
	char		what[120];
	int			found = 0;

	add_gauss(img, R, C, 40, 45, 5.0, 1.0);
	blob_options_default(m, &o);
	o.min_sigma = 2;
	o.max_sigma = m == BLOB_DOH ? 20 : 10;
	o.num_sigma = m == BLOB_DOH ? 19 : 17;
	o.threshold = m == BLOB_DOH ? 0.001 : 0.05;
	snprintf(what, sizeof what, "%s: a Gaussian blob runs", name);
	CHECK(run(img, R, C, m, &o, &b, &n) == 0, what);
	for (int64_t i = 0; i < n; i++)
		if (fabs(b[i].row - 40) <= 1 && fabs(b[i].col - 45) <= 1)
		{
			found = 1;
			snprintf(what, sizeof what, "%s: sigma %.3g fits the blob's 5", name, b[i].sigma);
			/* LoG/DoG peak at sigma ~ s; DoH's radius (~ sigma) at ~ sqrt(2) s (skimage: 9) */
			if (m == BLOB_DOH)
				CHECK(b[i].sigma >= 6 && b[i].sigma <= 12, what);
			else if (m == BLOB_LOG)
				CHECK(b[i].sigma >= 4 && b[i].sigma <= 6.5, what);
			else				/* DoG's list 2, 3.2, 5.12: the layer between 3.2 and 5.12 */
				CHECK(b[i].sigma >= 3 && b[i].sigma <= 6.5, what);
			CHECK(b[i].value > 0, "the response at the peak is positive");
		}
	snprintf(what, sizeof what, "%s: found at the centre (40, 45)", name);
	CHECK(found, what);
	free(b);
	free(img);
}

static int
same_blobs(const Blob *a, int64_t na, const Blob *b, int64_t nb)
{
	if (na != nb)
		return 0;
	for (int64_t i = 0; i < na; i++)
		if (a[i].row != b[i].row || a[i].col != b[i].col || a[i].sigma != b[i].sigma ||
			a[i].value != b[i].value)
			return 0;
	return 1;
}

static void
test_tiles(BlobMethod m, const char *name)
{
	for (int t = 0; t < 3; t++)
	{
		int			rows = 30 + (int) (uniform() * 60),
					cols = 30 + (int) (uniform() * 60);
		double	   *img = calloc((size_t) rows * cols, sizeof(double));
		BlobOptions o;
		Blob	   *a = NULL,
				   *b = NULL;
		int64_t		na = 0,
					nb = 0;
		char		what[160];

		for (int k = 0; k < 12; k++)
			add_gauss(img, rows, cols, uniform() * rows, uniform() * cols, 1.5 + 6 * uniform(),
					  0.3 + uniform());
		for (int i = 0; i < rows * cols; i++)
			img[i] += 0.05 * (uniform() - 0.5);
		blob_options_default(m, &o);
		o.max_sigma = 8 + 4 * t;
		o.num_sigma = 4;
		o.threshold = m == BLOB_DOH ? 0.002 : 0.05;
		if (t == 2)
		{
			o.has_threshold = 0;
			o.threshold_rel = 0.1;
		}
		if (m != BLOB_DOH)
			o.exclude_border = t;
		CHECK(run(img, rows, cols, m, &o, &a, &na) == 0, "untiled runs");
		o.tile_rows = 3 + t * 4;
		o.tile_cols = 5 + t * 3;
		o.simd = 1;
		CHECK(run(img, rows, cols, m, &o, &b, &nb) == 0, "tiled runs");
		snprintf(what, sizeof what, "%s %dx%d: tiles %lldx%lld (plain C) give the untiled %lld blobs, bit for bit",
				 name, rows, cols, (long long) o.tile_rows, (long long) o.tile_cols, (long long) na);
		CHECK(na > 0 && same_blobs(a, na, b, nb), what);
		free(b);
		b = NULL;
		/* AVX's 4 x 4 blocks (plain C where the CPU has no AVX), other tiles */
		o.tile_rows = 5 + t * 6;
		o.tile_cols = 2 + t * 9;
		o.simd = 2;
		CHECK(run(img, rows, cols, m, &o, &b, &nb) == 0, "tiled runs");
		snprintf(what, sizeof what, "%s %dx%d: tiles %lldx%lld (at most AVX) give the untiled %lld blobs, bit for bit",
				 name, rows, cols, (long long) o.tile_rows, (long long) o.tile_cols, (long long) na);
		CHECK(na > 0 && same_blobs(a, na, b, nb), what);
		free(a);
		free(b);
		free(img);
	}
}

static void
test_zero_and_pred(void)
{
	double		img[40 * 50];
	Blob	   *b = NULL;
	int64_t		n = 7;
	BlobOptions o;

	memset(img, 0, sizeof img);
	for (int m = BLOB_DOH; m <= BLOB_DOG; m++)
	{
		CHECK(run(img, 40, 50, (BlobMethod) m, NULL, &b, &n) == 0 && n == 0 && b == NULL,
			  "an all-zero image has no blobs and is no error");
		blob_options_default((BlobMethod) m, &o);
		o.has_threshold = 0;
		CHECK(run(img, 40, 50, (BlobMethod) m, &o, &b, &n) == 0 && n == 0,
			  "an all-zero image with threshold None has no blobs (skimage's trivial image)");
	}

	/* a faint blob disappears under pred_threshold, a bright one stays */
	add_gauss(img, 40, 50, 12, 12, 3, 0.3);
	add_gauss(img, 40, 50, 28, 36, 3, 1.0);
	blob_options_default(BLOB_LOG, &o);
	o.max_sigma = 8;
	o.threshold = 0.05;
	CHECK(run(img, 40, 50, BLOB_LOG, &o, &b, &n) == 0 && n == 2, "two blobs without pred_threshold");
	free(b);
	o.pred_threshold = 0.5;
	CHECK(run(img, 40, 50, BLOB_LOG, &o, &b, &n) == 0 && n == 1 && b[0].row == 28 && b[0].col == 36,
		  "pred_threshold 0.5 leaves the bright blob only");
	free(b);
}

static void
expect_error(BlobMethod m, BlobOptions *o, int rows, int cols, const double *img, const char *want)
{
	char		err[200] = "";
	Blob	   *b = NULL;
	int64_t		n = 0;
	int			rc = blob_detect(img, rows, cols, m, o, &b, &n, &alloc, err, sizeof err);
	char		what[260];

	snprintf(what, sizeof what, "refused: %s (%s)", want, err);
	CHECK(rc == -1 && strstr(err, want) != NULL && b == NULL, what);
}

static void
test_errors(void)
{
	double		img[100];
	BlobOptions o;

	for (int i = 0; i < 100; i++)
		img[i] = i % 7;
	blob_options_default(BLOB_LOG, &o);
	o.min_sigma = 5;
	o.max_sigma = 2;
	expect_error(BLOB_LOG, &o, 10, 10, img, "greater than max_sigma");
	blob_options_default(BLOB_LOG, &o);
	o.min_sigma = -1;
	expect_error(BLOB_LOG, &o, 10, 10, img, "positive");
	o.min_sigma = INFINITY;
	expect_error(BLOB_LOG, &o, 10, 10, img, "finite");
	blob_options_default(BLOB_LOG, &o);
	o.num_sigma = -2;
	expect_error(BLOB_LOG, &o, 10, 10, img, "num_sigma");
	blob_options_default(BLOB_LOG, &o);
	o.overlap = 1.5;
	expect_error(BLOB_LOG, &o, 10, 10, img, "overlap");
	blob_options_default(BLOB_DOG, &o);
	o.sigma_ratio = 1.0;
	expect_error(BLOB_DOG, &o, 10, 10, img, "sigma_ratio");
	blob_options_default(BLOB_DOG, &o);
	o.threshold = INFINITY;
	expect_error(BLOB_DOG, &o, 10, 10, img, "threshold");
	blob_options_default(BLOB_DOH, &o);
	o.exclude_border = 2;
	expect_error(BLOB_DOH, &o, 10, 10, img, "exclude_border");
	blob_options_default(BLOB_DOH, &o);
	o.min_sigma = 0.2;
	expect_error(BLOB_DOH, &o, 10, 10, img, "sigma >= 1/3");
	blob_options_default(BLOB_LOG, &o);
	expect_error(BLOB_LOG, &o, 0, 10, img, "at least one row");
	o.max_bytes = 1000;
	expect_error(BLOB_LOG, &o, 10, 10, img, "more than the limit");
	blob_options_default(BLOB_LOG, &o);
	img[3] = NAN;
	expect_error(BLOB_LOG, &o, 10, 10, img, "not finite");
}

int
main(void)
{
	test_single_blob(BLOB_DOH, "doh");
	test_single_blob(BLOB_LOG, "log");
	test_single_blob(BLOB_DOG, "dog");
	test_tiles(BLOB_DOH, "doh");
	test_tiles(BLOB_LOG, "log");
	test_tiles(BLOB_DOG, "dog");
	test_zero_and_pred();
	test_errors();
	return unit_done();
}
