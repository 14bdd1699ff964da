/*
 * test-img: what a test needs to know of an image file: its size, and
 * the colour of pixels.
 *
 * usage: test-img size file		prints "w h"
 *	  test-img px file x,y ...	prints "r g b" for each pixel
 *	  test-img count file kind [x0,y0,x1,y1]
 *		prints how many pixels (of the rectangle, x1 and y1
 *		exclusive) are of a kind: "green" (the outline's colour:
 *		g > 150, r and b < 80), "colour" (channels differ by over
 *		80), "ink" (some channel under 200: not white or near it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "err.h"

int
main(int argc, char **argv)
{
	unsigned char *img, *pix, *p;
	size_t n = 0, cap = 0, r;
	FILE *fp;
	int w, h, i, x, y;

	pm_init(argv[0]);
	if (argc < 3 || (strcmp(argv[1], "size") != 0 &&
	    strcmp(argv[1], "px") != 0 && strcmp(argv[1], "count") != 0) ||
	    (strcmp(argv[1], "count") == 0 && argc != 4 && argc != 5)) {
		fprintf(stderr, "usage: test-img size|px|count file "
		    "[x,y ...|kind [x0,y0,x1,y1]]\n");
		return 2;
	}
	if ((fp = fopen(argv[2], "rb")) == NULL)
		pm_err(2, "%s:", argv[2]);
	img = NULL;
	do {
		if (n == cap)
			img = pm_realloc(img, cap = cap ? 2 * cap : 65536);
		r = fread(img + n, 1, cap - n, fp);
		n += r;
	} while (r > 0);
	fclose(fp);
	if (cv_image_decode(img, n, 3, &pix, &w, &h) == -1)
		pm_err(1, "%s: %s", argv[2], pm_why());
	if (strcmp(argv[1], "size") == 0)
		printf("%d %d\n", w, h);
	else if (strcmp(argv[1], "count") == 0) {
		int x0 = 0, y0 = 0, x1 = w, y1 = h, lo, hi;
		long cnt = 0;

		if (argc == 5 && (sscanf(argv[4], "%d,%d,%d,%d", &x0, &y0, &x1,
		    &y1) != 4 || x0 < 0 || y0 < 0 || x1 > w || y1 > h ||
		    x0 > x1 || y0 > y1))
			pm_err(2, "%s: not a rectangle of the %dx%d image",
			    argv[4], w, h);
		for (y = y0; y < y1; y++)
			for (x = x0; x < x1; x++) {
				p = pix + ((size_t)y * w + x) * 3;
				lo = p[0] < p[1] ? p[0] : p[1];
				lo = lo < p[2] ? lo : p[2];
				hi = p[0] > p[1] ? p[0] : p[1];
				hi = hi > p[2] ? hi : p[2];
				if (strcmp(argv[3], "green") == 0)
					cnt += p[1] > 150 && p[2] < 80 &&
					    p[0] < 80;
				else if (strcmp(argv[3], "colour") == 0)
					cnt += hi - lo > 80;
				else if (strcmp(argv[3], "ink") == 0)
					cnt += lo < 200;
				else
					pm_err(2, "%s: not a kind", argv[3]);
			}
		printf("%ld\n", cnt);
	} else
		for (i = 3; i < argc; i++) {
			if (sscanf(argv[i], "%d,%d", &x, &y) != 2 || x < 0 ||
			    y < 0 || x >= w || y >= h)
				pm_err(2, "%s: not a pixel of the %dx%d image",
				    argv[i], w, h);
			p = pix + ((size_t)y * w + x) * 3;
			printf("%d %d %d\n", p[2], p[1], p[0]);
		}
	free(pix);
	free(img);
	return fclose(stdout) == EOF ? 2 : 0;
}
