/*
 * replay.c: run a fuzz target on the files named, once each, without
 * libFuzzer, so that a corpus replays under any compiler and sanitizer
 * (t/t0900-fuzz-corpus.sh).  A directory stands for the files in it.
 *
 * usage: replay-TARGET file|directory ...
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"

static unsigned long nrun;

static void
run(const char *path)
{
	unsigned char *p = NULL;
	size_t n = 0, cap = 0, got;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		pm_err(PM_EXIT_FATAL, "%s:", path);
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			p = pm_realloc(p, cap);
		}
		got = fread(p + n, 1, cap - n, fp);
		n += got;
	} while (got > 0);
	if (ferror(fp))
		pm_err(PM_EXIT_FATAL, "%s:", path);
	fclose(fp);
	/* exactly n bytes, so that a read past the end is caught */
	p = pm_realloc(p, n > 0 ? n : 1);
	LLVMFuzzerTestOneInput(p, n);
	free(p);
	nrun++;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_dir(const char *dir)
{
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, i;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s:", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		v = pm_reallocarray(v, n + 1, sizeof *v);
		v[n++] = pm_asprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, by_name);
	for (i = 0; i < n; i++) {
		run(v[i]);
		free(v[i]);
	}
	free(v);
}

int
main(int argc, char *argv[])
{
	struct stat st;
	int i;

	pm_init(argv[0]);
	if (argc < 2) {
		fprintf(stderr, "usage: %s file|directory ...\n", pm_prog);
		return PM_EXIT_FATAL;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1)
			pm_err(PM_EXIT_FATAL, "%s:", argv[i]);
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run(argv[i]);
	}
	printf("%s: %lu inputs\n", pm_prog, nrun);
	if (fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	return 0;
}
