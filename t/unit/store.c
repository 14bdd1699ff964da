/*
 * Unit test of the blob store: thousands of blobs of random sizes from
 * 0 bytes to tens of MiB, compressible and not, through both put paths;
 * every one comes back intact and named by its SHA-256.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "tap.h"

#define NBLOBS	2000
#define MIB	((size_t)1 << 20)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Blob i: its size and bytes, made again from i alone. */
static size_t
blob_size(int i)
{
	static const size_t edge[] = { 0, 1, 3, 4, 63, 64, MIB - 1, MIB,
	    MIB + 1, 2 * MIB, 2 * MIB + 7 };
	uint64_t r;

	if ((size_t)i < sizeof edge / sizeof edge[0])
		return edge[i];
	rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)i * 0x100000001b3ULL;
	r = next();
	if (i % 100 == 0)
		return 4 * MIB + r % (28 * MIB);	/* tens of MiB */
	if (i % 10 == 0)
		return r % MIB;
	return r % 65536;
}

static void
blob_fill(int i, unsigned char *p, size_t n)
{
	size_t k;

	rng = 0x51ed270b27e3c0a5ULL ^ (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	switch (i % 4) {
	case 0:		/* random: incompressible */
		for (k = 0; k < n; k++)
			p[k] = (unsigned char)next();
		break;
	case 1:		/* text-like: compressible */
		for (k = 0; k < n; k++)
			p[k] = "pm finds products in video \n"[next() % 28];
		break;
	case 2:		/* starts like a zstd frame but is not one */
		for (k = 0; k < n; k++)
			p[k] = (unsigned char)(next() & 0x0f);
		if (n >= 4)
			memcpy(p, "\x28\xb5\x2f\xfd", 4);
		break;
	default:	/* starts like a JPEG */
		for (k = 0; k < n; k++)
			p[k] = (unsigned char)(k / 97);
		if (n >= 3)
			memcpy(p, "\xff\xd8\xff", 3);
		break;
	}
}

int
main(int argc, char *argv[])
{
	char dir[] = "/tmp/pm-unit-store.XXXXXX", cmd[128];
	char name[STORE_NAMELEN + 1], want[STORE_NAMELEN + 1];
	unsigned char *buf;
	struct store *s;
	void *got;
	size_t n, gotn;
	int i, bad_put = 0, bad_name = 0, bad_get = 0, bad_fd = 0, fd;
	FILE *fp;

	pm_init(argv[0]);
	tap_plan(7);
	if (mkdtemp(dir) == NULL)
		pm_err(2, "mkdtemp:");
	s = store_open(dir);
	ok(s != NULL, "open a new store");
	if (s == NULL)
		return 1;

	buf = pm_malloc(32 * MIB + 8);
	for (i = 0; i < NBLOBS; i++) {
		n = blob_size(i);
		blob_fill(i, buf, n);
		sha256_hex(buf, n, want);
		if (i % 3 == 0) {
			fp = tmpfile();
			if (fp == NULL || fwrite(buf, 1, n, fp) != n ||
			    fflush(fp) == EOF)
				pm_err(2, "tmpfile:");
			fd = fileno(fp);
			lseek(fd, 0, SEEK_SET);
			if (store_put_fd(s, fd, name) == -1) {
				diag("put_fd %d: %s", i, pm_why());
				bad_fd++;
			}
			fclose(fp);
		} else if (store_put(s, buf, n, name) == -1) {
			diag("put %d: %s", i, pm_why());
			bad_put++;
		}
		if (strcmp(name, want) != 0)
			bad_name++;
	}
	ok(bad_put == 0 && bad_fd == 0, "%d blobs stored (%d put, %d put_fd failed)",
	    NBLOBS, bad_put, bad_fd);
	ok(bad_name == 0, "every name is the SHA-256 of the bytes (%d wrong)",
	    bad_name);

	for (i = 0; i < NBLOBS; i++) {
		n = blob_size(i);
		blob_fill(i, buf, n);
		sha256_hex(buf, n, want);
		if (store_get(s, want, &got, &gotn) == -1) {
			diag("get %d: %s", i, pm_why());
			bad_get++;
			continue;
		}
		if (gotn != n || memcmp(got, buf, n) != 0) {
			diag("blob %d: %zu bytes back, %zu put", i, gotn, n);
			bad_get++;
		}
		free(got);
	}
	ok(bad_get == 0, "every blob reads back intact (%d bad)", bad_get);

	/* Storing a blob again leaves the one file as it was. */
	n = blob_size(11);
	blob_fill(11, buf, n);
	{
		struct stat st1, st2;
		char *path;

		sha256_hex(buf, n, want);
		path = store_path(s, want, NULL);
		stat(path, &st1);
		store_put(s, buf, n, name);
		stat(path, &st2);
		ok(st1.st_ino == st2.st_ino && st1.st_mtime == st2.st_mtime,
		    "a second put of the same bytes does not rewrite the blob");
		free(path);
	}

	i = store_get(s, "0000000000000000000000000000000000000000000000000000000000000000",
	    &got, &gotn);
	ok(i == -1 && strstr(pm_why(), "not in the store") != NULL,
	    "a missing blob is reported as missing: %s", pm_why());
	i = store_get(s, "../../etc/passwd", &got, &gotn);
	ok(i == -1 && strstr(pm_why(), "not a blob name") != NULL,
	    "a name that is not a hash is refused: %s", pm_why());

	free(buf);
	store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
