#!/bin/sh
# Reads `bench <name> <value> <unit>` lines on standard input and draws one
# figure, as SVG on standard output, of four panels:
#
#  1. throughput: each workload's figure for Steward next to what it is
#     measured against in the same run (the hand-written loop, bare commits,
#     the peers, the engine alone behind the HTTP API, one worker);
#  2. latency p99 at a fixed offered rate, with 1, 10 and 100 starters:
#     Steward and its peers;
#  3. the growth curve: pm_step and voiding throughput (and p99) as the
#     store grows from 10^4 to 10^7 stored processes;
#  4. every figure that has a target, as a horizontal bar of its percentage of the
#     target (for an upper bound such as a latency, target / value), on a
#     logarithmic scale; 100% is the line to reach. Green bars meet it.
#
# A figure missing from the input leaves its bar or point out; a panel with
# nothing says so. Needs gnuplot.
#
# usage: scripts/bench-plot.sh < bench.txt > latest.svg
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
function has(k) { return (k in v) && v[k] + 0 == v[k] }
function val(k) { return has(k) ? v[k] : "NaN" }
# A pair of panel 1: label, Steward figure, the other one, its name.
function pair(label, mine, other, name) {
	if (!has(mine) || !has(other))
		return;
	printf "\"%s\\nvs %s (%s)\" %s %s\n", label, name, u[mine], v[mine], v[other] > (dir "/thru");
}
$1 == "bench" && NF >= 4 { v[$2] = $3; u[$2] = $4 }
END {
	pair("pm_step, SQLite", "pm_step", "pm_step_baseline", "hand-written loop");
	pair("pm_step, PostgreSQL", "pm_step_pg", "pm_step_pg_baseline", "hand-written loop");
	pair("voiding e2e, SQLite", "voiding_e2e_saturation_rate", "commit_baseline_rate", "bare commits");
	pair("voiding e2e, PostgreSQL", "voiding_e2e_pg_saturation_rate", "commit_baseline_pg_rate", "bare commits");
	pair("peers: pg-boss", "peers_steward_pg", "peers_pgboss", "pg-boss");
	pair("peers: DBOS", "peers_steward_pg", "peers_dbos", "DBOS");
	pair("peers: Restate", "peers_steward", "peers_restate", "Restate");
	pair("HTTP API, events", "api_events", "api_events_engine", "engine alone");
	pair("HTTP API, commands", "api_commands", "api_commands_engine", "engine alone");
	pair("cluster, 2 workers", "cluster_k2_throughput", "cluster_k1_throughput", "1 worker");
	pair("cluster, 4 workers", "cluster_k4_throughput", "cluster_k1_throughput", "1 worker");

	split("1 10 100", starters, " ");
	for (i = 1; i <= 3; i++) {
		c = starters[i];
		k = "_c" c "_latency_p99";
		if (has("peers_steward" k) || has("peers_pgboss" k) || has("peers_dbos" k) || has("peers_restate" k))
			printf "\"%s starter%s\" %s %s %s %s\n", c, c == 1 ? "" : "s", val("peers_steward" k),
			    val("peers_pgboss" k), val("peers_dbos" k), val("peers_restate" k) > (dir "/lat");
	}

	split("10000 100000 1000000 10000000", sizes, " ");
	for (i = 1; i <= 4; i++) {
		n = sizes[i];
		e = length(n) - 1;
		g = "growth_10e" e;
		if (has(g "_pm_step") || has(g "_voiding"))
			printf "%s %s %s %s %s\n", n, val(g "_pm_step"), val(g "_voiding"),
			    val(g "_pm_step_p99"), val(g "_voiding_p99") > (dir "/growth");
	}

	# name, target, "min" (at least) or "max" (at most), label
	t["pm_step"] = "100000 min pm_step";
	t["pm_step_vs_baseline"] = "0.5 min pm_step / baseline";
	t["voiding_e2e_saturation_rate"] = "20000 min voiding e2e, saturation";
	t["voiding_e2e_light_latency_p99"] = "5 max voiding p99 at 1,000/s";
	t["timers_rss_peak"] = "150 max timers pending, peak RSS";
	t["timers_burst_real_drain_rate"] = "100000 min timers burst drain";
	t["recovery_cold_first_step"] = "1000 max recovery (cold)";
	t["memory_rss_peak"] = "100 max memory, peak RSS";
	t["peers_steward_vs_pgboss"] = "100 min Steward / pg-boss";
	t["pm_step_pg"] = "20000 min pm_step, PostgreSQL";
	t["pm_step_pg_vs_baseline"] = "0.5 min pm_step / baseline, PostgreSQL";
	t["voiding_e2e_pg_light_latency_p99"] = "20 max voiding p99 at 1,000/s, PostgreSQL";
	t["peers_steward_pg_vs_pgboss"] = "4 min Steward / pg-boss, both on PostgreSQL";
	t["api_events"] = "20000 min HTTP events";
	t["api_commands"] = "5000 min HTTP commands";
	t["api_events_latency_p99"] = "20 max HTTP events p99";
	t["api_commands_latency_p99"] = "20 max HTTP commands p99";
	growth = "";
	for (k in v)
		if (k ~ /^growth_(pm_step|voiding)_10e[0-9]+_vs_10e4$/) {
			split(k, part, "_");
			what = k ~ /pm_step/ ? "pm_step" : "voiding";
			t[k] = "0.8 min " what " at " part[length(part) - 2] " / 10e4";
			growth = growth " " k;
		}
	t["cluster_fencing_cost"] = "5 max fencing cost";
	order = "pm_step pm_step_vs_baseline voiding_e2e_saturation_rate voiding_e2e_light_latency_p99 timers_rss_peak timers_burst_real_drain_rate recovery_cold_first_step memory_rss_peak peers_steward_vs_pgboss pm_step_pg pm_step_pg_vs_baseline voiding_e2e_pg_light_latency_p99 peers_steward_pg_vs_pgboss api_events api_commands api_events_latency_p99 api_commands_latency_p99 cluster_fencing_cost" growth;
	m = split(order, names, " ");
	for (i = 1; i <= m; i++) {
		k = names[i];
		if (!has(k))
			continue;
		split(t[k], f, " ");
		label = t[k]; sub(/^[^ ]+ [^ ]+ /, "", label);
		if (f[2] == "min")
			pct = v[k] > 0 ? 100 * v[k] / f[1] : 0.01;
		else
			pct = v[k] > 0 ? 100 * f[1] / v[k] : 1000; # nothing at all: within any bound
		sign = f[2] == "min" ? ">=" : "<=";
		printf "%d %.3f \"%s: %s %s (target %s %s)\" %d\n", i, pct, label, v[k], u[k], sign, f[1], (pct >= 100 ? 2 : 1) > (dir "/targets");
	}
}'
if [ ! -s "$tmp/targets" ] && [ ! -s "$tmp/thru" ]; then
	echo "bench-plot: no figure to draw in the input" >&2
	exit 1
fi
# An empty panel: a note where its plot would be.
empty() {
	printf 'unset border; unset tics; unset grid; unset key; set xrange [0:1]; set yrange [0:1]\n'
	printf 'set label 1 "%s" at 0.5,0.5 center\nplot NaN notitle\nunset label 1; set border; set tics\n' "$1"
}
{
	cat <<GP
set terminal svg size 1500,1100 dynamic noenhanced font "sans,11" background rgb "white"
set datafile missing "NaN"
set multiplot layout 2,2 title "Steward benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores; SQLite WAL synchronous=FULL, PostgreSQL fsync and synchronous_commit on)"
set style fill solid 0.85 border -1
set grid ytics
set key top right
GP
	if [ -s "$tmp/thru" ]; then
		cat <<GP
set title "Throughput: Steward against what the same run measured beside it"
set logscale y
set ylabel "per second (log scale)"
set style data histograms
set style histogram clustered gap 1
set boxwidth 0.9
set xtics rotate by -40 font ",8"
set bmargin 9
plot "$tmp/thru" using 2:xtic(1) title "Steward" lc rgb "#2c7fb8", \
     "" using 3 title "measured beside it (named below)" lc rgb "#bdbdbd"
unset logscale y
GP
	else
		empty "throughput: no figure in this run"
	fi
	if [ -s "$tmp/lat" ]; then
		cat <<GP
set title "Latency p99 at a fixed offered rate (peers benchmark)"
set logscale y
set ylabel "ms (log scale)"
set style data histograms
set style histogram clustered gap 1
set xtics norotate font ",9"
set bmargin 4
plot "$tmp/lat" using 2:xtic(1) title "Steward" lc rgb "#2c7fb8", \
     "" using 3 title "pg-boss" lc rgb "#fdae6b", "" using 4 title "DBOS" lc rgb "#a1d99b", \
     "" using 5 title "Restate" lc rgb "#bcbddc"
unset logscale y
GP
	else
		empty "latency at a fixed rate: no figure in this run"
	fi
	if [ -s "$tmp/growth" ]; then
		cat <<GP
set title "As the store grows (bench_growth)"
set style data linespoints
set logscale x
set logscale y
set xlabel "stored processes"
set ylabel "per second (log scale)"
set y2label "p99, ms"
set y2tics
set xtics auto norotate font ",9"
plot "$tmp/growth" using 1:2 title "pm_step, steps/s" lw 2 pt 7 lc rgb "#2c7fb8", \
     "" using 1:3 title "voiding, processes/s" lw 2 pt 5 lc rgb "#31a354", \
     "" using 1:4 axes x1y2 title "pm_step p99" dt 2 pt 6 lc rgb "#2c7fb8", \
     "" using 1:5 axes x1y2 title "voiding p99" dt 2 pt 4 lc rgb "#31a354"
unset logscale x; unset logscale y; unset y2tics; unset y2label; unset xlabel
GP
	else
		empty "growth: no figure in this run"
	fi
	if [ -s "$tmp/targets" ]; then
		cat <<GP
set title "Against the targets (100% = met; red: not met)"
set logscale x
set xrange [*<0.1:1000<*]
set yrange [*:*] reverse
set xlabel "% of target (log scale)"
unset ylabel
set xtics norotate font ",9"
set ytics font ",8"
set grid xtics noytics
set lmargin 44
set bmargin 4
set key off
set arrow 1 from first 100, graph 0 to first 100, graph 1 nohead lc rgb "black" lw 2 dt 2
set palette defined (1 "#c0392b", 2 "#27ae60")
unset colorbox
set cbrange [1:2]
plot "$tmp/targets" using (0.1):0:(0.1):2:(\$0-0.35):(\$0+0.35):4:ytic(3) with boxxyerror lc palette, \
     "" using 2:0:(\$2 >= 100 ? sprintf(" %.0f%%", \$2) : sprintf(" %.3g%%", \$2)) with labels left font ",8"
GP
	else
		empty "no figure with a target in this run"
	fi
	echo "unset multiplot"
} > "$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
