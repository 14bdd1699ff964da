#!/bin/sh
# pm-embed: global vectors of real images by VLAD, colour and texture,
# and a network the test writes itself, checked against the same
# computation by hand; deterministic output; bad input rejected with a
# reason while the rest goes on; the shipped codebook is what its
# recipe makes.

. "$(dirname "$0")/lib.sh"

# A record per image file, its bytes in the store.
records() {
	for f; do
		printf '{"type":"image","product":"%s","src":"%s","blob":"%s"}\n' \
		    "${f%.*}" "$(basename "$f")" "$(pm-store put "$f")" || return 1
	done
}

# "src v1,v2,..." for each record of file $1 with an inline vector.
vectors() {
	sed -n 's/.*"src":"\([^"]*\)".*"emb":\[\([^]]*\)\].*/\1 \2/p' "$1"
}

# closer VECTORS IMAGE COPY MARGIN: the copy is more similar to the
# image (cosine) than any other image is, by MARGIN at least.
closer() {
	awk -v a="$2" -v b="$3" -v m="$4" '
	{ src[NR] = $1; vec[NR] = $2; if ($1 == a) ia = NR }
	END {
		split(vec[ia], x, ",")
		for (k = 1; k <= NR; k++) {
			n = split(vec[k], y, ",")
			s = 0
			for (i = 1; i <= n; i++)
				s += x[i] * y[i]
			sim[k] = s
			if (src[k] == b)
				sc = s
		}
		for (k = 1; k <= NR; k++)
			if (k != ia && src[k] != b && sim[k] > sc - m) {
				printf "%s: %s is %.3f, the copy %.3f\n", a, src[k], sim[k], sc
				bad = 1
			}
		printf "%s: copy %.3f\n", a, sc
		exit bad
	}' "$1"
}

# The largest difference between the numbers of two lines of vectors.
maxdiff() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, ","); m = split(b, y, ",")
		if (n != m) { print "lengths " n " and " m; exit 1 }
		d = 0
		for (i = 1; i <= n; i++) {
			e = x[i] - y[i]; if (e < 0) e = -e; if (e > d) d = e
		}
		print d
	}'
}

test_expect_success FFMPEG 'set up: real images, and rescaled and recompressed copies' '
	for f in box.png fruits.jpg butterfly.jpg; do
		ffmpeg -loglevel error -i "$TEST_DATA/$f" \
		    -vf "scale=trunc(iw*0.8/2)*2:-2" -q:v 5 "${f%.*}-copy.jpg" ||
		    exit 1
	done &&
	records "$TEST_DATA/box.png" "$TEST_DATA/fruits.jpg" \
	    "$TEST_DATA/butterfly.jpg" "$TEST_DATA/building.jpg" \
	    "$TEST_DATA/HappyFish.jpg" "$TEST_DATA/baboon.jpg" \
	    "$TEST_DATA/leuvenA.jpg" "$TEST_DATA/graf1.png" \
	    box-copy.jpg fruits-copy.jpg butterfly-copy.jpg >in &&
	test_line_count = 11 in
'
test -s in && test_set_prereq IMAGES

test_expect_success IMAGES 'vlad: every image gains emb, a vector blob of 4096 reals' '
	pm-embed in >out &&
	test_line_count = 11 out &&
	test $(grep -c "\"emb\":\"[0-9a-f]\{64\}\",\"emb_method\":\"vlad\"}$" out) = 11 &&
	emb=$(head -1 out | sed "s/.*\"emb\":\"\([0-9a-f]*\)\".*/\1/") &&
	pm-store cat "$emb" >blob &&
	test "$(head -c 4 blob)" = PMVC &&
	test $(test_size blob) = $((32 + 4 * 4096)) &&
	test "$(od -A n -c -j 16 -N 4 blob | tr -d " ")" = vlad
'

test_expect_success IMAGES 'vlad: the same image twice gives the same blob; any -j, the same output' '
	head -1 in >twice && head -1 in >>twice &&
	pm-embed -j 2 twice >out2 &&
	test_line_count = 2 out2 && test $(sort -u out2 | wc -l) = 1 &&
	pm-embed -j 1 in >out1 && pm-embed -j 4 in >out4 &&
	test_cmp out out1 && test_cmp out out4
'

test_expect_success IMAGES 'vlad: a copy is much closer than another real image' '
	pm-embed -i in >inline &&
	vectors inline >vec &&
	test_line_count = 11 vec &&
	closer vec box.png box-copy.jpg 0.2 &&
	closer vec fruits.jpg fruits-copy.jpg 0.2 &&
	closer vec butterfly.jpg butterfly-copy.jpg 0.2
'

test_expect_success IMAGES 'vlad: the inline vector is the blob'"'"'s, rounded' '
	emb=$(head -1 out | sed "s/.*\"emb\":\"\([0-9a-f]*\)\".*/\1/") &&
	pm-store cat "$emb" | od -A n -t f4 -j 32 -v | tr -s " \n" "\n\n" |
	    sed "/^$/d" | paste -s -d, - >fromblob &&
	head -1 vec | cut -d" " -f2 >frominline &&
	d=$(maxdiff "$(cat fromblob)" "$(cat frominline)") &&
	echo "difference $d" &&
	awk -v d="$d" "BEGIN { exit !(d < 1e-6) }"
'

test_expect_success IMAGES 'vlad: keypoints from pm-kp give the same vectors' '
	pm-kp in | pm-embed >withkp &&
	grep -c "\"kp\":" withkp >n && test $(cat n) = 11 &&
	sed "s/,\"kp\":\"[0-9a-f]*\",\"nkp\":[0-9]*//" withkp >stripped &&
	test_cmp out stripped &&
	pm-kp -d orb in | pm-embed | sed "s/,\"kp\":\"[0-9a-f]*\",\"nkp\":[0-9]*//" >fromorb &&
	test_cmp out fromorb
'

test_expect_success IMAGES 'colour: 680 reals; a copy is much closer than another real image' '
	pm-embed -e colour -j 1 in >col1 &&
	pm-embed -e colour -j 4 in >col4 &&
	test_cmp col1 col4 &&
	test $(grep -c "\"emb_method\":\"colour\"}$" col1) = 11 &&
	pm-embed -e colour -i in >colinline &&
	vectors colinline >cvec &&
	test $(head -1 cvec | cut -d" " -f2 | tr , "\n" | wc -l) = 680 &&
	closer cvec box.png box-copy.jpg 0.15 &&
	closer cvec fruits.jpg fruits-copy.jpg 0.15 &&
	closer cvec butterfly.jpg butterfly-copy.jpg 0.15
'

# A network of one 3x3 convolution of 4 filters over RGB (biases and
# weights multiples of 1/8, by formula), leaky ReLU, global average
# pooling, as Darknet's .cfg and .weights; and a 16x16 PPM image.
test_expect_success 'set up: a tiny Darknet network, its weights, an image' '
	cat >net.cfg <<-\EOF &&
	[net]
	width=16
	height=16
	channels=3

	[convolutional]
	filters=4
	size=3
	stride=1
	pad=1
	activation=leaky

	[avgpool]
	EOF
	head -12 net.cfg >map.cfg &&
	awk "
	function f32(v,   s, e, bits, i) {
		if (v == 0) { printf \"%c%c%c%c\", 0, 0, 0, 0; return }
		s = 0
		if (v < 0) { s = 1; v = -v }
		e = 0
		while (v >= 2) { v /= 2; e++ }
		while (v < 1) { v *= 2; e-- }
		bits = s * 2147483648 + (e + 127) * 8388608 + (v - 1) * 8388608
		for (i = 0; i < 4; i++) {
			printf \"%c\", bits % 256
			bits = int(bits / 256)
		}
	}
	BEGIN {
		# major 0, minor 2, revision 0, seen (64 bits) 0
		printf \"%c%c%c%c\", 0, 0, 0, 0
		printf \"%c%c%c%c\", 2, 0, 0, 0
		for (i = 0; i < 12; i++) printf \"%c\", 0
		for (f = 0; f < 4; f++) f32((f - 1.5) / 2)
		for (f = 0; f < 4; f++) for (c = 0; c < 3; c++) for (i = 0; i < 9; i++)
			f32(((f * 27 + c * 9 + i) * 5 % 11 - 5) / 8)
	}" >net.weights &&
	test $(test_size net.weights) = $((20 + 4 * 4 + 4 * 4 * 27)) &&
	awk "BEGIN {
		print \"P3\"; print \"16 16\"; print 255
		for (y = 0; y < 16; y++) for (x = 0; x < 16; x++)
			print (x * 31 + y * 17) % 256, (x * x * 7 + y * 13 + 40) % 256,
			    (4095 - x * y * 3) % 256
	}" >img.ppm &&
	awk "BEGIN {
		print \"P3\"; print \"32 16\"; print 255
		for (y = 0; y < 16; y++) for (x = 0; x < 32; x++)
			print (x * 31 + y * 17) % 256, (x * x * 7 + y * 13 + 40) % 256,
			    (4095 - x * y * 3) % 256
	}" >wide.ppm &&
	printf "{\"type\":\"image\",\"src\":\"img.ppm\",\"blob\":\"%s\"}\n" \
	    "$(pm-store put img.ppm)" >net.in &&
	printf "{\"type\":\"image\",\"src\":\"wide.ppm\",\"blob\":\"%s\"}\n" \
	    "$(pm-store put wide.ppm)" >wide.in &&
	cat >hand.awk <<-\EOF
	# The network by hand, in doubles: the input is (pixel * scale -
	# mean) / std per channel in the order asked for, a 3x3 convolution
	# with zero padding, leaky ReLU (slope 0.1) unless act=0, then the
	# average, the maximum or the generalised mean (exponent p) of each
	# map, to unit length.  The input is the n x n pixels from x0,y0 of
	# an image w pixels wide.
	BEGIN {
		if (!n) n = 16
		if (!w) w = 16
		split(means, mean, ","); split(stds, sd, ",")
	}
	NR > 3 {
		i = NR - 4; x = i % w - x0; y = int(i / w) - y0
		if (x < 0 || y < 0 || x >= n || y >= n)
			next
		for (c = 0; c < 3; c++) {
			k = order == "bgr" ? 3 - c : c + 1
			in_[c, x, y] = ($k * scale - mean[c + 1]) / sd[c + 1]
		}
	}
	END {
		for (f = 0; f < 4; f++) {
			s = 0
			for (y = 0; y < n; y++) for (x = 0; x < n; x++) {
				v = (f - 1.5) / 2
				for (c = 0; c < 3; c++) for (ky = 0; ky < 3; ky++)
				for (kx = 0; kx < 3; kx++) {
					xx = x + kx - 1; yy = y + ky - 1
					if (xx < 0 || yy < 0 || xx >= n || yy >= n)
						continue
					v += ((f * 27 + c * 9 + ky * 3 + kx) * 5 % 11 - 5) / 8 * \
					    in_[c, xx, yy]
				}
				if (act && v < 0)
					v *= 0.1
				if (pool == "max") {
					if ((x == 0 && y == 0) || v > s)
						s = v
				} else if (pool == "gem")
					s += (v > 1e-6 ? v : 1e-6) ^ p
				else
					s += v
			}
			o[f] = pool == "max" ? s : pool == "gem" ? (s / (n * n)) ^ (1 / p) : \
			    s / (n * n)
			nn += o[f] * o[f]
		}
		for (f = 0; f < 4; f++)
			printf "%s%.9f", f ? "," : "", o[f] / sqrt(nn)
		print ""
	}
	EOF
'

# dnn_check [-w] WANT-AWK-VARS -- PM-EMBED-OPTIONS: the vector pm-embed
# computes of img.ppm (of wide.ppm with -w) equals the hand computation
# within 2e-6.
dnn_check() {
	img=img in=net vars=
	if [ "$1" = -w ]; then
		img=wide in=wide
		shift
	fi
	while [ "$1" != -- ]; do
		vars="$vars -v $1"
		shift
	done
	shift
	want=$(awk $vars -f hand.awk $img.ppm) &&
	pm-embed -i -S 16 "$@" $in.in >net.out &&
	got=$(vectors net.out | cut -d" " -f2) &&
	d=$(maxdiff "$want" "$got") &&
	echo "want $want got $got: $d" &&
	awk -v d="$d" "BEGIN { exit !(d < 2e-6) }"
}

test_expect_success 'dnn: a Darknet network, its vector as by hand' '
	dnn_check scale=0.5 means=10,20,30 stds=2,4,8 act=1 pool=avg -- \
	    -m net.weights -c net.cfg -x 0.5 -M 10,20,30 -d 2,4,8 &&
	grep "\"emb_method\":\"dnn\"}$" net.out &&
	dnn_check scale=0.00392156862745098 means=0,0,0 stds=1,1,1 act=1 pool=avg -- \
	    -m net.weights -c net.cfg
'

test_expect_success 'dnn: channel order, one mean for all, an inner layer' '
	dnn_check order=bgr scale=1 means=100,100,100 stds=64,64,64 act=1 pool=avg -- \
	    -m net.weights -c net.cfg -C bgr -x 1 -M 100 -d 64 &&
	dnn_check scale=0.5 means=10,20,30 stds=2,4,8 act=0 pool=avg -- \
	    -m net.weights -c net.cfg -x 0.5 -M 10,20,30 -d 2,4,8 -l conv_0
'

test_expect_success 'dnn: the centre of an image cut out' '
	dnn_check -w w=32 x0=8 scale=0.5 means=10,20,30 stds=2,4,8 act=1 pool=avg -- \
	    -m net.weights -c net.cfg -x 0.5 -M 10,20,30 -d 2,4,8 -f crop &&
	dnn_check -w w=32 n=8 x0=12 y0=4 scale=0.5 means=10,20,30 stds=2,4,8 act=1 \
	    pool=avg -- -m net.weights -c net.cfg -x 0.5 -M 10,20,30 -d 2,4,8 \
	    -S 8 -f crop=16
'

test_expect_success 'dnn: a feature map pooled by average, maximum and GeM' '
	dnn_check scale=0.5 means=10,20,30 stds=2,4,8 act=1 pool=avg -- \
	    -m net.weights -c map.cfg -x 0.5 -M 10,20,30 -d 2,4,8 &&
	dnn_check scale=0.5 means=10,20,30 stds=2,4,8 act=1 pool=max -- \
	    -m net.weights -c map.cfg -x 0.5 -M 10,20,30 -d 2,4,8 -p max &&
	dnn_check scale=0.5 means=10,20,30 stds=2,4,8 act=1 pool=gem p=3 -- \
	    -m net.weights -c map.cfg -x 0.5 -M 10,20,30 -d 2,4,8 -p gem &&
	dnn_check scale=0.5 means=10,20,30 stds=2,4,8 act=1 pool=gem p=2.5 -- \
	    -m net.weights -c map.cfg -x 0.5 -M 10,20,30 -d 2,4,8 -p gem=2.5 &&
	pm-embed -i -S 16 -m net.weights -c map.cfg -p none net.in >flat &&
	test $(vectors flat | cut -d" " -f2 | tr , "\n" | wc -l) = $((4 * 16 * 16))
'

test_expect_success IMAGES 'dnn: real images of any size, blobs, any -j' '
	pm-embed -m net.weights -c net.cfg -S 64x48 -f crop -j 1 in >dnn1 &&
	pm-embed -m net.weights -c net.cfg -S 64x48 -f crop -j 4 in >dnn4 &&
	test_cmp dnn1 dnn4 &&
	test $(grep -c "\"emb\":\"[0-9a-f]\{64\}\",\"emb_method\":\"dnn\"}$" dnn1) = 11
'

test_expect_success 'dnn: a model that does not load is a fatal error, before any record' '
	test_expect_code 2 pm-embed -m nosuch.onnx net.in >out 2>err &&
	test_line_count = 0 out && grep "nosuch.onnx: No such file" err &&
	head -c 3000 "$TEST_DATA/baboon.jpg" >bad.onnx &&
	test_expect_code 2 pm-embed -m bad.onnx net.in >out 2>err &&
	test_line_count = 0 out && grep "^pm-embed: bad.onnx: opencv: .*ONNX" err &&
	sed "s/avgpool/bogus/" net.cfg >bad.cfg &&
	test_expect_code 2 pm-embed -m net.weights -c bad.cfg net.in 2>err &&
	grep "net.weights, bad.cfg: opencv: .*bogus" err &&
	test_expect_code 2 pm-embed -S 16 -m net.weights -c net.cfg -l nosuch net.in 2>err &&
	grep "no layer named nosuch; the last are: conv_0, leaky_1, avgpool_1" err
'

test_expect_success 'bad input: each record rejected with its reason, the rest goes on' '
	good=$(pm-store put "$TEST_DATA/HappyFish.jpg") &&
	text=$(echo "not an image" | pm-store put) &&
	empty=$(pm-store put </dev/null) &&
	printf "P3\n1 1\n255\n0 0 0\n" >one.ppm &&
	one=$(pm-store put one.ppm) &&
	test-bigpng 20000 20000 >big.png &&
	big=$(pm-store put big.png) &&
	missing=$(echo gone | sha256sum | cut -c1-64) &&
	cat >bad.in <<-EOF &&
	{"type":"image","product":"good","blob":"$good"}
	{"type":"image","product":"text","blob":"$text"}
	{"type":"image","product":"empty","blob":"$empty"}
	{"type":"product","id":"p1"}
	{"type":"image","product":"one","blob":"$one"}
	{"type":"frame","video":"v","t":2,"blob":"$big"}
	{"type":"image","product":"missing","blob":"$missing"}
	{"type":"image","product":"noblob"}
	{"type":"image","product":"badkp","blob":"$good","kp":"$good"}
	{"type":"frame","video":"v","t":3,"blob":"$good"}
	EOF
	for m in vlad colour "dnn -m net.weights -c net.cfg"; do
		case $m in vlad) n=7 ;; *) n=6 ;; esac
		test_expect_code 1 pm-embed -e $m -r rej bad.in >out 2>err &&
		cat err &&
		test_line_count = $((10 - n)) out &&
		grep "\"product\":\"good\".*\"emb\":" out &&
		grep "^{\"type\":\"product\",\"id\":\"p1\"}$" out &&
		grep "\"t\":3,.*\"emb\":" out &&
		test_line_count = $n rej &&
		test_line_count = $n err &&
		grep "bad.in:2: image of text: .*not an image" err &&
		grep "bad.in:3: image of empty: .*empty" err &&
		grep "bad.in:5: image of one: .*1x1" err &&
		grep "bad.in:6: frame v at 2s: .*too large: 20000x20000" err &&
		grep "bad.in:7: image of missing: .*$missing" err &&
		grep "bad.in:8: image of noblob: no blob" err || exit 1
		if [ "$m" = vlad ]; then
			grep "bad.in:9: image of badkp: kp: not a keypoint blob: bad magic" err ||
			    exit 1
		fi
	done
'

test_expect_success JQ,IMAGES 'pm-embed(1): the cosine of two images with jq' '
	head -2 in >two &&
	pm-embed -e colour -i two | jq -s "[.[] | .emb] |
	    [.[0], .[1]] | transpose | map(.[0] * .[1]) | add" >cos &&
	sed -n 1,2p cvec >first2 &&
	awk -v c="$(cat cos)" "{ n = split(\$2, v, \",\"); for (i = 1; i <= n; i++)
	    if (NR == 1) a[i] = v[i]; else s += a[i] * v[i] }
	    END { d = s - c; exit !(d < 1e-9 && d > -1e-9 && c > 0 && c < 1) }" first2
'

test_expect_success 'a catalog and a video through pm-fetch, pm-frames, pm-kp and pm-embed' '
	printf "{\"type\":\"product\",\"id\":\"p1\",\"images\":[\"%s\",\"%s\"]}\n" \
	    "$TEST_DATA/box.png" "$TEST_DATA/fruits.jpg" >pipe.in &&
	printf "{\"type\":\"video\",\"id\":\"v1\",\"src\":\"%s\"}\n" \
	    "$TEST_DATA/Megamind.avi" >>pipe.in &&
	pm-fetch pipe.in | pm-frames -j 1 | pm-kp -j 1 | pm-embed -j 1 >pipe1 &&
	pm-fetch pipe.in | pm-frames -j 2 | pm-kp -j 2 | pm-embed -j 2 >pipe2 &&
	test_cmp pipe1 pipe2 &&
	test $(grep -c "\"type\":\"image\".*\"kp\":.*\"emb\":\"[0-9a-f]\{64\}\",\"emb_method\":\"vlad\"}$" pipe1) = 2 &&
	test $(grep -c "\"type\":\"frame\"" pipe1) -ge 2 &&
	test $(grep -c "\"type\":\"frame\".*\"emb_method\":\"vlad\"}$" pipe1) = \
	    $(grep -c "\"type\":\"frame\"" pipe1)
'

test_expect_success 'usage errors' '
	test_expect_code 2 pm-embed -e nosuch </dev/null 2>err &&
	grep "unknown method: nosuch" err &&
	test_expect_code 2 pm-embed -e colour -m net.weights </dev/null 2>err &&
	test_expect_code 2 pm-embed -e dnn </dev/null 2>err &&
	test_expect_code 2 pm-embed -S 16 </dev/null 2>err &&
	grep "options of -m" err &&
	test_expect_code 2 pm-embed -t cb -e colour </dev/null 2>err &&
	test_expect_code 2 pm-embed -K 8 </dev/null 2>err &&
	grep "option of -t" err &&
	test_expect_code 2 pm-embed -e colour -k cb </dev/null 2>err &&
	grep "option of -e vlad" err &&
	test_expect_code 2 pm-embed -m net.weights -M 1,2 </dev/null 2>err &&
	grep "one number or three" err &&
	test_expect_code 2 pm-embed -k nosuch.cb </dev/null 2>err &&
	grep "nosuch.cb: No such file" err &&
	test_expect_code 2 pm-embed -k "$TEST_DATA/box.png" </dev/null 2>err &&
	grep "box.png: codebook: bad magic" err
'

test_expect_success 'the shipped codebook is what its recipe in pm-embed(1) makes' '
	(
		cd "$TEST_DATA" &&
		for f in baboon.jpg box_in_scene.png building.jpg \
		    butterfly.jpg graf1.png graf3.png HappyFish.jpg \
		    leuvenA.jpg LinuxLogo.jpg opencv-logo.png; do
			printf "{\"type\":\"image\",\"src\":\"%s\",\"blob\":\"%s\"}\n" \
			    "$f" "$(pm-store put "$f")"
		done
	) >train.in &&
	pm-embed -t vlad.cb train.in >train.out &&
	test_cmp train.in train.out &&
	cmp vlad.cb "$PM_ROOT/share/pm/vlad.cb" &&
	pm-embed -j 1 -t vlad1.cb train.in >/dev/null &&
	cmp vlad.cb vlad1.cb
'

test_expect_success 'a codebook trained with -t serves -k, from a file or the store' '
	pm-embed -t small.cb -K 8 train.in >/dev/null &&
	test $(test_size small.cb) = $((32 + 8 * 128 * 4)) &&
	pm-embed -k small.cb -i net.in >small.out &&
	test $(vectors small.out | cut -d" " -f2 | tr , "\n" | wc -l) = 1024 &&
	name=$(pm-store put small.cb) &&
	pm-embed -k "$name" -i net.in >small2.out &&
	test_cmp small.out small2.out &&
	test_expect_code 2 pm-embed -t tiny.cb -K 4000 net.in >/dev/null 2>err &&
	grep "tiny.cb: codebook: 0 descriptors to train 4000 centres on, .* (0 descriptors of 1 images)" err
'

test_done
