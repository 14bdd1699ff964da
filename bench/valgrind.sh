#!/bin/sh
# bench/valgrind.sh: the demo's pipeline under valgrind, stage by stage.
#
# usage: sh bench/valgrind.sh [dir]	(default: bench/out/valgrind)
#
# Each stage of share/pm/job.mk runs alone under valgrind's memcheck on
# the previous stage's output, over the demo's catalog and video (made
# by share/pm/demo.sh in DIR/demo), with a store of its own: an invalid
# read or write, a use of uninitialised memory, or a definite leak fails
# the stage.  What OpenCV and FFmpeg keep until exit ("still reachable")
# is not reported.  Each stage's report is in DIR/NAME.log.  Takes 30 to
# 50 minutes on two cores (pm-kp, pm-match and pm-evidence the most);
# make valgrind runs it.  RATE (default 1) is the frames a second of the
# video sampled.  Exit status 0 when every stage is clean, 1 when one is
# not, 2 when something else failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/bench/out/valgrind}
PATH=$top/bin:$PATH
export PATH

command -v valgrind >/dev/null || {
	echo "valgrind.sh: valgrind not found (as root: sh share/pm/deps.sh valgrind)" >&2
	exit 2
}
mkdir -p "$dir" || exit 2
dir=$(cd "$dir" && pwd)
if [ ! -s "$dir/demo/videos.ndjson" ] || [ ! -s "$dir/demo/video.mp4" ]; then
	echo "valgrind.sh: making the demo's media (share/pm/demo.sh)" >&2
	sh "$top/share/pm/demo.sh" "$dir/demo" >&2 || exit 2
fi
PM_STORE=$dir/store
export PM_STORE
rm -rf "$PM_STORE" "$dir/report" "$dir"/*.log "$dir"/*.ndjson "$dir/catalog.idx"

failed=0

# stage NAME IN OUT COMMAND...: COMMAND <IN >OUT under valgrind.
stage() {
	name=$1 in=$2 out=$3
	shift 3
	start=$(date +%s)
	valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --num-callers=30 --log-file="$dir/$name.log" \
	    "$@" <"$in" >"$out" 2>"$dir/$name.err"
	s=$?
	t=$(($(date +%s) - start))
	if [ $s = 99 ]; then
		echo "$name: ERRORS ($t s): see $dir/$name.log"
		failed=1
	elif [ $s -gt 1 ]; then
		echo "$name: exit status $s ($t s): see $dir/$name.err"
		[ $failed = 1 ] || failed=2
	else
		echo "$name: clean ($t s)"
	fi
}

cd "$dir" || exit 2
RATE=${RATE:-1}
stage catalog-fetch demo/catalog.ndjson c-fetch.ndjson pm-fetch -j 2
stage catalog-kp c-fetch.ndjson c-kp.ndjson pm-kp -j 2
stage catalog-embed c-kp.ndjson c-embed.ndjson pm-embed -j 2
stage index c-embed.ndjson index.ndjson pm-index -j 2 -o catalog.idx
stage video-fetch demo/videos.ndjson v-fetch.ndjson pm-fetch -j 2
stage frames v-fetch.ndjson v-frames.ndjson pm-frames -j 2 -f "$RATE"
stage video-kp v-frames.ndjson v-kp.ndjson pm-kp -j 2
stage video-embed v-kp.ndjson v-embed.ndjson pm-embed -j 2
stage match v-embed.ndjson v-match.ndjson pm-match -j 2 -i catalog.idx
stage evidence v-match.ndjson results.ndjson pm-evidence -j 2
stage report /dev/null report.out pm-report -j 2 -o report \
    c-embed.ndjson results.ndjson
stage store-fsck /dev/null fsck.out pm-store fsck
stage store-gc /dev/null gc.out pm-store gc -n c-embed.ndjson results.ndjson

n=$(grep -c '"type":"appearance"' results.ndjson 2>/dev/null) || n=0
echo "valgrind.sh: $n appearances found (the demo has 2)"
exit $failed
