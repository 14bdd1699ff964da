/*
 * vec.c: fuzz the vector readers (vec.c): the vector blob
 * (vec_parse()) and, when the input's first byte is '{', a record's
 * inline vector (vec_from_json()).  A vector either reader accepts is
 * finite and of unit length or zero, and the writer takes it back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "fuzz.h"
#include "vec.h"

static void
check(const struct vec *v)
{
	double s = 0;
	struct vec w;
	void *p;
	size_t n;
	int i;

	fuzz_assert(v->dim >= 1 && v->dim <= VEC_MAXDIM);
	fuzz_assert(strlen(v->method) <= VEC_METHODLEN);
	for (i = 0; i < v->dim; i++) {
		fuzz_assert(isfinite(v->v[i]));
		s += (double)v->v[i] * v->v[i];
	}
	fuzz_assert(s == 0 || fabs(sqrt(s) - 1) <= 1e-3);
	if (v->method[0] == '\0')
		return;
	if (vec_write(v->method, v->v, v->dim, &p, &n) == -1)
		return;		/* a method name the blob cannot hold */
	fuzz_assert(vec_parse(&w, p, n) == 0);
	fuzz_assert(w.dim == v->dim && strcmp(w.method, v->method) == 0);
	vec_free(&w);
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	struct vec v;
	json_t *j;

	if (size > 0 && data[0] == '{') {
		j = json_loadb((const char *)data, size, 0, &e);
		if (j == NULL)
			return 0;
		if (vec_from_json(&v, j, NULL) == 0) {
			check(&v);
			vec_free(&v);
		}
		json_decref(j);
		return 0;
	}
	if (vec_parse(&v, data, size) == -1) {
		fuzz_assert(v.v == NULL);
		return 0;
	}
	fuzz_assert(size == VEC_HDRSIZE + (size_t)v.dim * 4);
	check(&v);
	vec_free(&v);
	return 0;
}
