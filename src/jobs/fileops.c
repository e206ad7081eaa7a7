/*
 * fileops.c
 *	  Kernel: copy, move, delete, mkdir and write (export) inside a base
 *	  folder, for the worker's file jobs.  See fileops.h for the contract.
 *
 *	  This file walks paths and runs the operations; the walks over trees
 *	  (scan, compare, copy, remove) are in fileops_walk.c.  Every path is
 *	  walked one component at a time from a descriptor we hold (openat with
 *	  O_NOFOLLOW | O_DIRECTORY), and every system call that names a file is
 *	  given one name relative to such a descriptor: no string with a "/"
 *	  ever reaches open, mkdir, rename or unlink.  A folder swapped for a
 *	  symbolic link while we work is therefore either already open (we go
 *	  on inside the folder we opened, still inside the base) or refused
 *	  when we open it.
 *
 *	  A copy reads its source twice: a first walk writes nothing and checks
 *	  every entry (type, name) and the limits; the second writes
 *	  "<dest>.part", counting again, so a source that grows in between is
 *	  still held to the limits.  The ".part" is created and locked, and
 *	  later renamed, under a short lock of the destination's folder (see
 *	  fileops.h on concurrency).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/fileops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/pathsafe.h"
#include "jobs/fileops_walk.h"

/* The suffixes of our temporary names; OLD_SUFFIX is the longer one. */
#define PART_SUFFIX				".part"
#define OLD_SUFFIX				".old.part"

/*
 * normalize checks a relative path from the caller into out (PATH_MAX
 * bytes); what names it in the message ("source path").
 * The path itself is not shown: it may be absolute.
 */
static path_check
normalize(const char *what, const char *path, char *out, fileops_result *res)
{
	path_check	pc = path_normalize_relative(path, out, PATH_MAX);

	if (pc != PATH_OK)
		fileops_fail(res, FILEOPS_BAD_PATH, 0, "invalid %s: %s", what, path_check_message(pc));
	return pc;
}

/*
 * check_last_name refuses a destination (normalised) whose last component
 * is too long to take our temporary suffixes.
 */
static bool
check_last_name(const char *rel, fileops_result *res)
{
	char		sb[FILEOPS_SHOWN_BUF];
	const char *slash = strrchr(rel, '/');
	const char *last = slash ? slash + 1 : rel;

	if (strlen(last) + strlen(OLD_SUFFIX) > NAME_MAX)
		return fileops_fail(res, FILEOPS_BAD_PATH, ENAMETOOLONG,
							"name of \"%s\" is too long to add \"%s\" to it", FILEOPS_SHOW(rel, sb),
							OLD_SUFFIX);
	return true;
}

/*
 * lock_parent takes the exclusive flock of a destination's folder (rel is
 * the destination, for messages), waiting for it: operations hold it only
 * while they look at, create or rename temporary names, never while they
 * copy data.
 */
static bool
lock_parent(int fd, const char *rel, fileops_result *res)
{
	char		sb[FILEOPS_SHOWN_BUF];

	while (flock(fd, LOCK_EX) != 0)
	{
		if (errno != EINTR)
			return fileops_fail(res, FILEOPS_IO, errno, "could not lock the folder of \"%s\": %s",
								FILEOPS_SHOW(rel, sb), strerror(errno));
	}
	return true;
}

/*
 * unlock_parent releases the lock lock_parent took.
 */
static void
unlock_parent(int fd)
{
	(void) flock(fd, LOCK_UN);
}

/*
 * temp_name writes "<name><suffix>" into out (NAME_MAX + 1 bytes; the
 * length was checked by check_last_name).
 */
static void
temp_name(char *out, const char *name, const char *suffix)
{
	snprintf(out, NAME_MAX + 1, "%s%s", name, suffix);
}

/*
 * clear_temp looks at the temporary name "<name><suffix>" in the folder
 * pfd, whose lock the caller holds.  A ".old.part" exists only while an
 * operation holds that lock, and a ".part" is kept locked (flock) by the
 * operation writing it, so one we can lock was left by a process that
 * died: it is removed.  A ".part" locked by another operation is
 * FILEOPS_BUSY when busy_fails, else left alone.  A link is refused:
 * nothing of ours makes one.
 */
static bool
clear_temp(fileops_ctx *c, int pfd, const char *rel, const char *name, const char *suffix,
		   bool busy_fails)
{
	char		tmp[NAME_MAX + 1];
	char		shown_rel[PATH_MAX + 16];
	char		sb[FILEOPS_SHOWN_BUF];
	struct stat st;
	fileops_kind kind;
	fileops_ctx r;

	temp_name(tmp, name, suffix);
	snprintf(shown_rel, sizeof(shown_rel), "%s%s", rel, suffix);
	if (fileops_stat_entry(pfd, tmp, &st, &kind) != 0)
		return fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
							FILEOPS_SHOW(shown_rel, sb), strerror(errno));
	if (kind == FILEOPS_KIND_MISSING)
		return true;
	if (kind == FILEOPS_KIND_LINK)
		return fileops_fail(c->res, FILEOPS_SYMLINK, 0, "\"%s\" is a symbolic link",
							FILEOPS_SHOW(shown_rel, sb));
	if (strcmp(suffix, PART_SUFFIX) == 0 && (kind == FILEOPS_KIND_FILE || kind == FILEOPS_KIND_FOLDER))
	{
		int			fd = openat(pfd, tmp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0)
		{
			if (errno == ENOENT)
				return true;
			return fileops_fail(c->res, FILEOPS_IO, errno, "could not open \"%s\": %s",
								FILEOPS_SHOW(shown_rel, sb), strerror(errno));
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		{
			int			err = errno;

			close(fd);
			if (err != EWOULDBLOCK)
				return fileops_fail(c->res, FILEOPS_IO, err, "could not lock \"%s\": %s",
									FILEOPS_SHOW(shown_rel, sb), strerror(err));
			if (busy_fails)
				return fileops_fail(c->res, FILEOPS_BUSY, err,
									"another operation is writing \"%s\"", FILEOPS_SHOW(rel, sb));
			return true;
		}
		close(fd);				/* nobody can take it now: we hold the folder's lock */
	}
	memset(&r, 0, sizeof(r));
	r.res = c->res;
	snprintf(r.dpath, sizeof(r.dpath), "%s", shown_rel);
	r.dlen = strlen(r.dpath);
	return fileops_remove_entry(&r, pfd, tmp, 0);
}

/*
 * claim_part creates the ".part" of dest (a folder, or a file) in the
 * folder pfd, after clearing leftovers, under the folder's lock, and
 * returns its descriptor, locked with flock until it is closed: the sign
 * that it is being written.  part receives its name.  -1 with c->res
 * filled on failure.
 */
static int
claim_part(fileops_ctx *c, int pfd, const char *dest, const char *dname, bool folder, char *part)
{
	char		sb[FILEOPS_SHOWN_BUF];
	int			fd = -1;
	bool		made = false;

	temp_name(part, dname, PART_SUFFIX);
	snprintf(c->dpath, sizeof(c->dpath), "%s%s", dest, PART_SUFFIX);
	c->dlen = strlen(c->dpath);
	if (!lock_parent(pfd, dest, c->res))
		return -1;
	if (!clear_temp(c, pfd, dest, dname, PART_SUFFIX, true) ||
		!clear_temp(c, pfd, dest, dname, OLD_SUFFIX, true))
	{
		unlock_parent(pfd);
		return -1;
	}
	if (folder)
	{
		/* an existing name is not ours to remove: the checks above cleared ours */
		if (mkdirat(pfd, part, 0700) != 0)
			fileops_fail(c->res, FILEOPS_IO, errno, "could not create folder \"%s\": %s",
						 FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		else
		{
			made = true;
			fd = openat(pfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				fileops_fail(c->res, FILEOPS_IO, errno, "could not open folder \"%s\": %s",
							 FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		}
	}
	else
	{
		fd = openat(pfd, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		made = fd >= 0;
		if (fd < 0)
			fileops_fail(c->res, FILEOPS_IO, errno, "could not create file \"%s\": %s",
						 FILEOPS_SHOW(c->dpath, sb), strerror(errno));
	}
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		fileops_fail(c->res, FILEOPS_IO, errno, "could not lock \"%s\": %s",
					 FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd < 0 && made)
		fileops_discard(pfd, part);
	unlock_parent(pfd);
	return fd;
}

/*
 * rename_noreplace renames fromdir/from to todir/to, failing with EEXIST
 * if to exists (renameat2 RENAME_NOREPLACE; a checked renameat where the
 * file system lacks it, safe under our lock).
 */
static int
rename_noreplace(int fromdir, const char *from, int todir, const char *to)
{
	struct stat st;

	if (renameat2(fromdir, from, todir, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(todir, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
	{
		errno = EEXIST;
		return -1;
	}
	return renameat(fromdir, from, todir, to);
}

/*
 * put_in_place renames fromdir/from (the new contents: a ".part", or the
 * source of a move) to pfd/name (the destination, in the locked folder; rel
 * names it).  dkind is what the destination holds (FILEOPS_KIND_MISSING,
 * FILEOPS_KIND_FILE or FILEOPS_KIND_FOLDER), nkind what the new contents are.
 * A file replaces a file by rename; otherwise, when exchange is allowed (the
 * new contents are a ".part"), the two are exchanged and the old contents,
 * now the ".part", removed; else the old is renamed to "<name>.old.part", the
 * new renamed in and the old removed.  On failure the destination is as it
 * was, and errno is kept (EXDEV matters to a move).
 */
static bool
put_in_place(fileops_ctx *c, int fromdir, const char *from, fileops_kind nkind,
			 int pfd, const char *name, fileops_kind dkind, bool exchange,
			 const char *rel)
{
	char		sb[FILEOPS_SHOWN_BUF];
	char		old[NAME_MAX + 1];
	int			err;

	if (dkind == FILEOPS_KIND_MISSING)
	{
		if (rename_noreplace(fromdir, from, pfd, name) == 0)
			return true;
		err = errno;
		return fileops_fail(c->res, err == EEXIST ? FILEOPS_EXISTS : FILEOPS_IO, err,
							"could not rename into \"%s\": %s", FILEOPS_SHOW(rel, sb), strerror(err));
	}
	if (dkind == FILEOPS_KIND_FILE && nkind == FILEOPS_KIND_FILE)
	{
		if (renameat(fromdir, from, pfd, name) == 0)
			return true;
		err = errno;
		return fileops_fail(c->res, FILEOPS_IO, err, "could not rename into \"%s\": %s",
							FILEOPS_SHOW(rel, sb), strerror(err));
	}
	if (exchange)
	{
		if (renameat2(fromdir, from, pfd, name, RENAME_EXCHANGE) == 0)
		{
			/* "from" now holds the old contents */
			fileops_discard(fromdir, from);
			return true;
		}
		if (errno != EINVAL && errno != ENOSYS)
		{
			err = errno;
			return fileops_fail(c->res, FILEOPS_IO, err, "could not replace \"%s\": %s",
								FILEOPS_SHOW(rel, sb), strerror(err));
		}
	}
	temp_name(old, name, OLD_SUFFIX);
	if (rename_noreplace(pfd, name, pfd, old) != 0)
	{
		err = errno;
		return fileops_fail(c->res, FILEOPS_IO, err, "could not move \"%s\" aside: %s",
							FILEOPS_SHOW(rel, sb), strerror(err));
	}
	if (rename_noreplace(fromdir, from, pfd, name) != 0)
	{
		err = errno;
		(void) rename_noreplace(pfd, old, pfd, name);
		errno = err;
		return fileops_fail(c->res, FILEOPS_IO, err, "could not rename into \"%s\": %s",
							FILEOPS_SHOW(rel, sb), strerror(err));
	}
	fileops_discard(pfd, old);
	return true;
}

/*
 * init_ctx prepares an operation's state; with_buffer allocates the copy
 * buffer.
 */
static bool
init_ctx(fileops_ctx *c, fileops_result *res, const fileops_limits *limits, bool with_buffer)
{
	memset(c, 0, sizeof(*c));
	c->res = res;
	if (limits != NULL)
	{
		if (limits->max_bytes < 0 || limits->max_entries < 0)
			return fileops_fail(res, FILEOPS_BAD_ARGUMENT, 0, "limits must not be negative");
		c->max_bytes = limits->max_bytes;
		c->max_entries = limits->max_entries;
	}
	if (with_buffer)
	{
		c->buf = malloc(FILEOPS_COPY_BUFFER);
		if (c->buf == NULL)
			return fileops_fail(res, FILEOPS_NO_MEMORY, ENOMEM, "out of memory");
	}
	return true;
}

/*
 * start_result empties a result before an operation.
 */
static bool
start_result(fileops_result *res)
{
	if (res == NULL)
		return false;
	memset(res, 0, sizeof(*res));
	return true;
}

/*
 * inside says whether path b is a or inside it (both normalised).
 */
static bool
inside(const char *a, const char *b)
{
	size_t		n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

/*
 * check_pair refuses a source and destination that are the same, a
 * destination inside its source, and a source inside the destination's
 * temporary names (which are cleared as leftovers).
 */
static bool
check_pair(const char *src, const char *dest, fileops_result *res)
{
	char		sb[FILEOPS_SHOWN_BUF];
	char		db[FILEOPS_SHOWN_BUF];
	char		tmp[PATH_MAX + 16];

	if (strcmp(src, dest) == 0)
		return fileops_fail(res, FILEOPS_REFUSED, 0,
							"source and destination are the same path \"%s\"", FILEOPS_SHOW(src, sb));
	if (inside(src, dest))
		return fileops_fail(res, FILEOPS_REFUSED, 0, "destination \"%s\" is inside source \"%s\"",
							FILEOPS_SHOW(dest, db), FILEOPS_SHOW(src, sb));
	snprintf(tmp, sizeof(tmp), "%s%s", dest, PART_SUFFIX);
	if (inside(tmp, src))
		return fileops_fail(res, FILEOPS_REFUSED, 0,
							"source \"%s\" is inside \"%s\", the temporary name of the destination",
							FILEOPS_SHOW(src, sb), FILEOPS_SHOW(tmp, db));
	snprintf(tmp, sizeof(tmp), "%s%s", dest, OLD_SUFFIX);
	if (inside(tmp, src))
		return fileops_fail(res, FILEOPS_REFUSED, 0,
							"source \"%s\" is inside \"%s\", the temporary name of the destination",
							FILEOPS_SHOW(src, sb), FILEOPS_SHOW(tmp, db));
	return true;
}

/*
 * open_source opens the folder holding the source src and classifies it:
 * a file or a folder, or a failure (missing: FILEOPS_NOT_FOUND).
 */
static int
open_source(int basefd, const char *src, const char **sname, fileops_kind *kind,
			struct stat *st, fileops_result *res)
{
	char		sb[FILEOPS_SHOWN_BUF];
	int			fd = fileops_open_parent(basefd, src, false, NULL, sname, res);

	if (fd < 0)
	{
		if (res->status == FILEOPS_NOT_FOUND)
			fileops_fail(res, FILEOPS_NOT_FOUND, ENOENT, "source \"%s\" does not exist",
						 FILEOPS_SHOW(src, sb));
		return -1;
	}
	if (fileops_stat_entry(fd, *sname, st, kind) != 0)
		fileops_fail(res, FILEOPS_IO, errno, "could not stat \"%s\": %s", FILEOPS_SHOW(src, sb),
					 strerror(errno));
	else if (*kind == FILEOPS_KIND_MISSING)
		fileops_fail(res, FILEOPS_NOT_FOUND, ENOENT, "source \"%s\" does not exist",
					 FILEOPS_SHOW(src, sb));
	else if (*kind == FILEOPS_KIND_LINK)
		fileops_fail(res, FILEOPS_SYMLINK, 0, "source \"%s\" is a symbolic link", FILEOPS_SHOW(src, sb));
	else if (*kind == FILEOPS_KIND_OTHER)
		fileops_fail(res, FILEOPS_WRONG_TYPE, 0,
					 "source \"%s\" is not a regular file or folder (a device, FIFO or socket)",
					 FILEOPS_SHOW(src, sb));
	else
		return fd;
	close(fd);
	return -1;
}

/*
 * scan_source runs the first walk over the source (c->spath set to it):
 * a file counts as one entry, a folder is walked.
 */
static bool
scan_source(fileops_ctx *c, int sfd, const char *sname, fileops_kind kind, const struct stat *st)
{
	int			sub;
	bool		ok;

	if (kind == FILEOPS_KIND_FILE)
	{
		c->scan_files = 1;
		return fileops_count_entry(c, 1, (int64_t) st->st_size);
	}
	sub = fileops_open_subfolder(c, sfd, sname, c->spath);
	if (sub < 0)
		return false;
	ok = fileops_scan_tree(c, sub, 1);
	close(sub);
	return ok;
}

/*
 * look_at_dest classifies the destination dname in pfd (dest names it):
 * missing, a file or a folder; a link or a special file is refused.
 */
static bool
look_at_dest(fileops_ctx *c, int pfd, const char *dname, const char *dest, fileops_kind *dkind)
{
	char		sb[FILEOPS_SHOWN_BUF];
	struct stat st;

	if (fileops_stat_entry(pfd, dname, &st, dkind) != 0)
		return fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
							FILEOPS_SHOW(dest, sb), strerror(errno));
	if (*dkind == FILEOPS_KIND_LINK)
		return fileops_fail(c->res, FILEOPS_SYMLINK, 0, "destination \"%s\" is a symbolic link",
							FILEOPS_SHOW(dest, sb));
	if (*dkind == FILEOPS_KIND_OTHER)
		return fileops_fail(c->res, FILEOPS_WRONG_TYPE, 0,
							"destination \"%s\" is not a regular file or folder (a device, FIFO or socket)",
							FILEOPS_SHOW(dest, sb));
	return true;
}

/*
 * open_destination checks the destination's name, opens its folder
 * (creating what is missing) and classifies it (look_at_dest).
 */
static int
open_destination(fileops_ctx *c, int basefd, const char *dest, const char **dname, fileops_kind *dkind)
{
	int			fd;

	if (!check_last_name(dest, c->res))
		return -1;
	fd = fileops_open_parent(basefd, dest, true, NULL, dname, c->res);
	if (fd < 0)
		return -1;
	if (!look_at_dest(c, fd, *dname, dest, dkind))
	{
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * publish puts the written ".part" (its name part; the caller still holds
 * it locked) in place of dest, under the folder's lock: the destination
 * is looked at again, since it may have changed while the data were
 * written (one that appeared is refused unless overwrite was asked), then
 * put_in_place, then the folder is fsynced.  On failure the ".part" is
 * removed.
 */
static bool
publish(fileops_ctx *c, int pfd, const char *part, fileops_kind nkind, const char *dest,
		const char *dname, fileops_overwrite overwrite)
{
	char		sb[FILEOPS_SHOWN_BUF];
	fileops_kind dkind;
	bool		ok;

	if (!lock_parent(pfd, dest, c->res))
	{
		fileops_discard(pfd, part);
		return false;
	}
	ok = look_at_dest(c, pfd, dname, dest, &dkind);
	if (ok && dkind != FILEOPS_KIND_MISSING && overwrite != FILEOPS_REPLACE)
		ok = fileops_fail(c->res, FILEOPS_EXISTS, EEXIST,
						  "destination \"%s\" appeared while it was written",
						  FILEOPS_SHOW(dest, sb));
	if (ok)
		ok = clear_temp(c, pfd, dest, dname, OLD_SUFFIX, true);
	if (ok)
		ok = put_in_place(c, pfd, part, nkind, pfd, dname, dkind, true, dest);
	if (ok && fsync(pfd) != 0)
		ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not fsync the folder of \"%s\": %s",
						  FILEOPS_SHOW(dest, sb), strerror(errno));
	if (!ok)
		fileops_discard(pfd, part);
	unlock_parent(pfd);
	return ok;
}

/*
 * compare_existing decides what to do with an existing destination:
 * true with *done set when it holds the source already, true when it may
 * be replaced, false (FILEOPS_EXISTS) when it differs and may not.
 */
static bool
compare_existing(fileops_ctx *c, int sfd, const char *sname, fileops_kind skind,
				 int dfd, const char *dname, fileops_kind dkind, const char *dest,
				 fileops_overwrite overwrite, bool *done)
{
	char		sb[FILEOPS_SHOWN_BUF];
	int			same;

	*done = false;
	if (dkind == FILEOPS_KIND_MISSING)
		return true;
	same = fileops_same_entry(c, sfd, sname, skind, dfd, dname, dkind);
	if (same < 0)
		return false;
	if (same == 1)
	{
		*done = true;
		return true;
	}
	if (overwrite != FILEOPS_REPLACE)
		return fileops_fail(c->res, FILEOPS_EXISTS, EEXIST,
							"destination \"%s\" exists and differs from the source (ask to overwrite it)",
							FILEOPS_SHOW(dest, sb));
	return true;
}

/*
 * copy_into_part writes the source (a file or a folder) into its ".part",
 * open on partfd, counting against the limits again.
 */
static bool
copy_into_part(fileops_ctx *c, int sfd, const char *sname, fileops_kind skind, int partfd,
			   const char *dest)
{
	int			s;
	bool		ok;

	snprintf(c->dpath, sizeof(c->dpath), "%s%s", dest, PART_SUFFIX);
	c->dlen = strlen(c->dpath);
	c->entries = c->bytes = 0;
	c->files = c->folders = 0;
	if (skind == FILEOPS_KIND_FILE)
		return fileops_copy_data(c, sfd, sname, partfd);
	s = fileops_open_subfolder(c, sfd, sname, c->spath);
	if (s < 0)
		return false;
	c->folders++;
	ok = fileops_copy_tree(c, s, partfd, 1);
	close(s);
	return ok;
}

/*
 * finish_result copies an operation's counters into its result.
 */
static bool
finish_result(fileops_ctx *c, bool ok)
{
	if (ok)
	{
		c->res->status = FILEOPS_OK;
		c->res->sys_errno = 0;
		c->res->message[0] = '\0';
		c->res->files = c->files;
		c->res->folders = c->folders;
		c->res->bytes = c->bytes;
	}
	free(c->buf);
	c->buf = NULL;
	return ok;
}

/*
 * fileops_open_base opens the base folder, refusing a link as its last
 * component.
 */
int
fileops_open_base(const char *path, fileops_result *res)
{
	int			fd;

	if (!start_result(res))
		return -1;
	if (path == NULL || path[0] != '/')
	{
		fileops_fail(res, FILEOPS_BAD_PATH, 0, "the base folder's path must be absolute");
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
	{
		int			err = errno;

		if (err == ENOENT)
			fileops_fail(res, FILEOPS_NOT_FOUND, err, "the base folder does not exist");
		else if (err == ELOOP || err == ENOTDIR)
			fileops_fail(res, FILEOPS_NOT_FOLDER, err,
						 "the base folder is not a folder (symbolic links are refused)");
		else
			fileops_fail(res, FILEOPS_IO, err, "could not open the base folder: %s", strerror(err));
	}
	return fd;
}

/*
 * fileops_mkdir walks rel from the base, creating what is missing.
 */
bool
fileops_mkdir(int basefd, const char *rel, fileops_result *res)
{
	char		norm[PATH_MAX];
	const char *p = norm;
	int64_t		created = 0;
	int			fd;
	path_check	pc;

	if (!start_result(res))
		return false;
	pc = path_normalize_relative(rel, norm, sizeof(norm));
	if (pc == PATH_EMPTY)
	{
		res->already_there = true;	/* the base itself */
		return true;
	}
	if (normalize("folder path", rel, norm, res) != PATH_OK)
		return false;
	fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fileops_fail(res, FILEOPS_IO, errno, "could not open the base folder: %s",
							strerror(errno));
	while (*p)
	{
		const char *slash = strchr(p, '/');
		size_t		n = slash ? (size_t) (slash - p) : strlen(p);
		char		name[NAME_MAX + 1];
		int			next;

		if (n > NAME_MAX)
		{
			char		sb[FILEOPS_SHOWN_BUF];

			close(fd);
			return fileops_fail(res, FILEOPS_BAD_PATH, ENAMETOOLONG, "a name in \"%s\" is too long",
								FILEOPS_SHOW(norm, sb));
		}
		memcpy(name, p, n);
		name[n] = '\0';
		next = fileops_open_component(fd, name, true, &created, norm, (size_t) (p - norm) + n, res);
		close(fd);
		if (next < 0)
		{
			res->folders = created;
			return false;
		}
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	close(fd);
	res->folders = created;
	res->already_there = created == 0;
	return true;
}

/*
 * fileops_copy scans the source within the limits, compares it with an
 * existing destination, then writes "<dest>.part" and puts it in place.
 */
bool
fileops_copy(int basefd, const char *src, const char *dest,
			 fileops_overwrite overwrite, const fileops_limits *limits,
			 fileops_result *res)
{
	char		snorm[PATH_MAX];
	char		dnorm[PATH_MAX];
	char		part[NAME_MAX + 1];
	const char *sname;
	const char *dname;
	fileops_kind skind;
	fileops_kind dkind;
	struct stat st;
	fileops_ctx c;
	int			sfd = -1;
	int			dfd = -1;
	int			partfd = -1;
	bool		done = false;
	bool		ok = false;

	if (!start_result(res))
		return false;
	if (normalize("source path", src, snorm, res) != PATH_OK ||
		normalize("destination path", dest, dnorm, res) != PATH_OK ||
		!check_pair(snorm, dnorm, res) ||
		!init_ctx(&c, res, limits, true))
		return false;
	c.root = snorm;

	sfd = open_source(basefd, snorm, &sname, &skind, &st, res);
	if (sfd < 0)
		goto done;
	snprintf(c.spath, sizeof(c.spath), "%s", snorm);
	c.slen = strlen(c.spath);
	if (!scan_source(&c, sfd, sname, skind, &st))
		goto done;

	dfd = open_destination(&c, basefd, dnorm, &dname, &dkind);
	if (dfd < 0)
		goto done;
	snprintf(c.dpath, sizeof(c.dpath), "%s", dnorm);
	c.dlen = strlen(c.dpath);
	if (!compare_existing(&c, sfd, sname, skind, dfd, dname, dkind, dnorm, overwrite, &done))
		goto done;
	if (done)
	{
		res->already_there = true;
		c.files = c.folders = c.bytes = 0;
		ok = true;
		goto done;
	}

	partfd = claim_part(&c, dfd, dnorm, dname, skind == FILEOPS_KIND_FOLDER, part);
	if (partfd < 0)
		goto done;
	if (!copy_into_part(&c, sfd, sname, skind, partfd, dnorm))
	{
		fileops_discard(dfd, part);
		goto done;
	}
	ok = publish(&c, dfd, part, skind, dnorm, dname, overwrite);

done:
	if (partfd >= 0)
		close(partfd);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return finish_result(&c, ok);
}

/*
 * fileops_move renames the source into place, or copies it and deletes
 * it across file systems.
 */
bool
fileops_move(int basefd, const char *src, const char *dest,
			 fileops_overwrite overwrite, const fileops_limits *limits,
			 fileops_result *res)
{
	char		snorm[PATH_MAX];
	char		dnorm[PATH_MAX];
	char		sb[FILEOPS_SHOWN_BUF];
	char		db[FILEOPS_SHOWN_BUF];
	char		part[NAME_MAX + 1];
	const char *sname;
	const char *dname;
	fileops_kind skind;
	fileops_kind dkind;
	struct stat st;
	fileops_ctx c;
	fileops_ctx r;
	int			sfd = -1;
	int			dfd = -1;
	int			partfd = -1;
	bool		done = false;
	bool		ok = false;
	bool		moved;

	if (!start_result(res))
		return false;
	if (normalize("source path", src, snorm, res) != PATH_OK ||
		normalize("destination path", dest, dnorm, res) != PATH_OK ||
		!check_pair(snorm, dnorm, res) ||
		!init_ctx(&c, res, limits, true))
		return false;
	c.root = snorm;
	c.max_bytes = c.max_entries = 0;	/* the limits are for a copy across file systems */

	sfd = open_source(basefd, snorm, &sname, &skind, &st, res);
	if (sfd < 0)
	{
		fileops_result scratch;
		int			pfd;

		/* A rerun after the move: the source is gone, the destination there. */
		if (res->status != FILEOPS_NOT_FOUND)
			goto done;
		pfd = fileops_open_parent(basefd, dnorm, false, NULL, &dname, &scratch);
		if (pfd >= 0)
		{
			if (fileops_stat_entry(pfd, dname, &st, &dkind) == 0 &&
				(dkind == FILEOPS_KIND_FILE || dkind == FILEOPS_KIND_FOLDER))
			{
				memset(res, 0, sizeof(*res));
				res->already_there = true;
				ok = true;
			}
			close(pfd);
		}
		goto done;
	}
	snprintf(c.spath, sizeof(c.spath), "%s", snorm);
	c.slen = strlen(c.spath);
	if (!scan_source(&c, sfd, sname, skind, &st))
		goto done;

	dfd = open_destination(&c, basefd, dnorm, &dname, &dkind);
	if (dfd < 0)
		goto done;
	snprintf(c.dpath, sizeof(c.dpath), "%s", dnorm);
	c.dlen = strlen(c.dpath);
	if (!compare_existing(&c, sfd, sname, skind, dfd, dname, dkind, dnorm, overwrite, &done))
		goto done;
	memset(&r, 0, sizeof(r));
	r.res = res;
	snprintf(r.dpath, sizeof(r.dpath), "%s", snorm);
	r.dlen = strlen(r.dpath);
	if (done)
	{
		/* the destination holds it already: finish the move */
		if (!fileops_remove_entry(&r, sfd, sname, 0))
			goto done;
		(void) fsync(sfd);
		res->already_there = true;
		c.files = c.folders = c.bytes = 0;
		ok = true;
		goto done;
	}

	/* Within the file system: rename, under the folder's lock. */
	if (!lock_parent(dfd, dnorm, res))
		goto done;
	moved = look_at_dest(&c, dfd, dname, dnorm, &dkind);
	if (moved && dkind != FILEOPS_KIND_MISSING && overwrite != FILEOPS_REPLACE)
		moved = fileops_fail(res, FILEOPS_EXISTS, EEXIST,
							 "destination \"%s\" appeared while it was moved",
							 FILEOPS_SHOW(dnorm, db));
	moved = moved &&
		clear_temp(&c, dfd, dnorm, dname, PART_SUFFIX, false) &&
		clear_temp(&c, dfd, dnorm, dname, OLD_SUFFIX, true) &&
		put_in_place(&c, sfd, sname, skind, dfd, dname, dkind, false, dnorm);
	if (moved && (fsync(dfd) != 0 || fsync(sfd) != 0))
		moved = fileops_fail(res, FILEOPS_IO, errno,
							 "could not fsync the folders of \"%s\" and \"%s\": %s",
							 FILEOPS_SHOW(snorm, sb), FILEOPS_SHOW(dnorm, db), strerror(errno));
	unlock_parent(dfd);
	if (moved)
	{
		/* what was moved, as the first walk counted it (bytes too) */
		c.files = c.scan_files;
		c.folders = skind == FILEOPS_KIND_FOLDER ? c.scan_folders + 1 : 0;
		ok = true;
		goto done;
	}
	if (res->sys_errno != EXDEV)
		goto done;

	/* Across file systems: copy within the limits, then delete the source. */
	memset(res, 0, sizeof(*res));
	if (limits != NULL)
	{
		c.max_bytes = limits->max_bytes;
		c.max_entries = limits->max_entries;
	}
	c.entries = c.bytes = c.scan_files = c.scan_folders = 0;
	if (!scan_source(&c, sfd, sname, skind, &st))
		goto done;
	partfd = claim_part(&c, dfd, dnorm, dname, skind == FILEOPS_KIND_FOLDER, part);
	if (partfd < 0)
		goto done;
	if (!copy_into_part(&c, sfd, sname, skind, partfd, dnorm))
	{
		fileops_discard(dfd, part);
		goto done;
	}
	if (!publish(&c, dfd, part, skind, dnorm, dname, overwrite) ||
		!fileops_remove_entry(&r, sfd, sname, 0))
		goto done;
	(void) fsync(sfd);
	ok = true;

done:
	if (partfd >= 0)
		close(partfd);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return finish_result(&c, ok);
}

/*
 * fileops_delete removes rel, recursively when asked.
 */
bool
fileops_delete(int basefd, const char *rel, bool recursive, fileops_result *res)
{
	char		norm[PATH_MAX];
	char		sb[FILEOPS_SHOWN_BUF];
	const char *name;
	struct stat st;
	fileops_kind kind;
	fileops_ctx c;
	int			pfd;
	bool		ok = false;
	path_check	pc;

	if (!start_result(res))
		return false;
	pc = path_normalize_relative(rel, norm, sizeof(norm));
	if (pc == PATH_EMPTY)
		return fileops_fail(res, FILEOPS_REFUSED, 0, "refusing to delete the base folder");
	if (normalize("path", rel, norm, res) != PATH_OK)
		return false;
	if (!init_ctx(&c, res, NULL, false))
		return false;

	pfd = fileops_open_parent(basefd, norm, false, NULL, &name, res);
	if (pfd < 0)
	{
		if (res->status == FILEOPS_NOT_FOUND)
		{
			memset(res, 0, sizeof(*res));
			res->already_there = true;
			return true;
		}
		return false;
	}
	if (fileops_stat_entry(pfd, name, &st, &kind) != 0)
		fileops_fail(res, FILEOPS_IO, errno, "could not stat \"%s\": %s", FILEOPS_SHOW(norm, sb),
					 strerror(errno));
	else if (kind == FILEOPS_KIND_MISSING)
	{
		res->already_there = true;
		ok = true;
	}
	else if (kind == FILEOPS_KIND_FOLDER && !recursive)
	{
		if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
		{
			c.folders = 1;
			ok = true;
		}
		else if (errno == ENOENT)
		{
			res->already_there = true;
			ok = true;
		}
		else if (errno == ENOTEMPTY || errno == EEXIST)
			fileops_fail(res, FILEOPS_NOT_EMPTY, errno,
						 "folder \"%s\" is not empty (delete it recursively)",
						 FILEOPS_SHOW(norm, sb));
		else
			fileops_fail(res, FILEOPS_IO, errno, "could not delete folder \"%s\": %s",
						 FILEOPS_SHOW(norm, sb), strerror(errno));
	}
	else
	{
		snprintf(c.dpath, sizeof(c.dpath), "%s", norm);
		c.dlen = strlen(c.dpath);
		ok = fileops_remove_entry(&c, pfd, name, 0);
	}
	if (ok && !res->already_there && fsync(pfd) != 0)
		ok = fileops_fail(res, FILEOPS_IO, errno, "could not fsync the folder of \"%s\": %s",
						  FILEOPS_SHOW(norm, sb), strerror(errno));
	close(pfd);
	return finish_result(&c, ok);
}

/*
 * fileops_write writes data through "<rel>.part", unless rel holds the
 * same bytes already.
 */
bool
fileops_write(int basefd, const char *rel, const void *data, size_t len,
			  fileops_overwrite overwrite, fileops_result *res)
{
	char		norm[PATH_MAX];
	char		part[NAME_MAX + 1];
	char		sb[FILEOPS_SHOWN_BUF];
	const char *name;
	fileops_kind kind;
	fileops_ctx c;
	int			pfd = -1;
	int			fd = -1;
	bool		ok = false;

	if (!start_result(res))
		return false;
	if (data == NULL && len > 0)
		return fileops_fail(res, FILEOPS_BAD_ARGUMENT, 0, "no data to write");
	if (normalize("destination path", rel, norm, res) != PATH_OK ||
		!init_ctx(&c, res, NULL, true))
		return false;

	pfd = open_destination(&c, basefd, norm, &name, &kind);
	if (pfd < 0)
		goto done;
	if (kind == FILEOPS_KIND_FILE)
	{
		int			same = fileops_same_bytes(&c, pfd, name, data, len);

		if (same < 0)
		{
			fileops_fail(res, FILEOPS_IO, errno, "could not read file \"%s\": %s",
						 FILEOPS_SHOW(norm, sb), strerror(errno));
			goto done;
		}
		if (same == 1)
		{
			res->already_there = true;
			ok = true;
			goto done;
		}
	}
	if (kind != FILEOPS_KIND_MISSING && overwrite != FILEOPS_REPLACE)
	{
		fileops_fail(res, FILEOPS_EXISTS, EEXIST,
					 "destination \"%s\" exists and differs from the data (ask to overwrite it)",
					 FILEOPS_SHOW(norm, sb));
		goto done;
	}

	fd = claim_part(&c, pfd, norm, name, false, part);
	if (fd < 0)
		goto done;
	if (!fileops_write_full(fd, data, len))
		fileops_fail(res, FILEOPS_IO, errno, "could not write file \"%s\": %s",
					 FILEOPS_SHOW(c.dpath, sb), strerror(errno));
	else if (fsync(fd) != 0)
		fileops_fail(res, FILEOPS_IO, errno, "could not fsync file \"%s\": %s",
					 FILEOPS_SHOW(c.dpath, sb), strerror(errno));
	else
		ok = true;
	if (!ok)
		fileops_discard(pfd, part);
	else if (publish(&c, pfd, part, FILEOPS_KIND_FILE, norm, name, overwrite))
	{
		c.files = 1;
		c.bytes = (int64_t) len;
	}
	else
		ok = false;

done:
	if (fd >= 0 && close(fd) != 0 && ok)
		ok = fileops_fail(res, FILEOPS_IO, errno, "could not write file \"%s\": %s",
						  FILEOPS_SHOW(norm, sb), strerror(errno));
	if (pfd >= 0)
		close(pfd);
	return finish_result(&c, ok);
}

/*
 * fileops_status_name gives each status a stable name for results.
 */
const char *
fileops_status_name(fileops_status status)
{
	switch (status)
	{
		case FILEOPS_OK:
			return "ok";
		case FILEOPS_BAD_PATH:
			return "bad_path";
		case FILEOPS_BAD_ARGUMENT:
			return "bad_argument";
		case FILEOPS_NOT_FOUND:
			return "not_found";
		case FILEOPS_SYMLINK:
			return "symlink";
		case FILEOPS_NOT_FOLDER:
			return "not_folder";
		case FILEOPS_WRONG_TYPE:
			return "wrong_type";
		case FILEOPS_EXISTS:
			return "exists";
		case FILEOPS_NOT_EMPTY:
			return "not_empty";
		case FILEOPS_REFUSED:
			return "refused";
		case FILEOPS_TOO_LARGE:
			return "too_large";
		case FILEOPS_TOO_DEEP:
			return "too_deep";
		case FILEOPS_BUSY:
			return "busy";
		case FILEOPS_CHANGED:
			return "changed";
		case FILEOPS_IO:
			return "io";
		case FILEOPS_NO_MEMORY:
			return "no_memory";
	}
	return "unknown";
}
