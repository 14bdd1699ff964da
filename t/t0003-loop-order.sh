#!/bin/sh
# The record loop writes the same bytes whatever the number of threads.

. "$(dirname "$0")/lib.sh"

test_expect_success 'make 10,000 records, a few of them bad' '
	awk "BEGIN {
		for (i = 0; i < 10000; i++) {
			if (i % 997 == 0) print \"{\\\"type\\\":\\\"n\\\",\\\"n\\\":-1}\";
			else if (i % 3 == 0) print \"{\\\"type\\\":\\\"x\\\",\\\"i\\\":\" i \"}\";
			else print \"{\\\"type\\\":\\\"n\\\",\\\"n\\\":\" i \"}\";
		}
	}" >in &&
	test_line_count = 10000 in
'

test_expect_success '-j1 and -j8 give byte-identical output, rejects and messages' '
	test_expect_code 1 test-loop -j1 -r rej1 in >out1 2>err1 &&
	test_expect_code 1 test-loop -j8 -r rej8 in >out8 2>err8 &&
	test_expect_code 1 test-loop -j3 -r rej3 in >out3 2>err3 &&
	cmp out1 out8 && cmp rej1 rej8 && cmp err1 err8 &&
	cmp out1 out3 &&
	grep "\"type\":\"sum\"" out1 >sums &&
	test_line_count = 6 sums
'

test_expect_success 'output order is input order' '
	grep "\"type\":\"[nx]\"" out8 | sed "s/.*\"\\([ni]\\)\":\\([0-9]*\\).*/\\2/" >order &&
	sort -n order >sorted &&
	test_cmp sorted order
'

test_done
