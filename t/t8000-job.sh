#!/bin/sh
# share/pm/job.mk: the whole pipeline as a make DAG: it finds the
# product, a rerun does nothing, a new video is processed alone, a failed
# step leaves no target.

. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null 2>&1 && command -v bash >/dev/null 2>&1 &&
	test_set_prereq JOB

job() {
	MAKEFLAGS= MAKELEVEL= MFLAGS= make -f "$PM_ROOT/share/pm/job.mk" CATALOG=catalog.ndjson \
	    VIDEOS=videos.ndjson OUT=out FRAMES="-f 2" "$@"
}

test_expect_success FFMPEG,JOB 'a catalog and two short videos' '
	ffmpeg -loglevel error -i "$TEST_DATA/cockatoo.mp4" -loop 1 -i "$TEST_DATA/box.png" \
	    -filter_complex "[1:v]scale=240:-1[p];[0:v][p]overlay=x=200+40*t:y=150:shortest=1:enable=between(t\,1\,3)" \
	    -t 4 -c:v libx264 -preset veryfast -crf 23 with-box.mp4 &&
	ffmpeg -loglevel error -i "$TEST_DATA/cockatoo.mp4" -t 3 -c:v libx264 \
	    -preset veryfast -crf 23 plain.mp4 &&
	cat >catalog.ndjson <<-EOF &&
	{"type":"product","id":"box","images":["$TEST_DATA/box.png"]}
	{"type":"product","id":"fish","images":["$TEST_DATA/HappyFish.jpg"]}
	{"type":"product","id":"graffiti","images":["$TEST_DATA/graf1.png"]}
	EOF
	echo "{\"type\":\"video\",\"id\":\"with box\",\"src\":\"$PWD/with-box.mp4\"}" >videos.ndjson
'

test_expect_success FFMPEG,JOB 'the job finds the box, and only the box' '
	job -j2 >log 2>&1 &&
	grep "\"type\":\"appearance\"" out/results.ndjson >app &&
	test_line_count = 1 app &&
	grep "\"product\":\"box\"" app &&
	grep "\"video\":\"with box\"" app &&
	test -s out/report/index.html
'

test_expect_success FFMPEG,JOB 'a second run does nothing' '
	job >log 2>&1 &&
	grep "Nothing to be done" log
'

test_expect_success FFMPEG,JOB 'a new video is processed alone' '
	cp out/results.ndjson results.before &&
	echo "{\"type\":\"video\",\"id\":\"plain\",\"src\":\"$PWD/plain.mp4\"}" >>videos.ndjson &&
	job >log 2>&1 &&
	grep -c "pm-frames" log >n &&
	test "$(cat n)" = 1 &&
	grep "plain.video.ndjson" log &&
	! grep "with%20box.video.ndjson |" log &&
	head -c "$(test_size results.before)" out/results.ndjson | cmp - results.before
'

test_expect_success FFMPEG,JOB 'a failed step leaves no half-written target' '
	cat out/v/*.results.ndjson >before &&
	echo "not an index" >out/catalog.idx &&
	test_must_fail job >log 2>&1 &&
	grep "pm-match" log &&
	test -z "$(find out -name "*.tmp")" &&
	cat out/v/*.results.ndjson | cmp - before
'

test_done
