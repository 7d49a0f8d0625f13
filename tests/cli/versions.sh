#!/usr/bin/env bash
# tests/cli/versions.sh STEWARD VOIDING_PLUGIN V2_PLUGIN - two versions of the
# voiding definition side by side in one `steward serve`. A daemon with the
# example's plugin (version 1) starts process p1 on a fresh store (SQLite, or
# a PostgreSQL schema with STEWARD_TEST_STORE=pg: tests/api/daemon.sh); it
# restarts with V2_PLUGIN loaded after it (cli/voiding_changed_plugin.c,
# version 2: a failed marking no longer asks Billing to abort), and p2
# starts. Both markings fail: p1 follows version 1 and sends
# AbortDocumentVoiding, p2 follows version 2 and does not. GET
# /api/definitions lists voiding at version 2 with versions [1,2], GET
# /api/definitions/voiding each version with its live instances, the
# instance list and steward ps filter by version, and steward check takes
# both plugins. The services are remotes that are not there: their
# commands stay pending, which is all this needs.
set -u
VOIDING=${2:?usage: versions.sh STEWARD VOIDING_PLUGIN V2_PLUGIN}
V2=${3:?usage: versions.sh STEWARD VOIDING_PLUGIN V2_PLUGIN}
# shellcheck source=tests/api/daemon.sh
. "$(dirname "$0")/../api/daemon.sh"
# shellcheck source=tests/api/checks.sh
. "$HERE/checks.sh"

STORE=$(store versions) || exit 1
# shellcheck source=tests/cli/serve_plugins.sh
. "$HERE/../cli/serve_plugins.sh"
event() { # CONTEXT TYPE PROCESS DOCUMENT: posts one event of the process
	curl -sf -H 'content-type: application/json' -d "{\"events\": [{\"id\": \"$2-$3\",
		\"type\": \"$2\", \"stream\": \"document-$4\", \"correlation_id\": \"$3\",
		\"data\": {\"document_id\": \"$4\", \"customer\": \"acme\"}}]}" \
		"$URL/api/contexts/$1/events" >/dev/null
}
# instance_has PROCESS TEXT: waits up to 15 s until the instance's JSON holds TEXT.
instance_has() {
	for _ in $(seq 150); do
		[ "$(status "/api/instances/$1")" = 200 ] && body_has "$2" && return 0
		sleep 0.1
	done
	return 1
}

serve v1 "$VOIDING"
expect "p1 starts under version 1" event Billing DocumentVoidingRequested p1 d1
expect "...and records version 1" instance_has p1 '"definition_version": *1'
stop v1

serve both "$VOIDING" "$V2"
expect "p2 starts beside it" event Billing DocumentVoidingRequested p2 d2
expect "...under version 2, the newest" instance_has p2 '"definition_version": *2'
expect "p1's marking fails" event Reports MarkingDocumentAsVoidedFailed p1 d1
expect "p2's marking fails" event Reports MarkingDocumentAsVoidedFailed p2 d2
expect "p1 fails by version 1" instance_has p1 '"state": *"MarkingDocumentAsVoidedFailed"'
expect "...which asks Billing to abort" instance_has p1 '"type": *"AbortDocumentVoiding"'
expect "p2 fails by version 2" instance_has p2 '"state": *"MarkingDocumentAsVoidedFailed"'
expect "...which does not" sh -c "! grep -q AbortDocumentVoiding '$TMP/body'"

expect "GET /api/definitions: voiding at version 2, versions [1,2]" \
	sh -c "[ \"\$(curl -s '$URL/api/definitions' | node -e '
		let s = \"\"; process.stdin.on(\"data\", (d) => (s += d)).on(\"end\", () => {
			const v = JSON.parse(s).definitions.find((d) => d.name === \"voiding\");
			console.log(v.version + \" \" + JSON.stringify(v.versions)); });')\" = '2 [1,2]' ]"
expect "GET /api/definitions/voiding: each version, its states, its live instances" \
	sh -c "[ \"\$(curl -s '$URL/api/definitions/voiding' | node -e '
		let s = \"\"; process.stdin.on(\"data\", (d) => (s += d)).on(\"end\", () => {
			const d = JSON.parse(s);
			console.log(d.newest + \" \" + d.versions.map((v) => v.version + \":\" + v.live +
				\":\" + v.states.length).join(\" \")); });')\" = '2 1:1:5 2:1:5' ]"
expect "GET /api/definitions/nothing is 404" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$URL/api/definitions/nothing')\" = 404 ]"
expect "GET /api/instances?version=1 lists p1 only" sh -c "[ \"\$(curl -s '$URL/api/instances?definition=voiding&version=1' | grep -o '\"id\": *\"p[0-9]\"' | tr -d ' ')\" = '\"id\":\"p1\"' ]"
"$BIN" ps --url "$URL" --version 2 >"$TMP/ps.out" 2>&1
expect "steward ps --version 2 lists p2 only" sh -c "grep -Eq '^p2 +voiding +2 ' '$TMP/ps.out' && ! grep -q '^p1 ' '$TMP/ps.out'"
"$BIN" show p1 --url "$URL" >"$TMP/show.out" 2>&1
expect "steward show names p1's version" grep -Eq '^def version +1$' "$TMP/show.out"
stop both

"$BIN" check --remote Billing --remote Reports "$VOIDING" "$V2" >"$TMP/check.out" 2>&1
RC=$?
expect "steward check takes both versions (exit $RC)" test "$RC" = 0
exit "$STATUS"
