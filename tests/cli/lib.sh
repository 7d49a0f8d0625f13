# shellcheck shell=bash
# tests/cli/lib.sh - sourced by tests/cli/run.sh after `set -u`, BIN set:
# makes $TMP (removed at exit, a daemon still running stopped first) with
# tests/support/steward.sh (store NAME, start_daemon; schemas named
# cli_PID_NAME), and defines the checks: run ARGS... (the CLI; sets OUT, ERR,
# RC), check, ok, bad, expect, poll and no_raw_controls, counting PASSED and
# FAILED.

STORE_PREFIX=cli
# shellcheck source=tests/support/steward.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/steward.sh"
steward_tmp cli
unset STEWARD_URL STEWARD_TOKEN

PASSED=0
FAILED=0
OUT=""
ERR=""
RC=0

# run ARGS...: runs the CLI; sets OUT, ERR and RC.
run() {
	"$BIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# check NAME RC [STDOUT_ERE] [STDERR_ERE]: the last run exited RC and its
# outputs match the extended regular expressions given (empty: anything).
check() {
	local name=$1 want=$2 out_re=${3:-} err_re=${4:-} why=""
	if [ "$RC" != "$want" ]; then
		why="exit status $RC, expected $want"
	elif [ -n "$out_re" ] && ! grep -Eq -- "$out_re" <<<"$OUT"; then
		why="stdout does not match /$out_re/"
	elif [ -n "$err_re" ] && ! grep -Eq -- "$err_re" <<<"$ERR"; then
		why="stderr does not match /$err_re/"
	fi
	if [ -z "$why" ]; then
		ok "$name"
	else
		bad "$name" "$why"
	fi
}

ok() {
	PASSED=$((PASSED + 1))
	echo "ok   $1"
}

# bad NAME WHY: records a failure and shows the last run's outputs.
bad() {
	FAILED=$((FAILED + 1))
	echo "FAIL $1: $2"
	head -c 2000 "$TMP/out" | sed 's/^/     stdout| /'
	head -c 2000 "$TMP/err" | sed 's/^/     stderr| /'
}

# expect NAME COMMAND...: a shell condition that must hold.
expect() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name" "condition failed: $*"; fi
}

# poll ERE ARGS...: runs the CLI until its stdout matches ERE, for at most
# 15 s. Returns 1 if it never does.
poll() {
	local re=$1
	shift
	for _ in $(seq 150); do
		if "$BIN" "$@" >"$TMP/poll" 2>/dev/null </dev/null && grep -Eq -- "$re" "$TMP/poll"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# no_raw_controls FILE...: no control byte but newline, no C1 control and no
# bidi override reached the output.
no_raw_controls() {
	! LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$@" &&
		! LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$@" &&
		! LC_ALL=C grep -q "$(printf '\342\200\256')" "$@"
}
