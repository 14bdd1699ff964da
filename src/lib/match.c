/*
 * match.c: pm-match's engine (match.h): shortlists, verification, a
 * cache of catalog keypoints, tracking, decisions and appearances.
 */
#define _GNU_SOURCE		/* vasprintf */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cv.h"
#include "err.h"
#include "index.h"
#include "kpblob.h"
#include "match.h"
#include "rec.h"
#include "refine.h"
#include "store.h"
#include "vec.h"

/* The longer side of the pictures colours are compared in: the catalog
 * image's, the frame's. */
#define MATCH_COLOUR_SIDE 96
#define MATCH_FRAME_SIDE 320

/* Refinement's detector sees the part of a frame where it looks for a
 * product (its box grown, see region()) at most this many pixels on its
 * shorter side: the time it takes grows with the pixels, and a product
 * seen large needs none of the finer detail to be found. */
#define MATCH_REFINE_SIDE 320

/* A product is in view when at least this share of its outline is
 * inside the frame; a match of one going out of the picture or coming
 * in is written, but neither starts an appearance nor makes one go
 * on. */
#define MATCH_INSIDE	0.5

/* Refinement follows a product from the sampled frame it was found in
 * by its corners (cv_track_step()) while at least MATCH_TRACK_MIN agree
 * on where it went; with fewer to begin with, it bisects.  When under
 * MATCH_TRACK_GONE of them agree, what was there has gone (a cut, the
 * product taken away or hidden): it is not looked for again.  A frame
 * decoded again is the sampled one when their times are this close. */
#define MATCH_TRACK_MIN		8
#define MATCH_TRACK_GONE	0.1
#define MATCH_SAMPLE_EPS	0.004

void
match_defaults(struct match_params *p)
{
	memset(p, 0, sizeof *p);
	p->kvote = 10;
	p->kvec = 5;
	p->ef = 64;
	p->exact = 0;
	p->min_score = 0.4;
	p->new_score = 0.5;
	p->colour = 0.2;
	p->min_cover = 0.03;
	p->same_place = 0.2;
	p->overlap = 0.5;
	p->gap = 2;
	p->grow = 0.5;
	p->track = 1;
	p->refine = 8;
	p->threads = 1;
	p->cache = (size_t)1 << 30;
	cv_verify_defaults(&p->vp);
	p->vp.min_inliers = 6;
}

/*
 * The cache of catalog images' keypoint sets.  An entry is loaded once
 * (other threads wanting it wait), used by any number of threads, and
 * evicted, least recently used first, when the cache is over its size
 * and nobody uses it.
 */
enum { C_NONE, C_LOADING, C_READY, C_FAILED };

struct centry {
	struct cv_kpset	*set;
	struct cv_colours *col;		/* loaded when first needed */
	int		 state, refs, colstate;
	int		 gone;		/* missing from the start (reported) */
	size_t		 bytes;
	uint64_t	 used;
	char		*why, *colwhy;
};

struct cache {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct centry	*e;
	uint32_t	 n;
	size_t		 bytes, limit;
	uint64_t	 clock;
};

/* Geometry of boxes: four corners, x,y, clockwise from top-left. */

static double
poly_area(const double *p, int n)
{
	double a = 0;
	int i;

	for (i = 0; i < n; i++) {
		int j = (i + 1) % n;

		a += p[2 * i] * p[2 * j + 1] - p[2 * j] * p[2 * i + 1];
	}
	return a / 2;
}

/* Clip the convex polygon p (n corners, positive area) by the line
 * through a and b, keeping its left side in the orientation of positive
 * area; returns the corners left in out. */
static int
clip(const double *p, int n, const double *a, const double *b, double *out)
{
	int i, m = 0;

	for (i = 0; i < n; i++) {
		const double *c = p + 2 * i, *d = p + 2 * ((i + 1) % n);
		double sc = (b[0] - a[0]) * (c[1] - a[1]) -
		    (b[1] - a[1]) * (c[0] - a[0]);
		double sd = (b[0] - a[0]) * (d[1] - a[1]) -
		    (b[1] - a[1]) * (d[0] - a[0]);

		if (sc >= 0) {
			out[2 * m] = c[0];
			out[2 * m + 1] = c[1];
			m++;
		}
		if ((sc >= 0) != (sd >= 0) && sc != sd) {
			double t = sc / (sc - sd);

			out[2 * m] = c[0] + t * (d[0] - c[0]);
			out[2 * m + 1] = c[1] + t * (d[1] - c[1]);
			m++;
		}
	}
	return m;
}

/* A box's corners in the order of positive area. */
static void
oriented(const double *box, double *q)
{
	int i;

	if (poly_area(box, 4) >= 0) {
		memcpy(q, box, 8 * sizeof *q);
		return;
	}
	for (i = 0; i < 4; i++) {
		q[2 * i] = box[2 * (3 - i)];
		q[2 * i + 1] = box[2 * (3 - i) + 1];
	}
}

/* The area two convex boxes share (corners in the order of positive
 * area). */
static double
inter_area(const double *q1, const double *q2)
{
	double p[2][32];
	int n = 4, i, cur = 0;

	memcpy(p[0], q1, 8 * sizeof *q1);
	for (i = 0; i < 4 && n > 0; i++) {
		n = clip(p[cur], n, q2 + 2 * i, q2 + 2 * ((i + 1) % 4),
		    p[1 - cur]);
		cur = 1 - cur;
	}
	return n >= 3 ? fabs(poly_area(p[cur], n)) : 0;
}

/* Intersection over union of two convex boxes. */
static double
box_iou(const double *b1, const double *b2)
{
	double q1[8], q2[8], inter, a1, a2;

	oriented(b1, q1);
	oriented(b2, q2);
	inter = inter_area(q1, q2);
	a1 = fabs(poly_area(q1, 4));
	a2 = fabs(poly_area(q2, 4));
	if (a1 + a2 - inter <= 0)
		return 0;
	return inter / (a1 + a2 - inter);
}

/* The share of a (convex) box inside a w x h frame. */
static double
box_inside(const double *b, int w, int h)
{
	double q[8], a, r[8] = { -0.5, -0.5, w - 0.5, -0.5, w - 0.5, h - 0.5,
	    -0.5, h - 0.5 };

	oriented(b, q);
	a = fabs(poly_area(q, 4));
	return a > 0 ? inter_area(q, r) / a : 0;
}

static int
by_xy(const void *a, const void *b)
{
	const float *p = a, *q = b;

	if (p[0] != q[0])
		return p[0] < q[0] ? -1 : 1;
	if (p[1] != q[1])
		return p[1] < q[1] ? -1 : 1;
	return 0;
}

static double
turn(const float *o, const float *a, const float *b)
{
	return ((double)a[0] - o[0]) * ((double)b[1] - o[1]) -
	    ((double)a[1] - o[1]) * ((double)b[0] - o[0]);
}

/* The area of the convex hull of the inliers' catalog points (Andrew's
 * monotone chain). */
static double
hull_area(const struct cv_match *m)
{
	float *pt, *h;
	int n = m->npairs, i, k = 0, lo;
	double a = 0;

	if (n < 3)
		return 0;
	pt = pm_reallocarray(NULL, (size_t)n, 2 * sizeof *pt);
	h = pm_reallocarray(NULL, (size_t)2 * n + 1, 2 * sizeof *h);
	for (i = 0; i < n; i++) {
		pt[2 * i] = m->pairs[4 * i];
		pt[2 * i + 1] = m->pairs[4 * i + 1];
	}
	qsort(pt, (size_t)n, 2 * sizeof *pt, by_xy);
	for (i = 0; i < n; i++) {
		while (k >= 2 && turn(h + 2 * (k - 2), h + 2 * (k - 1),
		    pt + 2 * i) <= 0)
			k--;
		h[2 * k] = pt[2 * i];
		h[2 * k + 1] = pt[2 * i + 1];
		k++;
	}
	for (i = n - 2, lo = k + 1; i >= 0; i--) {
		while (k >= lo && turn(h + 2 * (k - 2), h + 2 * (k - 1),
		    pt + 2 * i) <= 0)
			k--;
		h[2 * k] = pt[2 * i];
		h[2 * k + 1] = pt[2 * i + 1];
		k++;
	}
	for (i = 0; i + 1 < k; i++)
		a += (double)h[2 * i] * h[2 * i + 3] -
		    (double)h[2 * i + 2] * h[2 * i + 1];
	free(pt);
	free(h);
	return fabs(a) / 2;
}

/* A verified candidate. */
struct cand {
	uint32_t	 entry, pnum;
	double		 score, cover, colour;
	double		 inside;	/* the box's share inside the frame */
	int		 inliers, matches, tracked;
	double		 H[9], box[8];
	float		*pts;		/* the inliers' frame x,y, sorted */
	int		 npts;
};

/* How many of a's inliers in the frame are b's too.  Both were found
 * among the same frame keypoints, so a shared one has the same bits. */
static int
shared(const struct cand *a, const struct cand *b)
{
	int i = 0, j = 0, n = 0, d;

	while (i < a->npts && j < b->npts) {
		if ((d = by_xy(a->pts + 2 * i, b->pts + 2 * j)) == 0) {
			n++;
			i++;
			j++;
		} else if (d < 0)
			i++;
		else
			j++;
	}
	return n;
}

/*
 * A frame's picture, for the colour check: its JPEG blob, decoded when
 * first needed, or its pixels at hand.
 */
struct fpic {
	const char	*blob;		/* a blob name, or NULL: */
	const struct refine_frame *raw;	/* ... these pixels */
	struct cv_colours *col;
	int		 tried;
	char		*why;
};

struct mframe {
	char		*video;
	double		 t;
	char		*blob;
	struct fpic	 pic;
	void		*kpraw;		/* the frame's keypoint blob */
	size_t		 kplen;
	struct kpblob	 kb;
	struct cv_kpset	*set;
	struct cand	*c;		/* best of each product, by product */
	int		 nc;
	char		*trace;
};

/*
 * An appearance of a product in the current video.  A match continues
 * it when it comes no more than the gap after the last, or when no
 * frame without the product came in between: frames that were not
 * sampled, or that pm-frames dropped as the same picture again, are no
 * evidence that the product left.
 */
struct app {
	uint32_t	 pnum;
	double		 first, last;	/* matched frames' times */
	double		 before, after;	/* times of the frames just outside, or NAN */
	int		 frames, open;
	double		 score;		/* the best match's */
	json_t		*best;		/* its t, frame, image, box */
	uint32_t	 entry;		/* the last match's image */
	double		 box[8];	/* ... and box */
	uint32_t	 fentry;	/* the first match's image */
	double		 fbox[8];	/* ... and box */
	double		 from;		/* where the start is looked for
					   after: first, or a weak match's
					   time just before (struct weak) */
	double		 start, end;	/* as written */
};

/*
 * A match of a frame that scored under -T where its product was not
 * seen before: too weak to start an appearance alone.  When the next
 * frame finds the product at the same place, the appearance is taken to
 * start from it.
 */
struct weak {
	uint32_t	 pnum, entry;
	double		 t, before;	/* its frame's and the one before */
	double		 box[8];
};

struct video {
	char		*id;
	char		*blob;		/* from its video record, or NULL */
	double		 duration;	/* ... and its duration, or NAN */
	double		 prev;		/* the previous frame's time, or NAN */
	struct app	*a;
	int		 na, cap;
	struct weak	*weak;		/* the previous frame's */
	int		 nweak, capweak;
	int		 have_kpo;	/* the frames' keypoint options: */
	struct cv_kp_opts kpo;
	int		 fw, fh;	/* ... and size */
};

struct matcher {
	struct index	*ix;
	struct store	*st;
	struct match_params p;
	struct cache	 cache;
	int		 missing;	/* catalog images without keypoints */
	int		 unrefined;	/* videos whose refinement failed */
	struct video	*v;		/* the current video, or NULL */
	char		*vid, *vblob;	/* the last video record's id and blob */
	double		 vdur;		/* ... and duration, or NAN */
	struct index_scratch *spare;	/* scratch spaces not in use */
	int		 nspare, capspare;
	pthread_mutex_t	 mu;
};

static size_t
set_bytes(const struct index *ix, uint32_t nkp)
{
	if (ix->desctype == KPBLOB_L2)
		return (size_t)nkp * ((size_t)(ix->descsize + 15) / 16 * 32 + 20);
	return (size_t)nkp * ((size_t)(ix->descsize + 7) / 8 * 8 + 16);
}

struct matcher *
matcher_new(struct index *ix, struct store *st, const struct match_params *p)
{
	struct matcher *m = pm_calloc(1, sizeof *m);
	struct index_entry e;
	uint32_t i;

	m->ix = ix;
	m->st = st;
	m->p = *p;
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->cache.mu, NULL);
	pthread_cond_init(&m->cache.cv, NULL);
	m->cache.n = ix->n;
	m->cache.limit = p->cache;
	m->cache.e = pm_calloc(ix->n, sizeof *m->cache.e);
	/* catalog images whose keypoints are gone: said once, here */
	for (i = 0; i < ix->n; i++) {
		index_entry(ix, i, &e);
		if (store_has(st, e.kp) != 1) {
			pm_warn("catalog image %.12s of product %s: keypoint "
			    "blob %.12s missing: it cannot be matched",
			    e.image, e.product, e.kp);
			m->cache.e[i].state = C_FAILED;
			m->cache.e[i].gone = 1;
			m->cache.e[i].why = pm_strdup("keypoint blob missing");
			m->missing++;
		}
	}
	return m;
}

static void
video_free(struct video *v)
{
	int i;

	if (v == NULL)
		return;
	for (i = 0; i < v->na; i++)
		json_decref(v->a[i].best);
	free(v->a);
	free(v->weak);
	free(v->id);
	free(v->blob);
	free(v);
}

void
matcher_free(struct matcher *m)
{
	uint32_t i;
	int k;

	if (m == NULL)
		return;
	for (i = 0; i < m->cache.n; i++) {
		cv_kpset_free(m->cache.e[i].set);
		cv_colours_free(m->cache.e[i].col);
		free(m->cache.e[i].why);
		free(m->cache.e[i].colwhy);
	}
	free(m->cache.e);
	for (k = 0; k < m->nspare; k++)
		index_scratch_free(&m->spare[k]);
	free(m->spare);
	video_free(m->v);
	free(m->vid);
	free(m->vblob);
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->cache.mu);
	pthread_cond_destroy(&m->cache.cv);
	free(m);
}

int
matcher_warnings(const struct matcher *m)
{
	return m->missing + m->unrefined;
}

/* Make room: evict unused sets, least recently used first. */
static void
cache_evict(struct cache *c, uint32_t keep)
{
	while (c->bytes > c->limit) {
		uint32_t i, best = UINT32_MAX;

		for (i = 0; i < c->n; i++)
			if (i != keep && c->e[i].state == C_READY &&
			    c->e[i].refs == 0 && (best == UINT32_MAX ||
			    c->e[i].used < c->e[best].used))
				best = i;
		if (best == UINT32_MAX)
			return;
		cv_kpset_free(c->e[best].set);
		c->e[best].set = NULL;
		c->e[best].state = C_NONE;
		if (c->e[best].colstate == C_READY) {
			cv_colours_free(c->e[best].col);
			c->e[best].col = NULL;
			c->e[best].colstate = C_NONE;
		}
		c->bytes -= c->e[best].bytes;
	}
}

/* Entry i's keypoint set, or NULL with *why; release with cache_put(). */
static struct cv_kpset *
cache_get(struct matcher *m, uint32_t i, const char **why)
{
	struct cache *c = &m->cache;
	struct centry *e = &c->e[i];
	struct index_entry ie;
	struct cv_kpset *set = NULL;
	char *err = NULL;
	void *p;
	size_t n;

	pthread_mutex_lock(&c->mu);
	while (e->state == C_LOADING)
		pthread_cond_wait(&c->cv, &c->mu);
	if (e->state == C_READY) {
		e->refs++;
		e->used = ++c->clock;
		pthread_mutex_unlock(&c->mu);
		return e->set;
	}
	if (e->state == C_FAILED) {
		*why = e->why;
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	e->state = C_LOADING;
	pthread_mutex_unlock(&c->mu);

	index_entry(m->ix, i, &ie);
	if (store_get(m->st, ie.kp, &p, &n) == -1)
		err = pm_strdup(pm_why());
	else {
		if ((set = cv_kpset_new(p, n)) == NULL)
			err = pm_strdup(pm_why());
		free(p);
	}

	pthread_mutex_lock(&c->mu);
	if (set == NULL) {
		e->state = C_FAILED;
		e->why = err;
		*why = e->why;
	} else {
		e->state = C_READY;
		e->set = set;
		e->refs = 1;
		e->used = ++c->clock;
		e->bytes = set_bytes(m->ix, (uint32_t)cv_kpset_count(set));
		c->bytes += e->bytes;
		cache_evict(c, i);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return set;
}

/*
 * Entry i's colours, or NULL with *why; the caller holds the entry (by
 * cache_get()), which keeps them until cache_put().
 */
static struct cv_colours *
cache_colours(struct matcher *m, uint32_t i, const char **why)
{
	struct cache *c = &m->cache;
	struct centry *e = &c->e[i];
	struct index_entry ie;
	struct cv_colours *col = NULL;
	char *err = NULL;
	void *p;
	size_t n;

	pthread_mutex_lock(&c->mu);
	while (e->colstate == C_LOADING)
		pthread_cond_wait(&c->cv, &c->mu);
	if (e->colstate == C_READY || e->colstate == C_FAILED) {
		col = e->col;
		*why = e->colwhy;
		pthread_mutex_unlock(&c->mu);
		return col;
	}
	e->colstate = C_LOADING;
	pthread_mutex_unlock(&c->mu);

	index_entry(m->ix, i, &ie);
	if (store_get(m->st, ie.image, &p, &n) == -1)
		err = pm_strdup(pm_why());
	else {
		if ((col = cv_colours_new(p, n, MATCH_COLOUR_SIDE)) == NULL)
			err = pm_strdup(pm_why());
		free(p);
	}

	pthread_mutex_lock(&c->mu);
	if (col == NULL) {
		/* said once; the image is then matched without colours */
		pm_warn("catalog image %.12s of product %s: no colour check: "
		    "%s", ie.image, ie.product, err);
		m->missing++;
		e->colstate = C_FAILED;
		free(e->colwhy);
		e->colwhy = err;
		*why = err;
	} else {
		size_t b = cv_colours_bytes(col);

		e->colstate = C_READY;
		e->col = col;
		e->bytes += b;
		c->bytes += b;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return col;
}

static void
cache_put(struct matcher *m, uint32_t i)
{
	pthread_mutex_lock(&m->cache.mu);
	m->cache.e[i].refs--;
	cache_evict(&m->cache, UINT32_MAX);
	pthread_mutex_unlock(&m->cache.mu);
}

static struct index_scratch
scratch_take(struct matcher *m)
{
	struct index_scratch s;

	memset(&s, 0, sizeof s);
	pthread_mutex_lock(&m->mu);
	if (m->nspare > 0)
		s = m->spare[--m->nspare];
	pthread_mutex_unlock(&m->mu);
	return s;
}

static void
scratch_give(struct matcher *m, struct index_scratch *s)
{
	pthread_mutex_lock(&m->mu);
	if (m->nspare == m->capspare) {
		m->capspare = m->capspare ? 2 * m->capspare : 8;
		m->spare = pm_reallocarray(m->spare, (size_t)m->capspare,
		    sizeof *m->spare);
	}
	m->spare[m->nspare++] = *s;
	pthread_mutex_unlock(&m->mu);
}

/* The frame's colours, or NULL (why in fp->why). */
static struct cv_colours *
fpic_colours(struct matcher *m, struct fpic *fp)
{
	void *p;
	size_t n;

	if (fp->tried)
		return fp->col;
	fp->tried = 1;
	if (fp->blob != NULL) {
		if (store_get(m->st, fp->blob, &p, &n) == -1) {
			fp->why = pm_strdup(pm_why());
			return NULL;
		}
		fp->col = cv_colours_new(p, n, MATCH_FRAME_SIDE);
		free(p);
	} else
		fp->col = cv_colours_bgr(&fp->raw->pic, MATCH_FRAME_SIDE);
	if (fp->col == NULL)
		fp->why = pm_strdup(pm_why());
	return fp->col;
}

static void
fpic_free(struct fpic *fp)
{
	cv_colours_free(fp->col);
	free(fp->why);
	memset(fp, 0, sizeof *fp);
}

void
mframe_free(struct mframe *f)
{
	int i;

	if (f == NULL)
		return;
	free(f->video);
	free(f->blob);
	fpic_free(&f->pic);
	for (i = 0; f->c != NULL && i < f->nc; i++)
		free(f->c[i].pts);
	free(f->kpraw);
	cv_kpset_free(f->set);
	free(f->c);
	free(f->trace);
	free(f);
}

static void
trace_add(char **s, const char *fmt, ...) PM_PRINTF(2, 3);

static void
trace_add(char **s, const char *fmt, ...)
{
	va_list ap;
	char *a, *b;

	va_start(ap, fmt);
	if (vasprintf(&a, fmt, ap) == -1)
		pm_err(PM_EXIT_FATAL, "out of memory");
	va_end(ap);
	b = pm_asprintf("%s%s", *s ? *s : "", a);
	free(a);
	free(*s);
	*s = b;
}

/*
 * Do entry e's colours agree with the frame's picture fp where the
 * match puts it?  0 if they do not; 1 if they do, or cannot be told (a
 * grey image, a picture that cannot be had: reported elsewhere).
 */
static int
colours_agree(struct matcher *m, uint32_t e, struct fpic *fp,
    const struct cv_match *cm, struct cand *c)
{
	struct cv_colours *cc, *fc;
	struct cv_colour_cmp cmp;
	const char *why;

	c->colour = NAN;
	if (m->p.colour <= -1 || fp == NULL)
		return 1;
	if ((cc = cache_colours(m, e, &why)) == NULL ||
	    (fc = fpic_colours(m, fp)) == NULL)
		return 1;
	if (cv_colour_agree(cc, fc, cm->H, cm->pairs, cm->npairs, &cmp) == -1)
		return 1;
	c->colour = cmp.agree;
	return isnan(cmp.agree) || cmp.agree >= m->p.colour;
}

/*
 * Verify entry e in the frame's keypoint set (and its picture fp for the
 * colours, or NULL); 1 with *c filled if it is there by every check, 0
 * if not, -1 if its keypoints cannot be read.
 */
static int
verify(struct matcher *m, uint32_t e, const struct cv_kpset *fs,
    struct fpic *fp, struct cand *c, const char **why, char **trace)
{
	struct cv_kpset *cs;
	struct cv_match cm;
	int w, h, r = 0;

	if ((cs = cache_get(m, e, why)) == NULL)
		return -1;
	if (cv_verify(cs, fs, &m->p.vp, &cm) == -1) {
		*why = "keypoints of another kind";
		cache_put(m, e);
		return -1;
	}
	cv_kpset_size(cs, &w, &h);
	memset(c, 0, sizeof *c);
	c->colour = NAN;
	{
		int fw, fh;

		cv_kpset_size(fs, &fw, &fh);
		c->inside = cm.verified ? box_inside(cm.box, fw, fh) : 0;
	}
	c->entry = e;
	c->pnum = m->ix->pnum[e];
	c->score = cm.score;
	c->inliers = cm.inliers;
	c->matches = cm.matches;
	memcpy(c->H, cm.H, sizeof c->H);
	memcpy(c->box, cm.box, sizeof c->box);
	if (cm.verified) {
		c->cover = hull_area(&cm) / ((double)w * h);
		if (c->score < m->p.min_score)
			cm.why = "score under -t";
		else if (c->cover < m->p.min_cover)
			cm.why = "inliers cover too little of the image";
		else if (!colours_agree(m, e, fp, &cm, c))
			cm.why = "colours disagree";
		else
			r = 1;
	}
	if (r == 1) {
		int k;

		c->npts = cm.npairs;
		c->pts = pm_reallocarray(NULL, (size_t)c->npts + 1,
		    2 * sizeof *c->pts);
		for (k = 0; k < c->npts; k++) {
			c->pts[2 * k] = cm.pairs[4 * k + 2];
			c->pts[2 * k + 1] = cm.pairs[4 * k + 3];
		}
		qsort(c->pts, (size_t)c->npts, 2 * sizeof *c->pts, by_xy);
	}
	if (trace != NULL) {
		trace_add(trace, " %s:%s(%d/%d,%.3f",
		    m->ix->product[m->ix->pnum[e]], r ? "yes" : cm.why,
		    cm.inliers, cm.matches, cm.score);
		if (!isnan(c->colour))
			trace_add(trace, ",colour %.2f", c->colour);
		trace_add(trace, ")");
	}
	cv_match_free(&cm);
	cache_put(m, e);
	return r;
}

/* c1 beats c2: a higher score, more inliers, the lower product, entry */
static int
cand_better(const struct cand *a, const struct cand *b)
{
	if (a->score != b->score)
		return a->score > b->score;
	if (a->inliers != b->inliers)
		return a->inliers > b->inliers;
	if (a->pnum != b->pnum)
		return a->pnum < b->pnum;
	return a->entry < b->entry;
}

static int
cmp_entry(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_pnum(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return x->pnum < y->pnum ? -1 : x->pnum > y->pnum;
}

int
matcher_frame(struct matcher *m, struct rec *r, struct mframe **out)
{
	struct index *ix = m->ix;
	struct mframe *f;
	struct index_scratch sc;
	struct index_hit *hits;
	const char *s, *kp, *why;
	uint32_t *list, nlist = 0, i;
	int nh, k, v;
	double t;

	*out = NULL;
	if ((s = rec_str(r, "video")) == NULL)
		return pm_fail("no video");
	if (rec_num(r, "t", &t) == -1 || !isfinite(t))
		return pm_fail("no time t");
	if (rec_str(r, "blob") == NULL)
		return pm_fail("no blob");
	if ((kp = rec_str(r, "kp")) == NULL)
		return pm_fail("no kp: run pm-kp first");
	f = pm_calloc(1, sizeof *f);
	f->video = pm_strdup(s);
	f->t = t;
	f->blob = pm_strdup(rec_str(r, "blob"));
	f->pic.blob = f->blob;
	if (store_get(m->st, kp, &f->kpraw, &f->kplen) == -1 ||
	    kpblob_parse(&f->kb, f->kpraw, f->kplen) == -1) {
		char *w = pm_strdup(pm_why());

		mframe_free(f);
		pm_fail("kp %.12s: %s", kp, w);
		free(w);
		return -1;
	}
	if (!index_kind_ok(ix, f->kb.detector, f->kb.desctype, f->kb.descsize,
	    f->kb.flags)) {
		pm_fail("keypoints of kind %s, the index has %s",
		    index_kind_name(f->kb.detector, f->kb.flags),
		    index_kind_name(ix->detector, ix->kpflags));
		mframe_free(f);
		return -1;
	}
	if ((f->set = cv_kpset_new(f->kpraw, f->kplen)) == NULL) {
		mframe_free(f);
		return -1;
	}

	/* the shortlist: word votes, vector neighbours; or every image */
	sc = scratch_take(m);
	list = pm_reallocarray(NULL, (size_t)m->p.kvote + m->p.kvec + ix->n,
	    sizeof *list);
	hits = pm_reallocarray(NULL, (size_t)m->p.kvote + m->p.kvec + 1,
	    sizeof *hits);
	if (m->p.trace != NULL)
		trace_add(&f->trace, "%s t=%g:", f->video, t);
	if (ix->k == 0 && ix->dim == 0) {
		for (i = 0; i < ix->n; i++)
			list[nlist++] = i;
	}
	if (ix->k > 0 && f->kb.n > 0 && m->p.kvote > 0) {
		struct index_query q;

		index_query_make(ix, &f->kb, &q, &sc);
		nh = index_vote(ix, &q, m->p.kvote, hits, &sc);
		index_query_free(&q);
		if (m->p.trace != NULL)
			trace_add(&f->trace, " vote");
		for (k = 0; k < nh; k++) {
			list[nlist++] = hits[k].entry;
			if (m->p.trace != NULL)
				trace_add(&f->trace, " %s:%.3f",
				    ix->product[ix->pnum[hits[k].entry]],
				    hits[k].score);
		}
	}
	if (ix->dim > 0 && m->p.kvec > 0 &&
	    json_object_get(r->j, "emb") != NULL) {
		struct vec vq;

		if (vec_from_json(&vq, r->j, m->st) == -1)
			rec_warn(r, "emb: %s: no vector search", pm_why());
		else if (vq.dim != ix->dim || strcmp(vq.method, ix->method)) {
			rec_warn(r, "emb of method %s (%d elements), the "
			    "index has %s (%d): no vector search", vq.method,
			    vq.dim, ix->method, ix->dim);
			vec_free(&vq);
		} else {
			nh = index_nearest(ix, vq.v, m->p.kvec, m->p.ef,
			    m->p.exact, hits, &sc);
			if (m->p.trace != NULL)
				trace_add(&f->trace, " vec");
			for (k = 0; k < nh; k++) {
				list[nlist++] = hits[k].entry;
				if (m->p.trace != NULL)
					trace_add(&f->trace, " %s:%.3f",
					    ix->product[ix->pnum[hits[k].entry]],
					    hits[k].score);
			}
			vec_free(&vq);
		}
	}
	scratch_give(m, &sc);
	free(hits);

	/* verify each image once, in entry order */
	qsort(list, nlist, sizeof *list, cmp_entry);
	f->c = pm_calloc((size_t)nlist + 1, sizeof *f->c);
	if (m->p.trace != NULL)
		trace_add(&f->trace, "; verify");
	for (i = 0; i < nlist; i++) {
		struct cand c;

		if (i > 0 && list[i] == list[i - 1])
			continue;
		v = verify(m, list[i], f->set, &f->pic, &c, &why,
		    m->p.trace != NULL ? &f->trace : NULL);
		if (v == -1) {
			struct index_entry e;

			index_entry(ix, list[i], &e);
			if (!m->cache.e[list[i]].gone)
				rec_warn(r, "catalog image %.12s of product "
				    "%s: %s", e.image, e.product, why);
			continue;
		}
		if (v == 0)
			continue;
		/* the best image of each product */
		for (k = 0; k < f->nc; k++)
			if (f->c[k].pnum == c.pnum)
				break;
		if (k == f->nc)
			f->c[f->nc++] = c;
		else if (cand_better(&c, &f->c[k])) {
			free(f->c[k].pts);
			f->c[k] = c;
		} else
			free(c.pts);
	}
	free(list);
	if (f->pic.why != NULL)
		rec_warn(r, "frame %.12s: no colour check: %s", f->blob,
		    f->pic.why);
	qsort(f->c, (size_t)f->nc, sizeof *f->c, cmp_pnum);
	*out = f;
	return 0;
}

/* Where a product is looked for again: the bounding rectangle of its
 * box (x0, y0, x1, y1) grown by p.grow of its size on each side. */
static void
region(const struct matcher *m, const double *box, double *r)
{
	double bw, bh;
	int i;

	r[0] = r[1] = INFINITY;
	r[2] = r[3] = -INFINITY;
	for (i = 0; i < 4; i++) {
		r[0] = fmin(r[0], box[2 * i]);
		r[2] = fmax(r[2], box[2 * i]);
		r[1] = fmin(r[1], box[2 * i + 1]);
		r[3] = fmax(r[3], box[2 * i + 1]);
	}
	bw = r[2] - r[0];
	bh = r[3] - r[1];
	r[0] -= m->p.grow * bw;
	r[2] += m->p.grow * bw;
	r[1] -= m->p.grow * bh;
	r[3] += m->p.grow * bh;
}

/*
 * Verify entry e in the part of a frame around where it was (region()),
 * so that frame keypoints elsewhere neither cost time nor crowd the
 * ratio test.  1 if it is there.
 */
static int
region_verify(struct matcher *m, const struct kpblob *kb, struct fpic *fp,
    uint32_t e, const double *box, struct cand *c, char **trace)
{
	struct kpblob sub = *kb;
	struct kpblob_kp *kp, k;
	unsigned char *desc;
	struct cv_kpset *fs;
	const char *why;
	double rr[4];
	void *blob;
	size_t len;
	int i, n = 0, r;

	region(m, box, rr);
	kp = pm_reallocarray(NULL, (size_t)kb->n + 1, sizeof *kp);
	desc = pm_reallocarray(NULL, (size_t)kb->n + 1, (size_t)kb->descsize);
	for (i = 0; i < kb->n; i++) {
		kpblob_get(kb, i, &k);
		if (k.x < rr[0] || k.x > rr[2] || k.y < rr[1] || k.y > rr[3])
			continue;
		kp[n] = k;
		memcpy(desc + (size_t)n * kb->descsize,
		    kb->desc + (size_t)i * kb->descsize, (size_t)kb->descsize);
		n++;
	}
	sub.n = n;
	r = 0;
	if (n >= m->p.vp.min_inliers &&
	    kpblob_write(&sub, kp, desc, &blob, &len) == 0) {
		if ((fs = cv_kpset_new(blob, len)) != NULL) {
			if (trace != NULL)
				trace_add(trace, " (%d kp)", n);
			r = verify(m, e, fs, fp, c, &why, trace);
			cv_kpset_free(fs);
		}
		free(blob);
	}
	free(kp);
	free(desc);
	return r == 1;
}

/* Tracking: a product not found in this frame, where it was before. */
static int
track(struct matcher *m, struct mframe *f, uint32_t e, const double *box,
    struct cand *c)
{
	if (m->p.trace != NULL)
		trace_add(&f->trace, "; track");
	if (!region_verify(m, &f->kb, &f->pic, e, box, c,
	    m->p.trace != NULL ? &f->trace : NULL))
		return 0;
	c->tracked = 1;
	return 1;
}

/*
 * Refinement: the boundaries of the video's appearances from frames
 * decoded between a frame without the product and the next with it
 * (or the last with it and the next without).
 */
struct rjob {
	struct app	*a;
	int		 end;		/* the end (1) or the start (0) */
	int		 open;		/* no frame beyond: the video's end
					   or start */
	double		 lo, hi;
	uint32_t	 entry;
	const double	*box;
	const char	*how;		/* for the trace */
};

struct rsearch {
	struct matcher	*m;
	struct rjob	*job;
	const struct refine_opts *ro;
};

/* Is the job's product in frame f, near box?  Where it is goes to
 * found, when not NULL. */
static int
present(struct rsearch *r, const struct rjob *j, const double *box,
    const struct refine_frame *f, double *found)
{
	struct kpblob kb;
	struct fpic fp;
	struct cand c;
	double rr[4];
	void *blob;
	size_t len;
	int yes;

	/* keypoints of that part of the frame only */
	region(r->m, box, rr);
	if (refine_kp(f, r->ro, rr, &blob, &len) == -1)
		return -1;
	memset(&fp, 0, sizeof fp);
	fp.raw = f;
	yes = kpblob_parse(&kb, blob, len) == 0 &&
	    region_verify(r->m, &kb, &fp, j->entry, box, &c, NULL);
	if (yes)
		free(c.pts);
	yes = yes && c.inside >= MATCH_INSIDE;
	if (yes && found != NULL)
		memcpy(found, c.box, sizeof c.box);
	fpic_free(&fp);
	free(blob);
	return yes;
}

/*
 * A boundary by tracking: the product followed from the sampled frame
 * it was found in, f[s], through the frames beyond it (on in time for an
 * end, back for a start) by its corners.  Where they lose it while it is
 * in the picture and some of them still agree, it is looked for as in
 * a sampled frame (present()), and followed on from there if it is
 * found; where less than MATCH_INSIDE of it is in the picture, or next
 * to none of them agree, it has gone.  1 when done, 0 when it shows too
 * few corners to follow, -1 on error.
 */
static int
rtrack(struct rsearch *r, struct rjob *j, const struct refine_frame *f,
    int n, int s)
{
	struct cv_track *tr;
	double box[8], t;
	int dir = j->end ? 1 : -1, k, last, y = 1;

	if ((tr = cv_track_new(&f[s].pic, j->box)) == NULL)
		return -1;
	if (cv_track_count(tr) < MATCH_TRACK_MIN) {
		cv_track_free(tr);
		return 0;
	}
	memcpy(box, j->box, sizeof box);
	for (k = s + dir, last = s; k >= 0 && k < n; last = k, k += dir) {
		double agree = 1;

		/* with too few corners (found again where it shows few)
		 * each frame is searched */
		if (cv_track_count(tr) >= MATCH_TRACK_MIN &&
		    (y = cv_track_step(tr, &f[k].pic, MATCH_TRACK_MIN, box,
		    &agree)) != 0) {
			if (y == -1)
				break;
			if (box_inside(box, f[k].pic.w, f[k].pic.h) <
			    MATCH_INSIDE) {
				y = 0;
				break;
			}
			continue;
		}
		if (agree < MATCH_TRACK_GONE ||
		    (y = present(r, j, box, &f[k], box)) != 1)
			break;
		cv_track_free(tr);
		if ((tr = cv_track_new(&f[k].pic, box)) == NULL) {
			y = -1;
			break;
		}
	}
	cv_track_free(tr);
	if (y == -1)
		return -1;
	if (k >= 0 && k < n)		/* gone between last and k */
		t = (f[last].t + f[k].t) / 2;
	else if (j->open)		/* there still at the end (start) */
		t = f[last].t;
	else
		t = (f[last].t + (j->end ? j->hi : j->lo)) / 2;
	if (j->end)
		j->a->end = t;
	else
		j->a->start = t;
	j->how = "tracked";
	return 1;
}

/*
 * A boundary by bisection of the frames f[0..n) between the job's lo
 * and hi: the product is taken to change once there (from absent to
 * present at a start, present to absent at an end), which a gap of one
 * sampled frame makes likely; each step halves the frames still in
 * question.
 */
static void
rsearch_one(void *arg, int i, const struct refine_frame *f, int n)
{
	struct rsearch *r = arg;
	struct rjob *j = &r->job[i];
	int a = -1, b = n, k, mid, y;
	double ta, tb;

	/* the window reaches MATCH_SAMPLE_EPS beyond the sampled frame
	 * where the product is: followed from there if it is among the
	 * frames, looked for by bisection among the others if not */
	k = j->end ? 0 : n - 1;
	if (n > 0 && fabs(f[k].t - (j->end ? j->lo : j->hi)) <
	    MATCH_SAMPLE_EPS) {
		if ((y = rtrack(r, j, f, n, k)) != 0)
			return;
		if (j->end)
			f++;
		n--;
		b = n;
	}
	j->how = "bisected";
	/* frames a+1 .. b-1 are in question; a and b stand for lo and hi.
	 * Without a frame beyond, the one nearest the video's end (or
	 * start) stands for it: if the product is there, it lasts (or
	 * was there from the start) */
	if (j->open && n > 0) {
		k = j->end ? n - 1 : 0;
		if ((y = present(r, j, j->box, &f[k], NULL)) == -1)
			return;
		if (y) {
			if (j->end)
				j->a->end = f[k].t;
			else
				j->a->start = f[k].t;
			return;
		}
		if (j->end)
			b = k;
		else
			a = k;
	}
	while (b - a > 1) {
		mid = a + (b - a) / 2;
		if ((y = present(r, j, j->box, &f[mid], NULL)) == -1)
			break;
		if (y == !j->end)
			b = mid;
		else
			a = mid;
	}
	ta = a >= 0 ? f[a].t : j->lo;
	tb = b < n ? f[b].t : j->hi;
	if (j->end)
		j->a->end = (ta + tb) / 2;
	else
		j->a->start = (ta + tb) / 2;
}

static void
refine(struct matcher *m, struct video *v)
{
	struct refine_opts ro;
	struct rjob *job;
	struct rsearch rs;
	double *win;
	int nj = 0, i;

	job = pm_calloc((size_t)2 * v->na + 1, sizeof *job);
	for (i = 0; i < v->na; i++) {
		struct app *a = &v->a[i];

		if (!isnan(a->before) && a->from - a->before > 1e-6)
			job[nj++] = (struct rjob){ a, 0, 0, a->before, a->from,
			    a->fentry, a->fbox };
		else if (isnan(a->before) && a->from > 1e-6)
			job[nj++] = (struct rjob){ a, 0, 1, -1, a->from,
			    a->fentry, a->fbox };
		if (!isnan(a->after) && a->after - a->last > 1e-6)
			job[nj++] = (struct rjob){ a, 1, 0, a->last, a->after,
			    a->entry, a->box };
		else if (isnan(a->after) && v->duration - a->last > 1e-6)
			job[nj++] = (struct rjob){ a, 1, 1, a->last,
			    v->duration + 1, a->entry, a->box };
	}
	if (nj == 0) {
		free(job);
		return;
	}
	win = pm_reallocarray(NULL, (size_t)nj, 2 * sizeof *win);
	for (i = 0; i < nj; i++) {
		win[2 * i] = job[i].lo - (job[i].end ? MATCH_SAMPLE_EPS : 0);
		win[2 * i + 1] = job[i].hi + (job[i].end ? 0 :
		    MATCH_SAMPLE_EPS);
	}
	memset(&ro, 0, sizeof ro);
	ro.fps = m->p.refine;
	ro.w = v->fw;
	ro.h = v->fh;
	ro.kp = v->kpo;
	ro.side = MATCH_REFINE_SIDE;
	ro.threads = m->p.threads;
	memset(&rs, 0, sizeof rs);
	rs.m = m;
	rs.job = job;
	rs.ro = &ro;
	if (refine_video(m->st, v->blob, win, nj, &ro, rsearch_one,
	    &rs) == -1) {
		pm_warn("video %s: boundaries not refined: %s", v->id,
		    pm_why());
		m->unrefined++;
	}
	for (i = 0; m->p.trace != NULL && i < nj; i++)
		fprintf(m->p.trace, "%s: %s: %s %s to %.3f\n", v->id,
		    m->ix->product[job[i].a->pnum], job[i].end ? "end" : "start",
		    job[i].how != NULL ? job[i].how : "not refined",
		    job[i].end ? job[i].a->end : job[i].a->start);
	free(win);
	free(job);
}

static json_t *
box_json(const double *b)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < 4; i++) {
		json_t *pt = json_array();

		json_array_append_new(pt, json_fixed(b[2 * i], 2));
		json_array_append_new(pt, json_fixed(b[2 * i + 1], 2));
		json_array_append_new(a, pt);
	}
	return a;
}

static void
flush(struct matcher *m, struct out *o)
{
	struct video *v = m->v;
	int i, k, *order;

	if (v == NULL)
		return;
	for (i = 0; i < v->na; i++) {
		struct app *a = &v->a[i];

		a->start = isnan(a->before) ? a->from :
		    (a->before + a->from) / 2;
		a->end = isnan(a->after) ? a->last : (a->last + a->after) / 2;
	}
	if (m->p.refine > 0 && v->blob != NULL && v->have_kpo && v->na > 0)
		refine(m, v);
	order = pm_calloc((size_t)v->na + 1, sizeof *order);
	for (i = 0; i < v->na; i++)
		order[i] = i;
	/* by start, then product */
	for (i = 1; i < v->na; i++) {
		int x = order[i];
		struct app *a = &v->a[x];

		for (k = i - 1; k >= 0; k--) {
			struct app *b = &v->a[order[k]];

			if (b->start < a->start || (b->start == a->start &&
			    b->pnum <= a->pnum))
				break;
			order[k + 1] = order[k];
		}
		order[k + 1] = x;
	}
	for (i = 0; i < v->na; i++) {
		struct app *a = &v->a[order[i]];
		json_t *j = json_object();

		json_object_set_new(j, "type", json_string("appearance"));
		json_object_set_new(j, "video", json_string(v->id));
		json_object_set_new(j, "product",
		    json_string(m->ix->product[a->pnum]));
		json_object_set_new(j, "start", json_fixed(a->start, 3));
		json_object_set_new(j, "end", json_fixed(a->end, 3));
		json_object_set_new(j, "score", json_fixed(a->score, 4));
		json_object_set_new(j, "frames", json_integer(a->frames));
		json_object_set_new(j, "first", json_fixed(a->first, 3));
		json_object_set_new(j, "last", json_fixed(a->last, 3));
		json_object_set_new(j, "best", json_incref(a->best));
		out_rec(o, j);
		json_decref(j);
	}
	free(order);
	video_free(v);
	m->v = NULL;
}

/* Keep c, a weak match of the frame at t, after the video's weak
 * matches of the frame before (*n of this frame's so far). */
static void
weak_add(struct video *v, const struct cand *c, double t, int *n)
{
	struct weak *w;

	if (v->nweak == v->capweak) {
		v->capweak = v->capweak ? 2 * v->capweak : 8;
		v->weak = pm_reallocarray(v->weak, (size_t)v->capweak,
		    sizeof *v->weak);
	}
	w = &v->weak[v->nweak++];
	w->pnum = c->pnum;
	w->entry = c->entry;
	w->t = t;
	w->before = v->prev;
	memcpy(w->box, c->box, sizeof w->box);
	(*n)++;
}

/* A new appearance a, from match c: if the frame before had a weak
 * match of its product at the same place, it starts from there. */
static void
weak_start(struct matcher *m, struct video *v, struct app *a,
    const struct cand *c)
{
	int i;

	for (i = 0; i < v->nweak; i++) {
		struct weak *w = &v->weak[i];

		if (w->pnum != c->pnum || w->t != v->prev ||
		    box_iou(w->box, c->box) < m->p.same_place)
			continue;
		a->from = w->t;
		a->before = w->before;
		a->fentry = w->entry;
		memcpy(a->fbox, w->box, sizeof a->fbox);
		return;
	}
}

static struct app *
open_app(struct video *v, uint32_t pnum, double t, double gap)
{
	int i;

	for (i = v->na - 1; i >= 0; i--)
		if (v->a[i].pnum == pnum && v->a[i].open &&
		    (isnan(v->a[i].after) || t - v->a[i].last <= gap))
			return &v->a[i];
	return NULL;
}

static json_t *
match_json(struct matcher *m, struct rec *r, const struct cand *c)
{
	struct index_entry e;
	json_t *j = json_object(), *h = json_array();
	int i;

	index_entry(m->ix, c->entry, &e);
	json_object_set_new(j, "type", json_string("match"));
	json_object_set_new(j, "video", json_string(rec_str(r, "video")));
	json_object_set(j, "t", json_object_get(r->j, "t"));
	json_object_set_new(j, "frame", json_string(rec_str(r, "blob")));
	json_object_set_new(j, "product", json_string(e.product));
	json_object_set_new(j, "image", json_string(e.image));
	json_object_set_new(j, "frame_kp", json_string(rec_str(r, "kp")));
	json_object_set_new(j, "image_kp", json_string(e.kp));
	json_object_set_new(j, "score", json_fixed(c->score, 4));
	json_object_set_new(j, "inliers", json_integer(c->inliers));
	if (!isnan(c->colour))
		json_object_set_new(j, "colour", json_fixed(c->colour, 3));
	json_object_set_new(j, "box", box_json(c->box));
	for (i = 0; i < 9; i++)
		json_array_append_new(h, json_fixed(c->H[i], i < 6 ? 6 : 10));
	json_object_set_new(j, "H", h);
	if (c->tracked)
		json_object_set_new(j, "tracked", json_true());
	if (c->inside < 0.999)
		json_object_set_new(j, "inside", json_fixed(c->inside, 3));
	return j;
}

int
matcher_serial(struct matcher *m, struct rec *r, struct mframe *f,
    struct out *o)
{
	struct video *v;
	struct cand *c, tc;
	struct app *a;
	json_t *j;
	float **owned;
	int nc, nowned = 0, nweak = 0, i, k, keep;
	double t;

	if (strcmp(r->type, "video") == 0) {
		const char *id = rec_str(r, "id"), *blob = rec_str(r, "blob");

		flush(m, o);
		free(m->vid);
		free(m->vblob);
		m->vid = id != NULL ? pm_strdup(id) : NULL;
		m->vblob = blob != NULL && store_name_ok(blob) ?
		    pm_strdup(blob) : NULL;
		if (rec_num(r, "duration", &m->vdur) == -1 ||
		    !isfinite(m->vdur) || m->vdur <= 0)
			m->vdur = NAN;
		out_pass(o, r);
		return 0;
	}
	if (m->v == NULL || strcmp(m->v->id, f->video) != 0) {
		flush(m, o);
		m->v = pm_calloc(1, sizeof *m->v);
		m->v->id = pm_strdup(f->video);
		m->v->prev = NAN;
		m->v->duration = NAN;
		if (m->vid != NULL && m->vblob != NULL &&
		    strcmp(m->vid, f->video) == 0) {
			m->v->blob = pm_strdup(m->vblob);
			m->v->duration = m->vdur;
		}
	}
	v = m->v;
	t = f->t;
	/* appearances are intervals: a video's frames go forward in time */
	if (t < v->prev)
		return pm_fail("frame at %gs comes after the video's frame at "
		    "%gs: frames must be in time order", t, v->prev);
	if (!v->have_kpo) {
		/* refinement finds keypoints as these frames' were found */
		cv_kp_defaults(&v->kpo);
		v->kpo.detector = f->kb.detector;
		v->kpo.rootsift = (f->kb.flags & KPBLOB_ROOTSIFT) != 0;
		v->kpo.contrast = f->kb.flags & KPBLOB_STRETCH ?
		    CV_CONTRAST_STRETCH : f->kb.flags & KPBLOB_CLAHE ?
		    CV_CONTRAST_CLAHE : CV_CONTRAST_NONE;
		v->kpo.max_side = f->kb.dw < f->kb.w || f->kb.dh < f->kb.h ?
		    (f->kb.dw > f->kb.dh ? f->kb.dw : f->kb.dh) : 0;
		v->kpo.mask = CV_MASK_NONE;
		v->fw = f->kb.w;
		v->fh = f->kb.h;
		v->have_kpo = 1;
	}

	/* this frame's candidates, and the products tracked into it */
	c = pm_reallocarray(NULL, (size_t)f->nc + v->na + 1, sizeof *c);
	owned = pm_reallocarray(NULL, (size_t)v->na + 1, sizeof *owned);
	memcpy(c, f->c, (size_t)f->nc * sizeof *c);
	nc = f->nc;
	for (i = 0; m->p.track && i < v->na; i++) {
		a = &v->a[i];
		if (!a->open || t - a->last > m->p.gap)
			continue;
		for (k = 0; k < nc; k++)
			if (c[k].pnum == a->pnum)
				break;
		if (k == nc && track(m, f, a->entry, a->box, &tc)) {
			owned[nowned++] = tc.pts;
			c[nc++] = tc;
		}
	}

	/* one place, one product: the best claim wins */
	for (i = 1; i < nc; i++) {
		struct cand x = c[i];

		for (k = i - 1; k >= 0 && cand_better(&x, &c[k]); k--)
			c[k + 1] = c[k];
		c[k + 1] = x;
	}
	for (i = 0, k = 0; i < nc; i++) {
		const char *no = NULL;
		int j2;

		/* a frame keypoint is evidence for one product: a match
		 * whose inliers are mostly a better one's (a look-alike
		 * that shares a logo with it) is explained by that one */
		for (j2 = 0; j2 < k && no == NULL; j2++)
			if (box_iou(c[i].box, c[j2].box) > m->p.overlap)
				no = "overlaps a better";
			else if (2 * shared(&c[i], &c[j2]) > c[i].npts)
				no = "inliers a better one's";
		/* a product not just seen at this place needs more */
		a = open_app(v, c[i].pnum, t, m->p.gap);
		if (no == NULL && c[i].score < m->p.new_score &&
		    (a == NULL || box_iou(c[i].box, a->box) <
		    m->p.same_place)) {
			no = "new, under -T";
			if (c[i].inside >= MATCH_INSIDE)
				weak_add(v, &c[i], t, &nweak);
		}
		keep = no == NULL;
		if (m->p.trace != NULL)
			trace_add(&f->trace, "; %s %s %.3f",
			    m->ix->product[c[i].pnum], keep ? "kept" : no,
			    c[i].score);
		if (keep)
			c[k++] = c[i];
	}
	nc = k;
	qsort(c, (size_t)nc, sizeof *c, cmp_pnum);

	out_pass(o, r);
	for (i = 0; i < nc; i++) {
		j = match_json(m, r, &c[i]);
		out_rec(o, j);
		if (c[i].inside < MATCH_INSIDE) {
			json_decref(j);
			continue;
		}

		a = open_app(v, c[i].pnum, t, m->p.gap);
		if (a == NULL) {
			if (v->na == v->cap) {
				v->cap = v->cap ? 2 * v->cap : 8;
				v->a = pm_reallocarray(v->a, (size_t)v->cap,
				    sizeof *v->a);
			}
			a = &v->a[v->na++];
			memset(a, 0, sizeof *a);
			a->pnum = c[i].pnum;
			a->first = a->from = t;
			a->before = v->prev;
			a->open = 1;
			a->score = -1;
			a->fentry = c[i].entry;
			memcpy(a->fbox, c[i].box, sizeof a->fbox);
			weak_start(m, v, a, &c[i]);
		}
		a->last = t;
		a->after = NAN;
		a->frames++;
		a->entry = c[i].entry;
		memcpy(a->box, c[i].box, sizeof a->box);
		if (c[i].score > a->score) {
			json_t *b = json_object();

			a->score = c[i].score;
			json_object_set(b, "t", json_object_get(j, "t"));
			json_object_set(b, "frame", json_object_get(j, "frame"));
			json_object_set(b, "image", json_object_get(j, "image"));
			json_object_set(b, "box", json_object_get(j, "box"));
			json_object_set(b, "frame_kp",
			    json_object_get(j, "frame_kp"));
			json_object_set(b, "image_kp",
			    json_object_get(j, "image_kp"));
			json_decref(a->best);
			a->best = b;
		}
		json_decref(j);
	}
	/* appearances not seen in this frame */
	for (i = 0; i < v->na; i++) {
		a = &v->a[i];
		if (!a->open || a->last == t)
			continue;
		if (isnan(a->after))
			a->after = t;
		if (t - a->last > m->p.gap)
			a->open = 0;
	}
	/* this frame's weak matches are the next one's to look back on */
	if (nweak > 0)
		memmove(v->weak, v->weak + v->nweak - nweak,
		    (size_t)nweak * sizeof *v->weak);
	v->nweak = nweak;
	v->prev = t;
	if (m->p.trace != NULL && f->trace != NULL)
		fprintf(m->p.trace, "%s\n", f->trace);
	for (i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(c);
	return 0;
}

void
matcher_end(struct matcher *m, struct out *o)
{
	flush(m, o);
}
