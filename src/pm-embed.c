/*
 * pm-embed: a global vector for every image and frame record
 * (pm-embed(1)), or, with -t, a VLAD codebook trained on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cv.h"
#include "embed.h"
#include "err.h"
#include "kpblob.h"
#include "rec.h"
#include "store.h"
#include "vec.h"
#include "vlad.h"

#define TRAIN_PER_IMAGE	500	/* descriptors an image gives the sample */
#define TRAIN_SAMPLE	50000	/* descriptors k-means runs on, at most */
#define TRAIN_ITERS	50	/* Lloyd's iterations, at most */

enum method { VLAD, COLOUR, DNN };

static const char *methods[] = { "vlad", "colour", "dnn" };

struct embed {
	struct store	*store;
	int		 method;
	int		 inline_;	/* -i: the vector in the record */
	struct vlad_codebook cb;
	struct cv_net	*net;
	int		 dim;
	const char	*train;		/* -t: write a codebook here */
	int		 k;		/* -K */
	struct vlad_sample sample;
	long long	 images;
};

/* Training: one image's share of the sample. */
struct share {
	float	*d;
	int	 n;
};

static void
usage(void)
{
	fprintf(stderr, "usage: pm-embed [-i] [-e method] [-j threads] "
	    "[-k codebook] [-r rejects] [-s store] [file ...]\n"
	    "usage: pm-embed -m model [-i] [-C order] [-c config] [-d std] "
	    "[-f fit] [-j threads] [-l layer] [-M mean] [-p pooling] "
	    "[-r rejects] [-S size] [-s store] [-x scale] [file ...]\n"
	    "usage: pm-embed -t codebook [-j threads] [-K centres] "
	    "[-r rejects] [-s store] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

/* Put "prefix: " before the reason of the last failure. */
static int
prefixed(const char *prefix)
{
	char why[1024];

	snprintf(why, sizeof why, "%s", pm_why());
	return pm_fail("%s: %s", prefix, why);
}

/* An image record's blob, read from the store. */
static int
image(struct embed *e, struct rec *r, void **p, size_t *n)
{
	const char *blob;

	if ((blob = rec_str(r, "blob")) == NULL)
		return pm_fail("no blob (pm-fetch and pm-frames store images)");
	return store_get(e->store, blob, p, n);
}

/*
 * The record's SIFT descriptors as RootSIFT vectors: from its keypoint
 * blob when that holds SIFT descriptors, else found in its image with
 * pm-kp's defaults.
 */
static int
descriptors(struct embed *e, struct rec *r, float **d, int *n)
{
	struct cv_kp_opts opts;
	struct kpblob b;
	const char *kp;
	void *p, *img;
	size_t len, ilen;
	int ret, nkp;

	if ((kp = rec_str(r, "kp")) != NULL) {
		if (store_get(e->store, kp, &p, &len) == -1)
			return prefixed("kp");
		if (kpblob_parse(&b, p, len) == -1) {
			free(p);
			return prefixed("kp");
		}
		if (b.detector == KPBLOB_SIFT) {
			ret = vlad_descriptors(&b, d, n);
			free(p);
			return ret;
		}
		free(p);
	}
	if (image(e, r, &img, &ilen) == -1)
		return -1;
	/* pm-kp's defaults, spelled out: the shipped codebook was trained
	 * on these */
	cv_kp_defaults(&opts);
	opts.detector = CV_SIFT;
	opts.rootsift = 1;
	opts.max_kp = 2000;
	opts.max_side = 960;
	opts.spread = CV_SPREAD_ANMS;
	opts.mask = CV_MASK_NONE;
	ret = cv_kp_extract(img, ilen, &opts, &p, &len, &nkp);
	free(img);
	if (ret == -1)
		return -1;
	if (kpblob_parse(&b, p, len) == 0)
		ret = vlad_descriptors(&b, d, n);
	else
		ret = -1;
	free(p);
	return ret;
}

/* The record's vector into *v (malloc'd, e->dim reals). */
static int
vectorise(struct embed *e, struct rec *r, float **v)
{
	float *d;
	void *img;
	size_t n;
	int nd, ret;

	*v = pm_reallocarray(NULL, (size_t)e->dim, sizeof **v);
	switch (e->method) {
	case VLAD:
		if ((ret = descriptors(e, r, &d, &nd)) == 0) {
			vlad_aggregate(&e->cb, d, nd, *v);
			free(d);
		}
		break;
	default:
		if ((ret = image(e, r, &img, &n)) == -1)
			break;
		if (e->method == COLOUR)
			ret = cv_colour_embed(img, n, *v);
		else
			ret = cv_net_embed(e->net, img, n, *v);
		free(img);
	}
	if (ret == -1) {
		free(*v);
		*v = NULL;
	}
	return ret;
}

/* An image or a frame: its vector, as a blob named in "emb" or inline. */
static int
work(struct rec *r, struct out *o, void *arg)
{
	struct embed *e = arg;
	char name[STORE_NAMELEN + 1];
	json_t *a;
	float *v;
	void *p;
	size_t n;
	int i;

	if (vectorise(e, r, &v) == -1)
		return rec_reject(r, "%s", pm_why());
	if (e->inline_) {
		vec_normalise(v, e->dim);
		a = json_array();
		for (i = 0; i < e->dim; i++)
			json_array_append_new(a, json_fixed(v[i], 6));
		json_object_set_new(r->j, "emb", a);
	} else {
		if (vec_write(methods[e->method], v, e->dim, &p, &n) == -1) {
			free(v);
			return rec_reject(r, "%s", pm_why());
		}
		if (store_put(e->store, p, n, name) == -1)
			pm_err(PM_EXIT_FATAL, "store: %s", pm_why());
		free(p);
		json_object_set_new(r->j, "emb", json_string(name));
	}
	free(v);
	json_object_set_new(r->j, "emb_method",
	    json_string(methods[e->method]));
	out_rec(o, r->j);
	return 0;
}

/*
 * Training, on many threads: an image's descriptors, at most
 * TRAIN_PER_IMAGE of them evenly spaced; the record passes unchanged.
 */
static int
train_work(struct rec *r, struct out *o, void *arg)
{
	struct embed *e = arg;
	struct share *s;
	float *d;
	int n, i, m;

	if (descriptors(e, r, &d, &n) == -1)
		return rec_reject(r, "%s", pm_why());
	s = pm_calloc(1, sizeof *s);
	m = n < TRAIN_PER_IMAGE ? n : TRAIN_PER_IMAGE;
	if (m > 0) {
		s->d = pm_reallocarray(NULL, (size_t)m * VLAD_DIM, sizeof *s->d);
		for (i = 0; i < m; i++)
			memcpy(s->d + (size_t)i * VLAD_DIM,
			    d + (size_t)((long long)i * n / m) * VLAD_DIM,
			    VLAD_DIM * sizeof *d);
	}
	s->n = m;
	free(d);
	r->data = s;
	out_pass(o, r);
	return 0;
}

/* In input order: the image's share joins the sample. */
static int
train_serial(struct rec *r, struct out *o, void *arg)
{
	struct embed *e = arg;
	struct share *s = r->data;

	vlad_sample_add(&e->sample, s->d, s->n);
	e->images++;
	return 0;
}

static void
train_drop(void *data)
{
	struct share *s = data;

	free(s->d);
	free(s);
}

static int
train_end(struct out *o, void *arg)
{
	struct embed *e = arg;
	struct vlad_codebook cb;

	if (vlad_train(e->sample.d, e->sample.n, e->k, TRAIN_ITERS, &cb) == -1)
		pm_err(PM_EXIT_FATAL, "%s: %s (%d descriptors of %lld "
		    "images)", e->train, pm_why(), e->sample.n, e->images);
	if (vlad_codebook_save(&cb, e->train) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	vlad_codebook_free(&cb);
	return 0;
}

/* A list of one or three reals, for -M and -d. */
static void
triple(const char *s, double v[3], double min, const char *what)
{
	char buf[64], *p, *q;
	int i;

	if (strlen(s) >= sizeof buf)
		pm_err(PM_EXIT_FATAL, "%s: too long: %s", what, s);
	memcpy(buf, s, strlen(s) + 1);
	for (i = 0, p = buf; i < 3; i++, p = q + 1) {
		if ((q = strchr(p, ',')) != NULL)
			*q = '\0';
		v[i] = pm_real(p, min, 1e6, what);
		if (q == NULL)
			break;
	}
	if (i == 0)
		v[1] = v[2] = v[0];
	else if (i != 2 || q != NULL)
		pm_err(PM_EXIT_FATAL, "%s: one number or three, comma-"
		    "separated: %s", what, s);
}

int
main(int argc, char *argv[])
{
	struct embed e;
	struct cv_net_opts no;
	struct loop l = { 0 };
	const char *dir = NULL, *codebook = NULL;
	char *shipped = NULL, *x, *p;
	void *cbp;
	size_t cbn;
	int ch, status, netopts = 0, emethod = -1, kset = 0;

	pm_init(argv[0]);
	memset(&e, 0, sizeof e);
	e.k = 32;
	cv_net_defaults(&no);
	while ((ch = getopt(argc, argv, "C:c:d:e:f:ij:K:k:l:M:m:p:r:S:s:t:x:"))
	    != -1) {
		switch (ch) {
		case 'C':
			if (strcmp(optarg, "rgb") == 0)
				no.order = CV_ORDER_RGB;
			else if (strcmp(optarg, "bgr") == 0)
				no.order = CV_ORDER_BGR;
			else if (strcmp(optarg, "gray") == 0)
				no.order = CV_ORDER_GRAY;
			else
				pm_err(PM_EXIT_FATAL, "-C: unknown channel "
				    "order: %s (rgb, bgr or gray)", optarg);
			netopts = 1;
			break;
		case 'c':
			no.config = optarg;
			netopts = 1;
			break;
		case 'd':
			triple(optarg, no.std, 1e-9, "-d");
			netopts = 1;
			break;
		case 'e':
			for (emethod = 0; emethod < 3; emethod++)
				if (strcmp(optarg, methods[emethod]) == 0)
					break;
			if (emethod == 3)
				pm_err(PM_EXIT_FATAL, "-e: unknown method: %s "
				    "(vlad, colour or dnn)", optarg);
			break;
		case 'f':
			if (strcmp(optarg, "stretch") == 0)
				no.fit = CV_FIT_STRETCH;
			else if (strcmp(optarg, "crop") == 0)
				no.fit = CV_FIT_CROP;
			else if (strncmp(optarg, "crop=", 5) == 0) {
				no.fit = CV_FIT_CROP;
				no.crop_side = (int)pm_num(optarg + 5, 1, 16384,
				    "-f crop");
			} else
				pm_err(PM_EXIT_FATAL, "-f: unknown fit: %s "
				    "(stretch, crop or crop=SIDE)", optarg);
			netopts = 1;
			break;
		case 'i':
			e.inline_ = 1;
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'K':
			e.k = (int)pm_num(optarg, 1, VLAD_MAXK, "-K");
			kset = 1;
			break;
		case 'k':
			codebook = optarg;
			break;
		case 'l':
			no.layer = optarg;
			netopts = 1;
			break;
		case 'M':
			triple(optarg, no.mean, -1e6, "-M");
			netopts = 1;
			break;
		case 'm':
			no.model = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "auto") == 0)
				no.pool = CV_POOL_AUTO;
			else if (strcmp(optarg, "none") == 0)
				no.pool = CV_POOL_NONE;
			else if (strcmp(optarg, "avg") == 0)
				no.pool = CV_POOL_AVG;
			else if (strcmp(optarg, "max") == 0)
				no.pool = CV_POOL_MAX;
			else if (strcmp(optarg, "gem") == 0)
				no.pool = CV_POOL_GEM;
			else if (strncmp(optarg, "gem=", 4) == 0) {
				no.pool = CV_POOL_GEM;
				no.gem_p = pm_real(optarg + 4, 0.1, 100, "-p gem");
			} else
				pm_err(PM_EXIT_FATAL, "-p: unknown pooling: %s "
				    "(auto, none, avg, max, gem or gem=P)", optarg);
			netopts = 1;
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 'S':
			x = strchr(optarg, 'x');
			if (x == NULL)
				no.w = no.h = (int)pm_num(optarg, 1, 8192, "-S");
			else {
				p = pm_asprintf("%.*s", (int)(x - optarg), optarg);
				no.w = (int)pm_num(p, 1, 8192, "-S width");
				no.h = (int)pm_num(x + 1, 1, 8192, "-S height");
				free(p);
			}
			netopts = 1;
			break;
		case 's':
			dir = optarg;
			break;
		case 't':
			e.train = optarg;
			break;
		case 'x':
			no.scale = pm_real(optarg, -1e6, 1e6, "-x");
			netopts = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (no.model != NULL && emethod != -1 && emethod != DNN)
		pm_err(PM_EXIT_FATAL, "-m runs a network: not with -e %s",
		    methods[emethod]);
	if (emethod == DNN && no.model == NULL)
		pm_err(PM_EXIT_FATAL, "-e dnn: the network's file is missing "
		    "(-m model)");
	e.method = no.model != NULL ? DNN : emethod != -1 ? emethod : VLAD;
	if (netopts && e.method != DNN)
		pm_err(PM_EXIT_FATAL, "-C, -c, -d, -f, -l, -M, -p, -S and -x "
		    "are options of -m");
	if (e.train != NULL && (e.method != VLAD || codebook != NULL ||
	    e.inline_))
		pm_err(PM_EXIT_FATAL, "-t trains a codebook: not with -e, -i, "
		    "-k or -m");
	if (kset && e.train == NULL)
		pm_err(PM_EXIT_FATAL, "-K is an option of -t");
	if (codebook != NULL && e.method != VLAD)
		pm_err(PM_EXIT_FATAL, "-k is an option of -e vlad");

	if ((e.store = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if (e.train != NULL) {
		vlad_sample_init(&e.sample, TRAIN_SAMPLE);
		l.work = train_work;
		l.serial = train_serial;
		l.end = train_end;
		l.drop = train_drop;
	} else {
		l.work = work;
		switch (e.method) {
		case VLAD:
			if (codebook == NULL)
				codebook = shipped = vlad_codebook_shipped();
			if (access(codebook, F_OK) != 0 &&
			    store_name_ok(codebook)) {
				if (store_get(e.store, codebook, &cbp, &cbn) == -1 ||
				    vlad_codebook_parse(&e.cb, cbp, cbn) == -1)
					pm_err(PM_EXIT_FATAL, "codebook %s: %s",
					    codebook, pm_why());
				free(cbp);
			} else if (vlad_codebook_load(&e.cb, codebook) == -1)
				pm_err(PM_EXIT_FATAL, "%s", pm_why());
			e.dim = e.cb.k * e.cb.dim;
			break;
		case COLOUR:
			e.dim = CV_COLOUR_DIM;
			break;
		case DNN:
			if ((e.net = cv_net_open(&no)) == NULL)
				pm_err(PM_EXIT_FATAL, "%s", pm_why());
			e.dim = cv_net_dim(e.net);
			break;
		}
	}
	l.types = "image frame";
	l.arg = &e;
	l.what = "images";
	status = loop_run(&l, argc, argv);

	if (e.train != NULL)
		vlad_sample_free(&e.sample);
	vlad_codebook_free(&e.cb);
	if (e.net != NULL)
		cv_net_close(e.net);
	free(shipped);
	store_close(e.store);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
