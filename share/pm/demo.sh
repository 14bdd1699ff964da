#!/bin/sh
# demo.sh: pm on real media, start to finish.
#
# usage: sh share/pm/demo.sh [DIR]	(default: demo/)
#
# The catalog is five real product photos from OpenCV's samples
# (t/data).  The video is real footage (cockatoo.mp4, from imageio's
# resources) into which ffmpeg composites two of those photos, moving,
# turning and squeezed: the box from 1.5 s to 7.5 s and the fish from
# 5 s to 12 s.  The other three products are not in it.  The demo runs
# share/pm/job.mk over them and ends with the path of the HTML report.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-demo}
data=$top/t/data
PATH=$top/bin:$PATH
export PATH

for p in pm-fetch pm-frames pm-kp pm-embed pm-index pm-match pm-evidence pm-report; do
	command -v $p >/dev/null || { echo "demo: $p not built: run make first" >&2; exit 2; }
done
command -v ffmpeg >/dev/null || {
	echo "demo: ffmpeg not found (Debian package ffmpeg; as root: sh share/pm/deps.sh demo)" >&2
	exit 2
}
mkdir -p "$dir"
cd "$dir"

if [ ! -s video.mp4 ]; then
	echo "demo: compositing the box and the fish into cockatoo.mp4" >&2
	ffmpeg -loglevel error -y -i "$data/cockatoo.mp4" \
	    -loop 1 -framerate 20 -i "$data/box.png" \
	    -loop 1 -framerate 20 -i "$data/HappyFish.jpg" \
	    -filter_complex "
		[1:v]format=rgba,scale=300:260,
		    rotate=a='0.15*sin(2*t)':c=none:ow=rotw(0.15):oh=roth(0.15)[box];
		[2:v]format=rgba,scale=-1:200,
		    rotate=a='0.3*sin(t)':c=none:ow=rotw(0.3):oh=roth(0.3)[fish];
		[0:v][box]overlay=x='60+70*(t-1.5)':y='300-10*t':shortest=1:enable='between(t,1.5,7.5)'[a];
		[a][fish]overlay=x='900-25*(t-5)':y='60+8*t':shortest=1:enable='between(t,5,12)',format=yuv420p[v]" \
	    -map '[v]' -t 14 -c:v libx264 -preset veryfast -crf 23 video.mp4
fi

# Rewritten only when they change, so that running the demo again does
# nothing (the job is incremental).
keep() {
	cmp -s "$1.tmp" "$1" && rm -f "$1.tmp" || mv "$1.tmp" "$1"
}
cat >catalog.ndjson.tmp <<EOT
{"type":"product","id":"box","title":"Bastoncini almond cookies","images":["$data/box.png"]}
{"type":"product","id":"fish","title":"Happy Fish poster","images":["$data/HappyFish.jpg"]}
{"type":"product","id":"opencv-logo","title":"OpenCV logo sticker","images":["$data/opencv-logo.png"]}
{"type":"product","id":"baboon","title":"Baboon print","images":["$data/baboon.jpg"]}
{"type":"product","id":"graffiti","title":"Graffiti wall poster","images":["$data/graf1.png"]}
EOT
keep catalog.ndjson
cat >videos.ndjson.tmp <<EOT
{"type":"video","id":"cockatoo-demo","src":"$PWD/video.mp4"}
EOT
keep videos.ndjson

make -s -f "$top/share/pm/job.mk" CATALOG=catalog.ndjson VIDEOS=videos.ndjson OUT=out -j2

# What was found, beside what was composited in.
echo
jq -r 'select(.type == "appearance") |
    "\(.product) in \(.video) from \(.start)s to \(.end)s, score \(.score) (" +
    ({"box": "composited from 1.5s to 7.5s",
      "fish": "composited from 5s to 12s"}[.product] //
     "not in the video") + ")"' out/results.ndjson
n=$(grep -c '"type":"appearance"' out/results.ndjson || :)
echo "demo: $n appearances found (2 products composited in); report: $PWD/out/report/index.html"
