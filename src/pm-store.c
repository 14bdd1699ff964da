/*
 * pm-store: put, get and check blobs in pm's content-addressed store.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "recx.h"
#include "store.h"

#define STALE_SECONDS	3600	/* a temporary file older than this is abandoned */

static void
usage(void)
{
	fprintf(stderr, "usage: pm-store [-s dir] command [argument ...]\n");
	exit(PM_EXIT_FATAL);
}

/* Standard output failed: fatal, and said unless its reader went away. */
static void
stdout_failed(void)
{
	if (errno == EPIPE)
		exit(PM_EXIT_FATAL);
	pm_err(PM_EXIT_FATAL, "stdout:");
}

static int
cmd_put(struct store *s, int argc, char **argv)
{
	char name[STORE_NAMELEN + 1];
	int i, fd, status = 0;

	if (argc == 0) {
		if (store_put_fd(s, 0, name) == -1)
			pm_err(PM_EXIT_FATAL, "<stdin>: %s", pm_why());
		puts(name);
		return 0;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			fd = 0;
		else if ((fd = open(argv[i], O_RDONLY)) == -1) {
			pm_warn("%s:", argv[i]);
			status = PM_EXIT_SOME;
			continue;
		}
		if (store_put_fd(s, fd, name) == -1) {
			pm_warn("%s: %s", argv[i], pm_why());
			status = PM_EXIT_SOME;
		} else
			puts(name);
		if (fd != 0)
			close(fd);
	}
	return status;
}

static int
cmd_cat(struct store *s, int argc, char **argv)
{
	int i, status = 0;

	if (argc == 0)
		usage();
	for (i = 0; i < argc; i++)
		if (store_cat(s, argv[i], stdout) == -1) {
			if (ferror(stdout))
				stdout_failed();
			pm_warn("%s", pm_why());
			status = PM_EXIT_SOME;
		}
	return status;
}

/* get NAME FILE: write the verified blob to FILE through a temporary. */
static int
cmd_get(struct store *s, int argc, char **argv)
{
	char *tmp;
	FILE *fp;
	int fd;

	if (argc == 1)
		return cmd_cat(s, argc, argv);
	if (argc != 2)
		usage();
	tmp = pm_asprintf("%s.tmp-XXXXXX", argv[1]);
	if ((fd = mkstemp(tmp)) == -1)
		pm_err(PM_EXIT_FATAL, "%s:", argv[1]);
	fp = fdopen(fd, "w");
	if (fp == NULL)
		pm_err(PM_EXIT_FATAL, "%s:", tmp);
	if (store_cat(s, argv[0], fp) == -1) {
		fclose(fp);
		unlink(tmp);
		pm_warn("%s", pm_why());
		free(tmp);
		return PM_EXIT_SOME;
	}
	if (fchmod(fd, 0666 & ~umask(022)) == -1 || fclose(fp) == EOF ||
	    rename(tmp, argv[1]) == -1) {
		unlink(tmp);
		pm_err(PM_EXIT_FATAL, "%s:", argv[1]);
	}
	free(tmp);
	return 0;
}

static int
cmd_has(struct store *s, int argc, char **argv)
{
	int i, r, status = 0;

	if (argc == 0)
		usage();
	for (i = 0; i < argc; i++) {
		r = store_has(s, argv[i]);
		if (r == -1)
			pm_err(PM_EXIT_FATAL, "%s", pm_why());
		if (r == 0)
			status = PM_EXIT_SOME;
	}
	return status;
}

static int
cmd_path(struct store *s, int argc, char **argv)
{
	char *p;
	int i, status = 0;

	if (argc == 0)
		usage();
	for (i = 0; i < argc; i++) {
		if ((p = store_path(s, argv[i], NULL)) == NULL) {
			pm_warn("%s", pm_why());
			status = PM_EXIT_SOME;
			continue;
		}
		puts(p);
		free(p);
	}
	return status;
}

struct walk {
	struct store	*s;
	int		 verbose, dry, long_;
	time_t		 now;
	long long	 blobs, bad, stray, tmp, stale;
	long long	 removed, kept;
	long long	 bytes, freed;
	char		**keep;
	size_t		 nkeep;
};

static int
ls_one(void *arg, enum store_entry e, const char *name, const char *path,
    const struct stat *st)
{
	struct walk *w = arg;
	int raw = 1;

	if (e != STORE_BLOB)
		return 0;
	if (w->long_) {
		free(store_path(w->s, name, &raw));
		printf("%s %lld %s\n", name, (long long)st->st_size,
		    raw ? "raw" : "zstd");
	} else
		puts(name);
	return 0;
}

static int
cmd_ls(struct store *s, int argc, char **argv)
{
	struct walk w = { 0 };
	int ch;

	w.s = s;
	optind = 1;
	while ((ch = getopt(argc + 1, argv - 1, "l")) != -1) {
		if (ch != 'l')
			usage();
		w.long_ = 1;
	}
	if (optind != argc + 1)
		usage();
	if (store_walk(s, ls_one, &w) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	return 0;
}

static int
is_stale(const struct walk *w, const struct stat *st)
{
	return w->now - st->st_mtime > STALE_SECONDS;
}

static int
fsck_one(void *arg, enum store_entry e, const char *name, const char *path,
    const struct stat *st)
{
	struct walk *w = arg;

	switch (e) {
	case STORE_BLOB:
		w->blobs++;
		if (store_verify(w->s, name, NULL, NULL) == -1) {
			printf("damaged %s: %s\n", path, pm_why());
			w->bad++;
		} else if (w->verbose)
			printf("ok %s\n", name);
		break;
	case STORE_TMP:
		if (is_stale(w, st)) {
			printf("stale %s: temporary file of an abandoned write\n",
			    path);
			w->stale++;
		} else {
			if (w->verbose)
				printf("busy %s: write in progress\n", path);
			w->tmp++;
		}
		break;
	case STORE_STRAY:
		printf("stray %s: not a blob of this store\n", path);
		w->stray++;
		break;
	}
	return 0;
}

static int
cmd_fsck(struct store *s, int argc, char **argv)
{
	struct walk w = { 0 };
	int ch;

	w.s = s;
	w.now = time(NULL);
	optind = 1;
	while ((ch = getopt(argc + 1, argv - 1, "v")) != -1) {
		if (ch != 'v')
			usage();
		w.verbose = 1;
	}
	if (optind != argc + 1)
		usage();
	if (store_walk(s, fsck_one, &w) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	fprintf(stderr, "pm-store: fsck: %lld blob%s, %lld damaged, %lld stray, "
	    "%lld stale temporary, %lld in progress\n", w.blobs,
	    w.blobs == 1 ? "" : "s", w.bad, w.stray, w.stale, w.tmp);
	return w.bad || w.stray || w.stale ? PM_EXIT_SOME : 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every blob name that appears as a string anywhere in j. */
static void
collect(struct walk *w, json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, k, v)
			collect(w, v);
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			collect(w, v);
		break;
	case JSON_STRING:
		if (store_name_ok(json_string_value(j))) {
			w->keep = pm_reallocarray(w->keep, w->nkeep + 1,
			    sizeof *w->keep);
			w->keep[w->nkeep++] = pm_strdup(json_string_value(j));
		}
		break;
	default:
		break;
	}
}

static int
gc_one(void *arg, enum store_entry e, const char *name, const char *path,
    const struct stat *st)
{
	struct walk *w = arg;
	const char *key = name;

	if (e == STORE_STRAY)
		return 0;
	if (e == STORE_TMP && !is_stale(w, st))
		return 0;
	if (e == STORE_BLOB && bsearch(&key, w->keep, w->nkeep,
	    sizeof *w->keep, cmp_name) != NULL) {
		w->kept++;
		return 0;
	}
	if (w->verbose || w->dry)
		printf("%s %s\n", w->dry ? "would remove" : "remove", path);
	if (!w->dry && unlink(path) == -1) {
		pm_warn("%s:", path);
		return 0;
	}
	w->removed++;
	w->freed += st->st_size;
	return 0;
}

static int
cmd_gc(struct store *s, int argc, char **argv)
{
	struct walk w = { 0 };
	struct reader *rd;
	char *line = NULL;
	size_t len, cap = 0;
	json_error_t e;
	json_t *j;
	int ch, i, toolong;

	w.s = s;
	w.now = time(NULL);
	optind = 1;
	while ((ch = getopt(argc + 1, argv - 1, "nv")) != -1) {
		switch (ch) {
		case 'n':
			w.dry = 1;
			break;
		case 'v':
			w.verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc == 0)
		pm_err(PM_EXIT_FATAL, "gc: name the record files to keep "
		    "(\"-\" for stdin); with none, every blob would go");
	/* Any doubt about what is referenced stops gc before it removes. */
	for (i = 0; i < argc; i++) {
		if ((rd = reader_open(argv[i])) == NULL)
			pm_err(PM_EXIT_FATAL, "gc: %s", pm_why());
		for (;;) {
			int r = reader_line(rd, &line, &len, &cap,
			    (size_t)1 << 30, &toolong);

			if (r == -1)
				pm_err(PM_EXIT_FATAL, "gc: %s", pm_why());
			if (r == 0)
				break;
			if (toolong)
				pm_err(PM_EXIT_FATAL, "gc: %s:%lld: line too "
				    "long; nothing removed", rd->name, rd->lineno);
			if (len == 0)
				continue;
			j = json_loadb(line, len, 0, &e);
			if (j == NULL)
				pm_err(PM_EXIT_FATAL, "gc: %s:%lld: malformed "
				    "JSON: %s; nothing removed", rd->name,
				    rd->lineno, e.text);
			collect(&w, j);
			json_decref(j);
		}
		reader_close(rd);
	}
	free(line);
	if (w.nkeep)
		qsort(w.keep, w.nkeep, sizeof *w.keep, cmp_name);
	if (store_walk(s, gc_one, &w) == -1)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	fprintf(stderr, "pm-store: gc: %s %lld file%s, %lld bytes; kept %lld "
	    "blob%s\n", w.dry ? "would remove" : "removed", w.removed,
	    w.removed == 1 ? "" : "s", w.freed, w.kept, w.kept == 1 ? "" : "s");
	for (i = 0; (size_t)i < w.nkeep; i++)
		free(w.keep[i]);
	free(w.keep);
	return 0;
}

static const struct {
	const char	*name;
	int		(*fn)(struct store *, int, char **);
} cmds[] = {
	{ "cat", cmd_cat },
	{ "fsck", cmd_fsck },
	{ "gc", cmd_gc },
	{ "get", cmd_get },
	{ "has", cmd_has },
	{ "ls", cmd_ls },
	{ "path", cmd_path },
	{ "put", cmd_put },
};

int
main(int argc, char *argv[])
{
	struct store *s;
	const char *dir = NULL;
	size_t i;
	int ch, status;

	pm_init(argv[0]);
	/* A closed stdout shows as EPIPE, status 2, not death by a signal. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		switch (ch) {
		case 's':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			break;
	if (i == sizeof cmds / sizeof cmds[0]) {
		pm_warn("%s: unknown command", argv[0]);
		usage();
	}
	if ((s = store_open(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	status = cmds[i].fn(s, argc - 1, argv + 1);
	store_close(s);
	if (fclose(stdout) == EOF)
		stdout_failed();
	return status;
}
