/*
 * index-pm: the pm side of bench/index.sh (which compiles it into
 * bench/out/ against src/libpm.a).
 *
 *	index-pm gen DIR N Q IMAGE...
 *		Real-derived vectors: N database and Q query vectors from
 *		crops of the real images (random place, size 20-100% of the
 *		side, aspect 0.75-1.33, mirrored half the time, brightness
 *		0.7-1.3; a fixed seed, the queries drawn after the database).
 *		A crop is resampled to 32x32 by area averaging; its vector is
 *		a 4x4 grid of 8-bin gradient orientation histograms (128,
 *		square-rooted after L1 normalisation) and the 4x4 grid's mean
 *		colours (48), L2-normalised: 176 elements (an all-black crop,
 *		which has no direction, is drawn again).  Writes
 *		DIR/base.f32 and DIR/query.f32 (raw binary32).
 *
 *	index-pm run DIR N Q M EFC EF...
 *		The first N vectors: exact search for the queries' 10
 *		nearest (written to DIR/gt-N.u32 for hnswlib's side), a
 *		graph built by ann_build() (hnswlib's insertion, pm's own
 *		section), and pm's search of it at each EF: recall@10
 *		against exact search and queries per second, one thread.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ann.h"
#include "cv.h"
#include "err.h"
#include "vocab.h"

#define DIM	176
#define K	10

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct img {
	int	 w, h;
	double	*sum;		/* (w+1)*(h+1)*3 integral image */
};

static double
unif(uint64_t *s)
{
	return (vocab_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Mean of channel c over [x0,x1) x [y0,y1) (reals, in pixels). */
static double
area(const struct img *im, double x0, double y0, double x1, double y1, int c)
{
	int a = (int)floor(x0), b = (int)floor(y0), e = (int)ceil(x1),
	    f = (int)ceil(y1);
	const double *s = im->sum;
	size_t W = (size_t)im->w + 1;

	if (a < 0) a = 0;
	if (b < 0) b = 0;
	if (e > im->w) e = im->w;
	if (f > im->h) f = im->h;
	if (e <= a) e = a + 1;
	if (f <= b) f = b + 1;
	return (s[((size_t)f * W + e) * 3 + c] - s[((size_t)b * W + e) * 3 + c] -
	    s[((size_t)f * W + a) * 3 + c] + s[((size_t)b * W + a) * 3 + c]) /
	    ((double)(e - a) * (f - b));
}

/* A crop's vector; 0 for a crop without gradients or colour (black). */
static int
vector(const struct img *im, uint64_t *rng, float *v)
{
	double px[32][32][3], g[32][32], hist[128] = { 0 }, col[48] = { 0 };
	double side = 0.2 + 0.8 * unif(rng), asp = 0.75 + 0.58 * unif(rng);
	double cw = side * im->w * sqrt(asp), ch = side * im->h / sqrt(asp);
	double x0, y0, bright = 0.7 + 0.6 * unif(rng), n2 = 0, l1 = 0;
	int flip = unif(rng) < 0.5, x, y, c, i;

	if (cw > im->w) cw = im->w;
	if (ch > im->h) ch = im->h;
	x0 = (im->w - cw) * unif(rng);
	y0 = (im->h - ch) * unif(rng);
	for (y = 0; y < 32; y++)
		for (x = 0; x < 32; x++) {
			int xx = flip ? 31 - x : x;

			for (c = 0; c < 3; c++)
				px[y][xx][c] = bright * area(im,
				    x0 + cw * x / 32, y0 + ch * y / 32,
				    x0 + cw * (x + 1) / 32, y0 + ch * (y + 1) / 32, c);
			g[y][xx] = (px[y][xx][0] + px[y][xx][1] +
			    px[y][xx][2]) / 3;
		}
	for (y = 1; y < 31; y++)
		for (x = 1; x < 31; x++) {
			double dx = g[y][x + 1] - g[y][x - 1],
			    dy = g[y + 1][x] - g[y - 1][x];
			double m = sqrt(dx * dx + dy * dy), a = atan2(dy, dx);
			int bin = (int)floor((a + M_PI) / (2 * M_PI) * 8) & 7;

			hist[((y / 8) * 4 + x / 8) * 8 + bin] += m;
		}
	for (y = 0; y < 32; y++)
		for (x = 0; x < 32; x++)
			for (c = 0; c < 3; c++)
				col[((y / 8) * 4 + x / 8) * 3 + c] +=
				    px[y][x][c] / (64 * 255.0);
	for (i = 0; i < 128; i++)
		l1 += hist[i];
	for (i = 0; i < 128; i++)
		v[i] = (float)sqrt(l1 > 0 ? hist[i] / l1 : 0);
	for (i = 0; i < 48; i++)
		v[128 + i] = (float)(col[i] / 4);
	for (i = 0; i < DIM; i++)
		n2 += (double)v[i] * v[i];
	if (!(n2 > 0))
		return 0;
	for (i = 0; i < DIM; i++)
		v[i] = (float)(v[i] / sqrt(n2));
	return 1;
}

static float *
readf(const char *dir, const char *name, size_t n)
{
	char path[4096];
	float *v = pm_reallocarray(NULL, n, sizeof *v);
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "rb")) == NULL || fread(v, sizeof *v, n, fp) != n)
		pm_err(2, "%s: cannot read %zu reals", path, n);
	fclose(fp);
	return v;
}

static void
writef(const char *dir, const char *name, const void *p, size_t size, size_t n)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(p, size, n, fp) != n ||
	    fclose(fp) == EOF)
		pm_err(2, "%s:", path);
}

static int
gen(int argc, char **argv)
{
	const char *dir = argv[2];
	size_t n = (size_t)atol(argv[3]), q = (size_t)atol(argv[4]), i;
	int nimg = argc - 5, k, x, y, c;
	struct img *im = pm_calloc((size_t)nimg, sizeof *im);
	uint64_t rng = 0x62656e6368ULL;
	float *v;

	for (k = 0; k < nimg; k++) {
		FILE *fp = fopen(argv[5 + k], "rb");
		unsigned char *buf, *pix;
		long len;
		size_t W;

		if (fp == NULL || fseek(fp, 0, SEEK_END) == -1 ||
		    (len = ftell(fp)) <= 0)
			pm_err(2, "%s:", argv[5 + k]);
		rewind(fp);
		buf = pm_malloc((size_t)len);
		if (fread(buf, 1, (size_t)len, fp) != (size_t)len)
			pm_err(2, "%s:", argv[5 + k]);
		fclose(fp);
		if (cv_image_decode(buf, (size_t)len, 3, &pix, &im[k].w,
		    &im[k].h) == -1)
			pm_err(2, "%s: %s", argv[5 + k], pm_why());
		W = (size_t)im[k].w + 1;
		im[k].sum = pm_calloc(W * ((size_t)im[k].h + 1) * 3,
		    sizeof *im[k].sum);
		for (y = 0; y < im[k].h; y++)
			for (x = 0; x < im[k].w; x++)
				for (c = 0; c < 3; c++)
					im[k].sum[(((size_t)y + 1) * W + x + 1) * 3 + c] =
					    pix[((size_t)y * im[k].w + x) * 3 + c] +
					    im[k].sum[((size_t)y * W + x + 1) * 3 + c] +
					    im[k].sum[(((size_t)y + 1) * W + x) * 3 + c] -
					    im[k].sum[((size_t)y * W + x) * 3 + c];
		free(buf);
		free(pix);
	}
	v = pm_reallocarray(NULL, n + q, DIM * sizeof *v);
	for (i = 0; i < n + q; i++)
		while (!vector(&im[vocab_rand(&rng) % (uint64_t)nimg], &rng,
		    v + i * DIM))
			;
	writef(dir, "base.f32", v, DIM * sizeof *v, n);
	writef(dir, "query.f32", v + n * DIM, DIM * sizeof *v, q);
	printf("%d\n", DIM);
	for (k = 0; k < nimg; k++)
		free(im[k].sum);
	free(im);
	free(v);
	return 0;
}

static int
run(int argc, char **argv)
{
	const char *dir = argv[2];
	uint32_t n = (uint32_t)atol(argv[3]), q = (uint32_t)atol(argv[4]), i;
	int M = atoi(argv[5]), efc = atoi(argv[6]), e, j, l;
	float *base = readf(dir, "base.f32", (size_t)n * DIM);
	float *qv = readf(dir, "query.f32", (size_t)q * DIM);
	uint32_t *rows = pm_reallocarray(NULL, n, sizeof *rows);
	uint32_t *gt = pm_reallocarray(NULL, (size_t)q, K * sizeof *gt);
	struct ann_hit h[K];
	struct ann_scratch s = { 0 };
	struct ann g;
	char name[64];
	double t0, t1;

	for (i = 0; i < n; i++)
		rows[i] = i;
	t0 = now();
	for (i = 0; i < q; i++) {
		ann_exact(ANN_IP, DIM, base, DIM * 4, rows, n, qv + (size_t)i * DIM,
		    K, h);
		for (j = 0; j < K; j++)
			gt[(size_t)i * K + j] = h[j].row;
	}
	t1 = now();
	snprintf(name, sizeof name, "gt-%lu.u32", (unsigned long)n);
	writef(dir, name, gt, sizeof *gt, (size_t)q * K);
	printf("pm exact       %8u vectors  %9.0f q/s  recall@10 1.000\n", n,
	    q / (t1 - t0));

	t0 = now();
	if (ann_build(&g, ANN_IP, DIM, base, DIM * 4, n, rows, n, M, efc,
	    NULL) == -1)
		pm_err(2, "%s", pm_why());
	t1 = now();
	printf("pm build       %8u vectors  %9.1f s  graph %.1f bytes a vector "
	    "(+ %d of the vector itself)\n", n, t1 - t0, (double)g.seclen / n,
	    DIM * 4);
	for (e = 7; e < argc; e++) {
		int ef = atoi(argv[e]), hit = 0;

		t0 = now();
		for (i = 0; i < q; i++) {
			int got = ann_search(&g, qv + (size_t)i * DIM, K, ef, h, &s);

			for (j = 0; j < got; j++)
				for (l = 0; l < K; l++)
					if (h[j].row == gt[(size_t)i * K + l])
						hit++;
		}
		t1 = now();
		printf("pm search      %8u vectors  %9.0f q/s  recall@10 %.3f"
		    "  ef %d\n", n, q / (t1 - t0), (double)hit / ((double)q * K),
		    ef);
	}
	ann_free(&g);
	ann_scratch_free(&s);
	free(base);
	free(qv);
	free(rows);
	free(gt);
	return 0;
}

int
main(int argc, char *argv[])
{
	pm_init(argv[0]);
	if (argc >= 6 && strcmp(argv[1], "gen") == 0)
		return gen(argc, argv);
	if (argc >= 8 && strcmp(argv[1], "run") == 0)
		return run(argc, argv);
	fprintf(stderr, "usage: index-pm gen dir n q image ...\n"
	    "       index-pm run dir n q M efc ef ...\n");
	return 2;
}
