# t/lib-examples.sh: examples of the documentation run as tests (jq's
# mantest), for t9100-examples.sh (the man pages) and t9110-readme.sh.
# Source it after lib.sh.
#
# An example is a terminal session.  A line "$ command" starts a
# command, which goes on over the next lines while it is incomplete (an
# open quote, or a trailing \, |, && or ||) and to the end of a
# here-document it starts; the other lines, up to the
# next command, are what it prints, standard output and standard error
# together.  A command runs with sh, after the earlier commands of its
# document (see run_examples), and must exit 0 and print what the document shows, compared
# without white space (a line the document wraps, or ls(1)'s columns,
# compare equal) and with "..." standing for anything; a command shown
# without output must print nothing.  A block of text without a command,
# and a command that cannot run here, must be listed in $skips with the
# reason, and is reported as skipped: never silently.

# The examples that cannot run here, one a line: the document's name, a
# tab, a string of the command (or block), a tab, why.  Each entry must
# name an example.
skips=

# mdoc_examples PAGE: the literal blocks of PAGE's EXAMPLES section, mdoc
# escapes undone, as a stream for examples_split: "B" before each block,
# "L text" for each line.  Fails on an escape it does not know.
mdoc_examples() {
	awk '
	function unescape(s,	r, c, n, k) {
		r = ""
		while ((n = index(s, "\\")) > 0) {
			r = r substr(s, 1, n - 1)
			c = substr(s, n + 1, 1)
			k = 2
			if (c == "e")
				r = r "\\"
			else if (c == "-")
				r = r "-"
			else if (c == "&")
				;
			else if ((c = substr(s, n + 1, 3)) == "(aq") {
				r = r "\047"; k = 4
			} else if (c == "(dq") {
				r = r "\""; k = 4
			} else if (c == "(ti") {
				r = r "~"; k = 4
			} else {
				printf "%s:%d: unknown escape: %s\n", FILENAME,
				    FNR, substr(s, n) >"/dev/stderr"
				bad = 1
			}
			s = substr(s, n + k)
		}
		return r s
	}
	/^\.Sh / { ex = $2 == "EXAMPLES"; next }
	!ex { next }
	/^\.Bd -literal/ { lit = 1; print "B"; next }
	/^\.Ed/ { lit = 0; next }
	lit { print "L " unescape($0) }
	END { exit bad }
	' "$1"
}

# readme_examples FILE SECTION: the blocks indented by a tab in SECTION of
# FILE (a heading underlined with "-"), for examples_split.
readme_examples() {
	awk -v want="$2" '
	/^---*$/ { in_s = prev == want; lit = 0; next }
	{ prev = $0 }
	!in_s { next }
	/^\t/ {
		if (!lit)
			print "B"
		lit = 1
		print "L " substr($0, 2)
		next
	}
	/^$/ { next }
	{ lit = 0 }
	' "$1"
}

# examples_split DIR: a stream of blocks from standard input into files
# of DIR: N.cmd (a command, without "$ "), N.out (what it prints), N.skip
# (a block without a command, its text).  Prints how many examples.
examples_split() {
	awk -v dir="$1" '
	# whether the shell command c is incomplete: inside a quote, or
	# after an unquoted \, |, && or ||
	function incomplete(c,	i, ch, q) {
		sub(/[ \t\n]+$/, "", c)
		q = ""
		for (i = 1; i <= length(c); i++) {
			ch = substr(c, i, 1)
			if (q == "\047") {
				if (ch == "\047")
					q = ""
			} else if (ch == "\\") {
				if (i == length(c))
					return 1
				i++
			} else if (q == "\"") {
				if (ch == "\"")
					q = ""
			} else if (ch == "\047" || ch == "\"") {
				q = ch
			}
		}
		return q != "" || c ~ /(\||&&)$/
	}
	# the word that ends the here-document line l starts, if any
	function heredoc(l,	w) {
		if (!match(l, /<<-?[ \t]*["\047]?[A-Za-z_][A-Za-z0-9_]*/))
			return ""
		w = substr(l, RSTART + 2, RLENGTH - 2)
		sub(/^-/, "", w)
		sub(/^[ \t]*/, "", w)
		gsub(/["\047]/, "", w)
		return w
	}
	function flush() {
		if (cmd != "") {
			printf "%s", cmd >(dir "/" n ".cmd")
			printf "%s", out >(dir "/" n ".out")
			close(dir "/" n ".cmd")
			close(dir "/" n ".out")
		} else if (out != "") {
			printf "%s", out >(dir "/" n ".skip")
			close(dir "/" n ".skip")
		}
		cmd = out = hd = ""
		open = 0
	}
	$0 == "B" { flush(); next }
	{
		line = substr($0, 3)
		if (hd != "") {
			cmd = cmd line "\n"
			if (line == hd)
				hd = ""
		} else if (open) {
			cmd = cmd line "\n"
			open = incomplete(cmd)
			hd = heredoc(line)
		} else if (substr(line, 1, 2) == "$ ") {
			flush()
			n++
			cmd = substr(line, 3) "\n"
			open = incomplete(cmd)
			hd = heredoc(line)
		} else {
			if (cmd == "" && out == "")
				n++
			out = out line "\n"
		}
	}
	END { flush(); print n + 0 }
	'
}

# output_is SHOWN GOT: whether the output in file GOT is what the
# document shows in file SHOWN, white space aside, "..." for anything.
output_is() {
	_e=$(tr -d ' \t\n' <"$1") &&
	_g=$(tr -d ' \t\n' <"$2") &&
	E=$_e G=$_g awk 'BEGIN {
		e = ENVIRON["E"]; g = ENVIRON["G"]
		n = split(e, p, /\.\.\./)
		if (n <= 1)
			exit !(e == g)
		if (substr(g, 1, length(p[1])) != p[1])
			exit 1
		g = substr(g, length(p[1]) + 1)
		for (i = 2; i < n; i++) {
			if ((k = index(g, p[i])) == 0)
				exit 1
			g = substr(g, k + length(p[i]))
		}
		exit !(length(g) >= length(p[n]) &&
		    substr(g, length(g) - length(p[n]) + 1) == p[n])
	}' || {
		echo "shown:   $(cat "$1")"
		echo "printed: $(cat "$2")"
		return 1
	}
}

# skip_reason DOC FILE: why the example in FILE of document DOC is
# skipped; fails for one that runs.  Notes the entry used.
skip_reason() {
	printf '%s\n' "$skips" | {
		while IFS='	' read -r _p _s _why; do
			if [ "$_p" = "$1" ] && grep -qF -- "$_s" "$2"; then
				printf '%s\t%s\n' "$_p" "$_s" >>"$TRASH/skips.used"
				echo "$_why"
				exit 0
			fi
		done
		exit 1
	}
}

test_skip_() {
	test_count=$((test_count + 1))
	echo "ok $test_count # skip $1 ($2)"
}

# A test's title: the document and the example's first line, without
# "#", which TAP would read.
example_title() {
	printf '%s: %s' "$1" "$(head -n 1 "$2" | tr '#' _ | cut -c 1-64)"
}

# run_examples DOC DIR N PREREQ: the N examples in DIR/examples of
# document DOC, each a test (with prerequisites PREREQ, and ZSTD for a
# command that runs zstd).  The commands run one after another as in
# one shell that starts in DIR with the environment of the caller: the
# directory and the variables carry over.  A command's
# /usr/local/share/pm/ is the source tree's share/pm/.
run_examples() {
	_doc=$1 _dir=$2 _n=$3 _pre=$4 _k=1
	( unset MAKEFLAGS MAKELEVEL MFLAGS; export -p ) >"$_dir/examples/env"
	echo "$_dir" >"$_dir/examples/pwd"
	while [ "$_k" -le "$_n" ]; do
		_ex=$_dir/examples/$_k
		_k=$((_k + 1))
		if [ -f "$_ex.skip" ]; then
			if _why=$(skip_reason "$_doc" "$_ex.skip"); then
				test_skip_ "$(example_title "$_doc" "$_ex.skip")" "$_why"
			else
				test_expect_success "$(example_title "$_doc" "$_ex.skip")" '
					echo "a block without a command, not in \$skips"
					false
				'
			fi
			continue
		fi
		if _why=$(skip_reason "$_doc" "$_ex.cmd"); then
			test_skip_ "$(example_title "$_doc" "$_ex.cmd")" "$_why"
			continue
		fi
		{
			echo '_st=$1; unset MAKEFLAGS MAKELEVEL MFLAGS'
			echo '. "$_st/env" && cd "$(cat "$_st/pwd")" || exit 125'
			sed "s|/usr/local/share/pm/|$PM_ROOT/share/pm/|g" "$_ex.cmd"
			echo '_s=$?; pwd >"$_st/pwd"; { set; export -p; } >"$_st/env"'
			echo 'exit $_s'
		} >"$_ex.run"
		_p=$_pre
		grep -q zstd "$_ex.cmd" && _p=$_p,ZSTD
		test_expect_success "$_p" "$(example_title "$_doc" "$_ex.cmd")" '
			{ sh "$_ex.run" "$_dir/examples" >"$_ex.got" 2>&1 || {
				echo "exit status $?"; cat "$_ex.got"; false; }; } &&
			output_is "$_ex.out" "$_ex.got"
		'
	done
}

# Whether every entry of $skips was used.
test_skips_used() {
	test_expect_success 'every example skipped is an example' '
		printf "%s\n" "$skips" | sed "/^\$/d" | cut -f 1,2 | sort -u >skips.listed &&
		sort -u "$TRASH/skips.used" >skips.got &&
		test_cmp skips.listed skips.got
	'
}
: >"$TRASH/skips.used"
