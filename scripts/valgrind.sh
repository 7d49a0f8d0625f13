#!/bin/sh
# Runs every unit and scenario test of a build under valgrind's memcheck and
# fails on any error or definite/indirect leak.
set -u
build=${1:-build/dev}
status=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=1 "$t" >"$t.valgrind.log" 2>&1; then
		echo "valgrind ok   $(basename "$t")"
	else
		echo "valgrind FAIL $(basename "$t") (log: $t.valgrind.log)"
		tail -n 40 "$t.valgrind.log"
		status=1
	fi
done
exit $status
