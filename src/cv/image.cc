/*
 * image.cc: decode and encode images with OpenCV, behind cv.h.
 */
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/ocl.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cv.h"
#include "shim.h"

void
shim_init()
{
	static std::once_flag once;

	std::call_once(once, [] {
		cv::setNumThreads(1);
		cv::ocl::setUseOpenCL(false);
		cv::utils::logging::setLogLevel(
		    cv::utils::logging::LOG_LEVEL_SILENT);
	});
}

int
shim_bgr_check(const struct cv_bgr *b, const char *what)
{
	if (b->pw < 1 || b->ph < 1 || b->w < b->pw || b->h < b->ph ||
	    b->w > IMG_MAX_SIDE || b->h > IMG_MAX_SIDE ||
	    (long)b->w * b->h > IMG_MAX_PIXELS ||
	    b->stride < (size_t)b->pw * 3)
		return pm_fail("%s: a picture of %dx%d pixels, rows %zu bytes "
		    "apart, of %dx%d", what, b->pw, b->ph, b->stride, b->w,
		    b->h);
	return 0;
}

/* Bring a decoded image of any depth and channel count to 8 bits and
 * the channels asked for, alpha composited over white. */
static int
normalise(cv::Mat &m, int channels, cv::Mat *alpha)
{
	cv::Mat a;

	switch (m.depth()) {
	case CV_8U:
		break;
	case CV_16U:
		m.convertTo(m, CV_8U, 1.0 / 257);
		break;
	case CV_32F:
		m.convertTo(m, CV_8U, 255);
		break;
	default:
		return pm_fail("unsupported sample type (OpenCV depth %d)",
		    m.depth());
	}
	if (m.channels() == 2 || m.channels() == 4) {
		int cn = m.channels() - 1, x, y, k;
		cv::Mat c(m.rows, m.cols, CV_8UC(cn));
		bool opaque = true;

		a.create(m.rows, m.cols, CV_8U);
		for (y = 0; y < m.rows; y++) {
			const unsigned char *s = m.ptr(y);
			unsigned char *d = c.ptr(y), *ap = a.ptr(y);

			for (x = 0; x < m.cols; x++, s += cn + 1, d += cn) {
				unsigned al = s[cn];

				ap[x] = (unsigned char)al;
				opaque = opaque && al == 255;
				for (k = 0; k < cn; k++)
					d[k] = (unsigned char)((s[k] * al +
					    255 * (255 - al) + 127) / 255);
			}
		}
		m = c;
		if (opaque)
			a.release();
	} else if (m.channels() != 1 && m.channels() != 3)
		return pm_fail("unsupported image: %d channels", m.channels());
	if (channels == 1 && m.channels() == 3)
		cv::cvtColor(m, m, cv::COLOR_BGR2GRAY);
	else if (channels == 3 && m.channels() == 1)
		cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
	if (alpha != nullptr)
		*alpha = a;
	return 0;
}

int
shim_decode(const void *p, size_t n, int channels, cv::Mat &out,
    cv::Mat *alpha, struct imghdr *hdr)
{
	struct imghdr h;
	int flags;

	if (imghdr_read(p, n, &h) == -1)
		return -1;
	if (hdr != nullptr)
		*hdr = h;
	if (n > INT_MAX)
		return pm_fail("%s image too large: %zu bytes", h.format, n);
	/* Only JPEG carries an orientation OpenCV applies; the formats
	 * that may have alpha are read unchanged, to composite it. */
	if (strcmp(h.format, "png") == 0 || strcmp(h.format, "webp") == 0 ||
	    strcmp(h.format, "tiff") == 0)
		flags = cv::IMREAD_UNCHANGED;
	else
		flags = channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
	cv::Mat buf(1, (int)n, CV_8U, const_cast<void *>(p));
	out = cv::imdecode(buf, flags);
	if (out.empty())
		return pm_fail("cannot decode %s image: damaged or truncated",
		    h.format);
	if (!(out.cols == h.w && out.rows == h.h) &&
	    !(out.cols == h.h && out.rows == h.w))
		return pm_fail("%s image decodes to %dx%d pixels, its header "
		    "says %dx%d", h.format, out.cols, out.rows, h.w, h.h);
	return normalise(out, channels, alpha);
}

int
shim_decode_small(const void *p, size_t n, int min_side, cv::Mat &out,
    int *w, int *h)
{
	static const struct {
		int	 f, flag;
	} red[] = {
		{ 8, cv::IMREAD_REDUCED_COLOR_8 },
		{ 4, cv::IMREAD_REDUCED_COLOR_4 },
		{ 2, cv::IMREAD_REDUCED_COLOR_2 },
	};
	struct imghdr hd;

	if (imghdr_read(p, n, &hd) == -1)
		return -1;
	if (strcmp(hd.format, "jpeg") == 0 && n <= INT_MAX && min_side > 0)
		for (const auto &r : red) {
			/* libjpeg's scaled size */
			int sw = (hd.w + r.f - 1) / r.f;
			int sh = (hd.h + r.f - 1) / r.f;

			if (std::max(sw, sh) < min_side)
				continue;
			cv::Mat buf(1, (int)n, CV_8U, const_cast<void *>(p));
			out = cv::imdecode(buf, r.flag);
			if (out.cols == sw && out.rows == sh) {
				*w = hd.w;
				*h = hd.h;
			} else if (out.cols == sh && out.rows == sw) {
				*w = hd.h;
				*h = hd.w;
			} else
				return pm_fail("jpeg image decodes to %dx%d "
				    "pixels at 1/%d, its header says %dx%d",
				    out.cols, out.rows, r.f, hd.w, hd.h);
			return normalise(out, 3, nullptr);
		}
	if (shim_decode(p, n, 3, out) == -1)
		return -1;
	*w = out.cols;
	*h = out.rows;
	return 0;
}

extern "C" int
cv_image_probe(const void *p, size_t n, int *w, int *h)
{
	*w = *h = 0;
	return shim_guard("image", [&] {
		cv::Mat m;

		if (shim_decode(p, n, 1, m) == -1)
			return -1;
		*w = m.cols;
		*h = m.rows;
		return 0;
	});
}

extern "C" int
cv_image_decode(const void *p, size_t n, int channels, unsigned char **pix,
    int *w, int *h)
{
	*pix = nullptr;
	*w = *h = 0;
	if (channels != 1 && channels != 3)
		return pm_fail("image: %d channels asked for", channels);
	return shim_guard("image", [&] {
		cv::Mat m;
		size_t len;

		if (shim_decode(p, n, channels, m) == -1)
			return -1;
		len = m.total() * m.elemSize();
		*pix = static_cast<unsigned char *>(pm_malloc(len));
		/* imdecode's result is continuous */
		memcpy(*pix, m.ptr(), len);
		*w = m.cols;
		*h = m.rows;
		return 0;
	});
}

extern "C" int
cv_jpeg_encode(const unsigned char *pix, int w, int h, int channels,
    size_t stride, int quality, unsigned char **out, size_t *outlen)
{
	*out = nullptr;
	*outlen = 0;
	if (w < 1 || h < 1 || w > IMG_MAX_SIDE || h > IMG_MAX_SIDE ||
	    (channels != 1 && channels != 3) ||
	    stride < (size_t)w * channels || quality < 1 || quality > 100)
		return pm_fail("jpeg: bad image %dx%dx%d, stride %zu, "
		    "quality %d", w, h, channels, stride, quality);
	return shim_guard("jpeg", [&] {
		cv::Mat m(h, w, channels == 1 ? CV_8UC1 : CV_8UC3,
		    const_cast<unsigned char *>(pix), stride);
		std::vector<unsigned char> buf;
		std::vector<int> params{ cv::IMWRITE_JPEG_QUALITY, quality };

		if (!cv::imencode(".jpg", m, buf, params) || buf.empty())
			return pm_fail("jpeg: cannot encode");
		*out = static_cast<unsigned char *>(pm_malloc(buf.size()));
		memcpy(*out, buf.data(), buf.size());
		*outlen = buf.size();
		return 0;
	});
}
