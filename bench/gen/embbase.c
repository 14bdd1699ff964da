/*
 * embbase: the embedding-only baseline of bench/accuracy.sh, the
 * decision of the system pm replaces: a frame shows a product when the
 * cosine similarity of their global vectors is high enough.
 *
 *	embbase [-j threads] [-r rejects] [-s store] catalog [file ...]
 *
 * catalog holds image records with "emb" (pm-embed's output for the
 * catalog).  Each frame record with "emb" read from the files (or
 * standard input) is passed through, followed by a match record for
 * every product, its "score" the best cosine similarity of the
 * product's images to the frame, its "product" and "image" that image's.
 * The threshold is left to the scorer (accscore -S), which tries them
 * all.  Other records pass through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "rec.h"
#include "store.h"
#include "vec.h"

struct cvec {
	char	*product, *blob;
	struct vec v;
};

struct emb {
	struct store	*store;
	struct cvec	*cat;
	size_t		 ncat;
};

static void
usage(void)
{
	fprintf(stderr, "usage: embbase [-j threads] [-r rejects] "
	    "[-s store] catalog [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static void
load_catalog(struct emb *b, const char *path)
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
		const char *type, *prod, *blob;
		struct cvec *c;

		n++;
		if ((j = json_loads(line, 0, &e)) == NULL)
			pm_err(PM_EXIT_FATAL, "%s:%ld: %s", path, n, e.text);
		type = json_string_value(json_object_get(j, "type"));
		prod = json_string_value(json_object_get(j, "product"));
		blob = json_string_value(json_object_get(j, "blob"));
		if (type == NULL || strcmp(type, "image") != 0) {
			json_decref(j);
			continue;
		}
		if (prod == NULL || blob == NULL)
			pm_err(PM_EXIT_FATAL, "%s:%ld: image without product "
			    "or blob", path, n);
		b->cat = pm_reallocarray(b->cat, b->ncat + 1, sizeof *b->cat);
		c = &b->cat[b->ncat++];
		c->product = pm_strdup(prod);
		c->blob = pm_strdup(blob);
		if (vec_from_json(&c->v, j, b->store) == -1)
			pm_err(PM_EXIT_FATAL, "%s:%ld: %s", path, n, pm_why());
		if (c->v.dim != b->cat[0].v.dim)
			pm_err(PM_EXIT_FATAL, "%s:%ld: %d elements, not %d",
			    path, n, c->v.dim, b->cat[0].v.dim);
		json_decref(j);
	}
	free(line);
	fclose(fp);
	if (b->ncat == 0)
		pm_err(PM_EXIT_FATAL, "%s: no image records", path);
}

static int
work(struct rec *r, struct out *o, void *arg)
{
	struct emb *b = arg;
	struct vec fv;
	double *cos, t;
	size_t i, k;
	int d;

	if (rec_str(r, "video") == NULL || rec_num(r, "t", &t) == -1)
		return rec_reject(r, "no video or t");
	if (vec_from_json(&fv, r->j, b->store) == -1)
		return rec_reject(r, "%s", pm_why());
	if (fv.dim != b->cat[0].v.dim) {
		vec_free(&fv);
		return rec_reject(r, "%d elements, the catalog's %d", fv.dim,
		    b->cat[0].v.dim);
	}
	cos = pm_calloc(b->ncat, sizeof *cos);
	for (i = 0; i < b->ncat; i++)
		for (d = 0; d < fv.dim; d++)
			cos[i] += (double)fv.v[d] * b->cat[i].v.v[d];
	vec_free(&fv);
	out_rec(o, r->j);
	for (i = 0; i < b->ncat; i++) {
		json_t *m;
		int top = 1;

		for (k = 0; k < b->ncat && top; k++)
			if (k != i && strcmp(b->cat[k].product,
			    b->cat[i].product) == 0 && (cos[k] > cos[i] ||
			    (cos[k] == cos[i] && k < i)))
				top = 0;
		if (!top)
			continue;
		m = json_pack("{ss sO sO ss ss ss so}",
		    "type", "match",
		    "video", json_object_get(r->j, "video"),
		    "t", json_object_get(r->j, "t"),
		    "frame", rec_str(r, "blob") ? rec_str(r, "blob") : "",
		    "product", b->cat[i].product,
		    "image", b->cat[i].blob,
		    "score", json_fixed(cos[i], 5));
		if (m == NULL)
			pm_err(PM_EXIT_FATAL, "cannot make a match record");
		out_rec(o, m);
		json_decref(m);
	}
	free(cos);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct emb b;
	struct loop l = { 0 };
	const char *dir = NULL;
	size_t i;
	int ch, status;

	pm_init(argv[0]);
	memset(&b, 0, sizeof b);
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
		vec_free(&b.cat[i].v);
		free(b.cat[i].product);
		free(b.cat[i].blob);
	}
	free(b.cat);
	store_close(b.store);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
