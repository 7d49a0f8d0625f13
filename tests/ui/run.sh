#!/bin/sh
# The browser tests of Steward's page. Each test file runs against its own
# daemon, started on a fresh database and a free loopback port, and the daemon
# is always stopped afterwards:
#   voiding.test.mjs     `steward demo voiding --every 0`
#   orders.test.mjs      `steward demo orders --payment-timeout 3 --every 0`
#   operations.test.mjs  `steward demo voiding --every 0` (retry, cancel)
#   booking.test.mjs     `steward demo booking --every 0 --payment-window 3 --expire-every 1`
#   auth.test.mjs        `steward demo voiding --every 0 --token-file FILE` (logging in; the
#                        token in STEWARD_TEST_TOKEN, and never in the daemon's log)
#   versions.test.mjs    `steward serve` with VOIDING_PLUGIN and V2_PLUGIN (two versions of
#                        the voiding definition), after a `steward serve` with VOIDING_PLUGIN
#                        alone started process v1-p on the same store (when both are given)
# With STEWARD_TEST_STORE=pg (ctest's ui/cluster@pg, on the test cluster of
# STEWARD_TEST_PG_URL), only:
#   cluster.test.mjs     two `steward serve` with [cluster] (ui-w1, whose page it drives,
#                        and ui-w2) on a fresh PostgreSQL schema
# The tests drive the page in headless Chromium through playwright-core.
#
# usage: tests/ui/run.sh STEWARD_BINARY ARTIFACT_DIR [VOIDING_PLUGIN V2_PLUGIN]
# Screenshots and the daemons' logs (daemon-NAME.log) land in ARTIFACT_DIR.
# Exits 0 when every test passed; the last line says "N passed, M failed"
# (the total over the files).
set -u

if [ $# -ne 2 ] && [ $# -ne 4 ]; then
	echo "usage: $0 STEWARD_BINARY ARTIFACT_DIR [VOIDING_PLUGIN V2_PLUGIN]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$1
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
if [ ! -x "$bin" ]; then
	echo "run.sh: $bin is not an executable" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$2" || exit 1
art=$(cd "$2" && pwd)

fail() {
	echo "run.sh: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# What the test needs: node and npm, Chromium, playwright-core.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	"$root/scripts/deps.sh" nodejs npm || fail "node and npm are needed"
fi
if [ ! -x /usr/bin/chromium ]; then
	"$root/scripts/deps.sh" chromium || fail "chromium is needed"
fi
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
	(cd "$here" && npm ci --no-audit --no-fund >/dev/null) || fail "npm ci failed in $here"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/steward-ui.XXXXXX") || fail "mktemp failed"
pid=""
pid2="" # a second daemon (start_cluster's other worker)
name=""
stop_daemon() {
	if [ -n "$pid2" ]; then
		kill "$pid2" 2>/dev/null
		wait "$pid2" 2>/dev/null
		pid2=""
		[ -n "$name" ] && cp "$tmp/daemon2.log" "$art/daemon-$name-2.log"
	fi
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		# give it 5 s to stop cleanly, then force it
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=""
	fi
	[ -n "$name" ] && [ -f "$tmp/daemon.log" ] && cp "$tmp/daemon.log" "$art/daemon-$name.log"
	rm -f "$tmp/daemon.log"
}
cleanup() {
	stop_daemon
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port (there is a small window before the daemon takes it,
# so a daemon that cannot bind is retried on another port).
free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until the daemon answers /healthz (at most about 10 s) or dies.
wait_healthy() {
	deadline=$(($(date +%s) + 10))
	while [ "$(date +%s)" -le $deadline ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
			"$1/healthz" && return 0
		sleep 0.1
	done
	return 1
}

# start_daemon NAME DEMO [OPTION...]: `steward demo DEMO` on a fresh store; sets url, or returns 1.
start_daemon() {
	rm -f "$tmp/ui.db" "$tmp/ui.db-wal" "$tmp/ui.db-shm"
	name=$1
	demo=$2
	shift 2
	launch demo "$demo" --db "$tmp/ui.db" --every 0 "$@"
}

# start_serve NAME PLUGIN...: `steward serve` with these plugins on the store as it is (Billing
# and Reports remotes that are not there: their commands stay pending); sets url, or returns 1.
start_serve() {
	name=$1
	shift
	loads=""
	for p in "$@"; do loads="$loads --load $p"; done
	# shellcheck disable=SC2086 # the plugin paths have no spaces (build paths)
	launch serve --store "$tmp/ui.db" $loads --remote Billing=http://127.0.0.1:9 \
		--remote Reports=http://127.0.0.1:9
}

# start_cluster NAME: two workers of a cluster (`steward serve` with [cluster], ui-w1 with the
# page, then ui-w2 without one) on a fresh PostgreSQL schema; sets url, or returns 1.
start_cluster() {
	name=$1
	store=$("$root/scripts/pg-cluster.sh" schema "ui_cluster_$$") || return 1
	for w in 1 2; do
		printf '[cluster]\nenabled = on\nworker = ui-w%s\nlease = 3s\nrenew = 500ms\n' "$w" \
			>"$tmp/cluster-$w.conf"
	done
	launch serve --store "$store" --config "$tmp/cluster-1.conf" || return 1
	"$bin" serve --store "$store" --config "$tmp/cluster-2.conf" --listen off \
		>"$tmp/daemon2.log" 2>&1 &
	pid2=$!
}

# launch ARGS...: "$bin" ARGS --listen on a free port; sets url, or returns 1.
launch() {
	url=""
	for attempt in 1 2 3; do
		port=$(free_port) || return 1
		"$bin" "$@" --listen "127.0.0.1:$port" >"$tmp/daemon.log" 2>&1 &
		pid=$!
		if wait_healthy "http://127.0.0.1:$port"; then
			url="http://127.0.0.1:$port"
			return 0
		fi
		echo "run.sh: the $1 daemon did not answer /healthz on port $port (attempt $attempt):" >&2
		tail -n 20 "$tmp/daemon.log" >&2
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=""
	done
	return 1
}

passed=0
failed=0
# suite FILE DEMO [OPTION...]: runs one test file against a fresh daemon (START: how it starts,
# start_daemon by default).
suite() {
	file=$1
	shift
	echo "== $file"
	if ! ${START:-start_daemon} "${file%%.*}" "$@"; then
		echo "run.sh: the daemon for $file did not start" >&2
		failed=$((failed + 1))
		stop_daemon
		return
	fi
	# streamed as it runs; the status goes through a file (sh has no pipefail)
	{
		node "$here/$file" "$url" "$art" 2>&1
		echo $? >"$tmp/rc"
	} | tee "$tmp/out.txt"
	rc=$(cat "$tmp/rc" 2>/dev/null || echo 1)
	stop_daemon
	last=$(tail -n 1 "$tmp/out.txt")
	p=$(echo "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(echo "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		p=0
		f=1
	fi
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
}

if [ "${STEWARD_TEST_STORE:-}" = pg ]; then
	START=start_cluster suite cluster.test.mjs
	echo "$passed passed, $failed failed"
	[ $failed -eq 0 ]
	exit
fi

# Every suite's daemon keeps its store there (operations.test.mjs locks it).
STEWARD_TEST_DB="$tmp/ui.db"
export STEWARD_TEST_DB
suite voiding.test.mjs voiding
suite orders.test.mjs orders --payment-timeout 3
suite operations.test.mjs voiding
suite booking.test.mjs booking --payment-window 3 --expire-every 1

STEWARD_TEST_TOKEN="tok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export STEWARD_TEST_TOKEN
printf '%s\n' "$STEWARD_TEST_TOKEN" >"$tmp/token"
chmod 600 "$tmp/token"
suite auth.test.mjs voiding --token-file "$tmp/token"
if grep -q -- "$STEWARD_TEST_TOKEN" "$art/daemon-auth.log"; then
	echo "FAIL the token appears in the daemon's log"
	failed=$((failed + 1))
fi

# Two versions: version 1 alone starts v1-p, then both run the test.
if [ $# -eq 4 ]; then
	v1=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
	v2=$(cd "$(dirname "$4")" && pwd)/$(basename "$4")
	set -- "$1" "$2" "$v1" "$v2"
	rm -f "$tmp/ui.db" "$tmp/ui.db-wal" "$tmp/ui.db-shm"
	if start_serve versions-v1 "$3" && node -e '
		const [base] = process.argv.slice(1);
		const post = () => fetch(base + "/api/contexts/Billing/events", {
			method: "POST", headers: { "content-type": "application/json" },
			body: JSON.stringify({ events: [{ id: "requested-v1-p", type: "DocumentVoidingRequested",
				stream: "document-v1-d", correlation_id: "v1-p",
				data: { document_id: "v1-d", customer: "acme" } }] }) });
		const seen = async () => (await fetch(base + "/api/instances/v1-p")).status === 200;
		(async () => {
			if (!(await post()).ok) process.exit(1);
			for (let i = 0; i < 150; i++) { if (await seen()) process.exit(0); await new Promise((ok) => setTimeout(ok, 100)); }
			process.exit(1);
		})();' "$url"; then
		stop_daemon
		START=start_serve suite versions.test.mjs "$3" "$4"
	else
		echo "run.sh: version 1 did not start process v1-p" >&2
		failed=$((failed + 1))
		stop_daemon
	fi
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
