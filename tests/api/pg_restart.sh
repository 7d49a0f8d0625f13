#!/usr/bin/env bash
# tests/api/pg_restart.sh STEWARD - a daemon on PostgreSQL lives through a
# restart of its server. Run by `scripts/pg-cluster.sh run` (a cluster of its
# own, whose server it stops: STEWARD_TEST_PG_URL, STEWARD_TEST_PG_RESTART):
#  - a voiding process completes; then the server stops as a crash would
#    (pg_ctl stop -m immediate) and stays away for 3 s;
#  - meanwhile /healthz answers 503 (the store does not answer), a command
#    is answered 503 with Retry-After, never 500, and the daemon keeps
#    running;
#  - once the server is back, without a restart of the daemon: /healthz and
#    /readyz answer 200, a new voiding process completes, the command
#    refused during the outage goes through when sent again, and /metrics
#    counts the lost connections and the new ones of the worker and of the
#    API, each up again;
#  - a daemon started while the server is away: steward serve gives up at once
#    (exit 1), or with --store-wait 30s says it waits and starts once the
#    server is back.
set -u
: "${STEWARD_TEST_PG_RESTART:?run by scripts/pg-cluster.sh run}"
export STEWARD_TEST_STORE=pg
# shellcheck source=tests/api/daemon.sh
. "$(dirname "$0")/daemon.sh"
# shellcheck source=tests/api/checks.sh
. "$HERE/checks.sh"

post() { # PATH JSON: the status of a POST; body in $TMP/post, headers in $TMP/headers
	curl -s -o "$TMP/post" -D "$TMP/headers" -w '%{http_code}' \
		-H 'content-type: application/json' -d "$2" "$URL$1"
}
issue() { post /api/demo/voiding/documents "{\"customer\":\"acme\",\"amount\":5,\"document_id\":\"$1\"}"; }
void() { post "/api/demo/voiding/documents/$1/void" '{}'; }
# completed DOCUMENT: waits up to 15 s for the document's voiding process to complete.
completed() {
	local id
	id=$(sed -n 's/.*"process_id":"\([^"]*\)".*/\1/p' "$TMP/void-$1")
	[ -n "$id" ] || return 1
	for _ in $(seq 150); do
		status "/api/instances/$id" >/dev/null
		body_has '"status":"completed"' && return 0
		sleep 0.1
	done
	return 1
}
metric() { # LINE: /metrics has a line matching it (a regular expression, whole line)
	curl -s "$URL/metrics" | grep -qx -- "$1"
}

start restart
URL=http://127.0.0.1:$PORT
expect "documents d1 and d2 are issued" test "$(issue d1)$(issue d2)" = 200200
expect "d1 is voided" test "$(void d1)" = 200
cp "$TMP/post" "$TMP/void-d1"
expect "...and its process completes" completed d1

# The server goes away for 3 s.
$STEWARD_TEST_PG_RESTART 3 >"$TMP/pg_ctl.out" 2>&1 &
restarter=$!
expect "/healthz answers 503 while the server is away" poll /healthz 503
expect "...saying the store does not answer" body_has 'the store does not answer'
code=$(void d2)
expect "a command while the server is away is 503, not 500 ($code)" test "$code" = 503
expect "...with Retry-After" grep -qi '^retry-after:' "$TMP/headers"
expect "...saying PostgreSQL is unreachable or the connection was lost" \
	grep -q '"error":"unavailable".*\(unreachable\|lost\)' "$TMP/post"
wait "$restarter"
rc=$?
expect "the server is back" test "$rc" = 0
[ "$rc" = 0 ] || cat "$TMP/pg_ctl.out"

expect "/healthz answers 200 again" poll /healthz 200
expect "the daemon still runs" kill -0 "$DAEMON"
expect "d2 is voided when asked again" test "$(void d2)" = 200
cp "$TMP/post" "$TMP/void-d2"
expect "...and its process completes" completed d2
# Not ready from the refused write until a write succeeds (docs/API.md).
expect "/readyz answers 200 again" poll /readyz 200
expect "...with no event left behind" body_has '"cursor_lag":0'
for engine in worker api; do
	expect "/metrics: the $engine's connection was lost" \
		metric "steward_store_connection_losses_total{engine=\"$engine\"} [1-9][0-9]*"
	expect "...made again" metric "steward_store_reconnects_total{engine=\"$engine\"} [1-9][0-9]*"
	expect "...and is up" metric "steward_store_up{engine=\"$engine\"} 1"
done
stop restart

# A daemon that starts while the server is away: steward serve gives up at
# once, unless --store-wait lets it wait for the server to come back.
DB=$(store restart)
$STEWARD_TEST_PG_RESTART 4 >"$TMP/pg_ctl2.out" 2>&1 &
restarter=$!
down=0
for _ in $(seq 100); do
	"$BIN" ps --store "$DB" >/dev/null 2>&1 || {
		down=1
		break
	}
	sleep 0.05
done
expect "the server is away again" test "$down" = 1
"$BIN" serve --store "$DB" --listen 127.0.0.1:0 --for 5 >"$TMP/nowait.out" 2>&1
rc=$?
expect "steward serve without --store-wait gives up at once (exit $rc)" test "$rc" = 1
expect "...saying it cannot open the store" grep -q '^steward: cannot open ' "$TMP/nowait.out"
start_daemon "$TMP/wait.out" serve --store "$DB" --listen 127.0.0.1:0 --store-wait 30s
expect "with --store-wait 30s it waits, and starts once the server is back" test -n "$PORT"
expect "...having said what it waits for" grep -q '^steward: waiting for .*(0 s of 30)' "$TMP/wait.out"
URL=http://127.0.0.1:$PORT
expect "...and answers /healthz 200" poll /healthz 200
wait "$restarter"
kill -TERM "$DAEMON"
wait "$DAEMON"
rc=$?
DAEMON=""
expect "...and stops cleanly (exit $rc)" test "$rc" = 0
[ "$STATUS" = 0 ] && echo "pg_restart: all passed"
exit "$STATUS"
