#!/usr/bin/env bash
# tests/cluster/run.sh STEWARD [OPTION...] - runs tests/cluster/chaos.mjs (the
# cluster chaos test, docs/TESTING.md) with Node >= 18 (fetch; no packages),
# installing Debian's nodejs when it is missing. Run it under
# scripts/pg-cluster.sh run with STW_PG_COMMIT_TIMESTAMPS=1, which gives it a
# throw-away PostgreSQL server that keeps commit times:
#
#   STW_PG_COMMIT_TIMESTAMPS=1 scripts/pg-cluster.sh run \
#       tests/cluster/run.sh build/dev/steward --workers 1,2,4 --seed 42
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/support/node.sh
. "$HERE/../support/node.sh" "the cluster chaos test"
export STEWARD_TEST_STORE=pg
exec "$NODE" "$HERE/chaos.mjs" "$@" </dev/null
