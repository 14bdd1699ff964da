#!/bin/sh
# pm-store: round trips, concurrent writers, killed writers, damage, gc.

. "$(dirname "$0")/lib.sh"

sha() { sha256sum "$1" | cut -c1-64; }

# blob_file NAME: the file that holds blob NAME.
blob_file() { pm-store path "$1"; }

test_expect_success 'put prints the SHA-256 of each file; cat gives it back' '
	printf "hello\n" >a &&
	head -c 300000 /dev/urandom >b &&
	: >empty &&
	pm-store put a b empty >names &&
	printf "%s\n" "$(sha a)" "$(sha b)" "$(sha empty)" >expect &&
	test_cmp expect names &&
	for f in a b empty; do
		pm-store cat "$(sha $f)" >out && cmp $f out || exit 1
	done
'

test_expect_success 'put reads stdin; get writes a file' '
	seq 1 100000 >c &&
	pm-store put <c >name &&
	test "$(cat name)" = "$(sha c)" &&
	pm-store get "$(cat name)" c.out &&
	cmp c c.out
'

test_expect_success 'compressible blobs are stored compressed, JPEG as is' '
	pm-store ls -l >ls &&
	grep "^$(sha c) .* zstd\$" ls &&
	cp "$TEST_DATA/HappyFish.jpg" g.jpg &&
	n=$(pm-store put g.jpg) &&
	pm-store ls -l | grep "^$n .* raw\$" &&
	cmp g.jpg "$(blob_file $n)"
'

test_expect_success 'the store explains its layout' '
	head -1 "$PM_STORE/LAYOUT" >head &&
	echo "pm-store 1" >expect &&
	test_cmp expect head &&
	grep "SHA-256" "$PM_STORE/LAYOUT"
'

test_expect_success 'has, path and ls' '
	pm-store has "$(sha a)" "$(sha b)" &&
	test_expect_code 1 pm-store has "$(sha a)" 0000000000000000000000000000000000000000000000000000000000000000 &&
	test -f "$(pm-store path "$(sha a)")" &&
	pm-store ls >ls &&
	grep -x "$(sha a)" ls &&
	test_line_count = 5 ls
'

test_expect_success 'names that are not hashes are refused' '
	test_must_fail pm-store cat ../../etc/passwd 2>err &&
	grep "not a blob name" err &&
	test_expect_code 2 pm-store has ../LAYOUT
'

test_expect_success 'fsck is clean on a good store' '
	pm-store fsck >out 2>err &&
	test_line_count = 0 out &&
	grep "0 damaged" err
'

test_expect_success 'four writers at once, same and different blobs' '
	mkdir -p w &&
	i=0 && while [ $i -lt 40 ]; do
		head -c $((i * 997)) /dev/urandom >w/same.$i
		seq $i $((i * 500)) >w/text.$i
		i=$((i + 1))
	done &&
	for p in 1 2 3 4; do
		mkdir -p w$p &&
		i=0 && while [ $i -lt 40 ]; do
			head -c $((i * 1013 + p)) /dev/urandom >w$p/own.$i
			i=$((i + 1))
		done
	done &&
	for p in 1 2 3 4; do
		pm-store -s conc put w/* w$p/* >names.$p &
	done &&
	wait &&
	for p in 1 2 3 4; do test_line_count = 120 names.$p || exit 1; done &&
	cat names.1 names.2 names.3 names.4 | sort -u >all &&
	test_line_count = 240 all &&
	pm-store -s conc fsck &&
	for f in w/* w1/* w2/* w3/* w4/*; do
		pm-store -s conc cat "$(sha $f)" | cmp - $f || exit 1
	done
'

test_expect_success 'a writer killed mid-write leaves no visible blob' '
	mkfifo fifo &&
	{ pm-store -s killed put <fifo >kname 2>/dev/null & } &&
	writer=$! &&
	exec 7>fifo &&
	head -c 3000000 /dev/urandom >&7 &&
	i=0 && while [ -z "$(find killed -name ".tmp-*" 2>/dev/null)" ] &&
	    [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done &&
	kill -9 $writer &&
	{ wait $writer; test $? -gt 128; } &&
	exec 7>&- &&
	pm-store -s killed ls >ls &&
	test_line_count = 0 ls &&
	test_line_count = 0 kname &&
	find killed -name ".tmp-*" | grep . &&
	pm-store -s killed fsck -v >out &&
	grep "^busy" out
'

test_expect_success 'an abandoned write turns stale; gc removes it' '
	find killed -name ".tmp-*" -exec touch -d "2 hours ago" {} + &&
	test_expect_code 1 pm-store -s killed fsck >out &&
	grep "^stale .*abandoned" out &&
	: >none.ndjson &&
	pm-store -s killed gc none.ndjson &&
	pm-store -s killed fsck &&
	test -z "$(find killed -name ".tmp-*")"
'

test_expect_success 'fsck names a blob with a flipped byte; cat refuses it' '
	cp b b2 && printf "x" | dd of=b2 bs=1 seek=1000 conv=notrunc 2>/dev/null &&
	n=$(sha b) && f=$(blob_file $n) &&
	chmod u+w "$f" && cp b2 "$f" &&
	test_expect_code 1 pm-store fsck >out &&
	grep "^damaged $f: .*do not match" out &&
	test_must_fail pm-store cat $n >got 2>err &&
	test_line_count = 0 got && test "$(test_size got)" = 0 &&
	grep "damaged" err
'

test_expect_success 'fsck names a truncated compressed blob; get refuses it' '
	n=$(sha c) && f=$(blob_file $n) &&
	chmod u+w "$f" && head -c 100 "$f" >t && cp t "$f" &&
	test_expect_code 1 pm-store fsck >out &&
	grep "^damaged $f: .*truncated" out &&
	test_must_fail pm-store get $n c.again 2>err &&
	test ! -e c.again &&
	grep "truncated" err
'

test_expect_success 'a FIFO in a blob.s place is refused, not waited on' '
	n=$(sha a) && f=$(blob_file $n) &&
	mv "$f" keep && mkfifo "$f" &&
	test_when_finished "rm -f \"$f\" && mv keep \"$f\"" &&
	test_expect_code 1 timeout 20 pm-store cat $n 2>err &&
	grep "not a regular file" err &&
	test_expect_code 1 timeout 20 pm-store path $n 2>err &&
	grep "not a regular file" err &&
	echo "{\"type\":\"image\",\"blob\":\"$n\"}" >fifo.in &&
	test_expect_code 1 timeout 20 pm-kp fifo.in 2>err &&
	grep "not a regular file" err
'

test_expect_success 'fsck names a stray file' '
	echo junk >"$PM_STORE/notes.txt" &&
	test_expect_code 1 pm-store fsck >out &&
	grep "^stray .*notes.txt" out &&
	rm "$PM_STORE/notes.txt"
'

test_expect_success 'gc keeps what records reference and removes the rest' '
	rm -rf "$PM_STORE" &&
	pm-store put a b c >names &&
	printf "{\"type\":\"image\",\"blob\":\"%s\"}\n" "$(sha a)" >r1 &&
	printf "{\"type\":\"x\",\"best\":{\"frame\":\"%s\"}}\n" "$(sha c)" >r2 &&
	pm-store gc r1 r2 2>err &&
	grep "removed 1 file, 300000 bytes; kept 2 blobs" err &&
	pm-store ls >ls &&
	printf "%s\n" "$(sha a)" "$(sha c)" | sort >expect &&
	test_cmp expect ls &&
	pm-store cat "$(sha a)" | cmp - a
'

test_expect_success 'gc -n removes nothing; gc refuses a malformed record file' '
	pm-store put b >/dev/null &&
	pm-store gc -n r1 >out 2>err &&
	grep "would remove" out &&
	pm-store has "$(sha b)" &&
	echo "{not json" >bad &&
	test_expect_code 2 pm-store gc r1 bad 2>err &&
	grep "nothing removed" err &&
	pm-store has "$(sha b)"
'

test_expect_success 'a directory that is not a pm store is refused' '
	mkdir other && echo "something else" >other/LAYOUT &&
	test_expect_code 2 pm-store -s other ls 2>err &&
	grep "not a pm store" err
'

test_expect_success NOT_ROOT 'an unwritable store fails with a reason' '
	mkdir ro && pm-store -s ro ls && chmod a-w ro &&
	test_when_finished "chmod u+w ro" &&
	test_must_fail pm-store -s ro put a 2>err &&
	grep "cannot create" err
'

test_expect_success 'a file size limit fails the write with a reason, not a signal' '
	head -c 100000 /dev/urandom >limited &&
	(ulimit -f 8 && exec pm-store -s lim put limited) >out 2>err
	test $? = 1 &&
	grep "File too large" err &&
	test_line_count = 0 out &&
	pm-store -s lim fsck
'

test_expect_success 'a closed stdout is status 2, not a death by signal' '
	head -c 3000000 /dev/urandom >big &&
	n=$(pm-store put big) &&
	{ pm-store cat $n $n 2>err; echo $? >status; } | head -c 10 >/dev/null &&
	test "$(cat status)" = 2 &&
	test_line_count = 0 err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 pm-store &&
	test_expect_code 2 pm-store frobnicate &&
	test_expect_code 2 pm-store cat
'

test_done
