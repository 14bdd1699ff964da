/*
 * Unit tests for video.c: the perceptual hash and the sharpness measure
 * on images made here, and probing, opening from memory, sampling,
 * stopping, JPEG sizes and raw pictures on the real clip
 * t/data/cockatoo.mp4, turned by its metadata too (the
 * sampling modes and bad inputs are tested through pm-frames in
 * t/t2000-frames.sh).
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>

#include "cv.h"
#include "err.h"
#include "video.h"
/* tap.h as it stands: a slash-star in a comment, helpers left unused. */
#pragma GCC diagnostic ignored "-Wcomment"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tap.h"

#define W 160
#define H 120

/* A picture with structure at several scales. */
static void
picture(uint8_t *p, int shift)
{
	int x, y;

	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			p[y * W + x] = (uint8_t)(100 + 40 * sin((x + shift) /
			    9.0) + 30 * cos(y / 7.0) +
			    ((((x + shift) / 20) + (y / 20)) % 2 ? 40 : 0));
}

static int
dist(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}

/* Decode a JPEG and return its size through *w, *h. */
static int
jpeg_size(const uint8_t *p, size_t n, int *w, int *h)
{
	const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *d = avcodec_alloc_context3(c);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int r = -1;

	if (d == NULL || pkt == NULL || f == NULL ||
	    avcodec_open2(d, c, NULL) < 0)
		goto out;
	pkt->data = (uint8_t *)p;
	pkt->size = (int)n;
	if (avcodec_send_packet(d, pkt) < 0 ||
	    avcodec_receive_frame(d, f) < 0)
		goto out;
	*w = f->width;
	*h = f->height;
	r = 0;
out:
	pkt->data = NULL;
	pkt->size = 0;
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&d);
	return r;
}

struct got {
	int	 n, stop_after, bad;
	double	 t[64];
	size_t	 len[64];
	uint8_t	*first;
	size_t	 firstlen;
};

static int
collect(const struct video_frame *vf, void *arg)
{
	struct got *g = arg;
	int w, h;

	if (vf->drop != NULL)
		return 0;
	if (jpeg_size(vf->jpeg, vf->len, &w, &h) == -1 || w != vf->w ||
	    h != vf->h) {
		diag("frame at %.3f: JPEG is not %dx%d", vf->t, vf->w, vf->h);
		g->bad++;
	}
	if (g->n < 64) {
		g->t[g->n] = vf->t;
		g->len[g->n] = vf->len;
	}
	if (g->n == 0) {
		g->first = malloc(vf->len);
		memcpy(g->first, vf->jpeg, vf->len);
		g->firstlen = vf->len;
	}
	g->n++;
	return g->stop_after > 0 && g->n >= g->stop_after ? 1 : 0;
}

/* The first kept frame as BGR pixels, from its JPEG or raw. */
struct first {
	uint8_t	*pix;
	int	 w, h, n, bad;
};

static int
first_bgr(const struct video_frame *vf, void *arg)
{
	struct first *fb = arg;
	unsigned char *p;
	int w, h, y;

	if (vf->drop != NULL)
		return 0;
	if (vf->pix != NULL) {
		if (vf->jpeg != NULL || vf->stride < (ptrdiff_t)vf->w * 3)
			fb->bad++;
		fb->pix = malloc((size_t)vf->w * vf->h * 3);
		for (y = 0; y < vf->h; y++)
			memcpy(fb->pix + (size_t)y * vf->w * 3,
			    vf->pix + y * vf->stride, (size_t)vf->w * 3);
	} else if (cv_image_decode(vf->jpeg, vf->len, 3, &p, &w, &h) == 0 &&
	    w == vf->w && h == vf->h)
		fb->pix = p;
	else
		fb->bad++;
	fb->w = vf->w;
	fb->h = vf->h;
	fb->n++;
	return 1;
}

/* The first keyframe of clip, capped at maxside, raw or as a JPEG of
 * quality 100; 0 if it came. */
static int
first_frame(const char *clip, int raw, int maxside, struct first *fb)
{
	struct video_opts o;
	struct video_stats st;
	struct video *v;
	int r;

	memset(fb, 0, sizeof *fb);
	video_opts_init(&o);
	o.raw = raw;
	o.maxside = maxside;
	o.quality = 100;
	if ((v = video_open(clip)) == NULL)
		return -1;
	r = video_sample(v, &o, first_bgr, fb, &st);
	video_close(v);
	return r == 0 && fb->n == 1 && fb->bad == 0 && fb->pix != NULL ?
	    0 : -1;
}

/* The mean absolute difference of two pictures of the same size. */
static double
mad(const struct first *a, const struct first *b)
{
	size_t i, n = (size_t)a->w * a->h * 3;
	double s = 0;

	for (i = 0; i < n; i++)
		s += abs(a->pix[i] - b->pix[i]);
	return s / n;
}

static int
sample(struct video *v, struct video_opts *o, struct got *g,
    struct video_stats *st)
{
	int r;

	r = video_sample(v, o, collect, g, st);
	if (r == -1)
		diag("video_sample: %s", pm_why());
	return r;
}

static char *
read_file(const char *path, size_t *n)
{
	struct stat sb;
	char *p;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &sb) == -1)
		return NULL;
	p = malloc((size_t)sb.st_size);
	*n = (size_t)read(fd, p, (size_t)sb.st_size);
	close(fd);
	return p;
}

int
main(void)
{
	static uint8_t a[W * H], b[W * H], c[W * H];
	char clip[4096], tmp[] = "/tmp/pm-unit-video.XXXXXX", path[4200];
	const char *data = getenv("TEST_DATA");
	struct video_info vi, vm;
	struct video_opts o;
	struct video_stats st;
	struct video *v;
	struct got g, gm;
	uint64_t ha, hb, hc;
	double sa, sb2;
	char *mem;
	size_t n;
	int i, x, y, fd;

	pm_init("unit-video");
	tap_plan(25);

	/* The hash: stable under noise and brightness, not under change. */
	picture(a, 0);
	for (i = 0; i < W * H; i++)
		b[i] = (uint8_t)(a[i] + 25 + (i * 7919 % 5) - 2);
	picture(c, 40);
	ha = video_phash(a, W, H, W);
	hb = video_phash(b, W, H, W);
	hc = video_phash(c, W, H, W);
	ok(dist(ha, hb) <= 2, "hash: brighter and noisier, distance %d",
	    dist(ha, hb));
	ok(dist(ha, hc) >= 12, "hash: another picture, distance %d",
	    dist(ha, hc));

	/* Sharpness: a box blur lowers it; a flat picture has none. */
	for (y = 1; y < H - 1; y++)
		for (x = 1; x < W - 1; x++) {
			int s = 0, dx, dy;

			for (dy = -1; dy <= 1; dy++)
				for (dx = -1; dx <= 1; dx++)
					s += a[(y + dy) * W + x + dx];
			c[y * W + x] = (uint8_t)(s / 9);
		}
	sa = video_sharpness(a, W, H, W);
	sb2 = video_sharpness(c + W + 1, W - 2, H - 2, W);
	ok(sb2 < sa / 4, "sharpness: blurred %.1f, sharp %.1f", sb2, sa);
	memset(c, 77, sizeof c);
	ok(video_sharpness(c, W, H, W) == 0, "sharpness: flat picture is 0");

	/* Probing the real clip. */
	snprintf(clip, sizeof clip, "%s/cockatoo.mp4", data ? data : "t/data");
	if (video_probe(clip, &vi) == -1) {
		diag("%s: %s", clip, pm_why());
		memset(&vi, 0, sizeof vi);
	}
	ok(vi.w == 1280 && vi.h == 720, "probe: size %dx%d", vi.w, vi.h);
	ok(fabs(vi.fps - 20) < 1e-9 && fabs(vi.duration - 14) < 1e-6,
	    "probe: %.3f fps, %.3f s", vi.fps, vi.duration);
	ok(strcmp(vi.codec, "h264") == 0 && vi.rotation == 0,
	    "probe: codec %s, rotation %d", vi.codec, vi.rotation);

	/* Keyframes from the file: the times ffprobe gives. */
	memset(&g, 0, sizeof g);
	video_opts_init(&o);
	v = video_open(clip);
	i = v != NULL ? sample(v, &o, &g, &st) : -1;
	ok(i == 0 && g.n == 3 && g.t[0] == 0 && fabs(g.t[1] - 3.8) < 1e-9 &&
	    fabs(g.t[2] - 7.25) < 1e-9, "keyframes at 0, 3.8, 7.25 (%d)", g.n);
	ok(st.decoded == 3 && st.kept == 3 && st.errors == 0,
	    "keyframes: 3 decoded, none damaged (%ld, %ld)", st.decoded,
	    st.errors);
	ok(v != NULL && sample(v, &o, &g, &st) == -1,
	    "a second video_sample() fails");
	video_close(v);

	/* The same bytes from memory: the same info, the same JPEGs. */
	memset(&gm, 0, sizeof gm);
	mem = read_file(clip, &n);
	v = mem ? video_open_mem(mem, n) : NULL;
	if (v != NULL)
		video_info(v, &vm);
	ok(v != NULL && vm.w == vi.w && vm.h == vi.h &&
	    vm.duration == vi.duration, "memory: same info");
	ok(v != NULL && sample(v, &o, &gm, &st) == 0 && gm.n == g.n &&
	    gm.firstlen == g.firstlen &&
	    memcmp(gm.first, g.first, g.firstlen) == 0,
	    "memory: same frames, same JPEG bytes");
	video_close(v);
	free(mem);
	free(gm.first);
	free(g.first);

	/* Rate, stopped by the callback; capped by max. */
	memset(&g, 0, sizeof g);
	g.stop_after = 2;
	o.mode = VIDEO_RATE;
	o.fps = 2;
	v = video_open(clip);
	ok(v != NULL && sample(v, &o, &g, &st) == 0 && g.n == 2 &&
	    fabs(g.t[1] - 0.5) < 1e-9 && !st.capped,
	    "rate 2: stopped by the callback after 0, 0.5");
	video_close(v);
	free(g.first);
	memset(&g, 0, sizeof g);
	o.max = 5;
	v = video_open(clip);
	ok(v != NULL && sample(v, &o, &g, &st) == 0 && g.n == 5 &&
	    st.capped && fabs(g.t[4] - 2) < 1e-9, "rate 2: capped at 5");
	video_close(v);
	free(g.first);

	/* Rate within windows: the frames of rate 2 inside them. */
	{
		const double win[] = { 0.2, 1.1, 1.9, 2.6 };

		memset(&g, 0, sizeof g);
		o.max = 0;
		o.win = win;
		o.nwin = 2;
		v = video_open(clip);
		ok(v != NULL && sample(v, &o, &g, &st) == 0 && g.n == 4 &&
		    fabs(g.t[0] - 0.5) < 1e-9 && fabs(g.t[1] - 1) < 1e-9 &&
		    fabs(g.t[2] - 2) < 1e-9 && fabs(g.t[3] - 2.5) < 1e-9 &&
		    st.sampled == 4, "rate 2 within 0.2-1.1 and 1.9-2.6: "
		    "0.5, 1, 2, 2.5");
		/* the GOP from 3.8 s on holds no window: not decoded */
		ok(st.decoded > 0 && st.decoded <= 76, "... %ld frames "
		    "decoded, none after 3.8 s", st.decoded);
		video_close(v);
		free(g.first);
		o.win = NULL;
		o.nwin = 0;
	}

	/* An odd cap on the longer side: the JPEGs decode to that size. */
	memset(&g, 0, sizeof g);
	o.max = 0;
	o.mode = VIDEO_KEY;
	o.maxside = 333;
	o.quality = 50;
	v = video_open(clip);
	ok(v != NULL && sample(v, &o, &g, &st) == 0 && g.n == 3 &&
	    g.bad == 0, "maxside 333: 333x187 JPEGs decode to their size");
	video_close(v);
	ok(g.len[0] < 20000, "quality 50 at 333x187: %zu bytes", g.len[0]);
	free(g.first);

	/* Not videos. */
	if ((fd = mkstemp(tmp)) == -1) {
		perror(tmp);
		return 1;
	}
	ok(video_probe(tmp, &vi) == -1 && strstr(pm_why(), "empty") != NULL,
	    "empty file: %s", pm_why());
	if (write(fd, "just some words\n", 16) != 16)
		perror(tmp);
	ok(video_probe(tmp, &vi) == -1 &&
	    strstr(pm_why(), "not a video") != NULL, "text: %s", pm_why());
	close(fd);
	unlink(tmp);
	ok(video_open_mem("", 0) == NULL && strstr(pm_why(), "empty"),
	    "empty memory: %s", pm_why());
	snprintf(path, sizeof path, "%s.missing", tmp);
	ok(video_probe(path, &vi) == -1 && strstr(pm_why(), "No such"),
	    "missing file: %s", pm_why());
	ok(video_open_mem("0123456789abcdef", 16) == NULL &&
	    strstr(pm_why(), "not a video"), "garbage in memory: %s",
	    pm_why());

	/* Raw pictures: the JPEG's pixels, upright. */
	{
		struct first fr, fj;
		char rot[64], cmd[8400];
		int r;

		r = first_frame(clip, 1, 333, &fr) == 0 &&
		    first_frame(clip, 0, 333, &fj) == 0;
		ok(r && fr.w == 333 && fr.h == 187 && fj.w == 333 &&
		    mad(&fr, &fj) < 2, "raw: 333x187 BGR, the JPEG's within "
		    "%.2f a level", r ? mad(&fr, &fj) : -1);
		free(fr.pix);
		free(fj.pix);
		snprintf(rot, sizeof rot, "%s.rot.mp4", tmp);
		snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -i "
		    "'%s' -t 1 -an -c copy -metadata:s:v rotate=90 '%s'", clip,
		    rot);
		if (system("command -v ffmpeg >/dev/null") != 0 ||
		    system(cmd) != 0)
			skip("ffmpeg is needed to turn the clip");
		else {
			r = first_frame(rot, 1, 0, &fr) == 0 &&
			    first_frame(rot, 0, 0, &fj) == 0;
			ok(r && fr.w == 720 && fr.h == 1280 && fj.w == 720 &&
			    mad(&fr, &fj) < 2, "raw, turned 90 degrees: "
			    "720x1280, the JPEG's within %.2f a level",
			    r ? mad(&fr, &fj) : -1);
			free(fr.pix);
			free(fj.pix);
			unlink(rot);
		}
	}

	return tap_done();
}
