/*
 * accscore: score pm's appearance and match records against accgen's
 * ground truth, and print the figures of bench/accuracy.sh.
 *
 *	accscore [-v] [-g gap] [-L a:b] [-S name] -t truth NAME=FILE ...
 *
 * Each NAME=FILE is a set of results, an NDJSON file of appearance and
 * match records (others are ignored); the table has one column per set,
 * in order, and the goals of issue 5 in the last.  A set without
 * appearance records has them made from its match records: the frames
 * where a product matched, joined into one interval while they are at
 * most -g seconds apart (default 1.5).  -S NAME treats that set's match
 * scores as a decision to be made: every threshold is tried and the one
 * with the best appearance F1 is used (and printed).  -L a:b counts the
 * correct frame detections of set b that set a does not have (frames
 * both sets saw: b's detections at times a has any record for, or all
 * of them when a has no frame records).  -v lists every true interval
 * with what each set found, and every false appearance.
 *
 * Definitions.  A true interval is a run of frames where a product is
 * visible (accgen(1)); it and an appearance span from their start to
 * their end plus one frame.  An appearance is correct when it overlaps
 * a true interval of the same product in the same video; an interval
 * is found when a correct appearance overlaps it.  Precision is correct
 * appearances over appearances, recall found intervals over intervals.
 * Temporal IoU is, for each true interval, the best intersection over
 * union of one appearance with it (0 when missed), averaged.  Box IoU
 * and corner error (the mean distance of the four corners) are taken
 * for each match record with a box whose product is in the frame
 * nearest its time; their medians are printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"

struct tvideo {
	char	*id;
	int	 fps, frames, w, h;
	int	 empty;		/* no product in it, ever */
};

struct tprod {
	char	*id;
	char	*like;		/* the product it is a look-alike of, or NULL */
	int	 shown;
};

struct tint {
	char	*video, *product;
	double	 start, end;
	char	**tags;
	int	 ntags;
	double	 best[16];	/* per set: the best IoU */
};

struct tframe {
	const char *video, *product;	/* interned: compared by pointer */
	int	 frame;
	double	 box[8];
	double	 visible;
};

struct app {
	const char *video, *product;
	double	 start, end;
};

struct match {
	const char *video, *product;
	double	 t, score;
	double	 box[8];
	int	 hasbox;
};

struct set {
	char	*name, *file;
	struct app *apps;
	size_t	 napps;
	struct match *ms;
	size_t	 nms;
	double	*ft;		/* frame records' times, with fvid */
	const char **fvid;
	size_t	 nft;
	int	 sweep;
	double	 thr;		/* the threshold -S chose */
	/* figures */
	double	 prec, rec, f1, tiou, biou, cerr;
	size_t	 napp_ok, nfound, nbox;
	size_t	 fa_empty, fm_empty, fa_like, fa_other, fm_wrong;
};

static struct tvideo *videos;
static size_t nvideos;
static struct tprod *prods;
static size_t nprods;
static struct tint *ints;
static size_t nints;
static struct tframe *frames;
static size_t nframes;
static struct set sets[16];
static size_t nsets;
static double gap = 1.5;
static int verbose;

static char **interned;
static size_t ninterned;

/* One copy of each string, so that strings compare by pointer. */
static const char *
intern(const char *s)
{
	size_t i;

	for (i = 0; i < ninterned; i++)
		if (strcmp(interned[i], s) == 0)
			return interned[i];
	interned = pm_reallocarray(interned, ninterned + 1, sizeof *interned);
	interned[ninterned] = pm_strdup(s);
	return interned[ninterned++];
}

static const char *
jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static int
jnum(json_t *j, const char *k, double *v)
{
	json_t *x = json_object_get(j, k);

	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return 0;
}

/* A box [[x,y] x4] into b[8]; -1 if it is not one. */
static int
jbox(json_t *j, double b[8])
{
	size_t i;

	if (!json_is_array(j) || json_array_size(j) != 4)
		return -1;
	for (i = 0; i < 4; i++) {
		json_t *p = json_array_get(j, i);
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1)))
			return -1;
		b[2 * i] = json_number_value(json_array_get(p, 0));
		b[2 * i + 1] = json_number_value(json_array_get(p, 1));
	}
	return 0;
}

/* Call fn on each record of the NDJSON file path. */
static void
each(const char *path, void (*fn)(json_t *, const char *, void *), void *arg)
{
	FILE *fp;
	char *line = NULL, *where;
	size_t cap = 0;
	long n = 0;

	if ((fp = fopen(path, "r")) == NULL)
		pm_err(2, "%s:", path);
	while (getline(&line, &cap, fp) > 0) {
		json_error_t e;
		json_t *j;

		n++;
		where = pm_asprintf("%s:%ld", path, n);
		if ((j = json_loads(line, 0, &e)) == NULL)
			pm_err(2, "%s: %s", where, e.text);
		if (jstr(j, "type") != NULL)
			fn(j, where, arg);
		json_decref(j);
		free(where);
	}
	if (ferror(fp))
		pm_err(2, "%s:", path);
	free(line);
	fclose(fp);
}

static void
truth_rec(json_t *j, const char *where, void *arg)
{
	const char *type = jstr(j, "type");
	double v;

	if (strcmp(type, "truth-video") == 0) {
		struct tvideo *tv;
		videos = pm_reallocarray(videos, nvideos + 1, sizeof *videos);
		tv = &videos[nvideos++];
		if (jstr(j, "video") == NULL || jnum(j, "fps", &v) == -1)
			pm_err(2, "%s: truth-video without video or fps",
			    where);
		tv->id = (char *)intern(jstr(j, "video"));
		tv->fps = (int)v;
		tv->frames = jnum(j, "frames", &v) == 0 ? (int)v : 0;
		tv->w = jnum(j, "w", &v) == 0 ? (int)v : 0;
		tv->h = jnum(j, "h", &v) == 0 ? (int)v : 0;
		tv->empty = 1;
	} else if (strcmp(type, "truth-product") == 0) {
		struct tprod *tp;
		prods = pm_reallocarray(prods, nprods + 1, sizeof *prods);
		tp = &prods[nprods++];
		if (jstr(j, "product") == NULL)
			pm_err(2, "%s: truth-product without product", where);
		tp->id = (char *)intern(jstr(j, "product"));
		tp->like = jstr(j, "like") ? (char *)intern(jstr(j, "like")) :
		    NULL;
		tp->shown = json_is_true(json_object_get(j, "shown"));
	} else if (strcmp(type, "truth-interval") == 0) {
		struct tint *ti;
		json_t *tags = json_object_get(j, "tags"), *g;
		size_t i;
		ints = pm_reallocarray(ints, nints + 1, sizeof *ints);
		ti = &ints[nints++];
		memset(ti, 0, sizeof *ti);
		if (jstr(j, "video") == NULL || jstr(j, "product") == NULL ||
		    jnum(j, "start", &ti->start) == -1 ||
		    jnum(j, "end", &ti->end) == -1)
			pm_err(2, "%s: truth-interval without video, product, "
			    "start or end", where);
		ti->video = (char *)intern(jstr(j, "video"));
		ti->product = (char *)intern(jstr(j, "product"));
		json_array_foreach(tags, i, g) {
			if (!json_is_string(g))
				continue;
			ti->tags = pm_reallocarray(ti->tags, ti->ntags + 1,
			    sizeof *ti->tags);
			ti->tags[ti->ntags++] = (char *)intern(
			    json_string_value(g));
		}
	} else if (strcmp(type, "truth-frame") == 0) {
		struct tframe *tf;
		frames = pm_reallocarray(frames, nframes + 1, sizeof *frames);
		tf = &frames[nframes++];
		if (jstr(j, "video") == NULL || jstr(j, "product") == NULL ||
		    jnum(j, "frame", &v) == -1 ||
		    jbox(json_object_get(j, "box"), tf->box) == -1 ||
		    jnum(j, "visible", &tf->visible) == -1)
			pm_err(2, "%s: bad truth-frame", where);
		tf->video = intern(jstr(j, "video"));
		tf->product = intern(jstr(j, "product"));
		tf->frame = (int)v;
	}
}

static void
set_rec(json_t *j, const char *where, void *arg)
{
	struct set *s = arg;
	const char *type = jstr(j, "type"), *vid = jstr(j, "video");
	const char *prod = jstr(j, "product");
	double t;

	if (strcmp(type, "appearance") == 0) {
		struct app *a;
		s->apps = pm_reallocarray(s->apps, s->napps + 1,
		    sizeof *s->apps);
		a = &s->apps[s->napps++];
		if (vid == NULL || prod == NULL || jnum(j, "start",
		    &a->start) == -1 || jnum(j, "end", &a->end) == -1)
			pm_err(2, "%s: appearance without video, product, "
			    "start or end", where);
		a->video = intern(vid);
		a->product = intern(prod);
	} else if (strcmp(type, "match") == 0) {
		struct match *m;
		s->ms = pm_reallocarray(s->ms, s->nms + 1, sizeof *s->ms);
		m = &s->ms[s->nms++];
		memset(m, 0, sizeof *m);
		if (vid == NULL || prod == NULL || jnum(j, "t", &m->t) == -1)
			pm_err(2, "%s: match without video, product or t",
			    where);
		m->video = intern(vid);
		m->product = intern(prod);
		if (jnum(j, "score", &m->score) == -1)
			m->score = 1;
		m->hasbox = jbox(json_object_get(j, "box"), m->box) == 0;
	} else if (strcmp(type, "frame") == 0 && vid != NULL &&
	    jnum(j, "t", &t) == 0) {
		s->ft = pm_reallocarray(s->ft, s->nft + 1, sizeof *s->ft);
		s->fvid = pm_reallocarray(s->fvid, s->nft + 1,
		    sizeof *s->fvid);
		s->ft[s->nft] = t;
		s->fvid[s->nft++] = intern(vid);
	}
}

static struct tvideo *
video_of(const char *id)
{
	size_t i;

	for (i = 0; i < nvideos; i++)
		if (videos[i].id == id)
			return &videos[i];
	return NULL;
}

static struct tprod *
prod_of(const char *id)
{
	size_t i;

	for (i = 0; i < nprods; i++)
		if (prods[i].id == id)
			return &prods[i];
	return NULL;
}

static int
frame_cmp(const void *a, const void *b)
{
	const struct tframe *x = a, *y = b;

	if (x->video != y->video)
		return x->video < y->video ? -1 : 1;
	if (x->frame != y->frame)
		return x->frame < y->frame ? -1 : 1;
	if (x->product != y->product)
		return x->product < y->product ? -1 : 1;
	return 0;
}

/* The truth of a product in the frame of a video nearest t, or NULL. */
static struct tframe *
truth_at(const char *video, const char *product, double t)
{
	struct tvideo *v = video_of(video);
	struct tframe key;

	if (v == NULL)
		return NULL;
	key.video = video;
	key.product = product;
	key.frame = (int)lround(t * v->fps);
	return bsearch(&key, frames, nframes, sizeof *frames, frame_cmp);
}

static double
frame_len(const char *video)
{
	struct tvideo *v = video_of(video);

	return v != NULL && v->fps > 0 ? 1.0 / v->fps : 0;
}

/* Intersection over union of [a0, a1) and [b0, b1). */
static double
iou1(double a0, double a1, double b0, double b1)
{
	double in = fmin(a1, b1) - fmax(a0, b0);
	double un = fmax(a1, b1) - fmin(a0, b0);

	return in > 0 && un > 0 ? in / un : 0;
}

static double
poly_area(const double *p, int n)
{
	double a = 0;
	int i;

	for (i = 0; i < n; i++)
		a += p[2 * i] * p[2 * ((i + 1) % n) + 1] -
		    p[2 * ((i + 1) % n)] * p[2 * i + 1];
	return a / 2;
}

/*
 * Intersection over union of two quadrilaterals: a clipped by b
 * (Sutherland-Hodgman; b must be convex, as a true outline is).
 */
static double
quad_iou(const double a[8], const double b[8])
{
	double in[2 * 16], out[2 * 16], cb[8];
	double aa = fabs(poly_area(a, 4)), ab = poly_area(b, 4), inter;
	int n = 4, i, k;

	/* the clipping polygon counter-clockwise, in y-up terms */
	for (i = 0; i < 4; i++) {
		k = ab > 0 ? i : 3 - i;
		cb[2 * i] = b[2 * k];
		cb[2 * i + 1] = b[2 * k + 1];
	}
	ab = fabs(ab);
	memcpy(in, a, 8 * sizeof *a);
	for (i = 0; i < 4 && n > 0; i++) {
		double ex = cb[2 * i], ey = cb[2 * i + 1];
		double fx = cb[2 * ((i + 1) % 4)];
		double fy = cb[2 * ((i + 1) % 4) + 1];
		int m = 0;

		for (k = 0; k < n && m < 15; k++) {
			double px = in[2 * k], py = in[2 * k + 1];
			double qx = in[2 * ((k + 1) % n)];
			double qy = in[2 * ((k + 1) % n) + 1];
			double sp = (fx - ex) * (py - ey) -
			    (fy - ey) * (px - ex);
			double sq = (fx - ex) * (qy - ey) -
			    (fy - ey) * (qx - ex);

			if (sp >= 0) {
				out[2 * m] = px;
				out[2 * m + 1] = py;
				m++;
			}
			if ((sp >= 0) != (sq >= 0) && m < 15) {
				double r = sp / (sp - sq);
				out[2 * m] = px + r * (qx - px);
				out[2 * m + 1] = py + r * (qy - py);
				m++;
			}
		}
		memcpy(in, out, 2 * m * sizeof *out);
		n = m;
	}
	inter = n >= 3 ? fabs(poly_area(in, n)) : 0;
	return aa + ab - inter > 0 ? inter / (aa + ab - inter) : 0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof *v, dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
match_cmp(const void *a, const void *b)
{
	const struct match *x = a, *y = b;

	if (x->video != y->video)
		return x->video < y->video ? -1 : 1;
	if (x->product != y->product)
		return x->product < y->product ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* Appearances from the match records scoring at least thr. */
static void
merge(struct set *s, double thr)
{
	size_t i;
	struct app *a = NULL;

	s->napps = 0;
	for (i = 0; i < s->nms; i++) {
		struct match *m = &s->ms[i];

		if (m->score < thr)
			continue;
		if (a != NULL && a->video == m->video &&
		    a->product == m->product && m->t - a->end <= gap) {
			a->end = m->t;
			continue;
		}
		s->apps = pm_reallocarray(s->apps, s->napps + 1,
		    sizeof *s->apps);
		a = &s->apps[s->napps++];
		a->video = m->video;
		a->product = m->product;
		a->start = a->end = m->t;
	}
}

static int
overlaps(const struct app *a, const struct tint *ti)
{
	double f = frame_len(ti->video);

	return a->video == ti->video && a->product == ti->product &&
	    a->start <= ti->end + f && a->end + f >= ti->start;
}

/* Precision, recall, F1 and temporal IoU of s's appearances. */
static void
score_apps(struct set *s, int col)
{
	size_t i, k;
	double sum = 0;

	s->napp_ok = s->nfound = 0;
	s->fa_empty = s->fa_like = s->fa_other = 0;
	for (i = 0; i < s->napps; i++) {
		struct app *a = &s->apps[i];
		struct tvideo *v = video_of(a->video);
		struct tprod *p = prod_of(a->product);
		int ok = 0;

		for (k = 0; k < nints && !ok; k++)
			ok = overlaps(a, &ints[k]);
		if (ok)
			s->napp_ok++;
		else if (v == NULL || v->empty)
			s->fa_empty++;
		else if (p != NULL && p->like != NULL)
			s->fa_like++;
		else
			s->fa_other++;
	}
	for (k = 0; k < nints; k++) {
		struct tint *ti = &ints[k];
		double best = 0, f = frame_len(ti->video);
		int found = 0;

		for (i = 0; i < s->napps; i++) {
			struct app *a = &s->apps[i];
			if (!overlaps(a, ti))
				continue;
			found = 1;
			best = fmax(best, iou1(a->start, a->end + f, ti->start,
			    ti->end + f));
		}
		s->nfound += found;
		sum += best;
		if (col >= 0)
			ti->best[col] = found ? best : -1;
	}
	s->prec = s->napps ? (double)s->napp_ok / s->napps : NAN;
	s->rec = nints ? (double)s->nfound / nints : NAN;
	s->f1 = s->prec + s->rec > 0 ? 2 * s->prec * s->rec /
	    (s->prec + s->rec) : 0;
	s->tiou = nints ? sum / nints : NAN;
}

/* -S: the threshold on match scores with the best F1. */
static void
sweep(struct set *s)
{
	double *sc, best = -1, bthr = 0;
	size_t i, n = 0, step;

	sc = pm_calloc(s->nms + 1, sizeof *sc);
	for (i = 0; i < s->nms; i++)
		sc[n++] = s->ms[i].score;
	qsort(sc, n, sizeof *sc, dbl_cmp);
	/* at most about 2000 thresholds, spread over the scores */
	step = n / 2000 + 1;
	for (i = 0; i < n; i += step) {
		if (i > 0 && sc[i] == sc[i - step])
			continue;
		merge(s, sc[i]);
		score_apps(s, -1);
		if (s->f1 > best) {
			best = s->f1;
			bthr = sc[i];
		}
	}
	free(sc);
	s->thr = bthr;
	merge(s, bthr);
}

static int
saw_frame(const struct set *s, const char *video, double t)
{
	size_t i;

	if (s->nft == 0)
		return 1;
	for (i = 0; i < s->nft; i++)
		if (s->fvid[i] == video && fabs(s->ft[i] - t) < 1e-3)
			return 1;
	return 0;
}

/* -L a:b: b's correct frame detections that a does not have. */
static void
lost(const char *spec)
{
	const char *colon = strchr(spec, ':');
	struct set *a = NULL, *b = NULL;
	size_t i, k, n = 0, nl = 0;

	for (i = 0; colon != NULL && i < nsets; i++) {
		if (strncmp(sets[i].name, spec, colon - spec) == 0 &&
		    sets[i].name[colon - spec] == '\0')
			a = &sets[i];
		if (strcmp(sets[i].name, colon + 1) == 0)
			b = &sets[i];
	}
	if (a == NULL || b == NULL)
		pm_err(2, "-L %s: no such sets", spec);
	for (i = 0; i < b->nms; i++) {
		struct match *m = &b->ms[i];
		struct tframe *tf = truth_at(m->video, m->product, m->t);
		int have = 0;

		if (b->sweep && m->score < b->thr)
			continue;
		if (tf == NULL || tf->visible < 0.5 ||
		    !saw_frame(a, m->video, m->t))
			continue;
		n++;
		for (k = 0; k < a->nms && !have; k++)
			have = a->ms[k].video == m->video &&
			    a->ms[k].product == m->product &&
			    fabs(a->ms[k].t - m->t) < 1e-3;
		if (!have) {
			nl++;
			if (verbose)
				printf("lost: %s %s t=%.3f (found by %s, not "
				    "by %s)\n", m->video, m->product, m->t,
				    b->name, a->name);
		}
	}
	printf("%s's correct frame detections that %s lost: %zu of %zu\n",
	    b->name, a->name, nl, n);
}

/* Box IoU, corner error and wrong frame matches of s's match records. */
static void
score_boxes(struct set *s)
{
	double *iou, *err;
	size_t i;

	iou = pm_calloc(s->nms + 1, sizeof *iou);
	err = pm_calloc(s->nms + 1, sizeof *err);
	s->nbox = s->fm_empty = s->fm_wrong = 0;
	for (i = 0; i < s->nms; i++) {
		struct match *m = &s->ms[i];
		struct tvideo *v = video_of(m->video);
		struct tframe *tf;
		double e = 0;
		int k;

		if (s->sweep && m->score < s->thr)
			continue;
		if (v == NULL || v->empty) {
			s->fm_empty++;
			continue;
		}
		tf = truth_at(m->video, m->product, m->t);
		if (tf == NULL || tf->visible <= 0) {
			s->fm_wrong++;
			continue;
		}
		if (!m->hasbox)
			continue;
		for (k = 0; k < 4; k++)
			e += hypot(m->box[2 * k] - tf->box[2 * k],
			    m->box[2 * k + 1] - tf->box[2 * k + 1]) / 4;
		iou[s->nbox] = quad_iou(m->box, tf->box);
		err[s->nbox++] = e;
	}
	s->biou = median(iou, s->nbox);
	s->cerr = median(err, s->nbox);
	free(iou);
	free(err);
}

static void
row(const char *label, const char *goal, double (*get)(struct set *, void *),
    void *arg, const char *fmt)
{
	size_t i;

	printf("%-38s", label);
	for (i = 0; i < nsets; i++) {
		double v = get(&sets[i], arg);
		if (isnan(v))
			printf(" %9s", "-");
		else
			printf(fmt, v);
	}
	printf("  %s\n", goal);
}

static double g_prec(struct set *s, void *a) { return s->prec; }
static double g_rec(struct set *s, void *a) { return s->rec; }
static double g_f1(struct set *s, void *a) { return s->f1; }
static double g_tiou(struct set *s, void *a) { return s->tiou; }
static double g_biou(struct set *s, void *a) { return s->nbox ? s->biou : NAN; }
static double g_cerr(struct set *s, void *a) { return s->nbox ? s->cerr : NAN; }
static double g_napps(struct set *s, void *a) { return s->napps; }
static double g_nms(struct set *s, void *a)
    { return s->nms ? (double)s->nms : NAN; }
static double g_nbox(struct set *s, void *a) { return s->nbox; }
static double g_faempty(struct set *s, void *a) { return s->fa_empty; }
static double g_fmempty(struct set *s, void *a)
    { return s->nms ? (double)s->fm_empty : NAN; }
static double g_falike(struct set *s, void *a) { return s->fa_like; }
static double g_faother(struct set *s, void *a) { return s->fa_other; }
static double g_fmwrong(struct set *s, void *a)
    { return s->nms ? (double)s->fm_wrong : NAN; }
static double g_thr(struct set *s, void *a) { return s->sweep ? s->thr : NAN; }

/* Recall over the true intervals with tag a (column by set index). */
static double
g_tag(struct set *s, void *a)
{
	const char *tag = a;
	size_t k, n = 0, f = 0;
	int col = (int)(s - sets), g;

	for (k = 0; k < nints; k++) {
		for (g = 0; g < ints[k].ntags; g++)
			if (ints[k].tags[g] == tag)
				break;
		if (g == ints[k].ntags)
			continue;
		n++;
		f += ints[k].best[col] >= 0;
	}
	return n ? (double)f / n : NAN;
}

static void
usage(void)
{
	fprintf(stderr, "usage: accscore [-v] [-g gap] [-L a:b] [-S name] "
	    "-t truth NAME=FILE ...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *truth = NULL, *sweeps[16], *losts[16];
	size_t nsweep = 0, nlost = 0, i, k;
	const char **tags = NULL;
	size_t ntags = 0;
	int ch, nempty = 0, nshown = 0, nlike = 0;
	long nfr = 0;

	pm_init(argv[0]);
	while ((ch = getopt(argc, argv, "L:S:g:t:v")) != -1) {
		switch (ch) {
		case 'L':
			if (nlost == 16)
				usage();
			losts[nlost++] = optarg;
			break;
		case 'S':
			if (nsweep == 16)
				usage();
			sweeps[nsweep++] = optarg;
			break;
		case 'g':
			gap = pm_real(optarg, 0, 3600, "-g");
			break;
		case 't':
			truth = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (truth == NULL || argc < 1 || argc > 16)
		usage();

	each(truth, truth_rec, NULL);
	qsort(frames, nframes, sizeof *frames, frame_cmp);
	for (i = 0; i < nframes; i++) {
		struct tvideo *v = video_of(frames[i].video);
		if (v != NULL)
			v->empty = 0;
	}
	for (i = 0; i < nvideos; i++) {
		nempty += videos[i].empty;
		nfr += videos[i].frames;
	}
	for (i = 0; i < nprods; i++) {
		nshown += prods[i].shown;
		nlike += prods[i].like != NULL;
	}

	for (i = 0; i < (size_t)argc; i++) {
		struct set *s = &sets[nsets++];
		char *eq = strchr(argv[i], '=');

		if (eq == NULL || eq == argv[i])
			usage();
		s->name = pm_strdup(argv[i]);
		s->name[eq - argv[i]] = '\0';
		s->file = eq + 1;
		each(s->file, set_rec, s);
		qsort(s->ms, s->nms, sizeof *s->ms, match_cmp);
		for (k = 0; k < nsweep; k++)
			s->sweep |= strcmp(sweeps[k], s->name) == 0;
		if (s->sweep)
			sweep(s);
		else if (s->napps == 0)
			merge(s, -INFINITY);
		score_apps(s, (int)i);
		score_boxes(s);
	}

	printf("%zu videos (%d with no product, %ld frames), %zu true "
	    "intervals;\ncatalog of %zu products (%d shown, %d look-alikes "
	    "of shown ones)\n\n", nvideos, nempty, nfr, nints, nprods, nshown,
	    nlike);
	printf("%-38s", "");
	for (i = 0; i < nsets; i++)
		printf(" %9s", sets[i].name);
	printf("  goal\n");
	row("appearance precision", ">= 0.99", g_prec, NULL, " %9.3f");
	row("appearance recall", ">= 0.95", g_rec, NULL, " %9.3f");
	row("appearance F1", "", g_f1, NULL, " %9.3f");
	row("temporal IoU, mean over true intervals", ">= 0.90", g_tiou, NULL,
	    " %9.3f");
	row("box IoU, median", ">= 0.95", g_biou, NULL, " %9.3f");
	row("corner error, median (pixels)", "", g_cerr, NULL, " %9.2f");
	row("false appearances, product-free video", "0", g_faempty, NULL,
	    " %9.0f");
	row("false matches, product-free video", "0", g_fmempty, NULL,
	    " %9.0f");
	row("false appearances, look-alikes", "", g_falike, NULL, " %9.0f");
	row("false appearances, other products", "", g_faother, NULL,
	    " %9.0f");
	row("matches of a product not in the frame", "", g_fmwrong, NULL,
	    " %9.0f");
	row("appearances", "", g_napps, NULL, " %9.0f");
	row("match records", "", g_nms, NULL, " %9.0f");
	row("match records with a box scored", "", g_nbox, NULL, " %9.0f");
	row("decision threshold (best F1)", "", g_thr, NULL, " %9.3f");

	for (k = 0; k < nints; k++)
		for (int g = 0; g < ints[k].ntags; g++) {
			for (i = 0; i < ntags; i++)
				if (tags[i] == ints[k].tags[g])
					break;
			if (i == ntags) {
				tags = pm_reallocarray(tags, ntags + 1,
				    sizeof *tags);
				tags[ntags++] = ints[k].tags[g];
			}
		}
	for (i = 0; i < ntags; i++) {
		char *label;
		size_t n = 0;
		for (k = 0; k < nints; k++)
			for (int g = 0; g < ints[k].ntags; g++)
				n += ints[k].tags[g] == tags[i];
		label = pm_asprintf("recall: %s (%zu)", tags[i], n);
		row(label, "", g_tag, (void *)tags[i], " %9.3f");
		free(label);
	}

	for (k = 0; k < nlost; k++)
		lost(losts[k]);

	if (verbose) {
		printf("\ntrue intervals (IoU per set; - missed):\n");
		for (k = 0; k < nints; k++) {
			struct tint *ti = &ints[k];
			printf("  %-6s %-6s %7.3f %7.3f", ti->video,
			    ti->product, ti->start, ti->end);
			for (i = 0; i < nsets; i++)
				if (ti->best[i] < 0)
					printf(" %9s", "-");
				else
					printf(" %9.3f", ti->best[i]);
			for (int g = 0; g < ti->ntags; g++)
				printf("%s%s", g ? "," : "  ", ti->tags[g]);
			printf("\n");
		}
		for (i = 0; i < nsets; i++) {
			struct set *s = &sets[i];
			for (k = 0; k < s->napps; k++) {
				struct app *a = &s->apps[k];
				size_t t;
				int ok = 0;
				for (t = 0; t < nints && !ok; t++)
					ok = overlaps(a, &ints[t]);
				if (!ok)
					printf("  false: %s %s %s %.3f %.3f\n",
					    s->name, a->video, a->product,
					    a->start, a->end);
			}
		}
	}
	if (fclose(stdout) == EOF)
		pm_err(2, "stdout:");
	return 0;
}
