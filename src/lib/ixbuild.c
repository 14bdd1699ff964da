/*
 * ixbuild.c: building a catalog index from image records (ixbuild.h).
 */
#define _GNU_SOURCE		/* qsort_r */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ann.h"
#include "err.h"
#include "index.h"
#include "ixbuild.h"
#include "kpblob.h"
#include "pfor.h"
#include "store.h"
#include "vec.h"
#include "vocab.h"

#define SEED	0x706d2d696e646578ULL	/* "pm-index" */

struct ixb_item {
	char		*product;
	unsigned char	 image[32], kp[32];
	uint32_t	 w, h, nkp;
	int		 detector, desctype, descsize;
	uint32_t	 kpflags;
	unsigned char	*desc;		/* nkp * descsize, or NULL */
	uint16_t	*geo;		/* with desc: each keypoint's geometry */
	struct vec	 v;		/* v.dim 0: none */
	struct index_query q;		/* postings, when the words are known */
	int		 has_words;
};

struct ent {
	char		*product;
	unsigned char	 image[32], kp[32];
	uint32_t	 w, h, nkp;
	unsigned char	*desc;		/* kept from the first pass, or NULL */
	uint16_t	*geo;		/* with desc */
	float		*vec;		/* or NULL; owned unless old */
	struct index_query q;		/* its postings: words, signatures, geometry */
	int		 has_words, done;
	int		 old;		/* from the index added to */
};

struct ixb {
	struct ixb_params p;
	struct index	*old;
	struct store	*st;
	int		 kind_set, detector, desctype, descsize;
	uint32_t	 kpflags;
	int		 wdim;
	int		 dim;
	char		 method[VEC_METHODLEN + 1];
	struct ent	*e;
	size_t		 n, cap;
	unsigned char	*sample;
	size_t		 nsample;
	uint64_t	 seen, rng;
	size_t		 kept;
	uint32_t	*hash;		/* entry + 1 by (product, image), 0 empty */
	size_t		 hcap;
	uint32_t	 dups;
};

void
ixb_defaults(struct ixb_params *p)
{
	memset(p, 0, sizeof *p);
	p->k = 0;
	p->sample = 500000;
	p->iters = 10;
	p->M = 16;
	p->efc = 200;
	p->wef = 32;
	p->exactk = VOCAB_EXACT;
	p->graph_min = 1024;
	p->threads = 1;
	p->keep = (size_t)256 << 20;
}

static uint64_t
key_hash(const char *product, const unsigned char image[32])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p;
	int i;

	for (p = (const unsigned char *)product; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	for (i = 0; i < 32; i++)
		h = (h ^ image[i]) * 0x100000001b3ULL;
	return h;
}

/* Is (product, image) an entry already?  If not, entry i is it now. */
static int
seen_before(struct ixb *b, const char *product, const unsigned char *image,
    uint32_t i)
{
	size_t k, j;

	if (2 * (b->n + 1) > b->hcap) {
		uint32_t *old = b->hash;
		size_t ocap = b->hcap;

		b->hcap = b->hcap ? 2 * b->hcap : 1024;
		b->hash = pm_calloc(b->hcap, sizeof *b->hash);
		for (k = 0; k < ocap; k++) {
			struct ent *e;

			if (old[k] == 0)
				continue;
			e = &b->e[old[k] - 1];
			j = key_hash(e->product, e->image) & (b->hcap - 1);
			while (b->hash[j] != 0)
				j = (j + 1) & (b->hcap - 1);
			b->hash[j] = old[k];
		}
		free(old);
	}
	j = key_hash(product, image) & (b->hcap - 1);
	for (; b->hash[j] != 0; j = (j + 1) & (b->hcap - 1)) {
		struct ent *e = &b->e[b->hash[j] - 1];

		if (strcmp(e->product, product) == 0 &&
		    memcmp(e->image, image, 32) == 0)
			return 1;
	}
	b->hash[j] = i + 1;
	return 0;
}

struct ixb *
ixb_new(const struct ixb_params *p, struct index *old, struct store *st)
{
	struct ixb *b = pm_calloc(1, sizeof *b);
	struct index_entry ie;
	uint32_t i;

	b->p = *p;
	b->old = old;
	b->st = st;
	b->rng = SEED;
	if (old == NULL)
		return b;
	b->kind_set = 1;
	b->detector = old->detector;
	b->desctype = old->desctype;
	b->descsize = old->descsize;
	b->kpflags = old->kpflags;
	b->wdim = vocab_dim(b->desctype, b->descsize);
	b->dim = old->dim;
	memcpy(b->method, old->method, sizeof b->method);
	b->cap = old->n + 16;
	b->e = pm_calloc(b->cap, sizeof *b->e);
	for (i = 0; i < old->n; i++) {
		struct ent *e = &b->e[b->n++];
		const unsigned char *r = old->ent + (size_t)i * INDEX_ENTSIZE;

		index_entry(old, i, &ie);
		e->product = pm_strdup(ie.product);
		memcpy(e->image, r, 32);
		memcpy(e->kp, r + 32, 32);
		e->w = ie.w;
		e->h = ie.h;
		e->nkp = ie.nkp;
		if (ie.flags & INDEX_HASVEC)
			e->vec = (float *)(old->vec + (size_t)i * old->dim);
		e->has_words = (ie.flags & INDEX_HASWORDS) != 0;
		e->done = 1;
		e->old = 1;
		seen_before(b, e->product, e->image, i);
	}
	return b;
}

static void
ent_free(struct ent *e)
{
	free(e->product);
	free(e->desc);
	free(e->geo);
	if (!e->old)
		free(e->vec);
	index_query_free(&e->q);
}

void
ixb_free(struct ixb *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		ent_free(&b->e[i]);
	free(b->e);
	free(b->sample);
	free(b->hash);
	free(b);
}

void
ixb_item_free(struct ixb_item *it)
{
	if (it == NULL)
		return;
	free(it->product);
	free(it->desc);
	free(it->geo);
	vec_free(&it->v);
	index_query_free(&it->q);
	free(it);
}

int
ixb_item(struct ixb *b, json_t *rec, struct ixb_item **out)
{
	struct ixb_item *it;
	struct kpblob kb;
	json_t *j;
	const char *s;
	void *p = NULL;
	size_t n;

	*out = NULL;
	j = json_object_get(rec, "product");
	if (!json_is_string(j) || json_string_length(j) == 0)
		return pm_fail("no product");
	if (json_string_length(j) > INDEX_MAXPRODUCT ||
	    strlen(json_string_value(j)) != json_string_length(j))
		return pm_fail("product id too long or with a NUL");
	s = json_string_value(json_object_get(rec, "blob"));
	if (s == NULL || !store_name_ok(s))
		return pm_fail("no image blob");
	it = pm_calloc(1, sizeof *it);
	it->product = pm_strdup(json_string_value(j));
	index_unhex(s, it->image);
	s = json_string_value(json_object_get(rec, "kp"));
	if (s == NULL) {
		ixb_item_free(it);
		return pm_fail("no kp: run pm-kp first");
	}
	if (!store_name_ok(s)) {
		ixb_item_free(it);
		return pm_fail("kp is not a blob name");
	}
	index_unhex(s, it->kp);
	if (store_get(b->st, s, &p, &n) == -1 || kpblob_parse(&kb, p, n) == -1) {
		char *why = pm_strdup(pm_why());

		free(p);
		ixb_item_free(it);
		pm_fail("kp %.12s: %s", s, why);
		free(why);
		return -1;
	}
	it->w = (uint32_t)kb.w;
	it->h = (uint32_t)kb.h;
	it->nkp = (uint32_t)kb.n;
	it->detector = kb.detector;
	it->desctype = kb.desctype;
	it->descsize = kb.descsize;
	it->kpflags = kb.flags & KPBLOB_ROOTSIFT;
	if (b->old != NULL && b->old->k > 0 &&
	    index_kind_ok(b->old, kb.detector, kb.desctype, kb.descsize,
	    kb.flags)) {
		/* the vocabulary is known: the postings now */
		struct index_scratch sc = { 0 };

		index_query_make(b->old, &kb, &it->q, &sc);
		index_scratch_free(&sc);
		it->has_words = kb.n > 0;
	} else if (kb.n > 0) {
		struct kpblob_kp kp;
		int i;

		it->desc = pm_malloc((size_t)kb.n * kb.descsize);
		memcpy(it->desc, kb.desc, (size_t)kb.n * kb.descsize);
		it->geo = pm_reallocarray(NULL, (size_t)kb.n, sizeof *it->geo);
		for (i = 0; i < kb.n; i++) {
			kpblob_get(&kb, i, &kp);
			it->geo[i] = index_geo(&kp);
		}
	}
	free(p);
	if (json_object_get(rec, "emb") != NULL &&
	    vec_from_json(&it->v, rec, b->st) == -1) {
		ixb_item_free(it);
		return -1;
	}
	*out = it;
	return 0;
}

/* Reservoir sampling (Vitter's algorithm R) of descriptors in word
 * space, in input order with a generator of fixed seed. */
static void
sample_add(struct ixb *b, const unsigned char *desc, uint32_t n)
{
	uint32_t i;
	uint64_t j;

	if (b->p.sample == 0)
		return;
	if (b->sample == NULL)
		b->sample = pm_reallocarray(NULL, b->p.sample, (size_t)b->wdim);
	for (i = 0; i < n; i++) {
		b->seen++;
		if (b->nsample < b->p.sample)
			j = b->nsample++;
		else if ((j = vocab_rand(&b->rng) % b->seen) >= b->p.sample)
			continue;
		vocab_expand(b->desctype, b->descsize,
		    desc + (size_t)i * b->descsize,
		    b->sample + (size_t)j * b->wdim);
	}
}

int
ixb_add(struct ixb *b, struct ixb_item *it)
{
	struct ent *e;
	int d;

	if (!b->kind_set) {
		b->kind_set = 1;
		b->detector = it->detector;
		b->desctype = it->desctype;
		b->descsize = it->descsize;
		b->kpflags = it->kpflags;
		b->wdim = vocab_dim(b->desctype, b->descsize);
	} else if (b->detector != it->detector || b->desctype != it->desctype ||
	    b->descsize != it->descsize || b->kpflags != it->kpflags)
		return pm_fail("keypoints of kind %s, the index has %s",
		    index_kind_name(it->detector, it->kpflags),
		    index_kind_name(b->detector, b->kpflags));
	if (it->v.dim > 0) {
		if (b->dim == 0) {
			b->dim = it->v.dim;
			memcpy(b->method, it->v.method, sizeof b->method);
		} else if (b->dim != it->v.dim ||
		    strcmp(b->method, it->v.method) != 0)
			return pm_fail("emb of method %s (%d elements), the "
			    "index has %s (%d)", it->v.method, it->v.dim,
			    b->dim > 0 ? b->method : "none", b->dim);
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->e = pm_reallocarray(b->e, b->cap, sizeof *b->e);
	}
	if (seen_before(b, it->product, it->image, (uint32_t)b->n)) {
		b->dups++;
		return 0;
	}
	e = &b->e[b->n++];
	memset(e, 0, sizeof *e);
	e->product = it->product;
	it->product = NULL;
	memcpy(e->image, it->image, 32);
	memcpy(e->kp, it->kp, 32);
	e->w = it->w;
	e->h = it->h;
	e->nkp = it->nkp;
	/* a vector of zeros (the VLAD of an image without keypoints)
	 * points nowhere: the entry has no vector */
	for (d = 0; d < it->v.dim && it->v.v[d] == 0; d++)
		;
	if (it->v.dim > 0 && d < it->v.dim) {
		e->vec = it->v.v;
		it->v.v = NULL;
		it->v.dim = 0;
	}
	if (it->q.n > 0 || it->has_words || (b->old != NULL &&
	    b->old->k > 0)) {
		e->q = it->q;
		memset(&it->q, 0, sizeof it->q);
		e->has_words = it->has_words;
		e->done = 1;
	} else if (it->desc != NULL) {
		sample_add(b, it->desc, it->nkp);
		if (b->kept + (size_t)it->nkp * (it->descsize + 2) <=
		    b->p.keep) {
			b->kept += (size_t)it->nkp * (it->descsize + 2);
			e->desc = it->desc;
			e->geo = it->geo;
			it->desc = NULL;
			it->geo = NULL;
		}
	} else
		e->done = 1;	/* no keypoints, no words */
	return 0;
}

static int
by_key(const void *x, const void *y, void *arg)
{
	const struct ent *e = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = strcmp(e[i].product, e[j].product);

	if (c == 0)
		c = i < j ? -1 : i > j;
	return c;
}

struct assign {
	struct ixb	*b;
	struct vocab	*voc;
	const signed char *proj;
	struct ent	**list;
	struct ann_scratch *scr;
	int		 failed;
};

/* An entry's postings: each keypoint's word, signature and geometry. */
static void
assign_one(void *arg, size_t i, int thread)
{
	struct assign *a = arg;
	struct ixb *b = a->b;
	struct ent *e = a->list[i];
	struct kpblob kb;
	struct kpblob_kp kp;
	const unsigned char *desc;
	unsigned char *rows;
	uint32_t k, n;
	char hex[65];
	void *p = NULL;
	size_t len;

	if (e->desc != NULL) {
		desc = e->desc;
		n = e->nkp;
	} else {
		index_hex(e->kp, hex);
		if (store_get(b->st, hex, &p, &len) == -1 ||
		    kpblob_parse(&kb, p, len) == -1) {
			/* read a moment ago: the store changed under us */
			free(p);
			a->failed = 1;
			return;
		}
		desc = kb.desc;
		n = (uint32_t)kb.n;
	}
	rows = pm_reallocarray(NULL, (size_t)n + 1, (size_t)b->wdim);
	e->q.n = n;
	e->q.word = pm_reallocarray(NULL, (size_t)n + 1, sizeof *e->q.word);
	e->q.sig = pm_reallocarray(NULL, (size_t)n + 1, sizeof *e->q.sig);
	e->q.geo = pm_reallocarray(NULL, (size_t)n + 1, sizeof *e->q.geo);
	for (k = 0; k < n; k++)
		vocab_expand(b->desctype, b->descsize,
		    desc + (size_t)k * b->descsize, rows + (size_t)k * b->wdim);
	vocab_assign(a->voc, rows, n, e->q.word, NULL, &a->scr[thread]);
	for (k = 0; k < n; k++) {
		e->q.sig[k] = vocab_sign(rows + (size_t)k * b->wdim,
		    a->voc->words + (size_t)e->q.word[k] * b->wdim, b->wdim,
		    a->proj);
		if (e->desc != NULL)
			e->q.geo[k] = e->geo[k];
		else {
			kpblob_get(&kb, (int)k, &kp);
			e->q.geo[k] = index_geo(&kp);
		}
	}
	e->has_words = n > 0;
	e->done = 1;
	free(rows);
	free(p);
	free(e->desc);
	free(e->geo);
	e->desc = NULL;
	e->geo = NULL;
}

static int
default_k(size_t nsample)
{
	size_t k = 64;

	while (k < nsample / 32 && k < 16384)
		k *= 2;
	return (int)k;
}

int
ixb_finish(struct ixb *b, void **buf, size_t *len, struct ixb_stats *st)
{
	struct index_build ib;
	struct index_in *in = NULL;
	struct ent **list = NULL;
	unsigned char *words = NULL;
	struct ann wgraph, vgraph;
	int have_wgraph = 0, have_vgraph = 0, k = 0, r = -1, t;
	uint64_t *off = NULL, *cur = NULL, npost = 0, p;
	uint32_t *ids = NULL, *vrows = NULL, nvrows = 0, n = 0, i, j, nlist = 0;
	uint64_t *sigs = NULL;
	uint16_t *geos = NULL;
	signed char *proj = NULL;
	float *vec = NULL;
	struct vocab voc;
	struct index *old = b->old;

	memset(st, 0, sizeof *st);
	memset(&ib, 0, sizeof ib);
	memset(&voc, 0, sizeof voc);
	st->duplicates = b->dups;
	n = (uint32_t)b->n;
	if (n == 0)
		return pm_fail("no images to index");

	/* the vocabulary: the old one, or trained on the sample */
	if (old != NULL && old->k > 0) {
		k = old->k;
		words = (unsigned char *)old->words;
	} else if (old == NULL && b->nsample > 0) {
		struct vocab_params vp;

		memset(&vp, 0, sizeof vp);
		vp.k = b->p.k > 0 ? b->p.k : default_k(b->nsample);
		vp.iters = b->p.iters;
		vp.threads = b->p.threads;
		vp.seed = SEED;
		vp.M = 16;
		vp.efc = 40;
		vp.ef = b->p.wef;
		vp.exact = b->p.exactk;
		if (vocab_train(b->sample, b->nsample, b->wdim, &vp, &words,
		    &k) == -1)
			return -1;
		st->sample = b->nsample;
	}
	free(b->sample);
	b->sample = NULL;
	if (k > 0) {
		proj = pm_malloc((size_t)VOCAB_BITS * b->wdim);
		if (old != NULL)
			memcpy(proj, old->proj, (size_t)VOCAB_BITS * b->wdim);
		else
			vocab_proj(b->wdim, SEED + 1, proj);
		if (old != NULL && old->has_wgraph)
			vocab_init(&voc, words, k, b->wdim, &old->wgraph,
			    old->wef);
		else if (old == NULL && k > b->p.exactk) {
			uint32_t *all = pm_reallocarray(NULL, (size_t)k,
			    sizeof *all);

			for (t = 0; t < k; t++)
				all[t] = (uint32_t)t;
			t = ann_build(&wgraph, ANN_L2U8, b->wdim, words,
			    (size_t)b->wdim, (uint32_t)k, all, (uint32_t)k,
			    b->p.M, 100, NULL);
			free(all);
			if (t == -1)
				goto out;
			have_wgraph = 1;
			vocab_init(&voc, words, k, b->wdim, &wgraph, b->p.wef);
		} else
			vocab_init(&voc, words, k, b->wdim, NULL,
			    old != NULL ? old->wef : b->p.wef);

		/* every new entry's words */
		list = pm_reallocarray(NULL, b->n + 1, sizeof *list);
		for (i = 0; i < b->n; i++)
			if (!b->e[i].done)
				list[nlist++] = &b->e[i];
		if (nlist > 0) {
			struct assign a;
			int th = b->p.threads > 0 ? b->p.threads : 1;

			memset(&a, 0, sizeof a);
			a.b = b;
			a.voc = &voc;
			a.proj = proj;
			a.list = list;
			a.scr = pm_calloc((size_t)th, sizeof *a.scr);
			pfor(th, nlist, assign_one, &a);
			for (t = 0; t < th; t++) {
				ann_scratch_free(&a.scr[t]);
			}
			free(a.scr);
			if (a.failed) {
				pm_fail("a keypoint blob changed or went "
				    "missing while the index was built");
				goto out;
			}
		}
	}

	/* entries, in order, without the duplicates */
	in = pm_calloc(n, sizeof *in);
	for (i = 0, j = 0; i < b->n; i++) {
		struct ent *e = &b->e[i];

		in[j].product = e->product;
		memcpy(in[j].image, e->image, 32);
		memcpy(in[j].kp, e->kp, 32);
		in[j].w = e->w;
		in[j].h = e->h;
		in[j].nkp = e->nkp;
		in[j].flags = (e->vec != NULL && b->dim > 0 ? INDEX_HASVEC : 0) |
		    (e->has_words && k > 0 ? INDEX_HASWORDS : 0);
		j++;
	}

	/* the inverted file: the old postings first, then the new */
	if (k > 0) {
		off = pm_calloc((size_t)k + 1, sizeof *off);
		cur = pm_calloc((size_t)k + 1, sizeof *cur);
		if (old != NULL && old->k > 0)
			for (t = 0; t < k; t++)
				off[t + 1] += old->ivf_off[t + 1] -
				    old->ivf_off[t];
		for (i = 0; i < b->n; i++) {
			struct ent *e = &b->e[i];

			if (e->old)
				continue;
			for (p = 0; p < e->q.n; p++)
				off[e->q.word[p] + 1]++;
		}
		for (t = 0; t < k; t++)
			off[t + 1] += off[t];
		npost = off[k];
		ids = pm_reallocarray(NULL, npost + 1, sizeof *ids);
		sigs = pm_reallocarray(NULL, npost + 1, sizeof *sigs);
		geos = pm_reallocarray(NULL, npost + 1, sizeof *geos);
		memcpy(cur, off, ((size_t)k + 1) * sizeof *cur);
		if (old != NULL && old->k > 0)
			for (t = 0; t < k; t++)
				for (p = old->ivf_off[t]; p < old->ivf_off[t + 1];
				    p++) {
					ids[cur[t]] = old->ivf_id[p];
					sigs[cur[t]] = old->ivf_sig[p];
					geos[cur[t]++] = old->ivf_geo[p];
				}
		for (i = 0; i < b->n; i++) {
			struct ent *e = &b->e[i];

			if (e->old)
				continue;
			for (p = 0; p < e->q.n; p++) {
				uint32_t w = e->q.word[p];

				ids[cur[w]] = i;
				sigs[cur[w]] = e->q.sig[p];
				geos[cur[w]++] = e->q.geo[p];
			}
		}
	}

	/* vectors, and their graph */
	if (b->dim > 0) {
		vec = pm_calloc((size_t)n * b->dim, sizeof *vec);
		vrows = pm_reallocarray(NULL, n, sizeof *vrows);
		for (i = 0, j = 0; i < b->n; i++) {
			struct ent *e = &b->e[i];

			if (e->vec != NULL) {
				memcpy(vec + (size_t)j * b->dim, e->vec,
				    (size_t)b->dim * sizeof *vec);
				if (!(e->old && old->has_vgraph))
					vrows[nvrows++] = j;
			}
			j++;
		}
		if (old != NULL && old->has_vgraph) {
			t = ann_build(&vgraph, ANN_IP, b->dim, vec,
			    (size_t)b->dim * 4, n, vrows, nvrows,
			    (int)old->vgraph.M, b->p.efc, &old->vgraph);
			if (t == -1)
				goto out;
			have_vgraph = 1;
		} else if (nvrows > 0 && nvrows >= b->p.graph_min) {
			if (ann_build(&vgraph, ANN_IP, b->dim, vec,
			    (size_t)b->dim * 4, n, vrows, nvrows, b->p.M,
			    b->p.efc, NULL) == -1)
				goto out;
			have_vgraph = 1;
		}
	}

	ib.n = n;
	ib.e = in;
	ib.dim = b->dim;
	ib.method = b->method;
	ib.vec = vec;
	ib.vgraph = have_vgraph ? &vgraph : NULL;
	ib.k = k;
	ib.wdim = k > 0 ? b->wdim : 0;
	ib.wef = k > 0 ? voc.ef : 0;
	ib.detector = b->detector;
	ib.desctype = b->desctype;
	ib.descsize = b->descsize;
	ib.kpflags = b->kpflags;
	ib.words = words;
	ib.wgraph = have_wgraph ? &wgraph : old != NULL && old->has_wgraph ?
	    &old->wgraph : NULL;
	ib.ivf_off = off;
	ib.ivf_id = ids;
	ib.ivf_sig = sigs;
	ib.ivf_geo = geos;
	ib.proj = proj;
	ib.npost = npost;
	if (index_write(&ib, buf, len) == -1)
		goto out;

	st->n = n;
	st->dim = b->dim;
	st->words = (uint32_t)k;
	st->graph = have_vgraph;
	st->postings = npost;
	st->kind = index_kind_name(b->detector, b->kpflags);
	st->method = b->dim > 0 ? b->method : NULL;
	for (i = 0; i < n; i++)
		if (in[i].flags & INDEX_HASVEC)
			st->vectors++;
	{
		/* distinct products */
		size_t *order = pm_reallocarray(NULL, b->n, sizeof *order);
		const char *last = NULL;

		for (i = 0, j = 0; i < b->n; i++)
			order[j++] = i;
		qsort_r(order, j, sizeof *order, by_key, b->e);
		for (i = 0; i < j; i++) {
			if (last == NULL || strcmp(last, b->e[order[i]].product))
				st->products++;
			last = b->e[order[i]].product;
		}
		free(order);
	}
	r = 0;
out:
	if (k > 0)
		vocab_free(&voc);
	if (have_wgraph)
		ann_free(&wgraph);
	if (have_vgraph)
		ann_free(&vgraph);
	if (words != NULL && (old == NULL || words != old->words))
		free(words);
	free(list);
	free(in);
	free(off);
	free(cur);
	free(ids);
	free(sigs);
	free(geos);
	free(proj);
	free(vec);
	free(vrows);
	return r;
}
