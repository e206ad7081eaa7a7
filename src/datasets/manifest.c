/*
 * manifest.c
 *	  Kernel: a manifest file's JSON text parsed with json-c, with the line and
 *	  column of a syntax error.  See manifest.h.
 */
#include "datasets/manifest.h"

#include <string.h>

#include <json-c/json.h>

#include "util/errbuf.h"

/* Where byte offset off falls: 1-based line and column. */
static void
where(const char *text, size_t off, int *line, int *column)
{
	size_t		i;
	int			l = 1,
				c = 1;

	for (i = 0; i < off; i++)
	{
		if (text[i] == '\n')
		{
			l++;
			c = 1;
		}
		else
			c++;
	}
	*line = l;
	*column = c;
}

int
manifest_check(const char *text, size_t len, int *line, int *column, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t		end,
				i;

	*line = 0;
	*column = 0;
	if (memchr(text, '\0', len) != NULL)
	{
		where(text, (size_t) ((const char *) memchr(text, '\0', len) - text), line, column);
		errbuf_printf(err, errlen, "a NUL byte is not JSON");
		return -1;
	}
	if (len > (size_t) 0x7fffffff)
	{
		errbuf_printf(err, errlen, "the file is larger than json-c can read (2 GB)");
		return -1;
	}
	for (i = 0; i < len && strchr(" \t\r\n", text[i]) != NULL; i++)
		;
	if (i == len)
	{
		errbuf_printf(err, errlen, "the file holds no JSON value");
		return -1;
	}

	tok = json_tokener_new_ex(MANIFEST_MAX_DEPTH);
	if (tok == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int) len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue)
	{
		/* the text ended inside a value */
		where(text, len, line, column);
		errbuf_printf(err, errlen, "the JSON text ends too early");
		json_tokener_free(tok);
		return -1;
	}
	if (jerr != json_tokener_success)
	{
		size_t		off = json_tokener_get_parse_end(tok);

		if (off > len)
			off = len;			/* json-c points at the offending byte */
		where(text, off, line, column);
		errbuf_printf(err, errlen, "%s", json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		return -1;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (i = end; i < len && strchr(" \t\r\n", text[i]) != NULL; i++)
		;
	if (i < len)
	{
		where(text, i, line, column);
		errbuf_printf(err, errlen, "more text after the JSON value");
		json_object_put(obj);
		return -1;
	}

	json_object_put(obj);
	return 0;
}
