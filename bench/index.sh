#!/bin/sh
# bench/index.sh: pm's vector index against exact search and against
# hnswlib's own build and search, on the same real-derived vectors, in
# the same run: recall@10, queries a second (one thread), build time
# (one thread, M 16, ef_construction 200), and bytes a vector.
#
# The vectors: crops of the real images in t/data (random place and
# size, mirrored, brightened or darkened; a fixed seed), each described
# by a 4x4 grid of gradient orientation histograms and mean colours,
# 176 elements (bench/index-pm.c says exactly how).  pm-embed's vectors
# would do as well; these need nothing but the images.  The queries are
# other crops of the same images: near-duplicate search, as a frame
# looks for a catalog image.
#
# pm builds its graph with hnswlib's insertion (its plain distance
# loops) and searches it with its own C code over the checked section
# an index file holds; hnswlib builds its own (SIMD distances,
# -O3 -march=native, as its own setup does) and searches with searchKnn.
#
# Usage: sh bench/index.sh [SIZES]   (default "10000 100000"; from a
# built clone; programs and data go to bench/out/)

set -e
cd "$(dirname "$0")/.."
SIZES=${1:-10000 100000}
Q=${Q:-1000}
M=16
EFC=200
EFS="10 20 40 80 160"
out=bench/out
mkdir -p "$out"

[ -f src/libpm.a ] || make >&2
DEP_LIBS=$(sed -n "s/^DEP_LIBS *= *//p" config.mk)
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done

cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -pthread \
    -Isrc/lib -Isrc/cv -c -o "$out/index-pm.o" bench/index-pm.c
c++ -pthread -o "$out/index-pm" "$out/index-pm.o" src/libpm.a $DEP_LIBS -lm
c++ -std=c++17 -O3 -march=native -pthread -o "$out/index-hnswlib" \
    bench/index-hnswlib.cc

imgs=$(ls t/data/*.jpg t/data/*.png | grep -v box_in_scene)
echo "index benchmark: $max database and $Q query vectors from crops of" \
    "$(echo "$imgs" | wc -l) real images; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
dim=$("$out/index-pm" gen "$out" "$max" "$Q" $imgs)
for n in $SIZES; do
	"$out/index-pm" run "$out" "$n" "$Q" $M $EFC $EFS
	"$out/index-hnswlib" "$out" "$n" "$Q" "$dim" $M $EFC $EFS
done
