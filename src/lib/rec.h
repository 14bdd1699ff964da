/*
 * rec.h: NDJSON records, and the loop that runs a stage over them.
 *
 * A stage is three callbacks.  work() runs on a pool of threads, one
 * record at a time, and writes its output records to a struct out;
 * serial(), when given, then runs on one thread in input order (to merge
 * results across records); end() runs once after the last record.  The
 * loop reads the input files (or stdin), rejects malformed lines with a
 * reason, passes records of types the stage does not consume through
 * unchanged, and writes every record's output in input order, so the
 * output is the same bytes for any number of threads.
 */
#ifndef PM_REC_H
#define PM_REC_H

#include <stddef.h>
#include <jansson.h>

#include "err.h"

struct rec {
	json_t		*j;	/* the record; a stage adds its fields here */
	const char	*type;	/* the value of "type" */
	const char	*where;	/* input position, "file:line" */
	const char	*line;	/* the input line, without its newline */
	size_t		 len;
	void		*data;	/* work()'s result for serial(); freed by loop.drop */
	struct recx	*x;	/* the loop's own state */
};

struct out;

struct loop {
	const char	*types;	/* types consumed, space-separated; "*": all */
	int	(*work)(struct rec *, struct out *, void *arg);
	int	(*serial)(struct rec *, struct out *, void *arg);
	int	(*end)(struct out *, void *arg);
	void	(*drop)(void *data);
	void	*arg;
	int	 threads;	/* -j; 0 means one per core */
	const char *rejects;	/* -r: reject file, or NULL */
	const char *what;	/* noun for the progress line: "records" */
	int	 ahead;		/* records work() may run ahead of the
				   output; 0: 4 a thread, at least 16 */
};

/*
 * Run the stage over the files in argv (stdin when argc is 0, or for
 * "-").  Returns the exit status: 0, 1 if any record was rejected or
 * failed, 2 on a fatal error (which has been reported).
 */
int	 loop_run(struct loop *, int argc, char **argv);

/* The number of threads -j 0 means: the cores this process may use. */
int	 loop_cores(void);

/*
 * In work(), serial() or end(): write a record (its serialised form, in
 * the order of the calls; j is not consumed), or pass r's input line
 * through unchanged.  serial()'s output comes before work()'s.
 */
void	 out_rec(struct out *, json_t *j);
void	 out_pass(struct out *, const struct rec *r);

/*
 * Reject r with a reason: the diagnostic names the input position and
 * the record; the line goes to the reject file.  Returns -1, for
 * "return rec_reject(r, ...);" in work().
 */
int	 rec_reject(struct rec *r, const char *fmt, ...) PM_PRINTF(2, 3);

/*
 * A diagnostic about r that does not reject it (some frames of a video
 * did not decode, say); it still makes the exit status 1.
 */
void	 rec_warn(struct rec *r, const char *fmt, ...) PM_PRINTF(2, 3);

/* Fields: a string, or NULL when absent or not a string. */
const char *rec_str(const struct rec *r, const char *key);
/* A number (integer or real) into *v; -1 when absent or not a number. */
int	 rec_num(const struct rec *r, const char *key, double *v);

/* The serialised form of j, as out_rec() writes it (no newline). */
char	*rec_dump(json_t *j);

/*
 * A real rounded to a fixed number of decimals, for stable output; one
 * too large to round as it is, and null for one that is not finite.
 */
json_t	*json_fixed(double v, int decimals);

#endif
