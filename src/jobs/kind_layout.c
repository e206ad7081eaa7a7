/*-------------------------------------------------------------------------
 *
 * kind_layout.c
 *	  Job kind "layout": lays the files of a dataset split out as
 *	  <dest>/<split>/<label>/<name>, the folder tree image trainers read.
 *
 *	    layout  {"items": [{"path", "split", "label", "name"}, ...], "dest", "mode": "link"}
 *
 *	  Each item names a file of the owner's areas (path), its side (split:
 *	  "train", "test", a fold...) and, optionally, its class (label: a
 *	  string or a number).  The file gets a second name under dest: a hard
 *	  link when both are on one file system (mode "link", the default), a
 *	  copy otherwise or with mode "copy" (fileops_link).  Sources stay where
 *	  they are, so no file is moved twice or lost, and only the folders that
 *	  receive a file are made (no empty folders).
 *
 *	  Names.  The name is the item's "name", else the source's last
 *	  component.  When items would
 *	  share a destination name (the same file name in two extracted
 *	  archives), the first in item order keeps it and each later one becomes
 *	  "<stem>-2<ext>", "-3", ... (the first free one); the result counts
 *	  them.  The rule depends on item order only, so a rerun makes the same
 *	  names and, finding them in place, writes nothing (already_there).
 *
 *	  split and label become folder names: not empty, at most 255 bytes,
 *	  no "/", "\" or control characters, not "." or "..".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "jobs/fileops.h"
#include "jobs/jobs.h"
#include "pg_mlops.h"

/* Items one layout job may place. */
#define LAYOUT_MAX_ITEMS 1000000

static void LayoutValidate(Jsonb *params, Oid owner);
static JobOutcome LayoutRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable);

static const char *const LayoutKeys[] = {"items", "dest", "mode", NULL};

const JobKind mlops_kind_layout = {
	.name = "layout",
	.keys = LayoutKeys,
	.validate = LayoutValidate,
	.run = LayoutRun,
};

typedef struct LayoutItem
{
	char	   *path;			/* as given */
	char	   *split;
	char	   *label;			/* NULL: none */
	char	   *name;			/* the name to give it; NULL: the source's own */
} LayoutItem;

/*
 * FolderName checks a split or label used as a folder name; the reason, or
 * NULL when it is fine.
 */
static const char *
FolderName(const char *s)
{
	const unsigned char *p;

	if (s[0] == '\0')
		return "is empty";
	if (strlen(s) > 255)
		return "is longer than 255 bytes";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "is \".\" or \"..\"";
	for (p = (const unsigned char *) s; *p; p++)
		if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
			return "holds \"/\", \"\\\" or a control character";
	return NULL;
}

/*
 * ItemText reads one key of an item as text: strings as they are, numbers
 * in their JSON form; NULL when absent or null.
 */
static char *
ItemText(JsonbContainer *c, const char *key, int64 ord)
{
	JsonbValue *v = getKeyJsonValueFromContainer(c, key, strlen(key), NULL);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("params.items[%lld].%s of a layout job must be a string or a number", (long long) ord, key)));
	return NULL;				/* not reached */
}

/*
 * ReadItems reads and checks params.items; with owner valid, each path is
 * resolved in the owner's areas as well.
 */
static LayoutItem *
ReadItems(Jsonb *params, Oid owner, int64 *n)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&params->root, "items", 5, NULL);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken r;
	LayoutItem *items;
	int64		count = 0;

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a job of kind layout needs params.items, an array of {\"path\", \"split\", \"label\"}")));
	if (JsonContainerSize(v->val.binary.data) > LAYOUT_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("params.items of a layout job has %u items, more than %d",
						JsonContainerSize(v->val.binary.data), LAYOUT_MAX_ITEMS)));
	items = palloc(sizeof(LayoutItem) * Max(JsonContainerSize(v->val.binary.data), 1));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		JsonbContainer *c;
		JsonbIterator *ki;
		JsonbValue	k;
		JsonbIteratorToken kr;
		const char *why;
		LayoutItem *item;

		if (r != WJB_ELEM)
			continue;
		if (e.type != jbvBinary || !JsonContainerIsObject(e.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.items[%lld] of a layout job is not an object", (long long) count)));
		c = e.val.binary.data;
		ki = JsonbIteratorInit(c);
		while ((kr = JsonbIteratorNext(&ki, &k, true)) != WJB_DONE)
		{
			if (kr != WJB_KEY)
				continue;
			if (!(k.val.string.len == 4 && memcmp(k.val.string.val, "path", 4) == 0) &&
				!(k.val.string.len == 5 && memcmp(k.val.string.val, "split", 5) == 0) &&
				!(k.val.string.len == 5 && memcmp(k.val.string.val, "label", 5) == 0) &&
				!(k.val.string.len == 4 && memcmp(k.val.string.val, "name", 4) == 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("params.items[%lld] of a layout job has an unknown key \"%.*s\"",
								(long long) count, k.val.string.len, k.val.string.val),
						 errhint("An item's keys are path, split, label and name.")));
		}
		item = &items[count];
		item->path = ItemText(c, "path", count);
		item->split = ItemText(c, "split", count);
		item->label = ItemText(c, "label", count);
		item->name = ItemText(c, "name", count);
		if (item->path == NULL || item->split == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.items[%lld] of a layout job needs \"path\" and \"split\"", (long long) count)));
		if ((why = FolderName(item->split)) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.items[%lld].split \"%s\" cannot be a folder name: it %s",
							(long long) count, item->split, why)));
		if (item->label && (why = FolderName(item->label)) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.items[%lld].label \"%s\" cannot be a folder name: it %s",
							(long long) count, item->label, why)));
		if (item->name && (why = FolderName(item->name)) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.items[%lld].name \"%s\" cannot be a file name: it %s",
							(long long) count, item->name, why)));
		if (OidIsValid(owner))
			item->path = mlops_work_relative(owner, item->path, "items[].path");
		count++;
	}
	*n = count;
	return items;
}

static bool
ModeCopy(Jsonb *params)
{
	const char *mode = JsonbGetString(params, "mode", false, "layout");

	if (mode == NULL || strcmp(mode, "link") == 0)
		return false;
	if (strcmp(mode, "copy") == 0)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("params.mode \"%s\" of a layout job is not a mode", mode),
			 errhint("Valid modes: link (a hard link where it can, else a copy), copy.")));
	return false;
}

static void
LayoutValidate(Jsonb *params, Oid owner)
{
	int64		n;

	(void) mlops_work_relative(owner, JsonbGetString(params, "dest", true, "layout"), "dest");
	(void) ModeCopy(params);
	(void) ReadItems(params, owner, &n);
}

/* The destination names given so far, to apply the collision rule. */
typedef struct NameEntry
{
	char		key[MAXPGPATH];
} NameEntry;

/*
 * PlaceName returns the destination of item (relative to the work
 * directory) under dest, applying the collision rule with names.
 */
static char *
PlaceName(HTAB *names, const char *dest, const LayoutItem *item, bool *renamed)
{
	const char *slash = strrchr(item->path, '/');
	const char *base = item->name ? item->name : slash ? slash + 1 : item->path;
	const char *dot = strrchr(base, '.');
	char	   *folder;
	char	   *full;
	bool		found;

	if (dot == base)
		dot = NULL;				/* ".hidden" has no extension */
	folder = item->label ? psprintf("%s%s%s/%s", dest, dest[0] ? "/" : "", item->split, item->label)
		: psprintf("%s%s%s", dest, dest[0] ? "/" : "", item->split);
	*renamed = false;
	for (int k = 1;; k++)
	{
		if (k == 1)
			full = psprintf("%s/%s", folder, base);
		else if (dot)
			full = psprintf("%s/%.*s-%d%s", folder, (int) (dot - base), base, k, dot);
		else
			full = psprintf("%s/%s-%d", folder, base, k);
		if (strlen(full) >= MAXPGPATH)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("layout destination \"%s\" is too long", full)));
		(void) hash_search(names, full, HASH_ENTER, &found);
		if (!found)
			return full;
		*renamed = true;
	}
}

static JobOutcome
LayoutRun(ClaimedJob *job, transfer_pool *pool, char **result_json, char **error, bool *retryable)
{
	const char *dest_given = JsonbGetString(job->params, "dest", true, "layout");
	char	   *dest = mlops_work_relative(job->submitted_by, dest_given, "dest");
	bool		copy_only = ModeCopy(job->params);
	int64		n,
				linked = 0,
				copied = 0,
				there = 0,
				renamed = 0,
				folders = 0,
				bytes = 0;
	LayoutItem *items = ReadItems(job->params, job->submitted_by, &n);
	HASHCTL		ctl;
	HTAB	   *names;
	fileops_result res;
	fileops_dirsync sync;
	StringInfoData buf;
	int			fd;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MAXPGPATH;
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = CurrentMemoryContext;
	names = hash_create("layout names", Max(n, 16), &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	memset(&sync, 0, sizeof(sync));
	fd = fileops_open_base(mlops_work_dir_path(), &res);
	if (fd < 0)
	{
		*error = psprintf("cannot open the work directory: %s", res.message);
		*retryable = true;
		return JOB_FAILED;
	}
	for (int64 i = 0; i < n; i++)
	{
		bool		was_renamed;
		bool		was_linked;
		char	   *to = PlaceName(names, dest, &items[i], &was_renamed);

		if (!fileops_link(fd, items[i].path, to, copy_only, &was_linked, &sync, &res))
		{
			fileops_result ignored;

			(void) fileops_dirsync_flush(&sync, &ignored);	/* res keeps the item's reason */
			close(fd);
			*error = psprintf("item %lld (%s): %s", (long long) i, items[i].path,
							  res.message[0] ? res.message : fileops_status_name(res.status));
			*retryable = res.status == FILEOPS_BUSY || res.status == FILEOPS_IO || res.status == FILEOPS_CHANGED;
			return JOB_FAILED;
		}
		renamed += was_renamed;
		folders += res.folders;
		if (res.already_there)
			there++;
		else if (was_linked)
			linked++;
		else
			copied++;
		bytes += res.bytes;
	}
	/* the links are durable only now: one fsync per destination folder */
	if (!fileops_dirsync_flush(&sync, &res))
	{
		close(fd);
		*error = psprintf("%s", res.message);
		*retryable = true;
		return JOB_FAILED;
	}
	close(fd);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"dest\": ");
	escape_json(&buf, dest_given);
	appendStringInfo(&buf, ", \"files\": " INT64_FORMAT ", \"linked\": " INT64_FORMAT
					 ", \"copied\": " INT64_FORMAT ", \"already_there\": " INT64_FORMAT
					 ", \"renamed\": " INT64_FORMAT ", \"folders\": " INT64_FORMAT
					 ", \"bytes\": " INT64_FORMAT "}",
					 n, linked, copied, there, renamed, folders, bytes);
	*result_json = buf.data;
	return JOB_SUCCEEDED;
}
