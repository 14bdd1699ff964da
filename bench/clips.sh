#!/bin/sh
# bench/clips.sh: make the clips of a scene (default bench/accuracy.scene),
# their catalog and their ground truth with accgen into bench/out/acc
# (bench/out/NAME for another NAME.scene), once: again only when the
# scene or the generator changes.  The real media come from Debian
# packages (bench/media.sh).  Used by bench/accuracy.sh and
# bench/match.sh.
#
# usage: bench/clips.sh [scene]
set -eu
case ${1:-} in
"") scene= ;;
/*) scene=$1 ;;
*) scene=$PWD/$1 ;;
esac
cd "$(dirname "$0")/.."
[ -n "$scene" ] || scene=$PWD/bench/accuracy.scene
[ -r "$scene" ] || { echo "bench/clips.sh: $scene: cannot read" >&2; exit 2; }
name=$(basename "$scene" .scene)
[ "$name" != accuracy ] || name=acc
out=$PWD/bench/out/$name
media=$PWD/bench/out/media

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

make -s bench >/dev/null || { echo "bench/clips.sh: make bench failed" >&2; exit 2; }
# the real media the scene names
files=$(awk '$1 == "product" || $1 == "clip" { print $3 }
    { for (i = 1; i <= NF; i++) if ($i ~ /^occ=/) {
	f = substr($i, 5); sub(/:[^:]*$/, "", f); print f } }' "$scene" |
    sort -u)
sh bench/media.sh "$media" $files

key=$(cat "$scene" bench/gen/accgen.cc | sha256sum | cut -c1-16)
if [ "$(cat "$out/key" 2>/dev/null)" != "$key" ]; then
	rm -rf "$out"
	mkdir -p "$out"
	t0=$(now)
	bench/out/accgen -m "$media" -o "$out" "$scene" 2>"$out/accgen.log" ||
	    { cat "$out/accgen.log" >&2; exit 2; }
	echo "$key" >"$out/key"
	echo "bench/clips.sh: made $(grep -c . "$out/videos.ndjson") clips" \
	    "in $(since "$t0")" >&2
fi
