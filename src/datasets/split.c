/*
 * split.c
 *	  Kernel: split_assign (see split.h for the contract): checking of the
 *	  data and the spec, the size rules shared by all methods, the methods
 *	  SPLIT_RANDOM, SPLIT_STRATIFIED and SPLIT_HASH, and the check of every
 *	  result before it is returned.
 *
 *	  SPLIT_RANDOM draws numpy's RandomState(seed).permutation(n): one split
 *	  takes its first n_test items as test and the next n_train as train,
 *	  as ShuffleSplit does; folds cut it into KFold's fold sizes.
 *
 *	  SPLIT_STRATIFIED, one split: the test count of class c is its share
 *	  m_c * n_test / n rounded by largest remainder (Hamilton's method, with
 *	  exact integer remainders; ties broken by a seeded random rank), so the
 *	  counts sum exactly to n_test and each is within 1 of its share; the
 *	  train counts likewise from m_c * n_train / n, capped by what the class
 *	  has left.  Then each class's items are shuffled (numpy's shuffle) and
 *	  cut.  With n_test_per_label, every class gives exactly N test items.
 *	  Folds: each class's items shuffled, the classes laid end to end in
 *	  class order, and position p dealt to fold p mod k (as StratifiedKFold
 *	  allocates), so fold sizes are KFold's and each class's count per fold
 *	  is within 1 of the others'.
 *
 *	  SPLIT_HASH: h = SipHash-2-4 of the id bytes with the key (k0, k1) taken
 *	  from splitmix64 over the seed (k0 the first output of the splitmix64
 *	  sequence started at seed, k1 the second); u = (h >> 11) / 2^53 in
 *	  [0, 1).  One split: test when u < test_fraction, train when u <
 *	  test_fraction + train_fraction, otherwise neither.  Folds: fold =
 *	  floor(u * k).  An item's side depends on its id, the seed and the
 *	  fractions only.
 *
 *	  Pure C: no PostgreSQL headers; memory from the caller's allocator.
 */
#include "datasets/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errbuf.h"
#include "datasets/rng.h"
#include "datasets/split_private.h"

static int	SplitCheckData(const SplitData *data, const SplitSpec *spec, char *err, size_t errlen);
static int	SplitRandom(const SplitData *data, const SplitSpec *spec, int32_t *out,
						SplitExpect *expect, const mlops_allocator *alloc,
						char *err, size_t errlen);
static int	SplitStratified(const SplitData *data, const SplitSpec *spec, int32_t *out,
							SplitExpect *expect, const mlops_allocator *alloc,
							char *err, size_t errlen);
static int	SplitHash(const SplitData *data, const SplitSpec *spec, int32_t *out,
					  const mlops_allocator *alloc, char *err, size_t errlen);
static int	SplitCheck(const SplitData *data, const SplitSpec *spec, const int32_t *out,
					   const SplitExpect *expect, const mlops_allocator *alloc,
					   char *err, size_t errlen);

void
split_spec_init(SplitSpec *spec, SplitMethod method)
{
	memset(spec, 0, sizeof(*spec));
	spec->method = method;
	spec->test_size = NAN;
	spec->train_size = NAN;
	spec->n_test_per_label = -1;
	spec->folds = 0;
	spec->seed = 0;
	spec->shuffle = 1;
}

/*
 * SizeKind
 *		0: not given (NaN), 1: fraction in (0, 1), 2: integral count >= 1,
 *		-1: invalid.
 */
static int
SizeKind(double x)
{
	if (isnan(x))
		return 0;
	if (!isfinite(x) || x <= 0)
		return -1;
	if (x < 1)
		return 1;
	if (x == floor(x) && x < 9.0e18)
		return 2;
	return -1;
}

/*
 * split_resolve_sizes
 *		scikit-learn 1.2's _validate_shuffle_split, with 0.25 as the default
 *		test fraction: ceil for a test fraction, floor for a train fraction,
 *		the other side the rest.
 */
int
split_resolve_sizes(int64_t n, double test_size, double train_size,
					int64_t *n_train, int64_t *n_test, char *err, size_t errlen)
{
	int			kte,
				ktr;
	int64_t		te = 0,
				tr = 0;

	if (isnan(test_size) && isnan(train_size))
		test_size = 0.25;
	kte = SizeKind(test_size);
	ktr = SizeKind(train_size);
	if (kte < 0 || (kte == 2 && test_size >= (double) n))
	{
		errbuf_printf(err, errlen, "test_size %g should be a fraction in (0, 1) or a count from 1 to %lld",
					  test_size, (long long) (n > 0 ? n - 1 : 0));
		return -1;
	}
	if (ktr < 0 || (ktr == 2 && train_size >= (double) n))
	{
		errbuf_printf(err, errlen, "train_size %g should be a fraction in (0, 1) or a count from 1 to %lld",
					  train_size, (long long) (n > 0 ? n - 1 : 0));
		return -1;
	}
	if (kte == 1 && ktr == 1 && test_size + train_size > 1)
	{
		errbuf_printf(err, errlen, "test_size + train_size = %g is above 1", test_size + train_size);
		return -1;
	}
	if (kte == 1)
		te = (int64_t) ceil(test_size * (double) n);
	else if (kte == 2)
		te = (int64_t) test_size;
	if (ktr == 1)
		tr = (int64_t) floor(train_size * (double) n);
	else if (ktr == 2)
		tr = (int64_t) train_size;
	if (ktr == 0)
		tr = n - te;
	else if (kte == 0)
		te = n - tr;
	if (tr + te > n)
	{
		errbuf_printf(err, errlen, "train and test sizes add up to %lld, more than the %lld items",
					  (long long) (tr + te), (long long) n);
		return -1;
	}
	if (tr <= 0)
	{
		errbuf_printf(err, errlen, "with %lld items, test_size %g and train_size %g the train side is empty",
					  (long long) n, test_size, train_size);
		return -1;
	}
	if (te <= 0)
	{
		errbuf_printf(err, errlen, "with %lld items the test side is empty", (long long) n);
		return -1;
	}
	*n_train = tr;
	*n_test = te;
	return 0;
}

int
split_bucket(const int32_t *key, int64_t n, int32_t nkeys, int64_t **starts,
			 int64_t **order, const mlops_allocator *alloc)
{
	int64_t    *st = mlops_alloc(alloc, sizeof(int64_t) * ((size_t) nkeys + 1));
	int64_t    *ord = mlops_alloc(alloc, sizeof(int64_t) * (size_t) n);
	int64_t    *fill;
	int64_t		i;
	int32_t		k;

	if (!st || !ord)
	{
		mlops_free(alloc, st);
		mlops_free(alloc, ord);
		return -1;
	}
	memset(st, 0, sizeof(int64_t) * ((size_t) nkeys + 1));
	for (i = 0; i < n; i++)
		st[key[i] + 1]++;
	for (k = 0; k < nkeys; k++)
		st[k + 1] += st[k];
	fill = mlops_alloc(alloc, sizeof(int64_t) * ((size_t) nkeys + 1));
	if (!fill)
	{
		mlops_free(alloc, st);
		mlops_free(alloc, ord);
		return -1;
	}
	memcpy(fill, st, sizeof(int64_t) * ((size_t) nkeys + 1));
	for (i = 0; i < n; i++)
		ord[fill[key[i]]++] = i;
	mlops_free(alloc, fill);
	*starts = st;
	*order = ord;
	return 0;
}

/*
 * split_assign
 *		Checks the data and spec, runs the method, checks the result.
 */
int
split_assign(const SplitData *data, const SplitSpec *spec, int32_t *out,
			 const mlops_allocator *alloc, char *err, size_t errlen)
{
	SplitExpect expect;
	int			rc;

	if (err && errlen)
		err[0] = '\0';
	if (!data || !spec || !alloc)
	{
		errbuf_printf(err, errlen, "missing data, spec or allocator");
		return -1;
	}
	if (SplitCheckData(data, spec, err, errlen) != 0)
		return -1;
	if (data->n == 0)
	{
		if (spec->method == SPLIT_SKLEARN)
		{
			errbuf_printf(err, errlen, "scikit-learn cannot split 0 samples");
			return -1;
		}
		return 0;
	}
	if (!out)
	{
		errbuf_printf(err, errlen, "missing output array");
		return -1;
	}

	memset(&expect, 0, sizeof(expect));
	expect.per_label = -1;
	switch (spec->method)
	{
		case SPLIT_RANDOM:
			rc = SplitRandom(data, spec, out, &expect, alloc, err, errlen);
			break;
		case SPLIT_STRATIFIED:
			rc = SplitStratified(data, spec, out, &expect, alloc, err, errlen);
			break;
		case SPLIT_GROUP:
		case SPLIT_STRATIFIED_GROUP:
			rc = split_grouped(data, spec, out, &expect, alloc, err, errlen);
			break;
		case SPLIT_ITERATIVE:
			rc = split_iterative(data, spec, out, &expect, alloc, err, errlen);
			break;
		case SPLIT_HASH:
			rc = SplitHash(data, spec, out, alloc, err, errlen);
			break;
		case SPLIT_SKLEARN:
			rc = split_sklearn(data, spec, out, &expect, alloc, err, errlen);
			break;
		default:
			errbuf_printf(err, errlen, "unknown split method %d", (int) spec->method);
			return -1;
	}
	if (rc != 0)
		return -1;
	return SplitCheck(data, spec, out, &expect, alloc, err, errlen);
}

/*
 * SplitCheckData
 *		What every method needs: indices in range, a sane spec.
 */
static int
SplitCheckData(const SplitData *data, const SplitSpec *spec, char *err, size_t errlen)
{
	int64_t		i;

	if (data->n < 0)
	{
		errbuf_printf(err, errlen, "negative item count %lld", (long long) data->n);
		return -1;
	}
	if (spec->folds < 0 || spec->folds == 1)
	{
		errbuf_printf(err, errlen, "folds must be 0 (one split) or at least 2, not %d", (int) spec->folds);
		return -1;
	}
	if (spec->folds >= 2 && (!isnan(spec->test_size) || !isnan(spec->train_size)))
	{
		errbuf_printf(err, errlen, "test_size and train_size have no meaning with folds");
		return -1;
	}
	if (spec->n_test_per_label != -1)
	{
		if (spec->n_test_per_label < 1)
		{
			errbuf_printf(err, errlen, "n_test_per_label must be at least 1, not %lld",
						  (long long) spec->n_test_per_label);
			return -1;
		}
		if (spec->method != SPLIT_STRATIFIED || spec->folds != 0 || !data->label)
		{
			errbuf_printf(err, errlen, "n_test_per_label needs SPLIT_STRATIFIED, labels and one split");
			return -1;
		}
		if (!isnan(spec->test_size) || !isnan(spec->train_size))
		{
			errbuf_printf(err, errlen, "n_test_per_label excludes test_size and train_size");
			return -1;
		}
	}
	if (data->label)
	{
		if (data->n_classes < 1)
		{
			errbuf_printf(err, errlen, "labels given with %d classes", (int) data->n_classes);
			return -1;
		}
		for (i = 0; i < data->n; i++)
			if (data->label[i] < 0 || data->label[i] >= data->n_classes)
			{
				errbuf_printf(err, errlen, "item %lld has class %d, outside 0..%d",
							  (long long) i, (int) data->label[i], (int) data->n_classes - 1);
				return -1;
			}
	}
	if (data->group)
	{
		if (data->n_groups < 1)
		{
			errbuf_printf(err, errlen, "groups given with %d groups", (int) data->n_groups);
			return -1;
		}
		for (i = 0; i < data->n; i++)
			if (data->group[i] < 0 || data->group[i] >= data->n_groups)
			{
				errbuf_printf(err, errlen, "item %lld has group %d, outside 0..%d",
							  (long long) i, (int) data->group[i], (int) data->n_groups - 1);
				return -1;
			}
	}
	if (spec->folds > 0 && spec->folds > data->n && data->n > 0)
	{
		errbuf_printf(err, errlen, "%d folds for %lld items", (int) spec->folds, (long long) data->n);
		return -1;
	}
	return 0;
}

/*
 * SplitRandom
 *		numpy's permutation, cut as ShuffleSplit or KFold cut it.
 */
static int
SplitRandom(const SplitData *data, const SplitSpec *spec, int32_t *out,
			SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n;
	int64_t    *perm;
	int64_t		n_train = 0,
				n_test = 0,
				i;
	mt_state	rng;

	if (data->group)
	{
		errbuf_printf(err, errlen, "SPLIT_RANDOM does not take groups; use SPLIT_GROUP");
		return -1;
	}
	if (spec->folds == 0 &&
		split_resolve_sizes(n, spec->test_size, spec->train_size, &n_train, &n_test, err, errlen) != 0)
		return -1;
	perm = mlops_alloc(alloc, sizeof(int64_t) * (size_t) n);
	if (!perm)
	{
		errbuf_printf(err, errlen, "out of memory");
		return -1;
	}
	mt_seed(&rng, spec->seed);
	mt_permutation(&rng, perm, n);
	if (spec->folds == 0)
	{
		for (i = 0; i < n; i++)
			out[perm[i]] = i < n_test ? SPLIT_TEST :
				(i < n_test + n_train ? SPLIT_TRAIN : SPLIT_NEITHER);
		expect->exact = 1;
		expect->n_train = n_train;
		expect->n_test = n_test;
	}
	else
	{
		int32_t		k = 0;
		int64_t		end = split_fold_size(n, spec->folds, 0);

		for (i = 0; i < n; i++)
		{
			while (i >= end)
			{
				k++;
				end += split_fold_size(n, spec->folds, k);
			}
			out[perm[i]] = k;
		}
		expect->kfold_sizes = 1;
	}
	expect->nonempty = 1;
	mlops_free(alloc, perm);
	return 0;
}

/* One class in the largest-remainder order. */
typedef struct ApportionKey
{
	int64_t		rem;			/* numerator of the remainder (over n) */
	uint32_t	rank;			/* seeded tie-break */
	int32_t		c;
} ApportionKey;

static int
ApportionCmp(const void *a, const void *b)
{
	const ApportionKey *x = a,
			   *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return 0;
}

/*
 * Apportion
 *		cnt[c] = m_c * total / n rounded by largest remainder, capped by
 *		cap[c]; the counts sum to total (callers guarantee sum cap >= total).
 *		keys has C entries of scratch.
 */
static int
Apportion(const int64_t *m, const int64_t *cap, int32_t C, int64_t n, int64_t total,
		  int64_t *cnt, ApportionKey *keys, mt_state *rng)
{
	int64_t		sum = 0;
	int32_t		c;

	for (c = 0; c < C; c++)
	{
		/* m_c * total <= n * n: exact in int64 for n below 3e9 */
		int64_t		num = m[c] * total;
		int64_t		f = num / n;

		if (f > cap[c])
			f = cap[c];
		cnt[c] = f;
		sum += f;
		keys[c].rem = num - (num / n) * n;
		keys[c].rank = mt_next32(rng);
		keys[c].c = c;
	}
	qsort(keys, (size_t) C, sizeof(ApportionKey), ApportionCmp);
	while (sum < total)
	{
		int64_t		before = sum;

		for (c = 0; c < C && sum < total; c++)
		{
			int32_t		k = keys[c].c;

			if (cnt[k] < cap[k])
			{
				cnt[k]++;
				sum++;
			}
		}
		if (sum == before)
			return -1;
	}
	return 0;
}

/*
 * SplitStratified
 *		See the file header.
 */
static int
SplitStratified(const SplitData *data, const SplitSpec *spec, int32_t *out,
				SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n;
	int32_t		C = data->n_classes;
	int64_t    *starts = NULL,
			   *order = NULL,
			   *m = NULL,
			   *cap = NULL,
			   *tcnt = NULL,
			   *rcnt = NULL;
	ApportionKey *keys = NULL;
	int64_t		n_train = 0,
				n_test = 0,
				i;
	int32_t		c;
	mt_state	rng;
	int			rc = -1;

	if (!data->label)
	{
		errbuf_printf(err, errlen, "SPLIT_STRATIFIED needs labels");
		return -1;
	}
	if (data->group)
	{
		errbuf_printf(err, errlen, "SPLIT_STRATIFIED does not take groups; use SPLIT_STRATIFIED_GROUP");
		return -1;
	}
	if (spec->folds == 0 && spec->n_test_per_label < 0 &&
		split_resolve_sizes(n, spec->test_size, spec->train_size, &n_train, &n_test, err, errlen) != 0)
		return -1;
	if (n > INT64_C(3000000000))
	{
		errbuf_printf(err, errlen, "SPLIT_STRATIFIED takes at most 3e9 items");
		return -1;
	}
	if (split_bucket(data->label, n, C, &starts, &order, alloc) != 0)
		goto oom;
	m = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	cap = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	tcnt = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	rcnt = mlops_alloc(alloc, sizeof(int64_t) * (size_t) C);
	keys = mlops_alloc(alloc, sizeof(ApportionKey) * (size_t) C);
	if (!m || !cap || !tcnt || !rcnt || !keys)
		goto oom;
	for (c = 0; c < C; c++)
		m[c] = starts[c + 1] - starts[c];
	mt_seed(&rng, spec->seed);

	if (spec->folds >= 2)
	{
		int64_t		p = 0;

		for (c = 0; c < C; c++)
		{
			mt_shuffle64(&rng, order + starts[c], m[c]);
			for (i = starts[c]; i < starts[c + 1]; i++, p++)
				out[order[i]] = (int32_t) (p % spec->folds);
		}
		expect->kfold_sizes = 1;
		expect->nonempty = 1;
		rc = 0;
		goto done;
	}

	if (spec->n_test_per_label >= 0)
	{
		n_test = n_train = 0;
		for (c = 0; c < C; c++)
		{
			if (m[c] == 0)
			{
				tcnt[c] = rcnt[c] = 0;
				continue;
			}
			if (spec->n_test_per_label >= m[c])
			{
				errbuf_printf(err, errlen, "n_test_per_label %lld leaves no train item in class %d, which has %lld items",
							  (long long) spec->n_test_per_label, (int) c, (long long) m[c]);
				goto done;
			}
			tcnt[c] = spec->n_test_per_label;
			rcnt[c] = m[c] - tcnt[c];
			n_test += tcnt[c];
			n_train += rcnt[c];
		}
		expect->per_label = spec->n_test_per_label;
	}
	else
	{
		if (Apportion(m, m, C, n, n_test, tcnt, keys, &rng) != 0)
			goto bug;
		for (c = 0; c < C; c++)
			cap[c] = m[c] - tcnt[c];
		if (Apportion(m, cap, C, n, n_train, rcnt, keys, &rng) != 0)
			goto bug;
	}
	for (c = 0; c < C; c++)
	{
		int64_t		s = starts[c];

		mt_shuffle64(&rng, order + s, m[c]);
		for (i = 0; i < m[c]; i++)
			out[order[s + i]] = i < tcnt[c] ? SPLIT_TEST :
				(i < tcnt[c] + rcnt[c] ? SPLIT_TRAIN : SPLIT_NEITHER);
	}
	expect->exact = 1;
	expect->n_train = n_train;
	expect->n_test = n_test;
	expect->nonempty = 1;
	rc = 0;
	goto done;

oom:
	errbuf_printf(err, errlen, "out of memory");
	goto done;
bug:
	errbuf_printf(err, errlen, "internal error: apportionment did not reach its total");
done:
	mlops_free(alloc, starts);
	mlops_free(alloc, order);
	mlops_free(alloc, m);
	mlops_free(alloc, cap);
	mlops_free(alloc, tcnt);
	mlops_free(alloc, rcnt);
	mlops_free(alloc, keys);
	return rc;
}

#define SIP_ROTL(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND \
	do { \
		v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0; v0 = SIP_ROTL(v0, 32); \
		v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2; v2 = SIP_ROTL(v2, 32); \
	} while (0)

/*
 * split_siphash24
 *		SipHash-2-4 (Aumasson and Bernstein 2012), little-endian word
 *		reads regardless of the host's byte order.
 */
uint64_t
split_siphash24(uint64_t k0, uint64_t k1, const void *msg, size_t len)
{
	const unsigned char *p = msg;
	uint64_t	v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t	v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t	v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t	v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t	b = ((uint64_t) len) << 56;
	size_t		i,
				whole = len - len % 8;
	int			r;

	for (i = 0; i < whole; i += 8)
	{
		uint64_t	mword = 0;
		int			j;

		for (j = 7; j >= 0; j--)
			mword = (mword << 8) | p[i + j];
		v3 ^= mword;
		for (r = 0; r < 2; r++)
			SIP_ROUND;
		v0 ^= mword;
	}
	for (i = 0; i < len % 8; i++)
		b |= ((uint64_t) p[whole + i]) << (8 * i);
	v3 ^= b;
	for (r = 0; r < 2; r++)
		SIP_ROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (r = 0; r < 4; r++)
		SIP_ROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t
SplitMix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
split_hash_key(uint32_t seed, uint64_t *k0, uint64_t *k1)
{
	uint64_t	x = seed;

	*k0 = SplitMix64(&x);
	*k1 = SplitMix64(&x);
}

/* An item's hash, for finding duplicate ids. */
typedef struct HashedId
{
	uint64_t	h;
	int64_t		i;
} HashedId;

static int
HashedIdCmp(const void *a, const void *b)
{
	const HashedId *x = a,
			   *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : (x->i > y->i);
}

/*
 * SplitHash
 *		See the file header.  Duplicate ids are found by sorting the hashes
 *		and comparing the bytes of equal neighbours.
 */
static int
SplitHash(const SplitData *data, const SplitSpec *spec, int32_t *out,
		  const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n,
				i;
	double		te = spec->test_size,
				tr = spec->train_size;
	uint64_t	k0,
				k1;
	HashedId   *hs;

	if (!data->id || !data->id_len)
	{
		errbuf_printf(err, errlen, "SPLIT_HASH needs item ids");
		return -1;
	}
	if (data->group)
	{
		errbuf_printf(err, errlen, "SPLIT_HASH does not take groups; pass the group keys as ids");
		return -1;
	}
	if (spec->folds == 0)
	{
		if (isnan(te) && isnan(tr))
			te = 0.25;
		if ((!isnan(te) && SizeKind(te) != 1) || (!isnan(tr) && SizeKind(tr) != 1))
		{
			errbuf_printf(err, errlen, "SPLIT_HASH takes test_size and train_size as fractions in (0, 1)");
			return -1;
		}
		if (isnan(tr))
			tr = 1 - te;
		else if (isnan(te))
			te = 1 - tr;
		if (te + tr > 1)
		{
			errbuf_printf(err, errlen, "test_size + train_size = %g is above 1", te + tr);
			return -1;
		}
	}
	hs = mlops_alloc(alloc, sizeof(HashedId) * (size_t) n);
	if (!hs)
	{
		errbuf_printf(err, errlen, "out of memory");
		return -1;
	}
	split_hash_key(spec->seed, &k0, &k1);
	for (i = 0; i < n; i++)
	{
		double		u;

		if (!data->id[i] && data->id_len[i] > 0)
		{
			errbuf_printf(err, errlen, "item %lld has no id", (long long) i);
			mlops_free(alloc, hs);
			return -1;
		}
		hs[i].h = split_siphash24(k0, k1, data->id[i] ? data->id[i] : "", data->id_len[i]);
		hs[i].i = i;
		u = (double) (hs[i].h >> 11) * (1.0 / 9007199254740992.0);
		if (spec->folds >= 2)
			out[i] = (int32_t) floor(u * spec->folds);
		else
			out[i] = u < te ? SPLIT_TEST : (u < te + tr ? SPLIT_TRAIN : SPLIT_NEITHER);
	}
	qsort(hs, (size_t) n, sizeof(HashedId), HashedIdCmp);
	for (i = 1; i < n; i++)
	{
		int64_t		a = hs[i - 1].i,
					b = hs[i].i;

		if (hs[i].h == hs[i - 1].h && data->id_len[a] == data->id_len[b] &&
			(data->id_len[a] == 0 || memcmp(data->id[a], data->id[b], data->id_len[a]) == 0))
		{
			errbuf_printf(err, errlen, "items %lld and %lld have the same id", (long long) a, (long long) b);
			mlops_free(alloc, hs);
			return -1;
		}
	}
	mlops_free(alloc, hs);
	return 0;
}

/*
 * SplitCheck
 *		The result against what the method promised (SplitExpect), and the
 *		promises every method keeps: values in range, no group on two sides
 *		when grouped.
 */
static int
SplitCheck(const SplitData *data, const SplitSpec *spec, const int32_t *out,
		   const SplitExpect *expect, const mlops_allocator *alloc, char *err, size_t errlen)
{
	int64_t		n = data->n,
				i;
	int32_t		sides = spec->folds >= 2 ? spec->folds : 3;
	int64_t    *cnt = mlops_alloc(alloc, sizeof(int64_t) * (size_t) sides);
	int32_t		k;
	int			rc = -1;

	if (!cnt)
	{
		errbuf_printf(err, errlen, "out of memory");
		return -1;
	}
	memset(cnt, 0, sizeof(int64_t) * (size_t) sides);
	for (i = 0; i < n; i++)
	{
		if (out[i] < 0 || out[i] >= sides)
		{
			errbuf_printf(err, errlen, "internal error: item %lld assigned to %d", (long long) i, (int) out[i]);
			goto done;
		}
		cnt[out[i]]++;
	}
	if (spec->folds >= 2)
	{
		for (k = 0; k < sides; k++)
		{
			if (expect->kfold_sizes && cnt[k] != split_fold_size(n, spec->folds, k))
			{
				errbuf_printf(err, errlen, "internal error: fold %d has %lld items, not %lld",
							  (int) k, (long long) cnt[k], (long long) split_fold_size(n, spec->folds, k));
				goto done;
			}
			if (expect->nonempty && cnt[k] == 0)
			{
				errbuf_printf(err, errlen, "internal error: fold %d is empty", (int) k);
				goto done;
			}
		}
	}
	else
	{
		if (expect->exact && (cnt[SPLIT_TEST] != expect->n_test || cnt[SPLIT_TRAIN] != expect->n_train))
		{
			errbuf_printf(err, errlen, "internal error: %lld test and %lld train items, not %lld and %lld",
						  (long long) cnt[SPLIT_TEST], (long long) cnt[SPLIT_TRAIN],
						  (long long) expect->n_test, (long long) expect->n_train);
			goto done;
		}
		if (expect->nonempty && (cnt[SPLIT_TEST] == 0 || cnt[SPLIT_TRAIN] == 0))
		{
			errbuf_printf(err, errlen, "internal error: the %s side is empty",
						  cnt[SPLIT_TEST] == 0 ? "test" : "train");
			goto done;
		}
	}
	if (expect->grouped && data->group)
	{
		int32_t    *side = mlops_alloc(alloc, sizeof(int32_t) * (size_t) data->n_groups);

		if (!side)
		{
			errbuf_printf(err, errlen, "out of memory");
			goto done;
		}
		for (k = 0; k < data->n_groups; k++)
			side[k] = -1;
		for (i = 0; i < n; i++)
		{
			int32_t		g = data->group[i];

			if (side[g] >= 0 && side[g] != out[i])
			{
				errbuf_printf(err, errlen, "internal error: group %d is on two sides", (int) g);
				mlops_free(alloc, side);
				goto done;
			}
			side[g] = out[i];
		}
		mlops_free(alloc, side);
	}
	if (expect->per_label >= 0 && data->label)
	{
		int64_t    *tc = mlops_alloc(alloc, sizeof(int64_t) * (size_t) data->n_classes * 2);

		if (!tc)
		{
			errbuf_printf(err, errlen, "out of memory");
			goto done;
		}
		memset(tc, 0, sizeof(int64_t) * (size_t) data->n_classes * 2);
		for (i = 0; i < n; i++)
		{
			tc[2 * data->label[i]]++;
			if (out[i] == SPLIT_TEST)
				tc[2 * data->label[i] + 1]++;
		}
		for (k = 0; k < data->n_classes; k++)
			if (tc[2 * k] > 0 && tc[2 * k + 1] != expect->per_label)
			{
				errbuf_printf(err, errlen, "internal error: class %d has %lld test items, not %lld",
							  (int) k, (long long) tc[2 * k + 1], (long long) expect->per_label);
				mlops_free(alloc, tc);
				goto done;
			}
		mlops_free(alloc, tc);
	}
	rc = 0;
done:
	mlops_free(alloc, cnt);
	return rc;
}
