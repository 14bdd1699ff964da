/*
 * imghdr.h: what image a buffer holds, and its size, from the header
 * alone.
 *
 * pm decodes only JPEG, PNG, WebP, BMP, TIFF and PNM (P1-P6) images.
 * OpenCV knows more formats (JPEG 2000, OpenEXR, Radiance HDR, Sun
 * raster, PFM, GDAL's), but they are rarely product photos and their
 * decoders are a large attack surface, so they are refused here, before
 * any decoder sees the bytes.  The header is read with bounds checks on
 * every access: this is the code that meets untrusted bytes first.
 */
#ifndef PM_IMGHDR_H
#define PM_IMGHDR_H

#include <stddef.h>

/*
 * Limits on what pm decodes: a side of at most IMG_MAX_SIDE pixels and
 * at most IMG_MAX_PIXELS pixels in all (64 Mi pixels, 192 MiB as BGR;
 * an 8192x8192 image).
 */
#define IMG_MAX_SIDE	32768
#define IMG_MAX_PIXELS	(64L * 1024 * 1024)

struct imghdr {
	const char	*format;	/* jpeg, png, webp, bmp, tiff, pnm */
	int		 w, h;		/* before EXIF orientation */
};

/*
 * Identify the image in p[0..n) and read its size.  Returns 0, or -1
 * with pm_why() saying why: empty, not an image (and what it looks
 * like), a format pm does not decode, a damaged or truncated header, a
 * JPEG without its end-of-image marker, a zero or negative size, or a
 * size over the limits above.
 */
int	 imghdr_read(const void *p, size_t n, struct imghdr *h);

#endif
