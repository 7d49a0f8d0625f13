#!/usr/bin/env bash
# tests/serve/config.sh STEWARD PLUGIN BAD_ABI_PLUGIN - `steward serve` settings: the file,
# the environment and flags (in that order of precedence), --check-config,
# and the errors (file, line and key named; exit status 2).
set -u
BIN=${1:?usage: tests/serve/config.sh STEWARD PLUGIN}
PLUGIN=${2:?usage: tests/serve/config.sh STEWARD PLUGIN BAD_ABI_PLUGIN}
BAD_ABI=${3:?usage: tests/serve/config.sh STEWARD PLUGIN BAD_ABI_PLUGIN}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/steward-config.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
FAILS=0
N=0
unset STEWARD_CONFIG STEWARD_LISTEN STEWARD_STORE

# check NAME EXPECTED_STATUS PATTERN -- ARGS...: runs steward serve ARGS and
# checks the exit status and that the output (stdout and stderr) matches PATTERN.
check() {
	local name=$1 want=$2 pattern=$3
	shift 4
	N=$((N + 1))
	"$BIN" serve "$@" >"$TMP/out" 2>&1 </dev/null
	local got=$?
	if [ "$got" -ne "$want" ] || ! grep -Eq -- "$pattern" "$TMP/out"; then
		echo "FAIL $name: status $got (want $want), output:"
		sed 's/^/  | /' "$TMP/out"
		echo "  (wanted /$pattern/)"
		FAILS=$((FAILS + 1))
	else
		echo "ok   $name"
	fi
}

# hidden NAME: the last check's output does not hold the password s3cret.
hidden() {
	N=$((N + 1))
	if grep -q s3cret "$TMP/out"; then
		echo "FAIL $1: --check-config shows a store's password"
		FAILS=$((FAILS + 1))
	else
		echo "ok   $1"
	fi
}

cd "$TMP" || exit 1
mkdir conf
printf 'secret-token-value\n' >conf/api.token
printf 'billing-secret\n' >conf/billing.token
cat >conf/steward.conf <<CONF
; the sample shape
[server]
listen = 127.0.0.1:9911
token_file = api.token

[store]
path = data/steward.db
synchronous = normal

[definitions]
load = $PLUGIN

[remote "Billing"]
url = http://127.0.0.1:9001/commands
token_file = billing.token
connect_timeout_ms = 300
timeout_ms = 1500
max_attempts = 20
backoff_ms = 50
backoff_max_ms = 400

[remote Reports]
url = http://127.0.0.1:9002/commands

[http]
threads = 4
max_connections = 2000
max_connections_per_ip = 0
read_timeout = 15
CONF

check config-1.1 0 '^listen +127\.0\.0\.1:9911$' -- --config conf/steward.conf --check-config
check config-1.2 0 "^store +conf/data/steward\.db$" -- --config conf/steward.conf --check-config
check config-1.3 0 '^synchronous +normal$' -- --config conf/steward.conf --check-config
check config-1.4 0 "^token_file +conf/api\.token$" -- --config conf/steward.conf --check-config
check config-1.5 0 'remote +Billing http://127\.0\.0\.1:9001/commands token_file=conf/billing\.token connect_timeout_ms=300 timeout_ms=1500 max_attempts=20 backoff_ms=50 backoff_max_ms=400' -- --config conf/steward.conf --check-config
check config-1.6 0 '^remote +Reports http://127\.0\.0\.1:9002/commands ' -- --config conf/steward.conf --check-config
check config-1.7 0 "^load +$PLUGIN$" -- --config conf/steward.conf --check-config
check config-1.9 0 '^threads +4$' -- --config conf/steward.conf --check-config
check config-1.10 0 '^max_connections +2000$' -- --config conf/steward.conf --check-config
check config-1.11 0 '^max_connections_per_ip +no cap$' -- --config conf/steward.conf --check-config
check config-1.12 0 '^read_timeout +15$' -- --config conf/steward.conf --check-config
check config-1.13 0 '^max_streams +1024$' -- --config conf/steward.conf --check-config
# Never a token.
N=$((N + 1))
"$BIN" serve --config conf/steward.conf --check-config >"$TMP/out" 2>&1
if grep -q -e secret-token-value -e billing-secret "$TMP/out"; then
	echo "FAIL config-1.8: a token was printed"
	FAILS=$((FAILS + 1))
else
	echo "ok   config-1.8"
fi

# Precedence: flags over the environment over the file.
export STEWARD_CONFIG=conf/steward.conf
check config-2.1 0 '^listen +127\.0\.0\.1:9911$' -- --check-config
STEWARD_LISTEN=127.0.0.1:9922 check config-2.2 0 '^listen +127\.0\.0\.1:9922$' -- --check-config
STEWARD_LISTEN=127.0.0.1:9922 check config-2.3 0 '^listen +127\.0\.0\.1:9933$' -- --listen 127.0.0.1:9933 --check-config
STEWARD_STORE=env.db check config-2.4 0 '^store +env\.db$' -- --check-config
STEWARD_STORE=env.db check config-2.5 0 '^store +flag\.db$' -- --db flag.db --check-config
STEWARD_CONFIG= check config-2.5a 0 '^store +postgresql://ann:\*\*\*@db/x\?password=\*\*\*$' -- \
	--db 'postgresql://ann:s3cret@db/x?password=s3cret' --check-config
hidden config-2.5b
STEWARD_STORE=env.db check config-2.5c 0 '^store +flag\.db$' -- --store flag.db --check-config
check config-2.5d 2 'give --store or --db \(its older name\), not both' -- \
	--store a.db --db b.db --check-config
STEWARD_CONFIG= check config-2.5e 0 '^synchronous +\(SQLite.s; the server.s synchronous_commit applies\)$' -- \
	--store postgresql://ann@db/x --check-config
check config-2.5f 2 'conf/steward\.conf: \[store\] synchronous is SQLite.s setting.*synchronous_commit' -- \
	--config conf/steward.conf --store postgresql://ann@db/x --check-config
check config-2.6 0 '^remote +Billing http://10\.0\.0\.1:1/x token_file=conf/billing\.token connect_timeout_ms=300' -- --remote Billing=http://10.0.0.1:1/x --check-config
check config-2.7 0 '^remote +Extra http://10\.0\.0\.2:2/ ' -- --remote Extra=http://10.0.0.2:2/ --check-config
STEWARD_CONFIG= check config-2.8 0 "^load +$PLUGIN\$" -- --load "$PLUGIN" --check-config
unset STEWARD_CONFIG
check config-2.9 0 '^config +\(none\)$' -- --check-config
check config-2.10 0 '^accept +Warehouse$' -- --accept-contexts Warehouse,Audit --check-config
check config-2.11 0 '^accept +Audit$' -- --accept-contexts 'Warehouse, Audit' --check-config
check config-2.12 0 '^accept +\*$' -- --accept-contexts '*' --check-config
check config-2.13 0 '^stuck_after +600 s$' -- --check-config
check config-2.14 0 '^stuck_after +30 s$' -- --stuck-after 30 --check-config
check config-2.15 0 '^threads +8$' -- --check-config
check config-2.16 0 '^read_timeout +20$' -- --check-config
check config-2.17 0 '^max_connections_per_ip +256$' -- --check-config
check config-2.18 0 '^read_timeout +3$' -- --config conf/steward.conf --read-timeout 3 --check-config
check config-2.19 0 '^threads +4$' -- --config conf/steward.conf --read-timeout 3 --check-config
check config-2.20 0 '^max_streams +no cap$' -- --max-streams 0 --check-config
check config-2.21 0 '^max_connections +50000$' -- --max-connections 50000 --http-threads 16 --max-connections-per-ip 9 --check-config

# Errors: file, line and key; status 2.
bad() {
	printf "$2" >"$TMP/bad.conf"
	check "$1" 2 "$3" -- --config "$TMP/bad.conf" --check-config
}
bad config-3.1 '[server]\nlisten = :1\nport = 8\n' 'bad\.conf:3: \[server\] has no key .port.'
bad config-3.2 '[server]\n\n[storage]\npath = x\n' 'bad\.conf:4: unknown section \[storage\]'
bad config-3.3 '[remote Billing]\nurl = http://h/\ntimeout_ms = 10s\n' 'bad\.conf:3: \[remote Billing\] timeout_ms: .10s. is not a whole number'
bad config-3.4 '[remote Billing]\nmax_attempts = 0\nurl = http://h/\n' 'bad\.conf:2: \[remote Billing\] max_attempts'
bad config-3.5 '[store]\nsynchronous = sometimes\n' 'bad\.conf:2: \[store\] synchronous: .sometimes. is not full, normal or off'
bad config-3.6 '[remote Billing]\nurl = ftp://h/\n' 'bad\.conf:2: \[remote Billing\] url'
bad config-3.7 '[remote Billing]\ntimeout_ms = 5\n' 'remote Billing has no url'
bad config-3.8 'listen = 1\n' "bad\.conf:1: 'listen' is outside any section"
bad config-3.9 '[server]\nthis is not ini\n' 'bad\.conf:2: syntax error'
bad config-3.10 '[remote]\nurl = http://h/\n' 'bad\.conf:2: unknown section \[remote\]'
bad config-3.11 "[server]\nlisten = $(head -c 5000 /dev/zero | tr '\0' x)\n" 'bad\.conf:2: the line is longer than'
check config-3.12 2 'nothere\.conf: cannot open' -- --config nothere.conf --check-config
check config-3.13 2 'nothere\.so: cannot load the plugin' -- --load "$TMP/nothere.so" --check-config
check config-3.14 2 'not a steward plugin \(it does not export steward_plugin_abi\)' -- --load "$(dirname "$PLUGIN")/libsteward.so" --check-config
check config-3.14b 2 'plugin ABI 44, but this steward loads ABI 3' -- --load "$BAD_ABI" --check-config
check config-3.15 2 '--remote needs NAME=URL' -- --remote Billing --check-config
check config-3.16 2 'no\.token: cannot open the token file' -- --token-file no.token --check-config
check config-3.17 2 'unexpected argument' -- --check-config extra
bad config-3.18 '[contexts]\naccept = Warehouse, ..\n' "bad\.conf:2: \\[contexts\\] accept: '\\.\\.' is not a context name"
bad config-3.19 '[contexts]\nreject = x\n' "bad\.conf:2: \\[contexts\\] has no key .reject."
check config-3.20 2 "--accept-contexts: '-rf' is not a context name" -- --accept-contexts=-rf --check-config
bad config-3.21 '[server]\nstuck_after = 0\n' 'bad\.conf:2: \[server\] stuck_after: .0. is not a whole number'
check config-3.22 2 '--stuck-after: .1h. is not a whole number of seconds' -- --stuck-after 1h --check-config
bad config-3.23 '[http]\nthreads = 0\n' 'bad\.conf:2: \[http\] threads: .0. is not a whole number from 1 to 256'
bad config-3.24 '[http]\nread_timeout = 20s\n' 'bad\.conf:2: \[http\] read_timeout: .20s. is not a whole number from 1 to 3600'
bad config-3.25 '[http]\nmax_clients = 5\n' 'bad\.conf:2: \[http\] has no key .max_clients. \(threads, max_connections'
check config-3.26 2 '--max-streams: .-1. is not a whole number from 0 to 1000000 \(0: no cap\)' -- --max-streams -1 --check-config
check config-3.27 2 '--max-connections: .0. is not a whole number from 1' -- --max-connections 0 --check-config

# [store] url: a path (relative to the file), sqlite:PATH, or a server's URL;
# path is its older name; synchronous is SQLite's.
store_conf() {
	printf '[store]\n%b' "$2" >conf/store.conf
	check "$1" "$3" "$4" -- --config conf/store.conf --check-config
}
store_conf config-4.1 'url = data/s.db\n' 0 '^store +conf/data/s\.db$'
store_conf config-4.2 'url = /abs/s.db\nsynchronous = off\n' 0 '^synchronous +off$'
store_conf config-4.3 'url = sqlite:data/s.db?synchronous=normal\n' 0 \
	'^store +sqlite:conf/data/s\.db\?synchronous=normal$'
store_conf config-4.4 'url = sqlite:data/s.db?synchronous=normal\n' 0 '^synchronous +\(the store URL.s\)$'
store_conf config-4.5 'url = postgresql://ann:s3cret@db.example/steward?sslmode=require\n' 0 \
	'^store +postgresql://ann:\*\*\*@db\.example/steward\?sslmode=require$'
hidden config-4.6
store_conf config-4.7 'url = postgres:///steward\n' 0 '^store +postgres:///steward$'
store_conf config-4.8 'path = old.db\n' 0 '^store +conf/old\.db$'
store_conf config-4.9 'path = old.db\nurl = new.db\n' 2 \
	'store\.conf:3: \[store\] url and path \(line 2\) are both set'
store_conf config-4.10 'url = postgresql:///steward\nsynchronous = normal\n' 2 \
	'store\.conf: \[store\] synchronous is SQLite.s setting.*synchronous_commit'
# wait: how long the start waits for a store it cannot open yet (a flag too).
store_conf config-4.11 'url = s.db\n' 0 '^store_wait +off$'
store_conf config-4.12 'url = s.db\nwait = 90s\n' 0 '^store_wait +90s$'
store_conf config-4.13 'url = s.db\nwait = soon\n' 2 'store\.conf:3: \[store\] wait: .soon. is not a duration'
check config-4.14 0 '^store_wait +2m$' -- --store-wait 2m --check-config
check config-4.15 2 '--store-wait: .forever. is not a duration' -- --store-wait forever --check-config
store_conf config-4.11 'url =\n' 2 'store\.conf:2: \[store\] url is empty'
store_conf config-4.12 'name = x\n' 2 "store\.conf:2: \\[store\\] has no key .name. \\(url, synchronous"
STEWARD_STORE=postgresql:///other store_conf config-4.13 'url = x.db\n' 0 '^store +postgresql:///other$'

# [retention]: durations, off by default.
ret_conf() {
	printf '[retention]\n%b' "$2" >conf/retention.conf
	check "$1" "$3" "$4" -- --config conf/retention.conf --check-config
}
check config-5.1 0 '^retention +off$' -- --check-config
ret_conf config-5.2 'keep_ended = "30d"\nkeep_dedup = 7d\nevery = 60s\n' 0 \
	'^retention +keep_ended=30d keep_dedup=7d every=1m batch=100$'
ret_conf config-5.3 'keep_dedup = 36h\nbatch = 500\nevery = 1500ms\n' 0 \
	'^retention +keep_ended=off keep_dedup=36h every=1500ms batch=500$'
ret_conf config-5.4 'keep_ended = off\n' 0 '^retention +off$'
ret_conf config-5.5 'keep_ended = 30\n' 2 \
	"retention\.conf:2: \\[retention\\] keep_ended: '30' is not a duration"
ret_conf config-5.6 'every = 0\n' 2 "retention\.conf:2: \\[retention\\] every: '0' is not a duration"
ret_conf config-5.7 'keep_events = 1d\n' 2 \
	"retention\.conf:2: \\[retention\\] has no key .keep_events. \\(keep_ended, keep_dedup"
ret_conf config-5.8 'batch = 0\n' 2 "retention\.conf:2: \\[retention\\] batch: '0' is not a whole number"

# [cluster]: off by default; its settings checked before anything starts.
cluster_conf() {
	printf '[cluster]\n%b' "$2" >conf/cluster.conf
	check "$1" "$3" "$4" -- --config conf/cluster.conf --check-config
}
check config-6.1 0 '^cluster +off$' -- --check-config
cluster_conf config-6.2 'enabled = on\n' 0 \
	'^cluster +worker=\(host:pid\) lease=8s renew=2s partitions=\(the store.s\) moves=8 audit=off$'
cluster_conf config-6.3 'enabled = yes\nworker = w-1.a\nlease = 3s\nrenew = 500ms\npartitions = 16\nmoves = 2\naudit = on\n' 0 \
	'^cluster +worker=w-1\.a lease=3s renew=500ms partitions=16 moves=2 audit=on$'
cluster_conf config-6.4 'enabled = maybe\n' 2 "cluster\.conf:2: \\[cluster\\] enabled: 'maybe' is not on or off"
cluster_conf config-6.5 'worker = a b\n' 2 "cluster\.conf:2: \\[cluster\\] worker: 'a b' is not a worker id"
cluster_conf config-6.6 'lease = 10\n' 2 "cluster\.conf:2: \\[cluster\\] lease: '10' is not a duration"
cluster_conf config-6.7 'partitions = 0\n' 2 "cluster\.conf:2: \\[cluster\\] partitions: '0' is not a whole number"
cluster_conf config-6.8 'leases = 3\n' 2 "cluster\.conf:2: \\[cluster\\] has no key .leases. \\(enabled, worker"

echo "$((N - FAILS))/$N config checks passed"
[ "$FAILS" -eq 0 ]
