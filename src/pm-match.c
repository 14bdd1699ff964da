/*
 * pm-match: find catalog products in frames: shortlist candidates from
 * the index, verify each geometrically, track them from frame to frame,
 * and merge a product's frame matches into appearances (pm-match(1)).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "index.h"
#include "match.h"
#include "rec.h"
#include "store.h"

static void
usage(void)
{
	fprintf(stderr, "usage: pm-match [-vx] [-C agreement] [-c megabytes] "
	    "[-g seconds] [-j threads] [-K count] [-m inliers] [-N count] "
	    "[-R rate] [-r rejects] [-s store] [-T score] [-t score] "
	    "-i index [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static int
work(struct rec *r, struct out *o, void *arg)
{
	struct mframe *f;

	if (strcmp(r->type, "frame") != 0)
		return 0;
	if (matcher_frame(arg, r, &f) == -1)
		return rec_reject(r, "%s", pm_why());
	r->data = f;
	return 0;
}

static int
serial(struct rec *r, struct out *o, void *arg)
{
	return matcher_serial(arg, r, r->data, o);
}

static int
end(struct out *o, void *arg)
{
	matcher_end(arg, o);
	return 0;
}

static void
drop(void *data)
{
	mframe_free(data);
}

int
main(int argc, char *argv[])
{
	struct match_params p;
	struct loop l;
	struct store *st;
	struct index *ix;
	struct matcher *m;
	const char *index = NULL, *dir = NULL;
	int ch, status;

	pm_init(argv[0]);
#ifdef M_MMAP_THRESHOLD
	/*
	 * Refinement makes and frees pictures of megabytes in every
	 * thread (frames decoded, their grey levels, the detector's
	 * pyramids); returned to the kernel each time, they come back as
	 * page faults (on bench/match.sh's frames, half of pm-match's
	 * system time and 5% of its wall time).  Keep up to 128 MiB of
	 * them for reuse.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
	match_defaults(&p);
	memset(&l, 0, sizeof l);
	while ((ch = getopt(argc, argv, "C:c:g:i:j:K:m:N:R:r:s:T:t:vx")) !=
	    -1) {
		switch (ch) {
		case 'C':
			p.colour = pm_real(optarg, -1, 1, "-C");
			break;
		case 'c':
			p.cache = (size_t)pm_num(optarg, 1, 1 << 20, "-c") << 20;
			break;
		case 'g':
			p.gap = pm_real(optarg, 0, 1e6, "-g");
			break;
		case 'i':
			index = optarg;
			break;
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'K':
			p.kvote = (int)pm_num(optarg, 0, 10000, "-K");
			break;
		case 'm':
			p.vp.min_inliers = (int)pm_num(optarg, 4, 100000, "-m");
			break;
		case 'N':
			p.kvec = (int)pm_num(optarg, 0, 10000, "-N");
			break;
		case 'R':
			p.refine = pm_real(optarg, 0, 1000, "-R");
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 's':
			dir = optarg;
			break;
		case 'T':
			p.new_score = pm_real(optarg, 0, 1, "-T");
			break;
		case 't':
			p.min_score = pm_real(optarg, 0, 1, "-t");
			break;
		case 'v':
			p.trace = stderr;
			break;
		case 'x':
			p.exact = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (index == NULL)
		usage();
	if (p.new_score < p.min_score)
		p.new_score = p.min_score;
	p.threads = l.threads > 0 ? l.threads : loop_cores();

	if ((st = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if ((ix = index_open(index, st)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	m = matcher_new(ix, st, &p);

	l.types = "frame video";
	l.work = work;
	l.serial = serial;
	l.end = end;
	l.drop = drop;
	l.arg = m;
	l.what = "frames";
	/* while a video's boundaries are refined (serial(), as the next
	 * video begins), the workers go on with the next one's frames;
	 * a frame held costs some 2 MiB */
	l.ahead = 64;
	status = loop_run(&l, argc, argv);
	if (status == PM_EXIT_OK && matcher_warnings(m) > 0)
		status = PM_EXIT_SOME;

	matcher_free(m);
	index_close(ix);
	store_close(st);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
