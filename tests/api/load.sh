#!/usr/bin/env bash
# tests/api/load.sh STEWARD - the daemon under load, over real loopback HTTP
# (docs/API.md, "Under load"), each suite against a daemon of its own that
# requires a token (STEWARD_TEST_URL, STEWARD_TEST_TOKEN) and must then stop
# cleanly (daemon.sh starts and stops them):
#  - writers.test.mjs: 64 concurrent writers while the worker runs long
#    batches get no 5xx (the write gate the daemon's engines share);
#  - connections.test.mjs, with the default limits: idle connections do not
#    keep others waiting, refusals come before the body;
#  - limits.test.mjs, with small limits: the read deadline, the cap on live
#    streams, the cap per client address.
set -u

# shellcheck source=tests/api/daemon.sh
. "$(dirname "$0")/daemon.sh"

TOKEN="tok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"

# suite NAME FILE [OPTION...]: FILE's tests against a daemon of its own.
suite() {
	local name=$1 file=$2
	shift 2
	start "$name" --token-file "$TMP/token" "$@"
	STEWARD_TEST_URL=http://127.0.0.1:$PORT STEWARD_TEST_TOKEN=$TOKEN "$NODE" --test \
		--test-reporter=spec "$HERE/$file" </dev/null || STATUS=1
	stop "$name"
}

suite writers writers.test.mjs
suite connections connections.test.mjs
suite limits limits.test.mjs --read-timeout 2 --max-streams 3 --max-connections-per-ip 20
exit "$STATUS"
