/*
 * embed.h: global image vectors computed with OpenCV (pm-embed(1)): a
 * colour and texture histogram, and any network OpenCV's dnn module
 * reads.  The VLAD method, which needs only keypoints, is in vlad.h.
 *
 * Like cv.h: every function catches every C++ exception and returns -1
 * (or NULL) after pm_fail(); every function may be called from many
 * threads at once; results do not depend on the number of threads.
 */
#ifndef PM_EMBED_H
#define PM_EMBED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The colour and texture vector of an image (at least CV_MIN_SIDE
 * pixels a side), CV_COLOUR_DIM reals into v, of unit length.
 *
 * The image is scaled to 256 pixels on its longer side.  For the whole
 * image and for each quarter of it (a spatial pyramid of 1x1 and 2x2
 * cells, in the order whole, top left, top right, bottom left, bottom
 * right) a cell has: a joint HSV histogram of 8 hues, 4 saturations and
 * 4 values (128 bins, hue major), and a histogram of 8 unsigned
 * gradient orientations weighted by gradient magnitude.  Pixels are
 * shared between neighbouring bins in proportion to their distance
 * (hue and orientation wrap around), so a small change of colour or
 * angle changes the vector a little.  Each histogram is divided by its
 * sum, square-rooted (so that Euclidean distance between vectors is the
 * Hellinger distance between histograms), and weighted: the whole
 * image's by 1, a quarter's by 1/2, texture by 0.7 of colour.
 */
#define CV_COLOUR_BINS	128
#define CV_GRAD_BINS	8
#define CV_COLOUR_CELLS	5
#define CV_COLOUR_DIM	(CV_COLOUR_CELLS * (CV_COLOUR_BINS + CV_GRAD_BINS))
int	 cv_colour_embed(const void *img, size_t n, float *v);

/*
 * Networks.
 */
enum cv_fit {
	CV_FIT_STRETCH = 0,	/* scale to the input size, aspect lost */
	CV_FIT_CROP = 1		/* scale the shorter side, crop the centre */
};

enum cv_order {
	CV_ORDER_RGB = 0,
	CV_ORDER_BGR = 1,
	CV_ORDER_GRAY = 2
};

enum cv_pool {
	CV_POOL_AUTO = 0,	/* average a feature map, else flatten */
	CV_POOL_NONE = 1,	/* flatten whatever the output is */
	CV_POOL_AVG = 2,
	CV_POOL_MAX = 3,
	CV_POOL_GEM = 4		/* generalised mean, exponent gem_p */
};

struct cv_net_opts {
	const char *model;	/* the weights: .onnx, .caffemodel, .weights, .pb */
	const char *config;	/* .prototxt, .cfg, .pbtxt; or NULL */
	int	 w, h;		/* the net's input size */
	int	 fit;		/* enum cv_fit */
	int	 crop_side;	/* CV_FIT_CROP: scale the shorter side to
				 * this first; 0: to the input's */
	int	 order;		/* enum cv_order: the net's channels */
	double	 scale;		/* input = (pixel * scale - mean) / std */
	double	 mean[3];	/* in the net's channel order */
	double	 std[3];
	const char *layer;	/* the output layer, or NULL: the net's output */
	int	 pool;		/* enum cv_pool */
	double	 gem_p;
};

/* Defaults: 224x224, stretch, RGB, scale 1/255, mean 0, std 1, the
 * net's output, pooling auto, GeM exponent 3. */
void	 cv_net_defaults(struct cv_net_opts *);

/*
 * Load a network and run it once on a grey image, to fail early on a
 * model OpenCV cannot read, a layer it does not have, or an input size
 * it does not take.  The options are copied.
 */
struct cv_net *cv_net_open(const struct cv_net_opts *);
/* The length of the net's vectors. */
int	 cv_net_dim(const struct cv_net *);
/*
 * The vector of an image (at least CV_MIN_SIDE pixels a side),
 * cv_net_dim() reals into v, of unit length (or zero).  A thread runs
 * its own copy of the network (loaded on first use), so calls in
 * parallel do not wait for each other.
 */
int	 cv_net_embed(struct cv_net *, const void *img, size_t n, float *v);
void	 cv_net_close(struct cv_net *);

#ifdef __cplusplus
}
#endif

#endif
