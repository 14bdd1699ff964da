/*
 * nn8: exact nearest neighbours among rows of bytes (src/lib/nn8.c):
 * every loop (AVX-512 VNNI, AVX2, plain) against a reference computed
 * here, on rows of several sizes, with repeated rows (ties) and sets
 * whose sizes are not multiples of the loops' blocks.
 *
 * usage: nn8 [one]	(one: only the checks, in the loops this process
 *			 picks; run again under PM_NO_VNNI and PM_NO_SIMD)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn8.h"
#include "tap.h"

static uint64_t rng = 0x6e6e38;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* n rows of dim bytes: random, every fifth a copy of an earlier one,
 * some near the extremes (0 and 255). */
static uint8_t *
rows(int n, int dim)
{
	uint8_t *r = malloc((size_t)n * dim + 1);
	int i, k;

	for (i = 0; i < n; i++) {
		if (i > 4 && i % 5 == 0) {
			memcpy(r + (size_t)i * dim, r + (size_t)(rnd() % i) *
			    dim, (size_t)dim);
			continue;
		}
		for (k = 0; k < dim; k++)
			r[(size_t)i * dim + k] = (uint8_t)(i % 7 == 3 ?
			    (rnd() & 1) * 255 : rnd() % 256);
	}
	return r;
}

/* Do q's neighbours among t match those found by brute force? */
static int
check(const uint8_t *q, int nq, const uint8_t *t, int nt, int dim)
{
	struct nn8 a, b;
	struct nn8_hit *h = calloc((size_t)nq + 1, sizeof *h);
	int i, j, k, bad = 0;

	nn8_init(&a, q, (size_t)dim, nq, dim, NN8_QUERY);
	nn8_init(&b, t, (size_t)dim, nt, dim, NN8_TRAIN);
	nn8_knn2(&a, &b, h);
	for (i = 0; i < nq; i++) {
		int64_t d1 = INT64_MAX, d2 = INT64_MAX;
		int j1 = -1;

		for (j = 0; j < nt; j++) {
			int64_t d = 0;

			for (k = 0; k < dim; k++) {
				int64_t x = (int64_t)q[(size_t)i * dim + k] -
				    t[(size_t)j * dim + k];

				d += x * x;
			}
			if (d < d1) {
				d2 = d1;
				d1 = d;
				j1 = j;
			} else if (d < d2)
				d2 = d;
		}
		if (h[i].d1 != d1 || h[i].d2 != d2 || h[i].j != j1) {
			if (bad++ < 3)
				diag("dim %d, query %d: %lld %lld %d, want "
				    "%lld %lld %d", dim, i, (long long)h[i].d1,
				    (long long)h[i].d2, h[i].j, (long long)d1,
				    (long long)d2, j1);
		}
	}
	nn8_free(&a);
	nn8_free(&b);
	free(h);
	return bad == 0;
}

static int
checks(void)
{
	static const int dims[] = { 128, 64, 256, 488, 20 };
	int i, good = 1;

	for (i = 0; i < (int)(sizeof dims / sizeof dims[0]); i++) {
		uint8_t *q = rows(37, dims[i]), *t = rows(203, dims[i]);

		/* the queries' own rows among the train rows: ties at 0 */
		memcpy(t + (size_t)50 * dims[i], q, (size_t)dims[i]);
		memcpy(t + (size_t)51 * dims[i], q, (size_t)dims[i]);
		good = check(q, 37, t, 203, dims[i]) && good;
		good = check(q, 3, t, 2, dims[i]) && good;
		good = check(q, 1, t, 17, dims[i]) && good;
		free(q);
		free(t);
	}
	return good;
}

int
main(int argc, char *argv[])
{
	static const char *env[] = { "", "PM_NO_VNNI=1 ", "PM_NO_SIMD=1 " };
	char cmd[4200];
	int i;

	pm_init(argv[0]);
	if (argc > 1)
		return checks() ? 0 : 1;
	tap_plan(3);
	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof cmd, "%s'%s' one", env[i], argv[0]);
		ok(system(cmd) == 0, "%sthe neighbours of brute force, rows "
		    "of 20 to 488 bytes, ties and odd sizes", env[i]);
	}
	return tap_done();
}
