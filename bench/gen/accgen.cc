/*
 * accgen: make pm's accuracy benchmark from real media.
 *
 *	accgen [-c clip] [-m mediadir] [-o outdir] scenefile
 *
 * The scene file names real images (the catalog) and real videos or
 * photos (the backgrounds) in mediadir, and describes clips: each
 * product shown with a known homography that moves over time (scale,
 * in-plane rotation, tilt out of the plane), lighting, defocus, motion
 * blur (sub-frame sampling of the motion over the shutter time),
 * occlusion by a piece of another real image, and h264 encoding
 * (several times over when asked).  ffmpeg(1) decodes the backgrounds
 * and encodes the clips; frames pass through pipes as raw BGR.
 *
 * Writes into outdir:
 *	catalog/ID.jpg		one image per product (JPEG, quality 92)
 *	videos/ID.mp4		the clips
 *	catalog.ndjson		product records, "images" = local paths
 *	videos.ndjson		video records, "src" = a local path
 *	truth.ndjson		the ground truth: truth-product, truth-video,
 *				truth-interval and truth-frame records
 *
 * A product is visible in a frame when at least half its area is inside
 * the frame and not occluded; its true intervals are the runs of frames
 * where it is visible, from the first frame's time to the last's.  Box
 * corners follow OpenCV's pixel centres, as cv_verify() reports them:
 * the catalog image's corners are (-0.5, -0.5) .. (w - 0.5, h - 0.5).
 *
 * Everything is deterministic: the noise comes from a generator seeded
 * with the clip's name and the frame number.
 *
 * Scene file: one directive a line, '#' starts a comment.
 *
 *	product ID FILE [crop=x0,y0,x1,y1] [flip] [swap] [like=ID]
 *		[title=WORD]
 *	clip ID BG [at=S] [dur=S] [size=WxH] [fps=N] [crf=N] [reenc=N]
 *		[gain=G] [gamma=G] [noise=SIGMA] [tags=a,b]
 *	obj PRODUCT T0 T1 [cx=A:B..] [cy=..] [h=..] [px=..] [rot=..]
 *		[yaw=..] [pitch=..] [defocus=..] [gain=..] [shutter=F]
 *		[occ=FILE:FRACTION] [tags=a,b]
 *
 * crop takes fractions of the image; flip mirrors it left to right; swap
 * exchanges its red and blue channels; like names the product it is a
 * look-alike of.  BG is a video or a photo (a photo is panned across).
 * An obj belongs to the clip above it; its numbers are keyframes spread
 * evenly over T0..T1 and interpolated linearly: cx, cy the centre in
 * fractions of the frame, h the height in fractions of the frame's
 * height (or px in pixels), rot, yaw, pitch in degrees, defocus a disk
 * radius in pixels, gain a factor on the product's light.  shutter is
 * the exposure in frame intervals for motion blur; occ covers the given
 * fraction of the product's width with a strip of a real image that
 * slides across it.
 */
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern char **environ;

namespace {

const double VISIBLE_MIN = 0.5;

[[noreturn]] void
die(const std::string &msg)
{
	fprintf(stderr, "accgen: %s\n", msg.c_str());
	exit(2);
}

/* Keyframes spread evenly over an object's life, linearly interpolated. */
struct track {
	std::vector<double> k;

	bool set() const { return !k.empty(); }
	double
	at(double u, double dflt) const
	{
		if (k.empty())
			return dflt;
		if (k.size() == 1)
			return k[0];
		u = std::min(1.0, std::max(0.0, u));
		double x = u * (k.size() - 1);
		size_t i = std::min(k.size() - 2, (size_t)x);
		return k[i] + (x - i) * (k[i + 1] - k[i]);
	}
};

struct product {
	std::string id, file, title, like;
	double crop[4] = { 0, 0, 1, 1 };
	bool flip = false, swap = false, shown = false;
	cv::Mat img;			/* the catalog image, BGR */
	std::vector<cv::Mat> pyr;	/* img and its pyrDown levels */
	std::string path;		/* its catalog file */
};

struct obj {
	std::string product;
	double t0 = 0, t1 = 0;
	track cx, cy, h, px, rot, yaw, pitch, defocus, gain;
	double shutter = 0;
	std::string occfile;
	double occ = 0;
	cv::Mat occimg;
	std::vector<std::string> tags;
	struct product *p = nullptr;
};

struct clip {
	std::string id, bg;
	double at = 0, dur = 10;
	int w = 1280, h = 720, fps = 25, crf = 26, reenc = 0;
	double gain = 1, gamma = 1, noise = 0;
	std::vector<std::string> tags;
	std::vector<obj> objs;
};

std::vector<std::string>
split(const std::string &s, char sep)
{
	std::vector<std::string> v;
	std::string f;
	std::istringstream in(s);
	while (std::getline(in, f, sep))
		v.push_back(f);
	return v;
}

double
num(const std::string &s, const std::string &where)
{
	char *end;
	errno = 0;
	double v = strtod(s.c_str(), &end);
	if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
		die(where + ": not a number: " + s);
	return v;
}

track
keys(const std::string &s, const std::string &where)
{
	track t;
	for (auto &f : split(s, ':'))
		t.k.push_back(num(f, where));
	return t;
}

std::string
json_str(const std::string &s)
{
	std::string o = "\"";
	for (unsigned char c : s) {
		if (c == '"' || c == '\\') {
			o += '\\';
			o += (char)c;
		} else if (c < 0x20) {
			char b[8];
			snprintf(b, sizeof b, "\\u%04x", c);
			o += b;
		} else
			o += (char)c;
	}
	return o + "\"";
}

std::string
json_tags(const std::vector<std::string> &tags)
{
	std::string o = "[";
	for (size_t i = 0; i < tags.size(); i++)
		o += (i ? "," : "") + json_str(tags[i]);
	return o + "]";
}

/* A child process whose stdin (write) or stdout (!write) is *fd. */
pid_t
spawn(const std::vector<std::string> &args, bool write, int *fd)
{
	int p[2];
	if (pipe(p) == -1)
		die(std::string("pipe: ") + strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (write) {
		posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	} else {
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	}
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	std::vector<char *> av;
	for (auto &a : args)
		av.push_back(const_cast<char *>(a.c_str()));
	av.push_back(nullptr);
	pid_t pid;
	int e = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		die(args[0] + ": " + strerror(e));
	close(write ? p[0] : p[1]);
	*fd = write ? p[1] : p[0];
	return pid;
}

void
reap(pid_t pid, const std::string &what)
{
	int st;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid: " + std::string(strerror(errno)));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(what + ": ffmpeg failed");
}

bool
readall(int fd, void *buf, size_t n)
{
	char *p = static_cast<char *>(buf);
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= r;
	}
	return true;
}

void
writeall(int fd, const void *buf, size_t n, const std::string &what)
{
	const char *p = static_cast<const char *>(buf);
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			die(what + ": write to ffmpeg: " + strerror(errno));
		p += r;
		n -= r;
	}
}

bool
is_photo(const std::string &f)
{
	std::string e = f.substr(f.find_last_of('.') + 1);
	for (auto &c : e)
		c = (char)tolower((unsigned char)c);
	return e == "jpg" || e == "jpeg" || e == "png";
}

std::string
fmt(double v)
{
	char b[32];
	snprintf(b, sizeof b, "%.6g", v);
	return b;
}

/* Real images from the media directory, flattened on white, BGR. */
cv::Mat
load(const std::string &dir, const std::string &file)
{
	std::string path = dir + "/" + file;
	cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
	if (m.empty())
		die(path + ": cannot read image");
	if (m.depth() != CV_8U)
		die(path + ": not an 8-bit image");
	if (m.channels() == 1) {
		cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
	} else if (m.channels() == 4) {
		cv::Mat f(m.size(), CV_8UC3);
		for (int y = 0; y < m.rows; y++)
			for (int x = 0; x < m.cols; x++) {
				cv::Vec4b s = m.at<cv::Vec4b>(y, x);
				for (int c = 0; c < 3; c++)
					f.at<cv::Vec3b>(y, x)[c] = (uchar)
					    ((s[c] * s[3] + 255 * (255 - s[3]))
					    / 255);
			}
		m = f;
	}
	return m;
}

struct scene {
	std::map<std::string, product> products;
	std::vector<std::string> order;
	std::vector<clip> clips;
};

scene
parse(const std::string &file)
{
	std::ifstream in(file);
	if (!in)
		die(file + ": cannot open");
	scene sc;
	std::string line;
	int n = 0;
	while (std::getline(in, line)) {
		n++;
		std::string where = file + ":" + std::to_string(n);
		line = line.substr(0, line.find('#'));
		std::istringstream ls(line);
		std::vector<std::string> w;
		std::string t;
		while (ls >> t)
			w.push_back(t);
		if (w.empty())
			continue;
		if (w[0] == "product" && w.size() >= 3) {
			product p;
			p.id = w[1];
			p.file = w[2];
			p.title = w[2];
			for (size_t i = 3; i < w.size(); i++) {
				std::string k = w[i].substr(0, w[i].find('='));
				std::string v = w[i].find('=') ==
				    std::string::npos ? "" :
				    w[i].substr(w[i].find('=') + 1);
				if (k == "crop") {
					auto c = split(v, ',');
					if (c.size() != 4)
						die(where +
						    ": crop=x0,y0,x1,y1");
					for (int j = 0; j < 4; j++)
						p.crop[j] = num(c[j], where);
				} else if (k == "flip")
					p.flip = true;
				else if (k == "swap")
					p.swap = true;
				else if (k == "like")
					p.like = v;
				else if (k == "title")
					p.title = v;
				else
					die(where + ": unknown: " + w[i]);
			}
			if (sc.products.count(p.id))
				die(where + ": product " + p.id + " twice");
			sc.order.push_back(p.id);
			sc.products[p.id] = p;
		} else if (w[0] == "clip" && w.size() >= 3) {
			clip c;
			c.id = w[1];
			c.bg = w[2];
			for (size_t i = 3; i < w.size(); i++) {
				size_t eq = w[i].find('=');
				if (eq == std::string::npos)
					die(where + ": not key=value: " + w[i]);
				std::string k = w[i].substr(0, eq);
				std::string v = w[i].substr(eq + 1);
				if (k == "at")
					c.at = num(v, where);
				else if (k == "dur")
					c.dur = num(v, where);
				else if (k == "size") {
					auto d = split(v, 'x');
					if (d.size() != 2)
						die(where + ": size=WxH");
					c.w = (int)num(d[0], where);
					c.h = (int)num(d[1], where);
				} else if (k == "fps")
					c.fps = (int)num(v, where);
				else if (k == "crf")
					c.crf = (int)num(v, where);
				else if (k == "reenc")
					c.reenc = (int)num(v, where);
				else if (k == "gain")
					c.gain = num(v, where);
				else if (k == "gamma")
					c.gamma = num(v, where);
				else if (k == "noise")
					c.noise = num(v, where);
				else if (k == "tags")
					c.tags = split(v, ',');
				else
					die(where + ": unknown: " + w[i]);
			}
			if (c.w < 64 || c.h < 64 || c.w % 2 || c.h % 2 ||
			    c.fps < 1 || c.dur <= 0)
				die(where + ": bad size, fps or duration");
			sc.clips.push_back(c);
		} else if (w[0] == "obj" && w.size() >= 4) {
			if (sc.clips.empty())
				die(where + ": obj before any clip");
			obj o;
			o.product = w[1];
			o.t0 = num(w[2], where);
			o.t1 = num(w[3], where);
			for (size_t i = 4; i < w.size(); i++) {
				size_t eq = w[i].find('=');
				if (eq == std::string::npos)
					die(where + ": not key=value: " + w[i]);
				std::string k = w[i].substr(0, eq);
				std::string v = w[i].substr(eq + 1);
				if (k == "cx")
					o.cx = keys(v, where);
				else if (k == "cy")
					o.cy = keys(v, where);
				else if (k == "h")
					o.h = keys(v, where);
				else if (k == "px")
					o.px = keys(v, where);
				else if (k == "rot")
					o.rot = keys(v, where);
				else if (k == "yaw")
					o.yaw = keys(v, where);
				else if (k == "pitch")
					o.pitch = keys(v, where);
				else if (k == "defocus")
					o.defocus = keys(v, where);
				else if (k == "gain")
					o.gain = keys(v, where);
				else if (k == "shutter")
					o.shutter = num(v, where);
				else if (k == "occ") {
					size_t c = v.rfind(':');
					if (c == std::string::npos)
						die(where +
						    ": occ=FILE:FRACTION");
					o.occfile = v.substr(0, c);
					o.occ = num(v.substr(c + 1), where);
				} else if (k == "tags")
					o.tags = split(v, ',');
				else
					die(where + ": unknown: " + w[i]);
			}
			if (!sc.products.count(o.product))
				die(where + ": no product " + o.product);
			if (!(o.t1 > o.t0))
				die(where + ": T1 must follow T0");
			sc.clips.back().objs.push_back(o);
		} else
			die(where + ": cannot parse: " + line);
	}
	return sc;
}

/*
 * The homography from the catalog image's pixels to the frame's for an
 * object at u (0..1 of its life): the image is a plane of unit height
 * at distance 3 from a pinhole camera, turned by pitch (about the
 * horizontal axis), yaw (the vertical axis), then rot (in the plane of
 * the frame), its centre put at (cx, cy).
 */
cv::Matx33d
homography(const obj &o, double u, int iw, int ih, int fw, int fh)
{
	const double d = 3;
	double hp = o.px.set() ? o.px.at(u, 100) : o.h.at(u, 0.3) * fh;
	double f = hp * d;
	double a = o.rot.at(u, 0) * CV_PI / 180;
	double b = o.yaw.at(u, 0) * CV_PI / 180;
	double c = o.pitch.at(u, 0) * CV_PI / 180;
	cv::Matx33d Rz(cos(a), -sin(a), 0, sin(a), cos(a), 0, 0, 0, 1);
	cv::Matx33d Ry(cos(b), 0, sin(b), 0, 1, 0, -sin(b), 0, cos(b));
	cv::Matx33d Rx(1, 0, 0, 0, cos(c), -sin(c), 0, sin(c), cos(c));
	cv::Matx33d R = Rz * Ry * Rx;
	double s = 1.0 / ih;
	cv::Matx33d A(s, 0, -(iw - 1) / 2.0 * s, 0, s, -(ih - 1) / 2.0 * s,
	    0, 0, 1);
	cv::Matx33d M(R(0, 0), R(0, 1), 0, R(1, 0), R(1, 1), 0,
	    R(2, 0), R(2, 1), d);
	cv::Matx33d K(f, 0, o.cx.at(u, 0.5) * fw - 0.5,
	    0, f, o.cy.at(u, 0.5) * fh - 0.5, 0, 0, 1);
	return K * M * A;
}

cv::Point2d
apply(const cv::Matx33d &H, double x, double y)
{
	cv::Vec3d p = H * cv::Vec3d(x, y, 1);
	return cv::Point2d(p[0] / p[2], p[1] / p[2]);
}

void
corners(const cv::Matx33d &H, int iw, int ih, cv::Point2d q[4])
{
	q[0] = apply(H, -0.5, -0.5);
	q[1] = apply(H, iw - 0.5, -0.5);
	q[2] = apply(H, iw - 0.5, ih - 0.5);
	q[3] = apply(H, -0.5, ih - 0.5);
}

double
quad_area(const cv::Point2d q[4])
{
	double a = 0;
	for (int i = 0; i < 4; i++)
		a += q[i].x * q[(i + 1) % 4].y - q[(i + 1) % 4].x * q[i].y;
	return std::fabs(a) / 2;
}

/* The frame pixels the quads may touch, grown by m, within the frame. */
cv::Rect
roi(const std::vector<cv::Point2d> &pts, int m, int fw, int fh)
{
	double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
	for (auto &p : pts) {
		x0 = std::min(x0, p.x);
		y0 = std::min(y0, p.y);
		x1 = std::max(x1, p.x);
		y1 = std::max(y1, p.y);
	}
	int a = std::max(0, (int)floor(x0) - m);
	int b = std::max(0, (int)floor(y0) - m);
	int c = std::min(fw, (int)ceil(x1) + m + 1);
	int d = std::min(fh, (int)ceil(y1) + m + 1);
	if (c <= a || d <= b)
		return cv::Rect();
	return cv::Rect(a, b, c - a, d - b);
}

/* The catalog image of a product from its real image. */
void
make_product(product &p, const std::string &media, const std::string &out)
{
	cv::Mat m = load(media, p.file);
	int x0 = (int)lround(p.crop[0] * m.cols);
	int y0 = (int)lround(p.crop[1] * m.rows);
	int x1 = (int)lround(p.crop[2] * m.cols);
	int y1 = (int)lround(p.crop[3] * m.rows);
	if (x0 < 0 || y0 < 0 || x1 > m.cols || y1 > m.rows ||
	    x1 - x0 < 32 || y1 - y0 < 32)
		die("product " + p.id + ": bad crop");
	m = m(cv::Rect(x0, y0, x1 - x0, y1 - y0)).clone();
	if (p.flip)
		cv::flip(m, m, 1);
	if (p.swap)
		cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
	p.img = m;
	p.pyr.push_back(m);
	while (p.pyr.back().cols > 16 && p.pyr.back().rows > 16) {
		cv::Mat d;
		cv::pyrDown(p.pyr.back(), d);
		p.pyr.push_back(d);
	}
	p.path = out + "/catalog/" + p.id + ".jpg";
	if (!cv::imwrite(p.path, m, { cv::IMWRITE_JPEG_QUALITY, 92 }))
		die(p.path + ": cannot write");
}

/*
 * Warp the object's image at time t into the roi r of the frame, as
 * premultiplied colour (CV_32FC3) and alpha (CV_32F, 0..1).
 */
void
warp(const obj &o, double t, cv::Rect r, int fw, int fh, cv::Mat &col,
    cv::Mat &alpha)
{
	const product &p = *o.p;
	double u = (t - o.t0) / (o.t1 - o.t0);
	cv::Matx33d H = homography(o, u, p.img.cols, p.img.rows, fw, fh);
	cv::Point2d q[4];
	corners(H, p.img.cols, p.img.rows, q);
	/* a pyramid level about the size it is shown at, against aliasing */
	double k = std::sqrt(quad_area(q) / ((double)p.img.cols * p.img.rows));
	int lv = k > 0 ? (int)floor(std::log2(1 / k)) : 0;
	lv = std::max(0, std::min(lv, (int)p.pyr.size() - 1));
	const cv::Mat &src = p.pyr[lv];
	double sc = std::ldexp(1.0, lv);
	cv::Matx33d S(sc, 0, 0, 0, sc, 0, 0, 0, 1);
	cv::Matx33d T(1, 0, -r.x, 0, 1, -r.y, 0, 0, 1);
	cv::Matx33d W = T * H * S;
	cv::Mat c8, a8;
	cv::warpPerspective(src, c8, cv::Mat(W), r.size(), cv::INTER_LINEAR,
	    cv::BORDER_CONSTANT, cv::Scalar::all(0));
	cv::Mat ones(src.size(), CV_8U, cv::Scalar(255));
	cv::warpPerspective(ones, a8, cv::Mat(W), r.size(), cv::INTER_LINEAR,
	    cv::BORDER_CONSTANT, cv::Scalar(0));
	/* the border pixels of the colour warp were blended with black */
	c8.convertTo(col, CV_32FC3, 1.0 / 255);
	a8.convertTo(alpha, CV_32F, 1.0 / 255);
	double g = o.gain.at(u, 1);
	if (g != 1)
		col *= g;
}

/* The occluder's rectangle for an object whose quad is q at u. */
cv::Rect
occ_rect(const obj &o, double u, const cv::Point2d q[4])
{
	double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
	for (int i = 0; i < 4; i++) {
		x0 = std::min(x0, q[i].x);
		y0 = std::min(y0, q[i].y);
		x1 = std::max(x1, q[i].x);
		y1 = std::max(y1, q[i].y);
	}
	double w = o.occ * (x1 - x0), h = 1.3 * (y1 - y0);
	/* it slides across the product, left to right and back */
	double s = 0.5 - 0.5 * cos(2 * CV_PI * u);
	double x = x0 + s * (x1 - x0 - w);
	double y = y0 - 0.15 * (y1 - y0);
	return cv::Rect((int)lround(x), (int)lround(y), std::max(1,
	    (int)lround(w)), std::max(1, (int)lround(h)));
}

struct truthrow {
	int frame;
	std::string product;
	cv::Point2d q[4];
	double visible;
};

/* Render one clip into outdir/videos/ID.mp4; append its truth rows. */
void
render(clip &c, const std::string &media, const std::string &out,
    std::vector<truthrow> &rows, int *nframes)
{
	int n = (int)lround(c.dur * c.fps);
	*nframes = n;
	std::string bgpath = media + "/" + c.bg;
	std::string geom = std::to_string(c.w) + ":" + std::to_string(c.h);
	std::vector<std::string> dec = { "ffmpeg", "-nostdin", "-v", "error" };
	if (is_photo(c.bg)) {
		/* a photo, scaled to 130% and panned across */
		dec.insert(dec.end(), { "-loop", "1", "-framerate",
		    std::to_string(c.fps), "-i", bgpath, "-vf",
		    "scale=" + std::to_string(c.w * 13 / 10) + ":" +
		    std::to_string(c.h * 13 / 10) +
		    ":force_original_aspect_ratio=increase,crop=" + geom +
		    ":(iw-ow)*n/" + std::to_string(n) + ":(ih-oh)/2" });
	} else {
		/* -ss after -i: decode from the start, since seeking to
		 * an I frame that is no IDR frame breaks the pictures */
		dec.insert(dec.end(), { "-stream_loop", "-1", "-i", bgpath,
		    "-ss", fmt(c.at), "-vf", "fps=" +
		    std::to_string(c.fps) + ",scale=" + geom +
		    ":force_original_aspect_ratio=increase,crop=" + geom,
		    "-an" });
	}
	dec.insert(dec.end(), { "-frames:v", std::to_string(n), "-f",
	    "rawvideo", "-pix_fmt", "bgr24", "-" });
	std::string vid = out + "/videos/" + c.id + ".mp4";
	std::string first = c.reenc ? out + "/videos/" + c.id + ".pass1.mp4" :
	    vid;
	std::vector<std::string> enc = { "ffmpeg", "-nostdin", "-v", "error",
	    "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s",
	    std::to_string(c.w) + "x" + std::to_string(c.h), "-r",
	    std::to_string(c.fps), "-i", "-", "-c:v", "libx264", "-preset",
	    "veryfast", "-crf", std::to_string(c.crf), "-g",
	    std::to_string(2 * c.fps), "-pix_fmt", "yuv420p", "-threads", "2",
	    "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata",
	    "-1", first };
	int din, eout;
	pid_t dp = spawn(dec, false, &din);
	pid_t ep = spawn(enc, true, &eout);

	for (auto &o : c.objs)
		if (!o.occfile.empty())
			o.occimg = load(media, o.occfile);
	cv::Mat frame(c.h, c.w, CV_8UC3), nz(c.h, c.w, CV_16SC3), f16;
	size_t fbytes = (size_t)c.w * c.h * 3;
	unsigned seed = 2166136261u;
	for (unsigned char ch : c.id)
		seed = (seed ^ ch) * 16777619u;
	/* the scene's light, as a table on the 8-bit frame */
	cv::Mat lut(1, 256, CV_8U);
	for (int v = 0; v < 256; v++)
		lut.at<uchar>(v) = cv::saturate_cast<uchar>(255 *
		    std::pow(std::max(0.0, c.gain * v / 255), c.gamma));
	for (int i = 0; i < n; i++) {
		double t = (double)i / c.fps;
		if (!readall(din, frame.data, fbytes))
			die(c.id + ": background " + c.bg + " ended at frame " +
			    std::to_string(i));
		/* the occluders, drawn above every product */
		std::vector<std::pair<cv::Rect, const obj *>> occs;
		for (auto &o : c.objs) {
			if (t < o.t0 || t > o.t1 || o.occ <= 0)
				continue;
			double u = (t - o.t0) / (o.t1 - o.t0);
			cv::Point2d q[4];
			corners(homography(o, u, o.p->img.cols, o.p->img.rows,
			    c.w, c.h), o.p->img.cols, o.p->img.rows, q);
			occs.push_back({ occ_rect(o, u, q), &o });
		}
		for (auto &o : c.objs) {
			if (t < o.t0 || t > o.t1)
				continue;
			const product &p = *o.p;
			double u = (t - o.t0) / (o.t1 - o.t0);
			cv::Matx33d H = homography(o, u, p.img.cols,
			    p.img.rows, c.w, c.h);
			truthrow tr;
			tr.frame = i;
			tr.product = p.id;
			corners(H, p.img.cols, p.img.rows, tr.q);
			/* the sub-frame times the shutter is open */
			int ns = o.shutter > 0 ? 9 : 1;
			std::vector<double> ts;
			std::vector<cv::Point2d> pts;
			for (int k = 0; k < ns; k++) {
				double ts1 = ns == 1 ? t : t + (k / (ns - 1.0) -
				    0.5) * o.shutter / c.fps;
				ts1 = std::max(o.t0, std::min(o.t1, ts1));
				ts.push_back(ts1);
				cv::Point2d q[4];
				corners(homography(o, (ts1 - o.t0) / (o.t1 -
				    o.t0), p.img.cols, p.img.rows, c.w, c.h),
				    p.img.cols, p.img.rows, q);
				pts.insert(pts.end(), q, q + 4);
			}
			double rad = o.defocus.at(u, 0);
			int m = 2 + (int)ceil(rad);
			cv::Rect r = roi(pts, m, c.w, c.h);
			/* how much of it shows: inside the frame, unoccluded */
			double area = quad_area(tr.q);
			double vis = 0;
			if (!r.empty()) {
				cv::Mat col, a;
				warp(o, t, r, c.w, c.h, col, a);
				for (auto &oc : occs) {
					cv::Rect in = oc.first & r;
					if (!in.empty())
						a(in - r.tl()).setTo(0);
				}
				vis = cv::sum(a)[0] / area;
			}
			tr.visible = std::min(1.0, vis);
			rows.push_back(tr);
			if (r.empty())
				continue;
			cv::Mat col(r.size(), CV_32FC3, cv::Scalar::all(0));
			cv::Mat a(r.size(), CV_32F, cv::Scalar(0));
			for (double ts1 : ts) {
				cv::Mat c1, a1;
				warp(o, ts1, r, c.w, c.h, c1, a1);
				col += c1;
				a += a1;
			}
			col /= (double)ns;
			a /= (double)ns;
			if (rad > 0.3) {
				/* defocus: a disk, the lens's blur */
				int k = (int)ceil(rad);
				cv::Mat disk(2 * k + 1, 2 * k + 1, CV_32F,
				    cv::Scalar(0));
				for (int y = -k; y <= k; y++)
					for (int x = -k; x <= k; x++)
						if (x * x + y * y <= rad * rad +
						    0.5)
							disk.at<float>(y + k,
							    x + k) = 1;
				disk /= cv::sum(disk)[0];
				cv::filter2D(col, col, -1, disk);
				cv::filter2D(a, a, -1, disk);
			}
			cv::Mat a3, fr;
			cv::Mat ach[] = { a, a, a };
			cv::merge(ach, 3, a3);
			frame(r).convertTo(fr, CV_32FC3, 1.0 / 255);
			fr = fr.mul(cv::Scalar::all(1) - a3) + col;
			fr.convertTo(frame(r), CV_8UC3, 255);
		}
		for (auto &oc : occs) {
			cv::Rect r = oc.first;
			cv::Rect in = r & cv::Rect(0, 0, c.w, c.h);
			if (in.empty())
				continue;
			/* a fixed strip of the occluder's image */
			cv::Mat strip;
			cv::resize(oc.second->occimg, strip, r.size(), 0, 0,
			    cv::INTER_AREA);
			strip(in - r.tl()).copyTo(frame(in));
		}
		/* the scene's light, then the sensor's noise */
		if (c.gain != 1 || c.gamma != 1)
			cv::LUT(frame, lut, frame);
		if (c.noise > 0) {
			cv::RNG rng(((uint64_t)seed << 20) ^ (uint64_t)i);
			rng.fill(nz, cv::RNG::NORMAL, 0, c.noise);
			frame.convertTo(f16, CV_16SC3);
			f16 += nz;
			f16.convertTo(frame, CV_8UC3);
		}
		writeall(eout, frame.data, fbytes, c.id);
	}
	close(eout);
	close(din);
	reap(ep, c.id + ": encoding");
	/* the decoder may be cut off by the closed pipe: its status is moot */
	kill(dp, SIGTERM);
	int st;
	waitpid(dp, &st, 0);
	if (c.reenc) {
		std::vector<std::string> re = { "ffmpeg", "-nostdin", "-v",
		    "error", "-y", "-i", first, "-c:v", "libx264", "-preset",
		    "veryfast", "-crf", std::to_string(c.reenc), "-g",
		    std::to_string(2 * c.fps), "-pix_fmt", "yuv420p",
		    "-threads", "2", "-fflags", "+bitexact", "-flags:v",
		    "+bitexact", "-map_metadata", "-1", vid };
		int fd;
		pid_t rp = spawn(re, true, &fd);
		close(fd);
		reap(rp, c.id + ": re-encoding");
		unlink(first.c_str());
	}
}

/*
 * The truth of a clip: its true intervals, the runs of frames where a
 * product is visible, tagged with the clip's tags and its objects', and
 * the corners of each product in each frame it is in.
 */
void
write_truth(FILE *fp, const clip &c, const std::vector<std::string> &tags,
    const std::vector<truthrow> &rows)
{
	std::map<std::string, std::vector<int>> vis;
	for (auto &r : rows)
		if (r.visible >= VISIBLE_MIN)
			vis[r.product].push_back(r.frame);
	for (auto &kv : vis) {
		auto &fr = kv.second;
		std::sort(fr.begin(), fr.end());
		fr.erase(std::unique(fr.begin(), fr.end()), fr.end());
		size_t a = 0;
		for (size_t b = 1; b <= fr.size(); b++) {
			if (b < fr.size() && fr[b] == fr[b - 1] + 1)
				continue;
			std::vector<std::string> it = tags;
			for (auto &o : c.objs) {
				if (o.product != kv.first ||
				    o.t1 * c.fps < fr[a] ||
				    o.t0 * c.fps > fr[b - 1])
					continue;
				for (auto &g : o.tags)
					if (std::count(it.begin(), it.end(),
					    g) == 0)
						it.push_back(g);
			}
			fprintf(fp, "{\"type\":\"truth-interval\",\"video\":%s,"
			    "\"product\":%s,\"start\":%.3f,\"end\":%.3f,"
			    "\"tags\":%s}\n", json_str(c.id).c_str(),
			    json_str(kv.first).c_str(), (double)fr[a] / c.fps,
			    (double)fr[b - 1] / c.fps, json_tags(it).c_str());
			a = b;
		}
	}
	for (auto &r : rows) {
		fprintf(fp, "{\"type\":\"truth-frame\",\"video\":%s,"
		    "\"frame\":%d,\"t\":%.3f,\"product\":%s,\"box\":[",
		    json_str(c.id).c_str(), r.frame, (double)r.frame / c.fps,
		    json_str(r.product).c_str());
		for (int k = 0; k < 4; k++)
			fprintf(fp, "%s[%.2f,%.2f]", k ? "," : "", r.q[k].x,
			    r.q[k].y);
		fprintf(fp, "],\"visible\":%.3f}\n", r.visible);
	}
}

void
usage()
{
	fprintf(stderr, "usage: accgen [-c clip] [-m mediadir] [-o outdir] "
	    "scenefile\n");
	exit(2);
}

std::string
absolute(const std::string &p)
{
	char *r = realpath(p.c_str(), nullptr);
	if (r == nullptr)
		die(p + ": " + strerror(errno));
	std::string s(r);
	free(r);
	return s;
}

} /* namespace */

int
main(int argc, char **argv)
{
	std::string media = ".", out = "accgen.out", only;
	int ch;

	while ((ch = getopt(argc, argv, "c:m:o:")) != -1) {
		switch (ch) {
		case 'c':
			only = optarg;
			break;
		case 'm':
			media = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	try {
		cv::setNumThreads(1);
		cv::setRNGSeed(1);
		scene sc = parse(argv[optind]);
		mkdir(out.c_str(), 0777);
		out = absolute(out);
		mkdir((out + "/catalog").c_str(), 0777);
		mkdir((out + "/videos").c_str(), 0777);
		for (auto &id : sc.order)
			make_product(sc.products[id], media, out);
		for (auto &c : sc.clips)
			for (auto &o : c.objs) {
				o.p = &sc.products[o.product];
				o.p->shown = true;
			}

		std::string tpath = out + "/truth.ndjson";
		FILE *truth = fopen(tpath.c_str(), "w");
		FILE *cat = fopen((out + "/catalog.ndjson").c_str(), "w");
		FILE *vids = fopen((out + "/videos.ndjson").c_str(), "w");
		if (!truth || !cat || !vids)
			die(out + ": cannot write: " + strerror(errno));
		for (auto &id : sc.order) {
			product &p = sc.products[id];
			fprintf(cat, "{\"type\":\"product\",\"id\":%s,"
			    "\"title\":%s,\"images\":[%s]}\n",
			    json_str(p.id).c_str(), json_str(p.title).c_str(),
			    json_str(p.path).c_str());
			fprintf(truth, "{\"type\":\"truth-product\","
			    "\"product\":%s,\"image\":%s,\"src\":%s,"
			    "\"w\":%d,\"h\":%d,\"shown\":%s,\"like\":%s}\n",
			    json_str(p.id).c_str(), json_str(p.path).c_str(),
			    json_str(p.file).c_str(), p.img.cols, p.img.rows,
			    p.shown ? "true" : "false", p.like.empty() ?
			    "null" : json_str(p.like).c_str());
		}
		for (auto &c : sc.clips) {
			if (!only.empty() && c.id != only)
				continue;
			std::vector<truthrow> rows;
			int n;
			render(c, media, out, rows, &n);
			std::string vid = out + "/videos/" + c.id + ".mp4";
			fprintf(vids, "{\"type\":\"video\",\"id\":%s,"
			    "\"src\":%s}\n", json_str(c.id).c_str(),
			    json_str(vid).c_str());
			std::vector<std::string> tags = c.tags;
			if (c.reenc)
				tags.push_back("reencoded");
			fprintf(truth, "{\"type\":\"truth-video\","
			    "\"video\":%s,\"src\":%s,\"w\":%d,\"h\":%d,"
			    "\"fps\":%d,\"frames\":%d,\"tags\":%s}\n",
			    json_str(c.id).c_str(), json_str(vid).c_str(),
			    c.w, c.h, c.fps, n, json_tags(tags).c_str());
			write_truth(truth, c, tags, rows);
			fprintf(stderr, "accgen: %s: %d frames\n",
			    c.id.c_str(), n);
		}
		if (fclose(truth) || fclose(cat) || fclose(vids))
			die(out + ": write error: " + strerror(errno));
	} catch (const cv::Exception &e) {
		die(std::string("opencv: ") + e.what());
	} catch (const std::exception &e) {
		die(e.what());
	}
	return 0;
}
