/*
 * evidence.h: the evidence picture of a match or an appearance
 * (pm-evidence(1)): what a record asks to be drawn, the picture, and
 * its readable file name.
 */
#ifndef PM_EVIDENCE_H
#define PM_EVIDENCE_H

#include <stddef.h>
#include <jansson.h>

#include "store.h"

struct evidence_opts {
	int	 width;		/* -w: the picture's width, pixels */
	int	 quality;	/* -q: JPEG quality */
	int	 lines;		/* -l: inlier lines, at most; 0: none */
};

#define EVIDENCE_WIDTH		1280
#define EVIDENCE_QUALITY	90
#define EVIDENCE_NLINES		40

/* What a match, or an appearance's best match, shows. */
struct evidence_req {
	int		 appearance;	/* 1: an appearance record */
	const char	*video;
	const char	*product;
	double		 t;		/* the frame's time */
	double		 start, end;	/* an appearance's interval */
	double		 score;
	int		 inliers;	/* -1 when the record has none */
	const char	*frame;		/* blob names */
	const char	*image;
	const char	*frame_kp;	/* their keypoint blobs, or NULL */
	const char	*image_kp;
	double		 box[8];	/* the outline, frame pixels */
};

/*
 * Read a match or appearance record (j; the strings of *q point into
 * it).  Returns 0, or -1 with pm_why() saying what field is missing or
 * wrong.
 */
int	 evidence_req_read(json_t *j, struct evidence_req *q);

struct evidence_pic {
	unsigned char	*jpeg;		/* malloc'd */
	size_t		 len;
	int		 w, h;
	int		 nlines;	/* inlier lines drawn */
	char		 blob[STORE_NAMELEN + 1];	/* its name in the store */
};

/*
 * Draw the picture q asks for and put it in the store.  The lines come
 * from the keypoint blobs q names, and from keypoints found in the
 * images as pm-kp(1) finds them by default for an image q names none
 * for.  Returns 0, or -1 with pm_why() saying what failed (a missing
 * blob, an image that does not decode, keypoints of another image, an
 * outline far outside the frame, the store).
 */
int	 evidence_make(struct store *, const struct evidence_req *q,
	    const struct evidence_opts *o, struct evidence_pic *pic);
void	 evidence_pic_free(struct evidence_pic *);

/*
 * The picture's readable file name under a -d directory (malloc'd):
 * VIDEO/PRODUCT@T.jpg for a match, VIDEO/PRODUCT@START-END.jpg for an
 * appearance, with T, START and END in seconds to three decimals.  An
 * id made only of letters, digits and "._+-", not starting with "." or
 * "-", and at most 80 bytes long, is used as it is; any other id has
 * each other byte replaced by "_", is cut to 48 bytes, and gains "~"
 * and 8 hex digits of its SHA-256, so that distinct ids give distinct
 * names and no id can leave the directory.
 */
char	*evidence_name(const struct evidence_req *q);

/* An id as a file name, as evidence_name() makes them (malloc'd). */
char	*evidence_safe_id(const char *id);

#endif
