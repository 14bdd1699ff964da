#!/bin/sh
# pm-index: an index of real catalog images; its file is its blob; the
# same input gives the same bytes for any -j; adding to an index keeps
# its vocabulary; bad records are rejected while the rest goes on.

. "$(dirname "$0")/lib.sh"

# The value of field $2 in the first record of type $1 in file $3.
field() {
	grep "\"type\":\"$1\"" "$3" | head -1 |
	    sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# A real image's 4x4 grey thumbnail, L2-normalised: a 16-element vector
# for the "emb" of a record (a crude global vector, but a real one).
thumbvec() {
	ffmpeg -nostdin -loglevel error -i "$1" -vf scale=4:4,format=gray \
	    -f rawvideo - | od -A n -t u1 -v |
	awk '{ for (i = 1; i <= NF; i++) v[n++] = $i }
	    END { for (i = 0; i < n; i++) s += v[i] * v[i]; s = sqrt(s);
		printf "["; for (i = 0; i < n; i++)
		printf "%s%.6f", i ? "," : "", v[i] / s; printf "]" }'
}

test_expect_success 'set up: catalog images with keypoints' '
	for f in box.png graf1.png HappyFish.jpg baboon.jpg butterfly.jpg \
	    LinuxLogo.jpg; do
		b=$(pm-store put "$TEST_DATA/$f") &&
		printf "{\"type\":\"image\",\"product\":\"%s\",\"src\":\"%s\",\"blob\":\"%s\"}\n" \
		    "${f%.*}" "$f" "$b" || exit 1
	done >images &&
	echo "{\"type\":\"product\",\"id\":\"box\"}" >in &&
	pm-kp images >>in &&
	test_line_count = 7 in
'

test_expect_success 'the index: images pass, one index record, file = blob' '
	pm-index -o cat.idx in >out &&
	test_line_count = 8 out &&
	head -7 out >got && test_cmp in got &&
	tail -1 out >rec &&
	grep "^{\"type\":\"index\",\"blob\":\"[0-9a-f]\{64\}\",\"n\":6,\"dim\":0,\"products\":6,\"kp\":\"rootsift\",\"words\":[0-9]*,\"postings\":[0-9]*,\"vectors\":0,\"graph\":false,\"file\":\"cat.idx\"}$" rec &&
	blob=$(field index blob rec) &&
	pm-store cat "$blob" >fromstore &&
	cmp fromstore cat.idx &&
	test "$(head -c 4 cat.idx)" = PMIX
'

test_expect_success 'the same input gives the same bytes for any -j' '
	pm-index -j 1 -o j1.idx in >out1 &&
	pm-index -j 4 -o j4.idx in >out4 &&
	cmp j1.idx j4.idx && cmp cat.idx j1.idx &&
	sed "s/j4.idx/j1.idx/" out4 >out4s && test_cmp out1 out4s
'

test_expect_success 'a record without kp, or with a missing kp blob, is rejected' '
	b=$(field image blob in) &&
	{
		echo "{\"type\":\"image\",\"product\":\"nokp\",\"blob\":\"$b\"}" &&
		cat in &&
		echo "{\"type\":\"image\",\"product\":\"gone\",\"blob\":\"$b\",\"kp\":\"$(echo gone | sha256sum | cut -c1-64)\"}"
	} >bad &&
	test_expect_code 1 pm-index -r rej -o bad.idx bad >out 2>err &&
	grep "pm-index: bad:1: image.*: no kp: run pm-kp first" err &&
	grep "pm-index: bad:9: image.*: kp [0-9a-f]*: .*" err &&
	test_line_count = 2 rej &&
	grep "\"n\":6," out &&
	cmp bad.idx cat.idx
'

test_expect_success 'keypoints of another kind are rejected' '
	b=$(pm-store put "$TEST_DATA/fruits.jpg") &&
	echo "{\"type\":\"image\",\"product\":\"fruits\",\"blob\":\"$b\"}" |
		pm-kp -d orb >orb &&
	cat in orb >mixed &&
	test_expect_code 1 pm-index mixed >out 2>err &&
	grep "keypoints of kind orb, the index has rootsift" err &&
	grep "\"n\":6," out
'

test_expect_success 'an image listed twice is indexed once' '
	cat in in >twice &&
	pm-index -o twice.idx twice >out &&
	grep "\"n\":6,.*\"duplicates\":6," out &&
	cmp twice.idx cat.idx
'

test_expect_success FFMPEG 'global vectors: inline emb, exact or a graph (-g)' '
	while read -r line; do
		case $line in
		*\"image\"*)
			src=$(echo "$line" | sed "s/.*\"src\":\"\([^\"]*\)\".*/\1/") &&
			v=$(thumbvec "$TEST_DATA/$src") &&
			echo "$line" | sed "s/}\$/,\"emb\":$v,\"emb_method\":\"thumb\"}/" ;;
		*) echo "$line" ;;
		esac
	done <in >emb &&
	pm-index -o emb.idx emb >out &&
	grep "\"dim\":16,.*\"emb_method\":\"thumb\",\"vectors\":6,\"graph\":false" out &&
	pm-index -g 1 -o embg.idx emb >out &&
	grep "\"vectors\":6,\"graph\":true" out &&
	test $(test_size embg.idx) -gt $(test_size emb.idx)
'

test_expect_success FFMPEG 'a vector of zeros (no keypoints) is no vector' '
	z=$(awk "BEGIN { printf \"[\"; for (i = 0; i < 16; i++)
	    printf \"%s0\", i ? \",\" : \"\"; printf \"]\" }") &&
	awk -v z="$z" "/\"image\"/ && !done { sub(/\"emb\":\[[^]]*\]/,
	    \"\\\"emb\\\":\" z); done = 1 } { print }" emb >zero &&
	grep -c "\"emb\":\[0,0," zero &&
	for g in 1 1024; do
		pm-index -g $g -o zero.idx zero >out &&
		grep "\"vectors\":5," out || exit 1
	done
'

test_expect_success FFMPEG 'a vector of another method is rejected' '
	sed "1,3s/\"thumb\"/\"other\"/" emb >mixed &&
	test_expect_code 1 pm-index mixed >out 2>err &&
	grep "emb of method thumb (16 elements), the index has other (16)" err
'

test_expect_success 'adding images (-a) keeps the vocabulary and the entries' '
	b=$(pm-store put "$TEST_DATA/starry_night.jpg") &&
	echo "{\"type\":\"image\",\"product\":\"starry\",\"blob\":\"$b\"}" |
		pm-kp >more &&
	pm-index -a cat.idx -o grown.idx more >out &&
	grep "\"n\":7,\"dim\":0,\"products\":7," out &&
	w0=$(field index words rec) && w1=$(field index words out) &&
	test "$w0" = "$w1" &&
	pm-index -a "$(field index blob rec)" -o grown2.idx more >out2 &&
	cmp grown.idx grown2.idx
'

test_expect_success 'a damaged or foreign index given to -a is refused' '
	cp cat.idx damaged.idx &&
	printf "\377" | dd of=damaged.idx bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	test_expect_code 2 pm-index -a damaged.idx more >out 2>err &&
	grep "pm-index: damaged.idx: index: checksum mismatch (damaged)" err &&
	test_expect_code 2 pm-index -a "$TEST_DATA/box.png" more 2>err &&
	grep "index: bad magic, not a pm index" err &&
	head -c 1000 cat.idx >short.idx &&
	test_expect_code 2 pm-index -a short.idx more 2>err &&
	grep "truncated" err
'

test_expect_success 'nothing to index is an error' '
	echo "{\"type\":\"product\",\"id\":\"x\"}" >none &&
	test_expect_code 2 pm-index none >out 2>err &&
	grep "pm-index: no images to index" err &&
	test_cmp none out
'

test_done
