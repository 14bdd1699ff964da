/*
 * vlad: the codebook file, k-means training, the descriptors of a
 * keypoint blob, the training sample, and VLAD itself against a hand
 * computation.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kpblob.h"
#include "tap.h"
#include "vlad.h"

#define D VLAD_DIM

/* A reproducible pseudo-random real in [-1, 1). */
static double
noise(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (*s >> 8) / 8388608.0 - 1;
}

/* A keypoint blob of n SIFT keypoints whose descriptors are desc. */
static void *
blob(int n, int detector, int rootsift, const unsigned char *desc,
    size_t *len)
{
	struct kpblob b;
	struct kpblob_kp kp[8];
	void *out;
	int i;

	memset(&b, 0, sizeof b);
	b.detector = detector;
	b.desctype = detector == KPBLOB_SIFT ? KPBLOB_L2 : KPBLOB_HAMMING;
	b.descsize = detector == KPBLOB_SIFT ? 128 : 32;
	b.flags = rootsift ? KPBLOB_ROOTSIFT : 0;
	b.n = n;
	b.w = b.dw = 100;
	b.h = b.dh = 100;
	b.scale = 1;
	b.fg[2] = b.fg[3] = 100;
	for (i = 0; i < n; i++) {
		memset(&kp[i], 0, sizeof kp[i]);
		kp[i].x = kp[i].y = 10.0f + i;
		kp[i].size = 4;
		kp[i].angle = -1;
	}
	if (kpblob_write(&b, kp, desc, &out, len) == -1) {
		diag("kpblob_write: %s", pm_why());
		return NULL;
	}
	return out;
}

int
main(int argc, char *argv[])
{
	struct vlad_codebook cb, cb2;
	struct vlad_sample smp;
	struct kpblob kb;
	unsigned char desc[8 * 128];
	float *data, *centres, *d, v[2 * D], x[D], want[2 * D];
	void *p, *p2, *bp;
	size_t n, n2, bn, k;
	uint32_t s = 1;
	double err, norm, e;
	int i, j, t, bad, nd, found;

	pm_init(argv[0]);
	tap_plan(17);

	/* four clusters far apart, 200 points each, interleaved */
	centres = calloc(4 * D, sizeof *centres);
	for (j = 0; j < 4; j++)
		for (t = 0; t < D; t++)
			centres[j * D + t] = (t % 4 == j) ? 0.25f : 0;
	data = malloc(800 * D * sizeof *data);
	for (i = 0; i < 800; i++)
		for (t = 0; t < D; t++)
			data[i * D + t] = centres[(i % 4) * D + t] +
			    (float)(0.01 * noise(&s));
	ok(vlad_train(data, 800, 4, 50, &cb) == 0 && cb.k == 4 &&
	    cb.trained == 800, "k-means of 800 points in 4 clusters");
	found = 0;
	for (j = 0; j < 4; j++)
		for (i = 0; i < 4; i++) {
			err = 0;
			for (t = 0; t < D; t++)
				err += fabs(cb.c[i * D + t] - centres[j * D + t]);
			if (err / D < 0.002) {
				found++;
				break;
			}
		}
	ok(found == 4, "each true centre is found (%d of 4)", found);

	ok(vlad_codebook_write(&cb, &p, &n) == 0 &&
	    n == VLAD_HDRSIZE + 4 * D * 4, "write the codebook");
	ok(vlad_train(data, 800, 4, 50, &cb2) == 0 &&
	    vlad_codebook_write(&cb2, &p2, &n2) == 0 && n2 == n &&
	    memcmp(p, p2, n) == 0, "training again gives the same bytes");
	vlad_codebook_free(&cb2);
	free(p2);
	ok(vlad_codebook_parse(&cb2, p, n) == 0 && cb2.k == 4 &&
	    memcmp(cb2.c, cb.c, 4 * D * sizeof *cb.c) == 0,
	    "read the codebook back");
	vlad_codebook_free(&cb2);
	bad = 0;
	for (k = 0; k < n; k++) {
		unsigned char *q = malloc(k ? k : 1);

		memcpy(q, p, k);
		if (vlad_codebook_parse(&cb2, q, k) == 0)
			bad++;
		free(q);
	}
	ok(bad == 0, "every truncation is refused (%d accepted)", bad);
	((unsigned char *)p)[0] = 'X';
	ok(vlad_codebook_parse(&cb2, p, n) == -1 && strstr(pm_why(), "magic"),
	    "bad magic: %s", pm_why());
	((unsigned char *)p)[0] = 'P';
	memset((unsigned char *)p + VLAD_HDRSIZE + 12, 0xff, 4);
	ok(vlad_codebook_parse(&cb2, p, n) == -1 &&
	    strstr(pm_why(), "finite"), "a NaN centre: %s", pm_why());
	free(p);
	ok(vlad_train(data, 3, 4, 50, &cb2) == -1, "fewer points than "
	    "centres: %s", pm_why());

	/* VLAD by hand: two centres, three descriptors */
	cb2.k = 2;
	cb2.dim = D;
	cb2.c = calloc(2 * D, sizeof *cb2.c);
	cb2.c[0] = 1;			/* centre 0: e0 */
	cb2.c[D + 1] = 1;		/* centre 1: e1 */
	d = calloc(3 * D, sizeof *d);
	d[0] = 0.8f, d[2] = 0.6f;	/* near e0 */
	d[D + 0] = 0.6f, d[D + 3] = 0.8f; /* near e0 */
	d[2 * D + 1] = 0.6f, d[2 * D + 2] = 0.8f; /* near e1 */
	memset(want, 0, sizeof want);
	for (i = 0; i < 3; i++) {
		j = i < 2 ? 0 : 1;
		for (t = 0; t < D; t++)
			want[j * D + t] += d[i * D + t] - cb2.c[j * D + t];
	}
	for (j = 0; j < 2; j++) {
		norm = 0;
		for (t = 0; t < D; t++) {
			e = want[j * D + t];
			want[j * D + t] = (float)(e < 0 ? -sqrt(-e) : sqrt(e));
			norm += want[j * D + t] * want[j * D + t];
		}
		for (t = 0; t < D; t++)
			want[j * D + t] = (float)(want[j * D + t] / sqrt(norm) /
			    sqrt(2));
	}
	vlad_aggregate(&cb2, d, 3, v);
	err = 0;
	for (t = 0; t < 2 * D; t++)
		err = fmax(err, fabs(v[t] - want[t]));
	ok(err < 1e-6, "VLAD of three descriptors as by hand (error %g)", err);
	vlad_aggregate(&cb2, d, 0, v);
	norm = 0;
	for (t = 0; t < 2 * D; t++)
		norm += fabs(v[t]);
	ok(norm == 0, "no descriptors: the zero vector");
	free(d);
	vlad_codebook_free(&cb2);

	/* descriptors of keypoint blobs */
	for (i = 0; i < 2 * 128; i++)
		desc[i] = (unsigned char)(i % 128 == 5 ? 200 :
		    i % 128 == 9 ? 50 : 0);
	memset(desc + 2 * 128, 0, 128);	/* an all-zero descriptor */
	bp = blob(3, KPBLOB_SIFT, 0, desc, &bn);
	ok(bp != NULL && kpblob_parse(&kb, bp, bn) == 0 &&
	    vlad_descriptors(&kb, &d, &nd) == 0 && nd == 2 &&
	    fabsf(d[5] - sqrtf(0.8f)) < 1e-6 && fabsf(d[9] - sqrtf(0.2f)) < 1e-6 &&
	    fabsf(d[D + 5] - sqrtf(0.8f)) < 1e-6,
	    "SIFT to RootSIFT: sqrt(d / sum(d)), zero descriptors left out");
	free(bp);
	free(d);
	bp = blob(1, KPBLOB_SIFT, 1, desc, &bn);
	ok(bp != NULL && kpblob_parse(&kb, bp, bn) == 0 &&
	    vlad_descriptors(&kb, &d, &nd) == 0 && nd == 1 &&
	    fabsf(d[5] - 200 / sqrtf(200 * 200 + 50 * 50)) < 1e-6,
	    "RootSIFT: to unit length");
	free(bp);
	free(d);
	bp = blob(1, KPBLOB_ORB, 0, desc, &bn);
	ok(bp != NULL && kpblob_parse(&kb, bp, bn) == 0 &&
	    vlad_descriptors(&kb, &d, &nd) == -1, "ORB is refused: %s",
	    pm_why());
	free(bp);

	/* the sample keeps every stride-th descriptor, at most 2 * max */
	vlad_sample_init(&smp, 4);
	for (i = 0; i < 37; i++) {
		for (t = 0; t < D; t++)
			x[t] = (float)i;
		vlad_sample_add(&smp, x, 1);
	}
	bad = 0;
	for (i = 0; i < smp.n; i++)
		if (smp.d[i * D] != (float)(i * smp.stride))
			bad++;
	ok(smp.n <= 8 && smp.stride == 8 && smp.n == 5 && bad == 0,
	    "sample of 37: %d kept, every %lld-th", smp.n, smp.stride);
	vlad_sample_free(&smp);

	/* the codebook pm ships */
	{
		const char *dir = getenv("TEST_DATA");
		char path[4096];

		snprintf(path, sizeof path, "%s/../../share/pm/vlad.cb",
		    dir ? dir : "t/data");
		i = vlad_codebook_load(&cb2, path);
		ok(i == 0 && cb2.k == 32 && cb2.trained > 1000, "share/pm/vlad.cb: %d centres from %d "
		    "descriptors", cb2.k, cb2.trained);
		vlad_codebook_free(&cb2);
	}
	ok(vlad_codebook_load(&cb2, "/nonexistent/vlad.cb") == -1 &&
	    strstr(pm_why(), "No such file"), "a missing file: %s", pm_why());

	vlad_codebook_free(&cb);
	free(centres);
	free(data);
	return tap_done();
}
