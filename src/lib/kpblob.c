/*
 * kpblob.c: read, check and write keypoint blobs (layout in kpblob.h).
 *
 * The reader meets bytes from the store, which may be damaged or made
 * by hand: it checks every field before using it and reads nothing
 * outside the buffer.  The writer is here too, so that one file holds
 * the layout; it parses what it wrote before handing it out.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "imghdr.h"
#include "kpblob.h"

static const char magic[4] = { 'P', 'M', 'K', 'P' };

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static float
getf(const unsigned char *p)
{
	uint32_t u = get32(p);
	float f;

	memcpy(&f, &u, sizeof f);
	return f;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
}

static void
putf(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	put32(p, u);
}

size_t
kpblob_size(int n, int descsize)
{
	return KPBLOB_HDRSIZE + (size_t)n * (KPBLOB_KPSIZE + (size_t)descsize);
}

/* The descriptor type and size each detector writes. */
static int
desc_ok(int detector, int type, int size)
{
	switch (detector) {
	case KPBLOB_SIFT:
		return type == KPBLOB_L2 && size == 128;
	case KPBLOB_ORB:
		return type == KPBLOB_HAMMING && size == 32;
	case KPBLOB_AKAZE:
		return type == KPBLOB_HAMMING && size == 61;
	}
	return 0;
}

void
kpblob_get(const struct kpblob *b, int i, struct kpblob_kp *kp)
{
	const unsigned char *p = b->kp + (size_t)i * KPBLOB_KPSIZE;

	kp->x = getf(p);
	kp->y = getf(p + 4);
	kp->size = getf(p + 8);
	kp->angle = getf(p + 12);
	kp->response = getf(p + 16);
	kp->octave = (int32_t)get32(p + 20);
}

static int
kp_ok(const struct kpblob *b, const struct kpblob_kp *kp)
{
	/* a keypoint lies in the image: 0,0 is the top-left pixel's
	 * centre, so the image spans -0.5 .. w-0.5 */
	if (!isfinite(kp->x) || !isfinite(kp->y) || kp->x < -0.5f ||
	    kp->y < -0.5f || kp->x > b->w - 0.5f || kp->y > b->h - 0.5f)
		return 0;
	if (!isfinite(kp->size) || kp->size <= 0 ||
	    kp->size > 4.0f * (b->w > b->h ? b->w : b->h))
		return 0;
	if (!isfinite(kp->angle) || kp->angle < -1 || kp->angle > 360)
		return 0;
	return isfinite(kp->response);
}

int
kpblob_parse(struct kpblob *b, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	struct kpblob_kp kp;
	uint32_t count;
	unsigned v;
	int i;

	memset(b, 0, sizeof *b);
	if (n < KPBLOB_HDRSIZE)
		return pm_fail("keypoint blob too short: %zu bytes", n);
	if (memcmp(p, magic, sizeof magic) != 0)
		return pm_fail("not a keypoint blob: bad magic");
	if ((v = get16(p + 4)) != KPBLOB_VERSION)
		return pm_fail("keypoint blob version %u, not %d", v,
		    KPBLOB_VERSION);
	if (get16(p + 6) != KPBLOB_HDRSIZE)
		return pm_fail("keypoint blob: header size %u, not %d",
		    get16(p + 6), KPBLOB_HDRSIZE);
	b->detector = p[8];
	b->desctype = p[9];
	b->descsize = (int)get16(p + 10);
	if (!desc_ok(b->detector, b->desctype, b->descsize))
		return pm_fail("keypoint blob: detector %d with descriptor "
		    "type %d of %d bytes", b->detector, b->desctype,
		    b->descsize);
	b->flags = get32(p + 12);
	if (b->flags & ~(uint32_t)(KPBLOB_ROOTSIFT | KPBLOB_MASKED |
	    KPBLOB_STRETCH | KPBLOB_CLAHE) ||
	    (b->flags & (KPBLOB_STRETCH | KPBLOB_CLAHE)) ==
	    (KPBLOB_STRETCH | KPBLOB_CLAHE) ||
	    ((b->flags & KPBLOB_ROOTSIFT) && b->detector != KPBLOB_SIFT))
		return pm_fail("keypoint blob: bad flags %#lx",
		    (unsigned long)b->flags);
	count = get32(p + 16);
	if (count > KPBLOB_MAXKP)
		return pm_fail("keypoint blob: %lu keypoints, over the limit "
		    "of %d", (unsigned long)count, KPBLOB_MAXKP);
	b->n = (int)count;
	if (n != kpblob_size(b->n, b->descsize))
		return pm_fail("keypoint blob: %zu bytes, %zu expected for "
		    "%d keypoints", n, kpblob_size(b->n, b->descsize), b->n);
	if (get32(p + 20) > IMG_MAX_SIDE || get32(p + 24) > IMG_MAX_SIDE ||
	    get32(p + 28) > IMG_MAX_SIDE || get32(p + 32) > IMG_MAX_SIDE)
		return pm_fail("keypoint blob: image size over the limit");
	b->w = (int)get32(p + 20);
	b->h = (int)get32(p + 24);
	b->dw = (int)get32(p + 28);
	b->dh = (int)get32(p + 32);
	if (b->w < 1 || b->h < 1 || b->dw < 1 || b->dh < 1 ||
	    b->dw > b->w || b->dh > b->h)
		return pm_fail("keypoint blob: bad image size %dx%d "
		    "(detector %dx%d)", b->w, b->h, b->dw, b->dh);
	b->scale = getf(p + 36);
	if (!isfinite(b->scale) || b->scale <= 0 || b->scale > 1)
		return pm_fail("keypoint blob: bad scale");
	for (i = 0; i < 4; i++) {
		if (get32(p + 40 + 4 * i) > IMG_MAX_SIDE)
			return pm_fail("keypoint blob: bad foreground box");
		b->fg[i] = (int)get32(p + 40 + 4 * i);
	}
	if (b->fg[0] >= b->fg[2] || b->fg[1] >= b->fg[3] || b->fg[2] > b->w ||
	    b->fg[3] > b->h)
		return pm_fail("keypoint blob: bad foreground box");
	for (i = 56; i < KPBLOB_HDRSIZE; i++)
		if (p[i] != 0)
			return pm_fail("keypoint blob: reserved header bytes "
			    "not zero");
	b->kp = p + KPBLOB_HDRSIZE;
	b->desc = b->kp + (size_t)b->n * KPBLOB_KPSIZE;
	for (i = 0; i < b->n; i++) {
		kpblob_get(b, i, &kp);
		if (!kp_ok(b, &kp))
			return pm_fail("keypoint blob: keypoint %d is out of "
			    "the image or not a number", i);
	}
	return 0;
}

int
kpblob_write(const struct kpblob *b, const struct kpblob_kp *kp,
    const unsigned char *desc, void **out, size_t *len)
{
	struct kpblob chk;
	unsigned char *p, *q;
	size_t n;
	int i;

	*out = NULL;
	*len = 0;
	if (b->n < 0 || b->n > KPBLOB_MAXKP || b->descsize < 1 ||
	    b->descsize > 0xffff)
		return pm_fail("keypoint blob: %d keypoints of %d bytes",
		    b->n, b->descsize);
	n = kpblob_size(b->n, b->descsize);
	p = pm_calloc(1, n);
	memcpy(p, magic, sizeof magic);
	put16(p + 4, KPBLOB_VERSION);
	put16(p + 6, KPBLOB_HDRSIZE);
	p[8] = (unsigned char)b->detector;
	p[9] = (unsigned char)b->desctype;
	put16(p + 10, (unsigned)b->descsize);
	put32(p + 12, b->flags);
	put32(p + 16, (uint32_t)b->n);
	put32(p + 20, (uint32_t)b->w);
	put32(p + 24, (uint32_t)b->h);
	put32(p + 28, (uint32_t)b->dw);
	put32(p + 32, (uint32_t)b->dh);
	putf(p + 36, b->scale);
	for (i = 0; i < 4; i++)
		put32(p + 40 + 4 * i, (uint32_t)b->fg[i]);
	q = p + KPBLOB_HDRSIZE;
	for (i = 0; i < b->n; i++, q += KPBLOB_KPSIZE) {
		putf(q, kp[i].x);
		putf(q + 4, kp[i].y);
		putf(q + 8, kp[i].size);
		putf(q + 12, kp[i].angle);
		putf(q + 16, kp[i].response);
		put32(q + 20, (uint32_t)kp[i].octave);
	}
	if (b->n > 0)
		memcpy(q, desc, (size_t)b->n * b->descsize);
	if (kpblob_parse(&chk, p, n) == -1) {
		free(p);
		return -1;
	}
	*out = p;
	*len = n;
	return 0;
}
