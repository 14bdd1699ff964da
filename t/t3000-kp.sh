#!/bin/sh
# pm-kp: keypoint blobs for image and frame records of real images;
# deterministic output; bad input rejected with a reason while the rest
# goes on.

. "$(dirname "$0")/lib.sh"

# The byte at offset $2 of blob $1, as a number.
blob_byte() {
	pm-store cat "$1" | od -A n -t u1 -j "$2" -N 1 | tr -d ' '
}

# The value of field $2 in the first record of type $1 in file $3 (a
# string or number, without quotes), in plain sh.
field() {
	grep "\"type\":\"$1\"" "$3" | head -1 |
	    sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

test_expect_success 'set up: real images in the store' '
	g1=$(pm-store put "$TEST_DATA/graf1.png") &&
	box=$(pm-store put "$TEST_DATA/box.png") &&
	fish=$(pm-store put "$TEST_DATA/HappyFish.jpg") &&
	scene=$(pm-store put "$TEST_DATA/box_in_scene.png") &&
	echo "g1=$g1 box=$box fish=$fish scene=$scene" >vars &&
	cat >in <<-EOF
	{"type":"product","id":"p1","images":["box.png"]}
	{"type":"image","product":"p1","src":"box.png","blob":"$box","w":324,"h":223}
	{"type":"image","product":"p2","src":"HappyFish.jpg","blob":"$fish"}
	{"type":"image","product":"p3","src":"graf1.png","blob":"$g1"}
	{"type":"video","id":"v1","src":"v.mp4"}
	{"type":"frame","video":"v1","t":1.5,"blob":"$scene","w":512,"h":384}
	EOF
'

test_expect_success 'images and frames gain kp and nkp; others pass' '
	. ./vars &&
	pm-kp in >out &&
	test_line_count = 6 out &&
	head -1 in >expect && head -1 out >got && test_cmp expect got &&
	sed -n 5p in >expect && sed -n 5p out >got && test_cmp expect got &&
	test $(grep -c "\"kp\":\"[0-9a-f]\{64\}\",\"nkp\":[0-9]*}$" out) = 4 &&
	grep "\"src\":\"graf1.png\".*\"nkp\":2000}" out &&
	grep "^{\"type\":\"image\",\"product\":\"p1\",\"src\":\"box.png\",\"blob\":\"$box\",\"w\":324,\"h\":223,\"kp\":" out
'

test_expect_success 'a kp blob is a version 1 keypoint blob of the image' '
	kp=$(field frame kp out) &&
	pm-store cat "$kp" >blob &&
	test "$(head -c 4 blob)" = PMKP &&
	test "$(blob_byte "$kp" 4)" = 1 &&
	test "$(blob_byte "$kp" 8)" = 1 &&
	n=$(field frame nkp out) &&
	test $(test_size blob) = $((64 + n * (24 + 128)))
'

test_expect_success 'the same input gives the same output, for any -j' '
	pm-kp -j 1 in >out1 &&
	pm-kp -j 2 in >out2 &&
	pm-kp -j 4 in in in >out3 &&
	test_cmp out out1 && test_cmp out out2 &&
	cat out out out >expect && test_cmp expect out3
'

test_expect_success '-n, -m and -g change what is kept' '
	pm-kp -n 100 in >out100 &&
	test $(grep -c "\"nkp\":100}" out100) = 3 &&
	grep "HappyFish.*\"nkp\":[1-9][0-9]\{0,1\}}" out100 &&
	pm-kp -m 400 -g 4 in >outm &&
	kp=$(field image kp outm) &&
	test "$(pm-store cat "$kp" | od -A n -t u4 -j 28 -N 4 | tr -d " ")" = 324 &&
	kp=$(grep graf1 outm | sed "s/.*\"kp\":\"\([0-9a-f]*\)\".*/\1/") &&
	test "$(pm-store cat "$kp" | od -A n -t u4 -j 28 -N 4 | tr -d " ")" = 400 &&
	test "$(pm-store cat "$kp" | od -A n -t u4 -j 20 -N 4 | tr -d " ")" = 800
'

test_expect_success FFMPEG 'a 1280x720 frame is seen at 960x540' '
	ffmpeg -nostdin -v error -i "$TEST_DATA/box_in_scene.png" \
	    -vf scale=1280:720 big.png &&
	big=$(pm-store put big.png) &&
	echo "{\"type\":\"frame\",\"video\":\"v\",\"t\":0,\"blob\":\"$big\"}" |
	    pm-kp >bigkp &&
	kp=$(field frame kp bigkp) &&
	test "$(pm-store cat "$kp" | od -A n -t u4 -j 20 -N 16 | tr -s " " " ")" = " 1280 720 960 540"
'

test_expect_success '-d selects the detector' '
	pm-kp -d orb in >orb &&
	kp=$(field frame kp orb) &&
	test "$(blob_byte "$kp" 8)" = 2 && test "$(blob_byte "$kp" 12)" = 4 &&
	pm-kp -d akaze in >akaze &&
	kp=$(field frame kp akaze) && test "$(blob_byte "$kp" 8)" = 3 &&
	pm-kp -d sift in >sift &&
	kp=$(field frame kp sift) && test "$(blob_byte "$kp" 12)" = 4 &&
	kp=$(field frame kp out) && test "$(blob_byte "$kp" 12)" = 5
'

test_expect_success '-F border masks product images, never frames' '
	pm-kp -F border in >masked &&
	kp=$(grep HappyFish masked | sed "s/.*\"kp\":\"\([0-9a-f]*\)\".*/\1/") &&
	test "$(blob_byte "$kp" 12)" = 7 &&
	kp=$(field frame kp masked) && test "$(blob_byte "$kp" 12)" = 5 &&
	kp=$(grep graf1 masked | sed "s/.*\"kp\":\"\([0-9a-f]*\)\".*/\1/") &&
	test "$(blob_byte "$kp" 12)" = 5
'

test_expect_success FFMPEG '-c stretch finds the keypoints of a dark frame' '
	ffmpeg -nostdin -v error -i "$TEST_DATA/box_in_scene.png" \
	    -vf "lutyuv=y=val/4" dark.png &&
	dark=$(pm-store put dark.png) &&
	echo "{\"type\":\"frame\",\"video\":\"v\",\"t\":0,\"blob\":\"$dark\"}" >din &&
	pm-kp -n 0 -c none din >dnone && pm-kp -n 0 din >dstretch &&
	pm-kp -n 0 -c clahe din >dclahe &&
	pm-kp -n 0 in >full &&
	n=$(field frame nkp dnone) && s=$(field frame nkp dstretch) &&
	c=$(field frame nkp dclahe) && f=$(field frame nkp full) &&
	echo "none $n stretch $s clahe $c light $f" &&
	test $((4 * n)) -lt "$s" && test $((10 * s)) -gt $((7 * f)) &&
	test "$c" -gt "$n" &&
	test "$(blob_byte "$(field frame kp dnone)" 12)" = 1 &&
	test "$(blob_byte "$(field frame kp dstretch)" 12)" = 5 &&
	test "$(blob_byte "$(field frame kp dclahe)" 12)" = 9 &&
	test_must_fail pm-kp -c magic din 2>err && grep "unknown contrast" err
'

test_expect_success 'bad input: a reason each, rejected, the rest goes on' '
	. ./vars &&
	text=$(printf "<html>not found</html>\n" | pm-store put) &&
	empty=$(pm-store put </dev/null) &&
	half=$(head -c 20000 "$TEST_DATA/box.png" | pm-store put) &&
	tiny=$(printf "P5\n1 1\n255\n\200" | pm-store put) &&
	huge=$(test-bigpng 20000 20000 | pm-store put) &&
	cat >bad <<-EOF
	{"type":"image","product":"a","blob":"$text"}
	{"type":"image","product":"b","blob":"$empty"}
	{"type":"image","product":"c","blob":"$box"}
	{"type":"image","product":"d"}
	{"type":"image","product":"e","blob":"$(echo x | sha256sum | cut -c1-64)"}
	{"type":"frame","video":"f","t":0,"blob":"$half"}
	{"type":"image","product":"g","blob":"$tiny"}
	{"type":"image","product":"h","blob":"$huge"}
	{"type":"image","product":"i","blob":"not a name"}
	EOF
	test_expect_code 1 pm-kp -r rej bad >out 2>err &&
	cat err &&
	test_line_count = 8 err &&
	grep "^pm-kp: bad:1: .*: not an image: HTML, XML or SVG text$" err &&
	grep "^pm-kp: bad:2: .*: empty: 0 bytes$" err &&
	grep "^pm-kp: bad:4: .*: no blob" err &&
	grep "^pm-kp: bad:5: .*: not in the store$" err &&
	grep "^pm-kp: bad:6: .*: truncated PNG" err &&
	grep "^pm-kp: bad:7: .*: image too small for keypoints: 1x1 pixels" err &&
	grep "^pm-kp: bad:8: .*: png image too large: 20000x20000 pixels" err &&
	grep "^pm-kp: bad:9: .*: not a blob name" err &&
	test_line_count = 1 out && grep "\"product\":\"c\".*\"nkp\":" out &&
	grep -v "\"product\":\"c\"" bad >expect && test_cmp expect rej
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 pm-kp -d surf in 2>err &&
	grep "unknown detector: surf" err &&
	test_expect_code 2 pm-kp -F magic in 2>err &&
	grep "unknown mask: magic" err &&
	test_expect_code 2 pm-kp -n -1 in 2>err &&
	test_expect_code 2 pm-kp -x in 2>err && grep "^usage: pm-kp" err
'

test_expect_success JQ 'the man page example counts keypoints' '
	pm-kp in | jq -r "select(.type == \"image\") | \"\(.src) \(.nkp)\"" >got &&
	grep "^graf1.png 2000$" got && test_line_count = 3 got
'

test_done
