/*
 * pm-frames: sample the frames of video records into frame records with
 * JPEG blobs (pm-frames(1)).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "rec.h"
#include "store.h"
#include "video.h"

struct frames {
	struct store	*store;
	struct video_opts opts;
	const char	*mode;		/* its name, for the records */

	/* Totals over all videos, for the summary. */
	pthread_mutex_t	 mu;
	long		 sampled, kept, dup, blur, corrupt;
};

/* One video's frame records, held until the video is done. */
struct run {
	struct frames	*f;
	const char	*id;
	json_t		*recs;		/* the frame records */
};

static void
usage(void)
{
	fprintf(stderr, "usage: pm-frames [-a | -f fps | -k | -S threshold] "
	    "[-b blur] [-d distance] [-j threads] [-m side] [-n max] "
	    "[-q quality] [-r rejects] [-s store] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static int
frame(const struct video_frame *vf, void *arg)
{
	struct run *run = arg;
	char name[STORE_NAMELEN + 1];
	json_t *j, *last;

	if (vf->drop != NULL) {
		/* The last kept frame stands for its duplicates. */
		last = json_array_get(run->recs, json_array_size(run->recs) - 1);
		if (strcmp(vf->drop, "dup") == 0 && last != NULL)
			json_object_set_new(last, "until", json_fixed(vf->t, 6));
		return 0;
	}
	if (store_put(run->f->store, vf->jpeg, vf->len, name) == -1)
		pm_err(PM_EXIT_FATAL, "store: %s", pm_why());
	j = json_pack("{s:s, s:s, s:o, s:s, s:i, s:i, s:b, s:I}",
	    "type", "frame", "video", run->id, "t", json_fixed(vf->t, 6),
	    "blob", name, "w", vf->w, "h", vf->h, "key", vf->key,
	    "n", (json_int_t)vf->n);
	if (j == NULL)
		pm_err(PM_EXIT_FATAL, "out of memory");
	if (run->f->opts.mode == VIDEO_SCENE)
		json_object_set_new(j, "scene", json_fixed(vf->scene, 3));
	if (run->f->opts.blur > 0)
		json_object_set_new(j, "sharp", json_fixed(vf->sharp, 1));
	json_array_append_new(run->recs, j);
	return 0;
}

/* Fill the video's properties that pm-fetch would have set. */
static void
properties(struct rec *r, const struct video_info *vi)
{
	if (json_object_get(r->j, "duration") == NULL && vi->duration > 0)
		json_object_set_new(r->j, "duration",
		    json_fixed(vi->duration, 3));
	if (json_object_get(r->j, "w") == NULL)
		json_object_set_new(r->j, "w", json_integer(vi->w));
	if (json_object_get(r->j, "h") == NULL)
		json_object_set_new(r->j, "h", json_integer(vi->h));
	if (json_object_get(r->j, "fps") == NULL && vi->fps > 0)
		json_object_set_new(r->j, "fps", json_fixed(vi->fps, 3));
}

static json_t *
stats_json(const struct frames *f, const struct video_stats *st)
{
	json_t *j;

	j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "mode", f->mode, "decoded", (json_int_t)st->decoded,
	    "sampled", (json_int_t)st->sampled, "kept", (json_int_t)st->kept,
	    "dup", (json_int_t)st->dup, "blur", (json_int_t)st->blur,
	    "corrupt", (json_int_t)st->corrupt);
	if (j == NULL)
		pm_err(PM_EXIT_FATAL, "out of memory");
	if (st->capped)
		json_object_set_new(j, "capped", json_true());
	if (st->errors > 0)
		json_object_set_new(j, "damaged", json_true());
	return j;
}

/*
 * A video: its record with the statistics of sampling in "frames", then
 * its frame records.  A video that cannot be opened or of which no
 * frame decodes is rejected; a damaged one keeps the frames that
 * decoded, with a diagnostic.
 */
static int
work(struct rec *r, struct out *o, void *arg)
{
	struct frames *f = arg;
	struct video_stats st;
	struct video_info vi;
	struct video *v;
	struct run run;
	const char *blob, *id;
	char *path;
	void *mem = NULL;
	size_t len, i;
	int raw, rc;

	if ((id = rec_str(r, "id")) == NULL)
		return rec_reject(r, "no id");
	if ((blob = rec_str(r, "blob")) == NULL)
		return rec_reject(r, "no blob (pm-fetch stores videos)");
	if ((path = store_path(f->store, blob, &raw)) == NULL)
		return rec_reject(r, "%s", pm_why());
	if (raw)
		v = video_open(path);
	else if (store_get(f->store, blob, &mem, &len) == -1)
		v = NULL;
	else
		v = video_open_mem(mem, len);
	free(path);
	if (v == NULL) {
		free(mem);
		return rec_reject(r, "%s", pm_why());
	}

	run.f = f;
	run.id = id;
	run.recs = json_array();
	rc = video_sample(v, &f->opts, frame, &run, &st);
	video_info(v, &vi);
	video_close(v);
	free(mem);
	if (rc == -1) {
		json_decref(run.recs);
		return rec_reject(r, "%s", pm_why());
	}
	if (st.decoded == 0) {
		json_decref(run.recs);
		return rec_reject(r, "no frame decodes%s%s",
		    st.damage[0] ? ": " : "", st.damage);
	}
	if (st.errors > 0)
		rec_warn(r, "damaged: %s; kept %ld frames (%ld decoded)",
		    st.damage, st.kept, st.decoded);

	properties(r, &vi);
	json_object_set_new(r->j, "frames", stats_json(f, &st));
	out_rec(o, r->j);
	for (i = 0; i < json_array_size(run.recs); i++)
		out_rec(o, json_array_get(run.recs, i));
	json_decref(run.recs);

	pthread_mutex_lock(&f->mu);
	f->sampled += st.sampled;
	f->kept += st.kept;
	f->dup += st.dup;
	f->blur += st.blur;
	f->corrupt += st.corrupt;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct frames f;
	struct loop l = { 0 };
	const char *dir = NULL;
	int ch, status;

	pm_init(argv[0]);
	memset(&f, 0, sizeof f);
	video_opts_init(&f.opts);
	f.opts.dedup = 4;
	f.opts.blur = 10;
	f.mode = "key";
	while ((ch = getopt(argc, argv, "ab:d:f:j:km:n:q:r:S:s:")) != -1) {
		switch (ch) {
		case 'a':
			f.opts.mode = VIDEO_ALL;
			f.mode = "all";
			break;
		case 'b':
			f.opts.blur = pm_real(optarg, 0, 1e9, "-b");
			break;
		case 'd':
			f.opts.dedup = (int)pm_num(optarg, 0, 64, "-d");
			break;
		case 'f':
			f.opts.mode = VIDEO_RATE;
			f.opts.fps = pm_real(optarg, 1e-6, 1000, "-f");
			f.mode = "rate";
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'k':
			f.opts.mode = VIDEO_KEY;
			f.mode = "key";
			break;
		case 'm':
			f.opts.maxside = (int)pm_num(optarg, 0, 65536, "-m");
			break;
		case 'n':
			f.opts.max = (long)pm_num(optarg, 0, 1000000000, "-n");
			break;
		case 'q':
			f.opts.quality = (int)pm_num(optarg, 1, 100, "-q");
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 'S':
			f.opts.mode = VIDEO_SCENE;
			f.opts.scene = pm_real(optarg, 0, 1, "-S");
			f.mode = "scene";
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

	if ((f.store = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	pthread_mutex_init(&f.mu, NULL);
	l.types = "video";
	l.work = work;
	l.arg = &f;
	l.what = "videos";
	status = loop_run(&l, argc, argv);
	if (f.dup + f.blur + f.corrupt > 0)
		pm_warn("dropped %ld of %ld sampled frames: %ld near-duplicate, "
		    "%ld blurred, %ld damaged", f.dup + f.blur + f.corrupt,
		    f.sampled, f.dup, f.blur, f.corrupt);
	store_close(f.store);
	pthread_mutex_destroy(&f.mu);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
