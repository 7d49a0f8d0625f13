#!/usr/bin/env bash
# tests/cli/replay.sh STEWARD VOIDING_PLUGIN CHANGED_PLUGIN - steward replay.
# A voiding daemon on a fresh store (SQLite, or a PostgreSQL schema with
# STEWARD_TEST_STORE=pg: tests/api/daemon.sh) records four processes: d3
# voided, d1 and d2 failed (their customer's report is published), d4 on a
# customer of its own, and d1's failure is then acknowledged by a person.
# Replayed through the unchanged definitions (VOIDING_PLUGIN, the example's
# plugin) nothing differs: exit 0, d1 compared up to the acknowledgement.
# Replayed through CHANGED_PLUGIN (cli/voiding_changed_plugin.c: a failed
# marking no longer sends AbortDocumentVoiding) the two failed processes
# differ, with the command that is no longer sent; the completed ones do not;
# exit 1. --instance, --definition and --limit choose what is replayed,
# usage errors exit 2, and the store is the same after every replay (as the
# daemon, which keeps running, shows it).
set -u
VOIDING=${2:?usage: replay.sh STEWARD VOIDING_PLUGIN CHANGED_PLUGIN}
CHANGED=${3:?usage: replay.sh STEWARD VOIDING_PLUGIN CHANGED_PLUGIN}
# shellcheck source=tests/api/daemon.sh
. "$(dirname "$0")/../api/daemon.sh"
# shellcheck source=tests/api/checks.sh
. "$HERE/checks.sh"

post() { # PATH JSON: the body of a POST
	curl -s -H 'content-type: application/json' -d "$2" "$URL$1"
}
issue() { post /api/demo/voiding/documents "{\"customer\":\"$2\",\"amount\":5,\"document_id\":\"$1\"}" >/dev/null; }
void() { # DOCUMENT: the id of its voiding process
	post "/api/demo/voiding/documents/$1/void" '{}' | sed -n 's/.*"process_id":"\([^"]*\)".*/\1/p'
}
# settled: waits up to 15 s until no voiding process is active.
settled() {
	for _ in $(seq 150); do
		status '/api/instances?definition=voiding&status=active' >/dev/null
		body_has '"instances":\[\]' && return 0
		sleep 0.1
	done
	return 1
}
replay() { # ARG...: steward replay on the store; output in $TMP/replay.out, exit status in RC
	"$BIN" replay --store "$STORE" --quiet "$@" >"$TMP/replay.out" 2>&1
	RC=$?
}
out_has() { grep -q -- "$1" "$TMP/replay.out"; }
# fingerprint: what the store holds (instances, their histories and commands,
# the logs) as the daemon shows it, into $TMP/now; fails if a request does.
fingerprint() {
	local path
	: >"$TMP/now"
	for path in '/api/instances?limit=1000' "/api/instances/$D1" "/api/instances/$D2" \
		"/api/instances/$D3" "/api/instances/$D4" '/api/contexts/Billing/events?limit=1000' \
		'/api/contexts/Reports/events?limit=1000' '/api/commands?status=pending&limit=1000'; do
		[ "$(status "$path")" = 200 ] || return 1
		cat "$TMP/body" >>"$TMP/now"
	done
}
unchanged() { fingerprint && cmp -s "$TMP/now" "$TMP/before"; }

start replay
URL=http://127.0.0.1:$PORT
STORE=$(store replay)
issue d1 acme
issue d2 acme
issue d3 globex
issue d4 initech
post /api/demo/voiding/reports/acme/publish '{}' >/dev/null
D1=$(void d1)
D2=$(void d2)
D3=$(void d3)
D4=$(void d4)
expect "four voiding processes start" test -n "$D1" -a -n "$D2" -a -n "$D3" -a -n "$D4"
expect "...and end" settled
expect "d1's failure is acknowledged" \
	sh -c "curl -sf -d '{}' -H 'content-type: application/json' \
		'$URL/api/instances/$D1/acknowledge' >/dev/null"
expect "the store's fingerprint is taken" fingerprint
cp "$TMP/now" "$TMP/before"

replay --load "$VOIDING"
expect "the unchanged definitions: exit 0 ($RC)" test "$RC" = 0
expect "...nothing differs, d1 up to the acknowledgement" \
	out_has "replayed 4 instances: 3 the same, 0 differ, 1 the same up to a person's operation"
expect "...the store is unchanged" unchanged

replay --load "$CHANGED"
expect "the changed definitions: exit 1 ($RC)" test "$RC" = 1
expect "...d2 differs" out_has "^voiding $D2 differs:"
expect "...d1 differs before its acknowledgement" \
	out_has "^voiding $D1 differs (compared up to a person's operation):"
expect "...by the command no longer sent" out_has 'Billing.AbortDocumentVoiding {"document_id":"d2"}'
expect "...which the replay does not send" out_has "commands replayed:"
expect "...d3 and d4 do not differ" sh -c "! grep -q -e '$D3' -e '$D4' '$TMP/replay.out'"
expect "...two differ" out_has "replayed 4 instances: 2 the same, 2 differ"
expect "...the store is unchanged" unchanged

replay --load "$CHANGED" --instance "$D3"
expect "--instance: one replayed ($RC)" out_has "replayed 1 instance: 1 the same, 0 differ"
replay --load "$CHANGED" --definition voiding --limit 1
expect "--limit 1: one replayed" out_has "replayed 1 instance:"
replay --load "$CHANGED" --definition nosuch
expect "--definition with no instance: none replayed ($RC)" \
	sh -c "[ $RC = 0 ] && grep -q 'replayed 0 instances' '$TMP/replay.out'"
replay
expect "no --load: exit 2 ($RC)" test "$RC" = 2
expect "...naming what is missing" out_has "load names the plugins"
replay --load "$VOIDING" --limit 0
expect "--limit 0: exit 2 ($RC)" test "$RC" = 2
"$BIN" replay --store "$TMP/nosuch.db" --load "$VOIDING" >"$TMP/replay.out" 2>&1
RC=$?
expect "a store that is not there: exit 1 ($RC)" test "$RC" = 1
expect "...saying so" out_has "nosuch.db"
expect "...and not creating it" test ! -e "$TMP/nosuch.db"
[ "$STATUS" = 0 ] || { echo "the last replay said:"; cat "$TMP/replay.out"; }
stop replay
[ "$STATUS" = 0 ] && echo "replay: all passed"
exit "$STATUS"
