/*
 * pm-fetch: fetch the images of product records and the files of video
 * records into the blob store (pm-fetch(1)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "fetch.h"
#include "rec.h"
#include "store.h"

static void
usage(void)
{
	fprintf(stderr, "usage: pm-fetch [-b backoff] [-c connect] "
	    "[-j threads] [-m size] [-n retries] [-p parallel] [-r rejects] "
	    "[-s store] [-t timeout] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static void
set_media(json_t *j, const struct fetch_item *it, int video)
{
	json_object_set_new(j, "blob", json_string(it->blob));
	if (video)
		json_object_set_new(j, "duration", json_fixed(it->duration, 3));
	json_object_set_new(j, "w", json_integer(it->w));
	json_object_set_new(j, "h", json_integer(it->h));
	if (video)
		json_object_set_new(j, "fps", json_fixed(it->fps, 3));
}

/*
 * A product: its record, then one image record per image fetched.  A
 * product none of whose images could be fetched is rejected; one that
 * lost some keeps the others, with a diagnostic for each lost one.
 */
static int
product(struct rec *r, struct out *o, struct fetcher *f)
{
	const struct fetch_res **res;
	const char **src, *id;
	char **why;
	json_t *images, *v, *j;
	size_t i, k, n, nok = 0;

	if ((id = rec_str(r, "id")) == NULL)
		return rec_reject(r, "no id");
	images = json_object_get(r->j, "images");
	if (json_is_string(images))
		n = 1;
	else if (json_is_array(images))
		n = json_array_size(images);
	else
		return rec_reject(r, "images is not a list of sources");
	if (n == 0)
		return rec_reject(r, "no images");
	for (i = 0; i < n; i++) {
		v = json_is_string(images) ? images : json_array_get(images, i);
		if (!json_is_string(v))
			return rec_reject(r, "images[%zu] is not a string", i);
	}
	src = pm_calloc(n, sizeof *src);
	res = pm_calloc(n, sizeof *res);
	why = pm_calloc(n, sizeof *why);
	for (i = 0; i < n; i++)
		src[i] = json_string_value(json_is_string(images) ? images :
		    json_array_get(images, i));
	fetch_many(f, src, n, 0, fetch_check_image, res, why);

	for (i = 0; i < n; i++)
		if (res[i] != NULL)
			nok++;
	if (nok == 0) {
		if (n == 1)
			rec_reject(r, "%s: %s", src[0], why[0]);
		else {
			for (i = 0; i < n; i++)
				rec_warn(r, "%s: %s", src[i], why[i]);
			rec_reject(r, "none of its %zu images could be fetched",
			    n);
		}
	} else {
		out_pass(o, r);
		for (i = 0; i < n; i++) {
			if (res[i] == NULL) {
				rec_warn(r, "%s: %s", src[i], why[i]);
				continue;
			}
			/* The same image twice is one image of the product. */
			for (k = 0; k < i; k++)
				if (res[k] != NULL && strcmp(res[k]->item[0].blob,
				    res[i]->item[0].blob) == 0)
					break;
			if (k < i)
				continue;
			j = json_pack("{s:s, s:s, s:s}", "type", "image",
			    "product", id, "src", src[i]);
			set_media(j, &res[i]->item[0], 0);
			out_rec(o, j);
			json_decref(j);
		}
	}
	for (i = 0; i < n; i++)
		free(why[i]);
	free(why);
	free(res);
	free(src);
	return nok == 0 ? -1 : 0;
}

/*
 * A video: the record with the file's blob and properties.  A yt-dlp
 * search (or playlist) gives one record per video it found, with the id
 * "ID.VIDEOID" and src the video's own page; "from" keeps the source.
 */
static int
video(struct rec *r, struct out *o, struct fetcher *f)
{
	const struct fetch_res *res;
	const struct fetch_item *it;
	const char *src, *id;
	json_t *j;
	char *nid;
	size_t i;

	if ((src = rec_str(r, "src")) == NULL)
		return rec_reject(r, "no src");
	if ((res = fetch(f, src, FETCH_PAGES, fetch_check_video)) == NULL)
		return rec_reject(r, "%s: %s", src, pm_why());
	if (res->warn != NULL)
		rec_warn(r, "%s: %s", src, res->warn);
	id = rec_str(r, "id");
	if (!res->search && res->n == 1) {
		it = &res->item[0];
		if (it->title != NULL && json_object_get(r->j, "title") == NULL)
			json_object_set_new(r->j, "title",
			    json_string(it->title));
		set_media(r->j, it, 1);
		out_rec(o, r->j);
		return 0;
	}
	for (i = 0; i < res->n; i++) {
		it = &res->item[i];
		j = json_deep_copy(r->j);
		nid = id != NULL ? pm_asprintf("%s.%s", id, it->id) :
		    pm_strdup(it->id);
		json_object_set_new(j, "id", json_string(nid));
		if (it->url != NULL)
			json_object_set_new(j, "src", json_string(it->url));
		json_object_set_new(j, "from", json_string(src));
		if (it->title != NULL && json_object_get(j, "title") == NULL)
			json_object_set_new(j, "title", json_string(it->title));
		set_media(j, it, 1);
		out_rec(o, j);
		json_decref(j);
		free(nid);
	}
	return 0;
}

static int
work(struct rec *r, struct out *o, void *arg)
{
	if (strcmp(r->type, "product") == 0)
		return product(r, o, arg);
	return video(r, o, arg);
}

int
main(int argc, char *argv[])
{
	struct fetch_opt fo;
	struct loop l = { 0 };
	struct fetcher *f;
	struct store *st;
	const char *dir = NULL;
	int ch, status;

	pm_init(argv[0]);
	fetch_opt_init(&fo);
	while ((ch = getopt(argc, argv, "b:c:j:m:n:p:r:s:t:")) != -1) {
		switch (ch) {
		case 'b':
			fo.backoff = pm_real(optarg, 0, 3600, "-b");
			break;
		case 'c':
			fo.connect = pm_real(optarg, 0, 3600, "-c");
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'm':
			if ((fo.max_size = fetch_size(optarg)) < 0)
				pm_err(PM_EXIT_FATAL, "-m: not a size: %s",
				    optarg);
			break;
		case 'n':
			fo.retries = (int)pm_num(optarg, 0, 100, "-n");
			break;
		case 'p':
			fo.parallel = (int)pm_num(optarg, 1, 64, "-p");
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 's':
			dir = optarg;
			break;
		case 't':
			fo.timeout = pm_real(optarg, 0, 1e6, "-t");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if ((st = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if ((f = fetcher_new(&fo, st)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	l.types = "product video";
	l.work = work;
	l.arg = f;
	l.what = "records";
	status = loop_run(&l, argc, argv);
	fetcher_free(f);
	store_close(st);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
