/*
 * pm-kp: local features of image and frame records into keypoint blobs
 * (pm-kp(1)).
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

struct kp {
	struct store	*store;
	struct cv_kp_opts opts;
};

static void
usage(void)
{
	fprintf(stderr, "usage: pm-kp [-c contrast] [-d detector] [-F mask] "
	    "[-g cells] [-j threads] [-m side] [-n max] [-r rejects] "
	    "[-s store] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

/*
 * An image or a frame: its blob's keypoints into a keypoint blob, named
 * in "kp", counted in "nkp".  Only image records are masked: a frame is
 * never a product photo on a plain background.
 */
static int
work(struct rec *r, struct out *o, void *arg)
{
	struct kp *k = arg;
	struct cv_kp_opts opts = k->opts;
	char name[STORE_NAMELEN + 1];
	const char *blob;
	void *img, *kb;
	size_t n, kn;
	int nkp;

	if ((blob = rec_str(r, "blob")) == NULL)
		return rec_reject(r, "no blob (pm-fetch and pm-frames store "
		    "images)");
	if (store_get(k->store, blob, &img, &n) == -1)
		return rec_reject(r, "%s", pm_why());
	if (strcmp(r->type, "image") != 0)
		opts.mask = CV_MASK_NONE;
	if (cv_kp_extract(img, n, &opts, &kb, &kn, &nkp) == -1) {
		free(img);
		return rec_reject(r, "%s", pm_why());
	}
	free(img);
	if (store_put(k->store, kb, kn, name) == -1)
		pm_err(PM_EXIT_FATAL, "store: %s", pm_why());
	free(kb);
	json_object_set_new(r->j, "kp", json_string(name));
	json_object_set_new(r->j, "nkp", json_integer(nkp));
	out_rec(o, r->j);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct kp k;
	struct loop l = { 0 };
	const char *dir = NULL;
	int ch, status;

	pm_init(argv[0]);
	memset(&k, 0, sizeof k);
	cv_kp_defaults(&k.opts);
	while ((ch = getopt(argc, argv, "c:d:F:g:j:m:n:r:s:")) != -1) {
		switch (ch) {
		case 'c':
			if (strcmp(optarg, "none") == 0)
				k.opts.contrast = CV_CONTRAST_NONE;
			else if (strcmp(optarg, "stretch") == 0)
				k.opts.contrast = CV_CONTRAST_STRETCH;
			else if (strcmp(optarg, "clahe") == 0)
				k.opts.contrast = CV_CONTRAST_CLAHE;
			else
				pm_err(PM_EXIT_FATAL, "-c: unknown contrast: "
				    "%s (none, stretch or clahe)", optarg);
			break;
		case 'd':
			k.opts.rootsift = strcmp(optarg, "rootsift") == 0;
			k.opts.detector = cv_detector_num(k.opts.rootsift ?
			    "sift" : optarg);
			if (k.opts.detector == -1)
				pm_err(PM_EXIT_FATAL, "-d: unknown detector: "
				    "%s (rootsift, sift, orb or akaze)",
				    optarg);
			break;
		case 'F':
			if (strcmp(optarg, "none") == 0)
				k.opts.mask = CV_MASK_NONE;
			else if (strcmp(optarg, "border") == 0)
				k.opts.mask = CV_MASK_BORDER;
			else if (strcmp(optarg, "grabcut") == 0)
				k.opts.mask = CV_MASK_GRABCUT;
			else
				pm_err(PM_EXIT_FATAL, "-F: unknown mask: %s "
				    "(none, border or grabcut)", optarg);
			break;
		case 'g':
			k.opts.grid = (int)pm_num(optarg, 0, 256, "-g");
			k.opts.spread = k.opts.grid > 0 ? CV_SPREAD_GRID :
			    CV_SPREAD_NONE;
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'm':
			k.opts.max_side = (int)pm_num(optarg, 0, 65536, "-m");
			break;
		case 'n':
			k.opts.max_kp = (int)pm_num(optarg, 0, 1000000, "-n");
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

	if ((k.store = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	l.types = "image frame";
	l.work = work;
	l.arg = &k;
	l.what = "images";
	status = loop_run(&l, argc, argv);
	store_close(k.store);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
