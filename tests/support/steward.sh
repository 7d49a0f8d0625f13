# shellcheck shell=bash
# tests/support/steward.sh - sourced by the shell drivers that run the
# steward program (tests/api/daemon.sh, tests/api/readiness.sh,
# tests/cli/lib.sh), so that each suite runs on SQLite or, with
# STEWARD_TEST_STORE=pg, on the test cluster of STEWARD_TEST_PG_URL (the
# ctest fixture "pg"). The driver sets BIN (the steward binary) and
# STORE_PREFIX (a-z, 0-9 and _: what its schemas' names begin with) first.
# Defines
#   STORE_KIND          sqlite or pg
#   steward_tmp NAME    makes TMP, a temporary directory, removed at exit
#                       with the daemon DAEMON still running stopped first
#                       (and cleanup_more called, if the driver defines it)
#   store NAME          prints a fresh store's path or URL: $TMP/NAME.db, or
#                       the URL of the schema STORE_PREFIX_PID_NAME (NAME of
#                       a-z, 0-9 and _), made on the cluster if missing; the
#                       same NAME gives the same store again
#   start_daemon OUT ARGS...
#                       runs "$BIN" ARGS (a daemon listening on port 0) in
#                       the background, its output in OUT; sets DAEMON, and
#                       PORT once it printed its address (empty if it did
#                       not within 10 s or exited)

STORE_KIND=sqlite
[ "${STEWARD_TEST_STORE:-}" = pg ] && STORE_KIND=pg
STORE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DAEMON=""

# shellcheck disable=SC2317 # called by the trap
steward_cleanup() {
	declare -F cleanup_more >/dev/null && cleanup_more
	if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
		kill -TERM "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
	fi
	rm -rf "$TMP"
}

steward_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/steward-$1.XXXXXX") || exit 1
	trap steward_cleanup EXIT
	trap 'exit 130' INT TERM
}

store() {
	if [ "$STORE_KIND" = pg ]; then
		"$STORE_ROOT/scripts/pg-cluster.sh" schema "${STORE_PREFIX}_$$_$1"
	else
		echo "$TMP/$1.db"
	fi
}

start_daemon() {
	local out=$1
	shift
	"$BIN" "$@" >"$out" 2>&1 </dev/null &
	DAEMON=$!
	PORT=""
	for _ in $(seq 100); do
		PORT=$(sed -n 's|^open http://localhost:\([0-9][0-9]*\)/.*|\1|p' "$out")
		[ -n "$PORT" ] && break
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.1
	done
}
