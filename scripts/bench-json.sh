#!/bin/sh
# Reads `bench <name> <value> <unit>` lines on standard input and writes them
# as a JSON object {"figures": [{"name", "value", "unit"}], "machine": ...}.
awk -v host="$(uname -srm)" -v cpus="$(nproc 2>/dev/null || echo 0)" -v when="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
BEGIN { printf "{\"when\": \"%s\", \"machine\": {\"uname\": \"%s\", \"cpus\": %d},\n \"figures\": [", when, host, cpus; n = 0 }
$1 == "bench" && NF >= 4 {
	printf "%s\n  {\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\"}", (n++ ? "," : ""), $2, ($3 ~ /^-?[0-9.]+$/ ? $3 : "\"" $3 "\""), $4
}
END { print "\n ]}" }'
