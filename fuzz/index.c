/*
 * index.c: fuzz the index reader (index.c's index_open_mem(), with the
 * graph reader of ann.c under it), and the queries over an index it
 * accepted, which must stay inside the file.
 *
 * The fuzzer cannot forge a SHA-256, so the input is sealed (its
 * checksum set) before it is read, unless its size is odd: then it is
 * read as it is, and its checksum must be right.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "index.h"
#include "kpblob.h"

#define K	5

static void
queries(const struct index *ix, const uint8_t *data, size_t size)
{
	struct index_scratch s;
	struct index_entry e;
	struct index_hit hit[K];
	struct index_query q;
	struct kpblob kb;
	unsigned char *kp, *desc;
	float *v;
	uint32_t i;
	int n, j, nkp = 8;

	memset(&s, 0, sizeof s);
	for (i = 0; i < ix->n; i++) {
		index_entry(ix, i, &e);
		fuzz_assert(e.pnum < ix->nproducts);
		fuzz_assert(strlen(e.product) >= 1);
		fuzz_assert(e.w >= 1 && e.h >= 1);
	}
	if (ix->dim > 0) {
		v = pm_calloc((size_t)ix->dim, sizeof *v);
		for (j = 0; j < ix->dim; j++)
			v[j] = (float)data[(size_t)j % size] / 255;
		n = index_nearest(ix, v, K, 16, 1, hit, &s);
		fuzz_assert(n >= 0 && n <= K && (uint32_t)n <= ix->nvrows);
		for (j = 0; j < n; j++)
			fuzz_assert(hit[j].entry < ix->n);
		n = index_nearest(ix, v, K, 16, 0, hit, &s);
		fuzz_assert(n >= 0 && n <= K);
		for (j = 0; j < n; j++)
			fuzz_assert(hit[j].entry < ix->n);
		free(v);
	}
	if (ix->k > 0) {
		/* keypoints at the origin, descriptors from the input */
		memset(&kb, 0, sizeof kb);
		kb.detector = ix->detector;
		kb.desctype = ix->desctype;
		kb.descsize = ix->descsize;
		kb.n = nkp;
		kp = pm_calloc((size_t)nkp, KPBLOB_KPSIZE);
		desc = pm_malloc((size_t)nkp * (size_t)ix->descsize);
		for (j = 0; j < nkp * ix->descsize; j++)
			desc[j] = data[((size_t)j * 7 + 3) % size];
		kb.kp = kp;
		kb.desc = desc;
		index_query_make(ix, &kb, &q, &s);
		fuzz_assert(q.n == (size_t)nkp);
		for (j = 0; j < nkp; j++)
			fuzz_assert(q.word[j] < (uint32_t)ix->k);
		n = index_vote(ix, &q, K, hit, &s);
		fuzz_assert(n >= 0 && n <= K);
		for (j = 0; j < n; j++)
			fuzz_assert(hit[j].entry < ix->n &&
			    isfinite(hit[j].score));
		index_query_free(&q);
		free(kp);
		free(desc);
	}
	index_scratch_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index *ix;
	void *p;

	if (size == 0)
		return 0;
	p = pm_malloc(size);
	memcpy(p, data, size);
	if (size % 2 == 0)
		index_seal(p, size);
	if ((ix = index_open_mem(p, size, 1)) == NULL) {
		fuzz_assert(*pm_why() != '\0');
		return 0;
	}
	fuzz_assert(ix->n >= 1 && ix->nproducts >= 1 &&
	    ix->nproducts <= ix->n);
	queries(ix, data, size);
	index_close(ix);
	return 0;
}
