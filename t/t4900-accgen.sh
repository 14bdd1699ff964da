#!/bin/sh
# The accuracy benchmark's own tools (bench/gen): accgen draws a real
# catalog image into a real background where its ground truth says,
# acccheck finds it there, accscore scores results against the truth.

. "$(dirname "$0")/lib.sh"

B=$PM_ROOT/bench/out
[ -x "$B/accgen" ] && [ -x "$B/acccheck" ] && [ -x "$B/accscore" ] ||
	test_skip_all "bench/out/accgen, acccheck, accscore not built (make bench)"
command -v jq >/dev/null 2>&1 || test_skip_all "jq not found (Debian package jq)"

# A 2 s clip: the fish moves, grows, turns and tilts across a panned
# photo; a second product is only in the catalog; c2 shows nothing.
cat >scene <<EOF
product fish HappyFish.jpg
product fish2 HappyFish.jpg flip like=fish
clip c1 box_in_scene.png dur=2 size=320x240 fps=10 crf=20
obj fish 0.2 1.6 cx=0.3:0.7 cy=0.5:0.45 h=0.4:0.55 rot=0:30 yaw=0:30
clip c2 box_in_scene.png dur=1 size=320x240 fps=10 crf=20
EOF

test_expect_success FFMPEG 'accgen writes the catalog, the videos and the truth' '
	"$B/accgen" -m "$TEST_DATA" -o out scene &&
	test -s out/catalog/fish.jpg && test -s out/videos/c1.mp4 &&
	test_line_count = 2 out/catalog.ndjson &&
	test_line_count = 2 out/videos.ndjson &&
	test "$(jq -r "select(.id == \"c1\") | .src" out/videos.ndjson)" = \
	    "$(cd out && pwd -P)/videos/c1.mp4" &&
	test "$(ffprobe -v error -count_frames -select_streams v:0 \
	    -show_entries stream=nb_read_frames,width,height,codec_name \
	    -of csv=p=0 out/videos/c1.mp4)" = "h264,320,240,20" &&
	jq -c "select(.type == \"truth-interval\") | [.video, .product,
	    .start, .end]" out/truth.ndjson >intervals &&
	echo "[\"c1\",\"fish\",0.2,1.6]" >expect &&
	test_cmp expect intervals &&
	test "$(grep -c "\"truth-frame\",\"video\":\"c1\"" out/truth.ndjson)" = 15 &&
	! grep -q "\"truth-frame\",\"video\":\"c2\"" out/truth.ndjson
'

test_expect_success FFMPEG 'the true corners are where the product was drawn' '
	"$B/acccheck" out/truth.ndjson c1 >check &&
	tail -n 1 check >summary &&
	awk "{ exit !(\$1 == \"checked\" && \$2 >= 12 && \$4 >= 0.9 &&
	    \$6 < \$4 - 0.15) }" summary
'

test_expect_success FFMPEG 'corners 6 px off the truth do not match the pixels' '
	jq -c "if .type == \"truth-frame\" then
	    .box |= map([.[0] + 6, .[1] - 6]) else . end" out/truth.ndjson \
	    >moved.ndjson &&
	"$B/acccheck" moved.ndjson c1 | tail -n 1 >moved &&
	awk "{ exit !(\$4 < 0.85) }" moved
'

test_expect_success FFMPEG 'the same scene gives the same bytes' '
	"$B/accgen" -m "$TEST_DATA" -o out2 scene &&
	cmp out/videos/c1.mp4 out2/videos/c1.mp4 &&
	sed "s|/out2/|/out/|g" out2/truth.ndjson | cmp - out/truth.ndjson
'

test_expect_success FFMPEG 'accscore: results equal to the truth score 1' '
	jq -c "select(.type == \"truth-interval\") |
	    {type: \"appearance\", video, product, start, \"end\": .end}" \
	    out/truth.ndjson >perfect &&
	jq -c "select(.type == \"truth-frame\") |
	    {type: \"match\", video, t, product, box, score: 0.8}" \
	    out/truth.ndjson >>perfect &&
	"$B/accscore" -t out/truth.ndjson pm=perfect >score &&
	grep "^appearance precision  *1.000" score &&
	grep "^appearance recall  *1.000" score &&
	grep "^temporal IoU, mean over true intervals  *1.000" score &&
	grep "^box IoU, median  *1.000" score &&
	grep "^corner error, median (pixels)  *0.00" score
'

test_expect_success FFMPEG 'accscore: misses, false claims, loose boxes count' '
	{
		echo "{\"type\":\"appearance\",\"video\":\"c1\",\"product\":\"fish\",\"start\":0.2,\"end\":0.8}"
		echo "{\"type\":\"appearance\",\"video\":\"c1\",\"product\":\"fish2\",\"start\":0.2,\"end\":0.8}"
		echo "{\"type\":\"appearance\",\"video\":\"c2\",\"product\":\"fish\",\"start\":0,\"end\":0.5}"
		echo "{\"type\":\"match\",\"video\":\"c2\",\"t\":0.1,\"product\":\"fish\",\"score\":0.5}"
		jq -c "select(.type == \"truth-frame\") |
		    {type: \"match\", video, t, product, score: 0.8,
		    box: (.box | map([.[0] + 3, .[1] + 4]))}" out/truth.ndjson
	} >worse &&
	"$B/accscore" -t out/truth.ndjson worse=worse >score &&
	grep "^appearance precision  *0.333" score &&
	grep "^appearance recall  *1.000" score &&
	grep "^false appearances, product-free video  *1 " score &&
	grep "^false matches, product-free video  *1 " score &&
	grep "^false appearances, look-alikes  *1 " score &&
	grep "^corner error, median (pixels)  *5.00" score &&
	awk "/^temporal IoU/ { exit !(\$7 > 0.46 && \$7 < 0.47) }" score
'

test_expect_success FFMPEG 'accscore -S picks the threshold with the best F1' '
	jq -c "select(.type == \"truth-frame\") |
	    {type: \"match\", video, t, product, score: 0.7}" \
	    out/truth.ndjson >scores &&
	echo "{\"type\":\"match\",\"video\":\"c2\",\"t\":0.1,\"product\":\"fish\",\"score\":0.6}" >>scores &&
	echo "{\"type\":\"match\",\"video\":\"c1\",\"t\":0.1,\"product\":\"fish2\",\"score\":0.5}" >>scores &&
	"$B/accscore" -S emb -t out/truth.ndjson emb=scores >score &&
	grep "^decision threshold (best F1)  *0.700" score &&
	grep "^appearance precision  *1.000" score
'

test_expect_success FFMPEG 'brute finds the product where the truth has it, not its mirror image' '
	pm-fetch <out/catalog.ndjson | pm-kp >cat.kp &&
	pm-fetch <out/videos.ndjson | pm-frames -f 5 | pm-kp >frames.kp &&
	"$B/brute" cat.kp frames.kp >brute.ndjson &&
	grep -q "\"type\":\"match\"" brute.ndjson &&
	"$B/accscore" -t out/truth.ndjson brute=brute.ndjson >score &&
	grep "^appearance precision  *1.000" score &&
	grep "^appearance recall  *1.000" score &&
	grep "^false appearances, look-alikes  *0 " score &&
	awk "/^box IoU, median/ { exit !(\$4 >= 0.9) }" score
'

test_done
