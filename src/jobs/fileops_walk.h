/*
 * fileops_walk.h
 *	  Internal to the file operations kernel: the state an operation keeps
 *	  while it walks trees, and the walks over trees (scan, compare, copy,
 *	  remove) that fileops_walk.c implements for fileops.c.  Other callers
 *	  use fileops.h.  No PostgreSQL headers.
 */
#ifndef MLOPS_FILEOPS_WALK_H
#define MLOPS_FILEOPS_WALK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "jobs/fileops.h"

/* Bytes read at a time when copying or comparing (a compare uses two halves). */
#define FILEOPS_COPY_BUFFER		(1024 * 1024)

/* How much of a path a message shows, and a buffer for fileops_shown. */
#define FILEOPS_SHOWN_MAX		200
#define FILEOPS_SHOWN_BUF		(FILEOPS_SHOWN_MAX + 8)
#define FILEOPS_SHOW(path, buf)	fileops_shown((path), SIZE_MAX, (buf))

#if defined(__GNUC__) || defined(__clang__)
#define FILEOPS_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#else
#define FILEOPS_PRINTF(f, a)
#endif

/* What an entry is, as far as the kernel cares. */
typedef enum fileops_kind
{
	FILEOPS_KIND_MISSING,
	FILEOPS_KIND_FILE,
	FILEOPS_KIND_FOLDER,
	FILEOPS_KIND_LINK,
	FILEOPS_KIND_OTHER
} fileops_kind;

/*
 * The state of one operation's walks: the result being filled, the limits
 * and counters, the copy buffer, and the paths (relative to the base) of
 * the entries being read and written, for messages.
 */
typedef struct fileops_ctx
{
	fileops_result *res;
	const char *root;			/* the source (normalised), for limit messages */
	int64_t		max_bytes;		/* 0: unlimited */
	int64_t		max_entries;	/* 0: unlimited */
	int64_t		entries;		/* counted against the limits */
	int64_t		bytes;
	int64_t		scan_files;		/* what fileops_scan_tree found */
	int64_t		scan_folders;
	int64_t		files;			/* what was written, moved or deleted */
	int64_t		folders;
	char	   *buf;			/* FILEOPS_COPY_BUFFER bytes */
	char		spath[PATH_MAX + 16];	/* the source entry, for messages */
	size_t		slen;
	char		dpath[PATH_MAX + 16];	/* the destination entry, for messages */
	size_t		dlen;
} fileops_ctx;

/*
 * fileops_fail records a failure in res (status, errno, a formatted
 * lower-case message) and returns false.
 */
extern bool fileops_fail(fileops_result *res, fileops_status status, int sys_errno,
						 const char *fmt,...) FILEOPS_PRINTF(4, 5);

/*
 * fileops_shown copies at most n bytes of path into buf (FILEOPS_SHOWN_BUF
 * bytes) for a message: control characters become '?', and a long path
 * keeps its head and tail around "...".
 */
extern const char *fileops_shown(const char *path, size_t n, char *buf);

/*
 * fileops_stat_entry classifies the entry name of the folder dirfd without
 * following a link (FILEOPS_KIND_MISSING when it does not exist); -1 with
 * errno on another failure.
 */
extern int	fileops_stat_entry(int dirfd, const char *name, struct stat *st, fileops_kind *kind);

/* fileops_count_entry adds entries and bytes to c's totals, refusing past the limits. */
extern bool fileops_count_entry(fileops_ctx *c, int64_t entries, int64_t size);

/*
 * fileops_open_subfolder opens the folder name in dirfd without following
 * a link (path names it); -1 with c->res filled.
 */
extern int	fileops_open_subfolder(fileops_ctx *c, int dirfd, const char *name, const char *path);

/*
 * fileops_scan_tree walks the source folder dirfd (c->spath names it)
 * writing nothing: links, special files, names with control characters
 * and trees deeper than FILEOPS_MAX_DEPTH are refused, entries and bytes
 * counted against the limits (and in scan_files, scan_folders).
 */
extern bool fileops_scan_tree(fileops_ctx *c, int dirfd, int depth);

/* fileops_write_full writes len bytes despite short writes (false with errno). */
extern bool fileops_write_full(int fd, const char *buf, size_t len);

/*
 * fileops_same_fds compares two open regular files byte for byte, reading
 * through buf (halved, one half per file): 1 same, 0 different, -1 with
 * errno on a read error.
 */
extern int	fileops_same_fds(int a, int b, char *buf, size_t buflen);

/*
 * fileops_same_bytes: the regular file name in dirfd holds exactly len
 * bytes of data?  1 yes, 0 no (or not a regular file), -1 with errno.
 */
extern int	fileops_same_bytes(fileops_ctx *c, int dirfd, const char *name, const char *data, size_t len);

/*
 * fileops_same_entry: the destination dname in ddir (of kind dkind) holds
 * what the source sname in sdir (of kind skind) holds, file or tree?  1
 * yes, 0 no (a link in the destination is a difference, never followed),
 * -1 with c->res filled.
 */
extern int	fileops_same_entry(fileops_ctx *c, int sdir, const char *sname, fileops_kind skind,
							   int ddir, const char *dname, fileops_kind dkind);

/*
 * fileops_copy_data copies the source file sname in sdir into the open,
 * empty file out and fsyncs it; fileops_copy_tree copies the entries of
 * the source folder sdir into the empty folder ddir, recursively, and
 * fsyncs what it writes.  Both count against the limits again.
 */
extern bool fileops_copy_data(fileops_ctx *c, int sdir, const char *sname, int out);
extern bool fileops_copy_tree(fileops_ctx *c, int sdir, int ddir, int depth);

/*
 * fileops_remove_entry removes the entry name of dirfd, a folder with all
 * it holds, a link as itself (c->dpath names it; counts go to c); a
 * missing entry is fine.  fileops_discard does the same after a failure,
 * as well as it can, leaving no trace in any result.
 */
extern bool fileops_remove_entry(fileops_ctx *c, int dirfd, const char *name, int depth);
extern void fileops_discard(int dirfd, const char *name);

/*
 * fileops_open_component opens the folder name inside dirfd without
 * following a link (creating it, 0700, when create is set; *created counts
 * the folders made); rel/rellen name it from the base for messages.
 * fileops_open_parent opens the folder holding the last component of the
 * normalised, non-empty rel, walking from the base one component at a
 * time, and points *last at that component.  Both return a descriptor of
 * their own, or -1 with res filled.
 */
extern int	fileops_open_component(int dirfd, const char *name, bool create, int64_t *created,
								   const char *rel, size_t rellen, fileops_result *res);
extern int	fileops_open_parent(int basefd, const char *rel, bool create, int64_t *created,
								const char **last, fileops_result *res);

#endif							/* MLOPS_FILEOPS_WALK_H */
