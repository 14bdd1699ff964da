#!/bin/sh
# fuzz/seed.sh: make the fuzz targets' first inputs from pm's own output
# on the real media in t/data, into fuzz/corpus/NAME/ (named by their
# SHA-1, as libFuzzer names what it finds).  Needs a built pm (make) and
# ffmpeg.  Run once to start a corpus; fuzz/README says how to grow it.
#
# usage: sh fuzz/seed.sh

set -e

root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/t/data
PATH=$root/bin:$PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-seed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
PM_STORE=$tmp/store
export PM_STORE

# seed NAME FILE: add FILE to NAME's corpus.
seed() {
	mkdir -p "$root/fuzz/corpus/$1"
	cp "$2" "$root/fuzz/corpus/$1/$(sha1sum <"$2" | cut -c1-40)"
}

# the stored file of a blob
stored() {
	cp "$(pm-store path "$1")" "$tmp/f"
	echo "$tmp/f"
}

field() {
	sed -n "s/.*\"$1\":\"\([0-9a-f]\{64\}\)\".*/\1/p" "$2" | head -1
}

# rec: a selector byte for the longest line (0xff: no limit), one for
# the reader's buffer, then records.
printf '\377\377{"type":"product","id":"box","images":["box.png"]}\n' >"$tmp/r"
seed rec "$tmp/r"
printf '\020\003{"type":"frame","video":"v","t":1.5,"blob":"%s"}\r\n{"type":"x"\n\n[1]\n{"type":7}\n' \
    "$(echo x | sha256sum | cut -c1-64)" >"$tmp/r"
seed rec "$tmp/r"
printf '\377\020{"type":"image","product":"p \\"q\\" /x","src":"a\\nb","w":1e300,"h":-0.0}' >"$tmp/r"
seed rec "$tmp/r"

# sources, sizes, and ids to name pictures after
for s in "file:///tmp/a%20b.jpg?x#y" "file://localhost/a" "http://h/x.jpg" \
    "ytsearch5:cats" "./a:b.jpg" "/abs/path" "10M" "1g"; do
	printf '%s' "$s" >"$tmp/s"
	seed source "$tmp/s"
done
for s in box "../../etc/passwd" "a b/c" ".hidden" "-rf" \
    "$(printf '%090d' 0)" "caf\303\251"; do
	printf %b "$s" >"$tmp/s"
	seed safename "$tmp/s"
done

# images: each format pm decodes, small
for f in HappyFish.jpg box.png; do
	ffmpeg -nostdin -loglevel error -i "$data/$f" -vf scale=16:12 \
	    -y "$tmp/small.${f#*.}"
	seed imghdr "$tmp/small.${f#*.}"
done
for ext in bmp tiff webp pgm ppm; do
	ffmpeg -nostdin -loglevel error -i "$data/box.png" -vf scale=8:6 \
	    -y "$tmp/small.$ext"
	seed imghdr "$tmp/small.$ext"
done
printf 'P1\n# a comment\n3 2\n0 1 0\n1 0 1\n' >"$tmp/p1.pbm"
seed imghdr "$tmp/p1.pbm"

# store: a blob stored raw, one stored as a zstd frame, an empty one;
# the first byte picks the name (see fuzz/store.c)
for f in "$tmp/small.jpg" "$data/H1to3p.xml"; do
	b=$(pm-store put "$f")
	{ printf '\000'; cat "$(stored "$b")"; } >"$tmp/s"
	seed store "$tmp/s"
done
seq 1 300 >"$tmp/seq"
b=$(pm-store put "$tmp/seq")
{ printf '\000'; cat "$(stored "$b")"; } >"$tmp/s"
seed store "$tmp/s"
printf '\000' >"$tmp/s"
seed store "$tmp/s"

# keypoint blobs of each detector, a few keypoints each
b=$(pm-store put "$data/box.png")
for d in sift rootsift orb akaze; do
	echo "{\"type\":\"image\",\"product\":\"box\",\"blob\":\"$b\"}" |
	    pm-kp -d $d -n 6 >"$tmp/kp"
	pm-store cat "$(field kp "$tmp/kp")" >"$tmp/k"
	seed kpblob "$tmp/k"
done

# vectors: a blob, and a record with an inline vector
echo "{\"type\":\"image\",\"product\":\"box\",\"blob\":\"$b\"}" |
    pm-embed -e colour >"$tmp/e"
pm-store cat "$(field emb "$tmp/e")" >"$tmp/v"
seed vec "$tmp/v"
printf '{"type":"image","emb":[0.6,0.8,0],"emb_method":"thumb"}' >"$tmp/v"
seed vec "$tmp/v"

# a VLAD codebook of two centres, cut from the one pm ships
{ head -c 8 "$root/share/pm/vlad.cb"; printf '\002\000\000\000'
  tail -c +13 "$root/share/pm/vlad.cb" | head -c $((20 + 2 * 128 * 4)); } \
    >"$tmp/cb"
seed codebook "$tmp/cb"

# indexes: few images and keypoints, a small vocabulary; with vectors
# and their graph, and without vectors
: >"$tmp/imgs"
for f in box.png HappyFish.jpg LinuxLogo.jpg; do
	b=$(pm-store put "$data/$f")
	echo "{\"type\":\"image\",\"product\":\"${f%.*}\",\"blob\":\"$b\",\"emb\":[0.6,0.8,0,0],\"emb_method\":\"thumb\"}" >>"$tmp/imgs"
done
for d in sift orb; do
	pm-kp -d $d -n 5 <"$tmp/imgs" >"$tmp/kps"
	pm-index -k 4 -g 0 -o "$tmp/i.idx" <"$tmp/kps" >/dev/null
	seed index "$tmp/i.idx"
	sed 's/,"emb":\[[^]]*\],"emb_method":"thumb"//' "$tmp/kps" >"$tmp/kpn"
	pm-index -k 4 -o "$tmp/i.idx" <"$tmp/kpn" >/dev/null
	seed index "$tmp/i.idx"
done
