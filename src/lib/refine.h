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
	int		 maxside;	/* the sampled frames' longer side */
	struct cv_kp_opts kp;		/* as the sampled frames' keypoints */
	int		 threads;
};

struct refine_frame {
	double		 t;
	void		*jpeg;
	size_t		 len;
};

/*
 * The frames of the video blob sampled at o->fps (the first frame at or
 * after each k / fps seconds) whose time t lies inside one of the
 * windows, lo < t < hi (win holds nwin pairs), as JPEG pictures, in
 * order of time.  Returns 0, or -1 with pm_why() set.
 */
int	 refine_frames(struct store *, const char *blob, const double *win,
	    int nwin, const struct refine_opts *, struct refine_frame **out,
	    int *n);
void	 refine_frames_free(struct refine_frame *, int n);

/* A frame's keypoint blob, found with o->kp within rect (x0, y0, x1,
 * y1: see cv_kp_extract_in()). */
int	 refine_kp(const struct refine_frame *, const struct refine_opts *o,
	    const double rect[4], void **blob, size_t *len);

#endif
