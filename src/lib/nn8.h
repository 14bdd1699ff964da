/*
 * nn8.h: exact nearest neighbours among rows of bytes.
 *
 * The distance is the squared Euclidean distance between rows of dim
 * bytes (SIFT and RootSIFT descriptors; visual words), computed in
 * integers, so that every machine and every loop finds the same
 * neighbours: with AVX-512 VNNI where the processor has it, with AVX2
 * for rows of 128 bytes, in plain C otherwise.  PM_NO_VNNI in the
 * environment keeps to AVX2, PM_NO_SIMD to plain C (for tests: the
 * results are the same).
 */
#ifndef PM_NN8_H
#define PM_NN8_H

#include <stddef.h>
#include <stdint.h>

#define NN8_MAXDIM	512

/* A set of rows laid out for the search, as queries or as the rows
 * searched (or both). */
enum {
	NN8_QUERY = 1,
	NN8_TRAIN = 2
};

struct nn8 {
	int		 n, dim, dimp;	/* rows; bytes a row; padded */
	int		 how;		/* NN8_QUERY, NN8_TRAIN */
	uint8_t		*u8;		/* n * dimp: the rows, zero-padded */
	int32_t		*norm;		/* n: squared norms */
	int32_t		*sum128;	/* VNNI queries: 128 times the sum */
	int8_t		*blk;		/* VNNI train rows, see nn8.c */
	int32_t		*bnorm;
	int16_t		*d16;		/* AVX2 rows of 128 (dimp 128) */
};

/* Lay out n rows of dim bytes, stride bytes apart. */
void	 nn8_init(struct nn8 *, const uint8_t *rows, size_t stride, int n,
	    int dim, int how);
void	 nn8_free(struct nn8 *);

struct nn8_hit {
	int64_t		 d1, d2;	/* the nearest's and the next one's
					   distances; INT64_MAX: none */
	int		 j;		/* the nearest, the lowest row among
					   equals; -1: none */
};

/* For each row of q, its two nearest rows of t (of the same dim). */
void	 nn8_knn2(const struct nn8 *q, const struct nn8 *t,
	    struct nn8_hit *out);

#endif
