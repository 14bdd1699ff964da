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
# RUNS runs (default 5) after a warm-up round, the commands taking turns,
# with the CPU time (user + system, all threads) of that run beside it:
# on a loaded machine the wall times stretch and the CPU times say more.
# pm-frames writes its JPEGs into a fresh store made off the clock.  The
# references decode the audio too, as the commands above do; the figures
# without audio (-an) are printed beside them.
#
# Usage: sh bench/frames.sh   (from anywhere in a built clone)

set -e
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
out=bench/out
mkdir -p "$out"
ERRFILE=$out/cmd.err
OUT=$out/frames.ndjson
export ERRFILE OUT

for t in ffmpeg:ffmpeg perl:perl-base; do
	command -v ${t%:*} >/dev/null 2>&1 || {
		echo "frames.sh: ${t%:*} not found (Debian package ${t#*:})" >&2
		exit 1
	}
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

# timed CMD...: "WALL CPU" of CMD in ms, CPU being the user and system
# time of CMD and its threads; CMD's output is discarded.
timed() {
	perl -MTime::HiRes=time -e '
		open(my $out, ">&", \*STDOUT) or die;
		open(STDOUT, ">", "/dev/null") or die;
		open(STDERR, ">", $ENV{ERRFILE}) or die;
		my $s = time;
		my $r = system(@ARGV);
		my @t = times;
		exit 1 if $r;
		printf $out "%d %d\n", (time - $s) * 1000, ($t[2] + $t[3]) * 1000;
	' "$@" || {
		echo "frames.sh: failed: $*" >&2
		cat "$ERRFILE" >&2
		exit 1
	}
}

# frames V OPTS...: pm-frames OPTS on V into a fresh store made off the
# clock, its records in $out/frames.ndjson; "WALL CPU" in ms.
frames() {
	v=$1
	shift
	rm -rf "$out/store"
	blob=$(pm-store -s "$out/store" put "$v")
	printf '{"type":"video","id":"bench","blob":"%s"}\n' "$blob" \
	    > "$out/video.ndjson"
	timed sh -c 'exec pm-frames -s "$0" "$@" >"$OUT"' "$out/store" "$@" \
	    "$out/video.ndjson"
}

# keep BEST "WALL CPU": the pair with the lower wall time.
keep() {
	if [ -z "$1" ] || [ "${2% *}" -lt "${1% *}" ]; then
		echo "$2"
	else
		echo "$1"
	fi
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
			bp=$(keep "$bp" "$p")
			bf=$(keep "$bf" "$f")
			ba=$(keep "$ba" "$a")
		fi
		i=$((i + 1))
	done
	n=$(grep -c '"type":"frame"' "$OUT" || :)
	r=$(ratio "${bp% *}" "${bf% *}")
	verdict=$(awk -v r="$r" -v g="$goal" \
	    'BEGIN { print r <= g ? "met" : "MISSED" }')
	printf '%-15s %-9s %6s %6s %6s %6s %6s %5s %6s %5s %4s %s\n' \
	    "${v##*/}" "$label" "$n" "${bp% *}" "${bp#* }" "${bf% *}" \
	    "${bf#* }" "$r" "${ba% *}" "$(ratio "${bp% *}" "${ba% *}")" \
	    "$goal" "$verdict"
}

printf 'pm-frames bench: %s, %s cores, load %s; best wall time of %s runs\n' \
    "$(ffmpeg -version | sed -n '1s/ Copyright.*//p')" \
    "$(getconf _NPROCESSORS_ONLN)" \
    "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" "$RUNS"
printf '%-15s %-9s %6s %13s %13s %5s %12s %4s\n' "" "" "" \
    "--pm-frames--" "---ffmpeg----" "" "-ffmpeg -an-" ""
printf '%-15s %-9s %6s %6s %6s %6s %6s %5s %6s %5s %4s %s\n' file mode \
    frames wall cpu wall cpu ratio wall ratio goal verdict
for v in "$h264" "$mpeg4"; do
	bench "$v" keyframes 1.3 "-k" -skip_frame nokey
	bench "$v" "1 fps" 1.2 "-f 1" -threads 2
done
echo "(times in ms; ratio: pm-frames wall time over ffmpeg's)"
rm -rf "$out/store"
