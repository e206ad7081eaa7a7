/*
 * test_layout.c — fileops_link (src/jobs/fileops_link.c), the kernel of the
 * "layout" job kind: a hard link to the very file, a copy where asked, the
 * idempotent rerun, and refusals of links, folders and escapes, under a
 * mkdtemp folder holding "base" and "outside" (which must never change).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/fileops.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static const char *
at(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static int	next = 0;
	char	   *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", root, rel);
	return b;
}

static void
put(const char *rel, const char *data)
{
	int			fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t) strlen(data))
		abort();
	close(fd);
}

static ino_t
inode(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) == 0 ? st.st_ino : 0;
}

static bool
holds(const char *rel, const char *data)
{
	char		buf[256];
	int			fd = open(at(rel), O_RDONLY | O_NOFOLLOW);
	ssize_t		n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t) strlen(data) && memcmp(buf, data, (size_t) n) == 0;
}

int
main(void)
{
	fileops_result res;
	bool		linked;
	int			basefd;
	struct stat st;

	strcpy(root, "/tmp/mlops_layout_XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	mkdir(at("base"), 0700);
	mkdir(at("base/x"), 0700);
	mkdir(at("outside"), 0700);
	put("base/x/a.png", "aaaa");
	put("base/x/b.png", "bbbb");
	put("outside/secret", "secret");
	symlink("../outside/secret", at("base/x/link.png"));
	symlink("../outside", at("base/escape"));
	basefd = fileops_open_base(at("base"), &res);
	CHECK(basefd >= 0, "the base opens");

	CHECK(fileops_link(basefd, "x/a.png", "out/train/cat/a.png", false, &linked, NULL, &res), "a link is made");
	CHECK(linked && !res.already_there, "as a hard link");
	CHECK(inode("base/out/train/cat/a.png") == inode("base/x/a.png"), "to the very file");
	CHECK_INT(res.folders, 3, "with the three folders above it");
	CHECK(stat(at("base/out/train/cat"), &st) == 0 && (st.st_mode & 0777) == 0700, "folders are 0700");

	{
		fileops_dirsync sync;
		int			ok = 1;

		/* many links into few folders: one fsync per folder, at the flush */
		memset(&sync, 0, sizeof(sync));
		put("base/x/c1.png", "c1");
		put("base/x/c2.png", "c2");
		put("base/x/c3.png", "c3");
		ok &= fileops_link(basefd, "x/c1.png", "batch/one/c1.png", false, &linked, &sync, &res) && linked;
		ok &= fileops_link(basefd, "x/c2.png", "batch/one/c2.png", false, &linked, &sync, &res) && linked;
		ok &= fileops_link(basefd, "x/c3.png", "batch/two/c3.png", false, &linked, &sync, &res) && linked;
		CHECK(ok && inode("base/batch/one/c2.png") == inode("base/x/c2.png"), "links with a deferred folder fsync are made");
		CHECK_INT(sync.n, 2, "two distinct folders held for the flush");
		CHECK(fileops_dirsync_flush(&sync, &res) && sync.n == 0, "the flush succeeds and releases them");
		CHECK_INT(sync.synced, 2, "one fsync per folder, not per link");
		for (int i = 0; i < FILEOPS_DIRSYNC_MAX + 3; i++)
		{
			char		d[64];

			snprintf(d, sizeof(d), "many/d%d/c1.png", i);
			ok &= fileops_link(basefd, "x/c1.png", d, false, &linked, &sync, &res);
		}
		CHECK(ok && sync.n == 3 && sync.synced == 2 + FILEOPS_DIRSYNC_MAX, "a full set is flushed before it takes another folder");
		CHECK(fileops_dirsync_flush(&sync, &res) && sync.synced == 2 + FILEOPS_DIRSYNC_MAX + 3, "and the rest at the end");
	}

	CHECK(fileops_link(basefd, "x/a.png", "out/train/cat/a.png", false, &linked, NULL, &res), "a rerun succeeds");
	CHECK(res.already_there && !linked && res.folders == 0, "having nothing to do");

	CHECK(fileops_link(basefd, "x/b.png", "out/test/cat/b.png", true, &linked, NULL, &res), "a copy is made when asked");
	CHECK(!linked && inode("base/out/test/cat/b.png") != inode("base/x/b.png") &&
		  holds("base/out/test/cat/b.png", "bbbb"), "a copy of the bytes, another file");
	CHECK(fileops_link(basefd, "x/b.png", "out/test/cat/b.png", false, &linked, NULL, &res) && res.already_there,
		  "the same bytes under the name are already there");

	CHECK(!fileops_link(basefd, "x/b.png", "out/train/cat/a.png", false, &linked, NULL, &res) &&
		  res.status == FILEOPS_EXISTS, "other bytes under the name are refused");
	CHECK(holds("base/out/train/cat/a.png", "aaaa"), "and left as they were");

	CHECK(!fileops_link(basefd, "x/link.png", "out/l.png", false, &linked, NULL, &res) && res.status == FILEOPS_SYMLINK,
		  "a source that is a symbolic link is refused");
	CHECK(!fileops_link(basefd, "x", "out/x", false, &linked, NULL, &res) && res.status == FILEOPS_WRONG_TYPE,
		  "a folder is refused");
	CHECK(!fileops_link(basefd, "x/none.png", "out/n.png", false, &linked, NULL, &res) && res.status == FILEOPS_NOT_FOUND,
		  "a missing source is refused");
	CHECK(!fileops_link(basefd, "escape/secret", "out/s.png", false, &linked, NULL, &res) && res.status == FILEOPS_SYMLINK,
		  "a source through a linked folder is refused");
	CHECK(!fileops_link(basefd, "x/a.png", "escape/a.png", false, &linked, NULL, &res) && res.status == FILEOPS_SYMLINK,
		  "a destination through a linked folder is refused");
	CHECK(access(at("outside/a.png"), F_OK) != 0 && holds("outside/secret", "secret"), "outside is untouched");
	CHECK(!fileops_link(basefd, "../outside/secret", "out/s.png", false, &linked, NULL, &res) && res.status == FILEOPS_BAD_PATH,
		  "a source above the base is refused");
	CHECK(!fileops_link(basefd, "x/a.png", "/tmp/a.png", false, &linked, NULL, &res) && res.status == FILEOPS_BAD_PATH,
		  "an absolute destination is refused");
	CHECK(!fileops_link(basefd, "x/a.png", "x/./a.png", false, &linked, NULL, &res) && res.status == FILEOPS_REFUSED,
		  "the same path is refused");
	symlink("../../outside/secret", at("base/out/train/cat/dangling.png"));
	CHECK(!fileops_link(basefd, "x/a.png", "out/train/cat/dangling.png", false, &linked, NULL, &res) &&
		  res.status == FILEOPS_SYMLINK, "a link at the destination is refused, not followed");
	CHECK(holds("outside/secret", "secret"), "and what it points at is untouched");

	close(basefd);
	{
		char		cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		CHECK(system(cmd) == 0, "the temporary folder is removed");
	}
	printf("1..%d\n", unit_count);
	return unit_failures ? 1 : 0;
}
