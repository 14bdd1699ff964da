/*
 * vlad.c: VLAD vectors from local descriptors, and the k-means that
 * trains their codebook.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kpblob.h"
#include "vlad.h"

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

int
vlad_codebook_parse(struct vlad_codebook *cb, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t k, dim, space, bits;
	size_t i, len;

	memset(cb, 0, sizeof *cb);
	if (n < VLAD_HDRSIZE)
		return pm_fail("codebook: %zu bytes, shorter than its header", n);
	if (memcmp(b, "PMCB", 4) != 0)
		return pm_fail("codebook: bad magic, not a pm codebook");
	if ((b[4] | b[5] << 8) != VLAD_VERSION)
		return pm_fail("codebook: version %d, this pm reads %d",
		    b[4] | b[5] << 8, VLAD_VERSION);
	if ((b[6] | b[7] << 8) != VLAD_HDRSIZE)
		return pm_fail("codebook: header size %d, wanted %d",
		    b[6] | b[7] << 8, VLAD_HDRSIZE);
	k = get32(b + 8);
	dim = get32(b + 12);
	space = get32(b + 16);
	if (k < 1 || k > VLAD_MAXK)
		return pm_fail("codebook: %u centres, out of range", k);
	if (dim != VLAD_DIM)
		return pm_fail("codebook: descriptors of %u elements, wanted %d",
		    dim, VLAD_DIM);
	if (space != VLAD_ROOTSIFT)
		return pm_fail("codebook: descriptor space %u unknown", space);
	len = VLAD_HDRSIZE + (size_t)k * dim * 4;
	if (n != len)
		return pm_fail("codebook: %zu bytes, %u centres need %zu",
		    n, k, len);
	if (get32(b + 20) > INT_MAX)
		return pm_fail("codebook: trained on %u descriptors, too many",
		    get32(b + 20));
	for (i = 24; i < VLAD_HDRSIZE; i++)
		if (b[i] != 0)
			return pm_fail("codebook: reserved header bytes not zero");
	cb->k = (int)k;
	cb->dim = (int)dim;
	cb->trained = (int)get32(b + 20);
	cb->c = pm_reallocarray(NULL, (size_t)k * dim, sizeof *cb->c);
	for (i = 0; i < (size_t)k * dim; i++) {
		bits = get32(b + VLAD_HDRSIZE + 4 * i);
		memcpy(&cb->c[i], &bits, 4);
		if (!isfinite(cb->c[i])) {
			vlad_codebook_free(cb);
			return pm_fail("codebook: centre %zu is not finite",
			    i / dim);
		}
	}
	return 0;
}

int
vlad_codebook_write(const struct vlad_codebook *cb, void **p, size_t *n)
{
	unsigned char *b;
	uint32_t bits;
	size_t i, m;

	if (cb->k < 1 || cb->k > VLAD_MAXK || cb->dim != VLAD_DIM)
		return pm_fail("codebook: %d centres of %d elements", cb->k,
		    cb->dim);
	m = (size_t)cb->k * cb->dim;
	*n = VLAD_HDRSIZE + m * 4;
	b = pm_calloc(1, *n);
	memcpy(b, "PMCB", 4);
	b[4] = VLAD_VERSION;
	b[6] = VLAD_HDRSIZE;
	put32(b + 8, (uint32_t)cb->k);
	put32(b + 12, (uint32_t)cb->dim);
	put32(b + 16, VLAD_ROOTSIFT);
	put32(b + 20, (uint32_t)cb->trained);
	for (i = 0; i < m; i++) {
		memcpy(&bits, &cb->c[i], 4);
		put32(b + VLAD_HDRSIZE + 4 * i, bits);
	}
	*p = b;
	return 0;
}

void
vlad_codebook_free(struct vlad_codebook *cb)
{
	free(cb->c);
	cb->c = NULL;
	cb->k = 0;
}

int
vlad_codebook_load(struct vlad_codebook *cb, const char *path)
{
	struct stat st;
	unsigned char *p;
	size_t n = 0;
	ssize_t r;
	int fd, ret;

	memset(cb, 0, sizeof *cb);
	if ((fd = open(path, O_RDONLY)) == -1)
		return pm_fail("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > VLAD_HDRSIZE + (off_t)VLAD_MAXK * VLAD_DIM * 4) {
		close(fd);
		return pm_fail("%s: not a codebook file", path);
	}
	p = pm_malloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size + 1) {
		r = read(fd, p + n, (size_t)st.st_size + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			ret = pm_fail("%s: %s", path, strerror(errno));
			free(p);
			close(fd);
			return ret;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	ret = vlad_codebook_parse(cb, p, n);
	free(p);
	if (ret == -1) {
		char why[1024];

		snprintf(why, sizeof why, "%s", pm_why());
		return pm_fail("%s: %s", path, why);
	}
	return 0;
}

int
vlad_codebook_save(const struct vlad_codebook *cb, const char *path)
{
	char *tmp;
	void *p;
	size_t n, off = 0;
	ssize_t r;
	int fd, e;

	if (vlad_codebook_write(cb, &p, &n) == -1)
		return -1;
	tmp = pm_asprintf("%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666)) == -1) {
		e = errno;
		free(p);
		free(tmp);
		return pm_fail("%s: %s", path, strerror(e));
	}
	while (off < n) {
		r = write(fd, (char *)p + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		off += (size_t)r;
	}
	e = errno;
	free(p);
	if (off < n || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		if (off == n)
			e = errno;
		unlink(tmp);
		free(tmp);
		return pm_fail("%s: %s", path, strerror(e));
	}
	free(tmp);
	return 0;
}

char *
vlad_codebook_shipped(void)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return pm_strdup("share/pm/vlad.cb");
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	return pm_asprintf("%s/../share/pm/vlad.cb", exe);
}

int
vlad_descriptors(const struct kpblob *b, float **d, int *n)
{
	const unsigned char *q;
	float *out, *o;
	double s;
	int i, t, m = 0;

	*d = NULL;
	*n = 0;
	if (b->detector != KPBLOB_SIFT || b->desctype != KPBLOB_L2 ||
	    b->descsize != VLAD_DIM)
		return pm_fail("keypoints are not SIFT's (detector %d, "
		    "%d-byte descriptors)", b->detector, b->descsize);
	if (b->n == 0)
		return 0;
	out = pm_reallocarray(NULL, (size_t)b->n * VLAD_DIM, sizeof *out);
	for (i = 0; i < b->n; i++) {
		q = b->desc + (size_t)i * VLAD_DIM;
		o = out + (size_t)m * VLAD_DIM;
		s = 0;
		if (b->flags & KPBLOB_ROOTSIFT) {
			for (t = 0; t < VLAD_DIM; t++)
				s += (double)q[t] * q[t];
			if (s == 0)
				continue;
			s = 1 / sqrt(s);
			for (t = 0; t < VLAD_DIM; t++)
				o[t] = (float)(q[t] * s);
		} else {
			for (t = 0; t < VLAD_DIM; t++)
				s += q[t];
			if (s == 0)
				continue;
			for (t = 0; t < VLAD_DIM; t++)
				o[t] = (float)sqrt(q[t] / s);
		}
		m++;
	}
	if (m == 0) {
		free(out);
		return 0;
	}
	*d = out;
	*n = m;
	return 0;
}

/*
 * The squared distance of two descriptors, in eight running sums: a
 * fixed order of operations (so the same result everywhere) that the
 * compiler may still vectorise.
 */
static float
dist2(const float *a, const float *b, int dim)
{
	float s[8] = { 0 }, e;
	int i, j;

	for (i = 0; i + 8 <= dim; i += 8)
		for (j = 0; j < 8; j++) {
			e = a[i + j] - b[i + j];
			s[j] += e * e;
		}
	for (; i < dim; i++) {
		e = a[i] - b[i];
		s[0] += e * e;
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* The nearest centre of x (the first of equals), its distance in *d2. */
static int
nearest(const float *c, int k, int dim, const float *x, float *d2)
{
	float best = HUGE_VALF, e;
	int j, arg = 0;

	for (j = 0; j < k; j++) {
		e = dist2(c + (size_t)j * dim, x, dim);
		if (e < best) {
			best = e;
			arg = j;
		}
	}
	if (d2 != NULL)
		*d2 = best;
	return arg;
}

void
vlad_aggregate(const struct vlad_codebook *cb, const float *d, int n,
    float *v)
{
	size_t m = (size_t)cb->k * cb->dim, t;
	const float *x, *c;
	float *blk;
	double s;
	int i, j, e;

	memset(v, 0, m * sizeof *v);
	for (i = 0; i < n; i++) {
		x = d + (size_t)i * cb->dim;
		j = nearest(cb->c, cb->k, cb->dim, x, NULL);
		c = cb->c + (size_t)j * cb->dim;
		blk = v + (size_t)j * cb->dim;
		for (e = 0; e < cb->dim; e++)
			blk[e] += x[e] - c[e];
	}
	/* power normalisation: bursts of one repeated texture weigh less */
	for (t = 0; t < m; t++)
		v[t] = v[t] < 0 ? -sqrtf(-v[t]) : sqrtf(v[t]);
	/* intra-normalisation: every visual word counts alike */
	for (j = 0; j < cb->k; j++) {
		blk = v + (size_t)j * cb->dim;
		s = 0;
		for (e = 0; e < cb->dim; e++)
			s += (double)blk[e] * blk[e];
		if (s > 0) {
			s = 1 / sqrt(s);
			for (e = 0; e < cb->dim; e++)
				blk[e] = (float)(blk[e] * s);
		}
	}
	s = 0;
	for (t = 0; t < m; t++)
		s += (double)v[t] * v[t];
	if (s > 0) {
		s = 1 / sqrt(s);
		for (t = 0; t < m; t++)
			v[t] = (float)(v[t] * s);
	}
}

void
vlad_sample_init(struct vlad_sample *s, int max)
{
	memset(s, 0, sizeof *s);
	s->max = max < 1 ? 1 : max;
	s->stride = 1;
	s->d = pm_reallocarray(NULL, (size_t)s->max * 2, VLAD_DIM * sizeof *s->d);
}

void
vlad_sample_add(struct vlad_sample *s, const float *d, int n)
{
	int i, j;

	for (i = 0; i < n; i++, s->seen++) {
		if (s->seen % s->stride != 0)
			continue;
		if (s->n == 2 * s->max) {
			for (j = 0; j < s->max; j++)
				memmove(s->d + (size_t)j * VLAD_DIM,
				    s->d + (size_t)2 * j * VLAD_DIM,
				    VLAD_DIM * sizeof *s->d);
			s->n = s->max;
			s->stride *= 2;
			if (s->seen % s->stride != 0)
				continue;
		}
		memcpy(s->d + (size_t)s->n * VLAD_DIM, d + (size_t)i * VLAD_DIM,
		    VLAD_DIM * sizeof *s->d);
		s->n++;
	}
}

void
vlad_sample_free(struct vlad_sample *s)
{
	free(s->d);
	s->d = NULL;
	s->n = 0;
}

/* splitmix64: a small generator whose sequence is fixed by its seed */
static uint64_t
rnd(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A uniform real in [0, 1). */
static double
rnd01(uint64_t *state)
{
	return (double)(rnd(state) >> 11) / 9007199254740992.0;
}

/* k-means++ seeding: each next centre drawn with probability growing
 * with its squared distance from the centres so far. */
static void
seed(const float *d, int n, int k, float *c)
{
	uint64_t state = 0x706d2d766c6164ULL;
	double *dd, total, r;
	float e;
	int i, j, pick;

	dd = pm_reallocarray(NULL, (size_t)n, sizeof *dd);
	pick = (int)(rnd(&state) % (uint64_t)n);
	memcpy(c, d + (size_t)pick * VLAD_DIM, VLAD_DIM * sizeof *c);
	for (i = 0; i < n; i++)
		dd[i] = dist2(d + (size_t)i * VLAD_DIM, c, VLAD_DIM);
	for (j = 1; j < k; j++) {
		total = 0;
		for (i = 0; i < n; i++)
			total += dd[i];
		r = rnd01(&state) * total;
		pick = -1;
		for (i = 0; i < n; i++) {
			if (dd[i] <= 0)
				continue;
			pick = i;
			if (r < dd[i])
				break;
			r -= dd[i];
		}
		if (pick == -1)		/* every descriptor is a centre already */
			pick = (int)(rnd(&state) % (uint64_t)n);
		memcpy(c + (size_t)j * VLAD_DIM, d + (size_t)pick * VLAD_DIM,
		    VLAD_DIM * sizeof *c);
		for (i = 0; i < n; i++) {
			e = dist2(d + (size_t)i * VLAD_DIM,
			    c + (size_t)j * VLAD_DIM, VLAD_DIM);
			if (e < dd[i])
				dd[i] = e;
		}
	}
	free(dd);
}

int
vlad_train(const float *d, int n, int k, int iters, struct vlad_codebook *cb)
{
	double *sum;
	float *c, *mind;
	int *assign, *count, i, j, e, it, changed, far;

	memset(cb, 0, sizeof *cb);
	if (k < 1 || k > VLAD_MAXK)
		return pm_fail("codebook: %d centres, out of range 1..%d", k,
		    VLAD_MAXK);
	if (n < k)
		return pm_fail("codebook: %d descriptors to train %d centres "
		    "on, need at least as many", n, k);
	c = pm_reallocarray(NULL, (size_t)k * VLAD_DIM, sizeof *c);
	sum = pm_reallocarray(NULL, (size_t)k * VLAD_DIM, sizeof *sum);
	count = pm_reallocarray(NULL, (size_t)k, sizeof *count);
	assign = pm_reallocarray(NULL, (size_t)n, sizeof *assign);
	mind = pm_reallocarray(NULL, (size_t)n, sizeof *mind);
	for (i = 0; i < n; i++)
		assign[i] = -1;
	seed(d, n, k, c);

	for (it = 0; it < iters; it++) {
		changed = 0;
		for (i = 0; i < n; i++) {
			j = nearest(c, k, VLAD_DIM, d + (size_t)i * VLAD_DIM,
			    &mind[i]);
			if (j != assign[i]) {
				assign[i] = j;
				changed++;
			}
		}
		if (changed == 0)
			break;
		memset(sum, 0, (size_t)k * VLAD_DIM * sizeof *sum);
		memset(count, 0, (size_t)k * sizeof *count);
		for (i = 0; i < n; i++) {
			count[assign[i]]++;
			for (e = 0; e < VLAD_DIM; e++)
				sum[(size_t)assign[i] * VLAD_DIM + e] +=
				    d[(size_t)i * VLAD_DIM + e];
		}
		for (j = 0; j < k; j++) {
			if (count[j] > 0) {
				for (e = 0; e < VLAD_DIM; e++)
					c[(size_t)j * VLAD_DIM + e] = (float)
					    (sum[(size_t)j * VLAD_DIM + e] /
					    count[j]);
				continue;
			}
			/* an empty cluster: the worst-served descriptor */
			far = 0;
			for (i = 1; i < n; i++)
				if (mind[i] > mind[far])
					far = i;
			memcpy(c + (size_t)j * VLAD_DIM,
			    d + (size_t)far * VLAD_DIM, VLAD_DIM * sizeof *c);
			mind[far] = 0;
		}
	}
	free(sum);
	free(count);
	free(assign);
	free(mind);
	cb->k = k;
	cb->dim = VLAD_DIM;
	cb->trained = n;
	cb->c = c;
	return 0;
}
