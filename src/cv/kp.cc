/*
 * kp.cc: local features (SIFT, ORB, AKAZE) and the keypoint blob, behind
 * cv.h.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include "cv.h"
#include "shim.h"

extern "C" {
#include "imghdr.h"
#include "kpblob.h"
}

static const struct {
	const char	*name;
	int		 num;
} detectors[] = {
	{ "sift", CV_SIFT },
	{ "orb", CV_ORB },
	{ "akaze", CV_AKAZE },
};

extern "C" const char *
cv_detector_name(int detector)
{
	for (const auto &d : detectors)
		if (d.num == detector)
			return d.name;
	return nullptr;
}

extern "C" int
cv_detector_num(const char *name)
{
	for (const auto &d : detectors)
		if (strcmp(d.name, name) == 0)
			return d.num;
	return -1;
}

extern "C" void
cv_kp_defaults(struct cv_kp_opts *o)
{
	memset(o, 0, sizeof *o);
	o->detector = CV_SIFT;
	o->max_kp = 2000;
	o->max_side = 960;
	o->spread = CV_SPREAD_ANMS;
	o->grid = 8;
	o->rootsift = 1;
	o->contrast = CV_CONTRAST_STRETCH;
	o->mask = CV_MASK_NONE;
}

/* A total order on keypoints: strongest first, ties broken by every
 * other field, so that selection never depends on the detector's
 * output order. */
static bool
stronger(const cv::KeyPoint &a, const cv::KeyPoint &b)
{
	if (a.response != b.response)
		return a.response > b.response;
	if (a.pt.y != b.pt.y)
		return a.pt.y < b.pt.y;
	if (a.pt.x != b.pt.x)
		return a.pt.x < b.pt.x;
	if (a.size != b.size)
		return a.size > b.size;
	if (a.angle != b.angle)
		return a.angle < b.angle;
	return a.octave < b.octave;
}

/* Indices of kps, strongest first. */
static std::vector<int>
by_strength(const std::vector<cv::KeyPoint> &kps)
{
	std::vector<int> order(kps.size());

	for (size_t i = 0; i < kps.size(); i++)
		order[i] = (int)i;
	std::sort(order.begin(), order.end(), [&](int a, int b) {
		return stronger(kps[a], kps[b]);
	});
	return order;
}

/*
 * Grid bucketing: each of grid x grid cells (fewer along the shorter
 * side) first takes its strongest keypoints up to an equal share of
 * max, then the strongest of the rest fill what is left.
 */
static std::vector<int>
spread_grid(const std::vector<cv::KeyPoint> &kps,
    const std::vector<int> &order, int w, int h, int max, int grid)
{
	std::vector<int> keep;
	int gx, gy, quota;

	if (w >= h) {
		gx = grid;
		gy = std::max(1, (int)lround((double)grid * h / w));
	} else {
		gy = grid;
		gx = std::max(1, (int)lround((double)grid * w / h));
	}
	quota = (max + gx * gy - 1) / (gx * gy);
	std::vector<int> count(gx * gy, 0);
	std::vector<char> taken(kps.size(), 0);
	for (int k : order) {
		int cx = std::min(gx - 1, std::max(0,
		    (int)(kps[k].pt.x * gx / w)));
		int cy = std::min(gy - 1, std::max(0,
		    (int)(kps[k].pt.y * gy / h)));
		int c = cy * gx + cx;

		if (count[c] < quota && (int)keep.size() < max) {
			count[c]++;
			taken[k] = 1;
			keep.push_back(k);
		}
	}
	for (int k : order) {
		if ((int)keep.size() >= max)
			break;
		if (!taken[k])
			keep.push_back(k);
	}
	return keep;
}

/* The squared distance from p (in bucket cx, cy) to the nearest
 * keypoint in the buckets: rings of buckets around p, until the next
 * ring is farther than the nearest found. */
static double
nearest(const std::vector<cv::KeyPoint> &kps,
    const std::vector<std::vector<int>> &bucket, int gx, int gy, double cell,
    cv::Point2f p, int cx, int cy)
{
	double best = HUGE_VAL;
	/* p's distance to the edge of its own bucket */
	double fx = p.x / cell - cx, fy = p.y / cell - cy;
	double edge = std::min(std::min(fx, 1 - fx), std::min(fy, 1 - fy));

	edge = std::max(0.0, edge);
	for (int ring = 0; ring < std::max(gx, gy); ring++) {
		/* no point of this ring or beyond is nearer than reach */
		double reach = (ring - 1 + edge) * cell;

		if (ring > 0 && reach * reach >= best)
			break;
		for (int y = cy - ring; y <= cy + ring; y++) {
			if (y < 0 || y >= gy)
				continue;
			for (int x = cx - ring; x <= cx + ring; x++) {
				bool rim = y == cy - ring || y == cy + ring ||
				    x == cx - ring || x == cx + ring;

				if (x < 0 || x >= gx || !rim)
					continue;
				for (int j : bucket[y * gx + x]) {
					double dx = kps[j].pt.x - p.x;
					double dy = kps[j].pt.y - p.y;

					best = std::min(best,
					    dx * dx + dy * dy);
				}
			}
		}
	}
	return best;
}

/*
 * Adaptive non-maximal suppression (Brown, Szeliski and Winder, 2005):
 * a keypoint's radius is its distance to the nearest keypoint that is
 * clearly stronger (by 1/0.9); the max keypoints of largest radius are
 * kept.  A weak region (a dark product in a busy frame) keeps its local
 * maxima, which a global ranking would drop.  The nearest stronger
 * keypoint is found in a grid of buckets filled in order of strength.
 */
static std::vector<int>
spread_anms(const std::vector<cv::KeyPoint> &kps,
    const std::vector<int> &order, int w, int h, int max)
{
	const int g = 32;	/* buckets along the longer side */
	double cell = (double)std::max(w, h) / g;
	int gx = std::max(1, (int)std::ceil(w / cell));
	int gy = std::max(1, (int)std::ceil(h / cell));
	std::vector<std::vector<int>> bucket(gx * gy);
	std::vector<double> r2(kps.size(), HUGE_VAL);
	size_t n = order.size(), next = 0;

	auto cellof = [&](const cv::Point2f &p, int &cx, int &cy) {
		cx = std::min(gx - 1, std::max(0, (int)(p.x / cell)));
		cy = std::min(gy - 1, std::max(0, (int)(p.y / cell)));
	};
	for (size_t k = 0; k < n; k++) {
		const cv::KeyPoint &kp = kps[order[k]];
		int cx, cy;

		while (next < k && kps[order[next]].response * 0.9f >
		    kp.response) {
			cellof(kps[order[next]].pt, cx, cy);
			bucket[cy * gx + cx].push_back(order[next]);
			next++;
		}
		if (next == 0)
			continue;
		if (next <= 64) {
			/* few stronger ones yet: no need for the buckets */
			double best = HUGE_VAL;

			for (size_t i = 0; i < next; i++) {
				double dx = kps[order[i]].pt.x - kp.pt.x;
				double dy = kps[order[i]].pt.y - kp.pt.y;

				best = std::min(best, dx * dx + dy * dy);
			}
			r2[order[k]] = best;
			continue;
		}
		cellof(kp.pt, cx, cy);
		r2[order[k]] = nearest(kps, bucket, gx, gy, cell, kp.pt, cx,
		    cy);
	}
	std::vector<int> keep(order);
	std::stable_sort(keep.begin(), keep.end(), [&](int a, int b) {
		return r2[a] > r2[b];
	});
	keep.resize(max);
	return keep;
}

/*
 * Keep at most max keypoints of kps (indices into it, strongest
 * first), spread over the image as asked (enum cv_spread).
 */
static std::vector<int>
spread(const std::vector<cv::KeyPoint> &kps, int w, int h, int max,
    int how, int grid)
{
	std::vector<int> order = by_strength(kps), keep;

	if (max <= 0 || (int)order.size() <= max)
		return order;
	if (how == CV_SPREAD_GRID && grid > 0)
		keep = spread_grid(kps, order, w, h, max, grid);
	else if (how == CV_SPREAD_ANMS)
		keep = spread_anms(kps, order, w, h, max);
	else
		keep.assign(order.begin(), order.begin() + max);
	std::sort(keep.begin(), keep.end(), [&](int a, int b) {
		return stronger(kps[a], kps[b]);
	});
	return keep;
}

/*
 * The foreground of a product photo on a plain background, as a mask of
 * img's size (empty when there is no plain background to remove).
 *
 * A transparent image's alpha is its mask.  Otherwise the background
 * colour is the median of a strip along the border; if most of the
 * border is near that colour, the background is every near pixel
 * connected to the border (so a white label on the product stays).
 * GrabCut then optionally refines the cut, on a smaller copy.
 */
static void
foreground(const cv::Mat &bgr, const cv::Mat &alpha, int method, cv::Mat &fg)
{
	const int tol = 24;		/* per channel, 0..255 */
	int w = bgr.cols, h = bgr.rows, b, x, y, c;

	fg.release();
	if (!alpha.empty()) {
		fg = alpha >= 128;
	} else {
		b = std::max(2, std::min(w, h) / 50);
		std::vector<std::vector<int>> v(3);
		for (y = 0; y < h; y++) {
			const cv::Vec3b *row = bgr.ptr<cv::Vec3b>(y);

			for (x = 0; x < w; x++)
				if (y < b || y >= h - b || x < b || x >= w - b)
					for (c = 0; c < 3; c++)
						v[c].push_back(row[x][c]);
		}
		cv::Vec3b bg;
		for (c = 0; c < 3; c++) {
			auto mid = v[c].begin() + v[c].size() / 2;
			std::nth_element(v[c].begin(), mid, v[c].end());
			bg[c] = (unsigned char)*mid;
		}
		cv::Mat diff, near;
		cv::absdiff(bgr, cv::Scalar(bg[0], bg[1], bg[2]), diff);
		cv::Mat planes[3];
		cv::split(diff, planes);
		cv::Mat d = cv::max(planes[0], cv::max(planes[1], planes[2]));
		near = d <= tol;

		/* a plain background: most of the border is near its
		 * median colour */
		cv::Mat border = cv::Mat::ones(h, w, CV_8U) * 255;
		border(cv::Rect(b, b, w - 2 * b, h - 2 * b)) = 0;
		double onborder = cv::countNonZero(border);
		cv::Mat nearborder;
		cv::bitwise_and(near, border, nearborder);
		if (cv::countNonZero(nearborder) < 0.9 * onborder)
			return;

		cv::Mat labels;
		int nl = cv::connectedComponents(near, labels, 4, CV_32S);
		std::vector<char> outside(nl, 0);
		for (y = 0; y < h; y++) {
			const int *row = labels.ptr<int>(y);
			if (y == 0 || y == h - 1) {
				for (x = 0; x < w; x++)
					outside[row[x]] = 1;
			} else {
				outside[row[0]] = 1;
				outside[row[w - 1]] = 1;
			}
		}
		fg.create(h, w, CV_8U);
		for (y = 0; y < h; y++) {
			const int *row = labels.ptr<int>(y);
			const unsigned char *nr = near.ptr(y);
			unsigned char *f = fg.ptr(y);

			for (x = 0; x < w; x++)
				f[x] = nr[x] && outside[row[x]] ? 0 : 255;
		}
		/* remove specks of noise, fill pinholes */
		int k = std::max(3, (std::min(w, h) / 200) | 1);
		cv::Mat se = cv::getStructuringElement(cv::MORPH_ELLIPSE,
		    cv::Size(k, k));
		cv::morphologyEx(fg, fg, cv::MORPH_OPEN, se);
		cv::morphologyEx(fg, fg, cv::MORPH_CLOSE, se);
	}

	if (method == CV_MASK_GRABCUT) {
		/* GrabCut on a copy of at most 400 pixels a side, seeded
		 * by the mask above (or a centred rectangle without one) */
		double s = std::min(1.0, 400.0 / std::max(w, h));
		cv::Mat small, gc;
		cv::Size sz(std::max(1, (int)lround(w * s)),
		    std::max(1, (int)lround(h * s)));
		cv::resize(bgr, small, sz, 0, 0, cv::INTER_AREA);
		if (!fg.empty()) {
			cv::Mat f;
			cv::resize(fg, f, sz, 0, 0, cv::INTER_NEAREST);
			gc = cv::Mat(sz, CV_8U, cv::Scalar(cv::GC_PR_BGD));
			gc.setTo(cv::GC_PR_FGD, f);
			cv::Mat sure;
			cv::erode(f == 0, sure, cv::Mat(), cv::Point(-1, -1),
			    3);
			gc.setTo(cv::GC_BGD, sure);
		} else {
			gc = cv::Mat(sz, CV_8U, cv::Scalar(cv::GC_BGD));
			cv::Rect r(sz.width / 20, sz.height / 20,
			    sz.width - sz.width / 10,
			    sz.height - sz.height / 10);
			gc(r) = cv::GC_PR_FGD;
		}
		if (cv::countNonZero(gc == cv::GC_PR_FGD) > 0 &&
		    cv::countNonZero((gc == cv::GC_BGD) |
		    (gc == cv::GC_PR_BGD)) > 0) {
			cv::Mat bgm, fgm;
			/* GrabCut's k-means draws from the thread's RNG */
			cv::theRNG() = cv::RNG(0x706d);
			cv::grabCut(small, gc, cv::Rect(), bgm, fgm, 3,
			    cv::GC_INIT_WITH_MASK);
			cv::Mat f = (gc == cv::GC_FGD) | (gc == cv::GC_PR_FGD);
			cv::resize(f, fg, cv::Size(w, h), 0, 0,
			    cv::INTER_NEAREST);
		}
	}
	if (fg.empty())
		return;
	/* the product is the largest part; specks, and a watermark or a
	 * logo in a corner, are much smaller */
	cv::Mat labels, stats, centroids;
	int nl = cv::connectedComponentsWithStats(fg, labels, stats, centroids,
	    8, CV_32S);
	int largest = 0;
	for (int l = 1; l < nl; l++)
		largest = std::max(largest, stats.at<int>(l, cv::CC_STAT_AREA));
	std::vector<unsigned char> keepl(nl, 0);
	for (int l = 1; l < nl; l++)
		keepl[l] = stats.at<int>(l, cv::CC_STAT_AREA) * 20 >= largest;
	for (y = 0; y < h; y++) {
		const int *row = labels.ptr<int>(y);
		unsigned char *f = fg.ptr(y);

		for (x = 0; x < w; x++)
			f[x] = keepl[row[x]] ? 255 : 0;
	}
	/* a mask that keeps almost nothing or almost everything is no
	 * product cut-out */
	double share = (double)cv::countNonZero(fg) / ((double)w * h);
	if (share < 0.01 || share > 0.98) {
		fg.release();
		return;
	}
	/* keep keypoints on the product's edge */
	int k = std::max(3, (std::min(w, h) / 100) | 1);
	cv::dilate(fg, fg, cv::getStructuringElement(cv::MORPH_ELLIPSE,
	    cv::Size(k, k)));
}

static cv::Ptr<cv::Feature2D>
detector(const struct cv_kp_opts *o)
{
	/* ORB keeps only its nfeatures best; ask for enough to spread */
	int orbn = o->max_kp > 0 ? std::max(4 * o->max_kp, 500) : 100000;

	switch (o->detector) {
	case CV_SIFT:
		return cv::SIFT::create(0, 3, 0.04, 10, 1.6, CV_8U);
	case CV_ORB:
		return cv::ORB::create(orbn);
	case CV_AKAZE:
		return cv::AKAZE::create();
	}
	return nullptr;
}

/* RootSIFT (Arandjelovic and Zisserman, 2012) of a SIFT descriptor:
 * the square root of the L1-normalised vector, whose L2 norm is 1,
 * scaled by 512 to bytes. */
static void
rootsift(unsigned char *d, int n)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += d[i];
	if (sum <= 0)
		return;
	for (i = 0; i < n; i++) {
		long v = lround(std::sqrt(d[i] / sum) * 512);
		d[i] = (unsigned char)std::min(255L, v);
	}
}

/*
 * SIFT's contrast threshold is absolute: in a dark or washed-out image
 * most keypoints fall under it.  Stretch the grey levels so that all
 * but the darkest and the brightest 0.5% of the pixels span 0..255 (an
 * image that spans them already is left as it is), or equalise them
 * locally (CLAHE), which also lifts a dark part of a bright image.
 * The descriptors are normalised, so matching is unchanged otherwise.
 */
static void
normalise(cv::Mat &gray, int how)
{
	if (how == CV_CONTRAST_CLAHE) {
		cv::Mat out;
		cv::createCLAHE(2.0, cv::Size(8, 8))->apply(gray, out);
		gray = out;
		return;
	}
	int hist[256] = { 0 };
	size_t total = (size_t)gray.rows * gray.cols, cut = total / 200, sum;
	int lo, hi;

	for (int y = 0; y < gray.rows; y++) {
		const unsigned char *row = gray.ptr(y);

		for (int x = 0; x < gray.cols; x++)
			hist[row[x]]++;
	}
	for (lo = 0, sum = 0; lo < 255 && sum + hist[lo] <= cut; lo++)
		sum += hist[lo];
	for (hi = 255, sum = 0; hi > 0 && sum + hist[hi] <= cut; hi--)
		sum += hist[hi];
	if (hi - lo < 1 || (lo == 0 && hi == 255))
		return;
	unsigned char lut[256];
	for (int v = 0; v < 256; v++) {
		long s = lround((v - lo) * 255.0 / (hi - lo));

		lut[v] = (unsigned char)std::min(255L, std::max(0L, s));
	}
	cv::Mat out;
	cv::LUT(gray, cv::Mat(1, 256, CV_8U, lut), out);
	gray = out;
}

/* Options a detector can follow. */
static int
check_opts(const struct cv_kp_opts *o)
{
	if (o->detector != CV_SIFT && o->detector != CV_ORB &&
	    o->detector != CV_AKAZE)
		return pm_fail("keypoints: unknown detector %d", o->detector);
	if (o->rootsift && o->detector != CV_SIFT)
		return pm_fail("keypoints: RootSIFT needs SIFT");
	return 0;
}

/*
 * The keypoints of an image of w x h pixels, or of its part within rect
 * (see cv_kp_extract_bgr_in() for side), from its picture im (grey or
 * BGR, of that size or scaled down; alpha, if not empty, its
 * transparency).
 */
static int
extract(cv::Mat im, cv::Mat alpha, int w, int h, const struct cv_kp_opts *o,
    const double *rect, int side, void **blob, size_t *bloblen, int *nkp)
{
	cv::Mat gray, mask;
	int dw, dh;

	if (w < CV_MIN_SIDE || h < CV_MIN_SIDE)
		return pm_fail("image too small for keypoints: %dx%d pixels "
		    "(at least %d a side)", w, h, CV_MIN_SIDE);

	/* scale down first: a frame's 4K detail is noise to matching,
	 * and time grows with the pixels */
	dw = w;
	dh = h;
	int longest = o->max_side > 0 ? std::min(o->max_side, CV_MAX_DETECT) :
	    CV_MAX_DETECT;
	if (std::max(w, h) > longest) {
		double s = (double)longest / std::max(w, h);

		dw = std::max(1, (int)lround(w * s));
		dh = std::max(1, (int)lround(h * s));
	}
	if (im.cols != dw || im.rows != dh) {
		cv::resize(im, im, cv::Size(dw, dh), 0, 0, cv::INTER_AREA);
		if (!alpha.empty())
			cv::resize(alpha, alpha, cv::Size(dw, dh), 0, 0,
			    cv::INTER_AREA);
	}
	if (im.channels() == 3)
		cv::cvtColor(im, gray, cv::COLOR_BGR2GRAY);
	else
		gray = im;
	if (o->contrast != CV_CONTRAST_NONE)
		normalise(gray, o->contrast);

	struct kpblob b;
	memset(&b, 0, sizeof b);
	b.fg[0] = b.fg[1] = 0;
	b.fg[2] = w;
	b.fg[3] = h;
	if (o->mask != CV_MASK_NONE) {
		foreground(im, alpha, o->mask, mask);
		if (!mask.empty()) {
			cv::Rect r = cv::boundingRect(mask);
			double sx = (double)w / dw, sy = (double)h / dh;

			b.flags |= KPBLOB_MASKED;
			b.fg[0] = std::max(0, (int)std::floor(r.x * sx));
			b.fg[1] = std::max(0, (int)std::floor(r.y * sy));
			b.fg[2] = std::min(w,
			    (int)std::ceil((r.x + r.width) * sx));
			b.fg[3] = std::min(h,
			    (int)std::ceil((r.y + r.height) * sy));
		}
	}

	/* a part of the image: the detector sees only it (and a margin,
	 * so that its keypoints are found as they are in the whole) */
	int ox = 0, oy = 0, cw = dw, ch = dh;
	if (rect != nullptr) {
		const int margin = 16;
		double rsx = (double)dw / w, rsy = (double)dh / h;
		int x0 = std::max(0, (int)std::floor(rect[0] * rsx) - margin);
		int y0 = std::max(0, (int)std::floor(rect[1] * rsy) - margin);
		int x1 = std::min(dw, (int)std::ceil(rect[2] * rsx) + margin);
		int y1 = std::min(dh, (int)std::ceil(rect[3] * rsy) + margin);

		if (x1 - x0 < CV_MIN_SIDE || y1 - y0 < CV_MIN_SIDE) {
			x0 = y0 = 0;
			x1 = y1 = 0;
		}
		ox = x0;
		oy = y0;
		cw = x1 - x0;
		ch = y1 - y0;
		if (cw > 0 && ch > 0)
			gray = gray(cv::Rect(x0, y0, cw, ch)).clone();
	}
	/* the part seen smaller, keypoints put back in its pixels */
	double ks = 1;
	if (rect != nullptr && side > 0 && std::min(cw, ch) > side) {
		cv::Mat small;
		double s = (double)side / std::min(cw, ch);

		cv::resize(gray, small, cv::Size(std::max(1,
		    (int)lround(cw * s)), std::max(1, (int)lround(ch * s))),
		    0, 0, cv::INTER_AREA);
		ks = (double)cw / small.cols;
		gray = small;
	}

	std::vector<cv::KeyPoint> kps;
	cv::Mat desc;
	if (cw > 0 && ch > 0)
		detector(o)->detectAndCompute(gray, mask, kps, desc);
	for (auto &k : kps) {
		k.pt.x = (float)((k.pt.x + 0.5) * ks - 0.5 + ox);
		k.pt.y = (float)((k.pt.y + 0.5) * ks - 0.5 + oy);
		k.size = (float)(k.size * ks);
	}
	if (!kps.empty() && (desc.rows != (int)kps.size() ||
	    desc.type() != CV_8U))
		return pm_fail("keypoints: unexpected descriptors from "
		    "OpenCV (%d rows, type %d)", desc.rows, desc.type());

	std::vector<int> keep = spread(kps, dw, dh, rect != nullptr ? 0 :
	    o->max_kp, o->spread,
	    o->grid);
	int dsize = kps.empty() ? (o->detector == CV_SIFT ? 128 :
	    o->detector == CV_ORB ? 32 : 61) : desc.cols;
	std::vector<struct kpblob_kp> out(keep.size());
	std::vector<unsigned char> d(keep.size() * dsize);
	/* image pixels from the detector's: pixel centres map to pixel
	 * centres */
	double sx = (double)w / dw, sy = (double)h / dh;
	for (size_t i = 0; i < keep.size(); i++) {
		const cv::KeyPoint &k = kps[keep[i]];
		double x = (k.pt.x + 0.5) * sx - 0.5;
		double y = (k.pt.y + 0.5) * sy - 0.5;

		out[i].x = (float)std::min(std::max(x, -0.5), w - 0.5);
		out[i].y = (float)std::min(std::max(y, -0.5), h - 0.5);
		out[i].size = (float)(k.size * sx);
		out[i].angle = k.angle;
		out[i].response = k.response;
		out[i].octave = k.octave;
		memcpy(&d[i * dsize], desc.ptr(keep[i]), dsize);
		if (o->rootsift)
			rootsift(&d[i * dsize], dsize);
	}

	b.detector = o->detector;
	b.desctype = o->detector == CV_SIFT ? KPBLOB_L2 : KPBLOB_HAMMING;
	b.descsize = dsize;
	b.flags |= o->rootsift ? KPBLOB_ROOTSIFT : 0;
	b.flags |= o->contrast == CV_CONTRAST_STRETCH ? KPBLOB_STRETCH :
	    o->contrast == CV_CONTRAST_CLAHE ? KPBLOB_CLAHE : 0;
	b.n = (int)keep.size();
	b.w = w;
	b.h = h;
	b.dw = dw;
	b.dh = dh;
	b.scale = (float)dw / w;
	if (kpblob_write(&b, out.data(), d.data(), blob, bloblen) == -1)
		return -1;
	*nkp = b.n;
	return 0;
}

extern "C" int
cv_kp_extract(const void *img, size_t n, const struct cv_kp_opts *o,
    void **blob, size_t *bloblen, int *nkp)
{
	*blob = nullptr;
	*bloblen = 0;
	*nkp = 0;
	if (check_opts(o) == -1)
		return -1;
	return shim_guard("keypoints", [&] {
		cv::Mat im, alpha;

		if (shim_decode(img, n, o->mask ? 3 : 1, im, &alpha) == -1)
			return -1;
		return extract(im, alpha, im.cols, im.rows, o, nullptr, 0,
		    blob, bloblen, nkp);
	});
}

extern "C" int
cv_kp_extract_bgr_in(const struct cv_bgr *b, const struct cv_kp_opts *o,
    const double rect[4], int side, void **blob, size_t *bloblen, int *nkp)
{
	*blob = nullptr;
	*bloblen = 0;
	*nkp = 0;
	if (check_opts(o) == -1)
		return -1;
	if (o->mask != CV_MASK_NONE)
		return pm_fail("keypoints: a mask and a part of the image");
	if (shim_bgr_check(b, "keypoints") == -1)
		return -1;
	return shim_guard("keypoints", [&] {
		cv::Mat im(b->ph, b->pw, CV_8UC3,
		    const_cast<unsigned char *>(b->pix), b->stride);

		return extract(im, cv::Mat(), b->w, b->h, o, rect, side, blob,
		    bloblen, nkp);
	});
}
