/*
 * codebook.c: fuzz the VLAD codebook reader (vlad.c's
 * vlad_codebook_parse(), what pm-embed -t reads).  A codebook it
 * accepts has finite centres, and the writer, given what the reader
 * found, writes the same bytes back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "vlad.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vlad_codebook cb;
	void *p;
	size_t n, i;

	if (vlad_codebook_parse(&cb, data, size) == -1) {
		fuzz_assert(cb.c == NULL);
		return 0;
	}
	fuzz_assert(cb.k >= 1 && cb.k <= VLAD_MAXK && cb.dim == VLAD_DIM);
	for (i = 0; i < (size_t)cb.k * cb.dim; i++)
		fuzz_assert(isfinite(cb.c[i]));
	fuzz_assert(vlad_codebook_write(&cb, &p, &n) == 0);
	fuzz_assert(n == size && memcmp(p, data, n) == 0);
	free(p);
	vlad_codebook_free(&cb);
	return 0;
}
