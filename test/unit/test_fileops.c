/*
 * test_fileops.c — unit tests of the file operations kernel
 * (src/jobs/fileops.c).
 *
 * Everything happens under a mkdtemp folder in /tmp holding "base" (the
 * base folder the kernel is given) and "outside" (what a symbolic link
 * inside the base points at, and what must never change).  Each operation
 * is run for its normal use, its idempotent rerun, an existing destination
 * that differs (with and without overwrite), symbolic links at every
 * position (a path component, the source, the destination, inside a
 * source tree, as the ".part"), bad paths, limits, and failures part way
 * (a file-size limit standing for a full disk, an unreadable file): after
 * each failure no ".part" is left and "outside" is as it was.  Two race
 * tests swap a folder of a path for a link: once between calls, once
 * continuously (a child process exchanging the two names) while the
 * operations run.  A move across file systems runs in a child process
 * with a mount namespace of its own and a tmpfs inside the base, when the
 * system lets it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/fileops.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MB (1024 * 1024)

static char root[64];
static int	basefd = -1;

/*
 * at formats a path under root into a static ring of buffers.
 */
static const char *
at(const char *fmt,...)
{
	static char bufs[8][PATH_MAX];
	static int	next = 0;
	char	   *b = bufs[next++ % 8];
	char		rel[PATH_MAX - 128];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(b, PATH_MAX, "%s/%s", root, rel);
	return b;
}

/* exists says whether something (even a dangling link) is at path. */
static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* is_link, is_dir, is_file: lstat's verdict. */
static bool
is_link(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int) (st.st_mode & 07777) : -1;
}

/* put creates or truncates a file with the given contents. */
static bool
put_n(const char *path, const void *data, size_t len)
{
	int			fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	bool		ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t) len;
	return close(fd) == 0 && ok;
}

static bool
put(const char *path, const char *text)
{
	return put_n(path, text, strlen(text));
}

/* read_all returns the malloc'd contents of a file (NULL if unreadable). */
static char *
read_all(const char *path, size_t *len)
{
	int			fd = open(path, O_RDONLY | O_NOFOLLOW);
	struct stat st;
	char	   *buf;

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || (buf = malloc((size_t) st.st_size + 1)) == NULL)
	{
		close(fd);
		return NULL;
	}
	if (read(fd, buf, (size_t) st.st_size) != (ssize_t) st.st_size)
	{
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	buf[st.st_size] = '\0';
	*len = (size_t) st.st_size;
	return buf;
}

/* holds says whether the file holds exactly text. */
static bool
holds(const char *path, const char *text)
{
	size_t		len;
	char	   *got = read_all(path, &len);
	bool		same = got != NULL && len == strlen(text) && memcmp(got, text, len) == 0;

	free(got);
	return same;
}

/* rm_one is the nftw callback of rm_rf: children first, links not followed. */
static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm_rf removes a tree, never following symbolic links. */
static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdirs makes a folder and its parents (mode 0755). */
static void
mkdirs(const char *path)
{
	char		buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/')
		{
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

/*
 * Snapshots: a text describing a tree (paths, types, sizes, a hash of
 * each file, link targets), in sorted order, to show that it did not change.
 */
typedef struct snap
{
	char	   *text;
	size_t		len;
	size_t		cap;
} snap;

static void
snap_add(snap *s, const char *fmt,...)
{
	va_list		ap;
	char		line[PATH_MAX + 128];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->len + (size_t) n + 1 > s->cap)
	{
		s->cap = (s->len + (size_t) n + 1) * 2;
		s->text = realloc(s->text, s->cap);
	}
	memcpy(s->text + s->len, line, (size_t) n + 1);
	s->len += (size_t) n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Whether snapshots show modes (same_trees leaves them out: copies are 0600/0700). */
static bool snap_modes = true;

static void
snap_tree(snap *s, const char *path, const char *rel)
{
	DIR		   *d = opendir(path);
	struct dirent *de;
	char	   *names[4096];
	int			n = 0;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 4096)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t) n, sizeof(char *), cmp_str);
	for (int i = 0; i < n; i++)
	{
		char		full[PATH_MAX];
		char		sub[PATH_MAX];
		struct stat st;

		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]);
		if (lstat(full, &st) != 0)
			snap_add(s, "%s ?\n", sub);
		else if (S_ISDIR(st.st_mode))
		{
			snap_add(s, "%s/ %o\n", sub, snap_modes ? (unsigned) (st.st_mode & 07777) : 0);
			snap_tree(s, full, sub);
		}
		else if (S_ISLNK(st.st_mode))
		{
			char		target[PATH_MAX];
			ssize_t		tl = readlink(full, target, sizeof(target) - 1);

			target[tl > 0 ? tl : 0] = '\0';
			snap_add(s, "%s -> %s\n", sub, target);
		}
		else
		{
			size_t		len;
			char	   *data = read_all(full, &len);
			uint64_t	h = 14695981039346656037ULL;

			for (size_t k = 0; data && k < len; k++)
				h = (h ^ (unsigned char) data[k]) * 1099511628211ULL;
			free(data);
			snap_add(s, "%s %lld %o %llx\n", sub, (long long) st.st_size,
					 snap_modes ? (unsigned) (st.st_mode & 07777) : 0, (unsigned long long) h);
		}
		free(names[i]);
	}
}

/* snapshot returns the malloc'd description of the tree at path. */
static char *
snapshot(const char *path)
{
	snap		s = {NULL, 0, 0};

	snap_add(&s, "%s\n", is_dir(path) ? "dir" : "missing");
	snap_tree(&s, path, "");
	return s.text;
}

/* same_trees says whether two trees hold the same names, types and bytes. */
static bool
same_trees(const char *a, const char *b)
{
	char	   *sa;
	char	   *sb;
	bool		same;

	snap_modes = false;
	sa = snapshot(a);
	sb = snapshot(b);
	snap_modes = true;
	same = strcmp(sa, sb) == 0;

	if (!same)
		printf("# trees differ:\n# --- %s\n%s# --- %s\n%s", a, sa, b, sb);
	free(sa);
	free(sb);
	return same;
}

static int	parts_found;

static int
part_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t		n = strlen(path);

	(void) sb;
	(void) ftw;
	/* links are the tests' own fixtures: the kernel never makes one */
	if (flag != FTW_SL && n >= 5 && strcmp(path + n - 5, ".part") == 0)
	{
		printf("# leftover: %s\n", path);
		parts_found++;
	}
	return 0;
}

/* count_parts counts the files and folders named "*.part" under the base. */
static int
count_parts(void)
{
	parts_found = 0;
	nftw(at("base"), part_one, 16, FTW_PHYS);
	return parts_found;
}

static char *outside_before;

/* The ".part" files a test made itself (one being written by "another operation"). */
static int	parts_allowed = 0;

/* outside_same says whether "outside" is as it was when the tests began. */
static bool
outside_same(void)
{
	char	   *now = snapshot(at("outside"));
	bool		same = strcmp(now, outside_before) == 0;

	if (!same)
		printf("# outside changed:\n%s# was:\n%s", now, outside_before);
	free(now);
	return same;
}

/*
 * ok_result checks a success: the flag already_there and the counts.
 */
static void
ok_result(bool ok, const fileops_result *r, bool already, long long files, long long folders,
		  long long bytes, const char *what)
{
	char		w[256];

	snprintf(w, sizeof(w), "%s: succeeds", what);
	if (!CHECK(ok && r->status == FILEOPS_OK && r->message[0] == '\0', w))
		printf("#   status %s, message \"%s\"\n", fileops_status_name(r->status), r->message);
	snprintf(w, sizeof(w), "%s: already_there is %s", what, already ? "set" : "unset");
	CHECK_INT(r->already_there, already, w);
	if (files >= 0)
	{
		snprintf(w, sizeof(w), "%s: files", what);
		CHECK_INT(r->files, files, w);
	}
	if (folders >= 0)
	{
		snprintf(w, sizeof(w), "%s: folders", what);
		CHECK_INT(r->folders, folders, w);
	}
	if (bytes >= 0)
	{
		snprintf(w, sizeof(w), "%s: bytes", what);
		CHECK_INT(r->bytes, bytes, w);
	}
}

/*
 * refused checks a failure: its status, a piece of its message, that the
 * message never shows the temporary root (an absolute path), that no
 * ".part" is left and that "outside" did not change.
 */
static void
refused(bool ok, const fileops_result *r, fileops_status status, const char *piece, const char *what)
{
	char		w[256];

	snprintf(w, sizeof(w), "%s: refused as %s", what, fileops_status_name(status));
	if (!CHECK(!ok && r->status == status, w))
		printf("#   got %s (%s), message \"%s\"\n", ok ? "success" : "failure",
			   fileops_status_name(r->status), r->message);
	snprintf(w, sizeof(w), "%s: message says \"%s\"", what, piece);
	if (!CHECK(strstr(r->message, piece) != NULL, w))
		printf("#   message \"%s\"\n", r->message);
	snprintf(w, sizeof(w), "%s: message shows no absolute path", what);
	CHECK(strstr(r->message, root) == NULL && strstr(r->message, "/tmp") == NULL, w);
	snprintf(w, sizeof(w), "%s: message is lower case", what);
	CHECK(r->message[0] != '\0' && !(r->message[0] >= 'A' && r->message[0] <= 'Z'), w);
	snprintf(w, sizeof(w), "%s: no .part left", what);
	CHECK_INT(count_parts(), parts_allowed, w);
	snprintf(w, sizeof(w), "%s: outside untouched", what);
	CHECK(outside_same(), w);
}

/* fill makes len bytes of a repeatable pattern. */
static char *
pattern(size_t len, unsigned seed)
{
	char	   *p = malloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (char) ((i * 131 + seed * 7 + (i >> 12)) & 0xff);
	return p;
}

/* make_tree builds the usual source tree at path (relative to root). */
static long long
make_tree(const char *rel, unsigned seed)
{
	char	   *big = pattern(3 * MB + 17, seed);

	mkdirs(at("%s/sub/deeper", rel));
	mkdirs(at("%s/empty", rel));
	put(at("%s/a.txt", rel), "alpha\n");
	put(at("%s/sub/b.txt", rel), "bravo bravo\n");
	put(at("%s/sub/deeper/empty.bin", rel), "");
	put_n(at("%s/sub/deeper/big.bin", rel), big, 3 * MB + 17);
	free(big);
	return 6 + 12 + 0 + 3 * MB + 17;
}

static void
test_open_base(void)
{
	fileops_result r;
	int			fd;

	fd = fileops_open_base("relative/path", &r);
	CHECK(fd < 0 && r.status == FILEOPS_BAD_PATH, "open_base: relative path refused");
	fd = fileops_open_base(at("nope"), &r);
	CHECK(fd < 0 && r.status == FILEOPS_NOT_FOUND, "open_base: missing base");
	CHECK(strstr(r.message, root) == NULL, "open_base: message hides the path");
	symlink(at("outside"), at("baselink"));
	fd = fileops_open_base(at("baselink"), &r);
	CHECK(fd < 0 && r.status == FILEOPS_NOT_FOLDER, "open_base: a link as the base refused");
	unlink(at("baselink"));
	put(at("basefile"), "x");
	fd = fileops_open_base(at("basefile"), &r);
	CHECK(fd < 0 && r.status == FILEOPS_NOT_FOLDER, "open_base: a file as the base refused");
	unlink(at("basefile"));
	basefd = fileops_open_base(at("base"), &r);
	CHECK(basefd >= 0 && r.status == FILEOPS_OK, "open_base: the base opens");
}

static void
test_bad_paths(void)
{
	static const char *const bad[] = {"../x", "/etc/passwd", "a/../../x", "a/..", "a\\b", "a\nb", ""};
	static const char *const shown[] = {"../x", "/etc/passwd", "a/../../x", "a/..", "a\\\\b", "a\\nb", ""};
	fileops_result r;
	char		w[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		bool		empty = bad[i][0] == '\0';

		snprintf(w, sizeof(w), "write \"%s\"", shown[i]);
		refused(fileops_write(basefd, bad[i], "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_BAD_PATH,
				"invalid destination path", w);
		snprintf(w, sizeof(w), "copy from \"%s\"", shown[i]);
		refused(fileops_copy(basefd, bad[i], "c", FILEOPS_REPLACE, NULL, &r), &r, FILEOPS_BAD_PATH,
				"invalid source path", w);
		snprintf(w, sizeof(w), "copy to \"%s\"", shown[i]);
		refused(fileops_copy(basefd, "c", bad[i], FILEOPS_REPLACE, NULL, &r), &r, FILEOPS_BAD_PATH,
				"invalid destination path", w);
		snprintf(w, sizeof(w), "move to \"%s\"", shown[i]);
		refused(fileops_move(basefd, "c", bad[i], FILEOPS_REPLACE, NULL, &r), &r, FILEOPS_BAD_PATH,
				"invalid destination path", w);
		snprintf(w, sizeof(w), "delete \"%s\"", shown[i]);
		refused(fileops_delete(basefd, bad[i], true, &r), &r, empty ? FILEOPS_REFUSED : FILEOPS_BAD_PATH,
				empty ? "refusing to delete the base folder" : "invalid path", w);
		if (!empty)
		{
			snprintf(w, sizeof(w), "mkdir \"%s\"", shown[i]);
			refused(fileops_mkdir(basefd, bad[i], &r), &r, FILEOPS_BAD_PATH, "invalid folder path", w);
		}
	}
	refused(fileops_delete(basefd, "./", true, &r), &r, FILEOPS_REFUSED, "base folder", "delete \"./\"");
	refused(fileops_delete(basefd, NULL, true, &r), &r, FILEOPS_REFUSED, "base folder", "delete NULL");
	CHECK(!exists(at("base/x")) && !exists(at("x")) && !exists(at("base/c")), "bad paths created nothing");
}

static void
test_mkdir(void)
{
	fileops_result r;
	bool		ok;

	ok = fileops_mkdir(basefd, "m/a/b", &r);
	ok_result(ok, &r, false, 0, 3, 0, "mkdir m/a/b");
	CHECK(is_dir(at("base/m/a/b")), "mkdir: folder made");
	CHECK_INT(mode_of(at("base/m/a/b")), 0700, "mkdir: mode 0700");
	ok = fileops_mkdir(basefd, "m/a/b/", &r);
	ok_result(ok, &r, true, 0, 0, 0, "mkdir m/a/b again");
	ok = fileops_mkdir(basefd, "./m//a/b/c", &r);
	ok_result(ok, &r, false, 0, 1, 0, "mkdir one more level");
	ok = fileops_mkdir(basefd, "", &r);
	ok_result(ok, &r, true, 0, 0, 0, "mkdir of the base");
	ok = fileops_mkdir(basefd, ".", &r);
	ok_result(ok, &r, true, 0, 0, 0, "mkdir of \".\"");

	put(at("base/m/file"), "f");
	refused(fileops_mkdir(basefd, "m/file", &r), &r, FILEOPS_NOT_FOLDER, "\"m/file\" is not a folder",
			"mkdir over a file");
	refused(fileops_mkdir(basefd, "m/file/x/y", &r), &r, FILEOPS_NOT_FOLDER, "\"m/file\" is not a folder",
			"mkdir through a file");
	symlink(at("outside/dir"), at("base/m/link"));
	refused(fileops_mkdir(basefd, "m/link", &r), &r, FILEOPS_SYMLINK, "\"m/link\" is a symbolic link",
			"mkdir of a link");
	refused(fileops_mkdir(basefd, "m/link/new", &r), &r, FILEOPS_SYMLINK, "\"m/link\" is a symbolic link",
			"mkdir through a link");
	symlink(at("outside/nothing"), at("base/m/dangling"));
	refused(fileops_mkdir(basefd, "m/dangling/new", &r), &r, FILEOPS_SYMLINK, "\"m/dangling\" is a symbolic link",
			"mkdir through a dangling link");
	CHECK(!exists(at("outside/nothing")), "mkdir: the dangling link's target was not made");
	rm_rf(at("base/m"));
}

static void
test_write(void)
{
	fileops_result r;
	char	   *big = pattern(3 * MB + 5, 1);
	bool		ok;

	ok = fileops_write(basefd, "exp/2024/r.csv", "a,b\n1,2\n", 8, FILEOPS_KEEP, &r);
	ok_result(ok, &r, false, 1, 0, 8, "write a new file");
	CHECK(holds(at("base/exp/2024/r.csv"), "a,b\n1,2\n"), "write: contents");
	CHECK_INT(mode_of(at("base/exp/2024/r.csv")), 0600, "write: mode 0600");
	CHECK_INT(mode_of(at("base/exp/2024")), 0700, "write: parent made with mode 0700");
	ok = fileops_write(basefd, "exp/2024/r.csv", "a,b\n1,2\n", 8, FILEOPS_KEEP, &r);
	ok_result(ok, &r, true, 0, 0, 0, "write the same bytes again");
	refused(fileops_write(basefd, "exp/2024/r.csv", "a,b\n1,3\n", 8, FILEOPS_KEEP, &r), &r, FILEOPS_EXISTS,
			"destination \"exp/2024/r.csv\" exists and differs", "write other bytes, no overwrite");
	refused(fileops_write(basefd, "exp/2024/r.csv", "a,b\n1,2\n3", 9, FILEOPS_KEEP, &r), &r, FILEOPS_EXISTS,
			"differs", "write longer bytes, no overwrite");
	CHECK(holds(at("base/exp/2024/r.csv"), "a,b\n1,2\n"), "write: refused write left the file alone");
	ok = fileops_write(basefd, "exp/2024/r.csv", "new", 3, FILEOPS_REPLACE, &r);
	ok_result(ok, &r, false, 1, 0, 3, "write other bytes with overwrite");
	CHECK(holds(at("base/exp/2024/r.csv"), "new"), "write: replaced");
	CHECK_INT(count_parts(), 0, "write: no .part left");

	ok = fileops_write(basefd, "exp/empty", "", 0, FILEOPS_KEEP, &r);
	ok_result(ok, &r, false, 1, 0, 0, "write an empty file");
	ok = fileops_write(basefd, "exp/empty", NULL, 0, FILEOPS_KEEP, &r);
	ok_result(ok, &r, true, 0, 0, 0, "write an empty file again");
	refused(fileops_write(basefd, "exp/empty", "x", 1, FILEOPS_KEEP, &r), &r, FILEOPS_EXISTS, "differs",
			"write over an empty file");

	ok = fileops_write(basefd, "exp/big", big, 3 * MB + 5, FILEOPS_KEEP, &r);
	ok_result(ok, &r, false, 1, 0, 3 * MB + 5, "write 3 MiB");
	ok = fileops_write(basefd, "exp/big", big, 3 * MB + 5, FILEOPS_KEEP, &r);
	ok_result(ok, &r, true, 0, 0, 0, "write 3 MiB again");
	big[3 * MB + 4] ^= 1;
	refused(fileops_write(basefd, "exp/big", big, 3 * MB + 5, FILEOPS_KEEP, &r), &r, FILEOPS_EXISTS, "differs",
			"write 3 MiB differing in the last byte");
	big[3 * MB + 4] ^= 1;
	free(big);

	/* a folder in the way: refused, or replaced by the file with overwrite */
	mkdirs(at("base/exp/dir/inner"));
	put(at("base/exp/dir/inner/f"), "f");
	refused(fileops_write(basefd, "exp/dir", "x", 1, FILEOPS_KEEP, &r), &r, FILEOPS_EXISTS, "differs",
			"write over a folder");
	ok = fileops_write(basefd, "exp/dir", "x", 1, FILEOPS_REPLACE, &r);
	ok_result(ok, &r, false, 1, 0, 1, "write over a folder with overwrite");
	CHECK(holds(at("base/exp/dir"), "x"), "write: the folder became the file");
	CHECK_INT(count_parts(), 0, "write: no .part left after replacing a folder");

	/* links: the destination, a component, the ".part" */
	symlink(at("outside/secret"), at("base/exp/link"));
	refused(fileops_write(basefd, "exp/link", "x", 1, FILEOPS_KEEP, &r), &r, FILEOPS_SYMLINK,
			"destination \"exp/link\" is a symbolic link", "write to a link");
	refused(fileops_write(basefd, "exp/link", "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"symbolic link", "write to a link with overwrite");
	CHECK(is_link(at("base/exp/link")), "write: the link is still there");
	symlink(at("outside/dir"), at("base/exp/ldir"));
	refused(fileops_write(basefd, "exp/ldir/new", "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"\"exp/ldir\" is a symbolic link", "write through a link to a folder");
	refused(fileops_write(basefd, "exp/ldir/sub/new", "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"\"exp/ldir\" is a symbolic link", "write through a link two levels up");
	symlink(at("outside/secret"), at("base/exp/p.part"));
	refused(fileops_write(basefd, "exp/p", "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"\"exp/p.part\" is a symbolic link", "write whose .part is a link");
	unlink(at("base/exp/p.part"));
	symlink(at("outside/newfile"), at("base/exp/q.part"));
	refused(fileops_write(basefd, "exp/q", "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"\"exp/q.part\" is a symbolic link", "write whose .part is a dangling link");
	CHECK(!exists(at("outside/newfile")), "write: nothing made at the dangling link's target");
	unlink(at("base/exp/q.part"));
	symlink(at("outside/secret"), at("base/exp/o.old.part"));
	refused(fileops_write(basefd, "exp/o", "x", 1, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"\"exp/o.old.part\" is a symbolic link", "write whose .old.part is a link");
	unlink(at("base/exp/o.old.part"));

	/* leftovers of a process that died: removed */
	put(at("base/exp/s.part"), "half");
	ok = fileops_write(basefd, "exp/s", "whole", 5, FILEOPS_KEEP, &r);
	ok_result(ok, &r, false, 1, 0, 5, "write over a leftover .part file");
	mkdirs(at("base/exp/t.part/x"));
	put(at("base/exp/t.part/x/y"), "half");
	symlink(at("outside/dir"), at("base/exp/t.part/x/link"));
	mkdirs(at("base/exp/t.old.part"));
	ok = fileops_write(basefd, "exp/t", "whole", 5, FILEOPS_KEEP, &r);
	ok_result(ok, &r, false, 1, 0, 5, "write over leftover .part and .old.part folders");
	CHECK(!exists(at("base/exp/t.part")) && !exists(at("base/exp/t.old.part")), "write: leftovers removed");
	CHECK(outside_same(), "write: a link inside a leftover was removed, not followed");

	/* a name too long to take ".old.part" */
	{
		char		name[300];

		memset(name, 'n', 250);
		name[250] = '\0';
		refused(fileops_write(basefd, name, "x", 1, FILEOPS_KEEP, &r), &r, FILEOPS_BAD_PATH, "too long",
				"write to a 250-byte name");
	}

	/* a full disk: the file-size limit fails the write part way */
	{
		struct rlimit saved,
					small = {64 * 1024, 64 * 1024};
		char	   *data = pattern(MB, 2);

		getrlimit(RLIMIT_FSIZE, &saved);
		small.rlim_max = saved.rlim_max;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		ok = fileops_write(basefd, "exp/full", data, MB, FILEOPS_KEEP, &r);
		setrlimit(RLIMIT_FSIZE, &saved);
		signal(SIGXFSZ, SIG_DFL);
		refused(ok, &r, FILEOPS_IO, "could not write file \"exp/full.part\"", "write on a full disk");
		CHECK_INT(r.sys_errno, EFBIG, "write on a full disk: errno EFBIG");
		CHECK(!exists(at("base/exp/full")), "write on a full disk: no file");
		free(data);
	}

	/* another operation writing the same destination: busy; others in the folder go on */
	{
		int			fd;

		put(at("base/exp/locked.part"), "being written");
		fd = open(at("base/exp/locked.part"), O_RDONLY);
		CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "a .part locked by another descriptor");
		parts_allowed = 1;
		refused(fileops_write(basefd, "exp/locked", "x", 1, FILEOPS_KEEP, &r), &r, FILEOPS_BUSY,
				"another operation is writing \"exp/locked\"", "write while its .part is being written");
		CHECK(holds(at("base/exp/locked.part"), "being written"), "busy: the other .part left alone");
		ok = fileops_write(basefd, "exp/beside", "x", 1, FILEOPS_KEEP, &r);
		ok_result(ok, &r, false, 1, 0, 1, "write next to a .part being written");
		ok = fileops_copy(basefd, "exp/beside", "exp/locked", FILEOPS_KEEP, NULL, &r);
		CHECK(!ok && r.status == FILEOPS_BUSY, "copy while its .part is being written: busy");
		ok = fileops_move(basefd, "exp/beside", "exp/locked", FILEOPS_KEEP, NULL, &r);
		ok_result(ok, &r, false, 1, 0, 1, "move while a .part of the destination is being written");
		CHECK(holds(at("base/exp/locked.part"), "being written"), "move: the other .part left alone");
		close(fd);
		parts_allowed = 0;
		ok = fileops_write(basefd, "exp/locked2", "x", 1, FILEOPS_KEEP, &r);
		ok_result(ok, &r, false, 1, 0, 1, "write once the lock is gone");
		ok = fileops_write(basefd, "exp/locked", "y", 1, FILEOPS_REPLACE, &r);
		ok_result(ok, &r, false, 1, 0, 1, "write once the lock is gone: the leftover .part removed");
		CHECK(!exists(at("base/exp/locked.part")), "write: the unlocked .part was a leftover");
	}
	rm_rf(at("base/exp"));
}

static void
test_copy(void)
{
	fileops_result r;
	fileops_limits lim;
	long long	total;
	bool		ok;

	/* a file */
	mkdirs(at("base/src"));
	put(at("base/src/f.txt"), "hello\n");
	ok = fileops_copy(basefd, "src/f.txt", "dst/f.txt", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, false, 1, 0, 6, "copy a file");
	CHECK(holds(at("base/dst/f.txt"), "hello\n"), "copy: contents");
	CHECK_INT(mode_of(at("base/dst/f.txt")), 0600, "copy: mode 0600");
	CHECK(holds(at("base/src/f.txt"), "hello\n"), "copy: source kept");
	ok = fileops_copy(basefd, "src/f.txt", "dst/f.txt", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, true, 0, 0, 0, "copy a file again");
	put(at("base/src/f.txt"), "hello!\n");
	refused(fileops_copy(basefd, "src/f.txt", "dst/f.txt", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_EXISTS,
			"destination \"dst/f.txt\" exists and differs", "copy over a differing file");
	CHECK(holds(at("base/dst/f.txt"), "hello\n"), "copy: refused copy left the file alone");
	ok = fileops_copy(basefd, "src/f.txt", "dst/f.txt", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 1, 0, 7, "copy over a differing file with overwrite");
	CHECK(holds(at("base/dst/f.txt"), "hello!\n"), "copy: replaced");

	/* a tree */
	total = make_tree("base/src/tree", 1);
	ok = fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, false, 4, 4, total, "copy a tree");
	CHECK(same_trees(at("base/src/tree"), at("base/dst/tree")), "copy a tree: the same names, types and bytes");
	{
		CHECK(holds(at("base/dst/tree/sub/b.txt"), "bravo bravo\n"), "copy a tree: a file's contents");
		CHECK(is_dir(at("base/dst/tree/empty")), "copy a tree: the empty folder");
		CHECK(holds(at("base/dst/tree/sub/deeper/empty.bin"), ""), "copy a tree: the empty file");
		CHECK_INT(mode_of(at("base/dst/tree/sub")), 0700, "copy a tree: folders 0700");
		CHECK_INT(mode_of(at("base/dst/tree/sub/deeper/big.bin")), 0600, "copy a tree: files 0600");
	}
	{
		size_t		la,
					lb;
		char	   *a = read_all(at("base/src/tree/sub/deeper/big.bin"), &la);
		char	   *b = read_all(at("base/dst/tree/sub/deeper/big.bin"), &lb);

		CHECK(a && b && la == lb && memcmp(a, b, la) == 0, "copy a tree: the 3 MiB file is the same");
		free(a);
		free(b);
	}
	ok = fileops_copy(basefd, "src/tree/", "./dst//tree", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, true, 0, 0, 0, "copy a tree again");

	/* differing trees: a changed byte, an extra file, a missing file, a type */
	{
		static const char *const what[] = {"a changed byte", "an extra file", "a missing file", "a file for a folder"};

		for (int i = 0; i < 4; i++)
		{
			char		w[128];

			if (i == 0)
				put(at("base/dst/tree/sub/b.txt"), "bravo bravO\n");
			else if (i == 1)
				put(at("base/dst/tree/sub/extra"), "");
			else if (i == 2)
				unlink(at("base/dst/tree/a.txt"));
			else
			{
				rmdir(at("base/dst/tree/empty"));
				put(at("base/dst/tree/empty"), "");
			}
			snprintf(w, sizeof(w), "copy over a tree with %s", what[i]);
			refused(fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_EXISTS,
					"differs", w);
			snprintf(w, sizeof(w), "copy over a tree with %s, with overwrite", what[i]);
			ok = fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_REPLACE, NULL, &r);
			ok_result(ok, &r, false, 4, 4, total, w);
			CHECK(!exists(at("base/dst/tree/sub/extra")) && holds(at("base/dst/tree/a.txt"), "alpha\n") &&
				  holds(at("base/dst/tree/sub/b.txt"), "bravo bravo\n") && is_dir(at("base/dst/tree/empty")),
				  "copy with overwrite: the tree is the source's");
			CHECK_INT(count_parts(), 0, "copy with overwrite: no .part or .old.part left");
		}
	}

	/* a link inside the existing destination: a difference, removed, never followed */
	symlink(at("outside/dir"), at("base/dst/tree/sub/evil"));
	refused(fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_EXISTS,
			"differs", "copy over a tree holding a link");
	ok = fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 4, 4, total, "copy over a tree holding a link, with overwrite");
	CHECK(!exists(at("base/dst/tree/sub/evil")) && outside_same(), "copy: the link was removed, not followed");

	/* a file over a folder and a folder over a file */
	ok = fileops_copy(basefd, "src/f.txt", "dst/tree", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 1, 0, 7, "copy a file over a folder with overwrite");
	CHECK(holds(at("base/dst/tree"), "hello!\n"), "copy: the folder became the file");
	refused(fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_EXISTS,
			"differs", "copy a folder over a file");
	ok = fileops_copy(basefd, "src/tree", "dst/tree", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 4, 4, total, "copy a folder over a file with overwrite");
	CHECK(is_dir(at("base/dst/tree/sub/deeper")), "copy: the file became the folder");

	/* limits, checked before anything is written */
	lim.max_bytes = total;
	lim.max_entries = 7;
	ok = fileops_copy(basefd, "src/tree", "lim/exact", FILEOPS_KEEP, &lim, &r);
	ok_result(ok, &r, false, 4, 4, total, "copy at exactly the limits");
	lim.max_bytes = total - 1;
	refused(fileops_copy(basefd, "src/tree", "lim2/over", FILEOPS_KEEP, &lim, &r), &r, FILEOPS_TOO_LARGE,
			"source \"src/tree\" holds more than", "copy one byte over the limit");
	CHECK(!exists(at("base/lim2")), "copy over the limit: not even the destination's folder made");
	lim.max_bytes = 0;
	lim.max_entries = 6;
	refused(fileops_copy(basefd, "src/tree", "lim2/over", FILEOPS_KEEP, &lim, &r), &r, FILEOPS_TOO_LARGE,
			"has more than 6 entries", "copy one entry over the limit");
	lim.max_entries = 0;
	lim.max_bytes = 6;
	refused(fileops_copy(basefd, "src/f.txt", "lim2/f", FILEOPS_KEEP, &lim, &r), &r, FILEOPS_TOO_LARGE,
			"holds more than 6 bytes", "copy a file over the byte limit");
	lim.max_bytes = -1;
	refused(fileops_copy(basefd, "src/f.txt", "lim2/f", FILEOPS_KEEP, &lim, &r), &r, FILEOPS_BAD_ARGUMENT,
			"limits must not be negative", "copy with a negative limit");
	refused(fileops_write(basefd, "lim2/f", NULL, 3, FILEOPS_KEEP, &r), &r, FILEOPS_BAD_ARGUMENT,
			"no data", "write of NULL data");
	CHECK(!exists(at("base/lim2")), "copy over the limits: nothing written");
	rm_rf(at("base/lim"));

	/* links: inside the source, the source, a component, the destination, the .part */
	symlink(at("outside/secret"), at("base/src/tree/sub/deeper/link"));
	refused(fileops_copy(basefd, "src/tree", "dst/t2", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"src/tree/sub/deeper/link\" is a symbolic link", "copy a tree holding a link to a file");
	CHECK(!exists(at("base/dst/t2")), "copy a tree holding a link: nothing written");
	unlink(at("base/src/tree/sub/deeper/link"));
	symlink(at("outside/dir"), at("base/src/tree/dirlink"));
	refused(fileops_copy(basefd, "src/tree", "dst/t2", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"src/tree/dirlink\" is a symbolic link", "copy a tree holding a link to a folder");
	unlink(at("base/src/tree/dirlink"));
	symlink(at("outside/secret"), at("base/src/lfile"));
	refused(fileops_copy(basefd, "src/lfile", "dst/s", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"source \"src/lfile\" is a symbolic link", "copy of a link to a file");
	symlink(at("outside/dir"), at("base/src/ldir"));
	refused(fileops_copy(basefd, "src/ldir", "dst/s", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"source \"src/ldir\" is a symbolic link", "copy of a link to a folder");
	refused(fileops_copy(basefd, "src/ldir/inner.txt", "dst/s", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"src/ldir\" is a symbolic link", "copy through a link to a folder");
	refused(fileops_copy(basefd, "src/f.txt", "src/ldir/stolen", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"src/ldir\" is a symbolic link", "copy into a link to a folder");
	refused(fileops_copy(basefd, "src/f.txt", "src/ldir", FILEOPS_REPLACE, NULL, &r), &r, FILEOPS_SYMLINK,
			"destination \"src/ldir\" is a symbolic link", "copy onto a link, with overwrite");
	refused(fileops_copy(basefd, "src/f.txt", "src/lfile", FILEOPS_REPLACE, NULL, &r), &r, FILEOPS_SYMLINK,
			"destination \"src/lfile\" is a symbolic link", "copy onto a link to a file, with overwrite");
	symlink(at("outside/dir"), at("base/dst/x.part"));
	refused(fileops_copy(basefd, "src/tree", "dst/x", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"dst/x.part\" is a symbolic link", "copy whose .part is a link");
	unlink(at("base/dst/x.part"));
	CHECK(!exists(at("base/dst/x")) && !exists(at("base/dst/s")), "copy with links: nothing written");

	/* special files and odd names in the source */
	mkfifo(at("base/src/tree/fifo"), 0600);
	refused(fileops_copy(basefd, "src/tree", "dst/t3", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_WRONG_TYPE,
			"\"src/tree/fifo\" is not a regular file or folder", "copy a tree holding a FIFO");
	refused(fileops_copy(basefd, "src/tree/fifo", "dst/t3", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_WRONG_TYPE,
			"source \"src/tree/fifo\" is not a regular file", "copy of a FIFO");
	unlink(at("base/src/tree/fifo"));
	put(at("base/src/tree/bad\x01name"), "");
	refused(fileops_copy(basefd, "src/tree", "dst/t3", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_BAD_PATH,
			"\"src/tree/bad?name\" has a control character", "copy a tree holding a name with a control character");
	unlink(at("base/src/tree/bad\x01name"));
	CHECK(!exists(at("base/dst/t3")), "copy with special files: nothing written");

	/* missing sources, and pairs that make no sense */
	refused(fileops_copy(basefd, "src/none", "dst/none", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_NOT_FOUND,
			"source \"src/none\" does not exist", "copy of a missing file");
	refused(fileops_copy(basefd, "nowhere/none", "dst/none", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_NOT_FOUND,
			"source \"nowhere/none\" does not exist", "copy from a missing folder");
	refused(fileops_copy(basefd, "src/f.txt/x", "dst/none", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_NOT_FOLDER,
			"\"src/f.txt\" is not a folder", "copy from below a file");
	refused(fileops_copy(basefd, "src/tree", "src/tree/sub/again", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_REFUSED,
			"is inside source \"src/tree\"", "copy a folder into itself");
	refused(fileops_copy(basefd, "src/tree", "src//tree/", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_REFUSED,
			"the same path", "copy onto itself");
	refused(fileops_copy(basefd, "dst/y.part/f", "dst/y", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_REFUSED,
			"temporary name", "copy out of the destination's .part");
	CHECK(!exists(at("base/dst/none")) && !exists(at("base/src/tree/sub/again")), "refused copies wrote nothing");

	/* a tree deeper than FILEOPS_MAX_DEPTH */
	{
		char		rel[PATH_MAX];
		size_t		n = (size_t) snprintf(rel, sizeof(rel), "base/deep");

		for (int i = 0; i <= FILEOPS_MAX_DEPTH; i++)
			n += (size_t) snprintf(rel + n, sizeof(rel) - n, "/d");
		mkdirs(at("%s", rel));
		refused(fileops_copy(basefd, "deep", "deepcopy", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_TOO_DEEP,
				"nested more than", "copy a tree too deep");
		CHECK(!exists(at("base/deepcopy")), "copy a tree too deep: nothing written");
		ok = fileops_delete(basefd, "deep", true, &r);
		refused(ok, &r, FILEOPS_TOO_DEEP, "nested more than", "delete a tree too deep");
		rm_rf(at("base/deep"));
	}

	/* a full disk part way through a tree: the first files were written */
	{
		struct rlimit saved,
					small = {MB, MB};

		getrlimit(RLIMIT_FSIZE, &saved);
		small.rlim_max = saved.rlim_max;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		ok = fileops_copy(basefd, "src/tree", "full/tree", FILEOPS_KEEP, NULL, &r);
		setrlimit(RLIMIT_FSIZE, &saved);
		signal(SIGXFSZ, SIG_DFL);
		refused(ok, &r, FILEOPS_IO, "could not write file \"full/tree.part/sub/deeper/big.bin\"",
				"copy a tree on a full disk");
		CHECK(!exists(at("base/full/tree")), "copy on a full disk: no destination");
		put(at("base/full/tree"), "old");
		setrlimit(RLIMIT_FSIZE, &small);
		signal(SIGXFSZ, SIG_IGN);
		ok = fileops_copy(basefd, "src/tree", "full/tree", FILEOPS_REPLACE, NULL, &r);
		setrlimit(RLIMIT_FSIZE, &saved);
		signal(SIGXFSZ, SIG_DFL);
		refused(ok, &r, FILEOPS_IO, "could not write", "replace on a full disk");
		CHECK(holds(at("base/full/tree"), "old"), "replace on a full disk: the old destination kept");
		rm_rf(at("base/full"));
	}

	/* leftovers of a process that died, folders of them */
	mkdirs(at("base/dst/z.part/sub"));
	put(at("base/dst/z.part/sub/half"), "half");
	ok = fileops_copy(basefd, "src/tree", "dst/z", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, false, 4, 4, total, "copy over a leftover .part folder");
	CHECK(!exists(at("base/dst/z/sub/half")), "copy: the leftover is not in the copy");

	/* copies running at once: into one folder, and two onto the same destination */
	{
		pid_t		pids[6];
		int			good = 0;

		fflush(stdout);
		for (int i = 0; i < 6; i++)
		{
			pids[i] = fork();
			if (pids[i] == 0)
			{
				char		d[32];

				snprintf(d, sizeof(d), i < 4 ? "par/c%d" : "par/same", i);
				ok = fileops_copy(basefd, "src/tree", d, FILEOPS_KEEP, NULL, &r);
				/* the same destination: one copies, the other finds it there, busy, or appeared */
				_exit(ok || (i >= 4 && (r.status == FILEOPS_BUSY || r.status == FILEOPS_EXISTS)) ? 0 : 1);
			}
		}
		for (int i = 0; i < 6; i++)
		{
			int			status = -1;

			waitpid(pids[i], &status, 0);
			good += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		CHECK_INT(good, 6, "parallel copies: none failed but on the shared destination, busy");
		for (int i = 0; i < 4; i++)
			CHECK(same_trees(at("base/src/tree"), at("base/par/c%d", i)), "parallel copies: each copy whole");
		CHECK(same_trees(at("base/src/tree"), at("base/par/same")), "parallel copies: the shared destination whole");
		CHECK_INT(count_parts(), 0, "parallel copies: no .part left");
		rm_rf(at("base/par"));
	}

	rm_rf(at("base/src"));
	rm_rf(at("base/dst"));
}

/*
 * unreadable_child runs as an unprivileged user (root reads every file):
 * a tree whose second file cannot be read fails the copy part way.
 */
static int
unreadable_child(void)
{
	fileops_result r;
	int			fd;
	bool		ok;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 10;
	fd = fileops_open_base(at("nobody"), &r);
	if (fd < 0)
		return 11;
	mkdir(at("nobody/src"), 0700);
	put(at("nobody/src/a.txt"), "first file, readable");
	put(at("nobody/src/b.txt"), "second file, unreadable");
	chmod(at("nobody/src/b.txt"), 0);
	ok = fileops_copy(fd, "src", "dst", FILEOPS_KEEP, NULL, &r);
	if (ok || r.status != FILEOPS_IO || r.sys_errno != EACCES)
		return 12;
	if (strstr(r.message, "could not open file \"src/b.txt\"") == NULL)
		return 13;
	if (exists(at("nobody/dst")) || exists(at("nobody/dst.part")))
		return 14;
	chmod(at("nobody/src/b.txt"), 0600);
	ok = fileops_copy(fd, "src", "dst", FILEOPS_KEEP, NULL, &r);
	if (!ok || r.files != 2)
		return 15;
	close(fd);
	return 0;
}

static void
test_unreadable(void)
{
	pid_t		pid;
	int			status = -1;

	mkdir(at("nobody"), 0700);
	if (geteuid() == 0)
	{
		chmod(root, 0711);
		if (chown(at("nobody"), 65534, 65534) != 0)
			printf("# chown: %s\n", strerror(errno));
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(unreadable_child());
	waitpid(pid, &status, 0);
	if (!CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			   "copy with an unreadable file part way: refused, no .part left, then copied"))
		printf("#   child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	chmod(root, 0700);
	rm_rf(at("nobody"));
}

static void
test_move(void)
{
	fileops_result r;
	long long	total;
	bool		ok;

	mkdirs(at("base/mv"));
	put(at("base/mv/f"), "move me");
	ok = fileops_move(basefd, "mv/f", "mv/out/g", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, false, 1, 0, 7, "move a file");
	CHECK(!exists(at("base/mv/f")) && holds(at("base/mv/out/g"), "move me"), "move: renamed");
	ok = fileops_move(basefd, "mv/f", "mv/out/g", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, true, 0, 0, 0, "move a file again (the source gone)");
	refused(fileops_move(basefd, "mv/none", "mv/out/none", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_NOT_FOUND,
			"source \"mv/none\" does not exist", "move of a missing file");
	refused(fileops_move(basefd, "gone/none", "mv/out/none", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_NOT_FOUND,
			"does not exist", "move from a missing folder");

	/* a tree */
	total = make_tree("base/mv/tree", 2);
	ok = fileops_move(basefd, "mv/tree", "mv/moved", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, false, 4, 4, total, "move a tree");
	CHECK(!exists(at("base/mv/tree")) && holds(at("base/mv/moved/sub/b.txt"), "bravo bravo\n"), "move a tree: renamed");
	ok = fileops_move(basefd, "mv/tree", "mv/moved", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, true, 0, 0, 0, "move a tree again");
	refused(fileops_move(basefd, "mv/moved", "mv/moved/sub/x", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_REFUSED,
			"is inside source \"mv/moved\"", "move a folder into itself");
	refused(fileops_move(basefd, "mv/moved", "mv/moved", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_REFUSED,
			"the same path", "move onto itself");

	/* the destination exists: the same (finish the move), or other */
	make_tree("base/mv/copy", 2);
	ok = fileops_move(basefd, "mv/copy", "mv/moved", FILEOPS_KEEP, NULL, &r);
	ok_result(ok, &r, true, 0, 0, 0, "move onto an identical tree");
	CHECK(!exists(at("base/mv/copy")), "move onto an identical tree: the source removed");
	put(at("base/mv/f2"), "other");
	put(at("base/mv/out/h"), "there");
	refused(fileops_move(basefd, "mv/f2", "mv/out/h", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_EXISTS,
			"destination \"mv/out/h\" exists and differs", "move onto another file");
	CHECK(holds(at("base/mv/f2"), "other") && holds(at("base/mv/out/h"), "there"), "move refused: both kept");
	ok = fileops_move(basefd, "mv/f2", "mv/out/h", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 1, 0, 5, "move onto another file with overwrite");
	CHECK(!exists(at("base/mv/f2")) && holds(at("base/mv/out/h"), "other"), "move with overwrite: replaced");
	make_tree("base/mv/t3", 3);
	refused(fileops_move(basefd, "mv/t3", "mv/moved", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_EXISTS,
			"differs", "move onto another tree");
	ok = fileops_move(basefd, "mv/t3", "mv/moved", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 4, 4, total, "move onto another tree with overwrite");
	CHECK(!exists(at("base/mv/t3")) && is_dir(at("base/mv/moved/sub/deeper")), "move a tree with overwrite: replaced");
	CHECK_INT(count_parts(), 0, "move with overwrite: no .old.part left");
	put(at("base/mv/f3"), "file");
	ok = fileops_move(basefd, "mv/f3", "mv/moved", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 1, 0, 4, "move a file over a tree with overwrite");
	CHECK(holds(at("base/mv/moved"), "file"), "move a file over a tree: replaced");
	mkdirs(at("base/mv/outer/inner"));
	put(at("base/mv/outer/inner/x"), "x");
	ok = fileops_move(basefd, "mv/outer/inner", "mv/outer", FILEOPS_REPLACE, NULL, &r);
	ok_result(ok, &r, false, 1, 1, 1, "move a folder over its own parent with overwrite");
	CHECK(holds(at("base/mv/outer/x"), "x") && !exists(at("base/mv/outer/inner")), "move over its parent: replaced");

	/* links */
	symlink(at("outside/secret"), at("base/mv/lfile"));
	refused(fileops_move(basefd, "mv/lfile", "mv/stolen", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"source \"mv/lfile\" is a symbolic link", "move of a link");
	symlink(at("outside/dir"), at("base/mv/ldir"));
	refused(fileops_move(basefd, "mv/ldir/inner.txt", "mv/stolen", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"mv/ldir\" is a symbolic link", "move out of a link to a folder");
	put(at("base/mv/f4"), "f4");
	refused(fileops_move(basefd, "mv/f4", "mv/ldir/f4", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"mv/ldir\" is a symbolic link", "move into a link to a folder");
	refused(fileops_move(basefd, "mv/f4", "mv/lfile", FILEOPS_REPLACE, NULL, &r), &r, FILEOPS_SYMLINK,
			"destination \"mv/lfile\" is a symbolic link", "move onto a link, with overwrite");
	refused(fileops_move(basefd, "mv/gone", "mv/lfile", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_NOT_FOUND,
			"does not exist", "a missing source with a link as the destination is not \"already there\"");
	make_tree("base/mv/t4", 4);
	symlink(at("outside/dir"), at("base/mv/t4/sub/l"));
	refused(fileops_move(basefd, "mv/t4", "mv/t5", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"mv/t4/sub/l\" is a symbolic link", "move a tree holding a link");
	CHECK(is_dir(at("base/mv/t4")) && !exists(at("base/mv/t5")), "move a tree holding a link: nothing moved");
	CHECK(holds(at("base/mv/f4"), "f4"), "refused moves kept the source");
	rm_rf(at("base/mv"));
}

/*
 * exdev_child moves across file systems: it takes a mount namespace of
 * its own and mounts a tmpfs at base/mnt.  Returns 0 when all went well,
 * 77 when the system does not allow the mount, another code on failure.
 */
static int
exdev_child(void)
{
	fileops_result r;
	fileops_limits lim = {10, 0};
	bool		ok;

	int			fd;

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		mount("tmpfs", at("base/mnt"), "tmpfs", 0, "size=16m") != 0)
		return 77;
	/* a descriptor opened before unshare() would see the old namespace's mounts */
	fd = fileops_open_base(at("base"), &r);
	if (fd < 0)
		return 7;
	mkdirs(at("base/xd/tree/sub"));
	put(at("base/xd/f"), "across");
	put(at("base/xd/tree/a"), "a");
	put(at("base/xd/tree/sub/b"), "bb");
	ok = fileops_move(fd, "xd/f", "mnt/f", FILEOPS_KEEP, NULL, &r);
	if (!ok || r.files != 1 || r.bytes != 6 || exists(at("base/xd/f")) || !holds(at("base/mnt/f"), "across"))
		return 1;
	ok = fileops_move(fd, "xd/f", "mnt/f", FILEOPS_KEEP, NULL, &r);
	if (!ok || !r.already_there)
		return 2;
	ok = fileops_move(fd, "xd/tree", "mnt/tree", FILEOPS_KEEP, NULL, &r);
	if (!ok || r.files != 2 || r.folders != 2 || r.bytes != 3 || exists(at("base/xd/tree")) ||
		!holds(at("base/mnt/tree/sub/b"), "bb"))
		return 3;
	put(at("base/xd/big"), "more than ten bytes");
	ok = fileops_move(fd, "xd/big", "mnt/big", FILEOPS_KEEP, &lim, &r);
	if (ok || r.status != FILEOPS_TOO_LARGE || !exists(at("base/xd/big")) || exists(at("base/mnt/big")) ||
		exists(at("base/mnt/big.part")))
		return 4;
	put(at("base/mnt/g"), "old");
	put(at("base/xd/g"), "new");
	ok = fileops_move(fd, "xd/g", "mnt/g", FILEOPS_REPLACE, NULL, &r);
	if (!ok || !holds(at("base/mnt/g"), "new") || exists(at("base/xd/g")))
		return 5;
	close(fd);
	if (umount(at("base/mnt")) != 0)
		return 6;
	return 0;
}

static void
test_move_across(void)
{
	pid_t		pid;
	int			status = -1;

	mkdirs(at("base/mnt"));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(exdev_child());
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		unit_report(1, "move across file systems # SKIP no mount namespace here", __FILE__, __LINE__);
	else if (!CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					"move across file systems: copied then deleted, within limits, idempotent"))
		printf("#   child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	rm_rf(at("base/mnt"));
	rm_rf(at("base/xd"));
}

static void
test_delete(void)
{
	fileops_result r;
	bool		ok;

	mkdirs(at("base/del/tree/sub"));
	put(at("base/del/f"), "12345");
	ok = fileops_delete(basefd, "del/f", false, &r);
	ok_result(ok, &r, false, 1, 0, 5, "delete a file");
	CHECK(!exists(at("base/del/f")), "delete: gone");
	ok = fileops_delete(basefd, "del/f", false, &r);
	ok_result(ok, &r, true, 0, 0, 0, "delete a file again");
	ok = fileops_delete(basefd, "nowhere/at/all", true, &r);
	ok_result(ok, &r, true, 0, 0, 0, "delete below a missing folder");

	ok = fileops_delete(basefd, "del/tree/sub", false, &r);
	ok_result(ok, &r, false, 0, 1, 0, "delete an empty folder");
	mkdirs(at("base/del/tree/sub"));
	put(at("base/del/tree/sub/a"), "aa");
	put(at("base/del/tree/b"), "b");
	refused(fileops_delete(basefd, "del/tree", false, &r), &r, FILEOPS_NOT_EMPTY,
			"folder \"del/tree\" is not empty", "delete a folder, not recursive");
	CHECK(holds(at("base/del/tree/sub/a"), "aa"), "delete refused: kept");

	/* links inside are deleted as entries; their targets stay */
	symlink(at("outside/dir"), at("base/del/tree/sub/dirlink"));
	symlink(at("outside/secret"), at("base/del/tree/filelink"));
	ok = fileops_delete(basefd, "del/tree", true, &r);
	ok_result(ok, &r, false, 4, 2, 3, "delete a tree holding links");
	CHECK(!exists(at("base/del/tree")) && outside_same(), "delete a tree: the links' targets untouched");
	ok = fileops_delete(basefd, "del/tree", true, &r);
	ok_result(ok, &r, true, 0, 0, 0, "delete a tree again");

	symlink(at("outside/dir"), at("base/del/ldir"));
	ok = fileops_delete(basefd, "del/ldir", true, &r);
	ok_result(ok, &r, false, 1, 0, 0, "delete a link to a folder, recursive");
	CHECK(!exists(at("base/del/ldir")) && outside_same(), "delete a link: the link only");
	symlink(at("outside/dir"), at("base/del/ldir"));
	refused(fileops_delete(basefd, "del/ldir/inner.txt", false, &r), &r, FILEOPS_SYMLINK,
			"\"del/ldir\" is a symbolic link", "delete through a link");
	ok = fileops_delete(basefd, "del/ldir/", true, &r);
	ok_result(ok, &r, false, 1, 0, 0, "delete \"del/ldir/\" (a trailing slash): the link, not its target");
	CHECK(!exists(at("base/del/ldir")) && outside_same(), "delete with a trailing slash: the link only");
	put(at("base/del/file"), "x");
	refused(fileops_delete(basefd, "del/file/x", false, &r), &r, FILEOPS_NOT_FOLDER,
			"\"del/file\" is not a folder", "delete below a file");
	rm_rf(at("base/del"));
}

/*
 * test_swap_between_calls: a folder of the path becomes a link to a
 * folder outside between two calls; every operation through it is refused.
 */
static void
test_swap_between_calls(void)
{
	fileops_result r;
	bool		ok;

	ok = fileops_mkdir(basefd, "sw/d", &r);
	ok_result(ok, &r, false, 0, 2, 0, "race: mkdir sw/d");
	ok = fileops_write(basefd, "sw/d/f", "data", 4, FILEOPS_KEEP, &r);
	ok_result(ok, &r, false, 1, 0, 4, "race: write sw/d/f");
	CHECK(rename(at("base/sw/d"), at("base/sw/real")) == 0 && symlink(at("outside/dir"), at("base/sw/d")) == 0,
		  "race: sw/d swapped for a link to a folder outside");
	refused(fileops_write(basefd, "sw/d/g", "data", 4, FILEOPS_KEEP, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: write after the swap");
	refused(fileops_write(basefd, "sw/d/inner.txt", "data", 4, FILEOPS_REPLACE, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: overwrite after the swap");
	refused(fileops_copy(basefd, "sw/real/f", "sw/d/h", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: copy into it after the swap");
	refused(fileops_copy(basefd, "sw/d/inner.txt", "sw/h", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: copy out of it after the swap");
	refused(fileops_move(basefd, "sw/d/inner.txt", "sw/h", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: move out of it after the swap");
	refused(fileops_move(basefd, "sw/real/f", "sw/d/f", FILEOPS_KEEP, NULL, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: move into it after the swap");
	refused(fileops_delete(basefd, "sw/d/inner.txt", true, &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: delete in it after the swap");
	refused(fileops_mkdir(basefd, "sw/d/new", &r), &r, FILEOPS_SYMLINK,
			"\"sw/d\" is a symbolic link", "race: mkdir in it after the swap");
	CHECK(!exists(at("base/sw/h")), "race: nothing came out of the link");
	rm_rf(at("base/sw"));
}

/*
 * test_swap_while_running: a child process exchanges a folder of the
 * path with a link to a folder outside, over and over, while this process
 * writes, copies, moves, deletes and makes folders through it.  Whatever
 * each call says, nothing outside may change.
 */
static void
test_swap_while_running(void)
{
	fileops_result r;
	pid_t		pid;
	int			status = -1;
	int			okays = 0;
	int			refusals = 0;
	struct timespec t0,
				t1;

	mkdirs(at("base/race/d"));
	put(at("base/race/src.txt"), "source");
	put(at("base/race/d/inner.txt"), "inside the base");
	symlink(at("outside/dir"), at("base/race/swap"));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
	{
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;)
		{
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (t1.tv_sec - t0.tv_sec >= 2)
				break;
			if (renameat2(AT_FDCWD, at("base/race/d"), AT_FDCWD, at("base/race/swap"), RENAME_EXCHANGE) != 0)
				_exit(1);
		}
		/* leave the folder at "d" */
		if (is_link(at("base/race/d")) &&
			renameat2(AT_FDCWD, at("base/race/d"), AT_FDCWD, at("base/race/swap"), RENAME_EXCHANGE) != 0)
			_exit(2);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0;; i++)
	{
		char		a[64],
					b[64];
		bool		ok = false;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec >= 2)
			break;
		snprintf(a, sizeof(a), "race/d/f%d", i % 8);
		snprintf(b, sizeof(b), "race/d/sub%d/g", i % 5);
		switch (i % 7)
		{
			case 0:
				ok = fileops_write(basefd, a, "written", 7, FILEOPS_REPLACE, &r);
				break;
			case 1:
				ok = fileops_copy(basefd, "race/src.txt", b, FILEOPS_REPLACE, NULL, &r);
				break;
			case 2:
				ok = fileops_move(basefd, a, b, FILEOPS_REPLACE, NULL, &r);
				break;
			case 3:
				ok = fileops_delete(basefd, "race/d/inner.txt", false, &r);
				break;
			case 4:
				ok = fileops_mkdir(basefd, b, &r);
				break;
			case 5:
				ok = fileops_delete(basefd, b, true, &r);
				break;
			case 6:
				ok = fileops_copy(basefd, "race/d", "race/copy", FILEOPS_REPLACE, NULL, &r);
				break;
		}
		if (ok)
			okays++;
		else
			refusals++;
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "race: the swapping child ran");
	printf("# race: %d calls succeeded, %d refused\n", okays, refusals);
	CHECK(okays > 0 && refusals > 0, "race: some calls ran, some were refused");
	CHECK(outside_same(), "race: nothing outside changed");
	CHECK_INT(count_parts(), 0, "race: no .part left");
	rm_rf(at("base/race"));
}

int
main(void)
{
	struct timespec t0,
				t1;
	fileops_result r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(root, sizeof(root), "/tmp/test_fileops.XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	mkdirs(at("base"));
	mkdirs(at("outside/dir"));
	put(at("outside/secret"), "secret");
	put(at("outside/dir/inner.txt"), "outside the base");
	outside_before = snapshot(at("outside"));

	test_open_base();
	test_bad_paths();
	test_mkdir();
	test_write();
	test_copy();
	test_unreadable();
	test_move();
	test_move_across();
	test_delete();
	test_swap_between_calls();
	test_swap_while_running();

	for (int i = FILEOPS_OK; i <= FILEOPS_NO_MEMORY; i++)
		for (int j = i + 1; j <= FILEOPS_NO_MEMORY; j++)
			if (strcmp(fileops_status_name((fileops_status) i), fileops_status_name((fileops_status) j)) == 0)
				CHECK(0, "status names differ");
	CHECK(strcmp(fileops_status_name(FILEOPS_NOT_FOUND), "not_found") == 0, "status names");
	CHECK(!fileops_write(basefd, "x", "x", 1, FILEOPS_KEEP, NULL), "a NULL result is refused");
	(void) r;

	CHECK(outside_same(), "outside untouched at the end");
	close(basefd);
	{
		char	   *left = snapshot(at("base"));

		CHECK_STR(left, "dir\n", "the base is empty at the end");
		free(left);
	}
	free(outside_before);
	rm_rf(root);
	CHECK(!exists(root), "temporary folder removed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %.2f s\n", (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return unit_done();
}
