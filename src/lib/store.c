/*
 * store.c: the content-addressed blob store; pm-store(5) is its format.
 *
 * A blob lives in DIR/ab/cdef... (its SHA-256 in hex, split after two
 * digits), either as its own bytes or as one zstd frame; a file that
 * begins with a zstd magic number is always a zstd frame, so a blob whose
 * own bytes begin with one is stored compressed.  Writes go to a
 * temporary file in the same file system, are fsync'd, then linked into
 * place: a reader never sees a partial blob and a blob is never
 * overwritten.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "err.h"
#include "store.h"

#define LAYOUT_FILE	"LAYOUT"
#define LAYOUT_MAGIC	"pm-store 1\n"
#define CHUNK		(1 << 20)
#define ZLEVEL		3
#define CAT_BUFFER	((size_t)64 << 20)

struct store {
	char	*dir;
	mode_t	 mode;		/* of blob files */
};

static const char layout_text[] =
    LAYOUT_MAGIC
    "\n"
    "This directory is a pm blob store; pm-store(5) describes it.\n"
    "\n"
    "A blob is named by the SHA-256 of its bytes, in lower-case hex.\n"
    "Blob ab12...(64 digits) is the file ab/12... (fan-out on the first\n"
    "two digits).  A blob file holds either the blob's bytes or a single\n"
    "zstd frame of them; a file that starts with the zstd magic number\n"
    "28 b5 2f fd is a zstd frame.  Files named .tmp-* and the tmp/\n"
    "directory hold writes in progress.  Never edit blob files: readers\n"
    "check every blob against its name.\n";

int
store_name_ok(const char *s)
{
	int i;

	for (i = 0; i < STORE_NAMELEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

void
sha256_hex(const void *p, size_t n, char hex[STORE_NAMELEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		pm_err(PM_EXIT_FATAL, "sha256 failed");
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[STORE_NAMELEN] = '\0';
}

static void
md_hex(const unsigned char md[32], char hex[STORE_NAMELEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[STORE_NAMELEN] = '\0';
}

static int
mkdirs(const char *path)
{
	char *p, *s;
	int r = 0;

	p = pm_strdup(path);
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0777) == -1 && errno != EEXIST) {
				r = pm_fail("cannot create %s:", p);
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return r;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * Move the finished temporary file tmp to dir/file without ever
 * replacing an existing file; an existing file wins (same content).
 */
static int
install(const char *tmp, const char *dir, const char *path)
{
	if (link(tmp, path) == -1) {
		if (errno == EEXIST) {
			unlink(tmp);
			return 0;
		}
		/* File systems without hard links: rename instead. */
		if (errno == EPERM || errno == EOPNOTSUPP || errno == EXDEV ||
		    errno == EMLINK) {
			if (access(path, F_OK) == 0) {
				unlink(tmp);
				return 0;
			}
			if (rename(tmp, path) == -1) {
				pm_fail("cannot rename %s to %s:", tmp, path);
				unlink(tmp);
				return -1;
			}
			return fsync_dir(dir) == -1 ? pm_fail("%s: fsync:", dir) : 0;
		}
		pm_fail("cannot link %s:", path);
		unlink(tmp);
		return -1;
	}
	unlink(tmp);
	if (fsync_dir(dir) == -1)
		return pm_fail("%s: fsync:", dir);
	return 0;
}

static int
write_layout(struct store *s)
{
	char *path, *tmp;
	int fd, r = -1;

	path = pm_asprintf("%s/%s", s->dir, LAYOUT_FILE);
	tmp = pm_asprintf("%s/.tmp-layout-XXXXXX", s->dir);
	fd = mkstemp(tmp);
	if (fd == -1) {
		pm_fail("cannot create a file in %s:", s->dir);
		goto out;
	}
	if (write_all(fd, layout_text, sizeof layout_text - 1) == -1 ||
	    fchmod(fd, s->mode) == -1 || fsync(fd) == -1) {
		pm_fail("%s:", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	r = install(tmp, s->dir, path);
out:
	free(path);
	free(tmp);
	return r;
}

struct store *
store_open(const char *dir)
{
	struct store *s;
	char *path, buf[sizeof LAYOUT_MAGIC];
	const char *home;
	mode_t m;
	ssize_t n;
	int fd;

	s = pm_calloc(1, sizeof *s);
	if (dir != NULL && *dir != '\0')
		s->dir = pm_strdup(dir);
	else if ((dir = getenv("PM_STORE")) != NULL && *dir != '\0')
		s->dir = pm_strdup(dir);
	else if ((home = getenv("XDG_DATA_HOME")) != NULL && *home == '/')
		s->dir = pm_asprintf("%s/pm/store", home);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		s->dir = pm_asprintf("%s/.local/share/pm/store", home);
	else {
		free(s);
		pm_fail("no store: set PM_STORE or use -s");
		return NULL;
	}
	m = umask(0);
	umask(m);
	s->mode = 0444 & ~m;

	path = pm_asprintf("%s/%s", s->dir, LAYOUT_FILE);
	fd = open(path, O_RDONLY);
	if (fd == -1 && errno == ENOENT) {
		if (mkdirs(s->dir) == -1 || write_layout(s) == -1)
			goto fail;
		fd = open(path, O_RDONLY);
	}
	if (fd == -1) {
		pm_fail("%s:", path);
		goto fail;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n != (ssize_t)sizeof buf - 1 ||
	    memcmp(buf, LAYOUT_MAGIC, sizeof buf - 1) != 0) {
		pm_fail("%s: not a pm store of a layout this pm knows", s->dir);
		goto fail;
	}
	free(path);
	return s;
fail:
	free(path);
	free(s->dir);
	free(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	free(s->dir);
	free(s);
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

static char *
blob_path(const struct store *s, const char *name)
{
	return pm_asprintf("%s/%.2s/%s", s->dir, name, name + 2);
}

static int
is_zstd_magic(const unsigned char *p, size_t n)
{
	uint32_t m;

	if (n < 4)
		return 0;
	m = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	return m == ZSTD_MAGICNUMBER ||
	    (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/* Formats that are compressed already: zstd would only cost time. */
static int
is_compressed_format(const unsigned char *p, size_t n)
{
	static const struct {
		size_t		off;
		const char	*magic;
		size_t		len;
	} m[] = {
		{ 0, "\xff\xd8\xff", 3 },		/* JPEG */
		{ 0, "\x89PNG", 4 },
		{ 0, "GIF8", 4 },
		{ 8, "WEBP", 4 },			/* RIFF....WEBP */
		{ 8, "AVI ", 4 },
		{ 4, "ftyp", 4 },			/* MP4, MOV */
		{ 0, "\x1a\x45\xdf\xa3", 4 },		/* Matroska, WebM */
		{ 0, "\x1f\x8b", 2 },			/* gzip */
		{ 0, "PK\x03\x04", 4 },			/* zip */
		{ 0, "\xfd" "7zXZ", 5 },		/* xz */
		{ 0, "BZh", 3 },
		{ 0, "OggS", 4 },
		{ 0, "\x00\x00\x01\xba", 4 },		/* MPEG-PS */
		{ 0, "\x00\x00\x01\xb3", 4 },		/* MPEG video */
		{ 0, "\x30\x26\xb2\x75", 4 },		/* ASF, WMV */
		{ 0, "FLV", 3 },
	};
	size_t i;

	for (i = 0; i < sizeof m / sizeof m[0]; i++)
		if (n >= m[i].off + m[i].len &&
		    memcmp(p + m[i].off, m[i].magic, m[i].len) == 0)
			return 1;
	return 0;
}

/*
 * Whether to store data that begins with these n bytes compressed: yes
 * when they would be mistaken for a zstd frame, no for formats that are
 * compressed already, else when a trial compression saves a sixteenth.
 */
static int
want_zstd(const unsigned char *p, size_t n)
{
	size_t bound, z;
	void *buf;

	if (is_zstd_magic(p, n))
		return 1;
	if (n < 64 || is_compressed_format(p, n))
		return 0;
	if (n > CHUNK)
		n = CHUNK;
	bound = ZSTD_compressBound(n);
	buf = pm_malloc(bound);
	z = ZSTD_compress(buf, bound, p, n, 1);
	free(buf);
	return !ZSTD_isError(z) && z <= n - n / 16;
}

/* A temporary file in dir; its path in *tmp. */
static int
tmp_open(const struct store *s, const char *dir, char **tmp)
{
	int fd;

	*tmp = pm_asprintf("%s/.tmp-XXXXXX", dir);
	fd = mkstemp(*tmp);
	if (fd == -1 && errno == ENOENT) {
		if (mkdirs(dir) == -1) {
			free(*tmp);
			return -1;
		}
		/* mkstemp() has spent the template: make it anew. */
		free(*tmp);
		*tmp = pm_asprintf("%s/.tmp-XXXXXX", dir);
		fd = mkstemp(*tmp);
	}
	if (fd == -1) {
		pm_fail("cannot create a file in %s:", dir);
		free(*tmp);
		return -1;
	}
	return fd;
}

static int
tmp_finish(const struct store *s, int fd, char *tmp, const char *name)
{
	char *path, *dir;
	int r;

	if (fchmod(fd, s->mode) == -1 || fsync(fd) == -1) {
		pm_fail("%s:", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1) {
		pm_fail("%s:", tmp);
		unlink(tmp);
		return -1;
	}
	dir = pm_asprintf("%s/%.2s", s->dir, name);
	path = blob_path(s, name);
	r = mkdirs(dir);
	if (r == 0)
		r = install(tmp, dir, path);
	else
		unlink(tmp);
	free(dir);
	free(path);
	return r;
}

int
store_put(struct store *s, const void *p, size_t n, char name[STORE_NAMELEN + 1])
{
	char *path, *dir, *tmp;
	void *z = NULL;
	const void *data = p;
	size_t len = n;
	int fd, r;

	sha256_hex(p, n, name);
	path = blob_path(s, name);
	r = access(path, F_OK);
	free(path);
	if (r == 0)
		return 0;

	if (want_zstd(p, n)) {
		size_t bound = ZSTD_compressBound(n);

		z = pm_malloc(bound);
		len = ZSTD_compress(z, bound, p, n, ZLEVEL);
		if (ZSTD_isError(len)) {
			free(z);
			return pm_fail("zstd: %s", ZSTD_getErrorName(len));
		}
		data = z;
	}
	dir = pm_asprintf("%s/%.2s", s->dir, name);
	fd = tmp_open(s, dir, &tmp);
	free(dir);
	if (fd == -1) {
		free(z);
		return -1;
	}
	if (write_all(fd, data, len) == -1) {
		pm_fail("%s:", tmp);
		close(fd);
		unlink(tmp);
		free(tmp);
		free(z);
		return -1;
	}
	free(z);
	r = tmp_finish(s, fd, tmp, name);
	free(tmp);
	return r;
}

static ssize_t
read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, c + got, n - got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
store_put_fd(struct store *s, int in, char name[STORE_NAMELEN + 1])
{
	unsigned char *buf, *zbuf = NULL, md[32];
	ZSTD_CCtx *cc = NULL;
	EVP_MD_CTX *h;
	ssize_t n;
	size_t zcap = 0;
	char *tmp, *dir, *path;
	int fd, first = 1, zstd = 0, r = -1;

	buf = pm_malloc(CHUNK);
	n = read_full(in, buf, CHUNK);
	if (n == -1) {
		free(buf);
		return pm_fail("read:");
	}
	if (n < CHUNK) {
		r = store_put(s, buf, (size_t)n, name);
		free(buf);
		return r;
	}

	dir = pm_asprintf("%s/tmp", s->dir);
	fd = tmp_open(s, dir, &tmp);
	free(dir);
	if (fd == -1) {
		free(buf);
		return -1;
	}
	h = EVP_MD_CTX_new();
	if (h == NULL || !EVP_DigestInit_ex(h, EVP_sha256(), NULL))
		pm_err(PM_EXIT_FATAL, "sha256 failed");
	zstd = want_zstd(buf, (size_t)n);
	if (zstd) {
		cc = ZSTD_createCCtx();
		if (cc == NULL)
			pm_err(PM_EXIT_FATAL, "out of memory");
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, ZLEVEL);
		zcap = ZSTD_CStreamOutSize();
		zbuf = pm_malloc(zcap);
	}
	for (;;) {
		int last;

		if (!first) {
			n = read_full(in, buf, CHUNK);
			if (n == -1) {
				pm_fail("read:");
				goto fail;
			}
		}
		first = 0;
		last = n < CHUNK;
		EVP_DigestUpdate(h, buf, (size_t)n);
		if (zstd) {
			ZSTD_inBuffer zin = { buf, (size_t)n, 0 };
			size_t left;

			do {
				ZSTD_outBuffer zout = { zbuf, zcap, 0 };

				left = ZSTD_compressStream2(cc, &zout, &zin,
				    last ? ZSTD_e_end : ZSTD_e_continue);
				if (ZSTD_isError(left)) {
					pm_fail("zstd: %s", ZSTD_getErrorName(left));
					goto fail;
				}
				if (write_all(fd, zbuf, zout.pos) == -1) {
					pm_fail("%s:", tmp);
					goto fail;
				}
			} while (last ? left != 0 : zin.pos < zin.size);
		} else if (write_all(fd, buf, (size_t)n) == -1) {
			pm_fail("%s:", tmp);
			goto fail;
		}
		if (last)
			break;
	}
	EVP_DigestFinal_ex(h, md, NULL);
	md_hex(md, name);
	path = blob_path(s, name);
	if (access(path, F_OK) == 0) {
		close(fd);
		unlink(tmp);
		r = 0;
	} else
		r = tmp_finish(s, fd, tmp, name);
	free(path);
	goto out;
fail:
	close(fd);
	unlink(tmp);
out:
	EVP_MD_CTX_free(h);
	ZSTD_freeCCtx(cc);
	free(zbuf);
	free(buf);
	free(tmp);
	return r;
}

int
store_has(struct store *s, const char *name)
{
	char *path;
	int r;

	if (!store_name_ok(name))
		return pm_fail("%s: not a blob name", name);
	path = blob_path(s, name);
	r = access(path, F_OK);
	if (r == -1 && errno != ENOENT)
		pm_fail("%s:", path);
	free(path);
	if (r == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/*
 * Read blob name from its file, undoing compression, and hand its bytes
 * to sink in order; succeed only if they hash to the name.  A sink that
 * returns -1 stops the read (its reason stands).
 */
typedef int (*sink_fn)(void *arg, const void *p, size_t n);

static int
blob_stream(const struct store *s, const char *name, sink_fn sink, void *arg,
    off_t *stored, int *raw)
{
	unsigned char *buf, *obuf = NULL, md[32];
	char hex[STORE_NAMELEN + 1], *path;
	ZSTD_DCtx *dc = NULL;
	EVP_MD_CTX *h = NULL;
	struct stat st;
	size_t ocap = 0, hint = 0;
	ssize_t n;
	int fd, first = 1, zstd = 0, r = -1;

	if (!store_name_ok(name))
		return pm_fail("%s: not a blob name", name);
	path = blob_path(s, name);
	/* not blocked by a FIFO in the blob's place: refused below */
	fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			pm_fail("blob %s: not in the store", name);
		else
			pm_fail("blob %s: %s:", name, path);
		free(path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		pm_fail("blob %s: %s: not a regular file", name, path);
		close(fd);
		free(path);
		return -1;
	}
	if (stored)
		*stored = st.st_size;
	buf = pm_malloc(CHUNK);
	h = EVP_MD_CTX_new();
	if (h == NULL || !EVP_DigestInit_ex(h, EVP_sha256(), NULL))
		pm_err(PM_EXIT_FATAL, "sha256 failed");
	for (;;) {
		n = read_full(fd, buf, CHUNK);
		if (n == -1) {
			pm_fail("blob %s: read:", name);
			goto out;
		}
		if (first) {
			first = 0;
			zstd = is_zstd_magic(buf, (size_t)n);
			if (raw)
				*raw = !zstd;
			if (zstd) {
				dc = ZSTD_createDCtx();
				if (dc == NULL)
					pm_err(PM_EXIT_FATAL, "out of memory");
				ocap = ZSTD_DStreamOutSize();
				obuf = pm_malloc(ocap);
				hint = 1;
			}
		}
		if (n == 0)
			break;
		if (zstd) {
			ZSTD_inBuffer zin = { buf, (size_t)n, 0 };

			while (zin.pos < zin.size) {
				ZSTD_outBuffer zout = { obuf, ocap, 0 };

				hint = ZSTD_decompressStream(dc, &zout, &zin);
				if (ZSTD_isError(hint)) {
					pm_fail("blob %s: damaged: %s", name,
					    ZSTD_getErrorName(hint));
					goto out;
				}
				EVP_DigestUpdate(h, obuf, zout.pos);
				if (sink && zout.pos &&
				    sink(arg, obuf, zout.pos) == -1)
					goto out;
				if (hint == 0 && zin.pos < zin.size) {
					pm_fail("blob %s: damaged: data after "
					    "the compressed frame", name);
					goto out;
				}
			}
		} else {
			EVP_DigestUpdate(h, buf, (size_t)n);
			if (sink && sink(arg, buf, (size_t)n) == -1)
				goto out;
		}
		if (n < CHUNK)
			break;
	}
	if (zstd && hint != 0) {
		pm_fail("blob %s: damaged: truncated compressed data", name);
		goto out;
	}
	EVP_DigestFinal_ex(h, md, NULL);
	md_hex(md, hex);
	if (strcmp(hex, name) != 0) {
		pm_fail("blob %s: damaged: its bytes do not match its name", name);
		goto out;
	}
	r = 0;
out:
	close(fd);
	free(path);
	free(buf);
	free(obuf);
	ZSTD_freeDCtx(dc);
	EVP_MD_CTX_free(h);
	return r;
}

struct membuf {
	unsigned char	*p;
	size_t		 n, cap, limit;
	int		 over;
};

static int
mem_sink(void *arg, const void *p, size_t n)
{
	struct membuf *m = arg;

	if (m->over)
		return 0;
	if (m->limit && m->n + n > m->limit) {
		m->over = 1;
		return 0;
	}
	if (m->n + n + 1 > m->cap) {
		while (m->n + n + 1 > m->cap)
			m->cap = m->cap ? m->cap * 2 : 65536;
		m->p = pm_realloc(m->p, m->cap);
	}
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}

int
store_get(struct store *s, const char *name, void **p, size_t *n)
{
	struct membuf m = { 0 };

	if (blob_stream(s, name, mem_sink, &m, NULL, NULL) == -1) {
		free(m.p);
		return -1;
	}
	if (m.p == NULL)
		m.p = pm_malloc(1);
	m.p[m.n] = '\0';
	*p = m.p;
	*n = m.n;
	return 0;
}

static int
file_sink(void *arg, const void *p, size_t n)
{
	if (fwrite(p, 1, n, arg) != n)
		return pm_fail("write:");
	return 0;
}

int
store_cat(struct store *s, const char *name, FILE *fp)
{
	struct membuf m = { 0 };
	int r;

	m.limit = CAT_BUFFER;
	r = blob_stream(s, name, mem_sink, &m, NULL, NULL);
	if (r == 0) {
		if (!m.over) {
			if (m.n && fwrite(m.p, 1, m.n, fp) != m.n)
				r = pm_fail("write:");
		} else
			r = blob_stream(s, name, file_sink, fp, NULL, NULL);
	}
	free(m.p);
	return r;
}

char *
store_path(struct store *s, const char *name, int *raw)
{
	unsigned char head[4];
	struct stat st;
	char *path;
	ssize_t n;
	int fd;

	if (!store_name_ok(name)) {
		pm_fail("%s: not a blob name", name);
		return NULL;
	}
	path = blob_path(s, name);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			pm_fail("blob %s: not in the store", name);
		else
			pm_fail("blob %s: %s:", name, path);
		free(path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		pm_fail("blob %s: %s: not a regular file", name, path);
		close(fd);
		free(path);
		return NULL;
	}
	n = read_full(fd, head, sizeof head);
	close(fd);
	if (raw)
		*raw = !(n == 4 && is_zstd_magic(head, 4));
	return path;
}

int
store_verify(struct store *s, const char *name, off_t *stored, int *raw)
{
	return blob_stream(s, name, NULL, NULL, stored, raw);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entries of dir, without . and .. */
static char **
list_dir(const char *dir, size_t *np)
{
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;
	DIR *d;

	*np = 0;
	d = opendir(dir);
	if (d == NULL) {
		pm_fail("%s:", dir);
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		v = pm_reallocarray(v, n + 1, sizeof *v);
		v[n++] = pm_strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, cmp_str);
	*np = n;
	if (v == NULL)
		v = pm_malloc(sizeof *v);
	return v;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

int
store_walk(struct store *s, int (*fn)(void *arg, enum store_entry, const char *name,
    const char *path, const struct stat *), void *arg)
{
	char **top, **sub, *dir, *path, name[STORE_NAMELEN + 1];
	size_t ntop, nsub, i, k;
	struct stat st;
	int r = 0;

	top = list_dir(s->dir, &ntop);
	if (top == NULL)
		return -1;
	for (i = 0; i < ntop && r == 0; i++) {
		const char *t = top[i];

		path = pm_asprintf("%s/%s", s->dir, t);
		if (lstat(path, &st) == -1) {
			free(path);
			continue;
		}
		if (strcmp(t, LAYOUT_FILE) == 0) {
			free(path);
			continue;
		}
		if (strncmp(t, ".tmp-", 5) == 0) {
			r = fn(arg, STORE_TMP, NULL, path, &st);
			free(path);
			continue;
		}
		if (!S_ISDIR(st.st_mode) ||
		    !(is_hex(t, 2) || strcmp(t, "tmp") == 0)) {
			r = fn(arg, STORE_STRAY, NULL, path, &st);
			free(path);
			continue;
		}
		dir = path;
		sub = list_dir(dir, &nsub);
		if (sub == NULL) {
			r = fn(arg, STORE_STRAY, NULL, dir, &st);
			free(dir);
			continue;
		}
		for (k = 0; k < nsub && r == 0; k++) {
			path = pm_asprintf("%s/%s", dir, sub[k]);
			if (lstat(path, &st) == -1) {
				free(path);
				continue;
			}
			if (strncmp(sub[k], ".tmp-", 5) == 0 ||
			    strcmp(t, "tmp") == 0)
				r = fn(arg, STORE_TMP, NULL, path, &st);
			else if (is_hex(sub[k], STORE_NAMELEN - 2) &&
			    S_ISREG(st.st_mode)) {
				memcpy(name, t, 2);
				memcpy(name + 2, sub[k], STORE_NAMELEN - 2);
				name[STORE_NAMELEN] = '\0';
				r = fn(arg, STORE_BLOB, name, path, &st);
			} else
				r = fn(arg, STORE_STRAY, NULL, path, &st);
			free(path);
		}
		free_list(sub, nsub);
		free(dir);
	}
	free_list(top, ntop);
	return r;
}
