/*
 * vocab.h: a visual vocabulary, so that an image becomes a bag of visual
 * words (Sivic and Zisserman, "Video Google: a text retrieval approach
 * to object matching in videos", ICCV 2003): k-means over a sample of
 * the catalog's local descriptors; a descriptor's word is its nearest
 * centroid, found with a HNSW graph over the centroids (ann.h).
 *
 * Words live in a space of bytes: SIFT and RootSIFT descriptors as they
 * are (128 bytes); binary descriptors (ORB, AKAZE) one byte a bit, 0 or
 * 255, so that their squared Euclidean distance is 255^2 times their
 * Hamming distance.  Centroids are rounded to bytes, so every distance
 * is an exact integer and every machine assigns the same words.
 */
#ifndef PM_VOCAB_H
#define PM_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "ann.h"
#include "nn8.h"

#define VOCAB_MAXK	(1 << 22)
#define VOCAB_MAXDIM	512	/* bytes a word, at most (AKAZE: 488) */

/* Bytes a word has for descriptors of this type and size (kpblob.h). */
int	 vocab_dim(int desctype, int descsize);

/* One descriptor in word space: vocab_dim() bytes into out. */
void	 vocab_expand(int desctype, int descsize, const unsigned char *desc,
	    unsigned char *out);

struct vocab_params {
	int		 k;		/* words */
	int		 iters;		/* Lloyd iterations, at most */
	int		 threads;
	uint64_t	 seed;		/* of the first centroids' choice */
	int		 M, efc, ef;	/* the centroid graph, when k > exact */
	int		 exact;		/* 0: VOCAB_EXACT */
};

/* Up to this many words, descriptors are assigned by exact search
 * (nn8.h), which with AVX-512 VNNI is faster than the graph up to the
 * largest default vocabulary. */
#define VOCAB_EXACT	16384

/*
 * k-means over n rows of dim bytes: the first centroids are k rows
 * drawn by a generator of the given seed, then Lloyd iterations until
 * no row changes word (or iters); a word left empty takes the row
 * farthest from its centroid.  k is lowered to n if need be.  The same
 * sample and parameters give the same words with any number of
 * threads.  *words receives k * dim bytes (malloc'd), *k their count.
 */
int	 vocab_train(const unsigned char *sample, size_t n, int dim,
	    const struct vocab_params *, unsigned char **words, int *k);

struct vocab {
	int		 k, dim, ef;
	const unsigned char *words;	/* k * dim */
	const struct ann *graph;	/* over the words, or NULL: exact */
	struct nn8	 nn;		/* for exact search: the words */
};

/* Set up a vocabulary over words (graph may be NULL). */
void	 vocab_init(struct vocab *, const unsigned char *words, int k, int dim,
	    const struct ann *graph, int ef);
void	 vocab_free(struct vocab *);

/* The word of each of n rows (in word space, dim bytes each), and the
 * squared distance to it when dist is not NULL. */
void	 vocab_assign(const struct vocab *, const unsigned char *rows,
	    size_t n, uint32_t *word, double *dist, struct ann_scratch *);

/*
 * Hamming embedding (Jegou, Douze and Schmid, "Hamming embedding and
 * weak geometric consistency for large scale image search", ECCV
 * 2008): a descriptor's 64-bit signature tells it from the others of
 * its word.  Bit j is set when the j-th of 64 random projections of its
 * residual (the row minus its word's centroid) is positive; the
 * projections' weights are +1 or -1, so the sums are exact integers.
 */
#define VOCAB_BITS	64

/* The projections: VOCAB_BITS * dim weights of +1 or -1 into proj. */
void	 vocab_proj(int dim, uint64_t seed, signed char *proj);

/* The signature of a row (dim bytes) in the word whose centroid is c. */
uint64_t vocab_sign(const unsigned char *row, const unsigned char *c, int dim,
	    const signed char *proj);

/* A generator for deterministic choices: splitmix64. */
uint64_t vocab_rand(uint64_t *state);

#endif
