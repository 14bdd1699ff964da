/*
 * store.c: fuzz the store's blob reader (store.c's blob_stream(), through
 * store_get(), store_verify() and store_cat()): a blob file of any
 * bytes, raw or a zstd frame, damaged or not, under a name that matches
 * its bytes or not.
 *
 * The input's first byte picks the blob's name: even, the SHA-256 of
 * what the file should hold (its bytes, or what zstd's one-shot decoder
 * makes of them), so that the reader must accept it; odd, a name the
 * bytes do not have, so that it must refuse it.  The rest is the file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "err.h"
#include "fuzz.h"
#include "store.h"

#define MAXOUT	((size_t)1 << 22)

static struct store *st;
static char *root;

static void
cleanup(void)
{
	char *p;

	store_close(st);
	p = pm_asprintf("rm -rf '%s'", root);
	if (system(p) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	free(p);
	free(root);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char *t;

	if (access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	else if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	t = pm_asprintf("%s/pm-fuzz-store.XXXXXX", tmp);
	if (mkdtemp(t) == NULL)
		pm_err(PM_EXIT_FATAL, "%s:", t);
	root = t;
	if ((st = store_open(root)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	atexit(cleanup);
}

/* A zstd frame, as pm-store(5) has it: a file that starts with a magic. */
static int
is_frame(const uint8_t *p, size_t n)
{
	uint32_t m;

	if (n < 4)
		return 0;
	m = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	return m == ZSTD_MAGICNUMBER ||
	    (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/*
 * What a single zstd frame of n bytes decodes to, or NULL: the reader
 * must accept exactly these bytes (it refuses data after the frame).
 */
static void *
one_frame(const uint8_t *p, size_t n, size_t *outn)
{
	unsigned long long sz;
	size_t fsz, r;
	void *out;

	if (!is_frame(p, n))
		return NULL;
	fsz = ZSTD_findFrameCompressedSize(p, n);
	if (ZSTD_isError(fsz) || fsz != n)
		return NULL;
	sz = ZSTD_getFrameContentSize(p, n);
	if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN ||
	    sz > MAXOUT)
		return NULL;
	out = pm_malloc(sz > 0 ? (size_t)sz : 1);
	r = ZSTD_decompress(out, (size_t)sz, p, n);
	if (ZSTD_isError(r) || r != sz) {
		free(out);
		return NULL;
	}
	*outn = r;
	return out;
}

static void
put_file(const char *name, const uint8_t *p, size_t n)
{
	char *dir, *path;
	int fd;

	dir = pm_asprintf("%s/%.2s", root, name);
	path = pm_asprintf("%s/%s", dir, name + 2);
	if (mkdir(dir, 0777) == -1 && errno != EEXIST)
		pm_err(PM_EXIT_FATAL, "%s:", dir);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666)) == -1)
		pm_err(PM_EXIT_FATAL, "%s:", path);
	if (n > 0 && write(fd, p, n) != (ssize_t)n)
		pm_err(PM_EXIT_FATAL, "%s:", path);
	close(fd);
	free(dir);
	free(path);
}

static void
remove_file(const char *name)
{
	char *path = pm_asprintf("%s/%.2s/%s", root, name, name + 2);

	unlink(path);
	free(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[STORE_NAMELEN + 1], got[STORE_NAMELEN + 1];
	const uint8_t *file;
	void *want = NULL, *p;
	size_t n, wantn = 0, catn;
	int wrong, known, raw, rget, rver, rcat;
	char *catbuf = NULL;
	off_t stored;
	FILE *fp;

	if (st == NULL)
		setup();
	if (size < 1)
		return 0;
	wrong = data[0] & 1;
	file = data + 1;
	n = size - 1;
	if ((want = one_frame(file, n, &wantn)) != NULL) {
		known = 1;
	} else if (!is_frame(file, n)) {
		/* raw bytes; the reader takes them as they are */
		known = 1;
		want = pm_malloc(n > 0 ? n : 1);
		memcpy(want, file, n);
		wantn = n;
	} else
		known = 0;
	sha256_hex(known ? want : file, known ? wantn : n, name);
	if (wrong || !known)
		name[data[0] >> 1 & 63] = name[data[0] >> 1 & 63] == '0' ?
		    '1' : '0';
	put_file(name, file, n);

	rget = store_get(st, name, &p, &n);
	if (rget == 0) {
		sha256_hex(p, n, got);
		fuzz_assert(strcmp(got, name) == 0);
		fuzz_assert(((char *)p)[n] == '\0');
		if (known) {
			fuzz_assert(n == wantn && memcmp(p, want, n) == 0);
		}
		free(p);
	} else
		fuzz_assert(*pm_why() != '\0');
	if (known && !wrong)
		fuzz_assert(rget == 0);
	if (wrong)
		fuzz_assert(rget == -1);

	rver = store_verify(st, name, &stored, &raw);
	fuzz_assert(rver == rget);
	fuzz_assert(stored == (off_t)(size - 1));

	if ((fp = open_memstream(&catbuf, &catn)) == NULL)
		pm_err(PM_EXIT_FATAL, "open_memstream:");
	rcat = store_cat(st, name, fp);
	fclose(fp);
	fuzz_assert(rcat == rget);
	if (rcat == -1)
		fuzz_assert(catn == 0);
	else if (known)
		fuzz_assert(catn == wantn && memcmp(catbuf, want, catn) == 0);
	free(catbuf);

	remove_file(name);
	free(want);
	return 0;
}
