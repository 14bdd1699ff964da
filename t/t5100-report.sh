#!/bin/sh
# pm-report: the HTML page of real results (box.png found in
# box_in_scene.png, graf1.png in graf3.png, with pm-evidence pictures),
# its escaping of hostile ids, its pictures, the same files for any -j,
# bad input, and what a real browser (headless Chromium) shows of it.

. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
test -x "$CHROMIUM" && test_set_prereq CHROMIUM

# chromium URL OPTION...: run headless Chromium on a page from the file
# system, with a fresh profile and nothing that goes to the network
chromium() {
	_url=$1
	shift
	rm -rf "$TRASH/profile"
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --hide-scrollbars \
		--user-data-dir="$TRASH/profile" "$@" "$_url" 2>>"$TRASH/chromium.log"
}

# the hostile product id, as written, as the page writes it, and as
# Chromium serialises the text of its DOM
evil='<script>alert("x")</script> & '"'"'q'"'"
evil_html='&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'
evil_dom='&lt;script&gt;alert("x")&lt;/script&gt; &amp; '"'"'q'"'"

test_expect_success 'real results: matches, appearances, evidence' '
	test-match -a 10.5,17.5 clip1 12.5 box "$TEST_DATA/box.png" \
		"$TEST_DATA/box_in_scene.png" >found.ndjson &&
	test-match -a 1.25,8.25 "street <b>cam</b>" 3.25 "$evil" \
		"$TEST_DATA/graf1.png" "$TEST_DATA/graf3.png" >>found.ndjson &&
	test_line_count = 4 found.ndjson &&
	pm-evidence -w 960 -l 20 <found.ndjson >results.ndjson &&
	test $(grep -c "\"evidence\":\"[0-9a-f]\{64\}\"" results.ndjson) = 4 &&
	b1=$(pm-store put "$TEST_DATA/box.png") &&
	b2=$(pm-store put "$TEST_DATA/graf1.png") &&
	b3=$(pm-store put "$TEST_DATA/baboon.jpg") &&
	cat >catalog.ndjson <<-EOF &&
	{"type":"product","id":"box","title":"Bastoncini <cookies> & \"more\"","url":"https://example.com/box?a=1&b=2","price":"3.50 EUR"}
	{"type":"image","product":"box","src":"box.png","blob":"$b1"}
	{"type":"product","id":"<script>alert(\"x\")</script> & '"'"'q'"'"'","title":"Wall","url":"javascript:alert(1)"}
	{"type":"image","product":"<script>alert(\"x\")</script> & '"'"'q'"'"'","src":"graf1.png","blob":"$b2"}
	{"type":"product","id":"baboon","title":"Mandrill","price":12}
	{"type":"image","product":"baboon","src":"baboon.jpg","blob":"$b3"}
	EOF
	cat >videos.ndjson <<-\EOF
	{"type":"video","id":"clip1","src":"https://example.com/v.mp4","duration":65.2,"title":"Kitchen"}
	{"type":"frame","video":"clip1","t":0,"blob":"0000000000000000000000000000000000000000000000000000000000000000"}
	EOF
'

test_expect_success 'pm-report writes the page and its pictures, nothing on stdout' '
	pm-report -o report catalog.ndjson videos.ndjson results.ndjson \
		>out 2>err &&
	test_line_count = 0 out &&
	echo "pm-report: report/index.html: 2 videos, 3 products, 2 appearances, 2 matches, 2 evidence pictures" >want &&
	test_cmp want err &&
	test -f report/index.html &&
	ls report/img >imgs &&
	test_line_count = 7 imgs
'

test_expect_success 'the page has the videos, products, times and scores' '
	grep "<h3>clip1</h3>" report/index.html &&
	grep "<td class=\"n\">0:10.50</td><td class=\"n\">0:17.50</td><td class=\"n\">0.97</td>" report/index.html &&
	grep "<td class=\"n\">0:01.25</td><td class=\"n\">0:08.25</td>" report/index.html &&
	grep "Kitchen &middot; 1:05.20 long" report/index.html &&
	grep "<a href=\"#v1\">clip1</a>: 0:10.50&ndash;0:17.50, score 0.97" report/index.html &&
	grep -A4 "<h3>baboon</h3>" report/index.html | grep "Not found in any video" &&
	grep "Mandrill &middot; 12" report/index.html
'

test_expect_success 'every string from a record is escaped; there is no script' '
	grep -F "<h3>$evil_html</h3>" report/index.html &&
	grep -F "<h3>street &lt;b&gt;cam&lt;/b&gt;</h3>" report/index.html &&
	grep -F "Bastoncini &lt;cookies&gt; &amp; &quot;more&quot;" report/index.html &&
	grep -F "<a href=\"https://example.com/box?a=1&amp;b=2\">" report/index.html &&
	! grep -i "<script" report/index.html &&
	! grep -i "href=\"javascript" report/index.html &&
	! grep "<b>" report/index.html
'

test_expect_success 'every picture of the page is there, with its size' '
	grep -o "<img [^>]*>" report/index.html >imgtags &&
	sed -n "s/.* src=\"\([^\"]*\)\" width=\"\([0-9]*\)\" height=\"\([0-9]*\)\".*/\1 \2 \3/p" \
		imgtags >srcs &&
	test $(wc -l <imgtags) = $(wc -l <srcs) &&
	test $(wc -l <srcs) -ge 7 &&
	while read -r src w h; do
		test-img size "report/$src" >size &&
		echo "$w $h" >want && test_cmp want size || exit 1
	done <srcs &&
	grep -o "<a href=\"img/[0-9a-f]*\.jpg\">" report/index.html |
		sed "s/.*img\/\([0-9a-f]*\)\.jpg.*/\1/" >evs &&
	test_line_count = 2 evs &&
	while read -r ev; do
		pm-store cat "$ev" >ev.jpg && cmp ev.jpg "report/img/$ev.jpg" ||
			exit 1
	done <evs
'

test_expect_success 'the same files for -j 1 and -j 2, and again' '
	pm-report -j 1 -o r1 catalog.ndjson videos.ndjson results.ndjson 2>/dev/null &&
	pm-report -j 2 -o r2 catalog.ndjson videos.ndjson results.ndjson 2>/dev/null &&
	diff -r r1 r2 && diff -r r1 report &&
	pm-report -j 2 -o r2 catalog.ndjson videos.ndjson results.ndjson 2>/dev/null &&
	diff -r r1 r2
'

test_expect_success 'records read twice are shown once; matches alone make rows' '
	pm-report -o twice catalog.ndjson results.ndjson results.ndjson 2>err &&
	grep "2 appearances, 2 matches" err &&
	grep "<h3>clip1</h3>" twice/index.html &&
	grep -c "<td class=\"n\">0:10.50</td>" twice/index.html >n &&
	echo 1 >want && test_cmp want n &&
	grep "\"type\":\"match\"" results.ndjson >matches.ndjson &&
	pm-report -o alone matches.ndjson 2>err &&
	grep "0 appearances, 2 matches, 2 evidence pictures" err &&
	grep "<td class=\"n\">0:12.50</td><td class=\"n\">0:12.50</td>" alone/index.html
'

test_expect_success 'bad records are rejected, missing pictures left out; the page is still written' '
	zero=0000000000000000000000000000000000000000000000000000000000000000 &&
	{
		cat results.ndjson &&
		echo "{\"type\":\"appearance\",\"video\":\"clip1\",\"product\":\"box\",\"end\":3,\"score\":0.5}" &&
		echo "{\"type\":\"appearance\",\"video\":\"clip2\",\"product\":\"box\",\"start\":1,\"end\":3,\"score\":0.5,\"evidence\":\"$zero\"}" &&
		echo "{\"type\":\"match\",\"video\":\"clip1\",\"product\":\"box\",\"t\":\"soon\",\"score\":0.5}" &&
		echo "{\"type\":\"product\",\"title\":\"no id\"}" &&
		echo "{not json"
	} >bad.ndjson &&
	test_expect_code 1 pm-report -o badrep -r rej bad.ndjson 2>err &&
	test_line_count = 4 rej &&
	grep "bad.ndjson:5: appearance clip1: no start" err &&
	grep "bad.ndjson:7: match clip1: t is not a number" err &&
	grep "bad.ndjson:8: product: no id" err &&
	grep "bad.ndjson:9: malformed JSON" err &&
	grep "^pm-report: blob $zero: not in the store\$" err &&
	grep "<h3>clip2</h3>" badrep/index.html &&
	grep -A3 "<h3>clip2</h3>" badrep/index.html >/dev/null &&
	sed -n "/<h3>clip2<\/h3>/,/<\/section>/p" badrep/index.html >clip2 &&
	grep "<td class=\"none\">none</td>" clip2 &&
	tail -n 1 err | grep "3 videos, 2 products, 3 appearances"
'

test_expect_success 'usage and fatal errors exit 2' '
	test_expect_code 2 pm-report </dev/null 2>err &&
	grep "^usage: pm-report" err &&
	: >file &&
	test_expect_code 2 pm-report -o file </dev/null 2>err &&
	grep "file: not a directory" err
'

test_expect_success CHROMIUM 'Chromium shows the page: its DOM has the results' '
	chromium "file://$TRASH/report/index.html" --dump-dom >dom &&
	grep "<h1>Products found in videos</h1>" dom &&
	grep "<h3>clip1</h3>" dom &&
	grep -F "<h3>$evil_dom</h3>" dom &&
	grep "0:10.50" dom && grep "0:17.50" dom && grep "0:08.25" dom &&
	! grep -i "<script" dom &&
	test $(grep -o "<img " dom | wc -l) = $(grep -o "<img " report/index.html | wc -l) &&
	grep -o "<img [^>]*>" dom | sed -n "s/.* src=\"\([^\"]*\)\".*/\1/p" >domsrcs &&
	test $(wc -l <domsrcs) -ge 7 &&
	while read -r src; do test -s "report/$src" || exit 1; done <domsrcs
'

test_expect_success CHROMIUM 'Chromium renders the pictures: the outline shows in the screenshot' '
	chromium "file://$TRASH/report/index.html" --window-size=1200,1600 \
		--screenshot="$TRASH/shot.png" >/dev/null &&
	test-img size shot.png >size &&
	echo "1200 1600" >want && test_cmp want size &&
	test-img count shot.png ink >ink &&
	test $(cat ink) -gt 50000 &&
	test-img count shot.png green >green &&
	test $(cat green) -gt 100
'

test_expect_success CHROMIUM 'without its pictures the screenshot has no outline' '
	mkdir bare && cp report/index.html bare/ &&
	chromium "file://$TRASH/bare/index.html" --window-size=1200,1600 \
		--screenshot="$TRASH/bare.png" >/dev/null &&
	test-img count bare.png green >green &&
	test $(cat green) = 0
'

test_done
