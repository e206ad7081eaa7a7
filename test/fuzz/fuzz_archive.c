/*
 * fuzz_archive.c — libFuzzer target for the archive entry checks
 * (src/jobs/archive.c): the input is an archive (zip, tar, compressed or
 * not) checked in memory with archive_check_memory, the walker extraction
 * uses for its first pass, under limits of 1 MiB and 64 entries.
 *
 * Besides the sanitizers it checks that a refusal has a reason; that an
 * acceptance lists files within the limits, sorted, distinct, with sizes
 * adding up to the total, and with names that cannot leave the destination
 * (relative, no "..", "." or empty component, no trailing slash).  Then the
 * same bytes are written to a file and extracted with archive_extract into
 * a scratch folder: both must give the same answer and the same listing; an
 * extraction must leave exactly the listed regular files (no link, nothing
 * else) under the destination, a refusal nothing at all, and nothing may
 * appear outside the destination in either case.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];
static char src_path[128];
static char dest_path[128];
static long files_found;
static int	others_found;

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

static void
remove_scratch(void)
{
	if (scratch[0] != '\0')
		(void) nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* count_one counts regular files and anything that is neither file nor folder. */
static int
count_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) path;
	(void) ftw;
	if (flag == FTW_F && S_ISREG(sb->st_mode))
		files_found++;
	else if (flag != FTW_D && flag != FTW_DP)
		others_found++;
	return 0;
}

/* scratch_holds_only says the scratch folder holds only the named entries (NULL-ended). */
static int
scratch_holds_only(const char *a, const char *b)
{
	DIR		   *d = opendir(scratch);
	struct dirent *de;
	int			ok = 1;

	REQUIRE(d != NULL);
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!(a && strcmp(de->d_name, a) == 0) && !(b && strcmp(de->d_name, b) == 0))
			ok = 0;
	}
	closedir(d);
	return ok;
}

/* safe_name: relative, no empty, "." or ".." component, no trailing slash. */
static int
safe_name(const char *p)
{
	size_t		len = strlen(p);

	if (len == 0 || len > 1024 || p[0] == '/' || p[len - 1] == '/')
		return 0;
	for (const char *c = p; *c;)
	{
		const char *slash = strchr(c, '/');
		size_t		n = slash ? (size_t) (slash - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n + (slash ? 1 : 0);
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	archive_limits lim = {1 << 20, 64};
	archive_listing mem,
				ext;
	char		err[512],
				err2[512];
	bool		ok,
				ok2;
	int64_t		sum = 0;
	FILE	   *f;
	struct stat st;

	if (scratch[0] == '\0')
	{
		strcpy(scratch, "/tmp/fuzz_archive.XXXXXX");
		REQUIRE(mkdtemp(scratch) != NULL);
		snprintf(src_path, sizeof(src_path), "%s/in.bin", scratch);
		snprintf(dest_path, sizeof(dest_path), "%s/out", scratch);
		atexit(remove_scratch);
	}

	err[0] = '\0';
	ok = archive_check_memory(data, size, &lim, &mem, err, sizeof(err));
	REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);
	if (!ok)
	{
		REQUIRE(err[0] != '\0');
		REQUIRE(mem.count == 0 && mem.entries == NULL);
	}
	else
	{
		REQUIRE(mem.count <= 64);
		for (size_t i = 0; i < mem.count; i++)
		{
			REQUIRE(safe_name(mem.entries[i].path));
			REQUIRE(i == 0 || strcmp(mem.entries[i - 1].path, mem.entries[i].path) < 0);
			REQUIRE(mem.entries[i].size >= 0);
			sum += mem.entries[i].size;
		}
		REQUIRE(sum == mem.total_bytes);
		REQUIRE(mem.total_bytes <= lim.max_bytes);
	}

	/* the same bytes through the file-based extraction */
	f = fopen(src_path, "wb");
	REQUIRE(f != NULL);
	REQUIRE(size == 0 || fwrite(data, 1, size, f) == size);
	REQUIRE(fclose(f) == 0);
	err2[0] = '\0';
	ok2 = archive_extract(src_path, dest_path, &lim, &ext, err2, sizeof(err2));
	REQUIRE(ok2 == ok);
	if (ok2)
	{
		REQUIRE(ext.count == mem.count && ext.total_bytes == mem.total_bytes);
		for (size_t i = 0; i < ext.count; i++)
		{
			char		full[2048];

			REQUIRE(strcmp(ext.entries[i].path, mem.entries[i].path) == 0);
			REQUIRE(ext.entries[i].size == mem.entries[i].size);
			snprintf(full, sizeof(full), "%s/%s", dest_path, ext.entries[i].path);
			REQUIRE(lstat(full, &st) == 0 && S_ISREG(st.st_mode));
			REQUIRE(st.st_size == ext.entries[i].size);
		}
		files_found = 0;
		others_found = 0;
		REQUIRE(nftw(dest_path, count_one, 16, FTW_PHYS) == 0);
		REQUIRE(files_found == (long) ext.count && others_found == 0);
		REQUIRE(scratch_holds_only("in.bin", "out"));
		(void) nftw(dest_path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
		archive_listing_free(&ext);
	}
	else
	{
		REQUIRE(err2[0] != '\0');
		REQUIRE(scratch_holds_only("in.bin", NULL));
	}
	unlink(src_path);
	archive_listing_free(&mem);
	return 0;
}
