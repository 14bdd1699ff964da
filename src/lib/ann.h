/*
 * ann.h: nearest neighbour search over a HNSW graph (Malkov and Yashunin,
 * "Efficient and robust approximate nearest neighbor search using
 * Hierarchical Navigable Small World graphs", TPAMI 2018), and exact
 * search for small sets and for measuring recall.
 *
 * hnswlib builds the graph (ann_build(), in src/cv/hnsw.cc); this file
 * checks and searches it in C, over arrays that may lie in a mapped
 * index file, so that loading an index copies nothing.  A graph is
 * written as a section of its own (below), read back by ann_parse(),
 * which checks every field and every link: a search over a graph that
 * ann_parse() accepted never reads outside it.
 *
 * The vectors are rows of a table the graph's nodes point to (their
 * labels): float rows compared by inner product (ANN_IP, distance
 * 1 - dot, for L2-normalised vectors) or byte rows compared by squared
 * Euclidean distance (ANN_L2U8, exact integers).
 *
 * The graph section, little-endian, 32-bit words:
 *
 *	off  size  field
 *	  0     4  magic "HNSW"
 *	  4     4  nodes, 1 .. rows of the table
 *	  8     4  M, links per node above level 0 (1 .. ANN_MAXM)
 *	 12     4  M0, links per node at level 0 (1 .. 2 * ANN_MAXM)
 *	 16     4  top level (0 .. ANN_MAXLEVEL)
 *	 20     4  entry node, whose level is the top level
 *	 24     4  words of upper links, sum of level * (1 + M) over nodes
 *	 28     4  zero
 *	 32  4*nodes  labels: each node's row, all different
 *	  .  nodes  levels, one byte a node, then zero bytes to a multiple of 4
 *	  .  4*nodes*(1+M0)  level 0: for each node a count then M0 node numbers
 *	  .  4*upper  levels 1 and up: for each node of level L > 0, in node
 *		   order, L lists of a count then M node numbers
 *
 * A link at level l leads to a node of level l or more.
 */
#ifndef PM_ANN_H
#define PM_ANN_H

#include <stddef.h>
#include <stdint.h>

#define ANN_MAXM	256
#define ANN_MAXLEVEL	32
#define ANN_HDRSIZE	32

enum ann_metric {
	ANN_IP = 1,		/* float rows, 1 - dot product */
	ANN_L2U8 = 2		/* byte rows, squared Euclidean distance */
};

struct ann {
	int		 metric;
	int		 dim;		/* elements a row */
	const void	*rows;		/* the table */
	size_t		 stride;	/* bytes from row to row */
	uint32_t	 nrows;
	uint32_t	 nodes, M, M0, top, entry, upper;
	const uint32_t	*label;		/* node -> row */
	const uint8_t	*level;
	const uint32_t	*l0;		/* node * (1 + M0): count, links */
	const uint32_t	*up;		/* upper links */
	uint64_t	*upoff;		/* node -> its level 1 list in up (malloc'd) */
	const void	*sec;		/* the section the arrays lie in */
	size_t		 seclen;
	void		*own;		/* the section, when built in memory */
};

struct ann_hit {
	double		 d;		/* distance */
	uint32_t	 row;
};

/* A search's scratch space; one per thread. */
struct ann_scratch {
	uint32_t	*mark;
	uint32_t	 gen, cap;
	struct ann_hit	*cand, *best;
	size_t		 ncap;
};

/*
 * Check the n bytes at p are a graph over the given table and describe
 * it in *g (whose arrays point into p).  allowed, if not NULL, has one
 * byte a row: a node may only point to a row whose byte is not zero.
 * p must be 4-byte aligned.  Returns 0, or -1 with pm_why() set.
 */
int	 ann_parse(struct ann *g, const void *p, size_t n, int metric, int dim,
	    const void *rows, size_t stride, uint32_t nrows,
	    const unsigned char *allowed);

/* A graph's section is g->seclen bytes at g->sec. */

void	 ann_free(struct ann *g);

/*
 * Build a graph over the given rows of a table with hnswlib, M links a
 * node (2M at level 0), ef_construction efc; when old is not NULL,
 * its nodes come first, linked as they were (adding to a graph without
 * rebuilding it).  The same input gives the same graph.  Single
 * threaded.  Returns 0, or -1 with pm_why() set.
 */
int	 ann_build(struct ann *g, int metric, int dim, const void *table,
	    size_t stride, uint32_t nrows, const uint32_t *rows, uint32_t n,
	    int M, int efc, const struct ann *old);

/*
 * The k nearest rows to q (a row of the graph's kind) into out, nearest
 * first (ties: the lower row first); ef (at least k) is the breadth of
 * the search.  Returns the number found.
 */
int	 ann_search(const struct ann *g, const void *q, int k, int ef,
	    struct ann_hit *out, struct ann_scratch *s);

/* The same, exactly, over the listed rows of a table. */
int	 ann_exact(int metric, int dim, const void *table, size_t stride,
	    const uint32_t *rows, uint32_t n, const void *q, int k,
	    struct ann_hit *out);

/* The distance between q and row r of a table. */
double	 ann_dist(int metric, int dim, const void *q, const void *row);

void	 ann_scratch_free(struct ann_scratch *s);

#endif
