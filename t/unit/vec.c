/*
 * Unit test of the vector blob: round trip, and refusal of every kind of
 * damage without reading out of bounds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tap.h"
#include "vec.h"

int
main(int argc, char *argv[])
{
	float v[5] = { 3, 0, 4, 0, 0 }, nanv[2] = { 1, NAN };
	struct vec out;
	unsigned char *p, *q;
	void *vp;
	size_t n, k;
	int r, bad;
	json_t *rec;

	pm_init(argv[0]);
	tap_plan(13);

	r = vec_write("colour", v, 5, &vp, &n);
	p = vp;
	ok(r == 0 && n == VEC_HDRSIZE + 20, "write a 5-element vector");
	r = vec_parse(&out, p, n);
	ok(r == 0 && out.dim == 5 && strcmp(out.method, "colour") == 0 &&
	    fabsf(out.v[0] - 0.6f) < 1e-6 && fabsf(out.v[2] - 0.8f) < 1e-6,
	    "read it back, normalised");
	vec_free(&out);

	bad = 0;
	for (k = 0; k < n; k++)
		if (vec_parse(&out, p, k) == 0)
			bad++;
	ok(bad == 0, "every truncation is refused (%d accepted)", bad);

	q = malloc(n);
	memcpy(q, p, n);
	q[0] = 'X';
	ok(vec_parse(&out, q, n) == -1 && strstr(pm_why(), "magic"),
	    "bad magic: %s", pm_why());
	memcpy(q, p, n);
	q[4] = 9;
	ok(vec_parse(&out, q, n) == -1 && strstr(pm_why(), "version"),
	    "unknown version: %s", pm_why());
	memcpy(q, p, n);
	q[8] = 0xff, q[9] = 0xff, q[10] = 0xff, q[11] = 0x7f;
	ok(vec_parse(&out, q, n) == -1, "absurd dimension: %s", pm_why());
	memcpy(q, p, n);
	memset(q + VEC_HDRSIZE, 0x7f, 4);
	ok(vec_parse(&out, q, n) == -1, "a huge element: %s", pm_why());
	free(q);
	free(p);

	ok(vec_write("x", nanv, 2, &vp, &n) == -1, "NaN is refused: %s", pm_why());

	rec = json_pack("{s:[f,f], s:s}", "emb", 0.6, 0.8, "emb_method", "colour");
	r = vec_from_json(&out, rec, NULL);
	ok(r == 0 && out.dim == 2, "an inline vector");
	vec_free(&out);
	json_decref(rec);
	rec = json_pack("{s:[f,f], s:s}", "emb", 3.0, 4.0, "emb_method", "colour");
	ok(vec_from_json(&out, rec, NULL) == -1 && strstr(pm_why(), "unit"),
	    "an inline vector not of unit length: %s", pm_why());
	json_decref(rec);
	rec = json_pack("{s:[f,f], s:s}", "emb", 0.6, 0.8, "emb_method", "t b");
	ok(vec_from_json(&out, rec, NULL) == -1 && strstr(pm_why(), "emb_method"),
	    "an inline vector whose method has a space: %s", pm_why());
	json_decref(rec);
	rec = json_pack("{s:[f,f], s:s}", "emb", 0.6, 0.8, "emb_method", "");
	ok(vec_from_json(&out, rec, NULL) == -1,
	    "an inline vector of an empty method: %s", pm_why());
	json_decref(rec);
	ok(vec_write("t\tb", v, 2, &vp, &n) == -1,
	    "a method name with a tab is not written: %s", pm_why());
	return tap_done();
}
