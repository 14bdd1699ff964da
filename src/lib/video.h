/*
 * video.h: video files through FFmpeg: what a file holds (video_probe),
 * and frames sampled from it as JPEG pictures (video_sample).
 *
 * Times are seconds from the start of the file: the earliest start time
 * of its streams, as ffprobe reports it in format=start_time.  A stream
 * that starts at 10.0 s gives t = 0 for its first frame; ffprobe's
 * pts_time minus format start_time is t.
 *
 * Sizes are as displayed: the sample aspect ratio is applied to the
 * width, then the rotation of the display matrix (phone videos), so
 * frames come out upright with square pixels.
 *
 * Functions return -1 (or NULL) with the reason in pm_why().  Every
 * function is safe to call from many threads at once on different
 * struct video.
 */
#ifndef PM_VIDEO_H
#define PM_VIDEO_H

#include <stddef.h>
#include <stdint.h>

struct video_info {
	double	 duration;	/* seconds; 0 when unknown */
	double	 fps;		/* average frame rate; 0 when unknown */
	double	 start;		/* the file's start time, seconds */
	int	 w, h;		/* displayed size */
	int	 rotation;	/* clockwise degrees applied: 0, 90, 180, 270 */
	int64_t	 frames;	/* frame count from the header; 0 when unknown */
	char	 codec[32];	/* decoder name: "h264" */
	char	 format[32];	/* demuxer name: "mov,mp4,m4a,3gp,3g2,mj2" */
};

/*
 * Fill vi for the video in the file at path.  Fails for a file that is
 * empty, damaged beyond opening, a still image, audio only, or has no
 * decoder; the reason says which ("not a video: no video stream").
 */
int	 video_probe(const char *path, struct video_info *vi);

/* Sampling modes. */
enum video_mode {
	VIDEO_KEY,	/* keyframes only */
	VIDEO_RATE,	/* the first frame at or after each k/fps instant */
	VIDEO_SCENE,	/* the first frame of each scene */
	VIDEO_ALL	/* every frame */
};

struct video_opts {
	enum video_mode mode;
	double	 fps;		/* VIDEO_RATE: frames per second */
	double	 scene;		/* VIDEO_SCENE: threshold, 0..1 */
	long	 max;		/* stop after this many kept frames; 0: no cap */
	int	 dedup;		/* drop a frame whose hash differs from the
				   last kept one in fewer bits; 0: off */
	double	 blur;		/* drop a frame whose sharpness is lower;
				   0: off */
	int	 quality;	/* JPEG quality, 1..100 */
	int	 raw;		/* frames as BGR pixels, not JPEG */
	int	 maxside;	/* cap on the longer side; 0: none */
	int	 threads;	/* decoding threads; 0: a share of the cores */
	const double *win;	/* VIDEO_RATE: only frames with lo < t < hi of
				   one of these nwin pairs; NULL: all */
	int	 nwin;
};

/* Defaults: keyframes, quality 90, no drops, no caps. */
void	 video_opts_init(struct video_opts *);

/*
 * A kept frame, valid during the callback, as a JPEG or with o->raw as
 * pixels; or, with drop set, a sampled frame that was dropped (jpeg and
 * pix NULL, w and h 0): "dup", "blur" or "corrupt".  A dropped
 * duplicate stands for the last kept frame.
 */
struct video_frame {
	const char *drop;	/* NULL for a kept frame */
	double	 t;		/* seconds from the start of the file */
	int	 key;		/* a keyframe */
	int	 w, h;		/* size of the JPEG, upright */
	double	 scene;		/* VIDEO_SCENE: its score; else 0 */
	double	 sharp;		/* sharpness, when blur is on; else 0 */
	long	 n;		/* 0, 1, ... among the kept frames; for a
				   dropped one, the last kept frame's n */
	const uint8_t *jpeg;	/* the picture as a JPEG, or NULL: */
	size_t	 len;
	const uint8_t *pix;	/* raw: w x h pixels of blue, green, red */
	ptrdiff_t stride;	/* bytes from one row of pix to the next */
};

/*
 * What happened to the frames: every decoded frame that the sampler
 * chose is either kept or counted under one reason.
 */
struct video_stats {
	long	 decoded;	/* frames out of the decoder */
	long	 sampled;	/* chosen by the sampling mode */
	long	 kept;		/* passed to the callback */
	long	 dup;		/* dropped: near-duplicate of the last kept */
	long	 blur;		/* dropped: blurred */
	long	 corrupt;	/* dropped: the decoder flagged it damaged */
	int	 capped;	/* stopped early at opts->max */
	long	 errors;	/* reading and decoding errors, frames the
				   decoder marked damaged, a truncation */
	double	 end;		/* t of the end of the last packet read */
	char	 damage[256];	/* what was wrong, in words; "" if nothing */
};

struct video;

/* Open a file, or n bytes in memory (not copied: keep p until close). */
struct video *video_open(const char *path);
struct video *video_open_mem(const void *p, size_t n);
void	 video_close(struct video *);
void	 video_info(const struct video *, struct video_info *);

typedef int video_frame_fn(const struct video_frame *, void *arg);

/*
 * Decode v once, calling fn for every sampled frame in order of t.  fn
 * runs on a thread of its own while decoding goes on, one frame at a
 * time; it returns 0 to go on, 1 to stop, or -1 to fail with pm_why()
 * set.
 * Returns 0 when the stream was read to its end (or stopped), even if
 * some of it was damaged: st->errors and st->damage say so, and the
 * frames that decoded were passed to fn.  Returns -1 when decoding could
 * not start or fn failed.  Call it once per video_open().
 */
int	 video_sample(struct video *v, const struct video_opts *o,
	    video_frame_fn *fn, void *arg, struct video_stats *st);

/*
 * The perceptual hash of an 8-bit gray image (DCT of its 32x32
 * reduction), and the variance of its Laplacian; exposed for tests.
 */
uint64_t video_phash(const uint8_t *gray, int w, int h, ptrdiff_t stride);
double	 video_sharpness(const uint8_t *gray, int w, int h, ptrdiff_t stride);

#endif
