/*
 * archive.h
 *	  Kernel: safe extraction of archives (zip, tar, tar.gz, tar.bz2, tar.xz,
 *	  through libarchive) and packaging of a folder into a zip (libzip), for
 *	  the worker's "extract" and "package" jobs.  No PostgreSQL headers.
 *
 *	  Extraction refuses, before writing anything, every archive that holds
 *	  an absolute path, a ".." component, a symbolic or hard link, a device,
 *	  FIFO or socket, more than max_entries entries or more than max_bytes of
 *	  uncompressed data (zip bombs; the check counts the bytes actually
 *	  decompressed, not what the headers claim).  It extracts into
 *	  "<dest>.part" and renames that folder to "<dest>" when complete, so a
 *	  failed extraction leaves nothing behind.
 */
#ifndef MLOPS_ARCHIVE_H
#define MLOPS_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct archive_limits
{
	int64_t		max_bytes;		/* total uncompressed bytes; 0: unlimited */
	int64_t		max_entries;	/* 0: unlimited */
} archive_limits;

/* One file written by an extraction (paths relative to the destination). */
typedef struct archive_entry_info
{
	char	   *path;			/* malloc'd */
	int64_t		size;
} archive_entry_info;

typedef struct archive_listing
{
	archive_entry_info *entries;	/* malloc'd array */
	size_t		count;
	int64_t		total_bytes;
} archive_listing;

/*
 * archive_extract extracts the archive at src (an absolute path) into the
 * folder dest (absolute; must not exist yet; its parent must).  Returns true
 * and fills *out (free with archive_listing_free), or false with a
 * lower-case English reason in err (the offending entry named) and nothing
 * left on disk.
 */
extern bool archive_extract(const char *src, const char *dest, const archive_limits *limits,
							archive_listing *out, char *err, size_t errlen);

/*
 * archive_check_memory applies extraction's checks (the same first pass:
 * names, types, limits counted on the decompressed bytes, duplicates) to
 * the len bytes at data and lists the regular files the archive would give
 * (sorted by path, as archive_extract lists them), writing nothing.  True
 * and *out filled (free with archive_listing_free), or false with a reason
 * in err.  For checking untrusted archives held in memory, and fuzzing.
 */
extern bool archive_check_memory(const void *data, size_t len, const archive_limits *limits,
								 archive_listing *out, char *err, size_t errlen);

extern void archive_listing_free(archive_listing *l);

/*
 * archive_package writes the regular files under the folder src (recursively,
 * sorted by path, symbolic links not followed and refused) into the zip file
 * dest (absolute) through "<dest>.part", renamed when complete.  Files whose
 * names end in .png, .jpg, .jpeg, .gif, .zip, .gz, .bz2, .xz, .zst, .7z, .mp4
 * or .webp are stored, the others deflated.
 *
 * A name already taken is never an error and never overwritten: when dest
 * (or a suffixed name) holds the very bytes just written, that file is the
 * package (*already_there, a rerun over the same files); otherwise the zip
 * takes the first free name of archive_suffixed_name(dest, 1, 2, ...,
 * ARCHIVE_MAX_SUFFIX).  *suffix says which (0: dest itself).  Returns true
 * with the number of files and the zip's size, or false with a reason in err
 * and no file left.
 */
#define ARCHIVE_MAX_SUFFIX 999
extern bool archive_package(const char *src, const char *dest, int64_t *files, int64_t *bytes,
							int *suffix, bool *already_there, char *err, size_t errlen);

/*
 * archive_suffixed_name writes path with "-k" before the extension of its
 * last component ("a/set.zip", 2 -> "a/set-2.zip"; "a/set" -> "a/set-2"); k 0
 * is path itself.  False when out is too small.
 */
extern bool archive_suffixed_name(const char *path, int k, char *out, size_t outlen);

#endif							/* MLOPS_ARCHIVE_H */
