/*
 * loop.c: the record loop every pm program runs.
 *
 * A reader thread reads lines into a ring of slots; worker threads
 * parse a slot's line and run the stage's work() on it; the calling
 * thread writes the slots' output strictly in input order, running
 * serial() first, printing diagnostics and filling the reject file.
 * The output therefore never depends on the number of threads.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "rec.h"
#include "recx.h"

#define MAXLINE		((size_t)1 << 30)	/* longest line read */
#define INFLIGHT	((size_t)256 << 20)	/* bytes of lines in flight */
#define SLOTKEEP	((size_t)1 << 20)	/* a slot's buffers kept */

enum { EMPTY, READ, BUSY, DONE };

struct slot {
	int		 state;
	char		*line;
	size_t		 len, cap;
	int		 toolong;
	char		*where;
	struct rec	 r;
	struct recx	 x;
	struct out	 out;
	int		 consumed;
	int		 bad;		/* not a record: malformed line */
};

struct ctx {
	struct loop	*l;
	int		 argc;
	char		**argv;
	struct slot	*slots;
	size_t		 nslots;
	unsigned long long nread;	/* slots filled */
	unsigned long long nclaim;	/* slots claimed by workers */
	unsigned long long nwritten;	/* slots written */
	size_t		 inflight;	/* bytes of the lines read, not written */
	int		 eof;		/* the reader is done */
	int		 status;	/* worst exit status so far */
	pthread_mutex_t	 mu;
	pthread_cond_t	 can_read, can_work, can_write;
	char		**types;
	size_t		 ntypes;
};

int
loop_cores(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static void
worse(struct ctx *c, int status)
{
	if (status > c->status)
		c->status = status;
}

static void *
reader_main(void *arg)
{
	struct ctx *c = arg;
	struct reader *rd;
	struct slot *s;
	int i, nfiles, r;

	nfiles = c->argc > 0 ? c->argc : 1;
	for (i = 0; i < nfiles; i++) {
		const char *path = c->argc > 0 ? c->argv[i] : NULL;

		rd = reader_open(path);
		if (rd == NULL) {
			pm_warn("%s", pm_why());
			pthread_mutex_lock(&c->mu);
			worse(c, PM_EXIT_SOME);
			pthread_mutex_unlock(&c->mu);
			continue;
		}
		for (;;) {
			/*
			 * A free slot, and (unless nothing is in flight) room
			 * under INFLIGHT: huge lines are not all held at once.
			 */
			pthread_mutex_lock(&c->mu);
			while (c->nread - c->nwritten >= c->nslots ||
			    (c->inflight > INFLIGHT && c->nread > c->nwritten))
				pthread_cond_wait(&c->can_read, &c->mu);
			s = &c->slots[c->nread % c->nslots];
			pthread_mutex_unlock(&c->mu);

			r = reader_line(rd, &s->line, &s->len, &s->cap,
			    MAXLINE, &s->toolong);
			if (r == -1)
				pm_err(PM_EXIT_FATAL, "%s", pm_why());
			if (r == 0)
				break;
			if (s->len == 0 && !s->toolong)
				continue;	/* a blank line carries nothing */
			free(s->where);
			s->where = pm_asprintf("%s:%lld", rd->name, rd->lineno);

			pthread_mutex_lock(&c->mu);
			s->state = READ;
			c->inflight += s->len;
			c->nread++;
			pthread_cond_signal(&c->can_work);
			pthread_mutex_unlock(&c->mu);
		}
		reader_close(rd);
	}
	pthread_mutex_lock(&c->mu);
	c->eof = 1;
	pthread_cond_broadcast(&c->can_work);
	pthread_cond_broadcast(&c->can_write);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int
consumes(const struct ctx *c, const char *type)
{
	size_t i;

	if (c->ntypes == 1 && strcmp(c->types[0], "*") == 0)
		return 1;
	for (i = 0; i < c->ntypes; i++)
		if (strcmp(c->types[i], type) == 0)
			return 1;
	return 0;
}

/* Parse the slot's line and run work() on it. */
static void
process(struct ctx *c, struct slot *s)
{
	struct rec *r = &s->r;

	memset(r, 0, sizeof *r);
	r->x = &s->x;
	r->line = s->line;
	r->len = s->len;
	r->where = s->where;
	s->consumed = 0;
	s->bad = 1;
	if (s->toolong) {
		rec_reject(r, "line longer than %zu bytes", MAXLINE);
		return;
	}
	if (rec_parse(r) == -1)
		return;
	s->bad = 0;
	if (!consumes(c, r->type)) {
		out_pass(&s->out, r);
		return;
	}
	s->consumed = 1;
	if (c->l->work(r, &s->out, c->l->arg) == -1 && !s->x.rejected)
		rec_reject(r, "%s", pm_why());
}

static void *
worker_main(void *arg)
{
	struct ctx *c = arg;
	struct slot *s;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		while (c->nclaim == c->nread && !c->eof)
			pthread_cond_wait(&c->can_work, &c->mu);
		if (c->nclaim == c->nread) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		s = &c->slots[c->nclaim++ % c->nslots];
		s->state = BUSY;
		pthread_mutex_unlock(&c->mu);

		process(c, s);

		pthread_mutex_lock(&c->mu);
		s->state = DONE;
		pthread_cond_broadcast(&c->can_write);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

struct writer {
	FILE		*rej;
	const char	*rejpath;
	int		 tty;
	unsigned long long done;
	struct timespec	 start, last;
	int		 shown;
};

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
progress_clear(struct writer *w)
{
	if (w->shown) {
		fputs("\r\033[K", stderr);
		w->shown = 0;
	}
}

static void
progress(struct writer *w, const char *what, int force)
{
	struct timespec now;
	double t;

	if (!w->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && elapsed(&w->last, &now) < 0.5)
		return;
	w->last = now;
	t = elapsed(&w->start, &now);
	fprintf(stderr, "\r\033[K%s: %llu %s, %.1f/s", pm_prog, w->done, what,
	    t > 0 ? (double)w->done / t : 0.0);
	w->shown = 1;
}

static void
write_out(const struct buf *b)
{
	if (b->n == 0)
		return;
	if (fwrite(b->p, 1, b->n, stdout) != b->n) {
		if (errno == EPIPE)
			_exit(PM_EXIT_FATAL);	/* the reader went away */
		pm_err(PM_EXIT_FATAL, "stdout:");
	}
}

/* Write a done slot: serial(), diagnostics, the reject file, output. */
static void
emit(struct ctx *c, struct writer *w, struct slot *s)
{
	struct rec *r = &s->r;
	struct out sout = { { 0 } };
	struct buf subj = { 0 };

	if (s->consumed && !s->x.rejected && c->l->serial != NULL)
		if (c->l->serial(r, &sout, c->l->arg) == -1 && !s->x.rejected)
			rec_reject(r, "%s", pm_why());
	if (s->x.warned || s->x.rejected) {
		progress_clear(w);
		if (!s->bad)
			rec_subject(r, &subj);
	}
	if (s->x.warned) {
		char *line = s->x.warn.p, *nl;

		for (; line && *line; line = nl + 1) {
			nl = strchr(line, '\n');
			*nl = '\0';
			pm_warn("%s: %s: %s", s->where, subj.p, line);
		}
		worse(c, PM_EXIT_SOME);
	}
	if (s->x.rejected) {
		if (s->bad)
			pm_warn("%s: %s", s->where, s->x.why.p);
		else
			pm_warn("%s: %s: %s", s->where, subj.p, s->x.why.p);
		worse(c, PM_EXIT_SOME);
		if (w->rej != NULL &&
		    (fwrite(s->line, 1, s->len, w->rej) != s->len ||
		    putc('\n', w->rej) == EOF))
			pm_err(PM_EXIT_FATAL, "%s:", w->rejpath);
		s->out.b.n = 0;
		sout.b.n = 0;
	}
	write_out(&sout.b);
	write_out(&s->out.b);
	free(sout.b.p);
	free(subj.p);

	if (c->l->drop != NULL && r->data != NULL)
		c->l->drop(r->data);
	json_decref(r->j);
	memset(r, 0, sizeof *r);
	s->out.b.n = 0;
	s->x.why.n = 0;
	s->x.warn.n = 0;
	if (s->x.warn.p)
		s->x.warn.p[0] = '\0';
	s->x.rejected = s->x.warned = 0;
	w->done++;
	progress(w, c->l->what ? c->l->what : "records", 0);
}

static void
split_types(struct ctx *c, const char *types)
{
	char *t, *p, *q;

	t = pm_strdup(types ? types : "");
	for (p = t; *p; p = q) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q && *q != ' '; q++)
			;
		c->types = pm_reallocarray(c->types, c->ntypes + 1, sizeof *c->types);
		c->types[c->ntypes++] = pm_asprintf("%.*s", (int)(q - p), p);
	}
	free(t);
}

int
loop_run(struct loop *l, int argc, char **argv)
{
	struct ctx c;
	struct writer w = { 0 };
	struct out eout = { { 0 } };
	pthread_t rt, *wt;
	struct slot *s = NULL;
	int i, n;
	size_t k;

	memset(&c, 0, sizeof c);
	c.l = l;
	c.argc = argc;
	c.argv = argv;
	n = l->threads > 0 ? l->threads : loop_cores();
	c.nslots = (size_t)n * 4 < 16 ? 16 : (size_t)n * 4;
	if (l->ahead > 0 && (size_t)l->ahead > c.nslots)
		c.nslots = (size_t)l->ahead;
	c.slots = pm_calloc(c.nslots, sizeof *c.slots);
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.can_read, NULL);
	pthread_cond_init(&c.can_work, NULL);
	pthread_cond_init(&c.can_write, NULL);
	split_types(&c, l->types);

	/* A closed stdout shows as EPIPE on write, handled there. */
	signal(SIGPIPE, SIG_IGN);
	/* jansson seeds its hash function once; do it before the threads. */
	json_object_seed(0);

	if (l->rejects != NULL) {
		w.rej = fopen(l->rejects, "w");
		if (w.rej == NULL)
			pm_err(PM_EXIT_FATAL, "%s:", l->rejects);
		w.rejpath = l->rejects;
	}
	w.tty = isatty(2);
	clock_gettime(CLOCK_MONOTONIC, &w.start);
	w.last = w.start;

	if (pthread_create(&rt, NULL, reader_main, &c) != 0)
		pm_err(PM_EXIT_FATAL, "cannot start a thread");
	wt = pm_calloc((size_t)n, sizeof *wt);
	for (i = 0; i < n; i++)
		if (pthread_create(&wt[i], NULL, worker_main, &c) != 0)
			pm_err(PM_EXIT_FATAL, "cannot start a thread");

	for (;;) {
		pthread_mutex_lock(&c.mu);
		for (;;) {
			if (c.nwritten < c.nread) {
				s = &c.slots[c.nwritten % c.nslots];
				if (s->state == DONE)
					break;
			} else if (c.eof)
				break;
			pthread_cond_wait(&c.can_write, &c.mu);
		}
		if (c.nwritten == c.nread && c.eof) {
			pthread_mutex_unlock(&c.mu);
			break;
		}
		pthread_mutex_unlock(&c.mu);

		emit(&c, &w, s);
		/* what a huge line needed is not kept for the next one */
		if (s->cap > SLOTKEEP) {
			free(s->line);
			s->line = NULL;
			s->cap = 0;
		}
		if (s->out.b.cap > SLOTKEEP) {
			free(s->out.b.p);
			s->out.b.p = NULL;
			s->out.b.cap = 0;
		}

		pthread_mutex_lock(&c.mu);
		c.inflight -= s->len;
		s->state = EMPTY;
		c.nwritten++;
		pthread_cond_signal(&c.can_read);
		pthread_mutex_unlock(&c.mu);
	}
	pthread_join(rt, NULL);
	for (i = 0; i < n; i++)
		pthread_join(wt[i], NULL);
	free(wt);

	if (l->end != NULL && l->end(&eout, l->arg) == -1) {
		progress_clear(&w);
		pm_warn("%s", pm_why());
		worse(&c, PM_EXIT_SOME);
	}
	write_out(&eout.b);
	free(eout.b.p);
	if (w.done > 0)
		progress(&w, l->what ? l->what : "records", 1);
	if (w.tty && w.shown)
		fputc('\n', stderr);

	if (w.rej != NULL && fclose(w.rej) == EOF)
		pm_err(PM_EXIT_FATAL, "%s:", w.rejpath);
	if (fflush(stdout) == EOF) {
		if (errno == EPIPE)
			_exit(PM_EXIT_FATAL);
		pm_err(PM_EXIT_FATAL, "stdout:");
	}

	for (k = 0; k < c.nslots; k++) {
		free(c.slots[k].line);
		free(c.slots[k].where);
		free(c.slots[k].out.b.p);
		free(c.slots[k].x.why.p);
		free(c.slots[k].x.warn.p);
	}
	free(c.slots);
	for (k = 0; k < c.ntypes; k++)
		free(c.types[k]);
	free(c.types);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.can_read);
	pthread_cond_destroy(&c.can_work);
	pthread_cond_destroy(&c.can_write);
	return c.status;
}
