/*
 * test-loop: a stage for testing the record loop itself (git's
 * t/helper in spirit).  It consumes "n" records: adds "sq" (n squared);
 * rejects a negative n; warns about 13 without rejecting it; takes a
 * time that depends on n so that workers finish out of order.  serial()
 * emits a "sum" record before every 1000th record; end() emits "total".
 *
 * usage: test-loop [-j threads] [-r rejects] [file ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "rec.h"

struct sums {
	long long	count, sum;
};

static int
work(struct rec *r, struct out *o, void *arg)
{
	struct timespec ts;
	double n;
	long long v;

	if (rec_num(r, "n", &n) == -1)
		return rec_reject(r, "no number n");
	if (n < 0)
		return rec_reject(r, "negative: %g", n);
	v = (long long)n;
	if (v == 13)
		rec_warn(r, "unlucky");
	ts.tv_sec = 0;
	ts.tv_nsec = (v * 7919 % 13) * 20000;
	nanosleep(&ts, NULL);
	json_object_set_new(r->j, "sq", json_integer(v * v));
	out_rec(o, r->j);
	r->data = pm_malloc(sizeof v);
	*(long long *)r->data = v;
	return 0;
}

static int
serial(struct rec *r, struct out *o, void *arg)
{
	struct sums *s = arg;
	json_t *j;

	s->count++;
	s->sum += *(long long *)r->data;
	if (s->count % 1000 == 0) {
		j = json_pack("{s:s, s:I}", "type", "sum", "sum", (json_int_t)s->sum);
		out_rec(o, j);
		json_decref(j);
	}
	return 0;
}

static int
end(struct out *o, void *arg)
{
	struct sums *s = arg;
	json_t *j;

	j = json_pack("{s:s, s:I, s:I}", "type", "total", "count",
	    (json_int_t)s->count, "sum", (json_int_t)s->sum);
	out_rec(o, j);
	json_decref(j);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sums sums = { 0, 0 };
	struct loop l = { 0 };
	int ch;

	pm_init(argv[0]);
	l.types = "n";
	l.work = work;
	l.serial = serial;
	l.end = end;
	l.drop = free;
	l.arg = &sums;
	while ((ch = getopt(argc, argv, "j:r:")) != -1) {
		switch (ch) {
		case 'j':
			l.threads = (int)pm_num(optarg, 1, 1024, "-j");
			break;
		case 'r':
			l.rejects = optarg;
			break;
		default:
			fprintf(stderr, "usage: test-loop [-j threads] [-r rejects] [file ...]\n");
			return PM_EXIT_FATAL;
		}
	}
	return loop_run(&l, argc - optind, argv + optind);
}
