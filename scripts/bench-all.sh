#!/bin/sh
# Runs every benchmark of bench/ from a build directory, one after the other,
# and prints their `bench <name> <value> <unit>` lines. With `quick`, each runs
# on small sizes (seconds), as `make bench-quick` and the test suite do.
# When OUT is set, the lines are also appended to that file. Exits non-zero
# if a benchmark fails.
#
# usage: scripts/bench-all.sh BUILD_DIR [quick]
#
# To add a benchmark: one `run` line, with its full-size and its quick arguments
# (and, when a script drives the program, that script).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench-all.sh BUILD_DIR [quick]}
quick=${2:-}
out=${OUT:-/dev/null}
status=0

run() { # program full-args quick-args [wrapper]
	prog=$1
	if [ -n "$quick" ]; then args=$3; else args=$2; fi
	wrapper=${4:-}
	echo "# $wrapper $prog $args" >&2
	rcfile=$(mktemp)
	# shellcheck disable=SC2086 # the arguments (and the wrapper) are words on purpose
	{ $wrapper "$build/$prog" $args; echo $? > "$rcfile"; } | tee -a "$out"
	rc=$(cat "$rcfile")
	rm -f "$rcfile"
	if [ "$rc" != 0 ]; then
		echo "bench-all: $prog failed ($rc)" >&2
		status=1
	fi
}

run bench_pm_step "--events ${EVENTS:-200000}" "--events 3000"
run bench_timers "--timers ${TIMERS:-1000000}" \
	"--timers 2000 --burst 500 --spread 200 --spread-seconds 0.5"
run bench_voiding_e2e "" "--saturation 200 --light 200 --window 64"
# The same two on PostgreSQL, each on a throw-away cluster of its own (scripts/pg-cluster.sh run:
# fsync and synchronous_commit on, pg_stat_statements preloaded to count the statements).
# Smaller than on SQLite: a step costs a round trip to the server.
pg="$here/scripts/pg-cluster.sh run"
export STW_PG_STAT_STATEMENTS=1
run bench_pm_step "--pg --events ${PG_EVENTS:-60000}" "--pg --events 3000" "$pg"
run bench_voiding_e2e "--pg --saturation 5000 --light 5000" \
	"--pg --saturation 100 --light 100 --window 32" "$pg"
# What fencing costs a worker of a cluster: the engine alone and as the one worker holding every
# partition, in small transactions, alternating.
run bench_pm_step "--cluster --events ${PG_EVENTS:-60000}" "--cluster --events 1500" "$pg"
# Steps and voiding processes on stores of 10^4 to 10^7 completed processes (built by
# multiplying the rows of real ones; 10^7 takes about 33 GB of disk and 20 minutes to build
# here, and is left out, saying so, where the disk has no room: docs/PERFORMANCE.md), their
# bytes, and a retention pass while steps run.
run bench_growth "--sizes ${GROWTH_SIZES:-10000,100000,1000000,10000000}" \
	"--sizes 1000,10000 --seed 1000 --steps 3000 --processes 200 --prune-seconds 10"
run bench_recovery "" "--instances 2000 --pending 200"
run bench_stream_read "--reads 500" "--lengths 10,100 --reads 50"
# The daemon's HTTP API under concurrent writers, and while many connections hold on to it
# (each starts the steward program next to it). The first also prints the API's figures with 64
# clients (bench api_events, api_commands) beside the engine alone making the same items.
run bench_http_load "--clients 64,256 --seconds 10" "--clients 64 --seconds 1"
run bench_http_slowloris "" "--idle 500 --trickle 100 --streams 100 --probes 100 --settle 0"
# Not a benchmark: the I/O fault test's long form (every read, write, sync and truncation of the
# voiding workload failed in turn, five ways each: 6,806 runs, 6.5 minutes on a loaded 2-core
# machine), here because `make bench` is the long run.
run tests/iofault_voiding "--all" "--runs 40"
# Nor this: the crash test's long form on PostgreSQL, 200 kills of the engine and 20 restarts of
# the server as a crash would (its own throw-away cluster; about 3.5 minutes on 2 cores).
run tests/crash_voiding "--kills 200 --restarts 20" "--kills 20 --restarts 4 --docs 60" \
	"env STEWARD_TEST_STORE=pg $here/scripts/pg-cluster.sh run"
# The cluster chaos test's long form (tests/cluster/): K = 1, 2 and 4 workers of steward serve on
# one throw-away PostgreSQL, 3,000 voiding and order processes each, asked for within a minute
# (faster than two cores take them, so the load lasts as long as the machine needs) while
# workers are killed and paused; its line per K and `bench cluster_k<K>_throughput`.
run steward "--workers 1,2,4 --processes ${CLUSTER_PROCESSES:-3000} --seconds 60 --settle 180 --bench --cluster" \
	"--workers 1 --processes 60 --seconds 6 --bench --cluster" \
	"env STW_PG_COMMIT_TIMESTAMPS=1 $here/scripts/pg-cluster.sh run $here/tests/cluster/run.sh"
# The peers (pg-boss and DBOS on a throw-away PostgreSQL, Restate on a server of its own),
# around Steward's side of it (on SQLite, and on the same PostgreSQL server as pg-boss and DBOS),
# then the latency of each at a fixed rate with 1, 10 and 100 starters.
run bench_peers_steward "--instances ${PEERS:-2000}" "--quick" "$here/bench/peers/run.sh"
exit $status
