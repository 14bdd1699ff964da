/*
 * colour.cc: do a catalog image's colours agree with a frame's where a
 * homography puts the image, behind cv.h.
 *
 * Local features are found in grey levels, so a product and a copy of
 * it in other colours (another flavour, another edition) verify alike.
 * Their colours tell them apart: compared in log-chromaticity, where a
 * change of light or white balance is a shift that correlation ignores,
 * and only where the inliers show the product is (not over an occluder
 * or beyond the frame's edge).
 */
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "cv.h"
#include "shim.h"

struct cv_colours {
	cv::Mat		 bgr;		/* small, CV_8UC3 */
	int		 w, h;		/* the image's own size */
};

/* The colours of m, a picture of an image of w x h pixels, at most
 * max_side pixels a side. */
static struct cv_colours *
colours(const cv::Mat &m, int w, int h, int max_side)
{
	struct cv_colours *c = new cv_colours();

	c->w = w;
	c->h = h;
	if (max_side > 0 && std::max(m.cols, m.rows) > max_side) {
		double s = (double)max_side / std::max(w, h);
		cv::Size sz(std::max(1, (int)lround(w * s)),
		    std::max(1, (int)lround(h * s)));

		cv::resize(m, c->bgr, sz, 0, 0, cv::INTER_AREA);
	} else
		c->bgr = m.clone();
	return c;
}

extern "C" struct cv_colours *
cv_colours_new(const void *img, size_t n, int max_side)
{
	struct cv_colours *c = nullptr;
	int r;

	r = shim_guard("colours", [&] {
		cv::Mat m;
		int w, h;

		if (shim_decode_small(img, n, max_side, m, &w, &h) == -1)
			return -1;
		c = colours(m, w, h, max_side);
		return 0;
	});
	if (r == -1) {
		delete c;
		return nullptr;
	}
	return c;
}

extern "C" struct cv_colours *
cv_colours_bgr(const struct cv_bgr *b, int max_side)
{
	struct cv_colours *c = nullptr;
	int r;

	if (shim_bgr_check(b, "colours") == -1)
		return nullptr;
	r = shim_guard("colours", [&] {
		cv::Mat m(b->ph, b->pw, CV_8UC3,
		    const_cast<unsigned char *>(b->pix), b->stride);

		c = colours(m, b->w, b->h, max_side);
		return 0;
	});
	if (r == -1) {
		delete c;
		return nullptr;
	}
	return c;
}

extern "C" void
cv_colours_free(struct cv_colours *c)
{
	delete c;
}

extern "C" size_t
cv_colours_bytes(const struct cv_colours *c)
{
	return c->bgr.total() * c->bgr.elemSize() + sizeof *c;
}

/* A pixel's log-chromaticity, or false when a channel is too dark to
 * have a colour or clipped. */
static bool
chroma(const unsigned char *p, double &c1, double &c2)
{
	int hi = std::max(p[0], std::max(p[1], p[2]));

	if (hi < 24 || hi > 250)
		return false;
	/* B, G, R */
	c1 = std::log((p[2] + 4.0) / (p[1] + 4.0));
	c2 = std::log((p[0] + 4.0) / (p[1] + 4.0));
	return true;
}

/* The frame's colour at (x, y) of its small picture, bilinear. */
static bool
sample(const cv::Mat &m, double x, double y, unsigned char out[3])
{
	if (!(x >= 0 && y >= 0 && x <= m.cols - 1 && y <= m.rows - 1))
		return false;
	int x0 = std::min((int)x, std::max(0, m.cols - 2));
	int y0 = std::min((int)y, std::max(0, m.rows - 2));
	int x1 = std::min(x0 + 1, m.cols - 1);
	int y1 = std::min(y0 + 1, m.rows - 1);
	double fx = x - x0, fy = y - y0;
	const cv::Vec3b &a = m.at<cv::Vec3b>(y0, x0);
	const cv::Vec3b &b = m.at<cv::Vec3b>(y0, x1);
	const cv::Vec3b &c = m.at<cv::Vec3b>(y1, x0);
	const cv::Vec3b &d = m.at<cv::Vec3b>(y1, x1);

	for (int k = 0; k < 3; k++)
		out[k] = (unsigned char)lround((1 - fy) * ((1 - fx) * a[k] +
		    fx * b[k]) + fy * ((1 - fx) * c[k] + fx * d[k]));
	return true;
}

static int
agree(const cv_colours &cat, const cv_colours &fr, const double *H,
    const float *pairs, int npairs, struct cv_colour_cmp *out)
{
	if (npairs < 3)
		return 0;

	/* where the inliers show the product: their catalog points' hull,
	 * in the catalog's small picture */
	double csx = (double)cat.bgr.cols / cat.w;
	double csy = (double)cat.bgr.rows / cat.h;
	double fsx = (double)fr.bgr.cols / fr.w;
	double fsy = (double)fr.bgr.rows / fr.h;
	std::vector<cv::Point2f> pts(npairs), hull;
	for (int i = 0; i < npairs; i++)
		pts[i] = cv::Point2f((float)((pairs[4 * i] + 0.5) * csx - 0.5),
		    (float)((pairs[4 * i + 1] + 0.5) * csy - 0.5));
	cv::convexHull(pts, hull);
	if (hull.size() < 3)
		return 0;

	std::vector<double> a1, a2, b1, b2;
	for (int v = 0; v < cat.bgr.rows; v++) {
		const unsigned char *row = cat.bgr.ptr(v);

		for (int u = 0; u < cat.bgr.cols; u++) {
			double x, y, w, fx, fy, p1, p2, q1, q2;
			unsigned char fp[3];

			if (cv::pointPolygonTest(hull, cv::Point2f((float)u,
			    (float)v), false) < 0)
				continue;
			if (!chroma(row + 3 * u, p1, p2))
				continue;
			/* catalog pixels, then the frame's, then its small
			 * picture's */
			x = (u + 0.5) / csx - 0.5;
			y = (v + 0.5) / csy - 0.5;
			w = H[6] * x + H[7] * y + H[8];
			if (!(w > 1e-9))
				continue;
			fx = ((H[0] * x + H[1] * y + H[2]) / w + 0.5) * fsx -
			    0.5;
			fy = ((H[3] * x + H[4] * y + H[5]) / w + 0.5) * fsy -
			    0.5;
			if (!sample(fr.bgr, fx, fy, fp) || !chroma(fp, q1, q2))
				continue;
			a1.push_back(p1);
			a2.push_back(p2);
			b1.push_back(q1);
			b2.push_back(q2);
		}
	}
	size_t n = a1.size();
	out->n = (int)n;
	if (n < 32)
		return 0;

	/* the colours' agreement as 2-vectors: their correlation after
	 * the mean shift, and the shift */
	double ma[2] = { 0, 0 }, mb[2] = { 0, 0 }, saa = 0, sbb = 0, sab = 0;
	for (size_t i = 0; i < n; i++) {
		ma[0] += a1[i];
		ma[1] += a2[i];
		mb[0] += b1[i];
		mb[1] += b2[i];
	}
	for (int k = 0; k < 2; k++) {
		ma[k] /= n;
		mb[k] /= n;
	}
	for (size_t i = 0; i < n; i++) {
		double x1 = a1[i] - ma[0], x2 = a2[i] - ma[1];
		double y1 = b1[i] - mb[0], y2 = b2[i] - mb[1];

		saa += x1 * x1 + x2 * x2;
		sbb += y1 * y1 + y2 * y2;
		sab += x1 * y1 + x2 * y2;
	}
	out->var = saa / n;
	out->shift = std::hypot(mb[0] - ma[0], mb[1] - ma[1]);
	/* a grey product has no colours to compare */
	if (out->var < CV_COLOUR_MINVAR)
		return 0;
	out->rho = sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
	out->agree = std::max(-1.0, out->rho -
	    std::max(0.0, out->shift - CV_COLOUR_SHIFT));
	return 0;
}

extern "C" int
cv_colour_agree(const struct cv_colours *cat, const struct cv_colours *frame,
    const double H[9], const float *pairs, int npairs,
    struct cv_colour_cmp *out)
{
	out->agree = out->rho = out->shift = out->var = NAN;
	out->n = 0;
	return shim_guard("colours", [&] {
		return agree(*cat, *frame, H, pairs, npairs, out);
	});
}
