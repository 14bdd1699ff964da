#!/bin/sh
# Hostile input, fed to every program: malformed and truncated JSON, huge
# lines, deep nesting, fields of the wrong type, strange ids, blob names
# that reach for other files, missing and damaged blobs, images that are
# not images or are enormous, damaged videos, a store that cannot be
# written or is full, a closed stdout.  Whatever comes, a program exits
# 0, 1 or 2 as its man page says, never dies of a signal, and loses
# nothing: every record reaches stdout or the reject file, with a
# diagnostic at its position (test_nothing_lost).

. "$(dirname "$0")/lib.sh"

# The records of a hostile input are marked "hid":"hN", N counting up
# over the file: add FILE good|bad TEXT appends TEXT with its @ replaced
# by the next mark, and lists the mark in FILE.good or FILE.bad: a good
# record must come out, a bad one must be rejected.
add() {
	_n=$(($(cat "$1.good" "$1.bad" 2>/dev/null | wc -l) + 1))
	printf '%s"hid":"h%d"%s\n' "${3%%@*}" $_n "${3#*@}" >>"$1"
	echo "h$_n" >>"$1.$2"
}

# The bytes of a JSON value nested N deep: arrays, or objects.
deep_arrays() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "[";
	    for (i = 0; i < n; i++) printf "]" }'
}
deep_objects() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "{\"a\":";
	    printf "1"; for (i = 0; i < n; i++) printf "}" }'
}

# json_lines FILE TYPE: what no record loop may take, whatever its
# program: JSON cut short, nested beyond reason, not an object, keys
# twice, numbers beyond a double; then records of TYPE that are fine as
# JSON but carry a huge line or strange strings in fields nobody reads.
# $good must be the fields of a record of TYPE the program takes.
json_lines() {
	add $1 bad "{@,\"type\":\"$2\",\"blob\":"
	add $1 bad "{@,\"type\":\"$2\",\"blob\":\"abc"
	add $1 bad "{@,$good"
	add $1 bad "{@,\"type\":\"$2\",\"x\":$(deep_arrays 100000)}"
	add $1 bad "{@,\"type\":\"$2\",\"x\":$(deep_objects 100000)}"
	add $1 bad "[{@,$good}]"
	add $1 bad "{@,$good,\"hid\":\"again\"}"
	add $1 bad "{@,$good,\"n\":1e999}"
	add $1 bad "{@,$good,\"s\":\"a\\u0000b\"}"
	add $1 bad "{@,$good,\"s\":\"\\ud800\"}"
	add $1 bad "{@,\"type\":{\"$2\":1},$good}"
	add $1 good "{@,$good,\"pad\":\"$(head -c 2097152 /dev/zero | tr '\0' a)\"}"
	add $1 good "{@,$good,\"note\":\"q\\\"uo/te \\\\ new\\nline \\u001b[2J \\u00e9\"}"
	add $1 good "{@,$good,\"x\":$(deep_arrays 500)}"
	add $1 good "{@,\"type\":\"other \\\" / \\\\\",\"blob\":12,\"t\":\"x\"}"
	add $1 good "{@,$good}"
}

# blob_lines FILE TYPE FIELD: records of TYPE whose FIELD names no good
# blob: of the wrong type, reaching for other files, not in the store,
# damaged in it.  $rest must be the record's other fields.
blob_lines() {
	for v in 12345 '["a"]' '{"a":"b"}' null true '""' \
	    '"../../etc/passwd"' '"/etc/passwd"' "\"$img/../$img\"" \
	    "\"$(echo $img | tr a-f A-F)\"" "\"$img\\n\"" "\"${img}0\"" \
	    "\"$missing\"" "\"$damaged\"" "\"$cut\""; do
		add $1 bad "{@,\"type\":\"$2\",$rest\"$3\":$v}"
	done
	add $1 bad "{@,\"type\":\"$2\",$rest\"x\":1}"
}

# image_lines FILE TYPE: records of TYPE whose blob is not a usable image.
image_lines() {
	for b in $text $bigpng $halfjpeg $video $empty $zeros; do
		add $1 bad "{@,\"type\":\"$2\",$rest\"blob\":\"$b\"}"
	done
}

# run_hostile NAME PROG [OPTION ...]: run PROG on NAME with a reject file;
# it must exit 1 (some records rejected) and lose nothing.
run_hostile() {
	_in=$1
	shift
	test_expect_code 1 "$@" -r $_in.rej $_in >$_in.out 2>$_in.err &&
	test_nothing_lost ${1##*/} $_in $_in.out $_in.rej $_in.err
}

test_expect_success 'set up: blobs good, missing, damaged and not images' '
	img=$(pm-store put "$TEST_DATA/HappyFish.jpg") &&
	img2=$(pm-store put "$TEST_DATA/LinuxLogo.jpg") &&
	scene=$(pm-store put "$TEST_DATA/box_in_scene.png") &&
	text=$(echo "not an image" | pm-store put) &&
	test-bigpng 100000 100000 >big.png &&
	bigpng=$(pm-store put big.png) &&
	head -c 4000 "$TEST_DATA/HappyFish.jpg" >half.jpg &&
	halfjpeg=$(pm-store put half.jpg) &&
	video=$(pm-store put "$TEST_DATA/Megamind.avi") &&
	empty=$(pm-store put /dev/null) &&
	head -c 100000 /dev/zero >zeros &&
	zeros=$(pm-store put zeros) &&
	missing=$(echo gone | sha256sum | cut -c1-64) &&
	cp "$TEST_DATA/butterfly.jpg" flipped.jpg &&
	damaged=$(pm-store put flipped.jpg) &&
	f=$(pm-store path $damaged) && chmod u+w "$f" &&
	printf "\377\377\377\377" | dd of="$f" bs=1 seek=20000 conv=notrunc \
	    2>/dev/null &&
	seq 1 100000 >seq &&
	cut=$(pm-store put seq) &&
	f=$(pm-store path $cut) && chmod u+w "$f" &&
	head -c 1000 "$f" >short && cp short "$f" &&
	test_must_fail pm-store cat $damaged >/dev/null &&
	test_must_fail pm-store cat $cut >/dev/null &&
	for v in img img2 scene text bigpng halfjpeg video empty zeros \
	    missing damaged cut; do
		eval "echo $v=\$$v" || exit 1
	done >fx
'
. ./fx

test_expect_success 'pm-kp and pm-embed: hostile image and frame records' '
	good="\"type\":\"image\",\"blob\":\"$img\"" &&
	json_lines kp image &&
	rest= && blob_lines kp image blob &&
	rest="\"video\":\"v\",\"t\":1," && blob_lines kp frame blob &&
	rest= && image_lines kp image &&
	add kp good "{@,\"type\":\"frame\",\"video\":[1],\"t\":\"x\",\"blob\":\"$img2\",\"w\":\"wide\",\"h\":{}}" &&
	add kp good "{@,\"type\":\"image\",\"product\":{\"id\":1},\"src\":7,\"blob\":\"$img2\"}" &&
	run_hostile kp pm-kp -n 300 &&
	cp kp em && cp kp.good em.good && cp kp.bad em.bad &&
	run_hostile em pm-embed &&
	grep "^pm-kp: kp:2: malformed JSON" kp.err &&
	grep "^pm-kp: kp:4: malformed JSON.*depth" kp.err &&
	grep "^pm-kp: kp:[0-9]*: image ../../etc/passwd: ../../etc/passwd: not a blob name" kp.err &&
	grep "^pm-kp: kp:[0-9]*: image $bigpng: png image too large: 100000x100000" kp.err &&
	grep "^pm-kp: kp:[0-9]*: image $damaged: .*damaged" kp.err &&
	grep "^pm-kp: kp:[0-9]*: image $cut: .*truncated" kp.err
'

test_expect_success 'pm-frames: hostile and damaged videos' '
	head -c 300000 "$TEST_DATA/cockatoo.mp4" >cut.mp4 &&
	head -c 6000 "$TEST_DATA/Megamind.avi" >head.avi &&
	head -c 600000 "$TEST_DATA/Megamind.avi" >half.avi &&
	cp "$TEST_DATA/Megamind.avi" noise.avi &&
	dd if=/dev/urandom of=noise.avi bs=1 seek=400000 count=50000 \
	    conv=notrunc 2>/dev/null &&
	head -c 50000 /dev/urandom >random &&
	for f in cut.mp4 head.avi random; do
		b=$(pm-store put $f) &&
		add fr bad "{@,\"type\":\"video\",\"id\":\"$f\",\"blob\":\"$b\"}" ||
		exit 1
	done &&
	for f in half.avi noise.avi; do
		b=$(pm-store put $f) &&
		add fr good "{@,\"type\":\"video\",\"id\":\"$f\",\"blob\":\"$b\"}" ||
		exit 1
	done &&
	for b in $img $text $empty $zeros; do
		add fr bad "{@,\"type\":\"video\",\"id\":\"v\",\"blob\":\"$b\"}" ||
		exit 1
	done &&
	add fr bad "{@,\"type\":\"video\",\"id\":[\"x\"],\"blob\":\"$video\"}" &&
	add fr bad "{@,\"type\":\"video\",\"id\":12,\"blob\":\"$video\"}" &&
	add fr bad "{@,\"type\":\"video\",\"blob\":\"$video\"}" &&
	good="\"type\":\"video\",\"id\":\"a/../../b\\n\\\"c\",\"blob\":\"$video\",\"duration\":\"long\",\"fps\":{},\"w\":-1" &&
	json_lines fr video &&
	rest="\"id\":\"v\"," && blob_lines fr video blob &&
	run_hostile fr pm-frames -f 0.5 &&
	grep "^pm-frames: fr:1: video cut.mp4: " fr.err &&
	grep "^pm-frames: fr:4: video half.avi: .*damaged\|^pm-frames: fr:4: video half.avi: .*truncated" fr.err &&
	grep "\"video\":\"a/../../b\\\\n\\\\\"c\"" fr.out &&
	test $(grep -c "\"type\":\"frame\"" fr.out) -gt 20
'

test_expect_success 'pm-fetch: hostile products and videos' '
	cp "$TEST_DATA/HappyFish.jpg" ok.jpg &&
	mkfifo fifo &&
	for s in "{\"a\":\"b\"}" "[1,null,{}]" "[]" 12 "[\"/etc/passwd\"]" \
	    "[\"$PWD/big.png\"]" "[\"$PWD/half.jpg\"]" "[\"/\"]" \
	    "[\"/dev/zero\"]" "[\"$PWD/fifo\"]" "[\"nosuch.jpg\"]" \
	    "[\"$PWD/zeros\"]" "[\"file:///etc/passwd\"]" \
	    "[\"http://127.0.0.1:1/x.jpg\"]" "[\"\"]"; do
		add fe bad "{@,\"type\":\"product\",\"id\":\"p\",\"images\":$s}" ||
		exit 1
	done &&
	for s in 12 "[\"$PWD/ok.jpg\"]" "\"/dev/zero\"" "\"$PWD/fifo\"" \
	    "\"$PWD/half.jpg\"" "\"$PWD/zeros\"" "\"nosuch.mp4\""; do
		add fe bad "{@,\"type\":\"video\",\"id\":\"v\",\"src\":$s}" ||
		exit 1
	done &&
	add fe bad "{@,\"type\":\"video\",\"id\":\"v\"}" &&
	add fe bad "{@,\"type\":\"product\",\"images\":[\"$PWD/ok.jpg\"]}" &&
	add fe bad "{@,\"type\":\"product\",\"id\":7,\"images\":[\"$PWD/ok.jpg\"]}" &&
	add fe good "{@,\"type\":\"product\",\"id\":\"p\\\"q/r\\ns\",\"images\":[\"$PWD/ok.jpg\",\"nosuch.jpg\"],\"blob\":\"../../etc\"}" &&
	add fe good "{@,\"type\":\"product\",\"id\":\"one\",\"images\":\"$PWD/ok.jpg\"}" &&
	good="\"type\":\"product\",\"id\":\"p\",\"images\":[\"$PWD/ok.jpg\"]" &&
	json_lines fe product &&
	run_hostile fe pm-fetch -m 1M -n 0 -t 5 -c 2 &&
	grep "^pm-fetch: fe:5: product p: /etc/passwd: not an image" fe.err &&
	grep "^pm-fetch: fe:6: product p: .*big.png: larger than the size limit" fe.err &&
	echo "{\"type\":\"product\",\"id\":\"big\",\"images\":[\"$PWD/big.png\"]}" >bigp &&
	test_expect_code 1 pm-fetch bigp >out 2>err &&
	test_line_count = 0 out &&
	grep "^pm-fetch: bigp:1: product big: .*big.png: .*too large: 100000x100000" err &&
	grep "product p\"q/r\\\\ns: nosuch.jpg" fe.err
'

test_expect_success 'set up: a catalog index and a frame of the box' '
	for b in $img $img2 $scene; do
		echo "{\"type\":\"image\",\"product\":\"p$b\",\"blob\":\"$b\"}"
	done | pm-kp -n 300 >cat.kp &&
	pm-index -o cat.idx cat.kp >/dev/null &&
	echo "{\"type\":\"frame\",\"video\":\"v\",\"t\":1,\"blob\":\"$scene\"}" |
	    pm-kp -n 300 >frame.kp &&
	echo "{\"type\":\"frame\",\"video\":\"v\",\"t\":1,\"blob\":\"$scene\"}" |
	    pm-kp -d orb -n 300 >orb.kp &&
	sed -n "s/.*\"kp\":\"\([0-9a-f]*\)\".*/kp=\1/p" frame.kp >>fx &&
	sed -n "s/.*\"kp\":\"\([0-9a-f]*\)\".*/orbkp=\1/p" orb.kp >>fx &&
	pm-match -i cat.idx frame.kp >match.out &&
	grep "\"type\":\"match\"" match.out >matches &&
	grep "\"type\":\"appearance\"" match.out >apps &&
	test_line_count = 1 matches && test_line_count = 1 apps
'
. ./fx

test_expect_success 'pm-index: hostile catalog records' '
	while read -r l; do
		add ix good "$(printf "%s\n" "$l" | sed "s/^{/{@,/")" || exit 1
	done <cat.kp &&
	long=$(head -c 5000 /dev/zero | tr "\0" a) &&
	rest="\"product\":\"k\",\"blob\":\"$img\"," &&
	blob_lines ix image kp &&
	for p in "\"$long\"" 12 "\"\"" "[\"a\"]" null; do
		add ix bad "{@,\"type\":\"image\",\"product\":$p,\"blob\":\"$img\",\"kp\":\"$kp\"}" ||
		exit 1
	done &&
	add ix bad "{@,\"type\":\"image\",\"product\":\"k\",\"blob\":\"$img\",\"kp\":\"$orbkp\"}" &&
	add ix bad "{@,\"type\":\"image\",\"product\":\"k\",\"blob\":\"$img\",\"kp\":\"$img\"}" &&
	add ix bad "{@,\"type\":\"image\",\"product\":\"k\",\"blob\":\"$img\",\"kp\":\"$text\"}" &&
	for e in "{\"a\":1}" "[\"a\"]" "[3,4]" "[]" "\"$text\"" "\"$missing\"" 12; do
		add ix bad "{@,\"type\":\"image\",\"product\":\"k\",\"blob\":\"$img\",\"kp\":\"$kp\",\"emb\":$e,\"emb_method\":\"x\"}" ||
		exit 1
	done &&
	for m in "\"t b\"" "\"\"" 12 "\"$long\""; do
		add ix bad "{@,\"type\":\"image\",\"product\":\"k\",\"blob\":\"$img\",\"kp\":\"$kp\",\"emb\":[0.6,0.8],\"emb_method\":$m}" ||
		exit 1
	done &&
	add ix good "{@,\"type\":\"image\",\"product\":\"<script>\\\"x/../y\\n\",\"blob\":\"$img\",\"kp\":\"$kp\",\"w\":-5,\"h\":1e300}" &&
	good="\"type\":\"image\",\"product\":\"ok\",\"blob\":\"$img\",\"kp\":\"$kp\"" &&
	json_lines ix image &&
	run_hostile ix pm-index -o ix.idx &&
	b=$(sed -n "s/.*\"type\":\"index\",\"blob\":\"\([0-9a-f]*\)\".*/\1/p" ix.out) &&
	pm-store cat $b | cmp - ix.idx
'

test_expect_success 'pm-match: hostile frames' '
	f=$(cat frame.kp) &&
	good="\"type\":\"frame\",\"video\":\"w\",\"t\":1,\"blob\":\"$scene\",\"kp\":\"$kp\"" &&
	rest="\"video\":\"v\",\"t\":1,\"blob\":\"$scene\"," &&
	blob_lines ma frame kp &&
	add ma bad "{@,\"type\":\"frame\",\"video\":\"v\",\"t\":1,\"blob\":\"$scene\",\"kp\":\"$orbkp\"}" &&
	add ma bad "{@,\"type\":\"frame\",\"video\":\"v\",\"t\":1,\"blob\":\"$scene\",\"kp\":\"$text\"}" &&
	for t in "\"1\"" null "[1]"; do
		add ma bad "{@,\"type\":\"frame\",\"video\":\"v\",\"t\":$t,\"blob\":\"$scene\",\"kp\":\"$kp\"}" ||
		exit 1
	done &&
	for v in 12 null "[\"v\"]"; do
		add ma bad "{@,\"type\":\"frame\",\"video\":$v,\"t\":1,\"blob\":\"$scene\",\"kp\":\"$kp\"}" ||
		exit 1
	done &&
	for t in 2 3 3 1e300; do
		add ma good "{@,\"type\":\"frame\",\"video\":\"u\",\"t\":$t,\"blob\":\"$scene\",\"kp\":\"$kp\"}" ||
		exit 1
	done &&
	add ma bad "{@,\"type\":\"frame\",\"video\":\"u\",\"t\":2.5,\"blob\":\"$scene\",\"kp\":\"$kp\"}" &&
	add ma good "{@,\"type\":\"frame\",\"video\":\"w\\n\\\"<b>\",\"t\":-5,\"blob\":\"$text\",\"kp\":\"$kp\",\"emb\":[1]}" &&
	add ma good "{@,\"type\":\"video\",\"id\":\"w\",\"blob\":\"$text\"}" &&
	add ma good "{@,\"type\":\"frame\",\"video\":\"z\",\"t\":1.7e308,\"blob\":\"$scene\",\"kp\":\"$kp\"}" &&
	json_lines ma frame &&
	run_hostile ma pm-match -i cat.idx &&
	grep "^pm-match: ma:[0-9]*: frame u at 2.5s: frame at 2.5s comes after" ma.err &&
	grep "^{\"type\":\"appearance\",\"video\":\"z\",\"product\":\"[^\"]*\",\"start\":1.7e308,\"end\":1.7e308," ma.out &&
	test $(grep -c "\"type\":\"match\"" ma.out) -ge 4
'

test_expect_success 'pm-evidence: hostile matches and appearances, files kept in -d' '
	m=$(cat matches) && a=$(cat apps) &&
	B="\"box\":\[\[[^]]*\],\[[^]]*\],\[[^]]*\],\[[^]]*\]\]" &&
	edit() {
		add ev $1 "$(printf "%s\n" "$m" | sed "s/^{/{@,/; $2")"
	} &&
	edit good "s/\"video\":\"v\"/\"video\":\"..\/..\/..\/evil\"/" &&
	edit good "s/\"video\":\"v\"/\"video\":\"\/tmp\/abs\"/" &&
	edit good "s/\"video\":\"v\"/\"video\":\"-rf\\\\n<b>\"/" &&
	edit good "s/\"video\":\"v\"/\"video\":\".hidden\"/" &&
	edit good "s/\"product\":\"p[0-9a-f]*\"/\"product\":\"..\/..\/pwn\"/" &&
	edit bad "s/$B/\"box\":[[0,0],[1,1],[2,2]]/" &&
	edit bad "s/$B/\"box\":\"x\"/" &&
	edit bad "s/$B/\"box\":[[1e30,0],[1e30,1e30],[0,1e30],[-1e30,-1e30]]/" &&
	edit bad "s/$B/\"box\":[[0,0],[1e308,0],[0,-1e308],[1e308,1e308]]/" &&
	edit bad "s/$B/\"box\":[[\"a\",0],[1,1],[2,2],[3,3]]/" &&
	edit bad "s/\"score\":[0-9.]*/\"score\":\"high\"/" &&
	edit bad "s/\"score\":[0-9.]*/\"score\":-4/" &&
	edit bad "s/\"H\":\[[^]]*\]/\"H\":[1,2,3]/" &&
	edit bad "s/\"t\":1,/\"t\":\"1\",/" &&
	edit bad "s/\"frame\":\"[0-9a-f]*\"/\"frame\":\"..\/..\/etc\/passwd\"/" &&
	edit bad "s/\"frame\":\"[0-9a-f]*\"/\"frame\":\"$missing\"/" &&
	edit bad "s/\"frame\":\"[0-9a-f]*\"/\"frame\":\"$text\"/" &&
	edit bad "s/\"image\":\"[0-9a-f]*\"/\"image\":\"$damaged\"/" &&
	edit bad "s/\"image\":\"[0-9a-f]*\"/\"image\":\"$bigpng\"/" &&
	add ev bad "$(printf "%s\n" "$a" | sed "s/^{/{@,/; s/\"best\":{.*}}/\"best\":\"x\"}/")" &&
	add ev bad "$(printf "%s\n" "$a" | sed "s/^{/{@,/; s/\"best\":{/\"best\":{\"box\":1,/")" &&
	add ev good "$(printf "%s\n" "$a" | sed "s/^{/{@,/; s/\"video\":\"v\"/\"video\":\"..\/..\/esc\"/")" &&
	good=$(printf "%s\n" "$m" | sed "s/^{//; s/}\$//") &&
	json_lines ev match &&
	mkdir -p evd &&
	run_hostile ev pm-evidence -d evd/pics &&
	test -z "$(find . -name "*.jpg" ! -path "./evd/pics/*" | grep -v "^./ok.jpg$\|^./half.jpg$\|^./flipped.jpg$")" &&
	test -z "$(find evd -name ".pm.*")" &&
	test ! -e ../evil && test ! -e ../pwn &&
	test $(find evd/pics -name "*.jpg" | wc -l) -ge 6
'

test_expect_success 'pm-report: hostile records; what it shows is escaped' '
	cat ev.out ma.out | grep -v "\"hid\"" >re.plain &&
	test -s re.plain &&
	add rp good "{@,\"type\":\"product\",\"id\":\"<script>alert(1)</script>\",\"title\":\"\\\"><img src=x onerror=alert(1)>\",\"url\":\"javascript:alert(1)\"}" &&
	add rp good "{@,\"type\":\"video\",\"id\":\"</title><script>\",\"src\":\"javascript:alert(2)\",\"duration\":\"long\"}" &&
	add rp bad "{@,\"type\":\"appearance\",\"video\":\"v\",\"product\":\"<script>\",\"start\":\"x\"}" &&
	good="\"type\":\"product\",\"id\":\"p\"" &&
	json_lines rp product &&
	while read -r l; do
		add rp good "$(printf "%s\n" "$l" | sed "s/^{/{@,/")" || exit 1
	done <re.plain &&
	test_expect_code 1 pm-report -o rep -r rp.rej rp >rp.out 2>rp.err &&
	test_line_count = 0 rp.out &&
	test_nothing_lost pm-report rp - rp.rej rp.err &&
	test -s rep/index.html &&
	! grep "<script\|<img src=x\|href=\"javascript" rep/index.html
'

test_expect_success 'pm-store gc: a hostile record file is refused, nothing removed' '
	b=$(pm-store put seq) &&
	printf "{\"type\":\"x\",\"blob\":\"../../etc/passwd\",\"y\":$(deep_arrays 100000)}\n" >g1 &&
	test_expect_code 2 pm-store gc g1 2>err &&
	grep "nothing removed" err &&
	printf "{\"type\":\"x\",\"blob\":\"%s\"}\n{\"type\":\"x\",\"blob\":\"/etc/passwd\",\"kp\":12,\"d\":{\"e\":[\"../../x\"]}}\n" $img >g2 &&
	pm-store gc -n g2 >out &&
	! grep "etc/passwd" out &&
	pm-store has $img
'

# A store that cannot be written: read-only for anyone but root; for
# root, immutable (chattr +i) where the file system allows it.
unwritable() {
	chmod -R a-w "$1" &&
	if ! ( : >"$1/probe" ) 2>/dev/null; then
		return 0
	fi
	rm -f "$1/probe"
	chmod -R u+w "$1"
	command -v chattr >/dev/null && chattr -R +i "$1" 2>/dev/null &&
	! ( : >"$1/probe" ) 2>/dev/null
}
writable() {
	chattr -R -i "$1" 2>/dev/null
	chmod -R u+w "$1"
}

pm-store -s ro ls >/dev/null && pm-store -s ro put "$TEST_DATA/box.png" >/dev/null &&
	if unwritable ro; then test_set_prereq UNWRITABLE; fi
writable ro 2>/dev/null

test_expect_success UNWRITABLE 'an unwritable store: status 2 with a reason, no signal' '
	b=$(pm-store -s ro put "$TEST_DATA/box.png") &&
	unwritable ro &&
	test_when_finished "writable ro" &&
	echo "{\"type\":\"image\",\"blob\":\"$b\"}" >one &&
	for p in pm-kp pm-embed; do
		test_expect_code 2 $p -s ro one >out 2>err &&
		grep "^$p: store: cannot create ro/" err || exit 1
	done &&
	test_expect_code 1 pm-store -s ro put seq 2>err &&
	grep "^pm-store: seq: cannot create ro/" err &&
	writable ro && pm-store -s ro fsck
'

# A full store: a small tmpfs when mount works (root), else a file size
# limit, which fails writes with EFBIG as a full disk fails them with
# ENOSPC.
test_expect_success 'a store past a file size limit: status 2, no signal, fsck clean' '
	b=$(pm-store -s lim put "$TEST_DATA/Megamind.avi") &&
	echo "{\"type\":\"video\",\"id\":\"m\",\"blob\":\"$b\"}" >vid &&
	(ulimit -f 8 && exec pm-frames -s lim -f 4 vid) >/dev/null 2>err
	test $? = 2 &&
	grep "^pm-frames: store: lim/.*File too large" err &&
	pm-store -s lim fsck
'

mkdir -p small &&
	mount -t tmpfs -o size=400k tmpfs small 2>/dev/null &&
	umount small && test_set_prereq MOUNT

test_expect_success MOUNT 'a full store: status 2 with a reason, fsck clean after' '
	mount -t tmpfs -o size=400k tmpfs small &&
	test_when_finished "umount small" &&
	head -c 300000 "$TEST_DATA/Megamind.avi" >part.avi &&
	v=$(pm-store -s small/s put part.avi) &&
	echo "{\"type\":\"video\",\"id\":\"m\",\"blob\":\"$v\"}" >vid &&
	test_expect_code 2 pm-frames -s small/s -a -q 100 vid >out 2>err &&
	grep "^pm-frames: .*No space left on device" err &&
	pm-store -s small/s fsck
'

test_expect_success 'a closed stdout: status 2, quietly, never a signal' '
	i=0 && while [ $i -lt 20000 ]; do
		echo "{\"type\":\"other\",\"i\":$i}"; i=$((i + 1))
	done >many &&
	for p in pm-fetch pm-frames pm-kp pm-embed pm-index \
	    "pm-match -i cat.idx" pm-evidence; do
		{ $p many 2>err; echo $? >status; } | head -c 10 >/dev/null &&
		test "$(cat status)" = 2 &&
		test_line_count = 0 err || { echo "$p: $(cat status)"; exit 1; }
	done &&
	{ pm-store ls -l 2>err; echo $? >status; } | head -c 1 >/dev/null &&
	{ test "$(cat status)" = 2 || test "$(cat status)" = 0; }
'

test_done
