/*
 * cvtrack: following a product from picture to picture (src/cv/track.cc)
 * on real images: box.png moved over building.jpg, at the pictures' own
 * size and at half the image's; its box must follow it, and be lost
 * where the product is taken away or nothing in the picture is it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cv.h"
#include "err.h"
#include "tap.h"
#include "testdata.h"

static unsigned char *
image(const char *name, int *w, int *h)
{
	unsigned char *p, *pix;
	size_t n;

	if ((p = testdata(name, &n)) == NULL)
		exit(1);
	if (cv_image_decode(p, n, 3, &pix, w, h) == -1) {
		printf("# %s: %s\n", name, pm_why());
		exit(1);
	}
	free(p);
	return pix;
}

static int bw, bh, pw, ph;
static unsigned char *bg, *prod;

/* The background with the product at x, y (or without it, x < 0). */
static unsigned char *
picture(int x, int y)
{
	unsigned char *p = malloc((size_t)bw * bh * 3);
	int r;

	memcpy(p, bg, (size_t)bw * bh * 3);
	for (r = 0; x >= 0 && r < ph; r++)
		memcpy(p + ((size_t)(y + r) * bw + x) * 3,
		    prod + (size_t)r * pw * 3, (size_t)pw * 3);
	return p;
}

/* The product's box at x, y in an image scale times the picture. */
static void
box_at(double x, double y, int scale, double *b)
{
	double c[8] = { x, y, x + pw, y, x + pw, y + ph, x, y + ph };
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (c[i] - 0.5) * scale + (scale - 1) * 0.5;
}

static double
box_err(const double *a, const double *b)
{
	double e = 0;
	int i;

	for (i = 0; i < 4; i++)
		e = fmax(e, hypot(a[2 * i] - b[2 * i],
		    a[2 * i + 1] - b[2 * i + 1]));
	return e;
}

/* Follow the product from (100, 80) 14 and 6 pixels a picture on. */
static void
follow(int scale)
{
	struct cv_bgr pic = { NULL, bw, bh, (size_t)bw * 3, bw * scale,
	    bh * scale };
	struct cv_track *t;
	unsigned char *p;
	double box[8], want[8], worst = 0, agree, least = 1;
	int k, y = 1;

	box_at(100, 80, scale, box);
	pic.pix = p = picture(100, 80);
	t = cv_track_new(&pic, box);
	free(p);
	if (!ok(t != NULL && cv_track_count(t) >= 40,
	    "image %dx: corners of the product found (%d)", scale,
	    t != NULL ? cv_track_count(t) : -1))
		exit(1);
	for (k = 1; k <= 6 && y == 1; k++) {
		pic.pix = p = picture(100 + 14 * k, 80 + 6 * k);
		y = cv_track_step(t, &pic, 8, box, &agree);
		free(p);
		box_at(100 + 14 * k, 80 + 6 * k, scale, want);
		worst = fmax(worst, box_err(box, want) / scale);
		least = fmin(least, agree);
	}
	ok(y == 1 && worst < 0.5 && least > 0.75, "image %dx: followed over "
	    "6 pictures, box within %.3f picture pixels, %.2f of the "
	    "corners agreeing at least", scale, worst, least);

	pic.pix = p = picture(-1, -1);
	y = cv_track_step(t, &pic, 8, box, &agree);
	free(p);
	ok(y == 0 && agree < 0.1, "image %dx: lost where the product was "
	    "taken away (%d, %.2f agreeing)", scale, y, agree);
	pic.pix = p = picture(100 + 14 * 7, 80 + 6 * 7);
	y = cv_track_step(t, &pic, 8, box, &agree);
	free(p);
	ok(y == 0, "image %dx: and lost after it comes back", scale);
	cv_track_free(t);
}

int
main(void)
{
	struct cv_bgr pic;
	struct cv_track *t;
	unsigned char *p, *other;
	double box[8], agree;
	int ow, oh, y;

	tap_plan(12);
	bg = image("building.jpg", &bw, &bh);
	prod = image("box.png", &pw, &ph);

	follow(1);
	follow(2);

	/* another picture altogether: fruits.jpg, cropped to the size */
	other = image("fruits.jpg", &ow, &oh);
	p = malloc((size_t)bw * bh * 3);
	for (y = 0; y < bh; y++)
		for (int x = 0; x < bw; x++)
			memcpy(p + ((size_t)y * bw + x) * 3,
			    other + ((size_t)(y % oh) * ow + x % ow) * 3, 3);
	pic = (struct cv_bgr){ NULL, bw, bh, (size_t)bw * 3, bw, bh };
	box_at(100, 80, 1, box);
	pic.pix = picture(100, 80);
	t = cv_track_new(&pic, box);
	free((void *)pic.pix);
	pic.pix = p;
	y = t != NULL ? cv_track_step(t, &pic, 8, box, &agree) : -1;
	ok(y == 0 && agree < 0.1, "lost in another picture altogether (%d, "
	    "%.2f agreeing)", y, agree);
	cv_track_free(t);
	free(p);
	free(other);

	/* a plain part of the picture shows nothing to follow */
	memset(bg, 128, (size_t)bw * bh * 3);
	pic.pix = p = picture(-1, -1);
	box_at(100, 80, 1, box);
	t = cv_track_new(&pic, box);
	ok(t != NULL && cv_track_count(t) == 0, "no corners on a plain "
	    "grey picture (%d)", t != NULL ? cv_track_count(t) : -1);

	/* a picture of another size is an error */
	pic.w = bw * 2;
	pic.h = bh * 2;
	y = t != NULL ? cv_track_step(t, &pic, 8, box, &agree) : 0;
	ok(y == -1 && strstr(pm_why(), "another size") != NULL,
	    "a picture of another size: %s", pm_why());
	pic.stride = 2;
	y = cv_track_new(&pic, box) == NULL;
	ok(y && strstr(pm_why(), "rows 2 bytes apart") != NULL,
	    "a bad picture: %s", pm_why());
	cv_track_free(t);
	free(p);
	free(bg);
	free(prod);
	return tap_failed != 0;
}
