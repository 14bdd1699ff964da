/*
 * shim.h: what the C++ files of pm's OpenCV shim share (C++ only; the
 * rest of pm sees cv.h).
 */
#ifndef PM_SHIM_H
#define PM_SHIM_H

#include <new>
#include <stdexcept>

#include <opencv2/core.hpp>

#include "cv.h"

extern "C" {
#include "err.h"
#include "imghdr.h"
}

/*
 * Once per process, before any other OpenCV call of the shim: switch
 * off OpenCV's thread pool, OpenCL and log output.  pm runs records on
 * its own threads, so each OpenCV call runs on its caller's thread, and
 * its results cannot depend on how many threads there are.
 */
void	 shim_init();

/*
 * Run f (returning 0 or -1), turning any C++ exception into -1 with
 * pm_why() set to "what: reason".
 */
template <class F> int
shim_guard(const char *what, F f)
{
	try {
		shim_init();
		return f();
	} catch (const cv::Exception &e) {
		return pm_fail("%s: opencv: %s", what, e.err.c_str());
	} catch (const std::bad_alloc &) {
		return pm_fail("%s: out of memory", what);
	} catch (const std::exception &e) {
		return pm_fail("%s: %s", what, e.what());
	} catch (...) {
		return pm_fail("%s: unknown C++ exception", what);
	}
}

/*
 * Check a picture handed in (cv.h's struct cv_bgr): its pixels within
 * the image it shows and within imghdr.h's limits, its rows far enough
 * apart.  -1 with pm_why() set to "what: ..." if not.
 */
int	 shim_bgr_check(const struct cv_bgr *, const char *what);

/*
 * Decode an image, header checked first (imghdr.h), to 8-bit gray
 * (channels 1) or BGR (channels 3).  Transparent pixels are composited
 * over white; when alpha is given it receives the alpha channel (empty
 * when the image has none).
 */
int	 shim_decode(const void *p, size_t n, int channels, cv::Mat &out,
	    cv::Mat *alpha = nullptr, struct imghdr *hdr = nullptr);

/*
 * The same in BGR, for a picture that needs only min_side pixels on its
 * longer side: a JPEG is decoded at a half, a quarter or an eighth of
 * its size when that leaves enough (libjpeg scales as it decodes, in a
 * fraction of the time).  *w and *h are the image's own size, as
 * displayed.
 */
int	 shim_decode_small(const void *p, size_t n, int min_side,
	    cv::Mat &out, int *w, int *h);

#endif
