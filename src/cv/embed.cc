/*
 * embed.cc: global image vectors with OpenCV, behind embed.h: the
 * colour and texture histogram, and networks through the dnn module.
 */
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "cv.h"
#include "embed.h"
#include "shim.h"

/* Decode an image for a vector: BGR, and no smaller than CV_MIN_SIDE. */
static int
decode(const void *p, size_t n, cv::Mat &bgr)
{
	if (shim_decode(p, n, 3, bgr) == -1)
		return -1;
	if (bgr.cols < CV_MIN_SIDE || bgr.rows < CV_MIN_SIDE)
		return pm_fail("image too small: %dx%d pixels, a vector needs "
		    "%d on each side", bgr.cols, bgr.rows, CV_MIN_SIDE);
	return 0;
}

/* Scale to w x h: by area when shrinking (no aliasing), else bilinear. */
static void
scale(const cv::Mat &src, cv::Mat &dst, int w, int h)
{
	if (src.cols == w && src.rows == h) {
		dst = src;
		return;
	}
	cv::resize(src, dst, cv::Size(w, h), 0, 0,
	    w <= src.cols && h <= src.rows ? cv::INTER_AREA : cv::INTER_LINEAR);
}

/*
 * Share weight between bins i and i+1 of a histogram of n bins, for a
 * position x in bin units (bin i centred at i + 0.5); wrap or clamp at
 * the ends.
 */
static inline void
soft(double x, int n, bool wrap, int *i0, int *i1, double *w1)
{
	double b = x - 0.5, f;
	int i = (int)std::floor(b);

	f = b - i;
	if (wrap) {
		*i0 = (i + n) % n;
		*i1 = (i + 1) % n;
		*w1 = f;
	} else if (i < 0) {
		*i0 = *i1 = 0;
		*w1 = 0;
	} else if (i >= n - 1) {
		*i0 = *i1 = n - 1;
		*w1 = 0;
	} else {
		*i0 = i;
		*i1 = i + 1;
		*w1 = f;
	}
}

static int
colour(const cv::Mat &img, float *v)
{
	const int side = 256, nh = 8, ns = 4, nv = 4;
	const int cb = CV_COLOUR_BINS, gb = CV_GRAD_BINS, cell = cb + gb;
	const double wtex = 0.7;
	cv::Mat small, hsv, gray, dx, dy;
	int w, h, x, y, c;

	if (img.cols >= img.rows) {
		w = side;
		h = std::max(1, (int)std::lround((double)side * img.rows / img.cols));
	} else {
		h = side;
		w = std::max(1, (int)std::lround((double)side * img.cols / img.rows));
	}
	scale(img, small, w, h);
	cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV_FULL);
	cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
	cv::Sobel(gray, dx, CV_32F, 1, 0, 3);
	cv::Sobel(gray, dy, CV_32F, 0, 1, 3);

	std::vector<double> hist((size_t)CV_COLOUR_CELLS * cell, 0.0);
	for (y = 0; y < h; y++) {
		const cv::Vec3b *hp = hsv.ptr<cv::Vec3b>(y);
		const float *gx = dx.ptr<float>(y), *gy = dy.ptr<float>(y);
		int qy = y * 2 / h;

		for (x = 0; x < w; x++) {
			int cells[2] = { 0, 1 + qy * 2 + x * 2 / w };
			int h0, h1, s0, s1, v0, v1, o0, o1;
			double hw, sw, vw, ow, mag, ang;

			soft(hp[x][0] * nh / 256.0, nh, true, &h0, &h1, &hw);
			soft(hp[x][1] * ns / 256.0, ns, false, &s0, &s1, &sw);
			soft(hp[x][2] * nv / 256.0, nv, false, &v0, &v1, &vw);
			mag = std::sqrt((double)gx[x] * gx[x] + (double)gy[x] * gy[x]);
			ang = std::atan2((double)gy[x], (double)gx[x]);
			if (ang < 0)
				ang += M_PI;
			if (ang >= M_PI)
				ang -= M_PI;
			soft(ang * gb / M_PI, gb, true, &o0, &o1, &ow);
			for (c = 0; c < 2; c++) {
				double *hc = hist.data() + (size_t)cells[c] * cell;
				const int hi[2] = { h0, h1 }, si[2] = { s0, s1 },
				    vi[2] = { v0, v1 };
				const double hf[2] = { 1 - hw, hw },
				    sf[2] = { 1 - sw, sw }, vf[2] = { 1 - vw, vw };

				for (int a = 0; a < 2; a++)
					for (int b = 0; b < 2; b++)
						for (int d = 0; d < 2; d++)
							hc[(hi[a] * ns + si[b]) * nv + vi[d]] +=
							    hf[a] * sf[b] * vf[d];
				hc[cb + o0] += mag * (1 - ow);
				hc[cb + o1] += mag * ow;
			}
		}
	}
	for (c = 0; c < CV_COLOUR_CELLS; c++) {
		double *hc = hist.data() + (size_t)c * cell;
		double level = c == 0 ? 1.0 : 0.5, sc = 0, sg = 0;
		int i;

		for (i = 0; i < cb; i++)
			sc += hc[i];
		for (i = cb; i < cell; i++)
			sg += hc[i];
		for (i = 0; i < cb; i++)
			v[c * cell + i] = (float)(sc > 0 ?
			    level * std::sqrt(hc[i] / sc) : 0);
		for (i = cb; i < cell; i++)
			v[c * cell + i] = (float)(sg > 0 ?
			    level * wtex * std::sqrt(hc[i] / sg) : 0);
	}
	double s = 0;
	for (c = 0; c < CV_COLOUR_DIM; c++)
		s += (double)v[c] * v[c];
	if (s > 0)
		for (c = 0; c < CV_COLOUR_DIM; c++)
			v[c] = (float)(v[c] / std::sqrt(s));
	return 0;
}

extern "C" int
cv_colour_embed(const void *img, size_t n, float *v)
{
	return shim_guard("colour", [&] {
		cv::Mat bgr;

		if (decode(img, n, bgr) == -1)
			return -1;
		return colour(bgr, v);
	});
}

/*
 * Networks.  A cv::dnn::Net must not run on two threads at once, so
 * struct cv_net keeps a pool of copies: a call takes an idle one, or
 * loads a new one, and gives it back.  With OpenCV's threads off, every
 * copy computes the same numbers.
 */
struct cv_net {
	struct cv_net_opts o;
	std::string	 model, config, layer;
	int		 dim = 0;
	std::mutex	 mu;
	std::vector<std::unique_ptr<cv::dnn::Net>> idle;
};

extern "C" void
cv_net_defaults(struct cv_net_opts *o)
{
	memset(o, 0, sizeof *o);
	o->w = o->h = 224;
	o->fit = CV_FIT_STRETCH;
	o->order = CV_ORDER_RGB;
	o->scale = 1 / 255.0;
	o->std[0] = o->std[1] = o->std[2] = 1;
	o->pool = CV_POOL_AUTO;
	o->gem_p = 3;
}

/* The last few layers' names, to help choose an output layer. */
static std::string
last_layers(cv::dnn::Net &net)
{
	std::vector<cv::String> names = net.getLayerNames();
	std::string s;
	size_t i = names.size() > 8 ? names.size() - 8 : 0;

	for (; i < names.size(); i++) {
		if (!s.empty())
			s += ", ";
		s += names[i];
	}
	return s.empty() ? "none" : s;
}

static std::unique_ptr<cv::dnn::Net>
load(struct cv_net *nt)
{
	std::unique_ptr<cv::dnn::Net> net(new cv::dnn::Net(
	    cv::dnn::readNet(nt->model, nt->config)));

	if (net->empty())
		return nullptr;
	net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
	net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
	return net;
}

/* The network's input blob (1 x C x H x W) of an image. */
static void
input(const struct cv_net_opts *o, const cv::Mat &bgr, cv::Mat &blob)
{
	cv::Mat img;
	int w = o->w, h = o->h, c, x, y;
	int nc = o->order == CV_ORDER_GRAY ? 1 : 3;

	if (o->fit == CV_FIT_CROP) {
		double s = std::max((double)w / bgr.cols, (double)h / bgr.rows);

		if (o->crop_side > 0)
			s = std::max(s, (double)o->crop_side /
			    std::min(bgr.cols, bgr.rows));
		int sw = std::max(w, (int)std::lround(bgr.cols * s));
		int sh = std::max(h, (int)std::lround(bgr.rows * s));
		cv::Mat t;

		scale(bgr, t, sw, sh);
		img = t(cv::Rect((sw - w) / 2, (sh - h) / 2, w, h));
	} else
		scale(bgr, img, w, h);
	if (nc == 1)
		cv::cvtColor(img, img, cv::COLOR_BGR2GRAY);

	int sz[4] = { 1, nc, h, w };
	blob.create(4, sz, CV_32F);
	for (c = 0; c < nc; c++) {
		/* the net's channel c is BGR channel src */
		int src = o->order == CV_ORDER_RGB ? 2 - c : c;
		float *d = blob.ptr<float>(0, c);

		for (y = 0; y < h; y++) {
			const unsigned char *row = img.ptr(y);

			for (x = 0; x < w; x++)
				d[y * w + x] = (float)((row[x * nc + src] *
				    o->scale - o->mean[c]) / o->std[c]);
		}
	}
}

/* Run the net on an image and pool its output into v, normalised. */
static int
run(struct cv_net *nt, cv::dnn::Net &net, const cv::Mat &bgr,
    std::vector<float> &v)
{
	const struct cv_net_opts *o = &nt->o;
	cv::Mat blob, out;
	size_t i, j;

	input(o, bgr, blob);
	net.setInput(blob);
	out = nt->layer.empty() ? net.forward() : net.forward(nt->layer);
	if (out.depth() != CV_32F)
		return pm_fail("net: output of OpenCV depth %d, not 32-bit reals",
		    out.depth());
	if (out.dims < 1 || out.total() == 0)
		return pm_fail("net: empty output");
	if (out.size[0] != 1)
		return pm_fail("net: output batch of %d, wanted 1", out.size[0]);
	if (out.total() > (1 << 24))
		return pm_fail("net: output of %zu elements, too large",
		    out.total());
	if (!out.isContinuous())
		out = out.clone();
	const float *p = out.ptr<float>();
	bool map = out.dims == 4 && (o->pool == CV_POOL_AVG ||
	    o->pool == CV_POOL_MAX || o->pool == CV_POOL_GEM ||
	    (o->pool == CV_POOL_AUTO && out.size[2] * out.size[3] > 1));
	if (map) {
		size_t ch = out.size[1], hw = (size_t)out.size[2] * out.size[3];

		v.assign(ch, 0);
		for (i = 0; i < ch; i++) {
			const float *q = p + i * hw;
			double s = 0;

			switch (o->pool) {
			case CV_POOL_MAX:
				s = q[0];
				for (j = 1; j < hw; j++)
					s = std::max(s, (double)q[j]);
				break;
			case CV_POOL_GEM:
				for (j = 0; j < hw; j++)
					s += std::pow(std::max((double)q[j], 1e-6),
					    o->gem_p);
				s = std::pow(s / hw, 1 / o->gem_p);
				break;
			default:
				for (j = 0; j < hw; j++)
					s += q[j];
				s /= hw;
			}
			v[i] = (float)s;
		}
	} else
		v.assign(p, p + out.total());

	double s = 0;
	for (i = 0; i < v.size(); i++) {
		if (!std::isfinite(v[i]))
			return pm_fail("net: element %zu of the output is not "
			    "a finite number", i);
		s += (double)v[i] * v[i];
	}
	if (s > 0)
		for (i = 0; i < v.size(); i++)
			v[i] = (float)(v[i] / std::sqrt(s));
	return 0;
}

extern "C" struct cv_net *
cv_net_open(const struct cv_net_opts *o)
{
	struct cv_net *nt = nullptr;
	int r;

	if (o->w < 1 || o->h < 1 || o->w > 8192 || o->h > 8192)
		return (pm_fail("net: input size %dx%d", o->w, o->h), nullptr);
	/* OpenCV says "cannot determine an origin framework" for a file
	 * that is not there */
	for (const char *f : { o->model, o->config })
		if (f != nullptr && access(f, R_OK) != 0)
			return (pm_fail("%s: %s", f, strerror(errno)), nullptr);
	r = shim_guard("net", [&] {
		std::unique_ptr<struct cv_net> n(new struct cv_net);

		n->o = *o;
		n->model = o->model;
		n->config = o->config ? o->config : "";
		n->layer = o->layer ? o->layer : "";
		n->o.model = n->o.config = n->o.layer = nullptr;
		std::unique_ptr<cv::dnn::Net> net = load(n.get());
		if (net == nullptr)
			return pm_fail("%s: OpenCV read no network from it",
			    o->model);
		if (!n->layer.empty() && net->getLayerId(n->layer) < 0)
			return pm_fail("%s: no layer named %s; the last are: %s",
			    o->model, o->layer, last_layers(*net).c_str());
		int sz[2] = { o->h, o->w };
		cv::Mat grey(2, sz, CV_8UC3, cv::Scalar(128, 128, 128));
		std::vector<float> v;
		if (run(n.get(), *net, grey, v) == -1)
			return -1;
		if (v.size() > (1 << 20))
			return pm_fail("%s: a vector of %zu elements, too long",
			    o->model, v.size());
		n->dim = (int)v.size();
		n->idle.push_back(std::move(net));
		nt = n.release();
		return 0;
	});
	if (r == -1 && strncmp(pm_why(), "net: opencv", 11) == 0) {
		/* name the files the error came from */
		std::string why = pm_why();
		if (o->config != nullptr)
			pm_fail("%s, %s: %s", o->model, o->config,
			    why.c_str() + 5);
		else
			pm_fail("%s: %s", o->model, why.c_str() + 5);
	}
	return r == -1 ? nullptr : nt;
}

extern "C" int
cv_net_dim(const struct cv_net *nt)
{
	return nt->dim;
}

extern "C" int
cv_net_embed(struct cv_net *nt, const void *img, size_t n, float *v)
{
	return shim_guard("net", [&] {
		std::unique_ptr<cv::dnn::Net> net;
		std::vector<float> out;
		cv::Mat bgr;
		int r;

		if (decode(img, n, bgr) == -1)
			return -1;
		{
			std::lock_guard<std::mutex> g(nt->mu);

			if (!nt->idle.empty()) {
				net = std::move(nt->idle.back());
				nt->idle.pop_back();
			}
		}
		if (net == nullptr && (net = load(nt)) == nullptr)
			return pm_fail("%s: OpenCV read no network from it",
			    nt->model.c_str());
		try {
			r = run(nt, *net, bgr, out);
		} catch (...) {
			std::lock_guard<std::mutex> g(nt->mu);
			nt->idle.push_back(std::move(net));
			throw;
		}
		{
			std::lock_guard<std::mutex> g(nt->mu);
			nt->idle.push_back(std::move(net));
		}
		if (r == -1)
			return -1;
		if (out.size() != (size_t)nt->dim)
			return pm_fail("net: a vector of %zu elements, the first "
			    "had %d", out.size(), nt->dim);
		std::copy(out.begin(), out.end(), v);
		return 0;
	});
}

extern "C" void
cv_net_close(struct cv_net *nt)
{
	delete nt;
}
