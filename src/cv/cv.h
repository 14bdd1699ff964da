/*
 * cv.h: pm's OpenCV shim, a C interface to the C++ in src/cv/.
 *
 * Every function catches every C++ exception; on failure it returns -1
 * (or NULL) after pm_fail() has recorded why (read it with pm_why()).
 * Every function may be called from many threads at once.  OpenCV's own
 * thread pool is switched off on first use (pm runs records in parallel
 * instead), so results never depend on the number of threads.
 *
 * Images are decoded only after imghdr_read() has accepted their header
 * (see imghdr.h for the formats and the size limits), with the EXIF
 * orientation applied: every width, height and coordinate here is in
 * the pixels of the image as displayed.
 */
#ifndef PM_CV_H
#define PM_CV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decode the image in p[0..n) and set its width and height (after EXIF
 * orientation).  Fails on bytes that are not an image pm decodes, an
 * empty or over-large image (imghdr.h), or bytes that do not decode.
 */
int	 cv_image_probe(const void *p, size_t n, int *w, int *h);

/*
 * Decode an image into *pix (malloc'd, w*h*channels bytes, rows packed),
 * channels 1 (gray) or 3 (BGR).
 */
int	 cv_image_decode(const void *p, size_t n, int channels,
	    unsigned char **pix, int *w, int *h);

/*
 * Encode a gray (channels 1) or BGR (channels 3) image, rows stride
 * bytes apart, as a baseline JPEG of quality 1..100 into *out
 * (malloc'd, *outlen bytes).
 */
int	 cv_jpeg_encode(const unsigned char *pix, int w, int h, int channels,
	    size_t stride, int quality, unsigned char **out, size_t *outlen);

/*
 * Local features.  The keypoint blob's layout is in kpblob.h.
 */
enum cv_detector {
	CV_SIFT = 1,
	CV_ORB = 2,
	CV_AKAZE = 3
};

enum cv_mask {
	CV_MASK_NONE = 0,
	CV_MASK_BORDER = 1,	/* plain background: the border's colour */
	CV_MASK_GRABCUT = 2	/* the above, refined by GrabCut */
};

enum cv_spread {
	CV_SPREAD_NONE = 0,	/* the strongest keypoints */
	CV_SPREAD_GRID = 1,	/* an equal share for each cell of a grid */
	CV_SPREAD_ANMS = 2	/* adaptive non-maximal suppression */
};

enum cv_contrast {
	CV_CONTRAST_NONE = 0,	/* the image as it is */
	CV_CONTRAST_STRETCH = 1, /* grey levels stretched to the full range */
	CV_CONTRAST_CLAHE = 2	/* local histogram equalisation */
};

struct cv_kp_opts {
	int	 detector;	/* enum cv_detector */
	int	 contrast;	/* enum cv_contrast */
	int	 max_kp;	/* keep at most this many keypoints; 0: all */
	int	 max_side;	/* first scale to this longer side; 0: never */
	int	 spread;	/* enum cv_spread, when there are over max_kp */
	int	 grid;		/* CV_SPREAD_GRID: cells on the longer side */
	int	 rootsift;	/* SIFT only: RootSIFT descriptors */
	int	 mask;		/* enum cv_mask */
};

/* Defaults: SIFT with RootSIFT descriptors, 2000 keypoints spread by
 * ANMS, 960 pixels, grey levels stretched, no mask. */
void	 cv_kp_defaults(struct cv_kp_opts *);
/* The detector's name ("sift"), or its number for a name; -1 if unknown. */
const char *cv_detector_name(int detector);
int	 cv_detector_num(const char *name);

/*
 * Decode the image in img[0..n), find its keypoints and write their
 * blob into *blob (malloc'd, *bloblen bytes); *nkp is the count.  The
 * same bytes and options give the same blob, on any machine with the
 * same OpenCV.  Fails for what cv_image_probe() refuses and for images
 * smaller than CV_MIN_SIDE pixels on a side.
 */
#define CV_MIN_SIDE	16
/*
 * The detector never sees more than CV_MAX_DETECT pixels a side,
 * whatever max_side says: SIFT needs about 240 bytes per pixel it sees
 * (400 MB at 1280x1024, 2.8 GB at 3840x3072).
 */
#define CV_MAX_DETECT	4096
int	 cv_kp_extract(const void *img, size_t n, const struct cv_kp_opts *,
	    void **blob, size_t *bloblen, int *nkp);

/*
 * A picture at hand: pw x ph pixels of blue, green, red, rows stride
 * bytes apart, of an image of w x h pixels (the same size, or scaled
 * down): coordinates are the image's.
 */
struct cv_bgr {
	const unsigned char *pix;
	int		 pw, ph;
	size_t		 stride;
	int		 w, h;
};

/*
 * The keypoints of the part within rect (x0, y0, x1, y1) of a picture at
 * hand, found as cv_kp_extract() finds the whole image's: the picture is
 * scaled and its levels prepared as a whole, the detector sees that part
 * with a margin of 16 pixels, and every keypoint it finds is kept (max_kp
 * does not apply).  When side is not 0 and the part's shorter side,
 * margin included, is longer, the part is first scaled down to it: a
 * product seen larger than that needs none of the finer detail to be
 * told.  The blob is the whole image's, with keypoints only in that
 * part.  No mask.
 */
int	 cv_kp_extract_bgr_in(const struct cv_bgr *, const struct cv_kp_opts *,
	    const double rect[4], int side, void **blob, size_t *bloblen,
	    int *nkp);

/*
 * Geometric verification.
 *
 * A struct cv_kpset is a keypoint blob made ready for matching (its
 * descriptors unpacked for the distance loops): make a catalog image's
 * once and verify it against many frames, from many threads at once.
 */
struct cv_kpset;

struct cv_kpset *cv_kpset_new(const void *blob, size_t n);
void	 cv_kpset_free(struct cv_kpset *);
int	 cv_kpset_count(const struct cv_kpset *);
void	 cv_kpset_size(const struct cv_kpset *, int *w, int *h);

enum cv_robust {
	CV_RANSAC = 1,		/* cv::RANSAC */
	CV_MAGSAC = 2		/* cv::USAC_MAGSAC (MAGSAC++) */
};

/*
 * Thresholds for cv_verify(), with their defaults.  Pixel thresholds are
 * in pixels of the frame as its detector saw it (scaled to -S), where a
 * keypoint is located to about a pixel.
 */
struct cv_verify_params {
	double	 ratio;		/* 0.8: Lowe's test: best < ratio * second */
	int	 robust;	/* CV_MAGSAC: the robust estimator */
	double	 reproj;	/* 3: inlier threshold, pixels */
	double	 refine;	/* 1.5: refinement's tight threshold; 0: none */
	int	 iters;		/* 2000: robust estimator's iterations */
	double	 confidence;	/* 0.999: robust estimator's confidence */
	int	 min_inliers;	/* 10: fewer inliers is no match */
	double	 min_inlier_ratio; /* 0.1: inliers / matches, at least */
	double	 min_area;	/* 0.0005: box area / frame area, at least */
	double	 max_area;	/* 2.5: ... at most */
	double	 min_scale;	/* 0.005: sqrt(box area / catalog image area) */
	double	 max_scale;	/* 20: ... at most */
	double	 max_aspect;	/* 3: box aspect / catalog aspect, either way */
	double	 min_angle;	/* 25: the box's interior angles, degrees */
	double	 margin;	/* 0.5: corners within the frame grown by this
				 * fraction of its size on every side */
	double	 min_spread;	/* 0.02: inliers' convex hull / catalog area */
};

void	 cv_verify_defaults(struct cv_verify_params *);

#define CV_SIG_HALF	10	/* the significance of a score of 0.5 */

struct cv_match {
	int	 verified;	/* 1 if every check passed */
	const char *why;	/* if not: the check that failed (a constant) */
	int	 matches;	/* tentative matches (after the ratio test) */
	int	 inliers;
	double	 sig;		/* significance: -log10 NFA, see cv_verify() */
	double	 score;		/* 0..1, see cv_verify() */
	double	 H[9];		/* catalog pixels to frame pixels, row-major */
	double	 box[8];	/* the catalog image's corners in the frame,
				 * x,y clockwise from top-left */
	float	*pairs;		/* inliers: catalog x,y, frame x,y (malloc'd) */
	int	 npairs;
};

/*
 * Is the catalog image in the frame?
 *
 * Matching: each catalog keypoint's two nearest frame keypoints (exact,
 * in integers, so the same everywhere), Lowe's ratio test, and one
 * catalog keypoint per frame keypoint (the nearest).
 *
 * Geometry: a homography by the robust estimator at reproj pixels, then
 * refined: of that estimate, its least-squares refit on its inliers,
 * and a second consensus at the tight refine threshold over all matches
 * (polished by least squares, and kept only when most of its inliers
 * are the first estimate's), the one with most matches within the
 * tight threshold wins.  A generous threshold lets matches off the
 * object's plane pull the fit; the tight consensus finds the dominant
 * plane.  The inliers are the matches within reproj of the result.
 *
 * Checks, in order, each a reason in m->why: enough keypoints, matches
 * and inliers, inlier ratio, the outline (the catalog image's corners)
 * in front of the camera, convex and clockwise like the image (not
 * mirrored), no side under 4 pixels, interior angles, area relative to
 * the frame, scale relative to the catalog image, aspect change,
 * corners within the frame's margin, and the inliers spread over the
 * catalog image.
 *
 * The significance of the result is -log10 of its number of false
 * alarms (Moisan and Stival): how many homographies as well supported
 * as this one chance would give, the n matches being at random.  Each
 * of k matches within e pixels of its place by chance has the odds
 * a = pi e^2 / (frame area), and
 *
 *	NFA = (n - 4) C(n, k) C(k, 4) a^(k - 4)
 *
 * minimised over k, e being the k-th smallest residual, and at least
 * half a pixel.  It grows with the inliers, with their precision and
 * with the share of the matches they are, and it is the same whatever
 * the frame's size.  The score is sig / (sig + CV_SIG_HALF): 0.5 for
 * one chance in 10^10.
 *
 * Returns 0 with *m filled (free m->pairs with cv_match_free()), or -1
 * on error: the sets hold keypoints of different kinds.  The sets are
 * only read: any number of threads may verify with the same sets.
 * PM_NO_SIMD in the environment selects the plain distance loops (for
 * tests: they give the same results).
 */
int	 cv_verify(const struct cv_kpset *cat, const struct cv_kpset *frame,
	    const struct cv_verify_params *, struct cv_match *m);
void	 cv_match_free(struct cv_match *);

/*
 * Tracking: a product found in a picture (its box, 8 coordinates in
 * image pixels, clockwise from top-left), followed into the next ones
 * by the corners it shows (track.cc).  cv_track_new() finds the corners
 * (NULL with pm_why() set on error); cv_track_count() says how many are
 * followed still.  cv_track_step() follows them into the next picture
 * (of the same size): 1 and box set to where the product is when half
 * of them, and at least min, agree on where it went; 0 when it is lost
 * (and stays lost; box is left as it was); -1 with pm_why() set on
 * error.  *agree is the share of them that agreed (0 when no homography
 * was found).
 */
struct cv_track;

struct cv_track *cv_track_new(const struct cv_bgr *, const double box[8]);
int	 cv_track_count(const struct cv_track *);
int	 cv_track_step(struct cv_track *, const struct cv_bgr *, int min,
	    double box[8], double *agree);
void	 cv_track_free(struct cv_track *);

/*
 * Colours.  A struct cv_colours is an image decoded in colour and
 * scaled down to at most max_side pixels a side (0: not scaled); its
 * coordinates stay those of the image.
 */
struct cv_colours;

struct cv_colours *cv_colours_new(const void *img, size_t n, int max_side);
struct cv_colours *cv_colours_bgr(const struct cv_bgr *, int max_side);
void	 cv_colours_free(struct cv_colours *);
size_t	 cv_colours_bytes(const struct cv_colours *);

/*
 * Do the catalog image's colours agree with the frame's where H (catalog
 * pixels to frame pixels) puts it?  Compared over the convex hull of the
 * catalog points of the npairs inlier pairs (cv_match's pairs), where
 * the product is known to be in view, pixel by pixel: log-chromaticity,
 * (log(R/G), log(B/G)), of the catalog image's small picture and of the
 * frame's at the same place (dark and clipped pixels left out).  A
 * change of light, of white balance or of exposure shifts
 * log-chromaticity, or scales its spread, both of which correlation
 * ignores; a product in other colours does not correlate, or its
 * colours shift as a whole (a blue copy of an orange product).  So:
 *
 *	agree = rho - max(0, shift - CV_COLOUR_SHIFT)
 *
 * rho the correlation of the two as 2-vectors (about their means),
 * shift the distance of their means; at least -1.  Each is NAN when
 * there is nothing to compare: a grey catalog image (variance under
 * CV_COLOUR_MINVAR), or fewer than 32 pixels to compare.
 */
#define CV_COLOUR_MINVAR 0.005
#define CV_COLOUR_SHIFT	0.3
struct cv_colour_cmp {
	double	 agree;		/* -1..1, or NAN */
	double	 rho;		/* correlation, -1..1, or NAN */
	double	 shift;		/* of the means */
	double	 var;		/* the catalog image's variance */
	int	 n;		/* pixels compared */
};
int	 cv_colour_agree(const struct cv_colours *cat,
	    const struct cv_colours *frame, const double H[9],
	    const float *pairs, int npairs, struct cv_colour_cmp *out);

#ifdef __cplusplus
}
#endif

#endif
