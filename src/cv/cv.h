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

struct cv_kp_opts {
	int	 detector;	/* enum cv_detector */
	int	 max_kp;	/* keep at most this many keypoints; 0: all */
	int	 max_side;	/* scale the image down to this longer side first; 0: never */
	int	 grid;		/* spread keypoints over grid x grid cells; 0: best first */
	int	 rootsift;	/* SIFT only: RootSIFT descriptors */
	int	 mask;		/* enum cv_mask */
};

/* Defaults: SIFT, 2000 keypoints, 1280 pixels, an 8x8 grid. */
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
int	 cv_kp_extract(const void *img, size_t n, const struct cv_kp_opts *,
	    void **blob, size_t *bloblen, int *nkp);

/*
 * Geometric verification: is the catalog image in the frame?
 *
 * A struct cv_kpset is a keypoint blob made ready for matching (its
 * descriptors unpacked for fast distance computation).  It is read-only
 * once made, so one set, for example a catalog image's, may be verified
 * against many frames from many threads at once.
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

struct cv_verify_params {
	double	 ratio;		/* Lowe's ratio test: best < ratio * second */
	int	 robust;	/* enum cv_robust */
	double	 reproj;	/* inlier threshold, frame pixels */
	int	 iters;		/* robust estimator's iterations */
	double	 confidence;	/* robust estimator's confidence */
	int	 min_inliers;	/* fewer inliers: not verified */
	double	 min_inlier_ratio; /* of the ratio-test matches */
	double	 min_area;	/* box area, fraction of the frame's, at least */
	double	 max_area;	/* box area, fraction of the frame's, at most */
	double	 min_scale;	/* box area / catalog image area, square root, at least */
	double	 max_scale;	/* ... at most */
	double	 max_aspect;	/* aspect ratio change factor, at most */
	double	 min_angle;	/* interior angle of the box, degrees, at least */
	double	 margin;	/* corners within the frame grown by this fraction */
	double	 min_spread;	/* inliers' hull, fraction of the catalog image */
};

/* The documented defaults (pm-match(1)). */
void	 cv_verify_defaults(struct cv_verify_params *);

struct cv_match {
	int	 verified;	/* 1 if every check passed */
	const char *why;	/* if not: which check failed */
	int	 matches;	/* tentative matches (ratio test) */
	int	 inliers;
	double	 score;		/* 0..1, see cv_verify() */
	double	 H[9];		/* catalog pixels to frame pixels, row-major */
	double	 box[8];	/* catalog image corners in the frame: x,y x4 */
	float	*pairs;		/* inliers: catalog x,y, frame x,y (malloc'd) */
	int	 npairs;
};

/*
 * Match the catalog image's keypoints to the frame's (each catalog
 * keypoint's two nearest frame keypoints, Lowe's ratio test, then one
 * catalog keypoint per frame keypoint), fit a homography robustly,
 * refine it on its inliers, and check the catalog image's outline in
 * the frame: finite, in front of the camera, a convex quadrilateral,
 * clockwise like the image (not mirrored), its interior angles, area,
 * scale and aspect change within the params, its corners within the
 * frame grown by the margin, and the inliers spread over the catalog
 * image.  The score is
 *
 *	inliers / (inliers + 20) * sqrt(inliers / matches)
 *
 * so it grows with the evidence and falls with the share of matches the
 * homography does not explain.  Returns 0 with *m filled (m->verified
 * says whether the catalog image is there; free m->pairs with
 * cv_match_free()), or -1 on error (the sets use different descriptors).
 */
int	 cv_verify(const struct cv_kpset *cat, const struct cv_kpset *frame,
	    const struct cv_verify_params *, struct cv_match *m);
void	 cv_match_free(struct cv_match *);

#ifdef __cplusplus
}
#endif

#endif
