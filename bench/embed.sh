#!/bin/sh
# bench/embed.sh: pm-embed's images per second for each method beside a
# bare loop doing the same computation on the same images in the same
# run (the goal: pm's overhead under 10%).
#
#   pm-embed -j J -e METHOD   vs  embed-ref METHOD J FILES
#
# embed-ref (bench/embed-ref.c) reads the image files and calls the
# functions pm-embed calls, on J threads with OpenCV single-threaded as
# in pm; pm-embed also reads the records, reads the images from the
# store (verifying their SHA-256), writes each vector blob into the
# store (zstd, fsync) and the records in input order.  Each pm-embed
# run starts from a copy of the store that has no vectors yet.
#
# The methods: vlad (SIFT keypoints found from the image, as when the
# records have no kp; the shipped codebook), vlad-kp (the records have
# pm-kp's keypoint blobs: pm-embed reads them from the store, the bare
# loop from files), colour, and dnn with a
# network this script writes, since nothing can be downloaded here: a
# Darknet net of five 3x3 convolutions of stride 2 (16 to 256 filters,
# leaky ReLU, about 63 M multiply-adds at 224x224) and global average
# pooling, weights by formula.  A real model (ResNet-50, 4 G
# multiply-adds) makes pm's overhead a smaller share still.
#
# The images: t/data's real images, ROUNDS times over (default 4).
# Each figure is the best of RUNS runs (default 3), the commands taking
# turns; wall and CPU time (user + system) are shown, since the machine
# may be shared.
#
# usage: sh bench/embed.sh   (from anywhere in a built clone)
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-4}
J=${J:-2}
out=bench/out/embed
rm -rf "$out"
mkdir -p "$out"
[ -x bin/pm-embed ] && [ -x bin/pm-store ] && [ -f src/libpm.a ] || make >&2
PATH=$PWD/bin:$PATH
export PATH

# The bare loop, built with the flags configure found.
cc=$(sed -n 's/^CC = //p' config.mk)
cxx=$(sed -n 's/^CXX = //p' config.mk)
cflags=$(sed -n 's/^DEP_CFLAGS = //p' config.mk)
libs=$(sed -n 's/^DEP_LIBS = //p' config.mk)
# shellcheck disable=SC2086
$cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -pthread $cflags -Isrc/lib \
    -Isrc/cv -c -o "$out/embed-ref.o" bench/embed-ref.c
# shellcheck disable=SC2086
$cxx -pthread -o "$out/embed-ref" "$out/embed-ref.o" src/libpm.a $libs -lm

# The network.
cat >"$out/net.cfg" <<EOF
[net]
width=224
height=224
channels=3
EOF
for f in 16 32 64 128 256; do
	printf '\n[convolutional]\nfilters=%d\nsize=3\nstride=2\npad=1\nactivation=leaky\n' \
	    $f >>"$out/net.cfg"
done
printf '\n[avgpool]\n' >>"$out/net.cfg"
awk '
function f32(v,   s, e, bits, i) {
	if (v == 0) { printf "%c%c%c%c", 0, 0, 0, 0; return }
	s = 0
	if (v < 0) { s = 1; v = -v }
	e = 0
	while (v >= 2) { v /= 2; e++ }
	while (v < 1) { v *= 2; e-- }
	bits = s * 2147483648 + (e + 127) * 8388608 + int((v - 1) * 8388608)
	for (i = 0; i < 4; i++) { printf "%c", bits % 256; bits = int(bits / 256) }
}
BEGIN {
	printf "%c%c%c%c%c%c%c%c", 0, 0, 0, 0, 2, 0, 0, 0
	for (i = 0; i < 12; i++) printf "%c", 0
	c = 3
	for (l = 0; l < 5; l++) {
		f = 16 * 2 ^ l
		for (i = 0; i < f; i++) f32(((i * 7) % 13 - 6) / 64)
		for (i = 0; i < f * c * 9; i++) f32(((i * 31 + l) % 17 - 8) / (64 * c))
		c = f
	}
}' >"$out/net.weights"

PM_STORE=$out/store
export PM_STORE
set --
for f in graf1.png box_in_scene.png baboon.jpg building.jpg butterfly.jpg \
    fruits.jpg leuvenA.jpg box.png HappyFish.jpg LinuxLogo.jpg; do
	set -- "$@" "t/data/$f"
done
: >"$out/files"
: >"$out/in.ndjson"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for f; do
		echo "$f" >>"$out/files"
		printf '{"type":"image","product":"r%d","src":"%s","blob":"%s"}\n' \
		    $r "$f" "$(pm-store put "$f")" >>"$out/in.ndjson"
	done
	r=$((r + 1))
done
# keypoint blobs for vlad-kp, as records and as files
pm-kp -j "$J" "$out/in.ndjson" >"$out/kp.ndjson"
mkdir -p "$out/kp"
sed 's/.*"kp":"\([0-9a-f]*\)".*/\1/' "$out/kp.ndjson" | while read -r k; do
	pm-store cat "$k" >"$out/kp/$k"
	echo "$out/kp/$k"
done >"$out/kpfiles"
cp -a "$PM_STORE" "$out/store.orig"
n=$(wc -l <"$out/files")

# run NAME CMD...: run CMD once, adding its wall and CPU seconds
# (user + system) as a line to $out/NAME.
run() {
	name=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$out/time" "$@" >"$out/stdout" \
	    2>"$out/err" || {
		echo "embed.sh: failed: $*" >&2
		cat "$out/err" >&2
		exit 1
	}
	awk '{ print $1, $2 + $3 }' "$out/time" >>"$out/$name"
}

# best NAME: the best wall and the best CPU seconds of NAME's runs.
best() {
	sort -n "$out/$1" | head -1 | cut -d" " -f1
	sort -n -k2 "$out/$1" | head -1 | cut -d" " -f2
}

printf 'pm-embed against a bare loop: %d images, %d threads, best of %d\n' \
    "$n" "$J" "$RUNS"
printf '(load average before: %s)\n' "$(cut -d" " -f1-3 /proc/loadavg)"
printf '%-7s %-24s %9s %8s %10s\n' method command images/s wall-s cpu-ms/img
for m in colour vlad vlad-kp dnn; do
	files=$out/files input=$out/in.ndjson
	case $m in
	vlad) ref="vlad share/pm/vlad.cb" opts="-e vlad" ;;
	vlad-kp) ref="vladkp share/pm/vlad.cb" opts="-e vlad"
	    files=$out/kpfiles input=$out/kp.ndjson ;;
	colour) ref=colour opts="-e colour" ;;
	dnn) ref="dnn $out/net.weights $out/net.cfg 224"
	    opts="-m $out/net.weights -c $out/net.cfg -S 224" ;;
	esac
	rm -f "$out/bare" "$out/pm"
	i=0
	# the commands take turns, so that a change of load hits them alike
	while [ $i -lt "$RUNS" ]; do
		# shellcheck disable=SC2046,SC2086
		run bare "$out/embed-ref" $ref "$J" $(cat "$files")
		rm -rf "$PM_STORE"
		cp -a "$out/store.orig" "$PM_STORE"
		sync
		# shellcheck disable=SC2086
		run pm pm-embed -j "$J" $opts "$input"
		test "$(wc -l <"$out/stdout")" = "$n"
		i=$((i + 1))
	done
	{ echo $m; best bare; best pm; } | tr '\n' ' ' |
	awk -v n="$n" -v j="$J" '{
		printf "%-7s %-24s %9.2f %8.3f %10.1f\n", $1, "bare loop, " j " threads", n / $2, $2, $3 / n * 1000
		printf "%-7s %-24s %9.2f %8.3f %10.1f\n", $1, "pm-embed -j " j, n / $4, $4, $5 / n * 1000
		printf "%-7s pm-embed overhead: wall %+.1f%%, CPU %+.1f%%\n", $1, ($4 - $2) / $2 * 100, ($5 - $3) / $3 * 100
	}'
done
printf '(load average after: %s)\n' "$(cut -d" " -f1-3 /proc/loadavg)"
rm -rf "$PM_STORE" "$out/store.orig"
