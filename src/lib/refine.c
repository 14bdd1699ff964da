/*
 * refine.c: frames between the sampled ones (refine.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "err.h"
#include "refine.h"
#include "store.h"
#include "video.h"

struct grab {
	const double	*win;
	int		 nwin;
	double		 end;		/* the last window's end */
	struct refine_frame *f;
	int		 n, cap;
};

static int
grab(const struct video_frame *vf, void *arg)
{
	struct grab *g = arg;
	int i;

	if (vf->drop != NULL)
		return 0;
	if (vf->t >= g->end)
		return 1;
	for (i = 0; i < g->nwin; i++)
		if (vf->t > g->win[2 * i] && vf->t < g->win[2 * i + 1])
			break;
	if (i == g->nwin)
		return 0;
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->f = pm_reallocarray(g->f, (size_t)g->cap, sizeof *g->f);
	}
	g->f[g->n].t = vf->t;
	g->f[g->n].jpeg = pm_malloc(vf->len);
	memcpy(g->f[g->n].jpeg, vf->jpeg, vf->len);
	g->f[g->n].len = vf->len;
	g->n++;
	return 0;
}

int
refine_kp(const struct refine_frame *f, const struct refine_opts *o,
    const double rect[4], void **blob, size_t *len)
{
	int nkp;

	return cv_kp_extract_in(f->jpeg, f->len, &o->kp, rect, blob, len,
	    &nkp);
}

int
refine_frames(struct store *st, const char *blob, const double *win,
    int nwin, const struct refine_opts *o, struct refine_frame **out,
    int *n)
{
	struct video_opts vo;
	struct video_stats vs;
	struct video *v;
	struct grab g;
	void *mem = NULL;
	size_t len;
	char *path;
	int raw, i, r;

	*out = NULL;
	*n = 0;
	memset(&g, 0, sizeof g);
	g.win = win;
	g.nwin = nwin;
	for (i = 0; i < nwin; i++)
		if (win[2 * i + 1] > g.end)
			g.end = win[2 * i + 1];
	if ((path = store_path(st, blob, &raw)) == NULL)
		return -1;
	if (raw)
		v = video_open(path);
	else if (store_get(st, blob, &mem, &len) == -1)
		v = NULL;
	else
		v = video_open_mem(mem, len);
	free(path);
	if (v == NULL) {
		free(mem);
		return -1;
	}
	video_opts_init(&vo);
	vo.mode = VIDEO_RATE;
	vo.fps = o->fps;
	vo.maxside = o->maxside;
	vo.quality = 95;
	vo.threads = o->threads;
	vo.win = win;
	vo.nwin = nwin;
	r = video_sample(v, &vo, grab, &g, &vs);
	video_close(v);
	free(mem);
	if (r == -1) {
		refine_frames_free(g.f, g.n);
		return -1;
	}
	*out = g.f;
	*n = g.n;
	return 0;
}

void
refine_frames_free(struct refine_frame *f, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(f[i].jpeg);
	free(f);
}
