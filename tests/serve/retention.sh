#!/usr/bin/env bash
# tests/serve/retention.sh STEWARD TALLY_PLUGIN - `steward serve` with a
# [retention] section: between its rounds the worker deletes an acknowledged
# instance and drops the dedup records older than the settings (1 ms here),
# keeps an active instance and every event, counts it all on /metrics, and
# a command id sent again after its record was dropped is handled again.
# On SQLite, or on PostgreSQL with STEWARD_TEST_STORE=pg (serve/retention@pg).
set -u
BIN=${1:?usage: tests/serve/retention.sh STEWARD TALLY_PLUGIN}
PLUGIN=${2:?usage: tests/serve/retention.sh STEWARD TALLY_PLUGIN}
STORE_PREFIX=ret
# shellcheck source=tests/support/steward.sh
. "$(dirname "$0")/../support/steward.sh"
steward_tmp retention
unset STEWARD_CONFIG STEWARD_LISTEN STEWARD_STORE STEWARD_URL STEWARD_TOKEN
FAILS=0
N=0

# expect NAME COMMAND...: the command succeeds.
expect() {
	local name=$1
	shift
	N=$((N + 1))
	if "$@"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		FAILS=$((FAILS + 1))
	fi
}

# metric NAME: the value of one line of /metrics (the whole name, labels included).
metric() {
	curl -sf "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# poll_metric NAME MIN: within 10 s, the metric reaches MIN.
poll_metric() {
	for _ in $(seq 100); do
		local v
		v=$(metric "$1")
		[ -n "$v" ] && [ "$v" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "  $1 is $(metric "$1"), not $2 or more"
	return 1
}

cli() { "$BIN" "$@" --url "$URL" >"$TMP/out" 2>&1 </dev/null; }

STORE=$(store main)
cat >"$TMP/steward.conf" <<CONF
[retention]
keep_ended = 1ms
keep_dedup = 1ms
every = 100ms
batch = 10
CONF
start_daemon "$TMP/daemon.out" serve --store "$STORE" --listen 127.0.0.1:0 --load "$PLUGIN" \
	--config "$TMP/steward.conf"
if [ -z "$PORT" ]; then
	echo "FAIL the daemon did not start:"
	cat "$TMP/daemon.out"
	exit 1
fi
URL="http://127.0.0.1:$PORT"

# t1 opens, breaks (failed) and is acknowledged; t2 opens and stays active.
expect "open t1" cli send Tally Open '{"tally":"t1"}' --id open-t1 --correlation-id t1
expect "open t2" cli send Tally Open '{"tally":"t2"}' --id open-t2 --correlation-id t2
expect "break t1" cli send Tally Break '{"tally":"t1"}' --id break-t1 --correlation-id t1
for _ in $(seq 100); do
	cli show t1 && grep -q 'failed' "$TMP/out" && break
	sleep 0.1
done
expect "t1 failed" grep -q 'failed' "$TMP/out"
expect "acknowledge t1" cli ack t1 --note done
expect "the acknowledged instance is deleted" \
	poll_metric 'steward_retention_deleted_total{what="instances"}' 1
expect "...with its history" poll_metric 'steward_retention_deleted_total{what="history"}' 3
expect "the dedup records are dropped" \
	poll_metric 'steward_retention_deleted_total{what="dedup"}' 3
expect "passes are counted" poll_metric 'steward_retention_passes_total' 1
expect "t1 is gone" bash -c "! '$BIN' show t1 --url '$URL' >/dev/null 2>&1"
expect "t2 (active) stays" cli show t2
expect "every event stays" bash -c "'$BIN' events Tally --url '$URL' | grep -c Opened | grep -qx 2"

# The record of open-t2 was dropped: the same command id is handled again,
# which records it again, and the next pass drops that record too.
DEDUP=$(metric 'steward_retention_deleted_total{what="dedup"}')
expect "open-t2 again" cli send Tally Open '{"tally":"t2"}' --id open-t2 --correlation-id t2
expect "...is handled and recorded again" \
	poll_metric 'steward_retention_deleted_total{what="dedup"}' $((DEDUP + 1))

kill -TERM "$DAEMON"
wait "$DAEMON"
STATUS=$?
DAEMON=""
expect "the daemon stops cleanly" test "$STATUS" -eq 0
expect "the daemon logged no retention failure" bash -c "! grep -q 'retention:' '$TMP/daemon.out'"
[ "$FAILS" -eq 0 ] || sed "s/^/  daemon | /" "$TMP/daemon.out"
echo "$((N - FAILS))/$N retention checks passed"
[ "$FAILS" -eq 0 ]
