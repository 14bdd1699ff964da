/*
 * features-ref: the references bench/features.sh measures pm against,
 * written as one would with OpenCV alone.
 *
 * usage: features-ref detect rootsift|sift|orb|akaze threads side file...
 *	Decode each file (gray), scale it to the longer side, detect and
 *	describe; threads workers with OpenCV single-threaded, or with
 *	threads 0 one image at a time on OpenCV's own thread pool.
 *	Prints images/s.
 *
 *	features-ref match runs catalog frame [catalog frame ...]
 *	For each pair of images (keypoints by pm's cv_kp_extract() with
 *	its defaults): pm's cv_verify(), and OpenCV's BFMatcher and FLANN
 *	(4 KD-trees, 32 checks) each with the ratio test and
 *	findHomography(RANSAC, 3 px).  Prints CPU ms per pair (OpenCV
 *	single-threaded), the matches and the inliers.
 */
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/flann.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern "C" {
#include "cv.h"
#include "err.h"
#include "kpblob.h"
}

static double
now()
{
	return std::chrono::duration<double>(
	    std::chrono::steady_clock::now().time_since_epoch()).count();
}

/* CPU seconds of this process: steadier than the wall clock on a shared
 * machine, and the same thing here, where OpenCV runs single-threaded
 * (pm's shim sets that on its first call) */
static double
cpu()
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static std::vector<unsigned char>
slurp(const char *path)
{
	std::ifstream f(path, std::ios::binary);

	return std::vector<unsigned char>(std::istreambuf_iterator<char>(f),
	    std::istreambuf_iterator<char>());
}

static cv::Ptr<cv::Feature2D>
detector(const std::string &name)
{
	if (name == "orb")
		return cv::ORB::create(8000);
	if (name == "akaze")
		return cv::AKAZE::create();
	return cv::SIFT::create(0, 3, 0.04, 10, 1.6, CV_8U);
}

static void
detect_one(const char *path, const std::string &name, int side)
{
	std::vector<unsigned char> buf = slurp(path);
	cv::Mat im = cv::imdecode(buf, cv::IMREAD_GRAYSCALE), d;
	std::vector<cv::KeyPoint> kps;

	if (im.empty()) {
		fprintf(stderr, "features-ref: %s: cannot decode\n", path);
		exit(1);
	}
	if (std::max(im.cols, im.rows) > side) {
		double s = (double)side / std::max(im.cols, im.rows);
		cv::resize(im, im, cv::Size((int)lround(im.cols * s),
		    (int)lround(im.rows * s)), 0, 0, cv::INTER_AREA);
	}
	detector(name)->detectAndCompute(im, cv::noArray(), kps, d);
}

static int
detect(int argc, char **argv)
{
	std::string name = argv[0];
	int threads = atoi(argv[1]), side = atoi(argv[2]);
	char **files = argv + 3;
	int n = argc - 3;
	double t0 = now();

	if (threads == 0) {
		cv::setNumThreads(-1);
		for (int i = 0; i < n; i++)
			detect_one(files[i], name, side);
	} else {
		std::atomic<int> next(0);
		std::vector<std::thread> pool;

		cv::setNumThreads(1);
		for (int t = 0; t < threads; t++)
			pool.emplace_back([&] {
				int i;

				while ((i = next++) < n)
					detect_one(files[i], name, side);
			});
		for (auto &t : pool)
			t.join();
	}
	double s = now() - t0;
	printf("%.2f images/s (%d images in %.2f s)\n", n / s, n, s);
	return 0;
}

struct set {
	struct cv_kpset		*pm;
	std::vector<cv::Point2f> pt;
	cv::Mat			 desc;	/* float, for OpenCV's matchers */
};

static set
load(const char *path)
{
	std::vector<unsigned char> img = slurp(path);
	struct cv_kp_opts o;
	struct kpblob b;
	struct kpblob_kp kp;
	void *blob;
	size_t len;
	int nkp;
	set s;

	cv_kp_defaults(&o);
	if (cv_kp_extract(img.data(), img.size(), &o, &blob, &len, &nkp) ==
	    -1 || kpblob_parse(&b, blob, len) == -1) {
		fprintf(stderr, "features-ref: %s: %s\n", path, pm_why());
		exit(1);
	}
	s.pm = cv_kpset_new(blob, len);
	for (int i = 0; i < b.n; i++) {
		kpblob_get(&b, i, &kp);
		s.pt.push_back(cv::Point2f(kp.x, kp.y));
	}
	cv::Mat(b.n, b.descsize, CV_8U, (void *)b.desc).convertTo(s.desc,
	    CV_32F);
	free(blob);
	return s;
}

/* OpenCV's way: knnMatch from the catalog into the frame, ratio test,
 * findHomography RANSAC; the inliers. */
static int
opencv_pair(const set &c, const set &f, bool flann, int *nmatch)
{
	std::vector<std::vector<cv::DMatch>> knn;
	std::vector<cv::Point2f> a, b;

	if (flann) {
		cv::FlannBasedMatcher m(cv::makePtr<cv::flann::KDTreeIndexParams>(4),
		    cv::makePtr<cv::flann::SearchParams>(32));
		m.knnMatch(c.desc, f.desc, knn, 2);
	} else {
		cv::BFMatcher m(cv::NORM_L2);
		m.knnMatch(c.desc, f.desc, knn, 2);
	}
	for (auto &k : knn)
		if (k.size() == 2 && k[0].distance < 0.8f * k[1].distance) {
			a.push_back(c.pt[k[0].queryIdx]);
			b.push_back(f.pt[k[0].trainIdx]);
		}
	*nmatch = (int)a.size();
	if (a.size() < 4)
		return 0;
	cv::Mat mask;
	cv::Mat H = cv::findHomography(a, b, cv::RANSAC, 3, mask);
	return H.empty() ? 0 : cv::countNonZero(mask);
}

static int
match(int argc, char **argv)
{
	int runs = atoi(argv[0]);
	struct cv_verify_params p;

	cv_verify_defaults(&p);
	printf("%-40s %-13s %11s %8s %8s\n", "pair (keypoints)", "method",
	    "CPU ms/pair", "matches", "inliers");
	for (int i = 1; i + 1 < argc; i += 2) {
		set c = load(argv[i]), f = load(argv[i + 1]);
		char pair[256];
		struct cv_match m;
		int nm = 0, ni = 0;
		double t;

		snprintf(pair, sizeof pair, "%s -> %s (%d, %d)",
		    strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i],
		    strrchr(argv[i + 1], '/') ? strrchr(argv[i + 1], '/') + 1 :
		    argv[i + 1], c.desc.rows, f.desc.rows);
		for (int robust = CV_RANSAC; robust <= CV_MAGSAC; robust++) {
			p.robust = robust;
			t = cpu();
			for (int r = 0; r < runs; r++) {
				cv_verify(c.pm, f.pm, &p, &m);
				if (r < runs - 1)
					cv_match_free(&m);
			}
			t = (cpu() - t) / runs;
			printf("%-40s %-13s %11.1f %8d %8d%s\n", pair,
			    robust == CV_RANSAC ? "pm, RANSAC" : "pm, MAGSAC",
			    t * 1e3, m.matches, m.inliers,
			    m.verified ? "" : " (not verified)");
			cv_match_free(&m);
		}
		for (int flann = 0; flann < 2; flann++) {
			t = cpu();
			for (int r = 0; r < runs; r++)
				ni = opencv_pair(c, f, flann, &nm);
			t = (cpu() - t) / runs;
			printf("%-40s %-13s %11.1f %8d %8d\n", pair,
			    flann ? "FLANN+RANSAC" : "BF+RANSAC", t * 1e3, nm,
			    ni);
		}
		cv_kpset_free(c.pm);
		cv_kpset_free(f.pm);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	pm_init(argv[0]);
	if (argc >= 6 && strcmp(argv[1], "detect") == 0)
		return detect(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "match") == 0)
		return match(argc - 2, argv + 2);
	fprintf(stderr, "usage: features-ref detect detector threads side "
	    "file...\n       features-ref match runs catalog frame ...\n");
	return 2;
}
