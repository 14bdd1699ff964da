#!/bin/sh
# pm-evidence: the picture of a real match (box.png in box_in_scene.png,
# graf1.png in graf3.png): its size, the outline where the box is, the
# lines, appearances, bad records, readable file names for hostile ids,
# and the same output for any -j.

. "$(dirname "$0")/lib.sh"

# the value of a string field of the first record of a file
field() {
	sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2" | head -n 1
}

# the pixels along the outline of the box in a picture of width $1 of a
# catalog image $2 x $3 beside a frame $4 x $5, for box "$6" (x,y x4):
# 8 points on each side, as pm-evidence(1) lays the picture out
outline_points() {
	echo "$6" | awk -v W="$1" -v cw="$2" -v ch="$3" -v fw="$4" -v fh="$5" '
	function round(v) { return int(v + 0.5) }
	{
		n = split($0, b, ",")
		sep = int(W / 320); if (sep < 2) sep = 2
		avail = W - sep
		a = cw * fh / ch
		s = avail / (a + fw)
		ph = round(fh * s); catw = round(a * s); frw = avail - catw
		for (k = 0; k < 4; k++) {
			x0 = b[2 * k + 1]; y0 = b[2 * k + 2]
			x1 = b[(2 * k + 2) % 8 + 1]; y1 = b[(2 * k + 3) % 8 + 1]
			for (f = 0.15; f < 0.9; f += 0.1) {
				x = x0 + f * (x1 - x0); y = y0 + f * (y1 - y0)
				printf "%d,%d\n", round(catw + sep + (x + 0.5) * frw / fw - 0.5),
				    round((y + 0.5) * ph / fh - 0.5)
			}
		}
	}'
}

# the same points in the frame itself
frame_points() {
	echo "$1" | awk '
	function round(v) { return int(v + 0.5) }
	{
		split($0, b, ",")
		for (k = 0; k < 4; k++) {
			x0 = b[2 * k + 1]; y0 = b[2 * k + 2]
			x1 = b[(2 * k + 2) % 8 + 1]; y1 = b[(2 * k + 3) % 8 + 1]
			for (f = 0.15; f < 0.9; f += 0.1)
				printf "%d,%d\n", round(x0 + f * (x1 - x0)),
				    round(y0 + f * (y1 - y0))
		}
	}'
}

# how many "r g b" lines are the outline's green
count_green() {
	awk '$2 > 150 && $1 < 80 && $3 < 80 { n++ } END { print n + 0 }'
}

test_expect_success 'a real match of box.png in box_in_scene.png' '
	test-match clip1 12.5 box "$TEST_DATA/box.png" \
		"$TEST_DATA/box_in_scene.png" >match.ndjson &&
	test_line_count = 1 match.ndjson &&
	test-match "street cam" 3.25 graffiti "$TEST_DATA/graf1.png" \
		"$TEST_DATA/graf3.png" >graf.ndjson &&
	sed -n "s/.*\"box\":\[\[\([^]]*\)\],\[\([^]]*\)\],\[\([^]]*\)\],\[\([^]]*\)\]\].*/\1,\2,\3,\4/p" \
		match.ndjson >box &&
	test $(tr , "\n" <box | wc -l) = 8
'

test_expect_success 'pm-evidence adds the picture and keeps every field' '
	pm-evidence <match.ndjson >out.ndjson &&
	test_line_count = 1 out.ndjson &&
	ev=$(field evidence out.ndjson) &&
	pm-store has "$ev" &&
	sed "s/,\"evidence\":\"$ev\"}\$/}/" out.ndjson >back &&
	test_cmp match.ndjson back &&
	pm-store get "$ev" ev.jpg &&
	od -An -tx1 -N3 ev.jpg | tr -d " \n" >magic &&
	echo ffd8ff >want && printf "%s\n" "$(cat magic)" >got &&
	test_cmp want got
'

test_expect_success 'the picture is 1280 pixels wide with the caption below' '
	test-img size ev.jpg >size &&
	read w h <size &&
	test "$w" = 1280 &&
	ph=$(awk "BEGIN { s = 1276 / (324 * 384 / 223 + 512); print int(384 * s + 0.5) }") &&
	test "$h" -gt $((ph + 40)) && test "$h" -lt $((ph + 200)) &&
	test-img count ev.jpg ink 0,$((ph + 4)),1280,$h >band &&
	test $(cat band) -gt $((1280 * (h - ph - 4) * 9 / 10))
'

test_expect_success 'the outline is drawn where the box is' '
	outline_points 1280 324 223 512 384 "$(cat box)" >pts &&
	test_line_count = 32 pts &&
	test-img px ev.jpg $(cat pts) | count_green >n &&
	test $(cat n) -ge 30 &&
	frame_points "$(cat box)" >fpts &&
	test-img px "$TEST_DATA/box_in_scene.png" $(cat fpts) | count_green >n0 &&
	test $(cat n0) = 0
'

test_expect_success 'the outline is nowhere else: the box inside and the corners are not green' '
	ph=$(awk "BEGIN { s = 1276 / (324 * 384 / 223 + 512); print int(384 * s + 0.5) }") &&
	test-img count ev.jpg green 0,0,1280,$ph >all &&
	test $(cat all) -gt 1000 &&
	test-img count ev.jpg green 0,0,560,$ph >left &&
	test $(cat left) -lt 20
'

test_expect_success 'lines are drawn, and -l 0 draws none' '
	test-img count ev.jpg colour 0,0,555,450 >lines &&
	test $(cat lines) -gt 2000 &&
	pm-evidence -l 0 <match.ndjson >out0.ndjson &&
	pm-store get $(field evidence out0.ndjson) ev0.jpg &&
	test-img count ev0.jpg colour 0,0,555,450 >nolines &&
	test $(cat nolines) -lt 20 &&
	test-img px ev0.jpg $(cat pts) | count_green >n &&
	test $(cat n) -ge 30
'

test_expect_success '-w sets the width; the outline follows' '
	pm-evidence -w 640 -l 0 -q 95 <match.ndjson >out640.ndjson &&
	pm-store get $(field evidence out640.ndjson) ev640.jpg &&
	test-img size ev640.jpg >size &&
	read w h <size && test "$w" = 640 &&
	outline_points 640 324 223 512 384 "$(cat box)" >pts640 &&
	test-img px ev640.jpg $(cat pts640) | count_green >n &&
	test $(cat n) -ge 28
'

test_expect_success 'an appearance shows its best match' '
	test-match -a 10.5,17.5 clip1 12.5 box "$TEST_DATA/box.png" \
		"$TEST_DATA/box_in_scene.png" >both.ndjson &&
	sed -n 1p both.ndjson >first && test_cmp match.ndjson first &&
	sed -n 2p both.ndjson >app.ndjson &&
	grep "^{\"type\":\"appearance\".*\"best\":{\"t\":12.5,\"frame\"" app.ndjson &&
	pm-evidence -l 0 <app.ndjson >outa.ndjson &&
	pm-store get $(field evidence outa.ndjson) eva.jpg &&
	test-img px eva.jpg $(cat pts) | count_green >n &&
	test $(cat n) -ge 30 &&
	! cmp eva.jpg ev0.jpg
'

test_expect_success 'keypoint blobs the record names give the same picture' '
	printf "{\"type\":\"image\",\"blob\":\"%s\"}\n{\"type\":\"frame\",\"blob\":\"%s\"}\n" \
		"$(field image match.ndjson)" "$(field frame match.ndjson)" |
		pm-kp >kp.ndjson &&
	ikp=$(sed -n 1p kp.ndjson | sed "s/.*\"kp\":\"\([0-9a-f]*\)\".*/\1/") &&
	fkp=$(sed -n 2p kp.ndjson | sed "s/.*\"kp\":\"\([0-9a-f]*\)\".*/\1/") &&
	pm-store has "$ikp" "$fkp" &&
	echo "$ikp" >ikp && echo "$fkp" >fkp &&
	with_kp="s/,\"box\":/,\"frame_kp\":\"$fkp\",\"image_kp\":\"$ikp\",\"box\":/" &&
	sed "$with_kp" match.ndjson >matchkp.ndjson &&
	grep "\"frame_kp\":\"$fkp\",\"image_kp\":\"$ikp\"" matchkp.ndjson &&
	pm-evidence <matchkp.ndjson >outkp.ndjson &&
	test "$(field evidence outkp.ndjson)" = "$(field evidence out.ndjson)" &&
	sed "$with_kp" app.ndjson >appkp.ndjson &&
	grep "\"best\":{.*\"frame_kp\":\"$fkp\"" appkp.ndjson &&
	pm-evidence <app.ndjson >outa40.ndjson &&
	pm-evidence <appkp.ndjson >outakp.ndjson &&
	test "$(field evidence outakp.ndjson)" = "$(field evidence outa40.ndjson)"
'

test_expect_success 'the keypoint blobs are used: fewer keypoints, fewer lines' '
	printf "{\"type\":\"frame\",\"blob\":\"%s\"}\n" "$(field frame match.ndjson)" |
		pm-kp -n 150 >kp150.ndjson &&
	f150=$(field kp kp150.ndjson) &&
	sed "s/,\"box\":/,\"frame_kp\":\"$f150\",\"box\":/" match.ndjson >m150.ndjson &&
	pm-evidence <m150.ndjson >out150.ndjson &&
	pm-store get $(field evidence out150.ndjson) ev150.jpg &&
	test-img count ev150.jpg colour 0,0,555,450 >lines150 &&
	test $(cat lines150) -gt 100 &&
	test $(cat lines150) -lt $(($(cat lines) * 3 / 4)) &&
	test-img px ev150.jpg $(cat pts) | count_green >n &&
	test $(cat n) -ge 30
'

test_expect_success 'keypoint blobs that are missing or of another image are rejected' '
	ikp=$(cat ikp) fkp=$(cat fkp) &&
	zero=0000000000000000000000000000000000000000000000000000000000000000 &&
	{
		sed "s/,\"box\":/,\"frame_kp\":\"$zero\",\"box\":/" match.ndjson &&
		sed "s/,\"box\":/,\"image_kp\":\"$fkp\",\"box\":/" match.ndjson &&
		sed "s/,\"box\":/,\"frame_kp\":7,\"box\":/" match.ndjson &&
		sed "s/,\"box\":/,\"image_kp\":\"$ikp\",\"box\":/" match.ndjson
	} >badkp.ndjson &&
	test_expect_code 1 pm-evidence -r rejkp <badkp.ndjson >outbk.ndjson 2>err &&
	test_line_count = 1 outbk.ndjson &&
	head -n 3 badkp.ndjson >want && test_cmp want rejkp &&
	cat >want <<-EOF &&
	pm-evidence: <stdin>:1: match clip1 at 12.5s: frame keypoints: blob $zero: not in the store
	pm-evidence: <stdin>:2: match clip1 at 12.5s: catalog image keypoints: of a 512x384 image, not of this 324x223 one
	pm-evidence: <stdin>:3: match clip1 at 12.5s: frame_kp is not a string
	EOF
	test_cmp want err &&
	test_expect_code 1 pm-evidence -l 0 <badkp.ndjson >out0kp.ndjson 2>err &&
	test_line_count = 3 out0kp.ndjson &&
	grep ":3: .*frame_kp is not a string" err && test_line_count = 1 err
'

test_expect_success 'other records pass through unchanged, in order' '
	{
		echo "{\"type\":\"product\",\"id\":\"box\"}" &&
		cat match.ndjson &&
		echo "{\"type\":\"frame\",\"video\":\"clip1\",\"t\":1}"
	} >mixed.ndjson &&
	pm-evidence -l 0 <mixed.ndjson >outm.ndjson &&
	test_line_count = 3 outm.ndjson &&
	sed -n 1p mixed.ndjson >want && sed -n 1p outm.ndjson >got &&
	test_cmp want got &&
	sed -n 3p mixed.ndjson >want && sed -n 3p outm.ndjson >got &&
	test_cmp want got &&
	sed -n 2p outm.ndjson | grep "\"evidence\":\"[0-9a-f]\{64\}\"}$"
'

test_expect_success 'bad records are rejected with a reason; the rest goes on' '
	m=$(cat match.ndjson) &&
	text=$(echo "not a picture" | pm-store put) &&
	head -c 3000 "$TEST_DATA/HappyFish.jpg" >cut.jpg &&
	cut=$(pm-store put cut.jpg) &&
	frame=$(field frame match.ndjson) &&
	zero=0000000000000000000000000000000000000000000000000000000000000000 &&
	{
		echo "$m" | sed "s/\"box\":\[\[[^]]*\],/\"box\":[/" &&
		echo "$m" | sed "s/\"frame\":\"[0-9a-f]*\"/\"frame\":\"$zero\"/" &&
		echo "$m" | sed "s/\"frame\":\"[0-9a-f]*\"/\"frame\":\"$text\"/" &&
		echo "$m" | sed "s/\"image\":\"[0-9a-f]*\"/\"image\":\"$cut\"/" &&
		echo "$m" | sed "s/\"box\":\[\[[^]]*\]/\"box\":[[9000,10]/" &&
		echo "$m" | sed "s/\"box\":\[\[[0-9.]*,/\"box\":[[1e999,/" &&
		echo "$m" | sed "s/\"box\":\[\[[0-9.]*,/\"box\":[[\"x\",/" &&
		echo "$m" | sed "s/\"score\":[0-9.]*/\"score\":1.5/" &&
		echo "$m" | sed "s/\"H\":\[[^]]*\]/\"H\":[1,2]/" &&
		echo "$m" | sed "s/\"frame\":\"[0-9a-f]*\"/\"frame\":\"..\/x\"/" &&
		echo "{\"type\":\"appearance\",\"video\":\"v\",\"product\":\"p\",\"start\":1,\"end\":2,\"score\":0.5,\"best\":{\"t\":1}}" &&
		echo "$m"
	} >bad.ndjson &&
	test_expect_code 1 pm-evidence -l 0 -r rejects <bad.ndjson >outb.ndjson 2>err &&
	test_line_count = 1 outb.ndjson &&
	test_line_count = 11 rejects &&
	head -n 11 bad.ndjson >want && test_cmp want rejects &&
	cat >want <<-EOF &&
	pm-evidence: <stdin>:1: match clip1 at 12.5s: box is not 4 [x, y] points
	pm-evidence: <stdin>:2: match clip1 at 12.5s: frame: blob $zero: not in the store
	pm-evidence: <stdin>:3: match clip1 at 12.5s: frame: not an image: text
	pm-evidence: <stdin>:4: match clip1 at 12.5s: catalog image: truncated JPEG: no end-of-image marker
	pm-evidence: <stdin>:5: match clip1 at 12.5s: box corner 1 (9000, 10) far outside the 512x384 frame
	pm-evidence: <stdin>:6: malformed JSON at column 248: real number overflow near $(printf "\047")1e999$(printf "\047")
	pm-evidence: <stdin>:7: match clip1 at 12.5s: box is not 4 [x, y] points
	pm-evidence: <stdin>:8: match clip1 at 12.5s: score 1.5 is not within 0..1
	pm-evidence: <stdin>:9: match clip1 at 12.5s: H is not 9 numbers
	pm-evidence: <stdin>:10: match clip1 at 12.5s: frame is not a blob name
	pm-evidence: <stdin>:11: appearance v: best: no frame
	EOF
	test_cmp want err
'

test_expect_success 'the same pictures and output for -j 1, 2 and 3' '
	{ cat match.ndjson graf.ndjson app.ndjson match.ndjson graf.ndjson; } >many.ndjson &&
	pm-evidence -j 1 -d d1 <many.ndjson >o1 &&
	pm-evidence -j 2 -d d2 <many.ndjson >o2 &&
	pm-evidence -j 3 -d d3 <many.ndjson >o3 &&
	test_cmp o1 o2 && test_cmp o1 o3 &&
	test_line_count = 5 o1 &&
	diff -r d1 d2 && diff -r d1 d3
'

test_expect_success '-d writes readable names, duplicates numbered in input order' '
	h=$(printf "street cam" | sha256sum | cut -c1-8) &&
	(cd d1 && find . -type f | LC_ALL=C sort) >files &&
	cat >want <<-EOF &&
	./clip1/box@10.500-17.500.jpg
	./clip1/box@12.500+2.jpg
	./clip1/box@12.500.jpg
	./street_cam~$h/graffiti@3.250+2.jpg
	./street_cam~$h/graffiti@3.250.jpg
	EOF
	test_cmp want files &&
	sed -n "s/.*\"evidence_file\":\"\([^\"]*\)\".*/\1/p" o1 >names &&
	cat >want <<-EOF &&
	clip1/box@12.500.jpg
	street_cam~$h/graffiti@3.250.jpg
	clip1/box@10.500-17.500.jpg
	clip1/box@12.500+2.jpg
	street_cam~$h/graffiti@3.250+2.jpg
	EOF
	test_cmp want names &&
	pm-store cat $(field evidence o1) >first.jpg &&
	cmp first.jpg d1/clip1/box@12.500.jpg
'

test_expect_success 'hostile ids cannot leave the directory or share a name' '
	m=$(cat match.ndjson) &&
	long=$(printf "%0200d" 0) &&
	for pair in \
		"../../escape|../x" \
		"a/b|p\\nq" \
		"a_b|.hidden" \
		"a?b|-rf" \
		"clip1|\\\"quoted\\\" \\u0026 <b>" \
		"clip1|$long" \
		"clip1|caf\\u00e9" \
		".|.." \
		"clip1|ok-id_1.2+3" \
		"|" \
		"clip1|p\\u0000q"
	do
		v=${pair%%|*} p=${pair#*|} &&
		mid=${m#*\"t\":} && mid=${mid%%\"product\":*} &&
		end=${m#*\"product\":\"box\"} &&
		printf "{\"type\":\"match\",\"video\":\"%s\",\"t\":%s\"product\":\"%s\"%s\n" \
			"$v" "$mid" "$p" "$end" || exit 1
	done >hostile.ndjson &&
	test_expect_code 1 pm-evidence -l 0 -d ev <hostile.ndjson >outh 2>err &&
	test_line_count = 10 outh &&
	grep "malformed JSON" err &&
	(cd ev && find . -type f) >files &&
	test_line_count = 10 files &&
	! grep -v "^\./[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*/[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*@12\.500\.jpg\$" files &&
	test ! -e ../escape && test ! -e escape && test ! -e x &&
	(cd ev && find . -type d) | LC_ALL=C sort >dirs &&
	test_line_count = 8 dirs &&
	grep "^\./clip1/ok-id_1\.2+3@12\.500\.jpg\$" files &&
	sed -n "s/.*\"evidence_file\":\"\([^\"]*\)\".*/\1/p" outh >names &&
	test_line_count = 10 names &&
	while read -r n; do
		test -f "ev/$n" && test-img size "ev/$n" >/dev/null || exit 1
	done <names
'

test_expect_success 'running again gives the same files' '
	cp -R ev ev.before &&
	test_expect_code 1 pm-evidence -l 0 -d ev <hostile.ndjson >outh2 2>/dev/null &&
	test_cmp outh outh2 &&
	diff -r ev.before ev
'

test_expect_success 'usage and fatal errors exit 2' '
	test_expect_code 2 pm-evidence -w 10 </dev/null &&
	test_expect_code 2 pm-evidence -q 0 </dev/null &&
	test_expect_code 2 pm-evidence -x </dev/null 2>err &&
	grep "^usage: pm-evidence" err &&
	: >file &&
	test_expect_code 2 pm-evidence -d file <match.ndjson 2>err &&
	grep "file: not a directory" err
'

test_done
