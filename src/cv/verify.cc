/*
 * verify.cc: geometric verification of a catalog image in a frame,
 * behind cv.h: descriptor matching, a robust homography, and checks on
 * the catalog image's outline in the frame.
 *
 * Matching is exact (brute force over every pair) in integers, so it
 * gives the same matches on every machine and in every thread; the
 * distance loops have an AVX2 version chosen at run time.  OpenCV's
 * FLANN is faster for large sets but builds its trees from rand(),
 * which is neither deterministic nor thread-safe.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "cv.h"
#include "shim.h"

extern "C" {
#include "kpblob.h"
}

struct cv_kpset {
	int			 w, h, n;
	int			 detector, desctype, dsize, flags;
	double			 scale;	/* detector pixels per image pixel */
	std::vector<cv::Point2f> pt;
	std::vector<float>	 size;
	/* L2: descriptors widened to int16 (dim per row) and squared norms */
	int			 dim;
	std::vector<int16_t>	 d16;
	std::vector<int32_t>	 norm;
	/* SIFT, for the AVX-512 VNNI loop: the bytes as they are, for a
	 * query; 128 times their sum; and for a train set, in blocks of
	 * 16 rows, the bytes less 128 (signed), 4 of a row after 4 of the
	 * next, and the norms (padding rows far from anything) */
	std::vector<uint8_t>	 u8;
	std::vector<int32_t>	 sum128;
	std::vector<int8_t>	 blk;
	std::vector<int32_t>	 bnorm;
	/* Hamming: descriptors as 64-bit words (words per row) */
	int			 words;
	std::vector<uint64_t>	 bits;
};

#ifdef HAVE_X86
static bool
have_vnni()
{
	static const bool v = __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vnni") &&
	    getenv("PM_NO_SIMD") == nullptr && getenv("PM_NO_VNNI") == nullptr;

	return v;
}
#endif

/* A padding row's norm: its distances exceed every real one (at most
 * 128 * 255^2) and still fit in 31 bits. */
#define PAD_NORM	0x3fffffff

extern "C" struct cv_kpset *
cv_kpset_new(const void *blob, size_t len)
{
	struct cv_kpset *s = nullptr;
	int r;

	r = shim_guard("keypoints", [&] {
		struct kpblob b;
		struct kpblob_kp kp;

		if (kpblob_parse(&b, blob, len) == -1)
			return -1;
		s = new cv_kpset();
		s->w = b.w;
		s->h = b.h;
		s->n = b.n;
		s->detector = b.detector;
		s->desctype = b.desctype;
		s->dsize = b.descsize;
		s->flags = (int)b.flags;
		s->scale = (double)b.dw / b.w;
		s->pt.resize(b.n);
		s->size.resize(b.n);
		for (int i = 0; i < b.n; i++) {
			kpblob_get(&b, i, &kp);
			s->pt[i] = cv::Point2f(kp.x, kp.y);
			s->size[i] = kp.size;
		}
		if (b.desctype == KPBLOB_L2) {
			/* rows padded to 16 elements for the SIMD loop */
			s->dim = (b.descsize + 15) / 16 * 16;
			s->d16.assign((size_t)b.n * s->dim, 0);
			s->norm.assign(b.n, 0);
			for (int i = 0; i < b.n; i++) {
				const unsigned char *d = b.desc +
				    (size_t)i * b.descsize;
				int32_t nn = 0;

				for (int k = 0; k < b.descsize; k++) {
					s->d16[(size_t)i * s->dim + k] = d[k];
					nn += d[k] * d[k];
				}
				s->norm[i] = nn;
			}
#ifdef HAVE_X86
			if (b.descsize == 128 && have_vnni()) {
				int nb = (b.n + 15) / 16;

				s->u8.assign(b.desc, b.desc + (size_t)b.n * 128);
				s->sum128.assign(b.n, 0);
				s->blk.assign((size_t)nb * 16 * 128, 0);
				s->bnorm.assign((size_t)nb * 16, PAD_NORM);
				for (int i = 0; i < b.n; i++) {
					const unsigned char *d = b.desc +
					    (size_t)i * 128;
					int8_t *o = &s->blk[(size_t)(i / 16) *
					    16 * 128 + (i % 16) * 4];
					int32_t sum = 0;

					for (int k = 0; k < 128; k++) {
						o[(k / 4) * 64 + k % 4] =
						    (int8_t)(d[k] - 128);
						sum += d[k];
					}
					s->sum128[i] = 128 * sum;
					s->bnorm[i] = s->norm[i];
				}
			}
#endif
		} else {
			s->words = (b.descsize + 7) / 8;
			s->bits.assign((size_t)b.n * s->words, 0);
			for (int i = 0; i < b.n; i++)
				memcpy(&s->bits[(size_t)i * s->words],
				    b.desc + (size_t)i * b.descsize,
				    b.descsize);
		}
		return 0;
	});
	if (r == -1) {
		delete s;
		return nullptr;
	}
	return s;
}

extern "C" void
cv_kpset_free(struct cv_kpset *s)
{
	delete s;
}

extern "C" int
cv_kpset_count(const struct cv_kpset *s)
{
	return s->n;
}

extern "C" void
cv_kpset_size(const struct cv_kpset *s, int *w, int *h)
{
	*w = s->w;
	*h = s->h;
}

/* The two nearest train rows of a query row: distances and the index
 * of the nearest (the lowest index among equals). */
struct knn {
	int64_t	 d1, d2;
	int	 j;
};

static void
knn_update(struct knn &k, int64_t d, int j)
{
	if (d < k.d1) {
		k.d2 = k.d1;
		k.d1 = d;
		k.j = j;
	} else if (d < k.d2)
		k.d2 = d;
}

/* Squared L2 distances as |q|^2 + |t|^2 - 2 q.t, in integers. */
static void
knn_l2_plain(const cv_kpset &q, const cv_kpset &t, std::vector<knn> &out)
{
	int dim = q.dim;

	for (int i = 0; i < q.n; i++) {
		const int16_t *a = &q.d16[(size_t)i * dim];
		knn k = { INT64_MAX, INT64_MAX, -1 };

		for (int j = 0; j < t.n; j++) {
			const int16_t *b = &t.d16[(size_t)j * dim];
			int32_t dot = 0;

			for (int x = 0; x < dim; x++)
				dot += a[x] * b[x];
			knn_update(k, (int64_t)q.norm[i] + t.norm[j] -
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

/* The same sums as knn_l2_plain(), for descriptors of 128 elements:
 * one query row held in registers against four train rows at a time. */
__attribute__((target("avx2"))) static void
knn_l2_avx2(const cv_kpset &q, const cv_kpset &t, std::vector<knn> &out)
{
	const int dim = 128;

	for (int i = 0; i < q.n; i++) {
		const int16_t *a = &q.d16[(size_t)i * dim];
		int64_t base = q.norm[i];
		__m256i qa[8];
		knn k = { INT64_MAX, INT64_MAX, -1 };
		int j, x;

		for (x = 0; x < 8; x++)
			qa[x] = _mm256_loadu_si256(
			    (const __m256i *)(a + 16 * x));
		for (j = 0; j + 4 <= t.n; j += 4) {
			const int16_t *b = &t.d16[(size_t)j * dim];
			__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0,
			    s3 = s0;

			for (x = 0; x < 8; x++) {
				s0 = madd(s0, qa[x], b + 16 * x);
				s1 = madd(s1, qa[x], b + dim + 16 * x);
				s2 = madd(s2, qa[x], b + 2 * dim + 16 * x);
				s3 = madd(s3, qa[x], b + 3 * dim + 16 * x);
			}
			knn_update(k, base + t.norm[j] - 2 * (int64_t)hsum(s0),
			    j);
			knn_update(k, base + t.norm[j + 1] -
			    2 * (int64_t)hsum(s1), j + 1);
			knn_update(k, base + t.norm[j + 2] -
			    2 * (int64_t)hsum(s2), j + 2);
			knn_update(k, base + t.norm[j + 3] -
			    2 * (int64_t)hsum(s3), j + 3);
		}
		for (; j < t.n; j++) {
			const int16_t *b = &t.d16[(size_t)j * dim];
			__m256i s0 = _mm256_setzero_si256();

			for (x = 0; x < 8; x++)
				s0 = madd(s0, qa[x], b + 16 * x);
			knn_update(k, base + t.norm[j] - 2 * (int64_t)hsum(s0),
			    j);
		}
		out[i] = k;
	}
}

/*
 * The same sums again with AVX-512 VNNI, 16 train rows at a time: each
 * lane of a register holds one row's dot product, built 4 bytes at a
 * time by vpdpbusd (the query's bytes, unsigned, by the row's less 128,
 * signed; 128 times the query's sum puts the 128 back), and keeps that
 * row's lane of the two nearest; the lanes are merged at the end, so
 * that the nearest is the lowest row among equals, as in the loops
 * above.  All in exact 32-bit integers.  Four queries share each load
 * of the train rows, which otherwise come from the cache more slowly
 * than vpdpbusd uses them.
 */
#define VQ	4	/* queries at a time (named in the loop) */

struct vnni_state {
	__m512i	 b1, b2, j1, base;
};

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline void
vnni_update(struct vnni_state &st, __m512i acc, __m512i tn, __m512i row)
{
	/* |q|^2 + |t|^2 - 2 (acc + 128 sum q) */
	__m512i d = _mm512_sub_epi32(_mm512_add_epi32(st.base, tn),
	    _mm512_add_epi32(acc, acc));
	__mmask16 lt1 = _mm512_cmplt_epi32_mask(d, st.b1);

	/* (GCC 12 warns of the unmasked min's undefined source) */
	st.b2 = _mm512_mask_blend_epi32(lt1,
	    _mm512_mask_min_epi32(st.b2, 0xffff, st.b2, d), st.b1);
	st.b1 = _mm512_mask_blend_epi32(lt1, st.b1, d);
	st.j1 = _mm512_mask_blend_epi32(lt1, st.j1, row);
}

/* The two nearest over the lanes of a query's state. */
__attribute__((target("avx512f"))) static knn
vnni_merge(const struct vnni_state &st, int n)
{
	int32_t d1[16], d2[16], jj[16];
	knn k = { INT64_MAX, INT64_MAX, -1 };

	_mm512_storeu_si512(d1, st.b1);
	_mm512_storeu_si512(d2, st.b2);
	_mm512_storeu_si512(jj, st.j1);
	for (int l = 0; l < 16; l++) {
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
knn_l2_vnni(const cv_kpset &q, const cv_kpset &t, std::vector<knn> &out)
{
	const int nb = (t.n + 15) / 16;
	const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
	    10, 11, 12, 13, 14, 15), step = _mm512_set1_epi32(16);

	for (int i = 0; i < q.n; i += VQ) {
		int nq = std::min(VQ, q.n - i);
		int32_t qw[VQ][32];
		struct vnni_state st[VQ];

		memset(qw, 0, sizeof qw);
		for (int x = 0; x < VQ; x++) {
			int r = i + std::min(x, nq - 1);

			memcpy(qw[x], &q.u8[(size_t)r * 128], 128);
			st[x].b1 = _mm512_set1_epi32(INT32_MAX);
			st[x].b2 = st[x].b1;
			st[x].j1 = _mm512_setzero_si512();
			st[x].base = _mm512_set1_epi32(q.norm[r] -
			    2 * q.sum128[r]);
		}
		__m512i row = lane;
		for (int b = 0; b < nb; b++) {
			const int8_t *blk = &t.blk[(size_t)b * 16 * 128];
			/* named, so that they stay in registers */
			__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0,
			    a3 = a0;

			for (int g = 0; g < 32; g++) {
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
			__m512i tn = _mm512_loadu_si512(&t.bnorm[(size_t)b * 16]);
			vnni_update(st[0], a0, tn, row);
			vnni_update(st[1], a1, tn, row);
			vnni_update(st[2], a2, tn, row);
			vnni_update(st[3], a3, tn, row);
			row = _mm512_add_epi32(row, step);
		}
		for (int x = 0; x < nq; x++)
			out[i + x] = vnni_merge(st[x], t.n);
	}
}

__attribute__((target("popcnt"))) static void
knn_hamming_popcnt(const cv_kpset &q, const cv_kpset &t,
    std::vector<knn> &out)
{
	int w = q.words;

	for (int i = 0; i < q.n; i++) {
		const uint64_t *a = &q.bits[(size_t)i * w];
		knn k = { INT64_MAX, INT64_MAX, -1 };

		for (int j = 0; j < t.n; j++) {
			const uint64_t *b = &t.bits[(size_t)j * w];
			int64_t d = 0;

			for (int x = 0; x < w; x++)
				d += __builtin_popcountll(a[x] ^ b[x]);
			knn_update(k, d, j);
		}
		out[i] = k;
	}
}
#endif

static void
knn_hamming_plain(const cv_kpset &q, const cv_kpset &t, std::vector<knn> &out)
{
	int w = q.words;

	for (int i = 0; i < q.n; i++) {
		const uint64_t *a = &q.bits[(size_t)i * w];
		knn k = { INT64_MAX, INT64_MAX, -1 };

		for (int j = 0; j < t.n; j++) {
			const uint64_t *b = &t.bits[(size_t)j * w];
			int64_t d = 0;

			for (int x = 0; x < w; x++)
				d += __builtin_popcountll(a[x] ^ b[x]);
			knn_update(k, d, j);
		}
		out[i] = k;
	}
}

/* Each query row's two nearest train rows. */
static void
knn2(const cv_kpset &q, const cv_kpset &t, std::vector<knn> &out)
{
	out.resize(q.n);
#ifdef HAVE_X86
	static const bool avx2 = __builtin_cpu_supports("avx2");
	static const bool popcnt = __builtin_cpu_supports("popcnt");
	static const bool plain = getenv("PM_NO_SIMD") != nullptr;

	if (q.desctype == KPBLOB_L2 && !q.u8.empty() && !t.blk.empty())
		return knn_l2_vnni(q, t, out);
	if (q.desctype == KPBLOB_L2 && q.dim == 128 && avx2 && !plain)
		return knn_l2_avx2(q, t, out);
	if (q.desctype == KPBLOB_HAMMING && popcnt && !plain)
		return knn_hamming_popcnt(q, t, out);
#endif
	if (q.desctype == KPBLOB_L2)
		knn_l2_plain(q, t, out);
	else
		knn_hamming_plain(q, t, out);
}

extern "C" void
cv_verify_defaults(struct cv_verify_params *p)
{
	memset(p, 0, sizeof *p);
	p->ratio = 0.8;
	p->robust = CV_MAGSAC;
	p->reproj = 3;
	p->refine = 1.5;
	p->iters = 2000;
	p->confidence = 0.999;
	p->min_inliers = 10;
	p->min_inlier_ratio = 0.1;
	p->min_area = 0.0005;
	p->max_area = 2.5;
	p->min_scale = 0.005;
	p->max_scale = 20;
	p->max_aspect = 3;
	p->min_angle = 25;
	p->margin = 0.5;
	p->min_spread = 0.02;
}

static double
cross(cv::Point2d o, cv::Point2d a, cv::Point2d b)
{
	return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/* Which check the outline q (the catalog image's corners in the frame,
 * clockwise from top-left) fails, or NULL. */
static const char *
check_box(const cv::Point2d q[4], int cw, int ch, int fw, int fh,
    const struct cv_verify_params *p)
{
	double area = 0, len[4];
	int i;

	for (i = 0; i < 4; i++) {
		cv::Point2d a = q[i], b = q[(i + 1) % 4], c = q[(i + 2) % 4];

		/* clockwise on the screen (y down) is a positive cross
		 * product at every corner */
		if (!(cross(a, b, c) > 0))
			return "outline not convex or mirrored";
		len[i] = std::hypot(b.x - a.x, b.y - a.y);
		if (len[i] < 4)
			return "outline degenerate";
		area += a.x * b.y - b.x * a.y;
	}
	area /= 2;
	for (i = 0; i < 4; i++) {
		cv::Point2d a = q[(i + 3) % 4], b = q[i], c = q[(i + 1) % 4];
		double cosang = ((a.x - b.x) * (c.x - b.x) +
		    (a.y - b.y) * (c.y - b.y)) / (len[(i + 3) % 4] * len[i]);
		double ang = std::acos(std::max(-1.0, std::min(1.0, cosang))) *
		    180 / M_PI;

		if (ang < p->min_angle)
			return "outline too skewed";
	}
	double farea = (double)fw * fh;
	if (area < p->min_area * farea)
		return "outline too small in the frame";
	if (area > p->max_area * farea)
		return "outline too large for the frame";
	double scale = std::sqrt(area / ((double)cw * ch));
	if (scale < p->min_scale || scale > p->max_scale)
		return "implausible scale";
	double aspect = (len[0] + len[2]) / (len[1] + len[3]);
	double change = aspect / ((double)cw / ch);
	if (change < 1 / p->max_aspect || change > p->max_aspect)
		return "aspect ratio changed too much";
	for (i = 0; i < 4; i++)
		if (q[i].x < -p->margin * fw || q[i].x > (1 + p->margin) * fw ||
		    q[i].y < -p->margin * fh || q[i].y > (1 + p->margin) * fh)
			return "outline far outside the frame";
	return nullptr;
}

/* Project p by H; false when it falls behind the camera. */
static bool
project(const cv::Matx33d &H, cv::Point2d p, cv::Point2d &out)
{
	double x = H(0, 0) * p.x + H(0, 1) * p.y + H(0, 2);
	double y = H(1, 0) * p.x + H(1, 1) * p.y + H(1, 2);
	double w = H(2, 0) * p.x + H(2, 1) * p.y + H(2, 2);

	if (!(w > 1e-9) || !std::isfinite(x / w) || !std::isfinite(y / w))
		return false;
	out = cv::Point2d(x / w, y / w);
	return true;
}

/* The matches within thr pixels of their projection by H. */
static void
inliers(const cv::Matx33d &H, const std::vector<cv::Point2f> &src,
    const std::vector<cv::Point2f> &dst, double thr,
    std::vector<cv::Point2f> &is, std::vector<cv::Point2f> &id)
{
	is.clear();
	id.clear();
	for (size_t i = 0; i < src.size(); i++) {
		cv::Point2d q;

		if (project(H, src[i], q) &&
		    std::hypot(q.x - dst[i].x, q.y - dst[i].y) <= thr) {
			is.push_back(src[i]);
			id.push_back(dst[i]);
		}
	}
}

static int
count_within(const cv::Matx33d &H, const std::vector<cv::Point2f> &src,
    const std::vector<cv::Point2f> &dst, double thr)
{
	std::vector<cv::Point2f> is, id;

	inliers(H, src, dst, thr, is, id);
	return (int)is.size();
}

/* Least squares (with OpenCV's Levenberg-Marquardt polish) on all of
 * the given matches. */
static bool
fit(const std::vector<cv::Point2f> &src, const std::vector<cv::Point2f> &dst,
    cv::Matx33d &H)
{
	cv::Mat h = cv::findHomography(src, dst, 0);

	if (h.empty())
		return false;
	H = cv::Matx33d(h);
	H *= 1 / H(2, 2);
	return true;
}

static double
lchoose(int n, int k)
{
	return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) -
	    std::lgamma(n - k + 1.0);
}

/*
 * How unlikely the homography's consensus is by chance: -log10 of its
 * number of false alarms (Moisan and Stival, "A probabilistic criterion
 * to detect rigid point matches between two images", 2004; Moisan,
 * Moulon and Monasse, 2012).  If the n matches were at random, each
 * would fall within e pixels of where a homography puts it with the
 * probability a = pi e^2 / (frame area); the expected number of
 * homographies through 4 of them that k of them fit within e is
 *
 *	NFA(k, e) = (n - 4) C(n, k) C(k, 4) a^(k - 4)
 *
 * minimised over k, e being the k-th smallest residual (never under
 * half a pixel, the keypoints' own precision, so that a fit through
 * few points does not pass for a precise one).  Distances and the area
 * are in the pixels the frame's detector saw.
 */
static double
significance(const cv::Matx33d &H, const std::vector<cv::Point2f> &src,
    const std::vector<cv::Point2f> &dst, double thr, const cv_kpset &fr)
{
	std::vector<double> res;
	int n = (int)src.size();
	double area = (double)fr.w * fr.h * fr.scale * fr.scale, best = 0;

	for (int i = 0; i < n; i++) {
		cv::Point2d q;

		if (project(H, src[i], q)) {
			double d = std::hypot(q.x - dst[i].x, q.y - dst[i].y);

			if (d <= thr)
				res.push_back(d * fr.scale);
		}
	}
	std::sort(res.begin(), res.end());
	for (int k = 5; k <= (int)res.size(); k++) {
		double e = std::max(0.5, res[k - 1]);
		double l = std::log(n - 4.0) + lchoose(n, k) + lchoose(k, 4) +
		    (k - 4) * std::log(M_PI * e * e / area);

		best = std::max(best, -l / std::log(10.0));
	}
	return best;
}

static const char *
kind(const cv_kpset &s)
{
	const char *name = cv_detector_name(s.detector);

	if (s.detector == CV_SIFT && (s.flags & KPBLOB_ROOTSIFT))
		return "rootsift";
	return name != nullptr ? name : "unknown";
}

static int
verify(const cv_kpset &cat, const cv_kpset &fr,
    const struct cv_verify_params *p, struct cv_match *m)
{
	if (cat.desctype != fr.desctype || cat.dsize != fr.dsize ||
	    cat.detector != fr.detector ||
	    (cat.flags & KPBLOB_ROOTSIFT) != (fr.flags & KPBLOB_ROOTSIFT))
		return pm_fail("verify: keypoints of different kinds: %s "
		    "and %s", kind(cat), kind(fr));
	if (cat.n < 4 || fr.n < 2) {
		m->why = "too few keypoints";
		return 0;
	}

	/* each catalog keypoint's two nearest frame keypoints; the ratio
	 * test, on squared distances for L2 */
	std::vector<knn> nn;
	knn2(cat, fr, nn);
	double r2 = cat.desctype == KPBLOB_L2 ? p->ratio * p->ratio : p->ratio;
	std::vector<int> best(fr.n, -1);
	for (int i = 0; i < cat.n; i++) {
		const knn &k = nn[i];

		if (k.j < 0 || !((double)k.d1 < r2 * (double)k.d2))
			continue;
		/* one catalog keypoint per frame keypoint: the nearest */
		int &b = best[k.j];
		if (b < 0 || k.d1 < nn[b].d1)
			b = i;
	}
	std::vector<cv::Point2f> src, dst;
	for (int j = 0; j < fr.n; j++)
		if (best[j] >= 0) {
			src.push_back(cat.pt[best[j]]);
			dst.push_back(fr.pt[j]);
		}
	m->matches = (int)src.size();
	if (m->matches < std::max(4, p->min_inliers)) {
		m->why = "too few matches";
		return 0;
	}

	/* thresholds are in the pixels the frame's detector saw, where
	 * keypoints are located to a pixel or so */
	double reproj = p->reproj / fr.scale, tight = p->refine / fr.scale;
	cv::Mat H = cv::findHomography(src, dst,
	    p->robust == CV_MAGSAC ? cv::USAC_MAGSAC : cv::RANSAC, reproj,
	    cv::noArray(), p->iters, p->confidence);
	if (H.empty()) {
		m->why = "no homography";
		return 0;
	}
	cv::Matx33d Hm(H);
	Hm *= 1 / Hm(2, 2);

	/*
	 * Refine.  Matches off the object's plane (a second surface, a
	 * reflection) can fit a compromise homography within a generous
	 * threshold; a second consensus at a tight threshold, over all
	 * the matches, finds the dominant plane.  Of the first estimate,
	 * its least-squares refit on its inliers, and the tight one
	 * (polished by least squares on its inliers, and kept only if it
	 * agrees with the first), keep the one with most matches within
	 * the tight threshold.
	 */
	std::vector<cv::Point2f> is, id, ts, td;
	inliers(Hm, src, dst, reproj, is, id);
	cv::Matx33d Hbest = Hm, Hc;
	int nbest = count_within(Hm, src, dst, tight), nc;
	if ((int)is.size() >= 8 && fit(is, id, Hc) &&
	    (nc = count_within(Hc, src, dst, tight)) > nbest) {
		Hbest = Hc;
		nbest = nc;
	}
	if (tight > 0) {
		cv::Mat H2 = cv::findHomography(src, dst, cv::USAC_DEFAULT,
		    tight, cv::noArray(), p->iters, p->confidence);
		bool good = !H2.empty();

		if (good) {
			Hc = cv::Matx33d(H2);
			Hc *= 1 / Hc(2, 2);
		}
		for (int k = 0; good && k < 5; k++) {
			inliers(Hc, src, dst, tight, ts, td);
			good = (int)ts.size() >= 8 && fit(ts, td, Hc);
		}
		if (good) {
			/* the same object: most of its tight inliers are
			 * inliers of the first estimate */
			inliers(Hc, src, dst, tight, ts, td);
			nc = (int)ts.size();
			if (nc > nbest &&
			    2 * count_within(Hm, ts, td, reproj) >= nc) {
				Hbest = Hc;
				nbest = nc;
			}
		}
	}
	Hm = Hbest;
	inliers(Hm, src, dst, reproj, is, id);
	m->inliers = (int)is.size();
	for (int k = 0; k < 9; k++)
		m->H[k] = Hm(k / 3, k % 3);

	cv::Point2d corner[4] = {
		{ -0.5, -0.5 }, { cat.w - 0.5, -0.5 },
		{ cat.w - 0.5, cat.h - 0.5 }, { -0.5, cat.h - 0.5 }
	}, q[4];
	bool front = true;
	for (int k = 0; k < 4; k++) {
		front = front && project(Hm, corner[k], q[k]);
		m->box[2 * k] = front ? q[k].x : 0;
		m->box[2 * k + 1] = front ? q[k].y : 0;
	}
	double ratio = m->matches > 0 ? (double)m->inliers / m->matches : 0;
	m->sig = significance(Hm, src, dst, reproj, fr);
	m->score = m->sig / (m->sig + CV_SIG_HALF);
	m->npairs = m->inliers;
	m->pairs = static_cast<float *>(pm_calloc(std::max(1, m->npairs),
	    4 * sizeof(float)));
	for (int k = 0; k < m->npairs; k++) {
		m->pairs[4 * k] = is[k].x;
		m->pairs[4 * k + 1] = is[k].y;
		m->pairs[4 * k + 2] = id[k].x;
		m->pairs[4 * k + 3] = id[k].y;
	}

	if (m->inliers < p->min_inliers) {
		m->why = "too few inliers";
		return 0;
	}
	if (ratio < p->min_inlier_ratio) {
		m->why = "too few of the matches are inliers";
		return 0;
	}
	if (!front) {
		m->why = "outline crosses the horizon";
		return 0;
	}
	if ((m->why = check_box(q, cat.w, cat.h, fr.w, fr.h, p)) != nullptr)
		return 0;
	std::vector<cv::Point2f> hull;
	cv::convexHull(is, hull);
	if (cv::contourArea(hull) < p->min_spread * cat.w * cat.h) {
		m->why = "inliers bunched in a corner of the catalog image";
		return 0;
	}
	m->verified = 1;
	return 0;
}

extern "C" int
cv_verify(const struct cv_kpset *cat, const struct cv_kpset *frame,
    const struct cv_verify_params *p, struct cv_match *m)
{
	memset(m, 0, sizeof *m);
	int r = shim_guard("verify", [&] {
		return verify(*cat, *frame, p, m);
	});
	if (r == -1)
		cv_match_free(m);
	return r;
}

extern "C" void
cv_match_free(struct cv_match *m)
{
	free(m->pairs);
	m->pairs = nullptr;
	m->npairs = 0;
}
