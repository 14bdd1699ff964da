#!/bin/sh
# bench/features.sh: pm-kp's images per second beside a bare OpenCV loop
# doing the same detection on the same images in the same run (the
# goal: pm's overhead under 10%), and pm's verification of image pairs
# beside OpenCV's own BFMatcher and FLANN with RANSAC.
#
#   pm-kp -j J           vs  features-ref detect DET J 1280 FILES
#                            (J threads, OpenCV single-threaded, as in pm)
#                        and features-ref detect DET 0 1280 FILES
#                            (one image at a time on OpenCV's thread pool)
#
# The images: t/data's real images (800x640 graffiti, 512x384 scene, a
# 324x223 box, 512x512 baboon, and small ones), ROUNDS times over
# (default 8).  The bare loop reads the files and decodes, scales and
# detects; pm-kp also reads the blobs from the store (verifying their
# SHA-256), spreads the keypoints (ANMS), writes the keypoint blob into
# the store (zstd, fsync) and the records.  Each figure is the best of
# RUNS runs (default 3), the commands taking turns; wall time and CPU
# time (user + system) are shown, since the machine may be shared.
#
# usage: sh bench/features.sh   (from anywhere in a built clone)
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-8}
J=${J:-2}
out=bench/out/features
rm -rf "$out"
mkdir -p "$out"
[ -x bin/pm-kp ] && [ -x bin/pm-store ] && [ -f src/libpm.a ] || make >&2
PATH=$PWD/bin:$PATH
export PATH

# The reference program, built with the flags configure found.
cxx=$(sed -n 's/^CXX = //p' config.mk)
cflags=$(sed -n 's/^DEP_CFLAGS = //p' config.mk)
libs=$(sed -n 's/^DEP_LIBS = //p' config.mk)
# shellcheck disable=SC2086
$cxx -std=c++17 -O2 -pthread $cflags -Isrc/lib -Isrc/cv \
    -o "$out/features-ref" bench/features-ref.cc src/libpm.a $libs \
    -lopencv_flann -lm

PM_STORE=$out/store
export PM_STORE
set --
for f in graf1.png graf3.png box_in_scene.png baboon.jpg box.png \
    HappyFish.jpg opencv-logo.png; do
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
n=$(wc -l <"$out/files")

# run NAME CMD...: run CMD once, adding its wall and CPU seconds
# (user + system, children included) as a line to $out/NAME.
run() {
	name=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$out/time" "$@" >/dev/null \
	    2>"$out/err" || {
		echo "features.sh: failed: $*" >&2
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

printf 'pm-kp against a bare OpenCV loop: %d images, %d threads, best of %d\n' \
    "$n" "$J" "$RUNS"
printf '(load average before: %s)\n' "$(cut -d" " -f1-3 /proc/loadavg)"
printf '%-9s %-27s %9s %8s %10s\n' detector command images/s wall-s cpu-ms/img
for det in rootsift orb akaze; do
	ref=$det
	[ $det = rootsift ] && ref=sift
	rm -f "$out/bare" "$out/ocv" "$out/pm"
	i=0
	# the commands take turns, so that a change of load hits them alike
	while [ $i -lt "$RUNS" ]; do
		# shellcheck disable=SC2046
		run bare "$out/features-ref" detect $ref "$J" 1280 \
		    $(cat "$out/files")
		# shellcheck disable=SC2046
		run ocv "$out/features-ref" detect $ref 0 1280 \
		    $(cat "$out/files")
		run pm pm-kp -j "$J" -d $det "$out/in.ndjson"
		i=$((i + 1))
	done
	{ echo $det; best bare; best ocv; best pm; } | tr '\n' ' ' |
	awk -v n="$n" -v j="$J" '{
		printf "%-9s %-27s %9.2f %8.3f %10.1f\n", $1, "bare loop, " j " threads", n / $2, $2, $3 / n * 1000
		printf "%-9s %-27s %9.2f %8.3f %10.1f\n", $1, "bare loop, OpenCV threads", n / $4, $4, $5 / n * 1000
		printf "%-9s %-27s %9.2f %8.3f %10.1f\n", $1, "pm-kp -j " j, n / $6, $6, $7 / n * 1000
		w = $2 < $4 ? $2 : $4
		c = $3 < $5 ? $3 : $5
		printf "%-9s pm-kp overhead over the faster bare loop: wall %+.1f%%, CPU %+.1f%%\n", $1, ($6 - w) / w * 100, ($7 - c) / c * 100
	}'
done
printf '(load average after: %s)\n' "$(cut -d" " -f1-3 /proc/loadavg)"

echo
echo "Verification of a catalog image in a frame, mean of 10 runs:"
"$out/features-ref" match 10 \
    t/data/graf1.png t/data/graf3.png \
    t/data/box.png t/data/box_in_scene.png \
    t/data/box.png t/data/baboon.jpg \
    t/data/graf1.png t/data/box_in_scene.png
rm -rf "$PM_STORE"
