/*
 * vocab.c: training a visual vocabulary and assigning words (vocab.h).
 *
 * Training is Lloyd's k-means.  For large vocabularies each iteration
 * assigns the rows with a HNSW graph over the current centroids
 * (approximate k-means, Philbin et al., "Object retrieval with large
 * vocabularies and fast spatial matching", CVPR 2007).  Sums are
 * integers, so the result does not depend on the order rows are added.
 */
#define _GNU_SOURCE		/* qsort_r */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ann.h"
#include "err.h"
#include "kpblob.h"
#include "pfor.h"
#include "vocab.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define CHUNK	1024		/* rows a task of the parallel loop */

int
vocab_dim(int desctype, int descsize)
{
	return desctype == KPBLOB_HAMMING ? 8 * descsize : descsize;
}

void
vocab_expand(int desctype, int descsize, const unsigned char *desc,
    unsigned char *out)
{
	int i;

	if (desctype != KPBLOB_HAMMING) {
		memcpy(out, desc, (size_t)descsize);
		return;
	}
	for (i = 0; i < 8 * descsize; i++)
		out[i] = desc[i / 8] >> (i % 8) & 1 ? 255 : 0;
}

uint64_t
vocab_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
vocab_proj(int dim, uint64_t seed, signed char *proj)
{
	uint64_t r = 0;
	int i;

	for (i = 0; i < VOCAB_BITS * dim; i++) {
		if (i % 64 == 0)
			r = vocab_rand(&seed);
		proj[i] = r >> (i % 64) & 1 ? 1 : -1;
	}
}

#if defined(__x86_64__) || defined(__i386__)
/* The signature with AVX2, for rows of a multiple of 32 bytes: each
 * projection's sum over the row less its sum over the centroid, bytes
 * by signed weights (vpmaddubsw: pairs of 2 * 255 never saturate). */
__attribute__((target("avx2"))) static uint64_t
sign_avx2(const unsigned char *row, const unsigned char *c, int dim,
    const signed char *proj)
{
	const __m256i one = _mm256_set1_epi16(1);
	uint64_t sig = 0;
	int i, j;

	for (j = 0; j < VOCAB_BITS; j++) {
		const signed char *p = proj + (size_t)j * dim;
		__m256i acc = _mm256_setzero_si256();
		__m128i s;

		for (i = 0; i < dim; i += 32) {
			__m256i w = _mm256_loadu_si256(
			    (const __m256i *)(p + i));
			__m256i r = _mm256_maddubs_epi16(_mm256_loadu_si256(
			    (const __m256i *)(row + i)), w);
			__m256i k = _mm256_maddubs_epi16(_mm256_loadu_si256(
			    (const __m256i *)(c + i)), w);

			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(
			    _mm256_sub_epi16(r, k), one));
		}
		s = _mm_add_epi32(_mm256_castsi256_si128(acc),
		    _mm256_extracti128_si256(acc, 1));
		s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
		s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
		if (_mm_cvtsi128_si32(s) > 0)
			sig |= (uint64_t)1 << j;
	}
	return sig;
}
#endif

uint64_t
vocab_sign(const unsigned char *row, const unsigned char *c, int dim,
    const signed char *proj)
{
	int16_t res[VOCAB_MAXDIM];
	uint64_t sig = 0;
	int i, j;

	if (dim > VOCAB_MAXDIM)
		dim = VOCAB_MAXDIM;
#if defined(__x86_64__) || defined(__i386__)
	{
		static int avx2 = -1;

		if (avx2 == -1)
			avx2 = __builtin_cpu_supports("avx2") &&
			    getenv("PM_NO_SIMD") == NULL;
		if (avx2 && dim % 32 == 0)
			return sign_avx2(row, c, dim, proj);
	}
#endif
	for (i = 0; i < dim; i++)
		res[i] = (int16_t)((int)row[i] - c[i]);
	for (j = 0; j < VOCAB_BITS; j++) {
		const signed char *p = proj + (size_t)j * dim;
		int32_t s = 0;

		for (i = 0; i < dim; i++)
			s += p[i] * res[i];
		if (s > 0)
			sig |= (uint64_t)1 << j;
	}
	return sig;
}

void
vocab_init(struct vocab *v, const unsigned char *words, int k, int dim,
    const struct ann *graph, int ef)
{
	memset(v, 0, sizeof *v);
	v->k = k;
	v->dim = dim;
	v->words = words;
	v->graph = graph;
	v->ef = ef > 0 ? ef : 32;
	if (graph == NULL)
		nn8_init(&v->nn, words, (size_t)dim, k, dim, NN8_TRAIN);
}

void
vocab_free(struct vocab *v)
{
	nn8_free(&v->nn);
	memset(v, 0, sizeof *v);
}

/* Rows at a time in exact search. */
#define BATCH	256

void
vocab_assign(const struct vocab *v, const unsigned char *rows, size_t n,
    uint32_t *word, double *dist, struct ann_scratch *s)
{
	struct nn8_hit hit[BATCH];
	struct nn8 q;
	struct ann_hit h;
	size_t i, j, m;

	if (v->graph != NULL) {
		for (i = 0; i < n; i++) {
			if (ann_search(v->graph, rows + i * (size_t)v->dim, 1,
			    v->ef, &h, s) < 1) {
				h.row = 0;
				h.d = 0;
			}
			word[i] = h.row;
			if (dist != NULL)
				dist[i] = h.d;
		}
		return;
	}
	for (i = 0; i < n; i += m) {
		m = n - i < BATCH ? n - i : BATCH;
		nn8_init(&q, rows + i * (size_t)v->dim, (size_t)v->dim, (int)m,
		    v->dim, NN8_QUERY);
		nn8_knn2(&q, &v->nn, hit);
		nn8_free(&q);
		for (j = 0; j < m; j++) {
			word[i + j] = hit[j].j < 0 ? 0 : (uint32_t)hit[j].j;
			if (dist != NULL)
				dist[i + j] = hit[j].j < 0 ? 0 :
				    (double)hit[j].d1;
		}
	}
}

struct train {
	const unsigned char *sample;
	size_t		 n;
	int		 dim;
	struct vocab	 v;
	uint32_t	*word;
	double		*dist;
	struct ann_scratch *scratch;	/* one a thread */
};

static void
assign_chunk(void *arg, size_t c, int thread)
{
	struct train *t = arg;
	size_t i = c * CHUNK, end = (c + 1) * CHUNK < t->n ? (c + 1) * CHUNK :
	    t->n;

	vocab_assign(&t->v, t->sample + i * (size_t)t->dim, end - i,
	    t->word + i, t->dist + i, &t->scratch[thread]);
}

static int
farther(const void *a, const void *b, void *arg)
{
	const double *d = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (d[i] != d[j])
		return d[i] > d[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

int
vocab_train(const unsigned char *sample, size_t n, int dim,
    const struct vocab_params *p, unsigned char **wordsp, int *kp)
{
	struct train t;
	unsigned char *words;
	uint64_t *sum, state = p->seed;
	uint32_t *count, *prev;
	size_t i, j, nchunks, *order = NULL;
	struct ann graph;
	int k = p->k, it, c, changed, threads = p->threads > 0 ? p->threads : 1;

	*wordsp = NULL;
	*kp = 0;
	if (n == 0 || dim < 1)
		return pm_fail("vocabulary: no descriptors to train on");
	if (k < 1 || k > VOCAB_MAXK)
		return pm_fail("vocabulary: %d words out of range", k);
	if ((size_t)k > n)
		k = (int)n;

	/* the first centroids: k different rows, drawn */
	{
		size_t *idx = pm_reallocarray(NULL, n, sizeof *idx);

		for (i = 0; i < n; i++)
			idx[i] = i;
		words = pm_reallocarray(NULL, (size_t)k, (size_t)dim);
		for (i = 0; i < (size_t)k; i++) {
			size_t r = i + vocab_rand(&state) % (n - i), x = idx[r];

			idx[r] = idx[i];
			idx[i] = x;
			memcpy(words + i * dim, sample + x * dim, (size_t)dim);
		}
		free(idx);
	}

	memset(&t, 0, sizeof t);
	t.sample = sample;
	t.n = n;
	t.dim = dim;
	t.word = pm_calloc(n, sizeof *t.word);
	t.dist = pm_calloc(n, sizeof *t.dist);
	prev = pm_calloc(n, sizeof *prev);
	t.scratch = pm_calloc((size_t)threads, sizeof *t.scratch);
	sum = pm_calloc((size_t)k * dim, sizeof *sum);
	count = pm_calloc((size_t)k, sizeof *count);
	nchunks = (n + CHUNK - 1) / CHUNK;

	for (it = 0; it < (p->iters > 0 ? p->iters : 1); it++) {
		int use_graph = k > (p->exact > 0 ? p->exact : VOCAB_EXACT);

		if (use_graph) {
			uint32_t *all = pm_reallocarray(NULL, (size_t)k,
			    sizeof *all);

			for (c = 0; c < k; c++)
				all[c] = (uint32_t)c;
			if (ann_build(&graph, ANN_L2U8, dim, words, (size_t)dim,
			    (uint32_t)k, all, (uint32_t)k, p->M > 0 ? p->M : 16,
			    p->efc > 0 ? p->efc : 40, NULL) == -1) {
				free(all);
				goto fail;
			}
			free(all);
		}
		vocab_init(&t.v, words, k, dim, use_graph ? &graph : NULL,
		    p->ef);
		pfor(threads, nchunks, assign_chunk, &t);
		vocab_free(&t.v);
		if (use_graph)
			ann_free(&graph);

		changed = 0;
		for (i = 0; i < n; i++)
			if (it == 0 || t.word[i] != prev[i])
				changed++;
		memcpy(prev, t.word, n * sizeof *prev);
		if (changed == 0)
			break;

		memset(sum, 0, (size_t)k * dim * sizeof *sum);
		memset(count, 0, (size_t)k * sizeof *count);
		for (i = 0; i < n; i++) {
			const unsigned char *r = sample + i * dim;
			uint64_t *s = sum + (size_t)t.word[i] * dim;

			count[t.word[i]]++;
			for (j = 0; j < (size_t)dim; j++)
				s[j] += r[j];
		}
		for (c = 0; c < k; c++) {
			if (count[c] == 0)
				continue;
			for (j = 0; j < (size_t)dim; j++)
				words[(size_t)c * dim + j] = (unsigned char)
				    ((sum[(size_t)c * dim + j] + count[c] / 2) /
				    count[c]);
		}
		/* an empty word takes the row farthest from its centroid */
		for (c = 0, i = 0; c < k; c++) {
			if (count[c] != 0)
				continue;
			if (order == NULL) {
				order = pm_reallocarray(NULL, n, sizeof *order);
				for (j = 0; j < n; j++)
					order[j] = j;
				qsort_r(order, n, sizeof *order, farther, t.dist);
			}
			if (i < n) {
				memcpy(words + (size_t)c * dim,
				    sample + order[i] * dim, (size_t)dim);
				i++;
			}
		}
		free(order);
		order = NULL;
	}
	free(t.word);
	free(t.dist);
	free(prev);
	for (c = 0; c < threads; c++)
		ann_scratch_free(&t.scratch[c]);
	free(t.scratch);
	free(sum);
	free(count);
	*wordsp = words;
	*kp = k;
	return 0;
fail:
	free(t.word);
	free(t.dist);
	free(prev);
	free(t.scratch);
	free(sum);
	free(count);
	free(words);
	return -1;
}
