/*
 * embed-ref: the bare loop bench/embed.sh measures pm-embed against: the
 * same computation on the same images, without pm's records and store.
 *
 * usage: embed-ref vlad codebook threads file...
 *	  embed-ref vladkp codebook threads kpblob...
 *	  embed-ref colour threads file...
 *	  embed-ref dnn model config side threads file...
 *
 * Each of threads workers takes the next file, reads it, and computes
 * its vector with the functions pm-embed calls (OpenCV single-threaded,
 * as in pm): vlad, SIFT keypoints and descriptors (cv_kp_extract()) and
 * their VLAD; vladkp, the VLAD of the descriptors of keypoint blobs
 * (pm-kp's output); colour, the colour and texture histogram; dnn, the
 * network's output, averaged.  Prints the number of vectors and the
 * sum of their first elements, so that none of the work can be left
 * out.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "embed.h"
#include "err.h"
#include "kpblob.h"
#include "vlad.h"

static const char *method;
static struct vlad_codebook cb;
static struct cv_net *net;
static char **files;
static int nfiles, next, done;
static double sum;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned char *
slurp(const char *path, size_t *n)
{
	unsigned char *p = NULL;
	size_t cap = 0, r;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		pm_err(2, "%s:", path);
	*n = 0;
	for (;;) {
		if (*n == cap)
			p = pm_realloc(p, cap = cap ? 2 * cap : 1 << 16);
		if ((r = fread(p + *n, 1, cap - *n, fp)) == 0)
			break;
		*n += r;
	}
	fclose(fp);
	return p;
}

/* The vector of one image file into v; its length. */
static int
vector(const char *path, float **v)
{
	struct cv_kp_opts o;
	struct kpblob b;
	unsigned char *img;
	void *kb;
	float *d;
	size_t n, kn;
	int nkp, nd, dim = 0;

	img = slurp(path, &n);
	if (strcmp(method, "vladkp") == 0) {
		if (kpblob_parse(&b, img, n) == -1 ||
		    vlad_descriptors(&b, &d, &nd) == -1)
			pm_err(2, "%s: %s", path, pm_why());
		dim = cb.k * cb.dim;
		*v = pm_reallocarray(NULL, dim, sizeof **v);
		vlad_aggregate(&cb, d, nd, *v);
		free(d);
	} else if (strcmp(method, "vlad") == 0) {
		cv_kp_defaults(&o);
		if (cv_kp_extract(img, n, &o, &kb, &kn, &nkp) == -1 ||
		    kpblob_parse(&b, kb, kn) == -1 ||
		    vlad_descriptors(&b, &d, &nd) == -1)
			pm_err(2, "%s: %s", path, pm_why());
		dim = cb.k * cb.dim;
		*v = pm_reallocarray(NULL, dim, sizeof **v);
		vlad_aggregate(&cb, d, nd, *v);
		free(d);
		free(kb);
	} else if (strcmp(method, "colour") == 0) {
		dim = CV_COLOUR_DIM;
		*v = pm_reallocarray(NULL, dim, sizeof **v);
		if (cv_colour_embed(img, n, *v) == -1)
			pm_err(2, "%s: %s", path, pm_why());
	} else {
		dim = cv_net_dim(net);
		*v = pm_reallocarray(NULL, dim, sizeof **v);
		if (cv_net_embed(net, img, n, *v) == -1)
			pm_err(2, "%s: %s", path, pm_why());
	}
	free(img);
	return dim;
}

static void *
worker(void *arg)
{
	float *v;
	int i;

	for (;;) {
		pthread_mutex_lock(&mu);
		i = next < nfiles ? next++ : -1;
		pthread_mutex_unlock(&mu);
		if (i == -1)
			return NULL;
		vector(files[i], &v);
		pthread_mutex_lock(&mu);
		sum += v[0];
		done++;
		pthread_mutex_unlock(&mu);
		free(v);
	}
}

int
main(int argc, char *argv[])
{
	struct cv_net_opts o;
	pthread_t *t;
	int i, threads;

	pm_init(argv[0]);
	if (argc < 4)
		goto usage;
	method = argv[1];
	if (strcmp(method, "vlad") == 0 || strcmp(method, "vladkp") == 0) {
		if (vlad_codebook_load(&cb, argv[2]) == -1)
			pm_err(2, "%s", pm_why());
		argv += 3;
		argc -= 3;
	} else if (strcmp(method, "colour") == 0) {
		argv += 2;
		argc -= 2;
	} else if (strcmp(method, "dnn") == 0 && argc >= 6) {
		cv_net_defaults(&o);
		o.model = argv[2];
		o.config = argv[3];
		o.w = o.h = (int)pm_num(argv[4], 1, 8192, "side");
		if ((net = cv_net_open(&o)) == NULL)
			pm_err(2, "%s", pm_why());
		argv += 5;
		argc -= 5;
	} else
		goto usage;
	threads = (int)pm_num(argv[0], 1, 256, "threads");
	files = argv + 1;
	nfiles = argc - 1;
	t = pm_calloc(threads, sizeof *t);
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("%d vectors, %g\n", done, sum);
	free(t);
	vlad_codebook_free(&cb);
	if (net != NULL)
		cv_net_close(net);
	return 0;
usage:
	fprintf(stderr, "usage: embed-ref vlad codebook threads file...\n"
	    "       embed-ref vladkp codebook threads kpblob...\n"
	    "       embed-ref colour threads file...\n"
	    "       embed-ref dnn model config side threads file...\n");
	return 2;
}
