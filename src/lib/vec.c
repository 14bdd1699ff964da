/*
 * vec.c: global image vectors: the vector blob's reader and writer.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store.h"
#include "vec.h"

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

void
vec_normalise(float *v, int dim)
{
	double s = 0;
	int i;

	for (i = 0; i < dim; i++)
		s += (double)v[i] * v[i];
	if (s <= 0)
		return;
	s = 1 / sqrt(s);
	for (i = 0; i < dim; i++)
		v[i] = (float)(v[i] * s);
}

/* A method name as a blob holds it: 1 to 16 printable ASCII, no space. */
static int
method_ok(const char *m)
{
	size_t i, n = strlen(m);

	if (n < 1 || n > VEC_METHODLEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)m[i] < 0x21 || (unsigned char)m[i] > 0x7e)
			return 0;
	return 1;
}

static int
check(const struct vec *out)
{
	double s = 0;
	int i;

	for (i = 0; i < out->dim; i++) {
		if (!isfinite(out->v[i]))
			return pm_fail("vector: element %d is not a finite number", i);
		s += (double)out->v[i] * out->v[i];
	}
	if (s != 0 && fabs(sqrt(s) - 1) > 1e-3)
		return pm_fail("vector: not of unit length (norm %g)", sqrt(s));
	return 0;
}

int
vec_parse(struct vec *out, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t dim, type, bits;
	size_t i;

	memset(out, 0, sizeof *out);
	if (n < VEC_HDRSIZE)
		return pm_fail("vector blob: %zu bytes, shorter than its header", n);
	if (memcmp(b, "PMVC", 4) != 0)
		return pm_fail("vector blob: bad magic, not a vector blob");
	if ((b[4] | b[5] << 8) != VEC_VERSION)
		return pm_fail("vector blob: version %d, this pm reads %d",
		    b[4] | b[5] << 8, VEC_VERSION);
	if ((b[6] | b[7] << 8) != VEC_HDRSIZE)
		return pm_fail("vector blob: header size %d, wanted %d",
		    b[6] | b[7] << 8, VEC_HDRSIZE);
	dim = get32(b + 8);
	type = get32(b + 12);
	if (dim < 1 || dim > VEC_MAXDIM)
		return pm_fail("vector blob: dimension %u out of range", dim);
	if (type != 1)
		return pm_fail("vector blob: element type %u unknown", type);
	if (n != VEC_HDRSIZE + (size_t)dim * 4)
		return pm_fail("vector blob: %zu bytes, %u elements need %zu",
		    n, dim, VEC_HDRSIZE + (size_t)dim * 4);
	for (i = 0; i < VEC_METHODLEN && b[16 + i]; i++)
		if (b[16 + i] < 0x21 || b[16 + i] > 0x7e)
			return pm_fail("vector blob: method name is not ASCII");
	memcpy(out->method, b + 16, i);
	out->method[i] = '\0';
	for (; i < VEC_METHODLEN; i++)
		if (b[16 + i] != 0)
			return pm_fail("vector blob: method name not NUL-padded");
	out->dim = (int)dim;
	out->v = pm_reallocarray(NULL, dim, sizeof *out->v);
	for (i = 0; i < dim; i++) {
		bits = get32(b + VEC_HDRSIZE + 4 * i);
		memcpy(&out->v[i], &bits, 4);
	}
	if (check(out) == -1) {
		vec_free(out);
		return -1;
	}
	return 0;
}

int
vec_write(const char *method, const float *v, int dim, void **p, size_t *n)
{
	unsigned char *b;
	float *u;
	uint32_t bits;
	size_t len = strlen(method);
	int i;

	if (dim < 1 || dim > VEC_MAXDIM)
		return pm_fail("vector: dimension %d out of range", dim);
	if (!method_ok(method))
		return pm_fail("vector: method name of %zu characters, not 1 "
		    "to %d printable ASCII ones", len, VEC_METHODLEN);
	u = pm_reallocarray(NULL, (size_t)dim, sizeof *u);
	for (i = 0; i < dim; i++) {
		if (!isfinite(v[i])) {
			free(u);
			return pm_fail("vector: element %d is not a finite number", i);
		}
		u[i] = v[i];
	}
	vec_normalise(u, dim);
	*n = VEC_HDRSIZE + (size_t)dim * 4;
	b = pm_calloc(1, *n);
	memcpy(b, "PMVC", 4);
	b[4] = VEC_VERSION;
	b[6] = VEC_HDRSIZE;
	put32(b + 8, (uint32_t)dim);
	put32(b + 12, 1);
	memcpy(b + 16, method, len);
	for (i = 0; i < dim; i++) {
		memcpy(&bits, &u[i], 4);
		put32(b + VEC_HDRSIZE + 4 * i, bits);
	}
	free(u);
	*p = b;
	return 0;
}

int
vec_from_json(struct vec *out, json_t *rec, struct store *s)
{
	json_t *emb = json_object_get(rec, "emb"), *x;
	const char *m;
	void *p;
	size_t n, i;
	int r;

	memset(out, 0, sizeof *out);
	if (json_is_string(emb)) {
		if (s == NULL)
			return pm_fail("emb: no store to read it from");
		if (store_get(s, json_string_value(emb), &p, &n) == -1)
			return -1;
		r = vec_parse(out, p, n);
		free(p);
		return r;
	}
	if (!json_is_array(emb))
		return pm_fail("no emb: run pm-embed first");
	n = json_array_size(emb);
	if (n < 1 || n > VEC_MAXDIM)
		return pm_fail("emb: %zu elements", n);
	m = json_string_value(json_object_get(rec, "emb_method"));
	if (m == NULL || !method_ok(m))
		return pm_fail("emb: inline vector without a valid emb_method");
	snprintf(out->method, sizeof out->method, "%s", m);
	out->dim = (int)n;
	out->v = pm_reallocarray(NULL, n, sizeof *out->v);
	json_array_foreach(emb, i, x) {
		if (!json_is_number(x)) {
			vec_free(out);
			return pm_fail("emb: element %zu is not a number", i);
		}
		out->v[i] = (float)json_number_value(x);
	}
	if (check(out) == -1) {
		vec_free(out);
		return -1;
	}
	return 0;
}

void
vec_free(struct vec *v)
{
	free(v->v);
	v->v = NULL;
	v->dim = 0;
}
