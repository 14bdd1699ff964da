/*
 * vlad.h: VLAD, a global image vector that aggregates local descriptors
 * (Jégou et al., CVPR 2010), and the codebook it is built on.
 *
 * Descriptors live in one space whatever their blob holds: RootSIFT as
 * unit vectors of 128 reals.  A SIFT descriptor d becomes sqrt(d /
 * sum(d)); a RootSIFT descriptor of a keypoint blob (kpblob.h) is
 * divided by 512 and scaled back to unit length.
 *
 * A codebook file is little-endian:
 *
 *	off  size  field
 *	  0     4  magic "PMCB"
 *	  4     2  version, 1
 *	  6     2  header size, 32
 *	  8     4  k, the number of centres (1 .. VLAD_MAXK)
 *	 12     4  dim, the descriptors' dimension: 128
 *	 16     4  descriptor space: 1 RootSIFT
 *	 20     4  descriptors it was trained on
 *	 24     8  zero
 *	 32 4*k*dim  the centres, IEEE 754 binary32, centre by centre
 */
#ifndef PM_VLAD_H
#define PM_VLAD_H

#include <stddef.h>

#define VLAD_VERSION	1
#define VLAD_HDRSIZE	32
#define VLAD_MAXK	4096
#define VLAD_DIM	128
#define VLAD_ROOTSIFT	1

struct kpblob;

struct vlad_codebook {
	int	 k;		/* centres */
	int	 dim;		/* VLAD_DIM */
	int	 trained;	/* descriptors it was trained on */
	float	*c;		/* k * dim, malloc'd */
};

/* Parse a codebook into *cb.  Never reads outside p[0..n). */
int	 vlad_codebook_parse(struct vlad_codebook *cb, const void *p, size_t n);
/* A codebook's bytes into *p, *n (malloc'd). */
int	 vlad_codebook_write(const struct vlad_codebook *cb, void **p, size_t *n);
void	 vlad_codebook_free(struct vlad_codebook *cb);

/* Read a codebook file. */
int	 vlad_codebook_load(struct vlad_codebook *cb, const char *path);
/* Write a codebook file, whole or not at all (a temporary renamed). */
int	 vlad_codebook_save(const struct vlad_codebook *cb, const char *path);
/*
 * The codebook pm ships: share/pm/vlad.cb beside the directory of the
 * running program (bin/../share/pm), as a malloc'd path.
 */
char	*vlad_codebook_shipped(void);

/*
 * The descriptors of a parsed keypoint blob as RootSIFT unit vectors:
 * *d receives *n x VLAD_DIM reals (malloc'd; NULL when *n is 0).
 * Descriptors that are all zero are left out.  Fails for blobs of
 * other descriptors than SIFT's.
 */
int	 vlad_descriptors(const struct kpblob *b, float **d, int *n);

/*
 * The VLAD of n descriptors d into v (cb->k * cb->dim reals): each
 * descriptor's residual from its nearest centre, summed per centre;
 * then power normalisation (the signed square root of each element),
 * intra-normalisation (each centre's block to unit length) and the
 * whole to unit length.  No descriptors give the zero vector.
 */
void	 vlad_aggregate(const struct vlad_codebook *cb, const float *d, int n,
	    float *v);

/*
 * A sample of descriptors for training, of bounded size: every
 * stride-th descriptor offered is kept, and when the sample holds
 * twice max, every second one is dropped and the stride doubled.  The
 * result depends only on the order descriptors are offered in.
 */
struct vlad_sample {
	float	*d;
	int	 n, max;
	long long seen;
	long long stride;
};

void	 vlad_sample_init(struct vlad_sample *s, int max);
void	 vlad_sample_add(struct vlad_sample *s, const float *d, int n);
void	 vlad_sample_free(struct vlad_sample *s);

/*
 * Train a codebook of k centres on n descriptors d by k-means: seeded
 * by k-means++ from a fixed seed, then Lloyd's iterations until no
 * descriptor changes centre or iters have run.  An empty cluster takes
 * the descriptor farthest from its centre.  The same descriptors give
 * the same codebook, byte for byte.
 */
int	 vlad_train(const float *d, int n, int k, int iters,
	    struct vlad_codebook *cb);

#endif
