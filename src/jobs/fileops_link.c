/*
 * fileops_link.c
 *	  Kernel: fileops_link, a second name for a file inside the base (for
 *	  the "layout" job kind): a hard link when source and destination are
 *	  on one file system, else a copy through "<dest>.part" (fileops_copy).
 *	  The source is opened without following a link and must be a regular
 *	  file; the link is made to the very file opened (through
 *	  /proc/self/fd), so a name swapped meanwhile cannot be linked instead.
 *	  See fileops.h.  No PostgreSQL headers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "jobs/fileops_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/pathsafe.h"

/* Opens the regular file rel (normalised) without following a link; -1 with res filled. */
static int
open_source_file(int basefd, const char *rel, struct stat *st, fileops_result *res)
{
	const char *name;
	int			pfd = fileops_open_parent(basefd, rel, false, NULL, &name, res);
	int			fd,
				err;
	char		sb[FILEOPS_SHOWN_BUF];

	if (pfd < 0)
		return -1;
	fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	err = errno;
	close(pfd);
	if (fd < 0)
	{
		if (err == ENOENT)
			fileops_fail(res, FILEOPS_NOT_FOUND, err, "source \"%s\" does not exist", FILEOPS_SHOW(rel, sb));
		else if (err == ELOOP)
			fileops_fail(res, FILEOPS_SYMLINK, err, "source \"%s\" is a symbolic link", FILEOPS_SHOW(rel, sb));
		else
			fileops_fail(res, FILEOPS_IO, err, "could not open source \"%s\": %s", FILEOPS_SHOW(rel, sb),
						 strerror(err));
		return -1;
	}
	if (fstat(fd, st) != 0)
	{
		err = errno;
		close(fd);
		fileops_fail(res, FILEOPS_IO, err, "could not stat source \"%s\": %s", FILEOPS_SHOW(rel, sb), strerror(err));
		return -1;
	}
	if (!S_ISREG(st->st_mode))
	{
		close(fd);
		fileops_fail(res, FILEOPS_WRONG_TYPE, 0,
					 "source \"%s\" is not a regular file", FILEOPS_SHOW(rel, sb));
		return -1;
	}
	return fd;
}

bool
fileops_dirsync_flush(fileops_dirsync *sync, fileops_result *res)
{
	bool		ok = true;

	for (int i = 0; i < sync->n; i++)
	{
		if (ok && fsync(sync->fd[i]) != 0)
			ok = fileops_fail(res, FILEOPS_IO, errno, "cannot fsync a destination folder: %s", strerror(errno));
		else if (ok)
			sync->synced++;
		close(sync->fd[i]);
	}
	sync->n = 0;
	return ok;
}

/* dirsync_take keeps dfd's folder for the next flush (once per folder); closes dfd. */
static bool
dirsync_take(fileops_dirsync *sync, int dfd, fileops_result *res)
{
	struct stat st;

	if (fstat(dfd, &st) != 0)
	{
		int			e = errno;

		close(dfd);
		return fileops_fail(res, FILEOPS_IO, e, "cannot stat a destination folder: %s", strerror(e));
	}
	for (int i = 0; i < sync->n; i++)
		if (sync->dev[i] == st.st_dev && sync->ino[i] == st.st_ino)
		{
			close(dfd);
			return true;
		}
	if (sync->n == FILEOPS_DIRSYNC_MAX && !fileops_dirsync_flush(sync, res))
	{
		close(dfd);
		return false;
	}
	sync->fd[sync->n] = dfd;
	sync->dev[sync->n] = st.st_dev;
	sync->ino[sync->n] = st.st_ino;
	sync->n++;
	return true;
}

bool
fileops_link(int basefd, const char *src, const char *dest, bool copy_only, bool *linked,
			 fileops_dirsync *sync, fileops_result *res)
{
	char		snorm[PATH_MAX];
	char		dnorm[PATH_MAX];
	char		sb[FILEOPS_SHOWN_BUF];
	char		proc[64];
	struct stat sst,
				dst;
	const char *dname;
	int			sfd,
				dfd;
	int64_t		created = 0;
	path_check	pc;

	*linked = false;
	memset(res, 0, sizeof(*res));
	if ((pc = path_normalize_relative(src, snorm, sizeof(snorm))) != PATH_OK)
		return fileops_fail(res, FILEOPS_BAD_PATH, 0, "invalid source path: %s", path_check_message(pc));
	if ((pc = path_normalize_relative(dest, dnorm, sizeof(dnorm))) != PATH_OK)
		return fileops_fail(res, FILEOPS_BAD_PATH, 0, "invalid destination path: %s", path_check_message(pc));
	if (snorm[0] == '\0' || dnorm[0] == '\0')
		return fileops_fail(res, FILEOPS_BAD_PATH, 0, "a link needs a file, not the base folder");
	if (strcmp(snorm, dnorm) == 0)
		return fileops_fail(res, FILEOPS_REFUSED, 0, "source and destination are the same path \"%s\"",
							FILEOPS_SHOW(snorm, sb));

	sfd = open_source_file(basefd, snorm, &sst, res);
	if (sfd < 0)
		return false;
	dfd = fileops_open_parent(basefd, dnorm, true, &created, &dname, res);
	if (dfd < 0)
	{
		close(sfd);
		return false;
	}
	res->folders = created;

	/* already there: the same file, or the same bytes */
	if (fstatat(dfd, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0)
	{
		int			same = 0;

		if (S_ISREG(dst.st_mode) && dst.st_dev == sst.st_dev && dst.st_ino == sst.st_ino)
			same = 1;
		else if (S_ISREG(dst.st_mode) && dst.st_size == sst.st_size)
		{
			int			ofd = openat(dfd, dname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			char	   *buf = malloc(FILEOPS_COPY_BUFFER);

			if (ofd >= 0 && buf != NULL)
				same = fileops_same_fds(sfd, ofd, buf, FILEOPS_COPY_BUFFER) == 1;
			free(buf);
			if (ofd >= 0)
				close(ofd);
		}
		close(sfd);
		close(dfd);
		if (same)
		{
			res->already_there = true;
			return true;
		}
		return fileops_fail(res, S_ISLNK(dst.st_mode) ? FILEOPS_SYMLINK : FILEOPS_EXISTS, 0,
							"destination \"%s\" exists and holds something else", FILEOPS_SHOW(dnorm, sb));
	}

	if (!copy_only)
	{
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", sfd);
		if (linkat(AT_FDCWD, proc, dfd, dname, AT_SYMLINK_FOLLOW) == 0)
		{
			close(sfd);
			if (sync != NULL)
			{
				if (!dirsync_take(sync, dfd, res))
					return false;
			}
			else
			{
				if (fsync(dfd) != 0)
				{
					int			e = errno;

					close(dfd);
					return fileops_fail(res, FILEOPS_IO, e, "cannot fsync the folder of \"%s\": %s",
										FILEOPS_SHOW(dnorm, sb), strerror(e));
				}
				close(dfd);
			}
			*linked = true;
			res->files = 1;
			res->bytes = (int64_t) sst.st_size;
			return true;
		}
		if (errno == EEXIST)
		{
			close(sfd);
			close(dfd);
			return fileops_fail(res, FILEOPS_BUSY, EEXIST,
								"destination \"%s\" appeared while it was linked", FILEOPS_SHOW(dnorm, sb));
		}
		/* EXDEV (another file system), EPERM/EMLINK (links refused or too many), no /proc: copy */
	}
	close(sfd);
	close(dfd);
	if (!fileops_copy(basefd, snorm, dnorm, FILEOPS_KEEP, NULL, res))
		return false;
	res->folders += created;
	return true;
}
