/*
 * archive.c
 *	  Kernel: safe extraction of zip and tar archives (libarchive), for the
 *	  worker's "extract" jobs, and the helpers packaging shares
 *	  (archive_private.h; packaging is archive_package.c).  See archive.h
 *	  for the contract.
 *
 *	  Extraction reads the archive twice from one file descriptor.  The
 *	  first pass writes nothing: it checks every entry's name and type,
 *	  decompresses every data block to count the bytes for real (headers
 *	  can lie), and records each entry.  Only then does the second pass
 *	  write the regular files into "<dest>.part", checking that the archive
 *	  still says exactly what the first pass saw; the folder is renamed to
 *	  "<dest>" at the end, or removed on any failure.  archive_check_memory
 *	  runs the first pass alone over an archive held in memory (the same
 *	  checks, read with archive_read_open_memory): for untrusted bytes that
 *	  are not on disk, and for fuzzing (test/fuzz/fuzz_archive.c).
 *
 *	  Entry names are read in a C.UTF-8 locale (uselocale, this thread
 *	  only): in the plain "C" locale libarchive cannot hand out the names
 *	  of zip entries flagged UTF-8 that hold non-ASCII characters.  Names
 *	  that are not valid UTF-8 are refused, since the listing ends up in
 *	  JSON.
 *
 *	  Only in-process decompression filters are enabled (gzip, bzip2, xz,
 *	  lzma, lzip, zstd): archive_read_support_filter_all would also let a
 *	  hostile archive make libarchive run external programs (lrzip, grzip,
 *	  lzop) from the server.
 *
 *	  Speed.  Data are taken with archive_read_data_block (no copy into a
 *	  buffer of ours) and written with pwrite as they come: libarchive's
 *	  blocks are 64 KiB (gzip, bzip2, xz) to 256 KiB (deflated zip entries),
 *	  or the 1 MiB read block for stored entries.  Each file costs one
 *	  openat relative to the ".part" folder and one close; parent folders
 *	  are created only when that openat says they are missing.  Files are
 *	  not fsynced (the unzip and tar tools do not either).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/errbuf.h"
#include "util/pathsafe.h"
#include "jobs/archive_private.h"
#include "jobs/fileops_walk.h"

/* Block size for libarchive's reads of the archive file. */
#define READ_BLOCK_SIZE			(1024 * 1024)

/* Longest normalised entry name accepted, in bytes (keeps full paths under PATH_MAX). */
#define ENTRY_NAME_MAX			1024

/* File descriptors nftw may hold open while removing a tree. */
#define REMOVE_OPEN_FDS			32

/* One entry of the archive as the first pass saw it, in archive order. */
typedef struct scan_entry
{
	char	   *path;			/* normalised, malloc'd; NULL for the root ("./") */
	int			type;			/* AE_IFREG or AE_IFDIR */
	int64_t		size;			/* bytes of data (regular files) */
} scan_entry;

typedef struct scan_result
{
	scan_entry *entries;
	size_t		count;
	size_t		cap;
} scan_result;

/* Where an archive is read from: the file open on fd, or mem..mem+memlen. */
typedef struct read_source
{
	int			fd;
	const void *mem;			/* NULL: read fd */
	size_t		memlen;
} read_source;

/*
 * archive_shown_name copies a name for an error message: control
 * characters become '?' and a long name is cut short with "...".
 */
const char *
archive_shown_name(const char *name, char *buf, size_t buflen)
{
	size_t		n = 0;

	if (name == NULL)
		name = "(no name)";
	for (const char *p = name; *p && n + 1 < buflen; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (n >= SHOWN_NAME_MAX)
		{
			if (n + 4 <= buflen)
			{
				memcpy(buf + n, "...", 3);
				n += 3;
			}
			break;
		}
		buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * lib_message returns libarchive's error message with its first letter in
 * lower case (our reasons are lower-case), in buf.
 */
static const char *
lib_message(struct archive *a, char *buf, size_t buflen)
{
	const char *msg = archive_error_string(a);

	if (msg == NULL || msg[0] == '\0')
		msg = "unknown error";
	snprintf(buf, buflen, "%s", msg);
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char) (buf[0] - 'A' + 'a');
	return buf;
}

/*
 * valid_utf8 says whether s is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 */
static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		unsigned char c = *p;
		int			len;
		uint32_t	cp;

		if (c < 0x80)
		{
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
		{
			len = 2;
			cp = c & 0x1f;
		}
		else if (c >= 0xe0 && c <= 0xef)
		{
			len = 3;
			cp = c & 0x0f;
		}
		else if (c >= 0xf0 && c <= 0xf4)
		{
			len = 4;
			cp = c & 0x07;
		}
		else
			return false;
		for (int i = 1; i < len; i++)
		{
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			(cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

/*
 * remove_one is the nftw callback of remove_tree: it removes what it is
 * given (files and links with unlink, folders with rmdir, children first)
 * and goes on whatever happens, so that as much as possible is removed.
 */
static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		(void) rmdir(path);
	else
		(void) unlink(path);
	return 0;
}

/*
 * remove_tree removes path and everything under it without following
 * symbolic links (FTW_PHYS) or crossing into another file system.
 */
static void
remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode))
	{
		(void) unlink(path);
		return;
	}
	(void) nftw(path, remove_one, REMOVE_OPEN_FDS, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/*
 * archive_rename_noreplace renames from to to, failing with EEXIST if to
 * exists (renameat2 RENAME_NOREPLACE; a checked rename where the file
 * system does not support it).
 */
int
archive_rename_noreplace(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (lstat(to, &st) == 0)
	{
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

/*
 * archive_part_path returns malloc'd "<path>.part", or NULL if out of
 * memory.
 */
char *
archive_part_path(const char *path)
{
	size_t		len = strlen(path);
	char	   *part = malloc(len + sizeof(".part"));

	if (part != NULL)
	{
		memcpy(part, path, len);
		memcpy(part + len, ".part", sizeof(".part"));
	}
	return part;
}

/*
 * scan_free frees the first pass's record.
 */
static void
scan_free(scan_result *scan)
{
	for (size_t i = 0; i < scan->count; i++)
		free(scan->entries[i].path);
	free(scan->entries);
	scan->entries = NULL;
	scan->count = scan->cap = 0;
}

/*
 * open_reader returns a libarchive reader for the archive in, from its
 * start: zip and tar formats only, in-process filters only.  NULL with err
 * set on failure.
 */
static struct archive *
open_reader(const read_source *in, const char *src, char *err, size_t errlen)
{
	struct archive *a;
	char		msg[512];
	char		shown[SHOWN_NAME_MAX + 8];
	int			opened;

	if (in->mem == NULL && lseek(in->fd, 0, SEEK_SET) != 0)
	{
		errbuf_printf(err, errlen, "could not rewind archive \"%s\": %s",
				  archive_shown_name(src, shown, sizeof(shown)), strerror(errno));
		return NULL;
	}
	a = archive_read_new();
	if (a == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return NULL;
	}
	/* The filters: ARCHIVE_WARN would mean an external program, not linked in. */
	(void) archive_read_support_filter_gzip(a);
	(void) archive_read_support_filter_bzip2(a);
	(void) archive_read_support_filter_xz(a);
	(void) archive_read_support_filter_lzma(a);
	(void) archive_read_support_filter_lzip(a);
	(void) archive_read_support_filter_zstd(a);
	if (archive_read_support_format_zip(a) != ARCHIVE_OK ||
		archive_read_support_format_tar(a) != ARCHIVE_OK)
		opened = ARCHIVE_FATAL;
	else if (in->mem != NULL)
		opened = archive_read_open_memory(a, in->mem, in->memlen);
	else
		opened = archive_read_open_fd(a, in->fd, READ_BLOCK_SIZE);
	if (opened != ARCHIVE_OK)
	{
		errbuf_printf(err, errlen, "cannot read archive \"%s\": %s",
				  archive_shown_name(src, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/*
 * check_header judges the entry just read: it must have a name that
 * path_normalize_relative accepts, in UTF-8, and be a regular file or a
 * folder.  On success *path is the malloc'd normalised name (NULL for the
 * root folder, "./") and *type its type.
 */
static bool
check_header(struct archive_entry *ae, int64_t index, char **path, int *type,
			 char *err, size_t errlen)
{
	const char *name = archive_entry_pathname(ae);
	char		norm[ENTRY_NAME_MAX + 1];
	char		shown[SHOWN_NAME_MAX + 8];
	path_check	pc;
	mode_t		ft;

	*path = NULL;
	if (name == NULL)
		name = archive_entry_pathname_utf8(ae);
	if (name == NULL)
	{
		errbuf_printf(err, errlen, "entry %lld has a name that cannot be decoded", (long long) index + 1);
		return false;
	}
	if (!valid_utf8(name))
	{
		errbuf_printf(err, errlen, "entry \"%s\" has a name that is not valid UTF-8",
				  archive_shown_name(name, shown, sizeof(shown)));
		return false;
	}
	pc = path_normalize_relative(name, norm, sizeof(norm));
	ft = archive_entry_filetype(ae);
	if (pc != PATH_OK && !(pc == PATH_EMPTY && ft == AE_IFDIR))
	{
		errbuf_printf(err, errlen, "entry \"%s\": %s", archive_shown_name(name, shown, sizeof(shown)),
				  path_check_message(pc));
		return false;
	}
	if (ft == AE_IFLNK || archive_entry_symlink(ae) != NULL)
	{
		errbuf_printf(err, errlen, "entry \"%s\" is a symbolic link", archive_shown_name(name, shown, sizeof(shown)));
		return false;
	}
	if (archive_entry_hardlink(ae) != NULL)
	{
		errbuf_printf(err, errlen, "entry \"%s\" is a hard link", archive_shown_name(name, shown, sizeof(shown)));
		return false;
	}
	switch (ft)
	{
		case AE_IFREG:
		case AE_IFDIR:
			break;
		case AE_IFCHR:
		case AE_IFBLK:
			errbuf_printf(err, errlen, "entry \"%s\" is a device", archive_shown_name(name, shown, sizeof(shown)));
			return false;
		case AE_IFIFO:
			errbuf_printf(err, errlen, "entry \"%s\" is a FIFO", archive_shown_name(name, shown, sizeof(shown)));
			return false;
		case AE_IFSOCK:
			errbuf_printf(err, errlen, "entry \"%s\" is a socket", archive_shown_name(name, shown, sizeof(shown)));
			return false;
		default:
			errbuf_printf(err, errlen, "entry \"%s\" is neither a file nor a folder",
					  archive_shown_name(name, shown, sizeof(shown)));
			return false;
	}
	*type = (int) ft;
	if (pc == PATH_OK)
	{
		*path = strdup(norm);
		if (*path == NULL)
		{
			errbuf_printf(err, errlen, "out of memory");
			return false;
		}
	}
	return true;
}

/*
 * count_block adds a data block at offset..offset+len of the current entry
 * to its size *size (the furthest byte seen: holes of sparse entries count)
 * and to the archive's *total, refusing past max_bytes.
 */
static bool
count_block(int64_t offset, size_t len, int64_t *size, int64_t *total, int64_t max_bytes,
			const char *path, char *err, size_t errlen)
{
	char		shown[SHOWN_NAME_MAX + 8];
	int64_t		end;

	if (offset < 0 || len > (size_t) INT64_MAX || offset > INT64_MAX - (int64_t) len)
	{
		errbuf_printf(err, errlen, "entry \"%s\" has data at an impossible offset",
				  archive_shown_name(path, shown, sizeof(shown)));
		return false;
	}
	end = offset + (int64_t) len;
	if (end > *size)
	{
		if (*total > INT64_MAX - (end - *size))
			*total = INT64_MAX;
		else
			*total += end - *size;
		*size = end;
	}
	if (max_bytes > 0 && *total > max_bytes)
	{
		errbuf_printf(err, errlen, "archive holds more than %lld bytes of data (limit reached in entry \"%s\")",
				  (long long) max_bytes, archive_shown_name(path, shown, sizeof(shown)));
		return false;
	}
	return true;
}

/*
 * compare_scan_path orders pointers to scan entries by path, bytewise.
 */
static int
compare_scan_path(const void *a, const void *b)
{
	const scan_entry *x = *(const scan_entry *const *) a;
	const scan_entry *y = *(const scan_entry *const *) b;

	return strcmp(x->path, y->path);
}

/*
 * check_names refuses a name used twice (two folders excepted) and a file
 * whose name other entries use as a folder ("a" and "a/b").
 */
static bool
check_names(const scan_result *scan, char *err, size_t errlen)
{
	const scan_entry **sorted;
	size_t		n = 0;
	char		shown[SHOWN_NAME_MAX + 8];
	char		shown2[SHOWN_NAME_MAX + 8];
	bool		ok = true;

	if (scan->count == 0)
		return true;
	sorted = malloc(scan->count * sizeof(*sorted));
	if (sorted == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return false;
	}
	for (size_t i = 0; i < scan->count; i++)
		if (scan->entries[i].path != NULL)
			sorted[n++] = &scan->entries[i];
	qsort(sorted, n, sizeof(*sorted), compare_scan_path);

	for (size_t i = 0; ok && i < n; i++)
	{
		size_t		len = strlen(sorted[i]->path);
		size_t		lo,
					hi;

		if (i + 1 < n && strcmp(sorted[i]->path, sorted[i + 1]->path) == 0 &&
			!(sorted[i]->type == AE_IFDIR && sorted[i + 1]->type == AE_IFDIR))
		{
			errbuf_printf(err, errlen, "entry \"%s\" appears twice", archive_shown_name(sorted[i]->path, shown, sizeof(shown)));
			ok = false;
			break;
		}
		if (sorted[i]->type == AE_IFDIR)
			continue;

		/* The first name not below path + "/" in the sorted array. */
		lo = i + 1;
		hi = n;
		while (lo < hi)
		{
			size_t		mid = lo + (hi - lo) / 2;
			int			c = strncmp(sorted[mid]->path, sorted[i]->path, len);

			if (c < 0 || (c == 0 && (unsigned char) sorted[mid]->path[len] < '/'))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && strncmp(sorted[lo]->path, sorted[i]->path, len) == 0 && sorted[lo]->path[len] == '/')
		{
			errbuf_printf(err, errlen, "entry \"%s\" is a file but entry \"%s\" is inside it",
					  archive_shown_name(sorted[i]->path, shown, sizeof(shown)),
					  archive_shown_name(sorted[lo]->path, shown2, sizeof(shown2)));
			ok = false;
		}
	}
	free(sorted);
	return ok;
}

/*
 * scan_archive is the first pass: it reads every header and every data
 * block, writes nothing, and records the entries in *scan.
 */
static bool
scan_archive(const read_source *in, const char *src, int64_t max_bytes, int64_t max_entries,
			 scan_result *scan, char *err, size_t errlen)
{
	struct archive *a = open_reader(in, src, err, errlen);
	struct archive_entry *ae;
	int64_t		total = 0;
	char		msg[512];
	char		shown[SHOWN_NAME_MAX + 8];
	bool		ok = false;

	if (a == NULL)
		return false;
	for (;;)
	{
		scan_entry *se;
		int			r = archive_read_next_header(a, &ae);

		if (r == ARCHIVE_EOF)
		{
			ok = true;
			break;
		}
		if (r < ARCHIVE_WARN)
		{
			errbuf_printf(err, errlen, "cannot read archive \"%s\": %s",
					  archive_shown_name(src, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
			break;
		}
		if (max_entries > 0 && (int64_t) scan->count >= max_entries)
		{
			errbuf_printf(err, errlen, "archive has more than %lld entries", (long long) max_entries);
			break;
		}
		if (scan->count == scan->cap)
		{
			size_t		cap = scan->cap ? scan->cap * 2 : 64;
			scan_entry *grown = realloc(scan->entries, cap * sizeof(*grown));

			if (grown == NULL)
			{
				errbuf_printf(err, errlen, "out of memory");
				break;
			}
			scan->entries = grown;
			scan->cap = cap;
		}
		se = &scan->entries[scan->count];
		se->path = NULL;
		se->size = 0;
		if (!check_header(ae, (int64_t) scan->count, &se->path, &se->type, err, errlen))
			break;
		scan->count++;
		if (se->type != AE_IFREG)
			continue;

		for (;;)
		{
			const void *buf;
			size_t		len;
			la_int64_t	offset;

			r = archive_read_data_block(a, &buf, &len, &offset);
			if (r == ARCHIVE_EOF)
				break;
			if (r != ARCHIVE_OK)
			{
				errbuf_printf(err, errlen, "cannot read entry \"%s\": %s",
						  archive_shown_name(se->path, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
				goto done;
			}
			if (!count_block(offset, len, &se->size, &total, max_bytes, se->path, err, errlen))
				goto done;
		}
	}
	if (ok && scan->count == 0)
	{
		errbuf_printf(err, errlen, "archive \"%s\" is empty", archive_shown_name(src, shown, sizeof(shown)));
		ok = false;
	}
	if (ok)
		ok = check_names(scan, err, errlen);
done:
	archive_read_free(a);
	return ok;
}

/*
 * make_parents creates the folders above the relative path (mode 0700)
 * under rootfd; existing ones are fine.
 */
static bool
make_parents(int rootfd, const char *path, bool include_last)
{
	char		buf[ENTRY_NAME_MAX + 1];
	size_t		len = strlen(path);

	if (len >= sizeof(buf))
	{
		errno = ENAMETOOLONG;
		return false;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++)
	{
		if (buf[i] != '/' && !(include_last && buf[i] == '\0'))
			continue;
		buf[i] = '\0';
		if (mkdirat(rootfd, buf, 0700) != 0 && errno != EEXIST)
			return false;
		if (i < len)
			buf[i] = '/';
	}
	return true;
}

/*
 * write_all writes len bytes at offset, despite short writes.
 */
static bool
write_all(int fd, const char *buf, size_t len, int64_t offset)
{
	while (len > 0)
	{
		ssize_t		w = pwrite(fd, buf, len, (off_t) offset);

		if (w < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += w;
		len -= (size_t) w;
		offset += w;
	}
	return true;
}

/*
 * compare_listing orders the listing by path, bytewise.
 */
static int
compare_listing(const void *a, const void *b)
{
	return strcmp(((const archive_entry_info *) a)->path, ((const archive_entry_info *) b)->path);
}

/*
 * write_archive is the second pass: it reads the archive again, checks
 * that each entry is the one the first pass recorded, and writes the
 * folders and regular files under rootfd (the ".part" folder).  The
 * listing takes over the paths of the files written.
 */
static bool
write_archive(int fd, int rootfd, const char *src, int64_t max_bytes, scan_result *scan,
			  archive_listing *out, char *err, size_t errlen)
{
	read_source in = {fd, NULL, 0};
	struct archive *a = open_reader(&in, src, err, errlen);
	struct archive_entry *ae;
	int64_t		total = 0;
	size_t		index = 0;
	size_t		nfiles = 0;
	char		msg[512];
	char		shown[SHOWN_NAME_MAX + 8];
	bool		ok = false;

	if (a == NULL)
		return false;
	for (size_t i = 0; i < scan->count; i++)
		if (scan->entries[i].type == AE_IFREG)
			nfiles++;
	out->entries = calloc(nfiles > 0 ? nfiles : 1, sizeof(archive_entry_info));
	if (out->entries == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		goto done;
	}

	for (;;)
	{
		scan_entry *se;
		char	   *path;
		int			type;
		int			r = archive_read_next_header(a, &ae);
		int			ofd;
		int64_t		size = 0;
		int64_t		written = 0;

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
		{
			errbuf_printf(err, errlen, "cannot read archive \"%s\": %s",
					  archive_shown_name(src, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
			goto done;
		}
		if (index >= scan->count)
		{
			errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", archive_shown_name(src, shown, sizeof(shown)));
			goto done;
		}
		se = &scan->entries[index++];
		if (!check_header(ae, (int64_t) index - 1, &path, &type, err, errlen))
			goto done;
		if (type != se->type || (path == NULL) != (se->path == NULL) ||
			(path != NULL && strcmp(path, se->path) != 0))
		{
			free(path);
			errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", archive_shown_name(src, shown, sizeof(shown)));
			goto done;
		}
		free(path);
		if (se->path == NULL)
			continue;

		if (type == AE_IFDIR)
		{
			if (!make_parents(rootfd, se->path, true))
			{
				errbuf_printf(err, errlen, "could not create folder \"%s\": %s",
						  archive_shown_name(se->path, shown, sizeof(shown)), strerror(errno));
				goto done;
			}
			continue;
		}

		ofd = openat(rootfd, se->path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (ofd < 0 && errno == ENOENT && strchr(se->path, '/') != NULL)
		{
			if (!make_parents(rootfd, se->path, false))
			{
				errbuf_printf(err, errlen, "could not create the folders of \"%s\": %s",
						  archive_shown_name(se->path, shown, sizeof(shown)), strerror(errno));
				goto done;
			}
			ofd = openat(rootfd, se->path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
		if (ofd < 0)
		{
			errbuf_printf(err, errlen, "could not create file \"%s\": %s",
					  archive_shown_name(se->path, shown, sizeof(shown)), strerror(errno));
			goto done;
		}

		for (;;)
		{
			const void *buf;
			size_t		len;
			la_int64_t	offset;

			r = archive_read_data_block(a, &buf, &len, &offset);
			if (r == ARCHIVE_EOF)
				break;
			if (r != ARCHIVE_OK)
			{
				errbuf_printf(err, errlen, "cannot read entry \"%s\": %s",
						  archive_shown_name(se->path, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
				close(ofd);
				goto done;
			}
			if (!count_block(offset, len, &size, &total, max_bytes, se->path, err, errlen))
			{
				close(ofd);
				goto done;
			}
			if (size > se->size)
			{
				errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", archive_shown_name(src, shown, sizeof(shown)));
				close(ofd);
				goto done;
			}
			if (len > 0 && !write_all(ofd, buf, len, offset))
			{
				errbuf_printf(err, errlen, "could not write file \"%s\": %s",
						  archive_shown_name(se->path, shown, sizeof(shown)), strerror(errno));
				close(ofd);
				goto done;
			}
			if (len > 0 && offset + (int64_t) len > written)
				written = offset + (int64_t) len;
		}
		if (size != se->size)
		{
			errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", archive_shown_name(src, shown, sizeof(shown)));
			close(ofd);
			goto done;
		}
		/* A trailing hole (sparse entry): extend the file to its size. */
		if (written < size && ftruncate(ofd, (off_t) size) != 0)
		{
			errbuf_printf(err, errlen, "could not write file \"%s\": %s",
					  archive_shown_name(se->path, shown, sizeof(shown)), strerror(errno));
			close(ofd);
			goto done;
		}
		if (close(ofd) != 0)
		{
			errbuf_printf(err, errlen, "could not write file \"%s\": %s",
					  archive_shown_name(se->path, shown, sizeof(shown)), strerror(errno));
			goto done;
		}
		out->entries[out->count].path = se->path;
		out->entries[out->count].size = size;
		out->count++;
		out->total_bytes += size;
		se->path = NULL;		/* the listing owns it now */
	}
	if (index != scan->count)
	{
		errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", archive_shown_name(src, shown, sizeof(shown)));
		goto done;
	}
	ok = true;
done:
	archive_read_free(a);
	return ok;
}

/*
 * archive_extract checks the archive in a first pass, then writes it into
 * "<dest>.part" in a second one and renames that to dest.
 */
bool
archive_extract(const char *src, const char *dest, const archive_limits *limits,
				archive_listing *out, char *err, size_t errlen)
{
	int64_t		max_bytes = limits ? limits->max_bytes : 0;
	int64_t		max_entries = limits ? limits->max_entries : 0;
	scan_result scan = {NULL, 0, 0};
	read_source in = {-1, NULL, 0};
	char	   *part = NULL;
	char		shown[SHOWN_NAME_MAX + 8];
	locale_t	utf8_locale;
	locale_t	saved_locale = (locale_t) 0;
	struct stat st;
	int			fd = -1;
	int			rootfd = -1;
	bool		part_made = false;
	bool		ok = false;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
	{
		errbuf_printf(err, errlen, "no listing to fill");
		return false;
	}
	memset(out, 0, sizeof(*out));
	if (src == NULL || src[0] != '/' || dest == NULL || dest[0] != '/')
	{
		errbuf_printf(err, errlen, "archive and destination paths must be absolute");
		return false;
	}
	if (max_bytes < 0 || max_entries < 0)
	{
		errbuf_printf(err, errlen, "limits must not be negative");
		return false;
	}
	if (lstat(dest, &st) == 0)
	{
		errbuf_printf(err, errlen, "destination exists: \"%s\"", archive_shown_name(dest, shown, sizeof(shown)));
		return false;
	}
	part = archive_part_path(dest);
	if (part == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return false;
	}

	/* Names are decoded as UTF-8, whatever the process's locale. */
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
	if (utf8_locale != (locale_t) 0)
		saved_locale = uselocale(utf8_locale);

	fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
	{
		errbuf_printf(err, errlen, "could not open archive \"%s\": %s",
				  archive_shown_name(src, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		errbuf_printf(err, errlen, "archive \"%s\" is not a regular file", archive_shown_name(src, shown, sizeof(shown)));
		goto done;
	}

	in.fd = fd;
	if (!scan_archive(&in, src, max_bytes, max_entries, &scan, err, errlen))
		goto done;

	if (mkdir(part, 0700) != 0)
	{
		if (errno == EEXIST)
			errbuf_printf(err, errlen, "\"%s\" exists (another extraction into the same destination?)",
					  archive_shown_name(part, shown, sizeof(shown)));
		else
			errbuf_printf(err, errlen, "could not create folder \"%s\": %s",
					  archive_shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	part_made = true;
	rootfd = open(part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
	{
		errbuf_printf(err, errlen, "could not open folder \"%s\": %s",
				  archive_shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	if (!write_archive(fd, rootfd, src, max_bytes, &scan, out, err, errlen))
		goto done;
	close(rootfd);
	rootfd = -1;
	if (archive_rename_noreplace(part, dest) != 0)
	{
		if (errno == EEXIST || errno == ENOTEMPTY)
			errbuf_printf(err, errlen, "destination exists: \"%s\"", archive_shown_name(dest, shown, sizeof(shown)));
		else
			errbuf_printf(err, errlen, "could not rename \"%s\": %s",
					  archive_shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	part_made = false;
	qsort(out->entries, out->count, sizeof(archive_entry_info), compare_listing);
	ok = true;

done:
	if (rootfd >= 0)
		close(rootfd);
	if (fd >= 0)
		close(fd);
	if (part_made)
		remove_tree(part);
	if (!ok)
		archive_listing_free(out);
	scan_free(&scan);
	free(part);
	if (utf8_locale != (locale_t) 0)
	{
		uselocale(saved_locale);
		freelocale(utf8_locale);
	}
	return ok;
}

/*
 * archive_check_memory runs extraction's first pass (the same reader and
 * checks) over an archive in memory and lists its regular files, writing
 * nothing.
 */
bool
archive_check_memory(const void *data, size_t len, const archive_limits *limits,
					 archive_listing *out, char *err, size_t errlen)
{
	int64_t		max_bytes = limits ? limits->max_bytes : 0;
	int64_t		max_entries = limits ? limits->max_entries : 0;
	scan_result scan = {NULL, 0, 0};
	read_source in = {-1, data, len};
	locale_t	utf8_locale;
	locale_t	saved_locale = (locale_t) 0;
	bool		ok = false;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
	{
		errbuf_printf(err, errlen, "no listing to fill");
		return false;
	}
	memset(out, 0, sizeof(*out));
	if (data == NULL)
	{
		errbuf_printf(err, errlen, "no archive to read");
		return false;
	}
	if (max_bytes < 0 || max_entries < 0)
	{
		errbuf_printf(err, errlen, "limits must not be negative");
		return false;
	}
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
	if (utf8_locale != (locale_t) 0)
		saved_locale = uselocale(utf8_locale);

	if (!scan_archive(&in, "(memory)", max_bytes, max_entries, &scan, err, errlen))
		goto done;
	out->entries = calloc(scan.count > 0 ? scan.count : 1, sizeof(archive_entry_info));
	if (out->entries == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < scan.count; i++)
	{
		scan_entry *se = &scan.entries[i];

		if (se->type != AE_IFREG)
			continue;
		out->entries[out->count].path = se->path;
		out->entries[out->count].size = se->size;
		out->count++;
		out->total_bytes += se->size;
		se->path = NULL;		/* the listing owns it now */
	}
	qsort(out->entries, out->count, sizeof(archive_entry_info), compare_listing);
	ok = true;

done:
	if (!ok)
		archive_listing_free(out);
	scan_free(&scan);
	if (utf8_locale != (locale_t) 0)
	{
		uselocale(saved_locale);
		freelocale(utf8_locale);
	}
	return ok;
}

/*
 * archive_listing_free frees the listing and empties it.
 */
void
archive_listing_free(archive_listing *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->count; i++)
		free(l->entries[i].path);
	free(l->entries);
	l->entries = NULL;
	l->count = 0;
	l->total_bytes = 0;
}
