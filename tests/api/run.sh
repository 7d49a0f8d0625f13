#!/usr/bin/env bash
# tests/api/run.sh STEWARD - the HTTP API suite (tests/api/api.test.mjs) over
# real loopback HTTP.
#
# Starts `steward demo voiding` on a free port with a fresh database, runs the
# suite with Node's built-in test runner (Node >= 20: node:test and fetch, no
# packages) with the base URL in STEWARD_TEST_URL, then stops the daemon and
# checks that it stopped cleanly. Installs Node (Debian's nodejs) when missing.
# The daemon is always stopped and the temporary directory removed.
set -u

BIN=${1:?usage: tests/api/run.sh STEWARD_BINARY}
case $BIN in
/*) ;;
*) BIN=$PWD/$BIN ;;
esac
[ -x "$BIN" ] || {
	echo "not executable: $BIN" >&2
	exit 1
}
HERE=$(cd "$(dirname "$0")" && pwd)

NODE=${NODE:-node}
if ! command -v "$NODE" >/dev/null 2>&1; then
	"$HERE/../../scripts/deps.sh" nodejs || {
		echo "node is needed for the HTTP API suite and could not be installed" >&2
		exit 1
	}
fi
MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$MAJOR" -lt 18 ]; then
	echo "node $MAJOR is older than 18 (fetch and node:test are needed)" >&2
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/steward-api.XXXXXX") || exit 1
DAEMON=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
		kill -TERM "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN" demo voiding --db "$TMP/api.db" --listen 127.0.0.1:0 --every 0 --quiet \
	>"$TMP/daemon.out" 2>&1 </dev/null &
DAEMON=$!
PORT=""
for _ in $(seq 100); do
	PORT=$(sed -n 's|^open http://localhost:\([0-9][0-9]*\)/.*|\1|p' "$TMP/daemon.out")
	[ -n "$PORT" ] && break
	kill -0 "$DAEMON" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$PORT" ]; then
	echo "FAIL the daemon did not start:"
	cat "$TMP/daemon.out"
	exit 1
fi
echo "daemon pid $DAEMON on http://127.0.0.1:$PORT"

STEWARD_TEST_URL=http://127.0.0.1:$PORT "$NODE" --test --test-reporter=spec \
	"$HERE/api.test.mjs" </dev/null
STATUS=$?

kill -TERM "$DAEMON"
wait "$DAEMON"
DSTATUS=$?
DAEMON=""
if [ "$DSTATUS" -ne 0 ]; then
	echo "FAIL the daemon exited with status $DSTATUS:"
	tail -n 40 "$TMP/daemon.out"
	[ "$STATUS" -eq 0 ] && STATUS=1
fi
grep -v -e '^steward ' -e '^open http' -e '^steward: stopped$' "$TMP/daemon.out" | head -n 20 |
	sed 's/^/daemon| /'
exit "$STATUS"
