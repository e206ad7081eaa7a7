/*
 * archive.c
 *	  Kernel: safe extraction of zip and tar archives (libarchive) and
 *	  packaging of a folder into a zip (libzip), for the worker's "extract"
 *	  and "package" jobs.  See archive.h for the contract.
 *
 *	  Extraction reads the archive twice from one file descriptor.  The
 *	  first pass writes nothing: it checks every entry's name and type,
 *	  decompresses every data block to count the bytes for real (headers
 *	  can lie), and records each entry.  Only then does the second pass
 *	  write the regular files into "<dest>.part", checking that the archive
 *	  still says exactly what the first pass saw; the folder is renamed to
 *	  "<dest>" at the end, or removed on any failure.
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
#include <zip.h>

#include "util/errbuf.h"
#include "util/pathsafe.h"
#include "jobs/fileops_walk.h"

/* Block size for libarchive's reads of the archive file. */
#define READ_BLOCK_SIZE			(1024 * 1024)

/* Longest normalised entry name accepted, in bytes (keeps full paths under PATH_MAX). */
#define ENTRY_NAME_MAX			1024

/* How much of an offending name an error message shows. */
#define SHOWN_NAME_MAX			200

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


/*
 * shown_name copies a name for an error message: control characters become
 * '?' and a long name is cut short with "...".
 */
static const char *
shown_name(const char *name, char *buf, size_t buflen)
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
 * rename_noreplace renames from to to, failing with EEXIST if to exists
 * (renameat2 RENAME_NOREPLACE; a checked rename where the file system does
 * not support it).
 */
static int
rename_noreplace(const char *from, const char *to)
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
 * part_path returns malloc'd "<path>.part", or NULL if out of memory.
 */
static char *
part_path(const char *path)
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
 * open_reader returns a libarchive reader for the archive open on fd,
 * rewound: zip and tar formats only, in-process filters only.  NULL with
 * err set on failure.
 */
static struct archive *
open_reader(int fd, const char *src, char *err, size_t errlen)
{
	struct archive *a;
	char		msg[512];
	char		shown[SHOWN_NAME_MAX + 8];

	if (lseek(fd, 0, SEEK_SET) != 0)
	{
		errbuf_printf(err, errlen, "could not rewind archive \"%s\": %s",
				  shown_name(src, shown, sizeof(shown)), strerror(errno));
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
		archive_read_support_format_tar(a) != ARCHIVE_OK ||
		archive_read_open_fd(a, fd, READ_BLOCK_SIZE) != ARCHIVE_OK)
	{
		errbuf_printf(err, errlen, "cannot read archive \"%s\": %s",
				  shown_name(src, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
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
				  shown_name(name, shown, sizeof(shown)));
		return false;
	}
	pc = path_normalize_relative(name, norm, sizeof(norm));
	ft = archive_entry_filetype(ae);
	if (pc != PATH_OK && !(pc == PATH_EMPTY && ft == AE_IFDIR))
	{
		errbuf_printf(err, errlen, "entry \"%s\": %s", shown_name(name, shown, sizeof(shown)),
				  path_check_message(pc));
		return false;
	}
	if (ft == AE_IFLNK || archive_entry_symlink(ae) != NULL)
	{
		errbuf_printf(err, errlen, "entry \"%s\" is a symbolic link", shown_name(name, shown, sizeof(shown)));
		return false;
	}
	if (archive_entry_hardlink(ae) != NULL)
	{
		errbuf_printf(err, errlen, "entry \"%s\" is a hard link", shown_name(name, shown, sizeof(shown)));
		return false;
	}
	switch (ft)
	{
		case AE_IFREG:
		case AE_IFDIR:
			break;
		case AE_IFCHR:
		case AE_IFBLK:
			errbuf_printf(err, errlen, "entry \"%s\" is a device", shown_name(name, shown, sizeof(shown)));
			return false;
		case AE_IFIFO:
			errbuf_printf(err, errlen, "entry \"%s\" is a FIFO", shown_name(name, shown, sizeof(shown)));
			return false;
		case AE_IFSOCK:
			errbuf_printf(err, errlen, "entry \"%s\" is a socket", shown_name(name, shown, sizeof(shown)));
			return false;
		default:
			errbuf_printf(err, errlen, "entry \"%s\" is neither a file nor a folder",
					  shown_name(name, shown, sizeof(shown)));
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
				  shown_name(path, shown, sizeof(shown)));
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
				  (long long) max_bytes, shown_name(path, shown, sizeof(shown)));
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
			errbuf_printf(err, errlen, "entry \"%s\" appears twice", shown_name(sorted[i]->path, shown, sizeof(shown)));
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
					  shown_name(sorted[i]->path, shown, sizeof(shown)),
					  shown_name(sorted[lo]->path, shown2, sizeof(shown2)));
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
scan_archive(int fd, const char *src, int64_t max_bytes, int64_t max_entries,
			 scan_result *scan, char *err, size_t errlen)
{
	struct archive *a = open_reader(fd, src, err, errlen);
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
					  shown_name(src, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
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
						  shown_name(se->path, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
				goto done;
			}
			if (!count_block(offset, len, &se->size, &total, max_bytes, se->path, err, errlen))
				goto done;
		}
	}
	if (ok && scan->count == 0)
	{
		errbuf_printf(err, errlen, "archive \"%s\" is empty", shown_name(src, shown, sizeof(shown)));
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
	struct archive *a = open_reader(fd, src, err, errlen);
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
					  shown_name(src, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
			goto done;
		}
		if (index >= scan->count)
		{
			errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", shown_name(src, shown, sizeof(shown)));
			goto done;
		}
		se = &scan->entries[index++];
		if (!check_header(ae, (int64_t) index - 1, &path, &type, err, errlen))
			goto done;
		if (type != se->type || (path == NULL) != (se->path == NULL) ||
			(path != NULL && strcmp(path, se->path) != 0))
		{
			free(path);
			errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", shown_name(src, shown, sizeof(shown)));
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
						  shown_name(se->path, shown, sizeof(shown)), strerror(errno));
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
						  shown_name(se->path, shown, sizeof(shown)), strerror(errno));
				goto done;
			}
			ofd = openat(rootfd, se->path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
		if (ofd < 0)
		{
			errbuf_printf(err, errlen, "could not create file \"%s\": %s",
					  shown_name(se->path, shown, sizeof(shown)), strerror(errno));
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
						  shown_name(se->path, shown, sizeof(shown)), lib_message(a, msg, sizeof(msg)));
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
				errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", shown_name(src, shown, sizeof(shown)));
				close(ofd);
				goto done;
			}
			if (len > 0 && !write_all(ofd, buf, len, offset))
			{
				errbuf_printf(err, errlen, "could not write file \"%s\": %s",
						  shown_name(se->path, shown, sizeof(shown)), strerror(errno));
				close(ofd);
				goto done;
			}
			if (len > 0 && offset + (int64_t) len > written)
				written = offset + (int64_t) len;
		}
		if (size != se->size)
		{
			errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", shown_name(src, shown, sizeof(shown)));
			close(ofd);
			goto done;
		}
		/* A trailing hole (sparse entry): extend the file to its size. */
		if (written < size && ftruncate(ofd, (off_t) size) != 0)
		{
			errbuf_printf(err, errlen, "could not write file \"%s\": %s",
					  shown_name(se->path, shown, sizeof(shown)), strerror(errno));
			close(ofd);
			goto done;
		}
		if (close(ofd) != 0)
		{
			errbuf_printf(err, errlen, "could not write file \"%s\": %s",
					  shown_name(se->path, shown, sizeof(shown)), strerror(errno));
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
		errbuf_printf(err, errlen, "archive \"%s\" changed while it was extracted", shown_name(src, shown, sizeof(shown)));
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
		errbuf_printf(err, errlen, "destination exists: \"%s\"", shown_name(dest, shown, sizeof(shown)));
		return false;
	}
	part = part_path(dest);
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
				  shown_name(src, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		errbuf_printf(err, errlen, "archive \"%s\" is not a regular file", shown_name(src, shown, sizeof(shown)));
		goto done;
	}

	if (!scan_archive(fd, src, max_bytes, max_entries, &scan, err, errlen))
		goto done;

	if (mkdir(part, 0700) != 0)
	{
		if (errno == EEXIST)
			errbuf_printf(err, errlen, "\"%s\" exists (another extraction into the same destination?)",
					  shown_name(part, shown, sizeof(shown)));
		else
			errbuf_printf(err, errlen, "could not create folder \"%s\": %s",
					  shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	part_made = true;
	rootfd = open(part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
	{
		errbuf_printf(err, errlen, "could not open folder \"%s\": %s",
				  shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	if (!write_archive(fd, rootfd, src, max_bytes, &scan, out, err, errlen))
		goto done;
	close(rootfd);
	rootfd = -1;
	if (rename_noreplace(part, dest) != 0)
	{
		if (errno == EEXIST || errno == ENOTEMPTY)
			errbuf_printf(err, errlen, "destination exists: \"%s\"", shown_name(dest, shown, sizeof(shown)));
		else
			errbuf_printf(err, errlen, "could not rename \"%s\": %s",
					  shown_name(part, shown, sizeof(shown)), strerror(errno));
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

/* The files of a folder to package: relative paths, malloc'd. */
typedef struct path_list
{
	char	  **paths;
	size_t		count;
	size_t		cap;
} path_list;

/*
 * path_list_push appends a malloc'd path (taking it over); false if out of
 * memory (the path is freed).
 */
static bool
path_list_push(path_list *l, char *path)
{
	if (l->count == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 64;
		char	  **grown = realloc(l->paths, cap * sizeof(*grown));

		if (grown == NULL)
		{
			free(path);
			return false;
		}
		l->paths = grown;
		l->cap = cap;
	}
	l->paths[l->count++] = path;
	return true;
}

/*
 * path_list_free frees the paths and the list.
 */
static void
path_list_free(path_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->count = l->cap = 0;
}

/*
 * join_path returns malloc'd "dir/name" (just name when dir is empty).
 */
static char *
join_path(const char *dir, const char *name)
{
	size_t		dl = strlen(dir);
	size_t		nl = strlen(name);
	char	   *p = malloc(dl + nl + 2);

	if (p == NULL)
		return NULL;
	if (dl > 0)
	{
		memcpy(p, dir, dl);
		p[dl++] = '/';
	}
	memcpy(p + dl, name, nl + 1);
	return p;
}

/*
 * walk_folder lists the regular files under the folder open on rootfd,
 * folder by folder (one directory descriptor open at a time), refusing
 * symbolic links, devices, FIFOs and sockets, and names that would not
 * extract again (control characters, backslashes).
 */
static bool
walk_folder(int rootfd, const char *src, path_list *files, char *err, size_t errlen)
{
	path_list	todo = {NULL, 0, 0};
	char		shown[SHOWN_NAME_MAX + 8];
	char	   *first = strdup("");
	bool		ok = true;

	if (first == NULL || !path_list_push(&todo, first))
	{
		errbuf_printf(err, errlen, "out of memory");
		return false;
	}
	while (ok && todo.count > 0)
	{
		char	   *dir = todo.paths[--todo.count];
		int			dfd = openat(rootfd, dir[0] ? dir : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR		   *d;
		struct dirent *de;

		if (dfd < 0 || (d = fdopendir(dfd)) == NULL)
		{
			errbuf_printf(err, errlen, "could not open folder \"%s/%s\": %s",
					  shown_name(src, shown, sizeof(shown)), dir, strerror(errno));
			if (dfd >= 0)
				close(dfd);
			free(dir);
			ok = false;
			break;
		}
		errno = 0;
		while (ok && (de = readdir(d)) != NULL)
		{
			unsigned char type = de->d_type;
			char	   *rel;
			char		norm[PATH_MAX];
			path_check	pc;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			rel = join_path(dir, de->d_name);
			if (rel == NULL)
			{
				errbuf_printf(err, errlen, "out of memory");
				ok = false;
				break;
			}
			if (type == DT_UNKNOWN)
			{
				struct stat st;

				if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				{
					errbuf_printf(err, errlen, "could not stat \"%s\": %s",
							  shown_name(rel, shown, sizeof(shown)), strerror(errno));
					free(rel);
					ok = false;
					break;
				}
				type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR :
					S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
			}
			pc = path_normalize_relative(rel, norm, sizeof(norm));
			if (pc != PATH_OK)
			{
				errbuf_printf(err, errlen, "\"%s\" in \"%s\": %s", shown_name(rel, shown, sizeof(shown)), src,
						  path_check_message(pc));
				ok = false;
			}
			else if (type == DT_LNK)
			{
				errbuf_printf(err, errlen, "\"%s\" in \"%s\" is a symbolic link", shown_name(rel, shown, sizeof(shown)), src);
				ok = false;
			}
			else if (type == DT_DIR)
			{
				if (!path_list_push(&todo, rel))
				{
					errbuf_printf(err, errlen, "out of memory");
					ok = false;
				}
				rel = NULL;
			}
			else if (type == DT_REG)
			{
				if (!path_list_push(files, rel))
				{
					errbuf_printf(err, errlen, "out of memory");
					ok = false;
				}
				rel = NULL;
			}
			else
			{
				errbuf_printf(err, errlen, "\"%s\" in \"%s\" is not a regular file (a device, FIFO or socket)",
						  shown_name(rel, shown, sizeof(shown)), src);
				ok = false;
			}
			free(rel);
			errno = 0;
		}
		if (ok && errno != 0)
		{
			errbuf_printf(err, errlen, "could not read folder \"%s/%s\": %s",
					  shown_name(src, shown, sizeof(shown)), dir, strerror(errno));
			ok = false;
		}
		closedir(d);
		free(dir);
	}
	path_list_free(&todo);
	return ok;
}

/*
 * compare_strings orders C strings bytewise, for qsort.
 */
static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * already_compressed says whether a file name ends in one of the
 * extensions of compressed formats, in any case: those files are stored.
 */
static bool
already_compressed(const char *path)
{
	static const char *const exts[] = {
		"png", "jpg", "jpeg", "gif", "zip", "gz", "bz2", "xz", "zst", "7z", "mp4", "webp"
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');

	if (dot == NULL)
		return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(dot + 1, exts[i]) == 0)
			return true;
	return false;
}

/* archive_suffixed_name: see archive.h. */
bool
archive_suffixed_name(const char *path, int k, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	int			n;

	if (k == 0)
		n = snprintf(out, outlen, "%s", path);
	else if (dot == NULL || dot == base)
		n = snprintf(out, outlen, "%s-%d", path, k);
	else
		n = snprintf(out, outlen, "%.*s-%d%s", (int) (dot - path), path, k, dot);
	return n >= 0 && (size_t) n < outlen;
}

/*
 * same_file_bytes: b is a regular file (not followed if a link) with
 * exactly a's bytes.
 */
static bool
same_file_bytes(const char *a, const char *b)
{
	const size_t buflen = 128 * 1024;
	char	   *buf = malloc(buflen);
	int			fa = open(a, O_RDONLY | O_CLOEXEC);

	/* O_NONBLOCK: a FIFO under the name must not block the worker */
	int			fb = open(b, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat sb;
	bool		same = buf != NULL && fa >= 0 && fb >= 0 && fstat(fb, &sb) == 0 && S_ISREG(sb.st_mode) &&
		fileops_same_fds(fa, fb, buf, buflen) == 1;

	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(buf);
	return same;
}

/*
 * archive_package lists the files of src, sorts them, adds each to a new
 * zip "<dest>.part" with libzip (which reads them when the zip is
 * closed), and renames the zip to dest or, when that name is
 * taken by other bytes, to the first free suffixed name.
 */
bool
archive_package(const char *src, const char *dest, int64_t *files, int64_t *bytes,
				int *suffix, bool *already_there, char *err, size_t errlen)
{
	path_list	list = {NULL, 0, 0};
	char	   *part = NULL;
	char	   *full = NULL;
	size_t		srclen;
	char		shown[SHOWN_NAME_MAX + 8];
	zip_t	   *za = NULL;
	struct stat st;
	int			rootfd = -1;
	int			zerr;
	bool		part_made = false;
	bool		ok = false;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (files)
		*files = 0;
	if (bytes)
		*bytes = 0;
	if (src == NULL || src[0] != '/' || dest == NULL || dest[0] != '/')
	{
		errbuf_printf(err, errlen, "source and destination paths must be absolute");
		return false;
	}
	if (suffix)
		*suffix = 0;
	if (already_there)
		*already_there = false;
	part = part_path(dest);
	if (part == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return false;
	}
	if (lstat(part, &st) == 0)
	{
		errbuf_printf(err, errlen, "\"%s\" exists (another package job for the same file?)",
				  shown_name(part, shown, sizeof(shown)));
		goto done;
	}

	rootfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
	{
		if (errno == ELOOP || errno == ENOTDIR)
			errbuf_printf(err, errlen, "source \"%s\" is not a folder (symbolic links are refused)",
					  shown_name(src, shown, sizeof(shown)));
		else
			errbuf_printf(err, errlen, "could not open folder \"%s\": %s",
					  shown_name(src, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	if (!walk_folder(rootfd, src, &list, err, errlen))
		goto done;
	if (list.count == 0)
	{
		errbuf_printf(err, errlen, "folder \"%s\" has no files to package", shown_name(src, shown, sizeof(shown)));
		goto done;
	}
	qsort(list.paths, list.count, sizeof(char *), compare_strings);

	za = zip_open(part, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (za == NULL)
	{
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		errbuf_printf(err, errlen, "could not create zip \"%s\": %s",
				  shown_name(part, shown, sizeof(shown)), zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto done;
	}

	srclen = strlen(src);
	for (size_t i = 0; i < list.count; i++)
	{
		size_t		rl = strlen(list.paths[i]);
		zip_source_t *zs;
		zip_int64_t idx;

		free(full);
		full = malloc(srclen + rl + 2);
		if (full == NULL)
		{
			errbuf_printf(err, errlen, "out of memory");
			goto done;
		}
		memcpy(full, src, srclen);
		full[srclen] = '/';
		memcpy(full + srclen + 1, list.paths[i], rl + 1);

		zs = zip_source_file(za, full, 0, -1);
		if (zs == NULL)
		{
			errbuf_printf(err, errlen, "could not add \"%s\": %s",
					  shown_name(list.paths[i], shown, sizeof(shown)), zip_strerror(za));
			goto done;
		}
		idx = zip_file_add(za, list.paths[i], zs, ZIP_FL_ENC_GUESS);
		if (idx < 0)
		{
			zip_source_free(zs);
			errbuf_printf(err, errlen, "could not add \"%s\": %s",
					  shown_name(list.paths[i], shown, sizeof(shown)), zip_strerror(za));
			goto done;
		}
		if (zip_set_file_compression(za, (zip_uint64_t) idx,
									 already_compressed(list.paths[i]) ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) != 0)
		{
			errbuf_printf(err, errlen, "could not set the compression of \"%s\": %s",
					  shown_name(list.paths[i], shown, sizeof(shown)), zip_strerror(za));
			goto done;
		}
	}

	/* zip_close writes a temporary file next to part and renames it to part. */
	part_made = true;
	if (zip_close(za) != 0)
	{
		errbuf_printf(err, errlen, "could not write zip \"%s\": %s",
				  shown_name(part, shown, sizeof(shown)), zip_strerror(za));
		goto done;
	}
	za = NULL;
	if (stat(part, &st) != 0)
	{
		errbuf_printf(err, errlen, "could not stat zip \"%s\": %s",
				  shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	/* the first name that is free, or that already holds these very bytes */
	for (int k = 0;; k++)
	{
		char		cand[PATH_MAX];

		if (k > ARCHIVE_MAX_SUFFIX || !archive_suffixed_name(dest, k, cand, sizeof(cand)))
		{
			errbuf_printf(err, errlen, "\"%s\" and its suffixed names up to -%d are taken",
					  shown_name(dest, shown, sizeof(shown)), ARCHIVE_MAX_SUFFIX);
			goto done;
		}
		if (rename_noreplace(part, cand) == 0)
		{
			part_made = false;
			if (suffix)
				*suffix = k;
			break;
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
		{
			errbuf_printf(err, errlen, "could not rename \"%s\": %s",
					  shown_name(part, shown, sizeof(shown)), strerror(errno));
			goto done;
		}
		if (same_file_bytes(part, cand))
		{
			if (suffix)
				*suffix = k;
			if (already_there)
				*already_there = true;
			break;				/* part is removed below */
		}
	}
	if (files)
		*files = (int64_t) list.count;
	if (bytes)
		*bytes = (int64_t) st.st_size;
	ok = true;

done:
	if (za != NULL)
		zip_discard(za);
	if (part_made)
		(void) unlink(part);
	if (rootfd >= 0)
		close(rootfd);
	path_list_free(&list);
	free(full);
	free(part);
	return ok;
}
