#!/usr/bin/env bash
# tests/serve/run.sh STEWARD BILLING_SERVICE REPORTS_SERVICE PLUGIN - runs
# tests/serve/voiding.mjs (the voiding example as three processes over
# loopback HTTP, with kills) with Node >= 18 (fetch; no packages), installing
# Debian's nodejs when it is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/support/node.sh
. "$HERE/../support/node.sh" "the remote test"
exec "$NODE" "$HERE/voiding.mjs" "$@" </dev/null
