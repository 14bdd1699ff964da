/*
 * report.c: the static HTML report of a run's results.
 *
 * The page is plain HTML with its CSS inline and no script, so that it
 * opens from the file system in any browser, and is written only from
 * the records, in input order, so the same records give the same page.
 * Every string from a record is escaped; a link is made only of an
 * http or https URL.  Pictures are named by their blob (img/NAME.jpg,
 * img/NAME-SIDE.jpg for a thumbnail), so a name never comes from an id.
 */
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "clock.h"
#include "draw.h"
#include "err.h"
#include "imghdr.h"
#include "outfile.h"
#include "report.h"

#define PRODUCT_SIDE	240	/* product thumbnails, longer side */
#define EVIDENCE_SIDE	640	/* evidence thumbnails, longer side */
#define THUMB_QUALITY	85
#define MAX_THUMBS	4	/* product pictures shown, at most */

struct video {
	char	*id, *title, *src;
	double	 duration;	/* < 0: unknown */
};

struct product {
	char	*id, *title, *url, *price;
	char	*thumbs[MAX_THUMBS];	/* image blobs with thumbnails */
	int	 nthumbs;
	char	*fallback;	/* a matched image's blob */
};

/* An appearance, or a match outside every appearance. */
struct hit {
	int	 appearance;
	int	 video, product;
	double	 start, end, t, score;
	char	*evidence;	/* blob, or NULL */
	char	*image;		/* the catalog image's blob, or NULL */
	int	 frames;	/* matches within an appearance */
	int	 covered;	/* a match within an appearance */
	double	 evdist;	/* |t - best t| of the evidence borrowed;
				 * 0: its own */
	const char *pid;	/* the product's id, for sorting */
};

struct report {
	char		*dir, *page;
	struct store	*s;
	int		 threads;	/* for the pictures; 0: all cores */
	pthread_mutex_t	 mu;
	json_t		*files;		/* picture made: name -> [w, h] */

	/* in input order, by report_add() */
	struct video	*v;
	int		 nv;
	struct product	*p;
	int		 np;
	struct hit	*h;
	int		 nh;
	json_t		*vidx, *pidx;	/* id -> index */
	json_t		*seen;		/* hits already taken */
	int		 nmatches;
};

struct html {
	char	*p;
	size_t	 n, cap;
};

static void
raw(struct html *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		while (b->n + n + 1 > b->cap)
			b->cap = b->cap ? 2 * b->cap : 65536;
		b->p = pm_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* Markup and numbers, never a record's strings. */
static void PM_PRINTF(2, 3)
put(struct html *b, const char *fmt, ...)
{
	va_list ap;
	char small[512], *s = small;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		pm_err(PM_EXIT_FATAL, "cannot format the page");
	if ((size_t)n >= sizeof small) {
		s = pm_malloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	raw(b, s, (size_t)n);
	if (s != small)
		free(s);
}

/* A record's string, escaped for text and for quoted attributes;
 * control characters, which HTML does not allow, as U+FFFD. */
static void
text(struct html *b, const char *s)
{
	const char *e;

	for (; *s; s++) {
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n')
				e = "&#xFFFD;";
			else if (*s == 0x7f)
				e = "&#xFFFD;";
			else {
				raw(b, s, 1);
				continue;
			}
		}
		raw(b, e, strlen(e));
	}
}

static int
is_url(const char *s)
{
	return s != NULL && (strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0);
}

struct report *
report_new(const char *dir, struct store *s, int threads)
{
	struct report *r;
	char *img;
	struct stat st;

	if (mkdir(dir, 0777) == -1 && errno != EEXIST)
		return pm_fail("%s:", dir), NULL;
	if (stat(dir, &st) == -1)
		return pm_fail("%s:", dir), NULL;
	if (!S_ISDIR(st.st_mode))
		return pm_fail("%s: not a directory", dir), NULL;
	img = pm_asprintf("%s/img", dir);
	if (mkdir(img, 0777) == -1 && errno != EEXIST) {
		pm_fail("%s:", img);
		free(img);
		return NULL;
	}
	free(img);
	r = pm_calloc(1, sizeof *r);
	r->dir = pm_strdup(dir);
	r->page = pm_asprintf("%s/index.html", dir);
	r->s = s;
	r->threads = threads;
	pthread_mutex_init(&r->mu, NULL);
	r->files = json_object();
	r->vidx = json_object();
	r->pidx = json_object();
	r->seen = json_object();
	return r;
}

void
report_free(struct report *r)
{
	int i, k;

	if (r == NULL)
		return;
	for (i = 0; i < r->nv; i++) {
		free(r->v[i].id);
		free(r->v[i].title);
		free(r->v[i].src);
	}
	for (i = 0; i < r->np; i++) {
		free(r->p[i].id);
		free(r->p[i].title);
		free(r->p[i].url);
		free(r->p[i].price);
		for (k = 0; k < r->p[i].nthumbs; k++)
			free(r->p[i].thumbs[k]);
		free(r->p[i].fallback);
	}
	for (i = 0; i < r->nh; i++) {
		free(r->h[i].evidence);
		free(r->h[i].image);
	}
	free(r->v);
	free(r->p);
	free(r->h);
	json_decref(r->files);
	json_decref(r->vidx);
	json_decref(r->pidx);
	json_decref(r->seen);
	pthread_mutex_destroy(&r->mu);
	free(r->dir);
	free(r->page);
	free(r);
}

const char *
report_page(const struct report *r)
{
	return r->page;
}

/* The picture img/NAME has been made, at w x h; -1 if not. */
static int
made(struct report *r, const char *name, int *w, int *h)
{
	json_t *a;

	pthread_mutex_lock(&r->mu);
	a = json_object_get(r->files, name);
	if (a != NULL) {
		*w = (int)json_integer_value(json_array_get(a, 0));
		*h = (int)json_integer_value(json_array_get(a, 1));
	}
	pthread_mutex_unlock(&r->mu);
	return a != NULL ? 0 : -1;
}

static void
set_made(struct report *r, const char *name, int w, int h)
{
	pthread_mutex_lock(&r->mu);
	json_object_set_new(r->files, name, json_pack("[ii]", w, h));
	pthread_mutex_unlock(&r->mu);
}

/*
 * Make img/BLOB-SIDE.jpg, a thumbnail, and with full img/BLOB.jpg, the
 * blob itself (a JPEG).
 */
static int
picture(struct report *r, const char *blob, int side, int full)
{
	struct imghdr ih;
	unsigned char *jpeg;
	char *name, *tname;
	void *p;
	size_t n, len;
	int w, h, rv = -1;

	name = pm_asprintf("img/%s.jpg", blob);
	tname = pm_asprintf("img/%s-%d.jpg", blob, side);
	if (store_get(r->s, blob, &p, &n) == -1)
		goto out;
	if (full) {
		if (imghdr_read(p, n, &ih) == -1 || strcmp(ih.format, "jpeg") != 0) {
			pm_fail("blob %s is not a JPEG picture", blob);
			free(p);
			goto out;
		}
		if (outfile_write(r->dir, name, p, n) == -1) {
			free(p);
			goto out;
		}
		set_made(r, name, ih.w, ih.h);
	}
	if (cv_thumbnail(p, n, side, THUMB_QUALITY, &jpeg, &len, &w, &h) == -1) {
		char why[1024];

		snprintf(why, sizeof why, "%s", pm_why());
		pm_fail("blob %s: %s", blob, why);
		free(p);
		goto out;
	}
	free(p);
	if (outfile_write(r->dir, tname, jpeg, len) == 0) {
		set_made(r, tname, w, h);
		rv = 0;
	}
	free(jpeg);
out:
	free(name);
	free(tname);
	return rv;
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

/* An optional blob name: NULL when absent, -1 when not a name. */
static int
optblob(json_t *j, const char *key, const char **v)
{
	json_t *s = json_object_get(j, key);

	*v = NULL;
	if (s == NULL)
		return 0;
	if (!json_is_string(s) || !store_name_ok(json_string_value(s)))
		return pm_fail("%s is not a blob name", key);
	*v = json_string_value(s);
	return 0;
}

/* What a result record says; the strings point into j. */
struct result {
	int		 appearance;
	const char	*video, *product, *evidence, *image;
	double		 start, end, t, score;
};

static int
result_read(json_t *j, int appearance, struct result *x)
{
	json_t *best;

	memset(x, 0, sizeof *x);
	x->appearance = appearance;
	if (str(j, "video", &x->video) == -1 ||
	    str(j, "product", &x->product) == -1 ||
	    num(j, "score", &x->score) == -1 ||
	    optblob(j, "evidence", &x->evidence) == -1)
		return -1;
	if (!appearance) {
		if (num(j, "t", &x->t) == -1 ||
		    optblob(j, "image", &x->image) == -1)
			return -1;
		x->start = x->end = x->t;
		return 0;
	}
	if (num(j, "start", &x->start) == -1 || num(j, "end", &x->end) == -1)
		return -1;
	if (x->end < x->start)
		return pm_fail("end %g before start %g", x->end, x->start);
	x->t = x->start;
	best = json_object_get(j, "best");
	if (json_is_object(best)) {
		json_t *t = json_object_get(best, "t");

		if (json_is_number(t) && isfinite(json_number_value(t)))
			x->t = json_number_value(t);
		if (optblob(best, "image", &x->image) == -1)
			return -1;
	}
	return 0;
}

static int
is(const char *type, const char *want)
{
	return strcmp(type, want) == 0;
}

int
report_prepare(struct report *rep, struct rec *r)
{
	struct result x;
	const char *s;

	if (is(r->type, "product") || is(r->type, "video"))
		return str(r->j, "id", &s);
	if (is(r->type, "image")) {
		if (str(r->j, "product", &s) == -1 ||
		    optblob(r->j, "blob", &s) == -1)
			return -1;
		return s == NULL ? pm_fail("no blob") : 0;
	}
	if (is(r->type, "appearance") || is(r->type, "match"))
		return result_read(r->j, is(r->type, "appearance"), &x);
	return 0;
}

static char *
optdup(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s != NULL ? pm_strdup(s) : NULL;
}

static int
video_of(struct report *r, const char *id)
{
	json_t *i = json_object_get(r->vidx, id);
	struct video *v;

	if (i != NULL)
		return (int)json_integer_value(i);
	r->v = pm_reallocarray(r->v, (size_t)r->nv + 1, sizeof *r->v);
	v = &r->v[r->nv];
	memset(v, 0, sizeof *v);
	v->id = pm_strdup(id);
	v->duration = -1;
	json_object_set_new(r->vidx, id, json_integer(r->nv));
	return r->nv++;
}

static int
product_of(struct report *r, const char *id)
{
	json_t *i = json_object_get(r->pidx, id);
	struct product *p;

	if (i != NULL)
		return (int)json_integer_value(i);
	r->p = pm_reallocarray(r->p, (size_t)r->np + 1, sizeof *r->p);
	p = &r->p[r->np];
	memset(p, 0, sizeof *p);
	p->id = pm_strdup(id);
	json_object_set_new(r->pidx, id, json_integer(r->np));
	return r->np++;
}

void
report_add(struct report *rep, struct rec *r)
{
	struct result x;
	struct product *p;
	struct video *v;
	struct hit *h;
	const char *s;
	char *key;
	double d;
	int i;

	if (is(r->type, "video")) {
		i = video_of(rep, rec_str(r, "id"));
		v = &rep->v[i];
		if (v->title == NULL)
			v->title = optdup(r->j, "title");
		if (v->src == NULL)
			v->src = optdup(r->j, "src");
		if (v->duration < 0 && rec_num(r, "duration", &d) == 0 &&
		    isfinite(d) && d >= 0)
			v->duration = d;
	} else if (is(r->type, "product")) {
		i = product_of(rep, rec_str(r, "id"));
		p = &rep->p[i];
		if (p->title == NULL)
			p->title = optdup(r->j, "title");
		if (p->url == NULL)
			p->url = optdup(r->j, "url");
		if (p->price == NULL) {
			json_t *pr = json_object_get(r->j, "price");

			if (json_is_string(pr))
				p->price = pm_strdup(json_string_value(pr));
			else if (json_is_number(pr))
				p->price = pm_asprintf("%g",
				    json_number_value(pr));
		}
	} else if (is(r->type, "image")) {
		i = product_of(rep, rec_str(r, "product"));
		p = &rep->p[i];
		s = rec_str(r, "blob");
		if (p->nthumbs == MAX_THUMBS)
			return;
		for (i = 0; i < p->nthumbs; i++)
			if (strcmp(p->thumbs[i], s) == 0)
				return;
		p->thumbs[p->nthumbs++] = pm_strdup(s);
	} else if (is(r->type, "appearance") || is(r->type, "match")) {
		if (result_read(r->j, is(r->type, "appearance"), &x) == -1)
			return;		/* report_prepare() rejected it */
		i = video_of(rep, x.video);
		key = pm_asprintf("%d %d %d %.17g %.17g %s", x.appearance, i,
		    product_of(rep, x.product), x.start, x.end,
		    x.image ? x.image : "");
		if (json_object_get(rep->seen, key) != NULL) {
			free(key);	/* the same result read twice */
			return;
		}
		json_object_set_new(rep->seen, key, json_true());
		free(key);
		if (!x.appearance)
			rep->nmatches++;
		rep->h = pm_reallocarray(rep->h, (size_t)rep->nh + 1,
		    sizeof *rep->h);
		h = &rep->h[rep->nh++];
		memset(h, 0, sizeof *h);
		h->appearance = x.appearance;
		h->video = i;
		h->product = product_of(rep, x.product);
		h->start = x.start;
		h->end = x.end;
		h->t = x.t;
		h->score = x.score;
		if (x.evidence != NULL)
			h->evidence = pm_strdup(x.evidence);
		h->evdist = h->evidence != NULL ? 0 : INFINITY;
		if (x.image != NULL) {
			h->image = pm_strdup(x.image);
			p = &rep->p[h->product];
			if (p->fallback == NULL)
				p->fallback = pm_strdup(x.image);
		}
	}
}

/* Rows in a video's table: by start, product, end. */
static int
hitcmp(const void *a, const void *b)
{
	const struct hit *x = *(struct hit *const *)a;
	const struct hit *y = *(struct hit *const *)b;
	int c;

	if (x->video != y->video)
		return x->video < y->video ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if ((c = strcmp(x->pid, y->pid)) != 0)
		return c;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->appearance > y->appearance ? -1 : x->appearance < y->appearance;
}

/*
 * A match within an appearance of its video and product counts as one
 * of its frames, and lends its evidence picture when the appearance
 * has none (the one nearest the appearance's best time); the others
 * become rows of their own.
 */
static void
merge(struct report *r)
{
	struct hit *m, *a;
	int i, k;
	double d;

	for (i = 0; i < r->nh; i++) {
		m = &r->h[i];
		if (m->appearance)
			continue;
		for (k = 0; k < r->nh; k++) {
			a = &r->h[k];
			if (!a->appearance || a->video != m->video ||
			    a->product != m->product || m->t < a->start ||
			    m->t > a->end)
				continue;
			m->covered = 1;
			a->frames++;
			d = fabs(m->t - a->t);
			if (m->evidence != NULL && d < a->evdist) {
				free(a->evidence);
				a->evidence = pm_strdup(m->evidence);
				a->evdist = d;
			}
			break;
		}
	}
}

static void
img(struct report *r, struct html *b, const char *name, const char *cls,
    const char *alt)
{
	int w = 0, h = 0;

	made(r, name, &w, &h);
	put(b, "<img class=\"%s\" src=\"%s\" width=\"%d\" height=\"%d\" alt=\"",
	    cls, name, w, h);
	text(b, alt);
	put(b, "\">");
}

/* The image blob's thumbnail, if it was made. */
static void
thumb(struct report *r, struct html *b, const char *blob, const char *alt)
{
	char *name = pm_asprintf("img/%s-%d.jpg", blob, PRODUCT_SIDE);
	int w, h;

	if (made(r, name, &w, &h) == 0)
		img(r, b, name, "thumb", alt);
	free(name);
}

static int
has_thumb(struct report *r, const char *blob)
{
	char *name = pm_asprintf("img/%s-%d.jpg", blob, PRODUCT_SIDE);
	int w, h, ok = made(r, name, &w, &h) == 0;

	free(name);
	return ok;
}

/* Were the evidence picture's copy and thumbnail made? */
static int
has_evidence(struct report *r, const char *blob)
{
	char *full = pm_asprintf("img/%s.jpg", blob);
	char *small = pm_asprintf("img/%s-%d.jpg", blob, EVIDENCE_SIDE);
	int w, h, ok = made(r, full, &w, &h) == 0 &&
	    made(r, small, &w, &h) == 0;

	free(full);
	free(small);
	return ok;
}

/* The first picture of a product that has a thumbnail, or NULL. */
static const char *
product_thumb(struct report *r, const struct product *p)
{
	int i;

	for (i = 0; i < p->nthumbs; i++)
		if (has_thumb(r, p->thumbs[i]))
			return p->thumbs[i];
	if (p->fallback != NULL && has_thumb(r, p->fallback))
		return p->fallback;
	return NULL;
}

static void
url_or_text(struct html *b, const char *url)
{
	if (is_url(url)) {
		put(b, "<a href=\"");
		text(b, url);
		put(b, "\">");
		text(b, url);
		put(b, "</a>");
	} else
		text(b, url);
}

static const char style[] =
"body{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;"
"color:#222;background:#fff;max-width:75em;margin:1.5em auto;padding:0 1em}\n"
"h1{font-size:1.7em;margin-bottom:.2em}\n"
"h2{font-size:1.35em;border-bottom:2px solid #bbb;padding-bottom:.2em;"
"margin-top:2em}\n"
"h3{font-size:1.1em;margin:1.4em 0 .3em;overflow-wrap:anywhere}\n"
"table{border-collapse:collapse;width:100%;table-layout:fixed}\n"
"th:first-child{width:25%}\n"
"th.n{width:4.5em}\n"
"th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid #ddd;"
"vertical-align:middle}\n"
"th{background:#f2f2f2;font-weight:600}\n"
"th.n,td.n{text-align:right;font-variant-numeric:tabular-nums;"
"white-space:nowrap}\n"
"td.p{overflow-wrap:anywhere}\n"
"img.thumb{height:64px;width:auto;vertical-align:middle;margin:0 .5em .2em 0;"
"border:1px solid #ddd;background:#fafafa}\n"
"img.ev{width:100%;max-width:320px;height:auto;border:1px solid #aaa;"
"display:block;box-sizing:border-box}\n"
".meta,.sum{color:#555}\n"
".none{color:#777;font-style:italic}\n"
"nav a{margin-right:.8em}\n"
"ul{padding-left:1.2em}\n"
"@media (max-width:700px){th,td{padding:.3em}th.n{width:3.6em}"
"img.thumb{height:40px}td.n,th.n{font-size:.9em}}\n";

static void
page(struct report *r, struct html *b, struct report_sum *sum)
{
	struct hit **rows;
	struct product *p;
	struct video *v;
	struct hit *h;
	char t1[32], t2[32];
	int i, k, n, nrows = 0, any;

	rows = pm_calloc((size_t)r->nh + 1, sizeof *rows);
	for (i = 0; i < r->nh; i++)
		if (!r->h[i].covered) {
			r->h[i].pid = r->p[r->h[i].product].id;
			rows[nrows++] = &r->h[i];
		}
	qsort(rows, (size_t)nrows, sizeof *rows, hitcmp);

	memset(sum, 0, sizeof *sum);
	sum->videos = r->nv;
	sum->products = r->np;
	sum->matches = r->nmatches;
	for (i = 0; i < r->nh; i++)
		sum->appearances += r->h[i].appearance;
	for (i = 0; i < nrows; i++)
		sum->pictures += rows[i]->evidence != NULL &&
		    has_evidence(r, rows[i]->evidence);

	put(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>pm report</title>\n<style>\n%s"
	    "</style>\n</head>\n<body>\n<h1>Products found in videos</h1>\n",
	    style);
	put(b, "<p class=\"sum\" id=\"summary\">%d video%s, %d product%s, "
	    "%d appearance%s, %d match%s.</p>\n", sum->videos,
	    sum->videos == 1 ? "" : "s", sum->products,
	    sum->products == 1 ? "" : "s", sum->appearances,
	    sum->appearances == 1 ? "" : "s", sum->matches,
	    sum->matches == 1 ? "" : "es");

	put(b, "<h2 id=\"videos\">Videos</h2>\n");
	if (r->nv == 0)
		put(b, "<p class=\"none\">No videos.</p>\n");
	for (i = 0, k = 0; i < r->nv; i++) {
		v = &r->v[i];
		put(b, "<section class=\"video\" id=\"v%d\">\n<h3>", i + 1);
		text(b, v->id);
		put(b, "</h3>\n");
		if (v->title || v->src || v->duration >= 0) {
			put(b, "<p class=\"meta\">");
			any = 0;
			if (v->title) {
				text(b, v->title);
				any = 1;
			}
			if (v->duration >= 0) {
				put(b, "%s%s long", any ? " &middot; " : "",
				    clock_mmss(v->duration, t1, sizeof t1));
				any = 1;
			}
			if (v->src) {
				put(b, "%s", any ? " &middot; " : "");
				url_or_text(b, v->src);
			}
			put(b, "</p>\n");
		}
		for (n = 0; k + n < nrows && rows[k + n]->video == i; n++)
			;
		if (n == 0) {
			put(b, "<p class=\"none\">No products found.</p>\n"
			    "</section>\n");
			continue;
		}
		put(b, "<table>\n<thead><tr><th>Product</th><th class=\"n\">"
		    "From</th><th class=\"n\">To</th><th class=\"n\">Score"
		    "</th>%s<th>Evidence</th></tr></thead>\n<tbody>\n",
		    r->nmatches ? "<th class=\"n\">Frames</th>" : "");
		for (; n > 0; n--, k++) {
			h = rows[k];
			p = &r->p[h->product];
			put(b, "<tr><td class=\"p\"><a href=\"#p%d\">",
			    h->product + 1);
			if (h->image != NULL && has_thumb(r, h->image))
				thumb(r, b, h->image, "");
			else if (product_thumb(r, p) != NULL)
				thumb(r, b, product_thumb(r, p), "");
			text(b, p->id);
			put(b, "</a></td><td class=\"n\">%s</td>"
			    "<td class=\"n\">%s</td><td class=\"n\">%.2f</td>",
			    clock_mmss(h->start, t1, sizeof t1),
			    clock_mmss(h->end, t2, sizeof t2), h->score);
			if (r->nmatches)
				put(b, "<td class=\"n\">%d</td>", h->appearance ?
				    h->frames : 1);
			if (h->evidence != NULL && has_evidence(r, h->evidence)) {
				char *full = pm_asprintf("img/%s.jpg",
				    h->evidence);
				char *small = pm_asprintf("img/%s-%d.jpg",
				    h->evidence, EVIDENCE_SIDE);
				char *alt = pm_asprintf("%s in %s at %s",
				    p->id, v->id, clock_mmss(h->t, t1,
				    sizeof t1));

				put(b, "<td><a href=\"%s\">", full);
				img(r, b, small, "ev", alt);
				put(b, "</a></td>");
				free(full);
				free(small);
				free(alt);
			} else
				put(b, "<td class=\"none\">none</td>");
			put(b, "</tr>\n");
		}
		put(b, "</tbody>\n</table>\n</section>\n");
	}

	put(b, "<h2 id=\"products\">Products</h2>\n");
	if (r->np == 0)
		put(b, "<p class=\"none\">No products.</p>\n");
	for (i = 0; i < r->np; i++) {
		p = &r->p[i];
		put(b, "<section class=\"product\" id=\"p%d\">\n<h3>", i + 1);
		text(b, p->id);
		put(b, "</h3>\n");
		if (product_thumb(r, p) != NULL) {
			put(b, "<p>");
			if (p->nthumbs == 0)
				thumb(r, b, p->fallback, p->id);
			for (k = 0; k < p->nthumbs; k++)
				thumb(r, b, p->thumbs[k], p->id);
			put(b, "</p>\n");
		}
		if (p->title || p->price || p->url) {
			put(b, "<p class=\"meta\">");
			any = 0;
			if (p->title) {
				text(b, p->title);
				any = 1;
			}
			if (p->price) {
				put(b, "%s", any ? " &middot; " : "");
				text(b, p->price);
				any = 1;
			}
			if (p->url) {
				put(b, "%s", any ? " &middot; " : "");
				url_or_text(b, p->url);
			}
			put(b, "</p>\n");
		}
		any = 0;
		for (k = 0; k < nrows; k++) {
			h = rows[k];
			if (h->product != i)
				continue;
			if (!any)
				put(b, "<ul>\n");
			any = 1;
			put(b, "<li><a href=\"#v%d\">", h->video + 1);
			text(b, r->v[h->video].id);
			put(b, "</a>: %s&ndash;%s, score %.2f</li>\n",
			    clock_mmss(h->start, t1, sizeof t1),
			    clock_mmss(h->end, t2, sizeof t2), h->score);
		}
		put(b, any ? "</ul>\n" :
		    "<p class=\"none\">Not found in any video.</p>\n");
		put(b, "</section>\n");
	}
	put(b, "</body>\n</html>\n");
	free(rows);
}

struct job {
	const char	*blob;
	int		 side, full;
	char		*why;		/* the failure, or NULL */
};

struct pool {
	struct report	*r;
	struct job	*jobs;
	size_t		 n, next;
	pthread_mutex_t	 mu;
};

static void
job_add(struct pool *p, json_t *seen, const char *blob, int side, int full)
{
	char *key;

	if (blob == NULL)
		return;
	key = pm_asprintf("%s %d", blob, side);
	if (json_object_get(seen, key) == NULL) {
		json_object_set_new(seen, key, json_true());
		p->jobs = pm_reallocarray(p->jobs, p->n + 1, sizeof *p->jobs);
		p->jobs[p->n++] = (struct job){ blob, side, full, NULL };
	}
	free(key);
}

static void *
pool_main(void *arg)
{
	struct pool *p = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		j = p->next < p->n ? &p->jobs[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (j == NULL)
			return NULL;
		if (picture(p->r, j->blob, j->side, j->full) == -1)
			j->why = pm_strdup(pm_why());
	}
}

/*
 * Make the pictures the page shows, on the report's threads; a picture
 * that cannot be made is left out with a warning, in a fixed order.
 */
static int
pictures(struct report *r)
{
	struct pool p = { 0 };
	json_t *seen = json_object();
	pthread_t *t;
	size_t i;
	int k, n, bad = 0;

	p.r = r;
	pthread_mutex_init(&p.mu, NULL);
	for (k = 0; k < r->nh; k++)
		if (!r->h[k].covered) {
			job_add(&p, seen, r->h[k].evidence, EVIDENCE_SIDE, 1);
			job_add(&p, seen, r->h[k].image, PRODUCT_SIDE, 0);
		}
	for (k = 0; k < r->np; k++) {
		for (n = 0; n < r->p[k].nthumbs; n++)
			job_add(&p, seen, r->p[k].thumbs[n], PRODUCT_SIDE, 0);
		if (r->p[k].nthumbs == 0)
			job_add(&p, seen, r->p[k].fallback, PRODUCT_SIDE, 0);
	}
	json_decref(seen);

	n = r->threads > 0 ? r->threads : loop_cores();
	if ((size_t)n > p.n)
		n = (int)p.n;
	t = pm_calloc((size_t)n + 1, sizeof *t);
	for (k = 0; k < n; k++)
		if (pthread_create(&t[k], NULL, pool_main, &p) != 0)
			pm_err(PM_EXIT_FATAL, "cannot start a thread");
	for (k = 0; k < n; k++)
		pthread_join(t[k], NULL);
	free(t);
	for (i = 0; i < p.n; i++)
		if (p.jobs[i].why != NULL) {
			pm_warn("%s", p.jobs[i].why);
			free(p.jobs[i].why);
			bad++;
		}
	free(p.jobs);
	pthread_mutex_destroy(&p.mu);
	return bad;
}

int
report_write(struct report *r, struct report_sum *sum)
{
	struct html b = { 0 };
	int bad;

	merge(r);
	bad = pictures(r);
	page(r, &b, sum);
	sum->failed = bad;
	if (outfile_write(r->dir, "index.html", b.p, b.n) == -1) {
		free(b.p);
		return -1;
	}
	free(b.p);
	return 0;
}
