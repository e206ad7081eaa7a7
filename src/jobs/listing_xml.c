/*
 * listing_xml.c
 *	  Kernel: the small XML parser of the storage listings (listing.c).
 *
 *	  It builds a tree (local name, character data, children) in one pass
 *	  and refuses, rather than skips, what a listing never holds: a DOCTYPE
 *	  (the door to entity expansion and external entities), an unknown
 *	  entity, "<!" other than a comment or CDATA, mismatched tags, NUL bytes
 *	  and invalid UTF-8; at most LISTING_MAX_DEPTH nested and
 *	  LISTING_MAX_NODES elements.  Nothing is ever fetched.
 */
#define _DEFAULT_SOURCE

#include "jobs/listing_xml.h"
#include "jobs/listing.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct xparser
{
	const char *p;
	const char *end;
	const char *start;
	size_t		nodes;
	char	   *err;
	size_t		errlen;
	bool		failed;
} xparser;

static void xfail(xparser *x, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
xfail(xparser *x, const char *fmt,...)
{
	va_list		ap;
	char		why[200];

	if (x->failed)
		return;
	x->failed = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "malformed listing: %s at byte %zu", why, (size_t) (x->p - x->start));
}

/* valid_utf8: [s, s + len) is well-formed UTF-8 without NUL bytes. */
static bool
valid_utf8(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;
		uint32_t	cp;

		if (c == 0)
			return false;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

void
xml_free(xnode *n)
{
	while (n != NULL)
	{
		xnode	   *next = n->next;

		xml_free(n->child);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

/* append_text adds [s, s + len) to n's text. */
static bool
append_text(xparser *x, xnode *n, const char *s, size_t len)
{
	char	   *t;

	if (len == 0)
		return true;
	t = realloc(n->text, n->textlen + len + 1);
	if (t == NULL)
	{
		xfail(x, "out of memory");
		return false;
	}
	memcpy(t + n->textlen, s, len);
	n->textlen += len;
	t[n->textlen] = '\0';
	n->text = t;
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
name_char(char c)
{
	return !is_space(c) && c != '/' && c != '>' && c != '=' && c != '<' && c != '"' &&
		c != '\'' && c != '&' && c != '\0';
}

/* skip_to: moves past the next occurrence of lit; false at the end of the text. */
static bool
skip_to(xparser *x, const char *lit)
{
	size_t		n = strlen(lit);

	while ((size_t) (x->end - x->p) >= n)
	{
		if (memcmp(x->p, lit, n) == 0)
		{
			x->p += n;
			return true;
		}
		x->p++;
	}
	x->p = x->end;
	return false;
}

static bool
starts(const xparser *x, const char *lit)
{
	size_t		n = strlen(lit);

	return (size_t) (x->end - x->p) >= n && memcmp(x->p, lit, n) == 0;
}

/*
 * misc skips what may stand between elements outside character data:
 * comments and processing instructions; refuses a DOCTYPE and other "<!".
 * Stops at anything else.
 */
static bool
misc(xparser *x)
{
	for (;;)
	{
		if (starts(x, "<!--"))
		{
			x->p += 4;
			if (!skip_to(x, "-->"))
			{
				xfail(x, "a comment is not closed");
				return false;
			}
		}
		else if (starts(x, "<?"))
		{
			x->p += 2;
			if (!skip_to(x, "?>"))
			{
				xfail(x, "a processing instruction is not closed");
				return false;
			}
		}
		else if (starts(x, "<!DOCTYPE") || starts(x, "<!doctype"))
		{
			xfail(x, "a document type declaration is not accepted");
			return false;
		}
		else if (starts(x, "<!") && !starts(x, "<![CDATA["))
		{
			xfail(x, "a markup declaration is not accepted");
			return false;
		}
		else
			return true;
	}
}

/* put_utf8 writes code point cp to out (4 bytes room), returns its length. */
static size_t
put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* entity reads the reference at x->p ('&') and adds its character to n. */
static bool
entity(xparser *x, xnode *n)
{
	const char *semi;
	size_t		len;
	char		buf[4];
	uint32_t	cp = 0;

	semi = memchr(x->p, ';', (size_t) (x->end - x->p) < 16 ? (size_t) (x->end - x->p) : 16);
	if (semi == NULL)
	{
		xfail(x, "an entity reference is not closed");
		return false;
	}
	len = (size_t) (semi - x->p) - 1;
	if (len == 2 && memcmp(x->p + 1, "lt", 2) == 0)
		cp = '<';
	else if (len == 2 && memcmp(x->p + 1, "gt", 2) == 0)
		cp = '>';
	else if (len == 3 && memcmp(x->p + 1, "amp", 3) == 0)
		cp = '&';
	else if (len == 4 && memcmp(x->p + 1, "quot", 4) == 0)
		cp = '"';
	else if (len == 4 && memcmp(x->p + 1, "apos", 4) == 0)
		cp = '\'';
	else if (len >= 2 && x->p[1] == '#')
	{
		bool		hex = x->p[2] == 'x';
		const char *d = x->p + (hex ? 3 : 2);

		if (d == semi)
		{
			xfail(x, "an empty character reference");
			return false;
		}
		for (; d < semi; d++)
		{
			int			v;

			if (isdigit((unsigned char) *d))
				v = *d - '0';
			else if (hex && isxdigit((unsigned char) *d))
				v = tolower((unsigned char) *d) - 'a' + 10;
			else
			{
				xfail(x, "a bad character reference");
				return false;
			}
			cp = cp * (hex ? 16 : 10) + (uint32_t) v;
			if (cp > 0x10FFFF)
				break;
		}
		if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		{
			xfail(x, "a character reference to an invalid character");
			return false;
		}
	}
	else
	{
		xfail(x, "an unknown entity \"%.*s\" (only the five predefined ones are accepted)",
			  (int) len, x->p + 1);
		return false;
	}
	x->p = semi + 1;
	return append_text(x, n, buf, put_utf8(cp, buf));
}

/* local_name: the part of [s, s + len) after its last ':', malloc'd. */
static char *
local_name(const char *s, size_t len)
{
	const char *colon = NULL;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (colon != NULL)
	{
		len -= (size_t) (colon + 1 - s);
		s = colon + 1;
	}
	return strndup(s, len);
}

/*
 * start_tag reads "<name attrs>" or "<name attrs/>" at x->p; *empty tells
 * the second.  The name is returned raw in [*name, *name + *namelen).
 */
static bool
start_tag(xparser *x, const char **name, size_t *namelen, bool *empty)
{
	x->p++;						/* '<' */
	*name = x->p;
	while (x->p < x->end && name_char(*x->p))
		x->p++;
	*namelen = (size_t) (x->p - *name);
	if (*namelen == 0)
	{
		xfail(x, "a tag without a name");
		return false;
	}
	for (;;)
	{
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p >= x->end)
		{
			xfail(x, "a tag is not closed");
			return false;
		}
		if (*x->p == '>')
		{
			x->p++;
			*empty = false;
			return true;
		}
		if (starts(x, "/>"))
		{
			x->p += 2;
			*empty = true;
			return true;
		}
		/* an attribute: name = "value" */
		{
			const char *a = x->p;
			char		q;

			while (x->p < x->end && name_char(*x->p))
				x->p++;
			if (x->p == a)
			{
				xfail(x, "a bad attribute");
				return false;
			}
			while (x->p < x->end && is_space(*x->p))
				x->p++;
			if (x->p >= x->end || *x->p != '=')
			{
				xfail(x, "an attribute without a value");
				return false;
			}
			x->p++;
			while (x->p < x->end && is_space(*x->p))
				x->p++;
			if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			{
				xfail(x, "an attribute value without quotes");
				return false;
			}
			q = *x->p++;
			while (x->p < x->end && *x->p != q)
			{
				if (*x->p == '<')
				{
					xfail(x, "'<' in an attribute value");
					return false;
				}
				x->p++;
			}
			if (x->p >= x->end)
			{
				xfail(x, "an attribute value is not closed");
				return false;
			}
			x->p++;
		}
	}
}

/* parse_doc parses the whole text into a tree; NULL on failure (x->err says why). */
static xnode *
parse_doc(xparser *x)
{
	xnode	   *root = NULL;
	xnode	   *cur = NULL;
	int			depth = 0;

	if (!valid_utf8((const unsigned char *) x->p, (size_t) (x->end - x->p)))
	{
		xfail(x, "the document is not valid UTF-8 (or holds a NUL byte)");
		return NULL;
	}
	if (starts(x, "\xEF\xBB\xBF"))
		x->p += 3;
	/* the prolog: white space, comments, processing instructions */
	for (;;)
	{
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p >= x->end || starts(x, "</"))
		{
			xfail(x, "no root element");
			goto fail;
		}
		if (starts(x, "<![CDATA[") || *x->p != '<')
		{
			xfail(x, "character data outside the root element");
			goto fail;
		}
		if (starts(x, "<!") || starts(x, "<?"))
		{
			if (!misc(x))
				goto fail;
			continue;
		}
		break;
	}

	/* the root element and its content */
	for (;;)
	{
		if (cur == NULL && root != NULL)
			break;				/* the root is closed */
		if (x->p >= x->end)
		{
			xfail(x, "the document ends inside an element");
			goto fail;
		}
		if (*x->p == '<')
		{
			if (starts(x, "<!--") || starts(x, "<?") || (starts(x, "<!") && !starts(x, "<![CDATA[")))
			{
				if (!misc(x))
					goto fail;
			}
			else if (starts(x, "<![CDATA["))
			{
				const char *from;

				if (cur == NULL)
				{
					xfail(x, "character data outside the root element");
					goto fail;
				}
				x->p += 9;
				from = x->p;
				if (!skip_to(x, "]]>"))
				{
					xfail(x, "a CDATA section is not closed");
					goto fail;
				}
				if (!append_text(x, cur, from, (size_t) (x->p - 3 - from)))
					goto fail;
			}
			else if (starts(x, "</"))
			{
				const char *n;
				size_t		nlen;
				char	   *local;
				bool		same;

				x->p += 2;
				n = x->p;
				while (x->p < x->end && name_char(*x->p))
					x->p++;
				nlen = (size_t) (x->p - n);
				while (x->p < x->end && is_space(*x->p))
					x->p++;
				if (x->p >= x->end || *x->p != '>')
				{
					xfail(x, "an end tag is not closed");
					goto fail;
				}
				x->p++;
				local = local_name(n, nlen);
				same = local != NULL && strcmp(local, cur->name) == 0;
				free(local);
				if (!same)
				{
					xfail(x, "the end tag </%.*s> does not close <%s>", (int) (nlen > 60 ? 60 : nlen), n,
						  cur->name);
					goto fail;
				}
				cur = cur->parent;
				depth--;
			}
			else
			{
				const char *n;
				size_t		nlen;
				bool		empty;
				xnode	   *node;

				if (!start_tag(x, &n, &nlen, &empty))
					goto fail;
				if (++x->nodes > LISTING_MAX_NODES)
				{
					xfail(x, "more than %d elements", LISTING_MAX_NODES);
					goto fail;
				}
				if (depth + 1 > LISTING_MAX_DEPTH)
				{
					xfail(x, "elements nested deeper than %d", LISTING_MAX_DEPTH);
					goto fail;
				}
				node = calloc(1, sizeof(xnode));
				if (node == NULL || (node->name = local_name(n, nlen)) == NULL)
				{
					free(node);
					xfail(x, "out of memory");
					goto fail;
				}
				node->parent = cur;
				if (cur == NULL)
					root = node;
				else if (cur->last == NULL)
					cur->child = cur->last = node;
				else
					cur->last = cur->last->next = node;
				if (!empty)
				{
					cur = node;
					depth++;
				}
				else if (cur == NULL)
					break;		/* <root/> */
			}
		}
		else if (*x->p == '&')
		{
			if (!entity(x, cur))
				goto fail;
		}
		else
		{
			const char *from = x->p;

			while (x->p < x->end && *x->p != '<' && *x->p != '&')
				x->p++;
			if (!append_text(x, cur, from, (size_t) (x->p - from)))
				goto fail;
		}
	}

	/* after the root: white space, comments and processing instructions only */
	for (;;)
	{
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p >= x->end)
			break;
		if (*x->p != '<' || (!starts(x, "<!--") && !starts(x, "<?")))
		{
			xfail(x, "content after the root element");
			goto fail;
		}
		if (!misc(x))
			goto fail;
	}
	return root;

fail:
	xml_free(root);
	return NULL;
}


xnode *
xml_parse(const char *xml, size_t len, char *err, size_t errlen)
{
	xparser		x;

	memset(&x, 0, sizeof(x));
	x.p = x.start = xml;
	x.end = xml + len;
	x.err = err;
	x.errlen = errlen;
	return parse_doc(&x);
}
