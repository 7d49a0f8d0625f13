# shellcheck shell=bash
# tests/api/checks.sh - sourced by the shell suites that check a daemon with
# curl (readiness.sh, pg_restart.sh), after $TMP and $URL are set (URL may be
# set later, before the first request). Defines
#   expect NAME COMMAND...  runs COMMAND and prints "ok   NAME", or
#                           "FAIL NAME" and sets STATUS=1
#   status PATH             the HTTP status of GET PATH; its body in $TMP/body
#   body_has TEXT           that body holds TEXT (a basic regular expression)
#   poll PATH CODE          waits up to 15 s for GET PATH to answer CODE
STATUS=${STATUS:-0}

expect() {
	local name=$1
	shift
	if "$@"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		STATUS=1
	fi
}

status() { curl -s -o "$TMP/body" -w '%{http_code}' "$URL$1"; }
body_has() { grep -q -- "$1" "$TMP/body"; }

poll() {
	for _ in $(seq 150); do
		[ "$(status "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
