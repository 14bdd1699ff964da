#!/bin/sh
# Faults: a stage killed with SIGKILL halfway through real media leaves
# the store consistent (fsck clean, nothing damaged) and a re-run
# completes the job with the very output of a run never interrupted;
# two pipelines sharing one store at once both succeed, with the output
# each gives alone.

. "$(dirname "$0")/lib.sh"

# blobs STORE: how many blobs the store holds.
blobs() {
	find "$1" -path "$1/??/*" -type f ! -name ".tmp-*" | wc -l
}

# kill_when FILE-COUNT-COMMAND N PID: SIGKILL PID once the command's
# count reaches N (or after 60 s); fails if PID ended by itself first.
kill_when() {
	_i=0
	while [ "$(eval "$1")" -lt "$2" ] && [ $_i -lt 600 ]; do
		kill -0 $3 2>/dev/null || return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -9 $3
}

test_expect_success 'set up: a real video, sampled and its keypoints found, uninterrupted' '
	v=$(pm-store -s ref put "$TEST_DATA/cockatoo.mp4") &&
	echo "{\"type\":\"video\",\"id\":\"cockatoo\",\"blob\":\"$v\"}" >vid &&
	pm-frames -s ref -f 4 vid >frames 2>/dev/null &&
	test $(grep -c "\"type\":\"frame\"" frames) -gt 40 &&
	pm-kp -s ref -m 480 -n 300 frames >kp &&
	test $(grep -c "\"kp\":" kp) = $(grep -c "\"type\":\"frame\"" frames)
'

test_expect_success 'pm-frames killed halfway: fsck clean, the re-run completes it' '
	pm-store -s st put "$TEST_DATA/cockatoo.mp4" >/dev/null &&
	n0=$(blobs st) &&
	{ pm-frames -s st -f 4 -j 1 vid >part 2>/dev/null & } &&
	pid=$! &&
	kill_when "blobs st" $((n0 + 10)) $pid &&
	{ wait $pid; test $? = 137; } &&
	n=$(blobs st) && say "killed with $((n - n0)) frames stored" &&
	test $n -lt $(($(grep -c "\"type\":\"frame\"" frames) + n0)) &&
	pm-store -s st fsck -v >fsck &&
	! grep "^damaged\|^stray\|^stale" fsck &&
	pm-frames -s st -f 4 vid >again 2>/dev/null &&
	test_cmp frames again &&
	pm-store -s st fsck
'

test_expect_success 'pm-kp killed halfway: fsck clean, the re-run completes it' '
	n0=$(blobs st) &&
	{ pm-kp -s st -m 480 -n 300 -j 1 frames >part & } &&
	pid=$! &&
	kill_when "wc -l <part" 10 $pid &&
	{ wait $pid; test $? = 137; } &&
	test $(wc -l <part) -lt $(wc -l <frames) &&
	pm-store -s st fsck -v >fsck &&
	! grep "^damaged\|^stray\|^stale" fsck &&
	pm-kp -s st -m 480 -n 300 frames >again &&
	test_cmp kp again &&
	pm-store -s st fsck
'

test_expect_success 'two pipelines share one store at once, on the same video' '
	b=$(pm-store -s ref put "$TEST_DATA/Megamind.avi") &&
	echo "{\"type\":\"video\",\"id\":\"mm\",\"blob\":\"$b\"}" >v1 &&
	echo "{\"type\":\"video\",\"id\":\"cockatoo\",\"blob\":\"$v\"}" >v2 &&
	for i in 1 2; do
		pm-frames -s ref -f 1 v$i 2>/dev/null |
		    pm-kp -s ref -m 480 -n 300 | pm-embed -s ref >want$i || exit 1
	done &&
	pm-store -s shared put "$TEST_DATA/Megamind.avi" "$TEST_DATA/cockatoo.mp4" >/dev/null &&
	for i in 1 2; do
		{ cat v1 v2 | pm-frames -s shared -f 1 2>/dev/null |
		    pm-kp -s shared -m 480 -n 300 | pm-embed -s shared >got$i;
		  echo $? >status$i; } &
	done &&
	wait &&
	test "$(cat status1)" = 0 && test "$(cat status2)" = 0 &&
	cat want1 want2 >want &&
	test_cmp want got1 && test_cmp want got2 &&
	pm-store -s shared fsck
'

test_done
