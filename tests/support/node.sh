# shellcheck shell=bash
# tests/support/node.sh WHAT - sourced, after `set -u`, by the drivers of the
# Node suites (tests/api/daemon.sh, tests/serve/run.sh, tests/cluster/run.sh):
# sets NODE to a Node of version 18 or later (fetch, node:test), installing
# Debian's nodejs when there is none, or exits 1 saying that WHAT needs it.
NODE=${NODE:-node}
if ! command -v "$NODE" >/dev/null 2>&1; then
	"$(dirname "${BASH_SOURCE[0]}")/../../scripts/deps.sh" nodejs || {
		echo "node is needed for $1 and could not be installed" >&2
		exit 1
	}
fi
MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$MAJOR" -lt 18 ]; then
	echo "node $MAJOR is older than 18 (fetch and node:test are needed for $1)" >&2
	exit 1
fi
