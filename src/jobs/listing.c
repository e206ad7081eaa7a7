/*
 * listing.c
 *	  Kernel: S3 ListObjectsV2 and WebDAV PROPFIND answers read into a
 *	  sorted list of objects, and written as JSON.  See listing.h for the
 *	  contract.
 *
 *	  The XML is read by listing_xml.c; this file walks its tree.
 *	  Everything made here is malloc'd and freed before a parse returns,
 *	  except what it adds to the listing and the page.
 */
#define _DEFAULT_SOURCE

#include "jobs/listing.h"
#include "jobs/listing_xml.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void
set_err(char *err, size_t errlen, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static xnode *
find_child(const xnode *n, const char *name)
{
	for (xnode *c = n ? n->child : NULL; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* text_of: n's text trimmed of white space, malloc'd ("" when none); NULL when out of memory. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *
text_of(const xnode *n)
{
	const char *s = n && n->text ? n->text : "";
	size_t		len = strlen(s);

	while (len > 0 && is_space(*s))
		s++, len--;
	while (len > 0 && is_space(s[len - 1]))
		len--;
	return strndup(s, len);
}

bool
listing_check_name(const char *name, char *err, size_t errlen)
{
	const char *seg = name;

	if (name[0] == '\0')
	{
		set_err(err, errlen, "the listing names an object with an empty name");
		return false;
	}
	for (const char *p = name; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
		{
			set_err(err, errlen, "the listing names an object with a control character in its name");
			return false;
		}
	for (const char *p = name;; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			size_t		len = (size_t) (p - seg);

			if ((len == 0 && !(*p == '\0' && p != name)) ||
				(len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			{
				set_err(err, errlen, "the listing names \"%.200s\": empty, \".\" and \"..\" parts are not accepted", name);
				return false;
			}
			if (*p == '\0')
				break;
			seg = p + 1;
		}
	}
	if (name[0] == '/')
	{
		set_err(err, errlen, "the listing names \"%.200s\": an absolute name", name);
		return false;
	}
	return true;
}

/* add_entry takes name, modified and etag (malloc'd; freed on failure). */
static bool
add_entry(listing *l, char *name, int64_t size, char *modified, char *etag, char *err, size_t errlen)
{
	if (!listing_check_name(name, err, errlen))
		goto fail;
	if (l->max_entries > 0 && l->n >= l->max_entries)
	{
		set_err(err, errlen, "the listing has more than %zu objects", l->max_entries);
		goto fail;
	}
	if (l->n == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 64;
		listing_entry *items = realloc(l->items, cap * sizeof(listing_entry));

		if (items == NULL)
		{
			set_err(err, errlen, "out of memory");
			goto fail;
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n].name = name;
	l->items[l->n].size = size;
	l->items[l->n].modified = modified;
	l->items[l->n].etag = etag;
	l->n++;
	return true;
fail:
	free(name);
	free(modified);
	free(etag);
	return false;
}

/* parse_size: a non-negative decimal integer; -1 when absent, -2 when malformed. */
static int64_t
parse_size(const xnode *n)
{
	char	   *t;
	int64_t		v = 0;

	if (n == NULL)
		return -1;
	t = text_of(n);
	if (t == NULL)
		return -2;
	if (t[0] == '\0')
	{
		free(t);
		return -1;
	}
	for (const char *p = t; *p; p++)
	{
		if (!isdigit((unsigned char) *p) || v > (INT64_MAX - 9) / 10)
		{
			free(t);
			return -2;
		}
		v = v * 10 + (*p - '0');
	}
	free(t);
	return v;
}

/* etag_of: the ETag without its quotes (and a W/ prefix kept), NULL when absent or empty. */
static char *
etag_of(const xnode *n)
{
	char	   *t = n ? text_of(n) : NULL;
	size_t		len;

	if (t == NULL || t[0] == '\0')
	{
		free(t);
		return NULL;
	}
	len = strlen(t);
	if (len >= 2 && t[0] == '"' && t[len - 1] == '"')
	{
		memmove(t, t + 1, len - 2);
		t[len - 2] = '\0';
	}
	return t;
}

static char *
optional_text(const xnode *n)
{
	char	   *t = n ? text_of(n) : NULL;

	if (t != NULL && t[0] == '\0')
	{
		free(t);
		return NULL;
	}
	return t;
}

bool
listing_parse_s3(listing *l, const char *xml, size_t len, listing_page *page, char *err, size_t errlen)
{
	xnode	   *root = xml_parse(xml, len, err, errlen);
	bool		ok = false;

	memset(page, 0, sizeof(*page));
	if (root == NULL)
		return false;
	if (strcmp(root->name, "Error") == 0)
	{
		char	   *code = text_of(find_child(root, "Code"));
		char	   *msg = text_of(find_child(root, "Message"));

		set_err(err, errlen, "the server answered %.100s: %.200s", code ? code : "", msg ? msg : "");
		free(code);
		free(msg);
		goto done;
	}
	if (strcmp(root->name, "ListBucketResult") != 0)
	{
		set_err(err, errlen, "malformed listing: the root element is <%.60s>, not <ListBucketResult>", root->name);
		goto done;
	}
	for (xnode *c = root->child; c != NULL; c = c->next)
	{
		if (strcmp(c->name, "Contents") == 0)
		{
			xnode	   *key = find_child(c, "Key");
			char	   *name;
			int64_t		size = parse_size(find_child(c, "Size"));

			if (key == NULL)
			{
				set_err(err, errlen, "malformed listing: an object without a <Key>");
				goto done;
			}
			if (size == -2)
			{
				set_err(err, errlen, "malformed listing: a <Size> that is not a whole number");
				goto done;
			}
			/* a key is taken as it is, white space included */
			name = strdup(key->text ? key->text : "");
			if (name == NULL)
			{
				set_err(err, errlen, "out of memory");
				goto done;
			}
			/* a "folder/" key is a folder marker (S3 consoles make them), not an object */
			if (name[0] != '\0' && name[strlen(name) - 1] == '/' && listing_check_name(name, err, errlen))
			{
				free(name);
				continue;
			}
			if (!add_entry(l, name, size, optional_text(find_child(c, "LastModified")),
						   etag_of(find_child(c, "ETag")), err, errlen))
				goto done;
		}
		else if (strcmp(c->name, "IsTruncated") == 0)
		{
			char	   *t = text_of(c);

			page->truncated = t != NULL && strcmp(t, "true") == 0;
			free(t);
		}
		else if (strcmp(c->name, "NextContinuationToken") == 0)
		{
			free(page->next_token);
			page->next_token = optional_text(c);
		}
	}
	if (page->truncated && page->next_token == NULL)
	{
		set_err(err, errlen, "malformed listing: truncated without a <NextContinuationToken>");
		goto done;
	}
	ok = true;
done:
	xml_free(root);
	if (!ok)
		listing_page_free(page);
	return ok;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char) tolower((unsigned char) c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* percent_decode: s with %XX decoded, malloc'd; NULL when a %XX is malformed or decodes to NUL. */
static char *
percent_decode(const char *s)
{
	size_t		len = strlen(s);
	char	   *out = malloc(len + 1);
	size_t		o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			int			h,
						l;

			if (i + 2 >= len)
			{
				free(out);
				return NULL;
			}
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
			{
				free(out);
				return NULL;
			}
			out[o++] = (char) (h * 16 + l);
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* href_path: the path of an href (an absolute path, or a URL whose path is taken), malloc'd. */
static char *
href_path(const char *href)
{
	const char *p = href;

	if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0)
	{
		p = strstr(p, "://") + 3;
		p = strchr(p, '/');
		if (p == NULL)
			return strdup("/");
	}
	if (p[0] != '/')
		return NULL;
	/* no query or fragment in a listing's href */
	return strndup(p, strcspn(p, "?#"));
}

static bool
add_folder(listing_page *page, char *name)
{
	char	  **f = realloc(page->folders, (page->nfolders + 1) * sizeof(char *));

	if (f == NULL)
	{
		free(name);
		return false;
	}
	page->folders = f;
	page->folders[page->nfolders++] = name;
	return true;
}

bool
listing_parse_webdav(listing *l, const char *xml, size_t len, const char *root_path,
					 const char *folder, listing_page *page, char *err, size_t errlen)
{
	xnode	   *root = xml_parse(xml, len, err, errlen);
	char	   *root_dec = NULL;
	size_t		rlen;
	size_t		flen = strlen(folder);
	bool		ok = false;

	memset(page, 0, sizeof(*page));
	if (root == NULL)
		return false;
	if (strcmp(root->name, "multistatus") != 0)
	{
		set_err(err, errlen, "malformed listing: the root element is <%.60s>, not <multistatus>", root->name);
		goto done;
	}
	root_dec = percent_decode(root_path);
	if (root_dec == NULL)
	{
		set_err(err, errlen, "the credential's url has a malformed path");
		goto done;
	}
	rlen = strlen(root_dec);
	for (xnode *r = root->child; r != NULL; r = r->next)
	{
		char	   *href_t;
		char	   *path;
		char	   *dec;
		char	   *name;
		size_t		nlen;
		bool		collection = false;
		int64_t		size = -1;
		char	   *modified = NULL;
		char	   *etag = NULL;
		bool		found = false;

		if (strcmp(r->name, "response") != 0)
			continue;
		href_t = text_of(find_child(r, "href"));
		if (href_t == NULL || href_t[0] == '\0')
		{
			free(href_t);
			set_err(err, errlen, "malformed listing: a response without an <href>");
			goto done;
		}
		path = href_path(href_t);
		dec = path ? percent_decode(path) : NULL;
		free(path);
		if (dec == NULL)
		{
			set_err(err, errlen, "malformed listing: a bad <href> \"%.200s\"", href_t);
			free(href_t);
			goto done;
		}
		free(href_t);
		if (strncmp(dec, root_dec, rlen) != 0 || strncmp(dec + rlen, folder, flen) != 0)
		{
			/* the listed folder named without its slash is the folder itself */
			if (strlen(dec) + 1 == rlen + flen && strncmp(dec, root_dec, rlen - 1) == 0 &&
				(flen == 0 || strncmp(dec + rlen, folder, flen - 1) == 0))
			{
				free(dec);
				continue;
			}
			set_err(err, errlen, "the listing names \"%.200s\", outside the listed folder", dec);
			free(dec);
			goto done;
		}
		if (dec[rlen + flen] == '\0')
		{
			free(dec);			/* the listed folder itself */
			continue;
		}
		name = strdup(dec + rlen);
		free(dec);
		if (name == NULL)
		{
			set_err(err, errlen, "out of memory");
			goto done;
		}

		for (xnode *ps = r->child; ps != NULL; ps = ps->next)
		{
			char	   *status;
			xnode	   *prop;
			bool		good;

			if (strcmp(ps->name, "propstat") != 0)
				continue;
			status = text_of(find_child(ps, "status"));
			good = status != NULL && strstr(status, " 200") != NULL;
			free(status);
			prop = find_child(ps, "prop");
			if (!good || prop == NULL)
				continue;
			found = true;
			if (find_child(find_child(prop, "resourcetype"), "collection") != NULL)
				collection = true;
			if (find_child(prop, "getcontentlength") != NULL)
			{
				size = parse_size(find_child(prop, "getcontentlength"));
				if (size == -2)
				{
					free(name);
					free(modified);
					free(etag);
					set_err(err, errlen, "malformed listing: a <getcontentlength> that is not a whole number");
					goto done;
				}
			}
			if (find_child(prop, "getlastmodified") != NULL && modified == NULL)
				modified = optional_text(find_child(prop, "getlastmodified"));
			if (find_child(prop, "getetag") != NULL && etag == NULL)
				etag = etag_of(find_child(prop, "getetag"));
		}
		nlen = strlen(name);
		if (nlen > 0 && name[nlen - 1] == '/')
		{
			collection = true;
			name[nlen - 1] = '\0';
		}
		if (!found && !collection)
		{
			/* a response without a 200 propstat (a 404 member, say) is not an object */
			free(name);
			free(modified);
			free(etag);
			continue;
		}
		if (collection)
		{
			char	   *f;

			free(modified);
			free(etag);
			if (!listing_check_name(name, err, errlen))
			{
				free(name);
				goto done;
			}
			f = malloc(strlen(name) + 2);
			if (f == NULL)
			{
				free(name);
				set_err(err, errlen, "out of memory");
				goto done;
			}
			sprintf(f, "%s/", name);
			free(name);
			if (!add_folder(page, f))
			{
				set_err(err, errlen, "out of memory");
				goto done;
			}
			continue;
		}
		if (!add_entry(l, name, size, modified, etag, err, errlen))
			goto done;
	}
	ok = true;
done:
	free(root_dec);
	xml_free(root);
	if (!ok)
		listing_page_free(page);
	return ok;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const listing_entry *) a)->name, ((const listing_entry *) b)->name);
}

void
listing_sort(listing *l)
{
	size_t		o = 0;

	if (l->n == 0)
		return;
	/* a stable order for equal names: mergesort is not in C; keep the first by index */
	qsort(l->items, l->n, sizeof(listing_entry), cmp_entry);
	for (size_t i = 0; i < l->n; i++)
	{
		if (o > 0 && strcmp(l->items[o - 1].name, l->items[i].name) == 0)
		{
			free(l->items[i].name);
			free(l->items[i].modified);
			free(l->items[i].etag);
			continue;
		}
		l->items[o++] = l->items[i];
	}
	l->n = o;
}

typedef struct jbuf
{
	char	   *s;
	size_t		len;
	size_t		cap;
	bool		oom;
} jbuf;

static void
jput(jbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 256;
		char	   *t;

		while (b->len + n + 1 > cap)
			cap *= 2;
		t = realloc(b->s, cap);
		if (t == NULL)
		{
			b->oom = true;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
jstr(jbuf *b, const char *s)
{
	if (s == NULL)
	{
		jput(b, "null", 4);
		return;
	}
	jput(b, "\"", 1);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;
		char		esc[8];

		if (c == '"' || c == '\\')
		{
			esc[0] = '\\';
			esc[1] = (char) c;
			jput(b, esc, 2);
		}
		else if (c < 0x20)
		{
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jput(b, esc, 6);
		}
		else
			jput(b, s, 1);
	}
	jput(b, "\"", 1);
}

char *
listing_json(const listing *l)
{
	jbuf		b = {0};
	char		num[32];

	jput(&b, "[", 1);
	for (size_t i = 0; i < l->n; i++)
	{
		const listing_entry *e = &l->items[i];

		jput(&b, i ? ", {\"name\": " : "{\"name\": ", i ? 11 : 9);
		jstr(&b, e->name);
		jput(&b, ", \"size\": ", 10);
		if (e->size >= 0)
			snprintf(num, sizeof(num), "%lld", (long long) e->size);
		else
			snprintf(num, sizeof(num), "null");
		jput(&b, num, strlen(num));
		jput(&b, ", \"modified\": ", 14);
		jstr(&b, e->modified);
		jput(&b, ", \"etag\": ", 10);
		jstr(&b, e->etag);
		jput(&b, "}", 1);
	}
	jput(&b, "]", 1);
	if (b.oom)
	{
		free(b.s);
		return NULL;
	}
	return b.s;
}

void
listing_free(listing *l)
{
	for (size_t i = 0; i < l->n; i++)
	{
		free(l->items[i].name);
		free(l->items[i].modified);
		free(l->items[i].etag);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

void
listing_page_free(listing_page *page)
{
	free(page->next_token);
	for (size_t i = 0; i < page->nfolders; i++)
		free(page->folders[i]);
	free(page->folders);
	memset(page, 0, sizeof(*page));
}
