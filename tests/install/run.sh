#!/usr/bin/env bash
# tests/install/run.sh CMAKE BUILD_DIR CC [CFLAGS] - what `cmake --install`
# puts under a prefix chosen at install time works from there.
#
# Installs BUILD_DIR (already built) with `cmake --install BUILD_DIR --prefix
# TMP`, then checks that steward.pc names TMP (not the prefix the build was
# configured with), that a small C program compiled and linked with
# `pkg-config --cflags --libs steward` runs, and that TMP/bin/steward runs in
# an empty environment (no LD_LIBRARY_PATH): it finds libsteward through its
# own RUNPATH, which must not name the build tree; and that examples/testkit, a
# project of a user testing its definition with the kit (steward_test.h),
# builds with `pkg-config steward-test` and passes. CFLAGS are the build's own
# (a sanitizer build needs them to link the program). Prints "N passed, M
# failed" and exits non-zero on any failure. The prefix is always removed.
set -u

CMAKE=${1:?usage: tests/install/run.sh CMAKE BUILD_DIR CC [CFLAGS]}
BUILD=${2:?usage: tests/install/run.sh CMAKE BUILD_DIR CC [CFLAGS]}
CC=${3:?usage: tests/install/run.sh CMAKE BUILD_DIR CC [CFLAGS]}
CFLAGS=${4:-}
BUILD=$(cd "$BUILD" && pwd -P) || exit 1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/steward-install.XXXXXX") || exit 1
TMP=$(cd "$TMP" && pwd -P) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
PREFIX=$TMP/prefix

PASSED=0
FAILED=0
pass() {
	PASSED=$((PASSED + 1))
	echo "ok   $1"
}
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/     /'
}
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

# inside PATH: 0 when PATH (resolved) is PREFIX or below it.
inside() {
	local p
	p=$(realpath -m "$1") || return 1
	case $p in
	"$PREFIX" | "$PREFIX"/*) return 0 ;;
	esac
	return 1
}

if OUT=$("$CMAKE" --install "$BUILD" --prefix "$PREFIX" 2>&1); then
	pass "cmake --install --prefix"
else
	fail "cmake --install --prefix" "$OUT"
	finish
fi

PC=$(find "$PREFIX" -name steward.pc -path '*/pkgconfig/*' | head -n 1)
if [ -n "$PC" ] && inside "$PC"; then
	pass "steward.pc installed ($PC)"
else
	fail "steward.pc installed" "no */pkgconfig/steward.pc under $PREFIX"
	finish
fi
export PKG_CONFIG_PATH=${PC%/steward.pc}

# The variables and every -I and -L of steward itself point into the prefix.
ok=1
why=""
for v in prefix libdir includedir; do
	val=$(pkg-config --variable="$v" steward 2>&1)
	if ! inside "$val"; then
		ok=0
		why="$why$v=$val is not under $PREFIX"$'\n'
	fi
done
[ "$ok" = 1 ] && pass "steward.pc: prefix, libdir and includedir under the install prefix" ||
	fail "steward.pc: prefix, libdir and includedir under the install prefix" "$why$(cat "$PC")"

if FLAGS=$(pkg-config --cflags --libs steward 2>&1); then
	pass "pkg-config --cflags --libs steward"
else
	fail "pkg-config --cflags --libs steward" "$FLAGS"
	finish
fi
INC=$(pkg-config --variable=includedir steward)
LIB=$(pkg-config --variable=libdir steward)
seen_i=0
seen_l=0
for f in $FLAGS; do
	case $f in
	-I*) inside "${f#-I}" && seen_i=1 ;;
	-L*) inside "${f#-L}" && seen_l=1 ;;
	esac
done
if [ "$seen_i" = 1 ] && [ "$seen_l" = 1 ] && [ -f "$INC/steward.h" ] &&
	[ -e "$LIB/libsteward.so" ]; then
	pass "the flags point into the prefix ($FLAGS)"
else
	fail "the flags point into the prefix" "flags: $FLAGS; steward.h in $INC, libsteward.so in $LIB"
fi

# A program built the way a user builds one, run without LD_LIBRARY_PATH (its
# RUNPATH is given here: finding a library is the user's business).
cat >"$TMP/hello.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <steward.h>

int main(void)
{
	struct stw_engine *e = NULL;
	int64_t head = -1;
	if (stw_open(":memory:", NULL, &e) != STW_OK || stw_head(e, "Billing", &head) != STW_OK) {
		fprintf(stderr, "%s\n", e ? stw_errmsg(e) : "cannot open");
		stw_close(e);
		return 1;
	}
	stw_close(e);
	printf("steward %s head %lld\n", stw_version(), (long long)head);
	return 0;
}
EOF
# shellcheck disable=SC2086 # the flags are words
if OUT=$("$CC" $CFLAGS $(pkg-config --cflags steward) "$TMP/hello.c" -o "$TMP/hello" \
	$(pkg-config --libs steward) "-Wl,-rpath,$LIB" 2>&1); then
	pass "a program compiles and links with pkg-config's flags"
	VERSION=$(pkg-config --modversion steward)
	OUT=$(env -i "$TMP/hello" 2>&1)
	if [ "$OUT" = "steward $VERSION head 0" ]; then
		pass "it runs against the installed library"
	else
		fail "it runs against the installed library" "$OUT"
	fi
	if OUT=$(env -i LD_DEBUG=libs "$TMP/hello" 2>&1) &&
		printf '%s\n' "$OUT" | grep 'calling init:.*libsteward' | grep -qF "$LIB"; then
		pass "it loaded libsteward from the prefix"
	else
		fail "it loaded libsteward from the prefix" "$(printf '%s\n' "$OUT" | grep libsteward | tail -n 3)"
	fi
else
	fail "a program compiles and links with pkg-config's flags" "$OUT"
fi

# The test kit: examples/testkit built out of the tree with its own Makefile and
# pkg-config's steward-test, and run (its scenario, plain and under faults).
EXAMPLE=$(cd "$(dirname "$0")/../../examples/testkit" && pwd) || finish
cp "$EXAMPLE"/shipment.[ch] "$EXAMPLE/shipment_test.c" "$EXAMPLE/Makefile" "$TMP/"
if OUT=$(make -s -C "$TMP" CC="$CC" CFLAGS="-O1 -Wall -Wextra -Werror $CFLAGS" \
	LDFLAGS="-Wl,-rpath,$LIB" check 2>&1) &&
	printf '%s\n' "$OUT" | grep -q 'shipment: all passed'; then
	pass "examples/testkit builds with pkg-config's steward-test and passes"
else
	fail "examples/testkit builds with pkg-config's steward-test and passes" "$OUT"
fi
[ -f "$INC/steward_test.h" ] && pass "steward_test.h installed" ||
	fail "steward_test.h installed" "not in $INC"

# The installed program runs in an empty environment.
STEWARD=$PREFIX/bin/steward
OUT=$(env -i "$STEWARD" --version 2>&1)
if [ "$OUT" = "steward $(pkg-config --modversion steward)" ]; then
	pass "env -i $STEWARD --version"
else
	fail "env -i $STEWARD --version" "$OUT"
fi
if OUT=$(env -i LD_DEBUG=libs "$STEWARD" --version 2>&1) &&
	printf '%s\n' "$OUT" | grep 'calling init:.*libsteward' | grep -qF "$PREFIX/"; then
	pass "steward loaded libsteward from the prefix"
else
	fail "steward loaded libsteward from the prefix" "$(printf '%s\n' "$OUT" | grep libsteward | tail -n 3)"
fi
RUNPATH=$(readelf -d "$STEWARD" 2>&1 | grep -E 'RUNPATH|RPATH')
case $RUNPATH in
*"$BUILD"*) fail "steward's RUNPATH does not name the build tree" "$RUNPATH" ;;
*'$ORIGIN'*) pass "steward's RUNPATH is relative to the program ($RUNPATH)" ;;
*) fail "steward's RUNPATH is relative to the program" "${RUNPATH:-none}" ;;
esac

finish
