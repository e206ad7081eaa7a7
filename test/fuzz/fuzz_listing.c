/*
 * fuzz_listing.c — libFuzzer target for the storage listing kernel (src/jobs/listing.c,
 * listing_xml.c).  Each input is read as an S3 page and as a WebDAV answer (under "/dav/",
 * folder "a/"); besides the sanitizers it checks that a refusal carries a message, that every
 * object accepted has a name that listing_check_name accepts (never "..", never absolute),
 * that WebDAV names stay in the folder, and that sorting and the JSON writer take whatever
 * was read.
 */
#include "jobs/listing.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void
check(listing *l, bool ok, const char *err)
{
	char		why[256];
	char	   *json;

	REQUIRE(ok || err[0] != '\0');
	for (size_t i = 0; i < l->n; i++)
		REQUIRE(listing_check_name(l->items[i].name, why, sizeof(why)));
	listing_sort(l);
	for (size_t i = 1; i < l->n; i++)
		REQUIRE(strcmp(l->items[i - 1].name, l->items[i].name) < 0);
	json = listing_json(l);
	REQUIRE(json != NULL && json[0] == '[');
	free(json);
	listing_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	listing		l = {0};
	listing_page page;
	char		err[256];
	bool		ok;

	err[0] = '\0';
	l.max_entries = 1000;
	ok = listing_parse_s3(&l, (const char *) data, size, &page, err, sizeof(err));
	if (ok)
		listing_page_free(&page);
	check(&l, ok, err);

	err[0] = '\0';
	ok = listing_parse_webdav(&l, (const char *) data, size, "/dav/", "a/", &page, err, sizeof(err));
	for (size_t i = 0; i < l.n; i++)
		REQUIRE(strncmp(l.items[i].name, "a/", 2) == 0);
	if (ok)
	{
		for (size_t i = 0; i < page.nfolders; i++)
			REQUIRE(strncmp(page.folders[i], "a/", 2) == 0);
		listing_page_free(&page);
	}
	check(&l, ok, err);
	return 0;
}
