/*
 * cvkp: local features (src/cv/kp.cc) on real images: determinism in
 * one thread and in many, the cap, scaling, the spread over the image,
 * the foreground mask, and bad input.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "bigpng.h"
#include "cv.h"
#include "err.h"
#include "kpblob.h"
#include "tap.h"
#include "testdata.h"

struct img {
	unsigned char	*p;
	size_t		 n;
};

static struct img graf1, graf3;

static int
extract(const struct img *im, const struct cv_kp_opts *o, void **blob,
    size_t *len, struct kpblob *b)
{
	int nkp;

	if (cv_kp_extract(im->p, im->n, o, blob, len, &nkp) == -1) {
		diag("cv_kp_extract: %s", pm_why());
		return -1;
	}
	if (kpblob_parse(b, *blob, *len) == -1) {
		diag("kpblob_parse: %s", pm_why());
		return -1;
	}
	return nkp == b->n ? 0 : -1;
}

/* A gray image as JPEG, quality 95. */
static struct img
jpeg(const unsigned char *pix, int w, int h)
{
	struct img im = { NULL, 0 };

	if (cv_jpeg_encode(pix, w, h, 1, (size_t)w, 95, &im.p, &im.n) == -1)
		diag("cv_jpeg_encode: %s", pm_why());
	return im;
}

/* How many keypoints lie in the rectangle x0,y0 - x1,y1? */
static int
inside(const struct kpblob *b, double x0, double y0, double x1, double y1)
{
	struct kpblob_kp kp;
	int i, c = 0;

	for (i = 0; i < b->n; i++) {
		kpblob_get(b, i, &kp);
		c += kp.x >= x0 && kp.x <= x1 && kp.y >= y0 && kp.y <= y1;
	}
	return c;
}

/* Does extraction fail (-1, no blob) with a reason containing want? */
static void
refused(const void *p, size_t n, const struct cv_kp_opts *o,
    const char *want, const char *title)
{
	void *blob;
	size_t len;
	int nkp, r;
	const char *why;

	r = cv_kp_extract(p, n, o, &blob, &len, &nkp);
	why = r == -1 ? pm_why() : "(no error)";
	ok(r == -1 && blob == NULL && strstr(why, want) != NULL, "%s: %s",
	    title, why);
}

struct job {
	void	*blob[4];
	size_t	 len[4];
};

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct cv_kp_opts o;
	struct kpblob b;
	int i;

	cv_kp_defaults(&o);
	for (i = 0; i < 4; i++)
		if (extract(i % 2 ? &graf3 : &graf1, &o, &j->blob[i],
		    &j->len[i], &b) == -1)
			j->blob[i] = NULL;
	return NULL;
}

int
main(void)
{
	struct cv_kp_opts o;
	struct kpblob b, b2;
	struct img im, box, baboon;
	unsigned char *pix, *bpix, *frame, *canvas;
	void *blob, *blob2;
	size_t len, len2;
	int i, j, w, h, bw, bh, same, x, y;

	tap_plan(30);
	graf1.p = testdata("graf1.png", &graf1.n);
	graf3.p = testdata("graf3.png", &graf3.n);
	box.p = testdata("box.png", &box.n);
	baboon.p = testdata("baboon.jpg", &baboon.n);
	if (!graf1.p || !graf3.p || !box.p || !baboon.p)
		return 1;

	/* determinism */
	cv_kp_defaults(&o);
	ok(extract(&graf1, &o, &blob, &len, &b) == 0 && b.n == 2000 &&
	    b.detector == KPBLOB_SIFT && b.w == 800 && b.dw == 800,
	    "graf1: 2000 SIFT keypoints (the default cap)");
	ok(extract(&graf1, &o, &blob2, &len2, &b2) == 0 && len == len2 &&
	    memcmp(blob, blob2, len) == 0, "graf1 twice: identical blobs");
	free(blob2);
	{
		pthread_t t[3];
		struct job jobs[3];
		void *ref3;
		size_t reflen3;

		extract(&graf3, &o, &ref3, &reflen3, &b2);
		for (i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, worker, &jobs[i]);
		same = 1;
		for (i = 0; i < 3; i++) {
			pthread_join(t[i], NULL);
			for (j = 0; j < 4; j++) {
				void *r = j % 2 ? ref3 : blob;
				size_t rl = j % 2 ? reflen3 : len;

				same = same && jobs[i].blob[j] &&
				    jobs[i].len[j] == rl &&
				    memcmp(jobs[i].blob[j], r, rl) == 0;
				free(jobs[i].blob[j]);
			}
		}
		ok(same, "3 threads, 12 extractions at once: the same blobs "
		    "as one thread");
		free(ref3);
	}
	{
		struct kpblob_kp k0, k1;

		kpblob_get(&b, 0, &k0);
		kpblob_get(&b, b.n - 1, &k1);
		ok(k0.response >= k1.response, "keypoints strongest first");
	}
	free(blob);

	/* the cap, scaling, and the other detectors */
	o.max_kp = 100;
	ok(extract(&graf1, &o, &blob, &len, &b) == 0 && b.n == 100,
	    "a cap of 100 keeps 100");
	free(blob);
	cv_kp_defaults(&o);
	o.max_side = 400;
	ok(extract(&graf1, &o, &blob, &len, &b) == 0 && b.dw == 400 &&
	    b.dh == 320 && b.w == 800 && b.scale == 0.5f,
	    "max side 400: the detector saw 400x320");
	ok(inside(&b, 600, 0, 800, 640) > 0 && inside(&b, -0.5, -0.5,
	    799.5, 639.5) == b.n, "... keypoints in the original's pixels");
	free(blob);
	{
		struct img wide;

		wide.p = bigpng(5000, 100, &wide.n);
		cv_kp_defaults(&o);
		o.max_side = 0;
		ok(extract(&wide, &o, &blob, &len, &b) == 0 && b.w == 5000 &&
		    b.dw == CV_MAX_DETECT && b.dh == 82 && b.n == 0,
		    "max side 0: a 5000x100 image is still scaled to %d",
		    CV_MAX_DETECT);
		free(blob);
		free(wide.p);
	}
	cv_kp_defaults(&o);
	o.detector = CV_ORB;
	o.rootsift = 0;
	ok(extract(&graf1, &o, &blob, &len, &b) == 0 && b.n == 2000 &&
	    b.detector == KPBLOB_ORB && b.desctype == KPBLOB_HAMMING &&
	    b.descsize == 32, "ORB: 2000 keypoints, 32-byte binary "
	    "descriptors");
	free(blob);
	o.detector = CV_AKAZE;
	ok(extract(&graf1, &o, &blob, &len, &b) == 0 && b.n > 500 &&
	    b.n <= 2000 && b.detector == KPBLOB_AKAZE && b.descsize == 61,
	    "AKAZE: %d keypoints, 61-byte binary descriptors", b.n);
	free(blob);

	/* RootSIFT */
	cv_kp_defaults(&o);
	o.max_kp = 300;
	o.rootsift = 0;
	extract(&graf1, &o, &blob, &len, &b);
	o.rootsift = 1;
	ok(extract(&graf1, &o, &blob2, &len2, &b2) == 0 &&
	    (b2.flags & KPBLOB_ROOTSIFT) && b2.n == b.n &&
	    memcmp(b.kp, b2.kp, (size_t)b.n * KPBLOB_KPSIZE) == 0 &&
	    memcmp(b.desc, b2.desc, (size_t)b.n * 128) != 0,
	    "RootSIFT: the same keypoints, other descriptors, flagged");
	{
		double worst = 0;

		for (i = 0; i < b2.n; i++) {
			double s = 0;

			for (j = 0; j < 128; j++)
				s += b2.desc[i * 128 + j] *
				    (double)b2.desc[i * 128 + j];
			worst = fmax(worst, fabs(sqrt(s) / 512 - 1));
		}
		ok(worst < 0.03, "RootSIFT descriptors have L2 norm 512 "
		    "(worst %.4f off)", worst);
	}
	free(blob);
	free(blob2);

	/*
	 * The spread: a 1280x720 frame of baboon fur (tiled) with box.png
	 * at half size, in dim light (a third of its contrast), in the
	 * bottom-right corner: 15% of the frame's height.  Strongest
	 * first, the fur takes the keypoints; spread out, the box keeps
	 * enough to be found.
	 */
	if (cv_image_decode(baboon.p, baboon.n, 1, &pix, &w, &h) == -1 ||
	    cv_image_decode(box.p, box.n, 1, &bpix, &bw, &bh) == -1)
		return 1;
	frame = malloc(1280 * 720);
	for (y = 0; y < 720; y++)
		for (x = 0; x < 1280; x++)
			frame[y * 1280 + x] = pix[(y % h) * w + x % w];
	for (y = 0; y < bh / 2; y++)
		for (x = 0; x < bw / 2; x++)
			frame[(560 + y) * 1280 + 1100 + x] = (unsigned char)
			    ((bpix[2 * y * bw + 2 * x] +
			    bpix[2 * y * bw + 2 * x + 1] +
			    bpix[(2 * y + 1) * bw + 2 * x] +
			    bpix[(2 * y + 1) * bw + 2 * x + 1]) / 12 + 20);
	im = jpeg(frame, 1280, 720);
	{
		struct cv_kpset *cat, *fr;
		struct cv_verify_params vp;
		struct cv_match m[3];
		int on[3];
		void *cb;
		size_t cl;
		static const char *names[] = { "strongest", "grid", "anms" };

		cv_kp_defaults(&o);
		extract(&box, &o, &cb, &cl, &b);
		cat = cv_kpset_new(cb, cl);
		cv_verify_defaults(&vp);
		for (i = 0; i < 3; i++) {
			o.spread = i;
			extract(&im, &o, &blob, &len, &b);
			on[i] = inside(&b, 1100, 560, 1100 + bw / 2,
			    560 + bh / 2);
			fr = cv_kpset_new(blob, len);
			cv_verify(cat, fr, &vp, &m[i]);
			diag("%s: %d keypoints on the box; found %d, %d "
			    "inliers, box %.1f,%.1f %.1f,%.1f", names[i],
			    on[i], m[i].verified, m[i].inliers, m[i].box[0],
			    m[i].box[1], m[i].box[4], m[i].box[5]);
			cv_kpset_free(fr);
			free(blob);
		}
		ok(on[CV_SPREAD_ANMS] > 2 * on[CV_SPREAD_NONE] &&
		    on[CV_SPREAD_GRID] > on[CV_SPREAD_NONE],
		    "spread out, the dim box keeps more keypoints");
		ok(m[CV_SPREAD_ANMS].verified &&
		    fabs(m[2].box[0] - 1099.75) < 3 &&
		    fabs(m[2].box[1] - 559.75) < 3 && fabs(m[2].box[4] -
		    (1100 + bw / 2.0 - 0.25)) < 3 && fabs(m[2].box[5] -
		    (560 + bh / 2.0 - 0.25)) < 3, "... verification finds it "
		    "there");
		ok(m[CV_SPREAD_ANMS].inliers > m[CV_SPREAD_NONE].inliers,
		    "... with more inliers than the strongest keypoints give");
		{
			/* the part of the frame around the box alone, from
			 * its pixels; then seen at most 100 pixels a side */
			const double rect[4] = { 1050, 520, 1280, 720 };
			struct cv_match mr;
			struct cv_bgr pic;
			unsigned char *bgr = NULL;
			int nkp, all, side, n0 = 0;

			if (cv_image_decode(im.p, im.n, 3, &bgr, &pic.pw,
			    &pic.ph) == -1)
				diag("cv_image_decode: %s", pm_why());
			pic.pix = bgr;
			pic.stride = (size_t)pic.pw * 3;
			pic.w = pic.pw;
			pic.h = pic.ph;
			cv_kp_defaults(&o);
			for (side = 0; side <= 100; side += 100) {
				if (cv_kp_extract_bgr_in(&pic, &o, rect, side,
				    &blob, &len, &nkp) == -1 ||
				    kpblob_parse(&b, blob, len) == -1)
					diag("cv_kp_extract_bgr_in: %s",
					    pm_why());
				all = inside(&b, 1050 - 22, 520 - 22, 1280,
				    720);
				fr = cv_kpset_new(blob, len);
				cv_verify(cat, fr, &vp, &mr);
				ok(b.n > 0 && all == b.n && b.w == 1280 &&
				    b.dw == 960 && (side > 0 ? b.n < n0 / 2 :
				    inside(&b, 1100, 560, 1100 + bw / 2, 560 +
				    bh / 2) >= on[CV_SPREAD_ANMS]) &&
				    mr.verified &&
				    fabs(mr.box[0] - 1099.75) < 3 &&
				    fabs(mr.box[5] - (560 + bh / 2.0 - 0.25)) <
				    3, "a part of the frame, seen at most %d "
				    "pixels a side: its %d keypoints there, the "
				    "box found with %d inliers", side ? side :
				    960, b.n, mr.inliers);
				n0 = b.n;
				cv_match_free(&mr);
				cv_kpset_free(fr);
				free(blob);
			}
			free(bgr);
		}
		for (i = 0; i < 3; i++)
			cv_match_free(&m[i]);
		cv_kpset_free(cat);
		free(cb);
	}
	free(im.p);
	free(frame);

	/*
	 * The foreground mask: box.png on a white 640x480 canvas at
	 * 150,120, with a shop's "watermark" (a 64x24 patch of fur) in
	 * the bottom-right corner.  Keypoints off the box go; the
	 * foreground box is found.
	 */
	canvas = malloc(640 * 480);
	memset(canvas, 250, 640 * 480);
	for (y = 0; y < bh; y++)
		memcpy(canvas + (120 + y) * 640 + 150, bpix + y * bw,
		    (size_t)bw);
	for (y = 0; y < 24; y++)
		memcpy(canvas + (440 + y) * 640 + 560, pix + y * w, 64);
	im = jpeg(canvas, 640, 480);
	cv_kp_defaults(&o);
	extract(&im, &o, &blob, &len, &b);
	i = b.n - inside(&b, 150, 120, 150 + bw - 1, 120 + bh - 1);
	ok(!(b.flags & KPBLOB_MASKED) && b.fg[0] == 0 && b.fg[2] == 640,
	    "no mask: not flagged, foreground is the whole image");
	free(blob);
	for (int method = CV_MASK_BORDER; method <= CV_MASK_GRABCUT;
	    method++) {
		const char *name = method == CV_MASK_BORDER ? "border" :
		    "grabcut";

		o.mask = method;
		extract(&im, &o, &blob, &len, &b);
		j = b.n - inside(&b, 150 - 2, 120 - 2, 150 + bw + 1,
		    120 + bh + 1);
		diag("%s: fg %d,%d-%d,%d, %d keypoints off the box (%d "
		    "without a mask)", name, b.fg[0], b.fg[1], b.fg[2],
		    b.fg[3], j, i);
		ok((b.flags & KPBLOB_MASKED) && abs(b.fg[0] - 150) <= 4 &&
		    abs(b.fg[1] - 120) <= 4 && abs(b.fg[2] - (150 + bw)) <= 4 &&
		    abs(b.fg[3] - (120 + bh)) <= 4, "%s mask: the foreground "
		    "box is the product's", name);
		ok(j == 0 && b.n > 100, "%s mask: no keypoint off the product",
		    name);
		free(blob);
	}
	ok(i > 0, "(without a mask, %d keypoints were off the product)", i);
	free(im.p);
	/* a textured background is not plain: no mask */
	o.mask = CV_MASK_BORDER;
	extract(&baboon, &o, &blob, &len, &b);
	ok(!(b.flags & KPBLOB_MASKED), "a textured photo is left unmasked");
	free(blob);
	free(canvas);
	free(bpix);
	free(pix);

	/* bad input */
	cv_kp_defaults(&o);
	{
		unsigned char g[4] = { 1, 2, 3, 4 };
		unsigned char *big, *tiny;
		size_t bn, tn;

		cv_jpeg_encode(g, 1, 1, 1, 1, 90, &tiny, &tn);
		refused(tiny, tn, &o, "too small", "a 1x1 image");
		free(tiny);
		refused("", 0, &o, "empty", "0 bytes");
		refused("hello, world\n", 13, &o, "not an image", "text");
		big = bigpng(20000, 20000, &bn);
		refused(big, bn, &o, "too large", "a 20000x20000 PNG");
		free(big);
		o.detector = 9;
		refused(graf1.p, graf1.n, &o, "unknown detector",
		    "detector 9");
		o.detector = CV_ORB;
		o.rootsift = 1;
		refused(graf1.p, graf1.n, &o, "RootSIFT needs SIFT",
		    "RootSIFT of ORB");
	}
	free(graf1.p);
	free(graf3.p);
	free(box.p);
	free(baboon.p);
	return tap_done();
}
