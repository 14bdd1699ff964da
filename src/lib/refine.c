/*
 * refine.c: frames between the sampled ones (refine.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "err.h"
#include "pfor.h"
#include "refine.h"
#include "store.h"
#include "video.h"

/* A window on its way through the decoding. */
struct rwin {
	double		 lo, hi;
	double		 step;		/* a frame at most this often; 0: all */
	double		 next;		/* with step: when it takes the next */
	int		 done;
};

struct grab {
	struct rwin	*w;
	int		 nwin;
	int		*order;		/* the windows by end */
	int		 next;		/* in order: the first not done */
	double		 end;		/* the last window's end */
	struct refine_frame *f;		/* held, in order of time */
	int		 n, cap;
	int		 w_img, h_img;	/* the sampled frames' size */
	const int	*idx;		/* the windows' numbers for fn */
	refine_fn	*fn;
	void		*arg;
};

struct byend {
	double		 hi;
	int		 i;
};

static int
by_end(const void *a, const void *b)
{
	const struct byend *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->i - y->i;
}

/*
 * Does window w take a frame at t, *next being when it takes the next
 * (lo at first)?  A frame inside it, and with a step the first at or
 * after *next, which then moves on.  Frames come in order of time.
 */
static int
takes(const struct rwin *w, double t, double *next)
{
	if (!(t > w->lo && t < w->hi))
		return 0;
	if (w->step == 0)
		return 1;
	if (t < *next)
		return 0;
	*next = w->lo + (floor((t - w->lo) / w->step) + 1) * w->step;
	return 1;
}

/* Window i is done: its frames among the held ones (those it took: they
 * are all held, and the others do not move its next). */
static void
pass(struct grab *g, int i)
{
	struct rwin *w = &g->w[i];
	struct refine_frame *f;
	double next = w->lo;
	int k, n = 0;

	f = pm_reallocarray(NULL, (size_t)g->n + 1, sizeof *f);
	for (k = 0; k < g->n; k++)
		if (takes(w, g->f[k].t, &next))
			f[n++] = g->f[k];
	g->fn(g->arg, g->idx[i], f, n);
	free(f);
	w->done = 1;
}

/* Let go of the held frames that no window still open wants. */
static void
release(struct grab *g)
{
	int k, j, keep = 0;

	for (k = 0; k < g->n; k++) {
		for (j = 0; j < g->nwin; j++)
			if (!g->w[j].done && g->f[k].t > g->w[j].lo &&
			    g->f[k].t < g->w[j].hi)
				break;
		if (j < g->nwin)
			g->f[keep++] = g->f[k];
		else
			free((void *)g->f[k].pic.pix);
	}
	g->n = keep;
}

static int
grab(const struct video_frame *vf, void *arg)
{
	struct grab *g = arg;
	struct refine_frame *f;
	unsigned char *pix;
	int j, want = 0;

	if (vf->drop != NULL)
		return 0;
	/* a picture larger than the frames it stands for would be
	 * another video's */
	if (vf->w > g->w_img || vf->h > g->h_img)
		return pm_fail("frames of %dx%d pixels decoded, %dx%d sampled",
		    vf->w, vf->h, g->w_img, g->h_img);
	/* the windows this frame is past are done */
	while (g->next < g->nwin && g->w[g->order[g->next]].hi <= vf->t)
		pass(g, g->order[g->next++]);
	release(g);
	if (vf->t >= g->end)
		return 1;
	for (j = 0; j < g->nwin; j++)
		if (!g->w[j].done && takes(&g->w[j], vf->t, &g->w[j].next))
			want = 1;
	if (!want)
		return 0;
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->f = pm_reallocarray(g->f, (size_t)g->cap, sizeof *g->f);
	}
	f = &g->f[g->n++];
	f->t = vf->t;
	f->pic.pw = vf->w;
	f->pic.ph = vf->h;
	f->pic.stride = (size_t)vf->w * 3;
	f->pic.w = g->w_img;
	f->pic.h = g->h_img;
	pix = pm_reallocarray(NULL, (size_t)vf->h, f->pic.stride);
	for (j = 0; j < vf->h; j++)
		memcpy(pix + (size_t)j * f->pic.stride,
		    vf->pix + (ptrdiff_t)j * vf->stride, f->pic.stride);
	f->pic.pix = pix;
	return 0;
}

int
refine_kp(const struct refine_frame *f, const struct refine_opts *o,
    const double rect[4], void **blob, size_t *len)
{
	int nkp;

	return cv_kp_extract_bgr_in(&f->pic, &o->kp, rect, o->side, blob, len,
	    &nkp);
}

/*
 * One decoding of the video v for the windows win (nwin pairs); fn is
 * told the windows as idx numbers them.
 */
static int
run(struct video *v, const double *win, const int *idx, int nwin,
    const struct refine_opts *o, refine_fn *fn, void *arg)
{
	struct video_opts vo;
	struct video_stats vs;
	struct grab g;
	struct byend *be;
	int i, r, big;

	memset(&g, 0, sizeof g);
	g.nwin = nwin;
	g.idx = idx;
	g.fn = fn;
	g.arg = arg;
	g.w_img = o->w;
	g.h_img = o->h;
	g.w = pm_calloc((size_t)nwin + 1, sizeof *g.w);
	g.order = pm_reallocarray(NULL, (size_t)nwin + 1, sizeof *g.order);
	be = pm_reallocarray(NULL, (size_t)nwin + 1, sizeof *be);
	for (i = 0; i < nwin; i++) {
		struct rwin *w = &g.w[i];

		w->lo = w->next = win[2 * i];
		w->hi = win[2 * i + 1];
		if ((w->hi - w->lo) * o->fps > REFINE_MAXWIN)
			w->step = (w->hi - w->lo) / (REFINE_MAXWIN + 1);
		if (w->hi > g.end)
			g.end = w->hi;
		be[i].hi = w->hi;
		be[i].i = i;
	}
	qsort(be, (size_t)nwin, sizeof *be, by_end);
	for (i = 0; i < nwin; i++)
		g.order[i] = be[i].i;
	free(be);
	video_opts_init(&vo);
	vo.mode = VIDEO_RATE;
	vo.fps = o->fps;
	/* at the size the detector sees the sampled frames */
	big = o->w > o->h ? o->w : o->h;
	vo.maxside = o->kp.max_side > 0 && o->kp.max_side < big ?
	    o->kp.max_side : big;
	vo.raw = 1;
	/* one thread: a decoder's frame threads hand every packet on, and
	 * pm-match's other threads have frames to match meanwhile */
	vo.threads = 1;
	vo.win = win;
	vo.nwin = nwin;
	r = video_sample(v, &vo, grab, &g, &vs);
	/* the windows the video ended in */
	if (r == 0)
		while (g.next < g.nwin)
			pass(&g, g.order[g.next++]);
	for (i = 0; i < g.n; i++)
		free((void *)g.f[i].pic.pix);
	free(g.f);
	free(g.w);
	free(g.order);
	return r;
}

/*
 * The windows go to as many decodings as there are threads, split
 * where they are furthest apart: each decoding skips the GOPs none of
 * its windows needs, so that they share little work, and they run at
 * once.
 */
struct part {
	const char	*path;		/* the video's file, or NULL: */
	const void	*mem;		/* ... its bytes */
	size_t		 len;
	const struct refine_opts *o;
	refine_fn	*fn;
	void		*arg;
	double		*win;		/* the windows by start */
	int		*idx;		/* ... and their numbers */
	int		*first;		/* part k: windows first[k] .. */
	int		 nparts;
	int		*r;		/* each part's result */
	char		**why;
};

struct bystart {
	double		 lo, hi;
	int		 i;
};

static int
by_start(const void *a, const void *b)
{
	const struct bystart *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->i - y->i;
}

static void
run_part(void *arg, size_t k, int thread)
{
	struct part *p = arg;
	struct video *v;
	int a = p->first[k], z = p->first[k + 1];

	v = p->path != NULL ? video_open(p->path) :
	    video_open_mem(p->mem, p->len);
	p->r[k] = v == NULL ? -1 : run(v, p->win + 2 * a, p->idx + a, z - a,
	    p->o, p->fn, p->arg);
	if (p->r[k] == -1)
		p->why[k] = pm_strdup(pm_why());
	video_close(v);
}

/* Gaps between windows, by size. */
struct gap {
	double		 size;
	int		 at;		/* the window after it */
};

static int
by_size(const void *a, const void *b)
{
	const struct gap *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->at - y->at;
}

static int
by_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int
refine_video(struct store *st, const char *blob, const double *win,
    int nwin, const struct refine_opts *o, refine_fn *fn, void *arg)
{
	struct bystart *bs;
	struct gap *gap;
	struct part p;
	void *mem = NULL;
	size_t len = 0;
	double end;
	char *path;
	int raw, i, k, ng = 0, r = 0;

	if ((path = store_path(st, blob, &raw)) == NULL)
		return -1;
	if (!raw && store_get(st, blob, &mem, &len) == -1) {
		free(path);
		return -1;
	}
	memset(&p, 0, sizeof p);
	p.path = raw ? path : NULL;
	p.mem = mem;
	p.len = len;
	p.o = o;
	p.fn = fn;
	p.arg = arg;
	bs = pm_reallocarray(NULL, (size_t)nwin + 1, sizeof *bs);
	for (i = 0; i < nwin; i++)
		bs[i] = (struct bystart){ win[2 * i], win[2 * i + 1], i };
	qsort(bs, (size_t)nwin, sizeof *bs, by_start);
	p.win = pm_reallocarray(NULL, (size_t)nwin + 1, 2 * sizeof *p.win);
	p.idx = pm_reallocarray(NULL, (size_t)nwin + 1, sizeof *p.idx);
	gap = pm_reallocarray(NULL, (size_t)nwin + 1, sizeof *gap);
	for (i = 0, end = -INFINITY; i < nwin; i++) {
		p.win[2 * i] = bs[i].lo;
		p.win[2 * i + 1] = bs[i].hi;
		p.idx[i] = bs[i].i;
		if (i > 0 && bs[i].lo - end >= REFINE_SPLIT)
			gap[ng++] = (struct gap){ bs[i].lo - end, i };
		if (bs[i].hi > end)
			end = bs[i].hi;
	}
	free(bs);
	/* the largest gaps, as many as there are threads less one */
	qsort(gap, (size_t)ng, sizeof *gap, by_size);
	p.nparts = ng + 1 < o->threads ? ng + 1 : o->threads > 1 ?
	    o->threads : 1;
	p.first = pm_reallocarray(NULL, (size_t)p.nparts + 1,
	    sizeof *p.first);
	p.first[0] = 0;
	for (k = 1; k < p.nparts; k++)
		p.first[k] = gap[k - 1].at;
	qsort(p.first + 1, (size_t)p.nparts - 1, sizeof *p.first, by_int);
	p.first[p.nparts] = nwin;
	free(gap);
	p.r = pm_calloc((size_t)p.nparts, sizeof *p.r);
	p.why = pm_calloc((size_t)p.nparts, sizeof *p.why);
	pfor(p.nparts, (size_t)p.nparts, run_part, &p);
	for (k = 0; k < p.nparts; k++) {
		if (p.r[k] == -1 && r == 0)
			r = pm_fail("%s", p.why[k]);
		free(p.why[k]);
	}
	free(p.r);
	free(p.why);
	free(p.first);
	free(p.win);
	free(p.idx);
	free(path);
	free(mem);
	return r;
}
