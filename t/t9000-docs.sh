#!/bin/sh
# Documentation: every program has a man page, mandoc finds nothing to
# complain about, usage() prints the SYNOPSIS.

. "$(dirname "$0")/lib.sh"

test_expect_success MANDOC 'mandoc -Tlint is clean on every page' '
	mandoc -Tlint -Wwarning "$PM_ROOT"/man/man*/* >lint 2>&1 &&
	test_line_count = 0 lint
'

test_expect_success 'every program has its man page' '
	for p in "$PM_ROOT"/src/pm-*.c; do
		n=$(basename "$p" .c) &&
		test -f "$PM_ROOT/man/man1/$n.1" || { echo "no page: $n"; exit 1; }
	done
'

test_expect_success MANDOC 'usage() prints the SYNOPSIS of the man page' '
	for p in "$PM_ROOT"/src/pm-*.c; do
		n=$(basename "$p" .c) &&
		mandoc -Tascii -Owidth=200 "$PM_ROOT/man/man1/$n.1" 2>/dev/null |
			col -b | sed -n "/^SYNOPSIS/,/^DESCRIPTION/p" |
			sed "1d;\$d" | tr -s " \t\n" " " | sed "s/^ *//;s/ *\$//" >want &&
		{ $n -? 2>&1 >/dev/null; test $? = 2; } &&
		$n -? 2>&1 | sed -n "s/^usage: //p" | tr -s " \t\n" " " |
			sed "s/^ *//;s/ *\$//" >got &&
		test_cmp want got || exit 1
	done
'

test_done
