#!/usr/bin/env bash
# tests/cli/migrate.sh STEWARD VOIDING_PLUGIN V2_PLUGIN - steward migrate, and
# a migration killed in the middle. A daemon with the example's plugin
# (version 1 of voiding) starts N voiding processes on a fresh store (SQLite,
# or a PostgreSQL schema with STEWARD_TEST_STORE=pg); one of them fails its
# marking (version 2's migration leaves that state on version 1). Then:
#   - a dry run on the store lists every instance and writes nothing;
#   - with a daemon of both versions running, `steward migrate --store` is
#     killed with SIGKILL once some instances moved; every instance is then
#     on version 1 with no "migrated" history row or on version 2 with
#     exactly one (migrate_check.mjs);
#   - the migration run again through the daemon (--url, POST
#     /api/definitions/voiding/migrate) moves the rest: all but the failed
#     one on version 2, none migrated twice; a migrated instance then steps
#     with version 2, and the API refuses bad requests with 4xx.
# The services are remotes that are not there: their commands stay pending.
set -u
VOIDING=${2:?usage: migrate.sh STEWARD VOIDING_PLUGIN V2_PLUGIN}
V2=${3:?usage: migrate.sh STEWARD VOIDING_PLUGIN V2_PLUGIN}
N=${MIGRATE_N:-1500}
# shellcheck source=tests/api/daemon.sh
. "$(dirname "$0")/../api/daemon.sh"
# shellcheck source=tests/api/checks.sh
. "$HERE/checks.sh"
CHECK="$HERE/../cli/migrate_check.mjs"

STORE=$(store migrate) || exit 1
# shellcheck source=tests/cli/serve_plugins.sh
. "$HERE/../cli/serve_plugins.sh"
post() { # CONTEXT FILE: posts the events of FILE
	curl -sf -H 'content-type: application/json' --data-binary "@$2" \
		"$URL/api/contexts/$1/events" >/dev/null
}
events() { # FIRST LAST TYPE: a JSON body of events TYPE for processes pFIRST..pLAST
	"$NODE" -e '
		const [first, last, type] = process.argv.slice(1);
		const events = [];
		for (let i = +first; i <= +last; i++)
			events.push({ id: `${type}-p${i}`, type, stream: `document-d${i}`,
				correlation_id: `p${i}`, data: { document_id: `d${i}`, customer: "acme" } });
		console.log(JSON.stringify({ events }));' "$@"
}
check() { "$NODE" "$CHECK" "$URL" voiding 1 2; }
migrate() { "$BIN" migrate voiding --from 1 --to 2 "$@"; }

serve v1 "$VOIDING"
for from in $(seq 1 500 "$N"); do
	last=$((from + 499 < N ? from + 499 : N))
	events "$from" "$last" DocumentVoidingRequested >"$TMP/events.json"
	expect "$((last - from + 1)) voidings requested from p$from" post Billing "$TMP/events.json"
done
events 1 1 MarkingDocumentAsVoidedFailed >"$TMP/fail.json"
expect "p1's marking fails" post Reports "$TMP/fail.json"
expect "all $N processes started" sh -c "for _ in \$(seq 150); do curl -s '$URL/api/instances?definition=voiding&status=active&limit=1&offset=$((N - 2))' | grep -q '\"id\"' && exit 0; sleep 0.1; done; exit 1"
expect "...and p1 failed" sh -c "for _ in \$(seq 150); do curl -s '$URL/api/instances/p1' | grep -q '\"status\": *\"failed\"' && exit 0; sleep 0.1; done; exit 1"
stop v1

migrate --dry-run --store "$STORE" --load "$VOIDING" --load "$V2" >"$TMP/dry.out" 2>&1
RC=$?
expect "a dry run exits 1: one instance is left (exit $RC)" test "$RC" = 1
expect "...says what would move" grep -q "^dry run: $((N - 1)) instances of voiding would move 1 -> 2; 1 left" "$TMP/dry.out"
expect "...lists each instance with its data change" grep -Eq '^p2 +VoidingRequested +VoidingRequested +would migrate +data \+migrated_from' "$TMP/dry.out"
expect "...and the one left, with the reason" grep -Eq '^p1 +MarkingDocumentAsVoidedFailed +- +left +the migration leaves instances in MarkingDocumentAsVoidedFailed on version 1' "$TMP/dry.out"
"$BIN" ps --store "$STORE" --version 1 --limit 1000 >"$TMP/ps1.out" 2>&1
"$BIN" ps --store "$STORE" --version 2 >"$TMP/ps2.out" 2>&1
expect "...and writes nothing" sh -c "grep -q '^p1 ' '$TMP/ps1.out' && ! grep -q '^p[0-9]' '$TMP/ps2.out'"

serve both "$VOIDING" "$V2"
"$BIN" migrate voiding --from 1 --to 2 --store "$STORE" --load "$VOIDING" --load "$V2" \
	>"$TMP/killed.out" 2>&1 &
MIGRATE=$!
moved=0
for _ in $(seq 600); do
	curl -s "$URL/api/instances?definition=voiding&version=2&limit=1" | grep -q '"id"' && {
		moved=1
		break
	}
	sleep 0.01
done
kill -KILL "$MIGRATE" 2>/dev/null
wait "$MIGRATE" 2>/dev/null
expect "the migration is killed after some instances moved" test "$moved" = 1
expect "...before it ended" test ! -s "$TMP/killed.out"
check >"$TMP/check1.out" 2>&1
echo "after the kill: $(cat "$TMP/check1.out")"
expect "...in the middle: some moved, some not" grep -Eq "^instances=$N from=[1-9][0-9]* to=[1-9][0-9]* " "$TMP/check1.out"
expect "...each instance migrated once or not at all" grep -q ' twice=0 half=0$' "$TMP/check1.out"

migrate --url "$URL" --limit 10000 >"$TMP/rest.out" 2>&1
RC=$?
expect "the migration run again through the daemon moves the rest (exit $RC: p1 left)" test "$RC" = 1
expect "...and says so" grep -Eq '^[0-9]+ instances of voiding moved 1 -> 2; 1 left$' "$TMP/rest.out"
grep -Eq '^[0-9]+ instances of voiding moved' "$TMP/rest.out" || sed 's/^/migrate| /' "$TMP/rest.out"
check >"$TMP/check2.out" 2>&1
echo "after the rest: $(cat "$TMP/check2.out")"
expect "...all but p1 on version 2, none migrated twice" grep -q "^instances=$N from=1 to=$((N - 1)) twice=0 half=0$" "$TMP/check2.out"
expect "p2 records where it came from" sh -c "curl -s '$URL/api/instances/p2' | grep -q '\"migrated_from\": *1'"
expect "...and its history the migration" sh -c "curl -s '$URL/api/instances/p2' | grep -q '\"reason\": *\"Migrated 1 -> 2\"'"
events 2 2 MarkingDocumentAsVoidedFailed >"$TMP/fail2.json"
post Reports "$TMP/fail2.json"
expect "p2 now steps with version 2 (no abort asked)" sh -c "for _ in \$(seq 150); do curl -s '$URL/api/instances/p2' | grep -q '\"state\": *\"MarkingDocumentAsVoidedFailed\"' && ! curl -s '$URL/api/instances/p2' | grep -q AbortDocumentVoiding && exit 0; sleep 0.1; done; exit 1"

code() { curl -s -o "$TMP/body" -w '%{http_code}' -H 'content-type: application/json' -d "$2" "$URL$1"; }
expect "POST .../migrate without versions is 400" test "$(code /api/definitions/voiding/migrate '{}')" = 400
expect "...to an earlier version is 400" test "$(code /api/definitions/voiding/migrate '{"from": 2, "to": 1}')" = 400
expect "...to an unregistered version is 404" test "$(code /api/definitions/voiding/migrate '{"from": 1, "to": 3}')" = 404
expect "...of an unknown definition is 404" test "$(code /api/definitions/nothing/migrate '{"from": 1, "to": 2}')" = 404
expect "...a dry run of one instance answers its report" test "$(code /api/definitions/voiding/migrate '{"from": 1, "to": 2, "dry_run": true, "instance": "p1"}')" = 200
expect "...which leaves p1, with the reason" body_has '"outcome": *"left"'
stop both
exit "$STATUS"
