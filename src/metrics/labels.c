/*
 * labels.c
 *	  Kernel: interning of class labels (see labels.h).  Every metric that
 *	  takes class labels first maps each label to a dense code, so this sits
 *	  in the inner loop over arrays of a million labels and is built for
 *	  speed:
 *
 *	  - small non-negative integers (0 .. LABELS_SMALL_COUNT-1), the common
 *		case of 0/1 targets and class indices, go through a direct-indexed
 *		table: one compare, one conversion and one load;
 *	  - other numbers go through an open-addressing (linear probing) hash
 *		table keyed on the bits of the double, -0.0 folded into 0.0;
 *	  - strings go through an open-addressing hash table that stores each
 *		label's 64-bit hash next to its code, so bytes are compared only
 *		when the hashes match.  The bytes are copied into an arena of
 *		chunks that never move, so labels_string's pointers stay valid for
 *		the life of the set.
 *
 *	  Every allocation goes through the set's mlops_allocator.  An intern
 *	  that fails (LABEL_ERR_*) leaves the set's labels, codes and kind as
 *	  they were; it may have grown a table, which is not observable.
 */
#include "labels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Numbers 0 .. LABELS_SMALL_COUNT-1 take the direct-indexed fast path. */
#define LABELS_SMALL_COUNT	4096

/* Initial sizes: hash tables (a power of two), per-code arrays, arena chunks. */
#define LABELS_HASH_INITIAL		64
#define LABELS_ARRAY_INITIAL	16
#define LABELS_CHUNK_MIN		4096
#define LABELS_CHUNK_MAX		(1024 * 1024)

#define LABELS_EMPTY_SLOT	(-1)

/* A slot of the number hash table: the key's bits and its code (-1: empty). */
typedef struct number_slot
{
	uint64_t	bits;
	int32_t		code;
} number_slot;

/* A slot of the string hash table: the label's hash and its code (-1: empty). */
typedef struct string_slot
{
	uint64_t	hash;
	int32_t		code;
} string_slot;

/* A string label, by code: its bytes in the arena and their length. */
typedef struct string_entry
{
	const char *bytes;
	size_t		len;
} string_entry;

/* An arena chunk; the bytes follow the header. */
typedef struct arena_chunk
{
	struct arena_chunk *next;
	size_t		used;
	size_t		size;
	char		data[];
} arena_chunk;

struct label_set
{
	mlops_allocator alloc;		/* a copy of the caller's */
	label_kind	kind;
	int32_t		count;

	/* numbers: the value of each code */
	double	   *numbers;
	size_t		numbers_cap;

	/* numbers 0 .. LABELS_SMALL_COUNT-1: code or -1; allocated on first use */
	int32_t    *small;

	/* other numbers: hash table */
	number_slot *nslots;
	size_t		nslots_cap;		/* 0 or a power of two */
	size_t		nslots_used;

	/* strings: the bytes of each code, hash table, arena */
	string_entry *strings;
	size_t		strings_cap;
	string_slot *sslots;
	size_t		sslots_cap;		/* 0 or a power of two */
	arena_chunk *arena;			/* newest chunk first */
	size_t		next_chunk;
};

/*
 * mix64 is the finaliser of MurmurHash3 (fmix64): every input bit affects
 * every output bit, which linear probing over a power-of-two table needs.
 */
static inline uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/*
 * load64 reads an unaligned 8-byte word (memcpy of a constant size compiles
 * to one load).
 */
static inline uint64_t
load64(const char *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * load32 reads an unaligned 4-byte word.
 */
static inline uint64_t
load32(const char *p)
{
	uint32_t	w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * rotl64 rotates x left by r bits, 0 < r < 64.
 */
static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

#define HASH_K1		UINT64_C(0x9e3779b97f4a7c15)
#define HASH_K2		UINT64_C(0xc2b2ae3d27d4eb4f)
#define HASH_K3		UINT64_C(0x165667b19e3779f9)

/*
 * hash_bytes hashes a string.  Labels are mostly short, so strings of up to
 * 16 bytes are read as two words that may overlap (first and last 8 or 4
 * bytes, or three single bytes below 4), which together with the length
 * cover every byte without a loop or a variable-length copy.  Longer strings
 * are mixed 16 bytes at a time, the last 16 overlapping.
 */
static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	a,
				b,
				h = (uint64_t) len * HASH_K3;

	if (len <= 16)
	{
		if (len >= 8)
		{
			a = load64(s);
			b = load64(s + len - 8);
		}
		else if (len >= 4)
		{
			a = load32(s);
			b = load32(s + len - 4);
		}
		else if (len > 0)
		{
			a = ((uint64_t) (unsigned char) s[0] << 16) |
				((uint64_t) (unsigned char) s[len >> 1] << 8) |
				(uint64_t) (unsigned char) s[len - 1];
			b = 0;
		}
		else
			a = b = 0;
	}
	else
	{
		size_t		i;

		for (i = 0; i + 16 < len; i += 16)
			h = mix64(h ^ (load64(s + i) * HASH_K1) ^ rotl64(load64(s + i + 8) * HASH_K2, 31));
		a = load64(s + len - 16);
		b = load64(s + len - 8);
	}
	return mix64(h ^ (a * HASH_K1) ^ rotl64(b * HASH_K2, 31));
}

/*
 * bytes_equal compares two strings of len bytes, short ones with the same
 * overlapping word loads as hash_bytes instead of a call to memcmp.
 */
static inline int
bytes_equal(const char *x, const char *y, size_t len)
{
	if (len >= 8 && len <= 16)
		return load64(x) == load64(y) && load64(x + len - 8) == load64(y + len - 8);
	if (len >= 4 && len < 8)
		return load32(x) == load32(y) && load32(x + len - 4) == load32(y + len - 4);
	if (len < 4)
		return len == 0 || (x[0] == y[0] && x[len >> 1] == y[len >> 1] && x[len - 1] == y[len - 1]);
	return memcmp(x, y, len) == 0;
}

/*
 * number_key returns the bits of v, with -0.0 folded into 0.0 so that the
 * two are one label.
 */
static inline uint64_t
number_key(double v)
{
	uint64_t	bits;

	if (v == 0.0)
		v = 0.0;
	memcpy(&bits, &v, sizeof(bits));
	return bits;
}

/*
 * small_index returns v's index in the direct table, or -1 when v takes the
 * hash path (negative, too large, not integral, NaN).
 */
static inline int
small_index(double v)
{
	if (v >= 0.0 && v < (double) LABELS_SMALL_COUNT)
	{
		int			i = (int) v;

		if ((double) i == v)
			return i;
	}
	return -1;
}

/*
 * labels_create allocates an empty set.  Tables are allocated on first use,
 * so an empty set costs one allocation.
 */
label_set *
labels_create(const mlops_allocator *alloc)
{
	label_set  *ls;

	if (alloc == NULL)
		return NULL;
	ls = mlops_alloc(alloc, sizeof(label_set));
	if (ls == NULL)
		return NULL;
	memset(ls, 0, sizeof(label_set));
	ls->alloc = *alloc;
	ls->kind = LABEL_KIND_NONE;
	ls->next_chunk = LABELS_CHUNK_MIN;
	return ls;
}

/*
 * labels_destroy frees the set and everything it holds; NULL is allowed.
 */
void
labels_destroy(label_set *ls)
{
	const mlops_allocator *a;
	arena_chunk *c;

	if (ls == NULL)
		return;
	a = &ls->alloc;
	c = ls->arena;
	while (c != NULL)
	{
		arena_chunk *next = c->next;

		mlops_free(a, c);
		c = next;
	}
	mlops_free(a, ls->numbers);
	mlops_free(a, ls->small);
	mlops_free(a, ls->nslots);
	mlops_free(a, ls->strings);
	mlops_free(a, ls->sslots);
	mlops_free(a, ls);
}

/*
 * grow_array makes room for one more element in *arr (element size elem,
 * capacity *cap, count used), doubling it.  Returns 0 or LABEL_ERR_NOMEM,
 * leaving *arr as it was then.
 */
static int
grow_array(const mlops_allocator *a, void **arr, size_t *cap, size_t used, size_t elem)
{
	size_t		newcap;
	void	   *p;

	if (used < *cap)
		return 0;
	newcap = *cap ? *cap * 2 : LABELS_ARRAY_INITIAL;
	p = mlops_realloc(a, *arr, newcap * elem);
	if (p == NULL)
		return LABEL_ERR_NOMEM;
	*arr = p;
	*cap = newcap;
	return 0;
}

/*
 * table_needs_growth says whether a hash table of capacity cap holding used
 * entries must grow before one more is added: at a load above 1/2.  Tables
 * start at 64 slots, so the few labels of a typical target never collide
 * much: a probe that runs on costs a mispredicted branch, which is most of
 * the time of a lookup.
 */
static inline int
table_needs_growth(size_t used, size_t cap)
{
	return cap == 0 || (used + 1) * 2 > cap;
}

/*
 * number_probe returns the slot of bits in the number table: the slot that
 * holds it, or the empty slot where it belongs.
 */
static inline size_t
number_probe(const number_slot *slots, size_t cap, uint64_t bits)
{
	size_t		mask = cap - 1;
	size_t		i = (size_t) mix64(bits) & mask;

	while (slots[i].code != LABELS_EMPTY_SLOT && slots[i].bits != bits)
		i = (i + 1) & mask;
	return i;
}

/*
 * number_table_grow doubles the number hash table (or creates it) and
 * re-inserts its entries.  Returns 0 or LABEL_ERR_NOMEM, the old table
 * intact then.
 */
static int
number_table_grow(label_set *ls)
{
	size_t		newcap = ls->nslots_cap ? ls->nslots_cap * 2 : LABELS_HASH_INITIAL;
	number_slot *slots;
	size_t		i;

	slots = mlops_alloc(&ls->alloc, newcap * sizeof(number_slot));
	if (slots == NULL)
		return LABEL_ERR_NOMEM;
	for (i = 0; i < newcap; i++)
	{
		slots[i].bits = 0;
		slots[i].code = LABELS_EMPTY_SLOT;
	}
	for (i = 0; i < ls->nslots_cap; i++)
	{
		if (ls->nslots[i].code != LABELS_EMPTY_SLOT)
			slots[number_probe(slots, newcap, ls->nslots[i].bits)] = ls->nslots[i];
	}
	mlops_free(&ls->alloc, ls->nslots);
	ls->nslots = slots;
	ls->nslots_cap = newcap;
	return 0;
}

/*
 * add_number appends v as the next code, growing the value array first.
 * Returns the code or LABEL_ERR_NOMEM (nothing added then).  The caller
 * stores the code in its table after this succeeds.
 */
static int32_t
add_number(label_set *ls, double v)
{
	void	   *arr = ls->numbers;
	int			rc;

	rc = grow_array(&ls->alloc, &arr, &ls->numbers_cap, (size_t) ls->count, sizeof(double));
	ls->numbers = arr;
	if (rc < 0)
		return rc;
	ls->numbers[ls->count] = (v == 0.0) ? 0.0 : v;
	ls->kind = LABEL_KIND_NUMBER;
	return ls->count++;
}

/*
 * labels_intern_number looks v up in the direct table or the hash table and
 * adds it when new.
 */
int32_t
labels_intern_number(label_set *ls, double v)
{
	int			si;
	uint64_t	bits;
	size_t		slot;
	int32_t		code;

	if (ls->kind == LABEL_KIND_STRING)
		return LABEL_ERR_KIND;

	si = small_index(v);
	if (si >= 0)
	{
		if (ls->small != NULL && ls->small[si] >= 0)
			return ls->small[si];
		if (ls->count >= LABEL_MAX_COUNT)
			return LABEL_ERR_TOO_MANY;
		if (ls->small == NULL)
		{
			ls->small = mlops_alloc(&ls->alloc, LABELS_SMALL_COUNT * sizeof(int32_t));
			if (ls->small == NULL)
				return LABEL_ERR_NOMEM;
			memset(ls->small, 0xff, LABELS_SMALL_COUNT * sizeof(int32_t));
		}
		code = add_number(ls, v);
		if (code >= 0)
			ls->small[si] = code;
		return code;
	}

	bits = number_key(v);
	if (ls->nslots_cap > 0)
	{
		slot = number_probe(ls->nslots, ls->nslots_cap, bits);
		if (ls->nslots[slot].code != LABELS_EMPTY_SLOT)
			return ls->nslots[slot].code;
	}
	if (ls->count >= LABEL_MAX_COUNT)
		return LABEL_ERR_TOO_MANY;
	if (table_needs_growth(ls->nslots_used, ls->nslots_cap))
	{
		int			rc = number_table_grow(ls);

		if (rc < 0)
			return rc;
	}
	slot = number_probe(ls->nslots, ls->nslots_cap, bits);
	code = add_number(ls, v);
	if (code < 0)
		return code;
	ls->nslots[slot].bits = bits;
	ls->nslots[slot].code = code;
	ls->nslots_used++;
	return code;
}

/*
 * labels_find_number returns v's code, or -1.
 */
int32_t
labels_find_number(const label_set *ls, double v)
{
	int			si;
	size_t		slot;

	if (ls->kind != LABEL_KIND_NUMBER)
		return -1;
	si = small_index(v);
	if (si >= 0)
		return ls->small != NULL ? ls->small[si] : -1;
	if (ls->nslots_cap == 0)
		return -1;
	slot = number_probe(ls->nslots, ls->nslots_cap, number_key(v));
	return ls->nslots[slot].code;	/* -1 when the slot is empty */
}

/*
 * string_probe returns the slot of the string (s, len, hash) in the string
 * table: the slot that holds it, or the empty slot where it belongs.
 */
static inline size_t
string_probe(const label_set *ls, const char *s, size_t len, uint64_t hash)
{
	const string_slot *slots = ls->sslots;
	size_t		mask = ls->sslots_cap - 1;
	size_t		i = (size_t) hash & mask;

	for (;;)
	{
		int32_t		code = slots[i].code;

		if (code == LABELS_EMPTY_SLOT)
			return i;
		if (slots[i].hash == hash)
		{
			const string_entry *e = &ls->strings[code];

			if (e->len == len && bytes_equal(e->bytes, s, len))
				return i;
		}
		i = (i + 1) & mask;
	}
}

/*
 * string_table_grow doubles the string hash table (or creates it) and
 * re-inserts its entries by their stored hashes.  Returns 0 or
 * LABEL_ERR_NOMEM, the old table intact then.
 */
static int
string_table_grow(label_set *ls)
{
	size_t		newcap = ls->sslots_cap ? ls->sslots_cap * 2 : LABELS_HASH_INITIAL;
	size_t		mask = newcap - 1;
	string_slot *slots;
	size_t		i;

	slots = mlops_alloc(&ls->alloc, newcap * sizeof(string_slot));
	if (slots == NULL)
		return LABEL_ERR_NOMEM;
	for (i = 0; i < newcap; i++)
	{
		slots[i].hash = 0;
		slots[i].code = LABELS_EMPTY_SLOT;
	}
	for (i = 0; i < ls->sslots_cap; i++)
	{
		if (ls->sslots[i].code != LABELS_EMPTY_SLOT)
		{
			/* codes are distinct: the first empty slot is the place */
			size_t		j = (size_t) ls->sslots[i].hash & mask;

			while (slots[j].code != LABELS_EMPTY_SLOT)
				j = (j + 1) & mask;
			slots[j] = ls->sslots[i];
		}
	}
	mlops_free(&ls->alloc, ls->sslots);
	ls->sslots = slots;
	ls->sslots_cap = newcap;
	return 0;
}

/*
 * arena_copy copies len bytes and a terminating NUL into the arena, adding
 * a chunk when the newest one is full.  Returns the copy, or NULL when the
 * allocator fails.  Only the newest chunk is filled; the unused tail of
 * older ones is given up, which costs at most half the arena since chunks
 * double in size.
 */
static const char *
arena_copy(label_set *ls, const char *s, size_t len)
{
	arena_chunk *c = ls->arena;
	char	   *dst;

	if (c == NULL || c->size - c->used < len + 1)
	{
		size_t		size = ls->next_chunk;

		if (size < len + 1)
			size = len + 1;
		c = mlops_alloc(&ls->alloc, offsetof(arena_chunk, data) + size);
		if (c == NULL)
			return NULL;
		c->next = ls->arena;
		c->used = 0;
		c->size = size;
		ls->arena = c;
		if (ls->next_chunk < LABELS_CHUNK_MAX)
			ls->next_chunk *= 2;
	}
	dst = c->data + c->used;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	c->used += len + 1;
	return dst;
}

/*
 * labels_intern_string hashes the bytes, looks them up and adds a copy when
 * new.  Every step that can fail runs before the set changes.
 */
int32_t
labels_intern_string(label_set *ls, const char *s, size_t len)
{
	uint64_t	hash;
	size_t		slot;
	const char *copy;
	void	   *arr;
	int			rc;
	int32_t		code;

	if (ls->kind == LABEL_KIND_NUMBER)
		return LABEL_ERR_KIND;

	hash = hash_bytes(s, len);
	if (ls->sslots_cap > 0)
	{
		slot = string_probe(ls, s, len, hash);
		if (ls->sslots[slot].code != LABELS_EMPTY_SLOT)
			return ls->sslots[slot].code;
	}
	if (ls->count >= LABEL_MAX_COUNT)
		return LABEL_ERR_TOO_MANY;
	if (table_needs_growth((size_t) ls->count, ls->sslots_cap))
	{
		rc = string_table_grow(ls);
		if (rc < 0)
			return rc;
	}
	arr = ls->strings;
	rc = grow_array(&ls->alloc, &arr, &ls->strings_cap, (size_t) ls->count, sizeof(string_entry));
	ls->strings = arr;
	if (rc < 0)
		return rc;
	copy = arena_copy(ls, s, len);
	if (copy == NULL)
		return LABEL_ERR_NOMEM;

	slot = string_probe(ls, s, len, hash);
	code = ls->count++;
	ls->strings[code].bytes = copy;
	ls->strings[code].len = len;
	ls->sslots[slot].hash = hash;
	ls->sslots[slot].code = code;
	ls->kind = LABEL_KIND_STRING;
	return code;
}

/*
 * labels_find_string returns the code of the bytes, or -1.
 */
int32_t
labels_find_string(const label_set *ls, const char *s, size_t len)
{
	size_t		slot;

	if (ls->kind != LABEL_KIND_STRING)
		return -1;
	slot = string_probe(ls, s, len, hash_bytes(s, len));
	return ls->sslots[slot].code;	/* -1 when the slot is empty */
}

/*
 * labels_count returns the number of distinct labels.
 */
size_t
labels_count(const label_set *ls)
{
	return (size_t) ls->count;
}

/*
 * labels_kind returns the kind of the labels, LABEL_KIND_NONE while empty.
 */
label_kind
labels_kind(const label_set *ls)
{
	return ls->kind;
}

/*
 * labels_number returns the number behind a code (0.0 for -0.0); NaN for a
 * code that is not a number's.
 */
double
labels_number(const label_set *ls, int32_t code)
{
	if (ls->kind != LABEL_KIND_NUMBER || code < 0 || code >= ls->count)
		return NAN;
	return ls->numbers[code];
}

/*
 * labels_string returns the bytes behind a code and their length in *len.
 * The bytes are followed by a NUL (they may hold NULs themselves) and stay
 * valid until labels_destroy.  NULL (and *len 0) for a code that is not a
 * string's.
 */
const char *
labels_string(const label_set *ls, int32_t code, size_t *len)
{
	if (ls->kind != LABEL_KIND_STRING || code < 0 || code >= ls->count)
	{
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = ls->strings[code].len;
	return ls->strings[code].bytes;
}

/*
 * Sort keys: qsort's comparator sees only the two elements, so each carries
 * its label and its code (no qsort_r, no static state).
 */
typedef struct number_key_code
{
	double		v;
	int32_t		code;
} number_key_code;

typedef struct string_key_code
{
	const char *bytes;
	size_t		len;
	int32_t		code;
} string_key_code;

/*
 * compare_numbers orders ascending, NaN last as numpy does, then by code
 * (only NaNs can tie: labels are distinct).
 */
static int
compare_numbers(const void *pa, const void *pb)
{
	const number_key_code *a = pa;
	const number_key_code *b = pb;
	int			an = isnan(a->v);
	int			bn = isnan(b->v);

	if (an != bn)
		return an - bn;
	if (!an)
	{
		if (a->v < b->v)
			return -1;
		if (a->v > b->v)
			return 1;
	}
	return (a->code > b->code) - (a->code < b->code);
}

/*
 * compare_strings orders bytewise as unsigned bytes: memcmp over the common
 * prefix, then the shorter first.  For UTF-8 this is code point order.
 */
static int
compare_strings(const void *pa, const void *pb)
{
	const string_key_code *a = pa;
	const string_key_code *b = pb;
	size_t		n = a->len < b->len ? a->len : b->len;
	int			c = n > 0 ? memcmp(a->bytes, b->bytes, n) : 0;

	if (c != 0)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return (a->code > b->code) - (a->code < b->code);
}

/*
 * labels_sort sorts {key, code} pairs with qsort and writes out the codes.
 */
int
labels_sort(const label_set *ls, int32_t *order)
{
	size_t		n = (size_t) ls->count;
	size_t		i;

	if (n == 0)
		return 0;
	if (ls->kind == LABEL_KIND_NUMBER)
	{
		number_key_code *keys = mlops_alloc(&ls->alloc, n * sizeof(number_key_code));

		if (keys == NULL)
			return LABEL_ERR_NOMEM;
		for (i = 0; i < n; i++)
		{
			keys[i].v = ls->numbers[i];
			keys[i].code = (int32_t) i;
		}
		qsort(keys, n, sizeof(number_key_code), compare_numbers);
		for (i = 0; i < n; i++)
			order[i] = keys[i].code;
		mlops_free(&ls->alloc, keys);
	}
	else
	{
		string_key_code *keys = mlops_alloc(&ls->alloc, n * sizeof(string_key_code));

		if (keys == NULL)
			return LABEL_ERR_NOMEM;
		for (i = 0; i < n; i++)
		{
			keys[i].bytes = ls->strings[i].bytes;
			keys[i].len = ls->strings[i].len;
			keys[i].code = (int32_t) i;
		}
		qsort(keys, n, sizeof(string_key_code), compare_strings);
		for (i = 0; i < n; i++)
			order[i] = keys[i].code;
		mlops_free(&ls->alloc, keys);
	}
	return 0;
}
