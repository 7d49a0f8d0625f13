# shellcheck shell=bash
# tests/api/daemon.sh - sourced by the drivers of the API suites (run.sh,
# load.sh), after `set -u`, with the steward binary as their first argument.
# Checks the binary and Node (Debian's nodejs installed when missing; >= 18:
# fetch and node:test), makes $TMP (removed at exit, a daemon still running
# stopped first) and its stores with tests/support/steward.sh, and defines
#   start NAME [OPTION...]  `steward demo voiding` on a fresh store
#                           ($TMP/NAME.db, or with STEWARD_TEST_STORE=pg a
#                           PostgreSQL schema of its own) and a free port, its
#                           output in $TMP/NAME.out; sets DAEMON and PORT, or
#                           exits 1
#   launch NAME COMMAND [OPTION...]
#                           the same with `steward COMMAND [OPTION...]`
#   stop NAME               stops it and checks that it stopped cleanly
#                           (STATUS=1 when not), printing what else it said
# Sets BIN, HERE (tests/api), NODE, TMP and STATUS=0.

BIN=${1:?usage: $0 STEWARD_BINARY}
case $BIN in
/*) ;;
*) BIN=$PWD/$BIN ;;
esac
[ -x "$BIN" ] || {
	echo "not executable: $BIN" >&2
	exit 1
}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=tests/support/node.sh
. "$HERE/../support/node.sh" "the HTTP API suites"

STATUS=0
STORE_PREFIX=api
# shellcheck source=tests/support/steward.sh
. "$HERE/../support/steward.sh"
steward_tmp api

start() {
	local name=$1
	shift
	launch "$name" demo voiding --every 0 --quiet "$@"
}

# launch NAME COMMAND [OPTION...]: `steward COMMAND` on a fresh store (its URL or path
# in STORE_URL) and a free port.
launch() {
	local name=$1 db
	shift
	db=$(store "$name") || exit 1
	STORE_URL=$db
	start_daemon "$TMP/$name.out" "$@" --store "$db" --listen 127.0.0.1:0
	if [ -z "$PORT" ]; then
		echo "FAIL the daemon did not start:"
		cat "$TMP/$name.out"
		exit 1
	fi
	echo "daemon pid $DAEMON on http://127.0.0.1:$PORT"
}

stop() {
	kill -TERM "$DAEMON"
	wait "$DAEMON"
	local dstatus=$?
	DAEMON=""
	if [ "$dstatus" -ne 0 ]; then
		echo "FAIL the daemon exited with status $dstatus:"
		tail -n 40 "$TMP/$1.out"
		STATUS=1
	fi
	grep -v -e '^steward ' -e '^open http' -e '^steward: stopped$' "$TMP/$1.out" | head -n 20 |
		sed 's/^/daemon| /'
}
