#!/bin/sh

test_description='pm-frames: keyframe, rate and scene sampling on real
media against ffprobe, timestamps with start offsets, variable rates and
none at all, rotation, drops, caps, bad input'

. "$(dirname "$0")/lib.sh"

if test_have_prereq FFMPEG &&
    ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264; then
	test_set_prereq X264
fi
# opencv-doc's damaged sample, when the package is installed (95 MB: the
# test does not download it).
BUGY=/usr/share/doc/opencv-doc/examples/data/Megamind_bugy.avi
test -r "$BUGY" && test_set_prereq OPENCV_DOC

# video ID FILE: a video record for FILE, put in the store.
video() {
	printf '{"type":"video","id":"%s","blob":"%s"}\n' "$1" \
	    "$(pm-store put "$2")"
}

# frame_times OUT ID: the t of ID's frames in OUT, one a line, %.6f.
frame_times() {
	jq -r --arg v "$2" 'select(.type == "frame" and .video == $v) | .t' \
	    "$1" | awk '{ printf "%.6f\n", $1 }'
}

# start_of FILE: ffprobe's format start_time, 0 when it has none.
start_of() {
	ffprobe -v error -show_entries format=start_time -of csv=p=0 "$1" |
	    sed 's/N\/A/0/'
}

# probe FILE FIELD [OPTION ...]: FIELD (pts_time or
# best_effort_timestamp_time) of the frames ffprobe decodes, as
# "key time" lines, minus the file's start time; "N/A" where it has none.
probe() {
	_f=$1 _field=$2
	shift 2
	_s=$(start_of "$_f")
	ffprobe -v error -select_streams v:0 "$@" \
	    -show_entries "frame=key_frame,$_field" -of csv=p=0 "$_f" |
	    sed -n 's/^\([01]\),\([0-9][0-9.]*\|N\/A\).*/\1 \2/p' |
	    awk -v s="$_s" '{ if ($2 == "N/A") print $1, $2;
		else printf "%s %.6f\n", $1, $2 - s }'
}

# jqe FILTER FILE: FILTER on FILE's records as one array is true (jq 1.6's
# -e fails when the last record gives no output).
jqe() {
	jq -s -e "$1" "$2" >/dev/null
}

# same_times A B: the same seconds, line by line, to 2 microseconds.
same_times() {
	awk 'NR == FNR { a[++n] = $1; next }
	    { m++; d = $1 - a[m];
	      if (m > n || d > 2e-6 || d < -2e-6) {
		print "line " m ": want " a[m] ", got " $1; bad = 1 } }
	    END { if (m != n) { print "want " n " times, got " m; bad = 1 }
		exit bad }' "$1" "$2"
}

# rate_times FPS: from "key time" lines, the first frame at or after
# each k/FPS, as pm-frames -f picks them.
rate_times() {
	awk -v f="$1" '$2 != "N/A" && $2 >= k / f - 1e-6 {
		printf "%.6f\n", $2; k = int(($2 + 1e-6) * f) + 1 }'
}

test_expect_success 'setup: real clips' '
	cp "$TEST_DATA/cockatoo.mp4" "$TEST_DATA/Megamind.avi" . &&
	video cockatoo cockatoo.mp4 >cockatoo.ndjson &&
	video megamind Megamind.avi >megamind.ndjson
'

test_expect_success X264,JQ 'setup: clips made from them' '
	ff="ffmpeg -nostdin -v error -y" &&
	$ff -i cockatoo.mp4 -t 3 -an -c:v libx264 -preset ultrafast -g 10 \
	    -output_ts_offset 10 start.mkv &&
	$ff -i cockatoo.mp4 -t 3 -an -c:v libx264 -preset ultrafast -g 10 \
	    -output_ts_offset 10 -f mpegts start.ts &&
	$ff -i cockatoo.mp4 -t 6 -an -c:v libx264 -preset ultrafast -g 15 \
	    -vf "setpts=if(lt(T\,2)\,PTS\,if(lt(T\,4)\,2/TB+(PTS-2/TB)*3\,8/TB+(PTS-4/TB)*2))" \
	    -fps_mode vfr vfr.mp4 &&
	$ff -i cockatoo.mp4 -t 2 -an -c copy -metadata:s:v rotate=90 \
	    rot90.mp4 &&
	$ff -i cockatoo.mp4 -t 2 -an -c copy -metadata:s:v rotate=270 \
	    rot270.mp4 &&
	$ff -i cockatoo.mp4 -t 4 -an -c:v mpeg1video -bf 2 -g 12 \
	    -f mpeg1video notime.m1v &&
	{
		video start.mkv start.mkv &&
		video start.ts start.ts &&
		video vfr vfr.mp4 &&
		video rot90 rot90.mp4 &&
		video rot270 rot270.mp4
	} >made.ndjson &&
	video notime notime.m1v >notime.ndjson
'

test_expect_success JQ 'keyframes: t is ffprobe -skip_frame nokey pts_time (cockatoo.mp4)' '
	pm-frames -d 0 -b 0 cockatoo.ndjson >out &&
	probe cockatoo.mp4 pts_time -skip_frame nokey | cut -d" " -f2 >want &&
	frame_times out cockatoo >got &&
	test_line_count = 3 got &&
	same_times want got
'

test_expect_success X264,JQ 'keyframes: t is pts_time minus the start time (mkv, ts at 10 s), VFR, rotated' '
	pm-frames -d 0 -b 0 made.ndjson >out &&
	for v in start.mkv:start.mkv start.ts:start.ts vfr:vfr.mp4 \
	    rot90:rot90.mp4 rot270:rot270.mp4; do
		id=${v%%:*} f=${v#*:} &&
		probe $f pts_time -skip_frame nokey | cut -d" " -f2 >want &&
		frame_times out $id >got &&
		test -s got &&
		same_times want got || { echo "in $id"; exit 1; }
	done &&
	frame_times out start.mkv | head -1 >first &&
	echo 0.000000 >expect &&
	test_cmp expect first &&
	test "$(start_of start.mkv)" = 10.000000
'

test_expect_success JQ 'keyframes of AVI without pts: the times of a full decode' '
	# ffprobe -skip_frame nokey stamps the keyframes of this xvid AVI
	# (B-frames, no pts) with the next keyframe packet times; the full
	# decode places them, and so does pm-frames.
	pm-frames -d 0 -b 0 megamind.ndjson >out &&
	probe Megamind.avi best_effort_timestamp_time |
	    awk "\$1 == 1 { print \$2 }" >want &&
	frame_times out megamind >got &&
	test_line_count = 5 got &&
	same_times want got &&
	probe Megamind.avi best_effort_timestamp_time -skip_frame nokey |
	    cut -d" " -f2 >skipped &&
	! same_times want skipped
'

test_expect_success X264,JQ 'no timestamps at all (MPEG-1 elementary stream)' '
	# The decoder gives no time to the last frame; it follows the one
	# before by a frame at 24000/1001 fps.
	probe notime.m1v best_effort_timestamp_time |
	    awk "{ if (\$2 == \"N/A\") \$2 = sprintf(\"%.6f\", p + 1001 / 24000);
		p = \$2; print }" >all &&
	test "$(grep -c "N/A" all)" = 0 &&
	pm-frames -d 0 -b 0 notime.ndjson >out &&
	awk "\$1 == 1 { print \$2 }" all >want &&
	frame_times out notime >got &&
	test_line_count = 9 got &&
	same_times want got &&
	pm-frames -d 0 -b 0 -f 1 notime.ndjson >out1 &&
	rate_times 1 <all >want1 &&
	frame_times out1 notime >got1 &&
	test_line_count = 5 got1 &&
	same_times want1 got1
'

test_expect_success JQ '-f 1: the first frame at or after each second (cockatoo.mp4: 14)' '
	pm-frames -d 0 -b 0 -f 1 cockatoo.ndjson >out &&
	frame_times out cockatoo >got &&
	test_line_count = 14 got &&
	probe cockatoo.mp4 pts_time | rate_times 1 >want &&
	same_times want got &&
	jqe "map(select(.type == \"video\"))[0].frames.decoded < 280" out
'

test_expect_success X264,JQ '-f: rates on VFR and offset clips, Megamind at 2.5 fps' '
	pm-frames -d 0 -b 0 -f 2.5 made.ndjson megamind.ndjson >out &&
	for v in vfr:vfr.mp4 start.mkv:start.mkv start.ts:start.ts \
	    megamind:Megamind.avi; do
		id=${v%%:*} f=${v#*:} &&
		probe $f best_effort_timestamp_time | rate_times 2.5 >want &&
		frame_times out $id >got &&
		test -s got &&
		same_times want got || { echo "in $id"; exit 1; }
	done
'

test_expect_success X264,JQ '-f skips the tails of closed GOPs, not what open GOPs need' '
	# Closed GOPs of 10 frames (0.5 s) at 1 fps: each instant falls on
	# a keyframe, so the frames after it, and GOPs with no instant, are
	# not decoded: 3 of 60 frames.  Open GOPs (x264 open-gop, and x265
	# whose default they are) have leading pictures that refer back
	# across the keyframe: nothing may be skipped there, and nothing
	# decodes damaged.
	ffmpeg -nostdin -v error -y -i cockatoo.mp4 -t 6 -an -c:v libx264 \
	    -preset fast -x264-params open-gop=1:keyint=20:bframes=3 open.mp4 &&
	video open open.mp4 >open.ndjson &&
	if ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx265; then
		ffmpeg -nostdin -v error -y -i cockatoo.mp4 -t 6 -an \
		    -c:v libx265 -preset fast \
		    -x265-params keyint=20:log-level=error open265.mp4 &&
		video open265 open265.mp4 >>open.ndjson
	fi &&
	pm-frames -d 0 -b 0 -f 3 open.ndjson >out &&
	for id in $(jq -r "select(.type == \"video\") | .id" out); do
		probe $id.mp4 pts_time | rate_times 3 >want &&
		frame_times out $id >got &&
		same_times want got || { echo "in $id"; exit 1; }
	done &&
	! grep damaged out &&
	pm-frames -d 0 -b 0 -f 1 made.ndjson >out &&
	jq -c "select(.id == \"start.mkv\") | .frames | [.decoded, .kept]" \
	    out >got &&
	echo "[3,3]" >expect &&
	test_cmp expect got
'

test_expect_success JQ 'every frame blob decodes to the stated w, h' '
	cat cockatoo.ndjson megamind.ndjson >two.ndjson &&
	if test_have_prereq X264; then cat made.ndjson >>two.ndjson; fi &&
	pm-frames -d 0 -b 0 -f 0.5 two.ndjson >out &&
	jq -r "select(.type == \"frame\") | \"\(.blob) \(.w)x\(.h)\"" out >list &&
	test "$(wc -l <list)" -gt 20 &&
	while read -r blob size; do
		pm-store get "$blob" f.jpg &&
		got=$(ffprobe -v error -show_entries stream=width,height \
		    -of csv=p=0:s=x f.jpg) &&
		test "$got" = "$size" || { echo "$blob: $got, not $size"; exit 1; }
	done <list
'

test_expect_success X264,JQ 'rotation: upright sizes, the pixels of ffmpeg autorotate' '
	pm-frames -d 0 -b 0 made.ndjson >out &&
	jq -r "select(.id == \"rot90\") | \"\(.w)x\(.h)\"" out >size &&
	echo 720x1280 >expect &&
	test_cmp expect size &&
	for r in rot90 rot270; do
		jq -r --arg r $r "select(.video == \$r) | \"\(.w)x\(.h)\"" \
		    out | sort -u >size &&
		test_cmp expect size &&
		jq -r --arg r $r "select(.video == \$r) | .blob" out |
		    head -1 | xargs pm-store cat >$r.jpg &&
		ffmpeg -nostdin -v error -y -i $r.mp4 -frames:v 1 $r.png &&
		ffmpeg -nostdin -i $r.jpg -i $r.png -filter_complex \
		    "[0]format=yuv420p[a];[1]format=yuv420p[b];[a][b]psnr" \
		    -f null - 2>&1 | sed -n "s/.*average:\([0-9.]*\).*/\1/p" \
		    >psnr &&
		awk "{ exit !(\$1 > 35) }" psnr || { cat psnr; exit 1; }
	done
'

test_expect_success JQ 'output is the same bytes for any -j' '
	cat cockatoo.ndjson megamind.ndjson cockatoo.ndjson >three.ndjson &&
	if test_have_prereq X264; then cat made.ndjson >>three.ndjson; fi &&
	pm-frames -j 1 -f 3 three.ndjson >j1 2>/dev/null &&
	pm-frames -j 4 -f 3 three.ndjson >j4 2>/dev/null &&
	test_cmp j1 j4 &&
	pm-frames -j 1 -n 2 -S 0.2 three.ndjson >s1 2>/dev/null &&
	pm-frames -j 4 -n 2 -S 0.2 three.ndjson >s4 2>/dev/null &&
	test_cmp s1 s4
'

test_expect_success JQ '-n caps each video, -m caps the longer side, -q the size' '
	pm-frames -d 0 -b 0 -f 2 -n 3 -m 320 cockatoo.ndjson megamind.ndjson \
	    >out &&
	jq -r "select(.type == \"frame\") | \"\(.video) \(.w)x\(.h)\"" out |
	    sort | uniq -c | sed "s/^ *//" >got &&
	cat >expect <<-\EOF &&
	3 cockatoo 320x180
	3 megamind 320x235
	EOF
	test_cmp expect got &&
	jqe "map(select(.type == \"video\") | .frames.capped) | all" out &&
	jq -r "select(.video == \"cockatoo\") | .blob" out | head -1 >b &&
	pm-frames -d 0 -b 0 -n 1 -m 320 -q 20 cockatoo.ndjson >low &&
	jq -r "select(.type == \"frame\") | .blob" low >b20 &&
	test "$(pm-store cat "$(cat b20)" | wc -c)" -lt \
	    "$(pm-store cat "$(cat b)" | wc -c)"
'

test_expect_success X264,JQ 'near-duplicates are dropped and counted; the kept frame lasts until the last' '
	ffmpeg -nostdin -v error -y -ss 2 -i cockatoo.mp4 -frames:v 1 still.png &&
	ffmpeg -nostdin -v error -y -loop 1 -i still.png -t 3 -r 10 \
	    -c:v libx264 -preset ultrafast -pix_fmt yuv420p still.mp4 &&
	video still still.mp4 >still.ndjson &&
	pm-frames -d 4 -b 0 -f 2 still.ndjson >out 2>err &&
	jq -c "select(.type == \"video\") | .frames" out >stats &&
	# 30 frames at 10 fps; the 4 after 2.5 s are not even decoded.
	echo "{\"mode\":\"rate\",\"decoded\":26,\"sampled\":6,\"kept\":1,\"dup\":5,\"blur\":0,\"corrupt\":0}" >expect &&
	test_cmp expect stats &&
	jq -r "select(.type == \"frame\") | .until" out >until &&
	echo 2.5 >expect &&
	test_cmp expect until &&
	grep "dropped 5 of 6 sampled frames: 5 near-duplicate, 0 blurred, 0 damaged" err &&
	pm-frames -d 0 -b 0 -f 2 still.ndjson >all &&
	test "$(grep -c "\"type\":\"frame\"" all)" = 6
'

test_expect_success X264,JQ 'blurred frames are dropped and counted' '
	ffmpeg -nostdin -v error -y -i cockatoo.mp4 -t 2 -an \
	    -vf gblur=sigma=30 -c:v libx264 -preset ultrafast blur.mp4 &&
	video blur blur.mp4 >blur.ndjson &&
	pm-frames -d 0 -f 1 blur.ndjson cockatoo.ndjson >out 2>err &&
	jq -c "select(.id == \"blur\") | [.frames.sampled, .frames.blur, .frames.kept]" out >got &&
	echo "[2,2,0]" >expect &&
	test_cmp expect got &&
	jq -r "select(.video == \"cockatoo\") | .sharp" out >sharp &&
	test "$(wc -l <sharp)" -ge 12 &&
	awk "{ exit !(\$1 >= 10) }" sharp &&
	grep "blurred" err
'

test_expect_success X264,JQ 'scene changes: the first frame and the cut' '
	ffmpeg -nostdin -v error -y -i cockatoo.mp4 -i Megamind.avi \
	    -filter_complex "[0:v]trim=0:2,setpts=PTS-STARTPTS,fps=20[a];[1:v]trim=3:5,setpts=PTS-STARTPTS,scale=1280:720,setsar=1,fps=20[b];[a][b]concat=n=2:v=1[v]" \
	    -map "[v]" -c:v libx264 -preset ultrafast -g 100 cut.mp4 &&
	video cut cut.mp4 >cut.ndjson &&
	pm-frames -d 0 -b 0 -S 0.3 cut.ndjson >out &&
	frame_times out cut >got &&
	# 2.0: the cut; 3.15: a cut of Megamind.avi itself (4.15 s in it).
	printf "%s\n" 0.000000 2.000000 3.150000 >expect &&
	test_cmp expect got &&
	jqe "map(select(.type == \"frame\" and .t == 2))[0].scene >= 0.3" out &&
	jqe "map(select(.type == \"video\"))[0].frames.decoded == 80" out
'

test_expect_success JQ 'a video the store keeps compressed is read from memory' '
	ffmpeg -nostdin -v error -y -i cockatoo.mp4 -t 2 -an -vf scale=160:90 \
	    -pix_fmt yuv420p -f yuv4mpegpipe raw.y4m &&
	video raw raw.y4m >raw.ndjson &&
	blob=$(jq -r .blob raw.ndjson) &&
	pm-store ls -l | grep "^$blob .* zstd$" &&
	pm-frames -d 0 -b 0 -f 2 raw.ndjson >out &&
	frame_times out raw >got &&
	printf "%s\n" 0.000000 0.500000 1.000000 1.500000 >expect &&
	test_cmp expect got
'

test_expect_success JQ 'setup: bad inputs' '
	head -c 400000 cockatoo.mp4 >nomoov.mp4 &&
	ffmpeg -nostdin -v error -y -i cockatoo.mp4 -c copy \
	    -movflags +faststart faststart.mp4 &&
	head -c 400000 faststart.mp4 >cut.mp4 &&
	head -c 600000 Megamind.avi >cut.avi &&
	cp Megamind.avi damaged.avi &&
	dd if=cockatoo.mp4 of=damaged.avi bs=1000 skip=100 seek=300 count=20 \
	    conv=notrunc 2>/dev/null &&
	cp Megamind.avi resync.avi &&
	yes "pm damage" | head -c 20000 |
	    dd of=resync.avi bs=1000 seek=300 conv=notrunc 2>/dev/null &&
	: >empty.mp4 &&
	echo "this is not a video" >text.mp4 &&
	cp "$TEST_DATA/HappyFish.jpg" image.mp4 &&
	{
		video nomoov nomoov.mp4 &&
		video cut.mp4 cut.mp4 &&
		video cut.avi cut.avi &&
		video damaged damaged.avi &&
		video resync resync.avi &&
		video empty empty.mp4 &&
		video text text.mp4 &&
		video image image.mp4 &&
		echo "{\"type\":\"video\",\"id\":\"noblob\",\"src\":\"x.mp4\"}" &&
		echo "{\"type\":\"note\",\"n\":1}" &&
		video after cockatoo.mp4
	} >bad.ndjson
'

test_expect_success JQ 'bad inputs: clear messages, frames that decoded kept, the rest goes on' '
	test_expect_code 1 pm-frames -d 0 -b 0 -r rej bad.ndjson >out 2>err &&
	grep "^pm-frames: bad.ndjson:1: video nomoov: cannot read mov: moov atom not found$" err &&
	grep "^pm-frames: bad.ndjson:2: video cut.mp4: damaged: the video ends at 7.300 s of 14.000 s; .*; kept 2 frames (2 decoded)$" err &&
	grep "^pm-frames: bad.ndjson:3: video cut.avi: damaged: the video ends at 5.422 s of 11.261 s; .*decoding error" err &&
	grep "^pm-frames: bad.ndjson:4: video damaged: damaged: .*[0-9]* decoding errors, the first: " err &&
	grep "^pm-frames: bad.ndjson:5: video resync: damaged: 1 frame decoded damaged; kept 5 frames (92 decoded)$" err &&
	grep "^pm-frames: bad.ndjson:6: video empty: not a video: empty file$" err &&
	grep "^pm-frames: bad.ndjson:7: video text: not a video: unknown format$" err &&
	grep "^pm-frames: bad.ndjson:8: video image: not a video: a still image$" err &&
	grep "^pm-frames: bad.ndjson:9: video noblob: no blob" err &&
	test_line_count = 9 err &&
	jq -r "select(.type == \"video\") | .id" rej >rejected &&
	printf "%s\n" nomoov empty text image noblob >expect &&
	test_cmp expect rejected &&
	jq -r "select(.type != \"frame\") | .id // .type" out >passed &&
	printf "%s\n" cut.mp4 cut.avi damaged resync note after >expect &&
	test_cmp expect passed &&
	jq -c "select(.type == \"video\" and .frames.damaged) | .id" out >damaged &&
	printf "\"%s\"\n" cut.mp4 cut.avi damaged resync >expect &&
	test_cmp expect damaged &&
	frame_times out cut.mp4 >got &&
	printf "0.000000\n3.800000\n" >expect &&
	test_cmp expect got &&
	test "$(frame_times out cut.avi | wc -l)" -ge 2 &&
	test "$(frame_times out damaged | wc -l)" -ge 4 &&
	test "$(frame_times out resync | wc -l)" = 5 &&
	frame_times out after >got &&
	printf "0.000000\n3.800000\n7.250000\n" >expect &&
	test_cmp expect got
'

test_expect_success JQ 'frames of a damaged video decode to their size' '
	jq -r "select(.type == \"frame\" and .video != \"after\") | \"\(.blob) \(.w)x\(.h)\"" \
	    out >list &&
	test "$(wc -l <list)" -ge 8 &&
	while read -r blob size; do
		pm-store get "$blob" f.jpg &&
		got=$(ffprobe -v error -show_entries stream=width,height \
		    -of csv=p=0:s=x f.jpg) &&
		test "$got" = "$size" || { echo "$blob: $got, not $size"; exit 1; }
	done <list
'

test_expect_success OPENCV_DOC,JQ 'Megamind_bugy.avi from opencv-doc decodes, keyframes placed' '
	cp "$BUGY" bugy.avi &&
	video bugy bugy.avi >bugy.ndjson &&
	pm-frames -d 0 -b 0 bugy.ndjson >out &&
	probe bugy.avi best_effort_timestamp_time |
	    awk "\$1 == 1 && \$2 != \"N/A\" { print \$2 }" >want &&
	frame_times out bugy >got &&
	test -s got &&
	same_times want got
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 pm-frames -q 0 </dev/null &&
	test_expect_code 2 pm-frames -f 0 </dev/null &&
	test_expect_code 2 pm-frames -S 2 </dev/null &&
	test_expect_code 2 pm-frames -x </dev/null 2>err &&
	grep "^usage: pm-frames " err
'

test_done
