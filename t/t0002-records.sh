#!/bin/sh
# The record loop: bad lines are rejected with a reason and a position,
# good records still come out, nothing is lost.  test-loop (t/helper)
# is a stage that squares "n" records.

. "$(dirname "$0")/lib.sh"

test_expect_success 'records pass through or gain fields; others unchanged' '
	cat >in <<-\EOF &&
	{"type":"n","n":3}
	{"type":"other","keep":"é \"q\"","x":[1,2.5,{"a":null}]}
	{ "type" : "other",   "spaces": true }
	EOF
	test-loop in >out &&
	cat >expect <<-\EOF &&
	{"type":"n","n":3,"sq":9}
	{"type":"other","keep":"é \"q\"","x":[1,2.5,{"a":null}]}
	{ "type" : "other",   "spaces": true }
	{"type":"total","count":1,"sum":3}
	EOF
	test_cmp expect out
'

test_expect_success 'malformed JSON is rejected with its position; the rest goes on' '
	printf "%s\n" "{\"type\":\"n\",\"n\":1}" "{\"type\":\"n\",\"n\":" \
	    "[1,2]" "{\"type\":\"n\",\"n\":2}" >in &&
	test_expect_code 1 test-loop -r rej in >out 2>err &&
	grep "^test-loop: in:2: malformed JSON" err &&
	grep "^test-loop: in:3: not a JSON object" err &&
	grep "\"n\":1,\"sq\":1" out && grep "\"n\":2,\"sq\":4" out &&
	printf "%s\n" "{\"type\":\"n\",\"n\":" "[1,2]" >expect &&
	test_cmp expect rej
'

test_expect_success 'a record without type is rejected' '
	printf "{\"n\":1}\n{\"type\":7}\n{\"type\":\"n\",\"n\":5}\n" >in &&
	test_expect_code 1 test-loop in >out 2>err &&
	grep "in:1: record has no type" err &&
	grep "in:2: record.s type is not a non-empty string" err &&
	grep "\"sq\":25" out
'

test_expect_success 'invalid UTF-8 is rejected' '
	printf "{\"type\":\"other\",\"s\":\"\377\376\"}\n{\"type\":\"n\",\"n\":4}\n" >in &&
	test_expect_code 1 test-loop -r rej in >out 2>err &&
	grep "in:1: malformed JSON.*UTF-8\|in:1: malformed JSON.*decode byte" err &&
	head -1 in >expect && test_cmp expect rej &&
	grep "\"sq\":16" out
'

test_expect_success 'a line of 10 MiB passes through intact' '
	{ printf "{\"type\":\"other\",\"big\":\""
	  head -c 10485760 /dev/zero | tr "\0" "a"
	  printf "\"}\n{\"type\":\"n\",\"n\":2}\n"; } >in &&
	test-loop in >out &&
	head -1 in >first && head -1 out | cmp - first &&
	grep "\"sq\":4" out
'

test_expect_success 'huge lines, one after another, pass through in order' '
	head -c 4000000 /dev/zero | tr "\0" a >pad &&
	i=0 && while [ $i -lt 8 ]; do
		printf "{\"type\":\"other\",\"i\":$i,\"pad\":\"" &&
		cat pad && printf "\"}\n{\"type\":\"n\",\"n\":$i}\n" &&
		i=$((i + 1)) || exit 1
	done >in &&
	test-loop -j 4 in >out &&
	awk "NR % 2 == 1" in >want &&
	awk "NR % 2 == 1 && NR < 16" out | cmp - want &&
	got=$(awk "NR % 2 == 0" out |
	    sed -n "s/.*\"n\":\([0-9]*\),\"sq\".*/\1/p" | tr "\n" " ") &&
	test "$got" = "0 1 2 3 4 5 6 7 " &&
	rm -f in out pad
'

test_expect_success 'a rejected record names its subject; its reason is given' '
	printf "{\"type\":\"n\",\"id\":\"p7\",\"n\":-2}\n" >in &&
	test_expect_code 1 test-loop in 2>err &&
	grep "^test-loop: in:1: n p7: negative: -2\$" err
'

test_expect_success 'a diagnostic is one line whatever the input holds' '
	printf "{\"type\":\"n\",\"id\":\"p\\\\ntest-loop: in:9: forged\\\\u001b[2J\",\"n\":-1}\n" >in &&
	test_expect_code 1 test-loop in 2>err &&
	test_line_count = 1 err &&
	grep "^test-loop: in:1: n p\\\\ntest-loop: in:9: forged\\\\x1b\[2J: negative: -1\$" err
'

test_expect_success 'a record written reads back: reals that need 17 digits keep them' '
	printf "{\"type\":\"n\",\"n\":2,\"max\":1.7976931348623157e308,\"p\":0.12345678901234567}\n" >in &&
	test-loop in >out &&
	head -1 out | test-loop -r rej >again &&
	test_line_count = 0 rej &&
	grep "\"max\":1.7976931348623157e+\{0,1\}308," out &&
	grep "\"p\":0.1234567890123456[67]," out &&
	printf "{\"type\":\"n\",\"n\":2,\"x\":0.9397}\n" | test-loop >out &&
	grep "^{\"type\":\"n\",\"n\":2,\"x\":0.9397,\"sq\":4}\$" out
'

test_expect_success 'a warning keeps the record but sets exit status 1' '
	printf "{\"type\":\"n\",\"n\":13}\n" >in &&
	test_expect_code 1 test-loop in >out 2>err &&
	grep "unlucky" err && grep "\"sq\":169" out
'

test_expect_success 'empty input: no output, status 0' '
	: >in &&
	test-loop in >out 2>err &&
	echo "{\"type\":\"total\",\"count\":0,\"sum\":0}" >expect &&
	test_cmp expect out &&
	test_line_count = 0 err &&
	printf "\n\n" | test-loop >out &&
	test_cmp expect out
'

test_expect_success 'a last line without newline, CRLF lines' '
	printf "{\"type\":\"n\",\"n\":2}\r\n{\"type\":\"n\",\"n\":3}" | test-loop >out &&
	grep "\"sq\":4" out && grep "\"sq\":9" out
'

test_expect_success 'several files in order; a missing file is an error, not the end' '
	echo "{\"type\":\"n\",\"n\":1}" >f1 &&
	echo "{\"type\":\"n\",\"n\":2}" >f2 &&
	test_expect_code 1 test-loop f1 nosuch f2 >out 2>err &&
	grep "nosuch: No such file" err &&
	grep -n "sq" out >lines &&
	grep "^1:.*\"sq\":1}" lines && grep "^2:.*\"sq\":4}" lines
'

test_expect_success 'every input record is on stdout or in the reject file' '
	i=0 && while [ $i -lt 500 ]; do
		case $((i % 7)) in
		0) echo "{\"type\":\"n\",\"n\":-$i}" ;;
		1) echo "{\"type\":\"n\",\"n\":$i" ;;
		2) echo "{\"type\":\"x\",\"i\":$i}" ;;
		*) echo "{\"type\":\"n\",\"n\":$i}" ;;
		esac
		i=$((i + 1))
	done >in &&
	test_expect_code 1 test-loop -j4 -r rej in >out 2>err &&
	grep -v "\"type\":\"total\"" out >kept &&
	test $(($(wc -l <kept) + $(wc -l <rej))) = 500 &&
	test $(grep -vc unlucky err) = $(wc -l <rej)
'

test_expect_success 'a closed stdout ends quietly, without a signal' '
	i=0 && while [ $i -lt 20000 ]; do
		echo "{\"type\":\"n\",\"n\":$((i + 100))}"; i=$((i + 1))
	done >in &&
	{ test-loop in 2>err; echo $? >status; } | head -1 >first &&
	test "$(cat status)" = 2 &&
	test_line_count = 0 err &&
	test_line_count = 1 first
'

command -v script >/dev/null 2>&1 && test_set_prereq SCRIPT

test_expect_success SCRIPT 'a progress line when stderr is a terminal, none otherwise' '
	script -qec "test-loop in >/dev/null" /dev/null >tty &&
	grep "test-loop: 20000 records, [0-9.]*/s" tty &&
	test-loop in >/dev/null 2>err &&
	test_line_count = 0 err
'

test_expect_success 'bad options exit 2' '
	test_expect_code 2 test-loop -j 0 in 2>err &&
	grep "\-j: 0: out of range" err &&
	test_expect_code 2 test-loop -j x in
'

test_done
