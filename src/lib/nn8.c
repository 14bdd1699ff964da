/*
 * nn8.c: exact nearest neighbours among rows of bytes (nn8.h).
 *
 * Every loop computes the same integers: |q|^2 + |t|^2 - 2 q.t, and
 * keeps for each query the nearest train row (the lowest among equals)
 * and the second distance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#include "err.h"
#include "nn8.h"

enum { PLAIN, AVX2, VNNI };

/* A padding row's norm: its distances exceed every real one (at most
 * NN8_MAXDIM * 255^2) and still fit in 31 bits. */
#define PAD_NORM	0x3fffffff

static int
path(int dimp)
{
#ifdef HAVE_X86
	static int have = -1;

	if (have == -1) {
		int plain = getenv("PM_NO_SIMD") != NULL;

		if (!plain && getenv("PM_NO_VNNI") == NULL &&
		    __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vnni"))
			have = VNNI;
		else if (!plain && __builtin_cpu_supports("avx2"))
			have = AVX2;
		else
			have = PLAIN;
	}
	if (have == VNNI)
		return VNNI;
	if (have == AVX2 && dimp == 128)
		return AVX2;
#endif
	return PLAIN;
}

void
nn8_init(struct nn8 *s, const uint8_t *rows, size_t stride, int n, int dim,
    int how)
{
	int i, k, p;

	memset(s, 0, sizeof *s);
	if (dim > NN8_MAXDIM)
		pm_err(PM_EXIT_FATAL, "nn8: rows of %d bytes", dim);
	s->n = n;
	s->dim = dim;
	s->dimp = (dim + 15) / 16 * 16;
	s->how = how;
	p = path(s->dimp);
	s->norm = pm_calloc((size_t)n + 1, sizeof *s->norm);
	for (i = 0; i < n; i++) {
		const uint8_t *r = rows + (size_t)i * stride;
		int32_t nn = 0;

		for (k = 0; k < dim; k++)
			nn += r[k] * r[k];
		s->norm[i] = nn;
	}
	if (p == AVX2) {
		s->d16 = pm_calloc((size_t)n * s->dimp + 1, sizeof *s->d16);
		for (i = 0; i < n; i++)
			for (k = 0; k < dim; k++)
				s->d16[(size_t)i * s->dimp + k] =
				    rows[(size_t)i * stride + k];
		return;
	}
	if (p == PLAIN || (how & NN8_QUERY)) {
		s->u8 = pm_calloc((size_t)n * s->dimp + 1, 1);
		for (i = 0; i < n; i++)
			memcpy(s->u8 + (size_t)i * s->dimp,
			    rows + (size_t)i * stride, (size_t)dim);
	}
	if (p != VNNI)
		return;
	if (how & NN8_QUERY) {
		s->sum128 = pm_calloc((size_t)n + 1, sizeof *s->sum128);
		for (i = 0; i < n; i++) {
			int32_t sum = 0;

			for (k = 0; k < dim; k++)
				sum += rows[(size_t)i * stride + k];
			s->sum128[i] = 128 * sum;
		}
	}
	if (how & NN8_TRAIN) {
		/*
		 * Blocks of 16 rows; in a block, for each group of 4 bytes
		 * of a row, the group of each of the 16 rows: 64 bytes, a
		 * register's lanes.  The bytes less 128, signed, for
		 * vpdpbusd; padding rows and bytes stand for 128.
		 */
		int nb = (n + 15) / 16, groups = s->dimp / 4;

		s->blk = pm_calloc((size_t)nb * 16 * s->dimp + 1, 1);
		s->bnorm = pm_reallocarray(NULL, (size_t)nb * 16 + 1,
		    sizeof *s->bnorm);
		for (i = 0; i < nb * 16; i++)
			s->bnorm[i] = i < n ? s->norm[i] : PAD_NORM;
		for (i = 0; i < n; i++) {
			int8_t *o = s->blk + (size_t)(i / 16) * 16 * s->dimp +
			    (i % 16) * 4;

			for (k = 0; k < groups * 4; k++)
				o[(k / 4) * 64 + k % 4] = (int8_t)((k < dim ?
				    rows[(size_t)i * stride + k] : 128) - 128);
		}
	}
}

void
nn8_free(struct nn8 *s)
{
	free(s->u8);
	free(s->norm);
	free(s->sum128);
	free(s->blk);
	free(s->bnorm);
	free(s->d16);
	memset(s, 0, sizeof *s);
}

static void
update(struct nn8_hit *k, int64_t d, int j)
{
	if (d < k->d1) {
		k->d2 = k->d1;
		k->d1 = d;
		k->j = j;
	} else if (d < k->d2)
		k->d2 = d;
}

static void
knn_plain(const struct nn8 *q, const struct nn8 *t, struct nn8_hit *out)
{
	int i, j, x;

	for (i = 0; i < q->n; i++) {
		const uint8_t *a = q->u8 + (size_t)i * q->dimp;
		struct nn8_hit k = { INT64_MAX, INT64_MAX, -1 };

		for (j = 0; j < t->n; j++) {
			const uint8_t *b = t->u8 + (size_t)j * t->dimp;
			int32_t dot = 0;

			for (x = 0; x < q->dim; x++)
				dot += a[x] * b[x];
			update(&k, (int64_t)q->norm[i] + t->norm[j] -
			    2 * (int64_t)dot, j);
		}
		out[i] = k;
	}
}

#ifdef HAVE_X86
__attribute__((target("avx2"))) static inline int32_t
hsum(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
	    _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* acc + the pairwise products of q and the 16 elements at b, summed in
 * pairs */
__attribute__((target("avx2"))) static inline __m256i
madd(__m256i acc, __m256i q, const int16_t *b)
{
	return _mm256_add_epi32(acc, _mm256_madd_epi16(q,
	    _mm256_loadu_si256((const __m256i *)b)));
}

/* Rows of 128 widened to int16: one query row held in registers against
 * four train rows at a time. */
__attribute__((target("avx2"))) static void
knn_avx2(const struct nn8 *q, const struct nn8 *t, struct nn8_hit *out)
{
	const int dim = 128;
	int i, j, x;

	for (i = 0; i < q->n; i++) {
		const int16_t *a = q->d16 + (size_t)i * dim;
		int64_t base = q->norm[i];
		__m256i qa[8];
		struct nn8_hit k = { INT64_MAX, INT64_MAX, -1 };

		for (x = 0; x < 8; x++)
			qa[x] = _mm256_loadu_si256(
			    (const __m256i *)(a + 16 * x));
		for (j = 0; j + 4 <= t->n; j += 4) {
			const int16_t *b = t->d16 + (size_t)j * dim;
			__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0,
			    s3 = s0;

			for (x = 0; x < 8; x++) {
				s0 = madd(s0, qa[x], b + 16 * x);
				s1 = madd(s1, qa[x], b + dim + 16 * x);
				s2 = madd(s2, qa[x], b + 2 * dim + 16 * x);
				s3 = madd(s3, qa[x], b + 3 * dim + 16 * x);
			}
			update(&k, base + t->norm[j] - 2 * (int64_t)hsum(s0),
			    j);
			update(&k, base + t->norm[j + 1] -
			    2 * (int64_t)hsum(s1), j + 1);
			update(&k, base + t->norm[j + 2] -
			    2 * (int64_t)hsum(s2), j + 2);
			update(&k, base + t->norm[j + 3] -
			    2 * (int64_t)hsum(s3), j + 3);
		}
		for (; j < t->n; j++) {
			const int16_t *b = t->d16 + (size_t)j * dim;
			__m256i s0 = _mm256_setzero_si256();

			for (x = 0; x < 8; x++)
				s0 = madd(s0, qa[x], b + 16 * x);
			update(&k, base + t->norm[j] - 2 * (int64_t)hsum(s0),
			    j);
		}
		out[i] = k;
	}
}

/*
 * AVX-512 VNNI, 16 train rows at a time: each lane of a register holds
 * one row's dot product, built 4 bytes at a time by vpdpbusd (the
 * query's bytes, unsigned, by the row's less 128, signed; 128 times the
 * query's sum puts the 128 back), and keeps the two nearest of the rows
 * of its lane; the lanes are merged at the end.  Four queries share
 * each load of the train rows, which otherwise come from the cache more
 * slowly than vpdpbusd uses them; they are named, so that the compiler
 * keeps them in registers.
 */
struct lanes {
	__m512i	 b1, b2, j1, base;
};

__attribute__((target("avx512f,avx512bw"))) static inline void
lanes_update(struct lanes *st, __m512i acc, __m512i tn, __m512i row)
{
	/* |q|^2 + |t|^2 - 2 (acc + 128 sum q) */
	__m512i d = _mm512_sub_epi32(_mm512_add_epi32(st->base, tn),
	    _mm512_add_epi32(acc, acc));
	__mmask16 lt1 = _mm512_cmplt_epi32_mask(d, st->b1);

	/* (GCC 12 warns of the unmasked min's undefined source) */
	st->b2 = _mm512_mask_blend_epi32(lt1,
	    _mm512_mask_min_epi32(st->b2, 0xffff, st->b2, d), st->b1);
	st->b1 = _mm512_mask_blend_epi32(lt1, st->b1, d);
	st->j1 = _mm512_mask_blend_epi32(lt1, st->j1, row);
}

/* The two nearest over the lanes. */
__attribute__((target("avx512f"))) static struct nn8_hit
lanes_merge(const struct lanes *st, int n)
{
	int32_t d1[16], d2[16], jj[16];
	struct nn8_hit k = { INT64_MAX, INT64_MAX, -1 };
	int l;

	_mm512_storeu_si512(d1, st->b1);
	_mm512_storeu_si512(d2, st->b2);
	_mm512_storeu_si512(jj, st->j1);
	for (l = 0; l < 16; l++) {
		if (d1[l] >= PAD_NORM / 2 || jj[l] >= n)
			continue;
		if (d1[l] < k.d1 || (d1[l] == k.d1 && jj[l] < k.j)) {
			k.d2 = k.d1;
			k.d1 = d1[l];
			k.j = jj[l];
		} else if (d1[l] < k.d2)
			k.d2 = d1[l];
		if (d2[l] < PAD_NORM / 2 && d2[l] < k.d2)
			k.d2 = d2[l];
	}
	return k;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
knn_vnni(const struct nn8 *q, const struct nn8 *t, struct nn8_hit *out)
{
	const int nb = (t->n + 15) / 16, groups = t->dimp / 4;
	const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
	    10, 11, 12, 13, 14, 15), step = _mm512_set1_epi32(16);
	int32_t qw[4][NN8_MAXDIM / 4];
	int i, x, b, g;

	for (i = 0; i < q->n; i += 4) {
		int nq = q->n - i < 4 ? q->n - i : 4;
		struct lanes st[4];
		__m512i row = lane;

		for (x = 0; x < 4; x++) {
			/* a missing query repeats the last */
			int r = i + (x < nq ? x : nq - 1);

			memcpy(qw[x], q->u8 + (size_t)r * q->dimp,
			    (size_t)q->dimp);
			st[x].b1 = _mm512_set1_epi32(INT32_MAX);
			st[x].b2 = st[x].b1;
			st[x].j1 = _mm512_setzero_si512();
			st[x].base = _mm512_set1_epi32(q->norm[r] -
			    2 * q->sum128[r]);
		}
		for (b = 0; b < nb; b++) {
			const int8_t *blk = t->blk + (size_t)b * 16 * t->dimp;
			__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0,
			    a3 = a0, tn;

			for (g = 0; g < groups; g++) {
				__m512i tv = _mm512_loadu_si512(blk + 64 * g);

				a0 = _mm512_dpbusd_epi32(a0,
				    _mm512_set1_epi32(qw[0][g]), tv);
				a1 = _mm512_dpbusd_epi32(a1,
				    _mm512_set1_epi32(qw[1][g]), tv);
				a2 = _mm512_dpbusd_epi32(a2,
				    _mm512_set1_epi32(qw[2][g]), tv);
				a3 = _mm512_dpbusd_epi32(a3,
				    _mm512_set1_epi32(qw[3][g]), tv);
			}
			tn = _mm512_loadu_si512(t->bnorm + (size_t)b * 16);
			lanes_update(&st[0], a0, tn, row);
			lanes_update(&st[1], a1, tn, row);
			lanes_update(&st[2], a2, tn, row);
			lanes_update(&st[3], a3, tn, row);
			row = _mm512_add_epi32(row, step);
		}
		for (x = 0; x < nq; x++)
			out[i + x] = lanes_merge(&st[x], t->n);
	}
}
#endif

void
nn8_knn2(const struct nn8 *q, const struct nn8 *t, struct nn8_hit *out)
{
	int i;

	if (t->n == 0 || q->dim != t->dim) {
		for (i = 0; i < q->n; i++)
			out[i] = (struct nn8_hit){ INT64_MAX, INT64_MAX, -1 };
		return;
	}
#ifdef HAVE_X86
	if (q->sum128 != NULL && t->blk != NULL)
		return knn_vnni(q, t, out);
	if (q->d16 != NULL && t->d16 != NULL)
		return knn_avx2(q, t, out);
#endif
	knn_plain(q, t, out);
}
