/*
 * verify.cc: geometric verification of a catalog image in a frame,
 * behind cv.h: descriptor matching, a robust homography, and checks on
 * the catalog image's outline in the frame.
 *
 * Matching is exact (brute force over every pair) in integers, so it
 * gives the same matches on every machine and in every thread; the
 * distance loops (nn8.h) use AVX-512 VNNI or AVX2 where the processor
 * has them.  OpenCV's FLANN is faster for large sets but builds its
 * trees from rand(), which is neither deterministic nor thread-safe.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86 1
#endif

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "cv.h"
#include "shim.h"

extern "C" {
#include "kpblob.h"
#include "nn8.h"
}

struct cv_kpset {
	int			 w, h, n;
	int			 detector, desctype, dsize, flags;
	double			 scale;	/* detector pixels per image pixel */
	std::vector<cv::Point2f> pt;
	std::vector<float>	 size;
	/* L2: the descriptors, laid out for nn8_knn2() */
	struct nn8		 nn;
	/* Hamming: descriptors as 64-bit words (words per row) */
	int			 words;
	std::vector<uint64_t>	 bits;
};

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
			nn8_init(&s->nn, b.desc, (size_t)b.descsize, b.n,
			    b.descsize, NN8_QUERY | NN8_TRAIN);
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
		cv_kpset_free(s);
		return nullptr;
	}
	return s;
}

extern "C" void
cv_kpset_free(struct cv_kpset *s)
{
	if (s != nullptr)
		nn8_free(&s->nn);
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
typedef struct nn8_hit knn;

static void
knn_update(knn &k, int64_t d, int j)
{
	if (d < k.d1) {
		k.d2 = k.d1;
		k.d1 = d;
		k.j = j;
	} else if (d < k.d2)
		k.d2 = d;
}

#ifdef HAVE_X86
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
	static const bool popcnt = __builtin_cpu_supports("popcnt");
	static const bool plain = getenv("PM_NO_SIMD") != nullptr;

	if (q.desctype == KPBLOB_HAMMING && popcnt && !plain)
		return knn_hamming_popcnt(q, t, out);
#endif
	if (q.desctype == KPBLOB_L2)
		nn8_knn2(&q.nn, &t.nn, out.data());
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
