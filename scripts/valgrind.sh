#!/bin/sh
# Runs every unit and scenario test of a build under valgrind's memcheck and
# fails on any error or definite/indirect leak. A test that exits 77 (the
# PostgreSQL store contract without STEWARD_TEST_PG_URL) is skipped; `make
# valgrind` runs this inside scripts/pg-cluster.sh, so that it runs.
set -u
build=${1:-build/dev}
status=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=1 "$t" >"$t.valgrind.log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		echo "valgrind ok   $(basename "$t")"
	elif [ $rc = 77 ]; then
		echo "valgrind skip $(basename "$t") (it says why in $t.valgrind.log)"
	else
		echo "valgrind FAIL $(basename "$t") (log: $t.valgrind.log)"
		tail -n 40 "$t.valgrind.log"
		status=1
	fi
done
exit $status
