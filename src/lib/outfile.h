/*
 * outfile.h: files written for people (pictures, web pages), outside the
 * store.
 */
#ifndef PM_OUTFILE_H
#define PM_OUTFILE_H

#include <stddef.h>

/*
 * Write n bytes to dir/name, creating the directory of name in dir if
 * need be (one level: name is "file" or "sub/file"), through a
 * temporary file in that directory renamed into place: a reader never
 * sees part of a file, and a failed write leaves what was there.  The
 * file's mode is 0666 less the umask, as cp(1) would make it.
 */
int	 outfile_write(const char *dir, const char *name, const void *p,
	    size_t n);

#endif
