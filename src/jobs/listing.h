/*
 * listing.h
 *	  Kernel: reads storage listings for the "list" job kind — an S3
 *	  ListObjectsV2 answer (ListBucketResult) and a WebDAV PROPFIND answer
 *	  (multistatus) — into a list of objects, sorts it by name and writes it
 *	  as JSON.  No PostgreSQL headers: unit-tested and fuzzed on its own.
 *
 *	  The XML is read by a small parser of its own that accepts only what
 *	  these answers use: elements, attributes (skipped), character data with
 *	  the five predefined entities and numeric character references, CDATA
 *	  sections, comments and processing instructions.  A document type
 *	  declaration (and so any entity declaration, external or internal) is
 *	  refused, nothing is ever fetched, and the document must be UTF-8
 *	  (a UTF-8 byte-order mark is allowed).  Element names are matched by
 *	  their local name (the part after a namespace prefix): "D:href",
 *	  "lp1:getetag" and "href" are all "href".  Limits: at most
 *	  LISTING_MAX_DEPTH nested elements and LISTING_MAX_NODES elements in a
 *	  document; the caller bounds the size of the text.
 *
 *	  Names are relative to the credential's root (an S3 bucket, a WebDAV
 *	  URL), the way the download kind's "object" takes them.  Every name is
 *	  checked: not empty, no "." or ".." segment, no empty segment, no
 *	  control character; a WebDAV href outside the listed folder is refused.
 *	  Messages are lower-case English without a full stop.
 */
#ifndef MLOPS_LISTING_H
#define MLOPS_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LISTING_MAX_DEPTH	32
#define LISTING_MAX_NODES	1000000

typedef struct listing_entry
{
	char	   *name;			/* relative to the credential's root */
	int64_t		size;			/* -1 when the server gave none */
	char	   *modified;		/* as the server wrote it, or NULL */
	char	   *etag;			/* without its quotes, or NULL */
} listing_entry;

typedef struct listing
{
	listing_entry *items;
	size_t		n;
	size_t		cap;
	size_t		max_entries;	/* more fail the parse ("more than N objects"); 0: no limit */
} listing;

/* What one answer says beyond its objects. */
typedef struct listing_page
{
	bool		truncated;		/* S3: IsTruncated */
	char	   *next_token;		/* S3: NextContinuationToken, or NULL */
	char	  **folders;		/* WebDAV: sub-collections seen (relative names ending in "/") */
	size_t		nfolders;
} listing_page;

/*
 * listing_parse_s3 adds the Contents of a ListBucketResult to l and fills
 * page; a key ending in "/" (a folder marker) is not an object and is left out.  An S3 <Error> document is reported as "the server answered
 * <Code>: <Message>".  False with a reason in err; l keeps what was added.
 */
extern bool listing_parse_s3(listing *l, const char *xml, size_t len, listing_page *page,
							 char *err, size_t errlen);

/*
 * listing_parse_webdav adds the non-collection responses of a multistatus
 * to l and the sub-collections to page->folders.  root_path is the path of
 * the credential's URL ("/dav/", percent-encoded as it is in the URL,
 * ending in "/"); folder the listed folder relative to it ("" or "a/b/").
 * hrefs may be absolute paths or full URLs; they are percent-decoded.  The
 * listed folder itself is skipped.  Only propstats with status 200 are read.
 */
extern bool listing_parse_webdav(listing *l, const char *xml, size_t len, const char *root_path,
								 const char *folder, listing_page *page, char *err, size_t errlen);

/* listing_sort sorts l by name (bytewise) and drops repeated names (the first is kept). */
extern void listing_sort(listing *l);

/*
 * listing_json writes l as a JSON array of {"name", "size", "modified",
 * "etag"} (null for what is unknown); malloc'd, NULL when out of memory.
 */
extern char *listing_json(const listing *l);

extern void listing_free(listing *l);
extern void listing_page_free(listing_page *page);

/* listing_check_name: a name as described above; false with a reason. */
extern bool listing_check_name(const char *name, char *err, size_t errlen);

#endif							/* MLOPS_LISTING_H */
