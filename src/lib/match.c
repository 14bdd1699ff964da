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
#include "pfor.h"
#include "rec.h"
#include "refine.h"
#include "store.h"
#include "vec.h"

void
match_defaults(struct match_params *p)
{
	memset(p, 0, sizeof *p);
	p->kvote = 10;
	p->kvec = 5;
	p->ef = 64;
	p->exact = 0;
	p->min_score = 0.3;
	p->new_score = 0.4;
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
	int		 state, refs;
	int		 gone;		/* missing from the start (reported) */
	size_t		 bytes;
	uint64_t	 used;
	char		*why;
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

/* Intersection over union of two convex boxes. */
static double
box_iou(const double *b1, const double *b2)
{
	double p[2][32], q1[8], q2[8], inter, a1, a2;
	int n = 4, i, cur = 0;

	oriented(b1, q1);
	oriented(b2, q2);
	memcpy(p[0], q1, sizeof q1);
	for (i = 0; i < 4 && n > 0; i++) {
		n = clip(p[cur], n, q2 + 2 * i, q2 + 2 * ((i + 1) % 4),
		    p[1 - cur]);
		cur = 1 - cur;
	}
	inter = n >= 3 ? fabs(poly_area(p[cur], n)) : 0;
	a1 = fabs(poly_area(q1, 4));
	a2 = fabs(poly_area(q2, 4));
	if (a1 + a2 - inter <= 0)
		return 0;
	return inter / (a1 + a2 - inter);
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
	double		 score, cover;
	int		 inliers, matches, tracked;
	double		 H[9], box[8];
};

struct mframe {
	char		*video;
	double		 t;
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
	double		 start, end;	/* as written */
};

struct video {
	char		*id;
	char		*blob;		/* from its video record, or NULL */
	double		 prev;		/* the previous frame's time, or NAN */
	struct app	*a;
	int		 na, cap;
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
		free(m->cache.e[i].why);
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

void
mframe_free(struct mframe *f)
{
	if (f == NULL)
		return;
	free(f->video);
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
 * Verify entry e in the frame's keypoint set; 1 with *c filled if it is
 * there by every check, 0 if not, -1 if its keypoints cannot be read.
 */
static int
verify(struct matcher *m, uint32_t e, const struct cv_kpset *fs,
    struct cand *c, const char **why, char **trace)
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
		else
			r = 1;
	}
	if (trace != NULL)
		trace_add(trace, " %s:%s(%d/%d,%.3f)",
		    m->ix->product[m->ix->pnum[e]], r ? "yes" : cm.why,
		    cm.inliers, cm.matches, cm.score);
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
		v = verify(m, list[i], f->set, &c, &why,
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
		else if (cand_better(&c, &f->c[k]))
			f->c[k] = c;
	}
	free(list);
	qsort(f->c, (size_t)f->nc, sizeof *f->c, cmp_pnum);
	*out = f;
	return 0;
}

/*
 * Verify entry e in the part of a frame around where it was (box grown
 * by p.grow of its size on each side), so that frame keypoints elsewhere
 * neither cost time nor crowd the ratio test.  1 if it is there.
 */
static int
region_verify(struct matcher *m, const struct kpblob *kb, uint32_t e,
    const double *box, struct cand *c, char **trace)
{
	struct kpblob sub = *kb;
	struct kpblob_kp *kp, k;
	unsigned char *desc;
	struct cv_kpset *fs;
	const char *why;
	double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
	double g, bw, bh;
	void *blob;
	size_t len;
	int i, n = 0, r;

	for (i = 0; i < 4; i++) {
		x0 = fmin(x0, box[2 * i]);
		x1 = fmax(x1, box[2 * i]);
		y0 = fmin(y0, box[2 * i + 1]);
		y1 = fmax(y1, box[2 * i + 1]);
	}
	g = m->p.grow;
	bw = x1 - x0;
	bh = y1 - y0;
	x0 -= g * bw;
	x1 += g * bw;
	y0 -= g * bh;
	y1 += g * bh;
	kp = pm_reallocarray(NULL, (size_t)kb->n + 1, sizeof *kp);
	desc = pm_reallocarray(NULL, (size_t)kb->n + 1, (size_t)kb->descsize);
	for (i = 0; i < kb->n; i++) {
		kpblob_get(kb, i, &k);
		if (k.x < x0 || k.x > x1 || k.y < y0 || k.y > y1)
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
			r = verify(m, e, fs, c, &why, trace);
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
	if (!region_verify(m, &f->kb, e, box, c,
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
	double		 lo, hi;
	uint32_t	 entry;
	const double	*box;
};

struct rsearch {
	struct matcher	*m;
	struct rjob	*job;
	int		 nj;
	struct refine_frame *f;
	int		 nf;
	const struct refine_opts *ro;
};

/* Is the job's product in frame k, where it was? */
static int
present(struct rsearch *r, const struct rjob *j, int k)
{
	struct kpblob kb;
	struct cand c;
	void *blob;
	size_t len;
	int yes;

	if (refine_kp(&r->f[k], r->ro, &blob, &len) == -1)
		return -1;
	yes = kpblob_parse(&kb, blob, len) == 0 &&
	    region_verify(r->m, &kb, j->entry, j->box, &c, NULL);
	free(blob);
	return yes;
}

/*
 * A boundary by bisection of the frames between lo and hi: the product
 * is taken to change once there (from absent to present at a start,
 * present to absent at an end), which a gap of one sampled frame makes
 * likely; each step halves the frames still in question.
 */
static void
rsearch_one(void *arg, size_t i, int thread)
{
	struct rsearch *r = arg;
	struct rjob *j = &r->job[i];
	int a = -1, b = 0, k, mid, y;
	double ta, tb;

	for (k = 0; k < r->nf && r->f[k].t <= j->lo; k++)
		;
	a = k - 1;
	for (b = k; b < r->nf && r->f[b].t < j->hi; b++)
		;
	/* frames a+1 .. b-1 are inside; a and b stand for lo and hi */
	while (b - a > 1) {
		mid = a + (b - a) / 2;
		if ((y = present(r, j, mid)) == -1)
			break;
		if (y == !j->end)
			b = mid;
		else
			a = mid;
	}
	ta = a >= 0 && r->f[a].t > j->lo ? r->f[a].t : j->lo;
	tb = b < r->nf && r->f[b].t < j->hi ? r->f[b].t : j->hi;
	if (j->end)
		j->a->end = (ta + tb) / 2;
	else
		j->a->start = (ta + tb) / 2;
}

static void
refine(struct matcher *m, struct video *v)
{
	struct refine_opts ro;
	struct refine_frame *fr = NULL;
	struct rjob *job;
	struct rsearch rs;
	double *win;
	int nj = 0, nf = 0, i;

	job = pm_calloc((size_t)2 * v->na + 1, sizeof *job);
	for (i = 0; i < v->na; i++) {
		struct app *a = &v->a[i];

		if (!isnan(a->before) && a->first - a->before > 1e-6)
			job[nj++] = (struct rjob){ a, 0, a->before, a->first,
			    a->fentry, a->fbox };
		if (!isnan(a->after) && a->after - a->last > 1e-6)
			job[nj++] = (struct rjob){ a, 1, a->last, a->after,
			    a->entry, a->box };
	}
	if (nj == 0) {
		free(job);
		return;
	}
	win = pm_reallocarray(NULL, (size_t)nj, 2 * sizeof *win);
	for (i = 0; i < nj; i++) {
		win[2 * i] = job[i].lo;
		win[2 * i + 1] = job[i].hi;
	}
	memset(&ro, 0, sizeof ro);
	ro.fps = m->p.refine;
	ro.maxside = v->fw > v->fh ? v->fw : v->fh;
	ro.kp = v->kpo;
	ro.threads = m->p.threads;
	if (refine_frames(m->st, v->blob, win, nj, &ro, &fr, &nf) == -1) {
		pm_warn("video %s: boundaries not refined: %s", v->id, pm_why());
		m->unrefined++;
		free(win);
		free(job);
		return;
	}
	memset(&rs, 0, sizeof rs);
	rs.m = m;
	rs.job = job;
	rs.nj = nj;
	rs.f = fr;
	rs.nf = nf;
	rs.ro = &ro;
	pfor(m->p.threads, (size_t)nj, rsearch_one, &rs);
	for (i = 0; m->p.trace != NULL && i < nj; i++)
		fprintf(m->p.trace, "%s: %s: %s refined to %.3f\n", v->id,
		    m->ix->product[job[i].a->pnum], job[i].end ? "end" : "start",
		    job[i].end ? job[i].a->end : job[i].a->start);
	refine_frames_free(fr, nf);
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

		a->start = isnan(a->before) ? a->first :
		    (a->before + a->first) / 2;
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
	json_object_set_new(j, "score", json_fixed(c->score, 4));
	json_object_set_new(j, "inliers", json_integer(c->inliers));
	json_object_set_new(j, "box", box_json(c->box));
	for (i = 0; i < 9; i++)
		json_array_append_new(h, json_fixed(c->H[i], i < 6 ? 6 : 10));
	json_object_set_new(j, "H", h);
	if (c->tracked)
		json_object_set_new(j, "tracked", json_true());
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
	int nc, i, k, keep;
	double t;

	if (strcmp(r->type, "video") == 0) {
		const char *id = rec_str(r, "id"), *blob = rec_str(r, "blob");

		flush(m, o);
		free(m->vid);
		free(m->vblob);
		m->vid = id != NULL ? pm_strdup(id) : NULL;
		m->vblob = blob != NULL && store_name_ok(blob) ?
		    pm_strdup(blob) : NULL;
		out_pass(o, r);
		return 0;
	}
	if (m->v == NULL || strcmp(m->v->id, f->video) != 0) {
		flush(m, o);
		m->v = pm_calloc(1, sizeof *m->v);
		m->v->id = pm_strdup(f->video);
		m->v->prev = NAN;
		if (m->vid != NULL && m->vblob != NULL &&
		    strcmp(m->vid, f->video) == 0)
			m->v->blob = pm_strdup(m->vblob);
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
		v->kpo.max_side = f->kb.dw < f->kb.w || f->kb.dh < f->kb.h ?
		    (f->kb.dw > f->kb.dh ? f->kb.dw : f->kb.dh) : 0;
		v->kpo.mask = CV_MASK_NONE;
		v->fw = f->kb.w;
		v->fh = f->kb.h;
		v->have_kpo = 1;
	}

	/* this frame's candidates, and the products tracked into it */
	c = pm_reallocarray(NULL, (size_t)f->nc + v->na + 1, sizeof *c);
	memcpy(c, f->c, (size_t)f->nc * sizeof *c);
	nc = f->nc;
	for (i = 0; m->p.track && i < v->na; i++) {
		a = &v->a[i];
		if (!a->open || t - a->last > m->p.gap)
			continue;
		for (k = 0; k < nc; k++)
			if (c[k].pnum == a->pnum)
				break;
		if (k == nc && track(m, f, a->entry, a->box, &tc))
			c[nc++] = tc;
	}

	/* one place, one product: the best claim wins */
	for (i = 1; i < nc; i++) {
		struct cand x = c[i];

		for (k = i - 1; k >= 0 && cand_better(&x, &c[k]); k--)
			c[k + 1] = c[k];
		c[k + 1] = x;
	}
	for (i = 0, k = 0; i < nc; i++) {
		int j2;

		keep = 1;
		for (j2 = 0; j2 < k; j2++)
			if (box_iou(c[i].box, c[j2].box) > m->p.overlap) {
				keep = 0;
				break;
			}
		/* a product not just seen at this place needs more */
		a = open_app(v, c[i].pnum, t, m->p.gap);
		if (keep && c[i].score < m->p.new_score &&
		    (a == NULL || box_iou(c[i].box, a->box) < m->p.same_place))
			keep = 0;
		if (m->p.trace != NULL)
			trace_add(&f->trace, "; %s %s %.3f",
			    m->ix->product[c[i].pnum], keep ? "kept" :
			    j2 < k ? "overlaps a better" : "new, under -T",
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
			a->first = t;
			a->before = v->prev;
			a->open = 1;
			a->score = -1;
			a->fentry = c[i].entry;
			memcpy(a->fbox, c[i].box, sizeof a->fbox);
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
	v->prev = t;
	if (m->p.trace != NULL && f->trace != NULL)
		fprintf(m->p.trace, "%s\n", f->trace);
	free(c);
	return 0;
}

void
matcher_end(struct matcher *m, struct out *o)
{
	flush(m, o);
}
