/*
 * jsonscan.c
 *	  Kernel: a strict, fast JSON scanner for the arrays pg_mlops reads from
 *	  json columns (labels, numbers, rows of them).  See jsonscan.h for the
 *	  contract.  The per-element hot paths are static inline functions in
 *	  the header; this file holds everything else: the general cases of
 *	  js_array_step and js_read_scalar, number conversion beyond the integer
 *	  fast path, string escapes, js_skip and the error reporting.
 *
 *	  Every function stays inside [start, end): the text need not be
 *	  NUL-terminated.  Nothing recurses; js_skip keeps its nesting on a bit
 *	  stack of JS_MAX_DEPTH entries.
 */
#include "jsonscan.h"

#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Error messages: static, lower case. */
#define JS_MSG_EOF			"unexpected end of input"
#define JS_MSG_VALUE		"expected value"
#define JS_MSG_ARRAY		"expected '['"
#define JS_MSG_COMMA_ARRAY	"expected ',' or ']'"
#define JS_MSG_COMMA_OBJECT	"expected ',' or '}'"
#define JS_MSG_TRAILING		"trailing comma before ']'"
#define JS_MSG_KEY			"expected string as object key"
#define JS_MSG_COLON		"expected ':'"
#define JS_MSG_NUMBER		"invalid number"
#define JS_MSG_LITERAL		"invalid literal"
#define JS_MSG_CONTROL		"control character in string"
#define JS_MSG_ESCAPE		"invalid escape in string"
#define JS_MSG_SURROGATE	"unpaired surrogate in string"
#define JS_MSG_NUL			"\\u0000 is not allowed in string"
#define JS_MSG_DEPTH		"nesting too deep"
#define JS_MSG_TRAILER		"expected end of input"
#define JS_MSG_OOM			"out of memory"

/* Literals no longer than this are converted from a buffer on the stack. */
#define JS_NUMBUF_SIZE 64

static inline bool
js_is_digit(char c)
{
	return (unsigned char) (c - '0') < 10;
}

/*
 * js_fail records an error at pos unless one is already recorded (the first
 * error is the one reported), and returns false for the caller's
 * convenience.
 */
static bool
js_fail(js_scanner *s, const char *pos, const char *msg)
{
	if (s->error == NULL)
	{
		s->error = msg;
		s->error_pos = (size_t) (pos - s->start);
	}
	s->fast_end = s->start;
	return false;
}

/*
 * js_fast_end is where the inline fast paths must stop: JS_FAST_PAD bytes
 * before the end, or the start of the text when it is shorter than that.
 */
static inline const char *
js_fast_end(const js_scanner *s)
{
	return (size_t) (s->end - s->start) > JS_FAST_PAD ? s->end - JS_FAST_PAD : s->start;
}

/*
 * js_reserve makes the scratch buffer at least n bytes long, through the
 * allocator.  On failure the old buffer is kept and the error is set.
 */
static bool
js_reserve(js_scanner *s, size_t n, const char *pos)
{
	size_t		cap;
	char	   *grown;

	if (n <= s->scratch_cap)
		return true;
	cap = s->scratch_cap < 32 ? 64 : s->scratch_cap;
	while (cap < n)
		cap = cap <= SIZE_MAX / 2 ? cap * 2 : n;
	grown = s->alloc ? mlops_realloc(s->alloc, s->scratch, cap) : NULL;
	if (grown == NULL)
		return js_fail(s, pos, JS_MSG_OOM);
	s->scratch = grown;
	s->scratch_cap = cap;
	return true;
}

/*
 * js_init sets up the scanner.  A NULL text is taken as empty input.
 */
void
js_init(js_scanner *s, const char *text, size_t len, const mlops_allocator *alloc)
{
	if (text == NULL)
	{
		text = "";
		len = 0;
	}
	s->start = text;
	s->p = text;
	s->end = text + len;
	s->first = false;
	s->alloc = alloc;
	s->scratch = NULL;
	s->scratch_cap = 0;
	s->error = NULL;
	s->error_pos = 0;
	s->fast_end = js_fast_end(s);
}

/*
 * js_free releases the scratch buffer; the scanner may not be used again
 * without js_init.
 */
void
js_free(js_scanner *s)
{
	if (s->scratch != NULL && s->alloc != NULL)
		mlops_free(s->alloc, s->scratch);
	s->scratch = NULL;
	s->scratch_cap = 0;
}

/*
 * js_scan_number checks the number literal at p (its '-' or first digit)
 * against the JSON grammar and, when v is not NULL, converts it.  Returns
 * the position after the literal, or NULL with the error set.
 *
 * Conversion: an integer literal that fits int64 is exact, and its double
 * is the correctly rounded (double) cast, which is what strtod gives.  A
 * decimal with at most 19 significant digits, a significand up to 2^53 and
 * a power of ten within 10^+-22 is one correctly rounded IEEE operation on
 * two exact doubles (Clinger's fast path), again what strtod gives; this
 * needs FLT_EVAL_METHOD == 0 (no excess precision).  Everything else is
 * copied, NUL-terminated, into a buffer and given to strtod.
 */
static const char *
js_scan_number(js_scanner *s, const char *p, js_value *v)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	const char *end = s->end;
	const char *lit = p;
	bool		neg = false;
	bool		integral = true;
	uint64_t	mant = 0;		/* first 19 significant digits */
	int			ndigits = 0;	/* significant digits in mant */
	bool		truncated = false;	/* more significant digits than mant holds */
	long		dexp = 0;		/* mant * 10^dexp, before the exponent */
	long		exp10 = 0;
	bool		expneg = false;

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	if (p >= end)
		return js_fail(s, end, JS_MSG_EOF), NULL;
	if (*p == '0')
	{
		p++;
		if (p < end && js_is_digit(*p))
			return js_fail(s, p, JS_MSG_NUMBER), NULL;
	}
	else if (js_is_digit(*p))
	{
		while (p < end && js_is_digit(*p))
		{
			if (ndigits < 19)
			{
				mant = mant * 10 + (uint64_t) (*p - '0');
				ndigits++;
			}
			else
			{
				truncated = true;
				dexp++;
			}
			p++;
		}
	}
	else
		return js_fail(s, p, JS_MSG_NUMBER), NULL;

	if (p < end && *p == '.')
	{
		integral = false;
		p++;
		if (p >= end)
			return js_fail(s, end, JS_MSG_EOF), NULL;
		if (!js_is_digit(*p))
			return js_fail(s, p, JS_MSG_NUMBER), NULL;
		while (p < end && js_is_digit(*p))
		{
			if (mant == 0 && *p == '0')
				dexp--;			/* a leading zero: only moves the point */
			else if (ndigits < 19)
			{
				mant = mant * 10 + (uint64_t) (*p - '0');
				ndigits++;
				dexp--;
			}
			else
				truncated = true;
			p++;
		}
	}

	if (p < end && (*p == 'e' || *p == 'E'))
	{
		integral = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
		{
			expneg = (*p == '-');
			p++;
		}
		if (p >= end)
			return js_fail(s, end, JS_MSG_EOF), NULL;
		if (!js_is_digit(*p))
			return js_fail(s, p, JS_MSG_NUMBER), NULL;
		while (p < end && js_is_digit(*p))
		{
			if (exp10 < 100000)
				exp10 = exp10 * 10 + (*p - '0');
			p++;
		}
	}

	if (v == NULL)
		return p;

	v->type = JS_NUMBER;
	v->is_integer = false;
	v->integer = 0;
	v->str = NULL;
	v->len = 0;

	/* integer literals that fit int64 (19 digits at most, so mant is exact) */
	if (integral && !truncated &&
		mant <= (neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX))
	{
		v->is_integer = true;
		v->integer = neg ? (mant == 0 ? 0 : -(int64_t) (mant - 1) - 1) : (int64_t) mant;
		v->number = neg ? -(double) mant : (double) mant;
		return p;
	}

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
	if (!truncated && mant <= ((uint64_t) 1 << 53))
	{
		long		e10 = dexp + (expneg ? -exp10 : exp10);
		double		d = (double) mant;

		if (mant == 0)
		{
			v->number = neg ? -0.0 : 0.0;
			return p;
		}
		if (e10 >= -22 && e10 <= 22)
		{
			if (e10 < 0)
				d /= pow10[-e10];
			else
				d *= pow10[e10];
			v->number = neg ? -d : d;
			return p;
		}
	}
#else
	(void) pow10;
	(void) expneg;
#endif

	/* everything else: strtod on a NUL-terminated copy */
	{
		size_t		n = (size_t) (p - lit);
		char		local[JS_NUMBUF_SIZE];
		char	   *buf = local;
		char	   *stop;
		int			saved_errno = errno;

		if (n >= sizeof(local))
		{
			if (!js_reserve(s, n + 1, lit))
				return NULL;
			buf = s->scratch;
		}
		memcpy(buf, lit, n);
		buf[n] = '\0';
		v->number = strtod(buf, &stop);
		errno = saved_errno;
		/* only a locale with another decimal point could stop it early */
		if (stop != buf + n)
			return js_fail(s, lit, JS_MSG_NUMBER), NULL;
	}
	return p;
}

/*
 * js_hex4 reads four hex digits at p into *cp; false when one is not a hex
 * digit.  The caller has checked that four bytes are there.
 */
static bool
js_hex4(const char *p, unsigned int *cp)
{
	unsigned int u = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		u <<= 4;
		if (c >= '0' && c <= '9')
			u |= (unsigned int) (c - '0');
		else if (c >= 'a' && c <= 'f')
			u |= (unsigned int) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			u |= (unsigned int) (c - 'A' + 10);
		else
			return false;
	}
	*cp = u;
	return true;
}

/*
 * js_decode_escapes checks the escapes in the string body [p, q) and, when
 * out is not NULL, writes the decoded bytes there (never more than q - p of
 * them: every escape is at least as long as what it stands for).  Returns
 * the decoded length, or (size_t) -1 with the error set.
 *
 * js_scan_string has already found the closing quote at q, skipping the
 * byte after each backslash, so every backslash in [p, q) has at least one
 * byte after it before q.
 */
static size_t
js_decode_escapes(js_scanner *s, const char *p, const char *q, char *out)
{
	char	   *o = out;
	size_t		n = 0;

	while (p < q)
	{
		const char *bs = memchr(p, '\\', (size_t) (q - p));
		const char *esc;
		unsigned int cp;
		char		c;

		if (bs == NULL)
			bs = q;
		if (out)
			memcpy(o + n, p, (size_t) (bs - p));
		n += (size_t) (bs - p);
		if (bs == q)
			break;

		esc = bs;
		switch (esc[1])
		{
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case '/':
				c = '/';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				c = 0;
				break;
			default:
				js_fail(s, esc, JS_MSG_ESCAPE);
				return (size_t) -1;
		}
		if (esc[1] != 'u')
		{
			if (out)
				o[n] = c;
			n++;
			p = esc + 2;
			continue;
		}

		/* \uXXXX, possibly a surrogate pair \uD8xx\uDCxx */
		if (q - esc < 6 || !js_hex4(esc + 2, &cp))
		{
			js_fail(s, esc, JS_MSG_ESCAPE);
			return (size_t) -1;
		}
		p = esc + 6;
		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			unsigned int lo;

			if (q - p < 6 || p[0] != '\\' || p[1] != 'u')
			{
				js_fail(s, esc, JS_MSG_SURROGATE);
				return (size_t) -1;
			}
			if (!js_hex4(p + 2, &lo))
			{
				js_fail(s, p, JS_MSG_ESCAPE);
				return (size_t) -1;
			}
			if (lo < 0xDC00 || lo > 0xDFFF)
			{
				js_fail(s, esc, JS_MSG_SURROGATE);
				return (size_t) -1;
			}
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			p += 6;
		}
		else if (cp >= 0xDC00 && cp <= 0xDFFF)
		{
			js_fail(s, esc, JS_MSG_SURROGATE);
			return (size_t) -1;
		}
		else if (cp == 0)
		{
			js_fail(s, esc, JS_MSG_NUL);
			return (size_t) -1;
		}

		if (cp < 0x80)
		{
			if (out)
				o[n] = (char) cp;
			n += 1;
		}
		else if (cp < 0x800)
		{
			if (out)
			{
				o[n] = (char) (0xC0 | (cp >> 6));
				o[n + 1] = (char) (0x80 | (cp & 0x3F));
			}
			n += 2;
		}
		else if (cp < 0x10000)
		{
			if (out)
			{
				o[n] = (char) (0xE0 | (cp >> 12));
				o[n + 1] = (char) (0x80 | ((cp >> 6) & 0x3F));
				o[n + 2] = (char) (0x80 | (cp & 0x3F));
			}
			n += 3;
		}
		else
		{
			if (out)
			{
				o[n] = (char) (0xF0 | (cp >> 18));
				o[n + 1] = (char) (0x80 | ((cp >> 12) & 0x3F));
				o[n + 2] = (char) (0x80 | ((cp >> 6) & 0x3F));
				o[n + 3] = (char) (0x80 | (cp & 0x3F));
			}
			n += 4;
		}
	}
	return n;
}

/*
 * js_scan_string checks the string at p (its opening quote) and, when v is
 * not NULL, points v->str at its content: into the text when it has no
 * escapes, into the scratch buffer otherwise.  Returns the position after
 * the closing quote, or NULL with the error set.
 */
static const char *
js_scan_string(js_scanner *s, const char *p, js_value *v)
{
	const char *end = s->end;
	const char *body = p + 1;
	const char *q = body;
	bool		escapes = false;
	size_t		n;

	/* find the closing quote; refuse raw control characters on the way */
	for (;;)
	{
		unsigned char c;

		if (q >= end)
			return js_fail(s, end, JS_MSG_EOF), NULL;
		c = (unsigned char) *q;
		if (c == '"')
			break;
		if (c == '\\')
		{
			if (end - q < 2)
				return js_fail(s, end, JS_MSG_EOF), NULL;
			escapes = true;
			q += 2;
			continue;
		}
		if (c < 0x20)
			return js_fail(s, q, JS_MSG_CONTROL), NULL;
		q++;
	}

	if (!escapes)
	{
		if (v)
		{
			v->str = body;
			v->len = (size_t) (q - body);
		}
		return q + 1;
	}

	if (v == NULL)
		return js_decode_escapes(s, body, q, NULL) == (size_t) -1 ? NULL : q + 1;

	if (!js_reserve(s, (size_t) (q - body), p))
		return NULL;
	n = js_decode_escapes(s, body, q, s->scratch);
	if (n == (size_t) -1)
		return NULL;
	v->str = s->scratch;
	v->len = n;
	return q + 1;
}

/*
 * js_scan_literal checks that the word (true, false or null) is at p.
 * Returns the position after it, or NULL with the error set: at the first
 * byte that differs, or at the end of input when the text stops inside it.
 */
static const char *
js_scan_literal(js_scanner *s, const char *p, const char *word, size_t wlen)
{
	for (size_t i = 0; i < wlen; i++)
	{
		if (p + i >= s->end)
			return js_fail(s, s->end, JS_MSG_EOF), NULL;
		if (p[i] != word[i])
			return js_fail(s, p + i, JS_MSG_LITERAL), NULL;
	}
	return p + wlen;
}

/*
 * js_peek returns the type of the next value, judged by its first byte,
 * without consuming it.
 */
js_type
js_peek(js_scanner *s)
{
	const char *p;

	if (s->error)
		return JS_ERROR;
	p = js_skip_ws_inline(s->p, s->end);
	s->p = p;
	if (p >= s->end)
		return js_fail(s, p, JS_MSG_EOF), JS_ERROR;
	switch (*p)
	{
		case '"':
			return JS_STRING;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			return JS_NUMBER;
		case 't':
			return JS_TRUE;
		case 'f':
			return JS_FALSE;
		case 'n':
			return JS_NULL;
		case '[':
			return JS_ARRAY;
		case '{':
			return JS_OBJECT;
		default:
			return js_fail(s, p, JS_MSG_VALUE), JS_ERROR;
	}
}

/*
 * js_enter_array consumes '[' and prepares js_array_step for the first
 * element.
 */
bool
js_enter_array(js_scanner *s)
{
	const char *p;

	if (s->error)
		return false;
	p = js_skip_ws_inline(s->p, s->end);
	s->p = p;
	if (p >= s->end)
		return js_fail(s, p, JS_MSG_EOF);
	if (*p != '[')
		return js_fail(s, p, JS_MSG_ARRAY);
	s->p = p + 1;
	s->first = true;
	s->fast_end = s->start;		/* the first step takes the slow path */
	return true;
}

/*
 * js_array_step_slow is js_array_step in full: the first step after '[',
 * the end of the array, and every malformed case.  The inline version in
 * the header handles the common steps and comes here for the rest.
 */
int
js_array_step_slow(js_scanner *s)
{
	const char *end = s->end;
	const char *p;
	const char *comma;

	if (s->error)
		return -1;
	p = js_skip_ws_inline(s->p, end);
	s->p = p;
	if (p >= end)
		return js_fail(s, p, JS_MSG_EOF), -1;

	if (s->first)
	{
		s->first = false;
		s->fast_end = js_fast_end(s);
		if (*p == ']')
		{
			s->p = p + 1;
			return 0;
		}
		if (*p == ',')
			return js_fail(s, p, JS_MSG_VALUE), -1;
		return 1;
	}

	if (*p == ']')
	{
		s->p = p + 1;
		return 0;
	}
	if (*p != ',')
		return js_fail(s, p, JS_MSG_COMMA_ARRAY), -1;
	comma = p;
	p = js_skip_ws_inline(p + 1, end);
	if (p >= end)
		return js_fail(s, p, JS_MSG_EOF), -1;
	if (*p == ']')
		return js_fail(s, comma, JS_MSG_TRAILING), -1;
	if (*p == ',')
		return js_fail(s, p, JS_MSG_VALUE), -1;
	s->p = p;
	return 1;
}

/*
 * js_array_step is the out-of-line entry point; callers normally reach the
 * inline version through the macro in the header.
 */
int
(js_array_step) (js_scanner *s)
{
	return js_array_step_inline(s);
}

/*
 * js_read_scalar_slow is js_read_scalar in full; the inline version in the
 * header handles short integers and comes here for everything else.
 */
js_type
js_read_scalar_slow(js_scanner *s, js_value *v)
{
	const char *p;
	const char *next;
	js_type		type;

	v->type = JS_ERROR;
	v->number = 0.0;
	v->is_integer = false;
	v->integer = 0;
	v->str = NULL;
	v->len = 0;

	if (s->error)
		return JS_ERROR;
	p = js_skip_ws_inline(s->p, s->end);
	s->p = p;
	if (p >= s->end)
		return js_fail(s, p, JS_MSG_EOF), JS_ERROR;

	switch (*p)
	{
		case '"':
			type = JS_STRING;
			next = js_scan_string(s, p, v);
			break;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			type = JS_NUMBER;
			next = js_scan_number(s, p, v);
			break;
		case 't':
			type = JS_TRUE;
			next = js_scan_literal(s, p, "true", 4);
			break;
		case 'f':
			type = JS_FALSE;
			next = js_scan_literal(s, p, "false", 5);
			break;
		case 'n':
			type = JS_NULL;
			next = js_scan_literal(s, p, "null", 4);
			break;
		case '[':
			v->type = JS_ARRAY;
			return JS_ARRAY;
		case '{':
			v->type = JS_OBJECT;
			return JS_OBJECT;
		default:
			return js_fail(s, p, JS_MSG_VALUE), JS_ERROR;
	}

	if (next == NULL)
	{
		v->type = JS_ERROR;
		v->number = 0.0;
		v->is_integer = false;
		v->integer = 0;
		v->str = NULL;
		v->len = 0;
		return JS_ERROR;
	}
	s->p = next;
	v->type = type;
	return type;
}

/*
 * js_read_scalar is the out-of-line entry point; callers normally reach
 * the inline version through the macro in the header.
 */
js_type
(js_read_scalar) (js_scanner *s, js_value *v)
{
	return js_read_scalar_inline(s, v);
}

/*
 * js_skip consumes one value of any type, checking it as strictly as
 * js_read_scalar would.  Iterative: the open arrays and objects are bits
 * on a fixed stack (1 = object), so nesting deeper than JS_MAX_DEPTH is an
 * error rather than a stack overflow.
 */
bool
js_skip(js_scanner *s)
{
	enum
	{
		WANT_VALUE,				/* a value must follow */
		WANT_KEY,				/* an object key must follow */
		AFTER_VALUE				/* a value just ended */
	}			state = WANT_VALUE;
	uint64_t	stack[(JS_MAX_DEPTH + 63) / 64];
	int			depth = 0;
	const char *end = s->end;
	const char *p;

	if (s->error)
		return false;
	p = s->p;

	for (;;)
	{
		if (state == AFTER_VALUE && depth == 0)
		{
			s->p = p;
			return true;
		}
		p = js_skip_ws_inline(p, end);
		if (p >= end)
		{
			s->p = p;
			return js_fail(s, p, JS_MSG_EOF);
		}

		if (state == WANT_VALUE)
		{
			const char *next = NULL;

			switch (*p)
			{
				case '[':
				case '{':
					if (depth >= JS_MAX_DEPTH)
					{
						s->p = p;
						return js_fail(s, p, JS_MSG_DEPTH);
					}
					if (*p == '{')
						stack[depth / 64] |= (uint64_t) 1 << (depth % 64);
					else
						stack[depth / 64] &= ~((uint64_t) 1 << (depth % 64));
					depth++;
					state = (*p == '{') ? WANT_KEY : WANT_VALUE;
					p = js_skip_ws_inline(p + 1, end);
					if (p < end && (*p == ']' || *p == '}') &&
						(*p == '}') == (state == WANT_KEY))
					{
						/* empty array or object */
						depth--;
						p++;
						state = AFTER_VALUE;
					}
					continue;
				case '"':
					next = js_scan_string(s, p, NULL);
					break;
				case '-':
				case '0':
				case '1':
				case '2':
				case '3':
				case '4':
				case '5':
				case '6':
				case '7':
				case '8':
				case '9':
					next = js_scan_number(s, p, NULL);
					break;
				case 't':
					next = js_scan_literal(s, p, "true", 4);
					break;
				case 'f':
					next = js_scan_literal(s, p, "false", 5);
					break;
				case 'n':
					next = js_scan_literal(s, p, "null", 4);
					break;
				default:
					s->p = p;
					return js_fail(s, p, JS_MSG_VALUE);
			}
			if (next == NULL)
			{
				s->p = p;
				return false;
			}
			p = next;
			state = AFTER_VALUE;
		}
		else if (state == WANT_KEY)
		{
			const char *next;

			if (*p != '"')
			{
				s->p = p;
				return js_fail(s, p, JS_MSG_KEY);
			}
			next = js_scan_string(s, p, NULL);
			if (next == NULL)
			{
				s->p = p;
				return false;
			}
			p = js_skip_ws_inline(next, end);
			if (p >= end)
			{
				s->p = p;
				return js_fail(s, p, JS_MSG_EOF);
			}
			if (*p != ':')
			{
				s->p = p;
				return js_fail(s, p, JS_MSG_COLON);
			}
			p++;
			state = WANT_VALUE;
		}
		else
		{
			bool		in_object;

			in_object = (stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1;
			if (*p == ',')
			{
				const char *comma = p;

				p = js_skip_ws_inline(p + 1, end);
				if (!in_object && p < end && *p == ']')
				{
					s->p = p;
					return js_fail(s, comma, JS_MSG_TRAILING);
				}
				state = in_object ? WANT_KEY : WANT_VALUE;
			}
			else if (*p == (in_object ? '}' : ']'))
			{
				depth--;
				p++;
			}
			else
			{
				s->p = p;
				return js_fail(s, p, in_object ? JS_MSG_COMMA_OBJECT : JS_MSG_COMMA_ARRAY);
			}
		}
	}
}

/*
 * js_end is true when only whitespace is left.
 */
bool
js_end(js_scanner *s)
{
	const char *p;

	if (s->error)
		return false;
	p = js_skip_ws_inline(s->p, s->end);
	s->p = p;
	if (p < s->end)
		return js_fail(s, p, JS_MSG_TRAILER);
	return true;
}
