/*
 * match.h: finding catalog products in frames, pm-match's engine.
 *
 * For each frame, matcher_frame() (any thread) draws a shortlist of
 * catalog images from the index -- the entries whose bags of visual
 * words are nearest the frame's, and the nearest global vectors -- and
 * verifies each with cv_verify() (cv.h): descriptor matching, a robust
 * homography, checks on the outline.  Then matcher_serial() (in input
 * order) tracks: a product seen in the video's previous frames and not
 * found again is verified once more in the region where it was, with
 * the image that matched; decides which matches to believe (a stricter
 * score for a product not seen just before at the same place; of two
 * products claiming one place, the better); writes the match records;
 * and merges a product's matches in a video into appearances, written
 * when the video's frames are done, their boundaries refined from
 * frames decoded between the sampled ones (refine.h).
 */
#ifndef PM_MATCH_H
#define PM_MATCH_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "cv.h"

struct index;
struct store;
struct out;
struct rec;

struct match_params {
	int		 kvote;		/* entries from the word vote */
	int		 kvec;		/* entries from the vector search */
	int		 ef;		/* breadth of the vector search */
	int		 exact;		/* exact vector search */
	double		 min_score;	/* a match that continues an appearance */
	double		 new_score;	/* a match that starts one */
	double		 colour;	/* agreement of colours, at least */
	double		 min_cover;	/* inliers' hull / catalog image area */
	double		 same_place;	/* IoU of boxes: the same place */
	double		 overlap;	/* IoU of two products' boxes: one place */
	double		 gap;		/* seconds without a match within an appearance */
	double		 grow;		/* tracking: the region, in box sizes */
	int		 track;
	double		 refine;	/* frames a second between boundaries; 0: off */
	int		 threads;	/* for refinement */
	size_t		 cache;		/* bytes of catalog keypoints kept */
	struct cv_verify_params vp;
	FILE		*trace;		/* per-frame decisions, or NULL */
};

void	 match_defaults(struct match_params *);

struct matcher;
struct mframe;

struct matcher *matcher_new(struct index *, struct store *,
	    const struct match_params *);
void	 matcher_free(struct matcher *);

/* The number of problems reported outside any record: catalog images
 * whose keypoints are missing, videos whose boundaries could not be
 * refined. */
int	 matcher_warnings(const struct matcher *);

/* A frame record's shortlist, verified (work(): any thread). */
int	 matcher_frame(struct matcher *, struct rec *, struct mframe **);
void	 mframe_free(struct mframe *);

/*
 * In input order: a frame (with its mframe) or a video record.  Writes
 * the record, the frame's matches, and the appearances of a video
 * whose frames are done.
 */
int	 matcher_serial(struct matcher *, struct rec *, struct mframe *,
	    struct out *);

/* At the end of the input: the last video's appearances. */
void	 matcher_end(struct matcher *, struct out *);

#endif
