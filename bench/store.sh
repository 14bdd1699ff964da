#!/bin/sh
# bench/store.sh: pm-store put and get throughput in MiB/s, beside cp and
# zstd on the same data in the same run.
#
# usage: bench/store.sh [MiB]	(default 256: half large files, half small)
# The data: large files of random bytes, of text (compressible) and of
# real media (video where there is, else images) from t/data, and 64 KiB files of each kind.  pm-store fsyncs
# every blob; cp does not, so "cp+sync" is shown as well.
set -eu
cd "$(dirname "$0")/.."
PATH=$PWD/bin:$PATH
mib=${1:-256}
out=${TMPDIR:-/tmp}/pm-bench-store.$$
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/data"
command -v zstd >/dev/null || { echo "bench/store.sh: zstd not found (Debian package zstd)" >&2; exit 2; }
[ -x bin/pm-store ] || { echo "bench/store.sh: build first (make)" >&2; exit 2; }

now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { s = t1 - t0; printf "%8.1f MiB/s  (%.2f s)", b / 1048576 / s, s }'; }

# Large files: a third each random, text, video.
third=$((mib / 6))
head -c $((third << 20)) /dev/urandom >"$out/data/random.bin"
seq 1 100000000 | head -c $((third << 20)) >"$out/data/text.txt"
: >"$out/data/video.avi"
while [ "$(wc -c <"$out/data/video.avi")" -lt $((third << 20)) ]; do
	find t/data -type f \( -name "*.avi" -o -name "*.mp4" -o -name "*.jpg" \
	    -o -name "*.png" \) -exec cat {} + >>"$out/data/video.avi"
done
# Small files: 64 KiB each, the other half of the data.
nsmall=$((mib * 8))
mkdir -p "$out/data/small"
i=0
while [ $i -lt "$nsmall" ]; do
	case $((i % 3)) in
	0) f=random.bin ;; 1) f=text.txt ;; *) f=video.avi ;;
	esac
	dd if="$out/data/$f" of="$out/data/small/$i" bs=65536 \
	    skip=$((i / 3 % (third * 16))) count=1 2>/dev/null
	i=$((i + 1))
done
bytes=$(du -sb "$out/data" | cut -f1)
find "$out/data" -type f | sort >"$out/files"
sync

printf 'pm-store benchmark: %d MiB in %d files (3 large, %d of 64 KiB)\n' \
    $((bytes >> 20)) "$(wc -l <"$out/files")" "$nsmall"

# run OP SET LIST LABEL COMMAND...: time COMMAND over the lines of LIST,
# counting the bytes of the files of SET.
run() {
	op=$1 set=$2 list=$3 label=$4
	shift 4
	b=$(xargs cat <"$out/$set" | wc -c)
	sync
	t0=$(now)
	xargs "$@" <"$list" >"$out/run.out"
	[ "$label" != "cp+sync" ] || sync
	t1=$(now)
	printf '%-4s %-6s %-14s %s\n' "$op" "$set" "$label" "$(rate "$b" "$t0" "$t1")"
}
grep -v /small/ "$out/files" >"$out/large"
grep /small/ "$out/files" >"$out/small"

for set in large small; do
	rm -rf "$out/cp"; mkdir -p "$out/cp" "$out/zst.$set.d"
	run put $set "$out/$set" cp cp -t "$out/cp"
	rm -rf "$out/cp"; mkdir -p "$out/cp"
	run put $set "$out/$set" cp+sync cp -t "$out/cp"
	run put $set "$out/$set" "zstd -3" zstd -q -3 -f --output-dir-flat "$out/zst.$set.d"
	run put $set "$out/$set" pm-store pm-store -s "$out/store" put
	cp "$out/run.out" "$out/names.$set"
	find "$out/zst.$set.d" -type f >"$out/zst.$set"
done
stored=$(du -sb "$out/store" | cut -f1)
printf 'size all    pm-store %d MiB for %d MiB of input\n' $((stored >> 20)) $((bytes >> 20))
for set in large small; do
	run get $set "$out/$set" cat cat
	run get $set "$out/zst.$set" "zstd -d" zstd -q -d -c
	run get $set "$out/names.$set" "pm-store cat" pm-store -s "$out/store" cat
done
echo "(pm-store put fsyncs every blob; cp does not: cp+sync syncs once at the end."
echo " pm-store cat decompresses and checks the SHA-256 of every blob.)"
