/*
 * fuzz_fileops.c — libFuzzer target for the file operations kernel
 * (src/jobs/fileops.c, src/jobs/fileops_walk.c).
 *
 * Each input is a little program run on a fresh base folder: up to 48
 * steps, each a byte choosing what to do and more bytes choosing paths
 * (from tokens such as "..", ".", "", "/", names ending in ".part", names
 * with a backslash or a newline, a 250-byte name, raw bytes), data, flags
 * and limits.  Steps call the kernel (mkdir, write, copy, move, delete)
 * or prepare the ground the way a hostile user could: symbolic links to
 * the folder "outside" (beside the base), to "..", to "/" or to nowhere,
 * FIFOs, plain files, and swaps of two names (renameat2 RENAME_EXCHANGE).
 * The harness makes those with its own walk that never follows a link, so
 * that only the kernel could ever write outside the base.
 *
 * Besides the sanitizers it checks, after every call, that a result is a
 * success exactly when its status is FILEOPS_OK, that a failure carries a
 * lower-case message showing no absolute path; and after every input, that
 * the temporary root holds "base" and "outside" only, that "outside" is as
 * it was (names, types, sizes, bytes), that the root's parent has none of
 * the names the fuzzer uses, and, when no path named a ".part", that no
 * ".part" was left in the base.  The root is made under /dev/shm when it
 * exists (the kernel's fsyncs cost nothing there).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "util/pathsafe.h"
#include "jobs/fileops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_STEPS	48

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[PATH_MAX];
static char parent[PATH_MAX];
static char base[PATH_MAX];
static char outside_before[8192];

/* The input, read a byte at a time (zeros once it is used up). */
typedef struct reader
{
	const uint8_t *p;
	size_t		left;
} reader;

static uint8_t
next(reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

static const char *const tokens[] = {
	"fzA", "fzB", "fzC", "fzD", "..", ".", "", "fzA.part", "fzB.old.part",
	"lnk", "fifo", "fz\\x", "fz\nx", "LONG", "RAW", "/"
};

/*
 * gen_path builds a path of up to 5 components from tokens; sets
 * *part_named when a component ends in ".part".
 */
static void
gen_path(reader *r, char *out, size_t outlen, bool *part_named)
{
	int			n = next(r) % 6;
	size_t		o = 0;

	out[0] = '\0';
	for (int i = 0; i < n && o + 300 < outlen; i++)
	{
		const char *t = tokens[next(r) % (sizeof(tokens) / sizeof(tokens[0]))];
		char		comp[300];

		if (strcmp(t, "LONG") == 0)
		{
			memset(comp, 'n', 250);
			comp[250] = '\0';
		}
		else if (strcmp(t, "RAW") == 0)
		{
			int			len = next(r) % 8;
			int			k = 0;

			for (int j = 0; j < len; j++)
			{
				char		c = (char) next(r);

				if (c != '\0' && c != '/')
					comp[k++] = c;
			}
			comp[k] = '\0';
		}
		else
			snprintf(comp, sizeof(comp), "%s", t);
		if (i > 0)
			out[o++] = '/';
		o += (size_t) snprintf(out + o, outlen - o, "%s", comp);
	}
	if (strstr(out, ".part") != NULL)
		*part_named = true;
}

/*
 * walk_parent opens the folder holding the last component of a normalised
 * path, one component at a time, never following a link: the harness's
 * own safe walk.  -1 when any component is missing or not a folder.
 */
static int
walk_parent(int basefd, const char *rel, const char **last)
{
	char		buf[PATH_MAX];
	char	   *p = buf;
	int			fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	snprintf(buf, sizeof(buf), "%s", rel);
	for (;;)
	{
		char	   *slash = strchr(p, '/');
		int			sub;

		if (slash == NULL)
		{
			*last = rel + (p - buf);
			return fd;
		}
		*slash = '\0';
		sub = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (sub < 0)
			return -1;
		fd = sub;
		p = slash + 1;
	}
}

/* Set FUZZ_FILEOPS_TRACE=1 to see each call and its result on stderr. */
static bool trace;

/* check_result: success exactly with FILEOPS_OK; failures explained without absolute paths. */
static void
check_result(bool ok, const fileops_result *r)
{
	if (trace)
		fprintf(stderr, "  -> %s%s %s\n", fileops_status_name(r->status),
				r->already_there ? " (already there)" : "", r->message);
	REQUIRE(ok == (r->status == FILEOPS_OK));
	if (ok)
		REQUIRE(r->message[0] == '\0' && r->files >= 0 && r->folders >= 0 && r->bytes >= 0);
	else
	{
		REQUIRE(r->message[0] != '\0' && !r->already_there);
		REQUIRE(!(r->message[0] >= 'A' && r->message[0] <= 'Z'));
		REQUIRE(strstr(r->message, root) == NULL);
		REQUIRE(strlen(r->message) < sizeof(r->message));
	}
}

/* describe appends a listing of a small tree (names, types, sizes, bytes) to out. */
static void
describe(const char *path, const char *rel, char *out, size_t outlen)
{
	DIR		   *d = opendir(path);
	struct dirent *de;
	char	   *names[64];
	int			n = 0;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 64)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0)
			{
				char	   *t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	for (int i = 0; i < n; i++)
	{
		char		full[PATH_MAX];
		char		sub[PATH_MAX];
		char		line[PATH_MAX + 256];
		struct stat st;

		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]);
		if (lstat(full, &st) != 0)
			snprintf(line, sizeof(line), "%s ?\n", sub);
		else if (S_ISREG(st.st_mode))
		{
			char		bytes[64] = {0};
			int			fd = open(full, O_RDONLY | O_NOFOLLOW);

			if (fd >= 0)
			{
				if (read(fd, bytes, sizeof(bytes) - 1) < 0)
					bytes[0] = '\0';
				close(fd);
			}
			snprintf(line, sizeof(line), "%s %lld %s\n", sub, (long long) st.st_size, bytes);
		}
		else
			snprintf(line, sizeof(line), "%s %o\n", sub, (unsigned) (st.st_mode & S_IFMT));
		strncat(out, line, outlen - strlen(out) - 1);
		if (S_ISDIR(st.st_mode))
			describe(full, sub, out, outlen);
		free(names[i]);
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int	parts_left;

static int
part_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t		n = strlen(path);

	(void) sb;
	(void) ftw;
	if (flag != FTW_SL && n >= 5 && strcmp(path + n - 5, ".part") == 0)
		parts_left++;
	return 0;
}

/*
 * cleanup removes the temporary root when the fuzzer exits.
 */
static void
cleanup(void)
{
	if (root[0] != '\0')
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * setup makes the temporary root once: "base" (emptied before each input)
 * and "outside", whose description is kept.
 */
static void
setup(void)
{
	char		p[PATH_MAX];
	struct stat st;
	int			fd;

	snprintf(root, sizeof(root), "%s/fuzz_fileops.XXXXXX",
			 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
	REQUIRE(mkdtemp(root) != NULL);
	atexit(cleanup);
	snprintf(parent, sizeof(parent), "%s", root);
	*strrchr(parent, '/') = '\0';
	snprintf(base, sizeof(base), "%s/base", root);
	snprintf(p, sizeof(p), "%s/outside", root);
	REQUIRE(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/outside/dir", root);
	REQUIRE(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/outside/secret", root);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0 && write(fd, "secret", 6) == 6);
	close(fd);
	snprintf(p, sizeof(p), "%s/outside/dir/inner", root);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0 && write(fd, "inner", 5) == 5);
	close(fd);
	snprintf(p, sizeof(p), "%s/outside", root);
	describe(p, "", outside_before, sizeof(outside_before));
}

/*
 * check_confined: the root holds base and outside only, outside is
 * unchanged, and none of the fuzzer's names appeared beside the root.
 */
static void
check_confined(void)
{
	static const char *const names[] = {"fzA", "fzB", "fzC", "fzD", "lnk", "fifo", "fzA.part", "fzB.old.part"};
	char		now[8192] = {0};
	char		p[PATH_MAX];
	DIR		   *d = opendir(root);
	struct dirent *de;
	struct stat st;

	REQUIRE(d != NULL);
	while ((de = readdir(d)) != NULL)
		REQUIRE(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
				strcmp(de->d_name, "base") == 0 || strcmp(de->d_name, "outside") == 0);
	closedir(d);
	snprintf(p, sizeof(p), "%s/outside", root);
	describe(p, "", now, sizeof(now));
	REQUIRE(strcmp(now, outside_before) == 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		snprintf(p, sizeof(p), "%s/%s", parent, names[i]);
		REQUIRE(lstat(p, &st) != 0);
		snprintf(p, sizeof(p), "/%s", names[i]);
		REQUIRE(lstat(p, &st) != 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reader		r = {data, size};
	fileops_result res;
	bool		part_named = false;
	int			basefd;

	if (root[0] == '\0')
	{
		trace = getenv("FUZZ_FILEOPS_TRACE") != NULL;
		setup();
	}
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	REQUIRE(mkdir(base, 0700) == 0);
	basefd = fileops_open_base(base, &res);
	REQUIRE(basefd >= 0);

	for (int step = 0; step < MAX_STEPS && r.left > 0; step++)
	{
		char		a[PATH_MAX];
		char		b[PATH_MAX];
		char		norm[PATH_MAX];
		uint8_t		op = next(&r);
		uint8_t		flags = next(&r);
		fileops_overwrite ow = (flags & 1) ? FILEOPS_REPLACE : FILEOPS_KEEP;
		fileops_limits lim = {(flags & 2) ? flags >> 2 : 0, (flags & 2) ? (flags >> 5) : 0};
		bool		ok;

		gen_path(&r, a, sizeof(a), &part_named);
		if (trace)
			fprintf(stderr, "step %d: op %d flags %d \"%s\"\n", step, op % 11, flags, a);
		switch (op % 11)
		{
			case 0:
				ok = fileops_mkdir(basefd, a, &res);
				check_result(ok, &res);
				break;
			case 1:
				{
					char		buf[64];
					size_t		len = next(&r) % sizeof(buf);

					for (size_t i = 0; i < len; i++)
						buf[i] = (char) next(&r);
					ok = fileops_write(basefd, a, buf, len, ow, &res);
					check_result(ok, &res);
					REQUIRE(!ok || res.already_there || (res.files == 1 && res.bytes == (int64_t) len));
				}
				break;
			case 2:
				gen_path(&r, b, sizeof(b), &part_named);
				ok = fileops_copy(basefd, a, b, ow, (flags & 2) ? &lim : NULL, &res);
				check_result(ok, &res);
				if (ok && !res.already_there && (flags & 2) && lim.max_bytes > 0)
					REQUIRE(res.bytes <= lim.max_bytes);
				break;
			case 3:
				gen_path(&r, b, sizeof(b), &part_named);
				ok = fileops_move(basefd, a, b, ow, (flags & 2) ? &lim : NULL, &res);
				check_result(ok, &res);
				break;
			case 4:
				ok = fileops_delete(basefd, a, flags & 1, &res);
				check_result(ok, &res);
				break;
			default:
				{
					const char *last;
					int			pfd;

					/* the ground a hostile user prepares, with a walk that follows no link */
					if (path_normalize_relative(a, norm, sizeof(norm)) != PATH_OK)
						break;
					pfd = walk_parent(basefd, norm, &last);
					if (pfd < 0)
						break;
					if (op % 11 == 5)
					{
						static const char *const targets[] = {"OUT_DIR", "OUT_FILE", "..", "../..", "/", "nowhere"};
						const char *t = targets[flags % 6];
						char		target[PATH_MAX];

						if (strcmp(t, "OUT_DIR") == 0)
							snprintf(target, sizeof(target), "%s/outside/dir", root);
						else if (strcmp(t, "OUT_FILE") == 0)
							snprintf(target, sizeof(target), "%s/outside/secret", root);
						else
							snprintf(target, sizeof(target), "%s", t);
						(void) symlinkat(target, pfd, last);
					}
					else if (op % 11 == 6)
						(void) mknodat(pfd, last, S_IFIFO | 0600, 0);
					else if (op % 11 == 7 || op % 11 == 8)
					{
						int			fd = openat(pfd, last, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0600);

						if (fd >= 0)
						{
							char		bytes[2] = {(char) flags, (char) op};

							if (write(fd, bytes, flags % 3) < 0)
								flags = 0;
							close(fd);
						}
					}
					else if (op % 11 == 9)
						(void) mkdirat(pfd, last, 0700);
					else
					{
						const char *last2;
						int			pfd2;

						gen_path(&r, b, sizeof(b), &part_named);
						if (path_normalize_relative(b, norm, sizeof(norm)) == PATH_OK &&
							(pfd2 = walk_parent(basefd, norm, &last2)) >= 0)
						{
							(void) renameat2(pfd, last, pfd2, last2, RENAME_EXCHANGE);
							close(pfd2);
						}
					}
					close(pfd);
				}
				break;
		}
	}

	close(basefd);
	check_confined();
	if (!part_named)
	{
		parts_left = 0;
		nftw(base, part_one, 16, FTW_PHYS);
		REQUIRE(parts_left == 0);
	}
	return 0;
}
