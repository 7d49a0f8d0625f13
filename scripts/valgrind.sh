#!/bin/sh
# Runs every unit and scenario test of a build, and every fuzz target over its
# seed corpus (tests/fuzz/corpus/WHAT), under valgrind's memcheck and fails on
# any error or definite/indirect leak. A test that exits 77 (the PostgreSQL
# store's tests without STEWARD_TEST_PG_URL) is skipped; `make valgrind` runs
# this inside scripts/pg-cluster.sh, so that they run.
set -u
build=${1:-build/dev}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0

# check PROGRAM [ARG...]: runs it under memcheck, its log next to it.
check() {
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=1 "$@" >"$1.valgrind.log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		echo "valgrind ok   $(basename "$1")"
	elif [ $rc = 77 ]; then
		echo "valgrind skip $(basename "$1") (it says why in $1.valgrind.log)"
	else
		echo "valgrind FAIL $(basename "$1") (log: $1.valgrind.log)"
		tail -n 40 "$1.valgrind.log"
		status=1
	fi
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	check "$t"
done
for t in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	check "$t" "$root/tests/fuzz/corpus/${t##*/fuzz_}"
done
exit $status
