/*
 * safename.c: fuzz the names pm-evidence -d gives its pictures
 * (evidence.c's evidence_safe_id()): whatever the id, a name is a
 * single path component of safe bytes that cannot be ".", "..", hidden
 * or an option, and distinct ids give distinct names.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "evidence.h"
#include "fuzz.h"
#include "store.h"

#define SAFE	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		"0123456789._+-"

static int
safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	    c == '-' || c == '~';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[STORE_NAMELEN + 1], *id, *name, *tilde;
	size_t i, n;

	id = pm_malloc(size + 1);
	memcpy(id, data, size);
	id[size] = '\0';
	name = evidence_safe_id(id);
	n = strlen(name);
	fuzz_assert(n >= 1 && n <= 80);
	fuzz_assert(name[0] != '.' && name[0] != '-');
	for (i = 0; i < n; i++)
		fuzz_assert(safe((unsigned char)name[i]));
	if (strcmp(name, id) != 0) {
		/* changed: it ends in "~" and 8 hex digits of the id's hash */
		tilde = strrchr(name, '~');
		fuzz_assert(tilde != NULL && strlen(tilde) == 9);
		sha256_hex(id, strlen(id), hex);
		fuzz_assert(memcmp(tilde + 1, hex, 8) == 0);
		/* ... and only an id that could not be a name changes */
		fuzz_assert(strlen(id) > 80 || strspn(id, SAFE) != strlen(id) ||
		    id[0] == '.' || id[0] == '-' || id[0] == '\0');
	} else
		fuzz_assert(strchr(name, '~') == NULL);
	free(name);
	free(id);
	return 0;
}
