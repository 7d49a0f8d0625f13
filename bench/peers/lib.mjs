// What pgboss.mjs, dbos.mjs and restate.mjs share: their command line and
// their latency runs (bench_peers_steward.c does the same in C).

// The value of --name on the command line, or fallback.
export function option(name, fallback) {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// A latency run, open loop: process i is due at t0 + i / rate seconds, whatever
// became of the ones before it. The processes are dealt out to `starters`
// concurrent starters, starter j taking i = j, j + starters, j + 2 * starters,
// ...; each starter waits until its next process is due (or goes at once when
// it is behind), starts it and waits for the side to acknowledge the start
// before it takes the next one. start(i) resolves to { done } once the start is
// acknowledged, `done` being the promise of the time (process.hrtime.bigint())
// the process was seen complete, observed apart from the starters. The latency
// of a process is that time less the time it was due, so that a starter that
// falls behind counts against the side instead of lowering the rate. Resolves
// to the latencies in milliseconds, by process.
export async function openLoop({ processes, rate, starters, start }) {
	const t0 = process.hrtime.bigint() + 20_000_000n; // 20 ms to set the starters off
	const due = (i) => t0 + BigInt(Math.round((i * 1e9) / rate));
	const completions = new Array(processes);
	const sleep = (ns) => new Promise((resolve) => setTimeout(resolve, Number(ns / 1_000_000n)));
	async function starter(j) {
		for (let i = j; i < processes; i += starters) {
			const wait = due(i) - process.hrtime.bigint();
			if (wait > 1_000_000n) await sleep(wait);
			const { done } = await start(i);
			completions[i] = done.then((t) => Number(t - due(i)) / 1e6);
		}
	}
	await Promise.all(Array.from({ length: Math.min(starters, processes) }, (_, j) => starter(j)));
	return Promise.all(completions);
}

// The nearest-rank percentile (bench_percentile of bench/bench_util.h).
export function percentile(values, p) {
	const v = [...values].sort((a, b) => a - b);
	const rank = Math.min(v.length, Math.max(1, Math.ceil((p / 100) * v.length)));
	return v[rank - 1];
}

// The latency lines of one run: `bench <name>_c<starters>_latency_p50 <ms> ms` and p99.
export function printLatency(name, starters, latencies) {
	for (const p of [50, 99])
		console.log(
			`bench ${name}_c${starters}_latency_p${p} ${percentile(latencies, p).toFixed(2)} ms`
		);
}

// The options of a latency run: --rate R --starters C [--processes P]
// (P: two seconds of starts at R, at least 20). Returns null without --rate,
// undefined when they are not numbers in range.
export function latencyOptions() {
	const rate = option('rate', null);
	if (rate === null) return null;
	const r = Number(rate);
	const starters = Number(option('starters', 1));
	const processes = Number(option('processes', Math.max(20, Math.round(2 * r))));
	if (!(r > 0) || !(starters >= 1) || !(processes >= 1)) return undefined;
	return { rate: r, starters, processes };
}
