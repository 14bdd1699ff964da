/*
 * test-match: a real match record of a catalog image in a frame, for
 * the tests of the stages after pm-match.  Puts both files in the store
 * ($PM_STORE), finds their keypoints and verifies the pair with the
 * OpenCV shim as pm-match does, and prints the match record (and with
 * -a, then an appearance from start to end whose best match it is);
 * exits 1 when the pair does not verify.
 *
 * usage: test-match [-a start,end] video t product catalog-image frame-image
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

static void *
slurp(const char *path, size_t *n)
{
	FILE *fp;
	char *p = NULL;
	size_t cap = 0, r;

	if ((fp = fopen(path, "rb")) == NULL)
		pm_err(2, "%s:", path);
	*n = 0;
	do {
		if (*n == cap)
			p = pm_realloc(p, cap = cap ? 2 * cap : 65536);
		r = fread(p + *n, 1, cap - *n, fp);
		*n += r;
	} while (r > 0);
	if (ferror(fp))
		pm_err(2, "%s:", path);
	fclose(fp);
	return p;
}

static struct cv_kpset *
kpset(const void *img, size_t n, const char *what)
{
	struct cv_kp_opts o;
	struct cv_kpset *s;
	void *blob;
	size_t len;
	int nkp;

	cv_kp_defaults(&o);
	if (cv_kp_extract(img, n, &o, &blob, &len, &nkp) == -1 ||
	    (s = cv_kpset_new(blob, len)) == NULL)
		pm_err(2, "%s: %s", what, pm_why());
	free(blob);
	return s;
}

int
main(int argc, char **argv)
{
	char cname[STORE_NAMELEN + 1], fname[STORE_NAMELEN + 1], *s;
	struct cv_verify_params vp;
	struct cv_kpset *cs, *fs;
	struct cv_match m;
	struct store *st;
	json_t *j, *box, *h;
	void *cat, *fr;
	size_t cn, fn;
	double start = 0, end = 0;
	int k, ch, app = 0;

	pm_init(argv[0]);
	while ((ch = getopt(argc, argv, "a:")) != -1)
		switch (ch) {
		case 'a':
			if (sscanf(optarg, "%lf,%lf", &start, &end) != 2)
				pm_err(2, "-a %s: not start,end", optarg);
			app = 1;
			break;
		default:
			return 2;
		}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 6) {
		fprintf(stderr, "usage: test-match [-a start,end] video t "
		    "product catalog-image frame-image\n");
		return 2;
	}
	if ((st = store_open(NULL)) == NULL)
		pm_err(2, "%s", pm_why());
	cat = slurp(argv[4], &cn);
	fr = slurp(argv[5], &fn);
	if (store_put(st, cat, cn, cname) == -1 ||
	    store_put(st, fr, fn, fname) == -1)
		pm_err(2, "%s", pm_why());
	cs = kpset(cat, cn, argv[4]);
	fs = kpset(fr, fn, argv[5]);
	cv_verify_defaults(&vp);
	if (cv_verify(cs, fs, &vp, &m) == -1)
		pm_err(2, "%s", pm_why());
	if (!m.verified)
		pm_err(1, "%s in %s: no match: %s", argv[4], argv[5], m.why);

	box = json_array();
	for (k = 0; k < 4; k++)
		json_array_append_new(box, json_pack("[oo]",
		    json_fixed(m.box[2 * k], 2), json_fixed(m.box[2 * k + 1], 2)));
	h = json_array();
	for (k = 0; k < 9; k++)
		json_array_append_new(h, json_fixed(m.H[k], k < 6 ? 6 : 10));
	j = json_pack("{ss ss so ss ss ss so si so so}", "type", "match",
	    "video", argv[1], "t", json_fixed(strtod(argv[2], NULL), 3),
	    "frame", fname, "product", argv[3], "image", cname,
	    "score", json_fixed(m.score, 4), "inliers", m.inliers,
	    "box", box, "H", h);
	if (j == NULL)
		pm_err(2, "cannot make the record");
	s = rec_dump(j);
	puts(s);
	free(s);
	if (app) {
		json_t *a = json_pack("{ss ss ss so so sO s{sO sO sO sO}}",
		    "type", "appearance", "video", argv[1], "product", argv[3],
		    "start", json_fixed(start, 3), "end", json_fixed(end, 3),
		    "score", json_object_get(j, "score"),
		    "best", "t", json_object_get(j, "t"),
		    "frame", json_object_get(j, "frame"),
		    "image", json_object_get(j, "image"),
		    "box", json_object_get(j, "box"));

		if (a == NULL)
			pm_err(2, "cannot make the appearance");
		s = rec_dump(a);
		puts(s);
		free(s);
		json_decref(a);
	}
	json_decref(j);
	cv_match_free(&m);
	cv_kpset_free(cs);
	cv_kpset_free(fs);
	free(cat);
	free(fr);
	store_close(st);
	return fclose(stdout) == EOF ? 2 : 0;
}
