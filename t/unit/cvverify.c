/*
 * cvverify: geometric verification (src/cv/verify.cc) on real pairs:
 * graf1 -> graf3 against the dataset's ground truth H1to3p, box.png in
 * box_in_scene.png, unrelated images, and determinism across threads
 * and between the SIMD and the plain distance loops.
 *
 * usage: cvverify [dump]	(dump: print the graf and box results, for
 *				 the comparison with PM_NO_SIMD=1)
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cv.h"
#include "err.h"
#include "kpblob.h"
#include "tap.h"
#include "testdata.h"

static struct cv_kpset *
kpset(const char *name, int detector, int rootsift)
{
	struct cv_kp_opts o;
	struct cv_kpset *s;
	unsigned char *p;
	void *blob;
	size_t n, len;
	int nkp;

	if ((p = testdata(name, &n)) == NULL)
		exit(1);
	cv_kp_defaults(&o);
	o.detector = detector;
	o.rootsift = rootsift;
	if (cv_kp_extract(p, n, &o, &blob, &len, &nkp) == -1 ||
	    (s = cv_kpset_new(blob, len)) == NULL) {
		printf("# %s: %s\n", name, pm_why());
		exit(1);
	}
	free(blob);
	free(p);
	return s;
}

/* The 3x3 matrix in an OpenCV XML file's <data>. */
static int
read_h(const char *name, double h[9])
{
	unsigned char *p;
	char *s, *end;
	size_t n;
	int i;

	if ((p = testdata(name, &n)) == NULL)
		return -1;
	p = realloc(p, n + 1);
	p[n] = '\0';
	if ((s = strstr((char *)p, "<data>")) == NULL)
		return -1;
	s += 6;
	for (i = 0; i < 9; i++, s = end)
		h[i] = strtod(s, &end);
	free(p);
	return 0;
}

/* Corner errors of a box against H applied to the catalog's corners. */
static void
corner_error(const double *box, const double h[9], int w, int ht,
    double *mean, double *max)
{
	double cx[4] = { -0.5, w - 0.5, w - 0.5, -0.5 };
	double cy[4] = { -0.5, -0.5, ht - 0.5, ht - 0.5 };
	int k;

	*mean = *max = 0;
	for (k = 0; k < 4; k++) {
		double z = h[6] * cx[k] + h[7] * cy[k] + h[8];
		double x = (h[0] * cx[k] + h[1] * cy[k] + h[2]) / z;
		double y = (h[3] * cx[k] + h[4] * cy[k] + h[5]) / z;
		double d = hypot(x - box[2 * k], y - box[2 * k + 1]);

		*mean += d / 4;
		*max = fmax(*max, d);
	}
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

struct job {
	const struct cv_kpset	*a, *b;
	struct cv_match		 m[5];
};

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct cv_verify_params p;
	int i;

	cv_verify_defaults(&p);
	for (i = 0; i < 5; i++)
		cv_verify(j->a, j->b, &p, &j->m[i]);
	return NULL;
}

static void
dump(const struct cv_match *m)
{
	int k;

	printf("%d %d %d %.17g", m->verified, m->matches, m->inliers,
	    m->score);
	for (k = 0; k < 9; k++)
		printf(" %.17g", m->H[k]);
	printf("\n");
}

int
main(int argc, char *argv[])
{
	struct cv_kpset *g1, *g3, *box, *scene, *baboon, *orb1, *orb2;
	struct cv_verify_params p;
	struct cv_match m, m2;
	double gt[9], mean, max, t;
	int i, k, w, h, n;

	g1 = kpset("graf1.png", CV_SIFT, 1);
	g3 = kpset("graf3.png", CV_SIFT, 1);
	box = kpset("box.png", CV_SIFT, 1);
	scene = kpset("box_in_scene.png", CV_SIFT, 1);
	cv_verify_defaults(&p);
	if (argc > 1 && strcmp(argv[1], "dump") == 0) {
		cv_verify(g1, g3, &p, &m);
		dump(&m);
		cv_match_free(&m);
		cv_verify(box, scene, &p, &m);
		dump(&m);
		cv_match_free(&m);
		fflush(stdout);
		cv_kpset_free(g1);
		cv_kpset_free(g3);
		cv_kpset_free(box);
		cv_kpset_free(scene);
		return 0;
	}

	tap_plan(21);
	if (read_h("H1to3p.xml", gt) == -1)
		return 1;
	cv_kpset_size(g1, &w, &h);

	/* graf1 -> graf3 against the ground truth */
	p.robust = CV_RANSAC;
	cv_verify(g1, g3, &p, &m);
	corner_error(m.box, gt, w, h, &mean, &max);
	diag("RANSAC: %d matches, %d inliers, score %.3f, corner error "
	    "mean %.2f px, worst %.2f px", m.matches, m.inliers, m.score,
	    mean, max);
	ok(m.verified && mean < 3, "graf1 -> graf3, ratio test, RANSAC: "
	    "mean corner error %.2f px < 3", mean);
	ok(max < 2, "... every box corner within 2 px of H1to3p's (worst "
	    "%.2f)", max);
	cv_match_free(&m);
	p.robust = CV_MAGSAC;
	n = 20;
	t = now();
	for (i = 0; i < n; i++) {
		cv_verify(g1, g3, &p, &m);
		if (i < n - 1)
			cv_match_free(&m);
	}
	t = (now() - t) / n;
	corner_error(m.box, gt, w, h, &mean, &max);
	diag("MAGSAC: %d matches, %d inliers, score %.3f, corner error "
	    "mean %.2f px, worst %.2f px; %.1f ms a pair (%d x %d keypoints)",
	    m.matches, m.inliers, m.score, mean, max, t * 1e3,
	    cv_kpset_count(g1), cv_kpset_count(g3));
	ok(m.verified && mean < 3 && max < 2, "graf1 -> graf3, MAGSAC: mean "
	    "%.2f px, worst %.2f px", mean, max);
	ok(m.score > 0.5 && m.score < 1 && m.npairs == m.inliers &&
	    m.inliers >= p.min_inliers, "score %.3f in 0..1, one pair per "
	    "inlier", m.score);
	{
		double worst = 0;

		for (k = 0; k < m.npairs; k++) {
			const float *q = m.pairs + 4 * k;
			double z = m.H[6] * q[0] + m.H[7] * q[1] + m.H[8];
			double x = (m.H[0] * q[0] + m.H[1] * q[1] + m.H[2]) / z;
			double y = (m.H[3] * q[0] + m.H[4] * q[1] + m.H[5]) / z;

			worst = fmax(worst, hypot(x - q[2], y - q[3]));
		}
		ok(worst <= p.reproj + 1e-6, "every inlier pair within %g px "
		    "of H (worst %.2f)", p.reproj, worst);
	}
	{
		/* the significance, computed again from the pairs: the
		 * least NFA over k of (n-4) C(n,k) C(k,4) a^(k-4), a the
		 * odds of the k-th residual (at least 0.5 px) in 800x640 */
		double *res = calloc((size_t)m.npairs + 1, sizeof *res), s = 0;
		int a, b, nm = m.matches;

		for (k = 0; k < m.npairs; k++) {
			const float *q = m.pairs + 4 * k;
			double z = m.H[6] * q[0] + m.H[7] * q[1] + m.H[8];
			double x = (m.H[0] * q[0] + m.H[1] * q[1] + m.H[2]) / z;
			double y = (m.H[3] * q[0] + m.H[4] * q[1] + m.H[5]) / z;

			res[k] = hypot(x - q[2], y - q[3]);
		}
		for (a = 1; a < m.npairs; a++)
			for (b = a; b > 0 && res[b - 1] > res[b]; b--) {
				double x = res[b];

				res[b] = res[b - 1];
				res[b - 1] = x;
			}
		for (k = 5; k <= m.npairs; k++) {
			double e = fmax(0.5, res[k - 1]);
			double l = log(nm - 4.0) + lgamma(nm + 1.0) -
			    lgamma(k + 1.0) - lgamma(nm - k + 1.0) +
			    lgamma(k + 1.0) - lgamma(5.0) - lgamma(k - 3.0) +
			    (k - 4) * log(M_PI * e * e / (800.0 * 640));

			s = fmax(s, -l / log(10));
		}
		free(res);
		ok(fabs(s - m.sig) < 1e-6 * s && fabs(m.score - m.sig /
		    (m.sig + CV_SIG_HALF)) < 1e-12, "significance %.1f, as "
		    "computed from the pairs (%.1f); score %.4f", m.sig, s,
		    m.score);
	}
	cv_verify(g1, g3, &p, &m2);
	ok(memcmp(m.H, m2.H, sizeof m.H) == 0 && m.inliers == m2.inliers &&
	    memcmp(m.pairs, m2.pairs, m.npairs * 4 * sizeof(float)) == 0,
	    "verified twice: the same bits");
	cv_match_free(&m2);

	/* one catalog set, many frames, many threads */
	{
		pthread_t th[3];
		struct job jobs[3];
		int same = 1;

		for (i = 0; i < 3; i++) {
			jobs[i].a = g1;
			jobs[i].b = g3;
			pthread_create(&th[i], NULL, worker, &jobs[i]);
		}
		for (i = 0; i < 3; i++) {
			pthread_join(th[i], NULL);
			for (k = 0; k < 5; k++) {
				same = same && memcmp(jobs[i].m[k].H, m.H,
				    sizeof m.H) == 0 &&
				    jobs[i].m[k].inliers == m.inliers;
				cv_match_free(&jobs[i].m[k]);
			}
		}
		ok(same, "3 threads sharing the sets: the same results");
	}
	cv_match_free(&m);

	/* the distance loops: SIMD and plain give the same results */
	{
		char cmd[4200], a[4096], b[4096], c[4096];
		FILE *fp;
		size_t na = 0, nb = 0, nc = 0;

		snprintf(cmd, sizeof cmd, "'%s' dump", argv[0]);
		if ((fp = popen(cmd, "r")) != NULL) {
			na = fread(a, 1, sizeof a, fp);
			pclose(fp);
		}
		snprintf(cmd, sizeof cmd, "PM_NO_SIMD=1 '%s' dump", argv[0]);
		if ((fp = popen(cmd, "r")) != NULL) {
			nb = fread(b, 1, sizeof b, fp);
			pclose(fp);
		}
		snprintf(cmd, sizeof cmd, "PM_NO_VNNI=1 '%s' dump", argv[0]);
		if ((fp = popen(cmd, "r")) != NULL) {
			nc = fread(c, 1, sizeof c, fp);
			pclose(fp);
		}
		ok(na > 40 && na == nb && memcmp(a, b, na) == 0 && na == nc &&
		    memcmp(a, c, na) == 0, "plain distance loops "
		    "(PM_NO_SIMD=1) and AVX2 ones (PM_NO_VNNI=1) give the same "
		    "bits");
	}

	/* box.png in box_in_scene.png */
	cv_verify(box, scene, &p, &m);
	diag("box: %d matches, %d inliers, score %.3f, box %.1f,%.1f "
	    "%.1f,%.1f %.1f,%.1f %.1f,%.1f", m.matches, m.inliers, m.score,
	    m.box[0], m.box[1], m.box[2], m.box[3], m.box[4], m.box[5],
	    m.box[6], m.box[7]);
	ok(m.verified && m.inliers >= 30, "box.png found in "
	    "box_in_scene.png");
	{
		int sane = 1;
		double area = 0;

		for (k = 0; k < 4; k++) {
			const double *a = m.box + 2 * k;
			const double *b = m.box + 2 * ((k + 1) % 4);
			const double *c = m.box + 2 * ((k + 2) % 4);
			double ux = a[0] - b[0], uy = a[1] - b[1];
			double vx = c[0] - b[0], vy = c[1] - b[1];
			double ang = acos((ux * vx + uy * vy) /
			    (hypot(ux, uy) * hypot(vx, vy))) * 180 / M_PI;

			sane = sane && a[0] >= 0 && a[0] < 512 && a[1] >= 0 &&
			    a[1] < 384 && ang > 60 && ang < 120;
			area += a[0] * b[1] - b[0] * a[1];
		}
		area /= 2 * 512.0 * 384;
		ok(sane && area > 0.05 && area < 0.3, "... a sane box: inside "
		    "the scene, corners 60..120 degrees, %.0f%% of it",
		    area * 100);
	}
	cv_match_free(&m);

	/* what is not there is not found */
	baboon = kpset("baboon.jpg", CV_SIFT, 1);
	cv_verify(box, baboon, &p, &m);
	ok(!m.verified && m.why != NULL, "box.png is not in baboon.jpg (%s, "
	    "%d inliers)", m.why, m.inliers);
	ok(m.sig < 5, "... and whatever consensus there is is insignificant "
	    "(%.2f, %d inliers of %d matches)", m.sig, m.inliers, m.matches);
	cv_match_free(&m);
	cv_verify(box, g3, &p, &m);
	ok(!m.verified, "box.png is not in graf3.png (%s)", m.why);
	cv_match_free(&m);
	cv_verify(g1, baboon, &p, &m);
	ok(!m.verified, "graf1.png is not in baboon.jpg (%s)", m.why);
	cv_match_free(&m);
	cv_verify(scene, box, &p, &m);
	ok(!m.verified && m.inliers >= 30, "the scene is not in box.png: "
	    "%d inliers, but %s", m.inliers, m.why);
	cv_match_free(&m);

	/* binary descriptors: ORB */
	orb1 = kpset("box.png", CV_ORB, 0);
	orb2 = kpset("box_in_scene.png", CV_ORB, 0);
	cv_verify(orb1, orb2, &p, &m);
	ok(m.verified, "ORB: box.png found in box_in_scene.png (%d inliers)",
	    m.inliers);
	cv_match_free(&m);
	k = cv_verify(orb1, scene, &p, &m);
	ok(k == -1 && strstr(pm_why(), "different kinds: orb and rootsift") !=
	    NULL && m.pairs == NULL, "ORB against RootSIFT: %s", pm_why());
	k = cv_verify(box, g3, &p, &m);
	i = cv_verify(g1, box, &p, &m2);
	ok(k == 0 && i == 0 && !m2.verified, "sets of one kind: no error, "
	    "and graf1 is not in box.png (%s)", m2.why);
	cv_match_free(&m);
	cv_match_free(&m2);
	{
		struct cv_kpset *plain = kpset("graf3.png", CV_SIFT, 0);

		k = cv_verify(g1, plain, &p, &m);
		ok(k == -1 && strstr(pm_why(), "rootsift and sift") != NULL,
		    "RootSIFT against plain SIFT: %s", pm_why());
		cv_kpset_free(plain);
	}

	/* bad blobs */
	ok(cv_kpset_new("garbage that is not a keypoint blob at all, no, "
	    "not at all, sixty-four bytes and more", 90) == NULL &&
	    strstr(pm_why(), "magic") != NULL, "a bad blob: %s", pm_why());

	cv_kpset_free(g1);
	cv_kpset_free(g3);
	cv_kpset_free(box);
	cv_kpset_free(scene);
	cv_kpset_free(baboon);
	cv_kpset_free(orb1);
	cv_kpset_free(orb2);
	return tap_done();
}
