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

#include "common/alloc.h"

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

#endif							/* MLOPS_JSONSCAN_H */
