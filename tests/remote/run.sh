#!/usr/bin/env bash
# tests/remote/run.sh STEWARD PLUGIN - remote services over real loopback HTTP
# (tests/remote/remote.test.mjs): `steward serve` with the voiding process
# loaded from PLUGIN and Billing and Reports served by scripted HTTP servers.
# Needs Node >= 20 (installs Debian's nodejs when missing).
set -u
BIN=${1:?usage: tests/remote/run.sh STEWARD PLUGIN}
PLUGIN=${2:?usage: tests/remote/run.sh STEWARD PLUGIN}
HERE=$(cd "$(dirname "$0")" && pwd)
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
case $PLUGIN in /*) ;; *) PLUGIN=$PWD/$PLUGIN ;; esac
NODE=${NODE:-node}
if ! command -v "$NODE" >/dev/null 2>&1; then
	"$HERE/../../scripts/deps.sh" nodejs || {
		echo "node is needed for the remote suite and could not be installed" >&2
		exit 1
	}
fi
STEWARD_BIN=$BIN STEWARD_PLUGIN=$PLUGIN exec "$NODE" --test --test-reporter=spec \
	--test-concurrency=1 "$HERE/remote.test.mjs"
