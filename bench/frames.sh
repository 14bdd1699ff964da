#!/bin/sh
# bench/frames.sh: pm-frames against FFmpeg's own decoding of the same
# files in the same run (the physical limit, SPEC.md "Speed").
#
#   keyframes  pm-frames -k       vs  ffmpeg -skip_frame nokey -i V -f null -
#   1 fps      pm-frames -f 1     vs  ffmpeg -threads 2 -i V -f null -
#
# on a 720p h264 video (t/data/cockatoo.mp4 looped to a minute) and a
# 480p mpeg4 video (t/data/Megamind.avi scaled and looped to a minute),
# made once into bench/out/.  Each figure is the best wall time of
# RUNS runs (default 5) after a warm-up round, the commands taking turns;
# pm-frames writes its JPEGs into a fresh store made off the clock.  The
# references decode the audio too, as the commands above do; the
# figures without audio (-an) are printed beside them.
#
# Usage: sh bench/frames.sh   (from anywhere in a built clone)

set -e
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
out=bench/out
mkdir -p "$out"

for t in ffmpeg ffprobe; do
	command -v $t >/dev/null 2>&1 ||
		{ echo "frames.sh: $t not found (Debian package ffmpeg)" >&2;
		exit 1; }
done
[ -x bin/pm-frames ] && [ -x bin/pm-store ] || make >&2
PATH=$PWD/bin:$PATH
export PATH

h264=$out/h264-720p.mp4
mpeg4=$out/mpeg4-480p.avi
if [ ! -s "$h264" ]; then
	echo "frames.sh: making $h264 (about a minute)" >&2
	ffmpeg -nostdin -v error -y -stream_loop 4 -i t/data/cockatoo.mp4 \
	    -t 60 -c:v libx264 -preset medium -g 40 -pix_fmt yuv420p \
	    -c:a aac "$h264.tmp.mp4"
	mv "$h264.tmp.mp4" "$h264"
fi
if [ ! -s "$mpeg4" ]; then
	echo "frames.sh: making $mpeg4" >&2
	ffmpeg -nostdin -v error -y -stream_loop 5 -i t/data/Megamind.avi \
	    -t 60 -vf scale=-2:480 -c:v mpeg4 -q:v 4 -g 48 -c:a copy \
	    "$mpeg4.tmp.avi"
	mv "$mpeg4.tmp.avi" "$mpeg4"
fi

# now: a clock in milliseconds.
now() {
	date +%s%N | sed 's/......$//'
}

# timed CMD...: the wall time of CMD in ms; CMD's output is discarded.
timed() {
	s=$(now)
	"$@" >/dev/null 2>"$out/cmd.err" || {
		echo "frames.sh: failed: $*" >&2
		cat "$out/cmd.err" >&2
		exit 1
	}
	e=$(now)
	echo $((e - s))
}

# frames V OPTS...: pm-frames OPTS on V into a fresh store made off the
# clock; its wall time in ms.
frames() {
	v=$1
	shift
	rm -rf "$out/store"
	blob=$(pm-store -s "$out/store" put "$v")
	printf '{"type":"video","id":"bench","blob":"%s"}\n' "$blob" \
	    > "$out/video.ndjson"
	s=$(now)
	pm-frames -s "$out/store" "$@" "$out/video.ndjson" \
	    > "$out/frames.ndjson" 2>"$out/cmd.err" || {
		echo "frames.sh: pm-frames $* failed:" >&2
		cat "$out/cmd.err" >&2
		exit 1
	}
	e=$(now)
	echo $((e - s))
}

min() {
	if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# bench V LABEL GOAL "PM-FRAMES OPTS" FFMPEG-OPTS...: one line of the
# table.  The three commands take turns, a warm-up round first, so a
# load that comes and goes falls on all of them alike.
bench() {
	v=$1 label=$2 goal=$3 popts=$4
	shift 4
	bp= bf= ba=
	i=0
	while [ $i -le "$RUNS" ]; do
		# shellcheck disable=SC2086
		p=$(frames "$v" $popts)
		f=$(timed ffmpeg -nostdin "$@" -i "$v" -f null -)
		a=$(timed ffmpeg -nostdin "$@" -i "$v" -an -f null -)
		if [ $i -gt 0 ]; then
			bp=$(min "$bp" "$p")
			bf=$(min "$bf" "$f")
			ba=$(min "$ba" "$a")
		fi
		i=$((i + 1))
	done
	n=$(grep -c '"type":"frame"' "$out/frames.ndjson" || :)
	r=$(ratio "$bp" "$bf")
	verdict=$(awk -v r="$r" -v g="$goal" \
	    'BEGIN { print r <= g ? "met" : "MISSED" }')
	printf '%-16s %-10s %6s %7s ms %6s ms %6s %6s ms %6s %5s %s\n' \
	    "${v##*/}" "$label" "$n" "$bp" "$bf" "$r" "$ba" \
	    "$(ratio "$bp" "$ba")" "$goal" "$verdict"
}

printf 'pm-frames bench, %s, %s cores, best of %s runs\n' \
    "$(ffmpeg -version | sed -n '1s/ Copyright.*//p')" \
    "$(getconf _NPROCESSORS_ONLN)" "$RUNS"
printf '%-16s %-10s %6s %10s %9s %6s %9s %6s %5s %s\n' file mode frames \
    pm-frames ffmpeg ratio "ffmpeg -an" ratio goal verdict
for v in "$h264" "$mpeg4"; do
	bench "$v" keyframes 1.3 "-k" -skip_frame nokey
	bench "$v" "1 fps" 1.2 "-f 1" -threads 2
done
rm -rf "$out/store"
