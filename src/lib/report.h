/*
 * report.h: the static HTML report of a run's results (pm-report(1)):
 * one page, index.html, and its pictures in img/, in a directory that
 * any browser opens from the file system.
 *
 * The report is built in three steps that fit the record loop:
 * report_prepare() on any thread checks a record; report_add() in input
 * order takes it into the report; report_write() makes the pictures the
 * page shows (copies and thumbnails of blobs) on a pool of threads, and
 * writes the page.
 */
#ifndef PM_REPORT_H
#define PM_REPORT_H

#include "rec.h"
#include "store.h"

struct report;

struct report_sum {
	int	 videos;
	int	 products;
	int	 appearances;	/* appearance records */
	int	 matches;	/* match records */
	int	 pictures;	/* evidence pictures shown */
	int	 failed;	/* pictures that could not be made */
};

/* A report into dir, created if need be (with dir/img), with blobs
 * from the store s, making pictures on that many threads (0: one per
 * core).  NULL with pm_why() set if dir cannot be made. */
struct report *report_new(const char *dir, struct store *s, int threads);
void	 report_free(struct report *);

/*
 * For product, video, image, appearance and match records: check the
 * fields the report uses.  Returns -1 with pm_why() set for a record to
 * reject.  Other types are ignored.  Safe on many threads at once.
 */
int	 report_prepare(struct report *, struct rec *r);

/* Take a record report_prepare() accepted into the report. */
void	 report_add(struct report *, struct rec *r);

/*
 * Make the pictures and write index.html; *sum receives what it shows.
 * A picture that cannot be made (its blob missing or damaged, not an
 * image) is left out, with a warning, and counted in sum->failed.
 */
int	 report_write(struct report *, struct report_sum *sum);

/* The page's path (dir/index.html). */
const char *report_page(const struct report *);

#endif
