/*
 * test-bigpng: write a valid all-black PNG of any size to standard
 * output, small whatever its size (t/unit/bigpng.h), for tests of
 * images too large to decode.
 *
 * usage: test-bigpng width height
 */
#include <stdio.h>
#include <stdlib.h>

#include "../unit/bigpng.h"
#include "err.h"

int
main(int argc, char *argv[])
{
	unsigned char *p;
	size_t n;

	pm_init(argv[0]);
	if (argc != 3) {
		fprintf(stderr, "usage: test-bigpng width height\n");
		return PM_EXIT_FATAL;
	}
	p = bigpng((uint32_t)pm_num(argv[1], 0, 0x7fffffff, "width"),
	    (uint32_t)pm_num(argv[2], 0, 0x7fffffff, "height"), &n);
	if (fwrite(p, 1, n, stdout) != n || fclose(stdout) == EOF)
		pm_err(PM_EXIT_FATAL, "stdout:");
	free(p);
	return 0;
}
