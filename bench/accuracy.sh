#!/bin/sh
# bench/accuracy.sh: pm's accuracy on clips made from real media with a
# known ground truth, beside two baselines scored in the same run:
#   embed  the decision of the system pm replaces: a frame shows a product
#          when the cosine similarity of their pm-embed vectors passes a
#          threshold (the threshold with the best F1 on this very data,
#          which flatters it)
#   brute  every catalog image verified in every frame by cv_verify(), no
#          shortlist (bench/gen/brute.c)
#
# usage: bench/accuracy.sh [-v] [scene]	(-v: every interval and false claim)
#
# The media come from Debian's opencv-doc and python3-imageio packages
# (bench/media.sh, apt-get download); bench/accuracy.scene describes the
# clips, which accgen makes once into bench/out/acc (bench/clips.sh).
# bench/holdout.scene describes clips of other products that pm was
# never tuned on (into bench/out/holdout): the same figures there tell
# whether pm'"'"'s thresholds hold beyond the clips they were chosen on.
# The stages not built yet are skipped, with what they hold up.
# Environment: PM_BENCH_JOBS (threads, default 2), PM_BENCH_FRAMES
# (pm-frames options, default "-f 1", the job's), PM_BENCH_KP (pm-kp
# options, for the catalog and the frames), PM_BENCH_FRAME_KP (for the
# frames, instead), PM_BENCH_MATCH (pm-match options).
set -eu
here=$PWD
cd "$(dirname "$0")/.."
root=$PWD
PATH=$root/bin:$PATH
jobs=${PM_BENCH_JOBS:-2}
fopts=${PM_BENCH_FRAMES:--f 1}
mopts=${PM_BENCH_MATCH:-}
kopts=${PM_BENCH_KP:-}
fkopts=${PM_BENCH_FRAME_KP:-$kopts}
verbose=
case ${1:-} in
-v) verbose=-v; shift ;;
-*) echo "usage: bench/accuracy.sh [-v] [scene]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: bench/accuracy.sh [-v] [scene]" >&2; exit 2; }
scene=bench/accuracy.scene
if [ $# = 1 ]; then
	case $1 in
	/*) scene=$1 ;;
	*) scene=$here/$1 ;;
	esac
fi
name=$(basename "$scene" .scene)
[ "$name" != accuracy ] || name=acc
out=$root/bench/out/$name

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
say() { printf 'accuracy.sh: %s\n' "$*" >&2; }

sh bench/clips.sh "$scene"
say "clips, catalog and truth in bench/out/$name"

export PM_STORE="$out/store"
run=$out/run
rm -rf "$run"
mkdir -p "$run"
missing=
for p in pm-fetch pm-frames pm-kp pm-embed pm-index pm-match; do
	command -v $p >/dev/null || missing="$missing $p"
done
[ -z "$missing" ] || say "not built yet:$missing (the stages that need" \
    "them are skipped)"
have() {
	for p; do
		command -v "$p" >/dev/null || return 1
	done
}

# stage NAME IN OUT COMMAND ARG...: run COMMAND -r REJECTS ARG... <IN
# >OUT, timed; exit 1 (some records rejected) is reported and the run
# goes on.
stage() {
	name=$1 in=$2 outf=$3
	shift 3
	t0=$(now)
	st=0
	cmd=$1
	shift
	"$cmd" -r "$run/$name.rej" "$@" <"$in" >"$outf" 2>"$run/$name.err" ||
	    st=$?
	if [ $st -ge 2 ]; then
		cat "$run/$name.err" >&2
		say "$name failed (exit $st)"
		exit 2
	fi
	msg="$name: $(since "$t0")"
	[ $st = 0 ] || msg="$msg, $(grep -c . "$run/$name.rej" || :) records rejected (see $run/$name.err)"
	say "$msg"
}

sets=
sweep=
lost=
if have pm-fetch pm-kp; then
	stage catalog-fetch "$out/catalog.ndjson" "$run/cat.fetch" pm-fetch -j "$jobs"
	stage catalog-kp "$run/cat.fetch" "$run/cat.kp" pm-kp -j "$jobs" $kopts
	cat=$run/cat.kp
	if have pm-embed; then
		stage catalog-embed "$run/cat.kp" "$run/cat.emb" pm-embed -j "$jobs"
		cat=$run/cat.emb
	fi
else
	say "no catalog: pm-fetch and pm-kp are needed"
fi
if have pm-fetch pm-frames pm-kp; then
	stage video-fetch "$out/videos.ndjson" "$run/vid.fetch" pm-fetch -j "$jobs"
	stage frames "$run/vid.fetch" "$run/vid.frames" pm-frames -j "$jobs" $fopts
	stage frames-kp "$run/vid.frames" "$run/vid.kp" pm-kp -j "$jobs" $fkopts
	frames=$run/vid.kp
	if have pm-embed; then
		stage frames-embed "$run/vid.kp" "$run/vid.emb" pm-embed -j "$jobs"
		frames=$run/vid.emb
	fi
	say "$(grep -c '"type":"frame"' "$frames") frames sampled ($fopts)"
else
	say "no frames: pm-fetch, pm-frames and pm-kp are needed"
fi

if have pm-fetch pm-frames pm-kp pm-embed pm-index pm-match; then
	stage index "$cat" "$run/index.ndjson" pm-index -o "$run/catalog.idx"
	stage match "$frames" "$run/pm.ndjson" pm-match -j "$jobs" -i "$run/catalog.idx" $mopts
	sets="$sets pm=$run/pm.ndjson"
else
	say "pm: skipped (needs every stage)"
fi
if have pm-fetch pm-frames pm-kp pm-embed; then
	stage embed-baseline "$frames" "$run/embed.ndjson" bench/out/embbase -j "$jobs" "$cat"
	sets="$sets embed=$run/embed.ndjson"
	sweep="-S embed"
else
	say "embed baseline: skipped (needs pm-fetch, pm-frames, pm-kp, pm-embed)"
fi
if have pm-fetch pm-frames pm-kp; then
	stage brute-baseline "$frames" "$run/brute.ndjson" bench/out/brute -j "$jobs" "$cat"
	sets="$sets brute=$run/brute.ndjson"
	case $sets in *pm=*) lost="-L pm:brute" ;; esac
else
	say "brute-force baseline: skipped (needs pm-fetch, pm-frames, pm-kp)"
fi

# graf1 -> graf3, the Oxford "Graffiti" pair in t/data: the box against
# the dataset's true homography H1to3p (goal: every corner within 2 px).
graf=
if have pm-fetch pm-kp; then
	g=$run/graf
	mkdir -p "$g"
	echo "{\"type\":\"product\",\"id\":\"graf1\",\"images\":[\"$root/t/data/graf1.png\"]}" |
	    pm-fetch | pm-kp >"$g/cat.kp"
	b=$(pm-store put t/data/graf3.png)
	echo "{\"type\":\"frame\",\"video\":\"graf\",\"t\":0,\"blob\":\"$b\",\"w\":800,\"h\":640}" |
	    pm-kp >"$g/frame.kp"
	bench/out/brute "$g/cat.kp" "$g/frame.kp" >"$g/brute.ndjson"
	graf="$graf brute=$g/brute.ndjson"
	if have pm-embed pm-index pm-match; then
		pm-embed <"$g/cat.kp" >"$g/cat.emb"
		pm-embed <"$g/frame.kp" >"$g/frame.emb"
		pm-index -o "$g/idx" <"$g/cat.emb" >/dev/null
		pm-match -i "$g/idx" <"$g/frame.emb" >"$g/pm.ndjson"
		graf="pm=$g/pm.ndjson$graf"
	fi
fi

if [ -z "$sets" ]; then
	say "nothing to score yet; the benchmark's clips are in $out/videos"
	exit 0
fi
echo
echo "pm accuracy benchmark (bench/accuracy.sh ${scene#$root/}): $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
# shellcheck disable=SC2086
bench/out/accscore $verbose $sweep $lost -t "$out/truth.ndjson" $sets
if [ -n "$graf" ]; then
	echo
	echo "graf1 -> graf3 (t/data, H1to3p): box corners against the true homography"
	h=$(sed -n '/<data>/,/<\/data>/p' t/data/H1to3p.xml |
	    sed 's/<[^>]*>//g' | tr '\n' ' ')
	for s in $graf; do
		jq -r 'select(.type == "match" and .product == "graf1") |
		    .box | map(map(tostring) | join(" ")) | join(" ")' \
		    "${s#*=}" | awk -v h="$h" -v n="${s%%=*}" '
		    BEGIN { split(h, H, " "); found = 0 }
		    { found = 1; w = 800; ht = 640; max = 0; sum = 0
		      split("-0.5 -0.5 " w - 0.5 " -0.5 " w - 0.5 " " ht - 0.5 \
			  " -0.5 " ht - 0.5, c, " ")
		      for (k = 0; k < 4; k++) {
			x = c[2 * k + 1]; y = c[2 * k + 2]
			z = H[7] * x + H[8] * y + H[9]
			px = (H[1] * x + H[2] * y + H[3]) / z
			py = (H[4] * x + H[5] * y + H[6]) / z
			e = sqrt(($(2 * k + 1) - px) ^ 2 + ($(2 * k + 2) - py) ^ 2)
			sum += e; if (e > max) max = e
		      }
		      printf "  %-6s worst corner %.2f px, mean %.2f px  (goal: within 2 px)\n",
			  n, max, sum / 4 }
		    END { if (!found) printf "  %-6s no match\n", n }'
	done
fi
echo
echo "Frames sampled by pm-frames $fopts; embed and brute see the same frames"
echo "and join frame matches into appearances when at most 1.5 s apart."
[ -z "$sweep" ] || echo "embed's threshold is the one with the best F1 on this data."
