#!/bin/sh
# Reads `bench <name> <value> <unit>` lines on standard input and draws one
# chart, as SVG on standard output: each figure that has a target (issue 6;
# on PostgreSQL, issue 16)
# as a bar of its percentage of the target (for an upper bound such as a
# latency, target / value), on a logarithmic scale; 100% is the line to reach.
# Green bars meet their target, red ones do not. Needs gnuplot.
#
# usage: scripts/bench-plot.sh < bench.txt > latest.svg
set -eu
data=$(mktemp)
trap 'rm -f "$data"' EXIT
awk '
BEGIN {
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
	order = "pm_step pm_step_vs_baseline voiding_e2e_saturation_rate voiding_e2e_light_latency_p99 timers_rss_peak timers_burst_real_drain_rate recovery_cold_first_step memory_rss_peak peers_steward_vs_pgboss pm_step_pg pm_step_pg_vs_baseline voiding_e2e_pg_light_latency_p99 peers_steward_pg_vs_pgboss";
}
$1 == "bench" && ($2 in t) && $3 + 0 > 0 { v[$2] = $3; u[$2] = $4 }
END {
	n = split(order, names, " ");
	for (i = 1; i <= n; i++) {
		k = names[i];
		if (!(k in v))
			continue;
		split(t[k], f, " ");
		label = t[k]; sub(/^[^ ]+ [^ ]+ /, "", label);
		pct = f[2] == "min" ? 100 * v[k] / f[1] : 100 * f[1] / v[k];
		sign = f[2] == "min" ? ">=" : "<=";
		printf "%d %.3f \"%s\\n%s %s\\ntarget %s %s\" %d\n", i, pct, label, v[k], u[k], sign, f[1], (pct >= 100 ? 2 : 1);
	}
}' > "$data"
if [ ! -s "$data" ]; then
	echo "bench-plot: no figure with a target in the input" >&2
	exit 1
fi
gnuplot <<GP
set terminal svg size 1200,640 dynamic font "sans,11" background rgb "white"
set title "Steward benchmarks against the targets of issues 6 and 16 ($(date -u +%Y-%m-%d), $(nproc) cores, WAL synchronous=FULL; PostgreSQL fsync and synchronous_commit on)"
set ylabel "% of target (log scale; 100% = target met)"
set logscale y
set yrange [*<0.1:1000<*]
set bmargin 6
set grid ytics
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics rotate by 0 font ",9" noenhanced
set key off
set arrow from graph 0, first 100 to graph 1, first 100 nohead lc rgb "black" lw 2 dt 2
set palette defined (1 "#c0392b", 2 "#27ae60")
unset colorbox
set cbrange [1:2]
plot "$data" using 0:2:4:xtic(3) with boxes lc palette, \
     "" using 0:2:(\$2 >= 100 ? sprintf("%.0f%%", \$2) : sprintf("%.3g%%", \$2)) with labels offset 0,0.8 font ",9"
GP
