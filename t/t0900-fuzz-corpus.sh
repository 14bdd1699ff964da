#!/bin/sh
# The fuzz corpora (fuzz/corpus/NAME: seeds, what the fuzzers found and
# every crash they ever found) replay through the fuzz targets, built
# with the normal compiler and flags (sanitizers too, with SANITIZE),
# without a crash, an assertion or a sanitizer's report.

. "$(dirname "$0")/lib.sh"

FUZZ=$PM_ROOT/fuzz

for c in "$FUZZ"/corpus/*; do
	name=${c##*/}
	test_expect_success "the $name corpus replays" '
		n=$(ls "$c" | wc -l) &&
		test "$n" -gt 0 &&
		"$FUZZ/out/replay-$name" "$c" >out 2>err &&
		echo "replay-$name: $n inputs" >expect &&
		test_cmp expect out
	'
done

test_expect_success 'every target has a corpus, every corpus a target' '
	for f in "$FUZZ"/*.c; do
		name=${f##*/} && name=${name%.c} &&
		{ test "$name" = replay || test -d "$FUZZ/corpus/$name"; } ||
		{ echo "no corpus for $name"; exit 1; }
	done &&
	for c in "$FUZZ"/corpus/*; do
		test -f "$FUZZ/${c##*/}.c" || { echo "no target for $c"; exit 1; }
	done
'

test_expect_success 'a file the replay cannot read is an error' '
	test_expect_code 2 "$FUZZ/out/replay-rec" nosuch 2>err &&
	grep "nosuch: No such file" err
'

test_expect_success 'the corpora stay small' '
	for c in "$FUZZ"/corpus/*; do
		test $(ls "$c" | wc -l) -le 500 &&
		test $(du -sk "$c" | cut -f1) -le 4096 || {
			echo "$c: too big"; exit 1; }
	done
'

test_done
