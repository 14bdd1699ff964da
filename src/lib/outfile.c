/*
 * outfile.c: files written for people (pictures, web pages), outside the
 * store.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "outfile.h"
#include "store.h"

int
outfile_write(const char *dir, const char *name, const void *p, size_t n)
{
	static atomic_uint seq;
	const char *slash = strrchr(name, '/');
	char *sub, *path, *tmp = NULL;
	int fd = -1, r = -1, k;

	sub = slash != NULL ? pm_asprintf("%s/%.*s", dir, (int)(slash - name),
	    name) : pm_strdup(dir);
	path = pm_asprintf("%s/%s", dir, name);
	if (mkdir(sub, 0777) == -1 && errno != EEXIST) {
		pm_fail("%s:", sub);
		goto out;
	}
	/* open(2), not mkstemp(3), so the umask gives the mode, as for a
	 * file cp(1) makes; a name left by a crashed run is skipped */
	for (k = 0; fd == -1 && k < 100; k++) {
		free(tmp);
		tmp = pm_asprintf("%s/.pm.%ld.%u", sub, (long)getpid(),
		    atomic_fetch_add(&seq, 1));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd == -1 && errno != EEXIST) {
			pm_fail("%s:", tmp);
			goto out;
		}
	}
	if (fd == -1) {
		pm_fail("%s:", tmp);
		goto out;
	}
	if (write_all(fd, p, n) == -1) {
		pm_fail("%s:", tmp);
		close(fd);
	} else if (close(fd) == -1)
		pm_fail("%s:", tmp);
	else if (rename(tmp, path) == -1)
		pm_fail("cannot rename %s to %s:", tmp, path);
	else
		r = 0;
	if (r == -1)
		unlink(tmp);
out:
	free(sub);
	free(path);
	free(tmp);
	return r;
}
