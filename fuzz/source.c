/*
 * source.c: fuzz what pm-fetch makes of a source string (fetch.c): its
 * kind, whether it is a search, the path a file:// URL names, and a
 * size option.  A file URL's path is absolute and never longer than
 * the URL; a path source is never taken for a URL.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fetch.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fetch_kind k;
	long long n;
	char *s, *p;

	s = pm_malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	k = fetch_kind(s);
	fuzz_assert(k == FETCH_PATH || k == FETCH_FILE || k == FETCH_HTTP ||
	    k == FETCH_YTDLP);
	if (s[0] == '/' || s[0] == '.' || strchr(s, ':') == NULL)
		fuzz_assert(k == FETCH_PATH);
	if (fetch_is_search(s))
		fuzz_assert(k == FETCH_YTDLP);
	p = fetch_file_path(s);
	if (p != NULL) {
		fuzz_assert(k == FETCH_FILE);
		fuzz_assert(p[0] == '/');
		fuzz_assert(strlen(p) < strlen(s));
		free(p);
	}
	n = fetch_size(s);
	fuzz_assert(n >= -1);
	free(s);
	return 0;
}
