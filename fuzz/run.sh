#!/bin/sh
# fuzz/run.sh: fuzz one target for a while, politely: under nice -n 19,
# one process, in a working corpus fuzz/out/corpus/NAME that starts from
# the committed fuzz/corpus/NAME, with the tokens of fuzz/NAME.dict
# when there is one.  A crash lands in fuzz/out/crash/NAME/
# and stops the run.  The last lines of the log are libFuzzer's final
# statistics (stat::number_of_executed_units: the executions).
#
# usage: sh fuzz/run.sh name seconds [libFuzzer option ...]
# Build first: make fuzz.  Then fold what was found into the committed
# corpus, minimised: sh fuzz/merge.sh name.

set -e

[ $# -ge 2 ] || { echo "usage: fuzz/run.sh name seconds [option ...]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
name=$1
secs=$2
shift 2
bin=$root/fuzz/out/$name
[ -x "$bin" ] || { echo "fuzz/run.sh: $bin: not built (make fuzz)" >&2; exit 2; }
work=$root/fuzz/out/corpus/$name
crash=$root/fuzz/out/crash/$name
mkdir -p "$work" "$crash"
cp "$root/fuzz/corpus/$name"/* "$work/" 2>/dev/null || :
dict=
[ -f "$root/fuzz/$name.dict" ] && dict=-dict=$root/fuzz/$name.dict
cd "$crash"
exec nice -n 19 "$bin" -max_total_time="$secs" -print_final_stats=1 \
    -timeout=10 -artifact_prefix="$crash/" $dict "$@" "$work"
