#!/bin/sh
# pm-match on clips made here: real catalog images composited onto real
# backgrounds with known geometry, encoded and decoded (h264 when
# ffmpeg has it), so that where each product is, and is not, is known.
# Products are found with boxes near the truth, several in one frame;
# nothing is claimed in product-free frames or for a look-alike;
# graf1 -> graf3 within 2 px of the dataset's homography; appearances
# merge within the gap; -j 1 and -j 4 give the same bytes; bad input is
# reported while the rest goes on.

. "$(dirname "$0")/lib.sh"

test_have_prereq FFMPEG,JQ || test_skip_all "needs ffmpeg and jq"
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264 &&
	test_set_prereq X264

# frame OUT BG [IMAGE W H ANGLE X Y]...: a 640x360 frame of the real
# image BG (cropped to $CROP, w:h:x:y, when set) with each catalog IMAGE
# scaled to WxH, turned ANGLE degrees clockwise and put at X,Y.
frame() {
	_out=$1 _in="-i $2" _g="[0]${CROP:+crop=$CROP,}scale=640:360,setsar=1[b0]" _n=0
	shift 2
	while [ $# -ge 6 ]; do
		_n=$((_n + 1))
		_in="$_in -i $1"
		_g="$_g;[$_n]scale=$2:$3,setsar=1,format=rgba,rotate=$4*PI/180:ow=rotw($4*PI/180):oh=roth($4*PI/180):c=none[p$_n];[b$((_n - 1))][p$_n]overlay=$5:$6[b$_n]"
		shift 6
	done
	ffmpeg -nostdin -loglevel error -y $_in -filter_complex "$_g" \
	    -map "[b$_n]" -frames:v 1 "$_out"
}

# truth W H ANGLE X Y: where frame() puts an image's corners (x y, four
# times, clockwise from top-left; 0,0 the centre of the top-left pixel).
truth() {
	awk -v W="$1" -v H="$2" -v A="$3" -v X="$4" -v Y="$5" 'BEGIN {
		a = A * atan2(0, -1) / 180; c = cos(a); s = sin(a)
		ac = c < 0 ? -c : c; as = s < 0 ? -s : s
		cx = X + (int(W * ac + H * as) - 1) / 2
		cy = Y + (int(W * as + H * ac) - 1) / 2
		split("-1 -1 1 -1 1 1 -1 1", k, " ")
		for (i = 0; i < 4; i++) {
			x = k[2 * i + 1] * W / 2; y = k[2 * i + 2] * H / 2
			printf "%s%.2f %.2f", i ? " " : "", cx + x * c - y * s,
			    cy + x * s + y * c
		}
		print ""
	}'
}

# clip NAME: encode NAME-NN.png at 1 frame a second, decode it again,
# and print its video record and its frame records (t = 0, 1, ...).
clip() {
	if test_have_prereq X264; then
		_c="-c:v libx264 -crf 23 -pix_fmt yuv420p"
	else
		_c="-c:v mpeg4 -q:v 3"
	fi
	ffmpeg -nostdin -loglevel error -y -framerate 1 -i "$1-%02d.png" \
	    $_c "$1.mp4" &&
	ffmpeg -nostdin -loglevel error -y -i "$1.mp4" -vsync 0 \
	    "$1-dec-%02d.png" &&
	_v=$(pm-store put "$1.mp4") &&
	echo "{\"type\":\"video\",\"id\":\"$1\",\"blob\":\"$_v\"}" &&
	_t=0 &&
	for _f in "$1"-dec-*.png; do
		_b=$(pm-store put "$_f") &&
		echo "{\"type\":\"frame\",\"video\":\"$1\",\"t\":$_t,\"blob\":\"$_b\",\"w\":640,\"h\":360}" &&
		_t=$((_t + 1)) || return 1
	done
}

# thumbvec IMAGE: a 4x4 grey thumbnail, L2-normalised, as a JSON array: a
# crude global vector, but a real one (pm-embed's are better).
thumbvec() {
	ffmpeg -nostdin -loglevel error -i "$1" -vf scale=4:4,format=gray \
	    -f rawvideo - | od -A n -t u1 -v |
	awk '{ for (i = 1; i <= NF; i++) v[n++] = $i }
	    END { for (i = 0; i < n; i++) s += v[i] * v[i]; s = sqrt(s);
		printf "["; for (i = 0; i < n; i++)
		printf "%s%.6f", i ? "," : "", v[i] / s; printf "]" }'
}

# withemb FILE: each image and frame record of FILE with its thumbvec.
withemb() {
	while read -r _l; do
		case $_l in
		*\"type\":\"image\"*|*\"type\":\"frame\"*)
			_b=$(echo "$_l" | sed "s/.*\"blob\":\"\([0-9a-f]*\)\".*/\1/") &&
			pm-store cat "$_b" >thumb.in &&
			_v=$(thumbvec thumb.in) &&
			echo "$_l" | sed "s/}\$/,\"emb\":$_v,\"emb_method\":\"thumb\"}/" ;;
		*) echo "$_l" ;;
		esac
	done <"$1"
}

# boxerr FILE VIDEO T PRODUCT TRUTH: the largest distance between the
# match's box corners and the truth (8 numbers).
boxerr() {
	jq -r --arg v "$2" --argjson t "$3" --arg p "$4" \
	    'select(.type == "match" and .video == $v and .t == $t and
	    .product == $p) | [.box[][]] | map(tostring) | join(" ")' "$1" |
	awk -v want="$5" '{
		split(want, w, " ")
		for (i = 1; i <= 8; i += 2) {
			d = sqrt(($i - w[i]) ^ 2 + ($(i + 1) - w[i + 1]) ^ 2)
			if (d > m) m = d
		}
		found = 1
	} END { if (!found) { print "none"; exit 1 } printf "%.2f\n", m }'
}

D=$TEST_DATA

test_expect_success 'set up: a catalog of real images, with a look-alike' '
	ffmpeg -nostdin -loglevel error -y -i "$D/box.png" -i "$D/fruits.jpg" \
	    -filter_complex "[1]scale=180:223,setsar=1[r];[0][r]overlay=144:0" \
	    boxlike.png &&
	{
		for p in box:$D/box.png boxlike:boxlike.png fish:$D/HappyFish.jpg \
		    graf:$D/graf1.png logo:$D/LinuxLogo.jpg \
		    butterfly:$D/butterfly.jpg baboon:$D/baboon.jpg; do
			b=$(pm-store put "${p#*:}") &&
			echo "{\"type\":\"image\",\"product\":\"${p%%:*}\",\"blob\":\"$b\"}" ||
			exit 1
		done
	} >images &&
	pm-kp images >catalog &&
	pm-index -o cat.idx catalog >index.out &&
	jq -e -s "map(select(.type == \"index\")) | length == 1 and
	    .[0].n == 7 and .[0].products == 7" index.out
'

test_expect_success 'set up: clips with products where they are known' '
	B=$D/building.jpg F=$D/fruits.jpg &&
	# va: the box at 2, 3, 5 and 6 s, 30% of the frame high, turning
	frame va-01.png $B && frame va-02.png $B &&
	frame va-03.png $B $D/box.png 156 108 10 200 100 &&
	frame va-04.png $B $D/box.png 156 108 12 210 104 &&
	frame va-05.png $B &&
	frame va-06.png $B $D/box.png 156 108 8 230 110 &&
	frame va-07.png $B $D/box.png 156 108 6 240 112 &&
	frame va-08.png $B &&
	# vb: two products at once
	for i in 1 2 3 4; do
		frame vb-0$i.png $F $D/HappyFish.jpg 180 135 -15 $((50 + 4 * i)) 80 \
		    $D/graf1.png 200 160 5 380 $((110 + 3 * i)) || exit 1
	done &&
	# vc: no product, the camera moving over real scenes
	CROP=600:400:0:0 frame vc-01.png $B && CROP=600:400:100:80 frame vc-02.png $B &&
	CROP=600:400:260:190 frame vc-03.png $B && CROP=400:300:0:0 frame vc-04.png $F &&
	CROP=400:300:60:90 frame vc-05.png $F && CROP=480:360:20:60 frame vc-06.png $F &&
	# vd: the look-alike
	for i in 1 2 3; do
		frame vd-0$i.png $B boxlike.png 156 108 $((4 * i)) $((150 + 10 * i)) 120 ||
		exit 1
	done &&
	# ve: a small box, 15% of the frame high
	for i in 1 2 3; do
		frame ve-0$i.png $F $D/box.png 78 54 $((3 * i)) $((300 + 5 * i)) 200 ||
		exit 1
	done &&
	for v in va vb vc vd ve; do clip $v || exit 1; done >frames &&
	g=$(pm-store put "$D/graf3.png") &&
	echo "{\"type\":\"video\",\"id\":\"vg\"}" >>frames &&
	echo "{\"type\":\"frame\",\"video\":\"vg\",\"t\":0,\"blob\":\"$g\",\"w\":800,\"h\":640}" >>frames &&
	pm-kp frames >in &&
	test $(grep -c "\"type\":\"frame\"" in) = 25
'

test_expect_success 'pm-match: every frame and video passes, then its matches' '
	pm-match -i cat.idx in >out &&
	jq -c "select(.type == \"frame\" or .type == \"video\")" in >want &&
	jq -c "select(.type == \"frame\" or .type == \"video\")" out >got &&
	test_cmp want got &&
	jq -e -s "map(select(.type == \"match\")) | length == 19 and
	    all(.[]; (.score > 0 and .score <= 1) and (.inliers >= 6) and
	    (.box | length == 4) and (.H | length == 9) and (.H[8] == 1) and
	    (.frame | test(\"^[0-9a-f]{64}$\")) and
	    (.image | test(\"^[0-9a-f]{64}$\")))" out
'

test_expect_success 'the box is found where it is, near the truth, and only there' '
	jq -c "select(.type == \"match\" and .video == \"va\") | [.t, .product]" \
	    out >got &&
	printf "[2,\"box\"]\n[3,\"box\"]\n[5,\"box\"]\n[6,\"box\"]\n" >want &&
	test_cmp want got &&
	e2=$(boxerr out va 2 box "$(truth 156 108 10 200 100)") &&
	e3=$(boxerr out va 3 box "$(truth 156 108 12 210 104)") &&
	e5=$(boxerr out va 5 box "$(truth 156 108 8 230 110)") &&
	e6=$(boxerr out va 6 box "$(truth 156 108 6 240 112)") &&
	say "box corner errors: $e2 $e3 $e5 $e6 px" &&
	for e in $e2 $e3 $e5 $e6; do
		awk -v e=$e "BEGIN { exit !(e < 3) }" || exit 1
	done
'

test_expect_success 'two products in one frame are both reported' '
	jq -c "select(.type == \"match\" and .video == \"vb\") | [.t, .product]" \
	    out >got &&
	for t in 0 1 2 3; do
		printf "[$t,\"fish\"]\n[$t,\"graf\"]\n" || exit 1
	done >want &&
	test_cmp want got &&
	for i in 1 2 3 4; do
		ef=$(boxerr out vb $((i - 1)) fish "$(truth 180 135 -15 $((50 + 4 * i)) 80)") &&
		eg=$(boxerr out vb $((i - 1)) graf "$(truth 200 160 5 380 $((110 + 3 * i)))") &&
		say "t=$((i - 1)): fish $ef px, graf $eg px" &&
		awk -v a=$ef -v b=$eg "BEGIN { exit !(a < 4 && b < 4) }" || exit 1
	done
'

test_expect_success 'nothing is claimed in product-free frames' '
	jq -e -s "map(select(.video == \"vc\" and (.type == \"match\" or
	    .type == \"appearance\"))) == []" out
'

test_expect_success 'the look-alike is told from the product' '
	jq -c "select(.type == \"match\" and .video == \"vd\") | [.t, .product]" \
	    out >got &&
	printf "[0,\"boxlike\"]\n[1,\"boxlike\"]\n[2,\"boxlike\"]\n" >want &&
	test_cmp want got &&
	jq -e -s "map(select(.type == \"match\" and .product == \"boxlike\" and
	    .video != \"vd\")) == []" out
'

test_expect_success 'a copy in other colours is told from the product' '
	ffmpeg -nostdin -loglevel error -y -i "$D/HappyFish.jpg" \
	    -vf "colorchannelmixer=rr=0:rb=1:bb=0:br=1" fishswap.png &&
	{
		b=$(pm-store put fishswap.png) &&
		echo "{\"type\":\"image\",\"product\":\"fishswap\",\"blob\":\"$b\"}" &&
		grep "\"product\":\"graf\"" images
	} | pm-kp | pm-index -o swap.idx >/dev/null &&
	jq -c "select(.video == \"vb\")" in >vb &&
	pm-match -i swap.idx vb >sw &&
	jq -c "select(.type == \"match\") | [.t, .product]" sw >got &&
	printf "[0,\"graf\"]\n[1,\"graf\"]\n[2,\"graf\"]\n[3,\"graf\"]\n" >want &&
	test_cmp want got &&
	jq -e -s "map(select(.type == \"match\")) | all(.colour > 0.5)" sw &&
	pm-match -C -1 -i swap.idx vb >sw1 &&
	test $(jq -c "select(.type == \"match\" and .product == \"fishswap\")" \
	    sw1 | wc -l) = 4 &&
	pm-match -v -i swap.idx vb 2>trace >/dev/null &&
	grep -q "fishswap:colours disagree" trace
'

test_expect_success 'a small product (54 px high) is found' '
	jq -c "select(.type == \"match\" and .video == \"ve\") | [.t, .product]" \
	    out >got &&
	printf "[0,\"box\"]\n[1,\"box\"]\n[2,\"box\"]\n" >want &&
	test_cmp want got &&
	e=$(boxerr out ve 1 box "$(truth 78 54 6 310 200)") &&
	say "small box corner error $e px" &&
	awk -v e=$e "BEGIN { exit !(e < 3) }"
'

test_expect_success 'graf1 -> graf3: the box within 2 px of H1to3p' '
	h=$(tr -s " \n" "  " <"$D/H1to3p.xml" | sed "s/.*<data>\(.*\)<\/data>.*/\1/") &&
	want=$(echo $h | awk "{
		split(\"-0.5 -0.5 799.5 -0.5 799.5 639.5 -0.5 639.5\", c, \" \")
		for (i = 0; i < 4; i++) {
			x = c[2 * i + 1]; y = c[2 * i + 2]
			w = \$7 * x + \$8 * y + \$9
			printf \"%s%.3f %.3f\", i ? \" \" : \"\",
			    (\$1 * x + \$2 * y + \$3) / w, (\$4 * x + \$5 * y + \$6) / w
		}
	}") &&
	e=$(boxerr out vg 0 graf "$want") &&
	say "graf corner error $e px" &&
	awk -v e=$e "BEGIN { exit !(e < 2) }"
'

test_expect_success 'appearances: merged within the gap, with the best match' '
	jq -c "select(.type == \"appearance\") | [.video, .product, .start, .end, .frames]" \
	    out >got &&
	cat >want <<-\EOF &&
	["va","box",1.5,6.5,4]
	["vb","fish",0,3,4]
	["vb","graf",0,3,4]
	["vd","boxlike",0,2,3]
	["ve","box",0,2,3]
	["vg","graf",0,0,1]
	EOF
	test_cmp want got &&
	box=$(jq -r "select(.type == \"image\" and .product == \"box\") | .blob" \
	    catalog) &&
	top=$(jq -s "map(select(.type == \"match\" and .video == \"va\")) |
	    max_by(.score) | [.t, .score, .box]" out) &&
	jq -e -s --arg box "$box" --argjson top "$top" "map(select(.type ==
	    \"appearance\" and .video == \"va\")) | length == 1 and
	    ([.[0].best.t, .[0].score, .[0].best.box] == \$top) and
	    .[0].best.image == \$box" out &&
	pm-match -g 1.5 -i cat.idx in >out2 &&
	jq -c "select(.type == \"appearance\" and .video == \"va\") |
	    [.start, .end, .frames]" out2 >got &&
	printf "[1.5,3.5,2]\n[4.5,6.5,2]\n" >want &&
	test_cmp want got
'

test_expect_success 'boundaries refined from frames between the sampled ones' '
	# 10 frames a second; the box from 2.3 s to 5.6 s; sampled at 1 fps
	# without repeats
	ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 10 -i "$D/building.jpg" \
	    -loop 1 -framerate 10 -i "$D/box.png" -filter_complex \
	    "[0]scale=640:360,setsar=1[b];[1]scale=156:108,setsar=1[p];[b][p]overlay=200:100:enable=between(t\,2.3\,5.6),format=yuv420p" \
	    -t 8 -c:v mpeg4 -q:v 3 vr.mp4 &&
	v=$(pm-store put vr.mp4) &&
	echo "{\"type\":\"video\",\"id\":\"vr\",\"blob\":\"$v\"}" |
		pm-frames -f 1 | pm-kp >vr &&
	# pm-frames keeps 0, 3 and 6 s: the others repeat the one before
	jq -c "select(.type == \"frame\") | .t" vr | tr "\n" " " >got &&
	printf "0 3 6 " >want && test_cmp want got &&
	pm-match -R 0 -i cat.idx vr >r0 &&
	jq -c "select(.type == \"appearance\") | [.product, .start, .end]" r0 >got &&
	echo "[\"box\",1.5,4.5]" >want &&
	test_cmp want got &&
	pm-match -i cat.idx vr >r8 &&
	jq -r "select(.type == \"appearance\") | \"\\(.start) \\(.end)\"" r8 >got &&
	say "refined: $(cat got) (the box is in the frames from 2.3 s to 5.6 s)" &&
	awk "{ exit !(\$1 > 2.19 && \$1 < 2.31 && \$2 > 5.59 && \$2 < 5.71) }" got &&
	pm-match -j 1 -i cat.idx vr >r1 && test_cmp r8 r1 &&
	# the gap before it is 3 s, searched in 16 frames spread over it
	# (without the sampled one at 3 s: bisected); the one after is
	# followed from the frame at 3 s
	pm-match -v -i cat.idx vr 2>&1 >/dev/null | grep "^vr: box: " >trace &&
	say "$(cat trace)" &&
	grep "^vr: box: start bisected to 2.250$" trace &&
	grep "^vr: box: end tracked to 5.600$" trace &&
	jq -c "select(.type != \"appearance\")" r0 >m0 &&
	jq -c "select(.type != \"appearance\")" r8 >m8 &&
	test_cmp m0 m8
'

test_expect_success 'a weak match just before an appearance is where it starts' '
	# the box faint from 2.3 s, plain from 3.5 s to 5.6 s; every
	# second sampled
	ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 10 -i "$D/building.jpg" \
	    -loop 1 -framerate 10 -i "$D/box.png" -filter_complex \
	    "[0]scale=640:360,setsar=1[b];[1]scale=156:108,setsar=1,format=rgba,split[p][q];[q]colorchannelmixer=aa=0.4[f];[b][f]overlay=200:100:enable=between(t\,2.3\,3.5)[c];[c][p]overlay=200:100:enable=between(t\,3.5\,5.6),format=yuv420p" \
	    -t 8 -c:v mpeg4 -q:v 3 vw.mp4 &&
	v=$(pm-store put vw.mp4) &&
	echo "{\"type\":\"video\",\"id\":\"vw\",\"blob\":\"$v\"}" |
		pm-frames -f 1 -d 0 | pm-kp >vw &&
	pm-match -R 0 -t 0.01 -T 0 -i cat.idx vw >w0 &&
	s3=$(jq "select(.type == \"match\" and .t == 3) | .score" w0) &&
	s4=$(jq "select(.type == \"match\" and .t == 4) | .score" w0) &&
	say "the faint box scores $s3, the plain one $s4" &&
	awk "BEGIN { exit !($s3 > 0.02 && $s3 < $s4) }" &&
	t=$(awk "BEGIN { print $s3 - 0.01 }") &&
	T=$(awk "BEGIN { print ($s3 + $s4) / 2 }") &&
	pm-match -R 0 -t $t -T $T -i cat.idx vw >w1 &&
	jq -c "select(.type == \"appearance\") |
	    [.product, .start, .end, .first, .frames]" w1 >got &&
	echo "[\"box\",2.5,5.5,4,2]" >want &&
	test_cmp want got &&
	test -z "$(jq "select(.type == \"match\" and .t == 3)" w1)"
'

test_expect_success 'refined to the video'"'"'s end, and to where half is out of view' '
	# 10 frames a second, 8 s; the box in view from the start and
	# to the end (vs), or gliding out on the right (vo): half of it is
	# out at 5.8 s
	ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 10 -i "$D/building.jpg" \
	    -loop 1 -framerate 10 -i "$D/box.png" -filter_complex \
	    "[0]scale=640:360,setsar=1[b];[1]scale=156:108,setsar=1[p];[b][p]overlay=200:100,format=yuv420p" \
	    -t 8 -c:v mpeg4 -q:v 3 vs.mp4 &&
	ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 10 -i "$D/building.jpg" \
	    -loop 1 -framerate 10 -i "$D/box.png" -filter_complex \
	    "[0]scale=640:360,setsar=1[b];[1]scale=156:108,setsar=1[p];[b][p]overlay=x=200+62.5*t:y=100,format=yuv420p" \
	    -t 8 -c:v mpeg4 -q:v 3 vo.mp4 &&
	for v in vs vo; do
		b=$(pm-store put $v.mp4) &&
		echo "{\"type\":\"video\",\"id\":\"$v\",\"src\":\"$v.mp4\",\"blob\":\"$b\"}" |
		    pm-fetch | pm-frames -f 1 -d 0 | pm-kp >$v.in || exit 1
	done &&
	pm-match -i cat.idx vs.in >vs.out &&
	jq -r "select(.type == \"appearance\") | \"\(.start) \(.end)\"" vs.out >got &&
	say "in view throughout: $(cat got)" &&
	awk "{ exit !(\$1 == 0 && \$2 > 7.8) }" got &&
	pm-match -i cat.idx vo.in >vo.out &&
	jq -r "select(.type == \"appearance\") | \"\(.start) \(.end) \(.last)\"" vo.out >got &&
	say "gliding out: $(cat got) (half out at 5.8 s)" &&
	awk "{ exit !(NR == 1 && \$1 == 0 && \$2 > 5.6 && \$2 < 6 && \$3 == 5) }" got &&
	jq -e -s "map(select(.type == \"match\" and .t == 6)) |
	    length == 1 and .[0].inside < 0.5" vo.out
'

test_expect_success 'a video that does not decode: said, boundaries kept' '
	b=$(pm-store put "$D/box.png") &&
	sed "1s/\"blob\":\"[0-9a-f]*\"/\"blob\":\"$b\"/" vr >vr-bad &&
	test_expect_code 1 pm-match -i cat.idx vr-bad >got 2>err &&
	grep "pm-match: video vr: boundaries not refined: " err &&
	jq -c "select(.type != \"video\")" got >got2 &&
	jq -c "select(.type != \"video\")" r0 >want &&
	test_cmp want got2
'

test_expect_success 'a video'"'"'s appearances come before the next video' '
	jq -r ".type + \" \" + (.video // .id)" out | uniq >order &&
	grep -n "appearance va" order >a && grep -n "video vb" order >b &&
	test $(cut -d: -f1 a) -lt $(cut -d: -f1 b)
'

test_expect_success 'the same bytes for -j 1 and -j 4' '
	pm-match -j 1 -i cat.idx in >j1 &&
	pm-match -j 4 -i cat.idx in in >j4 &&
	cat out out >out2 &&
	test_cmp j1 out && test_cmp j4 out2
'

test_expect_success 'the index may be given as its blob' '
	blob=$(jq -r "select(.type == \"index\") | .blob" index.out) &&
	pm-match -i "$blob" in >byblob &&
	test_cmp out byblob
'

test_expect_success 'global vectors shortlist too: the union with the vote' '
	withemb catalog >catalog-emb &&
	pm-index -g 0 -o emb.idx catalog-emb >emb.out &&
	jq -e -s "map(select(.type == \"index\")) | .[0].vectors == 7 and
	    .[0].graph" emb.out &&
	grep "\"video\":\"vg\"" in >vg &&
	withemb vg >vg-emb &&
	pm-match -K 0 -N 0 -i emb.idx vg-emb >none &&
	test $(grep -c "\"type\":\"match\"" none) = 0 &&
	pm-match -v -K 0 -N 1 -i emb.idx vg-emb >byvec 2>trace &&
	grep "vec graf:" trace &&
	jq -e -s "map(select(.type == \"match\")) | length == 1 and
	    .[0].product == \"graf\"" byvec &&
	pm-match -x -K 0 -N 1 -i emb.idx vg-emb >exact &&
	test_cmp byvec exact &&
	sed "s/\"emb_method\":\"thumb\"/\"emb_method\":\"other\"/" vg-emb >vg-other &&
	test_expect_code 1 pm-match -i emb.idx vg-other >other 2>err &&
	grep "emb of method other (16 elements), the index has thumb (16): no vector search" err &&
	jq -e -s "map(select(.type == \"match\")) | length == 1" other
'

test_expect_success 'bad frames are rejected with a reason; the rest goes on' '
	f=$(grep "\"video\":\"vb\"" in | head -1) &&
	{
		echo "$f" | sed "s/\"kp\":\"[0-9a-f]*\"/\"kp\":\"$(echo x | sha256sum | cut -c1-64)\"/" &&
		echo "$f" | sed "s/,\"kp\":\"[0-9a-f]*\",\"nkp\":[0-9]*//" &&
		grep "\"video\":\"vb\"" in
	} >bad &&
	test_expect_code 1 pm-match -r rej -i cat.idx bad >got 2>err &&
	grep "pm-match: bad:1: frame vb .*: kp [0-9a-f]*: " err &&
	grep "pm-match: bad:2: frame vb .*: no kp: run pm-kp first" err &&
	test_line_count = 2 rej &&
	test $(jq -c "select(.type == \"match\")" got | wc -l) = 8
'

test_expect_success 'a frame earlier than the one before it is rejected' '
	grep "\"video\":\"va\"" in >va &&
	{ sed -n 4p va && sed -n 3p va && sed -n 5,\$p va; } >back &&
	test_expect_code 1 pm-match -r rej -i cat.idx back >got 2>err &&
	grep "pm-match: back:2: frame va at 2s: frame at 2s comes after the video.s frame at 3s: frames must be in time order" err &&
	sed -n 2p back >want && test_cmp want rej &&
	jq -e -s "map(select(.type == \"appearance\")) |
	    all(.[]; .start <= .end)" got
'

test_expect_success 'keypoints of another kind are rejected' '
	grep "\"video\":\"vb\"" frames | head -1 | pm-kp -d orb >orb &&
	test_expect_code 1 pm-match -i cat.idx orb >got 2>err &&
	grep "keypoints of kind orb, the index has rootsift" err
'

test_expect_success 'a damaged or missing index is a fatal error' '
	cp cat.idx damaged.idx &&
	printf "\377" | dd of=damaged.idx bs=1 seek=3000 conv=notrunc 2>/dev/null &&
	test_expect_code 2 pm-match -i damaged.idx in >got 2>err &&
	grep "pm-match: damaged.idx: index: checksum mismatch (damaged)" err &&
	test_expect_code 2 pm-match -i nonesuch.idx in 2>err &&
	grep "pm-match: nonesuch.idx: No such file or directory" err
'

test_expect_success 'a catalog image whose keypoints are gone: said once, the rest goes on' '
	kp=$(jq -r "select(.type == \"image\" and .product == \"fish\") | .kp" catalog) &&
	path=$(find "$PM_STORE" -type f -name "${kp#??}*") &&
	test -n "$path" && mv "$path" fishkp &&
	{ test_expect_code 1 pm-match -i cat.idx in >got 2>err; s=$?;
	  mv fishkp "$path"; test $s = 0; } &&
	test $(grep -c "product fish: keypoint blob .* missing" err) = 1 &&
	jq -e -s "map(select(.type == \"match\" and .product == \"fish\")) == []" got &&
	test $(jq -c "select(.type == \"match\" and .product == \"graf\")" got | wc -l) = 5
'

test_done
