# t/lib.sh: the test library every t/tNNNN-*.sh sources, in the shape of
# git's test-lib.sh.  Output is TAP, for prove.
#
#	. "$(dirname "$0")/lib.sh"
#	test_expect_success 'title' 'commands'
#	test_expect_success PREREQ,OTHER 'title' 'commands'
#	test_done
#
# Each script runs in its own scratch directory t/trash.NAME (kept when a
# test fails, removed otherwise), with bin/ first on PATH, HOME there,
# and PM_STORE a fresh store in it.  TEST_VERBOSE=1 shows every command's
# output; PM_TEST_REGEN=1 lets a script rewrite its expected files in
# t/ref/ (see test_cmp_ref).

TEST_DIRECTORY=$(cd "$(dirname "$0")" && pwd)
PM_ROOT=$(cd "$TEST_DIRECTORY/.." && pwd)
TEST_NAME=$(basename "$0" .sh)
TEST_DATA=$TEST_DIRECTORY/data
TEST_HELPER=$TEST_DIRECTORY/helper
TRASH=$TEST_DIRECTORY/trash.$TEST_NAME
PATH=$PM_ROOT/bin:$TEST_HELPER:$PATH
export TEST_DIRECTORY PM_ROOT TEST_DATA TEST_HELPER TRASH PATH

rm -rf "$TRASH"
mkdir -p "$TRASH" || { echo "Bail out! cannot create $TRASH"; exit 1; }
cd "$TRASH" || exit 1
HOME=$TRASH
PM_STORE=$TRASH/store
LC_ALL=C
TZ=UTC
export HOME PM_STORE LC_ALL TZ
unset XDG_DATA_HOME PM_STORE_DEFAULT_OK

test_count=0
test_failed=0
test_prereqs=" "

test_set_prereq() {
	test_prereqs="$test_prereqs$1 "
}

test_have_prereq() {
	_ps=$(echo "$1" | tr ',' ' ')
	for _p in $_ps; do
		case $test_prereqs in
		*" $_p "*) ;;
		*) test_missing_prereq=$_p; return 1 ;;
		esac
	done
	return 0
}

# Prerequisites every script may use.
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 &&
	test_set_prereq FFMPEG
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON3
command -v mandoc >/dev/null 2>&1 && test_set_prereq MANDOC
command -v jq >/dev/null 2>&1 && test_set_prereq JQ
command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD
[ "$(id -u)" != 0 ] && test_set_prereq NOT_ROOT

say() {
	printf '# %s\n' "$*"
}

test_skip_all() {
	echo "1..0 # SKIP $*"
	cd "$TEST_DIRECTORY" && rm -rf "$TRASH"
	exit 0
}

# Run commands after the current test, pass or fail, the last given
# first.  A test runs in a subshell, so they are kept in a file.
test_when_finished() {
	{ printf '%s\n' "$*"; cat "$TRASH/.cleanup" 2>/dev/null || :; } \
	    >"$TRASH/.cleanup.new" && mv "$TRASH/.cleanup.new" "$TRASH/.cleanup"
}

test_run_() {
	_here=$(pwd)
	rm -f "$TRASH/.cleanup"
	if [ -n "$TEST_VERBOSE" ]; then
		( set -e; eval "$1" ) </dev/null >&2
	else
		( set -e; eval "$1" ) </dev/null >"$TRASH/.log" 2>&1
	fi
	_status=$?
	if [ -f "$TRASH/.cleanup" ]; then
		( . "$TRASH/.cleanup" ) >/dev/null 2>&1
		rm -f "$TRASH/.cleanup"
	fi
	cd "$_here"
	return $_status
}

test_expect_success() {
	if [ $# = 3 ]; then
		_prereq=$1
		shift
	else
		_prereq=
	fi
	test_count=$((test_count + 1))
	if [ -n "$_prereq" ] && ! test_have_prereq "$_prereq"; then
		echo "ok $test_count # skip $1 (missing $test_missing_prereq)"
		return 0
	fi
	if test_run_ "$2"; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		printf '%s\n' "$2" | sed 's/^/#	/'
		if [ -z "$TEST_VERBOSE" ] && [ -s "$TRASH/.log" ]; then
			echo "# output:"
			tail -n 40 "$TRASH/.log" | sed 's/^/#	/'
		fi
	fi
}

# The command must fail in the ordinary way: exit 1..125, not a signal,
# not "command not found".
test_must_fail() {
	"$@"
	_code=$?
	if [ $_code = 0 ]; then
		echo "test_must_fail: $* succeeded" >&2
		return 1
	elif [ $_code -gt 128 ]; then
		echo "test_must_fail: $* died of signal $((_code - 128))" >&2
		return 1
	elif [ $_code = 126 ] || [ $_code = 127 ]; then
		echo "test_must_fail: $*: cannot run ($_code)" >&2
		return 1
	fi
	return 0
}

test_expect_code() {
	_want=$1
	shift
	"$@"
	_code=$?
	if [ $_code != "$_want" ]; then
		echo "test_expect_code: $*: exit $_code, wanted $_want" >&2
		return 1
	fi
	return 0
}

test_cmp() {
	diff -u "$1" "$2"
}

# test_cmp_ref NAME FILE: compare FILE with t/ref/NAME; with
# PM_TEST_REGEN=1, write t/ref/NAME from FILE instead.
test_cmp_ref() {
	if [ -n "$PM_TEST_REGEN" ]; then
		mkdir -p "$TEST_DIRECTORY/ref" && cp "$2" "$TEST_DIRECTORY/ref/$1"
	else
		diff -u "$TEST_DIRECTORY/ref/$1" "$2"
	fi
}

# A file's size in bytes.
test_size() {
	wc -c <"$1" | tr -d ' '
}

test_line_count() {
	_n=$(wc -l <"$3" | tr -d ' ')
	if ! [ "$_n" "$1" "$2" ]; then
		echo "test_line_count: $3 has $_n lines, wanted $1 $2" >&2
		return 1
	fi
}

# test_nothing_lost PROG IN OUT REJ ERR: PROG read IN, wrote OUT, put its
# rejects in REJ and its diagnostics in ERR.  Every record of IN carries
# a mark "hid":"hN" of its own.  Each must either come out in OUT
# (unchanged, or with fields added) or be in REJ as it came in, with a
# diagnostic "PROG: IN:LINE: ..." at its line in ERR; never both, never
# neither.  OUT "-" is for a program that writes no records: whatever it
# did not reject it took.  The marks listed in IN.good must come out,
# those in IN.bad must be rejected.
test_nothing_lost() {
	touch "$2.good" "$2.bad"
	[ "$3" = - ] && set -- "$1" "$2" /dev/null "$4" "$5" all
	awk -v prog="$1" -v inname="$2" -v all="$6" '
	function mark(s) {
		if (!match(s, /"hid":"h[0-9]+"/))
			return ""
		return substr(s, RSTART + 7, RLENGTH - 8)
	}
	function fail(msg) { print "test_nothing_lost: " msg; bad = 1 }
	FILENAME == ARGV[1] {
		if ($0 == "")
			next
		m = mark($0)
		if (m == "")
			fail("input line " FNR " has no mark")
		else if (m in line)
			fail("mark " m " twice in the input")
		line[m] = $0
		pos[m] = FNR
		next
	}
	FILENAME == ARGV[2] {
		s = $0
		while (match(s, /"hid":"h[0-9]+"/)) {
			out[substr(s, RSTART + 7, RLENGTH - 8)]++
			s = substr(s, RSTART + RLENGTH)
		}
		next
	}
	FILENAME == ARGV[3] {
		m = mark($0)
		if (!(m in line) || line[m] != $0)
			fail("reject " FNR " is not a line of the input")
		else
			rej[m]++
		next
	}
	FILENAME == ARGV[4] {
		p = prog ": " inname ":"
		if (index($0, p) == 1) {
			n = substr($0, length(p) + 1)
			sub(/:.*/, "", n)
			said[n] = 1
		}
		next
	}
	FILENAME == ARGV[5] { want[$0] = "good"; next }
	FILENAME == ARGV[6] { want[$0] = "bad"; next }
	END {
		for (m in line) {
			o = (m in out) || (all != "" && !(m in rej))
			r = rej[m] + 0
			nin++
			nrej += r > 0
			if (o && r)
				fail(m " (line " pos[m] ") both came out and was rejected")
			else if (!o && !r)
				fail(m " (line " pos[m] ") is lost")
			if (r > 1)
				fail(m " rejected " r " times")
			if (r && !(pos[m] in said))
				fail(m " rejected without a diagnostic at " inname ":" pos[m])
			if (want[m] == "good" && !o)
				fail(m " (line " pos[m] ") was rejected; it should not be")
			if (want[m] == "bad" && !r)
				fail(m " (line " pos[m] ") came out; it should be rejected")
		}
		for (m in want)
			if (!(m in line))
				fail(m " expected but not in the input")
		print "# " prog ": " nin " records, " nin - nrej " out, " nrej " rejected"
		exit bad
	}' "$2" "$3" "$4" "$5" "$2.good" "$2.bad"
}

test_done() {
	echo "1..$test_count"
	cd "$TEST_DIRECTORY" || exit 1
	if [ $test_failed = 0 ]; then
		rm -rf "$TRASH"
		exit 0
	fi
	echo "# failed $test_failed of $test_count; scratch kept in $TRASH"
	exit 1
}
