#!/usr/bin/env bash
# tests/api/run.sh STEWARD - the HTTP API suite (tests/api/*.test.mjs, API_SUITE
# below) over real loopback HTTP.
#
# Starts `steward demo voiding` on a free port with a fresh store (an SQLite
# database, or a PostgreSQL schema with STEWARD_TEST_STORE=pg), runs the
# suite's files with Node's built-in test runner (Node >= 20: node:test and
# fetch, no packages) with the base URL in STEWARD_TEST_URL, one file after
# the other so that each is the daemon's only client, then stops the daemon
# and checks that it stopped cleanly. On PostgreSQL, cluster.test.mjs again on
# `steward serve` with a [cluster] section. Then does the same with a daemon that
# requires a bearer token (--token-file) for tests/api/auth.test.mjs (the token
# in STEWARD_TEST_TOKEN), and checks that the token never appears in that
# daemon's output. Installs Node (Debian's nodejs) when missing. The daemons
# are always stopped and the temporary directory removed (daemon.sh).
set -u

# shellcheck source=tests/api/daemon.sh
. "$(dirname "$0")/daemon.sh"

# The API open to everyone (no token): the default. The suite posts events to
# contexts of its own (unique per run), which the daemon takes with '*'.
API_SUITE="definitions instances events commands pages operations demo inputs cluster"
start api --accept-contexts '*'
for suite in $API_SUITE; do
	STEWARD_TEST_URL=http://127.0.0.1:$PORT "$NODE" --test --test-reporter=spec \
		"$HERE/$suite.test.mjs" </dev/null || STATUS=1
done
# Its threads carry names (top -H, perf, gdb; docs/ARCHITECTURE.md, "Threads").
threads=" $(cat /proc/"$DAEMON"/task/*/comm | sort -u | tr '\n' ' ')"
want="stw-api-group stw-conn-sweep stw-park"
[ "$STORE_KIND" = pg ] || want="$want stw-checkpoint"
missing=""
for name in $want; do
	case $threads in
	*" $name "*) ;;
	*) missing="$missing $name" ;;
	esac
done
if [ -n "$missing" ]; then
	echo "FAIL the daemon has no thread named$missing (it has:$threads)"
	STATUS=1
else
	echo "ok   the daemon's threads are named:$threads"
fi
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

# On PostgreSQL, a worker of a cluster: steward serve with [cluster] (cluster.test.mjs).
if [ "$STORE_KIND" = pg ]; then
	printf '[cluster]\nenabled = on\nworker = api-w1\nlease = 3s\nrenew = 500ms\n' \
		>"$TMP/cluster.conf"
	launch cluster serve --config "$TMP/cluster.conf"
	STEWARD_TEST_URL=http://127.0.0.1:$PORT STEWARD_TEST_CLUSTER_WORKER=api-w1 "$NODE" --test \
		--test-reporter=spec "$HERE/cluster.test.mjs" </dev/null || STATUS=1
	# A daemon in no cluster on that store, while its worker lives, says it would do its work again.
	"$BIN" serve --store "$STORE_URL" --listen off --for 1 >"$TMP/mixed.out" 2>&1 </dev/null
	if grep -q '1 workers of a cluster are live on this store' "$TMP/mixed.out"; then
		echo "ok   a daemon in no cluster on a cluster's store says so"
	else
		echo "FAIL a daemon in no cluster on a cluster's store says nothing:"
		cat "$TMP/mixed.out"
		STATUS=1
	fi
	stop cluster
fi

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
