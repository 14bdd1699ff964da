/*
 * pm-evidence: draw the picture that proves a match: the product image
 * beside the frame, the product's outline in the frame, inlier lines and
 * a caption.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "evidence.h"
#include "outfile.h"
#include "rec.h"
#include "store.h"

struct ctx {
	struct store		*s;
	struct evidence_opts	 o;
	const char		*dir;	/* -d */
	json_t			*names;	/* -d: names written, for duplicates */
};

static void
usage(void)
{
	fprintf(stderr, "usage: pm-evidence [-d dir] [-j threads] [-l lines] "
	    "[-q quality] [-r file] [-s dir] [-w width] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static void
drop(void *data)
{
	evidence_pic_free(data);
	free(data);
}

static int
work(struct rec *r, struct out *out, void *arg)
{
	struct ctx *c = arg;
	struct evidence_req q;
	struct evidence_pic pic;

	if (evidence_req_read(r->j, &q) == -1 ||
	    evidence_make(c->s, &q, &c->o, &pic) == -1)
		return rec_reject(r, "%s", pm_why());
	json_object_set_new(r->j, "evidence", json_string(pic.blob));
	if (c->dir == NULL) {
		out_rec(out, r->j);
		evidence_pic_free(&pic);
		return 0;
	}
	/* serial() writes the file, so that duplicate names are numbered
	 * in input order */
	r->data = pm_malloc(sizeof pic);
	memcpy(r->data, &pic, sizeof pic);
	return 0;
}

static int
serial(struct rec *r, struct out *out, void *arg)
{
	struct ctx *c = arg;
	struct evidence_pic *pic = r->data;
	struct evidence_req q;
	char *base, *name;
	int k, stem;

	if (evidence_req_read(r->j, &q) == -1)
		return rec_reject(r, "%s", pm_why());
	base = evidence_name(&q);
	stem = (int)strlen(base) - 4;		/* without ".jpg" */
	name = pm_strdup(base);
	/* the same video, product and time again: NAME+2.jpg, ... */
	for (k = 2; json_object_get(c->names, name) != NULL; k++) {
		free(name);
		name = pm_asprintf("%.*s+%d.jpg", stem, base, k);
	}
	free(base);
	json_object_set_new(c->names, name, json_true());
	if (outfile_write(c->dir, name, pic->jpeg, pic->len) == -1) {
		free(name);
		return rec_reject(r, "%s", pm_why());
	}
	json_object_set_new(r->j, "evidence_file",
	    json_string(name));
	free(name);
	out_rec(out, r->j);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctx c = { 0 };
	struct loop l = { 0 };
	struct stat st;
	const char *store = NULL;
	int ch, status;

	pm_init(argv[0]);
	c.o.width = EVIDENCE_WIDTH;
	c.o.quality = EVIDENCE_QUALITY;
	c.o.lines = EVIDENCE_NLINES;
	while ((ch = getopt(argc, argv, "d:j:l:q:r:s:w:")) != -1)
		switch (ch) {
		case 'd':
			c.dir = optarg;
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 0, 1024, "-j");
			break;
		case 'l':
			c.o.lines = (int)pm_num(optarg, 0, 10000, "-l");
			break;
		case 'q':
			c.o.quality = (int)pm_num(optarg, 1, 100, "-q");
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'w':
			c.o.width = (int)pm_num(optarg, 64, 8192, "-w");
			break;
		default:
			usage();
		}
	argc -= optind;
	argv += optind;

	if ((c.s = store_open(store)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if (c.dir != NULL) {
		if (mkdir(c.dir, 0777) == -1 && errno != EEXIST)
			pm_err(PM_EXIT_FATAL, "%s:", c.dir);
		if (stat(c.dir, &st) == -1)
			pm_err(PM_EXIT_FATAL, "%s:", c.dir);
		if (!S_ISDIR(st.st_mode))
			pm_err(PM_EXIT_FATAL, "%s: not a directory", c.dir);
		c.names = json_object();
		l.serial = serial;
	}
	l.types = "match appearance";
	l.work = work;
	l.drop = drop;
	l.arg = &c;
	l.what = "pictures";
	status = loop_run(&l, argc, argv);
	json_decref(c.names);
	store_close(c.s);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
