/*
 * archive_private.h
 *	  What extraction (archive.c) and packaging (archive_package.c) share:
 *	  names shown in reasons, "<path>.part" and a rename that never
 *	  replaces.  Internal to the archive kernel; no PostgreSQL headers.
 */
#ifndef MLOPS_ARCHIVE_PRIVATE_H
#define MLOPS_ARCHIVE_PRIVATE_H

#include <stddef.h>

/* How much of an offending name an error message shows. */
#define SHOWN_NAME_MAX			200

/*
 * archive_shown_name copies a name for an error message into buf (at least
 * SHOWN_NAME_MAX + 8 bytes): control characters become '?' and a long name
 * is cut short with "...".  Returns buf.
 */
extern const char *archive_shown_name(const char *name, char *buf, size_t buflen);

/* archive_part_path returns malloc'd "<path>.part", or NULL if out of memory. */
extern char *archive_part_path(const char *path);

/*
 * archive_rename_noreplace renames from to to, failing with EEXIST if to
 * exists (renameat2 RENAME_NOREPLACE, or a checked rename).
 */
extern int	archive_rename_noreplace(const char *from, const char *to);

#endif							/* MLOPS_ARCHIVE_PRIVATE_H */
