#!/usr/bin/env bash
# tests/api/run.sh STEWARD - the HTTP API suite (tests/api/api.test.mjs) over
# real loopback HTTP.
#
# Starts `steward demo voiding` on a free port with a fresh store (an SQLite
# database, or a PostgreSQL schema with STEWARD_TEST_STORE=pg), runs the
# suite with Node's built-in test runner (Node >= 20: node:test and fetch, no
# packages) with the base URL in STEWARD_TEST_URL, then stops the daemon and
# checks that it stopped cleanly. Then does the same with a second daemon that
# requires a bearer token (--token-file) for tests/api/auth.test.mjs (the token
# in STEWARD_TEST_TOKEN), and checks that the token never appears in that
# daemon's output. Installs Node (Debian's nodejs) when missing. The daemons
# are always stopped and the temporary directory removed.
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

# store NAME: a fresh store: a database in TMP, or with STEWARD_TEST_STORE=pg a
# schema of its own on the test cluster (STEWARD_TEST_PG_URL).
store() {
	if [ "${STEWARD_TEST_STORE:-}" = pg ]; then
		"$HERE/../../scripts/pg-cluster.sh" schema "api_$$_$1" || exit 1
	else
		echo "$TMP/$1.db"
	fi
}

# start NAME [OPTION...]: starts `steward demo voiding` on a fresh store and a
# free port; sets DAEMON and PORT, or exits.
start() {
	local name=$1 db
	shift
	db=$(store "$name") || exit 1
	"$BIN" demo voiding --db "$db" --listen 127.0.0.1:0 --every 0 --quiet "$@" \
		>"$TMP/$name.out" 2>&1 </dev/null &
	DAEMON=$!
	PORT=""
	for _ in $(seq 100); do
		PORT=$(sed -n 's|^open http://localhost:\([0-9][0-9]*\)/.*|\1|p' "$TMP/$name.out")
		[ -n "$PORT" ] && break
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$PORT" ]; then
		echo "FAIL the daemon did not start:"
		cat "$TMP/$name.out"
		exit 1
	fi
	echo "daemon pid $DAEMON on http://127.0.0.1:$PORT"
}

# stop NAME: stops the daemon and checks that it stopped cleanly; sets STATUS
# to 1 when it did not.
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

# The API open to everyone (no token): the default. The suite posts events to
# contexts of its own (unique per run), which the daemon takes with '*'.
start api --accept-contexts '*'
STEWARD_TEST_URL=http://127.0.0.1:$PORT "$NODE" --test --test-reporter=spec \
	"$HERE/api.test.mjs" </dev/null
STATUS=$?
stop api

# Hostile input on a daemon nothing else writes to (so that "nothing stored" can be checked).
start hostile
STEWARD_TEST_URL=http://127.0.0.1:$PORT "$NODE" --test --test-reporter=spec \
	"$HERE/hostile.test.mjs" </dev/null || STATUS=1
stop hostile

# Which contexts take events: the declared ones and Warehouse only.
start contexts --accept-contexts Warehouse
STEWARD_TEST_URL=http://127.0.0.1:$PORT "$NODE" --test --test-reporter=spec \
	"$HERE/contexts.test.mjs" </dev/null || STATUS=1
stop contexts

# The same daemon requiring a token (docs/API.md, "Authentication").
TOKEN="tok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
start auth --token-file "$TMP/token"
STEWARD_TEST_URL=http://127.0.0.1:$PORT STEWARD_TEST_TOKEN=$TOKEN "$NODE" --test \
	--test-reporter=spec "$HERE/auth.test.mjs" </dev/null || STATUS=1
stop auth
if grep -q -- "$TOKEN" "$TMP/auth.out"; then
	echo "FAIL the token appears in the daemon's output"
	STATUS=1
elif ! grep -q 'a token is required' "$TMP/auth.out"; then
	echo "FAIL the daemon does not say that it requires a token"
	STATUS=1
else
	echo "ok   the token never appears in the daemon's output"
fi
exit "$STATUS"
