#!/bin/sh
# README: the demo ends with its summary and the path of its report, and
# the commands of "An example" print what README shows, run as
# t/lib-examples.sh says, from the top of a tree like a clone's after
# make demo.  It takes a minute or more on two cores, so it runs only
# with PM_TEST_LONG set (as .ci/run does).

. "$(dirname "$0")/lib.sh"
. "$TEST_DIRECTORY/lib-examples.sh"

test -n "$PM_TEST_LONG" && test_set_prereq LONG
command -v bash >/dev/null 2>&1 && test_set_prereq BASH

skips=
mkdir -p top/examples

test_expect_success LONG,FFMPEG,JQ,BASH 'the demo ends with its summary and the report' '
	ln -s "$PM_ROOT/bin" "$PM_ROOT/share" "$PM_ROOT/t" top/ &&
	(cd top && unset MAKEFLAGS MAKELEVEL MFLAGS && sh share/pm/demo.sh) >demo.out 2>&1 &&
	tail -n 1 demo.out >last &&
	echo "demo: 2 appearances found (2 products composited in); report: $TRASH/top/demo/out/report/index.html" >want &&
	test_cmp want last &&
	grep "^box in cockatoo-demo from 1\.[0-9]*s to 7\.[0-9]*s" demo.out &&
	grep "^fish in cockatoo-demo from [45]\.[0-9]*s to 12\.[0-9]*s" demo.out &&
	grep "pm-report: out/report/index.html: 1 video, 5 products, 2 appearances" demo.out &&
	test -s top/demo/out/report/index.html
'

n=$(readme_examples "$PM_ROOT/README" "An example" |
	examples_split "$TRASH/top/examples") || n=0
test_expect_success 'README has an example' '
	test "$n" -gt 5
'
run_examples README "$TRASH/top" "$n" LONG,FFMPEG,JQ,BASH

test_skips_used

test_done
