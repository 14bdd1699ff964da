/*
 * index.h: the catalog index, pm-index's output and pm-match's input.
 *
 * An index holds, for every catalog image (an entry): its product, its
 * image and keypoint blobs and its size; the entries' global vectors
 * with a HNSW graph over them (ann.h); and a visual vocabulary (vocab.h)
 * with an inverted file: for each word, the entries it occurs in and how
 * often.  The file is read in place (mapped, or a blob in memory) after
 * index_open() has checked every byte of it.
 *
 * The file is little-endian; reals are IEEE 754 binary32.
 *
 *	off  size  field
 *	  0     4  magic "PMIX"
 *	  4     2  version, 1
 *	  6     2  header size, 128
 *	  8     4  flags, zero
 *	 12     4  n, entries (1 .. INDEX_MAXN)
 *	 16     4  dim, elements of a global vector (0: no vectors)
 *	 20     4  k, words of the vocabulary (0: no vocabulary)
 *	 24     1  detector of the keypoints (kpblob.h: 1 SIFT, 2 ORB, 3 AKAZE)
 *	 25     1  descriptor type (1 L2, 2 Hamming)
 *	 26     2  descriptor size, bytes
 *	 28     4  keypoint flags: 1 RootSIFT
 *	 32    16  the vectors' method (vec.h), NUL-padded ASCII
 *	 48     4  bytes a word (vocab.h)
 *	 52     4  breadth of the word search the entries' words were
 *		   assigned with (ef; frames should use the same)
 *	 56     4  sections
 *	 60     4  zero
 *	 64     8  file size
 *	 72    32  SHA-256 of the bytes from offset 128 to the end
 *	104    24  zero
 *	128        the section table: for each section, 24 bytes: a tag
 *		   (4 ASCII bytes), 4 zero bytes, its offset (8) and size
 *		   (8); by increasing offset, each offset a multiple of 8,
 *		   zero bytes between and after sections
 *
 * Sections:
 *
 *	ENTR  n entries of 88 bytes: image blob (32 bytes, its SHA-256),
 *	      keypoint blob (32), product (offset 4, length 4, into STRS),
 *	      image width (4), height (4), keypoints (4), flags (4: 1 has a
 *	      global vector, 2 has words)
 *	STRS  the product ids, UTF-8, 1 .. 4096 bytes each
 *	VECS  dim > 0: n vectors of dim reals, L2-normalised; zero for an
 *	      entry without a vector
 *	VGRF  optional: a graph (ann.h) over the vectors, inner product
 *	WORD  k > 0: k words of (bytes a word) bytes
 *	WGRF  optional: a graph over the words, squared Euclidean distance
 *	PROJ  k > 0: the Hamming embedding's 64 projections (vocab.h), each
 *	      (bytes a word) weights of +1 or -1 (signed bytes)
 *	IVFO  k > 0: k + 1 offsets (8 bytes each) into the postings: word
 *	      w's are postings IVFO[w] .. IVFO[w + 1] - 1
 *	IVFP  a posting for each keypoint of each entry: the entry's number
 *	      (4 bytes), not decreasing within a word
 *	IVFS  for each posting, the keypoint's signature (8 bytes)
 *	IVFG  for each posting, the keypoint's geometry (2 bytes): its angle
 *	      (low byte, 256ths of a turn) and the base-2 logarithm of its
 *	      size (high byte, in eighths, plus 64, clamped to 0 .. 255)
 *
 * A word's weight is its idf, log(1 + N / df) (N: entries with words,
 * df: entries with this word), computed when the index is opened.
 */
#ifndef PM_INDEX_H
#define PM_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "ann.h"
#include "vocab.h"

#define INDEX_VERSION	1
#define INDEX_HDRSIZE	128
#define INDEX_ENTSIZE	88
#define INDEX_MAXN	(1u << 26)
#define INDEX_MAXPRODUCT 4096

enum {
	INDEX_HASVEC = 1,
	INDEX_HASWORDS = 2
};

struct store;

struct index {
	uint32_t	 n;		/* entries */
	int		 dim;		/* 0: no vectors */
	char		 method[17];
	int		 k;		/* 0: no vocabulary */
	int		 detector, desctype, descsize;
	uint32_t	 kpflags;
	int		 wdim, wef;
	uint32_t	 nproducts;
	char		**product;	/* product names, sorted */
	uint32_t	*pnum;		/* entry -> product number */
	const unsigned char *ent;
	const unsigned char *strs;
	const float	*vec;		/* n * dim */
	int		 has_vgraph, has_wgraph;
	struct ann	 vgraph, wgraph;
	uint32_t	*vrows, nvrows;	/* entries with a vector */
	struct vocab	 voc;
	const unsigned char *words;
	const signed char *proj;	/* VOCAB_BITS * wdim */
	const uint64_t	*ivf_off;
	const uint32_t	*ivf_id;
	const uint64_t	*ivf_sig;
	const uint16_t	*ivf_geo;
	uint64_t	 npost;
	float		*idf;		/* k */
	uint32_t	 nwent;		/* entries with words */
	void		*map;		/* the bytes */
	size_t		 len;
	int		 how;		/* 0 borrowed, 1 malloc'd, 2 mapped */
};

struct index_entry {
	const char	*product;	/* NUL-terminated */
	uint32_t	 pnum;
	char		 image[65], kp[65];
	uint32_t	 w, h, nkp, flags;
};

/*
 * Open an index: the file name, or (when there is no such file and name
 * is a blob name) a blob of store s.  Every byte is checked (see above):
 * a damaged, truncated or foreign file is refused with a reason in
 * pm_why().
 */
struct index *index_open(const char *name, struct store *s);

/* The same, from n bytes at p; when owned, index_close() frees p. */
struct index *index_open_mem(void *p, size_t n, int owned);

void	 index_close(struct index *);

void	 index_entry(const struct index *, uint32_t i, struct index_entry *);

/* Does entry i's descriptor kind match these keypoints? */
int	 index_kind_ok(const struct index *, int detector, int desctype,
	    int descsize, uint32_t kpflags);

/* A name for a keypoint kind: "rootsift", "sift", "orb", "akaze". */
const char *index_kind_name(int detector, uint32_t kpflags);

/*
 * Queries.  A scratch is one thread's working space.
 */
struct index_scratch {
	struct ann_scratch vs, ws;
	double		*acc;
	uint32_t	*touched;
	uint32_t	 ntouched, cap;
	int32_t		*sel;		/* entry -> its slot in stage 2, or -1 */
	struct index_vote_match *vm;
	size_t		 nvm, vmcap;
	double		*bins;
	size_t		 bincap;
};

void	 index_scratch_free(struct index_scratch *);

struct index_hit {
	uint32_t	 entry;
	double		 score;		/* the vote, or 1 - distance */
};

/* An image's keypoints as a query: their words, signatures, geometry. */
struct index_query {
	size_t		 n;
	uint32_t	*word;
	uint64_t	*sig;
	uint16_t	*geo;
};

struct kpblob;
struct kpblob_kp;

/* The query of a keypoint blob of the index's kind. */
void	 index_query_make(const struct index *, const struct kpblob *,
	    struct index_query *, struct index_scratch *);
void	 index_query_free(struct index_query *);

/* A keypoint's geometry, as IVFG holds it. */
uint16_t index_geo(const struct kpblob_kp *);

/*
 * The K entries the query's keypoints vote for, best first, ties by
 * entry number.  A keypoint votes for the entries with a posting in its
 * word whose signature is within INDEX_HT bits of its own, weighted by
 * the word's idf squared and by how near the signatures are, once per
 * entry; of the votes for an entry only those that agree on the
 * rotation and on the change of scale count (weak geometric
 * consistency: the larger of the agreeing angle votes or scale votes,
 * whichever is smaller).  The sum is not divided by a norm of the
 * entry: that favours images with few keypoints, and among many of
 * them, textureless crops whose handful of keypoints resemble
 * something in any frame outvote a product seen small.
 * Returns the number found.
 */
#define INDEX_HT	16
int	 index_vote(const struct index *, const struct index_query *, int K,
	    struct index_hit *out, struct index_scratch *);

/*
 * The K entries whose global vectors are nearest q (dim reals): the
 * graph's search of breadth ef, or exact search when exact is set or
 * the index has no graph.
 */
int	 index_nearest(const struct index *, const float *q, int K, int ef,
	    int exact, struct index_hit *out, struct index_scratch *);

/*
 * Writing.  The writer's entries and arrays; index_write() lays them
 * out, seals the file with its checksum, and checks the result by
 * opening it.
 */
struct index_in {
	const char	*product;
	unsigned char	 image[32], kp[32];
	uint32_t	 w, h, nkp, flags;
};

struct index_build {
	uint32_t	 n;
	const struct index_in *e;
	int		 dim;
	const char	*method;
	const float	*vec;
	const struct ann *vgraph;	/* or NULL */
	int		 k, wdim, wef;
	int		 detector, desctype, descsize;
	uint32_t	 kpflags;
	const unsigned char *words;
	const struct ann *wgraph;	/* or NULL */
	const signed char *proj;
	const uint64_t	*ivf_off;
	const uint32_t	*ivf_id;
	const uint64_t	*ivf_sig;
	const uint16_t	*ivf_geo;
	uint64_t	 npost;
};

int	 index_write(const struct index_build *, void **out, size_t *len);

/* Recompute the checksum of a file in memory (after editing it). */
void	 index_seal(void *p, size_t n);

/* A blob name's bytes, and back. */
int	 index_unhex(const char *hex, unsigned char raw[32]);
void	 index_hex(const unsigned char raw[32], char hex[65]);

#endif
