/*
 * test_archive.c — unit tests of the archive kernel (src/jobs/archive.c,
 * archive_package.c).
 *
 * Every fixture is made at run time under a mkdtemp folder in /tmp, with
 * libarchive's writer (zip, pax, gnutar and ustar; gzip, bzip2 and xz) so
 * that hostile entries can be crafted: "..", absolute names, links,
 * devices, FIFOs, too many entries, zip bombs (one whose headers lie about
 * the size, patched by hand), duplicates, corrupt data, non-archives.  Each
 * must be refused with a reason naming the problem, leaving neither the
 * destination nor "<dest>.part" nor anything outside.  Good archives must
 * extract byte for byte with the right listing, and packaged folders must
 * read back identically, the already compressed files stored.
 *
 * The fixtures are written in a C.UTF-8 locale (so that zip entries get
 * the UTF-8 flag, as real tools set it) while the kernel is called from
 * the plain "C" locale, as a server in a "C" database would.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "jobs/archive.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zip.h>

#define MB (1024 * 1024)

enum
{
	FMT_ZIP, FMT_ZIP_STORE, FMT_PAX, FMT_GNUTAR, FMT_USTAR
};
enum
{
	FLT_NONE, FLT_GZIP, FLT_BZIP2, FLT_XZ
};

/* One entry of a fixture: type 'f' file, 'd' folder, 'l' symlink, 'h' hard link, 'c'/'b' device, 'p' FIFO. */
typedef struct fx
{
	const char *name;
	char		type;
	const char *data;
	size_t		len;
	const char *link;
} fx;

static char root[64];
static locale_t utf8_locale;

/*
 * at formats a path under the temporary root into a static ring of buffers.
 */
static const char *
at(const char *fmt,...)
{
	static char bufs[8][PATH_MAX];
	static int	next = 0;
	char	   *b = bufs[next++ % 8];
	char		rel[PATH_MAX - 128];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(b, PATH_MAX, "%s/%s", root, rel);
	return b;
}

/*
 * exists says whether something (even a dangling link) is at path.
 */
static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * write_file creates or truncates a file with the given contents.
 */
static bool
write_file(const char *path, const void *data, size_t len)
{
	int			fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	bool		ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t) len;
	return close(fd) == 0 && ok;
}

/* read_all returns the malloc'd contents of a file (NULL if unreadable). */
static char *
read_all(const char *path, size_t *len)
{
	int			fd = open(path, O_RDONLY);
	struct stat st;
	char	   *buf;

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || (buf = malloc((size_t) st.st_size + 1)) == NULL)
	{
		close(fd);
		return NULL;
	}
	if (read(fd, buf, (size_t) st.st_size) != (ssize_t) st.st_size)
	{
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t) st.st_size;
	return buf;
}

/*
 * same_contents says whether the file holds exactly len bytes of data.
 */
static bool
same_contents(const char *path, const char *data, size_t len)
{
	size_t		got_len;
	char	   *got = read_all(path, &got_len);
	bool		same = got != NULL && got_len == len && (len == 0 || memcmp(got, data, len) == 0);

	free(got);
	return same;
}

/*
 * rm_one is the nftw callback of rm_rf: children first, links not followed.
 */
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

/*
 * rm_rf removes a tree, never following symbolic links.
 */
static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* count_root returns how many names the temporary root holds. */
static int
count_root(void)
{
	DIR		   *d = opendir(root);
	struct dirent *de;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int	tree_files;
static int	tree_bad_modes;

/*
 * tree_one is the nftw callback of count_tree.
 */
static int
tree_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) path;
	if (flag == FTW_F)
	{
		tree_files++;
		if ((sb->st_mode & 07777) != 0600)
			tree_bad_modes++;
	}
	else if (flag == FTW_D && ftw->level > 0 && (sb->st_mode & 07777) != 0700)
		tree_bad_modes++;
	else if (flag != FTW_D)
		tree_bad_modes++;
	return 0;
}

/* count_tree counts the regular files under path; *bad gets the entries with wrong modes or types. */
static int
count_tree(const char *path, int *bad)
{
	tree_files = 0;
	tree_bad_modes = 0;
	nftw(path, tree_one, 16, FTW_PHYS);
	*bad = tree_bad_modes;
	return tree_files;
}

/*
 * make_archive writes the entries into a new archive of the format and
 * filter given, in the C.UTF-8 locale.  Returns false (with a diagnostic)
 * if libarchive refuses something.
 */
static bool
make_archive(const char *path, int fmt, int flt, const fx *e, int n)
{
	locale_t	saved = uselocale(utf8_locale);
	struct archive *a = archive_write_new();
	bool		ok = true;

	switch (fmt)
	{
		case FMT_ZIP:
			archive_write_set_format_zip(a);
			break;
		case FMT_ZIP_STORE:
			archive_write_set_format_zip(a);
			archive_write_set_format_option(a, "zip", "compression", "store");
			break;
		case FMT_PAX:
			archive_write_set_format_pax(a);
			break;
		case FMT_GNUTAR:
			archive_write_set_format_gnutar(a);
			break;
		case FMT_USTAR:
			archive_write_set_format_ustar(a);
			break;
	}
	if (flt == FLT_GZIP)
		archive_write_add_filter_gzip(a);
	else if (flt == FLT_BZIP2)
		archive_write_add_filter_bzip2(a);
	else if (flt == FLT_XZ)
		archive_write_add_filter_xz(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
	{
		printf("# cannot create %s: %s\n", path, archive_error_string(a));
		ok = false;
	}
	for (int i = 0; ok && i < n; i++)
	{
		struct archive_entry *ae = archive_entry_new();
		int			r;

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_mtime(ae, 1700000000, 0);
		switch (e[i].type)
		{
			case 'f':
				archive_entry_set_filetype(ae, AE_IFREG);
				archive_entry_set_perm(ae, 0644);
				archive_entry_set_size(ae, (la_int64_t) e[i].len);
				break;
			case 'd':
				archive_entry_set_filetype(ae, AE_IFDIR);
				archive_entry_set_perm(ae, 0755);
				break;
			case 'l':
				archive_entry_set_filetype(ae, AE_IFLNK);
				archive_entry_set_perm(ae, 0777);
				archive_entry_set_symlink(ae, e[i].link);
				break;
			case 'h':
				archive_entry_set_filetype(ae, AE_IFREG);
				archive_entry_set_perm(ae, 0644);
				archive_entry_set_hardlink(ae, e[i].link);
				archive_entry_set_size(ae, 0);
				break;
			case 'c':
			case 'b':
				archive_entry_set_filetype(ae, e[i].type == 'c' ? AE_IFCHR : AE_IFBLK);
				archive_entry_set_perm(ae, 0666);
				archive_entry_set_rdev(ae, makedev(1, 3));
				break;
			case 'p':
				archive_entry_set_filetype(ae, AE_IFIFO);
				archive_entry_set_perm(ae, 0644);
				break;
		}
		r = archive_write_header(a, ae);
		if (r != ARCHIVE_OK)
		{
			printf("# cannot write header %s: %s\n", e[i].name, archive_error_string(a));
			ok = false;
		}
		else if (e[i].type == 'f' && e[i].len > 0 &&
				 archive_write_data(a, e[i].data, e[i].len) != (la_ssize_t) e[i].len)
		{
			printf("# cannot write data %s: %s\n", e[i].name, archive_error_string(a));
			ok = false;
		}
		archive_entry_free(ae);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		ok = false;
	archive_write_free(a);
	uselocale(saved);
	return ok;
}

/*
 * make_bomb writes a zip with one deflated entry of size zero bytes.
 */
static bool
make_bomb(const char *path, int64_t size)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	char	   *zeros = calloc(1, MB);
	bool		ok = true;

	archive_write_set_format_zip(a);
	archive_write_set_format_option(a, "zip", "compression-level", "1");
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		ok = false;
	archive_entry_set_pathname(ae, "zeros.bin");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, size);
	if (ok && archive_write_header(a, ae) != ARCHIVE_OK)
		ok = false;
	for (int64_t done = 0; ok && done < size; done += MB)
		if (archive_write_data(a, zeros, MB) != MB)
			ok = false;
	if (archive_write_close(a) != ARCHIVE_OK)
		ok = false;
	archive_write_free(a);
	archive_entry_free(ae);
	free(zeros);
	return ok;
}

/*
 * get32 reads a little-endian 32-bit field of a zip header.
 */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*
 * put32 writes a little-endian 32-bit field of a zip header.
 */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/*
 * make_lying_bomb copies the bomb with every uncompressed size field (local
 * header, data descriptor, central directory) set to claim.  Returns how
 * many fields it patched (0 if the layout was not the expected one).
 */
static int
make_lying_bomb(const char *from, const char *to, uint32_t claim)
{
	size_t		len;
	unsigned char *z = (unsigned char *) read_all(from, &len);
	int			patched = 0;

	if (z == NULL || len < 64 || memcmp(z, "PK\3\4", 4) != 0)
	{
		free(z);
		return 0;
	}
	/* local header: uncompressed size at 22 (0 when a data descriptor follows) */
	if (get32(z + 22) != 0 && get32(z + 22) != 0xffffffffu)
	{
		put32(z + 22, claim);
		patched++;
	}
	/* the end of central directory, then the central header */
	for (size_t i = len - 22; i > 0; i--)
		if (memcmp(z + i, "PK\5\6", 4) == 0)
		{
			size_t		cd = get32(z + i + 16);

			if (cd + 46 < len && memcmp(z + cd, "PK\1\2", 4) == 0 && get32(z + cd + 24) != 0xffffffffu)
			{
				put32(z + cd + 24, claim);
				patched++;
			}
			/* the data descriptor, just before the central directory (4-byte sizes) */
			if (cd >= 16 && memcmp(z + cd - 16, "PK\7\10", 4) == 0)
			{
				put32(z + cd - 4, claim);
				patched++;
			}
			break;
		}
	if (!write_file(to, z, len))
		patched = 0;
	free(z);
	return patched;
}

/*
 * patch_zip_mode sets the Unix mode of the named entry in the central
 * directory (external attributes, "made by" Unix): the way to put a socket
 * into a zip, which libarchive's writer refuses to do.
 */
static bool
patch_zip_mode(const char *path, const char *name, uint32_t mode)
{
	size_t		len;
	unsigned char *z = (unsigned char *) read_all(path, &len);
	bool		done = false;

	for (size_t i = len >= 22 ? len - 22 : 0; z != NULL && i > 0; i--)
		if (memcmp(z + i, "PK\5\6", 4) == 0)
		{
			size_t		cd = get32(z + i + 16);

			while (!done && cd + 46 <= len && memcmp(z + cd, "PK\1\2", 4) == 0)
			{
				size_t		n = (size_t) (z[cd + 28] | z[cd + 29] << 8);
				size_t		m = (size_t) (z[cd + 30] | z[cd + 31] << 8);
				size_t		k = (size_t) (z[cd + 32] | z[cd + 33] << 8);

				if (n == strlen(name) && memcmp(z + cd + 46, name, n) == 0)
				{
					z[cd + 5] = 3;	/* made by: Unix */
					put32(z + cd + 38, mode << 16);
					done = true;
				}
				cd += 46 + n + m + k;
			}
			break;
		}
	done = done && write_file(path, z, len);
	free(z);
	return done;
}

/* first_entry_size returns the size the first entry's header claims, per libarchive. */
static int64_t
first_entry_size(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int64_t		size = -1;

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 65536) == ARCHIVE_OK &&
		archive_read_next_header(a, &ae) == ARCHIVE_OK)
		size = archive_entry_size(ae);
	archive_read_free(a);
	return size;
}

/*
 * refused extracts src into root/out and checks the refusal: false, a
 * reason holding want, no out nor out.part, nothing new in the root, no
 * "evil" file where the hostile names point.
 */
static void
refused(const char *label, const char *src, const archive_limits *limits, const char *want)
{
	archive_listing l;
	char		err[1024] = "";
	char		what[256];
	int			before = count_root();
	bool		ok = archive_extract(src, at("out"), limits, &l, err, sizeof(err));

	snprintf(what, sizeof(what), "%s: refused", label);
	CHECK(!ok, what);
	snprintf(what, sizeof(what), "%s: reason names the problem (\"%s\")", label, want);
	if (!CHECK(strstr(err, want) != NULL, what))
		printf("#   reason: %s\n", err);
	snprintf(what, sizeof(what), "%s: no destination, no .part, nothing outside", label);
	CHECK(!exists(at("out")) && !exists(at("out.part")) && count_root() == before &&
		  !exists(at("evil")) && !exists("/abs/evil") && !exists("/tmp/evil") &&
		  l.count == 0 && l.entries == NULL, what);
	if (ok)
	{
		archive_listing_free(&l);
		rm_rf(at("out"));
	}
}

/*
 * compare_fx_name orders fixture entries by name, bytewise.
 */
static int
compare_fx_name(const void *a, const void *b)
{
	return strcmp(((const fx *) a)->name, ((const fx *) b)->name);
}

/*
 * extracts_well checks that src extracts into root/out with exactly the
 * expected files (normalised names, sorted) and contents, then removes it.
 */
static void
extracts_well(const char *label, const char *src, const fx *want, int nwant)
{
	archive_listing l;
	char		err[1024] = "";
	char		what[256];
	fx		   *sorted = malloc(sizeof(fx) * (size_t) nwant);
	bool		ok;
	bool		listing_ok = true;
	bool		contents_ok = true;
	int64_t		total = 0;
	int			bad = 0;

	memcpy(sorted, want, sizeof(fx) * (size_t) nwant);
	qsort(sorted, (size_t) nwant, sizeof(fx), compare_fx_name);
	ok = archive_extract(src, at("out"), NULL, &l, err, sizeof(err));
	snprintf(what, sizeof(what), "%s: extracted", label);
	if (!CHECK(ok, what))
		printf("#   reason: %s\n", err);
	if (ok)
	{
		snprintf(what, sizeof(what), "%s: listing count", label);
		CHECK_INT(l.count, nwant, what);
		for (int i = 0; i < nwant && (size_t) i < l.count; i++)
		{
			total += (int64_t) sorted[i].len;
			if (strcmp(l.entries[i].path, sorted[i].name) != 0 || l.entries[i].size != (int64_t) sorted[i].len)
			{
				printf("#   listing[%d] = %s %lld, want %s %zu\n", i, l.entries[i].path,
					   (long long) l.entries[i].size, sorted[i].name, sorted[i].len);
				listing_ok = false;
			}
			if (!same_contents(at("out/%s", sorted[i].name), sorted[i].data, sorted[i].len))
			{
				printf("#   contents of %s differ\n", sorted[i].name);
				contents_ok = false;
			}
		}
		snprintf(what, sizeof(what), "%s: listing sorted, normalised, sized", label);
		CHECK(listing_ok && l.total_bytes == total, what);
		snprintf(what, sizeof(what), "%s: byte-identical contents", label);
		CHECK(contents_ok, what);
		snprintf(what, sizeof(what), "%s: nothing else written, files 0600, folders 0700", label);
		CHECK(count_tree(at("out"), &bad) == nwant && bad == 0 && !exists(at("out.part")), what);
		archive_listing_free(&l);
		CHECK(l.entries == NULL && l.count == 0, "listing freed and emptied");
	}
	rm_rf(at("out"));
	free(sorted);
}

/* fill makes len bytes of a reproducible pattern (random-looking when noisy). */
static char *
fill(size_t len, unsigned seed, bool noisy)
{
	char	   *b = malloc(len ? len : 1);
	uint32_t	x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++)
	{
		x = x * 1103515245u + 12345u;
		b[i] = noisy ? (char) (x >> 16) : "lorem ipsum dolor sit amet\n"[i % 27];
	}
	return b;
}

/*
 * test_good_archives extracts the same tree from every format and filter.
 */
static void
test_good_archives(void)
{
	char	   *text = fill(5000, 1, false);
	char	   *noise = fill(100 * 1024, 2, true);
	char	   *big = fill(3 * MB + 17, 3, true);
	fx			in[] = {
		{"top.txt", 'f', text, 5000, NULL},
		{"dir/", 'd', NULL, 0, NULL},
		{"dir/sub/deep.bin", 'f', noise, 100 * 1024, NULL},
		{"dir/sub/", 'd', NULL, 0, NULL},
		{"dir/empty.txt", 'f', "", 0, NULL},
		{"d\xc3\xa9j\xc3\xa0/\xe5\x90\x8d\xe5\x89\x8d.txt", 'f', "utf-8\n", 6, NULL},
		{"./dot//x.txt", 'f', "x", 1, NULL},
		{"big.bin", 'f', big, 3 * MB + 17, NULL},
	};
	fx			out[] = {
		{"top.txt", 'f', text, 5000, NULL},
		{"dir/sub/deep.bin", 'f', noise, 100 * 1024, NULL},
		{"dir/empty.txt", 'f', "", 0, NULL},
		{"d\xc3\xa9j\xc3\xa0/\xe5\x90\x8d\xe5\x89\x8d.txt", 'f', "utf-8\n", 6, NULL},
		{"dot/x.txt", 'f', "x", 1, NULL},
		{"big.bin", 'f', big, 3 * MB + 17, NULL},
	};
	struct
	{
		const char *label;
		const char *file;
		int			fmt;
		int			flt;
	}			cases[] = {
		{"zip (deflate)", "good.zip", FMT_ZIP, FLT_NONE},
		{"zip (stored)", "good-store.zip", FMT_ZIP_STORE, FLT_NONE},
		{"tar.gz (pax)", "good.tar.gz", FMT_PAX, FLT_GZIP},
		{"tar.bz2 (gnutar)", "good.tar.bz2", FMT_GNUTAR, FLT_BZIP2},
		{"tar.xz (pax)", "good.tar.xz", FMT_PAX, FLT_XZ},
		{"tar (ustar)", "good.tar", FMT_USTAR, FLT_NONE},
		{"tar.gz (gnutar)", "good-gnu.tgz", FMT_GNUTAR, FLT_GZIP},
	};
	int			nin = (int) (sizeof(in) / sizeof(in[0]));
	int			nout = (int) (sizeof(out) / sizeof(out[0]));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		what[128];

		snprintf(what, sizeof(what), "%s: fixture written", cases[i].label);
		CHECK(make_archive(at("%s", cases[i].file), cases[i].fmt, cases[i].flt, in, nin), what);
		extracts_well(cases[i].label, at("%s", cases[i].file), out, nout);
		unlink(at("%s", cases[i].file));
	}

	/* a root entry "./" and folders only around a file */
	{
		fx			dots[] = {{"./", 'd', NULL, 0, NULL}, {"./a/", 'd', NULL, 0, NULL}, {"./a/f", 'f', "f", 1, NULL}};
		fx			dots_out[] = {{"a/f", 'f', "f", 1, NULL}};

		CHECK(make_archive(at("dots.tar"), FMT_GNUTAR, FLT_NONE, dots, 3), "\"./\" fixture written");
		extracts_well("tar with a \"./\" root entry", at("dots.tar"), dots_out, 1);
		unlink(at("dots.tar"));
	}
	free(text);
	free(noise);
	free(big);
}

/*
 * test_hostile_archives checks every refusal, each with a good entry first.
 */
static void
test_hostile_archives(void)
{
	fx			good = {"good.txt", 'f', "good\n", 5, NULL};
	archive_limits lim = {0, 0};
	struct
	{
		const char *label;
		int			fmt;
		int			flt;
		fx			bad;
		const char *want;
	}			cases[] = {
		{"../evil (tar.gz)", FMT_PAX, FLT_GZIP, {"../evil", 'f', "evil", 4, NULL}, "\"..\" component"},
		{"a/../../evil (zip)", FMT_ZIP, FLT_NONE, {"a/../../evil", 'f', "evil", 4, NULL}, "\"..\" component"},
		{"/abs/evil (tar)", FMT_GNUTAR, FLT_NONE, {"/abs/evil", 'f', "evil", 4, NULL}, "path is absolute"},
		{"/tmp/evil (zip)", FMT_ZIP, FLT_NONE, {"/tmp/evil", 'f', "evil", 4, NULL}, "path is absolute"},
		{"symlink to /etc (tar)", FMT_PAX, FLT_NONE, {"etc", 'l', NULL, 0, "/etc"}, "\"etc\" is a symbolic link"},
		{"symlink to /etc (zip)", FMT_ZIP, FLT_NONE, {"etc", 'l', NULL, 0, "/etc"}, "\"etc\" is a symbolic link"},
		{"relative symlink (tar.xz)", FMT_GNUTAR, FLT_XZ, {"up", 'l', NULL, 0, ".."}, "\"up\" is a symbolic link"},
		{"hard link (tar)", FMT_GNUTAR, FLT_NONE, {"hl", 'h', NULL, 0, "good.txt"}, "\"hl\" is a hard link"},
		{"hard link (pax.bz2)", FMT_PAX, FLT_BZIP2, {"hl", 'h', NULL, 0, "/etc/passwd"}, "\"hl\" is a hard link"},
		{"character device (tar)", FMT_PAX, FLT_NONE, {"null", 'c', NULL, 0, NULL}, "\"null\" is a device"},
		{"block device (tar)", FMT_GNUTAR, FLT_NONE, {"sda", 'b', NULL, 0, NULL}, "\"sda\" is a device"},
		{"FIFO (tar)", FMT_USTAR, FLT_NONE, {"fifo", 'p', NULL, 0, NULL}, "\"fifo\" is a FIFO"},
		{"backslash (tar)", FMT_PAX, FLT_NONE, {"a\\b", 'f', "x", 1, NULL}, "backslash"},
		/* libarchive's zip reader turns backslashes into slashes: then ".." shows */
		{"backslashed .. (zip)", FMT_ZIP, FLT_NONE, {"a\\..\\..\\evil", 'f', "x", 1, NULL}, "\"..\" component"},
		{"control character (tar)", FMT_PAX, FLT_NONE, {"a\nb", 'f', "x", 1, NULL}, "control character"},
		{"not UTF-8 (gnutar)", FMT_GNUTAR, FLT_NONE, {"caf\xe9", 'f', "x", 1, NULL}, "not valid UTF-8"},
		{"duplicate name (zip)", FMT_ZIP, FLT_NONE, {"./good.txt", 'f', "other", 5, NULL}, "\"good.txt\" appears twice"},
		{"duplicate as folder (tar)", FMT_GNUTAR, FLT_NONE, {"good.txt/", 'd', NULL, 0, NULL}, "\"good.txt\" appears twice"},
		{"file used as folder (tar)", FMT_PAX, FLT_NONE, {"good.txt/x", 'f', "x", 1, NULL}, "is inside it"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		/* the good entry first: it must not be written either */
		fx			two[2] = {good, cases[i].bad};
		char		what[128];

		snprintf(what, sizeof(what), "%s: fixture written", cases[i].label);
		CHECK(make_archive(at("bad"), cases[i].fmt, cases[i].flt, two, 2), what);
		refused(cases[i].label, at("bad"), NULL, cases[i].want);
		unlink(at("bad"));
	}

	/* a socket, smuggled into a zip through the central directory */
	{
		fx			two[] = {good, {"sock", 'f', "s", 1, NULL}};

		CHECK(make_archive(at("bad"), FMT_ZIP, FLT_NONE, two, 2) &&
			  patch_zip_mode(at("bad"), "sock", S_IFSOCK | 0644), "socket fixture written");
		refused("socket (zip)", at("bad"), NULL, "\"sock\" is a socket");
		CHECK(make_archive(at("bad"), FMT_ZIP, FLT_NONE, two, 2) &&
			  patch_zip_mode(at("bad"), "sock", S_IFCHR | 0644), "zip device fixture written");
		refused("device (zip)", at("bad"), NULL, "\"sock\" is a device");
		unlink(at("bad"));
	}

	/* duplicates through normalisation, the second deep in the archive */
	{
		fx			dup[] = {{"d/x", 'f', "1", 1, NULL}, {"e", 'f', "2", 1, NULL}, {"d//./x", 'f', "3", 1, NULL}};

		CHECK(make_archive(at("bad"), FMT_PAX, FLT_GZIP, dup, 3), "normalised duplicate fixture written");
		refused("d/x and d//./x", at("bad"), NULL, "\"d/x\" appears twice");
		unlink(at("bad"));
	}

	/* empty archives, non-archives */
	CHECK(make_archive(at("empty.tar"), FMT_PAX, FLT_NONE, NULL, 0), "empty tar written");
	refused("empty tar", at("empty.tar"), NULL, "is empty");
	unlink(at("empty.tar"));
	CHECK(make_archive(at("empty.zip"), FMT_ZIP, FLT_NONE, NULL, 0), "empty zip written");
	refused("empty zip", at("empty.zip"), NULL, "is empty");
	unlink(at("empty.zip"));
	CHECK(make_archive(at("empty.tgz"), FMT_GNUTAR, FLT_GZIP, NULL, 0), "empty tar.gz written");
	refused("empty tar.gz", at("empty.tgz"), NULL, "is empty");
	unlink(at("empty.tgz"));
	CHECK(write_file(at("text.zip"), "this is not an archive\n", 23), "text file written");
	refused("text file", at("text.zip"), NULL, "unrecognized archive format");
	unlink(at("text.zip"));
	CHECK(write_file(at("zero.zip"), "", 0), "zero-byte file written");
	refused("zero-byte file", at("zero.zip"), NULL, "cannot read archive");
	unlink(at("zero.zip"));
	{
		/* gzip of a text: the filter is fine, the format is not (no "raw" format) */
		struct archive *a = archive_write_new();
		struct archive_entry *ae = archive_entry_new();

		archive_write_set_format_raw(a);
		archive_write_add_filter_gzip(a);
		archive_write_open_filename(a, at("text.gz"));
		archive_entry_set_pathname(ae, "text");
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_write_header(a, ae);
		archive_write_data(a, "just some text, not a tar\n", 26);
		archive_write_close(a);
		archive_write_free(a);
		archive_entry_free(ae);
		refused("gzipped text (raw format)", at("text.gz"), NULL, "unrecognized archive format");
		unlink(at("text.gz"));
	}

	/* a truncated tar.gz: the data run out in pass 1 */
	{
		char	   *noise = fill(300 * 1024, 9, true);
		fx			one[] = {{"a", 'f', "a", 1, NULL}, {"noise.bin", 'f', noise, 300 * 1024, NULL}};
		size_t		len;
		char	   *all;

		CHECK(make_archive(at("trunc.tgz"), FMT_PAX, FLT_GZIP, one, 2), "truncated fixture written");
		all = read_all(at("trunc.tgz"), &len);
		CHECK(all != NULL && write_file(at("trunc.tgz"), all, len / 2), "archive cut in half");
		refused("truncated tar.gz", at("trunc.tgz"), NULL, "noise.bin");
		unlink(at("trunc.tgz"));
		free(all);
		free(noise);
	}

	/* a stored zip entry with one byte flipped: bad CRC */
	{
		char	   *noise = fill(10000, 5, true);
		fx			one[] = {{"noise.bin", 'f', noise, 10000, NULL}};
		size_t		len;
		char	   *all;

		CHECK(make_archive(at("crc.zip"), FMT_ZIP_STORE, FLT_NONE, one, 1), "CRC fixture written");
		all = read_all(at("crc.zip"), &len);
		/* the data start after the 30-byte local header, the name and the extra field */
		if (all != NULL && len > 1000)
		{
			size_t		data = 30 + (size_t) ((unsigned char) all[26] | (unsigned char) all[27] << 8) +
				(size_t) ((unsigned char) all[28] | (unsigned char) all[29] << 8);

			all[data + 5000] ^= 0x01;
			CHECK(write_file(at("crc.zip"), all, len), "one data byte flipped");
		}
		refused("zip with a bad CRC", at("crc.zip"), NULL, "CRC");
		unlink(at("crc.zip"));
		free(all);
		free(noise);
	}

	/*
	 * 10,001 tiny entries against max_entries 10,000 (refused in pass 1, so
	 * nothing is written); the boundary, where files do get written, with
	 * 1,001 and 1,000 entries against 1,000 (creating 10,000 files takes
	 * seconds on a slow disk).  The archives list the files in reverse.
	 */
	{
		fx		   *many = malloc(sizeof(fx) * 10001);
		char	  (*names)[16] = malloc(16 * 10001);
		int			bad = 0;
		archive_listing l;
		char		err[1024] = "";

		for (int i = 0; i < 10001; i++)
		{
			snprintf(names[i], 16, "f/%05d", 10000 - i);
			many[i] = (fx) {names[i], 'f', "", 0, NULL};
		}
		lim.max_entries = 10000;
		CHECK(make_archive(at("many.tar"), FMT_USTAR, FLT_NONE, many, 10001), "10,001-entry fixture written");
		refused("10,001 entries", at("many.tar"), &lim, "more than 10000 entries");
		unlink(at("many.tar"));
		CHECK(make_archive(at("many.zip"), FMT_ZIP, FLT_NONE, many, 10001), "10,001-entry zip written");
		refused("10,001 entries (zip)", at("many.zip"), &lim, "more than 10000 entries");
		unlink(at("many.zip"));

		lim.max_entries = 1000;
		CHECK(make_archive(at("many.zip"), FMT_ZIP, FLT_NONE, many + 10001 - 1001, 1001), "1,001-entry fixture written");
		refused("1,001 entries", at("many.zip"), &lim, "more than 1000 entries");
		unlink(at("many.zip"));
		CHECK(make_archive(at("many.zip"), FMT_ZIP, FLT_NONE, many + 10001 - 1000, 1000), "1,000-entry fixture written");
		CHECK(archive_extract(at("many.zip"), at("out"), &lim, &l, err, sizeof(err)), "1,000 entries pass");
		CHECK_INT(l.count, 1000, "1,000 files listed");
		CHECK(l.count == 1000 && strcmp(l.entries[0].path, "f/00000") == 0 &&
			  strcmp(l.entries[999].path, "f/00999") == 0, "listing sorted");
		CHECK_INT(count_tree(at("out"), &bad), 1000, "1,000 files written");
		archive_listing_free(&l);
		rm_rf(at("out"));
		unlink(at("many.zip"));
		lim.max_entries = 0;
		free(many);
		free(names);
	}

	/* zip bombs: 200 MB of zeros against 100 MB, honest and lying headers */
	{
		int			patched;

		lim.max_bytes = 100 * (int64_t) MB;
		CHECK(make_bomb(at("bomb.zip"), 200 * (int64_t) MB), "200 MB bomb written");
		CHECK(first_entry_size(at("bomb.zip")) == 200 * (int64_t) MB, "honest bomb claims 200 MB");
		refused("zip bomb", at("bomb.zip"), &lim, "more than 104857600 bytes");
		patched = make_lying_bomb(at("bomb.zip"), at("liar.zip"), 1000);
		CHECK(patched >= 2, "lying bomb: size fields patched");
		CHECK(first_entry_size(at("liar.zip")) == 1000, "lying bomb claims 1000 bytes");
		refused("zip bomb with a lying header", at("liar.zip"), &lim, "more than 104857600 bytes");
		unlink(at("bomb.zip"));
		unlink(at("liar.zip"));
		lim.max_bytes = 0;
	}

	/* byte limit hit exactly vs one byte over, over several entries */
	{
		char	   *noise = fill(1000, 4, true);
		fx			three[] = {{"a", 'f', noise, 400, NULL}, {"b", 'f', noise, 400, NULL}, {"c", 'f', noise, 200, NULL}};
		archive_listing l;
		char		err[1024] = "";

		CHECK(make_archive(at("limit.tar.gz"), FMT_PAX, FLT_GZIP, three, 3), "limit fixture written");
		lim.max_bytes = 999;
		refused("1000 bytes against 999", at("limit.tar.gz"), &lim, "(limit reached in entry \"c\")");
		lim.max_bytes = 1000;
		CHECK(archive_extract(at("limit.tar.gz"), at("out"), &lim, &l, err, sizeof(err)), "1000 bytes against 1000 pass");
		CHECK_INT(l.total_bytes, 1000, "total bytes listed");
		archive_listing_free(&l);
		rm_rf(at("out"));
		unlink(at("limit.tar.gz"));
		lim.max_bytes = 0;
		free(noise);
	}
}

/*
 * test_extract_misuse checks bad arguments, existing destinations and a
 * failure in the second pass.
 */
static void
test_extract_misuse(void)
{
	fx			one[] = {{"f.txt", 'f', "hello", 5, NULL}};
	archive_listing l;
	char		err[1024];
	archive_limits neg = {-1, 0};

	CHECK(make_archive(at("one.zip"), FMT_ZIP, FLT_NONE, one, 1), "small zip written");

	/* destination exists: refused, left alone */
	mkdir(at("out"), 0755);
	write_file(at("out/keep"), "keep", 4);
	CHECK(!archive_extract(at("one.zip"), at("out"), NULL, &l, err, sizeof(err)), "existing destination refused");
	CHECK(strstr(err, "destination exists") != NULL, "reason: destination exists");
	CHECK(same_contents(at("out/keep"), "keep", 4) && !exists(at("out/f.txt")) && !exists(at("out.part")),
		  "existing destination untouched");
	rm_rf(at("out"));

	/* a .part already there (another job?): refused and not removed */
	mkdir(at("out.part"), 0700);
	write_file(at("out.part/other"), "other", 5);
	CHECK(!archive_extract(at("one.zip"), at("out"), NULL, &l, err, sizeof(err)), "existing .part refused");
	CHECK(strstr(err, "out.part\" exists") != NULL, "reason: .part exists");
	CHECK(same_contents(at("out.part/other"), "other", 5) && !exists(at("out")), "existing .part untouched");
	rm_rf(at("out.part"));

	CHECK(!archive_extract(at("missing.zip"), at("out"), NULL, &l, err, sizeof(err)) &&
		  strstr(err, "could not open archive") != NULL, "missing archive refused");
	CHECK(!archive_extract(root, at("out"), NULL, &l, err, sizeof(err)) &&
		  strstr(err, "not a regular file") != NULL, "folder as archive refused");
	CHECK(!archive_extract("one.zip", at("out"), NULL, &l, err, sizeof(err)) &&
		  strstr(err, "absolute") != NULL, "relative archive path refused");
	CHECK(!archive_extract(at("one.zip"), "out", NULL, &l, err, sizeof(err)) &&
		  strstr(err, "absolute") != NULL, "relative destination refused");
	CHECK(!archive_extract(at("one.zip"), at("out"), &neg, &l, err, sizeof(err)) &&
		  strstr(err, "negative") != NULL, "negative limit refused");
	CHECK(!archive_extract(at("one.zip"), at("nowhere/out"), NULL, &l, err, sizeof(err)) &&
		  strstr(err, "could not create folder") != NULL && !exists(at("nowhere")),
		  "missing parent of destination refused");
	CHECK(!exists(at("out")) && !exists(at("out.part")), "nothing left by misuse");
	archive_listing_free(NULL);

	/*
	 * Pass 2 fails (the file size limit stops the write of a 1 MB file):
	 * the files already written and the .part folder are removed.
	 */
	{
		char	   *noise = fill(MB, 6, true);
		fx			two[] = {{"a/first.txt", 'f', "first", 5, NULL}, {"a/b/big.bin", 'f', noise, MB, NULL}};
		struct rlimit saved,
					small;

		CHECK(make_archive(at("fsize.zip"), FMT_ZIP, FLT_NONE, two, 2), "file-size fixture written");
		getrlimit(RLIMIT_FSIZE, &saved);
		small = saved;
		small.rlim_cur = 256 * 1024;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		refused("write failure in pass 2", at("fsize.zip"), NULL, "could not write file \"a/b/big.bin\"");
		setrlimit(RLIMIT_FSIZE, &saved);
		signal(SIGXFSZ, SIG_DFL);
		unlink(at("fsize.zip"));
		free(noise);
	}
	unlink(at("one.zip"));
}

/*
 * test_package zips a folder, reads it back, and checks the refusals.
 */
static void
test_package(void)
{
	char	   *text = fill(50 * 1024, 7, false);
	char	   *png = fill(20 * 1024, 8, true);
	char	   *jpg = fill(4096, 10, true);
	struct
	{
		const char *name;
		const char *data;
		size_t		len;
		int			method;
	}			files[] = {
		{"a.txt", text, 50 * 1024, ZIP_CM_DEFLATE},
		{"Photo.PNG", png, 20 * 1024, ZIP_CM_STORE},
		{"nested/c.png", png, 20 * 1024, ZIP_CM_STORE},
		{"nested/deeper/b.txt", text, 1000, ZIP_CM_DEFLATE},
		{"nested/deeper/pic.JpEg", jpg, 4096, ZIP_CM_STORE},
		{"nested/empty.txt", "", 0, ZIP_CM_DEFLATE},
		{"n\xc3\xa9/z.bin", text, 3000, ZIP_CM_DEFLATE},
	};
	const char *order[] = {"Photo.PNG", "a.txt", "nested/c.png", "nested/deeper/b.txt",
	"nested/deeper/pic.JpEg", "nested/empty.txt", "n\xc3\xa9/z.bin"};
	int			n = (int) (sizeof(files) / sizeof(files[0]));
	int64_t		nfiles = -1,
				bytes = -1;
	char		err[1024] = "";
	struct stat st;
	bool		ok;
	int			before;

	mkdir(at("pk"), 0755);
	mkdir(at("pk/nested"), 0755);
	mkdir(at("pk/nested/deeper"), 0755);
	mkdir(at("pk/nested/empty-dir"), 0755);
	mkdir(at("pk/n\xc3\xa9"), 0755);
	for (int i = 0; i < n; i++)
		write_file(at("pk/%s", files[i].name), files[i].data, files[i].len);

	ok = archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err));
	if (!CHECK(ok, "package: folder zipped"))
		printf("#   reason: %s\n", err);
	CHECK_INT(nfiles, n, "package: file count");
	CHECK(stat(at("pk.zip"), &st) == 0 && st.st_size == bytes, "package: size reported");
	CHECK(!exists(at("pk.zip.part")), "package: no .part left");

	/* libzip: names sorted bytewise, methods by extension */
	{
		int			zerr;
		zip_t	   *za = zip_open(at("pk.zip"), ZIP_RDONLY, &zerr);
		bool		names_ok = za != NULL && zip_get_num_entries(za, 0) == n;
		bool		methods_ok = names_ok;

		for (int i = 0; names_ok && i < n; i++)
		{
			const char *name = zip_get_name(za, (zip_uint64_t) i, 0);

			if (name == NULL || strcmp(name, order[i]) != 0)
			{
				printf("#   entry %d is %s, want %s\n", i, name ? name : "(null)", order[i]);
				names_ok = false;
			}
		}
		for (int i = 0; methods_ok && i < n; i++)
		{
			zip_stat_t	zs;

			if (zip_stat(za, files[i].name, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_COMP_METHOD) ||
				zs.comp_method != files[i].method || zs.size != files[i].len)
			{
				printf("#   %s: method %d size %llu\n", files[i].name, (int) zs.comp_method,
					   (unsigned long long) zs.size);
				methods_ok = false;
			}
		}
		CHECK(names_ok, "package: entries in bytewise order");
		CHECK(methods_ok, "package: .png/.PNG/.JpEg stored, .txt and others deflated");
		if (za != NULL)
			zip_close(za);
	}

	/* libarchive reads it back (through archive_extract) identically */
	{
		archive_listing l;
		bool		same = true;

		ok = archive_extract(at("pk.zip"), at("pk-out"), NULL, &l, err, sizeof(err));
		if (!CHECK(ok, "package: zip extracts again"))
			printf("#   reason: %s\n", err);
		CHECK_INT(l.count, n, "package: extracted file count");
		for (int i = 0; ok && i < n; i++)
			if (!same_contents(at("pk-out/%s", files[i].name), files[i].data, files[i].len))
				same = false;
		CHECK(same, "package: contents identical after the round trip");
		archive_listing_free(&l);
		rm_rf(at("pk-out"));
	}

	/* the destination exists now with the same bytes: a rerun, nothing new written */
	before = (int) st.st_size;
	{
		int			suffix = -1;
		bool		there = false;

		ok = archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, &suffix, &there, err, sizeof(err));
		CHECK(ok && there && suffix == 0, "package: the same files again find their zip already there");
		CHECK(stat(at("pk.zip"), &st) == 0 && st.st_size == before && !exists(at("pk.zip.part")) &&
			  !exists(at("pk-1.zip")), "package: already there, nothing else written");
		/* other bytes under the name: the new zip takes the next free suffix, the old is kept */
		write_file(at("pk/added.txt"), "new", 3);
		write_file(at("pk-1.zip"), "not a zip", 9);
		ok = archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, &suffix, &there, err, sizeof(err));
		CHECK(ok && !there && suffix == 2 && exists(at("pk-2.zip")) && !exists(at("pk.zip.part")),
			  "package: a taken name with other bytes gets the first free suffix (-2)");
		CHECK(stat(at("pk.zip"), &st) == 0 && st.st_size == before, "package: the existing zip is untouched");
		CHECK_INT(nfiles, n + 1, "package: the suffixed zip holds the new file too");
		/* a FIFO under the name is not read (that would block): the zip takes -1 */
		mkfifo(at("pk-f.zip"), 0600);
		ok = archive_package(at("pk"), at("pk-f.zip"), &nfiles, &bytes, &suffix, &there, err, sizeof(err));
		CHECK(ok && !there && suffix == 1 && exists(at("pk-f-1.zip")), "package: a FIFO under the name is passed over");
		unlink(at("pk-f.zip"));
		unlink(at("pk-f-1.zip"));
		unlink(at("pk/added.txt"));
		unlink(at("pk-1.zip"));
		unlink(at("pk-2.zip"));
	}
	{
		char		name[64];

		CHECK(archive_suffixed_name("a.b/set.tar.gz", 3, name, sizeof(name)) && strcmp(name, "a.b/set.tar-3.gz") == 0,
			  "suffixed name: before the last extension");
		CHECK(archive_suffixed_name("a.b/set", 1, name, sizeof(name)) && strcmp(name, "a.b/set-1") == 0,
			  "suffixed name: no extension, a dot in a folder ignored");
		CHECK(archive_suffixed_name("x/.hidden", 1, name, sizeof(name)) && strcmp(name, "x/.hidden-1") == 0,
			  "suffixed name: a leading dot is not an extension");
		CHECK(!archive_suffixed_name("set.zip", 12, name, 6), "suffixed name: too long for the buffer");
	}
	unlink(at("pk.zip"));

	/* a symbolic link anywhere: refused, nothing written */
	symlink("/etc", at("pk/nested/deeper/etc"));
	before = count_root();
	CHECK(!archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)), "package: symlink refused");
	if (!CHECK(strstr(err, "\"nested/deeper/etc\"") != NULL && strstr(err, "symbolic link") != NULL,
			   "package: reason names the symlink"))
		printf("#   reason: %s\n", err);
	CHECK(!exists(at("pk.zip")) && !exists(at("pk.zip.part")) && count_root() == before,
		  "package: no zip, no .part after the symlink");
	unlink(at("pk/nested/deeper/etc"));

	/* a FIFO: refused */
	mkfifo(at("pk/nested/fifo"), 0600);
	CHECK(!archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)) &&
		  strstr(err, "\"nested/fifo\"") != NULL && strstr(err, "not a regular file") != NULL,
		  "package: FIFO refused");
	CHECK(!exists(at("pk.zip")) && !exists(at("pk.zip.part")), "package: no zip after the FIFO");
	unlink(at("pk/nested/fifo"));

	/* a name the extractor would refuse */
	write_file(at("pk/back\\slash"), "x", 1);
	CHECK(!archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)) &&
		  strstr(err, "backslash") != NULL, "package: backslash name refused");
	unlink(at("pk/back\\slash"));

	/* the source itself a symlink, missing, or empty */
	symlink(at("pk"), at("pk-link"));
	CHECK(!archive_package(at("pk-link"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)) &&
		  strstr(err, "symbolic links are refused") != NULL, "package: symlinked source refused");
	unlink(at("pk-link"));
	CHECK(!archive_package(at("nope"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)) &&
		  strstr(err, "could not open folder") != NULL, "package: missing source refused");
	mkdir(at("empty"), 0755);
	mkdir(at("empty/sub"), 0755);
	CHECK(!archive_package(at("empty"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)) &&
		  strstr(err, "no files") != NULL && !exists(at("pk.zip")) && !exists(at("pk.zip.part")),
		  "package: empty folder refused");
	rm_rf(at("empty"));
	CHECK(!archive_package("pk", at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err)) &&
		  strstr(err, "absolute") != NULL, "package: relative source refused");

	/* zip_close fails (file size limit): no zip, no .part, no temporary file */
	{
		char	   *noise = fill(MB, 11, true);
		struct rlimit saved,
					small;

		write_file(at("pk/noise.png"), noise, MB);
		before = count_root();
		getrlimit(RLIMIT_FSIZE, &saved);
		small = saved;
		small.rlim_cur = 256 * 1024;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		ok = archive_package(at("pk"), at("pk.zip"), &nfiles, &bytes, NULL, NULL, err, sizeof(err));
		setrlimit(RLIMIT_FSIZE, &saved);
		signal(SIGXFSZ, SIG_DFL);
		CHECK(!ok, "package: write failure reported");
		if (!CHECK(strstr(err, "could not write zip") != NULL, "package: reason names the write"))
			printf("#   reason: %s\n", err);
		CHECK(!exists(at("pk.zip")) && !exists(at("pk.zip.part")) && count_root() == before,
			  "package: nothing left after the write failure");
		free(noise);
	}

	rm_rf(at("pk"));
	free(text);
	free(png);
	free(jpg);
}

/*
 * main runs every test in a fresh temporary folder, then removes it.
 */
int
main(void)
{
	struct timespec t0,
				t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
	if (utf8_locale == (locale_t) 0)
	{
		printf("Bail out! no C.UTF-8 locale\n");
		return 1;
	}
	snprintf(root, sizeof(root), "/tmp/test_archive.XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	test_good_archives();
	test_hostile_archives();
	test_extract_misuse();
	test_package();

	CHECK_INT(count_root(), 0, "temporary folder empty at the end");
	rm_rf(root);
	CHECK(!exists(root), "temporary folder removed");
	freelocale(utf8_locale);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %.2f s\n", (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return unit_done();
}
