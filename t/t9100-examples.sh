#!/bin/sh
# The EXAMPLES of every man page run, as jq's mantest runs its manual:
# the .Bd -literal blocks of each page's EXAMPLES section, read as
# t/lib-examples.sh says, one test a command.
#
# Every page's commands run in a directory of its own, which starts as a
# copy of one set of inputs made from t/data, with the store they are in
# as PM_STORE:
#
#	box.png fish.jpg graffiti.png baboon.jpg	product photos
#	catalog.ndjson	the products box, fish and graffiti
#	new.ndjson	the product baboon, not in the catalog
#	clip1.mp4	3 s of cockatoo.mp4, 640x360, a keyframe every
#			0.5 s, with box.png in it from 1 s to 2.2 s
#	videos.ndjson	the video clip1
#	images.ndjson	pm-fetch's output for catalog.ndjson
#	catalog.idx	the catalog's index, and catalog-indexed.ndjson,
#			as pm-index(1)'s first example makes them
#	frames.ndjson	the keyframes of clip1, with keypoints and vectors
#	matched.ndjson	pm-match's output for frames.ndjson
#	results.ndjson	pm-evidence's output for matched.ndjson

. "$(dirname "$0")/lib.sh"
. "$TEST_DIRECTORY/lib-examples.sh"

skips='pm-fetch.1	ytsearch5:	needs the network and yt-dlp
pm-embed.1	resnet50-v1-7.onnx	needs a model file pm does not ship
pm-embed.1	clip-vit-b32-visual.onnx	needs a model file pm does not ship
pm-embed.1	net.caffemodel	needs a model file pm does not ship
pm-report.1	xdg-open	needs a desktop and a browser
pm.7	/shared/pm/store	needs a file system shared with host1 and host2
pm.7	-S host1,host2	needs the hosts host1 and host2 and a shared store
pm.7	0 2 * * *	crontab(5) lines: need cron'

test_expect_success 'a block is read as commands and what they print' '
	mkdir split &&
	cat >page.7 <<-\EOF &&
	.Sh DESCRIPTION
	.Bd -literal
	$ not an example
	.Ed
	.Sh EXAMPLES
	.Bd -literal -offset indent
	$ echo "a
	b" | tr a-z A-Z |
	    cat
	A
	B
	$ printf "%s\en" x \e
	    .y
	x
	\&.y
	$ cat <<END | cut -c 3-
	$ a
	END
	a
	.Ed
	.Pp
	.Bd -literal -offset indent
	not a command
	.Ed
	.Sh SEE ALSO
	EOF
	mdoc_examples page.7 | examples_split split >n &&
	echo 4 >want && test_cmp want n &&
	printf "%s\n" "echo \"a" "b\" | tr a-z A-Z |" "    cat" >want &&
	test_cmp want split/1.cmd &&
	printf "A\nB\n" >want && test_cmp want split/1.out &&
	printf "%s\n" "printf \"%s\\n\" x \\" "    .y" >want &&
	test_cmp want split/2.cmd &&
	printf "x\n.y\n" >want && test_cmp want split/2.out &&
	printf "%s\n" "cat <<END | cut -c 3-" "\$ a" END >want &&
	test_cmp want split/3.cmd &&
	echo a >want && test_cmp want split/3.out &&
	echo "not a command" >want && test_cmp want split/4.skip &&
	printf ".Sh EXAMPLES\n.Bd -literal\n\\\\fBbold\n.Ed\n" >bad.7 &&
	test_must_fail mdoc_examples bad.7
'

test_expect_success 'output is compared white space aside, with ... for anything' '
	printf "a b\nc\n" >shown && printf "a\nb  c\n" >got &&
	output_is shown got &&
	printf "x ... z\n" >shown && printf "x y\ny z\n" >got &&
	output_is shown got &&
	printf "x y\n" >got && test_must_fail output_is shown got &&
	printf "x ... x\n" >shown && printf "x\n" >got &&
	test_must_fail output_is shown got &&
	printf "a b\n" >shown && printf "a c\n" >got &&
	test_must_fail output_is shown got &&
	: >shown && echo "pm-kp: a warning" >got &&
	test_must_fail output_is shown got
'

test_expect_success FFMPEG,JQ 'the inputs' '
	mkdir inputs &&
	cd inputs &&
	PM_STORE=$PWD/store &&
	cp "$TEST_DATA/box.png" box.png &&
	cp "$TEST_DATA/HappyFish.jpg" fish.jpg &&
	cp "$TEST_DATA/graf1.png" graffiti.png &&
	cp "$TEST_DATA/baboon.jpg" baboon.jpg &&
	ffmpeg -loglevel error -i "$TEST_DATA/cockatoo.mp4" -loop 1 -i box.png \
	    -filter_complex "[0:v]scale=640:360[b];[1:v]scale=200:-1[p];[b][p]overlay=x=120+60*t:y=80:shortest=1:enable=between(t\,1\,2.2),format=yuv420p[v]" \
	    -map "[v]" -t 3 -c:v libx264 -preset veryfast -crf 23 -g 10 clip1.mp4 &&
	cat >catalog.ndjson <<-\EOF &&
	{"type":"product","id":"box","title":"Bastoncini almond cookies","images":["box.png"]}
	{"type":"product","id":"fish","title":"Happy Fish poster","images":["fish.jpg"]}
	{"type":"product","id":"graffiti","title":"Graffiti wall poster","images":["graffiti.png"]}
	EOF
	echo "{\"type\":\"product\",\"id\":\"baboon\",\"images\":[\"baboon.jpg\"]}" >new.ndjson &&
	echo "{\"type\":\"video\",\"id\":\"clip1\",\"src\":\"clip1.mp4\"}" >videos.ndjson &&
	pm-fetch catalog.ndjson >images.ndjson &&
	pm-kp -F border images.ndjson | pm-embed |
	    pm-index -o catalog.idx >catalog-indexed.ndjson &&
	pm-fetch videos.ndjson | pm-frames | pm-kp | pm-embed >frames.ndjson &&
	pm-match -i catalog.idx frames.ndjson >matched.ndjson &&
	grep "\"type\":\"appearance\"" matched.ndjson &&
	pm-evidence matched.ndjson >results.ndjson
'

for page in "$PM_ROOT"/man/man*/*; do
	name=${page##*/}
	dir=$TRASH/ex/$name
	mkdir -p "$dir/examples"
	n=$(mdoc_examples "$page" | examples_split "$dir/examples") &&
	mdoc_examples "$page" >/dev/null || n=bad
	test_expect_success "$name: its examples read" '
		test "$n" != bad
	'
	[ "$n" != bad ] || continue
	[ -d "$TRASH/inputs" ] && cp -R "$TRASH/inputs/." "$dir/"
	PM_STORE=$dir/store
	run_examples "$name" "$dir" "$n" FFMPEG,JQ
done

test_skips_used

test_done
