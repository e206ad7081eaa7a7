/*
 * test_pathsafe.c — unit tests of the path-safety kernel (src/util/pathsafe.c).
 */
#include "util/pathsafe.h"
#include "unit.h"

static void
expect(const char *path, path_check want, const char *want_out)
{
	char		out[64];
	char		what[160];
	path_check	got = path_normalize_relative(path, out, sizeof(out));

	snprintf(what, sizeof(what), "\"%s\" -> %s", path ? path : "(null)", path_check_message(want));
	CHECK_INT(got, want, what);
	snprintf(what, sizeof(what), "\"%s\" normalises to \"%s\"", path ? path : "(null)", want_out);
	CHECK_STR(out, want_out, what);
}

int
main(void)
{
	char		small[8];

	/* accepted, normalised */
	expect("a", PATH_OK, "a");
	expect("a/b/c.zip", PATH_OK, "a/b/c.zip");
	expect("a//b/./c/", PATH_OK, "a/b/c");
	expect("./a", PATH_OK, "a");
	expect("..a/b..", PATH_OK, "..a/b..");
	expect("a/.../b", PATH_OK, "a/.../b");
	expect("ünïcode/名前.txt", PATH_OK, "ünïcode/名前.txt");

	/* refused */
	expect(NULL, PATH_EMPTY, "");
	expect("", PATH_EMPTY, "");
	expect(".", PATH_EMPTY, "");
	expect("./././", PATH_EMPTY, "");
	expect("/etc/passwd", PATH_ABSOLUTE, "");
	expect("//x", PATH_ABSOLUTE, "");
	expect("..", PATH_PARENT, "");
	expect("../x", PATH_PARENT, "");
	expect("a/../../x", PATH_PARENT, "");
	expect("a/b/..", PATH_PARENT, "");
	expect("a/..//b", PATH_PARENT, "");
	expect("a\\..\\b", PATH_CONTROL_CHAR, "");
	expect("a\nb", PATH_CONTROL_CHAR, "");
	expect("a\x7f", PATH_CONTROL_CHAR, "");

	/* buffer limits: exactly fitting, one byte short, no room at all */
	CHECK_INT(path_normalize_relative("abc/def", small, sizeof(small)), PATH_OK, "7 bytes fit in 8");
	CHECK_STR(small, "abc/def", "fitting path copied whole");
	CHECK_INT(path_normalize_relative("abc/defg", small, sizeof(small)), PATH_TOO_LONG, "8 bytes do not fit in 8");
	CHECK_STR(small, "", "too long leaves an empty string");
	CHECK_INT(path_normalize_relative("a", small, 0), PATH_TOO_LONG, "zero-length buffer");

	/* every result has its own message */
	for (int i = PATH_OK; i <= PATH_TOO_LONG; i++)
		for (int j = i + 1; j <= PATH_TOO_LONG; j++)
			CHECK(strcmp(path_check_message((path_check) i), path_check_message((path_check) j)) != 0,
				  "messages are distinct");

	return unit_done();
}
