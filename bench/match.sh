#!/bin/sh
# bench/match.sh: pm's speed, beside references measured in the same run.
#
# 1. The whole pipeline from video files to appearance records (pm-fetch |
#    pm-frames | pm-kp | pm-embed | pm-match) on the clips of
#    bench/accuracy.scene (bench/clips.sh), for a catalog of 50 products
#    (accuracy.scene's and match.scene's), beside the wall time of a full
#    decode of the same files by `ffmpeg -threads 2 -i V -f null -`, the
#    best of 3 runs of each.  Goal (issue 5): within 3 times the decode.
# 2. pm-match's frames per second on those frames (2 threads) and its
#    peak memory (GNU time's maximum resident set size) for catalogs of
#    each size given (default 100, 10000 and 100000 images): the 50
#    products and distractors made from real images (bench/gen/distract:
#    crops, mirror images, quarter turns, recolourings).  Goal: 20 frames/s
#    at 10k, 10 at 100k, under 8 GiB.  Beside it, the frames a second
#    without refinement (-R 0: the frames alone, what grows with the
#    catalog), and what pm-match found scored against the clips' truth:
#    a large catalog must not cost accuracy.
#
# usage: bench/match.sh [size ...]
#
# Distractors, their keypoints and vectors are made once into
# bench/out/match (in chunks of 10000) and kept: 100000 take about an
# hour of pm-kp on 2 idle cores the first time, and some 10 GB.
# Environment: PM_BENCH_JOBS (threads, default 2), PM_BENCH_FRAMES
# (pm-frames options, default "-f 1", the job's), PM_BENCH_REUSE (keep
# an index built by an earlier run from the same records).
set -eu
cd "$(dirname "$0")/.."
root=$PWD
PATH=$root/bin:$PATH
acc=$root/bench/out/acc
out=$root/bench/out/match
media=$root/bench/out/media
jobs=${PM_BENCH_JOBS:-2}
fopts=${PM_BENCH_FRAMES:--f 1}
sizes=${*:-100 10000 100000}
chunk=10000

now() { date +%s.%N; }
say() { printf 'match.sh: %s\n' "$*" >&2; }
for s in $sizes; do
	case $s in
	*[!0-9]*|'') echo "usage: bench/match.sh [size ...]" >&2; exit 2 ;;
	esac
	[ "$s" -ge 50 ] || { say "a catalog has at least the 50 products"; exit 2; }
done
for p in pm-fetch pm-frames pm-kp pm-embed pm-index pm-match; do
	command -v $p >/dev/null || { say "$p is not built yet: nothing to" \
	    "measure"; exit 0; }
done
[ -x /usr/bin/time ] || { say "GNU time not found (Debian package time)"; exit 2; }

sh bench/clips.sh
mkdir -p "$out"
export PM_STORE="$out/store"

# The real media: the products match.scene adds, and the sources of the
# distractors (images in no catalog, not a background, and frames of a
# video used nowhere else).
sources="Blender_Suzanne2.jpg ela_modified.jpg ellipses.jpg left01.jpg
left02.jpg left03.jpg left04.jpg left05.jpg left06.jpg right01.jpg
right02.jpg right03.jpg right04.jpg right05.jpg right06.jpg aloeGT.png
basketball2.png chessboard.png opencv-logo-white.png opencv-logo.png
pic2.png pic3.png pic4.png pic6.png imageTextR.png templ.png tmpl.png
tree.avi"
files=$(awk '$1 == "product" { print $3 }' bench/match.scene)
sh bench/media.sh "$media" $files $sources
srcimg=
for f in $sources; do
	case $f in
	*.avi)
		# every 20th frame of the video
		b=${f%.avi}
		[ -s "$media/$b-frames/done" ] || {
			mkdir -p "$media/$b-frames"
			ffmpeg -nostdin -v error -y -i "$media/$f" \
			    -vf "select=not(mod(n\,20))" -vsync vfr \
			    "$media/$b-frames/%03d.png"
			echo done >"$media/$b-frames/done"
		}
		srcimg="$srcimg $(ls "$media/$b-frames/"*.png | tr '\n' ' ')" ;;
	*) srcimg="$srcimg $media/$f" ;;
	esac
done

# mtime COMMAND...: run COMMAND under GNU time; "SECONDS KIB" on fd 3
mtime() {
	/usr/bin/time -f '%e %M' -o "$out/time.out" "$@"
	cat "$out/time.out" >&3
}

# The catalog of 50: its images, keypoints, vectors and index.
{ grep '^product' bench/accuracy.scene; cat bench/match.scene; } >"$out/cat50.scene"
bench/out/accgen -m "$media" -o "$out/cat50" "$out/cat50.scene" 2>/dev/null
t0=$(now)
pm-fetch -j "$jobs" <"$out/cat50/catalog.ndjson" | pm-kp -j "$jobs" |
    pm-embed -j "$jobs" >"$out/cat50.ndjson"
t1=$(now)
pm-index -o "$out/cat50.idx" <"$out/cat50.ndjson" >/dev/null
t2=$(now)
nimg=$(grep -c '"type":"image"' "$out/cat50.ndjson")

# 1. The whole pipeline, then the decode, on the same files, taking
# turns: the best of 3 runs of each, as a busy machine only slows them.
best() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'
}
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'
}
tp=
td=
for run in 1 2 3; do
	t3=$(now)
	pm-fetch -j "$jobs" <"$acc/videos.ndjson" |
	    pm-frames -j "$jobs" $fopts | pm-kp -j "$jobs" |
	    pm-embed -j "$jobs" | tee "$out/frames.ndjson" |
	    pm-match -j "$jobs" -i "$out/cat50.idx" >"$out/results.ndjson"
	t4=$(now)
	for v in $(jq -r .src "$acc/videos.ndjson"); do
		ffmpeg -nostdin -v error -threads 2 -i "$v" -f null -
	done
	t5=$(now)
	tp=$(best "$tp" "$(elapsed "$t3" "$t4")")
	td=$(best "$td" "$(elapsed "$t4" "$t5")")
done
nframes=$(grep -c '"type":"frame"' "$out/frames.ndjson")
nvid=$(grep -c . "$acc/videos.ndjson")
napp=$(grep -c '"type":"appearance"' "$out/results.ndjson" || :)
dur=$(for v in $(jq -r .src "$acc/videos.ndjson"); do
	ffprobe -v error -show_entries format=duration -of csv=p=0 "$v"
done | awk '{ s += $1 } END { print s }')

echo
echo "pm speed benchmark (bench/match.sh): $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores"
echo
awk -v n="$nvid" -v d="$dur" -v f="$nframes" -v a="$napp" -v ni="$nimg" \
    -v fo="$fopts" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v tp="$tp" \
    -v td="$td" 'BEGIN {
	printf "%d videos (%.0f s of 1280x720 h264), catalog of %d images\n",
	    n, d, ni
	printf "  catalog: fetch, kp, embed %.1f s; index %.1f s\n",
	    t1 - t0, t2 - t1
	printf "  %-44s %8.1f s  (%d frames by pm-frames %s, %d appearances)\n",
	    "pipeline, video files to appearances", tp, f, fo, a
	printf "  %-44s %8.1f s\n", "ffmpeg -threads 2 -i V -f null - (each)",
	    td
	printf "  %-44s %8.2f    goal <= 3\n", "pipeline / decode", tp / td
}'

# 2. pm-match on catalogs of each size.
max=0
for s in $sizes; do
	[ "$s" -gt $max ] && max=$s
done
need=$((max - nimg))
k=0
while [ $((k * chunk)) -lt $need ]; do
	n=$((need - k * chunk))
	[ $n -le $chunk ] || n=$chunk
	c=$out/distract.$k.ndjson
	got=0
	[ ! -s "$c" ] || got=$(grep -c . "$c")
	if [ "$got" -lt $n ]; then
		t0=$(now)
		mkdir -p "$out/distract"
		bench/out/distract -f $((k * chunk)) -n $n -o "$out/distract" \
		    $srcimg | pm-fetch -j "$jobs" | pm-kp -j "$jobs" |
		    pm-embed -j "$jobs" | grep '"type":"image"' >"$c.tmp"
		mv "$c.tmp" "$c"
		say "distractors $((k * chunk)) to $((k * chunk + n - 1)):" \
		    "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
	fi
	k=$((k + 1))
done
nchunk=$k

echo
printf '  %-7s %7s %9s %7s %6s %12s %8s %8s %5s %5s %5s  %s\n' "catalog" \
    "index s" "index MiB" "avg nkp" "open s" "pm-match f/s" "-R 0" \
    "peak MiB" "prec" "rec" "tIoU" "goal"
for s in $sizes; do
	idx=$out/cat$s.idx
	{
		grep '"type":"image"' "$out/cat50.ndjson"
		k=0
		while [ $k -lt $nchunk ]; do
			cat "$out/distract.$k.ndjson"
			k=$((k + 1))
		done | head -n $((s - nimg))
	} >"$out/cat$s.ndjson"
	# PM_BENCH_REUSE: an index built before from the same records, and
	# the time it took then
	if [ -n "${PM_BENCH_REUSE:-}" ] && [ -s "$idx" ] && [ -s "$idx.time" ] &&
	    cmp -s "$out/cat$s.ndjson" "$idx.records"; then
		bt=$(cat "$idx.time")
	else
		bt=$( { mtime pm-index -j "$jobs" -o "$idx" \
		    <"$out/cat$s.ndjson" >/dev/null; } 3>&1 )
		echo "$bt" >"$idx.time"
		cp "$out/cat$s.ndjson" "$idx.records"
	fi
	# the open, before and after the runs: the shorter, so that a
	# cold first read of the index does not count as frames
	op=$( { mtime pm-match -j "$jobs" -i "$idx" </dev/null >/dev/null; } 3>&1 )
	mt=$( { mtime pm-match -j "$jobs" -i "$idx" <"$out/frames.ndjson" \
	    >"$out/match$s.ndjson"; } 3>&1 )
	m0=$( { mtime pm-match -R 0 -j "$jobs" -i "$idx" \
	    <"$out/frames.ndjson" >/dev/null; } 3>&1 )
	op2=$( { mtime pm-match -j "$jobs" -i "$idx" </dev/null >/dev/null; } 3>&1 )
	op=$(echo "$op $op2" | awk '{ print $1 < $3 ? $1 : $3 }')
	acc3=$(bench/out/accscore -t "$acc/truth.ndjson" \
	    pm="$out/match$s.ndjson" | awk '/^appearance precision/ { p = $3 }
	    /^appearance recall/ { r = $3 } /^temporal IoU/ { t = $(NF - 2) }
	    END { print p, r, t }')
	nkp=$(jq -s 'map(.nkp) | add / length | floor' "$out/cat$s.ndjson")
	case $s in
	10000) goal=">= 20 f/s, < 8 GiB" ;;
	100000) goal=">= 10 f/s, < 8 GiB" ;;
	*) goal= ;;
	esac
	echo "$s $bt $(wc -c <"$idx") $nkp $mt $nframes $m0 $acc3 $op" |
	    awk -v g="$goal" '{
	    printf "  %-7d %7.1f %9.1f %7d %6.1f %12.1f %8.1f %8.0f %5s %5s %5s  %s\n",
		$1, $2, $4 / 1048576, $5, $14, $8 / ($6 - $14),
		$8 / ($9 - $14), $7 / 1024, $11, $12, $13, g }'
done
echo
echo "pm-match -j $jobs on the $nframes frames above (their keypoints and"
echo "vectors made beforehand), refining boundaries as the job does, and"
echo "with -R 0: frames a second once the index is open (open s: the time"
echo "pm-match takes to open and check it, on empty input); peak MiB is its"
echo "maximum resident set size; precision, recall and temporal IoU of its"
echo "appearances against the clips' truth."
