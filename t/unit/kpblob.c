/*
 * kpblob: the keypoint blob reader rejects what is not a well-formed
 * blob, with a reason, and never reads outside the buffer (run under
 * ASan: make SANITIZE=address,undefined check).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "kpblob.h"
#include "tap.h"

/* A valid blob of n SIFT keypoints on a 640x480 image. */
static unsigned char *
make(int n, size_t *len)
{
	struct kpblob b;
	struct kpblob_kp kp[64];
	unsigned char desc[64 * 128];
	void *out;
	int i;

	memset(&b, 0, sizeof b);
	b.detector = KPBLOB_SIFT;
	b.desctype = KPBLOB_L2;
	b.descsize = 128;
	b.n = n;
	b.w = 640;
	b.h = 480;
	b.dw = 320;
	b.dh = 240;
	b.scale = 0.5f;
	b.fg[2] = 640;
	b.fg[3] = 480;
	for (i = 0; i < n; i++) {
		kp[i].x = (float)(i * 9.5);
		kp[i].y = (float)(479.5 - i);
		kp[i].size = 3.25f + i;
		kp[i].angle = i == 0 ? -1 : (float)(i * 5.5);
		kp[i].response = 0.01f * (n - i);
		kp[i].octave = i * 256 - 1;
	}
	for (i = 0; i < n * 128; i++)
		desc[i] = (unsigned char)(i * 7);
	if (kpblob_write(&b, kp, desc, &out, len) == -1) {
		diag("kpblob_write: %s", pm_why());
		return NULL;
	}
	return out;
}

/* Does parsing p[0..n) fail with a reason containing want?  The bytes
 * are copied to a buffer of exactly n bytes so ASan sees any overread. */
static int
rejects(const unsigned char *p, size_t n, const char *want,
    const char *title)
{
	struct kpblob b;
	unsigned char *q = malloc(n ? n : 1);
	int r;

	memcpy(q, p, n);
	r = kpblob_parse(&b, q, n);
	free(q);
	if (r != -1 || strstr(pm_why(), want) == NULL)
		diag("%s: got %d: %s", title, r, r == -1 ? pm_why() : "");
	return ok(r == -1 && strstr(pm_why(), want) != NULL, "%s", title);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

int
main(void)
{
	struct kpblob b;
	struct kpblob_kp kp;
	unsigned char *p, *q, junk[4096];
	size_t n, i;
	uint32_t x = 2463534242u;
	int bad, round;
	float nan = NAN;

	tap_plan(22);
	p = make(10, &n);
	ok(p != NULL && n == 64 + 10 * (24 + 128), "a blob of 10 keypoints "
	    "is %zu bytes", n);
	ok(kpblob_parse(&b, p, n) == 0 && b.n == 10 && b.w == 640 &&
	    b.h == 480 && b.dw == 320 && b.scale == 0.5f &&
	    b.detector == KPBLOB_SIFT && b.descsize == 128,
	    "it parses, header intact");
	kpblob_get(&b, 3, &kp);
	ok(kp.x == 28.5f && kp.y == 476.5f && kp.size == 6.25f &&
	    kp.angle == 16.5f && kp.octave == 767 && b.desc[3 * 128] ==
	    (unsigned char)(3 * 128 * 7), "keypoint 3 and its descriptor "
	    "read back");
	kpblob_get(&b, 0, &kp);
	ok(kp.angle == -1 && kp.octave == -1, "negative fields read back");
	ok(memcmp(p, "PMKP\1\0\x40\0", 8) == 0, "magic, version 1 and header "
	    "size 64, little-endian");

	/* truncated: every length short of the whole is refused */
	bad = 0;
	for (i = 0; i < n; i++) {
		q = malloc(i ? i : 1);
		memcpy(q, p, i);
		if (kpblob_parse(&b, q, i) != -1)
			bad++;
		free(q);
	}
	ok(bad == 0, "every truncation of the blob is refused");
	rejects(p, 63, "too short", "63 bytes: too short");
	rejects(p, n - 1, "bytes, 1584 expected", "one byte short: size "
	    "mismatch");

	q = malloc(n + 1);
	memcpy(q, p, n);
	q[n] = 0;
	rejects(q, n + 1, "expected", "one byte too many");
	memcpy(q, p, n);
	q[0] = 'X';
	rejects(q, n, "bad magic", "wrong magic");
	memcpy(q, p, n);
	q[4] = 2;
	rejects(q, n, "version 2, not 1", "version 2");
	memcpy(q, p, n);
	q[6] = 80;
	rejects(q, n, "header size", "header size 80");
	memcpy(q, p, n);
	q[10] = 64;
	rejects(q, n, "descriptor", "SIFT with 64-byte descriptors");
	memcpy(q, p, n);
	put32(q + 16, 11);
	rejects(q, n, "expected for 11 keypoints", "count says 11");
	memcpy(q, p, n);
	put32(q + 16, 0xffffffff);
	rejects(q, n, "over the limit", "count 2^32-1");
	memcpy(q, p, n);
	put32(q + 28, 641);
	rejects(q, n, "bad image size", "detector wider than the image");
	memcpy(q, p, n);
	memcpy(q + 64 + 2 * 24, &nan, 4);
	rejects(q, n, "keypoint 2", "a keypoint at x = NaN");
	memcpy(q, p, n);
	put32(q + 64 + 24 + 4, 0x44000000);	/* y = 512.0 */
	rejects(q, n, "keypoint 1", "a keypoint below the image");
	memcpy(q, p, n);
	q[60] = 1;
	rejects(q, n, "reserved", "reserved bytes set");
	free(q);

	/* garbage: random bytes, and a valid header over random bytes */
	bad = 0;
	for (round = 0; round < 2000; round++) {
		size_t len = round % 700;

		for (i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			junk[i] = (unsigned char)x;
		}
		if (round % 2 && len >= 64)
			memcpy(junk, p, 24);	/* magic, version, fields */
		q = malloc(len ? len : 1);
		memcpy(q, junk, len);
		if (kpblob_parse(&b, q, len) != -1)
			bad++;
		free(q);
	}
	ok(bad == 0, "2000 random buffers are all refused");

	/* the writer refuses what the reader would */
	{
		struct kpblob w;
		struct kpblob_kp k = { 700, 10, 2, 0, 1, 0 };
		unsigned char d[128] = { 0 };
		void *out;
		size_t len;

		kpblob_parse(&w, p, n);
		w.n = 1;
		ok(kpblob_write(&w, &k, d, &out, &len) == -1 && out == NULL,
		    "the writer refuses a keypoint outside the image");
	}
	{
		struct kpblob w;
		void *out;
		size_t len;

		kpblob_parse(&w, p, n);
		w.n = 0;
		ok(kpblob_write(&w, NULL, NULL, &out, &len) == 0 &&
		    len == 64 && kpblob_parse(&b, out, len) == 0 && b.n == 0,
		    "a blob of no keypoints is valid");
		free(out);
	}
	free(p);
	return tap_done();
}
