/*
 * imghdr.c: fuzz the image header checker (imghdr.c's imghdr_read()),
 * the first code that meets a fetched image's bytes.  What it accepts
 * is one of the formats pm decodes, of a size within the limits.
 */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "imghdr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *formats[] = {
		"jpeg", "png", "webp", "bmp", "tiff", "pnm"
	};
	struct imghdr h;
	size_t i;

	if (imghdr_read(data, size, &h) == -1) {
		fuzz_assert(*pm_why() != '\0');
		return 0;
	}
	fuzz_assert(h.format != NULL);
	for (i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (strcmp(h.format, formats[i]) == 0)
			break;
	fuzz_assert(i < sizeof formats / sizeof formats[0]);
	fuzz_assert(h.w >= 1 && h.w <= IMG_MAX_SIDE);
	fuzz_assert(h.h >= 1 && h.h <= IMG_MAX_SIDE);
	fuzz_assert((long)h.w * h.h <= IMG_MAX_PIXELS);
	return 0;
}
