/*
 * ann.c: the HNSW graph's reader and searcher, and exact search (ann.h).
 *
 * The search is hnswlib's (greedy descent through the upper levels, then
 * a best-first search of breadth ef at level 0), with ties broken by
 * node and row numbers so that a result never depends on heap order.
 * Distances are computed in a fixed order (integers for byte rows;
 * eight float partial sums for float rows), so every thread and every
 * build of pm on a machine finds the same neighbours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ann.h"
#include "err.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the index is read in place: pm needs a little-endian machine"
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Dot product in eight partial sums, added in a fixed order. */
CLONES static float
dot(const float *a, const float *b, int n)
{
	float s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	int i, j;

	for (i = 0; i + 8 <= n; i += 8)
		for (j = 0; j < 8; j++)
			s[j] += a[i + j] * b[i + j];
	for (j = 0; i < n; i++, j++)
		s[j] += a[i] * b[i];
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

CLONES static int32_t
l2u8(const uint8_t *a, const uint8_t *b, int n)
{
	int32_t s = 0;
	int i, j;

	for (i = 0; i + 16 <= n; i += 16)
		for (j = 0; j < 16; j++) {
			int32_t d = (int32_t)a[i + j] - b[i + j];

			s += d * d;
		}
	for (; i < n; i++) {
		int32_t d = (int32_t)a[i] - b[i];

		s += d * d;
	}
	return s;
}

double
ann_dist(int metric, int dim, const void *q, const void *row)
{
	if (metric == ANN_IP)
		return 1.0 - (double)dot(q, row, dim);
	return (double)l2u8(q, row, dim);
}

static const void *
row_of(const struct ann *g, uint32_t node)
{
	return (const unsigned char *)g->rows + (size_t)g->label[node] * g->stride;
}

static double
node_dist(const struct ann *g, const void *q, uint32_t node)
{
	return ann_dist(g->metric, g->dim, q, row_of(g, node));
}

int
ann_parse(struct ann *g, const void *p, size_t n, int metric, int dim,
    const void *rows, size_t stride, uint32_t nrows,
    const unsigned char *allowed)
{
	const unsigned char *b = p;
	unsigned char *seen = NULL;
	uint64_t want, upper, off;
	uint32_t i, j, l, c, lv;
	size_t lvbytes;

	memset(g, 0, sizeof *g);
	if ((uintptr_t)p % 4 != 0)
		return pm_fail("graph: not aligned");
	if (n < ANN_HDRSIZE)
		return pm_fail("graph: %zu bytes, shorter than its header", n);
	if (memcmp(b, "HNSW", 4) != 0)
		return pm_fail("graph: bad magic");
	g->metric = metric;
	g->dim = dim;
	g->rows = rows;
	g->stride = stride;
	g->nrows = nrows;
	g->nodes = get32(b + 4);
	g->M = get32(b + 8);
	g->M0 = get32(b + 12);
	g->top = get32(b + 16);
	g->entry = get32(b + 20);
	g->upper = get32(b + 24);
	if (get32(b + 28) != 0)
		return pm_fail("graph: reserved word not zero");
	if (g->nodes < 1 || g->nodes > nrows)
		return pm_fail("graph: %lu nodes for %lu rows",
		    (unsigned long)g->nodes, (unsigned long)nrows);
	if (g->M < 1 || g->M > ANN_MAXM || g->M0 < 1 || g->M0 > 2 * ANN_MAXM)
		return pm_fail("graph: M %lu, M0 %lu out of range",
		    (unsigned long)g->M, (unsigned long)g->M0);
	if (g->top > ANN_MAXLEVEL || g->entry >= g->nodes)
		return pm_fail("graph: bad top level or entry node");
	lvbytes = ((size_t)g->nodes + 3) / 4 * 4;
	want = ANN_HDRSIZE + 4 * (uint64_t)g->nodes + lvbytes +
	    4 * (uint64_t)g->nodes * (1 + g->M0) + 4 * (uint64_t)g->upper;
	if (want != n)
		return pm_fail("graph: %zu bytes, its header says %llu", n,
		    (unsigned long long)want);
	g->label = (const uint32_t *)(b + ANN_HDRSIZE);
	g->level = b + ANN_HDRSIZE + 4 * (size_t)g->nodes;
	g->l0 = (const uint32_t *)(g->level + lvbytes);
	g->up = g->l0 + (size_t)g->nodes * (1 + g->M0);
	g->sec = p;
	g->seclen = n;

	for (i = g->nodes; i < lvbytes; i++)
		if (g->level[i] != 0)
			return pm_fail("graph: padding not zero");
	if (g->level[g->entry] != g->top)
		return pm_fail("graph: the entry node is not on the top level");
	seen = pm_calloc(((size_t)nrows + 7) / 8, 1);
	g->upoff = pm_reallocarray(NULL, g->nodes, sizeof *g->upoff);
	upper = 0;
	for (i = 0; i < g->nodes; i++) {
		uint32_t r = g->label[i];

		if (r >= nrows || (seen[r / 8] & 1 << r % 8) ||
		    (allowed != NULL && allowed[r] == 0)) {
			pm_fail("graph: node %lu has a bad label",
			    (unsigned long)i);
			goto bad;
		}
		seen[r / 8] |= 1 << r % 8;
		if (g->level[i] > g->top) {
			pm_fail("graph: node %lu above the top level",
			    (unsigned long)i);
			goto bad;
		}
		g->upoff[i] = upper;
		upper += (uint64_t)g->level[i] * (1 + g->M);
	}
	if (upper != g->upper) {
		pm_fail("graph: %llu words of upper links, the header says %lu",
		    (unsigned long long)upper, (unsigned long)g->upper);
		goto bad;
	}
	for (i = 0; i < g->nodes; i++) {
		const uint32_t *ll = g->l0 + (size_t)i * (1 + g->M0);

		if (ll[0] > g->M0)
			goto badlink;
		for (j = 0; j < ll[0]; j++)
			if (ll[1 + j] >= g->nodes)
				goto badlink;
		lv = g->level[i];
		for (l = 1; l <= lv; l++) {
			off = g->upoff[i] + (uint64_t)(l - 1) * (1 + g->M);
			c = g->up[off];
			if (c > g->M)
				goto badlink;
			for (j = 0; j < c; j++) {
				uint32_t to = g->up[off + 1 + j];

				if (to >= g->nodes || g->level[to] < l)
					goto badlink;
			}
		}
	}
	free(seen);
	return 0;
badlink:
	pm_fail("graph: node %lu has a bad link", (unsigned long)i);
bad:
	free(seen);
	free(g->upoff);
	g->upoff = NULL;
	return -1;
}

void
ann_free(struct ann *g)
{
	free(g->upoff);
	free(g->own);
	memset(g, 0, sizeof *g);
}

void
ann_scratch_free(struct ann_scratch *s)
{
	free(s->mark);
	free(s->cand);
	free(s->best);
	memset(s, 0, sizeof *s);
}

/* a before b: nearer, or as near with the lower number */
static int
before(const struct ann_hit *a, const struct ann_hit *b)
{
	return a->d < b->d || (a->d == b->d && a->row < b->row);
}

/* Binary heaps: a min-heap (the nearest on top) when max is 0, else a
 * max-heap (the farthest on top). */
static int
above(const struct ann_hit *a, const struct ann_hit *b, int max)
{
	return max ? before(b, a) : before(a, b);
}

static void
heap_push(struct ann_hit *h, size_t *n, struct ann_hit x, int max)
{
	size_t i = (*n)++, p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (!above(&x, &h[p], max))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = x;
}

static struct ann_hit
heap_pop(struct ann_hit *h, size_t *n, int max)
{
	struct ann_hit top = h[0], x = h[--*n];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && above(&h[c + 1], &h[c], max))
			c++;
		if (!above(&h[c], &x, max))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = x;
	return top;
}

static void
scratch_ready(struct ann_scratch *s, uint32_t nodes, size_t ef)
{
	if (s->cap < nodes) {
		free(s->mark);
		s->mark = pm_calloc(nodes, sizeof *s->mark);
		s->cap = nodes;
		s->gen = 0;
	}
	if (++s->gen == 0) {
		memset(s->mark, 0, (size_t)s->cap * sizeof *s->mark);
		s->gen = 1;
	}
	if (s->ncap < (size_t)nodes + ef + 2) {
		s->ncap = (size_t)nodes + ef + 2;
		free(s->cand);
		free(s->best);
		s->cand = pm_reallocarray(NULL, s->ncap, sizeof *s->cand);
		s->best = pm_reallocarray(NULL, s->ncap, sizeof *s->best);
	}
}

int
ann_search(const struct ann *g, const void *q, int k, int ef,
    struct ann_hit *out, struct ann_scratch *s)
{
	struct ann_hit x, c;
	size_t ncand = 0, nbest = 0, uef;
	uint32_t cur, l, j, cnt, nb;
	const uint32_t *ll;
	double curd, d, lower;
	int changed, i, nout;

	if (k < 1 || g->nodes == 0)
		return 0;
	if (ef < k)
		ef = k;
	uef = (size_t)ef;
	scratch_ready(s, g->nodes, uef);

	cur = g->entry;
	curd = node_dist(g, q, cur);
	for (l = g->top; l > 0; l--) {
		do {
			changed = 0;
			ll = g->up + g->upoff[cur] + (size_t)(l - 1) * (1 + g->M);
			cnt = ll[0];
			for (j = 0; j < cnt; j++) {
				nb = ll[1 + j];
				d = node_dist(g, q, nb);
				if (d < curd || (d == curd && nb < cur)) {
					curd = d;
					cur = nb;
					changed = 1;
				}
			}
		} while (changed);
	}

	x.d = curd;
	x.row = cur;
	heap_push(s->cand, &ncand, x, 0);
	heap_push(s->best, &nbest, x, 1);
	s->mark[cur] = s->gen;
	lower = curd;
	while (ncand > 0) {
		if (s->cand[0].d > lower && nbest == uef)
			break;
		c = heap_pop(s->cand, &ncand, 0);
		ll = g->l0 + (size_t)c.row * (1 + g->M0);
		cnt = ll[0];
		for (j = 0; j < cnt; j++) {
			nb = ll[1 + j];
			if (s->mark[nb] == s->gen)
				continue;
			s->mark[nb] = s->gen;
			x.d = node_dist(g, q, nb);
			x.row = nb;
			if (nbest < uef || before(&x, &s->best[0])) {
				heap_push(s->cand, &ncand, x, 0);
				heap_push(s->best, &nbest, x, 1);
				if (nbest > uef)
					heap_pop(s->best, &nbest, 1);
				lower = s->best[0].d;
			}
		}
	}
	/* the nearest k by distance, then by row (not node) */
	nout = (int)nbest;
	while (nbest > 0) {
		x = heap_pop(s->best, &nbest, 1);
		x.row = g->label[x.row];
		s->cand[nbest] = x;
	}
	for (i = 1; i < nout; i++) {
		struct ann_hit t = s->cand[i];
		int m = i - 1;

		while (m >= 0 && before(&t, &s->cand[m])) {
			s->cand[m + 1] = s->cand[m];
			m--;
		}
		s->cand[m + 1] = t;
	}
	if (nout > k)
		nout = k;
	memcpy(out, s->cand, (size_t)nout * sizeof *out);
	return nout;
}

int
ann_exact(int metric, int dim, const void *table, size_t stride,
    const uint32_t *rows, uint32_t n, const void *q, int k,
    struct ann_hit *out)
{
	struct ann_hit *h, x;
	size_t nh = 0;
	uint32_t i;
	int nout;

	if (k < 1)
		return 0;
	h = pm_reallocarray(NULL, (size_t)k + 1, sizeof *h);
	for (i = 0; i < n; i++) {
		x.row = rows[i];
		x.d = ann_dist(metric, dim, q,
		    (const unsigned char *)table + (size_t)x.row * stride);
		if (nh < (size_t)k)
			heap_push(h, &nh, x, 1);
		else if (before(&x, &h[0])) {
			heap_pop(h, &nh, 1);
			heap_push(h, &nh, x, 1);
		}
	}
	nout = (int)nh;
	while (nh > 0) {
		x = heap_pop(h, &nh, 1);
		out[nh] = x;
	}
	free(h);
	return nout;
}
