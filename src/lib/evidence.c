/*
 * evidence.c: the evidence picture of a match or an appearance.
 *
 * The outline comes from the record; the lines are found again here,
 * because a record need not carry its inlier pairs: both images'
 * keypoints (the blobs the record names in frame_kp and image_kp, or
 * found again), cv_verify()'s inliers, and of those the ones that the
 * homography of the record's outline takes to within a few pixels of
 * their frame point, so that every line drawn agrees with the outline.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cv.h"
#include "draw.h"
#include "err.h"
#include "evidence.h"
#include "imghdr.h"
#include "kpblob.h"

/* A line's frame point is within this many of the frame detector's
 * pixels of where the outline's homography takes its catalog point. */
#define LINE_TOLERANCE	6.0

static int
num(json_t *j, const char *key, double *v)
{
	json_t *n = json_object_get(j, key);

	if (n == NULL)
		return pm_fail("no %s", key);
	if (!json_is_number(n) || !isfinite(json_number_value(n)))
		return pm_fail("%s is not a number", key);
	*v = json_number_value(n);
	return 0;
}

static int
str(json_t *j, const char *key, const char **v)
{
	json_t *s = json_object_get(j, key);

	if (s == NULL)
		return pm_fail("no %s", key);
	if (!json_is_string(s))
		return pm_fail("%s is not a string", key);
	*v = json_string_value(s);
	return 0;
}

static int
blob(json_t *j, const char *key, const char **v)
{
	if (str(j, key, v) == -1)
		return -1;
	if (!store_name_ok(*v))
		return pm_fail("%s is not a blob name", key);
	return 0;
}

/* an optional blob name: *v is NULL when the record has none */
static int
optblob(json_t *j, const char *key, const char **v)
{
	*v = NULL;
	if (json_object_get(j, key) == NULL)
		return 0;
	return blob(j, key, v);
}

/* box: four [x, y] points of finite numbers */
static int
box(json_t *j, double b[8])
{
	json_t *a = json_object_get(j, "box"), *p, *x, *y;
	size_t k;

	if (a == NULL)
		return pm_fail("no box");
	if (!json_is_array(a) || json_array_size(a) != 4)
		return pm_fail("box is not 4 [x, y] points");
	for (k = 0; k < 4; k++) {
		p = json_array_get(a, k);
		x = json_array_get(p, 0);
		y = json_array_get(p, 1);
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_number(x) || !json_is_number(y))
			return pm_fail("box is not 4 [x, y] points");
		b[2 * k] = json_number_value(x);
		b[2 * k + 1] = json_number_value(y);
		if (!isfinite(b[2 * k]) || !isfinite(b[2 * k + 1]))
			return pm_fail("box corner %zu is not finite", k + 1);
	}
	return 0;
}

int
evidence_req_read(json_t *j, struct evidence_req *q)
{
	const char *type;
	json_t *best, *h, *n;
	double v;
	size_t k;

	memset(q, 0, sizeof *q);
	q->inliers = -1;
	type = json_string_value(json_object_get(j, "type"));
	q->appearance = type != NULL && strcmp(type, "appearance") == 0;
	if (str(j, "video", &q->video) == -1 ||
	    str(j, "product", &q->product) == -1 ||
	    num(j, "score", &q->score) == -1)
		return -1;
	if (q->score < 0 || q->score > 1)
		return pm_fail("score %g is not within 0..1", q->score);
	if (q->appearance) {
		if (num(j, "start", &q->start) == -1 ||
		    num(j, "end", &q->end) == -1)
			return -1;
		if (q->end < q->start)
			return pm_fail("end %g before start %g", q->end,
			    q->start);
		best = json_object_get(j, "best");
		if (best == NULL)
			return pm_fail("no best");
		if (!json_is_object(best))
			return pm_fail("best is not an object");
		if (num(best, "t", &q->t) == -1 ||
		    blob(best, "frame", &q->frame) == -1 ||
		    blob(best, "image", &q->image) == -1 ||
		    optblob(best, "frame_kp", &q->frame_kp) == -1 ||
		    optblob(best, "image_kp", &q->image_kp) == -1 ||
		    box(best, q->box) == -1) {
			char why[1024];

			snprintf(why, sizeof why, "%s", pm_why());
			return pm_fail("best: %s", why);
		}
		return 0;
	}
	if (num(j, "t", &q->t) == -1 || blob(j, "frame", &q->frame) == -1 ||
	    blob(j, "image", &q->image) == -1 ||
	    optblob(j, "frame_kp", &q->frame_kp) == -1 ||
	    optblob(j, "image_kp", &q->image_kp) == -1 || box(j, q->box) == -1)
		return -1;
	q->start = q->end = q->t;
	if ((n = json_object_get(j, "inliers")) != NULL) {
		if (!json_is_integer(n) || json_integer_value(n) < 0 ||
		    json_integer_value(n) > 1 << 30)
			return pm_fail("inliers is not a count");
		q->inliers = (int)json_integer_value(n);
	}
	/* the lines follow the outline, but a malformed H is a bad record */
	if ((h = json_object_get(j, "H")) != NULL) {
		if (!json_is_array(h) || json_array_size(h) != 9)
			return pm_fail("H is not 9 numbers");
		for (k = 0; k < 9; k++) {
			n = json_array_get(h, k);
			if (!json_is_number(n) ||
			    !isfinite(v = json_number_value(n)))
				return pm_fail("H is not 9 numbers");
		}
	}
	return 0;
}

/* Fail with "what: " before the current reason. */
static int
refail(const char *what, const char *name)
{
	char why[1024];

	snprintf(why, sizeof why, "%s", pm_why());
	if (name != NULL)
		return pm_fail("%s %s: %s", what, name, why);
	return pm_fail("%s: %s", what, why);
}

/*
 * Keep at most max of the n pairs, spread over the catalog image: a
 * pair is taken when no pair taken is within d of it, with d halved
 * each round until there are enough.  In place; returns the count.
 */
static int
spread(float *pairs, int n, int max, int cw, int ch)
{
	char *taken;
	float *out;
	double d, dx, dy;
	int i, k, m = 0;

	if (n <= max)
		return n;
	taken = pm_calloc((size_t)n, 1);
	out = pm_malloc((size_t)max * 4 * sizeof *out);
	for (d = sqrt((double)cw * ch / max); m < max; d /= 2) {
		for (i = 0; i < n && m < max; i++) {
			if (taken[i])
				continue;
			for (k = 0; k < m; k++) {
				dx = out[4 * k] - pairs[4 * i];
				dy = out[4 * k + 1] - pairs[4 * i + 1];
				if (dx * dx + dy * dy < d * d)
					break;
			}
			if (k < m && d >= 0.5)
				continue;
			taken[i] = 1;
			memcpy(out + 4 * m++, pairs + 4 * i, 4 * sizeof *out);
		}
	}
	memcpy(pairs, out, (size_t)m * 4 * sizeof *out);
	free(out);
	free(taken);
	return m;
}

struct side {
	void		*blob;
	size_t		 len;
	struct cv_kpset	*set;
	struct kpblob	 kb;
};

/*
 * One image's keypoints: the blob kp names, which must be of an image of
 * img's size, or when kp is NULL the keypoints found in img as pm-kp
 * finds them by default.
 */
static int
side_make(struct side *s, struct store *st, const char *kp, const void *img,
    size_t n, const char *what)
{
	struct cv_kp_opts o;
	struct imghdr h;
	int nkp;

	if (kp == NULL) {
		cv_kp_defaults(&o);
		if (cv_kp_extract(img, n, &o, &s->blob, &s->len, &nkp) == -1)
			return refail(what, NULL);
	} else if (store_get(st, kp, &s->blob, &s->len) == -1)
		return refail(what, "keypoints");
	if (kpblob_parse(&s->kb, s->blob, s->len) == -1)
		return refail(what, "keypoints");
	/* EXIF orientation may turn the image the keypoints are of */
	if (kp != NULL && imghdr_read(img, n, &h) == 0 &&
	    !(h.w == s->kb.w && h.h == s->kb.h) &&
	    !(h.w == s->kb.h && h.h == s->kb.w))
		return pm_fail("%s keypoints: of a %dx%d image, not of this "
		    "%dx%d one", what, s->kb.w, s->kb.h, h.w, h.h);
	if ((s->set = cv_kpset_new(s->blob, s->len)) == NULL)
		return refail(what, "keypoints");
	return 0;
}

static void
side_free(struct side *s)
{
	cv_kpset_free(s->set);
	free(s->blob);
}

/*
 * The inlier lines between the catalog image and the frame that agree
 * with the outline, at most max of them, into *pairs (malloc'd, 4
 * floats each).  No lines is not an error: the images may have too few
 * keypoints, or the outline may not be where their matches say.
 */
static int
inlier_lines(struct store *st, const struct evidence_req *q, const void *cat,
    size_t catn, const void *fr, size_t frn, int max, float **pairs,
    int *npairs)
{
	struct side c = { 0 }, f = { 0 };
	struct cv_verify_params vp;
	struct cv_match m;
	double H[9], tol, x, y, z;
	int i, n = 0, r = -1;

	*pairs = NULL;
	*npairs = 0;
	if (side_make(&c, st, q->image_kp, cat, catn, "catalog image") == -1 ||
	    side_make(&f, st, q->frame_kp, fr, frn, "frame") == -1)
		goto out;
	r = 0;
	cv_verify_defaults(&vp);
	if (cv_verify(c.set, f.set, &vp, &m) == -1)
		goto out;
	if (m.npairs > 0 && cv_box_homography(c.kb.w, c.kb.h, q->box, H) == 0) {
		tol = LINE_TOLERANCE / f.kb.scale;
		for (i = 0; i < m.npairs; i++) {
			const float *p = m.pairs + 4 * i;

			z = H[6] * p[0] + H[7] * p[1] + H[8];
			if (!(z > 0))
				continue;
			x = (H[0] * p[0] + H[1] * p[1] + H[2]) / z - p[2];
			y = (H[3] * p[0] + H[4] * p[1] + H[5]) / z - p[3];
			if (x * x + y * y <= tol * tol)
				memmove(m.pairs + 4 * n++, p, 4 * sizeof *p);
		}
		n = spread(m.pairs, n, max, c.kb.w, c.kb.h);
	}
	if (n > 0) {
		*pairs = m.pairs;
		*npairs = n;
		m.pairs = NULL;
	}
	cv_match_free(&m);
out:
	side_free(&c);
	side_free(&f);
	return r;
}

int
evidence_make(struct store *s, const struct evidence_req *q,
    const struct evidence_opts *o, struct evidence_pic *pic)
{
	struct cv_evidence e;
	void *cat = NULL, *fr = NULL;
	size_t catn, frn;
	float *pairs = NULL;
	char *l0 = NULL, *r0 = NULL, *l1 = NULL, *r1 = NULL;
	char t[32], a[32], b[32];
	int r = -1;

	memset(pic, 0, sizeof *pic);
	if (store_get(s, q->image, &cat, &catn) == -1) {
		refail("image", NULL);
		goto out;
	}
	if (store_get(s, q->frame, &fr, &frn) == -1) {
		refail("frame", NULL);
		goto out;
	}
	if (o->lines > 0 && inlier_lines(s, q, cat, catn, fr, frn, o->lines,
	    &pairs, &pic->nlines) == -1)
		goto out;

	clock_mmss(q->t, t, sizeof t);
	l0 = pm_asprintf("product %s", q->product);
	if (q->inliers >= 0)
		r0 = pm_asprintf("score %.3f, %d inliers", q->score, q->inliers);
	else
		r0 = pm_asprintf("score %.3f", q->score);
	l1 = pm_asprintf("video %s", q->video);
	if (q->appearance)
		r1 = pm_asprintf("%s to %s, shown at %s",
		    clock_mmss(q->start, a, sizeof a),
		    clock_mmss(q->end, b, sizeof b), t);
	else
		r1 = pm_asprintf("at %s", t);

	memset(&e, 0, sizeof e);
	e.cat = cat;
	e.catlen = catn;
	e.frame = fr;
	e.framelen = frn;
	memcpy(e.box, q->box, sizeof e.box);
	e.pairs = pairs;
	e.npairs = pic->nlines;
	e.left[0] = l0;
	e.right[0] = r0;
	e.left[1] = l1;
	e.right[1] = r1;
	e.width = o->width;
	e.quality = o->quality;
	if (cv_evidence_draw(&e, &pic->jpeg, &pic->len, &pic->w, &pic->h) == -1)
		goto out;
	if (store_put(s, pic->jpeg, pic->len, pic->blob) == -1) {
		refail("store", NULL);
		goto out;
	}
	r = 0;
out:
	if (r == -1)
		evidence_pic_free(pic);
	free(l0);
	free(r0);
	free(l1);
	free(r1);
	free(pairs);
	free(cat);
	free(fr);
	return r;
}

void
evidence_pic_free(struct evidence_pic *pic)
{
	free(pic->jpeg);
	memset(pic, 0, sizeof *pic);
}

#define SAFE_MAX	80	/* an id this long may be a name as it is */
#define SAFE_CUT	48	/* a changed id is cut to this */

static int
safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	    c == '-';
}

char *
evidence_safe_id(const char *id)
{
	char hex[STORE_NAMELEN + 1], *s;
	size_t n = strlen(id), i;
	int ok = n > 0 && n <= SAFE_MAX && id[0] != '.' && id[0] != '-';

	for (i = 0; ok && i < n; i++)
		ok = safe_byte((unsigned char)id[i]);
	if (ok)
		return pm_strdup(id);
	sha256_hex(id, n, hex);
	if (n > SAFE_CUT)
		n = SAFE_CUT;
	s = pm_asprintf("%.*s~%.8s", (int)n, id, hex);
	for (i = 0; i < n; i++)
		if (!safe_byte((unsigned char)s[i]) ||
		    (i == 0 && (s[i] == '.' || s[i] == '-')))
			s[i] = '_';
	return s;
}

char *
evidence_name(const struct evidence_req *q)
{
	char *v = evidence_safe_id(q->video), *p = evidence_safe_id(q->product);
	char *name;

	if (q->appearance)
		name = pm_asprintf("%s/%s@%.3f-%.3f.jpg", v, p, q->start,
		    q->end);
	else
		name = pm_asprintf("%s/%s@%.3f.jpg", v, p, q->t);
	free(v);
	free(p);
	return name;
}
