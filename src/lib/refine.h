/*
 * refine.h: the frames between the sampled ones, for sharper boundaries
 * of appearances: a video blob decoded again at a higher rate within
 * windows of time, and the keypoints of those frames that are looked at
 * found as the sampled frames' were (pm-match -R).
 */
#ifndef PM_REFINE_H
#define PM_REFINE_H

#include <stddef.h>

#include "cv.h"

struct store;

struct refine_opts {
	double		 fps;		/* frames a second within the windows */
	int		 w, h;		/* the sampled frames' size */
	struct cv_kp_opts kp;		/* as the sampled frames' keypoints */
	int		 side;		/* cap on the part the detector sees
					   (cv_kp_extract_bgr_in()) */
	int		 threads;
};

/* A frame between the sampled ones, of the sampled frames' size, decoded
 * at the size the detector sees it (pic.pix is its own). */
struct refine_frame {
	double		 t;
	struct cv_bgr	 pic;
};

/* At most this many frames of a window are held: in a longer one they
 * are spread over it. */
#define REFINE_MAXWIN	16
/* Windows this many seconds apart or more may be decoded apart, at
 * once: a GOP is seldom longer. */
#define REFINE_SPLIT	2.0

typedef void refine_fn(void *arg, int win, const struct refine_frame *f,
	    int n);

/*
 * Decode the video blob again, sampled at o->fps (the first frame at or
 * after each k / fps seconds), within the windows lo < t < hi (win holds
 * nwin pairs), and call fn(arg, i, f, n) for each window i with its
 * frames in order of time (at most REFINE_MAXWIN, spread over it), once
 * decoding has passed the window's end or the video has ended: so the
 * windows in order of their ends, each once.  With o->threads over 1,
 * windows REFINE_SPLIT seconds apart or more may be decoded at once by
 * separate decoders, so fn may run on several threads at once, for
 * different windows; frames are held only until the windows that want
 * them are done.  Returns 0, or -1 with pm_why() set when the video
 * could not be decoded (fn was then called for the windows decoded
 * before).
 */
int	 refine_video(struct store *, const char *blob, const double *win,
	    int nwin, const struct refine_opts *, refine_fn *fn, void *arg);

/* A frame's keypoint blob, found with o->kp within rect (x0, y0, x1,
 * y1), with o->side (see cv_kp_extract_bgr_in()). */
int	 refine_kp(const struct refine_frame *, const struct refine_opts *o,
	    const double rect[4], void **blob, size_t *len);

#endif
