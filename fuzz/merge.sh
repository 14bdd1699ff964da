#!/bin/sh
# fuzz/merge.sh: fold a working corpus (fuzz/out/corpus/NAME, from
# fuzz/run.sh) into the committed one, keeping only the inputs that add
# coverage (libFuzzer's -merge=1), so that fuzz/corpus/NAME stays small.
# Crashes (fuzz/corpus/NAME/crash-*) are always kept.
#
# usage: sh fuzz/merge.sh name

set -e

[ $# = 1 ] || { echo "usage: fuzz/merge.sh name" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
name=$1
bin=$root/fuzz/out/$name
corpus=$root/fuzz/corpus/$name
new=$root/fuzz/out/merged/$name
rm -rf "$new"
mkdir -p "$new" "$root/fuzz/out/corpus/$name"
nice -n 19 "$bin" -merge=1 "$new" "$corpus" "$root/fuzz/out/corpus/$name" \
    >"$root/fuzz/out/merge-$name.log" 2>&1
for f in "$corpus"/crash-*; do
	[ -e "$f" ] && cp "$f" "$new/"
done
rm -rf "$corpus"
mv "$new" "$corpus"
echo "fuzz/merge.sh: $name: $(ls "$corpus" | wc -l) inputs," \
    "$(du -sk "$corpus" | cut -f1) KiB"
