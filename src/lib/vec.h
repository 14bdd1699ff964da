/*
 * vec.h: global image vectors, pm-embed's output, as blobs or inline.
 *
 * A record's "emb" is either a blob name (a vector blob, below) or, for
 * small vectors, an inline JSON array of numbers; "emb_method" names the
 * method either way.  A vector blob is little-endian:
 *
 *	off  size  field
 *	  0     4  magic "PMVC"
 *	  4     2  version, 1
 *	  6     2  header size, 32
 *	  8     4  dim, the number of elements (1 .. VEC_MAXDIM)
 *	 12     4  element type: 1 IEEE 754 binary32
 *	 16    16  method name, NUL-padded ASCII ("vlad", "colour", "dnn")
 *	 32 4*dim  the elements
 *
 * Vectors are L2-normalised by their writer; a reader checks that every
 * element is finite and the norm is 1 (within 1e-3) or 0.
 */
#ifndef PM_VEC_H
#define PM_VEC_H

#include <stddef.h>
#include <jansson.h>

#define VEC_VERSION	1
#define VEC_HDRSIZE	32
#define VEC_MAXDIM	(1 << 20)
#define VEC_METHODLEN	16

struct store;

struct vec {
	int	 dim;
	char	 method[VEC_METHODLEN + 1];
	float	*v;		/* dim elements, malloc'd */
};

/* Parse a vector blob into *out.  Never reads outside p[0..n). */
int	 vec_parse(struct vec *out, const void *p, size_t n);

/* The blob of a vector (L2-normalised here) into *p, *n (malloc'd). */
int	 vec_write(const char *method, const float *v, int dim, void **p,
	    size_t *n);

/*
 * A record's vector: "emb" as a blob name in store s, or as an inline
 * array; the method from the blob or from "emb_method".
 */
int	 vec_from_json(struct vec *out, json_t *rec, struct store *s);

/* Scale v to unit length (a zero vector stays zero). */
void	 vec_normalise(float *v, int dim);

void	 vec_free(struct vec *);

#endif
