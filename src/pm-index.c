/*
 * pm-index: index a catalog's images for pm-match: their global vectors
 * (a HNSW graph), a visual vocabulary with an inverted file, and what
 * verification needs of each image (pm-index(1)).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "index.h"
#include "ixbuild.h"
#include "rec.h"
#include "store.h"

struct ctx {
	struct ixb	*b;
	struct store	*st;
	const char	*out;
};

static void
usage(void)
{
	fprintf(stderr, "usage: pm-index [-a index] [-g vectors] [-j threads] "
	    "[-k words] [-M links] [-n sample] [-o file] [-r rejects] "
	    "[-s store] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static int
work(struct rec *r, struct out *o, void *arg)
{
	struct ctx *c = arg;
	struct ixb_item *it;

	if (ixb_item(c->b, r->j, &it) == -1)
		return rec_reject(r, "%s", pm_why());
	r->data = it;
	out_pass(o, r);
	return 0;
}

static int
serial(struct rec *r, struct out *o, void *arg)
{
	struct ctx *c = arg;

	if (ixb_add(c->b, r->data) == -1)
		return rec_reject(r, "%s", pm_why());
	return 0;
}

static void
drop(void *data)
{
	ixb_item_free(data);
}

/* Write p[0..n) to path through a temporary file in its directory. */
static void
write_file(const char *path, const void *p, size_t n)
{
	char *tmp, *dup, *dir;
	int fd;

	dup = pm_strdup(path);
	dir = dirname(dup);
	tmp = pm_asprintf("%s/.pm-index.XXXXXX", dir);
	free(dup);
	if ((fd = mkstemp(tmp)) == -1)
		pm_err(PM_EXIT_FATAL, "%s:", tmp);
	/* write_all(): write(2) moves at most 2 GiB at a time */
	if (write_all(fd, p, n) == -1 || fsync(fd) == -1 ||
	    fchmod(fd, 0644) == -1 || close(fd) == -1) {
		unlink(tmp);
		pm_err(PM_EXIT_FATAL, "%s:", path);
	}
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		pm_err(PM_EXIT_FATAL, "%s:", path);
	}
	free(tmp);
}

static int
end(struct out *o, void *arg)
{
	struct ctx *c = arg;
	struct ixb_stats st;
	char name[STORE_NAMELEN + 1];
	json_t *j;
	void *buf;
	size_t len;

	if (ixb_finish(c->b, &buf, &len, &st) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if (store_put(c->st, buf, len, name) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if (c->out != NULL)
		write_file(c->out, buf, len);
	free(buf);

	j = json_object();
	json_object_set_new(j, "type", json_string("index"));
	json_object_set_new(j, "blob", json_string(name));
	json_object_set_new(j, "n", json_integer(st.n));
	json_object_set_new(j, "dim", json_integer(st.dim));
	json_object_set_new(j, "products", json_integer(st.products));
	json_object_set_new(j, "kp", json_string(st.kind));
	json_object_set_new(j, "words", json_integer(st.words));
	json_object_set_new(j, "postings", json_integer((json_int_t)st.postings));
	if (st.method != NULL)
		json_object_set_new(j, "emb_method", json_string(st.method));
	json_object_set_new(j, "vectors", json_integer(st.vectors));
	json_object_set_new(j, "graph", json_boolean(st.graph));
	if (st.duplicates > 0)
		json_object_set_new(j, "duplicates",
		    json_integer(st.duplicates));
	if (c->out != NULL)
		json_object_set_new(j, "file", json_string(c->out));
	out_rec(o, j);
	json_decref(j);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ixb_params p;
	struct loop l;
	struct ctx c;
	struct index *old = NULL;
	const char *oldname = NULL, *dir = NULL;
	int ch, status;

	pm_init(argv[0]);
	ixb_defaults(&p);
	memset(&l, 0, sizeof l);
	memset(&c, 0, sizeof c);
	while ((ch = getopt(argc, argv, "a:g:j:k:M:n:o:r:s:")) != -1) {
		switch (ch) {
		case 'a':
			oldname = optarg;
			break;
		case 'g':
			p.graph_min = (uint32_t)pm_num(optarg, 0, INDEX_MAXN + 1LL,
			    "-g");
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'k':
			p.k = (int)pm_num(optarg, 1, VOCAB_MAXK, "-k");
			break;
		case 'M':
			p.M = (int)pm_num(optarg, 2, ANN_MAXM / 2, "-M");
			break;
		case 'n':
			p.sample = (size_t)pm_num(optarg, 1, 100000000, "-n");
			break;
		case 'o':
			c.out = optarg;
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

	if ((c.st = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if (oldname != NULL && (old = index_open(oldname, c.st)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	p.threads = l.threads > 0 ? l.threads : loop_cores();
	c.b = ixb_new(&p, old, c.st);

	l.types = "image";
	l.work = work;
	l.serial = serial;
	l.end = end;
	l.drop = drop;
	l.arg = &c;
	l.what = "images";
	status = loop_run(&l, argc, argv);

	ixb_free(c.b);
	index_close(old);
	store_close(c.st);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
