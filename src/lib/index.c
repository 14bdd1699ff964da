/*
 * index.c: the catalog index file (index.h): its checking reader, its
 * writer, and the queries pm-match asks it.
 *
 * The reader trusts nothing: every size, offset, count, link and number
 * is checked against the bytes that hold it before anything is read
 * through it, and the whole is checked against its SHA-256, so the
 * queries below never read outside the file.
 */
#define _GNU_SOURCE		/* qsort_r */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ann.h"
#include "err.h"
#include "imghdr.h"
#include "index.h"
#include "kpblob.h"
#include "store.h"
#include "vec.h"
#include "vocab.h"

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86 1
#endif

#define TABLE_ENTRY	24
#define MAXSECTIONS	16

enum sec {
	S_ENTR, S_STRS, S_VECS, S_VGRF, S_WORD, S_WGRF, S_PROJ, S_IVFO, S_IVFP,
	S_IVFS, S_IVFG, S_COUNT
};

static const char tags[S_COUNT][5] = {
	"ENTR", "STRS", "VECS", "VGRF", "WORD", "WGRF", "PROJ", "IVFO", "IVFP",
	"IVFS", "IVFG"
};

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

int
index_unhex(const char *hex, unsigned char raw[32])
{
	int i, hi, lo;

	if (!store_name_ok(hex))
		return -1;
	for (i = 0; i < 32; i++) {
		hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
		lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' :
		    hex[2 * i + 1] - 'a' + 10;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
index_hex(const unsigned char raw[32], char hex[65])
{
	static const char d[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = d[raw[i] >> 4];
		hex[2 * i + 1] = d[raw[i] & 15];
	}
	hex[64] = '\0';
}

/* Well-formed UTF-8 without NUL (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint32_t c;
	int k, j;

	while (i < n) {
		c = s[i];
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, c &= 0x07;
		else
			return 0;
		if (n - i <= (size_t)k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (k == 3 && (c < 0x10000 || c > 0x10ffff)))
			return 0;
		i += (size_t)k + 1;
	}
	return 1;
}

static int
kind_ok(int detector, int desctype, int descsize)
{
	switch (detector) {
	case KPBLOB_SIFT:
		return desctype == KPBLOB_L2 && descsize == 128;
	case KPBLOB_ORB:
		return desctype == KPBLOB_HAMMING && descsize == 32;
	case KPBLOB_AKAZE:
		return desctype == KPBLOB_HAMMING && descsize == 61;
	}
	return 0;
}

const char *
index_kind_name(int detector, uint32_t kpflags)
{
	switch (detector) {
	case KPBLOB_SIFT:
		return kpflags & KPBLOB_ROOTSIFT ? "rootsift" : "sift";
	case KPBLOB_ORB:
		return "orb";
	case KPBLOB_AKAZE:
		return "akaze";
	}
	return "unknown";
}

int
index_kind_ok(const struct index *ix, int detector, int desctype,
    int descsize, uint32_t kpflags)
{
	return ix->detector == detector && ix->desctype == desctype &&
	    ix->descsize == descsize &&
	    (ix->kpflags & KPBLOB_ROOTSIFT) == (kpflags & KPBLOB_ROOTSIFT);
}

/* The checksum of an index of n bytes, n at least INDEX_HDRSIZE: the
 * SHA-256 of all after the header. */
static void
seal_sum(const unsigned char *b, size_t n, unsigned char sum[32])
{
	char hex[STORE_NAMELEN + 1];

	sha256_hex(b + INDEX_HDRSIZE, n - INDEX_HDRSIZE, hex);
	index_unhex(hex, sum);
}

void
index_seal(void *p, size_t n)
{
	unsigned char *b = p;

	if (n >= INDEX_HDRSIZE)
		seal_sum(b, n, b + 72);
}

static int
zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Fail with pm_why() prefixed. */
static int
fail_in(const char *prefix)
{
	char *why = pm_strdup(pm_why());

	pm_fail("%s%s", prefix, why);
	free(why);
	return -1;
}

static const unsigned char *
entp(const struct index *ix, uint32_t i)
{
	return ix->ent + (size_t)i * INDEX_ENTSIZE;
}

/* Entries a and b have the same product id. */
static int
same_product(const struct index *ix, uint32_t a, uint32_t b)
{
	const unsigned char *ea = entp(ix, a), *eb = entp(ix, b);

	return get32(ea + 68) == get32(eb + 68) && memcmp(ix->strs +
	    get32(ea + 64), ix->strs + get32(eb + 64), get32(ea + 68)) == 0;
}

static int
by_product(const void *a, const void *b, void *arg)
{
	const struct index *ix = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const unsigned char *ea = entp(ix, i), *eb = entp(ix, j);
	uint32_t la = get32(ea + 68), lb = get32(eb + 68);
	int c;

	c = memcmp(ix->strs + get32(ea + 64), ix->strs + get32(eb + 64),
	    la < lb ? la : lb);
	if (c == 0 && la != lb)
		c = la < lb ? -1 : 1;
	if (c == 0)
		c = i < j ? -1 : i > j;
	return c;
}

static void
release(struct index *ix)
{
	uint32_t i;

	ann_free(&ix->vgraph);
	ann_free(&ix->wgraph);
	vocab_free(&ix->voc);
	if (ix->product != NULL)
		for (i = 0; i < ix->nproducts; i++)
			free(ix->product[i]);
	free(ix->product);
	free(ix->pnum);
	free(ix->vrows);
	free(ix->idf);
	if (ix->how == 1)
		free(ix->map);
	else if (ix->how == 2)
		munmap(ix->map, ix->len);
	free(ix);
}

void
index_close(struct index *ix)
{
	if (ix != NULL)
		release(ix);
}

/* The checksum of an index, summed beside the other checks. */
struct seal {
	const unsigned char *b;
	size_t		 len;
	int		 ok;
};

static void *
seal_check(void *arg)
{
	struct seal *sl = arg;
	unsigned char sum[32];

	seal_sum(sl->b, sl->len, sum);
	sl->ok = memcmp(sum, sl->b + 72, 32) == 0;
	return NULL;
}

static int	 parse_rest(struct index *);

/*
 * Check everything and fill in ix.  The checks come in the order the
 * reads need them: nothing is read through a number not yet checked.
 * The checksum is summed in a thread of its own meanwhile (the other
 * checks do not rely on it, and a 2 GiB index takes a second or two of
 * each); a mismatch is what is reported, whatever they found.
 */
static int
parse(struct index *ix)
{
	const unsigned char *b = ix->map;
	size_t len = ix->len;
	struct seal sl;
	pthread_t t;
	int r, threaded;

	if (len < INDEX_HDRSIZE)
		return pm_fail("index: %zu bytes, shorter than its header", len);
	if (memcmp(b, "PMIX", 4) != 0)
		return pm_fail("index: bad magic, not a pm index");
	if (get16(b + 4) != INDEX_VERSION)
		return pm_fail("index: version %u, this pm reads %d",
		    get16(b + 4), INDEX_VERSION);
	if (get16(b + 6) != INDEX_HDRSIZE)
		return pm_fail("index: header size %u, not %d", get16(b + 6),
		    INDEX_HDRSIZE);
	if (get64(b + 64) != len)
		return pm_fail("index: %zu bytes, its header says %llu "
		    "(truncated or grown)", len,
		    (unsigned long long)get64(b + 64));
	sl.b = b;
	sl.len = len;
	sl.ok = 0;
	threaded = pthread_create(&t, NULL, seal_check, &sl) == 0;
	if (!threaded)
		seal_check(&sl);
	r = parse_rest(ix);
	if (threaded)
		pthread_join(t, NULL);
	if (!sl.ok)
		return pm_fail("index: checksum mismatch (damaged)");
	return r;
}

/* parse() after the header's first fields and the checksum. */
static int
parse_rest(struct index *ix)
{
	const unsigned char *b = ix->map;
	size_t len = ix->len;
	uint64_t off[S_COUNT], size[S_COUNT], tabend, prevend, o, sz;
	unsigned char *allowed = NULL;
	uint32_t nsec, i, j, w, *order = NULL;
	const unsigned char *str = NULL;
	uint64_t nstr = 0;
	int have[S_COUNT] = { 0 }, s;

	if (get32(b + 8) != 0 || get32(b + 60) != 0 || !zero(b + 104, 24))
		return pm_fail("index: reserved header fields not zero");
	ix->n = get32(b + 12);
	if (ix->n < 1 || ix->n > INDEX_MAXN)
		return pm_fail("index: %lu entries", (unsigned long)ix->n);
	if (get32(b + 16) > VEC_MAXDIM)
		return pm_fail("index: vector dimension out of range");
	ix->dim = (int)get32(b + 16);
	if (get32(b + 20) > VOCAB_MAXK)
		return pm_fail("index: vocabulary size out of range");
	ix->k = (int)get32(b + 20);
	ix->detector = b[24];
	ix->desctype = b[25];
	ix->descsize = get16(b + 26);
	ix->kpflags = get32(b + 28);
	if (!kind_ok(ix->detector, ix->desctype, ix->descsize) ||
	    (ix->kpflags & ~(uint32_t)KPBLOB_ROOTSIFT) != 0 ||
	    (ix->kpflags != 0 && ix->detector != KPBLOB_SIFT))
		return pm_fail("index: bad keypoint kind");
	for (i = 0; i < 16 && b[32 + i] != 0; i++)
		if (b[32 + i] < 0x21 || b[32 + i] > 0x7e)
			return pm_fail("index: vector method is not ASCII");
	memcpy(ix->method, b + 32, i);
	ix->method[i] = '\0';
	if (!zero(b + 32 + i, 16 - i) || (i == 0) != (ix->dim == 0))
		return pm_fail("index: bad vector method");
	ix->wdim = (int)get32(b + 48);
	ix->wef = (int)get32(b + 52);
	if (ix->k > 0 ? (get32(b + 48) != (uint32_t)vocab_dim(ix->desctype,
	    ix->descsize) || get32(b + 52) < 1 || get32(b + 52) > 4096) :
	    (ix->wdim != 0 || ix->wef != 0))
		return pm_fail("index: bad vocabulary fields");

	/* the section table */
	nsec = get32(b + 56);
	if (nsec < 2 || nsec > MAXSECTIONS)
		return pm_fail("index: %lu sections", (unsigned long)nsec);
	tabend = INDEX_HDRSIZE + (uint64_t)nsec * TABLE_ENTRY;
	if (tabend > len)
		return pm_fail("index: section table past the end");
	prevend = tabend;
	for (i = 0; i < nsec; i++) {
		const unsigned char *t = b + INDEX_HDRSIZE + i * TABLE_ENTRY;

		for (s = 0; s < S_COUNT; s++)
			if (memcmp(t, tags[s], 4) == 0)
				break;
		if (s == S_COUNT)
			return pm_fail("index: unknown section %lu",
			    (unsigned long)i);
		if (have[s])
			return pm_fail("index: section %s twice", tags[s]);
		o = get64(t + 8);
		sz = get64(t + 16);
		if (get32(t + 4) != 0 || o % 8 != 0 || o < prevend || o > len ||
		    sz > len - o)
			return pm_fail("index: section %s misplaced", tags[s]);
		if (!zero(b + prevend, o - prevend))
			return pm_fail("index: bytes between sections not zero");
		have[s] = 1;
		off[s] = o;
		size[s] = sz;
		prevend = o + sz;
	}
	if (!zero(b + prevend, len - prevend))
		return pm_fail("index: bytes after the last section not zero");
	if (!have[S_ENTR] || !have[S_STRS])
		return pm_fail("index: no entries");
	if (have[S_VECS] != (ix->dim > 0) || (have[S_VGRF] && !have[S_VECS]))
		return pm_fail("index: vector sections do not match the header");
	if (have[S_WORD] != (ix->k > 0) || have[S_PROJ] != (ix->k > 0) ||
	    have[S_IVFO] != (ix->k > 0) || have[S_IVFP] != (ix->k > 0) ||
	    have[S_IVFS] != (ix->k > 0) || have[S_IVFG] != (ix->k > 0) ||
	    (have[S_WGRF] && !have[S_WORD]))
		return pm_fail("index: vocabulary sections do not match the "
		    "header");

	/* entries and their products */
	if (size[S_ENTR] != (uint64_t)ix->n * INDEX_ENTSIZE)
		return pm_fail("index: entry section of %llu bytes for %lu "
		    "entries", (unsigned long long)size[S_ENTR],
		    (unsigned long)ix->n);
	ix->ent = b + off[S_ENTR];
	str = ix->strs = b + off[S_STRS];
	nstr = size[S_STRS];
	for (i = 0; i < ix->n; i++) {
		const unsigned char *e = entp(ix, i);
		uint32_t po = get32(e + 64), pl = get32(e + 68),
		    flags = get32(e + 84);

		if (pl < 1 || pl > INDEX_MAXPRODUCT || po > nstr ||
		    pl > nstr - po || !utf8_ok(str + po, pl))
			return pm_fail("index: entry %lu: bad product id",
			    (unsigned long)i);
		if (get32(e + 72) < 1 || get32(e + 72) > IMG_MAX_SIDE ||
		    get32(e + 76) < 1 || get32(e + 76) > IMG_MAX_SIDE ||
		    get32(e + 80) > KPBLOB_MAXKP)
			return pm_fail("index: entry %lu: bad size",
			    (unsigned long)i);
		if ((flags & ~(uint32_t)(INDEX_HASVEC | INDEX_HASWORDS)) ||
		    ((flags & INDEX_HASVEC) && ix->dim == 0) ||
		    ((flags & INDEX_HASWORDS) && ix->k == 0))
			return pm_fail("index: entry %lu: bad flags",
			    (unsigned long)i);
	}

	/* vectors and their graph */
	if (ix->dim > 0) {
		if (size[S_VECS] != (uint64_t)ix->n * ix->dim * 4)
			return pm_fail("index: vector section of %llu bytes",
			    (unsigned long long)size[S_VECS]);
		ix->vec = (const float *)(b + off[S_VECS]);
		allowed = pm_calloc(ix->n, 1);
		ix->vrows = pm_reallocarray(NULL, ix->n, sizeof *ix->vrows);
		for (i = 0; i < ix->n; i++) {
			const float *v = ix->vec + (size_t)i * ix->dim;
			int has = get32(entp(ix, i) + 84) & INDEX_HASVEC;
			double n2 = 0;

			for (j = 0; j < (uint32_t)ix->dim; j++) {
				if (!isfinite(v[j]))
					goto badvec;
				n2 += (double)v[j] * v[j];
			}
			if (has ? fabs(sqrt(n2) - 1) > 1e-3 : n2 != 0)
				goto badvec;
			if (has) {
				allowed[i] = 1;
				ix->vrows[ix->nvrows++] = i;
			}
			continue;
badvec:
			free(allowed);
			return pm_fail("index: entry %lu: bad vector",
			    (unsigned long)i);
		}
		if (have[S_VGRF]) {
			if (ann_parse(&ix->vgraph, b + off[S_VGRF],
			    size[S_VGRF], ANN_IP, ix->dim, ix->vec,
			    (size_t)ix->dim * 4, ix->n, allowed) == -1) {
				free(allowed);
				return fail_in("index: vector ");
			}
			ix->has_vgraph = 1;
		}
		free(allowed);
		allowed = NULL;
	}

	/* the vocabulary and the inverted file */
	if (ix->k > 0) {
		if (size[S_WORD] != (uint64_t)ix->k * ix->wdim)
			return pm_fail("index: word section of %llu bytes",
			    (unsigned long long)size[S_WORD]);
		ix->words = b + off[S_WORD];
		if (have[S_WGRF]) {
			if (ann_parse(&ix->wgraph, b + off[S_WGRF],
			    size[S_WGRF], ANN_L2U8, ix->wdim, ix->words,
			    (size_t)ix->wdim, (uint32_t)ix->k, NULL) == -1)
				return fail_in("index: word ");
			if (ix->wgraph.nodes != (uint32_t)ix->k)
				return pm_fail("index: the word graph misses "
				    "words");
			ix->has_wgraph = 1;
		}
		if (size[S_PROJ] != (uint64_t)VOCAB_BITS * ix->wdim)
			return pm_fail("index: projection section of %llu bytes",
			    (unsigned long long)size[S_PROJ]);
		ix->proj = (const signed char *)(b + off[S_PROJ]);
		for (o = 0; o < size[S_PROJ]; o++)
			if (ix->proj[o] != 1 && ix->proj[o] != -1)
				return pm_fail("index: a projection weight is "
				    "not 1 or -1");
		if (size[S_IVFO] != ((uint64_t)ix->k + 1) * 8)
			return pm_fail("index: inverted file offsets of %llu "
			    "bytes", (unsigned long long)size[S_IVFO]);
		ix->ivf_off = (const uint64_t *)(b + off[S_IVFO]);
		ix->npost = ix->ivf_off[ix->k];
		if (ix->ivf_off[0] != 0 || ix->npost > len ||
		    size[S_IVFP] != ix->npost * 4 ||
		    size[S_IVFS] != ix->npost * 8 ||
		    size[S_IVFG] != ix->npost * 2)
			return pm_fail("index: inverted file sizes do not agree");
		ix->ivf_id = (const uint32_t *)(b + off[S_IVFP]);
		ix->ivf_sig = (const uint64_t *)(b + off[S_IVFS]);
		ix->ivf_geo = (const uint16_t *)(b + off[S_IVFG]);
		for (i = 0; i < ix->n; i++)
			if (get32(entp(ix, i) + 84) & INDEX_HASWORDS)
				ix->nwent++;
		ix->idf = pm_calloc((size_t)ix->k, sizeof *ix->idf);
		for (w = 0; w < (uint32_t)ix->k; w++) {
			uint64_t a = ix->ivf_off[w], z = ix->ivf_off[w + 1], p;
			uint32_t df = 0;

			if (z < a || z > ix->npost)
				return pm_fail("index: word %lu: bad offsets",
				    (unsigned long)w);
			for (p = a; p < z; p++) {
				uint32_t id = ix->ivf_id[p];

				if (id >= ix->n || (p > a &&
				    id < ix->ivf_id[p - 1]) ||
				    !(get32(entp(ix, id) + 84) & INDEX_HASWORDS))
					return pm_fail("index: word %lu: bad "
					    "posting", (unsigned long)w);
				if (p == a || id != ix->ivf_id[p - 1])
					df++;
			}
			if (df > 0)
				ix->idf[w] = (float)log(1 + (double)ix->nwent /
				    df);
		}
		vocab_init(&ix->voc, ix->words, ix->k, ix->wdim,
		    ix->has_wgraph ? &ix->wgraph : NULL, ix->wef);
	}

	/* products, numbered in the order of their ids */
	order = pm_reallocarray(NULL, ix->n, sizeof *order);
	for (i = 0; i < ix->n; i++)
		order[i] = i;
	qsort_r(order, ix->n, sizeof *order, by_product, ix);
	ix->pnum = pm_reallocarray(NULL, ix->n, sizeof *ix->pnum);
	ix->product = pm_reallocarray(NULL, ix->n, sizeof *ix->product);
	for (i = 0; i < ix->n; i++) {
		const unsigned char *e = entp(ix, order[i]);

		if (i == 0 || !same_product(ix, order[i - 1], order[i]))
			ix->product[ix->nproducts++] = pm_asprintf("%.*s",
			    (int)get32(e + 68),
			    (const char *)ix->strs + get32(e + 64));
		ix->pnum[order[i]] = ix->nproducts - 1;
	}
	free(order);
	return 0;
}

struct index *
index_open_mem(void *p, size_t n, int owned)
{
	struct index *ix = pm_calloc(1, sizeof *ix);

	ix->map = p;
	ix->len = n;
	ix->how = owned ? 1 : 0;
	if ((uintptr_t)p % 8 != 0) {
		/* read in place needs aligned arrays */
		ix->map = pm_malloc(n > 0 ? n : 1);
		memcpy(ix->map, p, n);
		if (owned)
			free(p);
		ix->how = 1;
	}
	if (parse(ix) == -1) {
		release(ix);
		return NULL;
	}
	return ix;
}

struct index *
index_open(const char *name, struct store *s)
{
	struct index *ix;
	struct stat st;
	void *p;
	size_t n;
	int fd;

	if ((fd = open(name, O_RDONLY)) != -1) {
		if (fstat(fd, &st) == -1) {
			close(fd);
			return pm_fail("%s: %s", name, strerror(errno)), NULL;
		}
		if (!S_ISREG(st.st_mode) || st.st_size < INDEX_HDRSIZE) {
			close(fd);
			pm_fail("%s: index: %s", name, S_ISREG(st.st_mode) ?
			    "too short to be an index" : "not a regular file");
			return NULL;
		}
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED)
			return pm_fail("%s: %s", name, strerror(errno)), NULL;
		ix = pm_calloc(1, sizeof *ix);
		ix->map = p;
		ix->len = (size_t)st.st_size;
		ix->how = 2;
		if (parse(ix) == -1) {
			char *why = pm_strdup(pm_why());

			release(ix);
			pm_fail("%s: %s", name, why);
			free(why);
			return NULL;
		}
		return ix;
	}
	if (errno != ENOENT || !store_name_ok(name) || s == NULL)
		return pm_fail("%s: %s", name, strerror(errno)), NULL;
	if (store_get(s, name, &p, &n) == -1)
		return NULL;
	if ((ix = index_open_mem(p, n, 1)) == NULL) {
		char *why = pm_strdup(pm_why());

		pm_fail("index blob %s: %s", name, why);
		free(why);
	}
	return ix;
}

void
index_entry(const struct index *ix, uint32_t i, struct index_entry *e)
{
	const unsigned char *p = entp(ix, i);

	e->pnum = ix->pnum[i];
	e->product = ix->product[e->pnum];
	index_hex(p, e->image);
	index_hex(p + 32, e->kp);
	e->w = get32(p + 72);
	e->h = get32(p + 76);
	e->nkp = get32(p + 80);
	e->flags = get32(p + 84);
}

void
index_scratch_free(struct index_scratch *s)
{
	ann_scratch_free(&s->vs);
	ann_scratch_free(&s->ws);
	free(s->acc);
	free(s->touched);
	free(s->sel);
	free(s->vm);
	free(s->bins);
	memset(s, 0, sizeof *s);
}

uint16_t
index_geo(const struct kpblob_kp *kp)
{
	double a = kp->angle >= 0 ? kp->angle : 0, l;
	int ai, li;

	ai = (int)lround(a * 256 / 360) & 255;
	l = kp->size > 0 ? log2(kp->size) * 8 + 64 : 0;
	li = l < 0 ? 0 : l > 255 ? 255 : (int)lround(l);
	return (uint16_t)(ai | li << 8);
}

void
index_query_free(struct index_query *q)
{
	free(q->word);
	free(q->sig);
	free(q->geo);
	memset(q, 0, sizeof *q);
}

void
index_query_make(const struct index *ix, const struct kpblob *kb,
    struct index_query *q, struct index_scratch *s)
{
	struct kpblob_kp kp;
	size_t i, n = (size_t)kb->n;

	unsigned char *rows;

	memset(q, 0, sizeof *q);
	if (ix->k == 0 || n == 0)
		return;
	q->n = n;
	q->word = pm_reallocarray(NULL, n, sizeof *q->word);
	q->sig = pm_reallocarray(NULL, n, sizeof *q->sig);
	q->geo = pm_reallocarray(NULL, n, sizeof *q->geo);
	rows = pm_reallocarray(NULL, n, (size_t)ix->wdim);
	for (i = 0; i < n; i++)
		vocab_expand(ix->desctype, ix->descsize,
		    kb->desc + i * (size_t)ix->descsize,
		    rows + i * (size_t)ix->wdim);
	vocab_assign(&ix->voc, rows, n, q->word, NULL, &s->ws);
	for (i = 0; i < n; i++) {
		q->sig[i] = vocab_sign(rows + i * (size_t)ix->wdim, ix->words +
		    (size_t)q->word[i] * ix->wdim, ix->wdim, ix->proj);
		kpblob_get(kb, (int)i, &kp);
		q->geo[i] = index_geo(&kp);
	}
	free(rows);
}

/* better: a higher score, or as high and a lower entry */
static int
hit_better(const struct index_hit *a, const struct index_hit *b)
{
	return a->score > b->score ||
	    (a->score == b->score && a->entry < b->entry);
}

/* Keep the K best of the hits seen so far in out[0..*n), best first. */
static void
keep(struct index_hit *out, int *n, int K, struct index_hit h)
{
	int i;

	if (*n == K && !hit_better(&h, &out[K - 1]))
		return;
	i = *n < K ? (*n)++ : K - 1;
	while (i > 0 && hit_better(&h, &out[i - 1])) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = h;
}

/* A keypoint's vote for an entry: its weight, and the rotation and
 * change of scale the pair implies. */
struct index_vote_match {
	uint32_t	 entry;
	float		 w;
	uint8_t		 dangle, dscale;
};

#define ABINS	16		/* rotation: 22.5 degrees a bin */
#define SBINS	16		/* scale: an octave a bin, -8 .. 8 */
#define STAGE2	64		/* entries weighed for consistency, at least */

/*
 * Stage 1 of index_vote(): each keypoint's best vote for each entry, in
 * s->vm, and the entries' sums in s->acc.  Compiled twice, for the
 * processor's popcnt instruction and without it.
 */
static inline __attribute__((always_inline)) void
stage1(const struct index *ix, const struct index_query *q,
    struct index_scratch *s)
{
	uint64_t p, z;
	uint32_t e;
	size_t i;
	int h;

	s->ntouched = 0;
	s->nvm = 0;
	for (i = 0; i < q->n; i++) {
		uint32_t w = q->word[i];
		double idf2, best;

		if (w >= (uint32_t)ix->k || ix->idf[w] <= 0)
			continue;
		idf2 = (double)ix->idf[w] * ix->idf[w];
		z = ix->ivf_off[w + 1];
		for (p = ix->ivf_off[w]; p < z; ) {
			uint16_t bg = 0;
			int hmin = INDEX_HT + 1;

			/* the entry's nearest signature, the first of
			 * equals */
			e = ix->ivf_id[p];
			for (; p < z && ix->ivf_id[p] == e; p++) {
				h = __builtin_popcountll(q->sig[i] ^
				    ix->ivf_sig[p]);
				if (h < hmin) {
					hmin = h;
					bg = ix->ivf_geo[p];
				}
			}
			if (hmin > INDEX_HT)
				continue;
			/* weight: exp(-h^2 / 16^2) */
			best = exp(-(double)hmin * hmin / 256);
			if (s->nvm == s->vmcap) {
				s->vmcap = s->vmcap ? 2 * s->vmcap : 4096;
				s->vm = pm_reallocarray(s->vm, s->vmcap,
				    sizeof *s->vm);
			}
			s->vm[s->nvm].entry = e;
			s->vm[s->nvm].w = (float)(best * idf2);
			s->vm[s->nvm].dangle = (uint8_t)((q->geo[i] & 255) -
			    (bg & 255));
			{
				int ds = (q->geo[i] >> 8) - (bg >> 8) + 64;

				s->vm[s->nvm].dscale = (uint8_t)(ds < 0 ? 0 :
				    ds > 127 ? 127 : ds);
			}
			s->nvm++;
			if (s->acc[e] == 0)
				s->touched[s->ntouched++] = e;
			s->acc[e] += best * idf2;
		}
	}
}

#ifdef HAVE_X86
__attribute__((target("popcnt"))) static void
stage1_popcnt(const struct index *ix, const struct index_query *q,
    struct index_scratch *s)
{
	stage1(ix, q, s);
}
#endif

static void
stage1_plain(const struct index *ix, const struct index_query *q,
    struct index_scratch *s)
{
	stage1(ix, q, s);
}

int
index_vote(const struct index *ix, const struct index_query *q, int K,
    struct index_hit *out, struct index_scratch *s)
{
	struct index_hit *top;
	size_t m;
	uint32_t t, e;
	int nout = 0, ntop = 0, M, k;

	if (ix->k == 0 || K < 1 || q->n == 0)
		return 0;
	if (s->cap < ix->n) {
		free(s->acc);
		free(s->touched);
		free(s->sel);
		s->acc = pm_calloc(ix->n, sizeof *s->acc);
		s->touched = pm_calloc(ix->n, sizeof *s->touched);
		s->sel = pm_reallocarray(NULL, ix->n, sizeof *s->sel);
		for (t = 0; t < ix->n; t++)
			s->sel[t] = -1;
		s->cap = ix->n;
	}

	/* stage 1: each keypoint's best vote for each entry */
#ifdef HAVE_X86
	if (__builtin_cpu_supports("popcnt"))
		stage1_popcnt(ix, q, s);
	else
#endif
		stage1_plain(ix, q, s);

	/* stage 2: of the best entries, the votes that agree */
	M = K > STAGE2 / 4 ? 4 * K : STAGE2;
	top = pm_reallocarray(NULL, (size_t)M, sizeof *top);
	for (t = 0; t < s->ntouched; t++) {
		struct index_hit x;

		e = s->touched[t];
		x.entry = e;
		x.score = s->acc[e];
		s->acc[e] = 0;
		keep(top, &ntop, M, x);
	}
	if (ntop == 0) {
		free(top);
		return 0;
	}
	if (s->bincap < (size_t)ntop * (ABINS + SBINS)) {
		s->bincap = (size_t)ntop * (ABINS + SBINS);
		free(s->bins);
		s->bins = pm_reallocarray(NULL, s->bincap, sizeof *s->bins);
	}
	memset(s->bins, 0, (size_t)ntop * (ABINS + SBINS) * sizeof *s->bins);
	for (k = 0; k < ntop; k++)
		s->sel[top[k].entry] = k;
	for (m = 0; m < s->nvm; m++) {
		const struct index_vote_match *v = &s->vm[m];
		double *b;

		if ((k = s->sel[v->entry]) < 0)
			continue;
		b = s->bins + (size_t)k * (ABINS + SBINS);
		b[v->dangle / (256 / ABINS)] += v->w;
		b[ABINS + v->dscale / 8] += v->w;
	}
	for (k = 0; k < ntop; k++) {
		const double *b = s->bins + (size_t)k * (ABINS + SBINS);
		double ma = 0, ms = 0;
		struct index_hit x;
		int j;

		s->sel[top[k].entry] = -1;
		for (j = 0; j < ABINS; j++)
			ma = b[j] > ma ? b[j] : ma;
		for (j = 0; j < SBINS; j++)
			ms = b[ABINS + j] > ms ? b[ABINS + j] : ms;
		x.entry = top[k].entry;
		x.score = ma < ms ? ma : ms;
		if (x.score > 0)
			keep(out, &nout, K, x);
	}
	free(top);
	return nout;
}

int
index_nearest(const struct index *ix, const float *q, int K, int ef,
    int exact, struct index_hit *out, struct index_scratch *s)
{
	struct ann_hit *h;
	int i, n;

	if (ix->dim == 0 || ix->nvrows == 0 || K < 1)
		return 0;
	h = pm_reallocarray(NULL, (size_t)K, sizeof *h);
	if (exact || !ix->has_vgraph)
		n = ann_exact(ANN_IP, ix->dim, ix->vec, (size_t)ix->dim * 4,
		    ix->vrows, ix->nvrows, q, K, h);
	else
		n = ann_search(&ix->vgraph, q, K, ef, h, &s->vs);
	for (i = 0; i < n; i++) {
		out[i].entry = h[i].row;
		out[i].score = 1 - h[i].d;
	}
	free(h);
	return n;
}

/* The writer. */

struct layout {
	uint64_t off[S_COUNT], size[S_COUNT];
	int	 have[S_COUNT];
	uint32_t nsec;
};

static int
by_name(const void *a, const void *b, void *arg)
{
	const struct index_in *e = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int c = strcmp(e[i].product, e[j].product);

	if (c == 0)
		c = i < j ? -1 : i > j;
	return c;
}

int
index_write(const struct index_build *in, void **outp, size_t *lenp)
{
	struct layout L;
	unsigned char *b, *t;
	uint32_t i, *order, *poff;
	uint64_t pos, nstr = 0;
	size_t len;
	struct index *chk;
	int s;

	*outp = NULL;
	*lenp = 0;
	if (in->n < 1 || in->n > INDEX_MAXN)
		return pm_fail("index: %lu entries", (unsigned long)in->n);
	for (i = 0; i < in->n; i++) {
		size_t pl = strlen(in->e[i].product);

		if (pl < 1 || pl > INDEX_MAXPRODUCT)
			return pm_fail("index: product id of %zu bytes", pl);
	}

	/* each product's id once in STRS, in id order */
	order = pm_reallocarray(NULL, in->n, sizeof *order);
	poff = pm_reallocarray(NULL, in->n, sizeof *poff);
	for (i = 0; i < in->n; i++)
		order[i] = i;
	qsort_r(order, in->n, sizeof *order, by_name, (void *)in->e);
	for (i = 0; i < in->n; i++) {
		if (i > 0 && strcmp(in->e[order[i]].product,
		    in->e[order[i - 1]].product) == 0) {
			poff[order[i]] = poff[order[i - 1]];
			continue;
		}
		poff[order[i]] = (uint32_t)nstr;
		nstr += strlen(in->e[order[i]].product);
	}
	if (nstr > UINT32_MAX) {
		free(order);
		free(poff);
		return pm_fail("index: product ids too long in all");
	}

	memset(&L, 0, sizeof L);
	L.have[S_ENTR] = L.have[S_STRS] = 1;
	L.size[S_ENTR] = (uint64_t)in->n * INDEX_ENTSIZE;
	L.size[S_STRS] = nstr;
	if (in->dim > 0) {
		L.have[S_VECS] = 1;
		L.size[S_VECS] = (uint64_t)in->n * in->dim * 4;
		if (in->vgraph != NULL) {
			L.have[S_VGRF] = 1;
			L.size[S_VGRF] = in->vgraph->seclen;
		}
	}
	if (in->k > 0) {
		L.have[S_WORD] = L.have[S_IVFO] = L.have[S_IVFP] = 1;
		L.size[S_WORD] = (uint64_t)in->k * in->wdim;
		if (in->wgraph != NULL) {
			L.have[S_WGRF] = 1;
			L.size[S_WGRF] = in->wgraph->seclen;
		}
		L.have[S_PROJ] = L.have[S_IVFS] = L.have[S_IVFG] = 1;
		L.size[S_PROJ] = (uint64_t)VOCAB_BITS * in->wdim;
		L.size[S_IVFO] = ((uint64_t)in->k + 1) * 8;
		L.size[S_IVFP] = in->npost * 4;
		L.size[S_IVFS] = in->npost * 8;
		L.size[S_IVFG] = in->npost * 2;
	}
	for (s = 0; s < S_COUNT; s++)
		L.nsec += (uint32_t)L.have[s];
	pos = INDEX_HDRSIZE + (uint64_t)L.nsec * TABLE_ENTRY;
	for (s = 0; s < S_COUNT; s++) {
		if (!L.have[s])
			continue;
		pos = (pos + 7) / 8 * 8;
		L.off[s] = pos;
		pos += L.size[s];
	}
	len = (size_t)((pos + 7) / 8 * 8);
	b = pm_calloc(1, len);

	memcpy(b, "PMIX", 4);
	put16(b + 4, INDEX_VERSION);
	put16(b + 6, INDEX_HDRSIZE);
	put32(b + 12, in->n);
	put32(b + 16, (uint32_t)in->dim);
	put32(b + 20, (uint32_t)in->k);
	b[24] = (unsigned char)in->detector;
	b[25] = (unsigned char)in->desctype;
	put16(b + 26, (uint16_t)in->descsize);
	put32(b + 28, in->kpflags);
	if (in->dim > 0)
		memcpy(b + 32, in->method, strnlen(in->method, 16));
	if (in->k > 0) {
		put32(b + 48, (uint32_t)in->wdim);
		put32(b + 52, (uint32_t)in->wef);
	}
	put32(b + 56, L.nsec);
	put64(b + 64, len);
	t = b + INDEX_HDRSIZE;
	for (s = 0; s < S_COUNT; s++) {
		if (!L.have[s])
			continue;
		memcpy(t, tags[s], 4);
		put64(t + 8, L.off[s]);
		put64(t + 16, L.size[s]);
		t += TABLE_ENTRY;
	}

	for (i = 0; i < in->n; i++) {
		unsigned char *e = b + L.off[S_ENTR] + (size_t)i * INDEX_ENTSIZE;
		const struct index_in *x = &in->e[i];

		memcpy(e, x->image, 32);
		memcpy(e + 32, x->kp, 32);
		put32(e + 64, poff[i]);
		put32(e + 68, (uint32_t)strlen(x->product));
		put32(e + 72, x->w);
		put32(e + 76, x->h);
		put32(e + 80, x->nkp);
		put32(e + 84, x->flags);
		memcpy(b + L.off[S_STRS] + poff[i], x->product,
		    strlen(x->product));
	}
	free(order);
	free(poff);
	if (in->dim > 0) {
		memcpy(b + L.off[S_VECS], in->vec, L.size[S_VECS]);
		if (L.have[S_VGRF])
			memcpy(b + L.off[S_VGRF], in->vgraph->sec,
			    in->vgraph->seclen);
	}
	if (in->k > 0) {
		memcpy(b + L.off[S_WORD], in->words, L.size[S_WORD]);
		if (L.have[S_WGRF])
			memcpy(b + L.off[S_WGRF], in->wgraph->sec,
			    in->wgraph->seclen);
		for (i = 0; i <= (uint32_t)in->k; i++)
			put64(b + L.off[S_IVFO] + 8 * (size_t)i, in->ivf_off[i]);
		memcpy(b + L.off[S_PROJ], in->proj, L.size[S_PROJ]);
		for (pos = 0; pos < in->npost; pos++) {
			put32(b + L.off[S_IVFP] + 4 * pos, in->ivf_id[pos]);
			put64(b + L.off[S_IVFS] + 8 * pos, in->ivf_sig[pos]);
			put16(b + L.off[S_IVFG] + 2 * pos, in->ivf_geo[pos]);
		}
	}
	index_seal(b, len);

	/* what is written must read back */
	if ((chk = index_open_mem(b, len, 0)) == NULL) {
		char *why = pm_strdup(pm_why());

		free(b);
		pm_fail("index: the written file does not read back: %s", why);
		free(why);
		return -1;
	}
	index_close(chk);
	*outp = b;
	*lenp = len;
	return 0;
}
