/*
 * pm-report: write a static HTML report of the results: per video the
 * products found, when, how sure, with evidence pictures; per product
 * the videos it appears in.  A sink: it reads records and writes none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "rec.h"
#include "report.h"
#include "store.h"

static void
usage(void)
{
	fprintf(stderr, "usage: pm-report [-j threads] -o dir [-r file] "
	    "[-s dir] [file ...]\n");
	exit(PM_EXIT_FATAL);
}

static int
work(struct rec *r, struct out *out, void *arg)
{
	return report_prepare(arg, r);
}

static int
serial(struct rec *r, struct out *out, void *arg)
{
	report_add(arg, r);
	return 0;
}

int
main(int argc, char **argv)
{
	struct loop l = { 0 };
	struct report_sum sum;
	struct report *rep;
	struct store *s;
	const char *dir = NULL, *store = NULL;
	int ch, status;

	pm_init(argv[0]);
	while ((ch = getopt(argc, argv, "j:o:r:s:")) != -1)
		switch (ch) {
		case 'j':
			l.threads = (int)pm_num(optarg, 0, 1024, "-j");
			break;
		case 'o':
			dir = optarg;
			break;
		case 'r':
			l.rejects = optarg;
			break;
		case 's':
			store = optarg;
			break;
		default:
			usage();
		}
	argc -= optind;
	argv += optind;
	if (dir == NULL)
		usage();

	if ((s = store_open(store)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	if ((rep = report_new(dir, s, l.threads)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	/* every record is read; none is written */
	l.types = "*";
	l.work = work;
	l.serial = serial;
	l.arg = rep;
	l.what = "records";
	status = loop_run(&l, argc, argv);
	if (report_write(rep, &sum) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	pm_warn("%s: %d video%s, %d product%s, %d appearance%s, %d match%s, "
	    "%d evidence picture%s", report_page(rep),
	    sum.videos, sum.videos == 1 ? "" : "s",
	    sum.products, sum.products == 1 ? "" : "s",
	    sum.appearances, sum.appearances == 1 ? "" : "s",
	    sum.matches, sum.matches == 1 ? "" : "es",
	    sum.pictures, sum.pictures == 1 ? "" : "s");
	if (sum.failed > 0 && status == PM_EXIT_OK)
		status = PM_EXIT_SOME;
	report_free(rep);
	store_close(s);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return status;
}
