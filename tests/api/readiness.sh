#!/usr/bin/env bash
# tests/api/readiness.sh STEWARD - /readyz tells the truth while the store
# refuses writes. Another connection holds the database's write lock (the
# sqlite3 program, BEGIN IMMEDIATE), as a stuck process or a backup would:
#  - the API's writes fail, answered 503 with Retry-After (the store is busy,
#    STW_EBUSY), never 500: /readyz answers 503 "the API's writes fail" with
#    the store's message, while /healthz stays 200 (the process runs);
#  - a worker with work to do (an order's payment timeout falls due) fails
#    its rounds: /readyz answers 503 "the worker's rounds fail" with the last
#    error, and /metrics shows steward_worker_failing 1;
#  - once the lock goes, both recover and /readyz answers 200 again.
set -u
BIN=${1:?usage: readiness.sh STEWARD}
STATUS=0
LOCKER=""
# The store stays an SQLite file here: the lock is the sqlite3 program's.
STORE_PREFIX=ready
# shellcheck source=tests/support/steward.sh
. "$(dirname "$0")/../support/steward.sh"
steward_tmp ready
# shellcheck disable=SC2317 # called by steward_cleanup
cleanup_more() {
	[ -n "$LOCKER" ] && kill "$LOCKER" 2>/dev/null && exec 7>&-
}

command -v sqlite3 >/dev/null || {
	echo "readiness: the sqlite3 program is missing (Debian package sqlite3)"
	exit 1
}

# shellcheck source=tests/api/checks.sh
. "$(dirname "$0")/checks.sh"

# start DEMO [OPTION...]: a demo on $TMP/r.db and a free port; sets DAEMON and URL.
start() {
	local demo=$1
	shift
	rm -f "$TMP"/r.db*
	start_daemon "$TMP/daemon.out" demo "$demo" --store "$TMP/r.db" --listen 127.0.0.1:0 \
		--every 0 --quiet "$@"
	[ -n "$PORT" ] || {
		echo "FAIL the daemon did not start:"
		cat "$TMP/daemon.out"
		exit 1
	}
	URL=http://127.0.0.1:$PORT
}

stop() {
	kill -TERM "$DAEMON"
	wait "$DAEMON" 2>/dev/null
	DAEMON=""
}

# lock: another connection (the sqlite3 program, fed through a fifo) takes
# the write lock and keeps it until unlock.
lock() {
	rm -f "$TMP/locker"
	mkfifo "$TMP/locker"
	sqlite3 "$TMP/r.db" <"$TMP/locker" >/dev/null 2>&1 &
	LOCKER=$!
	exec 7>"$TMP/locker"
	printf 'BEGIN IMMEDIATE;\nCREATE TABLE IF NOT EXISTS t_lock(x);\n' >&7
	sleep 0.5
}

unlock() {
	printf 'ROLLBACK;\n.quit\n' >&7
	exec 7>&-
	wait "$LOCKER" 2>/dev/null
	LOCKER=""
}

issue() { # DOCUMENT: the status of an IssueDocument command posted to Billing
	curl -s -o "$TMP/post" -D "$TMP/headers" -w '%{http_code}' -H 'content-type: application/json' \
		-d "{\"type\":\"IssueDocument\",\"data\":{\"document_id\":\"$1\",\"customer\":\"c\",\"amount\":5}}" \
		"$URL/api/contexts/Billing/commands"
}

start voiding
expect "ready at the start" test "$(status /readyz)" = 200
expect "...with the fields of docs/API.md" body_has '"status":"ready","reasons":\[\],"worker":{"running":true'
expect "...and the store writable" body_has '"store":{"answers":true,"writable":true'

# The API's writes, while another connection holds the lock.
lock
code=$(issue d1)
expect "a command while the database is locked is 503, not 500 ($code)" test "$code" = 503
expect "...with Retry-After" grep -qi '^retry-after: 1' "$TMP/headers"
expect "...saying the store is busy" grep -q '"error":"unavailable".*locked' "$TMP/post"
expect "/readyz is 503 then" test "$(status /readyz)" = 503
expect "...and says the API's writes fail" body_has "the API's writes fail"
expect "...with the store's message" body_has 'database is locked'
expect "/healthz stays 200 (the process runs)" test "$(status /healthz)" = 200
unlock
expect "a command once the lock is gone is 200" test "$(issue d2)" = 200
expect "/readyz is 200 again" poll /readyz 200

# The worker's rounds: an order whose payment timeout falls due in 3 s while
# another connection holds the lock: firing it cannot write.
stop
start orders --payment-timeout 3
code=$(curl -s -o "$TMP/post" -w '%{http_code}' -H 'content-type: application/json' \
	-d '{"restaurant":"Sushi Ya","items":["ramen"],"price":1200}' "$URL/api/demo/orders/orders")
expect "an order is placed ($code)" test "$code" = 200
[ "$code" = 200 ] || { echo "the daemon's output:"; sed 's/^/daemon| /' "$TMP/daemon.out"; }
expect "...and its process waits for the payment" poll /readyz 200
sleep 0.5
lock
expect "/readyz is 503 while the worker's rounds fail" poll /readyz 503
for _ in $(seq 150); do
	status /readyz >/dev/null
	body_has "the worker's rounds fail" && break
	sleep 0.1
done
expect "...the worker's rounds fail" body_has "the worker's rounds fail"
expect "...with the last error" body_has '"last_error":"[^"]*locked'
expect "/metrics shows steward_worker_failing 1" \
	sh -c "curl -s '$URL/metrics' | grep -qx 'steward_worker_failing 1'"
unlock
expect "/readyz is 200 once the lock is gone" poll /readyz 200
expect "...and the work was done (no lag)" body_has '"cursor_lag":0'
expect "/metrics shows steward_worker_failing 0" \
	sh -c "curl -s '$URL/metrics' | grep -qx 'steward_worker_failing 0'"
[ "$STATUS" = 0 ] || {
	echo "the daemon's output:"
	tail -n 40 "$TMP/daemon.out" | sed 's/^/daemon| /'
}
stop
[ "$STATUS" = 0 ] && echo "readiness: all passed"
exit "$STATUS"
