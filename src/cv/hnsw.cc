/*
 * hnsw.cc: ann_build() (ann.h): HNSW graphs built by hnswlib, written as
 * pm's graph section for ann.c to check and search.
 *
 * hnswlib inserts one point at a time, drawing each point's level from
 * a generator of fixed seed, so one thread inserting the same rows in
 * the same order builds the same graph.  Adding to an existing graph
 * loads its nodes and links into hnswlib's arrays as they were, then
 * inserts the new rows.
 */
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

/*
 * hnswlib prefetches the link after the last of a list, reading past
 * the end of its allocation when the list is full (AddressSanitizer
 * sees it); its plain distance loops have no prefetches.
 */
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

extern "C" {
#include "ann.h"
#include "err.h"
}

namespace {

template <class D> void
import_graph(hnswlib::HierarchicalNSW<D> &h, const struct ann &old)
{
	if (old.M != h.maxM_ || old.M0 != h.maxM0_)
		throw std::runtime_error("the old graph's M differs");
	for (uint32_t i = 0; i < old.nodes; i++) {
		const uint32_t *ll = old.l0 + (size_t)i * (1 + old.M0);
		const unsigned char *row =
		    static_cast<const unsigned char *>(old.rows) +
		    (size_t)old.label[i] * old.stride;
		int lv = old.level[i];

		memset(h.data_level0_memory_ + i * h.size_data_per_element_, 0,
		    h.size_data_per_element_);
		hnswlib::linklistsizeint *l0 = h.get_linklist0(i);
		*l0 = ll[0];
		memcpy(l0 + 1, ll + 1, ll[0] * sizeof(uint32_t));
		memcpy(h.getDataByInternalId(i), row, h.data_size_);
		h.setExternalLabel(i, old.label[i]);
		h.element_levels_[i] = lv;
		h.linkLists_[i] = nullptr;
		if (lv > 0) {
			size_t sz = h.size_links_per_element_ * lv + 1;

			h.linkLists_[i] = static_cast<char *>(calloc(1, sz));
			if (h.linkLists_[i] == nullptr)
				throw std::bad_alloc();
			for (int l = 1; l <= lv; l++) {
				const uint32_t *ul = old.up + old.upoff[i] +
				    (size_t)(l - 1) * (1 + old.M);
				hnswlib::linklistsizeint *dl = h.get_linklist(i, l);

				*dl = ul[0];
				memcpy(dl + 1, ul + 1, ul[0] * sizeof(uint32_t));
			}
		}
		h.label_lookup_[old.label[i]] = i;
		h.cur_element_count = i + 1;
	}
	h.enterpoint_node_ = old.entry;
	h.maxlevel_ = (int)old.top;
}

static void
put32(std::vector<unsigned char> &b, size_t off, uint32_t v)
{
	b[off] = v & 0xff;
	b[off + 1] = v >> 8 & 0xff;
	b[off + 2] = v >> 16 & 0xff;
	b[off + 3] = v >> 24 & 0xff;
}

/* hnswlib's graph as pm's graph section (ann.h). */
template <class D> std::vector<unsigned char>
export_graph(hnswlib::HierarchicalNSW<D> &h)
{
	uint32_t nodes = (uint32_t)h.cur_element_count;
	uint32_t M = (uint32_t)h.maxM_, M0 = (uint32_t)h.maxM0_;
	size_t lvbytes = ((size_t)nodes + 3) / 4 * 4;
	uint64_t upper = 0;

	for (uint32_t i = 0; i < nodes; i++) {
		if (h.element_levels_[i] < 0 ||
		    h.element_levels_[i] > ANN_MAXLEVEL)
			throw std::runtime_error("a node's level is too high");
		upper += (uint64_t)h.element_levels_[i] * (1 + M);
	}
	if (upper > UINT32_MAX)
		throw std::runtime_error("too many links");
	size_t size = ANN_HDRSIZE + 4 * (size_t)nodes + lvbytes +
	    4 * (size_t)nodes * (1 + M0) + 4 * (size_t)upper;
	std::vector<unsigned char> b(size, 0);

	memcpy(b.data(), "HNSW", 4);
	put32(b, 4, nodes);
	put32(b, 8, M);
	put32(b, 12, M0);
	put32(b, 16, (uint32_t)h.maxlevel_);
	put32(b, 20, (uint32_t)h.enterpoint_node_);
	put32(b, 24, (uint32_t)upper);
	size_t lab = ANN_HDRSIZE, lev = lab + 4 * (size_t)nodes,
	    l0 = lev + lvbytes, up = l0 + 4 * (size_t)nodes * (1 + M0);
	for (uint32_t i = 0; i < nodes; i++) {
		put32(b, lab + 4 * (size_t)i, (uint32_t)h.getExternalLabel(i));
		b[lev + i] = (unsigned char)h.element_levels_[i];
		hnswlib::linklistsizeint *ll = h.get_linklist0(i);
		uint32_t c = h.getListCount(ll);
		size_t o = l0 + 4 * (size_t)i * (1 + M0);
		put32(b, o, c);
		for (uint32_t j = 0; j < c; j++)
			put32(b, o + 4 * (1 + (size_t)j), ll[1 + j]);
		for (int l = 1; l <= h.element_levels_[i]; l++) {
			hnswlib::linklistsizeint *ul = h.get_linklist(i, l);
			uint32_t uc = h.getListCount(ul);

			put32(b, up, uc);
			for (uint32_t j = 0; j < uc; j++)
				put32(b, up + 4 * (1 + (size_t)j), ul[1 + j]);
			up += 4 * (size_t)(1 + M);
		}
	}
	return b;
}

template <class D> std::vector<unsigned char>
build(hnswlib::SpaceInterface<D> &space, const unsigned char *table,
    size_t stride, const uint32_t *rows, uint32_t n, int M, int efc,
    const struct ann *old)
{
	size_t nold = old != nullptr ? old->nodes : 0;
	hnswlib::HierarchicalNSW<D> h(&space, nold + n, (size_t)M,
	    (size_t)efc, 100 + nold);

	if (old != nullptr)
		import_graph(h, *old);
	for (uint32_t i = 0; i < n; i++) {
		if (h.label_lookup_.count(rows[i]) != 0)
			throw std::runtime_error("a row is in the graph twice");
		h.addPoint(table + (size_t)rows[i] * stride, rows[i]);
	}
	return export_graph(h);
}

} /* namespace */

extern "C" int
ann_build(struct ann *g, int metric, int dim, const void *table,
    size_t stride, uint32_t nrows, const uint32_t *rows, uint32_t n,
    int M, int efc, const struct ann *old)
{
	std::vector<unsigned char> sec;
	const unsigned char *t = static_cast<const unsigned char *>(table);

	memset(g, 0, sizeof *g);
	if (M < 2 || M > ANN_MAXM / 2 || efc < 1 || dim < 1)
		return pm_fail("graph: M %d or ef_construction %d out of range",
		    M, efc);
	if ((old == nullptr ? 0 : old->nodes) + (uint64_t)n == 0)
		return pm_fail("graph: no rows");
	if (old != nullptr && (old->metric != metric || old->dim != dim))
		return pm_fail("graph: the old graph is of another kind");
	try {
		if (metric == ANN_IP) {
			hnswlib::InnerProductSpace space((size_t)dim);
			sec = build<float>(space, t, stride, rows, n, M, efc,
			    old);
		} else if (metric == ANN_L2U8) {
			hnswlib::L2SpaceI space((size_t)dim);
			sec = build<int>(space, t, stride, rows, n, M, efc, old);
		} else
			return pm_fail("graph: unknown metric %d", metric);
	} catch (const std::bad_alloc &) {
		return pm_fail("graph: out of memory");
	} catch (const std::exception &e) {
		return pm_fail("graph: hnswlib: %s", e.what());
	}
	void *own = pm_malloc(sec.size());
	memcpy(own, sec.data(), sec.size());
	if (ann_parse(g, own, sec.size(), metric, dim, table, stride, nrows,
	    nullptr) == -1) {
		free(own);
		return -1;
	}
	g->own = own;
	return 0;
}
