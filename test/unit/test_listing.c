/*
 * test_listing.c — the storage listing kernel (src/jobs/listing.c, listing_xml.c): S3
 * ListObjectsV2 pages, WebDAV PROPFIND answers, sorting and JSON, and the refusal of hostile
 * or malformed XML (DTDs, entities, bad UTF-8, deep nesting, names escaping the folder).
 */
#include "jobs/listing.h"

#include <stdlib.h>

#include "unit.h"

static const char *S3_PAGE =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>models</Name><Prefix>runs/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
	"<IsTruncated>true</IsTruncated>"
	"<Contents><Key>runs/b.bin</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified>"
	"<ETag>&quot;abc123&quot;</ETag><Size>300000</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>runs/a &amp; &#x3b1;.bin</Key><Size>7</Size></Contents>"
	"<NextContinuationToken>tok/+=1</NextContinuationToken>"
	"</ListBucketResult>";

static const char *DAV_PAGE =
	"<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
	"<D:multistatus xmlns:D=\"DAV:\">\n"
	"<D:response><D:href>/dav/sets/</D:href><D:propstat><D:prop>"
	"<D:getlastmodified>Mon, 07 Dec 2026 10:00:00 GMT</D:getlastmodified>"
	"<D:resourcetype><D:collection/></D:resourcetype></D:prop>"
	"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n"
	"<D:response><D:href>/dav/sets/z%20z.txt</D:href><D:propstat><D:prop>"
	"<D:getcontentlength>12</D:getcontentlength>"
	"<D:getlastmodified>Mon, 07 Dec 2026 10:00:01 GMT</D:getlastmodified>"
	"<D:getetag>\"5f-1\"</D:getetag><D:resourcetype/></D:prop>"
	"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n"
	"<D:response><D:href>http://127.0.0.1:8080/dav/sets/a.txt</D:href><D:propstat><D:prop>"
	"<D:getcontentlength>3</D:getcontentlength><D:resourcetype/></D:prop>"
	"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n"
	"<D:response><D:href>/dav/sets/sub/</D:href><D:propstat><D:prop>"
	"<D:resourcetype><D:collection/></D:resourcetype></D:prop>"
	"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n"
	"</D:multistatus>\n";

#define REFUSE(lit, want, what) refused(lit, sizeof(lit) - 1, want, what)

static void refused(const char *xml, size_t len, const char *want, const char *what);

static bool
s3(listing *l, const char *xml, listing_page *page, char *err)
{
	return listing_parse_s3(l, xml, strlen(xml), page, err, 256);
}

/* refused: the S3 parse of xml fails with a message containing want */
static void
refused(const char *xml, size_t len, const char *want, const char *what)
{
	listing	l = {0};
	listing_page page;
	char		err[256] = "";
	bool		ok = listing_parse_s3(&l, xml, len, &page, err, sizeof(err));

	if (!CHECK(!ok && strstr(err, want) != NULL, what))
		printf("#   ok=%d err=\"%s\", want \"%s\"\n", ok, err, want);
	listing_free(&l);
	if (ok)
		listing_page_free(&page);
}

int
main(void)
{
	listing		l = {0};
	listing_page page;
	char		err[256] = "";
	char	   *json;

	/* an S3 page */
	CHECK(s3(&l, S3_PAGE, &page, err), "s3: a ListBucketResult page is read");
	CHECK_INT(l.n, 2, "s3: two objects");
	CHECK(page.truncated, "s3: IsTruncated");
	CHECK_STR(page.next_token, "tok/+=1", "s3: the continuation token");
	CHECK_STR(l.items[0].etag, "abc123", "s3: the ETag without its quotes");
	CHECK_INT(l.items[0].size, 300000, "s3: the size");
	CHECK_STR(l.items[0].modified, "2026-12-07T10:00:00.000Z", "s3: the modified time");
	CHECK_STR(l.items[1].name, "runs/a & \xce\xb1.bin", "s3: entities and character references decoded");
	CHECK(l.items[1].etag == NULL && l.items[1].modified == NULL, "s3: what is not given is NULL");
	listing_page_free(&page);
	listing_sort(&l);
	CHECK_STR(l.items[0].name, "runs/a & \xce\xb1.bin", "sort: by name");
	json = listing_json(&l);
	CHECK_STR(json, "[{\"name\": \"runs/a & \xce\xb1.bin\", \"size\": 7, \"modified\": null, \"etag\": null}, "
			  "{\"name\": \"runs/b.bin\", \"size\": 300000, \"modified\": \"2026-12-07T10:00:00.000Z\", \"etag\": \"abc123\"}]",
			  "json: the array of objects");
	free(json);
	/* the same page again: duplicates dropped by the sort */
	CHECK(s3(&l, S3_PAGE, &page, err), "s3: a second page");
	listing_page_free(&page);
	listing_sort(&l);
	CHECK_INT(l.n, 2, "sort: repeated names are dropped");
	listing_free(&l);

	/* the last page */
	CHECK(s3(&l, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>0</Size></Contents></ListBucketResult>",
			 &page, err), "s3: the last page");
	CHECK(!page.truncated && page.next_token == NULL, "s3: not truncated, no token");
	listing_page_free(&page);
	listing_free(&l);

	/* folder markers are not objects */
	CHECK(s3(&l, "<ListBucketResult><Contents><Key>runs/</Key><Size>0</Size></Contents><Contents><Key>runs/a</Key></Contents></ListBucketResult>",
			 &page, err) && l.n == 1 && strcmp(l.items[0].name, "runs/a") == 0, "s3: a folder marker (a key ending in /) is left out");
	listing_page_free(&page);
	listing_free(&l);
	REFUSE("<ListBucketResult><Contents><Key>a//</Key></Contents></ListBucketResult>", "empty", "s3: a marker with an empty part is still refused");

	/* limits */
	l.max_entries = 1;
	CHECK(!s3(&l, S3_PAGE, &page, err) && strstr(err, "more than 1 objects") != NULL, "s3: max_entries is enforced");
	listing_free(&l);
	l.max_entries = 0;

	/* S3 errors and malformed pages */
	CHECK(!s3(&l, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", &page, err) &&
		  strcmp(err, "the server answered AccessDenied: Access Denied") == 0, "s3: an <Error> document is reported");
	REFUSE("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", "without a <NextContinuationToken>",
			"s3: truncated without a token");
	REFUSE("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "without a <Key>", "s3: no key");
	REFUSE("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>", "not a whole number",
			"s3: a negative size");
	REFUSE("<ListBucketResult><Contents><Key>a/../b</Key></Contents></ListBucketResult>", "\"..\"", "s3: a key with ..");
	REFUSE("<ListBucketResult><Contents><Key>/etc/passwd</Key></Contents></ListBucketResult>", "empty", "s3: an absolute key");
	REFUSE("<ListBucketResult><Contents><Key>a&#10;b</Key></Contents></ListBucketResult>", "control character", "s3: a control character");
	REFUSE("<html><body>proxy error</body></html>", "not <ListBucketResult>", "s3: another document");

	/* hostile XML */
	{
		const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
			"<ListBucketResult><Contents><Key>&lol2;</Key></Contents></ListBucketResult>";
		const char *xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><ListBucketResult><Contents><Key>&x;</Key></Contents></ListBucketResult>";

		refused(laughs, strlen(laughs), "a document type declaration is not accepted", "hostile: entity expansion (a DTD) refused");
		refused(xxe, strlen(xxe), "a document type declaration is not accepted", "hostile: an external entity refused");
	}
	REFUSE("<ListBucketResult><Contents><Key>&x;</Key></Contents></ListBucketResult>", "unknown entity \"x\"", "hostile: an undeclared entity");
	REFUSE("<ListBucketResult><!ENTITY x \"y\"></ListBucketResult>", "markup declaration", "hostile: a declaration in the content");
	REFUSE("<ListBucketResult><Key>&#0;</Key></ListBucketResult>", "invalid character", "hostile: &#0;");
	REFUSE("<ListBucketResult><Key>&#xD800;</Key></ListBucketResult>", "invalid character", "hostile: a surrogate reference");
	REFUSE("<ListBucketResult>a\0b</ListBucketResult>", "not valid UTF-8", "hostile: a NUL byte");
	REFUSE("\xff\xfe<\0L\0", "not valid UTF-8", "hostile: UTF-16");
	REFUSE("<ListBucketResult>\xc0\xaf</ListBucketResult>", "not valid UTF-8", "hostile: an overlong UTF-8 form");
	REFUSE("<ListBucketResult><Contents></ListBucketResult>", "does not close", "malformed: mismatched tags");
	REFUSE("<ListBucketResult><Contents>", "ends inside an element", "malformed: truncated document");
	REFUSE("<ListBucketResult></ListBucketResult><x/>", "after the root element", "malformed: two roots");
	REFUSE("", "no root element", "malformed: empty");
	REFUSE("hello", "outside the root element", "malformed: text");
	REFUSE("<a b=c></a>", "without quotes", "malformed: an unquoted attribute");
	REFUSE("<a><!-- x </a>", "comment is not closed", "malformed: an open comment");
	{
		char		deep[40 * 3 + 40 * 4 + 1];
		size_t		n = 0;

		for (int i = 0; i < 40; i++)
			n += (size_t) sprintf(deep + n, "<a>");
		for (int i = 0; i < 40; i++)
			n += (size_t) sprintf(deep + n, "</a>");
		refused(deep, n, "nested deeper than 32", "hostile: deep nesting");
	}
	/* accepted oddities: comments, CDATA, PIs, a BOM, prefixes */
	CHECK(s3(&l, "\xEF\xBB\xBF<!-- c --><?pi x?><s3:ListBucketResult xmlns:s3='x'><s3:Contents><s3:Key><![CDATA[a<b]]></s3:Key>"
			 "</s3:Contents><!-- c --></s3:ListBucketResult><!-- end -->", &page, err) && l.n == 1 &&
		  strcmp(l.items[0].name, "a<b") == 0, "s3: BOM, comments, CDATA and prefixes are read");
	listing_page_free(&page);
	listing_free(&l);

	/* WebDAV */
	CHECK(listing_parse_webdav(&l, DAV_PAGE, strlen(DAV_PAGE), "/dav/", "sets/", &page, err, sizeof(err)),
		  "webdav: a multistatus is read");
	CHECK_INT(l.n, 2, "webdav: two files (the folder itself and sub/ are not objects)");
	CHECK_INT(page.nfolders, 1, "webdav: one sub-folder");
	if (page.nfolders == 1)
		CHECK_STR(page.folders[0], "sets/sub/", "webdav: the sub-folder's name");
	listing_sort(&l);
	if (l.n == 2)
	{
		CHECK_STR(l.items[0].name, "sets/a.txt", "webdav: an href given as a full URL");
		CHECK_STR(l.items[1].name, "sets/z z.txt", "webdav: a percent-encoded href decoded");
		CHECK_STR(l.items[1].etag, "5f-1", "webdav: the etag");
		CHECK_INT(l.items[1].size, 12, "webdav: the size");
		CHECK_STR(l.items[1].modified, "Mon, 07 Dec 2026 10:00:01 GMT", "webdav: the modified time");
	}
	listing_page_free(&page);
	listing_free(&l);
	{
		const char *out = "<D:multistatus xmlns:D='DAV:'><D:response><D:href>/other/x</D:href><D:propstat><D:prop/>"
			"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>";
		const char *dots = "<D:multistatus xmlns:D='DAV:'><D:response><D:href>/dav/sets/%2e%2e/x</D:href><D:propstat><D:prop/>"
			"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>";

		CHECK(!listing_parse_webdav(&l, out, strlen(out), "/dav/", "sets/", &page, err, sizeof(err)) &&
			  strstr(err, "outside the listed folder") != NULL, "webdav: an href outside the folder is refused");
		CHECK(!listing_parse_webdav(&l, dots, strlen(dots), "/dav/", "sets/", &page, err, sizeof(err)) &&
			  strstr(err, "\"..\"") != NULL, "webdav: an encoded .. is refused");
		CHECK(!listing_parse_webdav(&l, S3_PAGE, strlen(S3_PAGE), "/dav/", "", &page, err, sizeof(err)) &&
			  strstr(err, "not <multistatus>") != NULL, "webdav: another document is refused");
		listing_free(&l);
	}
	return unit_done();
}
