#!/usr/bin/env bash
# tests/cli/run.sh STEWARD TALLY_PLUGIN CHECK_PLUGIN - the command-line interface against a
# real daemon.
#
# Starts `steward demo voiding` on a free loopback port with a fresh store (an
# SQLite file, or with STEWARD_TEST_STORE=pg a PostgreSQL schema: see
# tests/support/steward.sh), then checks every subcommand (ps, show, ack, cancel,
# retry, events, send) through the daemon (--url, and STEWARD_URL) and through
# the store (--store, on the live store while the daemon runs, and on a copy,
# or on PostgreSQL the same store, after it stopped): a voiding
# process run to completion, a failed one acknowledged, refusals, usage
# errors with their exit codes, and hostile input; then the commands that
# write with the definitions and services of a plugin (--load TALLY_PLUGIN), and
# steward check with CHECK_PLUGIN (tests/cli/check_plugin.c). Prints "N passed, M failed"
# and exits non-zero on any failure. The daemon is always stopped and the
# temporary directory removed.
set -u

BIN=${1:?usage: tests/cli/run.sh STEWARD_BINARY TALLY_PLUGIN CHECK_PLUGIN}
TALLY=${2:?usage: tests/cli/run.sh STEWARD_BINARY TALLY_PLUGIN CHECK_PLUGIN}
CHECKP=${3:?usage: tests/cli/run.sh STEWARD_BINARY TALLY_PLUGIN CHECK_PLUGIN}
case $BIN in
/*) ;;
*) BIN=$PWD/$BIN ;;
esac
case $TALLY in
/*) ;;
*) TALLY=$PWD/$TALLY ;;
esac
case $CHECKP in
/*) ;;
*) CHECKP=$PWD/$CHECKP ;;
esac
[ -x "$BIN" ] || {
	echo "not executable: $BIN" >&2
	exit 1
}

# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------------------
# The daemon

# The stores of the suite, each fresh.
{
	LIVE=$(store live) && NARRATE=$(store narrate) && SLOWDB=$(store slow) &&
		LISTEN=$(store listen) && TALLYDB=$(store tally) && CHECKDB=$(store check) &&
		ORDERS=$(store orders) && TOKDB=$(store tok)
} || exit 1

start_daemon "$TMP/daemon.out" demo voiding --store "$LIVE" --listen 127.0.0.1:0 --every 0 --quiet
if [ -z "$PORT" ]; then
	echo "FAIL the daemon did not start:"
	cat "$TMP/daemon.out"
	echo "0 passed, 1 failed"
	exit 1
fi
URL=http://127.0.0.1:$PORT
echo "daemon pid $DAEMON on $URL"

# ---------------------------------------------------------------------------
# Help, version and usage errors (exit 0 and 2)

run --version
check "--version" 0 '^steward [0-9]+\.[0-9]+\.[0-9]+$'
run --help
check "--help lists the commands" 0 'ps +list process instances' ''
expect "--help lists every command" grep -Eq 'show .*ack .*events .*send' <<<"$(tr '\n' ' ' <<<"$OUT")"
for cmd in ps show ack cancel retry events send; do
	run "$cmd" --help
	check "$cmd --help" 0 "^usage: steward $cmd" ''
	run help "$cmd"
	check "help $cmd" 0 "^usage: steward $cmd" ''
done
run demo --help
check "demo --help prints the demos' help" 0 '^demo options' ''
run demo -h
check "demo -h prints the demos' help" 0 '^demo options' ''
run demo voiding --help
check "demo voiding --help" 0 '^demo options' ''
run demo
check "demo without a name exits 2" 2 '' 'demo needs an example name'
run demo nosuch
check "demo of an unknown example exits 2" 2 '' 'demo needs an example name'
run help nope
check "help of an unknown command exits 2" 2 '' 'unknown command'
run frobnicate
check "unknown command exits 2" 2 '' "unknown command 'frobnicate'"
run ps --frobnicate
check "unknown option exits 2" 2 '' "unknown option '--frobnicate'"
run ps --note x
check "an option of another command exits 2" 2 '' "unknown option '--note'"
run ps --limit
check "option without its argument exits 2" 2 '' "'--limit' needs an argument"
run ps --limit 0 --url "$URL"
check "--limit 0 exits 2" 2 '' 'integer from 1 to 1000'
run ps --limit 12x --url "$URL"
check "--limit 12x exits 2" 2 '' 'integer from 1 to 1000'
run events Billing --after -1 --url "$URL"
check "--after -1 exits 2" 2 '' 'integer from 0'
run ps --status sleeping --url "$URL"
check "unknown --status exits 2" 2 '' 'must be one of active'
run ps --json=yes --url "$URL"
check "flag with a value exits 2" 2 '' 'takes no argument'
run show --url "$URL"
check "show without ID exits 2" 2 '' 'missing ID'
run send Billing IssueDocument --url "$URL"
check "send without JSON exits 2" 2 '' 'missing JSON'
run show a b --url "$URL"
check "extra argument exits 2" 2 '' "unexpected argument 'b'"
run ps --db "$LIVE" --url "$URL"
check "--db and --url together exit 2" 2 '' 'either --db or --url'
run ps --store "$LIVE" --url "$URL"
check "--store and --url together exit 2" 2 '' 'either --store or --url'
run ps --store "$LIVE" --db "$LIVE"
check "--store and --db (its older name) together exit 2" 2 '' 'give --store or --db'
run ps --store ''
check "an empty --store exits 2" 2 '' '--store needs a path or URL'
run demo voiding --store "$LIVE" --db "$LIVE" --listen off --for 0
check "demo with --store and --db exits 2" 2 '' 'give --store or --db'
run serve --store "$LIVE" --db "$LIVE" --check-config
check "serve with --store and --db exits 2" 2 '' 'give --store or --db'
run ps --url ftp://example.invalid/
check "a URL that is not http exits 2" 2 '' 'http:// or https://'
run send Billing IssueDocument '{"document_id": ' --url "$URL"
check "send with malformed JSON exits 2" 2 '' 'JSON argument is not an object: malformed JSON'
run send Billing IssueDocument '[1, 2]' --url "$URL"
check "send with a JSON array exits 2" 2 '' "JSON argument is not an object: '\[1, 2\]'"
run send Billing IssueDocument '"text"' --store "$LIVE"
check "send with a JSON string exits 2 (--store)" 2 '' 'JSON argument is not an object'
run send Billing IssueDocument '{"a":1,"a":2}' --url "$URL"
check "send with duplicate keys exits 2" 2 '' 'JSON argument is not an object'

# ---------------------------------------------------------------------------
# The same scenario through the daemon (u) and through the live file (d)

# scenario TAG ARGS...: ARGS select the back end (--url URL or --store STORE).
scenario() {
	local t=$1
	shift
	local via="($*)"
	via=${via//$LIVE/LIVE}

	run send Billing IssueDocument "{\"document_id\":\"doc-$t\",\"customer\":\"acme\",\"amount\":1234}" \
		--id "issue-$t" "$@"
	check "send IssueDocument $via" 0 '^outcome +applied$'
	expect "send prints the command id $via" grep -Eq "^command +issue-$t$" <<<"$OUT"
	run send Billing IssueDocument "{\"document_id\":\"doc-$t\",\"customer\":\"acme\",\"amount\":1234}" \
		--id "issue-$t" "$@"
	check "send with the same id again answers its recorded outcome $via" 0 '^outcome +applied$'
	run send Billing IssueDocument "{\"document_id\":\"doc-$t\",\"customer\":\"acme\",\"amount\":1}" "$@"
	check "send refused by the service exits 1 $via" 1 '' "rejected: document doc-$t already exists"

	run send Billing VoidDocument "{\"document_id\":\"doc-$t\"}" --id "void-$t" --json "$@"
	check "send VoidDocument --json $via" 0 "\"outcome\": \"applied\""
	expect "send --json names the correlation id $via" \
		grep -q "\"correlation_id\": \"void-$t\"" <<<"$OUT"

	if poll "\"id\": \"void-$t\"" ps --json --status completed "$@"; then
		ok "the voiding process completes $via"
	else
		bad "the voiding process completes $via" "void-$t never completed"
	fi

	run ps "$@"
	check "ps $via" 0 '^ID +DEFINITION +VER +STATE +STATUS +VERSION +UPDATED +KEY +REASON$'
	expect "ps lists the process $via" grep -Eq \
		"^void-$t +voiding +1 +DocumentVoided +completed +3 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +doc-$t +-$" \
		<<<"$OUT"
	run ps --version 1 --definition voiding --status completed --json "$@"
	check "ps --version 1 $via" 0 "\"id\": \"void-$t\""
	expect "ps --json shows the definition version $via" grep -q '"definition_version": 1' <<<"$OUT"
	run ps --version 2 "$@"
	check "ps --version 2 matches nothing $via" 0 '' 'no instances'
	run ps --version 0 "$@"
	check "ps --version 0 is a usage error $via" 2 '' 'version'
	run ps --definition voiding --status completed --limit 1 "$@"
	check "ps --limit 1 $via" 0 ''
	expect "ps --limit 1 prints one row $via" test "$(wc -l <<<"$OUT")" -eq 2
	run ps --status failed --definition voiding --state DocumentVoided "$@"
	check "ps with filters that match nothing $via" 0 '' 'no instances'
	expect "ps that matches nothing prints nothing $via" test -z "$OUT"
	run ps --json --limit 5 --offset 0 "$@"
	check "ps --json $via" 0 '"limit": 5'

	run show "void-$t" "$@"
	check "show $via" 0 '^status +completed$'
	expect "show prints the header $via" grep -Eq "^instance +void-$t$" <<<"$OUT"
	expect "show prints the definition version $via" grep -Eq "^def version +1$" <<<"$OUT"
	expect "show prints the data $via" grep -q "\"document_id\": \"doc-$t\"" <<<"$OUT"
	expect "show prints the trigger $via" grep -Eq \
		'DocumentVoidingRequested +Billing +\(start\) -> VoidingRequested +applied' <<<"$OUT"
	expect "show prints each transition $via" grep -Eq \
		'MarkingDocumentAsVoidedSucceeded +Reports +VoidingRequested -> MarkingDocumentAsVoidedSucceeded +applied' \
		<<<"$OUT"
	expect "show prints the commands $via" grep -Eq 'MarkDocumentAsVoided +Reports +delivered' <<<"$OUT"
	run show "void-$t" --definition voiding --json "$@"
	check "show --json $via" 0 '"history": \['

	run events Billing "$@"
	check "events Billing $via" 0 '^POS +TYPE +STREAM +CORRELATION +DATA$'
	expect "events lists the issue $via" grep -Eq \
		"^[0-9]+ +DocumentIssued +document-doc-$t +issue-$t +\{\"document_id\":\"doc-$t\",\"customer\":\"acme\",\"amount\":1234\}$" \
		<<<"$OUT"
	expect "events lists the voiding $via" grep -Eq \
		"^[0-9]+ +DocumentVoided +document-doc-$t +void-$t +" <<<"$OUT"
	expect "a command sent twice is applied once $via" \
		test "$(grep -Ec "DocumentIssued +document-doc-$t " <<<"$OUT")" -eq 1
	run events Billing --after 1 --limit 1 "$@"
	check "events --after 1 --limit 1 $via" 0 '' 'next page: --after 2'
	expect "events pages one event $via" grep -Eq '^2 +[A-Za-z]+ ' <<<"$OUT"
	expect "events pages exactly one event $via" test "$(wc -l <<<"$OUT")" -eq 2
	run events Billing --json --limit 2 "$@"
	check "events --json $via" 0 '"next_after": 2'
	run events NoSuchContext "$@"
	check "events of an unknown context is empty $via" 0 '' 'no events after position 0 \(head 0\)'

	run ack "void-$t" "$@"
	check "ack on a completed instance exits 1 $via" 1 '' "instance void-$t is completed, not failed"
	run ack "no-such-$t" "$@"
	check "ack on an unknown id exits 1 $via" 1 '' "no instance no-such-$t"
	run show "no-such-$t" "$@"
	check "show of an unknown id exits 1 $via" 1 '' "no instance no-such-$t"
	run send Billing VoidDocument '{"document_id":"never-issued"}' "$@"
	check "send refused exits 1 with the reason $via" 1 '' 'rejected: document never-issued does not exist'
	run send Nowhere Anything '{}' "$@"
	check "send to a context without a service exits 1 $via" 1 '' 'no service for context Nowhere'

	# A real failure: voiding a document of a published report.
	run send Billing IssueDocument "{\"document_id\":\"doc-f$t\",\"customer\":\"cust-$t\",\"amount\":5}" "$@"
	check "send IssueDocument for a failure $via" 0 '^outcome +applied$'
	if poll "DocumentAddedToReport +report-cust-$t " events Reports --limit 1000 "$@"; then
		ok "the report receives the document $via"
	else
		bad "the report receives the document $via" "no DocumentAddedToReport for cust-$t"
	fi
	run send Reports PublishReport "{\"customer\":\"cust-$t\"}" "$@"
	check "send PublishReport $via" 0 '^outcome +applied$'
	run send Billing VoidDocument "{\"document_id\":\"doc-f$t\"}" --id "fail-$t" "$@"
	check "send VoidDocument of a published document $via" 0 '^outcome +applied$'
	if poll "^fail-$t +voiding +1 +MarkingDocumentAsVoidedFailed +failed " ps --status failed "$@"; then
		ok "the voiding process fails $via"
	else
		bad "the voiding process fails $via" "fail-$t never failed"
	fi
	# At rest once Billing's answer to the abort is recorded.
	if poll "DocumentVoidingAborted +Billing .* +applied" show "fail-$t" "$@"; then
		ok "the failed process records the abort $via"
	else
		bad "the failed process records the abort $via" "no DocumentVoidingAborted for fail-$t"
	fi
	run ack "fail-$t" --note "checked by $t" "$@"
	check "ack on a failed instance $via" 0 \
		"^acknowledged fail-$t: status acknowledged, state FailureAcknowledged$"
	run show "fail-$t" "$@"
	check "show after ack $via" 0 '^status +acknowledged$'
	expect "the note is in the history $via" grep -Eq \
		"AcknowledgeProcessFailure .*MarkingDocumentAsVoidedFailed -> FailureAcknowledged +acknowledged +checked by $t" \
		<<<"$OUT"
	run ack "fail-$t" "$@"
	check "a second ack exits 1 $via" 1 '' 'is acknowledged, not failed'

	# Retry and cancel: a new voiding of the same document fails again (the
	# report is published); retried from VoidingRequested it asks Reports
	# again and fails again; then it is cancelled.
	run retry "fail-$t" "$@"
	check "retry without --state exits 2 $via" 2 '' 'needs --state'
	run retry "fail-$t" --state VoidingRequested "$@"
	check "retry of an acknowledged instance exits 1 $via" 1 '' 'is acknowledged, not failed'
	run send Billing VoidDocument "{\"document_id\":\"doc-f$t\"}" --id "fail2-$t" "$@"
	check "send a second VoidDocument $via" 0 '^outcome +applied$'
	if poll "^fail2-$t +voiding +1 +MarkingDocumentAsVoidedFailed +failed " ps --status failed "$@"; then
		ok "the second voiding fails $via"
	else
		bad "the second voiding fails $via" "fail2-$t never failed"
	fi
	run retry "fail2-$t" --state DocumentVoided "$@"
	check "retry into a terminal state exits 1 $via" 1 '' 'not an active state'
	run retry "fail2-$t" --state VoidingRequested --note "report unpublished?" "$@"
	check "retry from VoidingRequested $via" 0 "^retried fail2-$t: status active, state VoidingRequested$"
	if poll "Retry .*MarkingDocumentAsVoidedFailed -> VoidingRequested +retried" show "fail2-$t" "$@"; then
		ok "the retry is in the history $via"
	else
		bad "the retry is in the history $via" "no Retry row for fail2-$t"
	fi
	if poll "^fail2-$t +voiding +1 +MarkingDocumentAsVoidedFailed +failed " ps --status failed "$@"; then
		ok "the retried voiding fails again $via"
	else
		bad "the retried voiding fails again $via" "fail2-$t did not fail again"
	fi
	run cancel "fail2-$t" --note "given up" "$@"
	check "cancel a failed instance $via" 0 "^cancelled fail2-$t: status cancelled, state MarkingDocumentAsVoidedFailed$"
	run cancel "fail2-$t" "$@"
	check "a second cancel exits 1 $via" 1 '' 'is cancelled, not active or failed'
	run ps --status cancelled "$@"
	check "ps --status cancelled $via" 0 "^fail2-$t +voiding +1 +MarkingDocumentAsVoidedFailed +cancelled "
}

scenario u --url "$URL"
scenario d --store "$LIVE"

# show takes the beginning of an id, when only one instance has it.
run send Billing IssueDocument '{"document_id":"doc-prefix","customer":"acme","amount":5}' --url "$URL"
check "send IssueDocument for the prefix checks" 0 '^outcome +applied$'
run send Billing VoidDocument '{"document_id":"doc-prefix"}' --id prefix-0123456789abcdef --url "$URL"
check "send VoidDocument with a long id" 0 '^outcome +applied$'
if poll '"id": "prefix-0123456789abcdef"' ps --json --url "$URL"; then
	ok "the voiding with a long id starts"
else
	bad "the voiding with a long id starts" "no instance prefix-0123456789abcdef"
fi
for via in "--url $URL" "--store $LIVE"; do
	# shellcheck disable=SC2086
	run show prefix-0123 $via
	check "show takes a unique prefix of an id (${via%% *})" 0 '^instance +prefix-0123456789abcdef$'
	# shellcheck disable=SC2086
	run show prefix-0123 --definition voiding --json $via
	check "show --json --definition takes a unique prefix (${via%% *})" 0 \
		'"id": "prefix-0123456789abcdef"'
	# shellcheck disable=SC2086
	run show void- $via
	check "an ambiguous prefix exits 1 (${via%% *})" 1 '' \
		"several instances have an id that begins with void-: void-[ud] \(voiding\), void-[ud] \(voiding\)"
	# shellcheck disable=SC2086
	run show prefix-0123 --definition nothere $via
	check "a prefix of another definition's instance is unknown (${via%% *})" 1 '' \
		'no instance prefix-0123'
	# shellcheck disable=SC2086
	run ack prefix-0123 $via
	check "ack takes whole ids only (${via%% *})" 1 '' 'no instance prefix-0123'
done

# Both back ends answer the same documents.
run show void-u --json --url "$URL"
cp "$TMP/out" "$TMP/show-url.json"
run show void-u --json --store "$LIVE"
expect "--url and --store answer the same JSON" cmp -s "$TMP/show-url.json" "$TMP/out"

STEWARD_URL=$URL run ps --status completed
check "STEWARD_URL selects the daemon" 0 '^void-d +voiding'
run ps --status completed --db "$LIVE"
check "--db, the older name of --store, still works" 0 '^void-d +voiding'
STEWARD_URL=$URL run ps --store "$TMP/none.db"
check "--store overrides STEWARD_URL" 1 '' 'cannot open none.db|cannot open .*none.db: No such file'
STEWARD_URL=localhost:8080 run ps
check "a bad STEWARD_URL exits 2" 2 '' 'STEWARD_URL must be an http'

# ---------------------------------------------------------------------------
# Failures to reach the store or the daemon (exit 1, nothing created)

run ps --url http://127.0.0.1:1
check "an unreachable daemon exits 1" 1 '' 'cannot reach http://127.0.0.1:1/api/instances'
expect "libcurl's error is shown whole" grep -Eq \
	"^steward: cannot reach http://127\.0\.0\.1:1/api/instances\?limit=50&offset=0: .*port 1.*: (Couldn't connect to server|Connection refused)\$" \
	"$TMP/err"
run ps "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike"
check "a quoted argument too long for a message is cut between words" 2 '' \
	"unexpected argument 'alpha bravo charlie delta echo foxtrot golf hotel india \.\.\.'"
if [ "$STORE_KIND" = sqlite ]; then
	run ps --store "$TMP/missing.db"
	check "a missing database exits 1" 1 '' 'cannot open .*missing.db: No such file or directory'
	run send Billing IssueDocument '{}' --store "$TMP/missing.db"
	check "send on a missing database exits 1" 1 '' 'No such file'
	expect "a missing database is not created" test ! -e "$TMP/missing.db"
	printf 'not a database\n' >"$TMP/text.db"
	cp "$TMP/text.db" "$TMP/text.orig"
	run events Billing --store "$TMP/text.db"
	check "a text file is not a steward database" 1 '' 'cannot open .*text.db: not a steward database'
	: >"$TMP/empty.db"
	run ack x --store "$TMP/empty.db"
	check "an empty file is not a steward database (ack)" 1 '' 'not a steward database'
	run send Billing IssueDocument '{}' --store "$TMP/empty.db"
	check "an empty file is not a steward database (send)" 1 '' 'not a steward database'
	expect "a refused database is left untouched" test ! -s "$TMP/empty.db"
	expect "a refused text file is left untouched" cmp -s "$TMP/text.db" "$TMP/text.orig"
	run ps --store "$TMP"
	check "a directory is not a database" 1 '' 'not a regular file'
	run ps --store "sqlite:$TMP/missing.db?synchronous=normal"
	check "a missing sqlite: URL exits 1" 1 '' 'cannot open sqlite:.*missing.db\?synchronous=normal: No such file'
	run ps --status completed --store "sqlite:$LIVE?synchronous=normal"
	check "an sqlite: URL is the same store" 0 '^void-d +voiding'
else
	EMPTY=$(store empty) || exit 1
	run ps --store "$EMPTY"
	check "a schema without steward's tables is not a steward store (ps)" 1 '' \
		'cannot open postgresql://.*empty: not a steward database'
	run send Billing IssueDocument '{}' --store "$EMPTY"
	check "a schema without steward's tables is not a steward store (send)" 1 '' \
		'not a steward database'
	run ps --store "$EMPTY"
	check "the refused schema is left without steward's tables" 1 '' 'not a steward database'
fi
# A PostgreSQL server that does not answer (or, in a build without it, none):
# the store is named, never its password.
BADPG='postgresql://ann:s3cret@/postgres?host=/nonexistent&password=s3cret'
SHOWNPG='postgresql://ann:\*\*\*@/postgres\?host=/nonexistent&password=\*\*\*'
run ps --store "$BADPG"
check "a PostgreSQL store that cannot be reached exits 1" 1 '' "^steward: cannot open $SHOWNPG: "
expect "...without its password" test "$(grep -c s3cret "$TMP/err")" = 0
run send Billing IssueDocument '{}' --store "$BADPG"
check "send on a PostgreSQL store that cannot be reached exits 1" 1 '' "cannot open $SHOWNPG: "
expect "...without its password (send)" test "$(grep -c s3cret "$TMP/err")" = 0
run demo voiding --store "$BADPG" --listen off --for 0.1
check "demo on a PostgreSQL store that cannot be reached exits 1" 1 '' "cannot open $SHOWNPG: "
expect "...without its password (demo)" test "$(cat "$TMP/err" "$TMP/out" | grep -c s3cret)" = 0
run serve --store "$BADPG" --listen off --for 0.1
check "serve on a PostgreSQL store that cannot be reached exits 1" 1 '' "cannot open $SHOWNPG: "
expect "...without its password (serve)" test "$(cat "$TMP/err" "$TMP/out" | grep -c s3cret)" = 0

# ---------------------------------------------------------------------------
# Hostile input: never a crash, never a raw control character on the terminal

ESCID=$'evil\e[31m\x07id'
for via in "--url $URL" "--store $LIVE"; do
	# shellcheck disable=SC2086
	run show "$ESCID" $via
	check "an id with control characters is refused (${via%% *})" 1 '' 'invalid instance id'
	expect "the refusal does not echo control characters (${via%% *})" no_raw_controls "$TMP/err"
	# shellcheck disable=SC2086
	run ack "$(head -c 100000 /dev/zero | tr '\0' 7)" $via
	check "a 100000-byte id is a usage error (${via%% *})" 2 '' 'ID is longer than 255 bytes'
	# shellcheck disable=SC2086
	run show "$(head -c 255 /dev/zero | tr '\0' 7)" $via
	check "a 255-byte id is looked up (${via%% *})" 1 '' 'no instance 7777'
	# shellcheck disable=SC2086
	run show "<script>alert(\"x\")</script>'é/../%2F?a=1#x" $via
	check "an id with markup, quotes, slashes and escapes round-trips (${via%% *})" 1 '' \
		"no instance <script>alert\(\"x\"\)</script>'é/\.\./%2F\?a=1#x"
	# shellcheck disable=SC2086
	run ps --definition '<b>' --state 'a b' $via
	check "invalid filter names are refused (${via%% *})" 1 '' 'invalid instance filter'
	# shellcheck disable=SC2086
	run events '../Billing' $via
	check "an invalid context name is refused (${via%% *})" 1 '' 'invalid context'
done

# Billing refuses ASCII control characters in a customer (they would name its
# report's stream), so the event that carries them is posted as it is.
run send Billing IssueDocument \
	'{"document_id":"doc-hostile","customer":"x\u001b[2J\u0007","amount":1}' --url "$URL"
check "Billing refuses a customer with control characters" 1 '' 'customer'
run send Billing IssueDocument \
	'{"document_id":"doc-hostile","customer":"x\u0085\u202e<script>\"q","amount":1}' \
	--id issue-hostile --url "$URL"
check "send with C1 and bidi controls in the data" 0 '^outcome +applied$'
curl -s -o /dev/null -H 'content-type: application/json' "$URL/api/contexts/Billing/events" \
	-d '{"events":[{"id":"note-hostile","type":"DocumentAnnotated","stream":"document-doc-hostile","data":{"note":"x\u001b[2J\u0007\u0085\u202e<script>\"q\n"}}]}'
run events Billing --limit 1000 --url "$URL"
check "events with hostile data" 0 'doc-hostile'
expect "events escapes ESC, C1 and bidi controls" grep -qF '\u001B[2J\u0007\u0085\u202e<script>\"q\n' "$TMP/out"
expect "events prints no raw control character" no_raw_controls "$TMP/out"
run events Billing --limit 1000 --json --store "$LIVE"
check "events --json with hostile data" 0 'doc-hostile'
expect "events --json prints no raw control character" no_raw_controls "$TMP/out"
run ps --limit 1000 --url "$URL"
expect "ps prints no raw control character" no_raw_controls "$TMP/out"

# The daemon narrates events (no --quiet): their ids and data are escaped too.
"$BIN" demo voiding --store "$NARRATE" --listen off --every 0 --for 3 \
	>"$TMP/narrate.out" 2>&1 </dev/null &
NARRATOR=$!
for _ in $(seq 50); do
	grep -q '^steward .* on ' "$TMP/narrate.out" && break
	sleep 0.1
done
run send Billing IssueDocument \
	'{"document_id":"doc-\u202enarrated","customer":"x\u0085\u202e","amount":1}' \
	--store "$NARRATE"
check "send with control characters to a narrating daemon (--store)" 0 '^outcome +applied$'
wait "$NARRATOR"
expect "the daemon narrates the hostile event" grep -q 'DocumentIssued' "$TMP/narrate.out"
expect "the daemon's narration prints no raw control character" no_raw_controls "$TMP/narrate.out"
expect "the daemon's narration escapes them" grep -qF 'doc-\u202enarrated","customer":"x\u0085\u202e"' "$TMP/narrate.out"

# SIGTERM in the middle of a SLOW_DOWN step (a 5 s wait per step) stops the
# daemon at once, not when the wait is over.
SLOW_DOWN=1 "$BIN" demo voiding --store "$SLOWDB" --listen off --every 1 \
	>"$TMP/slow.out" 2>&1 </dev/null &
SLOW=$!
for _ in $(seq 100); do
	grep -q 'DocumentIssued' "$TMP/slow.out" && break
	sleep 0.1
done
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$SLOW"
wait "$SLOW"
slow_status=$?
slow_ms=$((($(date +%s%N) - t0) / 1000000))
expect "SIGTERM during a SLOW_DOWN step stops the daemon within 1.5 s ($slow_ms ms)" \
	test "$slow_ms" -lt 1500
expect "...cleanly (exit $slow_status)" test "$slow_status" = 0

run send Billing VoidDocument '{"document_id":"x"}' --id "$ESCID" --url "$URL"
check "send with a control character in --id exits 1" 1 '' 'invalid command id'
run send 'Bil ling' VoidDocument '{}' --store "$LIVE"
check "send to an invalid context name exits 1" 1 '' 'invalid context'

# ---------------------------------------------------------------------------
# After the daemon stopped: a copy of the database, inspected read-only

kill -TERM "$DAEMON"
wait "$DAEMON"
STATUS=$?
DAEMON=""
expect "the daemon stops cleanly on SIGTERM" test "$STATUS" -eq 0
expect "the daemon says it stopped" grep -q '^steward: stopped$' "$TMP/daemon.out"

# On SQLite a copy of the file, which inspection must leave as it was; on
# PostgreSQL the live store itself.
COPY=$LIVE
if [ "$STORE_KIND" = sqlite ]; then
	COPY=$TMP/copy.db
	for f in live.db live.db-wal; do
		[ -e "$TMP/$f" ] && cp "$TMP/$f" "$TMP/copy${f#live}"
	done
	SUM=$(cksum <"$COPY")
fi
run ps --store "$COPY"
check "ps on a copy" 0 '^fail-d +voiding +1 +FailureAcknowledged +acknowledged '
run show void-u --store "$COPY"
check "show on a copy" 0 'DocumentVoided +Billing +MarkingDocumentAsVoidedSucceeded -> DocumentVoided +applied'
run events Reports --store "$COPY"
check "events on a copy" 0 'ReportPublished +report-cust-u '
run commands --status delivered --limit 3 --store "$COPY"
check "commands --status delivered on a copy" 0 '^ID +CONTEXT +TYPE +INSTANCE +ATTEMPTS'
run commands --store "$COPY"
check "commands lists parked ones by default: none" 0 '' '^no parked commands$'
run commands --status delivered --json --store "$COPY"
check "commands --json" 0 '"status": "delivered"'
run ps --url "$URL"
check "the stopped daemon is unreachable" 1 '' 'cannot reach'
if [ "$STORE_KIND" = sqlite ]; then
	expect "inspection does not write the database" test "$SUM" = "$(cksum <"$COPY")"
fi
run commands --status lost --store "$COPY"
check "commands --status lost exits 2" 2 '' 'must be one of pending'
run redeliver --store "$COPY"
check "redeliver without an id exits 2" 2 '' 'ID'
run redeliver no-such-command --store "$COPY"
check "redeliver of an unknown command exits 1" 1 '' 'no command no-such-command'
DELIVERED=$("$BIN" commands --status delivered --limit 1 --json --store "$COPY" |
	sed -n 's/^ *"id": "\(.*\)",$/\1/p' | head -1)
run skip "$DELIVERED" --note 'not parked' --store "$COPY"
check "skip of a delivered command exits 1" 1 '' 'not parked'
run skip "$DELIVERED" --note "$(head -c 1001 /dev/zero | tr '\0' x)" --store "$COPY"
check "skip with a note over 1000 bytes exits 2" 2 '' 'longer than 1000 bytes'

# ---------------------------------------------------------------------------
# Daemon settings refused before anything starts (exit 2): an address that is
# not one to listen on, a plugin loaded twice

for addr in bad 127.0.0.1:99999 1.2.3.4.5:80 host:80 127.0.0.1:; do
	run demo voiding --store "$LISTEN" --listen "$addr" --for 0.1
	check "demo --listen $addr exits 2" 2 '' "--listen: '$addr' is not an address to listen on"
	run serve --store "$LISTEN" --listen "$addr" --check-config
	check "serve --listen $addr exits 2" 2 '' "--listen: '$addr' is not an address to listen on"
done
run ps --store "$LISTEN"
check "a refused address creates no database" 1 '' 'No such file|not a steward database'
STEWARD_LISTEN=nope run serve --check-config
check "serve with STEWARD_LISTEN=nope exits 2" 2 '' "STEWARD_LISTEN: 'nope' is not an address"
printf '[server]\nlisten = nope\n' >"$TMP/listen.conf"
run serve --config "$TMP/listen.conf" --check-config
check "serve --check-config refuses listen = nope" 2 '' \
	"listen\.conf:2: \[server\] listen: 'nope' is not an address to listen on"
run serve --check-config
check "serve's default database is the other commands' default" 0 '^store +steward-voiding\.db$'
run ps --help
check "ps --help names the same default database" 0 'default steward-voiding\.db'
run serve --help
check "serve --help names the same default database" 0 'default steward-voiding\.db'
run serve --listen :0 --check-config
check "serve --listen :0 is an address" 0 '^listen +:0$'
run serve --listen off --check-config
check "serve --listen off is an address" 0 '^listen +off$'
: >"$TMP/x.so" # the same file by two paths; refused before it is loaded
printf '[definitions]\nload = x.so\n\nload = ./x.so\n' >"$TMP/twice.conf"
run serve --config "$TMP/twice.conf" --check-config
check "serve --check-config refuses a plugin listed twice" 2 '' \
	"twice\.conf:4: \[definitions\] load: .*x\.so is listed twice \(line 2\)"
printf '[definitions]\nload = x.so\n' >"$TMP/once.conf"
run serve --config "$TMP/once.conf" --load "$TMP/x.so" --check-config
check "serve refuses --load of a plugin the file lists" 2 '' \
	"--load .*x\.so: the plugin is listed twice \(.*once\.conf:2\)"
run serve --load "$TMP/y.so" --load "$TMP/y.so" --check-config
check "serve refuses the same --load twice" 2 '' "--load .*y\.so: the plugin is listed twice"

# ---------------------------------------------------------------------------
# A plugin's definitions and services for the commands that write (--load)

run serve --store "$TALLYDB" --load "$TALLY" --listen off --for 0.1
check "serve creates a database for the tally plugin" 0
run send Tally Open '{"tally":"t1"}' --correlation-id tally-1 --store "$TALLYDB"
check "send without --load knows only the voiding example" 1 '' 'no service for context Tally'
run send Tally Open '{"tally":"t1"}' --correlation-id tally-1 --store "$TALLYDB" --load "$TALLY"
check "send --load reaches the plugin's service" 0 '^outcome +applied$'
run send Tally Break '{"tally":"t1"}' --correlation-id tally-1 --store "$TALLYDB" --load "$TALLY"
check "send --load again" 0 '^outcome +applied$'
run send Tally Nothing '{"tally":"t1"}' --store "$TALLYDB" --load "$TALLY"
check "send --load: the plugin's service refuses" 1 '' 'Tally takes Open and Break'
run serve --store "$TALLYDB" --load "$TALLY" --listen off --for 1
check "serve steps the tally" 0
run ps --status failed --store "$TALLYDB"
check "the tally fails" 0 '^tally-1 +tally +1 +Broken +failed '
run retry tally-1 --state Open --store "$TALLYDB"
check "retry without --load does not know the definition" 1 '' 'definition tally is not registered here'
run retry tally-1 --state Open --store "$TALLYDB" --load "$TALLY"
check "retry --load retries from the plugin's state" 0 '^retried tally-1: status active, state Open$'
run cancel tally-1 --store "$TALLYDB" --load "$TALLY" --load "$TALLY"
check "a plugin loaded twice is a usage error" 2 '' "--load .*: the plugin is listed twice"
run send Tally Break '{"tally":"t1"}' --correlation-id tally-1 --store "$TALLYDB" --load "$TALLY"
check "send --load Break again" 0 '^outcome +applied$'
run serve --store "$TALLYDB" --load "$TALLY" --listen off --for 1
check "serve steps the tally again" 0
run ack tally-1 --store "$TALLYDB" --load "$TALLY"
check "ack --load reaches the plugin's acknowledgement state" 0 \
	'^acknowledged tally-1: status acknowledged, state Dismissed$'
run send Tally Open '{"tally":"t2"}' --store "$TALLYDB" --load "$TMP/nothere.so"
check "a plugin that cannot be loaded exits 1" 1 '' 'nothere\.so: cannot load the plugin'
run send Tally Open '{"tally":"t2"}' --url http://127.0.0.1:1 --load "$TALLY"
check "--load with --url is a usage error" 2 '' '--load goes with --store'
run ps --load "$TALLY" --store "$TALLYDB"
check "ps takes no --load" 2 '' "unknown option '--load'"
run send --help
check "send --help documents --load" 0 '--load PLUGIN'
run retry --help
check "retry --help documents --load" 0 '--load PLUGIN'

# ---------------------------------------------------------------------------
# steward check: what can be known of definitions before they run

run check "$TALLY"
check "check of a sound plugin: ok, exit 0" 0 '^ok: 1 definition checked$'
run check "$CHECKP"
check "check names a command to a context nobody serves: exit 1" 1 \
	'^steward: error: definition courier: the transition from \(start\) on Ordered sends Ship to context Warehouse, which has no service and no remote$'
expect "and warns of a state never left" grep -q \
	'^steward: warning: definition courier: active state Moving is never left' <<<"$OUT"
run check --remote Warehouse "$CHECKP"
check "check --remote Warehouse: only the warning, exit 0" 0 '^ok: 1 definition checked$'
STEWARD_TEST_LOST=1 run check --remote Warehouse "$CHECKP"
check "check of a definition stw_define refuses: exit 1 naming the state" 1 '' \
	'steward_plugin_register failed: .*definition lost: state Nowhere cannot be reached from a trigger'
run check
check "check without a plugin is a usage error" 2 '' 'no plugin to check'
run check --help
check "check --help" 0 '^usage: steward check'
run serve --store "$CHECKDB" --load "$CHECKP" --listen off --for 0.2
check "serve refuses to start on an error of the definitions" 1 '' \
	'1 error in the definitions: not starting'
run serve --store "$CHECKDB" --load "$CHECKP" --remote Warehouse=http://127.0.0.1:1/ \
	--listen off --for 0.2
check "serve starts with a warning once Warehouse is remote" 0 '' \
	'^steward: warning: definition courier: active state Moving is never left'

# ---------------------------------------------------------------------------
# Stuck instances: tally-2 is Open, an active state with no timer, and sends
# no command: nothing will move it until someone sends Break.

run send Tally Open '{"tally":"t2"}' --correlation-id tally-2 --store "$TALLYDB" --load "$TALLY"
check "send Open for tally-2" 0 '^outcome +applied$'
run serve --store "$TALLYDB" --load "$TALLY" --listen off --for 0.5
check "serve opens tally-2" 0
run ps --stuck --store "$TALLYDB"
check "tally-2 is not stuck yet (600 s by default)" 0 '' '^no stuck instances$'
sleep 1.2
run ps --stuck --stuck-for 1 --store "$TALLYDB"
check "ps --stuck --stuck-for 1 lists tally-2 after a second" 0 '^tally-2 +tally +1 +Open +active '
expect "and only tally-2 (tally-1 is acknowledged)" test "$(grep -c '^tally-' <<<"$OUT")" = 1
run ps --stuck-for 1 --store "$TALLYDB"
check "--stuck-for without --stuck is a usage error" 2 '' '--stuck-for goes with --stuck'
run ps --stuck --stuck-for 0 --store "$TALLYDB"
check "--stuck-for 0 is a usage error" 2 '' '--stuck-for'
start_daemon "$TMP/stuck.out" serve --store "$TALLYDB" --load "$TALLY" --listen 127.0.0.1:0 \
	--stuck-after 1
expect "serve --stuck-after 1 started" test -n "$PORT"
run ps --stuck --url "http://127.0.0.1:$PORT"
check "ps --stuck --url: the daemon's stuck_after (1 s) finds tally-2" 0 '^tally-2 +tally +1 +Open +active '
run ps --stuck --stuck-for 3600 --url "http://127.0.0.1:$PORT"
check "ps --stuck --stuck-for 3600 --url finds nothing" 0 '' '^no stuck instances$'
expect "/metrics counts it: steward_instances_stuck 1" grep -q '^steward_instances_stuck 1$' \
	<(curl -s "http://127.0.0.1:$PORT/metrics")
expect "?stuck=2 is 400" test "$(curl -s -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$PORT/api/instances?stuck=2")" = 400
kill -TERM "$DAEMON"
wait "$DAEMON"
DAEMON=""

# ---------------------------------------------------------------------------
# Pending timers: orders waiting for their payment (steward demo orders)

run demo orders --store "$ORDERS" --listen off --every 0.2 --for 1 --seed 7 --quiet
check "demo orders runs for a second" 0
WAITING=$("$BIN" ps --definition orders --state AwaitingPayment --limit 1 --json \
	--store "$ORDERS" | sed -n 's/^ *"id": "\(.*\)",$/\1/p' | head -1)
expect "an order waits for its payment" test -n "$WAITING"
run show "$WAITING" --store "$ORDERS"
check "show of an order waiting for its payment" 0 '^status +active$'
expect "show prints the pending timers" grep -Eq \
	'^  PaymentTimedOut +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z +' <<<"$OUT"
expect "show prints them under timers:" grep -q '^timers:$' <<<"$OUT"
run show "$WAITING" --json --store "$ORDERS"
check "show --json has the timers" 0 '"message_type": "PaymentTimedOut"'

# ---------------------------------------------------------------------------
# A daemon that requires a token (STEWARD_TOKEN on the daemon's side), and
# the --url commands that send it (--token-file, STEWARD_TOKEN)

TOKEN="cli-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
printf 'short\n' >"$TMP/short"
run demo voiding --store "$TOKDB" --listen 127.0.0.1:0 --for 5 --token-file "$TMP/short"
check "a daemon refuses a token shorter than 16 characters" 1 '' '16 to 1024'
run demo voiding --store "$TOKDB" --listen 127.0.0.1:0 --for 5 --token-file "$TMP/nope"
check "a daemon refuses a missing token file" 1 '' 'cannot read the token file'
chmod 644 "$TMP/short"
printf 'a-token-of-twenty-chars\n' >"$TMP/shared"
chmod 644 "$TMP/shared"
run demo voiding --store "$TOKDB" --listen 127.0.0.1:0 --for 0.2 --every 0 --quiet \
	--token-file "$TMP/shared"
check "a daemon warns about a token file others can read" 0 'a token is required' 'readable by other users'

STEWARD_TOKEN=$TOKEN start_daemon "$TMP/tok.out" demo voiding --store "$TOKDB" --listen 127.0.0.1:0 \
	--every 0 --quiet
TURL=http://127.0.0.1:$PORT
expect "the daemon with STEWARD_TOKEN started" test -n "$PORT"
expect "it says a token is required" grep -q 'a token is required' "$TMP/tok.out"

run ps --url "$TURL"
check "ps without a token exits 1 with the daemon's 401" 1 '' 'HTTP 401 unauthorized'
expect "and says how to give the token" grep -q 'give --token-file PATH or set STEWARD_TOKEN' "$TMP/err"
STEWARD_TOKEN=wrong-wrong-wrong-wrong run ps --url "$TURL"
check "ps with a wrong STEWARD_TOKEN exits 1" 1 '' 'refused the token'
STEWARD_TOKEN=$TOKEN run ps --url "$TURL"
check "ps with STEWARD_TOKEN" 0
run ps --url "$TURL" --token-file "$TMP/token"
check "ps with --token-file" 0
STEWARD_TOKEN=wrong-wrong-wrong-wrong run send Billing IssueDocument \
	'{"document_id":"tok-1","customer":"acme","amount":5}' --url "$TURL" --token-file "$TMP/token"
check "send with --token-file (it wins over STEWARD_TOKEN)" 0 'applied'
STEWARD_URL=$TURL STEWARD_TOKEN=$TOKEN run events Billing
check "events through STEWARD_URL and STEWARD_TOKEN" 0 'DocumentIssued'
run ps --token-file "$TMP/token" --store "$TOKDB"
check "--token-file with --store is a usage error" 2 '' 'goes with --url'
run ps --url "$TURL" --token-file "$TMP/nope"
check "a missing --token-file exits 1" 1 '' 'cannot read the token file'
STEWARD_TOKEN=$TOKEN run ps --store "$TOKDB"
check "STEWARD_TOKEN does not matter with --store" 0
run --help
check "demo --help documents --token-file" 0 'token-file PATH'

kill -TERM "$DAEMON"
wait "$DAEMON"
STATUS=$?
DAEMON=""
expect "the daemon with a token stops cleanly" test "$STATUS" -eq 0
expect "the token never appears in the daemon's output" test "$(grep -c -- "$TOKEN" "$TMP/tok.out")" = 0

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
