#!/bin/sh
# deps.sh: install the Debian packages pm needs, and nothing more.
#
# Usage: sh share/pm/deps.sh [-n] [build|test|run|demo|fuzz|valgrind ...]
#   build  compilers, pkg-config and the -dev packages configure probes
#   test   what make check runs besides pm: prove, ffmpeg's tools, mandoc,
#          python3 (the tests' HTTP servers), zstd, jq, GNU parallel,
#          chromium (the report's test in a real browser)
#   run    what pm runs at run time when present: yt-dlp
#   demo   what the demo and share/pm/job.mk run: run, ffmpeg, jq
#   fuzz   clang and its libFuzzer and sanitizer runtimes (make fuzz)
#   valgrind  valgrind and what the demo runs (make valgrind)
# With no set named, build and test. -n prints the packages it would
# install. Must run as root; runs apt-get update first when it installs.

set -e

build="gcc g++ make pkg-config libjansson-dev libzstd-dev libssl-dev
libcurl4-openssl-dev libavformat-dev libavcodec-dev libswscale-dev
libavutil-dev libopencv-core-dev libopencv-imgproc-dev
libopencv-imgcodecs-dev libopencv-features2d-dev libopencv-calib3d-dev
libopencv-video-dev libopencv-dnn-dev libhnswlib-dev"
test="perl ffmpeg mandoc python3 zstd jq parallel chromium"
run="yt-dlp"
demo="$run ffmpeg jq"
fuzz="clang-14 libclang-rt-14-dev"
valgrind="valgrind $demo"

dry=
want=
for a; do
	case $a in
	-n) dry=1 ;;
	build) want="$want $build" ;;
	test) want="$want $test" ;;
	run) want="$want $run" ;;
	demo) want="$want $demo" ;;
	fuzz) want="$want $fuzz" ;;
	valgrind) want="$want $valgrind" ;;
	*) echo "usage: deps.sh [-n] [build|test|run|demo|fuzz|valgrind ...]" >&2
	   exit 2 ;;
	esac
done
[ -n "$want" ] || want="$build $test"

need=
for p in $want; do
	s=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null) || s=
	[ "$s" = installed ] || need="$need $p"
done
if [ -z "$need" ]; then
	exit 0
fi
if [ -n "$dry" ]; then
	echo "$need"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages:$need" >&2
	echo "deps.sh: run as root, or: sudo apt-get install$need" >&2
	exit 1
fi
echo "deps.sh: installing:$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $need >&2
