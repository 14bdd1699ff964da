/*
 * fetchcheck.c: what pm-fetch requires of a fetched file before it is
 * stored: a product image must decode as an image, a video must hold a
 * video stream.  Kept apart from fetch.c so that the transport links
 * without OpenCV and FFmpeg.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "cv.h"
#include "err.h"
#include "fetch.h"
#include "video.h"

int
fetch_check_image(const char *path, int fd, struct fetch_item *it)
{
	struct stat sb;
	char why[512];
	void *p;
	int r;

	if (fstat(fd, &sb) == -1)
		return pm_fail("%s:", path);
	if (sb.st_size == 0)
		return pm_fail("not an image: an empty file");
	/* Mapped, not read: a large file that is no image costs no memory. */
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return pm_fail("%s:", path);
	r = cv_image_probe(p, (size_t)sb.st_size, &it->w, &it->h);
	munmap(p, (size_t)sb.st_size);
	if (r == -1 && strncmp(pm_why(), "not an image", 12) != 0) {
		/* pm_why() is the buffer pm_fail() writes. */
		snprintf(why, sizeof why, "%s", pm_why());
		return pm_fail("not an image: %s", why);
	}
	return r;
}

int
fetch_check_video(const char *path, int fd, struct fetch_item *it)
{
	struct video_info vi;
	char why[512];

	if (video_probe(path, &vi) == -1) {
		if (strncmp(pm_why(), "not a video", 11) != 0) {
			snprintf(why, sizeof why, "%s", pm_why());
			return pm_fail("not a video: %s", why);
		}
		return -1;
	}
	it->w = vi.w;
	it->h = vi.h;
	it->duration = vi.duration;
	it->fps = vi.fps;
	return 0;
}
