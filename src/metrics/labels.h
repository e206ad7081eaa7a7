/*
 * labels.h
 *	  Kernel: interning of class labels.  A label is a number (an integral
 *	  finite double: true is 1, false is 0, 1 and 1.0 are the same label) or a
 *	  string (compared by its bytes).  One set holds labels of one kind only,
 *	  as scikit-learn refuses to mix strings and numbers.  Codes are dense,
 *	  0 .. count-1, in the order labels were first seen.  Pure C.
 */
#ifndef MLOPS_LABELS_H
#define MLOPS_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

typedef enum label_kind
{
	LABEL_KIND_NONE = 0,		/* empty set */
	LABEL_KIND_NUMBER,
	LABEL_KIND_STRING
} label_kind;

/* Results below zero from the intern functions. */
#define LABEL_ERR_KIND		(-1)	/* number into a set of strings, or the reverse */
#define LABEL_ERR_NOMEM		(-2)	/* the allocator returned NULL */
#define LABEL_ERR_TOO_MANY	(-3)	/* more than LABEL_MAX_COUNT distinct labels */

#define LABEL_MAX_COUNT		(1 << 24)

typedef struct label_set label_set;

/* labels_create returns an empty set, or NULL when the allocator fails. */
extern label_set *labels_create(const mlops_allocator *alloc);
extern void labels_destroy(label_set *ls);

/*
 * labels_intern_number returns the code of v, adding it when new.  v must be
 * finite and integral (the caller checks: a non-integral value is a
 * "continuous" target, not a label); -0.0 is 0.  Small non-negative integers
 * (the common case: 0/1 labels, class indices) take a direct-indexed fast
 * path; others a hash table.
 */
extern int32_t labels_intern_number(label_set *ls, double v);

/* labels_intern_string returns the code of the len bytes at s, adding them when new (copied). */
extern int32_t labels_intern_string(label_set *ls, const char *s, size_t len);

/* labels_find_number / labels_find_string return the code, or -1 when absent (or of the other kind). */
extern int32_t labels_find_number(const label_set *ls, double v);
extern int32_t labels_find_string(const label_set *ls, const char *s, size_t len);

extern size_t labels_count(const label_set *ls);
extern label_kind labels_kind(const label_set *ls);

/* The label behind a code (code must be valid and of that kind). */
extern double labels_number(const label_set *ls, int32_t code);
extern const char *labels_string(const label_set *ls, int32_t code, size_t *len);

/*
 * labels_sort writes to order[0 .. count-1] every code, in scikit-learn's
 * order (numpy.unique): numbers ascending; strings by Unicode code point,
 * which for UTF-8 is bytewise comparison, a prefix before its extensions.
 * Returns 0, or LABEL_ERR_NOMEM.
 */
extern int	labels_sort(const label_set *ls, int32_t *order);

#endif							/* MLOPS_LABELS_H */
