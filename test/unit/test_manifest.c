/*
 * test_manifest.c — manifest_check: JSON accepted as is, syntax errors with their line and column.
 */
#include "unit.h"

#include "datasets/manifest.h"

static int
check(const char *text, int *line, int *col, char *err, size_t errlen)
{
	return manifest_check(text, strlen(text), line, col, err, errlen);
}

int
main(void)
{
	char		err[256];
	int			line,
				col;
	const char *filelist =
		"[\n"
		"  {\"file_url\": \"http://127.0.0.1/a.zip\", \"downloaded_file_name\": \"file_1.zip\",\n"
		"   \"exploded_folder_name\": \"gomphonema\", \"species_label\": \"gomphonema_clavatum\"}\n"
		"]\n";

	CHECK_INT(check(filelist, &line, &col, err, sizeof(err)), 0, "the original's file list is accepted as is");
	CHECK_INT(check("{\"a\": [1, 2.5e300, 123456789012345678901234567890]}", &line, &col, err, sizeof(err)), 0,
			  "numbers of any size are JSON");
	CHECK_INT(check("  \"x\"  \n", &line, &col, err, sizeof(err)), 0, "a scalar with blanks around it");

	CHECK_INT(check("[\n  {\"a\": 1,}\n]", &line, &col, err, sizeof(err)), -1, "a trailing comma is refused");
	CHECK_INT(line, 2, "the trailing comma's line");
	CHECK(col >= 10 && col <= 11, "the trailing comma's column");

	CHECK_INT(check("[1,\n2,\n\n  x]", &line, &col, err, sizeof(err)), -1, "a bare word is refused");
	CHECK_INT(line, 4, "its line");
	CHECK_INT(col, 3, "its column");

	CHECK_INT(check("[1, 2", &line, &col, err, sizeof(err)), -1, "text that ends inside a value is refused");
	CHECK(strstr(err, "ends too early") != NULL, "and says it ends too early");

	CHECK_INT(check("[1] [2]", &line, &col, err, sizeof(err)), -1, "two values are refused");
	CHECK_INT(col, 5, "the second value's column");

	CHECK_INT(check("   \n\t ", &line, &col, err, sizeof(err)), -1, "blanks only are refused");
	CHECK_INT(line, 0, "with no place");

	CHECK_INT(manifest_check("[1]\0[2]", 7, &line, &col, err, sizeof(err)), -1, "a NUL byte is refused");
	CHECK_INT(col, 4, "at its column");

	CHECK_INT(check("// comment\n[1]", &line, &col, err, sizeof(err)), -1, "comments are not JSON");
	CHECK_INT(check("[\"\\x41\"]", &line, &col, err, sizeof(err)), -1, "a bad escape is refused");

	{
		/* deeper than MANIFEST_MAX_DEPTH */
		char		deep[2 * MANIFEST_MAX_DEPTH + 8];
		int			i,
					d = MANIFEST_MAX_DEPTH + 2;

		for (i = 0; i < d; i++)
			deep[i] = '[';
		for (i = 0; i < d; i++)
			deep[d + i] = ']';
		deep[2 * d] = '\0';
		CHECK_INT(check(deep, &line, &col, err, sizeof(err)), -1, "nesting deeper than the limit is refused");
	}

	printf("1..%d\n", unit_count);
	return unit_failures ? 1 : 0;
}
