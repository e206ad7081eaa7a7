/*
 * fuzz_manifest.c — libFuzzer target for the manifest reader kernel
 * (src/datasets/manifest.c): manifest_check over the input as a manifest
 * file's text.
 *
 * Besides the sanitizers (and LeakSanitizer: json-c objects and tokeners
 * must all be freed), it checks that a refusal carries a reason, that a
 * place it reports is a real place in the text (a line that exists and a
 * column at most one past that line's end), that a NUL byte is refused at
 * its own place, that an acceptance reports no place and survives trailing
 * blanks but not a trailing "x", and that the answer is the same twice.
 */
#include "datasets/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * place_offset returns the byte offset of 1-based line, column in text, or
 * (size_t) -1 when the text has no such place.
 */
static size_t
place_offset(const char *text, size_t len, int line, int column)
{
	size_t		start = 0;

	if (line < 1 || column < 1)
		return (size_t) -1;
	for (int l = 1; l < line; l++)
	{
		const char *nl = memchr(text + start, '\n', len - start);

		if (nl == NULL)
			return (size_t) -1;
		start = (size_t) (nl - text) + 1;
	}
	if ((size_t) column - 1 > len - start)
		return (size_t) -1;
	if (memchr(text + start, '\n', (size_t) column - 1) != NULL)
		return (size_t) -1;
	return start + (size_t) column - 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	char		err[256],
				err2[256];
	int			line = -7,
				column = -7,
				line2,
				column2;
	int			rc;
	const char *nul = memchr(text, '\0', size);

	err[0] = '\0';
	rc = manifest_check(text, size, &line, &column, err, sizeof(err));
	REQUIRE(rc == 0 || rc == -1);
	REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);

	/* the same answer twice */
	err2[0] = '\0';
	REQUIRE(manifest_check(text, size, &line2, &column2, err2, sizeof(err2)) == rc);
	REQUIRE(line2 == line && column2 == column);
	REQUIRE(strcmp(err, err2) == 0);

	if (nul != NULL)
	{
		REQUIRE(rc == -1);
		REQUIRE(place_offset(text, size, line, column) == (size_t) (nul - text));
		return 0;
	}
	if (rc == -1)
	{
		REQUIRE(err[0] != '\0');
		REQUIRE((line == 0) == (column == 0));
		if (line != 0)
			REQUIRE(place_offset(text, size, line, column) != (size_t) -1);
		return 0;
	}

	REQUIRE(line == 0 && column == 0);
	{
		char	   *more = malloc(size + 3);

		/* blanks after the value change nothing */
		memcpy(more, text, size);
		memcpy(more + size, " \n\t", 3);
		REQUIRE(manifest_check(more, size + 3, &line2, &column2, err2, sizeof(err2)) == 0);
		/* a letter after it is refused, at a place within the text */
		more[size + 2] = 'x';
		REQUIRE(manifest_check(more, size + 3, &line2, &column2, err2, sizeof(err2)) == -1);
		REQUIRE(err2[0] != '\0');
		REQUIRE(line2 > 0 && place_offset(more, size + 3, line2, column2) != (size_t) -1);
		free(more);
	}
	return 0;
}
