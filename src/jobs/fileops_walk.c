/*
 * fileops_walk.c
 *	  Kernel: the walks over trees behind the file operations (fileops.c):
 *	  scanning a source before anything is written, comparing a source with
 *	  an existing destination, copying, and removing.  See fileops_walk.h.
 *
 *	  Every folder is opened from its parent's descriptor with O_NOFOLLOW |
 *	  O_DIRECTORY and every file with O_NOFOLLOW (and O_NONBLOCK, so that a
 *	  FIFO swapped in cannot block a read), then checked with fstat: a walk
 *	  never leaves the tree it started in.  Trees are walked recursively
 *	  with one descriptor open per level and side, FILEOPS_MAX_DEPTH
 *	  bounding both the stack and the descriptors.  Names are read in full
 *	  and sorted before a folder's entries are visited, so removing while
 *	  listing is never an issue and comparisons walk two folders in step.
 *
 *	  Files are copied with read and write through a 1 MiB buffer, each
 *	  fsynced before it is closed, and each folder written is fsynced after
 *	  its entries.  Comparisons are byte for byte, not by hash: both sides
 *	  are local, and a comparison stops at the first difference (a size
 *	  difference stops it before any read).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/fileops_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* The names in a folder, sorted bytewise. */
typedef struct name_list
{
	char	  **names;
	size_t		count;
	size_t		cap;
} name_list;

/*
 * fileops_fail records a failure in res (status, errno, formatted message) and
 * returns false, so that callers can "return fileops_fail(...)".
 */
bool
fileops_fail(fileops_result *res, fileops_status status, int sys_errno, const char *fmt,...)
{
	va_list		ap;

	res->status = status;
	res->sys_errno = sys_errno;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return false;
}

/*
 * fileops_shown copies a path (at most n bytes of it) for a message: control
 * characters become '?', and a path longer than FILEOPS_SHOWN_MAX keeps its
 * head and its tail around "...".
 */
const char *
fileops_shown(const char *path, size_t n, char *buf)
{
	size_t		len = strnlen(path, n);
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) path[i];

		if (len > FILEOPS_SHOWN_MAX && i == FILEOPS_SHOWN_MAX / 2 - 3)
		{
			memcpy(buf + o, "...", 3);
			o += 3;
			i = len - FILEOPS_SHOWN_MAX / 2;
			ch = (unsigned char) path[i];
		}
		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char) ch;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * bad_name says whether a name read from a folder has a byte that
 * path_normalize_relative refuses (a control character or a backslash).
 */
static bool
bad_name(const char *name)
{
	for (const unsigned char *p = (const unsigned char *) name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			return true;
	return false;
}

/*
 * kind_of classifies a stat buffer.
 */
static fileops_kind
kind_of(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return FILEOPS_KIND_FILE;
	if (S_ISDIR(st->st_mode))
		return FILEOPS_KIND_FOLDER;
	if (S_ISLNK(st->st_mode))
		return FILEOPS_KIND_LINK;
	return FILEOPS_KIND_OTHER;
}

/*
 * fileops_stat_entry classifies the entry name of the folder dirfd without
 * following a link; FILEOPS_KIND_MISSING when it does not exist.  -1 with
 * errno on another failure.
 */
int
fileops_stat_entry(int dirfd, const char *name, struct stat *st, fileops_kind *kind)
{
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
	{
		if (errno == ENOENT)
		{
			*kind = FILEOPS_KIND_MISSING;
			return 0;
		}
		return -1;
	}
	*kind = kind_of(st);
	return 0;
}

/*
 * path_push appends "/name" to a message path and returns its former
 * length, for path_pop; a path too long for the buffer is cut short (it
 * only serves messages).
 */
static size_t
path_push(char *path, size_t size, size_t *len, const char *name)
{
	size_t		saved = *len;

	snprintf(path + *len, size - *len, "%s%s", *len > 0 ? "/" : "", name);
	*len += strlen(path + *len);
	return saved;
}

/*
 * path_pop restores a message path to the length path_push returned.
 */
static void
path_pop(char *path, size_t *len, size_t saved)
{
	*len = saved;
	path[saved] = '\0';
}

/*
 * names_free frees a name list.
 */
static void
names_free(name_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->count = l->cap = 0;
}

/*
 * compare_names orders names bytewise, for qsort.
 */
static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * list_folder reads the names in the folder dirfd (but "." and ".."),
 * sorted.  Returns 0, or an errno (ENOMEM when out of memory) with the
 * list empty.  It reads through a descriptor of its own, so dirfd's
 * offset is untouched.
 */
static int
list_folder(int dirfd, name_list *out)
{
	int			fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR		   *d;
	struct dirent *de;
	int			err = 0;

	out->names = NULL;
	out->count = out->cap = 0;
	if (fd < 0)
		return errno;
	d = fdopendir(fd);
	if (d == NULL)
	{
		err = errno;
		close(fd);
		return err;
	}
	for (;;)
	{
		char	   *copy;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
		{
			err = errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (out->count == out->cap)
		{
			size_t		cap = out->cap ? out->cap * 2 : 16;
			char	  **grown = realloc(out->names, cap * sizeof(*grown));

			if (grown == NULL)
			{
				err = ENOMEM;
				break;
			}
			out->names = grown;
			out->cap = cap;
		}
		copy = strdup(de->d_name);
		if (copy == NULL)
		{
			err = ENOMEM;
			break;
		}
		out->names[out->count++] = copy;
	}
	closedir(d);
	if (err != 0)
	{
		names_free(out);
		return err;
	}
	if (out->count > 1)
		qsort(out->names, out->count, sizeof(char *), compare_names);
	return 0;
}

/*
 * fileops_count_entry adds entries and bytes to the walk's totals and refuses
 * past the limits.
 */
bool
fileops_count_entry(fileops_ctx *c, int64_t entries, int64_t size)
{
	char		sb[FILEOPS_SHOWN_BUF];

	c->entries += entries;
	if (size > INT64_MAX - c->bytes)
		c->bytes = INT64_MAX;
	else
		c->bytes += size;
	if (c->max_entries > 0 && c->entries > c->max_entries)
		return fileops_fail(c->res, FILEOPS_TOO_LARGE, 0, "source \"%s\" has more than %lld entries",
							FILEOPS_SHOW(c->root, sb), (long long) c->max_entries);
	if (c->max_bytes > 0 && c->bytes > c->max_bytes)
		return fileops_fail(c->res, FILEOPS_TOO_LARGE, 0, "source \"%s\" holds more than %lld bytes",
							FILEOPS_SHOW(c->root, sb), (long long) c->max_bytes);
	return true;
}

/*
 * refuse_kind fails for a source entry that is neither a file nor a
 * folder (c->spath names it).
 */
static bool
refuse_kind(fileops_ctx *c, fileops_kind kind)
{
	char		sb[FILEOPS_SHOWN_BUF];

	if (kind == FILEOPS_KIND_LINK)
		return fileops_fail(c->res, FILEOPS_SYMLINK, 0, "\"%s\" is a symbolic link",
							FILEOPS_SHOW(c->spath, sb));
	if (kind == FILEOPS_KIND_MISSING)
		return fileops_fail(c->res, FILEOPS_CHANGED, ENOENT, "\"%s\" disappeared while it was read",
							FILEOPS_SHOW(c->spath, sb));
	return fileops_fail(c->res, FILEOPS_WRONG_TYPE, 0,
						"\"%s\" is not a regular file or folder (a device, FIFO or socket)",
						FILEOPS_SHOW(c->spath, sb));
}

/*
 * fileops_open_subfolder opens the folder name in dirfd for a walk (no link
 * followed); path names it in messages.  -1 with c->res filled.
 */
int
fileops_open_subfolder(fileops_ctx *c, int dirfd, const char *name, const char *path)
{
	char		sb[FILEOPS_SHOWN_BUF];
	int			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
		fileops_fail(c->res, FILEOPS_CHANGED, errno, "\"%s\" changed while it was read",
					 FILEOPS_SHOW(path, sb));
	else
		fileops_fail(c->res, FILEOPS_IO, errno, "could not open folder \"%s\": %s",
					 FILEOPS_SHOW(path, sb), strerror(errno));
	return -1;
}

/*
 * fileops_scan_tree is the first walk of a source folder: it writes nothing,
 * refuses links, special files, names with control characters and trees
 * too deep, and counts entries and bytes against the limits.
 */
bool
fileops_scan_tree(fileops_ctx *c, int dirfd, int depth)
{
	name_list	names;
	char		sb[FILEOPS_SHOWN_BUF];
	bool		ok = true;
	int			err;

	if (depth > FILEOPS_MAX_DEPTH)
		return fileops_fail(c->res, FILEOPS_TOO_DEEP, 0, "\"%s\" is nested more than %d folders deep",
							FILEOPS_SHOW(c->spath, sb), FILEOPS_MAX_DEPTH);
	err = list_folder(dirfd, &names);
	if (err != 0)
		return fileops_fail(c->res, err == ENOMEM ? FILEOPS_NO_MEMORY : FILEOPS_IO, err,
							"could not read folder \"%s\": %s",
							FILEOPS_SHOW(c->spath, sb), strerror(err));
	for (size_t i = 0; ok && i < names.count; i++)
	{
		const char *name = names.names[i];
		size_t		saved = path_push(c->spath, sizeof(c->spath), &c->slen, name);
		struct stat st;
		fileops_kind kind;

		if (bad_name(name))
			ok = fileops_fail(c->res, FILEOPS_BAD_PATH, 0,
							  "\"%s\" has a control character or a backslash in its name",
							  FILEOPS_SHOW(c->spath, sb));
		else if (fileops_stat_entry(dirfd, name, &st, &kind) != 0)
			ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
							  FILEOPS_SHOW(c->spath, sb), strerror(errno));
		else if (kind == FILEOPS_KIND_FILE)
		{
			c->scan_files++;
			ok = fileops_count_entry(c, 1, (int64_t) st.st_size);
		}
		else if (kind == FILEOPS_KIND_FOLDER)
		{
			int			sub;

			c->scan_folders++;
			ok = fileops_count_entry(c, 1, 0);
			if (ok && (sub = fileops_open_subfolder(c, dirfd, name, c->spath)) >= 0)
			{
				ok = fileops_scan_tree(c, sub, depth + 1);
				close(sub);
			}
			else
				ok = false;
		}
		else
			ok = refuse_kind(c, kind);
		path_pop(c->spath, &c->slen, saved);
	}
	names_free(&names);
	return ok;
}

/*
 * read_full reads up to len bytes (fewer only at the end of the file).
 */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
	size_t		got = 0;

	while (got < len)
	{
		ssize_t		r = read(fd, buf + got, len - got);

		if (r < 0)
		{
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t) r;
	}
	return (ssize_t) got;
}

/*
 * fileops_write_full writes len bytes despite short writes.
 */
bool
fileops_write_full(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		w = write(fd, buf, len);

		if (w < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += w;
		len -= (size_t) w;
	}
	return true;
}

/*
 * open_file opens the regular file name in dirfd for reading without
 * following a link or blocking on a FIFO, and checks that it is a regular
 * file.  Returns the descriptor, or -1 with *kind saying what was found
 * instead (FILEOPS_KIND_FILE with errno for an I/O error).
 */
static int
open_file(int dirfd, const char *name, struct stat *st, fileops_kind *kind)
{
	int			fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*kind = FILEOPS_KIND_FILE;
	if (fd < 0)
	{
		int			err = errno;

		if (err == ENOENT)
			*kind = FILEOPS_KIND_MISSING;
		else if (err == ELOOP)
			*kind = FILEOPS_KIND_LINK;
		else if (err == EISDIR)
			*kind = FILEOPS_KIND_FOLDER;
		errno = err;
		return -1;
	}
	if (fstat(fd, st) != 0)
	{
		int			err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	if (!S_ISREG(st->st_mode))
	{
		*kind = kind_of(st);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* fileops_same_fds: see fileops_walk.h. */
int
fileops_same_fds(int a, int b, char *buf, size_t buflen)
{
	struct stat sa,
				sb;
	size_t		half = buflen / 2;
	char	   *ba = buf;
	char	   *bb = buf + half;

	if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0)
		return -1;
	if (sa.st_size != sb.st_size)
		return 0;
	for (;;)
	{
		ssize_t		ra = read_full(a, ba, half);
		ssize_t		rb;

		if (ra < 0)
			return -1;
		rb = read_full(b, bb, half);
		if (rb < 0)
			return -1;
		if (ra != rb || memcmp(ba, bb, (size_t) ra) != 0)
			return 0;
		if (ra == 0)
			return 1;
	}
}

/*
 * fileops_same_bytes compares the regular file name in dirfd with len bytes at
 * data: 1 same, 0 different (or not a regular file), -1 with errno on a
 * read error.
 */
int
fileops_same_bytes(fileops_ctx *c, int dirfd, const char *name, const char *data, size_t len)
{
	struct stat st;
	fileops_kind kind;
	size_t		off = 0;
	int			fd = open_file(dirfd, name, &st, &kind);
	int			same;

	if (fd < 0)
		return kind == FILEOPS_KIND_FILE ? -1 : 0;
	if ((uint64_t) st.st_size != (uint64_t) len)
	{
		close(fd);
		return 0;
	}
	for (;;)
	{
		ssize_t		r = read_full(fd, c->buf, FILEOPS_COPY_BUFFER);

		if (r < 0)
			same = -1;
		else if (r == 0)
			same = off == len ? 1 : 0;
		else if ((size_t) r > len - off || memcmp(c->buf, data + off, (size_t) r) != 0)
			same = 0;
		else
		{
			off += (size_t) r;
			continue;
		}
		break;
	}
	if (same < 0)
	{
		int			err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return same;
}

/*
 * same_file compares the source file sname in sdir with the destination
 * dname in ddir (c->spath and c->dpath name them): 1 same, 0 different
 * (the destination is not a regular file, or holds other bytes), -1 with
 * c->res filled.
 */
static int
same_file(fileops_ctx *c, int sdir, const char *sname, int ddir, const char *dname)
{
	char		sb[FILEOPS_SHOWN_BUF];
	struct stat st;
	fileops_kind kind;
	int			s = open_file(sdir, sname, &st, &kind);
	int			d;
	int			r;

	if (s < 0)
	{
		if (kind == FILEOPS_KIND_FILE)
			fileops_fail(c->res, FILEOPS_IO, errno, "could not open file \"%s\": %s",
						 FILEOPS_SHOW(c->spath, sb), strerror(errno));
		else
			refuse_kind(c, kind);
		return -1;
	}
	d = open_file(ddir, dname, &st, &kind);
	if (d < 0)
	{
		close(s);
		if (kind != FILEOPS_KIND_FILE)
			return 0;
		fileops_fail(c->res, FILEOPS_IO, errno, "could not open file \"%s\": %s",
					 FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		return -1;
	}
	r = fileops_same_fds(s, d, c->buf, FILEOPS_COPY_BUFFER);
	if (r < 0)
	{
		char		db[FILEOPS_SHOWN_BUF];

		fileops_fail(c->res, FILEOPS_IO, errno, "could not read \"%s\" or \"%s\": %s",
					 FILEOPS_SHOW(c->spath, sb), FILEOPS_SHOW(c->dpath, db), strerror(errno));
	}
	close(s);
	close(d);
	return r;
}

/*
 * same_tree compares the source folder sdir with the destination folder
 * ddir: the same names, each of the same kind (a link in the destination
 * is a difference, never followed), files of the same bytes.  1 same,
 * 0 different, -1 with c->res filled.
 */
static int
same_tree(fileops_ctx *c, int sdir, int ddir, int depth)
{
	name_list	sn,
				dn;
	char		sb[FILEOPS_SHOWN_BUF];
	int			err;
	int			r = 1;

	if (depth > FILEOPS_MAX_DEPTH)
	{
		fileops_fail(c->res, FILEOPS_TOO_DEEP, 0, "\"%s\" is nested more than %d folders deep",
					 FILEOPS_SHOW(c->spath, sb), FILEOPS_MAX_DEPTH);
		return -1;
	}
	err = list_folder(sdir, &sn);
	if (err != 0)
	{
		fileops_fail(c->res, err == ENOMEM ? FILEOPS_NO_MEMORY : FILEOPS_IO, err,
					 "could not read folder \"%s\": %s", FILEOPS_SHOW(c->spath, sb), strerror(err));
		return -1;
	}
	err = list_folder(ddir, &dn);
	if (err != 0)
	{
		names_free(&sn);
		fileops_fail(c->res, err == ENOMEM ? FILEOPS_NO_MEMORY : FILEOPS_IO, err,
					 "could not read folder \"%s\": %s", FILEOPS_SHOW(c->dpath, sb), strerror(err));
		return -1;
	}
	if (sn.count != dn.count)
		r = 0;
	for (size_t i = 0; r == 1 && i < sn.count; i++)
		if (strcmp(sn.names[i], dn.names[i]) != 0)
			r = 0;

	for (size_t i = 0; r == 1 && i < sn.count; i++)
	{
		const char *name = sn.names[i];
		size_t		ssaved = path_push(c->spath, sizeof(c->spath), &c->slen, name);
		size_t		dsaved = path_push(c->dpath, sizeof(c->dpath), &c->dlen, name);
		struct stat ss,
					ds;
		fileops_kind	sk,
					dk;

		if (fileops_stat_entry(sdir, name, &ss, &sk) != 0)
		{
			fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
						 FILEOPS_SHOW(c->spath, sb), strerror(errno));
			r = -1;
		}
		else if (sk != FILEOPS_KIND_FILE && sk != FILEOPS_KIND_FOLDER)
		{
			refuse_kind(c, sk);
			r = -1;
		}
		else if (fileops_stat_entry(ddir, name, &ds, &dk) != 0)
		{
			fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
						 FILEOPS_SHOW(c->dpath, sb), strerror(errno));
			r = -1;
		}
		else if (sk != dk)
			r = 0;
		else if (sk == FILEOPS_KIND_FILE)
			r = ss.st_size != ds.st_size ? 0 : same_file(c, sdir, name, ddir, name);
		else
		{
			int			s = fileops_open_subfolder(c, sdir, name, c->spath);
			int			d = s < 0 ? -1 : openat(ddir, name,
												O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (s < 0)
				r = -1;
			else if (d < 0)
				r = 0;			/* swapped for something else: not the same */
			else
				r = same_tree(c, s, d, depth + 1);
			if (s >= 0)
				close(s);
			if (d >= 0)
				close(d);
		}
		path_pop(c->spath, &c->slen, ssaved);
		path_pop(c->dpath, &c->dlen, dsaved);
	}
	names_free(&sn);
	names_free(&dn);
	return r;
}

/*
 * fileops_same_entry compares the source sname in sdir (a file or a folder, as
 * checked) with the existing destination dname in ddir, of kind dkind.
 */
int
fileops_same_entry(fileops_ctx *c, int sdir, const char *sname, fileops_kind skind,
				   int ddir, const char *dname, fileops_kind dkind)
{
	int			s,
				d,
				r;

	if (skind != dkind)
		return 0;
	if (skind == FILEOPS_KIND_FILE)
		return same_file(c, sdir, sname, ddir, dname);
	s = fileops_open_subfolder(c, sdir, sname, c->spath);
	if (s < 0)
		return -1;
	d = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
	{
		close(s);
		return 0;
	}
	r = same_tree(c, s, d, 1);
	close(s);
	close(d);
	return r;
}

/*
 * fileops_copy_data copies the source file sname in sdir into the open, empty
 * file out (c->dpath names it) and fsyncs it, counting its bytes against the
 * limits as they are read.
 */
bool
fileops_copy_data(fileops_ctx *c, int sdir, const char *sname, int out)
{
	char		sb[FILEOPS_SHOWN_BUF];
	struct stat st;
	fileops_kind kind;
	int			in = open_file(sdir, sname, &st, &kind);
	bool		ok;

	if (in < 0)
	{
		if (kind == FILEOPS_KIND_FILE)
			return fileops_fail(c->res, FILEOPS_IO, errno, "could not open file \"%s\": %s",
								FILEOPS_SHOW(c->spath, sb), strerror(errno));
		if (kind == FILEOPS_KIND_FOLDER)
			return fileops_fail(c->res, FILEOPS_CHANGED, 0, "\"%s\" changed while it was read",
								FILEOPS_SHOW(c->spath, sb));
		return refuse_kind(c, kind);
	}
	ok = fileops_count_entry(c, 1, 0);
	while (ok)
	{
		ssize_t		r = read(in, c->buf, FILEOPS_COPY_BUFFER);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not read file \"%s\": %s",
							  FILEOPS_SHOW(c->spath, sb), strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (!fileops_count_entry(c, 0, r))
			ok = false;
		else if (!fileops_write_full(out, c->buf, (size_t) r))
			ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not write file \"%s\": %s",
							  FILEOPS_SHOW(c->dpath, sb), strerror(errno));
	}
	if (ok && fsync(out) != 0)
		ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not fsync file \"%s\": %s",
						  FILEOPS_SHOW(c->dpath, sb), strerror(errno));
	close(in);
	if (ok)
		c->files++;
	return ok;
}

/*
 * copy_file copies the source file sname in sdir to a new file dname in
 * ddir, created exclusively with mode 0600.
 */
static bool
copy_file(fileops_ctx *c, int sdir, const char *sname, int ddir, const char *dname)
{
	char		sb[FILEOPS_SHOWN_BUF];
	int			out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool		ok;

	if (out < 0)
		return fileops_fail(c->res,
							errno == EEXIST || errno == ELOOP ? FILEOPS_CHANGED : FILEOPS_IO, errno,
							"could not create file \"%s\": %s",
							FILEOPS_SHOW(c->dpath, sb), strerror(errno));
	ok = fileops_copy_data(c, sdir, sname, out);
	if (close(out) != 0 && ok)
		ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not write file \"%s\": %s",
						  FILEOPS_SHOW(c->dpath, sb), strerror(errno));
	return ok;
}

/*
 * fileops_copy_tree copies the entries of the source folder sdir into the new,
 * empty folder ddir, recursively, then fsyncs ddir.  Each entry is checked
 * again (the source may have changed since it was scanned).
 */
bool
fileops_copy_tree(fileops_ctx *c, int sdir, int ddir, int depth)
{
	name_list	names;
	char		sb[FILEOPS_SHOWN_BUF];
	bool		ok = true;
	int			err;

	if (depth > FILEOPS_MAX_DEPTH)
		return fileops_fail(c->res, FILEOPS_TOO_DEEP, 0, "\"%s\" is nested more than %d folders deep",
							FILEOPS_SHOW(c->spath, sb), FILEOPS_MAX_DEPTH);
	err = list_folder(sdir, &names);
	if (err != 0)
		return fileops_fail(c->res, err == ENOMEM ? FILEOPS_NO_MEMORY : FILEOPS_IO, err,
							"could not read folder \"%s\": %s",
							FILEOPS_SHOW(c->spath, sb), strerror(err));
	for (size_t i = 0; ok && i < names.count; i++)
	{
		const char *name = names.names[i];
		size_t		ssaved = path_push(c->spath, sizeof(c->spath), &c->slen, name);
		size_t		dsaved = path_push(c->dpath, sizeof(c->dpath), &c->dlen, name);
		struct stat st;
		fileops_kind kind;

		if (bad_name(name))
			ok = fileops_fail(c->res, FILEOPS_BAD_PATH, 0,
							  "\"%s\" has a control character or a backslash in its name",
							  FILEOPS_SHOW(c->spath, sb));
		else if (fileops_stat_entry(sdir, name, &st, &kind) != 0)
			ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
							  FILEOPS_SHOW(c->spath, sb), strerror(errno));
		else if (kind == FILEOPS_KIND_FILE)
			ok = copy_file(c, sdir, name, ddir, name);
		else if (kind == FILEOPS_KIND_FOLDER)
		{
			int			s = -1;
			int			d = -1;

			ok = fileops_count_entry(c, 1, 0);
			if (ok && mkdirat(ddir, name, 0700) != 0)
				ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not create folder \"%s\": %s",
								  FILEOPS_SHOW(c->dpath, sb), strerror(errno));
			if (ok)
			{
				c->folders++;
				s = fileops_open_subfolder(c, sdir, name, c->spath);
				ok = s >= 0;
			}
			if (ok)
			{
				d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (d < 0)
					ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not open folder \"%s\": %s",
									  FILEOPS_SHOW(c->dpath, sb), strerror(errno));
			}
			if (ok)
				ok = fileops_copy_tree(c, s, d, depth + 1);
			if (s >= 0)
				close(s);
			if (d >= 0)
				close(d);
		}
		else
			ok = refuse_kind(c, kind);
		path_pop(c->spath, &c->slen, ssaved);
		path_pop(c->dpath, &c->dlen, dsaved);
	}
	names_free(&names);
	if (ok && fsync(ddir) != 0)
		ok = fileops_fail(c->res, FILEOPS_IO, errno, "could not fsync folder \"%s\": %s",
						  FILEOPS_SHOW(c->dpath, sb), strerror(errno));
	return ok;
}

/*
 * fileops_remove_entry removes the entry name of the folder dirfd: a folder
 * with everything in it (children first), anything else with unlinkat, a link
 * as itself.  A missing entry is fine.  Counts go to c (files, folders,
 * bytes); c->dpath names the entry in messages.
 */
bool
fileops_remove_entry(fileops_ctx *c, int dirfd, const char *name, int depth)
{
	char		sb[FILEOPS_SHOWN_BUF];

	for (int attempt = 0;; attempt++)
	{
		struct stat st;
		fileops_kind kind;
		name_list	names;
		int			fd;
		int			err;
		bool		ok = true;

		if (fileops_stat_entry(dirfd, name, &st, &kind) != 0)
			return fileops_fail(c->res, FILEOPS_IO, errno, "could not stat \"%s\": %s",
								FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		if (kind == FILEOPS_KIND_MISSING)
			return true;
		if (kind != FILEOPS_KIND_FOLDER)
		{
			if (unlinkat(dirfd, name, 0) != 0)
			{
				if (errno == ENOENT)
					return true;
				if ((errno == EISDIR || errno == EPERM) && attempt < 2)
					continue;	/* it became a folder meanwhile */
				return fileops_fail(c->res, FILEOPS_IO, errno, "could not delete \"%s\": %s",
									FILEOPS_SHOW(c->dpath, sb), strerror(errno));
			}
			c->files++;
			if (kind == FILEOPS_KIND_FILE)
				c->bytes += (int64_t) st.st_size;
			return true;
		}
		if (depth > FILEOPS_MAX_DEPTH)
			return fileops_fail(c->res, FILEOPS_TOO_DEEP, 0,
								"\"%s\" is nested more than %d folders deep",
								FILEOPS_SHOW(c->dpath, sb), FILEOPS_MAX_DEPTH);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
		{
			if ((errno == ENOENT || errno == ENOTDIR || errno == ELOOP) && attempt < 2)
				continue;		/* gone or swapped: look again */
			return fileops_fail(c->res, FILEOPS_IO, errno, "could not open folder \"%s\": %s",
								FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		}
		err = list_folder(fd, &names);
		if (err != 0)
		{
			close(fd);
			return fileops_fail(c->res, err == ENOMEM ? FILEOPS_NO_MEMORY : FILEOPS_IO, err,
								"could not read folder \"%s\": %s",
								FILEOPS_SHOW(c->dpath, sb), strerror(err));
		}
		for (size_t i = 0; ok && i < names.count; i++)
		{
			size_t		saved = path_push(c->dpath, sizeof(c->dpath), &c->dlen, names.names[i]);

			ok = fileops_remove_entry(c, fd, names.names[i], depth + 1);
			path_pop(c->dpath, &c->dlen, saved);
		}
		names_free(&names);
		close(fd);
		if (!ok)
			return false;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0)
		{
			if (errno == ENOENT)
				return true;
			if ((errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR) && attempt < 2)
				continue;		/* something was added, or it was swapped */
			return fileops_fail(c->res, FILEOPS_IO, errno, "could not delete folder \"%s\": %s",
								FILEOPS_SHOW(c->dpath, sb), strerror(errno));
		}
		c->folders++;
		return true;
	}
}

/*
 * fileops_discard removes a temporary entry (a ".part") after a failure, as
 * well as it can, without touching the result already recorded.
 */
void
fileops_discard(int dirfd, const char *name)
{
	fileops_result scratch;
	fileops_ctx c;

	memset(&c, 0, sizeof(c));
	c.res = &scratch;
	(void) fileops_remove_entry(&c, dirfd, name, 0);
}

/*
 * fileops_open_component opens the folder name inside the folder dirfd without
 * following a link, creating it (0700, then fsyncing dirfd) when it is
 * missing and create is set; *created counts the folders made.  rel and
 * rellen give the path of name from the base, for messages.  Returns the
 * new descriptor, or -1 with res filled: FILEOPS_NOT_FOUND,
 * FILEOPS_SYMLINK, FILEOPS_NOT_FOLDER or FILEOPS_IO.
 */
int
fileops_open_component(int dirfd, const char *name, bool create, int64_t *created,
			   const char *rel, size_t rellen, fileops_result *res)
{
	char		sb[FILEOPS_SHOWN_BUF];

	for (int attempt = 0;; attempt++)
	{
		int			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int			err;
		struct stat st;

		if (fd >= 0)
			return fd;
		err = errno;
		if (err == ENOENT && create && attempt < 3)
		{
			if (mkdirat(dirfd, name, 0700) == 0)
			{
				if (created)
					(*created)++;
				(void) fsync(dirfd);
				continue;
			}
			if (errno == EEXIST)
				continue;
			err = errno;
			fileops_fail(res, FILEOPS_IO, err, "could not create folder \"%s\": %s",
						 fileops_shown(rel, rellen, sb), strerror(err));
			return -1;
		}
		if (err == ENOENT)
		{
			fileops_fail(res, FILEOPS_NOT_FOUND, err, "folder \"%s\" does not exist",
						 fileops_shown(rel, rellen, sb));
			return -1;
		}
		if ((err == ENOTDIR || err == ELOOP) &&
			fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		{
			if (S_ISLNK(st.st_mode))
				fileops_fail(res, FILEOPS_SYMLINK, err, "\"%s\" is a symbolic link",
							 fileops_shown(rel, rellen, sb));
			else
				fileops_fail(res, FILEOPS_NOT_FOLDER, err, "\"%s\" is not a folder",
							 fileops_shown(rel, rellen, sb));
			return -1;
		}
		fileops_fail(res, FILEOPS_IO, err, "could not open folder \"%s\": %s",
					 fileops_shown(rel, rellen, sb), strerror(err));
		return -1;
	}
}

/*
 * fileops_open_parent opens the folder that holds the last component of rel (a
 * normalised, non-empty path), walking from the base one component at a
 * time; with create, missing folders are made (counted in *created).
 * Returns a descriptor of its own (never basefd; the caller closes it) and
 * points *last at the last component inside rel, or -1 with res filled.
 */
int
fileops_open_parent(int basefd, const char *rel, bool create, int64_t *created,
			const char **last, fileops_result *res)
{
	const char *p = rel;
	int			fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
	{
		fileops_fail(res, FILEOPS_IO, errno, "could not open the base folder: %s", strerror(errno));
		return -1;
	}
	for (;;)
	{
		const char *slash = strchr(p, '/');
		char		name[NAME_MAX + 1];
		size_t		n;
		int			next;

		if (slash == NULL)
		{
			*last = p;
			return fd;
		}
		n = (size_t) (slash - p);
		if (n > NAME_MAX)
		{
			char		sb[FILEOPS_SHOWN_BUF];

			close(fd);
			fileops_fail(res, FILEOPS_BAD_PATH, ENAMETOOLONG, "a name in \"%s\" is too long",
						 FILEOPS_SHOW(rel, sb));
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		next = fileops_open_component(fd, name, create, created, rel, (size_t) (slash - rel), res);
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
		p = slash + 1;
	}
}
