/*
 * cvimage: image headers (imghdr.c) and decoding (src/cv/image.cc) on
 * real images, damaged ones and made-up ones.
 */
#include <string.h>

#include "bigpng.h"
#include "cv.h"
#include "err.h"
#include "imghdr.h"
#include "tap.h"
#include "testdata.h"

/* Does probing p fail with a reason containing want? */
static int
refused(const void *p, size_t n, const char *want, const char *title)
{
	int w = -1, h = -1, r;

	r = cv_image_probe(p, n, &w, &h);
	if (r != -1 || strstr(pm_why(), want) == NULL)
		diag("%s: got %d (%dx%d): %s", title, r, w, h,
		    r == -1 ? pm_why() : "");
	return ok(r == -1 && strstr(pm_why(), want) != NULL && w == 0 &&
	    h == 0, "%s: refused: %s", title, want);
}

static void
real(const char *name, int ew, int eh, const char *fmt)
{
	unsigned char *p;
	struct imghdr hd;
	size_t n;
	int w, h;

	if ((p = testdata(name, &n)) == NULL) {
		ok(0, "%s: read", name);
		ok(0, "%s: header", name);
		return;
	}
	ok(cv_image_probe(p, n, &w, &h) == 0 && w == ew && h == eh,
	    "%s: probe %dx%d", name, ew, eh);
	ok(imghdr_read(p, n, &hd) == 0 && strcmp(hd.format, fmt) == 0,
	    "%s: header says %s", name, fmt);
	free(p);
}

int
main(void)
{
	unsigned char *p, *q, *jpg, *pix, gray[16 * 16];
	const char *html = "<!DOCTYPE html><html><body>404</body></html>\n";
	size_t n, jn;
	int w, h, r;

	tap_plan(29);
	real("graf1.png", 800, 640, "png");
	real("HappyFish.jpg", 259, 194, "jpeg");
	real("box.png", 324, 223, "png");
	real("opencv-logo.png", 600, 794, "png");

	refused("", 0, "empty", "0 bytes");
	refused(html, strlen(html), "HTML", "a web page");
	refused("GIF89a\x01\x00\x01\x00\x00\x00\x00", 13, "GIF", "a GIF");
	refused("\x00\x01\x02\x03\xff\xfe\xfd", 7, "not an image",
	    "binary garbage");

	/* damaged copies of real images */
	p = testdata("HappyFish.jpg", &n);
	refused(p, n / 2, "truncated JPEG", "half a JPEG");
	refused(p, 20, "truncated JPEG", "a JPEG's first 20 bytes");
	q = malloc(n);
	memcpy(q, p, n);
	memset(q + 4, 0, 40);
	refused(q, n, "damaged JPEG", "a JPEG with its header zeroed");
	free(q);
	free(p);
	p = testdata("box.png", &n);
	refused(p, n / 2, "truncated PNG", "half a PNG");
	q = malloc(n);
	memcpy(q, p, n);
	q[n / 2] ^= 0x5a;
	refused(q, n, "bad CRC", "a PNG with a flipped byte");
	free(q);
	refused(p, 16, "PNG", "a PNG's first 16 bytes");
	free(p);

	/* made-up images: tiny, and too large to decode */
	memset(gray, 128, sizeof gray);
	ok(cv_jpeg_encode(gray, 1, 1, 1, 1, 90, &jpg, &jn) == 0 &&
	    cv_image_probe(jpg, jn, &w, &h) == 0 && w == 1 && h == 1,
	    "a 1x1 JPEG probes as 1x1");
	free(jpg);
	p = bigpng(100, 50, &n);
	ok(cv_image_probe(p, n, &w, &h) == 0 && w == 100 && h == 50,
	    "the PNG writer of the next test writes valid PNGs");
	free(p);
	p = bigpng(20000, 20000, &n);
	diag("a 20000x20000 PNG in %zu bytes", n);
	refused(p, n, "too large: 20000x20000", "a 20000x20000 PNG");
	free(p);
	p = bigpng(40000, 10, &n);
	refused(p, n, "too large: 40000x10", "a 40000x10 PNG");
	free(p);
	p = bigpng(0, 10, &n);
	refused(p, n, "0x10", "a 0x10 PNG");
	free(p);

	/* mutated and cut headers of real images: the header reader
	 * answers (under ASan: without reading outside the buffer) */
	{
		static const char *names[] = { "HappyFish.jpg", "box.png",
		    "graf1.png", "baboon.jpg" };
		uint32_t x = 88172645u;
		int k, round, answered = 0, total = 0;
		struct imghdr hd;

		for (k = 0; k < 4; k++) {
			p = testdata(names[k], &n);
			for (round = 0; round < 1000; round++) {
				size_t len, i;

				x ^= x << 13, x ^= x >> 17, x ^= x << 5;
				len = x % (n < 4096 ? n : 4096);
				q = malloc(len ? len : 1);
				memcpy(q, p, len);
				for (i = 0; i < (size_t)(1 + round % 8) && len > 0;
				    i++) {
					x ^= x << 13, x ^= x >> 17, x ^= x << 5;
					q[x % len] = (unsigned char)(x >> 8);
				}
				r = imghdr_read(q, len, &hd);
				answered += (r == 0 && hd.w >= 1 && hd.h >= 1 &&
				    (long)hd.w * hd.h <= IMG_MAX_PIXELS) ||
				    (r == -1 && strlen(pm_why()) > 0);
				total++;
				free(q);
			}
			free(p);
		}
		ok(answered == total, "%d mutated headers: each read within "
		    "the limits or refused with a reason", total);
	}

	/* EXIF orientation 6 (rotate 90 degrees clockwise to display): an
	 * APP1 segment put into a real JPEG after its SOI marker */
	{
		static const unsigned char app1[] = {
			0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
			'I', 'I', 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00,
			0x01, 0x00,			/* one entry */
			0x12, 0x01, 0x03, 0x00,		/* Orientation, SHORT */
			0x01, 0x00, 0x00, 0x00,		/* count 1 */
			0x06, 0x00, 0x00, 0x00,		/* 6 */
			0x00, 0x00, 0x00, 0x00		/* no next IFD */
		};

		p = testdata("HappyFish.jpg", &n);
		q = malloc(n + sizeof app1);
		memcpy(q, p, 2);
		memcpy(q + 2, app1, sizeof app1);
		memcpy(q + 2 + sizeof app1, p + 2, n - 2);
		r = cv_image_probe(q, n + sizeof app1, &w, &h);
		ok(r == 0 && w == 194 && h == 259, "EXIF orientation 6: "
		    "259x194 probes as displayed, %dx%d", w, h);
		free(q);
		free(p);
	}

	/* decoding: gray and colour, alpha over white */
	p = testdata("opencv-logo.png", &n);
	ok(cv_image_decode(p, n, 3, &pix, &w, &h) == 0 && w == 600 &&
	    h == 794 && pix[0] == 255 && pix[1] == 255 && pix[2] == 255,
	    "transparent corner of a PNG decodes to white");
	free(pix);
	free(p);
	p = testdata("HappyFish.jpg", &n);
	ok(cv_image_decode(p, n, 1, &pix, &w, &h) == 0 && w == 259 &&
	    h == 194, "a JPEG decodes to gray");
	ok(cv_jpeg_encode(pix, w, h, 1, (size_t)w, 90, &jpg, &jn) == 0 &&
	    cv_image_probe(jpg, jn, &w, &h) == 0 && w == 259 && h == 194,
	    "re-encoded as JPEG, it probes the same size");
	free(jpg);
	free(pix);
	free(p);
	ok(cv_jpeg_encode(gray, 0, 1, 1, 1, 90, &jpg, &jn) == -1 &&
	    cv_image_decode("x", 1, 2, &pix, &w, &h) == -1,
	    "bad arguments are refused");
	return tap_done();
}
