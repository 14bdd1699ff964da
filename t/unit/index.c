/*
 * index: the catalog index file (src/lib/index.c) built from real
 * images: queries find each image from its own words and vector; the
 * same input gives the same bytes for any number of threads; adding to
 * an index keeps its entries; and the reader refuses truncated, foreign
 * and damaged files -- every targeted corruption with a reason, and
 * random ones without reading out of bounds (run it under
 * SANITIZE=address to see that).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cv.h"
#include "err.h"
#include "index.h"
#include "ixbuild.h"
#include "kpblob.h"
#include "store.h"
#include "tap.h"
#include "testdata.h"
#include "vocab.h"

#define DIM	16

static const char *files[] = {
	"box.png", "graf1.png", "HappyFish.jpg", "baboon.jpg", "fruits.jpg",
	"building.jpg", "butterfly.jpg", "LinuxLogo.jpg"
};
static const char *products[] = {
	"box", "graf", "fish", "baboon", "caf\xc3\xa9", "building", "box",
	"logo"
};
#define NFILES	(sizeof files / sizeof files[0])
#define NBASE	6	/* images in the first index; the rest are added */

static struct store *st;
static json_t *recs[NFILES];
static float vecs[NFILES][DIM];

/* A real image's record: its blob, keypoints, and a small vector made
 * from its descriptors (sums of 8-element slices, normalised). */
static json_t *
image_record(int i)
{
	struct cv_kp_opts o;
	struct kpblob kb;
	char name[STORE_NAMELEN + 1], kpname[STORE_NAMELEN + 1];
	unsigned char *img;
	void *blob;
	size_t n, len;
	json_t *j, *emb;
	double s = 0;
	int nkp, k, d;

	if ((img = testdata(files[i], &n)) == NULL)
		exit(1);
	cv_kp_defaults(&o);
	o.max_kp = 400;
	if (store_put(st, img, n, name) == -1 ||
	    cv_kp_extract(img, n, &o, &blob, &len, &nkp) == -1 ||
	    store_put(st, blob, len, kpname) == -1 ||
	    kpblob_parse(&kb, blob, len) == -1)
		pm_err(1, "%s: %s", files[i], pm_why());
	memset(vecs[i], 0, sizeof vecs[i]);
	for (k = 0; k < kb.n; k++)
		for (d = 0; d < 128; d++)
			vecs[i][d / 8] += kb.desc[(size_t)k * 128 + d];
	for (d = 0; d < DIM; d++)
		s += (double)vecs[i][d] * vecs[i][d];
	emb = json_array();
	for (d = 0; d < DIM; d++) {
		vecs[i][d] = (float)(vecs[i][d] / sqrt(s));
		json_array_append_new(emb, json_real(vecs[i][d]));
	}
	free(img);
	free(blob);
	j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "type", "image",
	    "product", products[i], "blob", name, "kp", kpname, "emb", emb,
	    "emb_method", "test");
	return j;
}

static void
params(struct ixb_params *p, int threads)
{
	ixb_defaults(p);
	p->k = 600;
	p->exactk = 512;	/* over it: a word graph too */
	p->iters = 4;
	p->graph_min = 1;	/* a vector graph even for a few */
	p->threads = threads;
}

/* Build an index of images [from, to), adding to old when given. */
static int
build(int from, int to, int threads, struct index *old, void **out,
    size_t *len)
{
	struct ixb_params p;
	struct ixb_stats s;
	struct ixb *b;
	struct ixb_item *it;
	int i, r;

	params(&p, threads);
	b = ixb_new(&p, old, st);
	for (i = from; i < to; i++) {
		if (ixb_item(b, recs[i], &it) == -1 || ixb_add(b, it) == -1) {
			diag("%s: %s", files[i], pm_why());
			return -1;
		}
		ixb_item_free(it);
	}
	r = ixb_finish(b, out, len, &s);
	ixb_free(b);
	return r;
}

/* Entry i's keypoints as a query. */
static void
query_of(struct index *ix, uint32_t i, struct index_query *q,
    struct index_scratch *sc)
{
	struct index_entry e;
	struct kpblob kb;
	void *p;
	size_t len;

	index_entry(ix, i, &e);
	if (store_get(st, e.kp, &p, &len) == -1 ||
	    kpblob_parse(&kb, p, len) == -1)
		pm_err(1, "%s", pm_why());
	index_query_make(ix, &kb, q, sc);
	free(p);
}

/* Exercise every query of an index the reader accepted. */
static void
query_all(struct index *ix)
{
	struct index_scratch sc = { 0 };
	struct index_hit h[8];
	struct index_entry e;
	struct index_query q;
	uint32_t i;

	for (i = 0; i < ix->n; i++)
		index_entry(ix, i, &e);
	query_of(ix, 0, &q, &sc);
	index_vote(ix, &q, 8, h, &sc);
	index_query_free(&q);
	if (ix->dim == DIM) {
		index_nearest(ix, vecs[0], 8, 16, 0, h, &sc);
		index_nearest(ix, vecs[0], 8, 16, 1, h, &sc);
	}
	index_scratch_free(&sc);
}

/* Find a section's offset and size in a file. */
static int
section(const unsigned char *b, const char *tag, size_t *off, size_t *size)
{
	uint32_t i, nsec = (uint32_t)(b[56] | b[57] << 8);

	for (i = 0; i < nsec; i++) {
		const unsigned char *t = b + INDEX_HDRSIZE + 24 * i;

		if (memcmp(t, tag, 4) == 0) {
			memcpy(off, t + 8, 8);
			memcpy(size, t + 16, 8);
			return 0;
		}
	}
	return -1;
}

/* A copy of the file with one change, resealed; 1 if the reader
 * refuses it (diag: why). */
static int
refused(const unsigned char *b, size_t len, size_t at, const void *val,
    size_t vlen, const char *what)
{
	unsigned char *c = malloc(len);
	struct index *ix;

	memcpy(c, b, len);
	memcpy(c + at, val, vlen);
	index_seal(c, len);
	ix = index_open_mem(c, len, 1);
	if (ix == NULL) {
		diag("%s: %s", what, pm_why());
		return 1;
	}
	index_close(ix);
	return 0;
}

static uint64_t rng = 12345;

static uint32_t
rnd(void)
{
	return (uint32_t)vocab_rand(&rng);
}

int
main(int argc, char *argv[])
{
	char dir[] = "/tmp/pm-unit-index.XXXXXX", cmd[128];
	struct index_scratch sc = { 0 };
	struct index *ix, *ix2;
	struct index_hit h[8];
	struct index_entry e;
	struct index_query q;
	unsigned char *b, *c;
	void *p1, *p4, *pa;
	size_t len, len4, lena, off, size, at;
	uint32_t i, u, nodes;
	int ok_vote = 1, ok_vec = 1, ok_exact = 1, refusedn, acc, k;
	float nan = NAN;

	pm_init(argv[0]);
	tap_plan(24);
	if (mkdtemp(dir) == NULL)
		pm_err(2, "mkdtemp:");
	if ((st = store_open(dir)) == NULL)
		pm_err(2, "%s", pm_why());
	for (i = 0; i < NFILES; i++)
		recs[i] = image_record((int)i);

	/* building */
	k = build(0, NBASE, 1, NULL, &p1, &len);
	ok(k == 0, "an index of %d real images builds (%zu bytes)", NBASE,
	    len);
	b = p1;
	ok(build(0, NBASE, 4, NULL, &p4, &len4) == 0 && len4 == len &&
	    memcmp(p1, p4, len) == 0, "-j 4 writes the same bytes as -j 1");
	free(p4);
	ix = index_open_mem(b, len, 0);
	ok(ix != NULL, "it opens: %s", ix ? "ok" : pm_why());
	if (ix == NULL)
		return tap_done();
	ok(ix->n == NBASE && ix->k == 600 && ix->dim == DIM &&
	    ix->has_vgraph && ix->has_wgraph && ix->nproducts == NBASE,
	    "%u entries, %d words, %d-element vectors, both graphs, "
	    "%u products", ix->n, ix->k, ix->dim, ix->nproducts);
	index_entry(ix, 4, &e);
	ok(strcmp(e.product, "caf\xc3\xa9") == 0 && e.w == 512 &&
	    e.h == 480 && strcmp(e.kp, json_string_value(json_object_get(
	    recs[4], "kp"))) == 0, "entry 4: product %s, %ux%u, its kp blob",
	    e.product, e.w, e.h);

	/* queries */
	for (i = 0; i < ix->n; i++) {
		query_of(ix, i, &q, &sc);
		if (index_vote(ix, &q, 3, h, &sc) < 1 || h[0].entry != i)
			ok_vote = 0;
		index_query_free(&q);
		if (index_nearest(ix, vecs[i], 3, 16, 0, h, &sc) < 1 ||
		    h[0].entry != i || fabs(h[0].score - 1) > 1e-5)
			ok_vec = 0;
		if (index_nearest(ix, vecs[i], 3, 16, 1, h, &sc) < 1 ||
		    h[0].entry != i)
			ok_exact = 0;
	}
	ok(ok_vote, "each image's own keypoints vote for it first");
	ok(ok_vec, "each image's own vector finds it first in the graph");
	ok(ok_exact, "... and by exact search");

	/* adding to it */
	ok(build(NBASE, (int)NFILES, 2, ix, &pa, &lena) == 0,
	    "adding %d images to it builds", (int)NFILES - NBASE);
	ix2 = index_open_mem(pa, lena, 1);
	ok(ix2 != NULL && ix2->n == NFILES && ix2->k == ix->k &&
	    memcmp(ix2->words, ix->words, (size_t)ix->k * ix->wdim) == 0 &&
	    ix2->nproducts == NFILES - 1,
	    "%u entries, the same vocabulary, %u products (two images of "
	    "box)", ix2 ? ix2->n : 0, ix2 ? ix2->nproducts : 0);
	if (ix2 != NULL) {
		int same = 1;

		for (i = 0; i < NBASE; i++) {
			struct index_entry e2;

			index_entry(ix, i, &e);
			index_entry(ix2, i, &e2);
			same &= strcmp(e.image, e2.image) == 0 &&
			    strcmp(e.product, e2.product) == 0;
		}
		query_of(ix2, NFILES - 1, &q, &sc);
		k = index_vote(ix2, &q, 3, h, &sc);
		index_query_free(&q);
		ok(same && k > 0 && h[0].entry == NFILES - 1 &&
		    index_nearest(ix2, vecs[NFILES - 1], 1, 16, 0, h, &sc) == 1 &&
		    h[0].entry == NFILES - 1, "the old entries stay; a new "
		    "image is found by its words and in the grown graph");
		index_close(ix2);
	} else
		ok(0, "the added index");
	index_scratch_free(&sc);

	/* truncated, foreign, damaged */
	for (at = 0, refusedn = 0, k = 0; at < len; at = at < 400 ? at + 1 :
	    at + 1 + rnd() % 2000, k++)
		if (index_open_mem(b, at, 0) == NULL)
			refusedn++;
	ok(refusedn == k, "truncated at %d lengths: all refused (last: %s)",
	    k, pm_why());
	c = malloc(len);
	for (k = 0, refusedn = 0; k < 200; k++) {
		size_t glen = INDEX_HDRSIZE + rnd() % 4096;

		for (at = 0; at < glen; at++)
			c[at] = (unsigned char)rnd();
		if (k % 2) {
			/* garbage that passes the first checks */
			memcpy(c, b, INDEX_HDRSIZE);
			memcpy(c + 64, &glen, 8);
			index_seal(c, glen);
		}
		if (index_open_mem(c, glen, 0) == NULL)
			refusedn++;
	}
	ok(refusedn == 200, "200 garbage files, half with a good header "
	    "and checksum: all refused");
	memcpy(c, b, len);
	c[len / 2] ^= 1;
	ok(index_open_mem(c, len, 0) == NULL &&
	    strstr(pm_why(), "checksum") != NULL,
	    "a flipped bit: %s", pm_why());
	free(c);

	/* targeted damage, resealed so that only the structure tells */
	u = ix->n;
	section(b, "IVFP", &off, &size);
	ok(refused(b, len, off, &u, 4, "posting to entry n"),
	    "a posting to an entry past the last is refused");
	/* the same, not resealed: the checksum, summed while the rest
	 * is checked, is what is reported */
	c = malloc(len);
	memcpy(c, b, len);
	memcpy(c + off, &u, 4);
	ok(index_open_mem(c, len, 1) == NULL &&
	    strstr(pm_why(), "checksum") != NULL,
	    "that posting, not resealed: %s", pm_why());
	section(b, "IVFO", &off, &size);
	u = 0xffffff;
	ok(refused(b, len, off + 8, &u, 4, "offset past the postings"),
	    "an inverted-file offset past the postings is refused");
	section(b, "ENTR", &off, &size);
	u = 0xfffffff0;
	ok(refused(b, len, off + 64, &u, 4, "product offset"),
	    "a product id outside the strings is refused");
	section(b, "STRS", &off, &size);
	ok(refused(b, len, off, "\xff", 1, "bad UTF-8"),
	    "a product id that is not UTF-8 is refused");
	section(b, "VECS", &off, &size);
	ok(refused(b, len, off + 4, &nan, 4, "NaN"),
	    "a vector element that is not a number is refused");
	section(b, "VGRF", &off, &size);
	memcpy(&nodes, b + off + 4, 4);
	{
		/* node 0's first link at level 0 */
		size_t l0 = off + ANN_HDRSIZE + 4 * (size_t)nodes +
		    ((size_t)nodes + 3) / 4 * 4;

		ok(refused(b, len, l0 + 4, &nodes, 4, "link"),
		    "a graph link to a node past the last is refused");
	}
	section(b, "WGRF", &off, &size);
	memcpy(&u, b + off + 16, 4);
	u++;
	ok(refused(b, len, off + 16, &u, 4, "top level"),
	    "a word graph whose entry node is not on its top level is "
	    "refused");
	u = 99;
	ok(refused(b, len, INDEX_HDRSIZE + 8, &u, 4, "overlap") &&
	    refused(b, len, 12, &u, 4, "entry count") &&
	    refused(b, len, 20, &u, 4, "word count"),
	    "misplaced sections and wrong counts are refused");

	/* random damage, resealed: refused, or safe to query */
	c = malloc(len);
	for (k = 0, refusedn = 0, acc = 0; k < 3000; k++) {
		memcpy(c, b, len);
		at = k < 1000 ? rnd() % (INDEX_HDRSIZE + 24 * 11) :
		    rnd() % (len - 4);
		u = rnd();
		if (k % 3 == 0)
			c[at] ^= (unsigned char)(1 << (u % 8));
		else if (k % 3 == 1)
			memcpy(c + at, &u, 4);
		else
			memset(c + at, 0xff, 4);
		index_seal(c, len);
		ix2 = index_open_mem(c, len, 0);
		if (ix2 == NULL) {
			refusedn++;
			continue;
		}
		query_all(ix2);
		index_close(ix2);
		acc++;
	}
	ok(refusedn + acc == 3000 && refusedn > 1000,
	    "3000 random changes, resealed: %d refused, %d accepted and "
	    "queried within bounds", refusedn, acc);
	free(c);

	index_close(ix);
	free(b);
	for (i = 0; i < NFILES; i++)
		json_decref(recs[i]);
	store_close(st);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
