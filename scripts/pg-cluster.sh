#!/bin/sh
# pg-cluster.sh - a throw-away PostgreSQL cluster, for the tests and the
# benchmarks: initdb into a temporary directory (under $TMPDIR, /tmp by
# default), listening on a Unix socket in that directory only (no TCP),
# with fsync and synchronous_commit on, and a superuser "steward" trusted on
# that socket alone (a directory only we, and the server's user, can reach).
# As root the server runs as the user postgres (or nobody). Installs the
# postgresql Debian package through scripts/deps.sh when it is missing.
# With STW_PG_STAT_STATEMENTS=1 in the environment, the server preloads
# pg_stat_statements (the benchmarks count the statements they run with it);
# with STW_PG_COMMIT_TIMESTAMPS=1, it keeps the commit time of every
# transaction (track_commit_timestamp, which the cluster chaos test's checker
# reads with pg_xact_commit_timestamp).
#
# usage:
#   pg-cluster.sh start [--watch PID|parent] LINK
#       Starts a cluster and makes LINK a symbolic link to its directory;
#       prints its URL, postgresql://steward@/postgres?host=LINK/sock. With
#       --watch, a watchdog stops and removes the cluster once PID (parent:
#       the process that ran this script, say ctest) has exited, so that a
#       test run that is interrupted or killed leaves nothing behind.
#   pg-cluster.sh stop LINK
#       Stops the cluster LINK points to and removes it and LINK.
#   pg-cluster.sh schema NAME
#       Makes the schema NAME (letters, digits and _) on the cluster
#       STEWARD_TEST_PG_URL names, if missing, and prints the URL of a store
#       kept in it (the cluster's URL with NAME as its search path).
#   pg-cluster.sh run COMMAND [ARG...]
#       Runs COMMAND with STEWARD_TEST_PG_URL set to a cluster's URL, and
#       removes the cluster when it ends, fails or is interrupted; exits with
#       COMMAND's status. STEWARD_TEST_PG_RESTART is set too: the command
#       that restarts that cluster's server (see restart).
#   pg-cluster.sh restart DIR [SECONDS]
#       Stops the server of the cluster in DIR as a crash would (pg_ctl stop
#       -m immediate: no checkpoint, every connection cut) and starts it
#       again (after SECONDS, default 0), which replays its write-ahead log.
set -u

fail() {
	echo "pg-cluster.sh: $*" >&2
	exit 1
}
root=$(cd "$(dirname "$0")/.." && pwd)

# The server's programs, installed if missing.
server_bin() {
	"$root/scripts/deps.sh" postgresql >&2 || fail "PostgreSQL is needed"
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] ||
		fail "no PostgreSQL server programs under /usr/lib/postgresql"
}

# As root, the server runs as an unprivileged user.
server_user() {
	as=""
	pguser=""
	if [ "$(id -u)" = 0 ]; then
		pguser=nobody
		getent passwd postgres >/dev/null 2>&1 && pguser=postgres
		as="runuser -u $pguser --"
	fi
}

# Stops the cluster in directory $1 (if it runs) and removes the directory.
stop_dir() {
	dir=$1
	[ -d "$dir" ] || return 0
	case $(basename "$dir") in stw-pg.*) ;; *) fail "$dir is not a cluster of this script" ;; esac
	if [ -f "$dir/data/postmaster.pid" ]; then
		server_bin
		server_user
		$as "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$dir"
}

# Makes and starts a cluster in a new temporary directory, whose path goes into $dir.
start_dir() {
	server_bin
	server_user
	dir=$(mktemp -d "${TMPDIR:-/tmp}/stw-pg.XXXXXX") || fail "mktemp failed"
	mkdir "$dir/data" "$dir/sock" || fail "mkdir failed"
	if [ -n "$pguser" ]; then
		chmod 711 "$dir"
		chown "$pguser" "$dir/data" "$dir/sock" || fail "chown to $pguser failed"
	fi
	chmod 700 "$dir/data" "$dir/sock"
	if ! $as "$pgbin/initdb" -D "$dir/data" -U steward --auth=trust -E UTF8 --no-instructions \
		-N >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		stop_dir "$dir"
		fail "initdb failed"
	fi
	if ! server_start; then
		cat "$dir/sock/server.log" >&2
		stop_dir "$dir"
		fail "PostgreSQL did not start"
	fi
}

# Starts the server of the cluster in $dir.
server_start() {
	preload=""
	[ "${STW_PG_STAT_STATEMENTS:-}" = 1 ] && preload="-c shared_preload_libraries=pg_stat_statements"
	[ "${STW_PG_COMMIT_TIMESTAMPS:-}" = 1 ] && preload="$preload -c track_commit_timestamp=on"
	$as "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/sock/server.log" -w -t 60 -o \
		"-c listen_addresses='' -k $dir/sock -c fsync=on -c synchronous_commit=on -c full_page_writes=on $preload" \
		start >/dev/null
}

# The URL of the cluster whose socket directory is $1.
url_of() {
	echo "postgresql://steward@/postgres?host=$1"
}

[ $# -ge 1 ] || fail "usage: $0 start [--watch PID] LINK | stop LINK | schema NAME | run COMMAND [ARG...]"
cmd=$1
shift
case $cmd in
start)
	watch=""
	if [ "${1:-}" = --watch ]; then
		[ $# -ge 2 ] || fail "--watch needs a process id"
		watch=$2
		[ "$watch" = parent ] && watch=$PPID
		shift 2
	fi
	[ $# -eq 1 ] || fail "usage: $0 start [--watch PID] LINK"
	link=$1
	# A cluster left by an earlier run that was killed goes first.
	if [ -L "$link" ]; then
		stop_dir "$(readlink "$link")"
		rm -f "$link"
	fi
	[ ! -e "$link" ] || fail "$link exists and is not a link to a cluster"
	# A Unix socket's path has at most 107 bytes.
	[ ${#link} -le 80 ] || fail "$link is too long a path for the socket's directory"
	start_dir
	ln -s "$dir" "$link" || { stop_dir "$dir"; fail "cannot make the link $link"; }
	if [ -n "$watch" ]; then
		# Detached, its output nowhere, so that whoever waits for ours does not wait for it.
		setsid sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
			[ "$(readlink "$3")" = "$2" ] && rm -f "$3"
			"$4" stop-dir "$2"' watchdog "$watch" "$dir" "$link" "$0" \
			</dev/null >/dev/null 2>&1 &
	fi
	url_of "$link/sock"
	;;
stop)
	[ $# -eq 1 ] || fail "usage: $0 stop LINK"
	[ -L "$1" ] || exit 0
	target=$(readlink "$1")
	rm -f "$1"
	stop_dir "$target"
	;;
restart)
	[ $# -eq 1 ] || [ $# -eq 2 ] || fail "usage: $0 restart DIR [SECONDS]"
	dir=$1
	case $(basename "$dir") in stw-pg.*) ;; *) fail "$dir is not a cluster of this script" ;; esac
	server_bin
	server_user
	$as "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 ||
		fail "the server of $dir did not stop"
	sleep "${2:-0}"
	if ! server_start; then
		tail -n 20 "$dir/sock/server.log" >&2
		fail "the server of $dir did not start again"
	fi
	;;
stop-dir)
	# The watchdog's: stops a cluster by its directory.
	[ $# -eq 1 ] || fail "usage: $0 stop-dir DIR"
	stop_dir "$1"
	;;
schema)
	[ $# -eq 1 ] || fail "usage: $0 schema NAME"
	case $1 in '' | *[!a-z0-9_]*) fail "a schema name is of a-z, 0-9 and _ only: $1" ;; esac
	[ -n "${STEWARD_TEST_PG_URL:-}" ] || fail "STEWARD_TEST_PG_URL is not set"
	server_bin
	"$pgbin/psql" "$STEWARD_TEST_PG_URL" -X -q -c "CREATE SCHEMA IF NOT EXISTS $1" >/dev/null ||
		fail "cannot make the schema $1"
	case $STEWARD_TEST_PG_URL in *\?*) sep='&' ;; *) sep='?' ;; esac
	echo "$STEWARD_TEST_PG_URL${sep}options=-csearch_path%3D$1"
	;;
run)
	[ $# -ge 1 ] || fail "usage: $0 run COMMAND [ARG...]"
	start_dir
	trap 'stop_dir "$dir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	STEWARD_TEST_PG_URL=$(url_of "$dir/sock")
	STEWARD_TEST_PG_RESTART="$root/scripts/pg-cluster.sh restart $dir"
	export STEWARD_TEST_PG_URL STEWARD_TEST_PG_RESTART
	"$@"
	exit $?
	;;
*)
	fail "unknown command $cmd (start, stop, schema, run or restart)"
	;;
esac
