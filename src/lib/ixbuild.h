/*
 * ixbuild.h: building a catalog index (index.h) from image records, as
 * pm-index does: the parallel part reads each image's keypoints and
 * vector, the ordered part adds them as entries and draws the sample
 * the vocabulary is trained on, and the end trains the vocabulary,
 * assigns every entry's words, fills the inverted file and builds the
 * graphs.  The same records and parameters give the same bytes for
 * any number of threads.
 */
#ifndef PM_IXBUILD_H
#define PM_IXBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct index;
struct store;

struct ixb_params {
	int		 k;		/* words; 0: from the sample's size */
	size_t		 sample;	/* descriptors the vocabulary is trained on, at most */
	int		 iters;		/* k-means iterations */
	int		 M, efc;	/* graphs */
	int		 wef;		/* breadth of the word search */
	int		 exactk;	/* words up to which search is exact */
	uint32_t	 graph_min;	/* vectors below which no graph is built */
	int		 threads;
	size_t		 keep;		/* bytes of descriptors kept from the first pass */
};

void	 ixb_defaults(struct ixb_params *);

struct ixb;
struct ixb_item;

/* A new index; with old, its entries come first and its vocabulary is
 * kept (adding to an index without rebuilding it). */
struct ixb *ixb_new(const struct ixb_params *, struct index *old,
	    struct store *);
void	 ixb_free(struct ixb *);

/* Read an image record's keypoints and vector (any thread). */
int	 ixb_item(struct ixb *, json_t *rec, struct ixb_item **);
void	 ixb_item_free(struct ixb_item *);

/* Add an item as the next entry (in input order); on -1 (pm_why()) the
 * record is refused: keypoints or vector of another kind. */
int	 ixb_add(struct ixb *, struct ixb_item *);

struct ixb_stats {
	uint32_t	 n, products, vectors, words;
	int		 dim, graph;
	const char	*kind, *method;
	uint64_t	 postings;
	size_t		 sample;
	uint32_t	 duplicates;
};

/* Build the index file into *buf (malloc'd, *len bytes). */
int	 ixb_finish(struct ixb *, void **buf, size_t *len, struct ixb_stats *);

#endif
