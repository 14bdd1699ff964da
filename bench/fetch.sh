#!/bin/sh
# bench/fetch.sh: pm-fetch against t/httpd.py on 127.0.0.1, next to
# curl(1) fetching the same URLs in the same run.
#
#   1. 40 products of 3 images each (120 distinct URLs), each answered
#      after 100 ms (a distant server): pm-fetch with -j 1 -p 1 and with
#      -j 8 -p 4, against curl fetching them one after another and with
#      --parallel (8 at once).
#   2. One 256 MB video (raw frames): wall time and peak memory of
#      pm-fetch (it streams into a temporary file, checks it, stores it)
#      and of curl -o.
#
# usage: sh bench/fetch.sh    (from the top of the tree, after make)

set -e
top=$(pwd)
PATH=$top/bin:$PATH
dir=$(mktemp -d)
pid=
trap 'test -n "$pid" && kill $pid; rm -rf "$dir"' EXIT
cd "$dir"
mkdir www store
cp "$top/t/data/HappyFish.jpg" www/
ffmpeg -nostdin -v error -f lavfi -i testsrc=size=320x240:rate=25 -t 93 \
    -c:v rawvideo -pix_fmt yuv420p www/big.mkv

python3 "$top/t/httpd.py" www port log &
pid=$!
while ! test -s port; do sleep 0.1; done
url=http://127.0.0.1:$(cat port)

# wall COMMAND...: seconds the command took.
wall () {
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	echo "$s $e" | awk '{ printf "%.2f", $2 - $1 }'
}

i=0
: > in
: > urls
while test $i -lt 40; do
	a=$url/slow/100/HappyFish.jpg?$i-a
	b=$url/slow/100/HappyFish.jpg?$i-b
	c=$url/slow/100/HappyFish.jpg?$i-c
	echo "{\"type\":\"product\",\"id\":\"p$i\",\"images\":[\"$a\",\"$b\",\"$c\"]}" >> in
	printf '%s\n%s\n%s\n' "$a" "$b" "$c" >> urls
	i=$((i + 1))
done
curlcfg () {
	while read -r u; do
		printf 'url = "%s"\noutput = "/dev/null"\n' "$u"
	done < urls
}
curlcfg > curl.cfg

echo "120 images, each answered after 100 ms:"
printf '  pm-fetch -j 1 -p 1   %6s s\n' "$(wall pm-fetch -s s1 -j 1 -p 1 in)"
printf '  pm-fetch -j 8 -p 4   %6s s\n' "$(wall pm-fetch -s s2 -j 8 -p 4 in)"
printf '  curl, one at a time  %6s s  (reference)\n' \
    "$(wall curl -s -K curl.cfg)"
printf '  curl --parallel (8)  %6s s  (reference)\n' \
    "$(wall curl -s --parallel --parallel-max 8 -K curl.cfg)"

echo '{"type":"video","id":"big","src":"'"$url"'/f/big.mkv"}' > big.in
echo "one $(($(wc -c < www/big.mkv) >> 20)) MB video:"
/usr/bin/time -f '  pm-fetch            %e s  %M kB' \
    pm-fetch -s s3 -m 1G big.in 2>&1 > /dev/null
/usr/bin/time -f '  curl -o             %e s  %M kB  (reference)' \
    curl -s -o big.out "$url/f/big.mkv" 2>&1
/usr/bin/time -f '  pm-store put        %e s  %M kB  (reference: storing alone)' \
    pm-store -s s4 put big.out 2>&1 > /dev/null
echo '{"type":"product","id":"small","images":["'"$url"'/f/HappyFish.jpg"]}' > small.in
/usr/bin/time -f '  pm-fetch, one image %e s  %M kB  (reference: the program alone)' \
    pm-fetch -s s5 small.in 2>&1 > /dev/null
