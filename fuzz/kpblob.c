/*
 * kpblob.c: fuzz the keypoint blob reader (kpblob.c's kpblob_parse()).
 * A blob it accepts must describe itself truthfully: every keypoint in
 * the image, and the writer, given what the reader found, must write
 * the same bytes back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "kpblob.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kpblob b;
	struct kpblob_kp *kp;
	void *out;
	size_t n;
	int i;

	if (kpblob_parse(&b, data, size) == -1) {
		fuzz_assert(*pm_why() != '\0');
		return 0;
	}
	fuzz_assert(b.n >= 0 && b.n <= KPBLOB_MAXKP);
	fuzz_assert(size == kpblob_size(b.n, b.descsize));
	fuzz_assert(b.w >= 1 && b.h >= 1 && b.dw <= b.w && b.dh <= b.h);
	kp = pm_reallocarray(NULL, b.n > 0 ? (size_t)b.n : 1, sizeof *kp);
	for (i = 0; i < b.n; i++) {
		kpblob_get(&b, i, &kp[i]);
		fuzz_assert(isfinite(kp[i].x) && isfinite(kp[i].y));
		fuzz_assert(kp[i].x >= -0.5f && kp[i].x <= b.w - 0.5f);
		fuzz_assert(kp[i].y >= -0.5f && kp[i].y <= b.h - 0.5f);
		fuzz_assert(kp[i].size > 0);
	}
	fuzz_assert(kpblob_write(&b, kp, b.desc, &out, &n) == 0);
	fuzz_assert(n == size && memcmp(out, data, n) == 0);
	free(out);
	free(kp);
	return 0;
}
