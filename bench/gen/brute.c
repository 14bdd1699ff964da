/*
 * brute: the brute-force baseline of bench/accuracy.sh: every catalog
 * image verified in every frame, no shortlist.
 *
 *	brute [-j threads] [-r rejects] [-s store] catalog [file ...]
 *
 * catalog holds image records with "kp" (pm-kp's output for the
 * catalog).  Each frame record with "kp" read from the files (or
 * standard input) is passed through, followed by one match record for
 * each product that cv_verify() (default thresholds) finds in it: the
 * product's image with the best score, with the fields of SPEC's match
 * record.  Other records pass through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cv.h"
#include "err.h"
#include "rec.h"
#include "store.h"

struct cimg {
	char	*product, *blob;
	struct cv_kpset *kp;
};

struct brute {
	struct store	*store;
	struct cimg	*cat;
	size_t		 ncat;
	struct cv_verify_params params;
};

static void
usage(void)
{
	fprintf(stderr, "usage: brute [-j threads] [-r rejects] [-s store] "
	    "catalog [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static struct cv_kpset *
kpset(struct store *s, const char *name)
{
	struct cv_kpset *k;
	void *p;
	size_t n;

	if (store_get(s, name, &p, &n) == -1)
		return NULL;
	k = cv_kpset_new(p, n);
	free(p);
	return k;
}

static void
load_catalog(struct brute *b, const char *path)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	if ((fp = fopen(path, "r")) == NULL)
		pm_err(PM_EXIT_FATAL, "%s:", path);
	while (getline(&line, &cap, fp) > 0) {
		json_error_t e;
		json_t *j;
		const char *type, *kp, *prod, *blob;
		struct cimg *c;

		n++;
		if ((j = json_loads(line, 0, &e)) == NULL)
			pm_err(PM_EXIT_FATAL, "%s:%ld: %s", path, n, e.text);
		type = json_string_value(json_object_get(j, "type"));
		kp = json_string_value(json_object_get(j, "kp"));
		prod = json_string_value(json_object_get(j, "product"));
		blob = json_string_value(json_object_get(j, "blob"));
		if (type == NULL || strcmp(type, "image") != 0) {
			json_decref(j);
			continue;
		}
		if (kp == NULL || prod == NULL || blob == NULL)
			pm_err(PM_EXIT_FATAL, "%s:%ld: image without kp, "
			    "product or blob", path, n);
		b->cat = pm_reallocarray(b->cat, b->ncat + 1, sizeof *b->cat);
		c = &b->cat[b->ncat++];
		c->product = pm_strdup(prod);
		c->blob = pm_strdup(blob);
		if ((c->kp = kpset(b->store, kp)) == NULL)
			pm_err(PM_EXIT_FATAL, "%s:%ld: %s", path, n, pm_why());
		json_decref(j);
	}
	free(line);
	fclose(fp);
	if (b->ncat == 0)
		pm_err(PM_EXIT_FATAL, "%s: no image records", path);
}

static json_t *
box_json(const double *b)
{
	json_t *a = json_array();
	int k;

	for (k = 0; k < 4; k++)
		json_array_append_new(a, json_pack("[oo]",
		    json_fixed(b[2 * k], 2), json_fixed(b[2 * k + 1], 2)));
	return a;
}

static int
work(struct rec *r, struct out *o, void *arg)
{
	struct brute *b = arg;
	struct cv_kpset *fk;
	struct cv_match *best;
	const char *kp = rec_str(r, "kp");
	size_t i, k;

	double t;

	if (kp == NULL)
		return rec_reject(r, "no kp (run pm-kp first)");
	if (rec_str(r, "video") == NULL || rec_num(r, "t", &t) == -1)
		return rec_reject(r, "no video or t");
	if ((fk = kpset(b->store, kp)) == NULL)
		return rec_reject(r, "%s", pm_why());
	best = pm_calloc(b->ncat, sizeof *best);
	for (i = 0; i < b->ncat; i++) {
		if (cv_verify(b->cat[i].kp, fk, &b->params, &best[i]) == -1) {
			for (k = 0; k < i; k++)
				cv_match_free(&best[k]);
			cv_kpset_free(fk);
			free(best);
			return rec_reject(r, "%s", pm_why());
		}
	}
	out_rec(o, r->j);
	/* one match per product: its image with the best score */
	for (i = 0; i < b->ncat; i++) {
		json_t *m, *H;
		int top = best[i].verified;

		for (k = 0; k < b->ncat && top; k++)
			if (k != i && best[k].verified &&
			    strcmp(b->cat[k].product, b->cat[i].product) == 0 &&
			    (best[k].score > best[i].score ||
			    (best[k].score == best[i].score && k < i)))
				top = 0;
		if (!top)
			continue;
		H = json_array();
		for (k = 0; k < 9; k++)
			json_array_append_new(H, json_fixed(best[i].H[k], 9));
		m = json_pack("{ss sO sO ss ss ss so si so so}",
		    "type", "match",
		    "video", json_object_get(r->j, "video"),
		    "t", json_object_get(r->j, "t"),
		    "frame", rec_str(r, "blob") ? rec_str(r, "blob") : "",
		    "product", b->cat[i].product,
		    "image", b->cat[i].blob,
		    "score", json_fixed(best[i].score, 4),
		    "inliers", best[i].inliers,
		    "box", box_json(best[i].box),
		    "H", H);
		if (m == NULL)
			pm_err(PM_EXIT_FATAL, "cannot make a match record");
		out_rec(o, m);
		json_decref(m);
	}
	for (i = 0; i < b->ncat; i++)
		cv_match_free(&best[i]);
	free(best);
	cv_kpset_free(fk);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct brute b;
	struct loop l = { 0 };
	const char *dir = NULL;
	size_t i;
	int ch, status;

	pm_init(argv[0]);
	memset(&b, 0, sizeof b);
	cv_verify_defaults(&b.params);
	while ((ch = getopt(argc, argv, "j:r:s:")) != -1) {
		switch (ch) {
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 's':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if ((b.store = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	load_catalog(&b, argv[0]);
	l.types = "frame";
	l.work = work;
	l.arg = &b;
	l.what = "frames";
	status = loop_run(&l, argc - 1, argv + 1);
	for (i = 0; i < b.ncat; i++) {
		cv_kpset_free(b.cat[i].kp);
		free(b.cat[i].product);
		free(b.cat[i].blob);
	}
	free(b.cat);
	store_close(b.store);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
