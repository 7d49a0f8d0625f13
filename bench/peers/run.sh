#!/bin/sh
# The peers benchmark: the three-step process (event -> command -> event ->
# command -> event -> command, a simulated service answering each command) on
# Steward (bench_peers_steward, SQLite WAL, synchronous=FULL), on Steward on
# PostgreSQL (bench_peers_steward --pg) and on what a user would pick
# instead: pg-boss (pgboss.mjs) and DBOS (dbos.mjs), on the same PostgreSQL
# server with synchronous_commit=on and fsync on, a database each, and
# Restate (restate.mjs), on a restate-server of its own per run whose log is
# fsynced before it acknowledges (below); all with the same number of
# instances, one after the other on this machine.
#
# Then the latency runs: Steward on SQLite, pg-boss, DBOS and Restate again,
# each with 1, 10 and 100 concurrent starters (--quick: 1 and 100) starting
# processes open loop at a fixed rate (--rate, 50 processes/s, which every
# side sustained on the 2-core development machine unless it was loaded; 25/s
# with --quick), --processes each (500; --quick: 25); the latency of a
# process is the time it was seen complete less the time it was due
# (bench/peers/lib.mjs, run_latency in bench/bench_peers_steward.c).
#
# It installs what is missing (the postgresql Debian package through
# scripts/deps.sh; the pinned npm packages, restate-server's binary among
# them, with `npm ci` into bench/peers/node_modules), creates a throw-away
# PostgreSQL cluster with scripts/pg-cluster.sh (a temporary directory, a
# Unix socket only), and always stops and deletes it, and every
# restate-server it started.
#
# usage: bench/peers/run.sh BENCH_PEERS_STEWARD [--instances N | --quick]
#        [--rate R] [--processes P]
# --quick is --instances 50 --rate 25 --processes 25 with 1 and 100 starters
# (under a minute; `make test` runs it). Default: 2,000 instances, 50/s, 500
# processes.
# Prints `bench <name> <value> <unit>` lines: steps/s per side, the ratios
# `bench peers_steward_vs_pgboss <r> x`, `bench peers_steward_vs_dbos <r> x`,
# `bench peers_steward_vs_restate <r> x`, `bench peers_steward_pg_vs_pgboss <r> x`
# and `bench peers_steward_pg_vs_dbos <r> x`, and per side and number of
# starters C `bench peers_<side>_c<C>_latency_p50 <ms> ms` and p99.
# With STW_PG_STAT_STATEMENTS=1 the server preloads pg_stat_statements, and
# Steward's side on PostgreSQL also counts its statements per step.
set -u

fail() {
	echo "run.sh: $*" >&2
	exit 1
}
[ $# -ge 1 ] || fail "usage: $0 BENCH_PEERS_STEWARD [--instances N | --quick]"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$1
shift
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || fail "$bin is not an executable"
n=2000 rate=50 processes=500 levels="1 10 100"
while [ $# -gt 0 ]; do
	case $1 in
	--instances) [ $# -ge 2 ] || fail "--instances needs a number"; n=$2; shift 2 ;;
	--rate) [ $# -ge 2 ] || fail "--rate needs a number"; rate=$2; shift 2 ;;
	--processes) [ $# -ge 2 ] || fail "--processes needs a number"; processes=$2; shift 2 ;;
	--quick) n=50 rate=25 processes=25 levels="1 100"; shift ;;
	*) fail "unknown argument $1" ;;
	esac
done
for v in "$n" "$rate" "$processes"; do
	case $v in '' | *[!0-9]* | 0) fail "--instances, --rate and --processes need a number" ;; esac
done

# What it needs: PostgreSQL, node and npm, the pinned packages.
"$root/scripts/deps.sh" postgresql || fail "PostgreSQL is needed"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	"$root/scripts/deps.sh" nodejs npm || fail "node and npm are needed"
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || fail "no PostgreSQL server programs under /usr/lib/postgresql"
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
	[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
		fail "npm ci failed in $here"
fi

# Restate: a restate-server of its own per run, in a directory of $tmp, on
# free ports of 127.0.0.1 (the ingress, the admin API, the node's own), with
# its durability settings written out although they are its defaults: the
# log (Bifrost, the "replicated" provider on this node's log-server; one
# node, one copy) is RocksDB with its WAL fsynced before an append is
# acknowledged (log-server.rocksdb-disable-wal-fsync = false, the same for
# the "local" provider), and an invocation, a step's result (ctx.run) or a
# completion counts once appended there; the partition store (worker.storage)
# is a cache rebuilt from the log. No telemetry. restate.mjs serves the
# workflow and registers it with the admin API. The server is stopped (TERM,
# then KILL after 10 s) however the run ends.
case $(uname -m) in aarch64 | arm64) restate_arch=arm64 ;; *) restate_arch=x64 ;; esac
restate_bin=$here/node_modules/@restatedev/restate-server-linux-$restate_arch/bin/restate-server
restate_pid=
restate_stop() {
	[ -n "$restate_pid" ] || return 0
	kill "$restate_pid" 2>/dev/null
	# KILL when TERM has not ended it within 10 s
	timeout 10 tail --pid="$restate_pid" -f /dev/null || kill -9 "$restate_pid" 2>/dev/null
	wait "$restate_pid" 2>/dev/null
	restate_pid=
}
free_ports() { # three free TCP ports of 127.0.0.1
	node -e 'const net = require("net");
const s = [0, 1, 2].map(() => net.createServer().listen(0, "127.0.0.1"));
setTimeout(() => {
	console.log(s.map((x) => x.address().port).join(" "));
	s.forEach((x) => x.close());
}, 100);'
}
restate() { # restate.mjs's arguments
	rdir=$tmp/restate
	rm -rf "$rdir"
	mkdir -p "$rdir" || return 1
	ports=$(free_ports) || return 1
	# shellcheck disable=SC2086 # the three ports are words on purpose
	set -- $ports "$@"
	ingress=http://127.0.0.1:$1 admin=http://127.0.0.1:$2 node_addr=127.0.0.1:$3
	shift 3
	printf '%s\n' 'disable-telemetry = true' 'log-filter = "warn"' \
		'[ingress]' "bind-address = \"${ingress#http://}\"" \
		'[admin]' "bind-address = \"${admin#http://}\"" \
		'[bifrost]' 'default-provider = "replicated"' \
		'[bifrost.local]' 'rocksdb-disable-wal = false' 'rocksdb-disable-wal-fsync = false' \
		'[log-server]' 'rocksdb-disable-wal-fsync = false' >"$rdir/restate.toml"
	"$restate_bin" --no-logo --config-file "$rdir/restate.toml" --base-dir "$rdir/data" \
		--bind-address "$node_addr" --listen-mode tcp >"$rdir/log" 2>&1 &
	restate_pid=$!
	i=0
	until curl -sf "$admin/health" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$restate_pid" 2>/dev/null; then
			cat "$rdir/log" >&2
			restate_stop
			return 1
		fi
		sleep 0.1
	done
	(cd "$here" && node restate.mjs --ingress "$ingress" --admin "$admin" "$@")
	rc=$?
	[ $rc = 0 ] || tail -n 40 "$rdir/log" >&2
	restate_stop
	return $rc
}

# The throw-away cluster (scripts/pg-cluster.sh: a Unix socket only, fsync
# and synchronous_commit on); the benchmark connects as its superuser
# "steward", and the cluster is stopped and removed however this ends.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/steward-peers.XXXXXX") || fail "mktemp failed"
cleanup() {
	restate_stop
	"$root/scripts/pg-cluster.sh" stop "$tmp/pg"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
"$root/scripts/pg-cluster.sh" start "$tmp/pg" >/dev/null || fail "PostgreSQL did not start"
sock=$tmp/pg/sock
psql() { "$pgbin/psql" -h "$sock" -U steward -d postgres -X -q -t -A "$@"; }
settings=$(psql -c "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')") ||
	fail "cannot connect to PostgreSQL"
[ "$settings" = "on on" ] || fail "PostgreSQL runs with fsync and synchronous_commit = $settings"
psql -c "CREATE DATABASE steward" -c "CREATE DATABASE pgboss" -c "CREATE DATABASE dbos" ||
	fail "CREATE DATABASE failed"
url() { echo "postgresql://steward@localhost/$1?host=$sock"; }

# The five sides, one after the other.
out=$tmp/out
"$bin" --instances "$n" >"$out" || fail "bench_peers_steward failed"
STEWARD_TEST_PG_URL=$(url steward) "$bin" --pg --instances "$n" >>"$out" ||
	fail "bench_peers_steward --pg failed"
(cd "$here" && node pgboss.mjs --url "$(url pgboss)" --instances "$n") >>"$out" ||
	fail "pgboss.mjs failed"
(cd "$here" && node dbos.mjs --url "$(url dbos)" --instances "$n") >>"$out" ||
	fail "dbos.mjs failed"
restate --instances "$n" >>"$out" || fail "restate.mjs failed"

# The latency runs: each side again, $processes processes started open loop at $rate
# processes/s by 1, 10 and 100 starters (--quick: 1 and 100), on a new store (Steward,
# Restate) or schema (pg-boss and DBOS drop theirs at the start).
for c in $levels; do
	set -- --rate "$rate" --starters "$c" --processes "$processes"
	"$bin" "$@" >>"$out" || fail "bench_peers_steward $* failed"
	(cd "$here" && node pgboss.mjs --url "$(url pgboss)" "$@") >>"$out" ||
		fail "pgboss.mjs $* failed"
	(cd "$here" && node dbos.mjs --url "$(url dbos)" "$@") >>"$out" || fail "dbos.mjs $* failed"
	restate "$@" >>"$out" || fail "restate.mjs $* failed"
done

version() { sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/node_modules/$1/package.json"; }
echo "bench durable_postgresql_fsync_synchronous_commit 1 flag"
echo "bench peers_postgresql_version postgresql@$("$pgbin/postgres" --version | sed 's/[^0-9]*\([0-9.]*\).*/\1/') version"
echo "bench peers_pgboss_version pg-boss@$(version pg-boss) version"
echo "bench peers_dbos_version dbos-sdk@$(version @dbos-inc/dbos-sdk) version"
restate_version=$("$restate_bin" --version | sed 's/.* //')
echo "bench peers_restate_version restate-server@$restate_version version"
echo "bench peers_restate_sdk_version restate-sdk@$(version @restatedev/restate-sdk) version"
echo "bench peers_latency_rate $rate processes/s"
cat "$out"
awk -v levels="$levels" '$1 == "bench" && $4 == "steps/s" { v[$2] = $3 }
$1 == "bench" && $2 ~ /_c[0-9]+_latency_p(50|99)$/ && $4 == "ms" && $3 >= 0 { latencies++ }
END {
	if (latencies != 8 * split(levels, l, " ")) exit 1
	if (!(v["peers_steward"] > 0 && v["peers_steward_pg"] > 0 && v["peers_pgboss"] > 0 &&
	      v["peers_dbos"] > 0 && v["peers_restate"] > 0)) exit 1
	printf "bench peers_steward_vs_pgboss %.2f x\n", v["peers_steward"] / v["peers_pgboss"]
	printf "bench peers_steward_vs_dbos %.2f x\n", v["peers_steward"] / v["peers_dbos"]
	printf "bench peers_steward_vs_restate %.2f x\n", v["peers_steward"] / v["peers_restate"]
	r = v["peers_steward_pg"] / v["peers_pgboss"]
	printf "bench peers_steward_pg_vs_pgboss %.2f x\n", r
	printf "bench peers_steward_pg_vs_dbos %.2f x\n", v["peers_steward_pg"] / v["peers_dbos"]
	printf "bench peers_steward_pg_meets_target %d flag\n", (r >= 4)
}' "$out" || fail "a figure is missing"
