/*
 * draw.h: pictures for people, behind pm's OpenCV shim: the evidence
 * picture of a match (pm-evidence(1)) and thumbnails (pm-report(1)).
 *
 * Like cv.h: every function catches every C++ exception and returns -1
 * with pm_why() set; any number of threads may call them at once; the
 * same input gives the same bytes.
 */
#ifndef PM_DRAW_H
#define PM_DRAW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The caption's lines: a text on the left, shortened with "..." when
 * the line is too narrow, and one on the right.  Printable ASCII only;
 * any other byte is drawn as '?'. */
#define EVIDENCE_LINES	2

struct cv_evidence {
	const void	*cat;		/* the catalog image's bytes */
	size_t		 catlen;
	const void	*frame;		/* the frame's bytes */
	size_t		 framelen;
	double		 box[8];	/* the outline, frame pixels, x,y x4 */
	const float	*pairs;		/* lines: catalog x,y, frame x,y */
	int		 npairs;
	const char	*left[EVIDENCE_LINES];
	const char	*right[EVIDENCE_LINES];
	int		 width;		/* the picture's width, pixels */
	int		 quality;	/* JPEG quality, 1..100 */
};

/*
 * Draw the evidence picture: the catalog image on the left and the
 * frame on the right, both scaled to one height so that together, with
 * a dark stripe between them, they are e->width pixels wide; the outline
 * in the frame, the lines from catalog to frame points, and a caption
 * band below.  Writes a JPEG
 * into *jpeg (malloc'd, *len bytes) and its size into *w, *h.  Fails
 * when an image does not decode (pm_why() says which) or a corner of
 * the outline is not within the frame grown by its size on each side.
 */
int	 cv_evidence_draw(const struct cv_evidence *e, unsigned char **jpeg,
	    size_t *len, int *w, int *h);

/*
 * Where the picture of cv_evidence_draw() puts things: a catalog image
 * of cw x ch and a frame of fw x fh pixels, drawn width pixels wide,
 * give the catalog panel's width *catw, the stripe's *sep, the frame
 * panel's width *frw (*catw + *sep + *frw == width; the frame panel
 * starts at x = *catw + *sep) and the panels' height *panelh.
 */
void	 cv_evidence_layout(int cw, int ch, int fw, int fh, int width,
	    int *catw, int *sep, int *frw, int *panelh);

/*
 * The homography that takes the corners of a cw x ch image (the outer
 * corners of its corner pixels: -0.5,-0.5 to cw-0.5,ch-0.5) to the four
 * points of box, clockwise from top-left.  Fails for a degenerate box.
 */
int	 cv_box_homography(int cw, int ch, const double box[8], double H[9]);

/*
 * Decode an image and encode it as a JPEG whose longer side is at most
 * maxside pixels (never scaled up), into *jpeg (malloc'd, *len bytes);
 * *w and *h receive its size.
 */
int	 cv_thumbnail(const void *p, size_t n, int maxside, int quality,
	    unsigned char **jpeg, size_t *len, int *w, int *h);

#ifdef __cplusplus
}
#endif

#endif
