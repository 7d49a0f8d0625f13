#!/bin/sh
# check-layers.sh BUILD_DIR - checks that the source files of each layer of
# the library (src/core, src/store, src/http) call each other in one
# direction only: no file calls a file that calls it back, directly or
# around a longer circle. It reads the symbols each object file defines and
# uses (nm) and orders the files with tsort, which reports any circle.
#
# Prints, per layer, each file with the files it calls, bottom layer first;
# exits 1 on a circle.
set -eu
BUILD=${1:?usage: check-layers.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATUS=0
for layer in src/core src/store src/http; do
	case $layer in
	src/http) dir=$BUILD/CMakeFiles/steward_http.dir/$layer ;;
	*) dir=$BUILD/CMakeFiles/steward_obj.dir/$layer ;;
	esac
	[ -d "$dir" ] || { echo "check-layers: no objects in $dir (build first)" >&2; exit 2; }
	# "file kind symbol" for every global symbol defined (D) or used (U).
	# Objects of sources that still exist (a build directory keeps old ones).
	objs=$(for src in "$ROOT/$layer"/*.c; do
		o="$dir/$(basename "$src").o"
		[ -f "$o" ] || { echo "check-layers: $o is missing (build first)" >&2; exit 2; }
		echo "$o"
	done)
	edges=$(for o in $objs; do
		f=$(basename "$o" .o)
		nm "$o" | awk -v f="$f" '
			NF == 3 && $2 ~ /^[TDBRC]$/ { print f, "D", $3 }
			NF == 2 && $1 == "U" { print f, "U", $2 }'
	done | awk '
		$2 == "D" { owner[$3] = $1; next }
		{ use[NR] = $1 " " $3 }
		END {
			for (i in use) {
				split(use[i], p, " ")
				if ((p[2] in owner) && owner[p[2]] != p[1])
					print owner[p[2]], p[1]
			}
		}' | sort -u)
	files=$(for o in $objs; do basename "$o" .o; done)
	echo "== $layer (each file, then the files it calls)"
	# A file calls nothing of its own layer: list it with itself as an edge.
	order=$( { echo "$edges"; for f in $files; do echo "$f $f"; done; } | tsort 2>"$BUILD/check-layers.err") || true
	if [ -s "$BUILD/check-layers.err" ]; then
		echo "check-layers: a circle among the files of $layer:" >&2
		cat "$BUILD/check-layers.err" >&2
		STATUS=1
	fi
	for f in $order; do
		calls=$(echo "$edges" | awk -v f="$f" '$2 == f { printf "%s ", $1 }')
		printf '  %-14s %s\n' "$f" "$calls"
	done
done
rm -f "$BUILD/check-layers.err"
exit $STATUS
