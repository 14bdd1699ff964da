/*
 * index-hnswlib: hnswlib's own figures for bench/index.sh, on the same
 * vectors, queries and exact answers as index-pm: hnswlib builds its
 * index (inner product, its SIMD distances, one thread) and searches it
 * with searchKnn at each ef.
 *
 *	index-hnswlib DIR N Q DIM M EFC EF...
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <hnswlib/hnswlib.h>

static std::vector<char>
slurp(const char *dir, const char *name, size_t bytes)
{
	std::vector<char> b(bytes);
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "rb");
	if (fp == nullptr || fread(b.data(), 1, bytes, fp) != bytes) {
		fprintf(stderr, "index-hnswlib: %s: cannot read\n", path);
		exit(2);
	}
	fclose(fp);
	return b;
}

static double
now()
{
	return std::chrono::duration<double>(
	    std::chrono::steady_clock::now().time_since_epoch()).count();
}

int
main(int argc, char *argv[])
{
	if (argc < 8) {
		fprintf(stderr, "usage: index-hnswlib dir n q dim M efc ef ...\n");
		return 2;
	}
	const char *dir = argv[1];
	size_t n = atol(argv[2]), q = atol(argv[3]), dim = atol(argv[4]);
	size_t M = atol(argv[5]), efc = atol(argv[6]);
	const size_t K = 10;
	char gtname[64];

	snprintf(gtname, sizeof gtname, "gt-%zu.u32", n);
	auto base = slurp(dir, "base.f32", n * dim * 4);
	auto qv = slurp(dir, "query.f32", q * dim * 4);
	auto gtb = slurp(dir, gtname, q * K * 4);
	const float *b = reinterpret_cast<const float *>(base.data());
	const float *qq = reinterpret_cast<const float *>(qv.data());
	const unsigned *gt = reinterpret_cast<const unsigned *>(gtb.data());

	hnswlib::InnerProductSpace space(dim);
	double t0 = now();
	hnswlib::HierarchicalNSW<float> h(&space, n, M, efc, 100);
	for (size_t i = 0; i < n; i++)
		h.addPoint(b + i * dim, i);
	double t1 = now();
	/* per element: level-0 links, the vector, the label; upper links */
	double bytes = (double)h.size_data_per_element_ * n;
	for (size_t i = 0; i < n; i++)
		bytes += h.element_levels_[i] * h.size_links_per_element_;
	printf("hnswlib build  %8zu vectors  %9.1f s  graph %.1f bytes a vector "
	    "(+ %zu of the vector itself)\n", n, t1 - t0,
	    bytes / n - dim * 4, dim * 4);
	for (int e = 7; e < argc; e++) {
		size_t ef = atol(argv[e]), hit = 0;

		h.setEf(ef);
		t0 = now();
		for (size_t i = 0; i < q; i++) {
			auto r = h.searchKnn(qq + i * dim, K);
			while (!r.empty()) {
				for (size_t l = 0; l < K; l++)
					if (r.top().second == gt[i * K + l])
						hit++;
				r.pop();
			}
		}
		t1 = now();
		printf("hnswlib search %8zu vectors  %9.0f q/s  recall@10 %.3f"
		    "  ef %zu\n", n, q / (t1 - t0), (double)hit / (q * K), ef);
	}
	return 0;
}
