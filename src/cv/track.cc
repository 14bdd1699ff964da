/*
 * track.cc: a found product followed from picture to picture, behind
 * cv.h.
 *
 * The corners the product shows inside its box are followed by
 * pyramidal Lucas-Kanade optical flow (Bouguet's), each one checked by
 * flowing it back (the forward-backward error); those that still agree
 * on one homography carry the box on.  It costs a fraction of finding
 * the product again, and it holds on to a product that keypoints lose
 * for a moment to blur, dark or an edge of the picture.
 */
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "cv.h"
#include "shim.h"

/* At most this many corners are followed, at least this far apart
 * (picture pixels); corners within this share of the box's size of
 * its outline are left out, as they may be the background's. */
#define TRACK_CORNERS	80
#define TRACK_SPACING	5
#define TRACK_INSET	0.05
/* A corner flows back to within this many pixels of where it was, and
 * agrees with the homography within this many; the product is followed
 * while this share of its corners do. */
#define TRACK_FB	1.0
#define TRACK_REPROJ	2.0
#define TRACK_AGREE	0.5
/* The flow's window (picture pixels), and its pyramid's levels above
 * the picture at most: fewer where the product is small, so that the
 * window at the coarsest level sees the product more than what moves
 * around it. */
#define TRACK_WIN	15
#define TRACK_LEVELS	3
/* The part of the picture the flow looks at: the corners' bounding
 * rectangle grown by this many pixels on every side, at least (about
 * the motion it can follow at 3 levels). */
#define TRACK_REACH	64
/* From one picture to the next, the box's area changes by at most this
 * factor either way. */
#define TRACK_GROWTH	2.0

struct cv_track {
	cv::Mat		 grey;		/* the last picture */
	std::vector<cv::Point2f> pts;	/* its corners, picture pixels */
	double		 box[8];	/* image pixels */
	double		 sx, sy;	/* picture pixels an image pixel */
	cv::Mat		 motion;	/* the last step's homography */
};

static void
to_grey(const struct cv_bgr *b, cv::Mat &grey)
{
	cv::Mat m(b->ph, b->pw, CV_8UC3, const_cast<unsigned char *>(b->pix),
	    b->stride);

	cv::cvtColor(m, grey, cv::COLOR_BGR2GRAY);
}

static double
quad_area(const double *q)
{
	double a = 0;

	for (int i = 0; i < 4; i++) {
		int k = (i + 1) % 4;

		a += q[2 * i] * q[2 * k + 1] - q[2 * k] * q[2 * i + 1];
	}
	return std::fabs(a) / 2;
}

/* Pyramid levels for the box's size. */
static int
levels(const struct cv_track *t)
{
	double side = INFINITY;
	int lv = 0;

	for (int i = 0; i < 4; i++) {
		int k = (i + 1) % 4;

		side = std::min(side, std::hypot(
		    (t->box[2 * k] - t->box[2 * i]) * t->sx,
		    (t->box[2 * k + 1] - t->box[2 * i + 1]) * t->sy));
	}
	while (lv < TRACK_LEVELS && side / (2 << lv) >= TRACK_WIN)
		lv++;
	return lv;
}

/* The corners of the last picture inside the box, a little inset. */
static void
seed(struct cv_track *t)
{
	double cx = 0, cy = 0;

	for (int i = 0; i < 4; i++) {
		cx += t->box[2 * i] / 4;
		cy += t->box[2 * i + 1] / 4;
	}
	std::vector<cv::Point> poly(4);
	for (int i = 0; i < 4; i++) {
		double x = cx + (t->box[2 * i] - cx) * (1 - TRACK_INSET);
		double y = cy + (t->box[2 * i + 1] - cy) * (1 - TRACK_INSET);

		poly[i] = cv::Point((int)lround(x * t->sx),
		    (int)lround(y * t->sy));
	}
	cv::Rect part = cv::boundingRect(poly) &
	    cv::Rect(0, 0, t->grey.cols, t->grey.rows);
	t->pts.clear();
	if (part.width < 3 || part.height < 3)
		return;
	cv::Mat mask = cv::Mat::zeros(part.size(), CV_8U);
	for (auto &p : poly)
		p -= part.tl();
	cv::fillConvexPoly(mask, poly, cv::Scalar(255));
	cv::goodFeaturesToTrack(t->grey(part), t->pts, TRACK_CORNERS, 0.01,
	    TRACK_SPACING, mask);
	for (auto &p : t->pts)
		p += cv::Point2f((float)part.x, (float)part.y);
}

extern "C" struct cv_track *
cv_track_new(const struct cv_bgr *b, const double box[8])
{
	struct cv_track *t = nullptr;
	int r;

	if (shim_bgr_check(b, "tracking") == -1)
		return nullptr;
	r = shim_guard("tracking", [&] {
		t = new cv_track();
		t->sx = (double)b->pw / b->w;
		t->sy = (double)b->ph / b->h;
		memcpy(t->box, box, sizeof t->box);
		to_grey(b, t->grey);
		t->motion = cv::Mat::eye(3, 3, CV_64F);
		seed(t);
		return 0;
	});
	if (r == -1) {
		delete t;
		return nullptr;
	}
	return t;
}

extern "C" int
cv_track_count(const struct cv_track *t)
{
	return (int)t->pts.size();
}

extern "C" int
cv_track_step(struct cv_track *t, const struct cv_bgr *b, int min,
    double box[8], double *agree)
{
	int found = 0;

	*agree = 0;
	if (shim_bgr_check(b, "tracking") == -1)
		return -1;
	if ((double)b->pw / b->w != t->sx || (double)b->ph / b->h != t->sy)
		return pm_fail("tracking: pictures of another size");
	if ((int)t->pts.size() < min)
		return 0;
	int r = shim_guard("tracking", [&] {
		cv::Mat grey;
		to_grey(b, grey);

		/* where the corners go if the product moves on as it did
		 * (or stays), and the part of the pictures around both */
		std::vector<cv::Point2f> p0(t->pts), p1, back, all;
		cv::perspectiveTransform(p0, p1, t->motion);
		all = p0;
		all.insert(all.end(), p1.begin(), p1.end());
		cv::Rect br = cv::boundingRect(all);
		int reach = std::max(TRACK_REACH, std::max(br.width,
		    br.height) / 4);
		cv::Rect part = cv::Rect(br.x - reach, br.y - reach,
		    br.width + 2 * reach, br.height + 2 * reach) &
		    cv::Rect(0, 0, grey.cols, grey.rows);
		cv::Point2f o((float)part.x, (float)part.y);
		for (size_t i = 0; i < p0.size(); i++) {
			p0[i] -= o;
			p1[i] -= o;
		}
		std::vector<uchar> st, stb;
		std::vector<float> err;
		cv::Mat a = t->grey(part), z = grey(part);
		cv::TermCriteria tc(cv::TermCriteria::COUNT |
		    cv::TermCriteria::EPS, 30, 0.01);
		int lv = levels(t);
		cv::calcOpticalFlowPyrLK(a, z, p0, p1, st, err,
		    cv::Size(TRACK_WIN, TRACK_WIN), lv, tc,
		    cv::OPTFLOW_USE_INITIAL_FLOW);
		back = p0;
		cv::calcOpticalFlowPyrLK(z, a, p1, back, stb, err,
		    cv::Size(TRACK_WIN, TRACK_WIN), lv, tc,
		    cv::OPTFLOW_USE_INITIAL_FLOW);

		std::vector<cv::Point2f> from, to;
		for (size_t i = 0; i < p0.size(); i++) {
			cv::Point2f d = back[i] - p0[i];

			if (st[i] && stb[i] && d.dot(d) <= TRACK_FB * TRACK_FB) {
				from.push_back(p0[i] + o);
				to.push_back(p1[i] + o);
			}
		}
		int need = std::max(min, (int)std::ceil(TRACK_AGREE *
		    p0.size()));
		if (from.size() < 4)
			return 0;
		std::vector<uchar> in;
		cv::Mat H = cv::findHomography(from, to, cv::RANSAC,
		    TRACK_REPROJ, in);
		if (H.empty())
			return 0;
		*agree = (double)cv::countNonZero(in) / p0.size();
		if (cv::countNonZero(in) < need)
			return 0;

		/* the box moved, in image pixels */
		double nb[8];
		std::vector<cv::Point2f> c(4), m;
		for (int i = 0; i < 4; i++)
			c[i] = cv::Point2f((float)(t->box[2 * i] * t->sx),
			    (float)(t->box[2 * i + 1] * t->sy));
		cv::perspectiveTransform(c, m, H);
		for (int i = 0; i < 4; i++) {
			nb[2 * i] = m[i].x / t->sx;
			nb[2 * i + 1] = m[i].y / t->sy;
		}
		double a0 = quad_area(t->box), a1 = quad_area(nb);
		if (!cv::isContourConvex(m) || !(a1 > 0) ||
		    a1 > a0 * TRACK_GROWTH || a1 * TRACK_GROWTH < a0)
			return 0;

		memcpy(t->box, nb, sizeof t->box);
		memcpy(box, nb, sizeof t->box);
		t->grey = grey;
		t->motion = H;
		seed(t);
		found = 1;
		return 0;
	});
	if (r == -1)
		return -1;
	if (!found)
		t->pts.clear();
	return found;
}

extern "C" void
cv_track_free(struct cv_track *t)
{
	delete t;
}
