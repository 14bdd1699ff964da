/*
 * testdata.h: read a file of t/data (or $TEST_DATA) for a unit test.
 */
#ifndef PM_TESTDATA_H
#define PM_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>

/* The bytes of t/data/name, malloc'd, or NULL (with a TAP comment). */
static unsigned char *
testdata(const char *name, size_t *n)
{
	const char *dir = getenv("TEST_DATA");
	char path[4096];
	unsigned char *p = NULL;
	size_t cap = 0, len = 0, r;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir ? dir : "t/data", name);
	if ((fp = fopen(path, "rb")) == NULL) {
		printf("# cannot open %s\n", path);
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			if ((p = realloc(p, cap)) == NULL)
				abort();
		}
		r = fread(p + len, 1, cap - len, fp);
		if (r == 0)
			break;
		len += r;
	}
	fclose(fp);
	*n = len;
	return p;
}

#endif
