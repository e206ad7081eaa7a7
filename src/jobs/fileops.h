/*
 * fileops.h
 *	  Kernel: file operations inside a base directory (a role's area of
 *	  mlops.work_dir) for the worker's "copy", "move", "delete", "mkdir" and
 *	  "export" jobs.  No PostgreSQL headers: the worker calls it outside any
 *	  transaction.
 *
 *	  Confinement.  Every operation takes a descriptor of the base folder
 *	  and paths relative to it, which path_normalize_relative must accept
 *	  (no "..", not absolute, no control character or backslash).  Each
 *	  component is opened with openat(O_NOFOLLOW | O_DIRECTORY) from the
 *	  descriptor of its parent, and every open, mkdir, rename and unlink is
 *	  given one name relative to a descriptor held open: a symbolic link
 *	  anywhere (a component, the source, the destination, an entry inside a
 *	  source tree, a "<dest>.part") is refused, and one swapped in while an
 *	  operation runs cannot redirect it out of the base.  Delete is the one
 *	  exception: a link may be deleted (as an entry, never followed).
 *
 *	  Nothing half-written.  Copy, export and a move across file systems
 *	  write "<dest>.part" (a file, or a folder for a tree), fsync every file
 *	  and folder written, then rename it to "<dest>" and fsync the parent;
 *	  on any failure the ".part" is removed.  An existing destination is
 *	  replaced only when overwrite is asked: a file over a file by rename
 *	  (atomic); otherwise by exchanging the two names (renameat2
 *	  RENAME_EXCHANGE, atomic) and removing the old one, or, where the file
 *	  system cannot exchange, by renaming the old one to "<dest>.old.part",
 *	  renaming the new one in and removing the old one.
 *
 *	  Concurrency and crashes.  A ".part" is kept locked (flock) by the
 *	  operation writing it, from its creation to its rename.  The folder of
 *	  the destination is locked (flock, waiting) only for the moments when
 *	  temporary names are looked at, created or renamed, never while data
 *	  are copied, so operations on different names in one folder run side
 *	  by side.  Under that lock a ".part" that nobody holds locked, and any
 *	  "<dest>.old.part", can only be left by a process that died: it is
 *	  removed.  A ".part" held by another operation makes copy and export
 *	  FILEOPS_BUSY (two writers of one destination); a move leaves it alone.
 *	  A ".part" or ".old.part" that is a symbolic link is refused.  The
 *	  destination is looked at again just before the rename: one that
 *	  appeared meanwhile is refused unless overwrite was asked (then the
 *	  last writer wins, each whole).  Other writers of "<dest>.part" (the
 *	  transfer kernel) do not take these locks.  The locks are flock(2) on
 *	  descriptors opened read-only (folders): local file systems; on NFS,
 *	  where flock is emulated with byte-range locks, they fail (FILEOPS_IO).

 *	  Idempotency.  A rerun that finds its work done succeeds with
 *	  already_there set and nothing written: copy and export when the
 *	  destination holds the same bytes (a tree: the same names, types,
 *	  sizes and bytes); move when the source is gone and the destination
 *	  exists, or when both hold the same (the source is then removed); mkdir
 *	  when the folder exists; delete when the path is missing.
 *
 *	  Files are created with mode 0600 and folders 0700; nothing but
 *	  contents is preserved.  Missing parent folders of a destination are
 *	  created (0700) and left in place even when the operation then fails.
 *
 *	  Messages are lower-case English naming paths relative to the base
 *	  only (never the base itself), with at most 200 bytes of each path.
 */
#ifndef MLOPS_FILEOPS_H
#define MLOPS_FILEOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Folders nested deeper than this below a tree's root are refused. */
#define FILEOPS_MAX_DEPTH		128

/* Room for a message, NUL included. */
#define FILEOPS_MESSAGE_MAX		640

typedef enum fileops_status
{
	FILEOPS_OK = 0,
	FILEOPS_BAD_PATH,			/* refused by path_normalize_relative, a name too
								 * long for its ".part", a name with a control
								 * character inside a source tree */
	FILEOPS_BAD_ARGUMENT,		/* negative limits, NULL data with a length */
	FILEOPS_NOT_FOUND,			/* the source (or a folder above it) is missing */
	FILEOPS_SYMLINK,			/* a symbolic link where a file or folder was needed */
	FILEOPS_NOT_FOLDER,			/* a path component is not a folder */
	FILEOPS_WRONG_TYPE,			/* a device, FIFO or socket */
	FILEOPS_EXISTS,				/* the destination holds something else and
								 * overwrite was not asked */
	FILEOPS_NOT_EMPTY,			/* delete of a folder that is not empty, not
								 * recursive */
	FILEOPS_REFUSED,			/* deleting the base; source and destination the
								 * same, the destination inside the source, or
								 * the source inside "<dest>.part" */
	FILEOPS_TOO_LARGE,			/* more bytes or entries than the limits allow */
	FILEOPS_TOO_DEEP,			/* folders nested deeper than FILEOPS_MAX_DEPTH */
	FILEOPS_BUSY,				/* another operation is writing the same
								 * destination (its ".part" is locked) */
	FILEOPS_CHANGED,			/* the source changed while it was copied */
	FILEOPS_IO,					/* a system call failed: sys_errno says which way */
	FILEOPS_NO_MEMORY
} fileops_status;

/* What to do with a destination that exists and holds something else. */
typedef enum fileops_overwrite
{
	FILEOPS_KEEP = 0,			/* refuse: FILEOPS_EXISTS */
	FILEOPS_REPLACE				/* replace it atomically */
} fileops_overwrite;

/* Limits of a copy, checked on the whole source before anything is written. */
typedef struct fileops_limits
{
	int64_t		max_bytes;		/* total bytes of the files; 0: unlimited */
	int64_t		max_entries;	/* files and folders below the root (a single
								 * file counts 1); 0: unlimited */
} fileops_limits;

typedef struct fileops_result
{
	fileops_status status;
	bool		already_there;	/* success with nothing to do: the destination
								 * held it already (delete: it was gone) */
	int64_t		files;			/* files written (copy, export), moved, deleted */
	int64_t		folders;		/* folders created (mkdir), copied, moved, deleted */
	int64_t		bytes;			/* bytes of those files */
	int			sys_errno;		/* errno of the call that failed, else 0 */
	char		message[FILEOPS_MESSAGE_MAX];	/* why it failed; "" on success */
} fileops_result;

/*
 * fileops_open_base opens the base folder at path (absolute) with
 * O_DIRECTORY | O_NOFOLLOW and returns its descriptor (the caller closes
 * it), or -1 with res filled (the message does not show path).
 */
extern int	fileops_open_base(const char *path, fileops_result *res);

/*
 * fileops_mkdir creates the folder rel and the missing folders above it
 * (mkdir -p).  A folder that exists is success (already_there when none
 * was created; an empty rel is the base itself); a file or a link at any
 * component is an error.
 */
extern bool fileops_mkdir(int basefd, const char *rel, fileops_result *res);

/*
 * fileops_copy copies the file or folder (recursively) src to dest,
 * through "<dest>.part".  The source is checked whole first: symbolic
 * links, devices, FIFOs, sockets and names with control characters or
 * backslashes are refused, and so are sources over limits (NULL: none).
 * dest must not be src or inside it.
 */
extern bool fileops_copy(int basefd, const char *src, const char *dest,
						 fileops_overwrite overwrite, const fileops_limits *limits,
						 fileops_result *res);

/*
 * fileops_move renames the file or folder src to dest (a new name, never
 * "into" a folder).  The source tree is checked as for copy (no links or
 * special files inside).  Across file systems it copies through
 * "<dest>.part" within limits (NULL: none), then deletes the source.
 */
extern bool fileops_move(int basefd, const char *src, const char *dest,
						 fileops_overwrite overwrite, const fileops_limits *limits,
						 fileops_result *res);

/*
 * fileops_delete removes the file, link or empty folder rel, or with
 * recursive a folder and everything in it (links inside deleted as
 * entries).  A missing rel, or a missing folder above it, is success with
 * already_there.  The base itself (an empty rel) is refused.  A failure
 * part way through leaves the rest in place; a rerun finishes the job.
 */
extern bool fileops_delete(int basefd, const char *rel, bool recursive, fileops_result *res);

/*
 * fileops_write writes len bytes at data to the file rel through
 * "<rel>.part" (for "export" jobs).
 */
extern bool fileops_write(int basefd, const char *rel, const void *data, size_t len,
						  fileops_overwrite overwrite, fileops_result *res);

/*
 * fileops_dirsync collects the folders whose new entries still need an
 * fsync, so that many links into few folders cost one fsync per folder
 * (fileops_link with a non-NULL sync): each distinct folder (device, inode)
 * is kept open once, and fileops_dirsync_flush fsyncs and closes them all.
 * Nothing is durable until the flush has succeeded; a full set is flushed
 * before it takes another folder.  Zero it before use.
 */
#define FILEOPS_DIRSYNC_MAX 64
typedef struct fileops_dirsync
{
	int			n;
	int			fd[FILEOPS_DIRSYNC_MAX];
	dev_t		dev[FILEOPS_DIRSYNC_MAX];
	ino_t		ino[FILEOPS_DIRSYNC_MAX];
	int64_t		synced;			/* fsyncs run by flushes so far */
} fileops_dirsync;

/* fileops_dirsync_flush fsyncs and closes every folder held; false (res says why) if one fails. */
extern bool fileops_dirsync_flush(fileops_dirsync *sync, fileops_result *res);

/*
 * fileops_link gives the regular file src a second name dest (fileops_link.c):
 * a hard link to the very file opened when both are on one file system
 * (copy_only: never), else a copy as fileops_copy makes it; *linked says
 * which.  Missing folders above dest are made.  A dest that is the same
 * file, or holds the same bytes, is success with already_there; anything
 * else there is FILEOPS_EXISTS.  A source that is a link, a folder or a
 * special file is refused.  A new link's folder is fsynced at once, or, with
 * sync, left to fileops_dirsync_flush (a copy is always fsynced at once).
 */
extern bool fileops_link(int basefd, const char *src, const char *dest, bool copy_only, bool *linked,
						 fileops_dirsync *sync, fileops_result *res);

/* fileops_status_name returns a short lower-case name for a status ("not_found"). */
extern const char *fileops_status_name(fileops_status status);

#endif							/* MLOPS_FILEOPS_H */
