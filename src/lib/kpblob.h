/*
 * kpblob.h: the keypoint blob, pm-kp's output (its layout is in pm-kp(1),
 * FORMAT).
 *
 * A blob is little-endian: a 64-byte header, then n keypoint records of
 * 24 bytes, then n descriptors of descsize bytes, and nothing else.
 * Reals are IEEE 754 binary32.
 *
 *	off  size  field
 *	  0     4  magic "PMKP"
 *	  4     2  version, 1
 *	  6     2  header size, 64
 *	  8     1  detector: 1 SIFT, 2 ORB, 3 AKAZE
 *	  9     1  descriptor type: 1 bytes compared by L2 distance (SIFT,
 *		   RootSIFT), 2 bits compared by Hamming distance (ORB, AKAZE)
 *	 10     2  descriptor size in bytes: 128 SIFT, 32 ORB, 61 AKAZE
 *	 12     4  flags: 1 RootSIFT, 2 foreground mask applied, 4 grey
 *		   levels stretched, 8 levels equalised (CLAHE, not with 4)
 *	 16     4  n, the number of keypoints
 *	 20     4  image width, pixels (as decoded, EXIF orientation applied)
 *	 24     4  image height
 *	 28     4  width of the image the detector saw (scaled down)
 *	 32     4  height of the image the detector saw
 *	 36     4  scale (real): detector width / image width
 *	 40    16  foreground box x0, y0, x1, y1 (image pixels, x1 and y1
 *		   exclusive); the whole image when no mask was applied
 *	 56     8  zero
 *	 64  24*n  keypoints: x, y, size, angle (degrees, -1 none),
 *		   response (reals), octave (signed, OpenCV's packing);
 *		   x and y in image pixels, 0,0 the centre of the top-left
 *		   pixel; size in image pixels
 *	  ...      descriptors, descsize bytes each, in keypoint order
 *
 * A SIFT descriptor is OpenCV's, whose elements are integers 0..255.
 * A RootSIFT descriptor is sqrt(d / sum(d)) * 512 of the SIFT descriptor
 * d, rounded and clamped to 0..255.
 */
#ifndef PM_KPBLOB_H
#define PM_KPBLOB_H

#include <stddef.h>
#include <stdint.h>

#define KPBLOB_VERSION	1
#define KPBLOB_HDRSIZE	64
#define KPBLOB_KPSIZE	24
#define KPBLOB_MAXKP	(1 << 20)

enum {
	KPBLOB_SIFT = 1,
	KPBLOB_ORB = 2,
	KPBLOB_AKAZE = 3
};

enum {
	KPBLOB_L2 = 1,
	KPBLOB_HAMMING = 2
};

enum {
	KPBLOB_ROOTSIFT = 1,
	KPBLOB_MASKED = 2,
	KPBLOB_STRETCH = 4,
	KPBLOB_CLAHE = 8
};

struct kpblob {
	int		 detector;
	int		 desctype;
	int		 descsize;
	uint32_t	 flags;
	int		 n;
	int		 w, h;		/* image */
	int		 dw, dh;	/* what the detector saw */
	float		 scale;
	int		 fg[4];		/* x0, y0, x1, y1 */
	const unsigned char *kp;	/* n records of KPBLOB_KPSIZE bytes */
	const unsigned char *desc;	/* n descriptors of descsize bytes */
};

struct kpblob_kp {
	float		 x, y, size, angle, response;
	int32_t		 octave;
};

/*
 * Check the n bytes at p are a well-formed blob and describe it in *b
 * (whose kp and desc point into p).  Returns 0, or -1 with pm_why()
 * saying what is wrong: size, magic, version, header fields, or a
 * keypoint out of the image or not a finite number.  Never reads
 * outside p[0..n).
 */
int	 kpblob_parse(struct kpblob *b, const void *p, size_t n);

/* Keypoint i (0 <= i < b->n) of a parsed blob. */
void	 kpblob_get(const struct kpblob *b, int i, struct kpblob_kp *kp);

/* The size of a blob of n keypoints with descsize-byte descriptors. */
size_t	 kpblob_size(int n, int descsize);

/*
 * Write a blob of b's header fields (b->kp and b->desc unused), the
 * b->n keypoints kp and the descriptors desc (b->n * b->descsize
 * bytes) into *out (malloc'd, *len bytes).  Returns 0, or -1 if the
 * result would not parse.
 */
int	 kpblob_write(const struct kpblob *b, const struct kpblob_kp *kp,
	    const unsigned char *desc, void **out, size_t *len);

#endif
