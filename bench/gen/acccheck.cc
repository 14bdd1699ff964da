/*
 * acccheck: check accgen's ground truth against the pixels of its video.
 *
 *	acccheck [-D dir] [-f frames] [-s shift] truth.ndjson video
 *
 * Decodes the video (ffmpeg(1), raw BGR through a pipe) and, for every
 * frame where a product is wholly visible, maps the frame back onto the
 * product's catalog image through the true corners and measures how
 * alike they are (normalised cross-correlation of the grey images, both
 * blurred to the detail the frame can hold).  It does the same with the
 * corners moved by -s pixels (default 6), which must look less alike
 * if the truth is where the product was drawn.  Prints one line per
 * checked product and frame, then
 *
 *	checked N ncc MEDIAN shifted MEDIAN
 *
 * With -D, writes the frames listed in -f (numbers, comma-separated) as
 * PNG files into dir with every true outline drawn on them, so a person
 * can look.
 */
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern char **environ;

namespace {

[[noreturn]] void
die(const std::string &msg)
{
	fprintf(stderr, "acccheck: %s\n", msg.c_str());
	exit(2);
}

struct row {
	int frame;
	std::string product;
	cv::Point2f q[4];
	double visible;
};

struct cat {
	std::string image;
	cv::Mat grey;
};

double
median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* How alike the frame is to the catalog image through corners q. */
double
ncc(const cv::Mat &fgrey, const cv::Mat &cgrey, const cv::Point2f q[4])
{
	int iw = cgrey.cols, ih = cgrey.rows;
	cv::Point2f c[4] = { { -0.5f, -0.5f }, { iw - 0.5f, -0.5f },
	    { iw - 0.5f, ih - 0.5f }, { -0.5f, ih - 0.5f } };
	cv::Mat H = cv::getPerspectiveTransform(c, q);
	cv::Mat back;
	cv::warpPerspective(fgrey, back, H, cgrey.size(),
	    cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
	/* the frame holds detail down to a frame pixel: blur both to it */
	double side = std::sqrt(cv::contourArea(std::vector<cv::Point2f>(q,
	    q + 4)) / ((double)iw * ih));
	double sigma = std::max(1.0, 1.0 / std::max(side, 1e-3));
	cv::Mat a, b;
	cv::GaussianBlur(back, a, cv::Size(), sigma);
	cv::GaussianBlur(cgrey, b, cv::Size(), sigma);
	a.convertTo(a, CV_64F);
	b.convertTo(b, CV_64F);
	cv::Scalar ma, sa, mb, sb;
	cv::meanStdDev(a, ma, sa);
	cv::meanStdDev(b, mb, sb);
	if (sa[0] < 1e-6 || sb[0] < 1e-6)
		return 0;
	return cv::mean((a - ma[0]).mul(b - mb[0]))[0] / (sa[0] * sb[0]);
}

void
usage()
{
	fprintf(stderr, "usage: acccheck [-D dir] [-f frames] [-s shift] "
	    "truth.ndjson video\n");
	exit(2);
}

} /* namespace */

int
main(int argc, char **argv)
{
	std::string dir;
	std::set<int> draw;
	double shift = 6;
	int ch;

	while ((ch = getopt(argc, argv, "D:f:s:")) != -1) {
		switch (ch) {
		case 'D':
			dir = optarg;
			break;
		case 'f': {
			char *s = optarg, *end;
			for (;;) {
				long v = strtol(s, &end, 10);
				if (end == s || v < 0)
					usage();
				draw.insert((int)v);
				if (*end == '\0')
					break;
				if (*end != ',')
					usage();
				s = end + 1;
			}
			break;
		}
		case 's': {
			char *end;
			shift = strtod(optarg, &end);
			if (*end != '\0' || !(shift > 0))
				usage();
			break;
		}
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	const char *tpath = argv[optind], *video = argv[optind + 1];

	FILE *fp = fopen(tpath, "r");
	if (fp == nullptr)
		die(std::string(tpath) + ": " + strerror(errno));
	std::map<std::string, cat> cats;
	std::map<int, std::vector<row>> rows;
	std::string src;
	int w = 0, h = 0, nframes = 0;
	char *line = nullptr;
	size_t cap = 0;
	while (getline(&line, &cap, fp) > 0) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);
		if (j == nullptr)
			die(std::string(tpath) + ": " + e.text);
		std::string type = json_string_value(json_object_get(j,
		    "type")) ? json_string_value(json_object_get(j, "type")) :
		    "";
		const char *v = json_string_value(json_object_get(j, "video"));
		if (type == "truth-product") {
			cats[json_string_value(json_object_get(j, "product"))]
			    .image = json_string_value(json_object_get(j,
			    "image"));
		} else if (type == "truth-video" && v && !strcmp(v, video)) {
			src = json_string_value(json_object_get(j, "src"));
			w = (int)json_integer_value(json_object_get(j, "w"));
			h = (int)json_integer_value(json_object_get(j, "h"));
			nframes = (int)json_integer_value(json_object_get(j,
			    "frames"));
		} else if (type == "truth-frame" && v && !strcmp(v, video)) {
			row r;
			r.frame = (int)json_integer_value(json_object_get(j,
			    "frame"));
			r.product = json_string_value(json_object_get(j,
			    "product"));
			r.visible = json_number_value(json_object_get(j,
			    "visible"));
			json_t *box = json_object_get(j, "box");
			for (int k = 0; k < 4; k++) {
				json_t *p = json_array_get(box, k);
				r.q[k] = cv::Point2f(
				    (float)json_number_value(json_array_get(p,
				    0)), (float)json_number_value(
				    json_array_get(p, 1)));
			}
			rows[r.frame].push_back(r);
		}
		json_decref(j);
	}
	free(line);
	fclose(fp);
	if (src.empty())
		die(std::string(video) + ": no such video in the truth");

	for (auto &kv : cats) {
		kv.second.grey = cv::imread(kv.second.image,
		    cv::IMREAD_GRAYSCALE);
		if (kv.second.grey.empty())
			die(kv.second.image + ": cannot read");
	}

	int pfd[2];
	if (pipe(pfd) == -1)
		die(std::string("pipe: ") + strerror(errno));
	std::vector<std::string> args = { "ffmpeg", "-nostdin", "-v", "error",
	    "-i", src, "-f", "rawvideo", "-pix_fmt", "bgr24", "-" };
	std::vector<char *> av;
	for (auto &a : args)
		av.push_back(const_cast<char *>(a.c_str()));
	av.push_back(nullptr);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	pid_t pid;
	int e = posix_spawnp(&pid, "ffmpeg", &fa, nullptr, av.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		die(std::string("ffmpeg: ") + strerror(e));
	close(pfd[1]);

	std::vector<double> good, bad;
	cv::Mat frame(h, w, CV_8UC3), grey;
	int i;
	for (i = 0;; i++) {
		size_t n = (size_t)w * h * 3, got = 0;
		while (got < n) {
			ssize_t r = read(pfd[0], frame.data + got, n - got);
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += r;
		}
		if (got < n)
			break;
		cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
		for (auto &r : rows[i]) {
			if (r.visible < 0.999)
				continue;
			const cv::Mat &cg = cats[r.product].grey;
			double g = ncc(grey, cg, r.q);
			cv::Point2f s[4];
			/* each corner pushed outwards, as a loose box would */
			cv::Point2f mid = (r.q[0] + r.q[1] + r.q[2] + r.q[3]) /
			    4;
			for (int k = 0; k < 4; k++) {
				cv::Point2f d = r.q[k] - mid;
				double len = std::hypot(d.x, d.y);
				s[k] = r.q[k] + d * (float)(shift / len);
			}
			double b = ncc(grey, cg, s);
			good.push_back(g);
			bad.push_back(b);
			printf("%s %d %s ncc %.3f shifted %.3f\n", video, i,
			    r.product.c_str(), g, b);
		}
		if (!dir.empty() && draw.count(i)) {
			for (auto &r : rows[i]) {
				std::vector<cv::Point> poly;
				for (auto &p : r.q)
					poly.push_back(cv::Point(
					    (int)lround(p.x * 16),
					    (int)lround(p.y * 16)));
				cv::polylines(frame, poly, true,
				    cv::Scalar(0, 255, 0), 1, cv::LINE_AA, 4);
				cv::circle(frame, poly[0], 4 * 16,
				    cv::Scalar(0, 0, 255), 1, cv::LINE_AA, 4);
			}
			std::string out = dir + "/" + video + "-" +
			    std::to_string(i) + ".png";
			if (!cv::imwrite(out, frame))
				die(out + ": cannot write");
		}
	}
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(src + ": ffmpeg failed");
	if (i != nframes)
		die(src + ": " + std::to_string(i) + " frames, the truth: " +
		    std::to_string(nframes));
	printf("checked %zu ncc %.3f shifted %.3f\n", good.size(),
	    median(good), median(bad));
	return 0;
}
