#!/usr/bin/env bash
# tests/serve/run.sh STEWARD BILLING_SERVICE REPORTS_SERVICE PLUGIN - runs
# tests/serve/voiding.mjs (the voiding example as three processes over
# loopback HTTP, with kills) with Node >= 18 (fetch; no packages), installing
# Debian's nodejs when it is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}
if ! command -v "$NODE" >/dev/null 2>&1; then
	"$HERE/../../scripts/deps.sh" nodejs || {
		echo "node is needed for the remote test and could not be installed" >&2
		exit 1
	}
fi
MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$MAJOR" -lt 18 ]; then
	echo "node $MAJOR is older than 18 (fetch is needed)" >&2
	exit 1
fi
exec "$NODE" "$HERE/voiding.mjs" "$@" </dev/null
