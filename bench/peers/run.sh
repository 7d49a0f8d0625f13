#!/bin/sh
# The peers benchmark: the three-step process (event -> command -> event ->
# command -> event -> command, a simulated service answering each command) on
# Steward (bench_peers_steward, SQLite WAL, synchronous=FULL), on Steward on
# PostgreSQL (bench_peers_steward --pg) and on what a user would pick
# instead, pg-boss (pgboss.mjs) and DBOS (dbos.mjs), the last three on the
# same PostgreSQL server with synchronous_commit=on and fsync on, a database
# each, all with the same number of instances, one after the other on this
# machine.
#
# It installs what is missing (the postgresql Debian package through
# scripts/deps.sh; the pinned npm packages with `npm ci` into
# bench/peers/node_modules), creates a throw-away PostgreSQL cluster with
# scripts/pg-cluster.sh (a temporary directory, a Unix socket only), and
# always stops and deletes it.
#
# usage: bench/peers/run.sh BENCH_PEERS_STEWARD [--instances N | --quick]
# --quick is --instances 50 (seconds; `make test` runs it). Default: 2,000.
# Prints `bench <name> <value> <unit>` lines and the ratios
# `bench peers_steward_vs_pgboss <r> x`, `bench peers_steward_vs_dbos <r> x`,
# `bench peers_steward_pg_vs_pgboss <r> x` and `bench peers_steward_pg_vs_dbos <r> x`.
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
n=2000
while [ $# -gt 0 ]; do
	case $1 in
	--instances) [ $# -ge 2 ] || fail "--instances needs a number"; n=$2; shift 2 ;;
	--quick) n=50; shift ;;
	*) fail "unknown argument $1" ;;
	esac
done
case $n in '' | *[!0-9]*) fail "--instances needs a number" ;; esac

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

# The throw-away cluster (scripts/pg-cluster.sh: a Unix socket only, fsync
# and synchronous_commit on); the benchmark connects as its superuser
# "steward", and the cluster is stopped and removed however this ends.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/steward-peers.XXXXXX") || fail "mktemp failed"
cleanup() {
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

# The four sides, one after the other.
out=$tmp/out
"$bin" --instances "$n" >"$out" || fail "bench_peers_steward failed"
STEWARD_TEST_PG_URL=$(url steward) "$bin" --pg --instances "$n" >>"$out" ||
	fail "bench_peers_steward --pg failed"
(cd "$here" && node pgboss.mjs --url "$(url pgboss)" --instances "$n") >>"$out" ||
	fail "pgboss.mjs failed"
(cd "$here" && node dbos.mjs --url "$(url dbos)" --instances "$n") >>"$out" ||
	fail "dbos.mjs failed"

version() { sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/node_modules/$1/package.json"; }
echo "bench durable_postgresql_fsync_synchronous_commit 1 flag"
echo "bench peers_postgresql_version postgresql@$("$pgbin/postgres" --version | sed 's/[^0-9]*\([0-9.]*\).*/\1/') version"
echo "bench peers_pgboss_version pg-boss@$(version pg-boss) version"
echo "bench peers_dbos_version dbos-sdk@$(version @dbos-inc/dbos-sdk) version"
cat "$out"
awk '$1 == "bench" && $4 == "steps/s" { v[$2] = $3 }
END {
	if (!(v["peers_steward"] > 0 && v["peers_steward_pg"] > 0 && v["peers_pgboss"] > 0 &&
	      v["peers_dbos"] > 0)) exit 1
	printf "bench peers_steward_vs_pgboss %.2f x\n", v["peers_steward"] / v["peers_pgboss"]
	printf "bench peers_steward_vs_dbos %.2f x\n", v["peers_steward"] / v["peers_dbos"]
	r = v["peers_steward_pg"] / v["peers_pgboss"]
	printf "bench peers_steward_pg_vs_pgboss %.2f x\n", r
	printf "bench peers_steward_pg_vs_dbos %.2f x\n", v["peers_steward_pg"] / v["peers_dbos"]
	printf "bench peers_steward_pg_meets_target %d flag\n", (r >= 4)
}' "$out" || fail "a figure is missing"
