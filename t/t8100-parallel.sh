#!/bin/sh
# A stage split over several processes by GNU parallel --pipe gives the
# same bytes as one plain run: records are lines, output is deterministic.

. "$(dirname "$0")/lib.sh"

command -v parallel >/dev/null 2>&1 && test_set_prereq PARALLEL

test_expect_success PARALLEL 'image records of real photos' '
	for f in box.png box_in_scene.png graf1.png graf3.png baboon.jpg \
	    HappyFish.jpg LinuxLogo.jpg opencv-logo.png; do
		echo "{\"type\":\"product\",\"id\":\"$f\",\"images\":[\"$TEST_DATA/$f\"]}"
	done >catalog.ndjson &&
	pm-fetch <catalog.ndjson >images.ndjson &&
	grep -c "\"type\":\"image\"" images.ndjson >n &&
	test "$(cat n)" = 8
'

test_expect_success PARALLEL 'pm-kp under parallel --pipe -j2 --keep-order equals a plain run' '
	pm-kp <images.ndjson >plain.ndjson &&
	parallel --will-cite --pipe -N 3 -j2 --keep-order pm-kp \
	    <images.ndjson >par.ndjson &&
	test_line_count = 16 plain.ndjson &&
	cmp plain.ndjson par.ndjson
'

test_expect_success PARALLEL 'pm-embed too, on blobs the other processes stored' '
	pm-embed <plain.ndjson >plain2.ndjson &&
	parallel --will-cite --pipe -N 2 -j2 --keep-order pm-embed \
	    <par.ndjson >par2.ndjson &&
	cmp plain2.ndjson par2.ndjson &&
	pm-store fsck
'

test_done
