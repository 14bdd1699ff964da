#!/bin/sh
# bench/media.sh: put the real media the benchmarks use into a directory,
# from Debian's opencv-doc (OpenCV's sample data, BSD-3 / Apache-2.0) and
# python3-imageio (imageio's sample images, BSD-2) packages.
#
# usage: bench/media.sh DIR FILE...
# Files already in DIR are kept.  Otherwise the packages are downloaded
# with apt-get download (into DIR/.deb, kept) and the files extracted.
# t/data's copies are used where they are enough.
set -eu
[ $# -ge 2 ] || { echo "usage: bench/media.sh DIR FILE..." >&2; exit 2; }
case $1 in
/*) dir=$1 ;;
*) dir=$PWD/$1 ;;
esac
shift
cd "$(dirname "$0")/.."
mkdir -p "$dir"
cvdata=./usr/share/doc/opencv-doc/examples/data
iodata=./usr/lib/python3/dist-packages/imageio/resources/images

need=
for f; do
	[ -s "$dir/$f" ] && continue
	if [ -s "t/data/$f" ]; then
		cp "t/data/$f" "$dir/$f"
		continue
	fi
	need="$need $f"
done
[ -n "$need" ] || exit 0

mkdir -p "$dir/.deb"
cd "$dir/.deb"
for pkg in opencv-doc python3-imageio; do
	ls ${pkg}_*.deb >/dev/null 2>&1 && continue
	apt-get download "$pkg" >/dev/null 2>&1 ||
	    apt-get download "$pkg" >/dev/null || {
		echo "bench/media.sh: cannot download $pkg (apt-get update" \
		    "first?)" >&2
		exit 1
	}
done
# One pass over each package (xz: reading one is slow).
rm -rf x
mkdir x
for p in "opencv-doc $cvdata" "python3-imageio $iodata"; do
	set -- $p
	paths=
	for f in $need; do
		paths="$paths $2/$f"
	done
	# tar complains of the files the package lacks
	dpkg-deb --fsys-tarfile "$1"_*.deb | tar -x -C x $paths 2>/dev/null || :
done
for f in $need; do
	for d in $cvdata $iodata; do
		if [ -s "x/$d/$f" ]; then mv "x/$d/$f" "../$f"; fi
	done
	[ -s "../$f" ] || { echo "bench/media.sh: $f: in neither package" >&2; exit 1; }
done
rm -rf x
