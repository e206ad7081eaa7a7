/*
 * fuzz_split.c — libFuzzer target for the splitting kernel
 * (src/datasets/split*.c, src/datasets/rng.c).
 *
 * The input is read as a spec (method, folds, seed, sizes, n_test_per_label)
 * and a small data set (up to 300 items: class, group, multilabel set and a
 * one-byte id each, with indices sometimes out of range and ids sometimes
 * repeated), then split_assign runs on it.  Besides the sanitizers, it
 * checks that a failure carries a reason, and that a success assigns every
 * item a value in range, keeps every group on one side for the grouped
 * methods, and gives the same result when run again.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "datasets/split.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

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

static double
pick_size(uint8_t b)
{
	static const double sizes[] = {NAN, NAN, 0.2, 0.5, 0.99, 1, 3, 2.5, -1, 0, 0.75, 40, 1e30};

	return sizes[b % (sizeof(sizes) / sizeof(sizes[0]))];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mlops_allocator alloc = MLOPS_MALLOC_ALLOCATOR;
	Reader		r = {data, size};
	SplitSpec	spec;
	SplitData	d;
	int32_t    *label,
			   *group,
			   *ml,
			   *out,
			   *out2;
	int64_t    *off;
	char	   *idbuf;
	const char **ids;
	size_t	   *lens;
	int64_t		n,
				i,
				p = 0;
	int			has_label,
				has_group,
				has_ml,
				has_id,
				rc;
	char		err[256];

	split_spec_init(&spec, (SplitMethod) (next_byte(&r) % 8));	/* 7: unknown */
	spec.folds = (int32_t) (next_byte(&r) % 8) - 1;
	spec.seed = (uint32_t) next_byte(&r) << 24 | (uint32_t) next_byte(&r) << 8 | next_byte(&r);
	spec.shuffle = next_byte(&r) & 1;
	spec.test_size = pick_size(next_byte(&r));
	spec.train_size = pick_size(next_byte(&r));
	spec.n_test_per_label = (int64_t) (next_byte(&r) % 5) - 1;
	{
		uint8_t		flags = next_byte(&r);

		has_label = flags & 1;
		has_group = flags & 2;
		has_ml = flags & 4;
		has_id = flags & 8;
	}
	memset(&d, 0, sizeof(d));
	d.n_classes = (int32_t) (next_byte(&r) % 7);
	d.n_groups = (int32_t) (next_byte(&r) % 20);
	n = (int64_t) (r.left / 4);
	if (n > 300)
		n = 300;
	d.n = n;
	label = malloc(sizeof(int32_t) * (size_t) (n + 1));
	group = malloc(sizeof(int32_t) * (size_t) (n + 1));
	ml = malloc(sizeof(int32_t) * (size_t) (n * 3 + 1));
	off = malloc(sizeof(int64_t) * (size_t) (n + 1));
	out = malloc(sizeof(int32_t) * (size_t) (n + 1));
	out2 = malloc(sizeof(int32_t) * (size_t) (n + 1));
	idbuf = malloc((size_t) (n + 1));
	ids = malloc(sizeof(char *) * (size_t) (n + 1));
	lens = malloc(sizeof(size_t) * (size_t) (n + 1));
	off[0] = 0;
	for (i = 0; i < n; i++)
	{
		uint8_t		a = next_byte(&r),
					b = next_byte(&r),
					c = next_byte(&r),
					e = next_byte(&r);
		int			k;

		/* now and then an index one past the end, which must be refused */
		label[i] = (int32_t) (a % (d.n_classes + 1 + (a == 255)));
		if (label[i] >= d.n_classes && a != 255)
			label[i] = d.n_classes > 0 ? label[i] % d.n_classes : 0;
		group[i] = (int32_t) (b % (d.n_groups + 1 + (b == 255)));
		if (group[i] >= d.n_groups && b != 255)
			group[i] = d.n_groups > 0 ? group[i] % d.n_groups : 0;
		for (k = 0; k < (c & 3); k++)
			ml[p++] = (int32_t) ((c >> (2 + 2 * k)) & 3) % (d.n_classes > 0 ? d.n_classes : 1);
		off[i + 1] = p;
		idbuf[i] = (char) (e & 0x7f);
		ids[i] = idbuf + i;
		lens[i] = (e & 0x80) ? 1 : 0;
	}
	if (has_label)
		d.label = label;
	if (has_group)
		d.group = group;
	if (has_ml)
	{
		d.ml_offsets = off;
		d.ml_labels = ml;
	}
	if (has_id)
	{
		d.id = ids;
		d.id_len = lens;
	}
	err[0] = '\0';
	rc = split_assign(&d, &spec, out, &alloc, err, sizeof(err));
	if (rc != 0)
		REQUIRE(err[0] != '\0');
	else if (n > 0)
	{
		int32_t		sides = spec.folds >= 2 ? spec.folds : 3;
		int32_t		side[20];

		for (i = 0; i < n; i++)
			REQUIRE(out[i] >= 0 && out[i] < sides);
		if (d.group && (spec.method == SPLIT_GROUP || spec.method == SPLIT_STRATIFIED_GROUP ||
						spec.method == SPLIT_ITERATIVE))
		{
			for (i = 0; i < 20; i++)
				side[i] = -1;
			for (i = 0; i < n; i++)
			{
				REQUIRE(side[group[i]] < 0 || side[group[i]] == out[i]);
				side[group[i]] = out[i];
			}
		}
		REQUIRE(split_assign(&d, &spec, out2, &alloc, err, sizeof(err)) == 0);
		REQUIRE(memcmp(out, out2, sizeof(int32_t) * (size_t) n) == 0);
	}
	free(label);
	free(group);
	free(ml);
	free(off);
	free(out);
	free(out2);
	free(idbuf);
	free(ids);
	free(lens);
	return 0;
}
