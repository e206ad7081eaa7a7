/*
 * split_driver.c
 *	  test/parity/split_parity.py's bridge to the splitting kernel
 *	  (src/datasets/split.h): reads cases from stdin, calls split_assign,
 *	  prints each assignment.  Built by the parity script with
 *	  cc -O2 -Isrc plus the kernel files; not part of the extension.
 *
 *	  Input, whitespace-separated, one case after another until EOF:
 *	    method folds seed shuffle test_size train_size n_test_per_label
 *	    n n_classes n_groups has_label has_group has_ml has_id
 *	    n labels            (when has_label)
 *	    n groups            (when has_group)
 *	    n+1 offsets, then offsets[n] labels   (when has_ml)
 *	    n ids, each its bytes in hex ("-" for none)   (when has_id)
 *	  method is the SplitMethod number; sizes are numbers or "nan".
 *	  Output per case, one line: "ok v0 v1 ... v(n-1)" or "error reason".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "datasets/split.h"

static int
ReadNumber(double *x)
{
	char		buf[64];

	if (scanf("%63s", buf) != 1)
		return -1;
	*x = strtod(buf, NULL);
	return 0;
}

int
main(void)
{
	mlops_allocator alloc = MLOPS_MALLOC_ALLOCATOR;

	for (;;)
	{
		int			method,
					folds,
					shuffle,
					has_label,
					has_group,
					has_ml,
					has_id;
		unsigned long seed;
		long long	ntpl,
					n,
					i;
		int			n_classes,
					n_groups;
		double		ts,
					trs;
		SplitSpec	spec;
		SplitData	data;
		int32_t    *label = NULL,
				   *group = NULL,
				   *out,
				   *mll = NULL;
		int64_t    *mlo = NULL;
		char	  **ids = NULL;
		size_t	   *id_len = NULL;
		char		err[512];

		if (scanf("%d %d %lu %d", &method, &folds, &seed, &shuffle) != 4)
			break;
		if (ReadNumber(&ts) || ReadNumber(&trs) || scanf("%lld", &ntpl) != 1 ||
			scanf("%lld %d %d %d %d %d %d", &n, &n_classes, &n_groups, &has_label, &has_group, &has_ml,
				  &has_id) != 7)
		{
			fprintf(stderr, "bad case header\n");
			return 2;
		}
		split_spec_init(&spec, (SplitMethod) method);
		spec.folds = folds;
		spec.seed = (uint32_t) seed;
		spec.shuffle = shuffle;
		spec.test_size = ts;
		spec.train_size = trs;
		spec.n_test_per_label = ntpl;
		memset(&data, 0, sizeof(data));
		data.n = n;
		data.n_classes = n_classes;
		data.n_groups = n_groups;
		out = malloc(sizeof(int32_t) * (size_t) (n + 1));
		if (has_label)
		{
			label = malloc(sizeof(int32_t) * (size_t) (n + 1));
			for (i = 0; i < n; i++)
				if (scanf("%d", &label[i]) != 1)
					return 2;
			data.label = label;
		}
		if (has_group)
		{
			group = malloc(sizeof(int32_t) * (size_t) (n + 1));
			for (i = 0; i < n; i++)
				if (scanf("%d", &group[i]) != 1)
					return 2;
			data.group = group;
		}
		if (has_ml)
		{
			mlo = malloc(sizeof(int64_t) * (size_t) (n + 1));
			for (i = 0; i <= n; i++)
			{
				long long	v;

				if (scanf("%lld", &v) != 1)
					return 2;
				mlo[i] = v;
			}
			mll = malloc(sizeof(int32_t) * (size_t) (mlo[n] + 1));
			for (i = 0; i < mlo[n]; i++)
				if (scanf("%d", &mll[i]) != 1)
					return 2;
			data.ml_offsets = mlo;
			data.ml_labels = mll;
		}
		if (has_id)
		{
			ids = calloc((size_t) (n + 1), sizeof(char *));
			id_len = calloc((size_t) (n + 1), sizeof(size_t));
			for (i = 0; i < n; i++)
			{
				char		hex[4096];
				size_t		h,
							len;

				if (scanf("%4095s", hex) != 1)
					return 2;
				len = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
				ids[i] = malloc(len + 1);
				for (h = 0; h < len; h++)
				{
					unsigned int byte;

					if (sscanf(hex + 2 * h, "%2x", &byte) != 1)
						return 2;
					ids[i][h] = (char) byte;
				}
				id_len[i] = len;
			}
			data.id = (const char *const *) ids;
			data.id_len = id_len;
		}
		if (split_assign(&data, &spec, out, &alloc, err, sizeof(err)) != 0)
			printf("error %s\n", err);
		else
		{
			fputs("ok", stdout);
			for (i = 0; i < n; i++)
				printf(" %d", (int) out[i]);
			fputc('\n', stdout);
		}
		free(out);
		free(label);
		free(group);
		free(mlo);
		free(mll);
		if (ids)
			for (i = 0; i < n; i++)
				free(ids[i]);
		free(ids);
		free(id_len);
	}
	return 0;
}
