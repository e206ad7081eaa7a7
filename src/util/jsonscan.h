/*
 * jsonscan.h
 *	  Kernel: a fast, allocation-light scanner for JSON text, specialised for
 *	  what pg_mlops reads from json columns: arrays of scalars (labels,
 *	  numbers) and arrays of arrays (multilabel rows, probability rows).
 *	  Pure C: no PostgreSQL headers.  It never reads outside [text, text+len),
 *	  needs no NUL terminator, and reports malformed input as JS_ERROR with a
 *	  message and a byte offset; it never aborts.
 *
 *	  Reading an array:
 *
 *		js_scanner s;
 *		js_init(&s, text, len, &allocator);
 *		if (js_peek(&s) != JS_ARRAY || !js_enter_array(&s)) error;
 *		while ((r = js_array_step(&s)) == 1)
 *		{
 *			js_value v;
 *			switch (js_read_scalar(&s, &v)) { ... }	(or js_enter_array for a row)
 *		}
 *		if (r < 0 || !js_end(&s)) error;	(s.error, s.error_pos say what and where)
 *		js_free(&s);
 */
#ifndef MLOPS_JSONSCAN_H
#define MLOPS_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

/* Deepest nesting js_skip accepts; deeper input is an error, not a stack overflow. */
#define JS_MAX_DEPTH 1000

typedef enum js_type
{
	JS_ERROR = -1,				/* malformed input, end of input, or out of memory */
	JS_NUMBER = 1,
	JS_STRING,
	JS_TRUE,
	JS_FALSE,
	JS_NULL,
	JS_ARRAY,					/* '[': not consumed by js_peek/js_read_scalar */
	JS_OBJECT					/* '{': not consumed by js_peek/js_read_scalar */
} js_type;

typedef struct js_value
{
	js_type		type;

	/*
	 * JS_NUMBER: the value as a double, correctly rounded as strtod would
	 * (in the C locale); overflow gives +-HUGE_VAL (infinity), underflow 0.
	 * is_integer is true when the number was written as an integer literal
	 * (no fraction, no exponent) that fits int64; "integer" then holds it
	 * exactly.
	 */
	double		number;
	bool		is_integer;
	int64_t		integer;

	/*
	 * JS_STRING: the decoded content (escapes resolved, \uXXXX including
	 * surrogate pairs turned into UTF-8), len bytes, not NUL-terminated.
	 * Points into the text when the string has no escapes, otherwise into
	 * the scanner's scratch buffer, valid until the next js_read_scalar.
	 * A lone surrogate escape is an error (PostgreSQL's json rejects it too
	 * when it is decoded).
	 */
	const char *str;
	size_t		len;
} js_value;

typedef struct js_scanner
{
	const char *start;			/* the text */
	const char *p;				/* next byte to read */
	const char *end;			/* one past the last byte */
	bool		first;			/* just entered an array: no comma expected */
	const mlops_allocator *alloc;
	char	   *scratch;		/* decoded strings with escapes */
	size_t		scratch_cap;
	const char *error;			/* static English message, lower case, or NULL */
	size_t		error_pos;		/* byte offset of the error in the text */

	/*
	 * Private: the inline fast paths run only while p < fast_end.  It is
	 * end - JS_FAST_PAD (so they can read ahead without bounds checks), or
	 * start (which stops them) after an error, right after js_enter_array
	 * (the first step is special) and for texts shorter than JS_FAST_PAD.
	 */
	const char *fast_end;
} js_scanner;

/* js_init prepares to scan text[0..len).  Nothing is allocated yet. */
extern void js_init(js_scanner *s, const char *text, size_t len, const mlops_allocator *alloc);

/* js_free releases the scratch buffer. */
extern void js_free(js_scanner *s);

/*
 * js_peek skips whitespace (space, tab, CR, LF) and returns the type of the
 * next value without consuming it, judged by its first byte ('"', '-' or a
 * digit, 't', 'f', 'n', '[', '{').  At the end of input, or at any other
 * byte (including ']' and ','), returns JS_ERROR and sets the error.
 */
extern js_type js_peek(js_scanner *s);

/* js_enter_array consumes '[' (after whitespace); false and an error otherwise. */
extern bool js_enter_array(js_scanner *s);

/*
 * js_array_step moves between the elements of the innermost open array.
 * Call it right after js_enter_array and after consuming each element.
 * Returns 1 when an element follows (the separating comma consumed, the
 * scanner before the element), 0 when the array closed (its ']' consumed),
 * -1 on malformed input (a missing comma, a trailing comma before ']',
 * end of input).
 */
extern int	js_array_step(js_scanner *s);

/*
 * js_read_scalar reads the next value into *v and returns its type.
 * Scalars (number, string, true, false, null) are consumed; strict JSON
 * grammar (no leading zeros, no "+", no ".5", no "1.", no NaN/Infinity, no
 * control characters inside strings, valid escapes only).  For '[' and '{'
 * it returns JS_ARRAY or JS_OBJECT and consumes nothing.  JS_ERROR on
 * malformed input or when the scratch buffer cannot grow.
 */
extern js_type js_read_scalar(js_scanner *s, js_value *v);

/* js_skip consumes one whole value of any type (iteratively; nesting is limited to JS_MAX_DEPTH). */
extern bool js_skip(js_scanner *s);

/* js_end is true when only whitespace remains; otherwise it sets an error. */
extern bool js_end(js_scanner *s);

/* ----------------------------------------------------------------
 * Private: inline hot paths.
 *
 * js_array_step and js_read_scalar run once per element, so their common
 * cases (a comma, optional whitespace and the next element; an integer of
 * up to 18 digits) are inlined into the caller by the macros below.
 * Anything else goes to js_array_step_slow or js_read_scalar_slow in
 * jsonscan.c, which start over from s->p and handle every case.  The
 * functions declared above still exist and behave the same (their
 * addresses can be taken).
 *
 * Once an error is set every call fails and the first error is kept.
 * ----------------------------------------------------------------
 */

/* Bytes the fast paths may read from p without checking: '-', 18 digits, one more. */
#define JS_FAST_PAD 20

extern int	js_array_step_slow(js_scanner *s);
extern js_type js_read_scalar_slow(js_scanner *s, js_value *v);

/* js_skip_ws_inline returns the first byte at or after p that is not JSON whitespace. */
static inline const char *
js_skip_ws_inline(const char *p, const char *end)
{
	while (p < end && (unsigned char) *p <= ' ' &&
		   (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* js_array_step_inline: a comma, whitespace and the next element; or ']'. */
static inline int
js_array_step_inline(js_scanner *s)
{
	const char *p = s->p;

	if (p < s->fast_end)
	{
		char		c = *p;

		if (c == ',')
		{
			/* p + 2 is still inside the text: fast_end is JS_FAST_PAD before its end */
			c = *++p;
			if (c == ' ')
				c = *++p;
			if ((unsigned char) c <= ' ')
			{
				p = js_skip_ws_inline(p, s->end);
				c = p < s->end ? *p : ']';
			}
			if (c != ']' && c != ',')
			{
				s->p = p;
				return 1;
			}
		}
		else if (c == ']')
		{
			s->p = p + 1;
			return 0;
		}
	}
	return js_array_step_slow(s);
}

/*
 * js_read_scalar_inline: an integer of up to 18 digits right at p (where
 * js_array_step leaves the scanner), other than "-0"; the rest goes to
 * js_read_scalar_slow.  Reads at most JS_FAST_PAD bytes from p.
 */
static inline js_type
js_read_scalar_inline(js_scanner *s, js_value *v)
{
	const char *p = s->p;

	if (p < s->fast_end)
	{
		const char *q = p;
		unsigned int d = (unsigned char) (*q - '0');
		bool		neg = false;

		/* a branch, not p + (*p == '-'): keeps the load off the pointer's dependency chain */
		if (d >= 10 && *q == '-')
		{
			neg = true;
			q++;
			d = (unsigned char) (*q - '0');
		}
		if (d < 10)
		{
			int64_t		u = (int64_t) d;

			q++;
			/* more digits: none after a leading zero, 18 in all at most */
			if ((unsigned char) (*q - '0') < 10 && u != 0)
			{
				const char *lim = q + 17;

				while (q < lim && (d = (unsigned char) (*q - '0')) < 10)
				{
					u = u * 10 + (int64_t) d;
					q++;
				}
			}
			/* a digit here is a leading zero or a 19th digit: the slow path decides */
			if ((unsigned char) (*q - '0') >= 10 && *q != '.' && (*q | 0x20) != 'e' &&
				!(neg && u == 0))
			{
				int64_t		i = neg ? -u : u;

				v->type = JS_NUMBER;
				v->is_integer = true;
				v->integer = i;
				v->number = (double) i;
				v->str = NULL;
				v->len = 0;
				s->p = q;
				return JS_NUMBER;
			}
		}
	}
	return js_read_scalar_slow(s, v);
}

#define js_array_step(s) js_array_step_inline(s)
#define js_read_scalar(s, v) js_read_scalar_inline((s), (v))

#endif							/* MLOPS_JSONSCAN_H */
