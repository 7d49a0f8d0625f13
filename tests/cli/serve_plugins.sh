# shellcheck shell=bash
# tests/cli/serve_plugins.sh - sourced by the suites that run two versions of
# the voiding definition in `steward serve` (versions.sh, migrate.sh), after
# tests/api/daemon.sh and with STORE set. Defines
#   REMOTES           Billing and Reports as remotes that are not there: their
#                     commands stay pending, which is all these suites need
#   serve NAME PLUGIN...
#                     steward serve on $STORE with these plugins, its output
#                     in $TMP/NAME.out; sets URL, or exits 1
REMOTES=(--remote Billing=http://127.0.0.1:9 --remote Reports=http://127.0.0.1:9)
serve() {
	local name=$1 load=() p
	shift
	for p in "$@"; do load+=(--load "$p"); done
	start_daemon "$TMP/$name.out" serve --store "$STORE" --listen 127.0.0.1:0 "${load[@]}" \
		"${REMOTES[@]}"
	if [ -z "$PORT" ]; then
		echo "FAIL the daemon did not start:"
		cat "$TMP/$name.out"
		exit 1
	fi
	URL=http://127.0.0.1:$PORT
}
