/*
 * distract: distractor product images for bench/match.sh, made from
 * real images: a crop, mirrored or not, turned by a quarter turn or
 * not, recoloured (a channel swap, a hue turn or a gamma), scaled so
 * the longer side is 240 to 480 pixels.
 *
 *	distract [-f first] [-n count] -o dir image ...
 *
 * Writes dir/NNN/dNNNNNNN.jpg (quality 85) for the numbers first ..
 * first + count - 1 and prints a product record for each on standard
 * output ({"type":"product","id":"dNNNNNNN","images":[path]}).  Image i
 * is made from image i modulo the number of images, with a generator
 * seeded by i: the same number gives the same image, whatever the
 * count.
 */
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace {

[[noreturn]] void
die(const std::string &msg)
{
	fprintf(stderr, "distract: %s\n", msg.c_str());
	exit(2);
}

void
usage()
{
	fprintf(stderr, "usage: distract [-f first] [-n count] -o dir "
	    "image ...\n");
	exit(2);
}

long
number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 ||
	    v > 100000000)
		usage();
	return v;
}

cv::Mat
make(const cv::Mat &src, long i)
{
	cv::RNG rng((uint64_t)i * 2654435761u + 12345);
	/* a crop of a quarter to all of the area, aspect 1:2 to 2:1 */
	double area = rng.uniform(0.25, 1.0);
	double aspect = std::exp(rng.uniform(-0.69, 0.69));
	int w = std::min(src.cols, (int)(src.cols * std::sqrt(area * aspect)));
	int h = std::min(src.rows, (int)(src.rows * std::sqrt(area / aspect)));
	w = std::max(w, 16);
	h = std::max(h, 16);
	int x = rng.uniform(0, src.cols - w + 1);
	int y = rng.uniform(0, src.rows - h + 1);
	cv::Mat m = src(cv::Rect(x, y, w, h)).clone();
	if (rng.uniform(0, 2))
		cv::flip(m, m, 1);
	switch (rng.uniform(0, 4)) {
	case 1:
		cv::rotate(m, m, cv::ROTATE_90_CLOCKWISE);
		break;
	case 2:
		cv::rotate(m, m, cv::ROTATE_180);
		break;
	case 3:
		cv::rotate(m, m, cv::ROTATE_90_COUNTERCLOCKWISE);
		break;
	}
	switch (rng.uniform(0, 3)) {
	case 0: {
		/* a channel permutation other than the identity */
		static const int perm[5][3] = { { 0, 2, 1 }, { 1, 0, 2 },
		    { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
		const int *p = perm[rng.uniform(0, 5)];
		std::vector<cv::Mat> ch;
		cv::split(m, ch);
		std::vector<cv::Mat> out = { ch[p[0]], ch[p[1]], ch[p[2]] };
		cv::merge(out, m);
		break;
	}
	case 1: {
		cv::Mat hsv;
		cv::cvtColor(m, hsv, cv::COLOR_BGR2HSV);
		int turn = rng.uniform(20, 160);
		for (int r = 0; r < hsv.rows; r++)
			for (int c = 0; c < hsv.cols; c++) {
				uchar &hue = hsv.at<cv::Vec3b>(r, c)[0];
				hue = (uchar)((hue + turn) % 180);
			}
		cv::cvtColor(hsv, m, cv::COLOR_HSV2BGR);
		break;
	}
	default: {
		double g = std::exp(rng.uniform(-0.5, 0.5));
		cv::Mat lut(1, 256, CV_8U);
		for (int v = 0; v < 256; v++)
			lut.at<uchar>(v) = cv::saturate_cast<uchar>(255 *
			    std::pow(v / 255.0, g));
		cv::LUT(m, lut, m);
		break;
	}
	}
	int side = rng.uniform(240, 481);
	double s = (double)side / std::max(m.cols, m.rows);
	cv::resize(m, m, cv::Size(std::max(16, (int)lround(m.cols * s)),
	    std::max(16, (int)lround(m.rows * s))), 0, 0, s < 1 ?
	    cv::INTER_AREA : cv::INTER_CUBIC);
	return m;
}

} /* namespace */

int
main(int argc, char **argv)
{
	std::string dir;
	long first = 0, count = 1000;
	int ch;

	while ((ch = getopt(argc, argv, "f:n:o:")) != -1) {
		switch (ch) {
		case 'f':
			first = number(optarg);
			break;
		case 'n':
			count = number(optarg);
			break;
		case 'o':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (dir.empty() || optind == argc)
		usage();
	try {
		cv::setNumThreads(1);
		std::vector<cv::Mat> src;
		for (int i = optind; i < argc; i++) {
			cv::Mat m = cv::imread(argv[i], cv::IMREAD_COLOR);
			if (m.empty())
				die(std::string(argv[i]) + ": cannot read");
			src.push_back(m);
		}
		char *abs = realpath(dir.c_str(), nullptr);
		if (abs == nullptr)
			die(dir + ": " + strerror(errno));
		dir = abs;
		free(abs);
		for (long i = first; i < first + count; i++) {
			char sub[16], name[32];
			snprintf(sub, sizeof sub, "%03ld", i / 1000 % 1000);
			snprintf(name, sizeof name, "d%07ld", i);
			std::string d = dir + "/" + sub;
			if (mkdir(d.c_str(), 0777) == -1 && errno != EEXIST)
				die(d + ": " + strerror(errno));
			std::string path = d + "/" + name + ".jpg";
			struct stat st;
			if (stat(path.c_str(), &st) == -1 || st.st_size == 0) {
				cv::Mat m = make(src[i % src.size()], i);
				if (!cv::imwrite(path + ".tmp.jpg", m,
				    { cv::IMWRITE_JPEG_QUALITY, 85 }) ||
				    rename((path + ".tmp.jpg").c_str(),
				    path.c_str()) == -1)
					die(path + ": cannot write");
			}
			printf("{\"type\":\"product\",\"id\":\"%s\","
			    "\"images\":[\"%s\"]}\n", name, path.c_str());
		}
	} catch (const cv::Exception &e) {
		die(std::string("opencv: ") + e.what());
	}
	if (fclose(stdout) == EOF)
		die(std::string("stdout: ") + strerror(errno));
	return 0;
}
