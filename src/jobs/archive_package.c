/*
 * archive_package.c
 *	  Kernel: packaging of a folder into a zip (libzip), for the worker's
 *	  "package" jobs.  See archive.h for the contract.
 *
 *	  The folder is walked one directory descriptor at a time without
 *	  following symbolic links; the sorted files go into "<dest>.part",
 *	  which takes dest's name, or the first free suffixed name, only when
 *	  complete.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <zip.h>

#include "util/errbuf.h"
#include "util/pathsafe.h"
#include "jobs/archive_private.h"
#include "jobs/fileops_walk.h"

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
					  archive_shown_name(src, shown, sizeof(shown)), dir, strerror(errno));
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
							  archive_shown_name(rel, shown, sizeof(shown)), strerror(errno));
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
				errbuf_printf(err, errlen, "\"%s\" in \"%s\": %s", archive_shown_name(rel, shown, sizeof(shown)), src,
						  path_check_message(pc));
				ok = false;
			}
			else if (type == DT_LNK)
			{
				errbuf_printf(err, errlen, "\"%s\" in \"%s\" is a symbolic link", archive_shown_name(rel, shown, sizeof(shown)), src);
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
						  archive_shown_name(rel, shown, sizeof(shown)), src);
				ok = false;
			}
			free(rel);
			errno = 0;
		}
		if (ok && errno != 0)
		{
			errbuf_printf(err, errlen, "could not read folder \"%s/%s\": %s",
					  archive_shown_name(src, shown, sizeof(shown)), dir, strerror(errno));
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
	part = archive_part_path(dest);
	if (part == NULL)
	{
		errbuf_printf(err, errlen, "out of memory");
		return false;
	}
	if (lstat(part, &st) == 0)
	{
		errbuf_printf(err, errlen, "\"%s\" exists (another package job for the same file?)",
				  archive_shown_name(part, shown, sizeof(shown)));
		goto done;
	}

	rootfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
	{
		if (errno == ELOOP || errno == ENOTDIR)
			errbuf_printf(err, errlen, "source \"%s\" is not a folder (symbolic links are refused)",
					  archive_shown_name(src, shown, sizeof(shown)));
		else
			errbuf_printf(err, errlen, "could not open folder \"%s\": %s",
					  archive_shown_name(src, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	if (!walk_folder(rootfd, src, &list, err, errlen))
		goto done;
	if (list.count == 0)
	{
		errbuf_printf(err, errlen, "folder \"%s\" has no files to package", archive_shown_name(src, shown, sizeof(shown)));
		goto done;
	}
	qsort(list.paths, list.count, sizeof(char *), compare_strings);

	za = zip_open(part, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (za == NULL)
	{
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		errbuf_printf(err, errlen, "could not create zip \"%s\": %s",
				  archive_shown_name(part, shown, sizeof(shown)), zip_error_strerror(&ze));
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
					  archive_shown_name(list.paths[i], shown, sizeof(shown)), zip_strerror(za));
			goto done;
		}
		idx = zip_file_add(za, list.paths[i], zs, ZIP_FL_ENC_GUESS);
		if (idx < 0)
		{
			zip_source_free(zs);
			errbuf_printf(err, errlen, "could not add \"%s\": %s",
					  archive_shown_name(list.paths[i], shown, sizeof(shown)), zip_strerror(za));
			goto done;
		}
		if (zip_set_file_compression(za, (zip_uint64_t) idx,
									 already_compressed(list.paths[i]) ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) != 0)
		{
			errbuf_printf(err, errlen, "could not set the compression of \"%s\": %s",
					  archive_shown_name(list.paths[i], shown, sizeof(shown)), zip_strerror(za));
			goto done;
		}
	}

	/* zip_close writes a temporary file next to part and renames it to part. */
	part_made = true;
	if (zip_close(za) != 0)
	{
		errbuf_printf(err, errlen, "could not write zip \"%s\": %s",
				  archive_shown_name(part, shown, sizeof(shown)), zip_strerror(za));
		goto done;
	}
	za = NULL;
	if (stat(part, &st) != 0)
	{
		errbuf_printf(err, errlen, "could not stat zip \"%s\": %s",
				  archive_shown_name(part, shown, sizeof(shown)), strerror(errno));
		goto done;
	}
	/* the first name that is free, or that already holds these very bytes */
	for (int k = 0;; k++)
	{
		char		cand[PATH_MAX];

		if (k > ARCHIVE_MAX_SUFFIX || !archive_suffixed_name(dest, k, cand, sizeof(cand)))
		{
			errbuf_printf(err, errlen, "\"%s\" and its suffixed names up to -%d are taken",
					  archive_shown_name(dest, shown, sizeof(shown)), ARCHIVE_MAX_SUFFIX);
			goto done;
		}
		if (archive_rename_noreplace(part, cand) == 0)
		{
			part_made = false;
			if (suffix)
				*suffix = k;
			break;
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
		{
			errbuf_printf(err, errlen, "could not rename \"%s\": %s",
					  archive_shown_name(part, shown, sizeof(shown)), strerror(errno));
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
