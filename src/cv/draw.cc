/*
 * draw.cc: the evidence picture and thumbnails, behind draw.h.
 */
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "draw.h"
#include "shim.h"

/* BGR colours: the outline is pure green with a black rim, so it shows
 * on any background; the lines take turns through colours that are not
 * green, so they never pass for the outline. */
static const cv::Scalar OUTLINE(0, 255, 0);
static const cv::Scalar RIM(0, 0, 0);
static const cv::Scalar BAND(40, 40, 40);
static const cv::Scalar TEXT(255, 255, 255);
static const cv::Scalar PALETTE[] = {
	{ 255, 255, 0 }, { 255, 0, 255 }, { 0, 255, 255 }, { 0, 140, 255 },
	{ 255, 128, 64 }, { 160, 96, 255 }, { 64, 64, 255 }, { 255, 192, 192 },
};

#define SHIFT	4			/* sub-pixel bits of the drawing calls */
#define ONE	(1 << SHIFT)

static cv::Point
fixpt(double x, double y)
{
	return cv::Point((int)std::lround(x * ONE), (int)std::lround(y * ONE));
}

/* Copy a string of the caller, bytes outside printable ASCII as '?'
 * (OpenCV's Hershey fonts have nothing else). */
static std::string
ascii(const char *s)
{
	std::string r(s != nullptr ? s : "");

	for (auto &c : r)
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
			c = '?';
	return r;
}

struct font {
	int	 face = cv::FONT_HERSHEY_SIMPLEX;
	double	 scale;
	int	 thick;
	int	 height;		/* pixels above the baseline */
};

static int
text_width(const font &f, const std::string &s)
{
	int base;

	return cv::getTextSize(s, f.face, f.scale, f.thick, &base).width;
}

/* s shortened with "..." to at most avail pixels (possibly to "..."). */
static std::string
fit(const font &f, const std::string &s, int avail)
{
	size_t n;

	if (text_width(f, s) <= avail)
		return s;
	/* a Hershey glyph is at least a third of the height wide */
	n = std::min(s.size(), (size_t)std::max(0, 3 * avail / f.height));
	for (; n > 0; n--)
		if (text_width(f, s.substr(0, n) + "...") <= avail)
			break;
	return s.substr(0, n) + "...";
}

extern "C" void
cv_evidence_layout(int cw, int ch, int fw, int fh, int width, int *catw,
    int *sep, int *frw, int *panelh)
{
	/* the catalog image's width at the frame's height */
	double a = (double)cw * fh / ch, s;
	long c;
	int avail;

	*sep = std::max(2, width / 320);
	avail = width - *sep;
	s = avail / (a + fw);
	c = std::lround(a * s);
	*panelh = (int)std::max(1L, std::lround(fh * s));
	*catw = (int)std::min((long)avail - 1, std::max(1L, c));
	*frw = avail - *catw;
}

static int
draw(const struct cv_evidence *e, std::vector<unsigned char> &jpeg, int *ow,
    int *oh)
{
	cv::Mat cat, fr;
	int catw, sep, frw, ph, k;

	if (e->width < 64 || e->width > IMG_MAX_SIDE || e->quality < 1 ||
	    e->quality > 100)
		return pm_fail("width %d or quality %d out of range", e->width,
		    e->quality);
	if (shim_decode(e->cat, e->catlen, 3, cat) == -1) {
		std::string why = pm_why();

		return pm_fail("catalog image: %s", why.c_str());
	}
	if (shim_decode(e->frame, e->framelen, 3, fr) == -1) {
		std::string why = pm_why();

		return pm_fail("frame: %s", why.c_str());
	}
	for (k = 0; k < 4; k++) {
		double x = e->box[2 * k], y = e->box[2 * k + 1];

		if (!std::isfinite(x) || !std::isfinite(y) || x < -fr.cols ||
		    x > 2.0 * fr.cols || y < -fr.rows || y > 2.0 * fr.rows)
			return pm_fail("box corner %d (%g, %g) far outside the "
			    "%dx%d frame", k + 1, x, y, fr.cols, fr.rows);
	}
	cv_evidence_layout(cat.cols, cat.rows, fr.cols, fr.rows, e->width,
	    &catw, &sep, &frw, &ph);

	/* the text's height grows with the picture, within legible bounds */
	font f;
	f.height = std::max(12, e->width / 64);
	f.scale = f.height / 22.0;	/* Hershey simplex: 22 pixels at 1 */
	f.thick = std::max(1, (int)std::lround(f.height / 11.0));
	int pad = f.height * 4 / 5, gap = f.height * 9 / 10;
	int bandh = 2 * pad + EVIDENCE_LINES * f.height +
	    (EVIDENCE_LINES - 1) * gap;
	if ((long)ph + bandh > IMG_MAX_SIDE)
		return pm_fail("picture of %dx%d pixels too tall", e->width,
		    ph + bandh);

	cv::Mat pic(ph + bandh, e->width, CV_8UC3, BAND);
	cv::Mat left = pic(cv::Rect(0, 0, catw, ph));
	cv::Mat right = pic(cv::Rect(catw + sep, 0, frw, ph));
	cv::resize(cat, left, left.size(), 0, 0,
	    catw < cat.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
	cv::resize(fr, right, right.size(), 0, 0,
	    frw < fr.cols ? cv::INTER_AREA : cv::INTER_LINEAR);

	/* pixel centres map to pixel centres */
	double csx = (double)catw / cat.cols, csy = (double)ph / cat.rows;
	double fsx = (double)frw / fr.cols, fsy = (double)ph / fr.rows;
	int thick = std::max(2, e->width / 320);
	int lthick = e->width >= 1600 ? 2 : 1;
	int dot = std::max(2, thick / 2 + 1);

	cv::Mat panel = pic(cv::Rect(0, 0, e->width, ph));
	for (k = 0; k < e->npairs; k++) {
		const float *q = e->pairs + 4 * k;

		if (!std::isfinite(q[0]) || !std::isfinite(q[1]) ||
		    !std::isfinite(q[2]) || !std::isfinite(q[3]))
			continue;
		cv::Point a = fixpt((q[0] + 0.5) * csx - 0.5,
		    (q[1] + 0.5) * csy - 0.5);
		cv::Point b = fixpt(catw + sep + (q[2] + 0.5) * fsx - 0.5,
		    (q[3] + 0.5) * fsy - 0.5);
		const cv::Scalar &c = PALETTE[k % (sizeof PALETTE /
		    sizeof PALETTE[0])];

		cv::line(panel, a, b, c, lthick, cv::LINE_AA, SHIFT);
		cv::circle(panel, a, dot * ONE, c, lthick, cv::LINE_AA, SHIFT);
		cv::circle(panel, b, dot * ONE, c, lthick, cv::LINE_AA, SHIFT);
	}

	std::vector<cv::Point> box(4);
	for (k = 0; k < 4; k++)
		box[k] = fixpt((e->box[2 * k] + 0.5) * fsx - 0.5,
		    (e->box[2 * k + 1] + 0.5) * fsy - 0.5);
	const cv::Point *pts = box.data();
	int npts = 4;
	cv::polylines(right, &pts, &npts, 1, true, RIM, thick + 2,
	    cv::LINE_AA, SHIFT);
	cv::polylines(right, &pts, &npts, 1, true, OUTLINE, thick,
	    cv::LINE_AA, SHIFT);

	int avail = e->width - 2 * pad;
	for (k = 0; k < EVIDENCE_LINES; k++) {
		std::string l = ascii(e->left[k]), r = ascii(e->right[k]);
		int y = ph + pad + (k + 1) * f.height + k * gap;

		r = fit(f, r, avail);
		int rw = r.empty() ? 0 : text_width(f, r);
		l = fit(f, l, avail - rw - (r.empty() ? 0 : f.height));
		cv::putText(pic, l, cv::Point(pad, y), f.face, f.scale, TEXT,
		    f.thick, cv::LINE_AA);
		if (!r.empty())
			cv::putText(pic, r, cv::Point(e->width - pad - rw, y),
			    f.face, f.scale, TEXT, f.thick, cv::LINE_AA);
	}

	std::vector<int> params{ cv::IMWRITE_JPEG_QUALITY, e->quality };
	if (!cv::imencode(".jpg", pic, jpeg, params) || jpeg.empty())
		return pm_fail("jpeg: cannot encode");
	*ow = pic.cols;
	*oh = pic.rows;
	return 0;
}

static unsigned char *
copyout(const std::vector<unsigned char> &v, size_t *len)
{
	unsigned char *p = static_cast<unsigned char *>(pm_malloc(v.size()));

	memcpy(p, v.data(), v.size());
	*len = v.size();
	return p;
}

extern "C" int
cv_evidence_draw(const struct cv_evidence *e, unsigned char **jpeg,
    size_t *len, int *w, int *h)
{
	*jpeg = nullptr;
	*len = 0;
	*w = *h = 0;
	return shim_guard("evidence", [&] {
		std::vector<unsigned char> buf;

		if (draw(e, buf, w, h) == -1)
			return -1;
		*jpeg = copyout(buf, len);
		return 0;
	});
}

extern "C" int
cv_box_homography(int cw, int ch, const double box[8], double H[9])
{
	return shim_guard("outline", [&] {
		cv::Point2f src[4] = {
			{ -0.5f, -0.5f }, { cw - 0.5f, -0.5f },
			{ cw - 0.5f, ch - 0.5f }, { -0.5f, ch - 0.5f }
		}, dst[4];
		int k;

		if (cw < 1 || ch < 1)
			return pm_fail("outline: empty image");
		for (k = 0; k < 4; k++)
			dst[k] = cv::Point2f((float)box[2 * k],
			    (float)box[2 * k + 1]);
		cv::Mat m = cv::getPerspectiveTransform(src, dst, cv::DECOMP_LU);
		if (m.empty() || m.type() != CV_64F)
			return pm_fail("outline: no homography");
		for (k = 0; k < 9; k++) {
			H[k] = m.at<double>(k / 3, k % 3);
			if (!std::isfinite(H[k]))
				return pm_fail("outline: degenerate");
		}
		if (H[8] == 0)
			return pm_fail("outline: degenerate");
		return 0;
	});
}

extern "C" int
cv_thumbnail(const void *p, size_t n, int maxside, int quality,
    unsigned char **jpeg, size_t *len, int *w, int *h)
{
	*jpeg = nullptr;
	*len = 0;
	*w = *h = 0;
	if (maxside < 1 || quality < 1 || quality > 100)
		return pm_fail("thumbnail: side %d or quality %d out of range",
		    maxside, quality);
	return shim_guard("thumbnail", [&] {
		cv::Mat m;
		std::vector<unsigned char> buf;
		std::vector<int> params{ cv::IMWRITE_JPEG_QUALITY, quality };
		int side;

		if (shim_decode(p, n, 3, m) == -1)
			return -1;
		side = std::max(m.cols, m.rows);
		if (side > maxside) {
			double s = (double)maxside / side;
			cv::Size sz(std::max(1, (int)std::lround(m.cols * s)),
			    std::max(1, (int)std::lround(m.rows * s)));

			cv::resize(m, m, sz, 0, 0, cv::INTER_AREA);
		}
		if (!cv::imencode(".jpg", m, buf, params) || buf.empty())
			return pm_fail("jpeg: cannot encode");
		*jpeg = copyout(buf, len);
		*w = m.cols;
		*h = m.rows;
		return 0;
	});
}
