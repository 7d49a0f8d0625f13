#!/bin/sh
# fuzz.sh BUILD_DIR SECONDS TARGET... - runs each fuzz target of a fuzz-preset
# build (BUILD_DIR/tests/fuzz/fuzz_TARGET, libFuzzer) for SECONDS, FUZZ_JOBS
# targets at a time (default 2), each on its work corpus BUILD_DIR/fuzz/TARGET/:
# a copy of tests/fuzz/corpus/TARGET/ that also keeps what earlier runs found,
# so that the repository's corpus is never written to. With its dictionary
# tests/fuzz/dict/TARGET.dict when there is one.
#
# Prints, per target, the executions, libFuzzer's coverage (cov: and ft: of its
# last line) and the crashes (a crash, a sanitizer's report, a leak, a failed
# check or an input slower than 10 s: each stops the target and leaves its
# input in BUILD_DIR/fuzz/TARGET-crash-*); exits 1 if any target had one.
set -u
if [ "${1:-}" = "--one" ]; then
	# One target (called through xargs): BUILD SECONDS TARGET.
	build=$2 seconds=$3 t=$4
	root=$(cd "$(dirname "$0")/.." && pwd)
	work=$build/fuzz/$t
	mkdir -p "$work"
	cp "$root/tests/fuzz/corpus/$t"/* "$work/"
	rm -f "$build/fuzz/$t"-crash-* "$build/fuzz/$t"-leak-* "$build/fuzz/$t"-timeout-*
	dict=""
	[ -f "$root/tests/fuzz/dict/$t.dict" ] && dict="-dict=$root/tests/fuzz/dict/$t.dict"
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$build/fuzz/$t-" $dict "$work" \
		>"$build/fuzz/$t.log" 2>&1
	echo $? >"$build/fuzz/$t.status"
	exit 0
fi

BUILD=${1:?usage: fuzz.sh BUILD_DIR SECONDS TARGET...}
SECONDS_EACH=${2:?usage: fuzz.sh BUILD_DIR SECONDS TARGET...}
shift 2
mkdir -p "$BUILD/fuzz"
echo "fuzzing $* for $SECONDS_EACH s each, ${FUZZ_JOBS:-2} at a time (logs: $BUILD/fuzz/TARGET.log)"
printf '%s\n' "$@" | xargs -P "${FUZZ_JOBS:-2}" -I{} "$0" --one "$BUILD" "$SECONDS_EACH" {}

STATUS=0
printf '%-10s %12s %8s %8s %8s  %s\n' target executions cov ft corpus crashes
for t in "$@"; do
	log=$BUILD/fuzz/$t.log
	rc=$(cat "$BUILD/fuzz/$t.status" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	found=$(ls "$BUILD/fuzz/$t"-crash-* "$BUILD/fuzz/$t"-leak-* "$BUILD/fuzz/$t"-timeout-* 2>/dev/null | wc -l)
	crashes=0
	if [ "$rc" != 0 ] || [ "$found" != 0 ]; then
		crashes=1
		STATUS=1
	fi
	printf '%-10s %12s %8s %8s %8s  %s\n' "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
	if [ "$crashes" != 0 ]; then
		echo "== $t failed (exit $rc); the end of $log:"
		tail -n 40 "$log"
		ls "$BUILD/fuzz/$t"-crash-* "$BUILD/fuzz/$t"-leak-* "$BUILD/fuzz/$t"-timeout-* 2>/dev/null
	fi
done
exit $STATUS
