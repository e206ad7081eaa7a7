/*
 * test_archive_memory.c — unit tests of archive_check_memory
 * (src/jobs/archive.c): extraction's first pass over an archive held in
 * memory.  Archives are written into memory with libarchive's writer (zip
 * and pax, with gzip); each is also written to a file and extracted with
 * archive_extract, and the two must agree: the same listing for a good
 * archive, a refusal for the same reason for a hostile one (zip-slip
 * "..", an absolute name, a symbolic link, a zip bomb past max_bytes, too
 * many entries, a duplicate, a file under a file, not an archive).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/archive.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

/* One entry: type 'f' file (size bytes of 'a'), 'd' folder, 'l' symbolic link. */
typedef struct entry
{
	const char *name;
	char		type;
	size_t		size;
} entry;

static char tmpdir[] = "/tmp/test_archive_memory.XXXXXX";

/*
 * make_archive writes the entries as a zip (zip true) or a gzip'd pax into
 * buf (cap bytes); returns the length, or 0 when libarchive refuses.
 */
static size_t
make_archive(bool zip, const entry *e, int n, char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	size_t		used = 0;
	char	   *data = malloc(1 << 20);

	memset(data, 'a', 1 << 20);
	if (zip)
		archive_write_set_format_zip(a);
	else
	{
		archive_write_set_format_pax(a);
		archive_write_add_filter_gzip(a);
	}
	if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
		used = 0;
	for (int i = 0; i < n; i++)
	{
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_mtime(ae, 1700000000, 0);
		if (e[i].type == 'd')
		{
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
		}
		else if (e[i].type == 'l')
		{
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, "/etc/passwd");
		}
		else
		{
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t) e[i].size);
		}
		archive_write_header(a, ae);
		if (e[i].type == 'f')
			archive_write_data(a, data, e[i].size);
		archive_entry_free(ae);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		used = 0;
	archive_write_free(a);
	free(data);
	return used;
}

/*
 * both checks buf in memory and by extraction from a file; says whether
 * they agree (same outcome, same listing or same reason) and leaves the
 * in-memory outcome in *mem and its reason in err.
 */
static bool
both(const char *buf, size_t len, const archive_limits *lim, archive_listing *mem, char *err)
{
	char		src[256],
				dest[256],
				err2[512];
	archive_listing ext;
	bool		ok1,
				ok2,
				same;
	FILE	   *f;
	struct stat st;

	snprintf(src, sizeof(src), "%s/a.bin", tmpdir);
	snprintf(dest, sizeof(dest), "%s/out", tmpdir);
	f = fopen(src, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	ok1 = archive_check_memory(buf, len, lim, mem, err, 512);
	ok2 = archive_extract(src, dest, lim, &ext, err2, sizeof(err2));
	same = ok1 == ok2;
	if (same && ok1)
	{
		same = mem->count == ext.count && mem->total_bytes == ext.total_bytes;
		for (size_t i = 0; same && i < mem->count; i++)
			same = strcmp(mem->entries[i].path, ext.entries[i].path) == 0 &&
				mem->entries[i].size == ext.entries[i].size;
	}
	else if (same)
	{
		/* the reasons differ only in how the archive is named */
		const char *q1 = strchr(err, '"');
		const char *q2 = strchr(err2, '"');

		same = strncmp(err, err2, 10) == 0 && (q1 == NULL) == (q2 == NULL);
		if (!same)
			printf("# memory: %s\n# file: %s\n", err, err2);
	}
	if (ok2)
	{
		char		cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dest);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dest);
		archive_listing_free(&ext);
	}
	else
		same = same && lstat(dest, &st) != 0;
	unlink(src);
	return same;
}

int
main(void)
{
	static char buf[4 << 20];
	char		err[512];
	archive_listing l;
	archive_limits lim = {0, 0};
	size_t		len;

	if (mkdtemp(tmpdir) == NULL)
	{
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}

	for (int zip = 0; zip <= 1; zip++)
	{
		const entry good[] = {{"data/", 'd', 0}, {"data/b.txt", 'f', 300}, {"data/a.txt", 'f', 5}, {"empty", 'f', 0}};

		len = make_archive(zip, good, 4, buf, sizeof(buf));
		CHECK(len > 0, zip ? "zip written in memory" : "pax.gz written in memory");
		CHECK(both(buf, len, &lim, &l, err), "good archive: memory and extraction agree");
		CHECK_INT(l.count, 3, "good archive: three files listed");
		CHECK_STR(l.count == 3 ? l.entries[0].path : NULL, "data/a.txt", "listed sorted by path");
		CHECK_INT(l.count == 3 ? l.entries[1].size : -1, 300, "sizes are the bytes of data");
		CHECK_INT(l.total_bytes, 305, "total bytes");
		archive_listing_free(&l);
	}

	{
		const entry slip[] = {{"ok.txt", 'f', 1}, {"../../etc/cron.d/x", 'f', 10}};

		len = make_archive(true, slip, 2, buf, sizeof(buf));
		CHECK(both(buf, len, &lim, &l, err), "zip-slip: memory and extraction agree");
		CHECK(strstr(err, "../../etc/cron.d/x") != NULL, "zip-slip: refused naming the entry");
		CHECK_INT(l.count, 0, "a refusal lists nothing");
	}
	{
		const entry abs_[] = {{"/etc/passwd", 'f', 1}};

		len = make_archive(false, abs_, 1, buf, sizeof(buf));
		CHECK(both(buf, len, &lim, &l, err), "absolute name: memory and extraction agree");
		CHECK(strstr(err, "/etc/passwd") != NULL, "absolute name: refused naming the entry");
	}
	{
		const entry link[] = {{"a", 'f', 1}, {"evil", 'l', 0}};

		len = make_archive(false, link, 2, buf, sizeof(buf));
		CHECK(both(buf, len, &lim, &l, err), "symbolic link: memory and extraction agree");
		CHECK(strstr(err, "symbolic link") != NULL, "symbolic link: refused");
	}
	{
		const entry bomb[] = {{"big", 'f', 1 << 20}, {"big2", 'f', 1 << 20}};
		archive_limits small = {(1 << 20) + 10, 0};

		len = make_archive(true, bomb, 2, buf, sizeof(buf));
		CHECK(len < 100000, "2 MiB of 'a' compress to little");
		CHECK(both(buf, len, &small, &l, err), "zip bomb: memory and extraction agree");
		CHECK(strstr(err, "more than 1048586 bytes") != NULL, "zip bomb: refused past max_bytes");
	}
	{
		const entry many[] = {{"1", 'f', 1}, {"2", 'f', 1}, {"3", 'f', 1}};
		archive_limits two = {0, 2};

		len = make_archive(false, many, 3, buf, sizeof(buf));
		CHECK(both(buf, len, &two, &l, err), "too many entries: memory and extraction agree");
		CHECK(strstr(err, "more than 2 entries") != NULL, "too many entries: refused");
	}
	{
		const entry dup[] = {{"a/b", 'f', 1}, {"a/./b", 'f', 2}};
		const entry under[] = {{"a", 'f', 1}, {"a/b", 'f', 2}};

		len = make_archive(false, dup, 2, buf, sizeof(buf));
		CHECK(both(buf, len, &lim, &l, err), "duplicate: memory and extraction agree");
		CHECK(strstr(err, "appears twice") != NULL, "duplicate: refused");
		len = make_archive(true, under, 2, buf, sizeof(buf));
		CHECK(both(buf, len, &lim, &l, err), "file under a file: memory and extraction agree");
		CHECK(strstr(err, "is inside it") != NULL, "file under a file: refused");
	}
	CHECK(both("not an archive at all", 21, &lim, &l, err), "not an archive: memory and extraction agree");
	CHECK(err[0] != '\0', "not an archive: a reason");
	CHECK(!archive_check_memory(NULL, 0, &lim, &l, err, sizeof(err)), "no data: refused");
	lim.max_bytes = -1;
	CHECK(!archive_check_memory("x", 1, &lim, &l, err, sizeof(err)), "negative limit: refused");

	rmdir(tmpdir);
	return unit_done();
}
