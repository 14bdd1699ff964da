#!/bin/sh
# pm-fetch: local files; HTTP with retries, timeouts and cut bodies
# against a real server on 127.0.0.1 that this script starts; checks;
# yt-dlp when it is installed.

. "$(dirname "$0")/lib.sh"

test_have_prereq JQ || test_skip_all "jq is not installed"
command -v yt-dlp >/dev/null 2>&1 && test_set_prereq YTDLP

# The server lives as long as the script, and dies with it.
HTTPD_PID=
stop_httpd () {
	if test -n "$HTTPD_PID"; then
		kill "$HTTPD_PID" 2>/dev/null
		wait "$HTTPD_PID" 2>/dev/null
		HTTPD_PID=
	fi
}
trap 'stop_httpd' EXIT
trap 'stop_httpd; exit 1' HUP INT TERM

# Downloads go through TMPDIR; the last test checks nothing is left.
mkdir www tmp
TMPDIR=$PWD/tmp
export TMPDIR
if test_have_prereq PYTHON3; then
	python3 "$TEST_DIRECTORY/httpd.py" www httpd.port httpd.log \
	    >httpd.err 2>&1 &
	HTTPD_PID=$!
	i=0
	while ! test -s httpd.port && test $i -lt 100; do
		sleep 0.1
		i=$((i + 1))
	done
	if test -s httpd.port; then
		PORT=$(cat httpd.port)
		URL=http://127.0.0.1:$PORT
		test_set_prereq HTTPD
	else
		say "the HTTP server did not start: $(cat httpd.err)"
	fi
fi

# requests PATH: how many requests the server logged for PATH.
requests () {
	grep -c -x "GET $1" httpd.log || :
}

# blob_of FILE: the blob name of FILE's bytes.
blob_of () {
	sha256sum "$1" | cut -d' ' -f1
}

# field FILE TYPE KEY: KEY of the records of TYPE in FILE, one a line.
field () {
	jq -r --arg t "$2" "select(.type == \$t) | .$3" "$1"
}

# elapsed_below START SECONDS: less than SECONDS have passed since START.
elapsed_below () {
	test "$(($(date +%s) - $1))" -lt "$2"
}

test_must_be_empty () {
	if test -s "$1"; then
		echo "$1 is not empty:" >&2
		cat "$1" >&2
		return 1
	fi
}

test_expect_success 'setup: media' '
	cp "$TEST_DATA/box.png" "$TEST_DATA/HappyFish.jpg" \
	    "$TEST_DATA/LinuxLogo.jpg" www/ &&
	printf "this is not an image\n" > www/note.txt
'

test_expect_success FFMPEG 'setup: a short video' '
	ffmpeg -nostdin -v error -f lavfi -i testsrc=size=160x120:rate=10 \
	    -t 2 -pix_fmt yuv420p -c:v mpeg4 www/clip.mp4 &&
	ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=128x96:rate=25 \
	    -t 1 -pix_fmt yuv420p -c:v mpeg4 www/clip2.mp4 &&
	printf "<!DOCTYPE html>\n<html><head><title>Clip</title></head><body>\n<video src=\"/f/clip.mp4\" controls></video>\n</body></html>\n" > www/page.html &&
	printf "<!DOCTYPE html>\n<html><head><title>Two</title></head><body>\n<video src=\"/f/clip.mp4\"></video>\n<video src=\"/f/clip2.mp4\"></video>\n</body></html>\n" > www/two.html
'

test_expect_success 'a local path is stored byte for byte' '
	printf "{\"type\":\"product\",\"id\":\"p1\",\"images\":[\"%s\"]}\n" \
	    "$PWD/www/box.png" > in &&
	pm-fetch < in > out &&
	head -n 1 in > expect && head -n 1 out > actual &&
	test_cmp expect actual &&
	test "$(field out image blob)" = "$(blob_of www/box.png)" &&
	pm-store cat "$(field out image blob)" > got &&
	test_cmp www/box.png got &&
	test "$(field out image product)" = p1 &&
	test "$(field out image w),$(field out image h)" = 324,223
'

test_expect_success 'a relative path and a file:// URL' '
	printf "{\"type\":\"product\",\"id\":\"p2\",\"images\":[\"www/HappyFish.jpg\",\"file://%s/www/Linux%%4Cogo.jpg\"]}\n" \
	    "$PWD" > in &&
	pm-fetch < in > out &&
	field out image blob > actual &&
	{ blob_of www/HappyFish.jpg && blob_of www/LinuxLogo.jpg; } > expect &&
	test_cmp expect actual &&
	field out image w > actual && printf "259\n320\n" > expect &&
	test_cmp expect actual
'

test_expect_success HTTPD 'files come through HTTP byte for byte' '
	printf "{\"type\":\"product\",\"id\":\"h1\",\"title\":\"box\",\"images\":[\"%s/f/box.png\",\"%s/f/HappyFish.jpg\",\"%s/f/LinuxLogo.jpg\"]}\n" \
	    "$URL" "$URL" "$URL" > in &&
	pm-fetch < in > out &&
	test "$(wc -l < out)" -eq 4 &&
	for f in box.png HappyFish.jpg LinuxLogo.jpg; do
		b=$(jq -r --arg s "$URL/f/$f" "select(.src == \$s) | .blob" out) &&
		pm-store cat "$b" > got &&
		test_cmp "www/$f" got || exit 1
	done &&
	field out image src > actual &&
	printf "%s\n" "$URL/f/box.png" "$URL/f/HappyFish.jpg" \
	    "$URL/f/LinuxLogo.jpg" > expect &&
	test_cmp expect actual
'

test_expect_success HTTPD 'a redirect is followed' '
	echo "{\"type\":\"product\",\"id\":\"r1\",\"images\":[\"$URL/redir/box.png\"]}" |
	    pm-fetch > out &&
	test "$(field out image blob)" = "$(blob_of www/box.png)"
'

test_expect_success HTTPD 'the same URL is fetched once per run' '
	for i in 1 2 3 4 5 6; do
		echo "{\"type\":\"product\",\"id\":\"s$i\",\"images\":[\"$URL/f/HappyFish.jpg?once\",\"$URL/f/HappyFish.jpg?once\"]}"
	done > in &&
	pm-fetch -j 4 < in > out &&
	test "$(requests "/f/HappyFish.jpg?once")" = 1 &&
	test "$(field out image blob | sort -u)" = "$(blob_of www/HappyFish.jpg)" &&
	test "$(field out image product | wc -l)" -eq 6
'

test_expect_success HTTPD 'a server error is retried, then succeeds' '
	echo "{\"type\":\"product\",\"id\":\"f1\",\"images\":[\"$URL/fail/2/box.png\"]}" |
	    pm-fetch -b 0.05 -n 3 > out 2> err &&
	test "$(field out image blob)" = "$(blob_of www/box.png)" &&
	test "$(requests /fail/2/box.png)" = 3 &&
	grep "HTTP 503 (try 1 of 4)" err &&
	grep "HTTP 503 (try 2 of 4)" err &&
	! grep "try 3 of 4" err
'

test_expect_success HTTPD 'retries run out' '
	echo "{\"type\":\"product\",\"id\":\"f2\",\"images\":[\"$URL/fail/9/box.png\"]}" > in &&
	test_expect_code 1 pm-fetch -b 0.05 -n 2 -r rej < in > out 2> err &&
	test_must_be_empty out &&
	test_cmp in rej &&
	test "$(requests /fail/9/box.png)" = 3 &&
	grep "product f2: .*HTTP 503 (3 tries)" err
'

test_expect_success HTTPD 'a 404 is not retried and says so' '
	echo "{\"type\":\"product\",\"id\":\"n1\",\"images\":[\"$URL/status/404/box.png\"]}" > in &&
	test_expect_code 1 pm-fetch -b 0.05 -r rej < in > out 2> err &&
	test_must_be_empty out &&
	test_cmp in rej &&
	test "$(requests /status/404/box.png)" = 1 &&
	grep "product n1: $URL/status/404/box.png: HTTP 404$" err
'

test_expect_success HTTPD 'a stalled server times out within the timeout' '
	echo "{\"type\":\"product\",\"id\":\"t1\",\"images\":[\"$URL/stall/box.png\"]}" > in &&
	start=$(date +%s) &&
	test_expect_code 1 pm-fetch -t 1 -n 1 -b 0.05 < in > out 2> err &&
	elapsed_below $start 30 &&
	test "$(requests /stall/box.png)" = 2 &&
	grep "timed out after 1[0-9][0-9][0-9] milliseconds" err &&
	grep "product t1: .*(2 tries)" err
'

test_expect_success HTTPD 'a body cut short is detected and retried' '
	echo "{\"type\":\"product\",\"id\":\"c1\",\"images\":[\"$URL/cut/1/box.png\"]}" |
	    pm-fetch -b 0.05 > out 2> err &&
	grep "body cut short (25364 of 50728 bytes) (try 1 of 4)" err &&
	pm-store cat "$(field out image blob)" > got &&
	test_cmp www/box.png got &&
	echo "{\"type\":\"product\",\"id\":\"c2\",\"images\":[\"$URL/cut/9/box.png\"]}" |
	    test_expect_code 1 pm-fetch -b 0.05 -n 1 > out 2> err &&
	test_must_be_empty out &&
	grep "product c2: .*body cut short (25364 of 50728 bytes) (2 tries)" err
'

test_expect_success HTTPD 'a file over the size limit is refused, not retried' '
	echo "{\"type\":\"product\",\"id\":\"m1\",\"images\":[\"$URL/f/box.png?big\"]}" |
	    test_expect_code 1 pm-fetch -m 10k > out 2> err &&
	test "$(requests "/f/box.png?big")" = 1 &&
	grep "larger than the size limit" err
'

test_expect_success HTTPD 'a non-image is rejected and nothing is stored' '
	echo "{\"type\":\"product\",\"id\":\"x1\",\"images\":[\"$URL/f/note.txt\"]}" > in &&
	test_expect_code 1 pm-fetch -r rej < in > out 2> err &&
	test_must_be_empty out &&
	test_cmp in rej &&
	grep "product x1: $URL/f/note.txt: not an image" err &&
	test_expect_code 1 pm-store has "$(blob_of www/note.txt)"
'

test_expect_success HTTPD 'a product keeps its good images and reports the bad' '
	echo "{\"type\":\"product\",\"id\":\"g1\",\"images\":[\"$URL/f/note.txt\",\"$URL/f/LinuxLogo.jpg\",\"$URL/status/410/a.jpg\"]}" > in &&
	test_expect_code 1 pm-fetch < in > out 2> err &&
	head -n 1 out > actual && test_cmp in actual &&
	test "$(field out image blob)" = "$(blob_of www/LinuxLogo.jpg)" &&
	grep "product g1: $URL/f/note.txt: not an image" err &&
	grep "product g1: $URL/status/410/a.jpg: HTTP 410" err
'

test_expect_success 'records pm-fetch does not consume pass through' '
	printf "%s\n" "{\"type\":\"frame\",\"video\":\"v\",\"t\":1}" \
	    "{\"type\":\"other\", \"x\" : [1, 2]}" > in &&
	pm-fetch < in > out &&
	test_cmp in out
'

test_expect_success 'bad product records are rejected with a reason' '
	printf "%s\n" "{\"type\":\"product\",\"images\":[\"a.jpg\"]}" \
	    "{\"type\":\"product\",\"id\":\"b\"}" \
	    "{\"type\":\"product\",\"id\":\"c\",\"images\":[1]}" \
	    "{\"type\":\"product\",\"id\":\"d\",\"images\":[]}" > in &&
	test_expect_code 1 pm-fetch -r rej < in > out 2> err &&
	test_must_be_empty out &&
	test_cmp in rej &&
	grep "<stdin>:1: .*no id" err &&
	grep "<stdin>:2: .*images is not a list" err &&
	grep "<stdin>:3: .*images\[0\] is not a string" err &&
	grep "<stdin>:4: .*no images" err
'

test_expect_success FFMPEG 'a local video gets its blob, duration, size and rate' '
	echo "{\"type\":\"video\",\"id\":\"v1\",\"src\":\"www/clip.mp4\"}" |
	    pm-fetch > out &&
	test "$(field out video blob)" = "$(blob_of www/clip.mp4)" &&
	test "$(jq -c "[.duration, .w, .h, .fps]" out)" = "[2,160,120,10]" &&
	pm-store cat "$(field out video blob)" > got &&
	test_cmp www/clip.mp4 got
'

test_expect_success FFMPEG,HTTPD 'a video file over HTTP' '
	echo "{\"type\":\"video\",\"id\":\"v2\",\"src\":\"$URL/f/clip2.mp4\"}" |
	    pm-fetch > out &&
	test "$(field out video blob)" = "$(blob_of www/clip2.mp4)" &&
	test "$(jq -c "[.id, .duration, .w, .h, .fps]" out)" = "[\"v2\",1,128,96,25]"
'

test_expect_success HTTPD 'an image is not a video: rejected, nothing stored' '
	echo "{\"type\":\"video\",\"id\":\"v3\",\"src\":\"$URL/f/note.txt\"}" > in &&
	test_expect_code 1 pm-fetch -r rej < in > out 2> err &&
	test_must_be_empty out &&
	test_cmp in rej &&
	grep "video v3: $URL/f/note.txt: not a video" err &&
	test_expect_code 1 pm-store has "$(blob_of www/note.txt)"
'

test_expect_success 'without yt-dlp, a yt-dlp source says to install it' '
	mkdir -p nobin &&
	echo "{\"type\":\"video\",\"id\":\"y0\",\"src\":\"ytsearch2:pm test\"}" > in &&
	fetch=$(command -v pm-fetch) &&
	test_expect_code 1 env PATH="$PWD/nobin" "$fetch" -r rej \
	    < in > out 2> err &&
	test_must_be_empty out &&
	test_cmp in rej &&
	grep "video y0: ytsearch2:pm test: yt-dlp is not installed.*Debian package yt-dlp" err
'

test_expect_success YTDLP,FFMPEG,HTTPD 'yt-dlp fetches the video in a web page' '
	echo "{\"type\":\"video\",\"id\":\"y1\",\"src\":\"$URL/f/page.html\"}" |
	    pm-fetch > out 2> err &&
	test "$(wc -l < out)" -eq 1 &&
	test "$(field out video id)" = y1 &&
	test "$(field out video blob)" = "$(blob_of www/clip.mp4)" &&
	test "$(jq -c "[.duration, .w, .h, .fps]" out)" = "[2,160,120,10]" &&
	test "$(requests /f/clip.mp4)" -ge 1
'

test_expect_success YTDLP,FFMPEG,HTTPD 'several videos get distinct, stable ids' '
	echo "{\"type\":\"video\",\"id\":\"y2\",\"src\":\"$URL/f/two.html\"}" > in &&
	pm-fetch < in > out 2> err &&
	field out video id > ids &&
	test "$(wc -l < ids)" -eq 2 &&
	test "$(sort -u ids | wc -l)" -eq 2 &&
	grep "^y2\\." ids &&
	field out video blob > actual &&
	{ blob_of www/clip.mp4 && blob_of www/clip2.mp4; } > expect &&
	test_cmp expect actual &&
	test "$(field out video from | sort -u)" = "$URL/f/two.html" &&
	pm-fetch < in > out2 &&
	test_cmp out out2
'

test_expect_success YTDLP,HTTPD 'a page without a video: yt-dlp says why' '
	printf "<html><body>no video</body></html>\n" > www/none.html &&
	echo "{\"type\":\"video\",\"id\":\"y3\",\"src\":\"$URL/f/none.html\"}" |
	    test_expect_code 1 pm-fetch > out 2> err &&
	test_must_be_empty out &&
	grep "video y3: $URL/f/none.html: yt-dlp: Unsupported URL" err
'

test_expect_success HTTPD 'output is the same for any -j and -p' '
	{
		for i in 1 2 3 4 5 6 7 8; do
			echo "{\"type\":\"product\",\"id\":\"d$i\",\"images\":[\"$URL/f/box.png\",\"$URL/f/HappyFish.jpg?$i\",\"$URL/f/LinuxLogo.jpg\",\"$URL/status/404/$i\"]}"
			echo "{\"type\":\"note\",\"n\":$i}"
		done
	} > in &&
	test_expect_code 1 pm-fetch -j 1 -p 1 < in > out1 2>/dev/null &&
	test_expect_code 1 pm-fetch -j 8 -p 4 < in > out8 2>/dev/null &&
	test_cmp out1 out8 &&
	test "$(field out1 image blob | wc -l)" -eq 24
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 pm-fetch -x </dev/null &&
	test_expect_code 2 pm-fetch -m 1T </dev/null &&
	test_expect_code 2 pm-fetch -n -1 </dev/null
'

test_expect_success 'no temporary file is left behind' '
	ls -A tmp > actual &&
	test_must_be_empty actual
'

stop_httpd
test_done
