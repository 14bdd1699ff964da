/*
 * video.c: open videos with libavformat, decode them with libavcodec,
 * sample frames and encode the kept ones as JPEG (mjpeg encoder), see
 * video.h.
 *
 * The decoder is told to skip what the sampling mode does not need:
 * non-key frames in keyframe mode; in rate mode, non-reference frames
 * that cannot be the first frame after a sampling instant, and the
 * packets of a GOP after the last one that can be are not sent at all.
 * Packets are read one at a time and at most a GOP of them is held, so
 * memory does not grow with the video.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/cpu.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "err.h"
#include "video.h"

#define IOBUF		65536
#define EPS		1e-6	/* seconds: timestamps are microsecond-exact */
#define ANALYSIS	256	/* longer side of the image for blur and hash */
#define SCENESIDE	64	/* longer side of the image for scene scores */
#define PTSRING		16	/* packets remembered for rate sampling */
#define QLEN		4	/* frames waiting to be encoded */
#define GOPMAX		2048	/* packets of a GOP held in rate sampling */
#define GOPBYTES	(64 << 20)	/* and their bytes */

#define MAGIC		0x766964656f706d31ULL	/* "videopm1" */

struct video {
	uint64_t	 magic;		/* MAGIC: opaque pointers are ours */
	AVFormatContext	*fmt;
	AVIOContext	*pb;
	int		 mempb;		/* pb reads mem, not a file */
	const uint8_t	*mem;
	size_t		 memlen;
	int64_t		 memoff;
	AVStream	*st;
	int		 used;		/* video_sample() was called */
	int		 rot;		/* clockwise degrees to turn upright */
	AVRational	 sar;
	int64_t		 start;		/* in the stream's time base */
	double		 startsec;	/* file start, when not in st's base */
	int		 startexact;	/* start is the stream's own */
	struct video_info info;

	/* Errors libav logs about this video, from any thread. */
	pthread_mutex_t	 mu;
	long		 nlog;
	char		 log[200];
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int active;	/* videos being decoded in this process */
static int avdebug;

/*
 * libav's messages go to the video they are about: counted and the
 * first kept, so a diagnostic can say what went wrong.  They are not
 * printed, unless PM_AVLOG is set in the environment.
 */
static void
avlog(void *avcl, int level, const char *fmt, va_list ap)
{
	const AVClass *c;
	struct video *v = NULL;
	va_list aq;
	size_t n;

	if (avdebug) {
		va_copy(aq, ap);
		av_log_default_callback(avcl, level, fmt, aq);
		va_end(aq);
	}
	if (level > AV_LOG_ERROR || avcl == NULL)
		return;
	c = *(const AVClass **)avcl;
	if (c == NULL)
		return;
	if (strcmp(c->class_name, "AVCodecContext") == 0)
		v = ((AVCodecContext *)avcl)->opaque;
	else if (strcmp(c->class_name, "AVFormatContext") == 0)
		v = ((AVFormatContext *)avcl)->opaque;
	if (v == NULL || v->magic != MAGIC)
		return;
	pthread_mutex_lock(&v->mu);
	if (v->nlog++ == 0) {
		vsnprintf(v->log, sizeof v->log, fmt, ap);
		n = strlen(v->log);
		while (n > 0 && (v->log[n - 1] == '\n' || v->log[n - 1] == ' '))
			v->log[--n] = '\0';
	}
	pthread_mutex_unlock(&v->mu);
}

static void
video_once(void)
{
	const char *s = getenv("PM_AVLOG");

	avdebug = s != NULL && *s != '\0';
	if (avdebug)
		av_log_set_level(AV_LOG_VERBOSE);
	av_log_set_callback(avlog);
}

static const char *
averr(int e)
{
	static _Thread_local char buf[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(e, buf, sizeof buf);
	return buf;
}

static int
mem_read(void *opaque, uint8_t *buf, int size)
{
	struct video *v = opaque;
	size_t left;

	if (v->memoff >= (int64_t)v->memlen)
		return AVERROR_EOF;
	left = v->memlen - (size_t)v->memoff;
	if ((size_t)size > left)
		size = (int)left;
	memcpy(buf, v->mem + v->memoff, (size_t)size);
	v->memoff += size;
	return size;
}

static int64_t
mem_seek(void *opaque, int64_t off, int whence)
{
	struct video *v = opaque;

	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE:
		return (int64_t)v->memlen;
	case SEEK_SET:
		break;
	case SEEK_CUR:
		off += v->memoff;
		break;
	case SEEK_END:
		off += (int64_t)v->memlen;
		break;
	default:
		return AVERROR(EINVAL);
	}
	if (off < 0 || off > (int64_t)v->memlen)
		return AVERROR(EINVAL);
	v->memoff = off;
	return off;
}

/*
 * Formats that are not videos, or that would make libavformat open
 * other files or URLs named inside the input (playlists).
 */
static const char *
refused(const AVInputFormat *f)
{
	static const char *const list[] = {
		"concat", "dash", "ffmetadata", "hls", "image2",
		"image2pipe", "imf", "lavfi", "sdp", "tty",
		"webm_dash_manifest"
	};
	size_t i, n = strlen(f->name);

	if (n > 5 && strcmp(f->name + n - 5, "_pipe") == 0)
		return "a still image";
	for (i = 0; i < sizeof list / sizeof list[0]; i++)
		if (strcmp(f->name, list[i]) == 0)
			return strncmp(f->name, "image", 5) == 0 ?
			    "a still image" : f->long_name;
	return NULL;
}

/* Degrees clockwise that turn the stream's pictures upright. */
static int
rotation(const AVStream *st)
{
	const uint8_t *sd;
	size_t n = 0;
	double a;
	int d;

	sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &n);
	if (sd == NULL || n < 9 * sizeof(int32_t))
		return 0;
	a = -av_display_rotation_get((const int32_t *)sd);
	if (isnan(a))
		return 0;
	d = (int)lround(a / 90) * 90 % 360;
	return d < 0 ? d + 360 : d;
}

/* The displayed size of a w x h picture: aspect ratio, then rotation. */
static void
display_size(const struct video *v, int w, int h, int *dw, int *dh)
{
	int x = w;

	if (v->sar.num != v->sar.den)
		x = 2 * (int)lround(w * av_q2d(v->sar) / 2);
	if (x < 1)
		x = 1;
	if (v->rot == 90 || v->rot == 270) {
		*dw = h;
		*dh = x;
	} else {
		*dw = x;
		*dh = h;
	}
}

static void
fill_info(struct video *v)
{
	struct video_info *vi = &v->info;
	AVStream *st = v->st;
	AVRational r;
	double tb = av_q2d(st->time_base);

	memset(vi, 0, sizeof *vi);
	v->rot = rotation(st);
	v->sar = av_guess_sample_aspect_ratio(v->fmt, st, NULL);
	if (v->sar.num <= 0 || v->sar.den <= 0)
		v->sar = (AVRational){ 1, 1 };
	display_size(v, st->codecpar->width, st->codecpar->height,
	    &vi->w, &vi->h);
	vi->rotation = v->rot;

	/*
	 * Times count from the file's start.  When that is the video
	 * stream's own start, subtract in the stream's time base so t is
	 * exact; else in seconds.
	 */
	v->start = st->start_time;
	v->startsec = 0;
	v->startexact = 0;
	if (v->fmt->start_time != AV_NOPTS_VALUE) {
		v->startsec = v->fmt->start_time / (double)AV_TIME_BASE;
		if (st->start_time != AV_NOPTS_VALUE &&
		    av_rescale_q(st->start_time, st->time_base,
		    AV_TIME_BASE_Q) == v->fmt->start_time)
			v->startexact = 1;
	} else if (st->start_time != AV_NOPTS_VALUE) {
		v->startsec = st->start_time * tb;
		v->startexact = 1;
	}
	vi->start = v->startsec;

	r = st->avg_frame_rate;
	if (r.num <= 0 || r.den <= 0)
		r = st->r_frame_rate;
	if (r.num > 0 && r.den > 0)
		vi->fps = av_q2d(r);
	if (v->fmt->duration > 0)
		vi->duration = v->fmt->duration / (double)AV_TIME_BASE;
	else if (st->duration > 0)
		vi->duration = st->duration * tb;
	vi->frames = st->nb_frames > 0 ? st->nb_frames : 0;
	snprintf(vi->codec, sizeof vi->codec, "%s",
	    avcodec_get_name(st->codecpar->codec_id));
	snprintf(vi->format, sizeof vi->format, "%s", v->fmt->iformat->name);
}

/* Seconds from the file's start of a timestamp in the stream's base. */
static double
rel_time(const struct video *v, int64_t ts)
{
	if (v->startexact)
		return (ts - v->start) * av_q2d(v->st->time_base);
	return ts * av_q2d(v->st->time_base) - v->startsec;
}

/* A file of a known format that does not open: say what libav said. */
static int
unreadable(struct video *v, const AVInputFormat *f, int r)
{
	size_t n = strcspn(f->name, ",");

	if (v->nlog > 0)
		return pm_fail("cannot read %.*s: %s", (int)n, f->name, v->log);
	return pm_fail("cannot read %.*s: %s", (int)n, f->name, averr(r));
}

static int
open_input(struct video *v, const char *path)
{
	const AVInputFormat *ifmt = NULL;
	AVDictionary *opt = NULL;
	uint8_t *buf;
	const char *why, *url = path ? path : "";
	char *file;
	struct stat sb;
	int i, r, best;

	if (path != NULL) {
		if (stat(path, &sb) == -1)
			return pm_fail("%s:", path);
		if (S_ISREG(sb.st_mode) && sb.st_size == 0)
			return pm_fail("not a video: empty file");
		/* "file:" so that a colon in a path names no protocol. */
		file = pm_asprintf("file:%s", path);
		av_dict_set(&opt, "protocol_whitelist", "file", 0);
		r = avio_open2(&v->pb, file, AVIO_FLAG_READ, NULL, &opt);
		av_dict_free(&opt);
		free(file);
		if (r < 0)
			return pm_fail("%s: %s", path, averr(r));
	} else {
		if (v->memlen == 0)
			return pm_fail("not a video: empty file");
		buf = av_malloc(IOBUF);
		if (buf == NULL)
			return pm_fail("out of memory");
		v->pb = avio_alloc_context(buf, IOBUF, 0, v, mem_read, NULL,
		    mem_seek);
		if (v->pb == NULL) {
			av_free(buf);
			return pm_fail("out of memory");
		}
		v->mempb = 1;
	}

	v->fmt = avformat_alloc_context();
	if (v->fmt == NULL)
		return pm_fail("out of memory");
	v->fmt->pb = v->pb;
	v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	v->fmt->opaque = v;

	/* Know the format before it reads anything else. */
	r = av_probe_input_buffer2(v->pb, &ifmt, url, v->fmt, 0, 0);
	if (r < 0)
		return pm_fail("not a video: %s", r == AVERROR_INVALIDDATA ?
		    "unknown format" : averr(r));
	if ((why = refused(ifmt)) != NULL)
		return pm_fail("not a video: %s", why);
	av_dict_set(&opt, "protocol_whitelist", "file", 0);
	r = avformat_open_input(&v->fmt, url, ifmt, &opt);
	av_dict_free(&opt);
	if (r < 0)	/* v->fmt is freed and NULL */
		return unreadable(v, ifmt, r);
	r = avformat_find_stream_info(v->fmt, NULL);
	if (r < 0)
		return unreadable(v, ifmt, r);

	best = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL,
	    0);
	if (best >= 0 && (v->fmt->streams[best]->disposition &
	    AV_DISPOSITION_ATTACHED_PIC)) {
		best = -1;
		for (i = 0; i < (int)v->fmt->nb_streams; i++) {
			AVStream *s = v->fmt->streams[i];

			if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
			    !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
				best = i;
				break;
			}
		}
		if (best < 0)
			return pm_fail("not a video: only a cover picture");
	}
	if (best < 0)
		return pm_fail("not a video: no video stream");
	v->st = v->fmt->streams[best];
	if (v->st->codecpar->width <= 0 || v->st->codecpar->height <= 0)
		return pm_fail("not a video: the video stream has no size");
	if (avcodec_find_decoder(v->st->codecpar->codec_id) == NULL)
		return pm_fail("no decoder for %s",
		    avcodec_get_name(v->st->codecpar->codec_id));
	for (i = 0; i < (int)v->fmt->nb_streams; i++)
		if (i != best)
			v->fmt->streams[i]->discard = AVDISCARD_ALL;
	fill_info(v);
	return 0;
}

static struct video *
video_new(void)
{
	struct video *v;

	pthread_once(&once, video_once);
	v = pm_calloc(1, sizeof *v);
	v->magic = MAGIC;
	pthread_mutex_init(&v->mu, NULL);
	return v;
}

struct video *
video_open(const char *path)
{
	struct video *v = video_new();

	if (open_input(v, path) == -1) {
		video_close(v);
		return NULL;
	}
	return v;
}

struct video *
video_open_mem(const void *p, size_t n)
{
	struct video *v = video_new();

	v->mem = p;
	v->memlen = n;
	if (open_input(v, NULL) == -1) {
		video_close(v);
		return NULL;
	}
	return v;
}

void
video_close(struct video *v)
{
	if (v == NULL)
		return;
	if (v->fmt != NULL)
		avformat_close_input(&v->fmt);
	if (v->pb != NULL) {
		if (v->mempb) {
			av_freep(&v->pb->buffer);
			avio_context_free(&v->pb);
		} else
			avio_closep(&v->pb);
	}
	pthread_mutex_destroy(&v->mu);
	v->magic = 0;
	free(v);
}

void
video_info(const struct video *v, struct video_info *vi)
{
	*vi = v->info;
}

int
video_probe(const char *path, struct video_info *vi)
{
	struct video *v;

	if ((v = video_open(path)) == NULL)
		return -1;
	video_info(v, vi);
	video_close(v);
	return 0;
}

void
video_opts_init(struct video_opts *o)
{
	memset(o, 0, sizeof *o);
	o->mode = VIDEO_KEY;
	o->fps = 1;
	o->scene = 0.3;
	o->quality = 90;
}

/*
 * Gray images for analysis: the luma plane, averaged over boxes down to
 * ow x oh.  Formats without an 8-bit luma plane go through swscale.
 */
struct gray {
	uint8_t		*p;
	int		 w, h;
	uint32_t	*acc;
	int		*xb;
	struct SwsContext *sws;
};

static void
gray_free(struct gray *g)
{
	free(g->p);
	free(g->acc);
	free(g->xb);
	sws_freeContext(g->sws);
	memset(g, 0, sizeof *g);
}

static void
fit(int w, int h, int side, int *ow, int *oh)
{
	if (w <= side && h <= side) {
		*ow = w;
		*oh = h;
	} else if (w >= h) {
		*ow = side;
		*oh = (int)((int64_t)h * side / w);
	} else {
		*oh = side;
		*ow = (int)((int64_t)w * side / h);
	}
	if (*ow < 1)
		*ow = 1;
	if (*oh < 1)
		*oh = 1;
}

/*
 * Box-average an 8-bit plane w x h into g's ow x oh, reading every
 * step-th pixel of every step-th row.
 */
static void
box_reduce(struct gray *g, const uint8_t *src, int w, int h, ptrdiff_t ls,
    int step)
{
	int x, y, ox, oy, x0, x1, y0, y1, nx, ny;

	for (ox = 0; ox <= g->w; ox++)
		g->xb[ox] = (int)((int64_t)ox * w / g->w);
	for (oy = 0; oy < g->h; oy++) {
		y0 = (int)((int64_t)oy * h / g->h);
		y1 = (int)((int64_t)(oy + 1) * h / g->h);
		if (y1 <= y0)
			y1 = y0 + 1;
		memset(g->acc, 0, sizeof *g->acc * (size_t)g->w);
		for (y = y0; y < y1; y += step) {
			const uint8_t *row = src + y * ls;

			for (ox = 0; ox < g->w; ox++) {
				uint32_t sum = 0;

				x0 = g->xb[ox];
				x1 = g->xb[ox + 1] > x0 ? g->xb[ox + 1] : x0 + 1;
				for (x = x0; x < x1; x += step)
					sum += row[x];
				g->acc[ox] += sum;
			}
		}
		ny = (y1 - y0 + step - 1) / step;
		for (ox = 0; ox < g->w; ox++) {
			x0 = g->xb[ox];
			x1 = g->xb[ox + 1] > x0 ? g->xb[ox + 1] : x0 + 1;
			nx = (x1 - x0 + step - 1) / step;
			g->p[oy * g->w + ox] = (uint8_t)((g->acc[ox] +
			    (uint32_t)(nx * ny) / 2) / (uint32_t)(nx * ny));
		}
	}
}

/*
 * The luma of f reduced to at most side pixels on its longer side, in
 * g; sparse reads a sample of each box, enough for scene scores.
 */
static int
gray_from(struct gray *g, const AVFrame *f, int side, int sparse)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	int ow, oh, step = 1;

	fit(f->width, f->height, side, &ow, &oh);
	if (g->p == NULL || ow != g->w || oh != g->h) {
		free(g->p);
		free(g->acc);
		free(g->xb);
		g->w = ow;
		g->h = oh;
		g->p = pm_malloc((size_t)ow * (size_t)oh);
		g->acc = pm_calloc((size_t)ow, sizeof *g->acc);
		g->xb = pm_calloc((size_t)ow + 1, sizeof *g->xb);
	}
	if (d != NULL && !(d->flags & (AV_PIX_FMT_FLAG_RGB |
	    AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BE |
	    AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM)) &&
	    d->comp[0].plane == 0 && d->comp[0].depth == 8 &&
	    d->comp[0].step == 1 && d->comp[0].offset == 0 &&
	    d->comp[0].shift == 0) {
		if (sparse) {
			step = (f->width / ow < f->height / oh ?
			    f->width / ow : f->height / oh) / 4;
			if (step < 1)
				step = 1;
		}
		box_reduce(g, f->data[0], f->width, f->height,
		    f->linesize[0], step);
		return 0;
	} else {
		uint8_t *dst[4] = { g->p };
		int dls[4] = { g->w };

		g->sws = sws_getCachedContext(g->sws, f->width, f->height,
		    f->format, g->w, g->h, AV_PIX_FMT_GRAY8, SWS_AREA,
		    NULL, NULL, NULL);
		if (g->sws == NULL)
			return pm_fail("cannot convert from %s",
			    av_get_pix_fmt_name(f->format));
		sws_scale(g->sws, (const uint8_t *const *)f->data,
		    f->linesize, 0, f->height, dst, dls);
		return 0;
	}
}

uint64_t
video_phash(const uint8_t *gray, int w, int h, ptrdiff_t stride)
{
	struct gray g = { 0 };
	uint8_t small[32 * 32];
	uint32_t acc[32];
	int xb[33];
	double cosv[8][32], tmp[8][32], c[64], sorted[63], med;
	uint64_t hash = 0;
	int u, v, x, y, i, j, n;

	for (u = 0; u < 8; u++)
		for (x = 0; x < 32; x++)
			cosv[u][x] = cos(M_PI * (2 * x + 1) * u / 64.0);
	g.p = small;
	g.w = g.h = 32;
	g.acc = acc;
	g.xb = xb;
	box_reduce(&g, gray, w, h, stride, 1);

	/* A DCT-II, rows then columns, of the 8x8 lowest frequencies. */
	for (u = 0; u < 8; u++)
		for (y = 0; y < 32; y++) {
			double s = 0;

			for (x = 0; x < 32; x++)
				s += small[y * 32 + x] * cosv[u][x];
			tmp[u][y] = s;
		}
	for (v = 0; v < 8; v++)
		for (u = 0; u < 8; u++) {
			double s = 0;

			for (y = 0; y < 32; y++)
				s += tmp[u][y] * cosv[v][y];
			c[v * 8 + u] = s;
		}

	/* One bit per AC coefficient: is it above their median? */
	for (n = 0, i = 1; i < 64; i++, n++) {
		for (j = n; j > 0 && sorted[j - 1] > c[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = c[i];
	}
	med = sorted[31];
	for (i = 1; i < 64; i++)
		if (c[i] > med)
			hash |= (uint64_t)1 << i;
	return hash;
}

double
video_sharpness(const uint8_t *gray, int w, int h, ptrdiff_t stride)
{
	double s = 0, s2 = 0, n;
	int x, y;

	if (w < 3 || h < 3)
		return 0;
	for (y = 1; y < h - 1; y++) {
		const uint8_t *p = gray + y * stride;

		for (x = 1; x < w - 1; x++) {
			int l = p[x - 1] + p[x + 1] + p[x - stride] +
			    p[x + stride] - 4 * p[x];

			s += l;
			s2 += (double)l * l;
		}
	}
	n = (double)(w - 2) * (h - 2);
	return s2 / n - (s / n) * (s / n);
}

/*
 * JPEG encoding of kept frames: swscale to full-range 4:2:0 at the
 * output size, turn upright, mjpeg.
 */
struct jpeg {
	struct SwsContext *sws;
	AVCodecContext	*enc;
	AVFrame		*yuv, *up;
	AVPacket	*pkt;
	int		 sw, sh;	/* scaled, before rotation */
	int		 w, h;		/* upright */
};

static void
jpeg_free(struct jpeg *j)
{
	sws_freeContext(j->sws);
	avcodec_free_context(&j->enc);
	av_frame_free(&j->yuv);
	av_frame_free(&j->up);
	av_packet_free(&j->pkt);
	memset(j, 0, sizeof *j);
}

/*
 * mjpeg quantises with MPEG-1's intra matrix times qscale/8, about
 * libjpeg's table at quality 50 when qscale is 8 (the same PSNR on a
 * 720p frame); libjpeg scales its table by 5000/q percent below quality
 * 50 and by 200-2q above.  The integer qscale is coarse at the top:
 * quality 90 gives qscale 2, about libjpeg's 85.
 */
static int
qscale(int quality)
{
	double s = quality < 50 ? 5000.0 / quality : 200.0 - 2 * quality;
	long q = lround(8 * s / 100);

	return q < 1 ? 1 : q > 31 ? 31 : (int)q;
}

static AVFrame *
yuv_frame(int w, int h)
{
	AVFrame *f = av_frame_alloc();

	if (f == NULL)
		return NULL;
	f->format = AV_PIX_FMT_YUVJ420P;
	f->width = w;
	f->height = h;
	f->color_range = AVCOL_RANGE_JPEG;
	if (av_frame_get_buffer(f, 0) < 0)
		av_frame_free(&f);
	return f;
}

/* Turn plane s (w x h pixels of ps bytes) by rot degrees clockwise into
 * d. */
static void
turn(uint8_t *d, ptrdiff_t dls, const uint8_t *s, ptrdiff_t sls, int w,
    int h, int ps, int rot)
{
	int x, y, k;

	switch (rot) {
	case 90:	/* d is h x w; d(x, y) = s(y, h-1-x) */
		for (y = 0; y < w; y++)
			for (x = 0; x < h; x++)
				for (k = 0; k < ps; k++)
					d[y * dls + x * ps + k] =
					    s[(h - 1 - x) * sls + y * ps + k];
		break;
	case 180:
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++)
				for (k = 0; k < ps; k++)
					d[y * dls + x * ps + k] = s[(h - 1 - y) *
					    sls + (w - 1 - x) * ps + k];
		break;
	case 270:	/* d(x, y) = s(w-1-y, x) */
		for (y = 0; y < w; y++)
			for (x = 0; x < h; x++)
				for (k = 0; k < ps; k++)
					d[y * dls + x * ps + k] =
					    s[x * sls + (w - 1 - y) * ps + k];
		break;
	}
}

static int
jpeg_setup(struct jpeg *j, int sw, int sh, int rot, int quality)
{
	const AVCodec *c;
	int w = rot == 90 || rot == 270 ? sh : sw;
	int h = rot == 90 || rot == 270 ? sw : sh;
	int r;

	if (j->enc != NULL && j->sw == sw && j->sh == sh)
		return 0;
	avcodec_free_context(&j->enc);
	av_frame_free(&j->yuv);
	av_frame_free(&j->up);
	if ((c = avcodec_find_encoder(AV_CODEC_ID_MJPEG)) == NULL)
		return pm_fail("no mjpeg encoder in libavcodec");
	if ((j->enc = avcodec_alloc_context3(c)) == NULL ||
	    (j->pkt == NULL && (j->pkt = av_packet_alloc()) == NULL) ||
	    (j->yuv = yuv_frame(sw, sh)) == NULL ||
	    (rot != 0 && (j->up = yuv_frame(w, h)) == NULL))
		return pm_fail("out of memory");
	j->enc->width = w;
	j->enc->height = h;
	j->enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
	j->enc->color_range = AVCOL_RANGE_JPEG;
	j->enc->time_base = (AVRational){ 1, 25 };
	j->enc->flags |= AV_CODEC_FLAG_QSCALE;
	j->enc->global_quality = FF_QP2LAMBDA * qscale(quality);
	j->enc->qmin = 1;
	j->enc->thread_count = 1;
	if ((r = avcodec_open2(j->enc, c, NULL)) < 0)
		return pm_fail("cannot open the mjpeg encoder: %s", averr(r));
	j->sw = sw;
	j->sh = sh;
	j->w = w;
	j->h = h;
	return 0;
}

static int	 sws(struct jpeg *, const AVFrame *, const AVPixFmtDescriptor *,
		    int, int, int);

/* Copy an 8-bit plane through a table. */
static void
lut_plane(uint8_t *d, ptrdiff_t dls, const uint8_t *s, ptrdiff_t sls, int w,
    int h, const uint8_t lut[256])
{
	int x, y;

	for (y = 0; y < h; y++, d += dls, s += sls)
		for (x = 0; x < w; x++)
			d[x] = lut[s[x]];
}

/*
 * Same-size 4:2:0 from limited to full range (what swscale does, at a
 * fraction of its cost): the common case of keeping a decoded frame.
 */
static void
expand_range(AVFrame *d, const AVFrame *f)
{
	uint8_t y[256], c[256];
	int i, v;

	for (i = 0; i < 256; i++) {
		v = ((i - 16) * 255 * 2 + 219) / (219 * 2);
		y[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		v = 128 + ((i - 128) * 255 * 2 + (i >= 128 ? 224 : -224)) /
		    (224 * 2);
		c[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
	lut_plane(d->data[0], d->linesize[0], f->data[0], f->linesize[0],
	    f->width, f->height, y);
	for (i = 1; i < 3; i++)
		lut_plane(d->data[i], d->linesize[i], f->data[i],
		    f->linesize[i], (f->width + 1) / 2, (f->height + 1) / 2, c);
}

/* Encode f scaled to sw x sh, turned by rot; the JPEG is in j->pkt. */
static int
jpeg_encode(struct jpeg *j, const AVFrame *f, int sw, int sh, int rot,
    int quality)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	AVFrame *out, *as = NULL;
	int full, i, r, same;

	if (jpeg_setup(j, sw, sh, rot, quality) == -1)
		return -1;
	full = f->color_range == AVCOL_RANGE_JPEG ||
	    f->format == AV_PIX_FMT_YUVJ420P;
	same = sw == f->width && sh == f->height &&
	    (f->format == AV_PIX_FMT_YUV420P ||
	    f->format == AV_PIX_FMT_YUVJ420P);
	if (same && full && rot == 0) {
		/* The decoder's picture is a JPEG's already. */
		if ((as = av_frame_clone(f)) == NULL)
			return pm_fail("out of memory");
		as->format = AV_PIX_FMT_YUVJ420P;
		as->color_range = AVCOL_RANGE_JPEG;
		out = as;
		goto encode;
	}
	if ((r = av_frame_make_writable(j->yuv)) < 0)
		return pm_fail("out of memory");
	if (same && full)
		av_image_copy(j->yuv->data, j->yuv->linesize,
		    (const uint8_t **)f->data, f->linesize, AV_PIX_FMT_YUV420P,
		    sw, sh);
	else if (same)
		expand_range(j->yuv, f);
	else if (sws(j, f, d, full, sw, sh) == -1)
		return -1;
	out = j->yuv;
	if (rot != 0) {
		if (av_frame_make_writable(j->up) < 0)
			return pm_fail("out of memory");
		for (i = 0; i < 3; i++) {
			int pw = i ? (sw + 1) / 2 : sw;
			int ph = i ? (sh + 1) / 2 : sh;

			turn(j->up->data[i], j->up->linesize[i],
			    j->yuv->data[i], j->yuv->linesize[i], pw, ph, 1, rot);
		}
		out = j->up;
	}
encode:
	out->quality = j->enc->global_quality;
	out->pict_type = AV_PICTURE_TYPE_NONE;
	out->pts = AV_NOPTS_VALUE;
	r = avcodec_send_frame(j->enc, out);
	if (r >= 0)
		r = avcodec_receive_packet(j->enc, j->pkt);
	av_frame_free(&as);
	if (r < 0)
		return pm_fail("cannot encode a JPEG: %s", averr(r));
	return 0;
}

/* Scale and convert f into j->yuv with swscale. */
static int
sws(struct jpeg *j, const AVFrame *f, const AVPixFmtDescriptor *d, int full,
    int sw, int sh)
{
	j->sws = sws_getCachedContext(j->sws, f->width, f->height, f->format,
	    sw, sh, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL);
	if (j->sws == NULL)
		return pm_fail("cannot convert from %s",
		    av_get_pix_fmt_name(f->format));
	if (d != NULL && !(d->flags & AV_PIX_FMT_FLAG_RGB))
		sws_setColorspaceDetails(j->sws,
		    sws_getCoefficients(SWS_CS_DEFAULT), full,
		    sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
		    1 << 16);
	sws_scale(j->sws, (const uint8_t *const *)f->data, f->linesize, 0,
	    f->height, j->yuv->data, j->yuv->linesize);
	return 0;
}

/*
 * Raw pictures of kept frames (video_opts.raw): swscale to packed BGR at
 * the output size, turned upright.
 */
struct bgr {
	struct SwsContext *sws;
	uint8_t		*p, *up;	/* scaled; turned upright */
	size_t		 cap, capup;
	int		 w, h;		/* upright */
	ptrdiff_t	 stride;
	const uint8_t	*out;		/* p or up */
};

static void
bgr_free(struct bgr *b)
{
	sws_freeContext(b->sws);
	free(b->p);
	free(b->up);
	memset(b, 0, sizeof *b);
}

/* Rows of w BGR pixels, 32-byte aligned for swscale's vector code. */
static ptrdiff_t
bgr_stride(int w)
{
	return ((ptrdiff_t)w * 3 + 31) & ~(ptrdiff_t)31;
}

/* Convert f scaled to sw x sh, turned by rot, into b->out. */
static int
bgr_convert(struct bgr *b, const AVFrame *f, int sw, int sh, int rot)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	int full = f->color_range == AVCOL_RANGE_JPEG ||
	    f->format == AV_PIX_FMT_YUVJ420P;
	ptrdiff_t ls = bgr_stride(sw);
	uint8_t *dst[4] = { NULL };
	int dls[4] = { 0 };
	size_t n = (size_t)ls * (size_t)sh;

	b->sws = sws_getCachedContext(b->sws, f->width, f->height, f->format,
	    sw, sh, AV_PIX_FMT_BGR24, SWS_BICUBIC, NULL, NULL, NULL);
	if (b->sws == NULL)
		return pm_fail("cannot convert from %s",
		    av_get_pix_fmt_name(f->format));
	if (d != NULL && !(d->flags & AV_PIX_FMT_FLAG_RGB))
		sws_setColorspaceDetails(b->sws,
		    sws_getCoefficients(SWS_CS_DEFAULT), full,
		    sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
		    1 << 16);
	if (n > b->cap) {
		free(b->p);
		b->p = pm_malloc(n);
		b->cap = n;
	}
	dst[0] = b->p;
	dls[0] = (int)ls;
	sws_scale(b->sws, (const uint8_t *const *)f->data, f->linesize, 0,
	    f->height, dst, dls);
	b->out = b->p;
	b->w = sw;
	b->h = sh;
	b->stride = ls;
	if (rot == 0)
		return 0;
	if (rot == 90 || rot == 270) {
		b->w = sh;
		b->h = sw;
	}
	b->stride = bgr_stride(b->w);
	n = (size_t)b->stride * (size_t)b->h;
	if (n > b->capup) {
		free(b->up);
		b->up = pm_malloc(n);
		b->capup = n;
	}
	turn(b->up, b->stride, b->p, ls, sw, sh, 3, rot);
	b->out = b->up;
	return 0;
}

/* A packet held back in rate sampling. */
struct held {
	AVPacket	*p;
	int		 need;		/* its frame may be sampled */
	int		 size;
};

/*
 * A frame the sampler chose, on its way from the decoding thread to the
 * thread that filters and encodes, with the counts as they stood when
 * it was chosen (so a run stopped at a cap reports what led up to it,
 * whatever the decoder did meanwhile).
 */
struct item {
	AVFrame		*f;
	double		 t, score;
	long		 decoded, sampled, nerr, nbad;
	double		 end;
};

/* The state of one run of video_sample(). */
struct sampler {
	struct video	*v;
	const struct video_opts *o;
	struct video_stats *st;
	video_frame_fn	*fn;
	void		*arg;

	/* The decoding thread's. */
	AVCodecContext	*dec;
	double		 dur;		/* one frame, seconds */
	int		 nopts;		/* keyframes placed by a full decode */
	int		 untimed;	/* a packet had no pts */
	struct held	*gop;		/* rate: packets held back */
	int		 ngop, capgop;
	size_t		 gopbytes;
	int		 kwait;		/* the last held is a keyframe */
	int		 passing;	/* a GOP too large: send as read */
	int		 draining;	/* after the last packet */
	int64_t		 npkt;		/* packets sent */
	int		 havet;
	double		 lastt;
	int64_t		 nextk;		/* rate: next instant, k/fps */
	double		 ring[PTSRING];	/* rate: recent packet times */
	int		 nring;
	struct gray	 small, prevsmall;
	double		 prevmafd;
	int		 haveprev;
	long		 nerr;		/* errors of reading and decoding */
	char		 first[200];	/* the first of them */
	long		 nbad;		/* frames the decoder flagged damaged */

	/* The queue between the threads. */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct item	 q[QLEN];
	int		 qhead, qn, qeof;
	atomic_int	 stop;		/* 1: stopped early; -1: failed */
	char		 why[1024];	/* the failure's reason */
	struct item	 last;		/* counts at the stopping frame */

	/* The encoding thread's. */
	struct gray	 ana;
	uint64_t	 lasthash;
	int		 havehash;
	struct jpeg	 jpeg;
	struct bgr	 bgr;
	long		 kept, dup, blur, corrupt;
};

static void
note(struct sampler *s, const char *fmt, ...) PM_PRINTF(2, 3);

/* An error while reading or decoding: the first one is kept. */
static void
note(struct sampler *s, const char *fmt, ...)
{
	va_list ap;

	if (s->nerr++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(s->first, sizeof s->first, fmt, ap);
	va_end(ap);
}

/*
 * Rate sampling: could the frame of a packet at time p be the first at
 * or after some instant k/fps?  Only if an instant lies after the
 * latest earlier frame seen and no later than p.  Packets come in
 * decoding order, so earlier frames may be seen later; a frame judged
 * needed too often only costs decoding time.  This looks at packets
 * alone, so what is decoded does not depend on thread timing.
 */
static int
rate_needed(struct sampler *s, double p)
{
	double prev = -INFINITY, f = s->o->fps;
	int64_t k;
	int i;

	for (i = 0; i < s->nring && i < PTSRING; i++)
		if (s->ring[i] < p && s->ring[i] > prev)
			prev = s->ring[i];
	s->ring[s->nring++ % PTSRING] = p;
	if (s->nring >= 2 * PTSRING)
		s->nring -= PTSRING;
	k = isinf(prev) ? 0 : (int64_t)floor((prev + EPS) * f) + 1;
	if (k < 0)
		k = 0;
	return k / f <= p + EPS;
}

/* Is t inside one of the windows of rate sampling (lo < t < hi, each
 * grown by margin), or are there none? */
static int
in_window(const struct video_opts *o, double t, double margin)
{
	int i;

	if (o->win == NULL)
		return 1;
	for (i = 0; i < o->nwin; i++)
		if (t > o->win[2 * i] - margin && t < o->win[2 * i + 1] + margin)
			return 1;
	return 0;
}

static enum AVDiscard
skip_for(struct sampler *s, const AVPacket *pkt)
{
	switch (s->o->mode) {
	case VIDEO_KEY:
		/*
		 * A decoder that reorders frames stamps what it outputs
		 * with the times of later packets when the packets carry
		 * no presentation times (AVI, raw MPEG): skipping frames
		 * would misplace the keyframes.  There it skips only the
		 * frames nothing refers to, and keyframes get the times a
		 * full decode gives them.
		 */
		if ((pkt->flags & AV_PKT_FLAG_KEY) &&
		    pkt->pts == AV_NOPTS_VALUE && s->dec->has_b_frames > 0)
			s->nopts = 1;
		return s->nopts ? AVDISCARD_NONREF : AVDISCARD_NONKEY;
	default:
		return AVDISCARD_DEFAULT;
	}
}

/*
 * A frame's time: the decoder's best effort.  Without one, it follows
 * the frame before by one frame at the stream's rate; or, out of the
 * decoder after the last packet, it is where a next packet would have
 * been, which is what the decoder would have given it and does not
 * depend on which frames were skipped; or, when nothing has a time,
 * its packet's position in the stream.
 */
static double
frame_time(struct sampler *s, const AVFrame *f)
{
	double t;

	if (f->best_effort_timestamp != AV_NOPTS_VALUE)
		return rel_time(s->v, f->best_effort_timestamp);
	if (s->draining && s->st->end > 0) {
		t = s->st->end;
		if (s->havet && s->lastt + s->dur > t)
			t = s->lastt + s->dur;
		return t;
	}
	if (s->havet)
		return s->lastt + s->dur;
	return (s->npkt > 0 ? s->npkt - 1 : 0) * s->dur;
}

/* ffmpeg's select filter's scene score on small gray frames. */
static double
scene_score(struct sampler *s, const AVFrame *f)
{
	struct gray t;
	double sad = 0, mafd, diff, score;
	int i, n;

	if (gray_from(&s->small, f, SCENESIDE, 1) == -1)
		return 1;
	if (!s->haveprev || s->prevsmall.w != s->small.w ||
	    s->prevsmall.h != s->small.h) {
		score = 1;
		s->prevmafd = 0;
	} else {
		n = s->small.w * s->small.h;
		for (i = 0; i < n; i++)
			sad += abs(s->small.p[i] - s->prevsmall.p[i]);
		mafd = sad / n;
		diff = fabs(mafd - s->prevmafd);
		score = fmin(mafd, diff) / 100;
		if (score > 1)
			score = 1;
		s->prevmafd = mafd;
	}
	t = s->prevsmall;
	s->prevsmall = s->small;
	s->small = t;
	s->haveprev = 1;
	return score;
}

/* The size a kept frame is encoded at, before rotation. */
static void
out_size(const struct sampler *s, const AVFrame *f, int *sw, int *sh)
{
	const struct video *v = s->v;
	int w = f->width, h = f->height, m = s->o->maxside, big;
	double k;

	if (v->sar.num != v->sar.den)
		w = 2 * (int)lround(f->width * av_q2d(v->sar) / 2);
	if (w < 1)
		w = 1;
	big = w > h ? w : h;
	if (m > 0 && big > m) {
		k = (double)m / big;
		w = (int)lround(w * k);
		h = (int)lround(h * k);
	}
	*sw = w < 1 ? 1 : w;
	*sh = h < 1 ? 1 : h;
}

/* Stop the run: 1 for a cap or the callback's wish, -1 for a failure. */
static void
halt(struct sampler *s, int how, const struct item *it)
{
	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->stop) == 0) {
		if (how < 0)
			snprintf(s->why, sizeof s->why, "%s", pm_why());
		s->last = *it;
		s->last.f = NULL;
		atomic_store(&s->stop, how);
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Tell fn about a dropped frame. */
static int
dropped(struct sampler *s, const struct item *it, const char *why,
    double sharp)
{
	struct video_frame vf;

	memset(&vf, 0, sizeof vf);
	vf.drop = why;
	vf.t = it->t;
	vf.key = it->f->key_frame;
	vf.sharp = sharp;
	vf.n = s->kept - 1;
	return s->fn(&vf, s->arg);
}

/*
 * On the encoding thread, in order: drop a damaged, blurred or
 * duplicate frame, or encode it and hand it to fn.
 */
static void
finish(struct sampler *s, const struct item *it)
{
	const struct video_opts *o = s->o;
	const AVFrame *f = it->f;
	struct video_frame vf;
	double sharp = 0;
	uint64_t h = 0;
	int sw, sh, r;

	if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags) {
		s->corrupt++;
		if (dropped(s, it, "corrupt", 0) < 0)
			halt(s, -1, it);
		return;
	}
	if (o->blur > 0 || o->dedup > 0) {
		if (gray_from(&s->ana, f, ANALYSIS, 0) == -1) {
			halt(s, -1, it);
			return;
		}
		if (o->blur > 0) {
			sharp = video_sharpness(s->ana.p, s->ana.w, s->ana.h,
			    s->ana.w);
			if (sharp < o->blur) {
				s->blur++;
				if (dropped(s, it, "blur", sharp) < 0)
					halt(s, -1, it);
				return;
			}
		}
		if (o->dedup > 0) {
			h = video_phash(s->ana.p, s->ana.w, s->ana.h,
			    s->ana.w);
			if (s->havehash &&
			    __builtin_popcountll(h ^ s->lasthash) < o->dedup) {
				s->dup++;
				if (dropped(s, it, "dup", sharp) < 0)
					halt(s, -1, it);
				return;
			}
		}
	}
	out_size(s, f, &sw, &sh);
	if (o->raw ? bgr_convert(&s->bgr, f, sw, sh, s->v->rot) :
	    jpeg_encode(&s->jpeg, f, sw, sh, s->v->rot, o->quality)) {
		halt(s, -1, it);
		return;
	}
	if (o->dedup > 0) {
		s->lasthash = h;
		s->havehash = 1;
	}
	memset(&vf, 0, sizeof vf);
	vf.t = it->t;
	vf.key = f->key_frame;
	vf.w = o->raw ? s->bgr.w : s->jpeg.w;
	vf.h = o->raw ? s->bgr.h : s->jpeg.h;
	vf.scene = o->mode == VIDEO_SCENE ? it->score : 0;
	vf.sharp = sharp;
	vf.n = s->kept;
	if (o->raw) {
		vf.pix = s->bgr.out;
		vf.stride = s->bgr.stride;
	} else {
		vf.jpeg = s->jpeg.pkt->data;
		vf.len = (size_t)s->jpeg.pkt->size;
	}
	r = s->fn(&vf, s->arg);
	if (!o->raw)
		av_packet_unref(s->jpeg.pkt);
	if (r < 0) {
		halt(s, -1, it);
		return;
	}
	s->kept++;
	if (r > 0)
		halt(s, 1, it);
	else if (o->max > 0 && s->kept >= o->max) {
		s->st->capped = 1;
		halt(s, 1, it);
	}
}

static void *
encoder_main(void *arg)
{
	struct sampler *s = arg;
	struct item it;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->qn == 0 && !s->qeof)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->qn == 0) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		it = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % QLEN;
		s->qn--;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		if (atomic_load(&s->stop) == 0)
			finish(s, &it);
		av_frame_free(&it.f);
	}
	return NULL;
}

/* Queue a chosen frame for the encoding thread. */
static void
enqueue(struct sampler *s, const AVFrame *f, double t, double score)
{
	struct item it;

	it.t = t;
	it.score = score;
	it.decoded = s->st->decoded;
	it.sampled = s->st->sampled;
	it.nbad = s->nbad;
	it.end = s->st->end;
	/*
	 * Not libav's messages: frame threads may have logged errors of
	 * frames after this one already.
	 */
	it.nerr = s->nerr;
	if ((it.f = av_frame_clone(f)) == NULL) {
		pm_fail("out of memory");
		halt(s, -1, &it);
		return;
	}

	pthread_mutex_lock(&s->mu);
	while (s->qn == QLEN && atomic_load(&s->stop) == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	if (atomic_load(&s->stop) != 0) {
		pthread_mutex_unlock(&s->mu);
		av_frame_free(&it.f);
		return;
	}
	s->q[(s->qhead + s->qn) % QLEN] = it;
	s->qn++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* A decoded frame: is it one the sampling mode wants? */
static void
take(struct sampler *s, const AVFrame *f)
{
	const struct video_opts *o = s->o;
	double t, score = 0;
	int pick;

	s->st->decoded++;
	if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags)
		s->nbad++;
	t = frame_time(s, f);
	s->lastt = t;
	s->havet = 1;
	switch (o->mode) {
	case VIDEO_KEY:
		pick = f->key_frame;
		break;
	case VIDEO_RATE:
		pick = t >= s->nextk / o->fps - EPS;
		if (pick)
			s->nextk = (int64_t)floor((t + EPS) * o->fps) + 1;
		if (pick)
			pick = in_window(o, t, 0);
		break;
	case VIDEO_SCENE:
		score = scene_score(s, f);
		pick = score >= o->scene;
		break;
	default:
		pick = 1;
	}
	if (!pick)
		return;
	s->st->sampled++;
	enqueue(s, f, t, score);
}

/* Take every frame the decoder has ready. */
static void
drain(struct sampler *s, AVFrame *f)
{
	int r;

	while (atomic_load(&s->stop) == 0) {
		r = avcodec_receive_frame(s->dec, f);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
			break;
		if (r < 0) {
			note(s, "%s", averr(r));
			if (r != AVERROR_INVALIDDATA)
				break;
			continue;
		}
		take(s, f);
		av_frame_unref(f);
	}
}

static int
open_decoder(struct sampler *s, int threads)
{
	const AVCodecParameters *par = s->v->st->codecpar;
	const AVCodec *c = avcodec_find_decoder(par->codec_id);
	int r;

	if (c == NULL)
		return pm_fail("no decoder for %s",
		    avcodec_get_name(par->codec_id));
	if ((s->dec = avcodec_alloc_context3(c)) == NULL)
		return pm_fail("out of memory");
	if ((r = avcodec_parameters_to_context(s->dec, par)) < 0)
		return pm_fail("%s: %s", c->name, averr(r));
	s->dec->pkt_timebase = s->v->st->time_base;
	s->dec->thread_count = threads;
	/*
	 * Frame threads hand every packet, skipped or not, from thread to
	 * thread with the decoder's state; between sparse keyframes that
	 * costs more than it gains.  Slices of one frame are still
	 * decoded in parallel, and frames of intra-only codecs too.
	 */
	if (s->o->mode == VIDEO_KEY) {
		const AVCodecDescriptor *d = avcodec_descriptor_get(c->id);

		if (d == NULL || !(d->props & AV_CODEC_PROP_INTRA_ONLY))
			s->dec->thread_type = FF_THREAD_SLICE;
	}
	s->dec->opaque = s->v;
	if ((r = avcodec_open2(s->dec, c, NULL)) < 0)
		return pm_fail("cannot open the %s decoder: %s", c->name,
		    averr(r));
	return 0;
}

/* Append "; " and a formatted part to buf. */
static void
part(char *buf, size_t size, const char *fmt, ...) PM_PRINTF(3, 4);

static void
part(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n > 0 && n + 2 < size) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/*
 * What was wrong with the video, if anything: a stream that ends well
 * before its header says (by duration or by frame count), frames the
 * decoder marked damaged (as when data went missing), errors of reading
 * and decoding (ours and libav's).
 */
static void
damage(struct sampler *s, long n)
{
	struct video *v = s->v;
	struct video_stats *st = s->st;
	AVStream *vs = v->st;
	double want = 0, slack;
	int trunc = 0;

	st->damage[0] = '\0';
	if (atomic_load(&s->stop) == 0) {
		if (vs->duration > 0 && vs->duration != AV_NOPTS_VALUE)
			want = rel_time(v, (vs->start_time != AV_NOPTS_VALUE ?
			    vs->start_time : 0) + vs->duration);
		if (vs->nb_frames > 0 && v->info.fps > 0 &&
		    vs->nb_frames / v->info.fps > want)
			want = vs->nb_frames / v->info.fps;
		slack = 2 * s->dur > 0.5 ? 2 * s->dur : 0.5;
		if (want > 0 && st->end + slack < want) {
			part(st->damage, sizeof st->damage,
			    "the video ends at %.3f s of %.3f s", st->end,
			    want);
			trunc = 1;
		}
	}
	if (s->nbad > 0)
		part(st->damage, sizeof st->damage, "%ld frame%s decoded "
		    "damaged", s->nbad, s->nbad > 1 ? "s" : "");
	if (s->nerr == 0 && n > 0) {
		pthread_mutex_lock(&v->mu);
		snprintf(s->first, sizeof s->first, "%s", v->log);
		pthread_mutex_unlock(&v->mu);
	}
	if (n == 1)
		part(st->damage, sizeof st->damage, "a decoding error: %s",
		    s->first);
	else if (n > 1)
		part(st->damage, sizeof st->damage,
		    "%ld decoding errors, the first: %s", n, s->first);
	st->errors = n + trunc + s->nbad;
}

/* Send a packet to the decoder, decoding what comes out, and unref it. */
static void
send(struct sampler *s, AVPacket *pkt, enum AVDiscard skip, AVFrame *f)
{
	int r;

	s->dec->skip_frame = skip;
	while (atomic_load(&s->stop) == 0) {
		r = avcodec_send_packet(s->dec, pkt);
		if (r == AVERROR(EAGAIN)) {
			drain(s, f);
			continue;
		}
		if (r < 0)
			note(s, "%s", averr(r));
		break;
	}
	av_packet_unref(pkt);
	drain(s, f);
}

/*
 * Send the first n held packets, drop the others of the first m, keep
 * the rest held.
 */
static void
release(struct sampler *s, int n, int m, AVFrame *f)
{
	int i;

	if (m == 0)
		return;
	for (i = 0; i < m; i++) {
		if (i < n && atomic_load(&s->stop) == 0)
			send(s, s->gop[i].p, s->gop[i].need ?
			    AVDISCARD_DEFAULT : AVDISCARD_NONREF, f);
		s->gopbytes -= (size_t)s->gop[i].size;
		av_packet_free(&s->gop[i].p);
	}
	memmove(s->gop, s->gop + m, sizeof *s->gop * (size_t)(s->ngop - m));
	s->ngop -= m;
}

/*
 * The packets before a keyframe K: send them up to the last one a
 * sampled frame may need, drop the rest.  Nothing after K refers to
 * them, unless K opens a GOP whose leading pictures (decoded after K,
 * shown before it) refer back: then all go.
 */
static void
resolve(struct sampler *s, int closed, AVFrame *f)
{
	int k = s->ngop - 1, last = k - 1;

	if (closed)
		while (last >= 0 && !s->gop[last].need)
			last--;
	release(s, last + 1, k, f);
}

/*
 * Rate sampling of a timed stream: hold a GOP's packets until the next
 * keyframe, to skip its tail.  A GOP too large to hold is sent as it
 * is read.
 */
static void
hold(struct sampler *s, AVPacket *pkt, int need, AVFrame *f)
{
	struct held *h;
	int key = pkt->flags & AV_PKT_FLAG_KEY;

	if (s->kwait) {
		s->kwait = 0;
		resolve(s, pkt->pts >= s->gop[s->ngop - 1].p->pts, f);
	}
	if (s->passing && !key) {
		send(s, pkt, need ? AVDISCARD_DEFAULT : AVDISCARD_NONREF, f);
		return;
	}
	s->passing = 0;
	if (s->ngop == s->capgop) {
		s->capgop = s->capgop ? 2 * s->capgop : 64;
		s->gop = pm_reallocarray(s->gop, (size_t)s->capgop,
		    sizeof *s->gop);
	}
	h = &s->gop[s->ngop++];
	if ((h->p = av_packet_alloc()) == NULL)
		pm_err(PM_EXIT_FATAL, "out of memory");
	av_packet_move_ref(h->p, pkt);
	h->need = need;
	h->size = h->p->size;
	s->gopbytes += (size_t)h->size;
	if (key && s->ngop > 1)
		s->kwait = 1;
	if (s->ngop >= GOPMAX || s->gopbytes >= GOPBYTES) {
		release(s, s->ngop, s->ngop, f);
		s->kwait = 0;
		s->passing = 1;
	}
}

/* Send the held packets a sampled frame may need; drop the rest. */
static void
unhold(struct sampler *s, AVFrame *f)
{
	int last = s->ngop - 1;

	if (s->kwait) {
		s->kwait = 0;
		resolve(s, 1, f);
		last = s->ngop - 1;
	}
	while (last >= 0 && !s->gop[last].need)
		last--;
	release(s, last + 1, s->ngop, f);
}

/* Read packets and feed the decoder until the end or a stop. */
static void
decode(struct sampler *s, AVPacket *pkt, AVFrame *f)
{
	struct video *v = s->v;
	AVStream *vs = v->st;
	double end;
	int r, need;

	while (atomic_load(&s->stop) == 0) {
		r = av_read_frame(v->fmt, pkt);
		if (r == AVERROR_EOF)
			break;
		if (r < 0) {
			note(s, "reading: %s", averr(r));
			break;
		}
		if (pkt->stream_index != vs->index) {
			av_packet_unref(pkt);
			continue;
		}
		if (pkt->pts != AV_NOPTS_VALUE || pkt->dts != AV_NOPTS_VALUE) {
			end = rel_time(v, pkt->pts != AV_NOPTS_VALUE ?
			    pkt->pts : pkt->dts) + (pkt->duration > 0 ?
			    pkt->duration * av_q2d(vs->time_base) : s->dur);
			if (end > s->st->end)
				s->st->end = end;
		}
		s->npkt++;
		if (s->o->mode != VIDEO_RATE) {
			send(s, pkt, skip_for(s, pkt), f);
			continue;
		}
		/*
		 * Judging frames by their packets' times needs every packet
		 * to have one: in AVI with packed B-frames a packet's pts
		 * is not that of the frame it yields.
		 */
		if (pkt->pts == AV_NOPTS_VALUE && !s->untimed) {
			s->untimed = 1;
			release(s, s->ngop, s->ngop, f);
			s->kwait = 0;
		}
		if (s->untimed)
			send(s, pkt, AVDISCARD_DEFAULT, f);
		else {
			double t = rel_time(v, pkt->pts);

			/* a frame outside the windows is never needed, so
			 * a GOP that holds none of theirs is not decoded */
			need = rate_needed(s, t);
			hold(s, pkt, need && in_window(s->o, t, EPS), f);
		}
	}
	unhold(s, f);
	s->draining = 1;
	if (atomic_load(&s->stop) == 0 &&
	    avcodec_send_packet(s->dec, NULL) == 0)
		drain(s, f);
}

int
video_sample(struct video *v, const struct video_opts *o,
    video_frame_fn *fn, void *arg, struct video_stats *st)
{
	struct sampler s;
	AVPacket *pkt = NULL;
	AVFrame *f = NULL;
	pthread_t th;
	long nerr;
	int n, threads, ret = -1;

	memset(st, 0, sizeof *st);
	if (v->used)
		return pm_fail("video_sample: called twice");
	v->used = 1;
	if (o->mode == VIDEO_RATE && !(o->fps > 0))
		return pm_fail("video_sample: no rate");
	memset(&s, 0, sizeof s);
	s.v = v;
	s.o = o;
	s.st = st;
	s.fn = fn;
	s.arg = arg;
	s.dur = v->info.fps > 0 ? 1 / v->info.fps : 1 / 25.0;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);

	/* The cores, shared among the videos decoding at this moment. */
	n = atomic_fetch_add(&active, 1) + 1;
	threads = o->threads > 0 ? o->threads : av_cpu_count() / n;
	if (threads < 1)
		threads = 1;
	if (threads > 16)
		threads = 16;

	if (open_decoder(&s, threads) == -1)
		goto out;
	if ((pkt = av_packet_alloc()) == NULL ||
	    (f = av_frame_alloc()) == NULL) {
		pm_fail("out of memory");
		goto out;
	}
	if (pthread_create(&th, NULL, encoder_main, &s) != 0) {
		pm_fail("cannot start a thread");
		goto out;
	}
	decode(&s, pkt, f);
	pthread_mutex_lock(&s.mu);
	s.qeof = 1;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	pthread_join(th, NULL);

	st->kept = s.kept;
	st->dup = s.dup;
	st->blur = s.blur;
	st->corrupt = s.corrupt;
	if (atomic_load(&s.stop) < 0) {
		pm_fail("%s", s.why);
		goto out;
	}
	pthread_mutex_lock(&v->mu);
	nerr = s.nerr + v->nlog;
	pthread_mutex_unlock(&v->mu);
	if (atomic_load(&s.stop) > 0) {
		/* Report the video as far as the stopping frame. */
		st->decoded = s.last.decoded;
		st->sampled = s.last.sampled;
		st->end = s.last.end;
		nerr = s.last.nerr;
		s.nbad = s.last.nbad;
	}
	damage(&s, nerr);
	ret = 0;
out:
	atomic_fetch_sub(&active, 1);
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&s.dec);
	release(&s, 0, s.ngop, NULL);
	free(s.gop);
	gray_free(&s.small);
	gray_free(&s.prevsmall);
	gray_free(&s.ana);
	jpeg_free(&s.jpeg);
	bgr_free(&s.bgr);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	return ret;
}
